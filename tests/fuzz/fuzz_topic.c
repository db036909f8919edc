/*
 * fuzz_topic.c - topic and id parsing: the DESIGN §1 topic contract
 * (common/topic.c: pc_id_check, pc_root_check, pc_topic_check,
 * pc_topic_parse, pc_topic_build), event ids (common/event_id.c) and the
 * command plugin's command ids "<token>@<device>" (plugins/command/parse.c).
 *
 * Input: "root\ntopic", or a topic alone (root ""); the topic is also read
 * as an id and as a command id. Properties: pc_id_check agrees with the
 * id alphabet written out here; a topic pc_topic_check accepts holds no
 * NUL or wildcard; a parse that finds a contract topic points its id into
 * the topic, the id is valid, and pc_topic_build rebuilds exactly that
 * topic; building each kind for a valid id parses back to that kind and
 * id; a command id that splits has a valid device, and a made one splits
 * back to its device.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "precis/error.h"
#include "precis/event_id.h"
#include "precis/topic.h"
#include "protocol.h"

static bool alphabet_ok(const char *s, size_t n)
{
	if (n == 0 || n > PC_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
		            s[i]) ||
		    s[i] == '\0')
			return false;
	return true;
}

static void check_parse(const char *root, const char *topic, size_t tlen)
{
	char buf[PC_TOPIC_MAX + 1], id[PC_ID_MAX + 1];
	struct pc_topic t;
	int rc = pc_topic_parse(root, topic, &t, NULL, 0);

	FUZZ_CHECK(rc == PC_OK || rc == PC_ERR_INVAL);
	if (rc != PC_OK || t.kind == PC_T_NONE) {
		FUZZ_CHECK(t.kind == PC_T_NONE);
		return;
	}
	FUZZ_CHECK(strcmp(pc_topic_kind_name(t.kind), "?") != 0);
	if (t.kind == PC_T_MKT_CAMPAIGN) {
		FUZZ_CHECK(t.id == NULL);
	} else {
		FUZZ_CHECK(t.id >= topic && t.id + t.id_len <= topic + tlen);
		FUZZ_CHECK(pc_id_check(t.id, t.id_len, NULL, 0) == PC_OK);
	}
	FUZZ_CHECK(t.rest == NULL || t.kind == PC_T_PUSH_DEVICE);
	/* A topic a client may publish is rebuilt byte for byte from what parse found. */
	if (pc_topic_check(topic, tlen, NULL, 0) != PC_OK)
		return;
	if (t.id) {
		memcpy(id, t.id, t.id_len);
		id[t.id_len] = '\0';
	}
	rc = pc_topic_build(buf, sizeof buf, root, t.kind, t.id ? id : NULL, t.rest);
	FUZZ_CHECK(rc == (int)tlen);
	FUZZ_CHECK(strcmp(buf, topic) == 0);
}

/* Build every kind for id under root; each parses back to its kind and id. */
static void check_build(const char *root, const char *id)
{
	char buf[PC_TOPIC_MAX + 1];
	struct pc_topic t;

	for (int k = PC_T_DEV_HB; k <= PC_T_MKT_CAMPAIGN; k++) {
		int n = pc_topic_build(buf, sizeof buf, root, (enum pc_topic_kind)k,
		                       k == PC_T_MKT_CAMPAIGN ? NULL : id, NULL);

		FUZZ_CHECK(n > 0 || n == PC_ERR_TOO_LONG);
		if (n < 0)
			continue;
		FUZZ_CHECK(strlen(buf) == (size_t)n);
		FUZZ_CHECK(pc_topic_check(buf, (size_t)n, NULL, 0) == PC_OK);
		FUZZ_CHECK(pc_topic_parse(root, buf, &t, NULL, 0) == PC_OK);
		FUZZ_CHECK(t.kind == (enum pc_topic_kind)k);
		FUZZ_CHECK(k == PC_T_MKT_CAMPAIGN ||
		           (t.id_len == strlen(id) && memcmp(t.id, id, t.id_len) == 0));
	}
}

static void check_cid(const char *s, size_t n)
{
	char buf[COMMAND_CID_MAX + 1];
	const char *dev;
	size_t devlen;
	int len;

	if (command__cid_split(s, n, &dev, &devlen) == PC_OK) {
		FUZZ_CHECK(dev > s && dev + devlen == s + n && dev[-1] == '@');
		FUZZ_CHECK(pc_id_check(dev, devlen, NULL, 0) == PC_OK);
	}
	if (pc_id_check(s, n, NULL, 0) != PC_OK)
		return;
	len = command__cid_make(buf, sizeof buf, (int64_t)n * 86400000, (uint64_t)n * 977, s);
	FUZZ_CHECK(len > 0 && (size_t)len == strlen(buf));
	FUZZ_CHECK(command__cid_split(buf, (size_t)len, &dev, &devlen) == PC_OK);
	FUZZ_CHECK(devlen == n && memcmp(dev, s, n) == 0);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *topic = s;
	const char *root = "";
	const char *nl = memchr(s, '\n', size);
	size_t tlen;
	int rc;

	if (nl) {
		root = s;
		topic = s + (nl - s) + 1;
		topic[-1] = '\0';
	}
	tlen = size - (size_t)(topic - s); /* NULs included: the checks take lengths */

	rc = pc_id_check(topic, tlen, NULL, 0);
	FUZZ_CHECK((rc == PC_OK) == alphabet_ok(topic, tlen));
	FUZZ_CHECK(pc_event_id_check(topic, tlen, NULL, 0) == rc);
	if (rc == PC_OK)
		FUZZ_CHECK(pc_event_key("dev-1", 5, topic, tlen) != 0);
	rc = pc_topic_check(topic, tlen, NULL, 0);
	if (rc == PC_OK) {
		FUZZ_CHECK(tlen >= 1 && tlen <= PC_TOPIC_MAX);
		FUZZ_CHECK(memchr(topic, '\0', tlen) == NULL && !strpbrk(topic, "+#"));
	}
	check_cid(topic, tlen);
	if (pc_root_check(root, NULL, 0) == PC_OK) {
		check_parse(root, topic, strlen(topic));
		if (pc_id_check(topic, tlen, NULL, 0) == PC_OK)
			check_build(root, topic);
	}
	free(s);
	return 0;
}

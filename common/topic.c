/*
 * topic.c - device ids and the topic contract of DESIGN §1.
 *
 * Validates ids, topic roots and published topics (including RFC 3629
 * UTF-8), classifies a topic into one of the contract's kinds and builds
 * the topic of a kind for an id. One table, topic_shapes, lists every
 * contract topic as namespace + {id} + suffix; parse and build both walk
 * it, so the two cannot drift. Pure string code: no allocation, no I/O,
 * thread-safe. Called by the auth plugin (ACL), the command and store
 * plugins (routing published messages) and the bridge (building push
 * topics).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "precis/error.h"
#include "precis/topic.h"

#define ROOT_MAX 255

/* One contract topic: ns "{id}" suffix; ns alone when has_id is false. */
struct topic_shape {
	enum pc_topic_kind kind;
	const char *ns;     /* namespace, ending with '/' when an id follows */
	const char *suffix; /* after the id, "" for none */
	bool has_id;
	const char *name; /* pc_topic_kind_name */
};

static const struct topic_shape topic_shapes[] = {
    {PC_T_DEV_HB, "dev/", "/hb", true, "dev/hb"},
    {PC_T_DEV_HB_ACK, "dev/", "/hb/ack", true, "dev/hb/ack"},
    {PC_T_DEV_DATA, "dev/", "/data", true, "dev/data"},
    {PC_T_DEV_EVT, "dev/", "/evt", true, "dev/evt"},
    {PC_T_DEV_CMD, "dev/", "/cmd", true, "dev/cmd"},
    {PC_T_DEV_CMD_ACK, "dev/", "/cmd/ack", true, "dev/cmd/ack"},
    {PC_T_OPS_CMD, "ops/dev/", "/cmd", true, "ops/cmd"},
    {PC_T_OPS_CMD_STATE, "ops/dev/", "/cmd/state", true, "ops/cmd/state"},
    {PC_T_OPS_PRESENCE, "ops/dev/", "/presence", true, "ops/presence"},
    {PC_T_PUSH_RECO, "push/user/", "/reco", true, "push/reco"},
    {PC_T_PUSH_PROFILE, "push/user/", "/profile", true, "push/profile"},
    {PC_T_PUSH_SEGMENT, "push/segment/", "", true, "push/segment"},
    {PC_T_PUSH_DEVICE, "push/device/", "", true, "push/device"},
    {PC_T_MKT_CAMPAIGN, "mkt/campaign", "", false, "mkt/campaign"},
};

#define N_SHAPES (sizeof(topic_shapes) / sizeof(topic_shapes[0]))

/* The namespaces whose ids are validated; in the order tried by parse. */
static const char *const id_namespaces[] = {"dev/", "ops/dev/", "push/user/", "push/segment/",
                                            "push/device/"};

static bool id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* pc_id_check - contract in topic.h. Length is checked before content. */
int pc_id_check(const char *id, size_t len, char *err, size_t errlen)
{
	size_t i;
	unsigned char c;

	if (id == NULL || len == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "empty id");
	if (len > PC_ID_MAX)
		return pc_errf(err, errlen, PC_ERR_TOO_LONG, "id of %zu characters is over %d", len,
		               PC_ID_MAX);
	for (i = 0; i < len; i++) {
		c = (unsigned char)id[i];
		if (id_char_ok(c))
			continue;
		if (c > 0x20 && c < 0x7f)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "invalid character '%c' in id at offset %zu", c, i);
		return pc_errf(err, errlen, PC_ERR_INVAL, "invalid byte 0x%02x in id at offset %zu",
		               c, i);
	}
	return PC_OK;
}

/*
 * utf8_check - length of the valid UTF-8 prefix of s[0..len) (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). Equals len
 * when all of s is valid.
 */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned char c, lo, hi;

	while (i < len) {
		c = s[i];
		lo = 0x80;
		hi = 0xbf;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c == 0xe0) {
			n = 2;
			lo = 0xa0; /* no overlongs */
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
			n = 2;
		} else if (c == 0xed) {
			n = 2;
			hi = 0x9f; /* no surrogates U+D800..U+DFFF */
		} else if (c == 0xf0) {
			n = 3;
			lo = 0x90; /* no overlongs */
		} else if (c >= 0xf1 && c <= 0xf3) {
			n = 3;
		} else if (c == 0xf4) {
			n = 3;
			hi = 0x8f; /* nothing above U+10FFFF */
		} else {
			return i; /* 0x80..0xc1 lead, or 0xf5..0xff */
		}
		if (len - i <= n)
			return i;
		/* The first continuation byte has the narrowed range. */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (k = 2; k <= n; k++) {
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		}
		i += n + 1;
	}
	return len;
}

/*
 * topic_chars_check - no NUL, no wildcard, valid UTF-8; what names the
 * string in the detail ("topic", "root", "rest").
 */
static int topic_chars_check(const char *s, size_t len, const char *what, char *err, size_t errlen)
{
	size_t i, good;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s has a NUL at offset %zu",
			               what, i);
		if (s[i] == '+' || s[i] == '#')
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "%s has the wildcard '%c' at offset %zu", what, s[i], i);
	}
	good = utf8_check((const unsigned char *)s, len);
	if (good != len)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s has invalid UTF-8 at offset %zu",
		               what, good);
	return PC_OK;
}

/* pc_root_check - contract in topic.h. NULL counts as "" (no root). */
int pc_root_check(const char *root, char *err, size_t errlen)
{
	size_t len;

	if (root == NULL || root[0] == '\0')
		return PC_OK;
	len = strlen(root);
	if (len > ROOT_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "root of %zu characters is over %d", len,
		               ROOT_MAX);
	if (root[0] == '$')
		return pc_errf(err, errlen, PC_ERR_INVAL, "root must not start with '$'");
	if (root[0] == '/' || root[len - 1] == '/')
		return pc_errf(err, errlen, PC_ERR_INVAL, "root must not start or end with '/'");
	/* The auth plugin puts the root in front of its ACL templates, where %u
	 * and %c are tokens: a '%' in the root would become one. */
	if (memchr(root, '%', len))
		return pc_errf(err, errlen, PC_ERR_INVAL, "root must not contain '%%'");
	return topic_chars_check(root, len, "root", err, errlen);
}

/* pc_topic_check - contract in topic.h. */
int pc_topic_check(const char *topic, size_t len, char *err, size_t errlen)
{
	if (topic == NULL || len == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "empty topic");
	if (len > PC_TOPIC_MAX)
		return pc_errf(err, errlen, PC_ERR_TOO_LONG, "topic of %zu bytes is over %d", len,
		               PC_TOPIC_MAX);
	return topic_chars_check(topic, len, "topic", err, errlen);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * pc_topic_parse - contract in topic.h. Strips the root, finds the
 * namespace, validates the id (which ends at the next '/') and matches the
 * suffix against topic_shapes.
 */
int pc_topic_parse(const char *root, const char *topic, struct pc_topic *out, char *err,
                   size_t errlen)
{
	char detail[128];
	const char *s, *ns = NULL, *id, *end;
	size_t i, rlen, id_len;
	int rc;

	if (out == NULL)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no output");
	out->kind = PC_T_NONE;
	out->id = NULL;
	out->id_len = 0;
	out->rest = NULL;
	if (topic == NULL)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no topic");

	s = topic;
	if (root != NULL && root[0] != '\0') {
		rlen = strlen(root);
		if (strncmp(s, root, rlen) != 0 || s[rlen] != '/')
			return PC_OK; /* outside our root */
		s += rlen + 1;
	}

	if (strcmp(s, "mkt/campaign") == 0) {
		out->kind = PC_T_MKT_CAMPAIGN;
		return PC_OK;
	}
	for (i = 0; i < sizeof(id_namespaces) / sizeof(id_namespaces[0]); i++) {
		if (starts_with(s, id_namespaces[i])) {
			ns = id_namespaces[i];
			break;
		}
	}
	if (ns == NULL)
		return PC_OK;

	id = s + strlen(ns);
	end = strchr(id, '/');
	id_len = end != NULL ? (size_t)(end - id) : strlen(id);
	rc = pc_id_check(id, id_len, detail, sizeof(detail));
	if (rc != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "bad id in topic '%.*s': %s",
		               PC_TOPIC_MAX, topic, detail);

	end = id + id_len; /* at the '/' after the id, or at the NUL */
	for (i = 0; i < N_SHAPES; i++) {
		const struct topic_shape *sh = &topic_shapes[i];

		if (!sh->has_id || strcmp(sh->ns, ns) != 0)
			continue;
		if (sh->kind == PC_T_PUSH_DEVICE) {
			out->rest = *end == '/' ? end + 1 : NULL;
		} else if (strcmp(end, sh->suffix) != 0) {
			continue;
		}
		out->kind = sh->kind;
		out->id = id;
		out->id_len = id_len;
		return PC_OK;
	}
	return PC_OK; /* known namespace, unknown suffix */
}

static const struct topic_shape *shape_of(enum pc_topic_kind kind)
{
	size_t i;

	for (i = 0; i < N_SHAPES; i++) {
		if (topic_shapes[i].kind == kind)
			return &topic_shapes[i];
	}
	return NULL;
}

/*
 * pc_topic_build - contract in topic.h. Also refuses a bad root, a
 * non-NULL id for PC_T_MKT_CAMPAIGN and a rest with wildcards or invalid
 * UTF-8 (PC_ERR_INVAL), and any result over PC_TOPIC_MAX (PC_ERR_TOO_LONG).
 * rest "" gives a trailing '/' ("push/device/{id}/"), as parse reads it.
 */
int pc_topic_build(char *buf, size_t buflen, const char *root, enum pc_topic_kind kind,
                   const char *id, const char *rest)
{
	const struct topic_shape *sh = shape_of(kind);
	bool has_root = root != NULL && root[0] != '\0';
	bool has_rest = kind == PC_T_PUSH_DEVICE && rest != NULL;
	int n;

	if (sh == NULL || pc_root_check(root, NULL, 0) != PC_OK)
		return PC_ERR_INVAL;
	if (sh->has_id) {
		if (id == NULL || pc_id_check(id, strlen(id), NULL, 0) != PC_OK)
			return PC_ERR_INVAL;
	} else if (id != NULL) {
		return PC_ERR_INVAL;
	}
	if (has_rest && rest[0] != '\0' &&
	    topic_chars_check(rest, strlen(rest), "rest", NULL, 0) != PC_OK)
		return PC_ERR_INVAL;
	if (buf == NULL)
		buflen = 0;

	n = snprintf(buf, buflen, "%s%s%s%s%s%s%s", has_root ? root : "", has_root ? "/" : "",
	             sh->ns, sh->has_id ? id : "", sh->suffix, has_rest ? "/" : "",
	             has_rest ? rest : "");
	if (n < 0)
		return PC_ERR_INVAL;
	if (n > PC_TOPIC_MAX || (size_t)n >= buflen) {
		if (buflen > 0)
			buf[0] = '\0';
		return PC_ERR_TOO_LONG;
	}
	return n;
}

/* pc_topic_kind_name - contract in topic.h; "?" for a value outside the enum. */
const char *pc_topic_kind_name(enum pc_topic_kind kind)
{
	const struct topic_shape *sh;

	if (kind == PC_T_NONE)
		return "none";
	sh = shape_of(kind);
	return sh != NULL ? sh->name : "?";
}

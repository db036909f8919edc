/*
 * fuzz_json.c - the strict JSON scanner every precis reader of device JSON
 * starts with (common/json_scan.c, with the writer of json_write.c) and the
 * command plugin's protocol parsers built on it (plugins/command/parse.c):
 * heartbeats, command acks and command requests, exactly as the broker
 * thread calls them on a device's or an ops tool's payload.
 *
 * Input: one payload. Properties: the scanner's verdicts agree with each
 * other (an object pc_json_object lists is one to pc_json_check; every
 * member's span is inside the text, is itself one JSON value of the type
 * reported, and nested objects list too); a decoded string holds no NUL,
 * is valid UTF-8 and survives being written by pc_buf_json_string and
 * decoded again; an integer prints and scans back to itself; what the
 * parsers accept passes their own checks (a request passes
 * command__request_check, an ack's id splits into token and device, its
 * result is an object inside the payload), and a command built from an
 * accepted request by command__cmd_payload scans back to the same op and
 * args.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "precis/json.h"
#include "precis/error.h"
#include "protocol.h"

/* A fixed "now" (2027-01-15), so that an input means the same on every run. */
#define NOW_MS INT64_C(1800000000000)

static bool inside(const char *p, size_t len, const char *s, size_t n)
{
	return p >= s && p <= s + n && len <= (size_t)(s + n - p);
}

static bool utf8_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = pc_utf8_len((const unsigned char *)s + i, n - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* A string value: decode, write it back with the plugin's writer, decode again. */
static void check_string(const struct pc_jspan *v)
{
	char *buf = malloc(v->len + 1), *again;
	struct pc_buf b = {0};
	struct pc_jspan w;
	enum pc_jtype t;
	size_t n = 0, n2 = 0, wlen;

	FUZZ_CHECK(buf);
	if (pc_json_string(v, buf, v->len + 1, &n) != PC_OK) {
		free(buf);
		return;
	}
	FUZZ_CHECK(n <= v->len);
	FUZZ_CHECK(strlen(buf) == n);
	FUZZ_CHECK(utf8_ok(buf, n));
	pc_buf_json_string(&b, buf, n);
	w.p = pc_buf_take(&b, &wlen);
	FUZZ_CHECK(w.p);
	w.len = wlen;
	w.type = PC_J_STRING;
	FUZZ_CHECK(pc_json_check(w.p, w.len, &t, NULL, 0) == PC_OK);
	FUZZ_CHECK(t == PC_J_STRING);
	again = malloc(w.len + 1);
	FUZZ_CHECK(again);
	FUZZ_CHECK(pc_json_string(&w, again, w.len + 1, &n2) == PC_OK);
	FUZZ_CHECK(n2 == n && memcmp(again, buf, n) == 0);
	/* Too small a buffer is refused, never overrun. */
	if (n > 0)
		FUZZ_CHECK(pc_json_string(v, again, n, NULL) == PC_ERR_TOO_LONG);
	free(again);
	free((char *)w.p);
	free(buf);
}

static void check_int(const struct pc_jspan *v)
{
	char text[32];
	struct pc_jspan w;
	int64_t x, y;
	int n;

	if (pc_json_int(v, &x) != PC_OK)
		return;
	n = snprintf(text, sizeof text, "%" PRId64, x);
	w = (struct pc_jspan){text, (size_t)n, PC_J_NUMBER};
	FUZZ_CHECK(pc_json_int(&w, &y) == PC_OK && y == x);
}

/* Every member of the object s[0..len) (already checked), and their members in turn. */
static void check_object(const char *s, size_t len, int depth)
{
	struct pc_jmember m[64];
	size_t n = 0;
	int rc = pc_json_object(s, len, m, 64, &n, NULL, 0);

	FUZZ_CHECK(rc == PC_OK || rc == PC_ERR_DUPLICATE || rc == PC_ERR_TOO_LONG);
	if (rc != PC_OK)
		return;
	FUZZ_CHECK(n <= 64);
	for (size_t i = 0; i < n; i++) {
		enum pc_jtype t;

		FUZZ_CHECK(inside(m[i].key.p, m[i].key.len, s, len));
		FUZZ_CHECK(inside(m[i].value.p, m[i].value.len, s, len));
		FUZZ_CHECK(pc_json_check(m[i].value.p, m[i].value.len, &t, NULL, 0) == PC_OK);
		FUZZ_CHECK(t == m[i].value.type);
		if (t == PC_J_STRING)
			check_string(&m[i].value);
		else if (t == PC_J_NUMBER)
			check_int(&m[i].value);
		else if (t == PC_J_OBJECT && depth < 4)
			check_object(m[i].value.p, m[i].value.len, depth + 1);
	}
}

static void check_hb(const char *s, size_t len)
{
	struct command__hb hb;

	if (command__hb_parse(s, len, &hb, NULL, 0) != PC_OK)
		return;
	FUZZ_CHECK(!hb.has_seq || hb.seq >= 0);
	FUZZ_CHECK(!hb.has_interval ||
	           (hb.interval_ms >= 1000 && hb.interval_ms <= COMMAND_INTERVAL_MAX * 1000));
}

static void check_ack(const char *s, size_t len)
{
	struct command__ack a, b;
	enum pc_jtype t;
	const char *dev;
	size_t devlen;

	if (command__ack_parse(s, len, NULL, 0, &a, NULL, 0) != PC_OK)
		return;
	FUZZ_CHECK(a.status <= COMMAND_ACK_REJECTED);
	FUZZ_CHECK(command__cid_split(a.cid, strlen(a.cid), &dev, &devlen) == PC_OK);
	if (a.result) {
		FUZZ_CHECK(inside(a.result, a.result_len, s, len));
		FUZZ_CHECK(pc_json_check(a.result, a.result_len, &t, NULL, 0) == PC_OK);
		FUZZ_CHECK(t == PC_J_OBJECT);
	}
	/* The same id as MQTT 5 correlation data agrees; another one is refused. */
	FUZZ_CHECK(command__ack_parse(s, len, a.cid, strlen(a.cid), &b, NULL, 0) == PC_OK);
	FUZZ_CHECK(strcmp(a.cid, b.cid) == 0 && a.status == b.status);
	FUZZ_CHECK(command__ack_parse(s, len, "x@y", 3, &b, NULL, 0) != PC_OK ||
	           strcmp(a.cid, "x@y") == 0);
}

static void check_request(const char *s, size_t len)
{
	static const struct command__defaults def = {60000, 30000, 3, 5};
	struct command__request r;
	struct pc_jmember m[16];
	enum pc_jtype t;
	char *cmd, *args, op[COMMAND_OP_MAX + 1];
	size_t n, cmdlen;

	if (command__request_parse(s, len, NOW_MS, &def, &r, NULL, 0) != PC_OK)
		return;
	FUZZ_CHECK(command__request_check(&r, NULL, 0) == PC_OK);
	FUZZ_CHECK(r.args_len == 2 || inside(r.args, r.args_len, s, len));
	FUZZ_CHECK(pc_json_check(r.args, r.args_len, &t, NULL, 0) == PC_OK);
	FUZZ_CHECK(t == PC_J_OBJECT);

	/* What the plugin would send the device scans back to the same op and args. */
	args = strndup(r.args, r.args_len);
	FUZZ_CHECK(args);
	cmd = command__cmd_payload("0abc@dev-1", r.op, args, NOW_MS, NOW_MS + r.ttl_ms, 1, &cmdlen);
	FUZZ_CHECK(cmd);
	FUZZ_CHECK(pc_json_object(cmd, cmdlen, m, 16, &n, NULL, 0) == PC_OK);
	for (size_t i = 0; i < n; i++) {
		if (pc_json_key_is(&m[i], "op")) {
			FUZZ_CHECK(pc_json_string(&m[i].value, op, sizeof op, NULL) == PC_OK);
			FUZZ_CHECK(strcmp(op, r.op) == 0);
		} else if (pc_json_key_is(&m[i], "args")) {
			FUZZ_CHECK(m[i].value.len == r.args_len &&
			           memcmp(m[i].value.p, r.args, r.args_len) == 0);
		}
	}
	free(cmd);
	free(args);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: a read past the payload's end is caught. */
	char *s = malloc(size ? size : 1);
	enum pc_jtype t;
	struct pc_jmember m[32];
	size_t n;
	int rc, orc;

	FUZZ_CHECK(s);
	if (size)
		memcpy(s, data, size);
	rc = pc_json_check(s, size, &t, NULL, 0);
	orc = pc_json_object(s, size, m, 32, &n, NULL, 0);
	if (orc == PC_OK || orc == PC_ERR_DUPLICATE || orc == PC_ERR_TOO_LONG)
		FUZZ_CHECK(rc == PC_OK && t == PC_J_OBJECT);
	if (rc == PC_OK && t == PC_J_OBJECT)
		check_object(s, size, 0);
	if (rc == PC_OK && t == PC_J_STRING) {
		size_t a = 0, b = size;

		while (s[a] != '"')
			a++;
		while (s[b - 1] != '"')
			b--;
		check_string(&(struct pc_jspan){s + a, b - a, t});
	}
	check_hb(s, size);
	check_ack(s, size);
	check_request(s, size);
	free(s);
	return 0;
}

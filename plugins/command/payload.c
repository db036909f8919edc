/*
 * payload.c - the JSON the plugin sends (protocol.h, schemas/).
 *
 * Commands to devices, heartbeat acks, presence and refused requests.
 * Strings are escaped by the JSON writer; args arrive as JSON text that
 * was checked when the command was enqueued and are copied verbatim.
 * Member order is fixed so that payloads are easy to read and to
 * compare in tests. Pure code, thread-safe; the results are plain heap
 * strings (the broker thread copies them into mosquitto_malloc memory
 * before publishing).
 */
#include <inttypes.h>
#include <string.h>

#include "precis/json.h"
#include "protocol.h"

char *command__cmd_payload(const char *cid, const char *op, const char *args, int64_t ts,
                           int64_t expires, int64_t attempt, size_t *len)
{
	struct pc_buf b = {0};

	pc_buf_str(&b, "{\"id\":");
	pc_buf_json_string(&b, cid, strlen(cid));
	pc_buf_str(&b, ",\"op\":");
	pc_buf_json_string(&b, op, strlen(op));
	pc_buf_str(&b, ",\"args\":");
	pc_buf_str(&b, args && args[0] ? args : "{}");
	pc_buf_printf(&b, ",\"ts\":%" PRId64 ",\"expires\":%" PRId64 ",\"attempt\":%" PRId64 "}",
	              ts, expires, attempt);
	return pc_buf_take(&b, len);
}

char *command__hb_ack_payload(int64_t ts, int64_t pending, const char *error, size_t *len)
{
	struct pc_buf b = {0};

	pc_buf_printf(&b, "{\"ts\":%" PRId64 ",\"pending\":%" PRId64, ts,
	              pending < 0 ? 0 : pending);
	if (error) {
		pc_buf_str(&b, ",\"error\":");
		pc_buf_json_string(&b, error, strlen(error));
	}
	pc_buf_str(&b, "}");
	return pc_buf_take(&b, len);
}

/* Decimal digits of v at p; returns the end. No printf: this runs for every heartbeat. */
static char *put_i64(char *p, int64_t v)
{
	char tmp[20];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n = 0;

	if (v < 0)
		*p++ = '-';
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		*p++ = tmp[--n];
	return p;
}

size_t command__hb_ack_text(char *buf, size_t n, int64_t ts, int64_t pending)
{
	char text[64], *p = text;
	size_t len;

	memcpy(p, "{\"ts\":", 6);
	p = put_i64(p + 6, ts);
	memcpy(p, ",\"pending\":", 11);
	p = put_i64(p + 11, pending < 0 ? 0 : pending);
	*p++ = '}';
	len = (size_t)(p - text);
	if (n == 0)
		return 0;
	if (len >= n)
		len = n - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return len;
}

char *command__presence_payload(bool online, int64_t at, int64_t seq, const char *reason,
                                size_t *len)
{
	struct pc_buf b = {0};

	pc_buf_printf(&b, "{\"online\":%s,\"at\":%" PRId64 ",\"seq\":", online ? "true" : "false",
	              at);
	if (seq < 0)
		pc_buf_str(&b, "null");
	else
		pc_buf_printf(&b, "%" PRId64, seq);
	pc_buf_str(&b, ",\"reason\":");
	pc_buf_json_string(&b, reason, strlen(reason));
	pc_buf_str(&b, "}");
	return pc_buf_take(&b, len);
}

char *command__refused_payload(const char *op, int64_t at, const char *error, size_t *len)
{
	struct pc_buf b = {0};

	pc_buf_printf(&b, "{\"id\":null,\"state\":\"refused\",\"at\":%" PRId64 ",\"op\":", at);
	if (op && op[0])
		pc_buf_json_string(&b, op, strlen(op));
	else
		pc_buf_str(&b, "null");
	pc_buf_str(&b, ",\"error\":");
	pc_buf_json_string(&b, error, strlen(error));
	pc_buf_str(&b, "}");
	return pc_buf_take(&b, len);
}

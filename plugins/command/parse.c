/*
 * parse.c - reading heartbeats, acks and command requests (protocol.h).
 *
 * Each parser lists the members of the payload's top-level object with
 * the JSON scanner (json.c), then takes the members it knows one by one
 * from a small table of names, checking type and range; a bad member
 * fails the whole payload with a message that names it. Nothing here
 * allocates: strings are decoded into the caller's struct, nested values
 * (args, result) are spans into the payload. Also holds the command id
 * rules (command__cid_make / _split). Pure code, called on the broker
 * thread and by precisctl.
 */
#include <stdio.h>
#include <string.h>

#include "precis/json.h"
#include "precis/error.h"
#include "protocol.h"

#define MAX_MEMBERS 32

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool op_char(char c)
{
	return token_char(c) || c == '.' || c == ':' || c == '/';
}

static void base36(char *out, size_t width, uint64_t v)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

	for (size_t i = width; i-- > 0; v /= 36)
		out[i] = digits[v % 36];
}

int command__cid_make(char *buf, size_t buflen, int64_t now_ms, uint64_t rnd, const char *dev)
{
	char tok[20];
	int n;

	if (pc_id_check(dev, strlen(dev), NULL, 0) != PC_OK)
		return PC_ERR_INVAL;
	/* 9 base-36 digits of milliseconds last until the year 5188; 10 of rnd hold 51 bits. */
	base36(tok, 9, (uint64_t)(now_ms < 0 ? 0 : now_ms));
	base36(tok + 9, 10, rnd % UINT64_C(3656158440062976));
	tok[19] = '\0';
	n = snprintf(buf, buflen, "%s@%s", tok, dev);
	return n < 0 || (size_t)n >= buflen ? PC_ERR_TOO_LONG : n;
}

int command__cid_split(const char *cid, size_t len, const char **dev, size_t *devlen)
{
	const char *at = memchr(cid, '@', len);
	size_t tlen;

	if (!at)
		return PC_ERR_INVAL;
	tlen = (size_t)(at - cid);
	if (tlen == 0 || tlen > COMMAND_TOKEN_MAX)
		return PC_ERR_INVAL;
	for (size_t i = 0; i < tlen; i++)
		if (!token_char(cid[i]))
			return PC_ERR_INVAL;
	if (pc_id_check(at + 1, len - tlen - 1, NULL, 0) != PC_OK)
		return PC_ERR_INVAL;
	*dev = at + 1;
	*devlen = len - tlen - 1;
	return PC_OK;
}

/* ---- member helpers ---- */

static const struct pc_jmember *member(const struct pc_jmember *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (pc_json_key_is(&m[i], name))
			return &m[i];
	return NULL;
}

/* Refuse any member whose name is not in allowed (NULL-terminated). */
static int only(const struct pc_jmember *m, size_t n, const char *const *allowed, char *err,
                size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (allowed[k] && !pc_json_key_is(&m[i], allowed[k]))
			k++;
		if (!allowed[k])
			return pc_errf(err, errlen, PC_ERR_UNKNOWN_KEY, "unknown member \"%.*s\"",
			               (int)m[i].key.len, m[i].key.p);
	}
	return PC_OK;
}

static int int_member(const struct pc_jmember *v, const char *name, int64_t lo, int64_t hi,
                      int64_t *out, char *err, size_t errlen)
{
	int64_t x;
	int rc = pc_json_int(&v->value, &x);

	if (rc == PC_ERR_INVAL)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"%s\" must be an integer", name);
	if (rc != PC_OK || x < lo || x > hi)
		return pc_errf(err, errlen, PC_ERR_RANGE, "\"%s\" must be in %lld..%lld", name,
		               (long long)lo, (long long)hi);
	*out = x;
	return PC_OK;
}

static int str_member(const struct pc_jmember *v, const char *name, char *buf, size_t buflen,
                      char *err, size_t errlen)
{
	int rc = pc_json_string(&v->value, buf, buflen, NULL);

	if (rc == PC_ERR_TOO_LONG)
		return pc_errf(err, errlen, PC_ERR_TOO_LONG, "\"%s\" is longer than %zu bytes",
		               name, buflen - 1);
	if (rc != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"%s\" must be a string", name);
	return PC_OK;
}

static int members(const char *p, size_t len, struct pc_jmember *m, size_t *n, char *err,
                   size_t errlen)
{
	char why[160];
	int rc = pc_json_object(p, len, m, MAX_MEMBERS, n, why, sizeof why);

	if (rc != PC_OK)
		return pc_errf(err, errlen, rc, "%s", why);
	return PC_OK;
}

/* ---- heartbeat ---- */

int command__hb_parse(const char *p, size_t len, struct command__hb *hb, char *err, size_t errlen)
{
	struct pc_jmember m[MAX_MEMBERS];
	const struct pc_jmember *v;
	size_t n;
	int64_t x;
	int rc;

	memset(hb, 0, sizeof *hb);
	if (len == 0)
		return PC_OK;
	if ((rc = members(p, len, m, &n, err, errlen)) != PC_OK)
		return rc;
	if ((v = member(m, n, "seq")) != NULL) {
		if ((rc = int_member(v, "seq", 0, INT64_MAX, &hb->seq, err, errlen)) != PC_OK)
			return rc;
		hb->has_seq = true;
	}
	if ((v = member(m, n, "interval")) != NULL) {
		if ((rc = int_member(v, "interval", 1, COMMAND_INTERVAL_MAX, &x, err, errlen)) !=
		    PC_OK)
			return rc;
		hb->has_interval = true;
		hb->interval_ms = x * 1000;
	}
	if ((v = member(m, n, "status")) != NULL && v->value.type != PC_J_OBJECT)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"status\" must be an object");
	return PC_OK;
}

/* ---- ack ---- */

static const char *const ack_status_names[] = {"ok", "error", "rejected"};

const char *command__ack_status_name(enum command__ack_status s)
{
	return (unsigned)s < 3 ? ack_status_names[s] : "?";
}

int command__ack_parse(const char *p, size_t len, const char *corr, size_t corrlen,
                       struct command__ack *a, char *err, size_t errlen)
{
	static const char *const allowed[] = {"id", "status", "result", NULL};
	struct pc_jmember m[MAX_MEMBERS];
	const struct pc_jmember *v;
	const char *dev;
	size_t n, devlen, cidlen;
	char status[16];
	int rc;

	memset(a, 0, sizeof *a);
	if ((rc = members(p, len, m, &n, err, errlen)) != PC_OK)
		return rc;
	if ((rc = only(m, n, allowed, err, errlen)) != PC_OK)
		return rc;
	if ((v = member(m, n, "id")) != NULL) {
		if ((rc = str_member(v, "id", a->cid, sizeof a->cid, err, errlen)) != PC_OK)
			return rc;
		if (corr && (corrlen != strlen(a->cid) || memcmp(corr, a->cid, corrlen) != 0))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "\"id\" differs from the correlation data");
	} else if (corr) {
		if (corrlen == 0 || corrlen >= sizeof a->cid || memchr(corr, '\0', corrlen))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "the correlation data is not a command id");
		memcpy(a->cid, corr, corrlen);
		a->cid[corrlen] = '\0';
	} else {
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"id\" is missing");
	}
	cidlen = strlen(a->cid);
	if (command__cid_split(a->cid, cidlen, &dev, &devlen) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"%s\" is not a command id", a->cid);
	if (!(v = member(m, n, "status")))
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"status\" is missing");
	if (str_member(v, "status", status, sizeof status, NULL, 0) != PC_OK)
		status[0] = '\0';
	for (a->status = COMMAND_ACK_OK; a->status <= COMMAND_ACK_REJECTED; a->status++)
		if (strcmp(status, ack_status_names[a->status]) == 0)
			break;
	if (a->status > COMMAND_ACK_REJECTED)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "\"status\" must be \"ok\", \"error\" or \"rejected\"");
	if ((v = member(m, n, "result")) != NULL && v->value.type != PC_J_NULL) {
		if (v->value.type != PC_J_OBJECT)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "\"result\" must be an object or null");
		a->result = v->value.p;
		a->result_len = v->value.len;
	}
	return PC_OK;
}

/* ---- command request ---- */

int command__request_check(const struct command__request *r, char *err, size_t errlen)
{
	struct {
		const char *name;
		int64_t v, lo, hi;
	} nums[] = {
	    {"priority", r->priority, 0, COMMAND_PRIO_MAX},
	    {"ttl", r->ttl_ms, COMMAND_TTL_MIN, COMMAND_TTL_MAX},
	    {"timeout", r->timeout_ms, COMMAND_TIMEOUT_MIN, COMMAND_TIMEOUT_MAX},
	    {"attempts", r->attempts, 1, COMMAND_ATTEMPTS_MAX},
	    {"delay", r->delay_ms, 0, COMMAND_DELAY_MAX},
	};
	size_t oplen = strlen(r->op), sklen = strlen(r->supersede);
	enum pc_jtype t;
	char why[160];

	if (oplen == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"op\" is missing or empty");
	for (size_t i = 0; i < oplen; i++)
		if (!op_char(r->op[i]))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "\"op\" may hold only A-Z a-z 0-9 . _ : / -");
	if (sklen && pc_id_check(r->supersede, sklen, why, sizeof why) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"supersede\": %s", why);
	if (!r->args || pc_json_check(r->args, r->args_len, &t, why, sizeof why) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"args\": %s",
		               r->args ? why : "missing");
	if (t != PC_J_OBJECT)
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"args\" must be an object");
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (nums[i].v < nums[i].lo || nums[i].v > nums[i].hi)
			return pc_errf(err, errlen, PC_ERR_RANGE, "\"%s\" must be in %lld..%lld",
			               nums[i].name, (long long)nums[i].lo, (long long)nums[i].hi);
	return PC_OK;
}

int command__request_parse(const char *p, size_t len, int64_t now_ms,
                           const struct command__defaults *def, struct command__request *r,
                           char *err, size_t errlen)
{
	static const char *const allowed[] = {"op",        "args",    "priority", "ttl",
	                                      "expires",   "timeout", "attempts", "delay",
	                                      "supersede", NULL};
	struct {
		const char *name;
		int64_t lo, hi, *out;
	} nums[] = {
	    {"priority", 0, COMMAND_PRIO_MAX, &r->priority},
	    {"ttl", COMMAND_TTL_MIN, COMMAND_TTL_MAX, &r->ttl_ms},
	    {"timeout", COMMAND_TIMEOUT_MIN, COMMAND_TIMEOUT_MAX, &r->timeout_ms},
	    {"attempts", 1, COMMAND_ATTEMPTS_MAX, &r->attempts},
	    {"delay", 0, COMMAND_DELAY_MAX, &r->delay_ms},
	};
	struct pc_jmember m[MAX_MEMBERS];
	const struct pc_jmember *v;
	size_t n;
	int rc;

	memset(r, 0, sizeof *r);
	r->priority = def->priority;
	r->ttl_ms = def->ttl_ms;
	r->timeout_ms = def->timeout_ms;
	r->attempts = def->attempts;
	r->args = "{}";
	r->args_len = 2;
	if ((rc = members(p, len, m, &n, err, errlen)) != PC_OK)
		return rc;
	if ((rc = only(m, n, allowed, err, errlen)) != PC_OK)
		return rc;
	if (!(v = member(m, n, "op")))
		return pc_errf(err, errlen, PC_ERR_INVAL, "\"op\" is missing");
	if ((rc = str_member(v, "op", r->op, sizeof r->op, err, errlen)) != PC_OK)
		return rc;
	if ((v = member(m, n, "args")) != NULL) {
		if (v->value.type != PC_J_OBJECT)
			return pc_errf(err, errlen, PC_ERR_INVAL, "\"args\" must be an object");
		r->args = v->value.p;
		r->args_len = v->value.len;
	}
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if ((v = member(m, n, nums[i].name)) != NULL &&
		    (rc = int_member(v, nums[i].name, nums[i].lo, nums[i].hi, nums[i].out, err,
		                     errlen)) != PC_OK)
			return rc;
	if ((v = member(m, n, "expires")) != NULL) {
		int64_t at, ttl;

		if (member(m, n, "ttl"))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "give \"ttl\" or \"expires\", not both");
		/* A time far in the past must not overflow the subtraction. */
		if (pc_json_int(&v->value, &at) != PC_OK ||
		    __builtin_sub_overflow(at, now_ms, &ttl) || ttl < COMMAND_TTL_MIN ||
		    ttl > COMMAND_TTL_MAX)
			return pc_errf(err, errlen, PC_ERR_RANGE,
			               "\"expires\" must be an epoch time in ms, 100 ms to 30 days "
			               "from now");
		r->ttl_ms = ttl;
	}
	if ((v = member(m, n, "supersede")) != NULL &&
	    (rc = str_member(v, "supersede", r->supersede, sizeof r->supersede, err, errlen)) !=
	        PC_OK)
		return rc;
	return command__request_check(r, err, errlen);
}

/*
 * protocol.h - the payloads of the command protocol (DESIGN §1, schemas/).
 *
 * parse.c reads what devices and ops send: heartbeats, command acks and
 * command requests (ops/dev/{id}/cmd, precisctl cmd send), each checked
 * strictly, with an error that says what is wrong. payload.c writes what
 * the plugin sends: commands, heartbeat acks, presence and refusals.
 * Command ids are "<token>@<device>": the device part lets anyone holding
 * an id find the device's keys, and lets the plugin see at once that an
 * ack names another device's command. Pure code, thread-safe.
 */
#ifndef PRECIS_COMMAND_PROTOCOL_H
#define PRECIS_COMMAND_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/topic.h"

#define COMMAND_TOKEN_MAX 32                                  /* [A-Za-z0-9_-] */
#define COMMAND_CID_MAX   (COMMAND_TOKEN_MAX + 1 + PC_ID_MAX) /* token@device */
#define COMMAND_OP_MAX    64                                  /* [A-Za-z0-9._:/-] */
#define COMMAND_SKEY_MAX  64                                  /* supersede key: id characters */
#define COMMAND_PRIO_MAX  9                                   /* priorities are 0..9, 9 first */

/* Fixed ranges of the request fields (ms where a duration). */
#define COMMAND_TTL_MIN      100
#define COMMAND_TTL_MAX      (30LL * 86400000)
#define COMMAND_TIMEOUT_MIN  100
#define COMMAND_TIMEOUT_MAX  3600000
#define COMMAND_ATTEMPTS_MAX 100
#define COMMAND_DELAY_MAX    (30LL * 86400000)
#define COMMAND_INTERVAL_MAX 86400 /* heartbeat interval, seconds */

/*
 * command__cid_make - write "<token>@<dev>" into buf: the token is now_ms
 * and rnd in base 36 (sortable by creation time, unique with a random
 * rnd). Returns the length or PC_ERR_TOO_LONG / PC_ERR_INVAL (bad dev).
 */
int command__cid_make(char *buf, size_t buflen, int64_t now_ms, uint64_t rnd, const char *dev);

/*
 * command__cid_split - check that cid[0..len) is "<token>@<device>" with
 * a valid token and device id; on PC_OK *dev and *devlen locate the device
 * part inside cid. Returns PC_OK or PC_ERR_INVAL.
 */
int command__cid_split(const char *cid, size_t len, const char **dev, size_t *devlen);

/* A heartbeat: {"seq":n,"interval":s,"status":{...}}, every member optional. */
struct command__hb {
	bool has_seq;
	int64_t seq; /* >= 0 */
	bool has_interval;
	int64_t interval_ms; /* declared interval, 1 s .. 1 day */
};

/*
 * command__hb_parse - parse a heartbeat payload (empty means {}). Members
 * other than seq, interval and status are allowed and ignored (devices
 * add their own); those three must have the right type and range.
 * Returns PC_OK or an error with detail.
 */
int command__hb_parse(const char *p, size_t len, struct command__hb *hb, char *err, size_t errlen);

enum command__ack_status {
	COMMAND_ACK_OK,
	COMMAND_ACK_ERROR,
	COMMAND_ACK_REJECTED,
};

/* command__ack_status_name - "ok", "error", "rejected". */
const char *command__ack_status_name(enum command__ack_status s);

/* A command ack: {"id":cid,"status":s,"result":{...}}. */
struct command__ack {
	char cid[COMMAND_CID_MAX + 1];
	enum command__ack_status status;
	const char *result; /* the result object's text inside the payload, or NULL */
	size_t result_len;
};

/*
 * command__ack_parse - parse an ack. corr[0..corrlen) is the MQTT 5
 * correlation data of the message (NULL/0 without): it supplies the id
 * when the payload has none, and must equal it when both are given.
 * Only id, status and result are allowed; result is an object or null.
 * Returns PC_OK or an error with detail; a->result points into p.
 */
int command__ack_parse(const char *p, size_t len, const char *corr, size_t corrlen,
                       struct command__ack *a, char *err, size_t errlen);

/* What a request gets for the fields it leaves out (plugin options, precisctl flags). */
struct command__defaults {
	int64_t ttl_ms;
	int64_t timeout_ms;
	int64_t attempts;
	int64_t priority;
};

/* A command request, as ops send it (the command without its id). */
struct command__request {
	char op[COMMAND_OP_MAX + 1];
	const char *args; /* an object's JSON text: inside the payload, or "{}" */
	size_t args_len;
	int64_t priority;
	int64_t ttl_ms; /* from now */
	int64_t timeout_ms;
	int64_t attempts;
	int64_t delay_ms; /* not before now + delay */
	char supersede[COMMAND_SKEY_MAX + 1];
};

/*
 * command__request_parse - parse an ops request: op (required), args
 * (object), priority, ttl (ms) or expires (ms since the epoch, needs
 * now_ms), timeout (ms), attempts, delay (ms), supersede. Anything else
 * is refused. Fields left out come from def. Returns PC_OK or an error
 * with detail; r->args points into p.
 */
int command__request_parse(const char *p, size_t len, int64_t now_ms,
                           const struct command__defaults *def, struct command__request *r,
                           char *err, size_t errlen);

/*
 * command__request_check - range checks shared by command__request_parse
 * and precisctl (which fills r from flags): op and supersede characters,
 * args an object, every number in its range. Returns PC_OK or
 * PC_ERR_INVAL / PC_ERR_RANGE with detail naming the field.
 */
int command__request_check(const struct command__request *r, char *err, size_t errlen);

/*
 * The payload builders return a heap string (free with free) and its
 * length in *len, or NULL when out of memory.
 */

/* command__cmd_payload - dev/{id}/cmd: {"id","op","args","ts","expires","attempt"}. */
char *command__cmd_payload(const char *cid, const char *op, const char *args, int64_t ts,
                           int64_t expires, int64_t attempt, size_t *len);

/* command__hb_ack_payload - dev/{id}/hb/ack: {"ts","pending"} and "error" when error != NULL. */
char *command__hb_ack_payload(int64_t ts, int64_t pending, const char *error, size_t *len);

/*
 * command__hb_ack_text - the same without an error, into buf (n bytes;
 * 64 always suffice), for the hot path: no allocation. Returns the length.
 */
size_t command__hb_ack_text(char *buf, size_t n, int64_t ts, int64_t pending);

/* command__presence_payload - ops/dev/{id}/presence: {"online","at","seq","reason"}; seq < 0: null.
 */
char *command__presence_payload(bool online, int64_t at, int64_t seq, const char *reason,
                                size_t *len);

/*
 * command__refused_payload - ops/dev/{id}/cmd/state for a request that was
 * refused before it became a command: {"id":null,"state":"refused","at",
 * "op" (when known, else null),"error"}.
 */
char *command__refused_payload(const char *op, int64_t at, const char *error, size_t *len);

#endif

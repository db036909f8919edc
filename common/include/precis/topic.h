/*
 * topic.h - device ids and the precis topic contract (DESIGN §1).
 *
 * Pure string functions: no allocation, no I/O. Ids are 1-64 characters of
 * [A-Za-z0-9._:-]; this excludes '+', '#', '/', '$', NUL, whitespace and
 * every non-ASCII byte, so an id can be substituted into a topic or an ACL
 * pattern safely. The same rules apply to user ids and segment ids in
 * push topics.
 *
 * Every topic may live under a configurable root ("" for none; otherwise a
 * root such as "site1" makes dev/{id}/hb into site1/dev/{id}/hb).
 */
#ifndef PRECIS_TOPIC_H
#define PRECIS_TOPIC_H

#include <stddef.h>

#define PC_ID_MAX 64
/* Longest topic the library builds or accepts (MQTT allows 65535). */
#define PC_TOPIC_MAX 1024

/*
 * pc_id_check - validate an id of explicit length len (so an embedded NUL
 * is seen and refused). Returns PC_OK, PC_ERR_INVAL (empty, or a bad
 * character; the detail names the character and its offset) or
 * PC_ERR_TOO_LONG (over PC_ID_MAX). Detail goes to (err, errlen).
 */
int pc_id_check(const char *id, size_t len, char *err, size_t errlen);

/*
 * pc_root_check - validate a topic root: "" (none) or 1..255 characters
 * that form a valid MQTT topic without wildcards, not starting or ending
 * with '/', not starting with '$', without '%' (an ACL template token
 * character). Returns PC_OK or PC_ERR_INVAL.
 */
int pc_root_check(const char *root, char *err, size_t errlen);

/*
 * pc_topic_check - validate a topic a client publishes: len 1..PC_TOPIC_MAX,
 * no NUL, no '+' or '#', valid UTF-8. Returns PC_OK, PC_ERR_INVAL or
 * PC_ERR_TOO_LONG with detail.
 */
int pc_topic_check(const char *topic, size_t len, char *err, size_t errlen);

/* The topics of the contract. PC_T_NONE: not a precis topic. */
enum pc_topic_kind {
	PC_T_NONE = 0,
	PC_T_DEV_HB,        /* dev/{id}/hb */
	PC_T_DEV_HB_ACK,    /* dev/{id}/hb/ack */
	PC_T_DEV_DATA,      /* dev/{id}/data */
	PC_T_DEV_EVT,       /* dev/{id}/evt */
	PC_T_DEV_CMD,       /* dev/{id}/cmd */
	PC_T_DEV_CMD_ACK,   /* dev/{id}/cmd/ack */
	PC_T_OPS_CMD,       /* ops/dev/{id}/cmd */
	PC_T_OPS_CMD_STATE, /* ops/dev/{id}/cmd/state */
	PC_T_OPS_PRESENCE,  /* ops/dev/{id}/presence */
	PC_T_PUSH_RECO,     /* push/user/{id}/reco */
	PC_T_PUSH_PROFILE,  /* push/user/{id}/profile */
	PC_T_PUSH_SEGMENT,  /* push/segment/{id} */
	PC_T_PUSH_DEVICE,   /* push/device/{id} or push/device/{id}/{rest} */
	PC_T_MKT_CAMPAIGN,  /* mkt/campaign */
};

/* A parsed topic. Pointers point into the parsed string: valid while it is. */
struct pc_topic {
	enum pc_topic_kind kind;
	const char *id; /* the {id} part, NOT NUL-terminated; NULL for mkt/campaign */
	size_t id_len;
	const char *rest; /* PC_T_PUSH_DEVICE only: text after "push/device/{id}/", else NULL */
};

/*
 * pc_topic_parse - classify topic (NUL-terminated) under root.
 *  - PC_OK with out->kind set: a contract topic with a valid id.
 *  - PC_OK with out->kind == PC_T_NONE: the topic is outside the contract
 *    (another namespace, or an unknown suffix such as dev/{id}/foo).
 *  - PC_ERR_INVAL: the topic is in a contract namespace (dev/, ops/dev/,
 *    push/user/, push/segment/, push/device/) but its id is invalid; the
 *    detail says why. out->kind is PC_T_NONE.
 */
int pc_topic_parse(const char *root, const char *topic, struct pc_topic *out, char *err,
                   size_t errlen);

/*
 * pc_topic_build - write the topic of kind for id under root into buf
 * (NUL-terminated). id must pass pc_id_check (kind PC_T_MKT_CAMPAIGN takes
 * id == NULL); rest is used only by PC_T_PUSH_DEVICE and may be NULL.
 * Returns the topic length, PC_ERR_INVAL (bad kind, id or rest) or
 * PC_ERR_TOO_LONG (buf too small).
 */
int pc_topic_build(char *buf, size_t buflen, const char *root, enum pc_topic_kind kind,
                   const char *id, const char *rest);

/* pc_topic_kind_name - "dev/hb", "ops/presence", ... for logs; "none" for PC_T_NONE. */
const char *pc_topic_kind_name(enum pc_topic_kind kind);

#endif

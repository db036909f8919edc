/*
 * acl.h - topic ACLs from per-role templates, answered from memory.
 *
 * A role's template is a list of rules, each an access (read, write or
 * readwrite) and an MQTT topic filter that may contain %u (the client's
 * username) and %c (its client id), e.g.
 *
 *   write:dev/%u/hb write:dev/%u/data read:dev/%u/cmd read:push/device/%u/#
 *
 * A role may instead be the single word `superuser` (everything allowed).
 * Decisions (pc_acl_check) are pure:
 *   write        the topic matches a write rule;
 *   read         the topic matches a read rule (delivery of a message);
 *   subscribe    every topic the subscription filter can match is matched
 *                by one read rule (filter covered by the rule), after
 *                stripping a "$share/<group>/" prefix;
 *   unsubscribe  always allowed.
 * Wildcards in a rule never match a topic that starts with '$' at its
 * first level (MQTT 4.7.2). A rule whose %u or %c would expand to a
 * value containing '/', '+', '#', NUL or nothing at all does not apply.
 */
#ifndef PRECIS_ACL_H
#define PRECIS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The access kinds, with Mosquitto's MOSQ_ACL_* values. */
enum pc_acl_access {
	PC_ACL_READ = 0x01,
	PC_ACL_WRITE = 0x02,
	PC_ACL_SUBSCRIBE = 0x04,
	PC_ACL_UNSUBSCRIBE = 0x08,
};

/* One level of a rule, split at parse time (see acl.c). */
struct pc_acl_level {
	unsigned char kind; /* literal, '+', '#', %u, %c, or text mixed with %-tokens */
	uint16_t off, len;  /* the level's text in the rule's pattern */
};

struct pc_acl_rule {
	unsigned access; /* PC_ACL_READ and/or PC_ACL_WRITE */
	char *pattern;   /* owned */
	size_t nlevels;
	struct pc_acl_level *levels; /* owned */
};

struct pc_acl_role {
	bool superuser;
	size_t n;
	struct pc_acl_rule *rules; /* owned */
};

/*
 * pc_acl_parse - parse a template (rules separated by blanks; see above),
 * prefixing every pattern that does not start with '$' with root + "/"
 * when root is non-empty (root must be valid: pc_root_check). Returns
 * PC_OK; PC_ERR_INVAL with detail naming the bad rule (unknown access,
 * invalid filter, unknown %-token, empty template); or PC_ERR_NOMEM.
 * Release out with pc_acl_role_cleanup, also after a failure.
 */
int pc_acl_parse(const char *spec, const char *root, struct pc_acl_role *out, char *err,
                 size_t errlen);

/* pc_acl_role_cleanup - free the rules of r. */
void pc_acl_role_cleanup(struct pc_acl_role *r);

/*
 * pc_acl_check - whether role r lets the client (username, client_id;
 * either may be NULL, which makes rules using it inapplicable) have
 * access (one pc_acl_access) to topic (a topic for read and write, a
 * filter for subscribe and unsubscribe).
 */
bool pc_acl_check(const struct pc_acl_role *r, const char *username, const char *client_id,
                  const char *topic, int access);

/*
 * pc_topic_matches - whether topic (no wildcards) matches filter, by MQTT
 * rules (including '#' matching the parent level, and no wildcard match
 * of '$' topics at the first level).
 */
bool pc_topic_matches(const char *filter, const char *topic);

/*
 * pc_topic_match_plus - pc_topic_matches, and when it matches and the
 * filter has a '+' level, the topic level that the first '+' matched in
 * *plus / *plus_len (a span of topic, not NUL-terminated; plus may be
 * NULL). The store's filter=collection mapping takes the device id so.
 */
bool pc_topic_match_plus(const char *filter, const char *topic, const char **plus,
                         size_t *plus_len);

/*
 * pc_filter_covers - whether every topic that filter (a subscription,
 * wildcards allowed) can match is also matched by pattern.
 */
bool pc_filter_covers(const char *pattern, const char *filter);

/*
 * pc_filter_check - whether filter is a syntactically valid MQTT topic
 * filter: 1..PC_TOPIC_MAX bytes, '+' only as a whole level, '#' only as
 * the whole last level.
 */
bool pc_filter_check(const char *filter);

#endif

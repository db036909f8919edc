/*
 * device.h - what the `precisctl device` files share (device.c: the
 * subcommands; device_password.c: password sources, checks and hashes;
 * device_store.c: registry reads and writes; device_import.c: bulk import).
 * Every function prints its own error and returns an exit code (enum
 * ctl_exit).
 */
#ifndef PRECISCTL_DEVICE_H
#define PRECISCTL_DEVICE_H

#include "ctl.h"
#include "precis/registry.h"

/* Longest password accepted (bytes). */
#define DEV_PW_MAX 1024

/* Where a password comes from (see device_password.c). */
struct dev__pw {
	const char *given; /* --password */
	bool from_stdin;   /* --password-stdin */
	bool generate;     /* --generate */
};

/* A principal to write. */
struct dev__record {
	const char *id;
	enum pc_role role;
	bool enabled;
	const char *password_hash;
	const char *const *tags;
	size_t ntags;
	const char *meta_json; /* a JSON object, or NULL */
	bool existed;          /* out: an existing principal was replaced */
};

/*
 * Argument checks: CTL_OK, or CTL_USAGE after a message naming the argument.
 * dev__check_password says where pw came from (from: "--password" ...);
 * dev__check_pw_source refuses more than one password source; dev__check_meta
 * wants a JSON object with storable keys (as dev__record_bson stores it).
 */
int dev__check_id(const char *id);
int dev__check_password(const char *pw, const char *from);
int dev__check_pw_source(const struct dev__pw *src);
int dev__check_meta(const char *json);
int dev__parse_iterations(const char *s, int *out);

/*
 * dev__password - the password from src into buf (buflen bytes; prompting
 * when needed), checked with dev__check_password. CTL_OK, CTL_USAGE (empty,
 * too long, a control character, the two prompts differ) or CTL_ERR (no
 * /dev/urandom).
 */
int dev__password(const struct dev__pw *src, char *buf, size_t buflen);

/* dev__hash - $7$ hash of pw with iterations into hash (hashlen bytes); CTL_OK or CTL_ERR. */
int dev__hash(const char *pw, int iterations, char *hash, size_t hashlen);

/*
 * dev__record_bson - the registry document for r (created and updated set
 * to now, or created kept from old when old is non-NULL) into out.
 * CTL_USAGE when meta_json is not a JSON object with storable keys.
 */
int dev__record_bson(const struct dev__record *r, const bson_t *old, bson_t *out);

/*
 * dev__write - insert r; an existing principal is CTL_EXISTS unless force
 * (then replaced, keeping its created date; r->existed set). Logs the
 * change.
 */
int dev__write(struct ctl *c, struct dev__record *r, bool force);

/* dev__fetch - the document of id into *doc (caller destroys); CTL_NOTFOUND if absent. */
int dev__fetch(struct ctl *c, const char *id, bson_t *doc);

/* dev__exists - CTL_OK when id is in the registry, else CTL_NOTFOUND (or CTL_ERR). */
int dev__exists(struct ctl *c, const char *id);

/* dev__update - $set the fields of set (and updated = now) on id; logs the change. */
int dev__update(struct ctl *c, const char *id, const bson_t *set);

/* dev__remove - delete id; logs the change. CTL_NOTFOUND if absent. */
int dev__remove(struct ctl *c, const char *id);

/* dev__log_change - change-log records for ids[0..n). */
int dev__log_change(struct ctl *c, const char *const *ids, size_t n);

/* dev__now - append the current time as a BSON date under key. */
void dev__now(bson_t *b, const char *key);

/* dev__import - `device import` (device_import.c). */
int dev__import(struct ctl *c, int argc, char **argv);

#endif

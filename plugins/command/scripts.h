/*
 * scripts.h - the Lua scripts of the command lifecycle and how to call them.
 *
 * Every state change of a command is one script (one file per script in lua/, each with
 * lua/prelude.lua prepended at build time and embedded in the binary):
 * the plugin and precisctl run the very same text. Scripts are loaded
 * with SCRIPT LOAD and run with EVALSHA; a NOSCRIPT reply (Redis
 * restarted or SCRIPT FLUSH) reloads them all and runs the call again.
 * A struct command__call holds one call's arguments in the convention of
 * lua/prelude.lua, so it can be sent synchronously or in a pipeline.
 * Uses hiredis only; a context belongs to one thread.
 */
#ifndef PRECIS_COMMAND_SCRIPTS_H
#define PRECIS_COMMAND_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices.h"
#include "precis/topic.h"

struct redisContext;
struct redisReply;

enum command__script_id {
	COMMAND_S_ENQUEUE,
	COMMAND_S_CLAIM,
	COMMAND_S_ACK,
	COMMAND_S_SWEEP,
	COMMAND_S_CANCEL,
	COMMAND_S_ARCHIVED,
	COMMAND_NSCRIPTS
};

struct command__script {
	const char *name; /* "enqueue" ... */
	const char *src;  /* prelude + script, NUL-terminated */
	size_t len;
};

/* The embedded scripts, indexed by enum command__script_id (generated at build time). */
extern const struct command__script command__scripts[COMMAND_NSCRIPTS];

/* The SHA1s of the scripts as loaded on one connection. */
struct command__shas {
	char sha[COMMAND_NSCRIPTS][41];
	bool loaded;
};

/* The settings every call passes (ARGV[3..8] of lua/prelude.lua). */
struct command__script_env {
	const char *prefix;  /* key prefix, e.g. "precis:" */
	const char *channel; /* notice channel */
	const char *origin;  /* who runs the scripts, echoed in notices */
	int64_t view_max;    /* ready commands per view */
	int64_t log_max;     /* transitions kept per device */
	int64_t done_max;    /* finished commands kept per device */
	bool archive;        /* queue finished commands for MongoDB */
};

#define COMMAND_KEY_MAX       (256 + PC_ID_MAX + 16)
#define COMMAND_CALL_ARGS_MAX 48
#define COMMAND_CALL_NUMS     16

/* One script call being built; lives on the caller's stack, strings borrowed. */
struct command__call {
	enum command__script_id id;
	int argc;
	const char *argv[COMMAND_CALL_ARGS_MAX];
	size_t argvlen[COMMAND_CALL_ARGS_MAX];
	char key[COMMAND_KEY_MAX];
	char nums[COMMAND_CALL_NUMS][24];
	int nnums;
	bool overflow; /* too many arguments: the call is refused */
};

/*
 * command__key_base - "<prefix>{<dev>}:" into buf; returns its length or
 * PC_ERR_TOO_LONG. Every key of a device starts with it.
 */
int command__key_base(char *buf, size_t buflen, const char *prefix, const char *dev);

/*
 * command__scripts_load - SCRIPT LOAD every script on c into s. Returns
 * PC_OK, PC_ERR_IO (connection failed) or PC_ERR_BACKEND (Redis refused
 * a script), with detail.
 */
int command__scripts_load(struct redisContext *c, struct command__shas *s, char *err,
                          size_t errlen);

/*
 * command__call_init - start a call of script id for device dev, with the
 * common arguments from env; now_ms 0 lets the script read Redis's
 * clock. dev and env's strings must outlive the call.
 */
void command__call_init(struct command__call *c, enum command__script_id id,
                        const struct command__script_env *env, const char *dev, int64_t now_ms);

/* command__call_arg / _int - append the script's own arguments (strings are borrowed). */
void command__call_arg(struct command__call *c, const char *s, size_t len);
void command__call_str(struct command__call *c, const char *s);
void command__call_int(struct command__call *c, int64_t v);

/*
 * command__call_append - queue the call on c (a pipeline; read the reply
 * with redisGetReply). Returns PC_OK, PC_ERR_INVAL (too many arguments)
 * or PC_ERR_NOMEM.
 */
int command__call_append(struct redisContext *c, const struct command__shas *s,
                         struct command__call *call);

/*
 * command__call_run - run the call now and return its reply (free it with
 * freeReplyObject), reloading the scripts once on NOSCRIPT (*reloaded is
 * then set; may be NULL). Returns NULL with detail in (err, errlen) when
 * the connection failed; an error reply from the script is returned as a
 * reply.
 */
struct redisReply *command__call_run(struct redisContext *c, struct command__shas *s,
                                     struct command__call *call, bool *reloaded, char *err,
                                     size_t errlen);

/* command__reply_noscript - is r Redis's NOSCRIPT error (the script cache was emptied)? */
bool command__reply_noscript(const struct redisReply *r);

/* command__reply_outcome - the outcome string of a script reply ("ok", "full" ...), or NULL. */
const char *command__reply_outcome(const struct redisReply *r);

/*
 * command__reply_view - parse element 1 of a script reply (the view) into
 * v (heap copies, free with command__view_free). Returns PC_OK,
 * PC_ERR_INVAL (not shaped like a view) or PC_ERR_NOMEM; v is empty on
 * failure.
 */
int command__reply_view(const struct redisReply *r, struct command__view *v);

#endif

/*
 * cmd.h - what the two files of `precisctl cmd` share (cmd.c, cmd_show.c).
 */
#ifndef PRECISCTL_CMD_H
#define PRECISCTL_CMD_H

#include "ctl.h"
#include "protocol.h"
#include "scripts.h"

struct cmd_ctx {
	const char *prefix; /* Redis key prefix */
	char channel[300];  /* the scripts' notice channel */
	struct redisContext *redis;
	struct command__shas shas;
	struct command__script_env env;
	struct command__defaults def; /* the broker's, from <prefix>config */
	int64_t max_pending, done_max, log_max, deliver_max, archive;
	int64_t limit;    /* history --limit */
	bool transitions; /* history --transitions */
};

/*
 * cmd_run_script - run call on x's connection (NOSCRIPT reloads). Returns
 * CTL_OK with the reply in *out (the caller frees it), or CTL_ERR after
 * printing why (an error reply included).
 */
int cmd_run_script(struct cmd_ctx *x, struct command__call *call, struct redisReply **out);

/* cmd_split_id - the device of command id cid into dev (PC_ID_MAX + 1 bytes); CTL_USAGE if
 * malformed. */
int cmd_split_id(const char *cid, char *dev);

/* cmd_list / cmd_show / cmd_history - the read-only verbs (cmd_show.c); return exit codes. */
int cmd_list(struct ctl *c, struct cmd_ctx *x, const char *dev);
int cmd_show(struct ctl *c, struct cmd_ctx *x, const char *cid);
int cmd_history(struct ctl *c, struct cmd_ctx *x, const char *dev);

#endif

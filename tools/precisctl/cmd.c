/*
 * cmd.c - `precisctl cmd`: send, list, show, cancel and trace device commands.
 *
 *   precisctl cmd send DEVICE OP [ARGS-JSON] [--priority N] [--ttl D] [--timeout D]
 *                      [--attempts N] [--supersede KEY] [--delay D]
 *   precisctl cmd list DEVICE
 *   precisctl cmd show ID
 *   precisctl cmd cancel ID
 *   precisctl cmd history DEVICE [--limit N] [--transitions]
 *
 * send and cancel run the plugin's own Lua scripts (plugins/command/lua,
 * embedded in this binary too), with the defaults the plugin wrote to
 * <prefix>config, so a command sent here is exactly one the broker would
 * have enqueued; the broker learns of it from the script's notice. list,
 * show and history read Redis (and the MongoDB `commands` archive for
 * finished commands Redis no longer keeps); cmd_show.c prints them.
 * Exit codes: 0 ok, 1 backend failure or refusal (the device is full, the
 * command already finished), 2 usage, 3 no such command.
 */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cmd.h"
#include "precis/error.h"
#include "precis/options.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: precisctl cmd send DEVICE OP [ARGS-JSON] [--priority 0-9] [--ttl DURATION]\n"
	    "                          [--timeout DURATION] [--attempts N] [--supersede KEY]\n"
	    "                          [--delay DURATION]\n"
	    "       precisctl cmd list DEVICE          pending and in-flight commands\n"
	    "       precisctl cmd show ID              one command, with its history\n"
	    "       precisctl cmd cancel ID            withdraw a pending or in-flight command\n"
	    "       precisctl cmd history DEVICE [--limit N] [--transitions]\n"
	    "                                          finished commands (or transitions), newest "
	    "first\n"
	    "flags: --prefix P  Redis key prefix [PRECIS_REDIS_PREFIX] (precis:)\n"
	    "Durations take ms, s, m, h or d. Left-out fields take the broker's defaults.\n"
	    "exit codes: 0 ok, 1 backend failure or refused, 2 usage, 3 no such command\n");
}

/*
 * The broker's settings from <prefix>config on redis, or the plugin's
 * defaults where it never wrote them (redis NULL: only the defaults).
 */
static void load_settings(struct cmd_ctx *x, redisContext *redis)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
	    {"cmd_ttl", offsetof(struct cmd_ctx, def.ttl_ms)},
	    {"ack_timeout", offsetof(struct cmd_ctx, def.timeout_ms)},
	    {"max_attempts", offsetof(struct cmd_ctx, def.attempts)},
	    {"priority", offsetof(struct cmd_ctx, def.priority)},
	    {"max_pending", offsetof(struct cmd_ctx, max_pending)},
	    {"done_max", offsetof(struct cmd_ctx, done_max)},
	    {"log_max", offsetof(struct cmd_ctx, log_max)},
	    {"deliver_max", offsetof(struct cmd_ctx, deliver_max)},
	    {"archive", offsetof(struct cmd_ctx, archive)},
	};
	char key[300];
	redisReply *r;

	x->def = (struct command__defaults){86400000, 30000, 3, 5};
	x->max_pending = 100;
	x->done_max = 100;
	x->log_max = 1000;
	x->deliver_max = 10;
	x->archive = 1;
	snprintf(key, sizeof key, "%sconfig", x->prefix);
	r = redis ? redisCommand(redis, "HGETALL %s", key) : NULL;
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
			int64_t v;

			if (strcmp(r->element[i]->str, fields[k].name) == 0 &&
			    pc_parse_int(r->element[i + 1]->str, &v) == PC_OK)
				*(int64_t *)((char *)x + fields[k].off) = v;
		}
	if (r)
		freeReplyObject(r);
	x->env =
	    (struct command__script_env){x->prefix,  x->channel,  "precisctl",    x->deliver_max,
	                                 x->log_max, x->done_max, x->archive != 0};
}

static int open_redis(struct ctl *c, struct cmd_ctx *x)
{
	x->redis = ctl_redis(c);
	if (!x->redis)
		return CTL_ERR;
	snprintf(x->channel, sizeof x->channel, "%snotices", x->prefix);
	load_settings(x, x->redis);
	return CTL_OK;
}

int cmd_run_script(struct cmd_ctx *x, struct command__call *call, redisReply **out)
{
	char err[512];

	*out = command__call_run(x->redis, &x->shas, call, NULL, err, sizeof err);
	if (!*out)
		return ctl_error(CTL_ERR, "redis: %s", err);
	if ((*out)->type == REDIS_REPLY_ERROR) {
		ctl_error(CTL_ERR, "redis: %s", (*out)->str);
		freeReplyObject(*out);
		*out = NULL;
		return CTL_ERR;
	}
	return CTL_OK;
}

static int dur_flag(const char *name, const char *s, int64_t *out)
{
	if (pc_parse_duration_ms(s, out) != PC_OK)
		return ctl_error(CTL_USAGE, "%s: '%s' is not a duration", name, s);
	return CTL_OK;
}

static int int_flag(const char *name, const char *s, int64_t *out)
{
	if (pc_parse_int(s, out) != PC_OK)
		return ctl_error(CTL_USAGE, "%s: '%s' is not an integer", name, s);
	return CTL_OK;
}

/* r's fields from the flags given (non-NULL), the others from def. */
static void apply_defaults(struct command__request *r, const struct command__defaults *def,
                           const int64_t *prio, const int64_t *ttl, const int64_t *timeout,
                           const int64_t *attempts)
{
	r->priority = prio ? *prio : def->priority;
	r->ttl_ms = ttl ? *ttl : def->ttl_ms;
	r->timeout_ms = timeout ? *timeout : def->timeout_ms;
	r->attempts = attempts ? *attempts : def->attempts;
}

/* The arguments of send: DEVICE OP [ARGS-JSON], into r, all checked. */
static int check_send(int argc, char **argv, struct command__request *r)
{
	char err[256];

	if (argc < 2 || argc > 3)
		return ctl_error(CTL_USAGE, "cmd send: DEVICE OP [ARGS-JSON]");
	if (pc_id_check(argv[0], strlen(argv[0]), err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "cmd send: device '%s': %s", argv[0], err);
	if (snprintf(r->op, sizeof r->op, "%s", argv[1]) >= (int)sizeof r->op)
		return ctl_error(CTL_USAGE, "cmd send: OP is longer than %d bytes", COMMAND_OP_MAX);
	r->args = argc == 3 ? argv[2] : "{}";
	r->args_len = strlen(r->args);
	if (command__request_check(r, err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "cmd send: %s", err);
	return CTL_OK;
}

static int send_cmd(struct ctl *c, struct cmd_ctx *x, const char *dev, struct command__request *r)
{
	char cid[COMMAND_CID_MAX + 1];
	const char *outcome;
	struct command__call call;
	redisReply *rep;
	uint64_t rnd = 0;
	int rc;

	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (uint64_t)ctl_now_ms() * 2654435761u;
	command__cid_make(cid, sizeof cid, ctl_now_ms(), rnd, dev);
	command__call_init(&call, COMMAND_S_ENQUEUE, &x->env, dev, 0);
	command__call_str(&call, cid);
	command__call_str(&call, r->op);
	command__call_str(&call, r->args);
	command__call_int(&call, r->priority);
	command__call_int(&call, r->delay_ms);
	command__call_int(&call, r->ttl_ms);
	command__call_int(&call, r->timeout_ms);
	command__call_int(&call, r->attempts);
	command__call_str(&call, r->supersede);
	command__call_int(&call, x->max_pending);
	if ((rc = cmd_run_script(x, &call, &rep)) != CTL_OK)
		return rc;
	outcome = command__reply_outcome(rep);
	if (outcome && strcmp(outcome, "full") == 0) {
		freeReplyObject(rep);
		return ctl_error(CTL_ERR,
		                 "device %s already has %lld commands pending or in flight", dev,
		                 (long long)x->max_pending);
	}
	if (!outcome || strcmp(outcome, "ok") != 0) {
		freeReplyObject(rep);
		return ctl_error(CTL_ERR, "enqueue refused: %s", outcome ? outcome : "bad reply");
	}
	if (c->json) {
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&doc, "id", cid);
		BSON_APPEND_UTF8(&doc, "device", dev);
		BSON_APPEND_UTF8(&doc, "op", r->op);
		BSON_APPEND_UTF8(&doc, "state", "pending");
		if (rep->elements >= 3 && rep->element[2]->len)
			BSON_APPEND_UTF8(&doc, "superseded", rep->element[2]->str);
		ctl_print_json(&doc);
		bson_destroy(&doc);
	} else {
		printf("%s\n", cid);
		if (rep->elements >= 3 && rep->element[2]->len)
			fprintf(stderr, "precisctl: superseded %s\n", rep->element[2]->str);
	}
	freeReplyObject(rep);
	return CTL_OK;
}

static int cancel(struct ctl *c, struct cmd_ctx *x, const char *cid)
{
	char dev[PC_ID_MAX + 1];
	struct command__call call;
	const char *outcome, *state = "";
	redisReply *rep;
	int rc;

	if ((rc = cmd_split_id(cid, dev)) != CTL_OK)
		return rc;
	command__call_init(&call, COMMAND_S_CANCEL, &x->env, dev, 0);
	command__call_str(&call, cid);
	command__call_str(&call, "precisctl");
	if ((rc = cmd_run_script(x, &call, &rep)) != CTL_OK)
		return rc;
	outcome = command__reply_outcome(rep);
	if (rep->elements >= 3 && rep->element[2]->type == REDIS_REPLY_STRING)
		state = rep->element[2]->str;
	if (outcome && strcmp(outcome, "ok") == 0)
		rc = CTL_OK;
	else if (outcome && strcmp(outcome, "final") == 0)
		rc = strcmp(state, "canceled") == 0
		         ? CTL_OK
		         : ctl_error(CTL_ERR, "cannot cancel %s: it is %s already", cid, state);
	else
		rc = ctl_error(CTL_NOTFOUND, "no command %s in Redis", cid);
	if (rc == CTL_OK && c->json) {
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&doc, "id", cid);
		BSON_APPEND_UTF8(&doc, "state", "canceled");
		BSON_APPEND_UTF8(&doc, "was", state);
		ctl_print_json(&doc);
		bson_destroy(&doc);
	} else if (rc == CTL_OK) {
		printf("%s canceled (was %s)\n", cid, state);
	}
	freeReplyObject(rep);
	return rc;
}

int cmd_split_id(const char *cid, char *dev)
{
	const char *d;
	size_t len;

	if (command__cid_split(cid, strlen(cid), &d, &len) != PC_OK)
		return ctl_error(CTL_USAGE, "'%s' is not a command id (<token>@<device>)", cid);
	memcpy(dev, d, len);
	dev[len] = '\0';
	return CTL_OK;
}

/* The numeric flags: send's fields and history's --limit. */
enum { F_PRIO, F_TTL, F_TIMEOUT, F_ATTEMPTS, F_DELAY, F_LIMIT, NFLAGS };

static const struct {
	const char *name; /* without the dashes */
	bool duration;    /* else an integer */
} flag_defs[NFLAGS] = {
    {"priority", false}, {"ttl", true},   {"timeout", true},
    {"attempts", false}, {"delay", true}, {"limit", false},
};

int ctl_cmd(struct ctl *c, int argc, char **argv)
{
	enum { O_SUPERSEDE = 300, O_TRANS, O_PREFIX };
	struct option longopts[NFLAGS + 5];
	struct cmd_ctx x;
	struct command__request r;
	struct {
		bool set;
		int64_t v;
	} f[NFLAGS] = {{false, 0}};
	const char *verb, *env = getenv("PRECIS_REDIS_PREFIX");
	int opt, rc;

	for (int i = 0; i < NFLAGS; i++)
		longopts[i] = (struct option){flag_defs[i].name, required_argument, NULL, 256 + i};
	longopts[NFLAGS] = (struct option){"supersede", required_argument, NULL, O_SUPERSEDE};
	longopts[NFLAGS + 1] = (struct option){"transitions", no_argument, NULL, O_TRANS};
	longopts[NFLAGS + 2] = (struct option){"prefix", required_argument, NULL, O_PREFIX};
	longopts[NFLAGS + 3] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[NFLAGS + 4] = (struct option){NULL, 0, NULL, 0};
	memset(&x, 0, sizeof x);
	memset(&r, 0, sizeof r);
	x.prefix = env && *env ? env : "precis:";
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	verb = argv[1];
	while ((opt = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		char name[32];

		rc = CTL_OK;
		if (opt >= 256 && opt < 256 + NFLAGS) {
			int i = opt - 256;

			snprintf(name, sizeof name, "--%s", flag_defs[i].name);
			f[i].set = true;
			rc = flag_defs[i].duration ? dur_flag(name, optarg, &f[i].v)
			                           : int_flag(name, optarg, &f[i].v);
		} else if (opt == O_SUPERSEDE) {
			if (snprintf(r.supersede, sizeof r.supersede, "%s", optarg) >=
			    (int)sizeof r.supersede)
				rc = ctl_error(CTL_USAGE, "--supersede: longer than %d bytes",
				               COMMAND_SKEY_MAX);
		} else if (opt == O_TRANS) {
			x.transitions = true;
		} else if (opt == O_PREFIX) {
			x.prefix = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return CTL_OK;
		} else {
			usage(stderr);
			return CTL_USAGE;
		}
		if (rc != CTL_OK)
			return rc;
	}
	argc -= optind + 1;
	argv += optind + 1;
	x.limit = f[F_LIMIT].set ? f[F_LIMIT].v : 20;
	if (x.limit < 1 || x.limit > 100000)
		return ctl_error(CTL_USAGE, "--limit: must be in 1..100000");
	if (strcmp(verb, "send") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 &&
	    strcmp(verb, "cancel") != 0 && strcmp(verb, "history") != 0) {
		usage(stderr);
		return ctl_error(CTL_USAGE, "cmd: unknown verb '%s'", verb);
	}
	if (strcmp(verb, "send") != 0 && argc != 1)
		return ctl_error(CTL_USAGE, "cmd %s takes one argument", verb);
	if (strcmp(verb, "send") == 0) {
		/* Arguments first, with the built-in defaults: a usage error needs no Redis. */
		load_settings(&x, NULL);
		r.delay_ms = f[F_DELAY].set ? f[F_DELAY].v : 0;
		apply_defaults(&r, &x.def, f[F_PRIO].set ? &f[F_PRIO].v : NULL,
		               f[F_TTL].set ? &f[F_TTL].v : NULL,
		               f[F_TIMEOUT].set ? &f[F_TIMEOUT].v : NULL,
		               f[F_ATTEMPTS].set ? &f[F_ATTEMPTS].v : NULL);
		if ((rc = check_send(argc, argv, &r)) != CTL_OK)
			return rc;
	}
	if ((rc = open_redis(c, &x)) != CTL_OK)
		return rc;
	if (strcmp(verb, "send") == 0) {
		/* What the flags leave out comes from the broker's settings. */
		apply_defaults(&r, &x.def, f[F_PRIO].set ? &f[F_PRIO].v : NULL,
		               f[F_TTL].set ? &f[F_TTL].v : NULL,
		               f[F_TIMEOUT].set ? &f[F_TIMEOUT].v : NULL,
		               f[F_ATTEMPTS].set ? &f[F_ATTEMPTS].v : NULL);
		return send_cmd(c, &x, argv[0], &r);
	}
	if (strcmp(verb, "cancel") == 0)
		return cancel(c, &x, argv[0]);
	if (strcmp(verb, "list") == 0)
		return cmd_list(c, &x, argv[0]);
	if (strcmp(verb, "show") == 0)
		return cmd_show(c, &x, argv[0]);
	return cmd_history(c, &x, argv[0]);
}

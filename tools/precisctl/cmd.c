/*
 * cmd.c - `precisctl cmd`: send, list, show, cancel and trace device commands.
 *
 *   precisctl cmd send DEVICE OP [ARGS-JSON] [--priority N] [--ttl D] [--timeout D]
 *                      [--attempts N] [--supersede KEY] [--delay D] [--force]
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
 * send refuses a DEVICE that is not a registered device (a typo would
 * otherwise queue a command nobody ever fetches) unless --force. Each verb
 * takes only its own flags (help.c has their help). Exit codes: 0 ok, 1
 * backend failure or refusal (the device is full, the command already
 * finished), 2 usage, 3 no such command or device.
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
#include "precis/registry.h"

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

/* Whether dev is a registered device: CTL_OK, or the exit code after saying why. */
static int check_device(struct ctl *c, const char *dev)
{
	struct pc_principal_rec rec;
	mongoc_client_t *m = ctl_mongo(c);
	char err[512];
	int rc;

	if (!m)
		return ctl_error(CTL_ERR,
		                 "cmd send: cannot check that '%s' is a registered device "
		                 "(--force sends without checking)",
		                 dev);
	rc = pc_registry_find(m, c->mongo_db, dev, &rec, err, sizeof err);
	if (rc == PC_ERR_EMPTY)
		return ctl_error(CTL_NOTFOUND,
		                 "cmd send: no device '%s' in the registry (precisctl device add "
		                 "registers it; --force sends anyway)",
		                 dev);
	if (rc == PC_OK && rec.role != PC_ROLE_DEVICE)
		return ctl_error(CTL_NOTFOUND,
		                 "cmd send: '%s' is registered with role %s, not as a device "
		                 "(--force sends anyway)",
		                 dev, pc_role_name(rec.role));
	if (rc != PC_OK)
		return ctl_error(CTL_ERR,
		                 "cmd send: cannot check '%s' in the registry: %s (--force "
		                 "sends without checking)",
		                 dev, err);
	return CTL_OK;
}

/* The numeric flags: send's fields and history's --limit. */
enum { F_PRIO, F_TTL, F_TIMEOUT, F_ATTEMPTS, F_DELAY, F_LIMIT, NFLAGS };

static const struct {
	const char *name; /* without the dashes */
	bool duration;    /* else an integer */
	int64_t lo, hi;
	const char *range; /* lo..hi as the help writes it */
} flag_defs[NFLAGS] = {
    {"priority", false, 0, COMMAND_PRIO_MAX, "0..9"},
    {"ttl", true, COMMAND_TTL_MIN, COMMAND_TTL_MAX, "100ms..30d"},
    {"timeout", true, COMMAND_TIMEOUT_MIN, COMMAND_TIMEOUT_MAX, "100ms..1h"},
    {"attempts", false, 1, COMMAND_ATTEMPTS_MAX, "1..100"},
    {"delay", true, 0, COMMAND_DELAY_MAX, "0..30d"},
    {"limit", false, 1, 100000, "1..100000"},
};

enum { O_SUPERSEDE = 300, O_TRANS, O_PREFIX, O_FORCE };

/* The verbs: which flags each takes, how many operands. */
static const struct verb {
	const char *name;
	unsigned nums; /* bit i: flag_defs[i] */
	bool send;     /* --supersede, --force */
	bool history;  /* --transitions */
	int min_args, max_args;
} verbs[] = {
    {"send",
     (1u << F_PRIO) | (1u << F_TTL) | (1u << F_TIMEOUT) | (1u << F_ATTEMPTS) | (1u << F_DELAY),
     true, false, 2, 3},
    {"list", 0, false, false, 1, 1},
    {"show", 0, false, false, 1, 1},
    {"cancel", 0, false, false, 1, 1},
    {"history", 1u << F_LIMIT, false, true, 1, 1},
};

/* The value of numeric flag i into *out, or a usage error naming the flag and its range. */
static int num_flag(int i, const char *s, int64_t *out)
{
	int rc = flag_defs[i].duration ? pc_parse_duration_ms(s, out) : pc_parse_int(s, out);

	if (rc != PC_OK || *out < flag_defs[i].lo || *out > flag_defs[i].hi)
		return ctl_error(CTL_USAGE, "--%s: '%s' is not %s in %s", flag_defs[i].name, s,
		                 flag_defs[i].duration ? "a duration" : "an integer",
		                 flag_defs[i].range);
	return CTL_OK;
}

int ctl_cmd(struct ctl *c, int argc, char **argv)
{
	struct option longopts[NFLAGS + 6];
	const struct verb *v = NULL;
	struct cmd_ctx x;
	struct command__request r;
	struct {
		bool set;
		int64_t v;
	} f[NFLAGS] = {{false, 0}};
	const char *env = getenv("PRECIS_REDIS_PREFIX");
	bool force = false;
	int opt, rc, stop, n = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		ctl_usage(argc < 2 ? stderr : stdout, "cmd", NULL);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			v = &verbs[i];
	if (!v)
		return ctl_error(
		    CTL_USAGE, "cmd: unknown subcommand '%s' (see precisctl cmd --help)", argv[1]);
	for (int i = 0; i < NFLAGS; i++)
		if (v->nums & (1u << i))
			longopts[n++] =
			    (struct option){flag_defs[i].name, required_argument, NULL, 256 + i};
	if (v->send) {
		longopts[n++] = (struct option){"supersede", required_argument, NULL, O_SUPERSEDE};
		longopts[n++] = (struct option){"force", no_argument, NULL, O_FORCE};
	}
	if (v->history)
		longopts[n++] = (struct option){"transitions", no_argument, NULL, O_TRANS};
	longopts[n++] = (struct option){"prefix", required_argument, NULL, O_PREFIX};
	longopts[n++] = (struct option)CTL_HELP_OPTION;
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	memset(&x, 0, sizeof x);
	memset(&r, 0, sizeof r);
	x.prefix = env && *env ? env : "precis:";
	argc--;
	argv++;
	optind = 0;
	while ((opt = ctl_flag(argc, argv, longopts, "cmd", v->name, &stop)) != -1) {
		rc = CTL_OK;
		if (opt >= 256 && opt < 256 + NFLAGS) {
			f[opt - 256].set = true;
			rc = num_flag(opt - 256, optarg, &f[opt - 256].v);
		} else if (opt == O_SUPERSEDE) {
			if (snprintf(r.supersede, sizeof r.supersede, "%s", optarg) >=
			    (int)sizeof r.supersede)
				rc = ctl_error(CTL_USAGE, "--supersede: longer than %d bytes",
				               COMMAND_SKEY_MAX);
		} else if (opt == O_TRANS) {
			x.transitions = true;
		} else if (opt == O_FORCE) {
			force = true;
		} else if (opt == O_PREFIX) {
			if (!*optarg)
				rc =
				    ctl_error(CTL_USAGE, "--prefix: empty (the broker's default is "
				                         "precis:)");
			x.prefix = optarg;
		}
		if (rc != CTL_OK)
			return rc;
	}
	if (stop != CTL_CONTINUE)
		return stop;
	argc -= optind;
	argv += optind;
	if (argc < v->min_args || argc > v->max_args)
		return ctl_error(CTL_USAGE, "cmd %s: expected %s (see --help)", v->name,
		                 v->send ? "DEVICE OP [ARGS-JSON]"
		                 : strcmp(v->name, "list") == 0 || v->history ? "one DEVICE"
		                                                              : "one command ID");
	x.limit = f[F_LIMIT].set ? f[F_LIMIT].v : 20;
	if (v->send) {
		/* Arguments first, with the built-in defaults: a usage error needs no backend. */
		load_settings(&x, NULL);
		r.delay_ms = f[F_DELAY].set ? f[F_DELAY].v : 0;
		apply_defaults(&r, &x.def, f[F_PRIO].set ? &f[F_PRIO].v : NULL,
		               f[F_TTL].set ? &f[F_TTL].v : NULL,
		               f[F_TIMEOUT].set ? &f[F_TIMEOUT].v : NULL,
		               f[F_ATTEMPTS].set ? &f[F_ATTEMPTS].v : NULL);
		if ((rc = check_send(argc, argv, &r)) != CTL_OK)
			return rc;
		if (!force && (rc = check_device(c, argv[0])) != CTL_OK)
			return rc;
	}
	if ((rc = open_redis(c, &x)) != CTL_OK)
		return rc;
	if (v->send) {
		/* What the flags leave out comes from the broker's settings. */
		apply_defaults(&r, &x.def, f[F_PRIO].set ? &f[F_PRIO].v : NULL,
		               f[F_TTL].set ? &f[F_TTL].v : NULL,
		               f[F_TIMEOUT].set ? &f[F_TIMEOUT].v : NULL,
		               f[F_ATTEMPTS].set ? &f[F_ATTEMPTS].v : NULL);
		return send_cmd(c, &x, argv[0], &r);
	}
	if (strcmp(v->name, "cancel") == 0)
		return cancel(c, &x, argv[0]);
	if (strcmp(v->name, "list") == 0)
		return cmd_list(c, &x, argv[0]);
	if (strcmp(v->name, "show") == 0)
		return cmd_show(c, &x, argv[0]);
	return cmd_history(c, &x, argv[0]);
}

/*
 * help.c - the help of every precisctl command and subcommand, and the
 * flag loop they all share.
 *
 * One table holds each command's and subcommand's usage line, summary and
 * flags, so `--help` at any level prints from the same place and a usage
 * error can point at the right text; docs/precisctl.1 documents the same
 * things and tests/docs/check_man_pages.py checks that every subcommand and
 * flag shown here is in it. ctl_flag wraps getopt_long so that --help works
 * everywhere and every bad flag is reported naming itself.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct help {
	const char *cmd, *sub; /* sub NULL: the command itself */
	const char *args;      /* what follows "precisctl [global flags] cmd [sub]" */
	const char *summary;
	const char *flags; /* flag lines ("  --flag VALUE   what it does\n"), or NULL */
};

#define PASSWORD_FLAGS                                                                             \
	"  --password PW        the password (visible to other users in the process list)\n"       \
	"  --password-stdin     read the password as one line from standard input\n"               \
	"  --generate           a random password of 24 characters, printed once\n"                \
	"                       (none of the three: prompt twice on the terminal)\n"               \
	"  --iterations N       PBKDF2 rounds of the $7$ hash, 1..10000000 (101)\n"

#define PREFIX_FLAG "  --prefix P           Redis key prefix [PRECIS_REDIS_PREFIX] (precis:)\n"

static const struct help helps[] = {
    {"device", NULL, "<subcommand> [args]",
     "the principal registry: add, list, show, enable, disable, passwd, role, rm, import\n\n"
     "The registry is the MongoDB collection `devices` that precis_auth checks every\n"
     "login against. Every write appends a change-log record; brokers act on it within a\n"
     "second (disable, passwd, role and rm disconnect the principal's clients).\n"
     "Roles: device, app, ops, bridge, admin.",
     NULL},
    {"device", "add", "ID --role ROLE [PASSWORD] [--tag T]... [--meta JSON] [--disabled] [--force]",
     "register a principal\n\n"
     "An existing ID is refused (exit 4) unless --force, which replaces it and keeps\n"
     "its created date.",
     "  --role ROLE          device, app, ops, bridge or admin (required)\n"
     "  --tag T              a tag (repeatable, at most 64)\n"
     "  --meta JSON          a JSON object stored as the principal's metadata\n"
     "  --disabled           register it disabled (it cannot log in)\n"
     "  --force              replace an existing principal\n" PASSWORD_FLAGS},
    {"device", "list", "[--role ROLE] [--enabled | --disabled] [--tag T]",
     "list principals (password hashes are never printed)",
     "  --role ROLE          only principals with this role\n"
     "  --enabled            only enabled principals\n"
     "  --disabled           only disabled principals\n"
     "  --tag T              only principals with this tag\n"},
    {"device", "show", "ID", "print one principal, its hash shown as scheme and iterations", NULL},
    {"device", "enable", "ID", "let a disabled principal log in again", NULL},
    {"device", "disable", "ID", "refuse a principal's logins and disconnect its clients", NULL},
    {"device", "passwd", "ID [PASSWORD]", "set a new password (its clients are disconnected)",
     PASSWORD_FLAGS},
    {"device", "role", "ID ROLE", "change the role (device, app, ops, bridge, admin)", NULL},
    {"device", "rm", "ID", "remove a principal (its clients are disconnected)", NULL},
    {"device", "import", "FILE|- [--format csv|jsonl] [--force] [--iterations N] [--progress]",
     "add many principals from a CSV or JSON-lines file\n\n"
     "CSV has a header row naming the columns id, role, password or password_hash,\n"
     "and optionally tags (separated by ';') and enabled. JSON lines carry the same\n"
     "keys, tags as an array, and meta. password_hash is taken as is. Bad lines are\n"
     "reported by number and skipped (exit 5); existing ids are skipped unless --force.",
     "  --format F           csv or jsonl (default: from the file name or first line)\n"
     "  --force              replace principals that exist\n"
     "  --iterations N       PBKDF2 rounds of the $7$ hashes made, 1..10000000 (101)\n"
     "  --progress           report progress on standard error (default: when it is\n"
     "                       a terminal)\n"},
    {"cmd", NULL, "<subcommand> [args]",
     "send, list, show, cancel device commands; their history\n\n"
     "Device commands live in Redis; send and cancel run the command plugin's own\n"
     "scripts with the defaults the broker wrote there; finished commands are also\n"
     "read from the MongoDB archive.\n"
     "Durations take ms, s, m, h or d. Exit codes: 0 ok, 1 backend failure or\n"
     "refused, 2 usage, 3 no such command or device.",
     NULL},
    {"cmd", "send", "DEVICE OP [ARGS-JSON] [flags]",
     "queue a command for a device\n\n"
     "Queues command OP (with ARGS-JSON, an object; default {}) for DEVICE and prints\n"
     "its id. DEVICE must be in the registry (exit 3 otherwise) unless --force.\n"
     "Fields left out take the broker's defaults.",
     "  --priority N         0..9, 9 delivered first\n"
     "  --ttl D              drop it when not delivered within D (100ms..30d)\n"
     "  --timeout D          ack timeout of each delivery (100ms..1h)\n"
     "  --attempts N         deliveries at most (1..100)\n"
     "  --delay D            deliver no sooner than D from now (0..30d)\n"
     "  --supersede KEY      replace a pending command with the same KEY\n"
     "  --force              send even when DEVICE is not a registered device\n" PREFIX_FLAG},
    {"cmd", "list", "DEVICE", "pending and in-flight commands of a device", PREFIX_FLAG},
    {"cmd", "show", "ID", "one command with its history (from Redis, else the archive)",
     PREFIX_FLAG},
    {"cmd", "cancel", "ID", "withdraw a pending or in-flight command", PREFIX_FLAG},
    {"cmd", "history", "DEVICE [--limit N] [--transitions]",
     "finished commands of a device (or its transitions), newest first",
     "  --limit N            at most N (1..100000, default 20)\n"
     "  --transitions        the state transitions instead, newest first\n" PREFIX_FLAG},
    {"data", NULL, "DEVICE [--from T] [--to T] [--collection NAME] [--slot D] [--limit N]",
     "a device's stored samples in time order, as JSON lines\n\n"
     "One JSON object per sample: {\"t\": ms, \"i\": id, \"d\": payload}. T is milliseconds since "
     "the epoch or\n"
     "ISO-8601 (2026-11-23T09:30:00Z); the range is [from, to).",
     "  --from T             first time included (default: 24 h before --to)\n"
     "  --to T               first time excluded (default: now)\n"
     "  --collection NAME    bucket collection (telemetry; events for dev/+/evt)\n"
     "  --slot D             read buckets by _id, knowing the store's slot length\n"
     "                       (e.g. 1h); 0 (default): one range query\n"
     "  --limit N            stop after N samples (default: all)\n"},
    {"ping", NULL, "[mongo] [redis]",
     "check that MongoDB and Redis answer\n\n"
     "Connects to each named backend (both by default) and reports the round trip;\n"
     "exit 1 when one does not answer.",
     NULL},
};

#define NHELPS (sizeof helps / sizeof helps[0])

static const struct help *find(const char *cmd, const char *sub)
{
	for (size_t i = 0; i < NHELPS; i++)
		if (strcmp(helps[i].cmd, cmd) == 0 &&
		    (sub ? helps[i].sub && strcmp(helps[i].sub, sub) == 0 : !helps[i].sub))
			return &helps[i];
	return NULL;
}

void ctl_main_usage(FILE *f)
{
	fprintf(f, "usage: precisctl [global flags] <command> ...\n"
	           "       precisctl --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < NHELPS; i++)
		if (!helps[i].sub)
			fprintf(f, "  %-10s %.*s\n", helps[i].cmd,
			        (int)strcspn(helps[i].summary, "\n"), helps[i].summary);
	fprintf(f,
	        "\n"
	        "global flags (environment in brackets):\n"
	        "  --mongo-uri URI      MongoDB connection string [PRECIS_MONGO_URI, MONGO_URI]\n"
	        "                       (default mongodb://127.0.0.1:27017)\n"
	        "  --mongo-db NAME      database of the precis collections [PRECIS_MONGO_DB] "
	        "(precis)\n"
	        "  --redis-host HOST    Redis host [PRECIS_REDIS_HOST] (127.0.0.1)\n"
	        "  --redis-port PORT    Redis port [PRECIS_REDIS_PORT] (6379)\n"
	        "  --redis-db N         Redis database [PRECIS_REDIS_DB] (0)\n"
	        "  --redis-password PW  Redis password [PRECIS_REDIS_PASSWORD]\n"
	        "  --timeout DURATION   connect and round-trip timeout, 1ms..10m (5s)\n"
	        "  --json               machine-readable output: one JSON object per line\n"
	        "  -h, --help           this help; `precisctl <command> --help` for a command\n"
	        "  --version            the version of precisctl\n"
	        "\n"
	        "exit codes: 0 ok, 1 backend or I/O failure, 2 usage, 3 not found,\n"
	        "            4 already exists, 5 some items of a batch failed\n");
}

bool ctl_usage(FILE *f, const char *cmd, const char *sub)
{
	const struct help *h = find(cmd, sub);
	bool subs = false;

	if (!h)
		return false;
	fprintf(f, "usage: precisctl [global flags] %s%s%s %s\n\n%s\n", cmd, sub ? " " : "",
	        sub ? sub : "", h->args, h->summary);
	for (size_t i = 0; !sub && i < NHELPS; i++) {
		if (strcmp(helps[i].cmd, cmd) != 0 || !helps[i].sub)
			continue;
		if (!subs)
			fprintf(f, "\nsubcommands:\n");
		subs = true;
		fprintf(f, "  %-10s %.*s\n", helps[i].sub, (int)strcspn(helps[i].summary, "\n"),
		        helps[i].summary);
	}
	fprintf(f, "\nflags:\n%s  -h, --help           this help\n", h->flags ? h->flags : "");
	if (subs)
		fprintf(f, "\n`precisctl %s <subcommand> --help` for one of them.\n", cmd);
	return true;
}

/* The flag as typed: argv's token up to any '='. */
static void typed_flag(const char *tok, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s", (int)strcspn(tok, "="), tok);
}

/* Whether name ("--json") is one of precisctl's global flags. */
static bool is_global(const char *name)
{
	if (strncmp(name, "--", 2) != 0)
		return false;
	for (const struct option *o = ctl_global_options; o->name; o++)
		if (strcmp(name + 2, o->name) == 0)
			return true;
	return false;
}

int ctl_flag(int argc, char **argv, const struct option *opts, const char *cmd, const char *sub,
             int *stop)
{
	char name[64], who[64];
	int opt;

	*stop = CTL_CONTINUE;
	opterr = 0;
	opt = getopt_long(argc, argv, cmd ? ":h" : "+:h", opts, NULL);
	if (opt == -1)
		return -1;
	snprintf(who, sizeof who, "%s%s%s", cmd ? cmd : "", sub ? " " : "", sub ? sub : "");
	if (opt == 'h') {
		if (cmd)
			ctl_usage(stdout, cmd, sub);
		else
			ctl_main_usage(stdout);
		*stop = CTL_OK;
		return -1;
	}
	if (opt != ':' && opt != '?')
		return opt;
	if (strncmp(argv[optind - 1], "--", 2) == 0)
		typed_flag(argv[optind - 1], name, sizeof name);
	else
		snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
	if (opt == ':')
		ctl_error(CTL_USAGE, "%s%s%s needs a value", who, *who ? ": " : "", name);
	else if (strchr(argv[optind - 1], '=') && optopt)
		ctl_error(CTL_USAGE, "%s%s%s takes no value", who, *who ? ": " : "", name);
	else if (cmd && is_global(name))
		ctl_error(CTL_USAGE,
		          "%s: %s is a global flag: give it before the command (precisctl %s %s)",
		          who, name, name, cmd);
	else
		ctl_error(CTL_USAGE, "%s%sunknown flag '%s' (see precisctl %s%s--help)", who,
		          *who ? ": " : "", name, who, *who ? " " : "");
	*stop = CTL_USAGE;
	return -1;
}

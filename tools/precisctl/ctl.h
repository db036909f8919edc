/*
 * ctl.h - what every precisctl subcommand shares.
 *
 * precisctl is the ops command line: one file per subcommand (device.c,
 * cmd.c, data.c ...), each exporting one entry point listed in main.c's
 * table. main.c parses the global flags into a struct ctl; a subcommand
 * opens MongoDB or Redis through ctl_mongo / ctl_redis only when it needs
 * them, prints results as text or, with --json, one JSON object per line,
 * and returns one of the exit codes below.
 */
#ifndef PRECISCTL_CTL_H
#define PRECISCTL_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include "precis/mongo_conn.h"
#include "precis/redis_conn.h"

/* Exit codes, the same for every subcommand (documented in precisctl --help). */
enum ctl_exit {
	CTL_OK = 0,       /* done */
	CTL_ERR = 1,      /* a backend or I/O failure */
	CTL_USAGE = 2,    /* bad arguments */
	CTL_NOTFOUND = 3, /* the named object does not exist */
	CTL_EXISTS = 4,   /* it already exists (add without --force) */
	CTL_PARTIAL = 5,  /* some items of a batch failed (import) */
};

/* ctl_flag's *stop when parsing goes on. */
#define CTL_CONTINUE (-1)

struct ctl {
	/* Global flags (main.c). */
	const char *mongo_uri;
	const char *mongo_db;
	const char *redis_host;
	int redis_port;
	int redis_db;
	const char *redis_password;
	int64_t timeout_ms;
	bool json;

	/* Connections, opened on first use and closed by ctl_close. */
	struct pc_mongo_conn mongo;
	bool mongo_open;
	struct pc_redis_conn redis;
	bool redis_open;
};

/* A subcommand: run(c, argc, argv) with argv[0] its own name. */
struct ctl_command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
};

/* The row every subcommand's getopt table has before its {NULL} end. */
#define CTL_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* The global flags (main.c), ending with an all-NULL row. */
extern const struct option ctl_global_options[];

/* ctl_main_usage - precisctl's own help (commands, global flags, exit codes) on f. */
void ctl_main_usage(FILE *f);

/*
 * ctl_usage - the help of `precisctl cmd [sub]` (sub NULL: the command's,
 * listing its subcommands) on f, from help.c's table. Returns false, printing
 * nothing, when there is no such command or subcommand.
 */
bool ctl_usage(FILE *f, const char *cmd, const char *sub);

/*
 * ctl_flag - the next flag of argv (getopt_long with opts, which must include
 * CTL_HELP_OPTION; argv[0] is the subcommand's name, and optind was set to 0
 * before the first call). Returns the flag's val, or -1 once the flags end;
 * *stop is then CTL_CONTINUE, or the exit code the caller must return at once:
 * CTL_OK after --help or -h printed ctl_usage(cmd, sub) on stdout (cmd NULL:
 * ctl_main_usage), CTL_USAGE after an unknown flag, a missing value or a value
 * given to a flag that takes none was reported naming the flag (a global flag
 * given after the command is reported as such). cmd NULL also
 * stops at the first argument that is not a flag (the global flags).
 */
int ctl_flag(int argc, char **argv, const struct option *opts, const char *cmd, const char *sub,
             int *stop);

/*
 * ctl_mongo - the MongoDB client, connected (and pinged) on first use
 * within --timeout. Returns NULL after printing why on stderr; the client
 * stays owned by c. ctl_db is the configured database on it.
 */
mongoc_client_t *ctl_mongo(struct ctl *c);

/* ctl_collection - collection name of the configured database; NULL after an error. Caller destroys
 * it. */
mongoc_collection_t *ctl_collection(struct ctl *c, const char *name);

/*
 * ctl_redis - the Redis connection (AUTH, SELECT, PING done) on first use.
 * Returns the hiredis context (a struct redisContext *) or NULL after
 * printing why. Owned by c.
 */
struct redisContext *ctl_redis(struct ctl *c);

/* ctl_close - close whatever ctl_mongo / ctl_redis opened. */
void ctl_close(struct ctl *c);

/* ctl_error - print "precisctl: <message>" on stderr; returns code for `return ctl_error(...)`. */
int ctl_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ctl_print_json - write doc as one line of relaxed extended JSON to stdout. */
void ctl_print_json(const bson_t *doc);

/* ctl_now_ms - wall-clock milliseconds since the epoch. */
int64_t ctl_now_ms(void);

/* Subcommands (one file each), listed in main.c. */
int ctl_device(struct ctl *c, int argc, char **argv);
int ctl_ping(struct ctl *c, int argc, char **argv);
int ctl_cmd(struct ctl *c, int argc, char **argv);
int ctl_data(struct ctl *c, int argc, char **argv);

#endif

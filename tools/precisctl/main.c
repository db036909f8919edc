/*
 * main.c - precisctl: global flags, the subcommand table, help.
 *
 *   precisctl [global flags] <command> <subcommand> [args]
 *
 * Global flags come before the command; each can also come from the
 * environment (flag wins). Connections open only when a subcommand needs
 * them (conn.c). The help texts are in help.c. Exit codes: enum ctl_exit in
 * ctl.h. PRECIS_VERSION (--version) comes from CMake's project version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "precis/error.h"
#include "precis/options.h"

static const struct ctl_command commands[] = {
    {"device", ctl_device},
    {"ping", ctl_ping},
    {"cmd", ctl_cmd},
    {"data", ctl_data},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The global flags (ctl.h): also what ctl_flag recognises when one comes after the command. */
enum {
	O_MONGO_URI = 256,
	O_MONGO_DB,
	O_REDIS_HOST,
	O_REDIS_PORT,
	O_REDIS_DB,
	O_REDIS_PW,
	O_TIMEOUT,
	O_JSON,
	O_VERSION
};

const struct option ctl_global_options[] = {
    {"mongo-uri", required_argument, NULL, O_MONGO_URI},
    {"mongo-db", required_argument, NULL, O_MONGO_DB},
    {"redis-host", required_argument, NULL, O_REDIS_HOST},
    {"redis-port", required_argument, NULL, O_REDIS_PORT},
    {"redis-db", required_argument, NULL, O_REDIS_DB},
    {"redis-password", required_argument, NULL, O_REDIS_PW},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"json", no_argument, NULL, O_JSON},
    {"version", no_argument, NULL, O_VERSION},
    CTL_HELP_OPTION,
    {NULL, 0, NULL, 0},
};

static const char *env_or(const char *a, const char *b, const char *def)
{
	const char *v = getenv(a);

	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : def;
}

static int parse_int_flag(const char *name, const char *s, int lo, int hi, int *out)
{
	int64_t v;

	if (pc_parse_int(s, &v) != PC_OK || v < lo || v > hi)
		return ctl_error(CTL_USAGE, "%s: '%s' is not an integer in %d..%d", name, s, lo,
		                 hi);
	*out = (int)v;
	return CTL_OK;
}

int main(int argc, char **argv)
{
	struct ctl c;
	const char *port = env_or("PRECIS_REDIS_PORT", NULL, "6379");
	const char *db = env_or("PRECIS_REDIS_DB", NULL, "0");
	int opt, rc, stop;

	memset(&c, 0, sizeof c);
	c.mongo_uri = env_or("PRECIS_MONGO_URI", "MONGO_URI", "mongodb://127.0.0.1:27017");
	c.mongo_db = env_or("PRECIS_MONGO_DB", NULL, "precis");
	c.redis_host = env_or("PRECIS_REDIS_HOST", NULL, "127.0.0.1");
	c.redis_password = env_or("PRECIS_REDIS_PASSWORD", NULL, NULL);
	c.timeout_ms = 5000;

	while ((opt = ctl_flag(argc, argv, ctl_global_options, NULL, NULL, &stop)) != -1) {
		switch (opt) {
		case O_MONGO_URI:
			c.mongo_uri = optarg;
			break;
		case O_MONGO_DB:
			c.mongo_db = optarg;
			break;
		case O_REDIS_HOST:
			c.redis_host = optarg;
			break;
		case O_REDIS_PORT:
			port = optarg;
			break;
		case O_REDIS_DB:
			db = optarg;
			break;
		case O_REDIS_PW:
			c.redis_password = optarg;
			break;
		case O_TIMEOUT:
			if (pc_parse_duration_ms(optarg, &c.timeout_ms) != PC_OK ||
			    c.timeout_ms < 1 || c.timeout_ms > 600000)
				return ctl_error(CTL_USAGE,
				                 "--timeout: '%s' is not a duration in 1ms..10m",
				                 optarg);
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_VERSION:
			printf("precisctl (precis) %s\n", PRECIS_VERSION);
			return CTL_OK;
		}
	}
	if (stop != CTL_CONTINUE)
		return stop;
	if ((rc = parse_int_flag("--redis-port", port, 1, 65535, &c.redis_port)) != CTL_OK ||
	    (rc = parse_int_flag("--redis-db", db, 0, 65535, &c.redis_db)) != CTL_OK)
		return rc;
	if (optind >= argc) {
		ctl_main_usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int argc2 = argc - optind;
			char **argv2 = argv + optind;

			optind = 0; /* reset getopt for the subcommand (GNU: 0 reinitialises) */
			rc = commands[i].run(&c, argc2, argv2);
			ctl_close(&c);
			return rc;
		}
	}
	return ctl_error(CTL_USAGE, "unknown command '%s' (see precisctl --help)", argv[optind]);
}

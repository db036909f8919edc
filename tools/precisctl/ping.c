/*
 * ping.c - `precisctl ping [mongo] [redis]`: do the backends answer?
 *
 * Connects to each named backend (both by default) with the global flags
 * and reports the round trip. Exit 0 when all answer, 1 otherwise.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void report(struct ctl *c, const char *name, const char *where, bool ok, double ms)
{
	if (c->json) {
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&doc, "backend", name);
		BSON_APPEND_UTF8(&doc, "at", where);
		BSON_APPEND_BOOL(&doc, "ok", ok);
		if (ok)
			BSON_APPEND_DOUBLE(&doc, "ms", ms);
		ctl_print_json(&doc);
		bson_destroy(&doc);
	} else if (ok) {
		printf("%-6s %s ok (%.2f ms)\n", name, where, ms);
	} else {
		printf("%-6s %s FAILED\n", name, where);
	}
}

int ctl_ping(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	bool mongo = false, redis = false, ok = true;
	double t0;
	int stop;

	while (ctl_flag(argc, argv, opts, "ping", NULL, &stop) != -1)
		;
	if (stop != CTL_CONTINUE)
		return stop;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "mongo") == 0)
			mongo = true;
		else if (strcmp(argv[i], "redis") == 0)
			redis = true;
		else
			return ctl_error(CTL_USAGE, "ping: unknown backend '%s' (mongo, redis)",
			                 argv[i]);
	}
	if (!mongo && !redis)
		mongo = redis = true;
	if (mongo) {
		t0 = mono_ms();
		bool up = ctl_mongo(c) != NULL;
		report(c, "mongo", up ? c->mongo.where : c->mongo_uri, up, mono_ms() - t0);
		ok = ok && up;
	}
	if (redis) {
		t0 = mono_ms();
		bool up = ctl_redis(c) != NULL;
		char where[300];

		snprintf(where, sizeof where, "%s:%d/%d", c->redis_host, c->redis_port,
		         c->redis_db);
		report(c, "redis", where, up, mono_ms() - t0);
		ok = ok && up;
	}
	return ok ? CTL_OK : CTL_ERR;
}

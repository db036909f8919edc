/*
 * main.c - precis-bridge: flags, config file, signals and the main loop.
 *
 *   precis-bridge [-c FILE] [--key value ...]     the daemon (foreground)
 *   precis-bridge eval --ratings FILE ...         offline evaluation (eval.c)
 *   precis-bridge --help | --version              the keys, their defaults
 *
 * -c/--config, -h/--help and --version may come anywhere among the
 * `--key value` flags (take_own_flags); the rest go to br_config_load.
 * PRECIS_VERSION comes from CMake's project version.
 *
 * The daemon logs to stderr. SIGTERM or SIGINT: stop taking messages,
 * publish the counters, write what MongoDB still has to get (bounded),
 * disconnect, exit 0. SIGHUP: read the file and flags again and apply the
 * model, weights, intervals, segments and experiments; a change of a
 * connection key is refused with a log line (restart for those). The main
 * thread owns the engine: it waits on the inbox queue (filled by paho's
 * thread) until a message arrives or the engine's next deadline, so the
 * signal handlers only set flags.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "eval.h"
#include "history.h"
#include "mqtt.h"
#include "precis/clock.h"
#include "precis/error.h"
#include "precis/mongo_conn.h"
#include "store.h"

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = sig;
}

static void help(void)
{
	size_t k;
	char flag[64];

	printf("usage: precis-bridge [-c FILE] [--KEY VALUE ...]\n"
	       "       precis-bridge eval --ratings FILE [flags]\n"
	       "       precis-bridge --help | --version\n\n"
	       "The recommendation daemon: runs in the foreground, logs to stderr; SIGHUP\n"
	       "reloads, SIGTERM stops. Every KEY can be given in the file (KEY = VALUE, with\n"
	       "'_' as here) or as a flag (--KEY VALUE, '-' or '_'); flags win.\n\n"
	       "commands:\n"
	       "  eval                 offline evaluation of a recommender on a ratings file\n\n"
	       "flags:\n"
	       "  -c, --config FILE    read KEY = VALUE lines from FILE\n"
	       "  -h, --help           this help\n"
	       "  --version            the version of precis-bridge\n\n"
	       "keys (flag, default, meaning; docs/bridge.md has the details):\n");
	for (k = 0; k < br_config_ndefs; k++) {
		const char *d = br_config_defs[k].def;
		size_t i;

		snprintf(flag, sizeof flag, "--%s VALUE", br_config_defs[k].key);
		for (i = 2; flag[i] != ' '; i++)
			flag[i] = flag[i] == '_' ? '-' : flag[i];
		printf("  %-28s %-26s %s\n", flag, d && *d ? d : "(empty)", br_config_defs[k].help);
	}
	printf("  %-28s %-26s %s\n", "--segment.ID RULE", "",
	       "a segment rule, e.g. rfm.r >= 4 && tag:toys");
	printf("  %-28s %-26s %s\n", "--experiment.ID VARIANTS", "",
	       "variants, e.g. A=user_knn:50 B=popular:50");
}

/*
 * Take -c/--config FILE, -h/--help and --version out of argv[1..argc),
 * keeping the `--key value` pairs (in order) in rest. Returns -1 to go on,
 * or the exit code: 0 after the help or the version, 2 after a message.
 */
static int take_own_flags(int argc, char **argv, const char **path, char **rest, int *nrest)
{
	int i;

	*nrest = 0;
	for (i = 1; i < argc; i++) {
		const char *f = argv[i];

		if (strcmp(f, "-h") == 0 || strcmp(f, "--help") == 0) {
			help();
			return 0;
		}
		if (strcmp(f, "--version") == 0) {
			printf("precis-bridge (precis) %s\n", PRECIS_VERSION);
			return 0;
		}
		if (strcmp(f, "-c") == 0 || strcmp(f, "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "precis-bridge: %s needs a FILE\n", f);
				return 2;
			}
			if (*path) {
				fprintf(stderr, "precis-bridge: %s given twice\n", f);
				return 2;
			}
			*path = argv[++i];
			continue;
		}
		rest[(*nrest)++] = argv[i];
		/* A flag's value is kept as it is, even when it looks like a flag. */
		if (strncmp(f, "--", 2) == 0 && i + 1 < argc)
			rest[(*nrest)++] = argv[++i];
	}
	return -1;
}

struct app {
	struct br_config
	    base; /* the start-up configuration: mqtt.c and store.c keep pointers into it */
	struct br_config *cfg; /* the one in force (the engine's): &base or a reloaded copy */
	struct br_mqtt *mqtt;
	struct br_store *store;
	struct pc_queue *inbox;
	struct br_engine eng;
	struct pc_logger log;
};

static int out_publish(void *arg, const char *topic, const char *payload, size_t len, int qos,
                       bool retain)
{
	struct app *a = arg;

	return br_mqtt_publish(a->mqtt, topic, payload, len, qos, retain);
}

static int out_store(void *arg, const char *coll, const char *id, const char *json, size_t len)
{
	struct app *a = arg;

	return a->store ? br_store_put(a->store, coll, id, json, len) : 0;
}

static void io_counters(struct app *a)
{
	struct br_io_counters *io = &a->eng.io;

	br_mqtt_stats(a->mqtt, &io->mqtt);
	io->mqtt_up = br_mqtt_connected(a->mqtt);
	io->mongo_enabled = a->store != NULL;
	if (a->store)
		br_store_stats(a->store, &io->store);
}

static void handle(struct app *a, struct br_msg *m, int64_t now)
{
	switch (m->kind) {
	case BR_MSG_EVENT:
		br_engine_event(&a->eng, m->device, m->payload, m->len, now, false);
		break;
	case BR_MSG_CAMPAIGN:
		br_engine_campaign(&a->eng, m->payload, m->len, now);
		break;
	case BR_MSG_OPTOUT:
		br_engine_optout(&a->eng, m->payload, m->len, now);
		break;
	}
	free(m);
}

static void drop_config(struct app *a, struct br_config *c)
{
	if (c && c != &a->base) {
		br_config_cleanup(c);
		free(c);
	}
}

static void reload(struct app *a, const char *path, int argc, char **argv)
{
	struct br_config *next = calloc(1, sizeof *next), *old = a->cfg;
	const char *key;
	char err[1024];

	if (!next)
		return;
	if (br_config_load(next, path, argc, argv, err, sizeof err) != PC_OK) {
		pc_log(&a->log, PC_LOG_ERR, "reload refused: %s", err);
	} else if (!br_config_reloadable(&a->base, next, &key)) {
		pc_log(&a->log, PC_LOG_ERR, "reload refused: %s changed (restart to change it)",
		       key);
	} else if (br_engine_reload(&a->eng, next, err, sizeof err) != PC_OK) {
		pc_log(&a->log, PC_LOG_ERR, "reload refused: %s", err);
	} else {
		a->cfg = next;
		a->log.min_level = (enum pc_log_level)next->log_level;
		pc_log(&a->log, PC_LOG_NOTICE,
		       "configuration reloaded (%zu segments, %zu experiments)", next->nsegments,
		       next->nexperiments);
		drop_config(a, old);
		return;
	}
	br_config_cleanup(next);
	free(next);
}

static void load_history(struct app *a, int64_t start)
{
	struct br_history_stats st;
	char err[512];
	int64_t t0 = pc_wall_ms();

	pc_log(&a->log, PC_LOG_INFO, "history: reading events of the last %lld s",
	       (long long)(a->cfg->history_window_ms / 1000));
	if (br_history_load(a->cfg, &a->eng, start - a->cfg->history_window_ms, start, &a->log, &st,
	                    err, sizeof err) != PC_OK) {
		pc_log(&a->log, PC_LOG_WARNING,
		       "history: not loaded (%s); starting from live events", err);
		return;
	}
	pc_log(&a->log, PC_LOG_NOTICE,
	       "history: %llu events from %llu devices in %.1f s (%llu refused, %llu skipped)",
	       (unsigned long long)st.events, (unsigned long long)st.devices,
	       (double)(pc_wall_ms() - t0) / 1000, (unsigned long long)st.refused,
	       (unsigned long long)st.skipped);
	br_engine_refresh_all(&a->eng, pc_wall_ms());
}

static void run(struct app *a, const char *path, int argc, char **argv)
{
	int64_t next = 0, mqtt_next;

	while (!stop_signal) {
		int64_t now = pc_wall_ms(), wait;
		struct br_msg *m;
		int k;

		if (reload_signal) {
			reload_signal = 0;
			reload(a, path, argc, argv);
		}
		mqtt_next = br_mqtt_maintain(a->mqtt, now);
		wait = (next < mqtt_next ? next : mqtt_next) - now;
		wait = wait < 0 ? 0 : wait > 100 ? 100 : wait; /* signals are seen within 100 ms */
		if ((m = pc_queue_pop_wait(a->inbox, wait)) != NULL) {
			now = pc_wall_ms();
			handle(a, m, now);
			for (k = 0; k < 1000 && (m = pc_queue_pop(a->inbox)); k++)
				handle(a, m, now);
		}
		io_counters(a);
		next = br_engine_tick(&a->eng, pc_wall_ms(), 500);
	}
}

int main(int argc, char **argv)
{
	static struct app a;
	struct sigaction sa;
	struct br_out out = {&a, out_publish, out_store};
	const char *path = NULL;
	char err[1024], **flags;
	int nflags, rc = 1;
	int64_t start;
	struct br_msg *m;

	if (argc > 1 && strcmp(argv[1], "eval") == 0)
		return br_eval_main(argc - 1, argv + 1);
	/* The flags stay for SIGHUP reloads: flags lives as long as the process. */
	if (!(flags = calloc((size_t)argc, sizeof *flags))) {
		fprintf(stderr, "precis-bridge: out of memory\n");
		return 1;
	}
	if ((rc = take_own_flags(argc, argv, &path, flags, &nflags)) != -1) {
		free(flags);
		return rc;
	}
	rc = 1;
	a.log = (struct pc_logger){pc_log_stderr_sink, NULL, PC_LOG_INFO, "precis-bridge"};
	if (br_config_load(&a.base, path, nflags, flags, err, sizeof err) != PC_OK) {
		fprintf(stderr, "precis-bridge: %s (see precis-bridge --help)\n", err);
		br_config_cleanup(&a.base);
		free(flags);
		return 2;
	}
	a.cfg = &a.base;
	a.log.min_level = (enum pc_log_level)a.base.log_level;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	start = pc_wall_ms();
	if (br_engine_init(&a.eng, a.cfg, &out, &a.log, start, err, sizeof err) != PC_OK) {
		fprintf(stderr, "precis-bridge: %s\n", err);
		goto out;
	}
	if (!(a.inbox = pc_queue_new(65536))) {
		fprintf(stderr, "precis-bridge: out of memory\n");
		goto out;
	}
	if (a.cfg->mongo) {
		pc_mongo_global_init();
		if (!(a.store = br_store_new(a.cfg, &a.log, err, sizeof err))) {
			fprintf(stderr, "precis-bridge: %s\n", err);
			goto out;
		}
	}
	if (!(a.mqtt = br_mqtt_new(a.cfg, a.inbox, &a.log, err, sizeof err))) {
		fprintf(stderr, "precis-bridge: %s\n", err);
		goto out;
	}
	pc_log(&a.log, PC_LOG_NOTICE, "starting: algo %s, similarity %s, k %lld, MongoDB %s",
	       br_algo_name((enum br_algo)a.cfg->algo), br_sim_name((enum br_sim)a.cfg->similarity),
	       (long long)a.cfg->k, a.cfg->mongo ? a.cfg->mongo_db : "off");
	br_mqtt_maintain(a.mqtt,
	                 start); /* subscribe first: live events queue during the history read */
	if (a.cfg->mongo && a.cfg->history)
		load_history(&a, start);
	run(&a, path, nflags, flags);
	pc_log(&a.log, PC_LOG_NOTICE, "stopping (signal %d)", (int)stop_signal);
	io_counters(&a);
	br_engine_publish_stats(&a.eng, pc_wall_ms());
	rc = 0;
out:
	br_mqtt_free(a.mqtt, 2000);
	while (a.inbox && (m = pc_queue_pop(a.inbox)))
		free(m);
	pc_queue_free(a.inbox);
	br_store_free(a.store, a.base.connect_timeout_ms * 2);
	br_engine_cleanup(&a.eng);
	drop_config(&a, a.cfg);
	br_config_cleanup(&a.base);
	free(flags);
	return rc;
}

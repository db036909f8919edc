/*
 * base.h - what every precis plugin shares: the glue to Mosquitto 2.0.
 *
 *  - Logging: a pc_logger usable from any thread. On the broker thread a
 *    line goes straight to mosquitto_log_printf; on any other thread it is
 *    queued and written by the next TICK (mosquitto_* calls are not
 *    thread-safe, see docs/mosquitto-2.0-plugin-api.md).
 *  - Options: struct mosquitto_opt -> pc_opts_parse, with a log line that
 *    names the bad option and a Mosquitto error that stops the broker.
 *  - Callbacks: one table drives both register and unregister.
 *  - Backends: a supervisor thread per backend, started on the first TICK,
 *    and a retained "up"/"down" on $SYS/broker/precis/<plugin>/<backend>
 *    published from TICK whenever its state changes.
 *
 * Everything here runs on the broker thread unless a comment says otherwise.
 */
#ifndef PRECIS_PLUGIN_BASE_H
#define PRECIS_PLUGIN_BASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* mosquitto_broker.h must precede mosquitto_plugin.h on 2.0.11. */
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>

#include "precis/log.h"
#include "precis/options.h"
#include "precis/queue.h"
#include "precis/supervisor.h"

#define PB_EXPORT __attribute__((visibility("default")))

/* Capacity of the queue of log lines from worker threads. */
#define PB_LOG_QUEUE_CAP 1024

struct pb_plugin {
	const char *name;       /* "precis_command": log prefix; static storage */
	const char *short_name; /* "command": $SYS topic part; static storage */
	mosquitto_plugin_id_t *pid;
	struct pc_logger log; /* use from any thread */
	struct pc_queue *logq;
	pthread_t broker_thread;
	uint64_t log_dropped; /* worker lines lost to a full queue (approximate) */
};

/*
 * A backend the plugin keeps connected, and what was last published about
 * it. Its supervisor thread starts on the first TICK, not in init: when a
 * later plugin's init fails, Mosquitto 2.0 exits without calling the
 * cleanup of the plugins already loaded, and a thread still talking to its
 * backend would then race the process's exit handlers.
 */
struct pb_backend {
	const struct pc_backend_ops *ops; /* ops->kind names it in logs and $SYS topics */
	void *conn;
	struct pc_supervisor_config cfg;
	bool started;
	struct pc_supervisor *sup;
	int published; /* last state published, -1 = none yet */
};

struct pb_callback {
	int event;
	MOSQ_FUNC_generic_callback fn;
};

/* Options every backend shares, embedded in each plugin's config struct. */
struct pb_backend_opts {
	int64_t connect_timeout_ms;
	int64_t reconnect_min_ms;
	int64_t reconnect_max_ms;
	int64_t check_interval_ms;
};

/* Table rows for struct pb_backend_opts, placed at member M of config type T. */
// clang-format off
#define PB_BACKEND_OPT_DEFS(T, M) \
	{"connect_timeout", PC_OPT_DURATION, offsetof(T, M.connect_timeout_ms), "2s", 10, 600000, \
	 NULL, "timeout for connecting to the backend and for each round trip"}, \
	{"reconnect_min", PC_OPT_DURATION, offsetof(T, M.reconnect_min_ms), "100ms", 1, 3600000, \
	 NULL, "first retry delay after the backend fails (doubles per failure)"}, \
	{"reconnect_max", PC_OPT_DURATION, offsetof(T, M.reconnect_max_ms), "30s", 1, 3600000, \
	 NULL, "longest retry delay"}, \
	{"check_interval", PC_OPT_DURATION, offsetof(T, M.check_interval_ms), "5s", 100, 3600000, \
	 NULL, "how often a connected backend is pinged"}
// clang-format on

/* MongoDB options shared by the plugins that use MongoDB. */
struct pb_mongo_opts {
	char *uri;
	char *db;
};

/* Table rows for struct pb_mongo_opts at member M of config type T. */
// clang-format off
#define PB_MONGO_OPT_DEFS(T, M) \
	{"mongo_uri", PC_OPT_STRING, offsetof(T, M.uri), "mongodb://127.0.0.1:27017", 1, 4096, \
	 NULL, "MongoDB connection string"}, \
	{"mongo_db", PC_OPT_STRING, offsetof(T, M.db), "precis", 1, 63, \
	 NULL, "MongoDB database holding the precis collections"}
// clang-format on

/* A counter's $SYS name (under $SYS/broker/precis/<short_name>/) and its atomic. */
struct pb_stat {
	const char *name; /* e.g. "logins/ok"; static storage */
	atomic_uint_fast64_t *value;
};

/* The publication state of a counter table (see plugins/base/stats.c). */
struct pb_stats {
	const struct pb_stat *rows;
	size_t n;
	int64_t interval_ms;
	int64_t next_ms; /* monotonic time of the next publication */
	uint64_t *last;  /* value last published, per row */
	bool *published; /* whether a row was ever published */
};

/* Option row for a stats interval, an int64_t of milliseconds at member M of config type T. */
// clang-format off
#define PB_STATS_OPT_DEF(T, M) \
	{"stats_interval", PC_OPT_DURATION, offsetof(T, M), "10s", 100, 3600000, \
	 NULL, "how often changed counters are published on $SYS/broker/precis/..."}
// clang-format on

/*
 * pb_plugin_version - the body of mosquitto_plugin_version: 5 when the
 * broker offers plugin API v5, else -1.
 */
int pb_plugin_version(int supported_version_count, const int *supported_versions);

/* pb_plugin_cleanup - write any queued log lines and free the queue. Broker thread. */
void pb_plugin_cleanup(struct pb_plugin *p);

/*
 * pb_tick - write log lines queued by workers. Call from the plugin's TICK;
 * costs one relaxed atomic load when nothing is queued.
 */
void pb_tick(struct pb_plugin *p);

/*
 * pb_plugin_setup - the common start of mosquitto_plugin_init: set up
 * logging for p (name, e.g. "precis_command", and short_name, e.g.
 * "command", are static strings), refuse a plugin the broker attached to
 * one listener (per_listener_settings true: Mosquitto 2.0 never sends it
 * TICK), then parse the options into conf with the table defs
 * (pc_opts_parse), then check that bo (conf's backend options, NULL if none) has reconnect_min <=
 * reconnect_max. Errors are logged naming the option (or per_listener_settings); the return
 * value is MOSQ_ERR_SUCCESS, MOSQ_ERR_NOT_SUPPORTED (per_listener_settings), MOSQ_ERR_INVAL
 * (Mosquitto then refuses to start) or MOSQ_ERR_NOMEM. Call pb_plugin_cleanup and pc_opts_free
 * either way.
 */
int pb_plugin_setup(struct pb_plugin *p, mosquitto_plugin_id_t *pid, const char *name,
                    const char *short_name, const struct pc_opt_def *defs, size_t ndefs,
                    const struct mosquitto_opt *opts, int opt_count, void *conf,
                    const struct pb_backend_opts *bo);

/*
 * pb_callbacks_register - register every row of table with userdata. On a
 * failure, unregisters what was registered, logs, and returns the error.
 */
int pb_callbacks_register(struct pb_plugin *p, const struct pb_callback *table, size_t n,
                          void *userdata);

/* pb_callbacks_unregister - unregister every row of table (errors ignored). */
void pb_callbacks_unregister(struct pb_plugin *p, const struct pb_callback *table, size_t n);

/*
 * pb_backend_init - describe the backend b will keep connected: conn
 * through ops, with options o. Nothing starts yet (see struct pb_backend);
 * pb_backend_tick starts it. conn must outlive the backend.
 */
void pb_backend_init(struct pb_backend *b, const struct pc_backend_ops *ops, void *conn,
                     const struct pb_backend_opts *o, const char *thread_name);

/*
 * pb_backend_set_work - have b's supervisor thread also run work(arg, ...)
 * (see pc_work_fn in supervisor.h). Call after pb_backend_init and before
 * the first TICK. arg must outlive the backend.
 */
void pb_backend_set_work(struct pb_backend *b, pc_work_fn work, void *arg);

/*
 * pb_backend_wake - ask b's work function to run soon (pc_supervisor_wake).
 * Broker thread (b->sup is set there); does nothing before the first TICK.
 */
void pb_backend_wake(struct pb_backend *b);

/*
 * pb_backend_up - whether b's supervisor runs and last found the backend up
 * (false before the first TICK). Any thread.
 */
bool pb_backend_up(const struct pb_backend *b);

/*
 * pb_stats_init - prepare s to publish rows[0..n) every interval_ms. rows
 * and the atomics they point to must outlive s. Returns PC_OK or
 * PC_ERR_NOMEM. Release with pb_stats_cleanup, also after a failure.
 */
int pb_stats_init(struct pb_stats *s, const struct pb_stat *rows, size_t n, int64_t interval_ms);

/* pb_stats_cleanup - free what pb_stats_init allocated. */
void pb_stats_cleanup(struct pb_stats *s);

/*
 * pb_stats_tick - from TICK: once per interval, publish retained on
 * $SYS/broker/precis/<short>/<name> every counter that changed since it
 * was last published (all of them the first time). Broker thread.
 */
void pb_stats_tick(struct pb_plugin *p, struct pb_stats *s);

/* pb_stats_tick_at - pb_stats_tick with the caller's CLOCK_MONOTONIC reading in ms. */
void pb_stats_tick_at(struct pb_plugin *p, struct pb_stats *s, int64_t now_ms);

/* pb_stats_flush - publish changed counters now, whatever the interval. Broker thread. */
void pb_stats_flush(struct pb_plugin *p, struct pb_stats *s);

/* pb_count - add n to a counter; any thread (relaxed atomic). */
static inline void pb_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

struct pc_mongo_conn;

/*
 * pb_mongo_init - validate o into conn (pc_mongo_conn_init; a bad URI is
 * logged naming plugin_opt_mongo_uri) and pb_backend_init b for it. conn
 * must outlive the backend. Returns MOSQ_ERR_SUCCESS or MOSQ_ERR_INVAL,
 * logged. Release conn with pc_mongo_conn_cleanup after pb_backend_stop,
 * also on failure.
 */
int pb_mongo_init(struct pb_plugin *p, struct pb_backend *b, struct pc_mongo_conn *conn,
                  const struct pb_mongo_opts *o, const struct pb_backend_opts *bo,
                  const char *thread_name);

/*
 * pb_backend_halt - stop and join the supervisor if it runs, keeping it
 * allocated (pc_supervisor_halt) until pb_backend_stop.
 */
void pb_backend_halt(struct pb_backend *b);

/* pb_backend_stop - stop and join the supervisor if it runs, and free it. */
void pb_backend_stop(struct pb_backend *b);

/*
 * pb_backend_tick - from TICK: start the supervisor on the first call;
 * afterwards, when the backend's state changed since the last call,
 * publish it retained on $SYS/broker/precis/<short>/<kind> ("up"/"down").
 * Costs one atomic load when nothing changed.
 */
void pb_backend_tick(struct pb_plugin *p, struct pb_backend *b);

#endif

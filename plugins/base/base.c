/*
 * base.c - glue between libprecis and the Mosquitto 2.0 plugin API.
 *
 * Shared by precis_auth, precis_command and precis_store (linked statically
 * into each; hidden visibility, so the copies never meet). See base.h for
 * the threading rules this file enforces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "precis/error.h"

struct log_line {
	enum pc_log_level level;
	char text[];
};

static int mosq_level(enum pc_log_level level)
{
	switch (level) {
	case PC_LOG_DEBUG:
		return MOSQ_LOG_DEBUG;
	case PC_LOG_INFO:
		return MOSQ_LOG_INFO;
	case PC_LOG_NOTICE:
		return MOSQ_LOG_NOTICE;
	case PC_LOG_WARNING:
		return MOSQ_LOG_WARNING;
	case PC_LOG_ERR:
		break;
	}
	return MOSQ_LOG_ERR;
}

/* The sink: direct on the broker thread, queued elsewhere. */
static void plugin_sink(void *userdata, enum pc_log_level level, const char *line)
{
	struct pb_plugin *p = userdata;
	struct log_line *l;
	size_t n;

	if (pthread_equal(pthread_self(), p->broker_thread)) {
		mosquitto_log_printf(mosq_level(level), "%s", line);
		return;
	}
	n = strlen(line);
	l = malloc(sizeof *l + n + 1);
	if (!l) {
		__atomic_add_fetch(&p->log_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	l->level = level;
	memcpy(l->text, line, n + 1);
	if (pc_queue_push(p->logq, l) != PC_OK) {
		free(l);
		__atomic_add_fetch(&p->log_dropped, 1, __ATOMIC_RELAXED);
	}
}

int pb_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5)
			return 5;
	}
	return -1;
}

static int plugin_init(struct pb_plugin *p, mosquitto_plugin_id_t *pid, const char *name,
                       const char *short_name)
{
	memset(p, 0, sizeof *p);
	p->name = name;
	p->short_name = short_name;
	p->pid = pid;
	p->broker_thread = pthread_self();
	p->log.sink = plugin_sink;
	p->log.userdata = p;
	p->log.min_level = PC_LOG_DEBUG; /* Mosquitto's log_type filters */
	p->log.prefix = name;
	p->logq = pc_queue_new(PB_LOG_QUEUE_CAP);
	if (!p->logq) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "%s: out of memory", name);
		return MOSQ_ERR_NOMEM;
	}
	return MOSQ_ERR_SUCCESS;
}

/*
 * Whether the broker attached this plugin instance to one listener, as it
 * does with `per_listener_settings true`, instead of the global security
 * options. The API has no call that says so, and mosquitto_plugin_id_t is
 * opaque; but Mosquitto 2.0.0 to 2.0.20 define it (src/mosquitto_broker_
 * internal.h) as { struct mosquitto__listener *listener; }: the listener
 * under per_listener_settings true, NULL otherwise, and the broker itself
 * picks a plugin's callback lists by that pointer (src/plugin.c,
 * mosquitto_callback_register). 2.1 changed the layout (and delivers TICK
 * to such plugins), so built against other headers this says false.
 */
static bool attached_to_listener(const mosquitto_plugin_id_t *pid)
{
#if LIBMOSQUITTO_MAJOR == 2 && LIBMOSQUITTO_MINOR == 0
	return pid && *(const void *const *)(const void *)pid != NULL;
#else
	(void)pid;
	return false;
#endif
}

/*
 * Refuse to load under per_listener_settings true: Mosquitto 2.0.11 then
 * never delivers TICK to the plugin, and every precis plugin starts its
 * backends, writes its workers' log lines and publishes from TICK, so it
 * would run without ever connecting and without saying why. (From 2.0.15
 * TICK arrives, but each listener would get its own instance, with its own
 * backends and caches: refused as well.)
 */
static int check_global(struct pb_plugin *p)
{
	if (!attached_to_listener(p->pid))
		return MOSQ_ERR_SUCCESS;
	pc_log(&p->log, PC_LOG_ERR,
	       "per_listener_settings true is not supported: it ties the plugin to one listener, "
	       "where Mosquitto 2.0 (before 2.0.15) never delivers the TICK event the plugin "
	       "connects its backends from; set per_listener_settings false (the default), and the "
	       "plugin applies to every listener");
	return MOSQ_ERR_NOT_SUPPORTED;
}

void pb_tick(struct pb_plugin *p)
{
	struct log_line *l;
	uint64_t dropped;

	if (!p->logq || pc_queue_depth(p->logq) == 0)
		return;
	while ((l = pc_queue_pop(p->logq)) != NULL) {
		mosquitto_log_printf(mosq_level(l->level), "%s", l->text);
		free(l);
	}
	dropped = __atomic_exchange_n(&p->log_dropped, 0, __ATOMIC_RELAXED);
	if (dropped)
		mosquitto_log_printf(MOSQ_LOG_WARNING, "%s: %llu log lines dropped (queue full)",
		                     p->name, (unsigned long long)dropped);
}

void pb_plugin_cleanup(struct pb_plugin *p)
{
	pb_tick(p);
	pc_queue_free(p->logq);
	p->logq = NULL;
}

static int options_parse(struct pb_plugin *p, const struct pc_opt_def *defs, size_t ndefs,
                         const struct mosquitto_opt *opts, int opt_count, void *conf)
{
	struct pc_kv *kvs = NULL;
	char err[512];
	int rc;

	if (opt_count > 0) {
		kvs = calloc((size_t)opt_count, sizeof *kvs);
		if (!kvs) {
			pc_log(&p->log, PC_LOG_ERR, "out of memory");
			return MOSQ_ERR_NOMEM;
		}
		for (int i = 0; i < opt_count; i++) {
			kvs[i].key = opts[i].key;
			kvs[i].value = opts[i].value;
		}
	}
	rc = pc_opts_parse(defs, ndefs, kvs, (size_t)(opt_count > 0 ? opt_count : 0), conf,
	                   "plugin_opt_", err, sizeof err);
	free(kvs);
	if (rc == PC_ERR_NOMEM) {
		pc_log(&p->log, PC_LOG_ERR, "out of memory");
		return MOSQ_ERR_NOMEM;
	}
	if (rc != PC_OK) {
		pc_log(&p->log, PC_LOG_ERR, "%s", err);
		return MOSQ_ERR_INVAL;
	}
	return MOSQ_ERR_SUCCESS;
}

static int check_backoff(struct pb_plugin *p, const struct pb_backend_opts *o)
{
	if (o->reconnect_min_ms > o->reconnect_max_ms) {
		pc_log(
		    &p->log, PC_LOG_ERR,
		    "plugin_opt_reconnect_min (%lld ms) is greater than plugin_opt_reconnect_max "
		    "(%lld ms)",
		    (long long)o->reconnect_min_ms, (long long)o->reconnect_max_ms);
		return MOSQ_ERR_INVAL;
	}
	return MOSQ_ERR_SUCCESS;
}

int pb_plugin_setup(struct pb_plugin *p, mosquitto_plugin_id_t *pid, const char *name,
                    const char *short_name, const struct pc_opt_def *defs, size_t ndefs,
                    const struct mosquitto_opt *opts, int opt_count, void *conf,
                    const struct pb_backend_opts *bo)
{
	int rc = plugin_init(p, pid, name, short_name);

	if (rc == MOSQ_ERR_SUCCESS)
		rc = check_global(p);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = options_parse(p, defs, ndefs, opts, opt_count, conf);
	if (rc == MOSQ_ERR_SUCCESS && bo)
		rc = check_backoff(p, bo);
	return rc;
}

int pb_callbacks_register(struct pb_plugin *p, const struct pb_callback *table, size_t n,
                          void *userdata)
{
	for (size_t i = 0; i < n; i++) {
		int rc = mosquitto_callback_register(p->pid, table[i].event, table[i].fn, NULL,
		                                     userdata);
		if (rc != MOSQ_ERR_SUCCESS) {
			pc_log(&p->log, PC_LOG_ERR, "cannot register callback for event %d: %s%s",
			       table[i].event, mosquitto_strerror(rc),
			       rc == MOSQ_ERR_ALREADY_EXISTS ? " (is the plugin loaded twice?)"
			                                     : "");
			pb_callbacks_unregister(p, table, i);
			return rc;
		}
	}
	return MOSQ_ERR_SUCCESS;
}

void pb_callbacks_unregister(struct pb_plugin *p, const struct pb_callback *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mosquitto_callback_unregister(p->pid, table[i].event, table[i].fn, NULL);
}

void pb_backend_init(struct pb_backend *b, const struct pc_backend_ops *ops, void *conn,
                     const struct pb_backend_opts *o, const char *thread_name)
{
	memset(b, 0, sizeof *b);
	b->ops = ops;
	b->conn = conn;
	b->cfg.check_interval_ms = o->check_interval_ms;
	b->cfg.backoff_min_ms = o->reconnect_min_ms;
	b->cfg.backoff_max_ms = o->reconnect_max_ms;
	b->cfg.thread_name = thread_name;
	b->published = -1;
}

void pb_backend_set_work(struct pb_backend *b, pc_work_fn work, void *arg)
{
	b->cfg.work = work;
	b->cfg.work_arg = arg;
}

void pb_backend_wake(struct pb_backend *b)
{
	pc_supervisor_wake(b->sup);
}

bool pb_backend_up(const struct pb_backend *b)
{
	return b->sup && pc_supervisor_state(b->sup) == PC_BACKEND_UP;
}

void pb_backend_halt(struct pb_backend *b)
{
	pc_supervisor_halt(b->sup);
}

void pb_backend_stop(struct pb_backend *b)
{
	pc_supervisor_stop(b->sup);
	b->sup = NULL;
}

static void publish_state(struct pb_plugin *p, struct pb_backend *b, int state)
{
	char topic[128];
	const char *text = state == PC_BACKEND_UP ? "up" : "down";
	size_t len = strlen(text);
	void *payload;

	snprintf(topic, sizeof topic, "$SYS/broker/precis/%s/%s", p->short_name, b->ops->kind);
	/* The broker frees the payload with its own allocator: mosquitto_malloc. */
	payload = mosquitto_malloc(len);
	if (!payload)
		return;
	memcpy(payload, text, len);
	if (mosquitto_broker_publish(NULL, topic, (int)len, payload, 1, true, NULL) !=
	    MOSQ_ERR_SUCCESS) {
		mosquitto_free(payload);
		return;
	}
	b->published = state;
}

void pb_backend_tick(struct pb_plugin *p, struct pb_backend *b)
{
	char err[256];
	int state;

	if (!b->started) {
		b->started = true;
		pc_log(&p->log, PC_LOG_INFO, "connecting to %s at %s", b->ops->kind,
		       b->ops->describe(b->conn));
		b->sup = pc_supervisor_start(b->ops, b->conn, &b->cfg, &p->log, err, sizeof err);
		if (!b->sup)
			pc_log(&p->log, PC_LOG_ERR, "%s", err);
	}
	if (!b->sup)
		return;
	state = (int)pc_supervisor_state(b->sup);
	if (state != b->published)
		publish_state(p, b, state);
}

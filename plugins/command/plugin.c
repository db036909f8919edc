/*
 * plugin.c - precis_command.so entry points: version, init, cleanup.
 *
 * Glue: parse plugin_opt_* through the option table, prepare the three
 * backends (the Redis worker, the notice subscriber and, with archive
 * on, MongoDB; their supervisor threads start on the first TICK), and
 * register the callbacks from one table: MESSAGE routes the contract
 * topics to heartbeat.c, ack.c and ops.c, DISCONNECT to online.c, TICK
 * drains what the workers produced and publishes counters. All state
 * lives in struct command__data, passed to Mosquitto as userdata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "command.h"
#include "due.h"
#include "precis/error.h"

#define C(f) offsetof(struct command__config, f)

static const struct pc_opt_def command_opts[] = {
    {"redis_host", PC_OPT_STRING, C(redis_host), "127.0.0.1", 1, 255, NULL,
     "Redis host name or address"},
    {"redis_port", PC_OPT_INT, C(redis_port), "6379", 1, 65535, NULL, "Redis TCP port"},
    {"redis_db", PC_OPT_INT, C(redis_db), "0", 0, 65535, NULL, "Redis logical database (SELECT)"},
    {"redis_user", PC_OPT_STRING, C(redis_user), "", 0, 255, NULL,
     "Redis ACL user (Redis 6+); empty: AUTH with the password only"},
    {"redis_password", PC_OPT_STRING, C(redis_password), "", 0, 1024, NULL,
     "Redis password; empty: no AUTH"},
    {"command_timeout", PC_OPT_DURATION, C(command_timeout_ms), "1s", 1, 600000, NULL,
     "timeout of one Redis round trip"},
    {"redis_prefix", PC_OPT_STRING, C(redis_prefix), "precis:", 1, 64, NULL,
     "prefix of every Redis key and channel of the plugin"},
    {"topic_root", PC_OPT_STRING, C(topic_root), "", 0, 255, NULL,
     "root of every topic (dev/..., ops/...); empty for none"},
    {"deliver_max", PC_OPT_INT, C(deliver_max), "10", 1, COMMAND_DELIVER_MAX, NULL,
     "most commands one heartbeat delivers"},
    {"max_pending", PC_OPT_INT, C(max_pending), "100", 1, 100000, NULL,
     "per-device cap on commands pending or in flight"},
    {"done_max", PC_OPT_INT, C(done_max), "100", 1, 100000, NULL,
     "finished commands kept per device in Redis"},
    {"log_max", PC_OPT_INT, C(log_max), "1000", 10, 1000000, NULL,
     "transitions kept per device in the Redis log stream (approximate)"},
    {"cmd_ttl", PC_OPT_DURATION, C(cmd_ttl_ms), "1d", COMMAND_TTL_MIN, COMMAND_TTL_MAX, NULL,
     "time to live of a command whose request sets none"},
    {"ack_timeout", PC_OPT_DURATION, C(ack_timeout_ms), "30s", COMMAND_TIMEOUT_MIN,
     COMMAND_TIMEOUT_MAX, NULL, "lease of a delivered command: how long the device has to ack"},
    {"max_attempts", PC_OPT_INT, C(max_attempts), "3", 1, COMMAND_ATTEMPTS_MAX, NULL,
     "deliveries before an unacked command fails"},
    {"priority", PC_OPT_INT, C(priority), "5", 0, COMMAND_PRIO_MAX, NULL,
     "priority of a command whose request sets none (9 goes first)"},
    {"hb_interval", PC_OPT_DURATION, C(hb_interval_ms), "60s", 1000, 86400000, NULL,
     "heartbeat interval assumed for a device that declares none"},
    {"offline_factor", PC_OPT_INT, C(offline_factor), "3", 1, 100, NULL,
     "a device is offline after this many heartbeat intervals of silence"},
    {"presence_refresh", PC_OPT_DURATION, C(presence_refresh_ms), "30s", 1000, 3600000, NULL,
     "how often an online device's last-seen time is rewritten in Redis"},
    {"max_payload", PC_OPT_SIZE, C(max_payload), "16k", 256, 1048576, NULL,
     "largest heartbeat, ack or command request accepted"},
    {"archive", PC_OPT_BOOL, C(archive), "true", 0, 0, NULL,
     "archive finished commands to the MongoDB collection `commands`"},
    PB_MONGO_OPT_DEFS(struct command__config, mongo),
    PB_STATS_OPT_DEF(struct command__config, stats_interval_ms),
    PB_BACKEND_OPT_DEFS(struct command__config, backend),
};

#define NOPTS (sizeof command_opts / sizeof command_opts[0])
struct stat_def {
	const char *name;
	size_t offset; /* of the counter in struct command__data */
};

#define S(name, field)                                                                             \
	{                                                                                          \
		name, offsetof(struct command__data, stats.field)                                  \
	}

/* Counter names under $SYS/broker/precis/command/. */
static const struct stat_def stat_defs[] = {
    S("heartbeats", hb),
    S("heartbeats/acked", hb_acks),
    S("heartbeats/invalid", hb_invalid),
    S("heartbeats/foreign", hb_foreign),
    S("data", data),
    S("commands/delivered", delivered),
    S("commands/undelivered", undelivered),
    S("commands/claims_missed", claims_missed),
    S("commands/enqueued", enqueued),
    S("commands/refused", refused),
    S("acks", acks),
    S("acks/applied", acks_applied),
    S("acks/duplicate", acks_duplicate),
    S("acks/forged", acks_forged),
    S("acks/foreign", acks_foreign),
    S("acks/invalid", acks_invalid),
    S("transitions/pending", st_pending),
    S("transitions/inflight", st_inflight),
    S("transitions/done", st_done),
    S("transitions/failed", st_failed),
    S("transitions/expired", st_expired),
    S("transitions/canceled", st_canceled),
    S("transitions/superseded", st_superseded),
    S("presence/online", online),
    S("presence/offline", offline),
    S("archive/written", archived),
    S("archive/failed", archive_failed),
    S("redis/notices", notices),
    S("redis/resyncs", resyncs),
    S("redis/noscript", noscript),
    S("redis/errors", redis_errors),
    S("queue/jobs_dropped", jobs_dropped),
    S("queue/out_dropped", out_dropped),
};

#define NSTATS (sizeof stat_defs / sizeof stat_defs[0])

/* The allocation behind userdata: the state, then the counter table bound to it. */
struct command__plugin {
	struct command__data d; /* first: command__free frees the whole */
	struct pb_stat rows[NSTATS];
};

_Static_assert(offsetof(struct command__plugin, d) == 0, "d must come first");

void command__bad_input(struct command__data *d, atomic_uint_fast64_t *c, const char *client,
                        const char *topic, const char *why)
{
	int64_t second = pc_mono_ms() / 1000;

	if (c)
		pb_count(c, 1);
	if (second != d->warn_second) {
		d->warn_second = second;
		d->warn_count = 0;
	}
	if (d->warn_count++ >= 10) {
		d->warn_suppressed++;
		return;
	}
	pc_log(&d->base.log, PC_LOG_NOTICE, "refused %s from client '%s': %s", topic,
	       client ? client : "?", why);
}

static int on_message(int event, void *event_data, void *userdata)
{
	struct command__data *d = userdata;
	const struct mosquitto_evt_message *ed = event_data;
	struct pc_topic t;

	if (pc_topic_parse(d->conf.topic_root, ed->topic, &t, NULL, 0) != PC_OK)
		return MOSQ_ERR_SUCCESS;
	switch (t.kind) {
	case PC_T_DEV_HB:
	case PC_T_DEV_DATA:
		command__on_beat(d, ed, &t);
		break;
	case PC_T_DEV_CMD_ACK:
		command__on_ack(d, ed, &t);
		break;
	case PC_T_OPS_CMD:
		command__on_ops_cmd(d, ed, &t);
		break;
	default:
		break;
	}
	return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
	const struct mosquitto_evt_disconnect *ed = event_data;

	command__on_disconnect(userdata, ed->client);
	return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void *event_data, void *userdata)
{
	struct command__data *d = userdata;

	pb_tick(&d->base);
	if (d->conf.archive)
		pb_backend_tick(&d->base, &d->mongo_backend);
	pb_backend_tick(&d->base, &d->redis_backend);
	pb_backend_tick(&d->base, &d->sub_backend);
	/* The workers wake each other through these copies, never through b->sup. */
	atomic_store(&d->mongo_sup, d->mongo_backend.sup);
	atomic_store(&d->redis_sup, d->redis_backend.sup);
	command__outq_drain(d, 0);
	command__presence_sweep(d);
	pb_stats_tick(&d->base, &d->pstats);
	if (d->warn_suppressed && pc_mono_ms() / 1000 != d->warn_second) {
		pc_log(&d->base.log, PC_LOG_NOTICE, "%llu more refused messages not logged",
		       (unsigned long long)d->warn_suppressed);
		d->warn_suppressed = 0;
	}
	return MOSQ_ERR_SUCCESS;
}

static const struct pb_callback command_callbacks[] = {
    {MOSQ_EVT_MESSAGE, on_message},
    {MOSQ_EVT_DISCONNECT, on_disconnect},
    {MOSQ_EVT_TICK, on_tick},
};

#define NCALLBACKS (sizeof command_callbacks / sizeof command_callbacks[0])

/* Free what a queue still holds once no thread uses it. */
static void drain_free(struct pc_queue *q, void (*f)(void *))
{
	void *item;

	while (q && (item = pc_queue_pop(q)) != NULL)
		f(item);
	pc_queue_free(q);
}

static void free_job(void *p)
{
	command__job_free(p);
}

static void free_out(void *p)
{
	command__out_free(p);
}

static void free_arec(void *p)
{
	command__arec_free(p);
}

static void command__free(struct command__data *d)
{
	/* The workers wake each other (mongo_sup, redis_sup): join them all before freeing any. */
	pb_backend_halt(&d->sub_backend);
	pb_backend_halt(&d->mongo_backend);
	pb_backend_halt(&d->redis_backend);
	atomic_store(&d->mongo_sup, NULL);
	atomic_store(&d->redis_sup, NULL);
	pb_backend_stop(&d->sub_backend);
	pb_backend_stop(&d->mongo_backend);
	pb_backend_stop(&d->redis_backend);
	drain_free(d->jobs, free_job);
	drain_free(d->out, free_out);
	drain_free(d->archive, free_arec);
	command__sub_free(d->sub);
	command__worker_free(d->worker);
	command__archiver_free(d->archiver);
	command__devices_cleanup(&d->devices);
	pb_stats_cleanup(&d->pstats);
	pc_redis_conn_cleanup(&d->redis);
	pc_mongo_conn_cleanup(&d->mongo);
	pc_opts_free(command_opts, NOPTS, &d->conf);
	pb_plugin_cleanup(&d->base);
	free(d);
}

/* Checks the option table cannot express; fills the settings derived from the options. */
static int settle(struct command__data *d)
{
	struct command__config *c = &d->conf;
	unsigned char seed[16];
	char err[256];

	if (strpbrk(c->redis_prefix, "{} \t")) {
		pc_log(&d->base.log, PC_LOG_ERR,
		       "plugin_opt_redis_prefix: '%s' must not contain '{', '}' or blanks",
		       c->redis_prefix);
		return MOSQ_ERR_INVAL;
	}
	if (pc_root_check(c->topic_root, err, sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_topic_root: %s", err);
		return MOSQ_ERR_INVAL;
	}
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
		uint64_t t = (uint64_t)pc_wall_ms() ^ ((uint64_t)getpid() << 32);

		memcpy(seed, &t, sizeof t);
		memcpy(seed + 8, &d, sizeof d < 8 ? sizeof d : 8);
	}
	memcpy(&d->rnd, seed, sizeof d->rnd);
	d->rnd |= 1;
	snprintf(d->origin, sizeof d->origin, "broker-%02x%02x%02x%02x%02x%02x", seed[8], seed[9],
	         seed[10], seed[11], seed[12], seed[13]);
	snprintf(d->channel, sizeof d->channel, "%snotices", c->redis_prefix);
	d->env =
	    (struct command__script_env){c->redis_prefix, d->channel,  d->origin, c->deliver_max,
	                                 c->log_max,      c->done_max, c->archive};
	d->defaults = (struct command__defaults){c->cmd_ttl_ms, c->ack_timeout_ms, c->max_attempts,
	                                         c->priority};
	d->presence = (struct command__presence_cfg){c->hb_interval_ms, c->offline_factor,
	                                             c->presence_refresh_ms};
	return MOSQ_ERR_SUCCESS;
}

static int queues_and_workers(struct command__data *d, struct pb_stat *rows)
{
	char err[256];

	for (size_t i = 0; i < NSTATS; i++) {
		rows[i].name = stat_defs[i].name;
		rows[i].value = (atomic_uint_fast64_t *)((char *)d + stat_defs[i].offset);
	}
	d->jobs = pc_queue_new(COMMAND_JOBS_CAP);
	d->out = pc_queue_new(COMMAND_OUT_CAP);
	d->archive = pc_queue_new(COMMAND_ARCHIVE_CAP);
	d->worker = command__worker_new();
	d->archiver = command__archiver_new();
	if (!d->jobs || !d->out || !d->archive || !d->worker || !d->archiver ||
	    command__devices_init(&d->devices, &d->presence) != PC_OK ||
	    pb_stats_init(&d->pstats, rows, NSTATS, d->conf.stats_interval_ms) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "out of memory");
		return MOSQ_ERR_NOMEM;
	}
	if (!(d->sub = command__sub_new(d, err, sizeof err))) {
		pc_log(&d->base.log, PC_LOG_ERR, "%s", err);
		return MOSQ_ERR_INVAL;
	}
	return MOSQ_ERR_SUCCESS;
}

static int backends(struct command__data *d)
{
	struct command__config *c = &d->conf;
	char err[256];
	int rc;

	if (pc_redis_conn_init(&d->redis, c->redis_host, (int)c->redis_port, (int)c->redis_db,
	                       c->redis_user, c->redis_password, c->backend.connect_timeout_ms,
	                       c->command_timeout_ms, err, sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "%s", err);
		return MOSQ_ERR_INVAL;
	}
	pb_backend_init(&d->redis_backend, &pc_redis_backend_ops, &d->redis, &c->backend,
	                "precis-cmd-redis");
	pb_backend_set_work(&d->redis_backend, command__worker_work, d);
	pb_backend_init(&d->sub_backend, &command__sub_ops, d->sub, &c->backend, "precis-cmd-sub");
	pb_backend_set_work(&d->sub_backend, command__sub_work, d);
	if (!c->archive)
		return MOSQ_ERR_SUCCESS;
	rc = pb_mongo_init(&d->base, &d->mongo_backend, &d->mongo, &c->mongo, &c->backend,
	                   "precis-cmd-mongo");
	if (rc == MOSQ_ERR_SUCCESS)
		pb_backend_set_work(&d->mongo_backend, command__archive_work, d);
	return rc;
}

PB_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	return pb_plugin_version(supported_version_count, supported_versions);
}

PB_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                    struct mosquitto_opt *options, int option_count)
{
	struct command__plugin *p;
	struct command__data *d;
	int rc;

	*userdata = NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return MOSQ_ERR_NOMEM;
	d = &p->d;
	rc = pb_plugin_setup(&d->base, identifier, "precis_command", "command", command_opts, NOPTS,
	                     options, option_count, &d->conf, &d->conf.backend);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = settle(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = queues_and_workers(d, p->rows);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = backends(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = pb_callbacks_register(&d->base, command_callbacks, NCALLBACKS, d);
	if (rc != MOSQ_ERR_SUCCESS) {
		command__free(d);
		return rc;
	}
	pc_log(&d->base.log, PC_LOG_INFO, "loaded (origin %s, archive %s)", d->origin,
	       d->conf.archive ? "on" : "off");
	*userdata = d;
	return MOSQ_ERR_SUCCESS;
}

PB_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                       int option_count)
{
	struct command__data *d = userdata;

	if (!d)
		return MOSQ_ERR_SUCCESS;
	pb_callbacks_unregister(&d->base, command_callbacks, NCALLBACKS);
	command__free(d);
	return MOSQ_ERR_SUCCESS;
}

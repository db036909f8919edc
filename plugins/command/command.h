/*
 * command.h - private state of precis_command.so.
 *
 * The plugin delivers a device's pending commands when its heartbeat (or
 * a data upload) arrives, from Redis tables kept by the Lua scripts
 * (scripts.h, schemas/redis.md), and keeps track of device presence.
 *
 * Threads and what they own:
 *  - the broker thread: every MESSAGE, DISCONNECT and TICK callback, the
 *    device table with its prefetched commands (devices.h), every
 *    mosquitto_* call;
 *  - the Redis worker (worker.c): the command connection; it runs the
 *    jobs the broker thread and the subscriber queue (claims, acks,
 *    enqueues, presence writes, refreshes), sweeps devices when their
 *    leases or TTLs run out, and rebuilds everything after a reconnect;
 *  - the subscriber (subscriber.c): a second Redis connection, SUBSCRIBEd
 *    to the scripts' notices;
 *  - the archive worker (archive.c): MongoDB, writing finished commands.
 * Workers reach the broker thread only through d->out (outq.c), drained
 * on TICK and at the start of every heartbeat; they never call
 * mosquitto_*. Jobs reach the Redis worker through d->jobs.
 */
#ifndef PRECIS_COMMAND_H
#define PRECIS_COMMAND_H

#include <stdatomic.h>

#include "archive.h"
#include "base.h"
#include <mqtt_protocol.h> /* MQTT_PROP_* */
#include "devices.h"
#include "precis/clock.h"
#include "precis/mongo_conn.h"
#include "precis/redis_conn.h"
#include "protocol.h"
#include "scripts.h"

#define COMMAND_DELIVER_MAX 100   /* most commands one heartbeat can bring */
#define COMMAND_JOBS_CAP    65536 /* queued jobs for the Redis worker */
#define COMMAND_OUT_CAP     65536 /* queued messages for the broker thread */
#define COMMAND_ARCHIVE_CAP 16384 /* finished commands waiting for MongoDB */

struct command__config {
	char *redis_host;
	int64_t redis_port;
	int64_t redis_db;
	char *redis_user;
	char *redis_password;
	int64_t command_timeout_ms;
	char *redis_prefix;
	char *topic_root;
	int64_t deliver_max;
	int64_t max_pending;
	int64_t done_max;
	int64_t log_max;
	int64_t cmd_ttl_ms;
	int64_t ack_timeout_ms;
	int64_t max_attempts;
	int64_t priority;
	int64_t hb_interval_ms;
	int64_t offline_factor;
	int64_t presence_refresh_ms;
	int64_t max_payload;
	bool archive;
	struct pb_mongo_opts mongo;
	int64_t stats_interval_ms;
	struct pb_backend_opts backend;
};

/* Counters, published on $SYS/broker/precis/command/... (plugin.c lists the names). */
struct command__stats {
	atomic_uint_fast64_t hb, hb_acks, hb_invalid, hb_foreign, data, delivered, undelivered;
	atomic_uint_fast64_t acks, acks_applied, acks_duplicate, acks_forged, acks_foreign,
	    acks_invalid;
	atomic_uint_fast64_t enqueued, refused, claims_missed;
	atomic_uint_fast64_t st_pending, st_inflight, st_done, st_failed, st_expired, st_canceled,
	    st_superseded;
	atomic_uint_fast64_t online, offline, archived, archive_failed;
	atomic_uint_fast64_t notices, resyncs, noscript, jobs_dropped, out_dropped, redis_errors;
};

/* ---- jobs for the Redis worker ---- */

enum command__job_kind {
	COMMAND_JOB_CLAIM,    /* dev, gen, cids: the commands just delivered */
	COMMAND_JOB_ACK,      /* dev, cid, status, text = result */
	COMMAND_JOB_ENQUEUE,  /* dev, cid, req, text = args */
	COMMAND_JOB_PRESENCE, /* dev, presence */
	COMMAND_JOB_REFRESH,  /* dev: sweep it and send the view */
	COMMAND_JOB_ARCHIVE,  /* dev, cid: read the finished command for the archive */
	COMMAND_JOB_ARCHIVED, /* dev, cid: the archive holds it */
	COMMAND_JOB_RESYNC,   /* rebuild the broker's view of every device */
};

struct command__job {
	enum command__job_kind kind;
	char dev[PC_ID_MAX + 1];
	char cid[COMMAND_CID_MAX + 1];
	uint64_t gen;
	size_t ncids;
	char (*cids)[COMMAND_CID_MAX + 1]; /* heap */
	enum command__ack_status status;
	char *text; /* heap */
	struct command__request req;
	struct {
		bool online;
		int64_t last_seen, interval_ms, seq;
		const char *reason; /* static */
	} presence;
};

/* ---- messages for the broker thread ---- */

enum command__out_kind {
	COMMAND_OUT_PUBLISH, /* topic, payload (fan-out; retain as given) */
	COMMAND_OUT_VIEW,    /* dev, view */
	COMMAND_OUT_CLAIMED, /* dev, gen, ok, view when ok */
	COMMAND_OUT_CLEAR,   /* forget every prefetched command: a resync follows */
	COMMAND_OUT_RESTORE, /* dev was online when the broker stopped: last_seen, interval, seq */
};

struct command__out {
	enum command__out_kind kind;
	char dev[PC_ID_MAX + 1];
	uint64_t gen;
	bool ok;
	struct command__view view;
	char *topic, *payload; /* heap */
	size_t len;
	int qos;
	bool retain;
	int64_t last_seen, interval_ms, seq;
};

struct command__worker;
struct command__sub;
struct command__archiver;

struct command__data {
	struct pb_plugin base;
	struct command__config conf;
	struct command__stats stats;
	struct pb_stats pstats;

	/* Fixed after init; read by every thread. */
	char origin[32];   /* this broker in notices: "broker-<hex>" */
	char channel[300]; /* notice channel: <prefix>notices */
	struct command__script_env env;
	struct command__defaults defaults;
	struct command__presence_cfg presence;

	/* Redis: the worker's connection, and the subscriber's. */
	struct pc_redis_conn redis;
	struct pb_backend redis_backend;
	struct command__worker *worker;
	struct command__sub *sub;
	struct pb_backend sub_backend;

	/* MongoDB archive (when conf.archive). */
	struct pc_mongo_conn mongo;
	struct pb_backend mongo_backend;
	struct command__archiver *archiver;

	/* The running supervisors, set on TICK once started: workers wake each other here. */
	_Atomic(struct pc_supervisor *) redis_sup, mongo_sup;

	struct pc_queue *jobs; /* -> Redis worker; producers: broker, subscriber, archive */
	struct pc_queue *out;  /* -> broker thread; producers: the workers */
	struct pc_queue
	    *archive; /* -> archive worker (struct command__arec); producer: Redis worker */
	atomic_bool archive_lost; /* a record did not fit: rescan Redis once there is room */

	/* Broker thread only. */
	struct command__devices devices;
	size_t sweep_cursor;
	int64_t sweep_mono;
	uint64_t rnd; /* xorshift state for command ids */
	int64_t warn_second;
	int warn_count;
	uint64_t warn_suppressed;
};

/* ---- plugin.c: shared helpers ---- */

/*
 * command__bad_input - count c (may be NULL) and log why a client's message was refused
 * (at most 10 lines a second; the rest are counted and reported by TICK).
 * Broker thread.
 */
void command__bad_input(struct command__data *d, atomic_uint_fast64_t *c, const char *client,
                        const char *topic, const char *why);

/*
 * command__publish - publish payload[0..len) on topic (qos, retain), to
 * clientid only when it is not NULL (direct delivery, no ACL check);
 * props (may be NULL) pass to the broker. Copies the payload into
 * mosquitto_malloc memory. Returns MOSQ_ERR_SUCCESS or the broker's
 * error (props are freed then). Broker thread.
 */
int command__publish(const char *clientid, const char *topic, const char *payload, size_t len,
                     int qos, bool retain, mosquitto_property *props);

/*
 * command__job_new - a zeroed job of kind for dev (a valid id); NULL when
 * out of memory. command__job_free frees it and what it holds (NULL ok).
 */
struct command__job *command__job_new(enum command__job_kind kind, const char *dev, size_t len);
void command__job_free(struct command__job *j);

/*
 * command__job_push - queue j for the Redis worker and wake it; takes j.
 * Returns PC_OK, or PC_ERR_FULL / PC_ERR_CLOSED (j is freed and the drop
 * counted). Any thread once the worker runs; before the first TICK jobs
 * wait.
 */
int command__job_push(struct command__data *d, struct command__job *j);

/* ---- outq.c: worker -> broker thread ---- */

/* command__out_new - a zeroed message of kind; NULL when out of memory. Any thread. */
struct command__out *command__out_new(enum command__out_kind kind);

/* command__out_free - free m and what it holds (NULL ok). Any thread. */
void command__out_free(struct command__out *m);

/*
 * command__out_push - hand m to the broker thread; takes m. Returns PC_OK
 * or PC_ERR_FULL / PC_ERR_CLOSED (m freed, counted). Any thread.
 */
int command__out_push(struct command__data *d, struct command__out *m);

/*
 * command__out_publish - queue a fan-out publish of a copy of
 * payload[0..len) on topic. Returns as command__out_push.
 */
int command__out_publish(struct command__data *d, const char *topic, const char *payload,
                         size_t len, int qos, bool retain);

/* command__outq_drain - apply up to max queued messages (0: all). Broker thread. */
void command__outq_drain(struct command__data *d, size_t max);

/* ---- heartbeat.c, ack.c, ops.c: MESSAGE handlers (broker thread) ---- */

/* command__on_beat - dev/{id}/hb or dev/{id}/data from device t->id: presence, delivery, hb/ack. */
void command__on_beat(struct command__data *d, const struct mosquitto_evt_message *ed,
                      const struct pc_topic *t);

/* command__on_ack - dev/{id}/cmd/ack: check it and queue it for the worker. */
void command__on_ack(struct command__data *d, const struct mosquitto_evt_message *ed,
                     const struct pc_topic *t);

/* command__on_ops_cmd - ops/dev/{id}/cmd: a command request to enqueue. */
void command__on_ops_cmd(struct command__data *d, const struct mosquitto_evt_message *ed,
                         const struct pc_topic *t);

/* ---- online.c: presence on the broker thread ---- */

/*
 * command__presence_changed - publish dev's presence (retained, on
 * ops/dev/{id}/presence) with reason and queue its Redis write.
 */
void command__presence_changed(struct command__data *d, struct command__device *dev,
                               const char *reason);

/* command__presence_flush - queue a write of dev's presence to Redis (no publish). */
void command__presence_flush(struct command__data *d, struct command__device *dev,
                             const char *reason);

/* command__presence_sweep - from TICK: take devices silent too long offline (a full pass a second).
 */
void command__presence_sweep(struct command__data *d);

/* command__on_disconnect - a client's connection closed: its device may go offline. */
void command__on_disconnect(struct command__data *d, const struct mosquitto *client);

/* ---- worker.c: the Redis worker ---- */

/*
 * command__worker_new / _free - the worker's state (due times, carried
 * jobs, script SHAs). Free after its supervisor stopped. NULL on OOM.
 */
struct command__worker *command__worker_new(void);
void command__worker_free(struct command__worker *w);

/* command__worker_work - the pc_work_fn of the Redis backend; arg is the struct command__data. */
int command__worker_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                         size_t errlen);

/* ---- resync.c: rebuilding from Redis (Redis worker thread) ---- */

/*
 * command__resync - tell the broker thread to forget its prefetched
 * commands, then SCAN every device key under the prefix: sweep each
 * device with commands (views, due times), queue each unarchived command
 * for the archive, and, the first time (restore_presence), report
 * devices Redis lists as online. Returns PC_OK or PC_ERR_IO with detail
 * (connection lost).
 */
int command__resync(struct command__data *d, struct redisContext *c, bool restore_presence,
                    char *err, size_t errlen);

/*
 * command__handle_view - the worker's side of a view reply r of a script
 * run for dev: set the device's due time and send the view to the broker
 * thread (as the answer to claim gen when claim is true). Worker thread.
 */
void command__handle_view(struct command__data *d, const char *dev, const struct redisReply *r,
                          bool claim, uint64_t gen);

/*
 * command__archive_read - queue dev's finished command cid for the
 * archive from the HGETALL reply r (nothing when the hash is gone).
 * Worker thread.
 */
void command__archive_read(struct command__data *d, const char *dev, const char *cid,
                           const struct redisReply *r);

/* command__worker_due - the worker's due-time set (resync.c fills it). */
struct command__due *command__worker_due(struct command__worker *w);

/* ---- notices.c ---- */

/*
 * command__notice - act on one transition notice msg[0..len) ("<device>
 * <origin> <json>"): publish it on ops/dev/{id}/cmd/state, count it,
 * refresh the device's view unless own (the notice came with the reply
 * of this broker's script), queue a finished command for the archive.
 * A notice of this broker's origin that is not own (the subscriber's
 * copy) is ignored. Worker or subscriber thread.
 */
void command__notice(struct command__data *d, const char *msg, size_t len, bool own);

/* command__reply_notices - command__notice(own) for every notice a script's reply r lists. */
void command__reply_notices(struct command__data *d, const struct redisReply *r);

/* ---- subscriber.c ---- */

/* command__sub_new / _free - the subscriber's connection state; NULL on OOM. */
struct command__sub *command__sub_new(struct command__data *d, char *err, size_t errlen);
void command__sub_free(struct command__sub *s);

/* The supervisor ops of the subscriber's connection (conn: the struct command__sub). */
extern const struct pc_backend_ops command__sub_ops;

/* command__sub_work - its pc_work_fn: read notices (arg: the struct command__data). */
int command__sub_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                      size_t errlen);

/* ---- archive.c: the MongoDB archive worker ---- */

struct command__archiver *command__archiver_new(void);
void command__archiver_free(struct command__archiver *a);

/* command__archive_work - the pc_work_fn of the MongoDB backend (arg: the struct command__data). */
int command__archive_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                          size_t errlen);

/*
 * command__archive_push - queue r for the archive worker and wake it;
 * takes r. Returns PC_OK or PC_ERR_FULL (r freed; it stays queued in
 * Redis for the next resync). Redis worker thread.
 */
int command__archive_push(struct command__data *d, struct command__arec *r);

#endif

/*
 * store.h - private state of precis_store.so.
 *
 * The plugin persists device payloads (dev/{id}/data, dev/{id}/evt by
 * default) to MongoDB time-slot buckets without ever making the broker
 * wait on MongoDB:
 *
 *   broker thread   MOSQ_EVT_MESSAGE (message.c): match the topic, append
 *                   the message to the on-disk spool (spool.c), return;
 *                   TICK (plugin.c): wake the worker, publish counters.
 *   worker thread   the MongoDB supervisor's work function (writer.c):
 *                   read the spool in order, decode payloads (payload.c),
 *                   place samples in buckets (bucket.c), one unordered
 *                   bulk write per batch, then move the spool checkpoint;
 *                   indexes and retention (retention.c).
 *
 * The spool is the queue between them: bounded (spool_max), durable, and
 * replayed from its checkpoint at every start. Sample ids make replay
 * idempotent. All state lives in struct store__data (userdata).
 */
#ifndef PRECIS_STORE_H
#define PRECIS_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "bucket.h"
#include "precis/clock.h"
#include "precis/mongo_conn.h"
#include "route.h"
#include "spool.h"

enum store__full_policy { STORE_FULL_DENY = 0, STORE_FULL_DROP = 1 };
enum store__non_json { STORE_NONJSON_BINARY = 0, STORE_NONJSON_REJECT = 1 };
enum store__nested { STORE_NESTED_WRAP = 0, STORE_NESTED_KEEP = 1 };

struct store__config {
	struct pb_mongo_opts mongo;
	struct pb_backend_opts backend;
	char *spool_dir;
	int64_t spool_max;
	int64_t spool_segment;
	int spool_full; /* enum store__full_policy */
	int64_t spool_sync_ms;
	char *collections;
	int64_t slot_ms;
	int64_t bucket_max_samples;
	int64_t bucket_max_bytes;
	int64_t batch_max;
	int64_t batch_delay_ms;
	int64_t max_payload;
	int non_json;      /* enum store__non_json */
	int nested_arrays; /* enum store__nested */
	bool stats;
	int64_t retention_ms;
	int64_t retention_interval_ms;
	int64_t write_timeout_ms;
	int64_t flush_timeout_ms;
	int64_t stats_interval_ms;
};

/* Counters, published under $SYS/broker/precis/store/ (plugin.c has the names). */
struct store__counters {
	atomic_uint_fast64_t accepted;     /* messages appended to the spool */
	atomic_uint_fast64_t persisted;    /* samples written to MongoDB */
	atomic_uint_fast64_t batches;      /* bulk writes that succeeded */
	atomic_uint_fast64_t spooled;      /* records that waited while MongoDB was unavailable */
	atomic_uint_fast64_t replayed;     /* ...and those (or a previous run's) once persisted */
	atomic_uint_fast64_t duplicates;   /* replayed samples found already stored, skipped */
	atomic_uint_fast64_t sanitized;    /* samples the data rules changed */
	atomic_uint_fast64_t binary;       /* non-JSON payloads stored as binary */
	atomic_uint_fast64_t bad_ts;       /* "ts" present but unusable: receive time used */
	atomic_uint_fast64_t expired;      /* buckets deleted by the retention sweep */
	atomic_uint_fast64_t write_errors; /* failed writes (retried or isolated) */
	atomic_uint_fast64_t dropped_spool_full;
	atomic_uint_fast64_t dropped_io_error;
	atomic_uint_fast64_t dropped_malformed;
	atomic_uint_fast64_t dropped_rejected;
	atomic_uint_fast64_t dropped_corrupt;
	atomic_uint_fast64_t dropped_unrouted;
	atomic_uint_fast64_t denied_spool_full;
	atomic_uint_fast64_t denied_too_large;
	atomic_uint_fast64_t denied_bad_topic;
	atomic_uint_fast64_t denied_io_error;
	/* Gauges. */
	atomic_uint_fast64_t queue_depth; /* accepted records not yet handled */
	atomic_uint_fast64_t spool_bytes; /* size of the spool's segments */
	atomic_uint_fast64_t latency_ms;  /* last bulk write's round trip */
	atomic_uint_fast64_t
	    latency_max_ms;              /* longest in the last publication window with writes */
	atomic_bool latency_window_new;  /* set by TICK at each window; the next write clears it */
	atomic_uint_fast64_t started_ms; /* wall-clock time the plugin started (a constant) */
};

/* Log at most a few lines per window for a recurring problem; count the rest. */
struct store__ratelog {
	int64_t window_start_ms;
	unsigned lines;
	uint64_t suppressed;
};

#define STORE_RATELOG_WINDOW_MS 10000
#define STORE_RATELOG_LINES     5

/*
 * store__ratelog_allow - whether to log one more line now (now_ms any
 * monotonic clock). When a new window opens, *suppressed_out says how
 * many lines the last one swallowed (0: none), for a summary line.
 */
static inline bool store__ratelog_allow(struct store__ratelog *r, int64_t now_ms,
                                        uint64_t *suppressed_out)
{
	*suppressed_out = 0;
	if (now_ms - r->window_start_ms >= STORE_RATELOG_WINDOW_MS) {
		*suppressed_out = r->suppressed;
		r->window_start_ms = now_ms;
		r->lines = 0;
		r->suppressed = 0;
	}
	if (r->lines < STORE_RATELOG_LINES) {
		r->lines++;
		return true;
	}
	r->suppressed++;
	return false;
}

struct pc_hmap;
struct _mongoc_client_t;
struct store__stmt;

/* The worker's state (writer.c); touched by the worker thread only, except the atomics. */
struct store__writer {
	struct pc_hmap *slots; /* "coll/device/start" -> struct store__slot_entry */
	struct store__item *items;
	struct store__item **order;
	struct store__stmt *stmts; /* a bulk's statements (writer.c), cap of them */
	size_t cap;
	struct store__pos done;  /* everything before is handled */
	uint64_t uncertain_upto; /* records with seq below may already be in MongoDB */
	uint64_t replay_upto;    /* records with seq below count as replayed */
	uint64_t run_first_seq;  /* records below were this run's replay of a previous run */
	uint64_t outage_counted; /* records up to here are counted as spooled */
	bool in_outage;
	uint64_t isolate_upto; /* records below are written one at a time */
	uint64_t fail_seq;
	int fail_count;
	bool ck_dirty;
	int64_t ck_at, sync_at, retention_at, sweep_at; /* monotonic ms of the next due time */
	bool ttl[STORE_ROUTES_MAX];                     /* collection has a TTL index */
	bool indexed[STORE_ROUTES_MAX]; /* this process has made (or been refused) its indexes */
	struct store__ratelog rl_data, rl_write;
	atomic_bool idle;              /* caught up: TICK wakes the worker for new records */
	atomic_bool draining;          /* broker shutting down: write everything now */
	atomic_uint_fast64_t done_seq; /* done.seq, for the broker thread */
};

#define STORE_NSTATS_MAX 32

struct store__data {
	struct pb_plugin base;
	struct store__config conf;
	struct pc_mongo_conn mongo;
	struct pb_backend mongo_backend;
	struct store__routes routes;
	struct store__caps caps;
	struct store__spool spool;
	bool spool_open;
	struct store__counters c;
	struct pb_stats stats;
	struct pb_stat stat_rows[STORE_NSTATS_MAX];
	struct store__writer w;
	/* Broker thread only. */
	uint64_t tick_seq, wake_seq;
	struct store__ratelog rl_deny;
};

/* MOSQ_EVT_MESSAGE (message.c): persist a matching PUBLISH, or refuse it per policy. */
int store__on_message(int event, void *event_data, void *userdata);

/*
 * store__writer_init - prepare d->w (after the spool is open): replay
 * starts at the spool's checkpoint, and everything recovered there counts
 * as possibly stored (checked against MongoDB before writing) and as
 * replayed. Returns PC_OK or PC_ERR_NOMEM. store__writer_cleanup frees it.
 */
int store__writer_init(struct store__data *d);
void store__writer_cleanup(struct store__data *d);

/* store__work - the supervisor work function (pc_work_fn): arg is the struct store__data. */
int store__work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                size_t errlen);

/*
 * store__ensure_indexes - on the worker, after a connect: the unique
 * device_start_seq index of every collection and, with a retention, a TTL
 * index on end where the server has them (d->w.ttl). Once per process:
 * a collection whose indexes the server has answered for (made, or
 * refused) is marked in d->w.indexed and not asked again at the next
 * reconnect (a createIndexes takes a metadata lock on some servers and
 * must not queue behind every reconnect). Returns PC_OK, or PC_ERR_IO
 * when the connection failed (that collection is asked again next time);
 * index errors the server answers are logged and leave the writer working.
 */
int store__ensure_indexes(struct store__data *d, struct _mongoc_client_t *client, char *err,
                          size_t errlen);

/*
 * store__retention_sweep - delete the buckets of collections without a
 * TTL index whose slot ended more than the retention ago (worker).
 * Returns PC_OK or PC_ERR_IO (connection failed).
 */
int store__retention_sweep(struct store__data *d, struct _mongoc_client_t *client, int64_t now_ms,
                           char *err, size_t errlen);

#endif

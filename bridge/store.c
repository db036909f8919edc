/*
 * store.c - the MongoDB writer of the bridge (see store.h).
 *
 * The pending documents sit in a bounded, coalescing queue
 * (store_queue.c) under a mutex. Each call of the supervisor's work
 * function takes one batch of the oldest documents (at most `batch`, which
 * adapts to how long MongoDB takes), writes it collection by collection
 * (write_batch: an unordered insert, then a replacement by _id of each
 * document that existed already) and settles every document: written,
 * refused by the server (failed, logged), or put back. Every statement
 * is a whole-document insert or replacement, so a batch that timed out,
 * and that the server may have applied in part, is simply sent again:
 * each document ends with its latest revision whatever part of the first
 * attempt landed. A timeout or a lost connection puts the rest of the
 * batch back (counted in retried), halves the batch size, and holds
 * writes for half of write_timeout after the reconnect, so an overloaded
 * server is not handed the same work again while it may still be doing
 * the first attempt. One connection (a single-threaded client), one
 * request at a time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "precis/clock.h"
#include "precis/error.h"
#include "precis/mongo_conn.h"
#include "precis/mongo_error.h"
#include "precis/supervisor.h"
#include "store.h"
#include "store_queue.h"

#define BATCH_MAX       500     /* documents per bulk at most */
#define BATCH_BYTES_MAX 4000000 /* JSON bytes per batch at most (MongoDB's limit is 48 MB) */
#define FULL_LOG_MS     10000   /* at most one "queue full" line this often */

struct br_store {
	const struct br_config *c;
	const struct pc_logger *log;
	struct pc_mongo_conn conn;
	struct pc_supervisor *sup;
	pthread_mutex_t lock;
	struct br_sq q;       /* guarded by lock */
	bool full;            /* guarded by lock: refusing since full_since */
	int64_t full_logged;  /* guarded by lock: when "full" was last logged */
	uint64_t refused_log; /* guarded by lock: refused when that line was written */
	/* worker thread only */
	size_t batch;
	int64_t hold_until; /* no writes before this (mono ms) after a timeout */
	struct br_sq_doc **v;
	atomic_uint_fast64_t batches, timeouts;
	atomic_size_t avg_bytes; /* of the documents put, for br_sq_room */
};

/* The documents the engine can rebuild from its model (see store_queue.h). */
static bool rebuildable(const char *coll)
{
	return strcmp(coll, "recommendations") == 0 || strcmp(coll, "profiles") == 0;
}

/* One document, by itself; returns false on a transient failure (pc_mongo_failure_kind). */
static bool write_one(struct br_store *s, mongoc_collection_t *coll, struct br_sq_doc *p,
                      enum br_sq_outcome *out, char *err, size_t errlen)
{
	bson_t doc, sel, opts, reply;
	bson_error_t e;
	bool ok, transient;

	if (!bson_init_from_json(&doc, p->json, (ssize_t)p->len, &e)) {
		pc_log(s->log, PC_LOG_ERR, "store: %s/%s: not JSON: %s", p->coll, p->id, e.message);
		*out = BR_SQ_FAILED;
		return true;
	}
	bson_init(&sel);
	BSON_APPEND_UTF8(&sel, "_id", p->id);
	bson_init(&opts);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	ok = mongoc_collection_replace_one(coll, &sel, &doc, &opts, &reply, &e);
	transient = !ok && pc_mongo_failure_kind(&e, &reply) == PC_MONGO_TRANSIENT;
	bson_destroy(&reply);
	bson_destroy(&doc);
	bson_destroy(&sel);
	bson_destroy(&opts);
	if (ok) {
		*out = BR_SQ_WRITTEN;
		return true;
	}
	if (transient) {
		pc_errf(err, errlen, PC_ERR_IO, "%s", e.message);
		return false;
	}
	pc_log(s->log, PC_LOG_ERR, "store: %s/%s refused: %s", p->coll, p->id, e.message);
	*out = BR_SQ_FAILED;
	return true;
}

/* d = {_id: p->id, ...p->json}; false when the JSON does not parse (e set). */
static bool doc_with_id(bson_t *d, const struct br_sq_doc *p, bson_error_t *e)
{
	bson_t body;

	if (!bson_init_from_json(&body, p->json, (ssize_t)p->len, e))
		return false;
	bson_init(d);
	BSON_APPEND_UTF8(d, "_id", p->id);
	bson_concat(d, &body);
	bson_destroy(&body);
	return true;
}

/* The number of writeErrors entries in reply (0 when it has none). */
static size_t write_errors(const bson_t *reply)
{
	bson_iter_t it, arr;
	size_t n = 0;

	if (bson_iter_init_find(&it, reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr))
		while (bson_iter_next(&arr))
			n++;
	return n;
}

/*
 * Mark in dup the index of every writeErrors entry of reply with code
 * 11000 (duplicate key); returns how many there were (SIZE_MAX when the
 * reply has no writeErrors: the request itself was refused).
 */
static size_t duplicates(const bson_t *reply, bool *dup, size_t n)
{
	bson_iter_t it, arr, one;
	size_t found = 0;

	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return SIZE_MAX;
	while (bson_iter_next(&arr)) {
		int64_t index = -1, code = 0;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &one))
			continue;
		while (bson_iter_next(&one)) {
			if (strcmp(bson_iter_key(&one), "index") == 0)
				index = bson_iter_as_int64(&one);
			else if (strcmp(bson_iter_key(&one), "code") == 0)
				code = bson_iter_as_int64(&one);
		}
		if (code == 11000 && index >= 0 && (size_t)index < n) {
			dup[index] = true;
			found++;
		}
	}
	return found;
}

/*
 * Write batch[0..n) (one collection), setting out[k] for each document
 * settled; returns how many are settled: n, or fewer on a transient
 * failure (the rest are to be put back), with detail.
 *
 * New documents go in as one unordered insert (fast everywhere: FerretDB
 * inserts 5,000 documents in 0.3 s where an upsert of one costs a scan);
 * the ones that exist already (duplicate key, reported per document) are
 * then replaced one request each: FerretDB v1.24.2 on PostgreSQL takes
 * 0.9 s for a bulk of 10 replace-upserts on a 5,000-document collection
 * and hangs, for every client, on a bulk of 50 (measured; a single one
 * takes 4 ms). Any other refusal of the insert is retried one document at
 * a time too, so one bad document costs only itself.
 */
static size_t write_batch(struct br_store *s, mongoc_client_t *client, struct br_sq_doc **batch,
                          size_t n, enum br_sq_outcome *out, char *err, size_t errlen)
{
	mongoc_collection_t *coll =
	    mongoc_client_get_collection(client, s->conn.db, batch[0]->coll);
	mongoc_bulk_operation_t *bulk;
	bson_t opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	bool dup[BATCH_MAX] = {false}, any_other = false;
	size_t k, done = n;

	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (k = 0; k < n; k++) {
		bson_t doc;
		out[k] = BR_SQ_WRITTEN;
		if (!doc_with_id(&doc, batch[k], &e)) {
			dup[k] = true; /* write_one reports it */
			continue;
		}
		mongoc_bulk_operation_insert_with_opts(bulk, &doc, NULL, NULL);
		bson_destroy(&doc);
	}
	atomic_fetch_add(&s->batches, 1);
	if (!mongoc_bulk_operation_execute(bulk, &reply, &e)) {
		size_t nerr = write_errors(&reply);
		if (nerr > 0 && duplicates(&reply, dup, n) == nerr) {
			/* only documents that exist already: replaced below */
		} else if (pc_mongo_failure_kind(&e, &reply) == PC_MONGO_TRANSIENT) {
			pc_errf(err, errlen, PC_ERR_IO, "%s", e.message);
			done = 0;
		} else {
			/* Refused for another reason too: which documents went in is not known
			 * for sure from FerretDB's bulk error reports, so replace them all. */
			any_other = true;
		}
	}
	if (done == n) {
		for (k = 0; k < n; k++) {
			if (!dup[k] && !any_other)
				continue;
			if (!write_one(s, coll, batch[k], &out[k], err, errlen)) {
				done = k;
				break;
			}
		}
	}
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	bson_destroy(&opts);
	return done;
}

static int cmp_coll(const void *a, const void *b)
{
	const struct br_sq_doc *x = *(struct br_sq_doc *const *)a,
	                       *y = *(struct br_sq_doc *const *)b;

	return strcmp(x->coll, y->coll);
}

/* Settle v[0..n): out[k] for k < done, put back (in their order) from done on. */
static void settle(struct br_store *s, size_t n, size_t done, const enum br_sq_outcome *out)
{
	size_t k;

	pthread_mutex_lock(&s->lock);
	for (k = 0; k < done; k++)
		br_sq_settle(&s->q, s->v[k], out[k]);
	for (k = n; k > done; k--) /* prepended one by one: last first keeps the order */
		br_sq_settle(&s->q, s->v[k - 1], BR_SQ_RETRY);
	pthread_mutex_unlock(&s->lock);
}

static int work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                size_t errlen)
{
	struct br_store *s = arg;
	struct pc_mongo_conn *mc = conn;
	enum br_sq_outcome out[BATCH_MAX];
	size_t n, at = 0, done = 0;
	int64_t t0, took, now = pc_mono_ms();

	(void)fresh;
	if (!up)
		return PC_OK;
	if (now < s->hold_until) {
		*next_ms = s->hold_until - now;
		return PC_OK;
	}
	pthread_mutex_lock(&s->lock);
	n = br_sq_take(&s->q, s->v, s->batch, BATCH_BYTES_MAX);
	pthread_mutex_unlock(&s->lock);
	if (n == 0)
		return PC_OK;
	qsort(s->v, n, sizeof *s->v, cmp_coll);
	t0 = pc_mono_ms();
	while (at < n) {
		size_t len = 1, ok;
		while (at + len < n && strcmp(s->v[at + len]->coll, s->v[at]->coll) == 0)
			len++;
		ok = write_batch(s, mc->client, s->v + at, len, out + at, err, errlen);
		done = at + ok;
		if (ok < len)
			break;
		at += len;
	}
	took = pc_mono_ms() - t0;
	settle(s, n, done, out);
	if (done < n) { /* timeout or lost connection: smaller batches, and a pause */
		atomic_fetch_add(&s->timeouts, 1);
		pc_log(s->log, PC_LOG_WARNING,
		       "store: a write of %zu documents failed after %lld ms (%zu put back to be "
		       "sent again, batch now %zu)",
		       n, (long long)took, n - done, s->batch > 1 ? s->batch / 2 : 1);
		if (s->batch > 1)
			s->batch /= 2;
		s->hold_until = pc_mono_ms() + s->c->write_timeout_ms / 2;
		return PC_ERR_IO;
	}
	/* Aim for batches well inside write_timeout: grow when quick, shrink when slow. */
	if (took > s->c->write_timeout_ms / 4 && s->batch > 1)
		s->batch /= 2;
	else if (took < s->c->write_timeout_ms / 20 && n == s->batch && s->batch < BATCH_MAX)
		s->batch = s->batch * 2 < BATCH_MAX ? s->batch * 2 : BATCH_MAX;
	pthread_mutex_lock(&s->lock);
	if (s->q.st.pending)
		*next_ms = 0; /* more waits: come back at once */
	pthread_mutex_unlock(&s->lock);
	return PC_OK;
}

/* socketTimeoutMS: write_timeout unless the URI sets it (pc_mongo_conn_init used connect_timeout).
 */
static void apply_write_timeout(struct br_store *s)
{
	mongoc_uri_t *given = mongoc_uri_new_with_error(s->c->mongo_uri, NULL);

	if (given && !mongoc_uri_has_option(given, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(s->conn.uri, MONGOC_URI_SOCKETTIMEOUTMS,
		                               (int32_t)s->c->write_timeout_ms);
	mongoc_uri_destroy(given);
}

struct br_store *br_store_new(const struct br_config *c, const struct pc_logger *log, char *err,
                              size_t errlen)
{
	struct pc_supervisor_config sc = {
	    .check_interval_ms = 5000,
	    .backoff_min_ms = 100,
	    .backoff_max_ms = 10000,
	    .thread_name = "bridge-store",
	    .work = work,
	};
	struct br_store *s = calloc(1, sizeof *s);

	if (!s) {
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->c = c;
	s->log = log;
	s->batch = 100;
	atomic_store(&s->avg_bytes, 512);
	pthread_mutex_init(&s->lock, NULL);
	s->v = malloc(BATCH_MAX * sizeof *s->v);
	if (!s->v || br_sq_init(&s->q, (size_t)c->store_queue, (size_t)c->store_queue_bytes)) {
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (pc_mongo_conn_init(&s->conn, c->mongo_uri, c->mongo_db, c->connect_timeout_ms,
	                       "precis-bridge", err, errlen) != PC_OK)
		goto fail;
	apply_write_timeout(s);
	sc.work_arg = s;
	s->sup = pc_supervisor_start(&pc_mongo_backend_ops, &s->conn, &sc, log, err, errlen);
	if (!s->sup)
		goto fail;
	return s;
fail:
	pc_mongo_conn_cleanup(&s->conn);
	br_sq_cleanup(&s->q);
	free(s->v);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

/* Log the queue filling up and emptying again (the caller holds the lock). */
static void note_full(struct br_store *s, bool refused)
{
	int64_t now = pc_mono_ms();
	const struct br_sq_stats *st = &s->q.st;

	if (refused && (!s->full || now - s->full_logged >= FULL_LOG_MS)) {
		pc_log(s->log, PC_LOG_WARNING,
		       "store: write queue full (%zu documents, %zu bytes; limits %lld, %lld): "
		       "refusing new documents (%llu so far); recommendations and profiles are "
		       "rewritten from the model when there is room",
		       st->pending + st->inflight, st->bytes, (long long)s->c->store_queue,
		       (long long)s->c->store_queue_bytes, (unsigned long long)st->refused);
		s->full = true;
		s->full_logged = now;
		s->refused_log = st->refused;
	} else if (!refused && s->full && (st->pending + st->inflight) * 2 < s->q.max_docs &&
	           st->bytes * 2 < s->q.max_bytes) {
		pc_log(s->log, PC_LOG_NOTICE,
		       "store: write queue has room again (%zu documents; %llu refused while full)",
		       st->pending + st->inflight,
		       (unsigned long long)(st->refused - s->refused_log));
		s->full = false;
	}
}

int br_store_put(struct br_store *s, const char *coll, const char *id, const char *json, size_t len)
{
	int rc;
	size_t avg = atomic_load(&s->avg_bytes);

	atomic_store(&s->avg_bytes, avg - avg / 64 + len / 64);
	pthread_mutex_lock(&s->lock);
	rc = br_sq_put(&s->q, coll, id, json, len, rebuildable(coll));
	note_full(s, rc == PC_ERR_FULL);
	pthread_mutex_unlock(&s->lock);
	if (rc == PC_OK)
		pc_supervisor_wake(s->sup);
	return rc;
}

void br_store_stats(struct br_store *s, struct br_store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	note_full(s, false);
	out->queued = s->q.st.queued;
	out->coalesced = s->q.st.coalesced;
	out->refused = s->q.st.refused;
	out->written = s->q.st.written;
	out->failed = s->q.st.failed;
	out->retried = s->q.st.retried;
	out->dropped = s->q.st.dropped;
	out->pending = s->q.st.pending + s->q.st.inflight;
	out->pending_bytes = s->q.st.bytes;
	out->max_pending = s->q.st.max_pending;
	out->room = br_sq_room(&s->q, atomic_load(&s->avg_bytes));
	pthread_mutex_unlock(&s->lock);
	out->batches = atomic_load(&s->batches);
	out->timeouts = atomic_load(&s->timeouts);
	out->up = pc_supervisor_state(s->sup) == PC_BACKEND_UP;
}

void br_store_free(struct br_store *s, int64_t timeout_ms)
{
	struct timespec ts = {0, 10 * 1000000};
	size_t n;
	int64_t waited = 0;

	if (!s)
		return;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		n = s->q.st.pending + s->q.st.inflight;
		pthread_mutex_unlock(&s->lock);
		if (n == 0 || waited >= timeout_ms)
			break;
		pc_supervisor_wake(s->sup);
		nanosleep(&ts, NULL);
		waited += 10;
	}
	pc_supervisor_stop(s->sup); /* the batch in flight is settled before this returns */
	n = br_sq_cleanup(&s->q);
	if (n)
		pc_log(s->log, PC_LOG_WARNING,
		       "store: %zu documents not written (MongoDB unreachable)", n);
	pc_mongo_conn_cleanup(&s->conn);
	free(s->v);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

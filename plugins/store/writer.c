/*
 * writer.c - the store's worker: spool records -> bucket updates -> MongoDB.
 *
 * Runs as the work function of the MongoDB supervisor, so it owns the
 * connection and is the only writer of every bucket this broker fills
 * (FerretDB's updates are read-modify-write: one writer per document).
 * Each call writes batches until it catches up or its time slice ends:
 *
 *   1. read up to batch_max records from the spool, decode each payload,
 *      route it to a collection and a device (batch.c);
 *   2. for every slot touched, know the newest bucket (cached; else asked
 *      of MongoDB) and, for records that may already be stored (anything
 *      replayed after a restart or a failed write), the ids present;
 *      skip those, place the rest (caps, rollover);
 *   3. one update per bucket, one unordered bulk write per collection;
 *   4. on success move the spool checkpoint past the batch.
 *
 * A transient failure (connection, primary change) rewinds the spool and
 * hands the connection back to the supervisor, which reconnects; the
 * records stay in the spool. A batch the server refuses is redone one
 * record at a time, and a single record it refuses goes to the spool's
 * quarantine file (counted dropped/rejected), so no record can block
 * the spool. The same happens to a record whose write keeps failing
 * "transiently" with a healthy server behind it (FerretDB drops the
 * connection on some values). Nothing here calls mosquitto_*: logging goes
 * through the plugin's queued logger, counters are atomics.
 */
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "precis/bucket.h"
#include "precis/error.h"
#include "precis/hmap.h"
#include "precis/mongo_error.h"
#include "store.h"

/* Same batch failing this many times with a working connection: isolate it. */
#define POISON_ATTEMPTS 3
/* One call of the work function writes for at most this long. */
#define SLICE_MS 250
/* A backlog the spool cannot read now (a failing read) is tried again after this. */
#define READ_RETRY_MS 1000
/* Checkpoint at most this often while batches flow. */
#define CHECKPOINT_EVERY_MS 100
/* Forget slot states unused for this long (and sweep this often). */
#define SLOT_IDLE_MS   (10 * 60 * 1000)
#define SWEEP_EVERY_MS 60000
/*
 * Updates per update command. FerretDB v1.24.2 keeps the PostgreSQL
 * connection of every matched statement of an update command until the
 * command ends (a deferred close in a loop); at about 31 statements its
 * pool runs dry and the server stops answering anyone (measured: a bulk of
 * 32 update_one statements never returns, 30 take 80 ms). MongoDB has no
 * such limit; a few more round trips cost it little.
 */
#define UPDATES_PER_COMMAND 16
/* write_buckets: a bucket is not as the writer thought (an update's count guard missed). */
#define STORE_ERR_MOVED PC_ERR_RANGE

/* One statement of a bulk write: the items v[at .. at + n) of one bucket. */
struct store__stmt {
	size_t at, n;
	bool insert;
};

/* store__writer_init - contract in store.h. */
int store__writer_init(struct store__data *d)
{
	struct store__writer *w = &d->w;
	struct store__pos cm = store__spool_committed(&d->spool);
	size_t n = (size_t)d->conf.batch_max;

	memset(w, 0, sizeof *w);
	w->slots = pc_hmap_new(1024);
	w->items = calloc(n, sizeof *w->items);
	w->order = calloc(n, sizeof *w->order);
	w->stmts = calloc(n, sizeof(struct store__stmt));
	if (!w->slots || !w->items || !w->order || !w->stmts)
		return PC_ERR_NOMEM;
	w->cap = n;
	w->done = store__spool_position(&d->spool);
	w->uncertain_upto = cm.seq;
	w->run_first_seq = cm.seq;
	w->replay_upto = cm.seq;
	atomic_init(&w->idle, false);
	atomic_init(&w->draining, false);
	atomic_init(&w->done_seq, w->done.seq);
	return PC_OK;
}

/* Drop every cached slot state (after a failure: they may be ahead of MongoDB). */
static void forget_slots(struct store__writer *w)
{
	size_t cur = 0, len;
	const char *key;
	void *v;

	while (pc_hmap_next(w->slots, &cur, &key, &len, &v)) {
		pc_hmap_del(w->slots, key, len);
		free(v);
		cur--; /* deletion shifted the next entry into this slot */
	}
}

/* store__writer_cleanup - contract in store.h. */
void store__writer_cleanup(struct store__data *d)
{
	struct store__writer *w = &d->w;

	if (w->slots)
		forget_slots(w);
	pc_hmap_free(w->slots);
	free(w->items);
	free(w->order);
	free(w->stmts);
	w->stmts = NULL;
	w->slots = NULL;
	w->items = NULL;
	w->order = NULL;
}

/* sweep_slots - forget slot states nobody used for SLOT_IDLE_MS. */
static void sweep_slots(struct store__writer *w, int64_t now)
{
	size_t cur = 0, len;
	const char *key;
	void *v;

	while (pc_hmap_next(w->slots, &cur, &key, &len, &v)) {
		struct store__slot_entry *e = v;

		if (now - e->used_ms > SLOT_IDLE_MS) {
			pc_hmap_del(w->slots, key, len);
			free(e);
			cur--;
		}
	}
}

/*
 * While MongoDB is unavailable, every record not yet written is spooled
 * (counted once) and will count as replayed when it is written.
 */
static void outage_count(struct store__data *d)
{
	struct store__pos cm = store__spool_committed(&d->spool);

	if (!d->w.in_outage)
		return;
	if (cm.seq > d->w.outage_counted) {
		pb_count(&d->c.spooled, cm.seq - d->w.outage_counted);
		d->w.outage_counted = cm.seq;
	}
	if (cm.seq > d->w.replay_upto)
		d->w.replay_upto = cm.seq;
}

static void outage_begin(struct store__data *d)
{
	if (!d->w.in_outage) {
		d->w.in_outage = true;
		d->w.outage_counted = d->w.done.seq;
	}
	outage_count(d);
}

static void outage_end(struct store__data *d)
{
	outage_count(d);
	d->w.in_outage = false;
}

static int64_t reply_int(const bson_t *reply, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it)
	           ? bson_iter_as_int64(&it)
	           : -1;
}

/*
 * guessed_dups - whether a failed bulk failed only because some of its
 * inserts of guessed buckets (store__batch_place) found the bucket there:
 * every write error a duplicate key on such an insert, no write concern
 * error, every update matched. Then exactly those statements wrote nothing
 * and every other one was applied; their items are marked retry.
 */
static bool guessed_dups(const bson_t *reply, struct store__stmt *st, size_t nst, size_t updates,
                         struct store__item **v)
{
	bson_iter_t it, arr, e;
	size_t errors = 0;

	if (reply_int(reply, "nMatched") != (int64_t)updates ||
	    (bson_iter_init_find(&it, reply, "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
	     bson_iter_recurse(&it, &arr) && bson_iter_next(&arr)))
		return false;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return false;
	while (bson_iter_next(&arr)) {
		int64_t idx, code;
		bson_t doc;
		const uint8_t *data;
		uint32_t len;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			return false;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&doc, data, len))
			return false;
		idx = reply_int(&doc, "index");
		code = reply_int(&doc, "code");
		if (idx < 0 || (size_t)idx >= nst || code != 11000 || !st[idx].insert ||
		    !v[st[idx].at]->guess)
			return false;
		errors++;
	}
	if (errors == 0)
		return false;
	/* Second pass: the errors are all of that kind, mark their items. */
	bson_iter_init_find(&it, reply, "writeErrors");
	bson_iter_recurse(&it, &arr);
	while (bson_iter_next(&arr) && bson_iter_recurse(&arr, &e)) {
		if (bson_iter_find(&e, "index") && BSON_ITER_HOLDS_NUMBER(&e)) {
			const struct store__stmt *s = &st[bson_iter_as_int64(&e)];

			for (size_t k = s->at; k < s->at + s->n; k++)
				v[k]->retry = true;
		}
	}
	return true;
}

/*
 * execute - run one collection's bulk of nst statements (updates of them
 * updates). PC_OK; PC_ERR_DUPLICATE: only guessed inserts failed, their
 * items are marked retry, everything else is applied; STORE_ERR_MOVED: the
 * bulk was applied but an update's guard did not match (a bucket is not
 * what the writer thought: read the batch's slots again); PC_ERR_IO
 * (transient) or PC_ERR_BACKEND (refused).
 */
static int execute(struct store__data *d, mongoc_bulk_operation_t *bulk, struct store__stmt *st,
                   size_t nst, size_t updates, struct store__item **v, char *err, size_t errlen)
{
	bson_error_t berr;
	bson_t reply;
	int64_t t0 = pc_mono_ms(), ms;
	uint32_t ok = mongoc_bulk_operation_execute(bulk, &reply, &berr);
	int rc = PC_OK;

	ms = pc_mono_ms() - t0;
	atomic_store_explicit(&d->c.latency_ms, (uint64_t)ms, memory_order_relaxed);
	/* The first write of a publication window starts its maximum; until
	 * then the previous window's stands, so max_ms never reads below
	 * last_ms (it read 0 beside a last_ms of 171 after a quiet window). */
	if (atomic_exchange(&d->c.latency_window_new, false) ||
	    (uint64_t)ms > atomic_load_explicit(&d->c.latency_max_ms, memory_order_relaxed))
		atomic_store_explicit(&d->c.latency_max_ms, (uint64_t)ms, memory_order_relaxed);
	if (ok && reply_int(&reply, "nMatched") != (int64_t)updates) {
		pb_count(&d->c.write_errors, 1);
		rc =
		    pc_errf(err, errlen, STORE_ERR_MOVED,
		            "%" PRId64 " of %zu bucket updates matched (a bucket changed under the "
		            "writer)",
		            reply_int(&reply, "nMatched"), updates);
	} else if (!ok && guessed_dups(&reply, st, nst, updates, v)) {
		rc = PC_ERR_DUPLICATE;
	} else if (!ok) {
		pb_count(&d->c.write_errors, 1);
		rc = pc_mongo_failure_kind(&berr, &reply) == PC_MONGO_TRANSIENT ? PC_ERR_IO
		                                                                : PC_ERR_BACKEND;
		pc_errf(err, errlen, rc, "bulk write: %s (%u.%u)", berr.message, berr.domain,
		        berr.code);
	}
	bson_destroy(&reply);
	return rc;
}

/* add_stmt - the insert or the guarded update of the bucket of items v[i .. j). */
static int add_stmt(struct store__data *d, mongoc_bulk_operation_t *bulk, struct store__item **v,
                    size_t i, size_t j, char *err, size_t errlen)
{
	char id[PC_BUCKET_ID_MAX];
	bson_t sel = BSON_INITIALIZER, upd;
	bson_error_t berr;
	int rc = PC_OK;

	pc_bucket_id(id, sizeof id, v[i]->device, v[i]->device_len, v[i]->slot_start, v[i]->seq);
	if (v[i]->opens) {
		store__bucket_doc(&upd, id, v + i, j - i, d->conf.slot_ms, d->conf.stats);
		if (!mongoc_bulk_operation_insert_with_opts(bulk, &upd, NULL, &berr))
			rc = pc_errf(err, errlen, PC_ERR_BACKEND, "bulk insert: %s", berr.message);
	} else {
		/* Guarded by the count the writer knows: applied once, never on top of
		 * a write it cannot see (one that timed out, still running). */
		BSON_APPEND_UTF8(&sel, "_id", id);
		BSON_APPEND_INT32(&sel, PC_BUCKET_COUNT, (int32_t)v[i]->expect);
		store__bucket_update(&upd, v + i, j - i, d->conf.slot_ms, d->conf.stats);
		if (!mongoc_bulk_operation_update_one_with_opts(bulk, &sel, &upd, NULL, &berr))
			rc = pc_errf(err, errlen, PC_ERR_BACKEND, "bulk update: %s", berr.message);
	}
	bson_destroy(&sel);
	bson_destroy(&upd);
	return rc;
}

/*
 * write_buckets - write the m items of v (none duplicate): one statement
 * per bucket, unordered bulks per collection: all its inserts (a new
 * bucket is inserted whole) and at most UPDATES_PER_COMMAND updates (the
 * coalesced update of store__bucket_update, guarded by the bucket's
 * count) per bulk, so a bulk is two commands however the buckets
 * interleave. Returns as execute; with PC_ERR_DUPLICATE everything else
 * was still written.
 */
static int write_buckets(struct store__data *d, mongoc_client_t *client, struct store__item **v,
                         size_t m, char *err, size_t errlen)
{
	struct store__stmt *st = d->w.stmts;
	size_t i = 0;
	int rc = PC_OK;
	bool partial = false;

	qsort(v, m, sizeof *v, store__item_cmp);
	while (rc == PC_OK && i < m) {
		size_t coll = v[i]->coll, end = i, next_update = i;
		mongoc_collection_t *c =
		    mongoc_client_get_collection(client, d->mongo.db, d->routes.colls[coll]);
		bool inserts_done = false;

		while (end < m && v[end]->coll == coll)
			end++;
		while (rc == PC_OK && (!inserts_done || next_update < end)) {
			bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
			mongoc_bulk_operation_t *bulk =
			    mongoc_collection_create_bulk_operation_with_opts(c, opts);
			size_t nst = 0, updates = 0, a, b;

			for (a = i; !inserts_done && rc == PC_OK && a < end; a = b) {
				for (b = a + 1; b < end && store__same_bucket(v[a], v[b]); b++)
					;
				if (!v[a]->opens)
					continue;
				rc = add_stmt(d, bulk, v, a, b, err, errlen);
				st[nst++] = (struct store__stmt){a, b - a, true};
			}
			inserts_done = true;
			for (a = next_update;
			     rc == PC_OK && a < end && updates < UPDATES_PER_COMMAND; a = b) {
				for (b = a + 1; b < end && store__same_bucket(v[a], v[b]); b++)
					;
				if (v[a]->opens)
					continue;
				rc = add_stmt(d, bulk, v, a, b, err, errlen);
				st[nst++] = (struct store__stmt){a, b - a, false};
				updates++;
			}
			next_update = a;
			if (rc == PC_OK && nst > 0)
				rc = execute(d, bulk, st, nst, updates, v, err, errlen);
			if (rc == PC_ERR_DUPLICATE) {
				partial = true;
				rc = PC_OK;
			}
			mongoc_bulk_operation_destroy(bulk);
			bson_destroy(opts);
		}
		mongoc_collection_destroy(c);
		i = end;
	}
	return rc == PC_OK && partial ? PC_ERR_DUPLICATE : rc;
}

/*
 * write_batch - place and write the n decoded items of d->w.order. The
 * items of slots guessed empty that were not get one more round: read,
 * placed and written again (they wrote nothing the first time).
 */
static int write_batch(struct store__data *d, mongoc_client_t *client, size_t n, char *err,
                       size_t errlen)
{
	struct store__item **v = d->w.order;
	size_t m = 0, r = 0;
	int rc = store__batch_place(d, client, v, n, true, err, errlen);

	if (rc != PC_OK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		if (!v[k]->duplicate)
			v[m++] = v[k];
	}
	rc = write_buckets(d, client, v, m, err, errlen);
	if (rc != PC_ERR_DUPLICATE)
		return rc;
	for (size_t k = 0; k < m; k++) {
		if (v[k]->retry) {
			store__batch_forget(d, v[k]);
			v[k]->retry = false;
			v[r++] = v[k];
		}
	}
	rc = store__batch_place(d, client, v, r, false, err, errlen);
	if (rc == PC_OK)
		rc = write_buckets(d, client, v, r, err, errlen);
	if (rc == PC_ERR_DUPLICATE)
		rc = pc_errf(err, errlen, STORE_ERR_MOVED, "a bucket read as missing was there");
	return rc;
}

/*
 * count_written - the counters of a batch that reached MongoDB. A sample
 * found already stored was written by a previous run (a duplicate) or by
 * this process's own write that failed ambiguously (a timeout, a lost
 * connection): the latter counts as persisted, once, now.
 */
static void count_written(struct store__data *d, size_t n)
{
	uint64_t persisted = 0, dup = 0, replayed = 0;

	for (size_t k = 0; k < n; k++) {
		const struct store__item *it = &d->w.items[k];

		if (it->duplicate && it->rec_seq < d->w.run_first_seq) {
			dup++;
			continue;
		}
		persisted++;
		replayed += it->rec_seq < d->w.replay_upto;
	}
	pb_count(&d->c.persisted, persisted);
	pb_count(&d->c.duplicates, dup);
	pb_count(&d->c.replayed, replayed);
	if (persisted)
		pb_count(&d->c.batches, 1);
}

static void log_write_problem(struct store__data *d, const char *what, uint64_t seq,
                              const char *detail, const char *then)
{
	uint64_t suppressed;

	if (store__ratelog_allow(&d->w.rl_write, pc_mono_ms(), &suppressed))
		pc_log(&d->base.log, PC_LOG_ERR, "%s %" PRIu64 " refused by MongoDB (%s); %s", what,
		       seq, detail, then);
	if (suppressed)
		pc_log(&d->base.log, PC_LOG_ERR, "%" PRIu64 " more write problems not logged",
		       suppressed);
}

/* quarantine - set record rec aside: it cannot be written. */
static void quarantine(struct store__data *d, const struct store__record *rec, const char *why)
{
	int rc = store__spool_quarantine(&d->spool, rec);

	pb_count(&d->c.dropped_rejected, 1);
	log_write_problem(d, "record", rec->seq, why,
	                  rc == PC_OK ? "kept in rejected.spool"
	                              : "rejected.spool is full, record dropped");
}

/*
 * run_batch - read, place and write one batch. PC_OK: the batch is
 * handled (written, or set aside); PC_ERR_EMPTY: nothing to read;
 * PC_ERR_IO: the connection failed (the spool is rewound).
 */
static int run_batch(struct store__data *d, mongoc_client_t *client, char *err, size_t errlen)
{
	struct store__writer *w = &d->w;
	struct store__pos start = store__spool_position(&d->spool), end = start;
	bool isolated = start.seq < w->isolate_upto;
	size_t max = isolated ? 1 : w->cap, n = 0, handled = 0;
	struct store__record rec;
	uint64_t bytes = 0, lost;
	int rc = PC_OK;

	while (handled < max && bytes < STORE_BATCH_BYTES_MAX &&
	       store__spool_next(&d->spool, &rec, &end) == PC_OK) {
		handled++;
		if (store__batch_decode(d, &rec, &w->items[n])) {
			bytes += w->items[n].sample.len;
			w->order[n] = &w->items[n];
			n++;
		}
	}
	lost = store__spool_take_lost(&d->spool);
	if (lost)
		pb_count(&d->c.dropped_corrupt, lost);
	if (handled == 0)
		return PC_ERR_EMPTY;
	if (n > 0)
		rc = write_batch(d, client, n, err, errlen);
	if (rc == PC_OK)
		count_written(d, n);
	for (size_t k = 0; k < n; k++)
		bson_destroy(&w->items[k].sample);

	if (rc != PC_OK) {
		forget_slots(w);
		if (end.seq > w->uncertain_upto)
			w->uncertain_upto = end.seq;
		store__spool_rewind(&d->spool, &start);
		if (start.seq == w->fail_seq) {
			w->fail_count++;
		} else {
			w->fail_seq = start.seq;
			w->fail_count = 1;
		}
	}
	if (rc == STORE_ERR_MOVED) {
		/* Not where the writer thought: the batch again, its slots read first,
		 * on the same connection. Repeated, it is treated as a lost connection. */
		log_write_problem(d, "batch from record", start.seq, err,
		                  "reading its buckets again");
		if (w->fail_count < POISON_ATTEMPTS)
			return PC_OK;
		rc = PC_ERR_IO;
	}
	if (rc == PC_ERR_BACKEND && !isolated) {
		/* Which update was refused? Write the batch again one record at a time. */
		w->isolate_upto = end.seq;
		log_write_problem(d, "batch from record", start.seq, err,
		                  "writing it one record at a time");
		return PC_OK;
	}
	if (rc == PC_ERR_IO && w->fail_count >= POISON_ATTEMPTS && !isolated) {
		w->isolate_upto = end.seq;
		w->fail_count = 0;
	} else if ((rc == PC_ERR_BACKEND ||
	            (rc == PC_ERR_IO && w->fail_count >= POISON_ATTEMPTS)) &&
	           isolated) {
		quarantine(d, &rec, err); /* the one record read: its buffer is still valid */
		rc = rc == PC_ERR_BACKEND ? PC_OK : rc;
		w->fail_count = 0;
	} else if (rc != PC_OK) {
		return rc;
	}
	if (rc == PC_OK || isolated) {
		w->done = end;
		store__spool_rewind(&d->spool, &end);
		atomic_store(&w->done_seq, end.seq);
		w->ck_dirty = true;
	}
	return rc;
}

/* batch_due - whether to write now, or (false) how long to let the batch grow. */
static bool batch_due(struct store__data *d, uint64_t backlog, int64_t *wait_ms)
{
	struct store__record rec;
	struct store__pos after;
	int64_t age;

	if (atomic_load(&d->w.draining) || backlog >= (uint64_t)d->conf.batch_max ||
	    d->conf.batch_delay_ms == 0 || d->w.done.seq < d->w.isolate_upto)
		return true;
	if (store__spool_next(&d->spool, &rec, &after) != PC_OK)
		return true;
	store__spool_rewind(&d->spool, &d->w.done);
	age = pc_wall_ms() - rec.recv_ms;
	if (age >= d->conf.batch_delay_ms)
		return true;
	*wait_ms = d->conf.batch_delay_ms - (age > 0 ? age : 0);
	return false;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* housekeeping - checkpoint, fsync, retention, cache sweep when due; *next_ms shrinks to the next.
 */
static int housekeeping(struct store__data *d, mongoc_client_t *client, int64_t *next_ms, char *err,
                        size_t errlen)
{
	struct store__writer *w = &d->w;
	int64_t now = pc_mono_ms();
	int rc = PC_OK;

	if (w->ck_dirty && (now >= w->ck_at || atomic_load(&w->draining))) {
		if (store__spool_checkpoint(&d->spool, &w->done, false) == PC_OK)
			w->ck_dirty = false;
		w->ck_at = now + CHECKPOINT_EVERY_MS;
	}
	if (w->ck_dirty)
		*next_ms = min64(*next_ms, w->ck_at - now);
	if (d->conf.spool_sync_ms > 0) {
		if (now >= w->sync_at) {
			store__spool_sync(&d->spool);
			w->sync_at = now + d->conf.spool_sync_ms;
		}
		*next_ms = min64(*next_ms, w->sync_at - now);
	}
	if (client && d->conf.retention_ms > 0) {
		if (now >= w->retention_at) {
			rc = store__retention_sweep(d, client, pc_wall_ms(), err, errlen);
			w->retention_at = now + d->conf.retention_interval_ms;
		}
		*next_ms = min64(*next_ms, w->retention_at - now);
	}
	if (now >= w->sweep_at) {
		sweep_slots(w, now);
		w->sweep_at = now + SWEEP_EVERY_MS;
	}
	if (*next_ms < 0)
		*next_ms = 0;
	return rc;
}

/* store__work - contract in store.h. */
int store__work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                size_t errlen)
{
	struct store__data *d = arg;
	struct store__writer *w = &d->w;
	mongoc_client_t *client = up ? ((struct pc_mongo_conn *)conn)->client : NULL;
	int64_t deadline = pc_mono_ms() + SLICE_MS, wait = *next_ms;
	int rc;

	atomic_store(&d->c.spool_bytes, atomic_load(&d->spool.bytes));
	if (!up) {
		outage_begin(d);
		housekeeping(d, NULL, next_ms, err, errlen);
		return PC_OK;
	}
	if (fresh) {
		outage_end(d);
		forget_slots(w);
		rc = store__ensure_indexes(d, client, err, errlen);
		if (rc != PC_OK) {
			outage_begin(d);
			return rc;
		}
	}
	for (;;) {
		uint64_t backlog = store__spool_committed(&d->spool).seq - w->done.seq;

		if (backlog == 0) {
			atomic_store(&w->idle, true);
			if (store__spool_committed(&d->spool).seq == w->done.seq)
				break;
			atomic_store(&w->idle, false);
			continue;
		}
		if (!batch_due(d, backlog, &wait))
			break;
		rc = run_batch(d, client, err, errlen);
		if (rc == PC_ERR_IO) {
			outage_begin(d);
			return rc;
		}
		if (rc == PC_ERR_EMPTY) { /* a backlog, but nothing readable: never spin */
			wait = READ_RETRY_MS;
			break;
		}
		if (pc_mono_ms() >= deadline) {
			wait = 0;
			break;
		}
	}
	*next_ms = wait;
	rc = housekeeping(d, client, next_ms, err, errlen);
	if (rc == PC_ERR_IO)
		outage_begin(d);
	return rc;
}

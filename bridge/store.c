/*
 * store.c - the MongoDB writer of the bridge (see store.h).
 *
 * The pending documents sit in a hash map keyed by collection and _id
 * under a mutex. The supervisor's work function swaps the whole map out,
 * writes it collection by collection as one unordered bulk of upserts,
 * and on a connection failure puts back every document that no newer
 * revision has replaced meanwhile, then reports the failure so the
 * supervisor reconnects. A bulk that fails for another reason (a document
 * the server refuses) is retried one document at a time, so one bad
 * document costs only itself.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "precis/error.h"
#include "precis/mongo_error.h"
#include "precis/hmap.h"
#include "precis/mongo_conn.h"
#include "precis/supervisor.h"
#include "store.h"

#define COLL_MAX 32
#define KEY_MAX  512 /* collection, separator, _id (ids are at most 3 * 64 + 32) */
#define ID_MAX   (KEY_MAX - COLL_MAX - 2) /* longest _id that fits a key: 478 */

struct pend {
	char coll[COLL_MAX];
	char *id;
	char *json;
	size_t len;
};

struct br_store {
	const struct br_config *c;
	const struct pc_logger *log;
	struct pc_mongo_conn conn;
	struct pc_supervisor *sup;
	pthread_mutex_t lock;
	struct pc_hmap *pending; /* guarded by lock */
	atomic_uint_fast64_t queued, written, dropped, failed, batches;
	atomic_size_t inflight; /* documents taken by the worker, not yet written or put back */
};

static void pend_free(struct pend *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->json);
	free(p);
}

static size_t make_key(char *key, size_t cap, const char *coll, const char *id)
{
	return (size_t)snprintf(key, cap, "%s%c%s", coll, 1, id);
}

/* Put p back unless a newer revision is pending (the caller holds the lock). */
static void requeue(struct br_store *s, struct pend *p)
{
	char key[KEY_MAX];
	size_t klen = make_key(key, sizeof key, p->coll, p->id);

	if (pc_hmap_get(s->pending, key, klen) || pc_hmap_put(s->pending, key, klen, p, NULL)) {
		pend_free(p);
		return;
	}
}

/* One document, by itself; returns false on a transient failure (pc_mongo_failure_kind). */
static bool write_one(struct br_store *s, mongoc_collection_t *coll, struct pend *p, char *err,
                      size_t errlen)
{
	bson_t doc, sel, opts, reply;
	bson_error_t e;
	bool ok, transient;

	if (!bson_init_from_json(&doc, p->json, (ssize_t)p->len, &e)) {
		atomic_fetch_add(&s->failed, 1);
		pc_log(s->log, PC_LOG_ERR, "store: %s/%s: not JSON: %s", p->coll, p->id, e.message);
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
		atomic_fetch_add(&s->written, 1);
		return true;
	}
	if (transient) {
		pc_errf(err, errlen, PC_ERR_IO, "%s", e.message);
		return false;
	}
	atomic_fetch_add(&s->failed, 1);
	pc_log(s->log, PC_LOG_ERR, "store: %s/%s refused: %s", p->coll, p->id, e.message);
	return true;
}

/* Write batch[0..n) (one collection) as one bulk; false on a transient failure. */
static bool write_bulk(struct br_store *s, mongoc_client_t *client, struct pend **batch, size_t n,
                       char *err, size_t errlen)
{
	mongoc_collection_t *coll =
	    mongoc_client_get_collection(client, s->conn.db, batch[0]->coll);
	mongoc_bulk_operation_t *bulk;
	bson_t opts = BSON_INITIALIZER, uopts = BSON_INITIALIZER, reply;
	bson_error_t e;
	size_t k;
	bool ok = true;

	BSON_APPEND_BOOL(&opts, "ordered", false);
	BSON_APPEND_BOOL(&uopts, "upsert", true);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (k = 0; k < n; k++) {
		bson_t doc, sel;
		if (!bson_init_from_json(&doc, batch[k]->json, (ssize_t)batch[k]->len, &e))
			continue; /* write_one reports it if the bulk is retried; never happens here
			           */
		bson_init(&sel);
		BSON_APPEND_UTF8(&sel, "_id", batch[k]->id);
		mongoc_bulk_operation_replace_one_with_opts(bulk, &sel, &doc, &uopts, NULL);
		bson_destroy(&doc);
		bson_destroy(&sel);
	}
	atomic_fetch_add(&s->batches, 1);
	if (mongoc_bulk_operation_execute(bulk, &reply, &e)) {
		atomic_fetch_add(&s->written, n);
	} else if (pc_mongo_failure_kind(&e, &reply) == PC_MONGO_TRANSIENT) {
		pc_errf(err, errlen, PC_ERR_IO, "%s", e.message);
		ok = false;
	} else {
		/* FerretDB stops at the first refused document and reports no counts: redo one by
		 * one. */
		for (k = 0; k < n && ok; k++)
			ok = write_one(s, coll, batch[k], err, errlen);
	}
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	bson_destroy(&opts);
	bson_destroy(&uopts);
	return ok;
}

static int cmp_coll(const void *a, const void *b)
{
	const struct pend *x = *(struct pend *const *)a, *y = *(struct pend *const *)b;

	return strcmp(x->coll, y->coll);
}

static int work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                size_t errlen)
{
	struct br_store *s = arg;
	struct pc_mongo_conn *mc = conn;
	struct pc_hmap *batch;
	struct pend **v;
	size_t n, cur = 0, k, at, failed_at = SIZE_MAX;
	void *val;

	(void)fresh;
	(void)next_ms;
	if (!up)
		return PC_OK;
	pthread_mutex_lock(&s->lock);
	n = pc_hmap_count(s->pending);
	if (n == 0) {
		pthread_mutex_unlock(&s->lock);
		return PC_OK;
	}
	batch = s->pending;
	s->pending = pc_hmap_new(n);
	if (!s->pending) {
		s->pending = batch;
		pthread_mutex_unlock(&s->lock);
		return PC_OK;
	}
	atomic_store(&s->inflight, n);
	pthread_mutex_unlock(&s->lock);
	v = malloc(n * sizeof *v);
	if (!v) { /* put everything back and try again later */
		pthread_mutex_lock(&s->lock);
		while (pc_hmap_next(batch, &cur, NULL, NULL, &val))
			requeue(s, val);
		atomic_store(&s->inflight, 0);
		pthread_mutex_unlock(&s->lock);
		pc_hmap_free(batch);
		return PC_OK;
	}
	for (k = 0; pc_hmap_next(batch, &cur, NULL, NULL, &val);)
		v[k++] = val;
	pc_hmap_free(batch);
	qsort(v, n, sizeof *v, cmp_coll);
	for (at = 0; at < n && failed_at == SIZE_MAX;) {
		size_t len = 1;
		while (at + len < n && len < 500 && strcmp(v[at + len]->coll, v[at]->coll) == 0)
			len++;
		if (!write_bulk(s, mc->client, v + at, len, err, errlen))
			failed_at = at;
		else
			at += len;
	}
	pthread_mutex_lock(&s->lock);
	for (k = 0; k < n; k++) {
		if (failed_at != SIZE_MAX && k >= failed_at)
			requeue(s, v[k]);
		else
			pend_free(v[k]);
	}
	atomic_store(&s->inflight, 0);
	pthread_mutex_unlock(&s->lock);
	free(v);
	return failed_at == SIZE_MAX ? PC_OK : PC_ERR_IO;
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
	pthread_mutex_init(&s->lock, NULL);
	s->pending = pc_hmap_new(0);
	if (!s->pending ||
	    pc_mongo_conn_init(&s->conn, c->mongo_uri, c->mongo_db, c->connect_timeout_ms,
	                       "precis-bridge", err, errlen) != PC_OK)
		goto fail;
	sc.work_arg = s;
	s->sup = pc_supervisor_start(&pc_mongo_backend_ops, &s->conn, &sc, log, err, errlen);
	if (!s->sup)
		goto fail;
	return s;
fail:
	pc_mongo_conn_cleanup(&s->conn);
	pc_hmap_free(s->pending);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

int br_store_put(struct br_store *s, const char *coll, const char *id, const char *json, size_t len)
{
	char key[KEY_MAX];
	size_t klen;
	struct pend *p = calloc(1, sizeof *p);
	void *old = NULL;
	int rc;

	if (!p || strlen(coll) >= COLL_MAX || strlen(id) > ID_MAX || !(p->id = strdup(id)) ||
	    !(p->json = malloc(len + 1))) {
		pend_free(p);
		atomic_fetch_add(&s->dropped, 1);
		return -1;
	}
	strcpy(p->coll, coll);
	memcpy(p->json, json, len);
	p->json[len] = '\0';
	p->len = len;
	klen = make_key(key, sizeof key, coll, id);
	pthread_mutex_lock(&s->lock);
	if (!pc_hmap_get(s->pending, key, klen) &&
	    pc_hmap_count(s->pending) >= (size_t)s->c->store_queue) {
		rc = PC_ERR_FULL;
	} else {
		rc = pc_hmap_put(s->pending, key, klen, p, &old);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != PC_OK) {
		pend_free(p);
		atomic_fetch_add(&s->dropped, 1);
		return -1;
	}
	pend_free(old);
	atomic_fetch_add(&s->queued, 1);
	pc_supervisor_wake(s->sup);
	return 0;
}

void br_store_stats(struct br_store *s, struct br_store_stats *out)
{
	out->queued = atomic_load(&s->queued);
	out->written = atomic_load(&s->written);
	out->dropped = atomic_load(&s->dropped);
	out->failed = atomic_load(&s->failed);
	out->batches = atomic_load(&s->batches);
	pthread_mutex_lock(&s->lock);
	out->pending = pc_hmap_count(s->pending);
	pthread_mutex_unlock(&s->lock);
	out->up = pc_supervisor_state(s->sup) == PC_BACKEND_UP;
}

void br_store_free(struct br_store *s, int64_t timeout_ms)
{
	struct timespec ts = {0, 10 * 1000000};
	size_t n, cur = 0;
	int64_t waited = 0;
	void *val;

	if (!s)
		return;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		n = pc_hmap_count(s->pending) + atomic_load(&s->inflight);
		pthread_mutex_unlock(&s->lock);
		if (n == 0 || waited >= timeout_ms)
			break;
		pc_supervisor_wake(s->sup);
		nanosleep(&ts, NULL);
		waited += 10;
	}
	pc_supervisor_stop(s->sup);
	n = pc_hmap_count(s->pending);
	if (n)
		pc_log(s->log, PC_LOG_WARNING,
		       "store: %zu documents not written (MongoDB unreachable)", n);
	while (pc_hmap_next(s->pending, &cur, NULL, NULL, &val)) {
		pend_free(val);
		atomic_fetch_add(&s->dropped, 1);
	}
	pc_hmap_free(s->pending);
	pc_mongo_conn_cleanup(&s->conn);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

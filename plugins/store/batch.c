/*
 * batch.c - decode spool records into samples and place them in buckets.
 *
 * Placement needs, per slot, the newest bucket's seq, count and bytes.
 * The writer is the only one filling its devices' buckets, so it keeps
 * them in a hash map and asks MongoDB only for slots it has not seen
 * (after a start, a failure, or a sweep): the slot's buckets by _id,
 * projecting count and bytes. A slot it has never seen whose records are
 * all known new is not read at all: it is taken to be empty, and its
 * buckets are inserted whole; the server's duplicate key on such an insert
 * sends those records back here to be placed after a read (writer.c). Samples that may already be
 * stored (records replayed after a restart or a failed write) make those reads also return the ids
 * of the slot's samples; those found are marked duplicate and not written again, which makes replay
 * idempotent. See batch.h.
 */
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "payload.h"
#include "precis/bucket.h"
#include "precis/error.h"
#include "precis/hmap.h"
#include "precis/mongo_error.h"
#include "precis/slot.h"

static void log_data_problem(struct store__data *d, const char *what, const struct store__record *r,
                             const char *detail)
{
	uint64_t suppressed;

	if (store__ratelog_allow(&d->w.rl_data, pc_mono_ms(), &suppressed))
		pc_log(&d->base.log, PC_LOG_WARNING, "%s on '%.*s' (record %" PRIu64 "): %s", what,
		       (int)r->topic_len, r->topic, r->seq, detail);
	if (suppressed)
		pc_log(&d->base.log, PC_LOG_WARNING, "%" PRIu64 " more payload problems not logged",
		       suppressed);
}

/* store__batch_decode - contract in batch.h. */
bool store__batch_decode(struct store__data *d, const struct store__record *rec,
                         struct store__item *item)
{
	char topic[STORE_FILTER_MAX + PC_TOPIC_MAX + 1], err[160];
	const char *id;
	size_t id_len;
	struct store__payload p;
	int route, rc;

	if (rec->topic_len >= sizeof topic) {
		pb_count(&d->c.dropped_unrouted, 1);
		return false;
	}
	memcpy(topic, rec->topic, rec->topic_len);
	topic[rec->topic_len] = '\0';
	route = store__route_match(&d->routes, topic, &id, &id_len);
	if (route < 0 || pc_id_check(id, id_len, NULL, 0) != PC_OK) {
		pb_count(&d->c.dropped_unrouted, 1);
		log_data_problem(d, "no collection", rec,
		                 "the topic matches no plugin_opt_collections "
		                 "entry (was the option changed?)");
		return false;
	}
	memset(item, 0, sizeof *item);
	item->coll = d->routes.route[route].coll;
	memcpy(item->device, id, id_len);
	item->device[id_len] = '\0';
	item->device_len = id_len;
	item->rec_seq = rec->seq;
	item->id = pc_sample_id(d->spool.epoch, rec->seq);
	item->uncertain = rec->seq < d->w.uncertain_upto;
	rc = store__payload_decode(rec->payload, rec->payload_len, rec->recv_ms,
	                           d->conf.nested_arrays == STORE_NESTED_WRAP, &p, err, sizeof err);

	if (rc == PC_OK) {
		item->t_ms = p.t_ms;
		store__sample_build(&item->sample, item->id, p.t_ms, &p.doc, NULL, 0, p.fixes);
		item->stats_doc = true;
		if (p.fixes)
			pb_count(&d->c.sanitized, 1);
		if (p.ts_bad)
			pb_count(&d->c.bad_ts, 1);
		bson_destroy(&p.doc);
	} else if (rc == PC_ERR_INVAL && d->conf.non_json == STORE_NONJSON_BINARY) {
		/* Not JSON: kept as bytes. A JSON object BSON cannot hold is
		 * refused below in either mode: it is JSON, not opaque bytes. */
		item->t_ms = rec->recv_ms;
		store__sample_build(&item->sample, item->id, rec->recv_ms, NULL, rec->payload,
		                    rec->payload_len, 0);
		pb_count(&d->c.binary, 1);
	} else {
		pb_count(&d->c.dropped_malformed, 1);
		log_data_problem(d, "payload rejected", rec, err);
		return false;
	}
	if (item->sample.len > STORE_SAMPLE_BYTES_MAX) {
		bson_destroy(&item->sample);
		pb_count(&d->c.dropped_rejected, 1);
		log_data_problem(d, "sample dropped", rec, "larger than 15 MiB as BSON");
		return false;
	}
	item->slot_start = pc_slot_start(item->t_ms, d->conf.slot_ms);
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static bool ids_add(struct ids *s, int64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		int64_t *v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return true;
}

/* collect_ids - the sample ids of a bucket document into ids. */
static bool collect_ids(const bson_t *doc, struct ids *ids)
{
	bson_iter_t it, arr, f;

	if (!bson_iter_init_find(&it, doc, PC_BUCKET_SAMPLES) || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return true;
	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &f) &&
		    bson_iter_find(&f, PC_SAMPLE_ID) && BSON_ITER_HOLDS_NUMBER(&f) &&
		    !ids_add(ids, bson_iter_as_int64(&f)))
			return false;
	}
	return true;
}

static int64_t field_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
	           ? bson_iter_as_int64(&it)
	           : 0;
}

/*
 * probe - read bucket seq of item's slot by _id (the one filter FerretDB
 * pushes down to its storage; an index seek on MongoDB). *found says
 * whether it exists; its seq/count/bytes go to *st and, with ids, its
 * sample ids to ids.
 */
static int probe(struct store__data *d, mongoc_collection_t *coll, const struct store__item *item,
                 uint32_t seq, bool *found, struct store__slot_state *st, struct ids *ids,
                 char *err, size_t errlen)
{
	char id[PC_BUCKET_ID_MAX];
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_t *filter, *opts;
	bson_error_t berr;
	int rc = PC_OK;

	*found = false;
	if (pc_bucket_id(id, sizeof id, item->device, item->device_len, item->slot_start, seq) < 0)
		return pc_errf(err, errlen, PC_ERR_BACKEND, "bucket id out of range");
	filter = BCON_NEW("_id", BCON_UTF8(id));
	if (ids)
		opts = BCON_NEW("limit", BCON_INT64(1), "projection", "{", PC_BUCKET_COUNT,
		                BCON_INT32(1), PC_BUCKET_BYTES, BCON_INT32(1),
		                PC_BUCKET_SAMPLES "." PC_SAMPLE_ID, BCON_INT32(1), "}");
	else
		opts = BCON_NEW("limit", BCON_INT64(1), "projection", "{", PC_BUCKET_COUNT,
		                BCON_INT32(1), PC_BUCKET_BYTES, BCON_INT32(1), "}");
	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	if (mongoc_cursor_next(cur, &doc)) {
		*found = true;
		st->seq = seq;
		st->count = (uint32_t)field_int(doc, PC_BUCKET_COUNT);
		st->bytes = (uint64_t)field_int(doc, PC_BUCKET_BYTES);
		if (ids && !collect_ids(doc, ids))
			rc = pc_errf(err, errlen, PC_ERR_IO, "out of memory");
	}
	if (rc == PC_OK && mongoc_cursor_error_document(cur, &berr, &doc)) {
		rc = pc_mongo_failure_kind(&berr, doc) == PC_MONGO_TRANSIENT ? PC_ERR_IO
		                                                             : PC_ERR_BACKEND;
		pc_errf(err, errlen, rc, "reading bucket %s: %s", id, berr.message);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	bson_destroy(opts);
	return rc;
}

/*
 * load_slot - the newest bucket of item's slot into *st (zeros when the
 * slot has none) and, when ids is non-NULL, every sample id stored in the
 * slot, sorted. A slot's buckets are numbered 0, 1, ... without gaps, so
 * they are read by _id one after the other until one is missing.
 */
static int load_slot(struct store__data *d, mongoc_client_t *client, const struct store__item *item,
                     struct store__slot_state *st, struct ids *ids, char *err, size_t errlen)
{
	mongoc_collection_t *coll =
	    mongoc_client_get_collection(client, d->mongo.db, d->routes.colls[item->coll]);
	bool found = true;
	int rc = PC_OK;

	*st = (struct store__slot_state){0, 0, 0};
	for (uint32_t seq = 0; rc == PC_OK && found && seq <= PC_BUCKET_SEQ_MAX; seq++)
		rc = probe(d, coll, item, seq, &found, st, ids, err, errlen);
	mongoc_collection_destroy(coll);
	if (ids && ids->n)
		qsort(ids->v, ids->n, sizeof *ids->v, cmp_i64);
	return rc;
}

static bool same_slot(const struct store__item *a, const struct store__item *b)
{
	return a->coll == b->coll && a->device_len == b->device_len &&
	       memcmp(a->device, b->device, a->device_len) == 0 && a->slot_start == b->slot_start;
}

static int slot_key(char *key, size_t len, const struct store__item *item)
{
	return snprintf(key, len, "%zu/%s/%" PRId64, item->coll, item->device, item->slot_start);
}

/* store__batch_forget - contract in batch.h. */
void store__batch_forget(struct store__data *d, const struct store__item *item)
{
	char key[PC_ID_MAX + 64];
	int klen = slot_key(key, sizeof key, item);
	void *e = pc_hmap_get(d->w.slots, key, (size_t)klen);

	if (e) {
		pc_hmap_del(d->w.slots, key, (size_t)klen);
		free(e);
	}
}

/*
 * place_slot - place the n items of one slot, loading its state first when
 * needed (or, with guess and no item uncertain, taking an unknown slot to be
 * empty: one round trip fewer per new slot, the common case of a flood of
 * new devices or a new hour).
 */
static int place_slot(struct store__data *d, mongoc_client_t *client, struct store__item **v,
                      size_t n, bool guess, char *err, size_t errlen)
{
	struct store__writer *w = &d->w;
	char key[PC_ID_MAX + 64];
	int klen = slot_key(key, sizeof key, v[0]);
	struct store__slot_entry *e = pc_hmap_get(w->slots, key, (size_t)klen);
	struct ids ids = {NULL, 0, 0};
	bool check = false, guessed = false;
	struct store__caps caps = d->caps;
	uint32_t base_seq, base_count, fresh = 0;
	uint64_t fresh_bytes = 0;
	int rc = PC_OK;

	for (size_t i = 0; i < n; i++)
		check = check || v[i]->uncertain;
	if (!e || check) {
		struct store__slot_state st = {0, 0, 0};

		if (!e && !check && guess)
			guessed = true;
		else
			rc = load_slot(d, client, v[0], &st, check ? &ids : NULL, err, errlen);
		if (rc != PC_OK) {
			free(ids.v);
			return rc;
		}
		if (!e) {
			e = malloc(sizeof *e);
			if (!e || pc_hmap_put(w->slots, key, (size_t)klen, e, NULL) != PC_OK) {
				free(e);
				free(ids.v);
				return pc_errf(err, errlen, PC_ERR_IO, "out of memory");
			}
		}
		e->st = st;
	}
	for (size_t i = 0; i < n; i++) {
		v[i]->duplicate = v[i]->uncertain && ids.n &&
		                  bsearch(&v[i]->id, ids.v, ids.n, sizeof *ids.v, cmp_i64);
		if (!v[i]->duplicate) {
			fresh++;
			fresh_bytes += v[i]->sample.len;
		}
	}
	if (store__bucket_reopen(&e->st, fresh, fresh_bytes, &d->caps)) {
		/* Spread the batch evenly over the buckets it needs: each at least half full. */
		uint32_t k = (fresh + caps.max_samples - 1) / caps.max_samples;

		caps.max_samples = (fresh + k - 1) / k;
	}
	base_seq = e->st.seq;
	base_count = e->st.count;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->duplicate)
			continue;
		v[i]->seq = store__bucket_place(&e->st, (uint32_t)v[i]->sample.len, &caps);
		v[i]->opens = e->st.count == 1; /* the first sample of a new bucket */
		v[i]->guess = guessed;
		v[i]->expect = v[i]->seq == base_seq ? base_count : 0;
	}
	e->used_ms = pc_mono_ms();
	free(ids.v);
	return PC_OK;
}

/* store__batch_place - contract in batch.h. */
int store__batch_place(struct store__data *d, struct _mongoc_client_t *client,
                       struct store__item **v, size_t n, bool guess, char *err, size_t errlen)
{
	int rc = PC_OK;

	/* seq is 0 everywhere yet: this groups by slot, in record order. */
	qsort(v, n, sizeof *v, store__item_cmp);
	for (size_t i = 0, j; rc == PC_OK && i < n; i = j) {
		for (j = i + 1; j < n && same_slot(v[i], v[j]); j++)
			;
		rc = place_slot(d, client, v + i, j - i, guess, err, errlen);
	}
	return rc;
}

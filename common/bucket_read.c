/*
 * bucket_read.c - pc_bucket_read: one device's samples, in time order.
 *
 * Buckets come slot by slot, either by _id (slot length known: seq 0,
 * 1, ... of each slot until one is missing) or from one find
 * {device, start < to, end > from} sorted by {start, seq} (MongoDB's
 * device_start_seq index; shard-targeted when sharded on device). The
 * buckets of one slot are kept (copies) until the next slot begins, their
 * in-range samples sorted by (t, seq, position) and handed out. A sample can arrive late, in a
 * later bucket of its slot, so sorting within the slot is what makes the order right; no sample
 * ever crosses a slot. Runs on the caller's thread; no logging.
 */
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

#include "precis/bucket.h"
#include "precis/bucket_read.h"
#include "precis/error.h"
#include "precis/slot.h"
#include "precis/topic.h"

struct ref {
	int64_t t;
	uint32_t seq;
	uint32_t pos;
	bson_iter_t sample; /* points into one of the slot's bucket copies */
};

struct slot {
	int64_t start;
	bson_t **docs;
	size_t ndocs, capdocs;
	struct ref *refs;
	size_t nrefs, caprefs;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void slot_clear(struct slot *s)
{
	for (size_t i = 0; i < s->ndocs; i++)
		bson_destroy(s->docs[i]);
	s->ndocs = 0;
	s->nrefs = 0;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* date_field - a BSON date (or integer ms) at key of the document at it. */
static bool time_of(const bson_iter_t *it, int64_t *ms)
{
	if (BSON_ITER_HOLDS_DATE_TIME(it)) {
		*ms = bson_iter_date_time(it);
		return true;
	}
	if (BSON_ITER_HOLDS_INT64(it) || BSON_ITER_HOLDS_INT32(it)) {
		*ms = bson_iter_as_int64(it);
		return true;
	}
	return false;
}

/* add_samples - reference every in-range sample of bucket doc (owned by s from now on). */
static int add_samples(struct slot *s, bson_t *doc, int64_t from, int64_t to, uint32_t seq,
                       struct pc_bucket_read_stats *st)
{
	bson_iter_t it, arr;
	uint32_t pos = 0;

	if (!grow((void **)&s->docs, &s->capdocs, s->ndocs + 1, sizeof *s->docs)) {
		bson_destroy(doc);
		return PC_ERR_NOMEM;
	}
	s->docs[s->ndocs++] = doc;
	if (!bson_iter_init_find(&it, doc, PC_BUCKET_SAMPLES) || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr)) {
		st->skipped++;
		return PC_OK;
	}
	while (bson_iter_next(&arr)) {
		bson_iter_t f;
		int64_t t;

		pos++;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &f) ||
		    !bson_iter_find(&f, PC_SAMPLE_TIME) || !time_of(&f, &t)) {
			st->skipped++;
			continue;
		}
		if (t < from || t >= to)
			continue;
		if (!grow((void **)&s->refs, &s->caprefs, s->nrefs + 1, sizeof *s->refs))
			return PC_ERR_NOMEM;
		s->refs[s->nrefs++] = (struct ref){t, seq, pos, arr};
	}
	return PC_OK;
}

/* emit - hand the slot's samples out in order; returns fn's stop value or PC_OK. */
static int emit(struct slot *s, const char *device, pc_sample_fn fn, void *arg,
                struct pc_bucket_read_stats *st)
{
	if (s->nrefs > 1)
		qsort(s->refs, s->nrefs, sizeof *s->refs, ref_cmp);
	for (size_t i = 0; i < s->nrefs; i++) {
		struct pc_sample out = {.device = device, .t_ms = s->refs[i].t};
		bson_iter_t f;
		bson_t doc;
		bool have_doc = false;
		int rc;

		out.slot_start = s->start;
		out.seq = s->refs[i].seq;
		if (!bson_iter_recurse(&s->refs[i].sample, &f))
			continue;
		while (bson_iter_next(&f)) {
			const char *k = bson_iter_key(&f);

			if (strcmp(k, PC_SAMPLE_ID) == 0 && BSON_ITER_HOLDS_NUMBER(&f)) {
				out.id = bson_iter_as_int64(&f);
			} else if (strcmp(k, PC_SAMPLE_FIXED) == 0 && BSON_ITER_HOLDS_NUMBER(&f)) {
				out.fixes = (int32_t)bson_iter_as_int64(&f);
			} else if (strcmp(k, PC_SAMPLE_DATA) == 0 && BSON_ITER_HOLDS_DOCUMENT(&f)) {
				const uint8_t *data;
				uint32_t len;

				bson_iter_document(&f, &len, &data);
				have_doc = bson_init_static(&doc, data, len);
			} else if (strcmp(k, PC_SAMPLE_DATA) == 0 && BSON_ITER_HOLDS_BINARY(&f)) {
				bson_subtype_t sub;

				bson_iter_binary(&f, &sub, &out.bin_len, &out.bin);
				out.binary = true;
			}
		}
		if (!have_doc && !out.binary) {
			st->skipped++;
			continue;
		}
		out.doc = have_doc ? &doc : NULL;
		st->samples++;
		rc = fn(arg, &out);
		if (rc != 0)
			return rc;
	}
	slot_clear(s);
	return PC_OK;
}

/* bucket_of - take doc (a bucket) into the slot being collected, emitting the previous slot. */
static int bucket_of(struct slot *s, const bson_t *doc, const char *device, int64_t from_ms,
                     int64_t to_ms, pc_sample_fn fn, void *arg, struct pc_bucket_read_stats *st)
{
	bson_iter_t it;
	int64_t start;
	uint32_t seq = 0;
	int rc = PC_OK;

	st->buckets++;
	if (!bson_iter_init_find(&it, doc, PC_BUCKET_START) || !time_of(&it, &start)) {
		st->skipped++;
		return PC_OK;
	}
	if (bson_iter_init_find(&it, doc, PC_BUCKET_SEQ) && BSON_ITER_HOLDS_NUMBER(&it))
		seq = (uint32_t)bson_iter_as_int64(&it);
	if (start != s->start) {
		rc = emit(s, device, fn, arg, st);
		s->start = start;
	}
	return rc == PC_OK ? add_samples(s, bson_copy(doc), from_ms, to_ms, seq, st) : rc;
}

/* cursor_done - PC_OK, or the cursor's error as PC_ERR_IO with detail. */
static int cursor_done(mongoc_cursor_t *cur, char *err, size_t errlen)
{
	bson_error_t berr;

	if (mongoc_cursor_error(cur, &berr))
		return pc_errf(err, errlen, PC_ERR_IO, "%s", berr.message);
	return PC_OK;
}

/* read_by_id - the buckets of every slot of [from, to), each fetched by its _id. */
static int read_by_id(struct _mongoc_collection_t *coll, struct slot *s, const char *device,
                      int64_t from_ms, int64_t to_ms, int64_t slot_ms, pc_sample_fn fn, void *arg,
                      struct pc_bucket_read_stats *st, char *err, size_t errlen)
{
	size_t dlen = strlen(device);
	int rc = PC_OK;

	for (int64_t start = pc_slot_start(from_ms, slot_ms); rc == PC_OK && start < to_ms;
	     start += slot_ms) {
		for (uint32_t seq = 0; rc == PC_OK && seq <= PC_BUCKET_SEQ_MAX; seq++) {
			char id[PC_BUCKET_ID_MAX];
			bson_t *filter;
			mongoc_cursor_t *cur;
			const bson_t *doc;
			bool found = false;

			if (pc_bucket_id(id, sizeof id, device, dlen, start, seq) < 0)
				return pc_errf(err, errlen, PC_ERR_INVAL, "time out of range");
			filter = BCON_NEW("_id", BCON_UTF8(id));
			cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
			st->queries++;
			if (mongoc_cursor_next(cur, &doc)) {
				found = true;
				rc = bucket_of(s, doc, device, from_ms, to_ms, fn, arg, st);
			}
			if (rc == PC_OK)
				rc = cursor_done(cur, err, errlen);
			mongoc_cursor_destroy(cur);
			bson_destroy(filter);
			if (!found)
				break;
		}
	}
	return rc;
}

/* read_by_range - the overlapping buckets from one find, sorted by slot and seq. */
static int read_by_range(struct _mongoc_collection_t *coll, struct slot *s, const char *device,
                         int64_t from_ms, int64_t to_ms, pc_sample_fn fn, void *arg,
                         struct pc_bucket_read_stats *st, char *err, size_t errlen)
{
	bson_t *filter, *opts;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	int rc = PC_OK;

	filter = BCON_NEW(PC_BUCKET_DEVICE, BCON_UTF8(device), PC_BUCKET_START, "{", "$lt",
	                  BCON_DATE_TIME(to_ms), "}", PC_BUCKET_END, "{", "$gt",
	                  BCON_DATE_TIME(from_ms), "}");
	opts = BCON_NEW("sort", "{", PC_BUCKET_START, BCON_INT32(1), PC_BUCKET_SEQ, BCON_INT32(1),
	                "}");
	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	st->queries++;
	while (rc == PC_OK && mongoc_cursor_next(cur, &doc))
		rc = bucket_of(s, doc, device, from_ms, to_ms, fn, arg, st);
	if (rc == PC_OK)
		rc = cursor_done(cur, err, errlen);
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	bson_destroy(opts);
	return rc;
}

/* pc_bucket_read - contract in bucket_read.h. */
int pc_bucket_read(struct _mongoc_collection_t *coll, const char *device, int64_t from_ms,
                   int64_t to_ms, int64_t slot_ms, pc_sample_fn fn, void *arg,
                   struct pc_bucket_read_stats *stats, char *err, size_t errlen)
{
	struct pc_bucket_read_stats local = {0};
	struct pc_bucket_read_stats *st = stats ? stats : &local;
	struct slot s = {.start = INT64_MIN};
	int rc;

	*st = (struct pc_bucket_read_stats){0};
	if (!device || pc_id_check(device, strlen(device), err, errlen) != PC_OK)
		return PC_ERR_INVAL;
	if (to_ms <= from_ms)
		return PC_OK;
	if (slot_ms > 0)
		rc =
		    read_by_id(coll, &s, device, from_ms, to_ms, slot_ms, fn, arg, st, err, errlen);
	else
		rc = read_by_range(coll, &s, device, from_ms, to_ms, fn, arg, st, err, errlen);
	if (rc == PC_OK)
		rc = emit(&s, device, fn, arg, st);
	slot_clear(&s);
	free(s.docs);
	free(s.refs);
	return rc;
}

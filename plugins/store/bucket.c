/*
 * bucket.c - bucket placement with caps, sample documents, coalesced updates.
 *
 * Contracts in bucket.h. The update of a bucket is written so that
 * applying it to a missing document creates the whole bucket (upsert):
 * $setOnInsert holds the fields that never change, every other field
 * is one $inc, $min or $max, so the same statement works for the first
 * and for every later batch, and two batches commute. Pure libbson.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bucket.h"
#include "precis/bucket.h"

/* store__bucket_place - contract in bucket.h. */
uint32_t store__bucket_place(struct store__slot_state *st, uint32_t bytes,
                             const struct store__caps *caps)
{
	if (st->count > 0 && st->seq < PC_BUCKET_SEQ_MAX &&
	    (st->count >= caps->max_samples || st->bytes + bytes > caps->max_bytes)) {
		st->seq++;
		st->count = 0;
		st->bytes = 0;
	}
	st->count++;
	st->bytes += bytes;
	return st->seq;
}

/* store__bucket_reopen - contract in bucket.h. */
bool store__bucket_reopen(struct store__slot_state *st, uint32_t n, uint64_t bytes,
                          const struct store__caps *caps)
{
	if (st->count == 0 || st->seq >= PC_BUCKET_SEQ_MAX ||
	    ((uint64_t)n * 2 < caps->max_samples && bytes * 2 < caps->max_bytes))
		return false;
	st->seq++;
	st->count = 0;
	st->bytes = 0;
	return true;
}

/* store__sample_build - contract in bucket.h. */
void store__sample_build(bson_t *out, int64_t id, int64_t t_ms, const bson_t *doc,
                         const uint8_t *bin, size_t bin_len, unsigned fixes)
{
	bson_init(out);
	BSON_APPEND_INT64(out, PC_SAMPLE_ID, id);
	BSON_APPEND_DATE_TIME(out, PC_SAMPLE_TIME, t_ms);
	if (doc) {
		BSON_APPEND_DOCUMENT(out, PC_SAMPLE_DATA, doc);
	} else {
		BSON_APPEND_BINARY(out, PC_SAMPLE_DATA, BSON_SUBTYPE_BINARY, bin,
		                   (uint32_t)bin_len);
		BSON_APPEND_BOOL(out, PC_SAMPLE_BINARY, true);
	}
	if (fixes > 0)
		BSON_APPEND_INT32(out, PC_SAMPLE_FIXED, (int32_t)fixes);
}

static int cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* store__item_cmp - contract in bucket.h. */
int store__item_cmp(const void *a, const void *b)
{
	const struct store__item *x = *(struct store__item *const *)a;
	const struct store__item *y = *(struct store__item *const *)b;
	int c;

	if (x->coll != y->coll)
		return x->coll < y->coll ? -1 : 1;
	if (x->device_len != y->device_len)
		return x->device_len < y->device_len ? -1 : 1;
	c = memcmp(x->device, y->device, x->device_len);
	if (c != 0)
		return c;
	if ((c = cmp64(x->slot_start, y->slot_start)) != 0)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->rec_seq < y->rec_seq ? -1 : x->rec_seq > y->rec_seq;
}

/* store__same_bucket - contract in bucket.h. */
bool store__same_bucket(const struct store__item *a, const struct store__item *b)
{
	return a->coll == b->coll && a->device_len == b->device_len &&
	       memcmp(a->device, b->device, a->device_len) == 0 && a->slot_start == b->slot_start &&
	       a->seq == b->seq;
}

struct stat_acc {
	char key[STORE_STATS_KEY_MAX + 1];
	double min, max, sum;
	int64_t n;
};

/* What the items of one bucket add up to. */
struct totals {
	int64_t tmin, tmax, bytes;
	struct stat_acc acc[STORE_STATS_FIELDS_MAX];
	size_t nacc;
};

/* stats_add - fold the numeric top-level fields of one sample's d into t. */
static void stats_add(struct totals *t, const bson_t *sample)
{
	bson_iter_t it, d;

	if (!bson_iter_init_find(&it, sample, PC_SAMPLE_DATA) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
	    !bson_iter_recurse(&it, &d))
		return;
	while (bson_iter_next(&d)) {
		const char *k = bson_iter_key(&d);
		size_t kl = bson_iter_key_len(&d), i;
		double v;

		if (!(BSON_ITER_HOLDS_DOUBLE(&d) || BSON_ITER_HOLDS_INT32(&d) ||
		      BSON_ITER_HOLDS_INT64(&d)))
			continue;
		if (kl == 0 || kl > STORE_STATS_KEY_MAX || strcmp(k, "ts") == 0)
			continue;
		v = bson_iter_as_double(&d);
		if (!isfinite(v))
			continue;
		for (i = 0; i < t->nacc && strcmp(t->acc[i].key, k) != 0; i++)
			;
		if (i == t->nacc) {
			if (t->nacc == STORE_STATS_FIELDS_MAX)
				continue;
			memcpy(t->acc[i].key, k, kl + 1);
			t->acc[i].min = t->acc[i].max = v;
			t->acc[i].sum = 0;
			t->acc[i].n = 0;
			t->nacc++;
		}
		t->acc[i].min = fmin(t->acc[i].min, v);
		t->acc[i].max = fmax(t->acc[i].max, v);
		t->acc[i].sum += v;
		t->acc[i].n++;
	}
}

static void add_up(struct totals *t, struct store__item *const *items, size_t n, bool stats)
{
	t->tmin = t->tmax = items[0]->t_ms;
	t->bytes = 0;
	t->nacc = 0;
	for (size_t i = 0; i < n; i++) {
		t->tmin = items[i]->t_ms < t->tmin ? items[i]->t_ms : t->tmin;
		t->tmax = items[i]->t_ms > t->tmax ? items[i]->t_ms : t->tmax;
		t->bytes += items[i]->sample.len;
		if (stats && items[i]->stats_doc)
			stats_add(t, &items[i]->sample);
	}
}

static void stat_path(char *buf, size_t len, const char *key, const char *leaf)
{
	snprintf(buf, len, "%s.%.64s.%s", PC_BUCKET_STATS, key, leaf);
}

/* fixed_fields - device, start, end and seq of the items' bucket into doc. */
static void fixed_fields(bson_t *doc, const struct store__item *first, int64_t slot_len_ms)
{
	bson_append_utf8(doc, PC_BUCKET_DEVICE, -1, first->device, (int)first->device_len);
	BSON_APPEND_DATE_TIME(doc, PC_BUCKET_START, first->slot_start);
	BSON_APPEND_DATE_TIME(doc, PC_BUCKET_END, first->slot_start + slot_len_ms);
	BSON_APPEND_INT32(doc, PC_BUCKET_SEQ, (int32_t)first->seq);
}

/* samples_array - the items' sample documents as array key of doc. */
static void samples_array(bson_t *doc, const char *key, struct store__item *const *items, size_t n)
{
	bson_t arr;

	bson_append_array_begin(doc, key, -1, &arr);
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *k;
		size_t kl = bson_uint32_to_string((uint32_t)i, &k, buf, sizeof buf);

		bson_append_document(&arr, k, (int)kl, &items[i]->sample);
	}
	bson_append_array_end(doc, &arr);
}

/* bound - the $min (or $max) of an update: first (last) and the stats' lower (upper) bounds. */
static void bound(bson_t *update, const struct totals *t, bool upper)
{
	char path[STORE_STATS_KEY_MAX + 32];
	bson_t doc;

	bson_append_document_begin(update, upper ? "$max" : "$min", -1, &doc);
	BSON_APPEND_DATE_TIME(&doc, upper ? PC_BUCKET_LAST : PC_BUCKET_FIRST,
	                      upper ? t->tmax : t->tmin);
	for (size_t i = 0; i < t->nacc; i++) {
		stat_path(path, sizeof path, t->acc[i].key, upper ? "max" : "min");
		BSON_APPEND_DOUBLE(&doc, path, upper ? t->acc[i].max : t->acc[i].min);
	}
	bson_append_document_end(update, &doc);
}

/* store__bucket_update - contract in bucket.h. */
void store__bucket_update(bson_t *update, struct store__item *const *items, size_t n,
                          int64_t slot_len_ms, bool stats)
{
	struct totals t;
	char path[STORE_STATS_KEY_MAX + 32];
	bson_t doc, each;

	add_up(&t, items, n, stats);
	bson_init(update);
	BSON_APPEND_DOCUMENT_BEGIN(update, "$setOnInsert", &doc);
	fixed_fields(&doc, items[0], slot_len_ms);
	bson_append_document_end(update, &doc);

	BSON_APPEND_DOCUMENT_BEGIN(update, "$push", &doc);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, PC_BUCKET_SAMPLES, &each);
	samples_array(&each, "$each", items, n);
	bson_append_document_end(&doc, &each);
	bson_append_document_end(update, &doc);

	BSON_APPEND_DOCUMENT_BEGIN(update, "$inc", &doc);
	BSON_APPEND_INT32(&doc, PC_BUCKET_COUNT, (int32_t)n);
	BSON_APPEND_INT64(&doc, PC_BUCKET_BYTES, t.bytes);
	for (size_t i = 0; i < t.nacc; i++) {
		stat_path(path, sizeof path, t.acc[i].key, "sum");
		BSON_APPEND_DOUBLE(&doc, path, t.acc[i].sum);
		stat_path(path, sizeof path, t.acc[i].key, "n");
		BSON_APPEND_INT64(&doc, path, t.acc[i].n);
	}
	bson_append_document_end(update, &doc);

	bound(update, &t, false);
	bound(update, &t, true);
}

/* store__bucket_doc - contract in bucket.h. */
void store__bucket_doc(bson_t *doc, const char *id, struct store__item *const *items, size_t n,
                       int64_t slot_len_ms, bool stats)
{
	struct totals t;
	bson_t sub, f;

	add_up(&t, items, n, stats);
	bson_init(doc);
	BSON_APPEND_UTF8(doc, "_id", id);
	fixed_fields(doc, items[0], slot_len_ms);
	BSON_APPEND_INT32(doc, PC_BUCKET_COUNT, (int32_t)n);
	BSON_APPEND_INT64(doc, PC_BUCKET_BYTES, t.bytes);
	BSON_APPEND_DATE_TIME(doc, PC_BUCKET_FIRST, t.tmin);
	BSON_APPEND_DATE_TIME(doc, PC_BUCKET_LAST, t.tmax);
	samples_array(doc, PC_BUCKET_SAMPLES, items, n);
	if (t.nacc == 0)
		return;
	BSON_APPEND_DOCUMENT_BEGIN(doc, PC_BUCKET_STATS, &sub);
	for (size_t i = 0; i < t.nacc; i++) {
		bson_append_document_begin(&sub, t.acc[i].key, -1, &f);
		BSON_APPEND_DOUBLE(&f, "min", t.acc[i].min);
		BSON_APPEND_DOUBLE(&f, "max", t.acc[i].max);
		BSON_APPEND_DOUBLE(&f, "sum", t.acc[i].sum);
		BSON_APPEND_INT64(&f, "n", t.acc[i].n);
		bson_append_document_end(&sub, &f);
	}
	bson_append_document_end(doc, &sub);
}

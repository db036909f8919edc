/*
 * test_store_bucket.c - unit tests for plugins/store/bucket.c: placement
 * against the sample and byte caps (rollover, an oversize sample alone in
 * its bucket, the last seq taking everything), sample documents (JSON
 * and binary), the grouping order, and the coalesced update of a bucket
 * compared field by field with the expected document, with and without
 * numeric stats, and the whole document of a new bucket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "cu_run.h"
#include "precis/bucket.h"

#define H  INT64_C(3600000)
#define T0 INT64_C(1795424400000) /* 2026-11-23T09:00:00Z */

static void test_place_sample_cap(void)
{
	struct store__caps caps = {3, 1 << 20};
	struct store__slot_state st = {0, 0, 0};
	uint32_t seqs[8];

	for (int i = 0; i < 8; i++)
		seqs[i] = store__bucket_place(&st, 10, &caps);
	CU_ASSERT_EQUAL(seqs[0], 0);
	CU_ASSERT_EQUAL(seqs[2], 0);
	CU_ASSERT_EQUAL(seqs[3], 1);
	CU_ASSERT_EQUAL(seqs[5], 1);
	CU_ASSERT_EQUAL(seqs[6], 2);
	CU_ASSERT_EQUAL(st.seq, 2);
	CU_ASSERT_EQUAL(st.count, 2);
	CU_ASSERT_EQUAL(st.bytes, 20);
}

static void test_place_byte_cap(void)
{
	struct store__caps caps = {1000, 100};
	struct store__slot_state st = {0, 0, 0};

	CU_ASSERT_EQUAL(store__bucket_place(&st, 60, &caps), 0);
	CU_ASSERT_EQUAL(store__bucket_place(&st, 40, &caps), 0); /* exactly at the cap */
	CU_ASSERT_EQUAL(store__bucket_place(&st, 1, &caps), 1);
	CU_ASSERT_EQUAL(store__bucket_place(&st, 250, &caps),
	                2); /* oversize: a bucket of its own */
	CU_ASSERT_EQUAL(st.count, 1);
	CU_ASSERT_EQUAL(store__bucket_place(&st, 5, &caps), 3);
	/* A state loaded from MongoDB continues where it was. */
	st = (struct store__slot_state){7, 2, 95};
	CU_ASSERT_EQUAL(store__bucket_place(&st, 5, &caps), 7);
	CU_ASSERT_EQUAL(store__bucket_place(&st, 5, &caps), 8);
	/* The last seq takes everything. */
	st = (struct store__slot_state){PC_BUCKET_SEQ_MAX, 5000, 1 << 20};
	CU_ASSERT_EQUAL(store__bucket_place(&st, 5, &caps), PC_BUCKET_SEQ_MAX);
	CU_ASSERT_EQUAL(st.count, 5001);
}

static void test_reopen(void)
{
	static const struct {
		struct store__slot_state st;
		uint32_t n;
		uint64_t bytes;
		bool reopened;
		uint32_t seq;
	} rows[] = {
	    {{0, 0, 0}, 900, 900, false, 0},  /* an empty slot: nothing to spare */
	    {{3, 10, 10}, 499, 10, false, 3}, /* less than half a bucket: top up */
	    {{3, 10, 10}, 500, 10, true, 4},  /* half a bucket of samples */
	    {{3, 10, 10}, 1, 50000, true, 4}, /* half a bucket of bytes */
	    {{3, 1000, 10}, 1, 10, false, 3}, /* full: store__bucket_place rolls it */
	    {{PC_BUCKET_SEQ_MAX, 5, 5}, 900, 900, false, PC_BUCKET_SEQ_MAX}, /* nowhere to go */
	};
	struct store__caps caps = {1000, 100000};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct store__slot_state st = rows[i].st;

		CU_ASSERT_EQUAL(store__bucket_reopen(&st, rows[i].n, rows[i].bytes, &caps),
		                rows[i].reopened);
		CU_ASSERT_EQUAL(st.seq, rows[i].seq);
		CU_ASSERT_EQUAL(st.count, rows[i].reopened ? 0 : rows[i].st.count);
	}
}

/* expect_equal - got equals the document want_json describes; destroys got. */
static void expect_equal(bson_t *got, const char *want_json)
{
	bson_t want;
	bson_error_t e;

	CU_ASSERT_FATAL(bson_init_from_json(&want, want_json, -1, &e));
	CU_ASSERT_TRUE(bson_equal(got, &want));
	bson_destroy(got);
	bson_destroy(&want);
}

static void test_sample_documents(void)
{
	bson_t doc, s;
	bson_error_t e;
	const uint8_t raw[] = {0x00, 0xff, 'x'};

	CU_ASSERT(bson_init_from_json(&doc, "{\"v\": 1}", -1, &e));
	store__sample_build(&s, -42, T0 + 5, &doc, NULL, 0, 0);
	expect_equal(&s, "{\"i\": {\"$numberLong\": \"-42\"}, \"t\": {\"$date\": "
	                 "{\"$numberLong\": \"1795424400005\"}}, \"d\": {\"v\": 1}}");
	store__sample_build(&s, 7, T0, &doc, NULL, 0, 3);
	expect_equal(&s, "{\"i\": {\"$numberLong\": \"7\"}, \"t\": {\"$date\": "
	                 "{\"$numberLong\": \"1795424400000\"}}, \"d\": {\"v\": 1}, \"fix\": 3}");
	store__sample_build(&s, 8, T0, NULL, raw, sizeof raw, 0);
	expect_equal(&s, "{\"i\": {\"$numberLong\": \"8\"}, \"t\": {\"$date\": "
	                 "{\"$numberLong\": \"1795424400000\"}}, \"d\": {\"$binary\": "
	                 "{\"base64\": \"AP94\", \"subType\": \"00\"}}, \"bin\": true}");
	bson_destroy(&doc);
}

static struct store__item *item(struct store__item *it, size_t coll, const char *dev, int64_t slot,
                                uint32_t seq, uint64_t rec, int64_t t, const char *json)
{
	bson_t d;
	bson_error_t e;

	memset(it, 0, sizeof *it);
	it->coll = coll;
	strcpy(it->device, dev);
	it->device_len = strlen(dev);
	it->slot_start = slot;
	it->seq = seq;
	it->rec_seq = rec;
	it->t_ms = t;
	it->id = (int64_t)rec * 10;
	CU_ASSERT(bson_init_from_json(&d, json, -1, &e));
	store__sample_build(&it->sample, it->id, t, &d, NULL, 0, 0);
	it->stats_doc = true;
	bson_destroy(&d);
	return it;
}

static void test_grouping_order(void)
{
	struct store__item v[7];
	struct store__item *p[7];

	p[0] = item(&v[0], 1, "a", T0, 0, 5, T0, "{}");
	p[1] = item(&v[1], 0, "b", T0, 0, 6, T0, "{}");
	p[2] = item(&v[2], 0, "a", T0 + H, 0, 1, T0 + H, "{}");
	p[3] = item(&v[3], 0, "a", T0, 1, 2, T0, "{}");
	p[4] = item(&v[4], 0, "a", T0, 0, 9, T0, "{}");
	p[5] = item(&v[5], 0, "a", T0, 0, 3, T0, "{}");
	p[6] = item(&v[6], 0, "ab", T0, 0, 4, T0, "{}");
	qsort(p, 7, sizeof p[0], store__item_cmp);
	/* coll 0 first; then device (shorter first: a, b, ab); slot; seq; record order. */
	CU_ASSERT_PTR_EQUAL(p[0], &v[5]);
	CU_ASSERT_PTR_EQUAL(p[1], &v[4]);
	CU_ASSERT_PTR_EQUAL(p[2], &v[3]);
	CU_ASSERT_PTR_EQUAL(p[3], &v[2]);
	CU_ASSERT_PTR_EQUAL(p[4], &v[1]);
	CU_ASSERT_PTR_EQUAL(p[5], &v[6]);
	CU_ASSERT_PTR_EQUAL(p[6], &v[0]);
	CU_ASSERT_TRUE(store__same_bucket(p[0], p[1]));
	CU_ASSERT_FALSE(store__same_bucket(p[1], p[2]));
	CU_ASSERT_FALSE(store__same_bucket(p[2], p[3]));
	CU_ASSERT_FALSE(store__same_bucket(p[3], p[4]));
	for (int i = 0; i < 7; i++)
		bson_destroy(&v[i].sample);
}

static void expect_update(struct store__item **items, size_t n, bool stats, const char *want_json)
{
	bson_t upd, want;
	bson_error_t e;

	store__bucket_update(&upd, items, n, H, stats);
	CU_ASSERT_FATAL(bson_init_from_json(&want, want_json, -1, &e));
	if (!bson_equal(&upd, &want)) {
		char *got = bson_as_canonical_extended_json(&upd, NULL);

		fprintf(stderr, "\n  got  %s\n", got);
		bson_free(got);
	}
	CU_ASSERT_TRUE(bson_equal(&upd, &want));
	bson_destroy(&upd);
	bson_destroy(&want);
}

static void test_update(void)
{
	struct store__item v[3];
	struct store__item *p[3];
	char want[4096];
	uint32_t len0, len1, len2;

	p[0] =
	    item(&v[0], 0, "dev-1", T0, 2, 1, T0 + 30, "{\"temp\": 20.5, \"ts\": 1, \"s\": \"x\"}");
	p[1] = item(&v[1], 0, "dev-1", T0, 2, 2, T0 + 10, "{\"temp\": 19, \"hum\": 40}");
	p[2] = item(&v[2], 0, "dev-1", T0, 2, 3, T0 + 20, "{\"temp\": {\"$numberLong\": \"22\"}}");
	len0 = p[0]->sample.len;
	len1 = p[1]->sample.len;
	len2 = p[2]->sample.len;
	snprintf(
	    want, sizeof want,
	    "{\"$setOnInsert\": {\"device\": \"dev-1\", \"start\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400000\"}}, \"end\": {\"$date\": {\"$numberLong\": \"1795428000000\"}}, "
	    "\"seq\": 2},"
	    " \"$push\": {\"samples\": {\"$each\": ["
	    "{\"i\": {\"$numberLong\": \"10\"}, \"t\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400030\"}}, \"d\": {\"temp\": 20.5, \"ts\": 1, \"s\": \"x\"}},"
	    "{\"i\": {\"$numberLong\": \"20\"}, \"t\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400010\"}}, \"d\": {\"temp\": 19, \"hum\": 40}},"
	    "{\"i\": {\"$numberLong\": \"30\"}, \"t\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400020\"}}, \"d\": {\"temp\": {\"$numberLong\": \"22\"}}}]}},"
	    " \"$inc\": {\"count\": 3, \"bytes\": {\"$numberLong\": \"%u\"}},"
	    " \"$min\": {\"first\": {\"$date\": {\"$numberLong\": \"1795424400010\"}}},"
	    " \"$max\": {\"last\": {\"$date\": {\"$numberLong\": \"1795424400030\"}}}}",
	    len0 + len1 + len2);
	expect_update(p, 3, false, want);

	snprintf(
	    want, sizeof want,
	    "{\"$setOnInsert\": {\"device\": \"dev-1\", \"start\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400000\"}}, \"end\": {\"$date\": {\"$numberLong\": \"1795428000000\"}}, "
	    "\"seq\": 2},"
	    " \"$push\": {\"samples\": {\"$each\": ["
	    "{\"i\": {\"$numberLong\": \"20\"}, \"t\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400010\"}}, \"d\": {\"temp\": 19, \"hum\": 40}},"
	    "{\"i\": {\"$numberLong\": \"30\"}, \"t\": {\"$date\": {\"$numberLong\": "
	    "\"1795424400020\"}}, \"d\": {\"temp\": {\"$numberLong\": \"22\"}}}]}},"
	    " \"$inc\": {\"count\": 2, \"bytes\": {\"$numberLong\": \"%u\"},"
	    " \"stats.temp.sum\": 41.0, \"stats.temp.n\": {\"$numberLong\": \"2\"},"
	    " \"stats.hum.sum\": 40.0, \"stats.hum.n\": {\"$numberLong\": \"1\"}},"
	    " \"$min\": {\"first\": {\"$date\": {\"$numberLong\": \"1795424400010\"}},"
	    " \"stats.temp.min\": 19.0, \"stats.hum.min\": 40.0},"
	    " \"$max\": {\"last\": {\"$date\": {\"$numberLong\": \"1795424400020\"}},"
	    " \"stats.temp.max\": 22.0, \"stats.hum.max\": 40.0}}",
	    len1 + len2);
	expect_update(p + 1, 2, true, want);
	for (int i = 0; i < 3; i++)
		bson_destroy(&v[i].sample);
}

static void test_whole_bucket(void)
{
	struct store__item v[2];
	struct store__item *p[2];
	char want[2048];
	bson_t doc, w;
	bson_error_t e;

	p[0] = item(&v[0], 0, "dev-1", T0, 3, 1, T0 + 30, "{\"temp\": 20.5}");
	p[1] = item(&v[1], 0, "dev-1", T0, 3, 2, T0 + 10, "{\"temp\": 19, \"s\": \"x\"}");
	snprintf(want, sizeof want,
	         "{\"_id\": \"dev-1/2026-11-23T09:00:00.000Z/000003\", \"device\": \"dev-1\", "
	         "\"start\": {\"$date\": {\"$numberLong\": \"1795424400000\"}}, "
	         "\"end\": {\"$date\": {\"$numberLong\": \"1795428000000\"}}, \"seq\": 3, "
	         "\"count\": 2, \"bytes\": {\"$numberLong\": \"%u\"}, "
	         "\"first\": {\"$date\": {\"$numberLong\": \"1795424400010\"}}, "
	         "\"last\": {\"$date\": {\"$numberLong\": \"1795424400030\"}}, "
	         "\"samples\": ["
	         "{\"i\": {\"$numberLong\": \"10\"}, \"t\": {\"$date\": {\"$numberLong\": "
	         "\"1795424400030\"}}, \"d\": {\"temp\": 20.5}},"
	         "{\"i\": {\"$numberLong\": \"20\"}, \"t\": {\"$date\": {\"$numberLong\": "
	         "\"1795424400010\"}}, \"d\": {\"temp\": 19, \"s\": \"x\"}}], "
	         "\"stats\": {\"temp\": {\"min\": 19.0, \"max\": 20.5, \"sum\": 39.5, "
	         "\"n\": {\"$numberLong\": \"2\"}}}}",
	         p[0]->sample.len + p[1]->sample.len);
	store__bucket_doc(&doc, "dev-1/2026-11-23T09:00:00.000Z/000003", p, 2, H, true);
	CU_ASSERT_FATAL(bson_init_from_json(&w, want, -1, &e));
	CU_ASSERT_TRUE(bson_equal(&doc, &w));
	bson_destroy(&doc);
	bson_destroy(&w);
	/* Without stats, no stats field. */
	store__bucket_doc(&doc, "x", p, 2, H, false);
	{
		bson_iter_t it;

		CU_ASSERT_FALSE(bson_iter_init_find(&it, &doc, "stats"));
	}
	bson_destroy(&doc);
	for (int i = 0; i < 2; i++)
		bson_destroy(&v[i].sample);
}

static void test_update_stats_limits(void)
{
	struct store__item v;
	struct store__item *p[1] = {&v};
	char json[8192];
	size_t n = 0;
	bson_t upd;
	bson_iter_t it, inc;
	unsigned sums = 0;

	n += (size_t)snprintf(json + n, sizeof json - n, "{\"\": 1, \"%0100d\": 2", 0);
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(json + n, sizeof json - n, ", \"f%d\": %d", i, i);
	snprintf(json + n, sizeof json - n, "}");
	item(&v, 0, "d", T0, 0, 1, T0, json);
	store__bucket_update(&upd, p, 1, H, true);
	CU_ASSERT(bson_iter_init_find(&it, &upd, "$inc") && bson_iter_recurse(&it, &inc));
	while (bson_iter_next(&inc))
		sums += strstr(bson_iter_key(&inc), ".sum") != NULL;
	/* Empty and over-long keys are skipped; at most 64 fields. */
	CU_ASSERT_EQUAL(sums, STORE_STATS_FIELDS_MAX);
	bson_destroy(&upd);
	bson_destroy(&v.sample);
}

static CU_TestInfo tests[] = {
    {"placement: the sample cap", test_place_sample_cap},
    {"placement: the byte cap, oversize, last seq", test_place_byte_cap},
    {"a batch bringing half a bucket opens a new one", test_reopen},
    {"sample documents", test_sample_documents},
    {"grouping order", test_grouping_order},
    {"coalesced update, with and without stats", test_update},
    {"a whole new bucket, for an insert", test_whole_bucket},
    {"stats field limits", test_update_stats_limits},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("store_bucket", tests);
}

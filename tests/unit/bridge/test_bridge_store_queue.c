/*
 * test_bridge_store_queue.c - unit tests for bridge/store_queue.c, the
 * bounded, coalescing queue between the engine and the MongoDB writer:
 * 500 revisions of one profile are one write of the last; the document
 * and byte limits hold with documents in flight counted; rebuildable
 * documents leave the last tenth to the others; a batch put back keeps
 * its order and loses to a newer revision; and every accepted document is
 * accounted for (queued = written + failed + coalesced + dropped +
 * pending + inflight) through a random mix of all of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "store_queue.h"

static int put(struct br_sq *q, const char *coll, const char *id, const char *json)
{
	return br_sq_put(q, coll, id, json, strlen(json), strcmp(coll, "profiles") == 0);
}

static void check_accounting(const struct br_sq *q)
{
	const struct br_sq_stats *s = &q->st;

	CU_ASSERT_EQUAL(s->queued, s->written + s->failed + s->coalesced + s->dropped + s->pending +
	                               s->inflight);
}

static void test_coalesces_latest_wins(void)
{
	struct br_sq q;
	struct br_sq_doc *v[8];
	char json[64];
	int k;

	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 100, 1 << 20), PC_OK);
	for (k = 0; k < 500; k++) {
		snprintf(json, sizeof json, "{\"rev\":%d}", k);
		CU_ASSERT_EQUAL(put(&q, "profiles", "alice", json), PC_OK);
	}
	CU_ASSERT_EQUAL(put(&q, "recommendations", "alice", "{\"r\":1}"), PC_OK); /* another coll */
	CU_ASSERT_EQUAL(q.st.pending, 2);
	CU_ASSERT_EQUAL(q.st.coalesced, 499);
	CU_ASSERT_EQUAL(q.st.queued, 501);
	CU_ASSERT_EQUAL(br_sq_take(&q, v, 8, 1 << 20), 2);
	CU_ASSERT_STRING_EQUAL(v[0]->coll, "profiles"); /* first arrived, first out */
	CU_ASSERT_STRING_EQUAL(v[0]->json, "{\"rev\":499}");
	CU_ASSERT_STRING_EQUAL(v[1]->coll, "recommendations");
	br_sq_settle(&q, v[0], BR_SQ_WRITTEN);
	br_sq_settle(&q, v[1], BR_SQ_WRITTEN);
	CU_ASSERT_EQUAL(q.st.written, 2);
	CU_ASSERT_EQUAL(q.st.bytes, 0);
	check_accounting(&q);
	CU_ASSERT_EQUAL(br_sq_cleanup(&q), 0);
}

static void test_limits_count_inflight(void)
{
	struct br_sq q;
	struct br_sq_doc *v[100];
	char id[16];
	size_t n, k;

	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 20, 1 << 20), PC_OK);
	for (k = 0; k < 20; k++) {
		snprintf(id, sizeof id, "d%zu", k);
		CU_ASSERT_EQUAL(put(&q, "campaign_deliveries", id, "{}"), PC_OK);
	}
	CU_ASSERT_EQUAL(put(&q, "campaign_deliveries", "one-more", "{}"), PC_ERR_FULL);
	CU_ASSERT_EQUAL(q.st.refused, 1);
	/* Taken by the writer, still counted: nothing new fits until they are settled. */
	n = br_sq_take(&q, v, 100, 1 << 20);
	CU_ASSERT_EQUAL(n, 20);
	CU_ASSERT_EQUAL(q.st.pending, 0);
	CU_ASSERT_EQUAL(put(&q, "campaign_deliveries", "one-more", "{}"), PC_ERR_FULL);
	CU_ASSERT_EQUAL(q.st.max_pending, 20);
	/* A newer revision of a document in flight waits beside it... but only with room. */
	CU_ASSERT_EQUAL(put(&q, "campaign_deliveries", "d3", "{\"new\":1}"), PC_ERR_FULL);
	for (k = 0; k < n; k++)
		br_sq_settle(&q, v[k], BR_SQ_WRITTEN);
	CU_ASSERT_EQUAL(put(&q, "campaign_deliveries", "one-more", "{}"), PC_OK);
	check_accounting(&q);
	br_sq_cleanup(&q);
	CU_ASSERT_EQUAL(q.st.dropped, 1);
	check_accounting(&q);

	/* Bytes: 64 KiB of room, documents of 10 KB. */
	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 1000, 65536), PC_OK);
	{
		char *big = malloc(10001);
		int ok = 0;
		memset(big, 'x', 10000);
		big[10000] = '\0';
		for (k = 0; k < 10; k++) {
			snprintf(id, sizeof id, "b%zu", k);
			ok += br_sq_put(&q, "experiments", id, big, 10000, false) == PC_OK;
		}
		CU_ASSERT_EQUAL(ok, 6);
		CU_ASSERT(q.st.bytes <= 65536);
		/* A replacement that fits is accepted even when full. */
		CU_ASSERT_EQUAL(br_sq_put(&q, "experiments", "b0", "{}", 2, false), PC_OK);
		free(big);
	}
	check_accounting(&q);
	br_sq_cleanup(&q);
}

static void test_rebuildable_leave_a_tenth(void)
{
	struct br_sq q;
	char id[16];
	size_t k, ok = 0;

	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 100, 1 << 20), PC_OK);
	CU_ASSERT_EQUAL(br_sq_room(&q, 100), 90);
	for (k = 0; k < 200; k++) {
		snprintf(id, sizeof id, "u%zu", k);
		ok += put(&q, "profiles", id, "{}") == PC_OK;
	}
	CU_ASSERT_EQUAL(ok, 90);
	CU_ASSERT_EQUAL(br_sq_room(&q, 100), 0);
	CU_ASSERT_EQUAL(q.st.refused, 110);
	for (k = 0, ok = 0; k < 20; k++) {
		snprintf(id, sizeof id, "c%zu", k);
		ok += put(&q, "campaign_deliveries", id, "{}") == PC_OK;
	}
	CU_ASSERT_EQUAL(ok, 10);
	check_accounting(&q);
	br_sq_cleanup(&q);
}

static void test_retry_keeps_order_newer_wins(void)
{
	struct br_sq q;
	struct br_sq_doc *v[8];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 100, 1 << 20), PC_OK);
	put(&q, "profiles", "a", "{\"a\":1}");
	put(&q, "profiles", "b", "{\"b\":1}");
	put(&q, "profiles", "c", "{\"c\":1}");
	n = br_sq_take(&q, v, 2, 1 << 20);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	put(&q, "profiles", "b", "{\"b\":2}"); /* newer revision while b is in flight */
	CU_ASSERT_EQUAL(q.st.pending, 2);
	/* The write timed out: put back, last first (as store.c does). */
	br_sq_settle(&q, v[1], BR_SQ_RETRY);
	br_sq_settle(&q, v[0], BR_SQ_RETRY);
	CU_ASSERT_EQUAL(q.st.retried, 2);
	CU_ASSERT_EQUAL(q.st.coalesced, 1); /* the old b lost to the new one */
	CU_ASSERT_EQUAL(br_sq_take(&q, v, 8, 1 << 20), 3);
	CU_ASSERT_STRING_EQUAL(v[0]->id, "a");
	CU_ASSERT_STRING_EQUAL(v[1]->id, "c");
	CU_ASSERT_STRING_EQUAL(v[2]->json, "{\"b\":2}");
	br_sq_settle(&q, v[0], BR_SQ_WRITTEN);
	br_sq_settle(&q, v[1], BR_SQ_FAILED);
	br_sq_settle(&q, v[2], BR_SQ_WRITTEN);
	CU_ASSERT_EQUAL(q.st.failed, 1);
	/* Batches stop at the byte budget, but always take one. */
	put(&q, "profiles", "x", "{\"x\":11111}");
	put(&q, "profiles", "y", "{\"y\":11111}");
	CU_ASSERT_EQUAL(br_sq_take(&q, v, 8, 3), 1);
	br_sq_settle(&q, v[0], BR_SQ_WRITTEN);
	check_accounting(&q);
	br_sq_cleanup(&q);
	check_accounting(&q);
	/* Names too long for a key are refused. */
	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 10, 1 << 20), PC_OK);
	{
		char id[600];
		memset(id, 'i', sizeof id - 1);
		id[sizeof id - 1] = '\0';
		CU_ASSERT_EQUAL(put(&q, "profiles", id, "{}"), PC_ERR_TOO_LONG);
		CU_ASSERT_EQUAL(put(&q, "a-collection-name-far-too-long-xx", "u", "{}"),
		                PC_ERR_TOO_LONG);
		id[BR_SQ_ID_MAX] = '\0';
		CU_ASSERT_EQUAL(put(&q, "profiles", id, "{}"), PC_OK);
	}
	br_sq_cleanup(&q);
}

/* A random mix of puts, takes and outcomes: the limits and the accounting always hold. */
static void test_random_mix_accounted(void)
{
	struct br_sq q;
	struct br_sq_doc *fl[64];
	size_t nfl = 0, k, step;
	char id[16], json[32];
	unsigned seed = 7;

	CU_ASSERT_EQUAL_FATAL(br_sq_init(&q, 50, 6000), PC_OK);
	for (step = 0; step < 20000; step++) {
		unsigned r = (unsigned)rand_r(&seed);
		if (r % 4 != 0) {
			snprintf(id, sizeof id, "u%u", (r >> 4) % 80);
			snprintf(json, sizeof json, "{\"s\":%zu}", step);
			put(&q, r & 8 ? "profiles" : "campaigns", id, json);
		} else if (nfl == 0) {
			nfl = br_sq_take(&q, fl, 1 + (r >> 4) % 20, 1 + (r >> 10) % 400);
		} else {
			for (k = nfl; k > 0; k--)
				br_sq_settle(&q, fl[k - 1], (enum br_sq_outcome)((r >> 4) % 3));
			nfl = 0;
		}
		CU_ASSERT_FATAL(q.st.pending + q.st.inflight <= 50);
		CU_ASSERT_FATAL(q.st.bytes <= 6000);
		check_accounting(&q);
	}
	for (k = 0; k < nfl; k++)
		br_sq_settle(&q, fl[k], BR_SQ_WRITTEN);
	CU_ASSERT(q.st.coalesced > 0 && q.st.refused > 0 && q.st.retried > 0);
	br_sq_cleanup(&q);
	check_accounting(&q);
}

static CU_TestInfo tests[] = {
    {"500 revisions of a profile are one write of the last", test_coalesces_latest_wins},
    {"the limits hold, documents in flight included", test_limits_count_inflight},
    {"rebuildable documents leave the last tenth to others", test_rebuildable_leave_a_tenth},
    {"a batch put back keeps its order; a newer revision wins", test_retry_keeps_order_newer_wins},
    {"every accepted document is accounted for", test_random_mix_accounted},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("store_queue", tests);
}

/*
 * test_bucket_id.c - unit tests for common/bucket_id.c: bucket _ids for
 * known slots, their sort order (one device's by slot, then seq), the _id
 * range of a slot containing exactly that slot's buckets and no other
 * device's (not even one whose id extends it), the limits
 * (seq, years, buffer sizes), and sample ids being distinct for one epoch
 * and different across epochs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/bucket.h"
#include "precis/error.h"

#define H INT64_C(3600000)

static void test_known_ids(void)
{
	char buf[PC_BUCKET_ID_MAX];

	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, "dev-1", 5, 1795424400000, 0), 37);
	CU_ASSERT_STRING_EQUAL(buf, "dev-1/2026-11-23T09:00:00.000Z/000000");
	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, "d", 1, 0, 42), 33);
	CU_ASSERT_STRING_EQUAL(buf, "d/1970-01-01T00:00:00.000Z/000042");
	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, "dev-1xyz", 5, 0, PC_BUCKET_SEQ_MAX), 37);
	CU_ASSERT_STRING_EQUAL(buf, "dev-1/1970-01-01T00:00:00.000Z/999999");
}

static void test_limits(void)
{
	char buf[PC_BUCKET_ID_MAX], id64[65];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, "d", 1, 0, PC_BUCKET_SEQ_MAX + 1),
	                PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, "d", 1, -62167219200001, 0), PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_bucket_id(buf, sizeof buf, id64, 64, 0, 7), PC_BUCKET_ID_MAX - 1);
	CU_ASSERT_EQUAL(strlen(buf), PC_BUCKET_ID_MAX - 1);
	CU_ASSERT_EQUAL(pc_bucket_id(buf, PC_BUCKET_ID_MAX - 1, id64, 64, 0, 7), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_bucket_id(buf, 10, "d", 1, 0, 7), PC_ERR_TOO_LONG);
}

static void test_order_and_slot_range(void)
{
	static const struct {
		const char *dev;
		int64_t start;
		uint32_t seq;
	} sorted[] = {
	    {"a", 0, 0}, {"a", 0, 1},      {"a", 0, 10},
	    {"a", H, 0}, {"a", 10 * H, 0}, {"a", 1795424400000, 3},
	};
	static const char *const others[] = {"a-b", "a.b", "ab", "a:b", "b", "A"};
	char prev[PC_BUCKET_ID_MAX] = "", cur[PC_BUCKET_ID_MAX], lo[PC_BUCKET_ID_MAX],
	     hi[PC_BUCKET_ID_MAX];
	size_t n = sizeof sorted / sizeof sorted[0];

	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_TRUE(pc_bucket_id(cur, sizeof cur, sorted[i].dev, strlen(sorted[i].dev),
		                            sorted[i].start, sorted[i].seq) > 0);
		CU_ASSERT_TRUE(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof cur);
	}
	/* The range of slot ("a", 0) holds exactly the first three. */
	CU_ASSERT_EQUAL(pc_bucket_id_slot(lo, hi, sizeof lo, "a", 1, 0), PC_OK);
	CU_ASSERT_STRING_EQUAL(lo, "a/1970-01-01T00:00:00.000Z/");
	CU_ASSERT_STRING_EQUAL(hi, "a/1970-01-01T00:00:00.000Z0");
	for (size_t i = 0; i < n; i++) {
		bool in;

		pc_bucket_id(cur, sizeof cur, sorted[i].dev, strlen(sorted[i].dev), sorted[i].start,
		             sorted[i].seq);
		in = strcmp(lo, cur) <= 0 && strcmp(cur, hi) < 0;
		CU_ASSERT_EQUAL(in, i < 3);
	}
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		pc_bucket_id(cur, sizeof cur, others[i], strlen(others[i]), 0, 0);
		CU_ASSERT_FALSE(strcmp(lo, cur) <= 0 && strcmp(cur, hi) < 0);
	}
	CU_ASSERT_EQUAL(pc_bucket_id_slot(lo, hi, 8, "a", 1, 0), PC_ERR_TOO_LONG);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_sample_ids(void)
{
	enum { N = 20000 };
	static int64_t v[2 * N];
	unsigned dup = 0, same_across = 0;

	for (uint64_t s = 0; s < N; s++) {
		v[s] = pc_sample_id(UINT64_C(0x1234567890abcdef), s);
		v[N + s] = pc_sample_id(UINT64_C(0xfedcba0987654321), s);
		same_across += v[s] == v[N + s];
	}
	CU_ASSERT_EQUAL(pc_sample_id(1, 5), pc_sample_id(1, 5));
	qsort(v, 2 * N, sizeof v[0], cmp64);
	for (size_t i = 1; i < 2 * N; i++)
		dup += v[i] == v[i - 1];
	CU_ASSERT_EQUAL(dup, 0);
	CU_ASSERT_EQUAL(same_across, 0);
}

static CU_TestInfo tests[] = {
    {"known _ids", test_known_ids},
    {"limits", test_limits},
    {"sort order and the _id range of a slot", test_order_and_slot_range},
    {"sample ids distinct within and across epochs", test_sample_ids},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("bucket_id", tests);
}

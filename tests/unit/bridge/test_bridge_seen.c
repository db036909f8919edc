/*
 * test_bridge_seen.c - unit tests for bridge/seen.c: a key is new once and
 * a duplicate after; a full set forgets its oldest key first; growth and
 * forgetting keep every remembered key findable (checked against a plain
 * array over 200,000 random keys with small capacities, and with keys
 * that share their low bits, so probes run long and wrap); capacity 0 is
 * off; key 0 is a key.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cu_run.h"
#include "seen.h"

static void test_basic(void)
{
	struct br_seen s;

	br_seen_init(&s, 3);
	CU_ASSERT_EQUAL(br_seen_add(&s, 10), 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 10), 1);
	CU_ASSERT_EQUAL(br_seen_add(&s, 11), 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 12), 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 13), 0); /* full: 10 is forgotten */
	CU_ASSERT_EQUAL(br_seen_add(&s, 11), 1);
	CU_ASSERT_EQUAL(br_seen_add(&s, 10), 0); /* new again; now 11 is forgotten */
	CU_ASSERT_EQUAL(br_seen_add(&s, 12), 1);
	CU_ASSERT_EQUAL(br_seen_add(&s, 11), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(br_seen_add(&s, 0), 0); /* 0 is taken as 1 */
	CU_ASSERT_EQUAL(br_seen_add(&s, 1), 1);
	br_seen_cleanup(&s);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 10), 0);
	br_seen_cleanup(&s);

	br_seen_init(&s, 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 5), 0);
	CU_ASSERT_EQUAL(br_seen_add(&s, 5), 0);
	br_seen_cleanup(&s);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Against a reference: the last cap distinct new keys, in a plain array. */
static void check_against_reference(size_t cap, uint64_t range, int shift, uint64_t low)
{
	struct br_seen s;
	uint64_t *ref = calloc(cap, sizeof *ref), x = 88172645463325252u, k, r;
	size_t nref = 0, head = 0, i, n;
	int want, got, mismatches = 0;

	CU_ASSERT_FATAL(ref != NULL);
	br_seen_init(&s, cap);
	for (n = 0; n < 200000; n++) {
		/* shift > 0: the low 11 bits are low + 0..7 or low + 1000 + 0..7, so keys
		 * home to two clusters of slots (an insert into one leaves a hole in the
		 * other, where a bad deletion would break a chain) */
		k = (rnd(&x) % range + 1) << shift;
		if (shift) {
			r = rnd(&x);
			k |= (low + (r & 7) + (r & 8 ? 1000 : 0)) & 2047;
		}
		want = 0;
		for (i = 0; i < nref; i++)
			if (ref[(head + i) % cap] == k)
				want = 1;
		if (!want) {
			if (nref == cap) {
				head = (head + 1) % cap;
				nref--;
			}
			ref[(head + nref) % cap] = k;
			nref++;
		}
		got = br_seen_add(&s, k);
		mismatches += got != want;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_EQUAL(s.n, nref);
	br_seen_cleanup(&s);
	free(ref);
}

static void test_reference(void)
{
	check_against_reference(700, 2000, 0, 0);
	check_against_reference(1500, 3000, 0, 0);
	check_against_reference(600, 1500, 12, 0); /* keys home to slots 0..7 and 1000..1007 */
	/* ... to the last 8 slots of 2048 (and 992..999), so chains wrap to the start */
	check_against_reference(600, 1500, 12, 2040);
}

static CU_TestInfo tests[] = {
    {"new, duplicate, oldest forgotten first, off, key 0", test_basic},
    {"the same answers as a plain array, with growth and clustering", test_reference},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("bridge_seen", tests);
}

/*
 * test_backoff.c - unit tests for common/backoff.c: init clamping, the
 * doubling sequence, the cap, reset, failure counting, no overflow with
 * huge bounds, and jitter staying in [d/2, d] with both ends reachable.
 */
#include <stdint.h>

#include "cu_run.h"
#include "precis/backoff.h"

/* The delay for base d when rnd picks the top of [ceil(d/2), d]. */
static uint32_t rnd_top(int64_t d)
{
	return (uint32_t)(d - (d - d / 2));
}

static void test_init_clamps(void)
{
	struct pc_backoff b;

	pc_backoff_init(&b, 100, 5000);
	CU_ASSERT_EQUAL(b.min_ms, 100);
	CU_ASSERT_EQUAL(b.max_ms, 5000);
	CU_ASSERT_EQUAL(b.cur_ms, 100);
	CU_ASSERT_EQUAL(b.failures, 0);

	pc_backoff_init(&b, 0, 10);
	CU_ASSERT_EQUAL(b.min_ms, 1);
	CU_ASSERT_EQUAL(b.max_ms, 10);
	pc_backoff_init(&b, -50, -10);
	CU_ASSERT_EQUAL(b.min_ms, 1);
	CU_ASSERT_EQUAL(b.max_ms, 1);
	pc_backoff_init(&b, 500, 100);
	CU_ASSERT_EQUAL(b.min_ms, 500);
	CU_ASSERT_EQUAL(b.max_ms, 500);
	CU_ASSERT_EQUAL(b.cur_ms, 500);
}

static void test_doubling_and_cap(void)
{
	static const int64_t want[] = {100,  200,   400,   800,   1600, 3200,
	                               6400, 10000, 10000, 10000, 10000};
	struct pc_backoff b;
	size_t i;

	pc_backoff_init(&b, 100, 10000);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* rnd chosen to return the base itself: the top of the range. */
		CU_ASSERT_EQUAL(pc_backoff_next(&b, rnd_top(want[i])), want[i]);
		CU_ASSERT_EQUAL(b.failures, i + 1);
		CU_ASSERT(b.cur_ms <= b.max_ms);
	}
}

static void test_cap_not_power_of_two(void)
{
	static const int64_t want[] = {3, 6, 10, 10};
	struct pc_backoff b;
	size_t i;

	pc_backoff_init(&b, 3, 10);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_EQUAL(pc_backoff_next(&b, rnd_top(want[i])), want[i]);
}

static void test_reset(void)
{
	struct pc_backoff b;
	int i;

	pc_backoff_init(&b, 250, 60000);
	for (i = 0; i < 6; i++)
		pc_backoff_next(&b, 0);
	CU_ASSERT_EQUAL(b.failures, 6);
	CU_ASSERT_EQUAL(b.cur_ms, 16000);
	pc_backoff_reset(&b);
	CU_ASSERT_EQUAL(b.failures, 0);
	CU_ASSERT_EQUAL(b.cur_ms, 250);
	CU_ASSERT_EQUAL(b.min_ms, 250);
	CU_ASSERT_EQUAL(b.max_ms, 60000);
	/* After a reset the next delay is about min_ms again. */
	CU_ASSERT_EQUAL(pc_backoff_next(&b, rnd_top(250)), 250);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 0), 250); /* bottom of [250, 500] */
}

static void test_jitter_bounds(void)
{
	static const int64_t bounds[][2] = {
	    {1, 1}, {2, 2}, {3, 3}, {1, 1000}, {7, 9999}, {100, 30000}, {1000, INT64_MAX},
	};
	uint64_t x = 0x243f6a8885a308d3u;
	size_t k;
	int i, bad = 0;

	for (k = 0; k < sizeof(bounds) / sizeof(bounds[0]); k++) {
		struct pc_backoff b;

		pc_backoff_init(&b, bounds[k][0], bounds[k][1]);
		for (i = 0; i < 5000; i++) {
			int64_t d = b.cur_ms, delay;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			delay = pc_backoff_next(&b, (uint32_t)x);
			/* in [d/2, d] as real numbers: delay >= ceil(d/2), no overflow */
			if (delay < d - d / 2 || delay > d || delay < 1)
				bad++;
			if (b.cur_ms < d || b.cur_ms > b.max_ms)
				bad++;
			if (i % 97 == 0)
				pc_backoff_reset(&b);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_jitter_ends_reachable(void)
{
	struct pc_backoff b;
	int64_t lo = INT64_MAX, hi = 0, delay;
	uint32_t r;

	/* Base 1000 every time (min == max): delays span [500, 1000]. */
	pc_backoff_init(&b, 1000, 1000);
	for (r = 0; r < 2000; r++) {
		delay = pc_backoff_next(&b, r * 2654435761u);
		if (delay < lo)
			lo = delay;
		if (delay > hi)
			hi = delay;
	}
	CU_ASSERT_EQUAL(lo, 500);
	CU_ASSERT_EQUAL(hi, 1000);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 0), 500);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 500), 1000);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 501), 500); /* wraps modulo the width */
	/* Odd base: [ceil(999/2), 999] = [500, 999]. */
	pc_backoff_init(&b, 999, 999);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 0), 500);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 499), 999);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, UINT32_MAX), 500 + (int64_t)(UINT32_MAX % 500));
}

static void test_no_overflow(void)
{
	struct pc_backoff b;
	int i, bad = 0;

	pc_backoff_init(&b, 1, INT64_MAX);
	for (i = 0; i < 200; i++) {
		int64_t prev = b.cur_ms, delay = pc_backoff_next(&b, UINT32_MAX);

		if (b.cur_ms < prev || b.cur_ms <= 0 || delay <= 0 || delay > prev)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(b.cur_ms, INT64_MAX);
	CU_ASSERT_EQUAL(b.failures, 200);

	/* The failure count saturates instead of wrapping to 0. */
	b.failures = UINT32_MAX;
	pc_backoff_next(&b, 0);
	CU_ASSERT_EQUAL(b.failures, UINT32_MAX);
}

static void test_uninitialised_is_safe(void)
{
	/* A zeroed struct behaves like bounds [1, 1]. */
	struct pc_backoff b = {0, 0, 0, 0};

	CU_ASSERT_EQUAL(pc_backoff_next(&b, 12345), 1);
	CU_ASSERT_EQUAL(b.failures, 1);
	CU_ASSERT_EQUAL(pc_backoff_next(&b, 0), 1);
}

static CU_TestInfo tests[] = {
    {"init clamps bounds", test_init_clamps},
    {"doubling up to the cap", test_doubling_and_cap},
    {"cap that is not a power of two", test_cap_not_power_of_two},
    {"reset", test_reset},
    {"jitter within [d/2, d]", test_jitter_bounds},
    {"both jitter ends reachable", test_jitter_ends_reachable},
    {"no overflow with huge bounds", test_no_overflow},
    {"zeroed struct is safe", test_uninitialised_is_safe},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("backoff", tests);
}

/*
 * test_slot.c - unit tests for common/slot.c: slot index/start/end with
 * floor division (negative times), boundaries, slot counts, the slot
 * length rule, and ISO-8601 formatting checked against known dates and
 * against gmtime_r.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/slot.h"

#define S   INT64_C(1000)
#define MIN (60 * S)
#define H   (60 * MIN)
#define D   PC_MS_PER_DAY

static const struct {
	int64_t t, len;
	int64_t index, start, end;
} slot_cases[] = {
    {0, H, 0, 0, H},
    {1, H, 0, 0, H},
    {H - 1, H, 0, 0, H},
    {H, H, 1, H, 2 * H},
    {H + 1, H, 1, H, 2 * H},
    {-1, H, -1, -H, 0},
    {-H, H, -1, -H, 0},
    {-H + 1, H, -1, -H, 0},
    {-H - 1, H, -2, -2 * H, -H},
    {-2 * H, H, -2, -2 * H, -H},
    {D - 1, D, 0, 0, D},
    {D, D, 1, D, 2 * D},
    {-1, D, -1, -D, 0},
    {-D - 1, D, -2, -2 * D, -D},
    /* 2026-11-23T09:30:00Z in hour and day slots */
    {1795426200000, H, 498729, 1795424400000, 1795428000000},
    {1795426200000, D, 20780, 1795392000000, 1795478400000},
    /* 1969-07-20T20:17:40Z: before the epoch */
    {-14182940000, D, -165, -14256000000, -14169600000},
    {-14182940000, H, -3940, -14184000000, -14180400000},
    /* 2-day slots count from the epoch */
    {3 * D, 2 * D, 1, 2 * D, 4 * D},
    {-1, 2 * D, -1, -2 * D, 0},
    /* 1 s slots */
    {1500, S, 1, S, 2 * S},
    {-1500, S, -2, -2 * S, -S},
};

static void test_index_start_end(void)
{
	size_t i;

	for (i = 0; i < sizeof(slot_cases) / sizeof(slot_cases[0]); i++) {
		int64_t t = slot_cases[i].t, len = slot_cases[i].len;

		CU_ASSERT_EQUAL(pc_slot_index(t, len), slot_cases[i].index);
		CU_ASSERT_EQUAL(pc_slot_start(t, len), slot_cases[i].start);
		CU_ASSERT_EQUAL(pc_slot_end(t, len), slot_cases[i].end);
	}
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static void test_slot_properties(void)
{
	static const int64_t lens[] = {S, 90 * S, 5 * MIN, 15 * MIN, H, 6 * H, D, 7 * D, 366 * D};
	int64_t range = INT64_C(1) << 50; /* about +-35,000 years */
	size_t i, l;
	int bad = 0;

	for (i = 0; i < 20000; i++) {
		int64_t t = (int64_t)(rng() % (uint64_t)(2 * range)) - range;

		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			int64_t len = lens[l];
			int64_t k = pc_slot_index(t, len);
			int64_t start = pc_slot_start(t, len), end = pc_slot_end(t, len);

			if (!(start <= t && t < end) || end - start != len || start != k * len ||
			    pc_slot_index(start, len) != k || pc_slot_index(end - 1, len) != k ||
			    pc_slot_index(end, len) != k + 1 ||
			    pc_slot_index(start - 1, len) != k - 1)
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_saturation(void)
{
	/* Neither overflows: results clamp at the int64_t limits. */
	CU_ASSERT_EQUAL(pc_slot_start(INT64_MIN, S), INT64_MIN);
	CU_ASSERT_EQUAL(pc_slot_index(INT64_MIN, S), INT64_MIN / S - 1);
	CU_ASSERT_EQUAL(pc_slot_start(INT64_MAX, S), INT64_MAX - INT64_MAX % S);
	CU_ASSERT_EQUAL(pc_slot_end(INT64_MAX, S), INT64_MAX);
	/* A bad length does not divide by zero: it acts as 1 ms. */
	CU_ASSERT_EQUAL(pc_slot_index(1234, 0), 1234);
	CU_ASSERT_EQUAL(pc_slot_start(-7, -5), -7);
	CU_ASSERT_EQUAL(pc_slot_end(-7, 0), -6);
}

static void test_count(void)
{
	static const struct {
		int64_t from, to, len, count;
	} cases[] = {
	    {0, 0, H, 0},
	    {5, 5, H, 0},
	    {10, 5, H, 0},
	    {0, 1, H, 1},
	    {0, H, H, 1},
	    {0, H + 1, H, 2},
	    {H - 1, H + 1, H, 2},
	    {H - 1, H, H, 1},
	    {0, D, H, 24},
	    {-1, 1, H, 2},
	    {-H, 0, H, 1},
	    {-D, D, D, 2},
	    {30 * MIN, 30 * MIN + 3 * H, H, 4},
	    {1795426200000, 1795426200000 + 7 * D, D, 8},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(pc_slot_count(cases[i].from, cases[i].to, cases[i].len),
		                cases[i].count);
}

static void test_len_check(void)
{
	static const struct {
		int64_t len;
		int rc;
	} cases[] = {
	    {S, PC_OK},
	    {1500, PC_OK},
	    {90 * S, PC_OK},
	    {MIN, PC_OK},
	    {5 * MIN, PC_OK},
	    {H, PC_OK},
	    {2 * H, PC_OK},
	    {6 * H, PC_OK},
	    {8 * H, PC_OK},
	    {12 * H, PC_OK},
	    {D, PC_OK},
	    {2 * D, PC_OK},
	    {7 * D, PC_OK},
	    {366 * D, PC_OK},
	    {0, PC_ERR_RANGE},
	    {-1, PC_ERR_RANGE},
	    {-H, PC_ERR_RANGE},
	    {INT64_MIN, PC_ERR_RANGE},
	    {999, PC_ERR_RANGE},
	    {1, PC_ERR_RANGE},
	    {7 * H, PC_ERR_RANGE},
	    {7 * MIN, PC_ERR_RANGE},
	    {1001, PC_ERR_RANGE},
	    {25 * H, PC_ERR_RANGE},
	    {36 * H, PC_ERR_RANGE},
	    {D + 1, PC_ERR_RANGE},
	    {367 * D, PC_ERR_RANGE},
	    {366 * D + D / 2, PC_ERR_RANGE},
	    {INT64_MAX, PC_ERR_RANGE},
	};
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(pc_slot_len_check(cases[i].len, err, sizeof(err)), cases[i].rc);
		if (cases[i].rc != PC_OK)
			CU_ASSERT(strlen(err) > 0);
	}
	CU_ASSERT_EQUAL(pc_slot_len_check(7 * H, NULL, 0), PC_ERR_RANGE);
}

static void test_time_format_known(void)
{
	static const struct {
		int64_t t;
		const char *s;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1, "1970-01-01T00:00:00.001Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	    {-1000, "1969-12-31T23:59:59.000Z"},
	    {-1001, "1969-12-31T23:59:58.999Z"},
	    {1795424400000, "2026-11-23T09:00:00.000Z"},
	    {1709210096789, "2024-02-29T12:34:56.789Z"},
	    {951782400000, "2000-02-29T00:00:00.000Z"},
	    {-2203891201000, "1900-02-28T23:59:59.000Z"},
	    {-2203891200000, "1900-03-01T00:00:00.000Z"},
	    {-14182940000, "1969-07-20T20:17:40.000Z"},
	    {2147483648000, "2038-01-19T03:14:08.000Z"},
	    {4107542400000, "2100-03-01T00:00:00.000Z"},
	    {-62135596800000, "0001-01-01T00:00:00.000Z"},
	    {-62167219200000, "0000-01-01T00:00:00.000Z"},
	    {253402300799999, "9999-12-31T23:59:59.999Z"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0, sizeof(buf));
		CU_ASSERT_EQUAL(pc_time_format(buf, sizeof(buf), cases[i].t), 24);
		CU_ASSERT_STRING_EQUAL(buf, cases[i].s);
	}
}

static void test_time_format_limits(void)
{
	char buf[32];

	CU_ASSERT_EQUAL(pc_time_format(buf, sizeof(buf), 253402300800000), PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_time_format(buf, sizeof(buf), -62167219200001), PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_time_format(buf, sizeof(buf), INT64_MAX), PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_time_format(buf, sizeof(buf), INT64_MIN), PC_ERR_RANGE);
	CU_ASSERT_EQUAL(pc_time_format(buf, 24, 0), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_time_format(buf, 0, 0), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_time_format(NULL, 100, 0), PC_ERR_TOO_LONG);
	memset(buf, 'Q', sizeof(buf));
	CU_ASSERT_EQUAL(pc_time_format(buf, 25, 0), 24);
	CU_ASSERT_EQUAL(buf[24], '\0');
	CU_ASSERT_EQUAL(buf[25], 'Q');
}

static void test_time_format_vs_gmtime(void)
{
	/* Years 1..9999, compared with the C library's calendar. */
	const int64_t lo = -62135596800000, hi = 253402300799999;
	char buf[32], want[96];
	struct tm tm;
	time_t secs;
	int64_t t;
	int i, bad = 0;

	if (sizeof(time_t) < 8)
		return;
	for (i = 0; i < 20000; i++) {
		t = lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
		secs = (time_t)(t >= 0 ? t / 1000 : -((-t + 999) / 1000));
		if (gmtime_r(&secs, &tm) == NULL) {
			bad++;
			continue;
		}
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		         tm.tm_sec, (int)(t - (int64_t)secs * 1000));
		if (pc_time_format(buf, sizeof(buf), t) != 24 || strcmp(buf, want) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static CU_TestInfo tests[] = {
    {"index, start, end table", test_index_start_end},
    {"slot properties on random times", test_slot_properties},
    {"extreme times saturate", test_saturation},
    {"slot count", test_count},
    {"slot length rule", test_len_check},
    {"time format: known dates", test_time_format_known},
    {"time format: limits", test_time_format_limits},
    {"time format agrees with gmtime_r", test_time_format_vs_gmtime},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("slot", tests);
}

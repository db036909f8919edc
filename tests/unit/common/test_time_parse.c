/*
 * test_time_parse.c - unit tests for common/time_parse.c over a table:
 * epoch milliseconds, ISO-8601 dates and times with and without seconds,
 * fractions and offsets, leap days, and everything it must refuse; plus a
 * round trip through pc_time_format for many instants.
 */
#include <stdint.h>
#include <stdio.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/slot.h"
#include "precis/time_parse.h"

static const struct {
	const char *text;
	int rc;
	int64_t ms;
} cases[] = {
    {"0", PC_OK, 0},
    {"1795426200000", PC_OK, 1795426200000},
    {"-1000", PC_OK, -1000},
    {"1970-01-01", PC_OK, 0},
    {"2026-11-23", PC_OK, 1795392000000},
    {"2026-11-23T09:30", PC_OK, 1795426200000},
    {"2026-11-23 09:30", PC_OK, 1795426200000},
    {"2026-11-23T09:30:00Z", PC_OK, 1795426200000},
    {"2026-11-23T09:30:15.250Z", PC_OK, 1795426215250},
    {"2026-11-23T09:30:15.2Z", PC_OK, 1795426215200},
    {"2026-11-23T09:30:15.123456789Z", PC_OK, 1795426215123},
    {"2026-11-23T10:30:00+01:00", PC_OK, 1795426200000},
    {"2026-11-23T10:30:00+0100", PC_OK, 1795426200000},
    {"2026-11-23T10:30:00+01", PC_OK, 1795426200000},
    {"2026-11-23T04:00:00-05:30", PC_OK, 1795426200000},
    {"2024-02-29T00:00:00Z", PC_OK, 1709164800000},
    {"2000-02-29", PC_OK, 951782400000},
    {"1969-07-20T20:17:40Z", PC_OK, -14182940000},
    {"0000-01-01", PC_OK, -62167219200000},
    {"9999-12-31T23:59:59.999Z", PC_OK, 253402300799999},
    {"", PC_ERR_INVAL, 0},
    {"now", PC_ERR_INVAL, 0},
    {"12x", PC_ERR_INVAL, 0},
    {"2026-13-01", PC_ERR_INVAL, 0},
    {"2026-00-01", PC_ERR_INVAL, 0},
    {"2026-02-29", PC_ERR_INVAL, 0},
    {"1900-02-29", PC_ERR_INVAL, 0},
    {"2026-04-31", PC_ERR_INVAL, 0},
    {"2026-11-23T24:00", PC_ERR_INVAL, 0},
    {"2026-11-23T09:60", PC_ERR_INVAL, 0},
    {"2026-11-23T09:30:60Z", PC_ERR_INVAL, 0},
    {"2026-11-23T09:30:00.Z", PC_ERR_INVAL, 0},
    {"2026-11-23T09:30:00.1234567890Z", PC_ERR_INVAL, 0},
    {"2026-11-23T09:30:00+25:00", PC_ERR_INVAL, 0},
    {"2026-11-23T09:30:00Zjunk", PC_ERR_INVAL, 0},
    {"2026-11-23T9:30", PC_ERR_INVAL, 0},
    {"2026-11-23X", PC_ERR_INVAL, 0},
    {"99999999999999999999", PC_ERR_RANGE, 0},
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = 12345;
		int rc = pc_time_parse(cases[i].text, &ms);

		if (rc != cases[i].rc || (rc == PC_OK && ms != cases[i].ms))
			fprintf(stderr, "\n  '%s': rc %d ms %lld\n", cases[i].text, rc,
			        (long long)ms);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (cases[i].rc == PC_OK) {
			CU_ASSERT_EQUAL(ms, cases[i].ms);
		} else {
			CU_ASSERT_EQUAL(ms, 12345);
		}
	}
	CU_ASSERT_EQUAL(pc_time_parse(NULL, NULL), PC_ERR_INVAL);
}

static void test_round_trip(void)
{
	unsigned bad = 0;

	for (int64_t t = -62167219200000; t < 253402300799999; t += 9876543210987) {
		char buf[32];
		int64_t back = 0;

		if (pc_time_format(buf, sizeof buf, t) != 24 ||
		    pc_time_parse(buf, &back) != PC_OK || back != t)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static CU_TestInfo tests[] = {
    {"table of accepted and refused forms", test_table},
    {"round trip with pc_time_format", test_round_trip},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("time_parse", tests);
}

/*
 * test_error.c - unit tests for common/error.c: the strerror table and the
 * pc_errf detail formatter (truncation, NULL buffers, returned code).
 */
#include <limits.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"

static const int all_codes[] = {
    PC_OK,           PC_ERR_NOMEM,       PC_ERR_INVAL,
    PC_ERR_RANGE,    PC_ERR_UNKNOWN_KEY, PC_ERR_DUPLICATE,
    PC_ERR_TOO_LONG, PC_ERR_FULL,        PC_ERR_EMPTY,
    PC_ERR_CLOSED,   PC_ERR_TIMEOUT,     PC_ERR_IO,
    PC_ERR_BACKEND,
};
#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

static void test_strerror_known(void)
{
	size_t i, j;

	for (i = 0; i < N_CODES; i++) {
		const char *s = pc_strerror(all_codes[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(strlen(s) > 0);
		CU_ASSERT_STRING_NOT_EQUAL(s, "unknown error");
		/* Every code has its own text. */
		for (j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(s, pc_strerror(all_codes[j]));
	}
	CU_ASSERT_STRING_EQUAL(pc_strerror(PC_OK), "success");
	CU_ASSERT_STRING_EQUAL(pc_strerror(PC_ERR_NOMEM), "out of memory");
}

static void test_strerror_unknown(void)
{
	static const int bad[] = {1, 2, -13, -100, 9999, INT_MIN, INT_MAX};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_STRING_EQUAL(pc_strerror(bad[i]), "unknown error");
}

static void test_strerror_stable(void)
{
	/* Static storage: the same pointer each time. */
	CU_ASSERT_PTR_EQUAL(pc_strerror(PC_ERR_FULL), pc_strerror(PC_ERR_FULL));
}

static void test_errf_formats_and_returns_code(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(pc_errf(buf, sizeof(buf), PC_ERR_RANGE, "%s: %d is too big", "port", 70000),
	                PC_ERR_RANGE);
	CU_ASSERT_STRING_EQUAL(buf, "port: 70000 is too big");
	CU_ASSERT_EQUAL(pc_errf(buf, sizeof(buf), PC_OK, "fine"), PC_OK);
	CU_ASSERT_STRING_EQUAL(buf, "fine");
}

static void test_errf_truncates(void)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	CU_ASSERT_EQUAL(pc_errf(buf, 5, PC_ERR_INVAL, "abcdefghij"), PC_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(buf, "abcd");
	/* Nothing written past errlen. */
	CU_ASSERT_EQUAL(buf[5], 'X');

	CU_ASSERT_EQUAL(pc_errf(buf, 1, PC_ERR_INVAL, "abc"), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(buf[0], '\0');
	CU_ASSERT_EQUAL(buf[1], 'b'); /* left over from before, untouched */
}

static void test_errf_null_and_zero(void)
{
	char buf[4] = "abc";

	CU_ASSERT_EQUAL(pc_errf(NULL, 100, PC_ERR_IO, "x %d", 1), PC_ERR_IO);
	CU_ASSERT_EQUAL(pc_errf(NULL, 0, PC_ERR_BACKEND, "x"), PC_ERR_BACKEND);
	CU_ASSERT_EQUAL(pc_errf(buf, 0, PC_ERR_TIMEOUT, "zzz"), PC_ERR_TIMEOUT);
	CU_ASSERT_STRING_EQUAL(buf, "abc");
}

static CU_TestInfo tests[] = {
    {"strerror of every code", test_strerror_known},
    {"strerror of unknown codes", test_strerror_unknown},
    {"strerror is static", test_strerror_stable},
    {"errf formats and returns the code", test_errf_formats_and_returns_code},
    {"errf truncates and terminates", test_errf_truncates},
    {"errf with NULL or empty buffer", test_errf_null_and_zero},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("error", tests);
}

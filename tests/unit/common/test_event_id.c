/*
 * test_event_id.c - unit tests for common/event_id.c: which ids are valid
 * (the id alphabet, 1-64 characters, an embedded NUL refused), and the
 * key: the same in every run (a pinned value), distinct for distinct ids
 * and for the same id from distinct devices, never 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/event_id.h"

static void test_check(void)
{
	char id64[65], err[128];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	CU_ASSERT_EQUAL(pc_event_id_check("536365:1", 8, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(pc_event_id_check(id64, 64, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(pc_event_id_check(id64, 65, err, sizeof err), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_event_id_check("", 0, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_event_id_check("a/b", 3, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_event_id_check("a b", 3, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_event_id_check("a\0b", 3, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_event_id_check("caf\xc3\xa9", 5, err, sizeof err), PC_ERR_INVAL);
}

static void test_key(void)
{
	char id[32];
	uint64_t seen[1000];
	int i, j, dup = 0;

	/* Pinned: SipHash-2-4 of "pos-1\0536365:1" under the fixed key, from an
	 * independent implementation checked against the reference vectors. */
	CU_ASSERT_EQUAL(pc_event_key("pos-1", 5, "536365:1", 8), UINT64_C(18434024789325556859));
	CU_ASSERT_EQUAL(pc_event_key("pos-1x", 5, "536365:1xyz", 8),
	                pc_event_key("pos-1", 5, "536365:1", 8));
	CU_ASSERT_NOT_EQUAL(pc_event_key("pos-1", 5, "536365:1", 8),
	                    pc_event_key("pos-1", 5, "536365:2", 8));
	/* The same id from another device is another event; the separator keeps
	 * ("a", "b:c") apart from ("ab", ":c"). */
	CU_ASSERT_NOT_EQUAL(pc_event_key("pos-1", 5, "536365:1", 8),
	                    pc_event_key("pos-2", 5, "536365:1", 8));
	CU_ASSERT_NOT_EQUAL(pc_event_key("a", 1, "b:c", 3), pc_event_key("ab", 2, ":c", 2));
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "%d:%d", 536365 + i / 10, i % 10);
		seen[i] = pc_event_key("pos-1", 5, id, strlen(id));
		CU_ASSERT_NOT_EQUAL(seen[i], 0);
		for (j = 0; j < i; j++)
			dup += seen[j] == seen[i];
	}
	CU_ASSERT_EQUAL(dup, 0);
}

static CU_TestInfo tests[] = {
    {"valid and invalid event ids", test_check},
    {"keys: stable, distinct, never 0", test_key},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("event_id", tests);
}

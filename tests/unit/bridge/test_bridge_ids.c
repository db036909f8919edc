/*
 * test_bridge_ids.c - unit tests for bridge/ids.c: interning is idempotent,
 * indices are dense and stable, lookups of unknown ids fail, names
 * round-trip (explicit lengths, so a prefix is its own id).
 */
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "ids.h"
#include "precis/error.h"

static void test_intern(void)
{
	struct br_ids t;
	uint32_t a, b, c, k;
	int added;
	char name[16];

	CU_ASSERT_EQUAL_FATAL(br_ids_init(&t), PC_OK);
	CU_ASSERT_EQUAL(br_ids_intern(&t, "alice", 5, &a, &added), PC_OK);
	CU_ASSERT_EQUAL(added, 1);
	CU_ASSERT_EQUAL(br_ids_intern(&t, "bob", 3, &b, &added), PC_OK);
	CU_ASSERT_EQUAL(br_ids_intern(&t, "alice", 5, &c, &added), PC_OK);
	CU_ASSERT_EQUAL(added, 0);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(c, 0);
	CU_ASSERT_EQUAL(br_ids_intern(&t, "alice-x", 3, &c, NULL), PC_OK); /* "ali" */
	CU_ASSERT_EQUAL(c, 2);
	CU_ASSERT_STRING_EQUAL(br_ids_name(&t, 2), "ali");
	CU_ASSERT_EQUAL(br_ids_find(&t, "bob", 3, &c), PC_OK);
	CU_ASSERT_EQUAL(c, 1);
	CU_ASSERT_EQUAL(br_ids_find(&t, "carol", 5, &c), PC_ERR_EMPTY);
	CU_ASSERT_PTR_NULL(br_ids_name(&t, 3));
	for (k = 0; k < 5000; k++) { /* growth keeps every index */
		snprintf(name, sizeof name, "u%u", k);
		CU_ASSERT_EQUAL(br_ids_intern(&t, name, strlen(name), &c, NULL), PC_OK);
		CU_ASSERT_EQUAL(c, k + 3);
	}
	CU_ASSERT_STRING_EQUAL(br_ids_name(&t, 0), "alice");
	CU_ASSERT_STRING_EQUAL(br_ids_name(&t, 4002), "u3999");
	CU_ASSERT_EQUAL(t.n, 5003);
	br_ids_cleanup(&t);
}

static CU_TestInfo tests[] = {
    {"interning, lookups, names", test_intern},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("ids", tests);
}

/*
 * test_bridge_matrix.c - unit tests for bridge/matrix.c: set, add, clamp, sorted
 * rows with their column twins in sync, sums, refusal of NaN and infinity.
 */
#include <math.h>

#include "cu_run.h"
#include "matrix.h"
#include "precis/error.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

static void test_matrix(void)
{
	struct br_matrix m;
	bool created;

	br_matrix_init(&m);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, 2, false, 0, &created), PC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 2, 1, false, 0, &created), PC_OK);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, 3, false, 0, &created), PC_OK);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_EQUAL(m.nusers, 4);
	CU_ASSERT_EQUAL(m.nitems, 8);
	CU_ASSERT_EQUAL(m.nnz, 2);
	NEAR(br_matrix_get(&m, 3, 7), 5); /* added */
	NEAR(br_matrix_get(&m, 3, 2), 1);
	NEAR(br_matrix_get(&m, 0, 7), 0);
	NEAR(br_matrix_get(&m, 99, 7), 0);
	CU_ASSERT_FALSE(br_matrix_has(&m, 3, 5));
	/* rows sorted by item, columns in arrival order, twins in sync */
	CU_ASSERT_EQUAL(m.rows[3].idx[0], 2);
	CU_ASSERT_EQUAL(m.rows[3].idx[1], 7);
	NEAR(m.cols[7].val[m.rows[3].pos[1]], 5);
	NEAR(m.rows[3].sum, 6);
	NEAR(m.rows[3].sumsq, 26);
	NEAR(m.cols[7].sumsq, 25);
	/* set replaces; the cap clamps both ways */
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, 4, true, 0, NULL), PC_OK);
	NEAR(br_matrix_get(&m, 3, 7), 4);
	NEAR(m.rows[3].sum, 5);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, 100, false, 10, NULL), PC_OK);
	NEAR(br_matrix_get(&m, 3, 7), 10);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, -100, true, 10, NULL), PC_OK);
	NEAR(br_matrix_get(&m, 3, 7), -10);
	/* NaN and infinity change nothing */
	CU_ASSERT_EQUAL(br_matrix_update(&m, 3, 7, NAN, false, 0, NULL), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(br_matrix_update(&m, 1, 1, INFINITY, true, 0, NULL), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(m.nnz, 2);
	NEAR(br_vec_mean(&m.rows[3]), -4.5);
	CU_ASSERT_TRUE(br_matrix_bytes(&m) > 0);
	br_matrix_cleanup(&m);
	CU_ASSERT_EQUAL(m.nusers, 0);
}

static CU_TestInfo tests[] = {
    {"matrix set, add, clamp, sums, NaN refused", test_matrix},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("matrix", tests);
}

/*
 * test_bridge_metrics.c - unit tests for bridge/metrics.c: RMSE and MAE, the
 * top-N measures on hand-computed lists, and the seeded splits.
 */
#include <math.h>
#include <stdlib.h>

#include "cu_run.h"
#include "metrics.h"

static void test_errors(void)
{
	struct br_err_acc a = {0};

	CU_ASSERT_DOUBLE_EQUAL(br_rmse(&a), 0, 1e-12);
	br_err_add(&a, 3, 4);
	br_err_add(&a, 5, 3);
	br_err_add(&a, 2, 2);
	CU_ASSERT_DOUBLE_EQUAL(br_rmse(&a), sqrt(5.0 / 3), 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(br_mae(&a), 1.0, 1e-12);
}

static void test_ranking(void)
{
	struct br_rank_acc a = {0};
	uint32_t rec1[3] = {7, 2, 9}, rel1[2] = {2, 9};
	uint32_t rec2[3] = {1, 3, 5}, rel2[1] = {4};

	/* hits at ranks 2 and 3: DCG 1/log2(3) + 1/log2(4); ideal 1 + 1/log2(3) */
	br_rank_add(&a, rec1, 3, rel1, 2, 3);
	CU_ASSERT_DOUBLE_EQUAL(br_rank_precision(&a), 2.0 / 3, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(br_rank_recall(&a), 1.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(br_rank_ndcg(&a), (1 / log2(3.0) + 0.5) / (1 + 1 / log2(3.0)),
	                       1e-12);
	br_rank_add(&a, rec2, 3, rel2, 1, 3); /* no hit */
	CU_ASSERT_DOUBLE_EQUAL(br_rank_precision(&a), 1.0 / 3, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(br_rank_recall(&a), 0.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(br_rank_hit_rate(&a), 0.5, 1e-12);
	/* a short list still divides precision by N */
	{
		struct br_rank_acc b = {0};
		uint32_t rec[1] = {4};
		br_rank_add(&b, rec, 1, rel2, 1, 10);
		CU_ASSERT_DOUBLE_EQUAL(br_rank_precision(&b), 0.1, 1e-12);
		CU_ASSERT_DOUBLE_EQUAL(br_rank_ndcg(&b), 1.0, 1e-12);
		br_rank_add(&b, rec, 1, rel2, 0, 10); /* nothing relevant: not counted */
		CU_ASSERT_EQUAL(b.users, 1);
	}
}

static void test_splits(void)
{
	uint32_t fold[103], count[5] = {0}, again[103];
	bool test[200];
	size_t k, n = 0;

	br_split_kfold(fold, 103, 5, 9);
	for (k = 0; k < 103; k++)
		count[fold[k]]++;
	CU_ASSERT_EQUAL(count[0], 21);
	CU_ASSERT_EQUAL(count[2], 21);
	CU_ASSERT_EQUAL(count[3], 20);
	CU_ASSERT_EQUAL(count[4], 20);
	br_split_kfold(again, 103, 5, 9);
	for (k = 0; k < 103; k++)
		CU_ASSERT_EQUAL(fold[k], again[k]); /* deterministic for a seed */
	br_split_kfold(again, 103, 5, 10);
	for (k = 0; k < 103; k++)
		n += fold[k] != again[k];
	CU_ASSERT_TRUE(n > 50); /* another seed, another split */
	br_split_holdout(test, 200, 0.2, 1);
	for (k = 0, n = 0; k < 200; k++)
		n += test[k];
	CU_ASSERT_EQUAL(n, 40);
}

static CU_TestInfo tests[] = {
    {"RMSE and MAE", test_errors},
    {"precision, recall, nDCG, hit rate", test_ranking},
    {"k-fold and holdout splits", test_splits},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("metrics", tests);
}

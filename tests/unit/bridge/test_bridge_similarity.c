/*
 * test_bridge_similarity.c - unit tests for bridge/similarity.c: similarities
 * against values computed by hand, minimum support and shrinkage, kNN
 * prediction by hand, and the fast (accumulator) paths against a plain
 * reference implementation of KNNWithMeans on random matrices.
 */
#include <math.h>
#include <stdlib.h>

#include "cu_run.h"
#include "precis/error.h"
#include "reco_fixture.h"
#include "recommend.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

static void test_similarities_by_hand(void)
{
	struct br_reco r;
	uint32_t n;

	rf_init(&r, BR_SIM_COSINE, 40, 1, 0);
	rf_load_example(&r);
	/* cosine: (15 + 3 + 8) / sqrt(50 * 23) */
	NEAR(br_sim_users(&r, 0, 1, &n), 26 / sqrt(50.0 * 23));
	CU_ASSERT_EQUAL(n, 3);
	/* items i0, i1: (5*3 + 3*1) / sqrt(34 * 26) */
	NEAR(br_sim_items(&r, 0, 1, &n), 18 / sqrt(34.0 * 26));
	CU_ASSERT_EQUAL(n, 2);
	/* symmetric */
	NEAR(br_sim_users(&r, 1, 0, NULL), br_sim_users(&r, 0, 1, NULL));
	br_reco_cleanup(&r);

	rf_init(&r, BR_SIM_PEARSON, 40, 1, 0);
	rf_load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 1.0);  /* (5,3,4) vs (3,1,2): y = x - 2 */
	NEAR(br_sim_users(&r, 1, 2, NULL), -1.0); /* (1,3) vs (4,1): two points, falling */
	NEAR(br_sim_users(&r, 0, 2, NULL), 0.0);  /* one common item: no variance */
	br_reco_cleanup(&r);

	/* adjusted cosine: values minus the user's own mean (4, 2.25) over the common items */
	rf_init(&r, BR_SIM_ADJUSTED, 40, 1, 0);
	rf_load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 2 / sqrt(2 * 2.1875));
	br_reco_cleanup(&r);
}

static void test_support_and_shrinkage(void)
{
	struct br_reco r;

	rf_init(&r, BR_SIM_PEARSON, 40, 1, 3);
	rf_load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 1.0 * 3 / (3 + 3)); /* n / (n + lambda) */
	br_reco_cleanup(&r);
	rf_init(&r, BR_SIM_PEARSON, 40, 4, 0);
	rf_load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 0); /* 3 common items < 4 */
	br_reco_cleanup(&r);
	rf_init(&r, BR_SIM_COSINE, 40, 3, 0);
	rf_load_example(&r);
	CU_ASSERT_TRUE(br_sim_users(&r, 0, 1, NULL) > 0);
	NEAR(br_sim_users(&r, 1, 2, NULL), 0); /* 2 common items < 3 */
	br_reco_cleanup(&r);
}

static void test_predict_by_hand(void)
{
	struct br_reco r;
	double est;
	uint32_t used;

	rf_init(&r, BR_SIM_PEARSON, 40, 1, 0);
	rf_load_example(&r);
	/* u0 on i3: raters u1 (sim 1) and u2 (sim 0): 4 + 1 * (3 - 2.25) / 1 */
	CU_ASSERT_TRUE(br_predict(&r, 0, 3, false, &est, &used));
	NEAR(est, 4.75);
	CU_ASSERT_EQUAL(used, 1);
	/* u2 on i0: raters u0 (sim 0) and u1 (sim -1): no positive neighbour: u2's mean */
	CU_ASSERT_TRUE(br_predict(&r, 2, 0, false, &est, &used));
	NEAR(est, 2.5);
	CU_ASSERT_EQUAL(used, 0);
	/* unknown user, unknown item */
	CU_ASSERT_FALSE(br_predict(&r, 9, 0, false, &est, NULL));
	CU_ASSERT_FALSE(br_predict(&r, 0, 9, false, &est, NULL));
	br_reco_cleanup(&r);
}

/* KNNWithMeans written plainly from its definition, over br_sim_users. */
static bool reference_predict(const struct br_reco *r, uint32_t u, uint32_t i, double *est)
{
	const struct br_vec *c = &r->m.cols[i];
	double s[512], num = 0, den = 0;
	bool used[512] = {false};
	uint32_t k, l, taken = 0;

	for (k = 0; k < c->n; k++)
		s[k] = c->idx[k] == u ? -INFINITY : br_sim_users(r, u, c->idx[k], NULL);
	for (taken = 0; taken < r->p.k; taken++) { /* pick the best remaining, first on ties */
		int best = -1;
		for (l = 0; l < c->n; l++)
			if (!used[l] && (best < 0 || s[l] > s[best]))
				best = (int)l;
		if (best < 0 || !(s[best] > 0))
			break;
		used[best] = true;
		num += s[best] * (c->val[best] - br_vec_mean(&r->m.rows[c->idx[best]]));
		den += s[best];
	}
	*est = br_vec_mean(&r->m.rows[u]) + (den > 0 ? num / den : 0);
	return true;
}

static void test_fast_paths_match_reference(void)
{
	static const enum br_sim sims[] = {BR_SIM_COSINE, BR_SIM_ADJUSTED, BR_SIM_PEARSON};
	struct br_reco r;
	size_t s;
	uint32_t u, i, mismatches = 0, checked = 0;

	for (s = 0; s < 3; s++) {
		rf_init(&r, sims[s], 5, 2, 1.5);
		rf_random_matrix(&r, 60, 40, 0.25, 7 + (unsigned)s);
		for (u = 0; u < 60; u++) {
			for (i = 0; i < 40; i++) {
				double fast, ref;
				if (br_matrix_has(&r.m, u, i) || r.m.cols[i].n == 0 ||
				    r.m.rows[u].n == 0)
					continue;
				CU_ASSERT_TRUE(br_predict(&r, u, i, false, &fast, NULL));
				reference_predict(&r, u, i, &ref);
				checked++;
				if (fabs(fast - ref) > 1e-9)
					mismatches++;
			}
		}
		br_reco_cleanup(&r);
	}
	CU_ASSERT_TRUE(checked > 1000);
	CU_ASSERT_EQUAL(mismatches, 0);
}

static void test_predict_user_batch(void)
{
	struct br_reco r;
	uint32_t items[3] = {1, 7, 500};
	double est[3], one;
	bool ok[3];

	rf_init(&r, BR_SIM_PEARSON, 10, 1, 0);
	rf_random_matrix(&r, 30, 20, 0.4, 3);
	CU_ASSERT_EQUAL(br_predict_user(&r, 4, items, 3, est, ok), PC_OK);
	CU_ASSERT_TRUE(ok[0] && ok[1]);
	CU_ASSERT_FALSE(ok[2]); /* unknown item */
	CU_ASSERT_TRUE(br_predict(&r, 4, 7, false, &one, NULL));
	NEAR(est[1], one);
	CU_ASSERT_EQUAL(br_predict_user(&r, 99, items, 3, est, ok), PC_OK);
	CU_ASSERT_FALSE(ok[0] || ok[1] || ok[2]);
	br_reco_cleanup(&r);
}

static void test_item_predict(void)
{
	struct br_reco r;
	double est;

	rf_init(&r, BR_SIM_COSINE, 40, 1, 0);
	rf_load_example(&r);
	/* u2 on i0: i0's similarities to u2's items i1 and i3, mean-centred on item means */
	CU_ASSERT_TRUE(br_predict(&r, 2, 0, true, &est, NULL));
	{
		double s1 = br_sim_items(&r, 0, 1, NULL), s3 = br_sim_items(&r, 0, 3, NULL);
		double want = 4 + (s1 * (4 - 8.0 / 3) + s3 * (1 - 2)) / (s1 + s3);
		NEAR(est, want);
	}
	br_reco_cleanup(&r);
}

static CU_TestInfo tests[] = {
    {"similarities computed by hand", test_similarities_by_hand},
    {"minimum support and shrinkage", test_support_and_shrinkage},
    {"user kNN prediction by hand", test_predict_by_hand},
    {"fast paths equal the reference KNNWithMeans", test_fast_paths_match_reference},
    {"batch prediction for one user", test_predict_user_batch},
    {"item kNN prediction", test_item_predict},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("similarity", tests);
}

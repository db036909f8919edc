/*
 * test_bridge_recommend.c - unit tests for bridge/recommend.c: top-N exclusion of
 * owned items, popularity fill and cold start, reasons, cache and
 * popularity invalidation by updates, top-N quality on the planted-
 * structure data set (tests/planted.c), bad parameters and names.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cu_run.h"
#include "planted.h"
#include "precis/error.h"
#include "reco_fixture.h"
#include "recommend.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

static bool listed(const struct br_scored *s, size_t n, uint32_t item)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (s[k].item == item)
			return true;
	return false;
}

static void test_topn_excludes_owned_and_fills(void)
{
	struct br_reco r;
	struct br_scored out[10];
	size_t n, k;

	rf_init(&r, BR_SIM_COSINE, 40, 1, 0);
	rf_load_example(&r);
	/* u0 lacks only i3: kNN finds it (u1 has it), then nothing is left to fill */
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_USER_KNN, 0, 10, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out[0].item, 3);
	CU_ASSERT_EQUAL(out[0].reason, BR_REASON_USERS);
	CU_ASSERT_EQUAL(out[0].support, 2); /* u1 and u2 both have i3 */
	/* u2 lacks i0, i2: both recommended, never i1 or i3 */
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_USER_KNN, 2, 10, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_TRUE(listed(out, n, 0) && listed(out, n, 2));
	CU_ASSERT_FALSE(listed(out, n, 1) || listed(out, n, 3));
	for (k = 1; k < n; k++)
		CU_ASSERT_TRUE(out[k - 1].score >= out[k].score ||
		               out[k].reason == BR_REASON_POPULAR);
	/* a cold-start user gets the most popular items: i1 (3 users), then i0, i2, i3 (2 each) */
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_USER_KNN, 77, 3, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(out[0].item, 1);
	CU_ASSERT_EQUAL(out[0].reason, BR_REASON_POPULAR);
	NEAR(out[0].score, 1.0);
	CU_ASSERT_EQUAL(out[1].item, 0);
	CU_ASSERT_EQUAL(out[2].item, 2);
	/* item-based: the reason names the user's item behind it */
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_ITEM_KNN, 2, 10, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 2);
	for (k = 0; k < n; k++) {
		CU_ASSERT_EQUAL(out[k].reason, BR_REASON_ITEMS);
		CU_ASSERT_TRUE(out[k].because == 1 || out[k].because == 3);
	}
	/* popularity only */
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_POPULAR, 2, 10, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(out[0].item, 0);
	CU_ASSERT_EQUAL(out[0].reason, BR_REASON_POPULAR);
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_POPULAR, 2, 0, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 0);
	br_reco_cleanup(&r);
}

static void test_updates_invalidate(void)
{
	struct br_reco r;
	struct br_scored out[10];
	size_t n;

	rf_init(&r, BR_SIM_COSINE, 40, 1, 0);
	rf_load_example(&r);
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_ITEM_KNN, 0, 10, out, &n), PC_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out[0].item, 3);
	/* a new item i4 that u1 and u2 share becomes u0's recommendation too */
	CU_ASSERT_EQUAL(br_reco_update(&r, 1, 4, 5, false, 0), PC_OK);
	CU_ASSERT_EQUAL(br_reco_update(&r, 2, 4, 5, false, 0), PC_OK);
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_ITEM_KNN, 0, 10, out, &n), PC_OK);
	CU_ASSERT_TRUE(listed(out, n, 4));
	/* the user now has it: no longer recommended, and popularity changed (i4: 3 users) */
	CU_ASSERT_EQUAL(br_reco_update(&r, 0, 4, 1, false, 0), PC_OK);
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_ITEM_KNN, 0, 10, out, &n), PC_OK);
	CU_ASSERT_FALSE(listed(out, n, 4));
	CU_ASSERT_EQUAL(br_topn(&r, BR_ALGO_POPULAR, 99, 1, out, &n), PC_OK);
	CU_ASSERT_EQUAL(out[0].item, 1); /* i1 and i4 tie at 3 users: the lower index first */
	CU_ASSERT_TRUE(br_reco_bytes(&r) > 0);
	br_reco_cleanup(&r);
}

struct planted_load {
	struct br_reco *r;
	uint32_t held;
	uint32_t held_item[400];
	uint32_t held_user[400];
};

static void planted_add(void *arg, uint32_t u, uint32_t i, float v)
{
	struct planted_load *pl = arg;

	br_reco_update(pl->r, u, i, v, false, 50);
}

static void test_planted_topn_quality(void)
{
	static const enum br_algo algos[] = {BR_ALGO_USER_KNN, BR_ALGO_ITEM_KNN};
	static const enum br_sim sims[] = {BR_SIM_COSINE, BR_SIM_ADJUSTED, BR_SIM_PEARSON};
	struct planted p = {200, 400, 5, 30, 0.1, 42};
	struct br_scored out[10];
	size_t a, s, n, k;
	uint32_t u;

	for (a = 0; a < 2; a++) {
		for (s = 0; s < 3; s++) {
			struct br_reco r;
			struct planted_load pl = {&r, 0, {0}, {0}};
			uint64_t in_group = 0, total = 0;
			bool owned = false;

			rf_init(&r, sims[s], 20, 2, 0);
			planted_generate(&p, planted_add, &pl);
			for (u = 0; u < p.users; u++) {
				CU_ASSERT_EQUAL(br_topn(&r, algos[a], u, 10, out, &n), PC_OK);
				for (k = 0; k < n; k++) {
					total++;
					in_group +=
					    planted_group(&p, out[k].item) == planted_group(&p, u);
					owned |= br_matrix_has(&r.m, u, out[k].item);
				}
			}
			CU_ASSERT_FALSE(owned);
			CU_ASSERT_EQUAL(total, 10 * p.users);
			/* 90 % of the events are in-group; a recommender that learned the
			 * structure recommends (nearly) only in-group items. The values are
			 * random weights, so the mean-centred similarities, which compare
			 * values rather than presence, find weaker user neighbourhoods. */
			double want =
			    sims[s] == BR_SIM_COSINE || algos[a] == BR_ALGO_ITEM_KNN ? 0.95 : 0.85;
			if ((double)in_group / (double)total < want)
				fprintf(stderr, "\n  %s/%s: %.3f in group\n",
				        br_algo_name(algos[a]), br_sim_name(sims[s]),
				        (double)in_group / (double)total);
			CU_ASSERT_TRUE((double)in_group / (double)total >= want);
			br_reco_cleanup(&r);
		}
	}
	/* popularity ignores the structure: about 1 / clusters in group (the control) */
	{
		struct br_reco r;
		struct planted_load pl = {&r, 0, {0}, {0}};
		uint64_t in_group = 0, total = 0;
		rf_init(&r, BR_SIM_COSINE, 20, 1, 0);
		planted_generate(&p, planted_add, &pl);
		for (u = 0; u < p.users; u++) {
			br_topn(&r, BR_ALGO_POPULAR, u, 10, out, &n);
			for (k = 0; k < n; k++, total++)
				in_group += planted_group(&p, out[k].item) == planted_group(&p, u);
		}
		CU_ASSERT_TRUE((double)in_group / (double)total < 0.5);
		br_reco_cleanup(&r);
	}
}

static void test_bad_params(void)
{
	struct br_reco r;
	struct br_knn_params p = {BR_SIM_COSINE, 0, 1, 0};

	CU_ASSERT_EQUAL(br_reco_init(&r, &p), PC_ERR_INVAL);
	p.k = 1;
	p.shrinkage = -1;
	CU_ASSERT_EQUAL(br_reco_init(&r, &p), PC_ERR_INVAL);
	p.shrinkage = NAN;
	CU_ASSERT_EQUAL(br_reco_init(&r, &p), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(br_reco_init(&r, NULL), PC_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(br_sim_name(BR_SIM_PEARSON), "pearson");
	CU_ASSERT_STRING_EQUAL(br_algo_name(BR_ALGO_ITEM_KNN), "item_knn");
	CU_ASSERT_STRING_EQUAL(br_reason_name(BR_REASON_POPULAR), "popular");
	CU_ASSERT_STRING_EQUAL(br_sim_name((enum br_sim)9), "?");
}

static CU_TestInfo tests[] = {
    {"top-N excludes owned items, fills, cold start, reasons", test_topn_excludes_owned_and_fills},
    {"updates invalidate caches and popularity", test_updates_invalidate},
    {"top-N on planted structure", test_planted_topn_quality},
    {"bad parameters and names", test_bad_params},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("recommend", tests);
}

/*
 * test_recommend.c - unit tests for bridge/matrix.c and bridge/recommend.c:
 * the matrix (set, add, clamp, sorted rows, sums, refusal of NaN),
 * similarities against values computed by hand, minimum support and
 * shrinkage, the fast (accumulator) paths against the direct reference on
 * a random matrix, kNN prediction by hand and against a reference
 * implementation of KNNWithMeans, top-N exclusion, popularity fill and
 * cold start, reasons, cache invalidation, and top-N quality on the
 * planted-structure data set (tests/planted.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "planted.h"
#include "precis/error.h"
#include "recommend.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

/*
 * The hand-computed example:
 *        i0 i1 i2 i3
 *   u0    5  3  4  .
 *   u1    3  1  2  3
 *   u2    .  4  .  1
 */
static void load_example(struct br_reco *r)
{
	static const struct {
		uint32_t u, i;
		float v;
	} cells[] = {{0, 0, 5}, {0, 1, 3}, {0, 2, 4}, {1, 0, 3}, {1, 1, 1},
	             {1, 2, 2}, {1, 3, 3}, {2, 1, 4}, {2, 3, 1}};
	size_t k;

	for (k = 0; k < sizeof cells / sizeof cells[0]; k++)
		CU_ASSERT_EQUAL(br_reco_update(r, cells[k].u, cells[k].i, cells[k].v, true, 0),
		                PC_OK);
}

static void init(struct br_reco *r, enum br_sim sim, uint32_t k, uint32_t min_support,
                 double shrinkage)
{
	struct br_knn_params p = {sim, k, min_support, shrinkage};

	CU_ASSERT_EQUAL_FATAL(br_reco_init(r, &p), PC_OK);
}

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

static void test_similarities_by_hand(void)
{
	struct br_reco r;
	uint32_t n;

	init(&r, BR_SIM_COSINE, 40, 1, 0);
	load_example(&r);
	/* cosine: (15 + 3 + 8) / sqrt(50 * 23) */
	NEAR(br_sim_users(&r, 0, 1, &n), 26 / sqrt(50.0 * 23));
	CU_ASSERT_EQUAL(n, 3);
	/* items i0, i1: (5*3 + 3*1) / sqrt(34 * 26) */
	NEAR(br_sim_items(&r, 0, 1, &n), 18 / sqrt(34.0 * 26));
	CU_ASSERT_EQUAL(n, 2);
	/* symmetric */
	NEAR(br_sim_users(&r, 1, 0, NULL), br_sim_users(&r, 0, 1, NULL));
	br_reco_cleanup(&r);

	init(&r, BR_SIM_PEARSON, 40, 1, 0);
	load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 1.0);  /* (5,3,4) vs (3,1,2): y = x - 2 */
	NEAR(br_sim_users(&r, 1, 2, NULL), -1.0); /* (1,3) vs (4,1): two points, falling */
	NEAR(br_sim_users(&r, 0, 2, NULL), 0.0);  /* one common item: no variance */
	br_reco_cleanup(&r);

	/* adjusted cosine: values minus the user's own mean (4, 2.25) over the common items */
	init(&r, BR_SIM_ADJUSTED, 40, 1, 0);
	load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 2 / sqrt(2 * 2.1875));
	br_reco_cleanup(&r);
}

static void test_support_and_shrinkage(void)
{
	struct br_reco r;

	init(&r, BR_SIM_PEARSON, 40, 1, 3);
	load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 1.0 * 3 / (3 + 3)); /* n / (n + lambda) */
	br_reco_cleanup(&r);
	init(&r, BR_SIM_PEARSON, 40, 4, 0);
	load_example(&r);
	NEAR(br_sim_users(&r, 0, 1, NULL), 0); /* 3 common items < 4 */
	br_reco_cleanup(&r);
	init(&r, BR_SIM_COSINE, 40, 3, 0);
	load_example(&r);
	CU_ASSERT_TRUE(br_sim_users(&r, 0, 1, NULL) > 0);
	NEAR(br_sim_users(&r, 1, 2, NULL), 0); /* 2 common items < 3 */
	br_reco_cleanup(&r);
}

static void test_predict_by_hand(void)
{
	struct br_reco r;
	double est;
	uint32_t used;

	init(&r, BR_SIM_PEARSON, 40, 1, 0);
	load_example(&r);
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

/* A random matrix: n users x m items, density d, integer values 1..5. */
static void random_matrix(struct br_reco *r, uint32_t n, uint32_t m, double d, unsigned seed)
{
	uint32_t u, i;

	srand(seed);
	for (u = 0; u < n; u++)
		for (i = 0; i < m; i++)
			if ((double)rand() / RAND_MAX < d)
				br_reco_update(r, u, i, (float)(1 + rand() % 5), true, 0);
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
		init(&r, sims[s], 5, 2, 1.5);
		random_matrix(&r, 60, 40, 0.25, 7 + (unsigned)s);
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

	init(&r, BR_SIM_PEARSON, 10, 1, 0);
	random_matrix(&r, 30, 20, 0.4, 3);
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

	init(&r, BR_SIM_COSINE, 40, 1, 0);
	load_example(&r);
	/* u2 on i0: i0's similarities to u2's items i1 and i3, mean-centred on item means */
	CU_ASSERT_TRUE(br_predict(&r, 2, 0, true, &est, NULL));
	{
		double s1 = br_sim_items(&r, 0, 1, NULL), s3 = br_sim_items(&r, 0, 3, NULL);
		double want = 4 + (s1 * (4 - 8.0 / 3) + s3 * (1 - 2)) / (s1 + s3);
		NEAR(est, want);
	}
	br_reco_cleanup(&r);
}

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

	init(&r, BR_SIM_COSINE, 40, 1, 0);
	load_example(&r);
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

	init(&r, BR_SIM_COSINE, 40, 1, 0);
	load_example(&r);
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

			init(&r, sims[s], 20, 2, 0);
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
		init(&r, BR_SIM_COSINE, 20, 1, 0);
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
    {"matrix set, add, clamp, sums, NaN refused", test_matrix},
    {"similarities computed by hand", test_similarities_by_hand},
    {"minimum support and shrinkage", test_support_and_shrinkage},
    {"user kNN prediction by hand", test_predict_by_hand},
    {"fast paths equal the reference KNNWithMeans", test_fast_paths_match_reference},
    {"batch prediction for one user", test_predict_user_batch},
    {"item kNN prediction", test_item_predict},
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

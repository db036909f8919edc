/*
 * test_bridge_profile.c - unit tests for bridge/profile.c: counters from events,
 * RFM percentile scores by hand, tags from categories weighted by the
 * matrix, segment rules over a portrait, opt-outs.
 */
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "profile.h"

static struct br_event ev(const char *cat, enum br_evt_type t, double value, int64_t ts)
{
	struct br_event e;

	memset(&e, 0, sizeof e);
	strcpy(e.category, cat);
	e.type = t;
	e.value = value;
	e.has_value = value != 0;
	e.ts_ms = ts;
	return e;
}

static void test_rfm_score(void)
{
	double v[5] = {1, 2, 3, 4, 5}, same[4] = {7, 7, 7, 7};

	CU_ASSERT_EQUAL(br_rfm_score(v, 5, 1), 1);    /* (0 + 0.5) / 5 = 0.1 -> 1 */
	CU_ASSERT_EQUAL(br_rfm_score(v, 5, 3), 3);    /* 2.5 / 5 -> 3 */
	CU_ASSERT_EQUAL(br_rfm_score(v, 5, 5), 5);    /* 4.5 / 5 -> 5 */
	CU_ASSERT_EQUAL(br_rfm_score(same, 4, 7), 3); /* all tied: the middle */
	CU_ASSERT_EQUAL(br_rfm_score(v, 0, 3), 0);
	CU_ASSERT_EQUAL(br_rfm_score(v, 5, 100), 5);
}

static void test_portraits(void)
{
	struct br_profiles pf;
	struct br_matrix m;
	struct br_config c;
	struct br_portrait p;
	struct br_event e;
	char err[256];
	uint32_t u;

	memset(&c, 0, sizeof c);
	c.nsegments = 2;
	char id0[] = "big", spec0[] = "rfm.m >= 4 && tag:toys", id1[] = "idle",
	     spec1[] = "purchases == 0", bad[] = "purchases >";
	c.segments[0].id = id0;
	c.segments[0].spec = spec0;
	c.segments[1].id = id1;
	c.segments[1].spec = spec1;
	CU_ASSERT_EQUAL_FATAL(br_profiles_init(&pf), PC_OK);
	CU_ASSERT_EQUAL(br_profiles_set_segments(&pf, &c, err, sizeof err), PC_OK);
	br_matrix_init(&m);
	/* user u buys u+1 times for 10 each, at time 100 * (u + 1); user 4 never buys */
	for (u = 0; u < 4; u++) {
		uint32_t k;
		for (k = 0; k <= u; k++) {
			e = ev(k % 2 ? "garden" : "toys", BR_EVT_PURCHASE, 10, 100 * (u + 1));
			CU_ASSERT_EQUAL(br_profiles_event(&pf, u, k, &e), PC_OK);
			br_matrix_update(&m, u, k, 5, false, 0, NULL);
		}
	}
	e = ev("", BR_EVT_VIEW, 0, 50);
	CU_ASSERT_EQUAL(br_profiles_event(&pf, 4, 9, &e), PC_OK);
	br_matrix_update(&m, 4, 9, 1, false, 0, NULL);
	CU_ASSERT_EQUAL(br_profiles_stats(&pf, 3)->purchases, 4);
	CU_ASSERT_DOUBLE_EQUAL(br_profiles_stats(&pf, 3)->spend, 40, 1e-9);
	CU_ASSERT_PTR_NULL(br_profiles_stats(&pf, 9));
	/* user 3: most recent, most purchases, most spend among 4 buyers: 3.5 / 4 -> 5 */
	CU_ASSERT_EQUAL(br_portrait_compute(&pf, &m, 3, 100 * 4 + 86400000, 3, &p), PC_OK);
	CU_ASSERT_EQUAL(p.rfm[0], 5);
	CU_ASSERT_EQUAL(p.rfm[1], 5);
	CU_ASSERT_EQUAL(p.rfm[2], 5);
	CU_ASSERT_DOUBLE_EQUAL(p.recency_days, 1.0, 1e-9);
	/* items 0, 2 are toys (value 10), 1, 3 garden (10): ties keep the first category seen */
	CU_ASSERT_EQUAL(p.ntags, 2);
	CU_ASSERT_STRING_EQUAL(br_ids_name(&pf.cats, p.tag[0]), "toys");
	CU_ASSERT_TRUE(p.segments & 1);
	CU_ASSERT_FALSE(p.segments & 2);
	/* user 0: 0.5 / 4 -> 1 */
	CU_ASSERT_EQUAL(br_portrait_compute(&pf, &m, 0, 1000, 1, &p), PC_OK);
	CU_ASSERT_EQUAL(p.rfm[0], 1);
	CU_ASSERT_EQUAL(p.ntags, 1);
	CU_ASSERT_FALSE(p.segments & 1);
	/* user 4 never bought: no RFM, in "idle" */
	CU_ASSERT_EQUAL(br_portrait_compute(&pf, &m, 4, 1000, 3, &p), PC_OK);
	CU_ASSERT_EQUAL(p.rfm[0], 0);
	CU_ASSERT_DOUBLE_EQUAL(p.recency_days, -1, 1e-9);
	CU_ASSERT_EQUAL(p.ntags, 0);
	CU_ASSERT_EQUAL(p.segments, 2);
	/* an unknown user is a portrait of nothing */
	CU_ASSERT_EQUAL(br_portrait_compute(&pf, &m, 77, 1000, 3, &p), PC_OK);
	CU_ASSERT_EQUAL(p.segments, 2);
	/* opt-out */
	CU_ASSERT_FALSE(br_profiles_optout(&pf, 2));
	CU_ASSERT_EQUAL(br_profiles_set_optout(&pf, 2, true), PC_OK);
	CU_ASSERT_TRUE(br_profiles_optout(&pf, 2));
	CU_ASSERT_FALSE(br_profiles_optout(&pf, 500));
	/* a bad rule leaves the table as it was */
	c.segments[1].spec = bad;
	CU_ASSERT_EQUAL(br_profiles_set_segments(&pf, &c, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pf.nseg, 2);
	br_matrix_cleanup(&m);
	br_profiles_cleanup(&pf);
}

static CU_TestInfo tests[] = {
    {"RFM mid-rank scores", test_rfm_score},
    {"portraits: counters, RFM, tags, segments, opt-out", test_portraits},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("profile", tests);
}

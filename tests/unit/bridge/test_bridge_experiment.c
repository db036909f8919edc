/*
 * test_bridge_experiment.c - unit tests for bridge/experiment.c: variant specs
 * (accepted, refused, the control), deterministic and proportional
 * assignment, exposures and conversions inside and outside the window,
 * and the lift with its interval computed by hand.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "experiment.h"
#include "precis/error.h"

static void test_specs(void)
{
	static const char *const bad[] = {
	    "",
	    "A=user_knn:60 B=popular:30",
	    "A=foo:100",
	    "A user_knn:100",
	    "A=none:0",
	    "A*=none:50 B*=popular:50",
	    "A=none:50 A=popular:50",
	    "A=popular:100x",
	    "=popular:100",
	    "ABCDEFGHIJKLMNOPQ=popular:100",
	};
	struct br_variant v[BR_MAX_VARIANTS];
	char err[256];
	size_t n, k;

	CU_ASSERT_EQUAL(
	    br_variants_parse("A=user_knn:45 B=popular:45 H=none:10", v, &n, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(v[0].id, "A");
	CU_ASSERT_EQUAL(v[0].algo, 0);
	CU_ASSERT_EQUAL(v[1].algo, 2);
	CU_ASSERT_EQUAL(v[2].algo, BR_ALGO_NONE);
	CU_ASSERT_TRUE(v[2].control && !v[0].control && !v[1].control); /* the holdout */
	CU_ASSERT_EQUAL(br_variants_parse("A=user_knn:50 B=item_knn:50", v, &n, err, sizeof err),
	                PC_OK);
	CU_ASSERT_TRUE(v[1].control); /* no holdout: the last */
	CU_ASSERT_EQUAL(br_variants_parse("A*=user_knn:50 B=none:50", v, &n, err, sizeof err),
	                PC_OK);
	CU_ASSERT_TRUE(v[0].control && !v[1].control);
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(br_variants_parse(bad[k], v, &n, err, sizeof err), PC_ERR_INVAL);
		CU_ASSERT_TRUE(err[0] != '\0');
	}
}

static void test_assignment(void)
{
	struct br_variant v[BR_MAX_VARIANTS];
	char err[256], user[32];
	size_t n, k, count[3] = {0};

	br_variants_parse("A=user_knn:50 B=popular:30 H=none:20", v, &n, err, sizeof err);
	for (k = 0; k < 20000; k++) {
		snprintf(user, sizeof user, "user-%zu", k);
		count[br_assign("exp1", user, v, n)]++;
		/* deterministic */
		CU_ASSERT_EQUAL(br_assign("exp1", user, v, n), br_assign("exp1", user, v, n));
	}
	/* proportions within 2 points of the split (binomial sd is about 0.35 points) */
	CU_ASSERT_TRUE(fabs(count[0] / 200.0 - 50) < 2);
	CU_ASSERT_TRUE(fabs(count[1] / 200.0 - 30) < 2);
	CU_ASSERT_TRUE(fabs(count[2] / 200.0 - 20) < 2);
	/* another experiment shuffles users independently: about half change arms in a 50/50 */
	{
		size_t same = 0;
		struct br_variant w[BR_MAX_VARIANTS];
		br_variants_parse("A=user_knn:50 B=popular:50", w, &n, err, sizeof err);
		for (k = 0; k < 2000; k++) {
			snprintf(user, sizeof user, "u%zu", k);
			same += br_assign("x", user, w, n) == br_assign("y", user, w, n);
		}
		CU_ASSERT_TRUE(same > 850 && same < 1150);
	}
}

static void test_conversions(void)
{
	struct br_experiment e;
	struct br_variant v[BR_MAX_VARIANTS];
	struct br_variant_report r[BR_MAX_VARIANTS];
	uint32_t items[2] = {10, 11};
	char err[256];
	size_t n, va;

	br_variants_parse("A=user_knn:50 B=none:50", v, &n, err, sizeof err);
	CU_ASSERT_EQUAL_FATAL(br_experiment_init(&e, "exp", v, n, 1000), PC_OK);
	va = br_experiment_variant(&e, "alice");
	CU_ASSERT_EQUAL((size_t)br_experiment_expose(&e, "alice", items, 2, 5000), va);
	CU_ASSERT_EQUAL((size_t)br_experiment_expose(&e, "alice", items, 1, 5500),
	                va); /* not twice */
	CU_ASSERT_EQUAL(e.st[va].exposures, 1);
	CU_ASSERT_FALSE(br_experiment_purchase(&e, "alice", 99, 5600)); /* not pushed */
	CU_ASSERT_FALSE(br_experiment_purchase(&e, "alice", 11, 4000)); /* before the push */
	CU_ASSERT_FALSE(br_experiment_purchase(&e, "alice", 11, 6001)); /* window over */
	CU_ASSERT_FALSE(br_experiment_purchase(&e, "bob", 10, 5100));   /* never exposed */
	CU_ASSERT_TRUE(br_experiment_purchase(&e, "alice", 10, 6400));  /* 10 refreshed at 5500 */
	CU_ASSERT_FALSE(br_experiment_purchase(&e, "alice", 11, 5900)); /* counted once */
	CU_ASSERT_EQUAL(e.st[va].conversions, 1);
	br_experiment_report(&e, r);
	CU_ASSERT_EQUAL(r[va].exposures, 1);
	CU_ASSERT_DOUBLE_EQUAL(r[va].rate, 1.0, 1e-12);
	CU_ASSERT_FALSE(r[e.control].has_lift);
	br_experiment_cleanup(&e);
}

static void test_lift(void)
{
	double lift, lo, hi, p1 = 0.12, p0 = 0.08;
	double se = sqrt(p1 * (1 - p1) / 1000 + p0 * (1 - p0) / 1000);

	CU_ASSERT_TRUE(br_lift(120, 1000, 80, 1000, &lift, &lo, &hi));
	CU_ASSERT_DOUBLE_EQUAL(lift, 0.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(lo, (0.04 - 1.959964 * se) / p0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(hi, (0.04 + 1.959964 * se) / p0, 1e-9);
	CU_ASSERT_TRUE(lo > 0 && lo < lift && hi > lift);
	CU_ASSERT_FALSE(br_lift(1, 10, 0, 10, &lift, &lo, &hi)); /* control rate 0 */
	CU_ASSERT_FALSE(br_lift(1, 0, 1, 10, &lift, &lo, &hi));
}

static CU_TestInfo tests[] = {
    {"variant specs", test_specs},
    {"deterministic, proportional assignment", test_assignment},
    {"exposures and conversions", test_conversions},
    {"lift and its interval", test_lift},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("experiment", tests);
}

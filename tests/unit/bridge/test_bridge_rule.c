/*
 * test_bridge_rule.c - unit tests for bridge/rule.c: a table of rules evaluated
 * against one portrait, precedence and nesting, and a table of syntax
 * errors with the position and expectation they report.
 */
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "rule.h"

static bool has_tag(void *arg, const char *tag)
{
	(void)arg;
	return strcmp(tag, "electronics") == 0 || strcmp(tag, "toys:lego") == 0;
}

static void test_eval_table(void)
{
	static const struct {
		const char *rule;
		bool want;
	} t[] = {
	    {"true", true},
	    {"false", false},
	    {"rfm.r >= 4", true},
	    {"rfm.r > 4", false},
	    {"rfm.r == 4 && rfm.f <= 2", true},
	    {"rfm.m != 5", true},
	    {"rfm.m < 1", false},
	    {"tag:electronics", true},
	    {"tag:garden", false},
	    {"tag:toys:lego && purchases >= 3", true},
	    {"rfm.r >= 4 && tag:electronics", true},
	    {"rfm.r >= 5 || tag:electronics", true},
	    {"!tag:electronics", false},
	    {"!(rfm.r >= 5) && !tag:garden", true},
	    {"false || false || true", true},
	    {"true || false && false", true}, /* && binds tighter */
	    {"(true || false) && false", false},
	    {"spend > 99.5 && spend < 1e3", true},
	    {"events >= 10 && items == 7 && recency_days < 2.5", true},
	    {"  rfm.f>=2&&rfm.f<=2  ", true},
	    {"purchases >= -1", true},
	};
	struct br_rule_input in = {{4, 2, 3, 3, 12, 100, 1.5, 7}, has_tag, NULL};
	char err[256];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct br_rule *r = NULL;
		CU_ASSERT_EQUAL_FATAL(br_rule_parse(t[k].rule, &r, err, sizeof err), PC_OK);
		if (br_rule_eval(r, &in) != t[k].want)
			fprintf(stderr, "\n  rule '%s' gave %d\n", t[k].rule, !t[k].want);
		CU_ASSERT_EQUAL(br_rule_eval(r, &in), t[k].want);
		br_rule_free(r);
	}
	/* no tag callback: tag terms are false */
	{
		struct br_rule *r = NULL;
		struct br_rule_input none = {{0}, NULL, NULL};
		CU_ASSERT_EQUAL(br_rule_parse("tag:electronics", &r, err, sizeof err), PC_OK);
		CU_ASSERT_FALSE(br_rule_eval(r, &none));
		br_rule_free(r);
	}
	CU_ASSERT_FALSE(br_rule_eval(NULL, &in));
}

static void test_syntax_errors(void)
{
	static const struct {
		const char *rule, *detail;
	} t[] = {
	    {"", "empty rule"},
	    {"   ", "empty rule"},
	    {"rfm.x >= 3", "at 1: expected tag:<id>"},
	    {"rfm.r >=", "at 9: expected a number"},
	    {"rfm.r 3", "at 7: expected a comparison"},
	    {"rfm.r >= 3 &&", "at 14: expected tag:<id>"},
	    {"rfm.r >= 3 and tag:x", "at 12: expected '&&', '||' or the end"},
	    {"(rfm.r >= 3", "expected ')'"},
	    {"tag:", "expected a tag"},
	    {"tag:a/b", "expected '&&'"},
	    {"rfm.r >= 3x", "at 11: expected '&&'"},
	    {"rfm.r >= .", "expected a number"},
	    {"((((((((((((((((((((((((((((((((((true))))))))))))))))))))))))))))))))))",
	     "nested too deeply"},
	};
	char err[256];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct br_rule *r = (struct br_rule *)&err; /* must be reset to NULL */
		err[0] = '\0';
		CU_ASSERT_EQUAL(br_rule_parse(t[k].rule, &r, err, sizeof err), PC_ERR_INVAL);
		CU_ASSERT_PTR_NULL(r);
		if (!strstr(err, t[k].detail))
			fprintf(stderr, "\n  rule '%s': '%s'\n", t[k].rule, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, t[k].detail));
	}
	{
		struct br_rule *r = NULL;
		CU_ASSERT_EQUAL(br_rule_parse(NULL, &r, err, sizeof err), PC_ERR_INVAL);
	}
	CU_ASSERT_STRING_EQUAL(br_field_name(BR_F_RECENCY_DAYS), "recency_days");
	CU_ASSERT_STRING_EQUAL(br_field_name(BR_F_COUNT), "?");
}

static CU_TestInfo tests[] = {
    {"rules evaluated against a portrait", test_eval_table},
    {"syntax errors name the position", test_syntax_errors},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("rule", tests);
}

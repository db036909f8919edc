/*
 * test_bridge_campaign.c - unit tests for bridge/campaign.c: parsing (a full
 * campaign, a table of refusals), quiet hours (same day, across midnight,
 * UTC offset), and the delivery decisions: inactive, opt-out, quiet hours
 * then delivery, the daily cap across revisions, the next day, holdout.
 */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "cu_run.h"
#include "precis/error.h"

#define H   (60 * 60 * 1000LL)
#define DAY (24 * H)

static int parse(const char *json, struct br_campaign *c, char *err)
{
	return br_campaign_parse(json, strlen(json), c, err, 256);
}

static void test_parse(void)
{
	struct br_campaign c;
	char err[256];

	CU_ASSERT_EQUAL(
	    parse("{\"id\":\"summer\",\"segment\":\"vip\",\"content\":{\"title\":\"Hi\"},"
	          "\"items\":[\"sku1\",\"sku2\"],\"start\":10,\"end\":20,"
	          "\"frequency_cap\":2,\"quiet_hours\":{\"from\":\"22:00\",\"to\":\"07:30\","
	          "\"utc_offset_min\":60},\"variants\":[{\"id\":\"A\",\"weight\":3,"
	          "\"content\":{\"title\":\"A\"}},{\"id\":\"H\",\"weight\":1,"
	          "\"holdout\":true}]}",
	          &c, err),
	    PC_OK);
	CU_ASSERT_STRING_EQUAL(c.id, "summer");
	CU_ASSERT_STRING_EQUAL(c.segment, "vip");
	CU_ASSERT_EQUAL(c.nitems, 2);
	CU_ASSERT_STRING_EQUAL(c.items[1], "sku2");
	CU_ASSERT_EQUAL(c.cap, 2);
	CU_ASSERT_EQUAL(c.quiet_from, 22 * 60);
	CU_ASSERT_EQUAL(c.quiet_to, 7 * 60 + 30);
	CU_ASSERT_EQUAL(c.nvariants, 2);
	CU_ASSERT_DOUBLE_EQUAL(c.variants[0].percent, 75, 1e-9);
	CU_ASSERT_TRUE(c.variants[1].control && c.variants[1].algo == BR_ALGO_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(br_campaign_content(&c, 0), "\"A\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(br_campaign_content(&c, 1), "\"Hi\"")); /* the campaign's */
	br_campaign_cleanup(&c);
}

static void test_refused(void)
{
	static const struct {
		const char *json, *detail;
	} t[] = {
	    {"nope", "not a JSON object"},
	    {"{\"segment\":\"s\",\"content\":{}}", "no 'id'"},
	    {"{\"id\":\"c\",\"content\":{}}", "'segment' or 'tags'"},
	    {"{\"id\":\"c\",\"segment\":\"s\"}", "no 'content'"},
	    {"{\"id\":\"c/1\",\"segment\":\"s\",\"content\":{}}", "id:"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"tags\":[\"t\"],\"content\":{}}", "exclude"},
	    {"{\"id\":\"c\",\"tags\":\"t\",\"content\":{}}", "tags: not an array"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":\"x\"}", "content: not an object"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"start\":5,\"end\":5}", "'end'"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"start\":\"now\"}", "start:"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"frequency_cap\":0}",
	     "frequency_cap"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"quiet_hours\":{\"from\":\"25:00\","
	     "\"to\":\"01:00\"}}",
	     "HH:MM"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"quiet_hours\":{\"from\":\"22:00\"}}",
	     "needs from and to"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"variants\":[{\"id\":\"A\"}]}",
	     "needs id and weight"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"colour\":1}", "unknown field"},
	    /* JSON allows a name twice; a campaign does not (the first content leaked). */
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"content\":{}}",
	     "'content' given twice"},
	    {"{\"id\":\"c\",\"tags\":[\"t\"],\"content\":{},\"variants\":[{\"id\":\"A\","
	     "\"weight\":1}],\"variants\":[{\"id\":\"B\",\"weight\":1}]}",
	     "'variants' given twice"},
	    {"{\"id\":\"c\",\"tags\":[\"t\"],\"content\":{},\"variants\":[{\"id\":\"A\","
	     "\"weight\":1,\"content\":{},\"content\":{}}]}",
	     "variants[0]: 'content' given twice"},
	    {"{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"quiet_hours\":{\"from\":\"22:00\","
	     "\"to\":\"07:00\",\"to\":\"08:00\"}}",
	     "quiet_hours: 'to' given twice"},
	};
	struct br_campaign c;
	char err[256];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(parse(t[k].json, &c, err), PC_ERR_INVAL);
		if (!strstr(err, t[k].detail))
			fprintf(stderr, "\n  %s: '%s'\n", t[k].json, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, t[k].detail));
		br_campaign_cleanup(&c);
	}
}

static void test_quiet_hours(void)
{
	struct br_campaign c;
	char err[256];

	CU_ASSERT_EQUAL(parse("{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"quiet_hours\":"
	                      "{\"from\":\"22:00\",\"to\":\"07:00\"}}",
	                      &c, err),
	                PC_OK);
	CU_ASSERT_TRUE(br_campaign_quiet(&c, 23 * H));
	CU_ASSERT_TRUE(br_campaign_quiet(&c, DAY + 3 * H));
	CU_ASSERT_TRUE(br_campaign_quiet(&c, 22 * H));
	CU_ASSERT_FALSE(br_campaign_quiet(&c, 7 * H));
	CU_ASSERT_FALSE(br_campaign_quiet(&c, 12 * H));
	CU_ASSERT_TRUE(br_campaign_quiet(&c, -1 * H)); /* 23:00 on 1969-12-31 */
	c.utc_offset_min = 120;                        /* 21:00 UTC is 23:00 local */
	CU_ASSERT_TRUE(br_campaign_quiet(&c, 21 * H));
	CU_ASSERT_FALSE(br_campaign_quiet(&c, 6 * H));
	c.utc_offset_min = 0;
	c.quiet_from = 12 * 60; /* a daytime window */
	c.quiet_to = 14 * 60;
	CU_ASSERT_TRUE(br_campaign_quiet(&c, 13 * H));
	CU_ASSERT_FALSE(br_campaign_quiet(&c, 15 * H));
	br_campaign_cleanup(&c);
}

static void test_decisions(void)
{
	struct br_campaign c, next;
	char err[256];
	size_t v;

	CU_ASSERT_EQUAL(parse("{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"start\":1000,"
	                      "\"frequency_cap\":1,\"quiet_hours\":{\"from\":\"22:00\",\"to\":"
	                      "\"07:00\"}}",
	                      &c, err),
	                PC_OK);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, 500, &v), BR_DLV_INACTIVE);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, 23 * H, &v), BR_DLV_QUIET);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, 23 * H + 1, &v), BR_DLV_QUIET);
	CU_ASSERT_EQUAL(c.deferred_quiet, 1); /* counted once */
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, DAY + 8 * H, &v), BR_DLV_SEND);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, DAY + 9 * H, &v), BR_DLV_DONE);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u2", true, DAY + 9 * H, &v), BR_DLV_OPTOUT);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u2", false, DAY + 9 * H, &v), BR_DLV_DONE);
	CU_ASSERT_EQUAL(c.sent, 1);
	CU_ASSERT_EQUAL(c.skip_optout, 1);
	/* a new revision the same day: u1's cap (1 a day) is spent; the next day it is not */
	CU_ASSERT_EQUAL(parse("{\"id\":\"c\",\"segment\":\"s\",\"content\":{\"v\":2},"
	                      "\"frequency_cap\":1}",
	                      &next, err),
	                PC_OK);
	br_campaign_replace(&c, &next);
	br_campaign_cleanup(&next);
	CU_ASSERT_EQUAL(c.rev, 2);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, DAY + 10 * H, &v), BR_DLV_CAP);
	CU_ASSERT_EQUAL(c.skip_cap, 1);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u3", false, DAY + 10 * H, &v), BR_DLV_SEND);
	CU_ASSERT_EQUAL(parse("{\"id\":\"c\",\"segment\":\"s\",\"content\":{},\"frequency_cap\":1}",
	                      &next, err),
	                PC_OK);
	br_campaign_replace(&c, &next);
	br_campaign_cleanup(&next);
	CU_ASSERT_EQUAL(br_campaign_decide(&c, "u1", false, 2 * DAY + 10 * H, &v), BR_DLV_SEND);
	CU_ASSERT_EQUAL(c.sent, 3);
	br_campaign_cleanup(&c);
}

static void test_holdout_variant(void)
{
	struct br_campaign c;
	char err[256], user[16];
	size_t v, k, sent = 0, held = 0;

	CU_ASSERT_EQUAL(parse("{\"id\":\"ab\",\"tags\":[\"toys\"],\"content\":{},\"variants\":["
	                      "{\"id\":\"A\",\"weight\":1},{\"id\":\"H\",\"weight\":1,\"holdout\":"
	                      "true}]}",
	                      &c, err),
	                PC_OK);
	for (k = 0; k < 400; k++) {
		enum br_dlv d;
		snprintf(user, sizeof user, "u%zu", k);
		d = br_campaign_decide(&c, user, false, 1000, &v);
		CU_ASSERT_EQUAL(v, br_assign("ab", user, c.variants, 2));
		CU_ASSERT_EQUAL(d, v == 1 ? BR_DLV_HOLDOUT : BR_DLV_SEND);
		sent += d == BR_DLV_SEND;
		held += d == BR_DLV_HOLDOUT;
	}
	CU_ASSERT_TRUE(sent > 150 && held > 150);
	CU_ASSERT_EQUAL(c.holdout, held);
	CU_ASSERT_STRING_EQUAL(br_dlv_name(BR_DLV_QUIET), "quiet");
	br_campaign_cleanup(&c);
}

static CU_TestInfo tests[] = {
    {"a full campaign", test_parse},
    {"refusals name the field", test_refused},
    {"quiet hours", test_quiet_hours},
    {"decisions: inactive, quiet, opt-out, cap, revisions", test_decisions},
    {"holdout variant", test_holdout_variant},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("campaign", tests);
}

/*
 * test_bridge_event.c - unit tests for bridge/event.c: accepted events with every
 * field, defaults, and a table of refusals, each with its reason.
 */
#include <string.h>

#include "cu_run.h"
#include "event.h"

static enum br_evt_bad parse(const char *json, struct br_event *e, char *err, size_t errlen)
{
	return br_event_parse(json, strlen(json), e, err, errlen);
}

static void test_accepted(void)
{
	struct br_event e;
	char err[256];

	CU_ASSERT_EQUAL(
	    parse("{\"user\":\"u-1\",\"item\":\"sku:42\",\"type\":\"purchase\","
	          "\"value\":19.5,\"ts\":1700000000123,\"category\":\"toys\",\"x\":[1]}",
	          &e, err, sizeof err),
	    BR_BAD_NONE);
	CU_ASSERT_STRING_EQUAL(e.user, "u-1");
	CU_ASSERT_STRING_EQUAL(e.item, "sku:42");
	CU_ASSERT_STRING_EQUAL(e.category, "toys");
	CU_ASSERT_EQUAL(e.type, BR_EVT_PURCHASE);
	CU_ASSERT_TRUE(e.has_value && e.value == 19.5);
	CU_ASSERT_TRUE(e.has_ts && e.ts_ms == 1700000000123);
	CU_ASSERT_EQUAL(
	    parse("{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\"}", &e, err, sizeof err),
	    BR_BAD_NONE);
	CU_ASSERT_FALSE(e.has_value || e.has_ts);
	CU_ASSERT_STRING_EQUAL(e.category, "");
	CU_ASSERT_EQUAL(
	    parse("{\"user\":\"u\",\"item\":\"i\",\"type\":\"rate\",\"value\":4,\"ts\":5.0}", &e,
	          err, sizeof err),
	    BR_BAD_NONE);
	CU_ASSERT_EQUAL(e.type, BR_EVT_RATE);
	CU_ASSERT_EQUAL(e.ts_ms, 5);
	CU_ASSERT_STRING_EQUAL(br_evt_type_name(BR_EVT_CART), "cart");
}

static void test_refused(void)
{
	static const struct {
		const char *json;
		enum br_evt_bad why;
	} t[] = {
	    {"", BR_BAD_JSON},
	    {"not json", BR_BAD_JSON},
	    {"[1,2]", BR_BAD_JSON},
	    {"{\"user\":\"u\",", BR_BAD_JSON},
	    {"{\"item\":\"i\",\"type\":\"view\"}", BR_BAD_MISSING},
	    {"{\"user\":\"u\",\"type\":\"view\"}", BR_BAD_MISSING},
	    {"{\"user\":\"u\",\"item\":\"i\"}", BR_BAD_MISSING},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"rate\"}", BR_BAD_MISSING},
	    {"{\"user\":7,\"item\":\"i\",\"type\":\"view\"}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":[\"i\"],\"type\":\"view\"}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":1}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"value\":\"3\"}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"ts\":\"now\"}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"ts\":1.5}", BR_BAD_TYPE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"category\":3}", BR_BAD_TYPE},
	    {"{\"user\":\"\",\"item\":\"i\",\"type\":\"view\"}", BR_BAD_ID},
	    {"{\"user\":\"a/b\",\"item\":\"i\",\"type\":\"view\"}", BR_BAD_ID},
	    {"{\"user\":\"u\",\"item\":\"i+\",\"type\":\"view\"}", BR_BAD_ID},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"category\":\"a b\"}", BR_BAD_ID},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"like\"}", BR_BAD_KIND},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"VIEW\"}", BR_BAD_KIND},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"ts\":-1}", BR_BAD_RANGE},
	    {"{\"user\":\"u\",\"item\":\"i\",\"type\":\"rate\",\"value\":1e12}", BR_BAD_RANGE},
	};
	struct br_event e;
	char err[256];
	size_t k;

	for (k = 0; k < sizeof t / sizeof t[0]; k++) {
		err[0] = '\0';
		if (parse(t[k].json, &e, err, sizeof err) != t[k].why)
			fprintf(stderr, "\n  %s: %s\n", t[k].json, err);
		CU_ASSERT_EQUAL(parse(t[k].json, &e, err, sizeof err), t[k].why);
		CU_ASSERT_TRUE(err[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(br_evt_bad_name(BR_BAD_KIND), "unknown_type");
	CU_ASSERT_STRING_EQUAL(br_evt_bad_name(BR_BAD_NREASONS), "?");
}

static CU_TestInfo tests[] = {
    {"accepted events", test_accepted},
    {"refusals and their reasons", test_refused},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("event", tests);
}

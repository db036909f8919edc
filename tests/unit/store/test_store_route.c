/*
 * test_store_route.c - unit tests for plugins/store/route.c: the default
 * mapping, parsing (separators, shared collections, every refusal with its
 * message), and matching over a table of topics: the device level, '#'
 * tails (including the parent level), first match wins, '$' topics and
 * near misses.
 */
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "route.h"

static void test_default_mapping(void)
{
	struct store__routes rs;
	char err[256] = "";

	CU_ASSERT_EQUAL(
	    store__routes_parse(&rs, "dev/+/data=telemetry dev/+/evt=events", err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(rs.n, 2);
	CU_ASSERT_EQUAL(rs.ncolls, 2);
	CU_ASSERT_STRING_EQUAL(rs.colls[rs.route[0].coll], "telemetry");
	CU_ASSERT_STRING_EQUAL(rs.colls[rs.route[1].coll], "events");
	CU_ASSERT_STRING_EQUAL(rs.route[1].filter, "dev/+/evt");
}

static void test_parse_forms(void)
{
	struct store__routes rs;
	char err[256];

	CU_ASSERT_EQUAL(
	    store__routes_parse(&rs, " ,a/+/x=c1,,b/+/#=c1\tsite/+/t/#=c_2 ", err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(rs.n, 3);
	CU_ASSERT_EQUAL(rs.ncolls, 2);
	CU_ASSERT_EQUAL(rs.route[0].coll, rs.route[1].coll);
	CU_ASSERT_STRING_EQUAL(rs.colls[rs.route[2].coll], "c_2");
	CU_ASSERT_EQUAL(store__routes_parse(&rs, "+=devices.raw-1", err, sizeof err), PC_OK);
}

static void test_parse_refusals(void)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
	    {"", "no filter=collection entry"},
	    {" , ", "no filter=collection entry"},
	    {"dev/+/data", "is not filter=collection"},
	    {"=telemetry", "an empty filter"},
	    {"dev/x/data=t", "exactly one '+'"},
	    {"dev/+/+=t", "exactly one '+'"},
	    {"dev/+x/data=t", "not a whole level"},
	    {"dev/#/data=t", "not the last level"},
	    {"dev/+/da#=t", "not a whole level"},
	    {"$SYS/+/x=t", "starting with '$'"},
	    {"dev/+/data=", "collection names"},
	    {"dev/+/data=.x", "collection names"},
	    {"dev/+/data=-x", "collection names"},
	    {"dev/+/data=a$b", "collection names"},
	    {"dev/+/data=system.x", "collection names"},
	    {"dev/+/data=a dev/+/data=b", "given twice"},
	    {"a/+=c a/+/1=c a/+/2=c a/+/3=c a/+/4=c a/+/5=c a/+/6=c a/+/7=c a/+/8=c a/+/9=c "
	     "a/+/10=c a/+/11=c a/+/12=c a/+/13=c a/+/14=c a/+/15=c a/+/16=c",
	     "more than 16"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct store__routes rs;
		char err[256] = "";

		CU_ASSERT_EQUAL(store__routes_parse(&rs, bad[i].spec, err, sizeof err),
		                PC_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
	}
	{
		char long_filter[300], err[256];
		struct store__routes rs;

		memset(long_filter, 'a', sizeof long_filter);
		memcpy(long_filter, "+/", 2);
		memcpy(long_filter + 280, "=coll", 6);
		CU_ASSERT_EQUAL(store__routes_parse(&rs, long_filter, err, sizeof err),
		                PC_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 256"));
	}
}

static void test_match(void)
{
	static const struct {
		const char *topic;
		int route;
		const char *id;
	} cases[] = {
	    {"dev/d-1/data", 0, "d-1"}, {"dev/d-1/evt", 1, "d-1"}, {"dev/d-1/data/x", 2, "d-1"},
	    {"dev/d-1/hb", 2, "d-1"},   {"dev/d-1", 2, "d-1"},     {"dev//data", 0, ""},
	    {"dev/d-1/dat", 2, "d-1"},  {"dev", -1, NULL},         {"dev/", 2, ""},
	    {"xdev/d/data", -1, NULL},  {"$SYS/d/data", -1, NULL}, {"site/s1/t", 3, "s1"},
	    {"site/s1/t/a/b", 3, "s1"}, {"site/s1/u", -1, NULL},   {"", -1, NULL},
	};
	struct store__routes rs;
	char err[256];

	CU_ASSERT_EQUAL(store__routes_parse(&rs,
	                                    "dev/+/data=telemetry dev/+/evt=events dev/+/#=other "
	                                    "site/+/t/#=sites",
	                                    err, sizeof err),
	                PC_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *id = NULL;
		size_t len = 0;
		int r = store__route_match(&rs, cases[i].topic, &id, &len);

		CU_ASSERT_EQUAL(r, cases[i].route);
		if (r >= 0 && cases[i].id) {
			CU_ASSERT_EQUAL(len, strlen(cases[i].id));
			CU_ASSERT_EQUAL(memcmp(id, cases[i].id, len), 0);
		}
	}
	CU_ASSERT_EQUAL(store__route_match(&rs, NULL, NULL, NULL), -1);
}

static CU_TestInfo tests[] = {
    {"the default mapping", test_default_mapping},
    {"separators and shared collections", test_parse_forms},
    {"refused mappings name the problem", test_parse_refusals},
    {"matching topics", test_match},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("store_route", tests);
}

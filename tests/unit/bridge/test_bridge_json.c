/*
 * test_bridge_json.c - unit tests for bridge/json.c: nesting and commas,
 * escaping, numbers (NaN becomes null), raw JSON, unbalanced output.
 */
#include <math.h>
#include <string.h>

#include "cu_run.h"
#include "json.h"

static void test_build(void)
{
	struct br_json j;
	size_t len;
	const char *s;

	br_json_init(&j);
	br_json_obj(&j);
	br_json_key(&j, "a");
	br_json_str(&j, "x\"y\\z\n\x01");
	br_json_key(&j, "n");
	br_json_arr(&j);
	br_json_num(&j, 0.5);
	br_json_num(&j, NAN);
	br_json_int(&j, -7);
	br_json_bool(&j, true);
	br_json_null(&j);
	br_json_obj(&j);
	br_json_end(&j, '}');
	br_json_end(&j, ']');
	br_json_key(&j, "raw");
	br_json_raw(&j, "{\"k\":1}");
	br_json_key(&j, "f");
	br_json_num(&j, 1.0 / 3);
	br_json_end(&j, '}');
	s = br_json_done(&j, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"a\":\"x\\\"y\\\\z\\u000a\\u0001\",\"n\":[0.5,null,-7,true,null,{}],"
	       "\"raw\":{\"k\":1},\"f\":0.333333}");
	CU_ASSERT_EQUAL(len, strlen(s));
	br_json_cleanup(&j);
	br_json_init(&j);
	br_json_obj(&j);
	CU_ASSERT_PTR_NULL(br_json_done(&j, &len)); /* unbalanced */
	br_json_end(&j, '}');
	br_json_end(&j, '}');
	CU_ASSERT_PTR_NULL(br_json_done(&j, &len)); /* one too many */
	br_json_cleanup(&j);
}

static CU_TestInfo tests[] = {
    {"objects, arrays, escapes, numbers", test_build},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("json", tests);
}

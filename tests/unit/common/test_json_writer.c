/*
 * test_json_writer.c - unit tests for the structured writer of
 * common/json_write.c: nesting and commas, escaping (invalid UTF-8 as '?'),
 * numbers (NaN becomes null), raw JSON, unbalanced output.
 */
#include <math.h>
#include <string.h>

#include "cu_run.h"
#include "precis/json.h"

static void test_invalid_utf8_never_leaves(void)
{
	struct pc_jw j;
	size_t len;
	const char *s;

	pc_jw_init(&j);
	pc_jw_obj(&j);
	pc_jw_key(&j, "k\xff");
	pc_jw_str(&j, "caf\xc3\xa9 \xc3(");
	pc_jw_end(&j, '}');
	s = pc_jw_done(&j, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"k?\":\"caf\xc3\xa9 ?(\"}");
	pc_jw_cleanup(&j);
}

static void test_build(void)
{
	struct pc_jw j;
	size_t len;
	const char *s;

	pc_jw_init(&j);
	pc_jw_obj(&j);
	pc_jw_key(&j, "a");
	pc_jw_str(&j, "x\"y\\z\n\x01");
	pc_jw_key(&j, "n");
	pc_jw_arr(&j);
	pc_jw_num(&j, 0.5);
	pc_jw_num(&j, NAN);
	pc_jw_int(&j, -7);
	pc_jw_bool(&j, true);
	pc_jw_null(&j);
	pc_jw_obj(&j);
	pc_jw_end(&j, '}');
	pc_jw_end(&j, ']');
	pc_jw_key(&j, "raw");
	pc_jw_raw(&j, "{\"k\":1}");
	pc_jw_key(&j, "f");
	pc_jw_num(&j, 1.0 / 3);
	pc_jw_end(&j, '}');
	s = pc_jw_done(&j, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"a\":\"x\\\"y\\\\z\\u000a\\u0001\",\"n\":[0.5,null,-7,true,null,{}],"
	       "\"raw\":{\"k\":1},\"f\":0.333333}");
	CU_ASSERT_EQUAL(len, strlen(s));
	pc_jw_cleanup(&j);
	pc_jw_init(&j);
	pc_jw_obj(&j);
	CU_ASSERT_PTR_NULL(pc_jw_done(&j, &len)); /* unbalanced */
	pc_jw_end(&j, '}');
	pc_jw_end(&j, '}');
	CU_ASSERT_PTR_NULL(pc_jw_done(&j, &len)); /* one too many */
	pc_jw_cleanup(&j);
}

static CU_TestInfo tests[] = {
    {"objects, arrays, escapes, numbers", test_build},
    {"invalid UTF-8 in keys and strings becomes ?", test_invalid_utf8_never_leaves},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("json writer", tests);
}

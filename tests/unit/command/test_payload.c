/*
 * test_payload.c - unit tests for plugins/command/payload.c: the exact
 * text of every payload the plugin sends (member order fixed, strings
 * escaped, args copied verbatim), each also checked to be valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/json.h"
#include "precis/error.h"
#include "protocol.h"

static void check(char *s, const size_t *lenp, const char *want)
{
	size_t len = *lenp; /* read after the builder ran */

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, want);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT_EQUAL(pc_json_check(s, len, NULL, NULL, 0), PC_OK);
	free(s);
}

static void test_cmd(void)
{
	size_t len;

	check(command__cmd_payload("t1@dev-1", "reboot", "{\"delay\": 5}", 100, 200, 1, &len), &len,
	      "{\"id\":\"t1@dev-1\",\"op\":\"reboot\",\"args\":{\"delay\": 5},\"ts\":100,"
	      "\"expires\":200,\"attempt\":1}");
	check(command__cmd_payload("t@d", "display/text", "", 1, 2, 3, &len), &len,
	      "{\"id\":\"t@d\",\"op\":\"display/text\",\"args\":{},\"ts\":1,\"expires\":2,"
	      "\"attempt\":3}");
}

static void test_hb_ack(void)
{
	size_t len;

	check(command__hb_ack_payload(1764580000000, 0, NULL, &len), &len,
	      "{\"ts\":1764580000000,\"pending\":0}");
	check(command__hb_ack_payload(5, -3, NULL, &len), &len, "{\"ts\":5,\"pending\":0}");
	check(command__hb_ack_payload(5, 2, "\"seq\" must be an integer", &len), &len,
	      "{\"ts\":5,\"pending\":2,\"error\":\"\\\"seq\\\" must be an integer\"}");
}

static void test_hb_ack_text(void)
{
	char buf[64], small[8];

	CU_ASSERT_EQUAL(command__hb_ack_text(buf, sizeof buf, INT64_MAX, INT64_MAX), 56);
	CU_ASSERT_STRING_EQUAL(buf, "{\"ts\":9223372036854775807,\"pending\":9223372036854775807}");
	CU_ASSERT_EQUAL(command__hb_ack_text(buf, sizeof buf, 5, -1),
	                strlen("{\"ts\":5,\"pending\":0}"));
	CU_ASSERT_STRING_EQUAL(buf, "{\"ts\":5,\"pending\":0}");
	command__hb_ack_text(buf, sizeof buf, INT64_MIN, 10);
	CU_ASSERT_STRING_EQUAL(buf, "{\"ts\":-9223372036854775808,\"pending\":10}");
	CU_ASSERT_EQUAL(command__hb_ack_text(small, sizeof small, 5, 0), 7); /* cut, terminated */
	CU_ASSERT_EQUAL(small[7], '\0');
}

static void test_presence(void)
{
	size_t len;

	check(command__presence_payload(true, 10, 41, "heartbeat", &len), &len,
	      "{\"online\":true,\"at\":10,\"seq\":41,\"reason\":\"heartbeat\"}");
	check(command__presence_payload(false, 11, -1, "timeout", &len), &len,
	      "{\"online\":false,\"at\":11,\"seq\":null,\"reason\":\"timeout\"}");
}

static void test_refused(void)
{
	size_t len;

	check(command__refused_payload("reboot", 7, "full", &len), &len,
	      "{\"id\":null,\"state\":\"refused\",\"at\":7,\"op\":\"reboot\",\"error\":\"full\"}");
	check(command__refused_payload(NULL, 7, "invalid JSON at byte 3: bad \"x\"\n", &len), &len,
	      "{\"id\":null,\"state\":\"refused\",\"at\":7,\"op\":null,"
	      "\"error\":\"invalid JSON at byte 3: bad \\\"x\\\"\\u000a\"}");
	check(command__refused_payload("", 7, "e", &len), &len,
	      "{\"id\":null,\"state\":\"refused\",\"at\":7,\"op\":null,\"error\":\"e\"}");
}

static CU_TestInfo tests[] = {
    {"commands", test_cmd},
    {"heartbeat acks", test_hb_ack},
    {"heartbeat acks without allocation", test_hb_ack_text},
    {"presence", test_presence},
    {"refused requests", test_refused},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("payload", tests);
}

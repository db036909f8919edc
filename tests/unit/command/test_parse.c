/*
 * test_parse.c - unit tests for plugins/command/parse.c: command ids
 * (make, split, every way to be malformed), heartbeats, acks (with and
 * without MQTT 5 correlation data), command requests (defaults, every
 * field's range, expires into ttl), and every example in
 * schemas/examples/{hb,cmd-ack,cmd-request}: the valid ones must parse,
 * the invalid ones must not.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "protocol.h"

static const struct command__defaults defaults = {86400000, 30000, 3, 5};

static void test_cid(void)
{
	char buf[COMMAND_CID_MAX + 1];
	const char *dev;
	size_t devlen;
	int n = command__cid_make(buf, sizeof buf, 1764580000000, 12345, "dev-1");

	CU_ASSERT_EQUAL(n, 19 + 1 + 5);
	CU_ASSERT_STRING_EQUAL(buf + 19, "@dev-1");
	CU_ASSERT_EQUAL(command__cid_split(buf, (size_t)n, &dev, &devlen), PC_OK);
	CU_ASSERT_EQUAL(devlen, 5);
	CU_ASSERT_NSTRING_EQUAL(dev, "dev-1", 5);
	{
		/* Later times sort later: the token starts with the time in base 36. */
		char a[COMMAND_CID_MAX + 1], b[COMMAND_CID_MAX + 1];

		command__cid_make(a, sizeof a, 1764580000000, UINT64_MAX, "d");
		command__cid_make(b, sizeof b, 1764580000001, 0, "d");
		CU_ASSERT(strcmp(a, b) < 0);
	}
	CU_ASSERT_EQUAL(command__cid_make(buf, sizeof buf, 1, 1, "bad/dev"), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(command__cid_make(buf, 10, 1, 1, "dev"), PC_ERR_TOO_LONG);
	{
		static const char *const bad[] = {
		    "",
		    "nodevice",
		    "@dev",
		    "tok@",
		    "to k@dev",
		    "tok@dev/1",
		    "tok@dev+",
		    "tok.x@dev",
		    "012345678901234567890123456789012@dev", /* a 33-character token */
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			CU_ASSERT_EQUAL(command__cid_split(bad[i], strlen(bad[i]), &dev, &devlen),
			                PC_ERR_INVAL);
	}
	CU_ASSERT_EQUAL(command__cid_split("a@b@c", 5, &dev, &devlen), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(command__cid_split("A_b-9@x:y.z", 11, &dev, &devlen), PC_OK);
}

static void test_hb(void)
{
	struct command__hb hb;
	char err[160];

	CU_ASSERT_EQUAL(command__hb_parse("", 0, &hb, err, sizeof err), PC_OK);
	CU_ASSERT_FALSE(hb.has_seq || hb.has_interval);
	CU_ASSERT_EQUAL(
	    command__hb_parse("{\"seq\":7,\"interval\":30,\"x\":[]}", 30, &hb, err, sizeof err),
	    PC_OK);
	CU_ASSERT(hb.has_seq && hb.seq == 7);
	CU_ASSERT(hb.has_interval && hb.interval_ms == 30000);
	CU_ASSERT_EQUAL(command__hb_parse("{\"interval\":-4}", 15, &hb, err, sizeof err),
	                PC_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"interval\" must be in 1..86400"));
	CU_ASSERT_EQUAL(command__hb_parse("{\"seq\":\"1\"}", 11, &hb, err, sizeof err),
	                PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"seq\" must be an integer"));
	CU_ASSERT_EQUAL(command__hb_parse("hello", 5, &hb, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid JSON"));
}

static void test_ack(void)
{
	const char *p = "{\"id\":\"t1@dev-1\",\"status\":\"error\",\"result\":{\"code\":7}}";
	const char *nullres = "{\"id\":\"t@d\",\"status\":\"ok\",\"result\":null}";
	struct command__ack a;
	char err[160];

	CU_ASSERT_EQUAL_FATAL(command__ack_parse(p, strlen(p), NULL, 0, &a, err, sizeof err),
	                      PC_OK);
	CU_ASSERT_STRING_EQUAL(a.cid, "t1@dev-1");
	CU_ASSERT_EQUAL(a.status, COMMAND_ACK_ERROR);
	CU_ASSERT_EQUAL(a.result_len, strlen("{\"code\":7}"));
	CU_ASSERT_NSTRING_EQUAL(a.result, "{\"code\":7}", a.result_len);
	CU_ASSERT_STRING_EQUAL(command__ack_status_name(a.status), "error");

	/* MQTT 5: the id from the correlation data, or both equal. */
	CU_ASSERT_EQUAL(
	    command__ack_parse("{\"status\":\"ok\"}", 15, "t2@dev-1", 8, &a, err, sizeof err),
	    PC_OK);
	CU_ASSERT_STRING_EQUAL(a.cid, "t2@dev-1");
	CU_ASSERT_PTR_NULL(a.result);
	CU_ASSERT_EQUAL(command__ack_parse(p, strlen(p), "t1@dev-1", 8, &a, err, sizeof err),
	                PC_OK);
	CU_ASSERT_EQUAL(command__ack_parse(p, strlen(p), "t9@dev-1", 8, &a, err, sizeof err),
	                PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "differs from the correlation data"));
	CU_ASSERT_EQUAL(command__ack_parse("{\"status\":\"ok\"}", 15, NULL, 0, &a, err, sizeof err),
	                PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"id\" is missing"));
	CU_ASSERT_EQUAL(
	    command__ack_parse("{\"status\":\"ok\"}", 15, "t\0x@d", 5, &a, err, sizeof err),
	    PC_ERR_INVAL);
	CU_ASSERT_EQUAL(
	    command__ack_parse("{\"status\":\"ok\"}", 15, "nodev", 5, &a, err, sizeof err),
	    PC_ERR_INVAL);
	CU_ASSERT_EQUAL(command__ack_parse(nullres, strlen(nullres), NULL, 0, &a, err, sizeof err),
	                PC_OK);
	CU_ASSERT_PTR_NULL(a.result);
}

static void test_request(void)
{
	struct command__request r;
	char err[160];
	const char *p = "{\"op\":\"fw.update\",\"args\":{\"v\":2},\"priority\":9,\"ttl\":60000,"
	                "\"timeout\":5000,\"attempts\":4,\"delay\":1500,\"supersede\":\"fw\"}";

	CU_ASSERT_EQUAL_FATAL(
	    command__request_parse(p, strlen(p), 1000, &defaults, &r, err, sizeof err), PC_OK);
	CU_ASSERT_STRING_EQUAL(r.op, "fw.update");
	CU_ASSERT_NSTRING_EQUAL(r.args, "{\"v\":2}", r.args_len);
	CU_ASSERT_EQUAL(r.priority, 9);
	CU_ASSERT_EQUAL(r.ttl_ms, 60000);
	CU_ASSERT_EQUAL(r.timeout_ms, 5000);
	CU_ASSERT_EQUAL(r.attempts, 4);
	CU_ASSERT_EQUAL(r.delay_ms, 1500);
	CU_ASSERT_STRING_EQUAL(r.supersede, "fw");

	CU_ASSERT_EQUAL(
	    command__request_parse("{\"op\":\"x\"}", 10, 0, &defaults, &r, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(r.ttl_ms, defaults.ttl_ms);
	CU_ASSERT_EQUAL(r.timeout_ms, defaults.timeout_ms);
	CU_ASSERT_EQUAL(r.attempts, defaults.attempts);
	CU_ASSERT_EQUAL(r.priority, defaults.priority);
	CU_ASSERT_EQUAL(r.delay_ms, 0);
	CU_ASSERT_NSTRING_EQUAL(r.args, "{}", r.args_len);
	CU_ASSERT_STRING_EQUAL(r.supersede, "");

	/* expires becomes a ttl from now. */
	CU_ASSERT_EQUAL(command__request_parse("{\"op\":\"x\",\"expires\":1000000}", 28, 400000,
	                                       &defaults, &r, err, sizeof err),
	                PC_OK);
	CU_ASSERT_EQUAL(r.ttl_ms, 600000);
	CU_ASSERT_EQUAL(command__request_parse("{\"op\":\"x\",\"expires\":1000}", 25, 400000,
	                                       &defaults, &r, err, sizeof err),
	                PC_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"expires\""));
	/* The earliest time pc_json_int reads (-INT64_MAX) is refused, without overflow. */
	CU_ASSERT_EQUAL(command__request_parse("{\"op\":\"x\",\"expires\":-9223372036854775807}",
	                                       41, 1800000000000, &defaults, &r, err, sizeof err),
	                PC_ERR_RANGE);

	{
		static const struct {
			const char *p, *msg;
		} bad[] = {
		    {"{\"args\":{}}", "\"op\" is missing"},
		    {"{\"op\":\"\"}", "\"op\" is missing or empty"},
		    {"{\"op\":\"a b\"}", "\"op\" may hold only"},
		    {"{\"op\":7}", "\"op\" must be a string"},
		    {"{\"op\":\"x\",\"priority\":10}", "\"priority\" must be in 0..9"},
		    {"{\"op\":\"x\",\"ttl\":99}", "\"ttl\" must be in 100..2592000000"},
		    {"{\"op\":\"x\",\"timeout\":3600001}", "\"timeout\" must be in 100..3600000"},
		    {"{\"op\":\"x\",\"attempts\":101}", "\"attempts\" must be in 1..100"},
		    {"{\"op\":\"x\",\"delay\":-1}", "\"delay\" must be in 0..2592000000"},
		    {"{\"op\":\"x\",\"args\":[]}", "\"args\" must be an object"},
		    {"{\"op\":\"x\",\"supersede\":\"a/b\"}", "\"supersede\""},
		    {"{\"op\":\"x\",\"id\":\"a@b\"}", "unknown member \"id\""},
		    {"{\"op\":\"x\",\"ttl\":1000,\"expires\":5000}", "not both"},
		    {"{\"op\":\"x\",\"op\":\"y\"}", "given twice"},
		    {"{\"op\":\"x\",\"timeout\":1.5}", "\"timeout\" must be an integer"},
		    {"{\"op\":\"0123456789012345678901234567890123456789012345678901234567890123"
		     "4\"}",
		     "longer than 64 bytes"},
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			err[0] = '\0';
			CU_ASSERT_NOT_EQUAL(command__request_parse(bad[i].p, strlen(bad[i].p), 0,
			                                           &defaults, &r, err, sizeof err),
			                    PC_OK);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
			if (!strstr(err, bad[i].msg))
				fprintf(stderr, "%s -> %s\n", bad[i].p, err);
		}
	}
}

/* Every file of schemas/examples/<name>/<kind>, through parse(text, len) == PC_OK? */
static int examples(const char *name, const char *kind, bool want_ok,
                    int (*parse)(const char *, size_t))
{
	char dir[512], path[1024];
	struct dirent *e;
	int n = 0;
	DIR *dp;

	snprintf(dir, sizeof dir, "%s/examples/%s/%s", PRECIS_SCHEMAS_DIR, name, kind);
	dp = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dp);
	while ((e = readdir(dp)) != NULL) {
		char text[8192];
		size_t len;
		FILE *f;

		if (!strstr(e->d_name, ".json"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		len = fread(text, 1, sizeof text, f);
		fclose(f);
		while (len && (text[len - 1] == '\n'))
			len--;
		if ((parse(text, len) == PC_OK) != want_ok)
			fprintf(stderr, "%s: expected %s\n", path, want_ok ? "valid" : "invalid");
		CU_ASSERT_EQUAL(parse(text, len) == PC_OK, want_ok);
		n++;
	}
	closedir(dp);
	return n;
}

static int parse_hb(const char *p, size_t len)
{
	struct command__hb hb;

	return command__hb_parse(p, len, &hb, NULL, 0);
}

static int parse_ack(const char *p, size_t len)
{
	struct command__ack a;

	return command__ack_parse(p, len, NULL, 0, &a, NULL, 0);
}

static int parse_request(const char *p, size_t len)
{
	struct command__request r;

	return command__request_parse(p, len, 0, &defaults, &r, NULL, 0);
}

static void test_schema_examples(void)
{
	CU_ASSERT(examples("hb", "valid", true, parse_hb) >= 3);
	CU_ASSERT(examples("hb", "invalid", false, parse_hb) >= 5);
	CU_ASSERT(examples("cmd-ack", "valid", true, parse_ack) >= 3);
	CU_ASSERT(examples("cmd-ack", "invalid", false, parse_ack) >= 5);
	CU_ASSERT(examples("cmd-request", "valid", true, parse_request) >= 3);
	CU_ASSERT(examples("cmd-request", "invalid", false, parse_request) >= 8);
}

static CU_TestInfo tests[] = {
    {"command ids", test_cid},
    {"heartbeats", test_hb},
    {"acks and correlation data", test_ack},
    {"command requests", test_request},
    {"schema examples", test_schema_examples},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("parse", tests);
}

/*
 * test_json.c - unit tests for plugins/command/json.c: tables of texts the
 * scanner must accept (with their type) and refuse (RFC 8259 grammar,
 * UTF-8 per RFC 3629, depth), member listing with spans into the text and
 * duplicate names (also through escapes), string decoding (escapes,
 * surrogate pairs, lone surrogates, escaped NUL, buffer sizes), integer
 * decoding and ranges, and the writer (escaping, bad UTF-8, growth).
 */
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/json.h"
#include "precis/error.h"

struct text {
	const char *s;
	enum pc_jtype type;
};

static void test_accepts(void)
{
	static const struct text ok[] = {
	    {"{}", PC_J_OBJECT},
	    {" \t\r\n{ } \n", PC_J_OBJECT},
	    {"[]", PC_J_ARRAY},
	    {"[1,2,[3,[4]],{\"a\":null}]", PC_J_ARRAY},
	    {"\"\"", PC_J_STRING},
	    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"", PC_J_STRING},
	    {"\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"", PC_J_STRING},
	    {"0", PC_J_NUMBER},
	    {"-0", PC_J_NUMBER},
	    {"-12.5e+3", PC_J_NUMBER},
	    {"1E-7", PC_J_NUMBER},
	    {"true", PC_J_BOOL},
	    {"false", PC_J_BOOL},
	    {"null", PC_J_NULL},
	    {"{\"a\":{\"b\":{\"c\":[true,false,null]}},\"d\":\"e\"}", PC_J_OBJECT},
	};
	char err[128];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		enum pc_jtype t = PC_J_NULL;
		int rc = pc_json_check(ok[i].s, strlen(ok[i].s), &t, err, sizeof err);

		CU_ASSERT_EQUAL(rc, PC_OK);
		if (rc != PC_OK)
			fprintf(stderr, "refused %s: %s\n", ok[i].s, err);
		CU_ASSERT_EQUAL(t, ok[i].type);
	}
}

static void test_refuses(void)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "{",
	    "}",
	    "{\"a\":1,}",
	    "[1,2,]",
	    "{\"a\" 1}",
	    "{a:1}",
	    "{'a':1}",
	    "[01]",
	    "[1.]",
	    "[.5]",
	    "[1e]",
	    "[-]",
	    "[+1]",
	    "NaN",
	    "[Infinity]",
	    "[-Infinity]",
	    "tru",
	    "nulll",
	    "{} {}",
	    "\"unterminated",
	    "\"tab\there\"",
	    "\"bad escape \\x\"",
	    "\"short \\u12\"",
	    "\"\xc3\"",             /* truncated sequence */
	    "\"\xc0\xaf\"",         /* overlong '/' */
	    "\"\xed\xa0\x80\"",     /* UTF-16 surrogate encoded in UTF-8 */
	    "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
	    "\"\xff\"",
	};
	char err[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = pc_json_check(bad[i], strlen(bad[i]), NULL, err, sizeof err);

		CU_ASSERT_EQUAL(rc, PC_ERR_INVAL);
		if (rc == PC_ERR_INVAL) {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid JSON at byte"));
		} else {
			fprintf(stderr, "accepted %s\n", bad[i]);
		}
	}
	/* An embedded NUL byte is not JSON whitespace. */
	CU_ASSERT_EQUAL(pc_json_check("{}\0", 3, NULL, NULL, 0), PC_ERR_INVAL);
	/* Nor is a backslash before a NUL byte an escape (it decoded to an embedded NUL). */
	CU_ASSERT_EQUAL(pc_json_check("\"a\\\0b\"", 6, NULL, NULL, 0), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_json_check("{\"id\":\"t@d\\\0\"}", 14, NULL, NULL, 0), PC_ERR_INVAL);
}

static void test_depth(void)
{
	char deep[2 * PC_JSON_DEPTH + 3];
	size_t n;

	for (n = 0; n < PC_JSON_DEPTH; n++)
		deep[n] = '[';
	for (size_t i = 0; i < PC_JSON_DEPTH; i++)
		deep[n++] = ']';
	CU_ASSERT_EQUAL(pc_json_check(deep, n, NULL, NULL, 0), PC_OK);
	memmove(deep + 1, deep, n);
	deep[0] = '[';
	deep[n + 1] = ']';
	CU_ASSERT_EQUAL(pc_json_check(deep, n + 2, NULL, NULL, 0), PC_ERR_INVAL);
}

static void test_members(void)
{
	const char *s = " { \"op\" : \"reboot\", \"args\":{\"a\": [1, 2]} ,\"n\":-3,\"z\":null}";
	struct pc_jmember m[8];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(pc_json_object(s, strlen(s), m, 8, &n, NULL, 0), PC_OK);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT(pc_json_key_is(&m[0], "op"));
	CU_ASSERT_EQUAL(m[0].value.type, PC_J_STRING);
	CU_ASSERT_EQUAL(m[0].value.len, 8);
	CU_ASSERT_NSTRING_EQUAL(m[0].value.p, "\"reboot\"", 8);
	CU_ASSERT(pc_json_key_is(&m[1], "args"));
	CU_ASSERT_EQUAL(m[1].value.type, PC_J_OBJECT);
	CU_ASSERT_EQUAL(m[1].value.len, strlen("{\"a\": [1, 2]}"));
	CU_ASSERT_NSTRING_EQUAL(m[1].value.p, "{\"a\": [1, 2]}", m[1].value.len);
	CU_ASSERT_EQUAL(m[2].value.type, PC_J_NUMBER);
	CU_ASSERT_EQUAL(m[3].value.type, PC_J_NULL);
	CU_ASSERT_FALSE(pc_json_key_is(&m[0], "o"));
	CU_ASSERT_FALSE(pc_json_key_is(&m[0], "opx"));
	CU_ASSERT_EQUAL(pc_json_object("{}", 2, m, 8, &n, NULL, 0), PC_OK);
	CU_ASSERT_EQUAL(n, 0);
}

static void test_member_errors(void)
{
	struct pc_jmember m[2];
	char err[128];
	size_t n;

	CU_ASSERT_EQUAL(pc_json_object("[1]", 3, m, 2, &n, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a JSON object"));
	CU_ASSERT_EQUAL(pc_json_object("{\"a\":1,\"a\":2}", 13, m, 2, &n, err, sizeof err),
	                PC_ERR_DUPLICATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"a\" given twice"));
	/* The same name spelled with an escape is the same member. */
	CU_ASSERT_EQUAL(pc_json_object("{\"a\":1,\"\\u0061\":2}", 18, m, 2, &n, err, sizeof err),
	                PC_ERR_DUPLICATE);
	CU_ASSERT_EQUAL(pc_json_object("{\"a\":1,\"b\":2,\"c\":3}", 19, m, 2, &n, err, sizeof err),
	                PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_json_object("{\"a\":1", 6, m, 2, &n, err, sizeof err), PC_ERR_INVAL);
}

static struct pc_jspan str(const char *s)
{
	struct pc_jspan v = {s, strlen(s), PC_J_STRING};

	return v;
}

static void test_strings(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\"plain\"", "plain"},
	    {"\"\"", ""},
	    {"\"q\\\"b\\\\s\\/n\\nt\\t\"", "q\"b\\s/n\nt\t"},
	    {"\"\\u00e9\\u4e2d\"", "\xc3\xa9\xe4\xb8\xad"},
	    {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"},
	    {"\"\\u0041\"", "A"},
	};
	char buf[32];
	size_t len;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_jspan v = str(cases[i].in);

		CU_ASSERT_EQUAL(pc_json_string(&v, buf, sizeof buf, &len), PC_OK);
		CU_ASSERT_STRING_EQUAL(buf, cases[i].out);
		CU_ASSERT_EQUAL(len, strlen(cases[i].out));
	}
	{
		struct pc_jspan nul = str("\"a\\u0000b\""), hi = str("\"\\ud83d\""),
		                lo = str("\"\\ude00x\""), big = str("\"0123456789\"");
		struct pc_jspan num = {"12", 2, PC_J_NUMBER};

		CU_ASSERT_EQUAL(pc_json_string(&nul, buf, sizeof buf, NULL), PC_ERR_INVAL);
		CU_ASSERT_EQUAL(pc_json_string(&hi, buf, sizeof buf, NULL), PC_ERR_INVAL);
		CU_ASSERT_EQUAL(pc_json_string(&lo, buf, sizeof buf, NULL), PC_ERR_INVAL);
		CU_ASSERT_EQUAL(pc_json_string(&big, buf, 10, NULL), PC_ERR_TOO_LONG);
		CU_ASSERT_EQUAL(pc_json_string(&big, buf, 11, NULL), PC_OK);
		CU_ASSERT_EQUAL(pc_json_string(&num, buf, sizeof buf, NULL), PC_ERR_INVAL);
	}
}

static void test_ints(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t v;
	} cases[] = {
	    {"0", PC_OK, 0},
	    {"-0", PC_OK, 0},
	    {"42", PC_OK, 42},
	    {"-17", PC_OK, -17},
	    {"9223372036854775807", PC_OK, INT64_MAX},
	    {"-9223372036854775807", PC_OK, -INT64_MAX},
	    {"9223372036854775808", PC_ERR_RANGE, 0},
	    {"1.0", PC_ERR_INVAL, 0},
	    {"1e3", PC_ERR_INVAL, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_jspan v = {cases[i].s, strlen(cases[i].s), PC_J_NUMBER};
		int64_t out = 99;

		CU_ASSERT_EQUAL(pc_json_int(&v, &out), cases[i].rc);
		if (cases[i].rc == PC_OK) {
			CU_ASSERT_EQUAL(out, cases[i].v);
		} else {
			CU_ASSERT_EQUAL(out, 99);
		}
	}
	{
		struct pc_jspan s = str("\"5\"");
		int64_t out;

		CU_ASSERT_EQUAL(pc_json_int(&s, &out), PC_ERR_INVAL);
	}
}

static void test_writer(void)
{
	struct pc_buf b = {0};
	char big[5000];
	size_t len;
	char *s;

	pc_buf_str(&b, "{\"s\":");
	pc_buf_json_string(&b, "a\"b\\c\n\x01\xc3\xa9\xff", 10);
	pc_buf_printf(&b, ",\"n\":%d}", -5);
	s = pc_buf_take(&b, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9?\",\"n\":-5}");
	CU_ASSERT_EQUAL(len, strlen(s));
	CU_ASSERT_EQUAL(pc_json_check(s, len, NULL, NULL, 0), PC_OK);
	free(s);
	CU_ASSERT_PTR_NULL(b.p);

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (int i = 0; i < 10; i++)
		pc_buf_str(&b, big);
	s = pc_buf_take(&b, &len);
	CU_ASSERT_EQUAL(len, 10 * (sizeof big - 1));
	free(s);

	s = pc_buf_take(&b, &len); /* nothing added: an empty string, not NULL */
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);

	b.failed = true; /* an allocation failure sticks */
	pc_buf_str(&b, "more");
	CU_ASSERT_PTR_NULL(pc_buf_take(&b, &len));
	CU_ASSERT_EQUAL(len, 0);
}

static CU_TestInfo tests[] = {
    {"accepts every JSON value kind", test_accepts},
    {"refuses bad grammar, NaN, bad UTF-8", test_refuses},
    {"nesting bound", test_depth},
    {"members as spans", test_members},
    {"member errors: not an object, duplicates, too many", test_member_errors},
    {"string decoding", test_strings},
    {"integer decoding", test_ints},
    {"writer: escaping, growth, failure", test_writer},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("json", tests);
}

/*
 * test_store_payload.c - unit tests for plugins/store/payload.c over
 * tables: each data rule (non-finite numbers, '.' and '$' in keys,
 * duplicate keys on both the linear and the hash-map path, nested arrays
 * wrapped or kept, extended-JSON types FerretDB refuses) with the number
 * of fixes it counts; values copied unchanged; the sample time from "ts"
 * and every way "ts" can be unusable; and the payloads refused as not one
 * JSON object (trailing data, arrays, scalars, bad UTF-8, too deep).
 */
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "payload.h"
#include "precis/error.h"

#define RECV INT64_C(1795426200000)

struct rule_case {
	const char *in, *want;
	unsigned fixes;
	bool wrap;
};

/* FW_DOT / FW_DOLLAR as in payload.c */
#define D "\xef\xbc\x8e"
#define S "\xef\xbc\x84"
/* NUL_SYMBOL as in payload.c (U+2400) */
#define N "\xe2\x90\x80"

static const struct rule_case rule_cases[] = {
    {"{\"temp\": 21.5, \"n\": 3, \"big\": 9007199254740993, \"s\": \"x\\u00e9\", \"b\": true, "
     "\"z\": null, \"o\": {\"p\": [1, \"two\", {\"q\": false}]}}",
     "{\"temp\": 21.5, \"n\": 3, \"big\": 9007199254740993, \"s\": \"x\\u00e9\", \"b\": true, "
     "\"z\": null, \"o\": {\"p\": [1, \"two\", {\"q\": false}]}}",
     0, true},
    /* NaN and Infinity are not JSON (RFC 8259: refused below); extended JSON can still say them. */
    {"{\"a\": {\"$numberDouble\": \"NaN\"}, \"b\": {\"$numberDouble\": \"Infinity\"}, "
     "\"c\": {\"$numberDouble\": \"-Infinity\"}, \"d\": 1}",
     "{\"a\": null, \"b\": null, \"c\": null, \"d\": 1}", 3, true},
    {"{\"a.b\": 1, \"x\": {\"c.d.e\": 2}}", "{\"a" D "b\": 1, \"x\": {\"c" D "d" D "e\": 2}}", 2,
     true},
    {"{\"$x\": 1, \"y$\": 2, \"$a.b\": 3}", "{\"" S "x\": 1, \"y$\": 2, \"" S "a" D "b\": 3}", 2,
     true},
    {"{\"a\": 1, \"b\": 2, \"a\": 3}", "{\"b\": 2, \"a\": 3}", 1, true},
    {"{\"a.b\": 1, \"a" D "b\": 2}", "{\"a" D "b\": 2}", 2, true},
    {"{\"m\": [[1, 2], [3]]}", "{\"m\": [{\"a\": [1, 2]}, {\"a\": [3]}]}", 2, true},
    {"{\"m\": [[[1]]]}", "{\"m\": [{\"a\": [{\"a\": [1]}]}]}", 2, true},
    {"{\"m\": [[1, 2], [3]]}", "{\"m\": [[1, 2], [3]]}", 0, false},
    {"{\"o\": {\"p\": [1, {\"q.r\": [2, [3]]}]}}",
     "{\"o\": {\"p\": [1, {\"q" D "r\": [2, {\"a\": [3]}]}]}}", 2, true},
    {"{\"d\": {\"$numberDecimal\": \"1.50\"}, \"c\": {\"$code\": \"x()\"}, "
     "\"s\": {\"$symbol\": \"sym\"}}",
     "{\"d\": \"1.50\", \"c\": \"x()\", \"s\": \"sym\"}", 3, true},
    {"{\"k\": {\"$minKey\": 1}, \"l\": {\"$maxKey\": 1}, \"u\": {\"$undefined\": true}}",
     "{\"k\": null, \"l\": null, \"u\": null}", 3, true},
    {"{\"when\": {\"$date\": 5}, \"id\": {\"$oid\": \"5f3a9c2e1b7d4a60aaaaaaaa\"}, "
     "\"l\": {\"$numberLong\": \"7\"}}",
     "{\"when\": {\"$date\": 5}, \"id\": {\"$oid\": \"5f3a9c2e1b7d4a60aaaaaaaa\"}, "
     "\"l\": {\"$numberLong\": \"7\"}}",
     0, true},
    {"{\"s\": \"}{\\\"}\", \"t\": \"[\"}", "{\"s\": \"}{\\\"}\", \"t\": \"[\"}", 0, true},
    {" \n\t{\"a\": 1}\r\n ", "{\"a\": 1}", 0, true},
    {"{}", "{}", 0, true},
    /* PostgreSQL's jsonb refuses NUL in a string: U+2400 stands in, one fix per string. */
    {"{\"n\": \"a\\u0000b\\u0000\", \"o\": {\"p\": [\"\\u0000\"]}, \"k\": \"plain\"}",
     "{\"n\": \"a" N "b" N "\", \"o\": {\"p\": [\"" N "\"]}, \"k\": \"plain\"}", 2, true},
    {"{\"\": 1}", "{\"\": 1}", 0, true},
};

static void check_rule(const struct rule_case *k)
{
	struct store__payload p;
	bson_t want;
	bson_error_t e;
	char err[128] = "";
	int rc = store__payload_decode((const uint8_t *)k->in, strlen(k->in), RECV, k->wrap, &p,
	                               err, sizeof err);

	CU_ASSERT_EQUAL_FATAL(rc, PC_OK);
	CU_ASSERT_FATAL(bson_init_from_json(&want, k->want, -1, &e));
	if (!bson_equal(&p.doc, &want) || p.fixes != k->fixes) {
		char *got = bson_as_relaxed_extended_json(&p.doc, NULL);

		fprintf(stderr, "\n  in   %s\n  got  %s (%u fixes)\n  want %s (%u)\n", k->in, got,
		        p.fixes, k->want, k->fixes);
		bson_free(got);
	}
	CU_ASSERT_TRUE(bson_equal(&p.doc, &want));
	CU_ASSERT_EQUAL(p.fixes, k->fixes);
	CU_ASSERT_EQUAL(p.t_ms, RECV);
	CU_ASSERT_FALSE(p.ts_bad);
	bson_destroy(&want);
	bson_destroy(&p.doc);
}

static void test_rules(void)
{
	for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++)
		check_rule(&rule_cases[i]);
}

static void test_duplicates_many_keys(void)
{
	char in[1024], want[1024];
	size_t a = 0, b = 0;
	struct rule_case k;

	a += (size_t)snprintf(in + a, sizeof in - a, "{");
	b += (size_t)snprintf(want + b, sizeof want - b, "{");
	for (int i = 0; i < 40; i++) {
		a += (size_t)snprintf(in + a, sizeof in - a, "\"k%d\": %d, ", i, i);
		if (i != 3 && i != 17)
			b += (size_t)snprintf(want + b, sizeof want - b, "\"k%d\": %d, ", i, i);
	}
	snprintf(in + a, sizeof in - a, "\"k17\": \"x\", \"k3\": \"y\"}");
	snprintf(want + b, sizeof want - b, "\"k17\": \"x\", \"k3\": \"y\"}");
	k = (struct rule_case){in, want, 2, true};
	check_rule(&k);
}

static void test_sample_time(void)
{
	static const struct {
		const char *in;
		int64_t t;
		bool bad;
	} cases[] = {
	    {"{\"ts\": 1700000000000, \"v\": 1}", 1700000000000, false},
	    /* The one ts rule (json_bson.h): an integer, written as one or not. */
	    {"{\"ts\": 1700000000000.0}", 1700000000000, false},
	    {"{\"ts\": 17e11}", 1700000000000, false},
	    {"{\"ts\": 1700000000000.75}", RECV, true},
	    {"{\"ts\": 0}", 0, false},
	    {"{\"ts\": 253402300799999}", 253402300799999, false},
	    {"{\"ts\": {\"$date\": 1700000000001}}", RECV, true},
	    {"{\"v\": 1}", RECV, false},
	    {"{\"x\": {\"ts\": 5}}", RECV, false},
	    {"{\"ts\": \"yesterday\"}", RECV, true},
	    {"{\"ts\": -5}", RECV, true},
	    {"{\"ts\": -0.5}", RECV, true},
	    {"{\"ts\": 253402300800000}", RECV, true},
	    {"{\"ts\": {\"$numberDouble\": \"NaN\"}}", RECV, true}, /* NaN became null first */
	    {"{\"ts\": null}", RECV, true},
	    {"{\"ts\": 1e300}", RECV, true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct store__payload p;

		CU_ASSERT_EQUAL_FATAL(store__payload_decode((const uint8_t *)cases[i].in,
		                                            strlen(cases[i].in), RECV, true, &p,
		                                            NULL, 0),
		                      PC_OK);
		CU_ASSERT_EQUAL(p.t_ms, cases[i].t);
		CU_ASSERT_EQUAL(p.ts_bad, cases[i].bad);
		bson_destroy(&p.doc);
	}
}

static void test_refused(void)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
	} cases[] = {
	    {"", 0},
	    {"   ", 0},
	    {"[1, 2]", 0},
	    {"5", 0},
	    {"\"s\"", 0},
	    {"null", 0},
	    {"{\"a\": 1}{\"b\": 2}", 0},
	    {"{\"a\": 1} x", 0},
	    {"{\"a\": 1}}", 0},
	    {"{\"a\": 1", 0},
	    {"{\"a\": \"}", 0},
	    {"not json", 0},
	    {"{a: 1}", 0},
	    {"{\"a\": 1,}", 0},
	    {"{\"a\": \"\xff\"}", 0},
	    {"{\"a\": NaN}", 0},
	    {"{\"a\": -Infinity}", 0},
	    {"{\"a\": 1}\0", 9},
	    {"{\"a\0\": 1}", 9},
	};
	/* Valid JSON that BSON cannot hold: refused as such, not as "not JSON"
	 * (so the store never keeps it as opaque bytes). */
	static const char *const unholdable[] = {
	    "{\"a\": 9223372036854775808}",
	    "{\"a\": 1e999}",
	    "{\"a\\u0000b\": 1}",
	};
	char deep[1024];
	size_t n = 0;

	for (size_t i = 0; i < sizeof unholdable / sizeof unholdable[0]; i++) {
		struct store__payload p;
		char err[128] = "";

		CU_ASSERT_EQUAL(store__payload_decode((const uint8_t *)unholdable[i],
		                                      strlen(unholdable[i]), RECV, true, &p, err,
		                                      sizeof err),
		                PC_ERR_RANGE);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "BSON cannot hold"));
	}

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct store__payload p;
		char err[128] = "";
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		CU_ASSERT_EQUAL(store__payload_decode((const uint8_t *)cases[i].in, len, RECV, true,
		                                      &p, err, sizeof err),
		                PC_ERR_INVAL);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
	}
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
	deep[n++] = '1';
	for (int i = 0; i < 150; i++)
		deep[n++] = '}';
	{
		struct store__payload p;

		CU_ASSERT_EQUAL(
		    store__payload_decode((const uint8_t *)deep, n, RECV, true, &p, NULL, 0),
		    PC_ERR_INVAL);
	}
}

static CU_TestInfo tests[] = {
    {"data rules, table", test_rules},
    {"duplicate keys in a large object", test_duplicates_many_keys},
    {"sample time from ts", test_sample_time},
    {"payloads that are not one JSON object", test_refused},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("store_payload", tests);
}

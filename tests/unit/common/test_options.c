/*
 * test_options.c - unit tests for common/options.c: the single-value
 * parsers (int, bool, duration, size) over tables of good and bad input,
 * and pc_opts_parse on a table with every option type: defaults, values,
 * unknown and duplicate keys, range errors and their messages, and freeing
 * of string fields (leaks are caught by the ASan and valgrind runs).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/options.h"

#define SENTINEL INT64_C(0x5eed5eed)

struct num_case {
	const char *in;
	int rc;
	int64_t want; /* when rc == PC_OK */
};

typedef int (*num_parser)(const char *, int64_t *);

static void run_num_cases(num_parser parse, const struct num_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t v = SENTINEL;
		int rc = parse(cases[i].in, &v);

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (cases[i].rc == PC_OK) {
			CU_ASSERT_EQUAL(v, cases[i].want);
		} else {
			CU_ASSERT_EQUAL(v, SENTINEL); /* *out untouched on failure */
		}
		if (rc != cases[i].rc || (rc == PC_OK && v != cases[i].want))
			fprintf(stderr, "\n  '%s': rc %d value %lld\n", cases[i].in, rc,
			        (long long)v);
	}
}

static void test_parse_int(void)
{
	static const struct num_case cases[] = {
	    {"0", PC_OK, 0},
	    {"-0", PC_OK, 0},
	    {"+5", PC_OK, 5},
	    {"-5", PC_OK, -5},
	    {"42", PC_OK, 42},
	    {"  42  ", PC_OK, 42},
	    {"\t7\n", PC_OK, 7},
	    {"007", PC_OK, 7},
	    {"65535", PC_OK, 65535},
	    {"9223372036854775807", PC_OK, INT64_MAX},
	    {"-9223372036854775808", PC_OK, INT64_MIN},
	    {"", PC_ERR_INVAL, 0},
	    {"   ", PC_ERR_INVAL, 0},
	    {"+", PC_ERR_INVAL, 0},
	    {"-", PC_ERR_INVAL, 0},
	    {"--1", PC_ERR_INVAL, 0},
	    {"+-1", PC_ERR_INVAL, 0},
	    {"abc", PC_ERR_INVAL, 0},
	    {"10x", PC_ERR_INVAL, 0},
	    {"x10", PC_ERR_INVAL, 0},
	    {"1 0", PC_ERR_INVAL, 0},
	    {"- 1", PC_ERR_INVAL, 0},
	    {"0x10", PC_ERR_INVAL, 0},
	    {"1.5", PC_ERR_INVAL, 0},
	    {"1e3", PC_ERR_INVAL, 0},
	    {"10s", PC_ERR_INVAL, 0},
	    {"1,000", PC_ERR_INVAL, 0},
	    {"9223372036854775808", PC_ERR_RANGE, 0},
	    {"-9223372036854775809", PC_ERR_RANGE, 0},
	    {"99999999999999999999", PC_ERR_RANGE, 0},
	    {"18446744073709551616", PC_ERR_RANGE, 0},
	    {"99999999999999999999x", PC_ERR_INVAL, 0},
	};
	int64_t v = SENTINEL;

	run_num_cases(pc_parse_int, cases, sizeof(cases) / sizeof(cases[0]));
	CU_ASSERT_EQUAL(pc_parse_int(NULL, &v), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(v, SENTINEL);
}

static void test_parse_bool(void)
{
	static const struct {
		const char *in;
		int rc;
		bool want;
	} cases[] = {
	    {"true", PC_OK, true},
	    {"TRUE", PC_OK, true},
	    {"True", PC_OK, true},
	    {"yes", PC_OK, true},
	    {"YES", PC_OK, true},
	    {"on", PC_OK, true},
	    {"On", PC_OK, true},
	    {"1", PC_OK, true},
	    {" true ", PC_OK, true},
	    {"false", PC_OK, false},
	    {"FALSE", PC_OK, false},
	    {"no", PC_OK, false},
	    {"No", PC_OK, false},
	    {"off", PC_OK, false},
	    {"OFF", PC_OK, false},
	    {"0", PC_OK, false},
	    {"\toff\n", PC_OK, false},
	    {"", PC_ERR_INVAL, false},
	    {"t", PC_ERR_INVAL, false},
	    {"y", PC_ERR_INVAL, false},
	    {"2", PC_ERR_INVAL, false},
	    {"01", PC_ERR_INVAL, false},
	    {"truee", PC_ERR_INVAL, false},
	    {"yes!", PC_ERR_INVAL, false},
	    {"enable", PC_ERR_INVAL, false},
	    {"tru", PC_ERR_INVAL, false},
	    {"o", PC_ERR_INVAL, false},
	    {"true false", PC_ERR_INVAL, false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool b = !cases[i].want;
		bool before = b;

		CU_ASSERT_EQUAL(pc_parse_bool(cases[i].in, &b), cases[i].rc);
		if (cases[i].rc == PC_OK) {
			CU_ASSERT_EQUAL(b, cases[i].want);
		} else {
			CU_ASSERT_EQUAL(b, before);
		}
	}
	{
		bool b = true;

		CU_ASSERT_EQUAL(pc_parse_bool(NULL, &b), PC_ERR_INVAL);
		CU_ASSERT_EQUAL(b, true);
	}
}

static void test_parse_duration(void)
{
	static const struct num_case cases[] = {
	    {"500ms", PC_OK, 500},
	    {"0ms", PC_OK, 0},
	    {"30s", PC_OK, 30000},
	    {"5m", PC_OK, 300000},
	    {"1h", PC_OK, 3600000},
	    {"2d", PC_OK, 172800000},
	    {"10", PC_OK, 10000}, /* bare: seconds */
	    {"0", PC_OK, 0},
	    {" 5s ", PC_OK, 5000},
	    {"5S", PC_OK, 5000},
	    {"1H", PC_OK, 3600000},
	    {"250MS", PC_OK, 250},
	    {"-1s", PC_OK, -1000},
	    {"+2m", PC_OK, 120000},
	    {"9223372036854775807ms", PC_OK, INT64_MAX},
	    {"106751991167d", PC_OK, INT64_C(106751991167) * 86400000},
	    {"", PC_ERR_INVAL, 0},
	    {"s", PC_ERR_INVAL, 0},
	    {"ms", PC_ERR_INVAL, 0},
	    {"5 q", PC_ERR_INVAL, 0},
	    {"5q", PC_ERR_INVAL, 0},
	    {"5 s", PC_ERR_INVAL, 0},
	    {"5sec", PC_ERR_INVAL, 0},
	    {"5ss", PC_ERR_INVAL, 0},
	    {"5msx", PC_ERR_INVAL, 0},
	    {"5s5", PC_ERR_INVAL, 0},
	    {"1.5h", PC_ERR_INVAL, 0},
	    {"1h30m", PC_ERR_INVAL, 0},
	    {"5us", PC_ERR_INVAL, 0},
	    {"5w", PC_ERR_INVAL, 0},
	    {"-", PC_ERR_INVAL, 0},
	    {"9223372036854775807s", PC_ERR_RANGE, 0},
	    {"9223372036854775808ms", PC_ERR_RANGE, 0},
	    {"9223372036854776", PC_ERR_RANGE, 0}, /* seconds * 1000 overflows */
	    {"106751991168d", PC_ERR_RANGE, 0},
	    {"-106751991168d", PC_ERR_RANGE, 0},
	    {"99999999999999999999q", PC_ERR_INVAL, 0},
	};

	run_num_cases(pc_parse_duration_ms, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_parse_size(void)
{
	static const struct num_case cases[] = {
	    {"0", PC_OK, 0},
	    {"512", PC_OK, 512},
	    {"10b", PC_OK, 10},
	    {"10B", PC_OK, 10},
	    {"1k", PC_OK, 1024},
	    {"1K", PC_OK, 1024},
	    {"1kb", PC_OK, 1024},
	    {"1KiB", PC_OK, 1024},
	    {"64kib", PC_OK, 65536},
	    {"2m", PC_OK, 2097152},
	    {"2MB", PC_OK, 2097152},
	    {"2mib", PC_OK, 2097152},
	    {"1g", PC_OK, 1073741824},
	    {"1GB", PC_OK, 1073741824},
	    {"3gib", PC_OK, INT64_C(3221225472)},
	    {" 16m ", PC_OK, 16777216},
	    {"8589934591g", PC_OK, INT64_C(8589934591) << 30},
	    {"", PC_ERR_INVAL, 0},
	    {"k", PC_ERR_INVAL, 0},
	    {"1t", PC_ERR_INVAL, 0},
	    {"1tb", PC_ERR_INVAL, 0},
	    {"1kk", PC_ERR_INVAL, 0},
	    {"1 k", PC_ERR_INVAL, 0},
	    {"1.5k", PC_ERR_INVAL, 0},
	    {"1ki", PC_ERR_INVAL, 0},
	    {"1bytes", PC_ERR_INVAL, 0},
	    {"1kibx", PC_ERR_INVAL, 0},
	    {"8589934592g", PC_ERR_RANGE, 0},
	    {"9007199254740992k", PC_ERR_RANGE, 0},
	    {"9223372036854775808", PC_ERR_RANGE, 0},
	};

	run_num_cases(pc_parse_size, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A config struct with every option type. */
struct conf {
	char *host;
	int64_t port;
	bool tls;
	int64_t timeout_ms;
	int64_t max_bytes;
	int mode;
	char *name;   /* no default */
	int64_t temp; /* negative range */
	int64_t any;  /* unbounded, no default */
	bool flag;    /* no default */
	int level;    /* enum without default */
};

static const char *const mode_choices[] = {"drop", "deny", NULL};
static const char *const level_choices[] = {"low", "mid", "high", NULL};

static const struct pc_opt_def defs[] = {
    {"redis_host", PC_OPT_STRING, offsetof(struct conf, host), "localhost", 1, 255, NULL,
     "Redis host"},
    {"redis_port", PC_OPT_INT, offsetof(struct conf, port), "6379", 1, 65535, NULL, "Redis port"},
    {"tls", PC_OPT_BOOL, offsetof(struct conf, tls), "off", 0, 0, NULL, "use TLS"},
    {"timeout", PC_OPT_DURATION, offsetof(struct conf, timeout_ms), "250ms", 1, 60000, NULL,
     "I/O timeout"},
    {"max_size", PC_OPT_SIZE, offsetof(struct conf, max_bytes), "16k", 1024, 1 << 20, NULL,
     "payload cap"},
    {"mode", PC_OPT_ENUM, offsetof(struct conf, mode), "deny", 0, 0, mode_choices, "on overflow"},
    {"name", PC_OPT_STRING, offsetof(struct conf, name), NULL, 0, 0, NULL, "a name"},
    {"temp", PC_OPT_INT, offsetof(struct conf, temp), "-5", -10, -1, NULL, "below zero"},
    {"any", PC_OPT_INT, offsetof(struct conf, any), NULL, 0, 0, NULL, "unbounded"},
    {"flag", PC_OPT_BOOL, offsetof(struct conf, flag), NULL, 0, 0, NULL, "flag"},
    {"level", PC_OPT_ENUM, offsetof(struct conf, level), NULL, 0, 0, level_choices, "level"},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* parse - pc_opts_parse of nkv pairs with the "plugin_opt_" prefix. */
static int parse(struct conf *c, const struct pc_kv *kvs, size_t nkv, char *err, size_t errlen)
{
	memset(c, 0x5a, sizeof(*c)); /* garbage: parse must set every field */
	c->host = NULL;
	c->name = NULL;
	err[0] = '\0';
	return pc_opts_parse(defs, NDEFS, kvs, nkv, c, "plugin_opt_", err, errlen);
}

static void test_defaults(void)
{
	struct conf c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(parse(&c, NULL, 0, err, sizeof(err)), PC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.host);
	CU_ASSERT_STRING_EQUAL(c.host, "localhost");
	CU_ASSERT_EQUAL(c.port, 6379);
	CU_ASSERT_EQUAL(c.tls, false);
	CU_ASSERT_EQUAL(c.timeout_ms, 250);
	CU_ASSERT_EQUAL(c.max_bytes, 16384);
	CU_ASSERT_EQUAL(c.mode, 1);
	CU_ASSERT_PTR_NULL(c.name);
	CU_ASSERT_EQUAL(c.temp, -5);
	CU_ASSERT_EQUAL(c.any, 0);
	CU_ASSERT_EQUAL(c.flag, false);
	CU_ASSERT_EQUAL(c.level, 0);
	pc_opts_free(defs, NDEFS, &c);
	CU_ASSERT_PTR_NULL(c.host);
	CU_ASSERT_PTR_NULL(c.name);
}

static void test_every_type(void)
{
	static const struct pc_kv kvs[] = {
	    {"redis_host", "  redis.example  "},
	    {"redis_port", "65535"},
	    {"tls", "Yes"},
	    {"timeout", "1m"},
	    {"max_size", "1mib"},
	    {"mode", "DROP"},
	    {"name", "hall 7"},
	    {"temp", "-10"},
	    {"any", "-9223372036854775808"},
	    {"flag", "on"},
	    {"level", "high"},
	};
	struct conf c;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(parse(&c, kvs, sizeof(kvs) / sizeof(kvs[0]), err, sizeof(err)),
	                      PC_OK);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(c.host, "redis.example"); /* blanks trimmed */
	CU_ASSERT_EQUAL(c.port, 65535);
	CU_ASSERT_EQUAL(c.tls, true);
	CU_ASSERT_EQUAL(c.timeout_ms, 60000);
	CU_ASSERT_EQUAL(c.max_bytes, 1 << 20);
	CU_ASSERT_EQUAL(c.mode, 0);
	CU_ASSERT_STRING_EQUAL(c.name, "hall 7");
	CU_ASSERT_EQUAL(c.temp, -10);
	CU_ASSERT_EQUAL(c.any, INT64_MIN);
	CU_ASSERT_EQUAL(c.flag, true);
	CU_ASSERT_EQUAL(c.level, 2);
	pc_opts_free(defs, NDEFS, &c);
	CU_ASSERT_PTR_NULL(c.host);
	CU_ASSERT_PTR_NULL(c.name);
	/* freeing twice is harmless: the fields are NULL now */
	pc_opts_free(defs, NDEFS, &c);
	pc_opts_free(defs, NDEFS, NULL);
}

/* One failing option: its rc and the exact message, or a substring. */
struct err_case {
	struct pc_kv kv;
	int rc;
	const char *exact;     /* NULL: check contains */
	const char *contains;  /* NULL: nothing more */
	const char *contains2; /* NULL: nothing more */
};

static const struct err_case err_cases[] = {
    {{"redis_port", "abc"},
     PC_ERR_INVAL,
     "plugin_opt_redis_port: 'abc' is not an integer",
     NULL,
     NULL},
    {{"redis_port", "70000"},
     PC_ERR_RANGE,
     "plugin_opt_redis_port: 70000 is out of range 1..65535",
     NULL,
     NULL},
    {{"redis_port", "0"},
     PC_ERR_RANGE,
     "plugin_opt_redis_port: 0 is out of range 1..65535",
     NULL,
     NULL},
    {{"redis_port", "10x"},
     PC_ERR_INVAL,
     "plugin_opt_redis_port: '10x' is not an integer",
     NULL,
     NULL},
    {{"redis_port", ""}, PC_ERR_INVAL, "plugin_opt_redis_port: '' is not an integer", NULL, NULL},
    {{"redis_port", "99999999999999999999"},
     PC_ERR_RANGE,
     NULL,
     "plugin_opt_redis_port",
     "99999999999999999999"},
    {{"mode", "x"}, PC_ERR_INVAL, "plugin_opt_mode: 'x' is not one of: drop, deny", NULL, NULL},
    {{"mode", ""}, PC_ERR_INVAL, "plugin_opt_mode: '' is not one of: drop, deny", NULL, NULL},
    {{"mode", "drops"}, PC_ERR_INVAL, NULL, "plugin_opt_mode", "drop, deny"},
    {{"level", "max"},
     PC_ERR_INVAL,
     "plugin_opt_level: 'max' is not one of: low, mid, high",
     NULL,
     NULL},
    {{"bogus", "1"}, PC_ERR_UNKNOWN_KEY, "unknown option 'plugin_opt_bogus'", NULL, NULL},
    {{"Redis_Port", "1"}, PC_ERR_UNKNOWN_KEY, NULL, "plugin_opt_Redis_Port", NULL},
    {{"", "1"}, PC_ERR_UNKNOWN_KEY, "unknown option 'plugin_opt_'", NULL, NULL},
    {{"tls", "maybe"}, PC_ERR_INVAL, NULL, "plugin_opt_tls: 'maybe' is not a boolean", NULL},
    {{"timeout", "5 q"}, PC_ERR_INVAL, NULL, "plugin_opt_timeout: '5 q' is not a duration", NULL},
    {{"timeout", "0s"}, PC_ERR_RANGE, NULL, "plugin_opt_timeout", "1..60000"},
    {{"timeout", "2m"}, PC_ERR_RANGE, NULL, "plugin_opt_timeout: 120000 ms", "1..60000"},
    {{"timeout", "9223372036854775807d"}, PC_ERR_RANGE, NULL, "plugin_opt_timeout", NULL},
    {{"max_size", "2m"}, PC_ERR_RANGE, NULL, "plugin_opt_max_size: 2097152 bytes", "1024..1048576"},
    {{"max_size", "1023"}, PC_ERR_RANGE, NULL, "plugin_opt_max_size", "1024..1048576"},
    {{"max_size", "1t"}, PC_ERR_INVAL, NULL, "plugin_opt_max_size: '1t' is not a size", NULL},
    {{"redis_host", ""}, PC_ERR_RANGE, NULL, "plugin_opt_redis_host", "1..255"},
    {{"redis_host", "   "}, PC_ERR_RANGE, NULL, "plugin_opt_redis_host", NULL},
    {{"temp", "0"}, PC_ERR_RANGE, "plugin_opt_temp: 0 is out of range -10..-1", NULL, NULL},
    {{"temp", "-11"}, PC_ERR_RANGE, NULL, "plugin_opt_temp", "-10..-1"},
    {{"any", "9223372036854775808"}, PC_ERR_RANGE, NULL, "plugin_opt_any", NULL},
    {{"redis_port", NULL}, PC_ERR_INVAL, NULL, "plugin_opt_redis_port", NULL},
};

static void test_errors(void)
{
	struct conf c;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *e = &err_cases[i];

		rc = parse(&c, &e->kv, 1, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, e->rc);
		if (e->exact != NULL)
			CU_ASSERT_STRING_EQUAL(err, e->exact);
		if (e->contains != NULL)
			CU_ASSERT_PTR_NOT_NULL(strstr(err, e->contains));
		if (e->contains2 != NULL)
			CU_ASSERT_PTR_NOT_NULL(strstr(err, e->contains2));
		if (rc != e->rc || (e->exact != NULL && strcmp(err, e->exact) != 0))
			fprintf(stderr, "\n  case %zu: rc %d '%s'\n", i, rc, err);
		pc_opts_free(defs, NDEFS, &c);
	}
}

static void test_duplicate(void)
{
	static const struct pc_kv kvs[] = {
	    {"redis_host", "a"}, {"name", "n1"}, {"redis_port", "1"}, {"name", "n2"}};
	struct conf c;
	char err[256];

	CU_ASSERT_EQUAL(parse(&c, kvs, 4, err, sizeof(err)), PC_ERR_DUPLICATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'plugin_opt_name'"));
	/* The values before the duplicate were applied; free releases them. */
	CU_ASSERT_PTR_NOT_NULL(c.host);
	pc_opts_free(defs, NDEFS, &c);
	CU_ASSERT_PTR_NULL(c.host);
	CU_ASSERT_PTR_NULL(c.name);
}

static void test_no_prefix_and_no_err(void)
{
	static const struct pc_kv bogus = {"bogus", "1"};
	static const struct pc_kv bad = {"redis_port", "x"};
	struct conf c = {0};
	char err[256];

	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, &bogus, 1, &c, NULL, err, sizeof(err)),
	                PC_ERR_UNKNOWN_KEY);
	CU_ASSERT_STRING_EQUAL(err, "unknown option 'bogus'");
	pc_opts_free(defs, NDEFS, &c);
	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, &bad, 1, &c, NULL, err, sizeof(err)),
	                PC_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(err, "redis_port: 'x' is not an integer");
	pc_opts_free(defs, NDEFS, &c);
	/* No error buffer. */
	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, &bad, 1, &c, NULL, NULL, 0), PC_ERR_INVAL);
	pc_opts_free(defs, NDEFS, &c);
	/* A tiny buffer is truncated, still terminated. */
	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, &bogus, 1, &c, "p_", err, 8),
	                PC_ERR_UNKNOWN_KEY);
	CU_ASSERT_STRING_EQUAL(err, "unknown");
	pc_opts_free(defs, NDEFS, &c);
}

static void test_string_overrides_default(void)
{
	/* The default copy of redis_host must be freed when a value replaces it. */
	static const struct pc_kv kvs[] = {{"redis_host", "h1"}, {"name", "x"}};
	struct conf c;
	char err[256];
	int round;

	for (round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL(parse(&c, kvs, 2, err, sizeof(err)), PC_OK);
		CU_ASSERT_STRING_EQUAL(c.host, "h1");
		CU_ASSERT_STRING_EQUAL(c.name, "x");
		pc_opts_free(defs, NDEFS, &c);
	}
}

static void test_failure_after_strings(void)
{
	/* Strings already copied when a later option fails are freed by pc_opts_free. */
	static const struct pc_kv kvs[] = {
	    {"redis_host", "h1"}, {"name", "x"}, {"redis_port", "-1"}, {"tls", "on"}};
	struct conf c;
	char err[256];

	CU_ASSERT_EQUAL(parse(&c, kvs, 4, err, sizeof(err)), PC_ERR_RANGE);
	CU_ASSERT_STRING_EQUAL(err, "plugin_opt_redis_port: -1 is out of range 1..65535");
	CU_ASSERT_STRING_EQUAL(c.name, "x");
	CU_ASSERT_EQUAL(c.tls, false); /* not reached */
	pc_opts_free(defs, NDEFS, &c);
	CU_ASSERT_PTR_NULL(c.name);
}

static void test_bad_default(void)
{
	struct only {
		int64_t n;
		char *s;
	} o = {0, NULL};
	static const char *const none[] = {NULL};
	const struct pc_opt_def bad_int[] = {
	    {"s", PC_OPT_STRING, offsetof(struct only, s), "kept", 0, 0, NULL, ""},
	    {"n", PC_OPT_INT, offsetof(struct only, n), "ten", 0, 0, NULL, ""},
	};
	const struct pc_opt_def out_of_range[] = {
	    {"n", PC_OPT_INT, offsetof(struct only, n), "100", 1, 10, NULL, ""},
	};
	const struct pc_opt_def no_choices[] = {
	    {"n", PC_OPT_ENUM, offsetof(struct only, n), NULL, 0, 0, none, ""},
	};
	char err[256];

	CU_ASSERT_EQUAL(pc_opts_parse(bad_int, 2, NULL, 0, &o, "x_", err, sizeof(err)),
	                PC_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(err, "x_n (default): 'ten' is not an integer");
	pc_opts_free(bad_int, 2, &o);
	CU_ASSERT_PTR_NULL(o.s);
	CU_ASSERT_EQUAL(pc_opts_parse(out_of_range, 1, NULL, 0, &o, "x_", err, sizeof(err)),
	                PC_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "x_n (default)"));
	CU_ASSERT_EQUAL(pc_opts_parse(no_choices, 1, NULL, 0, &o, "x_", err, sizeof(err)),
	                PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "x_n"));
}

static void test_bad_args(void)
{
	static const struct pc_kv kv = {"port", "1"};
	static const struct pc_kv nokey = {NULL, "1"};
	struct conf c = {0};
	char err[64];

	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, NULL, 0, NULL, NULL, err, sizeof(err)),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_opts_parse(NULL, 1, NULL, 0, &c, NULL, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, NULL, 1, &c, NULL, err, sizeof(err)),
	                PC_ERR_INVAL);
	/* An empty table with no pairs is fine; any pair is unknown. */
	CU_ASSERT_EQUAL(pc_opts_parse(NULL, 0, NULL, 0, &c, NULL, err, sizeof(err)), PC_OK);
	CU_ASSERT_EQUAL(pc_opts_parse(NULL, 0, &kv, 1, &c, NULL, err, sizeof(err)),
	                PC_ERR_UNKNOWN_KEY);
	CU_ASSERT_STRING_EQUAL(err, "unknown option 'port'");
	/* A pair without a key. */
	CU_ASSERT_EQUAL(pc_opts_parse(defs, NDEFS, &nokey, 1, &c, NULL, err, sizeof(err)),
	                PC_ERR_INVAL);
	pc_opts_free(defs, NDEFS, &c);
}

static CU_TestInfo tests[] = {
    {"pc_parse_int table", test_parse_int},
    {"pc_parse_bool table", test_parse_bool},
    {"pc_parse_duration_ms table", test_parse_duration},
    {"pc_parse_size table", test_parse_size},
    {"defaults applied", test_defaults},
    {"every option type", test_every_type},
    {"error table and messages", test_errors},
    {"duplicate key", test_duplicate},
    {"no prefix, no or small error buffer", test_no_prefix_and_no_err},
    {"string value replaces default", test_string_overrides_default},
    {"failure after strings were copied", test_failure_after_strings},
    {"bad defaults in the table", test_bad_default},
    {"bad arguments", test_bad_args},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("options", tests);
}

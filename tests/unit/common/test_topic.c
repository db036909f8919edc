/*
 * test_topic.c - unit tests for common/topic.c: id rules (length limits,
 * every forbidden character), topic roots, published-topic checks
 * including RFC 3629 UTF-8 edge cases, pc_topic_parse over every contract
 * topic with and without a root, and pc_topic_build/parse round trips.
 */
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/topic.h"

/* An id, or any byte string, with its explicit length. */
struct bytes {
	const char *s;
	size_t len;
};
#define B(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

static char id64[PC_ID_MAX + 1];
static char id65[PC_ID_MAX + 2];

static void make_long_ids(void)
{
	memset(id64, 'x', PC_ID_MAX);
	id64[PC_ID_MAX] = '\0';
	memset(id65, 'y', PC_ID_MAX + 1);
	id65[PC_ID_MAX + 1] = '\0';
}

static void test_id_valid(void)
{
	static const struct bytes ok[] = {
	    B("a"),
	    B("Z"),
	    B("0"),
	    B("."),
	    B("_"),
	    B(":"),
	    B("-"),
	    B("device-0001"),
	    B("AbC.def_1:2-3"),
	    B("01:23:45:67:89:ab"),
	    B("..."),
	};
	char err[128];
	size_t i;

	make_long_ids();
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CU_ASSERT_EQUAL(pc_id_check(ok[i].s, ok[i].len, err, sizeof(err)), PC_OK);
	CU_ASSERT_EQUAL(pc_id_check(id64, PC_ID_MAX, err, sizeof(err)), PC_OK);
	/* Only len bytes are looked at. */
	CU_ASSERT_EQUAL(pc_id_check("ab/c", 2, err, sizeof(err)), PC_OK);
}

static void test_id_length(void)
{
	char err[128] = "";

	make_long_ids();
	CU_ASSERT_EQUAL(pc_id_check(id65, PC_ID_MAX + 1, err, sizeof(err)), PC_ERR_TOO_LONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "65"));
	CU_ASSERT_EQUAL(pc_id_check("", 0, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
	CU_ASSERT_EQUAL(pc_id_check(NULL, 3, err, sizeof(err)), PC_ERR_INVAL);
}

static void test_id_forbidden_chars(void)
{
	/* Each forbidden byte, placed at offset 2 of "ab?cd". */
	static const unsigned char bad[] = {
	    '+', '#', '/', '$',  '\0', ' ',  '\t', '\n', '\r', '*',  ',',  '@',  '!',  '"', '\'',
	    '%', '&', '(', ')',  ';',  '<',  '=',  '>',  '?',  '[',  '\\', ']',  '^',  '`', '{',
	    '|', '}', '~', 0x7f, 0x01, 0x1f, 0x80, 0xa0, 0xc3, 0xe2, 0xf0, 0xfe, 0xff,
	};
	char id[6] = "ab?cd", err[128];
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		id[2] = (char)bad[i];
		err[0] = '\0';
		CU_ASSERT_EQUAL(pc_id_check(id, 5, err, sizeof(err)), PC_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset 2"));
	}
	/* Printable characters are named, others shown in hex. */
	CU_ASSERT_EQUAL(pc_id_check("a+", 2, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'+'"));
	CU_ASSERT_EQUAL(pc_id_check("\xc3\xa9", 2, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0xc3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset 0"));
	CU_ASSERT_EQUAL(pc_id_check("a b", 3, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0x20"));
	/* An embedded NUL is seen because the length is explicit. */
	CU_ASSERT_EQUAL(pc_id_check("ab\0cd", 5, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0x00"));
	/* A forbidden char at the very end of a 64-char id. */
	make_long_ids();
	id64[PC_ID_MAX - 1] = '#';
	CU_ASSERT_EQUAL(pc_id_check(id64, PC_ID_MAX, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset 63"));
	/* No detail buffer is fine. */
	CU_ASSERT_EQUAL(pc_id_check("a#", 2, NULL, 0), PC_ERR_INVAL);
}

static void test_root_check(void)
{
	static const char *const ok[] = {"",     "site1",          "a/b", "a/b/c", "a b", "é/日",
	                                 "a//b", "plant-7/line:3", "x$"};
	static const char *const bad[] = {"/",     "/a",           "a/",     "$SYS", "$",
	                                  "a+",    "a/+",          "#",      "a/#",  "\xc3",
	                                  "a\xff", "\xed\xa0\x80", "site%c", "a%",   "%u/x"};
	char root[300], err[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CU_ASSERT_EQUAL(pc_root_check(ok[i], err, sizeof(err)), PC_OK);
	CU_ASSERT_EQUAL(pc_root_check(NULL, err, sizeof(err)), PC_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(pc_root_check(bad[i], err, sizeof(err)), PC_ERR_INVAL);
		CU_ASSERT(strlen(err) > 0);
	}
	memset(root, 'r', 255);
	root[255] = '\0';
	CU_ASSERT_EQUAL(pc_root_check(root, err, sizeof(err)), PC_OK);
	root[255] = 'r';
	root[256] = '\0';
	CU_ASSERT_EQUAL(pc_root_check(root, err, sizeof(err)), PC_ERR_INVAL);
}

static void test_topic_check_valid(void)
{
	static const struct bytes ok[] = {
	    B("a"),
	    B("/"),
	    B("dev/d1/hb"),
	    B("$SYS/broker/uptime"),
	    B("a//b/"),
	    B("caf\xc3\xa9"),              /* é, 2 bytes */
	    B("\xe6\x97\xa5\xe6\x9c\xac"), /* 日本 */
	    B("\xf0\x9f\x98\x80"),         /* 😀 U+1F600 */
	    B("\xc2\x80"),                 /* U+0080, smallest 2-byte */
	    B("\xdf\xbf"),                 /* U+07FF */
	    B("\xe0\xa0\x80"),             /* U+0800, smallest 3-byte */
	    B("\xed\x9f\xbf"),             /* U+D7FF, just below surrogates */
	    B("\xee\x80\x80"),             /* U+E000, just above surrogates */
	    B("\xef\xbf\xbf"),             /* U+FFFF */
	    B("\xf0\x90\x80\x80"),         /* U+10000, smallest 4-byte */
	    B("\xf4\x8f\xbf\xbf"),         /* U+10FFFF, the largest */
	    B("\x01\x7f"),                 /* controls are valid UTF-8 */
	};
	char big[PC_TOPIC_MAX + 2], err[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(pc_topic_check(ok[i].s, ok[i].len, err, sizeof(err)), PC_OK);
		CU_ASSERT_STRING_EQUAL(err, "");
	}
	memset(big, 't', sizeof(big));
	CU_ASSERT_EQUAL(pc_topic_check(big, PC_TOPIC_MAX, err, sizeof(err)), PC_OK);
}

static void test_topic_check_invalid(void)
{
	static const struct {
		struct bytes t;
		int rc;
		size_t offset; /* of the bad byte, in the detail */
	} bad[] = {
	    {B("a\0b"), PC_ERR_INVAL, 1},
	    {B("\0"), PC_ERR_INVAL, 0},
	    {B("a/+/b"), PC_ERR_INVAL, 2},
	    {B("a/#"), PC_ERR_INVAL, 2},
	    {B("+"), PC_ERR_INVAL, 0},
	    {B("dev/d+1/hb"), PC_ERR_INVAL, 5},
	    /* lone continuation bytes and impossible leads */
	    {B("\x80"), PC_ERR_INVAL, 0},
	    {B("ab\xbf"), PC_ERR_INVAL, 2},
	    {B("\xfe"), PC_ERR_INVAL, 0},
	    {B("\xff"), PC_ERR_INVAL, 0},
	    /* overlong encodings */
	    {B("x\xc0\xaf"), PC_ERR_INVAL, 1},
	    {B("\xc1\xbf"), PC_ERR_INVAL, 0},
	    {B("\xe0\x80\xaf"), PC_ERR_INVAL, 0},
	    {B("\xe0\x9f\xbf"), PC_ERR_INVAL, 0},
	    {B("\xf0\x80\x80\xaf"), PC_ERR_INVAL, 0},
	    {B("\xf0\x8f\xbf\xbf"), PC_ERR_INVAL, 0},
	    /* UTF-16 surrogates */
	    {B("\xed\xa0\x80"), PC_ERR_INVAL, 0},
	    {B("ok\xed\xbf\xbf"), PC_ERR_INVAL, 2},
	    /* above U+10FFFF */
	    {B("\xf4\x90\x80\x80"), PC_ERR_INVAL, 0},
	    {B("\xf5\x80\x80\x80"), PC_ERR_INVAL, 0},
	    {B("\xf7\xbf\xbf\xbf"), PC_ERR_INVAL, 0},
	    {B("\xf8\x88\x80\x80\x80"), PC_ERR_INVAL, 0},
	    /* truncated sequences */
	    {B("\xc3"), PC_ERR_INVAL, 0},
	    {B("ab\xe2\x82"), PC_ERR_INVAL, 2},
	    {B("\xf0\x9f\x98"), PC_ERR_INVAL, 0},
	    {B("\xe2\x82"
	       "a"),
	     PC_ERR_INVAL, 0},
	    /* bad continuation */
	    {B("\xc3\x28"), PC_ERR_INVAL, 0},
	    {B("\xe2\x28\xa1"), PC_ERR_INVAL, 0},
	    {B("\xf0\x9f\x98\x28"), PC_ERR_INVAL, 0},
	    {B("\xc3\xc3\xa9"), PC_ERR_INVAL, 0},
	};
	char err[128], want[32], big[PC_TOPIC_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(pc_topic_check(bad[i].t.s, bad[i].t.len, err, sizeof(err)),
		                bad[i].rc);
		snprintf(want, sizeof(want), "offset %zu", bad[i].offset);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	}
	/*
	 * Only len bytes count: a sequence cut short by len is invalid even
	 * when the bytes after it in memory would complete it.
	 */
	CU_ASSERT_EQUAL(pc_topic_check("\xc3\xa9", 1, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_check("ab\xf0\x9f\x98\x80", 5, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset 2"));
	CU_ASSERT_EQUAL(pc_topic_check("ab\xe2\x82\xac", 4, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_check("a+", 1, err, sizeof(err)), PC_OK);
	CU_ASSERT_EQUAL(pc_topic_check("", 0, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_check(NULL, 0, err, sizeof(err)), PC_ERR_INVAL);
	memset(big, 't', sizeof(big));
	CU_ASSERT_EQUAL(pc_topic_check(big, PC_TOPIC_MAX + 1, err, sizeof(err)), PC_ERR_TOO_LONG);
}

/* One row of the parse table: expected id and rest as strings, or NULL. */
struct parse_case {
	const char *root;
	const char *topic;
	int rc;
	enum pc_topic_kind kind;
	const char *id;
	const char *rest;
};

static const struct parse_case parse_cases[] = {
    {NULL, "dev/d1/hb", PC_OK, PC_T_DEV_HB, "d1", NULL},
    {NULL, "dev/d1/hb/ack", PC_OK, PC_T_DEV_HB_ACK, "d1", NULL},
    {NULL, "dev/d1/data", PC_OK, PC_T_DEV_DATA, "d1", NULL},
    {NULL, "dev/d1/evt", PC_OK, PC_T_DEV_EVT, "d1", NULL},
    {NULL, "dev/d1/cmd", PC_OK, PC_T_DEV_CMD, "d1", NULL},
    {NULL, "dev/d1/cmd/ack", PC_OK, PC_T_DEV_CMD_ACK, "d1", NULL},
    {NULL, "ops/dev/A.b_c:d-e/cmd", PC_OK, PC_T_OPS_CMD, "A.b_c:d-e", NULL},
    {NULL, "ops/dev/d1/cmd/state", PC_OK, PC_T_OPS_CMD_STATE, "d1", NULL},
    {NULL, "ops/dev/d1/presence", PC_OK, PC_T_OPS_PRESENCE, "d1", NULL},
    {NULL, "push/user/u-9/reco", PC_OK, PC_T_PUSH_RECO, "u-9", NULL},
    {NULL, "push/user/u-9/profile", PC_OK, PC_T_PUSH_PROFILE, "u-9", NULL},
    {NULL, "push/segment/vip", PC_OK, PC_T_PUSH_SEGMENT, "vip", NULL},
    {NULL, "push/device/k1", PC_OK, PC_T_PUSH_DEVICE, "k1", NULL},
    {NULL, "push/device/k1/screen", PC_OK, PC_T_PUSH_DEVICE, "k1", "screen"},
    {NULL, "push/device/k1/screen/main/0", PC_OK, PC_T_PUSH_DEVICE, "k1", "screen/main/0"},
    {NULL, "push/device/k1/", PC_OK, PC_T_PUSH_DEVICE, "k1", ""},
    {NULL, "mkt/campaign", PC_OK, PC_T_MKT_CAMPAIGN, NULL, NULL},
    {"", "dev/d1/hb", PC_OK, PC_T_DEV_HB, "d1", NULL},
    /* under a root */
    {"site1", "site1/dev/d1/hb", PC_OK, PC_T_DEV_HB, "d1", NULL},
    {"site1", "site1/mkt/campaign", PC_OK, PC_T_MKT_CAMPAIGN, NULL, NULL},
    {"site1", "site1/push/device/k1/a/b", PC_OK, PC_T_PUSH_DEVICE, "k1", "a/b"},
    {"a/b", "a/b/ops/dev/d1/presence", PC_OK, PC_T_OPS_PRESENCE, "d1", NULL},
    {"site1", "dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {"site1", "site1", PC_OK, PC_T_NONE, NULL, NULL},
    {"site1", "site1/", PC_OK, PC_T_NONE, NULL, NULL},
    {"site1", "site1dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {"site1", "site10/dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {"site1", "other/dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "site1/dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    /* outside the contract: unknown suffix or namespace */
    {NULL, "dev/d1", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/foo", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/hb/", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/hb/ack/x", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/cmd/state", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1/HB", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "ops/dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "ops/dev/d1/cmd/ack", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "push/user/u1/other", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "push/user/u1", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "push/segment/s1/x", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "mkt/campaign/x", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "mkt/other", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "mkt", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "ops/other", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "push/other/x", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "dev", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "devices/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "/dev/d1/hb", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "$SYS/broker/uptime", PC_OK, PC_T_NONE, NULL, NULL},
    {NULL, "", PC_OK, PC_T_NONE, NULL, NULL},
    /* contract namespace, bad id */
    {NULL, "dev/", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev//hb", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/+/evt", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/#", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/a$b/hb", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/a b/hb", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d\xc3\xa9/data", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "dev/d1+x/foo", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "ops/dev/$x/cmd", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/user//reco", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/user/u*1/profile", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/segment/", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/segment/s#", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/device//x", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {NULL, "push/device/k 1", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
    {"site1", "site1/dev/+/hb", PC_ERR_INVAL, PC_T_NONE, NULL, NULL},
};

static void check_parse_case(const struct parse_case *c, const char *topic)
{
	struct pc_topic t;
	char err[256] = "";
	int rc;

	memset(&t, 0xa5, sizeof(t)); /* every field must be written */
	rc = pc_topic_parse(c->root, topic, &t, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, c->rc);
	CU_ASSERT_EQUAL(t.kind, c->kind);
	if (rc != c->rc || t.kind != c->kind)
		fprintf(stderr, "\n  parse root=%s topic=%s: rc %d kind %d\n",
		        c->root ? c->root : "(null)", topic, rc, (int)t.kind);
	if (c->rc != PC_OK)
		CU_ASSERT(strlen(err) > 0);
	if (c->id == NULL) {
		CU_ASSERT_PTR_NULL(t.id);
		CU_ASSERT_EQUAL(t.id_len, 0);
	} else {
		CU_ASSERT_EQUAL_FATAL(t.id_len, strlen(c->id));
		CU_ASSERT_NSTRING_EQUAL(t.id, c->id, t.id_len);
		/* id points into the topic itself */
		CU_ASSERT(t.id >= topic && t.id + t.id_len <= topic + strlen(topic));
	}
	if (c->rest == NULL) {
		CU_ASSERT_PTR_NULL(t.rest);
	} else {
		CU_ASSERT_PTR_NOT_NULL_FATAL(t.rest);
		CU_ASSERT_STRING_EQUAL(t.rest, c->rest);
		CU_ASSERT(t.rest > topic && t.rest <= topic + strlen(topic));
	}
}

static void test_parse_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++)
		check_parse_case(&parse_cases[i], parse_cases[i].topic);
}

static void test_parse_id_limits(void)
{
	struct parse_case c = {NULL, NULL, PC_OK, PC_T_DEV_HB, NULL, NULL};
	char topic[200], err[200];
	struct pc_topic t;

	make_long_ids();
	snprintf(topic, sizeof(topic), "dev/%s/hb", id64);
	c.id = id64;
	check_parse_case(&c, topic);

	/* 65 characters: the namespace is ours, so it is an error, not NONE. */
	snprintf(topic, sizeof(topic), "dev/%s/hb", id65);
	CU_ASSERT_EQUAL(pc_topic_parse(NULL, topic, &t, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(t.kind, PC_T_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "65"));
}

static void test_parse_bad_args(void)
{
	struct pc_topic t;
	char err[64];

	CU_ASSERT_EQUAL(pc_topic_parse(NULL, NULL, &t, err, sizeof(err)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(t.kind, PC_T_NONE);
	CU_ASSERT_EQUAL(pc_topic_parse(NULL, "dev/d1/hb", NULL, err, sizeof(err)), PC_ERR_INVAL);
	/* No detail buffer is fine. */
	CU_ASSERT_EQUAL(pc_topic_parse(NULL, "dev/+/hb", &t, NULL, 0), PC_ERR_INVAL);
}

/* Expected topics built for id "d1" (rest "x/y" for push/device). */
static const struct {
	enum pc_topic_kind kind;
	const char *topic;
} build_cases[] = {
    {PC_T_DEV_HB, "dev/d1/hb"},
    {PC_T_DEV_HB_ACK, "dev/d1/hb/ack"},
    {PC_T_DEV_DATA, "dev/d1/data"},
    {PC_T_DEV_EVT, "dev/d1/evt"},
    {PC_T_DEV_CMD, "dev/d1/cmd"},
    {PC_T_DEV_CMD_ACK, "dev/d1/cmd/ack"},
    {PC_T_OPS_CMD, "ops/dev/d1/cmd"},
    {PC_T_OPS_CMD_STATE, "ops/dev/d1/cmd/state"},
    {PC_T_OPS_PRESENCE, "ops/dev/d1/presence"},
    {PC_T_PUSH_RECO, "push/user/d1/reco"},
    {PC_T_PUSH_PROFILE, "push/user/d1/profile"},
    {PC_T_PUSH_SEGMENT, "push/segment/d1"},
    {PC_T_PUSH_DEVICE, "push/device/d1/x/y"},
    {PC_T_MKT_CAMPAIGN, "mkt/campaign"},
};
#define N_BUILD (sizeof(build_cases) / sizeof(build_cases[0]))

static void test_build_table(void)
{
	char buf[PC_TOPIC_MAX + 1], want[128];
	size_t i;
	int n;

	for (i = 0; i < N_BUILD; i++) {
		enum pc_topic_kind k = build_cases[i].kind;
		const char *id = k == PC_T_MKT_CAMPAIGN ? NULL : "d1";

		n = pc_topic_build(buf, sizeof(buf), NULL, k, id, "x/y");
		CU_ASSERT_EQUAL(n, (int)strlen(build_cases[i].topic));
		CU_ASSERT_STRING_EQUAL(buf, build_cases[i].topic);

		n = pc_topic_build(buf, sizeof(buf), "", k, id, "x/y");
		CU_ASSERT_STRING_EQUAL(buf, build_cases[i].topic);

		snprintf(want, sizeof(want), "site1/%s", build_cases[i].topic);
		n = pc_topic_build(buf, sizeof(buf), "site1", k, id, "x/y");
		CU_ASSERT_EQUAL(n, (int)strlen(want));
		CU_ASSERT_STRING_EQUAL(buf, want);
	}
	/* push/device without rest, and with an empty rest */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "k1", NULL), 14);
	CU_ASSERT_STRING_EQUAL(buf, "push/device/k1");
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "k1", ""), 15);
	CU_ASSERT_STRING_EQUAL(buf, "push/device/k1/");
}

static void test_build_parse_round_trip(void)
{
	static const char *const roots[] = {NULL, "", "site1", "a/b/c", "caf\xc3\xa9"};
	static const char *const rests[] = {NULL, "", "screen", "a/b/c", "\xc3\xa9t\xc3\xa9"};
	const char *ids[3];
	char buf[PC_TOPIC_MAX + 1];
	struct pc_topic t;
	size_t r, i, j, s;
	int n;

	make_long_ids();
	ids[0] = "d1";
	ids[1] = "A.b_c:d-e";
	ids[2] = id64;
	for (r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
		for (i = 0; i < N_BUILD; i++) {
			enum pc_topic_kind k = build_cases[i].kind;

			for (j = 0; j < 3; j++) {
				for (s = 0; s < sizeof(rests) / sizeof(rests[0]); s++) {
					const char *id = k == PC_T_MKT_CAMPAIGN ? NULL : ids[j];

					n = pc_topic_build(buf, sizeof(buf), roots[r], k, id,
					                   rests[s]);
					CU_ASSERT_FATAL(n > 0);
					CU_ASSERT_EQUAL(pc_topic_check(buf, (size_t)n, NULL, 0),
					                PC_OK);
					CU_ASSERT_EQUAL(pc_topic_parse(roots[r], buf, &t, NULL, 0),
					                PC_OK);
					CU_ASSERT_EQUAL(t.kind, k);
					if (id == NULL) {
						CU_ASSERT_PTR_NULL(t.id);
					} else {
						CU_ASSERT_EQUAL(t.id_len, strlen(id));
						CU_ASSERT_NSTRING_EQUAL(t.id, id, strlen(id));
					}
					if (k == PC_T_PUSH_DEVICE && rests[s] != NULL) {
						CU_ASSERT_PTR_NOT_NULL_FATAL(t.rest);
						CU_ASSERT_STRING_EQUAL(t.rest, rests[s]);
					} else {
						CU_ASSERT_PTR_NULL(t.rest);
					}
					/* Under another root the same topic is not ours. */
					CU_ASSERT_EQUAL(pc_topic_parse("zz", buf, &t, NULL, 0),
					                PC_OK);
					CU_ASSERT_EQUAL(t.kind, PC_T_NONE);
				}
			}
		}
	}
}

static void test_build_errors(void)
{
	char buf[PC_TOPIC_MAX + 1], rest[PC_TOPIC_MAX + 1];

	make_long_ids();
	memset(buf, 'Q', sizeof(buf));
	/* bad kinds */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_NONE, "d1", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, (enum pc_topic_kind)999, "d1", NULL),
	                PC_ERR_INVAL);
	/* bad ids */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_HB, NULL, NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_HB, "", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_HB, "a/b", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_HB, "+", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_SEGMENT, "#", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_HB, id65, NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_MKT_CAMPAIGN, "d1", NULL),
	                PC_ERR_INVAL);
	/* bad roots */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), "/x", PC_T_DEV_HB, "d1", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), "$SYS", PC_T_DEV_HB, "d1", NULL),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), "a/+", PC_T_DEV_HB, "d1", NULL),
	                PC_ERR_INVAL);
	/* bad rests */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "d1", "a/+"),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "d1", "#"),
	                PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "d1", "\xc0\xaf"),
	                PC_ERR_INVAL);
	/* rest is ignored by the other kinds */
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_DEV_CMD, "d1", "#"), 10);
	CU_ASSERT_STRING_EQUAL(buf, "dev/d1/cmd");

	/* a result over PC_TOPIC_MAX, whatever the buffer */
	memset(rest, 'r', sizeof(rest) - 1);
	rest[sizeof(rest) - 1] = '\0';
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "d1", rest),
	                PC_ERR_TOO_LONG);
	/* exactly PC_TOPIC_MAX is fine: "push/device/d1/" is 15 */
	rest[PC_TOPIC_MAX - 15] = '\0';
	CU_ASSERT_EQUAL(pc_topic_build(buf, sizeof(buf), NULL, PC_T_PUSH_DEVICE, "d1", rest),
	                PC_TOPIC_MAX);
	CU_ASSERT_EQUAL(strlen(buf), PC_TOPIC_MAX);
}

static void test_build_buffer_size(void)
{
	char buf[16];

	/* "dev/d1/hb" is 9 characters: needs 10 bytes. */
	memset(buf, 'Q', sizeof(buf));
	CU_ASSERT_EQUAL(pc_topic_build(buf, 10, NULL, PC_T_DEV_HB, "d1", NULL), 9);
	CU_ASSERT_STRING_EQUAL(buf, "dev/d1/hb");
	memset(buf, 'Q', sizeof(buf));
	CU_ASSERT_EQUAL(pc_topic_build(buf, 9, NULL, PC_T_DEV_HB, "d1", NULL), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(buf[9], 'Q'); /* nothing past buflen */
	CU_ASSERT_EQUAL(pc_topic_build(buf, 1, NULL, PC_T_DEV_HB, "d1", NULL), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_topic_build(NULL, 0, NULL, PC_T_DEV_HB, "d1", NULL), PC_ERR_TOO_LONG);
	CU_ASSERT_EQUAL(pc_topic_build(buf, 15, "s", PC_T_DEV_HB, "d1", NULL), 11);
	CU_ASSERT_EQUAL(pc_topic_build(buf, 11, "s", PC_T_DEV_HB, "d1", NULL), PC_ERR_TOO_LONG);
}

static void test_kind_names(void)
{
	size_t i, j;

	CU_ASSERT_STRING_EQUAL(pc_topic_kind_name(PC_T_NONE), "none");
	CU_ASSERT_STRING_EQUAL(pc_topic_kind_name(PC_T_DEV_HB), "dev/hb");
	CU_ASSERT_STRING_EQUAL(pc_topic_kind_name(PC_T_OPS_PRESENCE), "ops/presence");
	CU_ASSERT_STRING_EQUAL(pc_topic_kind_name(PC_T_MKT_CAMPAIGN), "mkt/campaign");
	CU_ASSERT_STRING_EQUAL(pc_topic_kind_name((enum pc_topic_kind)999), "?");
	/* every kind has its own name */
	for (i = 0; i < N_BUILD; i++) {
		const char *a = pc_topic_kind_name(build_cases[i].kind);

		CU_ASSERT_STRING_NOT_EQUAL(a, "none");
		CU_ASSERT_STRING_NOT_EQUAL(a, "?");
		for (j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(a, pc_topic_kind_name(build_cases[j].kind));
	}
}

static CU_TestInfo tests[] = {
    {"valid ids", test_id_valid},
    {"id length limits", test_id_length},
    {"each forbidden id character", test_id_forbidden_chars},
    {"topic roots", test_root_check},
    {"valid topics and UTF-8", test_topic_check_valid},
    {"invalid topics and UTF-8", test_topic_check_invalid},
    {"parse table", test_parse_table},
    {"parse ids at 64 and 65 characters", test_parse_id_limits},
    {"parse bad arguments", test_parse_bad_args},
    {"build every kind", test_build_table},
    {"build/parse round trip", test_build_parse_round_trip},
    {"build errors", test_build_errors},
    {"build buffer size", test_build_buffer_size},
    {"kind names", test_kind_names},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("topic", tests);
}

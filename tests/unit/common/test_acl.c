/*
 * test_acl.c - unit tests for common/acl.c, as data tables: topic
 * matching (MQTT rules, '$' topics), filter coverage for subscriptions,
 * filter syntax, template parsing and its errors, and decisions of the
 * default role templates (the auth plugin's defaults) for a device, the
 * bridge, an app and ops, including other devices' topics, $share, '#',
 * $SYS, %c and a topic root.
 */
#include <stdio.h>
#include <string.h>

#include "cu_run.h"
#include "precis/acl.h"
#include "precis/error.h"

/* The auth plugin's default templates (plugins/auth/plugin.c keeps the same strings). */
#define DEVICE_ACL                                                                                 \
	"write:dev/%u/hb write:dev/%u/data write:dev/%u/evt write:dev/%u/cmd/ack "                 \
	"read:dev/%u/cmd read:dev/%u/hb/ack read:push/device/%u/#"
#define BRIDGE_ACL "read:dev/+/evt read:mkt/# write:push/#"
#define APP_ACL    "read:push/# write:mkt/#"
#define OPS_ACL    "readwrite:ops/# read:$SYS/broker/precis/#"

struct match_case {
	const char *filter, *topic;
	bool want;
};

static void test_topic_matches(void)
{
	static const struct match_case cases[] = {
	    {"a/b", "a/b", true},
	    {"a/b", "a/c", false},
	    {"a/b", "a/b/c", false},
	    {"a/b/c", "a/b", false},
	    {"a/+", "a/b", true},
	    {"a/+", "a", false},
	    {"a/+", "a/", true}, /* an empty level is a level */
	    {"a/+/c", "a/x/c", true},
	    {"a/+/c", "a/x/d", false},
	    {"a/#", "a", true}, /* '#' matches the parent level too */
	    {"a/#", "a/b/c", true},
	    {"a/#", "ab", false},
	    {"#", "a/b", true},
	    {"#", "/", true},
	    {"+", "a", true},
	    {"+", "a/b", false},
	    {"+/+", "/x", true},
	    {"#", "$SYS/broker", false}, /* wildcards at level 1 never match '$' topics */
	    {"+/broker", "$SYS/broker", false},
	    {"$SYS/#", "$SYS/broker/uptime", true},
	    {"$SYS/+/uptime", "$SYS/broker/uptime", true},
	    {"dev/d1/hb", "dev/d1/hb", true},
	    {"dev/d1/hb", "dev/d1/hbx", false},
	    {"dev/d1/hb", "dev/d1/h", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool got = pc_topic_matches(cases[i].filter, cases[i].topic);

		CU_ASSERT_EQUAL(got, cases[i].want);
		if (got != cases[i].want)
			fprintf(stderr, "\n  matches('%s', '%s') = %d\n", cases[i].filter,
			        cases[i].topic, got);
	}
}

static void test_topic_match_plus(void)
{
	static const struct {
		const char *filter, *topic, *plus; /* plus NULL: no match */
	} cases[] = {
	    {"dev/+/data", "dev/d1/data", "d1"},
	    {"dev/+/data", "dev//data", ""},
	    {"dev/+/data", "dev/d1/evt", NULL},
	    {"site/+/dev/+/x", "site/s1/dev/d2/x", "s1"}, /* the first '+' */
	    {"dev/+/#", "dev/d3", "d3"},
	    {"dev/+/#", "dev/d3/a/b", "d3"},
	    {"+/x", "$SYS/x", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *p = NULL;
		size_t n = 0;
		bool got = pc_topic_match_plus(cases[i].filter, cases[i].topic, &p, &n);

		CU_ASSERT_EQUAL(got, cases[i].plus != NULL);
		CU_ASSERT_EQUAL(got, pc_topic_matches(cases[i].filter, cases[i].topic));
		if (got && cases[i].plus) {
			CU_ASSERT_EQUAL(n, strlen(cases[i].plus));
			CU_ASSERT_EQUAL(memcmp(p, cases[i].plus, n), 0);
		}
	}
	CU_ASSERT_TRUE(pc_topic_match_plus("a/b", "a/b", NULL, NULL));
}

static void test_filter_covers(void)
{
	static const struct match_case cases[] = {
	    /* pattern, subscription filter */
	    {"dev/d1/cmd", "dev/d1/cmd", true},
	    {"dev/d1/cmd", "dev/+/cmd", false},
	    {"dev/d1/cmd", "dev/d1/#", false},
	    {"dev/d1/cmd", "#", false},
	    {"dev/+/evt", "dev/+/evt", true},
	    {"dev/+/evt", "dev/d7/evt", true},
	    {"dev/+/evt", "dev/#", false},
	    {"dev/+/evt", "dev/+/+", false},
	    {"push/#", "push/#", true},
	    {"push/#", "push", true},
	    {"push/#", "push/user/+/reco", true},
	    {"push/#", "push/user/#", true},
	    {"push/#", "pushx/#", false},
	    {"push/device/d1/#", "push/device/d1/#", true},
	    {"push/device/d1/#", "push/device/+/#", false},
	    {"push/device/d1/#", "push/device/d1", true},
	    {"a/+", "a/#", false},
	    {"a/+", "a/+", true},
	    {"a/+", "a", false},
	    {"#", "#", true},
	    {"#", "$SYS/#", false},
	    {"+/#", "$SYS/broker", false},
	    {"$SYS/broker/precis/#", "$SYS/broker/precis/auth/logins/ok", true},
	    {"$SYS/broker/precis/#", "$SYS/#", false},
	    {"$SYS/broker/precis/#", "$SYS/broker/+/auth", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool got = pc_filter_covers(cases[i].filter, cases[i].topic);

		CU_ASSERT_EQUAL(got, cases[i].want);
		if (got != cases[i].want)
			fprintf(stderr, "\n  covers('%s', '%s') = %d\n", cases[i].filter,
			        cases[i].topic, got);
	}
}

static void test_filter_check(void)
{
	static const struct {
		const char *f;
		bool ok;
	} cases[] = {
	    {"a", true},     {"a/b/c", true}, {"+", true},    {"#", true},     {"a/#", true},
	    {"+/+/#", true}, {"/", true},     {"", false},    {"a#", false},   {"a/#/b", false},
	    {"a+/b", false}, {"a/+b", false}, {"#/a", false}, {"a/b#", false}, {"%u/x", true},
	};
	char big[1100];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CU_ASSERT_EQUAL(pc_filter_check(cases[i].f), cases[i].ok);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CU_ASSERT_FALSE(pc_filter_check(big));
}

static void test_parse(void)
{
	struct pc_acl_role r;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(pc_acl_parse(DEVICE_ACL, "", &r, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(r.n, 7);
	CU_ASSERT_FALSE(r.superuser);
	CU_ASSERT_EQUAL(r.rules[0].access, PC_ACL_WRITE);
	CU_ASSERT_STRING_EQUAL(r.rules[0].pattern, "dev/%u/hb");
	CU_ASSERT_EQUAL(r.rules[6].access, PC_ACL_READ);
	pc_acl_role_cleanup(&r);

	CU_ASSERT_EQUAL(pc_acl_parse("  superuser ", NULL, &r, err, sizeof err), PC_OK);
	CU_ASSERT_TRUE(r.superuser);
	pc_acl_role_cleanup(&r);

	/* Blanks of any width between rules; readwrite sets both bits; root prefixes non-$ rules.
	 */
	CU_ASSERT_EQUAL_FATAL(
	    pc_acl_parse("readwrite:ops/#\t\t read:$SYS/broker/#", "site1", &r, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT_EQUAL(r.rules[0].access, PC_ACL_READ | PC_ACL_WRITE);
	CU_ASSERT_STRING_EQUAL(r.rules[0].pattern, "site1/ops/#");
	CU_ASSERT_STRING_EQUAL(r.rules[1].pattern, "$SYS/broker/#");
	pc_acl_role_cleanup(&r);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *spec, *root, *why;
	} cases[] = {
	    {"", NULL, "empty ACL template"},
	    {"   ", NULL, "empty ACL template"},
	    {NULL, NULL, "empty ACL template"},
	    {"dev/%u/hb", NULL, "is not access:filter"},
	    {"pub:dev/%u/hb", NULL, "unknown access 'pub'"},
	    {"write:dev/%u/hb read:dev/#/x", NULL, "rule 'read:dev/#/x': invalid topic filter"},
	    {"write:dev/%x/hb", NULL, "invalid topic filter"},
	    {"write:dev/%", NULL, "invalid topic filter"},
	    {"write:", NULL, "invalid topic filter"},
	    {"superuser write:a", NULL, "is not access:filter"},
	    {"write:a", "/bad", "root"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_acl_role r;
		char err[256] = "";

		CU_ASSERT_NOT_EQUAL(pc_acl_parse(cases[i].spec, cases[i].root, &r, err, sizeof err),
		                    PC_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].why));
		if (!strstr(err, cases[i].why))
			fprintf(stderr, "\n  '%s': '%s'\n",
			        cases[i].spec ? cases[i].spec : "(null)", err);
		pc_acl_role_cleanup(&r);
	}
}

struct decision {
	const char *user, *client, *topic;
	int access;
	bool want;
};

static void run_decisions(const char *spec, const char *root, const struct decision *d, size_t n)
{
	struct pc_acl_role r;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(pc_acl_parse(spec, root, &r, err, sizeof err), PC_OK);
	for (size_t i = 0; i < n; i++) {
		bool got = pc_acl_check(&r, d[i].user, d[i].client, d[i].topic, d[i].access);

		CU_ASSERT_EQUAL(got, d[i].want);
		if (got != d[i].want)
			fprintf(stderr, "\n  %s/%s access %d '%s': %d\n",
			        d[i].user ? d[i].user : "-", d[i].client ? d[i].client : "-",
			        d[i].access, d[i].topic ? d[i].topic : "(null)", got);
	}
	pc_acl_role_cleanup(&r);
}

enum { R = PC_ACL_READ, W = PC_ACL_WRITE, S = PC_ACL_SUBSCRIBE, U = PC_ACL_UNSUBSCRIBE };

static void test_device_role(void)
{
	static const struct decision d[] = {
	    {"d1", "d1", "dev/d1/hb", W, true},
	    {"d1", "d1", "dev/d1/data", W, true},
	    {"d1", "d1", "dev/d1/evt", W, true},
	    {"d1", "d1", "dev/d1/cmd/ack", W, true},
	    {"d1", "d1", "dev/d1/cmd", W, false}, /* only the broker sends commands */
	    {"d1", "d1", "dev/d1/foo", W, false},
	    {"d1", "d1", "dev/d2/hb", W, false}, /* another device */
	    {"d1", "d1", "dev/d2/data", W, false},
	    {"d1", "d1", "ops/dev/d1/cmd", W, false},
	    {"d1", "d1", "push/device/d1/x", W, false},
	    {"d1", "d1", "dev/d1/cmd", S, true},
	    {"d1", "d1", "dev/d1/hb/ack", S, true},
	    {"d1", "d1", "push/device/d1/#", S, true},
	    {"d1", "d1", "push/device/d1/screen/1", S, true},
	    {"d1", "d1", "dev/d1/#", S, false}, /* would also match what it may not read */
	    {"d1", "d1", "dev/+/cmd", S, false},
	    {"d1", "d1", "dev/d2/cmd", S, false},
	    {"d1", "d1", "#", S, false},
	    {"d1", "d1", "$SYS/#", S, false},
	    {"d1", "d1", "$CONTROL/#", S, false},
	    {"d1", "d1", "$share/g/dev/d2/cmd", S, false},
	    {"d1", "d1", "$share/g/dev/d1/cmd", S, true},
	    {"d1", "d1", "$share/g/#", S, false},
	    {"d1", "d1", "$share//dev/d1/cmd", S, false}, /* malformed share */
	    {"d1", "d1", "$share/g", S, false},
	    {"d1", "d1", "dev/d1/cmd", R, true},
	    {"d1", "d1", "dev/d2/cmd", R, false},
	    {"d1", "d1", "push/device/d1/a/b", R, true},
	    {"d1", "d1", "push/device/d2/a", R, false},
	    {"d1", "d1", "$SYS/broker/uptime", R, false},
	    {"d1", "d1", "anything", U, true},
	    {NULL, "d1", "dev/d1/hb", W, false}, /* no username: %u rules do not apply */
	    {"d/1", "d/1", "dev/d/1/hb", W, false},
	    {"+", "+", "dev/+/hb", W, false},
	    {"", "", "dev//hb", W, false},
	    {"d1", "d1", NULL, W, false},
	    {"d1", "d1", "dev/d1/hb", 0x40, false}, /* unknown access */
	};

	run_decisions(DEVICE_ACL, "", d, sizeof d / sizeof d[0]);
}

static void test_other_roles(void)
{
	static const struct decision bridge[] = {
	    {"br", "br-1", "$share/precis-bridge/dev/+/evt", S, true},
	    {"br", "br-1", "dev/+/evt", S, true},
	    {"br", "br-1", "dev/d9/evt", R, true},
	    {"br", "br-1", "dev/d9/data", R, false},
	    {"br", "br-1", "dev/#", S, false},
	    {"br", "br-1", "mkt/campaign", S, true},
	    {"br", "br-1", "push/user/u1/reco", W, true},
	    {"br", "br-1", "dev/d1/cmd", W, false},
	};
	static const struct decision app[] = {
	    {"app1", "a", "push/#", S, true},       {"app1", "a", "push/user/u1/reco", R, true},
	    {"app1", "a", "mkt/campaign", W, true}, {"app1", "a", "push/user/u1/reco", W, false},
	    {"app1", "a", "dev/+/evt", S, false},   {"app1", "a", "#", S, false},
	};
	static const struct decision ops[] = {
	    {"op", "op-cli", "ops/dev/d1/cmd", W, true},
	    {"op", "op-cli", "ops/dev/+/cmd/state", S, true},
	    {"op", "op-cli", "$SYS/broker/precis/#", S, true},
	    {"op", "op-cli", "$SYS/broker/precis/auth/logins/ok", R, true},
	    {"op", "op-cli", "$SYS/broker/uptime", R, false},
	    {"op", "op-cli", "dev/d1/cmd", W, false},
	};

	run_decisions(BRIDGE_ACL, NULL, bridge, sizeof bridge / sizeof bridge[0]);
	run_decisions(APP_ACL, NULL, app, sizeof app / sizeof app[0]);
	run_decisions(OPS_ACL, NULL, ops, sizeof ops / sizeof ops[0]);
}

static void test_client_id_token_and_root(void)
{
	static const struct decision byc[] = {
	    {"kiosk", "kiosk-7", "screens/kiosk-7/state", W, true},
	    {"kiosk", "kiosk-8", "screens/kiosk-7/state", W, false},
	    {"kiosk", "bad/id", "screens/bad/id/state", W, false}, /* '/' in %c: rule off */
	    {"kiosk", NULL, "screens//state", W, false},
	    {"kiosk", "k", "pct%/k", W, true}, /* %% is a literal % */
	};
	static const struct decision rooted[] = {
	    {"d1", "d1", "site1/dev/d1/hb", W, true},
	    {"d1", "d1", "dev/d1/hb", W, false},
	    {"d1", "d1", "site1/dev/d1/cmd", S, true},
	    {"d1", "d1", "site2/dev/d1/hb", W, false},
	};

	run_decisions("write:screens/%c/state write:pct%%/%c", NULL, byc,
	              sizeof byc / sizeof byc[0]);
	run_decisions(DEVICE_ACL, "site1", rooted, sizeof rooted / sizeof rooted[0]);
}

static void test_superuser(void)
{
	static const struct decision d[] = {
	    {"root", "x", "#", S, true},
	    {"root", "x", "$SYS/#", S, true},
	    {"root", "x", "dev/d1/cmd", W, true},
	    {NULL, NULL, "anything", R, true},
	};

	run_decisions("superuser", NULL, d, sizeof d / sizeof d[0]);
}

/* ---- the split-level fast path against the string semantics ---- */

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* The test's own %u / %c expansion; false when a value is unusable. */
static bool oracle_expand(const char *pat, const char *u, const char *c, char *out, size_t n)
{
	size_t o = 0;

	for (const char *p = pat; *p; p++) {
		const char *v = NULL;

		if (*p == '%') {
			p++;
			v = *p == 'u' ? u : c;
			if (!v || !v[0] || strpbrk(v, "/+#"))
				return false;
			if (o + strlen(v) >= n)
				return false;
			memcpy(out + o, v, strlen(v));
			o += strlen(v);
			continue;
		}
		if (o + 1 >= n)
			return false;
		out[o++] = *p;
	}
	out[o] = '\0';
	return true;
}

static void join_levels(char *buf, size_t buflen, const char *const *levels, int n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && o + 1 < buflen; i++)
		o += (size_t)snprintf(buf + o, buflen - o, "%s%s", i ? "/" : "", levels[i]);
}

static void test_fast_path_matches_string_semantics(void)
{
	static const char *const pat_levels[] = {"a", "b", "+", "%u", "%c", "x%u", "%c-y", "u1"};
	static const char *const top_levels[] = {"a", "b", "u1", "c1", "xu1", "c1-y", "", "+"};
	static const char *const users[] = {"u1", "u/2", NULL, ""};
	static const char *const clients[] = {"c1", "c+1", NULL};
	uint32_t rnd = 99;
	int bad = 0, applied = 0;

	for (int iter = 0; iter < 200000 && bad < 5; iter++) {
		const char *pl[40], *tl[40];
		int np = 1 + (int)(xorshift(&rnd) % 4), nt;
		char pat[256], topic[512], expanded[512];
		const char *u = users[xorshift(&rnd) % 4], *c = clients[xorshift(&rnd) % 3];
		bool subscribe = xorshift(&rnd) % 2, want, got;
		struct pc_acl_role r;
		char spec[300];

		for (int i = 0; i < np; i++)
			pl[i] = pat_levels[xorshift(&rnd) % 8];
		if (xorshift(&rnd) % 4 == 0)
			pl[np++] = "#";
		if (xorshift(&rnd) % 10 == 0)
			pl[0] = "$SYS";
		/* Topics mostly short, sometimes past the fast path's 32 levels. */
		nt = xorshift(&rnd) % 20 == 0 ? 33 + (int)(xorshift(&rnd) % 4)
		                              : 1 + (int)(xorshift(&rnd) % 5);
		for (int i = 0; i < nt; i++) {
			tl[i] = top_levels[xorshift(&rnd) % 8];
			if (!subscribe && strcmp(tl[i], "+") == 0)
				tl[i] = "b"; /* published topics have no wildcards */
		}
		if (subscribe && xorshift(&rnd) % 4 == 0)
			tl[nt - 1] = "#";
		if (xorshift(&rnd) % 10 == 0)
			tl[0] = "$SYS";
		join_levels(pat, sizeof pat, pl, np);
		join_levels(topic, sizeof topic, tl, nt);
		snprintf(spec, sizeof spec, "read:%s", pat);
		if (pc_acl_parse(spec, NULL, &r, NULL, 0) != PC_OK) {
			bad++;
			continue;
		}
		want = oracle_expand(pat, u, c, expanded, sizeof expanded) &&
		       (subscribe ? pc_filter_covers(expanded, topic)
		                  : pc_topic_matches(expanded, topic));
		got = pc_acl_check(&r, u, c, topic, subscribe ? PC_ACL_SUBSCRIBE : PC_ACL_READ);
		applied += want;
		if (got != want) {
			bad++;
			fprintf(stderr, "\n  %s '%s' vs '%s' (u=%s c=%s): %d, want %d\n",
			        subscribe ? "sub" : "read", pat, topic, u ? u : "-", c ? c : "-",
			        got, want);
		}
		pc_acl_role_cleanup(&r);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(applied > 1000); /* the generator does produce matches, not only misses */
}

static CU_TestInfo tests[] = {
    {"topic matching", test_topic_matches},
    {"topic matching that reports the '+' level", test_topic_match_plus},
    {"filter coverage for subscriptions", test_filter_covers},
    {"filter syntax", test_filter_check},
    {"template parsing", test_parse},
    {"template errors name the rule", test_parse_errors},
    {"device role: own topics only", test_device_role},
    {"bridge, app and ops roles", test_other_roles},
    {"%c and topic root", test_client_id_token_and_root},
    {"superuser", test_superuser},
    {"split-level fast path = string semantics (random)", test_fast_path_matches_string_semantics},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("acl", tests);
}

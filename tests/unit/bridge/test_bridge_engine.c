/*
 * test_bridge_engine.c - unit tests for bridge/engine.c, engine_campaign.c and
 * publish.c, driven through a capturing br_out (no broker, no MongoDB):
 * debounced refreshes and their payloads and documents, refused events
 * counted and changing nothing, campaigns honouring opt-out, the daily
 * cap and quiet hours, the A/B experiment's holdout and conversions, a
 * reload, and documents a full store refused rebuilt once it has room.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cu_run.h"
#include "engine.h"
#include "precis/error.h"

#define MAXMSG 4096
#define T0     (INT64_C(1699920000000) + 12 * 3600000) /* 2023-11-14 12:00 UTC */

struct cap {
	int n, stored;
	int refuse; /* the store answers PC_ERR_FULL */
	char *topic[MAXMSG];
	char *payload[MAXMSG];
	char *coll[MAXMSG];
	char *doc[MAXMSG]; /* "<coll>/<id> <json>" of each stored document */
};

static int cap_publish(void *arg, const char *topic, const char *payload, size_t len, int qos,
                       bool retain)
{
	struct cap *c = arg;

	(void)qos;
	(void)retain;
	if (c->n < MAXMSG) {
		c->topic[c->n] = strdup(topic);
		c->payload[c->n] = strndup(payload, len);
		c->coll[c->n] = NULL;
		c->n++;
	}
	return 0;
}

static int cap_store(void *arg, const char *coll, const char *id, const char *json, size_t len)
{
	struct cap *c = arg;
	char *d;

	if (c->refuse)
		return PC_ERR_FULL;
	if (c->stored < MAXMSG && (d = malloc(strlen(coll) + strlen(id) + len + 3))) {
		sprintf(d, "%s/%s %.*s", coll, id, (int)len, json);
		c->doc[c->stored] = d;
	}
	c->stored++;
	return 0;
}

/* How many stored documents start with prefix ("<coll>/<id> ") and, when given, contain text. */
static int stored(const struct cap *c, const char *prefix, const char *text)
{
	int k, n = 0;

	for (k = 0; k < c->stored && k < MAXMSG; k++)
		n += c->doc[k] && strncmp(c->doc[k], prefix, strlen(prefix)) == 0 &&
		     (!text || strstr(c->doc[k], text));
	return n;
}

static void cap_clear(struct cap *c)
{
	int k;

	for (k = 0; k < c->n; k++) {
		free(c->topic[k]);
		free(c->payload[k]);
	}
	for (k = 0; k < c->stored && k < MAXMSG; k++)
		free(c->doc[k]);
	memset(c, 0, sizeof *c);
}

/* How many captured messages went to topic (exact) and, when given, contain text. */
static int count(const struct cap *c, const char *topic, const char *text)
{
	int k, n = 0;

	for (k = 0; k < c->n; k++)
		n += strcmp(c->topic[k], topic) == 0 && (!text || strstr(c->payload[k], text));
	return n;
}

static const char *last(const struct cap *c, const char *topic)
{
	int k;

	for (k = c->n - 1; k >= 0; k--)
		if (strcmp(c->topic[k], topic) == 0)
			return c->payload[k];
	return "";
}

struct fixture {
	struct br_config cfg;
	struct br_engine e;
	struct cap cap;
};

static void setup(struct fixture *f, int argc, char **argv)
{
	struct br_out out = {&f->cap, cap_publish, cap_store};
	char err[512];

	memset(f, 0, sizeof *f);
	CU_ASSERT_EQUAL_FATAL(br_config_load(&f->cfg, NULL, argc, argv, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL_FATAL(br_engine_init(&f->e, &f->cfg, &out, NULL, T0, err, sizeof err),
	                      PC_OK);
}

static void teardown(struct fixture *f)
{
	br_engine_cleanup(&f->e);
	br_config_cleanup(&f->cfg);
	cap_clear(&f->cap);
}

static void event(struct fixture *f, const char *user, const char *item, const char *type,
                  int64_t now)
{
	char buf[256];

	snprintf(buf, sizeof buf, "{\"user\":\"%s\",\"item\":\"%s\",\"type\":\"%s\",\"ts\":%lld}",
	         user, item, type, (long long)now);
	CU_ASSERT_EQUAL(br_engine_event(&f->e, "d1", buf, strlen(buf), now, false), BR_BAD_NONE);
}

static enum br_evt_bad raw(struct fixture *f, const char *json)
{
	return br_engine_event(&f->e, "d1", json, strlen(json), T0, false);
}

static void test_debounced_refresh(void)
{
	struct fixture f;

	setup(&f, 0, NULL);
	event(&f, "alice", "i1", "view", T0);
	event(&f, "alice", "i2", "cart", T0 + 10);
	event(&f, "bob", "i1", "purchase", T0 + 20);
	event(&f, "bob", "i3", "click", T0 + 30);
	br_engine_tick(&f.e, T0 + 100, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/reco", NULL),
	                0); /* not before the debounce */
	CU_ASSERT_TRUE(br_engine_tick(&f.e, T0 + 150, 100) <= T0 + 200);
	br_engine_tick(&f.e, T0 + 230, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/reco", NULL), 1); /* both events in one */
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/reco", "\"item\":\"i3\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/reco", "\"reason\":\"similar_users\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/bob/reco", "\"item\":\"i2\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/bob/profile", "\"purchases\":1"), 1);
	CU_ASSERT_EQUAL(f.cap.stored, 4); /* two recommendations, two profiles */
	/* refused events are counted and change nothing */
	CU_ASSERT_EQUAL(raw(&f, "{\"user\":\"carol\"}"), BR_BAD_MISSING);
	CU_ASSERT_EQUAL(raw(&f, "{\"user\":\"c\",\"item\":\"i\",\"type\":\"zap\"}"), BR_BAD_KIND);
	CU_ASSERT_EQUAL(raw(&f, "xx"), BR_BAD_JSON);
	CU_ASSERT_EQUAL(f.e.n.bad[BR_BAD_MISSING], 1);
	CU_ASSERT_EQUAL(f.e.n.bad[BR_BAD_KIND], 1);
	CU_ASSERT_EQUAL(f.e.n.bad[BR_BAD_JSON], 1);
	CU_ASSERT_EQUAL(f.e.users.n, 2);
	CU_ASSERT_EQUAL(f.e.n.events_accepted, 4);
	/* the counters go out on the stats topic */
	br_engine_publish_stats(&f.e, T0 + 300);
	CU_ASSERT_EQUAL(count(&f.cap, "push/bridge/precis-bridge/stats", "\"unknown_type\":1"), 1);
	/* everybody is refreshed after refresh_interval */
	br_engine_tick(&f.e, T0 + 10 * 60000 + 1, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/reco", NULL), 2);
	teardown(&f);
}

static void campaign(struct fixture *f, const char *json, int64_t now)
{
	CU_ASSERT_EQUAL(br_engine_campaign(&f->e, json, strlen(json), now), PC_OK);
}

static void test_campaign_rules(void)
{
	char a0[] = "--segment.buyers", a1[] = "purchases >= 1";
	char *argv[] = {a0, a1};
	struct fixture f;
	const char *opt = "{\"user\":\"bob\",\"optout\":true}";

	setup(&f, 2, argv);
	event(&f, "alice", "i1", "purchase", T0);
	event(&f, "bob", "i1", "purchase", T0);
	event(&f, "carol", "i2", "view", T0); /* not a buyer */
	CU_ASSERT_EQUAL(br_engine_optout(&f.e, opt, strlen(opt), T0), PC_OK);
	CU_ASSERT_EQUAL(br_engine_optout(&f.e, "{\"user\":5}", 10, T0), PC_ERR_INVAL);
	br_engine_tick(&f.e, T0 + 500, 100);
	campaign(&f,
	         "{\"id\":\"sale\",\"segment\":\"buyers\",\"content\":{\"t\":\"50%\"},"
	         "\"frequency_cap\":1}",
	         T0 + 600);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/campaign", "\"50%\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/bob/campaign", NULL), 0);   /* opted out */
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/carol/campaign", NULL), 0); /* not a member */
	CU_ASSERT_EQUAL(count(&f.cap, "push/segment/buyers", "\"campaign\":\"sale\""), 1);
	/* published again the same day: the cap of 1 holds */
	campaign(&f,
	         "{\"id\":\"sale\",\"segment\":\"buyers\",\"content\":{\"t\":\"60%\"},"
	         "\"frequency_cap\":1}",
	         T0 + 700);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/campaign", NULL), 1);
	CU_ASSERT_EQUAL(f.e.camps[0]->skip_cap, 1);
	CU_ASSERT_EQUAL(f.e.camps[0]->skip_optout, 2);
	/* carol becomes a buyer: her refresh delivers the campaign to her */
	event(&f, "carol", "i1", "purchase", T0 + 800);
	br_engine_tick(&f.e, T0 + 1100, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/carol/campaign", "\"rev\":2"), 1);
	/* quiet hours around now: deferred, then delivered once they end */
	{
		const char *both =
		    "{\"id\":\"night\",\"tags\":[\"x\"],\"segment\":\"buyers\",\"content\":{}}";
		CU_ASSERT_EQUAL(br_engine_campaign(&f.e, both, strlen(both), T0), PC_ERR_INVAL);
	}
	CU_ASSERT_EQUAL(f.e.n.campaigns_bad, 1);
	campaign(&f,
	         "{\"id\":\"lunch\",\"segment\":\"buyers\",\"content\":{\"m\":1},"
	         "\"quiet_hours\":{\"from\":\"11:00\",\"to\":\"13:00\"}}",
	         T0 + 2000);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/campaign", "\"lunch\""), 0);
	br_engine_tick(&f.e, T0 + 3600000 - 1000, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/campaign", "\"lunch\""), 0);
	br_engine_tick(&f.e, T0 + 3600000 + 1000, 100); /* 13:00:01 */
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/alice/campaign", "\"lunch\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/carol/campaign", "\"lunch\""), 1);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/bob/campaign", "\"lunch\""), 0);
	teardown(&f);
}

/* A tag campaign reaches a user whose matching tag is the last of tags_top (6), not only the first
 * few. */
static void test_tag_campaign_sees_every_tag(void)
{
	char a0[] = "--tags_top", a1[] = "6";
	char *argv[] = {a0, a1};
	struct fixture f;
	char buf[256];

	setup(&f, 2, argv);
	for (int c = 0; c < 6; c++) { /* category c(6 - c) gets c + 1 purchases: c6 ranks last */
		for (int k = 0; k <= c; k++) {
			snprintf(buf, sizeof buf,
			         "{\"user\":\"dana\",\"item\":\"i%d_%d\",\"category\":\"c%d\","
			         "\"type\":\"purchase\",\"ts\":%lld}",
			         c, k, 6 - c, (long long)T0);
			CU_ASSERT_EQUAL(br_engine_event(&f.e, "d1", buf, strlen(buf), T0, false),
			                BR_BAD_NONE);
		}
	}
	br_engine_tick(&f.e, T0 + 500, 100);
	CU_ASSERT_TRUE(strstr(last(&f.cap, "push/user/dana/profile"), "\"c6\"") != NULL);
	campaign(&f, "{\"id\":\"last\",\"tags\":[\"c6\"],\"content\":{}}", T0 + 600);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/dana/campaign", "\"last\""), 1);
	campaign(&f, "{\"id\":\"none\",\"tags\":[\"c9\"],\"content\":{}}", T0 + 700);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/dana/campaign", "\"none\""), 0);
	teardown(&f);
}

static void test_ab_conversions(void)
{
	char a0[] = "--experiment.reco", a1[] = "A=popular:50 H=none:50",
	     a2[] = "--reco-experiment", a3[] = "reco";
	char *argv[] = {a0, a1, a2, a3};
	struct fixture f;
	char user[32], topic[64];
	int k, shown = 0, held = 0, bought_a = 0;

	setup(&f, 4, argv);
	/* a popular item everybody is shown first (i-top), and 40 users with one view each */
	for (k = 0; k < 5; k++) {
		snprintf(user, sizeof user, "fan%d", k);
		event(&f, user, "i-top", "view", T0);
	}
	for (k = 0; k < 40; k++) {
		snprintf(user, sizeof user, "u%d", k);
		event(&f, user, "i-other", "view", T0);
	}
	br_engine_tick(&f.e, T0 + 1000, 1000);
	for (k = 0; k < 40; k++) {
		snprintf(user, sizeof user, "u%d", k);
		snprintf(topic, sizeof topic, "push/user/%s/reco", user);
		if (count(&f.cap, topic, NULL)) {
			shown++;
			CU_ASSERT_PTR_NOT_NULL(strstr(last(&f.cap, topic), "\"variant\":\"A\""));
		} else {
			held++;
		}
	}
	CU_ASSERT_TRUE(shown > 5 && held > 5);
	CU_ASSERT_EQUAL(shown + held, 40);
	CU_ASSERT_TRUE(f.e.n.reco_holdouts >= (uint64_t)held);
	/* everybody buys i-top: a conversion for the exposed in both arms (holdouts were
	 * exposed to what they would have been shown) */
	for (k = 0; k < 40; k++) {
		snprintf(user, sizeof user, "u%d", k);
		event(&f, user, "i-top", "purchase", T0 + 2000);
		snprintf(topic, sizeof topic, "push/user/%s/reco", user);
		bought_a += count(&f.cap, topic, NULL) > 0;
	}
	/* a purchase of an item never pushed converts nobody */
	event(&f, "u0", "never-shown", "purchase", T0 + 2100);
	CU_ASSERT_EQUAL(f.e.n.conversions, 40);
	br_engine_tick(&f.e, T0 + 5000, 1000);
	{
		char want[64];
		const char *p = last(&f.cap, "push/experiment/reco");
		snprintf(want, sizeof want, "\"id\":\"A\",\"treatment\":\"popular\"");
		CU_ASSERT_PTR_NOT_NULL(strstr(p, want));
		snprintf(want, sizeof want, "\"conversions\":%d,", bought_a);
		CU_ASSERT_PTR_NOT_NULL(strstr(p, want));
		snprintf(want, sizeof want, "\"conversions\":%d,", 40 - bought_a);
		CU_ASSERT_PTR_NOT_NULL(strstr(p, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(p, "\"control\":\"H\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(p, "\"lift_ci95\":["));
	}
	teardown(&f);
}

static void test_reload(void)
{
	struct fixture f;
	struct br_config next;
	char err[512], a0[] = "--segment.s", a1[] = "events >= 1", a2[] = "--similarity",
	               a3[] = "pearson";
	char *argv[] = {a0, a1, a2, a3};

	setup(&f, 0, NULL);
	CU_ASSERT_EQUAL_FATAL(br_config_load(&next, NULL, 4, argv, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(br_engine_reload(&f.e, &next, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(f.e.prof.nseg, 1);
	CU_ASSERT_EQUAL(f.e.reco.p.sim, BR_SIM_PEARSON);
	event(&f, "x", "i", "view", T0);
	br_engine_tick(&f.e, T0 + 1000, 10);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/x/profile", "\"segments\":[\"s\"]"), 1);
	br_engine_cleanup(&f.e);
	br_config_cleanup(&next);
	br_config_cleanup(&f.cfg);
	cap_clear(&f.cap);
}

/* An event replayed with the same id by the same device counts once, live or from history;
 * the same id from another device is another event (no device can hide another's events);
 * one without an id or with a new id counts; a bad id is refused and changes nothing. */
static void test_duplicate_ids(void)
{
	struct fixture f;
	const char *a = "{\"id\":\"536365:1\",\"user\":\"u1\",\"item\":\"i1\","
	                "\"type\":\"purchase\",\"value\":3,\"ts\":1000}";
	const char *b = "{\"id\":\"536365:2\",\"user\":\"u1\",\"item\":\"i2\","
	                "\"type\":\"purchase\",\"value\":4,\"ts\":1000}";
	const char *anon = "{\"user\":\"u1\",\"item\":\"i2\",\"type\":\"purchase\",\"ts\":1000}";

	setup(&f, 0, NULL);
	CU_ASSERT_EQUAL(raw(&f, a), BR_BAD_NONE);
	CU_ASSERT_EQUAL(raw(&f, b), BR_BAD_NONE);
	CU_ASSERT_EQUAL(raw(&f, a), BR_BAD_NONE);
	CU_ASSERT_EQUAL(br_engine_event(&f.e, "d2", a, strlen(a), T0, false), BR_BAD_NONE);
	CU_ASSERT_EQUAL(br_engine_event(&f.e, "d2", a, strlen(a), T0, false), BR_BAD_NONE);
	CU_ASSERT_EQUAL(br_engine_event(&f.e, "d1", b, strlen(b), T0, true), BR_BAD_NONE);
	CU_ASSERT_EQUAL(raw(&f, anon), BR_BAD_NONE);
	CU_ASSERT_EQUAL(raw(&f, anon), BR_BAD_NONE);
	CU_ASSERT_EQUAL(
	    raw(&f, "{\"id\":\"a/b\",\"user\":\"u1\",\"item\":\"i1\",\"type\":\"view\"}"),
	    BR_BAD_ID);
	CU_ASSERT_EQUAL(raw(&f, "{\"id\":7,\"user\":\"u1\",\"item\":\"i1\",\"type\":\"view\"}"),
	                BR_BAD_TYPE);
	CU_ASSERT_EQUAL(f.e.n.events_received, 10);
	CU_ASSERT_EQUAL(f.e.n.duplicates, 3);
	CU_ASSERT_EQUAL(f.e.n.events_accepted, 5);
	CU_ASSERT_EQUAL(f.e.n.by_type[BR_EVT_PURCHASE], 5);
	br_engine_tick(&f.e, T0 + 10 * 60000 + 1, 100);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/u1/profile", "\"purchases\":5"), 1);
	br_engine_publish_stats(&f.e, T0 + 10 * 60000 + 2);
	CU_ASSERT_TRUE(count(&f.cap, "push/bridge/precis-bridge/stats", "\"duplicates\":3") >= 1);
	teardown(&f);
}

/* dedup_window 0 turns the check off: every copy counts. */
static void test_duplicate_ids_off(void)
{
	struct fixture f;
	char a0[] = "--dedup_window", a1[] = "0";
	char *argv[] = {a0, a1};
	const char *a = "{\"id\":\"x1\",\"user\":\"u1\",\"item\":\"i1\",\"type\":\"purchase\"}";

	setup(&f, 2, argv);
	CU_ASSERT_EQUAL(raw(&f, a), BR_BAD_NONE);
	CU_ASSERT_EQUAL(raw(&f, a), BR_BAD_NONE);
	CU_ASSERT_EQUAL(f.e.n.duplicates, 0);
	CU_ASSERT_EQUAL(f.e.n.events_accepted, 2);
	teardown(&f);
}

/*
 * The store's queue is full: pushes go on, the refused recommendations and
 * profiles are rebuilt (latest state, not pushed again) as room appears.
 */
static void test_store_full_rebuilt_later(void)
{
	struct fixture f;
	char user[16];
	int k;

	setup(&f, 0, NULL);
	f.e.io.mongo_enabled = true;
	f.e.io.store.room = 0;
	f.cap.refuse = 1;
	for (k = 0; k < 50; k++) {
		snprintf(user, sizeof user, "u%d", k);
		event(&f, user, "i1", "view", T0);
	}
	event(&f, "u7", "i2", "purchase", T0 + 1);
	br_engine_tick(&f.e, T0 + 300, 1000);
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/u7/profile", "\"purchases\":1"), 1);
	CU_ASSERT_EQUAL(f.cap.stored, 0);
	CU_ASSERT_EQUAL(f.e.n.store_refused, 100);
	CU_ASSERT_EQUAL(f.e.oq_len, 50);      /* each user once */
	br_engine_tick(&f.e, T0 + 400, 1000); /* still no room: nothing */
	CU_ASSERT_EQUAL(f.cap.stored, 0);
	event(&f, "u9", "i3", "cart", T0 + 450); /* u9 refreshes by itself: pushed and stored */
	f.cap.refuse = 0;
	f.e.io.store.room = 20; /* room for ten users' two documents */
	br_engine_tick(&f.e, T0 + 500, 1000);
	CU_ASSERT_EQUAL(f.cap.stored, 20);
	br_engine_tick(&f.e, T0 + 700, 1000); /* u9's own refresh */
	CU_ASSERT_EQUAL(stored(&f.cap, "profiles/u9 ", "\"items\":2"), 1);
	f.e.io.store.room = 1000;
	br_engine_tick(&f.e, T0 + 800, 1000);
	for (k = 0; k < 50; k++) {
		char prefix[32];
		snprintf(prefix, sizeof prefix, "profiles/u%d ", k);
		CU_ASSERT_EQUAL(stored(&f.cap, prefix, NULL), 1);
		snprintf(prefix, sizeof prefix, "recommendations/u%d ", k);
		CU_ASSERT_EQUAL(stored(&f.cap, prefix, NULL), 1);
	}
	CU_ASSERT_EQUAL(stored(&f.cap, "profiles/u7 ", "\"purchases\":1"), 1);
	CU_ASSERT_EQUAL(f.cap.stored, 100);
	CU_ASSERT_EQUAL(f.e.n.store_rebuilt, 49); /* u9 was left to its own refresh */
	CU_ASSERT_EQUAL(count(&f.cap, "push/user/u7/profile", NULL), 1); /* not pushed again */
	CU_ASSERT_EQUAL(f.e.oq_len, 0);
	br_engine_tick(&f.e, T0 + 900, 1000);
	CU_ASSERT_EQUAL(f.cap.stored, 100);
	teardown(&f);
}

static CU_TestInfo tests[] = {
    {"debounced refreshes, payloads, refusals, counters", test_debounced_refresh},
    {"campaigns: opt-out, cap, members joining, quiet hours", test_campaign_rules},
    {"tag campaigns see every tag of the portrait", test_tag_campaign_sees_every_tag},
    {"A/B: holdout and conversions", test_ab_conversions},
    {"reload", test_reload},
    {"an event id counts once per device, live or history", test_duplicate_ids},
    {"dedup_window 0: every copy counts", test_duplicate_ids_off},
    {"documents a full store refused are rebuilt when there is room",
     test_store_full_rebuilt_later},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("engine", tests);
}

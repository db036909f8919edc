/*
 * engine_campaign.c - campaigns inside the engine: receiving them from
 * mkt/campaign, finding their members among the portraits, and running
 * the delivery decisions of campaign.h with their pushes, delivery
 * records and experiment exposures. Same thread as engine.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "precis/json.h"
#include "precis/error.h"

static int find_campaign(const struct br_engine *e, const char *id)
{
	size_t k;

	for (k = 0; k < e->ncamps; k++)
		if (strcmp(e->camps[k]->id, id) == 0)
			return (int)k;
	return -1;
}

static struct br_experiment *campaign_experiment(struct br_engine *e, const struct br_campaign *c)
{
	size_t k;

	if (!c->nvariants)
		return NULL;
	for (k = 0; k < e->nexps; k++)
		if (strcmp(e->exps[k].id, c->id) == 0)
			return &e->exps[k];
	if (e->nexps == BR_MAX_EXPERIMENTS + BR_MAX_CAMPAIGNS ||
	    br_experiment_init(&e->exps[e->nexps], c->id, c->variants, c->nvariants,
	                       e->cfg->conversion_window_ms) != PC_OK)
		return NULL;
	e->exp_published[e->nexps] = 0;
	return &e->exps[e->nexps++];
}

static bool is_member(const struct br_engine *e, const struct br_campaign *c, uint32_t u)
{
	const struct br_user_cache *uc;
	size_t k, t;
	uint32_t cat;

	if (u >= e->cache_cap || !e->cache[u].known)
		return false;
	uc = &e->cache[u];
	if (c->segment[0]) {
		for (k = 0; k < e->prof.nseg; k++)
			if (strcmp(e->prof.seg_id[k], c->segment) == 0)
				return (uc->segments >> k) & 1;
		return false;
	}
	for (k = 0; k < c->ntags; k++) {
		if (br_ids_find(&e->prof.cats, c->tags[k], strlen(c->tags[k]), &cat) != PC_OK)
			continue;
		for (t = 0; t < uc->ntags; t++)
			if (uc->tag[t] == cat)
				return true;
	}
	return false;
}

static void record(struct br_engine *e, const struct br_campaign *c, int64_t now_ms)
{
	struct pc_jw j;

	pc_jw_init(&j);
	if (br_push_campaign_record(e, c, now_ms, &j) == PC_OK)
		br_engine_emit(e, NULL, &j, false, "campaigns", c->id);
	pc_jw_cleanup(&j);
}

/* Decide and act for one member; returns true when the member must be looked at again. */
static bool deliver(struct br_engine *e, struct br_campaign *c, uint32_t u, int64_t now_ms)
{
	const char *user = br_ids_name(&e->users, u);
	char topic[PC_TOPIC_MAX + 1], id[3 * PC_ID_MAX + 32];
	uint32_t items[BR_CAMPAIGN_ITEMS];
	struct br_experiment *x;
	struct pc_jw j;
	size_t v, k;
	enum br_dlv d = br_campaign_decide(c, user, br_profiles_optout(&e->prof, u), now_ms, &v);

	if (d == BR_DLV_QUIET)
		return true;
	if (d != BR_DLV_SEND && d != BR_DLV_HOLDOUT)
		return false;
	if ((x = campaign_experiment(e, c)) != NULL) {
		for (k = 0; k < c->nitems; k++)
			if (br_ids_intern(&e->items, c->items[k], strlen(c->items[k]), &items[k],
			                  NULL))
				break;
		if (br_experiment_expose(x, user, items, k, now_ms) < 0)
			e->n.nomem++;
	}
	if (d == BR_DLV_HOLDOUT)
		return false;
	pc_jw_init(&j);
	snprintf(topic, sizeof topic, "%s%spush/user/%s/campaign", e->cfg->topic_root,
	         *e->cfg->topic_root ? "/" : "", user);
	snprintf(id, sizeof id, "%s/%llu/%s", c->id, (unsigned long long)c->rev, user);
	if (br_push_delivery(e, c, user, v, now_ms, &j) == PC_OK) {
		br_engine_emit(e, topic, &j, false, "campaign_deliveries", id);
		e->n.deliveries++;
	}
	pc_jw_cleanup(&j);
	return false;
}

/* One pass of campaign k over every known user. */
static void pass(struct br_engine *e, size_t k, int64_t now_ms)
{
	struct br_campaign *c = e->camps[k];
	char topic[PC_TOPIC_MAX + 1];
	bool again = false;
	uint32_t u;

	if (!br_campaign_active(c, now_ms)) {
		e->camp_pending[k] = now_ms < c->start_ms; /* wait for the start */
		return;
	}
	if (c->segment[0] && e->camp_segment_rev[k] != c->rev) {
		struct pc_jw j;
		pc_jw_init(&j);
		if (br_push_segment(e, c, now_ms, &j) == PC_OK &&
		    pc_topic_build(topic, sizeof topic, e->cfg->topic_root, PC_T_PUSH_SEGMENT,
		                   c->segment, NULL) > 0) {
			br_engine_emit(e, topic, &j, false, NULL, NULL);
			e->n.segment_pushes++;
			e->camp_segment_rev[k] = c->rev;
		}
		pc_jw_cleanup(&j);
	}
	for (u = 0; u < e->users.n; u++)
		if (is_member(e, c, u))
			again |= deliver(e, c, u, now_ms);
	e->camp_pending[k] = again;
	record(e, c, now_ms);
}

int br_engine_campaign(struct br_engine *e, const void *payload, size_t len, int64_t now_ms)
{
	struct br_campaign *c = calloc(1, sizeof *c);
	char err[512];
	int at, rc;

	if (!c) {
		e->n.nomem++;
		return PC_ERR_NOMEM;
	}
	rc = br_campaign_parse(payload, len, c, err, sizeof err);
	if (rc != PC_OK) {
		br_campaign_cleanup(c);
		free(c);
		e->n.campaigns_bad++;
		pc_log(e->log, PC_LOG_WARNING, "campaign refused: %s", err);
		return PC_ERR_INVAL;
	}
	at = find_campaign(e, c->id);
	if (at >= 0) {
		br_campaign_replace(e->camps[at], c);
		br_campaign_cleanup(c);
		free(c);
	} else if (e->ncamps == BR_MAX_CAMPAIGNS) {
		br_campaign_cleanup(c);
		free(c);
		e->n.campaigns_bad++;
		pc_log(e->log, PC_LOG_WARNING, "campaign refused: %d campaigns already",
		       BR_MAX_CAMPAIGNS);
		return PC_ERR_INVAL;
	} else {
		at = (int)e->ncamps++;
		e->camps[at] = c;
		e->camp_segment_rev[at] = 0;
	}
	e->n.campaigns++;
	pc_log(e->log, PC_LOG_INFO, "campaign %s revision %llu received", e->camps[at]->id,
	       (unsigned long long)e->camps[at]->rev);
	pass(e, (size_t)at, now_ms);
	return PC_OK;
}

void br_engine_campaign_user(struct br_engine *e, uint32_t u, int64_t now_ms)
{
	size_t k;

	for (k = 0; k < e->ncamps; k++) {
		struct br_campaign *c = e->camps[k];
		uint64_t sent = c->sent;
		if (br_campaign_active(c, now_ms) && is_member(e, c, u)) {
			if (deliver(e, c, u, now_ms))
				e->camp_pending[k] = true;
			if (c->sent != sent)
				record(e, c, now_ms);
		}
	}
}

int64_t br_engine_campaign_tick(struct br_engine *e, int64_t now_ms)
{
	size_t k;
	bool any = false;

	if (now_ms >= e->next_campaign_ms) {
		for (k = 0; k < e->ncamps; k++)
			if (e->camp_pending[k])
				pass(e, k, now_ms);
		e->next_campaign_ms = now_ms + e->cfg->campaign_interval_ms;
	}
	for (k = 0; k < e->ncamps; k++)
		any |= e->camp_pending[k];
	return any ? e->next_campaign_ms : INT64_MAX;
}

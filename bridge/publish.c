/*
 * publish.c - the JSON payloads the bridge pushes and stores (schemas/
 * reco, profile, experiment, campaign-delivery, campaign-record,
 * bridge-stats). Each builder writes one object into a br_json; the same
 * text is published and, with its _id added, stored in MongoDB.
 */
#include <stddef.h>
#include <string.h>

#include "engine.h"
#include "precis/json.h"
#include "precis/error.h"

static int done(struct pc_jw *j)
{
	size_t len;

	return pc_jw_done(j, &len) ? PC_OK : PC_ERR_NOMEM;
}

int br_push_reco(struct br_engine *e, uint32_t u, const struct br_scored *s, size_t n,
                 enum br_algo algo, const char *variant, int64_t now_ms, struct pc_jw *j)
{
	size_t k;

	pc_jw_obj(j);
	pc_jw_key(j, "user");
	pc_jw_str(j, br_ids_name(&e->users, u));
	pc_jw_key(j, "items");
	pc_jw_arr(j);
	for (k = 0; k < n; k++) {
		pc_jw_obj(j);
		pc_jw_key(j, "item");
		pc_jw_str(j, br_ids_name(&e->items, s[k].item));
		pc_jw_key(j, "score");
		pc_jw_num(j, s[k].score);
		pc_jw_key(j, "reason");
		pc_jw_str(j, br_reason_name(s[k].reason));
		pc_jw_key(j, "support");
		pc_jw_int(j, s[k].support);
		if (s[k].because != UINT32_MAX) {
			pc_jw_key(j, "because");
			pc_jw_str(j, br_ids_name(&e->items, s[k].because));
		}
		pc_jw_end(j, '}');
	}
	pc_jw_end(j, ']');
	pc_jw_key(j, "algo");
	pc_jw_str(j, br_algo_name(algo));
	if (algo != BR_ALGO_POPULAR) {
		pc_jw_key(j, "similarity");
		pc_jw_str(j, br_sim_name(e->reco.p.sim));
	}
	pc_jw_key(j, "variant");
	if (variant)
		pc_jw_str(j, variant);
	else
		pc_jw_null(j);
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

int br_push_profile(struct br_engine *e, uint32_t u, const struct br_portrait *p, int64_t now_ms,
                    struct pc_jw *j)
{
	static const struct br_user_stats none;
	const struct br_user_stats *s = br_profiles_stats(&e->prof, u);
	size_t k;

	if (!s)
		s = &none;
	pc_jw_obj(j);
	pc_jw_key(j, "user");
	pc_jw_str(j, br_ids_name(&e->users, u));
	pc_jw_key(j, "tags");
	pc_jw_arr(j);
	for (k = 0; k < p->ntags; k++)
		pc_jw_str(j, br_ids_name(&e->prof.cats, p->tag[k]));
	pc_jw_end(j, ']');
	pc_jw_key(j, "rfm");
	pc_jw_obj(j);
	pc_jw_key(j, "r");
	pc_jw_int(j, p->rfm[0]);
	pc_jw_key(j, "f");
	pc_jw_int(j, p->rfm[1]);
	pc_jw_key(j, "m");
	pc_jw_int(j, p->rfm[2]);
	pc_jw_end(j, '}');
	pc_jw_key(j, "recency_days");
	if (p->recency_days >= 0)
		pc_jw_num(j, p->recency_days);
	else
		pc_jw_null(j);
	pc_jw_key(j, "purchases");
	pc_jw_int(j, s->purchases);
	pc_jw_key(j, "spend");
	pc_jw_num(j, s->spend);
	pc_jw_key(j, "events");
	pc_jw_int(j, s->events);
	pc_jw_key(j, "items");
	pc_jw_int(j, u < e->reco.m.nusers ? e->reco.m.rows[u].n : 0);
	pc_jw_key(j, "segments");
	pc_jw_arr(j);
	for (k = 0; k < e->prof.nseg; k++)
		if ((p->segments >> k) & 1)
			pc_jw_str(j, e->prof.seg_id[k]);
	pc_jw_end(j, ']');
	pc_jw_key(j, "optout");
	pc_jw_bool(j, s->optout);
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

int br_push_experiment(struct br_engine *e, const struct br_experiment *x, int64_t now_ms,
                       struct pc_jw *j)
{
	struct br_variant_report r[BR_MAX_VARIANTS];
	size_t k;

	(void)e;
	br_experiment_report(x, r);
	pc_jw_obj(j);
	pc_jw_key(j, "experiment");
	pc_jw_str(j, x->id);
	pc_jw_key(j, "control");
	pc_jw_str(j, x->v[x->control].id);
	pc_jw_key(j, "window_ms");
	pc_jw_int(j, x->window_ms);
	pc_jw_key(j, "variants");
	pc_jw_arr(j);
	for (k = 0; k < x->nv; k++) {
		pc_jw_obj(j);
		pc_jw_key(j, "id");
		pc_jw_str(j, x->v[k].id);
		pc_jw_key(j, "treatment");
		pc_jw_str(j, x->v[k].algo == BR_ALGO_NONE
		                 ? "holdout"
		                 : br_algo_name((enum br_algo)x->v[k].algo));
		pc_jw_key(j, "percent");
		pc_jw_num(j, x->v[k].percent);
		pc_jw_key(j, "exposures");
		pc_jw_int(j, (int64_t)r[k].exposures);
		pc_jw_key(j, "conversions");
		pc_jw_int(j, (int64_t)r[k].conversions);
		pc_jw_key(j, "rate");
		pc_jw_num(j, r[k].rate);
		pc_jw_key(j, "lift");
		if (r[k].has_lift) {
			pc_jw_num(j, r[k].lift);
			pc_jw_key(j, "lift_ci95");
			pc_jw_arr(j);
			pc_jw_num(j, r[k].lift_lo);
			pc_jw_num(j, r[k].lift_hi);
			pc_jw_end(j, ']');
		} else {
			pc_jw_null(j);
		}
		pc_jw_end(j, '}');
	}
	pc_jw_end(j, ']');
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

/* The first members of every campaign payload: {"campaign": id, "rev": n */
static void campaign_head(struct pc_jw *j, const struct br_campaign *c)
{
	pc_jw_obj(j);
	pc_jw_key(j, "campaign");
	pc_jw_str(j, c->id);
	pc_jw_key(j, "rev");
	pc_jw_int(j, (int64_t)c->rev);
}

/* The last members: "content": {...}, "at": ms} */
static int content_tail(struct pc_jw *j, const char *content, int64_t now_ms)
{
	pc_jw_key(j, "content");
	pc_jw_raw(j, content);
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

static void variant_id(struct pc_jw *j, const struct br_campaign *c, size_t v)
{
	pc_jw_key(j, "variant");
	if (c->nvariants)
		pc_jw_str(j, c->variants[v].id);
	else
		pc_jw_null(j);
}

int br_push_delivery(struct br_engine *e, const struct br_campaign *c, const char *user,
                     size_t variant, int64_t now_ms, struct pc_jw *j)
{
	(void)e;
	campaign_head(j, c);
	pc_jw_key(j, "user");
	pc_jw_str(j, user);
	variant_id(j, c, variant);
	return content_tail(j, br_campaign_content(c, variant), now_ms);
}

int br_push_segment(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                    struct pc_jw *j)
{
	(void)e;
	campaign_head(j, c);
	pc_jw_key(j, "segment");
	pc_jw_str(j, c->segment);
	return content_tail(j, c->content, now_ms);
}

int br_push_campaign_record(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                            struct pc_jw *j)
{
	size_t k;

	(void)e;
	campaign_head(j, c);
	if (c->segment[0]) {
		pc_jw_key(j, "segment");
		pc_jw_str(j, c->segment);
	} else {
		pc_jw_key(j, "tags");
		pc_jw_arr(j);
		for (k = 0; k < c->ntags; k++)
			pc_jw_str(j, c->tags[k]);
		pc_jw_end(j, ']');
	}
	pc_jw_key(j, "content");
	pc_jw_raw(j, c->content);
	pc_jw_key(j, "start");
	pc_jw_int(j, c->start_ms);
	pc_jw_key(j, "end");
	pc_jw_int(j, c->end_ms);
	pc_jw_key(j, "frequency_cap");
	pc_jw_int(j, c->cap);
	pc_jw_key(j, "sent");
	pc_jw_int(j, (int64_t)c->sent);
	pc_jw_key(j, "holdout");
	pc_jw_int(j, (int64_t)c->holdout);
	pc_jw_key(j, "skipped_optout");
	pc_jw_int(j, (int64_t)c->skip_optout);
	pc_jw_key(j, "skipped_cap");
	pc_jw_int(j, (int64_t)c->skip_cap);
	pc_jw_key(j, "deferred_quiet");
	pc_jw_int(j, (int64_t)c->deferred_quiet);
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

/* A counter of some struct, by name and offset (uint64_t fields only). */
struct counter {
	const char *name;
	size_t off;
};

#define C(type, field)                                                                             \
	{                                                                                          \
#field, offsetof(type, field)                                                      \
	}
static const struct counter event_counters[] = {
    {"received", offsetof(struct br_counters, events_received)},
    {"accepted", offsetof(struct br_counters, events_accepted)},
    {"history", offsetof(struct br_counters, events_history)},
    C(struct br_counters, refused_capacity),
    C(struct br_counters, duplicates),
};
static const struct counter engine_counters[] = {
    C(struct br_counters, recos),          C(struct br_counters, reco_holdouts),
    C(struct br_counters, profiles),       C(struct br_counters, campaigns),
    C(struct br_counters, campaigns_bad),  C(struct br_counters, optouts),
    C(struct br_counters, optouts_bad),    C(struct br_counters, deliveries),
    C(struct br_counters, segment_pushes), C(struct br_counters, conversions),
    C(struct br_counters, publish_failed), C(struct br_counters, nomem),
    C(struct br_counters, store_refused),  C(struct br_counters, store_rebuilt),
};
static const struct counter mqtt_counters[] = {
    C(struct br_mqtt_stats, received),       C(struct br_mqtt_stats, ignored),
    C(struct br_mqtt_stats, inbox_overflow), C(struct br_mqtt_stats, connects),
    C(struct br_mqtt_stats, lost),           C(struct br_mqtt_stats, connect_failures),
    C(struct br_mqtt_stats, published),      C(struct br_mqtt_stats, publish_failed),
};
static const struct counter store_counters[] = {
    C(struct br_store_stats, queued),   C(struct br_store_stats, coalesced),
    C(struct br_store_stats, refused),  C(struct br_store_stats, written),
    C(struct br_store_stats, dropped),  C(struct br_store_stats, failed),
    C(struct br_store_stats, retried),  C(struct br_store_stats, batches),
    C(struct br_store_stats, timeouts),
};
#undef C

static void counters(struct pc_jw *j, const void *base, const struct counter *c, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		pc_jw_key(j, c[k].name);
		pc_jw_int(j, (int64_t) * (const uint64_t *)((const char *)base + c[k].off));
	}
}

#define COUNTERS(j, base, table) counters(j, base, table, sizeof table / sizeof table[0])

int br_push_stats(struct br_engine *e, int64_t now_ms, struct pc_jw *j)
{
	const struct br_counters *n = &e->n;
	int k;

	pc_jw_obj(j);
	pc_jw_key(j, "events");
	pc_jw_obj(j);
	COUNTERS(j, n, event_counters);
	for (k = 1; k < BR_BAD_NREASONS; k++) {
		pc_jw_key(j, br_evt_bad_name((enum br_evt_bad)k));
		pc_jw_int(j, (int64_t)n->bad[k]);
	}
	for (k = 0; k < BR_EVT_NTYPES; k++) {
		pc_jw_key(j, br_evt_type_name((enum br_evt_type)k));
		pc_jw_int(j, (int64_t)n->by_type[k]);
	}
	pc_jw_end(j, '}');
	pc_jw_key(j, "users");
	pc_jw_int(j, e->users.n);
	pc_jw_key(j, "items");
	pc_jw_int(j, e->items.n);
	pc_jw_key(j, "cells");
	pc_jw_int(j, (int64_t)e->reco.m.nnz);
	COUNTERS(j, n, engine_counters);
	pc_jw_key(j, "mqtt");
	pc_jw_obj(j);
	pc_jw_key(j, "up");
	pc_jw_bool(j, e->io.mqtt_up);
	COUNTERS(j, &e->io.mqtt, mqtt_counters);
	pc_jw_end(j, '}');
	pc_jw_key(j, "mongodb");
	pc_jw_obj(j);
	pc_jw_key(j, "enabled");
	pc_jw_bool(j, e->io.mongo_enabled);
	pc_jw_key(j, "up");
	pc_jw_bool(j, e->io.store.up);
	pc_jw_key(j, "pending");
	pc_jw_int(j, (int64_t)e->io.store.pending);
	pc_jw_key(j, "pending_bytes");
	pc_jw_int(j, (int64_t)e->io.store.pending_bytes);
	pc_jw_key(j, "max_pending");
	pc_jw_int(j, (int64_t)e->io.store.max_pending);
	pc_jw_key(j, "owed");
	pc_jw_int(j, (int64_t)e->oq_len);
	COUNTERS(j, &e->io.store, store_counters);
	pc_jw_end(j, '}');
	pc_jw_key(j, "model_bytes");
	pc_jw_int(j, (int64_t)br_reco_bytes(&e->reco));
	pc_jw_key(j, "at");
	pc_jw_int(j, now_ms);
	pc_jw_end(j, '}');
	return done(j);
}

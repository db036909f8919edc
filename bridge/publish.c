/*
 * publish.c - the JSON payloads the bridge pushes and stores (schemas/
 * reco, profile, experiment, campaign-delivery, campaign-record,
 * bridge-stats). Each builder writes one object into a br_json; the same
 * text is published and, with its _id added, stored in MongoDB.
 */
#include <stddef.h>
#include <string.h>

#include "engine.h"
#include "json.h"
#include "precis/error.h"

static int done(struct br_json *j)
{
	size_t len;

	return br_json_done(j, &len) ? PC_OK : PC_ERR_NOMEM;
}

int br_push_reco(struct br_engine *e, uint32_t u, const struct br_scored *s, size_t n,
                 enum br_algo algo, const char *variant, int64_t now_ms, struct br_json *j)
{
	size_t k;

	br_json_obj(j);
	br_json_key(j, "user");
	br_json_str(j, br_ids_name(&e->users, u));
	br_json_key(j, "items");
	br_json_arr(j);
	for (k = 0; k < n; k++) {
		br_json_obj(j);
		br_json_key(j, "item");
		br_json_str(j, br_ids_name(&e->items, s[k].item));
		br_json_key(j, "score");
		br_json_num(j, s[k].score);
		br_json_key(j, "reason");
		br_json_str(j, br_reason_name(s[k].reason));
		br_json_key(j, "support");
		br_json_int(j, s[k].support);
		if (s[k].because != UINT32_MAX) {
			br_json_key(j, "because");
			br_json_str(j, br_ids_name(&e->items, s[k].because));
		}
		br_json_end(j, '}');
	}
	br_json_end(j, ']');
	br_json_key(j, "algo");
	br_json_str(j, br_algo_name(algo));
	if (algo != BR_ALGO_POPULAR) {
		br_json_key(j, "similarity");
		br_json_str(j, br_sim_name(e->reco.p.sim));
	}
	br_json_key(j, "variant");
	if (variant)
		br_json_str(j, variant);
	else
		br_json_null(j);
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
	return done(j);
}

int br_push_profile(struct br_engine *e, uint32_t u, const struct br_portrait *p, int64_t now_ms,
                    struct br_json *j)
{
	static const struct br_user_stats none;
	const struct br_user_stats *s = br_profiles_stats(&e->prof, u);
	size_t k;

	if (!s)
		s = &none;
	br_json_obj(j);
	br_json_key(j, "user");
	br_json_str(j, br_ids_name(&e->users, u));
	br_json_key(j, "tags");
	br_json_arr(j);
	for (k = 0; k < p->ntags; k++)
		br_json_str(j, br_ids_name(&e->prof.cats, p->tag[k]));
	br_json_end(j, ']');
	br_json_key(j, "rfm");
	br_json_obj(j);
	br_json_key(j, "r");
	br_json_int(j, p->rfm[0]);
	br_json_key(j, "f");
	br_json_int(j, p->rfm[1]);
	br_json_key(j, "m");
	br_json_int(j, p->rfm[2]);
	br_json_end(j, '}');
	br_json_key(j, "recency_days");
	if (p->recency_days >= 0)
		br_json_num(j, p->recency_days);
	else
		br_json_null(j);
	br_json_key(j, "purchases");
	br_json_int(j, s->purchases);
	br_json_key(j, "spend");
	br_json_num(j, s->spend);
	br_json_key(j, "events");
	br_json_int(j, s->events);
	br_json_key(j, "items");
	br_json_int(j, u < e->reco.m.nusers ? e->reco.m.rows[u].n : 0);
	br_json_key(j, "segments");
	br_json_arr(j);
	for (k = 0; k < e->prof.nseg; k++)
		if ((p->segments >> k) & 1)
			br_json_str(j, e->prof.seg_id[k]);
	br_json_end(j, ']');
	br_json_key(j, "optout");
	br_json_bool(j, s->optout);
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
	return done(j);
}

int br_push_experiment(struct br_engine *e, const struct br_experiment *x, int64_t now_ms,
                       struct br_json *j)
{
	struct br_variant_report r[BR_MAX_VARIANTS];
	size_t k;

	(void)e;
	br_experiment_report(x, r);
	br_json_obj(j);
	br_json_key(j, "experiment");
	br_json_str(j, x->id);
	br_json_key(j, "control");
	br_json_str(j, x->v[x->control].id);
	br_json_key(j, "window_ms");
	br_json_int(j, x->window_ms);
	br_json_key(j, "variants");
	br_json_arr(j);
	for (k = 0; k < x->nv; k++) {
		br_json_obj(j);
		br_json_key(j, "id");
		br_json_str(j, x->v[k].id);
		br_json_key(j, "treatment");
		br_json_str(j, x->v[k].algo == BR_ALGO_NONE
		                   ? "holdout"
		                   : br_algo_name((enum br_algo)x->v[k].algo));
		br_json_key(j, "percent");
		br_json_num(j, x->v[k].percent);
		br_json_key(j, "exposures");
		br_json_int(j, (int64_t)r[k].exposures);
		br_json_key(j, "conversions");
		br_json_int(j, (int64_t)r[k].conversions);
		br_json_key(j, "rate");
		br_json_num(j, r[k].rate);
		br_json_key(j, "lift");
		if (r[k].has_lift) {
			br_json_num(j, r[k].lift);
			br_json_key(j, "lift_ci95");
			br_json_arr(j);
			br_json_num(j, r[k].lift_lo);
			br_json_num(j, r[k].lift_hi);
			br_json_end(j, ']');
		} else {
			br_json_null(j);
		}
		br_json_end(j, '}');
	}
	br_json_end(j, ']');
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
	return done(j);
}

/* The first members of every campaign payload: {"campaign": id, "rev": n */
static void campaign_head(struct br_json *j, const struct br_campaign *c)
{
	br_json_obj(j);
	br_json_key(j, "campaign");
	br_json_str(j, c->id);
	br_json_key(j, "rev");
	br_json_int(j, (int64_t)c->rev);
}

/* The last members: "content": {...}, "at": ms} */
static int content_tail(struct br_json *j, const char *content, int64_t now_ms)
{
	br_json_key(j, "content");
	br_json_raw(j, content);
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
	return done(j);
}

static void variant_id(struct br_json *j, const struct br_campaign *c, size_t v)
{
	br_json_key(j, "variant");
	if (c->nvariants)
		br_json_str(j, c->variants[v].id);
	else
		br_json_null(j);
}

int br_push_delivery(struct br_engine *e, const struct br_campaign *c, const char *user,
                     size_t variant, int64_t now_ms, struct br_json *j)
{
	(void)e;
	campaign_head(j, c);
	br_json_key(j, "user");
	br_json_str(j, user);
	variant_id(j, c, variant);
	return content_tail(j, br_campaign_content(c, variant), now_ms);
}

int br_push_segment(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                    struct br_json *j)
{
	(void)e;
	campaign_head(j, c);
	br_json_key(j, "segment");
	br_json_str(j, c->segment);
	return content_tail(j, c->content, now_ms);
}

int br_push_campaign_record(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                            struct br_json *j)
{
	size_t k;

	(void)e;
	campaign_head(j, c);
	if (c->segment[0]) {
		br_json_key(j, "segment");
		br_json_str(j, c->segment);
	} else {
		br_json_key(j, "tags");
		br_json_arr(j);
		for (k = 0; k < c->ntags; k++)
			br_json_str(j, c->tags[k]);
		br_json_end(j, ']');
	}
	br_json_key(j, "content");
	br_json_raw(j, c->content);
	br_json_key(j, "start");
	br_json_int(j, c->start_ms);
	br_json_key(j, "end");
	br_json_int(j, c->end_ms);
	br_json_key(j, "frequency_cap");
	br_json_int(j, c->cap);
	br_json_key(j, "sent");
	br_json_int(j, (int64_t)c->sent);
	br_json_key(j, "holdout");
	br_json_int(j, (int64_t)c->holdout);
	br_json_key(j, "skipped_optout");
	br_json_int(j, (int64_t)c->skip_optout);
	br_json_key(j, "skipped_cap");
	br_json_int(j, (int64_t)c->skip_cap);
	br_json_key(j, "deferred_quiet");
	br_json_int(j, (int64_t)c->deferred_quiet);
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
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

static void counters(struct br_json *j, const void *base, const struct counter *c, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		br_json_key(j, c[k].name);
		br_json_int(j, (int64_t) * (const uint64_t *)((const char *)base + c[k].off));
	}
}

#define COUNTERS(j, base, table) counters(j, base, table, sizeof table / sizeof table[0])

int br_push_stats(struct br_engine *e, int64_t now_ms, struct br_json *j)
{
	const struct br_counters *n = &e->n;
	int k;

	br_json_obj(j);
	br_json_key(j, "events");
	br_json_obj(j);
	COUNTERS(j, n, event_counters);
	for (k = 1; k < BR_BAD_NREASONS; k++) {
		br_json_key(j, br_evt_bad_name((enum br_evt_bad)k));
		br_json_int(j, (int64_t)n->bad[k]);
	}
	for (k = 0; k < BR_EVT_NTYPES; k++) {
		br_json_key(j, br_evt_type_name((enum br_evt_type)k));
		br_json_int(j, (int64_t)n->by_type[k]);
	}
	br_json_end(j, '}');
	br_json_key(j, "users");
	br_json_int(j, e->users.n);
	br_json_key(j, "items");
	br_json_int(j, e->items.n);
	br_json_key(j, "cells");
	br_json_int(j, (int64_t)e->reco.m.nnz);
	COUNTERS(j, n, engine_counters);
	br_json_key(j, "mqtt");
	br_json_obj(j);
	br_json_key(j, "up");
	br_json_bool(j, e->io.mqtt_up);
	COUNTERS(j, &e->io.mqtt, mqtt_counters);
	br_json_end(j, '}');
	br_json_key(j, "mongodb");
	br_json_obj(j);
	br_json_key(j, "enabled");
	br_json_bool(j, e->io.mongo_enabled);
	br_json_key(j, "up");
	br_json_bool(j, e->io.store.up);
	br_json_key(j, "pending");
	br_json_int(j, (int64_t)e->io.store.pending);
	br_json_key(j, "pending_bytes");
	br_json_int(j, (int64_t)e->io.store.pending_bytes);
	br_json_key(j, "max_pending");
	br_json_int(j, (int64_t)e->io.store.max_pending);
	br_json_key(j, "owed");
	br_json_int(j, (int64_t)e->oq_len);
	COUNTERS(j, &e->io.store, store_counters);
	br_json_end(j, '}');
	br_json_key(j, "model_bytes");
	br_json_int(j, (int64_t)br_reco_bytes(&e->reco));
	br_json_key(j, "at");
	br_json_int(j, now_ms);
	br_json_end(j, '}');
	return done(j);
}

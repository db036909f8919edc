/*
 * engine.c - events into the model, refreshes out as pushes (engine.h).
 *
 * Everything runs on the caller's thread. Users are refreshed from a FIFO
 * of dirty users whose due times are monotonic (each due is its first
 * event + debounce, or now for a full refresh), so the tick pops from the
 * front until the first user not yet due. Users whose recommendation or
 * portrait the store refused (its queue full) wait in a second FIFO, each
 * once, and get their documents rebuilt from the model, without a push,
 * as the store reports room: the store's queue stays bounded and the
 * latest state of every user still reaches MongoDB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#include "engine.h"
#include "precis/json.h"
#include "precis/error.h"
#include "precis/event_id.h"

static int setup_experiments(struct br_engine *e, const struct br_config *c, char *err,
                             size_t errlen)
{
	size_t k, nv;
	struct br_variant v[BR_MAX_VARIANTS];

	e->reco_exp = -1;
	for (k = 0; k < c->nexperiments; k++) {
		int rc = br_variants_parse(c->experiments[k].spec, v, &nv, err, errlen);
		if (rc == PC_OK)
			rc = br_experiment_init(&e->exps[e->nexps], c->experiments[k].id, v, nv,
			                        c->conversion_window_ms);
		if (rc != PC_OK)
			return rc;
		if (strcmp(c->experiments[k].id, c->reco_experiment) == 0)
			e->reco_exp = (int)e->nexps;
		e->nexps++;
	}
	return PC_OK;
}

static void params_of(const struct br_config *c, struct br_knn_params *p)
{
	p->sim = (enum br_sim)c->similarity;
	p->k = (uint32_t)c->k;
	p->min_support = (uint32_t)c->min_support;
	p->shrinkage = c->shrinkage;
}

int br_engine_init(struct br_engine *e, const struct br_config *cfg, const struct br_out *out,
                   const struct pc_logger *log, int64_t now_ms, char *err, size_t errlen)
{
	struct br_knn_params p;
	int rc;

	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->out = *out;
	e->log = log;
	e->reco_exp = -1;
	br_seen_init(&e->seen, (size_t)cfg->dedup_window);
	params_of(cfg, &p);
	if (br_ids_init(&e->users) || br_ids_init(&e->items) || br_profiles_init(&e->prof))
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
	if ((rc = br_reco_init(&e->reco, &p)) != PC_OK)
		return pc_errf(err, errlen, rc, "bad model parameters");
	if ((rc = br_profiles_set_segments(&e->prof, cfg, err, errlen)) != PC_OK)
		return rc;
	if ((rc = setup_experiments(e, cfg, err, errlen)) != PC_OK)
		return rc;
	e->exp_published = calloc(BR_MAX_EXPERIMENTS + BR_MAX_CAMPAIGNS, sizeof *e->exp_published);
	if (!e->exp_published)
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
	/* push/bridge/<client>/stats: under push/ (the bridge's write ACL), outside the contract.
	 */
	snprintf(e->stats_topic, sizeof e->stats_topic, "%s%spush/bridge/%s/stats", cfg->topic_root,
	         *cfg->topic_root ? "/" : "",
	         *cfg->client_id ? cfg->client_id
	                         : (*cfg->mqtt_username ? cfg->mqtt_username : "precis-bridge"));
	e->next_full_ms = now_ms + cfg->refresh_interval_ms;
	e->next_stats_ms = now_ms + cfg->stats_interval_ms;
	e->next_campaign_ms = now_ms + cfg->campaign_interval_ms;
	e->next_exp_ms = now_ms;
	return PC_OK;
}

void br_engine_cleanup(struct br_engine *e)
{
	size_t k;

	for (k = 0; k < e->nexps; k++)
		br_experiment_cleanup(&e->exps[k]);
	for (k = 0; k < e->ncamps; k++) {
		br_campaign_cleanup(e->camps[k]);
		free(e->camps[k]);
	}
	br_reco_cleanup(&e->reco);
	br_profiles_cleanup(&e->prof);
	br_seen_cleanup(&e->seen);
	br_ids_cleanup(&e->users);
	br_ids_cleanup(&e->items);
	free(e->due);
	free(e->dq);
	free(e->oq);
	free(e->cache);
	free(e->exp_published);
	memset(e, 0, sizeof *e);
}

int br_engine_reload(struct br_engine *e, const struct br_config *cfg, char *err, size_t errlen)
{
	struct br_profiles tmp;
	size_t k, keep = 0, i;
	int rc;

	/* Check the new segments first, so a failure changes nothing. */
	if (br_profiles_init(&tmp))
		return PC_ERR_NOMEM;
	rc = br_profiles_set_segments(&tmp, cfg, err, errlen);
	br_profiles_cleanup(&tmp);
	if (rc != PC_OK)
		return rc;
	if ((rc = br_profiles_set_segments(&e->prof, cfg, err, errlen)) != PC_OK)
		return rc;
	/* Configured experiments restart (campaign experiments stay). */
	for (k = 0; k < e->nexps; k++) {
		bool configured = false;
		for (i = 0; i < e->cfg->nexperiments; i++)
			configured |= strcmp(e->exps[k].id, e->cfg->experiments[i].id) == 0;
		if (configured) {
			br_experiment_cleanup(&e->exps[k]);
		} else {
			if (keep != k) {
				e->exps[keep] = e->exps[k];
				e->exp_published[keep] = e->exp_published[k];
			}
			keep++;
		}
	}
	e->nexps = keep;
	if ((rc = setup_experiments(e, cfg, err, errlen)) != PC_OK)
		return rc;
	params_of(cfg, &e->reco.p);
	for (k = 0; k < e->reco.ncap; k++)
		e->reco.nbrs[k].stale = true;
	e->cfg = cfg;
	return PC_OK;
}

/* ---- dirty users ---- */

static int grow_users(struct br_engine *e, uint32_t u)
{
	uint32_t cap = e->cache_cap ? e->cache_cap : 256;
	int64_t *nd;
	struct br_user_cache *nc;

	if (u < e->cache_cap)
		return PC_OK;
	while (cap <= u)
		cap *= 2;
	nd = realloc(e->due, (size_t)cap * sizeof *nd);
	if (!nd)
		return PC_ERR_NOMEM;
	e->due = nd;
	nc = realloc(e->cache, (size_t)cap * sizeof *nc);
	if (!nc)
		return PC_ERR_NOMEM;
	e->cache = nc;
	memset(e->due + e->cache_cap, 0, (size_t)(cap - e->cache_cap) * sizeof *e->due);
	memset(e->cache + e->cache_cap, 0, (size_t)(cap - e->cache_cap) * sizeof *e->cache);
	e->cache_cap = cap;
	return PC_OK;
}

/*
 * ring_push - append u to the FIFO ring (*v, *head, *len, *cap), doubling
 * it (from 256) when full. Returns 0, or -1 when memory ran out (the ring
 * is unchanged).
 */
static int ring_push(uint32_t **v, size_t *head, size_t *len, size_t *cap, uint32_t u)
{
	if (*len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256, k;
		uint32_t *nv = malloc(ncap * sizeof *nv);

		if (!nv)
			return -1;
		for (k = 0; k < *len; k++)
			nv[k] = (*v)[(*head + k) % *cap];
		free(*v);
		*v = nv;
		*head = 0;
		*cap = ncap;
	}
	(*v)[(*head + (*len)++) % *cap] = u;
	return 0;
}

static void mark_dirty(struct br_engine *e, uint32_t u, int64_t due)
{
	if (grow_users(e, u) || e->due[u])
		return;
	if (ring_push(&e->dq, &e->dq_head, &e->dq_len, &e->dq_cap, u) != 0) {
		e->n.nomem++;
		return;
	}
	e->due[u] = due > 0 ? due : 1;
}

void br_engine_refresh_all(struct br_engine *e, int64_t now_ms)
{
	uint32_t u;

	for (u = 0; u < e->users.n; u++)
		mark_dirty(e, u, now_ms);
}

/* ---- events ---- */

static float weight_of(const struct br_engine *e, const struct br_event *ev, bool *set)
{
	*set = ev->type == BR_EVT_RATE;
	if (ev->type == BR_EVT_RATE)
		return (float)ev->value;
	return (float)e->cfg->weight[ev->type];
}

enum br_evt_bad br_engine_event(struct br_engine *e, const char *device, const void *payload,
                                size_t len, int64_t now_ms, bool history)
{
	struct br_event ev;
	char err[256];
	enum br_evt_bad bad;
	uint32_t u, i;
	bool set;
	float w;
	size_t k;

	e->n.events_received++;
	bad = br_event_parse(payload, len, &ev, err, sizeof err);
	if (bad != BR_BAD_NONE) {
		e->n.bad[bad]++;
		pc_log(e->log, PC_LOG_WARNING, "event from %s refused (%s): %s", device,
		       br_evt_bad_name(bad), err);
		return bad;
	}
	if (!ev.has_ts)
		ev.ts_ms = now_ms;
	/* An event seen before (its id, from the same device) changes nothing again. */
	if (ev.id[0]) {
		switch (br_seen_add(&e->seen,
		                    pc_event_key(device, strlen(device), ev.id, strlen(ev.id)))) {
		case 1:
			e->n.duplicates++;
			return BR_BAD_NONE;
		case -1:
			e->n.nomem++; /* counted once more rather than lost */
			break;
		default:
			break;
		}
	}
	if ((br_ids_find(&e->users, ev.user, strlen(ev.user), &u) != PC_OK &&
	     e->users.n >= (uint64_t)e->cfg->max_users) ||
	    (br_ids_find(&e->items, ev.item, strlen(ev.item), &i) != PC_OK &&
	     e->items.n >= (uint64_t)e->cfg->max_items)) {
		e->n.refused_capacity++;
		pc_log(e->log, PC_LOG_WARNING,
		       "event from %s refused: max_users or max_items reached", device);
		return BR_BAD_RANGE;
	}
	w = weight_of(e, &ev, &set);
	if (br_ids_intern(&e->users, ev.user, strlen(ev.user), &u, NULL) ||
	    br_ids_intern(&e->items, ev.item, strlen(ev.item), &i, NULL) || grow_users(e, u) ||
	    br_reco_update(&e->reco, u, i, w, set, (float)e->cfg->max_value) ||
	    br_profiles_event(&e->prof, u, i, &ev)) {
		e->n.nomem++;
		return BR_BAD_NONE;
	}
	e->n.events_accepted++;
	e->n.by_type[ev.type]++;
	if (history) {
		e->n.events_history++;
		return BR_BAD_NONE;
	}
	if (ev.type == BR_EVT_PURCHASE)
		for (k = 0; k < e->nexps; k++)
			if (br_experiment_purchase(&e->exps[k], ev.user, i, ev.ts_ms))
				e->n.conversions++;
	mark_dirty(e, u, now_ms + e->cfg->debounce_ms);
	return BR_BAD_NONE;
}

int br_engine_optout(struct br_engine *e, const void *payload, size_t len, int64_t now_ms)
{
	bson_t b;
	bson_error_t berr;
	bson_iter_t it;
	const char *user = NULL;
	uint32_t ulen = 0, u;
	bool optout = true, ok;

	if (len == 0 || ((const char *)payload)[0] != '{' ||
	    !bson_init_from_json(&b, payload, (ssize_t)len, &berr)) {
		e->n.optouts_bad++;
		pc_log(e->log, PC_LOG_WARNING, "opt-out refused: not a JSON object");
		return PC_ERR_INVAL;
	}
	if (bson_iter_init_find(&it, &b, "user") && BSON_ITER_HOLDS_UTF8(&it))
		user = bson_iter_utf8(&it, &ulen);
	ok = user && pc_id_check(user, ulen, NULL, 0) == PC_OK;
	if (ok && bson_iter_init_find(&it, &b, "optout")) {
		ok = BSON_ITER_HOLDS_BOOL(&it);
		optout = ok && bson_iter_bool(&it);
	}
	if (!ok || br_ids_intern(&e->users, user, ulen, &u, NULL) || grow_users(e, u) ||
	    br_profiles_set_optout(&e->prof, u, optout)) {
		bson_destroy(&b);
		e->n.optouts_bad++;
		pc_log(e->log, PC_LOG_WARNING,
		       "opt-out refused: needs {\"user\": id, \"optout\": bool}");
		return PC_ERR_INVAL;
	}
	bson_destroy(&b);
	e->n.optouts++;
	pc_log(e->log, PC_LOG_INFO, "user %s opted %s", br_ids_name(&e->users, u),
	       optout ? "out" : "in");
	mark_dirty(e, u, now_ms);
	return PC_OK;
}

/* ---- refresh ---- */

int br_engine_emit(struct br_engine *e, const char *topic, struct pc_jw *j, bool retain,
                   const char *coll, const char *id)
{
	size_t len;
	const char *text = pc_jw_done(j, &len);

	if (!text) {
		e->n.nomem++;
		return PC_ERR_NOMEM;
	}
	if (topic && e->out.publish(e->out.arg, topic, text, len, 1, retain) != 0)
		e->n.publish_failed++;
	if (coll && e->out.store)
		return e->out.store(e->out.arg, coll, id, text, len);
	return PC_OK;
}

/* The store refused a document of u (full, or out of memory): rebuild it later. */
static void owe(struct br_engine *e, uint32_t u)
{
	e->n.store_refused++;
	if (e->cache[u].owed)
		return;
	if (ring_push(&e->oq, &e->oq_head, &e->oq_len, &e->oq_cap, u) != 0) {
		e->n.nomem++;
		return;
	}
	e->cache[u].owed = true;
}

static bool refused(int rc)
{
	return rc == PC_ERR_FULL || rc == PC_ERR_NOMEM;
}

/*
 * Recompute u's recommendation and portrait; push them (push: a refresh)
 * or only store them (a rebuild for the store: no exposure, no campaign).
 */
static void refresh_user(struct br_engine *e, uint32_t u, int64_t now_ms, bool push)
{
	const char *user = br_ids_name(&e->users, u);
	struct br_scored top[1000];
	struct br_portrait por;
	struct pc_jw j;
	char topic[PC_TOPIC_MAX + 1];
	enum br_algo algo = (enum br_algo)e->cfg->algo;
	const char *variant = NULL;
	struct br_experiment *x = e->reco_exp >= 0 ? &e->exps[e->reco_exp] : NULL;
	bool holdout = false;
	size_t n = 0, k;
	uint32_t items[1000];

	if (x) {
		const struct br_variant *v = &x->v[br_experiment_variant(x, user)];
		variant = v->id;
		holdout = v->algo == BR_ALGO_NONE;
		if (!holdout)
			algo = (enum br_algo)v->algo;
	}
	if (br_topn(&e->reco, algo, u, (size_t)e->cfg->top_n, top, &n) != PC_OK) {
		e->n.nomem++;
		return;
	}
	if (x && push) {
		for (k = 0; k < n; k++)
			items[k] = top[k].item;
		if (br_experiment_expose(x, user, items, n, now_ms) < 0)
			e->n.nomem++;
	}
	if (holdout) {
		e->n.reco_holdouts++;
	} else {
		pc_jw_init(&j);
		if (br_push_reco(e, u, top, n, algo, variant, now_ms, &j) == PC_OK &&
		    pc_topic_build(topic, sizeof topic, e->cfg->topic_root, PC_T_PUSH_RECO, user,
		                   NULL) > 0) {
			if (refused(br_engine_emit(e, push ? topic : NULL, &j, true,
			                           "recommendations", user)))
				owe(e, u);
			e->n.recos += push;
		}
		pc_jw_cleanup(&j);
	}
	if (br_portrait_compute(&e->prof, &e->reco.m, u, now_ms, (uint32_t)e->cfg->tags_top,
	                        &por)) {
		e->n.nomem++;
		return;
	}
	e->cache[u].known = true;
	e->cache[u].segments = por.segments;
	e->cache[u].ntags = por.ntags;
	memcpy(e->cache[u].tag, por.tag, e->cache[u].ntags * sizeof por.tag[0]);
	pc_jw_init(&j);
	if (br_push_profile(e, u, &por, now_ms, &j) == PC_OK &&
	    pc_topic_build(topic, sizeof topic, e->cfg->topic_root, PC_T_PUSH_PROFILE, user, NULL) >
	        0) {
		if (refused(br_engine_emit(e, push ? topic : NULL, &j, true, "profiles", user)))
			owe(e, u);
		e->n.profiles += push;
	}
	pc_jw_cleanup(&j);
	if (push)
		br_engine_campaign_user(e, u, now_ms);
}

/*
 * Rebuild the documents of owed users while the store has room (two
 * documents each), at most *budget; a user with a refresh pending is left
 * to it.
 */
static void rebuild_owed(struct br_engine *e, int64_t now_ms, size_t *budget)
{
	size_t room = e->io.mongo_enabled ? e->io.store.room / 2 : 0;

	while (e->oq_len && room && *budget) {
		uint32_t u = e->oq[e->oq_head];
		e->oq_head = (e->oq_head + 1) % e->oq_cap;
		e->oq_len--;
		e->cache[u].owed = false;
		if (e->due[u])
			continue;
		refresh_user(e, u, now_ms, false);
		e->n.store_rebuilt++;
		room--;
		(*budget)--;
	}
}

static void publish_experiments(struct br_engine *e, int64_t now_ms)
{
	char topic[PC_TOPIC_MAX + 1];
	size_t k;

	for (k = 0; k < e->nexps; k++) {
		struct br_experiment *x = &e->exps[k];
		struct pc_jw j;
		if (e->exp_published[k] == x->version + 1)
			continue;
		pc_jw_init(&j);
		snprintf(topic, sizeof topic, "%s%spush/experiment/%s", e->cfg->topic_root,
		         *e->cfg->topic_root ? "/" : "", x->id);
		/* refused by a full store: published and stored again at the next pass */
		if (br_push_experiment(e, x, now_ms, &j) == PC_OK &&
		    !refused(br_engine_emit(e, topic, &j, true, "experiments", x->id)))
			e->exp_published[k] = x->version + 1;
		pc_jw_cleanup(&j);
	}
}

void br_engine_publish_stats(struct br_engine *e, int64_t now_ms)
{
	struct pc_jw j;

	pc_jw_init(&j);
	if (br_push_stats(e, now_ms, &j) == PC_OK)
		br_engine_emit(e, e->stats_topic, &j, true, NULL, NULL);
	pc_jw_cleanup(&j);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t br_engine_tick(struct br_engine *e, int64_t now_ms, size_t budget)
{
	int64_t next;

	if (now_ms >= e->next_full_ms) {
		br_engine_refresh_all(e, now_ms);
		e->next_full_ms = now_ms + e->cfg->refresh_interval_ms;
	}
	while (e->dq_len && budget) {
		uint32_t u = e->dq[e->dq_head];
		if (e->due[u] > now_ms)
			break;
		e->dq_head = (e->dq_head + 1) % e->dq_cap;
		e->dq_len--;
		e->due[u] = 0;
		refresh_user(e, u, now_ms, true);
		budget--;
	}
	rebuild_owed(e, now_ms, &budget);
	next = br_engine_campaign_tick(e, now_ms);
	if (now_ms >= e->next_exp_ms) {
		publish_experiments(e, now_ms);
		e->next_exp_ms = now_ms + 1000;
	}
	if (now_ms >= e->next_stats_ms) {
		br_engine_publish_stats(e, now_ms);
		e->next_stats_ms = now_ms + e->cfg->stats_interval_ms;
	}
	next = min64(next, min64(e->next_full_ms, min64(e->next_stats_ms, e->next_exp_ms)));
	if (e->dq_len)
		next = min64(next, budget ? e->due[e->dq[e->dq_head]] : now_ms);
	if (e->oq_len) /* waiting for room: look again soon */
		next = min64(next, budget ? now_ms + 100 : now_ms);
	return next;
}

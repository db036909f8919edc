/*
 * cache.c - the principal table on the broker thread.
 *
 * Every principal of the registry lives here (preloaded by the worker
 * after each connect), keyed by id, with a positive TTL (cache_ttl, with
 * +-cache_jitter percent so entries loaded together do not expire
 * together) after which it is re-read; ids known to be absent are kept
 * as negative entries for negative_ttl. The worker sends updates in
 * batches (preload, change-log polls, answers to refresh requests);
 * applying one that disables a principal, changes its password or role,
 * or removes it kicks its connected clients (by username); acl_check.c
 * queues single clients it refuses (certificate logins, by client id). All
 * kicks wait for the end of the TICK. A sweep over a slice of the
 * table every AUTH_SWEEP_MS asks the worker to re-read positive entries in the last
 * fifth of their TTL and drops expired negative ones. Nothing here waits
 * on I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

#define UPDATE_QUEUE_CAP  128    /* batches of up to AUTH_BATCH_MAX */
#define REQUEST_QUEUE_CAP 65536  /* refresh requests */
#define APPLY_BUDGET      32     /* batches applied per TICK (16k updates) */
#define NEGATIVE_MAX      100000 /* negative entries kept at most */
#define REQUEST_RETRY_MS  30000  /* re-request a refresh that got no answer */

int auth__cache_init(struct auth__data *d)
{
	d->cache = pc_hmap_new(1024);
	d->updates = pc_queue_new(UPDATE_QUEUE_CAP);
	d->requests = pc_queue_new(REQUEST_QUEUE_CAP);
	if (!d->cache || !d->updates || !d->requests)
		return MOSQ_ERR_NOMEM;
	d->rnd = (uint64_t)pc_mono_ms() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)d;
	d->cache_gen = 1; /* memo slots start at gen 0: empty */
	return MOSQ_ERR_SUCCESS;
}

void auth__cache_cleanup(struct auth__data *d)
{
	size_t cur = 0;
	void *v;

	for (size_t i = 0; i < d->nkicks; i++)
		free(d->kicks[i].name);
	free(d->kicks);
	d->kicks = NULL;
	d->nkicks = d->kicks_cap = 0;
	d->cache_gen++;
	if (d->cache) {
		while (pc_hmap_next(d->cache, &cur, NULL, NULL, &v))
			free(v);
		pc_hmap_free(d->cache);
		d->cache = NULL;
	}
	if (d->updates) {
		while ((v = pc_queue_pop(d->updates)) != NULL)
			free(v);
		pc_queue_free(d->updates);
		d->updates = NULL;
	}
	if (d->requests) {
		while ((v = pc_queue_pop(d->requests)) != NULL)
			free(v);
		pc_queue_free(d->requests);
		d->requests = NULL;
	}
}

struct auth__principal *auth__cache_get(struct auth__data *d, const char *id)
{
	return pc_hmap_get(d->cache, id, strlen(id));
}

/* ttl with +-jitter percent, from the plugin's xorshift state. */
static int64_t jittered(struct auth__data *d, int64_t ttl)
{
	int64_t span = ttl * d->conf.cache_jitter_pct / 100;
	uint64_t x = d->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->rnd = x;
	if (span <= 0)
		return ttl;
	return ttl - span + (int64_t)(x % (uint64_t)(2 * span + 1));
}

/*
 * Disconnect id's clients at the end of this TICK (auth__cache_kicks).
 * Never kicked on the spot: from inside BASIC_AUTH (a connect, or the
 * re-authentication of every client on SIGHUP) Mosquitto is iterating its
 * clients or still handling the one being checked.
 */
static bool queue_kick(struct auth__data *d, const char *name, bool client_id)
{
	struct auth__kick *grown;
	char *copy;

	if (d->nkicks == d->kicks_cap) {
		size_t cap = d->kicks_cap ? d->kicks_cap * 2 : 16;

		grown = realloc(d->kicks, cap * sizeof *grown);
		if (!grown)
			return false;
		d->kicks = grown;
		d->kicks_cap = cap;
	}
	copy = strdup(name);
	if (!copy)
		return false;
	d->kicks[d->nkicks++] = (struct auth__kick){copy, client_id};
	return true;
}

static void kick(struct auth__data *d, const char *id, const char *why)
{
	pc_log(&d->base.log, PC_LOG_NOTICE, "principal '%s' %s: disconnecting its clients", id,
	       why);
	queue_kick(d, id, false); /* on failure: logged above; the TTL refresh will try again */
}

bool auth__cache_kick_client(struct auth__data *d, const char *client_id)
{
	for (size_t i = 0; i < d->nkicks; i++)
		if (d->kicks[i].client_id && strcmp(d->kicks[i].name, client_id) == 0)
			return false;
	return queue_kick(d, client_id, true);
}

void auth__cache_kicks(struct auth__data *d)
{
	for (size_t i = 0; i < d->nkicks; i++) {
		if (d->kicks[i].client_id)
			mosquitto_kick_client_by_clientid(d->kicks[i].name, false);
		else
			mosquitto_kick_client_by_username(d->kicks[i].name, false);
		pb_count(&d->n.kicks, 1);
		free(d->kicks[i].name);
	}
	d->nkicks = 0;
}

/* Why a connected client of old must go when new replaces it, or NULL. */
static const char *change_of(const struct auth__principal *old, const struct auth__principal *new)
{
	if (old->negative)
		return NULL;
	if (new->negative)
		return "was removed from the registry";
	if (!new->enabled && old->enabled)
		return "was disabled";
	if (new->role != old->role)
		return "changed role";
	if (new->hash.kind != old->hash.kind || new->hash.iterations != old->hash.iterations ||
	    new->hash.salt_len != old->hash.salt_len ||
	    memcmp(new->hash.salt, old->hash.salt, old->hash.salt_len) != 0 ||
	    memcmp(new->hash.hash, old->hash.hash, sizeof old->hash.hash) != 0)
		return "changed password";
	return NULL;
}

/*
 * Store what the registry says of id (rec NULL: absent). Returns the
 * entry, or NULL when it could not be stored.
 */
static struct auth__principal *store(struct auth__data *d, const char *id,
                                     const struct pc_principal_rec *rec,
                                     const struct pc_pwhash *hash, uint32_t gen)
{
	size_t len = strlen(id);
	struct auth__principal *e = pc_hmap_get(d->cache, id, len), next;
	const char *why;
	int64_t now = pc_mono_ms();

	memset(&next, 0, sizeof next);
	next.gen = gen;
	next.stored_ms = now;
	if (rec) {
		next.enabled = rec->enabled;
		next.role = rec->role;
		next.hash = *hash;
		next.expires_ms = now + jittered(d, d->conf.cache_ttl_ms);
	} else {
		next.negative = true;
		next.expires_ms = now + d->conf.negative_ttl_ms;
	}
	if (!e) {
		if (next.negative && d->negatives >= NEGATIVE_MAX)
			return NULL;
		e = malloc(sizeof *e);
		if (!e)
			return NULL;
		if (pc_hmap_put(d->cache, id, len, e, NULL) != PC_OK) {
			free(e);
			return NULL;
		}
		*e = next;
		d->negatives += e->negative;
		return e;
	}
	why = change_of(e, &next);
	if (!why && !e->negative && !next.negative && e->has_verified) {
		/* Same credentials: keep the verified MAC so reconnects stay cheap. */
		next.has_verified = true;
		memcpy(next.verified, e->verified, sizeof next.verified);
	}
	if (!why && !e->negative && !next.negative) {
		memcpy(next.seen_from, e->seen_from, sizeof next.seen_from);
		next.seen_next = e->seen_next;
	}
	d->negatives = d->negatives - e->negative + next.negative;
	*e = next;
	if (why)
		kick(d, id, why);
	return e;
}

/* Remove id from the table (kicking its clients if it was a principal). */
static void drop(struct auth__data *d, const char *id, const char *why)
{
	char copy[PC_ID_MAX + 1];
	size_t len = strlen(id);
	struct auth__principal *e;

	if (len > PC_ID_MAX)
		return;
	memcpy(copy, id, len + 1); /* id may be the table's own key, freed by the delete */
	e = pc_hmap_del(d->cache, copy, len);
	if (!e)
		return;
	if (e->negative)
		d->negatives--;
	else if (why)
		kick(d, copy, why);
	free(e);
	d->cache_gen++; /* the ACL memo may hold e */
}

struct auth__principal *auth__cache_put(struct auth__data *d, const char *id,
                                        const struct pc_principal_rec *rec,
                                        const struct pc_pwhash *hash)
{
	return store(d, id, rec, hash, d->load_gen);
}

bool auth__cache_request(struct auth__data *d, const char *id)
{
	struct auth__request *r = malloc(sizeof *r);
	size_t len = strlen(id);

	if (!r || len > PC_ID_MAX) {
		free(r);
		return false;
	}
	memcpy(r->id, id, len + 1);
	if (pc_queue_push(d->requests, r) != PC_OK) {
		free(r);
		return false;
	}
	pb_backend_wake(&d->mongo_backend);
	return true;
}

/*
 * After a complete preload of gen that started at since_ms: principals it
 * did not see, and that nothing else confirmed since it started (the
 * fallback lookup, the change log), were removed meanwhile.
 */
static void finish_load(struct auth__data *d, uint32_t gen, int64_t since_ms)
{
	size_t cur = 0, len, dropped = 0;
	const char *key;
	void *v;

	while (pc_hmap_next(d->cache, &cur, &key, &len, &v)) {
		struct auth__principal *e = v;

		if (!e->negative && e->gen != gen && e->stored_ms < since_ms) {
			drop(d, key, "was removed from the registry");
			cur--;
			dropped++;
		}
	}
	if (!d->loaded || dropped)
		pc_log(&d->base.log, PC_LOG_NOTICE, "registry loaded: %zu principals%s",
		       pc_hmap_count(d->cache) - d->negatives,
		       dropped ? " (some removed while disconnected)" : "");
	d->loaded = true;
	pb_count(&d->n.preloads, 1);
}

static void apply(struct auth__data *d, const struct auth__update *u)
{
	if (u->gen > d->load_gen)
		d->load_gen = u->gen;
	switch (u->kind) {
	case AUTH_UPD_PRINCIPAL:
		if (!store(d, u->rec.id, &u->rec, &u->hash, u->gen))
			pc_log(&d->base.log, PC_LOG_ERR,
			       "cannot cache principal '%s' (out of memory)", u->rec.id);
		break;
	case AUTH_UPD_ABSENT:
		if (!store(d, u->rec.id, NULL, NULL, u->gen))
			drop(d, u->rec.id, "was removed from the registry");
		break;
	case AUTH_UPD_INVALID:
		drop(d, u->rec.id, "has an invalid registry record");
		break;
	case AUTH_UPD_LOADED:
		finish_load(d, u->gen, u->since_ms);
		break;
	}
}

void auth__cache_sweep(struct auth__data *d, int64_t now)
{
	size_t slots = pc_hmap_slots(d->cache), budget = slots / 50 + 256, seen = 0, len;
	int64_t ahead = d->conf.cache_ttl_ms / 5;
	const char *key;
	void *v;

	if (d->sweep_cursor >= slots)
		d->sweep_cursor = 0;
	while (seen++ < budget && pc_hmap_next(d->cache, &d->sweep_cursor, &key, &len, &v)) {
		struct auth__principal *e = v;

		if (e->negative) {
			if (now >= e->expires_ms) {
				drop(d, key, NULL);
				d->sweep_cursor--;
			}
			continue;
		}
		if (now < e->expires_ms - ahead)
			continue;
		if (e->refreshing && now - e->requested_ms < REQUEST_RETRY_MS)
			continue;
		if (auth__cache_request(d, key)) {
			e->refreshing = true;
			e->requested_ms = now;
		}
	}
}

void auth__cache_tick(struct auth__data *d)
{
	struct auth__batch *b;
	int budget = APPLY_BUDGET;

	while (budget-- > 0 && pc_queue_depth(d->updates) > 0 &&
	       (b = pc_queue_pop(d->updates)) != NULL) {
		for (size_t i = 0; i < b->n; i++)
			apply(d, &b->u[i]);
		free(b);
	}
	atomic_store_explicit(&d->n.principals, pc_hmap_count(d->cache) - d->negatives,
	                      memory_order_relaxed);
}

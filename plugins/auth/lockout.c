/*
 * lockout.c - brute-force protection: failures per username, client id
 * and source address within a window; too many lock that key out.
 *
 * Each key ("u:<username>", "c:<client id>", "a:<address>") has a
 * tracker: failures counted in a fixed window that starts at the first
 * failure, and a lockout deadline. Reaching the threshold within the
 * window locks the key for time_ms; the count then starts again. A good
 * login clears the username's and the client id's count (not the
 * address's: one good device behind a NAT must not hide an attacker
 * beside it). The table is bounded (max_keys): when full, expired
 * trackers are dropped first and, failing that, new keys go untracked.
 * Pure: time comes from the caller. Broker thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

struct tracker {
	int64_t window_start;
	int64_t locked_until;
	int64_t failures;
};

struct auth__lockout {
	struct auth__lockout_config cfg;
	struct pc_hmap *keys;
	size_t cursor;
};

struct auth__lockout *auth__lockout_new(const struct auth__lockout_config *cfg)
{
	struct auth__lockout *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->cfg = *cfg;
	l->keys = pc_hmap_new(64);
	if (!l->keys) {
		free(l);
		return NULL;
	}
	return l;
}

void auth__lockout_free(struct auth__lockout *l)
{
	size_t cur = 0;
	void *t;

	if (!l)
		return;
	while (pc_hmap_next(l->keys, &cur, NULL, NULL, &t))
		free(t);
	pc_hmap_free(l->keys);
	free(l);
}

/* "<tag>:<value>" into buf; false when value is NULL or too long to track. */
static bool key_of(char tag, const char *value, char *buf, size_t buflen, size_t *len)
{
	int n;

	if (!value)
		return false;
	n = snprintf(buf, buflen, "%c:%s", tag, value);
	if (n < 0 || (size_t)n >= buflen)
		return false;
	*len = (size_t)n;
	return true;
}

static int64_t threshold(const struct auth__lockout *l, char tag)
{
	return tag == 'a' ? l->cfg.address_attempts : l->cfg.attempts;
}

static bool expired(const struct auth__lockout *l, const struct tracker *t, int64_t now)
{
	return now >= t->locked_until && now - t->window_start >= l->cfg.window_ms;
}

static bool locked(struct auth__lockout *l, char tag, const char *value, int64_t now)
{
	char key[300];
	size_t len;
	const struct tracker *t;

	if (threshold(l, tag) <= 0 || !key_of(tag, value, key, sizeof key, &len))
		return false;
	t = pc_hmap_get(l->keys, key, len);
	return t && now < t->locked_until;
}

unsigned auth__lockout_check(struct auth__lockout *l, const char *username, const char *client_id,
                             const char *address, int64_t now_ms)
{
	unsigned mask = 0;

	if (locked(l, 'u', username, now_ms))
		mask |= AUTH_LOCK_USER;
	if (locked(l, 'c', client_id, now_ms))
		mask |= AUTH_LOCK_CLIENT;
	if (locked(l, 'a', address, now_ms))
		mask |= AUTH_LOCK_ADDRESS;
	return mask;
}

/* One failure for one key; true when it just became locked. */
static bool fail_one(struct auth__lockout *l, char tag, const char *value, int64_t now)
{
	char key[300];
	size_t len;
	struct tracker *t;

	if (threshold(l, tag) <= 0 || !key_of(tag, value, key, sizeof key, &len))
		return false;
	t = pc_hmap_get(l->keys, key, len);
	if (!t) {
		if (pc_hmap_count(l->keys) >= l->cfg.max_keys &&
		    (auth__lockout_sweep(l, now, 1024) == 0 ||
		     pc_hmap_count(l->keys) >= l->cfg.max_keys))
			return false; /* full: untracked */
		t = calloc(1, sizeof *t);
		if (!t)
			return false;
		if (pc_hmap_put(l->keys, key, len, t, NULL) != PC_OK) {
			free(t);
			return false;
		}
		t->window_start = now;
	}
	if (now < t->locked_until)
		return false; /* already locked: refusals while locked do not extend it */
	if (now - t->window_start >= l->cfg.window_ms) {
		t->window_start = now;
		t->failures = 0;
	}
	if (++t->failures < threshold(l, tag))
		return false;
	t->locked_until = now + l->cfg.time_ms;
	t->failures = 0;
	t->window_start = now;
	return true;
}

unsigned auth__lockout_fail(struct auth__lockout *l, const char *username, const char *client_id,
                            const char *address, int64_t now_ms)
{
	unsigned mask = 0;

	if (fail_one(l, 'u', username, now_ms))
		mask |= AUTH_LOCK_USER;
	if (client_id && (!username || strcmp(client_id, username) != 0) &&
	    fail_one(l, 'c', client_id, now_ms))
		mask |= AUTH_LOCK_CLIENT;
	if (fail_one(l, 'a', address, now_ms))
		mask |= AUTH_LOCK_ADDRESS;
	return mask;
}

static void clear(struct auth__lockout *l, char tag, const char *value)
{
	char key[300];
	size_t len;
	struct tracker *t;

	if (!key_of(tag, value, key, sizeof key, &len))
		return;
	t = pc_hmap_get(l->keys, key, len);
	if (t && t->locked_until == 0) {
		free(pc_hmap_del(l->keys, key, len));
	} else if (t) {
		t->failures = 0;
	}
}

void auth__lockout_success(struct auth__lockout *l, const char *username, const char *client_id)
{
	clear(l, 'u', username);
	clear(l, 'c', client_id);
}

size_t auth__lockout_sweep(struct auth__lockout *l, int64_t now_ms, size_t budget)
{
	size_t dropped = 0, seen = 0, slots = pc_hmap_slots(l->keys);
	const char *key;
	size_t len;
	void *v;

	if (l->cursor >= slots)
		l->cursor = 0;
	while (seen < budget && pc_hmap_next(l->keys, &l->cursor, &key, &len, &v)) {
		seen++;
		if (expired(l, v, now_ms)) {
			free(pc_hmap_del(l->keys, key, len));
			l->cursor--;
			dropped++;
		}
	}
	return dropped;
}

size_t auth__lockout_count(const struct auth__lockout *l)
{
	return pc_hmap_count(l->keys);
}

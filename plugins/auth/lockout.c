/*
 * lockout.c - brute-force protection that does not lock out the innocent.
 *
 * Three trackers, each counting failures in a fixed window that starts at
 * the first failure, with a lockout deadline:
 *
 *   "p:<user> <address>"  a username from one address (attempts): the
 *                         narrowest lock; it stops a guesser at 'attempts'
 *                         tries per username per lockout time, and never
 *                         touches the same username elsewhere or another
 *                         username behind the same address.
 *   "u:<user>"            a username from every address (user_attempts): a
 *                         guesser spread over many addresses.
 *   "a:<address>"         one address, any usernames (address_attempts):
 *                         spraying many usernames, known or made up.
 *
 * The caller waives the username and address locks for a principal that
 * logged in from that address before (basic_auth.c keeps those addresses):
 * the devices and operators behind a shared NAT keep working while a
 * guesser beside them is refused, and a device is not locked out by
 * someone guessing its password from elsewhere. The pair lock is never
 * waived. Failures for made-up usernames count toward the address only.
 * A good login clears its pair's count, not the username's or address's
 * (one good login must not reset a guesser's budget). The table is
 * bounded (max_keys): when full, expired trackers are dropped first and,
 * failing that, new keys go untracked. Pure: time comes from the caller.
 * Broker thread only.
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

/* "<tag>:<a>[ <b>]" into buf; false when a is NULL or the key is too long to track. */
static bool key_of(char tag, const char *a, const char *b, char *buf, size_t buflen, size_t *len)
{
	int n;

	if (!a)
		return false;
	n = b ? snprintf(buf, buflen, "%c:%s %s", tag, a, b)
	      : snprintf(buf, buflen, "%c:%s", tag, a);
	if (n < 0 || (size_t)n >= buflen)
		return false;
	*len = (size_t)n;
	return true;
}

static int64_t threshold(const struct auth__lockout *l, char tag)
{
	return tag == 'a'   ? l->cfg.address_attempts
	       : tag == 'u' ? l->cfg.user_attempts
	                    : l->cfg.attempts;
}

static bool expired(const struct auth__lockout *l, const struct tracker *t, int64_t now)
{
	return now >= t->locked_until && now - t->window_start >= l->cfg.window_ms;
}

static bool locked(struct auth__lockout *l, char tag, const char *a, const char *b, int64_t now)
{
	char key[300];
	size_t len;
	const struct tracker *t;

	if (threshold(l, tag) <= 0 || !key_of(tag, a, b, key, sizeof key, &len))
		return false;
	t = pc_hmap_get(l->keys, key, len);
	return t && now < t->locked_until;
}

unsigned auth__lockout_check(struct auth__lockout *l, const char *username, const char *address,
                             int64_t now_ms)
{
	unsigned mask = 0;

	if (address && locked(l, 'p', username, address, now_ms))
		mask |= AUTH_LOCK_PAIR;
	if (locked(l, 'u', username, NULL, now_ms))
		mask |= AUTH_LOCK_USER;
	if (locked(l, 'a', address, NULL, now_ms))
		mask |= AUTH_LOCK_ADDRESS;
	return mask;
}

/* One failure for one key; true when it just became locked. */
static bool fail_one(struct auth__lockout *l, char tag, const char *a, const char *b, int64_t now)
{
	char key[300];
	size_t len;
	struct tracker *t;

	if (threshold(l, tag) <= 0 || !key_of(tag, a, b, key, sizeof key, &len))
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

unsigned auth__lockout_fail(struct auth__lockout *l, const char *username, const char *address,
                            bool known, int64_t now_ms)
{
	unsigned mask = 0;

	if (known && address && fail_one(l, 'p', username, address, now_ms))
		mask |= AUTH_LOCK_PAIR;
	if (known && fail_one(l, 'u', username, NULL, now_ms))
		mask |= AUTH_LOCK_USER;
	if (fail_one(l, 'a', address, NULL, now_ms))
		mask |= AUTH_LOCK_ADDRESS;
	return mask;
}

void auth__lockout_success(struct auth__lockout *l, const char *username, const char *address)
{
	char key[300];
	size_t len;
	struct tracker *t;

	if (!address || !key_of('p', username, address, key, sizeof key, &len))
		return;
	t = pc_hmap_get(l->keys, key, len);
	if (t && t->locked_until == 0)
		free(pc_hmap_del(l->keys, key, len));
	else if (t)
		t->failures = 0;
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

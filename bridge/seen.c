/*
 * seen.c - a bounded set of recently seen event keys (see seen.h).
 * The engine asks it about every event that carries an id, before the
 * event changes anything.
 */
#include <stdlib.h>
#include <string.h>

#include "seen.h"

#define SEEN_MIN_SLOTS 1024

void br_seen_init(struct br_seen *s, size_t capacity)
{
	memset(s, 0, sizeof *s);
	s->capacity = capacity;
}

void br_seen_cleanup(struct br_seen *s)
{
	size_t capacity = s->capacity;

	free(s->slot);
	free(s->order);
	br_seen_init(s, capacity);
}

static size_t home(const struct br_seen *s, uint64_t key)
{
	/* Keys are SipHash outputs: their low bits are already uniform. */
	return (size_t)key & (s->nslots - 1);
}

/* find - the slot holding key, or the empty slot where it would go. */
static size_t find(const struct br_seen *s, uint64_t key)
{
	size_t i = home(s, key);

	while (s->slot[i] != 0 && s->slot[i] != key)
		i = (i + 1) & (s->nslots - 1);
	return i;
}

/* forget - remove key (present) by backward-shift deletion. */
static void forget(struct br_seen *s, uint64_t key)
{
	size_t mask = s->nslots - 1, i = find(s, key), j = i, h;

	s->slot[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (s->slot[j] == 0)
			return;
		h = home(s, s->slot[j]);
		/* Move slot j into the hole at i unless its home lies in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->slot[i] = s->slot[j];
			s->slot[j] = 0;
			i = j;
		}
	}
}

/* grow - room for one more key: a larger table and order ring, up to the capacity. */
static int grow(struct br_seen *s)
{
	size_t nslots, ncap, i;
	uint64_t *slot, *order;

	if (s->n + 1 <= s->ncap && (s->n + 1) * 2 <= s->nslots)
		return 0;
	ncap = s->ncap ? s->ncap * 2 : SEEN_MIN_SLOTS / 2;
	if (ncap > s->capacity)
		ncap = s->capacity;
	nslots = SEEN_MIN_SLOTS;
	while (nslots < ncap * 2)
		nslots *= 2;
	slot = calloc(nslots, sizeof *slot);
	order = malloc(ncap * sizeof *order);
	if (slot == NULL || order == NULL) {
		free(slot);
		free(order);
		return -1;
	}
	/* Unroll the ring: oldest first at index 0. */
	for (i = 0; i < s->n; i++)
		order[i] = s->order[(s->head + i) % s->ncap];
	free(s->order);
	s->order = order;
	s->head = 0;
	s->ncap = ncap;
	free(s->slot);
	s->slot = slot;
	s->nslots = nslots;
	for (i = 0; i < s->n; i++)
		s->slot[find(s, s->order[i])] = s->order[i];
	return 0;
}

int br_seen_add(struct br_seen *s, uint64_t key)
{
	size_t i;

	if (s->capacity == 0)
		return 0;
	if (key == 0)
		key = 1;
	if (s->nslots && s->slot[find(s, key)] == key)
		return 1;
	if (s->n == s->capacity) {
		forget(s, s->order[s->head]);
		s->head = (s->head + 1) % s->ncap;
		s->n--;
	} else if (grow(s) != 0) {
		return -1;
	}
	i = find(s, key);
	s->slot[i] = key;
	s->order[(s->head + s->n) % s->ncap] = key;
	s->n++;
	return 0;
}

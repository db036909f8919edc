/*
 * seen.h - the event keys the bridge has counted lately (pure).
 *
 * A set of 64-bit event keys (pc_event_key) with a capacity: once full,
 * adding a key forgets the oldest one, so memory stays bounded (16 bytes
 * a key at most, grown as keys arrive) and a duplicate is caught while
 * its first copy is among the last `capacity` events seen. Open
 * addressing with linear probing and backward-shift deletion; an array
 * of keys in arrival order for the forgetting. Used by the engine on the
 * main thread only.
 */
#ifndef BRIDGE_SEEN_H
#define BRIDGE_SEEN_H

#include <stddef.h>
#include <stdint.h>

struct br_seen {
	uint64_t *slot;  /* 0 = empty (keys are never 0) */
	size_t nslots;   /* a power of two, at least twice n */
	uint64_t *order; /* the keys, oldest at head, as a ring of ncap */
	size_t ncap, n, head;
	size_t capacity; /* most keys kept; 0: the set is off */
};

/* br_seen_init - an empty set keeping at most capacity keys (0: off). */
void br_seen_init(struct br_seen *s, size_t capacity);

/* br_seen_cleanup - free what the set holds; it is empty again after. */
void br_seen_cleanup(struct br_seen *s);

/*
 * br_seen_add - 1 when key was in the set already (a duplicate), 0 when
 * it was not and is now (forgetting the oldest key if the set was full),
 * -1 when memory ran out (the set is unchanged; the caller counts the
 * event). key 0 is taken as 1. Always 0 when the set is off.
 */
int br_seen_add(struct br_seen *s, uint64_t key);

#endif

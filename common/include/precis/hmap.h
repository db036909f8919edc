/*
 * hmap.h - a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), grown by doubling at 3/4 load. Keys are copied and owned by
 * the map; values are the caller's pointers and never freed here. Keys are
 * hashed with SipHash-1-3 under a random per-map seed, so keys an attacker
 * chooses (usernames, client ids) cannot force long probe chains.
 *
 * Not thread-safe: one thread owns a map (the broker thread, or one worker).
 */
#ifndef PRECIS_HMAP_H
#define PRECIS_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_hmap;

/*
 * pc_hmap_new - an empty map sized for about hint keys (0: a small
 * default). Returns NULL when out of memory. Free with pc_hmap_free.
 */
struct pc_hmap *pc_hmap_new(size_t hint);

/*
 * pc_hmap_free - free the map and its key copies. The values are not
 * touched: free them first (pc_hmap_next) if the map held the only
 * reference. NULL is allowed.
 */
void pc_hmap_free(struct pc_hmap *m);

/* pc_hmap_get - the value stored under key[0..len), or NULL. */
void *pc_hmap_get(const struct pc_hmap *m, const char *key, size_t len);

/*
 * pc_hmap_put - store value (non-NULL) under key[0..len). When the key was
 * present its value is replaced and the old one returned in *old (NULL
 * otherwise; old may be NULL if the caller does not care). Returns PC_OK,
 * PC_ERR_INVAL (NULL value, or len > UINT32_MAX) or PC_ERR_NOMEM (the map
 * is unchanged).
 */
int pc_hmap_put(struct pc_hmap *m, const char *key, size_t len, void *value, void **old);

/* pc_hmap_del - remove key[0..len); returns its value, or NULL if absent. */
void *pc_hmap_del(struct pc_hmap *m, const char *key, size_t len);

/* pc_hmap_count - the number of keys stored. */
size_t pc_hmap_count(const struct pc_hmap *m);

/*
 * pc_hmap_next - iterate: start with *cursor = 0; each call stores the next
 * key (NUL-terminated, owned by the map, valid until that key is deleted)
 * and value and returns true, or returns false at the end. The cursor is a
 * slot index, so an iteration can be spread over many calls (a sweep a
 * little per TICK). To delete while iterating, delete the key just
 * returned and then step *cursor back by one: deletion shifts the next
 * entry of the probe run into the freed slot, and stepping back visits it
 * (an entry from the start of the table can then be visited twice, never
 * skipped). A put that grows the map reorders everything: a pass that
 * spans puts may miss keys. key, len and value may be NULL.
 */
bool pc_hmap_next(const struct pc_hmap *m, size_t *cursor, const char **key, size_t *len,
                  void **value);

/* pc_hmap_slots - the number of slots (the cursor's range), for sweeps. */
size_t pc_hmap_slots(const struct pc_hmap *m);

/*
 * pc_siphash - SipHash-c-d of data[0..len) under the 16-byte key k, with
 * c compression and d finalisation rounds (the map uses 1 and 3; 2 and 4
 * is the reference SipHash-2-4). Exported for tests and for other seeded
 * uses (deterministic sampling, A/B assignment).
 */
uint64_t pc_siphash(const uint8_t k[16], const void *data, size_t len, int c, int d);

#endif

/*
 * ids.h - string ids to dense indices and back (users, items, segments).
 *
 * The matrix works on indices 0..n-1; this table interns each string id
 * once (a pc_hmap from the id to its index, plus the array of names) so
 * the engine and eval translate at their edges. Indices are never reused
 * or removed. Pure, single-threaded.
 */
#ifndef BRIDGE_IDS_H
#define BRIDGE_IDS_H

#include <stddef.h>
#include <stdint.h>

struct pc_hmap;

struct br_ids {
	struct pc_hmap *map; /* id -> index + 1 */
	char **names;        /* owned copies, NUL-terminated */
	uint32_t n, cap;
};

/* br_ids_init - an empty table; PC_OK or PC_ERR_NOMEM. Release with br_ids_cleanup. */
int br_ids_init(struct br_ids *t);

/* br_ids_cleanup - free the table and its names. */
void br_ids_cleanup(struct br_ids *t);

/*
 * br_ids_intern - the index of id s[0..len), adding it when new (*added,
 * may be NULL, says which). Returns PC_OK or PC_ERR_NOMEM (nothing added).
 */
int br_ids_intern(struct br_ids *t, const char *s, size_t len, uint32_t *out, int *added);

/* br_ids_find - the index of s[0..len): PC_OK, or PC_ERR_EMPTY when unknown. */
int br_ids_find(const struct br_ids *t, const char *s, size_t len, uint32_t *out);

/* br_ids_name - the id of index k (owned by the table), or NULL when out of range. */
const char *br_ids_name(const struct br_ids *t, uint32_t k);

#endif

/*
 * matrix.h - the sparse user-item preference matrix of the bridge.
 *
 * Users and items are dense indices (ids.h maps the string ids). Each
 * user's row holds (item, value) pairs sorted by item, so a lookup is a
 * binary search; each item's column holds (user, value) pairs in the order
 * they first appeared and never moves an entry, so a row entry can keep
 * the position of its twin in the column and an update touches both in
 * O(log n). Rows and columns also keep the sum and the sum of squares of
 * their values, so means and norms are O(1). Entries are never removed.
 *
 * Pure: no I/O, no globals, not thread-safe (one owner). The recommender
 * (recommend.h) reads it; the bridge's engine and eval write it.
 */
#ifndef BRIDGE_MATRIX_H
#define BRIDGE_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A user's row (idx = items, sorted) or an item's column (idx = users, in arrival order). */
struct br_vec {
	uint32_t n, cap;
	uint32_t *idx;
	float *val;
	uint32_t *pos; /* rows only: position of the twin entry in the item's column */
	double sum;    /* of val */
	double sumsq;  /* of val^2 */
};

struct br_matrix {
	uint32_t nusers, nitems;
	uint32_t ucap, icap;
	struct br_vec *rows; /* nusers */
	struct br_vec *cols; /* nitems */
	uint64_t nnz;        /* cells set */
};

/* br_matrix_init - an empty matrix. Release with br_matrix_cleanup. */
void br_matrix_init(struct br_matrix *m);

/* br_matrix_cleanup - free everything; m is empty (and reusable) afterwards. */
void br_matrix_cleanup(struct br_matrix *m);

/*
 * br_matrix_reserve - make room for users 0..nusers-1 and items
 * 0..nitems-1 (counts only grow; new rows and columns are empty).
 * Returns 0 or PC_ERR_NOMEM (m unchanged).
 */
int br_matrix_reserve(struct br_matrix *m, uint32_t nusers, uint32_t nitems);

/*
 * br_matrix_update - change cell (u, i): with set, the value becomes v;
 * otherwise v is added to it (an absent cell counts as 0). The result is
 * clamped to [-cap, cap] when cap > 0. u and i grow the matrix as needed.
 * *created (may be NULL) says whether the cell is new. Returns 0, or
 * PC_ERR_NOMEM (the matrix is unchanged) or PC_ERR_INVAL (v not finite).
 */
int br_matrix_update(struct br_matrix *m, uint32_t u, uint32_t i, float v, bool set, float cap,
                     bool *created);

/* br_matrix_get - the value of cell (u, i), or 0 when absent (out of range too). */
float br_matrix_get(const struct br_matrix *m, uint32_t u, uint32_t i);

/* br_matrix_has - whether cell (u, i) is set. */
bool br_matrix_has(const struct br_matrix *m, uint32_t u, uint32_t i);

/* br_vec_mean - the mean of a row or column's values; 0 when empty. */
double br_vec_mean(const struct br_vec *v);

/* br_matrix_bytes - heap bytes held by the matrix (capacities, not counts). */
size_t br_matrix_bytes(const struct br_matrix *m);

#endif

/*
 * matrix.c - the sparse user-item matrix (see matrix.h).
 *
 * Rows are sorted arrays (binary search, memmove on insert: rows are
 * short, hundreds of entries, so this beats a tree on every count that
 * matters here); columns are append-only so the positions rows keep into
 * them stay valid. Growth doubles capacities. Every failure path leaves
 * the matrix as it was.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "precis/error.h"

void br_matrix_init(struct br_matrix *m)
{
	memset(m, 0, sizeof *m);
}

static void vec_free(struct br_vec *v)
{
	free(v->idx);
	free(v->val);
	free(v->pos);
}

void br_matrix_cleanup(struct br_matrix *m)
{
	uint32_t k;

	for (k = 0; k < m->nusers; k++)
		vec_free(&m->rows[k]);
	for (k = 0; k < m->nitems; k++)
		vec_free(&m->cols[k]);
	free(m->rows);
	free(m->cols);
	br_matrix_init(m);
}

static int grow_array(struct br_vec **a, uint32_t *cap, uint32_t want)
{
	uint32_t ncap = *cap ? *cap : 64;
	struct br_vec *na;

	if (want <= *cap)
		return PC_OK;
	while (ncap < want) {
		if (ncap > UINT32_MAX / 2)
			return PC_ERR_NOMEM;
		ncap *= 2;
	}
	na = realloc(*a, (size_t)ncap * sizeof *na);
	if (!na)
		return PC_ERR_NOMEM;
	memset(na + *cap, 0, (size_t)(ncap - *cap) * sizeof *na);
	*a = na;
	*cap = ncap;
	return PC_OK;
}

int br_matrix_reserve(struct br_matrix *m, uint32_t nusers, uint32_t nitems)
{
	if (grow_array(&m->rows, &m->ucap, nusers) || grow_array(&m->cols, &m->icap, nitems))
		return PC_ERR_NOMEM;
	if (nusers > m->nusers)
		m->nusers = nusers;
	if (nitems > m->nitems)
		m->nitems = nitems;
	return PC_OK;
}

/* Room for one more entry in v (with a pos array when rows is true). */
static int vec_reserve(struct br_vec *v, bool row)
{
	uint32_t ncap;
	uint32_t *ni, *np = NULL;
	float *nv;

	if (v->n < v->cap)
		return PC_OK;
	ncap = v->cap ? v->cap * 2 : 4;
	ni = realloc(v->idx, (size_t)ncap * sizeof *ni);
	if (!ni)
		return PC_ERR_NOMEM;
	v->idx = ni;
	nv = realloc(v->val, (size_t)ncap * sizeof *nv);
	if (!nv)
		return PC_ERR_NOMEM;
	v->val = nv;
	if (row) {
		np = realloc(v->pos, (size_t)ncap * sizeof *np);
		if (!np)
			return PC_ERR_NOMEM;
		v->pos = np;
	}
	v->cap = ncap;
	return PC_OK;
}

/* Index of the first entry of row r with item >= i. */
static uint32_t row_lower(const struct br_vec *r, uint32_t i)
{
	uint32_t lo = 0, hi = r->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->idx[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void stats_replace(struct br_vec *v, double old, double now)
{
	v->sum += now - old;
	v->sumsq += now * now - old * old;
}

int br_matrix_update(struct br_matrix *m, uint32_t u, uint32_t i, float v, bool set, float cap,
                     bool *created)
{
	struct br_vec *r, *c;
	uint32_t at;
	float old = 0, now;
	bool found;

	if (!isfinite(v))
		return PC_ERR_INVAL;
	if (u == UINT32_MAX || i == UINT32_MAX)
		return PC_ERR_NOMEM;
	if (br_matrix_reserve(m, u >= m->nusers ? u + 1 : m->nusers,
	                      i >= m->nitems ? i + 1 : m->nitems))
		return PC_ERR_NOMEM;
	r = &m->rows[u];
	c = &m->cols[i];
	at = row_lower(r, i);
	found = at < r->n && r->idx[at] == i;
	if (found)
		old = r->val[at];
	now = set ? v : old + v;
	if (cap > 0 && now > cap)
		now = cap;
	if (cap > 0 && now < -cap)
		now = -cap;
	if (created)
		*created = !found;
	if (found) {
		r->val[at] = now;
		c->val[r->pos[at]] = now;
	} else {
		if (vec_reserve(r, true) || vec_reserve(c, false))
			return PC_ERR_NOMEM;
		memmove(r->idx + at + 1, r->idx + at, (size_t)(r->n - at) * sizeof *r->idx);
		memmove(r->val + at + 1, r->val + at, (size_t)(r->n - at) * sizeof *r->val);
		memmove(r->pos + at + 1, r->pos + at, (size_t)(r->n - at) * sizeof *r->pos);
		r->idx[at] = i;
		r->val[at] = now;
		r->pos[at] = c->n;
		r->n++;
		c->idx[c->n] = u;
		c->val[c->n] = now;
		c->n++;
		m->nnz++;
	}
	stats_replace(r, old, now);
	stats_replace(c, old, now);
	return PC_OK;
}

float br_matrix_get(const struct br_matrix *m, uint32_t u, uint32_t i)
{
	const struct br_vec *r;
	uint32_t at;

	if (u >= m->nusers)
		return 0;
	r = &m->rows[u];
	at = row_lower(r, i);
	return at < r->n && r->idx[at] == i ? r->val[at] : 0;
}

bool br_matrix_has(const struct br_matrix *m, uint32_t u, uint32_t i)
{
	const struct br_vec *r;
	uint32_t at;

	if (u >= m->nusers)
		return false;
	r = &m->rows[u];
	at = row_lower(r, i);
	return at < r->n && r->idx[at] == i;
}

double br_vec_mean(const struct br_vec *v)
{
	return v->n ? v->sum / v->n : 0;
}

size_t br_matrix_bytes(const struct br_matrix *m)
{
	size_t b = (size_t)(m->ucap + m->icap) * sizeof(struct br_vec);
	uint32_t k;

	for (k = 0; k < m->nusers; k++)
		b += (size_t)m->rows[k].cap * (2 * sizeof(uint32_t) + sizeof(float));
	for (k = 0; k < m->nitems; k++)
		b += (size_t)m->cols[k].cap * (sizeof(uint32_t) + sizeof(float));
	return b;
}

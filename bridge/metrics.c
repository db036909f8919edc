/*
 * metrics.c - evaluation measures and seeded splits (see metrics.h).
 */
#include <math.h>
#include <stdlib.h>

#include "metrics.h"

void br_err_add(struct br_err_acc *a, double est, double truth)
{
	double d = est - truth;

	a->sse += d * d;
	a->sae += fabs(d);
	a->n++;
}

double br_rmse(const struct br_err_acc *a)
{
	return a->n ? sqrt(a->sse / (double)a->n) : 0;
}

double br_mae(const struct br_err_acc *a)
{
	return a->n ? a->sae / (double)a->n : 0;
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] == x)
			return true;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void br_rank_add(struct br_rank_acc *a, const uint32_t *rec, size_t nrec, const uint32_t *rel,
                 size_t nrel, size_t n)
{
	double dcg = 0, idcg = 0;
	size_t hits = 0, k;

	if (n == 0 || nrel == 0)
		return;
	for (k = 0; k < nrec && k < n; k++) {
		if (in_sorted(rel, nrel, rec[k])) {
			hits++;
			dcg += 1.0 / log2((double)k + 2);
		}
	}
	for (k = 0; k < nrel && k < n; k++)
		idcg += 1.0 / log2((double)k + 2);
	a->precision += (double)hits / (double)n;
	a->recall += (double)hits / (double)nrel;
	a->ndcg += dcg / idcg;
	a->users++;
	if (hits)
		a->hit_users++;
}

double br_rank_precision(const struct br_rank_acc *a)
{
	return a->users ? a->precision / (double)a->users : 0;
}

double br_rank_recall(const struct br_rank_acc *a)
{
	return a->users ? a->recall / (double)a->users : 0;
}

double br_rank_ndcg(const struct br_rank_acc *a)
{
	return a->users ? a->ndcg / (double)a->users : 0;
}

double br_rank_hit_rate(const struct br_rank_acc *a)
{
	return a->users ? (double)a->hit_users / (double)a->users : 0;
}

uint64_t br_rand64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A seeded permutation of 0..n-1 (Fisher-Yates); NULL when out of memory. */
static size_t *permutation(size_t n, uint64_t seed)
{
	size_t *p = malloc((n ? n : 1) * sizeof *p), j;
	uint64_t st = seed;

	if (!p)
		return NULL;
	for (j = 0; j < n; j++)
		p[j] = j;
	for (j = n; j > 1; j--) {
		size_t r = (size_t)(br_rand64(&st) % j), t = p[j - 1];
		p[j - 1] = p[r];
		p[r] = t;
	}
	return p;
}

void br_split_kfold(uint32_t *fold, size_t n, uint32_t k, uint64_t seed)
{
	size_t *p = permutation(n, seed), j, at = 0;
	uint32_t f;

	if (!p) { /* no memory: a deterministic round robin is still a valid split */
		for (j = 0; j < n; j++)
			fold[j] = (uint32_t)(j % k);
		return;
	}
	for (f = 0; f < k; f++) {
		size_t len = n / k + (f < n % k ? 1 : 0);
		for (j = 0; j < len; j++)
			fold[p[at++]] = f;
	}
	free(p);
}

void br_split_holdout(bool *test, size_t n, double fraction, uint64_t seed)
{
	size_t *p = permutation(n, seed), j, want = (size_t)llround((double)n * fraction);

	for (j = 0; j < n; j++)
		test[j] = false;
	for (j = 0; j < want && j < n; j++)
		test[p ? p[j] : j] = true;
	free(p);
}

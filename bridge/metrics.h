/*
 * metrics.h - offline evaluation measures and data splits (pure).
 *
 * Rating prediction: RMSE and MAE accumulators. Top-N: precision,
 * recall, nDCG and hit rate at N averaged over the users evaluated, and
 * catalogue coverage. Splits: a seeded shuffle into k folds, or a
 * holdout fraction. Used by eval.c; unit-tested with hand-computed values.
 */
#ifndef BRIDGE_METRICS_H
#define BRIDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_err_acc {
	double sse, sae;
	uint64_t n;
};

/* br_err_add - account one prediction est against the true value. */
void br_err_add(struct br_err_acc *a, double est, double truth);

/* br_rmse / br_mae - over what was added; 0 when nothing was. */
double br_rmse(const struct br_err_acc *a);
double br_mae(const struct br_err_acc *a);

struct br_rank_acc {
	double precision, recall, ndcg; /* sums over users */
	uint64_t users, hit_users;
};

/*
 * br_rank_add - account one user's top-N list rec[0..nrec) (nrec <= n)
 * against the relevant items rel[0..nrel) (sorted ascending, nrel >= 1):
 * precision = hits / n, recall = hits / nrel, nDCG with binary gains
 * (1 / log2(rank + 1), ideal: min(nrel, n) hits at the top).
 */
void br_rank_add(struct br_rank_acc *a, const uint32_t *rec, size_t nrec, const uint32_t *rel,
                 size_t nrel, size_t n);

/* Means over the users added (0 when none). */
double br_rank_precision(const struct br_rank_acc *a);
double br_rank_recall(const struct br_rank_acc *a);
double br_rank_ndcg(const struct br_rank_acc *a);
double br_rank_hit_rate(const struct br_rank_acc *a);

/*
 * br_split_kfold - fold[j] in 0..k-1 for j in 0..n-1: a Fisher-Yates
 * shuffle seeded by seed, then k contiguous runs whose sizes differ by at
 * most one (the first n % k folds are one longer). k >= 2, k <= n.
 */
void br_split_kfold(uint32_t *fold, size_t n, uint32_t k, uint64_t seed);

/*
 * br_split_holdout - test[j] true for round(n * fraction) of the n
 * entries, chosen by a seeded shuffle; 0 < fraction < 1.
 */
void br_split_holdout(bool *test, size_t n, double fraction, uint64_t seed);

/* br_rand64 - splitmix64 step: the next value of the stream in *state. */
uint64_t br_rand64(uint64_t *state);

#endif

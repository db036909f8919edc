/*
 * experiment.h - A/B experiments: deterministic variants, exposures,
 * conversions, rate and lift with a confidence interval.
 *
 * A user's variant is a pure function of (experiment id, user id): the
 * first 64 bits of SipHash-2-4 under a fixed key, reduced to one of
 * 10,000 buckets, and the variants own consecutive bucket ranges in
 * proportion to their percentages. So every bridge, every restart and
 * every replica agree without sharing state. An exposure is the first
 * push (or, for a holdout, the push it would have had) a user gets in the
 * experiment; a conversion is that user's purchase of an item pushed to
 * them (or withheld) within the conversion window after the push; each
 * user counts at most once for each. Rates are conversions / exposures;
 * lift compares a variant with the control: (p - p0) / p0, with a 95 %
 * Wald interval of p - p0 divided by p0. Pure: no I/O.
 */
#ifndef BRIDGE_EXPERIMENT_H
#define BRIDGE_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/topic.h"

#define BR_MAX_VARIANTS   8
#define BR_VARIANT_ID_MAX 16
#define BR_EXP_ITEMS      32 /* pushed items remembered per user */
#define BR_ALGO_NONE      (-1)

struct br_variant {
	char id[BR_VARIANT_ID_MAX + 1];
	int algo;       /* enum br_algo, or BR_ALGO_NONE: a holdout that gets nothing */
	double percent; /* > 0; all of an experiment's sum to 100 */
	bool control;
};

/*
 * br_variants_parse - "A=user_knn:45 B=popular:45 H*=none:10": ids (1-16
 * of [A-Za-z0-9_-]), recommender (user_knn, item_knn, popular, none) and
 * percent; '*' marks the control (default: the holdout if there is one,
 * else the last variant). Percentages must sum to 100 (within 1e-6).
 * Returns PC_OK with *n variants in out (room for BR_MAX_VARIANTS), or
 * PC_ERR_INVAL with detail.
 */
int br_variants_parse(const char *spec, struct br_variant *out, size_t *n, char *err,
                      size_t errlen);

/* br_assign - the index of user's variant in v[0..n) for experiment exp (n >= 1). */
size_t br_assign(const char *exp, const char *user, const struct br_variant *v, size_t n);

struct br_variant_stats {
	uint64_t exposures, conversions;
};

struct pc_hmap;

struct br_experiment {
	char id[PC_ID_MAX + 1];
	struct br_variant v[BR_MAX_VARIANTS];
	size_t nv, control;
	int64_t window_ms;
	struct br_variant_stats st[BR_MAX_VARIANTS];
	struct pc_hmap *users; /* user id -> struct exp_user (experiment.c) */
	uint64_t version;      /* bumped by every change of the counts */
};

/*
 * br_experiment_init - an experiment over variants v[0..n) (n >= 1, their
 * control flags as br_variants_parse leaves them; none marked: the last)
 * with a conversion window. Returns PC_OK, PC_ERR_INVAL or PC_ERR_NOMEM.
 * Release with br_experiment_cleanup.
 */
int br_experiment_init(struct br_experiment *e, const char *id, const struct br_variant *v,
                       size_t n, int64_t window_ms);
void br_experiment_cleanup(struct br_experiment *e);

/* br_experiment_variant - user's variant index (br_assign over e's variants). */
size_t br_experiment_variant(const struct br_experiment *e, const char *user);

/*
 * br_experiment_expose - record that items[0..n) (item indices of the
 * caller's table) were pushed to user at now_ms (or withheld, for a
 * holdout). The first exposure counts; later ones refresh the items.
 * Returns the variant index, or -1 when out of memory (nothing counted).
 */
int br_experiment_expose(struct br_experiment *e, const char *user, const uint32_t *items, size_t n,
                         int64_t now_ms);

/*
 * br_experiment_purchase - user bought item at now_ms: returns true when
 * that converts the user (an exposed, unconverted user; the item pushed
 * within the window before now_ms).
 */
bool br_experiment_purchase(struct br_experiment *e, const char *user, uint32_t item,
                            int64_t now_ms);

struct br_variant_report {
	uint64_t exposures, conversions;
	double rate;   /* conversions / exposures (0 when none) */
	bool has_lift; /* false for the control, or when the control's rate is 0 */
	double lift, lift_lo, lift_hi;
};

/* br_experiment_report - per-variant figures, out[k] for variant k. */
void br_experiment_report(const struct br_experiment *e, struct br_variant_report *out);

/*
 * br_lift - lift of p1 = c1/n1 over p0 = c0/n0 with its 95 % interval
 * (Wald, unpooled). Returns false when n0, n1 or p0 is 0.
 */
bool br_lift(uint64_t c1, uint64_t n1, uint64_t c0, uint64_t n0, double *lift, double *lo,
             double *hi);

#endif

/*
 * profile.h - user portraits: tags, RFM scores and segment membership.
 *
 * Per user the bridge keeps a few counters (events, purchases, spend,
 * last purchase and last event time, opt-out) fed by every accepted
 * event, and per item its category when an event named one. A portrait
 * is computed from these and the preference matrix:
 *   tags      the user's top categories by summed preference value;
 *   RFM       recency (time of the last purchase), frequency (purchases)
 *             and monetary (spend), each scored 1-5 by its mid-rank
 *             percentile among the users who purchased (5: most recent,
 *             most frequent, highest spend); 0 for users who never did;
 *   segments  the configured rules (rule.h) the portrait satisfies.
 * The percentile tables are rebuilt lazily after purchases change. Pure:
 * no I/O; one owner thread.
 */
#ifndef BRIDGE_PROFILE_H
#define BRIDGE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "ids.h"
#include "matrix.h"
#include "rule.h"

#define BR_TAGS_MAX 16

struct br_user_stats {
	uint32_t events, purchases;
	double spend;
	int64_t last_purchase_ms; /* 0: never */
	int64_t last_event_ms;
	bool optout;
};

struct br_profiles {
	struct br_user_stats *u;
	uint32_t nusers, ucap;
	uint32_t *item_cat; /* category index + 1; 0: none */
	uint32_t nitems, icap;
	struct br_ids cats;
	/* RFM percentile tables over purchasing users, sorted ascending */
	double *rfm_sorted[3];
	uint32_t nrfm;
	bool rfm_dirty;
	/* segment rules */
	size_t nseg;
	char *seg_id[BR_MAX_SEGMENTS];
	struct br_rule *seg_rule[BR_MAX_SEGMENTS];
};

struct br_portrait {
	uint32_t ntags;
	uint32_t tag[BR_TAGS_MAX]; /* category indices, best first */
	int rfm[3];                /* r, f, m scores 0..5 */
	double recency_days;       /* since the last purchase (-1: never) */
	uint64_t segments;         /* bit k: segment k of the rule table */
};

/* br_profiles_init - empty tables; PC_OK or PC_ERR_NOMEM. Release with br_profiles_cleanup. */
int br_profiles_init(struct br_profiles *pf);
void br_profiles_cleanup(struct br_profiles *pf);

/*
 * br_profiles_set_segments - replace the rule table with the segments of
 * c (each spec parsed again). On failure the old table stays. Returns
 * PC_OK, PC_ERR_INVAL (detail) or PC_ERR_NOMEM.
 */
int br_profiles_set_segments(struct br_profiles *pf, const struct br_config *c, char *err,
                             size_t errlen);

/*
 * br_profiles_event - account an accepted event of user u on item i
 * (category cat, "" for none; a later category replaces an earlier one).
 * Returns PC_OK or PC_ERR_NOMEM (nothing changed).
 */
int br_profiles_event(struct br_profiles *pf, uint32_t u, uint32_t i, const struct br_event *e);

/* br_profiles_set_optout - record a user's opt-out; PC_OK or PC_ERR_NOMEM. */
int br_profiles_set_optout(struct br_profiles *pf, uint32_t u, bool optout);

/* br_profiles_optout - whether user u opted out (false for unknown users). */
bool br_profiles_optout(const struct br_profiles *pf, uint32_t u);

/* br_profiles_stats - user u's counters, or NULL when unknown. */
const struct br_user_stats *br_profiles_stats(const struct br_profiles *pf, uint32_t u);

/*
 * br_portrait_compute - the portrait of user u from the counters and the
 * user's row of m, at now_ms, with at most tags_top tags. Rebuilds the
 * RFM tables first when dirty. Returns PC_OK or PC_ERR_NOMEM.
 */
int br_portrait_compute(struct br_profiles *pf, const struct br_matrix *m, uint32_t u,
                        int64_t now_ms, uint32_t tags_top, struct br_portrait *out);

/* br_rfm_score - the 1-5 score of value among sorted[0..n) (mid-rank percentile); 0 if n == 0. */
int br_rfm_score(const double *sorted, uint32_t n, double value);

#endif

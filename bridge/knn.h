/*
 * knn.h - the recommender's internals shared by recommend.c (top-N) and
 * similarity.c (similarities, selection, prediction). Not for the rest of
 * the bridge: use recommend.h.
 */
#ifndef BRIDGE_KNN_H
#define BRIDGE_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "recommend.h"

/* A candidate of a bounded selection: higher s first, then lower ord. */
struct br_cand {
	double s;
	uint32_t ord;
	uint32_t idx;
};

/* br_knn_scratch - size the scratch buffers for the model; PC_OK or PC_ERR_NOMEM. */
int br_knn_scratch(struct br_reco *r);

/* br_knn_scratch_free - free the scratch buffers (sized again on the next query). */
void br_knn_scratch_free(struct br_reco *r);

/* br_knn_next_gen - start a generation: every stamp of an older one reads as untouched. */
void br_knn_next_gen(struct br_reco *r);

/*
 * br_knn_user_sims - accumulate u's co-ratings with every user sharing an
 * item (a new generation); the touched users go to r->touched, their count
 * is returned. Read one similarity with br_knn_user_sim until the next
 * generation.
 */
uint32_t br_knn_user_sims(struct br_reco *r, uint32_t u);
double br_knn_user_sim(const struct br_reco *r, uint32_t u, uint32_t v);

/* The same for items: i's similarity to every item sharing a user. */
uint32_t br_knn_item_sims(struct br_reco *r, uint32_t i);
double br_knn_item_sim(const struct br_reco *r, uint32_t i, uint32_t j);

/* br_knn_offer - offer c to the min-heap h holding the best *n (at most k) candidates. */
void br_knn_offer(struct br_cand *h, size_t *n, size_t k, struct br_cand c);

/* br_knn_sort - sort a heap of n candidates best first. */
void br_knn_sort(struct br_cand *h, size_t n);

#endif

/*
 * reco_fixture.h - models shared by the recommender's unit suites
 * (test_bridge_similarity.c, test_bridge_recommend.c).
 *
 * The hand-computed example (rf_load_example):
 *        i0 i1 i2 i3
 *   u0    5  3  4  .
 *   u1    3  1  2  3
 *   u2    .  4  .  1
 */
#ifndef PRECIS_RECO_FIXTURE_H
#define PRECIS_RECO_FIXTURE_H

#include <stdint.h>

#include "recommend.h"

/* rf_init - br_reco_init with these parameters; a failure fails the test at once. */
void rf_init(struct br_reco *r, enum br_sim sim, uint32_t k, uint32_t min_support,
             double shrinkage);

/* rf_load_example - the example above, values set. */
void rf_load_example(struct br_reco *r);

/* rf_random_matrix - n users x m items, density d, values 1..5, from seed. */
void rf_random_matrix(struct br_reco *r, uint32_t n, uint32_t m, double d, unsigned seed);

#endif

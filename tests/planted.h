/*
 * planted.h - a behaviour data set with planted structure, for tests and
 * benchmarks of the recommender.
 *
 * Users and items fall into `clusters` groups (user u and item i belong to
 * group u % clusters and i % clusters). Each user makes `per_user` events;
 * with probability 1 - noise the item comes from the user's own group,
 * otherwise from anywhere; the value is an event weight (1, 2, 3 or 5).
 * A good recommender therefore recommends a user items of the user's own
 * group. Deterministic for a seed; pure.
 */
#ifndef PRECIS_TESTS_PLANTED_H
#define PRECIS_TESTS_PLANTED_H

#include <stdint.h>

struct planted {
	uint32_t users, items, clusters, per_user;
	double noise;
	uint64_t seed;
};

/* Called once per event, in generation order (user by user). */
typedef void (*planted_fn)(void *arg, uint32_t user, uint32_t item, float value);

/* planted_generate - call fn(arg, ...) for every event of the data set p. */
void planted_generate(const struct planted *p, planted_fn fn, void *arg);

/* planted_group - the group of a user or item index. */
uint32_t planted_group(const struct planted *p, uint32_t index);

#endif

/*
 * planted.c - the planted-structure generator (see planted.h), driven by
 * splitmix64 so every platform draws the same data.
 */
#include "planted.h"

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

uint32_t planted_group(const struct planted *p, uint32_t index)
{
	return index % p->clusters;
}

void planted_generate(const struct planted *p, planted_fn fn, void *arg)
{
	static const float weights[4] = {1, 2, 3, 5};
	uint64_t s = p->seed;
	uint32_t u, k, per_group = p->items / p->clusters;

	for (u = 0; u < p->users; u++) {
		uint32_t g = planted_group(p, u);
		for (k = 0; k < p->per_user; k++) {
			double r = (double)(next(&s) >> 11) / 9007199254740992.0;
			uint32_t item;
			if (r >= p->noise)
				item = g + p->clusters * (uint32_t)(next(&s) % per_group);
			else
				item = (uint32_t)(next(&s) % p->items);
			fn(arg, u, item, weights[next(&s) % 4]);
		}
	}
}

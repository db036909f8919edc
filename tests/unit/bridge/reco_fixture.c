/*
 * reco_fixture.c - models shared by the recommender's unit suites: the
 * hand-computed example and seeded random matrices.
 */
#include <stdlib.h>

#include "cu_run.h"
#include "precis/error.h"
#include "reco_fixture.h"

/*
 * The hand-computed example:
 *        i0 i1 i2 i3
 *   u0    5  3  4  .
 *   u1    3  1  2  3
 *   u2    .  4  .  1
 */
void rf_load_example(struct br_reco *r)
{
	static const struct {
		uint32_t u, i;
		float v;
	} cells[] = {{0, 0, 5}, {0, 1, 3}, {0, 2, 4}, {1, 0, 3}, {1, 1, 1},
	             {1, 2, 2}, {1, 3, 3}, {2, 1, 4}, {2, 3, 1}};
	size_t k;

	for (k = 0; k < sizeof cells / sizeof cells[0]; k++)
		CU_ASSERT_EQUAL(br_reco_update(r, cells[k].u, cells[k].i, cells[k].v, true, 0),
		                PC_OK);
}

void rf_init(struct br_reco *r, enum br_sim sim, uint32_t k, uint32_t min_support, double shrinkage)
{
	struct br_knn_params p = {sim, k, min_support, shrinkage};

	CU_ASSERT_EQUAL_FATAL(br_reco_init(r, &p), PC_OK);
}

/* A random matrix: n users x m items, density d, integer values 1..5. */
void rf_random_matrix(struct br_reco *r, uint32_t n, uint32_t m, double d, unsigned seed)
{
	uint32_t u, i;

	srand(seed);
	for (u = 0; u < n; u++)
		for (i = 0; i < m; i++)
			if ((double)rand() / RAND_MAX < d)
				br_reco_update(r, u, i, (float)(1 + rand() % 5), true, 0);
}

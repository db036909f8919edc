/*
 * reco_bench.c - the recommender's speed and memory on generated data
 * (tests/planted.c), driven by bench/reco-bench.
 *
 *   precis-bench-reco [--users 1000] [--items 2000] [--events 100000]
 *                     [--updates 10000] [--memory-events 1000000]
 *
 * 1. Full build: insert every event into an empty model, then top-10 for
 *    every user (user kNN, cosine, k 40), timed together (goal < 1 s).
 * 2. Incremental: on that model, each of --updates new events is one
 *    br_reco_update, then the top-10 of its user (what a refresh does
 *    once the debounce has run out); p50 / p99 / max of the update alone
 *    and of update + top-10 (goal p99 < 1 ms).
 * 3. Memory: a model of --memory-events events over 10x the users and
 *    items, heap bytes as the model counts them and the process's RSS
 *    growth (goal < 100 MB).
 * Prints one "key value" line per figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planted.h"
#include "recommend.h"

struct ev {
	uint32_t u, i;
	float v;
};

struct evs {
	struct ev *e;
	size_t n, cap;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void collect(void *arg, uint32_t u, uint32_t i, float v)
{
	struct evs *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 16;
		s->e = realloc(s->e, s->cap * sizeof *s->e);
		if (!s->e) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	s->e[s->n++] = (struct ev){u, i, v};
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long arg(int argc, char **argv, const char *name, long def)
{
	int k;

	for (k = 1; k + 1 < argc; k++)
		if (strcmp(argv[k], name) == 0)
			return strtol(argv[k + 1], NULL, 10);
	return def;
}

static void build(struct br_reco *r, const struct evs *s, enum br_algo algo, double *t_build,
                  double *t_top)
{
	struct br_knn_params p = {BR_SIM_COSINE, 40, 1, 0};
	struct br_scored out[10];
	size_t k, n;
	double t0 = now_s();
	uint32_t u;

	br_reco_init(r, &p);
	for (k = 0; k < s->n; k++)
		br_reco_update(r, s->e[k].u, s->e[k].i, s->e[k].v, false, 50);
	*t_build = now_s() - t0;
	t0 = now_s();
	for (u = 0; u < r->m.nusers; u++)
		br_topn(r, algo, u, 10, out, &n);
	*t_top = now_s() - t0;
}

int main(int argc, char **argv)
{
	uint32_t users = (uint32_t)arg(argc, argv, "--users", 1000);
	uint32_t items = (uint32_t)arg(argc, argv, "--items", 2000);
	long events = arg(argc, argv, "--events", 100000);
	long updates = arg(argc, argv, "--updates", 10000);
	long mem_events = arg(argc, argv, "--memory-events", 1000000);
	struct planted p = {users, items, 10, (uint32_t)(events / users), 0.2, 1};
	struct planted q = p;
	struct evs s = {0}, upd = {0};
	struct br_reco r;
	struct br_scored out[10];
	double tb, tt, *lat_u, *lat_r;
	size_t k, n;
	long rss0;

	planted_generate(&p, collect, &s);
	build(&r, &s, BR_ALGO_USER_KNN, &tb, &tt);
	printf("events %zu\nusers %u\nitems %u\ncells %llu\n", s.n, r.m.nusers, r.m.nitems,
	       (unsigned long long)r.m.nnz);
	printf("user_knn_build_s %.4f\nuser_knn_top10_all_s %.4f\nuser_knn_total_s %.4f\n", tb, tt,
	       tb + tt);
	/* incremental updates on the built model */
	q.seed = 2;
	q.per_user = (uint32_t)(updates / users > 0 ? updates / users : 1);
	planted_generate(&q, collect, &upd);
	lat_u = malloc(upd.n * sizeof *lat_u);
	lat_r = malloc(upd.n * sizeof *lat_r);
	for (k = 0; k < upd.n; k++) {
		/* shuffle the order a little: events of one user do not come in a row */
		const struct ev *e = &upd.e[(k * 7919) % upd.n];
		double t0 = now_s(), t1;
		br_reco_update(&r, e->u, e->i, e->v, false, 50);
		t1 = now_s();
		br_topn(&r, BR_ALGO_USER_KNN, e->u, 10, out, &n);
		lat_u[k] = (t1 - t0) * 1e3;
		lat_r[k] = (now_s() - t0) * 1e3;
	}
	qsort(lat_u, upd.n, sizeof *lat_u, cmp_double);
	qsort(lat_r, upd.n, sizeof *lat_r, cmp_double);
	printf("updates %zu\n", upd.n);
	printf("update_p50_ms %.4f\nupdate_p99_ms %.4f\nupdate_max_ms %.4f\n", lat_u[upd.n / 2],
	       lat_u[upd.n * 99 / 100], lat_u[upd.n - 1]);
	printf("update_top10_p50_ms %.4f\nupdate_top10_p99_ms %.4f\nupdate_top10_max_ms %.4f\n",
	       lat_r[upd.n / 2], lat_r[upd.n * 99 / 100], lat_r[upd.n - 1]);
	br_reco_cleanup(&r);
	free(lat_u);
	free(lat_r);
	/* item kNN for comparison */
	build(&r, &s, BR_ALGO_ITEM_KNN, &tb, &tt);
	printf("item_knn_build_s %.4f\nitem_knn_top10_all_s %.4f\nitem_knn_total_s %.4f\n", tb, tt,
	       tb + tt);
	br_reco_cleanup(&r);
	free(s.e);
	free(upd.e);
	/* memory for mem_events over 10x the users and items */
	memset(&s, 0, sizeof s);
	p.users = users * 10;
	p.items = items * 10;
	p.per_user = (uint32_t)(mem_events / p.users);
	p.seed = 3;
	planted_generate(&p, collect, &s);
	rss0 = rss_kb();
	{
		struct br_knn_params kp = {BR_SIM_COSINE, 40, 1, 0};
		br_reco_init(&r, &kp);
		for (k = 0; k < s.n; k++)
			br_reco_update(&r, s.e[k].u, s.e[k].i, s.e[k].v, false, 50);
		br_topn(&r, BR_ALGO_USER_KNN, 0, 10, out, &n); /* scratch buffers too */
		br_topn(&r, BR_ALGO_ITEM_KNN, 0, 10, out, &n);
	}
	printf("memory_events %zu\nmemory_users %u\nmemory_items %u\nmemory_cells %llu\n", s.n,
	       r.m.nusers, r.m.nitems, (unsigned long long)r.m.nnz);
	printf("memory_model_mb %.1f\nmemory_rss_growth_mb %.1f\n",
	       (double)br_reco_bytes(&r) / (1 << 20), (double)(rss_kb() - rss0) / 1024);
	br_reco_cleanup(&r);
	free(s.e);
	return 0;
}

/*
 * similarity.c - similarities, bounded selection and kNN prediction of the
 * recommender (knn.h, recommend.h).
 *
 * A user's similarities to every other user come from one pass over the
 * columns of the items the user has (the users that share nothing are
 * never visited): six accumulators per neighbour (n, sums, sums of
 * squares, the cross product) of the values, centred first for adjusted
 * cosine, give each similarity in O(1). Item similarities do the same over
 * rows. Accumulators are reset lazily with a generation stamp, so a query
 * costs what it visits, not the size of the model. br_sim_users and
 * br_sim_items compute one pair directly: the reference the tests hold the
 * fast paths to.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "precis/error.h"

void br_knn_scratch_free(struct br_reco *r)
{
	free(r->stamp);
	free(r->acc);
	free(r->touched);
	free(r->score);
	free(r->support);
	free(r->because);
	free(r->best);
	r->stamp = r->touched = r->support = r->because = NULL;
	r->acc = r->score = r->best = NULL;
	r->scap = 0;
}

/* Scratch for max(nusers, nitems) entities. */
int br_knn_scratch(struct br_reco *r)
{
	size_t want = r->m.nusers > r->m.nitems ? r->m.nusers : r->m.nitems, cap;

	if (want <= r->scap)
		return PC_OK;
	cap = r->scap ? r->scap : 256;
	while (cap < want)
		cap *= 2;
	br_knn_scratch_free(r);
	r->stamp = calloc(cap, sizeof *r->stamp);
	r->acc = malloc(cap * 6 * sizeof *r->acc);
	r->touched = malloc(cap * sizeof *r->touched);
	r->score = malloc(cap * sizeof *r->score);
	r->support = malloc(cap * sizeof *r->support);
	r->because = malloc(cap * sizeof *r->because);
	r->best = malloc(cap * sizeof *r->best);
	r->gen = 0;
	if (!r->stamp || !r->acc || !r->touched || !r->score || !r->support || !r->because ||
	    !r->best) {
		r->scap = 0;
		return PC_ERR_NOMEM;
	}
	r->scap = cap;
	return PC_OK;
}

/* A fresh generation: stamps from older generations read as "untouched". */
void br_knn_next_gen(struct br_reco *r)
{
	if (++r->gen == 0) {
		memset(r->stamp, 0, r->scap * sizeof *r->stamp);
		r->gen = 1;
	}
}

/* ---- similarity from accumulators ---- */

enum { A_N, A_SX, A_SY, A_SXX, A_SYY, A_SXY };

/* normx, normy: sums of squares of the whole vectors (cosine only). */
static double sim_finish(const struct br_knn_params *p, const double *a, double normx, double normy)
{
	double n = a[A_N], s = 0, d;

	if (n < 1 || n < p->min_support)
		return 0;
	switch (p->sim) {
	case BR_SIM_COSINE:
		d = sqrt(normx * normy);
		s = d > 0 ? a[A_SXY] / d : 0;
		break;
	case BR_SIM_ADJUSTED:
		d = sqrt(a[A_SXX] * a[A_SYY]);
		s = d > 0 ? a[A_SXY] / d : 0;
		break;
	case BR_SIM_PEARSON:
		d = sqrt((n * a[A_SXX] - a[A_SX] * a[A_SX]) * (n * a[A_SYY] - a[A_SY] * a[A_SY]));
		s = d > 0 ? (n * a[A_SXY] - a[A_SX] * a[A_SY]) / d : 0;
		break;
	}
	if (!isfinite(s))
		return 0;
	if (p->shrinkage > 0)
		s *= n / (n + p->shrinkage);
	return s;
}

static void acc_add(double *a, double x, double y)
{
	a[A_N] += 1;
	a[A_SX] += x;
	a[A_SY] += y;
	a[A_SXX] += x * x;
	a[A_SYY] += y * y;
	a[A_SXY] += x * y;
}

double br_sim_users(const struct br_reco *r, uint32_t u, uint32_t v, uint32_t *support)
{
	const struct br_matrix *m = &r->m;
	double a[6] = {0}, mu, mv;
	const struct br_vec *x, *y;
	uint32_t p = 0, q = 0;

	if (support)
		*support = 0;
	if (u >= m->nusers || v >= m->nusers)
		return 0;
	x = &m->rows[u];
	y = &m->rows[v];
	mu = br_vec_mean(x);
	mv = br_vec_mean(y);
	while (p < x->n && q < y->n) {
		if (x->idx[p] < y->idx[q]) {
			p++;
		} else if (x->idx[p] > y->idx[q]) {
			q++;
		} else {
			if (r->p.sim == BR_SIM_ADJUSTED)
				acc_add(a, x->val[p] - mu, y->val[q] - mv);
			else
				acc_add(a, x->val[p], y->val[q]);
			p++;
			q++;
		}
	}
	if (support)
		*support = (uint32_t)a[A_N];
	return sim_finish(&r->p, a, x->sumsq, y->sumsq);
}

double br_sim_items(const struct br_reco *r, uint32_t i, uint32_t j, uint32_t *support)
{
	const struct br_matrix *m = &r->m;
	double a[6] = {0};
	const struct br_vec *x;
	uint32_t k;

	if (support)
		*support = 0;
	if (i >= m->nitems || j >= m->nitems)
		return 0;
	x = &m->cols[i];
	for (k = 0; k < x->n; k++) {
		uint32_t v = x->idx[k];
		double mv;

		if (!br_matrix_has(m, v, j))
			continue;
		mv = r->p.sim == BR_SIM_ADJUSTED ? br_vec_mean(&m->rows[v]) : 0;
		acc_add(a, x->val[k] - mv, br_matrix_get(m, v, j) - mv);
	}
	if (support)
		*support = (uint32_t)a[A_N];
	return sim_finish(&r->p, a, x->sumsq, m->cols[j].sumsq);
}

/*
 * The similarity of u to every user sharing an item: the touched users go
 * to r->touched (count returned) and their accumulators to r->acc; read
 * one with user_sim_of. Scratch must be sized.
 */
uint32_t br_knn_user_sims(struct br_reco *r, uint32_t u)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->rows[u];
	double mu = br_vec_mean(x);
	uint32_t nt = 0, k, l;

	br_knn_next_gen(r);
	r->stamp[u] = r->gen; /* never its own neighbour */
	memset(r->acc + 6 * (size_t)u, 0, 6 * sizeof *r->acc);
	for (k = 0; k < x->n; k++) {
		const struct br_vec *c = &m->cols[x->idx[k]];
		double xv = x->val[k];

		if (r->p.sim == BR_SIM_ADJUSTED)
			xv -= mu;
		for (l = 0; l < c->n; l++) {
			uint32_t v = c->idx[l];
			double *a = r->acc + 6 * (size_t)v, yv = c->val[l];

			if (v == u)
				continue;
			if (r->stamp[v] != r->gen) {
				r->stamp[v] = r->gen;
				memset(a, 0, 6 * sizeof *a);
				r->touched[nt++] = v;
			}
			if (r->p.sim == BR_SIM_ADJUSTED)
				yv -= br_vec_mean(&m->rows[v]);
			acc_add(a, xv, yv);
		}
	}
	return nt;
}

double br_knn_user_sim(const struct br_reco *r, uint32_t u, uint32_t v)
{
	if (v == u || r->stamp[v] != r->gen)
		return 0;
	return sim_finish(&r->p, r->acc + 6 * (size_t)v, r->m.rows[u].sumsq, r->m.rows[v].sumsq);
}

/* The same over items: i's similarity to every item sharing a user. */
uint32_t br_knn_item_sims(struct br_reco *r, uint32_t i)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->cols[i];
	uint32_t nt = 0, k, l;

	br_knn_next_gen(r);
	r->stamp[i] = r->gen;
	memset(r->acc + 6 * (size_t)i, 0, 6 * sizeof *r->acc);
	for (k = 0; k < x->n; k++) {
		const struct br_vec *row = &m->rows[x->idx[k]];
		double mv = r->p.sim == BR_SIM_ADJUSTED ? br_vec_mean(row) : 0;
		double xv = x->val[k] - mv;

		for (l = 0; l < row->n; l++) {
			uint32_t j = row->idx[l];
			double *a = r->acc + 6 * (size_t)j;

			if (j == i)
				continue;
			if (r->stamp[j] != r->gen) {
				r->stamp[j] = r->gen;
				memset(a, 0, 6 * sizeof *a);
				r->touched[nt++] = j;
			}
			acc_add(a, xv, row->val[l] - mv);
		}
	}
	return nt;
}

double br_knn_item_sim(const struct br_reco *r, uint32_t i, uint32_t j)
{
	if (j == i || r->stamp[j] != r->gen)
		return 0;
	return sim_finish(&r->p, r->acc + 6 * (size_t)j, r->m.cols[i].sumsq, r->m.cols[j].sumsq);
}

/* ---- bounded selection: keep the best k of a stream ---- */

/* Whether a is worse than b. */
static bool worse(const struct br_cand *a, const struct br_cand *b)
{
	return a->s < b->s || (a->s == b->s && a->ord > b->ord);
}

static void sift_down(struct br_cand *h, size_t n, size_t at)
{
	for (;;) {
		size_t l = 2 * at + 1, w = at;
		struct br_cand t;

		if (l < n && worse(&h[l], &h[w]))
			w = l;
		if (l + 1 < n && worse(&h[l + 1], &h[w]))
			w = l + 1;
		if (w == at)
			return;
		t = h[at];
		h[at] = h[w];
		h[w] = t;
		at = w;
	}
}

/* Offer c to the min-heap h of the best *n (capacity k) candidates. */
void br_knn_offer(struct br_cand *h, size_t *n, size_t k, struct br_cand c)
{
	size_t at;

	if (*n < k) {
		at = (*n)++;
		h[at] = c;
		while (at > 0 && worse(&h[at], &h[(at - 1) / 2])) {
			struct br_cand t = h[at];
			h[at] = h[(at - 1) / 2];
			h[(at - 1) / 2] = t;
			at = (at - 1) / 2;
		}
	} else if (k > 0 && worse(&h[0], &c)) {
		h[0] = c;
		sift_down(h, *n, 0);
	}
}

/* Sort the heap best first (heap sort on the min-heap). */
void br_knn_sort(struct br_cand *h, size_t n)
{
	while (n > 1) {
		struct br_cand t = h[0];
		h[0] = h[n - 1];
		h[n - 1] = t;
		sift_down(h, --n, 0);
	}
}

/* ---- prediction ---- */

/*
 * The mean-centred kNN estimate for target from the raters in c: entry k
 * is neighbour c->idx[k] with value c->val[k], similarity sim(r, target,
 * neighbour) and mean br_vec_mean(&means[neighbour]); the k best positive
 * similarities count (ties: the earlier entry). base is the target's mean.
 */
static double knn_estimate(struct br_reco *r, const struct br_vec *c, const struct br_vec *means,
                           double (*sim)(const struct br_reco *, uint32_t, uint32_t),
                           uint32_t target, double base, struct br_cand *h, uint32_t *used)
{
	size_t n = 0, k;
	double num = 0, den = 0;

	for (k = 0; k < c->n; k++) {
		double s = sim(r, target, c->idx[k]);
		if (s > 0)
			br_knn_offer(h, &n, r->p.k, (struct br_cand){s, (uint32_t)k, (uint32_t)k});
	}
	for (k = 0; k < n; k++) {
		num += h[k].s * (c->val[h[k].idx] - br_vec_mean(&means[c->idx[h[k].idx]]));
		den += h[k].s;
	}
	if (used)
		*used = (uint32_t)n;
	return base + (den > 0 ? num / den : 0);
}

/* User-based, u's similarities already accumulated: the users who have i vote. */
static bool predict_user_from_sims(struct br_reco *r, uint32_t u, uint32_t i, struct br_cand *h,
                                   double *est, uint32_t *used)
{
	const struct br_matrix *m = &r->m;

	if (i >= m->nitems || m->cols[i].n == 0)
		return false;
	*est = knn_estimate(r, &m->cols[i], m->rows, br_knn_user_sim, u, br_vec_mean(&m->rows[u]),
	                    h, used);
	return true;
}

/* Item-based: the items u has vote, by their similarity to i. */
static bool predict_item(struct br_reco *r, uint32_t u, uint32_t i, struct br_cand *h, double *est,
                         uint32_t *used)
{
	const struct br_matrix *m = &r->m;

	br_knn_item_sims(r, i);
	*est = knn_estimate(r, &m->rows[u], m->cols, br_knn_item_sim, i, br_vec_mean(&m->cols[i]),
	                    h, used);
	return true;
}

bool br_predict(struct br_reco *r, uint32_t u, uint32_t i, bool item_based, double *est,
                uint32_t *used)
{
	struct br_cand *h;
	bool ok;

	if (used)
		*used = 0;
	if (u >= r->m.nusers || i >= r->m.nitems || r->m.rows[u].n == 0 || r->m.cols[i].n == 0)
		return false;
	if (br_knn_scratch(r) || !(h = malloc(r->p.k * sizeof *h)))
		return false;
	if (item_based) {
		ok = predict_item(r, u, i, h, est, used);
	} else {
		br_knn_user_sims(r, u);
		ok = predict_user_from_sims(r, u, i, h, est, used);
	}
	free(h);
	return ok;
}

int br_predict_user(struct br_reco *r, uint32_t u, const uint32_t *items, size_t n, double *est,
                    bool *ok)
{
	struct br_cand *h;
	size_t k;

	for (k = 0; k < n; k++)
		ok[k] = false;
	if (u >= r->m.nusers || r->m.rows[u].n == 0)
		return PC_OK;
	if (br_knn_scratch(r) || !(h = malloc(r->p.k * sizeof *h)))
		return PC_ERR_NOMEM;
	br_knn_user_sims(r, u);
	for (k = 0; k < n; k++)
		ok[k] = predict_user_from_sims(r, u, items[k], h, &est[k], NULL);
	free(h);
	return PC_OK;
}

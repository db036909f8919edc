/*
 * recommend.c - similarities, kNN prediction and top-N (see recommend.h).
 *
 * Everything is computed from the sparse matrix on demand. A user's
 * similarities to every other user come from one pass over the columns of
 * the items the user has (the users that share nothing are never
 * visited): six accumulators per neighbour (n, sums, sums of squares, the
 * cross product) of the values, centred first for adjusted cosine, give
 * each similarity in O(1). Item-based kNN does the same over rows and
 * caches each item's k nearest items until an update touches them.
 * Accumulators are reset lazily with a generation stamp, so a query costs
 * what it visits, not the size of the model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "recommend.h"

const char *const br_sim_names[] = {"cosine", "adjusted_cosine", "pearson", NULL};
const char *const br_algo_names[] = {"user_knn", "item_knn", "popular", NULL};

const char *br_sim_name(enum br_sim s)
{
	return (unsigned)s <= BR_SIM_PEARSON ? br_sim_names[s] : "?";
}

const char *br_algo_name(enum br_algo a)
{
	return (unsigned)a <= BR_ALGO_POPULAR ? br_algo_names[a] : "?";
}

const char *br_reason_name(enum br_reason r)
{
	switch (r) {
	case BR_REASON_USERS:
		return "similar_users";
	case BR_REASON_ITEMS:
		return "similar_items";
	case BR_REASON_POPULAR:
		return "popular";
	}
	return "?";
}

int br_reco_init(struct br_reco *r, const struct br_knn_params *p)
{
	memset(r, 0, sizeof *r);
	if (!p || p->k < 1 || !(p->shrinkage >= 0) || (unsigned)p->sim > BR_SIM_PEARSON)
		return PC_ERR_INVAL;
	br_matrix_init(&r->m);
	r->p = *p;
	r->pop_dirty = true;
	return PC_OK;
}

static void free_nbrs(struct br_reco *r)
{
	uint32_t k;

	for (k = 0; k < r->ncap; k++) {
		free(r->nbrs[k].item);
		free(r->nbrs[k].sim);
	}
	free(r->nbrs);
	r->nbrs = NULL;
	r->ncap = 0;
}

void br_reco_cleanup(struct br_reco *r)
{
	br_matrix_cleanup(&r->m);
	free(r->stamp);
	free(r->acc);
	free(r->touched);
	free(r->score);
	free(r->support);
	free(r->because);
	free(r->best);
	free_nbrs(r);
	free(r->pop);
	memset(r, 0, sizeof *r);
}

/* Scratch for max(nusers, nitems) entities. */
static int scratch(struct br_reco *r)
{
	size_t want = r->m.nusers > r->m.nitems ? r->m.nusers : r->m.nitems, cap;

	if (want <= r->scap)
		return PC_OK;
	cap = r->scap ? r->scap : 256;
	while (cap < want)
		cap *= 2;
	free(r->stamp);
	free(r->acc);
	free(r->touched);
	free(r->score);
	free(r->support);
	free(r->because);
	free(r->best);
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
static void next_gen(struct br_reco *r)
{
	if (++r->gen == 0) {
		memset(r->stamp, 0, r->scap * sizeof *r->stamp);
		r->gen = 1;
	}
}

int br_reco_update(struct br_reco *r, uint32_t u, uint32_t i, float v, bool set, float cap)
{
	bool created = false;
	uint32_t k;
	int rc = br_matrix_update(&r->m, u, i, v, set, cap, &created);

	if (rc != PC_OK)
		return rc;
	if (created)
		r->pop_dirty = true;
	if (i < r->ncap)
		r->nbrs[i].stale = true;
	for (k = 0; k < r->m.rows[u].n; k++)
		if (r->m.rows[u].idx[k] < r->ncap)
			r->nbrs[r->m.rows[u].idx[k]].stale = true;
	return PC_OK;
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
static uint32_t user_sims(struct br_reco *r, uint32_t u)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->rows[u];
	double mu = br_vec_mean(x);
	uint32_t nt = 0, k, l;

	next_gen(r);
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

static double user_sim_of(const struct br_reco *r, uint32_t u, uint32_t v)
{
	if (v == u || r->stamp[v] != r->gen)
		return 0;
	return sim_finish(&r->p, r->acc + 6 * (size_t)v, r->m.rows[u].sumsq, r->m.rows[v].sumsq);
}

/* The same over items: i's similarity to every item sharing a user. */
static uint32_t item_sims(struct br_reco *r, uint32_t i)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->cols[i];
	uint32_t nt = 0, k, l;

	next_gen(r);
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

static double item_sim_of(const struct br_reco *r, uint32_t i, uint32_t j)
{
	if (j == i || r->stamp[j] != r->gen)
		return 0;
	return sim_finish(&r->p, r->acc + 6 * (size_t)j, r->m.cols[i].sumsq, r->m.cols[j].sumsq);
}

/* ---- bounded selection: keep the best k of a stream ---- */

struct cand {
	double s;     /* higher is better */
	uint32_t ord; /* tie-break: lower is better */
	uint32_t idx;
};

/* Whether a is worse than b. */
static bool worse(const struct cand *a, const struct cand *b)
{
	return a->s < b->s || (a->s == b->s && a->ord > b->ord);
}

static void sift_down(struct cand *h, size_t n, size_t at)
{
	for (;;) {
		size_t l = 2 * at + 1, w = at;
		struct cand t;

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
static void heap_offer(struct cand *h, size_t *n, size_t k, struct cand c)
{
	size_t at;

	if (*n < k) {
		at = (*n)++;
		h[at] = c;
		while (at > 0 && worse(&h[at], &h[(at - 1) / 2])) {
			struct cand t = h[at];
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
static void heap_sort_best_first(struct cand *h, size_t n)
{
	while (n > 1) {
		struct cand t = h[0];
		h[0] = h[n - 1];
		h[n - 1] = t;
		sift_down(h, --n, 0);
	}
}

/* ---- prediction ---- */

static bool predict_user_from_sims(struct br_reco *r, uint32_t u, uint32_t i, struct cand *h,
                                   double *est, uint32_t *used)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *c;
	size_t n = 0, k;
	double num = 0, den = 0;

	if (i >= m->nitems || m->cols[i].n == 0)
		return false;
	c = &m->cols[i];
	for (k = 0; k < c->n; k++) {
		double s = user_sim_of(r, u, c->idx[k]);
		if (s > 0)
			heap_offer(h, &n, r->p.k, (struct cand){s, (uint32_t)k, (uint32_t)k});
	}
	for (k = 0; k < n; k++) {
		uint32_t v = c->idx[h[k].idx];
		num += h[k].s * (c->val[h[k].idx] - br_vec_mean(&m->rows[v]));
		den += h[k].s;
	}
	*est = br_vec_mean(&m->rows[u]) + (den > 0 ? num / den : 0);
	if (used)
		*used = (uint32_t)n;
	return true;
}

static bool predict_item(struct br_reco *r, uint32_t u, uint32_t i, struct cand *h, double *est,
                         uint32_t *used)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->rows[u];
	size_t n = 0, k;
	double num = 0, den = 0;

	item_sims(r, i);
	for (k = 0; k < x->n; k++) {
		double s = item_sim_of(r, i, x->idx[k]);
		if (s > 0)
			heap_offer(h, &n, r->p.k, (struct cand){s, (uint32_t)k, (uint32_t)k});
	}
	for (k = 0; k < n; k++) {
		uint32_t j = x->idx[h[k].idx];
		num += h[k].s * (x->val[h[k].idx] - br_vec_mean(&m->cols[j]));
		den += h[k].s;
	}
	*est = br_vec_mean(&m->cols[i]) + (den > 0 ? num / den : 0);
	if (used)
		*used = (uint32_t)n;
	return true;
}

bool br_predict(struct br_reco *r, uint32_t u, uint32_t i, bool item_based, double *est,
                uint32_t *used)
{
	struct cand *h;
	bool ok;

	if (used)
		*used = 0;
	if (u >= r->m.nusers || i >= r->m.nitems || r->m.rows[u].n == 0 || r->m.cols[i].n == 0)
		return false;
	if (scratch(r) || !(h = malloc(r->p.k * sizeof *h)))
		return false;
	if (item_based) {
		ok = predict_item(r, u, i, h, est, used);
	} else {
		user_sims(r, u);
		ok = predict_user_from_sims(r, u, i, h, est, used);
	}
	free(h);
	return ok;
}

int br_predict_user(struct br_reco *r, uint32_t u, const uint32_t *items, size_t n, double *est,
                    bool *ok)
{
	struct cand *h;
	size_t k;

	for (k = 0; k < n; k++)
		ok[k] = false;
	if (u >= r->m.nusers || r->m.rows[u].n == 0)
		return PC_OK;
	if (scratch(r) || !(h = malloc(r->p.k * sizeof *h)))
		return PC_ERR_NOMEM;
	user_sims(r, u);
	for (k = 0; k < n; k++)
		ok[k] = predict_user_from_sims(r, u, items[k], h, &est[k], NULL);
	free(h);
	return PC_OK;
}

/* ---- top-N ---- */

/* qsort order of popularity: more users first, then the lower index. */
static int cmp_pop(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int rebuild_pop(struct br_reco *r)
{
	const struct br_matrix *m = &r->m;
	uint32_t *np, k;
	struct cand *c;
	size_t nc = 0;

	if (!r->pop_dirty)
		return PC_OK;
	np = realloc(r->pop, (m->nitems ? m->nitems : 1) * sizeof *np);
	if (!np)
		return PC_ERR_NOMEM;
	r->pop = np;
	c = malloc((m->nitems ? m->nitems : 1) * sizeof *c);
	if (!c)
		return PC_ERR_NOMEM;
	for (k = 0; k < m->nitems; k++)
		if (m->cols[k].n)
			c[nc++] = (struct cand){(double)m->cols[k].n, k, k};
	qsort(c, nc, sizeof *c, cmp_pop);
	for (k = 0; k < nc; k++)
		r->pop[k] = c[k].idx;
	free(c);
	r->npop = (uint32_t)nc;
	r->pop_dirty = false;
	return PC_OK;
}

/* Mark u's own items in the stamp array (generation already fresh). */
static void mark_owned(struct br_reco *r, uint32_t u)
{
	uint32_t k;

	if (u >= r->m.nusers)
		return;
	for (k = 0; k < r->m.rows[u].n; k++) {
		uint32_t i = r->m.rows[u].idx[k];
		r->stamp[i] = r->gen;
		r->support[i] = UINT32_MAX; /* owned */
	}
}

static bool is_owned(const struct br_reco *r, uint32_t i)
{
	return r->stamp[i] == r->gen && r->support[i] == UINT32_MAX;
}

/* Add vote s for item i (fresh-generation scoring). */
static void vote(struct br_reco *r, uint32_t i, double s, uint32_t because, uint32_t *nt)
{
	if (r->stamp[i] != r->gen) {
		r->stamp[i] = r->gen;
		r->score[i] = 0;
		r->support[i] = 0;
		r->best[i] = -INFINITY;
		r->because[i] = UINT32_MAX;
		r->touched[(*nt)++] = i;
	} else if (r->support[i] == UINT32_MAX) {
		return;
	}
	r->score[i] += s;
	r->support[i]++;
	if (s > r->best[i]) {
		r->best[i] = s;
		r->because[i] = because;
	}
}

/* The k nearest users of u (positive similarity), best first, into nb; returns the count. */
static size_t nearest_users(struct br_reco *r, uint32_t u, struct cand *nb)
{
	uint32_t nt = user_sims(r, u), k;
	size_t n = 0;

	for (k = 0; k < nt; k++) {
		double s = user_sim_of(r, u, r->touched[k]);
		if (s > 0)
			heap_offer(nb, &n, r->p.k, (struct cand){s, r->touched[k], r->touched[k]});
	}
	heap_sort_best_first(nb, n);
	return n;
}

/* Make the neighbour list of item i current. */
static int item_nbrs(struct br_reco *r, uint32_t i, struct cand *h)
{
	struct br_item_nbrs *nb;
	uint32_t nt, k;
	size_t n = 0;

	if (i >= r->ncap) {
		uint32_t cap = r->ncap ? r->ncap : 64;
		struct br_item_nbrs *nn;
		while (cap <= i)
			cap *= 2;
		nn = realloc(r->nbrs, (size_t)cap * sizeof *nn);
		if (!nn)
			return PC_ERR_NOMEM;
		memset(nn + r->ncap, 0, (size_t)(cap - r->ncap) * sizeof *nn);
		for (k = r->ncap; k < cap; k++)
			nn[k].stale = true;
		r->nbrs = nn;
		r->ncap = cap;
	}
	nb = &r->nbrs[i];
	if (!nb->stale)
		return PC_OK;
	nt = item_sims(r, i);
	for (k = 0; k < nt; k++) {
		double s = item_sim_of(r, i, r->touched[k]);
		if (s > 0)
			heap_offer(h, &n, r->p.k, (struct cand){s, r->touched[k], r->touched[k]});
	}
	heap_sort_best_first(h, n);
	if (!nb->item || n > 0) {
		uint32_t *ni = realloc(nb->item, (n ? n : 1) * sizeof *ni);
		float *ns;
		if (!ni)
			return PC_ERR_NOMEM;
		nb->item = ni;
		ns = realloc(nb->sim, (n ? n : 1) * sizeof *ns);
		if (!ns)
			return PC_ERR_NOMEM;
		nb->sim = ns;
	}
	for (k = 0; k < n; k++) {
		nb->item[k] = h[k].idx;
		nb->sim[k] = (float)h[k].s;
	}
	nb->n = (uint32_t)n;
	nb->stale = false;
	return PC_OK;
}

/* Score candidates into r->score/support/because; returns the count touched, or -1. */
static long score_knn(struct br_reco *r, enum br_algo algo, uint32_t u, struct cand *h)
{
	const struct br_matrix *m = &r->m;
	const struct br_vec *x = &m->rows[u];
	uint32_t nt = 0, k, l;

	if (algo == BR_ALGO_USER_KNN) {
		size_t nn = nearest_users(r, u, h);
		double total = 0;

		for (k = 0; k < nn; k++)
			total += h[k].s;
		/* user_sims used the stamps for users: start a generation for items. */
		next_gen(r);
		mark_owned(r, u);
		for (k = 0; k < nn; k++) {
			const struct br_vec *y = &m->rows[h[k].idx];
			for (l = 0; l < y->n; l++)
				vote(r, y->idx[l], h[k].s * y->val[l] / total, h[k].idx, &nt);
		}
		return nt;
	}
	for (k = 0; k < x->n; k++)
		if (item_nbrs(r, x->idx[k], h))
			return -1;
	next_gen(r);
	mark_owned(r, u);
	for (k = 0; k < x->n; k++) {
		const struct br_item_nbrs *nb = &r->nbrs[x->idx[k]];
		for (l = 0; l < nb->n; l++)
			vote(r, nb->item[l], nb->sim[l] * x->val[k], x->idx[k], &nt);
	}
	return nt;
}

int br_topn(struct br_reco *r, enum br_algo algo, uint32_t u, size_t n, struct br_scored *out,
            size_t *nout)
{
	const struct br_matrix *m = &r->m;
	size_t hk = r->p.k > n ? r->p.k : n, got = 0, k;
	struct cand *h;
	long nt = 0;

	*nout = 0;
	if (n == 0)
		return PC_OK;
	if (scratch(r) || rebuild_pop(r))
		return PC_ERR_NOMEM;
	h = malloc(hk * sizeof *h);
	if (!h)
		return PC_ERR_NOMEM;
	if (algo != BR_ALGO_POPULAR && u < m->nusers && m->rows[u].n > 0) {
		nt = score_knn(r, algo, u, h);
		if (nt < 0) {
			free(h);
			return PC_ERR_NOMEM;
		}
		for (k = 0; k < (size_t)nt; k++) {
			uint32_t i = r->touched[k];
			heap_offer(h, &got, n, (struct cand){r->score[i], i, i});
		}
		heap_sort_best_first(h, got);
		for (k = 0; k < got; k++) {
			uint32_t i = h[k].idx;
			out[k] = (struct br_scored){
			    .item = i,
			    .score = h[k].s,
			    .reason = algo == BR_ALGO_USER_KNN ? BR_REASON_USERS : BR_REASON_ITEMS,
			    .support = r->support[i],
			    .because = algo == BR_ALGO_ITEM_KNN ? r->because[i] : UINT32_MAX,
			};
		}
	} else {
		next_gen(r);
		mark_owned(r, u);
	}
	/* Fill from popularity: skip owned items and those already chosen (stamped). */
	for (k = 0; k < r->npop && got < n; k++) {
		uint32_t i = r->pop[k];
		size_t l;
		bool dup = false;

		if (is_owned(r, i))
			continue;
		for (l = 0; l < got && !dup; l++)
			dup = out[l].item == i;
		if (dup)
			continue;
		out[got++] = (struct br_scored){
		    .item = i,
		    .score = m->nusers ? (double)m->cols[i].n / m->nusers : 0,
		    .reason = BR_REASON_POPULAR,
		    .support = m->cols[i].n,
		    .because = UINT32_MAX,
		};
	}
	free(h);
	*nout = got;
	return PC_OK;
}

size_t br_reco_bytes(const struct br_reco *r)
{
	size_t b = br_matrix_bytes(&r->m);
	uint32_t k;

	b += r->scap * (sizeof(uint32_t) * 4 + sizeof(double) * 8);
	b += (size_t)r->ncap * sizeof(struct br_item_nbrs);
	for (k = 0; k < r->ncap; k++)
		b += (size_t)r->nbrs[k].n * (sizeof(uint32_t) + sizeof(float));
	if (r->pop)
		b += (size_t)r->m.nitems * sizeof(uint32_t);
	return b;
}

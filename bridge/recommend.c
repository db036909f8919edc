/*
 * recommend.c - the model's life cycle and top-N (see recommend.h); the
 * similarities and predictions are in similarity.c (knn.h).
 *
 * Everything is computed from the sparse matrix on demand. Top-N by user
 * kNN takes the k nearest users and lets them vote with their values;
 * item kNN caches each item's k nearest items (marked stale when an
 * update touches the item or a user who has it) and lets the user's items
 * vote; popularity is a sorted list rebuilt only after a new cell. Owned
 * items are excluded with the same generation stamps the similarity pass
 * uses, so a query never clears an array.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "knn.h"
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
	br_knn_scratch_free(r);
	free_nbrs(r);
	free(r->pop);
	memset(r, 0, sizeof *r);
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

/* ---- top-N ---- */

/* qsort order of popularity: more users first, then the lower index. */
static int cmp_pop(const void *a, const void *b)
{
	const struct br_cand *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int rebuild_pop(struct br_reco *r)
{
	const struct br_matrix *m = &r->m;
	uint32_t *np, k;
	struct br_cand *c;
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
			c[nc++] = (struct br_cand){(double)m->cols[k].n, k, k};
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
static size_t nearest_users(struct br_reco *r, uint32_t u, struct br_cand *nb)
{
	uint32_t nt = br_knn_user_sims(r, u), k;
	size_t n = 0;

	for (k = 0; k < nt; k++) {
		double s = br_knn_user_sim(r, u, r->touched[k]);
		if (s > 0)
			br_knn_offer(nb, &n, r->p.k,
			             (struct br_cand){s, r->touched[k], r->touched[k]});
	}
	br_knn_sort(nb, n);
	return n;
}

/* Make the neighbour list of item i current. */
static int item_nbrs(struct br_reco *r, uint32_t i, struct br_cand *h)
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
	nt = br_knn_item_sims(r, i);
	for (k = 0; k < nt; k++) {
		double s = br_knn_item_sim(r, i, r->touched[k]);
		if (s > 0)
			br_knn_offer(h, &n, r->p.k,
			             (struct br_cand){s, r->touched[k], r->touched[k]});
	}
	br_knn_sort(h, n);
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
static long score_knn(struct br_reco *r, enum br_algo algo, uint32_t u, struct br_cand *h)
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
		br_knn_next_gen(r);
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
	br_knn_next_gen(r);
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
	struct br_cand *h;
	long nt = 0;

	*nout = 0;
	if (n == 0)
		return PC_OK;
	if (br_knn_scratch(r) || rebuild_pop(r))
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
			br_knn_offer(h, &got, n, (struct br_cand){r->score[i], i, i});
		}
		br_knn_sort(h, got);
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
		br_knn_next_gen(r);
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

/*
 * profile.c - portraits (see profile.h): counters per user, categories
 * per item, RFM percentile tables and segment evaluation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "profile.h"

int br_profiles_init(struct br_profiles *pf)
{
	memset(pf, 0, sizeof *pf);
	pf->rfm_dirty = true;
	return br_ids_init(&pf->cats);
}

static void free_segments(char **ids, struct br_rule **rules, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		free(ids[k]);
		br_rule_free(rules[k]);
	}
}

void br_profiles_cleanup(struct br_profiles *pf)
{
	int k;

	free(pf->u);
	free(pf->item_cat);
	br_ids_cleanup(&pf->cats);
	for (k = 0; k < 3; k++)
		free(pf->rfm_sorted[k]);
	free_segments(pf->seg_id, pf->seg_rule, pf->nseg);
	memset(pf, 0, sizeof *pf);
}

int br_profiles_set_segments(struct br_profiles *pf, const struct br_config *c, char *err,
                             size_t errlen)
{
	char *ids[BR_MAX_SEGMENTS] = {0};
	struct br_rule *rules[BR_MAX_SEGMENTS] = {0};
	size_t k;
	int rc;

	for (k = 0; k < c->nsegments; k++) {
		if ((rc = br_rule_parse(c->segments[k].spec, &rules[k], err, errlen)) != PC_OK ||
		    !(ids[k] = strdup(c->segments[k].id))) {
			free_segments(ids, rules, k + 1);
			return rc != PC_OK ? rc : PC_ERR_NOMEM;
		}
	}
	free_segments(pf->seg_id, pf->seg_rule, pf->nseg);
	memcpy(pf->seg_id, ids, sizeof ids);
	memcpy(pf->seg_rule, rules, sizeof rules);
	pf->nseg = c->nsegments;
	return PC_OK;
}

/* Make *arr (elements of size elem, *n in use, *cap allocated) hold index at, zero-filled. */
static int grow_zeroed(void **arr, uint32_t *n, uint32_t *cap, uint32_t at, size_t elem)
{
	uint32_t ncap;
	void *na;

	if (at < *n)
		return PC_OK;
	if (at >= *cap) {
		ncap = *cap ? *cap : 64;
		while (ncap <= at)
			ncap *= 2;
		na = realloc(*arr, (size_t)ncap * elem);
		if (!na)
			return PC_ERR_NOMEM;
		*arr = na;
		*cap = ncap;
	}
	memset((char *)*arr + (size_t)*n * elem, 0, (size_t)(at + 1 - *n) * elem);
	*n = at + 1;
	return PC_OK;
}

static int grow_users(struct br_profiles *pf, uint32_t u)
{
	return grow_zeroed((void **)&pf->u, &pf->nusers, &pf->ucap, u, sizeof *pf->u);
}

static int grow_items(struct br_profiles *pf, uint32_t i)
{
	return grow_zeroed((void **)&pf->item_cat, &pf->nitems, &pf->icap, i, sizeof *pf->item_cat);
}

int br_profiles_event(struct br_profiles *pf, uint32_t u, uint32_t i, const struct br_event *e)
{
	struct br_user_stats *s;
	uint32_t cat = 0;

	if (grow_users(pf, u) || grow_items(pf, i))
		return PC_ERR_NOMEM;
	if (e->category[0] &&
	    br_ids_intern(&pf->cats, e->category, strlen(e->category), &cat, NULL))
		return PC_ERR_NOMEM;
	if (e->category[0])
		pf->item_cat[i] = cat + 1;
	s = &pf->u[u];
	s->events++;
	if (e->ts_ms > s->last_event_ms)
		s->last_event_ms = e->ts_ms;
	if (e->type == BR_EVT_PURCHASE) {
		s->purchases++;
		s->spend += e->has_value ? e->value : 1;
		if (e->ts_ms > s->last_purchase_ms)
			s->last_purchase_ms = e->ts_ms;
		pf->rfm_dirty = true;
	}
	return PC_OK;
}

int br_profiles_set_optout(struct br_profiles *pf, uint32_t u, bool optout)
{
	if (grow_users(pf, u))
		return PC_ERR_NOMEM;
	pf->u[u].optout = optout;
	return PC_OK;
}

bool br_profiles_optout(const struct br_profiles *pf, uint32_t u)
{
	return u < pf->nusers && pf->u[u].optout;
}

const struct br_user_stats *br_profiles_stats(const struct br_profiles *pf, uint32_t u)
{
	return u < pf->nusers ? &pf->u[u] : NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int rebuild_rfm(struct br_profiles *pf)
{
	uint32_t k, n = 0;
	int t;

	for (t = 0; t < 3; t++) {
		double *nv = realloc(pf->rfm_sorted[t], (pf->nusers ? pf->nusers : 1) * sizeof *nv);
		if (!nv)
			return PC_ERR_NOMEM;
		pf->rfm_sorted[t] = nv;
	}
	for (k = 0; k < pf->nusers; k++) {
		const struct br_user_stats *s = &pf->u[k];
		if (!s->purchases)
			continue;
		pf->rfm_sorted[0][n] = (double)s->last_purchase_ms;
		pf->rfm_sorted[1][n] = s->purchases;
		pf->rfm_sorted[2][n] = s->spend;
		n++;
	}
	for (t = 0; t < 3; t++)
		qsort(pf->rfm_sorted[t], n, sizeof(double), cmp_double);
	pf->nrfm = n;
	pf->rfm_dirty = false;
	return PC_OK;
}

int br_rfm_score(const double *sorted, uint32_t n, double value)
{
	uint32_t lo = 0, hi = n, less, upto;
	double p;
	int s;

	if (n == 0)
		return 0;
	while (lo < hi) { /* first >= value */
		uint32_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	less = lo;
	hi = n;
	while (lo < hi) { /* first > value */
		uint32_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] <= value)
			lo = mid + 1;
		else
			hi = mid;
	}
	upto = lo;
	p = ((double)less + 0.5 * (double)(upto - less)) / (double)n;
	s = 1 + (int)floor(5 * p);
	return s > 5 ? 5 : s;
}

struct tag_ctx {
	const struct br_profiles *pf;
	const struct br_portrait *p;
};

static bool has_tag(void *arg, const char *tag)
{
	const struct tag_ctx *t = arg;
	uint32_t idx, k;

	if (br_ids_find(&t->pf->cats, tag, strlen(tag), &idx) != PC_OK)
		return false;
	for (k = 0; k < t->p->ntags; k++)
		if (t->p->tag[k] == idx)
			return true;
	return false;
}

int br_portrait_compute(struct br_profiles *pf, const struct br_matrix *m, uint32_t u,
                        int64_t now_ms, uint32_t tags_top, struct br_portrait *out)
{
	static const struct br_user_stats none;
	const struct br_user_stats *s = u < pf->nusers ? &pf->u[u] : &none;
	struct br_rule_input in;
	struct tag_ctx tc = {pf, out};
	double w[BR_TAGS_MAX];
	uint32_t k, l;
	size_t g;

	memset(out, 0, sizeof *out);
	if (tags_top > BR_TAGS_MAX)
		tags_top = BR_TAGS_MAX;
	if (pf->rfm_dirty && rebuild_rfm(pf))
		return PC_ERR_NOMEM;
	/* Tags: categories by summed value, kept as a small sorted top list. */
	if (u < m->nusers && tags_top > 0) {
		const struct br_vec *row = &m->rows[u];
		double *acc = calloc(pf->cats.n ? pf->cats.n : 1, sizeof *acc);
		if (!acc)
			return PC_ERR_NOMEM;
		for (k = 0; k < row->n; k++) {
			uint32_t i = row->idx[k];
			if (i < pf->nitems && pf->item_cat[i])
				acc[pf->item_cat[i] - 1] += row->val[k];
		}
		for (k = 0; k < pf->cats.n; k++) {
			if (!(acc[k] > 0))
				continue;
			for (l = out->ntags; l > 0 && (w[l - 1] < acc[k]); l--)
				;
			if (l >= tags_top)
				continue;
			if (out->ntags < tags_top)
				out->ntags++;
			memmove(&out->tag[l + 1], &out->tag[l],
			        (out->ntags - 1 - l) * sizeof out->tag[0]);
			memmove(&w[l + 1], &w[l], (out->ntags - 1 - l) * sizeof w[0]);
			out->tag[l] = k;
			w[l] = acc[k];
		}
		free(acc);
	}
	out->recency_days = -1;
	if (s->purchases) {
		out->rfm[0] =
		    br_rfm_score(pf->rfm_sorted[0], pf->nrfm, (double)s->last_purchase_ms);
		out->rfm[1] = br_rfm_score(pf->rfm_sorted[1], pf->nrfm, s->purchases);
		out->rfm[2] = br_rfm_score(pf->rfm_sorted[2], pf->nrfm, s->spend);
		out->recency_days = (double)(now_ms - s->last_purchase_ms) / 86400000.0;
		if (out->recency_days < 0)
			out->recency_days = 0;
	}
	memset(&in, 0, sizeof in);
	in.field[BR_F_RFM_R] = out->rfm[0];
	in.field[BR_F_RFM_F] = out->rfm[1];
	in.field[BR_F_RFM_M] = out->rfm[2];
	in.field[BR_F_PURCHASES] = s->purchases;
	in.field[BR_F_EVENTS] = s->events;
	in.field[BR_F_SPEND] = s->spend;
	in.field[BR_F_RECENCY_DAYS] = s->purchases ? out->recency_days : 1e9;
	in.field[BR_F_ITEMS] = u < m->nusers ? m->rows[u].n : 0;
	in.has_tag = has_tag;
	in.arg = &tc;
	for (g = 0; g < pf->nseg; g++)
		if (br_rule_eval(pf->seg_rule[g], &in))
			out->segments |= UINT64_C(1) << g;
	return PC_OK;
}

/*
 * experiment.c - variant specs, assignment and conversion accounting
 * (see experiment.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "precis/error.h"
#include "precis/hmap.h"

/* Fixed key: assignments must not change between runs or hosts. */
static const uint8_t assign_key[16] = {'p', 'r', 'e', 'c', 'i', 's', '-', 'a',
                                       'b', '-', 'a', 's', 's', 'i', 'g', 'n'};

struct exp_user {
	uint8_t variant;
	bool converted;
	uint8_t n;
	uint32_t item[BR_EXP_ITEMS];
	int64_t at[BR_EXP_ITEMS];
};

static const char *const algo_words[] = {"user_knn", "item_knn", "popular", "none", NULL};

int br_variants_parse(const char *spec, struct br_variant *out, size_t *n, char *err, size_t errlen)
{
	const char *p = spec;
	double total = 0;
	size_t k, ctl = SIZE_MAX, holdout = SIZE_MAX;

	*n = 0;
	while (p && *p) {
		struct br_variant *v = &out[*n];
		size_t len = 0, w;
		char *end;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (*n == BR_MAX_VARIANTS)
			return pc_errf(err, errlen, PC_ERR_INVAL, "more than %d variants",
			               BR_MAX_VARIANTS);
		memset(v, 0, sizeof *v);
		while (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '-')
			len++;
		if (len == 0 || len > BR_VARIANT_ID_MAX)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "variant %zu: expected an id (1-16 of [A-Za-z0-9_-])",
			               *n + 1);
		memcpy(v->id, p, len);
		p += len;
		if (*p == '*') {
			v->control = true;
			p++;
		}
		if (*p++ != '=')
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "variant %s: expected '=' after the id", v->id);
		for (w = 0; algo_words[w]; w++)
			if (strncmp(p, algo_words[w], strlen(algo_words[w])) == 0 &&
			    p[strlen(algo_words[w])] == ':')
				break;
		if (!algo_words[w])
			return pc_errf(
			    err, errlen, PC_ERR_INVAL,
			    "variant %s: expected user_knn, item_knn, popular or none, then ':'",
			    v->id);
		v->algo = w == 3 ? BR_ALGO_NONE : (int)w;
		p += strlen(algo_words[w]) + 1;
		v->percent = strtod(p, &end);
		if (end == p || !(v->percent > 0) || v->percent > 100)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "variant %s: expected a percent in (0, 100]", v->id);
		p = end;
		if (*p && !isspace((unsigned char)*p))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "variant %s: junk after the percent", v->id);
		for (k = 0; k < *n; k++)
			if (strcmp(out[k].id, v->id) == 0)
				return pc_errf(err, errlen, PC_ERR_INVAL, "variant %s given twice",
				               v->id);
		if (v->control) {
			if (ctl != SIZE_MAX)
				return pc_errf(err, errlen, PC_ERR_INVAL, "two controls (%s, %s)",
				               out[ctl].id, v->id);
			ctl = *n;
		}
		if (v->algo == BR_ALGO_NONE && holdout == SIZE_MAX)
			holdout = *n;
		total += v->percent;
		(*n)++;
	}
	if (*n == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no variants");
	if (fabs(total - 100) > 1e-6)
		return pc_errf(err, errlen, PC_ERR_INVAL, "percentages sum to %g, not 100", total);
	if (ctl == SIZE_MAX)
		out[holdout != SIZE_MAX ? holdout : *n - 1].control = true;
	return PC_OK;
}

size_t br_assign(const char *exp, const char *user, const struct br_variant *v, size_t n)
{
	char buf[2 * PC_ID_MAX + 2];
	size_t le = strlen(exp), lu = strlen(user), k;
	double bucket, edge = 0;

	if (le > PC_ID_MAX)
		le = PC_ID_MAX;
	if (lu > PC_ID_MAX)
		lu = PC_ID_MAX;
	memcpy(buf, exp, le);
	buf[le] = '\0'; /* the separator no id contains */
	memcpy(buf + le + 1, user, lu);
	bucket = (double)(pc_siphash(assign_key, buf, le + 1 + lu, 2, 4) % 10000);
	for (k = 0; k + 1 < n; k++) {
		edge += v[k].percent * 100;
		if (bucket < edge)
			return k;
	}
	return n - 1;
}

int br_experiment_init(struct br_experiment *e, const char *id, const struct br_variant *v,
                       size_t n, int64_t window_ms)
{
	size_t k;

	memset(e, 0, sizeof *e);
	if (n < 1 || n > BR_MAX_VARIANTS || strlen(id) > PC_ID_MAX || window_ms < 0)
		return PC_ERR_INVAL;
	strcpy(e->id, id);
	memcpy(e->v, v, n * sizeof *v);
	e->nv = n;
	e->control = n - 1;
	for (k = 0; k < n; k++)
		if (v[k].control)
			e->control = k;
	e->window_ms = window_ms;
	e->users = pc_hmap_new(0);
	return e->users ? PC_OK : PC_ERR_NOMEM;
}

void br_experiment_cleanup(struct br_experiment *e)
{
	size_t cur = 0;
	void *val;

	while (e->users && pc_hmap_next(e->users, &cur, NULL, NULL, &val))
		free(val);
	pc_hmap_free(e->users);
	e->users = NULL;
}

size_t br_experiment_variant(const struct br_experiment *e, const char *user)
{
	return br_assign(e->id, user, e->v, e->nv);
}

int br_experiment_expose(struct br_experiment *e, const char *user, const uint32_t *items, size_t n,
                         int64_t now_ms)
{
	struct exp_user *u = pc_hmap_get(e->users, user, strlen(user));
	size_t k, l;

	if (!u) {
		u = calloc(1, sizeof *u);
		if (!u)
			return -1;
		u->variant = (uint8_t)br_experiment_variant(e, user);
		if (pc_hmap_put(e->users, user, strlen(user), u, NULL) != PC_OK) {
			free(u);
			return -1;
		}
		e->st[u->variant].exposures++;
		e->version++;
	}
	for (k = 0; k < n; k++) {
		for (l = 0; l < u->n && u->item[l] != items[k]; l++)
			;
		if (l == u->n) {
			if (u->n == BR_EXP_ITEMS) { /* forget the oldest push */
				size_t old = 0, m;
				for (m = 1; m < u->n; m++)
					if (u->at[m] < u->at[old])
						old = m;
				l = old;
			} else {
				u->n++;
			}
			u->item[l] = items[k];
		}
		u->at[l] = now_ms;
	}
	return u->variant;
}

bool br_experiment_purchase(struct br_experiment *e, const char *user, uint32_t item,
                            int64_t now_ms)
{
	struct exp_user *u = pc_hmap_get(e->users, user, strlen(user));
	size_t l;

	if (!u || u->converted)
		return false;
	for (l = 0; l < u->n; l++) {
		if (u->item[l] == item && now_ms >= u->at[l] && now_ms - u->at[l] <= e->window_ms) {
			u->converted = true;
			e->st[u->variant].conversions++;
			e->version++;
			return true;
		}
	}
	return false;
}

bool br_lift(uint64_t c1, uint64_t n1, uint64_t c0, uint64_t n0, double *lift, double *lo,
             double *hi)
{
	double p1, p0, se;

	if (!n1 || !n0 || !c0)
		return false;
	p1 = (double)c1 / (double)n1;
	p0 = (double)c0 / (double)n0;
	se = sqrt(p1 * (1 - p1) / (double)n1 + p0 * (1 - p0) / (double)n0);
	*lift = (p1 - p0) / p0;
	*lo = (p1 - p0 - 1.959964 * se) / p0;
	*hi = (p1 - p0 + 1.959964 * se) / p0;
	return true;
}

void br_experiment_report(const struct br_experiment *e, struct br_variant_report *out)
{
	const struct br_variant_stats *c = &e->st[e->control];
	size_t k;

	for (k = 0; k < e->nv; k++) {
		const struct br_variant_stats *s = &e->st[k];
		struct br_variant_report *r = &out[k];

		memset(r, 0, sizeof *r);
		r->exposures = s->exposures;
		r->conversions = s->conversions;
		r->rate = s->exposures ? (double)s->conversions / (double)s->exposures : 0;
		if (k != e->control)
			r->has_lift = br_lift(s->conversions, s->exposures, c->conversions,
			                      c->exposures, &r->lift, &r->lift_lo, &r->lift_hi);
	}
}

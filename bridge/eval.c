/*
 * eval.c - the eval subcommand (see eval.h).
 *
 *   precis-bridge eval --ratings FILE [--split kfold:5 | holdout:0.2]
 *                      [--test FILE] [--algo user_knn] [--similarity pearson]
 *                      [--k 40] [--min_support 1] [--shrinkage 0] [--n 10]
 *                      [--relevant 0] [--seed 1] [--json]
 *
 * Files are CSV or TSV lines `user,item,value[,ts]` (a first line whose
 * value is not a number is a header). With --test the ratings file is the
 * training set and FILE the test set (one predefined split); otherwise
 * the ratings are split here. k-fold reports RMSE and MAE per fold and
 * their means; a holdout (or --test) also reports precision, recall,
 * nDCG and hit rate at N and the catalogue coverage, with relevant test
 * items those whose value is >= --relevant. Predictions follow
 * scikit-surprise's conventions: unknown users or items get the training
 * mean, and estimates are clipped to the training set's value range.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "eval.h"
#include "ids.h"
#include "metrics.h"
#include "precis/error.h"
#include "precis/options.h"
#include "recommend.h"

struct rating {
	uint32_t u, i;
	float v;
};

struct dataset {
	struct rating *r;
	size_t n, cap;
};

struct eval_opts {
	char *ratings, *test, *split, *shrinkage_s;
	int algo, sim;
	int64_t k, min_support, n, seed;
	char *relevant_s;
	bool json;
};

#define OFF(f) offsetof(struct eval_opts, f)
static const struct pc_opt_def eval_defs[] = {
    {"ratings", PC_OPT_STRING, OFF(ratings), "", 0, 4096, NULL, "ratings file"},
    {"test", PC_OPT_STRING, OFF(test), "", 0, 4096, NULL, "test file (predefined split)"},
    {"split", PC_OPT_STRING, OFF(split), "kfold:5", 1, 64, NULL, "kfold:K or holdout:F"},
    {"algo", PC_OPT_ENUM, OFF(algo), "user_knn", 0, 0, br_algo_names, "recommender"},
    {"similarity", PC_OPT_ENUM, OFF(sim), "pearson", 0, 0, br_sim_names, "similarity"},
    {"k", PC_OPT_INT, OFF(k), "40", 1, 100000, NULL, "neighbours"},
    {"min_support", PC_OPT_INT, OFF(min_support), "1", 1, 1000000, NULL, "min support"},
    {"shrinkage", PC_OPT_STRING, OFF(shrinkage_s), "0", 1, 32, NULL, "shrinkage"},
    {"n", PC_OPT_INT, OFF(n), "10", 1, 1000, NULL, "list length of the top-N metrics"},
    {"relevant", PC_OPT_STRING, OFF(relevant_s), "0", 1, 32, NULL, "relevance threshold"},
    {"seed", PC_OPT_INT, OFF(seed), "1", 0, INT64_MAX, NULL, "split seed"},
    {"json", PC_OPT_BOOL, OFF(json), "false", 0, 0, NULL, "one JSON summary line at the end"},
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The usage on stderr after msg (exit 2), or on stdout for --help (msg NULL, exit 0). */
static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "precis-bridge eval: %s\n", msg);
	fprintf(
	    msg ? stderr : stdout,
	    "usage: precis-bridge eval --ratings FILE [--test FILE] [--split kfold:K|holdout:F]\n"
	    "         [--algo user_knn|item_knn|popular] [--similarity "
	    "cosine|adjusted_cosine|pearson]\n"
	    "         [--k N] [--min-support N] [--shrinkage X] [--n N] [--relevant X] [--seed S] "
	    "[--json]\n"
	    "       precis-bridge eval --help\n");
	return msg ? 2 : 0;
}

/* Split line into up to 4 fields at ',' or '\t' (in place); returns the count. */
static int fields(char *line, char **f)
{
	int n = 0;
	char *p = line;

	while (n < 4) {
		f[n++] = p;
		p += strcspn(p, ",\t");
		if (!*p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int load(const char *path, struct br_ids *users, struct br_ids *items, struct dataset *d)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "precis-bridge eval: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *fv[4];
		double v;
		int nf;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		nf = fields(line, fv);
		if (nf < 3 || !*fv[0] || !*fv[1] || br_parse_double(fv[2], &v) != PC_OK) {
			if (lineno == 1 && nf >= 3)
				continue; /* a header */
			fprintf(stderr,
			        "precis-bridge eval: %s:%ld: expected user,item,value[,ts]\n", path,
			        lineno);
			rc = 2;
			break;
		}
		if (d->n == d->cap) {
			size_t ncap = d->cap ? d->cap * 2 : 4096;
			struct rating *nr = realloc(d->r, ncap * sizeof *nr);
			if (!nr) {
				rc = 1;
				break;
			}
			d->r = nr;
			d->cap = ncap;
		}
		if (br_ids_intern(users, fv[0], strlen(fv[0]), &d->r[d->n].u, NULL) ||
		    br_ids_intern(items, fv[1], strlen(fv[1]), &d->r[d->n].i, NULL)) {
			rc = 1;
			break;
		}
		d->r[d->n].v = (float)v;
		d->n++;
	}
	free(line);
	fclose(f);
	if (rc == 0 && d->n == 0) {
		fprintf(stderr, "precis-bridge eval: %s: no ratings\n", path);
		rc = 2;
	}
	return rc;
}

struct run {
	const struct eval_opts *o;
	struct br_knn_params p;
	double relevant;
	uint32_t nitems;
};

struct result {
	struct br_err_acc err;
	struct br_rank_acc rank;
	double coverage, seconds;
	size_t ntrain, ntest;
	bool ranked;
};

static int cmp_by_user(const void *a, const void *b)
{
	const struct rating *x = a, *y = b;

	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Train on train[0..ntrain), score test[0..ntest) (sorted by user here). */
static int evaluate(const struct run *run, const struct rating *train, size_t ntrain,
                    struct rating *test, size_t ntest, bool rank, struct result *res)
{
	struct br_reco r;
	double sum = 0, lo = INFINITY, hi = -INFINITY, mean, t0 = now_s();
	size_t k, at;
	uint32_t *items = NULL, *rel = NULL, *seen = NULL;
	double *est = NULL;
	bool *ok = NULL;
	struct br_scored *top = NULL;
	uint64_t covered = 0;
	int rc = 2;

	memset(res, 0, sizeof *res);
	if (br_reco_init(&r, &run->p) != PC_OK)
		return 2;
	for (k = 0; k < ntrain; k++) {
		if (br_reco_update(&r, train[k].u, train[k].i, train[k].v, true, 0) != PC_OK)
			goto out;
		sum += train[k].v;
		lo = train[k].v < lo ? train[k].v : lo;
		hi = train[k].v > hi ? train[k].v : hi;
	}
	mean = ntrain ? sum / (double)ntrain : 0;
	qsort(test, ntest, sizeof *test, cmp_by_user);
	items = malloc((ntest + 1) * sizeof *items);
	rel = malloc((ntest + 1) * sizeof *rel);
	est = malloc((ntest + 1) * sizeof *est);
	ok = malloc((ntest + 1) * sizeof *ok);
	top = malloc((size_t)run->o->n * sizeof *top);
	seen = calloc(run->nitems + 1, sizeof *seen);
	if (!items || !rel || !est || !ok || !top || !seen)
		goto out;
	for (at = 0; at < ntest;) {
		uint32_t u = test[at].u;
		size_t n = 0, nrel = 0, l;

		while (at + n < ntest && test[at + n].u == u) {
			items[n] = test[at + n].i;
			if (test[at + n].v >= run->relevant)
				rel[nrel++] =
				    test[at + n].i; /* sorted: the test set is sorted by item */
			n++;
		}
		if (run->o->algo == BR_ALGO_USER_KNN) {
			if (br_predict_user(&r, u, items, n, est, ok) != PC_OK)
				goto out;
		} else {
			for (l = 0; l < n; l++) {
				if (run->o->algo == BR_ALGO_ITEM_KNN) {
					ok[l] = br_predict(&r, u, items[l], true, &est[l], NULL);
				} else {
					ok[l] = items[l] < r.m.nitems && r.m.cols[items[l]].n > 0;
					est[l] = ok[l] ? br_vec_mean(&r.m.cols[items[l]]) : 0;
				}
			}
		}
		for (l = 0; l < n; l++) {
			double e = ok[l] ? est[l] : mean;
			e = e < lo ? lo : e > hi ? hi : e;
			br_err_add(&res->err, e, test[at + l].v);
		}
		if (rank && nrel > 0) {
			size_t got;
			uint32_t rec[1000];
			if (br_topn(&r, (enum br_algo)run->o->algo, u, (size_t)run->o->n, top,
			            &got))
				goto out;
			for (l = 0; l < got; l++) {
				rec[l] = top[l].item;
				if (!seen[top[l].item]++)
					covered++;
			}
			br_rank_add(&res->rank, rec, got, rel, nrel, (size_t)run->o->n);
		}
		at += n;
	}
	res->ranked = rank;
	res->coverage = run->nitems ? (double)covered / run->nitems : 0;
	res->ntrain = ntrain;
	res->ntest = ntest;
	res->seconds = now_s() - t0;
	rc = 0;
out:
	free(items);
	free(rel);
	free(est);
	free(ok);
	free(top);
	free(seen);
	br_reco_cleanup(&r);
	if (rc)
		fprintf(stderr, "precis-bridge eval: out of memory\n");
	return rc;
}

static void print_result(const char *label, const struct result *res, size_t n)
{
	printf("%s: train %zu test %zu RMSE %.4f MAE %.4f", label, res->ntrain, res->ntest,
	       br_rmse(&res->err), br_mae(&res->err));
	if (res->ranked)
		printf(
		    " P@%zu %.4f R@%zu %.4f nDCG@%zu %.4f HR@%zu %.4f coverage %.4f (%llu users)",
		    n, br_rank_precision(&res->rank), n, br_rank_recall(&res->rank), n,
		    br_rank_ndcg(&res->rank), n, br_rank_hit_rate(&res->rank), res->coverage,
		    (unsigned long long)res->rank.users);
	printf(" (%.2f s)\n", res->seconds);
}

static int parse_split(const char *s, int *kfold, double *frac)
{
	int64_t k;

	if (strncmp(s, "kfold:", 6) == 0 && pc_parse_int(s + 6, &k) == PC_OK && k >= 2 &&
	    k <= 100) {
		*kfold = (int)k;
		return 0;
	}
	if (strncmp(s, "holdout:", 8) == 0 && br_parse_double(s + 8, frac) == PC_OK && *frac > 0 &&
	    *frac < 1) {
		*kfold = 0;
		return 0;
	}
	return -1;
}

int br_eval_main(int argc, char **argv)
{
	static const char *const bools[] = {"json", NULL};
	struct eval_opts o;
	struct pc_kv *kvs = calloc((size_t)argc, sizeof *kvs);
	struct br_ids users, items;
	struct dataset all = {0}, tst = {0};
	struct rating *train = NULL, *test = NULL;
	struct result res, mean_res;
	struct run run;
	char err[512], label[64];
	double t0 = now_s(), frac = 0;
	int kfold = 0, nkv, rc = 2, f;
	size_t j;

	memset(&o, 0, sizeof o);
	br_ids_init(&users);
	br_ids_init(&items);
	if (!kvs)
		goto out;
	for (int a = 1; a < argc; a++)
		if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
			rc = usage(NULL);
			goto out;
		}
	if (br_flags_check(argc - 1, argv + 1, eval_defs, sizeof eval_defs / sizeof eval_defs[0],
	                   NULL, bools, err, sizeof err) != PC_OK) {
		rc = usage(err);
		goto out;
	}
	nkv = br_args_kv(argc - 1, argv + 1, bools, kvs, err, sizeof err);
	if (nkv < 0) {
		rc = usage(err);
		goto out;
	}
	if (pc_opts_parse(eval_defs, sizeof eval_defs / sizeof eval_defs[0], kvs, (size_t)nkv, &o,
	                  "--", err, sizeof err) != PC_OK ||
	    br_parse_double(o.shrinkage_s, &run.p.shrinkage) != PC_OK || run.p.shrinkage < 0 ||
	    br_parse_double(o.relevant_s, &run.relevant) != PC_OK) {
		rc = usage(o.ratings && !*err ? "bad --shrinkage or --relevant" : err);
		goto out;
	}
	if (!*o.ratings) {
		rc = usage("--ratings is required");
		goto out;
	}
	if (!*o.test && parse_split(o.split, &kfold, &frac) != 0) {
		rc = usage("--split: expected kfold:K (2..100) or holdout:F (0 < F < 1)");
		goto out;
	}
	run.o = &o;
	run.p.sim = (enum br_sim)o.sim;
	run.p.k = (uint32_t)o.k;
	run.p.min_support = (uint32_t)o.min_support;
	if ((rc = load(o.ratings, &users, &items, &all)) != 0)
		goto out;
	if (*o.test && (rc = load(o.test, &users, &items, &tst)) != 0)
		goto out;
	run.nitems = items.n;
	printf("precis-bridge eval: %zu ratings, %u users, %u items; algo %s similarity %s k %u "
	       "min_support %u shrinkage %g\n",
	       all.n + tst.n, users.n, items.n, br_algo_name((enum br_algo)o.algo),
	       br_sim_name(run.p.sim), run.p.k, run.p.min_support, run.p.shrinkage);
	train = malloc((all.n + 1) * sizeof *train);
	test = malloc((all.n + tst.n + 1) * sizeof *test);
	if (!train || !test) {
		rc = 1;
		goto out;
	}
	rc = 2;
	if (*o.test) {
		memcpy(test, tst.r, tst.n * sizeof *test);
		if (evaluate(&run, all.r, all.n, test, tst.n, true, &res))
			goto out;
		print_result("test", &res, (size_t)o.n);
		mean_res = res;
	} else if (kfold) {
		uint32_t *fold = malloc(all.n * sizeof *fold);
		double rm = 0, ma = 0;
		if (!fold)
			goto out;
		br_split_kfold(fold, all.n, (uint32_t)kfold, (uint64_t)o.seed);
		for (f = 0; f < kfold; f++) {
			size_t ntr = 0, nte = 0;
			for (j = 0; j < all.n; j++) {
				if (fold[j] == (uint32_t)f)
					test[nte++] = all.r[j];
				else
					train[ntr++] = all.r[j];
			}
			if (evaluate(&run, train, ntr, test, nte, false, &res)) {
				free(fold);
				goto out;
			}
			snprintf(label, sizeof label, "fold %d/%d", f + 1, kfold);
			print_result(label, &res, (size_t)o.n);
			rm += br_rmse(&res.err);
			ma += br_mae(&res.err);
		}
		free(fold);
		memset(&mean_res, 0, sizeof mean_res);
		printf("mean: RMSE %.4f MAE %.4f\n", rm / kfold, ma / kfold);
		mean_res.err.n = 1;
		mean_res.err.sse = (rm / kfold) * (rm / kfold);
		mean_res.err.sae = ma / kfold;
	} else {
		bool *is_test = malloc(all.n * sizeof *is_test);
		size_t ntr = 0, nte = 0;
		if (!is_test)
			goto out;
		br_split_holdout(is_test, all.n, frac, (uint64_t)o.seed);
		for (j = 0; j < all.n; j++) {
			if (is_test[j])
				test[nte++] = all.r[j];
			else
				train[ntr++] = all.r[j];
		}
		free(is_test);
		if (evaluate(&run, train, ntr, test, nte, true, &res))
			goto out;
		print_result("holdout", &res, (size_t)o.n);
		mean_res = res;
	}
	printf("time: %.2f s\n", now_s() - t0);
	if (o.json) {
		printf("{\"rmse\":%.6f,\"mae\":%.6f", br_rmse(&mean_res.err),
		       br_mae(&mean_res.err));
		if (mean_res.ranked)
			printf(
			    ",\"precision\":%.6f,\"recall\":%.6f,\"ndcg\":%.6f,\"hit_rate\":%.6f,"
			    "\"coverage\":%.6f",
			    br_rank_precision(&mean_res.rank), br_rank_recall(&mean_res.rank),
			    br_rank_ndcg(&mean_res.rank), br_rank_hit_rate(&mean_res.rank),
			    mean_res.coverage);
		printf(",\"seconds\":%.3f}\n", now_s() - t0);
	}
	rc = 0;
out:
	free(kvs);
	free(all.r);
	free(tst.r);
	free(train);
	free(test);
	br_ids_cleanup(&users);
	br_ids_cleanup(&items);
	pc_opts_free(eval_defs, sizeof eval_defs / sizeof eval_defs[0], &o);
	return rc;
}

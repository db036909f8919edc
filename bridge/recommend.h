/*
 * recommend.h - collaborative filtering over the preference matrix.
 *
 * Pure computation, no I/O: the most tested part of the bridge. Given a
 * br_matrix (matrix.h) it offers
 *   - similarities between two users or two items: cosine (full vectors),
 *     adjusted cosine (mean-centred) and Pearson (over the co-rated
 *     entries), with a minimum support and a shrinkage term;
 *   - rating prediction by user- or item-based kNN with mean centring
 *     (the k most similar neighbours that rated the item, positive
 *     similarities only; the same estimator as scikit-surprise's
 *     KNNWithMeans, including its tie order);
 *   - top-N recommendation by user-based kNN (the k nearest users vote
 *     with their values), item-based kNN (each of the user's entries
 *     votes for its k nearest items) or popularity, excluding what the
 *     user already has, filled from popularity when kNN finds too few
 *     (cold-start users get popularity alone), each item with a reason.
 * The formulas are in docs/bridge.md. Scratch buffers live in the
 * struct br_reco, so queries are cheap but a br_reco serves one thread.
 */
#ifndef BRIDGE_RECOMMEND_H
#define BRIDGE_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matrix.h"

enum br_sim {
	BR_SIM_COSINE = 0, /* sum(xy) / (|x| |y|), norms over the whole vectors */
	BR_SIM_ADJUSTED,   /* cosine of values minus their mean (users: own mean; items: the user's)
	                    */
	BR_SIM_PEARSON,    /* Pearson correlation over the co-rated entries */
};

enum br_algo {
	BR_ALGO_USER_KNN = 0,
	BR_ALGO_ITEM_KNN,
	BR_ALGO_POPULAR,
};

/* Why an item is recommended. */
enum br_reason {
	BR_REASON_USERS = 0, /* similar users have it */
	BR_REASON_ITEMS,     /* it resembles an item the user has (because) */
	BR_REASON_POPULAR,   /* popular (cold start, or filling up) */
};

struct br_knn_params {
	enum br_sim sim;
	uint32_t k;           /* neighbours (>= 1) */
	uint32_t min_support; /* co-rated entries needed for a similarity; fewer: 0 */
	double shrinkage;     /* sim * n / (n + shrinkage); 0: none */
};

struct br_scored {
	uint32_t item;
	double score;
	enum br_reason reason;
	uint32_t support; /* neighbours (users) or user entries (items) behind the score */
	uint32_t because; /* BR_REASON_ITEMS: the user's item contributing most; else UINT32_MAX */
};

/* The neighbour list of one item, cached for item-based kNN. */
struct br_item_nbrs {
	uint32_t n;
	bool stale;
	uint32_t *item;
	float *sim;
};

struct br_reco {
	struct br_matrix m; /* owned; change it only through br_reco_update */
	struct br_knn_params p;
	/* scratch, sized to max(nusers, nitems) */
	size_t scap;
	uint32_t gen;
	uint32_t *stamp;
	double *acc; /* 6 accumulators per entity */
	uint32_t *touched;
	double *score;
	uint32_t *support;
	uint32_t *because;
	double *best;
	/* item-based kNN cache, nitems entries */
	struct br_item_nbrs *nbrs;
	uint32_t ncap;
	/* popularity order (distinct users, then index), rebuilt when dirty */
	uint32_t *pop;
	uint32_t npop;
	bool pop_dirty;
};

/*
 * br_reco_init - an empty model with parameters p (k >= 1, shrinkage >=
 * 0). Returns 0 or PC_ERR_INVAL. Release with br_reco_cleanup.
 */
int br_reco_init(struct br_reco *r, const struct br_knn_params *p);

/* br_reco_cleanup - free the matrix, the caches and the scratch. */
void br_reco_cleanup(struct br_reco *r);

/*
 * br_reco_update - br_matrix_update on the model's matrix, invalidating
 * what depends on the cell (popularity, the item neighbour lists of i and
 * of every item the user has). Same returns as br_matrix_update.
 */
int br_reco_update(struct br_reco *r, uint32_t u, uint32_t i, float v, bool set, float cap);

/*
 * br_sim_users / br_sim_items - the similarity of two users (two items)
 * under the model's parameters, computed directly from the two vectors
 * (the reference the fast paths are tested against). *support (may be
 * NULL) receives the number of co-rated entries. 0 when under the
 * minimum support or a norm is 0.
 */
double br_sim_users(const struct br_reco *r, uint32_t u, uint32_t v, uint32_t *support);
double br_sim_items(const struct br_reco *r, uint32_t i, uint32_t j, uint32_t *support);

/*
 * br_predict - estimate the value user u would give item i with kNN
 * (user-based when item_based is false), mean-centred. Returns true with
 * *est set; false when u or i is unknown, or i has no other entries, so
 * the caller decides the default (eval uses the global mean). *used (may
 * be NULL) receives the number of neighbours that contributed (0: the
 * estimate is the mean). Uses the scratch buffers.
 */
bool br_predict(struct br_reco *r, uint32_t u, uint32_t i, bool item_based, double *est,
                uint32_t *used);

/*
 * br_predict_user - br_predict (user-based) for n items of one user at
 * once, computing u's similarities once: est[k], ok[k] for items[k].
 * Returns PC_OK or PC_ERR_NOMEM.
 */
int br_predict_user(struct br_reco *r, uint32_t u, const uint32_t *items, size_t n, double *est,
                    bool *ok);

/*
 * br_topn - up to n recommendations for user u (any index; unknown users
 * are cold-start) into out (room for n), best first, by algo, excluding
 * the user's own items; kNN results are filled from popularity.
 * *nout receives the count. Returns PC_OK or PC_ERR_NOMEM.
 */
int br_topn(struct br_reco *r, enum br_algo algo, uint32_t u, size_t n, struct br_scored *out,
            size_t *nout);

/* br_sim_name / br_algo_name / br_reason_name - static names for logs and payloads. */
const char *br_sim_name(enum br_sim s);
const char *br_algo_name(enum br_algo a);
const char *br_reason_name(enum br_reason r);

/* The names above, NULL-terminated, in enum order (option tables). */
extern const char *const br_sim_names[];
extern const char *const br_algo_names[];

/* br_reco_bytes - heap bytes held by the model (matrix, caches, scratch). */
size_t br_reco_bytes(const struct br_reco *r);

#endif

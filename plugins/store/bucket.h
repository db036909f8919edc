/*
 * bucket.h - the pure core of the store: samples into buckets, buckets into updates.
 *
 * A batch of samples becomes one update per bucket touched. Each sample
 * goes to its device's slot (the slot holding its time); within a slot it
 * joins the newest bucket unless that bucket is at the cap (samples or
 * bytes), which opens the next one (seq + 1). The samples of one bucket
 * are coalesced into one update: $setOnInsert of the fixed fields, $push
 * $each of the samples, $inc of count and bytes, $min / $max of first and
 * last, and optionally per-field numeric stats. Layout in precis/bucket.h.
 * No I/O; the writer (writer.c) feeds it and sends the result.
 */
#ifndef PRECIS_STORE_BUCKET_H
#define PRECIS_STORE_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

#include "precis/topic.h"

/* Numeric stats track at most this many fields per bucket update. */
#define STORE_STATS_FIELDS_MAX 64
/* ...and only fields with names up to this long. */
#define STORE_STATS_KEY_MAX 64

struct store__caps {
	uint32_t max_samples; /* >= 1 */
	uint32_t max_bytes;   /* >= 1: sum of the samples' BSON sizes */
};

/* What a writer knows about the newest bucket of one slot. */
struct store__slot_state {
	uint32_t seq;
	uint32_t count;
	uint64_t bytes;
};

/* One sample of a batch, and where it goes. */
struct store__item {
	size_t coll; /* collection index (route.h) */
	char device[PC_ID_MAX + 1];
	size_t device_len;
	int64_t slot_start;
	uint32_t seq;     /* bucket within the slot, set by store__bucket_place */
	int64_t t_ms;     /* sample time */
	uint64_t rec_seq; /* spool record seq: the batch order */
	int64_t id;       /* sample id (pc_sample_id) */
	bson_t sample;    /* {i, t, d, [bin], [fix]} (store__sample_build) */
	bool stats_doc;   /* d is a document whose numbers feed stats */
	bool uncertain;   /* may already be stored (replay): check before writing */
	bool duplicate;   /* found already stored: not written again */
	bool opens;       /* the first sample of a bucket that does not exist yet */
	bool guess;       /* placed on the guess that its slot was empty (not read first) */
	bool retry;       /* its guessed insert found the bucket there: place it again */
	uint32_t expect;  /* count of its bucket before this batch (the update's guard) */
};

/*
 * store__bucket_place - the bucket seq a sample of size bytes joins in the
 * slot described by st, which it updates. A sample that alone exceeds the
 * byte cap still fills a bucket of its own; at PC_BUCKET_SEQ_MAX the last
 * bucket takes everything beyond the cap.
 */
uint32_t store__bucket_place(struct store__slot_state *st, uint32_t bytes,
                             const struct store__caps *caps);

/*
 * store__bucket_reopen - before a batch places n samples of bytes bytes
 * in the slot st describes: when its newest bucket already holds samples
 * and the batch alone brings at least half a bucket (n >= max_samples / 2
 * or bytes >= max_bytes / 2), move st to a new, empty bucket (seq + 1) and
 * return true: the batch then inserts whole buckets instead of rewriting
 * the old one (an update costs a server the size of the document it
 * grows; on FerretDB also a scan). The caller spreads the batch evenly
 * over the buckets it needs, so each holds at least half a bucket's
 * samples (unless the byte cap splits it further). false: st unchanged
 * (also at PC_BUCKET_SEQ_MAX).
 */
bool store__bucket_reopen(struct store__slot_state *st, uint32_t n, uint64_t bytes,
                          const struct store__caps *caps);

/*
 * store__sample_build - initialise out as the sample {i, t, d, ...}: d is
 * doc when doc is non-NULL, else the binary bin[0..bin_len) with bin:
 * true; fix is added when fixes > 0. Destroy out with bson_destroy.
 */
void store__sample_build(bson_t *out, int64_t id, int64_t t_ms, const bson_t *doc,
                         const uint8_t *bin, size_t bin_len, unsigned fixes);

/*
 * store__item_cmp - qsort order of struct store__item pointers: by
 * collection, device (shorter ids first, then bytewise), slot, seq, then
 * record seq, so the items of one bucket are adjacent and in arrival order.
 */
int store__item_cmp(const void *a, const void *b);

/* store__same_bucket - whether two items go to the same bucket document. */
bool store__same_bucket(const struct store__item *a, const struct store__item *b);

/*
 * store__bucket_update - initialise update as the coalesced update of the
 * n items (n >= 1, all in one bucket, in order) of a slot of slot_len_ms;
 * with stats, per-field min / max / sum / n of the numeric top-level
 * fields of their documents ("ts" excluded). Destroy with bson_destroy.
 */
void store__bucket_update(bson_t *update, struct store__item *const *items, size_t n,
                          int64_t slot_len_ms, bool stats);

/*
 * store__bucket_doc - initialise doc as the whole bucket holding exactly
 * the n items: what store__bucket_update makes of a missing document
 * (the same fields and values), for an insert, which servers do more
 * cheaply than an upsert. id is its _id. Destroy with bson_destroy.
 */
void store__bucket_doc(bson_t *doc, const char *id, struct store__item *const *items, size_t n,
                       int64_t slot_len_ms, bool stats);

#endif

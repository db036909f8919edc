/*
 * bucket_read.h - stream one device's samples from time-slot buckets, in time order.
 *
 * The read path of the store's data (layout in bucket.h): precisctl data
 * and the bridge call it. It fetches the buckets of one device that
 * overlap [from, to), slot by slot, and hands every sample in the range
 * to a callback in time order (ties: bucket seq, then arrival order).
 * Buckets of one slot are merged before anything is emitted, so memory
 * holds one slot's buckets at a time, never the whole range.
 *
 * Two ways to find the buckets. Knowing the slot length, it reads each
 * slot's buckets by _id (seq 0, 1, ... until one is missing): index seeks
 * on MongoDB, and the only lookup FerretDB pushes down to its storage
 * (any other filter makes it decode every document of the collection).
 * Without it, one find {device, start < to, end > from} sorted by
 * {start, seq}, which MongoDB answers from the device_start_seq index and
 * which works whatever the slot length was.
 */
#ifndef PRECIS_BUCKET_READ_H
#define PRECIS_BUCKET_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

struct _mongoc_collection_t;

/* One sample, valid only during the callback. */
struct pc_sample {
	const char *device;
	int64_t t_ms; /* sample time */
	int64_t id;   /* sample id (bucket.h) */
	bool binary;  /* true: bin/bin_len hold the raw payload; doc is NULL */
	const bson_t *doc;
	const uint8_t *bin;
	uint32_t bin_len;
	int32_t fixes;      /* values or keys the data rules rewrote (0: none) */
	int64_t slot_start; /* the bucket holding it */
	uint32_t seq;
};

/* Return 0 to go on; any other value stops the read, which then returns it. */
typedef int (*pc_sample_fn)(void *arg, const struct pc_sample *s);

struct pc_bucket_read_stats {
	uint64_t buckets; /* bucket documents read */
	uint64_t queries; /* finds sent */
	uint64_t samples; /* samples handed to the callback */
	uint64_t skipped; /* malformed buckets or samples ignored */
};

/*
 * pc_bucket_read - call fn(arg, sample) for every sample of device with
 * from_ms <= t < to_ms stored in coll, in time order. device must pass
 * pc_id_check. slot_ms is the slot length the buckets were written with
 * (plugin_opt_slot), or 0 when unknown (one range query instead of _id
 * lookups; see above). stats may be NULL. The collection is used on the caller's
 * thread only and stays the caller's. An empty range (to_ms <= from_ms)
 * reads nothing. Returns PC_OK when every sample was delivered, fn's
 * non-zero value when fn stopped the read, PC_ERR_INVAL (a bad device id),
 * PC_ERR_NOMEM, or PC_ERR_IO with the server's message in (err, errlen).
 */
int pc_bucket_read(struct _mongoc_collection_t *coll, const char *device, int64_t from_ms,
                   int64_t to_ms, int64_t slot_ms, pc_sample_fn fn, void *arg,
                   struct pc_bucket_read_stats *stats, char *err, size_t errlen);

#endif

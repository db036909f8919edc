/*
 * store.h - the bridge's writes to MongoDB, off the main thread.
 *
 * Documents for `recommendations`, `profiles`, `experiments`,
 * `campaigns` and `campaign_deliveries` are handed over as JSON with
 * their _id and written by one worker thread (a pc_supervisor: connect
 * with a timeout, ping, reconnect with backoff) as upserts by _id, in
 * bulk per collection. Pending documents are coalesced by (collection,
 * _id): a newer revision of a document replaces the one still waiting, so
 * a slow or absent MongoDB costs memory bounded by the number of distinct
 * documents (store_queue; new ones beyond it are dropped and counted),
 * never a stall of the main thread. While MongoDB is down the documents
 * wait and are written after it comes back. One writer per document, as
 * FerretDB's read-modify-write updates require.
 */
#ifndef BRIDGE_STORE_H
#define BRIDGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "precis/log.h"

struct br_store_stats {
	uint64_t queued, written, dropped, failed, batches;
	size_t pending;
	int up; /* 1 when connected */
};

struct br_store;

/*
 * br_store_new - start the writer for c's mongo_uri / mongo_db (c must
 * outlive it), logging to log (thread-safe sink). Returns NULL with
 * detail on a bad URI or database name, or when the thread cannot start.
 */
struct br_store *br_store_new(const struct br_config *c, const struct pc_logger *log, char *err,
                              size_t errlen);

/*
 * br_store_put - queue json[0..len) (an object without _id) as document
 * id of coll (copied). Any thread. Returns 0, or -1 when dropped (queue
 * full, an _id over 478 bytes, or out of memory; counted).
 */
int br_store_put(struct br_store *s, const char *coll, const char *id, const char *json,
                 size_t len);

/* br_store_stats - counters so far (any thread). */
void br_store_stats(struct br_store *s, struct br_store_stats *out);

/*
 * br_store_free - write what is pending (waiting up to timeout_ms for
 * MongoDB), stop the worker and free everything; documents still pending
 * after that are counted as dropped and logged. NULL is allowed.
 */
void br_store_free(struct br_store *s, int64_t timeout_ms);

#endif

/*
 * store.h - the bridge's writes to MongoDB, off the main thread.
 *
 * Documents for `recommendations`, `profiles`, `experiments`,
 * `campaigns` and `campaign_deliveries` are handed over as JSON with
 * their _id and written by one worker thread (a pc_supervisor: connect
 * with a timeout, ping, reconnect with backoff) over one connection:
 * inserted in batches per collection, and replaced by _id where they
 * exist already. The queue between them
 * (store_queue.h) is bounded in documents (store_queue) and bytes
 * (store_queue_bytes) and coalesces by (collection, _id): a newer
 * revision of a document replaces the one still waiting, so a slow or
 * absent MongoDB costs bounded memory, never a stall of the main thread.
 * When it is full new documents are refused (counted, logged at most
 * every 10 s): the engine rebuilds refused recommendations and profiles
 * once there is room again (br_store_stats' room), so they are late, not
 * lost. While MongoDB is down the documents wait and are written after it
 * comes back. A write that times out (write_timeout) is sent again whole;
 * its statements are whole-document replacements, so a partly applied
 * first attempt changes nothing. One writer per document, as FerretDB's
 * read-modify-write updates require. The bridge creates no index.
 */
#ifndef BRIDGE_STORE_H
#define BRIDGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "precis/log.h"

struct br_store_stats {
	uint64_t queued;    /* documents accepted */
	uint64_t coalesced; /* replaced by a newer revision before they were written */
	uint64_t refused;   /* refused because the queue was full */
	uint64_t written, failed, retried, dropped, batches, timeouts;
	size_t pending;       /* documents waiting or being written */
	size_t pending_bytes; /* their bytes */
	size_t max_pending;   /* the most pending so far */
	size_t room;          /* recommendations / profiles that would be accepted now */
	int up;               /* 1 when connected */
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
 * id of coll (copied). Any thread. Returns 0; PC_ERR_FULL when the queue
 * is full (counted in refused; put it again later); PC_ERR_TOO_LONG for a
 * collection name of 32 bytes or more or an _id over 478 bytes;
 * PC_ERR_NOMEM.
 */
int br_store_put(struct br_store *s, const char *coll, const char *id, const char *json,
                 size_t len);

/* br_store_stats - counters so far (any thread). */
void br_store_stats(struct br_store *s, struct br_store_stats *out);

/*
 * br_store_free - write what is pending (waiting up to timeout_ms for
 * MongoDB, plus the write in progress: at most write_timeout), stop the
 * worker and free everything; documents still pending after that are
 * counted as dropped and logged. NULL is allowed.
 */
void br_store_free(struct br_store *s, int64_t timeout_ms);

#endif

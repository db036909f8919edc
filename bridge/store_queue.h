/*
 * store_queue.h - the bounded, coalescing queue of documents waiting for
 * MongoDB (pure: no I/O, no locks; store.c holds its mutex around every
 * call).
 *
 * A document is (collection, _id, JSON). At most one revision of a
 * (collection, _id) waits: putting a newer one replaces the waiting one
 * in place (it keeps its turn) and counts as coalesced, so a profile
 * rewritten 500 times while MongoDB is slow costs one write. Documents
 * leave in the order they first arrived, in batches taken by the writer;
 * a taken document stays counted against the limits ("in flight") until
 * the writer settles it as written, failed (refused by the server) or
 * retry (put back in front unless a newer revision arrived meanwhile,
 * which then wins and the taken one counts as coalesced).
 *
 * Limits: max_docs documents and max_bytes bytes (JSON, _id and
 * bookkeeping), waiting and in flight together. A document the caller can
 * rebuild at will (rebuildable: a user's recommendation or portrait, which
 * the engine recomputes from its model) is refused once 9/10 of either
 * limit is used, so the documents nobody can rebuild (campaign
 * deliveries, campaign and experiment records) keep the last tenth.
 * A replacement of a waiting document is always accepted when its bytes
 * fit.
 *
 * Accounting: every accepted document ends as exactly one of written,
 * failed, coalesced or dropped (br_sq_cleanup), or is still pending or in
 * flight: queued == written + failed + coalesced + dropped + pending +
 * inflight at any time.
 */
#ifndef BRIDGE_STORE_QUEUE_H
#define BRIDGE_STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_SQ_COLL_MAX 32  /* collection names are shorter */
#define BR_SQ_ID_MAX   478 /* longest _id accepted */

struct br_sq_doc {
	char coll[BR_SQ_COLL_MAX];
	char *id;
	char *json; /* NUL-terminated copy */
	size_t len; /* of json */
	size_t bytes;
	bool inflight;
	struct br_sq_doc *prev, *next; /* waiting list, oldest first */
};

struct br_sq_stats {
	uint64_t queued;    /* documents accepted */
	uint64_t coalesced; /* replaced by a newer revision before being written */
	uint64_t refused;   /* refused because the queue was full */
	uint64_t written, failed, retried, dropped;
	size_t pending, inflight; /* documents waiting / taken by the writer */
	size_t bytes;             /* of both */
	size_t max_pending;       /* the most pending + inflight seen */
};

struct br_sq {
	size_t max_docs, max_bytes;
	struct pc_hmap *map;           /* key -> waiting document (not in-flight ones) */
	struct br_sq_doc *head, *tail; /* waiting documents, oldest first */
	struct br_sq_stats st;
};

enum br_sq_outcome { BR_SQ_WRITTEN, BR_SQ_FAILED, BR_SQ_RETRY };

/*
 * br_sq_init - an empty queue holding at most max_docs documents and
 * max_bytes bytes (both > 0). Returns PC_OK or PC_ERR_NOMEM. Release with
 * br_sq_cleanup, also after a failure.
 */
int br_sq_init(struct br_sq *q, size_t max_docs, size_t max_bytes);

/*
 * br_sq_cleanup - free every waiting document, counting each as dropped,
 * and return how many there were. In-flight documents belong to the
 * writer: settle them first.
 */
size_t br_sq_cleanup(struct br_sq *q);

/*
 * br_sq_put - queue a copy of json[0..len) as document id of coll,
 * replacing a waiting revision of it. Returns PC_OK, PC_ERR_FULL (a
 * limit would be passed, counted in refused; nothing changed: the caller
 * may put it again later), PC_ERR_TOO_LONG (coll or id too long) or
 * PC_ERR_NOMEM.
 */
int br_sq_put(struct br_sq *q, const char *coll, const char *id, const char *json, size_t len,
              bool rebuildable);

/*
 * br_sq_take - move up to max of the oldest waiting documents into
 * out[0..) (at least one when any waits, then only while their bytes
 * stay under max_bytes) and return how many. They stay owned by the
 * queue and counted against its limits until br_sq_settle.
 */
size_t br_sq_take(struct br_sq *q, struct br_sq_doc **out, size_t max, size_t max_bytes);

/* br_sq_settle - the writer is done with taken document d (freed unless put back). */
void br_sq_settle(struct br_sq *q, struct br_sq_doc *d, enum br_sq_outcome o);

/*
 * br_sq_room - how many more rebuildable documents of about avg_bytes
 * each would be accepted now (0 when the queue is at 9/10 of a limit).
 */
size_t br_sq_room(const struct br_sq *q, size_t avg_bytes);

#endif

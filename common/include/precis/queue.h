/*
 * queue.h - a bounded multi-producer, single-consumer queue of pointers.
 *
 * Producers never block: pc_queue_push on a full queue fails at once and
 * counts the overflow. The one consumer may poll (pc_queue_pop, cheap
 * pc_queue_depth check first, as a broker TICK does) or wait with a timeout
 * (pc_queue_pop_wait, as a worker thread does). pc_queue_close wakes a
 * waiting consumer and refuses further pushes; items already queued can
 * still be popped. The queue stores pointers and never owns them.
 */
#ifndef PRECIS_QUEUE_H
#define PRECIS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct pc_queue;

struct pc_queue_stats {
	uint64_t pushed;   /* items accepted */
	uint64_t popped;   /* items taken */
	uint64_t overflow; /* pushes refused because the queue was full */
	size_t depth;      /* items queued now */
	size_t high_water; /* largest depth seen */
	size_t capacity;
};

/*
 * pc_queue_new - a queue holding at most capacity items (1..2^24).
 * Returns NULL on a bad capacity or out of memory. Free with pc_queue_free.
 */
struct pc_queue *pc_queue_new(size_t capacity);

/*
 * pc_queue_free - destroy the queue. Items still queued are not freed: the
 * caller drains them first. NULL is allowed. No thread may use q after.
 */
void pc_queue_free(struct pc_queue *q);

/*
 * pc_queue_push - append item (non-NULL). Any thread. Returns PC_OK,
 * PC_ERR_FULL (counted as overflow; the caller still owns item),
 * PC_ERR_CLOSED or PC_ERR_INVAL (NULL item).
 */
int pc_queue_push(struct pc_queue *q, void *item);

/* pc_queue_pop - the oldest item, or NULL if empty. Consumer thread only. */
void *pc_queue_pop(struct pc_queue *q);

/*
 * pc_queue_pop_wait - the oldest item, waiting up to timeout_ms (0: do not
 * wait, <0: wait forever) for one. Returns NULL on timeout, or when the
 * queue is closed and empty. Consumer thread only.
 */
void *pc_queue_pop_wait(struct pc_queue *q, int64_t timeout_ms);

/*
 * pc_queue_depth - items queued now, read without taking the lock (a
 * relaxed atomic load): exact for the consumer's "anything to do?" check.
 */
size_t pc_queue_depth(const struct pc_queue *q);

/* pc_queue_close - refuse further pushes and wake a waiting consumer. */
void pc_queue_close(struct pc_queue *q);

/* pc_queue_stats - a consistent snapshot of the counters. */
void pc_queue_stats(struct pc_queue *q, struct pc_queue_stats *out);

#endif

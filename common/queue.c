/*
 * queue.c - a bounded multi-producer, single-consumer queue of pointers.
 *
 * A ring buffer of void * guarded by one mutex; a condition variable on
 * CLOCK_MONOTONIC wakes the consumer when an item arrives or the queue is
 * closed. Producers never wait for space: a full queue refuses the item
 * and counts the overflow. The depth is mirrored in a C11 atomic so the
 * consumer (a broker TICK) can check for work without taking the lock.
 * This file is the whole of the hand-off between the broker thread and a
 * plugin's worker thread (STYLE 13); it never calls mosquitto_*. Used by
 * the plugins' log sinks (plugins/base/base.c) today.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "precis/error.h"
#include "precis/queue.h"

#define QUEUE_CAP_MAX ((size_t)1 << 24)

struct pc_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty; /* signalled on push and on close */
	void **ring;
	size_t capacity;
	size_t head;  /* index of the oldest item */
	size_t count; /* items queued; mirrored in depth */
	atomic_size_t depth;
	bool closed;
	uint64_t pushed, popped, overflow;
	size_t high_water;
};

/*
 * pc_queue_new - contract in queue.h. The condition variable uses
 * CLOCK_MONOTONIC so that pc_queue_pop_wait ignores wall-clock jumps.
 */
struct pc_queue *pc_queue_new(size_t capacity)
{
	struct pc_queue *q = NULL;
	pthread_condattr_t attr;
	bool attr_ok = false, lock_ok = false;

	if (capacity < 1 || capacity > QUEUE_CAP_MAX)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		goto fail;
	q->ring = calloc(capacity, sizeof(*q->ring));
	if (q->ring == NULL)
		goto fail;
	q->capacity = capacity;
	atomic_init(&q->depth, 0);
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto fail;
	lock_ok = true;
	if (pthread_condattr_init(&attr) != 0)
		goto fail;
	attr_ok = true;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
		goto fail;
	if (pthread_cond_init(&q->nonempty, &attr) != 0)
		goto fail;
	pthread_condattr_destroy(&attr);
	return q;

fail:
	if (attr_ok)
		pthread_condattr_destroy(&attr);
	if (lock_ok)
		pthread_mutex_destroy(&q->lock);
	if (q != NULL)
		free(q->ring);
	free(q);
	return NULL;
}

/* pc_queue_free - contract in queue.h. */
void pc_queue_free(struct pc_queue *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

/* pc_queue_push - contract in queue.h. */
int pc_queue_push(struct pc_queue *q, void *item)
{
	int rc = PC_OK;

	if (q == NULL || item == NULL)
		return PC_ERR_INVAL;
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		rc = PC_ERR_CLOSED;
	} else if (q->count == q->capacity) {
		q->overflow++;
		rc = PC_ERR_FULL;
	} else {
		q->ring[(q->head + q->count) % q->capacity] = item;
		q->count++;
		atomic_store_explicit(&q->depth, q->count, memory_order_relaxed);
		q->pushed++;
		if (q->count > q->high_water)
			q->high_water = q->count;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* take - remove and return the oldest item; the lock is held, count > 0. */
static void *take(struct pc_queue *q)
{
	void *item = q->ring[q->head];

	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	atomic_store_explicit(&q->depth, q->count, memory_order_relaxed);
	q->popped++;
	return item;
}

/* pc_queue_pop - contract in queue.h. */
void *pc_queue_pop(struct pc_queue *q)
{
	void *item = NULL;

	if (q == NULL)
		return NULL;
	pthread_mutex_lock(&q->lock);
	if (q->count > 0)
		item = take(q);
	pthread_mutex_unlock(&q->lock);
	return item;
}

/* deadline_after - CLOCK_MONOTONIC now + ms. */
static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * pc_queue_pop_wait - contract in queue.h. Spurious wake-ups are absorbed
 * by re-checking against one absolute deadline.
 */
void *pc_queue_pop_wait(struct pc_queue *q, int64_t timeout_ms)
{
	struct timespec deadline;
	void *item = NULL;

	if (q == NULL)
		return NULL;
	if (timeout_ms == 0)
		return pc_queue_pop(q);
	if (timeout_ms > 0)
		deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&q->nonempty, &q->lock);
		} else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline) == ETIMEDOUT) {
			break;
		}
	}
	if (q->count > 0)
		item = take(q);
	pthread_mutex_unlock(&q->lock);
	return item;
}

/* pc_queue_depth - contract in queue.h. NULL gives 0. */
size_t pc_queue_depth(const struct pc_queue *q)
{
	if (q == NULL)
		return 0;
	return atomic_load_explicit(&q->depth, memory_order_relaxed);
}

/* pc_queue_close - contract in queue.h. Closing twice is harmless. */
void pc_queue_close(struct pc_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

/* pc_queue_stats - contract in queue.h. out is zeroed for a NULL q. */
void pc_queue_stats(struct pc_queue *q, struct pc_queue_stats *out)
{
	if (out == NULL)
		return;
	if (q == NULL) {
		*out = (struct pc_queue_stats){0};
		return;
	}
	pthread_mutex_lock(&q->lock);
	out->pushed = q->pushed;
	out->popped = q->popped;
	out->overflow = q->overflow;
	out->depth = q->count;
	out->high_water = q->high_water;
	out->capacity = q->capacity;
	pthread_mutex_unlock(&q->lock);
}

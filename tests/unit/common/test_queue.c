/*
 * test_queue.c - unit tests for common/queue.c: capacity limits, FIFO order
 * across wrap-around, full queue and overflow counting, close semantics,
 * pop_wait timeouts and wake-ups, and a stress test with 4 producers and
 * one consumer checking exactly-once delivery and per-producer order.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/queue.h"
#include "test_util.h"

/* Items are small integers disguised as pointers (never NULL). */
#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUM(p)  ((uintptr_t)(p))

static void test_capacity_limits(void)
{
	struct pc_queue *q;
	struct pc_queue_stats st;

	CU_ASSERT_PTR_NULL(pc_queue_new(0));
	CU_ASSERT_PTR_NULL(pc_queue_new(((size_t)1 << 24) + 1));
	CU_ASSERT_PTR_NULL(pc_queue_new(SIZE_MAX));
	q = pc_queue_new((size_t)1 << 24);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	pc_queue_stats(q, &st);
	CU_ASSERT_EQUAL(st.capacity, (size_t)1 << 24);
	pc_queue_free(q);
	q = pc_queue_new(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(1)), PC_OK);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(2)), PC_ERR_FULL);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 1);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(3)), PC_OK);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 3);
	pc_queue_free(q);
	pc_queue_free(NULL);
}

static void test_fifo_wraparound(void)
{
	struct pc_queue *q = pc_queue_new(4);
	uintptr_t next_in = 1, next_out = 1;
	int round, k, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_PTR_NULL(pc_queue_pop(q));
	/* Push 1..3 and pop 1..2 at a time so head and tail wrap many times. */
	for (round = 0; round < 1000; round++) {
		int npush = 1 + round % 3, npop = 1 + (round + 1) % 2;

		for (k = 0; k < npush; k++) {
			if (pc_queue_push(q, ITEM(next_in)) == PC_OK)
				next_in++;
		}
		for (k = 0; k < npop; k++) {
			void *p = pc_queue_pop(q);

			if (p == NULL)
				break;
			if (NUM(p) != next_out)
				bad++;
			next_out++;
		}
		if (pc_queue_depth(q) != next_in - next_out)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(next_out > 1000);
	pc_queue_free(q);
}

static void test_full_and_counters(void)
{
	struct pc_queue *q = pc_queue_new(3);
	struct pc_queue_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(pc_queue_push(q, NULL), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_queue_push(NULL, ITEM(1)), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(10)), PC_OK);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(11)), PC_OK);
	CU_ASSERT_EQUAL(pc_queue_depth(q), 2);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(12)), PC_OK);
	CU_ASSERT_EQUAL(pc_queue_depth(q), 3);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(13)), PC_ERR_FULL);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(14)), PC_ERR_FULL);
	pc_queue_stats(q, &st);
	CU_ASSERT_EQUAL(st.pushed, 3);
	CU_ASSERT_EQUAL(st.popped, 0);
	CU_ASSERT_EQUAL(st.overflow, 2);
	CU_ASSERT_EQUAL(st.depth, 3);
	CU_ASSERT_EQUAL(st.high_water, 3);
	CU_ASSERT_EQUAL(st.capacity, 3);

	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 10);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 11);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(15)), PC_OK);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 12);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 15);
	CU_ASSERT_PTR_NULL(pc_queue_pop(q));
	pc_queue_stats(q, &st);
	CU_ASSERT_EQUAL(st.pushed, 4);
	CU_ASSERT_EQUAL(st.popped, 4);
	CU_ASSERT_EQUAL(st.overflow, 2);
	CU_ASSERT_EQUAL(st.depth, 0);
	CU_ASSERT_EQUAL(st.high_water, 3); /* the largest seen, not the current */
	CU_ASSERT_EQUAL(pc_queue_depth(q), 0);
	CU_ASSERT_EQUAL(pc_queue_depth(NULL), 0);
	pc_queue_free(q);
}

static void test_close(void)
{
	struct pc_queue *q = pc_queue_new(8);
	struct pc_queue_stats st;
	int64_t t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(1)), PC_OK);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(2)), PC_OK);
	pc_queue_close(q);
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(3)), PC_ERR_CLOSED);
	pc_queue_close(q); /* twice is fine */
	/* Items queued before the close can still be taken. */
	CU_ASSERT_EQUAL(NUM(pc_queue_pop_wait(q, -1)), 1);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop(q)), 2);
	/* Closed and empty: NULL at once, even with an infinite timeout. */
	t0 = tu_now_ms();
	CU_ASSERT_PTR_NULL(pc_queue_pop_wait(q, -1));
	CU_ASSERT_PTR_NULL(pc_queue_pop_wait(q, 5000));
	CU_ASSERT(tu_now_ms() - t0 < 1000);
	pc_queue_stats(q, &st);
	CU_ASSERT_EQUAL(st.pushed, 2);
	CU_ASSERT_EQUAL(st.overflow, 0); /* refusals after close are not overflow */
	pc_queue_free(q);
}

static void test_pop_wait_timeout(void)
{
	struct pc_queue *q = pc_queue_new(2);
	int64_t t0, dt;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	t0 = tu_now_ms();
	CU_ASSERT_PTR_NULL(pc_queue_pop_wait(q, 0));
	CU_ASSERT(tu_now_ms() - t0 < 50);

	t0 = tu_now_ms();
	CU_ASSERT_PTR_NULL(pc_queue_pop_wait(q, 150));
	dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 149);
	CU_ASSERT(dt < 1000);

	/* An item already there is returned without waiting. */
	CU_ASSERT_EQUAL(pc_queue_push(q, ITEM(7)), PC_OK);
	t0 = tu_now_ms();
	CU_ASSERT_EQUAL(NUM(pc_queue_pop_wait(q, 5000)), 7);
	CU_ASSERT_EQUAL(NUM(pc_queue_pop_wait(q, 0)), 0);
	CU_ASSERT(tu_now_ms() - t0 < 1000);
	pc_queue_free(q);
}

struct delayed {
	struct pc_queue *q;
	int delay_ms;
	int close; /* close instead of pushing */
};

static void *delayed_action(void *arg)
{
	struct delayed *d = arg;

	tu_sleep_ms(d->delay_ms);
	if (d->close)
		pc_queue_close(d->q);
	else
		pc_queue_push(d->q, ITEM(42));
	return NULL;
}

static void test_pop_wait_wakeups(void)
{
	struct pc_queue *q = pc_queue_new(2);
	struct delayed d = {q, 100, 0};
	pthread_t th;
	int64_t t0, dt;
	void *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	/* A push wakes a consumer waiting with a long timeout. */
	t0 = tu_now_ms();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, delayed_action, &d), 0);
	p = pc_queue_pop_wait(q, 10000);
	dt = tu_now_ms() - t0;
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(NUM(p), 42);
	CU_ASSERT(dt >= 90 && dt < 5000);

	/* A push wakes a consumer waiting forever. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, delayed_action, &d), 0);
	p = pc_queue_pop_wait(q, -1);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(NUM(p), 42);

	/* A close wakes a consumer waiting forever, which gets NULL. */
	d.close = 1;
	t0 = tu_now_ms();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, delayed_action, &d), 0);
	p = pc_queue_pop_wait(q, -1);
	dt = tu_now_ms() - t0;
	pthread_join(th, NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(dt >= 90 && dt < 5000);
	pc_queue_free(q);
}

#define N_PRODUCERS 4
#define N_ITEMS     100000

static atomic_uint_fast64_t producer_full;

struct producer {
	struct pc_queue *q;
	uintptr_t id;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	uintptr_t seq;
	uint64_t full = 0;
	int rc;

	for (seq = 0; seq < N_ITEMS; seq++) {
		/* item = 1 + id * N_ITEMS + seq: never NULL, decodes to (id, seq) */
		while ((rc = pc_queue_push(p->q, ITEM(1 + p->id * N_ITEMS + seq))) == PC_ERR_FULL) {
			full++;
			sched_yield();
		}
		if (rc != PC_OK)
			break;
	}
	atomic_fetch_add(&producer_full, full);
	return NULL;
}

static void test_stress_mpsc(void)
{
	struct pc_queue *q = pc_queue_new(1024);
	struct producer prod[N_PRODUCERS];
	pthread_t th[N_PRODUCERS];
	uintptr_t next[N_PRODUCERS] = {0};
	struct pc_queue_stats st;
	size_t got = 0, i;
	int bad_order = 0, bad_item = 0, stalls = 0;
	int64_t t0 = tu_now_ms();

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	atomic_store(&producer_full, 0);
	for (i = 0; i < N_PRODUCERS; i++) {
		prod[i].q = q;
		prod[i].id = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, produce, &prod[i]), 0);
	}
	while (got < (size_t)N_PRODUCERS * N_ITEMS) {
		void *p = pc_queue_pop_wait(q, 2000);
		uintptr_t v, id, seq;

		if (p == NULL) {
			if (++stalls > 5)
				break; /* producers died: fail below rather than hang */
			continue;
		}
		v = NUM(p) - 1;
		id = v / N_ITEMS;
		seq = v % N_ITEMS;
		if (id >= N_PRODUCERS) {
			bad_item++;
			continue;
		}
		/* Per-producer order, hence also each item exactly once. */
		if (seq != next[id])
			bad_order++;
		next[id] = seq + 1;
		got++;
	}
	for (i = 0; i < N_PRODUCERS; i++)
		pthread_join(th[i], NULL);

	CU_ASSERT_EQUAL(got, (size_t)N_PRODUCERS * N_ITEMS);
	CU_ASSERT_EQUAL(bad_item, 0);
	CU_ASSERT_EQUAL(bad_order, 0);
	for (i = 0; i < N_PRODUCERS; i++)
		CU_ASSERT_EQUAL(next[i], N_ITEMS);
	CU_ASSERT_PTR_NULL(pc_queue_pop(q));
	pc_queue_stats(q, &st);
	CU_ASSERT_EQUAL(st.pushed, (uint64_t)N_PRODUCERS * N_ITEMS);
	CU_ASSERT_EQUAL(st.popped, (uint64_t)N_PRODUCERS * N_ITEMS);
	CU_ASSERT_EQUAL(st.overflow, atomic_load(&producer_full));
	CU_ASSERT_EQUAL(st.depth, 0);
	CU_ASSERT(st.high_water >= 1 && st.high_water <= 1024);
	fprintf(stderr, "\n    %d x %d items in %lld ms, %llu overflows, high water %zu\n",
	        N_PRODUCERS, N_ITEMS, (long long)(tu_now_ms() - t0),
	        (unsigned long long)st.overflow, st.high_water);
	pc_queue_free(q);
}

static void test_null_queue(void)
{
	struct pc_queue_stats st;

	CU_ASSERT_PTR_NULL(pc_queue_pop(NULL));
	CU_ASSERT_PTR_NULL(pc_queue_pop_wait(NULL, 10));
	pc_queue_close(NULL);
	st.pushed = 99;
	pc_queue_stats(NULL, &st);
	CU_ASSERT_EQUAL(st.pushed, 0);
	CU_ASSERT_EQUAL(st.capacity, 0);
}

static CU_TestInfo tests[] = {
    {"capacity limits", test_capacity_limits},
    {"FIFO order across wrap-around", test_fifo_wraparound},
    {"full queue and counters", test_full_and_counters},
    {"close semantics", test_close},
    {"pop_wait timeouts", test_pop_wait_timeout},
    {"pop_wait wake-ups", test_pop_wait_wakeups},
    {"stress: 4 producers x 100k, 1 consumer", test_stress_mpsc},
    {"NULL queue", test_null_queue},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("queue", tests);
}

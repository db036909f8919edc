/*
 * supervisor.c - the connect / check / work / back off loop of one backend.
 *
 * One thread per supervisor. The thread sleeps on a condition variable
 * (CLOCK_MONOTONIC) so that pc_supervisor_stop and pc_supervisor_wake
 * reach it at once; every
 * network wait happens inside the backend's ops, which carry their own
 * timeouts. State and counters are C11 atomics so the broker thread can
 * read them on every TICK without a lock. See supervisor.h.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "precis/backoff.h"
#include "precis/clock.h"
#include "precis/error.h"
#include "precis/supervisor.h"

struct pc_supervisor {
	const struct pc_backend_ops *ops;
	void *conn;
	struct pc_supervisor_config cfg;
	const struct pc_logger *log;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping; /* under lock */
	bool woken;    /* under lock: pc_supervisor_wake since the last work call */
	bool halted;   /* the thread is joined (owner's thread only) */

	atomic_int state;
	atomic_uint_fast64_t connects, failures, checks, works;
	struct pc_backoff backoff; /* supervisor thread only */
	uint32_t rnd;              /* xorshift state for jitter, supervisor thread only */
};

static uint32_t next_rand(struct pc_supervisor *s)
{
	uint32_t x = s->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rnd = x;
	return x;
}

/*
 * Sleep until the monotonic time until_ms unless stopped or woken (a wake
 * for the work function counts only when there is one). Returns true when
 * the supervisor is stopping.
 */
static bool wait_until(struct pc_supervisor *s, int64_t until_ms)
{
	struct timespec until = {(time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000L};
	bool stopping;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping && !(s->woken && s->cfg.work)) {
		if (pthread_cond_timedwait(&s->wake, &s->lock, &until) == ETIMEDOUT)
			break;
	}
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/* Take the pending wake, if any: true when one was pending. */
static bool take_wake(struct pc_supervisor *s)
{
	bool woken;

	pthread_mutex_lock(&s->lock);
	woken = s->woken;
	s->woken = false;
	pthread_mutex_unlock(&s->lock);
	return woken;
}

static bool is_stopping(struct pc_supervisor *s)
{
	bool stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/*
 * One connect attempt; logs the outcome. Returns 0 when up, else the
 * delay before the next attempt.
 */
static int64_t try_connect(struct pc_supervisor *s)
{
	char err[256] = "";
	const char *where = s->ops->describe(s->conn);
	int64_t delay;

	if (s->ops->connect(s->conn, err, sizeof err) == PC_OK) {
		atomic_fetch_add(&s->connects, 1);
		if (s->backoff.failures > 0)
			pc_log(s->log, PC_LOG_NOTICE,
			       "connected to %s at %s after %u failed attempts", s->ops->kind,
			       where, s->backoff.failures);
		else
			pc_log(s->log, PC_LOG_NOTICE, "connected to %s at %s", s->ops->kind, where);
		pc_backoff_reset(&s->backoff);
		atomic_store(&s->state, PC_BACKEND_UP);
		return 0;
	}
	s->ops->disconnect(s->conn);
	atomic_fetch_add(&s->failures, 1);
	delay = pc_backoff_next(&s->backoff, next_rand(s));
	pc_log(s->log, s->backoff.failures == 1 ? PC_LOG_ERR : PC_LOG_WARNING,
	       "cannot connect to %s at %s: %s; retrying in %lld ms (attempt %u)", s->ops->kind,
	       where, err[0] ? err : "unknown error", (long long)delay, s->backoff.failures);
	return delay;
}

/* The open connection failed: count, log, mark down, close. */
static void lost(struct pc_supervisor *s, const char *err)
{
	atomic_fetch_add(&s->failures, 1);
	atomic_store(&s->state, PC_BACKEND_DOWN);
	pc_log(s->log, PC_LOG_ERR, "lost connection to %s at %s: %s; reconnecting", s->ops->kind,
	       s->ops->describe(s->conn), err[0] ? err : "unknown error");
	s->ops->disconnect(s->conn);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * The loop: connect (again after a backoff), check every check interval
 * while up, and call the work function when woken or when its delay ran
 * out. Each pass handles what is due, then sleeps until the next deadline.
 */
static void *supervisor_main(void *arg)
{
	struct pc_supervisor *s = arg;
	int64_t connect_at = pc_mono_ms(), check_at = 0, work_at = connect_at;
	bool fresh = false;
	char err[256];

	while (!is_stopping(s)) {
		int64_t now = pc_mono_ms(), until;
		bool up = atomic_load(&s->state) == PC_BACKEND_UP;

		if (!up && now >= connect_at) {
			int64_t delay = try_connect(s);

			now = pc_mono_ms();
			if (delay == 0) {
				up = fresh = true;
				check_at = now + s->cfg.check_interval_ms;
				work_at = now;
			} else {
				connect_at = now + delay;
			}
		}
		if (s->cfg.work && (take_wake(s) || now >= work_at)) {
			int64_t next = s->cfg.check_interval_ms;
			int rc;

			err[0] = '\0';
			rc = s->cfg.work(s->cfg.work_arg, s->conn, up, fresh, &next, err,
			                 sizeof err);
			atomic_fetch_add(&s->works, 1);
			now = pc_mono_ms();
			work_at = now + (next > 0 ? next : 0);
			if (up) {
				fresh = false;
				if (rc != PC_OK) {
					lost(s, err);
					up = false;
					connect_at = now;
				}
			}
		}
		if (up && now >= check_at) {
			err[0] = '\0';
			if (s->ops->check(s->conn, err, sizeof err) == PC_OK) {
				atomic_fetch_add(&s->checks, 1);
			} else {
				lost(s, err);
				up = false;
				connect_at = pc_mono_ms();
			}
			check_at = pc_mono_ms() + s->cfg.check_interval_ms;
		}
		until = up ? check_at : connect_at;
		if (s->cfg.work)
			until = min64(until, work_at);
		if (until > pc_mono_ms() && wait_until(s, until))
			break;
	}
	return NULL;
}

struct pc_supervisor *pc_supervisor_start(const struct pc_backend_ops *ops, void *conn,
                                          const struct pc_supervisor_config *cfg,
                                          const struct pc_logger *log, char *err, size_t errlen)
{
	struct pc_supervisor *s;
	pthread_condattr_t ca;
	int rc;

	if (!ops || !cfg || cfg->check_interval_ms < 1 || cfg->backoff_min_ms < 1 ||
	    cfg->backoff_max_ms < cfg->backoff_min_ms) {
		pc_errf(err, errlen, PC_ERR_INVAL, "invalid supervisor configuration");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->conn = conn;
	s->cfg = *cfg;
	s->log = log;
	s->rnd = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)s ^ 0x9e3779b9u;
	if (s->rnd == 0)
		s->rnd = 1;
	pc_backoff_init(&s->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms);
	atomic_init(&s->state, PC_BACKEND_DOWN);
	atomic_init(&s->connects, 0);
	atomic_init(&s->failures, 0);
	atomic_init(&s->checks, 0);
	atomic_init(&s->works, 0);

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);

	rc = pthread_create(&s->thread, NULL, supervisor_main, s);
	if (rc != 0) {
		pc_errf(err, errlen, PC_ERR_IO, "cannot start %s thread: %s", ops->kind,
		        strerror(rc));
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	if (cfg->thread_name)
		pthread_setname_np(s->thread, cfg->thread_name);
	return s;
}

void pc_supervisor_halt(struct pc_supervisor *s)
{
	if (!s || s->halted)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->ops->disconnect(s->conn);
	s->halted = true;
}

void pc_supervisor_stop(struct pc_supervisor *s)
{
	if (!s)
		return;
	pc_supervisor_halt(s);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void pc_supervisor_wake(struct pc_supervisor *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->woken = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

enum pc_backend_state pc_supervisor_state(const struct pc_supervisor *s)
{
	return (enum pc_backend_state)atomic_load(&s->state);
}

void pc_supervisor_stats(const struct pc_supervisor *s, struct pc_supervisor_stats *out)
{
	out->connects = atomic_load(&s->connects);
	out->failures = atomic_load(&s->failures);
	out->checks = atomic_load(&s->checks);
	out->works = atomic_load(&s->works);
}

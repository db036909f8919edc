/*
 * supervisor.h - keeps one backend connection alive from its own thread.
 *
 * A supervisor owns a named worker thread that connects to a backend
 * (Redis, MongoDB) through a small ops table, checks it with a cheap round
 * trip every check interval, and on failure disconnects and reconnects
 * with exponential backoff and jitter (backoff.h). The state (up or down)
 * is readable from any thread without locking, which is how the broker
 * thread learns about it on TICK. Logging goes through a pc_logger whose
 * sink must be safe to call from the worker thread.
 *
 * The same thread does its owner's work on the connection: an optional
 * work function (struct pc_supervisor_config) runs whenever another
 * thread calls pc_supervisor_wake and whenever the delay it asked for
 * runs out, up or down, so a plugin has exactly one thread per backend.
 *
 * The connection object belongs to the supervisor thread while it runs:
 * nobody else may touch it between pc_supervisor_start and
 * pc_supervisor_stop.
 */
#ifndef PRECIS_SUPERVISOR_H
#define PRECIS_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/log.h"

enum pc_backend_state {
	PC_BACKEND_DOWN = 0,
	PC_BACKEND_UP = 1,
};

/* How to drive one kind of backend. All calls happen on the supervisor thread. */
struct pc_backend_ops {
	const char *kind; /* "redis", "mongodb": for logs */
	/* Open a connection; PC_OK or an error with detail in (err, errlen). */
	int (*connect)(void *conn, char *err, size_t errlen);
	/* A cheap round trip on the open connection; PC_OK or an error with detail. */
	int (*check)(void *conn, char *err, size_t errlen);
	/* Close the connection; must tolerate a connection that never opened. */
	void (*disconnect)(void *conn);
	/* Where the backend is ("127.0.0.1:6379"), for logs; static or owned by conn. */
	const char *(*describe)(void *conn);
};

/*
 * The owner's work, called on the supervisor thread after every
 * pc_supervisor_wake and whenever *next_ms (below) runs out.
 *  conn    the backend connection; open when up, closed when down
 *  up      whether the connection is open: work that needs no connection
 *          (spooling to disk, say) still runs while the backend is down
 *  fresh   true on the first call after each successful connect (load
 *          scripts, preload a cache, create indexes)
 *  next_ms in: the check interval; out: the delay until the next call
 *          unless woken first (0: call again at once)
 * Returns PC_OK, or an error with detail in (err, errlen) when the
 * connection failed: the supervisor then counts a failure, logs, closes
 * the connection and reconnects (the next call has up == false). The
 * return value of a call made while down is ignored. Failures that leave
 * the connection usable (a rejected document, say) are the owner's to
 * log and count; return PC_OK for those.
 */
typedef int (*pc_work_fn)(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                          size_t errlen);

struct pc_supervisor_config {
	int64_t check_interval_ms; /* between round trips while up (>= 1) */
	int64_t backoff_min_ms;    /* first retry delay after a failure (>= 1) */
	int64_t backoff_max_ms;    /* cap of the retry delay (>= backoff_min_ms) */
	const char *thread_name;   /* up to 15 chars, shown by ps/top; may be NULL */
	pc_work_fn work;           /* NULL: the supervisor only keeps the connection */
	void *work_arg;            /* passed to work, not owned */
};

struct pc_supervisor_stats {
	uint64_t connects; /* successful connects */
	uint64_t failures; /* failed connects, failed checks and failed work */
	uint64_t checks;   /* successful checks */
	uint64_t works;    /* calls of the work function */
};

struct pc_supervisor;

/*
 * pc_supervisor_start - start the thread, which tries to connect at once.
 * ops, conn and log must stay valid until pc_supervisor_stop returns; the
 * supervisor does not own them. Returns NULL with detail in (err, errlen)
 * when the thread cannot be created or cfg is invalid.
 */
struct pc_supervisor *pc_supervisor_start(const struct pc_backend_ops *ops, void *conn,
                                          const struct pc_supervisor_config *cfg,
                                          const struct pc_logger *log, char *err, size_t errlen);

/*
 * pc_supervisor_halt - wake the thread, wait for it to end (it finishes
 * the round trip in progress, bounded by the backend's own timeouts) and
 * disconnect, but keep s: pc_supervisor_wake and pc_supervisor_state stay
 * safe on it (a wake does nothing) until pc_supervisor_stop frees it. So
 * owners whose threads wake each other halt them all before freeing any.
 * Idempotent; NULL is allowed.
 */
void pc_supervisor_halt(struct pc_supervisor *s);

/*
 * pc_supervisor_stop - pc_supervisor_halt, then free the supervisor.
 * NULL is allowed.
 */
void pc_supervisor_stop(struct pc_supervisor *s);

/*
 * pc_supervisor_wake - make the thread call the work function soon (at
 * once if it is waiting; after the call in progress otherwise). Wakes
 * that arrive together are merged into one call. Any thread; takes the
 * supervisor's mutex, never blocks on the backend. NULL is allowed.
 */
void pc_supervisor_wake(struct pc_supervisor *s);

/* pc_supervisor_state - the current state; any thread, lock-free. */
enum pc_backend_state pc_supervisor_state(const struct pc_supervisor *s);

/* pc_supervisor_stats - counters so far; any thread. */
void pc_supervisor_stats(const struct pc_supervisor *s, struct pc_supervisor_stats *out);

#endif

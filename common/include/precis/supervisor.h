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
 * The connection object belongs to the supervisor thread while it runs:
 * nobody else may touch it between pc_supervisor_start and
 * pc_supervisor_stop.
 */
#ifndef PRECIS_SUPERVISOR_H
#define PRECIS_SUPERVISOR_H

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

struct pc_supervisor_config {
	int64_t check_interval_ms; /* between round trips while up (>= 1) */
	int64_t backoff_min_ms;    /* first retry delay after a failure (>= 1) */
	int64_t backoff_max_ms;    /* cap of the retry delay (>= backoff_min_ms) */
	const char *thread_name;   /* up to 15 chars, shown by ps/top; may be NULL */
};

struct pc_supervisor_stats {
	uint64_t connects; /* successful connects */
	uint64_t failures; /* failed connects and failed checks */
	uint64_t checks;   /* successful checks */
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
 * pc_supervisor_stop - wake the thread, wait for it to end (it finishes
 * the round trip in progress, bounded by the backend's own timeouts),
 * disconnect, and free the supervisor. NULL is allowed.
 */
void pc_supervisor_stop(struct pc_supervisor *s);

/* pc_supervisor_state - the current state; any thread, lock-free. */
enum pc_backend_state pc_supervisor_state(const struct pc_supervisor *s);

/* pc_supervisor_stats - counters so far; any thread. */
void pc_supervisor_stats(const struct pc_supervisor *s, struct pc_supervisor_stats *out);

#endif

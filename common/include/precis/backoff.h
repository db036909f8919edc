/*
 * backoff.h - exponential reconnect backoff with jitter, pure arithmetic.
 *
 * Each failure doubles the delay from min_ms up to max_ms; a success
 * resets it. The delay returned is drawn from [d/2, d] ("equal jitter")
 * using a caller-supplied random value so that tests are deterministic and
 * many brokers restarting together do not reconnect in lockstep.
 */
#ifndef PRECIS_BACKOFF_H
#define PRECIS_BACKOFF_H

#include <stdint.h>

struct pc_backoff {
	int64_t min_ms;
	int64_t max_ms;
	int64_t cur_ms;    /* next base delay; min_ms after init or reset */
	uint32_t failures; /* consecutive failures since the last reset */
};

/* pc_backoff_init - set bounds (1 <= min_ms <= max_ms, clamped if not) and reset. */
void pc_backoff_init(struct pc_backoff *b, int64_t min_ms, int64_t max_ms);

/*
 * pc_backoff_next - record a failure and return the delay to wait before
 * the next attempt, in [cur/2, cur] where cur is the base before doubling;
 * rnd is any 32-bit random value.
 */
int64_t pc_backoff_next(struct pc_backoff *b, uint32_t rnd);

/* pc_backoff_reset - record a success: the next failure waits ~min_ms again. */
void pc_backoff_reset(struct pc_backoff *b);

#endif

/*
 * clock.h - the two clocks precis reads, in milliseconds.
 *
 * pc_mono_ms measures intervals, deadlines and timeouts (CLOCK_MONOTONIC:
 * never jumps). pc_wall_ms stamps what is stored or shown: command
 * created/expires times, bucket slots, registry change records
 * (CLOCK_REALTIME, milliseconds since the Unix epoch). Both are
 * async-signal-safe and thread-safe, and cannot fail on Linux.
 */
#ifndef PRECIS_CLOCK_H
#define PRECIS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t pc_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pc_mono_ms - CLOCK_MONOTONIC now in milliseconds (an arbitrary origin). */
static inline int64_t pc_mono_ms(void)
{
	return pc_clock_ms(CLOCK_MONOTONIC);
}

/* pc_wall_ms - CLOCK_REALTIME now in milliseconds since the Unix epoch. */
static inline int64_t pc_wall_ms(void)
{
	return pc_clock_ms(CLOCK_REALTIME);
}

#endif

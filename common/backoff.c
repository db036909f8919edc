/*
 * backoff.c - exponential reconnect backoff with equal jitter.
 *
 * Pure arithmetic on a caller-owned struct pc_backoff: no clock, no
 * random source (the caller passes a random value), no locking (one
 * reconnect loop owns one backoff). Used by the Redis and MongoDB
 * connection supervisors and by the bridge's MQTT reconnect loop.
 */
#include "precis/backoff.h"

/* pc_backoff_init - contract in backoff.h. */
void pc_backoff_init(struct pc_backoff *b, int64_t min_ms, int64_t max_ms)
{
	if (min_ms < 1)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	pc_backoff_reset(b);
}

/*
 * pc_backoff_next - contract in backoff.h. The delay is in
 * [ceil(cur/2), cur], drawn as rnd modulo the width of that range; the
 * base then doubles, capped at max_ms and never overflowing.
 */
int64_t pc_backoff_next(struct pc_backoff *b, uint32_t rnd)
{
	/* Re-clamp: the struct is caller-owned and may not have been initialised. */
	int64_t lo_bound = b->min_ms < 1 ? 1 : b->min_ms;
	int64_t cap = b->max_ms < lo_bound ? lo_bound : b->max_ms;
	int64_t cur = b->cur_ms < lo_bound ? lo_bound : b->cur_ms > cap ? cap : b->cur_ms;
	int64_t lo, span;

	if (b->failures < UINT32_MAX)
		b->failures++;
	b->cur_ms = cur > cap / 2 ? cap : cur * 2;

	lo = cur - cur / 2; /* ceil(cur / 2) */
	span = cur - lo + 1;
	return lo + (int64_t)((uint64_t)rnd % (uint64_t)span);
}

/* pc_backoff_reset - contract in backoff.h. */
void pc_backoff_reset(struct pc_backoff *b)
{
	b->cur_ms = b->min_ms;
	b->failures = 0;
}

/*
 * presence.c - the online/offline arithmetic of presence.h.
 *
 * Four events change a device's presence: a beat (heartbeat or data
 * upload), a check against its silence deadline, its connection closing,
 * and a restore from Redis at start. Each returns what changed so that
 * the caller (online.c, on the broker thread) publishes exactly one
 * retained presence message per change. Pure: no clock is read here.
 */
#include <stddef.h>

#include "presence.h"

void command__presence_init(struct command__presence *p, const struct command__presence_cfg *cfg)
{
	p->online = false;
	p->last_seen = 0;
	p->deadline = 0;
	p->interval_ms = cfg->interval_ms;
	p->seq = -1;
	p->flushed = 0;
	p->client = NULL;
}

enum command__presence_change command__presence_beat(struct command__presence *p,
                                                     const struct command__presence_cfg *cfg,
                                                     int64_t wall, int64_t mono,
                                                     const struct command__hb *hb,
                                                     const void *client, bool *flush)
{
	bool was_online = p->online, changed = false;

	if (hb && hb->has_interval && hb->interval_ms != p->interval_ms) {
		p->interval_ms = hb->interval_ms;
		changed = true;
	}
	if (hb && hb->has_seq)
		p->seq = hb->seq;
	p->online = true;
	p->last_seen = wall;
	p->deadline = mono + cfg->factor * p->interval_ms;
	p->client = client;
	*flush = !was_online || changed || p->flushed == 0 || mono - p->flushed >= cfg->refresh_ms;
	if (*flush)
		p->flushed = mono;
	return was_online ? COMMAND_PRESENCE_SAME : COMMAND_PRESENCE_ONLINE;
}

enum command__presence_change command__presence_check(struct command__presence *p, int64_t mono)
{
	if (!p->online || mono < p->deadline)
		return COMMAND_PRESENCE_SAME;
	p->online = false;
	p->client = NULL;
	return COMMAND_PRESENCE_OFFLINE;
}

enum command__presence_change command__presence_disconnect(struct command__presence *p,
                                                           const void *client)
{
	if (!p->online || p->client != client)
		return COMMAND_PRESENCE_SAME;
	p->online = false;
	p->client = NULL;
	return COMMAND_PRESENCE_OFFLINE;
}

void command__presence_restore(struct command__presence *p, const struct command__presence_cfg *cfg,
                               int64_t last_seen, int64_t interval_ms, int64_t seq, int64_t wall,
                               int64_t mono)
{
	int64_t left;

	p->interval_ms = interval_ms > 0 ? interval_ms : cfg->interval_ms;
	left = last_seen + cfg->factor * p->interval_ms - wall;
	p->online = true;
	p->last_seen = last_seen;
	p->deadline = mono + (left > 0 ? left : 0);
	p->seq = seq;
	p->flushed = mono;
	p->client = NULL;
}

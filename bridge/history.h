/*
 * history.h - past events from MongoDB's `events` buckets, at start.
 *
 * The store plugin persists every dev/{id}/evt payload to the `events`
 * collection as time-slot buckets (one document per device per slot).
 * At start the bridge reads the buckets of the last history_window into
 * the engine (quietly: no pushes until the load is over), logging its
 * progress, then refreshes everybody. Events newer than the start are
 * left to the live subscription, which is already running, so none is
 * counted twice. Runs on the main thread before the message loop.
 */
#ifndef BRIDGE_HISTORY_H
#define BRIDGE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "precis/log.h"

struct br_history_stats {
	uint64_t devices, buckets, events, refused, skipped;
};

/*
 * br_history_load - feed the engine every event stored with from_ms <= t
 * < to_ms, logging progress about every second. Returns PC_OK, or PC_ERR_IO
 * with detail (MongoDB unreachable or failing part-way: the engine then
 * goes on from what it has, and from live events).
 */
int br_history_load(const struct br_config *c, struct br_engine *e, int64_t from_ms, int64_t to_ms,
                    const struct pc_logger *log, struct br_history_stats *st, char *err,
                    size_t errlen);

#endif

/*
 * due.h - per-device wake-up times for the Redis worker (due.c).
 *
 * The scripts tell the worker, with every view, how long until a
 * device's commands change by themselves: a lease runs out, a TTL
 * passes, a delayed command becomes ready. The worker keeps one time per
 * device here and sweeps the device when it comes. A binary min-heap
 * indexed by a hash map: set, cancel and pop are O(log n). One thread
 * (the worker's) owns a set.
 */
#ifndef PRECIS_COMMAND_DUE_H
#define PRECIS_COMMAND_DUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/topic.h"

struct command__due;

/* command__due_new - an empty set, or NULL when out of memory. */
struct command__due *command__due_new(void);

/* command__due_free - free the set (NULL allowed). */
void command__due_free(struct command__due *s);

/* command__due_set - device dev (a valid id) is due at `at`, replacing any earlier time. PC_OK or
 * PC_ERR_NOMEM. */
int command__due_set(struct command__due *s, const char *dev, int64_t at);

/* command__due_cancel - forget dev's time, if any. */
void command__due_cancel(struct command__due *s, const char *dev);

/* command__due_next - the earliest time in the set, or INT64_MAX when empty. */
int64_t command__due_next(const struct command__due *s);

/*
 * command__due_pop - when the earliest time is <= now, copy its device
 * into dev (PC_ID_MAX + 1 bytes), remove it and return true.
 */
bool command__due_pop(struct command__due *s, int64_t now, char *dev);

/* command__due_count - devices in the set. */
size_t command__due_count(const struct command__due *s);

#endif

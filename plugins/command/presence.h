/*
 * presence.h - when a device counts as online (presence.c).
 *
 * A device is online from its first heartbeat or data upload until
 * either its connection closes or it stays silent for factor x its
 * heartbeat interval (the interval it declared in a heartbeat, else the
 * configured default). Deadlines run on the monotonic clock, so a wall
 * clock step never takes a fleet offline; the times reported ("at",
 * last seen) are wall-clock milliseconds. Pure state and arithmetic: the
 * caller supplies both clocks and does the publishing and the Redis
 * writes these functions ask for.
 */
#ifndef PRECIS_COMMAND_PRESENCE_H
#define PRECIS_COMMAND_PRESENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

struct command__presence_cfg {
	int64_t interval_ms; /* assumed when a device declares none */
	int64_t factor;      /* offline after factor x interval of silence */
	int64_t refresh_ms;  /* rewrite last-seen in Redis at most this often */
};

struct command__presence {
	bool online;
	int64_t last_seen;   /* wall ms of the last beat */
	int64_t deadline;    /* monotonic ms; offline once passed */
	int64_t interval_ms; /* the device's interval (declared or default) */
	int64_t seq;         /* the last heartbeat seq, -1 when none was given */
	int64_t flushed;     /* monotonic ms of the last Redis write; 0: never */
	const void *client;  /* the connection that beat last; compared, never dereferenced */
};

enum command__presence_change {
	COMMAND_PRESENCE_SAME,
	COMMAND_PRESENCE_ONLINE,  /* it just came online */
	COMMAND_PRESENCE_OFFLINE, /* it just went offline */
};

/* command__presence_init - a device never seen: offline, no seq, default interval. */
void command__presence_init(struct command__presence *p, const struct command__presence_cfg *cfg);

/*
 * command__presence_beat - the device sent a heartbeat (hb, NULL for a data
 * upload) on connection client at wall/mono. Returns ONLINE when this beat
 * brought it online. *flush is set when Redis should be written now (a
 * change, or refresh_ms since the last write), and p->flushed is updated.
 */
enum command__presence_change command__presence_beat(struct command__presence *p,
                                                     const struct command__presence_cfg *cfg,
                                                     int64_t wall, int64_t mono,
                                                     const struct command__hb *hb,
                                                     const void *client, bool *flush);

/* command__presence_check - OFFLINE (and p goes offline) once the silence deadline has passed. */
enum command__presence_change command__presence_check(struct command__presence *p, int64_t mono);

/*
 * command__presence_disconnect - connection client closed: OFFLINE when it
 * is the one the device beat on last (a session taken over by a newer
 * connection keeps the device online).
 */
enum command__presence_change command__presence_disconnect(struct command__presence *p,
                                                           const void *client);

/*
 * command__presence_restore - the device was online, last seen at
 * last_seen (wall) with interval_ms and seq, according to Redis, when the
 * broker (re)started: online again, with the deadline it had then
 * (possibly already passed, for the next check to notice). Marks it
 * flushed at mono.
 */
void command__presence_restore(struct command__presence *p, const struct command__presence_cfg *cfg,
                               int64_t last_seen, int64_t interval_ms, int64_t seq, int64_t wall,
                               int64_t mono);

#endif

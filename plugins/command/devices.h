/*
 * devices.h - the broker thread's table of devices (devices.c).
 *
 * One entry per device that is online or has commands pending: its
 * presence and a prefetched copy of its ready commands, in delivery
 * order, as the Redis worker last saw them (a "view"). A heartbeat
 * delivers from this copy without waiting on Redis and hands the claim
 * (pending -> in flight, in Redis) to the worker.
 *
 * Views and claims race: a view computed before a claim landed still
 * lists the commands just delivered. Generations settle it: every
 * delivery bumps dev->gen and sends the claim with that number; the
 * worker answers every claim (command__device_claimed). While a claim is
 * unanswered (gen_done < gen) views are refused, and of the claim
 * answers only the one for the latest delivery installs its view, which
 * Redis computed after every earlier claim. The worker handles jobs in
 * order, so every view it sends after that answer is newer still.
 *
 * Pure data structure over pc_hmap; one thread (the broker's) owns it.
 */
#ifndef PRECIS_COMMAND_DEVICES_H
#define PRECIS_COMMAND_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "presence.h"
#include "precis/topic.h"

struct pc_hmap;

/* A ready command as delivered; every string is a heap copy owned by whoever holds it. */
struct command__cmd {
	char *cid;
	char *op;
	char *args;        /* JSON object text */
	int64_t expire_at; /* wall ms */
	int64_t attempts;  /* deliveries so far */
};

/* What Redis said about a device's commands (see the scripts' view()). */
struct command__view {
	int64_t due_in;    /* ms until something changes by itself (-1: nothing) */
	int64_t npending;  /* pending, ready or not */
	int64_t ninflight; /* delivered, not acked */
	size_t n;
	struct command__cmd *cmds; /* the first n ready, in delivery order */
};

/* command__cmd_free - free a command's strings (not the struct). */
void command__cmd_free(struct command__cmd *c);

/* command__view_free - free the commands of v and empty it (v itself is the caller's). */
void command__view_free(struct command__view *v);

struct command__device {
	char id[PC_ID_MAX + 1];
	size_t id_len;
	struct command__presence presence;
	struct command__cmd *cmds; /* ready commands, delivery order */
	size_t ncmds;
	int64_t npending;       /* pending in Redis, as of the last view, less those delivered */
	char *ack_topic;        /* dev/{id}/hb/ack, built once by its first heartbeat (heap) */
	uint64_t gen, gen_done; /* deliveries made / answered by the worker */
};

struct command__devices {
	struct pc_hmap *map;
	struct command__presence_cfg presence; /* for new entries */
};

/* command__devices_init - an empty table. Returns PC_OK or PC_ERR_NOMEM. */
int command__devices_init(struct command__devices *t, const struct command__presence_cfg *cfg);

/* command__devices_cleanup - free every entry and the table. */
void command__devices_cleanup(struct command__devices *t);

/* command__devices_find - the entry of id[0..len), or NULL. */
struct command__device *command__devices_find(struct command__devices *t, const char *id,
                                              size_t len);

/* command__devices_add - the entry of id[0..len) (a valid id), created if new; NULL when out of
 * memory. */
struct command__device *command__devices_add(struct command__devices *t, const char *id,
                                             size_t len);

/*
 * command__devices_drop_idle - remove and free dev when it is offline,
 * holds no commands, has no claim unanswered and nothing pending; returns
 * true when it did (dev is gone then).
 */
bool command__devices_drop_idle(struct command__devices *t, struct command__device *dev);

/* command__devices_count - entries in the table. */
size_t command__devices_count(const struct command__devices *t);

/*
 * command__devices_next - iterate (cursor from 0, see pc_hmap_next);
 * deleting the returned entry with command__devices_drop_idle is allowed
 * if the caller then steps *cursor back by one.
 */
struct command__device *command__devices_next(struct command__devices *t, size_t *cursor);

/* command__devices_slots - the cursor's range, for sweeps spread over time. */
size_t command__devices_slots(const struct command__devices *t);

/* command__devices_clear_views - forget every prefetched command (a resync follows). */
void command__devices_clear_views(struct command__devices *t);

/*
 * command__device_set_view - install v unless a claim is unanswered.
 * Returns true when installed: dev then owns v's commands and v is
 * emptied; otherwise v is left for the caller to free.
 */
bool command__device_set_view(struct command__device *dev, struct command__view *v);

/*
 * command__device_claimed - the worker answered the claim of delivery gen.
 * v is the view after it (NULL when the claim could not be made); it is
 * installed when gen is the latest delivery, as command__device_set_view
 * would. Returns true when v was installed.
 */
bool command__device_claimed(struct command__device *dev, uint64_t gen, struct command__view *v);

/*
 * command__device_take - move up to max ready commands, in order, into
 * out[] (the caller owns them then); commands whose expire_at is not
 * after now are dropped on the way. When any is taken, dev->gen is bumped
 * and *gen is the delivery's number. Returns how many were taken.
 */
size_t command__device_take(struct command__device *dev, int64_t now, size_t max,
                            struct command__cmd *out, uint64_t *gen);

/*
 * command__device_untake - put back cmds[0..n) (just taken, same order)
 * at the front, undoing the delivery's gen: the claim could not be sent.
 * Returns PC_OK, or PC_ERR_NOMEM (the commands are freed; the next view
 * brings them back).
 */
int command__device_untake(struct command__device *dev, struct command__cmd *cmds, size_t n);

#endif

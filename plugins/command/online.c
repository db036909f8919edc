/*
 * online.c - device presence on the broker thread: publishing it and
 * writing it to Redis.
 *
 * presence.c decides when a device comes online or goes offline; this
 * file acts on it: a retained {online, at, seq, reason} on
 * ops/dev/{id}/presence for every change (reasons: heartbeat, data,
 * disconnect, timeout), and a presence job for the Redis worker (the
 * device's presence hash: online, last seen, interval, seq, reason),
 * also every presence_refresh while the device stays online, so Redis
 * knows when it was last seen without a write per heartbeat. From TICK,
 * a sweep walks the device table, a slice per tick so that a whole pass
 * takes about a second whatever the fleet size, and takes silent devices
 * offline.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

#define SWEEP_PERIOD_MS 1000

void command__presence_flush(struct command__data *d, struct command__device *dev,
                             const char *reason)
{
	struct command__job *j = command__job_new(COMMAND_JOB_PRESENCE, dev->id, dev->id_len);

	if (!j) {
		pb_count(&d->stats.jobs_dropped, 1);
		return;
	}
	j->presence.online = dev->presence.online;
	j->presence.last_seen = dev->presence.last_seen;
	j->presence.interval_ms = dev->presence.interval_ms;
	j->presence.seq = dev->presence.seq;
	j->presence.reason = reason;
	command__job_push(d, j);
}

void command__presence_changed(struct command__data *d, struct command__device *dev,
                               const char *reason)
{
	char topic[PC_TOPIC_MAX + 1];
	size_t len;
	char *payload;

	pb_count(dev->presence.online ? &d->stats.online : &d->stats.offline, 1);
	if (pc_topic_build(topic, sizeof topic, d->conf.topic_root, PC_T_OPS_PRESENCE, dev->id,
	                   NULL) >= 0 &&
	    (payload = command__presence_payload(dev->presence.online, pc_wall_ms(),
	                                         dev->presence.seq, reason, &len)) != NULL) {
		command__publish(NULL, topic, payload, len, 1, true, NULL);
		free(payload);
	}
	command__presence_flush(d, dev, reason);
}

void command__on_disconnect(struct command__data *d, const struct mosquitto *client)
{
	const char *id = mosquitto_client_id(client);
	struct command__device *dev;

	if (!id || !(dev = command__devices_find(&d->devices, id, strlen(id))))
		return;
	if (command__presence_disconnect(&dev->presence, client) == COMMAND_PRESENCE_OFFLINE) {
		command__presence_changed(d, dev, "disconnect");
		command__devices_drop_idle(&d->devices, dev);
	}
}

void command__presence_sweep(struct command__data *d)
{
	int64_t now = pc_mono_ms(), elapsed = now - d->sweep_mono;
	size_t count = command__devices_count(&d->devices), budget;
	struct command__device *dev;

	if (count == 0)
		return;
	if (elapsed <= 0)
		return;
	d->sweep_mono = now;
	budget = elapsed >= SWEEP_PERIOD_MS ? count : count * (size_t)elapsed / SWEEP_PERIOD_MS + 1;
	while (budget-- > 0) {
		dev = command__devices_next(&d->devices, &d->sweep_cursor);
		if (!dev) {
			d->sweep_cursor = 0; /* a pass ended; the next tick starts another */
			break;
		}
		if (command__presence_check(&dev->presence, now) == COMMAND_PRESENCE_OFFLINE)
			command__presence_changed(d, dev, "timeout");
		if (command__devices_drop_idle(&d->devices, dev))
			d->sweep_cursor--; /* the next entry moved into the freed slot */
	}
}

/*
 * outq.c - what the workers hand to the broker thread, and publishing.
 *
 * Workers never call mosquitto_*: they queue struct command__out
 * messages on d->out (publishes of notices and refusals, views of a
 * device's ready commands, claim answers, resync markers, presence
 * restored at start). The broker thread drains the queue on every TICK
 * and at the start of every heartbeat, so a heartbeat always sees the
 * freshest views there are. command__publish wraps
 * mosquitto_broker_publish with the copy into mosquitto_malloc memory
 * that the broker expects.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

struct command__out *command__out_new(enum command__out_kind kind)
{
	struct command__out *m = calloc(1, sizeof *m);

	if (m)
		m->kind = kind;
	return m;
}

void command__out_free(struct command__out *m)
{
	if (!m)
		return;
	command__view_free(&m->view);
	free(m->topic);
	free(m->payload);
	free(m);
}

int command__out_push(struct command__data *d, struct command__out *m)
{
	int rc = pc_queue_push(d->out, m);

	if (rc != PC_OK) {
		pb_count(&d->stats.out_dropped, 1);
		command__out_free(m);
	}
	return rc;
}

int command__out_publish(struct command__data *d, const char *topic, const char *payload,
                         size_t len, int qos, bool retain)
{
	struct command__out *m = command__out_new(COMMAND_OUT_PUBLISH);

	if (m) {
		m->topic = strdup(topic);
		m->payload = malloc(len ? len : 1);
	}
	if (!m || !m->topic || !m->payload) {
		pb_count(&d->stats.out_dropped, 1);
		command__out_free(m);
		return PC_ERR_NOMEM;
	}
	memcpy(m->payload, payload, len);
	m->len = len;
	m->qos = qos;
	m->retain = retain;
	return command__out_push(d, m);
}

int command__publish(const char *clientid, const char *topic, const char *payload, size_t len,
                     int qos, bool retain, mosquitto_property *props)
{
	void *copy = mosquitto_malloc(len ? len : 1);
	int rc;

	if (!copy) {
		mosquitto_property_free_all(&props);
		return MOSQ_ERR_NOMEM;
	}
	memcpy(copy, payload, len);
	rc = mosquitto_broker_publish(clientid, topic, (int)len, copy, qos, retain, props);
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_free(copy);
		mosquitto_property_free_all(&props);
	}
	return rc;
}

/* A view for a device: installed unless a claim is unanswered (devices.h). */
static void apply_view(struct command__data *d, struct command__out *m)
{
	struct command__device *dev = command__devices_find(&d->devices, m->dev, strlen(m->dev));

	if (!dev && (m->view.n || m->view.npending > 0))
		dev = command__devices_add(&d->devices, m->dev, strlen(m->dev));
	if (!dev)
		return;
	if (m->kind == COMMAND_OUT_CLAIMED)
		command__device_claimed(dev, m->gen, m->ok ? &m->view : NULL);
	else
		command__device_set_view(dev, &m->view);
	command__devices_drop_idle(&d->devices, dev);
}

static void restore(struct command__data *d, struct command__out *m)
{
	struct command__device *dev = command__devices_add(&d->devices, m->dev, strlen(m->dev));

	/* A device that beat since the broker started knows better than Redis. */
	if (dev && !dev->presence.online && dev->presence.last_seen == 0)
		command__presence_restore(&dev->presence, &d->presence, m->last_seen,
		                          m->interval_ms, m->seq, pc_wall_ms(), pc_mono_ms());
}

void command__outq_drain(struct command__data *d, size_t max)
{
	struct command__out *m;

	for (size_t n = 0; (max == 0 || n < max) && pc_queue_depth(d->out) > 0; n++) {
		if (!(m = pc_queue_pop(d->out)))
			break;
		switch (m->kind) {
		case COMMAND_OUT_PUBLISH:
			command__publish(NULL, m->topic, m->payload, m->len, m->qos, m->retain,
			                 NULL);
			break;
		case COMMAND_OUT_VIEW:
		case COMMAND_OUT_CLAIMED:
			apply_view(d, m);
			break;
		case COMMAND_OUT_CLEAR:
			command__devices_clear_views(&d->devices);
			break;
		case COMMAND_OUT_RESTORE:
			restore(d, m);
			break;
		}
		command__out_free(m);
	}
}

/*
 * heartbeat.c - a device's heartbeat or data upload: presence, then either
 * its ready commands or a heartbeat ack. Broker thread, no Redis.
 *
 * The device table holds, per device with commands, a prefetched copy of
 * its ready commands (devices.h), kept fresh by the Redis worker. A beat
 * takes up to deliver_max of them, queues their claim (pending -> in
 * flight with a lease, done by the worker in Redis) and publishes them
 * to dev/{id}/cmd at QoS 1 at once, with response topic and correlation
 * data for MQTT 5 devices. The command stays pending in Redis until the
 * claim lands, so a crash in between loses nothing: it is delivered
 * again. A heartbeat that brings nothing gets dev/{id}/hb/ack, also when
 * Redis is down (then nothing is delivered: a lease could not be
 * recorded, and the ack's "pending" tells the device what waits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

/* The sender must be the device itself: its client id is the id in the topic. */
static bool from_device(const struct mosquitto_evt_message *ed, const struct pc_topic *t,
                        const char **client)
{
	const char *id = mosquitto_client_id(ed->client);

	*client = id;
	return id && strlen(id) == t->id_len && memcmp(id, t->id, t->id_len) == 0;
}

/* The hb/ack topic of t's device, built once per device entry. */
static const char *ack_topic(struct command__data *d, struct command__device *dev,
                             const struct pc_topic *t, char *buf, size_t len)
{
	char id[PC_ID_MAX + 1];

	if (dev && dev->ack_topic)
		return dev->ack_topic;
	memcpy(id, t->id, t->id_len);
	id[t->id_len] = '\0';
	if (pc_topic_build(buf, len, d->conf.topic_root, PC_T_DEV_HB_ACK, id, NULL) < 0)
		return NULL;
	if (dev)
		dev->ack_topic = strdup(buf); /* NULL on OOM: built again next time */
	return buf;
}

static void publish_hb_ack(struct command__data *d, struct command__device *dev,
                           const struct pc_topic *t, int qos, int64_t now, const char *error)
{
	char buf[PC_TOPIC_MAX + 1], text[64];
	const char *topic = ack_topic(d, dev, t, buf, sizeof buf);
	const char *client = dev ? dev->id : NULL;
	int64_t pending = dev ? dev->npending : 0;
	char *payload = NULL, id[PC_ID_MAX + 1];
	size_t len;
	int rc;

	if (!topic)
		return;
	if (!client) {
		memcpy(id, t->id, t->id_len);
		id[t->id_len] = '\0';
		client = id;
	}
	if (error) {
		if (!(payload = command__hb_ack_payload(now, pending, error, &len)))
			return;
		rc = command__publish(client, topic, payload, len, qos, false, NULL);
		free(payload);
	} else { /* the hot path: no allocation but the broker's copy */
		len = command__hb_ack_text(text, sizeof text, now, pending);
		rc = command__publish(client, topic, text, len, qos, false, NULL);
	}
	if (rc == MOSQ_ERR_SUCCESS)
		pb_count(&d->stats.hb_acks, 1);
}

/* MQTT 5: where to answer, and the command id as correlation data. */
static mosquitto_property *v5_props(const char *ack_topic, const char *cid)
{
	mosquitto_property *props = NULL;

	if (mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, ack_topic) !=
	        MOSQ_ERR_SUCCESS ||
	    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, cid,
	                                  (uint16_t)strlen(cid)) != MOSQ_ERR_SUCCESS) {
		mosquitto_property_free_all(&props);
		return NULL;
	}
	return props;
}

static struct command__job *claim_job(const struct command__device *dev, uint64_t gen,
                                      const struct command__cmd *cmds, size_t n)
{
	struct command__job *j = command__job_new(COMMAND_JOB_CLAIM, dev->id, dev->id_len);

	if (!j)
		return NULL;
	j->gen = gen;
	j->ncids = n;
	j->cids = calloc(n, sizeof *j->cids);
	if (!j->cids) {
		command__job_free(j);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(j->cids[i], sizeof j->cids[i], "%s", cmds[i].cid);
	return j;
}

/* Deliver what the device has ready; returns how many commands went out. */
static size_t deliver(struct command__data *d, struct command__device *dev, bool v5, int64_t now)
{
	struct command__cmd taken[COMMAND_DELIVER_MAX];
	char topic[PC_TOPIC_MAX + 1], ack_topic[PC_TOPIC_MAX + 1];
	struct command__job *j;
	uint64_t gen;
	size_t n;

	if (!dev->ncmds ||
	    pc_topic_build(topic, sizeof topic, d->conf.topic_root, PC_T_DEV_CMD, dev->id, NULL) <
	        0 ||
	    pc_topic_build(ack_topic, sizeof ack_topic, d->conf.topic_root, PC_T_DEV_CMD_ACK,
	                   dev->id, NULL) < 0)
		return 0;
	n = command__device_take(dev, now, (size_t)d->conf.deliver_max, taken, &gen);
	if (n == 0)
		return 0;
	/* The claim goes first: a command is published only if its lease can be recorded. */
	j = claim_job(dev, gen, taken, n);
	if (!j || command__job_push(d, j) != PC_OK) {
		if (!j)
			pb_count(&d->stats.jobs_dropped, 1);
		pb_count(&d->stats.undelivered, n);
		command__device_untake(dev, taken, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *payload =
		    command__cmd_payload(taken[i].cid, taken[i].op, taken[i].args, now,
		                         taken[i].expire_at, taken[i].attempts + 1, &len);
		mosquitto_property *props = v5 ? v5_props(ack_topic, taken[i].cid) : NULL;

		/* A publish that fails leaves the command in flight: its lease runs out and
		 * it is delivered again. */
		if (payload && command__publish(dev->id, topic, payload, len, 1, false, props) ==
		                   MOSQ_ERR_SUCCESS)
			pb_count(&d->stats.delivered, 1);
		else
			pb_count(&d->stats.undelivered, 1);
		free(payload);
		command__cmd_free(&taken[i]);
	}
	return n;
}

void command__on_beat(struct command__data *d, const struct mosquitto_evt_message *ed,
                      const struct pc_topic *t)
{
	bool is_hb = t->kind == PC_T_DEV_HB, flush;
	int64_t now = pc_wall_ms();
	int qos = ed->qos > 1 ? 1 : ed->qos;
	struct command__device *dev;
	struct command__hb hb;
	const char *client;
	char err[200];

	pb_count(is_hb ? &d->stats.hb : &d->stats.data, 1);
	if (!from_device(ed, t, &client)) {
		command__bad_input(d, &d->stats.hb_foreign, client, ed->topic,
		                   "the client id is not the device id of the topic");
		return;
	}
	command__outq_drain(d, 256); /* the freshest views before looking */
	if (is_hb &&
	    (ed->payloadlen > d->conf.max_payload ||
	     command__hb_parse(ed->payload, ed->payloadlen, &hb, err, sizeof err) != PC_OK)) {
		if (ed->payloadlen > d->conf.max_payload)
			snprintf(err, sizeof err,
			         "payload of %u bytes is over plugin_opt_max_payload",
			         ed->payloadlen);
		command__bad_input(d, &d->stats.hb_invalid, client, ed->topic, err);
		publish_hb_ack(d, command__devices_find(&d->devices, t->id, t->id_len), t, qos, now,
		               err);
		return;
	}
	dev = command__devices_add(&d->devices, t->id, t->id_len);
	if (!dev) {
		if (is_hb)
			publish_hb_ack(d, NULL, t, qos, now, NULL);
		return;
	}
	if (command__presence_beat(&dev->presence, &d->presence, now, pc_mono_ms(),
	                           is_hb ? &hb : NULL, ed->client,
	                           &flush) == COMMAND_PRESENCE_ONLINE)
		command__presence_changed(d, dev, is_hb ? "heartbeat" : "data");
	else if (flush)
		command__presence_flush(d, dev, is_hb ? "heartbeat" : "data");
	if (pb_backend_up(&d->redis_backend) &&
	    deliver(d, dev, mosquitto_client_protocol_version(ed->client) == 5, now) > 0)
		return;
	if (is_hb)
		publish_hb_ack(d, dev, t, qos, now, NULL);
}

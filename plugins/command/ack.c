/*
 * ack.c - dev/{id}/cmd/ack: a device answers a command. Broker thread.
 *
 * The ack is checked here, without Redis: the sender must be the device
 * of the topic, the payload an ack (schemas/cmd-ack.schema.json), and
 * the command id one of this device's (its "@device" part). MQTT 5
 * devices may leave the id out and send it as correlation data, as they
 * received it. What passes is queued for the Redis worker, whose ack
 * script decides (applied, duplicate, forged) and counts. Nothing else
 * changes on a refused ack.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

void command__on_ack(struct command__data *d, const struct mosquitto_evt_message *ed,
                     const struct pc_topic *t)
{
	const char *client = mosquitto_client_id(ed->client), *dev;
	void *corr = NULL;
	uint16_t corrlen = 0;
	struct command__ack a;
	struct command__job *j;
	size_t devlen;
	char err[200];
	int rc;

	pb_count(&d->stats.acks, 1);
	if (!client || strlen(client) != t->id_len || memcmp(client, t->id, t->id_len) != 0) {
		command__bad_input(d, &d->stats.acks_foreign, client, ed->topic,
		                   "the client id is not the device id of the topic");
		return;
	}
	if (ed->payloadlen > d->conf.max_payload) {
		command__bad_input(d, &d->stats.acks_invalid, client, ed->topic,
		                   "payload over plugin_opt_max_payload");
		return;
	}
	/* Broker memory: freed with mosquitto_free. */
	mosquitto_property_read_binary(ed->properties, MQTT_PROP_CORRELATION_DATA, &corr, &corrlen,
	                               false);
	rc = command__ack_parse(ed->payload, ed->payloadlen, corr, corr ? corrlen : 0, &a, err,
	                        sizeof err);
	mosquitto_free(corr);
	if (rc != PC_OK) {
		command__bad_input(d, &d->stats.acks_invalid, client, ed->topic, err);
		return;
	}
	command__cid_split(a.cid, strlen(a.cid), &dev, &devlen);
	if (devlen != t->id_len || memcmp(dev, t->id, devlen) != 0) {
		command__bad_input(d, &d->stats.acks_foreign, client, ed->topic,
		                   "the command belongs to another device");
		return;
	}
	j = command__job_new(COMMAND_JOB_ACK, t->id, t->id_len);
	if (j && a.result) {
		j->text = malloc(a.result_len + 1);
		if (j->text) {
			memcpy(j->text, a.result, a.result_len);
			j->text[a.result_len] = '\0';
		}
	}
	if (!j || (a.result && !j->text)) {
		pb_count(&d->stats.jobs_dropped, 1);
		command__job_free(j);
		return;
	}
	memcpy(j->cid, a.cid, sizeof j->cid);
	j->status = a.status;
	command__job_push(d, j);
}

/*
 * ops.c - ops/dev/{id}/cmd: ops enqueue a command over MQTT. Broker thread.
 *
 * The request (schemas/cmd-request.schema.json) is checked here; a good
 * one gets a command id ("<token>@<device>", the token from the time and
 * a random number) and goes to the Redis worker, whose enqueue script
 * makes it pending (or refuses it: the device is full). Who may publish
 * here is the auth plugin's business (role ops). A refused request is
 * answered on ops/dev/{id}/cmd/state with state "refused" and the
 * reason; an accepted one shows up there as its "pending" transition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

static uint64_t next_rand(struct command__data *d)
{
	uint64_t x = d->rnd; /* xorshift64 */

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->rnd = x;
	return x;
}

/* Answer a refused request on the device's state topic. */
static void refuse(struct command__data *d, const char *dev, const char *op, const char *why)
{
	char topic[PC_TOPIC_MAX + 1];
	size_t len;
	char *payload;

	pb_count(&d->stats.refused, 1);
	if (pc_topic_build(topic, sizeof topic, d->conf.topic_root, PC_T_OPS_CMD_STATE, dev, NULL) <
	    0)
		return;
	payload = command__refused_payload(op, pc_wall_ms(), why, &len);
	if (payload)
		command__publish(NULL, topic, payload, len, 1, false, NULL);
	free(payload);
}

void command__on_ops_cmd(struct command__data *d, const struct mosquitto_evt_message *ed,
                         const struct pc_topic *t)
{
	const char *client = mosquitto_client_id(ed->client);
	char dev[PC_ID_MAX + 1], err[200];
	struct command__request r;
	struct command__job *j;

	memcpy(dev, t->id, t->id_len);
	dev[t->id_len] = '\0';
	r.op[0] = '\0';
	if (ed->payloadlen > d->conf.max_payload) {
		snprintf(err, sizeof err, "payload of %u bytes is over plugin_opt_max_payload",
		         ed->payloadlen);
	} else if (command__request_parse(ed->payload, ed->payloadlen, pc_wall_ms(), &d->defaults,
	                                  &r, err, sizeof err) == PC_OK) {
		j = command__job_new(COMMAND_JOB_ENQUEUE, t->id, t->id_len);
		if (j && (j->text = malloc(r.args_len + 1)) != NULL) {
			memcpy(j->text, r.args, r.args_len);
			j->text[r.args_len] = '\0';
			j->req = r;
			j->req.args = j->text;
			command__cid_make(j->cid, sizeof j->cid, pc_wall_ms(), next_rand(d), dev);
			if (command__job_push(d, j) == PC_OK)
				return;
			refuse(d, dev, r.op, "the plugin is overloaded, try again");
			return;
		}
		command__job_free(j);
		refuse(d, dev, r.op, "out of memory");
		return;
	}
	command__bad_input(d, NULL, client, ed->topic, err); /* refuse() counts */
	refuse(d, dev, r.op, err);
}

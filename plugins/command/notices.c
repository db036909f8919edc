/*
 * notices.c - what a transition notice makes the plugin do.
 *
 * Every lifecycle script publishes one notice per transition,
 * "<device> <origin> <json>", and also returns the notices it published
 * with its reply. The notices of this broker's own scripts are taken
 * from the replies (Redis worker thread), every other one from the
 * subscriber (its thread); each is handled once, here: its JSON is
 * published on ops/dev/{id}/cmd/state (through the broker thread), the
 * transition counted, the device's view refreshed when someone else
 * changed it, and a finished command queued for the archive.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "precis/json.h"
#include "precis/error.h"

static atomic_uint_fast64_t *state_counter(struct command__data *d, const char *state)
{
	static const char *const names[] = {"pending", "inflight", "done",      "failed",
	                                    "expired", "canceled", "superseded"};
	atomic_uint_fast64_t *counters[] = {&d->stats.st_pending,   &d->stats.st_inflight,
	                                    &d->stats.st_done,      &d->stats.st_failed,
	                                    &d->stats.st_expired,   &d->stats.st_canceled,
	                                    &d->stats.st_superseded};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(state, names[i]) == 0)
			return counters[i];
	return NULL;
}

void command__notice(struct command__data *d, const char *msg, size_t len, bool own)
{
	const char *sp1 = memchr(msg, ' ', len), *sp2, *json;
	struct pc_jmember m[16];
	char dev[PC_ID_MAX + 1], origin[64], state[16] = "", cid[COMMAND_CID_MAX + 1] = "";
	char topic[PC_TOPIC_MAX + 1];
	atomic_uint_fast64_t *counter;
	size_t n, devlen, jlen;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - msg))))
		return;
	devlen = (size_t)(sp1 - msg);
	if (pc_id_check(msg, devlen, NULL, 0) != PC_OK || (size_t)(sp2 - sp1 - 1) >= sizeof origin)
		return;
	memcpy(dev, msg, devlen);
	dev[devlen] = '\0';
	memcpy(origin, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	origin[sp2 - sp1 - 1] = '\0';
	if (strcmp(origin, d->origin) == 0 && !own)
		return; /* ours: handled from the script's reply */
	pb_count(&d->stats.notices, 1);
	json = sp2 + 1;
	jlen = len - (size_t)(json - msg);
	if (pc_json_object(json, jlen, m, 16, &n, NULL, 0) != PC_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (pc_json_key_is(&m[i], "state"))
			pc_json_string(&m[i].value, state, sizeof state, NULL);
		else if (pc_json_key_is(&m[i], "id"))
			pc_json_string(&m[i].value, cid, sizeof cid, NULL);
	}
	if ((counter = state_counter(d, state)) != NULL)
		pb_count(counter, 1);
	if (pc_topic_build(topic, sizeof topic, d->conf.topic_root, PC_T_OPS_CMD_STATE, dev,
	                   NULL) >= 0)
		command__out_publish(d, topic, json, jlen, 1, false);
	if (!own)
		command__job_push(d, command__job_new(COMMAND_JOB_REFRESH, dev, devlen));
	if (d->conf.archive && cid[0] && counter && counter != &d->stats.st_pending &&
	    counter != &d->stats.st_inflight) {
		struct command__job *j = command__job_new(COMMAND_JOB_ARCHIVE, dev, devlen);

		if (j)
			snprintf(j->cid, sizeof j->cid, "%s", cid);
		command__job_push(d, j);
	}
}

void command__reply_notices(struct command__data *d, const redisReply *r)
{
	const redisReply *n;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return;
	n = r->element[r->elements - 1];
	for (size_t i = 0; n->type == REDIS_REPLY_ARRAY && i < n->elements; i++)
		if (n->element[i]->type == REDIS_REPLY_STRING)
			command__notice(d, n->element[i]->str, n->element[i]->len, true);
}

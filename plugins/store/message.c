/*
 * message.c - MOSQ_EVT_MESSAGE: what the broker thread does for each PUBLISH.
 *
 * Everything here is cheap and local: match the topic against the
 * mapping (no match: nothing to do), check the device id and the payload
 * size, and append the message to the spool (one write(2)). When the
 * message cannot be stored - bad id, payload too large, spool full, disk
 * error - the publish is refused or, for a full spool under the drop
 * policy, let through unstored; every case is counted and logged (rate
 * limited). Refusing means MOSQ_ERR_ACL_DENIED: the message goes nowhere
 * and an MQTT 5 QoS 1/2 sender gets reason code 0x87. An MQTT 3.1.1
 * sender cannot be told, so for a full spool (which will drain) its QoS
 * 1/2 publish is answered by a disconnect instead of a silent PUBACK: the
 * message stays unacknowledged and the client sends it again after
 * reconnecting. Runs on the broker thread only.
 */
#include <inttypes.h>
#include <string.h>

#include "precis/error.h"
#include "precis/topic.h"
#include "store.h"

/* refuse - the return value that refuses the message: see the file comment. */
static int refuse(const struct mosquitto_evt_message *ed, bool retry_later)
{
	if (retry_later && ed->qos > 0 && mosquitto_client_protocol_version(ed->client) != 5)
		return MOSQ_ERR_UNKNOWN; /* any error but ACL_DENIED disconnects */
	return MOSQ_ERR_ACL_DENIED;
}

static void log_refusal(struct store__data *d, const char *what, const char *topic,
                        const char *detail)
{
	uint64_t suppressed;

	if (store__ratelog_allow(&d->rl_deny, pc_mono_ms(), &suppressed))
		pc_log(&d->base.log, PC_LOG_WARNING, "%s '%s': %s", what, topic, detail);
	if (suppressed)
		pc_log(&d->base.log, PC_LOG_WARNING, "%" PRIu64 " more refusals not logged",
		       suppressed);
}

/* store__on_message - contract in store.h. */
int store__on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	struct store__data *d = userdata;
	char err[160] = "";
	const char *id;
	size_t id_len, tlen;
	uint64_t seq;
	int rc;

	if (store__route_match(&d->routes, ed->topic, &id, &id_len) < 0)
		return MOSQ_ERR_SUCCESS;
	tlen = strlen(ed->topic);
	if (pc_id_check(id, id_len, err, sizeof err) != PC_OK || tlen > PC_TOPIC_MAX) {
		pb_count(&d->c.denied_bad_topic, 1);
		log_refusal(d, "refused", ed->topic, err[0] ? err : "topic too long");
		return refuse(ed, false);
	}
	if (ed->payloadlen > (uint64_t)d->conf.max_payload) {
		pb_count(&d->c.denied_too_large, 1);
		snprintf(err, sizeof err,
		         "payload of %" PRIu32 " bytes is over plugin_opt_max_payload",
		         ed->payloadlen);
		log_refusal(d, "refused", ed->topic, err);
		return refuse(ed, false);
	}
	rc = store__spool_append(&d->spool, pc_wall_ms(), ed->qos, ed->topic, tlen, ed->payload,
	                         ed->payloadlen, &seq, err, sizeof err);
	if (rc == PC_OK) {
		pb_count(&d->c.accepted, 1);
		return MOSQ_ERR_SUCCESS;
	}
	if (d->conf.spool_full == STORE_FULL_DROP) {
		pb_count(rc == PC_ERR_FULL ? &d->c.dropped_spool_full : &d->c.dropped_io_error, 1);
		log_refusal(d, "not stored (passed on)", ed->topic,
		            rc == PC_ERR_FULL ? "the spool is full" : err);
		return MOSQ_ERR_SUCCESS;
	}
	pb_count(rc == PC_ERR_FULL ? &d->c.denied_spool_full : &d->c.denied_io_error, 1);
	log_refusal(d, "refused", ed->topic, rc == PC_ERR_FULL ? "the spool is full" : err);
	return refuse(ed, true);
}

/*
 * mqtt.c - paho.mqtt.c's asynchronous client behind mqtt.h.
 *
 * Paho runs its own threads. Its callbacks here touch only atomics, the
 * inbox queue and the logger (pc_log_stderr_sink writes a line with one
 * write(2)); the main thread calls connect, publish and destroy. paho's
 * automatic reconnect handles lost connections; the first connect (and
 * any failed one) is retried from br_mqtt_maintain with our own backoff,
 * because paho does not retry a connect that never succeeded.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "mqtt.h"
#include "precis/backoff.h"
#include "precis/clock.h"
#include "precis/error.h"

#define NSUBS 3

struct br_mqtt {
	const struct br_config *c;
	struct pc_queue *inbox;
	const struct pc_logger *log;
	MQTTAsync client;
	char uri[300];
	char client_id[PC_ID_MAX + 1];
	char sub[NSUBS][PC_TOPIC_MAX + 1];
	char evt_prefix[PC_TOPIC_MAX + 1]; /* <root>/ or "" */
	struct pc_backoff backoff;
	int64_t retry_at; /* 0: a connect attempt is in flight or we are connected */
	atomic_bool connected, failed, started;
	atomic_uint_fast64_t received, overflow, ignored, connects, lost, failures, published,
	    pub_failed;
};

static void on_subscribed(void *ctx, MQTTAsync_successData5 *r)
{
	struct br_mqtt *m = ctx;
	int k, n = r->alt.sub.reasonCodeCount;

	if (n == 0) { /* a single code */
		if (r->reasonCode >= 0x80)
			pc_log(m->log, PC_LOG_ERR, "mqtt: subscription refused: %s",
			       MQTTReasonCode_toString(r->reasonCode));
		return;
	}
	for (k = 0; k < n && k < NSUBS; k++)
		if (r->alt.sub.reasonCodes[k] >= 0x80)
			pc_log(m->log, PC_LOG_ERR, "mqtt: subscription to %s refused: %s",
			       m->sub[k], MQTTReasonCode_toString(r->alt.sub.reasonCodes[k]));
	pc_log(m->log, PC_LOG_INFO, "mqtt: subscribed to %s, %s, %s", m->sub[0], m->sub[1],
	       m->sub[2]);
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData5 *r)
{
	struct br_mqtt *m = ctx;

	pc_log(m->log, PC_LOG_ERR, "mqtt: subscribe failed: %s",
	       r->message ? r->message : MQTTReasonCode_toString(r->reasonCode));
}

/* paho calls this after the first connect and after every automatic reconnect. */
static void on_connected(void *ctx, char *cause)
{
	struct br_mqtt *m = ctx;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	char *topics[NSUBS] = {m->sub[0], m->sub[1], m->sub[2]};
	int qos[NSUBS] = {1, 1, 1}, rc;

	(void)cause;
	atomic_store(&m->connected, true);
	atomic_fetch_add(&m->connects, 1);
	pc_log(m->log, PC_LOG_NOTICE, "mqtt: connected to %s as %s", m->uri, m->client_id);
	ro.onSuccess5 = on_subscribed;
	ro.onFailure5 = on_subscribe_failed;
	ro.context = m;
	rc = MQTTAsync_subscribeMany(m->client, NSUBS, topics, qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		pc_log(m->log, PC_LOG_ERR, "mqtt: subscribe: %s", MQTTAsync_strerror(rc));
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData5 *r)
{
	struct br_mqtt *m = ctx;

	atomic_fetch_add(&m->failures, 1);
	pc_log(m->log, PC_LOG_ERR, "mqtt: cannot connect to %s: %s%s%s", m->uri,
	       r->reasonCode ? MQTTReasonCode_toString(r->reasonCode) : "",
	       r->reasonCode && r->message ? ": " : "", r->message ? r->message : "");
	atomic_store(&m->failed, true);
}

static void on_lost(void *ctx, char *cause)
{
	struct br_mqtt *m = ctx;

	atomic_store(&m->connected, false);
	atomic_fetch_add(&m->lost, 1);
	pc_log(m->log, PC_LOG_WARNING, "mqtt: connection lost (%s); reconnecting",
	       cause ? cause : "no reason given");
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct br_mqtt *m = ctx;
	struct pc_topic t;
	struct br_msg *out = NULL;
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	enum br_msg_kind kind;
	const char *rest;

	(void)topic_len;
	atomic_fetch_add(&m->received, 1);
	rest = strncmp(topic, m->evt_prefix, strlen(m->evt_prefix)) == 0
	           ? topic + strlen(m->evt_prefix)
	           : NULL;
	if (pc_topic_parse(m->c->topic_root, topic, &t, NULL, 0) != PC_OK)
		t.kind = PC_T_NONE;
	if (t.kind == PC_T_DEV_EVT)
		kind = BR_MSG_EVENT;
	else if (t.kind == PC_T_MKT_CAMPAIGN)
		kind = BR_MSG_CAMPAIGN;
	else if (rest && strcmp(rest, "mkt/optout") == 0)
		kind = BR_MSG_OPTOUT;
	else
		goto ignore;
	out = malloc(sizeof *out + len + 1);
	if (!out)
		goto overflow;
	out->kind = kind;
	out->device[0] = '\0';
	if (kind == BR_MSG_EVENT) {
		memcpy(out->device, t.id, t.id_len);
		out->device[t.id_len] = '\0';
	}
	out->len = len;
	memcpy(out->payload, msg->payload, len);
	out->payload[len] = '\0';
	if (pc_queue_push(m->inbox, out) != PC_OK)
		goto overflow;
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
overflow:
	free(out);
	atomic_fetch_add(&m->overflow, 1);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
ignore:
	atomic_fetch_add(&m->ignored, 1);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

struct br_mqtt *br_mqtt_new(const struct br_config *c, struct pc_queue *inbox,
                            const struct pc_logger *log, char *err, size_t errlen)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	struct br_mqtt *m = calloc(1, sizeof *m);
	const char *root = c->topic_root, *slash = *root ? "/" : "";
	int rc;

	if (!m) {
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->c = c;
	m->inbox = inbox;
	m->log = log;
	snprintf(m->uri, sizeof m->uri, "tcp://%s:%lld", c->mqtt_host, (long long)c->mqtt_port);
	snprintf(m->client_id, sizeof m->client_id, "%s",
	         *c->client_id       ? c->client_id
	         : *c->mqtt_username ? c->mqtt_username
	                             : "precis-bridge");
	snprintf(m->evt_prefix, sizeof m->evt_prefix, "%s%s", root, slash);
	snprintf(m->sub[0], sizeof m->sub[0], "$share/%s/%s%sdev/+/evt", c->share_group, root,
	         slash);
	snprintf(m->sub[1], sizeof m->sub[1], "$share/%s/%s%smkt/campaign", c->share_group, root,
	         slash);
	snprintf(m->sub[2], sizeof m->sub[2], "%s%smkt/optout", root, slash);
	pc_backoff_init(&m->backoff, c->reconnect_min_ms, c->reconnect_max_ms);
	co.sendWhileDisconnected = 1;
	co.allowDisconnectedSendAtAnyTime = 1;
	co.maxBufferedMessages = 10000;
	co.deleteOldestMessages = 1;
	rc = MQTTAsync_createWithOptions(&m->client, m->uri, m->client_id,
	                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setCallbacks(m->client, m, on_lost, on_message, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(m->client, m, on_connected);
	if (rc != MQTTASYNC_SUCCESS) {
		pc_errf(err, errlen, PC_ERR_INVAL, "mqtt: %s: %s", m->uri, MQTTAsync_strerror(rc));
		br_mqtt_free(m, 0);
		return NULL;
	}
	return m;
}

static void start_connect(struct br_mqtt *m, int64_t now_ms)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
	int rc;

	o.keepAliveInterval = (int)(m->c->keepalive_ms / 1000);
	o.cleanstart = 1;
	o.automaticReconnect = 1;
	o.minRetryInterval = (int)(m->c->reconnect_min_ms / 1000);
	o.maxRetryInterval = (int)(m->c->reconnect_max_ms / 1000);
	o.connectTimeout = 10;
	if (*m->c->mqtt_username) {
		o.username = m->c->mqtt_username;
		o.password = m->c->mqtt_password;
	}
	o.onFailure5 = on_connect_failed;
	o.context = m;
	atomic_store(&m->failed, false);
	m->retry_at = 0;
	rc = MQTTAsync_connect(m->client, &o);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_fetch_add(&m->failures, 1);
		pc_log(m->log, PC_LOG_ERR, "mqtt: connect: %s", MQTTAsync_strerror(rc));
		m->retry_at = now_ms + pc_backoff_next(&m->backoff, (uint32_t)rand());
	}
}

int64_t br_mqtt_maintain(struct br_mqtt *m, int64_t now_ms)
{
	if (!atomic_load(&m->started)) {
		atomic_store(&m->started, true);
		start_connect(m, now_ms);
	} else if (atomic_load(&m->failed) && m->retry_at == 0) {
		m->retry_at = now_ms + pc_backoff_next(&m->backoff, (uint32_t)rand());
		atomic_store(&m->failed, false);
	} else if (m->retry_at && now_ms >= m->retry_at) {
		start_connect(m, now_ms);
	}
	if (atomic_load(&m->connected))
		pc_backoff_reset(&m->backoff);
	return m->retry_at ? m->retry_at : INT64_MAX;
}

bool br_mqtt_connected(const struct br_mqtt *m)
{
	return atomic_load(&m->connected);
}

int br_mqtt_publish(struct br_mqtt *m, const char *topic, const char *payload, size_t len, int qos,
                    bool retain)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retain;
	rc = MQTTAsync_sendMessage(m->client, topic, &msg, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_fetch_add(&m->pub_failed, 1);
		return -1;
	}
	atomic_fetch_add(&m->published, 1);
	return 0;
}

void br_mqtt_stats(const struct br_mqtt *m, struct br_mqtt_stats *out)
{
	out->received = atomic_load(&m->received);
	out->inbox_overflow = atomic_load(&m->overflow);
	out->ignored = atomic_load(&m->ignored);
	out->connects = atomic_load(&m->connects);
	out->lost = atomic_load(&m->lost);
	out->connect_failures = atomic_load(&m->failures);
	out->published = atomic_load(&m->published);
	out->publish_failed = atomic_load(&m->pub_failed);
}

void br_mqtt_free(struct br_mqtt *m, int64_t timeout_ms)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;

	if (!m)
		return;
	if (m->client) {
		if (atomic_load(&m->connected)) {
			d.timeout = (int)timeout_ms;
			MQTTAsync_disconnect(m->client, &d);
			/* disconnect is asynchronous: wait for it to finish (bounded). */
			for (int64_t until = pc_mono_ms() + timeout_ms;
			     MQTTAsync_isConnected(m->client) && pc_mono_ms() < until;) {
				struct timespec ts = {0, 10 * 1000000};
				nanosleep(&ts, NULL);
			}
		}
		MQTTAsync_destroy(&m->client);
	}
	free(m);
}

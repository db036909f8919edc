/*
 * mqtt.h - the bridge's MQTT client. All paho.mqtt.c calls stop here.
 *
 * One MQTT 5 connection (paho's asynchronous client) with the configured
 * credentials. On every connect it subscribes, at QoS 1, to
 *   $share/<share_group>/<root>dev/+/evt      events, split between bridges
 *   $share/<share_group>/<root>mkt/campaign   each campaign to one bridge
 *   <root>mkt/optout                          every bridge sees every opt-out
 * Messages arrive on paho's thread and are copied into the caller's inbox
 * queue (pc_queue, bounded: a full inbox drops the message and counts it),
 * which the main thread drains; nothing else happens on paho's thread.
 * A connect that fails (broker down, login refused) is retried from
 * br_mqtt_maintain with exponential backoff between reconnect_min and
 * reconnect_max; a lost connection is re-established by paho itself.
 * Publishing is allowed from the main thread at any time: while
 * disconnected paho buffers up to 10,000 messages (the oldest go first).
 */
#ifndef BRIDGE_MQTT_H
#define BRIDGE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "precis/log.h"
#include "precis/queue.h"
#include "precis/topic.h"

enum br_msg_kind {
	BR_MSG_EVENT = 0, /* dev/{device}/evt */
	BR_MSG_CAMPAIGN,  /* mkt/campaign */
	BR_MSG_OPTOUT,    /* mkt/optout */
};

/* One received message, malloc'd by mqtt.c; the consumer frees it with free(). */
struct br_msg {
	enum br_msg_kind kind;
	char device[PC_ID_MAX + 1];
	size_t len;
	char payload[]; /* len bytes, then a NUL */
};

struct br_mqtt_stats {
	uint64_t received, inbox_overflow, ignored, connects, lost, connect_failures;
	uint64_t published, publish_failed;
};

struct br_mqtt;

/*
 * br_mqtt_new - a client for c (kept by pointer; the connection keys must
 * not change while it lives) delivering into inbox, logging to log (both
 * must outlive the client). Does not connect yet. Returns NULL with
 * detail when paho refuses the settings.
 */
struct br_mqtt *br_mqtt_new(const struct br_config *c, struct pc_queue *inbox,
                            const struct pc_logger *log, char *err, size_t errlen);

/*
 * br_mqtt_maintain - start the first connect, or retry a failed one when
 * its backoff has run out. Main thread. Returns the time (ms, monotonic)
 * it wants to be called again, INT64_MAX when connected.
 */
int64_t br_mqtt_maintain(struct br_mqtt *m, int64_t now_ms);

/* br_mqtt_connected - whether the connection is up now (any thread). */
bool br_mqtt_connected(const struct br_mqtt *m);

/*
 * br_mqtt_publish - send payload[0..len) on topic at qos, retained or
 * not. Main thread. Returns 0, or -1 when paho refused it (counted).
 */
int br_mqtt_publish(struct br_mqtt *m, const char *topic, const char *payload, size_t len, int qos,
                    bool retain);

/* br_mqtt_stats - the counters so far. */
void br_mqtt_stats(const struct br_mqtt *m, struct br_mqtt_stats *out);

/*
 * br_mqtt_free - disconnect (waiting up to timeout_ms for messages in
 * flight) and destroy the client. NULL is allowed.
 */
void br_mqtt_free(struct br_mqtt *m, int64_t timeout_ms);

#endif

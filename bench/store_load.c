/*
 * store_load.c - a QoS 1 telemetry load: the client half of bench/store.
 *
 * DEVICES connections (client ids <prefix>-0 ..), each publishing
 * COUNT / DEVICES JSON samples on dev/<client id>/data at QoS 1 as fast as
 * the broker acknowledges them (libmosquitto keeps up to 100 in flight per
 * connection). With TS_STEP > 0 every sample carries "ts": TS_BASE + i *
 * TS_STEP (i counts per device), which spreads them over time slots.
 * The rate is acknowledged messages per second from the first publish to
 * the last PUBACK.
 *
 * With USERS > 0 the load is behaviour events instead (bench/soak-store):
 * message k comes from made-up user u = k * 7919 mod USERS, each user
 * with a device of its own, on dev/<prefix>-u<u>/evt, payload
 * {"user":"u<u>","item":"i<n>","type":"purchase","value":x,"ts":now ms}
 * (DESIGN section 1), sent over the DEVICES connections in turn.
 *
 * Usage: precis-bench-store-load PORT PREFIX DEVICES COUNT [TS_BASE TS_STEP [USERS]]
 * Prints "acked=<n> seconds=<s> rate=<msg/s> start=<epoch ms>"; exits 1
 * when not every message is acknowledged within 120 s.
 */
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "precis/options.h"

static atomic_long acked;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
	atomic_fetch_add(&acked, 1);
}

int main(int argc, char **argv)
{
	int64_t port, devices, count, ts_base = 0, ts_step = 0, users = 0;
	struct mosquitto **clients;
	struct timeval tv;
	double t0, deadline;
	long long start_ms;

	if ((argc != 5 && argc != 7 && argc != 8) || pc_parse_int(argv[1], &port) ||
	    pc_parse_int(argv[3], &devices) || pc_parse_int(argv[4], &count) || devices < 1 ||
	    devices > 1000 || count < devices ||
	    (argc >= 7 && (pc_parse_int(argv[5], &ts_base) || pc_parse_int(argv[6], &ts_step))) ||
	    (argc == 8 && (pc_parse_int(argv[7], &users) || users < 0))) {
		fprintf(stderr, "usage: precis-bench-store-load PORT PREFIX DEVICES COUNT [TS_BASE "
		                "TS_STEP [USERS]]\n");
		return 2;
	}
	mosquitto_lib_init();
	clients = calloc((size_t)devices, sizeof *clients);
	for (int64_t d = 0; d < devices; d++) {
		char id[64];

		snprintf(id, sizeof id, "%s-%lld", argv[2], (long long)d);
		clients[d] = mosquitto_new(id, true, NULL);
		if (!clients[d])
			return 1;
		mosquitto_publish_callback_set(clients[d], on_publish);
		mosquitto_max_inflight_messages_set(clients[d], 100);
		if (mosquitto_connect(clients[d], "127.0.0.1", (int)port, 60) != MOSQ_ERR_SUCCESS ||
		    mosquitto_loop_start(clients[d]) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "precis-bench-store-load: cannot connect %s\n", id);
			return 1;
		}
	}
	usleep(200000);
	gettimeofday(&tv, NULL);
	start_ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	t0 = now_s();
	for (int64_t i = 0; i < count / devices; i++) {
		for (int64_t d = 0; d < devices; d++) {
			char topic[96], payload[160];
			int n;

			if (users > 0) {
				int64_t k = i * devices + d, u = k * 7919 % users;
				struct timeval now;

				gettimeofday(&now, NULL);
				n = snprintf(payload, sizeof payload,
				             "{\"user\":\"u%lld\",\"item\":\"i%lld\",\"type\":"
				             "\"purchase\",\"value\":%.2f,\"ts\":%lld}",
				             (long long)u, (long long)(k * 31 % 5000),
				             1.0 + (double)(k % 9900) / 100.0,
				             (long long)now.tv_sec * 1000 + now.tv_usec / 1000);
				snprintf(topic, sizeof topic, "dev/%s-u%lld/evt", argv[2],
				         (long long)u);
				if (mosquitto_publish(clients[d], NULL, topic, n, payload, 1,
				                      false) != MOSQ_ERR_SUCCESS) {
					fprintf(stderr,
					        "precis-bench-store-load: publish failed\n");
					return 1;
				}
				continue;
			}
			n = snprintf(payload, sizeof payload,
			             "{\"n\":%lld,\"temp\":%.1f,\"hum\":%d,\"bat\":%.2f,"
			             "\"fw\":\"1.4.2\",\"door\":%s",
			             (long long)i, 18.0 + (double)(i % 70) / 10.0,
			             (int)(40 + i % 20), 3.0 + (double)(i % 100) / 100.0,
			             i % 2 ? "true" : "false");

			if (ts_step > 0)
				n += snprintf(payload + n, sizeof payload - (size_t)n,
				              ",\"ts\":%lld", (long long)(ts_base + i * ts_step));
			n += snprintf(payload + n, sizeof payload - (size_t)n, "}");
			snprintf(topic, sizeof topic, "dev/%s-%lld/data", argv[2], (long long)d);
			if (mosquitto_publish(clients[d], NULL, topic, n, payload, 1, false) !=
			    MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "precis-bench-store-load: publish failed\n");
				return 1;
			}
		}
		/* Keep the client's own queue short: at most ~1000 unacknowledged per device. */
		while ((i + 1) * devices - atomic_load(&acked) > 1000 * devices)
			usleep(100);
	}
	count = count / devices * devices;
	for (deadline = now_s() + 120; atomic_load(&acked) < count && now_s() < deadline;)
		usleep(500);
	printf("acked=%ld seconds=%.3f rate=%.0f start=%lld\n", atomic_load(&acked), now_s() - t0,
	       (double)atomic_load(&acked) / (now_s() - t0), start_ms);
	for (int64_t d = 0; d < devices; d++) {
		mosquitto_disconnect(clients[d]);
		mosquitto_loop_stop(clients[d], false);
		mosquitto_destroy(clients[d]);
	}
	free(clients);
	mosquitto_lib_cleanup();
	return atomic_load(&acked) == count ? 0 : 1;
}

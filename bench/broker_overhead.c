/*
 * broker_overhead.c - publish throughput through one broker, measured from
 * a subscriber: the client half of bench/broker-overhead.
 *
 * One libmosquitto publisher floods N QoS-0 messages of a given size to one
 * topic; one subscriber on the same broker counts them. The rate is
 * messages received per second between the first publish and the last
 * receipt. The script runs this against a bare Mosquitto and against one
 * with the precis plugins loaded, alternating, and reports the ratio.
 *
 * Usage: precis-bench-broker PORT COUNT SIZE
 * Prints one line: "received=<n> seconds=<s> rate=<msg/s>"; exits 1 when
 * fewer than COUNT messages arrive within 60 s.
 */
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "precis/options.h"

static atomic_long received;
static atomic_int subscribed;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	atomic_fetch_add(&received, 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
	atomic_store(&subscribed, 1);
}

static struct mosquitto *client(const char *id, int port)
{
	struct mosquitto *m = mosquitto_new(id, true, NULL);

	if (!m || mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "precis-bench-broker: cannot connect %s to 127.0.0.1:%d\n", id,
		        port);
		exit(1);
	}
	return m;
}

int main(int argc, char **argv)
{
	int64_t port, count, size;
	struct mosquitto *sub, *pub;
	char topic[64], id[64];
	unsigned char *payload;
	double t0, t1, deadline;

	if (argc != 4 || pc_parse_int(argv[1], &port) || pc_parse_int(argv[2], &count) ||
	    pc_parse_int(argv[3], &size) || port < 1 || port > 65535 || count < 1 || size < 0 ||
	    size > 1 << 20) {
		fprintf(stderr, "usage: precis-bench-broker PORT COUNT SIZE\n");
		return 2;
	}
	mosquitto_lib_init();
	snprintf(topic, sizeof topic, "bench/%d", (int)getpid());
	snprintf(id, sizeof id, "bench-sub-%d", (int)getpid());
	sub = client(id, (int)port);
	mosquitto_message_callback_set(sub, on_message);
	mosquitto_subscribe_callback_set(sub, on_subscribe);
	mosquitto_subscribe(sub, NULL, topic, 0);
	for (deadline = now_s() + 5; !atomic_load(&subscribed) && now_s() < deadline;)
		usleep(1000);
	snprintf(id, sizeof id, "bench-pub-%d", (int)getpid());
	pub = client(id, (int)port);

	payload = calloc(1, (size_t)size + 1);
	if (!payload)
		return 1;
	memset(payload, 'x', (size_t)size);
	t0 = now_s();
	for (int64_t i = 0; i < count; i++) {
		int rc;

		while ((rc = mosquitto_publish(pub, NULL, topic, (int)size, payload, 0, false)) ==
		       MOSQ_ERR_NOMEM)
			usleep(100);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "precis-bench-broker: publish: %s\n",
			        mosquitto_strerror(rc));
			return 1;
		}
	}
	for (deadline = now_s() + 60; atomic_load(&received) < count && now_s() < deadline;)
		usleep(200);
	t1 = now_s();
	printf("received=%ld seconds=%.3f rate=%.0f\n", atomic_load(&received), t1 - t0,
	       (double)atomic_load(&received) / (t1 - t0));

	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	free(payload);
	return atomic_load(&received) == count ? 0 : 1;
}

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
 * Usage: precis-bench-broker [-t TOPIC] [-f FILTER] [-u USER -p PASS]
 *                            [-U USER -P PASS] PORT COUNT SIZE
 * -t: the topic published to (default bench/<pid>); -f: the subscriber's
 * filter (default the topic); -u/-p: the publisher's login, whose username
 * is also its client id (as devices must); -U/-P: the subscriber's.
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

static struct mosquitto *client(const char *id, int port, const char *user, const char *pass)
{
	struct mosquitto *m = mosquitto_new(id, true, NULL);

	if (m && user)
		mosquitto_username_pw_set(m, user, pass);
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
	char topic[256], id[128];
	const char *filter = NULL, *pub_user = NULL, *pub_pass = NULL, *sub_user = NULL,
	           *sub_pass = NULL;
	unsigned char *payload;
	double t0, t1, deadline;
	int opt;

	snprintf(topic, sizeof topic, "bench/%d", (int)getpid());
	while ((opt = getopt(argc, argv, "t:f:u:p:U:P:")) != -1) {
		switch (opt) {
		case 't':
			snprintf(topic, sizeof topic, "%s", optarg);
			break;
		case 'f':
			filter = optarg;
			break;
		case 'u':
			pub_user = optarg;
			break;
		case 'p':
			pub_pass = optarg;
			break;
		case 'U':
			sub_user = optarg;
			break;
		case 'P':
			sub_pass = optarg;
			break;
		default:
			return 2;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 4 || pc_parse_int(argv[1], &port) || pc_parse_int(argv[2], &count) ||
	    pc_parse_int(argv[3], &size) || port < 1 || port > 65535 || count < 1 || size < 0 ||
	    size > 1 << 20) {
		fprintf(stderr,
		        "usage: precis-bench-broker [-t TOPIC] [-f FILTER] [-u USER -p PASS] "
		        "[-U USER -P PASS] PORT COUNT SIZE\n");
		return 2;
	}
	mosquitto_lib_init();
	snprintf(id, sizeof id, "%s-sub-%d", sub_user ? sub_user : "bench", (int)getpid());
	sub = client(id, (int)port, sub_user, sub_pass);
	mosquitto_message_callback_set(sub, on_message);
	mosquitto_subscribe_callback_set(sub, on_subscribe);
	mosquitto_subscribe(sub, NULL, filter ? filter : topic, 0);
	for (deadline = now_s() + 5; !atomic_load(&subscribed) && now_s() < deadline;)
		usleep(1000);
	if (pub_user)
		snprintf(id, sizeof id, "%s", pub_user);
	else
		snprintf(id, sizeof id, "bench-pub-%d", (int)getpid());
	pub = client(id, (int)port, pub_user, pub_pass);

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

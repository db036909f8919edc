/*
 * store_naive.c - the naive way to persist telemetry, as a baseline for
 * bench/store: a subscriber to dev/+/data (QoS 1) that inserts one
 * MongoDB document per message, {device, t, d}, synchronously (write
 * concern 1), parsing the JSON with libbson like the store plugin does.
 *
 * Usage: precis-bench-store-naive PORT MONGO_URI DB COLLECTION COUNT
 * Prints "ready" once subscribed, then, after COUNT inserts (or 600 s),
 * "inserted=<n> end=<epoch ms of the last insert>"; exits 1 on a failed
 * insert or when fewer than COUNT arrive.
 */
#include <mongoc/mongoc.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "precis/options.h"

struct state {
	mongoc_collection_t *coll;
	long want;
	atomic_long inserted;
	atomic_int failed, subscribed;
	long long end_ms;
};

static long long wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
	atomic_store(&((struct state *)ud)->subscribed, 1);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	struct state *s = ud;
	bson_t doc = BSON_INITIALIZER, d;
	bson_error_t err;
	const char *dev = msg->topic + 4, *end = strchr(dev, '/');

	bson_append_utf8(&doc, "device", -1, dev, end ? (int)(end - dev) : -1);
	BSON_APPEND_DATE_TIME(&doc, "t", wall_ms());
	if (bson_init_from_json(&d, msg->payload, msg->payloadlen, &err)) {
		BSON_APPEND_DOCUMENT(&doc, "d", &d);
		bson_destroy(&d);
	}
	if (!mongoc_collection_insert_one(s->coll, &doc, NULL, NULL, &err)) {
		fprintf(stderr, "precis-bench-store-naive: insert: %s\n", err.message);
		atomic_store(&s->failed, 1);
	}
	bson_destroy(&doc);
	if (atomic_fetch_add(&s->inserted, 1) + 1 == s->want)
		s->end_ms = wall_ms();
}

int main(int argc, char **argv)
{
	struct state s = {0};
	int64_t port, count;
	mongoc_client_t *client;
	struct mosquitto *m;

	if (argc != 6 || pc_parse_int(argv[1], &port) || pc_parse_int(argv[5], &count)) {
		fprintf(stderr,
		        "usage: precis-bench-store-naive PORT MONGO_URI DB COLLECTION COUNT\n");
		return 2;
	}
	mongoc_init();
	client = mongoc_client_new(argv[2]);
	if (!client)
		return 1;
	s.coll = mongoc_client_get_collection(client, argv[3], argv[4]);
	s.want = (long)count;
	mosquitto_lib_init();
	m = mosquitto_new("bench-naive-sub", true, &s);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	if (mosquitto_connect(m, "127.0.0.1", (int)port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_subscribe(m, NULL, "dev/+/data", 1) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "precis-bench-store-naive: cannot subscribe\n");
		return 1;
	}
	while (!atomic_load(&s.subscribed))
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 600000 && atomic_load(&s.inserted) < s.want && !atomic_load(&s.failed);
	     i++)
		usleep(1000);
	printf("inserted=%ld end=%lld\n", atomic_load(&s.inserted), s.end_ms);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	mongoc_collection_destroy(s.coll);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return atomic_load(&s.inserted) >= s.want && !atomic_load(&s.failed) ? 0 : 1;
}

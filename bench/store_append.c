/*
 * store_append.c - what precis_store does on the broker thread for one
 * accepted message, timed in a loop: match the topic against the default
 * mapping, check the device id, append the record to a spool (one
 * write(2) into the page cache). The MESSAGE callback adds a clock read
 * and a few atomic increments to this. Part of bench/store: a figure
 * that does not depend on how the two cores are shared.
 *
 * Usage: precis-bench-store-append DIR COUNT
 * Prints "us_per_message=<x> bytes=<record bytes>"; DIR must not exist
 * (it is created and removed again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "precis/error.h"
#include "precis/options.h"
#include "precis/topic.h"
#include "route.h"
#include "spool.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *payload = "{\"n\":12345,\"temp\":21.5,\"hum\":44,\"bat\":3.47,\"fw\":\"1.4.2\","
	                      "\"door\":false}";
	struct store__routes routes;
	struct store__spool s;
	struct pc_logger log = {pc_log_stderr_sink, NULL, PC_LOG_WARNING, "append"};
	char err[256], topic[64], cmd[600];
	int64_t count;
	double t0, t;
	uint64_t seq;

	if (argc != 3 || pc_parse_int(argv[2], &count) || count < 1) {
		fprintf(stderr, "usage: precis-bench-store-append DIR COUNT\n");
		return 2;
	}
	if (store__routes_parse(&routes, "dev/+/data=telemetry,dev/+/evt=events", err,
	                        sizeof err) != PC_OK ||
	    store__spool_open(&s, argv[1], UINT64_C(1) << 40, 16 << 20, &log, err, sizeof err) !=
	        PC_OK) {
		fprintf(stderr, "precis-bench-store-append: %s\n", err);
		return 1;
	}
	t0 = now_s();
	for (int64_t i = 0; i < count; i++) {
		const char *id;
		size_t id_len,
		    tlen = (size_t)snprintf(topic, sizeof topic, "dev/bench-%d/data", (int)(i % 8));

		if (store__route_match(&routes, topic, &id, &id_len) < 0 ||
		    pc_id_check(id, id_len, NULL, 0) != PC_OK ||
		    store__spool_append(&s, 1795424400000 + i, 1, topic, tlen, payload,
		                        strlen(payload), &seq, err, sizeof err) != PC_OK) {
			fprintf(stderr, "precis-bench-store-append: failed at %lld\n",
			        (long long)i);
			return 1;
		}
	}
	t = now_s() - t0;
	printf("us_per_message=%.3f bytes=%zu\n", t * 1e6 / (double)count,
	       store__record_size(strlen("dev/bench-0/data"), strlen(payload)));
	store__spool_close(&s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", argv[1]);
	return system(cmd) == 0 ? 0 : 1;
}

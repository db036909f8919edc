/*
 * store_read.c - reading one device's day two ways, for bench/store:
 * from the store's time-slot buckets through pc_bucket_read (the read
 * path precisctl data and the bridge use; both its ways: one range query,
 * and by _id knowing the 1 h slots), and from a collection holding
 * one document per sample ({device, t, d}, index {device, t}) with a
 * find sorted by t. Both walk every sample of the range and touch its
 * data; each is timed ROUNDS times, alternating (the read by _id once).
 *
 *   precis-bench-store-read seed URI DB COLL DEVICES SAMPLES TS_BASE TS_STEP
 *       insert DEVICES x SAMPLES per-sample documents (bulk, unordered)
 *   precis-bench-store-read compare URI DB BUCKETS FLAT DEVICE FROM TO ROUNDS
 *       prints "buckets_ms=<median> by_id_ms=<median> flat_ms=<median> samples=<n> ..."
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "precis/bucket_read.h"
#include "precis/options.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int count_sample(void *arg, const struct pc_sample *s)
{
	uint64_t *n = arg;

	*n += s->doc ? bson_count_keys(s->doc) > 0 : 1;
	return 0;
}

static int seed(mongoc_client_t *client, char **argv)
{
	mongoc_collection_t *c = mongoc_client_get_collection(client, argv[3], argv[4]);
	int64_t devices, samples, base, step;
	bson_error_t err;
	bson_t *keys, *cmd;

	if (pc_parse_int(argv[5], &devices) || pc_parse_int(argv[6], &samples) ||
	    pc_parse_int(argv[7], &base) || pc_parse_int(argv[8], &step))
		return 2;
	keys = BCON_NEW("createIndexes", BCON_UTF8(argv[4]), "indexes", "[", "{", "key", "{",
	                "device", BCON_INT32(1), "t", BCON_INT32(1), "}", "name",
	                BCON_UTF8("device_t"), "}", "]");
	if (!mongoc_client_command_simple(client, argv[3], keys, NULL, NULL, &err))
		fprintf(stderr, "index: %s\n", err.message);
	bson_destroy(keys);
	for (int64_t d = 0; d < devices; d++) {
		mongoc_bulk_operation_t *bulk = NULL;

		for (int64_t i = 0; i < samples; i++) {
			char dev[32];
			bson_t *doc;

			if (!bulk) {
				cmd = BCON_NEW("ordered", BCON_BOOL(false));
				bulk = mongoc_collection_create_bulk_operation_with_opts(c, cmd);
				bson_destroy(cmd);
			}
			snprintf(dev, sizeof dev, "read-%lld", (long long)d);
			doc = BCON_NEW(
			    "device", BCON_UTF8(dev), "t", BCON_DATE_TIME(base + i * step), "d",
			    "{", "n", BCON_INT64(i), "temp",
			    BCON_DOUBLE(18.0 + (double)(i % 70) / 10), "hum",
			    BCON_INT32((int32_t)(40 + i % 20)), "bat",
			    BCON_DOUBLE(3.0 + (double)(i % 100) / 100), "fw", BCON_UTF8("1.4.2"),
			    "door", BCON_BOOL(i % 2), "ts", BCON_INT64(base + i * step), "}");
			mongoc_bulk_operation_insert(bulk, doc);
			bson_destroy(doc);
			if ((i + 1) % 1000 == 0 || i + 1 == samples) {
				if (!mongoc_bulk_operation_execute(bulk, NULL, &err)) {
					fprintf(stderr, "seed: %s\n", err.message);
					return 1;
				}
				mongoc_bulk_operation_destroy(bulk);
				bulk = NULL;
			}
		}
	}
	mongoc_collection_destroy(c);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int compare(mongoc_client_t *client, char **argv)
{
	mongoc_collection_t *buckets = mongoc_client_get_collection(client, argv[3], argv[4]);
	mongoc_collection_t *flat = mongoc_client_get_collection(client, argv[3], argv[5]);
	int64_t from, to, rounds;
	double tb[64], ti[64], tf[64];
	uint64_t nb = 0, ni = 0, nf = 0;
	char err[256];

	if (pc_parse_int(argv[7], &from) || pc_parse_int(argv[8], &to) ||
	    pc_parse_int(argv[9], &rounds) || rounds < 1 || rounds > 64)
		return 2;
	for (int64_t r = 0; r < rounds; r++) {
		bson_t *filter = BCON_NEW("device", BCON_UTF8(argv[6]), "t", "{", "$gte",
		                          BCON_DATE_TIME(from), "$lt", BCON_DATE_TIME(to), "}");
		bson_t *opts = BCON_NEW("sort", "{", "t", BCON_INT32(1), "}");
		mongoc_cursor_t *cur;
		const bson_t *doc;
		double t0;

		nb = nf = 0; /* ni: counted by the one read by _id */
		t0 = now_ms();
		if (pc_bucket_read(buckets, argv[6], from, to, 0, count_sample, &nb, NULL, err,
		                   sizeof err) != 0) {
			fprintf(stderr, "bucket read: %s\n", err);
			return 1;
		}
		tb[r] = now_ms() - t0;
		t0 = now_ms();
		/* By _id once only: on FerretDB's SQLite backend it is the slow way. */
		if (r == 0 && pc_bucket_read(buckets, argv[6], from, to, 3600000, count_sample, &ni,
		                             NULL, err, sizeof err) != 0) {
			fprintf(stderr, "bucket read by _id: %s\n", err);
			return 1;
		}
		ti[r] = r == 0 ? now_ms() - t0 : ti[0];
		t0 = now_ms();
		cur = mongoc_collection_find_with_opts(flat, filter, opts, NULL);
		while (mongoc_cursor_next(cur, &doc)) {
			bson_iter_t it;

			nf += bson_iter_init_find(&it, doc, "d") ? 1 : 0;
		}
		tf[r] = now_ms() - t0;
		mongoc_cursor_destroy(cur);
		bson_destroy(filter);
		bson_destroy(opts);
	}
	qsort(tb, (size_t)rounds, sizeof tb[0], cmp_double);
	qsort(ti, (size_t)rounds, sizeof ti[0], cmp_double);
	qsort(tf, (size_t)rounds, sizeof tf[0], cmp_double);
	printf(
	    "buckets_ms=%.2f by_id_ms=%.2f flat_ms=%.2f samples=%llu by_id=%llu flat_docs=%llu\n",
	    tb[rounds / 2], ti[rounds / 2], tf[rounds / 2], (unsigned long long)nb,
	    (unsigned long long)ni, (unsigned long long)nf);
	mongoc_collection_destroy(buckets);
	mongoc_collection_destroy(flat);
	return 0;
}

int main(int argc, char **argv)
{
	mongoc_client_t *client;
	int rc;

	if (argc < 2 || !((strcmp(argv[1], "seed") == 0 && argc == 9) ||
	                  (strcmp(argv[1], "compare") == 0 && argc == 10))) {
		fprintf(stderr, "usage: precis-bench-store-read seed URI DB COLL DEVICES SAMPLES "
		                "TS_BASE TS_STEP\n"
		                "       precis-bench-store-read compare URI DB BUCKETS FLAT DEVICE "
		                "FROM TO ROUNDS\n");
		return 2;
	}
	mongoc_init();
	client = mongoc_client_new(argv[2]);
	if (!client)
		return 1;
	rc = strcmp(argv[1], "seed") == 0 ? seed(client, argv) : compare(client, argv);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return rc;
}

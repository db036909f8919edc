/*
 * history.c - reading past events from the store's `events` buckets (see history.h).
 *
 * The store plugin keeps every dev/{id}/evt payload in time-slot buckets
 * (common/include/precis/bucket.h). This file asks MongoDB which devices
 * have buckets overlapping the window (one `distinct`), then reads each
 * device's samples in time order through the store's own read path,
 * pc_bucket_read, and feeds each one to the engine as a history event:
 * the payload as JSON (the sample's BSON, relaxed), at the sample's time.
 * Binary samples (payloads that were not JSON) are skipped and counted.
 * A separate single-threaded client with the configured timeouts, used on
 * the main thread before the message loop starts; progress is logged
 * about every second.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "precis/bucket.h"
#include "precis/bucket_read.h"
#include "precis/clock.h"
#include "precis/error.h"
#include "precis/mongo_conn.h"
#include "precis/topic.h"

#define EVENTS_COLLECTION "events"

struct feed {
	struct br_engine *e;
	const struct pc_logger *log;
	struct br_history_stats *st;
	int64_t next_report;
	uint64_t devices_total;
};

static int on_sample(void *arg, const struct pc_sample *s)
{
	struct feed *f = arg;
	char *json;
	size_t len;

	if (s->binary || !s->doc) {
		f->st->skipped++;
		return 0;
	}
	json = bson_as_relaxed_extended_json(s->doc, &len);
	if (!json) {
		f->st->skipped++;
		return 0;
	}
	if (br_engine_event(f->e, s->device, json, len, s->t_ms, true) == BR_BAD_NONE)
		f->st->events++;
	else
		f->st->refused++;
	bson_free(json);
	if (pc_mono_ms() >= f->next_report) {
		f->next_report = pc_mono_ms() + 1000;
		pc_log(f->log, PC_LOG_INFO, "history: %llu of %llu devices, %llu events so far",
		       (unsigned long long)f->st->devices, (unsigned long long)f->devices_total,
		       (unsigned long long)f->st->events);
	}
	return 0;
}

/* The devices with buckets overlapping [from, to): {distinct: events, key: device}. */
static int devices_in(mongoc_client_t *client, const char *db, int64_t from_ms, int64_t to_ms,
                      bson_t *reply, char *err, size_t errlen)
{
	bson_t cmd = BSON_INITIALIZER, q, lt, gt;
	bson_error_t berr;
	bool ok;

	BSON_APPEND_UTF8(&cmd, "distinct", EVENTS_COLLECTION);
	BSON_APPEND_UTF8(&cmd, "key", PC_BUCKET_DEVICE);
	BSON_APPEND_DOCUMENT_BEGIN(&cmd, "query", &q);
	BSON_APPEND_DOCUMENT_BEGIN(&q, PC_BUCKET_START, &lt);
	BSON_APPEND_DATE_TIME(&lt, "$lt", to_ms);
	bson_append_document_end(&q, &lt);
	BSON_APPEND_DOCUMENT_BEGIN(&q, PC_BUCKET_END, &gt);
	BSON_APPEND_DATE_TIME(&gt, "$gt", from_ms);
	bson_append_document_end(&q, &gt);
	bson_append_document_end(&cmd, &q);
	ok = mongoc_client_read_command_with_opts(client, db, &cmd, NULL, NULL, reply, &berr);
	bson_destroy(&cmd);
	if (!ok)
		return pc_errf(err, errlen, PC_ERR_IO, "distinct devices: %s", berr.message);
	return PC_OK;
}

int br_history_load(const struct br_config *c, struct br_engine *e, int64_t from_ms, int64_t to_ms,
                    const struct pc_logger *log, struct br_history_stats *st, char *err,
                    size_t errlen)
{
	struct pc_mongo_conn conn;
	struct feed f = {e, log, st, pc_mono_ms() + 1000, 0};
	mongoc_collection_t *coll = NULL;
	bson_t reply = BSON_INITIALIZER;
	bson_iter_t it, values;
	int rc;

	memset(st, 0, sizeof *st);
	pc_mongo_global_init();
	rc = pc_mongo_conn_init(&conn, c->mongo_uri, c->mongo_db, c->connect_timeout_ms,
	                        "precis-bridge-history", err, errlen);
	if (rc == PC_OK)
		rc = pc_mongo_backend_ops.connect(&conn, err, errlen);
	if (rc == PC_OK)
		rc = devices_in(conn.client, conn.db, from_ms, to_ms, &reply, err, errlen);
	if (rc != PC_OK)
		goto done;
	if (!bson_iter_init_find(&it, &reply, "values") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &values)) {
		rc = pc_errf(err, errlen, PC_ERR_IO, "distinct devices: no values in the reply");
		goto done;
	}
	while (bson_iter_next(&values))
		f.devices_total++;
	bson_iter_recurse(&it, &values);
	coll = mongoc_client_get_collection(conn.client, conn.db, EVENTS_COLLECTION);
	while (bson_iter_next(&values)) {
		struct pc_bucket_read_stats bs = {0};
		const char *device;
		uint32_t len;

		if (!BSON_ITER_HOLDS_UTF8(&values)) {
			st->skipped++;
			continue;
		}
		device = bson_iter_utf8(&values, &len);
		if (pc_id_check(device, len, NULL, 0) != PC_OK) {
			st->skipped++;
			continue;
		}
		/* slot 0: one range query per device, whatever slot length the store used. */
		rc = pc_bucket_read(coll, device, from_ms, to_ms, 0, on_sample, &f, &bs, err,
		                    errlen);
		st->devices++;
		st->buckets += bs.buckets;
		st->skipped += bs.skipped;
		if (rc != PC_OK)
			goto done;
	}
done:
	if (coll)
		mongoc_collection_destroy(coll);
	bson_destroy(&reply);
	pc_mongo_conn_cleanup(&conn);
	return rc;
}

/*
 * retention.c - the store's indexes and the deletion of expired buckets.
 *
 * After the first connect that answers, the writer makes sure each
 * collection has the unique index {device, start, seq} ("device_start_seq": it refuses a
 * second bucket with the same place, serves range reads and shard
 * targeting) and, when plugin_opt_retention is set, a TTL index on end
 * ("end_ttl"). A server without TTL indexes (FerretDB answers
 * NotImplemented) gets a periodic deleteMany {end < now - retention}
 * instead, every retention_interval. Each collection is asked once per
 * process (d->w.indexed), not at every reconnect. Runs on the worker thread.
 */
#include <inttypes.h>
#include <mongoc/mongoc.h>

#include "precis/bucket.h"
#include "precis/error.h"
#include "precis/mongo_error.h"
#include "store.h"

#define INDEX_OPTIONS_CONFLICT 85

/* command - run cmd on the store's database; PC_OK, PC_ERR_IO (transient) or PC_ERR_BACKEND. */
static int command(struct store__data *d, mongoc_client_t *client, const bson_t *cmd,
                   bson_error_t *berr, char *err, size_t errlen)
{
	mongoc_database_t *db = mongoc_client_get_database(client, d->mongo.db);
	bson_t reply;
	bool ok = mongoc_database_write_command_with_opts(db, cmd, NULL, &reply, berr);
	int rc = PC_OK;

	if (!ok) {
		rc = pc_mongo_failure_kind(berr, &reply) == PC_MONGO_TRANSIENT ? PC_ERR_IO
		                                                               : PC_ERR_BACKEND;
		pc_errf(err, errlen, rc, "%s", berr->message);
	}
	bson_destroy(&reply);
	mongoc_database_destroy(db);
	return rc;
}

static int ttl_index(struct store__data *d, mongoc_client_t *client, size_t c, char *err,
                     size_t errlen)
{
	const char *name = d->routes.colls[c];
	int64_t secs = d->conf.retention_ms / 1000;
	bson_error_t berr;
	bson_t *cmd;
	int rc;

	cmd = BCON_NEW("createIndexes", BCON_UTF8(name), "indexes", "[", "{", "key", "{",
	               PC_BUCKET_END, BCON_INT32(1), "}", "name", BCON_UTF8("end_ttl"),
	               "expireAfterSeconds", BCON_INT64(secs), "}", "]");
	rc = command(d, client, cmd, &berr, err, errlen);
	bson_destroy(cmd);
	if (rc == PC_ERR_BACKEND && berr.code == INDEX_OPTIONS_CONFLICT) {
		/* The index exists with another expiry: change it. */
		cmd = BCON_NEW("collMod", BCON_UTF8(name), "index", "{", "name",
		               BCON_UTF8("end_ttl"), "expireAfterSeconds", BCON_INT64(secs), "}");
		rc = command(d, client, cmd, &berr, err, errlen);
		bson_destroy(cmd);
	}
	d->w.ttl[c] = rc == PC_OK;
	if (rc == PC_OK)
		pc_log(&d->base.log, PC_LOG_INFO,
		       "%s: TTL index end_ttl expires buckets %" PRId64 " s after their slot ends",
		       name, secs);
	else if (rc == PC_ERR_BACKEND)
		pc_log(&d->base.log, PC_LOG_NOTICE,
		       "%s: no TTL index (%s); deleting expired buckets every %" PRId64
		       " s instead",
		       name, berr.message, d->conf.retention_interval_ms / 1000);
	return rc == PC_ERR_IO ? rc : PC_OK;
}

/* store__ensure_indexes - contract in store.h. */
int store__ensure_indexes(struct store__data *d, struct _mongoc_client_t *client, char *err,
                          size_t errlen)
{
	for (size_t c = 0; c < d->routes.ncolls; c++) {
		bson_error_t berr;
		bson_t *cmd;
		int rc;

		if (d->w.indexed[c])
			continue;
		cmd = BCON_NEW("createIndexes", BCON_UTF8(d->routes.colls[c]), "indexes", "[", "{",
		               "key", "{", PC_BUCKET_DEVICE, BCON_INT32(1), PC_BUCKET_START,
		               BCON_INT32(1), PC_BUCKET_SEQ, BCON_INT32(1), "}", "name",
		               BCON_UTF8("device_start_seq"), "unique", BCON_BOOL(true), "}", "]");
		rc = command(d, client, cmd, &berr, err, errlen);

		bson_destroy(cmd);
		if (rc == PC_ERR_IO)
			return rc;
		if (rc != PC_OK)
			pc_log(&d->base.log, PC_LOG_WARNING,
			       "%s: cannot create the unique index device_start_seq: %s",
			       d->routes.colls[c], berr.message);
		d->w.ttl[c] = false;
		if (d->conf.retention_ms > 0 && ttl_index(d, client, c, err, errlen) != PC_OK)
			return PC_ERR_IO;
		d->w.indexed[c] = true;
	}
	return PC_OK;
}

/* store__retention_sweep - contract in store.h. */
int store__retention_sweep(struct store__data *d, struct _mongoc_client_t *client, int64_t now_ms,
                           char *err, size_t errlen)
{
	for (size_t c = 0; c < d->routes.ncolls; c++) {
		mongoc_collection_t *coll;
		bson_error_t berr;
		bson_t reply, *filter;
		bool ok;

		if (d->w.ttl[c])
			continue;
		coll = mongoc_client_get_collection(client, d->mongo.db, d->routes.colls[c]);
		filter = BCON_NEW(PC_BUCKET_END, "{", "$lt",
		                  BCON_DATE_TIME(now_ms - d->conf.retention_ms), "}");
		ok = mongoc_collection_delete_many(coll, filter, NULL, &reply, &berr);
		if (ok) {
			bson_iter_t it;

			if (bson_iter_init_find(&it, &reply, "deletedCount") &&
			    BSON_ITER_HOLDS_NUMBER(&it))
				pb_count(&d->c.expired, (uint64_t)bson_iter_as_int64(&it));
		} else if (pc_mongo_failure_kind(&berr, &reply) == PC_MONGO_TRANSIENT) {
			pc_errf(err, errlen, PC_ERR_IO, "retention: %s", berr.message);
		} else {
			pc_log(&d->base.log, PC_LOG_WARNING, "%s: deleting expired buckets: %s",
			       d->routes.colls[c], berr.message);
			ok = true;
		}
		bson_destroy(&reply);
		bson_destroy(filter);
		mongoc_collection_destroy(coll);
		if (!ok)
			return PC_ERR_IO;
	}
	return PC_OK;
}

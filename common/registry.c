/*
 * registry.c - reading the principal registry and writing its change log.
 *
 * Shared by the auth plugin's worker (preload, change polling, refreshes),
 * its bounded fallback lookup, and precisctl. Only _id equality, $in and
 * ranges on _id are queried: MongoDB answers all three from the _id index;
 * FerretDB pushes only the equality down to PostgreSQL and scans for the
 * others, which is why the idle change poll reads one counter document by
 * _id and touches the log itself only when the counter moved. See
 * registry.h for the document layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "precis/clock.h"
#include "precis/registry.h"
#include "precis/slot.h"

static const char *const role_names[PC_ROLE_COUNT] = {"device", "app", "ops", "bridge", "admin"};

const char *pc_role_name(enum pc_role role)
{
	return (unsigned)role < PC_ROLE_COUNT ? role_names[role] : "?";
}

int pc_role_parse(const char *name, enum pc_role *out)
{
	for (int i = 0; i < PC_ROLE_COUNT; i++) {
		if (name && strcmp(name, role_names[i]) == 0) {
			*out = (enum pc_role)i;
			return PC_OK;
		}
	}
	return PC_ERR_INVAL;
}

int pc_registry_rec_from_bson(const bson_t *doc, struct pc_principal_rec *out, char *err,
                              size_t errlen)
{
	bson_iter_t it;
	const char *s;
	uint32_t len;
	struct pc_pwhash h;
	char why[200];

	memset(out, 0, sizeof *out);
	if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "_id is not a string");
	s = bson_iter_utf8(&it, &len);
	if (pc_id_check(s, len, why, sizeof why) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "_id: %s", why);
	memcpy(out->id, s, len);
	out->id[len] = '\0';

	if (!bson_iter_init_find(&it, doc, "role") || !BSON_ITER_HOLDS_UTF8(&it) ||
	    pc_role_parse(bson_iter_utf8(&it, NULL), &out->role) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "role is not one of device, app, ops, bridge, admin");
	if (!bson_iter_init_find(&it, doc, "enabled") || !BSON_ITER_HOLDS_BOOL(&it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "enabled is not a boolean");
	out->enabled = bson_iter_bool(&it);
	if (!bson_iter_init_find(&it, doc, "password_hash") || !BSON_ITER_HOLDS_UTF8(&it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "password_hash is not a string");
	s = bson_iter_utf8(&it, &len);
	if (len > PC_PWHASH_TEXT_MAX || strlen(s) != len)
		return pc_errf(err, errlen, PC_ERR_INVAL, "password_hash is too long");
	if (pc_pwhash_parse(s, &h, why, sizeof why) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "password_hash: %s", why);
	memcpy(out->password_hash, s, len + 1);
	return PC_OK;
}

void pc_registry_projection(bson_t *opts)
{
	bson_t proj;

	BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	BSON_APPEND_INT32(&proj, "role", 1);
	BSON_APPEND_INT32(&proj, "enabled", 1);
	BSON_APPEND_INT32(&proj, "password_hash", 1);
	bson_append_document_end(opts, &proj);
}

/* Drain cursor into fn; PC_OK or PC_ERR_IO. */
static int drain(mongoc_cursor_t *cur, pc_registry_fn fn, void *arg, char *err, size_t errlen)
{
	const bson_t *doc;
	bson_error_t berr;

	while (mongoc_cursor_next(cur, &doc)) {
		struct pc_principal_rec rec;
		char why[256] = "";
		int rc = pc_registry_rec_from_bson(doc, &rec, why, sizeof why);

		if (!fn(arg, rc, &rec, why))
			return PC_OK;
	}
	if (mongoc_cursor_error(cur, &berr))
		return pc_errf(err, errlen, PC_ERR_IO, "%s", berr.message);
	return PC_OK;
}

struct find_one {
	struct pc_principal_rec *out;
	int rc;
	char why[256];
};

static bool keep_first(void *arg, int rc, const struct pc_principal_rec *rec, const char *why)
{
	struct find_one *f = arg;

	f->rc = rc;
	*f->out = *rec;
	snprintf(f->why, sizeof f->why, "%s", why);
	return false;
}

int pc_registry_find(mongoc_client_t *client, const char *db, const char *id,
                     struct pc_principal_rec *out, char *err, size_t errlen)
{
	struct find_one f = {out, PC_ERR_EMPTY, ""};
	int rc = pc_registry_scan(client, db, &id, 1, keep_first, &f, err, errlen);

	if (rc != PC_OK)
		return rc;
	if (f.rc == PC_ERR_INVAL)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s", f.why);
	return f.rc;
}

int pc_registry_scan(mongoc_client_t *client, const char *db, const char *const *ids, size_t n,
                     pc_registry_fn fn, void *arg, char *err, size_t errlen)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, PC_REGISTRY_COLL);
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	int rc;

	if (ids && n == 1) {
		BSON_APPEND_UTF8(&filter, "_id", ids[0]);
	} else if (ids) {
		bson_t idf, in;
		char key[24];

		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &idf);
		BSON_APPEND_ARRAY_BEGIN(&idf, "$in", &in);
		for (size_t i = 0; i < n; i++) {
			snprintf(key, sizeof key, "%zu", i);
			BSON_APPEND_UTF8(&in, key, ids[i]);
		}
		bson_append_array_end(&idf, &in);
		bson_append_document_end(&filter, &idf);
	}
	pc_registry_projection(&opts);
	if (ids && n == 1)
		BSON_APPEND_INT64(&opts, "limit", 1);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	rc = drain(cur, fn, arg, err, errlen);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int pc_registry_change_seq(mongoc_client_t *client, const char *db, int64_t *seq, char *err,
                           size_t errlen)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, PC_REGISTRY_COUNTERS);
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	bson_iter_t it;
	int rc = PC_OK;

	*seq = 0;
	BSON_APPEND_UTF8(&filter, "_id", PC_REGISTRY_CHANGES);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "seq") &&
	    BSON_ITER_HOLDS_NUMBER(&it))
		*seq = bson_iter_as_int64(&it);
	if (mongoc_cursor_error(cur, &berr))
		rc = pc_errf(err, errlen, PC_ERR_IO, "%s", berr.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

/* Build the records query: {_id: after + 1} when only that one is due, else {_id: {$gt: after}}. */
static void changes_query(bson_t *filter, bson_t *opts, int64_t after, int64_t upto, int limit)
{
	bson_t gt, sort;

	if (upto == after + 1) {
		/* The usual case, one new record: an _id equality FerretDB pushes down. */
		BSON_APPEND_INT64(filter, "_id", upto);
		BSON_APPEND_INT64(opts, "limit", 1);
		return;
	}
	BSON_APPEND_DOCUMENT_BEGIN(filter, "_id", &gt);
	BSON_APPEND_INT64(&gt, "$gt", after);
	bson_append_document_end(filter, &gt);
	BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(opts, &sort);
	BSON_APPEND_INT64(opts, "limit", limit);
}

/* Read the records of changes_query(after, upto) into fn; PC_OK or PC_ERR_IO. */
static int read_changes(mongoc_client_t *client, const char *db, int64_t after, int64_t upto,
                        int limit, pc_change_fn fn, void *arg, char *err, size_t errlen)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, PC_REGISTRY_CHANGES);
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	int rc = PC_OK;

	changes_query(&filter, &opts, after, upto, limit);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		int64_t seq;
		const char *id;
		uint32_t len;

		if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_INT(&it))
			continue;
		seq = bson_iter_as_int64(&it);
		if (!bson_iter_init_find(&it, doc, "principal") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		id = bson_iter_utf8(&it, &len);
		if (pc_id_check(id, len, NULL, 0) != PC_OK)
			continue;
		if (!fn(arg, seq, id))
			break;
	}
	if (mongoc_cursor_error(cur, &berr))
		rc = pc_errf(err, errlen, PC_ERR_IO, "%s", berr.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int pc_registry_changes(mongoc_client_t *client, const char *db, int64_t after, int limit,
                        pc_change_fn fn, void *arg, char *err, size_t errlen)
{
	return read_changes(client, db, after, INT64_MAX, limit, fn, arg, err, errlen);
}

int pc_registry_poll_changes(mongoc_client_t *client, const char *db, int64_t after, int limit,
                             int64_t *seq, pc_change_fn fn, void *arg, char *err, size_t errlen)
{
	int rc = pc_registry_change_seq(client, db, seq, err, errlen);

	if (rc != PC_OK || *seq == after)
		return rc;
	if (*seq < after) /* the counter went back: whatever is there is newer than us */
		return read_changes(client, db, 0, INT64_MAX, limit, fn, arg, err, errlen);
	return read_changes(client, db, after, *seq, limit, fn, arg, err, errlen);
}

static void append_now(bson_t *b, const char *key, int64_t offset_ms)
{
	BSON_APPEND_DATE_TIME(b, key, pc_wall_ms() + offset_ms);
}

int pc_registry_log_changes(mongoc_client_t *client, const char *db, const char *const *ids,
                            size_t n, char *err, size_t errlen)
{
	mongoc_collection_t *counters =
	    mongoc_client_get_collection(client, db, PC_REGISTRY_COUNTERS);
	mongoc_collection_t *log = mongoc_client_get_collection(client, db, PC_REGISTRY_CHANGES);
	mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
	bson_t query = BSON_INITIALIZER, update = BSON_INITIALIZER, inc, reply;
	bson_t old = BSON_INITIALIZER, lt;
	bson_t **recs = NULL;
	bson_iter_t it;
	bson_error_t berr;
	int64_t last = 0;
	int rc = PC_OK;

	if (n == 0)
		goto done;
	BSON_APPEND_UTF8(&query, "_id", PC_REGISTRY_CHANGES);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
	BSON_APPEND_INT64(&inc, "seq", (int64_t)n);
	bson_append_document_end(&update, &inc);
	mongoc_find_and_modify_opts_set_update(fam, &update);
	mongoc_find_and_modify_opts_set_flags(fam, MONGOC_FIND_AND_MODIFY_UPSERT |
	                                               MONGOC_FIND_AND_MODIFY_RETURN_NEW);
	if (!mongoc_collection_find_and_modify_with_opts(counters, &query, fam, &reply, &berr)) {
		bson_destroy(&reply); /* initialised even on failure */
		rc = pc_errf(err, errlen, PC_ERR_IO, "change counter: %s", berr.message);
		goto done;
	}
	if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_iter_t child;

		if (bson_iter_recurse(&it, &child) && bson_iter_find(&child, "seq") &&
		    BSON_ITER_HOLDS_NUMBER(&child))
			last = bson_iter_as_int64(&child);
	}
	bson_destroy(&reply);
	if (last < (int64_t)n) {
		rc = pc_errf(err, errlen, PC_ERR_IO, "change counter returned no sequence number");
		goto done;
	}
	recs = calloc(n, sizeof *recs);
	if (!recs) {
		rc = pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		recs[i] = bson_new();
		BSON_APPEND_INT64(recs[i], "_id", last - (int64_t)n + 1 + (int64_t)i);
		BSON_APPEND_UTF8(recs[i], "principal", ids[i]);
		append_now(recs[i], "at", 0);
	}
	if (!mongoc_collection_insert_many(log, (const bson_t **)recs, n, NULL, NULL, &berr)) {
		rc = pc_errf(err, errlen, PC_ERR_IO, "change log: %s", berr.message);
		goto done;
	}
	/* Keep the log short: brokers reload everything after any outage anyway. */
	BSON_APPEND_DOCUMENT_BEGIN(&old, "at", &lt);
	append_now(&lt, "$lt", -PC_MS_PER_DAY);
	bson_append_document_end(&old, &lt);
	if (!mongoc_collection_delete_many(log, &old, NULL, NULL, &berr))
		rc = pc_errf(err, errlen, PC_ERR_IO, "change log pruning: %s", berr.message);
done:
	for (size_t i = 0; recs && i < n; i++)
		bson_destroy(recs[i]);
	free(recs);
	bson_destroy(&query);
	bson_destroy(&update);
	bson_destroy(&old);
	mongoc_find_and_modify_opts_destroy(fam);
	mongoc_collection_destroy(counters);
	mongoc_collection_destroy(log);
	return rc;
}

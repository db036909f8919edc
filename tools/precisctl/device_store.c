/*
 * device_store.c - precisctl's reads and writes of the `devices` registry.
 *
 * Filters are on _id only (see common/registry.c). Each write is followed
 * by a change-log record so that brokers act on it within a second.
 */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "precis/error.h"
#include "precis/options.h"

/* json as a BSON document in *meta (initialised only on success), or CTL_USAGE naming --meta. */
static int meta_bson(const char *json, bson_t *meta)
{
	bson_error_t berr;
	size_t off;

	if (json[strspn(json, " \t\r\n")] != '{')
		return ctl_error(CTL_USAGE, "--meta: '%s' is not a JSON object", json);
	if (!bson_init_from_json(meta, json, -1, &berr))
		return ctl_error(CTL_USAGE, "--meta: '%s' is not a JSON object: %s", json,
		                 berr.message);
	if (!bson_validate(meta,
	                   BSON_VALIDATE_UTF8 | BSON_VALIDATE_DOLLAR_KEYS | BSON_VALIDATE_DOT_KEYS |
	                       BSON_VALIDATE_EMPTY_KEYS,
	                   &off)) {
		bson_destroy(meta);
		return ctl_error(CTL_USAGE,
		                 "--meta: keys may not be empty, contain '.' or start with '$'");
	}
	return CTL_OK;
}

int dev__check_meta(const char *json)
{
	bson_t meta;
	int rc = meta_bson(json, &meta);

	if (rc == CTL_OK)
		bson_destroy(&meta);
	return rc;
}

int dev__record_bson(const struct dev__record *r, const bson_t *old, bson_t *out)
{
	bson_t tags, meta;
	bson_iter_t it;
	char key[24];

	bson_init(out);
	BSON_APPEND_UTF8(out, "_id", r->id);
	BSON_APPEND_UTF8(out, "password_hash", r->password_hash);
	BSON_APPEND_UTF8(out, "role", pc_role_name(r->role));
	BSON_APPEND_BOOL(out, "enabled", r->enabled);
	BSON_APPEND_ARRAY_BEGIN(out, "tags", &tags);
	for (size_t i = 0; i < r->ntags; i++) {
		snprintf(key, sizeof key, "%zu", i);
		BSON_APPEND_UTF8(&tags, key, r->tags[i]);
	}
	bson_append_array_end(out, &tags);
	if (r->meta_json) {
		if (meta_bson(r->meta_json, &meta) != CTL_OK) {
			bson_destroy(out);
			return CTL_USAGE;
		}
		BSON_APPEND_DOCUMENT(out, "meta", &meta);
		bson_destroy(&meta);
	} else {
		bson_t empty = BSON_INITIALIZER;

		BSON_APPEND_DOCUMENT(out, "meta", &empty);
	}
	if (old && bson_iter_init_find(&it, old, "created") && BSON_ITER_HOLDS_DATE_TIME(&it))
		BSON_APPEND_DATE_TIME(out, "created", bson_iter_date_time(&it));
	else
		dev__now(out, "created");
	dev__now(out, "updated");
	return CTL_OK;
}

static void id_filter(bson_t *f, const char *id)
{
	bson_init(f);
	BSON_APPEND_UTF8(f, "_id", id);
}

int dev__fetch(struct ctl *c, const char *id, bson_t *doc)
{
	mongoc_collection_t *coll = ctl_collection(c, PC_REGISTRY_COLL);
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_t f;
	bson_error_t berr;
	int rc = CTL_NOTFOUND;

	if (!coll)
		return CTL_ERR;
	id_filter(&f, id);
	cur = mongoc_collection_find_with_opts(coll, &f, NULL, NULL);
	if (mongoc_cursor_next(cur, &d)) {
		bson_copy_to(d, doc);
		rc = CTL_OK;
	} else if (mongoc_cursor_error(cur, &berr)) {
		rc = ctl_error(CTL_ERR, "reading '%s': %s", id, berr.message);
	} else {
		ctl_error(CTL_NOTFOUND, "no principal '%s'", id);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	mongoc_collection_destroy(coll);
	return rc;
}

int dev__exists(struct ctl *c, const char *id)
{
	bson_t doc;
	int rc = dev__fetch(c, id, &doc);

	if (rc == CTL_OK)
		bson_destroy(&doc);
	return rc;
}

int dev__write(struct ctl *c, struct dev__record *r, bool force)
{
	mongoc_collection_t *coll = ctl_collection(c, PC_REGISTRY_COLL);
	mongoc_cursor_t *cur;
	const bson_t *found;
	bson_t f, doc, old;
	bson_error_t berr;
	bool ok;
	int rc;

	if (!coll)
		return CTL_ERR;
	id_filter(&f, r->id);
	cur = mongoc_collection_find_with_opts(coll, &f, NULL, NULL);
	r->existed = mongoc_cursor_next(cur, &found);
	if (r->existed)
		bson_copy_to(found, &old);
	if (!r->existed && mongoc_cursor_error(cur, &berr)) {
		mongoc_cursor_destroy(cur);
		rc = ctl_error(CTL_ERR, "reading '%s': %s", r->id, berr.message);
		goto done_coll;
	}
	mongoc_cursor_destroy(cur);
	if (r->existed && !force) {
		bson_destroy(&old);
		rc = ctl_error(CTL_EXISTS, "principal '%s' exists (use --force to replace it)",
		               r->id);
		goto done_coll;
	}
	rc = dev__record_bson(r, r->existed ? &old : NULL, &doc);
	if (r->existed)
		bson_destroy(&old);
	if (rc != CTL_OK)
		goto done_coll;
	if (r->existed)
		ok = mongoc_collection_replace_one(coll, &f, &doc, NULL, NULL, &berr);
	else
		ok = mongoc_collection_insert_one(coll, &doc, NULL, NULL, &berr);
	bson_destroy(&doc);
	if (!ok) {
		rc = berr.code == 11000
		         ? ctl_error(CTL_EXISTS, "principal '%s' was added meanwhile", r->id)
		         : ctl_error(CTL_ERR, "writing '%s': %s", r->id, berr.message);
		goto done_coll;
	}
	rc = dev__log_change(c, &r->id, 1);
done_coll:
	bson_destroy(&f);
	mongoc_collection_destroy(coll);
	return rc;
}

/* Matched count of an update or delete reply; -1 when absent. */
static int64_t reply_count(const bson_t *reply, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return -1;
}

int dev__update(struct ctl *c, const char *id, const bson_t *set)
{
	mongoc_collection_t *coll = ctl_collection(c, PC_REGISTRY_COLL);
	bson_t f, update = BSON_INITIALIZER, s, reply;
	bson_error_t berr;
	bool ok;
	int rc;

	if (!coll)
		return CTL_ERR;
	id_filter(&f, id);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &s);
	bson_concat(&s, set);
	dev__now(&s, "updated");
	bson_append_document_end(&update, &s);
	ok = mongoc_collection_update_one(coll, &f, &update, NULL, &reply, &berr);
	if (!ok)
		rc = ctl_error(CTL_ERR, "updating '%s': %s", id, berr.message);
	else if (reply_count(&reply, "matchedCount") == 0)
		rc = ctl_error(CTL_NOTFOUND, "no principal '%s'", id);
	else
		rc = dev__log_change(c, &id, 1);
	bson_destroy(&reply);
	bson_destroy(&update);
	bson_destroy(&f);
	mongoc_collection_destroy(coll);
	return rc;
}

int dev__remove(struct ctl *c, const char *id)
{
	mongoc_collection_t *coll = ctl_collection(c, PC_REGISTRY_COLL);
	bson_t f, reply;
	bson_error_t berr;
	int rc;

	if (!coll)
		return CTL_ERR;
	id_filter(&f, id);
	if (!mongoc_collection_delete_one(coll, &f, NULL, &reply, &berr))
		rc = ctl_error(CTL_ERR, "removing '%s': %s", id, berr.message);
	else if (reply_count(&reply, "deletedCount") == 0)
		rc = ctl_error(CTL_NOTFOUND, "no principal '%s'", id);
	else
		rc = dev__log_change(c, &id, 1);
	bson_destroy(&reply);
	bson_destroy(&f);
	mongoc_collection_destroy(coll);
	return rc;
}

/*
 * archive_doc.c - a finished command as a MongoDB document (archive.h).
 *
 * Works from the fields of the command's Redis hash (all strings, as
 * the scripts wrote them): numbers become int64 or dates, the JSON of
 * args, result and history is parsed by libbson and checked against what
 * MongoDB and FerretDB v1 can store; what cannot be stored is kept as
 * JSON text so the record still lands (a result with a "a.b" key, say).
 * Pure: libbson only, no I/O; runs on the archive worker and in tests.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "precis/error.h"
#include "precis/options.h"

void command__arec_free(struct command__arec *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->names);
	free(r->values);
	free(r);
}

const char *command__arec_get(const struct command__arec *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->names[i], name) == 0)
			return r->values[i];
	return NULL;
}

static bool storable_iter(bson_iter_t *it, bool in_array)
{
	while (bson_iter_next(it)) {
		const char *key = bson_iter_key(it);
		bson_iter_t child;
		uint32_t len;

		if (!in_array && (key[0] == '$' || strchr(key, '.')))
			return false;
		switch (bson_iter_type(it)) {
		case BSON_TYPE_DOUBLE:
			if (!isfinite(bson_iter_double(it)))
				return false;
			break;
		case BSON_TYPE_UTF8: {
			const char *s = bson_iter_utf8(it, &len);

			if (memchr(s, '\0', len))
				return false;
			break;
		}
		case BSON_TYPE_DOCUMENT:
			if (!bson_iter_recurse(it, &child) || !storable_iter(&child, false))
				return false;
			break;
		case BSON_TYPE_ARRAY:
			if (in_array || !bson_iter_recurse(it, &child) ||
			    !storable_iter(&child, true))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

bool command__storable(const bson_t *doc)
{
	bson_iter_t it;

	return bson_iter_init(&it, doc) && storable_iter(&it, false);
}

static bool int_field(const struct command__arec *r, const char *name, int64_t *out)
{
	const char *v = command__arec_get(r, name);

	return v && v[0] && pc_parse_int(v, out) == PC_OK;
}

static void append_int(bson_t *doc, const struct command__arec *r, const char *name, const char *as)
{
	int64_t v;

	if (int_field(r, name, &v))
		bson_append_int64(doc, as, -1, v);
}

static void append_date(bson_t *doc, const struct command__arec *r, const char *name)
{
	int64_t v;

	if (int_field(r, name, &v))
		bson_append_date_time(doc, name, -1, v);
}

static void append_str(bson_t *doc, const struct command__arec *r, const char *name)
{
	const char *v = command__arec_get(r, name);

	if (v && v[0])
		bson_append_utf8(doc, name, -1, v, -1);
}

/* JSON object text as a subdocument when storable, else as text under text_key. */
static void append_json(bson_t *doc, const char *key, const char *text_key, const char *json,
                        bool text_only)
{
	bson_t *sub;

	if (!json || !json[0])
		return;
	sub = text_only ? NULL : bson_new_from_json((const uint8_t *)json, -1, NULL);
	if (sub && command__storable(sub))
		bson_append_document(doc, key, -1, sub);
	else
		bson_append_utf8(doc, text_key, -1, json, -1);
	bson_destroy(sub);
}

/* The history array: each transition with "at" as a date. False when not storable. */
static bool append_history(bson_t *doc, const char *hist)
{
	size_t n = strlen(hist) + 8;
	char *wrapped = malloc(n);
	bson_t *parsed = NULL, arr;
	bson_iter_t it, entry, field;
	bool ok = false;
	int i = 0;

	if (!wrapped)
		return false;
	snprintf(wrapped, n, "{\"h\":%s}", hist);
	parsed = bson_new_from_json((const uint8_t *)wrapped, -1, NULL);
	free(wrapped);
	if (!parsed || !command__storable(parsed) || !bson_iter_init_find(&it, parsed, "h") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &entry))
		goto out;
	bson_append_array_begin(doc, "history", -1, &arr);
	while (bson_iter_next(&entry)) {
		char idx[16];
		bson_t one;

		if (!BSON_ITER_HOLDS_DOCUMENT(&entry) || !bson_iter_recurse(&entry, &field))
			continue;
		snprintf(idx, sizeof idx, "%d", i++);
		bson_append_document_begin(&arr, idx, -1, &one);
		while (bson_iter_next(&field)) {
			const char *k = bson_iter_key(&field);

			if (strcmp(k, "at") == 0 && BSON_ITER_HOLDS_NUMBER(&field))
				bson_append_date_time(&one, k, -1, bson_iter_as_int64(&field));
			else
				bson_append_value(&one, k, -1, bson_iter_value(&field));
		}
		bson_append_document_end(&arr, &one);
	}
	bson_append_array_end(doc, &arr);
	ok = true;
out:
	bson_destroy(parsed);
	return ok;
}

int command__archive_doc(const struct command__arec *r, bool text_only, bson_t *doc, char *err,
                         size_t errlen)
{
	const char *state = command__arec_get(r, "state");
	const char *hist = command__arec_get(r, "hist");

	if (!r->cid[0] || !state || !state[0])
		return pc_errf(err, errlen, PC_ERR_INVAL, "command %s has no id or state", r->cid);
	bson_append_utf8(doc, "_id", -1, r->cid, -1);
	bson_append_utf8(doc, "device", -1, r->dev, -1);
	append_str(doc, r, "op");
	append_json(doc, "args", "args_json", command__arec_get(r, "args"), text_only);
	append_int(doc, r, "priority", "priority");
	bson_append_utf8(doc, "state", -1, state, -1);
	append_str(doc, r, "status");
	append_json(doc, "result", "result_json", command__arec_get(r, "result"), text_only);
	append_int(doc, r, "attempts", "attempts");
	append_int(doc, r, "max_attempts", "max_attempts");
	append_int(doc, r, "ack_timeout", "ack_timeout_ms");
	append_str(doc, r, "supersede");
	append_date(doc, r, "created");
	append_date(doc, r, "updated");
	append_date(doc, r, "not_before");
	append_date(doc, r, "expire_at");
	append_date(doc, r, "delivered");
	append_date(doc, r, "finished");
	if (hist && hist[0] && (text_only || !append_history(doc, hist)))
		bson_append_utf8(doc, "history_json", -1, hist, -1);
	return PC_OK;
}

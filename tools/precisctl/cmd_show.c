/*
 * cmd_show.c - the read-only verbs of `precisctl cmd`: list, show, history.
 *
 * A command's Redis hash is turned into the same document the plugin
 * archives to MongoDB (archive_doc.c), so `show` prints one shape
 * whether the command is still in Redis or only in the archive, and
 * --json prints that document as relaxed extended JSON. history merges
 * the finished commands Redis keeps (the done table) with the archive,
 * newest first; --transitions prints the device's log stream instead.
 * Reads only: no script runs here.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "cmd.h"
#include "precis/error.h"
#include "precis/hmap.h"
#include "precis/slot.h"

/* HGETALL reply -> record; NULL when the hash does not exist (or out of memory). */
static struct command__arec *record(const redisReply *r, const char *cid, const char *dev)
{
	struct command__arec *a;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->elements % 2 ||
	    !(a = calloc(1, sizeof *a)))
		return NULL;
	snprintf(a->cid, sizeof a->cid, "%s", cid);
	snprintf(a->dev, sizeof a->dev, "%s", dev);
	a->names = calloc(r->elements / 2, sizeof *a->names);
	a->values = calloc(r->elements / 2, sizeof *a->values);
	for (size_t i = 0; a->names && a->values && i + 1 < r->elements; i += 2) {
		a->names[a->n] = strdup(r->element[i]->str);
		a->values[a->n] = strdup(r->element[i + 1]->str);
		a->n++;
	}
	return a;
}

/* The command's hash from Redis as a document in doc; false when Redis has no such command. */
static bool from_redis(struct cmd_ctx *x, const char *cid, const char *dev, bson_t *doc)
{
	const char *at = strchr(cid, '@');
	struct command__arec *a;
	redisReply *r;
	bool found;

	r = redisCommand(x->redis, "HGETALL %s{%s}:cmd:%b", x->prefix, dev, cid,
	                 (size_t)(at - cid));
	a = record(r, cid, dev);
	found = a && command__archive_doc(a, false, doc, NULL, 0) == PC_OK;
	command__arec_free(a);
	if (r)
		freeReplyObject(r);
	return found;
}

static void print_time(const char *label, const bson_t *doc, const char *key)
{
	bson_iter_t it;
	char t[32];

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DATE_TIME(&it) &&
	    pc_time_format(t, sizeof t, bson_iter_date_time(&it)) > 0)
		printf("%-10s %s\n", label, t);
}

static const char *str_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it)
	           ? bson_iter_utf8(&it, NULL)
	           : "";
}

static int64_t int_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
	           ? bson_iter_as_int64(&it)
	           : 0;
}

/* A member holding a subdocument (or its JSON text), printed as JSON. */
static void print_json(const char *label, const bson_t *doc, const char *key, const char *textkey)
{
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	bson_t sub;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_iter_document(&it, &len, &data);
		if (bson_init_static(&sub, data, len)) {
			char *s = bson_as_relaxed_extended_json(&sub, NULL);

			printf("%-10s %s\n", label, s ? s : "?");
			bson_free(s);
		}
	} else if (bson_iter_init_find(&it, doc, textkey)) {
		printf("%-10s %s\n", label, bson_iter_utf8(&it, NULL));
	}
}

static void print_doc(const bson_t *doc)
{
	bson_iter_t it, h;

	printf("%-10s %s\n", "id", str_of(doc, "_id"));
	printf("%-10s %s\n", "device", str_of(doc, "device"));
	printf("%-10s %s\n", "op", str_of(doc, "op"));
	print_json("args", doc, "args", "args_json");
	printf("%-10s %s%s%s%s\n", "state", str_of(doc, "state"),
	       *str_of(doc, "status") ? " (" : "", str_of(doc, "status"),
	       *str_of(doc, "status") ? ")" : "");
	printf("%-10s %lld\n", "priority", (long long)int_of(doc, "priority"));
	printf("%-10s %lld of %lld\n", "attempts", (long long)int_of(doc, "attempts"),
	       (long long)int_of(doc, "max_attempts"));
	printf("%-10s %lld ms\n", "timeout", (long long)int_of(doc, "ack_timeout_ms"));
	if (*str_of(doc, "supersede"))
		printf("%-10s %s\n", "supersede", str_of(doc, "supersede"));
	print_time("created", doc, "created");
	print_time("ready", doc, "not_before");
	print_time("expires", doc, "expire_at");
	print_time("delivered", doc, "delivered");
	print_time("finished", doc, "finished");
	print_json("result", doc, "result", "result_json");
	if (!bson_iter_init_find(&it, doc, "history") || !bson_iter_recurse(&it, &h))
		return;
	printf("history\n");
	while (bson_iter_next(&h)) {
		const uint8_t *data;
		uint32_t len;
		bson_t e;
		char *s;

		if (!BSON_ITER_HOLDS_DOCUMENT(&h))
			continue;
		bson_iter_document(&h, &len, &data);
		if (!bson_init_static(&e, data, len))
			continue;
		s = bson_as_relaxed_extended_json(&e, NULL);
		printf("  %s\n", s ? s : "?");
		bson_free(s);
	}
}

static void emit(struct ctl *c, const bson_t *doc)
{
	if (c->json)
		ctl_print_json(doc);
	else
		print_doc(doc);
}

/* The archived command _id = cid into doc; CTL_OK, CTL_NOTFOUND or CTL_ERR. */
static int from_archive(struct ctl *c, const char *cid, bson_t *doc)
{
	mongoc_collection_t *coll = ctl_collection(c, "commands");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(cid));
	mongoc_cursor_t *cur;
	const bson_t *found;
	bson_error_t e;
	int rc = CTL_NOTFOUND;

	if (!coll) {
		bson_destroy(filter);
		return CTL_ERR;
	}
	cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	if (mongoc_cursor_next(cur, &found)) {
		bson_copy_to(found, doc);
		rc = CTL_OK;
	} else if (mongoc_cursor_error(cur, &e)) {
		rc = ctl_error(CTL_ERR, "archive: %s", e.message);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(filter);
	return rc;
}

int cmd_show(struct ctl *c, struct cmd_ctx *x, const char *cid)
{
	char dev[PC_ID_MAX + 1];
	bson_t doc = BSON_INITIALIZER;
	int rc;

	if ((rc = cmd_split_id(cid, dev)) != CTL_OK)
		return rc;
	if (from_redis(x, cid, dev, &doc)) {
		emit(c, &doc);
		bson_destroy(&doc);
		return CTL_OK;
	}
	bson_destroy(&doc);
	rc = from_archive(c, cid, &doc);
	if (rc == CTL_OK)
		emit(c, &doc);
	else if (rc == CTL_NOTFOUND)
		ctl_error(CTL_NOTFOUND, "no command %s (neither in Redis nor in the archive)", cid);
	if (rc != CTL_ERR)
		bson_destroy(&doc);
	return rc;
}

/* One line (or JSON object) per command in a list or history. */
static void line(struct ctl *c, const bson_t *doc)
{
	char t[32] = "-";
	bson_iter_t it;

	if (c->json) {
		ctl_print_json(doc);
		return;
	}
	if ((bson_iter_init_find(&it, doc, "finished") ||
	     bson_iter_init_find(&it, doc, "expire_at")) &&
	    BSON_ITER_HOLDS_DATE_TIME(&it))
		pc_time_format(t, sizeof t, bson_iter_date_time(&it));
	printf("%-40s %-10s %-8s %lld/%lld  p%lld  %-24s %s\n", str_of(doc, "_id"),
	       str_of(doc, "state"), *str_of(doc, "status") ? str_of(doc, "status") : "-",
	       (long long)int_of(doc, "attempts"), (long long)int_of(doc, "max_attempts"),
	       (long long)int_of(doc, "priority"), t, str_of(doc, "op"));
}

int cmd_list(struct ctl *c, struct cmd_ctx *x, const char *dev)
{
	static const char *const tables[] = {"inflight", "pending"};
	char err[256];

	if (pc_id_check(dev, strlen(dev), err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "cmd list: device '%s': %s", dev, err);
	for (size_t t = 0; t < 2; t++) {
		redisReply *r =
		    redisCommand(x->redis, "ZRANGE %s{%s}:%s 0 -1", x->prefix, dev, tables[t]);

		if (!r)
			return ctl_error(CTL_ERR, "redis: %s", x->redis->errstr);
		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			bson_t doc = BSON_INITIALIZER;

			if (from_redis(x, r->element[i]->str, dev, &doc))
				line(c, &doc);
			bson_destroy(&doc);
		}
		freeReplyObject(r);
	}
	return CTL_OK;
}

static int transitions(struct ctl *c, struct cmd_ctx *x, const char *dev)
{
	redisReply *r = redisCommand(x->redis, "XREVRANGE %s{%s}:log + - COUNT %lld", x->prefix,
	                             dev, (long long)x->limit);

	if (!r)
		return ctl_error(CTL_ERR, "redis: %s", x->redis->errstr);
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *f = r->element[i]->element[1];

		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (strcmp(f->element[k]->str, "json") == 0)
				printf("%s\n", f->element[k + 1]->str);
	}
	freeReplyObject(r);
	return CTL_OK;
}

int cmd_history(struct ctl *c, struct cmd_ctx *x, const char *dev)
{
	mongoc_collection_t *coll;
	struct pc_hmap *seen;
	redisReply *r;
	char err[256];
	int rc = CTL_OK;
	int64_t shown = 0;

	if (pc_id_check(dev, strlen(dev), err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "cmd history: device '%s': %s", dev, err);
	if (x->transitions)
		return transitions(c, x, dev);
	r = redisCommand(x->redis, "ZREVRANGE %s{%s}:done 0 %lld", x->prefix, dev,
	                 (long long)x->limit - 1);
	if (!r)
		return ctl_error(CTL_ERR, "redis: %s", x->redis->errstr);
	seen = pc_hmap_new(64);
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		bson_t doc = BSON_INITIALIZER;

		if (from_redis(x, r->element[i]->str, dev, &doc)) {
			line(c, &doc);
			shown++;
			pc_hmap_put(seen, r->element[i]->str, r->element[i]->len, seen, NULL);
		}
		bson_destroy(&doc);
	}
	freeReplyObject(r);
	/* Older ones live in the archive only; Redis's copy wins where both have one. */
	if (shown < x->limit && (coll = ctl_collection(c, "commands")) != NULL) {
		bson_t *filter = BCON_NEW("device", BCON_UTF8(dev));
		bson_t *opts = BCON_NEW("sort", "{", "finished", BCON_INT32(-1), "}");
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
		const bson_t *doc;
		bson_error_t e;

		while (shown < x->limit && mongoc_cursor_next(cur, &doc)) {
			const char *id = str_of(doc, "_id");

			if (pc_hmap_get(seen, id, strlen(id)))
				continue;
			line(c, doc);
			shown++;
		}
		if (mongoc_cursor_error(cur, &e))
			rc = ctl_error(CTL_ERR, "archive: %s", e.message);
		mongoc_cursor_destroy(cur);
		bson_destroy(opts);
		bson_destroy(filter);
		mongoc_collection_destroy(coll);
	} else if (shown < x->limit) {
		rc = CTL_ERR; /* ctl_collection said why */
	}
	pc_hmap_free(seen);
	return rc;
}

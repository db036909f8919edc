/*
 * resync.c - the Redis worker's results for the broker thread, and the
 * rebuild after a reconnect.
 *
 * command__handle_view turns the view element of a script reply into
 * the device's due time and a view message for the broker thread.
 * command__resync rebuilds everything the plugin keeps in memory from
 * Redis alone, so that nothing depends on notices that were missed while
 * the subscriber was away (or on the broker having run before): it
 * SCANs the device keys under the prefix, sweeps every device with
 * commands pending or in flight, queues every finished command still
 * waiting for the archive, and at the plugin's first resync reports the
 * devices Redis says are online, so that those which never come back are
 * taken offline by the presence sweep. Redis worker thread.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "due.h"
#include "precis/error.h"
#include "precis/hmap.h"

#define CHUNK 64

enum { HAS_COMMANDS = 1, HAS_ARCHIVE = 2, HAS_PRESENCE = 4 };

void command__handle_view(struct command__data *d, const char *dev, const redisReply *r, bool claim,
                          uint64_t gen)
{
	struct command__due *due = command__worker_due(d->worker);
	struct command__out *m = command__out_new(claim ? COMMAND_OUT_CLAIMED : COMMAND_OUT_VIEW);

	if (!m) {
		pb_count(&d->stats.out_dropped, 1);
		return;
	}
	snprintf(m->dev, sizeof m->dev, "%s", dev);
	m->gen = gen;
	m->ok = r->type != REDIS_REPLY_ERROR && command__reply_view(r, &m->view) == PC_OK;
	if (m->ok) {
		if (m->view.due_in >= 0)
			command__due_set(due, dev, pc_mono_ms() + m->view.due_in + 1);
		else
			command__due_cancel(due, dev);
	}
	if (!m->ok && !claim) {
		command__out_free(m);
		return;
	}
	command__out_push(d, m);
}

void command__archive_read(struct command__data *d, const char *dev, const char *cid,
                           const redisReply *r)
{
	struct command__arec *a;

	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->elements % 2)
		return; /* gone (archived and trimmed meanwhile) */
	a = calloc(1, sizeof *a);
	if (!a)
		return;
	snprintf(a->cid, sizeof a->cid, "%s", cid);
	snprintf(a->dev, sizeof a->dev, "%s", dev);
	a->names = calloc(r->elements / 2, sizeof *a->names);
	a->values = calloc(r->elements / 2, sizeof *a->values);
	if (!a->names || !a->values)
		goto fail;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		a->names[a->n] = strndup(k->str, k->len);
		a->values[a->n] = strndup(v->str, v->len);
		a->n++;
		if (!a->names[a->n - 1] || !a->values[a->n - 1])
			goto fail;
	}
	command__archive_push(d, a);
	return;
fail:
	command__arec_free(a);
}

/* "<prefix>{<dev>}:<suffix>" -> dev and the flag of suffix; false for other keys. */
static bool parse_key(const char *prefix, const redisReply *k, char *dev, int *flag)
{
	size_t plen = strlen(prefix);
	const char *p, *end;

	if (k->type != REDIS_REPLY_STRING || k->len < plen + 4 || memcmp(k->str, prefix, plen) ||
	    k->str[plen] != '{')
		return false;
	p = k->str + plen + 1;
	end = memchr(p, '}', k->len - plen - 1);
	if (!end || end == p || (size_t)(end - p) > PC_ID_MAX || end[1] != ':')
		return false;
	memcpy(dev, p, (size_t)(end - p));
	dev[end - p] = '\0';
	if (pc_id_check(dev, strlen(dev), NULL, 0) != PC_OK)
		return false;
	end += 2;
	if (strcmp(end, "pending") == 0 || strcmp(end, "inflight") == 0)
		*flag = HAS_COMMANDS;
	else if (strcmp(end, "archive") == 0)
		*flag = HAS_ARCHIVE;
	else if (strcmp(end, "presence") == 0)
		*flag = HAS_PRESENCE;
	else
		return false;
	return true;
}

static redisReply *command(struct redisContext *c, int argc, const char **argv, char *err,
                           size_t errlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);

	if (!r)
		pc_errf(err, errlen, PC_ERR_IO, "%s: %s", argv[0],
		        c->errstr[0] ? c->errstr : "connection error");
	return r;
}

/* Every device with a key of interest, with its flags, into found. */
static int scan(struct command__data *d, struct redisContext *c, struct pc_hmap *found, char *err,
                size_t errlen)
{
	char cursor[32] = "0", pattern[320];
	size_t n = 0;

	/* The prefix literally: glob characters in it are escaped. */
	for (const char *p = d->conf.redis_prefix; *p && n < sizeof pattern - 8; p++) {
		if (strchr("*?[]\\", *p))
			pattern[n++] = '\\';
		pattern[n++] = *p;
	}
	memcpy(pattern + n, "{*}:*", 6);
	do {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
		redisReply *r = command(c, 6, argv, err, errlen);

		if (!r)
			return PC_ERR_IO;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return pc_errf(err, errlen, PC_ERR_BACKEND, "SCAN: unexpected reply");
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			char dev[PC_ID_MAX + 1];
			int flag;
			uintptr_t had;

			if (!parse_key(d->conf.redis_prefix, r->element[1]->element[i], dev, &flag))
				continue;
			had = (uintptr_t)pc_hmap_get(found, dev, strlen(dev));
			pc_hmap_put(found, dev, strlen(dev), (void *)(had | (uintptr_t)flag), NULL);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return PC_OK;
}

/* Sweep the devices named in devs[0..n) in one pipeline; their views go to the broker. */
static int sweep_chunk(struct command__data *d, struct redisContext *c, char (*devs)[PC_ID_MAX + 1],
                       size_t n, struct command__shas *shas, char *err, size_t errlen)
{
	struct command__call call;

	for (size_t i = 0; i < n; i++) {
		command__call_init(&call, COMMAND_S_SWEEP, &d->env, devs[i], 0);
		command__call_append(c, shas, &call);
	}
	for (size_t i = 0; i < n; i++) {
		void *reply;
		redisReply *r;

		if (redisGetReply(c, &reply) != REDIS_OK)
			return pc_errf(err, errlen, PC_ERR_IO, "sweep: %s",
			               c->errstr[0] ? c->errstr : "connection error");
		r = reply;
		if (command__reply_noscript(r)) {
			freeReplyObject(r);
			command__call_init(&call, COMMAND_S_SWEEP, &d->env, devs[i], 0);
			shas->loaded = false;
			if (!(r = command__call_run(c, shas, &call, NULL, err, errlen)))
				return PC_ERR_IO;
		}
		command__reply_notices(d, r);
		command__handle_view(d, devs[i], r, false, 0);
		freeReplyObject(r);
	}
	return PC_OK;
}

/* Queue every command in dev's archive set for the archive worker. */
static int archive_device(struct command__data *d, struct redisContext *c, const char *dev,
                          char *err, size_t errlen)
{
	char key[COMMAND_KEY_MAX + 16];
	const char *argv[2] = {"SMEMBERS", key};
	redisReply *r;
	int n = command__key_base(key, sizeof key - 8, d->conf.redis_prefix, dev);

	if (n < 0)
		return PC_OK;
	strcat(key, "archive");
	if (!(r = command(c, 2, argv, err, errlen)))
		return PC_ERR_IO;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const char *cid = r->element[i]->str, *at = strchr(cid, '@');
		char hkey[COMMAND_KEY_MAX + COMMAND_TOKEN_MAX + 8];
		const char *hargv[2] = {"HGETALL", hkey};
		redisReply *h;

		if (!at || (size_t)(at - cid) > COMMAND_TOKEN_MAX)
			continue;
		snprintf(hkey, sizeof hkey, "%.*scmd:%.*s", n, key, (int)(at - cid), cid);
		if (!(h = command(c, 2, hargv, err, errlen))) {
			freeReplyObject(r);
			return PC_ERR_IO;
		}
		command__archive_read(d, dev, cid, h);
		freeReplyObject(h);
	}
	freeReplyObject(r);
	return PC_OK;
}

/* Report dev to the broker thread when Redis says it is online. */
static int presence_device(struct command__data *d, struct redisContext *c, const char *dev,
                           char *err, size_t errlen)
{
	char key[COMMAND_KEY_MAX + 16];
	const char *argv[] = {"HMGET", key, "online", "last_seen", "interval", "seq"};
	struct command__out *m;
	redisReply *r;

	if (command__key_base(key, sizeof key - 9, d->conf.redis_prefix, dev) < 0)
		return PC_OK;
	strcat(key, "presence");
	if (!(r = command(c, 6, argv, err, errlen)))
		return PC_ERR_IO;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "1") == 0 &&
	    (m = command__out_new(COMMAND_OUT_RESTORE)) != NULL) {
		snprintf(m->dev, sizeof m->dev, "%s", dev);
		m->last_seen = r->element[1]->str ? strtoll(r->element[1]->str, NULL, 10) : 0;
		m->interval_ms = r->element[2]->str ? strtoll(r->element[2]->str, NULL, 10) : 0;
		m->seq = r->element[3]->str ? strtoll(r->element[3]->str, NULL, 10) : -1;
		command__out_push(d, m);
	}
	freeReplyObject(r);
	return PC_OK;
}

int command__resync(struct command__data *d, struct redisContext *c, bool restore_presence,
                    char *err, size_t errlen)
{
	struct pc_hmap *found = pc_hmap_new(1024);
	char(*chunk)[PC_ID_MAX + 1] = malloc(CHUNK * sizeof *chunk);
	struct command__shas shas;
	struct command__out *clear = command__out_new(COMMAND_OUT_CLEAR);
	size_t cursor = 0, n = 0, len;
	const char *dev;
	void *v;
	int rc = PC_OK;

	if (!found || !chunk || !clear) {
		rc = pc_errf(err, errlen, PC_ERR_NOMEM, "resync: out of memory");
		command__out_free(clear);
		goto out;
	}
	pb_count(&d->stats.resyncs, 1);
	command__out_push(d, clear);
	if ((rc = scan(d, c, found, err, errlen)) != PC_OK ||
	    (rc = command__scripts_load(c, &shas, err, errlen)) != PC_OK)
		goto out;
	while (rc == PC_OK && pc_hmap_next(found, &cursor, &dev, &len, &v)) {
		uintptr_t flags = (uintptr_t)v;

		if (flags & HAS_COMMANDS) {
			memcpy(chunk[n++], dev, len + 1);
			if (n == CHUNK) {
				rc = sweep_chunk(d, c, chunk, n, &shas, err, errlen);
				n = 0;
			}
		}
		if (rc == PC_OK && (flags & HAS_ARCHIVE) && d->conf.archive)
			rc = archive_device(d, c, dev, err, errlen);
		if (rc == PC_OK && (flags & HAS_PRESENCE) && restore_presence)
			rc = presence_device(d, c, dev, err, errlen);
	}
	if (rc == PC_OK && n)
		rc = sweep_chunk(d, c, chunk, n, &shas, err, errlen);
	if (rc == PC_OK)
		pc_log(&d->base.log, PC_LOG_INFO, "resync: %zu devices in Redis",
		       pc_hmap_count(found));
out:
	pc_hmap_free(found);
	free(chunk);
	return rc;
}

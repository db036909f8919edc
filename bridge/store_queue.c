/*
 * store_queue.c - the bounded, coalescing document queue (see store_queue.h).
 *
 * A hash map from "collection \1 _id" to the waiting document finds the
 * revision a put replaces; a doubly linked list keeps the waiting
 * documents in arrival order for br_sq_take. A taken document leaves both
 * (so a newer revision put meanwhile waits separately) but stays in the
 * counts until it is settled. Called under store.c's mutex only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "precis/hmap.h"
#include "store_queue.h"

#define KEY_MAX  (BR_SQ_COLL_MAX + 1 + BR_SQ_ID_MAX + 1)
#define OVERHEAD (sizeof(struct br_sq_doc) + 64) /* the map's slot and key copy, malloc headers */

static size_t make_key(char *key, const char *coll, const char *id)
{
	return (size_t)snprintf(key, KEY_MAX, "%s%c%s", coll, 1, id);
}

static void doc_free(struct br_sq_doc *d)
{
	if (!d)
		return;
	free(d->id);
	free(d->json);
	free(d);
}

static void unlink_doc(struct br_sq *q, struct br_sq_doc *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		q->head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		q->tail = d->prev;
	d->prev = d->next = NULL;
}

static void append(struct br_sq *q, struct br_sq_doc *d)
{
	d->prev = q->tail;
	d->next = NULL;
	if (q->tail)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
}

static void prepend(struct br_sq *q, struct br_sq_doc *d)
{
	d->prev = NULL;
	d->next = q->head;
	if (q->head)
		q->head->prev = d;
	else
		q->tail = d;
	q->head = d;
}

static void note_size(struct br_sq *q)
{
	size_t n = q->st.pending + q->st.inflight;

	if (n > q->st.max_pending)
		q->st.max_pending = n;
}

int br_sq_init(struct br_sq *q, size_t max_docs, size_t max_bytes)
{
	memset(q, 0, sizeof *q);
	q->max_docs = max_docs ? max_docs : 1;
	q->max_bytes = max_bytes ? max_bytes : 1;
	q->map = pc_hmap_new(max_docs < 4096 ? max_docs : 4096);
	return q->map ? PC_OK : PC_ERR_NOMEM;
}

size_t br_sq_cleanup(struct br_sq *q)
{
	struct br_sq_doc *d = q->head, *next;
	size_t n = 0;

	for (; d; d = next) {
		next = d->next;
		q->st.bytes -= d->bytes;
		doc_free(d);
		n++;
	}
	q->head = q->tail = NULL;
	q->st.pending = 0;
	q->st.dropped += n;
	pc_hmap_free(q->map);
	q->map = NULL;
	return n;
}

/* Would adding docs documents and bytes more stay within the limits for this kind? */
static bool fits(const struct br_sq *q, size_t docs, size_t bytes, bool rebuildable)
{
	size_t max_docs = q->max_docs, max_bytes = q->max_bytes;
	size_t n = q->st.pending + q->st.inflight;

	if (rebuildable) {
		max_docs -= max_docs / 10;
		max_bytes -= max_bytes / 10;
	}
	return n + docs <= max_docs && q->st.bytes + bytes <= max_bytes;
}

int br_sq_put(struct br_sq *q, const char *coll, const char *id, const char *json, size_t len,
              bool rebuildable)
{
	char key[KEY_MAX];
	size_t klen, bytes;
	struct br_sq_doc *old, *d;
	char *copy;

	if (strlen(coll) >= BR_SQ_COLL_MAX || strlen(id) > BR_SQ_ID_MAX)
		return PC_ERR_TOO_LONG;
	klen = make_key(key, coll, id);
	bytes = len + 1 + strlen(id) + 1 + OVERHEAD;
	old = pc_hmap_get(q->map, key, klen);
	if (old) { /* a new revision of a waiting document: same turn, new text */
		if (q->st.bytes - old->bytes + bytes > q->max_bytes) {
			q->st.refused++;
			return PC_ERR_FULL;
		}
		if (!(copy = malloc(len + 1)))
			return PC_ERR_NOMEM;
		memcpy(copy, json, len);
		copy[len] = '\0';
		free(old->json);
		old->json = copy;
		old->len = len;
		q->st.bytes = q->st.bytes - old->bytes + bytes;
		old->bytes = bytes;
		q->st.queued++;
		q->st.coalesced++;
		return PC_OK;
	}
	if (!fits(q, 1, bytes, rebuildable)) {
		q->st.refused++;
		return PC_ERR_FULL;
	}
	d = calloc(1, sizeof *d);
	if (!d || !(d->id = strdup(id)) || !(d->json = malloc(len + 1))) {
		doc_free(d);
		return PC_ERR_NOMEM;
	}
	strcpy(d->coll, coll);
	memcpy(d->json, json, len);
	d->json[len] = '\0';
	d->len = len;
	d->bytes = bytes;
	if (pc_hmap_put(q->map, key, klen, d, NULL) != PC_OK) {
		doc_free(d);
		return PC_ERR_NOMEM;
	}
	append(q, d);
	q->st.pending++;
	q->st.bytes += bytes;
	q->st.queued++;
	note_size(q);
	return PC_OK;
}

size_t br_sq_take(struct br_sq *q, struct br_sq_doc **out, size_t max, size_t max_bytes)
{
	size_t n = 0, bytes = 0;
	char key[KEY_MAX];

	while (q->head && n < max && (n == 0 || bytes + q->head->len <= max_bytes)) {
		struct br_sq_doc *d = q->head;
		unlink_doc(q, d);
		pc_hmap_del(q->map, key, make_key(key, d->coll, d->id));
		d->inflight = true;
		q->st.pending--;
		q->st.inflight++;
		bytes += d->len;
		out[n++] = d;
	}
	return n;
}

void br_sq_settle(struct br_sq *q, struct br_sq_doc *d, enum br_sq_outcome o)
{
	char key[KEY_MAX];
	size_t klen;

	q->st.inflight--;
	d->inflight = false;
	if (o == BR_SQ_RETRY) {
		q->st.retried++;
		klen = make_key(key, d->coll, d->id);
		if (!pc_hmap_get(q->map, key, klen) &&
		    pc_hmap_put(q->map, key, klen, d, NULL) == PC_OK) {
			prepend(q, d);
			q->st.pending++;
			return;
		}
		/* A newer revision waits (or no memory to put it back: then it is dropped). */
		if (pc_hmap_get(q->map, key, klen))
			q->st.coalesced++;
		else
			q->st.dropped++;
	} else if (o == BR_SQ_WRITTEN) {
		q->st.written++;
	} else {
		q->st.failed++;
	}
	q->st.bytes -= d->bytes;
	doc_free(d);
}

size_t br_sq_room(const struct br_sq *q, size_t avg_bytes)
{
	size_t max_docs = q->max_docs - q->max_docs / 10,
	       max_bytes = q->max_bytes - q->max_bytes / 10;
	size_t n = q->st.pending + q->st.inflight, by_docs, by_bytes;

	if (n >= max_docs || q->st.bytes >= max_bytes)
		return 0;
	by_docs = max_docs - n;
	by_bytes = (max_bytes - q->st.bytes) / (avg_bytes + OVERHEAD);
	return by_docs < by_bytes ? by_docs : by_bytes;
}

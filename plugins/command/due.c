/*
 * due.c - a min-heap of (time, device) with an index by device (due.h).
 *
 * Each entry knows its heap slot, so replacing or cancelling a device's
 * time sifts it in place instead of leaving stale copies behind. The
 * heap array grows by doubling. Pure; one thread owns a set.
 */
#include <stdlib.h>
#include <string.h>

#include "due.h"
#include "precis/error.h"
#include "precis/hmap.h"

struct entry {
	int64_t at;
	size_t slot;
	char dev[PC_ID_MAX + 1];
};

struct command__due {
	struct pc_hmap *index; /* dev -> struct entry */
	struct entry **heap;
	size_t n, cap;
};

struct command__due *command__due_new(void)
{
	struct command__due *s = calloc(1, sizeof *s);

	if (s && !(s->index = pc_hmap_new(64))) {
		free(s);
		return NULL;
	}
	return s;
}

void command__due_free(struct command__due *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->heap[i]);
	free(s->heap);
	pc_hmap_free(s->index);
	free(s);
}

static void place(struct command__due *s, struct entry *e, size_t slot)
{
	s->heap[slot] = e;
	e->slot = slot;
}

static void sift_up(struct command__due *s, size_t i)
{
	struct entry *e = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (s->heap[parent]->at <= e->at)
			break;
		place(s, s->heap[parent], i);
		i = parent;
	}
	place(s, e, i);
}

static void sift_down(struct command__due *s, size_t i)
{
	struct entry *e = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->n)
			break;
		if (c + 1 < s->n && s->heap[c + 1]->at < s->heap[c]->at)
			c++;
		if (s->heap[c]->at >= e->at)
			break;
		place(s, s->heap[c], i);
		i = c;
	}
	place(s, e, i);
}

/* Take e out of the heap (it stays allocated and indexed). */
static void unlink_entry(struct command__due *s, struct entry *e)
{
	size_t i = e->slot;
	struct entry *last = s->heap[--s->n];

	if (last == e)
		return;
	place(s, last, i);
	sift_down(s, i);
	sift_up(s, last->slot);
}

int command__due_set(struct command__due *s, const char *dev, int64_t at)
{
	size_t len = strlen(dev);
	struct entry *e = pc_hmap_get(s->index, dev, len);

	if (e) {
		int64_t was = e->at;

		e->at = at;
		if (at < was)
			sift_up(s, e->slot);
		else
			sift_down(s, e->slot);
		return PC_OK;
	}
	if (len > PC_ID_MAX)
		return PC_ERR_INVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry **h = realloc(s->heap, cap * sizeof *h);

		if (!h)
			return PC_ERR_NOMEM;
		s->heap = h;
		s->cap = cap;
	}
	if (!(e = calloc(1, sizeof *e)))
		return PC_ERR_NOMEM;
	memcpy(e->dev, dev, len);
	e->at = at;
	if (pc_hmap_put(s->index, e->dev, len, e, NULL) != PC_OK) {
		free(e);
		return PC_ERR_NOMEM;
	}
	place(s, e, s->n++);
	sift_up(s, e->slot);
	return PC_OK;
}

void command__due_cancel(struct command__due *s, const char *dev)
{
	struct entry *e = pc_hmap_del(s->index, dev, strlen(dev));

	if (e) {
		unlink_entry(s, e);
		free(e);
	}
}

int64_t command__due_next(const struct command__due *s)
{
	return s->n ? s->heap[0]->at : INT64_MAX;
}

bool command__due_pop(struct command__due *s, int64_t now, char *dev)
{
	struct entry *e;

	if (!s->n || s->heap[0]->at > now)
		return false;
	e = s->heap[0];
	memcpy(dev, e->dev, sizeof e->dev);
	pc_hmap_del(s->index, e->dev, strlen(e->dev));
	unlink_entry(s, e);
	free(e);
	return true;
}

size_t command__due_count(const struct command__due *s)
{
	return s->n;
}

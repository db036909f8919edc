/*
 * devices.c - the broker thread's device table (devices.h).
 *
 * Entries live in a pc_hmap keyed by device id; each owns its prefetched
 * commands as a plain array in delivery order (a device holds at most
 * deliver_max of them, so arrays stay small and moves are cheap). The
 * generation rule that keeps stale views out is explained in devices.h.
 * Pure: no I/O, no clock; the broker thread is the only user.
 */
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "precis/error.h"
#include "precis/hmap.h"

void command__cmd_free(struct command__cmd *c)
{
	free(c->cid);
	free(c->op);
	free(c->args);
	memset(c, 0, sizeof *c);
}

void command__view_free(struct command__view *v)
{
	for (size_t i = 0; i < v->n; i++)
		command__cmd_free(&v->cmds[i]);
	free(v->cmds);
	v->cmds = NULL;
	v->n = 0;
}

static void drop_cmds(struct command__device *dev)
{
	for (size_t i = 0; i < dev->ncmds; i++)
		command__cmd_free(&dev->cmds[i]);
	free(dev->cmds);
	dev->cmds = NULL;
	dev->ncmds = 0;
}

int command__devices_init(struct command__devices *t, const struct command__presence_cfg *cfg)
{
	t->presence = *cfg;
	t->map = pc_hmap_new(1024);
	return t->map ? PC_OK : PC_ERR_NOMEM;
}

void command__devices_cleanup(struct command__devices *t)
{
	size_t cursor = 0;
	void *v;

	while (t->map && pc_hmap_next(t->map, &cursor, NULL, NULL, &v)) {
		drop_cmds(v);
		free(((struct command__device *)v)->ack_topic);
		free(v);
	}
	pc_hmap_free(t->map);
	t->map = NULL;
}

struct command__device *command__devices_find(struct command__devices *t, const char *id,
                                              size_t len)
{
	return pc_hmap_get(t->map, id, len);
}

struct command__device *command__devices_add(struct command__devices *t, const char *id, size_t len)
{
	struct command__device *dev = pc_hmap_get(t->map, id, len);

	if (dev)
		return dev;
	if (len > PC_ID_MAX || !(dev = calloc(1, sizeof *dev)))
		return NULL;
	memcpy(dev->id, id, len);
	dev->id_len = len;
	command__presence_init(&dev->presence, &t->presence);
	if (pc_hmap_put(t->map, id, len, dev, NULL) != PC_OK) {
		free(dev);
		return NULL;
	}
	return dev;
}

bool command__devices_drop_idle(struct command__devices *t, struct command__device *dev)
{
	if (dev->presence.online || dev->ncmds || dev->npending > 0 || dev->gen_done != dev->gen)
		return false;
	pc_hmap_del(t->map, dev->id, dev->id_len);
	drop_cmds(dev); /* empty, but the array may still be allocated */
	free(dev->ack_topic);
	free(dev);
	return true;
}

size_t command__devices_count(const struct command__devices *t)
{
	return pc_hmap_count(t->map);
}

struct command__device *command__devices_next(struct command__devices *t, size_t *cursor)
{
	void *v;

	return pc_hmap_next(t->map, cursor, NULL, NULL, &v) ? v : NULL;
}

size_t command__devices_slots(const struct command__devices *t)
{
	return pc_hmap_slots(t->map);
}

void command__devices_clear_views(struct command__devices *t)
{
	struct command__device *dev;
	size_t cursor = 0;

	while ((dev = command__devices_next(t, &cursor)) != NULL) {
		drop_cmds(dev);
		dev->npending = 0;
	}
}

static void install(struct command__device *dev, struct command__view *v)
{
	drop_cmds(dev);
	dev->cmds = v->cmds;
	dev->ncmds = v->n;
	dev->npending = v->npending;
	v->cmds = NULL;
	v->n = 0;
}

bool command__device_set_view(struct command__device *dev, struct command__view *v)
{
	if (dev->gen_done != dev->gen)
		return false;
	install(dev, v);
	return true;
}

bool command__device_claimed(struct command__device *dev, uint64_t gen, struct command__view *v)
{
	if (gen > dev->gen_done && gen <= dev->gen)
		dev->gen_done = gen;
	if (!v || gen != dev->gen)
		return false;
	install(dev, v);
	return true;
}

size_t command__device_take(struct command__device *dev, int64_t now, size_t max,
                            struct command__cmd *out, uint64_t *gen)
{
	size_t taken = 0, i = 0;

	for (; i < dev->ncmds && taken < max; i++) {
		if (dev->cmds[i].expire_at <= now) {
			command__cmd_free(&dev->cmds[i]);
			continue;
		}
		out[taken++] = dev->cmds[i];
	}
	memmove(dev->cmds, dev->cmds + i, (dev->ncmds - i) * sizeof *dev->cmds);
	dev->ncmds -= i;
	if (taken) {
		dev->npending = dev->npending > (int64_t)taken ? dev->npending - (int64_t)taken : 0;
		*gen = ++dev->gen;
	}
	return taken;
}

int command__device_untake(struct command__device *dev, struct command__cmd *cmds, size_t n)
{
	struct command__cmd *all;

	if (n == 0)
		return PC_OK;
	dev->gen--;
	dev->npending += (int64_t)n;
	all = malloc((dev->ncmds + n) * sizeof *all);
	if (!all) {
		for (size_t i = 0; i < n; i++)
			command__cmd_free(&cmds[i]);
		return PC_ERR_NOMEM;
	}
	memcpy(all, cmds, n * sizeof *all);
	if (dev->ncmds)
		memcpy(all + n, dev->cmds, dev->ncmds * sizeof *all);
	free(dev->cmds);
	dev->cmds = all;
	dev->ncmds += n;
	return PC_OK;
}

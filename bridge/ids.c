/*
 * ids.c - the id interning table (see ids.h): a seeded hash map for the
 * lookup and a growing array of copies for the reverse direction.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "precis/error.h"
#include "precis/hmap.h"

int br_ids_init(struct br_ids *t)
{
	memset(t, 0, sizeof *t);
	t->map = pc_hmap_new(0);
	return t->map ? PC_OK : PC_ERR_NOMEM;
}

void br_ids_cleanup(struct br_ids *t)
{
	uint32_t k;

	for (k = 0; k < t->n; k++)
		free(t->names[k]);
	free(t->names);
	pc_hmap_free(t->map);
	memset(t, 0, sizeof *t);
}

int br_ids_find(const struct br_ids *t, const char *s, size_t len, uint32_t *out)
{
	void *v = pc_hmap_get(t->map, s, len);

	if (!v)
		return PC_ERR_EMPTY;
	*out = (uint32_t)((uintptr_t)v - 1);
	return PC_OK;
}

int br_ids_intern(struct br_ids *t, const char *s, size_t len, uint32_t *out, int *added)
{
	char *copy;

	if (added)
		*added = 0;
	if (br_ids_find(t, s, len, out) == PC_OK)
		return PC_OK;
	if (t->n == UINT32_MAX - 1)
		return PC_ERR_NOMEM;
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		char **nn = realloc(t->names, (size_t)ncap * sizeof *nn);
		if (!nn)
			return PC_ERR_NOMEM;
		t->names = nn;
		t->cap = ncap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return PC_ERR_NOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (pc_hmap_put(t->map, s, len, (void *)(uintptr_t)(t->n + 1), NULL) != PC_OK) {
		free(copy);
		return PC_ERR_NOMEM;
	}
	t->names[t->n] = copy;
	*out = t->n++;
	if (added)
		*added = 1;
	return PC_OK;
}

const char *br_ids_name(const struct br_ids *t, uint32_t k)
{
	return k < t->n ? t->names[k] : NULL;
}

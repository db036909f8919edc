/*
 * hmap.c - open-addressing hash map with byte-string keys (see hmap.h).
 *
 * Slots hold the full 64-bit hash, the key copy and the value. A slot is
 * empty when its key is NULL. Lookups stop at the first empty slot;
 * deletion shifts the following run back (Knuth's algorithm R), so there
 * are no tombstones and probe chains stay as short as the load allows.
 * The capacity is a power of two and the load stays at or below 3/4.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "precis/error.h"
#include "precis/hmap.h"

#define MIN_SLOTS 16

struct slot {
	uint64_t hash;
	char *key; /* NULL: empty */
	uint32_t len;
	void *value;
};

struct pc_hmap {
	struct slot *slots;
	size_t mask; /* slots - 1 */
	size_t count;
	uint8_t seed[16];
};

/* ---- SipHash ---- */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load64_le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
#else
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
#endif
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

/* The body, inlined twice: with constant rounds for the map, with any for pc_siphash. */
static inline __attribute__((always_inline)) uint64_t siphash(const uint8_t k[16], const void *data,
                                                              size_t len, int c, int d)
{
	const uint8_t *in = data;
	uint64_t k0 = load64_le(k), k1 = load64_le(k + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		m = load64_le(in + i);
		v3 ^= m;
		for (int r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)in[full + j] << (8 * j);
	v3 ^= b;
	for (int r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the map ---- */

uint64_t pc_siphash(const uint8_t k[16], const void *data, size_t len, int c, int d)
{
	return siphash(k, data, len, c, d);
}

static uint64_t hash_of(const struct pc_hmap *m, const char *key, size_t len)
{
	return siphash(m->seed, key, len, 1, 3);
}

static void seed_init(uint8_t seed[16])
{
	if (getrandom(seed, 16, GRND_NONBLOCK) == 16)
		return;
	/* No entropy yet (early boot): still differs per map and per run. */
	uint64_t a = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)seed;
	uint64_t b = (uint64_t)clock() * 0x9e3779b97f4a7c15ULL;

	memcpy(seed, &a, 8);
	memcpy(seed + 8, &b, 8);
}

struct pc_hmap *pc_hmap_new(size_t hint)
{
	struct pc_hmap *m = calloc(1, sizeof *m);
	size_t n = MIN_SLOTS;

	if (!m)
		return NULL;
	while (n < SIZE_MAX / 4 && n / 4 * 3 < hint)
		n <<= 1;
	m->slots = calloc(n, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	m->mask = n - 1;
	seed_init(m->seed);
	return m;
}

void pc_hmap_free(struct pc_hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i <= m->mask; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct pc_hmap *m, uint64_t h, const char *key, size_t len)
{
	size_t i = (size_t)h & m->mask;

	for (;;) {
		const struct slot *s = &m->slots[i];

		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return i;
		i = (i + 1) & m->mask;
	}
}

void *pc_hmap_get(const struct pc_hmap *m, const char *key, size_t len)
{
	size_t i = find(m, hash_of(m, key, len), key, len);

	return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(struct pc_hmap *m)
{
	size_t n = (m->mask + 1) * 2;
	struct slot *old = m->slots, *fresh = calloc(n, sizeof *fresh);
	size_t old_n = m->mask + 1;

	if (!fresh)
		return PC_ERR_NOMEM;
	m->slots = fresh;
	m->mask = n - 1;
	for (size_t i = 0; i < old_n; i++) {
		if (old[i].key) {
			size_t j = (size_t)old[i].hash & m->mask;

			while (m->slots[j].key)
				j = (j + 1) & m->mask;
			m->slots[j] = old[i];
		}
	}
	free(old);
	return PC_OK;
}

int pc_hmap_put(struct pc_hmap *m, const char *key, size_t len, void *value, void **old)
{
	uint64_t h;
	size_t i;
	char *copy;

	if (old)
		*old = NULL;
	if (!value || len > UINT32_MAX)
		return PC_ERR_INVAL;
	h = hash_of(m, key, len);
	i = find(m, h, key, len);
	if (m->slots[i].key) {
		if (old)
			*old = m->slots[i].value;
		m->slots[i].value = value;
		return PC_OK;
	}
	if ((m->count + 1) * 4 > (m->mask + 1) * 3) {
		if (grow(m) != PC_OK)
			return PC_ERR_NOMEM;
		i = find(m, h, key, len);
	}
	copy = malloc(len + 1);
	if (!copy)
		return PC_ERR_NOMEM;
	memcpy(copy, key, len);
	copy[len] = '\0';
	m->slots[i] = (struct slot){h, copy, (uint32_t)len, value};
	m->count++;
	return PC_OK;
}

void *pc_hmap_del(struct pc_hmap *m, const char *key, size_t len)
{
	size_t i = find(m, hash_of(m, key, len), key, len), j;
	void *value;

	if (!m->slots[i].key)
		return NULL;
	value = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->count--;
	/* Shift back every following entry whose home lies at or before the hole. */
	for (j = (i + 1) & m->mask; m->slots[j].key; j = (j + 1) & m->mask) {
		size_t home = (size_t)m->slots[j].hash & m->mask;

		/* Keep j where it is when home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		i = j;
	}
	return value;
}

size_t pc_hmap_count(const struct pc_hmap *m)
{
	return m->count;
}

size_t pc_hmap_slots(const struct pc_hmap *m)
{
	return m->mask + 1;
}

bool pc_hmap_next(const struct pc_hmap *m, size_t *cursor, const char **key, size_t *len,
                  void **value)
{
	for (size_t i = *cursor; i <= m->mask; i++) {
		const struct slot *s = &m->slots[i];

		if (s->key) {
			if (key)
				*key = s->key;
			if (len)
				*len = s->len;
			if (value)
				*value = s->value;
			*cursor = i + 1;
			return true;
		}
	}
	*cursor = m->mask + 1;
	return false;
}

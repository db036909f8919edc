/*
 * test_hmap.c - unit tests for common/hmap.c: SipHash against the
 * reference vectors, put/get/replace/delete, keys with NUL bytes, growth,
 * and a randomised run of puts and deletes checked after every step
 * against a plain array model (which catches any slip in backward-shift
 * deletion), plus iteration and sweeps by cursor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/hmap.h"

/* SipHash-2-4, key 00..0f, message 00..len-1 (the reference vectors). */
static void test_siphash_vectors(void)
{
	static const uint64_t want[] = {
	    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
	    0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
	    0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
	};
	uint8_t k[16], msg[16];
	size_t i;

	for (i = 0; i < 16; i++)
		k[i] = msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof want / sizeof want[0]; i++)
		CU_ASSERT_EQUAL(pc_siphash(k, msg, i, 2, 4), want[i]);
	/* The example of the SipHash paper: a 15-byte message. */
	CU_ASSERT_EQUAL(pc_siphash(k, msg, 15, 2, 4), 0xa129ca6149be45e5ULL);
	/* 1-3 differs from 2-4 and depends on the key. */
	CU_ASSERT_NOT_EQUAL(pc_siphash(k, msg, 15, 1, 3), pc_siphash(k, msg, 15, 2, 4));
	k[0] ^= 1;
	CU_ASSERT_NOT_EQUAL(pc_siphash(k, msg, 15, 2, 4), 0xa129ca6149be45e5ULL);
}

static void test_basic(void)
{
	struct pc_hmap *m = pc_hmap_new(0);
	int a = 1, b = 2, c = 3;
	void *old = &c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(pc_hmap_count(m), 0);
	CU_ASSERT_PTR_NULL(pc_hmap_get(m, "x", 1));
	CU_ASSERT_EQUAL(pc_hmap_put(m, "dev-1", 5, &a, &old), PC_OK);
	CU_ASSERT_PTR_NULL(old);
	CU_ASSERT_EQUAL(pc_hmap_put(m, "dev-2", 5, &b, NULL), PC_OK);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "dev-1", 5), &a);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "dev-2", 5), &b);
	/* Only the given length counts: "dev-1x" with len 5 is "dev-1". */
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "dev-1x", 5), &a);
	CU_ASSERT_PTR_NULL(pc_hmap_get(m, "dev-1", 4));
	/* Replace returns the old value and keeps the count. */
	CU_ASSERT_EQUAL(pc_hmap_put(m, "dev-1", 5, &c, &old), PC_OK);
	CU_ASSERT_PTR_EQUAL(old, &a);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "dev-1", 5), &c);
	CU_ASSERT_EQUAL(pc_hmap_count(m), 2);
	/* NULL values are refused and change nothing. */
	CU_ASSERT_EQUAL(pc_hmap_put(m, "dev-3", 5, NULL, &old), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(pc_hmap_count(m), 2);
	/* Delete. */
	CU_ASSERT_PTR_EQUAL(pc_hmap_del(m, "dev-1", 5), &c);
	CU_ASSERT_PTR_NULL(pc_hmap_del(m, "dev-1", 5));
	CU_ASSERT_PTR_NULL(pc_hmap_get(m, "dev-1", 5));
	CU_ASSERT_EQUAL(pc_hmap_count(m), 1);
	/* The empty key is a key like any other. */
	CU_ASSERT_EQUAL(pc_hmap_put(m, "", 0, &a, NULL), PC_OK);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "", 0), &a);
	CU_ASSERT_EQUAL(pc_hmap_count(m), 2);
	pc_hmap_free(m);
	pc_hmap_free(NULL);
}

static void test_nul_in_keys(void)
{
	struct pc_hmap *m = pc_hmap_new(4);
	int a = 1, b = 2;
	const char *key;
	size_t len, cur = 0;
	int seen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(pc_hmap_put(m, "a\0b", 3, &a, NULL), PC_OK);
	CU_ASSERT_EQUAL(pc_hmap_put(m, "a\0c", 3, &b, NULL), PC_OK);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "a\0b", 3), &a);
	CU_ASSERT_PTR_EQUAL(pc_hmap_get(m, "a\0c", 3), &b);
	CU_ASSERT_PTR_NULL(pc_hmap_get(m, "a", 1));
	while (pc_hmap_next(m, &cur, &key, &len, NULL)) {
		CU_ASSERT_EQUAL(len, 3);
		CU_ASSERT_EQUAL(key[3], '\0'); /* copies are NUL-terminated */
		seen++;
	}
	CU_ASSERT_EQUAL(seen, 2);
	pc_hmap_free(m);
}

/* A small deterministic generator so that failures reproduce. */
static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

#define MODEL_KEYS 512

/* Puts and deletes over a small key space, checked against an array model at every step. */
static void test_random_against_model(void)
{
	struct pc_hmap *m = pc_hmap_new(0);
	static int values[MODEL_KEYS];
	void *model[MODEL_KEYS] = {0};
	size_t model_count = 0;
	uint32_t rnd = 12345;
	int bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (int step = 0; step < 60000 && !bad; step++) {
		uint32_t r = xorshift(&rnd);
		int k = (int)(r % MODEL_KEYS);
		char key[16];
		int len = snprintf(key, sizeof key, "k%d", k);

		if ((r >> 16) % 3 != 0) { /* put, 2/3 of the time until the map fills */
			void *old = NULL;

			if (pc_hmap_put(m, key, (size_t)len, &values[k], &old) != PC_OK)
				bad++;
			if (old != model[k])
				bad++;
			if (!model[k])
				model_count++;
			model[k] = &values[k];
		} else {
			if (pc_hmap_del(m, key, (size_t)len) != model[k])
				bad++;
			if (model[k])
				model_count--;
			model[k] = NULL;
		}
		if (pc_hmap_count(m) != model_count)
			bad++;
		if (step % 97 == 0) { /* a full comparison now and then */
			for (int j = 0; j < MODEL_KEYS; j++) {
				len = snprintf(key, sizeof key, "k%d", j);
				if (pc_hmap_get(m, key, (size_t)len) != model[j])
					bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	pc_hmap_free(m);
}

static void test_growth_and_iteration(void)
{
	enum { N = 100000 };
	struct pc_hmap *m = pc_hmap_new(0);
	static int values[N];
	unsigned char *seen = calloc(N, 1);
	size_t cur = 0, n = 0, slots_before;
	const char *key;
	void *value;
	int bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	for (int i = 0; i < N; i++) {
		char k[16];
		int len = snprintf(k, sizeof k, "device-%d", i);

		if (pc_hmap_put(m, k, (size_t)len, &values[i], NULL) != PC_OK)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(pc_hmap_count(m), N);
	/* Load never above 3/4. */
	CU_ASSERT(pc_hmap_count(m) * 4 <= pc_hmap_slots(m) * 3);
	while (pc_hmap_next(m, &cur, &key, NULL, &value)) {
		int i = (int)((int *)value - values);

		if (i < 0 || i >= N || seen[i]++) {
			bad++;
			continue;
		}
		char k[16];
		snprintf(k, sizeof k, "device-%d", i);
		if (strcmp(k, key) != 0)
			bad++;
		n++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(n, N);
	CU_ASSERT_EQUAL(cur, pc_hmap_slots(m));
	CU_ASSERT_FALSE(pc_hmap_next(m, &cur, NULL, NULL, NULL)); /* stays at the end */

	/* One sweep deletes every even key as it goes (stepping the cursor back). */
	slots_before = pc_hmap_slots(m);
	cur = 0;
	while (pc_hmap_next(m, &cur, &key, NULL, &value)) {
		int i = (int)((int *)value - values);

		if (i % 2 == 0) {
			if (pc_hmap_del(m, key, strlen(key)) != value)
				bad++;
			cur--;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(pc_hmap_slots(m), slots_before); /* deletes never resize */
	CU_ASSERT_EQUAL(pc_hmap_count(m), N / 2);
	for (int i = 0; i < N; i++) {
		char k[16];
		int len = snprintf(k, sizeof k, "device-%d", i);
		void *want = i % 2 ? &values[i] : NULL;

		if (pc_hmap_get(m, k, (size_t)len) != want)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(seen);
	pc_hmap_free(m);
}

/* Two maps hash the same key differently (random seeds): probe order is not predictable. */
static void test_seeded(void)
{
	struct pc_hmap *a = pc_hmap_new(1000), *b = pc_hmap_new(1000);
	int v[64];
	int same = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* Insert the same keys in the same order; compare where iteration finds them. */
	for (int i = 0; i < 64; i++) {
		char k[8];
		int len = snprintf(k, sizeof k, "u%d", i);

		CU_ASSERT_EQUAL(pc_hmap_put(a, k, (size_t)len, &v[i], NULL), PC_OK);
		CU_ASSERT_EQUAL(pc_hmap_put(b, k, (size_t)len, &v[i], NULL), PC_OK);
	}
	{
		size_t ca = 0, cb = 0;
		void *va, *vb;

		while (pc_hmap_next(a, &ca, NULL, NULL, &va) &&
		       pc_hmap_next(b, &cb, NULL, NULL, &vb))
			same += va == vb;
	}
	CU_ASSERT(same < 64); /* identical order for 64 keys would mean an unseeded hash */
	pc_hmap_free(a);
	pc_hmap_free(b);
}

static CU_TestInfo tests[] = {
    {"SipHash-2-4 reference vectors", test_siphash_vectors},
    {"put, get, replace, delete", test_basic},
    {"keys with NUL bytes", test_nul_in_keys},
    {"random puts and deletes against a model", test_random_against_model},
    {"growth to 100k keys, iteration, sweeps", test_growth_and_iteration},
    {"per-map random seed", test_seeded},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("hmap", tests);
}

/*
 * test_due.c - unit tests for plugins/command/due.c: order of pops,
 * replacing and cancelling a device's time, and random operations
 * checked against a plain array model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "due.h"
#include "precis/error.h"

static void test_basic(void)
{
	struct command__due *s = command__due_new();
	char dev[PC_ID_MAX + 1];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(command__due_next(s), INT64_MAX);
	CU_ASSERT_FALSE(command__due_pop(s, INT64_MAX, dev));
	command__due_set(s, "b", 20);
	command__due_set(s, "a", 10);
	command__due_set(s, "c", 30);
	CU_ASSERT_EQUAL(command__due_next(s), 10);
	CU_ASSERT_FALSE(command__due_pop(s, 9, dev));
	command__due_set(s, "c", 5);  /* earlier: moves to the front */
	command__due_set(s, "a", 40); /* later */
	CU_ASSERT_EQUAL(command__due_count(s), 3);
	CU_ASSERT(command__due_pop(s, 100, dev));
	CU_ASSERT_STRING_EQUAL(dev, "c");
	command__due_cancel(s, "b");
	command__due_cancel(s, "nope");
	CU_ASSERT(command__due_pop(s, 100, dev));
	CU_ASSERT_STRING_EQUAL(dev, "a");
	CU_ASSERT_EQUAL(command__due_count(s), 0);
	command__due_free(s);
}

#define N 200

static void test_against_model(void)
{
	struct command__due *s = command__due_new();
	int64_t model[N]; /* -1: not in the set */
	unsigned seed = 12345;
	char dev[PC_ID_MAX + 1];

	for (int i = 0; i < N; i++)
		model[i] = -1;
	for (int step = 0; step < 20000; step++) {
		int i = (int)(rand_r(&seed) % N), op = (int)(rand_r(&seed) % 10);
		char id[16];

		snprintf(id, sizeof id, "dev%d", i);
		if (op < 6) {
			int64_t at = rand_r(&seed) % 100000;

			CU_ASSERT_EQUAL(command__due_set(s, id, at), PC_OK);
			model[i] = at;
		} else if (op < 8) {
			command__due_cancel(s, id);
			model[i] = -1;
		} else {
			int64_t now = rand_r(&seed) % 100000, best = INT64_MAX;

			for (int k = 0; k < N; k++)
				if (model[k] >= 0 && model[k] < best)
					best = model[k];
			CU_ASSERT_EQUAL(command__due_next(s), best);
			if (best <= now) {
				CU_ASSERT_FATAL(command__due_pop(s, now, dev));
				/* Ties: any device with the earliest time. */
				CU_ASSERT_EQUAL(model[atoi(dev + 3)], best);
				model[atoi(dev + 3)] = -1;
			} else {
				CU_ASSERT_FALSE(command__due_pop(s, now, dev));
			}
		}
	}
	{
		size_t n = 0;

		for (int k = 0; k < N; k++)
			n += model[k] >= 0;
		CU_ASSERT_EQUAL(command__due_count(s), n);
	}
	command__due_free(s);
}

static CU_TestInfo tests[] = {
    {"set, replace, cancel, pop", test_basic},
    {"random operations against a model", test_against_model},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("due", tests);
}

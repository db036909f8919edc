/*
 * test_devices.c - unit tests for plugins/command/devices.c: the broker
 * thread's device table. Views replace the prefetched commands; taking
 * commands for a delivery skips expired ones and bumps the generation;
 * while a claim is unanswered views are refused and only the answer of
 * the latest delivery installs its view (the race between prefetch and
 * claim); an untake restores order and generation; idle devices leave
 * the table and busy ones stay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "devices.h"
#include "precis/error.h"

static const struct command__presence_cfg cfg = {60000, 3, 30000};

/* A view of n commands "c<first+i>@d", expiring at expire. */
static struct command__view view(int first, int n, int64_t expire, int64_t npending)
{
	struct command__view v = {-1, npending, 0, (size_t)n,
	                          calloc((size_t)n + 1, sizeof *v.cmds)};

	for (int i = 0; i < n; i++) {
		char cid[32];

		snprintf(cid, sizeof cid, "c%d@d", first + i);
		v.cmds[i].cid = strdup(cid);
		v.cmds[i].op = strdup("op");
		v.cmds[i].args = strdup("{}");
		v.cmds[i].expire_at = expire;
	}
	return v;
}

static void free_taken(struct command__cmd *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		command__cmd_free(&c[i]);
}

static void test_take_in_order_and_skip_expired(void)
{
	struct command__devices t;
	struct command__device *dev;
	struct command__view v = view(1, 4, 1000, 6);
	struct command__cmd out[8];
	uint64_t gen = 0;

	CU_ASSERT_EQUAL_FATAL(command__devices_init(&t, &cfg), PC_OK);
	dev = command__devices_add(&t, "d", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	CU_ASSERT_PTR_EQUAL(command__devices_add(&t, "d", 1), dev);
	CU_ASSERT_PTR_EQUAL(command__devices_find(&t, "d", 1), dev);
	CU_ASSERT(command__device_set_view(dev, &v));
	CU_ASSERT_EQUAL(v.n, 0); /* moved into the device */
	command__view_free(&v);
	dev->cmds[1].expire_at = 10; /* c2 expires before the delivery */
	CU_ASSERT_EQUAL(command__device_take(dev, 500, 2, out, &gen), 2);
	CU_ASSERT_STRING_EQUAL(out[0].cid, "c1@d");
	CU_ASSERT_STRING_EQUAL(out[1].cid, "c3@d");
	CU_ASSERT_EQUAL(gen, 1);
	CU_ASSERT_EQUAL(dev->gen, 1);
	CU_ASSERT_EQUAL(dev->ncmds, 1);
	CU_ASSERT_STRING_EQUAL(dev->cmds[0].cid, "c4@d");
	CU_ASSERT_EQUAL(dev->npending, 4);
	free_taken(out, 2);
	/* Nothing ready: no delivery, no new generation. */
	CU_ASSERT_EQUAL(command__device_take(dev, 2000, 5, out, &gen), 0);
	CU_ASSERT_EQUAL(dev->gen, 1);
	CU_ASSERT_EQUAL(dev->ncmds, 0);
	command__devices_cleanup(&t);
}

static void test_claim_race(void)
{
	struct command__devices t;
	struct command__device *dev;
	struct command__view v = view(1, 2, 9999, 2), stale = view(1, 2, 9999, 2);
	struct command__view after1 = view(2, 1, 9999, 1), after2 = view(3, 0, 9999, 0);
	struct command__cmd out[4];
	uint64_t g1, g2;

	command__devices_init(&t, &cfg);
	dev = command__devices_add(&t, "d", 1);
	command__device_set_view(dev, &v);
	CU_ASSERT_EQUAL(command__device_take(dev, 0, 1, out, &g1), 1); /* c1 delivered */
	free_taken(out, 1);
	/* A view computed before the claim landed still lists c1: refused. */
	CU_ASSERT_FALSE(command__device_set_view(dev, &stale));
	CU_ASSERT_EQUAL(stale.n, 2);
	command__view_free(&stale);
	CU_ASSERT_EQUAL(command__device_take(dev, 0, 1, out, &g2), 1); /* c2 delivered */
	free_taken(out, 1);
	CU_ASSERT_EQUAL(g2, g1 + 1);
	/* The answer to the first claim still lists c2 (pending then): not installed. */
	CU_ASSERT_FALSE(command__device_claimed(dev, g1, &after1));
	CU_ASSERT_EQUAL(dev->gen_done, g1);
	CU_ASSERT_EQUAL(dev->ncmds, 0);
	command__view_free(&after1);
	/* The answer to the latest claim is installed, and views are taken again. */
	CU_ASSERT(command__device_claimed(dev, g2, &after2));
	CU_ASSERT_EQUAL(dev->gen_done, dev->gen);
	v = view(7, 1, 9999, 1);
	CU_ASSERT(command__device_set_view(dev, &v));
	CU_ASSERT_STRING_EQUAL(dev->cmds[0].cid, "c7@d");
	command__view_free(&v);
	/* A failed claim (no view) still counts as answered. */
	CU_ASSERT_EQUAL(command__device_take(dev, 0, 1, out, &g1), 1);
	free_taken(out, 1);
	CU_ASSERT_FALSE(command__device_claimed(dev, g1, NULL));
	CU_ASSERT_EQUAL(dev->gen_done, dev->gen);
	/* Answers for generations never issued change nothing. */
	CU_ASSERT_FALSE(command__device_claimed(dev, dev->gen + 5, NULL));
	CU_ASSERT_EQUAL(dev->gen_done, dev->gen);
	command__devices_cleanup(&t);
}

static void test_untake(void)
{
	struct command__devices t;
	struct command__device *dev;
	struct command__view v = view(1, 3, 9999, 3);
	struct command__cmd out[4];
	uint64_t gen;

	command__devices_init(&t, &cfg);
	dev = command__devices_add(&t, "d", 1);
	command__device_set_view(dev, &v);
	CU_ASSERT_EQUAL(command__device_take(dev, 0, 2, out, &gen), 2);
	CU_ASSERT_EQUAL(command__device_untake(dev, out, 2), PC_OK);
	CU_ASSERT_EQUAL(dev->gen, 0);
	CU_ASSERT_EQUAL(dev->npending, 3);
	CU_ASSERT_EQUAL_FATAL(dev->ncmds, 3);
	CU_ASSERT_STRING_EQUAL(dev->cmds[0].cid, "c1@d");
	CU_ASSERT_STRING_EQUAL(dev->cmds[2].cid, "c3@d");
	CU_ASSERT_EQUAL(command__device_untake(dev, out, 0), PC_OK);
	command__devices_cleanup(&t);
}

static void test_idle_devices_leave(void)
{
	struct command__devices t;
	struct command__device *dev;
	struct command__view v = view(1, 1, 9999, 1);
	struct command__cmd out[2];
	size_t cursor = 0, seen = 0;
	uint64_t gen;
	bool flush;

	command__devices_init(&t, &cfg);
	dev = command__devices_add(&t, "a", 1);
	command__presence_beat(&dev->presence, &cfg, 0, 0, NULL, &t, &flush);
	CU_ASSERT_FALSE(command__devices_drop_idle(&t, dev)); /* online */
	dev->presence.online = false;
	CU_ASSERT(command__devices_drop_idle(&t, dev));
	CU_ASSERT_PTR_NULL(command__devices_find(&t, "a", 1));

	dev = command__devices_add(&t, "b", 1);
	command__device_set_view(dev, &v);
	CU_ASSERT_FALSE(command__devices_drop_idle(&t, dev)); /* holds a command */
	command__device_take(dev, 0, 1, out, &gen);
	free_taken(out, 1);
	CU_ASSERT_FALSE(command__devices_drop_idle(&t, dev)); /* its claim is unanswered */
	command__device_claimed(dev, gen, NULL);
	CU_ASSERT(command__devices_drop_idle(&t, dev));

	for (int i = 0; i < 100; i++) {
		char id[8];

		snprintf(id, sizeof id, "d%d", i);
		command__devices_add(&t, id, strlen(id));
	}
	CU_ASSERT_EQUAL(command__devices_count(&t), 100);
	while ((dev = command__devices_next(&t, &cursor)) != NULL) {
		seen++;
		if (command__devices_drop_idle(&t, dev))
			cursor--;
	}
	CU_ASSERT(seen >= 100);
	CU_ASSERT_EQUAL(command__devices_count(&t), 0);
	command__devices_cleanup(&t);
}

static void test_clear_views(void)
{
	struct command__devices t;
	struct command__device *dev;
	struct command__view v = view(1, 2, 9999, 5);

	command__devices_init(&t, &cfg);
	dev = command__devices_add(&t, "x", 1);
	command__device_set_view(dev, &v);
	command__devices_clear_views(&t);
	CU_ASSERT_EQUAL(dev->ncmds, 0);
	CU_ASSERT_EQUAL(dev->npending, 0);
	command__devices_cleanup(&t);
}

static CU_TestInfo tests[] = {
    {"take in order, skip expired", test_take_in_order_and_skip_expired},
    {"views and claims race", test_claim_race},
    {"untake restores order and generation", test_untake},
    {"idle devices leave the table", test_idle_devices_leave},
    {"clear views", test_clear_views},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("devices", tests);
}

/*
 * test_lockout.c - unit tests for plugins/auth/lockout.c, on a virtual
 * clock: the threshold within the window, the window restarting, the
 * lockout time, separate keys for username, client id and address, a
 * good login clearing username and client id but not the address, the
 * thresholds turned off, the bounded table, and the sweep.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cu_run.h"

static struct auth__lockout *new_lockout(int64_t attempts, int64_t address_attempts,
                                         size_t max_keys)
{
	struct auth__lockout_config cfg = {attempts, address_attempts, 60000, 300000, max_keys};

	return auth__lockout_new(&cfg);
}

static void test_threshold_and_time(void)
{
	struct auth__lockout *l = new_lockout(3, 0, 100);
	int64_t t = 1000000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "u1", "10.0.0.1", t), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "u1", "10.0.0.1", t + 10), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "u1", "10.0.0.1", t + 20), 0);
	/* The third failure locks the username (client id == username: one key). */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "u1", "10.0.0.1", t + 20), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "u1", "10.0.0.1", t + 21), AUTH_LOCK_USER);
	/* Other names are not affected. */
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u2", "u2", "10.0.0.1", t + 21), 0);
	/* Failures while locked neither extend nor re-lock. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "u1", "10.0.0.1", t + 1000), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", NULL, NULL, t + 20 + 299999), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", NULL, NULL, t + 20 + 300000), 0);
	auth__lockout_free(l);
}

static void test_window_restarts(void)
{
	struct auth__lockout *l = new_lockout(3, 0, 100);
	int64_t t = 5000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	auth__lockout_fail(l, "u", NULL, NULL, t);
	auth__lockout_fail(l, "u", NULL, NULL, t + 59000);
	/* 60 s after the first failure the count starts again. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", NULL, NULL, t + 60000), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", NULL, NULL, t + 60001), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", NULL, NULL, t + 60002), AUTH_LOCK_USER);
	auth__lockout_free(l);
}

static void test_separate_keys(void)
{
	struct auth__lockout *l = new_lockout(2, 4, 100);
	int64_t t = 0;
	unsigned m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* A client id different from the username is its own key. */
	auth__lockout_fail(l, "app", "app-7", "10.0.0.9", t);
	m = auth__lockout_fail(l, "app", "app-7", "10.0.0.9", t + 1);
	CU_ASSERT_EQUAL(m, AUTH_LOCK_USER | AUTH_LOCK_CLIENT);
	/* The address has a higher threshold: two more names from it lock it. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "x", "x", "10.0.0.9", t + 2), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "y", "y", "10.0.0.9", t + 3), AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "z", "z", "10.0.0.9", t + 4), AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "z", "z", "10.0.0.10", t + 4), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "other", "app-7", NULL, t + 4), AUTH_LOCK_CLIENT);
	auth__lockout_free(l);
}

static void test_success_clears_user_not_address(void)
{
	struct auth__lockout *l = new_lockout(3, 3, 100);
	int64_t t = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	auth__lockout_fail(l, "u", "u", "a1", t);
	auth__lockout_fail(l, "u", "u", "a1", t + 1);
	auth__lockout_success(l, "u", "u");
	/* The username starts from zero; the address keeps its two failures. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "u", "a1", t + 2), AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u", "u", NULL, t + 3), 0);
	auth__lockout_free(l);
}

static void test_off(void)
{
	struct auth__lockout *l = new_lockout(0, 0, 100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "c", "a", i), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u", "c", "a", 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 0);
	auth__lockout_free(l);
}

static void test_bounded_and_swept(void)
{
	struct auth__lockout *l = new_lockout(2, 0, 10);
	char name[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "n%d", i);
		auth__lockout_fail(l, name, NULL, NULL, 1000);
	}
	CU_ASSERT_EQUAL(auth__lockout_count(l), 10); /* the rest went untracked */
	/* Once their window ends, trackers go: by the sweep, or to make room. */
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 59999, 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 60000, 4), 4);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 6);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 60000, 100), 6);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 0);
	/* A locked key stays until its lockout ends, even past its window. */
	auth__lockout_fail(l, "lk", NULL, NULL, 0);
	auth__lockout_fail(l, "lk", NULL, NULL, 1);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 200000, 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "lk", NULL, NULL, 200000), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 300001, 100), 1);
	/* A full table makes room from expired trackers for a new key. */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "m%d", i);
		auth__lockout_fail(l, name, NULL, NULL, 400000);
	}
	CU_ASSERT_EQUAL(auth__lockout_count(l), 10);
	auth__lockout_fail(l, "late", NULL, NULL, 400000 + 60000);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "late", NULL, NULL, 400000 + 60001), AUTH_LOCK_USER);
	auth__lockout_free(l);
	auth__lockout_free(NULL);
}

static CU_TestInfo tests[] = {
    {"threshold within the window, then the lockout time", test_threshold_and_time},
    {"the window restarts", test_window_restarts},
    {"username, client id and address are separate keys", test_separate_keys},
    {"a good login clears username and client id, not the address",
     test_success_clears_user_not_address},
    {"thresholds of 0 turn it off", test_off},
    {"bounded table and sweep", test_bounded_and_swept},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("lockout", tests);
}

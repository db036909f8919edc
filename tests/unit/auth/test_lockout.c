/*
 * test_lockout.c - unit tests for plugins/auth/lockout.c, on a virtual
 * clock: the pair threshold within the window, the window restarting, the
 * lockout time; the pair, username and address keys kept apart (a guesser
 * does not lock the same username elsewhere or another username behind
 * its address); made-up names counting toward the address only; a good
 * login clearing its pair only; thresholds turned off; the bounded table
 * and the sweep.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cu_run.h"

static struct auth__lockout *new_lockout(int64_t attempts, int64_t user_attempts,
                                         int64_t address_attempts, size_t max_keys)
{
	struct auth__lockout_config cfg = {attempts, user_attempts, address_attempts,
	                                   60000,    300000,        max_keys};

	return auth__lockout_new(&cfg);
}

static void test_threshold_and_time(void)
{
	struct auth__lockout *l = new_lockout(3, 0, 0, 100);
	int64_t t = 1000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "10.0.0.1", true, t), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "10.0.0.1", true, t + 10), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "10.0.0.1", t + 20), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "10.0.0.1", true, t + 20), AUTH_LOCK_PAIR);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "10.0.0.1", t + 21), AUTH_LOCK_PAIR);
	/* The same username from another address, another username from this one: free. */
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "10.0.0.2", t + 21), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u2", "10.0.0.1", t + 21), 0);
	/* Failures while locked do not extend the lockout. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u1", "10.0.0.1", true, t + 1000), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "10.0.0.1", t + 20 + 299999), AUTH_LOCK_PAIR);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u1", "10.0.0.1", t + 20 + 300000), 0);
	auth__lockout_free(l);
}

static void test_window_restarts(void)
{
	struct auth__lockout *l = new_lockout(3, 0, 0, 100);
	int64_t t = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	auth__lockout_fail(l, "u", "a", true, t);
	auth__lockout_fail(l, "u", "a", true, t + 59000);
	/* The window of the first failure has ended: this one starts a new window. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "a", true, t + 60000), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "a", true, t + 60001), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "a", true, t + 60002), AUTH_LOCK_PAIR);
	auth__lockout_free(l);
}

static void test_username_and_address_keys(void)
{
	struct auth__lockout *l = new_lockout(100, 4, 6, 1000);
	char addr[32], name[16];
	int64_t t = 0;
	unsigned m = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* One username guessed from four addresses: locked everywhere (the caller
	 * spares the addresses it logged in from before). */
	for (int i = 0; i < 4; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i);
		m = auth__lockout_fail(l, "d7", addr, true, t + i);
	}
	CU_ASSERT_EQUAL(m, AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "d7", "198.51.100.1", t + 5), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "d8", "198.51.100.1", t + 5), 0);
	/* Made-up names from one address count toward that address only. */
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "nobody-%d", i);
		CU_ASSERT_EQUAL(auth__lockout_fail(l, name, "203.0.113.9", false, t + 10 + i), 0);
	}
	CU_ASSERT_EQUAL(auth__lockout_check(l, "nobody-0", "203.0.113.9", t + 20), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "nobody-5", "203.0.113.9", false, t + 20),
	                AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "admin", "203.0.113.9", t + 21), AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "admin", "203.0.113.10", t + 21), 0);
	/* No username tracker was made for the made-up names. */
	CU_ASSERT_EQUAL(auth__lockout_check(l, "nobody-5", "203.0.113.10", t + 21), 0);
	auth__lockout_free(l);
}

static void test_success_clears_pair_only(void)
{
	struct auth__lockout *l = new_lockout(3, 3, 3, 100);
	int64_t t = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	auth__lockout_fail(l, "u", "a1", true, t);
	auth__lockout_fail(l, "u", "a1", true, t + 1);
	auth__lockout_success(l, "u", "a1");
	/* The pair starts from zero; the username and the address keep their two. */
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "a1", true, t + 2),
	                AUTH_LOCK_USER | AUTH_LOCK_ADDRESS);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u", "a1", t + 3),
	                AUTH_LOCK_USER | AUTH_LOCK_ADDRESS);
	auth__lockout_success(l, "u", NULL);
	auth__lockout_free(l);
}

static void test_off(void)
{
	struct auth__lockout *l = new_lockout(0, 0, 0, 100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", "a", true, i), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u", "a", 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 0);
	auth__lockout_free(l);
	/* No address at all: only the username is tracked. */
	l = new_lockout(2, 2, 2, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", NULL, true, 200), 0);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "u", NULL, true, 201), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "u", NULL, 202), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 1);
	auth__lockout_free(l);
}

static void test_bounded_and_swept(void)
{
	struct auth__lockout *l = new_lockout(0, 2, 0, 10);
	char name[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "n%d", i);
		auth__lockout_fail(l, name, NULL, true, 1000);
	}
	CU_ASSERT_EQUAL(auth__lockout_count(l), 10); /* the rest went untracked */
	/* Once their window ends, trackers go: by the sweep, or to make room. */
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 59999, 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 60000, 4), 4);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 6);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 1000 + 60000, 100), 6);
	CU_ASSERT_EQUAL(auth__lockout_count(l), 0);
	/* A locked key stays until its lockout ends, even past its window. */
	auth__lockout_fail(l, "lk", NULL, true, 0);
	auth__lockout_fail(l, "lk", NULL, true, 1);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 200000, 100), 0);
	CU_ASSERT_EQUAL(auth__lockout_check(l, "lk", NULL, 200000), AUTH_LOCK_USER);
	CU_ASSERT_EQUAL(auth__lockout_sweep(l, 300001, 100), 1);
	/* A full table makes room from expired trackers for a new key. */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "m%d", i);
		auth__lockout_fail(l, name, NULL, true, 400000);
	}
	CU_ASSERT_EQUAL(auth__lockout_count(l), 10);
	auth__lockout_fail(l, "late", NULL, true, 400000 + 60000);
	CU_ASSERT_EQUAL(auth__lockout_fail(l, "late", NULL, true, 400000 + 60001), AUTH_LOCK_USER);
	auth__lockout_free(l);
	auth__lockout_free(NULL);
}

static CU_TestInfo tests[] = {
    {"a username from one address: threshold, window, lockout time", test_threshold_and_time},
    {"the window restarts", test_window_restarts},
    {"username and address keys; made-up names count toward the address only",
     test_username_and_address_keys},
    {"a good login clears its pair only", test_success_clears_pair_only},
    {"thresholds of 0 turn it off", test_off},
    {"bounded table and sweep", test_bounded_and_swept},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("lockout", tests);
}

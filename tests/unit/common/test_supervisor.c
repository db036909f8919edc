/*
 * test_supervisor.c - unit tests for common/supervisor.c, driven by a
 * scripted in-process backend instead of a real service.
 *
 * The fake backend's connect/check/disconnect/describe consult a script
 * the test controls from its own thread (atomics, plus a tu_gate that can
 * hold a connect until the test releases it), count every call, and flag
 * protocol violations (a check on a closed connection, a connect on an
 * open one). The capturing log sink of test_util records every line the
 * supervisor logs. Covered: connecting at once, the thread name, retries
 * with backoff and their log lines and delays, a failing check taking the
 * backend down and back up, the check interval, prompt stop during long
 * waits, start's validation of its configuration, and the work function:
 * fresh after each connect, its own delay, prompt wake-ups, a failed work
 * call taking the backend down, calls while down. Waits poll with a
 * deadline (tu_wait_*); there are no fixed sleeps that a slow machine
 * could outrun.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/log.h"
#include "precis/supervisor.h"
#include "test_util.h"

/* ---- the scripted backend ---- */

struct script {
	/* What the test asks for. */
	atomic_int fail_connects;  /* fail the next N connects */
	atomic_int fail_checks;    /* fail the next N checks */
	const char *connect_error; /* detail of a failed connect; NULL: none */
	const char *check_error;   /* detail of a failed check; NULL: none */
	struct tu_gate gate;       /* holds connect while closed */

	/* What the supervisor did. */
	atomic_int connects, connect_ok, checks, disconnects, describes;
	atomic_bool open;       /* between a successful connect and a disconnect */
	atomic_int bad_checks;  /* check called while not open */
	atomic_int bad_connect; /* connect called while open */

	/* The work function: what the test asks for ... */
	atomic_int work_next_ms; /* the delay it asks for */
	atomic_int fail_works;   /* fail the next N calls made while up */
	/* ... and what it saw. */
	atomic_int works, works_up, works_down, works_fresh;
	atomic_int bad_work;        /* up disagreed with the connection's open state */
	atomic_int fresh_not_first; /* fresh on a call that was not the first after a connect */
	atomic_int connect_ok_seen; /* connect_ok at the last fresh call */
};

/* Use up one of *left: true when it was positive (it is one less now). */
static bool take_one(atomic_int *left)
{
	int n = atomic_load(left);

	while (n > 0 && !atomic_compare_exchange_weak(left, &n, n - 1))
		;
	return n > 0;
}

static int fake_connect(void *conn, char *err, size_t errlen)
{
	struct script *s = conn;

	atomic_fetch_add(&s->connects, 1);
	if (atomic_load(&s->open))
		atomic_fetch_add(&s->bad_connect, 1);
	tu_gate_pass(&s->gate);
	if (take_one(&s->fail_connects)) {
		if (s->connect_error)
			pc_errf(err, errlen, PC_ERR_IO, "%s %d", s->connect_error,
			        atomic_load(&s->connects));
		return PC_ERR_IO;
	}
	atomic_store(&s->open, true);
	atomic_fetch_add(&s->connect_ok, 1);
	return PC_OK;
}

static int fake_check(void *conn, char *err, size_t errlen)
{
	struct script *s = conn;

	atomic_fetch_add(&s->checks, 1);
	if (!atomic_load(&s->open))
		atomic_fetch_add(&s->bad_checks, 1);
	if (take_one(&s->fail_checks)) {
		if (s->check_error)
			pc_errf(err, errlen, PC_ERR_IO, "%s", s->check_error);
		return PC_ERR_IO;
	}
	return PC_OK;
}

static void fake_disconnect(void *conn)
{
	struct script *s = conn;

	atomic_fetch_add(&s->disconnects, 1);
	atomic_store(&s->open, false);
}

static const char *fake_describe(void *conn)
{
	struct script *s = conn;

	atomic_fetch_add(&s->describes, 1);
	return "fake:1";
}

static int fake_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                     size_t errlen)
{
	struct script *s = arg;

	atomic_fetch_add(&s->works, 1);
	if (conn != arg || up != atomic_load(&s->open))
		atomic_fetch_add(&s->bad_work, 1);
	atomic_fetch_add(up ? &s->works_up : &s->works_down, 1);
	if (fresh) {
		int ok = atomic_load(&s->connect_ok);

		/* At most one fresh call per successful connect. */
		if (atomic_exchange(&s->connect_ok_seen, ok) == ok)
			atomic_fetch_add(&s->fresh_not_first, 1);
		atomic_fetch_add(&s->works_fresh, 1);
	}
	if (*next_ms <= 0)
		atomic_fetch_add(&s->bad_work, 1); /* the default is the check interval */
	*next_ms = atomic_load(&s->work_next_ms);
	if (up && take_one(&s->fail_works))
		return pc_errf(err, errlen, PC_ERR_IO, "scripted work failure");
	return PC_OK;
}

static const struct pc_backend_ops fake_ops = {
    .kind = "fake",
    .connect = fake_connect,
    .check = fake_check,
    .disconnect = fake_disconnect,
    .describe = fake_describe,
};

static struct script *script_new(void)
{
	struct script *s = calloc(1, sizeof *s);

	if (s)
		tu_gate_init(&s->gate);
	return s;
}

static void script_free(struct script *s)
{
	if (!s)
		return;
	tu_gate_cleanup(&s->gate);
	free(s);
}

/* One test's fixture: script, capture, logger, supervisor. */
struct rig {
	struct script *script;
	struct tu_capture *cap;
	struct pc_logger log;
	struct pc_supervisor *sup;
	char err[256];
};

static bool rig_start(struct rig *r, int64_t check_ms, int64_t min_ms, int64_t max_ms,
                      const char *thread_name)
{
	struct pc_supervisor_config cfg = {check_ms, min_ms, max_ms, thread_name, NULL, NULL};

	r->sup = pc_supervisor_start(&fake_ops, r->script, &cfg, &r->log, r->err, sizeof r->err);
	if (!r->sup)
		fprintf(stderr, "\n  pc_supervisor_start: %s\n", r->err);
	return r->sup != NULL;
}

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof *r);
	r->script = script_new();
	r->cap = tu_capture_new();
	r->log = (struct pc_logger){tu_capture_sink, r->cap, PC_LOG_DEBUG, NULL};
	return r->script && r->cap;
}

/* Stop (gate opened first so a held connect cannot block the join) and free. */
static void rig_cleanup(struct rig *r)
{
	if (r->script)
		tu_gate_set(&r->script->gate, false);
	pc_supervisor_stop(r->sup);
	r->sup = NULL;
	script_free(r->script);
	tu_capture_free(r->cap);
}

/* rig_start with the fake work function asking for work_ms between calls. */
static bool rig_start_work(struct rig *r, int64_t check_ms, int64_t min_ms, int64_t max_ms,
                           int work_ms)
{
	struct pc_supervisor_config cfg = {check_ms,       min_ms,    max_ms,
	                                   "pc-test-work", fake_work, r->script};

	atomic_store(&r->script->work_next_ms, work_ms);
	r->sup = pc_supervisor_start(&fake_ops, r->script, &cfg, &r->log, r->err, sizeof r->err);
	if (!r->sup)
		fprintf(stderr, "\n  pc_supervisor_start: %s\n", r->err);
	return r->sup != NULL;
}

/* For tu_wait_until: the supervisor sup is up. */
static bool is_up(const void *sup)
{
	return pc_supervisor_state(sup) == PC_BACKEND_UP;
}

/* ---- tests ---- */

static void test_connects_at_once(void)
{
	struct rig r;
	struct pc_supervisor_stats st;
	int64_t t0;

	CU_ASSERT_FATAL(rig_init(&r));
	t0 = tu_now_ms();
	CU_ASSERT_FATAL(rig_start(&r, 1000, 5, 20, "pc-test-sup"));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	CU_ASSERT(tu_now_ms() - t0 < 1000); /* at once, not after a check interval */
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.connects, 1);
	CU_ASSERT_EQUAL(st.failures, 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->connects), 1);
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 0);
	CU_ASSERT(atomic_load(&r.script->open));
	CU_ASSERT(tu_capture_wait(r.cap, "connected to fake at fake:1"));
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "after"), 0);
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "cannot connect"), 0);

	/* The worker thread carries the configured name (set just after create). */
	CU_ASSERT(tu_wait_thread_named("pc-test-sup"));

	pc_supervisor_stop(r.sup);
	r.sup = NULL;
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	CU_ASSERT_FALSE(atomic_load(&r.script->open));
	CU_ASSERT(tu_wait_thread_gone("pc-test-sup")); /* joined */
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_checks), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_connect), 0);
	rig_cleanup(&r);
}

/* The logged delay of attempt k must lie in [ceil(base/2), base], base = min(5 * 2^(k-1), 20). */
struct attempt_case {
	enum pc_log_level level;
	long long lo, hi;
};

static void test_connect_retry_backoff(void)
{
	static const struct attempt_case attempts[] = {
	    {PC_LOG_ERR, 3, 5},
	    {PC_LOG_WARNING, 5, 10},
	    {PC_LOG_WARNING, 10, 20},
	    {PC_LOG_WARNING, 10, 20}, /* capped at backoff_max */
	};
	const int nfail = (int)(sizeof attempts / sizeof attempts[0]);
	struct rig r;
	struct pc_supervisor_stats st;
	long long sum_delay = 0;
	int64_t t0, elapsed;
	int i, at = 0;
	unsigned fails0 = CU_get_number_of_failures();

	CU_ASSERT_FATAL(rig_init(&r));
	r.script->connect_error = "scripted refusal";
	atomic_store(&r.script->fail_connects, nfail);
	t0 = tu_now_ms();
	CU_ASSERT_FATAL(rig_start(&r, 60000, 5, 20, NULL));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	elapsed = tu_now_ms() - t0;
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.failures, (uint64_t)nfail);
	CU_ASSERT_EQUAL(st.connects, 1);
	CU_ASSERT_EQUAL(st.checks, 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->connects), nfail + 1);
	CU_ASSERT_EQUAL(atomic_load(&r.script->connect_ok), 1);
	/* Every failed connect is followed by a disconnect, before the retry. */
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), nfail);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_connect), 0);

	CU_ASSERT(tu_capture_wait(r.cap, "after 4 failed attempts"));
	for (i = 0; i < nfail; i++) {
		char want[128], line[PC_LOG_LINE_MAX + 1];
		enum pc_log_level level;
		long long delay = -1;
		unsigned attempt = 0;
		const char *p;

		snprintf(want, sizeof want,
		         "cannot connect to fake at fake:1: scripted refusal %d;", i + 1);
		at = tu_capture_find(r.cap, at, want);
		CU_ASSERT_FATAL(at >= 0);
		CU_ASSERT_FATAL(tu_capture_get(r.cap, at, &level, line, sizeof line) >= 0);
		CU_ASSERT_EQUAL(level, attempts[i].level);
		p = strstr(line, "retrying in ");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(sscanf(p, "retrying in %lld ms (attempt %u)", &delay, &attempt), 2);
		CU_ASSERT_EQUAL(attempt, (unsigned)(i + 1));
		CU_ASSERT(delay >= attempts[i].lo && delay <= attempts[i].hi);
		if (delay < attempts[i].lo || delay > attempts[i].hi)
			fprintf(stderr, "\n  attempt %d: delay %lld\n", i + 1, delay);
		sum_delay += delay;
		at++;
	}
	/* ... then the success line, after the failures and naming their number. */
	CU_ASSERT(tu_capture_find(r.cap, at,
	                          "connected to fake at fake:1 after 4 failed attempts") >= at);
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "cannot connect"), nfail);
	/* The supervisor really waited: reaching UP took at least the logged delays. */
	CU_ASSERT(elapsed + 1 >= sum_delay);
	if (elapsed + 1 < sum_delay)
		fprintf(stderr, "\n  up after %lld ms, delays sum to %lld ms\n", (long long)elapsed,
		        sum_delay);
	if (CU_get_number_of_failures() > fails0) /* show the log of this test */
		tu_capture_dump(r.cap);
	rig_cleanup(&r);
}

static void test_backoff_resets_after_success(void)
{
	struct rig r;
	struct pc_supervisor_stats st;
	int first_lost;

	CU_ASSERT_FATAL(rig_init(&r));
	r.script->connect_error = "refused";
	r.script->check_error = "ping timed out";
	atomic_store(&r.script->fail_connects, 2);
	CU_ASSERT_FATAL(rig_start(&r, 5, 5, 20, NULL));
	CU_ASSERT(tu_capture_wait(r.cap, "after 2 failed attempts"));
	/* Next: the check fails, then the reconnect fails twice more. */
	atomic_store(&r.script->fail_connects, 2);
	atomic_store(&r.script->fail_checks, 1);
	CU_ASSERT(tu_wait_count(&r.script->connect_ok, 2));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.connects, 2);
	CU_ASSERT_EQUAL(st.failures, 5); /* 2 + 1 check + 2 */
	first_lost = tu_capture_find(r.cap, 0, "lost connection to fake at fake:1: ping timed out");
	CU_ASSERT(first_lost >= 0);
	/* After the reset the count restarts at 1: the ERR line appears twice in all. */
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "(attempt 1)"), 2);
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "(attempt 2)"), 2);
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "(attempt 3)"), 0);
	/* A success resets the backoff: after the loss, attempt 1 is an ERR again. */
	{
		int again = tu_capture_find(r.cap, first_lost, "(attempt 1)");
		enum pc_log_level level = PC_LOG_DEBUG;
		char line[PC_LOG_LINE_MAX + 1];

		CU_ASSERT(again > first_lost);
		CU_ASSERT(tu_capture_get(r.cap, again, &level, line, sizeof line) >= 0);
		CU_ASSERT_EQUAL(level, PC_LOG_ERR);
	}
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "after 2 failed attempts"), 2);
	rig_cleanup(&r);
}

static void test_check_failure_reconnects(void)
{
	struct rig r;
	struct pc_supervisor_stats st;
	enum pc_log_level level = PC_LOG_DEBUG;
	char line[PC_LOG_LINE_MAX + 1] = "";
	int lost;

	CU_ASSERT_FATAL(rig_init(&r));
	r.script->check_error = NULL; /* no detail: the log says "unknown error" */
	CU_ASSERT_FATAL(rig_start(&r, 5, 5, 20, NULL));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	CU_ASSERT(tu_wait_count(&r.script->checks, 2));

	/* Hold the reconnect at the gate so the DOWN state can be observed. */
	tu_gate_set(&r.script->gate, true);
	atomic_store(&r.script->fail_checks, 1);
	CU_ASSERT(tu_wait_count(&r.script->connects, 2));
	CU_ASSERT_EQUAL(pc_supervisor_state(r.sup), PC_BACKEND_DOWN);
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	CU_ASSERT_FALSE(atomic_load(&r.script->open));
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.connects, 1);
	lost = tu_capture_find(r.cap, 0,
	                       "lost connection to fake at fake:1: unknown error; reconnecting");
	CU_ASSERT(lost >= 0);
	CU_ASSERT(tu_capture_get(r.cap, lost, &level, line, sizeof line) >= 0);
	CU_ASSERT_EQUAL(level, PC_LOG_ERR);

	/* Release it: it comes back up and resumes checking. */
	tu_gate_set(&r.script->gate, false);
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.connects, 2);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT(tu_wait_count(&r.script->checks, atomic_load(&r.script->checks) + 2));
	CU_ASSERT_EQUAL(tu_capture_count(r.cap, "connected to fake at fake:1"), 2);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_checks), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_connect), 0);
	rig_cleanup(&r);
}

static void test_check_interval(void)
{
	static const int64_t intervals[] = {10, 50};
	const int64_t window = 500;
	size_t i;

	for (i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
		struct rig r;
		struct pc_supervisor_stats st0, st1;
		int64_t t0, t1, max_checks, min_checks;
		uint64_t n;

		CU_ASSERT_FATAL(rig_init(&r));
		CU_ASSERT_FATAL(rig_start(&r, intervals[i], 5, 20, NULL));
		CU_ASSERT(tu_wait_until(is_up, r.sup));
		pc_supervisor_stats(r.sup, &st0);
		t0 = tu_now_ms();
		tu_sleep_ms((int)window);
		pc_supervisor_stats(r.sup, &st1);
		t1 = tu_now_ms();
		n = st1.checks - st0.checks;
		/* Each check is preceded by a full interval: never more than this. */
		max_checks = (t1 - t0) / intervals[i] + 1;
		/* Generous: a fifth of the ideal count, for a loaded machine or valgrind. */
		min_checks = window / intervals[i] / 5;
		CU_ASSERT((int64_t)n <= max_checks);
		CU_ASSERT((int64_t)n >= min_checks);
		if ((int64_t)n > max_checks || (int64_t)n < min_checks)
			fprintf(stderr, "\n  interval %lld ms: %llu checks in %lld ms\n",
			        (long long)intervals[i], (unsigned long long)n,
			        (long long)(t1 - t0));
		CU_ASSERT_EQUAL(st1.failures, 0);
		CU_ASSERT_EQUAL(st1.connects, 1);
		rig_cleanup(&r);
	}
}

/* Stop must not wait out a long backoff or a long check interval. */
struct stop_case {
	const char *name;
	int64_t check_ms, min_ms, max_ms;
	int fail_connects;
	enum pc_backend_state state; /* while waiting */
	int disconnects_before_stop;
};

static void test_stop_is_prompt(void)
{
	static const struct stop_case cases[] = {
	    {"in backoff", 60000, 60000, 60000, 1000, PC_BACKEND_DOWN, 1},
	    {"in check interval", 60000, 5, 20, 0, PC_BACKEND_UP, 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct stop_case *c = &cases[i];
		struct rig r;
		int64_t t0, took;

		CU_ASSERT_FATAL(rig_init(&r));
		r.script->connect_error = "refused";
		atomic_store(&r.script->fail_connects, c->fail_connects);
		CU_ASSERT_FATAL(rig_start(&r, c->check_ms, c->min_ms, c->max_ms, NULL));
		CU_ASSERT(c->state == PC_BACKEND_DOWN ? tu_capture_wait(r.cap, "retrying in")
		                                      : tu_wait_until(is_up, r.sup));
		tu_sleep_ms(20); /* let it settle into its wait (stop must be prompt either way) */
		CU_ASSERT_EQUAL(pc_supervisor_state(r.sup), c->state);
		CU_ASSERT_EQUAL(atomic_load(&r.script->connects), 1);
		CU_ASSERT_EQUAL(atomic_load(&r.script->checks), 0);
		CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), c->disconnects_before_stop);

		t0 = tu_now_ms();
		pc_supervisor_stop(r.sup);
		took = tu_now_ms() - t0;
		r.sup = NULL;
		CU_ASSERT(took < 500);
		if (took >= 500)
			fprintf(stderr, "\n  %s: stop took %lld ms\n", c->name, (long long)took);
		/* stop disconnects once more, and nothing else ran. */
		CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects),
		                c->disconnects_before_stop + 1);
		CU_ASSERT_FALSE(atomic_load(&r.script->open));
		CU_ASSERT_EQUAL(atomic_load(&r.script->connects), 1);
		CU_ASSERT_EQUAL(atomic_load(&r.script->checks), 0);
		rig_cleanup(&r);
	}
}

struct config_case {
	const char *name;
	bool null_ops, null_cfg;
	struct pc_supervisor_config cfg;
	bool ok;
};

static void test_invalid_config(void)
{
	static const struct config_case cases[] = {
	    {"check interval 0", false, false, {0, 5, 20, NULL, NULL, NULL}, false},
	    {"check interval negative", false, false, {-1, 5, 20, NULL, NULL, NULL}, false},
	    {"backoff min 0", false, false, {10, 0, 20, NULL, NULL, NULL}, false},
	    {"backoff min > max", false, false, {10, 30, 20, NULL, NULL, NULL}, false},
	    {"backoff max negative", false, false, {10, 5, -1, NULL, NULL, NULL}, false},
	    {"NULL ops", true, false, {10, 5, 20, NULL, NULL, NULL}, false},
	    {"NULL config", false, true, {10, 5, 20, NULL, NULL, NULL}, false},
	    {"smallest valid", false, false, {1, 1, 1, NULL, NULL, NULL}, true},
	    {"min == max", false, false, {10, 7, 7, "x", NULL, NULL}, true},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct config_case *c = &cases[i];
		struct rig r;

		CU_ASSERT_FATAL(rig_init(&r));
		snprintf(r.err, sizeof r.err, "untouched");
		r.sup =
		    pc_supervisor_start(c->null_ops ? NULL : &fake_ops, r.script,
		                        c->null_cfg ? NULL : &c->cfg, &r.log, r.err, sizeof r.err);
		if (c->ok) {
			CU_ASSERT_PTR_NOT_NULL(r.sup);
			CU_ASSERT(r.sup == NULL || tu_wait_until(is_up, r.sup));
		} else {
			CU_ASSERT_PTR_NULL(r.sup);
			CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "invalid supervisor configuration"));
			/* Rejected before any thread ran: the backend was never touched. */
			CU_ASSERT_EQUAL(atomic_load(&r.script->connects), 0);
			CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 0);
		}
		if ((r.sup != NULL) != c->ok)
			fprintf(stderr, "\n  %s: %s (%s)\n", c->name,
			        r.sup ? "accepted" : "rejected", r.err);
		rig_cleanup(&r);
	}

	/* err may be NULL with errlen 0. */
	{
		struct pc_supervisor_config bad = {0, 5, 20, NULL, NULL, NULL};

		CU_ASSERT_PTR_NULL(pc_supervisor_start(&fake_ops, NULL, &bad, NULL, NULL, 0));
	}
}

static void test_stop_null(void)
{
	struct rig r;

	pc_supervisor_stop(NULL);
	/* Still a working process afterwards: a supervisor starts and stops. */
	CU_ASSERT_FATAL(rig_init(&r));
	CU_ASSERT_FATAL(rig_start(&r, 10, 5, 20, NULL));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	rig_cleanup(&r);
}

/* A halted supervisor is joined and disconnected but still takes wakes until it is freed. */
static void test_halt_then_wake_then_stop(void)
{
	struct rig r;
	int works;

	CU_ASSERT_FATAL(rig_init(&r));
	CU_ASSERT_FATAL(rig_start_work(&r, 60000, 5, 20, 60000));
	CU_ASSERT(tu_wait_count(&r.script->works, 1));
	pc_supervisor_halt(r.sup);
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	CU_ASSERT_FALSE(atomic_load(&r.script->open));
	works = atomic_load(&r.script->works);
	pc_supervisor_wake(r.sup); /* what another owner's thread may still do */
	(void)pc_supervisor_state(r.sup);
	pc_supervisor_halt(r.sup); /* idempotent: no second join or disconnect */
	tu_sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&r.script->works), works);
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	pc_supervisor_halt(NULL);
	pc_supervisor_stop(r.sup); /* frees it without a second disconnect */
	r.sup = NULL;
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	rig_cleanup(&r);
}

/* Work runs fresh once after connecting, then at the delay it asks for. */
static void test_work_fresh_then_paced(void)
{
	struct rig r;
	struct pc_supervisor_stats st;
	int n0, n1;
	int64_t t0, t1;

	CU_ASSERT_FATAL(rig_init(&r));
	CU_ASSERT_FATAL(rig_start_work(&r, 60000, 5, 20, 20));
	CU_ASSERT(tu_wait_until(is_up, r.sup));
	CU_ASSERT(tu_wait_count(&r.script->works_fresh, 1));
	CU_ASSERT(tu_wait_count(&r.script->works, 3));
	n0 = atomic_load(&r.script->works);
	t0 = tu_now_ms();
	tu_sleep_ms(300);
	n1 = atomic_load(&r.script->works);
	t1 = tu_now_ms();
	/* Paced by the 20 ms it asks for: never faster; at least a fifth under load. */
	CU_ASSERT(n1 - n0 <= (t1 - t0) / 20 + 1);
	CU_ASSERT(n1 - n0 >= 3);
	CU_ASSERT_EQUAL(atomic_load(&r.script->works_fresh), 1);
	CU_ASSERT_EQUAL(atomic_load(&r.script->works_down), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_work), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->fresh_not_first), 0);
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT(st.works >= (uint64_t)n1);
	CU_ASSERT_EQUAL(st.checks, 0); /* the check interval is a minute */
	rig_cleanup(&r);
}

/* A wake reaches a thread that asked to be left alone for a minute. */
static void test_work_wake_is_prompt(void)
{
	struct rig r;
	int i;

	CU_ASSERT_FATAL(rig_init(&r));
	CU_ASSERT_FATAL(rig_start_work(&r, 60000, 5, 20, 60000));
	CU_ASSERT(tu_wait_count(&r.script->works, 1));
	tu_sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&r.script->works), 1);
	for (i = 0; i < 5; i++) {
		int before = atomic_load(&r.script->works);
		int64_t t0 = tu_now_ms();

		pc_supervisor_wake(r.sup);
		CU_ASSERT(tu_wait_count(&r.script->works, before + 1));
		CU_ASSERT(tu_now_ms() - t0 < 1000);
		tu_sleep_ms(10);
		/* One wake, one call. */
		CU_ASSERT_EQUAL(atomic_load(&r.script->works), before + 1);
	}
	pc_supervisor_wake(NULL); /* allowed */
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_work), 0);
	rig_cleanup(&r);
}

/* A failed work call is a lost connection: logged, reconnected, fresh again. */
static void test_work_failure_reconnects(void)
{
	struct rig r;
	struct pc_supervisor_stats st;

	CU_ASSERT_FATAL(rig_init(&r));
	CU_ASSERT_FATAL(rig_start_work(&r, 60000, 5, 20, 10));
	CU_ASSERT(tu_wait_count(&r.script->works_fresh, 1));
	atomic_store(&r.script->fail_works, 1);
	CU_ASSERT(tu_wait_count(&r.script->connect_ok, 2));
	CU_ASSERT(tu_wait_count(&r.script->works_fresh, 2));
	CU_ASSERT(tu_capture_wait(
	    r.cap, "lost connection to fake at fake:1: scripted work failure; reconnecting"));
	pc_supervisor_stats(r.sup, &st);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.connects, 2);
	CU_ASSERT_EQUAL(atomic_load(&r.script->disconnects), 1);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_work), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->fresh_not_first), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_checks), 0);
	rig_cleanup(&r);
}

/* While the backend stays down, work still runs (up == false), paced and wakeable. */
static void test_work_runs_while_down(void)
{
	struct rig r;
	int before;

	CU_ASSERT_FATAL(rig_init(&r));
	r.script->connect_error = "refused";
	atomic_store(&r.script->fail_connects, 1000000);
	CU_ASSERT_FATAL(rig_start_work(&r, 60000, 60000, 60000, 10));
	CU_ASSERT(tu_wait_count(&r.script->works_down, 5));
	CU_ASSERT_EQUAL(atomic_load(&r.script->connects), 1); /* in a minute's backoff */
	CU_ASSERT_EQUAL(atomic_load(&r.script->works_up), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.script->works_fresh), 0);
	atomic_store(&r.script->work_next_ms, 60000);
	tu_sleep_ms(30); /* the call in progress may still use the old delay */
	before = atomic_load(&r.script->works);
	pc_supervisor_wake(r.sup);
	CU_ASSERT(tu_wait_count(&r.script->works, before + 1));
	CU_ASSERT_EQUAL(atomic_load(&r.script->bad_work), 0);
	rig_cleanup(&r);
}

static CU_TestInfo tests[] = {
    {"connects at once, named thread", test_connects_at_once},
    {"connect failures retried with backoff", test_connect_retry_backoff},
    {"backoff resets after a success", test_backoff_resets_after_success},
    {"failed check: down, disconnect, reconnect", test_check_failure_reconnects},
    {"check interval honoured", test_check_interval},
    {"stop is prompt during long waits", test_stop_is_prompt},
    {"start rejects invalid configurations", test_invalid_config},
    {"stop(NULL) is safe", test_stop_null},
    {"halt joins, later wakes are harmless, stop frees", test_halt_then_wake_then_stop},
    {"work: fresh once per connect, then paced", test_work_fresh_then_paced},
    {"work: a wake is prompt", test_work_wake_is_prompt},
    {"work: a failure reconnects", test_work_failure_reconnects},
    {"work: runs while down", test_work_runs_while_down},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("supervisor", tests);
}

/*
 * test_presence.c - unit tests for plugins/command/presence.c: a device's
 * presence through scripted event sequences (beats with and without a
 * declared interval, data uploads, silence past the deadline, the
 * connection closing, a newer connection taking over, a restore from
 * Redis), checking each change returned, the deadlines and when Redis
 * must be written.
 */
#include "cu_run.h"
#include "presence.h"

static const struct command__presence_cfg cfg = {60000, 3, 30000};

static void test_beats_and_timeout(void)
{
	struct command__presence p;
	struct command__hb hb = {true, 41, true, 10000};
	int client;
	bool flush;

	command__presence_init(&p, &cfg);
	CU_ASSERT_FALSE(p.online);
	CU_ASSERT_EQUAL(p.seq, -1);
	CU_ASSERT_EQUAL(p.interval_ms, 60000);
	CU_ASSERT_EQUAL(command__presence_beat(&p, &cfg, 5000, 100, &hb, &client, &flush),
	                COMMAND_PRESENCE_ONLINE);
	CU_ASSERT(flush);
	CU_ASSERT_EQUAL(p.seq, 41);
	CU_ASSERT_EQUAL(p.interval_ms, 10000);
	CU_ASSERT_EQUAL(p.deadline, 100 + 3 * 10000);
	CU_ASSERT_EQUAL(p.last_seen, 5000);
	/* The next beat changes nothing visible and needs no write. */
	hb.seq = 42;
	CU_ASSERT_EQUAL(command__presence_beat(&p, &cfg, 6000, 1100, &hb, &client, &flush),
	                COMMAND_PRESENCE_SAME);
	CU_ASSERT_FALSE(flush);
	CU_ASSERT_EQUAL(p.seq, 42);
	/* A data upload keeps the declared interval. */
	CU_ASSERT_EQUAL(command__presence_beat(&p, &cfg, 7000, 2100, NULL, &client, &flush),
	                COMMAND_PRESENCE_SAME);
	CU_ASSERT_EQUAL(p.deadline, 2100 + 30000);
	CU_ASSERT_EQUAL(command__presence_check(&p, 2100 + 29999), COMMAND_PRESENCE_SAME);
	CU_ASSERT_EQUAL(command__presence_check(&p, 2100 + 30000), COMMAND_PRESENCE_OFFLINE);
	CU_ASSERT_FALSE(p.online);
	CU_ASSERT_EQUAL(command__presence_check(&p, 99999999), COMMAND_PRESENCE_SAME);
	CU_ASSERT_EQUAL(command__presence_beat(&p, &cfg, 8000, 50000, NULL, &client, &flush),
	                COMMAND_PRESENCE_ONLINE);
	CU_ASSERT(flush);
}

static void test_refresh_and_interval_change(void)
{
	struct command__presence p;
	struct command__hb hb = {false, 0, false, 0};
	int client;
	bool flush;

	command__presence_init(&p, &cfg);
	command__presence_beat(&p, &cfg, 0, 1000, &hb, &client, &flush);
	CU_ASSERT(flush);
	command__presence_beat(&p, &cfg, 0, 1000 + 29999, &hb, &client, &flush);
	CU_ASSERT_FALSE(flush);
	command__presence_beat(&p, &cfg, 0, 1000 + 30000, &hb, &client, &flush);
	CU_ASSERT(flush); /* refresh_ms since the last write */
	CU_ASSERT_EQUAL(p.flushed, 31000);
	hb.has_interval = true;
	hb.interval_ms = 5000;
	command__presence_beat(&p, &cfg, 0, 31001, &hb, &client, &flush);
	CU_ASSERT(flush); /* a new interval is written at once */
	CU_ASSERT_EQUAL(p.deadline, 31001 + 15000);
}

static void test_disconnect_and_takeover(void)
{
	struct command__presence p;
	int old_conn, new_conn;
	bool flush;

	command__presence_init(&p, &cfg);
	CU_ASSERT_EQUAL(command__presence_disconnect(&p, &old_conn), COMMAND_PRESENCE_SAME);
	command__presence_beat(&p, &cfg, 0, 0, NULL, &old_conn, &flush);
	/* A newer connection beats, then the old one's DISCONNECT arrives (session takeover). */
	command__presence_beat(&p, &cfg, 0, 10, NULL, &new_conn, &flush);
	CU_ASSERT_EQUAL(command__presence_disconnect(&p, &old_conn), COMMAND_PRESENCE_SAME);
	CU_ASSERT(p.online);
	CU_ASSERT_EQUAL(command__presence_disconnect(&p, &new_conn), COMMAND_PRESENCE_OFFLINE);
	CU_ASSERT_FALSE(p.online);
	CU_ASSERT_EQUAL(command__presence_disconnect(&p, &new_conn), COMMAND_PRESENCE_SAME);
}

static void test_restore(void)
{
	struct command__presence p;

	command__presence_init(&p, &cfg);
	/* Last seen 20 s ago with a 10 s interval: 10 s left of its 30 s. */
	command__presence_restore(&p, &cfg, 100000, 10000, 7, 120000, 500);
	CU_ASSERT(p.online);
	CU_ASSERT_EQUAL(p.deadline, 500 + 10000);
	CU_ASSERT_EQUAL(p.seq, 7);
	CU_ASSERT_EQUAL(p.flushed, 500);
	CU_ASSERT_EQUAL(command__presence_check(&p, 10499), COMMAND_PRESENCE_SAME);
	CU_ASSERT_EQUAL(command__presence_check(&p, 10500), COMMAND_PRESENCE_OFFLINE);
	/* Long gone: due at once; no interval stored: the default. */
	command__presence_restore(&p, &cfg, 0, 0, -1, 99999999, 700);
	CU_ASSERT_EQUAL(p.interval_ms, 60000);
	CU_ASSERT_EQUAL(p.deadline, 700);
	CU_ASSERT_EQUAL(command__presence_check(&p, 700), COMMAND_PRESENCE_OFFLINE);
}

static CU_TestInfo tests[] = {
    {"beats, data, timeout", test_beats_and_timeout},
    {"Redis refresh and interval changes", test_refresh_and_interval_change},
    {"disconnect and session takeover", test_disconnect_and_takeover},
    {"restore from Redis", test_restore},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("presence", tests);
}

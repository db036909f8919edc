/*
 * test_registry_poll.c - pc_registry_poll_changes against a real
 * MongoDB-wire server: which commands the change poll sends.
 *
 * The poll runs four times a second in every broker, so what it sends
 * while nothing changes is the idle cost of the whole fleet. Every
 * command the client starts is recorded through libmongoc's APM callbacks
 * and the tests assert on that list: an unchanged counter is one find on
 * `counters` and nothing else; one new record is read by an _id
 * equality; several by one range query.
 *
 * Needs a server: PRECIS_TEST_MONGO_URI (tests/live/test_auth.py starts
 * FerretDB and runs this binary with it); it fails, never skips, without
 * one. Each run uses its own database, dropped at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/registry.h"

#define MAX_SEEN 32

struct seen_cmd {
	char name[32];
	char coll[64];
	bool id_equality; /* find whose filter is {_id: <scalar>} */
};

static mongoc_client_t *client;
static char db[64];
static struct seen_cmd seen[MAX_SEEN];
static size_t nseen;

static void on_started(const mongoc_apm_command_started_t *ev)
{
	const bson_t *cmd = mongoc_apm_command_started_get_command(ev);
	struct seen_cmd *s;
	bson_iter_t it;

	if (nseen == MAX_SEEN)
		return;
	s = &seen[nseen++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", mongoc_apm_command_started_get_command_name(ev));
	if (bson_iter_init_find(&it, cmd, s->name) && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(s->coll, sizeof s->coll, "%s", bson_iter_utf8(&it, NULL));
	if (strcmp(s->name, "find") == 0 && bson_iter_init_find(&it, cmd, "filter") &&
	    BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_iter_t f;

		s->id_equality = bson_iter_recurse(&it, &f) && bson_iter_find(&f, "_id") &&
		                 !BSON_ITER_HOLDS_DOCUMENT(&f);
	}
}

/* The finds recorded since the last reset, by collection; other commands ignored. */
static size_t finds_on(const char *coll)
{
	size_t n = 0;

	for (size_t i = 0; i < nseen; i++)
		n += strcmp(seen[i].name, "find") == 0 && strcmp(seen[i].coll, coll) == 0;
	return n;
}

struct got {
	int64_t seq[16];
	char who[16][PC_ID_MAX + 1];
	size_t n;
};

static bool collect(void *arg, int64_t seq, const char *principal)
{
	struct got *g = arg;

	if (g->n < 16) {
		g->seq[g->n] = seq;
		snprintf(g->who[g->n], sizeof g->who[g->n], "%s", principal);
		g->n++;
	}
	return true;
}

static int poll_once(int64_t after, int64_t *seq, struct got *g)
{
	char err[256] = "";
	int rc;

	memset(g, 0, sizeof *g);
	nseen = 0;
	rc = pc_registry_poll_changes(client, db, after, 100, seq, collect, g, err, sizeof err);
	if (rc != PC_OK)
		fprintf(stderr, "poll: %s\n", err);
	return rc;
}

static void log_change(const char *const *ids, size_t n)
{
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(pc_registry_log_changes(client, db, ids, n, err, sizeof err), PC_OK);
}

static void test_unchanged_counter_is_one_lookup(void)
{
	const char *ids[] = {"dev-a"};
	int64_t seq = -1;
	struct got g;

	/* No counter yet: one lookup, nothing else. */
	CU_ASSERT_EQUAL(poll_once(0, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_EQUAL(nseen, 1);
	CU_ASSERT_EQUAL(finds_on(PC_REGISTRY_COUNTERS), 1);
	CU_ASSERT_TRUE(seen[0].id_equality);

	log_change(ids, 1);
	CU_ASSERT_EQUAL(poll_once(1, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(g.n, 0);
	CU_ASSERT_EQUAL(nseen, 1); /* the counter alone: the log is not read */
	CU_ASSERT_EQUAL(finds_on(PC_REGISTRY_CHANGES), 0);
}

static void test_one_new_record_is_read_by_id(void)
{
	const char *ids[] = {"dev-b"};
	int64_t before, seq;
	struct got g;

	CU_ASSERT_EQUAL_FATAL(poll_once(0, &before, &g), PC_OK);
	log_change(ids, 1);
	CU_ASSERT_EQUAL(poll_once(before, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, before + 1);
	CU_ASSERT_EQUAL(nseen, 2);
	CU_ASSERT_EQUAL(finds_on(PC_REGISTRY_CHANGES), 1);
	CU_ASSERT_TRUE(nseen == 2 && seen[1].id_equality);
	CU_ASSERT_EQUAL_FATAL(g.n, 1);
	CU_ASSERT_EQUAL(g.seq[0], before + 1);
	CU_ASSERT_STRING_EQUAL(g.who[0], "dev-b");
}

static void test_several_records_in_one_range_query(void)
{
	const char *ids[] = {"dev-c", "dev-d", "dev-e"};
	int64_t before, seq;
	struct got g;

	CU_ASSERT_EQUAL_FATAL(poll_once(0, &before, &g), PC_OK);
	log_change(ids, 3);
	CU_ASSERT_EQUAL(poll_once(before, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, before + 3);
	CU_ASSERT_EQUAL(finds_on(PC_REGISTRY_CHANGES), 1);
	CU_ASSERT_TRUE(nseen == 2 && !seen[1].id_equality);
	CU_ASSERT_EQUAL_FATAL(g.n, 3);
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(g.seq[i], before + 1 + (int64_t)i);
		CU_ASSERT_STRING_EQUAL(g.who[i], ids[i]);
	}
	/* Caught up: back to the counter alone. */
	CU_ASSERT_EQUAL(poll_once(seq, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(nseen, 1);
	CU_ASSERT_EQUAL(g.n, 0);
}

static void test_counter_ahead_of_the_records(void)
{
	/* A writer that bumped the counter and has not inserted yet (or died). */
	mongoc_collection_t *c = mongoc_client_get_collection(client, db, PC_REGISTRY_COUNTERS);
	bson_t *q = BCON_NEW("_id", BCON_UTF8(PC_REGISTRY_CHANGES));
	bson_t *u = BCON_NEW("$inc", "{", "seq", BCON_INT64(1), "}");
	int64_t before, seq;
	struct got g;

	CU_ASSERT_EQUAL_FATAL(poll_once(0, &before, &g), PC_OK);
	CU_ASSERT_TRUE(mongoc_collection_update_one(c, q, u, NULL, NULL, NULL));
	CU_ASSERT_EQUAL(poll_once(before, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, before + 1);
	CU_ASSERT_EQUAL(g.n, 0); /* looked, found nothing: the caller decides how long to wait */
	CU_ASSERT_EQUAL(finds_on(PC_REGISTRY_CHANGES), 1);
	bson_destroy(q);
	bson_destroy(u);
	mongoc_collection_destroy(c);
}

static void test_counter_reset_reads_from_the_start(void)
{
	mongoc_collection_t *c = mongoc_client_get_collection(client, db, PC_REGISTRY_COUNTERS);
	mongoc_collection_t *log = mongoc_client_get_collection(client, db, PC_REGISTRY_CHANGES);
	bson_t empty = BSON_INITIALIZER;
	const char *ids[] = {"dev-f"};
	int64_t seq;
	struct got g;

	CU_ASSERT_TRUE(mongoc_collection_delete_many(c, &empty, NULL, NULL, NULL));
	CU_ASSERT_TRUE(mongoc_collection_delete_many(log, &empty, NULL, NULL, NULL));
	log_change(ids, 1);
	CU_ASSERT_EQUAL(poll_once(50, &seq, &g), PC_OK);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL_FATAL(g.n, 1);
	CU_ASSERT_EQUAL(g.seq[0], 1);
	CU_ASSERT_STRING_EQUAL(g.who[0], "dev-f");
	bson_destroy(&empty);
	mongoc_collection_destroy(c);
	mongoc_collection_destroy(log);
}

static CU_TestInfo tests[] = {
    {"an unchanged counter costs one _id lookup", test_unchanged_counter_is_one_lookup},
    {"one new record is read by _id equality", test_one_new_record_is_read_by_id},
    {"several new records come in one range query", test_several_records_in_one_range_query},
    {"a counter ahead of its records reads and finds none", test_counter_ahead_of_the_records},
    {"a counter that went back reads the log from 1", test_counter_reset_reads_from_the_start},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	const char *uri = getenv("PRECIS_TEST_MONGO_URI");
	mongoc_apm_callbacks_t *cbs;
	mongoc_database_t *d;
	bson_error_t berr;
	int rc;

	if (!uri || !*uri) {
		fprintf(stderr,
		        "test_registry_poll: set PRECIS_TEST_MONGO_URI (tests/live/test_auth.py "
		        "runs this against FerretDB)\n");
		return 2;
	}
	mongoc_init();
	client = mongoc_client_new(uri);
	if (!client) {
		fprintf(stderr, "test_registry_poll: bad URI %s\n", uri);
		return 2;
	}
	mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	snprintf(db, sizeof db, "precis_regpoll_%ld", (long)getpid());
	cbs = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cbs, on_started);
	mongoc_client_set_apm_callbacks(client, cbs, NULL);
	rc = pc_cu_run("registry_poll", tests);
	mongoc_client_set_apm_callbacks(client, NULL, NULL);
	d = mongoc_client_get_database(client, db);
	if (!mongoc_database_drop(d, &berr))
		fprintf(stderr, "test_registry_poll: dropping %s: %s\n", db, berr.message);
	mongoc_database_destroy(d);
	mongoc_apm_callbacks_destroy(cbs);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return rc;
}

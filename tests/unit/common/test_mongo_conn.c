/*
 * test_mongo_conn.c - unit tests for common/mongo_conn.c without a MongoDB
 * server: URI validation, database-name rules and the connect-timeout
 * range over tables; the timeouts applied to the parsed URI unless it sets
 * them (read back with mongoc_uri_get_option_as_int32); the appname; the
 * `where` description (hosts and database, never credentials); and
 * pc_mongo_backend_ops against local sockets: a closed port and a port
 * that accepts but never answers both fail within the connect timeout.
 * Real-server behaviour is covered by tests/live/.
 */
#include <mongoc/mongoc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/mongo_conn.h"
#include "test_util.h"

/* ---- pc_mongo_conn_init: validation ---- */

struct init_case {
	const char *uri, *db;
	int64_t timeout_ms;
	int rc;
	const char *msg; /* substring of the error when rc != PC_OK */
};

static void run_init_cases(const struct init_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct init_case *k = &cases[i];
		struct pc_mongo_conn c;
		char err[512] = "";
		int rc;

		memset(&c, 0x5a, sizeof c); /* init must not rely on a zeroed struct */
		rc = pc_mongo_conn_init(&c, k->uri, k->db, k->timeout_ms, NULL, err, sizeof err);
		CU_ASSERT_EQUAL(rc, k->rc);
		CU_ASSERT_PTR_NULL(c.client);
		if (k->rc == PC_OK) {
			CU_ASSERT_PTR_NOT_NULL(c.uri);
			CU_ASSERT(c.db != NULL && strcmp(c.db, k->db) == 0);
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, k->msg));
			CU_ASSERT_PTR_NULL(c.uri);
			CU_ASSERT_PTR_NULL(c.db);
		}
		if (rc != k->rc || (k->rc != PC_OK && !strstr(err, k->msg)))
			fprintf(stderr, "\n  uri '%s' db '%s': rc %d err '%s'\n",
			        k->uri ? k->uri : "(null)", k->db ? k->db : "(null)", rc, err);
		/* Cleanup is safe after success and failure, and twice. */
		pc_mongo_conn_cleanup(&c);
		CU_ASSERT_PTR_NULL(c.uri);
		CU_ASSERT_PTR_NULL(c.db);
		pc_mongo_conn_cleanup(&c);
	}
}

static void test_uri_validation(void)
{
	static const struct init_case cases[] = {
	    {"garbage", "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {"http://x", "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {"", "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {NULL, "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {"mongodb://", "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {"mongodb://h:notaport", "precis", 1000, PC_ERR_INVAL, "bad MongoDB URI"},
	    {"mongodb://127.0.0.1:27017", "precis", 1000, PC_OK, NULL},
	    {"mongodb://a:1,b:2/?replicaSet=rs", "precis", 1000, PC_OK, NULL},
	    {"mongodb://u:p@h/admin?authSource=admin", "precis", 1000, PC_OK, NULL},
	    {"mongodb://[::1]:27017", "precis", 1000, PC_OK, NULL},
	};

	/* libmongoc logs each parse error itself; keep the expected ones off stderr. */
	mongoc_log_set_handler(NULL, NULL);
	run_init_cases(cases, sizeof cases / sizeof cases[0]);
	mongoc_log_set_handler(mongoc_log_default_handler, NULL);
}

static void test_db_name_rules(void)
{
	static const char d63[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char d64[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const struct init_case cases[] = {
	    {"mongodb://h", "", 1000, PC_ERR_INVAL, "1..63 characters"},
	    {"mongodb://h", NULL, 1000, PC_ERR_INVAL, "1..63 characters"},
	    {"mongodb://h", d64, 1000, PC_ERR_INVAL, "1..63 characters"},
	    {"mongodb://h", "a.b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "a b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "a$b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "a/b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "a\\b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "a\"b", 1000, PC_ERR_INVAL, "forbidden character"},
	    {"mongodb://h", "precis", 1000, PC_OK, NULL},
	    {"mongodb://h", "p", 1000, PC_OK, NULL},
	    {"mongodb://h", "precis_test-1", 1000, PC_OK, NULL},
	    {"mongodb://h", d63, 1000, PC_OK, NULL},
	};

	CU_ASSERT_EQUAL(strlen(d63), 63);
	CU_ASSERT_EQUAL(strlen(d64), 64);
	run_init_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_timeout_range(void)
{
	static const struct init_case cases[] = {
	    {"mongodb://h", "precis", 0, PC_ERR_INVAL, "connect timeout out of range"},
	    {"mongodb://h", "precis", -1, PC_ERR_INVAL, "connect timeout out of range"},
	    {"mongodb://h", "precis", (int64_t)INT32_MAX + 1, PC_ERR_INVAL,
	     "connect timeout out of range"},
	    {"mongodb://h", "precis", 1, PC_OK, NULL},
	    {"mongodb://h", "precis", INT32_MAX, PC_OK, NULL},
	};

	run_init_cases(cases, sizeof cases / sizeof cases[0]);
}

/* ---- pc_mongo_conn_init: what it does to the URI ---- */

struct timeout_case {
	const char *uri;
	int64_t timeout_ms;
	int32_t connect, selection, socket; /* expected values on c.uri */
};

static void test_timeouts_applied(void)
{
	static const struct timeout_case cases[] = {
	    {"mongodb://h", 1234, 1234, 1234, 1234},
	    {"mongodb://h/?connectTimeoutMS=777", 1234, 777, 1234, 1234},
	    {"mongodb://h/?serverSelectionTimeoutMS=5000", 300, 300, 5000, 300},
	    {"mongodb://h/?socketTimeoutMS=9000&connectTimeoutMS=50", 300, 50, 300, 9000},
	    {"mongodb://h/?connectTimeoutMS=1&serverSelectionTimeoutMS=2&socketTimeoutMS=3", 300, 1,
	     2, 3},
	    /* Option names are case-insensitive in URIs. */
	    {"mongodb://h/?CONNECTTIMEOUTMS=42", 300, 42, 300, 300},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct timeout_case *k = &cases[i];
		struct pc_mongo_conn c;
		char err[512] = "";
		int32_t got_c = -1, got_sel = -1, got_sock = -1;

		CU_ASSERT_EQUAL_FATAL(
		    pc_mongo_conn_init(&c, k->uri, "precis", k->timeout_ms, NULL, err, sizeof err),
		    PC_OK);
		got_c = mongoc_uri_get_option_as_int32(c.uri, MONGOC_URI_CONNECTTIMEOUTMS, -1);
		got_sel =
		    mongoc_uri_get_option_as_int32(c.uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, -1);
		got_sock = mongoc_uri_get_option_as_int32(c.uri, MONGOC_URI_SOCKETTIMEOUTMS, -1);
		CU_ASSERT_EQUAL(got_c, k->connect);
		CU_ASSERT_EQUAL(got_sel, k->selection);
		CU_ASSERT_EQUAL(got_sock, k->socket);
		if (got_c != k->connect || got_sel != k->selection || got_sock != k->socket)
			fprintf(stderr, "\n  '%s': connect %d selection %d socket %d\n", k->uri,
			        (int)got_c, (int)got_sel, (int)got_sock);
		pc_mongo_conn_cleanup(&c);
	}
}

static void test_appname(void)
{
	struct pc_mongo_conn c;
	char err[512] = "";

	CU_ASSERT_EQUAL_FATAL(
	    pc_mongo_conn_init(&c, "mongodb://h", "precis", 100, "precis-store", err, sizeof err),
	    PC_OK);
	CU_ASSERT(mongoc_uri_get_appname(c.uri) &&
	          strcmp(mongoc_uri_get_appname(c.uri), "precis-store") == 0);
	pc_mongo_conn_cleanup(&c);

	/* The URI's own appName wins. */
	CU_ASSERT_EQUAL_FATAL(pc_mongo_conn_init(&c, "mongodb://h/?appName=mine", "precis", 100,
	                                         "precis-store", err, sizeof err),
	                      PC_OK);
	CU_ASSERT(mongoc_uri_get_appname(c.uri) &&
	          strcmp(mongoc_uri_get_appname(c.uri), "mine") == 0);
	pc_mongo_conn_cleanup(&c);

	/* NULL appname: none set. */
	CU_ASSERT_EQUAL_FATAL(
	    pc_mongo_conn_init(&c, "mongodb://h", "precis", 100, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_PTR_NULL(mongoc_uri_get_appname(c.uri));
	pc_mongo_conn_cleanup(&c);
}

struct where_case {
	const char *uri, *db, *where;
	const char *secret; /* must not appear in where; may be NULL */
};

static void test_where(void)
{
	static const struct where_case cases[] = {
	    {"mongodb://127.0.0.1:27017", "precis", "127.0.0.1:27017/precis", NULL},
	    {"mongodb://h", "db1", "h:27017/db1", NULL},
	    {"mongodb://a:1,b:2/?replicaSet=rs", "precis", "a:1,b:2/precis", NULL},
	    {"mongodb://user:secret@h1:27018,h2/admin?authSource=admin", "precis",
	     "h1:27018,h2:27017/precis", "secret"},
	    {"mongodb://user:secret@h1:27018,h2/admin?authSource=admin", "precis",
	     "h1:27018,h2:27017/precis", "user"},
	    {"mongodb://precis:hunter2@db.example:27017/?authSource=admin", "app",
	     "db.example:27017/app", "hunter2"},
	    {"mongodb://[::1]:27019", "precis", "[::1]:27019/precis", NULL},
	    /* No host list before DNS resolution; nothing is resolved at init. */
	    {"mongodb+srv://u:pw@cluster0.example.com/", "precis", "(srv)/precis", "pw"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct where_case *k = &cases[i];
		struct pc_mongo_conn c;
		char err[512] = "";

		CU_ASSERT_EQUAL_FATAL(
		    pc_mongo_conn_init(&c, k->uri, k->db, 100, NULL, err, sizeof err), PC_OK);
		CU_ASSERT_STRING_EQUAL(c.where, k->where);
		CU_ASSERT_STRING_EQUAL(pc_mongo_backend_ops.describe(&c), k->where);
		if (k->secret)
			CU_ASSERT_PTR_NULL(strstr(c.where, k->secret));
		if (strcmp(c.where, k->where) != 0)
			fprintf(stderr, "\n  '%s': where '%s', want '%s'\n", k->uri, c.where,
			        k->where);
		pc_mongo_conn_cleanup(&c);
	}
}

/* ---- against local sockets ---- */

static void test_check_never_connected(void)
{
	struct pc_mongo_conn c;
	char err[512] = "";

	CU_ASSERT_EQUAL_FATAL(
	    pc_mongo_conn_init(&c, "mongodb://127.0.0.1:1", "precis", 100, NULL, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(pc_mongo_backend_ops.check(&c, err, sizeof err), PC_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not connected"));
	pc_mongo_backend_ops.disconnect(&c); /* never opened: tolerated */
	pc_mongo_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.client);
	pc_mongo_conn_cleanup(&c);
}

/*
 * Connect to 127.0.0.1:port with a 300 ms connect timeout and expect a
 * failure well before the libmongoc defaults (10 s connect, 30 s server
 * selection) would have given up.
 */
static void connect_fails_fast(int port, const char *what)
{
	struct pc_mongo_conn c;
	char uri[64], err[512] = "";
	int64_t t0, took;
	int rc;

	snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d", port);
	CU_ASSERT_EQUAL_FATAL(
	    pc_mongo_conn_init(&c, uri, "precis", 300, "precis-test", err, sizeof err), PC_OK);
	t0 = tu_now_ms();
	rc = pc_mongo_backend_ops.connect(&c, err, sizeof err);
	took = tu_now_ms() - t0;
	CU_ASSERT_NOT_EQUAL(rc, PC_OK);
	CU_ASSERT(rc == PC_ERR_IO || rc == PC_ERR_INVAL);
	CU_ASSERT(err[0] != '\0');
	CU_ASSERT(took < 3000);
	if (rc == PC_OK || took >= 3000)
		fprintf(stderr, "\n  %s: rc %d in %lld ms: %s\n", what, rc, (long long)took, err);
	/* A check on the failed connection fails too; disconnect twice; cleanup. */
	if (c.client)
		CU_ASSERT_NOT_EQUAL(pc_mongo_backend_ops.check(&c, err, sizeof err), PC_OK);
	pc_mongo_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.client);
	pc_mongo_backend_ops.disconnect(&c);
	pc_mongo_conn_cleanup(&c);
	CU_ASSERT_PTR_NULL(c.uri);
}

static void test_connect_refused(void)
{
	int port = tu_closed_port();

	CU_ASSERT_FATAL(port > 0);
	connect_fails_fast(port, "closed port");
}

/* A peer that completes the TCP handshake (listen backlog) but never answers hello. */
static void test_connect_silent_peer(void)
{
	int port = 0, fd = tu_listen_loopback(&port);

	CU_ASSERT_FATAL(fd >= 0); /* bound and listening */
	CU_ASSERT_FATAL(port > 0);
	connect_fails_fast(port, "silent peer");
	close(fd);
}

static CU_TestInfo tests[] = {
    {"URI validation", test_uri_validation},
    {"database name rules", test_db_name_rules},
    {"connect timeout range", test_timeout_range},
    {"timeouts applied unless the URI sets them", test_timeouts_applied},
    {"appname", test_appname},
    {"where: hosts and db, no credentials", test_where},
    {"check before connect, disconnect idempotent", test_check_never_connected},
    {"connect to a closed port fails fast", test_connect_refused},
    {"connect to a silent peer times out", test_connect_silent_peer},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	int rc;

	pc_mongo_global_init();
	rc = pc_cu_run("mongo_conn", tests);
	mongoc_cleanup(); /* the library never does (mongo_conn.h) */
	return rc;
}

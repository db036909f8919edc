/*
 * test_redis_conn.c - unit tests for common/redis_conn.c without a Redis
 * server: pc_redis_conn_init's validation over a table of arguments (error
 * codes, messages, the "host:port/db" description, empty credentials
 * stored as NULL), cleanup after failures, and pc_redis_backend_ops
 * against local sockets: a closed port (refused, within the connect
 * timeout), a port that accepts but never answers (the command timeout),
 * and a tiny scripted RESP server in a thread that checks the AUTH /
 * SELECT / PING sequence and the handling of error and unexpected replies.
 * Real-server behaviour is covered by tests/live/.
 */
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cu_run.h"
#include "precis/error.h"
#include "precis/redis_conn.h"
#include "test_util.h"

/* ---- pc_redis_conn_init ---- */

struct init_case {
	const char *host;
	int port, db;
	const char *user, *password;
	int64_t connect_ms, command_ms;
	int rc;
	const char *msg;   /* substring of the error message when rc != PC_OK */
	const char *where; /* when rc == PC_OK */
};

static void test_init_table(void)
{
	static const struct init_case cases[] = {
	    {NULL, 6379, 0, NULL, NULL, 100, 100, PC_ERR_INVAL, "host is empty", NULL},
	    {"", 6379, 0, NULL, NULL, 100, 100, PC_ERR_INVAL, "host is empty", NULL},
	    {"h", 0, 0, NULL, NULL, 100, 100, PC_ERR_INVAL, "port 0 is out of range", NULL},
	    {"h", -1, 0, NULL, NULL, 100, 100, PC_ERR_INVAL, "port -1 is out of range", NULL},
	    {"h", 65536, 0, NULL, NULL, 100, 100, PC_ERR_INVAL, "port 65536 is out of range", NULL},
	    {"h", 6379, -1, NULL, NULL, 100, 100, PC_ERR_INVAL, "database -1 is negative", NULL},
	    {"h", 6379, 0, NULL, NULL, 0, 100, PC_ERR_INVAL, "at least 1 ms", NULL},
	    {"h", 6379, 0, NULL, NULL, 100, 0, PC_ERR_INVAL, "at least 1 ms", NULL},
	    {"h", 6379, 0, NULL, NULL, -5, 100, PC_ERR_INVAL, "at least 1 ms", NULL},
	    {"h", 6379, 0, NULL, NULL, 100, INT64_MIN, PC_ERR_INVAL, "at least 1 ms", NULL},
	    {"127.0.0.1", 6379, 0, NULL, NULL, 1, 1, PC_OK, NULL, "127.0.0.1:6379/0"},
	    {"h", 1, 0, "", "", 100, 100, PC_OK, NULL, "h:1/0"},
	    {"redis.example", 65535, 15, NULL, "pw", 2000, 500, PC_OK, NULL,
	     "redis.example:65535/15"},
	    {"h", 6380, 3, "alice", "s3cret", 100, 100, PC_OK, NULL, "h:6380/3"},
	    {"h", 6380, 3, "alice", "", 100, 100, PC_OK, NULL, "h:6380/3"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct init_case *k = &cases[i];
		struct pc_redis_conn c;
		char err[256] = "";
		int rc;

		memset(&c, 0x5a, sizeof c); /* init must not rely on a zeroed struct */
		rc = pc_redis_conn_init(&c, k->host, k->port, k->db, k->user, k->password,
		                        k->connect_ms, k->command_ms, err, sizeof err);
		CU_ASSERT_EQUAL(rc, k->rc);
		CU_ASSERT_PTR_NULL(c.ctx);
		if (k->rc != PC_OK) {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, k->msg));
			CU_ASSERT_PTR_NULL(c.host);
			CU_ASSERT_PTR_NULL(c.user);
			CU_ASSERT_PTR_NULL(c.password);
		} else {
			CU_ASSERT_STRING_EQUAL(c.where, k->where);
			CU_ASSERT_STRING_EQUAL(pc_redis_backend_ops.describe(&c), k->where);
			CU_ASSERT(c.host != NULL && strcmp(c.host, k->host) == 0);
			CU_ASSERT(c.host != k->host); /* copied */
			CU_ASSERT_EQUAL(c.port, k->port);
			CU_ASSERT_EQUAL(c.db, k->db);
			CU_ASSERT_EQUAL(c.connect_timeout_ms, k->connect_ms);
			CU_ASSERT_EQUAL(c.command_timeout_ms, k->command_ms);
			/* Empty strings are stored as NULL; others copied. */
			if (k->user && k->user[0]) {
				CU_ASSERT(c.user && strcmp(c.user, k->user) == 0 &&
				          c.user != k->user);
			} else {
				CU_ASSERT_PTR_NULL(c.user);
			}
			if (k->password && k->password[0]) {
				CU_ASSERT(c.password && strcmp(c.password, k->password) == 0 &&
				          c.password != k->password);
				CU_ASSERT_PTR_NULL(strstr(c.where, k->password));
			} else {
				CU_ASSERT_PTR_NULL(c.password);
			}
		}
		if (rc != k->rc || (k->rc != PC_OK && !strstr(err, k->msg)))
			fprintf(stderr, "\n  case %zu: rc %d err '%s'\n", i, rc, err);
		/* Cleanup is safe after success and failure, and twice. */
		pc_redis_conn_cleanup(&c);
		CU_ASSERT_PTR_NULL(c.host);
		pc_redis_conn_cleanup(&c);
	}
}

static void test_init_null_err_buffer(void)
{
	struct pc_redis_conn c;

	CU_ASSERT_EQUAL(pc_redis_conn_init(&c, "", 1, 0, NULL, NULL, 1, 1, NULL, 0), PC_ERR_INVAL);
	pc_redis_conn_cleanup(&c);
}

/* ---- against local sockets ---- */

static void test_connect_refused(void)
{
	struct pc_redis_conn c;
	char err[256] = "";
	int port = tu_closed_port();
	int64_t t0, took;
	int rc;

	CU_ASSERT_FATAL(port > 0);
	CU_ASSERT_EQUAL_FATAL(
	    pc_redis_conn_init(&c, "127.0.0.1", port, 0, NULL, NULL, 1000, 1000, err, sizeof err),
	    PC_OK);
	t0 = tu_now_ms();
	rc = pc_redis_backend_ops.connect(&c, err, sizeof err);
	took = tu_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, PC_ERR_IO);
	CU_ASSERT(err[0] != '\0');
	CU_ASSERT(took < 1000 + 500); /* within the connect timeout (refusal is immediate) */
	if (rc != PC_ERR_IO || took >= 1500)
		fprintf(stderr, "\n  rc %d in %lld ms: %s\n", rc, (long long)took, err);

	/* disconnect after a failed connect, twice; then cleanup. */
	pc_redis_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.ctx);
	pc_redis_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.ctx);
	pc_redis_conn_cleanup(&c);
}

static void test_check_never_connected(void)
{
	struct pc_redis_conn c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(
	    pc_redis_conn_init(&c, "127.0.0.1", 6379, 0, NULL, NULL, 100, 100, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(pc_redis_backend_ops.check(&c, err, sizeof err), PC_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not connected"));
	pc_redis_backend_ops.disconnect(&c); /* never opened: tolerated */
	pc_redis_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.ctx);
	pc_redis_conn_cleanup(&c);
}

/* A peer that completes the TCP handshake (listen backlog) but never answers. */
static void test_command_timeout(void)
{
	struct pc_redis_conn c;
	char err[256] = "";
	int port = 0, lfd = tu_listen_loopback(&port);
	int64_t t0, took;
	int rc;

	CU_ASSERT_FATAL(lfd >= 0); /* bound and listening */
	CU_ASSERT_FATAL(port > 0);
	CU_ASSERT_EQUAL_FATAL(
	    pc_redis_conn_init(&c, "127.0.0.1", port, 0, NULL, NULL, 1000, 200, err, sizeof err),
	    PC_OK);
	t0 = tu_now_ms();
	rc = pc_redis_backend_ops.connect(&c, err, sizeof err);
	took = tu_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, PC_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "PING: "));
	CU_ASSERT(took >= 150); /* it did wait for the reply ... */
	CU_ASSERT(took < 2000); /* ... but only about the command timeout */
	if (rc != PC_ERR_IO || took < 150 || took >= 2000)
		fprintf(stderr, "\n  rc %d in %lld ms: %s\n", rc, (long long)took, err);
	pc_redis_backend_ops.disconnect(&c);
	CU_ASSERT_PTR_NULL(c.ctx);
	pc_redis_conn_cleanup(&c);
	close(lfd);
}

/*
 * A scripted RESP server: accepts one connection, records each command
 * (arguments joined by spaces) and answers it with the next scripted
 * reply; when the script runs out it closes the connection.
 */
#define MAX_CMDS 8

struct fake_redis {
	int lfd, port;
	const char *replies[MAX_CMDS]; /* raw RESP, NULL-terminated list */
	char got[MAX_CMDS][128];
	int ngot;
	bool bad_input; /* something that was not a RESP array of bulk strings */
	pthread_t thread;
};

/* Parse one complete command from buf[0..len); returns bytes used, 0 if incomplete, -1 bad. */
static long parse_command(const char *buf, size_t len, char *out, size_t outlen)
{
	const char *p = buf, *end = buf + len;
	long argc, i;
	size_t used = 0;

	out[0] = '\0';
	if (len == 0)
		return 0;
	if (*p != '*')
		return -1;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return 0;
	argc = strtol(p + 1, NULL, 10);
	p = nl + 1;
	for (i = 0; i < argc; i++) {
		long n;

		if (p >= end)
			return 0;
		if (*p != '$')
			return -1;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 0;
		n = strtol(p + 1, NULL, 10);
		p = nl + 1;
		if (n < 0 || end - p < n + 2)
			return n < 0 ? -1 : 0;
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s%.*s",
		                         i ? " " : "", (int)n, p);
		if (used >= outlen)
			used = outlen - 1;
		p += n + 2;
	}
	return p - buf;
}

static void *fake_redis_main(void *arg)
{
	struct fake_redis *f = arg;
	struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
	char buf[4096], cmd[128];
	size_t len = 0;
	int fd, next = 0;

	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	pfd.fd = fd;
	for (;;) {
		long used;
		ssize_t n;

		if (poll(&pfd, 1, 5000) != 1)
			break;
		n = read(fd, buf + len, sizeof buf - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		while ((used = parse_command(buf, len, cmd, sizeof cmd)) > 0) {
			const char *reply = next < MAX_CMDS ? f->replies[next] : NULL;

			if (f->ngot < MAX_CMDS)
				snprintf(f->got[f->ngot++], sizeof f->got[0], "%s", cmd);
			memmove(buf, buf + used, len - (size_t)used);
			len -= (size_t)used;
			if (!reply)
				goto done;
			next++;
			if (write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
				goto done;
		}
		if (used < 0) {
			f->bad_input = true;
			break;
		}
	}
done:
	close(fd);
	return NULL;
}

static bool fake_redis_start(struct fake_redis *f)
{
	f->lfd = tu_listen_loopback(&f->port);
	if (f->lfd < 0)
		return false;
	return pthread_create(&f->thread, NULL, fake_redis_main, f) == 0;
}

static void fake_redis_stop(struct fake_redis *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

struct session_case {
	const char *name;
	const char *user, *password;
	int db;
	const char *replies[MAX_CMDS];
	int connect_rc;
	const char *connect_msg;    /* substring of err when connect fails */
	const char *cmds[MAX_CMDS]; /* what the server received, the unanswered last one too */
};

static void test_scripted_sessions(void)
{
	static const struct session_case cases[] = {
	    {"no auth, db 0",
	     NULL,
	     NULL,
	     0,
	     {"+PONG\r\n", "+PONG\r\n"},
	     PC_OK,
	     NULL,
	     {"PING", "PING", "PING"}},
	    {"password only",
	     NULL,
	     "pw",
	     0,
	     {"+OK\r\n", "+PONG\r\n", "+PONG\r\n"},
	     PC_OK,
	     NULL,
	     {"AUTH pw", "PING", "PING", "PING"}},
	    {"user, password and db",
	     "alice",
	     "s3cret",
	     3,
	     {"+OK\r\n", "+OK\r\n", "+PONG\r\n", "+PONG\r\n"},
	     PC_OK,
	     NULL,
	     {"AUTH alice s3cret", "SELECT 3", "PING", "PING", "PING"}},
	    {"user without password: no AUTH",
	     "alice",
	     NULL,
	     7,
	     {"+OK\r\n", "+PONG\r\n", "+PONG\r\n"},
	     PC_OK,
	     NULL,
	     {"SELECT 7", "PING", "PING", "PING"}},
	    {"AUTH refused",
	     "alice",
	     "bad",
	     0,
	     {"-WRONGPASS invalid username-password pair\r\n"},
	     PC_ERR_BACKEND,
	     "AUTH: WRONGPASS invalid",
	     {"AUTH alice bad"}},
	    {"SELECT out of range",
	     NULL,
	     NULL,
	     99,
	     {"-ERR DB index is out of range\r\n"},
	     PC_ERR_BACKEND,
	     "SELECT: ERR DB index",
	     {"SELECT 99"}},
	    {"PING answered oddly",
	     NULL,
	     NULL,
	     0,
	     {"$4\r\nPONG\r\n"},
	     PC_ERR_BACKEND,
	     "PING: unexpected reply",
	     {"PING"}},
	    {"server hangs up at once", NULL, NULL, 0, {NULL}, PC_ERR_IO, "PING: ", {"PING"}},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct session_case *k = &cases[i];
		struct fake_redis f;
		struct pc_redis_conn c;
		char err[256] = "";
		int j, rc, ncmds = 0;

		memset(&f, 0, sizeof f);
		memcpy(f.replies, k->replies, sizeof f.replies);
		CU_ASSERT_FATAL(fake_redis_start(&f));
		CU_ASSERT_EQUAL_FATAL(pc_redis_conn_init(&c, "127.0.0.1", f.port, k->db, k->user,
		                                         k->password, 1000, 1000, err, sizeof err),
		                      PC_OK);
		rc = pc_redis_backend_ops.connect(&c, err, sizeof err);
		CU_ASSERT_EQUAL(rc, k->connect_rc);
		if (k->connect_rc == PC_OK) {
			/* One good check, then the script ends and the server hangs up. */
			CU_ASSERT_EQUAL(pc_redis_backend_ops.check(&c, err, sizeof err), PC_OK);
			CU_ASSERT_EQUAL(pc_redis_backend_ops.check(&c, err, sizeof err), PC_ERR_IO);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "PING: "));
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, k->connect_msg));
		}
		if (rc != k->connect_rc)
			fprintf(stderr, "\n  %s: rc %d: %s\n", k->name, rc, err);
		pc_redis_backend_ops.disconnect(&c); /* the server sees EOF and ends */
		CU_ASSERT_PTR_NULL(c.ctx);
		fake_redis_stop(&f);

		CU_ASSERT_FALSE(f.bad_input);
		while (ncmds < MAX_CMDS && k->cmds[ncmds])
			ncmds++;
		CU_ASSERT_EQUAL(f.ngot, ncmds);
		for (j = 0; j < ncmds && j < f.ngot; j++) {
			CU_ASSERT_STRING_EQUAL(f.got[j], k->cmds[j]);
			if (strcmp(f.got[j], k->cmds[j]) != 0)
				fprintf(stderr, "\n  %s: command %d '%s', want '%s'\n", k->name, j,
				        f.got[j], k->cmds[j]);
		}
		pc_redis_conn_cleanup(&c);
	}
}

static CU_TestInfo tests[] = {
    {"init validation table", test_init_table},
    {"init with a NULL error buffer", test_init_null_err_buffer},
    {"connect to a closed port fails fast", test_connect_refused},
    {"check before connect, disconnect idempotent", test_check_never_connected},
    {"command timeout on a silent peer", test_command_timeout},
    {"scripted server: AUTH/SELECT/PING and errors", test_scripted_sessions},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("redis_conn", tests);
}

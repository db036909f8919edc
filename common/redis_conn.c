/*
 * redis_conn.c - open, check and close one hiredis connection.
 *
 * Blocking hiredis calls with a connect timeout and a socket timeout, made
 * only from a supervisor or worker thread, never from the broker thread.
 * See redis_conn.h.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "precis/error.h"
#include "precis/redis_conn.h"

static struct timeval ms_to_tv(int64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

int pc_redis_conn_init(struct pc_redis_conn *c, const char *host, int port, int db,
                       const char *user, const char *password, int64_t connect_timeout_ms,
                       int64_t command_timeout_ms, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (!host || !host[0])
		return pc_errf(err, errlen, PC_ERR_INVAL, "redis host is empty");
	if (port < 1 || port > 65535)
		return pc_errf(err, errlen, PC_ERR_INVAL, "redis port %d is out of range 1..65535",
		               port);
	if (db < 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "redis database %d is negative", db);
	if (connect_timeout_ms < 1 || command_timeout_ms < 1)
		return pc_errf(err, errlen, PC_ERR_INVAL, "redis timeouts must be at least 1 ms");
	c->host = strdup(host);
	c->user = user && user[0] ? strdup(user) : NULL;
	c->password = password && password[0] ? strdup(password) : NULL;
	if (!c->host || (user && user[0] && !c->user) || (password && password[0] && !c->password))
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
	c->port = port;
	c->db = db;
	c->connect_timeout_ms = connect_timeout_ms;
	c->command_timeout_ms = command_timeout_ms;
	snprintf(c->where, sizeof c->where, "%s:%d/%d", host, port, db);
	return PC_OK;
}

void pc_redis_conn_cleanup(struct pc_redis_conn *c)
{
	if (c->ctx) {
		redisFree(c->ctx);
		c->ctx = NULL;
	}
	free(c->host);
	free(c->user);
	free(c->password);
	c->host = c->user = c->password = NULL;
}

/* Run one command; PC_OK when the reply is not an error (and is `expect` if given). */
static int command_ok(struct pc_redis_conn *c, const char *expect, char *err, size_t errlen,
                      int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c->ctx, argc, argv, NULL);
	int rc = PC_OK;

	if (!r)
		return pc_errf(err, errlen, PC_ERR_IO, "%s: %s", argv[0],
		               c->ctx->errstr[0] ? c->ctx->errstr : "connection error");
	if (r->type == REDIS_REPLY_ERROR)
		rc = pc_errf(err, errlen, PC_ERR_BACKEND, "%s: %s", argv[0], r->str);
	else if (expect && (r->type != REDIS_REPLY_STATUS || strcmp(r->str, expect) != 0))
		rc = pc_errf(err, errlen, PC_ERR_BACKEND, "%s: unexpected reply", argv[0]);
	freeReplyObject(r);
	return rc;
}

static int redis_connect(void *conn, char *err, size_t errlen)
{
	struct pc_redis_conn *c = conn;
	char dbtext[16];
	int rc;

	c->ctx = redisConnectWithTimeout(c->host, c->port, ms_to_tv(c->connect_timeout_ms));
	if (!c->ctx)
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
	if (c->ctx->err)
		return pc_errf(err, errlen, PC_ERR_IO, "%s", c->ctx->errstr);
	if (redisSetTimeout(c->ctx, ms_to_tv(c->command_timeout_ms)) != REDIS_OK)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot set socket timeout: %s",
		               c->ctx->errstr);
	redisEnableKeepAlive(c->ctx);
	if (c->password) {
		const char *auth_user[] = {"AUTH", c->user, c->password};
		const char *auth_pass[] = {"AUTH", c->password};

		rc = c->user ? command_ok(c, "OK", err, errlen, 3, auth_user)
		             : command_ok(c, "OK", err, errlen, 2, auth_pass);
		if (rc != PC_OK)
			return rc;
	}
	if (c->db != 0) {
		const char *select[] = {"SELECT", dbtext};

		snprintf(dbtext, sizeof dbtext, "%d", c->db);
		rc = command_ok(c, "OK", err, errlen, 2, select);
		if (rc != PC_OK)
			return rc;
	}
	const char *ping[] = {"PING"};
	return command_ok(c, "PONG", err, errlen, 1, ping);
}

static int redis_check(void *conn, char *err, size_t errlen)
{
	struct pc_redis_conn *c = conn;
	const char *ping[] = {"PING"};

	if (!c->ctx)
		return pc_errf(err, errlen, PC_ERR_IO, "not connected");
	return command_ok(c, "PONG", err, errlen, 1, ping);
}

static void redis_disconnect(void *conn)
{
	struct pc_redis_conn *c = conn;

	if (c->ctx) {
		redisFree(c->ctx);
		c->ctx = NULL;
	}
}

static const char *redis_describe(void *conn)
{
	return ((struct pc_redis_conn *)conn)->where;
}

const struct pc_backend_ops pc_redis_backend_ops = {
    .kind = "redis",
    .connect = redis_connect,
    .check = redis_check,
    .disconnect = redis_disconnect,
    .describe = redis_describe,
};

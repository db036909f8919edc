/*
 * redis_conn.h - one hiredis connection with timeouts, as a supervisor backend.
 *
 * Holds where and how to reach Redis (host, port, database, optional ACL
 * user and password, connect and command timeouts) and the live
 * redisContext. pc_redis_backend_ops lets a pc_supervisor keep it open:
 * connect = TCP connect within the connect timeout, AUTH, SELECT, PING;
 * check = PING within the command timeout.
 */
#ifndef PRECIS_REDIS_CONN_H
#define PRECIS_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "precis/supervisor.h"

struct redisContext;

struct pc_redis_conn {
	char *host;
	int port;
	int db;
	char *user;     /* NULL or "": AUTH with the password only */
	char *password; /* NULL or "": no AUTH */
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	struct redisContext *ctx; /* NULL while disconnected */
	char where[300];          /* "host:port/db" for logs */
};

/*
 * pc_redis_conn_init - fill c from the arguments (strings are copied; c
 * owns them) without connecting. user and password may be NULL.
 * Returns PC_OK, PC_ERR_INVAL (empty host, port outside 1..65535, db < 0,
 * timeouts < 1 ms) or PC_ERR_NOMEM, with detail. Release with
 * pc_redis_conn_cleanup, also after a failure.
 */
int pc_redis_conn_init(struct pc_redis_conn *c, const char *host, int port, int db,
                       const char *user, const char *password, int64_t connect_timeout_ms,
                       int64_t command_timeout_ms, char *err, size_t errlen);

/* pc_redis_conn_cleanup - close the connection if open and free the strings. */
void pc_redis_conn_cleanup(struct pc_redis_conn *c);

/* The supervisor ops for a struct pc_redis_conn. */
extern const struct pc_backend_ops pc_redis_backend_ops;

#endif

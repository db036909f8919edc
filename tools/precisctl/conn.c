/*
 * conn.c - precisctl's connections and output helpers.
 *
 * MongoDB and Redis open lazily, through the same libprecis connection
 * code the plugins use (timeouts, URI and name checks), so a subcommand
 * that needs neither never touches the network.
 */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ctl.h"
#include "precis/error.h"

int ctl_error(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "precisctl: %s\n", line);
	return code;
}

static void quiet_mongoc_log(mongoc_log_level_t level, const char *domain, const char *message,
                             void *user_data)
{
	/* libmongoc's own warnings (endSessions on FerretDB, say) are not ours to show. */
	if (level <= MONGOC_LOG_LEVEL_CRITICAL)
		fprintf(stderr, "precisctl: %s: %s\n", domain, message);
}

mongoc_client_t *ctl_mongo(struct ctl *c)
{
	char err[512];

	if (c->mongo_open)
		return c->mongo.client;
	pc_mongo_global_init();
	mongoc_log_set_handler(quiet_mongoc_log, NULL);
	if (pc_mongo_conn_init(&c->mongo, c->mongo_uri, c->mongo_db, c->timeout_ms, "precisctl",
	                       err, sizeof err) != PC_OK) {
		pc_mongo_conn_cleanup(&c->mongo);
		ctl_error(CTL_ERR, "--mongo-uri / --mongo-db: %s", err);
		return NULL;
	}
	if (pc_mongo_backend_ops.connect(&c->mongo, err, sizeof err) != PC_OK) {
		ctl_error(CTL_ERR, "cannot reach MongoDB at %s: %s", c->mongo.where, err);
		pc_mongo_conn_cleanup(&c->mongo);
		return NULL;
	}
	c->mongo_open = true;
	return c->mongo.client;
}

mongoc_collection_t *ctl_collection(struct ctl *c, const char *name)
{
	mongoc_client_t *client = ctl_mongo(c);

	return client ? mongoc_client_get_collection(client, c->mongo.db, name) : NULL;
}

struct redisContext *ctl_redis(struct ctl *c)
{
	char err[512];

	if (c->redis_open)
		return c->redis.ctx;
	if (pc_redis_conn_init(&c->redis, c->redis_host, c->redis_port, c->redis_db, NULL,
	                       c->redis_password, c->timeout_ms, c->timeout_ms, err,
	                       sizeof err) != PC_OK) {
		pc_redis_conn_cleanup(&c->redis);
		ctl_error(CTL_ERR, "redis: %s", err);
		return NULL;
	}
	if (pc_redis_backend_ops.connect(&c->redis, err, sizeof err) != PC_OK) {
		ctl_error(CTL_ERR, "cannot reach Redis at %s: %s", c->redis.where, err);
		pc_redis_conn_cleanup(&c->redis);
		return NULL;
	}
	c->redis_open = true;
	return c->redis.ctx;
}

void ctl_close(struct ctl *c)
{
	if (c->mongo_open) {
		pc_mongo_conn_cleanup(&c->mongo);
		c->mongo_open = false;
	}
	if (c->redis_open) {
		pc_redis_conn_cleanup(&c->redis);
		c->redis_open = false;
	}
}

void ctl_print_json(const bson_t *doc)
{
	char *s = bson_as_relaxed_extended_json(doc, NULL);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		bson_free(s);
	}
}

int64_t ctl_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

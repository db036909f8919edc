/*
 * subscriber.c - the notice subscriber: a second Redis connection that
 * listens to the scripts' transition notices.
 *
 * Every transition script PUBLISHes "<device> <origin> <json>" on
 * <prefix>notices; this thread hands each notice caused by someone else
 * (precisctl, another broker) to command__notice (notices.c). The
 * notices of this broker's own scripts come back with the scripts'
 * replies and are handled by the worker, so none of them is lost when
 * this connection is. Each (re)connect asks for a resync, since notices
 * sent meanwhile are lost (Redis pub/sub keeps nothing).
 *
 * It owns its own supervisor backend (ops below): connect = connect,
 * AUTH, SELECT, SUBSCRIBE; check = a PING whose PONG must come back
 * within the command timeout. The work function polls the socket for up
 * to POLL_MS at a time and reads replies off hiredis's buffer, so a
 * blocking read never outlives a shutdown request by more than that.
 */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

#define POLL_MS 200

struct command__sub {
	struct command__data *d;
	struct pc_redis_conn conn;
	char where[640];
	int64_t ping_sent; /* monotonic ms of the PING not answered yet, 0: none */
};

struct command__sub *command__sub_new(struct command__data *d, char *err, size_t errlen)
{
	struct command__sub *s = calloc(1, sizeof *s);
	const struct command__config *c = &d->conf;

	if (!s) {
		pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->d = d;
	if (pc_redis_conn_init(&s->conn, c->redis_host, (int)c->redis_port, (int)c->redis_db,
	                       c->redis_user, c->redis_password, c->backend.connect_timeout_ms,
	                       c->command_timeout_ms, err, errlen) != PC_OK) {
		command__sub_free(s);
		return NULL;
	}
	snprintf(s->where, sizeof s->where, "%s %s", s->conn.where, d->channel);
	return s;
}

void command__sub_free(struct command__sub *s)
{
	if (!s)
		return;
	pc_redis_conn_cleanup(&s->conn);
	free(s);
}

static int sub_connect(void *conn, char *err, size_t errlen)
{
	struct command__sub *s = conn;
	const char *argv[] = {"SUBSCRIBE", s->d->channel};
	redisReply *r;
	int rc = pc_redis_backend_ops.connect(&s->conn, err, errlen);

	s->ping_sent = 0;
	if (rc != PC_OK)
		return rc;
	r = redisCommandArgv(s->conn.ctx, 2, argv, NULL);
	if (!r)
		return pc_errf(err, errlen, PC_ERR_IO, "SUBSCRIBE: %s", s->conn.ctx->errstr);
	rc = r->type == REDIS_REPLY_ARRAY
	         ? PC_OK
	         : pc_errf(err, errlen, PC_ERR_BACKEND, "SUBSCRIBE: %s",
	                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	if (rc == PC_OK) /* notices may have been missed while away */
		command__job_push(s->d, command__job_new(COMMAND_JOB_RESYNC, "-", 1));
	return rc;
}

static int flush_out(redisContext *c)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return PC_ERR_IO;
	return PC_OK;
}

/* A PING (answered as a "pong" message in subscribed mode); the work function checks the answer. */
static int sub_check(void *conn, char *err, size_t errlen)
{
	struct command__sub *s = conn;

	if (!s->conn.ctx)
		return pc_errf(err, errlen, PC_ERR_IO, "not connected");
	if (s->ping_sent)
		return PC_OK; /* one at a time; the work function times it out */
	if (redisAppendCommand(s->conn.ctx, "PING") != REDIS_OK || flush_out(s->conn.ctx) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_IO, "PING: %s", s->conn.ctx->errstr);
	s->ping_sent = pc_mono_ms();
	return PC_OK;
}

static void sub_disconnect(void *conn)
{
	struct command__sub *s = conn;

	pc_redis_backend_ops.disconnect(&s->conn);
	s->ping_sent = 0;
}

static const char *sub_describe(void *conn)
{
	return ((struct command__sub *)conn)->where;
}

const struct pc_backend_ops command__sub_ops = {
    .kind = "redis-notices",
    .connect = sub_connect,
    .check = sub_check,
    .disconnect = sub_disconnect,
    .describe = sub_describe,
};

static void reply(struct command__sub *s, const redisReply *r)
{
	const redisReply *kind;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return;
	kind = r->element[0];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "pong") == 0)
		s->ping_sent = 0;
	else if (strcmp(kind->str, "message") == 0 && r->elements == 3 &&
	         r->element[2]->type == REDIS_REPLY_STRING)
		command__notice(s->d, r->element[2]->str, r->element[2]->len, false);
}

int command__sub_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                      size_t errlen)
{
	struct command__data *d = arg;
	struct command__sub *s = d->sub;
	redisContext *c = s->conn.ctx;
	struct pollfd p;
	void *r;

	*next_ms = d->conf.backend.check_interval_ms;
	if (!up || !c)
		return PC_OK;
	/* Replies already buffered first: poll() knows nothing of them. */
	for (;;) {
		r = NULL;
		if (redisGetReplyFromReader(c, &r) != REDIS_OK)
			return pc_errf(err, errlen, PC_ERR_IO, "%s", c->errstr);
		if (!r)
			break;
		reply(s, r);
		freeReplyObject(r);
	}
	/* A PONG is due within a round trip; a busy machine gets a check interval more. */
	if (s->ping_sent && pc_mono_ms() - s->ping_sent >
	                        d->conf.command_timeout_ms + d->conf.backend.check_interval_ms)
		return pc_errf(
		    err, errlen, PC_ERR_TIMEOUT, "no PONG within %lld ms",
		    (long long)(d->conf.command_timeout_ms + d->conf.backend.check_interval_ms));
	p.fd = c->fd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, POLL_MS) > 0 && redisBufferRead(c) != REDIS_OK)
		return pc_errf(err, errlen, PC_ERR_IO, "%s",
		               c->errstr[0] ? c->errstr : "connection closed");
	*next_ms = 0; /* back at once: the loop polls */
	return PC_OK;
}

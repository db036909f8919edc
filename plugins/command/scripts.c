/*
 * scripts.c - loading and calling the lifecycle scripts (scripts.h).
 *
 * Builds EVALSHA argument vectors in the convention of lua/prelude.lua,
 * sends them synchronously or into a pipeline, recovers from NOSCRIPT by
 * reloading, and turns the view element of a reply into a struct
 * command__view. The scripts' text is generated into lua_sources.c by
 * the build. Blocking hiredis calls: worker threads and precisctl only,
 * never the broker thread.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "scripts.h"

int command__key_base(char *buf, size_t buflen, const char *prefix, const char *dev)
{
	int n = snprintf(buf, buflen, "%s{%s}:", prefix, dev);

	return n < 0 || (size_t)n >= buflen ? PC_ERR_TOO_LONG : n;
}

int command__scripts_load(struct redisContext *c, struct command__shas *s, char *err, size_t errlen)
{
	s->loaded = false;
	for (int i = 0; i < COMMAND_NSCRIPTS; i++) {
		const char *argv[] = {"SCRIPT", "LOAD", command__scripts[i].src};
		size_t argvlen[] = {6, 4, command__scripts[i].len};
		redisReply *r = redisCommandArgv(c, 3, argv, argvlen);

		if (!r)
			return pc_errf(err, errlen, PC_ERR_IO, "SCRIPT LOAD %s: %s",
			               command__scripts[i].name,
			               c->errstr[0] ? c->errstr : "connection error");
		if (r->type != REDIS_REPLY_STRING || r->len != 40) {
			pc_errf(err, errlen, PC_ERR_BACKEND, "SCRIPT LOAD %s: %s",
			        command__scripts[i].name,
			        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			freeReplyObject(r);
			return PC_ERR_BACKEND;
		}
		memcpy(s->sha[i], r->str, 41);
		freeReplyObject(r);
	}
	s->loaded = true;
	return PC_OK;
}

static void push(struct command__call *c, const char *s, size_t len)
{
	if (c->argc >= COMMAND_CALL_ARGS_MAX) {
		c->overflow = true;
		return;
	}
	c->argv[c->argc] = s;
	c->argvlen[c->argc] = len;
	c->argc++;
}

void command__call_int(struct command__call *c, int64_t v)
{
	char *p;

	if (c->nnums >= COMMAND_CALL_NUMS) {
		c->overflow = true;
		return;
	}
	p = c->nums[c->nnums++];
	snprintf(p, sizeof c->nums[0], "%" PRId64, v);
	push(c, p, strlen(p));
}

void command__call_arg(struct command__call *c, const char *s, size_t len)
{
	push(c, s, len);
}

void command__call_str(struct command__call *c, const char *s)
{
	push(c, s, strlen(s));
}

void command__call_init(struct command__call *c, enum command__script_id id,
                        const struct command__script_env *env, const char *dev, int64_t now_ms)
{
	int n;

	c->id = id;
	c->argc = 0;
	c->nnums = 0;
	c->overflow = false;
	n = command__key_base(c->key, sizeof c->key, env->prefix, dev);
	push(c, "EVALSHA", 7);
	push(c, "", 0); /* the SHA, filled in when sent */
	push(c, "1", 1);
	push(c, c->key, n > 0 ? (size_t)n : 0);
	command__call_str(c, dev);
	if (now_ms > 0)
		command__call_int(c, now_ms);
	else
		push(c, "", 0);
	command__call_str(c, env->channel);
	command__call_str(c, env->origin);
	command__call_int(c, env->view_max);
	command__call_int(c, env->log_max);
	command__call_int(c, env->done_max);
	push(c, env->archive ? "1" : "0", 1);
	if (n < 0)
		c->overflow = true;
}

int command__call_append(struct redisContext *c, const struct command__shas *s,
                         struct command__call *call)
{
	if (call->overflow)
		return PC_ERR_INVAL;
	call->argv[1] = s->sha[call->id];
	call->argvlen[1] = 40;
	return redisAppendCommandArgv(c, call->argc, call->argv, call->argvlen) == REDIS_OK
	           ? PC_OK
	           : PC_ERR_NOMEM;
}

bool command__reply_noscript(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

redisReply *command__call_run(struct redisContext *c, struct command__shas *s,
                              struct command__call *call, bool *reloaded, char *err, size_t errlen)
{
	redisReply *r = NULL;

	if (reloaded)
		*reloaded = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		void *reply = NULL;

		if (!s->loaded && command__scripts_load(c, s, err, errlen) != PC_OK)
			return NULL;
		if (command__call_append(c, s, call) != PC_OK) {
			pc_errf(err, errlen, PC_ERR_INVAL, "%s: cannot build the call",
			        command__scripts[call->id].name);
			return NULL;
		}
		if (redisGetReply(c, &reply) != REDIS_OK) {
			pc_errf(err, errlen, PC_ERR_IO, "%s: %s", command__scripts[call->id].name,
			        c->errstr[0] ? c->errstr : "connection error");
			return NULL;
		}
		r = reply;
		if (!command__reply_noscript(r) || attempt == 1)
			break;
		freeReplyObject(r);
		r = NULL;
		s->loaded = false;
		if (reloaded)
			*reloaded = true;
	}
	return r;
}

const char *command__reply_outcome(const redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return NULL;
	return r->element[0]->str;
}

static int64_t int_of(const redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : -1;
}

static char *dup_of(const redisReply *r)
{
	char *p;

	if (r->type != REDIS_REPLY_STRING)
		return NULL;
	p = malloc(r->len + 1);
	if (p) {
		memcpy(p, r->str, r->len);
		p[r->len] = '\0';
	}
	return p;
}

int command__reply_view(const redisReply *r, struct command__view *v)
{
	const redisReply *vr, *ready;
	size_t n;

	memset(v, 0, sizeof *v);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return PC_ERR_INVAL;
	vr = r->element[1];
	if (vr->type != REDIS_REPLY_ARRAY || vr->elements != 4 ||
	    vr->element[0]->type != REDIS_REPLY_INTEGER ||
	    vr->element[3]->type != REDIS_REPLY_ARRAY || vr->element[3]->elements % 5 != 0)
		return PC_ERR_INVAL;
	v->due_in = int_of(vr->element[0]);
	v->npending = int_of(vr->element[1]);
	v->ninflight = int_of(vr->element[2]);
	ready = vr->element[3];
	n = ready->elements / 5;
	for (size_t i = 0; i < ready->elements; i++) {
		int want = i % 5 < 3 ? REDIS_REPLY_STRING : REDIS_REPLY_INTEGER;

		if (ready->element[i]->type != want)
			return PC_ERR_INVAL;
	}
	if (n == 0)
		return PC_OK;
	v->cmds = calloc(n, sizeof *v->cmds);
	if (!v->cmds)
		return PC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct command__cmd *c = &v->cmds[i];
		redisReply **e = ready->element + 5 * i;

		v->n = i + 1;
		c->cid = dup_of(e[0]);
		c->op = dup_of(e[1]);
		c->args = dup_of(e[2]);
		c->expire_at = int_of(e[3]);
		c->attempts = int_of(e[4]);
		if (!c->cid || !c->op || !c->args) {
			command__view_free(v);
			return PC_ERR_NOMEM;
		}
	}
	return PC_OK;
}

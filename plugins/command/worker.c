/*
 * worker.c - the Redis worker: runs the jobs on the command connection.
 *
 * The work function of the Redis backend's supervisor thread. Each call
 * takes up to BATCH jobs (those carried over from a broken connection
 * first, then the queue, then the devices whose due time has come) and
 * pipelines them: one EVALSHA (or HSET, HGETALL) per job, then the
 * replies in order. A NOSCRIPT reply (Redis restarted, SCRIPT FLUSH)
 * reloads the scripts and runs that job again; a connection that breaks
 * mid-pipeline keeps the unanswered jobs for the next connection (the
 * scripts are idempotent for a retried job: a claim finds its commands
 * already in flight, an enqueue finds its id taken). While Redis is down
 * jobs wait in the queue. Every script reply carries the device's view,
 * which goes to the broker thread, and its due time, which goes into the
 * due set. Never calls mosquitto_*.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "due.h"
#include "precis/error.h"

#define BATCH  128
#define ROUNDS 16 /* batches per call before the supervisor gets a turn */

struct command__worker {
	struct command__shas shas;
	struct command__due *due;
	struct command__job *carry[BATCH]; /* sent, not answered: the connection broke */
	size_t ncarry;
	bool resync;   /* a resync is due (the subscriber reconnected) */
	bool restored; /* presence was restored from Redis once */
};

struct command__worker *command__worker_new(void)
{
	struct command__worker *w = calloc(1, sizeof *w);

	if (w && !(w->due = command__due_new())) {
		free(w);
		return NULL;
	}
	return w;
}

void command__worker_free(struct command__worker *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ncarry; i++)
		command__job_free(w->carry[i]);
	command__due_free(w->due);
	free(w);
}

struct command__due *command__worker_due(struct command__worker *w)
{
	return w->due;
}

/* The script call of a job (jobs that are plain commands have none). */
static bool build_call(struct command__data *d, const struct command__job *j,
                       struct command__call *c)
{
	const struct command__request *r = &j->req;

	switch (j->kind) {
	case COMMAND_JOB_CLAIM:
		command__call_init(c, COMMAND_S_CLAIM, &d->env, j->dev, 0);
		command__call_int(c, (int64_t)j->ncids);
		for (size_t i = 0; i < j->ncids; i++)
			command__call_str(c, j->cids[i]);
		return true;
	case COMMAND_JOB_ACK:
		command__call_init(c, COMMAND_S_ACK, &d->env, j->dev, 0);
		command__call_str(c, j->cid);
		command__call_str(c, command__ack_status_name(j->status));
		command__call_str(c, j->text ? j->text : "");
		return true;
	case COMMAND_JOB_ENQUEUE:
		command__call_init(c, COMMAND_S_ENQUEUE, &d->env, j->dev, 0);
		command__call_str(c, j->cid);
		command__call_str(c, r->op);
		command__call_str(c, r->args);
		command__call_int(c, r->priority);
		command__call_int(c, r->delay_ms);
		command__call_int(c, r->ttl_ms);
		command__call_int(c, r->timeout_ms);
		command__call_int(c, r->attempts);
		command__call_str(c, r->supersede);
		command__call_int(c, d->conf.max_pending);
		return true;
	case COMMAND_JOB_REFRESH:
		command__call_init(c, COMMAND_S_SWEEP, &d->env, j->dev, 0);
		return true;
	case COMMAND_JOB_ARCHIVED:
		command__call_init(c, COMMAND_S_ARCHIVED, &d->env, j->dev, 0);
		command__call_str(c, j->cid);
		return true;
	default:
		return false;
	}
}

/* Queue a job's command on the pipeline. False: nothing was sent for it. */
static bool append(struct command__data *d, struct redisContext *ctx, struct command__job *j)
{
	struct command__worker *w = d->worker;
	struct command__call c;
	char key[COMMAND_KEY_MAX + COMMAND_TOKEN_MAX + 16], num[4][24];
	int n = command__key_base(key, sizeof key, d->conf.redis_prefix, j->dev);

	if (n < 0)
		return false;
	if (build_call(d, j, &c))
		return command__call_append(ctx, &w->shas, &c) == PC_OK;
	if (j->kind == COMMAND_JOB_PRESENCE) {
		const char *argv[] = {
		    "HSET",      key,    "online",   j->presence.online ? "1" : "0",
		    "last_seen", num[0], "interval", num[1],
		    "seq",       num[2], "reason",   j->presence.reason,
		    "updated",   num[3]};

		strcat(key, "presence");
		snprintf(num[0], sizeof num[0], "%" PRId64, j->presence.last_seen);
		snprintf(num[1], sizeof num[1], "%" PRId64, j->presence.interval_ms);
		snprintf(num[2], sizeof num[2], "%" PRId64, j->presence.seq);
		snprintf(num[3], sizeof num[3], "%" PRId64, pc_wall_ms());
		return redisAppendCommandArgv(ctx, 14, argv, NULL) == REDIS_OK;
	}
	if (j->kind == COMMAND_JOB_ARCHIVE) {
		const char *argv[] = {"HGETALL", key};
		const char *at = strchr(j->cid, '@');

		if (!at)
			return false;
		snprintf(key + n, sizeof key - (size_t)n, "cmd:%.*s", (int)(at - j->cid), j->cid);
		return redisAppendCommandArgv(ctx, 2, argv, NULL) == REDIS_OK;
	}
	return false;
}

static void count_ack(struct command__data *d, const char *outcome)
{
	if (strcmp(outcome, "applied") == 0)
		pb_count(&d->stats.acks_applied, 1);
	else if (strcmp(outcome, "duplicate") == 0)
		pb_count(&d->stats.acks_duplicate, 1);
	else if (strcmp(outcome, "foreign") == 0)
		pb_count(&d->stats.acks_foreign, 1);
	else
		pb_count(&d->stats.acks_forged, 1); /* unknown, or never delivered */
}

static void refused(struct command__data *d, const struct command__job *j, const char *why)
{
	char topic[PC_TOPIC_MAX + 1];
	size_t len;
	char *payload;

	pb_count(&d->stats.refused, 1);
	pc_log(&d->base.log, PC_LOG_NOTICE, "refused command %s (%s) for %s: %s", j->cid, j->req.op,
	       j->dev, why);
	if (pc_topic_build(topic, sizeof topic, d->conf.topic_root, PC_T_OPS_CMD_STATE, j->dev,
	                   NULL) < 0 ||
	    !(payload = command__refused_payload(j->req.op, pc_wall_ms(), why, &len)))
		return;
	command__out_publish(d, topic, payload, len, 1, false);
	free(payload);
}

/* What a job's reply means; r is never NOSCRIPT here. */
static void handle(struct command__data *d, struct command__job *j, redisReply *r)
{
	const char *outcome = command__reply_outcome(r);

	if (r->type == REDIS_REPLY_ERROR) {
		pb_count(&d->stats.redis_errors, 1);
		pc_log(&d->base.log, PC_LOG_ERR, "redis refused a job for %s: %s", j->dev, r->str);
		if (j->kind == COMMAND_JOB_CLAIM) /* the broker waits for every claim's answer */
			command__handle_view(d, j->dev, r, true, j->gen);
		return;
	}
	command__reply_notices(d, r);
	switch (j->kind) {
	case COMMAND_JOB_CLAIM:
		if (r->elements >= 4 && r->element[3]->type == REDIS_REPLY_ARRAY)
			pb_count(&d->stats.claims_missed, r->element[3]->elements);
		command__handle_view(d, j->dev, r, true, j->gen);
		break;
	case COMMAND_JOB_ACK:
		count_ack(d, outcome ? outcome : "?");
		command__handle_view(d, j->dev, r, false, 0);
		break;
	case COMMAND_JOB_ENQUEUE:
		if (outcome && strcmp(outcome, "ok") == 0)
			pb_count(&d->stats.enqueued, 1);
		else if (outcome && strcmp(outcome, "full") == 0)
			refused(d, j, "the device has plugin_opt_max_pending commands already");
		else if (!outcome || strcmp(outcome, "exists") != 0)
			refused(d, j, "the command id is not this device's");
		command__handle_view(d, j->dev, r, false, 0);
		break;
	case COMMAND_JOB_REFRESH:
		command__handle_view(d, j->dev, r, false, 0);
		break;
	case COMMAND_JOB_ARCHIVE:
		command__archive_read(d, j->dev, j->cid, r);
		break;
	default:
		break;
	}
}

/*
 * Pipeline jobs[0..n); the jobs are freed or carried. Returns PC_OK or
 * PC_ERR_IO when the connection broke.
 */
static int run_batch(struct command__data *d, struct redisContext *ctx, struct command__job **jobs,
                     size_t n, char *err, size_t errlen)
{
	struct command__worker *w = d->worker;
	bool sent[BATCH], retry[BATCH] = {false};
	size_t nretry = 0;

	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->kind == COMMAND_JOB_RESYNC)
			w->resync = true;
		sent[i] = jobs[i]->kind != COMMAND_JOB_RESYNC && append(d, ctx, jobs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		void *reply = NULL;

		if (!sent[i])
			continue;
		if (redisGetReply(ctx, &reply) != REDIS_OK) {
			pc_errf(err, errlen, PC_ERR_IO, "%s",
			        ctx->errstr[0] ? ctx->errstr : "connection error");
			for (size_t k = i; k < n; k++) {
				if (sent[k])
					w->carry[w->ncarry++] = jobs[k];
				else
					command__job_free(jobs[k]);
			}
			for (size_t k = 0; k < i; k++) {
				if (retry[k])
					w->carry[w->ncarry++] = jobs[k];
				else
					command__job_free(jobs[k]);
			}
			return PC_ERR_IO;
		}
		if (command__reply_noscript(reply)) {
			retry[i] = true;
			nretry++;
		} else {
			handle(d, jobs[i], reply);
		}
		freeReplyObject(reply);
	}
	if (nretry) {
		pb_count(&d->stats.noscript, 1);
		w->shas.loaded = false;
		pc_log(&d->base.log, PC_LOG_NOTICE, "redis lost the scripts (NOSCRIPT): reloading");
	}
	for (size_t i = 0; i < n; i++) {
		struct command__call c;
		redisReply *r;

		if (retry[i] && build_call(d, jobs[i], &c)) {
			r = command__call_run(ctx, &w->shas, &c, NULL, err, errlen);
			if (!r) {
				for (size_t k = i; k < n; k++) {
					if (retry[k])
						w->carry[w->ncarry++] = jobs[k];
					else
						command__job_free(jobs[k]);
				}
				return PC_ERR_IO;
			}
			handle(d, jobs[i], r);
			freeReplyObject(r);
		}
		command__job_free(jobs[i]);
	}
	return PC_OK;
}

/* Gather the next batch: carried jobs, queued jobs, then devices now due. */
static size_t gather(struct command__data *d, struct command__job **jobs)
{
	struct command__worker *w = d->worker;
	char dev[PC_ID_MAX + 1];
	int64_t now = pc_mono_ms();
	size_t n = 0;

	for (; n < w->ncarry; n++)
		jobs[n] = w->carry[n];
	w->ncarry = 0;
	while (n < BATCH && (jobs[n] = pc_queue_pop(d->jobs)) != NULL)
		n++;
	while (n < BATCH && command__due_pop(w->due, now, dev)) {
		if ((jobs[n] = command__job_new(COMMAND_JOB_REFRESH, dev, strlen(dev))) != NULL)
			n++;
	}
	return n;
}

/* The settings precisctl reads to enqueue as this plugin would. */
static int write_config(struct command__data *d, struct redisContext *ctx, char *err, size_t errlen)
{
	const struct command__config *c = &d->conf;
	char key[320], v[8][24];
	redisReply *r;

	snprintf(key, sizeof key, "%sconfig", c->redis_prefix);
	snprintf(v[0], sizeof v[0], "%" PRId64, c->max_pending);
	snprintf(v[1], sizeof v[1], "%" PRId64, c->done_max);
	snprintf(v[2], sizeof v[2], "%" PRId64, c->log_max);
	snprintf(v[3], sizeof v[3], "%" PRId64, c->cmd_ttl_ms);
	snprintf(v[4], sizeof v[4], "%" PRId64, c->ack_timeout_ms);
	snprintf(v[5], sizeof v[5], "%" PRId64, c->max_attempts);
	snprintf(v[6], sizeof v[6], "%" PRId64, c->priority);
	snprintf(v[7], sizeof v[7], "%" PRId64, c->deliver_max);
	{
		const char *argv[] = {
		    "HSET",        key,           "max_pending",  v[0],      "done_max",
		    v[1],          "log_max",     v[2],           "cmd_ttl", v[3],
		    "ack_timeout", v[4],          "max_attempts", v[5],      "priority",
		    v[6],          "deliver_max", v[7],           "archive", c->archive ? "1" : "0",
		    "origin",      d->origin};

		r = redisCommandArgv(ctx, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
	}
	if (!r)
		return pc_errf(err, errlen, PC_ERR_IO, "HSET %s: %s", key,
		               ctx->errstr[0] ? ctx->errstr : "connection error");
	if (r->type == REDIS_REPLY_ERROR)
		pc_log(&d->base.log, PC_LOG_ERR, "cannot write %s: %s", key, r->str);
	freeReplyObject(r);
	return PC_OK;
}

int command__worker_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                         size_t errlen)
{
	struct command__data *d = arg;
	struct command__worker *w = d->worker;
	struct redisContext *ctx = ((struct pc_redis_conn *)conn)->ctx;
	struct command__job *jobs[BATCH];
	int64_t check = d->conf.backend.check_interval_ms, due;
	int rounds = 0, rc;

	*next_ms = check;
	if (!up)
		return PC_OK;
	if (fresh) {
		if ((rc = command__scripts_load(ctx, &w->shas, err, errlen)) != PC_OK)
			return rc;
		if ((rc = write_config(d, ctx, err, errlen)) != PC_OK)
			return rc;
	}
	for (; rounds < ROUNDS; rounds++) {
		size_t n = gather(d, jobs);

		if (n == 0)
			break;
		if (!w->shas.loaded &&
		    (rc = command__scripts_load(ctx, &w->shas, err, errlen)) != PC_OK) {
			for (size_t i = 0; i < n; i++)
				w->carry[w->ncarry++] = jobs[i];
			return rc;
		}
		if ((rc = run_batch(d, ctx, jobs, n, err, errlen)) != PC_OK)
			return rc;
	}
	if (atomic_load(&d->archive_lost) && pc_queue_depth(d->archive) < COMMAND_ARCHIVE_CAP / 4) {
		atomic_store(&d->archive_lost, false);
		w->resync = true;
	}
	if (w->resync) {
		if ((rc = command__resync(d, ctx, !w->restored, err, errlen)) != PC_OK)
			return rc;
		w->resync = false;
		w->restored = true;
	}
	due = command__due_next(w->due);
	if (rounds == ROUNDS || pc_queue_depth(d->jobs) > 0)
		*next_ms = 0;
	else if (due != INT64_MAX)
		*next_ms = due - pc_mono_ms() < check ? due - pc_mono_ms() : check;
	if (*next_ms < 0)
		*next_ms = 0;
	return PC_OK;
}

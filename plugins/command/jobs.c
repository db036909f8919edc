/*
 * jobs.c - the work queue of the Redis worker: jobs, their allocation and
 * how they are handed over.
 *
 * The broker thread (claims, acks, enqueues, presence), the subscriber
 * (refreshes, archive reads, resyncs) and the archive worker (archived)
 * push jobs onto d->jobs, a bounded MPSC queue, and wake the worker;
 * nobody ever waits for room: a full queue drops the job and counts it.
 * Dropping is safe by design: a lost claim leaves its commands pending
 * (the lease never started), a lost ack lets the lease run out and the
 * command be delivered again, a lost refresh or presence write is
 * repeated by the next one. Plain malloc: jobs cross threads.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"

struct command__job *command__job_new(enum command__job_kind kind, const char *dev, size_t len)
{
	struct command__job *j;

	if (len > PC_ID_MAX || !(j = calloc(1, sizeof *j)))
		return NULL;
	j->kind = kind;
	memcpy(j->dev, dev, len);
	return j;
}

void command__job_free(struct command__job *j)
{
	if (!j)
		return;
	free(j->cids);
	free(j->text);
	free(j);
}

int command__job_push(struct command__data *d, struct command__job *j)
{
	int rc = pc_queue_push(d->jobs, j);

	if (rc != PC_OK) {
		pb_count(&d->stats.jobs_dropped, 1);
		command__job_free(j);
		return rc;
	}
	pc_supervisor_wake(atomic_load(&d->redis_sup));
	return PC_OK;
}

/*
 * registry_sync.c - the auth plugin's worker: keeps the broker's principal
 * table in step with the MongoDB registry.
 *
 * Runs as the work function of the MongoDB supervisor, on its thread,
 * never calling mosquitto_*. After each connect it notes the change-log
 * position, then reads every principal (a preload, one generation) and
 * says when it is complete. Between, every change_poll interval it reads
 * the change-log counter (one _id lookup: all an idle poll costs) and,
 * when it moved, the records past its position, and re-reads the
 * principals named there, and it answers the broker thread's refresh requests (ids whose
 * TTL nears its end, or cache misses) with one $in query per batch.
 * Everything it learns goes to the broker thread as batches of updates on
 * d->updates; when that queue is full the worker waits for the broker to
 * drain it (never drops an update), unless the plugin is stopping.
 *
 * Change-log gaps: records are numbered by a counter that writers bump
 * before inserting, so a record can appear after a later one. The
 * position only advances over consecutive numbers; records past a gap are
 * applied (and re-read next time, harmlessly) until the gap fills, or for
 * at most GAP_WAIT_MS, after which the gap is assumed to be a writer that
 * died between the two steps. The same wait applies when the counter is
 * ahead and no record past the position has appeared at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "precis/error.h"

#define GAP_WAIT_MS        5000
#define CHANGES_PER_POLL   1000
#define REQUESTS_PER_ROUND 500

static void sleep_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Hand the current batch to the broker thread (waiting for room). */
static void flush(struct auth__data *d)
{
	struct auth__batch *b = d->sync.batch;

	if (!b || b->n == 0)
		return;
	while (pc_queue_push(d->updates, b) == PC_ERR_FULL) {
		if (atomic_load(&d->stopping)) {
			free(b); /* the broker is shutting down: nobody will read it */
			d->sync.batch = NULL;
			return;
		}
		sleep_ms(2);
	}
	d->sync.batch = NULL;
}

/* A snapshot write failed: counted, logged at most once a minute. */
static void snapshot_error(struct auth__data *d, const char *err)
{
	int64_t now = pc_wall_ms();

	pb_count(&d->n.snapshot_errors, 1);
	if (now - d->snapshot_err_logged_ms < 60000)
		return;
	d->snapshot_err_logged_ms = now;
	pc_log(&d->base.log, PC_LOG_ERR, "snapshot: %s", err);
}

/* Mirror an update into the snapshot file, when there is one. */
static void snapshot_update(struct auth__data *d, const struct auth__update *u)
{
	char err[512];
	int rc = PC_OK;

	if (!d->snapshot)
		return;
	switch (u->kind) {
	case AUTH_UPD_PRINCIPAL:
		rc = auth__snapshot_record(d->snapshot, &u->rec, NULL, err, sizeof err);
		break;
	case AUTH_UPD_ABSENT:
	case AUTH_UPD_INVALID:
		rc = auth__snapshot_record(d->snapshot, NULL, u->rec.id, err, sizeof err);
		break;
	case AUTH_UPD_LOADED:
		rc = auth__snapshot_commit(d->snapshot, err, sizeof err);
		break;
	}
	if (rc != PC_OK)
		snapshot_error(d, err);
}

/* Append one update; false when out of memory (the update is lost, logged). */
static bool post(struct auth__data *d, enum auth__update_kind kind,
                 const struct pc_principal_rec *rec, const char *id)
{
	struct auth__update *u;

	if (!d->sync.batch) {
		d->sync.batch = malloc(sizeof *d->sync.batch);
		if (!d->sync.batch) {
			pc_log(&d->base.log, PC_LOG_ERR, "out of memory for registry updates");
			return false;
		}
		d->sync.batch->n = 0;
	}
	u = &d->sync.batch->u[d->sync.batch->n++];
	memset(u, 0, sizeof *u);
	u->kind = kind;
	u->gen = d->sync.gen;
	u->since_ms = d->sync.load_started_ms;
	if (rec) {
		u->rec = *rec;
		if (kind == AUTH_UPD_PRINCIPAL &&
		    pc_pwhash_parse(rec->password_hash, &u->hash, NULL, 0) != PC_OK)
			u->kind = AUTH_UPD_INVALID; /* checked already; belt and braces */
	} else if (id) {
		snprintf(u->rec.id, sizeof u->rec.id, "%s", id);
	}
	snapshot_update(d, u);
	if (d->sync.batch->n == AUTH_BATCH_MAX)
		flush(d);
	return true;
}

/* Scan callback: post what the registry says; note which requested ids were seen. */
struct scan_ctx {
	struct auth__data *d;
	const char **ids; /* requested ids, or NULL for a full load */
	bool *seen;
	size_t n;
	size_t count;
};

static bool on_record(void *arg, int rc, const struct pc_principal_rec *rec, const char *why)
{
	struct scan_ctx *s = arg;

	s->count++;
	if (rc != PC_OK) {
		pb_count(&s->d->n.invalid_records, 1);
		pc_log(&s->d->base.log, PC_LOG_WARNING,
		       "registry record '%s' is invalid (%s): its logins are refused",
		       rec->id[0] ? rec->id : "?", why);
		if (rec->id[0])
			post(s->d, AUTH_UPD_INVALID, rec, NULL);
	} else {
		post(s->d, AUTH_UPD_PRINCIPAL, rec, NULL);
	}
	for (size_t i = 0; s->ids && i < s->n; i++) {
		if (!s->seen[i] && strcmp(s->ids[i], rec->id) == 0) {
			s->seen[i] = true;
			break;
		}
	}
	return true;
}

/* Read ids[0..n) and post each (absent ones as such). */
static int fetch(struct auth__data *d, mongoc_client_t *client, const char **ids, size_t n,
                 char *err, size_t errlen)
{
	bool seen[CHANGES_PER_POLL > REQUESTS_PER_ROUND ? CHANGES_PER_POLL : REQUESTS_PER_ROUND];
	struct scan_ctx s = {d, ids, seen, n, 0};
	int rc;

	memset(seen, 0, n * sizeof seen[0]);
	rc = pc_registry_scan(client, d->mongo.db, ids, n, on_record, &s, err, errlen);
	if (rc != PC_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!seen[i])
			post(d, AUTH_UPD_ABSENT, NULL, ids[i]);
	}
	return PC_OK;
}

static int preload(struct auth__data *d, mongoc_client_t *client, char *err, size_t errlen)
{
	struct scan_ctx s = {d, NULL, NULL, 0, 0};
	int64_t t0 = pc_mono_ms();
	void *r;
	int rc;

	d->sync.gen++;
	d->sync.load_started_ms = t0;
	if (d->snapshot && auth__snapshot_begin(d->snapshot, err, errlen) != PC_OK)
		snapshot_error(d, err); /* the appended file stays in use */
	/* Requests queued while disconnected are answered by the preload. */
	while ((r = pc_queue_pop(d->requests)) != NULL)
		free(r);
	rc = pc_registry_change_seq(client, d->mongo.db, &d->sync.change_seq, err, errlen);
	if (rc != PC_OK)
		return rc;
	d->sync.gap_seq = 0;
	d->sync.tail_since_ms = 0;
	rc = pc_registry_scan(client, d->mongo.db, NULL, 0, on_record, &s, err, errlen);
	if (rc != PC_OK)
		return rc;
	post(d, AUTH_UPD_LOADED, NULL, NULL);
	flush(d);
	pc_log(&d->base.log, PC_LOG_INFO,
	       "preloaded %zu registry records in %lld ms (change log at %lld)", s.count,
	       (long long)(pc_mono_ms() - t0), (long long)d->sync.change_seq);
	return PC_OK;
}

struct change_ctx {
	struct auth__data *d;
	int64_t now;
	const char *ids[CHANGES_PER_POLL];
	char names[CHANGES_PER_POLL][PC_ID_MAX + 1];
	size_t n;
};

static bool on_change(void *arg, int64_t seq, const char *principal)
{
	struct change_ctx *c = arg;
	struct auth__data *d = c->d;

	if (seq == d->sync.change_seq + 1) {
		d->sync.change_seq = seq;
		d->sync.gap_seq = 0;
	} else if (seq > d->sync.change_seq + 1) {
		if (d->sync.gap_seq != d->sync.change_seq + 1) {
			d->sync.gap_seq = d->sync.change_seq + 1;
			d->sync.gap_since_ms = c->now;
		} else if (c->now - d->sync.gap_since_ms >= GAP_WAIT_MS) {
			pc_log(&d->base.log, PC_LOG_WARNING,
			       "change log: records %lld..%lld never appeared; skipping them",
			       (long long)d->sync.gap_seq, (long long)seq - 1);
			d->sync.change_seq = seq;
			d->sync.gap_seq = 0;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->names[i], principal) == 0)
			return true;
	}
	snprintf(c->names[c->n], sizeof c->names[c->n], "%s", principal);
	c->ids[c->n] = c->names[c->n];
	c->n++;
	return c->n < CHANGES_PER_POLL;
}

/*
 * The counter says records up to seq exist, but the poll found none past
 * the position (no gap seen either): a writer between its two steps, or
 * one that died there. Wait GAP_WAIT_MS for them, then skip to seq.
 */
static void check_tail(struct auth__data *d, int64_t seq, int64_t before, int64_t now)
{
	if (d->sync.change_seq >= seq || d->sync.change_seq != before || d->sync.gap_seq != 0) {
		d->sync.tail_since_ms = 0; /* caught up, progressing, or a gap being waited for */
		return;
	}
	if (d->sync.tail_since_ms == 0) {
		d->sync.tail_since_ms = now;
	} else if (now - d->sync.tail_since_ms >= GAP_WAIT_MS) {
		pc_log(&d->base.log, PC_LOG_WARNING,
		       "change log: records %lld..%lld never appeared; skipping them",
		       (long long)d->sync.change_seq + 1, (long long)seq);
		d->sync.change_seq = seq;
		d->sync.tail_since_ms = 0;
	}
}

/*
 * One poll: the counter document alone while nothing changed (one _id
 * lookup, cheap on every server), the records and the principals they
 * name only when it moved.
 */
static int poll_changes(struct auth__data *d, mongoc_client_t *client, char *err, size_t errlen)
{
	struct change_ctx *c;
	int64_t seq, before = d->sync.change_seq;
	int rc;

	c = calloc(1, sizeof *c);
	if (!c)
		return PC_OK; /* try again next poll */
	c->d = d;
	c->now = pc_mono_ms();
	rc = pc_registry_poll_changes(client, d->mongo.db, before, CHANGES_PER_POLL, &seq,
	                              on_change, c, err, errlen);
	if (rc == PC_OK && seq < before) {
		/* Records from 1 on were read (and applied): follow the new counter. */
		pc_log(&d->base.log, PC_LOG_WARNING,
		       "change log: counter went back from %lld to %lld; following it",
		       (long long)before, (long long)seq);
		d->sync.change_seq = seq;
		d->sync.gap_seq = 0;
	} else if (rc == PC_OK) {
		check_tail(d, seq, before, c->now);
	}
	if (rc == PC_OK && c->n > 0)
		rc = fetch(d, client, c->ids, c->n, err, errlen);
	free(c);
	return rc;
}

static int answer_requests(struct auth__data *d, mongoc_client_t *client, char *err, size_t errlen)
{
	struct auth__request *reqs[REQUESTS_PER_ROUND];
	const char *ids[REQUESTS_PER_ROUND];
	size_t n = 0;
	int rc;

	while (n < REQUESTS_PER_ROUND && (reqs[n] = pc_queue_pop(d->requests)) != NULL) {
		ids[n] = reqs[n]->id;
		n++;
	}
	if (n == 0)
		return PC_OK;
	rc = fetch(d, client, ids, n, err, errlen);
	for (size_t i = 0; i < n; i++)
		free(reqs[i]);
	return rc;
}

int auth__sync_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                    size_t errlen)
{
	struct auth__data *d = arg;
	mongoc_client_t *client = ((struct pc_mongo_conn *)conn)->client;
	int64_t now;
	int rc = PC_OK;

	*next_ms = d->conf.change_poll_ms;
	if (!up)
		return PC_OK; /* requests wait for the next connect's preload */
	if (fresh) {
		rc = preload(d, client, err, errlen);
		d->sync.next_poll_ms = pc_mono_ms() + d->conf.change_poll_ms;
	}
	if (rc == PC_OK)
		rc = answer_requests(d, client, err, errlen);
	now = pc_mono_ms();
	if (rc == PC_OK && now >= d->sync.next_poll_ms) {
		rc = poll_changes(d, client, err, errlen);
		d->sync.next_poll_ms = pc_mono_ms() + d->conf.change_poll_ms;
	}
	flush(d);
	if (rc != PC_OK) {
		pb_count(&d->n.backend_errors, 1);
		return rc;
	}
	if (d->snapshot) { /* in step with the registry just now: say so on disk */
		char serr[512];

		if (auth__snapshot_flush(d->snapshot, pc_wall_ms(), serr, sizeof serr) != PC_OK)
			snapshot_error(d, serr);
	}
	now = pc_mono_ms();
	*next_ms = pc_queue_depth(d->requests) > 0
	               ? 0
	               : (d->sync.next_poll_ms > now ? d->sync.next_poll_ms - now : 0);
	return PC_OK;
}

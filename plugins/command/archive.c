/*
 * archive.c - the archive worker: finished commands into MongoDB `commands`.
 *
 * The work function of the MongoDB backend's supervisor thread. It takes
 * the records the Redis worker read (struct command__arec on
 * d->archive), upserts each as one document with _id = the command id
 * (archive_doc.c builds it), and queues an "archived" job so that Redis
 * takes the command off the device's archive set. Writes are idempotent,
 * so a record written twice after a reconnect is harmless. A record
 * whose write breaks the connection is held and written first after the
 * reconnect; one MongoDB refuses is written again with its JSON as text
 * and, refused once more, counted, logged and let go. While MongoDB is
 * down records wait in the queue; those that do not fit stay in Redis and
 * come back with the next resync. Never calls mosquitto_*.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "precis/error.h"
#include "precis/mongo_error.h"

#define PER_CALL 256

struct command__archiver {
	struct command__arec *held; /* popped, not written: the connection broke */
	bool indexed;               /* the `commands` index exists: asked once per process */
};

struct command__archiver *command__archiver_new(void)
{
	return calloc(1, sizeof(struct command__archiver));
}

void command__archiver_free(struct command__archiver *a)
{
	if (!a)
		return;
	command__arec_free(a->held);
	free(a);
}

int command__archive_push(struct command__data *d, struct command__arec *r)
{
	if (pc_queue_push(d->archive, r) != PC_OK) {
		command__arec_free(r);
		atomic_store(&d->archive_lost, true);
		return PC_ERR_FULL;
	}
	pc_supervisor_wake(atomic_load(&d->mongo_sup));
	return PC_OK;
}

/* Write one record: PC_OK, PC_ERR_IO (transient: pc_mongo_failure_kind) or PC_ERR_BACKEND
 * (refused). */
static int write_one(mongoc_collection_t *coll, const struct command__arec *r, char *err,
                     size_t errlen)
{
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_t sel = BSON_INITIALIZER;
	bson_error_t e = {0};
	int rc = PC_ERR_BACKEND;

	BSON_APPEND_UTF8(&sel, "_id", r->cid);
	for (int text_only = 0; text_only < 2; text_only++) {
		bson_t doc = BSON_INITIALIZER, reply = BSON_INITIALIZER;
		bool ok = command__archive_doc(r, text_only, &doc, err, errlen) == PC_OK &&
		          mongoc_collection_replace_one(coll, &sel, &doc, opts, &reply, &e);
		bool transient =
		    !ok && e.code && pc_mongo_failure_kind(&e, &reply) == PC_MONGO_TRANSIENT;

		bson_destroy(&doc);
		bson_destroy(&reply);
		if (ok) {
			rc = PC_OK;
			break;
		}
		if (transient) {
			rc = pc_errf(err, errlen, PC_ERR_IO, "%s", e.message);
			break;
		}
		if (e.code)
			pc_errf(err, errlen, PC_ERR_BACKEND, "%s", e.message);
	}
	bson_destroy(&sel);
	bson_destroy(opts);
	return rc;
}

/*
 * create_index - the `commands` index, once per process: creating an index
 * takes the server's metadata lock (FerretDB's, every request behind it),
 * so a reconnect does not ask again. Returns whether it exists now; a
 * refusal is logged and asked again on the next connection.
 */
static bool create_index(struct command__data *d, struct pc_mongo_conn *mc)
{
	bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8("commands"), "indexes", "[", "{", "key",
	                       "{", "device", BCON_INT32(1), "finished", BCON_INT32(-1), "}",
	                       "name", BCON_UTF8("device_finished"), "}", "]");
	bson_error_t e;
	bool ok = mongoc_client_write_command_with_opts(mc->client, mc->db, cmd, NULL, NULL, &e);

	if (!ok)
		pc_log(&d->base.log, PC_LOG_WARNING, "cannot index `commands` by device: %s",
		       e.message);
	bson_destroy(cmd);
	return ok;
}

/* The archive holds r: tell Redis. */
static void archived(struct command__data *d, const struct command__arec *r)
{
	struct command__job *j = command__job_new(COMMAND_JOB_ARCHIVED, r->dev, strlen(r->dev));

	if (j)
		snprintf(j->cid, sizeof j->cid, "%s", r->cid);
	command__job_push(d, j);
}

int command__archive_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                          size_t errlen)
{
	struct command__data *d = arg;
	struct command__archiver *a = d->archiver;
	struct pc_mongo_conn *mc = conn;
	mongoc_collection_t *coll;
	int rc = PC_OK;

	*next_ms = d->conf.backend.check_interval_ms;
	if (!up)
		return PC_OK;
	if (fresh && !a->indexed)
		a->indexed = create_index(d, mc);
	coll = mongoc_client_get_collection(mc->client, mc->db, "commands");
	for (int i = 0; i < PER_CALL; i++) {
		struct command__arec *r = a->held ? a->held : pc_queue_pop(d->archive);
		char why[512] = "";

		a->held = NULL;
		if (!r)
			break;
		rc = write_one(coll, r, why, sizeof why);
		if (rc == PC_ERR_IO) {
			a->held = r;
			pc_errf(err, errlen, PC_ERR_IO, "archiving %s: %s", r->cid, why);
			break;
		}
		if (rc == PC_OK) {
			pb_count(&d->stats.archived, 1);
		} else {
			pb_count(&d->stats.archive_failed, 1);
			pc_log(&d->base.log, PC_LOG_ERR,
			       "MongoDB refused command %s for the archive: %s", r->cid, why);
			rc = PC_OK;
		}
		archived(d, r);
		command__arec_free(r);
	}
	mongoc_collection_destroy(coll);
	if (rc == PC_OK && pc_queue_depth(d->archive) > 0)
		*next_ms = 0;
	return rc;
}

/*
 * archive.h - finished commands in MongoDB `commands` (archive_doc.c, archive.c).
 *
 * The Redis worker reads a finished command's hash into a struct
 * command__arec and queues it; the archive worker turns it into one
 * document, _id = the command id, and upserts it (idempotent: a record
 * written twice is the same document), then tells the Redis worker,
 * which takes the command off the device's archive queue. Args, result
 * and history go in as subdocuments when MongoDB and FerretDB can store
 * them, else as JSON text (see command__archive_doc).
 */
#ifndef PRECIS_COMMAND_ARCHIVE_H
#define PRECIS_COMMAND_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include <bson/bson.h>

#include "protocol.h"

/* A command hash as read from Redis: names[i] = values[i], heap strings. */
struct command__arec {
	char cid[COMMAND_CID_MAX + 1];
	char dev[PC_ID_MAX + 1];
	size_t n;
	char **names, **values;
};

/* command__arec_free - free r and everything in it (NULL allowed). */
void command__arec_free(struct command__arec *r);

/* command__arec_get - the value of field name, or NULL. */
const char *command__arec_get(const struct command__arec *r, const char *name);

/*
 * command__archive_doc - build r's document into doc (initialised by the
 * caller, e.g. BSON_INITIALIZER): _id, device, op, args, priority,
 * state, status, result, attempts, max_attempts, ack_timeout_ms,
 * supersede, created, updated, not_before, expire_at, finished (dates)
 * and history (one subdocument per transition, "at" as a date). With
 * text_only, or when a JSON field cannot be stored (command__storable),
 * that field is kept as JSON text in args_json, result_json or
 * history_json instead. Returns PC_OK or PC_ERR_INVAL (r lacks its id
 * or state) with detail.
 */
int command__archive_doc(const struct command__arec *r, bool text_only, bson_t *doc, char *err,
                         size_t errlen);

/*
 * command__storable - can every MongoDB-wire server take doc? False when
 * it holds a NaN or infinite double (FerretDB drops the connection on
 * NaN), a field name with '.' or a leading '$', an array inside an
 * array, or a string with a NUL byte.
 */
bool command__storable(const bson_t *doc);

#endif

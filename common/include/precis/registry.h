/*
 * registry.h - the principal registry in MongoDB (DESIGN §2, schemas/device.schema.json).
 *
 * Collection `devices`, one document per principal (device, app, ops
 * tool, bridge, admin):
 *
 *   { _id: "<id>", password_hash: "$7$...", role: "device", enabled: true,
 *     tags: [...], meta: {...}, created: <date>, updated: <date> }
 *
 * Every change made through precisctl also appends a record to the change
 * log, collection `device_changes` ({_id: <seq, int64>, principal: "<id>",
 * at: <date>}), numbered by the counter document {_id: "device_changes",
 * seq} in `counters`. Brokers poll the counter, and read the log only
 * when it moved, to drop and re-read changed principals within a second;
 * see plugins/auth and pc_registry_poll_changes.
 *
 * Single-threaded libmongoc clients only; every call does network I/O and
 * must not run on the broker thread except the bounded lookups of the
 * auth plugin's fallback path.
 */
#ifndef PRECIS_REGISTRY_H
#define PRECIS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include "precis/pwhash.h"
#include "precis/topic.h"

#define PC_REGISTRY_COLL     "devices"
#define PC_REGISTRY_CHANGES  "device_changes"
#define PC_REGISTRY_COUNTERS "counters"

enum pc_role {
	PC_ROLE_DEVICE = 0,
	PC_ROLE_APP,
	PC_ROLE_OPS,
	PC_ROLE_BRIDGE,
	PC_ROLE_ADMIN,
	PC_ROLE_COUNT,
};

/* What the broker needs of a principal (tags and meta stay in MongoDB). */
struct pc_principal_rec {
	char id[PC_ID_MAX + 1];
	enum pc_role role;
	bool enabled;
	char password_hash[PC_PWHASH_TEXT_MAX + 1];
};

/* pc_role_name - "device", "app", "ops", "bridge", "admin"; "?" otherwise. Static storage. */
const char *pc_role_name(enum pc_role role);

/* pc_role_parse - the role named name (exact); PC_OK or PC_ERR_INVAL. */
int pc_role_parse(const char *name, enum pc_role *out);

/*
 * pc_registry_rec_from_bson - read a registry document into out. The id
 * must pass pc_id_check, role be a known role, enabled a boolean, and
 * password_hash a string that pc_pwhash_parse accepts. Returns PC_OK or
 * PC_ERR_INVAL with detail naming the field (out->id is filled first when
 * the id is readable, so a caller can say which principal is broken).
 * Pure: no I/O.
 */
int pc_registry_rec_from_bson(const bson_t *doc, struct pc_principal_rec *out, char *err,
                              size_t errlen);

/* The projection that reads only what pc_registry_rec_from_bson needs. */
void pc_registry_projection(bson_t *opts);

/*
 * pc_registry_find - the principal id from db. Returns PC_OK (found, *out
 * filled), PC_ERR_EMPTY (no such principal), PC_ERR_INVAL (the document
 * is malformed; detail names the field) or PC_ERR_IO (MongoDB failed).
 */
int pc_registry_find(mongoc_client_t *client, const char *db, const char *id,
                     struct pc_principal_rec *out, char *err, size_t errlen);

/*
 * Called once per document by the scans below. rc is PC_OK with rec
 * filled, or PC_ERR_INVAL for a malformed document (rec->id as far as
 * readable, detail in err). Return false to stop the scan.
 */
typedef bool (*pc_registry_fn)(void *arg, int rc, const struct pc_principal_rec *rec,
                               const char *err);

/*
 * pc_registry_scan - call fn for every principal (ids[0..n) only, when
 * ids is non-NULL: a $in query). Returns PC_OK, or PC_ERR_IO with detail
 * when MongoDB failed part-way (fn may have been called for some).
 */
int pc_registry_scan(mongoc_client_t *client, const char *db, const char *const *ids, size_t n,
                     pc_registry_fn fn, void *arg, char *err, size_t errlen);

/*
 * pc_registry_change_seq - the newest change-log sequence number (0 when
 * there is none yet). Returns PC_OK or PC_ERR_IO.
 */
int pc_registry_change_seq(mongoc_client_t *client, const char *db, int64_t *seq, char *err,
                           size_t errlen);

/* Called for each change-log record, oldest first; return false to stop. */
typedef bool (*pc_change_fn)(void *arg, int64_t seq, const char *principal);

/*
 * pc_registry_changes - call fn for the change-log records with seq >
 * after, at most limit of them, in seq order. Records that are not
 * {_id: int64, principal: valid id} are skipped. Returns PC_OK or
 * PC_ERR_IO.
 */
int pc_registry_changes(mongoc_client_t *client, const char *db, int64_t after, int limit,
                        pc_change_fn fn, void *arg, char *err, size_t errlen);

/*
 * pc_registry_poll_changes - the change poll: read the counter (one _id
 * equality lookup) into *seq and, only when it differs from after, the
 * records as pc_registry_changes does: those with seq > after, at most
 * limit, in seq order (a single _id equality when *seq is after + 1, the
 * common case of one new record). When the counter went back (the log was
 * reset) the records from seq 1 on are read. An unchanged counter costs
 * exactly one query. Returns PC_OK or PC_ERR_IO with detail (fn may have
 * been called for some records).
 */
int pc_registry_poll_changes(mongoc_client_t *client, const char *db, int64_t after, int limit,
                             int64_t *seq, pc_change_fn fn, void *arg, char *err, size_t errlen);

/*
 * pc_registry_log_changes - append one change record per principal in
 * ids[0..n) (after the writes they describe), numbered from a single
 * counter increment, and prune records older than a day. Returns PC_OK or
 * PC_ERR_IO with detail.
 */
int pc_registry_log_changes(mongoc_client_t *client, const char *db, const char *const *ids,
                            size_t n, char *err, size_t errlen);

#endif

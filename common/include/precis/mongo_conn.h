/*
 * mongo_conn.h - one libmongoc client with timeouts, as a supervisor backend.
 *
 * Parses and validates a MongoDB connection string up front (so a bad URI
 * is an option error, not a runtime surprise), applies the connect and
 * server-selection timeouts to it, and lets a pc_supervisor keep a
 * single-threaded mongoc_client_t open: connect = create the client and
 * run {ping: 1}; check = {ping: 1}. Works against mongod and FerretDB.
 */
#ifndef PRECIS_MONGO_CONN_H
#define PRECIS_MONGO_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "precis/supervisor.h"

struct _mongoc_uri_t;
struct _mongoc_client_t;

struct pc_mongo_conn {
	struct _mongoc_uri_t *uri;       /* parsed, timeouts applied */
	char *db;                        /* database name */
	struct _mongoc_client_t *client; /* NULL while disconnected */
	char where[300];                 /* hosts and database, no credentials, for logs */
};

/*
 * pc_mongo_global_init - initialise libmongoc once per process (safe to
 * call from several plugins; later calls do nothing). libmongoc is never
 * cleaned up: two plugins in one broker share it, and the process exit
 * releases it.
 */
void pc_mongo_global_init(void);

/*
 * pc_mongo_conn_init - parse uri, check db is a valid database name, and
 * apply connect_timeout_ms as connectTimeoutMS, serverSelectionTimeoutMS
 * and socketTimeoutMS unless the URI sets them. Does not connect.
 * appname is reported to the server (may be NULL).
 * Returns PC_OK, PC_ERR_INVAL (bad URI or db name) or PC_ERR_NOMEM with
 * detail. Release with pc_mongo_conn_cleanup, also after a failure.
 */
int pc_mongo_conn_init(struct pc_mongo_conn *c, const char *uri, const char *db,
                       int64_t connect_timeout_ms, const char *appname, char *err, size_t errlen);

/* pc_mongo_conn_cleanup - destroy the client if open and free everything. */
void pc_mongo_conn_cleanup(struct pc_mongo_conn *c);

/* The supervisor ops for a struct pc_mongo_conn. */
extern const struct pc_backend_ops pc_mongo_backend_ops;

#endif

/*
 * mongo_error.h - is a failed MongoDB operation worth retrying?
 *
 * A writer that must never lose data and never loop on a poison request
 * needs to tell "the server is away" (retry later, the same request will
 * work) from "the server refused this request" (retrying changes
 * nothing). libmongoc reports both through a bson_error_t, with the
 * server's reply for commands; this is the one place that sorts them.
 */
#ifndef PRECIS_MONGO_ERROR_H
#define PRECIS_MONGO_ERROR_H

#include <bson/bson.h>

enum pc_mongo_failure {
	PC_MONGO_TRANSIENT = 1, /* network, server selection, primary change, shutdown: retry */
	PC_MONGO_REJECTED = 2,  /* the server (or the driver) refused the request itself */
};

/*
 * pc_mongo_failure_kind - classify a failure from its error (domain and
 * code, error API version 2) and, when there is one, the server's reply
 * (may be NULL or empty): retryable error labels ("RetryableWriteError",
 * "NetworkError"), and the codes of writeErrors / writeConcernError. A
 * write error that is transient (11000 duplicate key from two upserts
 * racing, a primary stepping down, a write-concern timeout) makes the whole
 * failure transient. Pure.
 */
enum pc_mongo_failure pc_mongo_failure_kind(const bson_error_t *error, const bson_t *reply);

/* pc_mongo_code_transient - true for server error codes that a retry can outlive. */
int pc_mongo_code_transient(int64_t code);

#endif

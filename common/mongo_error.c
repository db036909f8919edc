/*
 * mongo_error.c - sort MongoDB failures into transient and rejected.
 *
 * The codes are those the MongoDB retryable-writes and SDAM
 * specifications call retryable or "node is recovering / not primary",
 * plus duplicate key (two upserts of one _id racing: the retry updates)
 * and write-concern timeouts (the write may or may not have applied; an
 * idempotent writer retries). Everything the server answered otherwise
 * is a rejection. Pure; used by the store plugin's writer.
 */
#include <mongoc/mongoc.h>

#include "precis/mongo_error.h"

static const int64_t transient_codes[] = {
    6,     /* HostUnreachable */
    7,     /* HostNotFound */
    64,    /* WriteConcernFailed (wtimeout) */
    89,    /* NetworkTimeout */
    91,    /* ShutdownInProgress */
    133,   /* FailedToSatisfyReadPreference */
    150,   /* StaleEpoch */
    189,   /* PrimarySteppedDown */
    262,   /* ExceededTimeLimit */
    9001,  /* SocketException */
    10107, /* NotWritablePrimary */
    11000, /* DuplicateKey: concurrent upserts of one _id */
    11600, /* InterruptedAtShutdown */
    11602, /* InterruptedDueToReplStateChange */
    13388, /* StaleConfig */
    13435, /* NotPrimaryNoSecondaryOk */
    13436, /* NotPrimaryOrSecondary */
};

/* pc_mongo_code_transient - contract in mongo_error.h. */
int pc_mongo_code_transient(int64_t code)
{
	for (size_t i = 0; i < sizeof transient_codes / sizeof transient_codes[0]; i++) {
		if (transient_codes[i] == code)
			return 1;
	}
	return 0;
}

/* array_codes_transient - whether any {code: n} document in the array at it is transient. */
static int array_codes_transient(const bson_iter_t *array)
{
	bson_iter_t it, doc;

	if (!BSON_ITER_HOLDS_ARRAY(array) || !bson_iter_recurse(array, &it))
		return 0;
	while (bson_iter_next(&it)) {
		if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &doc) &&
		    bson_iter_find(&doc, "code") && BSON_ITER_HOLDS_NUMBER(&doc) &&
		    pc_mongo_code_transient(bson_iter_as_int64(&doc)))
			return 1;
	}
	return 0;
}

static int reply_transient(const bson_t *reply)
{
	bson_iter_t it, sub;

	if (!reply || bson_empty(reply))
		return 0;
	if (mongoc_error_has_label(reply, "RetryableWriteError") ||
	    mongoc_error_has_label(reply, "NetworkError"))
		return 1;
	if (bson_iter_init_find(&it, reply, "writeErrors") && array_codes_transient(&it))
		return 1;
	if (bson_iter_init_find(&it, reply, "writeConcernErrors") && array_codes_transient(&it))
		return 1;
	if (bson_iter_init_find(&it, reply, "writeConcernError") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "code") &&
	    BSON_ITER_HOLDS_NUMBER(&sub) && pc_mongo_code_transient(bson_iter_as_int64(&sub)))
		return 1;
	return 0;
}

/* pc_mongo_failure_kind - contract in mongo_error.h. */
enum pc_mongo_failure pc_mongo_failure_kind(const bson_error_t *error, const bson_t *reply)
{
	switch (error->domain) {
	case MONGOC_ERROR_STREAM:
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_PROTOCOL:
		return PC_MONGO_TRANSIENT;
	case MONGOC_ERROR_CLIENT:
		/* Too big is about the request; the rest (not ready, auth) about the link. */
		return error->code == MONGOC_ERROR_CLIENT_TOO_BIG ? PC_MONGO_REJECTED
		                                                  : PC_MONGO_TRANSIENT;
	case MONGOC_ERROR_SERVER:
	case MONGOC_ERROR_WRITE_CONCERN:
	case MONGOC_ERROR_QUERY:
	case MONGOC_ERROR_COLLECTION:
	case MONGOC_ERROR_COMMAND:
		if (pc_mongo_code_transient(error->code) || reply_transient(reply))
			return PC_MONGO_TRANSIENT;
		return PC_MONGO_REJECTED;
	default:
		return PC_MONGO_REJECTED;
	}
}

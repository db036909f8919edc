/*
 * test_mongo_error.c - unit tests for common/mongo_error.c: error domains
 * and codes, and server replies with error labels, writeErrors and write
 * concern errors, sorted into transient and rejected. No server: the
 * errors and replies are built here as libmongoc reports them.
 */
#include <mongoc/mongoc.h>

#include "cu_run.h"
#include "precis/mongo_error.h"

static bson_error_t error_of(uint32_t domain, uint32_t code)
{
	bson_error_t e;

	bson_set_error(&e, domain, code, "test");
	return e;
}

static void test_domains(void)
{
	static const struct {
		uint32_t domain, code;
		enum pc_mongo_failure want;
	} cases[] = {
	    {MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
	     PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_PROTOCOL, MONGOC_ERROR_PROTOCOL_INVALID_REPLY, PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_NOT_READY, PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_TOO_BIG, PC_MONGO_REJECTED},
	    {MONGOC_ERROR_SERVER, 10107, PC_MONGO_TRANSIENT}, /* NotWritablePrimary */
	    {MONGOC_ERROR_SERVER, 11600, PC_MONGO_TRANSIENT}, /* InterruptedAtShutdown */
	    {MONGOC_ERROR_SERVER, 11000, PC_MONGO_TRANSIENT}, /* DuplicateKey */
	    {MONGOC_ERROR_SERVER, 2, PC_MONGO_REJECTED},      /* BadValue */
	    {MONGOC_ERROR_SERVER, 238, PC_MONGO_REJECTED},    /* NotImplemented */
	    {MONGOC_ERROR_WRITE_CONCERN, 64, PC_MONGO_TRANSIENT},
	    {MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG, PC_MONGO_REJECTED},
	    {MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID, PC_MONGO_REJECTED},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bson_error_t e = error_of(cases[i].domain, cases[i].code);

		CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, NULL), cases[i].want);
	}
	CU_ASSERT_TRUE(pc_mongo_code_transient(189));
	CU_ASSERT_FALSE(pc_mongo_code_transient(0));
}

static void test_replies(void)
{
	bson_error_t e = error_of(MONGOC_ERROR_SERVER, 2);
	bson_t *labels = BCON_NEW("errorLabels", "[", BCON_UTF8("RetryableWriteError"), "]");
	bson_t *other_label = BCON_NEW("errorLabels", "[", BCON_UTF8("SomethingElse"), "]");
	bson_t *we_bad = BCON_NEW("writeErrors", "[", "{", "index", BCON_INT32(0), "code",
	                          BCON_INT32(2), "}", "]");
	bson_t *we_dup = BCON_NEW("writeErrors", "[", "{", "code", BCON_INT32(2), "}", "{", "code",
	                          BCON_INT32(11000), "}", "]");
	bson_t *wce = BCON_NEW("writeConcernError", "{", "code", BCON_INT32(91), "}");
	bson_t *wces = BCON_NEW("writeConcernErrors", "[", "{", "code", BCON_INT64(189), "}", "]");
	bson_t empty = BSON_INITIALIZER;

	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, &empty), PC_MONGO_REJECTED);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, labels), PC_MONGO_TRANSIENT);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, other_label), PC_MONGO_REJECTED);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, we_bad), PC_MONGO_REJECTED);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, we_dup), PC_MONGO_TRANSIENT);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, wce), PC_MONGO_TRANSIENT);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, wces), PC_MONGO_TRANSIENT);
	/* A stream error stays transient whatever the reply says. */
	e = error_of(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET);
	CU_ASSERT_EQUAL(pc_mongo_failure_kind(&e, we_bad), PC_MONGO_TRANSIENT);
	bson_destroy(labels);
	bson_destroy(other_label);
	bson_destroy(we_bad);
	bson_destroy(we_dup);
	bson_destroy(wce);
	bson_destroy(wces);
}

static CU_TestInfo tests[] = {
    {"domains and codes", test_domains},
    {"labels, write errors, write concern errors", test_replies},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("mongo_error", tests);
}

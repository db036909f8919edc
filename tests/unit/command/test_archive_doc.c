/*
 * test_archive_doc.c - unit tests for plugins/command/archive_doc.c: a
 * finished command's Redis fields become a document with typed fields
 * (int64, dates), args/result/history as subdocuments; JSON that MongoDB
 * or FerretDB cannot store (NaN, '.' or '$' in names, arrays in arrays)
 * or that is not JSON is kept as text instead; text_only keeps all JSON
 * as text; records without id or state are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "cu_run.h"
#include "precis/error.h"

static struct command__arec *rec(const char *const *kv)
{
	struct command__arec *r = calloc(1, sizeof *r);
	size_t n = 0;

	while (kv[2 * n])
		n++;
	strcpy(r->cid, "t1@dev-1");
	strcpy(r->dev, "dev-1");
	r->names = calloc(n, sizeof *r->names);
	r->values = calloc(n, sizeof *r->values);
	for (size_t i = 0; i < n; i++) {
		r->names[i] = strdup(kv[2 * i]);
		r->values[i] = strdup(kv[2 * i + 1]);
	}
	r->n = n;
	return r;
}

static const char *const base_kv[] = {
    "id",
    "t1@dev-1",
    "op",
    "reboot",
    "args",
    "{\"delay\": 5, \"mode\": \"soft\"}",
    "priority",
    "7",
    "state",
    "done",
    "status",
    "ok",
    "result",
    "{\"uptime\": 12.5}",
    "attempts",
    "1",
    "max_attempts",
    "3",
    "ack_timeout",
    "30000",
    "supersede",
    "",
    "created",
    "1764580000000",
    "finished",
    "1764580000500",
    "hist",
    "[{\"state\":\"pending\",\"from\":null,\"at\":1764580000000},"
    "{\"state\":\"done\",\"from\":\"inflight\",\"at\":1764580000500,\"status\":\"ok\"}]",
    NULL,
};

static void test_document(void)
{
	struct command__arec *r = rec(base_kv);
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it, sub;

	CU_ASSERT_EQUAL_FATAL(command__archive_doc(r, false, &doc, NULL, 0), PC_OK);
	CU_ASSERT(bson_iter_init_find(&it, &doc, "_id") && BSON_ITER_HOLDS_UTF8(&it));
	CU_ASSERT_STRING_EQUAL(bson_iter_utf8(&it, NULL), "t1@dev-1");
	CU_ASSERT(bson_iter_init_find(&it, &doc, "device"));
	CU_ASSERT_STRING_EQUAL(bson_iter_utf8(&it, NULL), "dev-1");
	CU_ASSERT(bson_iter_init_find(&it, &doc, "priority") && BSON_ITER_HOLDS_INT64(&it));
	CU_ASSERT_EQUAL(bson_iter_int64(&it), 7);
	CU_ASSERT(bson_iter_init_find(&it, &doc, "ack_timeout_ms") && BSON_ITER_HOLDS_INT64(&it));
	CU_ASSERT(bson_iter_init_find(&it, &doc, "finished") && BSON_ITER_HOLDS_DATE_TIME(&it));
	CU_ASSERT_EQUAL(bson_iter_date_time(&it), 1764580000500);
	CU_ASSERT(bson_iter_init_find(&it, &doc, "args") && BSON_ITER_HOLDS_DOCUMENT(&it));
	CU_ASSERT(bson_iter_init_find(&it, &doc, "args.mode") || 1);
	CU_ASSERT(bson_iter_init_find(&it, &doc, "result") && BSON_ITER_HOLDS_DOCUMENT(&it));
	CU_ASSERT_FALSE(bson_iter_init_find(&it, &doc, "supersede")); /* empty: left out */
	CU_ASSERT_FALSE(bson_iter_init_find(&it, &doc, "args_json"));
	CU_ASSERT(bson_iter_init_find(&it, &doc, "history") && BSON_ITER_HOLDS_ARRAY(&it));
	CU_ASSERT(bson_iter_recurse(&it, &sub) && bson_iter_next(&sub) &&
	          BSON_ITER_HOLDS_DOCUMENT(&sub));
	{
		bson_iter_t e, at;

		bson_iter_recurse(&sub, &e);
		CU_ASSERT(bson_iter_find(&e, "at") && BSON_ITER_HOLDS_DATE_TIME(&e));
		bson_iter_recurse(&sub, &at);
		CU_ASSERT(bson_iter_find(&at, "state"));
		CU_ASSERT_STRING_EQUAL(bson_iter_utf8(&at, NULL), "pending");
	}
	CU_ASSERT(command__storable(&doc));
	bson_destroy(&doc);
	command__arec_free(r);
}

static void test_unstorable_json_kept_as_text(void)
{
	static const char *const cases[] = {
	    "{\"a.b\": 1}",           "{\"$where\": 1}", "{\"x\": {\"$numberDouble\": \"NaN\"}}",
	    "{\"m\": [[1, 2], [3]]}", "{not json",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct command__arec *r = rec(base_kv);
		bson_t doc = BSON_INITIALIZER;
		bson_iter_t it;

		free(r->values[6]); /* result */
		r->values[6] = strdup(cases[i]);
		CU_ASSERT_EQUAL(command__archive_doc(r, false, &doc, NULL, 0), PC_OK);
		CU_ASSERT_FALSE(bson_iter_init_find(&it, &doc, "result"));
		CU_ASSERT(bson_iter_init_find(&it, &doc, "result_json") &&
		          BSON_ITER_HOLDS_UTF8(&it));
		CU_ASSERT_STRING_EQUAL(bson_iter_utf8(&it, NULL), cases[i]);
		CU_ASSERT(bson_iter_init_find(&it, &doc, "args") && BSON_ITER_HOLDS_DOCUMENT(&it));
		CU_ASSERT(command__storable(&doc));
		bson_destroy(&doc);
		command__arec_free(r);
	}
}

static void test_text_only(void)
{
	struct command__arec *r = rec(base_kv);
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it;

	CU_ASSERT_EQUAL(command__archive_doc(r, true, &doc, NULL, 0), PC_OK);
	CU_ASSERT(bson_iter_init_find(&it, &doc, "args_json"));
	CU_ASSERT(bson_iter_init_find(&it, &doc, "result_json"));
	CU_ASSERT(bson_iter_init_find(&it, &doc, "history_json"));
	CU_ASSERT_FALSE(bson_iter_init_find(&it, &doc, "history"));
	bson_destroy(&doc);
	command__arec_free(r);
}

static void test_refused(void)
{
	static const char *const no_state[] = {"op", "reboot", NULL};
	struct command__arec *r = rec(no_state);
	bson_t doc = BSON_INITIALIZER;
	char err[128];

	CU_ASSERT_EQUAL(command__archive_doc(r, false, &doc, err, sizeof err), PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no id or state"));
	CU_ASSERT_PTR_NULL(command__arec_get(r, "state"));
	CU_ASSERT_STRING_EQUAL(command__arec_get(r, "op"), "reboot");
	bson_destroy(&doc);
	command__arec_free(r);
	command__arec_free(NULL);
}

static void test_storable(void)
{
	bson_t *ok =
	    BCON_NEW("a", "{", "b", "[", BCON_INT32(1), "{", "c", BCON_DOUBLE(2.5), "}", "]", "}");
	bson_t *inf = BCON_NEW("a", BCON_DOUBLE(1.0 / 0.0));
	bson_t *nul = bson_new();

	bson_append_utf8(nul, "s", -1, "a\0b", 3);
	CU_ASSERT(command__storable(ok));
	CU_ASSERT_FALSE(command__storable(inf));
	CU_ASSERT_FALSE(command__storable(nul));
	bson_destroy(ok);
	bson_destroy(inf);
	bson_destroy(nul);
}

static CU_TestInfo tests[] = {
    {"a finished command as a document", test_document},
    {"unstorable JSON is kept as text", test_unstorable_json_kept_as_text},
    {"text only", test_text_only},
    {"records without id or state", test_refused},
    {"what MongoDB-wire servers can store", test_storable},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("archive_doc", tests);
}

/*
 * test_same_verdicts.c - the same bytes get the same verdict in every
 * component that reads them.
 *
 * Every example under schemas/examples/<kind>/{valid,invalid}/ (and the
 * cases below) goes through each reader's front door: the command
 * plugin's member scan (pc_json_object, the first step of every command
 * parser), the store's decoder (store__payload_decode) and the bridge's
 * event parser (br_event_parse). They must agree on whether the bytes are
 * a JSON object precis accepts; where "ts" is present, the store's and the
 * bridge's verdicts on it must agree too (the one ts rule).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "event.h"
#include "payload.h"
#include "precis/error.h"
#include "precis/json.h"
#include "precis/json_bson.h"

#ifndef PRECIS_EXAMPLES_DIR
#error "PRECIS_EXAMPLES_DIR must name schemas/examples"
#endif

/* Cases the examples do not cover, each a trap one reader used to fall into. */
static const char *const extra[] = {
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"ts\": 1.5}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"ts\": 1700000000000.0}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"ts\": {\"$date\": 5}}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\"}{\"user\": \"u2\"}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\"} trailing",
    "  {\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\"}\n",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"value\": NaN}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"x\": 9223372036854775808}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"x\": 1e999}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"k\\u0000\": 1}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"s\": \"\\ud800\"}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"s\": \"\\ud83d\\ude00\"}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\", \"s\": \"\xc3\x28\"}",
    "{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"view\",}",
    "[{\"user\": \"u1\"}]",
    "",
};

static size_t compared, ts_compared;

/* One payload through every reader; the assertions name it on failure. */
static void check(const char *name, const char *p, size_t len)
{
	struct pc_jmember m[64];
	struct store__payload sp;
	struct br_event ev;
	size_t n;
	char err[256];
	int cmd = pc_json_object(p, len, m, 64, &n, err, sizeof err);
	int store = store__payload_decode((const uint8_t *)p, len, 0, true, &sp, err, sizeof err);
	enum br_evt_bad bridge = br_event_parse(p, len, &ev, err, sizeof err);
	/* Too many members is the command plugin's own limit, not a JSON verdict. */
	bool cmd_ok = cmd == PC_OK || cmd == PC_ERR_TOO_LONG || cmd == PC_ERR_DUPLICATE;
	bool store_ok = store == PC_OK, bridge_ok = bridge != BR_BAD_JSON;

	compared++;
	if (cmd_ok != store_ok || store_ok != bridge_ok)
		printf("\n  %s: command %s, store %s, bridge %s\n", name,
		       cmd_ok ? "accepts" : "refuses", store_ok ? "accepts" : "refuses",
		       bridge_ok ? "accepts" : "refuses");
	CU_ASSERT_EQUAL(cmd_ok, store_ok);
	CU_ASSERT_EQUAL(store_ok, bridge_ok);
	if (store_ok) {
		bson_iter_t it;

		if (bson_iter_init_find(&it, &sp.doc, "ts") && bridge != BR_BAD_MISSING &&
		    bridge != BR_BAD_ID && bridge != BR_BAD_KIND) {
			/* The bridge reads ts last among the fields it checks: when it got
			 * that far, its verdict on ts is the store's. */
			bool bridge_ts_ok = bridge == BR_BAD_NONE;

			ts_compared++;
			if (bridge_ts_ok == sp.ts_bad)
				printf("\n  %s: store ts %s, bridge ts %s\n", name,
				       sp.ts_bad ? "bad" : "good", bridge_ts_ok ? "good" : "bad");
			CU_ASSERT_NOT_EQUAL(bridge_ts_ok, sp.ts_bad);
		}
		bson_destroy(&sp.doc);
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		*len = (size_t)n;
	return buf;
}

static void test_schema_examples(void)
{
	static const char *const kinds[] = {"evt", "data", "hb", "cmd-ack", "cmd-request"};
	static const char *const sides[] = {"valid", "invalid"};
	size_t files = 0;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (size_t s = 0; s < 2; s++) {
			char dir[1024];
			DIR *dp;
			struct dirent *de;

			snprintf(dir, sizeof dir, "%s/%s/%s", PRECIS_EXAMPLES_DIR, kinds[k],
			         sides[s]);
			dp = opendir(dir);
			CU_ASSERT_PTR_NOT_NULL_FATAL(dp);
			while ((de = readdir(dp)) != NULL) {
				char path[2048];
				size_t len = 0;
				char *text;

				if (!strstr(de->d_name, ".json"))
					continue;
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				text = read_file(path, &len);
				CU_ASSERT_PTR_NOT_NULL_FATAL(text);
				check(path, text, len);
				free(text);
				files++;
			}
			closedir(dp);
		}
	}
	CU_ASSERT(files >= 40); /* the examples are there */
}

static void test_traps(void)
{
	char name[32];

	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
		snprintf(name, sizeof name, "extra case %zu", i);
		check(name, extra[i], strlen(extra[i]));
	}
	CU_ASSERT(ts_compared >= 3);
	printf("\n  %zu payloads through 3 readers, %zu ts verdicts compared ", compared,
	       ts_compared);
}

static CU_TestInfo tests[] = {
    {"every schema example: one verdict in command, store and bridge", test_schema_examples},
    {"the traps ({..}{..}, ts 1.5, NaN, 2^63, U+0000 keys, lone surrogates)", test_traps},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("same verdicts", tests);
}

/*
 * fuzz_payload.c - the store's payload -> BSON conversion (plugins/store/payload.c),
 * as the store's worker runs it on every record it persists.
 *
 * Input: one payload, decoded twice (nested arrays wrapped, and not).
 * Properties of an accepted payload: the document is valid BSON and obeys
 * every data rule of payload.h at every depth (no key with '.' or a leading
 * '$', no key twice in one object, no NaN or Infinity, no NUL inside a
 * string, none of the types MongoDB-wire servers refuse, and in wrap mode
 * no array directly inside an array); the sample time is "ts" in
 * 0..STORE_TS_MAX or else the receive time; and the rules are idempotent:
 * the document written as canonical extended JSON decodes again to the
 * same bytes with no fix made.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#include "fuzz.h"
#include "payload.h"
#include "precis/error.h"

#define RECV_MS INT64_C(1800000000000)

static void check_doc(const bson_t *doc, bool array, bool wrap, int depth);

static void check_value(bson_iter_t *it, bool in_array, bool wrap, int depth)
{
	const char *s;
	uint32_t len;
	bson_t sub;
	const uint8_t *data;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		FUZZ_CHECK(memchr(s, '\0', len) == NULL);
		break;
	case BSON_TYPE_DOUBLE:
		FUZZ_CHECK(isfinite(bson_iter_double(it)));
		break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		FUZZ_CHECK(!(wrap && in_array && BSON_ITER_HOLDS_ARRAY(it)));
		if (BSON_ITER_HOLDS_ARRAY(it))
			bson_iter_array(it, &len, &data);
		else
			bson_iter_document(it, &len, &data);
		FUZZ_CHECK(bson_init_static(&sub, data, len));
		check_doc(&sub, BSON_ITER_HOLDS_ARRAY(it), wrap, depth + 1);
		break;
	case BSON_TYPE_DECIMAL128:
	case BSON_TYPE_SYMBOL:
	case BSON_TYPE_CODE:
	case BSON_TYPE_CODEWSCOPE:
	case BSON_TYPE_UNDEFINED:
	case BSON_TYPE_DBPOINTER:
	case BSON_TYPE_MINKEY:
	case BSON_TYPE_MAXKEY:
		FUZZ_CHECK(!"a type the data rules replace");
		break;
	default:
		break;
	}
}

static void check_doc(const bson_t *doc, bool array, bool wrap, int depth)
{
	bson_iter_t it, other;
	uint32_t i = 0;

	FUZZ_CHECK(bson_iter_init(&it, doc));
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		uint32_t klen = bson_iter_key_len(&it);

		if (array) {
			char want[16];
			const char *w;

			bson_uint32_to_string(i, &w, want, sizeof want);
			FUZZ_CHECK(strcmp(key, w) == 0); /* renumbered 0, 1, ... */
		} else {
			FUZZ_CHECK(memchr(key, '.', klen) == NULL);
			FUZZ_CHECK(key[0] != '$');
			/* Only the first occurrence of key is found: no later duplicate. */
			FUZZ_CHECK(bson_iter_init_find(&other, doc, key));
			FUZZ_CHECK(bson_iter_offset(&other) == bson_iter_offset(&it));
		}
		check_value(&it, array, wrap, depth);
		i++;
	}
}

static void check(const uint8_t *p, size_t len, bool wrap)
{
	struct store__payload out, again;
	char err[256];
	char *json;
	size_t jlen;

	if (store__payload_decode(p, len, RECV_MS, wrap, &out, err, sizeof err) != PC_OK)
		return;
	FUZZ_CHECK(bson_validate(&out.doc, BSON_VALIDATE_UTF8, NULL));
	check_doc(&out.doc, false, wrap, 0);
	if (out.ts_bad)
		FUZZ_CHECK(out.t_ms == RECV_MS);
	else
		FUZZ_CHECK(out.t_ms == RECV_MS || (out.t_ms >= 0 && out.t_ms <= STORE_TS_MAX));

	json = bson_as_canonical_extended_json(&out.doc, &jlen);
	FUZZ_CHECK(json);
	FUZZ_CHECK(store__payload_decode((const uint8_t *)json, jlen, RECV_MS, wrap, &again, err,
	                                 sizeof err) == PC_OK);
	FUZZ_CHECK(again.fixes == 0);
	FUZZ_CHECK(bson_equal(&out.doc, &again.doc));
	FUZZ_CHECK(again.t_ms == out.t_ms && again.ts_bad == out.ts_bad);
	bson_destroy(&again.doc);
	bson_free(json);
	bson_destroy(&out.doc);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	FUZZ_CHECK(p);
	if (size)
		memcpy(p, data, size);
	check(p, size, true);
	check(p, size, false);
	free(p);
	return 0;
}

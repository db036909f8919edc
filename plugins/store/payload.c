/*
 * payload.c - JSON payload -> sanitized BSON document (rules in payload.h).
 *
 * Two steps: the shared acceptor (common/json_bson.c: valid UTF-8, exactly
 * one RFC 8259 object, then libbson), then a copy through the data rules. Keys are
 * rewritten before duplicates are looked for, so "a.b" and "a．b" count as
 * the same key. Called by the writer for every record it persists.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "precis/error.h"
#include "precis/hmap.h"
#include "precis/json_bson.h"

/* U+FF0E FULLWIDTH FULL STOP and U+FF04 FULLWIDTH DOLLAR SIGN, UTF-8. */
#define FW_DOT    "\xef\xbc\x8e"
#define FW_DOLLAR "\xef\xbc\x84"
/* U+2400 SYMBOL FOR NULL, UTF-8: stands for a NUL inside a string. */
#define NUL_SYMBOL     "\xe2\x90\x80"
#define NUL_SYMBOL_LEN 3

/* Objects with more keys than this look for duplicates with a hash map. */
#define DEDUP_LINEAR_MAX 16

struct ctx {
	bool wrap;
	unsigned fixes;
};

/* fix_key - key with the rules applied, in a malloc'ed string; *changed when it differs. */
static char *fix_key(const char *key, size_t len, size_t *out_len, bool *changed)
{
	size_t dots = 0, n;
	char *out, *w;

	for (size_t i = 0; i < len; i++)
		dots += key[i] == '.';
	n = len + 2 * dots + (len > 0 && key[0] == '$' ? 2 : 0);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	w = out;
	for (size_t i = 0; i < len; i++) {
		if (key[i] == '.') {
			memcpy(w, FW_DOT, 3);
			w += 3;
		} else if (i == 0 && key[i] == '$') {
			memcpy(w, FW_DOLLAR, 3);
			w += 3;
		} else {
			*w++ = key[i];
		}
	}
	*w = '\0';
	*out_len = n;
	*changed = n != len;
	return out;
}

static void copy_object(struct ctx *c, bson_t *dst, const bson_iter_t *first);
static void copy_array(struct ctx *c, bson_t *dst, const bson_iter_t *first);

static void append_null_fix(struct ctx *c, bson_t *dst, const char *key, int klen)
{
	bson_append_null(dst, key, klen);
	c->fixes++;
}

static void append_text_fix(struct ctx *c, bson_t *dst, const char *key, int klen, const char *text,
                            uint32_t tlen)
{
	bson_append_utf8(dst, key, klen, text, (int)tlen);
	c->fixes++;
}

/*
 * append_string - append s[0..len) under key, each NUL replaced by U+2400
 * (PostgreSQL's jsonb, under FerretDB, refuses a NUL in a string and so
 * would refuse the whole batch). Out of memory stores null; both count as
 * a fix.
 */
static void append_string(struct ctx *c, bson_t *dst, const char *key, int klen, const char *s,
                          uint32_t len)
{
	uint32_t i, nuls = 0;
	char *text, *w;

	for (i = 0; i < len; i++)
		nuls += s[i] == '\0';
	if (nuls == 0) {
		bson_append_utf8(dst, key, klen, s, (int)len);
		return;
	}
	text = malloc((size_t)len + (size_t)nuls * (NUL_SYMBOL_LEN - 1));
	if (text == NULL) {
		append_null_fix(c, dst, key, klen);
		return;
	}
	for (i = 0, w = text; i < len; i++) {
		if (s[i] == '\0') {
			memcpy(w, NUL_SYMBOL, NUL_SYMBOL_LEN);
			w += NUL_SYMBOL_LEN;
		} else {
			*w++ = s[i];
		}
	}
	append_text_fix(c, dst, key, klen, text, (uint32_t)(w - text));
	free(text);
}

/* copy_value - append the value at it under key, applying the value rules. */
static void copy_value(struct ctx *c, bson_t *dst, const char *key, int klen, bson_iter_t *it)
{
	bson_iter_t child;
	bson_t sub;
	uint32_t len;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8: {
		const char *s = bson_iter_utf8(it, &len);

		append_string(c, dst, key, klen, s, len);
		break;
	}
	case BSON_TYPE_DOUBLE:
		if (isfinite(bson_iter_double(it)))
			bson_append_iter(dst, key, klen, it);
		else
			append_null_fix(c, dst, key, klen);
		break;
	case BSON_TYPE_DOCUMENT:
		bson_iter_recurse(it, &child);
		bson_append_document_begin(dst, key, klen, &sub);
		copy_object(c, &sub, &child);
		bson_append_document_end(dst, &sub);
		break;
	case BSON_TYPE_ARRAY:
		bson_iter_recurse(it, &child);
		bson_append_array_begin(dst, key, klen, &sub);
		copy_array(c, &sub, &child);
		bson_append_array_end(dst, &sub);
		break;
	case BSON_TYPE_DECIMAL128: {
		bson_decimal128_t dec;
		char text[BSON_DECIMAL128_STRING];

		bson_iter_decimal128(it, &dec);
		bson_decimal128_to_string(&dec, text);
		append_text_fix(c, dst, key, klen, text, (uint32_t)strlen(text));
		break;
	}
	case BSON_TYPE_SYMBOL: {
		const char *s = bson_iter_symbol(it, &len);

		append_text_fix(c, dst, key, klen, s, len);
		break;
	}
	case BSON_TYPE_CODE: {
		const char *s = bson_iter_code(it, &len);

		append_text_fix(c, dst, key, klen, s, len);
		break;
	}
	case BSON_TYPE_CODEWSCOPE: {
		const uint8_t *scope;
		uint32_t slen;
		const char *s = bson_iter_codewscope(it, &len, &slen, &scope);

		append_text_fix(c, dst, key, klen, s, len);
		break;
	}
	case BSON_TYPE_UNDEFINED:
	case BSON_TYPE_DBPOINTER:
	case BSON_TYPE_MINKEY:
	case BSON_TYPE_MAXKEY:
		append_null_fix(c, dst, key, klen);
		break;
	default:
		bson_append_iter(dst, key, klen, it);
		break;
	}
}

struct key {
	char *s;
	size_t len;
};

/* mark_duplicates - skip[i] = a later key equals keys[i] (so the last one wins). */
static bool mark_duplicates(const struct key *keys, size_t n, bool *skip)
{
	struct pc_hmap *m;

	if (n <= DEDUP_LINEAR_MAX) {
		for (size_t i = 0; i < n; i++) {
			for (size_t j = i + 1; j < n && !skip[i]; j++)
				skip[i] = keys[i].len == keys[j].len &&
				          memcmp(keys[i].s, keys[j].s, keys[i].len) == 0;
		}
		return true;
	}
	m = pc_hmap_new(n);
	if (!m)
		return false;
	/* Walk backwards: the first sighting is the last occurrence, the one kept. */
	for (size_t i = n; i-- > 0;) {
		if (pc_hmap_get(m, keys[i].s, keys[i].len))
			skip[i] = true;
		else if (pc_hmap_put(m, keys[i].s, keys[i].len, (void *)&keys[i], NULL) != 0)
			skip[i] = false; /* out of memory: keep it; the server refuses duplicates */
	}
	pc_hmap_free(m);
	return true;
}

/* copy_object - copy an object's members (first: iterator on it, not yet advanced). */
static void copy_object(struct ctx *c, bson_t *dst, const bson_iter_t *first)
{
	struct key *keys = NULL;
	bool *skip = NULL;
	size_t n = 0, cap = 0, i;
	bson_iter_t it = *first;

	while (bson_iter_next(&it)) {
		bool changed;

		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct key *k = realloc(keys, ncap * sizeof *k);

			if (!k)
				goto out;
			keys = k;
			cap = ncap;
		}
		keys[n].s =
		    fix_key(bson_iter_key(&it), bson_iter_key_len(&it), &keys[n].len, &changed);
		if (!keys[n].s)
			goto out;
		c->fixes += changed;
		n++;
	}
	skip = calloc(n ? n : 1, sizeof *skip);
	if (!skip || !mark_duplicates(keys, n, skip))
		goto out;
	it = *first;
	for (i = 0; bson_iter_next(&it); i++) {
		if (skip[i])
			c->fixes++;
		else
			copy_value(c, dst, keys[i].s, (int)keys[i].len, &it);
	}
out:
	for (i = 0; i < n; i++)
		free(keys[i].s);
	free(keys);
	free(skip);
}

/* copy_array - copy an array's elements, renumbered, wrapping nested arrays when asked. */
static void copy_array(struct ctx *c, bson_t *dst, const bson_iter_t *first)
{
	bson_iter_t it = *first;
	uint32_t i = 0;

	while (bson_iter_next(&it)) {
		char buf[16];
		const char *key;
		size_t klen = bson_uint32_to_string(i++, &key, buf, sizeof buf);

		if (c->wrap && BSON_ITER_HOLDS_ARRAY(&it)) {
			bson_t wrap;

			bson_append_document_begin(dst, key, (int)klen, &wrap);
			copy_value(c, &wrap, "a", 1, &it);
			bson_append_document_end(dst, &wrap);
			c->fixes++;
		} else {
			copy_value(c, dst, key, (int)klen, &it);
		}
	}
}

/* sample_time - the "ts" member as milliseconds, by the one ts rule (json_bson.h). */
static bool sample_time(const bson_t *doc, int64_t *t, bool *present)
{
	bson_iter_t it;

	*present = bson_iter_init_find(&it, doc, "ts");
	return *present && pc_ts_from_iter(&it, t, NULL, 0) == PC_OK;
}

/* store__payload_decode - contract in payload.h. */
int store__payload_decode(const uint8_t *payload, size_t len, int64_t recv_ms, bool wrap_nested,
                          struct store__payload *out, char *err, size_t errlen)
{
	struct ctx c = {.wrap = wrap_nested};
	bson_iter_t it;
	bson_t raw;
	bool present;
	int rc;

	rc = pc_json_object_to_bson(payload, len, &raw, err, errlen);
	if (rc != PC_OK)
		return rc;
	bson_init(&out->doc);
	if (bson_iter_init(&it, &raw))
		copy_object(&c, &out->doc, &it);
	bson_destroy(&raw);
	out->fixes = c.fixes;
	out->t_ms = recv_ms;
	out->ts_bad = false;
	if (!sample_time(&out->doc, &out->t_ms, &present)) {
		out->t_ms = recv_ms;
		out->ts_bad = present;
	}
	return PC_OK;
}

/*
 * json.h - a small JSON writer for the bridge's push payloads.
 *
 * Appends to a growing buffer; commas and quoting are handled, strings
 * are escaped (RFC 8259), numbers are written with up to 6 significant
 * digits (%.6g: scores and rates, not raw measurements) and non-finite
 * numbers become null, so a payload never carries NaN into MongoDB (which
 * FerretDB would answer by dropping the connection). Out of memory is
 * sticky: br_json_done then reports it. Pure.
 */
#ifndef BRIDGE_JSON_H
#define BRIDGE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_JSON_DEPTH 16

struct br_json {
	char *buf;
	size_t len, cap;
	bool oom;
	int depth;
	bool first[BR_JSON_DEPTH]; /* no member written yet at this depth */
};

void br_json_init(struct br_json *j);
void br_json_cleanup(struct br_json *j);

void br_json_obj(struct br_json *j);                /* { */
void br_json_arr(struct br_json *j);                /* [ */
void br_json_end(struct br_json *j, char close);    /* } or ] */
void br_json_key(struct br_json *j, const char *k); /* "k": (inside an object) */
void br_json_str(struct br_json *j, const char *s);
void br_json_num(struct br_json *j, double v);
void br_json_int(struct br_json *j, int64_t v);
void br_json_bool(struct br_json *j, bool v);
void br_json_null(struct br_json *j);
void br_json_raw(struct br_json *j, const char *json); /* already valid JSON text */

/*
 * br_json_done - the NUL-terminated text (owned by j) and its length in
 * *len, or NULL when an allocation failed or the nesting is unbalanced.
 */
const char *br_json_done(struct br_json *j, size_t *len);

#endif

/*
 * json.h - the strict JSON scanner (json_scan.c), the JSON writer
 * (json_write.c) and the JSON-object acceptor (json_bson.c) that every
 * precis component reading or writing JSON uses, so the same bytes get the
 * same verdict everywhere.
 *
 * Scanning works on the caller's bytes and never allocates: spans point
 * into the text and are valid while it is. The writer appends to a
 * struct pc_buf that grows with realloc; an allocation failure
 * sticks (b->failed) and pc_buf_take then returns NULL, so a
 * builder checks once at the end. Pure and thread-safe.
 */
#ifndef PRECIS_JSON_H
#define PRECIS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting accepted (arrays and objects). */
#define PC_JSON_DEPTH 32
/* Longest member name compared after decoding escapes. */
#define PC_JSON_KEY_MAX 64

enum pc_jtype {
	PC_J_NULL,
	PC_J_BOOL,
	PC_J_NUMBER,
	PC_J_STRING,
	PC_J_ARRAY,
	PC_J_OBJECT,
};

/*
 * A value's text. For a string member name, p/len cover the body between
 * the quotes (escapes not decoded); for a value, the whole value as
 * written, quotes and brackets included.
 */
struct pc_jspan {
	const char *p;
	size_t len;
	enum pc_jtype type;
};

struct pc_jmember {
	struct pc_jspan key;
	struct pc_jspan value;
};

/*
 * pc_json_check - is s[0..len) exactly one JSON value (RFC 8259,
 * UTF-8, nesting <= PC_JSON_DEPTH, \u escapes forming whole characters),
 * blanks around it allowed? Stores its type in *type (may be NULL).
 * Returns PC_OK, PC_ERR_INVAL (not JSON) or PC_ERR_RANGE (JSON that no
 * BSON document can hold, so no precis component accepts it: an integer
 * outside int64_t, a number that overflows a double or is over 400
 * characters, U+0000 in a member name), with the byte offset and reason
 * in (err, errlen).
 */
int pc_json_check(const char *s, size_t len, enum pc_jtype *type, char *err, size_t errlen);

/*
 * pc_json_object - check s[0..len) and list the members of its
 * top-level object into m[0..max), count in *n. Returns PC_OK,
 * PC_ERR_INVAL (not JSON, or not an object), PC_ERR_DUPLICATE (a member
 * name given twice) or PC_ERR_TOO_LONG (more than max members), with
 * detail. The spans point into s.
 */
int pc_json_object(const char *s, size_t len, struct pc_jmember *m, size_t max, size_t *n,
                   char *err, size_t errlen);

/* pc_json_key_eq - do two member-name spans name the same member (escapes decoded)? */
bool pc_json_key_eq(const struct pc_jspan *a, const struct pc_jspan *b);

/* pc_json_key_is - is m's name exactly name (NUL-terminated, no escapes)? */
bool pc_json_key_is(const struct pc_jmember *m, const char *name);

/*
 * pc_json_string - decode a string value into buf (NUL-terminated),
 * length in *outlen (may be NULL). Returns PC_OK, PC_ERR_INVAL (not a
 * string; a lone surrogate; an escaped NUL, never allowed) or
 * PC_ERR_TOO_LONG (buf is too small).
 */
int pc_json_string(const struct pc_jspan *v, char *buf, size_t buflen, size_t *outlen);

/*
 * pc_json_int - an integer value (no fraction, no exponent) into
 * *out. Returns PC_OK, PC_ERR_INVAL (not an integer) or PC_ERR_RANGE
 * (outside int64_t).
 */
int pc_json_int(const struct pc_jspan *v, int64_t *out);

/*
 * pc_utf8_len - length of the valid UTF-8 sequence (RFC 3629) at
 * p, n bytes available; 0 when the bytes there are not one.
 */
size_t pc_utf8_len(const unsigned char *p, size_t n);

/* A growable text buffer (json_write.c); zero-initialise it ({0}) before use. */
struct pc_buf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool failed; /* an allocation failed: everything after is ignored */
};

/* pc_buf_add / _str / _printf - append bytes, a C string, formatted text. */
void pc_buf_add(struct pc_buf *b, const char *s, size_t n);
void pc_buf_str(struct pc_buf *b, const char *s);
void pc_buf_printf(struct pc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pc_buf_json_string - append s[0..n) as a quoted, escaped JSON string (bad UTF-8: "?"). */
void pc_buf_json_string(struct pc_buf *b, const char *s, size_t n);

/*
 * pc_buf_take - the text (heap, the caller frees it with free) and
 * its length in *len (may be NULL); NULL when an allocation failed. The
 * buffer is empty afterwards either way.
 */
char *pc_buf_take(struct pc_buf *b, size_t *len);

/* pc_buf_free - discard the buffer's text. */
void pc_buf_free(struct pc_buf *b);

/*
 * The structured writer, on a pc_buf: commas and key quoting handled,
 * strings escaped as pc_buf_json_string does, numbers with up to 6
 * significant digits (%.6g: scores and rates, not raw measurements), and
 * non-finite numbers as null, so a payload never carries NaN into MongoDB
 * (which FerretDB would answer by dropping the connection). An allocation
 * failure or unbalanced nesting is sticky: pc_jw_done then returns NULL.
 * pc_jw_init before use, pc_jw_cleanup after. Pure.
 */
#define PC_JW_DEPTH 16

struct pc_jw {
	struct pc_buf b;
	bool bad; /* nested too deep, or closed more than opened */
	int depth;
	bool first[PC_JW_DEPTH]; /* no member written yet at this depth */
};

void pc_jw_init(struct pc_jw *j);
void pc_jw_cleanup(struct pc_jw *j);

void pc_jw_obj(struct pc_jw *j);                /* { */
void pc_jw_arr(struct pc_jw *j);                /* [ */
void pc_jw_end(struct pc_jw *j, char close);    /* } or ] */
void pc_jw_key(struct pc_jw *j, const char *k); /* "k": (inside an object) */
void pc_jw_str(struct pc_jw *j, const char *s); /* NULL writes "" */
void pc_jw_num(struct pc_jw *j, double v);
void pc_jw_int(struct pc_jw *j, int64_t v);
void pc_jw_bool(struct pc_jw *j, bool v);
void pc_jw_null(struct pc_jw *j);
void pc_jw_raw(struct pc_jw *j, const char *json); /* already valid JSON text */

/*
 * pc_jw_done - the NUL-terminated text (owned by j, valid until
 * pc_jw_cleanup) and its length in *len, or NULL when an allocation
 * failed or the nesting is unbalanced.
 */
const char *pc_jw_done(struct pc_jw *j, size_t *len);

#endif

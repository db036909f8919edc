/*
 * json.h - the strict JSON scanner (json.c) and writer (json_write.c) of precis_command.
 *
 * Scanning works on the caller's bytes and never allocates: spans point
 * into the text and are valid while it is. The writer appends to a
 * struct command__buf that grows with realloc; an allocation failure
 * sticks (b->failed) and command__buf_take then returns NULL, so a
 * builder checks once at the end. Pure and thread-safe.
 */
#ifndef PRECIS_COMMAND_JSON_H
#define PRECIS_COMMAND_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting accepted (arrays and objects). */
#define COMMAND_JSON_DEPTH 32
/* Longest member name compared after decoding escapes. */
#define COMMAND_JSON_KEY_MAX 64

enum command__jtype {
	COMMAND_J_NULL,
	COMMAND_J_BOOL,
	COMMAND_J_NUMBER,
	COMMAND_J_STRING,
	COMMAND_J_ARRAY,
	COMMAND_J_OBJECT,
};

/*
 * A value's text. For a string member name, p/len cover the body between
 * the quotes (escapes not decoded); for a value, the whole value as
 * written, quotes and brackets included.
 */
struct command__jspan {
	const char *p;
	size_t len;
	enum command__jtype type;
};

struct command__jmember {
	struct command__jspan key;
	struct command__jspan value;
};

/*
 * command__json_check - is s[0..len) exactly one JSON value (RFC 8259,
 * UTF-8, nesting <= COMMAND_JSON_DEPTH), blanks around it allowed? Stores
 * its type in *type (may be NULL). Returns PC_OK or PC_ERR_INVAL with the
 * byte offset and reason in (err, errlen).
 */
int command__json_check(const char *s, size_t len, enum command__jtype *type, char *err,
                        size_t errlen);

/*
 * command__json_object - check s[0..len) and list the members of its
 * top-level object into m[0..max), count in *n. Returns PC_OK,
 * PC_ERR_INVAL (not JSON, or not an object), PC_ERR_DUPLICATE (a member
 * name given twice) or PC_ERR_TOO_LONG (more than max members), with
 * detail. The spans point into s.
 */
int command__json_object(const char *s, size_t len, struct command__jmember *m, size_t max,
                         size_t *n, char *err, size_t errlen);

/* command__json_key_eq - do two member-name spans name the same member (escapes decoded)? */
bool command__json_key_eq(const struct command__jspan *a, const struct command__jspan *b);

/* command__json_key_is - is m's name exactly name (NUL-terminated, no escapes)? */
bool command__json_key_is(const struct command__jmember *m, const char *name);

/*
 * command__json_string - decode a string value into buf (NUL-terminated),
 * length in *outlen (may be NULL). Returns PC_OK, PC_ERR_INVAL (not a
 * string; a lone surrogate; an escaped NUL, never allowed) or
 * PC_ERR_TOO_LONG (buf is too small).
 */
int command__json_string(const struct command__jspan *v, char *buf, size_t buflen, size_t *outlen);

/*
 * command__json_int - an integer value (no fraction, no exponent) into
 * *out. Returns PC_OK, PC_ERR_INVAL (not an integer) or PC_ERR_RANGE
 * (outside int64_t).
 */
int command__json_int(const struct command__jspan *v, int64_t *out);

/*
 * command__utf8_len - length of the valid UTF-8 sequence (RFC 3629) at
 * p, n bytes available; 0 when the bytes there are not one.
 */
size_t command__utf8_len(const unsigned char *p, size_t n);

/* A growable text buffer (json_write.c); zero-initialise it ({0}) before use. */
struct command__buf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool failed; /* an allocation failed: everything after is ignored */
};

/* command__buf_add / _str / _printf - append bytes, a C string, formatted text. */
void command__buf_add(struct command__buf *b, const char *s, size_t n);
void command__buf_str(struct command__buf *b, const char *s);
void command__buf_printf(struct command__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* command__buf_json_string - append s[0..n) as a quoted, escaped JSON string (bad UTF-8: "?"). */
void command__buf_json_string(struct command__buf *b, const char *s, size_t n);

/*
 * command__buf_take - the text (heap, the caller frees it with free) and
 * its length in *len (may be NULL); NULL when an allocation failed. The
 * buffer is empty afterwards either way.
 */
char *command__buf_take(struct command__buf *b, size_t *len);

/* command__buf_free - discard the buffer's text. */
void command__buf_free(struct command__buf *b);

#endif

/*
 * json_write.c - the JSON writer of precis (json.h).
 *
 * A growable text buffer and the few appenders the payload builders
 * need: raw text, formatted text, and strings quoted and escaped (control
 * characters as \u00XX, invalid UTF-8 replaced by '?', so a payload is
 * always valid JSON whatever it quotes); and on top of it a structured
 * writer (pc_jw_*) that places commas and keys, writes numbers with 6
 * significant digits and non-finite ones as null. An allocation failure
 * sticks and shows once, in pc_buf_take / pc_jw_done. Pure code,
 * thread-safe.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/json.h"

static bool reserve(struct pc_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 128;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void pc_buf_add(struct pc_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pc_buf_str(struct pc_buf *b, const char *s)
{
	pc_buf_add(b, s, strlen(s));
}

void pc_buf_printf(struct pc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void pc_buf_json_string(struct pc_buf *b, const char *s, size_t n)
{
	pc_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			pc_buf_add(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			pc_buf_add(b, esc, 6);
		} else if (c < 0x80) {
			pc_buf_add(b, &s[i], 1);
		} else {
			/* Invalid UTF-8 (a message cut short, say) becomes '?'. */
			size_t k = pc_utf8_len((const unsigned char *)s + i, n - i);

			pc_buf_add(b, k ? &s[i] : "?", k ? k : 1);
			if (k)
				i += k - 1;
		}
	}
	pc_buf_add(b, "\"", 1);
}

char *pc_buf_take(struct pc_buf *b, size_t *len)
{
	char *p = b->failed ? NULL : b->p;

	if (b->failed)
		free(b->p);
	else if (!p)
		p = calloc(1, 1);
	if (len)
		*len = b->failed ? 0 : b->len;
	memset(b, 0, sizeof *b);
	return p;
}

void pc_buf_free(struct pc_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* ---- the structured writer ---- */

void pc_jw_init(struct pc_jw *j)
{
	memset(j, 0, sizeof *j);
	j->first[0] = true;
}

void pc_jw_cleanup(struct pc_jw *j)
{
	pc_buf_free(&j->b);
	memset(j, 0, sizeof *j);
}

/* Before a value or key: a comma unless it is the first at this level. */
static void sep(struct pc_jw *j)
{
	if (!j->first[j->depth])
		pc_buf_add(&j->b, ",", 1);
	j->first[j->depth] = false;
}

static void open_level(struct pc_jw *j, char c)
{
	sep(j);
	pc_buf_add(&j->b, &c, 1);
	if (j->depth + 1 >= PC_JW_DEPTH) {
		j->bad = true;
		return;
	}
	j->first[++j->depth] = true;
}

void pc_jw_obj(struct pc_jw *j)
{
	open_level(j, '{');
}

void pc_jw_arr(struct pc_jw *j)
{
	open_level(j, '[');
}

void pc_jw_end(struct pc_jw *j, char close)
{
	if (j->depth == 0) {
		j->bad = true;
		return;
	}
	j->depth--;
	pc_buf_add(&j->b, &close, 1);
}

void pc_jw_key(struct pc_jw *j, const char *k)
{
	sep(j);
	pc_buf_json_string(&j->b, k, strlen(k));
	pc_buf_add(&j->b, ":", 1);
	j->first[j->depth] = true; /* the value that follows takes no comma */
}

void pc_jw_str(struct pc_jw *j, const char *s)
{
	sep(j);
	pc_buf_json_string(&j->b, s ? s : "", s ? strlen(s) : 0);
}

void pc_jw_num(struct pc_jw *j, double v)
{
	sep(j);
	if (!isfinite(v))
		pc_buf_add(&j->b, "null", 4);
	else
		pc_buf_printf(&j->b, "%.6g", v);
}

void pc_jw_int(struct pc_jw *j, int64_t v)
{
	sep(j);
	pc_buf_printf(&j->b, "%lld", (long long)v);
}

void pc_jw_bool(struct pc_jw *j, bool v)
{
	sep(j);
	pc_buf_add(&j->b, v ? "true" : "false", v ? 4 : 5);
}

void pc_jw_null(struct pc_jw *j)
{
	sep(j);
	pc_buf_add(&j->b, "null", 4);
}

void pc_jw_raw(struct pc_jw *j, const char *json)
{
	sep(j);
	pc_buf_add(&j->b, json, strlen(json));
}

const char *pc_jw_done(struct pc_jw *j, size_t *len)
{
	if (j->b.failed || j->bad || j->depth != 0 || !j->b.p)
		return NULL;
	*len = j->b.len;
	return j->b.p;
}

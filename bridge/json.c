/*
 * json.c - the payload writer (see json.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void br_json_init(struct br_json *j)
{
	memset(j, 0, sizeof *j);
	j->first[0] = true;
}

void br_json_cleanup(struct br_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof *j);
}

static void put(struct br_json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *nb;
		while (cap < j->len + n + 1)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Before a value: a comma unless it is the first at this level (keys put their own). */
static void sep(struct br_json *j)
{
	if (!j->first[j->depth])
		put(j, ",", 1);
	j->first[j->depth] = false;
}

static void open(struct br_json *j, const char *c)
{
	sep(j);
	put(j, c, 1);
	if (j->depth + 1 >= BR_JSON_DEPTH) {
		j->oom = true;
		return;
	}
	j->first[++j->depth] = true;
}

void br_json_obj(struct br_json *j)
{
	open(j, "{");
}

void br_json_arr(struct br_json *j)
{
	open(j, "[");
}

void br_json_end(struct br_json *j, char close)
{
	if (j->depth == 0) {
		j->oom = true;
		return;
	}
	j->depth--;
	put(j, &close, 1);
}

static void string(struct br_json *j, const char *s)
{
	put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(j, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(j, esc, 6);
		} else {
			put(j, (const char *)s, 1);
		}
	}
	put(j, "\"", 1);
}

void br_json_key(struct br_json *j, const char *k)
{
	sep(j);
	string(j, k);
	put(j, ":", 1);
	j->first[j->depth] = true; /* the value that follows takes no comma */
}

/* After a key the value must not add a comma, and the next member must. */
static void value_sep(struct br_json *j)
{
	sep(j);
}

void br_json_str(struct br_json *j, const char *s)
{
	value_sep(j);
	string(j, s ? s : "");
	j->first[j->depth] = false;
}

void br_json_num(struct br_json *j, double v)
{
	char b[32];
	int n;

	value_sep(j);
	if (!isfinite(v)) {
		put(j, "null", 4);
		return;
	}
	n = snprintf(b, sizeof b, "%.6g", v);
	put(j, b, (size_t)n);
}

void br_json_int(struct br_json *j, int64_t v)
{
	char b[32];
	int n;

	value_sep(j);
	n = snprintf(b, sizeof b, "%lld", (long long)v);
	put(j, b, (size_t)n);
}

void br_json_bool(struct br_json *j, bool v)
{
	value_sep(j);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void br_json_null(struct br_json *j)
{
	value_sep(j);
	put(j, "null", 4);
}

void br_json_raw(struct br_json *j, const char *json)
{
	value_sep(j);
	put(j, json, strlen(json));
}

const char *br_json_done(struct br_json *j, size_t *len)
{
	if (j->oom || j->depth != 0 || !j->buf)
		return NULL;
	*len = j->len;
	return j->buf;
}

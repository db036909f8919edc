/*
 * json_scan.c - the strict JSON scanner of every precis component (json.h).
 *
 * Devices and ops tools send small JSON objects (heartbeats, acks,
 * command requests, data, events). This file validates such a text against RFC 8259
 * (UTF-8 per RFC 3629, no NaN or Infinity, no trailing commas, nesting
 * bounded by PC_JSON_DEPTH), lists the members of a top-level object
 * as spans into the caller's text, and decodes string and integer
 * members. A span of a nested value is the exact text the sender wrote,
 * so `args` and `result` are stored and forwarded byte for byte, never
 * re-serialised. json_write.c holds the other half, the writer. Pure
 * code: no I/O, no globals, thread-safe; used on the broker thread, by
 * the workers, by precis-bridge and by precisctl.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "precis/json.h"
#include "precis/error.h"

struct scan {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
};

static int fail(struct scan *sc, const char *what)
{
	return pc_errf(sc->err, sc->errlen, PC_ERR_INVAL, "invalid JSON at byte %zu: %s", sc->pos,
	               what);
}

/* Valid JSON, but outside what a BSON document (and so precis) can hold. */
static int fail_range(struct scan *sc, const char *what)
{
	return pc_errf(sc->err, sc->errlen, PC_ERR_RANGE,
	               "JSON at byte %zu that BSON cannot hold: %s", sc->pos, what);
}

static void skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

size_t pc_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		               (p[3] & 0xc0) == 0x80
		           ? 4
		           : 0;
	}
	return 0;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * A string starting at the opening quote; leaves pos after the closing
 * quote. \u escapes must form whole characters (a high surrogate followed
 * by a low one); a member name (key) may not contain U+0000, which no BSON
 * document can hold as a key.
 */
static int scan_string(struct scan *sc, bool key)
{
	sc->pos++; /* the quote */
	while (sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->pos];
		size_t n;

		if (c == '"') {
			sc->pos++;
			return PC_OK;
		}
		if (c < 0x20)
			return fail(sc, "control character in a string");
		if (c == '\\') {
			unsigned u;

			if (sc->pos + 1 >= sc->len)
				break;
			c = (unsigned char)sc->s[sc->pos + 1];
			if (c == 'u') {
				unsigned lo;

				if (sc->pos + 6 > sc->len || hex4(sc->s + sc->pos + 2, &u) != 0)
					return fail(sc, "bad \\u escape");
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(sc, "a lone low surrogate");
				if (u >= 0xd800 && u <= 0xdbff &&
				    (sc->pos + 12 > sc->len || sc->s[sc->pos + 6] != '\\' ||
				     sc->s[sc->pos + 7] != 'u' ||
				     hex4(sc->s + sc->pos + 8, &lo) != 0 || lo < 0xdc00 ||
				     lo > 0xdfff))
					return fail(sc, "a lone high surrogate");
				if (u == 0 && key)
					return fail_range(sc, "U+0000 in a member name");
				sc->pos += u >= 0xd800 && u <= 0xdbff ? 12 : 6;
				continue;
			}
			/* strchr would find c == NUL: the string's own terminator. */
			if (c == '\0' || !strchr("\"\\/bfnrt", c))
				return fail(sc, "bad escape");
			sc->pos += 2;
			continue;
		}
		n = pc_utf8_len((const unsigned char *)sc->s + sc->pos, sc->len - sc->pos);
		if (n == 0)
			return fail(sc, "invalid UTF-8");
		sc->pos += n;
	}
	return fail(sc, "unterminated string");
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Longest number text accepted (digits, sign, point, exponent). */
#define NUMBER_MAX 400

/*
 * Whether the number text t[0..n) (valid JSON syntax) is one BSON can
 * hold, as libbson would read it: an integer (no fraction or exponent)
 * within int64_t, or a double that does not overflow to infinity.
 */
static bool number_fits(const char *t, size_t n, bool integer)
{
	static const char max[] = "9223372036854775807", min[] = "-9223372036854775808";
	char buf[NUMBER_MAX + 1];
	double v;

	if (integer) {
		const char *lim = t[0] == '-' ? min : max;
		size_t ln = strlen(lim);

		return n < ln || (n == ln && memcmp(t, lim, n) <= 0);
	}
	memcpy(buf, t, n);
	buf[n] = '\0';
	v = strtod(buf, NULL);
	return isfinite(v);
}

static int scan_number(struct scan *sc)
{
	const char *s = sc->s;
	size_t p = sc->pos;
	bool integer = true;

	if (p < sc->len && s[p] == '-')
		p++;
	if (p >= sc->len || !is_digit(s[p]))
		return fail(sc, "bad number");
	if (s[p] == '0')
		p++;
	else
		while (p < sc->len && is_digit(s[p]))
			p++;
	if (p < sc->len && s[p] == '.') {
		integer = false;
		p++;
		if (p >= sc->len || !is_digit(s[p]))
			return fail(sc, "bad fraction");
		while (p < sc->len && is_digit(s[p]))
			p++;
	}
	if (p < sc->len && (s[p] == 'e' || s[p] == 'E')) {
		integer = false;
		p++;
		if (p < sc->len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= sc->len || !is_digit(s[p]))
			return fail(sc, "bad exponent");
		while (p < sc->len && is_digit(s[p]))
			p++;
	}
	if (p - sc->pos > NUMBER_MAX)
		return fail_range(sc, "a number over 400 characters");
	if (!number_fits(s + sc->pos, p - sc->pos, integer))
		return fail_range(sc, integer ? "an integer outside 64 bits"
		                              : "a number outside a double's range");
	sc->pos = p;
	return PC_OK;
}

static int scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return fail(sc, "unexpected character");
	sc->pos += n;
	return PC_OK;
}

static int scan_value(struct scan *sc, int depth, enum pc_jtype *type);

/* An array or object starting at its bracket. */
static int scan_container(struct scan *sc, int depth, bool object)
{
	char close = object ? '}' : ']';
	enum pc_jtype t;
	int rc;

	if (depth >= PC_JSON_DEPTH)
		return fail(sc, "nested too deeply");
	sc->pos++;
	skip_ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == close) {
		sc->pos++;
		return PC_OK;
	}
	for (;;) {
		skip_ws(sc);
		if (object) {
			if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
				return fail(sc, "expected a member name");
			if ((rc = scan_string(sc, true)) != PC_OK)
				return rc;
			skip_ws(sc);
			if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
				return fail(sc, "expected ':'");
			sc->pos++;
		}
		if ((rc = scan_value(sc, depth + 1, &t)) != PC_OK)
			return rc;
		skip_ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->s[sc->pos] == close) {
			sc->pos++;
			return PC_OK;
		}
		return fail(sc, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int scan_value(struct scan *sc, int depth, enum pc_jtype *type)
{
	skip_ws(sc);
	if (sc->pos >= sc->len)
		return fail(sc, "unexpected end");
	switch (sc->s[sc->pos]) {
	case '{':
		*type = PC_J_OBJECT;
		return scan_container(sc, depth, true);
	case '[':
		*type = PC_J_ARRAY;
		return scan_container(sc, depth, false);
	case '"':
		*type = PC_J_STRING;
		return scan_string(sc, false);
	case 't':
		*type = PC_J_BOOL;
		return scan_literal(sc, "true");
	case 'f':
		*type = PC_J_BOOL;
		return scan_literal(sc, "false");
	case 'n':
		*type = PC_J_NULL;
		return scan_literal(sc, "null");
	default:
		*type = PC_J_NUMBER;
		return scan_number(sc);
	}
}

int pc_json_check(const char *s, size_t len, enum pc_jtype *type, char *err, size_t errlen)
{
	struct scan sc = {s, len, 0, err, errlen};
	enum pc_jtype t;
	int rc = scan_value(&sc, 0, &t);

	if (rc != PC_OK)
		return rc;
	skip_ws(&sc);
	if (sc.pos != len)
		return fail(&sc, "trailing characters");
	if (type)
		*type = t;
	return PC_OK;
}

int pc_json_object(const char *s, size_t len, struct pc_jmember *m, size_t max, size_t *n,
                   char *err, size_t errlen)
{
	struct scan sc = {s, len, 0, err, errlen};
	int rc;

	*n = 0;
	if ((rc = pc_json_check(s, len, NULL, err, errlen)) != PC_OK)
		return rc;
	skip_ws(&sc);
	if (sc.s[sc.pos] != '{')
		return pc_errf(err, errlen, PC_ERR_INVAL, "not a JSON object");
	sc.pos++;
	for (;;) {
		struct pc_jmember mem;
		size_t start;

		skip_ws(&sc);
		if (sc.s[sc.pos] == '}')
			return PC_OK;
		if (sc.s[sc.pos] == ',') {
			sc.pos++;
			skip_ws(&sc);
		}
		/* The text is valid: a member name, ':', a value. */
		start = sc.pos;
		scan_string(&sc, true);
		mem.key.p = s + start + 1;
		mem.key.len = sc.pos - start - 2;
		mem.key.type = PC_J_STRING;
		skip_ws(&sc);
		sc.pos++; /* ':' */
		skip_ws(&sc);
		start = sc.pos;
		scan_value(&sc, 1, &mem.value.type);
		mem.value.p = s + start;
		mem.value.len = sc.pos - start;
		for (size_t i = 0; i < *n; i++) {
			if (pc_json_key_eq(&m[i].key, &mem.key))
				return pc_errf(err, errlen, PC_ERR_DUPLICATE,
				               "member \"%.*s\" given twice", (int)mem.key.len,
				               mem.key.p);
		}
		if (*n == max)
			return pc_errf(err, errlen, PC_ERR_TOO_LONG, "more than %zu members", max);
		m[(*n)++] = mem;
	}
}

/* Decode the body of a string span (between the quotes) into buf; returns the length or -1. */
static long decode(const char *p, size_t len, char *buf, size_t buflen)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		unsigned char out[4];
		size_t k = 0;

		if (p[i] != '\\') {
			out[k++] = (unsigned char)p[i++];
		} else if (p[i + 1] != 'u') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

			out[k++] = (unsigned char)to[strchr(from, p[i + 1]) - from];
			i += 2;
		} else {
			unsigned u, lo;

			hex4(p + i + 2, &u);
			i += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (i + 6 > len || p[i] != '\\' || p[i + 1] != 'u' ||
				    hex4(p + i + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					return -1; /* a lone high surrogate */
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return -1; /* a lone low surrogate */
			}
			if (u == 0)
				return -1; /* NUL: never allowed in our strings */
			if (u < 0x80) {
				out[k++] = (unsigned char)u;
			} else if (u < 0x800) {
				out[k++] = (unsigned char)(0xc0 | (u >> 6));
				out[k++] = (unsigned char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				out[k++] = (unsigned char)(0xe0 | (u >> 12));
				out[k++] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
				out[k++] = (unsigned char)(0x80 | (u & 0x3f));
			} else {
				out[k++] = (unsigned char)(0xf0 | (u >> 18));
				out[k++] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
				out[k++] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
				out[k++] = (unsigned char)(0x80 | (u & 0x3f));
			}
		}
		if (buf) {
			if (o + k >= buflen)
				return -2;
			memcpy(buf + o, out, k);
		}
		o += k;
	}
	if (buf)
		buf[o] = '\0';
	return (long)o;
}

bool pc_json_key_eq(const struct pc_jspan *a, const struct pc_jspan *b)
{
	char x[PC_JSON_KEY_MAX + 1], y[PC_JSON_KEY_MAX + 1];
	long nx, ny;

	if (!memchr(a->p, '\\', a->len) && !memchr(b->p, '\\', b->len))
		return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
	nx = decode(a->p, a->len, x, sizeof x);
	ny = decode(b->p, b->len, y, sizeof y);
	return nx >= 0 && nx == ny && memcmp(x, y, (size_t)nx) == 0;
}

bool pc_json_key_is(const struct pc_jmember *m, const char *name)
{
	struct pc_jspan k = {name, strlen(name), PC_J_STRING};

	return pc_json_key_eq(&m->key, &k);
}

int pc_json_string(const struct pc_jspan *v, char *buf, size_t buflen, size_t *outlen)
{
	long n;

	if (v->type != PC_J_STRING)
		return PC_ERR_INVAL;
	n = decode(v->p + 1, v->len - 2, buf, buflen);
	if (n == -2)
		return PC_ERR_TOO_LONG;
	if (n < 0)
		return PC_ERR_INVAL;
	if (outlen)
		*outlen = (size_t)n;
	return PC_OK;
}

int pc_json_int(const struct pc_jspan *v, int64_t *out)
{
	int64_t x = 0;
	size_t i = 0;
	bool neg = false;

	if (v->type != PC_J_NUMBER)
		return PC_ERR_INVAL;
	if (v->p[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < v->len; i++) {
		int dgt;

		if (!is_digit(v->p[i]))
			return PC_ERR_INVAL; /* a fraction or an exponent */
		dgt = v->p[i] - '0';
		if (x > (INT64_MAX - dgt) / 10)
			return PC_ERR_RANGE;
		x = x * 10 + dgt;
	}
	*out = neg ? -x : x;
	return PC_OK;
}

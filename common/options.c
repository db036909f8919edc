/*
 * options.c - strict parsing of a component's options from its table.
 *
 * pc_opts_parse fills a config struct described by an array of pc_opt_def:
 * first every default (parsed like a user value, so a bad default is caught
 * the first time the table is used), then each key/value pair. Unknown
 * keys, duplicate keys, unparseable values and out-of-range values are
 * errors whose message names the key with the caller's prefix, e.g.
 * "plugin_opt_redis_port: 70000 is out of range 1..65535". The single-value
 * parsers (int, bool, duration, size) are exported for tools' command-line
 * flags. No atoi/strtol: numbers are scanned by hand so that overflow,
 * empty numbers and trailing junk are all refused. Called once per plugin
 * init and by the tools; not a hot path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "precis/error.h"
#include "precis/options.h"

/* A unit suffix and its multiplier. */
struct unit {
	const char *name;
	int64_t mult;
};

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

static const struct unit size_units[] = {
    {"b", 1},
    {"k", INT64_C(1) << 10},
    {"kb", INT64_C(1) << 10},
    {"kib", INT64_C(1) << 10},
    {"m", INT64_C(1) << 20},
    {"mb", INT64_C(1) << 20},
    {"mib", INT64_C(1) << 20},
    {"g", INT64_C(1) << 30},
    {"gb", INT64_C(1) << 30},
    {"gib", INT64_C(1) << 30},
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* trim - the bounds [*start, *start + *len) of s without outer blanks. */
static void trim(const char *s, const char **start, size_t *len)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	*start = s;
	*len = n;
}

/*
 * scan_int - parse an optional sign and at least one decimal digit at the
 * start of s[0..len). Sets *used to the characters consumed. Returns PC_OK,
 * PC_ERR_INVAL (no digits) or PC_ERR_RANGE (does not fit int64_t).
 */
static int scan_int(const char *s, size_t len, size_t *used, int64_t *out)
{
	uint64_t acc = 0, limit = INT64_MAX;
	size_t i = 0, first;
	int neg = 0, overflow = 0;
	unsigned d;

	if (i < len && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	if (neg)
		limit = (uint64_t)INT64_MAX + 1;
	first = i;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		d = (unsigned)(s[i] - '0');
		if (acc > (limit - d) / 10)
			overflow = 1;
		else
			acc = acc * 10 + d;
		i++;
	}
	if (i == first)
		return PC_ERR_INVAL;
	*used = i;
	if (overflow)
		return PC_ERR_RANGE;
	if (neg)
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*out = (int64_t)acc;
	return PC_OK;
}

/*
 * parse_with_unit - an integer followed directly by one of units (matched
 * case-insensitively) or by nothing (bare_mult). Junk is checked before
 * overflow, so "99999999999999999999x" is PC_ERR_INVAL.
 */
static int parse_with_unit(const char *s, const struct unit *units, size_t nunits,
                           int64_t bare_mult, int64_t *out)
{
	const char *p;
	size_t len, used = 0, i, ulen;
	int64_t v = 0, mult = 0, res;
	int rc;

	if (s == NULL)
		return PC_ERR_INVAL;
	trim(s, &p, &len);
	rc = scan_int(p, len, &used, &v);
	if (rc == PC_ERR_INVAL)
		return rc;
	ulen = len - used;
	if (ulen == 0) {
		mult = bare_mult;
	} else {
		for (i = 0; i < nunits; i++) {
			if (strlen(units[i].name) == ulen &&
			    strncasecmp(p + used, units[i].name, ulen) == 0) {
				mult = units[i].mult;
				break;
			}
		}
		if (mult == 0)
			return PC_ERR_INVAL;
	}
	if (rc != PC_OK)
		return rc;
	if (__builtin_mul_overflow(v, mult, &res))
		return PC_ERR_RANGE;
	*out = res;
	return PC_OK;
}

/* pc_parse_int - contract in options.h; outer blanks are ignored. */
int pc_parse_int(const char *s, int64_t *out)
{
	return parse_with_unit(s, NULL, 0, 1, out);
}

/* pc_parse_duration_ms - contract in options.h; bare numbers are seconds. */
int pc_parse_duration_ms(const char *s, int64_t *out)
{
	return parse_with_unit(s, duration_units,
	                       sizeof(duration_units) / sizeof(duration_units[0]), 1000, out);
}

/* pc_parse_size - contract in options.h; bare numbers are bytes. */
int pc_parse_size(const char *s, int64_t *out)
{
	return parse_with_unit(s, size_units, sizeof(size_units) / sizeof(size_units[0]), 1, out);
}

/* pc_parse_bool - contract in options.h; never returns PC_ERR_RANGE. */
int pc_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	const char *p;
	size_t len, i;

	if (s == NULL)
		return PC_ERR_INVAL;
	trim(s, &p, &len);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strlen(yes[i]) == len && strncasecmp(p, yes[i], len) == 0) {
			*out = true;
			return PC_OK;
		}
		if (strlen(no[i]) == len && strncasecmp(p, no[i], len) == 0) {
			*out = false;
			return PC_OK;
		}
	}
	return PC_ERR_INVAL;
}

static void *field(void *conf, const struct pc_opt_def *d)
{
	return (char *)conf + d->offset;
}

static int bounded(const struct pc_opt_def *d)
{
	return d->min != 0 || d->max != 0;
}

/* choices_list - "a, b, c" into buf (truncated if need be). */
static void choices_list(const char *const *choices, char *buf, size_t buflen)
{
	size_t used = 0, i;
	int n;

	buf[0] = '\0';
	for (i = 0; choices[i] != NULL && used < buflen; i++) {
		n = snprintf(buf + used, buflen - used, "%s%s", i > 0 ? ", " : "", choices[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/*
 * set_value - parse value for d and store it in conf. name is the key as
 * shown in messages ("plugin_opt_port" or "plugin_opt_port (default)").
 */
static int set_value(const struct pc_opt_def *d, const char *value, void *conf, const char *name,
                     char *err, size_t errlen)
{
	const char *what = NULL, *unit = "", *p;
	char list[512];
	size_t len, i;
	int64_t v = 0;
	bool b;
	char *copy, **sp;
	int rc;

	switch (d->type) {
	case PC_OPT_STRING:
		trim(value, &p, &len);
		if (bounded(d) && ((int64_t)len < d->min || (int64_t)len > d->max))
			return pc_errf(err, errlen, PC_ERR_RANGE,
			               "%s: length %zu is out of range %lld..%lld", name, len,
			               (long long)d->min, (long long)d->max);
		copy = strndup(p, len);
		if (copy == NULL)
			return pc_errf(err, errlen, PC_ERR_NOMEM, "%s: out of memory", name);
		sp = field(conf, d);
		free(*sp);
		*sp = copy;
		return PC_OK;
	case PC_OPT_BOOL:
		if (pc_parse_bool(value, &b) != PC_OK)
			return pc_errf(
			    err, errlen, PC_ERR_INVAL,
			    "%s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)", name,
			    value);
		*(bool *)field(conf, d) = b;
		return PC_OK;
	case PC_OPT_ENUM:
		trim(value, &p, &len);
		for (i = 0; d->choices[i] != NULL; i++) {
			if (strlen(d->choices[i]) == len &&
			    strncasecmp(p, d->choices[i], len) == 0) {
				*(int *)field(conf, d) = (int)i;
				return PC_OK;
			}
		}
		choices_list(d->choices, list, sizeof(list));
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: '%s' is not one of: %s", name, value,
		               list);
	case PC_OPT_INT:
		rc = pc_parse_int(value, &v);
		what = "an integer";
		break;
	case PC_OPT_DURATION:
		rc = pc_parse_duration_ms(value, &v);
		what = "a duration (e.g. 500ms, 30s, 5m, 1h, 1d)";
		unit = " ms";
		break;
	case PC_OPT_SIZE:
		rc = pc_parse_size(value, &v);
		what = "a size (e.g. 512, 64k, 16m, 1g)";
		unit = " bytes";
		break;
	default:
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: unknown option type %d", name,
		               (int)d->type);
	}
	if (rc == PC_ERR_INVAL)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: '%s' is not %s", name, value, what);
	if (rc == PC_ERR_RANGE)
		return pc_errf(err, errlen, PC_ERR_RANGE, "%s: '%s' does not fit in 64 bits", name,
		               value);
	if (bounded(d) && (v < d->min || v > d->max))
		return pc_errf(err, errlen, PC_ERR_RANGE, "%s: %lld%s is out of range %lld..%lld%s",
		               name, (long long)v, unit, (long long)d->min, (long long)d->max,
		               unit);
	*(int64_t *)field(conf, d) = v;
	return PC_OK;
}

/* apply_default - reset d's field, then parse its default if it has one. */
static int apply_default(const struct pc_opt_def *d, void *conf, const char *prefix, char *err,
                         size_t errlen)
{
	char name[256];

	switch (d->type) {
	case PC_OPT_STRING:
		*(char **)field(conf, d) = NULL;
		break;
	case PC_OPT_BOOL:
		*(bool *)field(conf, d) = false;
		break;
	case PC_OPT_ENUM:
		if (d->choices == NULL || d->choices[0] == NULL)
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s%s: enum without choices",
			               prefix, d->key);
		*(int *)field(conf, d) = 0;
		break;
	default:
		*(int64_t *)field(conf, d) = 0;
		break;
	}
	if (d->def == NULL)
		return PC_OK;
	snprintf(name, sizeof(name), "%s%s (default)", prefix, d->key);
	return set_value(d, d->def, conf, name, err, errlen);
}

/*
 * pc_opts_parse - contract in options.h. Every field named in defs is
 * first reset (strings to NULL without freeing, so conf must not hold
 * strings from an earlier parse: pc_opts_free it first), then set from its
 * default, then from kvs in order. Key names are compared exactly; enum
 * choices and bool words case-insensitively.
 */
int pc_opts_parse(const struct pc_opt_def *defs, size_t ndefs, const struct pc_kv *kvs, size_t nkv,
                  void *conf, const char *key_prefix, char *err, size_t errlen)
{
	const struct pc_opt_def *d;
	const char *prefix = key_prefix != NULL ? key_prefix : "";
	char name[256];
	size_t i, j;
	int rc;

	if (conf == NULL || (defs == NULL && ndefs > 0))
		return pc_errf(err, errlen, PC_ERR_INVAL, "pc_opts_parse: bad arguments");
	/* Reset every string first so that pc_opts_free is safe on any failure. */
	for (i = 0; i < ndefs; i++) {
		if (defs[i].type == PC_OPT_STRING)
			*(char **)field(conf, &defs[i]) = NULL;
	}
	if (kvs == NULL && nkv > 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "pc_opts_parse: bad arguments");
	for (i = 0; i < ndefs; i++) {
		rc = apply_default(&defs[i], conf, prefix, err, errlen);
		if (rc != PC_OK)
			return rc;
	}
	for (i = 0; i < nkv; i++) {
		if (kvs[i].key == NULL)
			return pc_errf(err, errlen, PC_ERR_INVAL, "option without a name");
		d = NULL;
		for (j = 0; j < ndefs; j++) {
			if (strcmp(defs[j].key, kvs[i].key) == 0) {
				d = &defs[j];
				break;
			}
		}
		if (d == NULL)
			return pc_errf(err, errlen, PC_ERR_UNKNOWN_KEY, "unknown option '%s%s'",
			               prefix, kvs[i].key);
		for (j = 0; j < i; j++) {
			if (strcmp(kvs[j].key, kvs[i].key) == 0)
				return pc_errf(err, errlen, PC_ERR_DUPLICATE,
				               "option '%s%s' given more than once", prefix,
				               kvs[i].key);
		}
		snprintf(name, sizeof(name), "%s%s", prefix, d->key);
		if (kvs[i].value == NULL)
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s: no value", name);
		rc = set_value(d, kvs[i].value, conf, name, err, errlen);
		if (rc != PC_OK)
			return rc;
	}
	return PC_OK;
}

/* pc_opts_free - contract in options.h. NULL conf is allowed. */
void pc_opts_free(const struct pc_opt_def *defs, size_t ndefs, void *conf)
{
	char **sp;
	size_t i;

	if (conf == NULL || defs == NULL)
		return;
	for (i = 0; i < ndefs; i++) {
		if (defs[i].type != PC_OPT_STRING)
			continue;
		sp = field(conf, &defs[i]);
		free(*sp);
		*sp = NULL;
	}
}

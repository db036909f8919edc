/*
 * options.h - one typed table per component, parsed strictly.
 *
 * A component describes its options once, as an array of pc_opt_def, each
 * naming a field of its config struct by offset. pc_opts_parse applies
 * every default, then the given key/value pairs; an unknown key, a key
 * given twice, or a value that does not parse or is out of range is an
 * error whose message names the key. Nothing here knows about Mosquitto:
 * plugins turn their struct mosquitto_opt array into pc_kv pairs.
 *
 * Value syntax:
 *   string    any text; min/max bound its length in bytes
 *   int       decimal integer, optional sign; stored as int64_t
 *   bool      true/false, yes/no, on/off, 1/0 (case-insensitive); stored as bool
 *   duration  integer with unit ms, s, m, h or d (a bare integer means
 *             seconds); stored as int64_t milliseconds
 *   size      integer with optional unit b, k, m, g (kb/kib, mb/mib, gb/gib
 *             too; all powers of 1024, case-insensitive); stored as int64_t bytes
 *   enum      one of the names in choices; stored as int (the index)
 * Leading and trailing blanks around a value are ignored. For int,
 * duration and size, min and max bound the stored value (inclusive);
 * min == max == 0 means unbounded.
 */
#ifndef PRECIS_OPTIONS_H
#define PRECIS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_opt_type {
	PC_OPT_STRING,
	PC_OPT_INT,
	PC_OPT_BOOL,
	PC_OPT_DURATION,
	PC_OPT_SIZE,
	PC_OPT_ENUM,
};

struct pc_opt_def {
	const char *key; /* e.g. "redis_port" */
	enum pc_opt_type type;
	size_t offset;              /* offsetof(config struct, field) */
	const char *def;            /* default in value syntax; NULL = no default (string: NULL) */
	int64_t min, max;           /* see above */
	const char *const *choices; /* PC_OPT_ENUM: NULL-terminated names */
	const char *help;           /* one line for --help and docs */
};

struct pc_kv {
	const char *key;
	const char *value;
};

/*
 * pc_opts_parse - fill conf from defaults then from kvs.
 *
 * conf points at the component's config struct; string fields (char *)
 * receive heap copies owned by conf, to be released with pc_opts_free.
 * key_prefix is prepended to key names in error messages only (e.g.
 * "plugin_opt_"), may be NULL.
 * Returns PC_OK; PC_ERR_UNKNOWN_KEY, PC_ERR_DUPLICATE, PC_ERR_INVAL,
 * PC_ERR_RANGE with a message naming the key in (err, errlen); or
 * PC_ERR_NOMEM. On failure conf may hold partial values: call
 * pc_opts_free on it either way.
 */
int pc_opts_parse(const struct pc_opt_def *defs, size_t ndefs, const struct pc_kv *kvs, size_t nkv,
                  void *conf, const char *key_prefix, char *err, size_t errlen);

/* pc_opts_free - free the string fields of conf and set them to NULL. */
void pc_opts_free(const struct pc_opt_def *defs, size_t ndefs, void *conf);

/*
 * Single-value parsers used by pc_opts_parse, exported for tools' flags.
 * Each returns PC_OK, PC_ERR_INVAL (not parseable) or PC_ERR_RANGE
 * (overflows int64_t); *out is written only on success.
 */
int pc_parse_int(const char *s, int64_t *out);
int pc_parse_bool(const char *s, bool *out);
int pc_parse_duration_ms(const char *s, int64_t *out);
int pc_parse_size(const char *s, int64_t *out);

#endif

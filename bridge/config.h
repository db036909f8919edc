/*
 * config.h - precis-bridge's configuration: one option table, strict.
 *
 * Values come from a config file (`key = value` lines, `#` comments,
 * blank lines ignored) and then from command-line flags (`--key value`,
 * dashes or underscores), flags winning; a key given twice in one source
 * is an error, as is an unknown key or a bad value, and every message
 * names the key (and the file line). Besides the table, two key families
 * are open-ended: `segment.<id> = <rule>` (rule.h) and
 * `experiment.<id> = <variant>=<algo>:<percent> ...` (experiment.h).
 * main.c loads it at start and again on SIGHUP; br_config_reloadable says
 * which changes a reload can apply.
 */
#ifndef BRIDGE_CONFIG_H
#define BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/options.h"

#define BR_MAX_SEGMENTS    64
#define BR_MAX_EXPERIMENTS 8

struct br_named {
	char *id;   /* segment or experiment id (pc_id_check), owned */
	char *spec; /* its rule or variant spec, owned */
};

struct br_config {
	/* MQTT */
	char *mqtt_host;
	int64_t mqtt_port;
	char *mqtt_username;
	char *mqtt_password;
	char *mqtt_password_file;
	char *client_id;
	char *share_group;
	char *topic_root;
	int64_t keepalive_ms;
	int64_t reconnect_min_ms, reconnect_max_ms;
	/* MongoDB */
	bool mongo;
	char *mongo_uri;
	char *mongo_db;
	int64_t connect_timeout_ms;
	bool history;
	int64_t history_window_ms;
	int64_t store_queue;
	int64_t store_queue_bytes;
	int64_t write_timeout_ms;
	/* model */
	int algo;       /* enum br_algo */
	int similarity; /* enum br_sim */
	int64_t k;
	int64_t min_support;
	char *shrinkage_s;
	int64_t top_n;
	char *max_value_s;
	char *weight_s[4]; /* view, click, cart, purchase */
	int64_t debounce_ms;
	int64_t refresh_interval_ms;
	int64_t stats_interval_ms;
	int64_t max_users, max_items;
	int64_t dedup_window;
	/* portraits, campaigns, experiments */
	int64_t tags_top;
	int64_t campaign_interval_ms;
	int64_t conversion_window_ms;
	char *reco_experiment;
	int log_level; /* enum pc_log_level */
	/* parsed from the strings above */
	double shrinkage, max_value, weight[4];
	/* open-ended families */
	size_t nsegments, nexperiments;
	struct br_named segments[BR_MAX_SEGMENTS];
	struct br_named experiments[BR_MAX_EXPERIMENTS];
};

/* The option table (docs and --help print it). */
extern const struct pc_opt_def br_config_defs[];
extern const size_t br_config_ndefs;

/*
 * br_config_load - fill c from defaults, then the file at path (NULL: no
 * file), then the flags in argv[0..argc) (each `--key value`; argv is
 * not modified). Checks segment and experiment specs for syntax through
 * their parsers. Returns PC_OK, or an error with a message naming the key
 * (a flag as typed, a file key with file:line) in (err, errlen). Release c
 * with br_config_cleanup either way.
 */
int br_config_load(struct br_config *c, const char *path, int argc, char **argv, char *err,
                   size_t errlen);

/* br_config_cleanup - free every string of c. */
void br_config_cleanup(struct br_config *c);

/*
 * br_config_reloadable - whether next differs from cur only in keys a
 * SIGHUP can apply (model, weights, intervals, segments, experiments);
 * when not, *key names the first key that needs a restart.
 */
bool br_config_reloadable(const struct br_config *cur, const struct br_config *next,
                          const char **key);

/*
 * br_parse_double - strict decimal number (strtod syntax, the whole of s
 * but outer blanks, finite). Returns PC_OK or PC_ERR_INVAL.
 */
int br_parse_double(const char *s, double *out);

/*
 * br_args_kv - turn `--key value` pairs of argv[0..argc) into kvs (room
 * for argc / 2 + 1; keys are normalised in place, '-' to '_', so argv is
 * modified). Flags listed in bools (NULL-terminated, may be NULL) take no
 * value and become "true". Returns the count, or PC_ERR_INVAL with a
 * message naming the bad argument.
 */
int br_args_kv(int argc, char **argv, const char *const *bools, struct pc_kv *kvs, char *err,
               size_t errlen);

/*
 * br_flags_check - check argv[0..argc) as `--key value` flags before
 * br_args_kv reads them: each must start with "--", name a key of
 * defs[0..ndefs) (a '-' in the flag reads as '_') or start with one of the
 * NULL-terminated prefixes (e.g. "segment."; NULL for none), and have a
 * value unless it is listed in bools (NULL-terminated, may be NULL). argv is
 * not modified. Returns PC_OK, or PC_ERR_INVAL (PC_ERR_UNKNOWN_KEY for an
 * unknown flag) with a message naming the flag as it was typed.
 */
int br_flags_check(int argc, char *const *argv, const struct pc_opt_def *defs, size_t ndefs,
                   const char *const *prefixes, const char *const *bools, char *err, size_t errlen);

#endif

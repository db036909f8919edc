/*
 * config.c - the bridge's option table, config file and flags (config.h).
 *
 * The table goes through libprecis's pc_opts_parse, so defaults, types,
 * ranges and unknown or duplicate keys are handled as for the plugins.
 * This file adds the file syntax, the flag syntax, the two open-ended key
 * families (segment.<id>, experiment.<id>), numbers with fractions
 * (weights, shrinkage) and the reload rules. A flag's error names the flag
 * as typed (--mqtt-port), a file key's its file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "experiment.h"
#include "precis/error.h"
#include "precis/topic.h"
#include "recommend.h"
#include "rule.h"

#define OFF(f) offsetof(struct br_config, f)

static const char *const log_levels[] = {"debug", "info", "notice", "warning", "err", NULL};

const struct pc_opt_def br_config_defs[] = {
    {"mqtt_host", PC_OPT_STRING, OFF(mqtt_host), "127.0.0.1", 1, 255, NULL, "broker host"},
    {"mqtt_port", PC_OPT_INT, OFF(mqtt_port), "1883", 1, 65535, NULL, "broker port"},
    {"mqtt_username", PC_OPT_STRING, OFF(mqtt_username), "", 0, 64, NULL,
     "login (a principal with role bridge)"},
    {"mqtt_password", PC_OPT_STRING, OFF(mqtt_password), "", 0, 1024, NULL, "its password"},
    {"mqtt_password_file", PC_OPT_STRING, OFF(mqtt_password_file), "", 0, 4096, NULL,
     "file whose first line is the password (instead of mqtt_password)"},
    {"client_id", PC_OPT_STRING, OFF(client_id), "", 0, 64, NULL,
     "MQTT client id (default: the username, or precis-bridge)"},
    {"share_group", PC_OPT_STRING, OFF(share_group), "precis-bridge", 1, 64, NULL,
     "shared subscription group: bridges in one group split the events"},
    {"topic_root", PC_OPT_STRING, OFF(topic_root), "", 0, 255, NULL, "prefix of every topic"},
    {"keepalive", PC_OPT_DURATION, OFF(keepalive_ms), "30s", 1000, 3600000, NULL,
     "MQTT keep-alive"},
    {"reconnect_min", PC_OPT_DURATION, OFF(reconnect_min_ms), "1s", 1000, 3600000, NULL,
     "first MQTT reconnect delay (paho counts whole seconds)"},
    {"reconnect_max", PC_OPT_DURATION, OFF(reconnect_max_ms), "30s", 1000, 3600000, NULL,
     "longest MQTT reconnect delay"},
    {"mongo", PC_OPT_BOOL, OFF(mongo), "true", 0, 0, NULL,
     "use MongoDB (history, stored results); false: live events only"},
    {"mongo_uri", PC_OPT_STRING, OFF(mongo_uri), "mongodb://127.0.0.1:27017", 1, 4096, NULL,
     "MongoDB connection string"},
    {"mongo_db", PC_OPT_STRING, OFF(mongo_db), "precis", 1, 63, NULL, "database"},
    {"connect_timeout", PC_OPT_DURATION, OFF(connect_timeout_ms), "2s", 10, 600000, NULL,
     "MongoDB connect / server selection timeout (and the history read's socket timeout)"},
    {"history", PC_OPT_BOOL, OFF(history), "true", 0, 0, NULL,
     "read past events from the events buckets at start"},
    {"history_window", PC_OPT_DURATION, OFF(history_window_ms), "90d", 60000,
     INT64_C(3650) * 86400000, NULL, "how far back the history read goes"},
    {"store_queue", PC_OPT_INT, OFF(store_queue), "20000", 16, 16777216, NULL,
     "documents waiting for MongoDB at most (a newer revision replaces a waiting one)"},
    {"store_queue_bytes", PC_OPT_INT, OFF(store_queue_bytes), "33554432", 65536,
     INT64_C(17179869184), NULL, "bytes of documents waiting for MongoDB at most"},
    {"write_timeout", PC_OPT_DURATION, OFF(write_timeout_ms), "10s", 100, 600000, NULL,
     "MongoDB socket timeout of a write (the URI's socketTimeoutMS wins)"},
    {"algo", PC_OPT_ENUM, OFF(algo), "user_knn", 0, 0, br_algo_names, "recommender"},
    {"similarity", PC_OPT_ENUM, OFF(similarity), "cosine", 0, 0, br_sim_names,
     "similarity of the kNN recommenders"},
    {"k", PC_OPT_INT, OFF(k), "40", 1, 10000, NULL, "neighbours"},
    {"min_support", PC_OPT_INT, OFF(min_support), "1", 1, 1000000, NULL,
     "co-rated entries a similarity needs"},
    {"shrinkage", PC_OPT_STRING, OFF(shrinkage_s), "0", 1, 32, NULL,
     "similarity * n / (n + shrinkage)"},
    {"top_n", PC_OPT_INT, OFF(top_n), "10", 1, 1000, NULL, "items per recommendation"},
    {"max_value", PC_OPT_STRING, OFF(max_value_s), "50", 1, 32, NULL,
     "cap of one user-item value (0: none)"},
    {"weight_view", PC_OPT_STRING, OFF(weight_s[0]), "1", 1, 32, NULL, "weight of a view"},
    {"weight_click", PC_OPT_STRING, OFF(weight_s[1]), "2", 1, 32, NULL, "weight of a click"},
    {"weight_cart", PC_OPT_STRING, OFF(weight_s[2]), "3", 1, 32, NULL, "weight of a cart add"},
    {"weight_purchase", PC_OPT_STRING, OFF(weight_s[3]), "5", 1, 32, NULL, "weight of a purchase"},
    {"debounce", PC_OPT_DURATION, OFF(debounce_ms), "200ms", 0, 600000, NULL,
     "a user's recommendation is refreshed this long after the last event"},
    {"refresh_interval", PC_OPT_DURATION, OFF(refresh_interval_ms), "10m", 1000,
     INT64_C(7) * 86400000, NULL,
     "everyone's recommendation and portrait are refreshed this often"},
    {"stats_interval", PC_OPT_DURATION, OFF(stats_interval_ms), "10s", 100, 3600000, NULL,
     "how often the counters are published"},
    {"max_users", PC_OPT_INT, OFF(max_users), "10000000", 1, 100000000, NULL,
     "distinct users kept at most (events of more are refused and counted)"},
    {"max_items", PC_OPT_INT, OFF(max_items), "10000000", 1, 100000000, NULL,
     "distinct items kept at most"},
    {"dedup_window", PC_OPT_INT, OFF(dedup_window), "1000000", 0, 100000000, NULL,
     "event ids remembered: an event whose id is among them is counted once (0: off)"},
    {"tags_top", PC_OPT_INT, OFF(tags_top), "3", 0, 100, NULL, "categories tagged per user"},
    {"campaign_interval", PC_OPT_DURATION, OFF(campaign_interval_ms), "1s", 100, 3600000, NULL,
     "how often active campaigns look for members due a delivery"},
    {"conversion_window", PC_OPT_DURATION, OFF(conversion_window_ms), "7d", 1000,
     INT64_C(365) * 86400000, NULL, "a purchase this soon after a push converts it"},
    {"log_level", PC_OPT_ENUM, OFF(log_level), "info", 0, 0, log_levels,
     "least severe level logged (debug, info, notice, warning, err)"},
    {"reco_experiment", PC_OPT_STRING, OFF(reco_experiment), "", 0, 64, NULL,
     "the experiment.<id> whose variants choose each user's recommender"},
};
const size_t br_config_ndefs = sizeof br_config_defs / sizeof br_config_defs[0];

int br_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return PC_ERR_INVAL;
	errno = 0;
	v = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (*end || errno || !isfinite(v))
		return PC_ERR_INVAL;
	*out = v;
	return PC_OK;
}

/* s as a key: '-' read as '_', into out (truncated to outlen). */
static void key_of(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < outlen; i++)
		out[i] = s[i] == '-' ? '_' : s[i];
	out[i] = '\0';
}

static bool in_list(const char *const *list, const char *key)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

int br_args_kv(int argc, char **argv, const char *const *bools, struct pc_kv *kvs, char *err,
               size_t errlen)
{
	int a, n = 0;

	for (a = 0; a < argc; a++) {
		char *k = argv[a], *p, kb[128];
		bool is_bool = false;
		size_t b;

		if (strncmp(k, "--", 2) != 0 || !k[2])
			return pc_errf(err, errlen, PC_ERR_INVAL, "unexpected argument '%s'", k);
		key_of(k + 2, kb, sizeof kb);
		if (a + 1 >= argc && !in_list(bools, kb))
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s needs a value", k);
		k += 2;
		for (p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		for (b = 0; bools && bools[b]; b++)
			is_bool |= strcmp(bools[b], k) == 0;
		kvs[n].key = k;
		if (is_bool)
			kvs[n].value = "true";
		else
			kvs[n].value = argv[++a];
		n++;
	}
	return n;
}

int br_flags_check(int argc, char *const *argv, const struct pc_opt_def *defs, size_t ndefs,
                   const char *const *prefixes, const char *const *bools, char *err, size_t errlen)
{
	char key[128];
	int a;

	for (a = 0; a < argc; a++) {
		const char *f = argv[a];
		bool known = false;
		size_t k;

		if (strncmp(f, "--", 2) != 0 || !f[2])
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "unexpected argument '%s' (flags are --key value)", f);
		key_of(f + 2, key, sizeof key);
		for (k = 0; k < ndefs && !known; k++)
			known = strcmp(defs[k].key, key) == 0;
		for (k = 0; prefixes && prefixes[k] && !known; k++)
			known = strncmp(key, prefixes[k], strlen(prefixes[k])) == 0 &&
			        key[strlen(prefixes[k])];
		if (!known)
			return pc_errf(err, errlen, PC_ERR_UNKNOWN_KEY, "unknown flag '%s'", f);
		if (in_list(bools, key))
			continue;
		if (a + 1 >= argc)
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s needs a value", f);
		a++;
	}
	return PC_OK;
}

/* A key=value pair of the file (or a flag), with where it came from. */
struct src_kv {
	char *key, *value;
	int line; /* 0: a flag */
};

static void trim_inplace(char **s)
{
	char *p = *s, *e;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	*s = p;
}

static int add_named(struct br_named *tab, size_t *n, size_t max, const char *family,
                     const char *id, const char *spec, char *err, size_t errlen)
{
	char e[256];
	size_t k;

	if (pc_id_check(id, strlen(id), e, sizeof e) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s.%s: bad id: %s", family, id, e);
	for (k = 0; k < *n; k++)
		if (strcmp(tab[k].id, id) == 0)
			return pc_errf(err, errlen, PC_ERR_DUPLICATE, "%s.%s given twice", family,
			               id);
	if (*n == max)
		return pc_errf(err, errlen, PC_ERR_RANGE, "%s.%s: more than %zu %ss", family, id,
		               max, family);
	tab[*n].id = strdup(id);
	tab[*n].spec = strdup(spec);
	if (!tab[*n].id || !tab[*n].spec) {
		free(tab[*n].id);
		free(tab[*n].spec);
		return PC_ERR_NOMEM;
	}
	(*n)++;
	return PC_OK;
}

/* Check one open-ended key; PC_ERR_UNKNOWN_KEY when it is a table key instead. */
static int family_kv(struct br_config *c, const char *key, const char *value, char *err,
                     size_t errlen)
{
	char e[512];
	int rc;

	if (strncmp(key, "segment.", 8) == 0) {
		struct br_rule *r = NULL;
		rc = br_rule_parse(value, &r, e, sizeof e);
		br_rule_free(r);
		if (rc != PC_OK)
			return pc_errf(err, errlen, rc, "%s: %s", key, e);
		return add_named(c->segments, &c->nsegments, BR_MAX_SEGMENTS, "segment", key + 8,
		                 value, err, errlen);
	}
	if (strncmp(key, "experiment.", 11) == 0) {
		struct br_variant v[BR_MAX_VARIANTS];
		size_t nv;
		rc = br_variants_parse(value, v, &nv, e, sizeof e);
		if (rc != PC_OK)
			return pc_errf(err, errlen, rc, "%s: %s", key, e);
		return add_named(c->experiments, &c->nexperiments, BR_MAX_EXPERIMENTS, "experiment",
		                 key + 11, value, err, errlen);
	}
	return PC_ERR_UNKNOWN_KEY;
}

static int read_file(const char *path, struct src_kv **out, size_t *n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;
	int lineno = 0, rc = PC_OK;

	*out = NULL;
	*n = 0;
	if (!f)
		return pc_errf(err, errlen, PC_ERR_IO, "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p = line, *eq, *k, *v;
		lineno++;
		trim_inplace(&p);
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			rc = pc_errf(err, errlen, PC_ERR_INVAL, "%s:%d: expected 'key = value'",
			             path, lineno);
			break;
		}
		*eq = '\0';
		k = p;
		v = eq + 1;
		trim_inplace(&k);
		trim_inplace(&v);
		if (have == *n) {
			size_t ncap = have ? have * 2 : 32;
			struct src_kv *nk = realloc(*out, ncap * sizeof *nk);
			if (!nk) {
				rc = PC_ERR_NOMEM;
				break;
			}
			*out = nk;
			have = ncap;
		}
		(*out)[*n].key = strdup(k);
		(*out)[*n].value = strdup(v);
		(*out)[*n].line = lineno;
		(*n)++;
		if (!(*out)[*n - 1].key || !(*out)[*n - 1].value) {
			rc = PC_ERR_NOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int read_password_file(struct br_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(c->mqtt_password_file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return pc_errf(err, errlen, PC_ERR_IO, "mqtt_password_file: %s: %s",
		               c->mqtt_password_file, strerror(errno));
	len = getline(&line, &cap, f);
	fclose(f);
	if (len <= 0) {
		free(line);
		return pc_errf(err, errlen, PC_ERR_INVAL, "mqtt_password_file: %s is empty",
		               c->mqtt_password_file);
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	free(c->mqtt_password);
	c->mqtt_password = line;
	return PC_OK;
}

/* Parse and check the values the table keeps as strings, and cross-key rules. */
static int finish(struct br_config *c, char *err, size_t errlen)
{
	static const char *const wkeys[4] = {"weight_view", "weight_click", "weight_cart",
	                                     "weight_purchase"};
	char e[256];
	size_t k;

	if (br_parse_double(c->shrinkage_s, &c->shrinkage) || c->shrinkage < 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "shrinkage: '%s' is not a number >= 0",
		               c->shrinkage_s);
	if (br_parse_double(c->max_value_s, &c->max_value) || c->max_value < 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "max_value: '%s' is not a number >= 0",
		               c->max_value_s);
	for (k = 0; k < 4; k++)
		if (br_parse_double(c->weight_s[k], &c->weight[k]) || c->weight[k] < -1000 ||
		    c->weight[k] > 1000)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "%s: '%s' is not a number in -1000..1000", wkeys[k],
			               c->weight_s[k]);
	if (c->reconnect_min_ms > c->reconnect_max_ms)
		return pc_errf(err, errlen, PC_ERR_RANGE, "reconnect_min: above reconnect_max");
	if (pc_root_check(c->topic_root, e, sizeof e) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "topic_root: %s", e);
	if (pc_id_check(c->share_group, strlen(c->share_group), e, sizeof e) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "share_group: %s", e);
	if (*c->client_id && pc_id_check(c->client_id, strlen(c->client_id), e, sizeof e) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "client_id: %s", e);
	if (*c->reco_experiment) {
		bool found = false;
		for (k = 0; k < c->nexperiments; k++)
			found |= strcmp(c->experiments[k].id, c->reco_experiment) == 0;
		if (!found)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "reco_experiment: no experiment.%s is configured",
			               c->reco_experiment);
	}
	if (*c->mqtt_password_file)
		return read_password_file(c, err, errlen);
	return PC_OK;
}

/* Whether the option error e is about key (starts with "key:" or "key'"). */
static bool names_key(const char *e, const char *key)
{
	size_t n = strlen(key);

	return strncmp(e, key, n) == 0 && (e[n] == ':' || e[n] == '\'');
}

int br_config_load(struct br_config *c, const char *path, int argc, char **argv, char *err,
                   size_t errlen)
{
	static const char *const families[] = {"segment.", "experiment.", NULL};
	struct src_kv *file = NULL;
	struct pc_kv *kvs = NULL, *flags = NULL;
	char **args = NULL; /* a copy of argv for br_args_kv, which rewrites it */
	size_t nfile = 0, nkv = 0, k, l;
	int nflags = 0, rc, a;
	char e[768];

	memset(c, 0, sizeof *c);
	if ((rc = br_flags_check(argc, argv, br_config_defs, br_config_ndefs, families, NULL, err,
	                         errlen)) != PC_OK)
		goto out;
	if (path && (rc = read_file(path, &file, &nfile, err, errlen)) != PC_OK)
		goto out;
	flags = calloc((size_t)argc / 2 + 1, sizeof *flags);
	kvs = calloc(nfile + (size_t)argc / 2 + 1, sizeof *kvs);
	args = calloc((size_t)argc + 1, sizeof *args);
	if (!flags || !kvs || !args) {
		rc = PC_ERR_NOMEM;
		goto out;
	}
	for (a = 0; a < argc; a++)
		if (!(args[a] = strdup(argv[a]))) {
			rc = PC_ERR_NOMEM;
			goto out;
		}
	/* Every flag has a value (checked above): flag l is argv[2 * l], as typed. */
	if ((nflags = br_args_kv(argc, args, NULL, flags, err, errlen)) < 0) {
		rc = nflags;
		goto out;
	}
	/* Flags win over the file; a key twice within the file or within the flags is refused
	 * below. */
	for (k = 0; k < nfile; k++) {
		bool overridden = false;
		for (l = 0; l < (size_t)nflags; l++)
			overridden |= strcmp(flags[l].key, file[k].key) == 0;
		if (overridden)
			continue;
		rc = family_kv(c, file[k].key, file[k].value, e, sizeof e);
		if (rc == PC_ERR_UNKNOWN_KEY) {
			kvs[nkv++] = (struct pc_kv){file[k].key, file[k].value};
		} else if (rc != PC_OK) {
			pc_errf(err, errlen, rc, "%s:%d: %s", path, file[k].line, e);
			goto out;
		}
	}
	for (l = 0; l < (size_t)nflags; l++) {
		rc = family_kv(c, flags[l].key, flags[l].value, e, sizeof e);
		if (rc == PC_ERR_UNKNOWN_KEY) {
			kvs[nkv++] = flags[l];
		} else if (rc != PC_OK) {
			if (names_key(e, flags[l].key))
				pc_errf(err, errlen, rc, "%s%s", argv[2 * l],
				        e + strlen(flags[l].key));
			else
				pc_errf(err, errlen, rc, "%s: %s", argv[2 * l], e);
			goto out;
		}
	}
	rc = pc_opts_parse(br_config_defs, br_config_ndefs, kvs, nkv, c, NULL, e, sizeof e);
	if (rc == PC_OK)
		rc = finish(c, e, sizeof e);
	if (rc != PC_OK) {
		/* Say where the offending key came from: a flag (as typed) or a file line. */
		int line = 0;
		for (k = 0; k < nfile; k++)
			if (names_key(e, file[k].key))
				line = file[k].line;
		for (l = 0; l < (size_t)nflags; l++)
			if (names_key(e, flags[l].key)) {
				pc_errf(err, errlen, rc, "%s%s", argv[2 * l],
				        e + strlen(flags[l].key));
				goto out;
			}
		if (line)
			pc_errf(err, errlen, rc, "%s:%d: %s", path, line, e);
		else
			pc_errf(err, errlen, rc, "%s", e);
	}
out:
	for (k = 0; k < nfile; k++) {
		free(file[k].key);
		free(file[k].value);
	}
	free(file);
	free(kvs);
	free(flags);
	for (a = 0; args && a < argc; a++)
		free(args[a]);
	free(args);
	return rc;
}

void br_config_cleanup(struct br_config *c)
{
	size_t k;

	pc_opts_free(br_config_defs, br_config_ndefs, c);
	for (k = 0; k < c->nsegments; k++) {
		free(c->segments[k].id);
		free(c->segments[k].spec);
	}
	for (k = 0; k < c->nexperiments; k++) {
		free(c->experiments[k].id);
		free(c->experiments[k].spec);
	}
	c->nsegments = c->nexperiments = 0;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool br_config_reloadable(const struct br_config *cur, const struct br_config *next,
                          const char **key)
{
	/* Connections and identities are fixed for the life of the process. */
	static const char *const fixed[] = {"mqtt_host", "mqtt_username", "mqtt_password",
	                                    "client_id", "share_group",   "topic_root",
	                                    "mongo_uri", "mongo_db",      NULL};
	const char *const vals_cur[] = {cur->mqtt_host, cur->mqtt_username, cur->mqtt_password,
	                                cur->client_id, cur->share_group,   cur->topic_root,
	                                cur->mongo_uri, cur->mongo_db};
	const char *const vals_next[] = {next->mqtt_host, next->mqtt_username, next->mqtt_password,
	                                 next->client_id, next->share_group,   next->topic_root,
	                                 next->mongo_uri, next->mongo_db};
	size_t k;

	for (k = 0; fixed[k]; k++) {
		if (!str_eq(vals_cur[k], vals_next[k])) {
			*key = fixed[k];
			return false;
		}
	}
	if (cur->mqtt_port != next->mqtt_port) {
		*key = "mqtt_port";
		return false;
	}
	if (cur->mongo != next->mongo) {
		*key = "mongo";
		return false;
	}
	if (cur->store_queue != next->store_queue) {
		*key = "store_queue";
		return false;
	}
	if (cur->store_queue_bytes != next->store_queue_bytes) {
		*key = "store_queue_bytes";
		return false;
	}
	if (cur->write_timeout_ms != next->write_timeout_ms) {
		*key = "write_timeout";
		return false;
	}
	*key = NULL;
	return true;
}

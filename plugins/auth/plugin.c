/*
 * plugin.c - precis_auth.so entry points: version, init, cleanup.
 *
 * Glue only: parse plugin_opt_* through the option table, build the role
 * templates and the lockout tracker, prepare the MongoDB backend whose
 * supervisor thread runs the registry sync (registry_sync.c), and
 * register the callbacks from one table. All state lives in struct
 * auth__data, passed to Mosquitto as userdata.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

#define T struct auth__config
// clang-format off
static const struct pc_opt_def auth_opts[] = {
    PB_MONGO_OPT_DEFS(T, mongo),
    PB_BACKEND_OPT_DEFS(T, backend),
    PB_STATS_OPT_DEF(T, stats_interval_ms),
    {"topic_root", PC_OPT_STRING, offsetof(T, topic_root), "", 0, 255, NULL,
     "root under which every ACL template topic lives (empty: none)"},
    {"acl_device", PC_OPT_STRING, offsetof(T, acl_device),
     "write:dev/%u/hb write:dev/%u/data write:dev/%u/evt write:dev/%u/cmd/ack "
     "read:dev/%u/cmd read:dev/%u/hb/ack read:push/device/%u/#", 1, 8192, NULL,
     "ACL template of role device"},
    {"acl_app", PC_OPT_STRING, offsetof(T, acl_app), "read:push/# write:mkt/#", 1, 8192, NULL,
     "ACL template of role app"},
    {"acl_ops", PC_OPT_STRING, offsetof(T, acl_ops), "readwrite:ops/# read:$SYS/broker/precis/#",
     1, 8192, NULL, "ACL template of role ops"},
    {"acl_bridge", PC_OPT_STRING, offsetof(T, acl_bridge),
     "read:dev/+/evt read:mkt/# write:push/#", 1, 8192, NULL, "ACL template of role bridge"},
    {"chain", PC_OPT_BOOL, offsetof(T, chain), "false", 0, 0, NULL,
     "defer unknown principals and ungranted ACL requests to the next plugin instead of refusing"},
    {"clientid_roles", PC_OPT_STRING, offsetof(T, clientid_roles), "device", 0, 255, NULL,
     "roles whose client id must equal the username (no role may use another principal's id)"},
    {"certificate_roles", PC_OPT_STRING, offsetof(T, certificate_roles), "device", 0, 255, NULL,
     "roles that may log in with a client certificate (use_identity_as_username); a "
     "certificate client of another role is refused and disconnected"},
    {"payload_max", PC_OPT_SIZE, offsetof(T, payload_max), "256k", 0, 256 << 20, NULL,
     "publishes larger than this are denied for every role but admin (0: no limit)"},
    {"retain_device", PC_OPT_BOOL, offsetof(T, retain_device), "false", 0, 0, NULL,
     "allow retained publishes on dev/ topics (roles other than admin)"},
    {"retain_max", PC_OPT_SIZE, offsetof(T, retain_max), "64k", 0, 256 << 20, NULL,
     "retained publishes larger than this are denied for every role but admin (0: no limit)"},
    {"cache_ttl", PC_OPT_DURATION, offsetof(T, cache_ttl_ms), "10m", 1000, 7 * 86400000LL, NULL,
     "a cached principal is re-read from the registry after this long"},
    {"negative_ttl", PC_OPT_DURATION, offsetof(T, negative_ttl_ms), "30s", 100, 86400000, NULL,
     "an id known to be absent is remembered this long"},
    {"cache_jitter", PC_OPT_INT, offsetof(T, cache_jitter_pct), "10", 0, 50, NULL,
     "cache_ttl varies by up to this percent per entry"},
    {"change_poll", PC_OPT_DURATION, offsetof(T, change_poll_ms), "250ms", 10, 60000, NULL,
     "how often the registry change log is read"},
    {"lookup_on_miss", PC_OPT_BOOL, offsetof(T, lookup_on_miss), "true", 0, 0, NULL,
     "read a principal missing from the cache synchronously (bounded) at login"},
    {"lookup_timeout", PC_OPT_DURATION, offsetof(T, lookup_timeout_ms), "250ms", 10, 10000, NULL,
     "longest a synchronous lookup may hold the broker"},
    {"lookup_rate", PC_OPT_INT, offsetof(T, lookup_rate), "100", 0, 100000, NULL,
     "synchronous lookups per second at most (0: unlimited)"},
    {"lockout_attempts", PC_OPT_INT, offsetof(T, lockout_attempts), "10", 0, 1000000, NULL,
     "failed logins for one username from one address within lockout_window that lock that "
     "username from that address (0: off)"},
    {"lockout_user_attempts", PC_OPT_INT, offsetof(T, lockout_user_attempts), "100", 0, 1000000,
     NULL, "failed logins for one username from any address that lock it from addresses it never "
     "logged in from (0: off)"},
    {"lockout_address_attempts", PC_OPT_INT, offsetof(T, lockout_address_attempts), "50", 0,
     1000000, NULL, "failed logins from one address that lock it for usernames that never logged "
     "in from it (0: off)"},
    {"snapshot", PC_OPT_STRING, offsetof(T, snapshot), "", 0, 4095, NULL,
     "file that keeps what the registry said (mode 0600), read at start so that known "
     "principals log in while MongoDB is down (empty: none)"},
    {"snapshot_max_age", PC_OPT_DURATION, offsetof(T, snapshot_max_age_ms), "1d", 1000,
     365 * 86400000LL, NULL,
     "a snapshot not known to match the registry for longer than this is not used"},
    {"lockout_window", PC_OPT_DURATION, offsetof(T, lockout_window_ms), "1m", 1000, 86400000,
     NULL, "window in which failed logins are counted"},
    {"lockout_time", PC_OPT_DURATION, offsetof(T, lockout_time_ms), "5m", 1000, 86400000, NULL,
     "how long a locked-out key is refused"},
};
// clang-format on
#undef T

#define NOPTS (sizeof auth_opts / sizeof auth_opts[0])

static int auth__on_tick(int event, void *event_data, void *userdata)
{
	struct auth__data *d = userdata;
	int64_t now;

	(void)event;
	(void)event_data;
	pb_tick(&d->base);
	pb_backend_tick(&d->base, &d->mongo_backend);
	auth__cache_tick(d);
	/* A busy broker ticks tens of thousands of times a second: housekeeping
	 * runs at most every SWEEP_MS, not on every tick. */
	now = pc_mono_ms();
	if (now >= d->next_sweep_ms) {
		d->next_sweep_ms = now + AUTH_SWEEP_MS;
		auth__cache_sweep(d, now);
		auth__lockout_sweep(d->lockout, now, 1024);
	}
	auth__cache_kicks(d);
	pb_stats_tick_at(&d->base, &d->stats, now);
	return MOSQ_ERR_SUCCESS;
}

static const struct pb_callback auth_callbacks[] = {
    {MOSQ_EVT_TICK, auth__on_tick},
    {MOSQ_EVT_BASIC_AUTH, auth__on_basic_auth},
    {MOSQ_EVT_ACL_CHECK, auth__on_acl_check},
};

#define NCALLBACKS (sizeof auth_callbacks / sizeof auth_callbacks[0])

static int build_roles(struct auth__data *d)
{
	const char *specs[PC_ROLE_COUNT] = {d->conf.acl_device, d->conf.acl_app, d->conf.acl_ops,
	                                    d->conf.acl_bridge, "superuser"};
	char err[512];

	for (int i = 0; i < PC_ROLE_COUNT; i++) {
		if (pc_acl_parse(specs[i], d->conf.topic_root, &d->roles[i], err, sizeof err) !=
		    PC_OK) {
			pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_%s%s: %s",
			       i == PC_ROLE_ADMIN ? "topic_root" : "acl_",
			       i == PC_ROLE_ADMIN ? "" : pc_role_name((enum pc_role)i), err);
			return MOSQ_ERR_INVAL;
		}
	}
	return MOSQ_ERR_SUCCESS;
}

/* A blank- or comma-separated list of roles (plugin_opt_<option>) into set[]. */
static int parse_roles(struct auth__data *d, const char *option, const char *p,
                       bool set[PC_ROLE_COUNT])
{
	while (*p) {
		size_t n;
		char name[16];
		enum pc_role role;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (n >= sizeof name) {
			pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_%s: unknown role '%.*s'",
			       option, (int)n, p);
			return MOSQ_ERR_INVAL;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (pc_role_parse(name, &role) != PC_OK) {
			pc_log(&d->base.log, PC_LOG_ERR,
			       "plugin_opt_%s: unknown role '%s' (device, app, ops, bridge, admin)",
			       option, name);
			return MOSQ_ERR_INVAL;
		}
		set[role] = true;
		p += n;
	}
	return MOSQ_ERR_SUCCESS;
}

static int setup_stats(struct auth__data *d)
{
	const struct pb_stat rows[] = {
	    {"logins/ok", &d->n.logins_ok},
	    {"logins/failed", &d->n.logins_failed},
	    {"logins/locked", &d->n.logins_locked},
	    {"lockouts", &d->n.lockouts},
	    {"logins/clientid_taken", &d->n.clientid_taken},
	    {"cache/hits", &d->n.cache_hits},
	    {"cache/misses", &d->n.cache_misses},
	    {"cache/stale", &d->n.cache_stale},
	    {"cache/verified", &d->n.cache_verified},
	    {"cache/principals", &d->n.principals},
	    {"lookups/sync", &d->n.lookups},
	    {"lookups/failed", &d->n.lookups_failed},
	    {"backend/errors", &d->n.backend_errors},
	    {"acl/denied", &d->n.acl_denied},
	    {"acl/retain_denied", &d->n.retain_denied},
	    {"acl/oversize_denied", &d->n.oversize_denied},
	    {"kicks", &d->n.kicks},
	    {"registry/invalid", &d->n.invalid_records},
	    {"registry/loads", &d->n.preloads},
	    {"snapshot/errors", &d->n.snapshot_errors},
	    {"certs/refused", &d->n.certs_refused},
	};

	_Static_assert(sizeof rows == sizeof d->stat_rows, "stat_rows must hold every row");
	memcpy(d->stat_rows, rows, sizeof rows);
	if (pb_stats_init(&d->stats, d->stat_rows, sizeof rows / sizeof rows[0],
	                  d->conf.stats_interval_ms) != PC_OK)
		return MOSQ_ERR_NOMEM;
	return MOSQ_ERR_SUCCESS;
}

/* auth__snapshot_read callback: a principal from the snapshot, stale at once. */
static void snapshot_principal(void *arg, const struct pc_principal_rec *rec)
{
	struct auth__data *d = arg;
	struct auth__principal *e;
	struct pc_pwhash hash;

	if (pc_pwhash_parse(rec->password_hash, &hash, NULL, 0) != PC_OK)
		return; /* the registry's own records were checked; a bad one stays out */
	e = auth__cache_put(d, rec->id, rec, &hash);
	if (e)
		e->expires_ms = pc_mono_ms(); /* re-read from the registry on first use */
}

/*
 * With plugin_opt_snapshot: load what it holds into the table (before the
 * worker starts, so the registry's own answers replace it), then open it
 * for the worker. A missing, old, exposed or damaged file is logged and
 * leaves the table as it is; a path that cannot be written refuses to load.
 */
static int setup_snapshot(struct auth__data *d)
{
	struct auth__snapshot_info info;
	char err[512];
	int rc;

	if (!d->conf.snapshot[0])
		return MOSQ_ERR_SUCCESS;
	rc = auth__snapshot_read(d->conf.snapshot, d->conf.snapshot_max_age_ms, pc_wall_ms(),
	                         snapshot_principal, d, &info, err, sizeof err);
	if (rc == PC_OK)
		pc_log(&d->base.log, PC_LOG_NOTICE,
		       "snapshot %s: %zu principals (%zu records, %lld s old)%s%s: used until the "
		       "registry answers",
		       d->conf.snapshot, info.principals, info.records,
		       (long long)(info.age_ms / 1000), info.damage[0] ? "; stopped early: " : "",
		       info.damage);
	else if (rc == PC_ERR_EMPTY)
		pc_log(&d->base.log, PC_LOG_INFO, "snapshot: %s", err);
	else
		pc_log(&d->base.log, PC_LOG_WARNING, "snapshot not used: %s", err);
	d->snapshot = auth__snapshot_open(d->conf.snapshot, err, sizeof err);
	if (!d->snapshot) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_snapshot: %s", err);
		return MOSQ_ERR_INVAL;
	}
	return MOSQ_ERR_SUCCESS;
}

static void auth__free(struct auth__data *d)
{
	atomic_store(&d->stopping, true);
	pb_backend_stop(&d->mongo_backend);
	auth__snapshot_close(d->snapshot);
	free(d->sync.batch);
	auth__cache_cleanup(d);
	auth__lookup_cleanup(d);
	auth__lockout_free(d->lockout);
	for (int i = 0; i < PC_ROLE_COUNT; i++)
		pc_acl_role_cleanup(&d->roles[i]);
	pb_stats_cleanup(&d->stats);
	pc_mongo_conn_cleanup(&d->mongo);
	pc_opts_free(auth_opts, NOPTS, &d->conf);
	pb_plugin_cleanup(&d->base);
	free(d);
}

PB_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	return pb_plugin_version(supported_version_count, supported_versions);
}

PB_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                    struct mosquitto_opt *options, int option_count)
{
	struct auth__data *d;
	struct auth__lockout_config lc;
	int rc;

	*userdata = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return MOSQ_ERR_NOMEM;
	rc = pb_plugin_setup(&d->base, identifier, "precis_auth", "auth", auth_opts, NOPTS, options,
	                     option_count, &d->conf, &d->conf.backend);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = build_roles(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = parse_roles(d, "clientid_roles", d->conf.clientid_roles,
		                 d->clientid_must_match);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = parse_roles(d, "certificate_roles", d->conf.certificate_roles,
		                 d->certificate_allowed);
	if (rc == MOSQ_ERR_SUCCESS) {
		int n = snprintf(d->dev_prefix, sizeof d->dev_prefix, "%s%sdev/",
		                 d->conf.topic_root, d->conf.topic_root[0] ? "/" : "");

		d->dev_prefix_len = n > 0 ? (size_t)n : 0;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	if (RAND_bytes(d->mac_key, sizeof d->mac_key) != 1) {
		pc_log(&d->base.log, PC_LOG_ERR, "no random bytes for the credential cache key");
		rc = MOSQ_ERR_UNKNOWN;
		goto fail;
	}
	lc = (struct auth__lockout_config){
	    d->conf.lockout_attempts,         d->conf.lockout_user_attempts,
	    d->conf.lockout_address_attempts, d->conf.lockout_window_ms,
	    d->conf.lockout_time_ms,          100000};
	d->lockout = auth__lockout_new(&lc);
	rc = d->lockout ? auth__cache_init(d) : MOSQ_ERR_NOMEM;
	if (rc == MOSQ_ERR_SUCCESS)
		rc = setup_stats(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = pb_mongo_init(&d->base, &d->mongo_backend, &d->mongo, &d->conf.mongo,
		                   &d->conf.backend, "precis-auth-reg");
	if (rc == MOSQ_ERR_SUCCESS)
		rc = auth__lookup_init(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = setup_snapshot(d);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pb_backend_set_work(&d->mongo_backend, auth__sync_work, d);
	rc = pb_callbacks_register(&d->base, auth_callbacks, NCALLBACKS, d);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pc_log(&d->base.log, PC_LOG_INFO, "loaded");
	*userdata = d;
	return MOSQ_ERR_SUCCESS;
fail:
	auth__free(d);
	return rc;
}

PB_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                       int option_count)
{
	struct auth__data *d = userdata;

	(void)options;
	(void)option_count;
	if (!d)
		return MOSQ_ERR_SUCCESS;
	pb_callbacks_unregister(&d->base, auth_callbacks, NCALLBACKS);
	auth__free(d);
	return MOSQ_ERR_SUCCESS;
}

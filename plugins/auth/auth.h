/*
 * auth.h - private state of precis_auth.so.
 *
 * The plugin checks logins against the MongoDB `devices` registry and
 * answers topic ACLs from memory (DESIGN §1-3). Who does what:
 *
 *   broker thread   plugin.c (glue), basic_auth.c (MOSQ_EVT_BASIC_AUTH),
 *                   acl_check.c (MOSQ_EVT_ACL_CHECK, and the only sight
 *                   the plugin gets of a certificate login), cache.c (the
 *                   principal table: lookups, updates from the worker,
 *                   refresh sweeps, kicks), lookup.c (the bounded
 *                   synchronous fallback lookup), lockout.c (failure
 *                   tracking; pure)
 *   worker thread   registry_sync.c: the MongoDB supervisor's work
 *                   function: preload every principal after each
 *                   connect, poll the change log, answer refresh
 *                   requests. It talks to the broker thread only through
 *                   the two queues below.
 */
#ifndef PRECIS_AUTH_H
#define PRECIS_AUTH_H

#include <stdatomic.h>

#include "base.h"
#include "precis/acl.h"
#include "precis/backoff.h"
#include "precis/clock.h"
#include "precis/hmap.h"
#include "precis/mongo_conn.h"
#include "precis/pwhash.h"
#include "precis/queue.h"
#include "precis/registry.h"

struct auth__config {
	struct pb_mongo_opts mongo;
	struct pb_backend_opts backend;
	int64_t stats_interval_ms;
	char *topic_root;
	char *acl_device, *acl_app, *acl_ops, *acl_bridge;
	bool chain;
	char *clientid_roles;
	char *certificate_roles;
	int64_t payload_max;
	bool retain_device;
	int64_t retain_max;
	int64_t cache_ttl_ms;
	int64_t negative_ttl_ms;
	int64_t cache_jitter_pct;
	int64_t change_poll_ms;
	bool lookup_on_miss;
	int64_t lookup_timeout_ms;
	int64_t lookup_rate;
	int64_t lockout_attempts;
	int64_t lockout_user_attempts;
	int64_t lockout_address_attempts;
	int64_t lockout_window_ms;
	int64_t lockout_time_ms;
	char *snapshot;
	int64_t snapshot_max_age_ms;
};

/* One principal as the broker thread knows it (value of the cache table). */
struct auth__principal {
	bool negative; /* known absent from the registry */
	bool enabled;
	bool has_verified; /* verified holds the MAC of a password that verified */
	bool refreshing;   /* a refresh request is with the worker */
	enum pc_role role;
	uint32_t gen;         /* registry load that last confirmed it */
	int64_t stored_ms;    /* monotonic: when this version was stored */
	int64_t expires_ms;   /* monotonic: re-read from the registry after this */
	int64_t requested_ms; /* when the pending refresh was requested */
	struct pc_pwhash hash;
	unsigned char verified[32];
	/* Keyed hashes of the last AUTH_SEEN_FROM source addresses this
	 * principal logged in from (0: empty), kept while its credentials stay
	 * the same: the username and address lockouts spare them. */
	uint64_t seen_from[4];
	unsigned seen_next;
};

#define AUTH_SEEN_FROM 4

/* What the worker tells the broker thread. */
enum auth__update_kind {
	AUTH_UPD_PRINCIPAL, /* rec is the registry's current record */
	AUTH_UPD_ABSENT,    /* rec.id is not in the registry */
	AUTH_UPD_INVALID,   /* rec.id's document is malformed: refuse it */
	AUTH_UPD_LOADED,    /* the preload of generation gen is complete */
};

struct auth__update {
	enum auth__update_kind kind;
	uint32_t gen;
	int64_t since_ms; /* AUTH_UPD_LOADED: when that preload started (monotonic) */
	struct pc_principal_rec rec;
	struct pc_pwhash hash; /* parsed rec.password_hash (AUTH_UPD_PRINCIPAL) */
};

/* Updates travel in batches: one queue item each. */
#define AUTH_BATCH_MAX 512
struct auth__batch {
	size_t n;
	struct auth__update u[AUTH_BATCH_MAX];
};

/* A refresh request from the broker thread: fetch this principal. */
struct auth__request {
	char id[PC_ID_MAX + 1];
};

/* Failure tracking for lockouts (lockout.c). */
struct auth__lockout;

/* The synchronous fallback lookup (lookup.c). */
struct auth__lookup {
	struct pc_mongo_conn conn;
	bool ready;
	void *client;          /* mongoc_client_t *, broker thread only */
	int64_t open_until_ms; /* circuit breaker: no lookups before this */
	struct pc_backoff backoff;
	double tokens; /* rate limit bucket */
	int64_t refilled_ms;
};

struct auth__counters {
	atomic_uint_fast64_t logins_ok, logins_failed, logins_locked, lockouts, clientid_taken;
	atomic_uint_fast64_t cache_hits, cache_misses, cache_stale, cache_verified, principals;
	atomic_uint_fast64_t lookups, lookups_failed, backend_errors, acl_denied, kicks;
	atomic_uint_fast64_t retain_denied, oversize_denied;
	atomic_uint_fast64_t invalid_records, preloads, snapshot_errors, certs_refused;
};

/* A disconnection owed at the end of the TICK (cache.c). */
struct auth__kick {
	char *name;     /* a username, or a client id */
	bool client_id; /* name is a client id: only that one client goes */
};

struct auth__data {
	struct pb_plugin base;
	struct auth__config conf;
	struct pc_acl_role roles[PC_ROLE_COUNT];
	bool clientid_must_match[PC_ROLE_COUNT];
	/* The roles in certificate_roles. */
	bool certificate_allowed[PC_ROLE_COUNT];
	int64_t refused_logged_ms; /* last "publish refused" line (acl_check.c) */
	uint64_t refused_unlogged; /* refusals since that line */
	char dev_prefix[272];      /* "<topic_root>/dev/" or "dev/": retained publishes here need
	                              retain_device */
	size_t dev_prefix_len;
	struct pc_mongo_conn mongo; /* the worker's connection */
	struct pb_backend mongo_backend;
	struct pb_stats stats;
	struct pb_stat stat_rows[21]; /* what stats publishes (plugin.c) */
	struct auth__counters n;

	/* Broker thread. */
	struct pc_hmap *cache;    /* id -> struct auth__principal */
	uint64_t cache_gen;       /* bumped whenever an entry is freed */
	struct auth__kick *kicks; /* to disconnect at the end of this TICK */
	size_t nkicks, kicks_cap;
	struct auth__memo {       /* ACL checks: username pointer -> entry, without hashing */
		const char *user; /* the client's username pointer (stable per connection) */
		char name[PC_ID_MAX + 1];
		struct auth__principal *e;
		uint64_t gen; /* cache_gen when filled; any other value: stale */
	} memo[64];
	size_t negatives; /* negative entries in cache */
	size_t sweep_cursor;
	int64_t next_sweep_ms; /* monotonic time of the next housekeeping pass */
	uint32_t load_gen;     /* newest generation seen from the worker */
	bool loaded;           /* the registry was fully loaded at least once */
	unsigned char mac_key[32];
	struct auth__lockout *lockout;
	struct auth__lookup lookup;
	uint64_t rnd;

	/* Between threads. */
	struct pc_queue *updates;  /* worker -> broker: struct auth__batch * */
	struct pc_queue *requests; /* broker -> worker: struct auth__request * */
	atomic_bool stopping;      /* set before the worker is stopped */

	/* Worker thread only (registry_sync.c). */
	struct auth__snapshot *snapshot; /* NULL: plugin_opt_snapshot off */
	int64_t snapshot_err_logged_ms;  /* last snapshot error logged (wall clock) */
	struct {
		uint32_t gen;
		int64_t change_seq; /* change-log records up to here are applied */
		int64_t gap_seq, gap_since_ms;
		int64_t tail_since_ms; /* counter ahead, no record seen since (0: not) */
		int64_t next_poll_ms;
		int64_t load_started_ms; /* monotonic start of the current preload */
		struct auth__batch *batch;
	} sync;
};

/* ---- cache.c (broker thread) ---- */

/*
 * auth__cache_init - create the table and the queues. Returns
 * MOSQ_ERR_SUCCESS or MOSQ_ERR_NOMEM. auth__cache_cleanup frees them and
 * whatever is still queued, after the worker stopped.
 */
int auth__cache_init(struct auth__data *d);
void auth__cache_cleanup(struct auth__data *d);

/*
 * auth__cache_get - the entry for id, or NULL. Never does I/O. The
 * pointer is valid until the next update is applied (next TICK).
 */
struct auth__principal *auth__cache_get(struct auth__data *d, const char *id);

/*
 * auth__cache_put - store rec as a positive entry (or an absent one when
 * rec is NULL) learned on the broker thread (the fallback lookup, for a
 * miss), as if the worker had sent it. Should it replace a principal that
 * changed, its clients are kicked at the end of the TICK, never at once.
 * Returns the entry, or NULL when out of memory or the negative part of
 * the table is full.
 */
struct auth__principal *auth__cache_put(struct auth__data *d, const char *id,
                                        const struct pc_principal_rec *rec,
                                        const struct pc_pwhash *hash);

/*
 * auth__cache_request - ask the worker to (re)read id soon. Returns true
 * when the request was queued. The worker's answer arrives as an update.
 */
bool auth__cache_request(struct auth__data *d, const char *id);

/*
 * auth__cache_kick_client - disconnect the one client with client_id at
 * the end of this TICK (never at once: callers are inside a callback).
 * Returns true when it was queued now, false when it was queued already
 * this TICK or memory ran out; the caller logs and counts only on true.
 */
bool auth__cache_kick_client(struct auth__data *d, const char *client_id);

/*
 * auth__cache_kicks - from TICK, last: disconnect the clients of the
 * principals that changed (by username) and the clients queued by
 * auth__cache_kick_client (by client id).
 */
void auth__cache_kicks(struct auth__data *d);

/* Housekeeping cadence: the table sweep and the lockout sweep. */
#define AUTH_SWEEP_MS 100

/*
 * auth__cache_tick - from TICK: apply queued updates (bounded per call)
 * and update the gauge. Costs one atomic load when nothing is queued.
 */
void auth__cache_tick(struct auth__data *d);

/*
 * auth__cache_sweep - every AUTH_SWEEP_MS: look at a slice of the table
 * (a fiftieth, so all of it every 5 s): ask the worker to re-read entries
 * in the last fifth of their TTL, drop expired negative entries.
 */
void auth__cache_sweep(struct auth__data *d, int64_t now);

/* ---- lookup.c (broker thread) ---- */

/* auth__lookup_init - prepare (no I/O). MOSQ_ERR_SUCCESS or MOSQ_ERR_INVAL/NOMEM, logged. */
int auth__lookup_init(struct auth__data *d);
void auth__lookup_cleanup(struct auth__data *d);

/*
 * auth__lookup_run - read id from the registry now, on the broker thread,
 * within lookup_timeout. Skipped (PC_ERR_FULL) when disabled, when the
 * worker reports MongoDB down, while the circuit breaker is open after a
 * failure, or beyond lookup_rate per second. Otherwise PC_OK (*rec and
 * *hash filled), PC_ERR_EMPTY (absent), PC_ERR_INVAL (malformed record)
 * or PC_ERR_IO (failed: breaker opened). Counted and logged.
 */
int auth__lookup_run(struct auth__data *d, const char *id, struct pc_principal_rec *rec,
                     struct pc_pwhash *hash);

/* ---- lockout.c (pure) ---- */

struct auth__lockout_config {
	int64_t attempts;         /* per username from one address; 0: off */
	int64_t user_attempts;    /* per username from every address; 0: off */
	int64_t address_attempts; /* per source address, any usernames; 0: off */
	int64_t window_ms;
	int64_t time_ms;
	size_t max_keys; /* trackers kept at most */
};

enum auth__lockout_key { AUTH_LOCK_PAIR = 1, AUTH_LOCK_USER = 2, AUTH_LOCK_ADDRESS = 4 };

/* auth__lockout_new - an empty tracker; NULL when out of memory. */
struct auth__lockout *auth__lockout_new(const struct auth__lockout_config *cfg);
void auth__lockout_free(struct auth__lockout *l);

/*
 * auth__lockout_check - which locks apply to a login as username from
 * address (may be NULL) at now_ms: a mask of enum auth__lockout_key. The
 * caller decides whether AUTH_LOCK_USER and AUTH_LOCK_ADDRESS are waived
 * (a principal's own earlier address); AUTH_LOCK_PAIR never is.
 */
unsigned auth__lockout_check(struct auth__lockout *l, const char *username, const char *address,
                             int64_t now_ms);

/*
 * auth__lockout_fail - record a failed login. known: username names a
 * principal (a wrong password); a made-up name counts toward the address
 * only. Returns the mask of keys that became locked out by it.
 */
unsigned auth__lockout_fail(struct auth__lockout *l, const char *username, const char *address,
                            bool known, int64_t now_ms);

/* auth__lockout_success - a good login clears the failures of its username-address pair only. */
void auth__lockout_success(struct auth__lockout *l, const char *username, const char *address);

/* auth__lockout_sweep - forget up to budget trackers that expired; returns how many. */
size_t auth__lockout_sweep(struct auth__lockout *l, int64_t now_ms, size_t budget);

/* auth__lockout_count - trackers held now. */
size_t auth__lockout_count(const struct auth__lockout *l);

/* ---- snapshot.c (worker writes; broker thread reads once at start) ---- */

struct auth__snapshot;

/*
 * auth__snapshot_encode - the record of principal rec, or (rec NULL) of
 * gone_id having left the registry, into *out (initialised here; the
 * caller destroys it). PC_OK or PC_ERR_NOMEM.
 */
int auth__snapshot_encode(const struct pc_principal_rec *rec, const char *gone_id, bson_t *out);

/*
 * auth__snapshot_decode - the record at data[0..avail): PC_OK with *used,
 * *rec (the password hash as text, not parsed) and *gone set;
 * PC_ERR_EMPTY when avail ends inside it (a torn append); PC_ERR_INVAL
 * with detail when it is damaged.
 */
int auth__snapshot_decode(const uint8_t *data, size_t avail, size_t *used,
                          struct pc_principal_rec *rec, bool *gone, char *err, size_t errlen);

/*
 * auth__snapshot_open - a writer appending to path (created with mode
 * 0600 and a header if absent). NULL with detail on failure. Closed (and
 * an unfinished rewrite removed) by auth__snapshot_close (NULL: no-op).
 */
struct auth__snapshot *auth__snapshot_open(const char *path, char *err, size_t errlen);
void auth__snapshot_close(struct auth__snapshot *s);

/*
 * auth__snapshot_begin - start writing a complete new file (a preload);
 * auth__snapshot_record appends one record to the file and to the
 * rewrite under way; auth__snapshot_commit puts the finished rewrite in
 * place (fsync, rename). auth__snapshot_flush, after each batch: touches
 * the file's mtime at least every minute, reopens it after a failure.
 * Each returns PC_OK or PC_ERR_IO / PC_ERR_NOMEM with detail; a failed
 * rewrite is dropped and the appended file stays in use.
 */
int auth__snapshot_begin(struct auth__snapshot *s, char *err, size_t errlen);
int auth__snapshot_record(struct auth__snapshot *s, const struct pc_principal_rec *rec,
                          const char *gone_id, char *err, size_t errlen);
int auth__snapshot_commit(struct auth__snapshot *s, char *err, size_t errlen);
int auth__snapshot_flush(struct auth__snapshot *s, int64_t wall_ms, char *err, size_t errlen);

/* What auth__snapshot_read found. */
struct auth__snapshot_info {
	int64_t age_ms;    /* since the file was last known to match the registry */
	size_t records;    /* records read */
	size_t principals; /* principals handed to fn */
	char damage[160];  /* where reading stopped early, or "" */
};

typedef void (*auth__snapshot_fn)(void *arg, const struct pc_principal_rec *rec);

/*
 * auth__snapshot_read - call fn once per principal the snapshot at path
 * holds (its last record for each id, removed ones left out). Returns
 * PC_OK (reading may have stopped early at a damaged record: info->damage),
 * PC_ERR_EMPTY (no file), PC_ERR_RANGE (older than max_age_ms by its
 * mtime against now_wall_ms), PC_ERR_INVAL (not a regular file of this
 * user with mode 0600, or not a snapshot), PC_ERR_IO or PC_ERR_NOMEM;
 * detail in err. fn is called only on PC_OK.
 */
int auth__snapshot_read(const char *path, int64_t max_age_ms, int64_t now_wall_ms,
                        auth__snapshot_fn fn, void *arg, struct auth__snapshot_info *info,
                        char *err, size_t errlen);

/* ---- registry_sync.c (worker thread) ---- */

/* The work function of the MongoDB supervisor (see pc_work_fn). */
int auth__sync_work(void *arg, void *conn, bool up, bool fresh, int64_t *next_ms, char *err,
                    size_t errlen);

/* ---- basic_auth.c, acl_check.c (broker thread callbacks) ---- */

int auth__on_basic_auth(int event, void *event_data, void *userdata);

/* Longest part of a client-supplied string a log line shows; buffer size for auth__shown. */
#define AUTH_SHOWN_MAX 64
#define AUTH_SHOWN_BUF (AUTH_SHOWN_MAX + 32)

/*
 * auth__shown - s as a log line shows it, in buf (AUTH_SHOWN_BUF bytes):
 * at most AUTH_SHOWN_MAX bytes, bytes outside printable ASCII as '?', and
 * the length when cut, so a 64 KB client id costs a log line of normal
 * size. "(none)" for NULL. Returns buf or a static string.
 */
const char *auth__shown(const char *s, char *buf, size_t buflen);
int auth__on_acl_check(int event, void *event_data, void *userdata);

#endif

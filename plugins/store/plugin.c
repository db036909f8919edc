/*
 * plugin.c - precis_store.so entry points: version, init, cleanup, TICK.
 *
 * Glue: parse plugin_opt_* through the option table, open the spool
 * (recovering what a previous run left), prepare the MongoDB backend with
 * the writer as its work function (the supervisor thread starts on the
 * first TICK), and register the callbacks from one table. TICK wakes the
 * writer when records arrived while it was idle (or a batch's worth
 * piled up) and publishes the counters. Cleanup gives the writer up to
 * flush_timeout to empty the spool, then stops it; whatever is left stays
 * in the spool for the next start. All state lives in struct store__data,
 * passed to Mosquitto as userdata.
 */
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <time.h>

#include "precis/error.h"
#include "precis/slot.h"
#include "store.h"

static const char *const full_policies[] = {"deny", "drop", NULL};
static const char *const non_json_modes[] = {"binary", "reject", NULL};
static const char *const nested_modes[] = {"wrap", "keep", NULL};

#define OFF(m) offsetof(struct store__config, m)

// clang-format off
static const struct pc_opt_def store_opts[] = {
    PB_MONGO_OPT_DEFS(struct store__config, mongo),
    PB_BACKEND_OPT_DEFS(struct store__config, backend),
    {"collections", PC_OPT_STRING, OFF(collections), "dev/+/data=telemetry,dev/+/evt=events",
     1, 4096, NULL, "topic filter=collection entries; the filter's '+' level is the device id"},
    {"slot", PC_OPT_DURATION, OFF(slot_ms), "1h", 1000, 366 * PC_MS_PER_DAY, NULL,
     "length of a time slot (divides a day, or whole days)"},
    {"bucket_max_samples", PC_OPT_INT, OFF(bucket_max_samples), "1000", 1, 100000, NULL,
     "samples per bucket before it rolls over to the next of the slot"},
    {"bucket_max_bytes", PC_OPT_SIZE, OFF(bucket_max_bytes), "512k", 1024, 8 << 20, NULL,
     "BSON bytes of samples per bucket before it rolls over"},
    {"batch_max", PC_OPT_INT, OFF(batch_max), "10000", 1, 100000, NULL,
     "samples per bulk write"},
    {"batch_delay", PC_OPT_DURATION, OFF(batch_delay_ms), "100ms", 0, 10000, NULL,
     "how long a batch may wait to grow before it is written"},
    {"max_payload", PC_OPT_SIZE, OFF(max_payload), "256k", 1, 2 << 20, NULL,
     "larger payloads on mapped topics are refused"},
    {"non_json", PC_OPT_ENUM, OFF(non_json), "binary", 0, 0, non_json_modes,
     "payloads that are not a JSON object: binary (stored raw) or reject"},
    {"nested_arrays", PC_OPT_ENUM, OFF(nested_arrays), "wrap", 0, 0, nested_modes,
     "an array directly in an array: wrap as {\"a\": [...]} (FerretDB) or keep"},
    {"stats", PC_OPT_BOOL, OFF(stats), "false", 0, 0, NULL,
     "keep min/max/sum/n of numeric top-level fields per bucket"},
    {"retention", PC_OPT_DURATION, OFF(retention_ms), "0", 0, 0, NULL,
     "delete buckets this long after their slot ends (0: keep forever)"},
    {"retention_interval", PC_OPT_DURATION, OFF(retention_interval_ms), "1h", 1000, 86400000,
     NULL, "how often expired buckets are deleted where there is no TTL index"},
    {"spool_dir", PC_OPT_STRING, OFF(spool_dir), "/var/lib/mosquitto/precis_store", 1, 1024,
     NULL, "directory of the on-disk spool (created if missing)"},
    {"spool_max", PC_OPT_SIZE, OFF(spool_max), "1g", 64 << 10, INT64_C(1) << 40, NULL,
     "most bytes the spool may hold"},
    {"spool_segment", PC_OPT_SIZE, OFF(spool_segment), "16m", 4 << 10, 1 << 30, NULL,
     "size of one spool segment file (at most half of spool_max)"},
    {"spool_full", PC_OPT_ENUM, OFF(spool_full), "deny", 0, 0, full_policies,
     "spool full: deny the publish, or drop (pass it on unstored)"},
    {"spool_sync", PC_OPT_DURATION, OFF(spool_sync_ms), "1s", 0, 3600000, NULL,
     "fdatasync the spool this often (0: leave it to the kernel)"},
    {"write_timeout", PC_OPT_DURATION, OFF(write_timeout_ms), "10s", 100, 600000, NULL,
     "socket timeout of MongoDB writes (unless the URI sets socketTimeoutMS)"},
    {"flush_timeout", PC_OPT_DURATION, OFF(flush_timeout_ms), "5s", 0, 600000, NULL,
     "at shutdown, how long to keep writing the spool to MongoDB"},
    PB_STATS_OPT_DEF(struct store__config, stats_interval_ms),
};
// clang-format on

#define NOPTS (sizeof store_opts / sizeof store_opts[0])

/* Counter names under $SYS/broker/precis/store/, and where their atomics are. */
static const struct {
	const char *name;
	size_t off;
} stat_names[] = {
#define S(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct store__counters, f)                                             \
	}
    S("accepted", accepted),
    S("persisted", persisted),
    S("batches", batches),
    S("spooled", spooled),
    S("replayed", replayed),
    S("duplicates", duplicates),
    S("sanitized", sanitized),
    S("binary", binary),
    S("bad_ts", bad_ts),
    S("expired", expired),
    S("write_errors", write_errors),
    S("dropped/spool_full", dropped_spool_full),
    S("dropped/io_error", dropped_io_error),
    S("dropped/malformed", dropped_malformed),
    S("dropped/rejected", dropped_rejected),
    S("dropped/corrupt", dropped_corrupt),
    S("dropped/unrouted", dropped_unrouted),
    S("denied/spool_full", denied_spool_full),
    S("denied/too_large", denied_too_large),
    S("denied/bad_topic", denied_bad_topic),
    S("denied/io_error", denied_io_error),
    S("queue/depth", queue_depth),
    S("spool/bytes", spool_bytes),
    S("latency/last_ms", latency_ms),
    S("latency/max_ms", latency_max_ms),
    S("started", started_ms), /* last: a fresh value means the rows above are fresh too */
#undef S
};

#define NSTATS (sizeof stat_names / sizeof stat_names[0])
_Static_assert(NSTATS <= STORE_NSTATS_MAX, "raise STORE_NSTATS_MAX");

static int store__on_tick(int event, void *event_data, void *userdata)
{
	struct store__data *d = userdata;
	uint64_t seq = d->spool.next_seq;

	pb_tick(&d->base);
	pb_backend_tick(&d->base, &d->mongo_backend);
	if (seq != d->tick_seq) {
		d->tick_seq = seq;
		if (atomic_exchange(&d->w.idle, false) ||
		    seq - d->wake_seq >= (uint64_t)d->conf.batch_max) {
			d->wake_seq = seq;
			pb_backend_wake(&d->mongo_backend);
		}
	}
	atomic_store(&d->c.queue_depth, seq - atomic_load(&d->w.done_seq));
	atomic_store(&d->c.spool_bytes, atomic_load(&d->spool.bytes));
	if (d->stats.last) {
		int64_t before = d->stats.next_ms;

		pb_stats_tick(&d->base, &d->stats);
		if (d->stats.next_ms != before)
			atomic_store(&d->c.latency_window_new,
			             true); /* the writer starts a new max */
	}
	return MOSQ_ERR_SUCCESS;
}

static const struct pb_callback store_callbacks[] = {
    {MOSQ_EVT_TICK, store__on_tick},
    {MOSQ_EVT_MESSAGE, store__on_message},
};

#define NCALLBACKS (sizeof store_callbacks / sizeof store_callbacks[0])

/* flush - give the writer up to flush_timeout to write what the spool holds. */
static void flush(struct store__data *d)
{
	int64_t deadline = pc_mono_ms() + d->conf.flush_timeout_ms;
	uint64_t target = d->spool.next_seq;
	struct timespec pause = {0, 10 * 1000000L};

	if (!d->mongo_backend.sup)
		return;
	atomic_store(&d->w.draining, true);
	pb_backend_wake(&d->mongo_backend);
	while (atomic_load(&d->w.done_seq) < target && pc_mono_ms() < deadline &&
	       pb_backend_up(&d->mongo_backend))
		nanosleep(&pause, NULL);
	if (atomic_load(&d->w.done_seq) < target)
		pc_log(&d->base.log, PC_LOG_NOTICE,
		       "%llu records stay in the spool for the next start",
		       (unsigned long long)(target - atomic_load(&d->w.done_seq)));
}

static void store__free(struct store__data *d)
{
	pb_backend_stop(&d->mongo_backend);
	if (d->spool_open) {
		if (d->w.ck_dirty)
			store__spool_checkpoint(&d->spool, &d->w.done, d->conf.spool_sync_ms > 0);
		if (d->conf.spool_sync_ms > 0)
			store__spool_sync(&d->spool);
		store__spool_close(&d->spool);
	}
	store__writer_cleanup(d);
	pc_mongo_conn_cleanup(&d->mongo);
	pb_stats_cleanup(&d->stats);
	pc_opts_free(store_opts, NOPTS, &d->conf);
	pb_plugin_cleanup(&d->base);
	free(d);
}

/* check_config - the rules between options that the table cannot express. */
static int check_config(struct store__data *d)
{
	struct store__config *c = &d->conf;
	char err[256];

	if (store__routes_parse(&d->routes, c->collections, err, sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_collections: %s", err);
		return MOSQ_ERR_INVAL;
	}
	if (pc_slot_len_check(c->slot_ms, err, sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_slot: %s", err);
		return MOSQ_ERR_INVAL;
	}
	if (c->spool_segment * 2 > c->spool_max) {
		pc_log(
		    &d->base.log, PC_LOG_ERR,
		    "plugin_opt_spool_segment (%lld) must be at most half of plugin_opt_spool_max "
		    "(%lld)",
		    (long long)c->spool_segment, (long long)c->spool_max);
		return MOSQ_ERR_INVAL;
	}
	if (c->retention_ms != 0 && c->retention_ms < 1000) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_retention: 0 or at least 1s");
		return MOSQ_ERR_INVAL;
	}
	d->caps.max_samples = (uint32_t)c->bucket_max_samples;
	d->caps.max_bytes = (uint32_t)c->bucket_max_bytes;
	return MOSQ_ERR_SUCCESS;
}

static int open_spool(struct store__data *d)
{
	char err[512];

	if (store__spool_open(&d->spool, d->conf.spool_dir, (uint64_t)d->conf.spool_max,
	                      (uint64_t)d->conf.spool_segment, &d->base.log, err,
	                      sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_spool_dir: %s", err);
		store__spool_close(&d->spool);
		return MOSQ_ERR_INVAL;
	}
	d->spool_open = true;
	if (d->spool.recovered_records)
		pc_log(&d->base.log, PC_LOG_NOTICE,
		       "spool %s: %llu records from a previous run will be written to MongoDB",
		       d->conf.spool_dir, (unsigned long long)d->spool.recovered_records);
	return store__writer_init(d) == PC_OK ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOMEM;
}

/* write_timeout - a MongoDB write may take longer than a connect: socketTimeoutMS. */
static void write_timeout(struct store__data *d)
{
	mongoc_uri_t *user = mongoc_uri_new(d->conf.mongo.uri);

	if (user && !mongoc_uri_has_option(user, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(d->mongo.uri, MONGOC_URI_SOCKETTIMEOUTMS,
		                               (int32_t)d->conf.write_timeout_ms);
	mongoc_uri_destroy(user);
}

PB_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	return pb_plugin_version(supported_version_count, supported_versions);
}

PB_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                    struct mosquitto_opt *options, int option_count)
{
	struct store__data *d;
	int rc;

	*userdata = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return MOSQ_ERR_NOMEM;
	rc = pb_plugin_setup(&d->base, identifier, "precis_store", "store", store_opts, NOPTS,
	                     options, option_count, &d->conf, &d->conf.backend);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = check_config(d);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = pb_mongo_init(&d->base, &d->mongo_backend, &d->mongo, &d->conf.mongo,
		                   &d->conf.backend, "precis-sto-mongo");
	if (rc == MOSQ_ERR_SUCCESS) {
		write_timeout(d);
		rc = open_spool(d);
	}
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pb_backend_set_work(&d->mongo_backend, store__work, d);
	atomic_store(&d->c.started_ms, (uint64_t)pc_wall_ms());
	for (size_t i = 0; i < NSTATS; i++)
		d->stat_rows[i] =
		    (struct pb_stat){stat_names[i].name,
		                     (atomic_uint_fast64_t *)((char *)&d->c + stat_names[i].off)};
	if (pb_stats_init(&d->stats, d->stat_rows, NSTATS, d->conf.stats_interval_ms) != PC_OK) {
		rc = MOSQ_ERR_NOMEM;
		goto fail;
	}
	rc = pb_callbacks_register(&d->base, store_callbacks, NCALLBACKS, d);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pc_log(&d->base.log, PC_LOG_INFO, "loaded (spool %s, %zu collection%s)", d->conf.spool_dir,
	       d->routes.ncolls, d->routes.ncolls == 1 ? "" : "s");
	*userdata = d;
	return MOSQ_ERR_SUCCESS;
fail:
	store__free(d);
	return rc;
}

PB_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                       int option_count)
{
	struct store__data *d = userdata;

	if (!d)
		return MOSQ_ERR_SUCCESS;
	pb_callbacks_unregister(&d->base, store_callbacks, NCALLBACKS);
	flush(d);
	store__free(d);
	return MOSQ_ERR_SUCCESS;
}

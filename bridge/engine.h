/*
 * engine.h - the bridge's state and behaviour, between the I/O shells.
 *
 * The engine owns the model (recommend.h), the portraits (profile.h), the
 * experiments (experiment.h) and the campaigns (campaign.h). main.c feeds
 * it messages (events, campaigns, opt-outs) and calls br_engine_tick; the
 * engine answers through a struct br_out: publish a payload on a topic,
 * store a document. It never does I/O itself and runs on one thread (the
 * main thread), so the unit tests drive it with a capturing br_out.
 *
 * Refreshes: an event makes its user dirty; the user's recommendation and
 * portrait are recomputed and published `debounce` after the first event
 * (later events within that time join the same refresh), and everybody is
 * refreshed every `refresh_interval`. Campaign deliveries are decided
 * when a campaign arrives, on every `campaign_interval` while some member
 * waits for quiet hours to end, and when a user's portrait changes.
 */
#ifndef BRIDGE_ENGINE_H
#define BRIDGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "config.h"
#include "event.h"
#include "experiment.h"
#include "ids.h"
#include "mqtt.h"
#include "precis/log.h"
#include "profile.h"
#include "recommend.h"
#include "seen.h"
#include "store.h"

#define BR_MAX_CAMPAIGNS 256

/* Where the engine's results go. Both calls copy what they need. */
struct br_out {
	void *arg;
	/* publish payload[0..len) on topic; returns 0 or an error (counted by the engine) */
	int (*publish)(void *arg, const char *topic, const char *payload, size_t len, int qos,
	               bool retain);
	/*
	 * upsert the JSON document json (no _id) under _id id in collection coll; may be NULL.
	 * Returns 0, PC_ERR_FULL when the store's queue is full (the engine rebuilds a refused
	 * recommendation or profile once io.store.room says there is room), or another error.
	 */
	int (*store)(void *arg, const char *coll, const char *id, const char *json, size_t len);
};

struct br_counters {
	uint64_t events_received, events_accepted, events_history;
	uint64_t bad[BR_BAD_NREASONS];
	uint64_t by_type[BR_EVT_NTYPES];
	uint64_t refused_capacity; /* max_users / max_items reached */
	uint64_t duplicates;       /* an id counted already (dedup_window) */
	uint64_t recos, profiles, reco_holdouts;
	uint64_t campaigns, campaigns_bad, optouts, optouts_bad;
	uint64_t deliveries, segment_pushes, conversions;
	uint64_t publish_failed, nomem;
	uint64_t store_refused; /* recommendations / profiles the store refused: rebuilt later */
	uint64_t store_rebuilt; /* users whose documents were rebuilt for the store */
};

/* What the I/O shells report, copied in by main.c before each tick (published with the rest). */
struct br_io_counters {
	struct br_mqtt_stats mqtt;
	struct br_store_stats store;
	bool mqtt_up, mongo_enabled;
};

struct br_user_cache {
	uint64_t segments;
	uint32_t ntags;
	uint32_t tag[BR_TAGS_MAX]; /* as the portrait has them: tag campaigns see every one */
	bool known;                /* portrait computed at least once */
	bool owed; /* in the owed queue: a document of it was refused by the store */
};

struct br_engine {
	const struct br_config *cfg; /* not owned; replaced by br_engine_reload */
	struct br_out out;
	const struct pc_logger *log;
	struct br_ids users, items;
	struct br_reco reco;
	struct br_profiles prof;
	struct br_seen seen; /* ids of the last dedup_window events */
	struct br_experiment exps[BR_MAX_EXPERIMENTS + BR_MAX_CAMPAIGNS];
	size_t nexps;
	int reco_exp;            /* index in exps, or -1 */
	uint64_t *exp_published; /* version last published, per experiment */
	struct br_campaign *camps[BR_MAX_CAMPAIGNS];
	uint64_t camp_segment_rev[BR_MAX_CAMPAIGNS]; /* revision pushed to its segment */
	bool camp_pending[BR_MAX_CAMPAIGNS];         /* members deferred: pass again */
	size_t ncamps;
	/* dirty users, FIFO in due order */
	int64_t *due; /* per user: 0 clean, else the refresh time */
	uint32_t *dq;
	size_t dq_head, dq_len, dq_cap;
	/* users whose recommendation or profile the store refused (full), FIFO, each once */
	uint32_t *oq;
	size_t oq_head, oq_len, oq_cap;
	struct br_user_cache *cache;
	uint32_t cache_cap;
	int64_t next_full_ms, next_stats_ms, next_campaign_ms, next_exp_ms;
	struct br_counters n;
	struct br_io_counters io;
	char stats_topic[PC_TOPIC_MAX + 1];
};

/*
 * br_engine_init - an empty engine for configuration cfg (kept by
 * pointer), answering through out, logging to log. Returns PC_OK,
 * PC_ERR_INVAL (a segment or experiment that does not parse) or
 * PC_ERR_NOMEM, with detail. Release with br_engine_cleanup.
 */
int br_engine_init(struct br_engine *e, const struct br_config *cfg, const struct br_out *out,
                   const struct pc_logger *log, int64_t now_ms, char *err, size_t errlen);
void br_engine_cleanup(struct br_engine *e);

/*
 * br_engine_reload - switch to configuration cfg (model parameters,
 * weights, intervals, segments, experiments). On failure nothing changes.
 * Returns PC_OK, PC_ERR_INVAL or PC_ERR_NOMEM with detail.
 */
int br_engine_reload(struct br_engine *e, const struct br_config *cfg, char *err, size_t errlen);

/*
 * br_engine_event - one payload from dev/{device}/evt received at now_ms
 * (history: true for events read from MongoDB: they update the model
 * quietly, without refresh or conversion). Refused payloads are logged
 * and counted and change nothing. Returns the refusal reason or
 * BR_BAD_NONE.
 */
enum br_evt_bad br_engine_event(struct br_engine *e, const char *device, const void *payload,
                                size_t len, int64_t now_ms, bool history);

/* br_engine_campaign - a payload from mkt/campaign. Returns PC_OK or PC_ERR_INVAL (counted). */
int br_engine_campaign(struct br_engine *e, const void *payload, size_t len, int64_t now_ms);

/*
 * br_engine_optout - a payload from mkt/optout: {"user":u,"optout":bool}.
 * Returns PC_OK or PC_ERR_INVAL (counted).
 */
int br_engine_optout(struct br_engine *e, const void *payload, size_t len, int64_t now_ms);

/*
 * br_engine_tick - do what is due at now_ms (refreshes, campaign passes,
 * experiment and counter publications), at most budget user refreshes;
 * with MongoDB on (io.mongo_enabled), also rebuilds the documents of users
 * the store refused, as many as io.store.room allows (within budget),
 * without publishing them again.
 * Returns the time of the next thing due (the caller may sleep until then
 * unless a message arrives).
 */
int64_t br_engine_tick(struct br_engine *e, int64_t now_ms, size_t budget);

/* br_engine_refresh_all - make every known user due at now_ms (after the history load). */
void br_engine_refresh_all(struct br_engine *e, int64_t now_ms);

/* br_engine_publish_stats - publish the counters now (also done every stats_interval). */
void br_engine_publish_stats(struct br_engine *e, int64_t now_ms);

/*
 * Campaign passes (engine_campaign.c): br_engine_campaign_user decides
 * user u's deliveries of every active campaign (after a portrait
 * refresh); br_engine_campaign_tick passes again over campaigns whose
 * members wait (quiet hours, a start still ahead) and returns when it
 * next needs to (INT64_MAX: never).
 */
void br_engine_campaign_user(struct br_engine *e, uint32_t u, int64_t now_ms);
int64_t br_engine_campaign_tick(struct br_engine *e, int64_t now_ms);

/*
 * br_engine_emit - publish (topic may be NULL) and store (coll may be
 * NULL) j's text. Returns what the store call returned (0 when none).
 */
struct pc_jw;
int br_engine_emit(struct br_engine *e, const char *topic, struct pc_jw *j, bool retain,
                   const char *coll, const char *id);

/* Payload builders (publish.c): JSON text into j; PC_OK or PC_ERR_NOMEM. */
int br_push_reco(struct br_engine *e, uint32_t u, const struct br_scored *s, size_t n,
                 enum br_algo algo, const char *variant, int64_t now_ms, struct pc_jw *j);
int br_push_profile(struct br_engine *e, uint32_t u, const struct br_portrait *p, int64_t now_ms,
                    struct pc_jw *j);
int br_push_experiment(struct br_engine *e, const struct br_experiment *x, int64_t now_ms,
                       struct pc_jw *j);
int br_push_campaign_record(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                            struct pc_jw *j);
int br_push_stats(struct br_engine *e, int64_t now_ms, struct pc_jw *j);
int br_push_delivery(struct br_engine *e, const struct br_campaign *c, const char *user,
                     size_t variant, int64_t now_ms, struct pc_jw *j);
int br_push_segment(struct br_engine *e, const struct br_campaign *c, int64_t now_ms,
                    struct pc_jw *j);

#endif

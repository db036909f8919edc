/*
 * campaign.h - marketing campaigns from mkt/campaign: parsing, and the
 * delivery decision for one member at one moment.
 *
 *   {"id":"summer","segment":"vip" | "tags":["electronics", ...],
 *    "content":{...}, "items":["sku1", ...], "start":ms, "end":ms,
 *    "variants":[{"id":"A","weight":50,"content":{...}},
 *                {"id":"H","weight":50,"holdout":true}],
 *    "frequency_cap":1, "quiet_hours":{"from":"22:00","to":"07:00","utc_offset_min":60}}
 *
 * A member gets a campaign at most once per revision (each publication of
 * the same id is a new revision), and at most frequency_cap times per
 * local day over all revisions; never while opted out; never during the
 * quiet hours (delivery waits until they end); never before start or
 * after end. Variants split members through an experiment (experiment.h)
 * whose id is the campaign's; a holdout variant is recorded as exposed
 * but sent nothing. items are what a conversion is measured on. Pure.
 */
#ifndef BRIDGE_CAMPAIGN_H
#define BRIDGE_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "experiment.h"
#include "precis/topic.h"

#define BR_CAMPAIGN_TAGS  16
#define BR_CAMPAIGN_ITEMS 32

struct pc_hmap;

struct br_campaign {
	char id[PC_ID_MAX + 1];
	uint64_t rev;
	char segment[PC_ID_MAX + 1]; /* "" when targeting tags */
	char tags[BR_CAMPAIGN_TAGS][PC_ID_MAX + 1];
	size_t ntags;
	char *content; /* JSON text, owned */
	char *items[BR_CAMPAIGN_ITEMS];
	size_t nitems;
	int64_t start_ms, end_ms; /* 0: open */
	struct br_variant variants[BR_MAX_VARIANTS];
	char *variant_content[BR_MAX_VARIANTS]; /* JSON text or NULL (the campaign's) */
	size_t nvariants;                       /* 0: no A/B split */
	uint32_t cap;                           /* per member per local day */
	bool has_quiet;
	int quiet_from, quiet_to; /* minutes of the local day */
	int utc_offset_min;
	struct pc_hmap *members; /* user -> delivery state (campaign.c) */
	/* counters */
	uint64_t sent, holdout, skip_optout, skip_cap, deferred_quiet;
};

/*
 * br_campaign_parse - parse a campaign payload into out (zeroed first).
 * Returns PC_OK, PC_ERR_INVAL with detail naming the field, or
 * PC_ERR_NOMEM. Release with br_campaign_cleanup, also after a failure.
 */
int br_campaign_parse(const void *json, size_t len, struct br_campaign *out, char *err,
                      size_t errlen);

/* br_campaign_cleanup - free what the campaign owns. */
void br_campaign_cleanup(struct br_campaign *c);

/*
 * br_campaign_replace - a new revision: move next's definition into cur
 * (keeping cur's member states, so caps carry over, and its counters),
 * cur->rev + 1. next is left empty. Returns PC_OK.
 */
int br_campaign_replace(struct br_campaign *cur, struct br_campaign *next);

/* br_campaign_active - whether now_ms is within [start, end). */
bool br_campaign_active(const struct br_campaign *c, int64_t now_ms);

/* br_campaign_quiet - whether now_ms falls in the campaign's quiet hours. */
bool br_campaign_quiet(const struct br_campaign *c, int64_t now_ms);

enum br_dlv {
	BR_DLV_SEND = 0, /* deliver now (already counted against the cap) */
	BR_DLV_HOLDOUT,  /* the member's variant is a holdout: recorded, nothing sent */
	BR_DLV_OPTOUT,   /* opted out: skipped for this revision */
	BR_DLV_CAP,      /* the day's cap is reached: skipped for this revision */
	BR_DLV_QUIET,    /* quiet hours: try again later */
	BR_DLV_INACTIVE, /* not started or over */
	BR_DLV_DONE,     /* this revision was already decided for the member */
};

/*
 * br_campaign_decide - what to do for member user now. Final decisions
 * (everything but QUIET and INACTIVE) are remembered and counted once
 * per revision; SEND counts against the day's cap. *variant receives the
 * member's variant index (0 when there is no split). Returns the
 * decision; on out of memory BR_DLV_QUIET (nothing remembered: retried).
 */
enum br_dlv br_campaign_decide(struct br_campaign *c, const char *user, bool optout, int64_t now_ms,
                               size_t *variant);

/* br_campaign_content - the JSON content for variant v (the campaign's when it has none). */
const char *br_campaign_content(const struct br_campaign *c, size_t v);

/* br_dlv_name - "send", "holdout", "optout", ... */
const char *br_dlv_name(enum br_dlv d);

#endif

/*
 * fuzz_campaign.c - the bridge's campaign parser and delivery decision
 * (bridge/campaign.c), as the bridge runs them on an mkt/campaign message
 * and then for each member of the campaign's audience.
 *
 * Input: one campaign payload. Properties: parse and cleanup never leak,
 * also after a refusal; an accepted campaign has a valid id, exactly one
 * of segment and tags, content that is a JSON object, a cap of 1..1000,
 * quiet hours within the day, end after start, and when split, variant
 * weights that sum to 100 with exactly one control; decisions for a few
 * members at a few moments are final once (DONE afterwards), each final
 * one is counted once, and a new revision (the same payload parsed and
 * swapped in by br_campaign_replace) decides afresh.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#include "campaign.h"
#include "fuzz.h"
#include "precis/error.h"
#include "precis/topic.h"

/* Moments tried: the epoch, 2027-01-15 00:00, the same day 12:34 UTC. */
static const int64_t moments[] = {0, INT64_C(1800000000000) - INT64_C(1800000000000) % 86400000,
                                  INT64_C(1800000000000)};
static const char *const users[] = {"17850", "u-1", "kiosk.7"};

static bool final(enum br_dlv d)
{
	return d != BR_DLV_QUIET && d != BR_DLV_INACTIVE;
}

static uint64_t counted(const struct br_campaign *c)
{
	return c->sent + c->holdout + c->skip_optout + c->skip_cap;
}

static void check_parsed(const struct br_campaign *c)
{
	bson_t *doc;

	FUZZ_CHECK(pc_id_check(c->id, strlen(c->id), NULL, 0) == PC_OK);
	FUZZ_CHECK((c->segment[0] != '\0') != (c->ntags > 0));
	FUZZ_CHECK(c->ntags <= BR_CAMPAIGN_TAGS && c->nitems <= BR_CAMPAIGN_ITEMS);
	for (size_t k = 0; k < c->ntags; k++)
		FUZZ_CHECK(pc_id_check(c->tags[k], strlen(c->tags[k]), NULL, 0) == PC_OK);
	for (size_t k = 0; k < c->nitems; k++)
		FUZZ_CHECK(pc_id_check(c->items[k], strlen(c->items[k]), NULL, 0) == PC_OK);
	FUZZ_CHECK(c->content);
	doc = bson_new_from_json((const uint8_t *)c->content, -1, NULL);
	FUZZ_CHECK(doc);
	bson_destroy(doc);
	FUZZ_CHECK(c->cap >= 1 && c->cap <= 1000);
	FUZZ_CHECK(c->start_ms >= 0 && c->end_ms >= 0);
	FUZZ_CHECK(!c->end_ms || c->end_ms > c->start_ms);
	FUZZ_CHECK(!c->has_quiet ||
	           (c->quiet_from >= 0 && c->quiet_from < 1440 && c->quiet_to >= 0 &&
	            c->quiet_to < 1440 && c->quiet_from != c->quiet_to));
	FUZZ_CHECK(c->utc_offset_min >= -1440 && c->utc_offset_min <= 1440);
	FUZZ_CHECK(c->nvariants <= BR_MAX_VARIANTS);
	if (c->nvariants) {
		double total = 0;
		size_t controls = 0;

		for (size_t k = 0; k < c->nvariants; k++) {
			FUZZ_CHECK(c->variants[k].percent > 0);
			total += c->variants[k].percent;
			controls += c->variants[k].control;
		}
		FUZZ_CHECK(fabs(total - 100) < 1e-6);
		FUZZ_CHECK(controls == 1);
	}
	for (size_t v = 0; v <= c->nvariants; v++)
		FUZZ_CHECK(br_campaign_content(c, v) != NULL);
}

/* Decide for every user at every moment; returns the final decisions made. */
static uint64_t decide_all(struct br_campaign *c)
{
	uint64_t finals = 0;

	for (size_t t = 0; t < sizeof moments / sizeof moments[0]; t++) {
		for (size_t u = 0; u < sizeof users / sizeof users[0]; u++) {
			size_t v, v2;
			enum br_dlv d = br_campaign_decide(c, users[u], u == 2, moments[t], &v);

			FUZZ_CHECK((unsigned)d <= BR_DLV_DONE);
			FUZZ_CHECK(c->nvariants == 0 || v < c->nvariants);
			if (final(d) && d != BR_DLV_DONE) {
				finals++;
				/* Decided for this revision: asking again changes nothing. */
				FUZZ_CHECK(br_campaign_decide(c, users[u], u == 2, moments[t],
				                              &v2) == BR_DLV_DONE);
				FUZZ_CHECK(v2 == v);
			}
			FUZZ_CHECK(d != BR_DLV_INACTIVE || !br_campaign_active(c, moments[t]));
		}
	}
	return finals;
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct br_campaign c, next;
	uint64_t finals;
	char err[256];

	FUZZ_CHECK(p);
	if (size)
		memcpy(p, data, size);
	if (br_campaign_parse(p, size, &c, err, sizeof err) == PC_OK) {
		check_parsed(&c);
		FUZZ_CHECK(c.rev == 1);
		finals = decide_all(&c);
		FUZZ_CHECK(counted(&c) == finals);
		/* The same payload again is a new revision: members are decided afresh. */
		FUZZ_CHECK(br_campaign_parse(p, size, &next, err, sizeof err) == PC_OK);
		FUZZ_CHECK(br_campaign_replace(&c, &next) == PC_OK);
		FUZZ_CHECK(c.rev == 2);
		check_parsed(&c);
		finals += decide_all(&c);
		FUZZ_CHECK(counted(&c) == finals);
		br_campaign_cleanup(&next);
	}
	br_campaign_cleanup(&c);
	free(p);
	return 0;
}

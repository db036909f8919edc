/*
 * fuzz_event.c - the bridge's behaviour-event parser (bridge/event.c), as the
 * bridge runs it on every dev/{id}/evt message.
 *
 * Input: one payload. Properties: a refusal names one of the known
 * reasons; an accepted event has valid ids (topic.h rules), one of the
 * five types, a value in -1e6..1e9 (always present for rate) and a ts in
 * 1970..9999; it round-trips: the event written back as JSON parses to
 * the same event; and the bridge and the store read the same bytes alike:
 * the bridge refuses as bad_json exactly what store__payload_decode
 * (plugins/store/payload.c) refuses, so an event the bridge counts is
 * always one the store keeps as an event.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "payload.h"
#include "precis/error.h"
#include "precis/topic.h"

static bool id_ok(const char *s)
{
	return pc_id_check(s, strlen(s), NULL, 0) == PC_OK;
}

/* e written as the JSON a device would send; returns its length. */
static int write_event(const struct br_event *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{\"user\":\"%s\",\"item\":\"%s\",\"type\":\"%s\"", e->user,
	                 e->item, br_evt_type_name(e->type));

	if (e->id[0])
		n += snprintf(buf + n, len - (size_t)n, ",\"id\":\"%s\"", e->id);
	if (e->category[0])
		n += snprintf(buf + n, len - (size_t)n, ",\"category\":\"%s\"", e->category);
	if (e->has_value)
		n += snprintf(buf + n, len - (size_t)n, ",\"value\":%.17g", e->value);
	if (e->has_ts)
		n += snprintf(buf + n, len - (size_t)n, ",\"ts\":%" PRId64, e->ts_ms);
	n += snprintf(buf + n, len - (size_t)n, "}");
	return n;
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct br_event e, again;
	struct store__payload stored;
	int stored_rc;
	enum br_evt_bad bad;
	char err[256], json[1024];
	int n;

	FUZZ_CHECK(p);
	if (size)
		memcpy(p, data, size);
	bad = br_event_parse(p, size, &e, err, sizeof err);
	FUZZ_CHECK((unsigned)bad < BR_BAD_NREASONS);
	FUZZ_CHECK(strcmp(br_evt_bad_name(bad), "?") != 0);
	stored_rc = store__payload_decode(p, size, 0, true, &stored, err, sizeof err);
	FUZZ_CHECK((bad == BR_BAD_JSON) == (stored_rc != PC_OK));
	if (stored_rc == PC_OK)
		bson_destroy(&stored.doc);
	if (bad == BR_BAD_NONE) {
		FUZZ_CHECK(id_ok(e.user) && id_ok(e.item));
		FUZZ_CHECK(!e.id[0] || id_ok(e.id));
		FUZZ_CHECK(!e.category[0] || id_ok(e.category));
		FUZZ_CHECK((unsigned)e.type < BR_EVT_NTYPES);
		FUZZ_CHECK(e.has_value || e.type != BR_EVT_RATE);
		FUZZ_CHECK(!e.has_value ||
		           (isfinite(e.value) && e.value >= -1e6 && e.value <= 1e9));
		FUZZ_CHECK(!e.has_ts || (e.ts_ms >= 0 && e.ts_ms <= INT64_C(253402300799999)));

		n = write_event(&e, json, sizeof json);
		FUZZ_CHECK(n > 0 && (size_t)n < sizeof json);
		FUZZ_CHECK(br_event_parse(json, (size_t)n, &again, err, sizeof err) == BR_BAD_NONE);
		FUZZ_CHECK(strcmp(e.id, again.id) == 0 && strcmp(e.user, again.user) == 0 &&
		           strcmp(e.item, again.item) == 0 &&
		           strcmp(e.category, again.category) == 0);
		FUZZ_CHECK(e.type == again.type && e.has_value == again.has_value &&
		           e.has_ts == again.has_ts);
		FUZZ_CHECK(!e.has_value || e.value == again.value);
		FUZZ_CHECK(!e.has_ts || e.ts_ms == again.ts_ms);
	}
	free(p);
	return 0;
}

/*
 * event.h - a behaviour event from dev/{id}/evt, parsed and checked.
 *
 *   {"user":u,"item":i,"type":t,"value":x,"ts":ms,"category":c}
 *
 * user and item are ids (topic.h rules: 1-64 of [A-Za-z0-9._:-]); type is
 * one of view, click, cart, purchase, rate; value a finite number
 * (required for rate; for purchase it is the amount spent, default 1);
 * ts an integer in ms (default: the time of arrival); category an optional
 * id for the item. Other fields are ignored. Each refusal has its own
 * reason, so the bridge can count them. Pure: libbson parses the JSON,
 * nothing else happens.
 */
#ifndef BRIDGE_EVENT_H
#define BRIDGE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/topic.h"

enum br_evt_type {
	BR_EVT_VIEW = 0,
	BR_EVT_CLICK,
	BR_EVT_CART,
	BR_EVT_PURCHASE,
	BR_EVT_RATE,
	BR_EVT_NTYPES,
};

/* Why an event was refused (BR_BAD_NONE: accepted). */
enum br_evt_bad {
	BR_BAD_NONE = 0,
	BR_BAD_JSON,    /* not a JSON object */
	BR_BAD_MISSING, /* user, item or type absent (or value, for rate) */
	BR_BAD_TYPE,    /* a field of the wrong JSON type, or a non-finite number */
	BR_BAD_ID,      /* user, item or category not a valid id */
	BR_BAD_KIND,    /* type is not one of the five */
	BR_BAD_RANGE,   /* ts negative or beyond year 9999; value outside -1e6..1e9 */
	BR_BAD_NREASONS,
};

struct br_event {
	char id[PC_ID_MAX + 1]; /* the event's own id (event_id.h); "" when absent */
	char user[PC_ID_MAX + 1];
	char item[PC_ID_MAX + 1];
	char category[PC_ID_MAX + 1]; /* "" when absent */
	enum br_evt_type type;
	double value;
	bool has_value;
	int64_t ts_ms;
	bool has_ts;
};

/*
 * br_event_parse - parse payload[0..len) into out. Returns BR_BAD_NONE, or
 * the reason with detail in (err, errlen). out is unspecified on refusal.
 */
enum br_evt_bad br_event_parse(const void *payload, size_t len, struct br_event *out, char *err,
                               size_t errlen);

/* br_evt_type_name - "view", ...; br_evt_bad_name - "bad_json", ... (counter names). */
const char *br_evt_type_name(enum br_evt_type t);
const char *br_evt_bad_name(enum br_evt_bad b);

#endif

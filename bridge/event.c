/*
 * event.c - parse and check one behaviour event (see event.h). The shared
 * acceptor (common/json_bson.c) turns the JSON into BSON, as the store
 * does with the same bytes, then each field is read by name with its type
 * checked; ts follows the one ts rule (pc_ts_from_iter).
 */
#include <math.h>
#include <string.h>

#include <bson/bson.h>

#include "event.h"
#include "precis/error.h"
#include "precis/event_id.h"
#include "precis/json_bson.h"
#include "precis/topic.h"

static const char *const type_names[BR_EVT_NTYPES] = {"view", "click", "cart", "purchase", "rate"};
static const char *const bad_names[BR_BAD_NREASONS] = {
    "ok", "bad_json", "missing_field", "wrong_type", "bad_id", "unknown_type", "out_of_range",
};

const char *br_evt_type_name(enum br_evt_type t)
{
	return (unsigned)t < BR_EVT_NTYPES ? type_names[t] : "?";
}

const char *br_evt_bad_name(enum br_evt_bad b)
{
	return (unsigned)b < BR_BAD_NREASONS ? bad_names[b] : "?";
}

/* Refuse with why; the detail is "<what> '<field>'". */
static enum br_evt_bad bad(char *err, size_t errlen, enum br_evt_bad why, const char *what,
                           const char *field)
{
	pc_errf(err, errlen, PC_ERR_INVAL, "%s '%s'", what, field);
	return why;
}

typedef int (*id_check_fn)(const char *id, size_t len, char *err, size_t errlen);

/* An id field, checked by check: absent is allowed only when optional. */
static enum br_evt_bad read_checked(const bson_t *b, const char *key, bool optional,
                                    id_check_fn check, char *out, char *err, size_t errlen)
{
	bson_iter_t it;
	const char *s;
	uint32_t len;
	char e[128];

	out[0] = '\0';
	if (!bson_iter_init_find(&it, b, key))
		return optional ? BR_BAD_NONE : bad(err, errlen, BR_BAD_MISSING, "no field", key);
	if (!BSON_ITER_HOLDS_UTF8(&it))
		return bad(err, errlen, BR_BAD_TYPE, "not a string:", key);
	s = bson_iter_utf8(&it, &len);
	if (check(s, len, e, sizeof e) != PC_OK) {
		pc_errf(err, errlen, PC_ERR_INVAL, "'%s': %s", key, e);
		return BR_BAD_ID;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return BR_BAD_NONE;
}

static enum br_evt_bad read_id(const bson_t *b, const char *key, bool optional, char *out,
                               char *err, size_t errlen)
{
	return read_checked(b, key, optional, pc_id_check, out, err, errlen);
}

enum br_evt_bad br_event_parse(const void *payload, size_t len, struct br_event *out, char *err,
                               size_t errlen)
{
	bson_t b;
	bson_iter_t it;
	enum br_evt_bad rc;
	const char *s;
	uint32_t slen;
	int t;

	memset(out, 0, sizeof *out);
	if (pc_json_object_to_bson(payload, len, &b, err, errlen) != PC_OK)
		return BR_BAD_JSON;
	if ((rc = read_checked(&b, PC_EVENT_ID, true, pc_event_id_check, out->id, err, errlen)) !=
	        BR_BAD_NONE ||
	    (rc = read_id(&b, "user", false, out->user, err, errlen)) != BR_BAD_NONE ||
	    (rc = read_id(&b, "item", false, out->item, err, errlen)) != BR_BAD_NONE ||
	    (rc = read_id(&b, "category", true, out->category, err, errlen)) != BR_BAD_NONE)
		goto out;
	if (!bson_iter_init_find(&it, &b, "type")) {
		rc = bad(err, errlen, BR_BAD_MISSING, "no field", "type");
		goto out;
	}
	if (!BSON_ITER_HOLDS_UTF8(&it)) {
		rc = bad(err, errlen, BR_BAD_TYPE, "not a string:", "type");
		goto out;
	}
	s = bson_iter_utf8(&it, &slen);
	for (t = 0; t < BR_EVT_NTYPES; t++)
		if (strlen(type_names[t]) == slen && memcmp(s, type_names[t], slen) == 0)
			break;
	if (t == BR_EVT_NTYPES) {
		rc = bad(err, errlen, BR_BAD_KIND,
		         "unknown type, not view/click/cart/purchase/rate:", "type");
		goto out;
	}
	out->type = (enum br_evt_type)t;
	if (bson_iter_init_find(&it, &b, "value")) {
		if (!BSON_ITER_HOLDS_NUMBER(&it) || !isfinite(bson_iter_as_double(&it))) {
			rc = bad(err, errlen, BR_BAD_TYPE, "not a finite number:", "value");
			goto out;
		}
		out->value = bson_iter_as_double(&it);
		out->has_value = true;
	}
	if (out->type == BR_EVT_RATE && !out->has_value) {
		rc = bad(err, errlen, BR_BAD_MISSING, "a rate needs", "value");
		goto out;
	}
	if (out->has_value && (out->value < -1e6 || out->value > 1e9)) {
		rc = bad(err, errlen, BR_BAD_RANGE, "outside -1e6..1e9:", "value");
		goto out;
	}
	if (bson_iter_init_find(&it, &b, "ts")) {
		int trc = pc_ts_from_iter(&it, &out->ts_ms, err, errlen);

		if (trc != PC_OK) {
			rc = trc == PC_ERR_RANGE ? BR_BAD_RANGE : BR_BAD_TYPE;
			goto out;
		}
		out->has_ts = true;
	}
	rc = BR_BAD_NONE;
out:
	bson_destroy(&b);
	return rc;
}

/*
 * json_bson.c - the acceptor of JSON-object payloads and the ts rule
 * (json_bson.h), shared by every component that reads device JSON into BSON:
 * precis_store (data and events), precis-bridge (events) and precisctl.
 *
 * A payload is accepted when it is valid UTF-8 and exactly one RFC 8259
 * object (json_scan.c: no trailing text, no second object, no NaN, depth
 * bounded), blanks around it allowed; only then does libbson parse it.
 * libbson alone would take the first of "{..}{..}", and the bridge and the
 * store used to disagree on that. Pure: no I/O, thread-safe.
 */
#include <math.h>
#include <string.h>

#include "precis/error.h"
#include "precis/json.h"
#include "precis/json_bson.h"

int pc_json_object_to_bson(const void *payload, size_t len, bson_t *out, char *err, size_t errlen)
{
	enum pc_jtype type;
	bson_error_t berr;
	char why[160];
	int rc = pc_json_check(payload, len, &type, why, sizeof why);

	if (rc != PC_OK)
		return pc_errf(err, errlen, rc, "%s", why);
	if (type != PC_J_OBJECT)
		return pc_errf(err, errlen, PC_ERR_INVAL, "not a JSON object");
	/* Valid JSON that BSON cannot hold: a member name with U+0000 in it. */
	if (!bson_init_from_json(out, payload, (ssize_t)len, &berr))
		return pc_errf(err, errlen, PC_ERR_RANGE, "a JSON object BSON cannot hold (%s)",
		               berr.message);
	return PC_OK;
}

int pc_ts_from_iter(const bson_iter_t *it, int64_t *ms, char *err, size_t errlen)
{
	double v;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		*ms = bson_iter_as_int64(it);
		break;
	case BSON_TYPE_DOUBLE:
		/* 1000.0 and 1e3 are integers written another way; 1.5 is not. */
		v = bson_iter_double(it);
		if (!isfinite(v) || v != floor(v))
			return pc_errf(err, errlen, PC_ERR_INVAL, "ts: not an integer (ms)");
		if (v < 0 || v > (double)PC_TS_MAX)
			return pc_errf(err, errlen, PC_ERR_RANGE, "ts: outside 1970..9999");
		*ms = (int64_t)v;
		break;
	default:
		return pc_errf(err, errlen, PC_ERR_INVAL, "ts: not an integer (ms)");
	}
	if (*ms < 0 || *ms > PC_TS_MAX)
		return pc_errf(err, errlen, PC_ERR_RANGE, "ts: outside 1970..9999");
	return PC_OK;
}

/*
 * payload.h - a device payload as the document a MongoDB-wire server accepts.
 *
 * JSON is parsed straight into BSON by libbson, then copied through the
 * data rules below, which turn everything MongoDB or FerretDB would refuse
 * (or, worse, drop the connection over: FerretDB does that for NaN,
 * Decimal128, MinKey and a few more) into values they accept. A payload
 * that is not a JSON object is the caller's (stored as binary, or
 * rejected, per plugin_opt_non_json). The rules (docs/store.md):
 *
 *   NaN, Infinity (a double that is not finite)      -> null
 *   "." in a key / a key starting with "$"            -> U+FF0E "．" / U+FF04 "＄"
 *   the same key twice in one object                  -> the last one is kept
 *   an array directly inside an array (wrap mode)     -> {"a": [...]}
 *   Decimal128, symbol, JavaScript code               -> their text, a string
 *   undefined, DBPointer, MinKey, MaxKey              -> null
 *
 * Each rewrite counts one fix. Other values (strings, numbers, booleans,
 * null, objects, arrays, and libbson's extended-JSON dates, ObjectIds,
 * binary, regular expressions, timestamps) are copied as they are. Pure
 * (libbson, no I/O); runs on the store's worker thread.
 */
#ifndef PRECIS_STORE_PAYLOAD_H
#define PRECIS_STORE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

#include "precis/json_bson.h"

/* Largest sample time accepted from "ts" (the one ts rule: json_bson.h). */
#define STORE_TS_MAX PC_TS_MAX

struct store__payload {
	bson_t doc;     /* the payload after the data rules; bson_destroy it */
	int64_t t_ms;   /* "ts" when valid, else the receive time */
	unsigned fixes; /* rewrites made by the data rules */
	bool ts_bad;    /* "ts" was present but not a time (the receive time was used) */
};

/*
 * store__payload_decode - parse payload[0..len) (a JSON object, optional
 * whitespace around it, valid UTF-8: pc_json_object_to_bson) into out.
 * wrap_nested controls the nested-array rule. recv_ms is the time used
 * when "ts" is absent or breaks the ts rule (pc_ts_from_iter: an integer
 * in 0..STORE_TS_MAX; 1.5 is not). Returns PC_OK (destroy out->doc),
 * PC_ERR_INVAL when the payload is not one JSON object, or PC_ERR_RANGE
 * when it is one BSON cannot hold (a member name with U+0000); out->doc
 * is then not initialised, and (err, errlen) has a short reason.
 */
int store__payload_decode(const uint8_t *payload, size_t len, int64_t recv_ms, bool wrap_nested,
                          struct store__payload *out, char *err, size_t errlen);

#endif

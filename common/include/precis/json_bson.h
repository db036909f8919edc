/*
 * json_bson.h - the acceptor of JSON-object payloads and the ts rule
 * (json_bson.c, in precis_mongo: it needs libbson). Every component that
 * reads device JSON into BSON goes through it: precis_store, precis-bridge,
 * precisctl.
 */
#ifndef PRECIS_JSON_BSON_H
#define PRECIS_JSON_BSON_H

#include <bson/bson.h>
#include <stdint.h>

/* The latest sample or event time accepted: 9999-12-31T23:59:59.999Z in ms. */
#define PC_TS_MAX INT64_C(253402300799999)

/*
 * pc_json_object_to_bson - the one acceptor of JSON-object payloads:
 * payload[0..len) must be valid UTF-8 and exactly one RFC 8259 object
 * (pc_json_check), blanks around it allowed; then libbson parses it into
 * *out (initialised only on PC_OK; the caller destroys it). Returns PC_OK,
 * PC_ERR_INVAL (not one JSON object) or PC_ERR_RANGE (a JSON object that
 * BSON cannot hold: a member name containing U+0000), with detail.
 * Thread-safe.
 */
int pc_json_object_to_bson(const void *payload, size_t len, bson_t *out, char *err, size_t errlen);

/*
 * pc_ts_from_iter - the one ts rule: the value at it as milliseconds since
 * the epoch. An integer (int32, int64, or a double with no fraction, such
 * as 1e3) in 0..PC_TS_MAX. Returns PC_OK with *ms, PC_ERR_INVAL (not an
 * integer: 1.5, a string, a date, null...) or PC_ERR_RANGE, with detail.
 */
int pc_ts_from_iter(const bson_iter_t *it, int64_t *ms, char *err, size_t errlen);

#endif

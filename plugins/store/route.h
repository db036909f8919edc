/*
 * route.h - which topics the store persists, and to which collection.
 *
 * The mapping is one option (plugin_opt_collections), a list of
 * "filter=collection" entries separated by spaces or commas, e.g. the
 * default "dev/+/data=telemetry dev/+/evt=events". Each filter is an MQTT
 * subscription filter with exactly one '+' level, which names the device
 * (its id), and may end in '#'. A topic goes to the first entry whose
 * filter matches it. Pure: no allocation when matching, no I/O.
 */
#ifndef PRECIS_STORE_ROUTE_H
#define PRECIS_STORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define STORE_ROUTES_MAX    16
#define STORE_COLL_NAME_MAX 64
#define STORE_FILTER_MAX    256

struct store__route {
	char filter[STORE_FILTER_MAX + 1];
	size_t coll; /* index into store__routes.colls */
};

struct store__routes {
	struct store__route route[STORE_ROUTES_MAX];
	size_t n;
	char colls[STORE_ROUTES_MAX][STORE_COLL_NAME_MAX + 1]; /* distinct collections */
	size_t ncolls;
};

/*
 * store__routes_parse - parse spec into rs (which needs no cleanup).
 * Returns PC_OK, or PC_ERR_INVAL with a message naming the bad entry: an
 * entry without '=', a filter that is not a valid subscription filter,
 * starts with '$' or has no or several '+' levels, a collection name that
 * is not 1-64 characters of [A-Za-z0-9_.-] starting with a letter, digit
 * or '_' (and not "system."), the same filter twice, more than
 * STORE_ROUTES_MAX entries, or none.
 */
int store__routes_parse(struct store__routes *rs, const char *spec, char *err, size_t errlen);

/*
 * store__route_match - the index of the first route whose filter matches
 * topic, or -1. On a match *id / *id_len span the topic level under the
 * filter's '+' (not NUL-terminated; may be empty, and is not validated:
 * the caller checks it with pc_id_check). Topics starting with '$' never
 * match.
 */
int store__route_match(const struct store__routes *rs, const char *topic, const char **id,
                       size_t *id_len);

#endif

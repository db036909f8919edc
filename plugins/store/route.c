/*
 * route.c - the topic filter -> collection mapping of the store.
 *
 * Parsing runs once, at plugin init; matching runs on the broker thread
 * for every PUBLISH, through the shared topic matcher (common/acl.c,
 * pc_topic_match_plus: the same MQTT rules the ACLs use), which walks
 * topic and filter level by level in one pass, without allocating. See
 * route.h.
 */
#include <stdio.h>
#include <string.h>

#include "precis/acl.h"
#include "precis/error.h"
#include "route.h"

static bool coll_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > STORE_COLL_NAME_MAX)
		return false;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      (s[0] >= '0' && s[0] <= '9') || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return !(n >= 7 && strncmp(s, "system.", 7) == 0);
}

/*
 * filter_problem - NULL for a filter the store can map, else why not: a
 * valid MQTT filter (pc_filter_check, the broker's own rules), not a $
 * topic, no control characters, exactly one '+' level (the device id).
 */
static const char *filter_problem(const char *f, size_t n)
{
	char buf[STORE_FILTER_MAX + 1];
	size_t plus = 0;

	if (n == 0)
		return "an empty filter";
	if (n > STORE_FILTER_MAX)
		return "a filter longer than 256 characters";
	if (f[0] == '$')
		return "a filter starting with '$'";
	memcpy(buf, f, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			return "a control character";
	}
	if (!pc_filter_check(buf))
		return "not an MQTT topic filter: a wildcard that is not a whole level, or '#' "
		       "that "
		       "is not the last level";
	for (size_t i = 0; i < n; i++) {
		if (f[i] == '+')
			plus++;
	}
	if (plus != 1)
		return "a filter without exactly one '+' level (the device id)";
	return NULL;
}

/* An entry quoted in a message: at most 80 characters of it. */
#define SHOW(n) ((int)((n) > 80 ? 80 : (n)))
#define MORE(n) ((n) > 80 ? "..." : "")

static int add_entry(struct store__routes *rs, const char *e, size_t n, char *err, size_t errlen)
{
	const char *eq = memchr(e, '=', n), *why;
	size_t fn, cn;
	struct store__route *r;

	if (!eq)
		return pc_errf(err, errlen, PC_ERR_INVAL, "'%.*s%s' is not filter=collection",
		               SHOW(n), e, MORE(n));
	fn = (size_t)(eq - e);
	cn = n - fn - 1;
	why = filter_problem(e, fn);
	if (why)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s in '%.*s%s'", why, SHOW(n), e,
		               MORE(n));
	if (!coll_name_ok(eq + 1, cn))
		return pc_errf(
		    err, errlen, PC_ERR_INVAL,
		    "collection names are 1-64 characters of [A-Za-z0-9_.-], not starting "
		    "with '.', '-' or \"system.\" ('%.*s%s')",
		    SHOW(n), e, MORE(n));
	if (rs->n == STORE_ROUTES_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "more than %d entries", STORE_ROUTES_MAX);
	for (size_t i = 0; i < rs->n; i++) {
		if (strlen(rs->route[i].filter) == fn && memcmp(rs->route[i].filter, e, fn) == 0)
			return pc_errf(err, errlen, PC_ERR_INVAL, "filter '%.*s' given twice",
			               (int)fn, e);
	}
	r = &rs->route[rs->n++];
	memcpy(r->filter, e, fn);
	r->filter[fn] = '\0';
	for (r->coll = 0; r->coll < rs->ncolls; r->coll++) {
		if (strlen(rs->colls[r->coll]) == cn && memcmp(rs->colls[r->coll], eq + 1, cn) == 0)
			return PC_OK;
	}
	memcpy(rs->colls[rs->ncolls], eq + 1, cn);
	rs->colls[rs->ncolls][cn] = '\0';
	rs->ncolls++;
	return PC_OK;
}

/* store__routes_parse - contract in route.h. */
int store__routes_parse(struct store__routes *rs, const char *spec, char *err, size_t errlen)
{
	const char *p = spec ? spec : "";

	memset(rs, 0, sizeof *rs);
	while (*p) {
		size_t n;
		int rc;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		rc = add_entry(rs, p, n, err, errlen);
		if (rc != PC_OK)
			return rc;
		p += n;
	}
	if (rs->n == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no filter=collection entry");
	return PC_OK;
}

/* store__route_match - contract in route.h. */
int store__route_match(const struct store__routes *rs, const char *topic, const char **id,
                       size_t *id_len)
{
	if (!topic || topic[0] == '$')
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		if (pc_topic_match_plus(rs->route[i].filter, topic, id, id_len))
			return (int)i;
	}
	return -1;
}

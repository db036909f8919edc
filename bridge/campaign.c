/*
 * campaign.c - campaign payloads and delivery decisions (see campaign.h).
 * libbson parses the JSON; content documents are kept as relaxed
 * extended JSON text, ready to be embedded in push payloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#include "campaign.h"
#include "precis/error.h"
#include "precis/hmap.h"

struct member {
	uint64_t rev_done;     /* revision decided for good (0: none) */
	uint64_t deferred_rev; /* revision counted as deferred by quiet hours */
	int64_t day;           /* local day of count */
	uint32_t count;        /* deliveries that day */
};

static const char *const dlv_names[] = {"send",  "holdout",  "optout", "cap",
                                        "quiet", "inactive", "done"};

const char *br_dlv_name(enum br_dlv d)
{
	return (unsigned)d <= BR_DLV_DONE ? dlv_names[d] : "?";
}

/* The members each object of a campaign may have; none may be given twice. */
static const char *const campaign_fields[] = {
    "id",  "segment",  "tags",          "items",       "content", "start",
    "end", "variants", "frequency_cap", "quiet_hours", NULL};
static const char *const variant_fields[] = {"id", "weight", "holdout", "control", "content", NULL};
static const char *const quiet_fields[] = {"from", "to", "utc_offset_min", NULL};

/*
 * once - refuse k when it is one of names (NULL-terminated, at most 32) already
 * marked in *seen, and mark it. JSON allows a name twice and libbson keeps both:
 * the second "content" would leak the first, a second "variants" add to the first.
 */
static int once(const char *k, const char *const *names, unsigned *seen, const char *where,
                char *err, size_t errlen)
{
	for (unsigned i = 0; names[i]; i++) {
		if (strcmp(k, names[i]) != 0)
			continue;
		if (*seen & 1u << i)
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s'%s' given twice", where, k);
		*seen |= 1u << i;
	}
	return PC_OK;
}

static int id_field(bson_iter_t *it, const char *what, char *out, char *err, size_t errlen)
{
	const char *s;
	uint32_t len;
	char e[128];

	if (!BSON_ITER_HOLDS_UTF8(it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: not a string", what);
	s = bson_iter_utf8(it, &len);
	if (pc_id_check(s, len, e, sizeof e) != PC_OK)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: %s", what, e);
	memcpy(out, s, len);
	out[len] = '\0';
	return PC_OK;
}

static int doc_json(bson_iter_t *it, const char *what, char **out, char *err, size_t errlen)
{
	const uint8_t *data;
	uint32_t len;
	bson_t sub;

	if (!BSON_ITER_HOLDS_DOCUMENT(it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: not an object", what);
	bson_iter_document(it, &len, &data);
	if (!bson_init_static(&sub, data, len))
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: malformed", what);
	*out = bson_as_relaxed_extended_json(&sub, NULL);
	return *out ? PC_OK : PC_ERR_NOMEM;
}

static int time_field(bson_iter_t *it, const char *what, int64_t *out, char *err, size_t errlen)
{
	if (!BSON_ITER_HOLDS_INT32(it) && !BSON_ITER_HOLDS_INT64(it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: not an integer (ms)", what);
	*out = bson_iter_as_int64(it);
	if (*out < 0)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: negative", what);
	return PC_OK;
}

/* "HH:MM" -> minutes of the day. */
static int hhmm(bson_iter_t *it, const char *what, int *out, char *err, size_t errlen)
{
	const char *s;
	uint32_t len;

	if (!BSON_ITER_HOLDS_UTF8(it))
		return pc_errf(err, errlen, PC_ERR_INVAL, "quiet_hours.%s: not a string", what);
	s = bson_iter_utf8(it, &len);
	if (len != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9' ||
	    (s[0] - '0') * 10 + s[1] - '0' > 23)
		return pc_errf(err, errlen, PC_ERR_INVAL, "quiet_hours.%s: expected HH:MM", what);
	*out = ((s[0] - '0') * 10 + s[1] - '0') * 60 + (s[3] - '0') * 10 + s[4] - '0';
	return PC_OK;
}

static int parse_quiet(bson_iter_t *it, struct br_campaign *c, char *err, size_t errlen)
{
	bson_iter_t q;
	bool from = false, to = false;
	unsigned seen = 0;
	int rc;

	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &q))
		return pc_errf(err, errlen, PC_ERR_INVAL, "quiet_hours: not an object");
	while (bson_iter_next(&q)) {
		const char *k = bson_iter_key(&q);
		if ((rc = once(k, quiet_fields, &seen, "quiet_hours: ", err, errlen)))
			return rc;
		if (strcmp(k, "from") == 0) {
			if ((rc = hhmm(&q, "from", &c->quiet_from, err, errlen)))
				return rc;
			from = true;
		} else if (strcmp(k, "to") == 0) {
			if ((rc = hhmm(&q, "to", &c->quiet_to, err, errlen)))
				return rc;
			to = true;
		} else if (strcmp(k, "utc_offset_min") == 0) {
			if (!BSON_ITER_HOLDS_INT32(&q) || bson_iter_int32(&q) < -1440 ||
			    bson_iter_int32(&q) > 1440)
				return pc_errf(
				    err, errlen, PC_ERR_INVAL,
				    "quiet_hours.utc_offset_min: an integer in -1440..1440");
			c->utc_offset_min = bson_iter_int32(&q);
		} else {
			return pc_errf(err, errlen, PC_ERR_INVAL, "quiet_hours: unknown field '%s'",
			               k);
		}
	}
	if (!from || !to)
		return pc_errf(err, errlen, PC_ERR_INVAL, "quiet_hours: needs from and to");
	c->has_quiet = c->quiet_from != c->quiet_to;
	return PC_OK;
}

static int parse_variants(bson_iter_t *it, struct br_campaign *c, char *err, size_t errlen)
{
	bson_iter_t a, v;
	double total = 0;
	int rc;

	if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &a))
		return pc_errf(err, errlen, PC_ERR_INVAL, "variants: not an array");
	while (bson_iter_next(&a)) {
		struct br_variant *var = &c->variants[c->nvariants];
		bool has_id = false;
		size_t n = c->nvariants;
		unsigned seen = 0;
		char where[32];

		if (n == BR_MAX_VARIANTS)
			return pc_errf(err, errlen, PC_ERR_INVAL, "variants: more than %d",
			               BR_MAX_VARIANTS);
		if (!BSON_ITER_HOLDS_DOCUMENT(&a) || !bson_iter_recurse(&a, &v))
			return pc_errf(err, errlen, PC_ERR_INVAL, "variants[%zu]: not an object",
			               n);
		memset(var, 0, sizeof *var);
		var->algo = 0;
		c->nvariants++;
		snprintf(where, sizeof where, "variants[%zu]: ", n);
		while (bson_iter_next(&v)) {
			const char *k = bson_iter_key(&v);
			if ((rc = once(k, variant_fields, &seen, where, err, errlen)))
				return rc;
			if (strcmp(k, "id") == 0 && BSON_ITER_HOLDS_UTF8(&v)) {
				uint32_t len;
				const char *s = bson_iter_utf8(&v, &len);
				if (len < 1 || len > BR_VARIANT_ID_MAX ||
				    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				              "abcdefghijklmnopqrstuvwxyz"
				              "0123456789_-") != len)
					return pc_errf(err, errlen, PC_ERR_INVAL,
					               "variants[%zu].id: 1-16 of [A-Za-z0-9_-]",
					               n);
				memcpy(var->id, s, len);
				has_id = true;
			} else if (strcmp(k, "weight") == 0 && BSON_ITER_HOLDS_NUMBER(&v)) {
				var->percent = bson_iter_as_double(&v);
				if (!(var->percent > 0) || var->percent > 1e6)
					return pc_errf(err, errlen, PC_ERR_INVAL,
					               "variants[%zu].weight: a number > 0", n);
			} else if (strcmp(k, "holdout") == 0 && BSON_ITER_HOLDS_BOOL(&v)) {
				var->algo = bson_iter_bool(&v) ? BR_ALGO_NONE : 0;
			} else if (strcmp(k, "control") == 0 && BSON_ITER_HOLDS_BOOL(&v)) {
				var->control = bson_iter_bool(&v);
			} else if (strcmp(k, "content") == 0) {
				if ((rc = doc_json(&v, "variants[].content", &c->variant_content[n],
				                   err, errlen)))
					return rc;
			} else {
				return pc_errf(err, errlen, PC_ERR_INVAL,
				               "variants[%zu]: unknown field or wrong type: '%s'",
				               n, k);
			}
		}
		if (!has_id || !(var->percent > 0))
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "variants[%zu]: needs id and weight", n);
		total += var->percent;
	}
	if (c->nvariants) { /* weights are relative: make them percentages */
		size_t k, ctl = SIZE_MAX, hold = SIZE_MAX;
		for (k = 0; k < c->nvariants; k++) {
			c->variants[k].percent *= 100 / total;
			if (c->variants[k].control)
				ctl = ctl == SIZE_MAX ? k : ctl;
			if (c->variants[k].algo == BR_ALGO_NONE && hold == SIZE_MAX)
				hold = k;
		}
		for (k = 0; k < c->nvariants; k++)
			c->variants[k].control = false;
		ctl = ctl != SIZE_MAX ? ctl : hold != SIZE_MAX ? hold : c->nvariants - 1;
		c->variants[ctl].control = true;
	}
	return PC_OK;
}

static int parse_ids(bson_iter_t *it, const char *what, char (*tags)[PC_ID_MAX + 1], char **strs,
                     size_t max, size_t *n, char *err, size_t errlen)
{
	bson_iter_t a;
	char one[PC_ID_MAX + 1];
	int rc;

	if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &a))
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s: not an array", what);
	while (bson_iter_next(&a)) {
		if (*n == max)
			return pc_errf(err, errlen, PC_ERR_INVAL, "%s: more than %zu", what, max);
		if ((rc = id_field(&a, what, tags ? tags[*n] : one, err, errlen)))
			return rc;
		if (strs && !(strs[*n] = strdup(one)))
			return PC_ERR_NOMEM;
		(*n)++;
	}
	return PC_OK;
}

int br_campaign_parse(const void *json, size_t len, struct br_campaign *c, char *err, size_t errlen)
{
	bson_t b;
	bson_error_t berr;
	bson_iter_t it;
	bool has_id = false;
	int64_t cap = 1;
	unsigned seen = 0;
	int rc = PC_OK;

	memset(c, 0, sizeof *c);
	if (len == 0 || ((const char *)json)[0] != '{' ||
	    !bson_init_from_json(&b, json, (ssize_t)len, &berr))
		return pc_errf(err, errlen, PC_ERR_INVAL, "not a JSON object");
	bson_iter_init(&it, &b);
	while (rc == PC_OK && bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if ((rc = once(k, campaign_fields, &seen, "", err, errlen)))
			break;
		if (strcmp(k, "id") == 0) {
			rc = id_field(&it, "id", c->id, err, errlen);
			has_id = true;
		} else if (strcmp(k, "segment") == 0) {
			rc = id_field(&it, "segment", c->segment, err, errlen);
		} else if (strcmp(k, "tags") == 0) {
			rc = parse_ids(&it, "tags", c->tags, NULL, BR_CAMPAIGN_TAGS, &c->ntags, err,
			               errlen);
		} else if (strcmp(k, "items") == 0) {
			rc = parse_ids(&it, "items", NULL, c->items, BR_CAMPAIGN_ITEMS, &c->nitems,
			               err, errlen);
		} else if (strcmp(k, "content") == 0) {
			rc = doc_json(&it, "content", &c->content, err, errlen);
		} else if (strcmp(k, "start") == 0) {
			rc = time_field(&it, "start", &c->start_ms, err, errlen);
		} else if (strcmp(k, "end") == 0) {
			rc = time_field(&it, "end", &c->end_ms, err, errlen);
		} else if (strcmp(k, "variants") == 0) {
			rc = parse_variants(&it, c, err, errlen);
		} else if (strcmp(k, "frequency_cap") == 0) {
			if (!BSON_ITER_HOLDS_INT32(&it) && !BSON_ITER_HOLDS_INT64(&it))
				rc = pc_errf(err, errlen, PC_ERR_INVAL,
				             "frequency_cap: not an integer");
			else if ((cap = bson_iter_as_int64(&it)) < 1 || cap > 1000)
				rc = pc_errf(err, errlen, PC_ERR_INVAL, "frequency_cap: 1..1000");
		} else if (strcmp(k, "quiet_hours") == 0) {
			rc = parse_quiet(&it, c, err, errlen);
		} else {
			rc = pc_errf(err, errlen, PC_ERR_INVAL, "unknown field '%s'", k);
		}
	}
	bson_destroy(&b);
	if (rc != PC_OK)
		return rc;
	if (!has_id)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no 'id'");
	if (!c->segment[0] && !c->ntags)
		return pc_errf(err, errlen, PC_ERR_INVAL, "needs a 'segment' or 'tags'");
	if (c->segment[0] && c->ntags)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "'segment' and 'tags' exclude each other");
	if (!c->content)
		return pc_errf(err, errlen, PC_ERR_INVAL, "no 'content'");
	if (c->end_ms && c->end_ms <= c->start_ms)
		return pc_errf(err, errlen, PC_ERR_INVAL, "'end' is not after 'start'");
	c->cap = (uint32_t)cap;
	c->rev = 1;
	c->members = pc_hmap_new(0);
	return c->members ? PC_OK : PC_ERR_NOMEM;
}

static void free_definition(struct br_campaign *c)
{
	size_t k;

	bson_free(c->content);
	c->content = NULL;
	for (k = 0; k < c->nitems; k++)
		free(c->items[k]);
	for (k = 0; k < BR_MAX_VARIANTS; k++) {
		bson_free(c->variant_content[k]);
		c->variant_content[k] = NULL;
	}
}

void br_campaign_cleanup(struct br_campaign *c)
{
	size_t cur = 0;
	void *v;

	free_definition(c);
	while (c->members && pc_hmap_next(c->members, &cur, NULL, NULL, &v))
		free(v);
	pc_hmap_free(c->members);
	memset(c, 0, sizeof *c);
}

int br_campaign_replace(struct br_campaign *cur, struct br_campaign *next)
{
	struct pc_hmap *members = cur->members;
	uint64_t rev = cur->rev, sent = cur->sent, holdout = cur->holdout;
	uint64_t so = cur->skip_optout, sc = cur->skip_cap, dq = cur->deferred_quiet;

	free_definition(cur);
	pc_hmap_free(next->members);
	*cur = *next;
	cur->members = members;
	cur->rev = rev + 1;
	cur->sent = sent;
	cur->holdout = holdout;
	cur->skip_optout = so;
	cur->skip_cap = sc;
	cur->deferred_quiet = dq;
	memset(next, 0, sizeof *next);
	return PC_OK;
}

bool br_campaign_active(const struct br_campaign *c, int64_t now_ms)
{
	return now_ms >= c->start_ms && (!c->end_ms || now_ms < c->end_ms);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool br_campaign_quiet(const struct br_campaign *c, int64_t now_ms)
{
	int64_t local = now_ms + (int64_t)c->utc_offset_min * 60000;
	int minute = (int)(floor_div(local, 60000) - floor_div(local, 86400000) * 1440);

	if (!c->has_quiet)
		return false;
	if (c->quiet_from < c->quiet_to)
		return minute >= c->quiet_from && minute < c->quiet_to;
	return minute >= c->quiet_from || minute < c->quiet_to; /* across midnight */
}

enum br_dlv br_campaign_decide(struct br_campaign *c, const char *user, bool optout, int64_t now_ms,
                               size_t *variant)
{
	struct member *m = pc_hmap_get(c->members, user, strlen(user));
	int64_t day = floor_div(now_ms + (int64_t)c->utc_offset_min * 60000, 86400000);

	*variant = c->nvariants ? br_assign(c->id, user, c->variants, c->nvariants) : 0;
	if (m && m->rev_done == c->rev)
		return BR_DLV_DONE;
	if (!br_campaign_active(c, now_ms))
		return BR_DLV_INACTIVE;
	if (!m) {
		m = calloc(1, sizeof *m);
		if (!m || pc_hmap_put(c->members, user, strlen(user), m, NULL) != PC_OK) {
			free(m);
			return BR_DLV_QUIET;
		}
	}
	if (optout) {
		m->rev_done = c->rev;
		c->skip_optout++;
		return BR_DLV_OPTOUT;
	}
	if (br_campaign_quiet(c, now_ms)) {
		if (m->deferred_rev != c->rev) {
			m->deferred_rev = c->rev;
			c->deferred_quiet++;
		}
		return BR_DLV_QUIET;
	}
	if (m->day != day) {
		m->day = day;
		m->count = 0;
	}
	m->rev_done = c->rev;
	if (c->nvariants && c->variants[*variant].algo == BR_ALGO_NONE) {
		c->holdout++;
		return BR_DLV_HOLDOUT;
	}
	if (m->count >= c->cap) {
		c->skip_cap++;
		return BR_DLV_CAP;
	}
	m->count++;
	c->sent++;
	return BR_DLV_SEND;
}

const char *br_campaign_content(const struct br_campaign *c, size_t v)
{
	return v < c->nvariants && c->variant_content[v] ? c->variant_content[v] : c->content;
}

/*
 * acl.c - role templates and pure ACL decisions (see acl.h).
 *
 * Used by the auth plugin's MOSQ_EVT_ACL_CHECK callback on the broker
 * thread, for every publish, every delivery and every subscription, so the
 * decision path is tuned: each rule is split into levels once, at parse
 * time (literal, '+', '#', %u, %c, or text mixed with %-tokens); a check
 * splits the topic once into at most ACL_MAX_LEVELS levels and compares
 * level arrays, taking %u and %c straight from the client without building
 * strings. Only a level that mixes text and tokens ("kiosk-%c") is
 * expanded, into a stack buffer. Topics with more levels than that fall
 * back to expanding whole patterns and matching strings
 * (pc_topic_matches / pc_filter_covers), which define the semantics and
 * are what the unit tests check the fast path against.
 */
#include <stdlib.h>
#include <string.h>

#include "precis/acl.h"
#include "precis/error.h"
#include "precis/topic.h"

#define ACL_MAX_LEVELS 32

enum level_kind { LV_LIT, LV_PLUS, LV_HASH, LV_USER, LV_CLIENT, LV_MIXED };

/* ---- string matching (the reference semantics) ---- */

struct level {
	const char *s;
	size_t len;
};

/* Read the level at *p; *p becomes the next level, or NULL after the last. */
static struct level take(const char **p)
{
	struct level l = {*p, 0};
	const char *slash = strchr(*p, '/');

	if (slash) {
		l.len = (size_t)(slash - *p);
		*p = slash + 1;
	} else {
		l.len = strlen(*p);
		*p = NULL;
	}
	return l;
}

static bool is(struct level l, const char *word)
{
	return l.len == strlen(word) && memcmp(l.s, word, l.len) == 0;
}

static bool same(struct level a, struct level b)
{
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static bool is_char(struct level l, char c)
{
	return l.len == 1 && l.s[0] == c;
}

static bool wild_first(const char *filter)
{
	return (filter[0] == '+' || filter[0] == '#') && (filter[1] == '\0' || filter[1] == '/');
}

bool pc_topic_match_plus(const char *filter, const char *topic, const char **plus, size_t *plus_len)
{
	const char *f = filter, *t = topic;
	bool first_plus = true;

	if (topic[0] == '$' && wild_first(filter))
		return false;
	for (;;) {
		struct level fl, tl;

		if (!f)
			return t == NULL;
		fl = take(&f);
		if (is(fl, "#"))
			return true;
		if (!t)
			return false;
		tl = take(&t);
		if (is(fl, "+")) {
			if (first_plus && plus) {
				*plus = tl.s;
				*plus_len = tl.len;
			}
			first_plus = false;
		} else if (!same(fl, tl)) {
			return false;
		}
	}
}

bool pc_topic_matches(const char *filter, const char *topic)
{
	return pc_topic_match_plus(filter, topic, NULL, NULL);
}

bool pc_filter_covers(const char *pattern, const char *filter)
{
	const char *p = pattern, *f = filter;

	if (filter[0] == '$' && wild_first(pattern))
		return false;
	for (;;) {
		struct level pl, fl;

		if (!p)
			return f == NULL;
		pl = take(&p);
		if (is(pl, "#"))
			return true;
		if (!f)
			return false;
		fl = take(&f);
		if (is(fl, "#"))
			return false;
		if (is(pl, "+"))
			continue;
		if (is(fl, "+") || !same(pl, fl))
			return false;
	}
}

bool pc_filter_check(const char *filter)
{
	size_t n = strlen(filter);
	const char *p = filter;

	if (n == 0 || n > PC_TOPIC_MAX)
		return false;
	while (p) {
		struct level l = take(&p);

		if (memchr(l.s, '+', l.len) && !is(l, "+"))
			return false;
		if (memchr(l.s, '#', l.len) && (!is(l, "#") || p))
			return false;
	}
	return true;
}

/* ---- %-tokens ---- */

/*
 * A value that may replace %u or %c: non-empty, no separators or
 * wildcards. Returns its length, or 0 when it may not.
 */
static size_t substitutable(const char *v)
{
	size_t n = 0;

	if (!v)
		return 0;
	for (; v[n]; n++) {
		if (v[n] == '/' || v[n] == '+' || v[n] == '#')
			return 0;
	}
	return n;
}

/*
 * Expand %u, %c and %% of s[0..len) into buf (NUL-terminated); returns the
 * length, or -1 when a value is missing or unusable or it does not fit.
 */
static long expand(const char *s, size_t len, const char *username, const char *client_id,
                   char *buf, size_t buflen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		const char *v;
		size_t n;

		if (s[i] != '%') {
			if (o + 1 >= buflen)
				return -1;
			buf[o++] = s[i];
			continue;
		}
		i++; /* parse allowed only %u, %c and %% */
		if (s[i] == '%') {
			v = "%";
		} else {
			v = s[i] == 'u' ? username : client_id;
			if (!substitutable(v))
				return -1;
		}
		n = strlen(v);
		if (o + n >= buflen)
			return -1;
		memcpy(buf + o, v, n);
		o += n;
	}
	buf[o] = '\0';
	return (long)o;
}

/* ---- parsing ---- */

/* Split the rule's pattern into levels. */
static int compile(struct pc_acl_rule *rule)
{
	const char *p = rule->pattern;
	size_t n = 1;

	for (const char *c = p; *c; c++)
		n += *c == '/';
	rule->levels = calloc(n, sizeof *rule->levels);
	if (!rule->levels)
		return PC_ERR_NOMEM;
	rule->nlevels = n;
	for (size_t i = 0; i < n; i++) {
		const char *start = p;
		struct level l = take(&p);
		struct pc_acl_level *lv = &rule->levels[i];

		lv->off = (uint16_t)(start - rule->pattern);
		lv->len = (uint16_t)l.len;
		if (is(l, "+"))
			lv->kind = LV_PLUS;
		else if (is(l, "#"))
			lv->kind = LV_HASH;
		else if (is(l, "%u"))
			lv->kind = LV_USER;
		else if (is(l, "%c"))
			lv->kind = LV_CLIENT;
		else if (memchr(l.s, '%', l.len))
			lv->kind = LV_MIXED;
		else
			lv->kind = LV_LIT;
	}
	return PC_OK;
}

static int add_rule(struct pc_acl_role *r, unsigned access, const char *root, const char *pat,
                    size_t len)
{
	struct pc_acl_rule *rules = realloc(r->rules, (r->n + 1) * sizeof *rules);
	size_t rl = root && root[0] && pat[0] != '$' ? strlen(root) + 1 : 0;
	struct pc_acl_rule *rule;

	if (!rules)
		return PC_ERR_NOMEM;
	r->rules = rules;
	rule = &r->rules[r->n];
	memset(rule, 0, sizeof *rule);
	rule->pattern = malloc(rl + len + 1);
	if (!rule->pattern)
		return PC_ERR_NOMEM;
	if (rl) {
		memcpy(rule->pattern, root, rl - 1);
		rule->pattern[rl - 1] = '/';
	}
	memcpy(rule->pattern + rl, pat, len);
	rule->pattern[rl + len] = '\0';
	rule->access = access;
	r->n++;
	return compile(rule);
}

/* Check the %-tokens of a pattern: only %u, %c and %%. */
static bool tokens_ok(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '%')
			continue;
		if (i + 1 >= len || (p[i + 1] != 'u' && p[i + 1] != 'c' && p[i + 1] != '%'))
			return false;
		i++;
	}
	return true;
}

int pc_acl_parse(const char *spec, const char *root, struct pc_acl_role *out, char *err,
                 size_t errlen)
{
	const char *p = spec ? spec : "";
	int rc;

	memset(out, 0, sizeof *out);
	if (root && root[0] && pc_root_check(root, err, errlen) != PC_OK)
		return PC_ERR_INVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "superuser", 9) == 0 && strspn(p + 9, " \t") == strlen(p + 9)) {
		out->superuser = true;
		return PC_OK;
	}
	while (*p) {
		size_t len = strcspn(p, " \t"), alen;
		const char *colon = memchr(p, ':', len);
		unsigned access;
		char pat[PC_TOPIC_MAX + 1];

		if (!colon)
			return pc_errf(
			    err, errlen, PC_ERR_INVAL,
			    "rule '%.*s' is not access:filter (read, write or readwrite)", (int)len,
			    p);
		alen = (size_t)(colon - p);
		if (alen == 4 && strncmp(p, "read", 4) == 0)
			access = PC_ACL_READ;
		else if (alen == 5 && strncmp(p, "write", 5) == 0)
			access = PC_ACL_WRITE;
		else if (alen == 9 && strncmp(p, "readwrite", 9) == 0)
			access = PC_ACL_READ | PC_ACL_WRITE;
		else
			return pc_errf(
			    err, errlen, PC_ERR_INVAL,
			    "rule '%.*s': unknown access '%.*s' (read, write, readwrite)", (int)len,
			    p, (int)alen, p);
		if (len - alen - 1 > PC_TOPIC_MAX)
			return pc_errf(err, errlen, PC_ERR_INVAL,
			               "rule '%.40s...': filter too long", p);
		memcpy(pat, colon + 1, len - alen - 1);
		pat[len - alen - 1] = '\0';
		if (!pc_filter_check(pat) || !tokens_ok(pat, strlen(pat)))
			return pc_errf(
			    err, errlen, PC_ERR_INVAL,
			    "rule '%.*s': invalid topic filter (wildcards are whole levels; "
			    "%%u, %%c and %%%% are the only %%-tokens)",
			    (int)len, p);
		rc = add_rule(out, access, root, pat, strlen(pat));
		if (rc != PC_OK)
			return pc_errf(err, errlen, rc, "out of memory");
		p += len;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (out->n == 0)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "empty ACL template (give rules, or 'superuser')");
	return PC_OK;
}

void pc_acl_role_cleanup(struct pc_acl_role *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rules[i].pattern);
		free(r->rules[i].levels);
	}
	free(r->rules);
	r->rules = NULL;
	r->n = 0;
}

/* ---- decisions ---- */

/* A topic or filter split into levels; n > ACL_MAX_LEVELS means "too many". */
struct split {
	size_t n;
	struct level l[ACL_MAX_LEVELS];
};

static void split(const char *s, struct split *out)
{
	const char *p = s;

	out->n = 0;
	while (p) {
		if (out->n == ACL_MAX_LEVELS) {
			out->n++;
			return;
		}
		out->l[out->n++] = take(&p);
	}
}

/* The client's username or client id, checked once per decision, when first needed. */
struct value {
	const char *s;
	size_t len;
	int ok; /* -1: not looked at yet; 0: unusable in a topic; 1: usable */
};

static bool value_ok(struct value *v)
{
	if (v->ok < 0) {
		v->len = substitutable(v->s);
		v->ok = v->len > 0;
	}
	return v->ok;
}

/* The client's text for a level of rule, or false when the rule cannot apply. */
static bool resolve(const struct pc_acl_rule *rule, const struct pc_acl_level *lv,
                    struct value *user, struct value *client, char *buf, size_t buflen,
                    struct level *out)
{
	long n;

	switch (lv->kind) {
	case LV_USER:
	case LV_CLIENT: {
		struct value *v = lv->kind == LV_USER ? user : client;

		if (!value_ok(v))
			return false;
		*out = (struct level){v->s, v->len};
		return true;
	}
	case LV_MIXED:
		n = expand(rule->pattern + lv->off, lv->len, user->s, client->s, buf, buflen);
		if (n < 0)
			return false;
		*out = (struct level){buf, (size_t)n};
		return true;
	default:
		*out = (struct level){rule->pattern + lv->off, lv->len};
		return true;
	}
}

/*
 * Whether rule matches the topic t (subscribe false) or covers the filter
 * t (subscribe true), on split levels: the semantics of pc_topic_matches
 * and pc_filter_covers.
 */
static bool rule_applies(const struct pc_acl_rule *rule, const struct split *t, bool subscribe,
                         struct value *user, struct value *client)
{
	char buf[PC_TOPIC_MAX + 1];
	const struct pc_acl_level *last = &rule->levels[rule->nlevels - 1];
	size_t i;

	/* Cheap rejections first: the level count, then a literal last level. */
	if (last->kind != LV_HASH) {
		if (rule->nlevels != t->n)
			return false;
		if (last->kind == LV_LIT &&
		    !same((struct level){rule->pattern + last->off, last->len}, t->l[t->n - 1]))
			return false;
	}
	if (t->l[0].len > 0 && t->l[0].s[0] == '$' &&
	    (rule->levels[0].kind == LV_PLUS || rule->levels[0].kind == LV_HASH))
		return false;
	for (i = 0;; i++) {
		const struct pc_acl_level *lv;
		struct level want, got;

		if (i == rule->nlevels)
			return i == t->n;
		lv = &rule->levels[i];
		if (lv->kind == LV_HASH)
			return true;
		if (i == t->n)
			return false;
		got = t->l[i];
		if (subscribe && is_char(got, '#'))
			return false;
		if (lv->kind == LV_PLUS)
			continue;
		if (subscribe && is_char(got, '+'))
			return false;
		if (!resolve(rule, lv, user, client, buf, sizeof buf, &want) || !same(want, got))
			return false;
	}
}

/* The fallback for topics with very many levels: expand, then match strings. */
static bool rule_applies_slow(const struct pc_acl_rule *rule, const char *topic, bool subscribe,
                              const char *username, const char *client_id)
{
	char buf[PC_TOPIC_MAX + 1];

	if (expand(rule->pattern, strlen(rule->pattern), username, client_id, buf, sizeof buf) < 0)
		return false;
	return subscribe ? pc_filter_covers(buf, topic) : pc_topic_matches(buf, topic);
}

/* The filter a subscription really asks for: without "$share/<group>/"; NULL if malformed. */
static const char *unshare(const char *filter)
{
	const char *g, *slash;

	if (strncmp(filter, "$share/", 7) != 0)
		return filter;
	g = filter + 7;
	slash = strchr(g, '/');
	if (!slash || slash == g || !slash[1])
		return NULL;
	return slash + 1;
}

bool pc_acl_check(const struct pc_acl_role *r, const char *username, const char *client_id,
                  const char *topic, int access)
{
	struct split t;
	struct value user = {username, 0, -1}, client = {client_id, 0, -1};
	bool subscribe = access == PC_ACL_SUBSCRIBE;
	unsigned want;

	if (access == PC_ACL_UNSUBSCRIBE || r->superuser)
		return true;
	if (!topic)
		return false;
	if (subscribe) {
		topic = unshare(topic);
		if (!topic)
			return false;
		want = PC_ACL_READ;
	} else if (access == PC_ACL_READ || access == PC_ACL_WRITE) {
		want = (unsigned)access;
	} else {
		return false;
	}
	split(topic, &t);
	for (size_t i = 0; i < r->n; i++) {
		const struct pc_acl_rule *rule = &r->rules[i];

		if (!(rule->access & want))
			continue;
		if (t.n <= ACL_MAX_LEVELS
		        ? rule_applies(rule, &t, subscribe, &user, &client)
		        : rule_applies_slow(rule, topic, subscribe, username, client_id))
			return true;
	}
	return false;
}

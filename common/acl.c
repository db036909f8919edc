/*
 * acl.c - role templates and pure ACL decisions (see acl.h).
 *
 * Matching walks both strings level by level without allocating. A rule
 * with %u or %c is expanded into a stack buffer per check: templates are
 * short, and a device role has seven rules, so a decision costs well under
 * a microsecond. Used by the auth plugin's MOSQ_EVT_ACL_CHECK callback,
 * on the broker thread, for every publish, delivery and subscription.
 */
#include <stdlib.h>
#include <string.h>

#include "precis/acl.h"
#include "precis/error.h"
#include "precis/topic.h"

/* ---- levels ---- */

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

static bool wild_first(const char *filter)
{
	return (filter[0] == '+' || filter[0] == '#') && (filter[1] == '\0' || filter[1] == '/');
}

bool pc_topic_matches(const char *filter, const char *topic)
{
	const char *f = filter, *t = topic;

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
		if (!is(fl, "+") && !same(fl, tl))
			return false;
	}
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

/* ---- templates ---- */

/* A value that may replace %u or %c: non-empty, no separators or wildcards. */
static bool substitutable(const char *v)
{
	return v && v[0] && !strpbrk(v, "/+#");
}

/*
 * Expand %u, %c and %% of pattern into buf. Returns false when a value is
 * missing or unusable, or the result does not fit.
 */
static bool expand(const char *pattern, const char *username, const char *client_id, char *buf,
                   size_t buflen)
{
	size_t o = 0;

	for (const char *p = pattern; *p; p++) {
		const char *v = NULL;
		size_t n;

		if (*p != '%') {
			if (o + 1 >= buflen)
				return false;
			buf[o++] = *p;
			continue;
		}
		p++;
		if (*p == '%') {
			v = "%";
		} else {
			v = *p == 'u' ? username : client_id; /* parse allowed only u, c, % */
			if (!substitutable(v))
				return false;
		}
		n = strlen(v);
		if (o + n >= buflen)
			return false;
		memcpy(buf + o, v, n);
		o += n;
	}
	buf[o] = '\0';
	return true;
}

static int add_rule(struct pc_acl_role *r, unsigned access, const char *root, const char *pat,
                    size_t len)
{
	struct pc_acl_rule *rules = realloc(r->rules, (r->n + 1) * sizeof *rules);
	size_t rl = root && root[0] && pat[0] != '$' ? strlen(root) + 1 : 0;
	char *copy;

	if (!rules)
		return PC_ERR_NOMEM;
	r->rules = rules;
	copy = malloc(rl + len + 1);
	if (!copy)
		return PC_ERR_NOMEM;
	if (rl) {
		memcpy(copy, root, rl - 1);
		copy[rl - 1] = '/';
	}
	memcpy(copy + rl, pat, len);
	copy[rl + len] = '\0';
	r->rules[r->n].access = access;
	r->rules[r->n].pattern = copy;
	r->n++;
	return PC_OK;
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
	for (size_t i = 0; i < r->n; i++)
		free(r->rules[i].pattern);
	free(r->rules);
	r->rules = NULL;
	r->n = 0;
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
	char buf[PC_TOPIC_MAX + 1];
	unsigned want;

	if (access == PC_ACL_UNSUBSCRIBE)
		return true;
	if (r->superuser)
		return true;
	if (!topic)
		return false;
	if (access == PC_ACL_SUBSCRIBE) {
		topic = unshare(topic);
		if (!topic)
			return false;
		want = PC_ACL_READ;
	} else if (access == PC_ACL_READ || access == PC_ACL_WRITE) {
		want = (unsigned)access;
	} else {
		return false;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct pc_acl_rule *rule = &r->rules[i];
		const char *pat = rule->pattern;

		if (!(rule->access & want))
			continue;
		if (strchr(pat, '%')) {
			if (!expand(pat, username, client_id, buf, sizeof buf))
				continue;
			pat = buf;
		}
		if (access == PC_ACL_SUBSCRIBE ? pc_filter_covers(pat, topic)
		                               : pc_topic_matches(pat, topic))
			return true;
	}
	return false;
}

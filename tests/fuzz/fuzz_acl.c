/*
 * fuzz_acl.c - the ACL matcher (common/acl.c): role templates, the
 * split-level decision path the auth plugin runs for every publish,
 * delivery and subscription, and the string semantics that define it.
 *
 * Input lines: a role template, a topic root, a username, a client id,
 * then topics or filters, one a line (an empty username or client id is
 * none). Properties: parse and cleanup never leak; every decision on a
 * topic a client may publish (pc_topic_check) or a filter it may
 * subscribe (pc_filter_check) equals the one written out here from
 * acl.h's definition: some rule with that access whose %u / %c / %%
 * expansion matches the topic (pc_topic_matches) or covers the filter,
 * without "$share/<group>/" (pc_filter_covers); a rule whose value is
 * empty or holds '/', '+' or '#' never applies. And the string semantics
 * themselves: a topic matches itself, a filter covers itself, and
 * covering is sound (pattern covers filter, filter matches topic =>
 * pattern matches topic).
 *
 * A root holding '%' must be refused (pc_root_check): the root is put in
 * front of each pattern, where '%' would be read as a token (root "site%c"
 * once became the client id).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "precis/acl.h"
#include "precis/error.h"
#include "precis/topic.h"

#define MAX_TOPICS 8

/* The pattern with %u, %c and %% expanded, in a heap string; NULL when a value is unusable. */
static char *expand(const char *pat, const char *u, const char *c)
{
	size_t n = strlen(pat), ul = u ? strlen(u) : 0, cl = c ? strlen(c) : 0, o = 0;
	char *out = malloc(n * (ul > cl ? ul + 1 : cl + 1) + 1);

	FUZZ_CHECK(out);
	for (size_t i = 0; i < n; i++) {
		const char *v;

		if (pat[i] != '%') {
			out[o++] = pat[i];
			continue;
		}
		i++; /* pc_acl_parse let only %u, %c and %% through */
		FUZZ_CHECK(pat[i] == 'u' || pat[i] == 'c' || pat[i] == '%');
		if (pat[i] == '%') {
			out[o++] = '%';
			continue;
		}
		v = pat[i] == 'u' ? u : c;
		if (!v || !v[0] || strpbrk(v, "/+#")) {
			free(out);
			return NULL;
		}
		memcpy(out + o, v, strlen(v));
		o += strlen(v);
	}
	out[o] = '\0';
	return out;
}

/* acl.h's definition of a decision, rule by rule through the string functions. */
static bool reference(const struct pc_acl_role *r, const char *u, const char *c, const char *topic,
                      int access)
{
	bool subscribe = access == PC_ACL_SUBSCRIBE;
	unsigned want = subscribe ? PC_ACL_READ : (unsigned)access;

	if (r->superuser)
		return true;
	if (subscribe && strncmp(topic, "$share/", 7) == 0) {
		const char *g = topic + 7, *slash = strchr(g, '/');

		if (!slash || slash == g || !slash[1])
			return false;
		topic = slash + 1;
	}
	for (size_t i = 0; i < r->n; i++) {
		char *e;
		bool yes;

		if (!(r->rules[i].access & want))
			continue;
		e = expand(r->rules[i].pattern, u, c);
		if (!e)
			continue;
		yes = subscribe ? pc_filter_covers(e, topic) : pc_topic_matches(e, topic);
		free(e);
		if (yes)
			return true;
	}
	return false;
}

static void check_semantics(const struct pc_acl_role *r, char **t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		bool topic = pc_topic_check(t[i], strlen(t[i]), NULL, 0) == PC_OK;
		bool filter = pc_filter_check(t[i]);

		FUZZ_CHECK(!topic || filter);
		if (topic)
			FUZZ_CHECK(pc_topic_matches(t[i], t[i]));
		if (filter)
			FUZZ_CHECK(pc_filter_covers(t[i], t[i]));
		for (size_t j = 0; j < nt && filter; j++) {
			if (pc_topic_check(t[j], strlen(t[j]), NULL, 0) != PC_OK ||
			    !pc_topic_matches(t[i], t[j]))
				continue;
			/* Every rule pattern that covers filter i also matches topic j. */
			for (size_t k = 0; k < r->n; k++)
				if (pc_filter_covers(r->rules[k].pattern, t[i]))
					FUZZ_CHECK(pc_topic_matches(r->rules[k].pattern, t[j]));
		}
	}
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int accesses[] = {PC_ACL_READ, PC_ACL_WRITE, PC_ACL_SUBSCRIBE};
	char *s = fuzz_cstr(data, size), *f[4 + MAX_TOPICS];
	size_t n = fuzz_split(s, '\n', f, 4 + MAX_TOPICS), nt = n > 4 ? n - 4 : 0;
	const char *root = n > 1 ? f[1] : "", *u = n > 2 && f[2][0] ? f[2] : NULL,
	           *c = n > 3 && f[3][0] ? f[3] : NULL;
	struct pc_acl_role r;
	char err[256];
	int rc = pc_acl_parse(f[0], root, &r, err, sizeof err);

	if (strchr(root, '%'))
		FUZZ_CHECK(rc != PC_OK);
	if (rc == PC_OK) {
		FUZZ_CHECK(r.superuser || r.n > 0);
		for (size_t i = 0; i < r.n; i++)
			FUZZ_CHECK(r.rules[i].nlevels > 0 && r.rules[i].access != 0);
		for (size_t i = 0; i < nt; i++) {
			const char *t = f[4 + i];
			bool topic = pc_topic_check(t, strlen(t), NULL, 0) == PC_OK;

			FUZZ_CHECK(pc_acl_check(&r, u, c, t, PC_ACL_UNSUBSCRIBE));
			for (size_t a = 0; a < sizeof accesses / sizeof accesses[0]; a++) {
				bool sub = accesses[a] == PC_ACL_SUBSCRIBE;

				if (sub ? !pc_filter_check(t) : !topic)
					continue;
				FUZZ_CHECK(pc_acl_check(&r, u, c, t, accesses[a]) ==
				           reference(&r, u, c, t, accesses[a]));
			}
		}
		check_semantics(&r, f + 4, nt);
	}
	pc_acl_role_cleanup(&r);
	free(s);
	return 0;
}

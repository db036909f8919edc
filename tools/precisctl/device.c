/*
 * device.c - `precisctl device ...`: the principal registry.
 *
 *   device add ID --role ROLE [password source] [--tag T]... [--meta JSON] [--disabled] [--force]
 *   device list [--role ROLE] [--enabled | --disabled] [--tag T]
 *   device show ID
 *   device enable ID | disable ID | rm ID
 *   device passwd ID [password source]
 *   device role ID ROLE
 *   device import FILE|- [--format csv|jsonl] [--force] [--iterations N] [--progress]
 *
 * Password sources: --password PW, --password-stdin (one line), --generate
 * (a random one, printed once), or else a prompt on the terminal; they and
 * the $7$ hash (--iterations, default 101 like mosquitto_passwd) are in
 * device_password.c.
 * Every write is followed by a change-log record, which brokers poll to
 * drop, re-read and (for disable, passwd, role, rm) disconnect the
 * principal within a second. Import lives in device_import.c, the help
 * texts in help.c. Every argument is checked before anything is read or
 * written: a bad flag is a usage error naming it, before any prompt.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "precis/error.h"
#include "precis/options.h"
#include "precis/pwhash.h"
#include "precis/registry.h"

int dev__check_id(const char *id)
{
	char err[200];

	if (!id)
		return ctl_error(CTL_USAGE, "device: missing ID");
	if (pc_id_check(id, strlen(id), err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "'%s' is not a valid id: %s", id, err);
	return CTL_OK;
}

int dev__log_change(struct ctl *c, const char *const *ids, size_t n)
{
	char err[512];

	if (pc_registry_log_changes(ctl_mongo(c), c->mongo_db, ids, n, err, sizeof err) != PC_OK)
		return ctl_error(CTL_ERR,
		                 "registry written, but the change log failed (%s): brokers pick "
		                 "the change up within cache_ttl instead of a second",
		                 err);
	return CTL_OK;
}

void dev__now(bson_t *b, const char *key)
{
	BSON_APPEND_DATE_TIME(b, key, ctl_now_ms());
}

/* ---- the password flags add and passwd share ---- */

enum { O_PW = 256, O_PWSTDIN, O_GEN, O_ITER, O_OWN /* the subcommand's own flags from here */ };

// clang-format off
#define PASSWORD_OPTIONS \
	{"password", required_argument, NULL, O_PW}, \
	{"password-stdin", no_argument, NULL, O_PWSTDIN}, \
	{"generate", no_argument, NULL, O_GEN}, \
	{"iterations", required_argument, NULL, O_ITER}
// clang-format on

/*
 * Take opt if it is a password flag: returns CTL_OK when it was (src or
 * *iterations updated), -1 when it is not one, or a usage error.
 */
static int password_flag(int opt, struct dev__pw *src, int *iterations)
{
	switch (opt) {
	case O_PW:
		src->given = optarg;
		return CTL_OK;
	case O_PWSTDIN:
		src->from_stdin = true;
		return CTL_OK;
	case O_GEN:
		src->generate = true;
		return CTL_OK;
	case O_ITER:
		return dev__parse_iterations(optarg, iterations);
	default:
		return -1;
	}
}

/*
 * Report a write: "<what> <id><detail>" as text, or {id, done: what,
 * extra...} as JSON; a generated password is printed this once.
 */
static int report(struct ctl *c, const char *id, const char *what, const char *detail,
                  const struct dev__pw *src, const char *pw, const bson_t *extra)
{
	if (c->json) {
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&doc, "id", id);
		BSON_APPEND_UTF8(&doc, "done", what);
		if (extra)
			bson_concat(&doc, extra);
		if (src && src->generate)
			BSON_APPEND_UTF8(&doc, "password", pw);
		ctl_print_json(&doc);
		bson_destroy(&doc);
	} else {
		printf("%s %s%s\n", what, id, detail ? detail : "");
		if (src && src->generate)
			printf("password: %s\n", pw);
	}
	return CTL_OK;
}

/* The role named s, or a usage error naming what (the flag or operand) held it. */
static int parse_role(const char *what, const char *s, enum pc_role *out)
{
	if (pc_role_parse(s, out) != PC_OK)
		return ctl_error(CTL_USAGE, "%s: '%s' is not device, app, ops, bridge or admin",
		                 what, s);
	return CTL_OK;
}

/*
 * The n operands of a subcommand that has no flags but --help (show, enable,
 * disable, rm, role), the first a checked ID, into out. Returns CTL_CONTINUE,
 * or the exit code: --help printed, a bad flag, a wrong count, a bad ID.
 */
static int operands(int argc, char **argv, int n, const char **out)
{
	static const struct option opts[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	static const char *const want[] = {"", "ID", "ID ROLE"};
	int stop, rc;

	while (ctl_flag(argc, argv, opts, "device", argv[0], &stop) != -1)
		;
	if (stop != CTL_CONTINUE)
		return stop;
	if (argc - optind != n)
		return ctl_error(CTL_USAGE, "device %s: expected %s (see --help)", argv[0],
		                 want[n]);
	for (int i = 0; i < n; i++)
		out[i] = argv[optind + i];
	if ((rc = dev__check_id(out[0])) != CTL_OK)
		return rc;
	return CTL_CONTINUE;
}

/* ---- add ---- */

static int cmd_add(struct ctl *c, int argc, char **argv)
{
	enum { O_ROLE = O_OWN, O_TAG, O_META, O_DISABLED, O_FORCE };
	static const struct option opts[] = {
	    PASSWORD_OPTIONS,
	    {"role", required_argument, NULL, O_ROLE},
	    {"tag", required_argument, NULL, O_TAG},
	    {"meta", required_argument, NULL, O_META},
	    {"disabled", no_argument, NULL, O_DISABLED},
	    {"force", no_argument, NULL, O_FORCE},
	    CTL_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	struct dev__pw src = {0};
	const char *role_name = NULL, *meta = NULL, *tags[64];
	size_t ntags = 0;
	bool disabled = false, force = false;
	int iterations = PC_PWHASH_DEFAULT_ITER, opt, rc, stop;
	enum pc_role role;
	char pw[DEV_PW_MAX + 2], hash[PC_PWHASH_TEXT_MAX + 1];
	struct dev__record r;

	while ((opt = ctl_flag(argc, argv, opts, "device", "add", &stop)) != -1) {
		if ((rc = password_flag(opt, &src, &iterations)) != -1) {
			if (rc != CTL_OK)
				return rc;
			continue;
		}
		switch (opt) {
		case O_ROLE:
			role_name = optarg;
			break;
		case O_TAG:
			if (!*optarg)
				return ctl_error(CTL_USAGE, "--tag: empty tag");
			if (ntags == sizeof tags / sizeof tags[0])
				return ctl_error(CTL_USAGE, "--tag: at most 64");
			tags[ntags++] = optarg;
			break;
		case O_META:
			if ((rc = dev__check_meta(optarg)) != CTL_OK)
				return rc;
			meta = optarg;
			break;
		case O_DISABLED:
			disabled = true;
			break;
		case O_FORCE:
			force = true;
			break;
		}
	}
	if (stop != CTL_CONTINUE)
		return stop;
	if (optind + 1 != argc)
		return ctl_error(CTL_USAGE, "device add: expected one ID (see --help)");
	if ((rc = dev__check_id(argv[optind])) != CTL_OK)
		return rc;
	if (!role_name)
		return ctl_error(CTL_USAGE, "device add: --role is required (device, app, ops, "
		                            "bridge or admin)");
	if ((rc = parse_role("--role", role_name, &role)) != CTL_OK ||
	    (rc = dev__check_pw_source(&src)) != CTL_OK)
		return rc;
	if ((rc = dev__password(&src, pw, sizeof pw)) != CTL_OK ||
	    (rc = dev__hash(pw, iterations, hash, sizeof hash)) != CTL_OK)
		return rc;
	memset(&r, 0, sizeof r);
	r.id = argv[optind];
	r.role = role;
	r.enabled = !disabled;
	r.password_hash = hash;
	r.tags = tags;
	r.ntags = ntags;
	r.meta_json = meta;
	rc = dev__write(c, &r, force);
	if (rc == CTL_OK) {
		bson_t extra = BSON_INITIALIZER;
		char detail[64];

		BSON_APPEND_UTF8(&extra, "role", pc_role_name(role));
		BSON_APPEND_BOOL(&extra, "enabled", r.enabled);
		BSON_APPEND_BOOL(&extra, "replaced", r.existed);
		snprintf(detail, sizeof detail, " (%s%s)", pc_role_name(role),
		         r.enabled ? "" : ", disabled");
		rc = report(c, r.id, r.existed ? "replaced" : "added", detail, &src, pw, &extra);
		bson_destroy(&extra);
	}
	return rc;
}

/* ---- list and show ---- */

static bool has_tag(const bson_t *doc, const char *tag)
{
	bson_iter_t it, arr;

	if (!bson_iter_init_find(&it, doc, "tags") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return false;
	while (bson_iter_next(&arr)) {
		if (BSON_ITER_HOLDS_UTF8(&arr) && strcmp(bson_iter_utf8(&arr, NULL), tag) == 0)
			return true;
	}
	return false;
}

/* The document for output: everything but the hash, which becomes its scheme. */
static void public_view(const bson_t *doc, bson_t *out)
{
	bson_iter_t it;

	bson_init(out);
	if (!bson_iter_init(&it, doc))
		return;
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);

		if (strcmp(key, "password_hash") == 0) {
			struct pc_pwhash h;
			char scheme[64] = "invalid";

			if (BSON_ITER_HOLDS_UTF8(&it) &&
			    pc_pwhash_parse(bson_iter_utf8(&it, NULL), &h, NULL, 0) == PC_OK)
				snprintf(scheme, sizeof scheme, "$%d$ %d iterations", (int)h.kind,
				         h.iterations);
			BSON_APPEND_UTF8(out, "hash", scheme);
			continue;
		}
		bson_append_iter(out, key, -1, &it);
	}
}

static void print_row(const bson_t *doc)
{
	bson_iter_t it;
	const char *id = "?", *role = "?";
	bool enabled = false;
	char tags[256] = "";
	size_t off = 0;

	if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
		id = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, doc, "role") && BSON_ITER_HOLDS_UTF8(&it))
		role = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, doc, "enabled") && BSON_ITER_HOLDS_BOOL(&it))
		enabled = bson_iter_bool(&it);
	if (bson_iter_init_find(&it, doc, "tags") && BSON_ITER_HOLDS_ARRAY(&it)) {
		bson_iter_t arr;

		if (bson_iter_recurse(&it, &arr)) {
			while (bson_iter_next(&arr) && off < sizeof tags - 1) {
				int n = snprintf(
				    tags + off, sizeof tags - off, "%s%s", off ? "," : "",
				    BSON_ITER_HOLDS_UTF8(&arr) ? bson_iter_utf8(&arr, NULL) : "?");
				off += n > 0 ? (size_t)n : 0;
			}
		}
	}
	printf("%-32s %-7s %-8s %s\n", id, role, enabled ? "enabled" : "DISABLED", tags);
}

static int cmd_list(struct ctl *c, int argc, char **argv)
{
	enum { O_ROLE = 256, O_ENABLED, O_DISABLED, O_TAG };
	static const struct option opts[] = {
	    {"role", required_argument, NULL, O_ROLE},
	    {"enabled", no_argument, NULL, O_ENABLED},
	    {"disabled", no_argument, NULL, O_DISABLED},
	    {"tag", required_argument, NULL, O_TAG},
	    CTL_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	const char *role = NULL, *tag = NULL;
	int enabled = -1, opt, stop;
	enum pc_role r;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t berr;
	size_t shown = 0;
	int rc = CTL_OK;

	while ((opt = ctl_flag(argc, argv, opts, "device", "list", &stop)) != -1) {
		switch (opt) {
		case O_ROLE:
			role = optarg;
			if ((rc = parse_role("--role", role, &r)) != CTL_OK)
				return rc;
			break;
		case O_ENABLED:
		case O_DISABLED:
			if (enabled >= 0 && enabled != (opt == O_ENABLED))
				return ctl_error(
				    CTL_USAGE, "device list: --enabled and --disabled exclude each "
				               "other");
			enabled = opt == O_ENABLED;
			break;
		case O_TAG:
			tag = optarg;
			break;
		}
	}
	if (stop != CTL_CONTINUE)
		return stop;
	if (optind != argc)
		return ctl_error(CTL_USAGE, "device list: unexpected argument '%s'", argv[optind]);
	coll = ctl_collection(c, PC_REGISTRY_COLL);
	if (!coll)
		return CTL_ERR;
	if (role)
		BSON_APPEND_UTF8(&filter, "role", role);
	if (enabled >= 0)
		BSON_APPEND_BOOL(&filter, "enabled", enabled == 1);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		if (tag && !has_tag(doc, tag))
			continue;
		if (c->json) {
			bson_t view;

			public_view(doc, &view);
			ctl_print_json(&view);
			bson_destroy(&view);
		} else {
			if (shown == 0)
				printf("%-32s %-7s %-8s %s\n", "ID", "ROLE", "STATE", "TAGS");
			print_row(doc);
		}
		shown++;
	}
	if (mongoc_cursor_error(cur, &berr))
		rc = ctl_error(CTL_ERR, "device list: %s", berr.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

static int cmd_show(struct ctl *c, int argc, char **argv)
{
	const char *id;
	bson_t doc, view;
	int rc;

	if ((rc = operands(argc, argv, 1, &id)) != CTL_CONTINUE)
		return rc;
	rc = dev__fetch(c, id, &doc);
	if (rc != CTL_OK)
		return rc;
	public_view(&doc, &view);
	if (c->json) {
		ctl_print_json(&view);
	} else {
		char *s = bson_as_relaxed_extended_json(&view, NULL);

		printf("%s\n", s ? s : "?");
		bson_free(s);
	}
	bson_destroy(&view);
	bson_destroy(&doc);
	return CTL_OK;
}

/* ---- single-field updates ---- */

static int cmd_enable(struct ctl *c, int argc, char **argv, bool enable)
{
	const char *id;
	bson_t set = BSON_INITIALIZER;
	int rc;

	if ((rc = operands(argc, argv, 1, &id)) != CTL_CONTINUE)
		return rc;
	BSON_APPEND_BOOL(&set, "enabled", enable);
	rc = dev__update(c, id, &set);
	bson_destroy(&set);
	return rc == CTL_OK ? report(c, id, enable ? "enabled" : "disabled", NULL, NULL, NULL, NULL)
	                    : rc;
}

static int cmd_passwd(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {PASSWORD_OPTIONS, CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	struct dev__pw src = {0};
	int iterations = PC_PWHASH_DEFAULT_ITER, opt, rc, stop;
	char pw[DEV_PW_MAX + 2], hash[PC_PWHASH_TEXT_MAX + 1];
	bson_t set = BSON_INITIALIZER;

	while ((opt = ctl_flag(argc, argv, opts, "device", "passwd", &stop)) != -1) {
		if ((rc = password_flag(opt, &src, &iterations)) != CTL_OK)
			return rc;
	}
	if (stop != CTL_CONTINUE)
		return stop;
	if (optind + 1 != argc)
		return ctl_error(CTL_USAGE, "device passwd: expected one ID (see --help)");
	if ((rc = dev__check_id(argv[optind])) != CTL_OK ||
	    (rc = dev__check_pw_source(&src)) != CTL_OK)
		return rc;
	/* Fail before prompting when the principal does not exist. */
	if ((rc = dev__exists(c, argv[optind])) != CTL_OK)
		return rc;
	if ((rc = dev__password(&src, pw, sizeof pw)) != CTL_OK ||
	    (rc = dev__hash(pw, iterations, hash, sizeof hash)) != CTL_OK)
		return rc;
	BSON_APPEND_UTF8(&set, "password_hash", hash);
	rc = dev__update(c, argv[optind], &set);
	bson_destroy(&set);
	return rc == CTL_OK ? report(c, argv[optind], "password changed", NULL, &src, pw, NULL)
	                    : rc;
}

static int cmd_role(struct ctl *c, int argc, char **argv)
{
	const char *args[2];
	enum pc_role role;
	bson_t set = BSON_INITIALIZER;
	int rc;

	if ((rc = operands(argc, argv, 2, args)) != CTL_CONTINUE ||
	    (rc = parse_role("ROLE", args[1], &role)) != CTL_OK)
		return rc;
	BSON_APPEND_UTF8(&set, "role", pc_role_name(role));
	rc = dev__update(c, args[0], &set);
	bson_destroy(&set);
	return rc == CTL_OK ? report(c, args[0], "role set", NULL, NULL, NULL, NULL) : rc;
}

static int cmd_rm(struct ctl *c, int argc, char **argv)
{
	const char *id;
	int rc;

	if ((rc = operands(argc, argv, 1, &id)) != CTL_CONTINUE)
		return rc;
	rc = dev__remove(c, id);
	return rc == CTL_OK ? report(c, id, "removed", NULL, NULL, NULL, NULL) : rc;
}

int ctl_device(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		ctl_usage(sub ? stdout : stderr, "device", NULL);
		return sub ? CTL_OK : CTL_USAGE;
	}
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "add") == 0)
		return cmd_add(c, argc, argv);
	if (strcmp(sub, "list") == 0)
		return cmd_list(c, argc, argv);
	if (strcmp(sub, "show") == 0)
		return cmd_show(c, argc, argv);
	if (strcmp(sub, "enable") == 0)
		return cmd_enable(c, argc, argv, true);
	if (strcmp(sub, "disable") == 0)
		return cmd_enable(c, argc, argv, false);
	if (strcmp(sub, "passwd") == 0)
		return cmd_passwd(c, argc, argv);
	if (strcmp(sub, "role") == 0)
		return cmd_role(c, argc, argv);
	if (strcmp(sub, "rm") == 0)
		return cmd_rm(c, argc, argv);
	if (strcmp(sub, "import") == 0)
		return dev__import(c, argc, argv);
	return ctl_error(CTL_USAGE, "device: unknown subcommand '%s' (see precisctl device --help)",
	                 sub);
}

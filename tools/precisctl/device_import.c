/*
 * device_import.c - `precisctl device import FILE|-`: many principals at once.
 *
 * Input is CSV with a header row (columns id, role, and password or
 * password_hash; optional tags, ';'-separated, and enabled) or JSON lines
 * ({"id", "role", "password" or "password_hash", "tags": [], "enabled",
 * "meta": {}}), chosen by --format or guessed from the file name or its
 * first character. password_hash takes an existing $6$/$7$ hash as is, so
 * a mosquitto_passwd file can be migrated without knowing the passwords.
 *
 * Lines are checked one by one (a bad line is reported with its number
 * and skipped), then written in batches: one $in read finds the ids that
 * exist (skipped, or replaced with --force), one insert_many writes the
 * rest (falling back to one insert per line when the server refuses the
 * batch, so a failure is pinned to its line), and one change-log append
 * covers the batch. Progress goes to stderr with --progress or when
 * stderr is a terminal. Exit code 5 when any line failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "precis/error.h"
#include "precis/options.h"
#include "precis/pwhash.h"

#define BATCH          200
#define LINE_MAX_BYTES 65536

enum format { FMT_GUESS, FMT_CSV, FMT_JSONL };

struct item {
	long line;
	char id[PC_ID_MAX + 1];
	enum pc_role role;
	bool enabled;
	char hash[PC_PWHASH_TEXT_MAX + 1];
	char *tags[64];
	size_t ntags;
	char *meta_json;
};

struct import {
	struct ctl *c;
	bool force, progress;
	int iterations;
	long imported, replaced, skipped, failed;
	struct item items[BATCH];
	size_t n;
	long total_bytes, read_bytes;
};

static void item_free(struct item *it)
{
	for (size_t i = 0; i < it->ntags; i++)
		free(it->tags[i]);
	free(it->meta_json);
	memset(it, 0, sizeof *it);
}

static int bad(struct import *im, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report a bad input line and count it; returns -1. */
static int bad(struct import *im, long line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "precisctl: line %ld: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	im->failed++;
	return -1;
}

/* Fill the credentials of it from a password or a hash; -1 (counted) on error. */
static int set_secret(struct import *im, struct item *it, const char *pw, const char *hash)
{
	struct pc_pwhash h;
	char err[200];

	if (hash && hash[0]) {
		if (strlen(hash) > PC_PWHASH_TEXT_MAX ||
		    pc_pwhash_parse(hash, &h, err, sizeof err) != PC_OK)
			return bad(im, it->line, "password_hash: %s", "not a $6$ or $7$ hash");
		snprintf(it->hash, sizeof it->hash, "%s", hash);
		return 0;
	}
	if (!pw || !pw[0])
		return bad(im, it->line, "%s", "no password or password_hash");
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return bad(im, it->line, "%s", "password contains a control character");
	}
	if (pc_pwhash_make(it->hash, sizeof it->hash, pw, strlen(pw), im->iterations, 12, err,
	                   sizeof err) != PC_OK)
		return bad(im, it->line, "cannot hash the password: %s", err);
	return 0;
}

static int set_id_role(struct import *im, struct item *it, const char *id, const char *role)
{
	char err[200];

	if (!id || pc_id_check(id, strlen(id), err, sizeof err) != PC_OK)
		return bad(im, it->line, "invalid id: %s", id ? err : "missing");
	snprintf(it->id, sizeof it->id, "%s", id);
	if (!role || pc_role_parse(role, &it->role) != PC_OK)
		return bad(im, it->line, "role '%s' is not device, app, ops, bridge or admin",
		           role ? role : "");
	for (size_t i = 0; i < im->n; i++) {
		if (strcmp(im->items[i].id, id) == 0)
			return bad(im, it->line, "id '%s' appears twice in this batch", id);
	}
	return 0;
}

static int add_tag(struct import *im, struct item *it, const char *tag, size_t len)
{
	if (len == 0)
		return 0;
	if (it->ntags == sizeof it->tags / sizeof it->tags[0])
		return bad(im, it->line, "%s", "more than 64 tags");
	it->tags[it->ntags] = strndup(tag, len);
	if (!it->tags[it->ntags])
		return bad(im, it->line, "%s", "out of memory");
	it->ntags++;
	return 0;
}

/* ---- CSV ---- */

/* Split line into at most max fields (quotes: "a,b" and "" for a quote), in place. */
static int csv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	while (n < max) {
		char *out = p;

		fields[n++] = p;
		if (*p == '"') {
			char *q = p + 1;

			for (;;) {
				if (*q == '\0')
					return -1; /* unterminated quote */
				if (*q == '"' && q[1] == '"') {
					*out++ = '"';
					q += 2;
				} else if (*q == '"') {
					q++;
					break;
				} else {
					*out++ = *q++;
				}
			}
			if (*q != ',' && *q != '\0')
				return -1;
			*out = '\0';
			if (*q == '\0')
				return n;
			p = q + 1;
			continue;
		}
		p += strcspn(p, ",");
		if (*p == '\0')
			return n;
		*p++ = '\0';
	}
	return -1;
}

struct csv_cols {
	int id, role, password, hash, tags, enabled, count;
};

static int csv_header(char *line, struct csv_cols *cols)
{
	char *f[16];
	int n = csv_split(line, f, 16);

	*cols = (struct csv_cols){-1, -1, -1, -1, -1, -1, n};
	for (int i = 0; i < n; i++) {
		const char *h = f[i];

		if (strcmp(h, "id") == 0)
			cols->id = i;
		else if (strcmp(h, "role") == 0)
			cols->role = i;
		else if (strcmp(h, "password") == 0)
			cols->password = i;
		else if (strcmp(h, "password_hash") == 0)
			cols->hash = i;
		else if (strcmp(h, "tags") == 0)
			cols->tags = i;
		else if (strcmp(h, "enabled") == 0)
			cols->enabled = i;
		else
			return ctl_error(CTL_USAGE,
			                 "CSV header: unknown column '%s' (id, role, "
			                 "password, password_hash, tags, enabled)",
			                 h);
	}
	if (n < 0 || cols->id < 0 || cols->role < 0 || (cols->password < 0 && cols->hash < 0))
		return ctl_error(CTL_USAGE, "CSV header must name id, role and password or "
		                            "password_hash");
	return CTL_OK;
}

static int csv_item(struct import *im, const struct csv_cols *cols, char *line, struct item *it)
{
	char *f[16];
	int n = csv_split(line, f, 16);
	bool on = true;

	if (n != cols->count)
		return bad(im, it->line, "%s", "wrong number of fields (or a broken quote)");
	if (set_id_role(im, it, f[cols->id], f[cols->role]) ||
	    set_secret(im, it, cols->password >= 0 ? f[cols->password] : NULL,
	               cols->hash >= 0 ? f[cols->hash] : NULL))
		return -1;
	if (cols->enabled >= 0 && f[cols->enabled][0] && pc_parse_bool(f[cols->enabled], &on))
		return bad(im, it->line, "enabled: '%s' is not a boolean", f[cols->enabled]);
	it->enabled = on;
	if (cols->tags >= 0) {
		for (const char *p = f[cols->tags]; *p;) {
			size_t len = strcspn(p, ";");

			if (add_tag(im, it, p, len))
				return -1;
			p += len;
			p += *p == ';';
		}
	}
	return 0;
}

/* ---- JSON lines ---- */

static const char *json_str(const bson_t *doc, const char *key)
{
	bson_iter_t i;

	return bson_iter_init_find(&i, doc, key) && BSON_ITER_HOLDS_UTF8(&i)
	           ? bson_iter_utf8(&i, NULL)
	           : NULL;
}

static int jsonl_item(struct import *im, const char *line, struct item *it)
{
	bson_t doc;
	bson_error_t berr;
	bson_iter_t i, arr;
	int rc = -1;

	if (!bson_init_from_json(&doc, line, -1, &berr))
		return bad(im, it->line, "not a JSON object: %s", berr.message);
	if (set_id_role(im, it, json_str(&doc, "id"), json_str(&doc, "role")) ||
	    set_secret(im, it, json_str(&doc, "password"), json_str(&doc, "password_hash")))
		goto done;
	it->enabled = true;
	if (bson_iter_init_find(&i, &doc, "enabled")) {
		if (!BSON_ITER_HOLDS_BOOL(&i)) {
			bad(im, it->line, "%s", "enabled is not a boolean");
			goto done;
		}
		it->enabled = bson_iter_bool(&i);
	}
	if (bson_iter_init_find(&i, &doc, "tags")) {
		if (!BSON_ITER_HOLDS_ARRAY(&i) || !bson_iter_recurse(&i, &arr)) {
			bad(im, it->line, "%s", "tags is not an array");
			goto done;
		}
		while (bson_iter_next(&arr)) {
			uint32_t len;
			const char *t;

			if (!BSON_ITER_HOLDS_UTF8(&arr)) {
				bad(im, it->line, "%s", "a tag is not a string");
				goto done;
			}
			t = bson_iter_utf8(&arr, &len);
			if (add_tag(im, it, t, len))
				goto done;
		}
	}
	if (bson_iter_init_find(&i, &doc, "meta")) {
		bson_t meta;
		const uint8_t *data;
		uint32_t len;

		if (!BSON_ITER_HOLDS_DOCUMENT(&i)) {
			bad(im, it->line, "%s", "meta is not an object");
			goto done;
		}
		bson_iter_document(&i, &len, &data);
		if (bson_init_static(&meta, data, len))
			it->meta_json = bson_as_relaxed_extended_json(&meta, NULL);
	}
	rc = 0;
done:
	bson_destroy(&doc);
	return rc;
}

/* ---- writing a batch ---- */

static void report_progress(struct import *im, bool last)
{
	if (!im->progress)
		return;
	if (im->total_bytes > 0)
		fprintf(stderr, "\rimport: %ld written, %ld skipped, %ld failed (%ld%%)%s",
		        im->imported + im->replaced, im->skipped, im->failed,
		        im->read_bytes * 100 / im->total_bytes, last ? "\n" : "");
	else
		fprintf(stderr, "\rimport: %ld written, %ld skipped, %ld failed%s",
		        im->imported + im->replaced, im->skipped, im->failed, last ? "\n" : "");
	fflush(stderr);
}

static bool find_existing(mongoc_collection_t *coll, struct import *im, bson_t *found[BATCH],
                          char *err, size_t errlen)
{
	bson_t filter = BSON_INITIALIZER, idf, in;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	char key[24];
	bool ok = true;

	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &idf);
	BSON_APPEND_ARRAY_BEGIN(&idf, "$in", &in);
	for (size_t i = 0; i < im->n; i++) {
		snprintf(key, sizeof key, "%zu", i);
		BSON_APPEND_UTF8(&in, key, im->items[i].id);
	}
	bson_append_array_end(&idf, &in);
	bson_append_document_end(&filter, &idf);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		const char *id = json_str(doc, "_id");

		for (size_t i = 0; id && i < im->n; i++) {
			if (!found[i] && strcmp(im->items[i].id, id) == 0) {
				found[i] = bson_copy(doc);
				break;
			}
		}
	}
	if (mongoc_cursor_error(cur, &berr)) {
		snprintf(err, errlen, "%s", berr.message);
		ok = false;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	return ok;
}

static int write_batch(struct import *im)
{
	mongoc_collection_t *coll = ctl_collection(im->c, PC_REGISTRY_COLL);
	bson_t *found[BATCH] = {0}, docs[BATCH];
	const bson_t *fresh[BATCH];
	const char *written[BATCH];
	size_t nfresh = 0, nwritten = 0, fresh_at[BATCH];
	bson_error_t berr;
	char err[512];
	int rc = CTL_OK;

	if (!coll)
		return CTL_ERR;
	if (!find_existing(coll, im, found, err, sizeof err)) {
		mongoc_collection_destroy(coll);
		return ctl_error(CTL_ERR, "import: reading the registry: %s", err);
	}
	for (size_t i = 0; i < im->n; i++) {
		struct item *it = &im->items[i];
		struct dev__record r = {
		    it->id,    it->role,      it->enabled, it->hash, (const char *const *)it->tags,
		    it->ntags, it->meta_json, false};
		bson_t f = BSON_INITIALIZER;

		if (found[i] && !im->force) {
			im->skipped++;
			continue;
		}
		if (dev__record_bson(&r, found[i], &docs[i]) != CTL_OK) {
			fprintf(stderr, "precisctl: line %ld: bad meta\n", it->line);
			im->failed++;
			continue;
		}
		if (!found[i]) {
			fresh_at[nfresh] = i;
			fresh[nfresh++] = &docs[i];
			continue;
		}
		BSON_APPEND_UTF8(&f, "_id", it->id);
		if (mongoc_collection_replace_one(coll, &f, &docs[i], NULL, NULL, &berr)) {
			im->replaced++;
			written[nwritten++] = it->id;
		} else {
			fprintf(stderr, "precisctl: line %ld: %s\n", it->line, berr.message);
			im->failed++;
		}
		bson_destroy(&f);
		bson_destroy(&docs[i]);
	}
	if (nfresh > 0 && mongoc_collection_insert_many(coll, fresh, nfresh, NULL, NULL, &berr)) {
		im->imported += (long)nfresh;
		for (size_t k = 0; k < nfresh; k++)
			written[nwritten++] = im->items[fresh_at[k]].id;
	} else if (nfresh > 0) {
		/* Pin the failure to its lines: one insert each (some may have landed). */
		for (size_t k = 0; k < nfresh; k++) {
			struct item *it = &im->items[fresh_at[k]];

			if (mongoc_collection_insert_one(coll, fresh[k], NULL, NULL, &berr)) {
				im->imported++;
				written[nwritten++] = it->id;
			} else if (berr.code == 11000) {
				im->skipped++; /* landed with the batch, or added meanwhile */
			} else {
				fprintf(stderr, "precisctl: line %ld: %s\n", it->line,
				        berr.message);
				im->failed++;
			}
		}
	}
	for (size_t k = 0; k < nfresh; k++)
		bson_destroy(&docs[fresh_at[k]]);
	for (size_t i = 0; i < im->n; i++)
		bson_destroy(found[i]);
	mongoc_collection_destroy(coll);
	if (nwritten > 0)
		rc = dev__log_change(im->c, written, nwritten);
	for (size_t i = 0; i < im->n; i++)
		item_free(&im->items[i]);
	im->n = 0;
	report_progress(im, false);
	return rc;
}

/* ---- the command ---- */

static enum format guess_format(const char *path, const char *first_line)
{
	const char *dot = strrchr(path, '.');

	if (dot && strcmp(dot, ".csv") == 0)
		return FMT_CSV;
	if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0 ||
	            strcmp(dot, ".json") == 0))
		return FMT_JSONL;
	first_line += strspn(first_line, " \t");
	return first_line[0] == '{' ? FMT_JSONL : FMT_CSV;
}

int dev__import(struct ctl *c, int argc, char **argv)
{
	enum { O_FORMAT = 256, O_FORCE, O_ITER, O_PROGRESS };
	static const struct option opts[] = {
	    {"format", required_argument, NULL, O_FORMAT},
	    {"force", no_argument, NULL, O_FORCE},
	    {"iterations", required_argument, NULL, O_ITER},
	    {"progress", no_argument, NULL, O_PROGRESS},
	    CTL_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	struct import *im = calloc(1, sizeof *im);
	enum format fmt = FMT_GUESS;
	struct csv_cols cols = {0};
	bool have_header = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	FILE *in = NULL;
	int opt, rc = CTL_OK, stop;

	if (!im)
		return ctl_error(CTL_ERR, "out of memory");
	im->c = c;
	im->iterations = PC_PWHASH_DEFAULT_ITER;
	im->progress = isatty(STDERR_FILENO);
	while ((opt = ctl_flag(argc, argv, opts, "device", "import", &stop)) != -1) {
		switch (opt) {
		case O_FORMAT:
			if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = FMT_JSONL;
			else
				rc = ctl_error(CTL_USAGE, "--format: '%s' is not csv or jsonl",
				               optarg);
			break;
		case O_FORCE:
			im->force = true;
			break;
		case O_ITER:
			rc = dev__parse_iterations(optarg, &im->iterations);
			break;
		case O_PROGRESS:
			im->progress = true;
			break;
		}
		if (rc != CTL_OK)
			goto done;
	}
	if (stop != CTL_CONTINUE) {
		rc = stop;
		goto done;
	}
	if (optind + 1 != argc) {
		rc = ctl_error(CTL_USAGE, "device import: expected one FILE (or - for stdin)");
		goto done;
	}
	if (strcmp(argv[optind], "-") == 0) {
		in = stdin;
	} else {
		struct stat st;

		in = fopen(argv[optind], "r");
		if (!in) {
			rc = ctl_error(CTL_ERR, "cannot open '%s'", argv[optind]);
			goto done;
		}
		if (fstat(fileno(in), &st) == 0)
			im->total_bytes = (long)st.st_size;
	}
	if (!ctl_mongo(c)) {
		rc = CTL_ERR;
		goto done;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct item *it;

		lineno++;
		im->read_bytes += (long)len;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if (len > LINE_MAX_BYTES) {
			bad(im, lineno, "%s", "line too long");
			continue;
		}
		if (fmt == FMT_GUESS)
			fmt = guess_format(argv[optind], line);
		if (fmt == FMT_CSV && !have_header) {
			if ((rc = csv_header(line, &cols)) != CTL_OK)
				goto done;
			have_header = true;
			continue;
		}
		it = &im->items[im->n];
		memset(it, 0, sizeof *it);
		it->line = lineno;
		if ((fmt == FMT_CSV ? csv_item(im, &cols, line, it) : jsonl_item(im, line, it)) !=
		    0) {
			item_free(it);
			continue;
		}
		if (++im->n == BATCH && (rc = write_batch(im)) != CTL_OK)
			goto done;
	}
	if (im->n > 0 && (rc = write_batch(im)) != CTL_OK)
		goto done;
	report_progress(im, true);
	if (c->json) {
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_INT64(&doc, "imported", im->imported);
		BSON_APPEND_INT64(&doc, "replaced", im->replaced);
		BSON_APPEND_INT64(&doc, "skipped", im->skipped);
		BSON_APPEND_INT64(&doc, "failed", im->failed);
		ctl_print_json(&doc);
		bson_destroy(&doc);
	} else {
		printf("imported %ld, replaced %ld, skipped %ld (already there), failed %ld\n",
		       im->imported, im->replaced, im->skipped, im->failed);
	}
	rc = im->failed ? CTL_PARTIAL : CTL_OK;
done:
	for (size_t i = 0; i < im->n; i++)
		item_free(&im->items[i]);
	if (in && in != stdin)
		fclose(in);
	free(line);
	free(im);
	return rc;
}

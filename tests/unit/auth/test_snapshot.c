/*
 * test_snapshot.c - unit tests for plugins/auth/snapshot.c on real files in
 * a temporary directory: a record round trip; a preload rewrite followed
 * by appends, read back as each id's last state; a torn last append kept
 * out and reported; a file others may read, one too old, one missing and
 * one that is not a snapshot refused with their own codes; a failed
 * rewrite leaving the appended file in use.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cu_run.h"
#include "precis/error.h"

/* mosquitto_passwd format of "pw" (101 iterations) */
#define HASH7                                                                                      \
	"$7$101$wex6kWSmHy8aFFkI$qWKSow4T9otbCI9FPVVZ9oEw4OIB15zC/fyISCfv9/"                       \
	"Qxz4ZcckZNkLzU5e2fQNnuPWNVZzF8oeMSV7JNa9BP/w=="

static char dir[64], path[128];

static struct pc_principal_rec rec(const char *id, enum pc_role role, bool enabled)
{
	struct pc_principal_rec r;

	memset(&r, 0, sizeof r);
	snprintf(r.id, sizeof r.id, "%s", id);
	r.role = role;
	r.enabled = enabled;
	snprintf(r.password_hash, sizeof r.password_hash, "%s", HASH7);
	return r;
}

struct seen {
	size_t n;
	struct pc_principal_rec r[8];
};

static void collect(void *arg, const struct pc_principal_rec *r)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->r[s->n++] = *r;
}

static const struct pc_principal_rec *find(const struct seen *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->r[i].id, id) == 0)
			return &s->r[i];
	return NULL;
}

static int setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/precis-snapshot-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/auth.snapshot", dir);
	return 0;
}

static int teardown(void)
{
	char tmp[160];

	unlink(path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
	return 0;
}

static void test_record_round_trip(void)
{
	struct pc_principal_rec in = rec("dev-1", PC_ROLE_OPS, false), out;
	bson_t doc;
	size_t used = 0;
	bool gone = true;
	char err[128];

	CU_ASSERT_EQUAL_FATAL(auth__snapshot_encode(&in, NULL, &doc), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_decode(bson_get_data(&doc), doc.len, &used, &out, &gone, err,
	                                      sizeof err),
	                PC_OK);
	CU_ASSERT_EQUAL(used, doc.len);
	CU_ASSERT_FALSE(gone);
	CU_ASSERT_STRING_EQUAL(out.id, "dev-1");
	CU_ASSERT_EQUAL(out.role, PC_ROLE_OPS);
	CU_ASSERT_FALSE(out.enabled);
	CU_ASSERT_STRING_EQUAL(out.password_hash, HASH7);
	/* Cut short: "empty" (a torn append), not damage. */
	CU_ASSERT_EQUAL(auth__snapshot_decode(bson_get_data(&doc), doc.len - 1, &used, &out, &gone,
	                                      err, sizeof err),
	                PC_ERR_EMPTY);
	bson_destroy(&doc);
	CU_ASSERT_EQUAL_FATAL(auth__snapshot_encode(NULL, "dev-2", &doc), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_decode(bson_get_data(&doc), doc.len, &used, &out, &gone, err,
	                                      sizeof err),
	                PC_OK);
	CU_ASSERT_TRUE(gone);
	CU_ASSERT_STRING_EQUAL(out.id, "dev-2");
	bson_destroy(&doc);
	/* An id the registry could never hold is damage. */
	in = rec("bad/id", PC_ROLE_DEVICE, true);
	CU_ASSERT_EQUAL_FATAL(auth__snapshot_encode(&in, NULL, &doc), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_decode(bson_get_data(&doc), doc.len, &used, &out, &gone, err,
	                                      sizeof err),
	                PC_ERR_INVAL);
	bson_destroy(&doc);
}

/* A preload of a, b, c; then b disabled, c removed and d added by appends. */
static void write_history(void)
{
	struct auth__snapshot *s;
	struct pc_principal_rec a = rec("a", PC_ROLE_DEVICE, true), b = rec("b", PC_ROLE_APP, true),
	                        c = rec("c", PC_ROLE_ADMIN, true),
	                        b2 = rec("b", PC_ROLE_APP, false),
	                        dd = rec("d", PC_ROLE_BRIDGE, true);
	char err[256];

	s = auth__snapshot_open(path, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(auth__snapshot_begin(s, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &a, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &b, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &c, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_commit(s, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &b2, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, NULL, "c", err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &dd, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_flush(s, pc_wall_ms(), err, sizeof err), PC_OK);
	auth__snapshot_close(s);
}

static void test_rewrite_then_appends(void)
{
	struct auth__snapshot_info info;
	struct seen seen = {0};
	struct stat st;
	char err[256];

	write_history();
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(info.records, 6);
	CU_ASSERT_EQUAL(info.principals, 3);
	CU_ASSERT_STRING_EQUAL(info.damage, "");
	CU_ASSERT_EQUAL(seen.n, 3);
	CU_ASSERT_PTR_NOT_NULL(find(&seen, "a"));
	CU_ASSERT_PTR_NULL(find(&seen, "c"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(find(&seen, "b"));
	CU_ASSERT_FALSE(find(&seen, "b")->enabled);
	CU_ASSERT_PTR_NOT_NULL_FATAL(find(&seen, "d"));
	CU_ASSERT_EQUAL(find(&seen, "d")->role, PC_ROLE_BRIDGE);
	/* A second preload compacts: only its records remain. */
	{
		struct auth__snapshot *s = auth__snapshot_open(path, err, sizeof err);
		struct pc_principal_rec a = rec("a", PC_ROLE_DEVICE, true);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(auth__snapshot_begin(s, err, sizeof err), PC_OK);
		CU_ASSERT_EQUAL(auth__snapshot_record(s, &a, NULL, err, sizeof err), PC_OK);
		CU_ASSERT_EQUAL(auth__snapshot_commit(s, err, sizeof err), PC_OK);
		auth__snapshot_close(s);
	}
	memset(&seen, 0, sizeof seen);
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(info.records, 1);
	CU_ASSERT_EQUAL(seen.n, 1);
	unlink(path);
}

static void test_torn_append(void)
{
	struct auth__snapshot_info info;
	struct seen seen = {0};
	struct stat st;
	char err[256];

	write_history();
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL_FATAL(truncate(path, st.st_size - 3), 0); /* the append of d, torn */
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(info.records, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(info.damage, "cut short"));
	CU_ASSERT_PTR_NULL(find(&seen, "d"));
	CU_ASSERT_PTR_NOT_NULL(find(&seen, "a"));
	unlink(path);
}

static void test_refusals(void)
{
	struct auth__snapshot_info info;
	struct seen seen = {0};
	char err[256];
	FILE *f;

	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_ERR_EMPTY);
	write_history();
	/* Too old: the file's mtime is what counts. */
	CU_ASSERT_EQUAL(auth__snapshot_read(path, 60000, pc_wall_ms() + 61000, collect, &seen,
	                                    &info, err, sizeof err),
	                PC_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "old"));
	/* Readable by others: refused, and the writer puts the mode back. */
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0600"));
	auth__snapshot_close(auth__snapshot_open(path, err, sizeof err));
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(seen.n, 3);
	unlink(path);
	/* Not a snapshot at all. */
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"i\": \"a\"}\n", f);
	fclose(f);
	chmod(path, 0600);
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_ERR_INVAL);
	unlink(path);
	/* A directory that does not exist: the writer says so. */
	CU_ASSERT_PTR_NULL(auth__snapshot_open("/nonexistent/dir/auth.snapshot", err, sizeof err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open"));
}

static void test_commit_without_rewrite(void)
{
	struct pc_principal_rec a = rec("a", PC_ROLE_DEVICE, true);
	struct auth__snapshot_info info;
	struct auth__snapshot *s;
	struct seen seen = {0};
	char err[256];

	s = auth__snapshot_open(path, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(auth__snapshot_record(s, &a, NULL, err, sizeof err), PC_OK);
	CU_ASSERT_EQUAL(auth__snapshot_commit(s, err, sizeof err), PC_ERR_IO);
	auth__snapshot_close(s);
	/* The appended record is still there. */
	CU_ASSERT_EQUAL(
	    auth__snapshot_read(path, 60000, pc_wall_ms(), collect, &seen, &info, err, sizeof err),
	    PC_OK);
	CU_ASSERT_EQUAL(seen.n, 1);
	unlink(path);
}

static CU_TestInfo tests[] = {
    {"a record round trip; torn and invalid records", test_record_round_trip},
    {"a rewrite then appends read back as each id's last state", test_rewrite_then_appends},
    {"a torn last append is left out and reported", test_torn_append},
    {"missing, too old, exposed and foreign files refused", test_refusals},
    {"a commit without a rewrite keeps the appended file", test_commit_without_rewrite},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	int rc;

	if (setup() != 0) {
		perror("mkdtemp");
		return 1;
	}
	rc = pc_cu_run("snapshot", tests);
	teardown();
	return rc;
}

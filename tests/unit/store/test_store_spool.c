/*
 * test_store_spool.c - unit tests for plugins/store/spool.c and
 * spool_read.c on real files in a temporary directory: append and read
 * back in order; segments rotate, are read across and deleted behind the
 * checkpoint with the byte count following; a full spool refuses and
 * recovers; reopening replays from the checkpoint and continues the
 * sequence; a torn tail is cut off; a damaged record is skipped and
 * counted; a bad checkpoint replays everything; a segment with a bad
 * header or another spool's epoch is set aside; the directory lock; the
 * quarantine file; and a writer thread racing the reader.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu_run.h"
#include "precis/error.h"
#include "spool.h"
#include "test_util.h"

static char dir[64];
static struct tu_capture *cap;
static struct pc_logger logger;

static void fresh_dir(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
	strcpy(dir, "/tmp/precis-spool-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	strcat(dir, "/s"); /* the spool creates its own directory */
	if (!cap) {
		cap = tu_capture_new();
		logger = (struct pc_logger){tu_capture_sink, cap, PC_LOG_DEBUG, "spool"};
	}
}

static void cleanup_dir(void)
{
	char cmd[128];

	dir[strlen(dir) - 2] = '\0';
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	dir[0] = '\0';
}

static int open_spool(struct store__spool *s, uint64_t max, uint64_t seg)
{
	char err[256] = "";
	int rc = store__spool_open(s, dir, max, seg, &logger, err, sizeof err);

	if (rc != PC_OK)
		fprintf(stderr, "\n  open: %s\n", err);
	return rc;
}

static int append(struct store__spool *s, unsigned i, uint64_t *seq)
{
	char topic[32], payload[64];

	snprintf(topic, sizeof topic, "dev/d%u/data", i % 7);
	snprintf(payload, sizeof payload, "{\"n\":%u,\"pad\":\"%0*d\"}", i, (int)(i % 40), 0);
	return store__spool_append(s, 1000 + i, 1, topic, strlen(topic), payload, strlen(payload),
	                           seq, NULL, 0);
}

/* read_expect - read records and check they carry n = from .. to-1; returns how many matched. */
static unsigned read_expect(struct store__spool *s, unsigned from, unsigned to)
{
	struct store__record r;
	struct store__pos after;
	unsigned ok = 0;

	for (unsigned i = from; i < to; i++) {
		char want[64];

		if (store__spool_next(s, &r, &after) != PC_OK)
			break;
		snprintf(want, sizeof want, "{\"n\":%u,", i);
		if (r.recv_ms == 1000 + (int64_t)i && r.payload_len > strlen(want) &&
		    memcmp(r.payload, want, strlen(want)) == 0)
			ok++;
	}
	return ok;
}

static uint64_t dir_bytes(const char *suffix, unsigned *nfiles)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t total = 0;

	*nfiles = 0;
	while (d && (e = readdir(d)) != NULL) {
		char path[512];
		struct stat st;
		size_t n = strlen(e->d_name), k = strlen(suffix);

		if (n < k || strcmp(e->d_name + n - k, suffix) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0) {
			total += (uint64_t)st.st_size;
			(*nfiles)++;
		}
	}
	if (d)
		closedir(d);
	return total;
}

static void test_append_and_read(void)
{
	struct store__spool s;
	struct store__record r;
	struct store__pos after, start;
	uint64_t seq;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 64 << 10), PC_OK);
	CU_ASSERT_EQUAL(store__spool_next(&s, &r, &after), PC_ERR_EMPTY);
	start = store__spool_position(&s);
	for (unsigned i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(append(&s, i, &seq), PC_OK);
		CU_ASSERT_EQUAL(seq, i);
	}
	CU_ASSERT_EQUAL(store__spool_committed(&s).seq, 100);
	CU_ASSERT_EQUAL(read_expect(&s, 0, 100), 100);
	CU_ASSERT_EQUAL(store__spool_next(&s, &r, &after), PC_ERR_EMPTY);
	/* Rewind and read again. */
	store__spool_rewind(&s, &start);
	CU_ASSERT_EQUAL(read_expect(&s, 0, 3), 3);
	CU_ASSERT_EQUAL(store__spool_position(&s).seq, 3);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	store__spool_close(&s);
	cleanup_dir();
}

static void test_rotation_checkpoint_and_bytes(void)
{
	struct store__spool s;
	uint64_t seq;
	unsigned files;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	for (unsigned i = 0; i < 600; i++)
		CU_ASSERT_EQUAL(append(&s, i, &seq), PC_OK);
	dir_bytes(".spool", &files);
	CU_ASSERT_TRUE(files > 10);
	CU_ASSERT_EQUAL(atomic_load(&s.bytes), dir_bytes(".spool", &files));
	CU_ASSERT_EQUAL(read_expect(&s, 0, 300), 300);
	{
		struct store__pos done = store__spool_position(&s);
		unsigned before;

		dir_bytes(".spool", &before);
		CU_ASSERT_EQUAL(store__spool_checkpoint(&s, &done, false), PC_OK);
		dir_bytes(".spool", &files);
		CU_ASSERT_TRUE(files < before);
		CU_ASSERT_EQUAL(atomic_load(&s.bytes), dir_bytes(".spool", &files));
	}
	CU_ASSERT_EQUAL(read_expect(&s, 300, 600), 300);
	store__spool_close(&s);
	cleanup_dir();
}

static void test_full_and_recovery(void)
{
	struct store__spool s;
	struct store__pos done;
	uint64_t seq;
	unsigned n = 0, files;
	int rc;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 64 << 10, 8 << 10), PC_OK);
	while ((rc = append(&s, n, &seq)) == PC_OK)
		n++;
	CU_ASSERT_EQUAL(rc, PC_ERR_FULL);
	CU_ASSERT_TRUE(n > 400);
	CU_ASSERT_TRUE(atomic_load(&s.bytes) <= 64 << 10);
	CU_ASSERT_EQUAL(atomic_load(&s.bytes), dir_bytes(".spool", &files));
	CU_ASSERT_EQUAL(append(&s, n, &seq), PC_ERR_FULL); /* still full, nothing written */
	CU_ASSERT_EQUAL(store__spool_committed(&s).seq, n);
	CU_ASSERT_EQUAL(read_expect(&s, 0, n), n);
	done = store__spool_position(&s);
	CU_ASSERT_EQUAL(store__spool_checkpoint(&s, &done, false), PC_OK);
	CU_ASSERT_EQUAL(append(&s, n, &seq), PC_OK); /* room again */
	CU_ASSERT_EQUAL(seq, n);
	CU_ASSERT_EQUAL(read_expect(&s, n, n + 1), 1);
	store__spool_close(&s);
	cleanup_dir();
}

static void test_reopen_replays_from_checkpoint(void)
{
	struct store__spool s;
	struct store__pos done;
	uint64_t seq, epoch;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	epoch = s.epoch;
	for (unsigned i = 0; i < 200; i++)
		append(&s, i, &seq);
	CU_ASSERT_EQUAL(read_expect(&s, 0, 120), 120);
	done = store__spool_position(&s);
	CU_ASSERT_EQUAL(store__spool_checkpoint(&s, &done, true), PC_OK);
	CU_ASSERT_EQUAL(read_expect(&s, 120, 150), 30); /* read, not checkpointed */
	store__spool_close(&s);

	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	CU_ASSERT_EQUAL(s.epoch, epoch);
	CU_ASSERT_EQUAL(s.recovered_records, 80);
	CU_ASSERT_EQUAL(store__spool_position(&s).seq, 120);
	CU_ASSERT_EQUAL(append(&s, 200, &seq), PC_OK);
	CU_ASSERT_EQUAL(seq, 200);
	CU_ASSERT_EQUAL(read_expect(&s, 120, 201), 81);
	store__spool_close(&s);
	cleanup_dir();
}

static void seg_path(char *buf, size_t len, uint64_t segno)
{
	snprintf(buf, len, "%s/seg-%016llx.spool", dir, (unsigned long long)segno);
}

/* ten_records - a fresh spool holding records 0..9, closed; path of its segment into path. */
static void ten_records(char *path, size_t len)
{
	struct store__spool s;
	uint64_t seq;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 64 << 10), PC_OK);
	for (unsigned i = 0; i < 10; i++)
		append(&s, i, &seq);
	seg_path(path, len, s.wseg);
	store__spool_close(&s);
}

static void test_torn_tail_is_cut(void)
{
	struct store__spool s;
	char path[512];
	uint64_t seq;
	struct stat st;
	int fd;

	/* A process killed in the middle of a write leaves half a record. */
	ten_records(path, sizeof path);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_EQUAL(write(fd, "PRSR\x40\x00\x00\x00\x01\x02", 10), 10);
	close(fd);

	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 64 << 10), PC_OK);
	CU_ASSERT_TRUE(tu_capture_count(cap, "torn record") >= 1);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(store__spool_committed(&s).seq, 10);
	CU_ASSERT_EQUAL(read_expect(&s, 0, 10), 10);
	CU_ASSERT_EQUAL(append(&s, 10, &seq), PC_OK);
	CU_ASSERT_EQUAL(seq, 10);
	CU_ASSERT_EQUAL(read_expect(&s, 10, 11), 1);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	store__spool_close(&s);
	cleanup_dir();
}

static void test_damaged_record_is_skipped(void)
{
	struct store__spool s;
	struct store__record r;
	struct store__pos after, start;
	char path[512];
	unsigned got = 0;
	int fd, logged;

	ten_records(path, sizeof path);
	fd = open(path, O_RDWR);
	/* Flip a payload byte of the fourth record (records are ~60-100 bytes). */
	{
		uint8_t buf[4096];
		ssize_t n = pread(fd, buf, sizeof buf, 0);
		size_t off = STORE_SEG_HEADER_SIZE;
		struct store__record rr;

		for (int k = 0; k < 3; k++) {
			CU_ASSERT_EQUAL(store__record_decode(buf + off, (size_t)n - off, &rr),
			                PC_OK);
			off += rr.size;
		}
		buf[off + STORE_REC_HEADER_SIZE + STORE_REC_FIXED_SIZE + 2] ^= 0x20;
		CU_ASSERT_EQUAL(pwrite(fd, buf, (size_t)n, 0), n);
	}
	close(fd);
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 64 << 10), PC_OK);
	start = store__spool_position(&s);
	logged = tu_capture_count(cap, "damaged record"); /* the capture spans the tests */
	while (store__spool_next(&s, &r, &after) == PC_OK) {
		CU_ASSERT_NOT_EQUAL(r.seq, 3);
		got++;
	}
	CU_ASSERT_EQUAL(got, 9);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 1);
	CU_ASSERT_EQUAL(tu_capture_count(cap, "damaged record"), logged + 1);
	/* The writer rewinds and reads again (a delayed or failed batch): counted and logged once.
	 */
	store__spool_rewind(&s, &start);
	got = 0;
	while (store__spool_next(&s, &r, &after) == PC_OK)
		got++;
	CU_ASSERT_EQUAL(got, 9);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	CU_ASSERT_EQUAL(tu_capture_count(cap, "damaged record"), logged + 1);
	store__spool_close(&s);
	cleanup_dir();
}

/*
 * A read that fails (here: pread on a directory, EISDIR) skips nothing: the
 * reader keeps its position, logs once, and reads every record once the
 * file reads again.
 */
static void test_read_error_skips_nothing(void)
{
	struct store__spool s;
	struct store__record r;
	struct store__pos after, before;
	char path[512];
	int logged, damaged;

	ten_records(path, sizeof path);
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 64 << 10), PC_OK);
	logged = tu_capture_count(cap, "cannot read segment"); /* the capture spans the tests */
	damaged = tu_capture_count(cap, "damaged record");
	before = store__spool_position(&s);
	if (s.rfd >= 0)
		close(s.rfd);
	s.rfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* reads fail with EISDIR */
	s.rfd_seg = before.seg;
	CU_ASSERT_TRUE_FATAL(s.rfd >= 0);
	CU_ASSERT_EQUAL(store__spool_next(&s, &r, &after), PC_ERR_IO);
	CU_ASSERT_EQUAL(store__spool_position(&s).seg, before.seg);
	CU_ASSERT_EQUAL(store__spool_position(&s).off, before.off);
	CU_ASSERT_EQUAL(store__spool_position(&s).seq, before.seq);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	CU_ASSERT_EQUAL(store__spool_next(&s, &r, &after), PC_OK); /* reopened: reads again */
	CU_ASSERT_EQUAL(tu_capture_count(cap, "cannot read segment"), logged + 1);
	CU_ASSERT_EQUAL(tu_capture_count(cap, "damaged record"), damaged);
	/* The failing descriptor was closed and the file reopened: all ten records are there. */
	store__spool_rewind(&s, &before);
	CU_ASSERT_EQUAL(read_expect(&s, 0, 10), 10);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	store__spool_close(&s);
	cleanup_dir();
}

static void test_bad_checkpoint_and_bad_segments(void)
{
	struct store__spool s, other;
	char path[512];
	uint64_t seq, seg1, done_seq;
	struct store__pos done;
	unsigned files;
	int fd;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	seg1 = s.wseg;
	for (unsigned i = 0; i < 1000; i++)
		append(&s, i, &seq);
	read_expect(&s, 0, 50);
	done = store__spool_position(&s);
	done_seq = done.seq;
	store__spool_checkpoint(&s, &done, false);
	store__spool_close(&s);
	/* A checkpoint that does not check out: replay from the oldest segment left. */
	snprintf(path, sizeof path, "%s/checkpoint", dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_EQUAL(write(fd, "garbage\n", 8), 8);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	CU_ASSERT_TRUE(store__spool_position(&s).seq <= done_seq);
	CU_ASSERT_EQUAL(store__spool_committed(&s).seq, 1000);
	store__spool_close(&s);

	/* A segment with a broken header is renamed and skipped. */
	seg_path(path, sizeof path, seg1 + 10);
	fd = open(path, O_RDWR);
	CU_ASSERT_TRUE(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 1 << 20, 4096), PC_OK);
	dir_bytes(".damaged", &files);
	CU_ASSERT_EQUAL(files, 1);
	CU_ASSERT_TRUE(tu_capture_count(cap, "bad header or belongs to another spool") >= 1);
	{
		struct store__record r;
		struct store__pos after;
		unsigned got = 0;

		while (store__spool_next(&s, &r, &after) == PC_OK)
			got++;
		CU_ASSERT_TRUE(got > 0);
		CU_ASSERT_TRUE(store__spool_take_lost(&s) > 0); /* the records of that segment */
	}
	/* The lock: a second user of the directory is refused. */
	{
		char err[256] = "";

		CU_ASSERT_EQUAL(
		    store__spool_open(&other, dir, 1 << 20, 4096, &logger, err, sizeof err),
		    PC_ERR_IO);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use by another process"));
		store__spool_close(&other);
	}
	store__spool_close(&s);
	cleanup_dir();
}

static void test_sizes_and_quarantine(void)
{
	struct store__spool s;
	struct store__record r;
	struct store__pos after;
	char err[256], path[512];
	uint64_t seq;
	unsigned files;

	fresh_dir();
	CU_ASSERT_EQUAL(store__spool_open(&s, dir, 1 << 20, 1024, &logger, err, sizeof err),
	                PC_ERR_INVAL);
	store__spool_close(&s);
	CU_ASSERT_EQUAL(store__spool_open(&s, dir, 8192, 8192, &logger, err, sizeof err),
	                PC_ERR_INVAL);
	store__spool_close(&s);
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 64 << 10, 4096), PC_OK);
	append(&s, 1, &seq);
	CU_ASSERT_EQUAL(store__spool_next(&s, &r, &after), PC_OK);
	CU_ASSERT_EQUAL(store__spool_quarantine(&s, &r), PC_OK);
	CU_ASSERT_EQUAL(store__spool_quarantine(&s, &r), PC_OK);
	snprintf(path, sizeof path, "%s/rejected.spool", dir);
	CU_ASSERT_EQUAL(access(path, R_OK), 0);
	CU_ASSERT_EQUAL(dir_bytes("rejected.spool", &files),
	                STORE_SEG_HEADER_SIZE + 2 * (uint64_t)r.size);
	/* Capped at one segment's size. */
	while (store__spool_quarantine(&s, &r) == PC_OK)
		;
	CU_ASSERT_EQUAL(store__spool_quarantine(&s, &r), PC_ERR_FULL);
	CU_ASSERT_TRUE(dir_bytes("rejected.spool", &files) <= 4096);
	CU_ASSERT_EQUAL(store__spool_sync(&s), PC_OK);
	store__spool_close(&s);
	cleanup_dir();
}

struct race {
	struct store__spool *s;
	unsigned n;
};

static void *race_writer(void *arg)
{
	struct race *rc = arg;
	uint64_t seq;

	for (unsigned i = 0; i < rc->n; i++) {
		while (append(rc->s, i, &seq) == PC_ERR_FULL)
			usleep(100);
	}
	return NULL;
}

static void test_writer_races_reader(void)
{
	struct store__spool s;
	struct race rc = {&s, 20000};
	pthread_t t;
	unsigned got = 0, bad = 0;
	int64_t deadline;

	fresh_dir();
	CU_ASSERT_EQUAL_FATAL(open_spool(&s, 256 << 10, 16 << 10), PC_OK);
	pthread_create(&t, NULL, race_writer, &rc);
	deadline = tu_now_ms() + 60000;
	while (got < rc.n && tu_now_ms() < deadline) {
		struct store__record r;
		struct store__pos after;

		if (store__spool_next(&s, &r, &after) != PC_OK) {
			struct store__pos done = store__spool_position(&s);

			store__spool_checkpoint(&s, &done, false);
			usleep(50);
			continue;
		}
		bad += r.seq != got || r.recv_ms != 1000 + (int64_t)got;
		got++;
		if (got % 500 == 0) {
			struct store__pos done = store__spool_position(&s);

			store__spool_checkpoint(&s, &done, false);
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(got, rc.n);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(store__spool_take_lost(&s), 0);
	store__spool_close(&s);
	cleanup_dir();
}

static CU_TestInfo tests[] = {
    {"append, read back, rewind", test_append_and_read},
    {"rotation, checkpoint deletes, byte count", test_rotation_checkpoint_and_bytes},
    {"a full spool refuses, then has room again", test_full_and_recovery},
    {"reopen replays from the checkpoint", test_reopen_replays_from_checkpoint},
    {"a torn tail is cut off", test_torn_tail_is_cut},
    {"a damaged record is skipped and counted", test_damaged_record_is_skipped},
    {"a failed read skips nothing and is retried", test_read_error_skips_nothing},
    {"bad checkpoint, bad segment, the lock", test_bad_checkpoint_and_bad_segments},
    {"size rules and the quarantine file", test_sizes_and_quarantine},
    {"a writer thread racing the reader", test_writer_races_reader},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	int rc = pc_cu_run("store_spool", tests);

	tu_capture_free(cap);
	return rc;
}

/*
 * test_log.c - unit tests for common/log.c: level filtering, the
 * "prefix: " format, truncation at PC_LOG_LINE_MAX, level names, and the
 * stderr sink (output format, and one write per line under concurrency).
 * Lines sent to a sink are caught with test_util's capturing sink, which
 * keeps more than PC_LOG_LINE_MAX characters and each line's length as
 * received, so an over-long line would show.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu_run.h"
#include "precis/log.h"
#include "test_util.h"

/*
 * What the shared capture (test_util) saw last: how many lines its sink
 * was called with, and the level, text and length of the last one. The
 * length is the line's as the sink received it, so a line longer than
 * PC_LOG_LINE_MAX shows; 0 when there was no line.
 */
struct seen {
	int calls;
	enum pc_log_level level;
	char line[TU_CAPTURE_LINE_MAX + 1];
	long len;
};

static struct seen last_seen(struct tu_capture *c)
{
	struct seen s = {0};

	s.calls = tu_capture_received(c);
	if (s.calls > 0)
		s.len = tu_capture_get(c, s.calls - 1, &s.level, s.line, sizeof s.line);
	return s;
}

static void test_prefix_and_format(void)
{
	struct tu_capture *c = tu_capture_new();
	struct pc_logger log = {tu_capture_sink, c, PC_LOG_DEBUG, "auth"};
	struct seen s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	pc_log(&log, PC_LOG_INFO, "device %s connected (%d)", "d1", 42);
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(s.level, PC_LOG_INFO);
	CU_ASSERT_STRING_EQUAL(s.line, "auth: device d1 connected (42)");

	log.prefix = NULL;
	pc_log(&log, PC_LOG_ERR, "plain");
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(s.level, PC_LOG_ERR);
	CU_ASSERT_STRING_EQUAL(s.line, "plain");

	log.prefix = "";
	pc_log(&log, PC_LOG_NOTICE, "empty prefix");
	CU_ASSERT_STRING_EQUAL(last_seen(c).line, "empty prefix");

	log.prefix = "p";
	pc_log(&log, PC_LOG_NOTICE, "%s", "");
	CU_ASSERT_STRING_EQUAL(last_seen(c).line, "p: ");
	tu_capture_free(c);
}

static void test_min_level(void)
{
	static const enum pc_log_level levels[] = {PC_LOG_DEBUG, PC_LOG_INFO, PC_LOG_NOTICE,
	                                           PC_LOG_WARNING, PC_LOG_ERR};
	struct tu_capture *c = tu_capture_new();
	size_t min, lv;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (min = 0; min < 5; min++) {
		for (lv = 0; lv < 5; lv++) {
			struct pc_logger log = {tu_capture_sink, c, levels[min], NULL};
			int before = tu_capture_received(c);

			pc_log(&log, levels[lv], "x");
			/* The sink calls made by this pc_log alone. */
			CU_ASSERT_EQUAL(tu_capture_received(c) - before, lv >= min ? 1 : 0);
		}
	}
	tu_capture_free(c);
}

static void test_off(void)
{
	struct tu_capture *c = tu_capture_new();
	struct pc_logger log = {NULL, c, PC_LOG_DEBUG, "p"};
	struct seen s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	pc_log(&log, PC_LOG_ERR, "dropped");
	pc_log(NULL, PC_LOG_ERR, "dropped");
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.calls, 0);
	CU_ASSERT_EQUAL(s.len, 0);
	tu_capture_free(c);
}

static void test_truncation(void)
{
	struct tu_capture *c = tu_capture_new();
	struct pc_logger log = {tu_capture_sink, c, PC_LOG_DEBUG, "pfx"};
	struct seen s;
	char big[3000];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	pc_log(&log, PC_LOG_INFO, "%s", big);
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.len, PC_LOG_LINE_MAX);
	CU_ASSERT_NSTRING_EQUAL(s.line, "pfx: aaaa", 9);
	CU_ASSERT_EQUAL(s.line[PC_LOG_LINE_MAX - 1], 'a');

	/* Exactly PC_LOG_LINE_MAX fits whole. */
	big[PC_LOG_LINE_MAX - 5] = '\0';
	pc_log(&log, PC_LOG_INFO, "%s", big);
	CU_ASSERT_EQUAL(last_seen(c).len, PC_LOG_LINE_MAX);

	/* One less than that is not padded. */
	big[PC_LOG_LINE_MAX - 6] = '\0';
	pc_log(&log, PC_LOG_INFO, "%s", big);
	CU_ASSERT_EQUAL(last_seen(c).len, PC_LOG_LINE_MAX - 1);

	/* A prefix longer than a line is cut too, and the message dropped. */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log.prefix = big;
	pc_log(&log, PC_LOG_INFO, "message");
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.len, PC_LOG_LINE_MAX);
	CU_ASSERT_PTR_NULL(strstr(s.line, "message"));
	tu_capture_free(c);
}

static void call_vlog(const struct pc_logger *log, enum pc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void call_vlog(const struct pc_logger *log, enum pc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_vlog(log, level, fmt, ap);
	va_end(ap);
}

static void test_vlog(void)
{
	struct tu_capture *c = tu_capture_new();
	struct pc_logger log = {tu_capture_sink, c, PC_LOG_INFO, "store"};
	struct seen s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	call_vlog(&log, PC_LOG_WARNING, "%d of %d spooled", 3, 10);
	s = last_seen(c);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(s.level, PC_LOG_WARNING);
	CU_ASSERT_STRING_EQUAL(s.line, "store: 3 of 10 spooled");
	call_vlog(&log, PC_LOG_DEBUG, "below min");
	CU_ASSERT_EQUAL(last_seen(c).calls, 1);
	tu_capture_free(c);
}

static void test_level_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_log_level_name(PC_LOG_DEBUG), "debug");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name(PC_LOG_INFO), "info");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name(PC_LOG_NOTICE), "notice");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name(PC_LOG_WARNING), "warning");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name(PC_LOG_ERR), "err");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name((enum pc_log_level)5), "?");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name((enum pc_log_level) - 1), "?");
	CU_ASSERT_STRING_EQUAL(pc_log_level_name((enum pc_log_level)1000), "?");
}

/*
 * with_stderr_file - point fd 2 at a fresh O_APPEND temp file, run fn,
 * restore stderr and return the file's contents (malloc'd, NUL-terminated).
 */
static char *with_stderr_file(void (*fn)(void))
{
	char path[] = "/tmp/precis-test-log-XXXXXX";
	int fd, saved;
	off_t size;
	char *out = NULL;

	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (fcntl(fd, F_SETFL, O_APPEND) != 0)
		goto done;
	saved = dup(STDERR_FILENO);
	if (saved < 0)
		goto done;
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		goto done;
	out = calloc(1, (size_t)size + 1);
	if (out != NULL && pread(fd, out, (size_t)size, 0) != size) {
		free(out);
		out = NULL;
	}
done:
	close(fd);
	return out;
}

static void emit_two_lines(void)
{
	struct pc_logger log = {pc_log_stderr_sink, NULL, PC_LOG_DEBUG, "tool"};

	pc_log(&log, PC_LOG_WARNING, "disk %d%% full", 91);
	pc_log_stderr_sink(NULL, PC_LOG_DEBUG, "raw");
	pc_log(&log, PC_LOG_DEBUG, "dbg");
}

static void test_stderr_sink_format(void)
{
	char *out = with_stderr_file(emit_two_lines);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, "warning: tool: disk 91% full\ndebug: raw\ndebug: tool: dbg\n");
	free(out);
}

static void emit_long_line(void)
{
	char big[2000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pc_log_stderr_sink(NULL, PC_LOG_ERR, big);
}

static void test_stderr_sink_long(void)
{
	char *out = with_stderr_file(emit_long_line);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	/* "err: " + at most PC_LOG_LINE_MAX characters + "\n". */
	CU_ASSERT_EQUAL(strlen(out), 5 + PC_LOG_LINE_MAX + 1);
	CU_ASSERT_NSTRING_EQUAL(out, "err: zzz", 8);
	CU_ASSERT_EQUAL(out[strlen(out) - 1], '\n');
	free(out);
}

#define N_THREADS 4
#define N_LINES   500

static void *writer(void *arg)
{
	struct pc_logger log = {pc_log_stderr_sink, NULL, PC_LOG_DEBUG, "thread"};
	char body[201];
	int id = (int)(size_t)arg, i;

	memset(body, 'a' + id, sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	for (i = 0; i < N_LINES; i++)
		pc_log(&log, PC_LOG_INFO, "%d %04d %s", id, i, body);
	return NULL;
}

static void emit_concurrently(void)
{
	pthread_t th[N_THREADS];
	size_t i;

	for (i = 0; i < N_THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
}

static void test_stderr_sink_no_interleaving(void)
{
	char *out = with_stderr_file(emit_concurrently), *line, *save = NULL;
	int counts[N_THREADS] = {0}, next[N_THREADS] = {0}, bad = 0, id, seq, n;
	char body[256];
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		n = 0;
		if (sscanf(line, "info: thread: %d %d %255s%n", &id, &seq, body, &n) != 3 ||
		    (size_t)n != strlen(line) || id < 0 || id >= N_THREADS || strlen(body) != 200) {
			bad++;
			continue;
		}
		for (i = 0; i < 200; i++) {
			if (body[i] != 'a' + id) {
				bad++;
				break;
			}
		}
		if (seq != next[id])
			bad++;
		next[id] = seq + 1;
		counts[id]++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < N_THREADS; i++)
		CU_ASSERT_EQUAL(counts[i], N_LINES);
	free(out);
}

static CU_TestInfo tests[] = {
    {"prefix and format", test_prefix_and_format},
    {"min_level filters", test_min_level},
    {"NULL logger or sink is off", test_off},
    {"long lines are cut at PC_LOG_LINE_MAX", test_truncation},
    {"pc_vlog", test_vlog},
    {"level names", test_level_names},
    {"stderr sink format", test_stderr_sink_format},
    {"stderr sink cuts long lines", test_stderr_sink_long},
    {"stderr sink lines do not interleave", test_stderr_sink_no_interleaving},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("log", tests);
}

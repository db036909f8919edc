/*
 * log.c - format log lines and hand them to a sink.
 *
 * pc_log/pc_vlog format "prefix: message" into a stack buffer of
 * PC_LOG_LINE_MAX + 1 bytes (longer lines are cut) and call the logger's
 * sink; they never allocate and never fail, so they are safe on any thread
 * and on error paths after an allocation failure. pc_log_stderr_sink is the
 * sink tools use. Called by every component that logs; the plugins install
 * their own sink that forwards lines to the broker thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "precis/log.h"

static const char *const level_names[] = {"debug", "info", "notice", "warning", "err"};

/* pc_log_level_name - contract in log.h. */
const char *pc_log_level_name(enum pc_log_level level)
{
	if ((int)level < 0 || (size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

/*
 * pc_vlog - contract in log.h. The prefix is copied first, then the
 * message is formatted after it; both are truncated to PC_LOG_LINE_MAX.
 */
void pc_vlog(const struct pc_logger *log, enum pc_log_level level, const char *fmt, va_list ap)
{
	char line[PC_LOG_LINE_MAX + 1];
	size_t used = 0;
	int n;

	if (log == NULL || log->sink == NULL || level < log->min_level || fmt == NULL)
		return;
	if (log->prefix != NULL && log->prefix[0] != '\0') {
		n = snprintf(line, sizeof(line), "%s: ", log->prefix);
		if (n < 0)
			n = 0;
		used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	}
	line[used] = '\0';
	if (used < sizeof(line) - 1) {
		n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
		if (n < 0)
			line[used] = '\0';
	}
	log->sink(log->userdata, level, line);
}

/* pc_log - contract in log.h. */
void pc_log(const struct pc_logger *log, enum pc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_vlog(log, level, fmt, ap);
	va_end(ap);
}

/*
 * pc_log_stderr_sink - contract in log.h. Builds "level: line\n" in one
 * buffer and writes it with write(2), retrying on EINTR and short writes.
 */
void pc_log_stderr_sink(void *userdata, enum pc_log_level level, const char *line)
{
	/* "warning: " is the longest level prefix; +1 for '\n', +1 for NUL. */
	char buf[PC_LOG_LINE_MAX + 16];
	const char *p;
	size_t len;
	ssize_t w;
	int n;

	(void)userdata;
	n = snprintf(buf, sizeof(buf) - 1, "%s: %.*s", pc_log_level_name(level), PC_LOG_LINE_MAX,
	             line != NULL ? line : "");
	if (n < 0)
		return;
	len = (size_t)n < sizeof(buf) - 1 ? (size_t)n : sizeof(buf) - 2;
	buf[len++] = '\n';
	p = buf;
	while (len > 0) {
		w = write(STDERR_FILENO, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		len -= (size_t)w;
	}
}

/*
 * log.h - the logging sink interface of libprecis.
 *
 * Library code never prints. It formats a line and hands it to a sink: a
 * function pointer plus its userdata. Tools use pc_log_stderr_sink; the
 * broker plugins install a sink that queues lines for the broker thread,
 * since mosquitto_log_printf may only be called there.
 */
#ifndef PRECIS_LOG_H
#define PRECIS_LOG_H

#include <stdarg.h>

enum pc_log_level {
	PC_LOG_DEBUG = 0,
	PC_LOG_INFO = 1,
	PC_LOG_NOTICE = 2,
	PC_LOG_WARNING = 3,
	PC_LOG_ERR = 4,
};

/* Longest line a sink receives, excluding the NUL; longer lines are cut. */
#define PC_LOG_LINE_MAX 1000

/*
 * A sink receives one formatted line (no trailing newline). The line is
 * valid only during the call. A sink may be called from any thread that
 * logs; it must be safe for that.
 */
typedef void (*pc_log_fn)(void *userdata, enum pc_log_level level, const char *line);

struct pc_logger {
	pc_log_fn sink;              /* NULL: logging is off */
	void *userdata;              /* passed to sink, not owned */
	enum pc_log_level min_level; /* lines below this level are dropped */
	const char *prefix;          /* prepended as "prefix: ", may be NULL; not owned */
};

/*
 * pc_log - format and emit one line at a level. A NULL logger, a NULL sink
 * or a level below min_level does nothing. Never fails, never allocates.
 */
void pc_log(const struct pc_logger *log, enum pc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pc_vlog - pc_log with a va_list. */
void pc_vlog(const struct pc_logger *log, enum pc_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * pc_log_level_name - "debug", "info", "notice", "warning" or "err";
 * "?" for anything else. Static storage.
 */
const char *pc_log_level_name(enum pc_log_level level);

/*
 * pc_log_stderr_sink - a sink that writes "level: line\n" to stderr with a
 * single write(2), so concurrent lines do not interleave. userdata unused.
 */
void pc_log_stderr_sink(void *userdata, enum pc_log_level level, const char *line);

#endif

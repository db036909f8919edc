/*
 * test_util.h - helpers shared by the CUnit unit tests (prefix tu_).
 *
 * Linked into every unit-test executable next to cu_run.c (see
 * tests/unit/CMakeLists.txt). Holds generic test tools, none about any
 * one module under test (some are used by one test so far): monotonic
 * time and sleeps, polling with a deadline instead of fixed sleeps, local
 * sockets for connection tests (a closed port, a listener that may stay
 * silent), a gate that holds a thread until the test releases it, and a
 * thread-safe log sink that captures every line for later search. Assumes
 * Linux (/proc for thread names) and POSIX threads. No function here
 * asserts: each returns what happened and the test decides.
 */
#ifndef PRECIS_TEST_UTIL_H
#define PRECIS_TEST_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/log.h"

/* How long every tu_wait_* polls before giving up. */
#define TU_DEADLINE_MS 5000

/* ---- time and polling ---- */

/* tu_now_ms - CLOCK_MONOTONIC in milliseconds; only differences mean anything. */
int64_t tu_now_ms(void);

/* tu_sleep_ms - sleep about ms milliseconds (ms >= 0); an interrupted sleep returns early. */
void tu_sleep_ms(int ms);

/*
 * tu_wait_until - call done(arg) every millisecond until it returns true;
 * returns true then, or false once TU_DEADLINE_MS have passed. done runs on
 * the caller's thread; arg is only passed through.
 */
bool tu_wait_until(bool (*done)(const void *arg), const void *arg);

/* tu_wait_count - tu_wait_until for atomic_load(counter) >= want. */
bool tu_wait_count(atomic_int *counter, int want);

/*
 * tu_thread_named - true when a thread of this process is named name (as
 * set by pthread_setname_np; read from /proc/self/task/<tid>/comm). False
 * when none is, or /proc cannot be read.
 */
bool tu_thread_named(const char *name);

/* tu_wait_thread_named - tu_wait_until for tu_thread_named(name). */
bool tu_wait_thread_named(const char *name);

/*
 * tu_wait_thread_gone - tu_wait_until for !tu_thread_named(name). A joined
 * thread can stay listed in /proc/self/task for a moment: pthread_join
 * returns when the kernel clears the thread id, before the task is reaped.
 */
bool tu_wait_thread_gone(const char *name);

/* ---- local sockets ---- */

/*
 * tu_closed_port - a port on 127.0.0.1 where nothing listens (bound, read
 * and closed again, so a connect is refused); 0 on failure.
 */
int tu_closed_port(void);

/*
 * tu_listen_loopback - a TCP socket on 127.0.0.1, on a port the kernel
 * chose (stored in *port), listening with a backlog of 4. Nothing
 * accepts unless the caller does: left alone it is a silent peer (connects
 * complete in the backlog, nothing is ever answered). Returns the
 * descriptor (the caller closes it) or -1 when bind or listen failed.
 */
int tu_listen_loopback(int *port);

/* ---- a gate that holds threads ---- */

/* Embedded in the caller's state; open after tu_gate_init. */
struct tu_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed; /* guarded by lock */
};

/* tu_gate_init / tu_gate_cleanup - set up an open gate; tear it down (no thread waiting). */
void tu_gate_init(struct tu_gate *g);
void tu_gate_cleanup(struct tu_gate *g);

/* tu_gate_set - close the gate, or open it and wake every thread held in tu_gate_pass. */
void tu_gate_set(struct tu_gate *g, bool closed);

/* tu_gate_pass - return at once when the gate is open, else wait until it opens. */
void tu_gate_pass(struct tu_gate *g);

/* ---- the capturing log sink ---- */

/* Lines kept per capture; later ones are only counted. */
#define TU_CAPTURE_LINES 256
/* Characters kept per line: beyond PC_LOG_LINE_MAX, so an over-long line shows. */
#define TU_CAPTURE_LINE_MAX (PC_LOG_LINE_MAX + 63)

struct tu_capture;

/*
 * tu_capture_new - an empty capture, or NULL when out of memory. Use it as
 * a logger's userdata with tu_capture_sink as the sink. The caller frees it
 * with tu_capture_free (NULL allowed) once no thread logs to it any more.
 */
struct tu_capture *tu_capture_new(void);
void tu_capture_free(struct tu_capture *c);

/*
 * tu_capture_sink - a pc_log_fn: store line and level under a lock, from
 * any thread. userdata is the struct tu_capture. Lines past
 * TU_CAPTURE_LINES are counted but not kept.
 */
void tu_capture_sink(void *userdata, enum pc_log_level level, const char *line);

/* tu_capture_received - how many lines the sink was called with, kept or not. */
int tu_capture_received(struct tu_capture *c);

/* tu_capture_find - index of the first kept line at or after from containing text, or -1. */
int tu_capture_find(struct tu_capture *c, int from, const char *text);

/* tu_capture_count - how many kept lines contain text. */
int tu_capture_count(struct tu_capture *c, const char *text);

/*
 * tu_capture_get - copy kept line i into buf (len bytes, cut to fit and
 * NUL-terminated; len > 0) and its level into *level. Returns the length of
 * the line as the sink received it (before any cut), or -1 when there is no
 * line i (then buf and *level are untouched).
 */
long tu_capture_get(struct tu_capture *c, int i, enum pc_log_level *level, char *buf, size_t len);

/* tu_capture_dump - print every kept line with its level to stderr (to explain a failure). */
void tu_capture_dump(struct tu_capture *c);

/* tu_capture_wait - tu_wait_until some kept line contains text. */
bool tu_capture_wait(struct tu_capture *c, const char *text);

#endif

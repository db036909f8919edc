/*
 * test_util.c - helpers shared by the CUnit unit tests: monotonic time,
 * polling with a deadline, thread names from /proc, loopback sockets, a
 * gate, and the capturing log sink. See test_util.h for each contract.
 *
 * Linked into every unit-test executable (tests/unit/CMakeLists.txt), so it
 * depends only on libc, POSIX threads and precis/log.h. Nothing here calls
 * CUnit: the tests assert on what these functions return.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

/* ---- time and polling ---- */

int64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

bool tu_wait_until(bool (*done)(const void *arg), const void *arg)
{
	int64_t until = tu_now_ms() + TU_DEADLINE_MS;

	while (!done(arg)) {
		if (tu_now_ms() > until)
			return false;
		tu_sleep_ms(1);
	}
	return true;
}

struct count_want {
	atomic_int *counter;
	int want;
};

static bool count_reached(const void *arg)
{
	const struct count_want *w = arg;

	return atomic_load(w->counter) >= w->want;
}

bool tu_wait_count(atomic_int *counter, int want)
{
	struct count_want w = {counter, want};

	return tu_wait_until(count_reached, &w);
}

bool tu_thread_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		char path[300], comm[64] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f)) {
			comm[strcspn(comm, "\n")] = '\0';
			found = strcmp(comm, name) == 0;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static bool thread_named(const void *name)
{
	return tu_thread_named(name);
}

bool tu_wait_thread_named(const char *name)
{
	return tu_wait_until(thread_named, name);
}

static bool thread_gone(const void *name)
{
	return !tu_thread_named(name);
}

bool tu_wait_thread_gone(const char *name)
{
	return tu_wait_until(thread_gone, name);
}

/* ---- local sockets ---- */

/* A TCP socket bound to 127.0.0.1 on a kernel-chosen port; -1 on failure. */
static int bind_loopback(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int tu_closed_port(void)
{
	int port = 0, fd = bind_loopback(&port);

	if (fd < 0)
		return 0;
	close(fd);
	return port;
}

int tu_listen_loopback(int *port)
{
	int fd = bind_loopback(port);

	if (fd >= 0 && listen(fd, 4) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- a gate that holds threads ---- */

void tu_gate_init(struct tu_gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->closed = false;
}

void tu_gate_cleanup(struct tu_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void tu_gate_set(struct tu_gate *g, bool closed)
{
	pthread_mutex_lock(&g->lock);
	g->closed = closed;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void tu_gate_pass(struct tu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->closed)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* ---- the capturing log sink ---- */

struct tu_capture {
	pthread_mutex_t lock;
	int n;       /* lines kept */
	int dropped; /* lines beyond TU_CAPTURE_LINES */
	enum pc_log_level level[TU_CAPTURE_LINES];
	size_t len[TU_CAPTURE_LINES]; /* as received, before any cut */
	char line[TU_CAPTURE_LINES][TU_CAPTURE_LINE_MAX + 1];
};

struct tu_capture *tu_capture_new(void)
{
	struct tu_capture *c = calloc(1, sizeof *c);

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void tu_capture_free(struct tu_capture *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void tu_capture_sink(void *userdata, enum pc_log_level level, const char *line)
{
	struct tu_capture *c = userdata;

	pthread_mutex_lock(&c->lock);
	if (c->n < TU_CAPTURE_LINES) {
		c->level[c->n] = level;
		c->len[c->n] = strlen(line);
		snprintf(c->line[c->n], sizeof c->line[c->n], "%s", line);
		c->n++;
	} else {
		c->dropped++;
	}
	pthread_mutex_unlock(&c->lock);
}

int tu_capture_received(struct tu_capture *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->n + c->dropped;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int tu_capture_find(struct tu_capture *c, int from, const char *text)
{
	int i, found = -1;

	pthread_mutex_lock(&c->lock);
	for (i = from; i < c->n; i++) {
		if (strstr(c->line[i], text)) {
			found = i;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

int tu_capture_count(struct tu_capture *c, const char *text)
{
	int i, n = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		n += strstr(c->line[i], text) != NULL;
	pthread_mutex_unlock(&c->lock);
	return n;
}

long tu_capture_get(struct tu_capture *c, int i, enum pc_log_level *level, char *buf, size_t len)
{
	long got = -1;

	pthread_mutex_lock(&c->lock);
	if (i >= 0 && i < c->n) {
		*level = c->level[i];
		snprintf(buf, len, "%s", c->line[i]);
		got = (long)c->len[i];
	}
	pthread_mutex_unlock(&c->lock);
	return got;
}

void tu_capture_dump(struct tu_capture *c)
{
	int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		fprintf(stderr, "\n    [%s] %s", pc_log_level_name(c->level[i]), c->line[i]);
	pthread_mutex_unlock(&c->lock);
	fprintf(stderr, "\n");
}

struct text_in {
	struct tu_capture *c;
	const char *text;
};

static bool text_logged(const void *arg)
{
	const struct text_in *w = arg;

	return tu_capture_find(w->c, 0, w->text) >= 0;
}

bool tu_capture_wait(struct tu_capture *c, const char *text)
{
	struct text_in w = {c, text};

	return tu_wait_until(text_logged, &w);
}

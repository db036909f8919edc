/*
 * connect_rate.c - MQTT logins per second against one broker: the client
 * half of bench/auth-overhead.
 *
 * THREADS threads each open COUNT/THREADS connections, one after another:
 * TCP connect, an MQTT 3.1.1 CONNECT with username PREFIX-<n> (n cycling
 * over USERS principals, client id = username, password PASSWORD or, when
 * PASSWORD contains "%d", PASSWORD with n), wait for the CONNACK, send
 * DISCONNECT, close. Raw sockets keep the client cheap next to the broker.
 *
 * Usage: precis-bench-connect PORT COUNT THREADS PREFIX USERS PASSWORD [FIRST]
 * (FIRST: the first principal number, default 0).
 * Prints "ok=<n> refused=<n> seconds=<s> rate=<logins/s>"; exits 1 if any
 * login was refused or failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "precis/options.h"

struct job {
	int port;
	int64_t count, users, first;
	const char *prefix, *password;
	int index, threads;
	atomic_long *ok, *refused;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (unsigned char)(n >> 8);
	p[1] = (unsigned char)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

/* One login; returns the CONNACK code, or -1 when the exchange failed. */
static int login(int port, const char *user, const char *password)
{
	unsigned char pkt[600], body[600], *b = body, ack[4];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	size_t n = 0, got = 0, len;
	int fd, one = 1, rc = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(b, "\x00\x04MQTT\x04\xc2\x00\x3c", 10); /* 3.1.1, user+password, clean, 60 s */
	n = 10;
	n += put_str(b + n, user);     /* client id */
	n += put_str(b + n, user);     /* username */
	n += put_str(b + n, password); /* password */
	pkt[0] = 0x10;
	len = 1;
	for (size_t rest = n;;) { /* remaining length: variable byte integer */
		unsigned char digit = (unsigned char)(rest % 128);

		rest /= 128;
		pkt[len++] = (unsigned char)(digit | (rest ? 0x80 : 0));
		if (!rest)
			break;
	}
	memcpy(pkt + len, body, n);
	len += n;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    write(fd, pkt, len) != (ssize_t)len)
		goto done;
	while (got < sizeof ack) {
		ssize_t r = read(fd, ack + got, sizeof ack - got);

		if (r <= 0)
			goto done;
		got += (size_t)r;
	}
	if (ack[0] != 0x20)
		goto done;
	rc = ack[3];
	if (rc == 0 && write(fd, "\xe0\x00", 2) != 2)
		rc = -1;
done:
	close(fd);
	return rc;
}

static void *run(void *arg)
{
	struct job *j = arg;
	char user[128], pw[128];

	for (int64_t i = j->index; i < j->count; i += j->threads) {
		int64_t n = j->first + i % j->users;
		int rc;

		snprintf(user, sizeof user, "%s-%lld", j->prefix, (long long)n);
		if (strstr(j->password, "%d"))
			snprintf(pw, sizeof pw, "pw-%lld", (long long)n);
		else
			snprintf(pw, sizeof pw, "%s", j->password);
		rc = login(j->port, user, pw);
		atomic_fetch_add(rc == 0 ? j->ok : j->refused, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int64_t port, count, threads, users, first = 0;
	atomic_long ok = 0, refused = 0;
	pthread_t tids[64];
	struct job jobs[64];
	double t0, t1;

	if ((argc != 7 && argc != 8) || pc_parse_int(argv[1], &port) ||
	    pc_parse_int(argv[2], &count) || pc_parse_int(argv[3], &threads) ||
	    pc_parse_int(argv[5], &users) || (argc == 8 && pc_parse_int(argv[7], &first)) ||
	    port < 1 || port > 65535 || count < 1 || threads < 1 || threads > 64 || users < 1 ||
	    strlen(argv[4]) > 60 || strlen(argv[6]) > 60) {
		fprintf(stderr, "usage: precis-bench-connect PORT COUNT THREADS PREFIX USERS "
		                "PASSWORD [FIRST]\n");
		return 2;
	}
	t0 = now_s();
	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct job){(int)port, count, users,        first, argv[4],
		                       argv[6],   i,     (int)threads, &ok,   &refused};
		pthread_create(&tids[i], NULL, run, &jobs[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now_s();
	printf("ok=%ld refused=%ld seconds=%.3f rate=%.0f\n", atomic_load(&ok),
	       atomic_load(&refused), t1 - t0, (double)atomic_load(&ok) / (t1 - t0));
	return atomic_load(&refused) == 0 ? 0 : 1;
}

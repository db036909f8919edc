/*
 * command_load.c - the client half of bench/command-latency: simulated
 * devices over raw MQTT (mqtt_raw.c), all in one epoll loop.
 *
 *   precis-bench-command PORT throughput --devices N --window W --seconds S [--echo]
 *       every device keeps W heartbeats outstanding and sends the next as soon
 *       as one is answered; prints the answers per second. --echo: the answer
 *       is the broker echoing the heartbeat itself (a bare broker, the
 *       baseline: each device subscribes to its own dev/{id}/hb); otherwise
 *       it is the plugin's dev/{id}/hb/ack.
 *   precis-bench-command PORT load --devices N --rate R --seconds S
 *       N devices send R heartbeats per second in all, evenly spread; each
 *       acks the commands it gets. Prints hb -> hb/ack latency percentiles,
 *       the rate achieved, connect time and commands acked.
 *   precis-bench-command PORT probe --samples K
 *       one device and one ops client: K times, enqueue a command over
 *       ops/dev/{id}/cmd, wait until the broker has it (refused "probe"
 *       heartbeats, whose hb/ack counts what is pending), then time a
 *       heartbeat until its command arrives. Prints the percentiles.
 *
 * Common flags: --prefix P (device ids P00000...), --password PW.
 * Output: "key=value" lines on stdout; exit 1 on a failure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mqtt_raw.h"
#include "precis/options.h"

#define RING          16 /* outstanding heartbeats remembered per device */
#define CONNECTING    100
#define MAX_LATENCIES 4000000

enum { S_TCP, S_CONNACK, S_SUBACK, S_READY };

struct dev {
	struct mq_conn c;
	int state;
	char id[48], hb_topic[80], ack_topic[96];
	int64_t sent[RING];
	unsigned head, tail;
	uint16_t mid;
	int64_t next_ns;
};

struct bench {
	int port;
	const char *mode, *prefix, *password;
	int64_t devices, window, seconds, rate, samples;
	bool echo;
	int ep;
	struct dev *dev;
	int64_t ready, answers, window_answers, cmds;
	int64_t *lat, *steady;
	size_t nlat, nsteady;
	int64_t steady_from; /* load: answers to heartbeats sent after this count as steady */
	bool measuring;
	void (*handler)(struct mq_conn *c, const struct mq_packet *p);
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "precis-bench-command: %s\n", what);
	exit(1);
}

static struct bench B;

static void watch(struct dev *d, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = d};

	epoll_ctl(B.ep, EPOLL_CTL_MOD, d->c.fd, &ev);
}

static void flush(struct dev *d)
{
	if (mq_flush(&d->c) != 0)
		die("write failed");
	if (mq_pending(&d->c))
		watch(d, true);
}

static void send_hb(struct dev *d, const char *payload)
{
	d->sent[d->head++ % RING] = now_ns();
	mq_send_publish(&d->c, d->hb_topic, payload, strlen(payload), 0, 0);
	flush(d);
}

/* A JSON text as a C string in out (n bytes); false when it does not fit. */
static bool text_of(const unsigned char *p, size_t len, char *out, size_t n)
{
	if (len >= n)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* The value of "key":"..." in a JSON text, copied into out (a benchmark: no escapes). */
static bool json_str(const unsigned char *p, size_t len, const char *key, char *out, size_t n)
{
	char pat[32], text[2048];
	const char *s, *e;

	if (!text_of(p, len, text, sizeof text))
		return false;
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	if (!(s = strstr(text, pat)))
		return false;
	s += strlen(pat);
	if (!(e = strchr(s, '"')) || (size_t)(e - s) >= n)
		return false;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return true;
}

/* The value of "key":<integer> in a JSON text, or -1. */
static int64_t json_int(const unsigned char *p, size_t len, const char *key)
{
	char pat[32], text[2048];
	const char *s;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	if (!text_of(p, len, text, sizeof text) || !(s = strstr(text, pat)))
		return -1;
	return strtoll(s + strlen(pat), NULL, 10);
}

static void answer(struct dev *d)
{
	int64_t t = now_ns();

	B.answers++;
	if (d->tail != d->head) {
		int64_t sent = d->sent[d->tail++ % RING];

		if (B.measuring) {
			B.window_answers++;
			if (B.nlat < MAX_LATENCIES)
				B.lat[B.nlat++] = t - sent;
			if (B.steady_from && sent >= B.steady_from && B.nsteady < MAX_LATENCIES)
				B.steady[B.nsteady++] = t - sent;
		}
	}
	if (strcmp(B.mode, "throughput") == 0)
		send_hb(d, "{}");
}

static void on_packet(struct mq_conn *c, const struct mq_packet *p)
{
	struct dev *d = c->user;

	if (p->type == MQ_CONNACK) {
		const char *topics[2] = {d->ack_topic, NULL};
		char cmd[96];

		if (p->len < 2 || p->body[1] != 0)
			die("CONNACK refused the device");
		snprintf(cmd, sizeof cmd, "dev/%s/cmd", d->id);
		topics[1] = cmd;
		mq_send_subscribe(c, 1, topics, B.echo ? 1 : 2, 1);
		d->state = S_SUBACK;
		flush(d);
	} else if (p->type == MQ_SUBACK) {
		d->state = S_READY;
		B.ready++;
	} else if (p->type == MQ_PUBLISH) {
		if (p->qos)
			mq_send_puback(c, p->mid);
		if (p->topic_len == strlen(d->ack_topic) &&
		    memcmp(p->topic, d->ack_topic, p->topic_len) == 0) {
			answer(d);
		} else {
			char cid[128], ack[256];

			if (d->tail != d->head)
				d->tail++; /* this heartbeat was answered by a command, not an
				              hb/ack */
			if (json_str(p->payload, p->payload_len, "id", cid, sizeof cid)) {
				char topic[96];

				snprintf(topic, sizeof topic, "dev/%s/cmd/ack", d->id);
				snprintf(ack, sizeof ack, "{\"id\":\"%s\",\"status\":\"ok\"}", cid);
				mq_send_publish(c, topic, ack, strlen(ack), 1,
				                ++d->mid ? d->mid : ++d->mid);
				B.cmds++;
			}
		}
		flush(d);
	}
}

static void open_dev(struct dev *d, const char *id)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = d};

	snprintf(d->id, sizeof d->id, "%s", id);
	snprintf(d->hb_topic, sizeof d->hb_topic, "dev/%s/hb", id);
	if (B.echo)
		snprintf(d->ack_topic, sizeof d->ack_topic, "dev/%s/hb", id);
	else
		snprintf(d->ack_topic, sizeof d->ack_topic, "dev/%s/hb/ack", id);
	d->c.user = d;
	if (mq_open(&d->c, B.port) != 0)
		die("cannot open a socket (ulimit -n?)");
	d->state = S_TCP;
	epoll_ctl(B.ep, EPOLL_CTL_ADD, d->c.fd, &ev);
}

/* Handle socket events for up to timeout_ms. */
static void poll_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(B.ep, evs, 256, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct dev *d = evs[i].data.ptr;

		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			die("a connection failed");
		if (evs[i].events & EPOLLOUT) {
			if (d->state == S_TCP) {
				mq_send_connect(&d->c, d->id, d->id, B.password, 600);
				d->state = S_CONNACK;
			}
			if (mq_flush(&d->c) != 0)
				die("write failed");
			watch(d, mq_pending(&d->c));
		}
		if ((evs[i].events & EPOLLIN) && mq_read(&d->c, B.handler) != 0)
			die("the broker closed a connection");
	}
}

/* Connect every device, CONNECTING at a time (Mosquitto listens with a backlog of 100). */
static void connect_all(void)
{
	char id[48];
	int64_t opened = 0, t0 = now_ns(), deadline = t0 + 120 * INT64_C(1000000000);

	B.dev = calloc((size_t)B.devices, sizeof *B.dev);
	if (!B.dev)
		die("out of memory");
	while (B.ready < B.devices) {
		while (opened < B.devices && opened - B.ready < CONNECTING) {
			snprintf(id, sizeof id, "%s%05lld", B.prefix, (long long)opened);
			open_dev(&B.dev[opened++], id);
		}
		poll_once(10);
		if (now_ns() > deadline)
			die("connecting took more than 120 s");
	}
	printf("connected=%lld connect_s=%.3f\n", (long long)B.devices,
	       (double)(now_ns() - t0) / 1e9);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(const char *name, int64_t *v, size_t n)
{
	if (n == 0) {
		printf("%s_n=0\n", name);
		return;
	}
	qsort(v, n, sizeof *v, cmp64);
	printf("%s_n=%zu %s_p50_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f\n", name, n, name,
	       (double)v[n / 2] / 1e6, name, (double)v[(size_t)ceil((double)n * 0.99) - 1] / 1e6,
	       name, (double)v[n - 1] / 1e6);
}

static void run_throughput(void)
{
	int64_t warm, end;

	connect_all();
	for (int64_t i = 0; i < B.devices; i++)
		for (int64_t w = 0; w < B.window; w++)
			send_hb(&B.dev[i], "{}");
	warm = now_ns() + 1000000000; /* one second to settle */
	end = warm + B.seconds * 1000000000;
	while (now_ns() < end) {
		B.measuring = now_ns() >= warm;
		poll_once(5);
	}
	printf("answers=%lld rate=%.0f\n", (long long)B.window_answers,
	       (double)B.window_answers / (double)B.seconds);
	percentiles("rtt", B.lat, B.nlat);
}

static void run_load(void)
{
	int64_t period, start, end, cursor = 0, sent = 0;

	connect_all();
	period = B.devices * INT64_C(1000000000) / B.rate; /* each device beats once a period */
	start = now_ns() + 100000000;
	for (int64_t i = 0; i < B.devices; i++)
		B.dev[i].next_ns = start + i * period / B.devices;
	end = start + B.seconds * 1000000000;
	B.steady_from = start + 2 * INT64_C(1000000000); /* after every device beat twice */
	B.measuring = true;
	while (now_ns() < end) {
		int64_t t = now_ns();

		for (int64_t k = 0; k < B.devices && B.dev[cursor].next_ns <= t; k++) {
			struct dev *d = &B.dev[cursor];

			send_hb(d, "{\"interval\":60}");
			d->next_ns += period;
			sent++;
			cursor = (cursor + 1) % B.devices;
		}
		poll_once(1);
	}
	for (int64_t t = now_ns() + 2000000000; now_ns() < t && B.window_answers < sent;)
		poll_once(5);
	printf("sent=%lld answered=%lld rate=%.0f commands_acked=%lld\n", (long long)sent,
	       (long long)B.window_answers, (double)sent / (double)B.seconds, (long long)B.cmds);
	percentiles("hb_ack", B.lat, B.nlat);
	percentiles("hb_ack_steady", B.steady, B.nsteady);
}

/* Wait until pred() or a deadline; dies on timeout. */
static void until(bool (*pred)(void), const char *what)
{
	int64_t deadline = now_ns() + 30 * INT64_C(1000000000);

	while (!pred()) {
		if (now_ns() > deadline)
			die(what);
		poll_once(1);
	}
}

/* Probe state: the device is B.dev[0], the ops client B.dev[1]. */
static int64_t probe_pending = -1, probe_cmd_at;
static bool probe_acked, probe_got_cmd;

static void probe_packet(struct mq_conn *c, const struct mq_packet *p)
{
	struct dev *d = c->user;

	if (p->type != MQ_PUBLISH || d != &B.dev[0]) {
		on_packet(c, p);
		return;
	}
	if (p->qos)
		mq_send_puback(c, p->mid);
	if (p->topic_len == strlen(d->ack_topic) &&
	    memcmp(p->topic, d->ack_topic, p->topic_len) == 0) {
		probe_acked = true;
		probe_pending = json_int(p->payload, p->payload_len, "pending");
	} else {
		char cid[128], topic[96], ack[256];

		probe_cmd_at = now_ns();
		probe_got_cmd = true;
		if (json_str(p->payload, p->payload_len, "id", cid, sizeof cid)) {
			snprintf(topic, sizeof topic, "dev/%s/cmd/ack", d->id);
			snprintf(ack, sizeof ack, "{\"id\":\"%s\",\"status\":\"ok\"}", cid);
			mq_send_publish(c, topic, ack, strlen(ack), 1,
			                ++d->mid ? d->mid : ++d->mid);
		}
	}
	flush(d);
}

static bool acked(void)
{
	return probe_acked || probe_got_cmd;
}

static void run_probe(void)
{
	int64_t *lat = calloc((size_t)B.samples, sizeof *lat);
	int64_t *ready = calloc((size_t)B.samples, sizeof *ready);
	char topic[96], id[48];
	size_t n = 0, misses = 0;

	B.devices = 2;
	B.dev = calloc(2, sizeof *B.dev);
	if (!lat || !ready || !B.dev)
		die("out of memory");
	snprintf(id, sizeof id, "%sprobe", B.prefix);
	open_dev(&B.dev[0], id);
	snprintf(id, sizeof id, "%sops", B.prefix);
	open_dev(&B.dev[1], id);
	while (B.ready < 2)
		poll_once(10);
	snprintf(topic, sizeof topic, "ops/dev/%sprobe/cmd", B.prefix);
	for (int64_t i = 0; i < B.samples; i++) {
		const char *req = "{\"op\":\"bench.probe\",\"ttl\":60000}";
		int64_t t0 = now_ns();

		mq_send_publish(&B.dev[1].c, topic, req, strlen(req), 1, (uint16_t)(i % 60000 + 1));
		flush(&B.dev[1]);
		do { /* refused heartbeats change nothing; their ack says what is pending */
			probe_acked = probe_got_cmd = false;
			send_hb(&B.dev[0], "probe");
			until(acked, "no answer to a probe heartbeat");
		} while (probe_pending < 1);
		ready[i] = now_ns() - t0;
		usleep((useconds_t)(rand() % 20000)); /* any phase of the broker's loop */
		probe_acked = probe_got_cmd = false;
		t0 = now_ns();
		send_hb(&B.dev[0], "{}");
		until(acked, "no answer to a heartbeat");
		if (probe_got_cmd)
			lat[n++] = probe_cmd_at - t0;
		else
			misses++; /* hb/ack: the command was not deliverable */
	}
	printf("samples=%zu misses=%zu\n", n, misses);
	percentiles("hb_cmd", lat, n);
	percentiles("enqueue_ready", ready, (size_t)B.samples);
	free(lat);
	free(ready);
}

int main(int argc, char **argv)
{
	int64_t port;

	B.prefix = "bench-";
	B.devices = 100;
	B.window = 1;
	B.seconds = 5;
	B.rate = 1000;
	B.samples = 200;
	if (argc < 3 || pc_parse_int(argv[1], &port) != 0 || port < 1 || port > 65535) {
		fprintf(stderr, "usage: precis-bench-command PORT throughput|load|probe [flags]\n");
		return 2;
	}
	B.port = (int)port;
	B.mode = argv[2];
	for (int i = 3; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t *num = strcmp(f, "--devices") == 0   ? &B.devices
		               : strcmp(f, "--window") == 0  ? &B.window
		               : strcmp(f, "--seconds") == 0 ? &B.seconds
		               : strcmp(f, "--rate") == 0    ? &B.rate
		               : strcmp(f, "--samples") == 0 ? &B.samples
		                                             : NULL;

		if (strcmp(f, "--echo") == 0) {
			B.echo = true;
		} else if (num && v && pc_parse_int(v, num) == 0 && *num > 0) {
			i++;
		} else if (strcmp(f, "--prefix") == 0 && v) {
			B.prefix = argv[++i];
		} else if (strcmp(f, "--password") == 0 && v) {
			B.password = argv[++i];
		} else {
			fprintf(stderr, "precis-bench-command: bad flag %s\n", f);
			return 2;
		}
	}
	B.ep = epoll_create1(0);
	B.lat = malloc(MAX_LATENCIES * sizeof *B.lat);
	B.steady = malloc(MAX_LATENCIES * sizeof *B.steady);
	if (B.ep < 0 || !B.lat || !B.steady)
		die("setup failed");
	srand((unsigned)getpid());
	setvbuf(stdout, NULL, _IOLBF, 0); /* the driver reads "connected=" while the load runs */
	B.handler = strcmp(B.mode, "probe") == 0 ? probe_packet : on_packet;
	if (strcmp(B.mode, "throughput") == 0)
		run_throughput();
	else if (strcmp(B.mode, "load") == 0)
		run_load();
	else if (strcmp(B.mode, "probe") == 0)
		run_probe();
	else
		die("unknown mode");
	fflush(stdout);
	return 0;
}

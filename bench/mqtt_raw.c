/*
 * mqtt_raw.c - the minimal MQTT 3.1.1 codec of mqtt_raw.h.
 *
 * Encodes the few packets the benchmark sends into a per-connection
 * output buffer and decodes the input stream (fixed header, remaining
 * length, PUBLISH topic, packet id and payload). No retries, no session
 * state: the benchmark's devices use clean sessions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt_raw.h"

int mq_open(struct mq_conn *c, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;

	c->inlen = 0;
	c->outlen = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

void mq_close(struct mq_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outcap = 0;
}

static void put(struct mq_conn *c, const void *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap * 2 : 256;

		while (cap < c->outlen + n)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out) {
			fprintf(stderr, "mqtt_raw: out of memory\n");
			exit(1);
		}
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void put_u16(struct mq_conn *c, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(c, b, 2);
}

static void put_str(struct mq_conn *c, const char *s)
{
	size_t n = strlen(s);

	put_u16(c, (unsigned)n);
	put(c, s, n);
}

static void put_header(struct mq_conn *c, unsigned char first, size_t remaining)
{
	unsigned char b[5];
	int n = 0;

	b[n++] = first;
	do {
		unsigned char d = remaining % 128;

		remaining /= 128;
		b[n++] = (unsigned char)(d | (remaining ? 0x80 : 0));
	} while (remaining && n < 5);
	put(c, b, (size_t)n);
}

void mq_send_connect(struct mq_conn *c, const char *id, const char *user, const char *pass,
                     int keepalive)
{
	size_t len = 10 + 2 + strlen(id);
	unsigned char flags = 0x02; /* clean session */

	if (user) {
		len += 2 + strlen(user);
		flags |= 0x80;
	}
	if (pass) {
		len += 2 + strlen(pass);
		flags |= 0x40;
	}
	put_header(c, 0x10, len);
	put_str(c, "MQTT");
	put(c, "\x04", 1);
	put(c, &flags, 1);
	put_u16(c, (unsigned)keepalive);
	put_str(c, id);
	if (user)
		put_str(c, user);
	if (pass)
		put_str(c, pass);
}

void mq_send_subscribe(struct mq_conn *c, uint16_t mid, const char *const *topics, int n, int qos)
{
	size_t len = 2;
	unsigned char q = (unsigned char)qos;

	for (int i = 0; i < n; i++)
		len += 2 + strlen(topics[i]) + 1;
	put_header(c, 0x82, len);
	put_u16(c, mid);
	for (int i = 0; i < n; i++) {
		put_str(c, topics[i]);
		put(c, &q, 1);
	}
}

void mq_send_publish(struct mq_conn *c, const char *topic, const void *payload, size_t len, int qos,
                     uint16_t mid)
{
	put_header(c, (unsigned char)(0x30 | (qos << 1)), 2 + strlen(topic) + (qos ? 2 : 0) + len);
	put_str(c, topic);
	if (qos)
		put_u16(c, mid);
	put(c, payload, len);
}

void mq_send_puback(struct mq_conn *c, uint16_t mid)
{
	put_header(c, 0x40, 2);
	put_u16(c, mid);
}

int mq_flush(struct mq_conn *c)
{
	size_t done = 0;

	while (done < c->outlen) {
		ssize_t n = write(c->fd, c->out + done, c->outlen - done);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		done += (size_t)n;
	}
	memmove(c->out, c->out + done, c->outlen - done);
	c->outlen -= done;
	return 0;
}

bool mq_pending(const struct mq_conn *c)
{
	return c->outlen > 0;
}

/* One packet at in[0..avail): its total length, 0 when incomplete, -1 when malformed. */
static long frame(const unsigned char *in, size_t avail, size_t *hdr, size_t *rem)
{
	size_t len = 0, mult = 1, i = 1;

	for (;; i++) {
		if (i >= avail)
			return 0;
		if (i > 4)
			return -1;
		len += (in[i] & 0x7f) * mult;
		mult *= 128;
		if (!(in[i] & 0x80))
			break;
	}
	*hdr = i + 1;
	*rem = len;
	return avail >= *hdr + len ? (long)(*hdr + len) : 0;
}

int mq_read(struct mq_conn *c, void (*fn)(struct mq_conn *c, const struct mq_packet *p))
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
		size_t off = 0;

		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->inlen += (size_t)n;
		for (;;) {
			struct mq_packet p = {0};
			size_t hdr, rem;
			long total = frame(c->in + off, c->inlen - off, &hdr, &rem);

			if (total < 0)
				return -1;
			if (total == 0)
				break;
			p.type = c->in[off] >> 4;
			p.flags = c->in[off] & 0x0f;
			p.body = c->in + off + hdr;
			p.len = rem;
			if (p.type == MQ_PUBLISH) {
				size_t tl, at;

				if (rem < 2)
					return -1;
				tl = (size_t)p.body[0] << 8 | p.body[1];
				p.qos = (p.flags >> 1) & 3;
				at = 2 + tl + (p.qos ? 2 : 0);
				if (at > rem)
					return -1;
				p.topic = (const char *)p.body + 2;
				p.topic_len = tl;
				if (p.qos)
					p.mid = (uint16_t)(p.body[2 + tl] << 8 | p.body[3 + tl]);
				p.payload = p.body + at;
				p.payload_len = rem - at;
			}
			fn(c, &p);
			off += (size_t)total;
		}
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
		if (c->inlen == sizeof c->in)
			return -1; /* a packet larger than the buffer */
	}
}

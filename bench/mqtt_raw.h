/*
 * mqtt_raw.h - just enough MQTT 3.1.1 over non-blocking sockets for the
 * command benchmark to drive ten thousand devices from one epoll loop
 * (libmosquitto wants a thread or a loop call per client).
 *
 * A struct mq_conn is one TCP connection with an input buffer that
 * mq_read parses into packets, and an output buffer that the mq_send_*
 * functions append to and mq_flush writes (the caller watches EPOLLOUT
 * while mq_pending says something is left). Packets supported:
 * CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH QoS 0 and 1, PUBACK.
 * Single-threaded: a connection belongs to one loop.
 */
#ifndef PRECIS_BENCH_MQTT_RAW_H
#define PRECIS_BENCH_MQTT_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQ_IN_MAX 65536

enum {
	MQ_CONNACK = 2,
	MQ_PUBLISH = 3,
	MQ_PUBACK = 4,
	MQ_SUBACK = 9,
};

struct mq_conn {
	int fd;
	unsigned char in[MQ_IN_MAX];
	size_t inlen;
	unsigned char *out;
	size_t outlen, outcap;
	void *user;
};

/* A packet as parsed; pointers into the connection's input buffer, valid during the callback. */
struct mq_packet {
	int type;
	int flags;
	const unsigned char *body;
	size_t len;
	/* PUBLISH only: */
	const char *topic;
	size_t topic_len;
	const unsigned char *payload;
	size_t payload_len;
	int qos;
	uint16_t mid;
};

/* mq_open - start a non-blocking TCP connect to 127.0.0.1:port; 0 or -1 (errno). */
int mq_open(struct mq_conn *c, int port);

/* mq_close - close the socket and free the output buffer. */
void mq_close(struct mq_conn *c);

/* The senders append one packet to the output buffer (out of memory aborts: a benchmark). */
void mq_send_connect(struct mq_conn *c, const char *id, const char *user, const char *pass,
                     int keepalive);
void mq_send_subscribe(struct mq_conn *c, uint16_t mid, const char *const *topics, int n, int qos);
void mq_send_publish(struct mq_conn *c, const char *topic, const void *payload, size_t len, int qos,
                     uint16_t mid);
void mq_send_puback(struct mq_conn *c, uint16_t mid);

/* mq_flush - write what the output buffer holds; 0 (maybe partly written) or -1 on error. */
int mq_flush(struct mq_conn *c);

/* mq_pending - is output left to write? */
bool mq_pending(const struct mq_conn *c);

/*
 * mq_read - read what the socket has and call fn for every complete
 * packet. Returns 0, or -1 when the connection closed or broke or a
 * packet was malformed.
 */
int mq_read(struct mq_conn *c, void (*fn)(struct mq_conn *c, const struct mq_packet *p));

#endif

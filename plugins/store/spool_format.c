/*
 * spool_format.c - encode and decode spool segment headers and records.
 *
 * Layout in spool_format.h. Integers are written byte by byte, so the
 * files are the same on any host. Called by spool.c: encoding on the
 * broker thread (one record per accepted message), decoding on the
 * worker and at start-up recovery.
 */
#include <string.h>

#include "precis/crc32c.h"
#include "precis/error.h"
#include "spool_format.h"

static const char seg_magic[8] = {'P', 'R', 'C', 'S', 'S', 'P', 'L', '1'};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* store__seg_header_encode - contract in spool_format.h. */
void store__seg_header_encode(uint8_t out[STORE_SEG_HEADER_SIZE], const struct store__seg_header *h)
{
	memcpy(out, seg_magic, 8);
	put32(out + 8, 1);
	put32(out + 12, STORE_SEG_HEADER_SIZE);
	put64(out + 16, h->epoch);
	put64(out + 24, h->segno);
	put64(out + 32, h->first_seq);
	put32(out + 40, 0);
	put32(out + 44, pc_crc32c(0, out, 44));
}

/* store__seg_header_decode - contract in spool_format.h. */
int store__seg_header_decode(const uint8_t *buf, size_t len, struct store__seg_header *h)
{
	if (len < STORE_SEG_HEADER_SIZE)
		return PC_ERR_EMPTY;
	if (memcmp(buf, seg_magic, 8) != 0 || get32(buf + 8) != 1 ||
	    get32(buf + 12) != STORE_SEG_HEADER_SIZE || get32(buf + 44) != pc_crc32c(0, buf, 44))
		return PC_ERR_INVAL;
	h->epoch = get64(buf + 16);
	h->segno = get64(buf + 24);
	h->first_seq = get64(buf + 32);
	return PC_OK;
}

/* store__record_size - contract in spool_format.h. */
size_t store__record_size(size_t topic_len, size_t payload_len)
{
	return STORE_REC_HEADER_SIZE + STORE_REC_FIXED_SIZE + topic_len + payload_len;
}

/* store__record_encode - contract in spool_format.h. */
size_t store__record_encode(uint8_t *out, uint64_t seq, int64_t recv_ms, int qos, const char *topic,
                            size_t topic_len, const void *payload, size_t payload_len)
{
	uint8_t *body = out + STORE_REC_HEADER_SIZE;
	size_t body_len = STORE_REC_FIXED_SIZE + topic_len + payload_len;

	put64(body, seq);
	put64(body + 8, (uint64_t)recv_ms);
	put16(body + 16, (uint16_t)topic_len);
	body[18] = (uint8_t)qos;
	body[19] = 0;
	memcpy(body + STORE_REC_FIXED_SIZE, topic, topic_len);
	if (payload_len)
		memcpy(body + STORE_REC_FIXED_SIZE + topic_len, payload, payload_len);
	put32(out, STORE_REC_MAGIC);
	put32(out + 4, (uint32_t)body_len);
	put32(out + 8, pc_crc32c(0, body, body_len));
	return STORE_REC_HEADER_SIZE + body_len;
}

/* store__record_decode - contract in spool_format.h. */
int store__record_decode(const uint8_t *buf, size_t len, struct store__record *r)
{
	uint32_t body_len;
	const uint8_t *body;
	size_t tlen;

	if (len < 4)
		return len == 0 || memcmp(buf, "PRSR", len) == 0 ? PC_ERR_EMPTY : PC_ERR_INVAL;
	if (get32(buf) != STORE_REC_MAGIC)
		return PC_ERR_INVAL;
	if (len < STORE_REC_HEADER_SIZE)
		return PC_ERR_EMPTY;
	body_len = get32(buf + 4);
	if (body_len < STORE_REC_FIXED_SIZE || body_len > STORE_REC_BODY_MAX)
		return PC_ERR_INVAL;
	if (len - STORE_REC_HEADER_SIZE < body_len)
		return PC_ERR_EMPTY;
	body = buf + STORE_REC_HEADER_SIZE;
	if (pc_crc32c(0, body, body_len) != get32(buf + 8))
		return PC_ERR_INVAL;
	tlen = get16(body + 16);
	if (tlen > body_len - STORE_REC_FIXED_SIZE || body[19] != 0)
		return PC_ERR_INVAL;
	r->seq = get64(body);
	r->recv_ms = (int64_t)get64(body + 8);
	r->qos = body[18];
	r->topic = (const char *)body + STORE_REC_FIXED_SIZE;
	r->topic_len = tlen;
	r->payload = body + STORE_REC_FIXED_SIZE + tlen;
	r->payload_len = body_len - STORE_REC_FIXED_SIZE - tlen;
	r->size = STORE_REC_HEADER_SIZE + body_len;
	return PC_OK;
}

/* store__record_resync - contract in spool_format.h. */
size_t store__record_resync(const uint8_t *buf, size_t len)
{
	for (size_t off = 1; off < len; off++) {
		struct store__record r;
		int rc;

		if (buf[off] != 'P')
			continue;
		rc = store__record_decode(buf + off, len - off, &r);
		if (rc != PC_ERR_INVAL)
			return off;
	}
	return len;
}

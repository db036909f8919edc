/*
 * test_store_spool_format.c - unit tests for plugins/store/spool_format.c:
 * segment headers and records round-trip; every truncation of a record is
 * "need more", every flipped byte is "damaged"; impossible lengths are
 * refused; resync finds the next intact record after damage and stops at
 * a record cut off by the end of the buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/error.h"
#include "spool_format.h"

static size_t make(uint8_t *buf, uint64_t seq, const char *topic, const char *payload)
{
	return store__record_encode(buf, seq, 1795426200123 + (int64_t)seq, 1, topic, strlen(topic),
	                            payload, strlen(payload));
}

static void test_header_round_trip(void)
{
	uint8_t b[STORE_SEG_HEADER_SIZE];
	struct store__seg_header h = {0x0123456789abcdefULL, 42, 1000000}, out;

	store__seg_header_encode(b, &h);
	CU_ASSERT_EQUAL(memcmp(b, "PRCSSPL1", 8), 0);
	CU_ASSERT_EQUAL(store__seg_header_decode(b, sizeof b, &out), PC_OK);
	CU_ASSERT_EQUAL(out.epoch, h.epoch);
	CU_ASSERT_EQUAL(out.segno, 42);
	CU_ASSERT_EQUAL(out.first_seq, 1000000);
	CU_ASSERT_EQUAL(store__seg_header_decode(b, sizeof b - 1, &out), PC_ERR_EMPTY);
	for (size_t i = 0; i < sizeof b; i++) {
		b[i] ^= 0x40;
		CU_ASSERT_EQUAL(store__seg_header_decode(b, sizeof b, &out), PC_ERR_INVAL);
		b[i] ^= 0x40;
	}
}

static void test_record_round_trip(void)
{
	uint8_t buf[256];
	struct store__record r;
	size_t n = make(buf, 7, "dev/d1/data", "{\"x\":1}");

	CU_ASSERT_EQUAL(n, store__record_size(11, 7));
	CU_ASSERT_EQUAL(memcmp(buf, "PRSR", 4), 0);
	CU_ASSERT_EQUAL(store__record_decode(buf, n, &r), PC_OK);
	CU_ASSERT_EQUAL(r.seq, 7);
	CU_ASSERT_EQUAL(r.recv_ms, 1795426200130);
	CU_ASSERT_EQUAL(r.qos, 1);
	CU_ASSERT_EQUAL(r.size, n);
	CU_ASSERT_EQUAL(r.topic_len, 11);
	CU_ASSERT_EQUAL(memcmp(r.topic, "dev/d1/data", 11), 0);
	CU_ASSERT_EQUAL(r.payload_len, 7);
	CU_ASSERT_EQUAL(memcmp(r.payload, "{\"x\":1}", 7), 0);
	/* Trailing bytes do not matter; an empty payload is fine. */
	CU_ASSERT_EQUAL(store__record_decode(buf, sizeof buf, &r), PC_OK);
	n = make(buf, 8, "t", "");
	CU_ASSERT_EQUAL(store__record_decode(buf, n, &r), PC_OK);
	CU_ASSERT_EQUAL(r.payload_len, 0);
	CU_ASSERT_EQUAL(r.topic_len, 1);
}

static void test_truncation_and_damage(void)
{
	uint8_t buf[256];
	struct store__record r;
	size_t n = make(buf, 9, "dev/d1/evt", "{\"user\":\"u\"}");
	unsigned wrong = 0;

	for (size_t len = 0; len < n; len++)
		wrong += store__record_decode(buf, len, &r) != PC_ERR_EMPTY;
	CU_ASSERT_EQUAL(wrong, 0);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			buf[i] ^= (uint8_t)(1u << bit);
			rc = store__record_decode(buf, n, &r);
			/* A flipped length byte can also make the record look longer: need more. */
			wrong += !(rc == PC_ERR_INVAL || (i >= 4 && i < 8 && rc == PC_ERR_EMPTY));
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	/* Impossible lengths. */
	memcpy(buf + 4, "\x05\x00\x00\x00", 4);
	CU_ASSERT_EQUAL(store__record_decode(buf, n, &r), PC_ERR_INVAL);
	memcpy(buf + 4, "\x00\x00\x00\x7f", 4);
	CU_ASSERT_EQUAL(store__record_decode(buf, n, &r), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(store__record_decode((const uint8_t *)"PRX", 3, &r), PC_ERR_INVAL);
	CU_ASSERT_EQUAL(store__record_decode((const uint8_t *)"PR", 2, &r), PC_ERR_EMPTY);
}

static void test_resync(void)
{
	uint8_t buf[1024];
	size_t a = make(buf, 1, "dev/a/data", "{\"v\":1}");
	size_t b = make(buf + a, 2, "dev/b/data", "{\"v\":\"PRSR\"}");
	size_t c = make(buf + a + b, 3, "dev/c/data", "{}");
	struct store__record r;
	size_t k;

	/* Damage the first record: resync lands on the second (not on "PRSR" in its payload). */
	buf[a - 1] ^= 1;
	CU_ASSERT_EQUAL(store__record_decode(buf, a + b + c, &r), PC_ERR_INVAL);
	k = store__record_resync(buf, a + b + c);
	CU_ASSERT_EQUAL(k, a);
	/* Damage the second too: the third. */
	buf[a + b - 1] ^= 1;
	CU_ASSERT_EQUAL(store__record_resync(buf, a + b + c), a + b);
	/* A record cut off by the buffer end is a candidate (read more). */
	CU_ASSERT_EQUAL(store__record_resync(buf, a + b + 10), a + b);
	/* Nothing at all: the end. */
	memset(buf, 'x', 100);
	CU_ASSERT_EQUAL(store__record_resync(buf, 100), 100);
}

static CU_TestInfo tests[] = {
    {"segment header round trip and damage", test_header_round_trip},
    {"record round trip", test_record_round_trip},
    {"truncated records need more, flipped bits are damage", test_truncation_and_damage},
    {"resync after damage", test_resync},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("store_spool_format", tests);
}

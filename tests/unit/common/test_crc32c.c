/*
 * test_crc32c.c - unit tests for common/crc32c.c: the published check
 * value and RFC 3720 test vectors, chaining over pieces, and the table and
 * hardware paths agreeing on random data of every length and alignment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "precis/crc32c.h"

static void test_vectors(void)
{
	uint8_t buf[32];

	CU_ASSERT_EQUAL(pc_crc32c(0, "123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(pc_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	CU_ASSERT_EQUAL(pc_crc32c(0, NULL, 0), 0u);
	/* RFC 3720 B.4: 32 bytes of zeros, of 0xff, and ascending 0..31. */
	memset(buf, 0, sizeof buf);
	CU_ASSERT_EQUAL(pc_crc32c(0, buf, sizeof buf), 0x8A9136AAu);
	memset(buf, 0xff, sizeof buf);
	CU_ASSERT_EQUAL(pc_crc32c(0, buf, sizeof buf), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CU_ASSERT_EQUAL(pc_crc32c(0, buf, sizeof buf), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	CU_ASSERT_EQUAL(pc_crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

static void test_chaining_and_paths_agree(void)
{
	uint8_t data[1031];
	unsigned bad = 0;

	srand(7);
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)rand();
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; off + len <= sizeof data; len += 1 + len / 8) {
			uint32_t hw = pc_crc32c(0, data + off, len);
			uint32_t sw = pc_crc32c_sw(0, data + off, len);
			size_t cut = len / 3;
			uint32_t chained =
			    pc_crc32c(pc_crc32c(0, data + off, cut), data + off + cut, len - cut);

			bad += hw != sw || chained != hw;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_detects_single_bit_flips(void)
{
	uint8_t data[256];
	uint32_t good;
	unsigned missed = 0;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	good = pc_crc32c(0, data, sizeof data);
	for (size_t bit = 0; bit < sizeof data * 8; bit++) {
		data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		missed += pc_crc32c(0, data, sizeof data) == good;
		data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CU_ASSERT_EQUAL(missed, 0);
}

static CU_TestInfo tests[] = {
    {"known check values", test_vectors},
    {"chaining, table and hardware agree", test_chaining_and_paths_agree},
    {"every single-bit flip changes the CRC", test_detects_single_bit_flips},
    CU_TEST_INFO_NULL,
};

int main(void)
{
	return pc_cu_run("crc32c", tests);
}

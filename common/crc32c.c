/*
 * crc32c.c - CRC-32C over bytes, by table or by the SSE4.2 instruction.
 *
 * The table (256 entries, one byte per step) is built once under
 * pthread_once. On x86-64 CPUs with SSE4.2 the crc32 instruction does
 * eight bytes per step; the choice is made once, at the first call, from
 * __builtin_cpu_supports. The spool writer checksums every record on the
 * broker thread, so this is on the hot path of the store plugin.
 */
#include <pthread.h>
#include <string.h>

#include "precis/crc32c.h"

#define POLY UINT32_C(0x82F63B78)

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

/* pc_crc32c_sw - contract in crc32c.h. */
uint32_t pc_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                            size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

static int have_hw = -1; /* -1 unknown; written once, racing writers agree */

/* pc_crc32c - contract in crc32c.h. */
uint32_t pc_crc32c(uint32_t crc, const void *data, size_t len)
{
	int hw = __atomic_load_n(&have_hw, __ATOMIC_RELAXED);

	if (hw < 0) {
		__builtin_cpu_init();
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
		__atomic_store_n(&have_hw, hw, __ATOMIC_RELAXED);
	}
	return hw ? crc32c_hw(crc, data, len) : pc_crc32c_sw(crc, data, len);
}
#else
/* pc_crc32c - contract in crc32c.h. */
uint32_t pc_crc32c(uint32_t crc, const void *data, size_t len)
{
	return pc_crc32c_sw(crc, data, len);
}
#endif

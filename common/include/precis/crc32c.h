/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of the store's spool records.
 *
 * The iSCSI / ext4 / RocksDB polynomial (reflected 0x82F63B78), with the
 * usual pre- and post-inversion, so pc_crc32c(0, "123456789", 9) is
 * 0xE3069283. Uses the SSE4.2 crc32 instruction when the CPU has it and a
 * table otherwise; both give the same result. Pure and thread-safe.
 */
#ifndef PRECIS_CRC32C_H
#define PRECIS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * pc_crc32c - extend crc (0 to start) over data[0..len). Chaining calls
 * over consecutive pieces gives the CRC of the whole. data may be NULL
 * when len is 0.
 */
uint32_t pc_crc32c(uint32_t crc, const void *data, size_t len);

/* pc_crc32c_sw - pc_crc32c always computed with the table (for tests). */
uint32_t pc_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif

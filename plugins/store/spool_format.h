/*
 * spool_format.h - the bytes of the store's spool: segment headers and records.
 *
 * A spool is a directory of append-only segment files
 * (seg-<16 hex digits>.spool). Each starts with a 48-byte header and holds
 * records back to back. Little-endian throughout:
 *
 *   header  magic "PRCSSPL1" | u32 version (1) | u32 header size (48) |
 *           u64 epoch | u64 segment number | u64 first record seq |
 *           u32 reserved (0) | u32 CRC-32C of the 44 bytes before it
 *   record  u32 magic 0x52535250 ("PRSR") | u32 body length | u32 CRC-32C of the body |
 *           body: u64 seq | i64 receive time (ms) | u16 topic length | u8 qos |
 *                 u8 flags (0) | topic | payload
 *
 * The CRC covers every byte of the body, so a torn or flipped record is
 * detected; the magic lets a reader find the next intact record after a
 * damaged one. Pure: encoding, decoding and scanning of memory only.
 */
#ifndef PRECIS_STORE_SPOOL_FORMAT_H
#define PRECIS_STORE_SPOOL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SEG_HEADER_SIZE 48
#define STORE_REC_HEADER_SIZE 12
#define STORE_REC_FIXED_SIZE  20          /* body bytes before the topic */
#define STORE_REC_BODY_MAX    (64u << 20) /* sanity bound on a record body */
#define STORE_REC_MAGIC       UINT32_C(0x52535250)

struct store__seg_header {
	uint64_t epoch;
	uint64_t segno;
	uint64_t first_seq;
};

/* A decoded record; topic and payload point into the decoded buffer. */
struct store__record {
	uint64_t seq;
	int64_t recv_ms;
	int qos;
	const char *topic; /* not NUL-terminated */
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
	size_t size; /* bytes the record occupies, header included */
};

/* store__seg_header_encode - the 48 header bytes of a segment into out. */
void store__seg_header_encode(uint8_t out[STORE_SEG_HEADER_SIZE],
                              const struct store__seg_header *h);

/*
 * store__seg_header_decode - read a header from buf[0..len). Returns
 * PC_OK, PC_ERR_EMPTY (len < 48) or PC_ERR_INVAL (bad magic, version,
 * size or CRC).
 */
int store__seg_header_decode(const uint8_t *buf, size_t len, struct store__seg_header *h);

/* store__record_size - bytes of a record with these topic and payload lengths. */
size_t store__record_size(size_t topic_len, size_t payload_len);

/*
 * store__record_encode - write a record into out (store__record_size
 * bytes). topic_len must fit 16 bits and the body STORE_REC_BODY_MAX;
 * the caller checks both. Returns the bytes written.
 */
size_t store__record_encode(uint8_t *out, uint64_t seq, int64_t recv_ms, int qos, const char *topic,
                            size_t topic_len, const void *payload, size_t payload_len);

/*
 * store__record_decode - decode the record at the start of buf[0..len).
 * Returns PC_OK (r filled, r->size its length), PC_ERR_EMPTY (buf holds
 * only the beginning of a record that looks right so far: read more, or
 * at the end of a file, a torn tail) or PC_ERR_INVAL (not a valid record:
 * bad magic, impossible length or CRC mismatch).
 */
int store__record_decode(const uint8_t *buf, size_t len, struct store__record *r);

/*
 * store__record_resync - the offset of the first valid record in
 * buf[1..len) (after a damaged one at offset 0), or of the first place
 * where a record may begin but is cut off by len; len when there is
 * neither.
 */
size_t store__record_resync(const uint8_t *buf, size_t len);

#endif

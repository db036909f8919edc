/*
 * bucket_id.c - bucket _ids and sample ids (layout in bucket.h).
 *
 * Pure string and integer functions: the store plugin builds the _id of
 * every bucket it updates and the range of _ids of a slot it needs to
 * inspect; readers build the same ranges. Time formatting is
 * pc_time_format's (slot.c), so ids sort by slot.
 */
#include <stdio.h>
#include <string.h>

#include "precis/bucket.h"
#include "precis/error.h"
#include "precis/slot.h"

/* prefix - "<device>/<start>/" into buf; returns its length or an error. */
static int prefix(char *buf, size_t buflen, const char *device, size_t len, int64_t start_ms)
{
	char when[32];
	int n = pc_time_format(when, sizeof when, start_ms);

	if (n < 0)
		return n;
	if (len > 64 || len + 1 + (size_t)n + 1 >= buflen)
		return PC_ERR_TOO_LONG;
	memcpy(buf, device, len);
	buf[len] = '/';
	memcpy(buf + len + 1, when, (size_t)n);
	buf[len + 1 + (size_t)n] = '/';
	buf[len + 2 + (size_t)n] = '\0';
	return (int)len + 2 + n;
}

/* pc_bucket_id - contract in bucket.h. */
int pc_bucket_id(char *buf, size_t buflen, const char *device, size_t len, int64_t start_ms,
                 uint32_t seq)
{
	int n;

	if (seq > PC_BUCKET_SEQ_MAX)
		return PC_ERR_RANGE;
	n = prefix(buf, buflen, device, len, start_ms);
	if (n < 0)
		return n;
	if ((size_t)n + 7 > buflen)
		return PC_ERR_TOO_LONG;
	snprintf(buf + n, buflen - (size_t)n, "%06u", (unsigned)seq);
	return n + 6;
}

/* pc_bucket_id_slot - contract in bucket.h. */
int pc_bucket_id_slot(char *lo, char *hi, size_t buflen, const char *device, size_t len,
                      int64_t start_ms)
{
	int n = prefix(lo, buflen, device, len, start_ms);

	if (n < 0)
		return n;
	memcpy(hi, lo, (size_t)n + 1);
	hi[n - 1] = '0'; /* the character after '/' */
	return PC_OK;
}

/* pc_sample_id - contract in bucket.h (splitmix64's finaliser). */
int64_t pc_sample_id(uint64_t epoch, uint64_t seq)
{
	uint64_t z = epoch + seq * UINT64_C(0x9E3779B97F4A7C15);

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	z ^= z >> 31;
	return (int64_t)z;
}

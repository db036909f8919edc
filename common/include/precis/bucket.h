/*
 * bucket.h - the layout of a time-slot bucket document (telemetry, events).
 *
 * One MongoDB document holds the samples one device sent during one time
 * slot, up to a cap; a full bucket rolls over to the next sequence number
 * of the same slot. The store plugin writes buckets, the read path
 * (bucket_read.h) and the bridge read them; this header is the one place
 * that names their fields. See docs/store.md and
 * schemas/telemetry-bucket.schema.json.
 *
 *   _id      "<device>/<slot start, ISO-8601 UTC>/<seq, 6 digits>"
 *   device   the device id              start, end   slot bounds (dates)
 *   seq      bucket number in the slot  count, bytes samples and their BSON size
 *   first, last  earliest and latest sample time (dates)
 *   samples  [{i: id, t: date, d: payload, [bin: true], [fix: n]}]
 *   stats    optional {field: {min, max, sum, n}} over numeric top-level fields
 *
 * The _id is deterministic, so a writer updates a bucket by _id alone (the
 * fast path on MongoDB and on FerretDB) and a replayed write lands on the
 * same document. One device's ids sort by slot, then seq, and the ids of
 * one slot form a range no other device's ids fall into (pc_bucket_id_slot).
 */
#ifndef PRECIS_BUCKET_H
#define PRECIS_BUCKET_H

#include <stddef.h>
#include <stdint.h>

/* Bucket fields. */
#define PC_BUCKET_DEVICE  "device"
#define PC_BUCKET_START   "start"
#define PC_BUCKET_END     "end"
#define PC_BUCKET_SEQ     "seq"
#define PC_BUCKET_COUNT   "count"
#define PC_BUCKET_BYTES   "bytes"
#define PC_BUCKET_FIRST   "first"
#define PC_BUCKET_LAST    "last"
#define PC_BUCKET_SAMPLES "samples"
#define PC_BUCKET_STATS   "stats"

/* Sample fields. */
#define PC_SAMPLE_ID     "i"   /* int64, unique per sample (pc_sample_id) */
#define PC_SAMPLE_TIME   "t"   /* date: the payload's ts, else the broker's receive time */
#define PC_SAMPLE_DATA   "d"   /* the payload as a document, or binary when bin is true */
#define PC_SAMPLE_BINARY "bin" /* true: d is the raw payload (not a JSON object) */
#define PC_SAMPLE_FIXED  "fix" /* how many values or keys the data rules rewrote */

/* Largest bucket seq; a slot never has more buckets than PC_BUCKET_SEQ_MAX + 1. */
#define PC_BUCKET_SEQ_MAX 999999u

/* Longest _id, NUL included: a 64-char id, '/', 24-char time, '/', 6 digits. */
#define PC_BUCKET_ID_MAX (64 + 1 + 24 + 1 + 6 + 1)

/*
 * pc_bucket_id - write the _id of bucket seq of the slot starting at
 * start_ms for device (len bytes; the caller has checked it with
 * pc_id_check) into buf. Returns the length, PC_ERR_RANGE (seq over
 * PC_BUCKET_SEQ_MAX or a start outside years 0000-9999) or PC_ERR_TOO_LONG.
 */
int pc_bucket_id(char *buf, size_t buflen, const char *device, size_t len, int64_t start_ms,
                 uint32_t seq);

/*
 * pc_bucket_id_slot - the range of _ids of every bucket of one slot:
 * lo = "<device>/<start>/" and hi = "<device>/<start>0" ('0' follows '/'),
 * so lo <= _id < hi selects them. Both buffers PC_BUCKET_ID_MAX bytes.
 * Returns PC_OK, PC_ERR_RANGE or PC_ERR_TOO_LONG.
 */
int pc_bucket_id_slot(char *lo, char *hi, size_t buflen, const char *device, size_t len,
                      int64_t start_ms);

/*
 * pc_sample_id - the id of the record seq of a spool whose random epoch
 * is epoch: splitmix64's mix of epoch + seq * 0x9E3779B97F4A7C15, as a
 * signed 64-bit value. For one
 * epoch it is a bijection of seq (two records never share an id); across
 * spools the ids are unrelated.
 */
int64_t pc_sample_id(uint64_t epoch, uint64_t seq);

#endif

/*
 * slot.h - time-slot arithmetic for bucketed storage.
 *
 * Time is int64_t milliseconds since the Unix epoch (UTC). A slot of
 * length L covers [k*L, (k+1)*L) for integer k, aligned to the epoch, so
 * hour and day slots start at UTC hour and midnight boundaries. Floor
 * division keeps times before 1970 correct.
 */
#ifndef PRECIS_SLOT_H
#define PRECIS_SLOT_H

#include <stdint.h>
#include <stddef.h>

#define PC_MS_PER_DAY INT64_C(86400000)

/*
 * pc_slot_len_check - a slot length must be at least 1 s, at most 366
 * days, and either divide a day evenly or be a whole number of days, so
 * that slots never straddle UTC midnight in odd ways. Returns PC_OK or
 * PC_ERR_RANGE with detail.
 */
int pc_slot_len_check(int64_t len_ms, char *err, size_t errlen);

/* pc_slot_index - k such that t is in slot k. len_ms > 0. */
int64_t pc_slot_index(int64_t t_ms, int64_t len_ms);

/* pc_slot_start - first millisecond of the slot holding t. len_ms > 0. */
int64_t pc_slot_start(int64_t t_ms, int64_t len_ms);

/* pc_slot_end - first millisecond after the slot holding t (exclusive end). */
int64_t pc_slot_end(int64_t t_ms, int64_t len_ms);

/*
 * pc_slot_count - number of slots that [from_ms, to_ms) touches; 0 when
 * to_ms <= from_ms. Used to size range reads.
 */
int64_t pc_slot_count(int64_t from_ms, int64_t to_ms, int64_t len_ms);

/*
 * pc_time_format - write t as ISO-8601 UTC with milliseconds
 * ("2026-11-23T09:00:00.000Z") into buf. Returns the length, or
 * PC_ERR_TOO_LONG if buflen < 25, or PC_ERR_RANGE for years outside
 * 0000-9999.
 */
int pc_time_format(char *buf, size_t buflen, int64_t t_ms);

#endif

/*
 * slot.c - time-slot arithmetic and ISO-8601 time formatting.
 *
 * Slots of length L are [k*L, (k+1)*L) in milliseconds since the epoch
 * (UTC). Division rounds toward minus infinity, so times before 1970 fall
 * in the right slot. pc_time_format converts days to a civil date itself
 * (Howard Hinnant's days_from_civil inverse) instead of gmtime_r, so it is
 * exact for years 0000-9999 whatever the size of time_t. Pure and
 * thread-safe. Called by the store plugin (bucket ids, range reads) and by
 * the tools and the bridge (formatting times).
 */
#include <stdio.h>

#include "precis/error.h"
#include "precis/slot.h"

#define MS_PER_S    INT64_C(1000)
#define MAX_SLOT_MS (366 * PC_MS_PER_DAY)

/* floor_div - a / b rounded toward minus infinity; b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

/* floor_mod - a - floor_div(a, b) * b, in [0, b); b > 0. */
static int64_t floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

/* pc_slot_len_check - contract in slot.h. */
int pc_slot_len_check(int64_t len_ms, char *err, size_t errlen)
{
	if (len_ms < MS_PER_S)
		return pc_errf(err, errlen, PC_ERR_RANGE, "slot length %lld ms is under 1 s",
		               (long long)len_ms);
	if (len_ms > MAX_SLOT_MS)
		return pc_errf(err, errlen, PC_ERR_RANGE, "slot length %lld ms is over 366 days",
		               (long long)len_ms);
	if (len_ms <= PC_MS_PER_DAY ? PC_MS_PER_DAY % len_ms != 0 : len_ms % PC_MS_PER_DAY != 0)
		return pc_errf(err, errlen, PC_ERR_RANGE,
		               "slot length %lld ms neither divides a day nor is a whole number "
		               "of days",
		               (long long)len_ms);
	return PC_OK;
}

/*
 * The slot functions below treat len_ms <= 0 as 1 ms rather than divide by
 * zero; callers validate lengths with pc_slot_len_check at configuration
 * time. Results that would not fit int64_t saturate.
 */
static int64_t sane_len(int64_t len_ms)
{
	return len_ms > 0 ? len_ms : 1;
}

/* pc_slot_index - contract in slot.h. */
int64_t pc_slot_index(int64_t t_ms, int64_t len_ms)
{
	return floor_div(t_ms, sane_len(len_ms));
}

/* pc_slot_start - contract in slot.h; saturates at INT64_MIN. */
int64_t pc_slot_start(int64_t t_ms, int64_t len_ms)
{
	int64_t start;

	if (__builtin_sub_overflow(t_ms, floor_mod(t_ms, sane_len(len_ms)), &start))
		return INT64_MIN;
	return start;
}

/* pc_slot_end - contract in slot.h; saturates at INT64_MAX. */
int64_t pc_slot_end(int64_t t_ms, int64_t len_ms)
{
	int64_t end;

	if (__builtin_add_overflow(pc_slot_start(t_ms, len_ms), sane_len(len_ms), &end))
		return INT64_MAX;
	return end;
}

/* pc_slot_count - contract in slot.h. */
int64_t pc_slot_count(int64_t from_ms, int64_t to_ms, int64_t len_ms)
{
	if (to_ms <= from_ms)
		return 0;
	return pc_slot_index(to_ms - 1, len_ms) - pc_slot_index(from_ms, len_ms) + 1;
}

/*
 * civil_from_days - the proleptic Gregorian date of day z (0 = 1970-01-01).
 * From Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms".
 */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;                                      /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);                    /* [1, 31] */
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);                       /* [1, 12] */
	*y = yoe + era * 400 + (*m <= 2);
}

/* pc_time_format - contract in slot.h. */
int pc_time_format(char *buf, size_t buflen, int64_t t_ms)
{
	int64_t days = floor_div(t_ms, PC_MS_PER_DAY);
	int64_t ms = floor_mod(t_ms, PC_MS_PER_DAY);
	int64_t y;
	int m, d, n;

	if (buf == NULL || buflen < 25)
		return PC_ERR_TOO_LONG;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return PC_ERR_RANGE;
	n = snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d,
	             (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
	             (int)(ms % 1000));
	return n == 24 ? n : PC_ERR_RANGE;
}

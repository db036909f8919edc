/*
 * time_parse.c - ISO-8601 and epoch-millisecond text to int64_t ms.
 *
 * A small hand-written scanner (no strptime, no locale, no time zone
 * database): fixed-width digit fields, a days-from-civil conversion
 * (Howard Hinnant's algorithm, the inverse of the one in slot.c) and an
 * explicit offset. Pure; used by precisctl for --from / --to.
 */
#include <stdbool.h>
#include <string.h>

#include "precis/error.h"
#include "precis/options.h"
#include "precis/slot.h"
#include "precis/time_parse.h"

/* digits - parse exactly n decimal digits at *p, advancing it. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* zone - parse "Z", "+HH", "+HHMM" or "+HH:MM" (or '-') at p into minutes east of UTC. */
static bool zone(const char *p, int *minutes)
{
	int sign, hh, mm = 0;

	if (*p == '\0') {
		*minutes = 0;
		return true;
	}
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*minutes = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &hh) || hh > 23)
		return false;
	if (*p == ':')
		p++;
	if (*p != '\0' && (!digits(&p, 2, &mm) || mm > 59))
		return false;
	if (*p != '\0')
		return false;
	*minutes = sign * (hh * 60 + mm);
	return true;
}

static int parse_iso(const char *p, int64_t *out_ms)
{
	int y, mo, d, h = 0, mi = 0, s = 0, ms = 0, off;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return PC_ERR_INVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return PC_ERR_INVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
			return PC_ERR_INVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &s) || s > 59)
				return PC_ERR_INVAL;
			if (*p == '.' || *p == ',') {
				int n = 0, scale = 100;

				p++;
				while (*p >= '0' && *p <= '9' && n < 9) {
					ms += (*p - '0') * scale;
					scale /= 10;
					p++;
					n++;
				}
				if (n == 0 || (*p >= '0' && *p <= '9'))
					return PC_ERR_INVAL;
			}
		}
	}
	if (!zone(p, &off))
		return PC_ERR_INVAL;
	*out_ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off) * 60000 + s * 1000 + ms;
	return PC_OK;
}

/* pc_time_parse - contract in time_parse.h. */
int pc_time_parse(const char *s, int64_t *out_ms)
{
	size_t n;

	if (s == NULL)
		return PC_ERR_INVAL;
	n = strlen(s);
	if (n >= 10 && s[4] == '-' && s[7] == '-')
		return parse_iso(s, out_ms);
	return pc_parse_int(s, out_ms);
}

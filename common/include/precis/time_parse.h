/*
 * time_parse.h - read a point in time from a command line or a file.
 *
 * The inverse of pc_time_format (slot.h) and more: tools take --from and
 * --to as milliseconds since the epoch or as ISO-8601 text. Pure.
 */
#ifndef PRECIS_TIME_PARSE_H
#define PRECIS_TIME_PARSE_H

#include <stdint.h>

/*
 * pc_time_parse - parse s into milliseconds since the Unix epoch (UTC):
 *   1795426200000                  milliseconds (optional sign)
 *   2026-11-23                     midnight UTC of that day
 *   2026-11-23T09:30               'T' or one space between date and time
 *   2026-11-23T09:30:15.250Z       seconds and 1-9 fraction digits optional
 *   2026-11-23T10:30:15+01:00      offset as +HH:MM, +HHMM or +HH (or -)
 * Text without Z or an offset is UTC. Years 0000-9999. Fractions beyond
 * the millisecond are truncated. Returns PC_OK, PC_ERR_INVAL (not one of
 * the forms, or a field out of range such as month 13 or Feb 30) or
 * PC_ERR_RANGE (milliseconds that do not fit int64_t); *out_ms is written
 * only on success.
 */
int pc_time_parse(const char *s, int64_t *out_ms);

#endif

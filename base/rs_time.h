/*
 * rs_time: the local-time arithmetic of ridesim.
 *
 * Inside ridesim every time is integer seconds since 1970-01-01 00:00 in
 * the city's local wall-clock time (the "local epoch"); a city's UTC offset
 * turns unix seconds into local ones where a source gives UTC. So days,
 * times of day and weekdays are plain arithmetic on one integer: floor
 * division by the day, no mktime, no TZ, no leap seconds. Negative times
 * (before 1970) floor like the others.
 *
 * Every folder that needs a day, a time of day, a weekday, or reads or
 * writes one as text, uses these. Two things are not local-epoch time and
 * stay outside: the trip store's day of a trip inside SQL, and the UTC
 * wall-clock stamps of when a file or a run was made.
 */
#ifndef RS_TIME_H
#define RS_TIME_H

#include <stddef.h>
#include <stdint.h>

#define RS_DAY_S 86400
#define RS_WEEK_S (7 * RS_DAY_S)

/* The local midnight at or before t. */
static inline int64_t rs_time_day(int64_t t) {
  int64_t q = t / RS_DAY_S;
  return (q - (t % RS_DAY_S < 0)) * RS_DAY_S;
}
/* Seconds since local midnight, 0 .. 86399. */
static inline int32_t rs_time_tod(int64_t t) { return (int32_t)(t - rs_time_day(t)); }
/* The hour of the day, 0 .. 23. */
static inline int32_t rs_time_hour(int64_t t) { return rs_time_tod(t) / 3600; }
/* The day of the week, Monday 0 .. Sunday 6 (1970-01-01 was a Thursday). */
static inline int32_t rs_time_weekday(int64_t t) {
  int64_t days = rs_time_day(t) / RS_DAY_S;
  return (int32_t)(((days + 3) % 7 + 7) % 7);
}
/* Whether t falls on a Saturday or a Sunday. */
static inline int rs_time_weekend(int64_t t) { return rs_time_weekday(t) >= 5; }

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian; any
 * y, m 1..12, d 1..31 taken as given: 02-31 is 03-03 or 03-02). */
int64_t rs_time_days_from_civil(int64_t y, int m, int d);
/* The civil date of a day count from 1970-01-01. */
void rs_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* "YYYY-MM-DD", a day that exists in 1970 .. 9999, to the local epoch of
 * its midnight. 0, or -1 with *out unchanged. */
int rs_time_parse_day(const char *s, int64_t *out);
/* "HH:MM" or "HH:MM:SS", 00:00 .. 24:00, to seconds after midnight. 0, or
 * -1 with *out unchanged. */
int rs_time_parse_tod(const char *s, int64_t *out);

/* Writes "YYYY-MM-DD HH:MM:SS" (19 characters and a NUL) into buf; a
 * shorter buf gets the prefix that fits. */
void rs_time_format(int64_t t, char *buf, size_t size);
/* Writes "YYYY-MM-DD". */
void rs_time_format_day(int64_t t, char *buf, size_t size);
/* Writes seconds after midnight, 0 .. 86400, as "HH:MM", or "HH:MM:SS"
 * when they are not whole minutes (rs_time_parse_tod reads both back). */
void rs_time_format_tod(int64_t tod, char *buf, size_t size);

#endif

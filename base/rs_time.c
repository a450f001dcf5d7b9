/*
 * rs_time: see rs_time.h. The civil-date conversions are Howard Hinnant's
 * days_from_civil / civil_from_days ("chrono-Compatible Low-Level Date
 * Algorithms"): exact for every proleptic Gregorian date, in integer
 * arithmetic with eras of 400 years.
 */
#include "base/rs_time.h"

#include <stdio.h>

int64_t rs_time_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void rs_time_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int rs_time_parse_day(const char *s, int64_t *out) {
  int y, m, d;
  char tail;
  if (s == NULL || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return -1;
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  int64_t days = rs_time_days_from_civil(y, m, d);
  /* 02-31 would be 03-03: refuse days that do not exist */
  int64_t yy;
  int mm, dd;
  rs_time_civil_from_days(days, &yy, &mm, &dd);
  if (mm != m || dd != d) return -1;
  *out = days * RS_DAY_S;
  return 0;
}

int rs_time_parse_tod(const char *s, int64_t *out) {
  int h, m, sec = 0, n = 0;
  if (s == NULL || sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2) return -1;
  if (s[n] == ':') {
    int n2 = 0;
    if (sscanf(s + n + 1, "%2d%n", &sec, &n2) != 1) return -1;
    n += 1 + n2;
  }
  if (s[n] != '\0' || h < 0 || m < 0 || m > 59 || sec < 0 || sec > 59) return -1;
  int64_t v = (int64_t)h * 3600 + m * 60 + sec;
  if (v > RS_DAY_S) return -1;
  *out = v;
  return 0;
}

void rs_time_format(int64_t t, char *buf, size_t size) {
  int64_t day = rs_time_day(t), y;
  int m, d;
  int32_t tod = (int32_t)(t - day);
  rs_time_civil_from_days(day / RS_DAY_S, &y, &m, &d);
  snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)y, m, d, tod / 3600,
           tod / 60 % 60, tod % 60);
}

void rs_time_format_tod(int64_t tod, char *buf, size_t size) {
  int h = (int)(tod / 3600), m = (int)(tod / 60 % 60), s = (int)(tod % 60);
  if (s != 0) snprintf(buf, size, "%02d:%02d:%02d", h, m, s);
  else snprintf(buf, size, "%02d:%02d", h, m);
}

void rs_time_format_day(int64_t t, char *buf, size_t size) {
  int64_t y;
  int m, d;
  rs_time_civil_from_days(rs_time_day(t) / RS_DAY_S, &y, &m, &d);
  snprintf(buf, size, "%04lld-%02d-%02d", (long long)y, m, d);
}

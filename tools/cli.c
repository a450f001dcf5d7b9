/*
 * cli: helpers shared by the subcommands (see cli.h).
 */
#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "ridesim %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "ridesim %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: %s\n", usage);
  return 2;
}

int cli_parse_i64(const char *s, int64_t *out) {
  if (s == NULL || *s == '\0') return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = (int64_t)v;
  return 0;
}

int cli_parse_u64(const char *s, uint64_t *out) {
  if (s == NULL || *s == '\0' || *s == '-') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = (uint64_t)v;
  return 0;
}

int cli_parse_double(const char *s, double *out) {
  if (s == NULL || *s == '\0') return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cli_parse_day(const char *s, int64_t *out) {
  int y, m, d;
  char tail;
  if (s == NULL || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return -1;
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  time_t t = timegm(&tm);
  /* timegm normalises 02-31 to 03-02: refuse days that do not exist. */
  struct tm back;
  gmtime_r(&t, &back);
  if (back.tm_mday != d || back.tm_mon != m - 1) return -1;
  *out = (int64_t)t;
  return 0;
}

int cli_parse_hhmm(const char *s, int64_t *out) {
  int h, m, sec = 0, n = 0;
  if (s == NULL) return -1;
  if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2) return -1;
  if (s[n] == ':') {
    int n2 = 0;
    if (sscanf(s + n + 1, "%2d%n", &sec, &n2) != 1) return -1;
    n += 1 + n2;
  }
  if (s[n] != '\0' || h < 0 || m < 0 || m > 59 || sec < 0 || sec > 59) return -1;
  int64_t v = (int64_t)h * 3600 + m * 60 + sec;
  if (v > 86400) return -1;
  *out = v;
  return 0;
}

void cli_format_time(int64_t t, char *buf, unsigned long size) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

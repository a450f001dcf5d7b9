/*
 * cli: helpers shared by the subcommands (see cli.h).
 */
#include "tools/cli.h"

#include "base/rs_time.h"
#include "sim/scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

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

int cli_parse_day(const char *s, int64_t *out) { return sim_scenario_parse_day(s, out); }

int cli_parse_hhmm(const char *s, int64_t *out) { return sim_scenario_parse_tod(s, out); }

int cli_check_output(const char *path, char *why, unsigned long size) {
  struct stat sb;
  if (path == NULL || *path == '\0') {
    snprintf(why, size, "empty file name");
    return -1;
  }
  if (stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode)) {
      snprintf(why, size, "%s is a directory", path);
      return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
      snprintf(why, size, "%s is not a regular file", path);
      return -1;
    }
  }
  /* the file is written beside itself and renamed: its directory must take it */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    snprintf(why, size, "no such directory: %s", dir);
    return -1;
  }
  if (access(dir, W_OK) != 0) {
    snprintf(why, size, "directory %s is not writable", dir);
    return -1;
  }
  return 0;
}

void cli_format_time(int64_t t, char *buf, unsigned long size) { rs_time_format(t, buf, size); }

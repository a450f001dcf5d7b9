/*
 * matchfile: instance files in, solutions out; see matchfile.h.
 *
 * The whole file is read into memory first (instances are at most a few
 * hundred megabytes), then tokenised line by line; edges are collected in
 * the file's order and counting-sorted by row into CSR, which keeps a row's
 * edges in file order (the solver's tie-breaks follow it). On any error
 * everything allocated so far is freed and the message names the file and
 * line.
 */
#include "dispatch/matchfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"
#include "dispatch/match.h"

/* Reads a whole file into a NUL-terminated buffer. NULL on failure (errno). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 0, n = 0;
  char *buf = NULL;
  for (;;) {
    if (rs_vec_grow(buf, cap, n + 2)) { /* a byte to read and a NUL */
      free(buf);
      buf = NULL;
      errno = ENOMEM;
      break;
    }
    size_t got = fread(buf + n, 1, cap - 1 - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) {
        free(buf);
        buf = NULL;
        errno = EIO;
      }
      break;
    }
  }
  fclose(f);
  if (buf != NULL) {
    buf[n] = '\0';
    *len = n;
  }
  return buf;
}

/* Token reader over one line: returns the start of the next token on the
 * line (and its end in *end), or NULL at the end of the line. */
static const char *next_token(const char *s, const char **end) {
  while (*s == ' ' || *s == '\t' || *s == '\r') s++;
  if (*s == '\0' || *s == '\n') return NULL;
  const char *t = s;
  while (*t != '\0' && *t != '\n' && *t != ' ' && *t != '\t' && *t != '\r') t++;
  *end = t;
  return s;
}

/* Strict numbers: the whole token, base 10, no overflow; a real must be
 * finite. 0 or -1. */
static int parse_int(const char *s, const char *end, int64_t *out) {
  char tmp[32];
  size_t len = (size_t)(end - s);
  if (len == 0 || len >= sizeof tmp) return -1;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *stop;
  errno = 0;
  long long v = strtoll(tmp, &stop, 10);
  if (errno != 0 || *stop != '\0') return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_real(const char *s, const char *end, double *out) {
  char tmp[64];
  size_t len = (size_t)(end - s);
  if (len == 0 || len >= sizeof tmp) return -1;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *stop;
  errno = 0;
  double v = strtod(tmp, &stop);
  /* ERANGE with a result below 1 is underflow (1e-320 is a subnormal, 1e-400
   * rounds to 0): a finite weight all the same, unlike an overflow */
  if ((errno != 0 && !(errno == ERANGE && fabs(v) < 1)) || *stop != '\0' || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int disp_matchfile_read(const char *path, disp_matchfile *m, rs_err *e) {
  memset(m, 0, sizeof *m);
  size_t len;
  char *buf = slurp(path, &len);
  if (buf == NULL) {
    int code = errno == ENOENT ? RS_ENOENT : errno == ENOMEM ? RS_ENOMEM : RS_EIO;
    return rs_err_set(e, code, "%s: %s", path, strerror(errno));
  }
  int32_t *ei = NULL, *ej = NULL, *ptr = NULL, *cols = NULL;
  double *ew = NULL, *ws = NULL;
  int64_t hdr[3] = {0, 0, 0}, ne = 0, got = 0;
  long line = 0;
  int have_header = 0, all_int = 1, code = RS_EFORMAT;
  char why[sizeof ((rs_err *)0)->msg];
  const char *s = buf;
#define FAIL(...)                                             \
  do {                                                        \
    snprintf(why, sizeof why, __VA_ARGS__);                   \
    goto fail;                                                \
  } while (0)
  while (*s != '\0') {
    line++;
    const char *eol = strchr(s, '\n');
    const char *next = eol ? eol + 1 : s + strlen(s);
    const char *tok[4], *tend[4];
    int nt = 0;
    const char *p = s, *te;
    while (nt < 4 && (p = next_token(p, &te)) != NULL) {
      tok[nt] = p;
      tend[nt] = te;
      nt++;
      p = te;
    }
    s = next;
    if (nt == 0) continue;
    if (nt != 3)
      FAIL("expected 3 fields, found %s", nt > 3 ? "more" : nt == 1 ? "1" : "2");
    if (!have_header) {
      for (int t = 0; t < 3; t++)
        if (parse_int(tok[t], tend[t], &hdr[t]) != 0 || hdr[t] < 0 ||
            hdr[t] > INT32_MAX - 1)
          FAIL("header must be 'n_rows n_cols n_edges' (non-negative integers)");
      /* Every edge line takes at least 6 bytes ("0 0 1\n"): a header that
       * promises more edges than the file can hold is refused before any
       * allocation, and sizes are bounded so CSR offsets fit. */
      if (hdr[2] > (int64_t)(len / 6) + 1)
        FAIL("header promises %lld edges, more than the file's %zu bytes can hold",
             (long long)hdr[2], len);
      if (hdr[0] > DISP_MATCHFILE_MAX_SIDE || hdr[1] > DISP_MATCHFILE_MAX_SIDE)
        FAIL("%lld x %lld is larger than the %d x %d this reader accepts", (long long)hdr[0],
             (long long)hdr[1], DISP_MATCHFILE_MAX_SIDE, DISP_MATCHFILE_MAX_SIDE);
      ne = hdr[2];
      have_header = 1;
      ei = malloc(((size_t)ne + 1) * sizeof *ei);
      ej = malloc(((size_t)ne + 1) * sizeof *ej);
      ew = malloc(((size_t)ne + 1) * sizeof *ew);
      if (ei == NULL || ej == NULL || ew == NULL) {
        code = RS_ENOMEM;
        FAIL("out of memory for %lld edges", (long long)ne);
      }
      continue;
    }
    int64_t i, j;
    double x;
    if (parse_int(tok[0], tend[0], &i) != 0 || i < 0 || i >= hdr[0])
      FAIL("row index '%.*s' is not an integer in [0, %lld)", (int)(tend[0] - tok[0]),
           tok[0], (long long)hdr[0]);
    if (parse_int(tok[1], tend[1], &j) != 0 || j < 0 || j >= hdr[1])
      FAIL("column index '%.*s' is not an integer in [0, %lld)", (int)(tend[1] - tok[1]),
           tok[1], (long long)hdr[1]);
    if (parse_real(tok[2], tend[2], &x) != 0)
      FAIL("weight '%.*s' is not a finite number", (int)(tend[2] - tok[2]), tok[2]);
    if (fabs(x) > DISP_MATCH_EXACT_MAX)
      FAIL("weight '%.*s' is beyond +-2^50, the solver's range", (int)(tend[2] - tok[2]), tok[2]);
    if (got >= ne) FAIL("more edges than the header's %lld", (long long)ne);
    ei[got] = (int32_t)i;
    ej[got] = (int32_t)j;
    ew[got] = x;
    if (x != floor(x) || fabs(x) > DISP_MATCH_EXACT_MAX) all_int = 0;
    got++;
  }
  if (!have_header) FAIL("empty file: no 'n_rows n_cols n_edges' header");
  if (got != ne) FAIL("header says %lld edges, found %lld", (long long)ne, (long long)got);

  /* Counting sort by row; stable, so a row's edges keep the file order. */
  ptr = calloc((size_t)hdr[0] + 1, sizeof *ptr);
  cols = malloc(((size_t)ne + 1) * sizeof *cols);
  ws = malloc(((size_t)ne + 1) * sizeof *ws);
  if (ptr == NULL || cols == NULL || ws == NULL) {
    code = RS_ENOMEM;
    FAIL("out of memory");
  }
  for (int64_t q = 0; q < ne; q++) ptr[ei[q] + 1]++;
  for (int64_t r = 0; r < hdr[0]; r++) ptr[r + 1] += ptr[r];
  for (int64_t q = 0; q < ne; q++) {
    int32_t at = ptr[ei[q]]++;
    cols[at] = ej[q];
    ws[at] = ew[q];
  }
  for (int64_t r = hdr[0]; r > 0; r--) ptr[r] = ptr[r - 1];
  ptr[0] = 0;
#undef FAIL
  free(buf);
  free(ei);
  free(ej);
  free(ew);
  m->n_rows = (int32_t)hdr[0];
  m->n_cols = (int32_t)hdr[1];
  m->row_ptr = ptr;
  m->col_idx = cols;
  m->w = ws;
  m->integral = all_int;
  return 0;
fail:
  free(buf);
  free(ei);
  free(ej);
  free(ew);
  free(ptr);
  free(cols);
  free(ws);
  return rs_err_set(e, code, "%s:%ld: %s", path, line, why);
}

void disp_matchfile_free(disp_matchfile *m) {
  if (m == NULL) return;
  free(m->row_ptr);
  free(m->col_idx);
  free(m->w);
  memset(m, 0, sizeof *m);
}

int disp_matchfile_write(FILE *out, const disp_matchfile *m, const int32_t *row_to_col,
                         double total) {
  int32_t n_rows = m->n_rows;
  const int32_t *row_ptr = m->row_ptr, *col_idx = m->col_idx;
  const double *w = m->w;
  int32_t k = 0;
  for (int32_t i = 0; i < n_rows; i++) k += row_to_col[i] >= 0;
  if (m->integral)
    fprintf(out, "optimal_total_weight %.0f\n", total);
  else
    fprintf(out, "optimal_total_weight %.17g\n", total);
  fprintf(out, "matched_pairs %d\n", (int)k);
  for (int32_t i = 0; i < n_rows; i++) {
    int32_t j = row_to_col[i];
    if (j < 0) continue;
    double best = -INFINITY; /* the heaviest of duplicate (i, j) edges */
    for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++)
      if (col_idx[p] == j && w[p] > best) best = w[p];
    fprintf(out, "%d %d %.17g\n", (int)i, (int)j, best);
  }
  return ferror(out) ? RS_EIO : 0;
}


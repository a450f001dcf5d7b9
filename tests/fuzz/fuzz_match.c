/*
 * fuzz_match: the matching instance reader of `ridesim match`
 * (disp_matchfile_read in dispatch/matchfile.c) and the solver it feeds
 * (dispatch/match), on arbitrary bytes.
 *
 * The bytes are written to a temporary file and read with
 * disp_matchfile_read, which either fails with "FILE:LINE: reason" and
 * nothing allocated, or
 * returns CSR arrays that must be well formed (row_ptr starts at 0, never
 * decreases, ends at the edge count; every column in range). Those go to
 * disp_match_solve; its result must pass disp_match_verify (a valid
 * matching whose total is its weight) and disp_match_check (the dual
 * certificate of optimality), and for tiny instances (at most 8 rows and 10
 * columns) its total must equal the optimum found by a plain dynamic
 * programme over subsets of columns, within the rounding allowance of
 * match.h ("Precision"). The output writer must not fail on a memory stream.
 *
 * Instance sizes. The reader allocates from the header's counts before it
 * has seen the edges (see docs/reliability.md), so a three-line file can ask
 * for gigabytes; headers with a count above FUZZ_MATCH_MAX_N are skipped to
 * keep the fuzzer exploring the parser instead of its own memory limit.
 *
 * Links dispatch/matchfile.c, dispatch/match.c and base/; see tools/fuzz.sh.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rs_error.h"
#include "dispatch/match.h"
#include "dispatch/matchfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MATCH_MAX_N 4096   /* rows, columns or edges in a header */
#define BRUTE_MAX_ROWS 8
#define BRUTE_MAX_COLS 10

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* Whether the first non-blank line holds a count above FUZZ_MATCH_MAX_N
 * (read loosely: any run of digits). */
static int header_too_big(const uint8_t *d, size_t n) {
  size_t i = 0;
  for (;;) {
    int tokens = 0;
    while (i < n && d[i] != '\n' && d[i] != '\0') {
      if (d[i] >= '0' && d[i] <= '9') {
        double v = 0;
        while (i < n && d[i] >= '0' && d[i] <= '9') v = v * 10 + (d[i++] - '0');
        if (v > FUZZ_MATCH_MAX_N) return 1;
        tokens++;
      } else {
        if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r') tokens++;
        i++;
      }
    }
    if (tokens > 0 || i >= n || d[i] == '\0') return 0;
    i++;
  }
}

/* Best total over matchings of a tiny instance: dp over rows, mask of used
 * columns. Duplicate edges count with their heaviest weight; weights <= 0
 * are never taken. */
static double brute_force(int32_t nr, int32_t nc, const int32_t *ptr,
                          const int32_t *cols, const double *w) {
  double best_w[BRUTE_MAX_ROWS][BRUTE_MAX_COLS];
  for (int i = 0; i < nr; i++)
    for (int j = 0; j < nc; j++) best_w[i][j] = 0;
  for (int i = 0; i < nr; i++)
    for (int32_t p = ptr[i]; p < ptr[i + 1]; p++)
      if (w[p] > best_w[i][cols[p]]) best_w[i][cols[p]] = w[p];
  static double dp[1 << BRUTE_MAX_COLS], nx[1 << BRUTE_MAX_COLS];
  size_t nm = (size_t)1 << nc;
  for (size_t m = 0; m < nm; m++) dp[m] = m == 0 ? 0 : -INFINITY;
  for (int i = 0; i < nr; i++) {
    for (size_t m = 0; m < nm; m++) nx[m] = dp[m];
    for (size_t m = 0; m < nm; m++) {
      if (dp[m] == -INFINITY) continue;
      for (int j = 0; j < nc; j++) {
        if ((m >> j) & 1 || best_w[i][j] <= 0) continue;
        double v = dp[m] + best_w[i][j];
        if (v > nx[m | ((size_t)1 << j)]) nx[m | ((size_t)1 << j)] = v;
      }
    }
    for (size_t m = 0; m < nm; m++) dp[m] = nx[m];
  }
  double best = 0;
  for (size_t m = 0; m < nm; m++)
    if (dp[m] > best) best = dp[m];
  return best;
}

static char tmp_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 16) || header_too_big(data, size)) return 0;
  if (tmp_path[0] == '\0')
    snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz_match.%ld.txt", (long)getpid());
  FILE *f = fopen(tmp_path, "wb");
  if (f == NULL) abort();
  if (size > 0 && fwrite(data, 1, size, f) != size) abort();
  if (fclose(f) != 0) abort();

  disp_matchfile in;
  rs_err re;
  rs_err_clear(&re);
  int rc = disp_matchfile_read(tmp_path, &in, &re);
  unlink(tmp_path);
  if (rc != 0) {
    FUZZ_CHECK(rc == RS_EFORMAT || rc == RS_ENOMEM || rc == RS_EIO || rc == RS_ENOENT);
    FUZZ_CHECK(strncmp(re.msg, tmp_path, strlen(tmp_path)) == 0);
    FUZZ_CHECK(strchr(re.msg, '\n') == NULL);
    FUZZ_CHECK(in.row_ptr == NULL && in.col_idx == NULL && in.w == NULL);
    return 0;
  }
  int32_t nr = in.n_rows, nc = in.n_cols, *ptr = in.row_ptr, *cols = in.col_idx;
  double *w = in.w;
  int integral = in.integral;
  FUZZ_CHECK(nr >= 0 && nc >= 0 && ptr != NULL && cols != NULL && w != NULL);
  FUZZ_CHECK(ptr[0] == 0);
  for (int32_t i = 0; i < nr; i++) FUZZ_CHECK(ptr[i] <= ptr[i + 1]);
  int32_t ne = ptr[nr];
  double wmax = 0;
  for (int32_t p = 0; p < ne; p++) {
    FUZZ_CHECK(cols[p] >= 0 && cols[p] < nc);
    FUZZ_CHECK(isfinite(w[p]));
    if (w[p] > wmax) wmax = w[p];
  }

  /* Known open finding (docs/reliability.md, F-MATCH-1): finite weights whose
   * sum leaves the doubles make the solver return a NaN total with success.
   * While fuzzing (RIDESIM_FUZZ_SKIP_KNOWN=1, set by tools/fuzz.sh) such
   * instances are skipped so the campaign explores past them; the replay
   * tests do not skip, and keep failing on the saved input until it is
   * fixed. */
  if (getenv("RIDESIM_FUZZ_SKIP_KNOWN") != NULL) {
    double sum = 0;
    for (int32_t p = 0; p < ne; p++)
      if (w[p] > 0) sum += w[p];
    if (!(sum * 4 < DBL_MAX)) {
      disp_matchfile_free(&in);
      return 0;
    }
  }

  disp_match *m = disp_match_new();
  int32_t *r2c = malloc(((size_t)nr + 1) * sizeof *r2c);
  FUZZ_CHECK(m != NULL && r2c != NULL);
  double total = 0;
  rs_err e;
  rs_err_clear(&e);
  rc = disp_match_solve(m, nr, nc, ptr, cols, w, r2c, &total, &e);
  /* Sums of huge finite weights can leave the doubles (1e308 + 1e308):
   * the solver may refuse those, but must say so. */
  if (rc != 0) {
    FUZZ_CHECK(rc == RS_EINVAL || rc == RS_ENOMEM || rc == RS_ERANGE);
    FUZZ_CHECK(e.msg[0] != '\0');
  } else {
    rs_err ve;
    rs_err_clear(&ve);
    if (disp_match_verify(nr, nc, ptr, cols, w, r2c, total, &ve) != 0) {
      fprintf(stderr, "verify: %s\n", ve.msg);
      abort();
    }
    double viol = 0;
    rs_err_clear(&ve);
    if (disp_match_check(m, &viol, &ve) != 0) {
      fprintf(stderr, "check: %s (violation %g)\n", ve.msg, viol);
      abort();
    }
    if (nr <= BRUTE_MAX_ROWS && nc <= BRUTE_MAX_COLS) {
      double best = brute_force(nr, nc, ptr, cols, w);
      int32_t k = nr < nc ? nr : nc;
      double tol = integral && wmax <= DISP_MATCH_EXACT_MAX
                       ? 0
                       : (DISP_MATCH_REL_TOL * k * k + 8 * DBL_EPSILON * k) * wmax;
      if (!(fabs(total - best) <= tol)) {
        fprintf(stderr, "total %.17g, brute force %.17g, tolerance %g\n", total, best, tol);
        abort();
      }
    }
    char *out = NULL;
    size_t out_len = 0;
    FILE *mf = open_memstream(&out, &out_len);
    FUZZ_CHECK(mf != NULL);
    FUZZ_CHECK(disp_matchfile_write(mf, &in, r2c, total) == 0);
    fclose(mf);
    free(out);
  }
  disp_match_free(m);
  free(r2c);
  disp_matchfile_free(&in);
  return 0;
}

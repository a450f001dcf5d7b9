/*
 * Tests of dispatch/match: the solver against independent references on
 * random instances (exhaustive search over all matchings for tiny ones, a
 * dense O(n^3) Hungarian method for 200-row ones), hand-made traps, the
 * validity of every returned matching, the dual certificate of every solve,
 * reuse of one workspace across shapes, and malformed input.
 *
 * Random instances come from PCG32 with fixed seeds, so a failure names a
 * reproducible (seed, instance) pair.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/match.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

/* ---- instances ---- */

#define MAXE 4096

/* A CSR instance built from an edge list in insertion order. */
typedef struct {
  int32_t nr, nc, ne;
  int32_t ptr[MAXE + 1];
  int32_t col[MAXE];
  double w[MAXE];
} inst;

/* Edge-list builder: rows in any order, then to_csr groups them by row. */
typedef struct {
  int32_t n;
  int32_t i[MAXE], j[MAXE];
  double w[MAXE];
} elist;

static void to_csr(const elist *l, int32_t nr, int32_t nc, inst *x) {
  x->nr = nr;
  x->nc = nc;
  x->ne = l->n;
  memset(x->ptr, 0, sizeof(int32_t) * ((size_t)nr + 1));
  for (int32_t q = 0; q < l->n; q++) x->ptr[l->i[q] + 1]++;
  for (int32_t r = 0; r < nr; r++) x->ptr[r + 1] += x->ptr[r];
  int32_t fill[MAXE + 1];
  memcpy(fill, x->ptr, sizeof(int32_t) * ((size_t)nr + 1));
  for (int32_t q = 0; q < l->n; q++) {
    int32_t at = fill[l->i[q]]++;
    x->col[at] = l->j[q];
    x->w[at] = l->w[q];
  }
}

static void add(elist *l, int32_t i, int32_t j, double w) {
  ck_assert_int_lt(l->n, MAXE);
  l->i[l->n] = i;
  l->j[l->n] = j;
  l->w[l->n] = w;
  l->n++;
}

/* ---- references ---- */

/* Exhaustive search over every matching (unmatched allowed) on the dense
 * matrix of best weights; -INFINITY marks a non-edge. */
static double brute_rec(const double *bw, int32_t nr, int32_t nc, int32_t i,
                        unsigned used) {
  if (i == nr) return 0;
  double best = brute_rec(bw, nr, nc, i + 1, used); /* row i unmatched */
  for (int32_t j = 0; j < nc; j++) {
    double x = bw[i * nc + j];
    if ((used >> j & 1u) || x == -INFINITY) continue;
    double t = x + brute_rec(bw, nr, nc, i + 1, used | 1u << j);
    if (t > best) best = t;
  }
  return best;
}

static double brute(const inst *x) {
  double bw[64];
  for (int32_t a = 0; a < x->nr * x->nc; a++) bw[a] = -INFINITY;
  for (int32_t i = 0; i < x->nr; i++)
    for (int32_t p = x->ptr[i]; p < x->ptr[i + 1]; p++)
      if (x->w[p] > bw[i * x->nc + x->col[p]]) bw[i * x->nc + x->col[p]] = x->w[p];
  return brute_rec(bw, x->nr, x->nc, 0, 0);
}

/* Dense Hungarian method (potentials and shortest augmenting paths, O(n^3))
 * minimising a square n x n cost matrix a (row-major). Returns the optimum. */
static double hungarian(const double *a, int n) {
  double *u = calloc((size_t)n + 1, sizeof *u), *v = calloc((size_t)n + 1, sizeof *v);
  double *minv = malloc(((size_t)n + 1) * sizeof *minv);
  int *p = calloc((size_t)n + 1, sizeof *p), *way = calloc((size_t)n + 1, sizeof *way);
  char *usedc = malloc((size_t)n + 1);
  for (int i = 1; i <= n; i++) {
    p[0] = i;
    int j0 = 0;
    for (int j = 0; j <= n; j++) minv[j] = INFINITY;
    memset(usedc, 0, (size_t)n + 1);
    do {
      usedc[j0] = 1;
      int i0 = p[j0], j1 = 0;
      double delta = INFINITY;
      for (int j = 1; j <= n; j++) {
        if (usedc[j]) continue;
        double cur = a[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= n; j++) {
        if (usedc[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  double total = 0;
  for (int j = 1; j <= n; j++) total += a[(p[j] - 1) * n + (j - 1)];
  free(u);
  free(v);
  free(minv);
  free(p);
  free(way);
  free(usedc);
  return total;
}

/* Max-weight non-perfect matching = assignment on the square matrix of
 * max(w, 0) (0 for non-edges and padding): a pair of weight 0 in the
 * assignment is "unmatched". */
static double dense_reference(const inst *x) {
  int n = x->nr > x->nc ? x->nr : x->nc;
  double *a = calloc((size_t)n * (size_t)n, sizeof *a);
  for (int32_t i = 0; i < x->nr; i++)
    for (int32_t p = x->ptr[i]; p < x->ptr[i + 1]; p++) {
      double *cell = &a[i * n + x->col[p]];
      if (-x->w[p] < *cell) *cell = -x->w[p];
    }
  double t = n > 0 ? -hungarian(a, n) : 0;
  free(a);
  return t;
}

/* ---- helpers ---- */

/* Solves x with m, checks validity and the certificate; returns the total. */
static double solve_checked(disp_match *m, const inst *x, int32_t *r2c) {
  double total = -1;
  rs_err e = {0};
  int rc = disp_match_solve(m, x->nr, x->nc, x->ptr, x->col, x->w, r2c, &total, &e);
  ck_assert_msg(rc == 0, "solve failed: %s", e.msg);
  rc = disp_match_verify(x->nr, x->nc, x->ptr, x->col, x->w, r2c, total, &e);
  ck_assert_msg(rc == 0, "invalid result: %s", e.msg);
  double viol;
  rc = disp_match_check(m, &viol, &e);
  ck_assert_msg(rc == 0, "certificate: %s", e.msg);
  return total;
}

/* Solves x (checking the certificate) and compares the optimum with the
 * dense Hungarian method's: exactly for integral weights, to 1e-9
 * relative for doubles. r2c holds x's rows. */
static void check_vs_hungarian(const inst *x, int integral, int32_t *r2c) {
  disp_match *m = disp_match_new();
  double got = solve_checked(m, x, r2c);
  double want = dense_reference(x);
  if (integral)
    ck_assert_double_eq(got, want);
  else
    ck_assert_msg(fabs(got - want) <= 1e-9 * fmax(1, fabs(want)), "got %.17g want %.17g", got,
                  want);
  disp_match_free(m);
}

/* A random small instance: shapes 0..7 both ways, edges with probability
 * dens (some duplicated), some empty rows, integral weights in [-4, 12]
 * (ties are common) or doubles in (-0.3, 1). */
static void random_small(pcg32 *g, inst *x, int integral) {
  static elist l;
  l.n = 0;
  int32_t nr = (int32_t)pcg32_bounded(g, 8), nc = (int32_t)pcg32_bounded(g, 8);
  uint32_t dens = 1 + pcg32_bounded(g, 100);
  for (int32_t i = 0; i < nr; i++) {
    if (pcg32_bounded(g, 6) == 0) continue; /* empty row */
    for (int32_t j = 0; j < nc; j++) {
      int copies = pcg32_bounded(g, 100) < dens ? 1 + (pcg32_bounded(g, 5) == 0) : 0;
      for (int c = 0; c < copies; c++) {
        double w = integral ? (double)((int32_t)pcg32_bounded(g, 17) - 4)
                            : pcg32_double(g) * 1.3 - 0.3;
        add(&l, i, j, w);
      }
    }
  }
  /* shuffle the edge order within the list so rows' edges are not sorted */
  for (int32_t q = l.n - 1; q > 0; q--) {
    int32_t r = (int32_t)pcg32_bounded(g, (uint32_t)q + 1);
    int32_t ti = l.i[q], tj = l.j[q];
    double tw = l.w[q];
    l.i[q] = l.i[r];
    l.j[q] = l.j[r];
    l.w[q] = l.w[r];
    l.i[r] = ti;
    l.j[r] = tj;
    l.w[r] = tw;
  }
  to_csr(&l, nr, nc, x);
}

/* ---- disp_match_solve against exhaustive search ---- */

enum { SMALL_PER_LOOP = 300, SMALL_LOOPS = 10 }; /* 3,000 instances */

START_TEST(test_small_vs_brute) {
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 20240601u, (uint64_t)_i);
  disp_match *m = disp_match_new();
  ck_assert_ptr_nonnull(m);
  int32_t r2c[8];
  for (int t = 0; t < SMALL_PER_LOOP; t++) {
    int integral = t % 3 != 0;
    random_small(&g, &x, integral);
    double got = solve_checked(m, &x, r2c);
    double want = brute(&x);
    if (integral)
      ck_assert_msg(got == want, "seed %d instance %d (%dx%d): got %g want %g", _i, t,
                    x.nr, x.nc, got, want);
    else
      ck_assert_msg(fabs(got - want) <= 1e-12, "seed %d instance %d: got %.17g want %.17g",
                    _i, t, got, want);
  }
  disp_match_free(m);
}
END_TEST

/* Rows far longer than the columns (many duplicate edges, ties in weight):
 * an internal row out of order gets a sorted head of its heaviest edges
 * after its first scan, with the rest unsorted behind it, and scans stop at
 * the first edge of the head too light to matter. Heads shorter and longer
 * than the rows, both orientations (the transposed build too) and the
 * cut-offs are checked against exhaustive search. */
START_TEST(test_long_rows_vs_brute) {
  static elist l;
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 5150u, (uint64_t)_i);
  disp_match *m = disp_match_new();
  ck_assert_ptr_nonnull(m);
  int32_t r2c[8];
  for (int t = 0; t < 40; t++) {
    int integral = t % 2 == 0;
    l.n = 0;
    int32_t nr = 1 + (int32_t)pcg32_bounded(&g, 7), nc = 1 + (int32_t)pcg32_bounded(&g, 7);
    for (int32_t i = 0; i < nr; i++) {
      int32_t deg = (int32_t)pcg32_bounded(&g, MAXE / 8);
      for (int32_t q = 0; q < deg; q++) {
        int32_t j = (int32_t)pcg32_bounded(&g, (uint32_t)nc);
        double w = integral ? (double)((int32_t)pcg32_bounded(&g, 30) - 5)
                            : pcg32_double(&g) * 1.3 - 0.3;
        add(&l, i, j, w);
      }
    }
    to_csr(&l, nr, nc, &x);
    double got = solve_checked(m, &x, r2c);
    double want = brute(&x);
    if (integral)
      ck_assert_msg(got == want, "seed %d instance %d (%dx%d): got %g want %g", _i, t,
                    x.nr, x.nc, got, want);
    else
      ck_assert_msg(fabs(got - want) <= 1e-12, "seed %d instance %d: got %.17g want %.17g",
                    _i, t, got, want);
  }
  disp_match_free(m);
}
END_TEST

/* ---- traps ---- */

static double solve_list(const elist *l, int32_t nr, int32_t nc, int32_t *r2c) {
  static inst x;
  to_csr(l, nr, nc, &x);
  disp_match *m = disp_match_new();
  double t = solve_checked(m, &x, r2c);
  disp_match_free(m);
  return t;
}

/* Greedy by heaviest edge takes (0,0)=10 and scores 10; the optimum is
 * (0,1)+(1,0) = 9 + 9 = 18. */
START_TEST(test_trap_greedy_fails) {
  static elist l;
  l.n = 0;
  add(&l, 0, 0, 10);
  add(&l, 0, 1, 9);
  add(&l, 1, 0, 9);
  int32_t r2c[2];
  ck_assert_double_eq(solve_list(&l, 2, 2, r2c), 18);
  ck_assert_int_eq(r2c[0], 1);
  ck_assert_int_eq(r2c[1], 0);
}
END_TEST

/* Row 0 can take column 0 (weight 1), but row 1 wants it for 5 and has no
 * other edge: the optimum leaves row 0 unmatched (a perfect-matching solver
 * would be forced into a worse answer or fail). */
START_TEST(test_trap_unmatched_optimal) {
  static elist l;
  l.n = 0;
  add(&l, 0, 0, 1);
  add(&l, 1, 0, 5);
  add(&l, 1, 1, -3);
  int32_t r2c[2];
  ck_assert_double_eq(solve_list(&l, 2, 2, r2c), 5);
  ck_assert_int_eq(r2c[0], -1);
  ck_assert_int_eq(r2c[1], 0);
}
END_TEST

/* A chain: row i < N has (i, i) = 1000 and (i, i + 1) = 999; row N has
 * only (N, 0) = 2000. Every row's favourite is its own column, but the
 * optimum gives column 0 to row N and shifts every other row by one (losing
 * 1 per row, N < 1000, rather than one whole row): a single augmenting path
 * of length 2N + 1. */
START_TEST(test_trap_long_path) {
  enum { N = 300 };
  static elist l;
  l.n = 0;
  for (int32_t i = 0; i < N; i++) {
    add(&l, i, i, 1000);
    add(&l, i, i + 1, 999);
  }
  add(&l, N, 0, 2000);
  static int32_t r2c[N + 1];
  double t = solve_list(&l, N + 1, N + 1, r2c);
  ck_assert_double_eq(t, 999.0 * N + 2000);
  ck_assert_int_eq(r2c[N], 0);
  for (int32_t i = 0; i < N; i++) ck_assert_int_eq(r2c[i], i + 1);
}
END_TEST

START_TEST(test_trap_all_nonpositive) {
  static elist l;
  l.n = 0;
  for (int32_t i = 0; i < 4; i++)
    for (int32_t j = 0; j < 3; j++) add(&l, i, j, -(double)(i + j) - 0.0);
  add(&l, 2, 2, 0.0);
  int32_t r2c[4];
  ck_assert_double_eq(solve_list(&l, 4, 3, r2c), 0);
  for (int32_t i = 0; i < 4; i++) ck_assert_int_eq(r2c[i], -1);
}
END_TEST

START_TEST(test_trap_empty_shapes) {
  disp_match *m = disp_match_new();
  rs_err e = {0};
  double t = -1;
  int32_t r2c[5] = {7, 7, 7, 7, 7};
  int32_t ptr0[1] = {0};
  /* 0 rows, any columns; row_ptr may even be NULL */
  ck_assert_int_eq(disp_match_solve(m, 0, 5, ptr0, NULL, NULL, r2c, &t, &e), 0);
  ck_assert_double_eq(t, 0);
  ck_assert_int_eq(disp_match_solve(m, 0, 0, NULL, NULL, NULL, r2c, &t, &e), 0);
  /* 5 rows, 0 columns: every row unmatched */
  int32_t ptr5[6] = {0, 0, 0, 0, 0, 0};
  t = -1;
  ck_assert_int_eq(disp_match_solve(m, 5, 0, ptr5, NULL, NULL, r2c, &t, &e), 0);
  ck_assert_double_eq(t, 0);
  for (int i = 0; i < 5; i++) ck_assert_int_eq(r2c[i], -1);
  ck_assert_int_eq(disp_match_check(m, NULL, &e), 0);
  disp_match_free(m);
}
END_TEST

/* Duplicate edges: the heaviest copy counts, whichever comes first. */
START_TEST(test_trap_duplicates) {
  static elist l;
  l.n = 0;
  add(&l, 0, 0, 2);
  add(&l, 0, 0, 7);
  add(&l, 0, 0, -1);
  add(&l, 1, 0, 6);
  add(&l, 1, 1, 1);
  add(&l, 1, 1, 1);
  int32_t r2c[2];
  ck_assert_double_eq(solve_list(&l, 2, 2, r2c), 8);
  ck_assert_int_eq(r2c[0], 0);
  ck_assert_int_eq(r2c[1], 1);
}
END_TEST

/* Wide and tall versions of one instance have the same optimum (the solver
 * transposes the tall one internally). */
START_TEST(test_transpose_agrees) {
  static elist a, b;
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 77u, (uint64_t)_i);
  a.n = b.n = 0;
  int32_t nr = 40 + (int32_t)pcg32_bounded(&g, 40), nc = 5 + (int32_t)pcg32_bounded(&g, 30);
  for (int32_t i = 0; i < nr; i++)
    for (int k = 0; k < 4; k++) {
      int32_t j = (int32_t)pcg32_bounded(&g, (uint32_t)nc);
      double w = (double)pcg32_bounded(&g, 50) - 5;
      add(&a, i, j, w);
      add(&b, j, i, w);
    }
  static int32_t r2c[100];
  disp_match *m = disp_match_new();
  to_csr(&a, nr, nc, &x);
  double t1 = solve_checked(m, &x, r2c);
  disp_match_stats st;
  disp_match_last_stats(m, &st);
  ck_assert_int_eq(st.transposed, 1);
  ck_assert_double_eq(t1, dense_reference(&x));
  to_csr(&b, nc, nr, &x);
  double t2 = solve_checked(m, &x, r2c);
  disp_match_last_stats(m, &st);
  ck_assert_int_eq(st.transposed, 0);
  ck_assert_double_eq(t1, t2);
  disp_match_free(m);
}
END_TEST

/* ---- reuse of one workspace ---- */

START_TEST(test_reuse_matches_fresh) {
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 4242u, 1u);
  disp_match *shared = disp_match_new();
  int32_t r1[8], r2[8];
  for (int t = 0; t < 500; t++) {
    random_small(&g, &x, t & 1);
    double a = solve_checked(shared, &x, r1);
    disp_match *fresh = disp_match_new();
    double b = solve_checked(fresh, &x, r2);
    disp_match_free(fresh);
    ck_assert_msg(a == b, "instance %d: reused %.17g fresh %.17g", t, a, b);
    for (int32_t i = 0; i < x.nr; i++) ck_assert_int_eq(r1[i], r2[i]);
  }
  disp_match_free(shared);
}
END_TEST

/* ---- larger property check against the dense Hungarian method ---- */

/* A weight law: integral or double weights from g. */
typedef double (*weight_law)(pcg32 *g, int integral);

static double w_sparse(pcg32 *g, int integral) { /* some negative */
  return integral ? (double)pcg32_bounded(g, 120) - 20 : pcg32_double(g) * 12 - 2;
}
static double w_few(pcg32 *g, int integral) { /* six distinct values */
  return integral ? (double)pcg32_bounded(g, 6) * 10 + 40 : (double)pcg32_bounded(g, 6) * 0.1 + 0.4;
}
static double w_distinct(pcg32 *g, int integral) {
  return integral ? (double)pcg32_bounded(g, 100000) + 1 : pcg32_double(g) * 100;
}

/* A random nr x nc instance into x (through l): each row gets deg_lo +
 * [0, deg_span) edges to random columns, weighted by the law. */
static void random_instance(pcg32 *g, elist *l, inst *x, int32_t nr, int32_t nc, int deg_lo,
                            int deg_span, weight_law law, int integral) {
  l->n = 0;
  for (int32_t i = 0; i < nr; i++) {
    int deg = deg_lo + (int)pcg32_bounded(g, (uint32_t)deg_span);
    for (int k = 0; k < deg; k++) {
      int32_t j = (int32_t)pcg32_bounded(g, (uint32_t)nc);
      add(l, i, j, law(g, integral));
    }
  }
  to_csr(l, nr, nc, x);
}

START_TEST(test_large_vs_hungarian) {
  static elist l;
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 99u, (uint64_t)_i);
  /* shapes: square, wide, tall; integral or double weights; sparse
   * (up to 12 edges per row, some negative) */
  int32_t nr = 200, nc = 200;
  if (_i % 3 == 1) nc = 140;
  if (_i % 3 == 2) nr = 150;
  int integral = _i % 2 == 0;
  random_instance(&g, &l, &x, nr, nc, 0, 13, w_sparse, integral);
  static int32_t r2c[200];
  check_vs_hungarian(&x, integral, r2c);
}
END_TEST

/* Denser instances with few distinct weights: searches hold hundreds of
 * columns in the heap at once, with many equal keys, and the sorted rows
 * end their scans among runs of equal costs. */
START_TEST(test_dense_ties_vs_hungarian) {
  static elist l;
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 31337u, (uint64_t)_i);
  int32_t nr = 100 + (int32_t)pcg32_bounded(&g, 30), nc = 100 + (int32_t)pcg32_bounded(&g, 30);
  random_instance(&g, &l, &x, nr, nc, 10, 21, w_few, _i % 2 == 0);
  static int32_t r2c[130];
  check_vs_hungarian(&x, _i % 2 == 0, r2c);
}
END_TEST

/* Rows longer than the sorted head, out of order, with distinct weights:
 * the head's selection and the tail behind it decide which edges a scan may
 * skip, on rows scanned many times, against the dense Hungarian method. */
START_TEST(test_long_rows_vs_hungarian) {
  static elist l;
  static inst x;
  pcg32 g;
  pcg32_seed(&g, 4711u, (uint64_t)_i);
  int32_t nr = 60 + (int32_t)pcg32_bounded(&g, 20), nc = 60 + (int32_t)pcg32_bounded(&g, 20);
  random_instance(&g, &l, &x, nr, nc, 13, 38, w_distinct, _i % 2 == 0);
  static int32_t r2c[80];
  check_vs_hungarian(&x, _i % 2 == 0, r2c);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(test_invalid_input) {
  disp_match *m = disp_match_new();
  rs_err e = {0};
  int32_t ptr[3] = {0, 1, 2}, col[2] = {0, 1};
  double w[2] = {1, 2};
  int32_t r2c[2] = {5, 5};
  double t = 42;
  col[1] = 2; /* out of range */
  ck_assert_int_eq(disp_match_solve(m, 2, 2, ptr, col, w, r2c, &t, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "out of range"));
  ck_assert_int_eq(r2c[0], 5);
  ck_assert_double_eq(t, 42);
  col[1] = 1;
  w[0] = NAN;
  ck_assert_int_eq(disp_match_solve(m, 2, 2, ptr, col, w, r2c, &t, &e), RS_EINVAL);
  w[0] = INFINITY;
  ck_assert_int_eq(disp_match_solve(m, 2, 2, ptr, col, w, r2c, &t, &e), RS_EINVAL);
  w[0] = 1;
  ptr[1] = 3; /* decreasing row_ptr */
  ck_assert_int_eq(disp_match_solve(m, 2, 2, ptr, col, w, r2c, &t, &e), RS_EINVAL);
  ptr[1] = 1;
  ck_assert_int_eq(disp_match_solve(m, -1, 2, ptr, col, w, r2c, &t, &e), RS_EINVAL);
  /* still usable after failures */
  ck_assert_int_eq(disp_match_solve(m, 2, 2, ptr, col, w, r2c, &t, &e), 0);
  ck_assert_double_eq(t, 3);
  disp_match_free(m);
  disp_match_free(NULL);
}
END_TEST

/* disp_match_verify itself must catch broken results. */
START_TEST(test_verify_catches) {
  int32_t ptr[3] = {0, 2, 3}, col[3] = {0, 1, 0};
  double w[3] = {4, -1, 5};
  rs_err e = {0};
  int32_t twice[2] = {0, 0}, nonedge[2] = {1, -1}, ok[2] = {-1, 0};
  ck_assert_int_eq(disp_match_verify(2, 2, ptr, col, w, twice, 9, &e), RS_EINVAL);
  ck_assert_int_eq(disp_match_verify(2, 2, ptr, col, w, nonedge, -1, &e), RS_EINVAL);
  ck_assert_int_eq(disp_match_verify(2, 2, ptr, col, w, ok, 4, &e), RS_EINVAL);
  ck_assert_int_eq(disp_match_verify(2, 2, ptr, col, w, ok, 5, &e), 0);
}
END_TEST

static Suite *match_suite(void) {
  Suite *s = suite_create("match");
  TCase *tc = tcase_create("disp_match_solve");
  tcase_add_loop_test(tc, test_small_vs_brute, 0, SMALL_LOOPS);
  tcase_add_loop_test(tc, test_long_rows_vs_brute, 0, 10);
  tcase_add_test(tc, test_trap_greedy_fails);
  tcase_add_test(tc, test_trap_unmatched_optimal);
  tcase_add_test(tc, test_trap_long_path);
  tcase_add_test(tc, test_trap_all_nonpositive);
  tcase_add_test(tc, test_trap_empty_shapes);
  tcase_add_test(tc, test_trap_duplicates);
  tcase_add_loop_test(tc, test_transpose_agrees, 0, 20);
  tcase_add_test(tc, test_reuse_matches_fresh);
  tcase_add_loop_test(tc, test_large_vs_hungarian, 0, 12);
  tcase_add_loop_test(tc, test_dense_ties_vs_hungarian, 0, 12);
  tcase_add_loop_test(tc, test_long_rows_vs_hungarian, 0, 20);
  tcase_add_test(tc, test_invalid_input);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_match_verify");
  tcase_add_test(tc, test_verify_catches);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(match_suite()); }

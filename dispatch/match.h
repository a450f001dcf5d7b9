/*
 * match: exact maximum-weight bipartite matching on a sparse graph, not
 * necessarily perfect (any row or column may stay unmatched; an edge of
 * weight <= 0 is never taken).
 *
 * Input is CSR: row i's edges are col_idx[row_ptr[i] .. row_ptr[i+1]) with
 * weights w[...]. Duplicate (i, j) edges are allowed (the heaviest counts).
 * Any shape is accepted, including 0 rows or 0 columns. The solver reuses its
 * buffers across calls (one disp_match per dispatch policy): capacity only
 * grows, so once it has seen the largest instance a solve allocates nothing.
 *
 * Precision. Weights are doubles and the arithmetic is done in doubles.
 *  - Integral weights with |w| <= DISP_MATCH_EXACT_MAX: every intermediate
 *    value is an integer below 2^53, so the result is exactly optimal.
 *  - Other weights: let k = min(n_rows, n_cols) and W = max |w| over the
 *    positive edges. The solver keeps a dual certificate whose constraints
 *    hold up to rounding; the returned total is at least
 *        optimum - DISP_MATCH_REL_TOL * k * k * W
 *    (a relative error of order k * DBL_EPSILON on the optimum, which is of
 *    order k * W). disp_match_check() measures the actual violation.
 */
#ifndef DISP_MATCH_H
#define DISP_MATCH_H

#include <stdint.h>
#include "base/rs_error.h"

/* Integral weights up to this magnitude are solved exactly: potentials stay
 * within [-W, 0] and tentative distances within 4 W, far below 2^53. */
#define DISP_MATCH_EXACT_MAX 1125899906842624.0 /* 2^50 */

/* 16 * DBL_EPSILON: a few roundings per reduced cost along a path of up to 2k
 * arcs; see "Precision" above. */
#define DISP_MATCH_REL_TOL 3.552713678800501e-15

typedef struct disp_match disp_match;

/* What the last solve did, for benchmarks and tests. */
typedef struct {
  int32_t n_rows;       /* rows of the internal problem (the smaller side) */
  int32_t n_cols;       /* columns of the internal problem */
  int32_t transposed;   /* 1 when the input's rows became internal columns */
  int32_t n_start;      /* rows matched by the start (augmenting row reduction) */
  int32_t n_searches;   /* shortest-path searches (one per remaining row) */
  int32_t n_matched;    /* pairs in the result */
  int64_t n_edges;      /* positive-weight edges kept */
  int64_t n_settled;    /* columns settled over all searches */
  int64_t n_relaxed;    /* arcs looked at over all searches (the tail of a
                           row cut off by its cost bound is not counted) */
} disp_match_stats;

/* A solver workspace; NULL when out of memory. */
disp_match *disp_match_new(void);
/* Frees the workspace and its buffers. NULL is allowed. */
void disp_match_free(disp_match *m);

/* Solves one instance. row_to_col (n_rows entries) receives the matched
 * column of each row or -1; *total the matched weight. Returns 0, RS_EINVAL
 * for malformed CSR (negative size, row_ptr decreasing, column out of range,
 * non-finite weight), RS_ERANGE for a weight beyond +-DISP_MATCH_EXACT_MAX,
 * RS_ENOMEM. On failure row_to_col and *total are
 * unchanged and m stays usable (its buffers keep their previous capacity). */
int disp_match_solve(disp_match *m, int32_t n_rows, int32_t n_cols,
                     const int32_t *row_ptr, const int32_t *col_idx,
                     const double *w, int32_t *row_to_col, double *total,
                     rs_err *e);

/* Statistics of the last successful solve (zeros before the first). */
void disp_match_last_stats(const disp_match *m, disp_match_stats *out);

/* Walks the invariants of the last successful solve: the internal matching is
 * consistent both ways, every free column has potential 0 and every matched
 * column a potential <= 0, every unmatched row has potential 0, matched edges
 * are tight and every kept edge has a reduced cost >= -tol, where tol is the
 * rounding allowance above (0 for exact integral instances). *max_violation,
 * if not NULL, receives the largest violation seen. Together these certify
 * optimality (the total is within k * violation of the optimum). Returns 0 or
 * RS_EINVAL with the first broken invariant in e. */
int disp_match_check(const disp_match *m, double *max_violation, rs_err *e);

/* Checks a result against its instance independently of any workspace: every
 * matched pair (i, row_to_col[i]) is an edge of positive weight, no column is
 * used twice, and total equals the sum of the matched pairs' heaviest edge
 * weights (within 1e-9 relative). Returns 0 or RS_EINVAL with the reason. */
int disp_match_verify(int32_t n_rows, int32_t n_cols, const int32_t *row_ptr,
                      const int32_t *col_idx, const double *w,
                      const int32_t *row_to_col, double total, rs_err *e);

#endif

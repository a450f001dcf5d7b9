/*
 * match: exact maximum-weight bipartite matching on a sparse graph, not
 * necessarily perfect (any row or column may stay unmatched; an edge of
 * weight <= 0 is never taken).
 *
 * Input is CSR: row i's edges are col_idx[row_ptr[i] .. row_ptr[i+1]) with
 * weights w[...]. Duplicate (i, j) edges are allowed (the heaviest counts).
 * The solver reuses its buffers across calls (one disp_match per dispatch
 * policy): in the steady state a solve allocates nothing.
 */
#ifndef DISP_MATCH_H
#define DISP_MATCH_H

#include <stdint.h>
#include "sim/rs_error.h"

typedef struct disp_match disp_match;

/* A solver workspace; NULL when out of memory. */
disp_match *disp_match_new(void);
void disp_match_free(disp_match *m);

/* Solves one instance. row_to_col (n_rows entries) receives the matched
 * column of each row or -1; *total the matched weight. Returns 0, RS_EINVAL
 * for malformed CSR (column out of range, non-finite weight), RS_ENOMEM. */
int disp_match_solve(disp_match *m, int32_t n_rows, int32_t n_cols,
                     const int32_t *row_ptr, const int32_t *col_idx,
                     const double *w, int32_t *row_to_col, double *total,
                     rs_err *e);

#endif

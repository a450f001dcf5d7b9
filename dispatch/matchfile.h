/*
 * matchfile: matching instances as text files, read into the CSR arrays of
 * dispatch/match.h and their solutions written back; the format of
 * ../shared/tools/matching/README.md, shared by `ridesim match`, `ridesim
 * bench match` and the fuzz target fuzz_match.
 *
 * An instance: a first line `n_rows n_cols n_edges`, then one `i j weight`
 * line per edge, 0-based, to maximise; blank lines are ignored. A solution:
 *     optimal_total_weight W
 *     matched_pairs k
 *     i j w            (k lines, by increasing i)
 * W is printed as an integer when every weight is integral, else with %.17g
 * (enough digits to read back the same double).
 *
 * Sizes are checked before anything is allocated: a header that promises
 * more edges than the file's bytes can hold, or more than
 * DISP_MATCHFILE_MAX_SIDE rows or columns, is refused (docs/reliability.md,
 * F-MATCH-2), and weights beyond the solver's exact range are refused with
 * their line (F-MATCH-1).
 */
#ifndef DISP_MATCHFILE_H
#define DISP_MATCHFILE_H

#include <stdint.h>
#include <stdio.h>

#include "base/rs_error.h"

#define DISP_MATCHFILE_MAX_SIDE (1 << 26) /* rows or columns of an instance file */

/* An instance in CSR form (dispatch/match.h); edges keep the file's order
 * within a row. */
typedef struct {
  int32_t n_rows, n_cols;
  int32_t *row_ptr;     /* n_rows + 1 offsets into col_idx and w */
  int32_t *col_idx;     /* each edge's column */
  double *w;            /* each edge's weight */
  int integral;         /* every weight is an integer */
} disp_matchfile;

/* Reads an instance file into m (arrays owned by m). Returns 0, or with
 * nothing allocated: RS_ENOENT / RS_EIO when the file cannot be read
 * ("FILE: reason"), RS_EFORMAT for a malformed line or header, RS_ENOMEM
 * ("FILE:LINE: reason" for both). */
int disp_matchfile_read(const char *path, disp_matchfile *m, rs_err *e);
void disp_matchfile_free(disp_matchfile *m);

/* Writes the solution of m given by row_to_col (-1: unmatched) and its
 * total. 0, or RS_EIO on a write error. */
int disp_matchfile_write(FILE *out, const disp_matchfile *m, const int32_t *row_to_col,
                         double total);

#endif

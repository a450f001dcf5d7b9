/*
 * ridesim match FILE: solves one maximum-weight bipartite matching instance
 * (dispatch/match) and prints the optimum and the matching.
 *
 * Instance format (that of ../shared/tools/matching/README.md): a first line
 * `n_rows n_cols n_edges`, then one `i j weight` line per edge, 0-based,
 * maximise. Blank lines are ignored. Output:
 *     optimal_total_weight W
 *     matched_pairs k
 *     i j w            (k lines, by increasing i)
 * W is printed as an integer when every weight is integral, else with %.17g
 * (enough digits to read back the same double).
 *
 * The reader and writer (dispatch/matchfile.h) are shared with `ridesim
 * bench match` (cmd_bench.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/match.h"
#include "dispatch/matchfile.h"
#include "tools/cli.h"

#define MATCH_USAGE "ridesim match FILE [--help]"

int cmd_match(int argc, char **argv) {
  const char *cmd = "match";
  const char *path = NULL;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
      printf("usage: %s\n\n"
             "Solves a maximum-weight bipartite matching instance (rows and columns\n"
             "may stay unmatched; edges of weight <= 0 are never taken).\n"
             "FILE: first line 'n_rows n_cols n_edges', then 'i j weight' lines\n"
             "(0-based). Prints optimal_total_weight, matched_pairs and the pairs.\n",
             MATCH_USAGE);
      return 0;
    }
    if (argv[a][0] == '-' && argv[a][1] != '\0')
      return cli_usage_error(cmd, MATCH_USAGE, "unknown option '%s'", argv[a]);
    if (path != NULL) return cli_usage_error(cmd, MATCH_USAGE, "one FILE only");
    path = argv[a];
  }
  if (path == NULL) return cli_usage_error(cmd, MATCH_USAGE, "missing FILE");

  disp_matchfile in;
  rs_err e = {0};
  if (disp_matchfile_read(path, &in, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  int status = 1;
  disp_match *m = disp_match_new();
  int32_t *r2c = malloc(((size_t)in.n_rows + 1) * sizeof *r2c);
  double total = 0;
  if (m == NULL || r2c == NULL) {
    cli_error(cmd, "%s: out of memory", path);
  } else if (disp_match_solve(m, in.n_rows, in.n_cols, in.row_ptr, in.col_idx, in.w, r2c, &total,
                              &e) != 0) {
    cli_error(cmd, "%s: %s", path, e.msg);
  } else if (disp_matchfile_write(stdout, &in, r2c, total) != 0 || fflush(stdout) != 0) {
    cli_error(cmd, "writing the solution: %s", strerror(errno));
  } else {
    status = 0;
  }
  disp_match_free(m);
  free(r2c);
  disp_matchfile_free(&in);
  return status;
}

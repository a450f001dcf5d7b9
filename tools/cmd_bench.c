/*
 * ridesim bench TARGET ...: benchmarks. One target so far:
 *
 *   ridesim bench match DIR [--repeat N] [--out DIR2]
 *
 * For each regular file of DIR whose name ends in ".txt", by name: parse it
 * once (matching instance format, see cmd_match.c), solve it N times with one
 * reused disp_match (as a dispatch policy does, so buffers are warm after the
 * first solve) timing only disp_match_solve with CLOCK_MONOTONIC, and print
 * one table row: file, rows, cols, edges, median solve ms, optimum, matched,
 * greedy-matched rows and searches. --out DIR2 writes each solution as
 * DIR2/<file>.sol in `ridesim match`'s format so a script can verify it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/rs_vec.h"
#include "dispatch/match.h"
#include "dispatch/matchfile.h"
#include "tools/cli.h"

#define BENCH_USAGE "ridesim bench match DIR [--repeat N] [--out DIR2] [--help]"
#define BENCH_MAX_REPEAT 1000

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The sorted names of DIR's instance files; NULL with errno on failure. */
static char **list_instances(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (d == NULL) return NULL;
  size_t n = 0, cap = 0;
  char **names = NULL;
  struct dirent *de;
  while (rs_vec_grow(names, cap, n + 1) == 0 && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' || !ends_with(de->d_name, ".txt")) continue;
    names[n] = strdup(de->d_name);
    if (names[n] == NULL) break;
    n++;
  }
  closedir(d);
  if (names == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  qsort(names, n, sizeof *names, cmp_str);
  *count = n;
  return names;
}

static int bench_match(int argc, char **argv) {
  const char *cmd = "bench match";
  const char *dir = NULL, *out_dir = NULL;
  int64_t repeat = 3;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
      printf("usage: %s\n\n"
             "Times disp_match_solve on every *.txt instance of DIR (by name):\n"
             "parse once, solve N times (default 3) with one reused workspace,\n"
             "print the median solve time. --out writes DIR2/<file>.sol.\n",
             BENCH_USAGE);
      return 0;
    }
    if (strcmp(argv[a], "--repeat") == 0) {
      if (a + 1 >= argc || cli_parse_i64(argv[a + 1], &repeat) != 0 || repeat < 1 ||
          repeat > BENCH_MAX_REPEAT)
        return cli_usage_error(cmd, BENCH_USAGE, "--repeat needs an integer in 1..%d",
                               BENCH_MAX_REPEAT);
      a++;
    } else if (strcmp(argv[a], "--out") == 0) {
      if (a + 1 >= argc) return cli_usage_error(cmd, BENCH_USAGE, "--out needs a folder");
      out_dir = argv[++a];
    } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
      return cli_usage_error(cmd, BENCH_USAGE, "unknown option '%s'", argv[a]);
    } else if (dir != NULL) {
      return cli_usage_error(cmd, BENCH_USAGE, "one DIR only");
    } else {
      dir = argv[a];
    }
  }
  if (dir == NULL) return cli_usage_error(cmd, BENCH_USAGE, "missing DIR");
  if (out_dir != NULL && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
    cli_error(cmd, "%s: %s", out_dir, strerror(errno));
    return 1;
  }

  size_t n_files = 0;
  char **names = list_instances(dir, &n_files);
  if (names == NULL) {
    cli_error(cmd, "%s: %s", dir, strerror(errno));
    return 1;
  }
  if (n_files == 0) {
    cli_error(cmd, "%s: no *.txt instance files", dir);
    free(names);
    return 1;
  }

  disp_match *m = disp_match_new();
  double *times = malloc((size_t)repeat * sizeof *times);
  int status = m != NULL && times != NULL ? 0 : 1;
  if (status != 0) cli_error(cmd, "out of memory");
  if (status == 0)
    printf("%-28s %7s %7s %9s %10s %14s %8s %8s %8s\n", "file", "rows", "cols", "edges",
           "median_ms", "optimum", "matched", "start", "searches");
  for (size_t f = 0; f < n_files && status == 0; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[f]);
    disp_matchfile in;
    rs_err e = {0};
    if (disp_matchfile_read(path, &in, &e) != 0) {
      cli_error(cmd, "%s", e.msg);
      status = 1;
      break;
    }
    int32_t nr = in.n_rows, nc = in.n_cols, *ptr = in.row_ptr, *cols = in.col_idx;
    double *w = in.w;
    int32_t *r2c = malloc(((size_t)nr + 1) * sizeof *r2c);
    double total = 0;
    if (r2c == NULL) {
      cli_error(cmd, "%s: out of memory", path);
      status = 1;
    }
    for (int64_t r = 0; r < repeat && status == 0; r++) {
      double t0 = now_ms();
      int rc = disp_match_solve(m, nr, nc, ptr, cols, w, r2c, &total, &e);
      times[r] = now_ms() - t0;
      if (rc != 0) {
        cli_error(cmd, "%s: %s", path, e.msg);
        status = 1;
      }
    }
    if (status == 0) {
      disp_match_stats st;
      disp_match_last_stats(m, &st);
      qsort(times, (size_t)repeat, sizeof *times, cmp_double);
      double median = repeat % 2 ? times[repeat / 2]
                                 : (times[repeat / 2 - 1] + times[repeat / 2]) / 2;
      printf("%-28s %7d %7d %9d %10.2f %14.17g %8d %8d %8d\n", names[f], (int)nr,
             (int)nc, (int)ptr[nr], median, total, (int)st.n_matched, (int)st.n_start,
             (int)st.n_searches);
      fflush(stdout);
      if (out_dir != NULL) {
        char opath[4096];
        snprintf(opath, sizeof opath, "%s/%s.sol", out_dir, names[f]);
        FILE *o = fopen(opath, "w");
        if (o == NULL) {
          cli_error(cmd, "%s: %s", opath, strerror(errno));
          status = 1;
        } else {
          int wr = disp_matchfile_write(o, &in, r2c, total);
          if (fclose(o) != 0 || wr != 0) {
            cli_error(cmd, "%s: write error", opath);
            status = 1;
          }
        }
      }
    }
    free(r2c);
    disp_matchfile_free(&in);
  }
  for (size_t f = 0; f < n_files; f++) free(names[f]);
  free(names);
  free(times);
  disp_match_free(m);
  return status;
}

int cmd_bench(int argc, char **argv) {
  const char *cmd = "bench";
  if (argc < 2)
    return cli_usage_error(cmd, BENCH_USAGE, "missing target (available: match)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("usage: %s\n\nTargets:\n  match   time the matching solver on instance files\n",
           BENCH_USAGE);
    return 0;
  }
  if (strcmp(argv[1], "match") == 0) return bench_match(argc - 1, argv + 1);
  return cli_usage_error(cmd, BENCH_USAGE, "unknown target '%s' (available: match)",
                         argv[1]);
}

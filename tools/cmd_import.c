/*
 * ridesim import: trip files into a trip store, one transaction per file.
 *
 * For each file it prints the rows accepted and rejected, the rate, and the
 * first rejects with their line numbers and reasons; then the totals. A file
 * that fails outright (missing, not CSV, unwritable store) is reported in one
 * line, leaves the store as it was, and makes the exit status 1; the other
 * files are still imported. A file of which no row is accepted makes the
 * exit status 1 too, and a store this command created is removed again
 * when it would hold no trip (it would be bound to a city for nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/import.h"
#include "city_data/tripstore.h"
#include "tools/cli.h"

#define USAGE                                                              \
  "ridesim import [--format auto|tlc|csv|kddcup] [--map SPEC] "            \
  "[--city NAME|FILE] [--max-speed MPS] [--again] FILE... --db TRIPS.db"
#define SHOW_REJECTS 5 /* reject reasons printed per file */

static void help(void) {
  printf("usage: %s\n\n"
         "Imports trip records into a SQLite trip store (created when missing),\n"
         "one transaction per file: a file lands whole or not at all.\n\n"
         "  --format F     auto (default: TLC header if recognised, else csv),\n"
         "                 tlc (NYC TLC yellow/green 2009-2016 with coordinates),\n"
         "                 csv (header + column map), kddcup (KDD Cup 2020 orders)\n"
         "  --map SPEC     csv columns: t_request=COL,plat=COL,plng=COL,dlat=COL,\n"
         "                 dlng=COL[,t_dropoff=COL,fare=COL,distance_m=COL,\n"
         "                 distance_mi=COL]; without it common names are guessed\n"
         "  --city C       builtin city name or city JSON file (default manhattan;\n"
         "                 with --format kddcup: chengdu, the competition's city).\n"
         "                 The store keeps a file's definition: runs need no --city\n"
         "  --max-speed V  reject trips faster than V m/s (default 60)\n"
         "  --again        import a file the store already holds (its trips would\n"
         "                 count twice; refused without it)\n"
         "  --db FILE      the trip store\n\n"
         "Times are local wall-clock 'YYYY-MM-DD HH:MM:SS' or unix seconds (UTC,\n"
         "shifted by the city's UTC offset). Bad rows are rejected with their\n"
         "line and reason and stored in the rejects table.\n",
         USAGE);
}

static int print_reject(void *ctx, int64_t line, const char *reason) {
  (void)ctx;
  printf("    line %lld: %s\n", (long long)line, reason);
  return 0;
}

int cmd_import(int argc, char **argv) {
  const char *cmd = argv[0];
  const char *db = NULL, *city_name = NULL;
  city_import_opts opts = {.format = CITY_FMT_AUTO, .max_speed_mps = 60.0};
  const char **files = calloc((size_t)argc, sizeof *files);
  if (files == NULL) {
    cli_error(cmd, "out of memory");
    return 1;
  }
  int n_files = 0, status = 0;
  rs_err err = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      help();
      free(files);
      return 0;
    } else if (strcmp(a, "--format") == 0 && has_value) {
      if (city_format_parse(argv[++i], &opts.format, &err)) {
        free(files);
        return cli_usage_error(cmd, USAGE, "%s", err.msg);
      }
    } else if (strcmp(a, "--map") == 0 && has_value) {
      opts.column_map = argv[++i];
    } else if (strcmp(a, "--city") == 0 && has_value) {
      city_name = argv[++i];
    } else if (strcmp(a, "--db") == 0 && has_value) {
      db = argv[++i];
    } else if (strcmp(a, "--again") == 0) {
      opts.again = 1;
    } else if (strcmp(a, "--max-speed") == 0 && has_value) {
      if (cli_parse_double(argv[++i], &opts.max_speed_mps) ||
          opts.max_speed_mps <= 0) {
        free(files);
        return cli_usage_error(cmd, USAGE, "--max-speed: '%s' is not a positive"
                               " number", argv[i]);
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      free(files);
      return cli_usage_error(cmd, USAGE, "unknown or incomplete option '%s'", a);
    } else {
      files[n_files++] = a;
    }
  }
  if (db == NULL || n_files == 0) {
    free(files);
    return cli_usage_error(cmd, USAGE, "%s", db == NULL ? "--db is required"
                                                         : "no input file");
  }
  if (*db == '\0') {
    free(files);
    return cli_usage_error(cmd, USAGE, "--db: empty file name");
  }
  if (city_name == NULL) city_name = opts.format == CITY_FMT_KDDCUP ? "chengdu" : "manhattan";
  city_def city;
  if (city_def_resolve(city_name, &city, &err)) {
    cli_error(cmd, "%s", err.msg);
    free(files);
    return 1;
  }
  struct stat sb;
  int created = stat(db, &sb) != 0;
  city_def scratch;
  city_store *st = NULL;
  if (city_store_open(db, CITY_STORE_WRITE, &city, &st, &err) ||
      /* a city from a file: the store keeps its definition */
      (city_def_builtin(city_name, &scratch, NULL) != 0 &&
       city_store_keep_city_file(st, city_name, &err))) {
    cli_error(cmd, "%s", err.msg);
    city_store_close(st);
    if (created) {
      unlink(db);
    }
    free(files);
    return 1;
  }
  int64_t acc = 0, rej = 0, failed = 0;
  double secs = 0;
  for (int f = 0; f < n_files; f++) {
    city_import_stats s;
    rs_err_clear(&err);
    if (city_import_file(st, &city, files[f], &opts, &s, &err)) {
      cli_error(cmd, "%s", err.msg);
      failed++;
      status = 1;
      continue;
    }
    double rate = s.seconds > 0 ? (double)s.lines / s.seconds : 0;
    printf("%s: accepted %lld, rejected %lld, %.0f rows/s (%.3f s)\n", files[f],
           (long long)s.accepted, (long long)s.rejected, rate, s.seconds);
    if (s.accepted == 0) {
      cli_error(cmd, "%s: no row accepted%s", files[f],
                s.rejected > 0 ? " (the reasons below)" : " (no data rows)");
      failed++;
      status = 1;
    }
    if (s.rejected > 0 &&
        city_store_each_reject(st, 0, SHOW_REJECTS, print_reject, NULL, &err)) {
      cli_error(cmd, "%s", err.msg);
      status = 1;
    }
    if (s.rejected > SHOW_REJECTS)
      printf("    ... %lld more\n", (long long)(s.rejected - SHOW_REJECTS));
    acc += s.accepted;
    rej += s.rejected;
    secs += s.seconds;
  }
  printf("total: %d file(s), %lld failed, accepted %lld, rejected %lld, %.0f"
         " rows/s\n", n_files, (long long)failed, (long long)acc,
         (long long)rej, secs > 0 ? (double)(acc + rej) / secs : 0.0);
  city_store_close(st);
  if (created && acc == 0) {
    /* nothing landed: leave no store behind, bound to a city for nothing */
    char journal[4096];
    snprintf(journal, sizeof journal, "%s-journal", db);
    unlink(db);
    unlink(journal);
    printf("no trip accepted: %s not created\n", db);
    status = 1;
  }
  free(files);
  return status;
}

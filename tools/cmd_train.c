/*
 * ridesim train --trips DB [--days YYYY-MM-DD[,YYYY-MM-DD...]]
 *               [--from HH:MM --to HH:MM] [--slot-minutes 10] [--gamma 0.9]
 *               [--split-daytype] [--passes N] [--tol X] [--cut-at-end]
 *               [--city NAME|FILE] [--network FILE] --out VALUE.db [--help]
 *
 * Trains a fresh value table offline (value/train) on the trips of the
 * given days of a trip store (default: every day it holds; each day whole
 * unless --from/--to cut the same window out of every day), in the store's
 * city and grid, prints one line per pass and a summary, and saves the table
 * with its metadata (value/vstore). A day without trips in the window is an
 * error, not a silent gap in the training data. Trips without a recorded
 * duration or fare are timed and charged by the travel model of the run
 * that will use the table: the great-circle one, or with --network the
 * road network's (with the city's network_factors when it has them, as
 * `ridesim calibrate --network` writes them; --city names such a city). The save is one
 * transaction: an existing VALUE.db keeps its previous table when anything
 * fails.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "city_data/travel_net.h"
#include "city_data/tripstore.h"
#include "tools/cli.h"
#include "value/train.h"
#include "value/vstore.h"

#define TRAIN_USAGE                                                               \
  "ridesim train --trips DB [--days YYYY-MM-DD[,YYYY-MM-DD...]] "                 \
  "[--from HH:MM --to HH:MM] [--slot-minutes 10] [--gamma 0.9] [--split-daytype] " \
  "[--passes N] [--tol X] [--cut-at-end] [--city NAME|FILE] [--network FILE] "          \
  "--out VALUE.db [--help]"
#define TRAIN_MAX_DAYS 90 /* fits val_meta.days (1024: 11 characters a day) */

static void train_help(void) {
  printf("usage: %s\n\n"
         "Trains a value table V(cell, time slot) and its time-free layer U(cell)\n"
         "offline on historical trips (policy evaluation, Xu et al. 2018: every\n"
         "state the mean target of its trips, solved slot by slot from the last)\n"
         "and saves them.\n\n"
         "  --trips DB           trip store to read (its city and grid are used)\n"
         "  --days LIST          comma-separated local days (default: every day\n"
         "                       in the store, at most %d)\n"
         "  --from HH:MM         start of the daily window (default 00:00)\n"
         "  --to HH:MM           end of the daily window (default 24:00)\n"
         "  --slot-minutes M     time slot length, divides the day (default %d)\n"
         "  --gamma G            discount per %d minutes, in (0, 1] (default %g)\n"
         "  --split-daytype      separate weekday and weekend tables\n"
         "  --passes N           at most N passes (default %d; one suffices unless\n"
         "                       the days' windows wrap round midnight)\n"
         "  --tol X              stop when a sweep or pass changes no value by X or\n"
         "                       more (default %g)\n"
         "  --cut-at-end         no time-free layer: a trip ending where the data\n"
         "                       never goes (past the window) ends the episode\n"
         "  --city NAME|FILE     the store's city from this definition (e.g. one\n"
         "                       `ridesim calibrate` wrote; default: the built-in)\n"
         "  --network FILE       time unrecorded trips on this road network, as a run\n"
         "                       with --network does (the city's network_factors apply)\n"
         "  --online             learn instead by replaying the days with a fleet and\n"
         "                       the online learner ('ridesim train --online --help')\n"
         "  --out VALUE.db       value table file to write (replaced atomically)\n"
         "  --help               this text\n",
         TRAIN_USAGE, TRAIN_MAX_DAYS, VAL_SLOT_DEFAULT_S / 60,
         VAL_GAMMA_PERIOD_DEFAULT_S / 60, VAL_GAMMA_DEFAULT, VAL_TRAIN_PASSES_DEFAULT,
         VAL_TRAIN_TOL_DEFAULT);
}

static void on_pass(void *arg, int32_t pass, double max_change, double mean_change) {
  (void)arg;
  printf("pass %d: max change %.4g, mean change %.4g\n", pass, max_change, mean_change);
  fflush(stdout);
}

/* "YYYY-MM-DD" of a local-epoch midnight into buf (>= 11). */
static void day_text(int64_t day, char *buf, size_t size) {
  char full[32];
  cli_format_time(day, full, sizeof full);
  snprintf(buf, size, "%.10s", full);
}

/* Parses "D1,D2,..." into days (at most TRAIN_MAX_DAYS); usage error text in
 * err on failure. */
static int parse_days(const char *list, int64_t *days, size_t *n, char *err, size_t err_size) {
  char buf[TRAIN_MAX_DAYS * 12 + 2];
  if (strlen(list) >= sizeof buf) {
    snprintf(err, err_size, "--days: at most %d days", TRAIN_MAX_DAYS);
    return -1;
  }
  snprintf(buf, sizeof buf, "%s", list);
  *n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int64_t d;
    if (cli_parse_day(tok, &d) != 0) {
      snprintf(err, err_size, "--days: '%s' is not a date YYYY-MM-DD", tok);
      return -1;
    }
    for (size_t i = 0; i < *n; i++)
      if (days[i] == d) {
        snprintf(err, err_size, "--days: %s is given twice", tok);
        return -1;
      }
    if (*n == TRAIN_MAX_DAYS) {
      snprintf(err, err_size, "--days: at most %d days", TRAIN_MAX_DAYS);
      return -1;
    }
    days[(*n)++] = d;
  }
  if (*n == 0) {
    snprintf(err, err_size, "--days: no day given");
    return -1;
  }
  return 0;
}

int cmd_train(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--online") == 0) return cmd_train_online(argc, argv);
  static const struct option opts[] = {
      {"trips", required_argument, NULL, 'i'},
      {"days", required_argument, NULL, 'd'},
      {"from", required_argument, NULL, 'f'},
      {"to", required_argument, NULL, 't'},
      {"slot-minutes", required_argument, NULL, 's'},
      {"gamma", required_argument, NULL, 'g'},
      {"split-daytype", no_argument, NULL, 'w'},
      {"passes", required_argument, NULL, 'p'},
      {"tol", required_argument, NULL, 'x'},
      {"city", required_argument, NULL, 'c'},
      {"network", required_argument, NULL, 'n'},
      {"out", required_argument, NULL, 'o'},
      {"cut-at-end", no_argument, NULL, 'e'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *cmd = "train", *db = NULL, *out = NULL, *city_arg = NULL, *network = NULL;
  int64_t days[TRAIN_MAX_DAYS];
  size_t n_days = 0;
  int64_t from_s = 0, to_s = RS_DAY_S, i64;
  int have_from = 0, have_to = 0;
  val_config cfg;
  val_config_defaults(&cfg);
  val_train_opts topt;
  val_train_defaults(&topt);
  topt.on_pass = on_pass;
  char err[160];
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': db = optarg; break;
    case 'o': out = optarg; break;
    case 'c': city_arg = optarg; break;
    case 'n': network = optarg; break;
    case 'd':
      if (parse_days(optarg, days, &n_days, err, sizeof err) != 0)
        return cli_usage_error(cmd, TRAIN_USAGE, "%s", err);
      break;
    case 'f':
    case 't':
      if (cli_parse_hhmm(optarg, &i64) != 0)
        return cli_usage_error(cmd, TRAIN_USAGE, "--%s: '%s' is not a time HH:MM",
                               c == 'f' ? "from" : "to", optarg);
      if (c == 'f') from_s = i64, have_from = 1;
      else to_s = i64, have_to = 1;
      break;
    case 's':
      if (cli_parse_i64(optarg, &i64) != 0 || i64 <= 0 || 1440 % i64 != 0)
        return cli_usage_error(cmd, TRAIN_USAGE,
                               "--slot-minutes: '%s' is not a whole number of minutes"
                               " dividing the day", optarg);
      cfg.slot_s = (int32_t)(i64 * 60);
      break;
    case 'g':
      if (cli_parse_double(optarg, &cfg.gamma) != 0 || !(cfg.gamma > 0 && cfg.gamma <= 1))
        return cli_usage_error(cmd, TRAIN_USAGE, "--gamma: '%s' is not in (0, 1]", optarg);
      break;
    case 'w': cfg.day_types = 2; break;
    case 'p':
      if (cli_parse_i64(optarg, &i64) != 0 || i64 < 1 || i64 > 100000)
        return cli_usage_error(cmd, TRAIN_USAGE, "--passes: '%s' is not in 1 .. 100000",
                               optarg);
      topt.max_passes = (int32_t)i64;
      break;
    case 'x':
      if (cli_parse_double(optarg, &topt.tol) != 0 || topt.tol < 0)
        return cli_usage_error(cmd, TRAIN_USAGE, "--tol: '%s' is not a number >= 0", optarg);
      break;
    case 'e': topt.cut_at_end = 1; break;
    case 'h': train_help(); return 0;
    case ':':
      return cli_usage_error(cmd, TRAIN_USAGE, "%s needs a value", argv[optind - 1]);
    default:
      return cli_usage_error(cmd, TRAIN_USAGE, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage_error(cmd, TRAIN_USAGE, "unexpected argument '%s'", argv[optind]);
  if (db == NULL) return cli_usage_error(cmd, TRAIN_USAGE, "--trips DB is required");
  if (out == NULL) return cli_usage_error(cmd, TRAIN_USAGE, "--out VALUE.db is required");
  char why[4200];
  /* before the passes, which take minutes: not after them */
  if (cli_check_output(out, why, sizeof why) != 0)
    return cli_usage_error(cmd, TRAIN_USAGE, "--out: %s", why);
  if (from_s >= to_s)
    return cli_usage_error(cmd, TRAIN_USAGE, "--from must come before --to");

  rs_err e;
  rs_err_clear(&e);
  city_store *st = NULL;
  city_def city;
  city_grid grid;
  val_table *t = NULL;
  city_trip *all = NULL;
  int64_t *store_days = NULL;
  size_t n_all = 0, cap_all = 0;
  int status = 1;
  char city_name[CITY_NAME_MAX];
  val_meta meta;
  memset(&meta, 0, sizeof meta);
  char *days_meta = meta.days; /* "YYYY-MM-DD,..." of the days used */
  city_travel travel;
  memset(&travel, 0, sizeof travel);

  /* The store's own city (the definition it keeps, or the built-in of its
   * name) on the grid its cells index. */
  if (city_store_open(db, CITY_STORE_READ, NULL, &st, &e) != 0) goto fail;
  snprintf(city_name, sizeof city_name, "%s", city_store_city(st));
  if (city_name[0] == '\0') {
    cli_error(cmd, "%s: the trip store names no city (nothing imported yet?)", db);
    goto done;
  }
  /* the city named (on the store's grid), or the store's own */
  if ((city_arg != NULL ? city_def_resolve(city_arg, &city, &e) != 0 ||
                              city_store_check_city(st, &city, &e) != 0
                        : city_store_city_def(st, &city, &e) != 0) ||
      city_def_grid(&city, &grid, &e) != 0)
    goto fail;

  if (n_days == 0) {
    size_t n = 0;
    if (city_store_days(st, &store_days, &n, &e) != 0) goto fail;
    if (n == 0) {
      cli_error(cmd, "%s: the trip store holds no trips", db);
      goto done;
    }
    if (n > TRAIN_MAX_DAYS) {
      cli_error(cmd, "%s holds %zu days; choose at most %d with --days", db, n,
                TRAIN_MAX_DAYS);
      goto done;
    }
    memcpy(days, store_days, n * sizeof *days);
    n_days = n;
  }

  for (size_t i = 0; i < n_days; i++) {
    city_trip *part = NULL;
    size_t n = 0;
    char dt[16];
    day_text(days[i], dt, sizeof dt);
    if (city_store_load(st, days[i] + from_s, days[i] + to_s, &part, &n, &e) != 0) goto fail;
    if (n == 0) {
      free(part);
      if (have_from || have_to) {
        char a[32], b[32];
        cli_format_time(from_s, a, sizeof a);
        cli_format_time(to_s, b, sizeof b);
        cli_error(cmd, "%s: no trips on %s between %.5s and %.5s", db, dt,
                  a + 11, to_s == RS_DAY_S ? "24:00" : b + 11);
      } else {
        cli_error(cmd, "%s: no trips on %s", db, dt);
      }
      goto done;
    }
    if (rs_vec_grow(all, cap_all, n_all + n)) {
      free(part);
      cli_error(cmd, "out of memory for %zu trips", n_all + n);
      goto done;
    }
    memcpy(all + n_all, part, n * sizeof *part);
    n_all += n;
    free(part);
    size_t len = strlen(days_meta);
    snprintf(days_meta + len, sizeof meta.days - len, "%s%s", i ? "," : "", dt);
  }
  city_store_close(st);
  st = NULL;

  printf("training on %zu trips of %zu day%s from %s (city %s, %d cells), slot %d min,"
         " gamma %g per %d min%s\n",
         n_all, n_days, n_days == 1 ? "" : "s", db, city.name, grid.n_cells, cfg.slot_s / 60,
         cfg.gamma, cfg.gamma_period_s / 60, cfg.day_types == 2 ? ", weekday/weekend" : "");
  fflush(stdout);
  val_train_report rep;
  if (network == NULL) {
    city_travel_gc(&city, &travel);
  } else {
    if (city_travel_net_open(&city, network, NULL, &travel, &e) != 0) goto fail;
    double f[2][24];
    int src = city_travel_net_factors(&travel, f);
    printf("travel model   road network %s, %s factors\n", network,
           src == CITY_NET_FACTORS_CITY ? "the city's calibrated" : "derived");
  }
  if (val_table_new(&grid, &cfg, &t, &e) != 0 ||
      val_train(t, &travel, all, n_all, &topt, &rep, &e) != 0)
    goto fail;

  double mean, max_abs;
  int64_t n_seen;
  val_table_stats(t, &mean, &max_abs, &n_seen);
  int converged = rep.passes < topt.max_passes || rep.last_max_change < topt.tol;
  printf("%s after %d pass%s (last max change %.4g%s)\n", converged ? "converged" : "stopped",
         rep.passes, rep.passes == 1 ? "" : "es", rep.last_max_change,
         converged ? "" : ", above --tol");
  printf("sweeps         %lld over the slots (at most %d in one slot), %d of the"
         " time-free layer\n",
         (long long)rep.sweeps, rep.max_slot_sweeps, rep.free_sweeps);
  printf("states seen    %lld of %lld\n", (long long)n_seen,
         (long long)cfg.day_types * val_table_n_slots(t) * grid.n_cells);
  printf("mean value     %.4f (max |value| %.4f)\n", mean, max_abs);
  for (int32_t d = 0; d < cfg.day_types; d++) {
    int32_t seen = val_table_free_seen(t, d);
    if (seen == 0) continue;
    double sum = 0;
    for (int32_t k = 0; k < grid.n_cells; k++)
      if (val_table_free_count(t, d, k) > 0) sum += val_table_free_raw(t, d, k);
    printf("time-free      %s%.4f mean over %d cells\n",
           cfg.day_types == 1 ? "" : (d == 0 ? "weekday " : "weekend "), sum / seen, seen);
  }
  printf("trips used     %lld (skipped %lld off the grid)\n", (long long)rep.transitions,
         (long long)rep.skipped);
  printf("days           %s\n", days_meta);

  snprintf(meta.city, sizeof meta.city, "%s", city.name);
  meta.rows = rep.transitions;
  meta.passes = rep.passes;
  if (val_store_save(out, t, &city, &meta, &e) != 0) goto fail;
  printf("saved          %s\n", out);
  status = 0;
  goto done;
fail:
  cli_error(cmd, "%s", e.msg);
done:
  val_table_free(t);
  if (travel.ops != NULL) city_travel_free(&travel);
  free(all);
  free(store_days);
  city_store_close(st);
  return status;
}

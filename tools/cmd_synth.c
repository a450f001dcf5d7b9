/*
 * ridesim synth [--city NAME|FILE] [--orders N] [--seed S] [--day YYYY-MM-DD]
 *               --db TRIPS.db [--help]
 *
 * Generates one day of synthetic demand (city_data/synth) into a trip store,
 * creating it when missing, then reads the day back from the store and
 * prints a summary: orders, request time range, orders per hour, mean
 * great-circle trip length and how many grid cells the trips touch. A store
 * that already holds trips on that day is refused rather than doubled.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/synth.h"
#include "base/rs_time.h"
#include "tools/cli.h"

#define SYNTH_USAGE                                                        \
  "ridesim synth [--city NAME|FILE] [--orders N] [--seed S] "              \
  "[--day YYYY-MM-DD] --db TRIPS.db [--help]"
#define SYNTH_BAR_WIDTH 40

static void synth_help(void) {
  printf("usage: %s\n\n"
         "Generates a day of synthetic trips into a trip store.\n\n"
         "  --city NAME|FILE  city definition (default: synthetic)\n"
         "  --orders N        orders over the day (default: %d)\n"
         "  --seed S          random seed (default: 1)\n"
         "  --day YYYY-MM-DD  the local day (default: 2016-02-01)\n"
         "  --db TRIPS.db     trip store to write (created when missing)\n"
         "  --help            this text\n",
         SYNTH_USAGE, CITY_SYNTH_DEFAULT_ORDERS);
}

static void print_summary(const city_def *d, const city_grid *g,
                          const city_trip *t, size_t n, int64_t day) {
  char a[32], b[32];
  cli_format_time(t[0].t_request, a, sizeof a);
  cli_format_time(t[n - 1].t_request, b, sizeof b);
  printf("orders         %zu\n", n);
  printf("requests       %s .. %s (local time)\n", a, b);

  size_t hour[24] = {0}, peak = 1;
  double sum = 0;
  unsigned char *used = calloc((size_t)g->n_cells, 1);
  int32_t n_used = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t h = (t[i].t_request - day) / 3600;
    if (h >= 0 && h < 24) hour[h]++;
    sum += rs_geo_haversine_r(t[i].plat, t[i].plng, t[i].dlat, t[i].dlng,
                                d->earth_radius_m);
    int32_t cs[2] = {t[i].pcell, t[i].dcell};
    for (int k = 0; used != NULL && k < 2; k++)
      if (cs[k] >= 0 && cs[k] < g->n_cells && !used[cs[k]]) {
        used[cs[k]] = 1;
        n_used++;
      }
  }
  for (int h = 0; h < 24; h++)
    if (hour[h] > peak) peak = hour[h];
  printf("mean distance  %.0f m great-circle (x %.2f detour on the road)\n",
         sum / (double)n, d->detour_factor);
  uint8_t *serves = malloc((size_t)g->n_cells);
  if (used != NULL && serves != NULL)
    printf("cells used     %d of the %d in service (%d in the grid)\n", n_used,
           city_def_service_cells(d, g, serves), g->n_cells);
  free(serves);
  free(used);
  printf("\nhour   orders\n");
  for (int h = 0; h < 24; h++) {
    int w = (int)((hour[h] * SYNTH_BAR_WIDTH + peak / 2) / peak);
    printf("%02d  %9zu  ", h, hour[h]);
    for (int k = 0; k < w; k++) putchar('#');
    putchar('\n');
  }
}

/* Whether the store already has trips on day. */
static int has_day(city_store *st, int64_t day, int *yes, rs_err *e) {
  int64_t *days = NULL;
  size_t n = 0;
  int rc = city_store_days(st, &days, &n, e);
  if (rc != 0) return rc;
  *yes = 0;
  for (size_t i = 0; i < n; i++) *yes |= days[i] == day;
  free(days);
  return 0;
}

int cmd_synth(int argc, char **argv) {
  static const struct option opts[] = {
      {"city", required_argument, NULL, 'c'},
      {"orders", required_argument, NULL, 'n'},
      {"seed", required_argument, NULL, 's'},
      {"day", required_argument, NULL, 'd'},
      {"db", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *cmd = "synth";
  const char *city_name = "synthetic", *db = NULL, *day_text = "2016-02-01";
  city_synth_opts o = {1, CITY_SYNTH_DEFAULT_ORDERS, CITY_SYNTH_DEFAULT_DAY};
  uint64_t u;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': city_name = optarg; break;
    case 'b': db = optarg; break;
    case 'n':
      if (cli_parse_u64(optarg, &u) != 0 || u == 0)
        return cli_usage_error(cmd, SYNTH_USAGE,
                               "--orders: '%s' is not a positive integer",
                               optarg);
      o.n_orders = (size_t)u;
      break;
    case 's':
      if (cli_parse_u64(optarg, &o.seed) != 0)
        return cli_usage_error(cmd, SYNTH_USAGE,
                               "--seed: '%s' is not a non-negative integer",
                               optarg);
      break;
    case 'd':
      if (cli_parse_day(optarg, &o.day) != 0)
        return cli_usage_error(cmd, SYNTH_USAGE,
                               "--day: '%s' is not a date YYYY-MM-DD", optarg);
      day_text = optarg;
      break;
    case 'h': synth_help(); return 0;
    case ':':
      return cli_usage_error(cmd, SYNTH_USAGE, "%s needs a value",
                             argv[optind - 1]);
    default:
      return cli_usage_error(cmd, SYNTH_USAGE, "unknown option '%s'",
                             argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage_error(cmd, SYNTH_USAGE, "unexpected argument '%s'",
                           argv[optind]);
  if (db == NULL)
    return cli_usage_error(cmd, SYNTH_USAGE, "--db TRIPS.db is required");

  city_def d;
  city_grid g;
  rs_err e;
  rs_err_clear(&e);
  if (city_def_resolve(city_name, &d, &e) != 0 ||
      city_def_grid(&d, &g, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  city_store *st = NULL;
  city_trip *t = NULL;
  size_t n = 0;
  int exists = 0, status = 1;
  if (city_store_open(db, CITY_STORE_WRITE, &d, &st, &e) != 0 ||
      has_day(st, o.day, &exists, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    goto done;
  }
  if (exists) {
    cli_error(cmd, "%s already holds trips on %s; choose another --db or --day",
              db, day_text);
    goto done;
  }
  if (city_synth_to_store(st, &d, &o, &e) != 0 ||
      city_store_load(st, o.day, o.day + RS_DAY_S, &t, &n, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    goto done;
  }
  if (n == 0) {
    cli_error(cmd, "%s: no trips on %s after writing them", db, day_text);
    goto done;
  }
  printf("wrote %zu orders of city %s, seed %llu, day %s to %s\n\n", n, d.name,
         (unsigned long long)o.seed, day_text, db);
  print_summary(&d, &g, t, n, o.day);
  status = 0;
done:
  free(t);
  city_store_close(st);
  return status;
}

/*
 * ridesim calibrate --trips DB [--network FILE] [--city NAME|FILE]
 *                   [--min-trips N] [--day-types auto|1|2] [--no-field]
 *                   [--field-prior N] --out CITY.json
 *
 * Fits the travel model's hourly speeds to the recorded trips of a store
 * (city_data/calibrate.h: COMSET's ratio of sums per hour), after the
 * place part of its trip times (cell factors, unless --no-field), and writes the
 * city with them, a complete definition that --city loads back: always the
 * great-circle model's speed_mps_by_hour and, with --network, the network's
 * factors (network_factors, per day type when the trips have both, with
 * the network's content hash). With a network, both fits use the trips
 * whose ends lie on it. Prints what was used and left out, and per hour
 * the trips, the mean recorded time, the value before and after, and where
 * it came from.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/calibrate.h"
#include "tools/calibout.h"
#include "tools/cli.h"

#define USAGE                                                                          \
  "ridesim calibrate --trips DB [--network FILE] [--city NAME|FILE] [--min-trips N] "  \
  "[--day-types auto|1|2] [--no-field] [--field-prior N] --out CITY.json [--help]"

static void help(void) {
  printf("usage: %s\n\n"
         "Fits the travel model's hourly speeds so that each hour's mean modelled\n"
         "trip time is the mean recorded time of the store's trips (ratio of sums,\n"
         "as COMSET), and writes the city definition with them.\n\n"
         "  --trips DB         trip store with dropoff times (e.g. imported TLC files)\n"
         "  --network FILE     also fit this road network's speed factors (per hour\n"
         "                     and day type); both fits then use the trips whose\n"
         "                     ends lie on the network\n"
         "  --city NAME|FILE   the city to start from (default: the store's)\n"
         "  --min-trips N      trips an hour needs to be fitted on its own (default\n"
         "                     %d); others take their neighbours' or the overall fit\n"
         "  --day-types D      network factors: auto (per day type when both have\n"
         "                     enough trips), 1 (one profile) or 2\n"
         "  --no-field         fit no cell factors (each grid cell's time factor,\n"
         "                     the place part of trip times): hourly values alone\n"
         "  --field-prior N    trips' worth of driving that move a cell's factor\n"
         "                     half-way to its own fit (default %g)\n"
         "  --out CITY.json    the calibrated city (replaced atomically)\n"
         "  --help             this text\n\n"
         "Trips count when they have a dropoff time, lasted 60 s to 3 h and, when\n"
         "they have a distance, it is not 0. docs/network.md describes the method.\n",
         USAGE, CITY_CALIB_MIN_TRIPS, CITY_CALIB_FIELD_PRIOR);
}

/* One hour's line of one day type: trips, mean recorded s, before, after,
 * source. */
static void print_cell(const city_calib_fit *f, int d, int h, int width) {
  printf(" %6lld %8.1f %7.3f %7.3f %-*s", (long long)f->n[d][h], f->rec_s[d][h],
         f->start[d][h], f->value[d][h], width,
         f->clamped[d][h] ? "clamped" : city_calib_source_text(f->source[d][h]));
}

/* The column heads of print_cell. */
static const char *hdr(int width) {
  static char buf[2][64];
  char *b = buf[width > 0];
  snprintf(b, sizeof buf[0], " %6s %8s %7s %7s %-*s", "trips", "rec s", "before", "after", width,
           "from");
  return b;
}

static void print_field(const city_calib_fit *f) {
  if (f->field_cells == 0) return;
  printf("  cell factors: %d cells, from %.3f to %.3f (time factors, driving-time mean 1);\n"
         "  %d alternating pass%s, the last moving a factor by %.2g\n",
         (int)f->field_cells, f->field_lo, f->field_hi, (int)f->field_iters,
         f->field_iters == 1 ? "" : "es", f->field_moved);
}

static void print_fit(const city_calib_fit *f, const char *what) {
  printf("%s: %lld trips, %d step%s of the ratio of sums, largest deviation left %.2g\n"
         "  (trips and mean recorded seconds of each hour; its %s before and after; where\n"
         "  it came from: own trips, neighbouring hours, the day type's or all trips)\n",
         what, (long long)f->n_trips, f->steps, f->steps == 1 ? "" : "s", f->max_dev,
         f->network ? "factor" : "speed in m/s");
  if (f->day_types == 1) {
    printf("  hour%s\n", hdr(0));
    for (int h = 0; h < 24; h++) {
      printf("  %02d  ", h);
      print_cell(f, 0, h, 0);
      printf("\n");
    }
    return;
  }
  printf("      %-44s | weekend\n", " weekday");
  printf("  hour%s |%s\n", hdr(11), hdr(0));
  for (int h = 0; h < 24; h++) {
    printf("  %02d  ", h);
    print_cell(f, 0, h, 11);
    printf(" |");
    print_cell(f, 1, h, 0);
    printf("\n");
  }
}

int cmd_calibrate(int argc, char **argv) {
  static const struct option opts[] = {
      {"trips", required_argument, NULL, 'i'},   {"network", required_argument, NULL, 'n'},
      {"city", required_argument, NULL, 'c'},    {"min-trips", required_argument, NULL, 'm'},
      {"day-types", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'},
      {"no-field", no_argument, NULL, 'F'},      {"field-prior", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  const char *cmd = "calibrate", *db = NULL, *network = NULL, *city_name = NULL, *out = NULL;
  city_calib_opts co;
  city_calib_defaults(&co);
  int64_t i64;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': db = optarg; break;
    case 'n': network = optarg; break;
    case 'c': city_name = optarg; break;
    case 'o': out = optarg; break;
    case 'm':
      if (cli_parse_i64(optarg, &i64) != 0 || i64 < 1 || i64 > 1000000)
        return cli_usage_error(cmd, USAGE, "--min-trips: '%s' is not in 1 .. 1000000", optarg);
      co.min_trips = (int32_t)i64;
      break;
    case 'd':
      if (strcmp(optarg, "auto") == 0) co.day_types = 0;
      else if (strcmp(optarg, "1") == 0 || strcmp(optarg, "2") == 0) co.day_types = optarg[0] - '0';
      else return cli_usage_error(cmd, USAGE, "--day-types: '%s' is not auto, 1 or 2", optarg);
      break;
    case 'F': co.field = 0; break;
    case 'p': {
      char *end = NULL;
      double v = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || !(v > 0 && v <= 1e9))
        return cli_usage_error(cmd, USAGE, "--field-prior: '%s' is not a number in (0, 1e9]",
                               optarg);
      co.field_prior = v;
      break;
    }
    case 'h': help(); return 0;
    case ':': return cli_usage_error(cmd, USAGE, "%s needs a value", argv[optind - 1]);
    default: return cli_usage_error(cmd, USAGE, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage_error(cmd, USAGE, "unexpected argument '%s'", argv[optind]);
  if (db == NULL) return cli_usage_error(cmd, USAGE, "--trips DB is required");
  if (out == NULL) return cli_usage_error(cmd, USAGE, "--out CITY.json is required");

  rs_err e;
  rs_err_clear(&e);
  city_def city;
  city_trip *trips = NULL;
  size_t n = 0;
  city_travel net;
  memset(&net, 0, sizeof net);
  city_rec_set set;
  memset(&set, 0, sizeof set);
  int status = 1, dropped = 0;
  city_calib_fit fit_gc, fit_net;
  if (city_rec_load(db, city_name, &city, &trips, &n, &e) != 0) goto fail;
  if (network != NULL &&
      city_calib_open_network(&city, network, NULL, &net, &dropped, &e) != 0)
    goto fail;
  if (dropped)
    printf("note         the city's network_factors were fitted to another network: the fit "
           "starts from the derived factors\n");
  if (city_rec_select(trips, n, network ? city_travel_net_network(&net) : NULL, &set, &e) != 0)
    goto fail;
  calibout_selection(stdout, db, &city, &set);
  if (city_calib_speeds(&city, &set, &co, &fit_gc, &e) != 0) goto fail;
  printf("\n");
  print_fit(&fit_gc, fit_gc.field_cells ? "great-circle model, speed_mps_by_hour and cell_factors"
                                         : "great-circle model, speed_mps_by_hour");
  print_field(&fit_gc);
  if (network != NULL) {
    double f0[2][24];
    int src = city_travel_net_factors(&net, f0);
    if (city_calib_network(&net, &set, &co, &fit_net, &city, &e) != 0) goto fail;
    printf("\nroad network %s (content hash %016llx), factors from %s, access legs at the "
           "fitted speeds\n", network, (unsigned long long)city.net_factors_hash,
           calibout_factor_source(src));
    print_fit(&fit_net, fit_net.day_types == 2 ? "network_factors per day type"
                                               : "network_factors, one profile for every day");
    print_field(&fit_net);
  }
  if (city_calib_save(&city, out, &e) != 0) goto fail;
  printf("\nwrote        %s (city %s: speed_mps_by_hour%s%s%s)\n", out, city.name,
         city.cell_field.n > 0 ? ", cell_factors" : "",
         network ? ", network_factors for this network" : "",
         network && city.net_field.n > 0 ? " with their cells" : "");
  status = 0;
  goto done;
fail:
  cli_error(cmd, "%s", e.msg);
done:
  city_rec_free(&set);
  if (net.ops != NULL) city_travel_free(&net);
  free(trips);
  return status;
}

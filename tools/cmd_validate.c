/*
 * ridesim validate --trips DB [--network FILE] [--city NAME|FILE] [--json]
 *
 * Measures the travel model against the recorded trips of a store
 * (city_data/validate.h): modelled against recorded duration, distance and
 * fare, by hour of day, by band of recorded distance and overall: trips,
 * bias (%), MAE, MAPE and the median absolute percentage error. With
 * --network the great-circle and the road-network model stand side by
 * side, both on the trips whose ends lie on the network. --json prints the
 * same as one object.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/travel_net.h"
#include "city_data/validate.h"
#include "tools/calibout.h"
#include "tools/cli.h"

#define USAGE "ridesim validate --trips DB [--network FILE] [--city NAME|FILE] [--json] [--help]"

static void help(void) {
  printf("usage: %s\n\n"
         "Compares the travel model's trips with the recorded ones: duration, distance\n"
         "(the taximeter's) and fare, by hour of day, by recorded distance and overall.\n\n"
         "  --trips DB         trip store with dropoff times (e.g. imported TLC files)\n"
         "  --network FILE     also the road-network model, side by side with the\n"
         "                     great-circle one, both on the trips whose ends lie on it\n"
         "  --city NAME|FILE   the city (e.g. one `ridesim calibrate` wrote; default:\n"
         "                     the store's)\n"
         "  --json             print one JSON object instead of tables\n"
         "  --help             this text\n\n"
         "bias is 100 sum(modelled - recorded) / sum(recorded); MAE the mean absolute\n"
         "error (s, km, money); MAPE and MdAPE the mean and median absolute error as a\n"
         "percentage of the recorded value.\n",
         USAGE);
}

static const char *const units[CITY_VALID_N] = {"s", "km", "money"};
static const double scale[CITY_VALID_N] = {1.0, 0.001, 1.0}; /* metres shown as km */

typedef struct {
  const char *name;
  city_valid_report rep;
} model_rep;

static void print_stats(const city_valid_stat *s, int q) {
  if (s->n == 0) printf(" | %6s %8s %6s %6s", "-", "-", "-", "-");
  else printf(" | %6.1f %8.3g %6.1f %6.1f", s->bias_pct, s->mae * scale[q], s->mape, s->mdape);
}

/* One row: its label, trips and mean recorded value, then each model's. */
static void print_row(const char *label, const model_rep *m, int nm, int q, int hour, int band) {
  const city_valid_stat *s0 = hour >= 0 ? &m[0].rep.hour[hour][q]
                              : band >= 0 ? &m[0].rep.band[band][q] : &m[0].rep.all[q];
  if (s0->n == 0) return;
  printf("  %-12s %6lld %9.3g", label, (long long)s0->n, s0->rec_mean * scale[q]);
  for (int i = 0; i < nm; i++)
    print_stats(hour >= 0 ? &m[i].rep.hour[hour][q]
                : band >= 0 ? &m[i].rep.band[band][q] : &m[i].rep.all[q], q);
  printf("\n");
}

static void print_tables(const model_rep *m, int nm) {
  for (int q = 0; q < CITY_VALID_N; q++) {
    if (m[0].rep.all[q].n == 0) {
      printf("\n%s: no trip records one\n", city_valid_quantity_name(q));
      continue;
    }
    printf("\n%s (%s), modelled against recorded\n", city_valid_quantity_name(q), units[q]);
    printf("  %-12s %6s %9s", "", "", "");
    for (int i = 0; i < nm; i++) printf(" | %-30s", m[i].name);
    printf("\n  %-12s %6s %9s", "group", "trips", "recorded");
    for (int i = 0; i < nm; i++) printf(" | %6s %8s %6s %6s", "bias%", "MAE", "MAPE", "MdAPE");
    printf("\n");
    char label[32];
    for (int h = 0; h < 24; h++) {
      snprintf(label, sizeof label, "hour %02d", h);
      print_row(label, m, nm, q, h, -1);
    }
    for (int b = 0; b < CITY_VALID_BANDS; b++) print_row(city_valid_band_name(b), m, nm, q, -1, b);
    print_row("all", m, nm, q, -1, -1);
  }
}

static cJSON *stat_json(const city_valid_stat *s) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  cJSON_AddNumberToObject(o, "n", (double)s->n);
  if (s->n > 0) {
    cJSON_AddNumberToObject(o, "recorded_mean", s->rec_mean);
    cJSON_AddNumberToObject(o, "modelled_mean", s->mod_mean);
    cJSON_AddNumberToObject(o, "bias_pct", s->bias_pct);
    cJSON_AddNumberToObject(o, "mae", s->mae);
    cJSON_AddNumberToObject(o, "mape_pct", s->mape);
    cJSON_AddNumberToObject(o, "mdape_pct", s->mdape);
  }
  return o;
}

/* {"hour" or "band": key, model name: stats, ...} */
static cJSON *row_json(const model_rep *m, int nm, int q, int hour, int band) {
  cJSON *r = cJSON_CreateObject();
  if (r == NULL) return NULL;
  if (hour >= 0) cJSON_AddNumberToObject(r, "hour", hour);
  if (band >= 0) cJSON_AddStringToObject(r, "band", city_valid_band_name(band));
  for (int i = 0; i < nm; i++)
    cJSON_AddItemToObject(r, m[i].name,
                          stat_json(hour >= 0   ? &m[i].rep.hour[hour][q]
                                    : band >= 0 ? &m[i].rep.band[band][q]
                                                : &m[i].rep.all[q]));
  return r;
}

static int print_json(const model_rep *m, int nm, cJSON *sel) {
  cJSON *root = cJSON_CreateObject();
  if (root == NULL) {
    cJSON_Delete(sel);
    return -1;
  }
  cJSON_AddItemToObject(root, "trips", sel);
  cJSON *models = cJSON_AddArrayToObject(root, "models");
  for (int i = 0; models != NULL && i < nm; i++)
    cJSON_AddItemToArray(models, cJSON_CreateString(m[i].name));
  for (int q = 0; q < CITY_VALID_N; q++) {
    cJSON *qo = cJSON_AddObjectToObject(root, city_valid_quantity_name(q));
    if (qo == NULL) break;
    cJSON_AddStringToObject(qo, "unit", q == CITY_VALID_DISTANCE ? "m" : units[q]);
    cJSON *hours = cJSON_AddArrayToObject(qo, "by_hour");
    for (int h = 0; hours != NULL && h < 24; h++)
      if (m[0].rep.hour[h][q].n > 0) cJSON_AddItemToArray(hours, row_json(m, nm, q, h, -1));
    cJSON *bands = cJSON_AddArrayToObject(qo, "by_distance");
    for (int b = 0; bands != NULL && b < CITY_VALID_BANDS; b++)
      if (m[0].rep.band[b][q].n > 0) cJSON_AddItemToArray(bands, row_json(m, nm, q, -1, b));
    cJSON_AddItemToObject(qo, "all", row_json(m, nm, q, -1, -1));
  }
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (text == NULL) return -1;
  printf("%s\n", text);
  free(text);
  return 0;
}

int cmd_validate(int argc, char **argv) {
  static const struct option opts[] = {
      {"trips", required_argument, NULL, 'i'}, {"network", required_argument, NULL, 'n'},
      {"city", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  const char *cmd = "validate", *db = NULL, *network = NULL, *city_name = NULL;
  int json = 0, c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': db = optarg; break;
    case 'n': network = optarg; break;
    case 'c': city_name = optarg; break;
    case 'j': json = 1; break;
    case 'h': help(); return 0;
    case ':': return cli_usage_error(cmd, USAGE, "%s needs a value", argv[optind - 1]);
    default: return cli_usage_error(cmd, USAGE, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage_error(cmd, USAGE, "unexpected argument '%s'", argv[optind]);
  if (db == NULL) return cli_usage_error(cmd, USAGE, "--trips DB is required");

  rs_err e;
  rs_err_clear(&e);
  city_def city;
  city_trip *trips = NULL;
  size_t n = 0;
  city_travel gc, net;
  memset(&net, 0, sizeof net);
  city_rec_set set;
  memset(&set, 0, sizeof set);
  model_rep *m = calloc(2, sizeof *m);
  int status = 1, nm = 0;
  if (m == NULL) {
    cli_error(cmd, "out of memory");
    return 1;
  }
  if (city_rec_load(db, city_name, &city, &trips, &n, &e) != 0) goto fail;
  city_travel_gc(&city, &gc);
  if (network != NULL && city_travel_net_open(&city, network, NULL, &net, &e) != 0) goto fail;
  if (city_rec_select(trips, n, network ? city_travel_net_network(&net) : NULL, &set, &e) != 0)
    goto fail;
  m[nm].name = gc.ops->name;
  if (city_valid_run(&gc, &set, &m[nm++].rep, &e) != 0) goto fail;
  if (network != NULL) {
    m[nm].name = net.ops->name;
    if (city_valid_run(&net, &set, &m[nm++].rep, &e) != 0) goto fail;
  }
  if (json) {
    cJSON *sel = calibout_selection_json(db, &city, &set);
    if (sel != NULL && network != NULL) {
      double f[2][24];
      cJSON_AddStringToObject(sel, "network", network);
      cJSON_AddStringToObject(sel, "network_factors",
                              calibout_factor_source(city_travel_net_factors(&net, f)));
      cJSON_AddNumberToObject(sel, "network_cells", city_travel_net_field(&net)->n);
    }
    if (sel != NULL) cJSON_AddNumberToObject(sel, "cell_factors", city.cell_field.n);
    if (sel == NULL || print_json(m, nm, sel) != 0) {
      cli_error(cmd, "out of memory printing JSON");
      goto done;
    }
  } else {
    calibout_selection(stdout, db, &city, &set);
    if (network != NULL) {
      double f[2][24];
      printf("network      %s: factors %s", network,
             calibout_factor_source(city_travel_net_factors(&net, f)));
      if (city_travel_net_field(&net)->n > 0)
        printf(", links retimed by %d cell factors", (int)city_travel_net_field(&net)->n);
      printf("\n");
    }
    if (city.cell_field.n > 0)
      printf("great circle drives scaled by %d cell factors\n", (int)city.cell_field.n);
    print_tables(m, nm);
  }
  status = 0;
  goto done;
fail:
  cli_error(cmd, "%s", e.msg);
done:
  city_rec_free(&set);
  if (net.ops != NULL) city_travel_free(&net);
  free(trips);
  free(m);
  return status;
}

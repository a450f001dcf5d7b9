/*
 * ridesim city [NAME|FILE] [--json] [--cells] [--help]: shows a city
 * definition (a built-in name or a JSON file; default "synthetic") and the
 * hexagonal grid it implies, with the calibrated travel values a city may
 * carry (network_factors and their cells, cell_factors: `ridesim
 * calibrate`). --cells lists every cell (index, axial q and r, centre,
 * whether it is in service, and the cell factors of a city that has them);
 * --json prints the same as one JSON object, which loads back as a city file
 * (the definition's fields come from city_def_to_json). Everything here is
 * presentation: the definition, its service area and the grid come from
 * city_data/.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "tools/cli.h"

#define CITY_USAGE "ridesim city [NAME|FILE] [--json] [--cells] [--help]"

static void city_help(void) {
  printf("usage: %s\n\n"
         "Shows a city definition and its hexagonal grid.\n\n"
         "  NAME|FILE  a built-in city (", CITY_USAGE);
  const char *const *names = city_def_builtin_names();
  for (size_t i = 0; names[i] != NULL; i++)
    printf("%s%s", i ? ", " : "", names[i]);
  printf(") or a city JSON file;\n"
         "             default: synthetic\n"
         "  --json     print the definition and grid as JSON\n"
         "  --cells    also list every cell: index, q, r, centre lat, lng, and\n"
         "             whether it is in service (meets the service area)\n"
         "  --help     this text\n");
}

static int is_builtin(const char *s) {
  const char *const *names = city_def_builtin_names();
  for (size_t i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], s) == 0) return 1;
  return 0;
}

/* One field's line: cells, range, the slowest and the fastest cell. */
static void print_field(const char *label, const city_field *f) {
  if (f->n == 0) return;
  int32_t lo = 0, hi = 0;
  for (int32_t i = 1; i < f->n; i++) {
    if (f->k[i] < f->k[lo]) lo = i;
    if (f->k[i] > f->k[hi]) hi = i;
  }
  double la, ln, ha, hn;
  city_grid_center(&f->grid, city_grid_hex(&f->grid, f->cell[lo]), &la, &ln);
  city_grid_center(&f->grid, city_grid_hex(&f->grid, f->cell[hi]), &ha, &hn);
  printf("%-14s %d cells, time factors %.2f (cell %d at %.4f, %.4f) to %.2f (cell %d at "
         "%.4f, %.4f)\n", label, (int)f->n, f->k[lo], (int)f->cell[lo], la, ln, f->k[hi],
         (int)f->cell[hi], ha, hn);
}

/* The calibrated travel values: network factors and cell factors. */
static void print_calibration(const city_def *d) {
  if (d->net_have_factors) {
    printf("network        speed factors by hour, weekday / weekend");
    if (d->net_factors_hash != 0)
      printf(" (network %016llx)", (unsigned long long)d->net_factors_hash);
    for (int i = 0; i < 24; i++)
      printf("%s%02d h %.2f/%.2f", i % 4 == 0 ? "\n               " : "  ", i,
             d->net_factors[0][i], d->net_factors[1][i]);
    printf("\n");
    print_field("network cells", &d->net_field);
  }
  print_field("cell factors", &d->cell_field);
}

/* A cell's factor in a field: 1 outside it. */
static double field_k(const city_field *f, int32_t idx) {
  for (int32_t lo = 0, hi = f->n - 1; lo <= hi;) {
    int32_t mid = lo + (hi - lo) / 2;
    if (f->cell[mid] == idx) return f->k[mid];
    if (f->cell[mid] < idx) lo = mid + 1;
    else hi = mid - 1;
  }
  return 1.0;
}

static void print_text(const char *source, const city_def *d,
                       const city_grid *g, const uint8_t *serves, int32_t n_serve,
                       int cells) {
  double mid = 0.5 * (d->min_lat + d->max_lat);
  double w = rs_geo_haversine_r(mid, d->min_lng, mid, d->max_lng,
                                  d->earth_radius_m);
  double h = rs_geo_haversine_r(d->min_lat, d->min_lng, d->max_lat,
                                  d->min_lng, d->earth_radius_m);
  int off = d->utc_offset_min < 0 ? -d->utc_offset_min : d->utc_offset_min;
  /* Area of a hexagon of edge s: 3 sqrt(3) / 2 s^2. */
  double area_km2 = 2.598076211353316 * d->hex_edge_m * d->hex_edge_m / 1e6;
  printf("city           %s (%s)\n", d->name, source);
  printf("bbox           lat %.6f .. %.6f, lng %.6f .. %.6f (%.1f km x %.1f km)\n",
         d->min_lat, d->max_lat, d->min_lng, d->max_lng, w / 1000, h / 1000);
  printf("utc offset     %c%02d:%02d\n", d->utc_offset_min < 0 ? '-' : '+',
         off / 60, off % 60);
  printf("grid           %d cells = %d rows x %d cols, edge %.0f m "
         "(%.3f km2 a cell)\n",
         g->n_cells, g->nrows, g->ncols, d->hex_edge_m, area_km2);
  if (d->area.n_rings > 0)
    printf("service area   %d polygon%s, %d ring%s, %d points; %d cells in service\n",
           d->area.n_polygons, d->area.n_polygons == 1 ? "" : "s", d->area.n_rings,
           d->area.n_rings == 1 ? "" : "s", d->area.n_points, n_serve);
  else
    printf("service area   the whole box; %d cells in service\n", n_serve);
  printf("speed m/s      ");
  for (int i = 0; i < 24; i++)
    printf("%s%02d h %.1f", i == 0 ? "" : i % 6 == 0 ? "\n               " : "  ",
           i, d->speed_mps[i]);
  printf("\n");
  printf("detour factor  %.2f\n", d->detour_factor);
  printf("fare           %.2f + %.3f/km + %.3f/min, minimum %.2f\n",
         d->fare.base, d->fare.per_km, d->fare.per_minute, d->fare.minimum);
  if (d->fare.per_minute_slow > 0)
    printf("slow time      %.3f/min below the moving speed %.2f m/s\n", d->fare.per_minute_slow,
           d->fare.moving_mps);
  if (d->fare.surcharge > 0) printf("surcharge      %.2f per trip\n", d->fare.surcharge);
  const city_surcharge *ws[2] = {&d->fare.night, &d->fare.peak};
  const char *wn[2] = {"night", "peak"};
  for (int i = 0; i < 2; i++)
    if (ws[i]->from_s != ws[i]->to_s)
      printf("%-14s %.2f from %02d:%02d to %02d:%02d%s\n", wn[i], ws[i]->amount,
             ws[i]->from_s / 3600, ws[i]->from_s / 60 % 60, ws[i]->to_s / 3600,
             ws[i]->to_s / 60 % 60, ws[i]->weekdays_only ? " on weekdays" : "");
  printf("default fleet  %d\n", d->default_fleet);
  printf("earth radius   %.1f m\n", d->earth_radius_m);
  print_calibration(d);
  if (cells) {
    /* the cell factors' columns only for a city that has them */
    int kf = d->cell_field.n > 0 || d->net_field.n > 0;
    printf("\n%8s %6s %6s %12s %13s %7s%s\n", "index", "q", "r", "lat", "lng", "serves",
           kf ? "   k great-circle  k network" : "");
    for (int32_t i = 0; i < g->n_cells; i++) {
      city_hex hx = city_grid_hex(g, i);
      double lat, lng;
      city_grid_center(g, hx, &lat, &lng);
      printf("%8d %6d %6d %12.6f %13.6f %7s", i, hx.q, hx.r, lat, lng, serves[i] ? "yes" : "no");
      if (kf) printf(" %16.3f %10.3f", field_k(&d->cell_field, i), field_k(&d->net_field, i));
      printf("\n");
    }
  }
}

/* Builds the JSON document; NULL when out of memory. The definition's own
 * fields come from city_def_to_json, so the output loads back as a city
 * file; "source" and "grid" are read back and not used (city.h). */
static cJSON *to_json(const char *source, const city_def *d,
                      const city_grid *g, const uint8_t *serves, int32_t n_serve,
                      int cells) {
  cJSON *root = cJSON_CreateObject();
  if (root == NULL) return NULL;
  int ok = city_def_to_json(d, root) == 0 &&
           cJSON_AddStringToObject(root, "source", source) != NULL;
  cJSON *grid = cJSON_AddObjectToObject(root, "grid");
  ok = ok && grid != NULL &&
       cJSON_AddNumberToObject(grid, "n_cells", g->n_cells) != NULL &&
       cJSON_AddNumberToObject(grid, "rows", g->nrows) != NULL &&
       cJSON_AddNumberToObject(grid, "cols", g->ncols) != NULL &&
       cJSON_AddNumberToObject(grid, "edge_m", g->edge_m) != NULL &&
       cJSON_AddNumberToObject(grid, "row0", g->row0) != NULL &&
       cJSON_AddNumberToObject(grid, "col0", g->col0) != NULL &&
       cJSON_AddNumberToObject(grid, "center_lat", g->proj.lat0) != NULL &&
       cJSON_AddNumberToObject(grid, "center_lng", g->proj.lng0) != NULL &&
       cJSON_AddNumberToObject(grid, "cells_in_service", n_serve) != NULL;
  if (ok && cells) {
    cJSON *arr = cJSON_AddArrayToObject(grid, "cells");
    ok = arr != NULL;
    for (int32_t i = 0; ok && i < g->n_cells; i++) {
      city_hex hx = city_grid_hex(g, i);
      double lat, lng;
      city_grid_center(g, hx, &lat, &lng);
      cJSON *c = cJSON_CreateObject();
      ok = c != NULL && cJSON_AddItemToArray(arr, c) &&
           cJSON_AddNumberToObject(c, "index", i) != NULL &&
           cJSON_AddNumberToObject(c, "q", hx.q) != NULL &&
           cJSON_AddNumberToObject(c, "r", hx.r) != NULL &&
           cJSON_AddNumberToObject(c, "lat", lat) != NULL &&
           cJSON_AddNumberToObject(c, "lng", lng) != NULL &&
           cJSON_AddBoolToObject(c, "in_service", serves[i]) != NULL;
    }
  }
  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

int cmd_city(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'},
      {"cells", no_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *cmd = "city";
  int json = 0, cells = 0, c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': json = 1; break;
    case 'c': cells = 1; break;
    case 'h': city_help(); return 0;
    default:
      return cli_usage_error(cmd, CITY_USAGE, "unknown option '%s'",
                             argv[optind - 1]);
    }
  }
  if (argc - optind > 1)
    return cli_usage_error(cmd, CITY_USAGE, "one city at a time ('%s' is extra)",
                           argv[optind + 1]);
  const char *which = optind < argc ? argv[optind] : "synthetic";

  city_def d;
  city_grid g;
  rs_err e;
  rs_err_clear(&e);
  if (city_def_resolve(which, &d, &e) != 0 || city_def_grid(&d, &g, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  const char *source = is_builtin(which) ? "built in" : which;
  uint8_t *serves = malloc((size_t)g.n_cells);
  if (serves == NULL) {
    cli_error(cmd, "out of memory for %d cells", g.n_cells);
    return 1;
  }
  int32_t n_serve = city_def_service_cells(&d, &g, serves);
  if (!json) {
    print_text(source, &d, &g, serves, n_serve, cells);
    free(serves);
    return 0;
  }
  cJSON *root = to_json(source, &d, &g, serves, n_serve, cells);
  free(serves);
  char *text = root ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (text == NULL) {
    cli_error(cmd, "out of memory building the JSON output");
    return 1;
  }
  printf("%s\n", text);
  cJSON_free(text);
  return 0;
}

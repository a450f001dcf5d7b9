/*
 * fuzz_city: city definitions (city_data/city) on arbitrary text, then the
 * hexagonal grid they imply (city_data/hexgrid).
 *
 * city_def_parse either fills the definition or fails with a one-line
 * message and leaves it untouched. A parsed definition has the ranges its
 * header promises (24 positive speeds, a bounded box and edge). When
 * city_def_grid accepts it, the grid is walked at a few cells: a dense index
 * maps to a cell and back to itself, the centre of a cell lies in that cell,
 * every corner of the box falls in the grid, and the k-ring of a cell has
 * the promised size with the centre first. A parsed service area keeps its
 * invariants inside the box, and a definition printed by city_def_to_json
 * reads back identical. The travel model is evaluated on
 * the box's diagonal (finite road metres, a positive duration, a fare at
 * least the minimum).
 *
 * Links city_data/ (city, hexgrid, geo, the embedded definitions) and
 * sim/rs_error; see tools/fuzz.sh.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "city_data/travel.h"
#include "city_data/hexgrid.h"
#include "base/rs_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

static void check_cell(const city_grid *g, int32_t idx) {
  city_hex h = city_grid_hex(g, idx);
  FUZZ_CHECK(city_grid_index(g, h) == idx);
  double lat, lng;
  city_grid_center(g, h, &lat, &lng);
  FUZZ_CHECK(isfinite(lat) && isfinite(lng));
  FUZZ_CHECK(city_grid_point_index(g, lat, lng) == idx);
  city_hex ring[19];
  FUZZ_CHECK(city_hex_kring_size(2) == 19);
  FUZZ_CHECK(city_hex_kring(h, 2, ring) == 19);
  FUZZ_CHECK(ring[0].q == h.q && ring[0].r == h.r);
  for (int i = 1; i < 19; i++) {
    int32_t d = city_hex_distance(h, ring[i]);
    FUZZ_CHECK(d == (i < 7 ? 1 : 2));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 16)) return 0;
  char *json = malloc(size + 1);
  if (json == NULL) return 0;
  memcpy(json, data, size);
  json[size] = '\0';

  city_def d, before;
  memset(&d, 0x5a, sizeof d);
  memcpy(&before, &d, sizeof d);
  rs_err e;
  rs_err_clear(&e);
  int rc = city_def_parse(json, "fuzz.json", &d, &e);
  free(json);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
    FUZZ_CHECK(memcmp(&d, &before, sizeof d) == 0);
    return 0;
  }
  FUZZ_CHECK(memchr(d.name, '\0', sizeof d.name) != NULL);
  FUZZ_CHECK(d.min_lat < d.max_lat && d.min_lng < d.max_lng);
  FUZZ_CHECK(d.hex_edge_m > 0);
  for (int h = 0; h < 24; h++) FUZZ_CHECK(d.speed_mps[h] > 0 && isfinite(d.speed_mps[h]));
  FUZZ_CHECK(d.detour_factor > 0);
  /* The service area keeps its invariants and lies in the box. */
  FUZZ_CHECK(city_area_check(&d.area, &e) == 0);
  for (int32_t i = 0; i < d.area.n_points; i++) {
    double lat, lng;
    city_area_point(&d.area, i, &lat, &lng);
    FUZZ_CHECK(lat >= d.min_lat - 1e-6 && lat <= d.max_lat + 1e-6);
    FUZZ_CHECK(lng >= d.min_lng - 1e-6 && lng <= d.max_lng + 1e-6);
  }
  /* Printed and read back, it is the same definition. */
  cJSON *o = cJSON_CreateObject();
  if (o != NULL && city_def_to_json(&d, o) == 0) {
    char *text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
      city_def back;
      FUZZ_CHECK(city_def_parse(text, "printed", &back, NULL) == 0);
      FUZZ_CHECK(memcmp(&back, &d, sizeof d) == 0);
      cJSON_free(text);
    }
  }
  cJSON_Delete(o);

  city_grid g;
  rs_err_clear(&e);
  if (city_def_grid(&d, &g, &e) != 0) {
    FUZZ_CHECK(e.msg[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(g.n_cells > 0 && g.n_cells == g.ncols * g.nrows);
  check_cell(&g, 0);
  check_cell(&g, g.n_cells - 1);
  check_cell(&g, g.n_cells / 2);
  /* The grid covers its box. */
  FUZZ_CHECK(city_grid_point_index(&g, d.min_lat, d.min_lng) >= 0);
  FUZZ_CHECK(city_grid_point_index(&g, d.min_lat, d.max_lng) >= 0);
  FUZZ_CHECK(city_grid_point_index(&g, d.max_lat, d.min_lng) >= 0);
  FUZZ_CHECK(city_grid_point_index(&g, d.max_lat, d.max_lng) >= 0);
  /* The travel model on the diagonal, with nothing recorded. Known open
   * finding (docs/reliability.md, F-CITY-1): a tiny positive speed makes the
   * modelled duration overflow int32 (undefined behaviour); skipped while
   * fuzzing (RIDESIM_FUZZ_SKIP_KNOWN=1), not in the replay tests. */
  if (getenv("RIDESIM_FUZZ_SKIP_KNOWN") != NULL) {
    double vmin = d.speed_mps[0];
    for (int h = 1; h < 24; h++)
      if (d.speed_mps[h] < vmin) vmin = d.speed_mps[h];
    if (4e7 * d.detour_factor / vmin > 2e9) return 0; /* 4e7 m: any great circle */
  }
  city_travel tm;
  city_travel_gc(&d, &tm);
  city_loc a, b;
  city_travel_loc(&tm, d.min_lat, d.min_lng, &a);
  city_travel_loc(&tm, d.max_lat, d.max_lng, &b);
  city_trip_model m;
  city_travel_trip(&tm, &a, &b, 1454310000, -1, NAN, NAN, &m);
  FUZZ_CHECK(isfinite(m.road_m) && m.road_m >= 0);
  FUZZ_CHECK(m.duration_s >= 1);
  FUZZ_CHECK(isfinite(m.fare) && m.fare >= d.fare.minimum);
  FUZZ_CHECK(m.modelled_duration && m.modelled_fare);
  return 0;
}

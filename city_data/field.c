/*
 * field: cell factors; see field.h.
 *
 * The points of a segment are interpolated linearly in latitude and
 * longitude (over a few kilometres, within metres of the great circle, as
 * travel_gc.c places a driver part-way), so the same segment always visits
 * the same cells, bit for bit.
 */
#include "city_data/field.h"

#include <math.h>
#include <stddef.h>

/* The position of dense cell idx in the field, -1 when it has none. */
static int32_t find(const city_field *f, int32_t idx) {
  int32_t lo = 0, hi = f->n - 1;
  while (lo <= hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (f->cell[mid] == idx) return mid;
    if (f->cell[mid] < idx) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

static double factor_of(const city_field *f, int32_t idx) {
  if (idx < 0) return 1.0;
  int32_t i = find(f, idx);
  return i < 0 ? 1.0 : f->k[i];
}

double city_field_at(const city_field *f, double lat, double lng) {
  if (f->n == 0) return 1.0;
  return factor_of(f, city_grid_point_index(&f->grid, lat, lng));
}

/* N for a segment of length_m on grid g. */
static int32_t n_points(const city_grid *g, double length_m) {
  double q = length_m / g->edge_m;
  if (!(q > 1)) return 1;
  if (q > 1e6) return 1000000; /* a segment across a continent: enough */
  return (int32_t)ceil(q);
}

void city_field_points(const city_grid *g, double lat1, double lng1, double lat2, double lng2,
                       double length_m, void (*visit)(void *ctx, int32_t cell, double w),
                       void *ctx) {
  int32_t n = n_points(g, length_m);
  double w = 1.0 / n;
  for (int32_t j = 0; j < n; j++) {
    double fr = (j + 0.5) / n;
    visit(ctx, city_grid_point_index(g, lat1 + fr * (lat2 - lat1), lng1 + fr * (lng2 - lng1)), w);
  }
}

double city_field_line(const city_field *f, double lat1, double lng1, double lat2, double lng2,
                       double length_m, void (*visit)(void *ctx, int32_t cell, double w),
                       void *ctx) {
  if (f->n == 0) return 1.0;
  int32_t n = n_points(&f->grid, length_m);
  double w = 1.0 / n, sum = 0;
  for (int32_t j = 0; j < n; j++) {
    double fr = (j + 0.5) / n;
    int32_t idx = city_grid_point_index(&f->grid, lat1 + fr * (lat2 - lat1),
                                        lng1 + fr * (lng2 - lng1));
    sum += factor_of(f, idx);
    if (visit != NULL) visit(ctx, idx, w);
  }
  return sum * w;
}

void city_field_range(const city_field *f, double *lo, double *hi) {
  *lo = *hi = 1.0;
  for (int32_t i = 0; i < f->n; i++) {
    if (f->k[i] < *lo) *lo = f->k[i];
    if (f->k[i] > *hi) *hi = f->k[i];
  }
}

int city_field_check(const city_field *f) {
  if (f->n < 0 || f->n > CITY_FIELD_MAX_CELLS) return -1;
  for (int32_t i = 0; i < f->n; i++) {
    if (f->cell[i] < 0 || f->cell[i] >= f->grid.n_cells) return -1;
    if (i > 0 && f->cell[i] <= f->cell[i - 1]) return -1;
    if (!(f->k[i] >= CITY_FIELD_K_MIN && f->k[i] <= CITY_FIELD_K_MAX)) return -1;
  }
  return 0;
}

/*
 * Tests of city_data/hexgrid: grid layout and its errors, point -> cell ->
 * centre round trips on random points, the nearest-centre property against
 * brute force, neighbour spacing and polygon size measured by haversine,
 * index <-> cell round trips over every cell, and k-rings against a brute
 * force enumeration.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "city_data/hexgrid.h"
#include "base/pcg32.h"
#include "base/rs_error.h"
#include "tests/testutil.h"

/* Assertions inside loops over thousands of points: Check records every
 * passing ck_assert (a write to its log), which made these suites take
 * seconds; this only calls into Check when the condition fails. */
#define QUICK_ASSERT(expr, ...)                                              \
  do {                                                                       \
    if (!(expr)) ck_abort_msg("'" #expr "' failed: " __VA_ARGS__);           \
  } while (0)

/* Boxes the properties run on: Manhattan, a KDD-Cup-like Chengdu box with the
 * KDD radius, a small box near the equator and one at 60 N. */
typedef struct {
  double min_lat, min_lng, max_lat, max_lng, edge, radius;
} box;

static const box boxes[] = {
    {40.695, -74.025, 40.882, -73.905, 600.0, RS_EARTH_RADIUS_M},
    {30.52, 103.95, 30.80, 104.25, 600.0, RS_EARTH_RADIUS_KDD_M},
    {-0.05, 36.70, 0.05, 36.90, 250.0, RS_EARTH_RADIUS_M},
    {59.85, 10.60, 60.00, 10.95, 1000.0, RS_EARTH_RADIUS_M},
};
#define NBOXES ((int)(sizeof boxes / sizeof boxes[0]))

static void grid_of(int i, city_grid *g) {
  const box *b = &boxes[i];
  ck_assert_int_eq(city_grid_init(g, b->min_lat, b->min_lng, b->max_lat,
                                  b->max_lng, b->edge, b->radius),
                   0);
}

static void random_point(const box *b, pcg32 *rng, double *lat, double *lng) {
  *lat = b->min_lat + pcg32_double(rng) * (b->max_lat - b->min_lat);
  *lng = b->min_lng + pcg32_double(rng) * (b->max_lng - b->min_lng);
}

static double sq_xy(const city_grid *g, double lat, double lng, city_hex h) {
  double clat, clng, x, y, cx, cy;
  city_grid_center(g, h, &clat, &clng);
  rs_proj_forward(&g->proj, lat, lng, &x, &y);
  rs_proj_forward(&g->proj, clat, clng, &cx, &cy);
  return (x - cx) * (x - cx) + (y - cy) * (y - cy);
}

/* --- city_grid_init ------------------------------------------------------ */
START_TEST(test_init_layout) {
  city_grid g;
  grid_of(_i, &g);
  const box *b = &boxes[_i];
  ck_assert_int_gt(g.ncols, 0);
  ck_assert_int_gt(g.nrows, 0);
  ck_assert_int_eq(g.n_cells, g.ncols * g.nrows);
  ck_assert_double_eq(g.edge_m, b->edge);
  ck_assert_double_eq_tol(g.proj.lat0, 0.5 * (b->min_lat + b->max_lat), 1e-12);
  ck_assert_double_eq_tol(g.proj.lng0, 0.5 * (b->min_lng + b->max_lng), 1e-12);
  /* Every point of the box has an index, and so do its cell's neighbours
   * (the margin). */
  pcg32 rng;
  pcg32_seed(&rng, 21u, (uint64_t)_i);
  for (int k = 0; k < 20000; k++) {
    double lat, lng;
    random_point(b, &rng, &lat, &lng);
    if (k < 4) { /* the corners themselves */
      lat = k & 1 ? b->max_lat : b->min_lat;
      lng = k & 2 ? b->max_lng : b->min_lng;
    }
    city_hex h = city_grid_cell(&g, lat, lng), nb[6];
    QUICK_ASSERT(city_grid_index(&g, h) >= 0, "box point %.6f %.6f", lat, lng);
    city_hex_neighbors(h, nb);
    for (int j = 0; j < 6; j++)
      QUICK_ASSERT(city_grid_index(&g, nb[j]) >= 0, "neighbour %d of %.6f %.6f",
                   j, lat, lng);
  }
  /* The rectangle is tight: at most a few cells beyond the box each way. */
  double wx = rs_geo_haversine_r(g.proj.lat0, b->min_lng, g.proj.lat0,
                                   b->max_lng, b->radius);
  double hy = rs_geo_haversine_r(b->min_lat, g.proj.lng0, b->max_lat,
                                   g.proj.lng0, b->radius);
  ck_assert_int_le(g.ncols, (int)(wx / (sqrt(3.0) * b->edge)) + 6);
  ck_assert_int_le(g.nrows, (int)(hy / (1.5 * b->edge)) + 7);
}
END_TEST

START_TEST(test_init_errors) {
  city_grid g, before;
  grid_of(0, &g);
  before = g;
  ck_assert_int_eq(city_grid_init(&g, 40.9, -74.0, 40.7, -73.9, 600, 6.4e6),
                   RS_EINVAL); /* inverted latitude */
  ck_assert_int_eq(city_grid_init(&g, 40.7, -73.9, 40.9, -74.0, 600, 6.4e6),
                   RS_EINVAL); /* inverted longitude */
  ck_assert_int_eq(city_grid_init(&g, 40.7, -74.0, 40.7, -73.9, 600, 6.4e6),
                   RS_EINVAL); /* empty */
  ck_assert_int_eq(city_grid_init(&g, 40.7, -74.0, 40.9, -73.9, 0, 6.4e6),
                   RS_EINVAL);
  ck_assert_int_eq(city_grid_init(&g, 40.7, -74.0, 40.9, -73.9, -600, 6.4e6),
                   RS_EINVAL);
  ck_assert_int_eq(city_grid_init(&g, 40.7, -74.0, 40.9, -73.9, NAN, 6.4e6),
                   RS_EINVAL);
  ck_assert_int_eq(city_grid_init(&g, 40.7, -74.0, 40.9, -73.9, 600, 0),
                   RS_EINVAL);
  /* A continent with 1 m cells: far more than 2^24. */
  ck_assert_int_eq(city_grid_init(&g, 30, -120, 50, -70, 1.0, 6.4e6),
                   RS_EINVAL);
  ck_assert_mem_eq(&g, &before, sizeof g);
}
END_TEST

/* --- city_grid_cell, city_grid_center ------------------------------------ */
START_TEST(test_cell_round_trip) {
  city_grid g;
  grid_of(_i, &g);
  pcg32 rng;
  pcg32_seed(&rng, 22u, (uint64_t)_i);
  for (int k = 0; k < 20000; k++) {
    double lat, lng, clat, clng;
    random_point(&boxes[_i], &rng, &lat, &lng);
    city_hex h = city_grid_cell(&g, lat, lng);
    city_grid_center(&g, h, &clat, &clng);
    city_hex h2 = city_grid_cell(&g, clat, clng);
    QUICK_ASSERT(h.q == h2.q && h.r == h2.r, "(%d,%d) -> (%d,%d)", h.q, h.r,
                 h2.q, h2.r);
    /* A point is within one circumradius of its centre. */
    double d = rs_geo_haversine_r(lat, lng, clat, clng, boxes[_i].radius);
    QUICK_ASSERT(d <= g.edge_m * 1.003, "%.3f m from its centre", d);
  }
}
END_TEST

/* The cell's centre is the nearest centre: no neighbour's (nor any cell's
 * within two steps) is closer. */
START_TEST(test_cell_nearest_center) {
  city_grid g;
  grid_of(_i, &g);
  pcg32 rng;
  pcg32_seed(&rng, 23u, (uint64_t)_i);
  city_hex ring[19];
  for (int k = 0; k < 20000; k++) {
    double lat, lng;
    random_point(&boxes[_i], &rng, &lat, &lng);
    city_hex h = city_grid_cell(&g, lat, lng);
    double own = sq_xy(&g, lat, lng, h);
    int n = city_hex_kring(h, 2, ring);
    for (int j = 1; j < n; j++)
      QUICK_ASSERT(own <= sq_xy(&g, lat, lng, ring[j]) + 1e-6,
                   "%.6f %.6f: cell %d of its 2-ring is nearer", lat, lng, j);
  }
}
END_TEST

START_TEST(test_center_spacing) {
  city_grid g;
  grid_of(_i, &g);
  double want = sqrt(3.0) * g.edge_m;
  for (int32_t idx = 0; idx < g.n_cells; idx += 7) {
    city_hex h = city_grid_hex(&g, idx), nb[6];
    double lat, lng;
    city_grid_center(&g, h, &lat, &lng);
    city_hex_neighbors(h, nb);
    for (int j = 0; j < 6; j++) {
      double la, ln;
      city_grid_center(&g, nb[j], &la, &ln);
      double d = rs_geo_haversine_r(lat, lng, la, ln, boxes[_i].radius);
      ck_assert_double_le(fabs(d - want) / want, 0.005);
    }
  }
}
END_TEST

/* --- city_grid_index, city_grid_hex, city_grid_point_index ---------------- */
START_TEST(test_index_round_trip) {
  city_grid g;
  grid_of(_i, &g);
  for (int32_t idx = 0; idx < g.n_cells; idx++) {
    city_hex h = city_grid_hex(&g, idx);
    QUICK_ASSERT(city_grid_index(&g, h) == idx, "index %d", idx);
    double lat, lng;
    city_grid_center(&g, h, &lat, &lng);
    QUICK_ASSERT(city_grid_point_index(&g, lat, lng) == idx, "centre of %d",
                 idx);
  }
  /* Row-major from the south-west: index 0 is the westmost cell of the
   * southmost row; index 1 is east of it, index ncols north of it. */
  double la0, ln0, la1, ln1, lan, lnn;
  city_grid_center(&g, city_grid_hex(&g, 0), &la0, &ln0);
  city_grid_center(&g, city_grid_hex(&g, 1), &la1, &ln1);
  city_grid_center(&g, city_grid_hex(&g, g.ncols), &lan, &lnn);
  ck_assert_double_eq_tol(la1, la0, 1e-9);
  ck_assert_double_gt(ln1, ln0);
  ck_assert_double_gt(lan, la0);
  city_hex last = city_grid_hex(&g, g.n_cells - 1);
  city_hex out = {last.q + 1, last.r};
  ck_assert_int_eq(city_grid_index(&g, out), -1);
  city_hex first = city_grid_hex(&g, 0);
  city_hex below = {first.q, first.r - 1};
  ck_assert_int_eq(city_grid_index(&g, below), -1);
}
END_TEST

START_TEST(test_point_index) {
  city_grid g;
  grid_of(0, &g);
  ck_assert_int_ge(city_grid_point_index(&g, 40.75, -73.98), 0);
  ck_assert_int_eq(city_grid_point_index(&g, 0.0, 0.0), -1);
  ck_assert_int_eq(city_grid_point_index(&g, 41.5, -73.98), -1);
  ck_assert_int_eq(city_grid_point_index(&g, 40.75, -75.0), -1);
  ck_assert_int_eq(city_grid_point_index(&g, NAN, -73.98), -1);
  ck_assert_int_eq(city_grid_point_index(&g, 40.75, INFINITY), -1);
  ck_assert_int_eq(city_grid_point_index(&g, 89.0, 179.0), -1);
}
END_TEST

/* --- city_grid_polygon ---------------------------------------------------- */
START_TEST(test_polygon) {
  city_grid g;
  grid_of(_i, &g);
  for (int32_t idx = 0; idx < g.n_cells; idx += 11) {
    city_hex h = city_grid_hex(&g, idx);
    double lat[6], lng[6], clat, clng;
    city_grid_polygon(&g, h, lat, lng);
    city_grid_center(&g, h, &clat, &clng);
    double area2 = 0;
    for (int j = 0; j < 6; j++) {
      double d = rs_geo_haversine_r(clat, clng, lat[j], lng[j],
                                      boxes[_i].radius);
      ck_assert_double_le(fabs(d - g.edge_m) / g.edge_m, 0.005);
      /* Each vertex belongs to this cell (up to rounding on the edge):
       * pull it 1 % towards the centre and it is inside. */
      city_hex v = city_grid_cell(&g, lat[j] + 0.01 * (clat - lat[j]),
                                  lng[j] + 0.01 * (clng - lng[j]));
      ck_assert(v.q == h.q && v.r == h.r);
      int k = (j + 1) % 6;
      area2 += (lng[j] - clng) * (lat[k] - clat) - (lng[k] - clng) * (lat[j] - clat);
    }
    ck_assert_double_gt(area2, 0); /* counter-clockwise */
    ck_assert_double_gt(lat[0], clat); /* first vertex east-north-east */
    ck_assert_double_gt(lng[0], clng);
    ck_assert_double_eq_tol(lng[1], clng, 1e-9); /* then due north */
  }
}
END_TEST

/* --- city_hex_distance ------------------------------------------------------ */
START_TEST(test_hex_distance) {
  city_hex a = {0, 0}, b = {3, -1}, c = {-2, 5};
  ck_assert_int_eq(city_hex_distance(a, a), 0);
  ck_assert_int_eq(city_hex_distance(a, b), 3);
  ck_assert_int_eq(city_hex_distance(b, a), 3);
  ck_assert_int_eq(city_hex_distance(a, c), 5);
  ck_assert_int_eq(city_hex_distance(b, c), 6);
  /* Against the number of neighbour steps of a greedy walk. */
  pcg32 rng;
  pcg32_seed(&rng, 24u, 1u);
  for (int k = 0; k < 2000; k++) {
    city_hex p = {(int32_t)pcg32_bounded(&rng, 41) - 20,
                  (int32_t)pcg32_bounded(&rng, 41) - 20};
    city_hex q = {(int32_t)pcg32_bounded(&rng, 41) - 20,
                  (int32_t)pcg32_bounded(&rng, 41) - 20};
    int steps = 0;
    city_hex cur = p;
    while (cur.q != q.q || cur.r != q.r) {
      city_hex nb[6];
      city_hex_neighbors(cur, nb);
      int best = 0;
      for (int j = 1; j < 6; j++)
        if (city_hex_distance(nb[j], q) < city_hex_distance(nb[best], q)) best = j;
      QUICK_ASSERT(city_hex_distance(nb[best], q) ==
                       city_hex_distance(cur, q) - 1, "no step closer");
      cur = nb[best];
      steps++;
    }
    QUICK_ASSERT(steps == city_hex_distance(p, q), "%d steps", steps);
  }
}
END_TEST

/* --- city_hex_neighbors ------------------------------------------------------ */
START_TEST(test_neighbors) {
  city_grid g;
  grid_of(0, &g);
  city_hex h = city_grid_cell(&g, 40.75, -73.98), nb[6];
  city_hex_neighbors(h, nb);
  double clat, clng;
  city_grid_center(&g, h, &clat, &clng);
  double prev = -1;
  for (int j = 0; j < 6; j++) {
    ck_assert_int_eq(city_hex_distance(h, nb[j]), 1);
    for (int k = 0; k < j; k++) ck_assert(nb[j].q != nb[k].q || nb[j].r != nb[k].r);
    /* Counter-clockwise from east: bearings 0, 60, ..., 300 degrees. */
    double la, ln, x, y, cx, cy;
    city_grid_center(&g, nb[j], &la, &ln);
    rs_proj_forward(&g.proj, la, ln, &x, &y);
    rs_proj_forward(&g.proj, clat, clng, &cx, &cy);
    double ang = atan2(y - cy, x - cx) * 180.0 / 3.14159265358979323846;
    if (ang < -1e-9) ang += 360.0;
    ck_assert_double_eq_tol(ang, 60.0 * j, 1e-6);
    ck_assert_double_gt(ang, prev);
    prev = ang;
  }
}
END_TEST

/* --- city_hex_kring_size, city_hex_kring ---------------------------------- */
START_TEST(test_kring_size) {
  ck_assert_int_eq(city_hex_kring_size(0), 1);
  ck_assert_int_eq(city_hex_kring_size(1), 7);
  ck_assert_int_eq(city_hex_kring_size(2), 19);
  ck_assert_int_eq(city_hex_kring_size(3), 37);
  ck_assert_int_eq(city_hex_kring_size(10), 331);
  ck_assert_int_eq(city_hex_kring_size(-1), 0);
}
END_TEST

START_TEST(test_kring) {
  int32_t k = _i;
  city_hex h = {(int32_t)(7 * k) - 11, 5 - (int32_t)(3 * k)};
  int32_t size = city_hex_kring_size(k);
  city_hex *out = malloc((size_t)size * sizeof *out);
  ck_assert_ptr_nonnull(out);
  ck_assert_int_eq(city_hex_kring(h, k, out), size);
  ck_assert(out[0].q == h.q && out[0].r == h.r);
  /* Ring by ring: the j-th ring holds 6j cells at distance j, each a
   * neighbour of the one before it (the ring is walked, not scattered). */
  int32_t pos = 1;
  for (int32_t j = 1; j <= k; j++)
    for (int32_t m = 0; m < 6 * j; m++, pos++) {
      ck_assert_int_eq(city_hex_distance(h, out[pos]), j);
      if (m > 0) ck_assert_int_eq(city_hex_distance(out[pos - 1], out[pos]), 1);
    }
  ck_assert_int_eq(pos, size);
  /* All distinct and exactly the cells within k (brute force). */
  int32_t found = 0;
  for (int32_t dq = -k; dq <= k; dq++)
    for (int32_t dr = -k; dr <= k; dr++) {
      city_hex c = {h.q + dq, h.r + dr};
      int count = 0;
      for (int32_t i = 0; i < size; i++) count += out[i].q == c.q && out[i].r == c.r;
      if (city_hex_distance(h, c) <= k) {
        ck_assert_int_eq(count, 1);
        found++;
      } else {
        ck_assert_int_eq(count, 0);
      }
    }
  ck_assert_int_eq(found, size);
  /* A fixed order: the first ring starts south-west and turns
   * counter-clockwise. */
  if (k >= 1) {
    ck_assert(out[1].q == h.q && out[1].r == h.r - 1);
    ck_assert(out[2].q == h.q + 1 && out[2].r == h.r - 1);
  }
  free(out);
}
END_TEST

static Suite *hexgrid_suite(void) {
  Suite *s = suite_create("hexgrid");
  TCase *tc = tcase_create("city_grid_init");
  tcase_add_loop_test(tc, test_init_layout, 0, NBOXES);
  tcase_add_test(tc, test_init_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_grid_cell");
  tcase_add_loop_test(tc, test_cell_round_trip, 0, NBOXES);
  tcase_add_loop_test(tc, test_cell_nearest_center, 0, NBOXES);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_grid_center");
  tcase_add_loop_test(tc, test_center_spacing, 0, NBOXES);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_grid_index");
  tcase_add_loop_test(tc, test_index_round_trip, 0, NBOXES);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_grid_point_index");
  tcase_add_test(tc, test_point_index);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_grid_polygon");
  tcase_add_loop_test(tc, test_polygon, 0, NBOXES);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_hex_distance");
  tcase_add_test(tc, test_hex_distance);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_hex_neighbors");
  tcase_add_test(tc, test_neighbors);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_hex_kring_size");
  tcase_add_test(tc, test_kring_size);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_hex_kring");
  tcase_add_loop_test(tc, test_kring, 0, 6);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(hexgrid_suite()); }

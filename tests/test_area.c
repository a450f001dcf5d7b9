/*
 * Tests of city_data/area: rings refused for each reason with the area
 * unchanged; the point test against a brute-force reference (the parity of
 * the winding number, summed from angles) on random star-shaped,
 * holed and self-crossing rings; points on vertices and edges inside, and
 * adjacent polygons leaving no gap; the cell flags against brute force
 * (the overlap area of each hexagon with the area by Sutherland-Hodgman
 * clipping, and points sampled in each hexagon), every point of the area in
 * a cell in service; the invariant walker.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "city_data/area.h"
#include "city_data/hexgrid.h"
#include "tests/testutil.h"

/* Passing ck_asserts are logged: keep the loops to failures only. */
#define QUICK_ASSERT(expr, ...)                                              \
  do {                                                                       \
    if (!(expr)) ck_abort_msg("'" #expr "' failed: " __VA_ARGS__);           \
  } while (0)

#define PI 3.14159265358979323846
#define U CITY_AREA_UNIT_DEG

/* ------------------------------------------------------------ generators */

/* A ring of n points around (clat, clng): star-shaped (sorted angles,
 * radii in [0.3, 1] x r) or, when `tangled`, random angles in random order,
 * which crosses itself. Degrees, on the unit lattice. */
static void random_ring(pcg32 *rng, double clat, double clng, double r, int n, int tangled,
                        double *lat, double *lng) {
  double ang[64];
  /* Star-shaped: increasing angles less than pi apart, so the centre is
   * inside and sees every edge (a hole scaled about it stays inside). */
  for (int i = 0; i < n; i++)
    ang[i] = tangled ? 2 * PI * pcg32_double(rng) : 2 * PI * (i + 0.4 * pcg32_double(rng)) / n;
  for (int i = 0; i < n; i++) {
    double rr = r * (0.3 + 0.7 * pcg32_double(rng));
    lat[i] = nearbyint((clat + rr * sin(ang[i])) / U) * U;
    lng[i] = nearbyint((clng + rr * cos(ang[i])) / U) * U;
  }
}

/* The same ring scaled by s about its centre (a hole of a star ring). */
static void scaled(const double *lat, const double *lng, int n, double clat, double clng,
                   double s, double *olat, double *olng) {
  for (int i = 0; i < n; i++) {
    olat[i] = nearbyint((clat + s * (lat[i] - clat)) / U) * U;
    olng[i] = nearbyint((clng + s * (lng[i] - clng)) / U) * U;
  }
}

/* Up to three disjoint polygons inside [0, 0.3] x [0, 0.3] degrees, some
 * with a hole; `tangled` rings allowed when `allow_tangled`. */
static void random_area(pcg32 *rng, city_area *a, int allow_tangled) {
  city_area_clear(a);
  int np = 1 + (int)pcg32_bounded(rng, 3);
  for (int p = 0; p < np; p++) {
    double clat = 0.05 + 0.1 * p, clng = 0.05 + 0.2 * pcg32_double(rng);
    int n = 3 + (int)pcg32_bounded(rng, 30);
    int tangled = allow_tangled && pcg32_bounded(rng, 3) == 0;
    double lat[64], lng[64];
    city_area_why why;
    do {
      random_ring(rng, clat, clng, 0.045, n, tangled, lat, lng);
      why = city_area_add_ring(a, p, lat, lng, n);
    } while (why == CITY_AREA_FLAT || why == CITY_AREA_FEW_POINTS);
    ck_assert_int_eq(why, CITY_AREA_OK);
    if (!tangled && pcg32_bounded(rng, 2) == 0) {
      /* the hole: the ring scaled about its kernel point, which is inside
       * a star ring, reversed or not (the even-odd rule does not care) */
      double hl[64], hg[64];
      scaled(lat, lng, n, clat, clng, 0.4, hl, hg);
      if (city_area_add_ring(a, p, hl, hg, n) != CITY_AREA_OK) continue;
    }
  }
  rs_err e;
  ck_assert_msg(city_area_check(a, &e) == 0, "%s", e.msg);
}

/* Thin long triangles (needles, 2 to 30 m wide and kilometres long)
 * through [0, 0.3]^2: they cross cells with no vertex of either inside the
 * other, the case only the edge-crossing test catches. */
static void random_needles(pcg32 *rng, city_area *a) {
  city_area_clear(a);
  for (int p = 0; p < 6; p++) {
    double lat0 = 0.3 * pcg32_double(rng), lng0 = 0.3 * pcg32_double(rng);
    double th = 2 * PI * pcg32_double(rng), len = 0.05 + 0.1 * pcg32_double(rng);
    double w = (2 + 28 * pcg32_double(rng)) / 111000.0;
    double lat[3] = {lat0, lat0 + len * sin(th) + w * cos(th), lat0 + len * sin(th) - w * cos(th)};
    double lng[3] = {lng0, lng0 + len * cos(th) - w * sin(th), lng0 + len * cos(th) + w * sin(th)};
    for (int k = 0; k < 3; k++) {
      lat[k] = nearbyint(lat[k] / U) * U;
      lng[k] = nearbyint(lng[k] / U) * U;
    }
    ck_assert_int_eq(city_area_add_ring(a, p, lat, lng, 3), CITY_AREA_OK);
  }
}

/* ---------------------------------------------------- brute-force answers */

/* The parity of the winding number of every ring about p (units), summed
 * from the angles each edge subtends: the even-odd rule by another road.
 * Valid away from the boundary. */
static int brute_inside(const city_area *a, double px, double py) {
  long total = 0;
  for (int32_t r = 0; r < a->n_rings; r++) {
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    double sum = 0;
    for (int32_t i = s; i < t; i++) {
      int32_t j = i + 1 < t ? i + 1 : s;
      double ax = a->lng[i] - px, ay = a->lat[i] - py;
      double bx = a->lng[j] - px, by = a->lat[j] - py;
      sum += atan2(ax * by - ay * bx, ax * bx + ay * by);
    }
    total += lround(sum / (2 * PI));
  }
  return (int)(labs(total) % 2);
}

/* Distance (units) from p to the nearest edge of the area. */
static double edge_distance(const city_area *a, double px, double py) {
  double best = INFINITY;
  for (int32_t r = 0; r < a->n_rings; r++) {
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    for (int32_t i = s; i < t; i++) {
      int32_t j = i + 1 < t ? i + 1 : s;
      double ax = a->lng[i], ay = a->lat[i], bx = a->lng[j], by = a->lat[j];
      double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
      double k = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
      k = k < 0 ? 0 : k > 1 ? 1 : k;
      double ex = ax + k * dx - px, ey = ay + k * dy - py;
      double d = sqrt(ex * ex + ey * ey);
      if (d < best) best = d;
    }
  }
  return best;
}

/* Sutherland-Hodgman: the polygon (x, y, n) clipped by the convex
 * counter-clockwise polygon (cx, cy, 6); returns the clipped area. */
static double clipped_area(const double *x, const double *y, int n, const double *cx,
                           const double *cy) {
  double ax[256], ay[256], bx[256], by[256];
  int na = n;
  for (int i = 0; i < n; i++) ax[i] = x[i], ay[i] = y[i];
  for (int k = 0; k < 6 && na > 0; k++) {
    double ex = cx[k], ey = cy[k], fx = cx[(k + 1) % 6], fy = cy[(k + 1) % 6];
    int nb = 0;
    for (int i = 0; i < na; i++) {
      double px = ax[i], py = ay[i], qx = ax[(i + 1) % na], qy = ay[(i + 1) % na];
      double sp = (fx - ex) * (py - ey) - (fy - ey) * (px - ex);
      double sq = (fx - ex) * (qy - ey) - (fy - ey) * (qx - ex);
      if (sp >= 0) bx[nb] = px, by[nb] = py, nb++;
      if ((sp >= 0) != (sq >= 0)) {
        double t = sp / (sp - sq);
        bx[nb] = px + t * (qx - px);
        by[nb] = py + t * (qy - py);
        nb++;
      }
    }
    na = nb;
    for (int i = 0; i < na; i++) ax[i] = bx[i], ay[i] = by[i];
  }
  double s = 0;
  for (int i = 0; i < na; i++) s += ax[i] * ay[(i + 1) % na] - ax[(i + 1) % na] * ay[i];
  return fabs(s) / 2;
}

/* The overlap of a hexagon (units) with an area of disjoint polygons whose
 * second rings are holes inside their first (random_area without tangles). */
static double overlap(const city_area *a, const double *cx, const double *cy) {
  double total = 0;
  for (int32_t r = 0; r < a->n_rings; r++) {
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    double x[64], y[64];
    for (int32_t i = s; i < t; i++) x[i - s] = a->lng[i], y[i - s] = a->lat[i];
    int hole = r > 0 && a->ring_polygon[r] == a->ring_polygon[r - 1];
    total += (hole ? -1 : 1) * clipped_area(x, y, t - s, cx, cy);
  }
  return total;
}

/* ------------------------------------------------------ city_area_add_ring */

START_TEST(test_add_ring) {
  city_area a, before;
  city_area_clear(&a);
  const double sq_lat[5] = {1, 1, 2, 2, 1}, sq_lng[5] = {1, 2, 2, 1, 1};
  /* closed: the closing point is not kept */
  ck_assert_int_eq(city_area_add_ring(&a, 0, sq_lat, sq_lng, 5), CITY_AREA_OK);
  ck_assert_int_eq(a.n_points, 4);
  ck_assert_int_eq(a.n_rings, 1);
  ck_assert_int_eq(a.n_polygons, 1);
  double la, ln;
  city_area_point(&a, 2, &la, &ln);
  ck_assert(la == 2.0 && ln == 2.0);
  /* open: closed implicitly, the same ring */
  ck_assert_int_eq(city_area_add_ring(&a, 1, sq_lat, sq_lng, 4), CITY_AREA_OK);
  ck_assert_int_eq(a.n_points, 8);
  ck_assert_int_eq(city_area_ring_size(&a, 1), 4);
  memcpy(&before, &a, sizeof a);
  const double two_lat[4] = {1, 1, 2, 1}, two_lng[4] = {1, 1, 2, 1};
  ck_assert_int_eq(city_area_add_ring(&a, 1, two_lat, two_lng, 4), CITY_AREA_FEW_POINTS);
  ck_assert_int_eq(city_area_add_ring(&a, 1, two_lat, two_lng, 2), CITY_AREA_FEW_POINTS);
  const double line_lat[4] = {1, 2, 3, 4}, line_lng[4] = {1, 2, 3, 4};
  ck_assert_int_eq(city_area_add_ring(&a, 1, line_lat, line_lng, 4), CITY_AREA_FLAT);
  /* points closer than the unit are one point */
  const double near_lat[3] = {1, 1 + 1e-8, 1}, near_lng[3] = {1, 1, 1 + 2e-8};
  ck_assert_int_eq(city_area_add_ring(&a, 1, near_lat, near_lng, 3), CITY_AREA_FEW_POINTS);
  const double nan_lat[3] = {1, NAN, 2}, nan_lng[3] = {1, 2, 2};
  ck_assert_int_eq(city_area_add_ring(&a, 1, nan_lat, nan_lng, 3), CITY_AREA_BAD_POINT);
  const double far_lat[3] = {1, 95, 2}, far_lng[3] = {1, 2, 2};
  ck_assert_int_eq(city_area_add_ring(&a, 1, far_lat, far_lng, 3), CITY_AREA_BAD_POINT);
  /* polygon 1 is the last one, 2 the next: 3 and 0 are neither */
  ck_assert_int_eq(city_area_add_ring(&a, 3, sq_lat, sq_lng, 4), CITY_AREA_BAD_POLYGON);
  ck_assert_int_eq(city_area_add_ring(&a, 0, sq_lat, sq_lng, 4), CITY_AREA_BAD_POLYGON);
  ck_assert_int_eq(city_area_add_ring(&a, -1, sq_lat, sq_lng, 4), CITY_AREA_BAD_POLYGON);
  ck_assert_mem_eq(&a, &before, sizeof a); /* every refusal left it unchanged */
  for (int w = CITY_AREA_OK; w <= CITY_AREA_BAD_POLYGON; w++)
    ck_assert(strlen(city_area_why_text((city_area_why)w)) > 1);
}
END_TEST

START_TEST(test_add_ring_full) {
  city_area a;
  city_area_clear(&a);
  static double lat[CITY_AREA_MAX_POINTS + 2], lng[CITY_AREA_MAX_POINTS + 2];
  int32_t n = CITY_AREA_MAX_POINTS;
  for (int32_t i = 0; i < n; i++) {
    lat[i] = 10 + 0.5 * sin(2 * PI * i / n);
    lng[i] = 20 + 0.5 * cos(2 * PI * i / n);
  }
  lat[n] = lat[0];
  lng[n] = lng[0];
  /* the closing point does not count against the limit */
  ck_assert_int_eq(city_area_add_ring(&a, 0, lat, lng, n + 1), CITY_AREA_OK);
  ck_assert_int_eq(a.n_points, CITY_AREA_MAX_POINTS);
  city_area before;
  memcpy(&before, &a, sizeof a);
  ck_assert_int_eq(city_area_add_ring(&a, 1, lat, lng, 3), CITY_AREA_FULL);
  ck_assert_mem_eq(&a, &before, sizeof a);
  city_area_clear(&a);
  ck_assert_int_eq(city_area_add_ring(&a, 0, lat, lng, n + 2), CITY_AREA_FULL);
  for (int r = 0; r < CITY_AREA_MAX_RINGS; r++)
    ck_assert_int_eq(city_area_add_ring(&a, r, lat, lng, 3), CITY_AREA_OK);
  ck_assert_int_eq(city_area_add_ring(&a, CITY_AREA_MAX_RINGS, lat, lng, 3), CITY_AREA_FULL);
  rs_err e;
  ck_assert_int_eq(city_area_check(&a, &e), 0);
}
END_TEST

/* ------------------------------------------------------ city_area_contains */

/* Random areas, random points: the crossing rule agrees with the winding
 * parity wherever the point is clear of the boundary. */
START_TEST(test_contains_brute) {
  pcg32 rng;
  pcg32_seed(&rng, 1000 + (uint64_t)_i, 7);
  for (int round = 0; round < 20; round++) {
    city_area a;
    random_area(&rng, &a, 1);
    int in = 0, checked = 0;
    for (int k = 0; k < 2000; k++) {
      double lat = nearbyint(0.32 * pcg32_double(&rng) / U) * U - 0.01;
      double lng = nearbyint(0.32 * pcg32_double(&rng) / U) * U - 0.01;
      double px = nearbyint(lng / U), py = nearbyint(lat / U);
      if (edge_distance(&a, px, py) < 2) continue;
      int got = city_area_contains(&a, lat, lng);
      QUICK_ASSERT(got == brute_inside(&a, px, py), "seed %d round %d point %.6f %.6f", _i,
                   round, lat, lng);
      in += got;
      checked++;
    }
    QUICK_ASSERT(checked > 1800 && in > 0 && in < checked, "round %d: %d of %d inside",
                 round, in, checked);
  }
}
END_TEST

/* Every vertex, and every lattice point of every edge, is inside. */
START_TEST(test_contains_boundary) {
  pcg32 rng;
  pcg32_seed(&rng, 2000 + (uint64_t)_i, 7);
  for (int round = 0; round < 20; round++) {
    city_area a;
    random_area(&rng, &a, 1);
    for (int32_t r = 0; r < a.n_rings; r++) {
      int32_t s = a.ring_start[r], t = a.ring_start[r + 1];
      for (int32_t i = s; i < t; i++) {
        int32_t j = i + 1 < t ? i + 1 : s;
        long dx = a.lng[j] - a.lng[i], dy = a.lat[j] - a.lat[i];
        long g = labs(dx), h = labs(dy);
        while (h) { /* gcd: the edge's lattice points are a + k (dx, dy) / g */
          long m = g % h;
          g = h;
          h = m;
        }
        long step = g > 50 ? g / 50 : 1;
        for (long k = 0; g > 0 && k <= g; k += step) {
          double lat = (a.lat[i] + k * (dy / g)) * U, lng = (a.lng[i] + k * (dx / g)) * U;
          QUICK_ASSERT(city_area_contains(&a, lat, lng), "round %d ring %d edge %d k %ld", round,
                       r, i, k);
        }
      }
    }
  }
}
END_TEST

/* Squares in units of 1e-6 degree: holes, shared edges, outside points. */
START_TEST(test_contains_cases) {
  city_area a;
  city_area_clear(&a);
  ck_assert(!city_area_contains(&a, 0, 0)); /* the empty area holds nothing */
  const double o_lat[4] = {0, 0, 10 * U, 10 * U}, o_lng[4] = {0, 10 * U, 10 * U, 0};
  const double h_lat[4] = {3 * U, 7 * U, 7 * U, 3 * U}, h_lng[4] = {3 * U, 3 * U, 7 * U, 7 * U};
  const double n_lat[4] = {0, 0, 10 * U, 10 * U}, n_lng[4] = {10 * U, 20 * U, 20 * U, 10 * U};
  ck_assert_int_eq(city_area_add_ring(&a, 0, o_lat, o_lng, 4), CITY_AREA_OK);
  ck_assert_int_eq(city_area_add_ring(&a, 0, h_lat, h_lng, 4), CITY_AREA_OK);
  ck_assert_int_eq(city_area_add_ring(&a, 1, n_lat, n_lng, 4), CITY_AREA_OK);
  static const struct {
    double y, x;
    int in;
  } c[] = {
      {5, 1, 1},   {5, 5, 0},  {5, 3, 1},  {3, 5, 1},   {7, 7, 1},  {4, 6, 0},
      {5, 10, 1},  {0, 10, 1}, {10, 10, 1}, {5, 15, 1}, {5, 20, 1}, {5, 21, 0},
      {5, -1, 0},  {11, 5, 0}, {-1, 5, 0}, {0, 0, 1},   {10, 20, 1}, {10, 21, 0},
      {2.4, 5, 1}, {3.6, 5, 0}, {2.6, 5, 1},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    ck_assert_msg(city_area_contains(&a, c[i].y * U, c[i].x * U) == c[i].in,
                  "(%g, %g) should be %s", c[i].y, c[i].x, c[i].in ? "in" : "out");
  ck_assert(!city_area_contains(&a, NAN, 0));
  ck_assert(!city_area_contains(&a, 0, INFINITY));
  /* A triangle with a vertex on the test point's latitude, the ray through
   * it: counted once. */
  city_area t;
  city_area_clear(&t);
  const double t_lat[3] = {0, 5 * U, 10 * U}, t_lng[3] = {0, 10 * U, 0};
  ck_assert_int_eq(city_area_add_ring(&t, 0, t_lat, t_lng, 3), CITY_AREA_OK);
  ck_assert(city_area_contains(&t, 5 * U, 2 * U));
  ck_assert(!city_area_contains(&t, 5 * U, 12 * U));
  ck_assert(!city_area_contains(&t, 5 * U, -2 * U));
  ck_assert(city_area_contains(&t, 5 * U, 10 * U));
}
END_TEST

/* ----------------------------------------------------------- cell flags */

/* A grid over [-0.02, 0.32]^2 degrees with 400 m cells. */
static void test_grid(city_grid *g) {
  ck_assert_int_eq(city_grid_init(g, -0.02, -0.02, 0.32, 0.32, 400, 6371008.8), 0);
}

/* The flags against the overlap area of each hexagon, and against points
 * sampled in it. */
START_TEST(test_cells_brute) {
  pcg32 rng;
  pcg32_seed(&rng, 3000 + (uint64_t)_i, 7);
  city_grid g;
  test_grid(&g);
  uint8_t *flags = malloc((size_t)g.n_cells);
  ck_assert_ptr_nonnull(flags);
  for (int round = 0; round < 6; round++) {
    city_area a;
    /* needles may cross each other, where the even-odd rule and overlap()
     * part ways: a crossing of two 30 m needles is far below a cell */
    if (round % 2) random_needles(&rng, &a);
    else random_area(&rng, &a, 0);
    int32_t n = city_area_cells(&a, &g, flags), sum = 0;
    for (int32_t c = 0; c < g.n_cells; c++) {
      sum += flags[c];
      city_hex h = city_grid_hex(&g, c);
      QUICK_ASSERT(flags[c] == city_area_meets_cell(&a, &g, h), "cell %d", c);
      double hl[6], hg[6], cx[6], cy[6];
      city_grid_polygon(&g, h, hl, hg);
      for (int k = 0; k < 6; k++) cx[k] = nearbyint(hg[k] / U), cy[k] = nearbyint(hl[k] / U);
      double hex_area = clipped_area(cx, cy, 6, cx, cy);
      double ov = overlap(&a, cx, cy);
      if (ov > 1e-9 * hex_area)
        QUICK_ASSERT(flags[c], "round %d cell %d overlaps %.3g of %.3g but is out", round, c,
                     ov, hex_area);
      if (flags[c])
        QUICK_ASSERT(ov > 0, "round %d cell %d is in service with no overlap", round, c);
      /* points sampled in the hexagon: any inside the area puts it in */
      double clat, clng;
      city_grid_center(&g, h, &clat, &clng);
      for (int s = 0; s < 40 && !flags[c]; s++) {
        double lat = clat + (pcg32_double(&rng) - 0.5) * 0.008;
        double lng = clng + (pcg32_double(&rng) - 0.5) * 0.008;
        if (city_grid_point_index(&g, lat, lng) != c) continue;
        QUICK_ASSERT(!city_area_contains(&a, lat, lng), "round %d cell %d: a point inside", round,
                     c);
      }
    }
    ck_assert_int_eq(n, sum);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, g.n_cells);
    /* every point of the area lies in a cell in service */
    for (int k = 0; k < 3000; k++) {
      double lat = 0.3 * pcg32_double(&rng), lng = 0.3 * pcg32_double(&rng);
      if (!city_area_contains(&a, lat, lng)) continue;
      int32_t c = city_grid_point_index(&g, lat, lng);
      QUICK_ASSERT(c >= 0 && flags[c], "round %d: %.6f %.6f inside, cell %d out", round, lat, lng,
                   c);
    }
  }
  free(flags);
}
END_TEST

/* A polygon smaller than a cell, inside it, puts that one cell in service;
 * a cell inside a large polygon is in service; the empty area has none. */
START_TEST(test_cells_cases) {
  city_grid g;
  test_grid(&g);
  uint8_t *flags = malloc((size_t)g.n_cells);
  ck_assert_ptr_nonnull(flags);
  city_area a;
  city_area_clear(&a);
  ck_assert_int_eq(city_area_cells(&a, &g, flags), 0);
  int32_t c0 = city_grid_point_index(&g, 0.15, 0.15);
  double clat, clng;
  city_grid_center(&g, city_grid_hex(&g, c0), &clat, &clng);
  const double lat[3] = {clat, clat + 0.0005, clat}, lng[3] = {clng, clng, clng + 0.0005};
  ck_assert_int_eq(city_area_add_ring(&a, 0, lat, lng, 3), CITY_AREA_OK);
  ck_assert_int_eq(city_area_cells(&a, &g, flags), 1);
  ck_assert_int_eq(flags[c0], 1);
  city_area_clear(&a);
  const double big_lat[4] = {0, 0, 0.3, 0.3}, big_lng[4] = {0, 0.3, 0.3, 0};
  ck_assert_int_eq(city_area_add_ring(&a, 0, big_lat, big_lng, 4), CITY_AREA_OK);
  int32_t n = city_area_cells(&a, &g, flags);
  ck_assert_int_eq(flags[c0], 1);
  /* the box's cells: all but the grid's margin and beyond */
  ck_assert_int_gt(n, g.n_cells / 2);
  ck_assert_int_lt(n, g.n_cells);
  free(flags);
}
END_TEST

/* ------------------------------------------------------- city_area_check */

START_TEST(test_check) {
  pcg32 rng;
  pcg32_seed(&rng, 4000, 7);
  city_area a, ok;
  random_area(&rng, &ok, 1);
  rs_err e;
  ck_assert_int_eq(city_area_check(&ok, &e), 0);
  memcpy(&a, &ok, sizeof a);
  a.n_points++;
  ck_assert_int_eq(city_area_check(&a, &e), RS_EINVAL);
  memcpy(&a, &ok, sizeof a);
  a.n_polygons++;
  ck_assert_int_eq(city_area_check(&a, &e), RS_EINVAL);
  memcpy(&a, &ok, sizeof a);
  a.lat[0] = a.max_lat + 1;
  ck_assert_int_eq(city_area_check(&a, &e), RS_EINVAL);
  memcpy(&a, &ok, sizeof a);
  a.lat[1] = a.lat[2] = a.lat[0];
  a.lng[1] = a.lng[2] = a.lng[0];
  if (city_area_ring_size(&a, 0) == 3) ck_assert_int_eq(city_area_check(&a, &e), RS_EINVAL);
  memcpy(&a, &ok, sizeof a);
  a.ring_polygon[0] = 1;
  ck_assert_int_eq(city_area_check(&a, &e), RS_EINVAL);
}
END_TEST

static Suite *area_suite(void) {
  Suite *s = suite_create("area");
  TCase *tc = tcase_create("add_ring");
  tcase_add_test(tc, test_add_ring);
  tcase_add_test(tc, test_add_ring_full);
  suite_add_tcase(s, tc);
  tc = tcase_create("contains");
  tcase_add_loop_test(tc, test_contains_brute, 0, 10);
  tcase_add_loop_test(tc, test_contains_boundary, 0, 5);
  tcase_add_test(tc, test_contains_cases);
  suite_add_tcase(s, tc);
  tc = tcase_create("cells");
  tcase_add_loop_test(tc, test_cells_brute, 0, 5);
  tcase_add_test(tc, test_cells_cases);
  suite_add_tcase(s, tc);
  tc = tcase_create("check");
  tcase_add_test(tc, test_check);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(area_suite()); }

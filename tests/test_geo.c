/*
 * Tests of city_data/geo: haversine against published distances (Williams'
 * Aviation Formulary LAX-JFK example, airport reference points), symmetry,
 * zero, radius scaling; the projection's scale, its round trip and its
 * agreement with haversine over city distances.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "base/rs_geo.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

/* LAX and JFK airport reference points (FAA). */
#define LAX_LAT 33.9425
#define LAX_LNG -118.408056
#define JFK_LAT 40.639722
#define JFK_LNG -73.778889

START_TEST(test_haversine_known) {
  /* Mean radius: 3,974 km between the airports. */
  double d = rs_geo_haversine(LAX_LAT, LAX_LNG, JFK_LAT, JFK_LNG);
  ck_assert_double_eq_tol(d, 3974.2e3, 1e3);
  /* One degree along the equator and along a meridian: R * pi / 180. */
  double deg = RS_EARTH_RADIUS_M * 3.14159265358979323846 / 180.0;
  ck_assert_double_eq_tol(rs_geo_haversine(0, 0, 0, 1), deg, 1e-6);
  ck_assert_double_eq_tol(rs_geo_haversine(0, 0, 1, 0), deg, 1e-6);
  /* Antipodes: half the circumference, with no NaN from rounding (asin near
   * 1 amplifies the last bit of its argument to ~0.1 m). */
  double half = rs_geo_haversine(10, 20, -10, -160);
  ck_assert_double_eq_tol(half, RS_EARTH_RADIUS_M * 3.14159265358979323846,
                          1.0);
}
END_TEST

START_TEST(test_haversine_symmetric_zero) {
  pcg32 rng;
  pcg32_seed(&rng, 11u, 1u);
  for (int i = 0; i < 1000; i++) {
    double a = pcg32_double(&rng) * 170 - 85, b = pcg32_double(&rng) * 360 - 180;
    double c = pcg32_double(&rng) * 170 - 85, d = pcg32_double(&rng) * 360 - 180;
    ck_assert_double_eq(rs_geo_haversine(a, b, c, d),
                        rs_geo_haversine(c, d, a, b));
    ck_assert_double_eq(rs_geo_haversine(a, b, a, b), 0.0);
    ck_assert(rs_geo_haversine(a, b, c, d) >= 0.0);
  }
}
END_TEST

START_TEST(test_haversine_radius) {
  /* Aviation Formulary: LAX (33 57'N, 118 24'W) to JFK (40 38'N, 73 47'W)
   * is 0.623585 radians of arc. */
  double arc = rs_geo_haversine_r(33 + 57 / 60.0, -(118 + 24 / 60.0),
                                    40 + 38 / 60.0, -(73 + 47 / 60.0), 1.0);
  ck_assert_double_eq_tol(arc, 0.623585, 2e-6);
  /* Distances scale linearly with the radius. */
  double m = rs_geo_haversine_r(LAX_LAT, LAX_LNG, JFK_LAT, JFK_LNG,
                                  RS_EARTH_RADIUS_M);
  double k = rs_geo_haversine_r(LAX_LAT, LAX_LNG, JFK_LAT, JFK_LNG,
                                  RS_EARTH_RADIUS_KDD_M);
  ck_assert_double_eq_tol(k / m, RS_EARTH_RADIUS_KDD_M / RS_EARTH_RADIUS_M,
                          1e-12);
  ck_assert_double_eq(rs_geo_haversine(1, 2, 3, 4),
                      rs_geo_haversine_r(1, 2, 3, 4, RS_EARTH_RADIUS_M));
}
END_TEST

START_TEST(test_proj_init) {
  rs_proj p;
  rs_proj_init(&p, 60.0, 10.0, RS_EARTH_RADIUS_M);
  double deg = RS_EARTH_RADIUS_M * 3.14159265358979323846 / 180.0;
  ck_assert_double_eq_tol(p.ky, deg, 1e-6);
  ck_assert_double_eq_tol(p.kx, deg * 0.5, 1e-6); /* cos 60 = 1/2 */
  ck_assert_double_eq(p.lat0, 60.0);
  ck_assert_double_eq(p.lng0, 10.0);
  ck_assert_double_eq(p.radius_m, RS_EARTH_RADIUS_M);
}
END_TEST

START_TEST(test_proj_forward) {
  rs_proj p;
  rs_proj_init(&p, 40.78, -73.96, RS_EARTH_RADIUS_M);
  double x, y;
  rs_proj_forward(&p, 40.78, -73.96, &x, &y);
  ck_assert_double_eq(x, 0.0);
  ck_assert_double_eq(y, 0.0);
  /* Over a city, planar distance matches haversine within 0.3 %. */
  pcg32 rng;
  pcg32_seed(&rng, 12u, 1u);
  for (int i = 0; i < 2000; i++) {
    double la1 = 40.68 + pcg32_double(&rng) * 0.2;
    double ln1 = -74.05 + pcg32_double(&rng) * 0.2;
    double la2 = 40.68 + pcg32_double(&rng) * 0.2;
    double ln2 = -74.05 + pcg32_double(&rng) * 0.2;
    double x1, y1, x2, y2;
    rs_proj_forward(&p, la1, ln1, &x1, &y1);
    rs_proj_forward(&p, la2, ln2, &x2, &y2);
    double planar = hypot(x2 - x1, y2 - y1);
    double gc = rs_geo_haversine(la1, ln1, la2, ln2);
    if (gc > 100.0) ck_assert_double_le(fabs(planar - gc) / gc, 0.003);
  }
}
END_TEST

START_TEST(test_proj_inverse) {
  rs_proj p;
  rs_proj_init(&p, -30.6, 104.06, RS_EARTH_RADIUS_KDD_M);
  pcg32 rng;
  pcg32_seed(&rng, 13u, 1u);
  for (int i = 0; i < 10000; i++) {
    double lat = -31 + pcg32_double(&rng), lng = 103.5 + pcg32_double(&rng);
    double x, y, lat2, lng2;
    rs_proj_forward(&p, lat, lng, &x, &y);
    rs_proj_inverse(&p, x, y, &lat2, &lng2);
    ck_assert_double_eq_tol(lat2, lat, 1e-11);
    ck_assert_double_eq_tol(lng2, lng, 1e-11);
  }
}
END_TEST

static Suite *geo_suite(void) {
  Suite *s = suite_create("geo");
  TCase *tc = tcase_create("rs_geo_haversine");
  tcase_add_test(tc, test_haversine_known);
  tcase_add_test(tc, test_haversine_symmetric_zero);
  suite_add_tcase(s, tc);
  tc = tcase_create("rs_geo_haversine_r");
  tcase_add_test(tc, test_haversine_radius);
  suite_add_tcase(s, tc);
  tc = tcase_create("rs_proj_init");
  tcase_add_test(tc, test_proj_init);
  suite_add_tcase(s, tc);
  tc = tcase_create("rs_proj_forward");
  tcase_add_test(tc, test_proj_forward);
  suite_add_tcase(s, tc);
  tc = tcase_create("rs_proj_inverse");
  tcase_add_test(tc, test_proj_inverse);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(geo_suite()); }

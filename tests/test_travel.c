/*
 * Tests of city_data/travel: the great-circle backend against hand
 * computations (haversine x detour at the hour's speed, the pickup from a
 * measured distance, positions part-way along a drive), the trip model of a
 * record (recorded time, distance and fare against modelled ones, the
 * clamps), and the interface's promises: pure functions (same inputs, same
 * bits) and nodes absent.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "city_data/city.h"
#include "city_data/travel.h"
#include "tests/testutil.h"

static const char city_json[] =
    "{\"name\": \"tcity\", \"bbox\": {\"min_lat\": 40.70, \"min_lng\": -74.02,"
    " \"max_lat\": 40.80, \"max_lng\": -73.90}, \"hex_edge_m\": 600,"
    " \"utc_offset_minutes\": 0, \"speed_mps_by_hour\": [1,2,3,4,5,6,7,8,9,10,11,12,"
    "13,14,15,16,17,18,19,20,21,22,23,24], \"detour_factor\": 1.25, \"fare\": {\"base\": 2.5,"
    " \"per_km\": 1.5, \"per_minute\": 0.2, \"minimum\": 3}, \"default_fleet\": 10}";

#define MONDAY 1454284800LL /* 2016-02-01 00:00 local */

static city_def city;
static city_travel tm;

static void setup(void) {
  rs_err e;
  ck_assert_msg(city_def_parse(city_json, "test", &city, &e) == 0, "%s", e.msg);
  city_travel_gc(&city, &tm);
}

static void teardown(void) { city_travel_free(&tm); }

static city_loc at(double lat, double lng) {
  city_loc l;
  city_travel_loc(&tm, lat, lng, &l);
  return l;
}

START_TEST(gc_leg_by_hand) {
  pcg32 r;
  pcg32_stream(&r, 3, 3);
  for (int k = 0; k < 10000; k++) {
    city_loc a = at(40.70 + 0.1 * pcg32_double(&r), -74.02 + 0.12 * pcg32_double(&r));
    city_loc b = at(40.70 + 0.1 * pcg32_double(&r), -74.02 + 0.12 * pcg32_double(&r));
    int64_t t = MONDAY + (int64_t)pcg32_bounded(&r, 86400);
    city_leg leg;
    city_travel_leg(&tm, &a, &b, t, &leg);
    double m = rs_geo_haversine_r(a.lat, a.lng, b.lat, b.lng, city.earth_radius_m) * 1.25;
    ck_assert_double_eq(leg.metres, m);
    /* the hour's speed is hour + 1 m/s in this city */
    ck_assert_double_eq(leg.secs, m / (double)((t - MONDAY) / 3600 + 1));
    ck_assert_int_eq(a.node, -1);
    /* pure: the same call gives the same bits */
    city_leg again;
    city_travel_leg(&tm, &a, &b, t, &again);
    ck_assert(again.secs == leg.secs && again.metres == leg.metres);
  }
}
END_TEST

START_TEST(gc_pickup_uses_the_measured_distance) {
  city_loc a = at(40.75, -74.0), b = at(40.76, -73.99);
  city_leg leg;
  city_travel_pickup(&tm, &a, &b, 1000.0, MONDAY + 8 * 3600 + 5, &leg);
  ck_assert_double_eq(leg.metres, 1250.0);
  ck_assert_double_eq(leg.secs, 1250.0 / 9.0);
  /* the same drive measured by haversine: within the chord's 1e-12 */
  double gc = rs_geo_haversine_r(a.lat, a.lng, b.lat, b.lng, city.earth_radius_m);
  city_leg p, l;
  city_travel_pickup(&tm, &a, &b, gc, MONDAY, &p);
  city_travel_leg(&tm, &a, &b, MONDAY, &l);
  ck_assert_double_eq_tol(p.secs, l.secs, 1e-9 * l.secs);
}
END_TEST

START_TEST(gc_position_along_a_drive) {
  city_loc a = at(40.70, -74.00), b = at(40.80, -73.90), p;
  double driven;
  city_travel_position(&tm, &a, &b, 100, 300, 150, &p, &driven);
  ck_assert_double_eq_tol(p.lat, 40.725, 1e-12);
  ck_assert_double_eq_tol(p.lng, -73.975, 1e-12);
  ck_assert_int_eq(p.node, -1);
  ck_assert_double_eq(driven, rs_geo_haversine_r(40.70, -74.00, p.lat, p.lng,
                                                 city.earth_radius_m) * 1.25);
  /* before the start and after the end: at the ends */
  city_travel_position(&tm, &a, &b, 100, 300, 50, &p, &driven);
  ck_assert(p.lat == a.lat && p.lng == a.lng && driven == 0);
  city_travel_position(&tm, &a, &b, 100, 300, 400, &p, &driven);
  ck_assert(p.lat == b.lat && p.lng == b.lng);
  /* a drive of no time is over at once */
  city_travel_position(&tm, &a, &b, 100, 100, 100, &p, &driven);
  ck_assert(p.lat == b.lat && p.lng == b.lng);
}
END_TEST

START_TEST(trip_model_of_records) {
  city_loc a = at(40.72, -74.0), b = at(40.78, -73.95);
  int64_t t0 = MONDAY + 10 * 3600 + 30; /* 11 m/s */
  double gc = rs_geo_haversine_r(a.lat, a.lng, b.lat, b.lng, city.earth_radius_m);
  city_trip_model m;
  /* nothing recorded: all modelled */
  city_travel_trip(&tm, &a, &b, t0, -1, NAN, NAN, &m);
  ck_assert(m.modelled_duration && m.modelled_fare);
  ck_assert_double_eq(m.road_m, gc * 1.25);
  ck_assert_int_eq(m.duration_s, (int32_t)ceil(gc * 1.25 / 11.0));
  ck_assert_double_eq_tol(m.fare, 2.5 + 1.5 * gc * 1.25 / 1000 + 0.2 * (gc * 1.25 / 11.0) / 60,
                          1e-9);
  /* a recorded dropoff and fare are kept */
  city_travel_trip(&tm, &a, &b, t0, t0 + 900, 17.5, NAN, &m);
  ck_assert(!m.modelled_duration && !m.modelled_fare);
  ck_assert_int_eq(m.duration_s, 900);
  ck_assert_double_eq(m.fare, 17.5);
  /* a recorded distance sets the length, the time follows the hour's speed,
   * and the fare is the rule's for both */
  city_travel_trip(&tm, &a, &b, t0, -1, NAN, 5500.0, &m);
  ck_assert_double_eq(m.road_m, 5500.0);
  ck_assert_int_eq(m.duration_s, 500);
  ck_assert_double_eq_tol(m.fare, 2.5 + 1.5 * 5.5 + 0.2 * 500.0 / 60, 1e-9);
  /* clamps: at least 1 s (the same point), at most a day, a fare above the
   * minimum */
  city_travel_trip(&tm, &a, &a, t0, -1, NAN, NAN, &m);
  ck_assert_int_eq(m.duration_s, 1);
  ck_assert_double_ge(m.fare, 3.0);
  city_travel_trip(&tm, &a, &b, t0, t0 + 10 * 86400, NAN, NAN, &m);
  ck_assert_int_eq(m.duration_s, CITY_TRIP_MAX_S);
  /* a dropoff at or before the request is not a recorded time */
  city_travel_trip(&tm, &a, &b, t0, t0, NAN, NAN, &m);
  ck_assert(m.modelled_duration);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("travel");
  TCase *tc = tcase_create("great-circle");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, gc_leg_by_hand);
  tcase_add_test(tc, gc_pickup_uses_the_measured_distance);
  tcase_add_test(tc, gc_position_along_a_drive);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_travel_trip");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, trip_model_of_records);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

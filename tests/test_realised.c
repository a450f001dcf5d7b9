/*
 * Tests of value/realised: a tiny run computed by hand (two drivers, three
 * trips, the discount of the idle gap and the fare spread over the next
 * ride), then random runs against a naive reference that sums every later
 * trip of the driver directly (no backward recursion) and computes the
 * by-hour means, the spread of cell means and their correlation from the
 * definitions; and the refusal of unsorted trips.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "city_data/city.h"
#include "tests/testutil.h"
#include "value/realised.h"

/* A small city of its own (600 m hexagons over about 2.2 x 2.2 km). */
static const char city_json[] =
    "{\"name\": \"rlcity\", \"bbox\": {\"min_lat\": 40.74, \"min_lng\": -74.00,"
    " \"max_lat\": 40.76, \"max_lng\": -73.974}, \"hex_edge_m\": 600,"
    " \"utc_offset_minutes\": 0, \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5,"
    "5,5,5,5,5,5,5,5,5,5,5,5], \"detour_factor\": 1.3, \"fare\": {\"base\": 2.5,"
    " \"per_km\": 1.5, \"per_minute\": 0, \"minimum\": 2.5}, \"default_fleet\": 10}";

#define MONDAY 1454284800LL /* 2016-02-01 00:00 local */
#define H8 (MONDAY + 8 * 3600)

static city_grid grid;

static void setup(void) {
  city_def d;
  rs_err e = {0};
  ck_assert_msg(city_def_parse(city_json, "test", &d, &e) == 0, "%s", e.msg);
  ck_assert_msg(city_def_grid(&d, &grid, &e) == 0, "%s", e.msg);
  ck_assert_int_ge(grid.n_cells, 8);
}

static val_table *new_table(double gamma) {
  val_config c;
  val_config_defaults(&c);
  c.gamma = gamma;
  val_table *t = NULL;
  rs_err e = {0};
  ck_assert_msg(val_table_new(&grid, &c, &t, &e) == 0, "%s", e.msg);
  return t;
}

/* The fare R spread over a ride of s seconds, discounted to its start:
 * R (1 - g^(s/600)) / ((s/600) ln(1/g)), written out for the hand case. */
static double spread(double g, double fare, double s) {
  double x = s / 600.0;
  return fare * (1 - pow(g, x)) / (x * log(1 / g));
}

/* Driver 0: trip A 08:10-08:20 (fare 10, ends in cell 2), trip B
 * 08:25-08:30 (fare 6, cell 5). Driver 1: trip C 08:05-08:18 (fare 8,
 * cell 2), nothing after. The states are the three dropoffs; only A's is
 * followed by income: B's fare spread over 300 s, discounted over the 300 s
 * gap, 0.9^0.5 x 6 (1 - 0.9^0.5) / (0.5 ln(1 / 0.9)). */
START_TEST(by_hand) {
  val_table *t = new_table(0.9);
  int32_t s20 = val_table_slot(t, H8 + 1200), s30 = val_table_slot(t, H8 + 1800),
          s18 = val_table_slot(t, H8 + 1080);
  val_table_set(t, 0, s20, 2, 30.0, 1);
  val_table_set(t, 0, s30, 5, 12.0, 1);
  val_table_set(t, 0, s18, 2, 24.0, 1);
  val_done_trip x[3] = {
    {0, H8 + 600, H8 + 1200, 2, 10.0},
    {0, H8 + 1500, H8 + 1800, 5, 6.0},
    {1, H8 + 300, H8 + 1080, 2, 8.0},
  };
  val_realised_hour h[24];
  rs_err e = {0};
  ck_assert_msg(val_realised_by_hour(t, x, 3, h, &e) == 0, "%s", e.msg);
  double ga = sqrt(0.9) * spread(0.9, 6.0, 300.0);
  ck_assert_double_eq_tol(ga, 0.9486833 * 6 * (1 - 0.9486833) / (0.5 * 0.1053605), 1e-5);
  ck_assert_int_eq(h[8].n, 3);
  ck_assert_double_eq_tol(h[8].real_mean, ga / 3, 1e-12);
  ck_assert_double_eq_tol(h[8].table_mean, (30.0 + 12.0 + 24.0) / 3, 1e-12);
  ck_assert_int_eq(h[8].cells, 0); /* no cell has VAL_REALISED_MIN_CELL states */
  ck_assert(isnan(h[8].corr) && isnan(h[8].real_sd) && isnan(h[8].table_sd));
  for (int k = 0; k < 24; k++)
    if (k != 8) ck_assert_int_eq(h[k].n, 0);
  /* a dropoff off the grid is no state, but its fare still counts for the
   * state before it */
  x[1].dcell = -1;
  ck_assert_msg(val_realised_by_hour(t, x, 3, h, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(h[8].n, 2);
  ck_assert_double_eq_tol(h[8].real_mean, ga / 2, 1e-12);
  ck_assert_double_eq_tol(h[8].table_mean, (30.0 + 24.0) / 2, 1e-12);
  val_table_free(t);
}
END_TEST

/* Trips out of (driver, pickup) order are refused. */
START_TEST(unsorted) {
  val_table *t = new_table(0.9);
  val_done_trip x[2] = {{1, H8, H8 + 60, 0, 5}, {0, H8 + 100, H8 + 200, 1, 5}};
  val_realised_hour h[24];
  rs_err e = {0};
  ck_assert_int_eq(val_realised_by_hour(t, x, 2, h, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "sorted"));
  x[0] = (val_done_trip){0, H8 + 500, H8 + 560, 0, 5};
  ck_assert_int_eq(val_realised_by_hour(t, x, 2, h, &e), RS_EINVAL);
  ck_assert_int_eq(val_realised_by_hour(t, x, 0, h, &e), 0);
  for (int k = 0; k < 24; k++) ck_assert_int_eq(h[k].n, 0);
  val_table_free(t);
}
END_TEST

/* Random runs against the naive reference. Few cells and many trips, so
 * that several cells of an hour pass the VAL_REALISED_MIN_CELL bar. */
START_TEST(against_naive) {
  pcg32 r;
  pcg32_seed(&r, 4242 + (uint64_t)_i, 9);
  double gamma = _i == 0 ? 0.9 : 0.97;
  val_table *t = new_table(gamma);
  const val_config *c = val_table_config(t);
  int32_t nc = 6; /* the cells trips end in */
  for (int32_t s = 0; s < val_table_n_slots(t); s++)
    for (int32_t k = 0; k < nc; k++)
      if (pcg32_bounded(&r, 4) != 0) val_table_set(t, 0, s, k, 50 * pcg32_double(&r), 1);
  enum { N_DRV = 80, MAX_T = 5000 };
  val_done_trip *x = malloc(MAX_T * sizeof *x);
  size_t n = 0;
  for (int32_t d = 0; d < N_DRV; d++) {
    int64_t now = MONDAY + 7 * 3600 + (int64_t)pcg32_bounded(&r, 1800);
    int32_t trips = (int32_t)pcg32_bounded(&r, 60);
    for (int32_t j = 0; j < trips && n < MAX_T; j++) {
      int64_t pick = now + (int64_t)pcg32_bounded(&r, 900);
      int64_t drop = pick + 60 + (int64_t)pcg32_bounded(&r, 1500);
      int32_t cell = pcg32_bounded(&r, 20) == 0 ? -1 : (int32_t)pcg32_bounded(&r, (uint32_t)nc);
      x[n++] = (val_done_trip){d, pick, drop, cell, 3 + 30 * pcg32_double(&r)};
      now = drop;
    }
  }
  val_realised_hour h[24];
  rs_err e = {0};
  ck_assert_msg(val_realised_by_hour(t, x, n, h, &e) == 0, "%s", e.msg);
  /* the reference: G of every state by the direct sum, then per hour */
  double sr[24][6] = {{0}}, sv[24][6] = {{0}};
  int64_t cnt[24][6] = {{0}}, hn[24] = {0};
  double hr[24] = {0}, hv[24] = {0};
  for (size_t i = 0; i < n; i++) {
    if (x[i].dcell < 0) continue;
    double g = 0;
    for (size_t j = i + 1; j < n && x[j].driver == x[i].driver; j++)
      g += pow(gamma, (double)(x[j].t_pickup - x[i].t_dropoff) / c->gamma_period_s) *
           spread(gamma, x[j].fare, (double)(x[j].t_dropoff - x[j].t_pickup));
    int h8 = (int)(((x[i].t_dropoff - MONDAY) % 86400) / 3600);
    double v = val_table_get(t, x[i].dcell, x[i].t_dropoff);
    sr[h8][x[i].dcell] += g;
    sv[h8][x[i].dcell] += v;
    cnt[h8][x[i].dcell]++;
    hr[h8] += g;
    hv[h8] += v;
    hn[h8]++;
  }
  int checked_corr = 0;
  for (int k = 0; k < 24; k++) {
    ck_assert_int_eq(h[k].n, hn[k]);
    if (hn[k] == 0) continue;
    ck_assert_double_eq_tol(h[k].real_mean, hr[k] / (double)hn[k], 1e-9);
    ck_assert_double_eq_tol(h[k].table_mean, hv[k] / (double)hn[k], 1e-9);
    double a[6], b[6];
    int m = 0;
    for (int32_t q = 0; q < nc; q++)
      if (cnt[k][q] >= VAL_REALISED_MIN_CELL) {
        a[m] = sr[k][q] / (double)cnt[k][q];
        b[m] = sv[k][q] / (double)cnt[k][q];
        m++;
      }
    ck_assert_int_eq(h[k].cells, m);
    if (m < 2) continue;
    double ma = 0, mb = 0;
    for (int q = 0; q < m; q++) ma += a[q] / m, mb += b[q] / m;
    double va = 0, vb = 0, cov = 0;
    for (int q = 0; q < m; q++) {
      va += (a[q] - ma) * (a[q] - ma);
      vb += (b[q] - mb) * (b[q] - mb);
      cov += (a[q] - ma) * (b[q] - mb);
    }
    ck_assert_double_eq_tol(h[k].real_sd, sqrt(va / (m - 1)), 1e-9);
    ck_assert_double_eq_tol(h[k].table_sd, sqrt(vb / (m - 1)), 1e-9);
    if (m >= 3) {
      ck_assert_double_eq_tol(h[k].corr, cov / sqrt(va * vb), 1e-9);
      checked_corr++;
    }
  }
  ck_assert_int_gt(checked_corr, 0);
  free(x);
  val_table_free(t);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("realised");
  TCase *tc = tcase_create("val_realised_by_hour");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_test(tc, by_hand);
  tcase_add_test(tc, unsorted);
  tcase_add_loop_test(tc, against_naive, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

/*
 * test_validate: the statistics of city_data/validate.h against a naive
 * computation on random recorded trips (some without a distance or a fare,
 * some with a fare of 0), for the great-circle and a grid network model:
 * every group's count, means, bias, MAE, MAPE and median APE (the naive
 * median from an insertion sort), and the distance bands at their edges.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_time.h"
#include "city_data/travel_net.h"
#include "city_data/validate.h"
#include "tests/testutil.h"

/* The naive statistics of (m, r) pairs with r > 0. */
static void naive(const double *m, const double *r, size_t n, city_valid_stat *s) {
  memset(s, 0, sizeof *s);
  double *ape = malloc((n ? n : 1) * sizeof *ape);
  double sm = 0, sr = 0, sa = 0, sp = 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(r[i] > 0)) continue;
    sm += m[i];
    sr += r[i];
    sa += fabs(m[i] - r[i]);
    double p = 100 * fabs(m[i] - r[i]) / r[i];
    sp += p;
    size_t j = k++; /* insertion sort */
    while (j > 0 && ape[j - 1] > p) ape[j] = ape[j - 1], j--;
    ape[j] = p;
  }
  s->n = (int64_t)k;
  if (k > 0) {
    s->rec_mean = sr / (double)k;
    s->mod_mean = sm / (double)k;
    s->bias_pct = 100 * (sm - sr) / sr;
    s->mae = sa / (double)k;
    s->mape = sp / (double)k;
    s->mdape = k % 2 ? ape[k / 2] : (ape[k / 2 - 1] + ape[k / 2]) / 2;
  }
  free(ape);
}

static void same(const city_valid_stat *a, const city_valid_stat *b, const char *what) {
  ck_assert_msg(a->n == b->n, "%s: n %lld vs %lld", what, (long long)a->n, (long long)b->n);
  const double x[6] = {a->rec_mean, a->mod_mean, a->bias_pct, a->mae, a->mape, a->mdape};
  const double y[6] = {b->rec_mean, b->mod_mean, b->bias_pct, b->mae, b->mape, b->mdape};
  for (int i = 0; i < 6; i++)
    ck_assert_msg(fabs(x[i] - y[i]) <= 1e-9 * (1 + fabs(y[i])), "%s: field %d: %.17g vs %.17g",
                  what, i, x[i], y[i]);
}

START_TEST(band_edges) {
  ck_assert_int_eq(city_valid_band(0), 0);
  ck_assert_int_eq(city_valid_band(999.999), 0);
  ck_assert_int_eq(city_valid_band(1000), 1);
  ck_assert_int_eq(city_valid_band(3999), 2);
  ck_assert_int_eq(city_valid_band(4000), 3);
  ck_assert_int_eq(city_valid_band(8000), 4);
  ck_assert_int_eq(city_valid_band(1e7), 4);
  ck_assert_int_eq(city_valid_band(NAN), CITY_VALID_BANDS - 1);
  ck_assert_str_eq(city_valid_band_name(2), "2-4 km");
  ck_assert_str_eq(city_valid_band_name(CITY_VALID_BANDS - 1), "no distance");
  ck_assert_str_eq(city_valid_quantity_name(CITY_VALID_FARE), "fare");
}
END_TEST

START_TEST(against_naive) {
  rs_err e;
  city_def city;
  ck_assert_int_eq(city_def_builtin("synthetic", &city, &e), 0);
  city_travel tm;
  if (_i == 0) {
    city_travel_gc(&city, &tm);
  } else {
    city_net_grid_opts g;
    city_net_grid_defaults(&g);
    g.cols = g.rows = 30;
    g.lat0 = 0.5 * (city.min_lat + city.max_lat);
    g.lng0 = 0.5 * (city.min_lng + city.max_lng);
    city_net_raw raw;
    ck_assert_int_eq(city_net_grid(&g, &raw, &e), 0);
    city_net *net;
    ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
    city_net_raw_free(&raw);
    city_net_model_opts o;
    city_net_model_defaults(&o);
    o.cache_dir = "";
    ck_assert_int_eq(city_travel_net(&city, net, &o, &tm, &e), 0);
  }
  pcg32 r;
  pcg32_seed(&r, 3, (uint64_t)_i);
  enum { N = 3001 };
  city_rec_set set;
  memset(&set, 0, sizeof set);
  set.trips = malloc(N * sizeof *set.trips);
  set.n = N;
  double lat0 = 0.5 * (city.min_lat + city.max_lat), lng0 = 0.5 * (city.min_lng + city.max_lng);
  int64_t day = rs_time_days_from_civil(2026, 12, 7) * 86400;
  for (size_t i = 0; i < N; i++) {
    city_trip *t = &set.trips[i];
    memset(t, 0, sizeof *t);
    t->t_request = day + (int64_t)pcg32_bounded(&r, 7 * 86400);
    t->plat = lat0 + 0.03 * (pcg32_double(&r) - 0.5);
    t->plng = lng0 + 0.03 * (pcg32_double(&r) - 0.5);
    t->dlat = lat0 + 0.03 * (pcg32_double(&r) - 0.5);
    t->dlng = lng0 + 0.03 * (pcg32_double(&r) - 0.5);
    t->t_dropoff = t->t_request + 60 + (int64_t)pcg32_bounded(&r, 3000);
    uint32_t kd = pcg32_bounded(&r, 10), kf = pcg32_bounded(&r, 10);
    t->distance_m = kd == 0 ? NAN : 50.0 + 12000.0 * pcg32_double(&r);
    t->fare = kf == 0 ? NAN : kf == 1 ? 0.0 : 3.0 + 40.0 * pcg32_double(&r);
  }
  city_valid_report rep;
  ck_assert_int_eq(city_valid_run(&tm, &set, &rep, &e), 0);
  /* the naive model and records, trip by trip */
  double(*m)[N] = malloc(3 * sizeof *m), (*rv)[N] = malloc(3 * sizeof *rv);
  double *gm = malloc(N * sizeof *gm), *gr = malloc(N * sizeof *gr);
  for (size_t i = 0; i < N; i++) {
    const city_trip *t = &set.trips[i];
    city_loc a = {t->plat, t->plng, tm.ops->snap(tm.ctx, t->plat, t->plng)};
    city_loc b = {t->dlat, t->dlng, tm.ops->snap(tm.ctx, t->dlat, t->dlng)};
    city_leg leg;
    tm.ops->leg(tm.ctx, &a, &b, t->t_request, 0.0, &leg);
    m[0][i] = leg.secs;
    m[1][i] = leg.metres;
    m[2][i] = city_def_fare(&city, leg.metres, leg.secs, t->t_request);
    rv[0][i] = (double)(t->t_dropoff - t->t_request);
    rv[1][i] = isnan(t->distance_m) ? -1 : t->distance_m;
    rv[2][i] = isnan(t->fare) ? -1 : t->fare;
  }
  for (int q = 0; q < 3; q++) {
    /* groups: hour h (0-23), band b (24 + b), all (99) */
    for (int grp = 0; grp < 24 + CITY_VALID_BANDS + 1; grp++) {
      size_t k = 0;
      for (size_t i = 0; i < N; i++) {
        const city_trip *t = &set.trips[i];
        int in = grp < 24 ? rs_time_hour(t->t_request) == grp
                 : grp < 24 + CITY_VALID_BANDS
                     ? (isnan(t->distance_m) ? CITY_VALID_BANDS - 1
                        : t->distance_m < 1000 ? 0 : t->distance_m < 2000 ? 1
                        : t->distance_m < 4000 ? 2 : t->distance_m < 8000 ? 3 : 4) == grp - 24
                     : 1;
        if (in) gm[k] = m[q][i], gr[k] = rv[q][i], k++;
      }
      city_valid_stat want;
      naive(gm, gr, k, &want);
      const city_valid_stat *got = grp < 24 ? &rep.hour[grp][q]
                                   : grp < 24 + CITY_VALID_BANDS ? &rep.band[grp - 24][q]
                                                                 : &rep.all[q];
      char what[64];
      snprintf(what, sizeof what, "quantity %d group %d", q, grp);
      same(got, &want, what);
    }
  }
  ck_assert_int_eq(rep.all[0].n, N);
  ck_assert_int_lt(rep.all[1].n, N);
  ck_assert_int_lt(rep.all[2].n, rep.all[0].n);
  ck_assert_int_eq(rep.band[CITY_VALID_BANDS - 1][1].n, 0); /* no distance: no distance rows */
  ck_assert_int_gt(rep.band[CITY_VALID_BANDS - 1][0].n, 0);
  free(m);
  free(rv);
  free(gm);
  free(gr);
  free(set.trips);
  city_travel_free(&tm);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("validate");
  TCase *tc = tcase_create("validate");
  tcase_add_test(tc, band_edges);
  tcase_add_loop_test(tc, against_naive, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

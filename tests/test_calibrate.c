/*
 * test_calibrate: the recorded trips (city_data/recorded.h), the
 * ratio-of-sums fits (city_data/calibrate.h), a city's network factors
 * (city.h, travel_net.h) and, on the shared raw TLC heads, the targets the
 * calibrated models must meet.
 *
 * Known truth: trips are generated from a known speed profile (the
 * great-circle model at chosen speeds, the network model at chosen factors
 * per hour and day type), their recorded duration the truth's drive to the
 * second; a fit from other starting values must recover the truth within
 * the rounding to whole seconds. Sparse hours must take what calibrate.h
 * says (neighbours, day type, all trips, start).
 *
 * Real data (RIDESIM_DATA): the four raw TLC heads imported, calibrated
 * and validated on the shared Manhattan network (docs/network.md, "Calibration"
 * gives the tables); the targets that hold are asserted as targets, the one
 * the model misses (the fare) at its measured level, so that a change for
 * the worse fails here.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "city_data/calibrate.h"
#include "city_data/import.h"
#include "city_data/travel_net.h"
#include "city_data/validate.h"
#include "tests/testutil.h"

/* 2026-12-07 is a Monday; the 12th a Saturday. */
static int64_t day_of(int weekend) {
  return rs_time_days_from_civil(2026, 12, weekend ? 12 : 7) * 86400;
}

/* A synthetic city and a 40 x 40 grid network (100 m blocks) over its
 * centre, with the given factors (NULL: derived). */
typedef struct {
  city_def city;
  city_travel tm;
} model;

/* The grid network of a city's centre, raw. */
static void grid_raw(const city_def *c, city_net_raw *raw) {
  rs_err e;
  city_net_grid_opts g;
  city_net_grid_defaults(&g);
  g.cols = g.rows = 40;
  g.lat0 = 0.5 * (c->min_lat + c->max_lat);
  g.lng0 = 0.5 * (c->min_lng + c->max_lng);
  g.seed = 3;
  ck_assert_int_eq(city_net_grid(&g, raw, &e), 0);
}

static void model_make(model *m, const double (*factors)[24]) {
  rs_err e;
  ck_assert_int_eq(city_def_builtin("synthetic", &m->city, &e), 0);
  city_net_raw raw;
  grid_raw(&m->city, &raw);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  city_net_raw_free(&raw);
  city_net_model_opts o;
  city_net_model_defaults(&o);
  o.cache_dir = "";
  if (factors != NULL) {
    o.have_factors = 1;
    memcpy(o.factors, factors, sizeof o.factors);
  }
  ck_assert_msg(city_travel_net(&m->city, net, &o, &m->tm, &e) == 0, "%s", e.msg);
}

/* n trips of hour h on a Monday or a Saturday, ends over the network's
 * extent (or the city's centre for the great-circle model), timed by the
 * truth model to the second. */
static void add_trips(city_trip *out, size_t *k, const city_travel *truth, int weekend, int h,
                      int n, pcg32 *r) {
  const city_net *net = city_travel_net_network(truth);
  const city_def *c = truth->city;
  double lat0 = net ? net->min_lat : 0.5 * (c->min_lat + c->max_lat) - 0.02;
  double lng0 = net ? net->min_lng : 0.5 * (c->min_lng + c->max_lng) - 0.02;
  double dlat = net ? net->max_lat - net->min_lat : 0.04;
  double dlng = net ? net->max_lng - net->min_lng : 0.04;
  for (int i = 0; i < n; i++) {
    city_trip *t = &out[(*k)++];
    memset(t, 0, sizeof *t);
    t->id = (int64_t)*k;
    t->t_request = day_of(weekend) + h * 3600 + (int64_t)pcg32_bounded(r, 3600);
    city_leg leg;
    do { /* a recorded trip lasts a minute at least (recorded.h) */
      t->plat = lat0 + dlat * pcg32_double(r);
      t->plng = lng0 + dlng * pcg32_double(r);
      t->dlat = lat0 + dlat * pcg32_double(r);
      t->dlng = lng0 + dlng * pcg32_double(r);
      city_loc a, b;
      city_travel_loc(truth, t->plat, t->plng, &a);
      city_travel_loc(truth, t->dlat, t->dlng, &b);
      city_travel_leg(truth, &a, &b, t->t_request, &leg);
    } while (leg.secs < 60);
    t->t_dropoff = t->t_request + (int64_t)llround(leg.secs);
    t->fare = NAN;
    t->distance_m = leg.metres;
    t->source_id = -1;
  }
}

START_TEST(select_trips) {
  pcg32 r;
  pcg32_seed(&r, 7, 1);
  model m;
  model_make(&m, NULL);
  const city_net *net = city_travel_net_network(&m.tm);
  enum { N = 2000 };
  city_trip *t = malloc(N * sizeof *t);
  int64_t want[CITY_REC_N_WHY] = {0};
  for (int i = 0; i < N; i++) {
    memset(&t[i], 0, sizeof t[i]);
    t[i].id = i + 1;
    t[i].t_request = day_of(i % 2) + (int64_t)pcg32_bounded(&r, 86400);
    t[i].plat = net->min_lat - 0.01 + (net->max_lat - net->min_lat + 0.02) * pcg32_double(&r);
    t[i].plng = net->min_lng - 0.01 + (net->max_lng - net->min_lng + 0.02) * pcg32_double(&r);
    t[i].dlat = net->min_lat + (net->max_lat - net->min_lat) * pcg32_double(&r);
    t[i].dlng = net->min_lng + (net->max_lng - net->min_lng) * pcg32_double(&r);
    int64_t secs[5] = {-1, 30, 59, 600, 20000};
    int pick = (int)pcg32_bounded(&r, 5);
    t[i].t_dropoff = secs[pick] < 0 ? -1 : t[i].t_request + secs[pick];
    uint32_t dk = pcg32_bounded(&r, 3);
    t[i].distance_m = dk == 0 ? NAN : dk == 1 ? 0.0 : 1500.0;
    /* the naive verdict, in the documented order */
    double dp, dd;
    city_net_snap(net, t[i].plat, t[i].plng, &dp);
    city_net_snap(net, t[i].dlat, t[i].dlng, &dd);
    city_rec_why w = secs[pick] < 0      ? CITY_REC_NO_DROPOFF
                     : secs[pick] < 60   ? CITY_REC_SHORT
                     : secs[pick] > 10800 ? CITY_REC_LONG
                     : dk == 1           ? CITY_REC_NO_DISTANCE
                     : dp > 500 || dd > 500 ? CITY_REC_OFF_NETWORK
                                            : CITY_REC_KEPT;
    ck_assert_int_eq(city_rec_check(&t[i], net), w);
    want[w]++;
    if (w == CITY_REC_OFF_NETWORK) ck_assert_int_eq(city_rec_check(&t[i], NULL), CITY_REC_KEPT);
  }
  rs_err e;
  city_rec_set s;
  ck_assert_int_eq(city_rec_select(t, N, net, &s, &e), 0);
  ck_assert_int_eq(s.n_read, N);
  ck_assert_int_eq((int64_t)s.n, want[CITY_REC_KEPT]);
  for (int w = 1; w < CITY_REC_N_WHY; w++) {
    ck_assert_int_gt(want[w], 0);
    ck_assert_int_eq(s.left_out[w], want[w]);
  }
  ck_assert_int_eq(s.n_daytype[0] + s.n_daytype[1], (int64_t)s.n);
  for (size_t i = 1; i < s.n; i++) ck_assert(s.trips[i].id > s.trips[i - 1].id); /* in order */
  ck_assert_str_eq(city_rec_why_text(CITY_REC_OFF_NETWORK), "an end over 500 m from the network");
  city_rec_free(&s);
  free(t);
  city_travel_free(&m.tm);
}
END_TEST

/* The great-circle speeds: own hours recover the truth; hour 8 (10
 * trips) takes its neighbours' mean k, hours 13-15 (none, no own
 * neighbour for 14) neighbours and all trips. */
START_TEST(fit_speeds) {
  rs_err e;
  city_def truth, start;
  ck_assert_int_eq(city_def_builtin("manhattan", &truth, &e), 0);
  start = truth;
  for (int h = 0; h < 24; h++) {
    truth.speed_mps[h] = 3.0 + 0.2 * h + 0.5 * sin(h);
    start.speed_mps[h] = 6.0;
  }
  city_travel gt;
  city_travel_gc(&truth, &gt);
  pcg32 r;
  pcg32_seed(&r, 11, (uint64_t)_i);
  city_trip *t = malloc(24 * 200 * sizeof *t);
  size_t k = 0;
  for (int h = 0; h < 24; h++) {
    if (h >= 13 && h <= 15) continue;
    add_trips(t, &k, &gt, h % 3 == 0, h, h == 8 ? 10 : 60 + (int)pcg32_bounded(&r, 100), &r);
  }
  city_rec_set s;
  ck_assert_int_eq(city_rec_select(t, k, NULL, &s, &e), 0);
  ck_assert_int_eq((int64_t)s.n, (int64_t)k);
  city_calib_fit f;
  ck_assert_int_eq(city_calib_speeds(&start, &s, NULL, &f, &e), 0);
  ck_assert_int_eq(f.day_types, 1);
  ck_assert_int_le(f.steps, 3);
  ck_assert(f.max_dev < 1e-12);
  ck_assert_msg(f.field_cells > 5 && f.field_lo > 0.99 && f.field_hi < 1.01, "%d %g %g",
                (int)f.field_cells, f.field_lo, f.field_hi);
  ck_assert_int_eq(start.cell_field.n, f.field_cells);
  for (int h = 0; h < 24; h++) {
    ck_assert(start.speed_mps[h] == f.value[0][h] && f.value[1][h] == f.value[0][h]);
    ck_assert(fabs(f.k[0][h] - 6.0 / f.value[0][h]) < 1e-12);
    if (h == 8) {
      ck_assert_int_eq(f.source[0][h], CITY_CALIB_NEIGHBOURS);
      ck_assert(fabs(f.k[0][8] - 0.5 * (f.k[0][7] + f.k[0][9])) < 1e-12);
    } else if (h == 13 || h == 15) {
      ck_assert_int_eq(f.source[0][h], CITY_CALIB_NEIGHBOURS);
      ck_assert(f.k[0][h] == f.k[0][h == 13 ? 12 : 16]);
    } else if (h == 14) {
      ck_assert_int_eq(f.source[0][h], CITY_CALIB_ALL);
    } else {
      ck_assert_int_eq(f.source[0][h], CITY_CALIB_OWN);
      /* whole seconds: within a second over trips of minutes */
      ck_assert_msg(fabs(f.value[0][h] / truth.speed_mps[h] - 1) < 1e-3, "hour %d: %g vs %g", h,
                    f.value[0][h], truth.speed_mps[h]);
    }
  }
  /* the overall k: one scale of the starting speeds matching all trips */
  city_def one = start;
  for (int h = 0; h < 24; h++) one.speed_mps[h] = 6.0;
  city_travel gs;
  city_travel_gc(&one, &gs);
  double rs = 0, ms = 0;
  for (size_t i = 0; i < s.n; i++) {
    double m[CITY_VALID_N];
    city_valid_model(&gs, &s.trips[i], m);
    rs += city_rec_secs(&s.trips[i]);
    ms += m[CITY_VALID_DURATION];
  }
  ck_assert(fabs(f.k[0][14] / (rs / ms) - 1) < 1e-9);
  city_rec_free(&s);
  /* nothing to fit on: the city unchanged */
  city_rec_set empty;
  ck_assert_int_eq(city_rec_select(t, 0, NULL, &empty, &e), 0);
  city_def before = start;
  ck_assert_int_eq(city_calib_speeds(&start, &empty, NULL, &f, &e), RS_EEMPTY);
  ck_assert(memcmp(before.speed_mps, start.speed_mps, sizeof start.speed_mps) == 0);
  city_rec_free(&empty);
  free(t);
}
END_TEST

/* The network factors per day type: the time is affine in the factor (the
 * access legs), so the fit iterates; own cells recover the truth. */
START_TEST(fit_network) {
  double truth_f[2][24];
  for (int h = 0; h < 24; h++) {
    truth_f[0][h] = 2.0 + 0.8 * sin(h / 3.0);
    truth_f[1][h] = 1.5 + 0.1 * h;
  }
  model truth, m;
  model_make(&truth, (const double(*)[24])truth_f);
  model_make(&m, NULL);
  pcg32 r;
  pcg32_seed(&r, 5, (uint64_t)_i);
  city_trip *t = malloc(2 * 24 * 80 * sizeof *t);
  size_t k = 0;
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++)
      if (d == 0 || (h != 1 && (h < 13 || h > 15)))
        add_trips(t, &k, &truth.tm, d, h, d == 1 && h == 6 ? 5 : 50, &r);
  rs_err e;
  city_rec_set s;
  ck_assert_int_eq(city_rec_select(t, k, city_travel_net_network(&m.tm), &s, &e), 0);
  ck_assert_int_eq((int64_t)s.n, (int64_t)k);
  city_calib_fit f;
  city_def out = m.city;
  city_calib_opts o;
  city_calib_defaults(&o);
  ck_assert_int_eq(city_calib_network(&m.tm, &s, &o, &f, &out, &e), 0);
  ck_assert_int_eq(f.day_types, 2);
  ck_assert_int_gt(f.steps, 2);
  ck_assert(f.max_dev <= o.tol);
  double now[2][24];
  ck_assert_int_eq(city_travel_net_factors(&m.tm, now), CITY_NET_FACTORS_GIVEN);
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) {
      ck_assert(now[d][h] == f.value[d][h] && out.net_factors[d][h] == f.value[d][h]);
      /* weekend: no trips at 1 and 13-15, 5 at 6; 14 has no own neighbour */
      city_calib_source want = CITY_CALIB_OWN;
      if (d == 1 && (h == 1 || h == 6 || h == 13 || h == 15)) want = CITY_CALIB_NEIGHBOURS;
      if (d == 1 && h == 14) want = CITY_CALIB_DAYTYPE;
      ck_assert_msg(f.source[d][h] == want, "%d %d: %d", d, h, f.source[d][h]);
      if (d == 1 && (h == 1 || h == 6))
        ck_assert(fabs(f.k[1][h] - 0.5 * (f.k[1][h - 1] + f.k[1][h + 1])) < 1e-12);
      if (want == CITY_CALIB_OWN)
        ck_assert_msg(fabs(f.value[d][h] / truth_f[d][h] - 1) < 1e-3, "%d %d: %g vs %g", d, h,
                      f.value[d][h], truth_f[d][h]);
    }
  ck_assert(out.net_have_factors && out.net_factors_hash == city_travel_net_base(&m.tm)->hash);
  /* no place in the truth is slower than another: the cell factors stay
   * at 1, within the rounding of the recorded seconds */
  ck_assert_int_gt(f.field_cells, 10);
  ck_assert_msg(f.field_lo > 0.99 && f.field_hi < 1.01, "%g %g", f.field_lo, f.field_hi);
  ck_assert_int_eq(out.net_field.n, f.field_cells);
  /* one profile for both day types when asked */
  o.day_types = 1;
  ck_assert_int_eq(city_calib_network(&m.tm, &s, &o, &f, NULL, &e), 0);
  ck_assert_int_eq(f.day_types, 1);
  for (int h = 0; h < 24; h++) ck_assert(f.value[0][h] == f.value[1][h]);
  /* not a network model */
  city_travel gc;
  city_travel_gc(&m.city, &gc);
  ck_assert_int_eq(city_calib_network(&gc, &s, &o, &f, NULL, &e), RS_EINVAL);
  city_rec_free(&s);
  free(t);
  city_travel_free(&truth.tm);
  city_travel_free(&m.tm);
}
END_TEST


static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A field of slow and fast places over the synthetic city's centre: the
 * cells within 2 km of it, k from 0.6 to 1.8 by a smooth pattern. */
static void truth_field(const city_def *c, city_field *f) {
  rs_err e;
  city_grid g;
  ck_assert_int_eq(city_def_grid(c, &g, &e), 0);
  double lat0 = 0.5 * (c->min_lat + c->max_lat), lng0 = 0.5 * (c->min_lng + c->max_lng);
  int32_t cell[CITY_FIELD_MAX_CELLS];
  double k[CITY_FIELD_MAX_CELLS];
  int32_t n = 0;
  for (int32_t i = 0; i < g.n_cells && n < CITY_FIELD_MAX_CELLS; i++) {
    double la, lo;
    city_grid_center(&g, city_grid_hex(&g, i), &la, &lo);
    double dy = (la - lat0) * 111195.0, dx = (lo - lng0) * 111195.0 * cos(lat0 * M_PI / 180);
    if (dx * dx + dy * dy > 2500.0 * 2500.0) continue;
    cell[n] = i;
    k[n++] = 1.2 + 0.6 * sin(dx / 700.0) * cos(dy / 900.0);
  }
  ck_assert_int_eq(city_def_set_field(c, f, cell, k, n, &e), 0);
}

/* How far a fitted field is from the truth up to one scale (the hourly
 * values take the level): the median and largest |k_fit / (rho k_true) - 1|
 * over the fitted cells, rho their median ratio. */
static void field_error(const city_field *fit, const city_field *truth, double *med,
                        double *max) {
  double *q = malloc((size_t)fit->n * sizeof *q), *d = malloc((size_t)fit->n * sizeof *d);
  for (int32_t i = 0; i < fit->n; i++) {
    double kt = 1.0;
    for (int32_t j = 0; j < truth->n; j++)
      if (truth->cell[j] == fit->cell[i]) kt = truth->k[j];
    q[i] = fit->k[i] / kt;
    d[i] = q[i];
  }
  qsort(d, (size_t)fit->n, sizeof *d, dbl_cmp);
  double rho = d[fit->n / 2];
  for (int32_t i = 0; i < fit->n; i++) d[i] = fabs(q[i] / rho - 1);
  qsort(d, (size_t)fit->n, sizeof *d, dbl_cmp);
  *med = d[fit->n / 2];
  *max = d[fit->n - 1];
  free(q);
  free(d);
}

/* Cell factors recovered: trips driven by a network model with a field
 * and hourly factors, fitted from free flow and the derived factors. */
START_TEST(fit_network_field) {
  double truth_f[2][24];
  for (int h = 0; h < 24; h++) truth_f[0][h] = truth_f[1][h] = 1.8 + 0.5 * sin(h / 4.0);
  model truth, m;
  model_make(&m, NULL);
  /* the truth: the city's factors with their cells */
  rs_err e;
  truth.city = m.city;
  truth.city.net_have_factors = 1;
  memcpy(truth.city.net_factors, truth_f, sizeof truth_f);
  truth_field(&truth.city, &truth.city.net_field);
  city_net_raw raw;
  grid_raw(&truth.city, &raw);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  city_net_raw_free(&raw);
  city_net_model_opts o;
  city_net_model_defaults(&o);
  o.cache_dir = "";
  ck_assert_int_eq(city_travel_net(&truth.city, net, &o, &truth.tm, &e), 0);
  ck_assert_int_gt(city_travel_net_field(&truth.tm)->n, 10);
  pcg32 r;
  pcg32_seed(&r, 15, 1);
  city_trip *t = malloc(24 * 100 * sizeof *t);
  size_t k = 0;
  for (int h = 0; h < 24; h++) add_trips(t, &k, &truth.tm, 0, h, 100, &r);
  city_rec_set s;
  ck_assert_int_eq(city_rec_select(t, k, city_travel_net_network(&m.tm), &s, &e), 0);
  city_calib_opts co;
  city_calib_defaults(&co);
  co.field_prior = 0.01;
  city_calib_fit f;
  city_def out = m.city;
  ck_assert_msg(city_calib_network(&m.tm, &s, &co, &f, &out, &e) == 0, "%s", e.msg);
  double med, max;
  field_error(&out.net_field, &truth.city.net_field, &med, &max);
  printf("network cell factors: %d cells from %.3f to %.3f, error median %.2g, largest %.2g\n",
         (int)f.field_cells, f.field_lo, f.field_hi, med, max);
  ck_assert_msg(med < 5e-3 && max < 0.05, "median %g, largest %g", med, max);
  ck_assert(f.field_iters < CITY_CALIB_FIELD_ITERS && f.field_moved <= CITY_CALIB_FIELD_TOL);
  /* the model drives them; each hour's mean is matched */
  ck_assert(memcmp(city_travel_net_field(&m.tm), &out.net_field, sizeof out.net_field) == 0);
  ck_assert(f.max_dev <= co.tol);
  /* without: the model back to free flow, the city without cells */
  co.field = 0;
  ck_assert_int_eq(city_calib_network(&m.tm, &s, &co, &f, &out, &e), 0);
  ck_assert_int_eq(city_travel_net_field(&m.tm)->n, 0);
  ck_assert_int_eq(out.net_field.n, 0);
  ck_assert_int_eq(f.field_cells, 0);
  city_rec_free(&s);
  free(t);
  city_travel_free(&truth.tm);
  city_travel_free(&m.tm);
}
END_TEST

/* The same for the great-circle model's cell_factors. */
START_TEST(fit_speeds_field) {
  rs_err e;
  city_def truth, start;
  ck_assert_int_eq(city_def_builtin("synthetic", &truth, &e), 0);
  start = truth;
  for (int h = 0; h < 24; h++) truth.speed_mps[h] = 4.0 + 0.1 * h;
  truth_field(&truth, &truth.cell_field);
  city_travel gt;
  city_travel_gc(&truth, &gt);
  pcg32 r;
  pcg32_seed(&r, 16, 1);
  city_trip *t = malloc(24 * 100 * sizeof *t);
  size_t k = 0;
  for (int h = 0; h < 24; h++) add_trips(t, &k, &gt, 0, h, 100, &r);
  city_rec_set s;
  ck_assert_int_eq(city_rec_select(t, k, NULL, &s, &e), 0);
  city_calib_opts co;
  city_calib_defaults(&co);
  co.field_prior = 0.01;
  city_calib_fit f;
  ck_assert_msg(city_calib_speeds(&start, &s, &co, &f, &e) == 0, "%s", e.msg);
  double med, max;
  field_error(&start.cell_field, &truth.cell_field, &med, &max);
  printf("great-circle cell factors: %d cells from %.3f to %.3f, error median %.2g, largest "
         "%.2g\n", (int)f.field_cells, f.field_lo, f.field_hi, med, max);
  ck_assert_msg(med < 5e-3 && max < 0.05, "median %g, largest %g", med, max);
  ck_assert(f.max_dev < 1e-12);
  /* an empty set: the city unchanged, field and all */
  city_def before = start;
  city_rec_set empty;
  ck_assert_int_eq(city_rec_select(t, 0, NULL, &empty, &e), 0);
  ck_assert_int_eq(city_calib_speeds(&start, &empty, &co, &f, &e), RS_EEMPTY);
  ck_assert(memcmp(&before, &start, sizeof start) == 0);
  city_rec_free(&empty);
  city_rec_free(&s);
  free(t);
}
END_TEST

/* Driving metres per dense cell, as the great-circle fit spreads them. */
typedef struct {
  double *t;
  double scale;
} cell_time;

static void add_time(void *ctx, int32_t cell, double w) {
  cell_time *c = ctx;
  if (cell >= 0) c->t[cell] += c->scale * w;
}

/* More cells than a field holds: the ones with the most driving are kept. */
START_TEST(fit_field_cap) {
  rs_err e;
  city_def c; /* Manhattan's box is metro-sized: 4,800 cells */
  ck_assert_int_eq(city_def_builtin("manhattan", &c, &e), 0);
  city_grid g;
  ck_assert_int_eq(city_def_grid(&c, &g, &e), 0);
  ck_assert_int_gt(g.n_cells, CITY_FIELD_MAX_CELLS);
  pcg32 r;
  pcg32_seed(&r, 17, 3);
  size_t n = 4000;
  city_trip *t = calloc(n, sizeof *t);
  city_travel gt;
  city_travel_gc(&c, &gt);
  cell_time ct = {calloc((size_t)g.n_cells, sizeof(double)), 0};
  for (size_t i = 0; i < n; i++) { /* ends anywhere in the box */
    t[i].id = (int64_t)i + 1;
    t[i].plat = c.min_lat + (c.max_lat - c.min_lat) * pcg32_double(&r);
    t[i].plng = c.min_lng + (c.max_lng - c.min_lng) * pcg32_double(&r);
    t[i].dlat = c.min_lat + (c.max_lat - c.min_lat) * pcg32_double(&r);
    t[i].dlng = c.min_lng + (c.max_lng - c.min_lng) * pcg32_double(&r);
    t[i].t_request = day_of(0) + (int64_t)pcg32_bounded(&r, 86400);
    city_loc a, b;
    city_leg l;
    city_travel_loc(&gt, t[i].plat, t[i].plng, &a);
    city_travel_loc(&gt, t[i].dlat, t[i].dlng, &b);
    city_travel_leg(&gt, &a, &b, t[i].t_request, &l);
    t[i].t_dropoff = t[i].t_request + 60 + (int64_t)l.secs;
    t[i].fare = NAN;
    t[i].distance_m = NAN;
  }
  city_rec_set s; /* (trips over 3 h are left out) */
  ck_assert_int_eq(city_rec_select(t, n, NULL, &s, &e), 0);
  for (size_t i = 0; i < s.n; i++) {
    const city_trip *x = &s.trips[i];
    double gc = rs_geo_haversine_r(x->plat, x->plng, x->dlat, x->dlng, c.earth_radius_m);
    ct.scale = gc * c.detour_factor;
    city_field_points(&g, x->plat, x->plng, x->dlat, x->dlng, gc, add_time, &ct);
  }
  city_calib_fit f;
  ck_assert_msg(city_calib_speeds(&c, &s, NULL, &f, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(f.field_cells, CITY_FIELD_MAX_CELLS);
  ck_assert_int_eq(city_field_check(&c.cell_field), 0);
  double kept_min = INFINITY, dropped_max = 0;
  int32_t touched = 0;
  for (int32_t z = 0, j = 0; z < g.n_cells; z++) {
    int kept = j < c.cell_field.n && c.cell_field.cell[j] == z;
    if (kept) j++;
    if (ct.t[z] > 0) touched++;
    if (kept && ct.t[z] < kept_min) kept_min = ct.t[z];
    if (!kept && ct.t[z] > dropped_max) dropped_max = ct.t[z];
  }
  ck_assert_int_gt(touched, CITY_FIELD_MAX_CELLS);
  /* (sums in another order: equal up to rounding) */
  ck_assert_msg(kept_min >= dropped_max * (1 - 1e-9), "%g < %g", kept_min, dropped_max);
  city_rec_free(&s);
  free(ct.t);
  free(t);
}
END_TEST

/* network_factors in a city definition: parsed, written back identical,
 * used by a network model, refused for another network. */
START_TEST(city_factors) {
  rs_err e;
  model m;
  model_make(&m, NULL);
  uint64_t hash = city_travel_net_network(&m.tm)->hash;
  city_def c = m.city;
  c.net_have_factors = 1;
  for (int h = 0; h < 24; h++) c.net_factors[0][h] = 1.0 / 3.0 + h, c.net_factors[1][h] = 2.5;
  c.net_factors_hash = hash;
  cJSON *o = cJSON_CreateObject();
  ck_assert_int_eq(city_def_to_json(&c, o), 0);
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  city_def back;
  ck_assert_msg(city_def_parse(text, "t", &back, &e) == 0, "%s", e.msg);
  free(text);
  ck_assert(memcmp(back.net_factors, c.net_factors, sizeof c.net_factors) == 0);
  ck_assert(back.net_have_factors && back.net_factors_hash == hash);
  ck_assert(memcmp(back.speed_mps, c.speed_mps, sizeof c.speed_mps) == 0);
  ck_assert(memcmp(&back.fare, &c.fare, sizeof c.fare) == 0 && strcmp(back.name, c.name) == 0);
  /* every built-in city writes back identical, without network factors */
  for (const char *const *nm = city_def_builtin_names(); *nm; nm++) {
    city_def b, b2;
    ck_assert_int_eq(city_def_builtin(*nm, &b, &e), 0);
    o = cJSON_CreateObject();
    ck_assert_int_eq(city_def_to_json(&b, o), 0);
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "network_factors"));
    text = cJSON_Print(o);
    cJSON_Delete(o);
    ck_assert_int_eq(city_def_parse(text, "t", &b2, &e), 0);
    free(text);
    ck_assert(memcmp(&b, &b2, sizeof b) == 0);
  }
  /* the model uses them; scenario factors win; another network's refused */
  city_net *net2;
  city_net_raw raw;
  grid_raw(&m.city, &raw);
  ck_assert_int_eq(city_net_build(&raw, "grid", &net2, &e), 0);
  ck_assert(net2->hash == hash);
  city_net_model_opts mo;
  city_net_model_defaults(&mo);
  mo.cache_dir = "";
  city_travel t2;
  ck_assert_int_eq(city_travel_net(&back, net2, &mo, &t2, &e), 0);
  double f[2][24];
  ck_assert_int_eq(city_travel_net_factors(&t2, f), CITY_NET_FACTORS_CITY);
  ck_assert(memcmp(f, c.net_factors, sizeof f) == 0);
  city_travel_free(&t2);
  mo.have_factors = 1;
  for (int h = 0; h < 24; h++) mo.factors[0][h] = mo.factors[1][h] = 3.0;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net2, &e), 0);
  ck_assert_int_eq(city_travel_net(&back, net2, &mo, &t2, &e), 0);
  ck_assert_int_eq(city_travel_net_factors(&t2, f), CITY_NET_FACTORS_GIVEN);
  ck_assert(f[1][7] == 3.0);
  city_travel_free(&t2);
  mo.have_factors = 0;
  back.net_factors_hash = hash ^ 1;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net2, &e), 0);
  ck_assert_int_eq(city_travel_net(&back, net2, &mo, &t2, &e), RS_EINVAL);
  ck_assert_msg(strstr(e.msg, "fitted to the network of content hash") != NULL, "%s", e.msg);
  city_net_raw_free(&raw);
  /* parse errors name the field */
  const char *bad[] = {
      "\"network_factors\": [1, 2]", "network_factors: not an array of 24",
      "\"network_factors\": {\"weekday\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}",
      "network_factors.weekend: missing",
      "\"network_factors\": {\"weekday\": [], \"weekend\": [], \"hash\": 1}",
      "network_factors.hash: unknown field",
      "\"network_factors\": [0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
      "network_factors[0]: needs a number in (0, 100]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i += 2) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"name\": \"x\", \"bbox\": {\"min_lat\": 40, \"min_lng\": -74, \"max_lat\": 40.1,"
             " \"max_lng\": -73.9}, \"hex_edge_m\": 600, \"utc_offset_minutes\": 0,"
             " \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5],"
             " \"detour_factor\": 1.3, \"fare\": {\"base\": 1, \"per_km\": 1, \"per_minute\": 0,"
             " \"minimum\": 1}, \"default_fleet\": 10, %s}",
             bad[i]);
    ck_assert_int_eq(city_def_parse(json, "t", &back, &e), RS_EFORMAT);
    ck_assert_msg(strstr(e.msg, bad[i + 1]) != NULL, "%s", e.msg);
  }
  /* a bad hash string */
  o = cJSON_CreateObject();
  ck_assert_int_eq(city_def_to_json(&c, o), 0);
  cJSON *nf = cJSON_GetObjectItem(o, "network_factors");
  cJSON_ReplaceItemInObject(nf, "network_hash", cJSON_CreateString("xyz"));
  text = cJSON_Print(o);
  cJSON_Delete(o);
  ck_assert_int_eq(city_def_parse(text, "t", &back, &e), RS_EFORMAT);
  ck_assert(strstr(e.msg, "network_factors.network_hash") != NULL);
  free(text);
  city_travel_free(&m.tm);
}
END_TEST

/* city_calib_save writes a file that loads back identical. */
START_TEST(save_city) {
  char dir[256], path[300];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/city.json", dir);
  rs_err e;
  city_def c, back;
  ck_assert_int_eq(city_def_builtin("manhattan", &c, &e), 0);
  c.speed_mps[3] = 10.0 / 7.0;
  c.net_have_factors = 1;
  for (int h = 0; h < 24; h++) c.net_factors[0][h] = c.net_factors[1][h] = 2.0 + h / 9.0;
  ck_assert_int_eq(city_calib_save(&c, path, &e), 0);
  ck_assert_msg(city_def_load_file(path, &back, &e) == 0, "%s", e.msg);
  ck_assert(memcmp(&c, &back, sizeof c) == 0);
  snprintf(path, sizeof path, "%s/no/such/dir/city.json", dir);
  ck_assert_int_eq(city_calib_save(&c, path, &e), RS_EIO);
  snprintf(path, sizeof path, "%s/city.json", dir);
  remove(path);
  rmdir(dir);
}
END_TEST


/* --- the shared raw TLC heads on the shared Manhattan network ----------- */

/* The targets a calibrated model must meet on them (hours of at least
 * TARGET_HOUR_TRIPS trips), and the level measured where it misses one
 * (docs/network.md, "Calibration", says why): the fare's MAPE is 12.33 %
 * with the cell factors (12.67 % without; 12.00 % out of sample): the
 * meter's 50 cents a slow minute carries the duration's scatter, and with
 * the recorded durations it is 5.9 %. Before the cell factors, hour 20's
 * median duration error was 26.1 %; with them 21.6 % (the largest of any
 * hour 24.4 %, hour 09). */
#define TARGET_HOUR_TRIPS 100
#define TARGET_MDAPE 25.0      /* % */
#define TARGET_BIAS 5.0        /* |%| */
#define TARGET_FARE_MAPE 12.0  /* % */
#define MISSED_FARE_MAPE 12.5  /* % (measured 12.33) */
#define SPLIT_FARE_MAPE 12.1   /* % out of sample (measured 12.001) */
#define GUARD_BAND_BIAS 21.0   /* |%| of a distance band of 100 trips or more (measured
                                  19.8, >= 8 km; 24.0 without cell factors) */
#define GUARD_DISTANCE_MAPE 14.8 /* % (measured 14.27; 13.76 on the free-flow routes):
                                    stated, not a target */

/* Imports the heads of the given months into a new store db. */
static void import_heads(const char *db, const char *const *months, int n, const city_def *city) {
  rs_err e;
  city_store *st;
  ck_assert_msg(city_store_open(db, CITY_STORE_WRITE, city, &st, &e) == 0, "%s", e.msg);
  city_import_opts io = {CITY_FMT_TLC, NULL, 60.0, 0};
  for (int i = 0; i < n; i++) {
    char rel[128], path[512];
    snprintf(rel, sizeof rel, "tlc-raw-heads/yellow_tripdata_%s.csv", months[i]);
    ck_assert_ptr_nonnull(test_data_path(path, sizeof path, rel));
    city_import_stats is;
    ck_assert_msg(city_import_file(st, city, path, &io, &is, &e) == 0, "%s", e.msg);
  }
  city_store_close(st);
}

/* Calibrates both models on store fit_db (with cell factors when field)
 * and validates them on val_db. */
static void calibrate_validate(const char *fit_db, const char *val_db, int field,
                               city_valid_report *gc_rep, city_valid_report *net_rep,
                               city_rec_set *val_set) {
  rs_err e;
  char net_path[512];
  ck_assert_ptr_nonnull(test_data_path(net_path, sizeof net_path,
                                       "nyc-hive-2014-12-21/manhattan_network.json"));
  city_def city;
  city_trip *trips;
  size_t n;
  ck_assert_msg(city_rec_load(fit_db, NULL, &city, &trips, &n, &e) == 0, "%s", e.msg);
  city_net_model_opts mo;
  city_net_model_defaults(&mo);
  mo.cache_dir = "";
  city_travel net, gc;
  int dropped;
  ck_assert_msg(city_calib_open_network(&city, net_path, &mo, &net, &dropped, &e) == 0, "%s",
                e.msg);
  city_rec_set set;
  ck_assert_int_eq(city_rec_select(trips, n, city_travel_net_network(&net), &set, &e), 0);
  free(trips);
  city_calib_fit fg, fn;
  city_calib_opts co;
  city_calib_defaults(&co);
  co.field = field;
  ck_assert_int_eq(city_calib_speeds(&city, &set, &co, &fg, &e), 0);
  ck_assert_int_eq(city_calib_network(&net, &set, &co, &fn, &city, &e), 0);
  ck_assert(fn.max_dev < 1e-6 && fg.max_dev < 1e-9);
  if (field) {
    printf("cell factors: great circle %d cells (%.2f-%.2f), network %d (%.2f-%.2f)\n",
           (int)fg.field_cells, fg.field_lo, fg.field_hi, (int)fn.field_cells, fn.field_lo,
           fn.field_hi);
    ck_assert(fg.field_cells > 50 && fn.field_cells > 50);
    ck_assert(fn.field_iters < CITY_CALIB_FIELD_ITERS && fg.field_iters < CITY_CALIB_FIELD_ITERS);
  }
  city_rec_free(&set);
  /* the validation store, on the calibrated city */
  city_def vcity;
  ck_assert_msg(city_rec_load(val_db, NULL, &vcity, &trips, &n, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(city_rec_select(trips, n, city_travel_net_network(&net), val_set, &e), 0);
  free(trips);
  city_travel_gc(&city, &gc);
  ck_assert_int_eq(city_valid_run(&gc, val_set, gc_rep, &e), 0);
  ck_assert_int_eq(city_valid_run(&net, val_set, net_rep, &e), 0);
  city_travel_free(&net);
}

START_TEST(real_targets) {
  if (test_data_dir() == NULL) return; /* main reports the skip */
  char dir[256], all_db[300], a_db[300], b_db[300];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(all_db, sizeof all_db, "%s/heads.db", dir);
  snprintf(a_db, sizeof a_db, "%s/a.db", dir);
  snprintf(b_db, sizeof b_db, "%s/b.db", dir);
  rs_err e;
  city_def man;
  ck_assert_int_eq(city_def_builtin("manhattan", &man, &e), 0);
  const char *const months[4] = {"2015-01", "2016-01", "2016-02", "2016-03"};
  import_heads(all_db, months, 4, &man);
  import_heads(a_db, months, 2, &man);
  import_heads(b_db, months + 2, 2, &man);

  /* calibrated and validated on the same trips */
  city_valid_report g, r, g0, r0;
  city_rec_set set;
  /* hourly values alone, as before the cell factors: the shape's misses */
  calibrate_validate(all_db, all_db, 0, &g0, &r0, &set);
  city_rec_free(&set);
  calibrate_validate(all_db, all_db, 1, &g, &r, &set);
  ck_assert_int_gt((int64_t)set.n, 6000);
  ck_assert_int_gt(set.left_out[CITY_REC_OFF_NETWORK], 1000);
  int hours = 0;
  for (int h = 0; h < 24; h++) {
    const city_valid_stat *s = &r.hour[h][CITY_VALID_DURATION];
    if (s->n < TARGET_HOUR_TRIPS) continue;
    hours++;
    printf("hour %02d: %4lld trips, network bias %5.2f %% MdAPE %4.1f %%, great-circle MdAPE "
           "%4.1f %%\n", h, (long long)s->n, s->bias_pct, s->mdape,
           g.hour[h][CITY_VALID_DURATION].mdape);
    ck_assert_msg(fabs(s->bias_pct) <= TARGET_BIAS, "hour %d: bias %g %%", h, s->bias_pct);
    ck_assert_msg(s->mdape <= TARGET_MDAPE, "hour %d: MdAPE %g %%", h, s->mdape);
  }
  ck_assert_int_ge(hours, 8);
  /* the shape: short trips no longer too fast, long ones much less slow */
  for (int b = 0; b < CITY_VALID_BANDS; b++) {
    const city_valid_stat *s = &r.band[b][CITY_VALID_DURATION];
    if (s->n < TARGET_HOUR_TRIPS) continue;
    printf("%-7s %4lld trips: network bias %5.1f %% (hourly values alone %5.1f %%)\n",
           city_valid_band_name(b), (long long)s->n, s->bias_pct,
           r0.band[b][CITY_VALID_DURATION].bias_pct);
    ck_assert_msg(fabs(s->bias_pct) <= GUARD_BAND_BIAS, "%s: bias %g %%", city_valid_band_name(b),
                  s->bias_pct);
  }
  ck_assert(r.all[CITY_VALID_DURATION].mae < r0.all[CITY_VALID_DURATION].mae);
  ck_assert(g.all[CITY_VALID_DURATION].mae < g0.all[CITY_VALID_DURATION].mae);
  const city_valid_stat *dn = &r.all[CITY_VALID_DURATION], *dg = &g.all[CITY_VALID_DURATION];
  const city_valid_stat *fn = &r.all[CITY_VALID_FARE], *mn = &r.all[CITY_VALID_DISTANCE];
  printf("all: duration MAE %.1f s (great-circle %.1f s), fare MAPE %.2f %% (target %g), "
         "distance MAPE %.2f %%\n", dn->mae, dg->mae, fn->mape, TARGET_FARE_MAPE, mn->mape);
  ck_assert(dn->mae < dg->mae);
  ck_assert_msg(fn->mape <= MISSED_FARE_MAPE, "fare MAPE %g %%", fn->mape);
  ck_assert_msg(mn->mape <= GUARD_DISTANCE_MAPE, "distance MAPE %g %%", mn->mape);
  city_rec_free(&set);

  /* out of sample: calibrated on 2015-01 and 2016-01, validated on 2016-02
   * and 2016-03 (the days differ: per hour, biases of 15-23 %) */
  calibrate_validate(a_db, b_db, 1, &g, &r, &set);
  dn = &r.all[CITY_VALID_DURATION];
  dg = &g.all[CITY_VALID_DURATION];
  printf("split: duration MAE %.1f s (great-circle %.1f s), bias %.1f %%, MdAPE %.1f %%\n",
         dn->mae, dg->mae, dn->bias_pct, dn->mdape);
  ck_assert(dn->mae < dg->mae);
  ck_assert(dn->mdape <= TARGET_MDAPE);
  printf("split: fare MAPE %.3f %%\n", r.all[CITY_VALID_FARE].mape);
  ck_assert_msg(r.all[CITY_VALID_FARE].mape <= SPLIT_FARE_MAPE, "fare MAPE %g %%",
                r.all[CITY_VALID_FARE].mape);
  city_rec_free(&set);
  remove(all_db);
  remove(a_db);
  remove(b_db);
  rmdir(dir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("calibrate");
  TCase *tc = tcase_create("recorded");
  tcase_add_test(tc, select_trips);
  suite_add_tcase(s, tc);
  tc = tcase_create("fit");
  tcase_add_loop_test(tc, fit_speeds, 0, 3);
  tcase_add_loop_test(tc, fit_network, 0, 2);
  tcase_add_test(tc, fit_network_field);
  tcase_add_test(tc, fit_speeds_field);
  tcase_add_test(tc, fit_field_cap);
  suite_add_tcase(s, tc);
  tc = tcase_create("city");
  tcase_add_test(tc, city_factors);
  tcase_add_test(tc, save_city);
  suite_add_tcase(s, tc);
  tc = tcase_create("real");
  tcase_add_test(tc, real_targets);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int rc = test_run_suite(suite());
  if (rc == 0 && test_data_dir() == NULL) {
    fprintf(stderr, "RIDESIM_DATA unset: the real-data targets were skipped\n");
    return TEST_SKIP;
  }
  return rc;
}

/*
 * Tests of value/train: offline policy evaluation reaches closed-form values
 * on tiny histories in a small city of its own, in one pass where nothing
 * wraps round midnight: a chain A -> B -> (end) over repeated identical
 * days, a state's value as the mean of its transitions' targets, a cycle
 * inside one slot (3-minute trips, discounted by 0.9^0.3 each: the
 * fixed point of its linear equations in closed form), the time-free layer
 * against its own closed form and read by a trip that ends past the data, a
 * window round midnight settled in a few passes, trip times and fares from
 * the city's travel model when the record lacks them, day types, skipped
 * off-grid pickups, the pass callback, determinism whatever the input
 * order, and the refusals.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "base/pcg32.h"
#include "tests/testutil.h"
#include "value/train.h"

/* val_train with the city's great-circle travel model. */
/* The closed forms below have no prior (prior_trips 0) unless a test sets
 * one; o NULL means the defaults with that change. */
static int train_gc(val_table *t, const city_def *city, const city_trip *tr, size_t n,
                    const val_train_opts *o, val_train_report *rep, rs_err *e) {
  city_travel tm;
  city_travel_gc(city, &tm);
  val_train_opts def;
  if (o == NULL) {
    val_train_defaults(&def);
    def.prior_trips = 0;
    o = &def;
  }
  return val_train(t, &tm, tr, n, o, rep, e);
}

static const char city_json[] =
    "{\"name\": \"trcity\", \"bbox\": {\"min_lat\": 40.74, \"min_lng\": -74.00,"
    " \"max_lat\": 40.76, \"max_lng\": -73.974}, \"hex_edge_m\": 600,"
    " \"utc_offset_minutes\": 0, \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5,"
    "5,5,5,5,5,5,5,5,5,5,5,5], \"detour_factor\": 1.3, \"fare\": {\"base\": 2.5,"
    " \"per_km\": 1.5, \"per_minute\": 0.2, \"minimum\": 3}, \"default_fleet\": 10}";

#define MONDAY 1454284800LL   /* 2016-02-01 00:00 local, a Monday */
#define SATURDAY 1454716800LL /* 2016-02-06 00:00 local, a Saturday */
#define H8 (8 * 3600)

static city_def city;
static city_grid grid;
/* Two cells three steps apart (no fallback links them) with their centres. */
static int32_t cell_a, cell_b;
static double a_lat, a_lng, b_lat, b_lng;

static void setup(void) {
  rs_err e = {0};
  ck_assert_msg(city_def_parse(city_json, "test", &city, &e) == 0, "%s", e.msg);
  ck_assert_msg(city_def_grid(&city, &grid, &e) == 0, "%s", e.msg);
  cell_a = city_grid_point_index(&grid, 40.75, -73.987);
  ck_assert_int_ge(cell_a, 0);
  city_hex ha = city_grid_hex(&grid, cell_a), hb = {ha.q + 3, ha.r};
  cell_b = city_grid_index(&grid, hb);
  ck_assert_int_ge(cell_b, 0);
  city_grid_center(&grid, ha, &a_lat, &a_lng);
  city_grid_center(&grid, hb, &b_lat, &b_lng);
}

static val_table *new_table(int32_t day_types) {
  val_config c;
  val_config_defaults(&c);
  c.day_types = day_types;
  val_table *t = NULL;
  rs_err e = {0};
  ck_assert_msg(val_table_new(&grid, &c, &t, &e) == 0, "%s", e.msg);
  return t;
}

/* A trip from cell a to cell b (-1: off the grid, to the south-west). */
static city_trip trip(int64_t id, int32_t from, int32_t to, int64_t t0, int64_t dur, double fare) {
  city_trip x = {.id = id, .t_request = t0, .t_dropoff = t0 + dur, .fare = fare,
                 .distance_m = NAN, .pcell = from, .dcell = to};
  x.plat = from == cell_b ? b_lat : a_lat;
  x.plng = from == cell_b ? b_lng : a_lng;
  x.dlat = to < 0 ? 40.0 : to == cell_b ? b_lat : a_lat;
  x.dlng = to < 0 ? -75.0 : to == cell_b ? b_lng : a_lng;
  return x;
}

static double v_at(const val_table *t, int32_t cell, int64_t tl) {
  return val_table_raw(t, val_table_daytype(t, tl), val_table_slot(t, tl), cell);
}
static uint32_t n_at(const val_table *t, int32_t cell, int64_t tl) {
  return val_table_count(t, val_table_daytype(t, tl), val_table_slot(t, tl), cell);
}

/* Pass callback: records the changes. */
typedef struct {
  int32_t n;
  int32_t pass[1024];
  double max_change[1024], mean_change[1024];
} pass_log;

static void log_pass(void *arg, int32_t pass, double max_change, double mean_change) {
  pass_log *l = arg;
  if (l->n < 1024) {
    l->pass[l->n] = pass;
    l->max_change[l->n] = max_change;
    l->mean_change[l->n] = mean_change;
  }
  l->n++;
}

/* --- val_train_defaults ------------------------------------------------------ */

START_TEST(test_defaults) {
  val_train_opts o;
  memset(&o, 0x5a, sizeof o);
  val_train_defaults(&o);
  ck_assert_int_eq(o.max_passes, VAL_TRAIN_PASSES_DEFAULT);
  ck_assert_int_eq(o.max_sweeps, VAL_TRAIN_SWEEPS_DEFAULT);
  ck_assert_double_eq(o.tol, VAL_TRAIN_TOL_DEFAULT);
  ck_assert_int_eq(o.cut_at_end, 0);
  ck_assert_double_eq(o.prior_trips, VAL_TRAIN_PRIOR_TRIPS_DEFAULT);
  ck_assert(o.on_pass == NULL);
  ck_assert_ptr_null(o.arg);
}
END_TEST

/* --- val_train --------------------------------------------------------------- */

static val_config cfg0(void) {
  val_config c;
  val_config_defaults(&c);
  return c;
}

/* R spread over dt seconds, written out: R (1 - 0.9^x) / (x ln(1 / 0.9)). */
static double spread(double r, double dt) {
  double x = dt / 600;
  return r * (1 - pow(0.9, x)) / (x * log(1 / 0.9));
}

/* A at 08:00 -> B at 08:10 (fare 10), B at 08:10 -> off the grid at 08:20
 * (fare 5), on three identical days: V(B, 08:10) = spread(5) and V(A, 08:00)
 * = spread(10) + 0.9 spread(5), whatever the number of days, in one pass. */
START_TEST(test_chain) {
  city_trip tr[6];
  for (int d = 0; d < 3; d++) {
    int64_t day = MONDAY + d * 86400;
    tr[2 * d] = trip(10 + 2 * d, cell_a, cell_b, day + H8, 600, 10.0);
    tr[2 * d + 1] = trip(11 + 2 * d, cell_b, -1, day + H8 + 600, 600, 5.0);
  }
  val_table *t = new_table(1);
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  val_train_report rep;
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 6, &o, &rep, &e) == 0, "%s", e.msg);
  double rb = spread(5, 600), ra = spread(10, 600) + 0.9 * rb;
  ck_assert_double_eq_tol(v_at(t, cell_b, H8 + 600), rb, 1e-12);
  ck_assert_double_eq_tol(v_at(t, cell_a, H8), ra, 1e-12);
  /* the layer: the same chain without time */
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_b), rb, 1e-12);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_a), ra, 1e-12);
  ck_assert_uint_eq(val_table_free_count(t, 0, cell_a), 3);
  /* The count is the state's number of transitions. */
  ck_assert_uint_eq(n_at(t, cell_a, H8), 3);
  ck_assert_uint_eq(n_at(t, cell_b, H8 + 600), 3);
  int64_t n_seen;
  val_table_stats(t, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 2);
  ck_assert_int_eq(rep.transitions, 6);
  ck_assert_int_eq(rep.skipped, 0);
  /* Slots solved latest first settle a chain in one pass. */
  ck_assert_int_eq(rep.passes, 1);
  ck_assert_int_le(rep.max_slot_sweeps, 2);

  /* A 30-minute last leg: spread over 1800 s, and the first leg discounts
   * it by 0.9. */
  for (int d = 0; d < 3; d++) tr[2 * d + 1].t_dropoff = tr[2 * d + 1].t_request + 1800;
  val_table *t2 = new_table(1);
  ck_assert_int_eq(train_gc(t2, &city, tr, 6, &o, &rep, &e), 0);
  rb = spread(5, 1800);
  ck_assert_double_eq_tol(v_at(t2, cell_b, H8 + 600), rb, 1e-12);
  ck_assert_double_eq_tol(v_at(t2, cell_a, H8), spread(10, 600) + 0.9 * rb, 1e-12);
  val_table_free(t2);
  val_table_free(t);
}
END_TEST

/* Several transitions from one state: their mean target. */
START_TEST(test_mean_of_targets) {
  city_trip tr[3] = {
      trip(1, cell_a, -1, MONDAY + H8, 600, 10.0),
      trip(2, cell_a, -1, MONDAY + H8 + 300, 600, 20.0),
      trip(3, cell_a, -1, MONDAY + 86400 + H8 + 120, 1200, 30.0),
  };
  val_table *t = new_table(1);
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 3, NULL, NULL, &e) == 0, "%s", e.msg);
  ck_assert_double_eq_tol(v_at(t, cell_a, H8),
                          (spread(10, 600) + spread(20, 600) + spread(30, 1200)) / 3, 1e-12);
  ck_assert_uint_eq(n_at(t, cell_a, H8), 3);
  val_table_free(t);
}
END_TEST

/* A -> B -> A inside one slot (08:00 -> 08:03 -> 08:06, and A -> A at 08:06
 * -> 08:08): continuous discounts g3 = 0.9^0.3 and g2 = 0.9^0.2, no whole
 * period for a short trip. The mean-target equations
 *   a = (ra1 + g3 b + ra2 + g2 a) / 2,  b = rb + g3 a
 * solved in closed form; the training solves them in one pass (the loop
 * A -> A in closed form, the A-B coupling by sweeps within the slot). */
START_TEST(test_cycle_fixed_point) {
  city_trip tr[3] = {
      trip(1, cell_a, cell_b, MONDAY + H8, 180, 4.0),
      trip(2, cell_b, cell_a, MONDAY + H8 + 180, 180, 6.0),
      trip(3, cell_a, cell_a, MONDAY + H8 + 360, 120, 3.0),
  };
  val_table *t = new_table(1);
  pass_log log = {0};
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  o.tol = 1e-12;
  o.on_pass = log_pass;
  o.arg = &log;
  val_train_report rep;
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 3, &o, &rep, &e) == 0, "%s", e.msg);
  double g3 = pow(0.9, 0.3), g2 = pow(0.9, 0.2);
  double ra1 = spread(4, 180), rb = spread(6, 180), ra2 = spread(3, 120);
  /* 2a = ra1 + g3 (rb + g3 a) + ra2 + g2 a */
  double a = (ra1 + g3 * rb + ra2) / (2 - g3 * g3 - g2), b = rb + g3 * a;
  ck_assert_double_eq_tol(v_at(t, cell_a, H8), a, 1e-9);
  ck_assert_double_eq_tol(v_at(t, cell_b, H8), b, 1e-9);
  ck_assert_int_eq(rep.passes, 1);
  ck_assert_int_eq(log.n, 1);
  ck_assert_int_eq(log.pass[0], 1);
  ck_assert_double_eq(rep.last_max_change, log.max_change[0]);
  ck_assert(log.mean_change[0] <= log.max_change[0]);

  /* the time-free layer sees the same equations here (one slot), and V
   * starts from it */
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_a), a, 1e-9);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_b), b, 1e-9);

  /* Without the layer V starts from nothing and sweeps the slot: still one
   * pass; the A-B coupling shrinks by g3^2 / (2 - g2) = 0.92 a sweep, so
   * about 360 sweeps reach 1e-12 (a slot of real trips couples far less). */
  val_table *t1 = new_table(1);
  o.cut_at_end = 1;
  o.on_pass = NULL;
  ck_assert_int_eq(train_gc(t1, &city, tr, 3, &o, &rep, &e), 0);
  ck_assert_double_eq_tol(v_at(t1, cell_a, H8), a, 1e-9);
  ck_assert_double_eq_tol(v_at(t1, cell_b, H8), b, 1e-9);
  ck_assert_int_eq(rep.passes, 1);
  ck_assert_int_gt(rep.sweeps, 300);
  ck_assert_int_lt(rep.sweeps, 400);
  val_table_free(t1);

  /* Stopping at max_sweeps: the report says so, and the values are short. */
  val_table *t2 = new_table(1);
  o.max_sweeps = 3;
  ck_assert_int_eq(train_gc(t2, &city, tr, 3, &o, &rep, &e), 0);
  ck_assert_int_eq(rep.max_slot_sweeps, 3);
  ck_assert_double_gt(fabs(v_at(t2, cell_a, H8) - a), 1e-9);
  val_table_free(t2);
  val_table_free(t);
}
END_TEST

/* The layer against its closed form, and a trip that ends where the data
 * never goes (B at 11:58 + 20 min, past the window) reading it: A at 11:58
 * -> B (fare 10, 20 min), B at 09:00 -> A (fare 6, 10 min). Without time:
 * u_a = r1 + d20 u_b, u_b = r2 + d10 u_a. V(A, 11:50) reads u_b for B at
 * 12:18, never visited; cut at the end it reads 0. */
START_TEST(test_time_free_layer) {
  city_trip tr[2] = {
      trip(1, cell_a, cell_b, MONDAY + 11 * 3600 + 58 * 60, 1200, 10.0),
      trip(2, cell_b, cell_a, MONDAY + 9 * 3600, 600, 6.0),
  };
  val_table *t = new_table(1);
  val_train_report rep;
  rs_err e = {0};
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  o.tol = 1e-12;
  ck_assert_msg(train_gc(t, &city, tr, 2, &o, &rep, &e) == 0, "%s", e.msg);
  double r1 = spread(10, 1200), r2 = spread(6, 600), d20 = 0.81, d10 = 0.9;
  double ua = (r1 + d20 * r2) / (1 - d20 * d10), ub = r2 + d10 * ua;
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_a), ua, 1e-6);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_b), ub, 1e-6);
  ck_assert_double_eq_tol(val_table_free_get(t, cell_b, MONDAY + 3 * 3600), ub, 1e-6);
  ck_assert_int_gt(rep.free_sweeps, 2);
  /* V(A, 11:58) = r1 + 0.81 U(B); V(B, 09:00) = r2 + 0.9 V(A, 09:10) = r2 + 0.9 ua */
  ck_assert_double_eq_tol(v_at(t, cell_a, 11 * 3600 + 58 * 60), r1 + d20 * ub, 1e-6);
  ck_assert_double_eq_tol(v_at(t, cell_b, 9 * 3600), r2 + d10 * ua, 1e-6);
  ck_assert_double_eq_tol(val_table_get(t, cell_a, MONDAY + 9 * 3600 + 600), ua, 1e-6);
  ck_assert_int_eq(rep.passes, 1);

  /* cut at the end: no layer, the episode ends with the data */
  val_table *c = new_table(1);
  o.cut_at_end = 1;
  ck_assert_int_eq(train_gc(c, &city, tr, 2, &o, &rep, &e), 0);
  ck_assert_int_eq(val_table_free_seen(c, 0), 0);
  ck_assert_int_eq(rep.free_sweeps, 0);
  ck_assert_double_eq_tol(v_at(c, cell_a, 11 * 3600 + 58 * 60), r1, 1e-12);
  val_table_free(c);
  val_table_free(t);
}
END_TEST

/* The prior's pseudo-trips: a state with one zero-length trip back into
 * itself (a 1-s ride: d = 0.9^(1/600)) is worth (R + k U) / (1 + k - d),
 * not R / (1 - d); U itself leans on the mean of U over cells. Cells A and
 * B: A has the loop, B a trip off the grid. */
START_TEST(test_prior_trips) {
  city_trip tr[2] = {
      trip(1, cell_a, cell_a, MONDAY + H8, 1, 3.0),
      trip(2, cell_b, -1, MONDAY + H8, 600, 10.0),
  };
  val_table *t = new_table(1);
  val_train_opts o;
  val_train_defaults(&o);
  o.tol = 1e-13;
  ck_assert_double_eq(o.prior_trips, 5.0);
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 2, &o, NULL, &e) == 0, "%s", e.msg);
  double k = 5, d = pow(0.9, 1.0 / 600), ra = spread(3, 1), rb = spread(10, 600);
  /* u_a = (ra + d u_a + k m) / (1 + k), u_b = (rb + k m) / (1 + k), m = (u_a + u_b) / 2 */
  /* => (1 + k - d) u_a = ra + k m, (1 + k) u_b = rb + k m: solve for m */
  double m = (ra / (1 + k - d) + rb / (1 + k)) /
             (2 - k / (1 + k - d) - k / (1 + k));
  double ua = (ra + k * m) / (1 + k - d), ub = (rb + k * m) / (1 + k);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_a), ua, 1e-9);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, cell_b), ub, 1e-9);
  ck_assert_double_eq_tol(v_at(t, cell_a, H8), (ra + k * ua) / (1 + k - d), 1e-9);
  ck_assert_double_eq_tol(v_at(t, cell_b, H8), (rb + k * ub) / (1 + k), 1e-9);
  ck_assert_double_lt(v_at(t, cell_a, H8), 10 * ra);
  /* without a prior the loop runs away */
  val_table *u = new_table(1);
  o.prior_trips = 0;
  ck_assert_int_eq(train_gc(u, &city, tr, 2, &o, NULL, &e), 0);
  ck_assert_double_eq_tol(v_at(u, cell_a, H8), ra / (1 - d), 1e-6);
  ck_assert_double_gt(v_at(u, cell_a, H8), 1000 * ra);
  val_table_free(u);
  val_table_free(t);
}
END_TEST

/* Round midnight: A at 23:55 -> B at 00:05 (next day), B at 00:05 -> A at
 * 00:15, A at 00:15 -> off the grid. Slot 143 reads slot 0, solved after it
 * in a pass: a second pass settles it and a third finds nothing to change. */
START_TEST(test_wrap_passes) {
  int64_t day = MONDAY + 86400;
  city_trip tr[3] = {
      trip(1, cell_a, cell_b, day - 300, 600, 8.0),
      trip(2, cell_b, cell_a, day + 300, 600, 5.0),
      trip(3, cell_a, -1, day + 900, 600, 4.0),
  };
  val_table *t = new_table(1);
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  o.cut_at_end = 1;
  val_train_report rep;
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 3, &o, &rep, &e) == 0, "%s", e.msg);
  double v3 = spread(4, 600), v2 = spread(5, 600) + 0.9 * v3, v1 = spread(8, 600) + 0.9 * v2;
  ck_assert_double_eq_tol(v_at(t, cell_a, 900), v3, 1e-12);
  ck_assert_double_eq_tol(v_at(t, cell_b, 300), v2, 1e-12);
  ck_assert_double_eq_tol(v_at(t, cell_a, 86400 - 300), v1, 1e-12);
  ck_assert_int_ge(rep.passes, 2);
  ck_assert_int_le(rep.passes, 3);
  ck_assert_double_lt(rep.last_max_change, o.tol);
  val_table_free(t);
}
END_TEST

/* No recorded dropoff time or fare: the city's travel model decides both,
 * exactly as city_travel_trip says. */
START_TEST(test_travel_model) {
  city_trip x = trip(1, cell_a, cell_b, MONDAY + H8, 0, NAN);
  x.t_dropoff = -1;
  city_trip_model m;
  city_travel gc;
  city_travel_gc(&city, &gc);
  city_loc pu, dr;
  city_travel_loc(&gc, x.plat, x.plng, &pu);
  city_travel_loc(&gc, x.dlat, x.dlng, &dr);
  city_travel_trip(&gc, &pu, &dr, x.t_request, -1, NAN, NAN, &m);
  ck_assert(m.modelled_duration && m.modelled_fare);
  val_table *t = new_table(1);
  rs_err e = {0};
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  o.cut_at_end = 1; /* B is never a pickup: the episode ends there */
  ck_assert_msg(train_gc(t, &city, &x, 1, &o, NULL, &e) == 0, "%s", e.msg);
  val_config c = cfg0();
  ck_assert_double_eq_tol(v_at(t, cell_a, H8),
                          val_spread_reward(&c, m.fare, m.duration_s), 1e-12);
  ck_assert_double_gt(m.fare, 3.0);
  val_table_free(t);
}
END_TEST

/* Weekday and weekend trips land in their own day type; a table without day
 * types mixes them. */
START_TEST(test_daytypes) {
  city_trip tr[2] = {
      trip(1, cell_a, -1, MONDAY + H8, 600, 10.0),
      trip(2, cell_a, -1, SATURDAY + H8, 600, 30.0),
  };
  val_table *two = new_table(2), *one = new_table(1);
  ck_assert_int_eq(train_gc(two, &city, tr, 2, NULL, NULL, NULL), 0);
  ck_assert_int_eq(train_gc(one, &city, tr, 2, NULL, NULL, NULL), 0);
  ck_assert_double_eq_tol(val_table_raw(two, 0, 48, cell_a), spread(10, 600), 1e-12);
  ck_assert_double_eq_tol(val_table_raw(two, 1, 48, cell_a), spread(30, 600), 1e-12);
  ck_assert_uint_eq(val_table_count(two, 0, 48, cell_a), 1);
  ck_assert_double_eq_tol(val_table_raw(one, 0, 48, cell_a), spread(20, 600), 1e-12);
  ck_assert_uint_eq(val_table_count(one, 0, 48, cell_a), 2);
  val_table_free(two);
  val_table_free(one);
}
END_TEST

/* Pickups off the grid are skipped and counted; dropoffs off the grid end
 * the episode; an unrecorded cell is found from the coordinates. */
START_TEST(test_skipped) {
  city_trip tr[4] = {
      trip(1, cell_a, -1, MONDAY + H8, 600, 10.0),
      trip(2, -1, cell_a, MONDAY + H8, 600, 99.0),
      trip(3, grid.n_cells + 5, cell_a, MONDAY + H8, 600, 99.0),
      trip(4, cell_b, -1, MONDAY + H8, 600, 7.0),
  };
  tr[1].plat = 40.0; /* recorded -1 and off the grid by its coordinates */
  tr[1].plng = -75.0;
  tr[3].pcell = -1;  /* unrecorded: found from the point, B's centre */
  val_table *t = new_table(1);
  val_train_report rep;
  rs_err e = {0};
  ck_assert_msg(train_gc(t, &city, tr, 4, NULL, &rep, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(rep.transitions, 2);
  ck_assert_int_eq(rep.skipped, 2);
  ck_assert_double_eq_tol(v_at(t, cell_a, H8), spread(10, 600), 1e-12);
  ck_assert_double_eq_tol(v_at(t, cell_b, H8), spread(7, 600), 1e-12);
  int64_t n_seen;
  val_table_stats(t, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 2);

  /* Nothing on the grid at all: RS_EEMPTY and the table unchanged. */
  val_table *u = new_table(1);
  val_table_set(u, 0, 3, cell_a, 1.25, 1);
  rep.skipped = -1;
  ck_assert_int_eq(train_gc(u, &city, tr + 1, 2, NULL, &rep, &e), RS_EEMPTY);
  ck_assert_int_eq(e.code, RS_EEMPTY);
  ck_assert_int_eq(rep.skipped, 2);
  ck_assert_int_eq(train_gc(u, &city, NULL, 0, NULL, NULL, &e), RS_EEMPTY);
  val_table_stats(u, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 1);
  ck_assert_double_eq(val_table_raw(u, 0, 3, cell_a), 1.25);
  val_table_free(u);
  val_table_free(t);
}
END_TEST

/* Random histories: the same trips in any order, and any number of runs,
 * give the same table to the bit. */
START_TEST(test_deterministic) {
  enum { N = 3000 };
  pcg32 rng;
  pcg32_seed(&rng, 77u, (uint64_t)_i + 1);
  city_trip *tr = malloc(N * sizeof *tr), *sh = malloc(N * sizeof *sh);
  ck_assert_ptr_nonnull(tr);
  ck_assert_ptr_nonnull(sh);
  for (int i = 0; i < N; i++) {
    int32_t c0 = (int32_t)pcg32_bounded(&rng, (uint32_t)grid.n_cells);
    int32_t c1 = pcg32_bounded(&rng, 20) ? (int32_t)pcg32_bounded(&rng, (uint32_t)grid.n_cells)
                                         : -1;
    /* Coarse times so that many trips share a request time. */
    int64_t t0 = MONDAY + (int64_t)pcg32_bounded(&rng, 3) * 86400 + H8 +
                 (int64_t)pcg32_bounded(&rng, 40) * 90;
    tr[i] = trip(1000 + i, c0, c1, t0, 60 + pcg32_bounded(&rng, 1500),
                 2.5 + pcg32_double(&rng) * 30);
  }
  memcpy(sh, tr, N * sizeof *tr);
  for (int i = N - 1; i > 0; i--) { /* Fisher-Yates */
    int j = (int)pcg32_bounded(&rng, (uint32_t)i + 1);
    city_trip x = sh[i];
    sh[i] = sh[j];
    sh[j] = x;
  }
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  o.max_passes = 50;
  val_table *a = new_table(2), *b = new_table(2), *c = new_table(2);
  val_train_report ra, rb, rc;
  ck_assert_int_eq(train_gc(a, &city, tr, N, &o, &ra, NULL), 0);
  ck_assert_int_eq(train_gc(b, &city, sh, N, &o, &rb, NULL), 0);
  ck_assert_int_eq(train_gc(c, &city, tr, N, &o, &rc, NULL), 0);
  ck_assert_int_eq(ra.passes, rb.passes);
  ck_assert_int_eq(ra.passes, rc.passes);
  ck_assert(memcmp(&ra.last_max_change, &rb.last_max_change, sizeof(double)) == 0);
  int32_t ns = val_table_n_slots(a);
  for (int32_t d = 0; d < 2; d++)
    for (int32_t s = 0; s < ns; s++)
      for (int32_t k = 0; k < grid.n_cells; k++) {
        double va = val_table_raw(a, d, s, k), vb = val_table_raw(b, d, s, k),
               vc = val_table_raw(c, d, s, k);
        ck_assert(memcmp(&va, &vb, sizeof va) == 0);
        ck_assert(memcmp(&va, &vc, sizeof va) == 0);
        ck_assert_uint_eq(val_table_count(a, d, s, k), val_table_count(b, d, s, k));
      }
  /* Every transition's start state is seen with its transition count. */
  int64_t total = 0, n_seen;
  for (int32_t d = 0; d < 2; d++)
    for (int32_t s = 0; s < ns; s++)
      for (int32_t k = 0; k < grid.n_cells; k++) total += val_table_count(a, d, s, k);
  ck_assert_int_eq(total, N);
  val_table_stats(a, NULL, NULL, &n_seen);
  ck_assert_int_gt(n_seen, 100);
  free(tr);
  free(sh);
  val_table_free(a);
  val_table_free(b);
  val_table_free(c);
}
END_TEST

START_TEST(test_errors) {
  city_trip x = trip(1, cell_a, -1, MONDAY + H8, 600, 10.0);
  val_table *t = new_table(1);
  val_train_opts o;
  val_train_defaults(&o);
  o.prior_trips = 0;
  rs_err e = {0};
  o.max_passes = 0;
  ck_assert_int_eq(train_gc(t, &city, &x, 1, &o, NULL, &e), RS_EINVAL);
  ck_assert_msg(strstr(e.msg, "passes") != NULL, "%s", e.msg);
  o.max_passes = 5;
  o.tol = -1;
  ck_assert_int_eq(train_gc(t, &city, &x, 1, &o, NULL, &e), RS_EINVAL);
  o.tol = NAN;
  ck_assert_int_eq(train_gc(t, &city, &x, 1, &o, NULL, &e), RS_EINVAL);
  /* A table over another city's grid. */
  city_def other = city;
  other.hex_edge_m = 400;
  ck_assert_int_eq(train_gc(t, &city, &x, 1, NULL, NULL, NULL), 0);
  ck_assert_int_eq(train_gc(t, &other, &x, 1, NULL, NULL, &e), RS_EINVAL);
  ck_assert_msg(strstr(e.msg, "grid") != NULL, "%s", e.msg);
  int64_t n_seen;
  val_table_stats(t, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 1);
  val_table_free(t);
}
END_TEST

static Suite *train_suite(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("val_train_defaults");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_defaults);
  suite_add_tcase(s, tc);
  tc = tcase_create("val_train");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_chain);
  tcase_add_test(tc, test_time_free_layer);
  tcase_add_test(tc, test_wrap_passes);
  tcase_add_test(tc, test_prior_trips);
  tcase_add_test(tc, test_mean_of_targets);
  tcase_add_test(tc, test_cycle_fixed_point);
  tcase_add_test(tc, test_travel_model);
  tcase_add_test(tc, test_daytypes);
  tcase_add_test(tc, test_skipped);
  tcase_add_loop_test(tc, test_deterministic, 0, 3);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(train_suite()); }

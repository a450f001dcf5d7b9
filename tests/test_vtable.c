/*
 * Tests of value/vtable: hand-computed TD(0) steps, discount and spread
 * reward, blending, the fallback rules for unseen states, day types and slot
 * boundaries (negative times included), statistics, clone independence and
 * val_table_new's refusals; the time-free layer as the prior of unseen
 * states; the flatten ablation against its definition; then the table against a plain-array reference
 * on random TD sequences where every state is seen first (so no fallback is
 * involved and both sides compute the same formula).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "base/pcg32.h"
#include "tests/testutil.h"
#include "value/vtable.h"

/* A small city of its own (about 2.2 x 2.2 km, 600 m hexagons), so that the
 * tests do not follow edits of the shipped definitions. */
static const char city_json[] =
    "{\"name\": \"vtcity\", \"bbox\": {\"min_lat\": 40.74, \"min_lng\": -74.00,"
    " \"max_lat\": 40.76, \"max_lng\": -73.974}, \"hex_edge_m\": 600,"
    " \"utc_offset_minutes\": 0, \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5,"
    "5,5,5,5,5,5,5,5,5,5,5,5], \"detour_factor\": 1.3, \"fare\": {\"base\": 2.5,"
    " \"per_km\": 1.5, \"per_minute\": 0, \"minimum\": 2.5}, \"default_fleet\": 10}";

#define MONDAY 1454284800LL   /* 2016-02-01 00:00, a Monday (local epoch) */
#define SATURDAY 1454716800LL /* 2016-02-06 00:00, a Saturday */
#define EPS 1e-12

static city_grid grid;
static int32_t centre;        /* a cell whose six neighbours are all on the grid */
static int32_t nb[6];         /* its neighbours */
static int32_t far_cell;      /* a cell at least 3 steps from centre */

static void setup(void) {
  city_def d;
  rs_err e = {0};
  ck_assert_msg(city_def_parse(city_json, "test", &d, &e) == 0, "%s", e.msg);
  ck_assert_msg(city_def_grid(&d, &grid, &e) == 0, "%s", e.msg);
  centre = city_grid_point_index(&grid, 40.75, -73.987);
  ck_assert_int_ge(centre, 0);
  city_hex h = city_grid_hex(&grid, centre), n6[6];
  city_hex_neighbors(h, n6);
  for (int k = 0; k < 6; k++) {
    nb[k] = city_grid_index(&grid, n6[k]);
    ck_assert_int_ge(nb[k], 0);
  }
  far_cell = -1;
  for (int32_t c = 0; c < grid.n_cells && far_cell < 0; c++)
    if (city_hex_distance(city_grid_hex(&grid, c), h) >= 3) far_cell = c;
  ck_assert_int_ge(far_cell, 0);
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

/* --- val_config_defaults ----------------------------------------------------- */

START_TEST(test_config_defaults) {
  val_config c;
  memset(&c, 0xff, sizeof c);
  val_config_defaults(&c);
  ck_assert_int_eq(c.slot_s, 600);
  ck_assert_int_eq(c.day_types, 1);
  ck_assert_double_eq(c.gamma, 0.9);
  ck_assert_int_eq(c.gamma_period_s, 600);
}
END_TEST

/* --- val_table_new ----------------------------------------------------------- */

START_TEST(test_new_shape) {
  val_table *t = new_table(2);
  ck_assert_int_eq(val_table_n_slots(t), 144);
  ck_assert_int_eq(val_table_n_cells(t), grid.n_cells);
  ck_assert_ptr_eq(val_table_grid(t), &grid);
  ck_assert_int_eq(val_table_config(t)->day_types, 2);
  int64_t n_seen = -1;
  val_table_stats(t, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 0);
  for (int32_t s = 0; s < 144; s++)
    ck_assert_uint_eq(val_table_count(t, 1, s, centre), 0);
  val_table_free(t);
  val_table_free(NULL);
}
END_TEST

START_TEST(test_new_errors) {
  struct {
    int32_t slot_s, day_types;
    double gamma;
    int32_t period;
  } bad[] = {
      {7, 1, 0.9, 600},    {0, 1, 0.9, 600},   {-600, 1, 0.9, 600}, {86401, 1, 0.9, 600},
      {600, 0, 0.9, 600},  {600, 3, 0.9, 600}, {600, 1, 0.0, 600},  {600, 1, -0.5, 600},
      {600, 1, 1.5, 600},  {600, 1, NAN, 600}, {600, 1, 0.9, 0},    {600, 1, 0.9, -1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    val_config c = {bad[i].slot_s, bad[i].day_types, bad[i].gamma, bad[i].period};
    val_table *t = (val_table *)&c; /* must be reset to NULL */
    rs_err e = {0};
    ck_assert_int_eq(val_table_new(&grid, &c, &t, &e), RS_EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(e.code, RS_EINVAL);
    ck_assert_msg(strstr(e.msg, "value table") != NULL, "%s", e.msg);
  }
  /* The limits that are allowed: gamma 1, a slot of the whole day, 1 s. */
  val_config ok[] = {{600, 1, 1.0, 600}, {86400, 2, 0.5, 1}, {1, 1, 0.9, 600}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    val_table *t = NULL;
    ck_assert_int_eq(val_table_new(&grid, &ok[i], &t, NULL), 0);
    ck_assert_int_eq(val_table_n_slots(t), 86400 / ok[i].slot_s);
    val_table_free(t);
  }
}
END_TEST

/* --- val_table_slot ---------------------------------------------------------- */

START_TEST(test_slot_boundaries) {
  val_table *t = new_table(1);
  ck_assert_int_eq(val_table_slot(t, 0), 0);
  ck_assert_int_eq(val_table_slot(t, 599), 0);
  ck_assert_int_eq(val_table_slot(t, 600), 1);
  ck_assert_int_eq(val_table_slot(t, 86399), 143);
  ck_assert_int_eq(val_table_slot(t, 86400), 0);
  ck_assert_int_eq(val_table_slot(t, MONDAY + 8 * 3600), 48);
  ck_assert_int_eq(val_table_slot(t, MONDAY + 8 * 3600 - 1), 47);
  /* Before 1970: the time of day still counts from local midnight. */
  ck_assert_int_eq(val_table_slot(t, -1), 143);
  ck_assert_int_eq(val_table_slot(t, -600), 143);
  ck_assert_int_eq(val_table_slot(t, -601), 142);
  ck_assert_int_eq(val_table_slot(t, -86400), 0);
  ck_assert_int_eq(val_table_slot(t, -86400 - 1), 143);
  val_table_free(t);
}
END_TEST

/* --- val_table_daytype ------------------------------------------------------- */

START_TEST(test_daytype) {
  val_table *one = new_table(1), *two = new_table(2);
  for (int d = 0; d < 7; d++) {
    int64_t tl = MONDAY + d * 86400 + 12 * 3600;
    ck_assert_int_eq(val_table_daytype(one, tl), 0);
    ck_assert_int_eq(val_table_daytype(two, tl), d >= 5 ? 1 : 0);
  }
  ck_assert_int_eq(val_table_daytype(two, SATURDAY), 1);
  ck_assert_int_eq(val_table_daytype(two, SATURDAY - 1), 0);    /* Friday 23:59:59 */
  ck_assert_int_eq(val_table_daytype(two, SATURDAY + 2 * 86400 - 1), 1); /* Sunday */
  ck_assert_int_eq(val_table_daytype(two, SATURDAY + 2 * 86400), 0);     /* Monday */
  /* 1970-01-01 was a Thursday; 1969-12-31 a Wednesday; 1969-12-27 a Saturday. */
  ck_assert_int_eq(val_table_daytype(two, 0), 0);
  ck_assert_int_eq(val_table_daytype(two, -1), 0);
  ck_assert_int_eq(val_table_daytype(two, -5 * 86400), 1);
  ck_assert_int_eq(val_table_daytype(two, -4 * 86400 + 86399), 1);
  ck_assert_int_eq(val_table_daytype(two, -3 * 86400), 0);
  val_table_free(one);
  val_table_free(two);
}
END_TEST

/* --- val_table_set / raw / count --------------------------------------------- */

START_TEST(test_set_raw_count) {
  val_table *t = new_table(2);
  val_table_set(t, 1, 7, centre, -3.25, 4);
  ck_assert_double_eq(val_table_raw(t, 1, 7, centre), -3.25);
  ck_assert_uint_eq(val_table_count(t, 1, 7, centre), 4);
  ck_assert_uint_eq(val_table_count(t, 0, 7, centre), 0);
  ck_assert_double_eq(val_table_get(t, centre, SATURDAY + 7 * 600), -3.25);
  /* Count 0 makes the state unseen again: it falls back (to 0 here). */
  val_table_set(t, 1, 7, centre, 9.0, 0);
  ck_assert_double_eq(val_table_get(t, centre, SATURDAY + 7 * 600), 0.0);
  int64_t n_seen = 0;
  val_table_stats(t, NULL, NULL, &n_seen);
  ck_assert_int_eq(n_seen, 0);
  val_table_free(t);
}
END_TEST

/* --- val_table_get: fallbacks ------------------------------------------------ */

START_TEST(test_get_fallbacks) {
  val_table *t = new_table(2);
  int64_t at = MONDAY + 9 * 3600; /* slot 54, weekday */
  int32_t s = val_table_slot(t, at);
  /* An empty slot answers 0 everywhere. */
  ck_assert_double_eq(val_table_get(t, centre, at), 0.0);
  /* Seen neighbours: their mean. */
  val_table_set(t, 0, s, nb[0], 4.0, 1);
  val_table_set(t, 0, s, nb[3], 10.0, 2);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 7.0, EPS);
  /* A far cell with no seen neighbour: the slot's mean of seen cells. */
  val_table_set(t, 0, s, nb[1], 1.0, 1);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 5.0, EPS);
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at), 5.0, EPS);
  /* A seen state answers its own value, never the fallback. */
  val_table_set(t, 0, s, centre, -2.0, 1);
  ck_assert_double_eq(val_table_get(t, centre, at), -2.0);
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at), 13.0 / 4, EPS);
  /* Rewriting a seen state keeps the slot mean right. */
  val_table_set(t, 0, s, centre, 2.0, 3);
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at), 17.0 / 4, EPS);
  /* Other slots and the other day type know nothing of it. */
  ck_assert_double_eq(val_table_get(t, centre, at + 600), 0.0);
  ck_assert_double_eq(val_table_get(t, centre, SATURDAY + 9 * 3600), 0.0);
  /* cell < 0 or beyond the grid: 0. */
  ck_assert_double_eq(val_table_get(t, -1, at), 0.0);
  ck_assert_double_eq(val_table_get(t, grid.n_cells, at), 0.0);
  /* A cell on the grid's edge with neighbours off the grid still works. */
  val_table_set(t, 0, s, 1, 8.0, 1);
  ck_assert_double_eq_tol(val_table_get(t, 0, at), 8.0, EPS);
  val_table_free(t);
}
END_TEST

/* --- val_discount ------------------------------------------------------------ */

START_TEST(test_discount) {
  val_config c;
  val_config_defaults(&c);
  ck_assert_double_eq(val_discount(&c, 0), 1.0);
  ck_assert_double_eq_tol(val_discount(&c, 600), 0.9, EPS);
  ck_assert_double_eq_tol(val_discount(&c, 1200), 0.81, EPS);
  ck_assert_double_eq_tol(val_discount(&c, 300), sqrt(0.9), EPS);
  ck_assert_double_eq_tol(val_discount(&c, 1800), 0.729, EPS);
  c.gamma = 1.0;
  ck_assert_double_eq(val_discount(&c, 12345), 1.0);
  c.gamma = 0.5;
  c.gamma_period_s = 60;
  ck_assert_double_eq_tol(val_discount(&c, 120), 0.25, EPS);
}
END_TEST

/* The spread reward against the integral it stands for, by the midpoint
 * rule with many steps: the mean of R gamma^(t / P) over the ride, after the
 * wait. */
static double spread_by_quadrature(double gamma, double period, double r, double wait,
                                   double ride) {
  if (ride <= 0) return r * pow(gamma, wait / period);
  enum { K = 200000 };
  double sum = 0, h = ride / K;
  for (int k = 0; k < K; k++) sum += pow(gamma, (wait + (k + 0.5) * h) / period);
  return r * sum / K;
}

START_TEST(test_trip_reward) {
  val_config c;
  val_config_defaults(&c);
  /* a ride of one period: R (1 - 0.9) / ln(1 / 0.9), by hand */
  ck_assert_double_eq_tol(val_trip_reward(&c, 6, 0, 600), 6 * 0.1 / log(1 / 0.9), EPS);
  /* a 3-minute ride is discounted by its own length, not a whole period */
  ck_assert_double_eq_tol(val_trip_reward(&c, 6, 0, 180), 6 * (1 - pow(0.9, 0.3)) /
                                                             (0.3 * log(1 / 0.9)), EPS);
  ck_assert_double_gt(val_trip_reward(&c, 6, 0, 180), 6 * 0.98);
  /* the wait discounts the whole fare */
  ck_assert_double_eq_tol(val_trip_reward(&c, 6, 300, 600),
                          sqrt(0.9) * val_trip_reward(&c, 6, 0, 600), EPS);
  /* instant rides earn the fare; tiny ones almost */
  ck_assert_double_eq(val_trip_reward(&c, 6, 0, 0), 6.0);
  ck_assert_double_eq_tol(val_trip_reward(&c, 6, 0, 1e-9), 6.0, 1e-12);
  ck_assert_double_eq_tol(val_trip_reward(&c, 6, 0, 1e-3), 6.0 * (1 - 1e-3 / 1200 * log(1 / 0.9)),
                          1e-12);
  ck_assert_double_eq(val_trip_reward(&c, 0, 100, 1800), 0.0);
  /* against quadrature for assorted rides and waits */
  double rides[] = {1, 59, 180, 599, 600, 601, 1800, 3600, 7200};
  double waits[] = {0, 1, 120, 900};
  for (size_t i = 0; i < sizeof rides / sizeof rides[0]; i++)
    for (size_t j = 0; j < sizeof waits / sizeof waits[0]; j++) {
      double want = spread_by_quadrature(0.9, 600, 10, waits[j], rides[i]);
      ck_assert_msg(fabs(val_trip_reward(&c, 10, waits[j], rides[i]) - want) < 1e-9,
                    "ride %g wait %g: %.15g vs %.15g", rides[i], waits[j],
                    val_trip_reward(&c, 10, waits[j], rides[i]), want);
    }
  /* gamma 1: the whole fare, whatever the length */
  c.gamma = 1.0;
  for (double dt = 0; dt < 10000; dt += 777) ck_assert_double_eq(val_trip_reward(&c, 6, dt, dt), 6.0);
}
END_TEST

/* --- val_spread_reward ------------------------------------------------------- */

START_TEST(test_spread_reward) {
  val_config c;
  val_config_defaults(&c);
  for (double dt = 0; dt < 5000; dt += 123)
    ck_assert_double_eq(val_spread_reward(&c, 7, dt), val_trip_reward(&c, 7, 0, dt));
  /* decreasing in the ride's length, between gamma^(dt / P) R and R */
  double last = 7.0;
  for (double dt = 30; dt < 5000; dt += 30) {
    double r = val_spread_reward(&c, 7, dt);
    ck_assert_double_lt(r, last);
    ck_assert_double_gt(r, 7 * pow(0.9, dt / 600));
    last = r;
  }
  ck_assert_double_eq_tol(val_spread_reward(&c, -6, 1800), -val_spread_reward(&c, 6, 1800), EPS);
}
END_TEST

/* --- val_table_td ------------------------------------------------------------ */

START_TEST(test_td_hand) {
  val_table *t = new_table(1);
  val_config c;
  val_config_defaults(&c);
  int64_t t0 = MONDAY + 8 * 3600, t1 = t0 + 600;
  int32_t s0 = val_table_slot(t, t0), s1 = val_table_slot(t, t1);
  val_table_set(t, 0, s0, centre, 0.0, 1);
  val_table_set(t, 0, s1, far_cell, 10.0, 1);
  /* R_gamma = 6 * 0.1 / ln(1 / 0.9), target = R_gamma + 0.9 * 10, V0 = 0 + 0.5 target. */
  double rg = 6 * 0.1 / log(1 / 0.9), target = rg + 9.0;
  double delta = val_table_td(t, centre, t0, far_cell, t1, 6.0, 0.5);
  ck_assert_double_eq_tol(delta, target, EPS);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), 0.5 * target, EPS);
  ck_assert_uint_eq(val_table_count(t, 0, s0, centre), 2);
  ck_assert_double_eq(val_table_raw(t, 0, s1, far_cell), 10.0); /* successor untouched */
  /* Again: V0 = target / 2 + 0.5 target / 2. */
  ck_assert_double_eq_tol(val_table_td(t, centre, t0, far_cell, t1, 6.0, 0.5), 0.5 * target, EPS);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), 0.75 * target, EPS);

  /* A 3-minute trip inside the slot into another cell: discount 0.9^0.3,
   * not a whole period. */
  int64_t t3 = t0 + 180;
  val_table_set(t, 0, s0, far_cell, 20.0, 1);
  val_table_set(t, 0, s0, centre, 1.0, 1);
  target = val_spread_reward(&c, 6.0, 180) + pow(0.9, 0.3) * 20.0;
  ck_assert_double_eq_tol(val_table_td(t, centre, t0, far_cell, t3, 6.0, 0.25), target - 1.0,
                          1e-9);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), 1.0 + 0.25 * (target - 1.0), 1e-9);

  /* The reward given already discounted (a pickup first): td_r. */
  val_table_set(t, 0, s0, centre, 1.0, 1);
  double r2 = val_trip_reward(&c, 6.0, 120, 480);
  target = r2 + 0.9 * 10.0;
  ck_assert_double_eq_tol(val_table_td_r(t, centre, t0, far_cell, t1, r2, 1.0), target - 1.0,
                          1e-9);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), target, 1e-9);

  /* The episode ends (cell1 < 0): V1 = 0; idling earns nothing. */
  val_table_set(t, 0, s0, centre, 2.0, 1);
  ck_assert_double_eq_tol(val_table_td(t, centre, t0, -1, t1, 3.0, 1.0), 3 * rg / 6 - 2.0, EPS);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), 3 * rg / 6, EPS);
  val_table_set(t, 0, s0, centre, 2.0, 1);
  ck_assert_double_eq_tol(val_table_td(t, centre, t0, far_cell, t1, 0.0, 1.0), 7.0, EPS);

  /* A start off the grid changes nothing. */
  double mean0;
  int64_t seen0, seen1;
  val_table_stats(t, &mean0, NULL, &seen0);
  ck_assert_double_eq(val_table_td(t, -1, t0, far_cell, t1, 6.0, 0.5), 0.0);
  val_table_stats(t, NULL, NULL, &seen1);
  ck_assert_int_eq(seen0, seen1);
  val_table_free(t);
}
END_TEST

/* An unseen start state starts from its fallback, and a successor unseen
 * reads the fallback too. */
START_TEST(test_td_unseen) {
  val_table *t = new_table(1);
  int64_t t0 = MONDAY + 8 * 3600, t1 = t0 + 600;
  int32_t s0 = val_table_slot(t, t0), s1 = val_table_slot(t, t1);
  val_table_set(t, 0, s0, nb[2], 4.0, 1);       /* centre falls back to 4 */
  val_table_set(t, 0, s1, nb[4], 10.0, 1);      /* centre at t1 falls back to 10 */
  double delta = val_table_td(t, centre, t0, centre, t1, 6.0, 0.5);
  double target = 6 * 0.1 / log(1 / 0.9) + 9.0;
  ck_assert_double_eq_tol(delta, target - 4.0, EPS);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s0, centre), 4.0 + 0.5 * (target - 4.0), EPS);
  ck_assert_uint_eq(val_table_count(t, 0, s0, centre), 1);
  ck_assert_uint_eq(val_table_count(t, 0, s1, centre), 0);
  val_table_free(t);
}
END_TEST

/* --- val_table_blend --------------------------------------------------------- */

START_TEST(test_blend) {
  val_table *on = new_table(1), *off = new_table(1);
  int32_t s = 50;
  val_table_set(on, 0, s, centre, 10.0, 3);
  val_table_set(off, 0, s, centre, 20.0, 5);
  /* Seen only online: the offline side contributes its fallback, the mean
   * of its seen neighbours centre (20) and nb[5] (30; nb[0] and nb[5] are
   * adjacent too). */
  val_table_set(on, 0, s, nb[0], 5.0, 2);
  /* Seen only offline: the online side contributes its fallback. */
  val_table_set(off, 0, s, nb[5], 30.0, 1);
  rs_err e = {0};
  ck_assert_int_eq(val_table_blend(on, off, 0.2, &e), 0);
  ck_assert_double_eq_tol(val_table_raw(on, 0, s, centre), 0.2 * 10 + 0.8 * 20, EPS);
  ck_assert_uint_eq(val_table_count(on, 0, s, centre), 5);
  ck_assert_double_eq_tol(val_table_raw(on, 0, s, nb[0]), 0.2 * 5 + 0.8 * 25, EPS);
  ck_assert_uint_eq(val_table_count(on, 0, s, nb[0]), 2);
  ck_assert_uint_eq(val_table_count(on, 0, s, nb[5]), 1);
  /* nb[5]'s online fallback is the mean of its online-seen neighbours
   * centre and nb[0], read before (10, 5) or after (18, 21) they were
   * blended: the walk goes by cell index. */
  double v5 = val_table_raw(on, 0, s, nb[5]);
  double before = 0.2 * (10 + 5) / 2 + 0.8 * 30, after = 0.2 * (18 + 21) / 2 + 0.8 * 30;
  ck_assert_msg(fabs(v5 - (nb[5] > centre && nb[5] > nb[0] ? after : before)) < 1e-9,
                "%.17g", v5);
  /* Unseen on both sides: untouched. */
  ck_assert_uint_eq(val_table_count(on, 0, s, far_cell), 0);
  ck_assert_uint_eq(val_table_count(on, 0, s + 1, centre), 0);
  /* The offline table is not modified. */
  ck_assert_double_eq(val_table_raw(off, 0, s, centre), 20.0);
  ck_assert_uint_eq(val_table_count(off, 0, s, nb[0]), 0);
  /* w = 1 keeps online, w = 0 takes offline. */
  val_table *a = new_table(1), *b = new_table(1);
  val_table_set(a, 0, 3, centre, 1.5, 1);
  val_table_set(b, 0, 3, centre, 2.5, 1);
  ck_assert_int_eq(val_table_blend(a, b, 1.0, NULL), 0);
  ck_assert_double_eq(val_table_raw(a, 0, 3, centre), 1.5);
  ck_assert_int_eq(val_table_blend(a, b, 0.0, NULL), 0);
  ck_assert_double_eq(val_table_raw(a, 0, 3, centre), 2.5);
  /* Shapes differ: refused, online unchanged. */
  val_table *two = new_table(2);
  ck_assert_int_eq(val_table_blend(a, two, 0.5, &e), RS_EINVAL);
  ck_assert_int_eq(e.code, RS_EINVAL);
  ck_assert_double_eq(val_table_raw(a, 0, 3, centre), 2.5);
  val_table_free(two);
  val_table_free(a);
  val_table_free(b);
  val_table_free(on);
  val_table_free(off);
}
END_TEST

/* --- val_table_stats --------------------------------------------------------- */

START_TEST(test_stats) {
  val_table *t = new_table(2);
  double mean = -1, mx = -1;
  int64_t n = -1;
  val_table_stats(t, &mean, &mx, &n);
  ck_assert_double_eq(mean, 0);
  ck_assert_double_eq(mx, 0);
  ck_assert_int_eq(n, 0);
  val_table_set(t, 0, 0, centre, 3.0, 1);
  val_table_set(t, 1, 143, far_cell, -9.0, 2);
  val_table_set(t, 0, 10, nb[0], 0.0, 7);    /* seen with value 0 counts */
  val_table_set(t, 0, 11, nb[1], 100.0, 0);  /* unseen: ignored */
  val_table_stats(t, &mean, &mx, &n);
  ck_assert_double_eq_tol(mean, -2.0, EPS);
  ck_assert_double_eq(mx, 9.0);
  ck_assert_int_eq(n, 3);
  val_table_stats(t, NULL, NULL, NULL); /* every output is optional */
  val_table_free(t);
}
END_TEST

/* --- val_table_clone --------------------------------------------------------- */

START_TEST(test_clone_independent) {
  val_table *t = new_table(2);
  val_table_set(t, 1, 20, nb[0], 6.0, 2);
  val_table_set(t, 1, 20, nb[1], 2.0, 1);
  val_table *c = val_table_clone(t);
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_eq(val_table_grid(c), &grid);
  ck_assert_int_eq(val_table_config(c)->day_types, 2);
  ck_assert_double_eq(val_table_raw(c, 1, 20, nb[0]), 6.0);
  ck_assert_uint_eq(val_table_count(c, 1, 20, nb[0]), 2);
  int64_t tl = SATURDAY + 20 * 600;
  ck_assert_double_eq_tol(val_table_get(c, centre, tl), 4.0, EPS);
  ck_assert_double_eq_tol(val_table_get(c, far_cell, tl), 4.0, EPS);
  /* Writing the clone leaves the original alone, slot sums included. */
  val_table_set(c, 1, 20, nb[0], 100.0, 3);
  val_table_set(c, 1, 20, far_cell, 50.0, 1);
  val_table_td(c, centre, tl, -1, tl + 600, 1.0, 1.0);
  ck_assert_double_eq(val_table_raw(t, 1, 20, nb[0]), 6.0);
  ck_assert_uint_eq(val_table_count(t, 1, 20, far_cell), 0);
  ck_assert_uint_eq(val_table_count(t, 1, 20, centre), 0);
  ck_assert_double_eq_tol(val_table_get(t, far_cell, tl), 4.0, EPS);
  ck_assert_double_eq_tol(val_table_get(t, centre, tl), 4.0, EPS);
  /* And the other way round. */
  val_table_set(t, 1, 20, nb[1], -2.0, 1);
  ck_assert_double_eq(val_table_raw(c, 1, 20, nb[1]), 2.0);
  val_table_free(t);
  val_table_free(c);
}
END_TEST

/* --- against a plain-array reference ---------------------------------------- */

/* The naive model: arrays indexed [dtype][slot][cell], formulas written out
 * term by term (spread reward as an explicit sum). */
typedef struct {
  int32_t n_slots, n_cells;
  double *v;
  uint32_t *n;
} ref_table;

static size_t ref_at(const ref_table *r, int32_t d, int32_t s, int32_t c) {
  return ((size_t)d * (size_t)r->n_slots + (size_t)s) * (size_t)r->n_cells + (size_t)c;
}

static int32_t ref_slot(int64_t tl) {
  int64_t tod = tl % 86400;
  if (tod < 0) tod += 86400;
  return (int32_t)(tod / 600);
}

static int32_t ref_dtype(int64_t tl) {
  int64_t day = tl >= 0 ? tl / 86400 : -((-tl + 86399) / 86400);
  int64_t dow = ((day + 3) % 7 + 7) % 7; /* Monday = 0 */
  return dow >= 5;
}

static double ref_td(ref_table *r, int32_t c0, int64_t t0, int32_t c1, int64_t t1, double reward,
                     double lr) {
  double dt = (double)(t1 - t0);
  /* the continuous spread, (1 - gamma^x) / (x ln(1 / gamma)), written plainly */
  double x = dt / 600;
  double spread = dt > 0 ? reward * (1 - pow(0.9, x)) / (x * log(1 / 0.9)) : reward;
  double v1 = c1 < 0 ? 0.0 : r->v[ref_at(r, ref_dtype(t1), ref_slot(t1), c1)];
  size_t i = ref_at(r, ref_dtype(t0), ref_slot(t0), c0);
  double delta = spread + pow(0.9, x) * v1 - r->v[i];
  r->v[i] += lr * delta;
  r->n[i]++;
  return delta;
}

START_TEST(test_against_reference) {
  pcg32 rng;
  pcg32_seed(&rng, 20160201u, (uint64_t)_i + 1);
  val_table *t = new_table(2);
  ref_table r = {144, grid.n_cells, NULL, NULL};
  size_t states = 2 * 144 * (size_t)grid.n_cells;
  r.v = malloc(states * sizeof *r.v);
  r.n = malloc(states * sizeof *r.n);
  ck_assert_ptr_nonnull(r.v);
  ck_assert_ptr_nonnull(r.n);
  /* Every state seen first, with a random value. */
  for (int32_t d = 0; d < 2; d++)
    for (int32_t s = 0; s < 144; s++)
      for (int32_t c = 0; c < grid.n_cells; c++) {
        double v = pcg32_double(&rng) * 40 - 10;
        val_table_set(t, d, s, c, v, 1);
        r.v[ref_at(&r, d, s, c)] = v;
        r.n[ref_at(&r, d, s, c)] = 1;
      }
  for (int step = 0; step < 20000; step++) {
    /* A week from a Monday, with some times before 1970. */
    int64_t t0 = (pcg32_bounded(&rng, 8) == 0 ? -3 * 86400 : MONDAY) +
                 (int64_t)pcg32_bounded(&rng, 7 * 86400);
    int64_t t1 = t0 + (int64_t)pcg32_bounded(&rng, 3600);
    int32_t c0 = (int32_t)pcg32_bounded(&rng, (uint32_t)grid.n_cells);
    int32_t c1 = pcg32_bounded(&rng, 10) == 0
                     ? -1
                     : (int32_t)pcg32_bounded(&rng, (uint32_t)grid.n_cells);
    double reward = pcg32_bounded(&rng, 4) == 0 ? 0.0 : pcg32_double(&rng) * 30;
    double lr = 0.01 + pcg32_double(&rng) * 0.5;
    double want = ref_td(&r, c0, t0, c1, t1, reward, lr);
    double got = val_table_td(t, c0, t0, c1, t1, reward, lr);
    ck_assert_msg(fabs(got - want) <= 1e-9 * (1 + fabs(want)),
                  "step %d: TD error %.17g, reference %.17g", step, got, want);
  }
  for (int32_t d = 0; d < 2; d++)
    for (int32_t s = 0; s < 144; s++)
      for (int32_t c = 0; c < grid.n_cells; c++) {
        size_t i = ref_at(&r, d, s, c);
        ck_assert_uint_eq(val_table_count(t, d, s, c), r.n[i]);
        ck_assert_msg(fabs(val_table_raw(t, d, s, c) - r.v[i]) <= 1e-9 * (1 + fabs(r.v[i])),
                      "state (%d, %d, %d): %.17g vs %.17g", d, s, c,
                      val_table_raw(t, d, s, c), r.v[i]);
        int64_t tl = (d ? SATURDAY : MONDAY) + s * 600 + 17;
        ck_assert_double_eq(val_table_get(t, c, tl), val_table_raw(t, d, s, c));
      }
  free(r.v);
  free(r.n);
  val_table_free(t);
}
END_TEST

/* --- the time-free layer as the prior ----------------------------------------- */

/* V's unseen states read the layer once it has learnt anything for their
 * day type: U(cell), else the mean of U's updated neighbours, else the mean
 * of every updated cell; an empty layer leaves V's own chain. */
START_TEST(test_free_prior) {
  val_table *t = new_table(2);
  int64_t at = MONDAY + 9 * 3600, sat = SATURDAY + 9 * 3600;
  int32_t s = val_table_slot(t, at);
  /* the slot's own neighbours, while the layer is empty */
  val_table_set(t, 0, s, nb[0], 40.0, 1);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 40.0, EPS);
  ck_assert_int_eq(val_table_free_seen(t, 0), 0);
  ck_assert_double_eq(val_table_free_mean(t, 0), 0.0);
  ck_assert_double_eq(val_table_free_get(t, centre, at), 0.0);
  /* U(nb[2]) and U(nb[4]) learnt: centre (unseen in V and U) reads their
   * mean, whatever V's neighbours say */
  val_table_free_set(t, 0, nb[2], 4.0, 1);
  val_table_free_set(t, 0, nb[4], 10.0, 3);
  ck_assert_int_eq(val_table_free_seen(t, 0), 2);
  ck_assert_double_eq_tol(val_table_free_mean(t, 0), 7.0, EPS);
  ck_assert_double_eq_tol(val_table_free_get(t, centre, at), 7.0, EPS);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 7.0, EPS);
  ck_assert_double_eq_tol(val_table_get(t, centre, at + 3600), 7.0, EPS); /* any slot */
  /* a cell far from both: the mean of the layer */
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at), 7.0, EPS);
  val_table_free_set(t, 0, nb[3], 1.0, 1);
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at), 5.0, EPS);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 5.0, EPS);
  /* its own U first */
  val_table_free_set(t, 0, centre, -3.0, 2);
  ck_assert_double_eq(val_table_get(t, centre, at), -3.0);
  ck_assert_double_eq(val_table_free_raw(t, 0, centre), -3.0);
  ck_assert_uint_eq(val_table_free_count(t, 0, centre), 2);
  /* a seen state of V is its own value */
  ck_assert_double_eq(val_table_get(t, nb[0], at), 40.0);
  /* the weekend's layer is empty: V's own chain there */
  val_table_set(t, 1, s, nb[1], 8.0, 1);
  ck_assert_double_eq_tol(val_table_get(t, centre, sat), 8.0, EPS);
  ck_assert_double_eq(val_table_free_get(t, centre, sat), 0.0);
  /* a count of 0 forgets a cell of the layer */
  val_table_free_set(t, 0, centre, 99.0, 0);
  ck_assert_int_eq(val_table_free_seen(t, 0), 3);
  ck_assert_double_eq_tol(val_table_get(t, centre, at), 5.0, EPS);
  ck_assert_double_eq(val_table_free_get(t, -1, at), 0.0);
  ck_assert_double_eq(val_table_free_get(t, grid.n_cells, at), 0.0);
  /* an update of an unseen cell of U starts from its fallback (5) */
  double err = val_table_free_update(t, centre, at, 17.0, 0.5);
  ck_assert_double_eq_tol(err, 12.0, EPS);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, centre), 11.0, EPS);
  ck_assert_uint_eq(val_table_free_count(t, 0, centre), 1);
  /* a TD step of V bootstraps an unseen next state from U: target 2 +
   * 0.9^(600 / 600) U(far_cell) = 2 + 0.9 x mean(4, 10, 1, 11) */
  double u_far = (4.0 + 10.0 + 1.0 + 11.0) / 4;
  ck_assert_double_eq_tol(val_table_get(t, far_cell, at + 600), u_far, EPS);
  val_table_td_r(t, nb[0], at, far_cell, at + 600, 2.0, 1.0);
  ck_assert_double_eq_tol(val_table_raw(t, 0, s, nb[0]), 2.0 + 0.9 * u_far, 1e-12);
  /* and U's own TD step reads U */
  val_table_free_td_r(t, nb[2], at, far_cell, at + 600, 2.0, 1.0);
  ck_assert_double_eq_tol(val_table_free_raw(t, 0, nb[2]), 2.0 + 0.9 * u_far, 1e-12);
  val_table_free(t);
}
END_TEST

/* --- val_table_flatten -------------------------------------------------------- */

/* A random table flattened, against the definition computed here: every
 * state of a (day type, slot) with a seen state the mean of that slot's seen
 * states (the unseen ones counted once), every seen cell of the layer the
 * mean of its day type's; empty slots untouched; every cell reads the same
 * at any time (an empty slot reads the flat layer); a second flatten
 * changes nothing. */
START_TEST(test_flatten_reference) {
  val_table *t = new_table(2);
  pcg32 r;
  pcg32_seed(&r, 31 + (uint64_t)_i, 5);
  int32_t ns = val_table_n_slots(t), nc = grid.n_cells;
  for (int32_t d = 0; d < 2; d++) {
    for (int32_t s = 0; s < ns; s++)
      for (int32_t c = 0; c < nc; c++)
        if (pcg32_bounded(&r, 3) == 0)
          val_table_set(t, d, s, c, 100 * pcg32_double(&r) - 20, 1 + pcg32_bounded(&r, 9));
    for (int32_t c = 0; c < nc; c++)
      if (pcg32_bounded(&r, 2) == 0 && !(_i == 1 && d == 1))
        val_table_free_set(t, d, c, 60 * pcg32_double(&r), 1 + pcg32_bounded(&r, 5));
  }
  val_table *orig = val_table_clone(t);
  ck_assert_ptr_nonnull(orig);
  val_table_flatten(t);
  for (int32_t d = 0; d < 2; d++) {
    for (int32_t s = 0; s < ns; s++) {
      double sum = 0;
      int32_t n = 0;
      for (int32_t c = 0; c < nc; c++)
        if (val_table_count(orig, d, s, c) > 0) sum += val_table_raw(orig, d, s, c), n++;
      for (int32_t c = 0; c < nc; c++) {
        uint32_t k = val_table_count(orig, d, s, c);
        if (n == 0) {
          ck_assert_uint_eq(val_table_count(t, d, s, c), 0);
          continue;
        }
        ck_assert_uint_eq(val_table_count(t, d, s, c), k > 0 ? k : 1);
        ck_assert_double_eq_tol(val_table_raw(t, d, s, c), sum / n, 1e-9);
      }
    }
    double fsum = 0;
    int32_t fn = 0;
    for (int32_t c = 0; c < nc; c++)
      if (val_table_free_count(orig, d, c) > 0) fsum += val_table_free_raw(orig, d, c), fn++;
    ck_assert_int_eq(val_table_free_seen(t, d), fn);
    for (int32_t c = 0; c < nc; c++) {
      ck_assert_uint_eq(val_table_free_count(t, d, c), val_table_free_count(orig, d, c));
      if (fn > 0)
        /* seen or not, every cell reads the layer's mean now */
        ck_assert_double_eq_tol(val_table_free_get(t, c, d ? SATURDAY : MONDAY), fsum / fn,
                                1e-9);
    }
  }
  /* what a policy reads is the same in every cell of a slot (an empty slot
   * too: some are, with 1/3 of the cells seen at random) */
  for (int64_t at = MONDAY; at < MONDAY + 2 * 86400 && at < SATURDAY + 86400; at += 600) {
    int64_t when = at < MONDAY + 86400 ? at : SATURDAY + (at - MONDAY - 86400);
    double v0 = val_table_get(t, centre, when);
    for (int32_t c = 0; c < nc; c++)
      ck_assert_double_eq_tol(val_table_get(t, c, when), v0, 1e-9);
  }
  val_table *once = val_table_clone(t);
  val_table_flatten(t);
  for (int32_t d = 0; d < 2; d++)
    for (int32_t s = 0; s < ns; s++)
      for (int32_t c = 0; c < nc; c++)
        ck_assert_double_eq_tol(val_table_raw(t, d, s, c), val_table_raw(once, d, s, c), 1e-9);
  val_table_free(once);
  val_table_free(orig);
  val_table_free(t);
}
END_TEST

/* One TCase per public function, each with the grid fixture. */
static TCase *add_case(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_add_unchecked_fixture(tc, setup, NULL);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *vtable_suite(void) {
  Suite *s = suite_create("vtable");
  tcase_add_test(add_case(s, "val_config_defaults"), test_config_defaults);
  TCase *tc = add_case(s, "val_table_new");
  tcase_add_test(tc, test_new_shape);
  tcase_add_test(tc, test_new_errors);
  tcase_add_test(add_case(s, "val_table_slot"), test_slot_boundaries);
  tcase_add_test(add_case(s, "val_table_daytype"), test_daytype);
  tcase_add_test(add_case(s, "val_table_set"), test_set_raw_count);
  tcase_add_test(add_case(s, "val_table_get"), test_get_fallbacks);
  tcase_add_test(add_case(s, "val_discount"), test_discount);
  tcase_add_test(add_case(s, "val_trip_reward"), test_trip_reward);
  tcase_add_test(add_case(s, "val_spread_reward"), test_spread_reward);
  tc = add_case(s, "val_table_td");
  tcase_add_test(tc, test_td_hand);
  tcase_add_test(tc, test_td_unseen);
  tcase_add_loop_test(tc, test_against_reference, 0, 3);
  tcase_add_test(add_case(s, "val_table_blend"), test_blend);
  tcase_add_test(add_case(s, "val_table_stats"), test_stats);
  tcase_add_test(add_case(s, "val_table_clone"), test_clone_independent);
  tcase_add_test(add_case(s, "val_table_free_get"), test_free_prior);
  tcase_add_loop_test(add_case(s, "val_table_flatten"), test_flatten_reference, 0, 2);
  return s;
}

int main(void) { return test_run_suite(vtable_suite()); }

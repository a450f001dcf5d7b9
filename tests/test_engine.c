/*
 * Tests of sim/engine, driven through its C API on real and synthetic data.
 *
 * Real data: the NYC TLC morning of 2016-02-01 (60,540 Manhattan trips,
 * 08:00-12:00) from RIDESIM_DATA, imported once into a temporary trip store
 * before the suite runs. Every invariant, determinism and rule test runs
 * also on the synthetic city's morning rush (07:00-11:00 of a generated day,
 * about 9,750 orders), always: without RIDESIM_DATA those and the other
 * synthetic-city tests still run, and the program then exits 77 (skipped),
 * so the missing data shows.
 *
 * What is checked, beyond sim_engine_check itself, is recomputed here from
 * the public records: every order ends in exactly one final state; no driver
 * holds two trips at once; each driver's five time buckets add up to the
 * horizon; income is the sum of the completed orders' fares; times are
 * ordered and within patience; the travel model's own arithmetic (pickup at
 * match + ceil(ETA), dropoff at pickup + trip time, cancellation at match +
 * min(delay, ETA)); the kpi_series windows follow the orders requested in
 * them (a window's matched orders are those of its requests: never more
 * than 100 %) and add up to the totals; and every
 * decision a policy is handed is well formed (a "spy" policy wraps the real
 * one). Then determinism, common random numbers across policies, the KDD
 * patience-0 rule, certain and impossible cancellation, the results DB, and
 * bad input.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "city_data/import.h"
#include "city_data/synth.h"
#include "city_data/tripstore.h"
#include "dispatch/policy.h"
#include "dispatch/v1d3.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/scenario.h"
#include "tests/testutil.h"

#define DAY 1454284800LL              /* 2016-02-01 00:00, local epoch */
#define FROM (DAY + 8 * 3600)
#define TO (DAY + 12 * 3600)
#define REAL_ORDERS 60540             /* trips of 2016-02-01 08:00-12:00 */
#define REAL_FLEET 3000
#define SLICE 65536                   /* events per sim_engine_step call */

static city_def manhattan, synthetic;
static city_trip *real_trips;         /* NULL when RIDESIM_DATA is unset */
static size_t n_real;
static city_trip *syn_trips;          /* the synthetic morning, always */
static size_t n_syn;
static char tmpdir[256];

/* ------------------------------------------------------------ spy policy */

/* Wraps a real dispatch policy: remembers the fleet as first shown to the
 * policy, and (when asked) checks every decision it is handed. */
typedef struct {
  disp_policy inner;
  const sim_engine *eng;      /* set once the engine exists */
  const sim_scenario *sc;
  int validate;
  int64_t calls, rows, edges;
  int captured;
  int32_t n_drivers;
  double *lat, *lng;          /* fleet at the first call */
  int32_t *cell;
  int64_t bad;                /* malformed decisions seen */
  char first_bad[256];
  int later;                  /* answer later (DISP_PENDING): run_to_end asks
                                 the inner policy and resumes the engine */
  int64_t waits;              /* decisions answered later */
  int shy;                    /* break the maximal promise on purpose: no
                                 answer to the arrival of an order whose
                                 index is a multiple of 4, which leaves it
                                 open (not exhausted) */
} spy;

/* The inner policy's answer, less what a shy spy leaves out. */
static int spy_answer(spy *p, disp_tick *t, rs_err *e) {
  int rc = p->inner.dispatch(p->inner.ctx, t, e);
  if (rc == 0 && p->shy && t->n_rows == 1 && t->row_order[0] % 4 == 0 &&
      t->orders[t->row_order[0]].t_request == t->now)
    t->n_out = 0;
  return rc;
}

static void spy_fail(spy *p, const char *what, int64_t now, int32_t row) {
  if (p->bad++ == 0)
    snprintf(p->first_bad, sizeof p->first_bad, "t=%lld row %d: %s", (long long)now, row, what);
}

static int spy_dispatch(void *ctx, disp_tick *t, rs_err *e) {
  spy *p = ctx;
  p->calls++;
  if (!p->captured) {
    p->captured = 1;
    p->n_drivers = t->n_drivers;
    p->lat = malloc((size_t)t->n_drivers * sizeof *p->lat);
    p->lng = malloc((size_t)t->n_drivers * sizeof *p->lng);
    p->cell = malloc((size_t)t->n_drivers * sizeof *p->cell);
    ck_assert(p->lat && p->lng && p->cell);
    for (int32_t d = 0; d < t->n_drivers; d++) {
      p->lat[d] = t->drivers[d].lat;
      p->lng[d] = t->drivers[d].lng;
      p->cell[d] = t->drivers[d].cell;
    }
  }
  p->rows += t->n_rows;
  p->edges += t->row_ptr[t->n_rows];
  if (p->validate && p->eng) {
    if (t->now != sim_engine_now(p->eng)) spy_fail(p, "tick time is not the engine's", t->now, -1);
    if (t->row_ptr[0] != 0) spy_fail(p, "row_ptr[0] != 0", t->now, -1);
    for (int32_t r = 0; r < t->n_rows; r++) {
      int32_t o = t->row_order[r];
      const disp_order *od = &t->orders[o];
      if (r > 0 && t->row_order[r - 1] >= o) spy_fail(p, "rows not in request order", t->now, r);
      if (sim_engine_order_rec(p->eng, o)->status != SIM_ORDER_WAITING)
        spy_fail(p, "order not waiting", t->now, r);
      if (od->t_request > t->now) spy_fail(p, "order from the future", t->now, r);
      if (p->sc->patience_s > 0 && t->now - od->t_request >= p->sc->patience_s)
        spy_fail(p, "order past its patience", t->now, r);
      int32_t lo = t->row_ptr[r], hi = t->row_ptr[r + 1];
      if (hi < lo || hi - lo > p->sc->top_k) spy_fail(p, "bad row size", t->now, r);
      for (int32_t k = lo; k < hi; k++) {
        int32_t d = t->edge_driver[k];
        const disp_driver *dv = &t->drivers[d];
        if (dv->state != DISP_IDLE &&
            !(dv->state == DISP_REPOSITION && p->sc->repo_dispatchable))
          spy_fail(p, "candidate neither idle nor dispatchable on its way", t->now, r);
        double dist = rs_geo_haversine_r(dv->lat, dv->lng, od->plat, od->plng,
                                           t->city->earth_radius_m);
        if (fabs(dist - t->edge_dist[k]) > 1e-6 * (1 + dist))
          spy_fail(p, "edge distance is not the great-circle distance", t->now, r);
        if (t->edge_dist[k] > t->radius_m + 1e-6) spy_fail(p, "edge beyond radius", t->now, r);
        if (!(t->edge_eta[k] >= 0)) spy_fail(p, "negative ETA", t->now, r);
        if (k > lo) {
          double d0 = t->edge_dist[k - 1], d1 = t->edge_dist[k];
          if (d1 < d0 || (d1 == d0 && t->edge_driver[k - 1] >= d))
            spy_fail(p, "candidates not nearest first", t->now, r);
        }
        for (int32_t j = lo; j < k; j++)
          if (t->edge_driver[j] == d) spy_fail(p, "candidate listed twice", t->now, r);
      }
    }
  }
  if (p->later) return DISP_PENDING;
  return spy_answer(p, t, e);
}

static const disp_solve_stat *spy_stats(void *ctx, int32_t *n) {
  spy *p = ctx;
  *n = 0;
  return p->inner.solve_stats ? p->inner.solve_stats(p->inner.ctx, n) : NULL;
}

/* ------------------------------------------------------------- one run */

typedef struct {
  sim_scenario sc;
  sim_engine *s;
  disp_policy dp;     /* the wrapper the engine sees */
  disp_repolicy rp;
  spy spy;
  city_travel tm;     /* the city's great-circle travel model */
  int64_t from, to;
} run_t;

/* The slice of `trips` with from <= t_request < to, as a new array. */
static city_trip *copy_trips(const city_trip *trips, size_t n, int64_t from, int64_t to,
                             size_t *n_out) {
  city_trip *c = malloc((n ? n : 1) * sizeof *c);
  ck_assert_ptr_nonnull(c);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (trips[i].t_request >= from && trips[i].t_request < to) c[k++] = trips[i];
  *n_out = k;
  return c;
}

/* plain: the wrapper does not pass on the policy's `maximal` promise, so the
 * engine takes none of its shortcuts: every waiting order is decided at
 * every tick with a full candidate search. */
static void run_start_src(run_t *r, const sim_scenario *sc, const city_def *city,
                          const city_trip *trips, size_t n, int64_t from, int64_t to, int plain,
                          size_t chunk) {
  memset(r, 0, sizeof *r);
  r->sc = *sc;
  r->from = from;
  r->to = to;
  rs_err e = {0};
  ck_assert_msg(sim_scenario_validate(sc, &e) == 0, "%s", e.msg);
  disp_options o = {.radius_m = sc->radius_m, .top_k = sc->top_k};
  ck_assert_msg(disp_policy_new(sc->dispatch, &o, &r->spy.inner, &e) == 0, "%s", e.msg);
  ck_assert_msg(disp_repolicy_new(sc->reposition, &o, &r->rp, &e) == 0, "%s", e.msg);
  r->spy.sc = &r->sc;
  r->spy.validate = 1;
  r->dp.name = r->spy.inner.name;
  r->dp.immediate = r->spy.inner.immediate;
  r->dp.maximal = plain ? 0 : r->spy.inner.maximal;
  r->dp.one_row_k = plain ? 0 : r->spy.inner.one_row_k;
  r->dp.ctx = &r->spy;
  r->dp.dispatch = spy_dispatch;
  r->dp.solve_stats = spy_stats;
  size_t k;
  city_trip *c = copy_trips(trips, n, from - sc->warmup_s, to, &k);
  city_travel_gc(city, &r->tm);
  sim_order_source src;
  ck_assert_int_eq(sim_order_source_array(c, k, chunk, &src, &e), 0);
  ck_assert_msg(sim_engine_new_source(&r->sc, &r->tm, src, from, to, NULL, 0, &r->dp, &r->rp,
                                      &r->s, &e) == 0,
                "%s", e.msg);
  r->spy.eng = r->s;
}

static void run_start_as(run_t *r, const sim_scenario *sc, const city_def *city,
                         const city_trip *trips, size_t n, int64_t from, int64_t to, int plain) {
  run_start_src(r, sc, city, trips, n, from, to, plain, 0);
}

static void run_start(run_t *r, const sim_scenario *sc, const city_def *city,
                      const city_trip *trips, size_t n, int64_t from, int64_t to) {
  run_start_as(r, sc, city, trips, n, from, to, 0);
}

static void run_to_end(run_t *r) {
  rs_err e = {0};
  int rc;
  while ((rc = sim_engine_step(r->s, INT64_MAX, SLICE, &e)) == 0 || rc == SIM_STEP_WAIT) {
    if (rc == 0) continue;
    /* a decision answered later: the inner policy answers it now */
    ck_assert(r->spy.later);
    ck_assert_int_eq(sim_engine_pending(r->s), SIM_PENDING_DISPATCH);
    disp_tick *t = sim_engine_pending_tick(r->s);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(sim_engine_pending_repo(r->s));
    /* stepping a waiting engine does nothing */
    int64_t now = sim_engine_now(r->s), events = sim_engine_events(r->s);
    ck_assert_int_eq(sim_engine_step(r->s, INT64_MAX, SLICE, &e), SIM_STEP_WAIT);
    ck_assert_int_eq(sim_engine_now(r->s), now);
    ck_assert_int_eq(sim_engine_events(r->s), events);
    r->spy.waits++;
    ck_assert_msg(spy_answer(&r->spy, t, &e) == 0, "%s", e.msg);
    ck_assert_msg(sim_engine_resume(r->s, &e) == 0, "resume: %s", e.msg);
  }
  ck_assert_msg(rc == 1, "step: %d %s", rc, e.msg);
  ck_assert(sim_engine_done(r->s));
  /* the run ends at the horizon's end, or past it when a drain follows its
   * orders to their end (at the last of them, or at the drain's cap) */
  int64_t now = sim_engine_now(r->s);
  if (r->sc.drain_s == 0) ck_assert_int_eq(now, r->to);
  else ck_assert_int_ge(now, r->to);
  if (r->sc.drain_s > 0) ck_assert_int_le(now, r->to + r->sc.drain_s);
  ck_assert_msg(r->spy.bad == 0, "%lld malformed decisions; first: %s", (long long)r->spy.bad,
                r->spy.first_bad);
}

static void run_free(run_t *r) {
  sim_engine_free(r->s);
  disp_policy_destroy(&r->spy.inner);
  disp_repolicy_destroy(&r->rp);
  free(r->spy.lat);
  free(r->spy.lng);
  free(r->spy.cell);
  memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ invariants */

typedef struct {
  int32_t driver;
  int64_t a, b;   /* [t_match, end) */
  size_t order;
} spell;

static int cmp_spell(const void *x, const void *y) {
  const spell *p = x, *q = y;
  if (p->driver != q->driver) return p->driver < q->driver ? -1 : 1;
  if (p->a != q->a) return p->a < q->a ? -1 : 1;
  return p->order < q->order ? -1 : p->order > q->order;
}

/* Everything a finished run must satisfy, recomputed from its records. */
static void check_run(const run_t *r, size_t expect_orders) {
  const sim_engine *s = r->s;
  const sim_scenario *sc = &r->sc;
  rs_err e = {0};
  ck_assert_msg(sim_engine_check(s, &e) == 0, "%s", e.msg);
  size_t n = sim_engine_n_orders(s);
  ck_assert_uint_eq(n, expect_orders);
  const disp_order *od = sim_engine_orders(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  int32_t nd = sim_engine_n_drivers(s);
  const sim_driver_rec *dr = sim_engine_driver_recs(s);
  int64_t horizon = r->to - r->from;
  int64_t end = sim_engine_now(s); /* where the run closed: to, or the drain's end */
  int64_t last_final = r->to;      /* the latest end of an order */

  /* Orders: one final state each, times in order, the travel model's sums. */
  int64_t count[SIM_ORDER_N_STATES] = {0}, matched = 0;
  double fares = 0;
  int32_t *trips_of = calloc((size_t)nd, sizeof *trips_of);
  double *income_of = calloc((size_t)nd, sizeof *income_of);
  spell *sp = malloc((n ? n : 1) * sizeof *sp);
  ck_assert(trips_of && income_of && sp);
  size_t n_sp = 0;
  for (size_t i = 0; i < n; i++) {
    const sim_order_rec *x = &rec[i];
    ck_assert_msg(x->status == SIM_ORDER_COMPLETED || x->status == SIM_ORDER_CANCELLED ||
                      x->status == SIM_ORDER_EXPIRED || x->status == SIM_ORDER_OPEN,
                  "order %zu ends in state %d", i, x->status);
    count[x->status]++;
    ck_assert(od[i].t_request >= r->from && od[i].t_request < r->to);
    if (i > 0) ck_assert(od[i].t_request >= od[i - 1].t_request);
    if (x->t_match >= 0) {
      matched++;
      ck_assert_msg(x->driver >= 0 && x->driver < nd, "order %zu driver %d", i, x->driver);
      ck_assert_msg(x->t_match >= od[i].t_request, "order %zu matched before its request", i);
      ck_assert_msg(x->t_match - od[i].t_request <= sc->patience_s || sc->patience_s == 0,
                    "order %zu waited %lld s > patience %d", i,
                    (long long)(x->t_match - od[i].t_request), sc->patience_s);
      ck_assert(x->t_match < end);
      ck_assert(isfinite(x->pickup_m) && x->pickup_m >= 0 && x->pickup_m <= sc->radius_m + 1e-6);
      ck_assert(isfinite(x->eta_s) && x->eta_s >= 0);
      int64_t o_end = x->t_final >= 0 ? x->t_final : end;
      ck_assert_msg(o_end >= x->t_match, "order %zu ends before its match", i);
      sp[n_sp++] = (spell){x->driver, x->t_match, o_end, i};
    } else {
      ck_assert_int_eq(x->driver, -1);
      ck_assert(isnan(x->pickup_m) && isnan(x->eta_s));
      ck_assert(x->status == SIM_ORDER_EXPIRED || x->status == SIM_ORDER_OPEN);
    }
    int64_t pickup_at = x->t_match >= 0 ? x->t_match + (int64_t)ceil(x->eta_s) : -1;
    switch (x->status) {
    case SIM_ORDER_COMPLETED:
      ck_assert_msg(od[i].t_request <= x->t_match && x->t_match <= x->t_pickup &&
                        x->t_pickup <= x->t_dropoff,
                    "order %zu: request %lld match %lld pickup %lld dropoff %lld", i,
                    (long long)od[i].t_request, (long long)x->t_match, (long long)x->t_pickup,
                    (long long)x->t_dropoff);
      ck_assert_int_eq(x->t_pickup, pickup_at);
      ck_assert_int_eq(x->t_dropoff, x->t_pickup + od[i].duration_s);
      ck_assert_int_eq(x->t_final, x->t_dropoff);
      ck_assert(x->t_dropoff <= end);
      fares += od[i].fare;
      trips_of[x->driver]++;
      income_of[x->driver] += od[i].fare;
      break;
    case SIM_ORDER_CANCELLED: {
      ck_assert_int_eq(x->t_pickup, -1);
      ck_assert_int_eq(x->t_dropoff, -1);
      int64_t delay = sc->cancel_delay_s < pickup_at - x->t_match ? sc->cancel_delay_s
                                                                  : pickup_at - x->t_match;
      ck_assert_msg(x->t_final == x->t_match + delay, "order %zu cancelled at %lld, not %lld",
                    i, (long long)x->t_final, (long long)(x->t_match + delay));
      break;
    }
    case SIM_ORDER_EXPIRED:
      ck_assert_int_eq(x->t_match, -1);
      ck_assert_int_eq(x->t_pickup, -1);
      if (sc->patience_s > 0) ck_assert_int_eq(x->t_final, od[i].t_request + sc->patience_s);
      break;
    case SIM_ORDER_OPEN:
      ck_assert_int_eq(x->t_final, -1);
      ck_assert_int_eq(x->t_dropoff, -1);
      /* only a run closed before its orders ended leaves any open */
      ck_assert(sc->drain_s != SIM_DRAIN_ALL);
      if (x->t_pickup >= 0) {
        ck_assert_int_eq(x->t_pickup, pickup_at);
        ck_assert(x->t_pickup + od[i].duration_s >= end);
      } else if (x->t_match >= 0) {
        ck_assert(pickup_at >= end || x->t_match + sc->cancel_delay_s >= end);
      } else if (sc->patience_s > 0) {
        ck_assert(od[i].t_request + sc->patience_s >= end);
      }
      break;
    default: break;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (rec[i].t_final > last_final) last_final = rec[i].t_final;
  /* a drain to the last order's end closes at that end, not later */
  if (sc->drain_s == SIM_DRAIN_ALL) ck_assert_int_eq(end, last_final);
  int64_t finals = count[SIM_ORDER_COMPLETED] + count[SIM_ORDER_CANCELLED] +
                   count[SIM_ORDER_EXPIRED] + count[SIM_ORDER_OPEN];
  ck_assert_int_eq(finals, (int64_t)n);

  /* No driver holds two trips: its [t_match, t_final) spells do not overlap. */
  qsort(sp, n_sp, sizeof *sp, cmp_spell);
  for (size_t i = 1; i < n_sp; i++)
    if (sp[i].driver == sp[i - 1].driver)
      ck_assert_msg(sp[i].a >= sp[i - 1].b,
                    "driver %d holds order %zu [%lld, %lld) and order %zu [%lld, %lld)",
                    sp[i].driver, sp[i - 1].order, (long long)sp[i - 1].a,
                    (long long)sp[i - 1].b, sp[i].order, (long long)sp[i].a, (long long)sp[i].b);

  /* Drivers: buckets add up to the horizon; trips and income per driver. */
  double income = 0;
  for (int32_t d = 0; d < nd; d++) {
    int64_t sum = 0;
    for (int k = 0; k < DISP_N_STATES; k++) {
      ck_assert(dr[d].time_s[k] >= 0);
      sum += dr[d].time_s[k];
    }
    ck_assert_msg(sum == horizon, "driver %d: buckets sum to %lld, horizon %lld", d,
                  (long long)sum, (long long)horizon);
    ck_assert_int_eq(dr[d].trips, trips_of[d]);
    ck_assert_msg(fabs(dr[d].income - income_of[d]) <= 1e-9 * (1 + income_of[d]),
                  "driver %d income %.6f, its orders' fares %.6f", d, dr[d].income, income_of[d]);
    ck_assert(dr[d].empty_m >= 0 && dr[d].occupied_m >= 0);
    if (sc->shift_hours <= 0) ck_assert_int_eq(dr[d].time_s[DISP_OFFLINE], 0);
    else /* a shift may begin in the warm-up */
      ck_assert_int_ge(horizon - dr[d].time_s[DISP_OFFLINE],
                       ((int64_t)(sc->shift_hours * 3600) < horizon
                            ? (int64_t)(sc->shift_hours * 3600) : horizon) - sc->warmup_s);
    if (strcmp(sc->reposition, "stay") == 0) ck_assert_int_eq(dr[d].time_s[DISP_REPOSITION], 0);
    income += dr[d].income;
  }

  /* KPIs agree with the records. */
  sim_kpis k;
  sim_engine_kpis(s, &k);
  ck_assert_int_eq(k.orders, (int64_t)n);
  ck_assert_int_eq(k.completed, count[SIM_ORDER_COMPLETED]);
  ck_assert_int_eq(k.cancelled, count[SIM_ORDER_CANCELLED]);
  ck_assert_int_eq(k.expired, count[SIM_ORDER_EXPIRED]);
  ck_assert_int_eq(k.open, count[SIM_ORDER_OPEN]);
  ck_assert_int_eq(k.matched, matched);
  ck_assert_int_eq(k.drivers, nd);
  ck_assert_msg(fabs(k.income - fares) <= 1e-9 * (1 + fares), "income %.6f, fares %.6f",
                k.income, fares);
  ck_assert(fabs(income - fares) <= 1e-9 * (1 + fares));
  ck_assert(k.horizon_s == (double)horizon);
  ck_assert_int_eq(k.events, sim_engine_events(s));
  ck_assert(k.utilisation >= 0 && k.utilisation <= 1);

  /* The windows add up to the totals. */
  size_t nw;
  const sim_window *w = sim_engine_windows(s, &nw);
  ck_assert_uint_eq(nw, (size_t)((horizon + SIM_SERIES_WINDOW_S - 1) / SIM_SERIES_WINDOW_S));
  int64_t req = 0, mat = 0, com = 0, can = 0, exp = 0, ticks = 0;
  double winc = 0;
  for (size_t i = 0; i < nw; i++) {
    ck_assert_int_eq(w[i].t_start, r->from + (int64_t)i * SIM_SERIES_WINDOW_S);
    /* a window follows the orders requested in it: its answer rate is at
     * most 100 %, and its orders end at most once each */
    ck_assert_int_le(w[i].matched, w[i].requests);
    ck_assert_int_le(w[i].completed + w[i].cancelled + w[i].expired, w[i].requests);
    ck_assert_int_le(w[i].completed + w[i].cancelled, w[i].matched);
    int64_t w_req = 0, w_mat = 0;
    for (size_t j = 0; j < n; j++) {
      if ((od[j].t_request - r->from) / SIM_SERIES_WINDOW_S != (int64_t)i) continue;
      w_req++;
      w_mat += rec[j].t_match >= 0;
    }
    ck_assert_int_eq(w[i].requests, w_req);
    ck_assert_int_eq(w[i].matched, w_mat);
    req += w[i].requests;
    mat += w[i].matched;
    com += w[i].completed;
    can += w[i].cancelled;
    exp += w[i].expired;
    winc += w[i].income;
    ticks += w[i].ticks;
  }
  ck_assert_int_eq(req, (int64_t)n);
  ck_assert_int_eq(mat, matched);
  ck_assert_int_eq(com, count[SIM_ORDER_COMPLETED]);
  ck_assert_int_eq(can, count[SIM_ORDER_CANCELLED]);
  ck_assert_int_eq(exp, count[SIM_ORDER_EXPIRED]);
  ck_assert(fabs(winc - fares) <= 1e-9 * (1 + fares));
  ck_assert_int_eq(ticks, (horizon + sc->tick_s - 1) / sc->tick_s);
  free(trips_of);
  free(income_of);
  free(sp);
}

/* ------------------------------------------------------------ data sets */

/* What the invariant, determinism and rule tests run on: the real morning,
 * when RIDESIM_DATA is there, and always a morning of the synthetic city.
 * The thresholds say what a run on the set must at least show, so that no
 * test passes vacuously; the real morning's are those its tests were
 * written with, the synthetic one's hold with a margin for its smaller
 * demand. */
typedef struct {
  const char *name;
  const city_def *city;
  const char *city_name;        /* the scenario's city */
  const city_trip *trips;       /* within the horizon; NULL when absent */
  size_t n;
  int64_t day;                  /* local-epoch midnight */
  int64_t from_s, to_s;         /* the horizon within the day */
  int32_t fleet;
  int64_t synthetic_orders;     /* the day's synthetic demand, 0 for a store */
  int64_t min_calls;            /* invariants: dispatch decisions */
  int32_t short_fleet, short_step; /* shortcuts: fleet short_fleet + i short_step */
  int64_t min_expired_short;    /* shortcuts: expired orders */
  int64_t min_compared;         /* common random numbers: riders compared */
  int64_t min_both_cancelled;   /* ... and cancelled under both policies */
  int64_t min_matched_hour;     /* patience 0, cancellation: matched in the hour */
  int64_t min_expired_hour;     /* patience 0: expired in the hour */
  int64_t max_open_certain;     /* cancellation certain: matched, not cancelled */
} dataset;

static dataset real, syn;

static int64_t ds_from(const dataset *ds) { return ds->day + ds->from_s; }
static int64_t ds_to(const dataset *ds) { return ds->day + ds->to_s; }

/* A scenario for a data set's horizon and fleet, with the given policy. */
static void ds_scenario(sim_scenario *sc, const dataset *ds, const char *dispatch) {
  sim_scenario_defaults(sc);
  snprintf(sc->city, sizeof sc->city, "%s", ds->city_name);
  snprintf(sc->dispatch, sizeof sc->dispatch, "%s", dispatch);
  if (ds->synthetic_orders > 0) sc->synthetic_orders = ds->synthetic_orders;
  sc->drivers = ds->fleet;
  sc->day = ds->day;
  sc->from_s = ds->from_s;
  sc->to_s = ds->to_s;
  /* the thresholds below were measured with the fleet on the first 30
   * minutes' pickups; the look-ahead test covers the default placement */
  snprintf(sc->placement, sizeof sc->placement, "demand");
}

typedef struct {
  const char *dispatch;
  const char *reposition;
  const char *idle_model;
  double shift_hours;
} config;

static const config CONFIGS[] = {
    {"fcfs-nearest", "stay", "stay", 0},
    {"random", "stay", "stay", 0},
    {"batch-distance", "stay", "stay", 0},
    {"fcfs-nearest", "random-walk", "random-walk", 3},
    {"batch-distance", "random-walk", "random-walk", 3},
};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

static void config_scenario(sim_scenario *sc, const dataset *ds, const config *c) {
  ds_scenario(sc, ds, c->dispatch);
  snprintf(sc->reposition, sizeof sc->reposition, "%s", c->reposition);
  snprintf(sc->idle_model, sizeof sc->idle_model, "%s", c->idle_model);
  sc->shift_hours = c->shift_hours;
}

/* ------------------------------------------------------------ invariants */

/* The whole horizon under each configuration, checked once at the end. */
static void invariants_on(const dataset *ds, int i) {
  const config *c = &CONFIGS[i];
  sim_scenario sc;
  config_scenario(&sc, ds, c);
  run_t r;
  run_start(&r, &sc, ds->city, ds->trips, ds->n, ds_from(ds), ds_to(ds));
  ck_assert_uint_eq(sim_engine_n_orders(r.s), ds->n);
  ck_assert_int_eq(sim_engine_n_drivers(r.s), ds->fleet);
  run_to_end(&r);
  ck_assert_int_gt(r.spy.calls, ds->min_calls);
  check_run(&r, ds->n);
  sim_kpis k;
  sim_engine_kpis(r.s, &k);
  /* A sane run serves most riders: a guard against a vacuous pass. */
  ck_assert_msg(k.completed > (int64_t)ds->n / 2, "%s %s: only %lld completed", ds->name,
                c->dispatch, (long long)k.completed);
  ck_assert_int_gt(k.cancelled, 0);
  if (strcmp(c->dispatch, "batch-distance") == 0) ck_assert_int_gt(k.solve_ticks, 0);
  else ck_assert_int_eq(k.solve_ticks, 0);
  fprintf(stderr, "%-9s %-15s %-11s shift %.0f: completed %lld cancelled %lld expired %lld "
          "open %lld events %lld\n", ds->name, c->dispatch, c->reposition, c->shift_hours,
          (long long)k.completed, (long long)k.cancelled, (long long)k.expired,
          (long long)k.open, (long long)k.events);
  run_free(&r);
}

START_TEST(invariants_real_morning) {
  if (real.trips == NULL) return;
  invariants_on(&real, _i);
}
END_TEST

START_TEST(invariants_synthetic) { invariants_on(&syn, _i); }
END_TEST

/* The engine's own check at every tick, on the first half hour. */
static void per_tick_check_on(const dataset *ds, int i) {
  sim_scenario sc;
  config_scenario(&sc, ds, &CONFIGS[i]);
  sc.to_s = ds->from_s + 1800;
  run_t r;
  run_start(&r, &sc, ds->city, ds->trips, ds->n, ds_from(ds), ds_from(ds) + 1800);
  sim_engine_set_check(r.s, 1);
  run_to_end(&r);
  size_t n;
  city_trip *c = copy_trips(ds->trips, ds->n, ds_from(ds), ds_from(ds) + 1800, &n);
  free(c);
  ck_assert_uint_gt(n, 0);
  check_run(&r, n);
  run_free(&r);
}

START_TEST(per_tick_check) {
  if (real.trips == NULL) return;
  per_tick_check_on(&real, _i);
}
END_TEST

START_TEST(per_tick_check_synthetic) { per_tick_check_on(&syn, _i); }
END_TEST

/* ---------------------------------------------------------- determinism */

/* Records x and y of n orders agree to the bit. */
static void assert_same_recs(const sim_order_rec *x, const sim_order_rec *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(x[i].status == y[i].status && x[i].driver == y[i].driver &&
                      x[i].t_match == y[i].t_match && x[i].t_pickup == y[i].t_pickup &&
                      x[i].t_dropoff == y[i].t_dropoff && x[i].t_final == y[i].t_final,
                  "order %zu differs", i);
    ck_assert(memcmp(&x[i].pickup_m, &y[i].pickup_m, sizeof(double)) == 0);
    ck_assert(memcmp(&x[i].eta_s, &y[i].eta_s, sizeof(double)) == 0);
  }
}

/* Two runs agree on their drivers' accounts and their kpi_series. */
static void assert_same_fleet(const run_t *a, const run_t *b) {
  ck_assert_int_eq(sim_engine_events(a->s), sim_engine_events(b->s));
  int32_t nd = sim_engine_n_drivers(a->s);
  ck_assert_int_eq(nd, sim_engine_n_drivers(b->s));
  const sim_driver_rec *p = sim_engine_driver_recs(a->s), *q = sim_engine_driver_recs(b->s);
  for (int32_t d = 0; d < nd; d++) {
    ck_assert_msg(p[d].income == q[d].income && p[d].trips == q[d].trips &&
                      p[d].empty_m == q[d].empty_m && p[d].occupied_m == q[d].occupied_m,
                  "driver %d differs", d);
    for (int k = 0; k < DISP_N_STATES; k++) ck_assert_int_eq(p[d].time_s[k], q[d].time_s[k]);
  }
  size_t nwa, nwb;
  const sim_window *u = sim_engine_windows(a->s, &nwa), *v = sim_engine_windows(b->s, &nwb);
  ck_assert_uint_eq(nwa, nwb);
  for (size_t i = 0; i < nwa; i++)
    ck_assert_msg(u[i].t_start == v[i].t_start && u[i].requests == v[i].requests &&
                      u[i].matched == v[i].matched && u[i].completed == v[i].completed &&
                      u[i].cancelled == v[i].cancelled && u[i].expired == v[i].expired &&
                      u[i].income == v[i].income && u[i].wait_sum_s == v[i].wait_sum_s &&
                      u[i].pickup_m_sum == v[i].pickup_m_sum &&
                      u[i].idle_samples == v[i].idle_samples &&
                      u[i].busy_samples == v[i].busy_samples && u[i].ticks == v[i].ticks,
                  "window %zu differs", i);
}

static void assert_same_run(const run_t *a, const run_t *b) {
  size_t n = sim_engine_n_orders(a->s);
  ck_assert_uint_eq(n, sim_engine_n_orders(b->s));
  assert_same_recs(sim_engine_order_recs(a->s), sim_engine_order_recs(b->s), n);
  assert_same_fleet(a, b);
}

/* Every source of randomness in play: random dispatch, random-walk idle
 * moves and repositioning, shifts, fleet placement, cancellations. */
static void random_everything(sim_scenario *sc, const dataset *ds) {
  config_scenario(sc, ds, &CONFIGS[3]);
  snprintf(sc->dispatch, sizeof sc->dispatch, "random");
}

static void determinism_on(const dataset *ds) {
  sim_scenario sc;
  random_everything(&sc, ds);
  run_t a, b;
  run_start(&a, &sc, ds->city, ds->trips, ds->n, ds_from(ds), ds_to(ds));
  run_to_end(&a);
  run_start(&b, &sc, ds->city, ds->trips, ds->n, ds_from(ds), ds_to(ds));
  run_to_end(&b);
  assert_same_run(&a, &b);
  run_free(&b);
  /* Another seed gives another run. */
  sc.seed = 2;
  run_start(&b, &sc, ds->city, ds->trips, ds->n, ds_from(ds), ds_to(ds));
  run_to_end(&b);
  const sim_order_rec *x = sim_engine_order_recs(a.s), *y = sim_engine_order_recs(b.s);
  size_t differ = 0;
  for (size_t i = 0; i < ds->n; i++)
    differ += x[i].driver != y[i].driver || x[i].t_match != y[i].t_match;
  ck_assert_msg(differ > ds->n / 10, "seed 2 changed only %zu orders", differ);
  run_free(&b);
  run_free(&a);
}

START_TEST(determinism) {
  if (real.trips == NULL) return;
  determinism_on(&real);
}
END_TEST

START_TEST(determinism_synthetic) { determinism_on(&syn); }
END_TEST

/* The engine's shortcuts for immediate policies: an order left without a
 * candidate waits in its cell's list and is looked at again only through a
 * fresh driver within reach (each fresh driver's stream of reachable orders,
 * oldest first), and a one-order decision of fcfs-nearest searches one
 * candidate. Against the plain path (the same policy without its `maximal`
 * promise: every waiting order decided at every tick by a full search) the
 * run must be the same. K above the fleet cuts no candidate list short, so
 * the two paths see the same candidates. Short fleets make orders wait;
 * idle drift, shifts and repositioning make drivers come free in many ways. */
static void shortcuts_on(const dataset *ds, int i) {
  sim_scenario sc;
  config_scenario(&sc, ds, &CONFIGS[i % 2 ? 3 : 0]);
  if (i >= 2) snprintf(sc.dispatch, sizeof sc.dispatch, "random");
  if (i == 3) sc.repo_dispatchable = 1;
  sc.drivers = ds->short_fleet + ds->short_step * i;
  sc.top_k = 2 * sc.drivers;
  sc.seed = 10 + (uint64_t)i;
  run_t a, b;
  int64_t from = ds_from(ds);
  run_start_as(&a, &sc, ds->city, ds->trips, ds->n, from, from + 5400, 0);
  run_start_as(&b, &sc, ds->city, ds->trips, ds->n, from, from + 5400, 1);
  run_to_end(&a);
  run_to_end(&b);
  /* the plain path decides far more rows: the shortcuts were taken */
  ck_assert_int_gt(b.spy.rows, 2 * a.spy.rows);
  sim_kpis k;
  sim_engine_kpis(a.s, &k);
  ck_assert_int_gt(k.expired, ds->min_expired_short); /* orders did wait, and many in vain */
  assert_same_run(&a, &b);
  run_free(&a);
  run_free(&b);
}

START_TEST(shortcuts_match_plain_path) {
  if (real.trips == NULL) return;
  shortcuts_on(&real, _i);
}
END_TEST

START_TEST(shortcuts_match_plain_path_synthetic) { shortcuts_on(&syn, _i); }
END_TEST

/* A policy that answers every decision later (an external agent, the
 * Python binding) gives the same run as the same policy answering at once:
 * the engine resumes where each decision was taken, also inside the
 * shortcuts of an immediate policy (an order's arrival, the streams of
 * exhausted orders around fresh drivers, the chunks of open rows). Short
 * fleets make orders wait and exhaust; config 3 adds idle drift, shifts
 * and repositioning. Built-in policies leave hardly any order open, so in
 * the last third the immediate policies skip some orders' arrival
 * (spy.shy), which sends their ticks through the chunks. */
static void later_on(const dataset *ds, int i) {
  static const char *const policy[] = {"fcfs-nearest", "random", "batch-distance"};
  sim_scenario sc;
  config_scenario(&sc, ds, &CONFIGS[i / 3 == 1 ? 3 : 0]);
  snprintf(sc.dispatch, sizeof sc.dispatch, "%s", policy[i % 3]);
  sc.drivers = ds->short_fleet + ds->short_step * i;
  sc.seed = 20 + (uint64_t)i;
  run_t a, b;
  int64_t from = ds_from(ds);
  run_start(&a, &sc, ds->city, ds->trips, ds->n, from, from + 5400);
  run_start(&b, &sc, ds->city, ds->trips, ds->n, from, from + 5400);
  b.spy.later = 1;
  a.spy.shy = b.spy.shy = i / 3 == 2;
  run_to_end(&a);
  run_to_end(&b);
  ck_assert_int_eq(b.spy.waits, b.spy.calls);
  ck_assert_int_eq(a.spy.calls, b.spy.calls);
  ck_assert_int_eq(a.spy.rows, b.spy.rows);
  ck_assert_int_gt(b.spy.waits, 100);
  assert_same_run(&a, &b);
  run_free(&a);
  run_free(&b);
}

START_TEST(answered_later) {
  if (real.trips == NULL) return;
  later_on(&real, _i);
}
END_TEST

START_TEST(answered_later_synthetic) { later_on(&syn, _i); }
END_TEST

/* How the run is sliced (the run loop's slices, paced mode's time limits)
 * must not change anything: many small steps give the same run as one. */
static void slicing_on(const dataset *ds) {
  sim_scenario sc;
  random_everything(&sc, ds);
  sc.to_s = ds->from_s + 3600;
  int64_t from = ds_from(ds);
  run_t a, b;
  run_start(&a, &sc, ds->city, ds->trips, ds->n, from, from + 3600);
  run_to_end(&a);
  run_start(&b, &sc, ds->city, ds->trips, ds->n, from, from + 3600);
  rs_err e = {0};
  int rc = 0;
  int64_t limit = from;
  for (int i = 0; rc == 0; i++) {
    /* alternate event-count slices and time limits, some in the past */
    if (i % 3 == 0) limit += 7;
    int64_t lim = i % 5 == 4 ? from : (i % 3 == 1 ? INT64_MAX : limit);
    int64_t was = sim_engine_now(b.s);
    rc = sim_engine_step(b.s, lim, 1 + i % 13, &e);
    ck_assert_msg(rc >= 0, "%s", e.msg);
    /* a time limit holds the clock (which never goes back) */
    if (lim != INT64_MAX) ck_assert_int_le(sim_engine_now(b.s), lim > was ? lim : was);
  }
  ck_assert_int_eq(rc, 1);
  assert_same_run(&a, &b);
  run_free(&b);
  run_free(&a);
}

START_TEST(determinism_across_slicing) {
  if (real.trips == NULL) return;
  slicing_on(&real);
}
END_TEST

START_TEST(determinism_across_slicing_synthetic) { slicing_on(&syn); }
END_TEST

/* --------------------------------------------- common random numbers */

static void common_random_numbers_on(const dataset *ds) {
  sim_scenario sa, sb;
  ds_scenario(&sa, ds, "fcfs-nearest");
  ds_scenario(&sb, ds, "batch-distance");
  int64_t from = ds_from(ds), to = ds_to(ds);
  run_t a, b;
  run_start(&a, &sa, ds->city, ds->trips, ds->n, from, to);
  run_start(&b, &sb, ds->city, ds->trips, ds->n, from, to);
  /* Nothing happens before `from`. */
  rs_err e = {0};
  ck_assert_int_eq(sim_engine_step(a.s, from, SLICE, &e), 0);
  ck_assert_int_eq(sim_engine_events(a.s), 0);
  run_to_end(&a);
  run_to_end(&b);
  /* The same fleet, placed identically, whatever the policy. */
  ck_assert(a.spy.captured && b.spy.captured);
  ck_assert_int_eq(a.spy.n_drivers, b.spy.n_drivers);
  for (int32_t d = 0; d < a.spy.n_drivers; d++)
    ck_assert_msg(a.spy.lat[d] == b.spy.lat[d] && a.spy.lng[d] == b.spy.lng[d] &&
                      a.spy.cell[d] == b.spy.cell[d],
                  "driver %d placed differently", d);
  /* The same riders: each rider cancels iff its fixed uniform u is below
   * p(pickup distance), so across the two runs, for an order whose fate
   * was decided in both (cancelled, or picked up):
   *   cancelled in A and p(d_B) >= p(d_A)  =>  cancelled in B
   *   kept in A      and p(d_B) <= p(d_A)  =>  kept in B. */
  const sim_order_rec *x = sim_engine_order_recs(a.s), *y = sim_engine_order_recs(b.s);
  int64_t compared = 0, both_cancelled = 0;
  for (size_t i = 0; i < ds->n; i++) {
    int da = x[i].status == SIM_ORDER_CANCELLED || x[i].t_pickup >= 0;
    int db = y[i].status == SIM_ORDER_CANCELLED || y[i].t_pickup >= 0;
    if (!da || !db) continue;
    double pa = sim_scenario_cancel_p(&sa, x[i].pickup_m);
    double pb = sim_scenario_cancel_p(&sb, y[i].pickup_m);
    int ca = x[i].status == SIM_ORDER_CANCELLED, cb = y[i].status == SIM_ORDER_CANCELLED;
    if (ca && pb >= pa) {
      compared++;
      ck_assert_msg(cb, "order %zu cancelled under fcfs at p=%.4f, kept under batch at p=%.4f",
                    i, pa, pb);
    }
    if (!ca && pb <= pa) {
      compared++;
      ck_assert_msg(!cb, "order %zu kept under fcfs at p=%.4f, cancelled under batch at p=%.4f",
                    i, pa, pb);
    }
    both_cancelled += ca && cb;
  }
  ck_assert_int_gt(compared, ds->min_compared);
  ck_assert_int_gt(both_cancelled, ds->min_both_cancelled);
  run_free(&a);
  run_free(&b);
  /* A different seed places the fleet differently. */
  sa.seed = 99;
  run_t c;
  run_start(&c, &sa, ds->city, ds->trips, ds->n, from, from + 600);
  run_t d;
  sa.seed = 1;
  run_start(&d, &sa, ds->city, ds->trips, ds->n, from, from + 600);
  run_to_end(&c);
  run_to_end(&d);
  int32_t moved = 0;
  for (int32_t i = 0; i < c.spy.n_drivers; i++) moved += c.spy.lat[i] != d.spy.lat[i];
  ck_assert_int_gt(moved, ds->fleet / 2);
  run_free(&c);
  run_free(&d);
}

START_TEST(common_random_numbers) {
  if (real.trips == NULL) return;
  common_random_numbers_on(&real);
}
END_TEST

START_TEST(common_random_numbers_synthetic) { common_random_numbers_on(&syn); }
END_TEST

/* ----------------------------------------------------------- patience 0 */

/* The KDD Cup rule: an order not matched in its dispatch window is lost.
 * Ticks fall at from + 2k; an order's window is the first tick at or after
 * its request. */
static void patience_zero_on(const dataset *ds, int i) {
  const char *policy = i == 0 ? "batch-distance" : "fcfs-nearest";
  sim_scenario sc;
  ds_scenario(&sc, ds, policy);
  sc.patience_s = 0;
  sc.to_s = ds->from_s + 3600;
  int64_t from = ds_from(ds);
  run_t r;
  run_start(&r, &sc, ds->city, ds->trips, ds->n, from, from + 3600);
  run_to_end(&r);
  size_t n = sim_engine_n_orders(r.s);
  check_run(&r, n);
  const disp_order *od = sim_engine_orders(r.s);
  const sim_order_rec *rec = sim_engine_order_recs(r.s);
  int64_t matched = 0, expired = 0, at_request = 0;
  for (size_t j = 0; j < n; j++) {
    int64_t k = (od[j].t_request - from + sc.tick_s - 1) / sc.tick_s;
    int64_t tick = from + k * sc.tick_s;
    if (rec[j].t_match >= 0) {
      matched++;
      if (r.dp.immediate && rec[j].t_match == od[j].t_request) {
        at_request++; /* an immediate policy may match on arrival */
      } else {
        ck_assert_msg(rec[j].t_match == tick, "%s: order %zu requested %lld matched %lld, "
                      "its tick %lld", policy, j, (long long)od[j].t_request,
                      (long long)rec[j].t_match, (long long)tick);
      }
    } else if (rec[j].status == SIM_ORDER_EXPIRED) {
      expired++;
      ck_assert_msg(rec[j].t_final == tick, "order %zu expired at %lld, its tick %lld", j,
                    (long long)rec[j].t_final, (long long)tick);
    } else {
      ck_assert_int_eq(rec[j].status, SIM_ORDER_OPEN);
      ck_assert_int_ge(tick, from + 3600);
    }
  }
  ck_assert_int_gt(matched, ds->min_matched_hour);
  ck_assert_int_gt(expired, ds->min_expired_hour);
  if (!r.dp.immediate) ck_assert_int_eq(at_request, 0);
  run_free(&r);
}

START_TEST(patience_zero) {
  if (real.trips == NULL) return;
  patience_zero_on(&real, _i);
}
END_TEST

START_TEST(patience_zero_synthetic) { patience_zero_on(&syn, _i); }
END_TEST

/* --------------------------------------------------------- cancellation */

static void cancel_certain_and_never_on(const dataset *ds, int i) {
  double p = i == 0 ? 1.0 : 0.0;
  sim_scenario sc;
  ds_scenario(&sc, ds, "fcfs-nearest");
  sc.n_cancel = 2;
  sc.cancel_m[0] = 100;
  sc.cancel_m[1] = 2000;
  sc.cancel_p[0] = sc.cancel_p[1] = p;
  sc.to_s = ds->from_s + 3600;
  int64_t from = ds_from(ds);
  run_t r;
  run_start(&r, &sc, ds->city, ds->trips, ds->n, from, from + 3600);
  run_to_end(&r);
  size_t n = sim_engine_n_orders(r.s);
  check_run(&r, n);
  const sim_order_rec *rec = sim_engine_order_recs(r.s);
  int64_t matched = 0, cancelled = 0;
  for (size_t j = 0; j < n; j++) {
    if (rec[j].t_match < 0) continue;
    matched++;
    cancelled += rec[j].status == SIM_ORDER_CANCELLED;
    if (p == 1.0) {
      ck_assert_msg(rec[j].status == SIM_ORDER_CANCELLED ||
                        (rec[j].status == SIM_ORDER_OPEN && rec[j].t_pickup < 0),
                    "order %zu matched and not cancelled (status %d)", j, rec[j].status);
    } else {
      ck_assert_int_ne(rec[j].status, SIM_ORDER_CANCELLED);
    }
  }
  sim_kpis k;
  sim_engine_kpis(r.s, &k);
  ck_assert_int_gt(matched, ds->min_matched_hour);
  if (p == 1.0) {
    ck_assert_int_gt(cancelled, matched - ds->max_open_certain);
    ck_assert_int_eq(k.completed, 0);
    ck_assert(k.income == 0);
    const sim_driver_rec *dr = sim_engine_driver_recs(r.s);
    for (int32_t d = 0; d < sim_engine_n_drivers(r.s); d++)
      ck_assert_int_eq(dr[d].time_s[DISP_OCCUPIED], 0);
  } else {
    ck_assert_int_eq(cancelled, 0);
    ck_assert_int_eq(k.cancelled, 0);
    ck_assert(k.cancellation_rate == 0);
  }
  run_free(&r);
}

START_TEST(cancel_certain_and_never) {
  if (real.trips == NULL) return;
  cancel_certain_and_never_on(&real, _i);
}
END_TEST

START_TEST(cancel_certain_and_never_synthetic) { cancel_certain_and_never_on(&syn, _i); }
END_TEST

/* ----------------------------------------------------------- results DB */

#define SYN_ORDERS 5000
#define SYN_FLEET 300

static city_trip *synthetic_trips(uint64_t seed, size_t *n) {
  city_synth_opts o = {seed, SYN_ORDERS, CITY_SYNTH_DEFAULT_DAY};
  city_trip *t;
  rs_err e = {0};
  ck_assert_msg(city_synth_generate(&synthetic, &o, &t, n, &e) == 0, "%s", e.msg);
  return t;
}

static int64_t q_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                sqlite3_errmsg(db));
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int64_t q_intf(sqlite3 *db, const char *fmt, int64_t a) {
  char sql[1024];
  snprintf(sql, sizeof sql, fmt, (long long)a, (long long)a);
  return q_int(db, sql);
}

/* One synthetic run recorded in the results DB at `path`; its run id. */
static int64_t synthetic_run_to_db(const char *path, const city_trip *all, size_t n_all,
                                   sim_kpis *k, size_t *n_orders) {
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  snprintf(sc.dispatch, sizeof sc.dispatch, "batch-distance");
  snprintf(sc.idle_model, sizeof sc.idle_model, "random-walk");
  sc.synthetic_orders = SYN_ORDERS;
  sc.drivers = SYN_FLEET;
  sc.day = CITY_SYNTH_DEFAULT_DAY;
  sc.from_s = 6 * 3600;
  sc.to_s = 10 * 3600;
  int64_t from = sc.day + sc.from_s, to = sc.day + sc.to_s;
  run_t r;
  run_start(&r, &sc, &synthetic, all, n_all, from, to);
  run_to_end(&r);
  *n_orders = sim_engine_n_orders(r.s);
  check_run(&r, *n_orders);
  sim_engine_kpis(r.s, k);
  sim_results *res;
  rs_err e = {0};
  ck_assert_msg(sim_results_open(path, &res, &e) == 0, "%s", e.msg);
  char *scen = sim_scenario_to_json(&sc);
  ck_assert_ptr_nonnull(scen);
  int64_t id;
  ck_assert_msg(sim_results_begin_run(res, scen, sc.seed, "test", r.dp.name, r.rp.name, from,
                                      to, &id, &e) == 0, "%s", e.msg);
  ck_assert_msg(sim_results_finish_run(res, id, r.s, k, "completed", 0.5, NULL, &e) == 0, "%s",
                e.msg);
  free(scen);
  sim_results_close(res);
  run_free(&r);
  return id;
}

static const char *const TABLE_COLS[][2] = {
    {"orders", "order_id, status, t_request, t_match, t_pickup, t_dropoff, driver, pickup_m,"
               " eta_s, fare"},
    {"drivers", "driver, income, online_s, idle_s, pickup_s, occupied_s, reposition_s,"
                " offline_s, trips, empty_m, occupied_m"},
    {"kpi_series", "t_start, requests, matched, completed, cancelled, expired, income,"
                   " wait_mean_s, pickup_m_mean, idle_drivers_mean, busy_drivers_mean"},
    {"solver_ticks", "t, orders, drivers, edges"},
};

START_TEST(results_db) {
  char path[512];
  snprintf(path, sizeof path, "%s/results.db", tmpdir);
  unlink(path);
  size_t n_all;
  city_trip *all = synthetic_trips(1, &n_all);
  sim_kpis k1, k2;
  size_t n1, n2;
  int64_t id1 = synthetic_run_to_db(path, all, n_all, &k1, &n1);
  int64_t id2 = synthetic_run_to_db(path, all, n_all, &k2, &n2);
  free(all);
  ck_assert_int_ne(id1, id2);
  ck_assert_uint_eq(n1, n2);
  ck_assert_uint_gt(n1, 500);
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  ck_assert_int_eq(q_int(db, "SELECT count(*) FROM runs"), 2);
  ck_assert_int_eq(q_int(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), 2);
  ck_assert_int_eq(q_int(db, "SELECT count(*) FROM meta WHERE key = 'app'"
                             " AND value = 'ridesim-results'"), 1);
  int64_t ids[2] = {id1, id2};
  for (int i = 0; i < 2; i++) {
    int64_t id = ids[i];
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM orders WHERE run_id = %lld", id),
                     (int64_t)n1);
    ck_assert_int_eq(q_intf(db, "SELECT count(DISTINCT order_id) FROM orders WHERE run_id = %lld",
                            id), (int64_t)n1);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM drivers WHERE run_id = %lld", id),
                     SYN_FLEET);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM kpi_series WHERE run_id = %lld", id),
                     4 * 3600 / SIM_SERIES_WINDOW_S);
    ck_assert_int_eq(q_intf(db, "SELECT orders FROM runs WHERE id = %lld", id), (int64_t)n1);
    ck_assert_int_eq(q_intf(db, "SELECT drivers FROM runs WHERE id = %lld", id), SYN_FLEET);
    ck_assert_int_eq(q_intf(db, "SELECT events FROM runs WHERE id = %lld", id), k1.events);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM orders WHERE run_id = %lld"
                                " AND status = 'completed'", id), k1.completed);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM orders WHERE run_id = %lld"
                                " AND status = 'cancelled'", id), k1.cancelled);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM orders WHERE run_id = %lld"
                                " AND t_match IS NOT NULL", id), k1.matched);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM orders WHERE run_id = %lld AND status"
                                " NOT IN ('completed', 'cancelled', 'expired', 'open')", id), 0);
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM drivers WHERE run_id = %lld AND"
                                " idle_s + pickup_s + occupied_s + reposition_s + offline_s"
                                " != 14400", id), 0);
    ck_assert_int_eq(q_intf(db, "SELECT sum(requests) FROM kpi_series WHERE run_id = %lld", id),
                     (int64_t)n1);
    /* the solver's ticks: every one in the table, the horizon's in the KPIs */
    ck_assert_int_eq(q_intf(db, "SELECT count(*) FROM solver_ticks s JOIN runs r"
                                " ON r.id = s.run_id WHERE s.run_id = %lld"
                                " AND s.t >= r.t_from AND s.t < r.t_to", id),
                     k1.solve_ticks);
    ck_assert_int_ge(q_intf(db, "SELECT count(*) FROM solver_ticks WHERE run_id = %lld", id),
                     k1.solve_ticks);
    ck_assert_int_eq(q_intf(db, "SELECT json_valid(kpis) AND json_valid(scenario) FROM runs"
                                " WHERE id = %lld", id), 1);
    ck_assert_int_eq(q_intf(db, "SELECT json_extract(kpis, '$.completed') FROM runs"
                                " WHERE id = %lld", id), k1.completed);
  }
  /* The same scenario twice: identical rows, run_id aside. */
  for (size_t t = 0; t < sizeof TABLE_COLS / sizeof TABLE_COLS[0]; t++) {
    char sql[1024];
    for (int dir = 0; dir < 2; dir++) {
      snprintf(sql, sizeof sql,
               "SELECT count(*) FROM (SELECT %s FROM %s WHERE run_id = %lld EXCEPT"
               " SELECT %s FROM %s WHERE run_id = %lld)",
               TABLE_COLS[t][1], TABLE_COLS[t][0], (long long)ids[dir], TABLE_COLS[t][1],
               TABLE_COLS[t][0], (long long)ids[1 - dir]);
      ck_assert_msg(q_int(db, sql) == 0, "%s differs between the runs", TABLE_COLS[t][0]);
    }
  }
  ck_assert_int_eq(q_int(db, "SELECT count(*) FROM (SELECT scenario, seed, t_from, t_to, orders,"
                             " drivers, events FROM runs GROUP BY 1, 2, 3, 4, 5, 6, 7)"), 1);
  sqlite3_close(db);
  /* A file that is not a results DB is refused and left alone. */
  char other[600];
  snprintf(other, sizeof other, "%s/other.db", tmpdir);
  unlink(other);
  ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE x(a); INSERT INTO x VALUES(1);", NULL, NULL,
                                NULL), SQLITE_OK);
  sqlite3_close(db);
  sim_results *res;
  rs_err e = {0};
  ck_assert_int_eq(sim_results_open(other, &res, &e), RS_EFORMAT);
  ck_assert_ptr_null(res);
  unlink(other);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(bad_zero_drivers) {
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = 0;
  disp_options o = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  ck_assert_int_eq(disp_policy_new("fcfs-nearest", &o, &dp, &e), 0);
  ck_assert_int_eq(disp_repolicy_new("stay", &o, &rp, &e), 0);
  size_t n;
  city_trip *t = synthetic_trips(1, &n);
  sim_engine *s = (sim_engine *)&e; /* must be reset to NULL */
  city_travel tm;
  city_travel_gc(&synthetic, &tm);
  int rc = sim_engine_new(&sc, &tm, t, n, CITY_SYNTH_DEFAULT_DAY,
                          CITY_SYNTH_DEFAULT_DAY + 86400, &dp, &rp, &s, &e);
  if (rc == 0) sim_engine_free(s);
  ck_assert_msg(rc == RS_EINVAL, "drivers = 0: rc %d (%s)", rc,
                rc == 0 ? "accepted: the city's default fleet was used" : e.msg);
  ck_assert_ptr_null(s);
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
}
END_TEST

START_TEST(bad_empty_fleet_default) {
  /* drivers -1 takes the city's default fleet; a city without one fails. */
  city_def city = synthetic;
  city.default_fleet = 0;
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  disp_options o = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  ck_assert_int_eq(disp_policy_new("fcfs-nearest", &o, &dp, &e), 0);
  ck_assert_int_eq(disp_repolicy_new("stay", &o, &rp, &e), 0);
  size_t n;
  city_trip *t = synthetic_trips(1, &n);
  sim_engine *s;
  city_travel tm;
  city_travel_gc(&city, &tm);
  ck_assert_int_eq(sim_engine_new(&sc, &tm, t, n, CITY_SYNTH_DEFAULT_DAY,
                                  CITY_SYNTH_DEFAULT_DAY + 86400, &dp, &rp, &s, &e), RS_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(e.msg, "driver"));
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
}
END_TEST

START_TEST(bad_empty_horizon) {
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = 10;
  disp_options o = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  ck_assert_int_eq(disp_policy_new("batch-distance", &o, &dp, &e), 0);
  ck_assert_int_eq(disp_repolicy_new("stay", &o, &rp, &e), 0);
  /* empty, inverted, and longer than the engine's int32_t spell times hold */
  const int64_t ends[3] = {0, -60, (int64_t)INT32_MAX + 1};
  for (int i = 0; i < 3; i++) {
    size_t n;
    city_trip *t = synthetic_trips(1, &n); /* owned by the engine, even on failure */
    sim_engine *s;
    int64_t from = CITY_SYNTH_DEFAULT_DAY + 3600;
    rs_err_clear(&e);
    city_travel tm;
    city_travel_gc(&synthetic, &tm);
    ck_assert_int_eq(sim_engine_new(&sc, &tm, t, 0, from, from + ends[i], &dp, &rp, &s,
                                    &e), RS_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(e.msg, i < 2 ? "empty horizon" : "longer than 2^31"));
  }
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
}
END_TEST

START_TEST(no_trips) {
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = 50;
  snprintf(sc.dispatch, sizeof sc.dispatch, "%s", _i ? "batch-distance" : "fcfs-nearest");
  int64_t from = CITY_SYNTH_DEFAULT_DAY + 6 * 3600, to = from + 3600;
  run_t r;
  run_start(&r, &sc, &synthetic, NULL, 0, from, to);
  r.spy.validate = 0;
  sim_engine_set_check(r.s, 1);
  run_to_end(&r);
  check_run(&r, 0);
  const sim_driver_rec *dr = sim_engine_driver_recs(r.s);
  for (int32_t d = 0; d < 50; d++) {
    ck_assert_int_eq(dr[d].time_s[DISP_IDLE], 3600);
    ck_assert(dr[d].income == 0 && dr[d].trips == 0 && dr[d].empty_m == 0);
  }
  sim_kpis k;
  sim_engine_kpis(r.s, &k);
  ck_assert_int_eq(k.orders, 0);
  ck_assert_int_eq(k.matched + k.completed + k.cancelled + k.expired + k.open, 0);
  ck_assert(k.answer_rate == 0 && k.completion_rate == 0 && k.cancellation_rate == 0);
  ck_assert(k.income == 0 && k.income_per_hour == 0 && k.utilisation == 0);
  ck_assert(k.wait_mean_s == 0 && k.wait_p95_s == 0 && k.empty_km == 0);
  ck_assert_int_eq(k.drivers, 50);
  ck_assert_int_eq(r.spy.calls, 0);
  /* The results writer copes with an empty run. */
  char path[512];
  snprintf(path, sizeof path, "%s/empty%d.db", tmpdir, _i);
  unlink(path);
  sim_results *res;
  rs_err e = {0};
  int64_t id;
  ck_assert_int_eq(sim_results_open(path, &res, &e), 0);
  ck_assert_int_eq(sim_results_begin_run(res, "{}", 1, "test", "x", "y", from, to, &id, &e), 0);
  ck_assert_msg(sim_results_finish_run(res, id, r.s, &k, "completed", 0, NULL, &e) == 0, "%s", e.msg);
  sim_results_close(res);
  run_free(&r);
}
END_TEST

/* An interrupted run (the run loop's SIGINT path) is closed where it
 * stands and must still satisfy the engine's invariants, with every order
 * that arrived accounted for. */
/* Warm-up and drain: the warm-up's orders move the fleet but are in no
 * record, KPI or income; the drain follows every order of the horizon to
 * its end (or to its cap), and the drivers' times stay the horizon's. */
static void warmup_drain_on(const dataset *ds, int i) {
  static const struct {
    const char *dispatch;
    int32_t warmup_s;
    int64_t drain_s;
    double shift_hours;
  } CASES[] = {
      {"fcfs-nearest", 1800, SIM_DRAIN_ALL, 0},
      {"batch-distance", 1800, 600, 0},
      {"fcfs-nearest", 0, 0, 0},
      {"batch-distance", 900, SIM_DRAIN_ALL, 2},
  };
  sim_scenario sc;
  ds_scenario(&sc, ds, CASES[i].dispatch);
  sc.warmup_s = CASES[i].warmup_s;
  sc.drain_s = CASES[i].drain_s;
  sc.shift_hours = CASES[i].shift_hours;
  if (sc.shift_hours > 0) {
    snprintf(sc.reposition, sizeof sc.reposition, "random-walk");
    snprintf(sc.idle_model, sizeof sc.idle_model, "random-walk");
  }
  /* the horizon starts half an hour into the data, so a warm-up has orders */
  sc.from_s = ds->from_s + 1800;
  int64_t from = ds->day + sc.from_s, to = ds_to(ds);
  size_t n_horizon = 0, n_warm = 0;
  for (size_t j = 0; j < ds->n; j++) {
    n_horizon += ds->trips[j].t_request >= from && ds->trips[j].t_request < to;
    n_warm += ds->trips[j].t_request >= from - sc.warmup_s && ds->trips[j].t_request < from;
  }
  ck_assert_uint_gt(n_horizon, 0);
  if (sc.warmup_s > 0) ck_assert_uint_gt(n_warm, 0);
  run_t r;
  run_start(&r, &sc, ds->city, ds->trips, ds->n, from, to);
  ck_assert_int_eq(sim_engine_start(r.s), from - sc.warmup_s);
  ck_assert_int_eq(sim_engine_now(r.s), from - sc.warmup_s);
  ck_assert_uint_eq(sim_engine_n_orders(r.s), n_horizon);
  run_to_end(&r);
  check_run(&r, n_horizon);
  const disp_order *od = sim_engine_orders(r.s);
  ck_assert_int_ge(od[0].t_request, from);
  sim_kpis k;
  sim_engine_kpis(r.s, &k);
  ck_assert_int_eq(k.orders, (int64_t)n_horizon);
  int64_t now = sim_engine_now(r.s);
  ck_assert_int_eq(sim_engine_drain_s(r.s), now - to);
  ck_assert_int_eq(sim_engine_horizon_s(r.s), to - from);
  if (sc.drain_s == SIM_DRAIN_ALL) {
    ck_assert_int_eq(k.open, 0);
    ck_assert_int_gt(now, to); /* some order of the horizon ended after it */
  }
  if (sc.drain_s == 0) ck_assert_int_gt(k.open, 0);
  fprintf(stderr, "%-9s %-15s warm-up %4d s drain %5lld s (cap %lld): completed %lld open %lld\n",
          ds->name, sc.dispatch, sc.warmup_s, (long long)(now - to), (long long)sc.drain_s,
          (long long)k.completed, (long long)k.open);
  run_free(&r);
}

START_TEST(warmup_drain) {
  if (real.trips == NULL) return;
  warmup_drain_on(&real, _i);
}
END_TEST
START_TEST(warmup_drain_synthetic) { warmup_drain_on(&syn, _i); }
END_TEST

START_TEST(close_early) {
  size_t n_all;
  city_trip *all = synthetic_trips(3, &n_all);
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = SYN_FLEET;
  int64_t from = CITY_SYNTH_DEFAULT_DAY + 6 * 3600, to = from + 4 * 3600;
  run_t r;
  run_start(&r, &sc, &synthetic, all, n_all, from, to);
  free(all);
  r.spy.validate = 0;
  rs_err e = {0};
  ck_assert_int_eq(sim_engine_step(r.s, from + 3600, INT64_MAX, &e), 0);
  ck_assert_int_eq(sim_engine_now(r.s), from + 3600);
  sim_engine_close_early(r.s);
  ck_assert(sim_engine_done(r.s));
  ck_assert_int_eq(sim_engine_step(r.s, INT64_MAX, SLICE, &e), 1);
  const sim_driver_rec *dr = sim_engine_driver_recs(r.s);
  for (int32_t d = 0; d < SYN_FLEET; d++) {
    int64_t sum = 0;
    for (int k = 0; k < DISP_N_STATES; k++) sum += dr[d].time_s[k];
    ck_assert_int_eq(sum, 3600);
  }
  /* Orders requested after the stop never arrived: they are not "open". */
  const disp_order *od = sim_engine_orders(r.s);
  const sim_order_rec *rec = sim_engine_order_recs(r.s);
  size_t n = sim_engine_n_orders(r.s), late = 0, late_open = 0;
  for (size_t i = 0; i < n; i++) {
    if (od[i].t_request < from + 3600) continue;
    late++;
    late_open += rec[i].status == SIM_ORDER_OPEN;
  }
  ck_assert_uint_gt(late, 0);
  ck_assert_msg(sim_engine_check(r.s, &e) == 0, "after close_early: %s", e.msg);
  sim_kpis k;
  sim_engine_kpis(r.s, &k);
  ck_assert_msg(late_open == 0, "%zu of %zu orders requested after the stop count as open "
                "(KPI orders %lld, open %lld)", late_open, late, (long long)k.orders,
                (long long)k.open);
  /* kpi_series covers the hour simulated, not the three never reached */
  size_t n_win;
  const sim_window *w = sim_engine_windows(r.s, &n_win);
  ck_assert_uint_eq(n_win, 3600 / SIM_SERIES_WINDOW_S);
  ck_assert_int_eq(w[n_win - 1].t_start, from + 3600 - SIM_SERIES_WINDOW_S);
  int64_t requests = 0;
  for (size_t i = 0; i < n_win; i++) requests += w[i].requests;
  ck_assert_int_eq(requests, k.orders);
  run_free(&r);
}
END_TEST

/* The header does not say the trips must lie in the horizon and be sorted,
 * and sim_engine_new does not check. Either refusing them (RS_EINVAL) or
 * running consistently is acceptable; handling an order before `from`
 * (the clock running backwards) or failing sim_engine_check is not. */
START_TEST(trips_outside_horizon_or_unsorted) {
  size_t n_all;
  city_trip *all = synthetic_trips(1, &n_all);
  int64_t from = CITY_SYNTH_DEFAULT_DAY + 6 * 3600, to = from + 3600;
  size_t k = 0;
  for (size_t i = 0; i < n_all; i++)
    if (all[i].t_request >= from - 3600 && all[i].t_request < to + 3600) all[k++] = all[i];
  ck_assert_uint_gt(k, 100);
  if (_i == 1) { /* in the horizon but unsorted */
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
      if (all[i].t_request >= from && all[i].t_request < to) all[m++] = all[i];
    k = m;
    city_trip tmp = all[0];
    all[0] = all[k - 1];
    all[k - 1] = tmp;
  }
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = 100;
  disp_options o = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  disp_policy dp;
  disp_repolicy rp;
  rs_err e = {0};
  ck_assert_int_eq(disp_policy_new("fcfs-nearest", &o, &dp, &e), 0);
  ck_assert_int_eq(disp_repolicy_new("stay", &o, &rp, &e), 0);
  sim_engine *s;
  city_travel tm;
  city_travel_gc(&synthetic, &tm);
  int rc = sim_engine_new(&sc, &tm, all, k, from, to, &dp, &rp, &s, &e);
  if (rc == 0) {
    while ((rc = sim_engine_step(s, INT64_MAX, SLICE, &e)) == 0) continue;
    ck_assert_int_eq(rc, 1);
    const sim_order_rec *rec = sim_engine_order_recs(s);
    size_t early = 0;
    for (size_t i = 0; i < sim_engine_n_orders(s); i++)
      early += rec[i].t_match >= 0 && rec[i].t_match < from;
    int crc = sim_engine_check(s, &e);
    sim_engine_free(s);
    ck_assert_msg(early == 0, "%s: %zu orders matched before the horizon starts",
                  _i ? "unsorted" : "outside", early);
    ck_assert_msg(crc == 0, "%s trips accepted, then: %s", _i ? "unsorted" : "outside", e.msg);
  } else {
    ck_assert_int_eq(rc, RS_EINVAL);
  }
  disp_policy_destroy(&dp);
  disp_repolicy_destroy(&rp);
}
END_TEST

/* No look-ahead: a run whose orders after a time t are changed (their
 * places swapped among themselves, times and ids kept) must be the same
 * run up to t: the same records of the orders requested before t and the
 * same drivers' accounts, under placement "history" (with the points of
 * the trips before t, and without points). "demand" reads the first 30
 * minutes' pickups, so there the runs must differ: the test can see
 * look-ahead. */
static sim_engine *look_ahead_run(const dataset *ds, const char *placement, const char *dispatch,
                                  const city_trip *t, size_t n, const city_loc *pts, size_t n_pts,
                                  int64_t t_cut, disp_policy *dp, disp_repolicy *rp,
                                  city_travel *tm) {
  sim_scenario sc;
  ds_scenario(&sc, ds, dispatch);
  snprintf(sc.placement, sizeof sc.placement, "%s", placement);
  rs_err e = {0};
  disp_options o = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  ck_assert_msg(disp_policy_new(sc.dispatch, &o, dp, &e) == 0, "%s", e.msg);
  ck_assert_msg(disp_repolicy_new(sc.reposition, &o, rp, &e) == 0, "%s", e.msg);
  city_travel_gc(ds->city, tm);
  size_t k;
  city_trip *c = copy_trips(t, n, ds_from(ds), ds_to(ds), &k);
  sim_engine *s;
  ck_assert_msg(sim_engine_new_placed(&sc, tm, c, k, ds_from(ds), ds_to(ds), pts, n_pts, dp, rp,
                                      &s, &e) == 0, "%s", e.msg);
  int rc = sim_engine_step(s, t_cut, INT64_MAX, &e);
  ck_assert_msg(rc >= 0, "%s", e.msg);
  return s;
}

/* Whether two runs agree on everything before t_cut. */
static int same_before(const sim_engine *a, const sim_engine *b) {
  size_t n = sim_engine_n_requested(a);
  if (n != sim_engine_n_requested(b)) return 0;
  const sim_order_rec *ra = sim_engine_order_recs(a), *rb = sim_engine_order_recs(b);
  for (size_t i = 0; i < n; i++)
    if (ra[i].status != rb[i].status || ra[i].t_match != rb[i].t_match ||
        ra[i].t_pickup != rb[i].t_pickup || ra[i].t_dropoff != rb[i].t_dropoff ||
        ra[i].driver != rb[i].driver ||
        memcmp(&ra[i].pickup_m, &rb[i].pickup_m, sizeof ra[i].pickup_m) != 0)
      return 0;
  int32_t nd = sim_engine_n_drivers(a);
  sim_driver_rec *da = malloc((size_t)nd * sizeof *da);
  ck_assert_ptr_nonnull(da);
  memcpy(da, sim_engine_driver_recs(a), (size_t)nd * sizeof *da);
  const sim_driver_rec *db = sim_engine_driver_recs(b);
  int same = 1;
  for (int32_t d = 0; d < nd && same; d++)
    same = da[d].income == db[d].income && da[d].trips == db[d].trips &&
           da[d].empty_m == db[d].empty_m &&
           memcmp(da[d].time_s, db[d].time_s, sizeof da[d].time_s) == 0;
  free(da);
  return same;
}

static void look_ahead_on(const dataset *ds, int i) {
  static const struct {
    const char *placement, *dispatch;
    int with_pts, must_agree;
  } CASES[] = {
      {"history", "fcfs-nearest", 1, 1}, {"history", "batch-distance", 1, 1},
      {"history", "batch-distance", 0, 1}, {"demand", "batch-distance", 0, 0},
  };
  int64_t t_cut = ds_from(ds) + 1200;
  size_t n = ds->n, first = 0;
  while (first < n && ds->trips[first].t_request < t_cut) first++;
  ck_assert_uint_gt(first, 0);
  ck_assert_uint_gt(n - first, 1);
  /* the changed future: the places of the orders from t_cut on, reversed */
  city_trip *b = malloc(n * sizeof *b);
  ck_assert_ptr_nonnull(b);
  memcpy(b, ds->trips, n * sizeof *b);
  for (size_t j = first; j < n; j++) {
    const city_trip *src = &ds->trips[n - 1 - (j - first)];
    b[j].plat = src->plat;
    b[j].plng = src->plng;
    b[j].dlat = src->dlat;
    b[j].dlng = src->dlng;
    b[j].pcell = src->pcell;
    b[j].dcell = src->dcell;
    b[j].fare = src->fare;
    b[j].distance_m = src->distance_m;
  }
  /* the points known before the start: the first trips' dropoffs stand
   * in for history here (they lie before t_cut and are the same in both) */
  size_t n_pts = first < 500 ? first : 500;
  city_loc *pts = malloc(n_pts * sizeof *pts);
  ck_assert_ptr_nonnull(pts);
  for (size_t j = 0; j < n_pts; j++)
    pts[j] = (city_loc){ds->trips[j].dlat, ds->trips[j].dlng, -1};
  disp_policy dpa, dpb;
  disp_repolicy rpa, rpb;
  city_travel tma, tmb;
  size_t np = CASES[i].with_pts ? n_pts : 0;
  sim_engine *a = look_ahead_run(ds, CASES[i].placement, CASES[i].dispatch, ds->trips, n, pts, np,
                                 t_cut, &dpa, &rpa, &tma);
  sim_engine *c = look_ahead_run(ds, CASES[i].placement, CASES[i].dispatch, b, n, pts, np, t_cut,
                                 &dpb, &rpb, &tmb);
  ck_assert_int_eq(sim_engine_now(a), sim_engine_now(c));
  ck_assert_uint_gt(sim_engine_n_requested(a), 0);
  ck_assert_msg(same_before(a, c) == CASES[i].must_agree,
                "placement %s (%s points): the run before t %s on the orders after it",
                CASES[i].placement, CASES[i].with_pts ? "with" : "no",
                CASES[i].must_agree ? "depends" : "does not depend");
  sim_engine_free(a);
  sim_engine_free(c);
  disp_policy_destroy(&dpa);
  disp_policy_destroy(&dpb);
  disp_repolicy_destroy(&rpa);
  disp_repolicy_destroy(&rpb);
  free(pts);
  free(b);
}

START_TEST(no_look_ahead) {
  if (real.trips == NULL) return;
  look_ahead_on(&real, _i);
}
END_TEST
START_TEST(no_look_ahead_synthetic) { look_ahead_on(&syn, _i); }
END_TEST

/* ------------------------------------------------------------- streaming */

/* What a sink was handed: the orders and records, in the order given. */
typedef struct {
  disp_order *o;
  sim_order_rec *r;
  size_t n, cap;
  size_t calls;
} sunk;

static int sink_keep(void *ctx, const disp_order *o, const sim_order_rec *r, size_t n,
                     rs_err *e) {
  (void)e;
  sunk *k = ctx;
  if (k->n + n > k->cap) {
    k->cap = 2 * (k->n + n);
    k->o = realloc(k->o, k->cap * sizeof *k->o);
    k->r = realloc(k->r, k->cap * sizeof *k->r);
    ck_assert(k->o != NULL && k->r != NULL);
  }
  for (size_t i = 0; i < n; i++) {
    /* an order is handed on once it has ended, never open */
    ck_assert(r[i].status == SIM_ORDER_COMPLETED || r[i].status == SIM_ORDER_CANCELLED ||
              r[i].status == SIM_ORDER_EXPIRED);
  }
  memcpy(k->o + k->n, o, n * sizeof *o);
  memcpy(k->r + k->n, r, n * sizeof *r);
  k->n += n;
  k->calls++;
  return 0;
}

/* The KPIs less the solver's times, which are wall-clock measurements. */
static void kpis_of(const sim_engine *s, sim_kpis *k) {
  sim_engine_kpis(s, k);
  k->solve_p50_us = k->solve_p99_us = k->solve_max_us = 0;
}

/* Orders streamed in small chunks and dropped once ended (a sink) give the
 * run of the whole array: the same records (those handed to the sink, then
 * those still held), drivers, kpi_series and KPIs to the bit, under
 * immediate, batch and random policies, decisions answered later, idle
 * drift, shifts, a warm-up and a drain, and kept rows. */
static void streamed_on(const dataset *ds, int i) {
  /* plain: the policy's maximal promise withheld, so the engine keeps the
   * rows' searches between ticks (candidates.h, kept rows), which the
   * drops renumber */
  static const struct {
    const char *dispatch;
    int config, later, warmup;
    size_t chunk;
    int plain;
  } CASES[] = {
      {"fcfs-nearest", 0, 0, 0, 97, 0},    {"batch-distance", 0, 0, 0, 1, 0},
      {"random", 3, 0, 0, 333, 0},         {"fcfs-nearest", 3, 1, 0, 50, 0},
      {"batch-distance", 0, 1, 1, 200, 0}, {"fcfs-nearest", 0, 0, 1, 1000, 0},
      {"batch-distance", 0, 0, 0, 7, 1},   {"batch-distance", 3, 1, 1, 200, 1},
  };
  sim_scenario sc;
  config_scenario(&sc, ds, &CONFIGS[CASES[i].config]);
  snprintf(sc.dispatch, sizeof sc.dispatch, "%s", CASES[i].dispatch);
  int64_t from = ds_from(ds), to = ds_to(ds);
  if (CASES[i].warmup) {
    /* a warm-up of the horizon's first half hour, and a drain to the end */
    sc.warmup_s = 1800;
    sc.drain_s = SIM_DRAIN_ALL;
    from += 1800;
  }
  run_t a, b;
  run_start_as(&a, &sc, ds->city, ds->trips, ds->n, from, to, CASES[i].plain);
  run_start_src(&b, &sc, ds->city, ds->trips, ds->n, from, to, CASES[i].plain, CASES[i].chunk);
  a.spy.later = b.spy.later = CASES[i].later;
  sunk k = {0};
  sim_engine_set_order_sink(b.s, (sim_order_sink){&k, sink_keep});
  run_to_end(&a);
  run_to_end(&b);
  size_t n = sim_engine_n_orders(a.s);
  ck_assert_uint_eq(sim_engine_n_orders(b.s), n);
  ck_assert_uint_eq(sim_engine_n_requested(b.s), n);
  ck_assert_uint_ge(k.calls, 2);
  ck_assert_uint_eq(sim_engine_n_handed(b.s), k.n);
  ck_assert_uint_eq(sim_engine_n_handed(a.s), 0);
  /* b's records: those handed on, then those held */
  size_t held = n - k.n;
  ck_assert_uint_gt(k.n, n / 2);
  const disp_order *ao = sim_engine_orders(a.s);
  const sim_order_rec *ar = sim_engine_order_recs(a.s);
  for (size_t j = 0; j < k.n; j++) ck_assert_int_eq(k.o[j].id, ao[j].id);
  for (size_t j = 0; j < held; j++) ck_assert_int_eq(sim_engine_orders(b.s)[j].id, ao[k.n + j].id);
  assert_same_recs(ar, k.r, k.n);
  assert_same_recs(ar + k.n, sim_engine_order_recs(b.s), held);
  assert_same_fleet(&a, &b);
  sim_kpis ka, kb;
  kpis_of(a.s, &ka);
  kpis_of(b.s, &kb);
  ck_assert_msg(memcmp(&ka, &kb, sizeof ka) == 0, "the KPIs differ");
  /* (what is held at once is streamed_days' test: in these four hours an
   * order in flight for an hour holds back a good part of them) */
  rs_err e = {0};
  ck_assert_msg(sim_engine_check(b.s, &e) == 0, "%s", e.msg);
  free(k.o);
  free(k.r);
  run_free(&a);
  run_free(&b);
}

START_TEST(streamed) {
  if (real.trips == NULL) return;
  streamed_on(&real, _i);
}
END_TEST

START_TEST(streamed_synthetic) { streamed_on(&syn, _i); }
END_TEST

/* Days of the synthetic city from its source (sim_order_source_synth),
 * its orders dropped as they end: the orders held at once stay a small
 * part of the horizon's (those from the oldest in flight, about an hour,
 * and a day's chunk), the ids ascend over the days and the KPIs are those
 * of the same orders given as one array. */
START_TEST(streamed_days) {
  enum { DAYS = 6, PER_DAY = 6000, FLEET = 150 };
  sim_scenario sc;
  ds_scenario(&sc, &syn, "fcfs-nearest");
  snprintf(sc.placement, sizeof sc.placement, "history");
  sc.drivers = FLEET;
  int64_t from = syn.day, to = syn.day + DAYS * RS_DAY_S;
  rs_err e = {0};
  /* the same orders as one array, gathered from the source itself */
  sim_order_source src;
  ck_assert_int_eq(sim_order_source_synth(&synthetic, 5, PER_DAY, syn.day, DAYS, from, to, NULL, 0,
                                          &src, &e), 0);
  city_trip *all = NULL;
  size_t n_all = 0;
  for (;;) {
    const city_trip *t;
    size_t n;
    ck_assert_msg(src.next(src.ctx, &t, &n, &e) == 0, "%s", e.msg);
    if (n == 0) break;
    all = realloc(all, (n_all + n) * sizeof *all);
    ck_assert_ptr_nonnull(all);
    memcpy(all + n_all, t, n * sizeof *t);
    n_all += n;
  }
  sim_order_source_close(&src);
  ck_assert_uint_eq(n_all, DAYS * PER_DAY);
  for (size_t i = 1; i < n_all; i++)
    ck_assert(all[i].t_request > all[i - 1].t_request ||
              (all[i].t_request == all[i - 1].t_request && all[i].id > all[i - 1].id));
  /* day 0 is the day of the run's seed, as a one-day run has it */
  city_synth_opts o = {5, PER_DAY, syn.day};
  city_trip *d0;
  size_t n0;
  ck_assert_int_eq(city_synth_generate(&synthetic, &o, &d0, &n0, &e), 0);
  ck_assert_uint_eq(n0, PER_DAY);
  ck_assert(memcmp(d0, all, n0 * sizeof *d0) == 0);
  free(d0);

  disp_policy dpa, dpb;
  disp_repolicy rpa, rpb;
  disp_options opt = {.radius_m = sc.radius_m, .top_k = sc.top_k};
  city_travel tm;
  city_travel_gc(&synthetic, &tm);
  ck_assert_int_eq(disp_policy_new(sc.dispatch, &opt, &dpa, &e), 0);
  ck_assert_int_eq(disp_policy_new(sc.dispatch, &opt, &dpb, &e), 0);
  ck_assert_int_eq(disp_repolicy_new(sc.reposition, &opt, &rpa, &e), 0);
  ck_assert_int_eq(disp_repolicy_new(sc.reposition, &opt, &rpb, &e), 0);
  sim_engine *a, *b;
  ck_assert_msg(sim_engine_new(&sc, &tm, all, n_all, from, to, &dpa, &rpa, &a, &e) == 0, "%s",
                e.msg);
  ck_assert_int_eq(sim_order_source_synth(&synthetic, 5, PER_DAY, syn.day, DAYS, from, to, NULL, 0,
                                          &src, &e), 0);
  ck_assert_msg(sim_engine_new_source(&sc, &tm, src, from, to, NULL, 0, &dpb, &rpb, &b, &e) == 0,
                "%s", e.msg);
  sunk k = {0};
  sim_engine_set_order_sink(b, (sim_order_sink){&k, sink_keep});
  ck_assert_int_eq(sim_engine_step(a, INT64_MAX, INT64_MAX, &e), SIM_STEP_DONE);
  ck_assert_int_eq(sim_engine_step(b, INT64_MAX, INT64_MAX, &e), SIM_STEP_DONE);
  ck_assert_uint_eq(sim_engine_n_orders(b), n_all);
  ck_assert_uint_eq(sim_engine_n_handed(b), k.n);
  assert_same_recs(sim_engine_order_recs(a), k.r, k.n);
  assert_same_recs(sim_engine_order_recs(a) + k.n, sim_engine_order_recs(b), n_all - k.n);
  sim_kpis ka, kb;
  kpis_of(a, &ka);
  kpis_of(b, &kb);
  ck_assert_msg(memcmp(&ka, &kb, sizeof ka) == 0, "the KPIs differ");
  /* a day's chunk and the orders in flight, with room to grow: well under
   * the horizon's orders */
  ck_assert_msg(sim_engine_order_capacity(b) <= 2 * (size_t)PER_DAY,
                "held room for %zu orders", sim_engine_order_capacity(b));
  ck_assert_uint_ge(sim_engine_order_capacity(a), n_all);
  free(k.o);
  free(k.r);
  sim_engine_free(a);
  sim_engine_free(b);
  disp_policy_destroy(&dpa);
  disp_policy_destroy(&dpb);
  disp_repolicy_destroy(&rpa);
  disp_repolicy_destroy(&rpb);
}
END_TEST

/* ------------------------------------------------------------- the suite */

/* ------------------------------------------------------ the service area */

/* A dispatch policy that matches nobody: drivers then move only by
 * repositioning and idle steps. */
static int match_nobody(void *ctx, disp_tick *t, rs_err *e) {
  (void)ctx;
  (void)e;
  t->n_out = 0;
  return 0;
}

/* Wraps a repositioning policy: at every round, the flags handed over are
 * the city's cells in service, every driver stands in one, and so does
 * every destination the inner policy chose. */
typedef struct {
  disp_repolicy inner;
  const uint8_t *want;   /* city_def_service_cells, computed here */
  int32_t n_cells;
  int32_t n_drivers;      /* the fleet (r->drivers holds every driver) */
  int64_t rounds, moves, bad;
  char first_bad[160];
} area_spy;

static int area_spy_reposition(void *ctx, disp_repo *r, rs_err *e) {
  area_spy *a = ctx;
  a->rounds++;
  if (r->in_service == NULL || memcmp(r->in_service, a->want, (size_t)a->n_cells) != 0) {
    if (!a->bad++) snprintf(a->first_bad, sizeof a->first_bad, "round %lld: wrong flags",
                            (long long)a->rounds);
    return a->inner.reposition(a->inner.ctx, r, e);
  }
  for (int32_t d = 0; d < a->n_drivers; d++) {
    int32_t c = r->drivers[d].cell;
    if ((c < 0 || !a->want[c]) && !a->bad++)
      snprintf(a->first_bad, sizeof a->first_bad, "round %lld: driver %d (state %d) in cell %d",
               (long long)a->rounds, d, r->drivers[d].state, c);
  }
  int rc = a->inner.reposition(a->inner.ctx, r, e);
  for (int32_t i = 0; rc == 0 && i < r->n_eligible; i++) {
    int32_t c = r->dest_cell[i];
    if (c < 0) continue;
    a->moves++;
    if (!a->want[c] && !a->bad++)
      snprintf(a->first_bad, sizeof a->first_bad, "round %lld: driver %d sent to cell %d",
               (long long)a->rounds, r->eligible[i], c);
  }
  return rc;
}

/* Manhattan's synthetic morning (every pickup and dropoff in the service
 * area), nobody matched, the idle random walk on and random-walk (_i 0) or
 * v1d3 (_i 1, a frozen table whose cells differ) repositioning: drivers start at pickups and must never stand
 * out of service, nor be sent there. Checked at every repositioning round
 * over all drivers; and on the synthetic city, whose box is its area, the
 * grid's margin ring stays empty (_i 2). */
START_TEST(moves_stay_in_service) {
  const city_def *city = _i == 2 ? &synthetic : &manhattan;
  city_synth_opts so = {5, 20000, DAY};
  city_trip *trips = NULL;
  size_t n = 0;
  rs_err e = {0};
  ck_assert_msg(city_synth_generate(city, &so, &trips, &n, &e) == 0, "%s", e.msg);
  size_t k;
  city_trip *c = copy_trips(trips, n, DAY + 7 * 3600, DAY + 10 * 3600, &k);
  free(trips);
  city_grid g;
  ck_assert_int_eq(city_def_grid(city, &g, &e), 0);
  uint8_t *want = malloc((size_t)g.n_cells);
  ck_assert_ptr_nonnull(want);
  int32_t n_in = city_def_service_cells(city, &g, want);
  ck_assert_int_lt(n_in, g.n_cells);

  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.drivers = 600;
  /* its thresholds were set with the fleet on the first pickups */
  snprintf(sc.placement, sizeof sc.placement, "demand");
  snprintf(sc.idle_model, sizeof sc.idle_model, "random-walk");
  sc.idle_step_s = 60;
  sc.repo_idle_s = 120;
  disp_policy dp = {.name = "nobody", .dispatch = match_nobody};
  area_spy as = {.want = want, .n_cells = g.n_cells, .n_drivers = sc.drivers};
  city_travel tm;
  city_travel_gc(city, &tm);
  disp_v1d3 *m = NULL;
  if (_i == 1) {
    disp_v1d3_opts vo;
    disp_v1d3_defaults(&vo);
    /* a frozen table whose cells differ by more than the minimum gain, so
     * that moves pay (an empty table gives no move a gain) */
    vo.mode = DISP_V1D3_OFFLINE;
    val_table *vt = NULL;
    ck_assert_msg(val_table_new(&g, &vo.cfg, &vt, &e) == 0, "%s", e.msg);
    for (int64_t t = DAY + 7 * 3600; t < DAY + 10 * 3600; t += vo.cfg.slot_s)
      for (int32_t cell = 0; cell < g.n_cells; cell++)
        val_table_update(vt, cell, t, (double)(cell % 7) * 3.0, 1.0);
    ck_assert_msg(disp_v1d3_new(&tm, &g, &vo, vt, &m, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(disp_v1d3_reposition(m, &as.inner, &e), 0);
  } else {
    disp_options o = {2000, 32, 3};
    ck_assert_int_eq(disp_repolicy_new("random-walk", &o, &as.inner, &e), 0);
  }
  disp_repolicy rp = {.name = "area-spy", .ctx = &as, .reposition = area_spy_reposition};
  sim_engine *s = NULL;
  ck_assert_msg(sim_engine_new(&sc, &tm, c, k, DAY + 7 * 3600, DAY + 10 * 3600, &dp, &rp, &s,
                               &e) == 0,
                "%s", e.msg);
  int rc;
  while ((rc = sim_engine_step(s, INT64_MAX, SLICE, &e)) == 0) continue;
  ck_assert_msg(rc == 1, "step: %d %s", rc, e.msg);
  ck_assert_msg(as.bad == 0, "%lld bad rounds; first: %s", (long long)as.bad, as.first_bad);
  ck_assert_int_gt(as.rounds, 50);
  ck_assert_int_gt(as.moves, 1000);
  sim_engine_free(s);
  disp_repolicy_destroy(&as.inner);
  disp_v1d3_free(m);
  free(want);
}
END_TEST

static Suite *engine_suite(void) {
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("step_invariants");
  tcase_set_timeout(tc, 1800);
  tcase_add_loop_test(tc, invariants_real_morning, 0, N_CONFIGS);
  tcase_add_loop_test(tc, per_tick_check, 0, N_CONFIGS);
  tcase_add_loop_test(tc, invariants_synthetic, 0, N_CONFIGS);
  tcase_add_loop_test(tc, per_tick_check_synthetic, 0, N_CONFIGS);
  suite_add_tcase(s, tc);
  tc = tcase_create("determinism");
  tcase_set_timeout(tc, 1800);
  tcase_add_test(tc, determinism);
  tcase_add_test(tc, determinism_across_slicing);
  tcase_add_loop_test(tc, shortcuts_match_plain_path, 0, 4);
  tcase_add_test(tc, common_random_numbers);
  tcase_add_test(tc, determinism_synthetic);
  tcase_add_test(tc, determinism_across_slicing_synthetic);
  tcase_add_loop_test(tc, shortcuts_match_plain_path_synthetic, 0, 4);
  tcase_add_test(tc, common_random_numbers_synthetic);
  tcase_add_loop_test(tc, answered_later, 0, 9);
  tcase_add_loop_test(tc, answered_later_synthetic, 0, 9);
  suite_add_tcase(s, tc);
  tc = tcase_create("rules");
  tcase_set_timeout(tc, 1800);
  tcase_add_loop_test(tc, patience_zero, 0, 2);
  tcase_add_loop_test(tc, cancel_certain_and_never, 0, 2);
  tcase_add_loop_test(tc, patience_zero_synthetic, 0, 2);
  tcase_add_loop_test(tc, cancel_certain_and_never_synthetic, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("results");
  tcase_set_timeout(tc, 1800);
  tcase_add_test(tc, results_db);
  suite_add_tcase(s, tc);
  tc = tcase_create("new");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, bad_zero_drivers);
  tcase_add_test(tc, bad_empty_fleet_default);
  tcase_add_test(tc, bad_empty_horizon);
  tcase_add_loop_test(tc, no_trips, 0, 2);
  tcase_add_loop_test(tc, trips_outside_horizon_or_unsorted, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("warmup_drain");
  tcase_set_timeout(tc, 1800);
  tcase_add_loop_test(tc, warmup_drain, 0, 4);
  tcase_add_loop_test(tc, no_look_ahead, 0, 4);
  tcase_add_loop_test(tc, no_look_ahead_synthetic, 0, 4);
  tcase_add_loop_test(tc, warmup_drain_synthetic, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("streamed");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, streamed, 0, 8);
  tcase_add_loop_test(tc, streamed_synthetic, 0, 8);
  tcase_add_test(tc, streamed_days);
  suite_add_tcase(s, tc);
  tc = tcase_create("close_early");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, close_early);
  suite_add_tcase(s, tc);
  tc = tcase_create("service_area");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, moves_stay_in_service, 0, 3);
  suite_add_tcase(s, tc);
  return s;
}

/* Imports the real morning into a temporary store and loads 08:00-12:00. */
static void load_real(const char *data) {
  char csv[1024], db[512];
  snprintf(csv, sizeof csv, "%s/nyc-tlc-2016-02-manhattan-am/2016-02-01.csv", data);
  snprintf(db, sizeof db, "%s/trips.db", tmpdir);
  rs_err e = {0};
  city_store *st;
  if (city_store_open(db, CITY_STORE_WRITE, &manhattan, &st, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    exit(EXIT_FAILURE);
  }
  city_import_opts opts = {.format = CITY_FMT_CSV, .max_speed_mps = 60};
  city_import_stats stats;
  if (city_import_file(st, &manhattan, csv, &opts, &stats, &e) != 0 ||
      city_store_load(st, FROM, TO, &real_trips, &n_real, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    exit(EXIT_FAILURE);
  }
  city_store_close(st);
  unlink(db);
  if (n_real != REAL_ORDERS) {
    fprintf(stderr, "expected %d trips 08:00-12:00, loaded %zu\n", REAL_ORDERS, n_real);
    exit(EXIT_FAILURE);
  }
  real = (dataset){.name = "real", .city = &manhattan, .city_name = "manhattan",
                   .trips = real_trips, .n = n_real, .day = DAY, .from_s = 8 * 3600,
                   .to_s = 12 * 3600, .fleet = REAL_FLEET, .min_calls = 1000,
                   .short_fleet = 300, .short_step = 200, .min_expired_short = 1000,
                   .min_compared = 10000, .min_both_cancelled = 100,
                   .min_matched_hour = 1000, .min_expired_hour = 100,
                   .max_open_certain = 200};
}

/* The synthetic city's morning rush, 07:00-11:00 of a day of SYN_AM_ORDERS
 * orders (about a quarter of them in the horizon), for a fleet that serves
 * most of them. */
#define SYN_AM_ORDERS 40000
#define SYN_AM_FLEET 700

static void load_synthetic(void) {
  rs_err e = {0};
  city_synth_opts o = {7, SYN_AM_ORDERS, CITY_SYNTH_DEFAULT_DAY};
  city_trip *all;
  size_t n_all;
  if (city_synth_generate(&synthetic, &o, &all, &n_all, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    exit(EXIT_FAILURE);
  }
  int64_t from_s = 7 * 3600, to_s = 11 * 3600;
  n_syn = 0;
  for (size_t i = 0; i < n_all; i++)
    if (all[i].t_request >= o.day + from_s && all[i].t_request < o.day + to_s)
      all[n_syn++] = all[i];
  syn_trips = all;
  syn = (dataset){.name = "synthetic", .city = &synthetic, .city_name = "synthetic",
                  .trips = syn_trips, .n = n_syn, .day = o.day, .from_s = from_s,
                  .to_s = to_s, .fleet = SYN_AM_FLEET, .synthetic_orders = SYN_AM_ORDERS,
                  .min_calls = 1000, .short_fleet = 80, .short_step = 50,
                  .min_expired_short = 1000, .min_compared = 4000, .min_both_cancelled = 200,
                  .min_matched_hour = 1000, .min_expired_hour = 50, .max_open_certain = 100};
}

int main(void) {
  rs_err e = {0};
  if (city_def_builtin("manhattan", &manhattan, &e) != 0 ||
      city_def_builtin("synthetic", &synthetic, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    return EXIT_FAILURE;
  }
  if (test_tmpdir(tmpdir, sizeof tmpdir) == NULL) return EXIT_FAILURE;
  const char *data = test_data_dir();
  if (data != NULL) load_real(data);
  else {
    char why[1100];
    fprintf(stderr, "%s: only the synthetic-city tests run\n", test_data_missing(why, sizeof why));
  }
  load_synthetic();
  int rc = test_run_suite(engine_suite());
  free(real_trips);
  free(syn_trips);
  char path[600];
  const char *names[] = {"results.db", "results.db-wal", "results.db-shm", "empty0.db",
                         "empty1.db", "empty0.db-wal", "empty0.db-shm", "empty1.db-wal",
                         "empty1.db-shm"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
    unlink(path);
  }
  rmdir(tmpdir);
  if (rc == EXIT_SUCCESS && data == NULL) return TEST_SKIP;
  return rc;
}

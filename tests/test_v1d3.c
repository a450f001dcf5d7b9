/*
 * Tests of dispatch/v1d3, the value-based dispatch and repositioning of
 * V1D3 and its learner, on the built-in synthetic city's grid.
 *
 * Every expectation is computed here from the published formulas, not from
 * the model's own tables and caches:
 *  - dispatch: the edge weight (1 - p_cancel(d)) (R_gamma + gamma^dt
 *    V(dropoff, t + dt) - V(driver's cell, t)), dt = ceil(ETA) + trip time,
 *    R_gamma = sum_{k<T} gamma^k R / T, is recomputed per edge, and the pairs
 *    the policy chooses are checked against the best matching found by brute
 *    force over all matchings of small random ticks (many random tables, day
 *    types, midnight crossings, trips beyond the tabulated ranges), with and
 *    without serve_first; on knife edges, where two candidates' weights
 *    differ by 1e-7 relative, the policy must pick the heavier; plus two
 *    ticks small enough to check by hand;
 *  - the observer: its online table against val_table_td / val_table_update
 *    applied by the test to a table of its own, bit for bit, with the idle
 *    discount gamma^(tick / period) computed here; and by hand;
 *  - the ensemble blend: once per period, at the first tick at or past each
 *    period boundary, V <- w V + (1 - w) V_offline;
 *  - repositioning: destination frequencies against exp(gamma^dt V(k, t +
 *    dt) / tau) / sum by a chi-square test at a fixed seed, the own cell
 *    reported as "stay" (-1), with drive times from the great-circle travel
 *    model and from a model of the test's own whose places are nodes;
 *  - warm start: a table saved half-way and loaded into a second online
 *    model learns on exactly as the first does;
 *  - the modes and disp_v1d3_new's refusals.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"
#include "dispatch/v1d3.h"
#include "tests/testutil.h"
#include "value/vstore.h"
#include "value/vtable.h"

#define MONDAY 1454284800LL /* 2016-02-01 00:00 local, a Monday */
#define DAY_S 86400
#define POOL_K 2            /* instances draw their cells from a 2-ring ... */
#define POOL_N 19           /* ... of this many cells */

static city_def city;
static city_grid grid;
static city_travel travel;    /* the city's great-circle model */
static int32_t centre;        /* the cell at the box's centre */
static int32_t pool[POOL_N];  /* its 2-ring, centre first */
static int32_t far_cell;      /* a cell far from the pool (global fallback reads) */

/* ------------------------------------------------------------- helpers */

/* ck_assert_msg for loops over many elements: Check records the location
 * of every assertion it passes (a write each), which would dominate. */
#define CHECK(cond, ...)                                                                   \
  do {                                                                                     \
    if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                \
  } while (0)

static double unif(pcg32 *r, double a, double b) { return a + (b - a) * pcg32_double(r); }
static int32_t pick(pcg32 *r, int32_t n) { return (int32_t)pcg32_bounded(r, (uint32_t)n); }

static int in_pool(int32_t cell) {
  for (int32_t i = 0; i < POOL_N; i++)
    if (pool[i] == cell) return 1;
  return 0;
}

/* A piecewise-linear cancellation curve with breakpoints at whole metres, as
 * the engine's scenario table is. */
typedef struct {
  int32_t n;
  double m[5], p[5];
} cancel_curve;

static const cancel_curve CURVE = {5, {0, 200, 1000, 2000, 5000}, {0.02, 0.035, 0.1, 0.3, 0.6}};
static const cancel_curve LINEAR = {2, {0, 4000}, {0.0, 1.0}}; /* d / 4000 up to 4 km */

static double curve_p(const void *ctx, double d) {
  const cancel_curve *c = ctx;
  if (d <= c->m[0]) return c->p[0];
  for (int32_t i = 1; i < c->n; i++)
    if (d <= c->m[i])
      return c->p[i - 1] + (c->p[i] - c->p[i - 1]) * (d - c->m[i - 1]) / (c->m[i] - c->m[i - 1]);
  return c->p[c->n - 1];
}

static val_config make_config(int32_t day_types, double gamma) {
  val_config c;
  val_config_defaults(&c);
  c.day_types = day_types;
  c.gamma = gamma;
  return c;
}

static val_table *new_table(const val_config *c) {
  val_table *t = NULL;
  rs_err e = {0};
  ck_assert_msg(val_table_new(&grid, c, &t, &e) == 0, "%s", e.msg);
  return t;
}

/* A table with random values in [lo, hi) on most states of the given cells
 * (the rest stay unseen, so the fallback rules take part). */
static val_table *random_table(pcg32 *r, const val_config *c, const int32_t *cells, int32_t n,
                               double lo, double hi, double seen) {
  val_table *t = new_table(c);
  for (int32_t d = 0; d < c->day_types; d++)
    for (int32_t s = 0; s < val_table_n_slots(t); s++)
      for (int32_t i = 0; i < n; i++)
        if (pcg32_double(r) < seen)
          val_table_set(t, d, s, cells[i], unif(r, lo, hi), 1 + (uint32_t)pick(r, 4));
  return t;
}

/* Local time of (day type, slot): a Monday for type 0, a Saturday for 1. */
static int64_t state_time(const val_table *t, int32_t dtype, int32_t slot) {
  return MONDAY + (dtype ? 5 * DAY_S : 0) + (int64_t)slot * val_table_config(t)->slot_s;
}

/* Every state of the listed cells (all cells when cells is NULL): the same
 * value bit for bit, the same count. */
static void assert_tables_equal(const val_table *a, const val_table *b, const int32_t *cells,
                                int32_t n, const char *what) {
  int32_t nc = cells ? n : val_table_n_cells(a);
  ck_assert_int_eq(val_table_n_cells(a), val_table_n_cells(b));
  for (int32_t d = 0; d < val_table_config(a)->day_types; d++)
    for (int32_t s = 0; s < val_table_n_slots(a); s++) {
      for (int32_t i = 0; i < nc; i++) {
        int32_t c = cells ? cells[i] : i;
        double x = val_table_raw(a, d, s, c), y = val_table_raw(b, d, s, c);
        CHECK(memcmp(&x, &y, sizeof x) == 0 &&
                  val_table_count(a, d, s, c) == val_table_count(b, d, s, c),
              "%s: state (%d, %d, %d): %.17g (%u) vs %.17g (%u)", what, d, s, c, x,
                      val_table_count(a, d, s, c), y, val_table_count(b, d, s, c));
      }
      /* the global fallback of the slot, which reads the per-slot sums */
      int64_t ts = state_time(a, d, s);
      double x = val_table_get(a, far_cell, ts), y = val_table_get(b, far_cell, ts);
      CHECK(memcmp(&x, &y, sizeof x) == 0, "%s: fallback of (%d, %d): %.17g vs %.17g",
                    what, d, s, x, y);
    }
}

static disp_v1d3_opts opts_for(int32_t mode) {
  disp_v1d3_opts o;
  disp_v1d3_defaults(&o);
  o.mode = mode;
  return o;
}

static disp_v1d3 *new_model(const disp_v1d3_opts *o, val_table *offline) {
  disp_v1d3 *m = NULL;
  rs_err e = {0};
  ck_assert_msg(disp_v1d3_new(&travel, &grid, o, offline, &m, &e) == 0, "%s", e.msg);
  ck_assert_ptr_nonnull(m);
  return m;
}

/* ------------------------------------------------- dispatch: one tick */

#define MAX_ROWS 5
#define MAX_CAND 5           /* candidate drivers of a tick */
#define MAX_EDGES (MAX_ROWS * MAX_CAND)

typedef struct {
  disp_order orders[MAX_ROWS + 2];
  disp_driver drivers[MAX_CAND + 2];
  int32_t row_order[MAX_ROWS];
  int32_t row_ptr[MAX_ROWS + 1];
  int32_t edge_driver[MAX_EDGES];
  double edge_dist[MAX_EDGES];
  double edge_eta[MAX_EDGES];
  uint8_t row_capped[MAX_ROWS];
  disp_assign out[MAX_ROWS];
  pcg32 rng;
  disp_tick t;
} instance;

static void instance_wire(instance *in, int64_t now, int32_t n_drivers, int32_t n_rows) {
  disp_tick *t = &in->t;
  memset(t, 0, sizeof *t);
  t->now = now;
  t->city = &city;
  t->travel = &travel;
  t->grid = &grid;
  t->orders = in->orders;
  t->drivers = in->drivers;
  t->n_drivers = n_drivers;
  t->n_rows = n_rows;
  t->row_order = in->row_order;
  t->row_ptr = in->row_ptr;
  t->edge_driver = in->edge_driver;
  t->edge_dist = in->edge_dist;
  t->edge_eta = in->edge_eta;
  t->row_capped = in->row_capped;
  t->radius_m = 2500;
  pcg32_seed(&in->rng, 1, PCG_STREAM_POLICY);
  t->rng = &in->rng;
  t->out = in->out;
  t->n_out = 0;
}

static int32_t pool_or_outside(pcg32 *r, double p_outside) {
  return pcg32_double(r) < p_outside ? -1 : pool[pick(r, POOL_N)];
}

/* A random tick at `now` (< 0: a random time): 1-5 waiting orders (rows, a
 * subset of the orders in request order), 1-5 idle candidates among busy
 * drivers, each row linked to each candidate with probability 3/4, nearest
 * first. */
static void random_instance(pcg32 *r, instance *in, int64_t now) {
  memset(in, 0, sizeof *in);
  /* a time of any weekday; a third of them late enough for trips to end
   * after midnight, into another day type */
  int64_t day = MONDAY + (int64_t)pick(r, 7) * DAY_S;
  int64_t when = day + (pcg32_double(r) < 0.35 ? DAY_S - 1 - pick(r, 4000) : pick(r, DAY_S));
  if (now < 0) now = when;
  int32_t n_rows = 1 + pick(r, MAX_ROWS), n_orders = n_rows + 2;
  int32_t n_cand = 1 + pick(r, MAX_CAND), n_drivers = n_cand + 2;
  for (int32_t o = 0, need = n_rows, rows = 0; o < n_orders; o++) {
    disp_order *od = &in->orders[o];
    od->id = o + 1;
    od->source_id = -1;
    od->t_request = now - 300 + o;
    od->fare = unif(r, 2, 40);
    double u = pcg32_double(r);
    od->duration_s = u < 0.6   ? 60 + pick(r, 3540)           /* ordinary */
                     : u < 0.75 ? 1 + pick(r, 599)             /* under one gamma period */
                     : u < 0.9  ? 3600 + pick(r, 36400)        /* past the tabulated discount */
                     : u < 0.97 ? 40000 + pick(r, DAY_S - 40000)
                                : DAY_S;                       /* CITY_TRIP_MAX_S */
    od->dcell = pool_or_outside(r, 0.05);
    od->pcell = pool[pick(r, POOL_N)];
    od->pnode = od->dnode = -1;
    if (pick(r, n_orders - o) < need) {
      in->row_order[rows++] = o;
      need--;
    }
  }
  /* candidates at random driver indices, the others busy */
  int32_t cand[MAX_CAND + 2], nc = 0;
  for (int32_t d = 0, need = n_cand; d < n_drivers; d++) {
    disp_driver *dv = &in->drivers[d];
    dv->cell = pool_or_outside(r, 0.03);
    dv->node = -1;
    dv->idle_since = now - pick(r, 1000);
    if (pick(r, n_drivers - d) < need) {
      dv->state = DISP_IDLE;
      cand[nc++] = d;
      need--;
    } else {
      dv->state = DISP_OCCUPIED;
    }
  }
  int32_t k = 0;
  for (int32_t row = 0; row < n_rows; row++) {
    in->row_ptr[row] = k;
    for (int32_t j = 0; j < nc; j++) {
      if (pcg32_double(r) >= 0.75) continue;
      double u = pcg32_double(r);
      double dist = u < 0.9 ? unif(r, 0, 2500) : u < 0.95 ? (double)pick(r, 3000)
                                                           : unif(r, 20000, 30000);
      double eta = pcg32_double(r) < 0.1 ? (double)pick(r, 900) : unif(r, 0, 900);
      /* insert nearest first */
      int32_t at = k;
      while (at > in->row_ptr[row] && in->edge_dist[at - 1] > dist) {
        in->edge_driver[at] = in->edge_driver[at - 1];
        in->edge_dist[at] = in->edge_dist[at - 1];
        in->edge_eta[at] = in->edge_eta[at - 1];
        at--;
      }
      in->edge_driver[at] = cand[j];
      in->edge_dist[at] = dist;
      in->edge_eta[at] = eta;
      k++;
    }
  }
  in->row_ptr[n_rows] = k;
  instance_wire(in, now, n_drivers, n_rows);
}

/* The published edge weight, from the table v. */
static double expected_weight(const val_table *v, const disp_tick *t, int32_t row, int32_t k,
                              const cancel_curve *pc) {
  const val_config *c = val_table_config(v);
  const disp_order *o = &t->orders[t->row_order[row]];
  const disp_driver *dv = &t->drivers[t->edge_driver[k]];
  int64_t wait = (int64_t)ceil(t->edge_eta[k]), dt = wait + o->duration_s;
  /* R_gamma: the fare earned evenly over the ride, after the pickup, in
   * continuous time: R g^(wait / P) (1 - g^(ride / P)) / ((ride / P) ln(1 / g)) */
  double x = (double)o->duration_s / c->gamma_period_s;
  double r_gamma = o->fare * pow(c->gamma, (double)wait / c->gamma_period_s) *
                   (1 - pow(c->gamma, x)) / (x * log(1 / c->gamma));
  /* gamma^(dt / P), whatever dt */
  double disc = pow(c->gamma, (double)dt / c->gamma_period_s);
  double v1 = val_table_get(v, o->dcell, t->now + dt);
  double v0 = val_table_get(v, dv->cell, t->now);
  double p = pc ? curve_p(pc, t->edge_dist[k]) : 0.0;
  return (1.0 - p) * (r_gamma + disc * v1 - v0);
}

/* Brute force over every matching of a tick: per bucket (the matching's
 * size when cardinality counts first, else one bucket) the best and second
 * best totals and the edges of the best. */
typedef struct {
  const disp_tick *t;
  const double *w;
  int by_size;                    /* buckets by matching size */
  int positive_only;              /* only edges of weight > 0 */
  double best[MAX_ROWS + 1], second[MAX_ROWS + 1];
  int32_t arg[MAX_ROWS + 1][MAX_ROWS];
  int32_t cur[MAX_ROWS];
} brute;

static void brute_rec(brute *b, int32_t row, uint32_t used, int32_t size, double total) {
  const disp_tick *t = b->t;
  if (row == t->n_rows) {
    int32_t q = b->by_size ? size : 0;
    if (total > b->best[q]) {
      b->second[q] = b->best[q];
      b->best[q] = total;
      memcpy(b->arg[q], b->cur, sizeof b->cur);
    } else if (total > b->second[q]) {
      b->second[q] = total;
    }
    return;
  }
  b->cur[row] = -1;
  brute_rec(b, row + 1, used, size, total);
  for (int32_t k = t->row_ptr[row]; k < t->row_ptr[row + 1]; k++) {
    uint32_t bit = 1u << t->edge_driver[k];
    if ((used & bit) || (b->positive_only && !(b->w[k] > 0))) continue;
    b->cur[row] = k;
    brute_rec(b, row + 1, used | bit, size + 1, total + b->w[k]);
  }
  b->cur[row] = -1;
}

typedef struct {
  int64_t ticks, unique, pairs, unserved_rows, negative_taken;
} tally;

/* Checks the policy's pairs of a solved tick against the brute force over
 * the weights w. */
static void check_choice(const disp_tick *t, const double *w, int serve_first, tally *ty) {
  int32_t chosen[MAX_ROWS];
  for (int32_t i = 0; i < MAX_ROWS; i++) chosen[i] = -1;
  ck_assert_int_le(t->n_out, t->n_rows);
  uint32_t used = 0;
  double total = 0, smax = 0;
  for (int32_t k = 0; k < t->row_ptr[t->n_rows]; k++)
    if (fabs(w[k]) > smax) smax = fabs(w[k]);
  for (int32_t i = 0; i < t->n_out; i++) {
    int32_t row = -1, k = -1;
    for (int32_t j = 0; j < t->n_rows; j++)
      if (t->row_order[j] == t->out[i].order) row = j;
    ck_assert_msg(row >= 0, "pair %d: order %d is not waiting", i, t->out[i].order);
    ck_assert_msg(chosen[row] < 0, "order %d served twice", t->out[i].order);
    for (int32_t j = t->row_ptr[row]; j < t->row_ptr[row + 1]; j++)
      if (t->edge_driver[j] == t->out[i].driver) k = j;
    ck_assert_msg(k >= 0, "pair %d: driver %d is no candidate of order %d", i, t->out[i].driver,
                  t->out[i].order);
    uint32_t bit = 1u << t->out[i].driver;
    ck_assert_msg(!(used & bit), "driver %d matched twice", t->out[i].driver);
    used |= bit;
    chosen[row] = k;
    total += w[k];
    if (!serve_first) ck_assert_msg(w[k] > 0, "an edge of weight %.17g was taken", w[k]);
    ty->negative_taken += w[k] < 0;
  }
  brute b = {.t = t, .w = w, .by_size = serve_first, .positive_only = !serve_first};
  for (int32_t i = 0; i <= MAX_ROWS; i++) b.best[i] = b.second[i] = -INFINITY;
  brute_rec(&b, 0, 0, 0, 0.0);
  int32_t q = 0;
  if (serve_first) {
    for (int32_t s = 0; s <= t->n_rows; s++)
      if (b.best[s] > -INFINITY) q = s;
    ck_assert_msg(t->n_out == q, "serve_first: %d pairs, a matching of %d exists", t->n_out, q);
  }
  /* the solver's rounding (match.h) on weights shifted by the cardinality
   * constant 2 S (m + 1) + 1, far below this */
  double tol = 1e-9 * (1.0 + smax * (MAX_ROWS + 2));
  ck_assert_msg(fabs(total - b.best[q]) <= tol, "total %.17g, best %.17g (serve_first %d)",
                total, b.best[q], serve_first);
  ty->ticks++;
  ty->pairs += t->n_out;
  ty->unserved_rows += t->n_rows - t->n_out;
  if (b.best[q] - b.second[q] > 1e-6) {
    /* one best matching: the policy must have chosen exactly it */
    ty->unique++;
    for (int32_t row = 0; row < t->n_rows; row++)
      ck_assert_msg(chosen[row] == b.arg[q][row], "row %d: edge %d chosen, best is edge %d",
                    row, chosen[row], b.arg[q][row]);
  }
}

/* ---------------------------------------------------- disp_v1d3_dispatch */

/* Two ticks checked by hand. gamma 0.9 per 600 s; an order of fare 10 and
 * ride 1080 s picked up after ceil(119.2) = 120 s: dt = 1200 s, R_gamma =
 * 10 x 0.9^0.2 x (1 - 0.9^1.8) / (1.8 ln(1 / 0.9)) = 8.9190 (the fare
 * spread over the ride, discounted by the pickup), gamma^2 = 0.81,
 * V(dropoff, t + 1200) = 20, so R_gamma + gamma^dt V1 = 25.1190. */
static double by_hand_x(void) {
  return 10 * pow(0.9, 0.2) * (1 - pow(0.9, 1.8)) / (1.8 * log(1 / 0.9)) + 0.81 * 20;
}
START_TEST(dispatch_by_hand) {
  val_config c = make_config(1, 0.9);
  int64_t now = MONDAY + 8 * 3600 + 500;        /* slot 48; t + 1200 in slot 50 */
  int32_t a = pool[0], b = pool[1], cc = pool[2];
  for (int serve_first = 0; serve_first < 2; serve_first++)
    for (int above = 0; above < 2; above++) {
      val_table *v = new_table(&c);
      ck_assert_double_eq_tol(by_hand_x(), 25.1190, 1e-4);
      val_table_set(v, 0, 48, a, by_hand_x() + (above ? 0.1 : -0.1), 1);
      val_table_set(v, 0, 48, b, 99.0, 1);      /* V(dropoff, now): not the one to read */
      val_table_set(v, 0, 50, b, 20.0, 1);
      val_table_set(v, 0, 50, a, -99.0, 1);     /* V(driver's cell, t + dt): not either */
      disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
      o.serve_first = serve_first;
      disp_v1d3 *m = new_model(&o, v);
      disp_policy p;
      rs_err e = {0};
      ck_assert_int_eq(disp_v1d3_dispatch(m, &p, &e), 0);
      instance in;
      memset(&in, 0, sizeof in);
      in.orders[0] = (disp_order){.id = 1, .source_id = -1, .t_request = now - 10, .fare = 10,
                                  .duration_s = 1080, .pcell = a, .dcell = b, .pnode = -1,
                                  .dnode = -1};
      in.drivers[0] = (disp_driver){.node = -1, .cell = a, .state = DISP_IDLE,
                                    .idle_since = now - 60};
      in.row_order[0] = 0;
      in.row_ptr[1] = 1;
      in.edge_driver[0] = 0;
      in.edge_dist[0] = 300;
      in.edge_eta[0] = 119.2;
      instance_wire(&in, now, 1, 1);
      ck_assert_msg(p.dispatch(p.ctx, &in.t, &e) == 0, "%s", e.msg);
      /* advantage +0.1 is served; -0.1 only when serving comes first */
      int expect = serve_first || !above;
      ck_assert_msg(in.t.n_out == expect, "serve_first %d, V0 %s 25.12: %d pairs", serve_first,
                    above ? ">" : "<", in.t.n_out);
      disp_v1d3_free(m);
    }

  /* The cancellation factor decides between two drivers. Driver 0 in cell
   * a (V 5) at 1000 m, driver 1 in cell cc (V 7) at 200 m: advantages 20.12
   * and 18.12. With p(d) = d / 4000: 0.75 x 20.12 = 15.09 < 0.95 x 18.12 =
   * 17.21, driver 1; without cancellations, driver 0. */
  for (int with_p = 0; with_p < 2; with_p++) {
    val_table *v = new_table(&c);
    val_table_set(v, 0, 48, a, 5.0, 1);
    val_table_set(v, 0, 48, cc, 7.0, 1);
    val_table_set(v, 0, 50, b, 20.0, 1);
    disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
    o.serve_first = 0;
    if (with_p) {
      o.p_cancel = curve_p;
      o.p_cancel_ctx = &LINEAR;
    }
    disp_v1d3 *m = new_model(&o, v);
    disp_policy p;
    rs_err e = {0};
    ck_assert_int_eq(disp_v1d3_dispatch(m, &p, &e), 0);
    instance in;
    memset(&in, 0, sizeof in);
    in.orders[0] = (disp_order){.id = 1, .source_id = -1, .t_request = now - 10, .fare = 10,
                                .duration_s = 1080, .pcell = a, .dcell = b, .pnode = -1,
                                .dnode = -1};
    in.drivers[0] = (disp_driver){.node = -1, .cell = a, .state = DISP_IDLE};
    in.drivers[1] = (disp_driver){.node = -1, .cell = cc, .state = DISP_IDLE};
    in.row_ptr[1] = 2;
    in.edge_driver[0] = 1; /* nearest first */
    in.edge_dist[0] = 200;
    in.edge_eta[0] = 119.2;
    in.edge_driver[1] = 0;
    in.edge_dist[1] = 1000;
    in.edge_eta[1] = 119.2;
    instance_wire(&in, now, 2, 1);
    ck_assert_msg(p.dispatch(p.ctx, &in.t, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(in.t.n_out, 1);
    ck_assert_int_eq(in.t.out[0].order, 0);
    ck_assert_int_eq(in.t.out[0].driver, with_p ? 1 : 0);
    disp_v1d3_free(m);
  }
}
END_TEST

/* The policy's pairs against the brute force over all matchings, on random
 * ticks of random tables. _i: bit 0 serve_first, bit 1 two day types, bit 2
 * no cancellation model. Each model solves several ticks, a quarter of them
 * at the same time as the tick before (with other drivers in other cells),
 * so its per-tick caches must be renewed at every tick. */
#define WEIGHT_TABLES 40
#define WEIGHT_TICKS 12

START_TEST(dispatch_against_brute_force) {
  int serve_first = _i & 1;
  int32_t day_types = _i & 2 ? 2 : 1;
  const cancel_curve *pc = _i & 4 ? NULL : &CURVE;
  pcg32 r;
  pcg32_seed(&r, 2024 + (uint64_t)_i, 11);
  tally ty = {0};
  int64_t skipped = 0;
  for (int32_t n = 0; n < WEIGHT_TABLES; n++) {
    val_config c = make_config(day_types, n % 3 == 0 ? 0.97 : 0.9);
    val_table *v = random_table(&r, &c, pool, POOL_N, 0, 40, 0.8);
    val_table *ref = val_table_clone(v);
    ck_assert_ptr_nonnull(ref);
    disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
    o.serve_first = serve_first;
    o.driver_top_k = 2 + n % 3;
    if (pc) {
      o.p_cancel = curve_p;
      o.p_cancel_ctx = pc;
    }
    disp_v1d3 *m = new_model(&o, v);
    disp_policy p;
    rs_err e = {0};
    ck_assert_int_eq(disp_v1d3_dispatch(m, &p, &e), 0);
    ck_assert_str_eq(p.name, "v1d3");
    ck_assert_int_eq(p.maximal, serve_first);
    ck_assert_int_eq(p.immediate, 0);
    ck_assert_int_eq(p.driver_top_k, o.driver_top_k);
    int64_t last_now = -1;
    for (int32_t tick = 0; tick < WEIGHT_TICKS; tick++) {
      instance in;
      int64_t now = tick > 0 && pick(&r, 4) == 0 ? last_now : -1;
      double w[MAX_EDGES];
      int near_zero;
      do { /* a weight within rounding of 0 has no certain sign: draw again */
        random_instance(&r, &in, now);
        near_zero = 0;
        for (int32_t row = 0; row < in.t.n_rows; row++)
          for (int32_t k = in.t.row_ptr[row]; k < in.t.row_ptr[row + 1]; k++) {
            w[k] = expected_weight(ref, &in.t, row, k, pc);
            near_zero |= fabs(w[k]) < 1e-9;
          }
        skipped += near_zero;
      } while (near_zero);
      ck_assert_msg(p.dispatch(p.ctx, &in.t, &e) == 0, "%s", e.msg);
      check_choice(&in.t, w, serve_first, &ty);
      last_now = in.t.now;
      /* one solver statistic per tick, of the tick's graph */
      int32_t ns;
      const disp_solve_stat *st = p.solve_stats(p.ctx, &ns);
      ck_assert_int_eq(ns, tick + 1);
      ck_assert_int_eq(st[tick].t, in.t.now);
      ck_assert_int_eq(st[tick].orders, in.t.n_rows);
      ck_assert_int_eq(st[tick].edges, in.t.row_ptr[in.t.n_rows]);
    }
    /* the policies read the table they were given, unchanged */
    ck_assert_ptr_eq(disp_v1d3_table(m), v);
    assert_tables_equal(disp_v1d3_table(m), ref, pool, POOL_N, "offline table");
    val_table_free(ref);
    disp_v1d3_free(m);
  }
  /* The cases were not vacuous: most ticks had one best matching (so the
   * pairs themselves were compared), and pure V1D3 weights left orders
   * unserved where serve_first took negative edges. */
  ck_assert_int_gt(ty.unique, ty.ticks * 8 / 10);
  ck_assert_int_gt(ty.pairs, ty.ticks);
  if (serve_first) ck_assert_int_gt(ty.negative_taken, 10);
  else ck_assert_int_gt(ty.unserved_rows, ty.ticks / 2);
  ck_assert_int_lt(skipped, 10);
}
END_TEST

/* Knife edges: the choices above show the weights only where a matching
 * wins by a margin, so here a tick of one order and two candidates A and B
 * is built so that, by the weights computed here, B scores just above or
 * just below A (by 1e-7 relative): the value of B's cell is solved for. The
 * policy must follow. With pure weights a tick of B alone, at weight +-eps,
 * must be served exactly when the weight is positive. Every state of the
 * pool is seen, so B's own value is no other state's fallback. _i:
 * serve_first. */
START_TEST(dispatch_knife_edge) {
  int serve_first = _i;
  pcg32 r;
  pcg32_seed(&r, 4242 + (uint64_t)_i, 13);
  int64_t checked = 0;
  for (int32_t n = 0; n < 300; n++) {
    val_config c = make_config(1 + n % 2, n % 3 ? 0.9 : 0.97);
    val_table *v = random_table(&r, &c, pool, POOL_N, 0, 40, 1.0);
    instance in;
    random_instance(&r, &in, -1); /* for its time and first order */
    int64_t now = in.t.now;
    disp_order od = in.orders[0];
    od.dcell = pool[pick(&r, POOL_N)];
    int32_t ca = pool[pick(&r, POOL_N)], cb;
    do cb = pool[pick(&r, POOL_N)]; while (cb == ca || cb == od.dcell);
    int alone = !serve_first && n % 2 == 1;
    memset(&in, 0, sizeof in);
    in.orders[0] = od;
    in.drivers[0] = (disp_driver){.node = -1, .cell = ca, .state = DISP_IDLE};
    in.drivers[1] = (disp_driver){.node = -1, .cell = cb, .state = DISP_IDLE};
    double da = unif(&r, 0, 2500), db = unif(&r, 0, 2500);
    double ea = unif(&r, 0, 900), eb = unif(&r, 0, 900);
    int32_t kb = alone ? 0 : da < db ? 1 : 0, ka = 1 - kb;
    in.edge_driver[kb] = 1;
    in.edge_dist[kb] = db;
    in.edge_eta[kb] = eb;
    if (!alone) {
      in.edge_driver[ka] = 0;
      in.edge_dist[ka] = da;
      in.edge_eta[ka] = ea;
    }
    in.row_ptr[1] = alone ? 1 : 2;
    instance_wire(&in, now, 2, 1);
    double wa = alone ? 0.0 : expected_weight(v, &in.t, 0, ka, &CURVE);
    if (!serve_first && !alone && wa < 1e-3) { /* both unserved: no edge to walk */
      val_table_free(v);
      continue;
    }
    /* V(B's cell, now) for a weight of B at wa +- eps */
    int32_t dtype = val_table_daytype(v, now), slot = val_table_slot(v, now);
    val_table_set(v, dtype, slot, cb, 0.0, 1);
    double q = 1.0 - curve_p(&CURVE, db);
    double x = expected_weight(v, &in.t, 0, kb, &CURVE) / q; /* R_gamma + gamma^dt V1 */
    double eps = 1e-7 * (1.0 + fabs(wa) + fabs(x));
    int above = pick(&r, 2);
    val_table_set(v, dtype, slot, cb, x - (wa + (above ? eps : -eps)) / q, 1);
    double wb = expected_weight(v, &in.t, 0, kb, &CURVE);
    ck_assert(above ? wb > wa + eps / 2 : wb < wa - eps / 2);
    disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
    o.serve_first = serve_first;
    o.p_cancel = curve_p;
    o.p_cancel_ctx = &CURVE;
    disp_v1d3 *m = new_model(&o, v);
    disp_policy p;
    rs_err e = {0};
    ck_assert_int_eq(disp_v1d3_dispatch(m, &p, &e), 0);
    ck_assert_msg(p.dispatch(p.ctx, &in.t, &e) == 0, "%s", e.msg);
    if (alone) {
      ck_assert_msg(in.t.n_out == (wb > 0), "weight %.3g: %d pairs", wb, in.t.n_out);
    } else {
      ck_assert_int_eq(in.t.n_out, 1);
      ck_assert_msg(in.t.out[0].driver == (above ? 1 : 0),
                    "A %.12g, B %.12g: driver %d chosen", wa, wb, in.t.out[0].driver);
    }
    checked++;
    disp_v1d3_free(m);
  }
  ck_assert_int_gt(checked, 200);
}
END_TEST

/* ---------------------------------------------------- disp_v1d3_observer */

#define N_ORD 40
#define N_DRV 24

typedef struct {
  disp_order orders[N_ORD];
  disp_driver drivers[N_DRV];
  disp_assign matched[N_DRV];
  double eta[N_DRV];
  disp_report r;
} report_buf;

static void random_orders(pcg32 *r, disp_order *orders, int32_t n) {
  for (int32_t o = 0; o < n; o++) {
    disp_order *od = &orders[o];
    memset(od, 0, sizeof *od);
    od->id = o + 1;
    od->source_id = -1;
    od->fare = unif(r, 3, 30);
    double u = pcg32_double(r);
    od->duration_s = u < 0.7 ? 60 + pick(r, 2400) : u < 0.85 ? 1 + pick(r, 599)
                                                              : 3000 + pick(r, 30000);
    od->dcell = pool_or_outside(r, 0.05);
    od->pcell = pool[pick(r, POOL_N)];
    od->pnode = od->dnode = -1;
  }
}

/* A report of one tick: every driver in a pool cell (a few outside the
 * grid), about half idle, some matched at this tick (their pickup under
 * way), the rest busy or offline. */
static void random_report(pcg32 *r, report_buf *b, int64_t now, int32_t tick_s) {
  int32_t nm = 0;
  for (int32_t d = 0; d < N_DRV; d++) {
    disp_driver *dv = &b->drivers[d];
    memset(dv, 0, sizeof *dv);
    dv->cell = pool_or_outside(r, 0.02);
    dv->node = -1;
    double u = pcg32_double(r);
    if (u < 0.5) {
      dv->state = DISP_IDLE;
      dv->idle_since = now - pick(r, 900);
    } else if (u < 0.7) {
      dv->state = DISP_PICKUP;
      b->matched[nm].driver = d;
      b->matched[nm].order = pick(r, N_ORD);
      b->eta[nm] = pcg32_double(r) < 0.1 ? (double)pick(r, 600) : unif(r, 0, 600);
      nm++;
    } else {
      static const int32_t BUSY[4] = {DISP_OFFLINE, DISP_PICKUP, DISP_OCCUPIED, DISP_REPOSITION};
      dv->state = BUSY[pick(r, 4)];
    }
  }
  b->r = (disp_report){.now = now, .tick_s = tick_s, .orders = b->orders,
                       .drivers = b->drivers, .n_drivers = N_DRV, .matched = b->matched,
                       .matched_eta = b->eta, .n_matched = nm};
}

/* What the learner must do with a report, done here on the test's own
 * table: one TD step per matched driver (the fare spread over the ride
 * after the pickup, continuous discounts), then one step per idle driver
 * towards gamma^(tick / period) V(its cell, t + tick); each on V and then on
 * the time-free layer U. Returns the steps. */
static int64_t mirror_observe(val_table *t, const disp_report *r, double lr) {
  const val_config *c = val_table_config(t);
  int64_t steps = 0;
  for (int32_t i = 0; i < r->n_matched; i++) {
    const disp_order *o = &r->orders[r->matched[i].order];
    int64_t wait = (int64_t)ceil(r->matched_eta[i]), t1 = r->now + wait + o->duration_s;
    double rg = val_trip_reward(c, o->fare, (double)wait, (double)o->duration_s);
    int32_t cell = r->drivers[r->matched[i].driver].cell;
    val_table_td_r(t, cell, r->now, o->dcell, t1, rg, lr);
    val_table_free_td_r(t, cell, r->now, o->dcell, t1, rg, lr);
    steps++;
  }
  double idle = pow(c->gamma, (double)r->tick_s / c->gamma_period_s);
  for (int32_t d = 0; d < r->n_drivers; d++) {
    if (r->drivers[d].state != DISP_IDLE) continue;
    int32_t cell = r->drivers[d].cell;
    int64_t t1 = r->now + r->tick_s;
    val_table_update(t, cell, r->now, idle * val_table_get(t, cell, t1), lr);
    val_table_free_update(t, cell, r->now, idle * val_table_free_get(t, cell, t1), lr);
    steps++;
  }
  return steps;
}

/* One report checked by hand (ensemble mode, so the table starts from known
 * values; the first report only schedules the first blend). */
START_TEST(observer_by_hand) {
  val_config c = make_config(1, 0.9);
  int32_t a = pool[0], b = pool[1], cc = pool[2];
  val_table *off = new_table(&c);
  val_table_set(off, 0, 48, a, 10.0, 1);
  val_table_set(off, 0, 50, b, 20.0, 1);
  val_table_set(off, 0, 48, cc, 30.0, 1);
  val_table_set(off, 0, 49, cc, 50.0, 1);
  disp_v1d3_opts o = opts_for(DISP_V1D3_ENSEMBLE);
  o.lr = 0.1;
  disp_v1d3 *m = new_model(&o, off);
  disp_observer ob = disp_v1d3_observer(m);
  ck_assert_ptr_eq(ob.ctx, m);
  report_buf rb;
  memset(&rb, 0, sizeof rb);
  int64_t now = MONDAY + 8 * 3600 + 500; /* slot 48; now + 300 in slot 49 */
  rb.orders[0] = (disp_order){.id = 1, .source_id = -1, .fare = 10, .duration_s = 1080,
                              .pcell = a, .dcell = b, .pnode = -1, .dnode = -1};
  rb.drivers[0] = (disp_driver){.node = -1, .cell = a, .state = DISP_PICKUP};
  rb.drivers[1] = (disp_driver){.node = -1, .cell = cc, .state = DISP_IDLE};
  rb.drivers[2] = (disp_driver){.node = -1, .cell = b, .state = DISP_OCCUPIED};
  rb.matched[0] = (disp_assign){.order = 0, .driver = 0};
  rb.eta[0] = 119.2;
  rb.r = (disp_report){.now = now, .tick_s = 300, .orders = rb.orders, .drivers = rb.drivers,
                       .n_drivers = 3, .matched = rb.matched, .matched_eta = rb.eta,
                       .n_matched = 1};
  ob.observe(ob.ctx, &rb.r);
  const val_table *v = disp_v1d3_table(m);
  /* matched: dt = 120 + 1080 s; target 8.9190 + 0.81 x 20 = 25.1190 */
  double x = by_hand_x();
  ck_assert_double_eq_tol(val_table_raw(v, 0, 48, a), 10.0 + 0.1 * (x - 10.0), 1e-12);
  ck_assert_uint_eq(val_table_count(v, 0, 48, a), 2);
  /* the layer: U(a) from nothing (an empty layer reads 0) towards 8.9190 +
   * 0.81 U(b) = 8.9190 */
  ck_assert_double_eq_tol(val_table_free_raw(v, 0, a), 0.1 * (x - 16.2), 1e-12);
  ck_assert_uint_eq(val_table_free_count(v, 0, a), 1);
  /* idle: target 0.9^(300 / 600) x V(cc, slot 49) */
  ck_assert_double_eq_tol(val_table_raw(v, 0, 48, cc), 30.0 + 0.1 * (sqrt(0.9) * 50.0 - 30.0),
                          1e-12);
  ck_assert_uint_eq(val_table_count(v, 0, 48, cc), 2);
  /* the busy driver's cell and the states read are untouched */
  ck_assert_uint_eq(val_table_count(v, 0, 48, b), 0);
  ck_assert(val_table_raw(v, 0, 50, b) == 20.0 && val_table_raw(v, 0, 49, cc) == 50.0);
  int64_t steps, blends;
  disp_v1d3_counts(m, &steps, &blends);
  ck_assert_int_eq(steps, 2);
  ck_assert_int_eq(blends, 0);
  disp_v1d3_counts(m, NULL, NULL);
  disp_v1d3_free(m);
}
END_TEST

/* The online table against the test's own, bit for bit, over thousands of
 * random reports; the tick length changes now and then (the idle discount
 * is recomputed). _i: 0 one day type, 1 two day types across a weekend. */
START_TEST(observer_against_mirror) {
  int32_t day_types = 1 + _i;
  disp_v1d3_opts o = opts_for(DISP_V1D3_ONLINE);
  o.cfg = make_config(day_types, _i ? 0.95 : 0.9);
  o.cfg.slot_s = _i ? 900 : 600;
  o.cfg.gamma_period_s = _i ? 300 : 600;
  o.lr = _i ? 0.2 : 0.05;
  val_table *spare = new_table(&o.cfg); /* an online model takes and frees the table */
  disp_v1d3 *m = new_model(&o, spare);
  const val_table *v = disp_v1d3_table(m);
  ck_assert_int_eq(val_table_config(v)->slot_s, o.cfg.slot_s);
  ck_assert_int_eq(val_table_config(v)->day_types, day_types);
  val_table *mirror = new_table(&o.cfg);
  assert_tables_equal(v, mirror, NULL, 0, "start");
  disp_observer ob = disp_v1d3_observer(m);
  pcg32 r;
  pcg32_seed(&r, 77 + (uint64_t)_i, 3);
  report_buf rb;
  random_orders(&r, rb.orders, N_ORD);
  static const int32_t TICKS[5] = {2, 2, 7, 60, 600};
  int32_t tick_s = 2;
  int64_t now = (_i ? MONDAY + 4 * DAY_S + 20 * 3600 : MONDAY + 7 * 3600) + 1; /* Fri 20:00 */
  int64_t steps = 0, got;
  for (int32_t n = 0; n < 4000; n++) {
    if (n % 250 == 0) tick_s = TICKS[pick(&r, 5)];
    random_report(&r, &rb, now, tick_s);
    ob.observe(ob.ctx, &rb.r);
    steps += mirror_observe(mirror, &rb.r, o.lr);
    disp_v1d3_counts(m, &got, NULL);
    ck_assert_int_eq(got, steps);
    if (n % 50 == 0) assert_tables_equal(v, mirror, pool, POOL_N, "online table");
    now += tick_s;
  }
  assert_tables_equal(v, mirror, NULL, 0, "online table at the end");
  int64_t seen;
  val_table_stats(v, NULL, NULL, &seen);
  ck_assert_int_gt(seen, 200);
  int64_t blends;
  disp_v1d3_counts(m, NULL, &blends);
  ck_assert_int_eq(blends, 0);
  val_table_free(mirror);
  disp_v1d3_free(m);
}
END_TEST

/* ------------------------------------------------------- ensemble blends */

/* Ensemble mode: the table starts as the offline one, learns like the
 * online one, and at the first tick at or past each multiple of the period
 * (after the first tick) is blended, V <- w V + (1 - w) V_offline, once.
 * _i: 0 a tick that does not divide the period and a start off the grid of
 * periods; 1 the default hourly period, 2 s ticks from a period boundary. */
START_TEST(ensemble_blends_once_per_period) {
  pcg32 r;
  pcg32_seed(&r, 500 + (uint64_t)_i, 5);
  val_config c = make_config(1, 0.9);
  val_table *off = random_table(&r, &c, pool, POOL_N, 0, 40, 0.6);
  val_table *off_ref = val_table_clone(off);
  val_table *mirror = val_table_clone(off);
  ck_assert(off_ref && mirror);
  disp_v1d3_opts o = opts_for(DISP_V1D3_ENSEMBLE);
  int32_t tick_s = _i ? 2 : 7;
  o.ensemble_period_s = _i ? 3600 : 900;
  o.ensemble_w = _i ? DISP_V1D3_ENSEMBLE_W : 0.35;
  o.lr = 0.1;
  int64_t first = MONDAY + 8 * 3600 + (_i ? 0 : 13);
  int64_t last = first + (_i ? 3 * 3600 + 1 : 2 * 3600); /* up to 11:00:00 / 10:00:13 */
  int64_t P = o.ensemble_period_s;
  disp_v1d3 *m = new_model(&o, off);
  const val_table *v = disp_v1d3_table(m);
  ck_assert_ptr_ne(v, off);
  assert_tables_equal(v, off_ref, NULL, 0, "ensemble start");
  disp_observer ob = disp_v1d3_observer(m);
  report_buf rb;
  random_orders(&r, rb.orders, N_ORD);
  int64_t steps = 0, blends_seen = 0;
  for (int64_t now = first; now < last; now += tick_s) {
    random_report(&r, &rb, now, tick_s);
    ob.observe(ob.ctx, &rb.r);
    steps += mirror_observe(mirror, &rb.r, o.lr);
    /* the boundaries b with first < b <= now */
    int64_t expect = now / P - first / P;
    int64_t got_steps, got_blends;
    disp_v1d3_counts(m, &got_steps, &got_blends);
    ck_assert_int_eq(got_steps, steps);
    ck_assert_msg(got_blends == expect, "t = first + %lld s: %lld blends, expected %lld",
                  (long long)(now - first), (long long)got_blends, (long long)expect);
    if (expect > blends_seen) {
      /* a blend at this tick: check the formula by hand on the pool's
       * states, from the mirror just before it */
      ck_assert_int_eq(expect, blends_seen + 1);
      val_table *before = val_table_clone(mirror);
      ck_assert_ptr_nonnull(before);
      ck_assert_int_eq(val_table_blend(mirror, off_ref, o.ensemble_w, NULL), 0);
      for (int32_t s = 0; s < val_table_n_slots(v); s++)
        for (int32_t i = 0; i < POOL_N; i++) {
          int32_t cell = pool[i];
          if (val_table_count(before, 0, s, cell) == 0 && val_table_count(off_ref, 0, s, cell) == 0)
            continue;
          int64_t ts = state_time(v, 0, s);
          double x = o.ensemble_w * val_table_get(before, cell, ts) +
                     (1 - o.ensemble_w) * val_table_get(off_ref, cell, ts);
          CHECK(fabs(val_table_raw(v, 0, s, cell) - x) <= 1e-12 * (1 + fabs(x)),
                "blend of (%d, %d): %.17g, expected %.17g", s, cell,
                        val_table_raw(v, 0, s, cell), x);
        }
      val_table_free(before);
      assert_tables_equal(v, mirror, NULL, 0, "after a blend");
      blends_seen = expect;
    } else if ((now - first) % 300 < tick_s) {
      assert_tables_equal(v, mirror, pool, POOL_N, "between blends");
    }
  }
  /* the mirror blended with the test's copy of the offline table all along:
   * the model's offline table never learnt either */
  ck_assert_int_eq(blends_seen, _i ? 3 : 8);
  val_table_free(off_ref);
  val_table_free(mirror);
  disp_v1d3_free(m);
}
END_TEST

/* ------------------------------------------------- disp_v1d3_reposition */

#define REPO_DRIVERS 500
#define REPO_ROUNDS 200

/* A travel model of the test's own, with nodes: a place's node is its grid
 * cell, and a drive takes 30 s plus 45 s per grid step between its nodes (0
 * within one), whatever the hour; a place without a node is a day away. So
 * v1d3 must time its drives with the model it was given, from the nodes of
 * the driver and of the cells' centres. */
static int32_t cells_snap(void *ctx, double lat, double lng) {
  return city_grid_point_index(ctx, lat, lng);
}

static double cells_secs(const city_grid *g, int32_t a, int32_t b) {
  if (a < 0 || b < 0) return DAY_S;
  int32_t k = city_hex_distance(city_grid_hex(g, a), city_grid_hex(g, b));
  return k == 0 ? 0.0 : 30.0 + 45.0 * k;
}

static void cells_leg(void *ctx, const city_loc *a, const city_loc *b, int64_t t, double known_m,
                      city_leg *out) {
  (void)t;
  (void)known_m;
  out->secs = cells_secs(ctx, a->node, b->node);
  out->metres = 10.0 * out->secs;
}

static void cells_pickup(void *ctx, const city_loc *drv, const city_loc *pu, double gc_m,
                         int64_t t, city_leg *out) {
  (void)gc_m;
  cells_leg(ctx, drv, pu, t, 0.0, out);
}

static void cells_position(void *ctx, const city_loc *a, const city_loc *b, int64_t t0,
                           int64_t t1, int64_t t, city_loc *at, double *driven_m) {
  (void)ctx;
  (void)a;
  (void)t0;
  (void)t1;
  (void)t;
  *at = *b;
  *driven_m = 0;
}

static const city_travel_ops CELLS_OPS = {
    .name = "test-cells",
    .nodes = 1,
    .gc_monotone = 0,
    .snap = cells_snap,
    .leg = cells_leg,
    .pickup = cells_pickup,
    .position = cells_position,
    .free = NULL,
};

/* Destination frequencies of one driver position over REPO_DRIVERS x
 * REPO_ROUNDS draws against the softmax computed here: candidates are the
 * own cell (score V(cell, t)) and the cells whose centre lies within the
 * reach by great circle whose score gamma^(dt / period) V(cell, t +
 * ceil(dt)) beats staying by more than the minimum gain, dt the drive to
 * the cell's centre (great-circle distance x detour / speed of the hour, or
 * the nodes' time of the test's model); p = exp(score / tau) / sum. _i: tau
 * 1 and 0.5 at two times of day with gains 0.5 and 0, then the test's model
 * at tau 0.5 with gain 0.25, then a service area that leaves out a random
 * third of the cells and the driver's own (never a destination then, but
 * staying still is a choice), gain 0.25. */
START_TEST(reposition_softmax) {
  double tau = _i ? 0.5 : 1.0;
  int64_t now = MONDAY + (_i == 1 ? 17 * 3600 + 250 : 9 * 3600 + 430);
  int nodes = _i == 2, masked = _i == 3;
  city_travel by_cells = {&CELLS_OPS, &grid, &city};
  const city_travel *tm = nodes ? &by_cells : &travel;
  pcg32 r;
  pcg32_seed(&r, 900 + (uint64_t)_i, 7);
  /* values on every cell within 6 steps of the centre, 9 in 10 states */
  city_hex ring[127];
  int32_t nring = city_hex_kring(city_grid_hex(&grid, centre), 6, ring), cells[127], nc = 0;
  for (int32_t k = 0; k < nring; k++) {
    int32_t cell = city_grid_index(&grid, ring[k]);
    if (cell >= 0) cells[nc++] = cell;
  }
  val_config c = make_config(1, 0.9);
  val_table *v = random_table(&r, &c, cells, nc, 0, 4, 0.9);
  val_table *ref = val_table_clone(v);
  ck_assert_ptr_nonnull(ref);
  disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
  o.tau = tau;
  o.repo_min_gain = _i == 0 ? 0.5 : _i == 1 ? 0.0 : 0.25;
  disp_v1d3 *m = NULL;
  rs_err e = {0};
  ck_assert_msg(disp_v1d3_new(tm, &grid, &o, v, &m, &e) == 0, "%s", e.msg);
  disp_repolicy rp;
  ck_assert_int_eq(disp_v1d3_reposition(m, &rp, &e), 0);
  ck_assert_str_eq(rp.name, "v1d3");
  ck_assert_int_eq(rp.inert, 0);

  /* a driver off its cell's centre */
  double clat, clng;
  city_grid_center(&grid, city_grid_hex(&grid, centre), &clat, &clng);
  double dlat = clat + (_i ? 0.0013 : -0.0009), dlng = clng + (_i ? -0.0011 : 0.0017);
  int32_t own = city_grid_point_index(&grid, dlat, dlng);
  ck_assert_int_eq(own, centre);
  uint8_t *in_service = NULL;
  if (masked) {
    in_service = malloc((size_t)grid.n_cells);
    ck_assert_ptr_nonnull(in_service);
    for (int32_t cell = 0; cell < grid.n_cells; cell++) in_service[cell] = pick(&r, 3) != 0;
    in_service[own] = 0;
  }

  /* the expected distribution, over every cell of the grid */
  int32_t hour = (int32_t)((now % DAY_S) / 3600);
  double speed = city.speed_mps[hour];
  double *prob = calloc((size_t)grid.n_cells, sizeof *prob);
  int64_t *seen = calloc((size_t)grid.n_cells, sizeof *seen);
  ck_assert(prob && seen);
  double sum = 0, stay = val_table_get(ref, own, now);
  int32_t n_cand = 0, n_reach = 0;
  for (int32_t cell = 0; cell < grid.n_cells; cell++) {
    double lat, lng;
    city_grid_center(&grid, city_grid_hex(&grid, cell), &lat, &lng);
    double dist =
        cell == own ? 0.0 : rs_geo_haversine_r(dlat, dlng, lat, lng, city.earth_radius_m);
    CHECK(fabs(dist - o.repo_radius_m) > 1e-6, "cell %d on the reach's edge", cell);
    if (dist > o.repo_radius_m) continue;
    if (in_service != NULL && cell != own && !in_service[cell]) continue;
    n_reach++;
    double dt = cell == own ? 0.0
                : nodes     ? cells_secs(&grid, own, cell)
                            : dist * city.detour_factor / speed;
    double score =
        pow(c.gamma, dt / c.gamma_period_s) * val_table_get(ref, cell, now + (int64_t)ceil(dt));
    if (cell != own && !(score - stay > o.repo_min_gain)) continue;
    prob[cell] = exp(score / tau);
    sum += prob[cell];
    n_cand++;
  }
  for (int32_t cell = 0; cell < grid.n_cells; cell++) prob[cell] /= sum;
  ck_assert_int_gt(n_reach, masked ? 12 : 25);
  int32_t want_min = _i == 1 ? 20 : masked ? 1 : 2, want_max = _i == 1 ? n_reach + 1 : n_reach;
  ck_assert_int_gt(n_cand, want_min);
  ck_assert_int_lt(n_cand, want_max);

  /* the draws */
  disp_driver *drivers = calloc(REPO_DRIVERS, sizeof *drivers);
  int32_t *eligible = malloc(REPO_DRIVERS * sizeof *eligible);
  int32_t *dest = malloc(REPO_DRIVERS * sizeof *dest);
  int32_t *first = malloc(REPO_DRIVERS * sizeof *first);
  ck_assert(drivers && eligible && dest && first);
  for (int32_t d = 0; d < REPO_DRIVERS; d++) {
    drivers[d].lat = dlat;
    drivers[d].lng = dlng;
    rs_unit_vector(dlat, dlng, drivers[d].u);
    drivers[d].cell = own;
    drivers[d].node = city_travel_snap(tm, dlat, dlng);
    drivers[d].state = DISP_IDLE;
    drivers[d].idle_since = now - 600;
    eligible[d] = d;
  }
  pcg32 rng;
  pcg32_stream(&rng, 42, PCG_STREAM_REPOSITION);
  disp_repo rep = {.now = now, .city = &city, .travel = tm, .grid = &grid, .drivers = drivers,
                   .n_eligible = REPO_DRIVERS, .eligible = eligible,
                   .in_service = in_service, .rng = &rng, .dest_cell = dest};
  int64_t stays = 0, total = 0;
  for (int32_t round = 0; round < REPO_ROUNDS; round++) {
    for (int32_t d = 0; d < REPO_DRIVERS; d++) dest[d] = -2;
    ck_assert_msg(rp.reposition(rp.ctx, &rep, &e) == 0, "%s", e.msg);
    if (round == 0) memcpy(first, dest, REPO_DRIVERS * sizeof *dest);
    for (int32_t d = 0; d < REPO_DRIVERS; d++) {
      int32_t k = dest[d];
      CHECK(k != own, "the own cell must be reported as staying (-1)");
      if (k == -1) {
        stays++;
        k = own;
      }
      CHECK(k >= 0 && k < grid.n_cells && prob[k] > 0, "destination %d out of reach", dest[d]);
      seen[k]++;
      total++;
    }
  }
  /* chi-square over the candidates, bins of fewer than 5 expected merged */
  double chi2 = 0, rest_e = 0, rest_o = 0;
  int32_t bins = 0;
  for (int32_t cell = 0; cell < grid.n_cells; cell++) {
    if (prob[cell] == 0) continue;
    double ex = prob[cell] * (double)total;
    if (ex < 5) {
      rest_e += ex;
      rest_o += (double)seen[cell];
      continue;
    }
    chi2 += ((double)seen[cell] - ex) * ((double)seen[cell] - ex) / ex;
    bins++;
  }
  if (rest_e > 0) {
    chi2 += (rest_o - rest_e) * (rest_o - rest_e) / rest_e;
    bins++;
  }
  /* the 0.999 quantile of chi-square with bins - 1 degrees of freedom
   * (Wilson-Hilferty) */
  double df = bins - 1, z = 3.0902;
  double crit = df * pow(1 - 2 / (9 * df) + z * sqrt(2 / (9 * df)), 3);
  ck_assert_int_ge(bins, 4);
  ck_assert_msg(chi2 < crit, "chi-square %.1f over %d bins, 0.999 quantile %.1f", chi2, bins,
                crit);
  ck_assert_msg(fabs((double)stays / (double)total - prob[own]) < 5 * sqrt(prob[own] / total) +
                    1e-9, "stays %.5f, expected %.5f", (double)stays / (double)total, prob[own]);
  ck_assert_int_gt(stays, 0);

  /* the same stream gives the same destinations */
  pcg32_stream(&rng, 42, PCG_STREAM_REPOSITION);
  ck_assert_int_eq(rp.reposition(rp.ctx, &rep, &e), 0);
  ck_assert_int_eq(memcmp(first, dest, REPO_DRIVERS * sizeof *dest), 0);
  free(drivers);
  free(eligible);
  free(dest);
  free(first);
  free(prob);
  free(seen);
  free(in_service);
  val_table_free(ref);
  disp_v1d3_free(m);
}
END_TEST

/* --------------------------------------------------------- disp_v1d3_new */

START_TEST(modes_and_names) {
  int32_t mode = -5;
  static const char *const NAMES[] = {"online", "offline", "ensemble"};
  for (int32_t i = 0; i < 3; i++) {
    ck_assert_int_eq(disp_v1d3_mode_parse(NAMES[i], &mode), 0);
    ck_assert_int_eq(mode, i);
    ck_assert_str_eq(disp_v1d3_mode_name(i), NAMES[i]);
  }
  ck_assert_int_eq(DISP_V1D3_ONLINE, 0);
  ck_assert_int_eq(DISP_V1D3_OFFLINE, 1);
  ck_assert_int_eq(DISP_V1D3_ENSEMBLE, 2);
  mode = 7;
  ck_assert_int_eq(disp_v1d3_mode_parse("Online", &mode), -1);
  ck_assert_int_eq(disp_v1d3_mode_parse("", &mode), -1);
  ck_assert_int_eq(mode, 7);
  ck_assert_str_eq(disp_v1d3_mode_name(3), "unknown");
  ck_assert_str_eq(disp_v1d3_mode_name(-1), "unknown");
}
END_TEST

START_TEST(defaults) {
  disp_v1d3_opts o;
  memset(&o, 0xab, sizeof o);
  disp_v1d3_defaults(&o);
  val_config c;
  val_config_defaults(&c);
  ck_assert_int_eq(o.mode, DISP_V1D3_ONLINE);
  ck_assert(o.cfg.slot_s == c.slot_s && o.cfg.day_types == c.day_types &&
            o.cfg.gamma == c.gamma && o.cfg.gamma_period_s == c.gamma_period_s);
  ck_assert_int_eq(o.learn_free, 1);
  ck_assert_int_eq(o.flatten, 0);
  ck_assert(o.repo_min_gain == DISP_V1D3_REPO_MIN_GAIN);
  ck_assert(o.lr == VAL_LR_DEFAULT);
  ck_assert(o.ensemble_w == DISP_V1D3_ENSEMBLE_W);
  ck_assert_int_eq(o.ensemble_period_s, DISP_V1D3_ENSEMBLE_PERIOD_S);
  ck_assert(o.tau == DISP_V1D3_TAU);
  ck_assert(o.repo_radius_m == DISP_V1D3_REPO_RADIUS_M);
  ck_assert_int_eq(o.serve_first, 1);
  ck_assert_int_gt(o.driver_top_k, 0);
  ck_assert(o.p_cancel == NULL && o.p_cancel_ctx == NULL);
}
END_TEST

/* Online starts from zeros, or warm from a table passed in (taken: the
 * model's own from then on); offline and ensemble need a table; bad blend,
 * step or gain settings are refused, and the table is freed all the same. */
START_TEST(new_modes_and_refusals) {
  rs_err e = {0};
  disp_v1d3 *m;
  pcg32 r;
  pcg32_seed(&r, 3, 3);
  val_config c = make_config(2, 0.9);

  disp_v1d3_opts o = opts_for(DISP_V1D3_ONLINE);
  o.cfg = c;
  m = new_model(&o, NULL);
  double mean, max_abs;
  int64_t n_seen;
  val_table_stats(disp_v1d3_table(m), &mean, &max_abs, &n_seen);
  ck_assert_int_eq(n_seen, 0);
  ck_assert(max_abs == 0);
  ck_assert_int_eq(val_table_config(disp_v1d3_table(m))->day_types, 2);
  ck_assert(val_table_get(disp_v1d3_table(m), pool[0], MONDAY + 3600) == 0);
  disp_v1d3_free(m);
  disp_v1d3_free(NULL);
  /* warm: the table given, as given */
  val_table *warm = random_table(&r, &c, pool, POOL_N, 1, 2, 1.0);
  val_table *warm_ref = val_table_clone(warm);
  m = new_model(&o, warm);
  ck_assert_ptr_eq(disp_v1d3_table(m), warm);
  assert_tables_equal(disp_v1d3_table(m), warm_ref, NULL, 0, "warm start");
  val_table_stats(disp_v1d3_table(m), &mean, &max_abs, &n_seen);
  ck_assert_int_eq(n_seen, 2 * 144 * POOL_N);
  val_table_free(warm_ref);
  disp_v1d3_free(m);

  for (int32_t mode = DISP_V1D3_OFFLINE; mode <= DISP_V1D3_ENSEMBLE; mode++) {
    o = opts_for(mode);
    m = (disp_v1d3 *)&e;
    rs_err_clear(&e);
    ck_assert_int_eq(disp_v1d3_new(&travel, &grid, &o, NULL, &m, &e), RS_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(e.msg, disp_v1d3_mode_name(mode)));
  }

  /* out-of-range settings, in every mode; the table is freed (the
   * sanitizer build's leak check) */
  for (int32_t mode = 0; mode < 3; mode++)
    for (int bad = 0; bad < 7; bad++) {
      o = opts_for(mode);
      switch (bad) {
      case 0: o.ensemble_w = 1.5; break;
      case 1: o.ensemble_w = -0.1; break;
      case 2: o.ensemble_w = NAN; break;
      case 3: o.ensemble_period_s = 0; break;
      case 4: o.repo_min_gain = -1; break;
      case 5: o.repo_min_gain = NAN; break;
      default: o.lr = -0.01; break;
      }
      m = (disp_v1d3 *)&e;
      rs_err_clear(&e);
      ck_assert_int_eq(disp_v1d3_new(&travel, &grid, &o, new_table(&c), &m, &e), RS_EINVAL);
      ck_assert_ptr_null(m);
      ck_assert_int_ne(e.msg[0], '\0');
    }
  /* the boundaries are accepted */
  o = opts_for(DISP_V1D3_ENSEMBLE);
  o.ensemble_w = 0;
  o.lr = 0;
  m = new_model(&o, new_table(&c));
  disp_v1d3_free(m);
  o.ensemble_w = 1;
  m = new_model(&o, new_table(&c));
  disp_v1d3_free(m);
}
END_TEST

/* Offline: the table given, frozen; the observer changes nothing and counts
 * nothing, however many reports it sees. */
START_TEST(offline_is_frozen) {
  pcg32 r;
  pcg32_seed(&r, 8, 8);
  val_config c = make_config(1, 0.9);
  val_table *off = random_table(&r, &c, pool, POOL_N, 0, 40, 0.7);
  val_table *ref = val_table_clone(off);
  ck_assert_ptr_nonnull(ref);
  disp_v1d3_opts o = opts_for(DISP_V1D3_OFFLINE);
  o.ensemble_period_s = 60; /* blends would be due often, were there any */
  disp_v1d3 *m = new_model(&o, off);
  ck_assert_ptr_eq(disp_v1d3_table(m), off);
  disp_observer ob = disp_v1d3_observer(m);
  report_buf rb;
  random_orders(&r, rb.orders, N_ORD);
  for (int64_t n = 0; n < 600; n++) {
    random_report(&r, &rb, MONDAY + 8 * 3600 + 2 * n, 2);
    ob.observe(ob.ctx, &rb.r);
  }
  assert_tables_equal(disp_v1d3_table(m), ref, NULL, 0, "offline table");
  int64_t steps = -1, blends = -1;
  disp_v1d3_counts(m, &steps, &blends);
  ck_assert_int_eq(steps, 0);
  ck_assert_int_eq(blends, 0);
  val_table_free(ref);
  disp_v1d3_free(m);
}
END_TEST

/* Two tables state by state (V, its fallback reads, the layer): the same
 * counts, values within tol relative. */
static void assert_tables_close(const val_table *a, const val_table *b, double tol,
                                const char *what) {
  int32_t nc = val_table_n_cells(a);
  for (int32_t d = 0; d < val_table_config(a)->day_types; d++) {
    int64_t t0 = state_time(a, d, 0);
    for (int32_t s = 0; s < val_table_n_slots(a); s++)
      for (int32_t c = 0; c < nc; c++) {
        int64_t ts = t0 + (int64_t)s * val_table_config(a)->slot_s;
        double x = val_table_get(a, c, ts), y = val_table_get(b, c, ts);
        CHECK(val_table_count(a, d, s, c) == val_table_count(b, d, s, c) &&
                  fabs(x - y) <= tol * (1 + fabs(x)),
              "%s: state (%d, %d, %d): %.17g vs %.17g", what, d, s, c, x, y);
      }
    ck_assert_int_eq(val_table_free_seen(a, d), val_table_free_seen(b, d));
    for (int32_t c = 0; c < nc; c++) {
      double x = val_table_free_get(a, c, t0), y = val_table_free_get(b, c, t0);
      CHECK(val_table_free_count(a, d, c) == val_table_free_count(b, d, c) &&
                fabs(x - y) <= tol * (1 + fabs(x)),
            "%s: layer (%d, %d): %.17g vs %.17g", what, d, c, x, y);
    }
  }
}

/* Warm start round trip: an online model learns from nothing, its table is
 * saved (value/vstore) half-way; a second online model starts from the
 * saved file and sees the same later reports as the first: both end with
 * the same table, the layer included. The saved table is the state of
 * learning, nothing else is. Not bit for bit: a loaded table's per-slot
 * sums behind the global fallback are recomputed (val_table_resum), a live
 * one's carry the rounding of its incremental writes, so fallback reads
 * differ in the last digits. _i: one or two day types. */
START_TEST(warm_start_round_trip) {
  char dir[256], path[300];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/warm.db", dir);
  disp_v1d3_opts o = opts_for(DISP_V1D3_ONLINE);
  o.cfg = make_config(1 + _i, 0.9);
  o.lr = 0.1;
  disp_v1d3 *a = new_model(&o, NULL);
  disp_observer oa = disp_v1d3_observer(a);
  pcg32 r;
  pcg32_seed(&r, 515 + (uint64_t)_i, 1);
  report_buf rb;
  random_orders(&r, rb.orders, N_ORD);
  int64_t now = MONDAY + 4 * DAY_S + 22 * 3600; /* a Friday night into Saturday */
  for (int32_t n = 0; n < 1500; n++, now += 10) {
    random_report(&r, &rb, now, 10);
    oa.observe(oa.ctx, &rb.r);
  }
  rs_err e = {0};
  val_meta meta;
  memset(&meta, 0, sizeof meta);
  snprintf(meta.city, sizeof meta.city, "%s", city.name);
  ck_assert_msg(val_store_save(path, disp_v1d3_table(a), &city, &meta, &e) == 0, "%s", e.msg);
  val_table *loaded = NULL;
  ck_assert_msg(val_store_load(path, &city, &grid, &loaded, &meta, &e) == 0, "%s", e.msg);
  disp_v1d3 *b = new_model(&o, loaded);
  ck_assert_ptr_eq(disp_v1d3_table(b), loaded); /* the model learns in it */
  assert_tables_close(disp_v1d3_table(a), disp_v1d3_table(b), 1e-12, "loaded");
  int64_t seen;
  val_table_stats(disp_v1d3_table(b), NULL, NULL, &seen);
  ck_assert_int_gt(seen, 50);
  disp_observer ob = disp_v1d3_observer(b);
  for (int32_t n = 0; n < 1500; n++, now += 10) {
    random_report(&r, &rb, now, 10);
    oa.observe(oa.ctx, &rb.r);
    ob.observe(ob.ctx, &rb.r);
  }
  assert_tables_close(disp_v1d3_table(a), disp_v1d3_table(b), 1e-9, "continued");
  disp_v1d3_free(a);
  disp_v1d3_free(b);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------- the suite */

static Suite *v1d3_suite(void) {
  Suite *s = suite_create("v1d3");
  TCase *tc = tcase_create("disp_v1d3_dispatch");
  tcase_add_test(tc, dispatch_by_hand);
  tcase_add_loop_test(tc, dispatch_against_brute_force, 0, 8);
  tcase_add_loop_test(tc, dispatch_knife_edge, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_v1d3_observer");
  tcase_add_test(tc, observer_by_hand);
  tcase_add_loop_test(tc, observer_against_mirror, 0, 2);
  tcase_add_loop_test(tc, ensemble_blends_once_per_period, 0, 2);
  tcase_add_test(tc, offline_is_frozen);
  tcase_add_loop_test(tc, warm_start_round_trip, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_v1d3_reposition");
  tcase_add_loop_test(tc, reposition_softmax, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_v1d3_new");
  tcase_add_test(tc, modes_and_names);
  tcase_add_test(tc, defaults);
  tcase_add_test(tc, new_modes_and_refusals);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  rs_err e = {0};
  if (city_def_builtin("synthetic", &city, &e) != 0 || city_def_grid(&city, &grid, &e) != 0) {
    fprintf(stderr, "%s\n", e.msg);
    return EXIT_FAILURE;
  }
  city_travel_gc(&city, &travel);
  double lat = (city.min_lat + city.max_lat) / 2, lng = (city.min_lng + city.max_lng) / 2;
  centre = city_grid_point_index(&grid, lat, lng);
  city_hex ring[POOL_N];
  if (centre < 0 || city_hex_kring(city_grid_hex(&grid, centre), POOL_K, ring) != POOL_N) {
    fprintf(stderr, "no interior centre cell\n");
    return EXIT_FAILURE;
  }
  for (int32_t i = 0; i < POOL_N; i++) {
    pool[i] = city_grid_index(&grid, ring[i]);
    if (pool[i] < 0) return EXIT_FAILURE;
  }
  far_cell = city_grid_point_index(&grid, city.min_lat + 0.01, city.min_lng + 0.01);
  if (far_cell < 0 || in_pool(far_cell)) return EXIT_FAILURE;
  return test_run_suite(v1d3_suite());
}

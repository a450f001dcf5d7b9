/*
 * Tests of sim/waiting: the waiting-order index against a naive reference
 * (a plain array of flags: which orders wait, which are exhausted) on
 * random operations: requests, matches and expiries, exhausted marks, the
 * tick's row walks around woken cells, and stream walks around random
 * points, where every slot's head must be the oldest waiting order within
 * the radius of its point found by scanning every order, and the top the
 * oldest head (ties: the slot opened first). sim_waiting_check runs after
 * every operation, and must catch a broken index.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "city_data/city.h"
#include "city_data/travel.h"
#include "dispatch/candidates.h"
#include "sim/waiting.h"
#include "tests/testutil.h"

/* Assertions for hot loops: Check records every passing ck_assert (a write
 * per call), so the loops below assert through these, which call Check
 * only on failure. */
#define EXPECT(cond)                                                             \
  do {                                                                           \
    if (!(cond)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);           \
  } while (0)
#define EXPECT_EQ(a, b)                                                          \
  do {                                                                           \
    long long a_ = (long long)(a), b_ = (long long)(b);                          \
    if (a_ != b_)                                                                \
      ck_abort_msg("%s:%d: %s == %s (%lld != %lld)", __FILE__, __LINE__, #a, #b, \
                   a_, b_);                                                      \
  } while (0)

#define N_ORDERS 4000
#define MAX_SLOTS 48

typedef struct {
  city_def city;
  city_travel tm;
  city_grid grid;
  disp_index *idx;       /* only for the ring count that covers the radius */
  double (*cell_u)[3];   /* per cell: its centre as a unit vector */
  disp_order *orders;
  double radius_m;
  sim_waiting w;
  /* the reference */
  uint8_t live[N_ORDERS], exh[N_ORDERS];
  int32_t n_added;       /* orders requested so far: [0, n_added) */
} world;

/* A point of a 6 km x 6 km patch of midtown, or (outside) of nowhere on
 * the grid. */
static void random_point(pcg32 *r, double *lat, double *lng) {
  *lat = 40.73 + 0.054 * pcg32_double(r);
  *lng = -74.01 + 0.07 * pcg32_double(r);
}

static void world_make(world *x, pcg32 *r) {
  rs_err e;
  memset(x, 0, sizeof *x);
  EXPECT_EQ(city_def_builtin("manhattan", &x->city, &e), 0);
  EXPECT_EQ(city_def_grid(&x->city, &x->grid, &e), 0);
  city_travel_gc(&x->city, &x->tm);
  x->idx = disp_index_new(&x->tm, &x->grid, 1);
  ck_assert_ptr_nonnull(x->idx);
  const double radii[] = {400.0, 1200.0, 2000.0, 3500.0};
  x->radius_m = radii[pcg32_bounded(r, 4)];
  x->cell_u = malloc((size_t)x->grid.n_cells * sizeof *x->cell_u);
  for (int32_t c = 0; c < x->grid.n_cells; c++) {
    double lat, lng;
    city_grid_center(&x->grid, city_grid_hex(&x->grid, c), &lat, &lng);
    rs_unit_vector(lat, lng, x->cell_u[c]);
  }
  x->orders = calloc(N_ORDERS, sizeof *x->orders);
  for (int32_t o = 0; o < N_ORDERS; o++) {
    disp_order *od = &x->orders[o];
    od->id = o + 1;
    random_point(r, &od->plat, &od->plng);
    rs_unit_vector(od->plat, od->plng, od->pu);
    /* a few pickups off the grid (cell -1): in the list, in no cell list */
    od->pcell = pcg32_bounded(r, 40) == 0 ? -1
                                           : city_grid_point_index(&x->grid, od->plat, od->plng);
  }
  EXPECT_EQ(sim_waiting_init(&x->w, &x->grid, disp_index_max_ring(x->idx, x->radius_m),
                             x->radius_m, x->city.earth_radius_m, (const double(*)[3])x->cell_u),
            0);
  EXPECT_EQ(sim_waiting_reserve(&x->w, x->orders, N_ORDERS), 0);
  x->w.n_orders = N_ORDERS;
}

static void world_free(world *x) {
  sim_waiting_free(&x->w);
  disp_index_free(x->idx);
  free(x->orders);
  free(x->cell_u);
}

static void check_ok(const world *x) {
  rs_err e;
  int rc = sim_waiting_check(&x->w, &e);
  if (rc != 0) ck_abort_msg("%s", e.msg);
  int64_t live = 0, open = 0;
  for (int32_t o = 0; o < x->n_added; o++) {
    live += x->live[o];
    open += x->live[o] && !x->exh[o];
    EXPECT_EQ(sim_waiting_live(&x->w, o), x->live[o]);
  }
  EXPECT_EQ(x->w.n_live, live);
  EXPECT_EQ(x->w.n_open, open);
}

/* A random waiting order of the reference, or -1. */
static int32_t random_live(const world *x, pcg32 *r) {
  int64_t n = 0;
  for (int32_t o = 0; o < x->n_added; o++) n += x->live[o];
  if (n == 0) return -1;
  int64_t k = (int64_t)pcg32_bounded(r, (uint32_t)n);
  for (int32_t o = 0; o < x->n_added; o++)
    if (x->live[o] && k-- == 0) return o;
  return -1;
}

/* One random change: a request, a match or expiry, or an exhausted mark. */
static void random_change(world *x, pcg32 *r) {
  rs_err e;
  uint32_t op = pcg32_bounded(r, 10);
  if (op < 5 && x->n_added < N_ORDERS) {
    int32_t o = x->n_added++;
    EXPECT_EQ(sim_waiting_add(&x->w, o, &e), 0);
    x->live[o] = 1;
    x->exh[o] = 0;
  } else if (op < 8) {
    int32_t o = random_live(x, r);
    if (o < 0) return;
    sim_waiting_leave(&x->w, o);
    x->live[o] = 0;
  } else if (x->n_added > 0) {
    /* decisions mark waiting orders; orders that left keep a mark too */
    int32_t o = (int32_t)pcg32_bounded(r, (uint32_t)x->n_added);
    uint8_t v = (uint8_t)pcg32_bounded(r, 2);
    sim_waiting_set_exhausted(&x->w, o, v);
    x->exh[o] = v;
  }
}

/* ---------------------------------------------------------- add and leave */

START_TEST(add_leave_mark) {
  pcg32 r;
  pcg32_stream(&r, (uint64_t)_i + 1, 21);
  world x;
  world_make(&x, &r);
  for (int step = 0; step < 12000; step++) {
    random_change(&x, &r);
    if (step % 7 == 0) check_ok(&x);
  }
  /* everyone leaves: the index is empty again */
  for (int32_t o = 0; o < x.n_added; o++)
    if (x.live[o]) {
      sim_waiting_leave(&x.w, o);
      x.live[o] = 0;
    }
  check_ok(&x);
  EXPECT_EQ(x.w.n_live, 0);
  for (int32_t pc = 0; pc < x.w.walk.n_padded; pc++) EXPECT_EQ(x.w.cell_head[pc], -1);
  world_free(&x);
}
END_TEST

/* --------------------------------------------------------------- rows */

START_TEST(rows_wake) {
  pcg32 r;
  pcg32_stream(&r, (uint64_t)_i + 1, 22);
  world x;
  world_make(&x, &r);
  uint8_t *woken = malloc((size_t)x.grid.n_cells);
  int32_t *cells = malloc((size_t)x.grid.n_cells * sizeof *cells);
  for (int round = 0; round < 300; round++) {
    int changes = (int)pcg32_bounded(&r, 60);
    for (int k = 0; k < changes; k++) random_change(&x, &r);
    /* wake a random set of cells */
    memset(woken, 0, (size_t)x.grid.n_cells);
    sim_waiting_wake_begin(&x.w);
    int32_t n = (int32_t)pcg32_bounded(&r, 200);
    for (int32_t k = 0; k < n; k++) {
      cells[k] = (int32_t)pcg32_bounded(&r, (uint32_t)x.grid.n_cells);
      woken[cells[k]] = 1;
    }
    int32_t split = n ? (int32_t)pcg32_bounded(&r, (uint32_t)n) : 0;
    sim_waiting_wake(&x.w, cells, split);
    sim_waiting_wake(&x.w, cells + split, n - split);
    int cellless = (int)pcg32_bounded(&r, 2);
    int32_t n_rows = sim_waiting_rows(&x.w, cellless);
    /* the reference: every waiting order in index order */
    int32_t k = 0, listed = 0;
    for (int32_t o = 0; o < x.n_added; o++) {
      if (!x.live[o]) continue;
      EXPECT_EQ(x.w.list[listed++], o);
      int32_t c = x.orders[o].pcell;
      int fresh;
      if (!x.exh[o] || (c < 0 && cellless)) fresh = 0;
      else if (c >= 0 && woken[c]) fresh = 1;
      else continue;
      EXPECT(k < n_rows);
      EXPECT_EQ(x.w.rows[k], o);
      EXPECT_EQ(x.w.row_fresh[k], fresh);
      k++;
    }
    EXPECT_EQ(k, n_rows);
    EXPECT_EQ(listed, x.w.n_list);
    check_ok(&x);
  }
  free(woken);
  free(cells);
  world_free(&x);
}
END_TEST

/* Orders leave in bulk between walks (the immediate ticks that use no
 * list walk): trim compacts once the dead entries outnumber the live ones,
 * and keeps every live order in request order either way. */
START_TEST(trim_keeps_live) {
  pcg32 r;
  pcg32_stream(&r, (uint64_t)_i + 1, 25);
  world x;
  world_make(&x, &r);
  rs_err e;
  int compacted = 0;
  for (int32_t batch = 0; batch < 4; batch++) {
    for (int32_t k = 0; k < N_ORDERS / 4; k++) {
      int32_t o = x.n_added++;
      EXPECT_EQ(sim_waiting_add(&x.w, o, &e), 0);
      x.live[o] = 1;
    }
    uint32_t keep = 1 + (uint32_t)_i * 3; /* in 20: 5 % to 80 % stay */
    /* the newest order stays: a compaction must keep the list's end */
    for (int32_t o = 0; o + 1 < x.n_added; o++)
      if (x.live[o] && pcg32_bounded(&r, 20) >= keep) {
        sim_waiting_leave(&x.w, o);
        x.live[o] = 0;
      }
    int32_t before = x.w.n_list;
    sim_waiting_trim(&x.w);
    int64_t live = x.w.n_live;
    if (before > 2 * live + 1024) {
      EXPECT_EQ(x.w.n_list, live); /* compacted */
      compacted = 1;
    } else {
      EXPECT_EQ(x.w.n_list, before); /* left alone */
    }
    int32_t i = 0;
    for (int32_t o = 0; o < x.n_added; o++) {
      if (!x.live[o]) continue;
      while (i < x.w.n_list && x.w.list[i] != o) EXPECT(!x.live[x.w.list[i++]]);
      EXPECT(i < x.w.n_list); /* o is listed, after the live orders before it */
      i++;
    }
    check_ok(&x);
  }
  if (_i < 3) ck_assert(compacted); /* few stay: the list was compacted */
  world_free(&x);
}
END_TEST

/* ------------------------------------------------------------- streams */

/* The reference's next head of a slot at u: the oldest waiting order after
 * `after` within the radius (the index's own widened squared chord), or
 * -1. Off-grid pickups are in no cell list, so in no stream. */
static int32_t ref_head(const world *x, const double *u, int32_t after) {
  for (int32_t o = after + 1; o < x->n_added; o++)
    if (x->live[o] && x->orders[o].pcell >= 0 && rs_chord2(u, x->orders[o].pu) <= x->w.reach2)
      return o;
  return -1;
}

/* The reference's top: the alive slot with the oldest head, the first
 * opened on ties. */
static int32_t ref_top(const int32_t *head, const uint8_t *alive, int32_t n) {
  int32_t best = -1;
  for (int32_t f = 0; f < n; f++)
    if (alive[f] && (best < 0 || head[f] < head[best])) best = f;
  return best;
}

START_TEST(stream_walks) {
  pcg32 r;
  pcg32_stream(&r, (uint64_t)_i + 1, 23);
  world x;
  world_make(&x, &r);
  rs_err e;
  double pt[MAX_SLOTS][3];
  int32_t who[MAX_SLOTS], head[MAX_SLOTS];
  uint8_t alive[MAX_SLOTS];
  int64_t tops = 0;
  for (int round = 0; round < 150; round++) {
    int changes = (int)pcg32_bounded(&r, 120);
    for (int k = 0; k < changes; k++) random_change(&x, &r);
    int32_t n_pts = 1 + (int32_t)pcg32_bounded(&r, MAX_SLOTS);
    EXPECT_EQ(sim_waiting_streams_begin(&x.w, n_pts, &e), 0);
    int32_t n_slots = 0;
    for (int32_t p = 0; p < n_pts; p++) {
      double lat, lng;
      random_point(&r, &lat, &lng);
      int32_t cell = city_grid_point_index(&x.grid, lat, lng);
      if (cell < 0) continue;
      double *u = pt[n_slots];
      rs_unit_vector(lat, lng, u);
      int32_t id = 1000 + p;
      int32_t want = ref_head(&x, u, -1);
      EXPECT_EQ(sim_waiting_stream_add(&x.w, id, cell, u), want);
      if (want < 0) continue;
      who[n_slots] = id;
      head[n_slots] = want;
      alive[n_slots++] = 1;
    }
    sim_waiting_streams_start(&x.w);
    for (;;) {
      int32_t f = ref_top(head, alive, n_slots), d = -1;
      int32_t o = sim_waiting_streams_top(&x.w, &d);
      if (f < 0) {
        EXPECT_EQ(o, -1);
        break;
      }
      tops++;
      EXPECT_EQ(o, head[f]);
      EXPECT_EQ(d, who[f]);
      if (pcg32_bounded(&r, 5) == 0) {
        /* the slot's point is no longer of interest (its driver taken) */
        sim_waiting_streams_drop(&x.w);
        alive[f] = 0;
        continue;
      }
      /* o is decided: matched (it leaves) or not */
      if (pcg32_bounded(&r, 2) == 0) {
        sim_waiting_leave(&x.w, o);
        x.live[o] = 0;
      }
      /* every slot headed by o moves on, or is dropped */
      while ((f = ref_top(head, alive, n_slots)) >= 0 && head[f] == o) {
        EXPECT_EQ(sim_waiting_streams_top(&x.w, &d), o);
        EXPECT_EQ(d, who[f]);
        if (pcg32_bounded(&r, 6) == 0) {
          sim_waiting_streams_drop(&x.w);
          alive[f] = 0;
          continue;
        }
        head[f] = ref_head(&x, pt[f], o);
        EXPECT_EQ(sim_waiting_streams_advance(&x.w), head[f]);
        alive[f] = head[f] >= 0;
      }
    }
    check_ok(&x);
  }
  ck_assert_int_gt(tops, 100); /* the walks did walk */
  world_free(&x);
}
END_TEST

/* ------------------------------------------------------------ the check */

START_TEST(check_catches) {
  pcg32 r;
  pcg32_stream(&r, 7, 24);
  world x;
  world_make(&x, &r);
  for (int step = 0; step < 3000; step++) random_change(&x, &r);
  check_ok(&x);
  rs_err e;
  /* a live order whose flag drops without leaving */
  int32_t o = -1;
  for (int32_t k = 0; k < x.n_added && o < 0; k++)
    if (x.live[k] && x.orders[k].pcell >= 0 && x.w.node[k].prev >= 0) o = k;
  ck_assert_int_ge(o, 0);
  x.w.live[o] = 0;
  EXPECT_EQ(sim_waiting_check(&x.w, &e), RS_EINVAL);
  x.w.live[o] = 1;
  /* a back link that points elsewhere */
  int32_t prev = x.w.node[o].prev;
  x.w.node[o].prev = -1;
  EXPECT_EQ(sim_waiting_check(&x.w, &e), RS_EINVAL);
  x.w.node[o].prev = prev;
  /* a count off by one */
  x.w.n_open++;
  EXPECT_EQ(sim_waiting_check(&x.w, &e), RS_EINVAL);
  x.w.n_open--;
  /* a list out of request order */
  if (x.w.n_list > 1) {
    int32_t t = x.w.list[0];
    x.w.list[0] = x.w.list[1];
    x.w.list[1] = t;
    EXPECT_EQ(sim_waiting_check(&x.w, &e), RS_EINVAL);
    x.w.list[1] = x.w.list[0];
    x.w.list[0] = t;
  }
  check_ok(&x);
  world_free(&x);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("waiting");
  TCase *tc = tcase_create("add_leave");
  tcase_add_loop_test(tc, add_leave_mark, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("rows");
  tcase_add_loop_test(tc, rows_wake, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("trim");
  tcase_add_loop_test(tc, trim_keeps_live, 0, 6);
  suite_add_tcase(s, tc);
  tc = tcase_create("streams");
  tcase_add_loop_test(tc, stream_walks, 0, 8);
  suite_add_tcase(s, tc);
  tc = tcase_create("check");
  tcase_add_test(tc, check_catches);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

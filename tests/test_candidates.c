/*
 * Tests of dispatch/candidates: the idle index against a plain list under
 * random operations, and the candidate graph against brute force (every
 * idle driver within the radius, nearest first, ties by index, at most K),
 * for the ring search and for the fresh-only shortcut; kept rows against
 * the plain search.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/city.h"
#include "base/rs_geo.h"
#include "dispatch/candidates.h"
#include "dispatch/rings.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

typedef struct {
  city_def city;
  city_travel tm;     /* the city's great-circle travel model */
  city_grid grid;
  disp_driver *drivers;
  disp_order *orders;
  int32_t nd, no;
} world;

/* Driver d, or order o's pickup, at (lat, lng): its unit vector and cell. */
static void put_driver(world *w, int32_t d, double lat, double lng) {
  disp_driver *dv = &w->drivers[d];
  dv->lat = lat;
  dv->lng = lng;
  rs_unit_vector(lat, lng, dv->u);
  dv->cell = city_grid_point_index(&w->grid, lat, lng);
}

static void put_order(world *w, int32_t o, double lat, double lng) {
  disp_order *od = &w->orders[o];
  od->plat = lat;
  od->plng = lng;
  rs_unit_vector(lat, lng, od->pu);
  od->pcell = city_grid_point_index(&w->grid, lat, lng);
}

static void world_make(world *w, uint64_t seed, int32_t nd, int32_t no) {
  rs_err e;
  ck_assert_int_eq(city_def_builtin("manhattan", &w->city, &e), 0);
  ck_assert_int_eq(city_def_grid(&w->city, &w->grid, &e), 0);
  city_travel_gc(&w->city, &w->tm);
  w->nd = nd;
  w->no = no;
  w->drivers = calloc((size_t)nd, sizeof *w->drivers);
  w->orders = calloc((size_t)no, sizeof *w->orders);
  pcg32 r;
  pcg32_seed(&r, seed, 11);
  /* a 6 km x 6 km patch of midtown, dense enough for rings to matter */
  for (int32_t d = 0; d < nd; d++) {
    double lat = 40.73 + 0.054 * pcg32_double(&r);
    double lng = -74.01 + 0.07 * pcg32_double(&r);
    put_driver(w, d, lat, lng);
    w->drivers[d].state = DISP_IDLE;
  }
  for (int32_t o = 0; o < no; o++) {
    w->orders[o].id = o + 1;
    double lat = 40.73 + 0.054 * pcg32_double(&r);
    double lng = -74.01 + 0.07 * pcg32_double(&r);
    put_order(w, o, lat, lng);
  }
}

static void world_free(world *w) {
  free(w->drivers);
  free(w->orders);
}

typedef struct {
  double m;
  int32_t d;
} cand;

static int cand_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->m != y->m) return x->m < y->m ? -1 : 1;
  return (x->d > y->d) - (x->d < y->d);
}

/* Brute force: idle drivers of `in` within radius, nearest first, K. */
static int32_t brute(const world *w, const uint8_t *in, const disp_order *o, double radius,
                     int32_t k, cand *out) {
  int32_t n = 0;
  for (int32_t d = 0; d < w->nd; d++) {
    if (!in[d]) continue;
    double m = rs_geo_haversine_r(o->plat, o->plng, w->drivers[d].lat, w->drivers[d].lng,
                                    w->city.earth_radius_m);
    if (m <= radius) out[n++] = (cand){m, d};
  }
  qsort(out, (size_t)n, sizeof *out, cand_cmp);
  return n < k ? n : k;
}

/* Same drivers in the same order, distances within 1e-6 m (chords versus
 * haversine); near-ties may swap by rounding, so compare sets when the
 * distances of neighbours differ by under 1e-6 m. */
static void same_row(const disp_tick *t, int32_t row, const cand *want, int32_t n) {
  int32_t lo = t->row_ptr[row], hi = t->row_ptr[row + 1];
  ck_assert_int_eq(hi - lo, n);
  for (int32_t i = 0; i < n; i++) {
    ck_assert_double_eq_tol(t->edge_dist[lo + i], want[i].m, 1e-6);
    if (t->edge_driver[lo + i] != want[i].d) {
      int near = (i > 0 && fabs(want[i].m - want[i - 1].m) < 1e-6) ||
                 (i + 1 < n && fabs(want[i].m - want[i + 1].m) < 1e-6);
      ck_assert_msg(near, "row %d rank %d: driver %d, want %d", row, i,
                    t->edge_driver[lo + i], want[i].d);
    }
  }
}

/* The graph of every order for K = k, against brute force, and its ranks
 * exactly: by the squared chord itself, ties by driver index (want: room
 * for every driver). */
static void exact_rows(const world *w, disp_index *x, const uint8_t *in, const int32_t *rows,
                       int32_t k, cand *want) {
  rs_err e;
  disp_tick t;
  memset(&t, 0, sizeof t);
  ck_assert_int_eq(disp_index_candidates(x, w->orders, w->drivers, rows, w->no, NULL, NULL, 0,
                                         2000, k, 0, 1454320800, &t, &e),
                   0);
  for (int32_t row = 0; row < w->no; row++) {
    int32_t n = brute(w, in, &w->orders[row], 2000, k, want);
    same_row(&t, row, want, n);
    const double *p = w->orders[row].pu;
    int32_t m = brute(w, in, &w->orders[row], 2000, w->nd, want);
    for (int32_t i = 0; i < m; i++) {
      const double *u = w->drivers[want[i].d].u;
      double a = u[0] - p[0], b = u[1] - p[1], c = u[2] - p[2];
      want[i].m = a * a + b * b + c * c;
    }
    qsort(want, (size_t)m, sizeof *want, cand_cmp);
    for (int32_t i = 0; i < n; i++)
      ck_assert_int_eq(t.edge_driver[t.row_ptr[row] + i], want[i].d);
  }
}

/* Index operations against a membership array. */
START_TEST(test_index_ops) {
  world w;
  world_make(&w, (uint64_t)_i, 400, 1);
  disp_index *x = disp_index_new(&w.tm, &w.grid, w.nd);
  ck_assert_ptr_nonnull(x);
  uint8_t *in = calloc((size_t)w.nd, 1);
  int32_t size = 0;
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 3);
  for (int step = 0; step < 20000; step++) {
    int32_t d = (int32_t)pcg32_bounded(&r, (uint32_t)w.nd);
    if (pcg32_bounded(&r, 2)) {
      if (!in[d]) size++;
      in[d] = 1;
      w.drivers[d].state = DISP_IDLE;
      ck_assert_int_eq(disp_index_add(x, d, w.drivers[d].cell, w.drivers[d].u), 0);
    } else {
      if (in[d]) size--;
      in[d] = 0;
      w.drivers[d].state = DISP_PICKUP;
      disp_index_remove(x, d);
    }
    ck_assert_int_eq(disp_index_contains(x, d), in[d]);
  }
  ck_assert_int_eq(disp_index_size(x), size);
  ck_assert_int_eq(disp_index_check(x, w.drivers), 0);
  free(in);
  disp_index_free(x);
  world_free(&w);
}
END_TEST

/* An index of the world's drivers, each left out with probability 1/m
 * (none when m is 0, and r may be NULL); in[d] says who is in. */
static disp_index *index_some(const world *w, uint8_t *in, pcg32 *r, uint32_t m) {
  disp_index *x = disp_index_new(&w->tm, &w->grid, w->nd);
  ck_assert_ptr_nonnull(x);
  for (int32_t d = 0; d < w->nd; d++)
    if (m == 0 || pcg32_bounded(r, m) != 0) {
      in[d] = 1;
      ck_assert_int_eq(disp_index_add(x, d, w->drivers[d].cell, w->drivers[d].u), 0);
    }
  return x;
}

/* Rows 0 .. no-1: every order of the world. */
static int32_t *all_rows(const world *w) {
  int32_t *rows = malloc((size_t)w->no * sizeof *rows);
  ck_assert_ptr_nonnull(rows);
  for (int32_t i = 0; i < w->no; i++) rows[i] = i;
  return rows;
}

/* Ring search = brute force, for several radii and K. */
START_TEST(test_candidates_ring) {
  static const double radii[] = {300, 800, 2000, 3500};
  static const int32_t ks[] = {1, 5, 32, 1000};
  world w;
  world_make(&w, 100 + (uint64_t)_i, 1500, 200);
  uint8_t *in = calloc((size_t)w.nd, 1);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 5);
  disp_index *x = index_some(&w, in, &r, 3);
  int32_t *rows = all_rows(&w);
  cand *want = malloc((size_t)w.nd * sizeof *want);
  rs_err e;
  for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++)
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
      disp_tick t;
      memset(&t, 0, sizeof t);
      ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, w.no, NULL, NULL, 0,
                                             radii[ri], ks[ki], 0, 1454320800, &t, &e),
                       0);
      ck_assert_int_eq(t.n_rows, w.no);
      for (int32_t row = 0; row < w.no; row++) {
        int32_t n = brute(&w, in, &w.orders[row], radii[ri], ks[ki], want);
        same_row(&t, row, want, n);
        for (int32_t k = t.row_ptr[row]; k < t.row_ptr[row + 1]; k++)
          ck_assert(t.edge_eta[k] > 0 || t.edge_dist[k] == 0);
      }
    }
  free(want);
  free(rows);
  free(in);
  disp_index_free(x);
  world_free(&w);
}
END_TEST

/* Every driver of the world indexed, then exact_rows for each K in ks;
 * with rounds = 2, again after removing a sixth of the drivers at random
 * (drawn from r). */
static void exact_graphs(const world *w, pcg32 *r, const int32_t *ks, size_t n_ks, int rounds) {
  uint8_t *in = calloc((size_t)w->nd, 1);
  disp_index *x = index_some(w, in, r, 0);
  int32_t *rows = all_rows(w);
  cand *want = malloc((size_t)w->nd * sizeof *want);
  for (int round = 0; round < rounds; round++) {
    if (round == 1) /* remove a sixth at random */
      for (int32_t d = 0; d < w->nd; d++)
        if (pcg32_bounded(r, 6) == 0) {
          in[d] = 0;
          disp_index_remove(x, d);
        }
    ck_assert_int_eq(disp_index_check(x, w->drivers), 0);
    for (size_t ki = 0; ki < n_ks; ki++) exact_rows(w, x, in, rows, ks[ki], want);
  }
  free(want);
  free(rows);
  free(in);
  disp_index_free(x);
}

/* Crowded cells (hundreds of drivers, many at exactly the same point):
 * the search's blocks of 64 and their ties (lowest index first) give what
 * brute force gives, also after removals have reordered the cells. */
START_TEST(test_candidates_crowded) {
  static const int32_t ks[] = {1, 2, 40, 1000};
  world w;
  world_make(&w, 500 + (uint64_t)_i, 900, 80);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 9);
  for (int32_t d = 0; d < 700; d++) { /* 40 spots within ~150 m */
    int32_t spot = (int32_t)pcg32_bounded(&r, 40);
    put_driver(&w, d, 40.7500 + 0.00003 * spot, -73.9900 + 0.00004 * (spot % 7));
  }
  for (int32_t o = 0; o < 20; o++) /* some orders in the crowd */
    put_order(&w, o, 40.7495 + 0.0001 * o / 20.0, -73.9905 + 0.0003 * (o % 5));
  exact_graphs(&w, &r, ks, sizeof ks / sizeof ks[0], 2);
  world_free(&w);
}
END_TEST

/* Drivers a few hundredths of a millimetre apart, far below what the
 * scan's float pass resolves, around orders a few hundred metres off: the
 * exact ranks must still come out, for K = 1 (the nearest alone) and more. */
START_TEST(test_candidates_near_ties) {
  static const int32_t ks[] = {1, 3, 40};
  world w;
  world_make(&w, 700 + (uint64_t)_i, 800, 40);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 13);
  for (int32_t d = 0; d < 600; d++) { /* three clusters of 2e-9 degrees */
    int32_t c = d % 3;
    double lat = 40.7480 + 0.004 * c + 1e-11 * pcg32_bounded(&r, 200);
    double lng = -73.9880 + 0.003 * c + 1e-11 * pcg32_bounded(&r, 200);
    put_driver(&w, d, lat, lng);
  }
  for (int32_t o = 0; o < w.no; o++) { /* 100 to 900 m from the clusters */
    double lat = 40.7480 + 0.008 * pcg32_double(&r) - 0.002;
    double lng = -73.9880 + 0.006 * pcg32_double(&r) - 0.002;
    put_order(&w, o, lat, lng);
  }
  exact_graphs(&w, &r, ks, sizeof ks / sizeof ks[0], 1);
  world_free(&w);
}
END_TEST

/* Fresh-only rows search the fresh list alone and give what brute force
 * gives over that list. */
START_TEST(test_candidates_fresh) {
  world w;
  world_make(&w, 7, 800, 100);
  disp_index *x = disp_index_new(&w.tm, &w.grid, w.nd);
  uint8_t *all = calloc((size_t)w.nd, 1), *fresh_in = calloc((size_t)w.nd, 1);
  int32_t *fresh = malloc((size_t)w.nd * sizeof *fresh), nf = 0;
  for (int32_t d = 0; d < w.nd; d++) {
    all[d] = 1;
    ck_assert_int_eq(disp_index_add(x, d, w.drivers[d].cell, w.drivers[d].u), 0);
    if (d % 9 == 0) {
      fresh[nf++] = d;
      fresh_in[d] = 1;
    }
  }
  int32_t *rows = malloc((size_t)w.no * sizeof *rows);
  uint8_t *flag = malloc((size_t)w.no);
  for (int32_t i = 0; i < w.no; i++) {
    rows[i] = i;
    flag[i] = i % 2;
  }
  cand *want = malloc((size_t)w.nd * sizeof *want);
  rs_err e;
  disp_tick t;
  memset(&t, 0, sizeof t);
  ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, w.no, flag, fresh, nf,
                                         2000, 16, 0, 1454320800, &t, &e),
                   0);
  for (int32_t row = 0; row < w.no; row++) {
    int32_t n = brute(&w, flag[row] ? fresh_in : all, &w.orders[row], 2000, 16, want);
    same_row(&t, row, want, n);
  }
  free(want);
  free(rows);
  free(flag);
  free(fresh);
  free(all);
  free(fresh_in);
  disp_index_free(x);
  world_free(&w);
}
END_TEST

/* The per-driver cap keeps, for each driver, its M nearest rows (ties by
 * row) and nothing else, and flags exactly the rows that lost an edge. */
START_TEST(test_candidates_driver_cap) {
  world w;
  world_make(&w, 300 + (uint64_t)_i, 300, 400);
  uint8_t *in = calloc((size_t)w.nd, 1);
  disp_index *x = index_some(&w, in, NULL, 0); /* every driver */
  int32_t *rows = all_rows(&w);
  rs_err e;
  disp_tick full, capped;
  memset(&full, 0, sizeof full);
  ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, w.no, NULL, NULL, 0, 1500,
                                         12, 0, 1454320800, &full, &e), 0);
  /* copy the uncapped graph: the next build reuses the buffers */
  int32_t ne = full.row_ptr[w.no];
  int32_t *fptr = malloc((size_t)(w.no + 1) * sizeof *fptr);
  int32_t *fdrv = malloc((size_t)ne * sizeof *fdrv);
  double *fdist = malloc((size_t)ne * sizeof *fdist);
  memcpy(fptr, full.row_ptr, (size_t)(w.no + 1) * sizeof *fptr);
  memcpy(fdrv, full.edge_driver, (size_t)ne * sizeof *fdrv);
  memcpy(fdist, full.edge_dist, (size_t)ne * sizeof *fdist);
  const int32_t M = 1 + _i;
  memset(&capped, 0, sizeof capped);
  ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, w.no, NULL, NULL, 0, 1500,
                                         12, M, 1454320800, &capped, &e), 0);
  /* brute force: rank of (dist, row) among the driver's uncapped edges */
  for (int32_t row = 0; row < w.no; row++) {
    int32_t kept = 0, lost = 0;
    for (int32_t k = fptr[row]; k < fptr[row + 1]; k++) {
      int32_t d = fdrv[k], better = 0;
      for (int32_t r2 = 0; r2 < w.no; r2++)
        for (int32_t j = fptr[r2]; j < fptr[r2 + 1]; j++)
          if (fdrv[j] == d && (fdist[j] < fdist[k] || (fdist[j] == fdist[k] && r2 < row)))
            better++;
      int in_capped = 0;
      for (int32_t j = capped.row_ptr[row]; j < capped.row_ptr[row + 1]; j++)
        in_capped |= capped.edge_driver[j] == d;
      ck_assert_int_eq(in_capped, better < M);
      if (better < M) kept++;
      else lost++;
    }
    ck_assert_int_eq(capped.row_ptr[row + 1] - capped.row_ptr[row], kept);
    ck_assert_int_eq(capped.row_capped[row], lost > 0);
  }
  free(fptr);
  free(fdrv);
  free(fdist);
  free(rows);
  free(in);
  disp_index_free(x);
  world_free(&w);
}
END_TEST

/* Both graphs the same, to the bit. */
static void same_graph(const disp_tick *a, const disp_tick *b, int32_t n_rows) {
  ck_assert_int_eq(a->n_rows, n_rows);
  ck_assert_int_eq(b->n_rows, n_rows);
  ck_assert(memcmp(a->row_ptr, b->row_ptr, (size_t)(n_rows + 1) * sizeof *a->row_ptr) == 0);
  size_t ne = (size_t)a->row_ptr[n_rows];
  ck_assert(memcmp(a->edge_driver, b->edge_driver, ne * sizeof *a->edge_driver) == 0);
  ck_assert(memcmp(a->edge_dist, b->edge_dist, ne * sizeof *a->edge_dist) == 0);
  ck_assert(memcmp(a->edge_eta, b->edge_eta, ne * sizeof *a->edge_eta) == 0);
  ck_assert(memcmp(a->row_capped, b->row_capped, (size_t)n_rows) == 0);
}

/* Kept rows (disp_index_keep_rows) against the plain search on random
 * runs: between builds drivers leave, come back, move (some onto one
 * spot: ties by index) and new ones arrive, and now and then most leave
 * at once (lists run dry); orders join and leave, some miss a build, some
 * are fresh-only rows; K and the per-driver cap change now and then.
 * Every build's graph is the plain one, bit for bit. */
START_TEST(test_candidates_kept_rows) {
  world w;
  const int32_t nd = 700, no = 3000;
  world_make(&w, 500 + (uint64_t)_i, nd, no);
  pcg32 r;
  pcg32_seed(&r, 900 + (uint64_t)_i, 3);
  disp_index *x = disp_index_new(&w.tm, &w.grid, nd), *y = disp_index_new(&w.tm, &w.grid, nd);
  ck_assert_int_eq(disp_index_keep_rows(x, no), 0);
  uint8_t *in = calloc((size_t)nd, 1), *waiting = calloc((size_t)no, 1);
  uint8_t *flag = malloc((size_t)no);
  int32_t *rows = malloc((size_t)no * sizeof *rows), *fresh = malloc((size_t)nd * sizeof *fresh);
  for (int32_t d = 0; d < nd; d++)
    if (pcg32_double(&r) < 0.6) {
      in[d] = 1;
      ck_assert_int_eq(disp_index_add(x, d, w.drivers[d].cell, w.drivers[d].u), 0);
      ck_assert_int_eq(disp_index_add(y, d, w.drivers[d].cell, w.drivers[d].u), 0);
    }
  int32_t next_order = 0, k = 8, cap = 3, builds = 0;
  rs_err e;
  for (int32_t round = 0; round < 120; round++) {
    /* the drivers: some leave, some come back or move, a few pile up */
    int32_t nf = 0;
    int32_t churn = round % 10 < 5 ? 12 : 80; /* quiet rounds, and rounds where lists run dry */
    for (int32_t c = 0; c < churn; c++) {
      int32_t d = (int32_t)pcg32_bounded(&r, (uint32_t)nd);
      double u = pcg32_double(&r);
      if (in[d] && u < 0.5) {
        disp_index_remove(x, d);
        disp_index_remove(y, d);
        in[d] = 0;
        continue;
      }
      if (u < 0.7) {
        put_driver(&w, d, 40.73 + 0.054 * pcg32_double(&r), -74.01 + 0.07 * pcg32_double(&r));
      } else if (u < 0.85) { /* onto another driver's spot */
        const disp_driver *o = &w.drivers[pcg32_bounded(&r, (uint32_t)nd)];
        put_driver(&w, d, o->lat, o->lng);
      }
      in[d] = 1;
      fresh[nf++] = d;
      ck_assert_int_eq(disp_index_add(x, d, w.drivers[d].cell, w.drivers[d].u), 0);
      ck_assert_int_eq(disp_index_add(y, d, w.drivers[d].cell, w.drivers[d].u), 0);
    }
    if (round % 30 == 29) /* a wave of matches: lists run dry and are searched again */
      for (int32_t d = 0; d < nd; d++)
        if (in[d] && pcg32_double(&r) < 0.8) {
          disp_index_remove(x, d);
          disp_index_remove(y, d);
          in[d] = 0;
        }
    /* the orders: some leave, new ones join */
    for (int32_t o = 0; o < next_order; o++)
      if (waiting[o] && pcg32_double(&r) < 0.05) waiting[o] = 0;
    for (int32_t c = (int32_t)pcg32_bounded(&r, 30); c > 0 && next_order < no; c--)
      waiting[next_order++] = 1;
    if (round % 40 == 39) k = 1 + (int32_t)pcg32_bounded(&r, 40);
    if (round % 25 == 24) cap = (int32_t)pcg32_bounded(&r, 4);
    /* a build or two over the waiting orders, some missing, some fresh-only */
    for (int32_t b = (int32_t)pcg32_bounded(&r, 2); b <= 1; b++) {
      int32_t n = 0;
      for (int32_t o = 0; o < next_order; o++) {
        if (!waiting[o] || pcg32_double(&r) < 0.005) continue;
        flag[n] = pcg32_double(&r) < 0.03;
        rows[n++] = o;
      }
      disp_tick a, c;
      memset(&a, 0, sizeof a);
      memset(&c, 0, sizeof c);
      ck_assert_int_eq(disp_index_candidates(y, w.orders, w.drivers, rows, n, flag, fresh, nf,
                                             1500, k, cap, 1454320800 + round, &a, &e),
                       0);
      /* a copy: the graphs live in each index's own buffers */
      ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, n, flag, fresh, nf,
                                             1500, k, cap, 1454320800 + round, &c, &e),
                       0);
      same_graph(&a, &c, n);
      builds++;
    }
    ck_assert_int_eq(disp_index_check(x, w.drivers), 0);
  }
  ck_assert_int_ge(builds, 120);
  free(in);
  free(waiting);
  free(flag);
  free(rows);
  free(fresh);
  disp_index_free(x);
  disp_index_free(y);
  world_free(&w);
}
END_TEST

/* Kept rows when the caller's order indices change (the engine's drops
 * renumber its orders): after disp_index_keep_rows_forget, rows that now
 * stand for other orders get the plain search's graph, and
 * disp_index_keep_rows makes room for more orders while on. Without the
 * forget, the second build would read the lists of the orders that held
 * those indices before. */
START_TEST(test_candidates_kept_rows_renumbered) {
  world w;
  const int32_t nd = 500, no = 2000, half = no / 2;
  world_make(&w, 77 + (uint64_t)_i, nd, no);
  disp_index *x = disp_index_new(&w.tm, &w.grid, nd), *y = disp_index_new(&w.tm, &w.grid, nd);
  ck_assert_int_eq(disp_index_keep_rows(x, half), 0);
  for (int32_t d = 0; d < nd; d++) {
    ck_assert_int_eq(disp_index_add(x, d, w.drivers[d].cell, w.drivers[d].u), 0);
    ck_assert_int_eq(disp_index_add(y, d, w.drivers[d].cell, w.drivers[d].u), 0);
  }
  int32_t *rows = malloc((size_t)no * sizeof *rows);
  for (int32_t o = 0; o < no; o++) rows[o] = o;
  rs_err e;
  disp_tick a, c;
  for (int step = 0; step < 3; step++) {
    /* step 0: orders 0 .. half - 1; step 1: the same indices, each now the
     * order half further on (a drop of half); step 2: room for every
     * index, and rows over all of them */
    int32_t n = half;
    if (step == 1) {
      memmove(w.orders, w.orders + half, (size_t)half * sizeof *w.orders);
      disp_index_keep_rows_forget(x);
    } else if (step == 2) {
      ck_assert_int_eq(disp_index_keep_rows(x, no), 0); /* the first half's lists stay */
      n = no;
    }
    memset(&a, 0, sizeof a);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(disp_index_candidates(y, w.orders, w.drivers, rows, n, NULL, NULL, 0, 1500,
                                           8, 0, 1454320800 + step, &a, &e),
                     0);
    ck_assert_int_eq(disp_index_candidates(x, w.orders, w.drivers, rows, n, NULL, NULL, 0, 1500,
                                           8, 0, 1454320800 + step, &c, &e),
                     0);
    same_graph(&a, &c, n);
  }
  free(rows);
  disp_index_free(x);
  disp_index_free(y);
  world_free(&w);
}
END_TEST

/* The padded grid's ring walk visits exactly the k-ring's cells on the
 * grid, in city_hex_kring's order, from every cell, for boxes whose first
 * row has either parity, and margin cells map to no cell. */
START_TEST(test_rings_walk) {
  int seen[2] = {0, 0};
  for (int32_t hi = 0; hi < 6; hi++)
    for (int32_t k = 0; k <= 5; k++) {
      city_grid g;
      ck_assert_int_eq(city_grid_init(&g, 40.70, -74.02, 40.73 + 0.0045 * hi, -73.97, 500.0,
                                      RS_EARTH_RADIUS_M),
                       0);
      seen[g.row0 & 1] = 1;
      disp_rings w;
      ck_assert_int_eq(disp_rings_init(&w, &g, k), 0);
      ck_assert_int_eq(w.n_steps, city_hex_kring_size(k));
      int32_t in_margin = 0;
      for (int32_t p = 0; p < w.n_padded; p++) in_margin += w.dense[p] < 0;
      ck_assert_int_eq(in_margin, w.n_padded - g.n_cells);
      city_hex *ring = malloc((size_t)w.n_steps * sizeof *ring);
      ck_assert_ptr_nonnull(ring);
      /* one assertion per grid (Check logs each one) */
      int32_t bad = 0;
      for (int32_t c = 0; c < g.n_cells; c++) {
        bad += w.dense[w.padded[c]] != c;
        const int32_t *step = disp_rings_steps(&w, c);
        city_hex_kring(city_grid_hex(&g, c), k, ring);
        for (int32_t i = 0; i < w.n_steps; i++) {
          int32_t p = w.padded[c] + step[i];
          bad += p < 0 || p >= w.n_padded || w.dense[p] != city_grid_index(&g, ring[i]);
        }
      }
      ck_assert_int_eq(bad, 0);
      free(ring);
      disp_rings_free(&w);
    }
  ck_assert(seen[0] && seen[1]);
}
END_TEST

/* The ring cells the index computes from the padded grid's steps are the
 * k-ring's cells on the grid, in city_hex_kring's order, for every cell
 * (edges and corners included) and several radii. */
START_TEST(test_ring_cells) {
  world w;
  world_make(&w, 2, 1, 1);
  disp_index *x = disp_index_new(&w.tm, &w.grid, 1);
  ck_assert_ptr_nonnull(x);
  const double radii[] = {100, 900, 2000, 3500};
  for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++) {
    int32_t k = disp_index_max_ring(x, radii[ri]), per = city_hex_kring_size(k);
    int32_t *got = malloc((size_t)per * sizeof *got);
    city_hex *ring = malloc((size_t)per * sizeof *ring);
    ck_assert(got && ring);
    for (int32_t c = 0; c < w.grid.n_cells; c++) {
      int32_t n = disp_index_ring_cells(x, radii[ri], c, got);
      int32_t nr = city_hex_kring(city_grid_hex(&w.grid, c), k, ring), m = 0, bad = 0;
      for (int32_t i = 0; i < nr; i++) {
        int32_t want = city_grid_index(&w.grid, ring[i]);
        if (want < 0) continue;
        bad += m >= n || got[m] != want;
        m++;
      }
      ck_assert_msg(bad == 0 && m == n, "cell %d: %d of %d ring cells wrong", c, bad, m);
    }
    free(got);
    free(ring);
  }
  disp_index_free(x);
  world_free(&w);
}
END_TEST

START_TEST(test_max_ring) {
  world w;
  world_make(&w, 1, 1, 1);
  disp_index *x = disp_index_new(&w.tm, &w.grid, 1);
  /* 600 m edge: the last ring k with 1.5 k e - 2 e <= R / 0.99; 2 km
   * reaches ring 3 (ring 4's nearest point is 2,400 m away), 100 m ring 1 */
  ck_assert_int_eq(disp_index_max_ring(x, 2000), 3);
  ck_assert_int_eq(disp_index_max_ring(x, 100), 1);
  for (double r = 1; r < 20000; r *= 1.37) {
    int32_t k = disp_index_max_ring(x, r);
    double e = w.grid.edge_m;
    ck_assert(1.5 * k * e - 2 * e <= r / 0.99);
    ck_assert(1.5 * (k + 1) * e - 2 * e > r / 0.99);
  }
  disp_index_free(x);
  world_free(&w);
}
END_TEST

/* A radius far beyond the city (1,000 km, 1e9 m) walks no farther than the
 * grid reaches: the ring stops at the grid's diameter, and from every corner
 * and the centre it still covers every cell exactly once. */
START_TEST(test_max_ring_clamped) {
  world w;
  world_make(&w, 1, 1, 1);
  disp_index *x = disp_index_new(&w.tm, &w.grid, 1);
  ck_assert_ptr_nonnull(x);
  const city_grid *g = &w.grid;
  int32_t dia = 0;
  const int32_t corners[] = {0, g->ncols - 1, (g->nrows - 1) * g->ncols, g->n_cells - 1,
                             g->n_cells / 2};
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 5; j++) {
      int32_t d = city_hex_distance(city_grid_hex(g, corners[i]), city_grid_hex(g, corners[j]));
      if (d > dia) dia = d;
    }
  ck_assert_int_eq(disp_index_max_ring(x, 1e6), dia);
  ck_assert_int_eq(disp_index_max_ring(x, 1e9), dia);
  ck_assert_int_eq(disp_index_max_ring(x, INFINITY), dia);
  int32_t *got = malloc((size_t)city_hex_kring_size(dia) * sizeof *got);
  uint8_t *seen = malloc((size_t)g->n_cells);
  ck_assert(got && seen);
  for (size_t i = 0; i < 5; i++) {
    int32_t n = disp_index_ring_cells(x, 1e6, corners[i], got);
    ck_assert_int_eq(n, g->n_cells);
    memset(seen, 0, (size_t)g->n_cells);
    for (int32_t k = 0; k < n; k++) {
      ck_assert(got[k] >= 0 && got[k] < g->n_cells && !seen[got[k]]);
      seen[got[k]] = 1;
    }
  }
  free(got);
  free(seen);
  disp_index_free(x);
  world_free(&w);
}
END_TEST

static Suite *candidates_suite(void) {
  Suite *s = suite_create("candidates");
  TCase *tc = tcase_create("disp_index_add_remove");
  tcase_add_loop_test(tc, test_index_ops, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_index_candidates");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_candidates_ring, 0, 3);
  tcase_add_loop_test(tc, test_candidates_crowded, 0, 3);
  tcase_add_loop_test(tc, test_candidates_near_ties, 0, 3);
  tcase_add_test(tc, test_candidates_fresh);
  tcase_add_loop_test(tc, test_candidates_driver_cap, 0, 3);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_index_keep_rows");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_candidates_kept_rows, 0, 6);
  tcase_add_loop_test(tc, test_candidates_kept_rows_renumbered, 0, 3);
  suite_add_tcase(s, tc);
  tc = tcase_create("disp_index_max_ring");
  tcase_add_test(tc, test_max_ring);
  tcase_add_test(tc, test_max_ring_clamped);
  tcase_add_test(tc, test_ring_cells);
  tcase_add_test(tc, test_rings_walk);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(candidates_suite()); }

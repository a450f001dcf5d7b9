/*
 * policies: the built-in dispatch and repositioning policies that need no
 * model of the city; see policy.h. The registry (registry.c) names them,
 * describes them and builds them.
 *
 * Dispatch:
 *   fcfs-nearest    each order, as it arrives (and at every tick while it
 *                   waits, oldest first), takes its nearest free candidate.
 *   random          each order takes a uniformly random free candidate: a
 *                   floor for comparisons.
 *   batch-distance  at every tick, all waiting orders and idle candidates are
 *                   matched at once by the exact solver (match.h), serving
 *                   as many orders as possible and then minimising total
 *                   pickup distance (disp_batch with cardinality first and
 *                   score -distance, see batch.h). Other batch policies
 *                   reuse disp_batch with their own scores.
 * Repositioning:
 *   stay            nobody moves.
 *   random-walk     every eligible driver heads to a random neighbouring
 *                   cell in service (stays when none is).
 *
 * A driver is used at most once per decision: the `used` stamps (one int per
 * driver, compared with a per-decision counter) avoid clearing an array at
 * every tick.
 */
#include "dispatch/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rs_vec.h"
#include "dispatch/batch.h"
#include "dispatch/match.h"

/* ------------------------------------------------------ used-driver stamps */

typedef struct {
  uint32_t *stamp;   /* per driver: the decision that last used it */
  int32_t n;         /* drivers the array covers */
  size_t cap;        /* its allocated entries, n or more */
  uint32_t cur;      /* the current decision's stamp */
} used_set;

static int used_begin(used_set *u, int32_t n_drivers) {
  if (n_drivers > u->n) {
    if (rs_vec_grow(u->stamp, u->cap, (size_t)n_drivers)) return RS_ENOMEM;
    memset(u->stamp + u->n, 0, (size_t)(n_drivers - u->n) * sizeof *u->stamp);
    u->n = n_drivers;
  }
  if (++u->cur == 0) { /* wrapped: start over */
    memset(u->stamp, 0, (size_t)u->n * sizeof *u->stamp);
    u->cur = 1;
  }
  return 0;
}

/* ------------------------------------------------------------- fcfs, random */

typedef struct {
  used_set used;
  int random;        /* 1: random candidate, 0: nearest */
  int32_t *free_e;   /* random: scratch of a row's free edges */
  size_t cap;
} greedy_ctx;

static int greedy_dispatch(void *vctx, disp_tick *t, rs_err *e) {
  greedy_ctx *g = vctx;
  if (t->n_rows == 1) {
    /* one order (an immediate decision): every candidate is free */
    int32_t lo = t->row_ptr[0], hi = t->row_ptr[1];
    if (hi == lo) return 0;
    int32_t pick = g->random ? lo + (int32_t)pcg32_bounded(t->rng, (uint32_t)(hi - lo)) : lo;
    t->out[t->n_out].order = t->row_order[0];
    t->out[t->n_out].driver = t->edge_driver[pick];
    t->n_out++;
    return 0;
  }
  if (used_begin(&g->used, t->n_drivers))
    return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
  for (int32_t row = 0; row < t->n_rows; row++) {
    int32_t lo = t->row_ptr[row], hi = t->row_ptr[row + 1], pick = -1;
    if (!g->random) {
      for (int32_t k = lo; k < hi && pick < 0; k++)
        if (g->used.stamp[t->edge_driver[k]] != g->used.cur) pick = k;
    } else {
      if (rs_vec_grow(g->free_e, g->cap, (size_t)(hi - lo)))
        return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
      int32_t n = 0;
      for (int32_t k = lo; k < hi; k++)
        if (g->used.stamp[t->edge_driver[k]] != g->used.cur) g->free_e[n++] = k;
      if (n > 0) pick = g->free_e[pcg32_bounded(t->rng, (uint32_t)n)];
    }
    if (pick < 0) continue;
    g->used.stamp[t->edge_driver[pick]] = g->used.cur;
    t->out[t->n_out].order = t->row_order[row];
    t->out[t->n_out].driver = t->edge_driver[pick];
    t->n_out++;
  }
  return 0;
}

static void greedy_destroy(void *vctx) {
  greedy_ctx *g = vctx;
  if (g == NULL) return;
  free(g->used.stamp);
  free(g->free_e);
  free(g);
}

/* ------------------------------------------------------------ batch solver */

struct disp_batch {
  disp_weight_fn weight;   /* edge score */
  void *wctx;
  int cardinality_first;   /* weight = C + score (see batch.h) */
  disp_match *solver;
  used_set colmap;         /* driver -> column, valid when stamped */
  int32_t *col_of;         /* per driver: its column this decision */
  int32_t *col_driver;     /* per column: the driver */
  int32_t *col_idx;        /* per edge: its column */
  double *w;               /* per edge: its weight */
  int32_t *row_to_col;
  size_t cap_col_idx, cap_w, cap_rows, cap_cols, cap_col_of; /* capacities */
  disp_solve_stat *stats;  /* one per solved decision */
  int32_t n_stats;
  size_t cap_stats;
};

static double distance_score(void *wctx, const disp_tick *t, int32_t row, int32_t k) {
  (void)wctx;
  (void)row;
  return -t->edge_dist[k];
}

disp_batch *disp_batch_new(disp_weight_fn weight, void *wctx, int cardinality_first) {
  disp_batch *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->weight = weight ? weight : distance_score;
  b->wctx = wctx;
  b->cardinality_first = cardinality_first;
  b->solver = disp_match_new();
  if (b->solver == NULL) {
    free(b);
    return NULL;
  }
  return b;
}

void disp_batch_free(disp_batch *b) {
  if (b == NULL) return;
  disp_match_free(b->solver);
  free(b->colmap.stamp);
  free(b->col_of);
  free(b->col_driver);
  free(b->col_idx);
  free(b->w);
  free(b->row_to_col);
  free(b->stats);
  free(b);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int disp_batch_dispatch(disp_batch *b, disp_tick *t, rs_err *e) {
  int32_t n_rows = t->n_rows, n_edges = t->row_ptr[n_rows];
  if (rs_vec_grow(b->col_idx, b->cap_col_idx, (size_t)n_edges) ||
      rs_vec_grow(b->w, b->cap_w, (size_t)n_edges) ||
      rs_vec_grow(b->row_to_col, b->cap_rows, (size_t)n_rows) ||
      rs_vec_grow(b->col_driver, b->cap_cols, (size_t)n_edges) ||
      rs_vec_grow(b->col_of, b->cap_col_of, (size_t)t->n_drivers) ||
      used_begin(&b->colmap, t->n_drivers))
    return rs_err_set(e, RS_ENOMEM, "batch dispatch: out of memory");
  int32_t n_cols = 0;
  for (int32_t row = 0; row < n_rows; row++) {
    for (int32_t k = t->row_ptr[row]; k < t->row_ptr[row + 1]; k++) {
      int32_t d = t->edge_driver[k];
      if (b->colmap.stamp[d] != b->colmap.cur) {
        b->colmap.stamp[d] = b->colmap.cur;
        b->col_of[d] = n_cols;
        b->col_driver[n_cols++] = d;
      }
      b->col_idx[k] = b->col_of[d];
      b->w[k] = b->weight(b->wctx, t, row, k);
    }
  }
  if (b->cardinality_first) {
    double smax = 0;
    for (int32_t k = 0; k < n_edges; k++)
      if (fabs(b->w[k]) > smax) smax = fabs(b->w[k]);
    double m = n_rows < n_cols ? n_rows : n_cols;
    double c = 2.0 * smax * (m + 1.0) + 1.0;
    for (int32_t k = 0; k < n_edges; k++) b->w[k] += c;
  }
  double total, t0 = now_us();
  int rc = disp_match_solve(b->solver, n_rows, n_cols, t->row_ptr, b->col_idx, b->w,
                            b->row_to_col, &total, e);
  double t1 = now_us();
  if (rc) return rc;
  if (rs_vec_grow(b->stats, b->cap_stats, (size_t)b->n_stats + 1))
    return rs_err_set(e, RS_ENOMEM, "batch dispatch: out of memory");
  disp_solve_stat *st = &b->stats[b->n_stats++];
  st->t = t->now;
  st->orders = n_rows;
  st->drivers = n_cols;
  st->edges = n_edges;
  st->solve_us = t1 - t0;
  for (int32_t row = 0; row < n_rows; row++) {
    int32_t c = b->row_to_col[row];
    if (c < 0) continue;
    t->out[t->n_out].order = t->row_order[row];
    t->out[t->n_out].driver = b->col_driver[c];
    t->n_out++;
  }
  return 0;
}

const disp_solve_stat *disp_batch_stats(const disp_batch *b, int32_t *n) {
  *n = b->n_stats;
  return b->stats;
}

static int batch_dispatch_cb(void *ctx, disp_tick *t, rs_err *e) {
  return disp_batch_dispatch(ctx, t, e);
}

static const disp_solve_stat *batch_stats_cb(void *ctx, int32_t *n) {
  return disp_batch_stats(ctx, n);
}

static void batch_destroy_cb(void *ctx) { disp_batch_free(ctx); }

/* ------------------------------------------------------------ constructors */

int disp_greedy_new(int random, disp_policy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  greedy_ctx *g = calloc(1, sizeof *g);
  if (g == NULL) return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
  g->random = random != 0;
  p->name = g->random ? "random" : "fcfs-nearest";
  p->immediate = 1;
  p->maximal = 1;
  p->one_row_k = g->random ? 0 : 1; /* the nearest is the first of any K */
  p->ctx = g;
  p->dispatch = greedy_dispatch;
  p->destroy = greedy_destroy;
  return 0;
}

int disp_batch_distance_new(int32_t driver_top_k, disp_policy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  disp_batch *b = disp_batch_new(NULL, NULL, 1);
  if (b == NULL) return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
  p->name = "batch-distance";
  p->maximal = 1; /* maximum cardinality first: no free edge remains */
  p->driver_top_k = driver_top_k;
  p->ctx = b;
  p->dispatch = batch_dispatch_cb;
  p->solve_stats = batch_stats_cb;
  p->destroy = batch_destroy_cb;
  return 0;
}

void disp_policy_destroy(disp_policy *p) {
  if (p && p->destroy) p->destroy(p->ctx);
  if (p) memset(p, 0, sizeof *p);
}

static int stay_reposition(void *ctx, disp_repo *r, rs_err *e) {
  (void)ctx;
  (void)r;
  (void)e;
  return 0;
}

static int walk_reposition(void *ctx, disp_repo *r, rs_err *e) {
  (void)ctx;
  (void)e;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    const disp_driver *d = &r->drivers[r->eligible[i]];
    city_hex nb[6];
    city_hex_neighbors(city_grid_hex(r->grid, d->cell), nb);
    int32_t valid[6], n = 0;
    for (int k = 0; k < 6; k++) {
      int32_t c = city_grid_index(r->grid, nb[k]);
      if (c >= 0 && (r->in_service == NULL || r->in_service[c])) valid[n++] = c;
    }
    r->dest_cell[i] = n > 0 ? valid[pcg32_bounded(r->rng, (uint32_t)n)] : -1;
  }
  return 0;
}

void disp_stay_new(disp_repolicy *p) {
  memset(p, 0, sizeof *p);
  p->name = "stay";
  p->reposition = stay_reposition;
  p->inert = 1;
}

void disp_random_walk_new(disp_repolicy *p) {
  memset(p, 0, sizeof *p);
  p->name = "random-walk";
  p->reposition = walk_reposition;
}

void disp_repolicy_destroy(disp_repolicy *p) {
  if (p && p->destroy) p->destroy(p->ctx);
  if (p) memset(p, 0, sizeof *p);
}

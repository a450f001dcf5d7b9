/*
 * train: offline policy evaluation of the value table; see train.h.
 *
 * Job: turn days of historical trips (or any transitions) into V(cell, slot)
 * and the time-free layer U(cell), each state the mean target of its
 * transitions, solved exactly instead of by repeated backward sweeps.
 *
 * Preparation, once per call, O(n log n):
 *   - every trip becomes a transition (s, s', R_gamma, gamma^(dt / P)): s is
 *     the pickup cell at the request time, s' the dropoff cell at request
 *     time + the modelled trip time (city_travel_trip, the engine's own
 *     travel model), the fare spread over the ride in continuous time.
 *     Cells come from the trip record when it has them (the store's cells
 *     are the city's grid indices) and from the coordinates otherwise, as
 *     the engine does. A pickup off the grid skips the trip; a dropoff off
 *     the grid ends the episode (V(s') = 0, what val_table_get answers for
 *     cell -1).
 *   - transitions are sorted into the solver's order: slot descending, day
 *     type descending, cell, then (t0, id, input position) descending, a
 *     total order, so nothing depends on how the caller or qsort arranged
 *     equal keys. Each run of one (day type, slot, cell) is a state of V; a
 *     copy sorted by (day type, cell) gives the layer's states.
 *
 * The equations. For a state s with transitions i = 1..N,
 *   N V(s) = sum_i R_i + sum_{i: s'_i != s} d_i V(s'_i) + V(s) sum_{i: s'_i = s} d_i,
 * so V(s) = (sum_i R_i + sum_{s'_i != s} d_i V(s'_i)) / (N - sum_{s'_i = s} d_i):
 * a state's loops onto itself (a short trip inside its own cell and slot)
 * are solved in closed form, and Gauss-Seidel sweeps settle the rest of a
 * slot's couplings (trips between cells of one slot, and the fallback of an
 * unvisited successor, which reads that slot's visited neighbours). Those
 * couplings are trips shorter than the rest of their slot between
 * different cells, so a sweep shrinks the error by far more than gamma: a
 * handful of sweeps per slot. Successors in later slots are final when a
 * slot is solved (slots are solved latest first); successors in earlier
 * slots (a window wrapping round midnight, a day type feeding the other)
 * are read as they stand and settled by further passes. A denominator of
 * 0 (gamma 1 and a state whose every transition is an instant loop) has no
 * finite solution: such a state keeps the mean of its rewards. With a
 * prior (k > 0) the denominator is at least k, so a sparse state's loops
 * cannot run away: V = (R + k prior) / (1 + k - d) for one loop.
 *
 * Seen states: before the first pass every state with a transition is
 * marked seen (with its transition count) at the value the table answered
 * for it, so unvisited states fall back to the same neighbours throughout
 * and the result does not depend on the order states were reached.
 *
 * Costs: a sweep of a slot is O(its transitions), a pass O(n) times the
 * slots' sweeps; the layer is the same over all transitions at once, its
 * sweeps shrinking errors by about the mean discount of a trip.
 *
 * Ownership: val_train allocates its working arrays and frees them before
 * returning; the table is the caller's. On an error before the first pass
 * (bad options, grid mismatch, no usable trip, no memory) the table is
 * unchanged.
 */
#include "value/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One transition as the solver sees it. */
typedef struct {
  int64_t t0, t1;      /* start and end, local epoch */
  int64_t id;          /* stable id */
  size_t pos;          /* position in the caller's array: last tie-break */
  int32_t cell0;       /* start cell, on the grid */
  int32_t cell1;       /* end cell, -1 when off the grid */
  int32_t dtype, slot; /* state of (cell0, t0) */
  int32_t self_v;      /* (cell1, t1) is the same state of V */
  int32_t self_f;      /* (cell1, day type of t1) is the same cell of U */
  int32_t wraps;       /* reads a slot solved after its own in a pass */
  double r;            /* reward discounted to t0 */
  double d;            /* gamma^(dt / P) */
} xrec;

/* A run of transitions of one state. */
typedef struct {
  size_t first, n;     /* into the ordered array */
  int32_t dtype, slot, cell;
  double self_d;       /* sum of the loops' discounts */
  double r_sum;        /* sum of the rewards */
  uint32_t total;      /* transitions (saturated) */
} state;

void val_train_defaults(val_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->max_passes = VAL_TRAIN_PASSES_DEFAULT;
  o->max_sweeps = VAL_TRAIN_SWEEPS_DEFAULT;
  o->tol = VAL_TRAIN_TOL_DEFAULT;
  o->prior_trips = VAL_TRAIN_PRIOR_TRIPS_DEFAULT;
}

static int cmp_tail(const xrec *a, const xrec *b) {
  if (a->t0 != b->t0) return a->t0 > b->t0 ? -1 : 1;
  if (a->id != b->id) return a->id > b->id ? -1 : 1;
  if (a->pos != b->pos) return a->pos > b->pos ? -1 : 1;
  return 0;
}

/* The solver's order: slot descending, day type descending, cell, then
 * backward in time. */
static int cmp_solve(const void *pa, const void *pb) {
  const xrec *a = pa, *b = pb;
  if (a->slot != b->slot) return a->slot > b->slot ? -1 : 1;
  if (a->dtype != b->dtype) return a->dtype > b->dtype ? -1 : 1;
  if (a->cell0 != b->cell0) return a->cell0 < b->cell0 ? -1 : 1;
  return cmp_tail(a, b);
}

/* The layer's order: day type, cell, then backward in time. */
static int cmp_free(const void *pa, const void *pb) {
  const xrec *a = pa, *b = pb;
  if (a->dtype != b->dtype) return a->dtype < b->dtype ? -1 : 1;
  if (a->cell0 != b->cell0) return a->cell0 < b->cell0 ? -1 : 1;
  return cmp_tail(a, b);
}

/* The trip's cell: the recorded one when valid, else from the point. */
static int32_t trip_cell(const city_grid *g, int32_t recorded, double lat, double lng) {
  if (recorded >= 0 && recorded < g->n_cells) return recorded;
  if (recorded >= g->n_cells) return -1;
  if (!isfinite(lat) || !isfinite(lng)) return -1;
  return city_grid_point_index(g, lat, lng);
}

/* (num + k prior) / (N + k - loops), the mean-target equation with the
 * state's own loops and its prior's k pseudo-transitions. */
static double solve_state(const state *st, double num, double k, double prior) {
  double den = (double)st->n + k - st->self_d;
  return den > 1e-12 ? (num + k * prior) / den : st->r_sum / (double)st->n;
}

/* Solves the time-free layer; returns the sweeps run. */
static int32_t solve_free(val_table *t, const xrec *x, const state *fs, int32_t n_fs,
                          const val_train_opts *o) {
  /* mark every visited cell seen at what the layer answered */
  double *start = malloc((size_t)n_fs * sizeof *start);
  if (start == NULL) return -1;
  for (int32_t k = 0; k < n_fs; k++)
    start[k] = val_table_free_get(t, fs[k].cell, x[fs[k].first].t0);
  for (int32_t k = 0; k < n_fs; k++)
    val_table_free_set(t, fs[k].dtype, fs[k].cell, start[k], fs[k].total);
  free(start);
  int32_t sweeps = 0;
  while (sweeps < o->max_sweeps) {
    double max_change = 0;
    for (int32_t k = 0; k < n_fs; k++) {
      const state *st = &fs[k];
      double num = st->r_sum;
      for (size_t j = st->first; j < st->first + st->n; j++) {
        const xrec *y = &x[j];
        if (!y->self_f) num += y->d * val_table_free_get(t, y->cell1, y->t1);
      }
      double old = val_table_free_raw(t, st->dtype, st->cell);
      double v = solve_state(st, num, o->prior_trips, val_table_free_mean(t, st->dtype));
      val_table_free_set(t, st->dtype, st->cell, v, st->total);
      double ch = fabs(v - old);
      if (ch > max_change || isnan(ch)) max_change = ch;
    }
    sweeps++;
    if (max_change < o->tol) break;
  }
  return sweeps;
}

int val_train_transitions(val_table *t, const val_transition *in, size_t n,
                          const val_train_opts *o, val_train_report *rep, rs_err *e) {
  val_train_opts def;
  if (o == NULL) {
    val_train_defaults(&def);
    o = &def;
  }
  if (rep != NULL) memset(rep, 0, sizeof *rep);
  if (o->max_passes < 1)
    return rs_err_set(e, RS_EINVAL, "training: passes must be at least 1, not %d",
                      o->max_passes);
  if (o->max_sweeps < 1)
    return rs_err_set(e, RS_EINVAL, "training: sweeps must be at least 1, not %d",
                      o->max_sweeps);
  if (!(o->tol >= 0))
    return rs_err_set(e, RS_EINVAL, "training: tolerance must be a number >= 0");
  if (!(o->prior_trips >= 0 && o->prior_trips < 1e9))
    return rs_err_set(e, RS_EINVAL, "training: prior weight must be a number >= 0");
  const val_config *cfg = val_table_config(t);
  const int32_t n_cells = val_table_n_cells(t);

  xrec *x = n ? malloc(n * sizeof *x) : NULL;
  if (n && x == NULL) return rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", n);
  size_t m = 0;
  int64_t skipped = 0;
  for (size_t i = 0; i < n; i++) {
    const val_transition *p = &in[i];
    if (p->cell0 < 0 || p->cell0 >= n_cells) {
      skipped++;
      continue;
    }
    xrec *y = &x[m++];
    y->t0 = p->t0;
    y->t1 = p->t1 > p->t0 ? p->t1 : p->t0 + 1; /* time moves on */
    y->id = p->id;
    y->pos = i;
    y->cell0 = p->cell0;
    y->cell1 = p->cell1 >= 0 && p->cell1 < n_cells ? p->cell1 : -1;
    y->dtype = val_table_daytype(t, y->t0);
    y->slot = val_table_slot(t, y->t0);
    int32_t d1 = val_table_daytype(t, y->t1), s1 = val_table_slot(t, y->t1);
    y->self_v = y->cell1 == y->cell0 && d1 == y->dtype && s1 == y->slot;
    y->self_f = y->cell1 == y->cell0 && d1 == y->dtype;
    /* slots are solved latest first: a successor in an earlier slot, or in
     * the same slot of the other day type, is not final yet */
    y->wraps = y->cell1 >= 0 && (s1 < y->slot || (s1 == y->slot && d1 != y->dtype));
    y->r = p->r_gamma;
    y->d = val_discount(cfg, (double)(y->t1 - y->t0));
  }
  if (m == 0) {
    free(x);
    if (rep != NULL) rep->skipped = skipped;
    return rs_err_set(e, RS_EEMPTY,
                      n ? "training: none of the %zu trips starts on the grid"
                        : "training: no trips (%zu)",
                      n);
  }
  qsort(x, m, sizeof *x, cmp_solve);
  xrec *xf = malloc(m * sizeof *xf); /* the same in the layer's order */
  state *vs = malloc(m * sizeof *vs), *fs = malloc(m * sizeof *fs);
  double *before = malloc(m * sizeof *before);
  int rc = 0;
  if (!xf || !vs || !fs || !before) {
    rc = rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", m);
    goto out;
  }
  /* states of V: runs of (slot, dtype, cell) */
  int32_t n_vs = 0, any_wrap = 0;
  for (size_t k = 0; k < m; k++) {
    const xrec *y = &x[k];
    if (k == 0 || y->slot != x[k - 1].slot || y->dtype != x[k - 1].dtype ||
        y->cell0 != x[k - 1].cell0) {
      state *st = &vs[n_vs++];
      memset(st, 0, sizeof *st);
      st->first = k;
      st->dtype = y->dtype;
      st->slot = y->slot;
      st->cell = y->cell0;
    }
    state *st = &vs[n_vs - 1];
    st->n++;
    if (st->total < UINT32_MAX) st->total++;
    st->r_sum += y->r;
    if (y->self_v) st->self_d += y->d;
    any_wrap |= y->wraps;
  }
  /* states of U: runs of (dtype, cell) in the layer's order */
  memcpy(xf, x, m * sizeof *xf);
  qsort(xf, m, sizeof *xf, cmp_free);
  int32_t n_fs = 0;
  for (size_t k = 0; k < m; k++) {
    const xrec *y = &xf[k];
    if (k == 0 || y->dtype != xf[k - 1].dtype || y->cell0 != xf[k - 1].cell0) {
      state *st = &fs[n_fs++];
      memset(st, 0, sizeof *st);
      st->first = k;
      st->dtype = y->dtype;
      st->cell = y->cell0;
    }
    state *st = &fs[n_fs - 1];
    st->n++;
    if (st->total < UINT32_MAX) st->total++;
    st->r_sum += y->r;
    if (y->self_f) st->self_d += y->d;
  }

  int32_t free_sweeps = 0;
  if (!o->cut_at_end) {
    free_sweeps = solve_free(t, xf, fs, n_fs, o);
    if (free_sweeps < 0) {
      rc = rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", m);
      goto out;
    }
  }

  /* every visited state seen, at what the table answered for it */
  for (int32_t k = 0; k < n_vs; k++) before[k] = val_table_get(t, vs[k].cell, x[vs[k].first].t0);
  for (int32_t k = 0; k < n_vs; k++)
    val_table_set(t, vs[k].dtype, vs[k].slot, vs[k].cell, before[k], vs[k].total);

  /* V leans on the layer (every visited cell of it is seen) */
  double kp = o->cut_at_end ? 0.0 : o->prior_trips;
  int32_t pass = 0, max_slot_sweeps = 0;
  int64_t sweeps = 0;
  double max_change = 0;
  while (pass < o->max_passes) {
    for (int32_t k = 0; k < n_vs; k++)
      if (pass > 0) before[k] = val_table_raw(t, vs[k].dtype, vs[k].slot, vs[k].cell);
    /* groups of one (slot, dtype): runs of states */
    for (int32_t g0 = 0; g0 < n_vs;) {
      int32_t g1 = g0 + 1;
      while (g1 < n_vs && vs[g1].slot == vs[g0].slot && vs[g1].dtype == vs[g0].dtype) g1++;
      int32_t sw = 0;
      while (sw < o->max_sweeps) {
        double ch_max = 0;
        for (int32_t k = g0; k < g1; k++) {
          const state *st = &vs[k];
          double num = st->r_sum;
          for (size_t j = st->first; j < st->first + st->n; j++) {
            const xrec *y = &x[j];
            if (!y->self_v) num += y->d * val_table_get(t, y->cell1, y->t1);
          }
          double old = val_table_raw(t, st->dtype, st->slot, st->cell);
          double v = solve_state(st, num, kp, kp > 0 ? val_table_free_raw(t, st->dtype, st->cell) : 0);
          val_table_set(t, st->dtype, st->slot, st->cell, v, st->total);
          double ch = fabs(v - old);
          if (ch > ch_max || isnan(ch)) ch_max = ch;
        }
        sw++;
        if (ch_max < o->tol) break;
      }
      sweeps += sw;
      if (sw > max_slot_sweeps) max_slot_sweeps = sw;
      g0 = g1;
    }
    double sum = 0;
    max_change = 0;
    for (int32_t k = 0; k < n_vs; k++) {
      double d = fabs(val_table_raw(t, vs[k].dtype, vs[k].slot, vs[k].cell) - before[k]);
      if (d > max_change || isnan(d)) max_change = d;
      sum += d;
    }
    pass++;
    if (o->on_pass != NULL) o->on_pass(o->arg, pass, max_change, sum / n_vs);
    /* without wrap-round one pass solved every slot after its successors */
    if (!any_wrap || max_change < o->tol) break;
  }

  val_table_resum(t);
  if (rep != NULL) {
    rep->passes = pass;
    rep->last_max_change = max_change;
    rep->sweeps = sweeps;
    rep->max_slot_sweeps = max_slot_sweeps;
    rep->free_sweeps = free_sweeps;
    rep->transitions = (int64_t)m;
    rep->skipped = skipped;
  }
out:
  free(xf);
  free(vs);
  free(fs);
  free(before);
  free(x);
  return rc;
}

int val_train(val_table *t, const city_travel *travel, const city_trip *trips, size_t n,
              const val_train_opts *o, val_train_report *rep, rs_err *e) {
  const city_def *city = travel->city;
  if (rep != NULL) memset(rep, 0, sizeof *rep);
  const city_grid *g = val_table_grid(t);
  city_grid cg;
  int rc = city_def_grid(city, &cg, e);
  if (rc != 0) return rc;
  if (cg.n_cells != g->n_cells || cg.edge_m != g->edge_m)
    return rs_err_set(e, RS_EINVAL,
                      "training: the table's grid (%d cells, %g m edge) is not city"
                      " '%s''s grid (%d cells, %g m edge)",
                      g->n_cells, g->edge_m, city->name, cg.n_cells, cg.edge_m);
  const val_config *cfg = val_table_config(t);
  val_transition *x = n ? malloc(n * sizeof *x) : NULL;
  if (n && x == NULL) return rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", n);
  for (size_t i = 0; i < n; i++) {
    const city_trip *p = &trips[i];
    val_transition *y = &x[i];
    y->id = p->id;
    y->t0 = p->t_request;
    y->cell0 = trip_cell(g, p->pcell, p->plat, p->plng);
    y->cell1 = -1;
    y->t1 = p->t_request + 1;
    y->r_gamma = 0;
    if (y->cell0 < 0) continue;
    /* the engine's trip model: the same time and fare as a replay */
    city_loc pu, dr;
    city_travel_loc(travel, p->plat, p->plng, &pu);
    city_travel_loc(travel, p->dlat, p->dlng, &dr);
    city_trip_model tm;
    city_travel_trip(travel, &pu, &dr, p->t_request, p->t_dropoff, p->fare, p->distance_m, &tm);
    y->t1 = p->t_request + tm.duration_s;
    y->cell1 = trip_cell(g, p->dcell, p->dlat, p->dlng);
    y->r_gamma = val_spread_reward(cfg, tm.fare, (double)tm.duration_s);
  }
  rc = val_train_transitions(t, x, n, o, rep, e);
  free(x);
  return rc;
}

/*
 * train: offline policy evaluation of the value table; see train.h.
 *
 * Job: turn a day (or many) of historical trips into V(cell, slot) by the
 * backward sweeps of Xu et al. (KDD 2018).
 *
 * Preparation, once per call, O(n log n):
 *   - every trip becomes a transition (s, s', R_gamma, gamma^dt): s is the
 *     pickup cell at the request time, s' the dropoff cell at request time +
 *     the modelled trip time (city_travel_trip, the engine's own travel
 *     model). Cells come from the trip record when it has them (the store's
 *     cells are the city's grid indices) and from the coordinates otherwise,
 *     as the engine does. A pickup off the grid skips the trip; a dropoff
 *     off the grid ends the episode (V(s') = 0, what val_table_get answers
 *     for cell -1).
 *   - transitions are ordered by (t_request descending, id descending, then
 *     input position), a total order, so the sweep never depends on how the
 *     caller or qsort arranged equal keys;
 *   - each distinct state gets a compact id (by sorting the transitions on
 *     the state's table index), so the per-state counters cost memory in
 *     proportion to the trips, not to the table (a 2^24-cell grid times 288
 *     slots would not fit).
 *
 * A pass, O(n): the per-pass counts N(s) are reset; each transition in
 * order moves V(s) by (1 / N(s)) (target - V(s)) with target = R_gamma +
 * gamma^dt V(s'), V(s') read with val_table_get so that unseen successors
 * answer with the table's fallback. The first update of a state in a pass
 * has weight 1, so a pass leaves every visited state at the mean target of
 * its transitions whatever it held before; the table's previous values
 * matter only where they are read as successors before being revisited.
 * Each write stores the state's total transition count, which marks it seen.
 *
 * Change of a pass: per visited state, |value after the pass - value the
 * table answered for it (with fallback) when the pass first touched it|;
 * the report gives their maximum and their mean over visited states.
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

/* One trip as the sweep sees it. */
typedef struct {
  int64_t t0;          /* request time, local epoch */
  int64_t id;          /* the trip's stable id */
  size_t pos;          /* position in the caller's array: last tie-break */
  int64_t t1;          /* t0 + modelled duration */
  int32_t cell0;       /* pickup cell, on the grid */
  int32_t cell1;       /* dropoff cell, -1 when off the grid */
  int32_t dtype, slot; /* state of (cell0, t0) */
  size_t key;          /* table index of the state */
  int32_t sid;         /* compact state id */
  double reward;       /* R_gamma: the fare spread over the trip */
  double discount;     /* gamma^dt */
} transition;

void val_train_defaults(val_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->max_passes = VAL_TRAIN_PASSES_DEFAULT;
  o->tol = VAL_TRAIN_TOL_DEFAULT;
}

/* Backward in time: t_request descending, id descending, position descending. */
static int cmp_backward(const void *pa, const void *pb) {
  const transition *a = pa, *b = pb;
  if (a->t0 != b->t0) return a->t0 > b->t0 ? -1 : 1;
  if (a->id != b->id) return a->id > b->id ? -1 : 1;
  if (a->pos != b->pos) return a->pos > b->pos ? -1 : 1;
  return 0;
}

/* By state (table index), then backward in time: groups each state's
 * transitions, in a total order. */
static int cmp_state(const void *pa, const void *pb) {
  const transition *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return cmp_backward(pa, pb);
}

/* The trip's cell: the recorded one when valid, else from the point. */
static int32_t trip_cell(const city_grid *g, int32_t recorded, double lat, double lng) {
  if (recorded >= 0 && recorded < g->n_cells) return recorded;
  if (recorded >= g->n_cells) return -1;
  if (!isfinite(lat) || !isfinite(lng)) return -1;
  return city_grid_point_index(g, lat, lng);
}

int val_train(val_table *t, const city_travel *travel, const city_trip *trips, size_t n,
              const val_train_opts *o, val_train_report *rep, rs_err *e) {
  const city_def *city = travel->city;
  val_train_opts def;
  if (o == NULL) {
    val_train_defaults(&def);
    o = &def;
  }
  if (rep != NULL) memset(rep, 0, sizeof *rep);
  if (o->max_passes < 1)
    return rs_err_set(e, RS_EINVAL, "training: passes must be at least 1, not %d",
                      o->max_passes);
  if (!(o->tol >= 0))
    return rs_err_set(e, RS_EINVAL, "training: tolerance must be a number >= 0");

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
  const size_t n_cells = (size_t)g->n_cells, n_slots = (size_t)val_table_n_slots(t);

  transition *tr = n ? malloc(n * sizeof *tr) : NULL;
  if (n && tr == NULL) return rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", n);
  size_t m = 0;
  int64_t skipped = 0;
  for (size_t i = 0; i < n; i++) {
    const city_trip *p = &trips[i];
    int32_t c0 = trip_cell(g, p->pcell, p->plat, p->plng);
    if (c0 < 0) {
      skipped++;
      continue;
    }
    /* the engine's trip model: the same time and fare as a replay */
    city_loc pu, dr;
    city_travel_loc(travel, p->plat, p->plng, &pu);
    city_travel_loc(travel, p->dlat, p->dlng, &dr);
    city_trip_model tm;
    city_travel_trip(travel, &pu, &dr, p->t_request, p->t_dropoff, p->fare, p->distance_m, &tm);
    transition *x = &tr[m++];
    x->t0 = p->t_request;
    x->id = p->id;
    x->pos = i;
    x->t1 = p->t_request + tm.duration_s;
    x->cell0 = c0;
    x->cell1 = trip_cell(g, p->dcell, p->dlat, p->dlng);
    x->dtype = val_table_daytype(t, x->t0);
    x->slot = val_table_slot(t, x->t0);
    x->key = ((size_t)x->dtype * n_slots + (size_t)x->slot) * n_cells + (size_t)c0;
    x->reward = val_spread_reward(cfg, tm.fare, (double)tm.duration_s);
    x->discount = val_trip_discount(cfg, (double)tm.duration_s);
  }
  if (m == 0) {
    free(tr);
    if (rep != NULL) rep->skipped = skipped;
    return rs_err_set(e, RS_EEMPTY,
                      n ? "training: none of the %zu trips starts on the grid"
                        : "training: no trips (%zu)",
                      n);
  }
  /* Compact state ids and the total transitions of each state: group the
   * transitions by state, number the groups, then restore backward order. */
  uint32_t *total = malloc(m * sizeof *total);   /* per state id */
  uint32_t *npass = malloc(m * sizeof *npass);   /* per state id, this pass */
  double *before = malloc(m * sizeof *before);   /* per state id: value at first touch */
  size_t *first = malloc(m * sizeof *first);     /* first transition of each touched state */
  if (!total || !npass || !before || !first) {
    free(total);
    free(npass);
    free(before);
    free(first);
    free(tr);
    return rs_err_set(e, RS_ENOMEM, "training: out of memory for %zu trips", m);
  }
  qsort(tr, m, sizeof *tr, cmp_state);
  int32_t n_states = 0;
  for (size_t k = 0; k < m; k++) {
    if (k == 0 || tr[k].key != tr[k - 1].key) total[n_states++] = 0;
    tr[k].sid = n_states - 1;
    if (total[tr[k].sid] < UINT32_MAX) total[tr[k].sid]++;
  }
  qsort(tr, m, sizeof *tr, cmp_backward);

  int32_t pass = 0;
  double max_change = 0;
  while (pass < o->max_passes) {
    memset(npass, 0, (size_t)n_states * sizeof *npass);
    int32_t n_touched = 0;  /* states visited so far in this pass */
    for (size_t k = 0; k < m; k++) {
      const transition *x = &tr[k];
      double v;
      if (npass[x->sid] == 0) {
        /* What the table answered for this state before the pass touched it. */
        v = val_table_get(t, x->cell0, x->t0);
        before[x->sid] = v;
        first[n_touched++] = k;
      } else {
        v = val_table_raw(t, x->dtype, x->slot, x->cell0);
      }
      npass[x->sid]++;
      double target = x->reward + x->discount * val_table_get(t, x->cell1, x->t1);
      /* The first update has weight 1: the target itself, not v + (target -
       * v), which may round differently and would keep a trace of v. */
      v = npass[x->sid] == 1 ? target : v + (target - v) / (double)npass[x->sid];
      val_table_set(t, x->dtype, x->slot, x->cell0, v, total[x->sid]);
    }
    /* Changes, summed in first-touch order (deterministic). */
    double sum = 0;
    max_change = 0;
    for (int32_t j = 0; j < n_touched; j++) {
      const transition *x = &tr[first[j]];
      double d = fabs(val_table_raw(t, x->dtype, x->slot, x->cell0) - before[x->sid]);
      if (d > max_change || isnan(d)) max_change = d;
      sum += d;
    }
    pass++;
    if (o->on_pass != NULL) o->on_pass(o->arg, pass, max_change, sum / n_touched);
    if (max_change < o->tol) break;
  }

  val_table_resum(t);
  if (rep != NULL) {
    rep->passes = pass;
    rep->last_max_change = max_change;
    rep->transitions = (int64_t)m;
    rep->skipped = skipped;
  }
  free(total);
  free(npass);
  free(before);
  free(first);
  free(tr);
  return 0;
}

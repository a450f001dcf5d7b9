/*
 * kpi: the kpi_series windows and the run's KPIs; see kpi.h.
 *
 * Definitions (the catalogue, kpi.h). Orders are those requested in the
 * horizon [from, to) so far (not a warm-up's, nor an interrupted run's
 * later ones), followed to their end through the drain; an order counts as
 * matched when it ever was (t_match set), whatever became of it. Waits to
 * match run from request to match, over matched orders; wait_p95_s is the
 * nearest-rank 95th percentile of them. Waits to pickup run from request
 * to pickup, over the orders picked up (t_pickup set: completed, or on
 * board when the run ended), with nearest-rank percentiles. The fleet
 * figures come from the drivers' accounts (engine.h): times are the
 * horizon's, income the horizon's orders'. income_per_hour is the mean
 * over drivers with online time of their income per online hour (online =
 * the horizon run so far minus time offline), utilisation the fleet's
 * pickup and occupied time over its online time. A batch policy's per-tick
 * solver statistics give the solve time percentiles (nearest rank) and
 * the mean tick size.
 *
 * Numerics: sums run in index order (orders, then drivers, then ticks), so
 * the same run gives the same bits, whether the engine dropped some of its
 * orders on the way (their tally, fed in index order) or held them all;
 * the waits' percentiles come from counts per second (kpi.h, the tally),
 * the solve times' from a sorted copy.
 *
 * Costs: O(orders + drivers + ticks log ticks + the longest wait in
 * seconds); the tally's counts (a copy of the engine's, then the orders
 * it holds) and a scratch array of the solve times (a failed allocation
 * leaves those percentiles 0, the means intact). The series' windows are
 * allocated once.
 *
 * The KPIs are computed from the records at the end (and from the tally of
 * those the engine dropped) rather than kept as running sums in the event
 * handlers: the records already hold everything, and a KPI added later
 * needs no new sum there, only a field in the tally.
 */
#include "sim/kpi.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"
#include "sim/engine_int.h"

/* ----------------------------------------------------------------- series */

int sim_series_init(sim_series *ks, int64_t from, int64_t to) {
  ks->from = from;
  ks->n = (size_t)((to - from + SIM_SERIES_WINDOW_S - 1) / SIM_SERIES_WINDOW_S);
  ks->win = calloc(ks->n, sizeof *ks->win);
  if (ks->win == NULL) {
    ks->n = 0;
    return RS_ENOMEM;
  }
  for (size_t w = 0; w < ks->n; w++) ks->win[w].t_start = from + (int64_t)w * SIM_SERIES_WINDOW_S;
  return 0;
}

void sim_series_free(sim_series *ks) {
  free(ks->win);
  ks->win = NULL;
  ks->n = 0;
}

const sim_window *sim_series_reached(const sim_series *ks, int64_t now, size_t *n) {
  size_t k = ks->n;
  while (k > 0 && ks->win[k - 1].t_start >= now) k--;
  *n = k;
  return ks->win;
}

const sim_window *sim_engine_windows(const sim_engine *s, size_t *n) {
  /* the windows simulated: all of them once the horizon is reached */
  return sim_series_reached(&s->series, s->now, n);
}

/* ------------------------------------------------------------------- KPIs */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double p) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(p * (double)n);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* ------------------------------------------------------------- the tally */

static void waits_free(sim_waits *w) {
  free(w->count);
  free(w->other);
  memset(w, 0, sizeof *w);
}

void sim_tally_free(sim_tally *t) {
  waits_free(&t->waits);
  waits_free(&t->pwaits);
}

static int waits_copy(sim_waits *dst, const sim_waits *a) {
  *dst = *a;
  dst->count = NULL;
  dst->other = NULL;
  if (a->cap > 0 && (dst->count = malloc(a->cap * sizeof *dst->count)) == NULL) return -1;
  if (a->cap > 0) memcpy(dst->count, a->count, a->cap * sizeof *dst->count);
  dst->cap_other = a->n_other;
  if (a->n_other > 0 && (dst->other = malloc(a->n_other * sizeof *dst->other)) == NULL) return -1;
  if (a->n_other > 0) memcpy(dst->other, a->other, a->n_other * sizeof *dst->other);
  return 0;
}

void sim_tally_copy(sim_tally *dst, const sim_tally *a) {
  *dst = *a;
  if (waits_copy(&dst->waits, &a->waits) != 0 || waits_copy(&dst->pwaits, &a->pwaits) != 0)
    dst->oom = 1;
}

/* Counts wait v; -1 when out of memory. */
static int waits_add(sim_waits *w, double v) {
  w->n++;
  if (v >= 0 && v < SIM_TALLY_DENSE_S && v == floor(v)) {
    size_t i = (size_t)v;
    if (i >= w->cap) {
      size_t cap = w->cap ? w->cap : 1024;
      while (cap <= i) cap *= 2;
      if (cap > SIM_TALLY_DENSE_S) cap = SIM_TALLY_DENSE_S;
      int64_t *c = realloc(w->count, cap * sizeof *c);
      if (c == NULL) return -1;
      memset(c + w->cap, 0, (cap - w->cap) * sizeof *c);
      w->count = c;
      w->cap = cap;
    }
    w->count[i]++;
    return 0;
  }
  if (rs_vec_grow(w->other, w->cap_other, w->n_other + 1)) return -1;
  w->other[w->n_other++] = v;
  return 0;
}

double sim_waits_percentile(const sim_waits *w, double p) {
  if (w->n == 0) return 0;
  int64_t k = (int64_t)ceil(p * (double)w->n);
  if (k < 1) k = 1;
  if (k > w->n) k = w->n;
  /* the k-th smallest: the waits below zero (in `other`), then those
   * counted per second, then the rest of `other` */
  double *o = NULL;
  if (w->n_other > 0) {
    o = malloc(w->n_other * sizeof *o);
    if (o == NULL) return 0;
    memcpy(o, w->other, w->n_other * sizeof *o);
    qsort(o, w->n_other, sizeof *o, cmp_double);
  }
  size_t neg = 0;
  while (neg < w->n_other && o[neg] < 0) neg++;
  double v;
  if ((size_t)k <= neg) {
    v = o[k - 1];
  } else {
    k -= (int64_t)neg;
    size_t i = 0;
    for (; i < w->cap && k > w->count[i]; i++) k -= w->count[i];
    v = i < w->cap ? (double)i : o[neg + (size_t)k - 1];
  }
  free(o);
  return v;
}

void sim_tally_order(sim_tally *t, int32_t status, int64_t t_request, int64_t t_match,
                     int64_t t_pickup, double pickup_m, double eta_s, uint8_t modelled) {
  t->orders++;
  t->modelled_duration += modelled & 1;
  t->modelled_fare += (modelled >> 1) & 1;
  switch (status) {
  case SIM_ORDER_COMPLETED: t->completed++; break;
  case SIM_ORDER_CANCELLED: t->cancelled++; break;
  case SIM_ORDER_EXPIRED: t->expired++; break;
  default: t->open++; break;
  }
  if (t_match >= 0) {
    t->matched++;
    double w = (double)(t_match - t_request);
    t->wait_sum += w;
    t->oom |= waits_add(&t->waits, w) != 0;
    t->pick_sum += pickup_m;
    t->eta_sum += eta_s;
  }
  if (t_pickup >= 0) {
    double w = (double)(t_pickup - t_request);
    t->picked++;
    t->pwait_sum += w;
    t->oom |= waits_add(&t->pwaits, w) != 0;
  }
}

void sim__tally_orders(sim_tally *t, const sim_engine *s, size_t i0, size_t i1) {
  for (size_t i = i0; i < i1; i++) {
    const sim_order_rec *r = &s->orec[i];
    sim_tally_order(t, r->status, s->orders[i].t_request, r->t_match, r->t_pickup, r->pickup_m,
                    r->eta_s, s->modelled[i]);
  }
}

void sim_engine_kpis(const sim_engine *s, sim_kpis *k) {
  memset(k, 0, sizeof *k);
  /* the horizon's orders requested so far (not the warm-up's): those the
   * engine dropped (its tally), then those it holds, in index order */
  size_t i0 = s->n_warm > s->base ? s->n_warm - s->base : 0;
  size_t i1 = s->cursor > i0 ? s->cursor : i0;
  sim_tally t;
  sim_tally_copy(&t, &s->tally);
  sim__tally_orders(&t, s, i0, i1);
  k->orders = t.orders;
  k->drivers = s->n_drivers;
  k->events = s->events;
  k->horizon_s = (double)sim_engine_horizon_s(s); /* short of to - from when interrupted */
  k->modelled_duration = t.modelled_duration;
  k->modelled_fare = t.modelled_fare;
  k->completed = t.completed;
  k->cancelled = t.cancelled;
  k->expired = t.expired;
  k->open = t.open;
  k->matched = t.matched;
  if (k->orders > 0) {
    k->answer_rate = (double)k->matched / (double)k->orders;
    k->completion_rate = (double)k->completed / (double)k->orders;
  }
  if (k->matched > 0) {
    k->cancellation_rate = (double)k->cancelled / (double)k->matched;
    k->wait_mean_s = t.wait_sum / (double)k->matched;
    k->pickup_m_mean = t.pick_sum / (double)k->matched;
    k->eta_s_mean = t.eta_sum / (double)k->matched;
  }
  if (t.picked > 0) k->pickup_wait_mean_s = t.pwait_sum / (double)t.picked;
  if (!t.oom) {
    k->wait_p95_s = sim_waits_percentile(&t.waits, 0.95);
    k->pickup_wait_p50_s = sim_waits_percentile(&t.pwaits, 0.50);
    k->pickup_wait_p90_s = sim_waits_percentile(&t.pwaits, 0.90);
  }
  sim_tally_free(&t);
  double online_total = 0, busy_total = 0, g_sum = 0, empty = 0;
  int64_t g_n = 0;
  sim__sync_drec(s);
  for (int32_t d = 0; d < s->n_drivers; d++) {
    const sim_driver_rec *r = &s->drec[d];
    k->income += r->income;
    /* online: the horizon's seconds in every state but offline */
    double online = k->horizon_s - (double)r->time_s[DISP_OFFLINE];
    online_total += online;
    busy_total += (double)(r->time_s[DISP_PICKUP] + r->time_s[DISP_OCCUPIED]);
    empty += r->empty_m;
    if (online > 0) {
      g_sum += r->income / (online / 3600.0);
      g_n++;
    }
  }
  k->income_per_hour = g_n ? g_sum / (double)g_n : 0;
  k->utilisation = online_total > 0 ? busy_total / online_total : 0;
  k->empty_km = empty / 1000.0;
  int32_t ns = 0;
  const disp_solve_stat *st = sim_engine_solve_stats(s, &ns);
  if (st != NULL && ns > 0) {
    /* the ticks of the horizon (a warm-up's and a drain's are left out) */
    double *us = malloc((size_t)ns * sizeof *us);
    double so = 0, sd = 0, se = 0;
    int32_t nh = 0;
    for (int32_t i = 0; i < ns; i++) {
      if (st[i].t < s->from || st[i].t >= s->to) continue;
      if (us) us[nh] = st[i].solve_us;
      nh++;
      so += st[i].orders;
      sd += st[i].drivers;
      se += st[i].edges;
    }
    k->solve_ticks = nh;
    if (nh > 0) {
      k->tick_orders_mean = so / nh;
      k->tick_drivers_mean = sd / nh;
      k->tick_edges_mean = se / nh;
    }
    if (us && nh > 0) {
      qsort(us, (size_t)nh, sizeof *us, cmp_double);
      k->solve_p50_us = percentile(us, (size_t)nh, 0.50);
      k->solve_p99_us = percentile(us, (size_t)nh, 0.99);
      k->solve_max_us = us[nh - 1];
    }
    free(us);
  }
}

/* ------------------------------------------------------------ catalogue */

/* The table is the list expanded once; a view's order is its places,
 * ranked by scans of the table (thirty lines, so a view costs a thousand
 * comparisons: nothing here is on a hot path, and a scan keeps no state). */

#define SIM_KPI_SRC_OF_ENGINE SIM_KPI_SRC_ENGINE
#define SIM_KPI_SRC_OF_SOLVER SIM_KPI_SRC_SOLVER
#define SIM_KPI_SRC_OF_RUN SIM_KPI_SRC_RUN

static const sim_kpi_def DEFS[SIM_KPI_N] = {
#define DEF_(ID, src, ctype, field, key, label, unit, scale, dec, cdec, dir, run, eval, cmp, bar, \
             def)                                                                                \
  [SIM_KPI_##ID] = {#field, key, label, unit, def, scale, dec, cdec, dir, SIM_KPI_SRC_OF_##src,  \
                    _Generic((ctype)0, int64_t: 1, default: 0), {run, eval, cmp, bar}},
    SIM_KPI_LIST(DEF_)
#undef DEF_
};

const sim_kpi_def *sim_kpi_def_of(int id) {
  return id >= 0 && id < SIM_KPI_N ? &DEFS[id] : NULL;
}

#define GET_ENGINE(k, field, wall_s) (double)(k)->field
#define GET_SOLVER(k, field, wall_s) (double)(k)->field
#define GET_RUN(k, field, wall_s) (wall_s)

double sim_kpi_value(const sim_kpis *k, double wall_s, int id) {
  switch (id) {
#define CASE_(ID, src, ctype, field, ...) \
  case SIM_KPI_##ID: return GET_##src(k, field, wall_s);
    SIM_KPI_LIST(CASE_)
#undef CASE_
  default: return NAN;
  }
}

int sim_kpi_in_json(const sim_kpis *k, int id) {
  const sim_kpi_def *d = sim_kpi_def_of(id);
  if (d == NULL || d->src == SIM_KPI_SRC_RUN) return 0;
  return d->src == SIM_KPI_SRC_ENGINE || k->solve_ticks > 0;
}

static int valid_view(int view) { return view >= 0 && view < SIM_KPI_N_VIEWS; }

int sim_kpi_view_n(int view) {
  int n = 0;
  for (int i = 0; valid_view(view) && i < SIM_KPI_N; i++) n += DEFS[i].pos[view] > 0;
  return n;
}

/* The rank of KPI id in a view: how many KPIs of the view come before it. */
static int rank_in(int view, int id) {
  int r = 0;
  for (int j = 0; j < SIM_KPI_N; j++)
    r += DEFS[j].pos[view] > 0 && DEFS[j].pos[view] < DEFS[id].pos[view];
  return r;
}

int sim_kpi_view_id(int view, int i) {
  for (int id = 0; valid_view(view) && id < SIM_KPI_N; id++)
    if (DEFS[id].pos[view] > 0 && rank_in(view, id) == i) return id;
  return -1;
}

int sim_kpi_view_index(int view, int id) {
  const sim_kpi_def *d = sim_kpi_def_of(id);
  return d != NULL && valid_view(view) && d->pos[view] > 0 ? rank_in(view, id) : -1;
}

int sim_kpi_check(rs_err *e) {
  static const char *const UNITS[] = {"", "%", "s", "m", "km", "us"};
  for (int i = 0; i < SIM_KPI_N; i++) {
    const sim_kpi_def *d = &DEFS[i];
    for (int j = 0; j < i; j++) {
      if (strcmp(DEFS[j].field, d->field) == 0 || strcmp(DEFS[j].key, d->key) == 0)
        return rs_err_set(e, RS_EINVAL, "kpi list: '%s' is listed twice", d->field);
      for (int v = 0; v < SIM_KPI_N_VIEWS; v++)
        if (d->pos[v] > 0 && DEFS[j].pos[v] == d->pos[v])
          return rs_err_set(e, RS_EINVAL, "kpi list: '%s' and '%s' share place %d of view %d",
                            DEFS[j].field, d->field, d->pos[v], v);
    }
    int unit_ok = 0;
    for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++)
      unit_ok |= strcmp(d->unit, UNITS[u]) == 0;
    if (!unit_ok) return rs_err_set(e, RS_EINVAL, "kpi list: '%s' has unit '%s'", d->field, d->unit);
    if (d->label[0] == '\0' || d->definition[0] == '\0' || !(d->scale > 0) || d->dec < 0 ||
        d->cdec < 0 || d->dir < -1 || d->dir > 1)
      return rs_err_set(e, RS_EINVAL, "kpi list: '%s' lacks a label, a definition or a format",
                        d->field);
    if (d->pos[SIM_KPI_VIEW_BARS] > 0 && d->pos[SIM_KPI_VIEW_COMPARE] == 0)
      return rs_err_set(e, RS_EINVAL, "kpi list: '%s' has a bar chart but no comparison column",
                        d->field);
    for (int v = 0; v < SIM_KPI_N_VIEWS; v++)
      if (d->pos[v] < 0)
        return rs_err_set(e, RS_EINVAL, "kpi list: '%s' has place %d in view %d", d->field,
                          d->pos[v], v);
  }
  if (sim_kpi_view_n(SIM_KPI_VIEW_COMPARE) != SIM_KPI_N_COMPARE)
    return rs_err_set(e, RS_EINVAL, "kpi list: SIM_KPI_N_COMPARE is not the compare view's size");
  return 0;
}

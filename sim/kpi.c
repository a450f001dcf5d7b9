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
 * the same run gives the same bits; percentiles sort a copy.
 *
 * Costs: O(orders log orders + drivers + ticks log ticks), one scratch
 * array each for the waits to match, the waits to pickup and the solve
 * times (a failed allocation leaves those percentiles 0, the means
 * intact). The series' windows are allocated once.
 *
 * The KPIs are computed from the records at the end rather than kept as
 * running sums: the records already hold everything, and a KPI added later
 * needs no new sum in the event handlers.
 */
#include "sim/kpi.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

void sim_engine_kpis(const sim_engine *s, sim_kpis *k) {
  memset(k, 0, sizeof *k);
  /* the horizon's orders requested so far (not the warm-up's) */
  size_t n_orders = sim_engine_n_requested(s), i0 = s->n_warm, i1 = s->n_warm + n_orders;
  k->orders = (int64_t)n_orders;
  k->drivers = s->n_drivers;
  k->events = s->events;
  k->horizon_s = (double)sim_engine_horizon_s(s); /* short of to - from when interrupted */
  for (size_t i = i0; i < i1; i++) {
    k->modelled_duration += s->modelled[i] & 1;
    k->modelled_fare += (s->modelled[i] >> 1) & 1;
  }
  double *waits = malloc((n_orders ? n_orders : 1) * sizeof *waits);
  double *pwaits = malloc((n_orders ? n_orders : 1) * sizeof *pwaits);
  size_t nw = 0, npw = 0;
  int64_t picked = 0;
  double wait_sum = 0, pick_sum = 0, eta_sum = 0, pwait_sum = 0;
  for (size_t i = i0; i < i1; i++) {
    const sim_order_rec *r = &s->orec[i];
    switch (r->status) {
    case SIM_ORDER_COMPLETED: k->completed++; break;
    case SIM_ORDER_CANCELLED: k->cancelled++; break;
    case SIM_ORDER_EXPIRED: k->expired++; break;
    default: k->open++; break;
    }
    if (r->t_match >= 0) {
      k->matched++;
      double w = (double)(r->t_match - s->orders[i].t_request);
      wait_sum += w;
      if (waits) waits[nw++] = w;
      pick_sum += r->pickup_m;
      eta_sum += r->eta_s;
    }
    if (r->t_pickup >= 0) {
      double w = (double)(r->t_pickup - s->orders[i].t_request);
      picked++;
      pwait_sum += w;
      if (pwaits) pwaits[npw++] = w;
    }
  }
  if (k->orders > 0) {
    k->answer_rate = (double)k->matched / (double)k->orders;
    k->completion_rate = (double)k->completed / (double)k->orders;
  }
  if (k->matched > 0) {
    k->cancellation_rate = (double)k->cancelled / (double)k->matched;
    k->wait_mean_s = wait_sum / (double)k->matched;
    k->pickup_m_mean = pick_sum / (double)k->matched;
    k->eta_s_mean = eta_sum / (double)k->matched;
  }
  if (picked > 0) k->pickup_wait_mean_s = pwait_sum / (double)picked;
  if (waits) {
    qsort(waits, nw, sizeof *waits, cmp_double);
    k->wait_p95_s = percentile(waits, nw, 0.95);
    free(waits);
  }
  if (pwaits) {
    qsort(pwaits, npw, sizeof *pwaits, cmp_double);
    k->pickup_wait_p50_s = percentile(pwaits, npw, 0.50);
    k->pickup_wait_p90_s = percentile(pwaits, npw, 0.90);
    free(pwaits);
  }
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

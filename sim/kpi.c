/*
 * kpi: the kpi_series windows and the run's KPIs; see kpi.h.
 *
 * Definitions (sim_kpis, engine.h). Orders are those requested so far (an
 * interrupted run's later orders are not part of it); an order counts as
 * matched when it ever was (t_match set), whatever became of it. Waits run
 * from request to match, over matched orders; wait_p95_s is the
 * nearest-rank 95th percentile of them. The fleet figures come from the
 * drivers' accounts: income_per_hour is the mean over drivers with online
 * time of their income per online hour (online = horizon run so far minus
 * time offline), utilisation the fleet's pickup and occupied time over its
 * online time. A batch policy's per-tick solver statistics give the solve
 * time percentiles (nearest rank) and the mean tick size.
 *
 * Numerics: sums run in index order (orders, then drivers, then ticks), so
 * the same run gives the same bits; percentiles sort a copy.
 *
 * Costs: O(orders + drivers + ticks log ticks), one scratch array each for
 * the waits and the solve times (a failed allocation leaves that
 * percentile 0, the means intact). The series' windows are allocated once.
 *
 * The KPIs are computed from the records at the end rather than kept as
 * running sums: the records already hold everything, and a KPI added later
 * needs no new sum in the event handlers.
 */
#include "sim/kpi.h"

#include <math.h>
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
  size_t n_orders = s->cursor; /* the orders requested so far */
  k->orders = (int64_t)n_orders;
  k->drivers = s->n_drivers;
  k->events = s->events;
  k->horizon_s = (double)(s->now - s->from); /* short of to - from when interrupted */
  for (size_t i = 0; i < n_orders; i++) {
    k->modelled_duration += s->modelled[i] & 1;
    k->modelled_fare += (s->modelled[i] >> 1) & 1;
  }
  double *waits = malloc((n_orders ? n_orders : 1) * sizeof *waits);
  size_t nw = 0;
  double wait_sum = 0, pick_sum = 0, eta_sum = 0;
  for (size_t i = 0; i < n_orders; i++) {
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
  }
  if (k->orders > 0) {
    k->answer_rate = (double)k->matched / (double)k->orders;
    k->completion_rate = (double)k->completed / (double)k->orders;
  }
  if (k->matched > 0) {
    k->cancel_rate = (double)k->cancelled / (double)k->matched;
    k->wait_mean_s = wait_sum / (double)k->matched;
    k->pickup_m_mean = pick_sum / (double)k->matched;
    k->eta_s_mean = eta_sum / (double)k->matched;
  }
  if (waits) {
    qsort(waits, nw, sizeof *waits, cmp_double);
    k->wait_p95_s = percentile(waits, nw, 0.95);
    free(waits);
  }
  double online_total = 0, busy_total = 0, g_sum = 0, empty = 0;
  int64_t g_n = 0;
  sim__sync_drec(s);
  for (int32_t d = 0; d < s->n_drivers; d++) {
    const sim_driver_rec *r = &s->drec[d];
    k->income += r->income;
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
    double *us = malloc((size_t)ns * sizeof *us);
    double so = 0, sd = 0, se = 0;
    for (int32_t i = 0; i < ns; i++) {
      if (us) us[i] = st[i].solve_us;
      so += st[i].orders;
      sd += st[i].drivers;
      se += st[i].edges;
    }
    k->solve_ticks = ns;
    k->tick_orders_mean = so / ns;
    k->tick_drivers_mean = sd / ns;
    k->tick_edges_mean = se / ns;
    if (us) {
      qsort(us, (size_t)ns, sizeof *us, cmp_double);
      k->solve_p50_us = percentile(us, (size_t)ns, 0.50);
      k->solve_p99_us = percentile(us, (size_t)ns, 0.99);
      k->solve_max_us = us[ns - 1];
      free(us);
    }
  }
}

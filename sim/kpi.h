/*
 * kpi: what a run is judged by, counted in one place.
 *
 * Two kinds of figures. The kpi_series (sim_window, engine.h) counts, per
 * SIM_SERIES_WINDOW_S window of simulated time, what happened in it:
 * requests, matches, completions, cancellations, expiries, income, the
 * waits and pickup distances of the window's matches, and samples of idle
 * and busy drivers at its dispatch ticks. The engine reports each event as
 * it happens through the sim_series_* calls below, which are all the
 * arithmetic the series has. The run's KPIs (sim_kpis, engine.h) are
 * computed at the end from the order and driver records (kpi.c:
 * sim_engine_kpis), with the per-tick solver statistics of batch policies.
 *
 * Invariants: window i starts at from + i * SIM_SERIES_WINDOW_S and the
 * windows cover the horizon; an event at time t is counted in the window
 * holding t (clamped to the first and last).
 *
 * Costs: a report is a division and an add; the KPIs are O(orders +
 * drivers) plus two sorts (waits, solve times).
 *
 * Ownership: the series owns its windows (sim_series_free).
 */
#ifndef SIM_KPI_H
#define SIM_KPI_H

#include <stddef.h>
#include <stdint.h>

#include "sim/engine.h"

typedef struct {
  sim_window *win;  /* the windows, oldest first (owned) */
  size_t n;         /* windows covering the horizon */
  int64_t from;     /* start of the first window: the horizon's start */
} sim_series;

/* The empty windows of the horizon [from, to). Returns 0 or RS_ENOMEM (the
 * series is then empty). */
int sim_series_init(sim_series *ks, int64_t from, int64_t to);
void sim_series_free(sim_series *ks);

/* The windows that began before `now`: all of them once the horizon is
 * reached, those reached in an interrupted run. */
const sim_window *sim_series_reached(const sim_series *ks, int64_t now, size_t *n);

static inline sim_window *sim_series_at(sim_series *ks, int64_t t) {
  int64_t i = (t - ks->from) / SIM_SERIES_WINDOW_S;
  if (i < 0) i = 0;
  if ((size_t)i >= ks->n) i = (int64_t)ks->n - 1;
  return &ks->win[i];
}

/* An order is requested at t. */
static inline void sim_series_request(sim_series *ks, int64_t t) {
  sim_series_at(ks, t)->requests++;
}
/* An order is matched at t after waiting wait_s, its driver pickup_m away. */
static inline void sim_series_match(sim_series *ks, int64_t t, double wait_s, double pickup_m) {
  sim_window *w = sim_series_at(ks, t);
  w->matched++;
  w->wait_sum_s += wait_s;
  w->pickup_m_sum += pickup_m;
}
/* An order expires at t, unmatched. */
static inline void sim_series_expire(sim_series *ks, int64_t t) {
  sim_series_at(ks, t)->expired++;
}
/* A matched rider cancels at t. */
static inline void sim_series_cancel(sim_series *ks, int64_t t) {
  sim_series_at(ks, t)->cancelled++;
}
/* A trip paying `fare` ends at t. */
static inline void sim_series_complete(sim_series *ks, int64_t t, double fare) {
  sim_window *w = sim_series_at(ks, t);
  w->completed++;
  w->income += fare;
}
/* A dispatch tick at t saw `idle` matchable and `busy` (pickup or
 * occupied) drivers. */
static inline void sim_series_tick(sim_series *ks, int64_t t, int32_t idle, int32_t busy) {
  sim_window *w = sim_series_at(ks, t);
  w->ticks++;
  w->idle_samples += idle;
  w->busy_samples += busy;
}

#endif

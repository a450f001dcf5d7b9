/*
 * results: the results database of runs (SQLite).
 *
 * Schema (version SIM_RESULTS_SCHEMA):
 *   meta(key, value)                 app = ridesim-results, schema_version
 *   runs(id, started, scenario, seed, version, status, wall_seconds, events,
 *        dispatch, reposition, t_from, t_to, orders, drivers, kpis)
 *   orders(run_id, order_id, status, t_request, t_match, t_pickup,
 *          t_dropoff, driver, pickup_m, eta_s, fare)
 *   drivers(run_id, driver, income, online_s, idle_s, pickup_s, occupied_s,
 *           reposition_s, offline_s, trips, empty_m, occupied_m)
 *   kpi_series(run_id, t_start, requests, matched, completed, cancelled,
 *              expired, income, wait_mean_s, pickup_m_mean,
 *              idle_drivers_mean, busy_drivers_mean)
 *   solver_ticks(run_id, t, orders, drivers, edges, solve_us)
 *
 * A run's row is inserted with status 'running' and committed before the
 * run starts; everything else is written at the end in one transaction that
 * also sets the final status ('completed' or 'interrupted'). A process killed
 * in between leaves a consistent file in which the run shows 'running', i.e.
 * incomplete, and no half-written rows.
 */
#ifndef SIM_RESULTS_H
#define SIM_RESULTS_H

#include <stdint.h>

#include "sim/engine.h"
#include "base/rs_error.h"

#define SIM_RESULTS_SCHEMA 1

typedef struct sim_results sim_results;

/* Opens or creates a results DB. A file that is not SQLite, or a SQLite
 * file of something else: RS_EFORMAT; unwritable: RS_EDB. */
int sim_results_open(const char *path, sim_results **out, rs_err *e);
void sim_results_close(sim_results *r);

/* Inserts the run's row (status 'running') and commits it. */
int sim_results_begin_run(sim_results *r, const char *scenario_json, uint64_t seed,
                          const char *version, const char *dispatch,
                          const char *reposition, int64_t t_from, int64_t t_to,
                          int64_t *run_id, rs_err *e);

/* Writes orders, drivers, kpi_series, solver ticks and the run's final
 * status, KPIs, wall time and event count, in one transaction. */
int sim_results_finish_run(sim_results *r, int64_t run_id, const sim_engine *s,
                           const sim_kpis *k, const char *status, double wall_s,
                           rs_err *e);

/* The KPIs as a JSON object text (caller frees), NULL on no memory. */
char *sim_kpis_to_json(const sim_kpis *k, int pretty);

/* Status names of orders ("completed", ...). */
const char *sim_order_status_name(int32_t status);

#endif

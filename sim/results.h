/*
 * results: the results database of runs (SQLite), and its one owner: every
 * SQL statement on a results DB, writing or reading, is in results.c.
 *
 * Schema (version SIM_RESULTS_SCHEMA):
 *   meta(key, value)                 app = ridesim-results, schema_version
 *   runs(id, started, scenario, seed, version, status, wall_seconds, events,
 *        dispatch, reposition, t_from, t_to, orders, drivers, kpis,
 *        warmup_s, drain_s)
 *              t_from, t_to: the horizon; warmup_s: the seconds simulated
 *              before it, drain_s those simulated after it until its
 *              orders had ended (or the drain's cap)
 *   orders(run_id, order_id, status, t_request, t_match, t_pickup,
 *          t_dropoff, driver, pickup_m, eta_s, fare)
 *              the orders requested in the horizon (not the warm-up's),
 *              followed through the drain
 *   drivers(run_id, driver, income, online_s, idle_s, pickup_s, occupied_s,
 *           reposition_s, offline_s, trips, empty_m, occupied_m)
 *              the horizon's accounts (engine.h): seconds of the horizon
 *              in each state (online_s + offline_s = t_to - t_from), the
 *              fares and count of the horizon's orders the driver
 *              completed (in the drain too), and metres driven
 *   kpi_series(run_id, t_start, requests, matched, completed, cancelled,
 *              expired, income, wait_mean_s, pickup_m_mean,
 *              idle_drivers_mean, busy_drivers_mean)
 *              one row per 5-minute window of the horizon; its order
 *              columns follow the orders requested in the window (matched,
 *              completed ... whenever that happened), its driver columns
 *              the dispatch ticks in it
 *   solver_ticks(run_id, t, orders, drivers, edges, solve_us)
 *   unserved_cells(run_id, cell, q, r, lat, lng, edge_m, requests, unserved)
 *   sweep_runs(run_id, run_key, plan_index)   the runs of a sweep (run/plan.h)
 *
 * A run's row is inserted with status 'running' and committed before the
 * run starts; everything else is written at the end in one transaction that
 * also sets the final status ('completed' or 'interrupted'). A process killed
 * in between leaves a consistent file in which the run shows 'running', i.e.
 * incomplete, and no half-written rows.
 *
 * What a run keeps (SIM_RESULTS_*): full, everything above; orders, all but
 * solver_ticks; summary, the runs row with its KPIs, kpi_series and
 * unserved_cells only (a month of 12 M orders in a few kB per run).
 *
 * Large runs. A run of more than SIM_RESULTS_BATCH_ROWS orders writes them
 * in batches of that many rows, each committed while the run's row still
 * says 'running', so that no transaction (nor the WAL) grows with the
 * horizon; the last transaction writes the rest and the final status. A
 * process killed in between leaves the run 'running' with part of its
 * rows: visibly incomplete (readers read completed runs only), and a
 * sweep's resume deletes them. Smaller runs are one transaction, as above.
 * A run whose engine streams its ended orders out (below, "Order streams":
 * a horizon of several synthetic days) writes their rows as they come, in
 * the same way.
 *
 * Unserved cells. The schema stores no coordinates with the orders, so a
 * run may also record its demand per hex cell of its grid: one row per cell
 * with at least one request, with the cell's axial coordinates, centre and
 * edge, its requests and the orders there that went unserved (expired or
 * cancelled; orders open at the end are neither and count in requests
 * only). The report maps them. `ridesim compare` records them; a run
 * without them has no rows there.
 *
 * Sweeps. A sweep's run carries its plan's stable key (a hash of its
 * scenario), recorded in sweep_runs in the transaction that begins the run,
 * and a DB holds the runs of one plan, named in meta as sweep_plan. That is
 * what resume (skip the keys completed, drop the rows of the others) and
 * merge (the completed runs of shard DBs into one, by plan order, each key
 * once) go by.
 *
 * Versions. Schema 1 had no unserved_cells (the report created it beside
 * the results through a connection of its own), schema 2 no sweep_runs,
 * schema 3 no warmup_s and drain_s in runs. Opening an older DB for
 * writing adds what it lacks (its earlier runs have NULL in warmup_s and
 * drain_s) and marks it version 4; read as it is, it simply has no
 * per-cell rows and no sweep.
 */
#ifndef SIM_RESULTS_H
#define SIM_RESULTS_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/hexgrid.h"
#include "sim/engine.h"

#define SIM_RESULTS_SCHEMA 4

typedef struct sim_results sim_results;

/* Opens or creates a results DB for writing (and reading). A file that is
 * not SQLite, or a SQLite file of something else: RS_EFORMAT; unwritable:
 * RS_EDB. */
int sim_results_open(const char *path, sim_results **out, rs_err *e);
/* Opens an existing results DB read-only: nothing is created or changed.
 * RS_ENOENT when there is no such file, RS_EDB when it cannot be opened,
 * RS_EFORMAT when it is not a ridesim results database. */
int sim_results_open_read(const char *path, sim_results **out, rs_err *e);
void sim_results_close(sim_results *r);

/* Inserts the run's row (status 'running') and commits it. */
int sim_results_begin_run(sim_results *r, const char *scenario_json, uint64_t seed,
                          const char *version, const char *dispatch,
                          const char *reposition, int64_t t_from, int64_t t_to,
                          int64_t *run_id, rs_err *e);

/* The same for a sweep's run: its key and place in the plan recorded with
 * the row, in the same transaction. */
int sim_results_begin_run_key(sim_results *r, const char *key, int plan_index,
                              const char *scenario_json, uint64_t seed, const char *version,
                              const char *dispatch, const char *reposition, int64_t t_from,
                              int64_t t_to, int64_t *run_id, rs_err *e);

/* What a run keeps (see "What a run keeps"). */
enum { SIM_RESULTS_FULL = 0, SIM_RESULTS_ORDERS = 1, SIM_RESULTS_SUMMARY = 2 };
/* "full", "orders", "summary" into *keep; -1 for anything else. */
int sim_results_keep_parse(const char *name, int *keep);
/* Orders rows per committed batch of a large run (see "Large runs"): a
 * multiple of the 64 rows of one INSERT. */
#define SIM_RESULTS_BATCH_ROWS 1048576

/* Writes orders, drivers, kpi_series, solver ticks and the run's final
 * status, KPIs, wall time and event count, in one transaction; with cells
 * (the engine's grid, not NULL) the run's unserved_cells rows too. On error
 * nothing of it is written and the run stays 'running'. */
int sim_results_finish_run(sim_results *r, int64_t run_id, const sim_engine *s,
                           const sim_kpis *k, const char *status, double wall_s,
                           const city_grid *cells, rs_err *e);
/* The same, keeping what keep says (SIM_RESULTS_*). */
int sim_results_finish_run_keep(sim_results *r, int64_t run_id, const sim_engine *s,
                                const sim_kpis *k, const char *status, double wall_s,
                                const city_grid *cells, int keep, rs_err *e);

/* Order streams (see "Large runs"). A run whose engine drops its ended
 * orders (engine.h, "Orders in and out") hands them to a stream's sink as
 * it goes: their rows (with keep full or orders) are written in a
 * transaction per hand-over, committed while the run's row says
 * 'running', and their pickup cells counted for unserved_cells (with
 * cells, the engine's grid). sim_results_finish_run_stream then writes the
 * orders the engine still holds, the cells with the stream's counts, and
 * everything else as sim_results_finish_run_keep does. A run killed in
 * between stays 'running' with part of its rows: visibly incomplete. */
typedef struct sim_results_stream sim_results_stream;
int sim_results_stream_new(sim_results *r, int64_t run_id, int keep, const city_grid *cells,
                           sim_results_stream **out, rs_err *e);
/* The sink to give the engine (sim_engine_set_order_sink); the stream
 * must outlive the engine's steps. */
sim_order_sink sim_results_stream_sink(sim_results_stream *w);
void sim_results_stream_free(sim_results_stream *w);
/* sim_results_finish_run_keep for a run whose orders went (partly)
 * through w (NULL: none did). */
int sim_results_finish_run_stream(sim_results *r, int64_t run_id, const sim_engine *s,
                                  const sim_kpis *k, const char *status, double wall_s,
                                  const city_grid *cells, int keep, const sim_results_stream *w,
                                  rs_err *e);

/* ------------------------------------------------------------- sweeps */

/* Claims the DB for the plan plan_id: recorded when the DB has none yet;
 * RS_EINVAL when it holds another plan's runs. */
int sim_results_sweep_claim(sim_results *r, const char *plan_id, rs_err *e);
/* The plan the DB holds the runs of, into buf ("" when none). */
int sim_results_sweep_plan(sim_results *r, char *buf, size_t n, rs_err *e);
/* Deletes every row of the sweep's runs that are not completed (killed
 * while running, interrupted, failed), in one transaction; *n (may be NULL)
 * gets how many runs. */
int sim_results_sweep_drop_incomplete(sim_results *r, int *n, rs_err *e);
/* Deletes a run and every row of it, in one transaction. */
int sim_results_drop_run(sim_results *r, int64_t run_id, rs_err *e);
/* The keys of the sweep's completed runs, by ascending run id. */
int sim_results_sweep_completed(sim_results *r,
                                int (*fn)(void *arg, const char *key, rs_err *e), void *arg,
                                rs_err *e);

/* A completed run of a sweep. */
typedef struct {
  int64_t id;             /* run id */
  const char *key;        /* its plan key */
  int plan_index;         /* its place in the plan that wrote it */
  const char *kpis;       /* the KPIs as a JSON object (sim_kpis_to_json) */
  double wall_s;          /* wall seconds, NAN when not recorded */
} sim_results_sweep_run;

/* The sweep's completed runs, by ascending run id. */
int sim_results_sweep_read(sim_results *r,
                           int (*fn)(void *arg, const sim_results_sweep_run *run, rs_err *e),
                           void *arg, rs_err *e);

/* What a merge did. */
typedef struct {
  int sources;            /* DBs read */
  int added;              /* runs copied */
  int present;            /* completed runs skipped: their key was there already */
  int incomplete;         /* runs of the sources not completed, left out */
} sim_results_merge_stats;

/* Merges the completed runs of the sweep DBs srcs into out: each key once
 * (a key already completed in out, or earlier in the merge, is skipped, so
 * merging again changes nothing), new run ids in the plan's order, every
 * table's rows with them. All sources and an existing out must hold the
 * same plan (RS_EINVAL otherwise) and the current schema (RS_EFORMAT). The
 * merge is built in a temporary file beside out, renamed over it at the
 * end: a merge that fails or is killed leaves out as it was. */
int sim_results_merge(const char *out, const char *const *srcs, int n_srcs,
                      sim_results_merge_stats *st, rs_err *e);

/* A results DB as bytes (sqlite3_serialize), to send elsewhere: *img
 * (free with sim_results_image_free) of *n bytes. */
int sim_results_image(sim_results *r, unsigned char **img, size_t *n, rs_err *e);
void sim_results_image_free(unsigned char *img);
/* Merges the completed sweep runs of a DB image (sim_results_image) into r,
 * in one transaction, as sim_results_merge does for files: each key once,
 * new ids after r's. *run_id (may be NULL) receives the last run added, 0
 * when none. */
int sim_results_absorb(sim_results *r, const unsigned char *img, size_t n, int64_t *run_id,
                       rs_err *e);

/* The KPIs as a JSON object text (caller frees), NULL on no memory: the
 * catalogue's keys in its order (sim/kpi.h), the solver's only when
 * a batch policy solved ticks. */
char *sim_kpis_to_json(const sim_kpis *k, int pretty);

/* Status names of orders ("completed", ...). */
const char *sim_order_status_name(int32_t status);

/* ------------------------------------------------------------- reading
 *
 * Readers call fn once per row, in the order stated, with the row valid
 * during the call only; fn returns 0 to go on or a negative code, which
 * ends the read and is returned (its message in e). A read that fails in
 * SQLite is RS_EDB with the table named. */

/* A run as the runs table records it. */
typedef struct {
  int64_t id;             /* run id */
  uint64_t seed;          /* the run's seed */
  const char *status;     /* 'completed', 'interrupted', ... */
  double wall_s;          /* wall seconds, NAN when not recorded */
  const char *scenario;   /* the effective scenario as JSON; NULL if missing */
  const char *kpis;       /* the KPIs as a JSON object (sim_kpis_to_json) */
  int64_t t_from, t_to;   /* the horizon, local epoch */
  const char *dispatch;   /* the row's dispatch label ("agent:..." for an agent) */
  const char *reposition; /* the row's reposition label */
} sim_results_run;

/* The finished runs, by ascending id: those with KPIs whose status is
 * 'completed' (or 'interrupted' too when with_interrupted), with id in
 * [id_min, id_max] unless id_min is 0. */
int sim_results_read_runs(sim_results *r, int with_interrupted, int64_t id_min,
                          int64_t id_max,
                          int (*fn)(void *arg, const sim_results_run *run, rs_err *e),
                          void *arg, rs_err *e);

/* One kpi_series window of a run: the orders requested in it, followed
 * to their end wherever that fell (sim/kpi.h), so matched <= requests.
 * Means over no orders or no ticks are NAN. */
typedef struct {
  int64_t t_start;                     /* window start, local epoch */
  int64_t requests;                    /* orders requested in the window */
  int64_t matched, completed, cancelled, expired; /* of those */
  double income;                       /* fares of those completed */
  double wait_mean_s, pickup_m_mean;   /* over those matched */
  double idle_drivers_mean, busy_drivers_mean; /* over its dispatch ticks */
} sim_results_window;

/* A run's kpi_series windows, by ascending t_start. */
int sim_results_read_series(sim_results *r, int64_t run_id,
                            int (*fn)(void *arg, const sim_results_window *w, rs_err *e),
                            void *arg, rs_err *e);

/* The largest pickup distance of a run's matched orders, in *max_m; NAN
 * when none was matched. */
int sim_results_pickup_max(sim_results *r, int64_t run_id, double *max_m, rs_err *e);
/* The pickup distance of each matched order of a run (the orders stream,
 * never held), by order id. */
int sim_results_read_pickups(sim_results *r, int64_t run_id,
                             int (*fn)(void *arg, double pickup_m, rs_err *e), void *arg,
                             rs_err *e);

/* A completed order of a run, as the realised value of a table reads it. */
typedef struct {
  int64_t order_id;        /* the trip's id in the store */
  int32_t driver;          /* who carried it */
  int64_t t_pickup;        /* when the ride began, local epoch */
  int64_t t_dropoff;       /* when it ended */
  double fare;             /* what the driver earned */
} sim_results_trip;

/* A run's completed orders, by (driver, t_pickup, order id). */
int sim_results_read_trips(sim_results *r, int64_t run_id,
                           int (*fn)(void *arg, const sim_results_trip *t, rs_err *e),
                           void *arg, rs_err *e);

/* One unserved_cells row. */
typedef struct {
  int32_t cell;            /* dense index in the run's grid */
  int32_t q, r;            /* axial coordinates */
  double lat, lng;         /* centre, degrees */
  double edge_m;           /* hexagon edge */
  int64_t requests;        /* orders requested there */
  int64_t unserved;        /* of those, expired or cancelled */
} sim_results_cell;

/* A run's unserved_cells rows, by ascending cell; none for a run that
 * recorded none, or a DB of schema 1 that has no such table. */
int sim_results_read_cells(sim_results *r, int64_t run_id,
                           int (*fn)(void *arg, const sim_results_cell *c, rs_err *e),
                           void *arg, rs_err *e);

#endif

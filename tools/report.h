/*
 * report: the HTML report of a policy comparison, and the per-cell table of
 * unserved demand it maps.
 *
 * The report reads a results DB (sim/results.h) and writes DIR/index.html,
 * one self-contained page: inline CSS and inline SVG, no script and nothing
 * fetched, so it opens offline and can be mailed as one file. It shows, per
 * policy combination (dispatch / reposition) and over the seeds of the
 * comparison: a KPI table and bar charts with 95 % interval whiskers
 * (tools/stats.h), answer rate and income through the day (kpi_series, mean
 * over seeds per 5-minute window), the pickup distance distribution (orders)
 * and a hex map of unserved demand per cell.
 *
 * Unserved cells. The results schema stores no coordinates, so the map
 * comes from a side table that `ridesim compare` fills next to each run:
 *
 *   unserved_cells(run_id, cell, q, r, lat, lng, edge_m, requests, unserved)
 *
 * one row per grid cell with at least one request, where unserved counts the
 * orders that expired or were cancelled (open orders at the horizon are
 * neither served nor lost and count in requests only). It is written through
 * a second connection to the same file, in its own transaction just after
 * the run's results; a run written by `ridesim run` has no rows there and
 * the report says so instead of drawing the map.
 *
 * Experiments. A results DB may hold runs of several comparisons. Runs
 * belong to the same experiment when their scenarios agree on everything but
 * the seed, the policies and the output path. Unless told a run id range,
 * the report shows the experiment of the most recent run.
 *
 * Threads: report_cells_count is pure and may run on a worker; everything
 * that touches SQLite or files runs on the caller's (main) thread.
 */
#ifndef TOOLS_REPORT_H
#define TOOLS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "city_data/hexgrid.h"
#include "dispatch/policy.h"
#include "sim/engine.h"
#include "base/rs_error.h"

/* ------------------------------------------------------------- the KPIs */

/* The KPIs a comparison reports, in display order. */
enum {
  REPORT_KPI_ANSWER = 0,
  REPORT_KPI_COMPLETION,
  REPORT_KPI_CANCEL,
  REPORT_KPI_WAIT,
  REPORT_KPI_PICKUP,
  REPORT_KPI_INCOME,      /* J */
  REPORT_KPI_G,           /* income per online hour */
  REPORT_KPI_UTIL,
  REPORT_KPI_EMPTY_KM,
  REPORT_KPI_WALL,
  REPORT_N_KPIS
};

typedef struct {
  const char *key;     /* machine name (CSV, JSON) */
  const char *json;    /* its name in runs.kpis, NULL for wall_seconds */
  const char *label;   /* for humans */
  const char *unit;    /* shown after the value ("%", "s", "m", "km", "") */
  double scale;        /* display value = raw x scale (100 for rates) */
  int decimals;        /* display decimals */
  int higher_better;   /* 1, -1, or 0 when neither */
} report_kpi;

extern const report_kpi report_kpis[REPORT_N_KPIS];

/* The raw value of KPI i (REPORT_KPI_*) of a run; wall_s is the run's wall
 * time. */
double report_kpi_value(const sim_kpis *k, double wall_s, int i);

/* ------------------------------------------------------------- the page */

typedef struct {
  int all_runs;           /* also interrupted runs (default: completed only) */
  int64_t run_min;        /* run id range; 0 and 0: the latest experiment */
  int64_t run_max;
  const char *value_path; /* a value table (ridesim train) to map, or NULL */
} report_opts;

/* Writes out_dir/index.html (out_dir is created if missing) from the runs
 * of db_path. *n_runs (may be NULL) receives the runs shown. RS_ENOENT /
 * RS_EFORMAT for a missing or foreign DB, RS_EEMPTY when no run qualifies,
 * RS_EIO when the page cannot be written (a partial page is removed). */
int report_write(const char *db_path, const char *out_dir, const report_opts *o,
                 int *n_runs, rs_err *e);

#endif

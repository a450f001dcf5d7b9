/*
 * report: the HTML report of a policy comparison, and the KPIs a comparison
 * reports.
 *
 * The report reads a results DB (through the readers of sim/results.h, its
 * schema's one owner) and writes DIR/index.html, one self-contained page:
 * inline CSS and inline SVG (run/svg.h), no script and nothing fetched, so
 * it opens offline and can be mailed as one file. It shows, per policy
 * combination (dispatch / reposition) and over the seeds of the
 * comparison: a KPI table and bar charts with 95 % interval whiskers
 * (run/stats.h), answer rate and income through the day (kpi_series, mean
 * over seeds per 5-minute window), the pickup distance distribution (orders)
 * and a hex map of unserved demand per cell (unserved_cells, which `ridesim
 * compare` records with each run; for runs without them the page says so
 * instead of drawing the map). Maps, that one and the optional value map,
 * draw the cells in service of the runs' city (city_def_service_cells), so
 * Manhattan is not a sliver of its metro-sized box; the unserved map's
 * caption counts what fell outside.
 *
 * Experiments. A results DB may hold runs of several comparisons. Runs
 * belong to the same experiment when their scenarios agree on everything but
 * the seed, the policies and the output path. Unless told a run id range,
 * the report shows the experiment of the most recent run.
 *
 * Threads: the KPI catalogue is constant and run_report_kpi_value pure, usable
 * from any thread; run_report_write reads SQLite and writes files on the
 * caller's thread.
 */
#ifndef RUN_REPORT_H
#define RUN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "sim/engine.h"

/* ------------------------------------------------------------- the KPIs */

/* The KPIs a comparison reports: the compare view of the catalogue
 * (sim/kpi.h), in its order, i from 0 to RUN_REPORT_N_KPIS - 1. */
#define RUN_REPORT_N_KPIS SIM_KPI_N_COMPARE

/* The catalogue line of the comparison's KPI i (NULL out of range). */
const sim_kpi_def *run_report_kpi(int i);

/* The raw value of the comparison's KPI i of a run; wall_s is the run's
 * wall time. */
double run_report_kpi_value(const sim_kpis *k, double wall_s, int i);

/* ------------------------------------------------------------- the page */

typedef struct {
  int all_runs;           /* also interrupted runs (default: completed only) */
  int64_t run_min;        /* run id range; 0 and 0: the latest experiment */
  int64_t run_max;
  const char *value_path; /* a value table (ridesim train) to map, or NULL */
  const char *version;    /* ridesim's version, in the footer; NULL: "unknown" */
} run_report_opts;

/* Writes out_dir/index.html (out_dir is created if missing) from the runs
 * of db_path. *n_runs (may be NULL) receives the runs shown. RS_ENOENT /
 * RS_EFORMAT for a missing or foreign DB, RS_EEMPTY when no run qualifies,
 * RS_EIO when the page cannot be written (a partial page is removed). */
int run_report_write(const char *db_path, const char *out_dir, const run_report_opts *o,
                     int *n_runs, rs_err *e);

#endif

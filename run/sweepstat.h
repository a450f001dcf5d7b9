/*
 * sweepstat: the statistics of a sweep, read back from its results DB. The
 * runs of the DB are matched to the plan's by key (run/plan.h), so a local
 * sweep's DB, a resumed one and one merged from shards or written under MPI
 * give the same tables: per group of the plan, each (dispatch, reposition)
 * combination's KPI values over the group's (seed, day) pairs, NaN where a
 * pair's run is not completed in the DB, ready for compare's statistics
 * (run/stats.h: means with 95 % intervals, differences paired with the
 * baseline's same pair).
 *
 * Ownership: a run_sweep_stats owns its arrays; the plan it was read with
 * must outlive it (names and labels are the plan's).
 */
#ifndef RUN_SWEEPSTAT_H
#define RUN_SWEEPSTAT_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/plan.h"

typedef struct run_sweep_stats run_sweep_stats;

/* Reads the completed runs of plan p from the results DB db_path (opened
 * read-only). RS_ENOENT / RS_EFORMAT for a missing or foreign DB, RS_EINVAL
 * for a DB of another plan. */
int run_sweep_stats_read(const run_plan *p, const char *db_path, run_sweep_stats **out,
                         rs_err *e);
void run_sweep_stats_free(run_sweep_stats *s);

int run_sweep_stats_completed(const run_sweep_stats *s);  /* runs of the plan found */
/* The ids of the plan's runs in the DB, lowest and highest (0, 0: none). */
void run_sweep_stats_ids(const run_sweep_stats *s, int64_t *min, int64_t *max);

int run_sweep_stats_n_groups(const run_sweep_stats *s);
const char *run_sweep_stats_group(const run_sweep_stats *s, int g); /* its label */
int run_sweep_stats_n_combos(const run_sweep_stats *s, int g);
const char *run_sweep_stats_dispatch(const run_sweep_stats *s, int g, int combo);
const char *run_sweep_stats_reposition(const run_sweep_stats *s, int g, int combo);
/* The baseline combination of group g; -1 when the group has none. */
int run_sweep_stats_base(const run_sweep_stats *s, int g);
/* The group's distinct repositioning policies (names carry "/X" when > 1). */
int run_sweep_stats_n_reposition(const run_sweep_stats *s, int g);
int run_sweep_stats_n_pairs(const run_sweep_stats *s, int g);
const char *run_sweep_stats_pair(const run_sweep_stats *s, int g, int i);
/* The KPI values (RUN_REPORT_N_KPIS) of a combination, by pair. */
const double *run_sweep_stats_values(const run_sweep_stats *s, int g, int combo, int kpi);

#endif

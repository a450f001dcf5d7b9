/*
 * compare: the scheduler of a policy comparison. Every (dispatch,
 * reposition, seed) combination of a scenario is run, in parallel on
 * libuv's thread pool, and each run's KPIs kept for the statistics of the
 * comparison (run/stats.h, run/report.h's KPI table).
 *
 * Combinations. Combination i is dispatch policy i / n_reposition with
 * repositioning policy i % n_reposition; run j is combination j / n_seeds
 * with seed j % n_seeds. Runs are launched in that order and their ids
 * assigned at launch, so a DB's ids do not depend on which run finished
 * first.
 *
 * Common random numbers. All runs of a seed share the riders: the same
 * trips (one run_input, loaded once and shared read-only by every run that
 * uses it), the same fleet placement and the same cancellation draws (the
 * engine's per-purpose PCG32 streams come from the seed). Policies are then
 * compared on the per-seed differences, which cancels the variance they
 * share. A trip store gives one run_input for all seeds. The synthetic city
 * draws its demand from the run seed (run/setup.h), so there is one
 * run_input per seed: each run's stored scenario then reproduces it alone
 * with `ridesim run --scenario`, and pairing by seed still compares
 * policies on identical riders.
 *
 * The runs are a sweep's (run/sweep.h: the scheduler on libuv's thread
 * pool, the inputs, the lifecycle split over threads, SIGINT and SIGTERM),
 * each written with its per-cell demand (unserved_cells). A comparison's
 * runs carry no plan key: its DB is not resumed.
 *
 * Hooks report to the caller (the command line prints; nothing here does):
 * started once the first input is loaded, progress after every run (and on a
 * timer when asked), error with each failure's message, signal on the
 * first SIGINT or SIGTERM. All are called on the thread that called
 * run_compare_exec.
 */
#ifndef RUN_COMPARE_H
#define RUN_COMPARE_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/setup.h"
#include "run/sweep.h"
#include "sim/scenario.h"

typedef struct run_compare run_compare;

typedef struct {
  void *arg;                                               /* passed to each */
  void (*started)(void *arg, const run_compare *c);        /* about to launch */
  void (*progress)(void *arg, const run_compare *c);       /* a run finished, or the timer */
  void (*error)(void *arg, const char *msg);               /* one line */
  void (*signal)(void *arg, int signum);                   /* the first SIGINT/SIGTERM */
} run_compare_hooks;

typedef struct {
  const sim_scenario *sc;                  /* shared by all runs but policies and seed */
  int city_given;                          /* the user named the city */
  const char (*dispatch)[SIM_NAME_MAX];    /* dispatch policies */
  int n_dispatch;
  const char (*reposition)[SIM_NAME_MAX];  /* repositioning policies */
  int n_reposition;
  const uint64_t *seeds;
  int n_seeds;
  int jobs;                                /* runs at a time; 0: the machine's cores */
  const char *version;                     /* ridesim's version, in each run's row */
  int progress_ms;                         /* the progress hook's timer period; 0: none */
  run_compare_hooks hooks;
} run_compare_opts;

/* Where a comparison stands (run_compare_state): its sweep's state
 * (run/sweep.h; skipped and dropped are 0, a comparison does not resume). */
typedef run_sweep_state run_compare_state;

/* A comparison of the options (copied; the arrays must outlive it). Only
 * memory: RS_ENOMEM. */
int run_compare_new(const run_compare_opts *o, run_compare **out, rs_err *e);
void run_compare_free(run_compare *c);

int run_compare_n_combos(const run_compare *c);
const char *run_compare_dispatch(const run_compare *c, int combo);
const char *run_compare_reposition(const run_compare *c, int combo);

/* Checks every combination's policy names, loading nothing. */
int run_compare_check(const run_compare *c, rs_err *e);

/* Loads the inputs, opens the results DB (sc->out) and runs every
 * combination, returning when all are written or, after a failure or a
 * signal, when those running are. 0 then (see run_compare_state for what
 * failed); an error when it could not start (the inputs, the DB, libuv). */
int run_compare_exec(run_compare *c, rs_err *e);

void run_compare_state_get(const run_compare *c, run_compare_state *s);
/* The first run's input: city, horizon and orders. NULL before loading. */
const run_input *run_compare_input(const run_compare *c);
/* The KPI values (RUN_REPORT_KPI_*) of a combination's runs, by seed:
 * NaN for a run that did not complete. */
const double *run_compare_values(const run_compare *c, int combo, int kpi);
/* The ids of the runs launched, lowest and highest; 0 and 0 when none. */
void run_compare_run_ids(const run_compare *c, int64_t *min, int64_t *max);

#endif

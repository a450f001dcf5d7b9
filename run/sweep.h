/*
 * sweep: the scheduler of many runs on one machine's cores. A sweep is a
 * list of runs, each with its whole scenario (policies, seed, day, fleet,
 * trip store, any other option); they run in parallel on libuv's thread
 * pool and are written, one after the other, into one results DB. `ridesim
 * compare` (run/compare.h) is a sweep of (dispatch, reposition, seed)
 * combinations; `ridesim sweep` (run/plan.h) a sweep of a plan's runs.
 *
 * Inputs. Runs whose trips are the same (same city, trip store or
 * synthetic demand, day, horizon and road network; for the synthetic city
 * also the same seed, since it draws its demand from the seed) share one
 * run_input, loaded once, read-only for every run that uses it (common
 * random numbers: every policy of a seed sees the same riders). An input
 * is loaded when its first run is launched, on the calling thread, and
 * freed when its last run is written, so a sweep over many days holds only
 * the days in flight.
 *
 * Ids. Runs are launched in the order of the list and their row ids taken
 * at launch, so a DB's ids follow the list, whichever run finishes first.
 *
 * Keys and resume. A run may carry a key (the plan's stable id of its
 * scenario, run/plan.h) and the plan's id: its row is then recorded with
 * them in the same transaction that begins it. With resume, a keyed run
 * whose key is already completed in the DB is skipped, and the rows of keyed
 * runs that are not completed there (killed while running, interrupted,
 * failed) are deleted first, so that every key ends completed exactly once.
 * A DB holds the runs of one plan: another plan's id is refused. One
 * process writes a DB at a time.
 *
 * Each run is the lifecycle of every run (run/lifecycle.h), split over
 * threads: its row is begun ('running') on the calling thread at launch,
 * it is built and driven on a worker, and written on the calling thread,
 * after which the next run is launched. Up to twice jobs runs are launched
 * at a time (the rest wait on the pool for a free worker). Scenarios whose value model reads
 * a table file are built at launch, so that SQLite is only ever touched
 * from the calling thread.
 *
 * SIGINT / SIGTERM: no new run is launched; launched ones stop at their
 * next slice (a queued one at its first) and are written 'interrupted'.
 *
 * Hooks report to the caller (nothing here prints): started once the first
 * input is loaded, progress after every run (and on a timer when asked),
 * finished with each run's KPIs once it is written completed, error with
 * each failure's message, signal on the first SIGINT or SIGTERM. All are
 * called on the thread that called run_sweep_exec.
 */
#ifndef RUN_SWEEP_H
#define RUN_SWEEP_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/setup.h"
#include "sim/engine.h"
#include "sim/scenario.h"

typedef struct run_sweep run_sweep;

/* One run of a sweep. */
typedef struct {
  sim_scenario sc;        /* the run's whole scenario (its out is ignored) */
  const char *key;        /* its stable id, recorded with the row; NULL: none */
  int index;              /* its place in the plan, recorded with the key */
  const char *label;      /* names it in messages ("fcfs-nearest seed 3") */
} run_sweep_item;

typedef struct {
  void *arg;                                                   /* passed to each */
  void (*started)(void *arg, const run_sweep *s);              /* about to launch */
  void (*progress)(void *arg, const run_sweep *s);             /* a run finished, or the timer */
  void (*finished)(void *arg, int item, const sim_kpis *k, double wall_s); /* completed */
  void (*error)(void *arg, const char *msg);                   /* one line */
  void (*signal)(void *arg, int signum);                       /* the first SIGINT/SIGTERM */
} run_sweep_hooks;

typedef struct {
  const run_sweep_item *items;  /* the runs, in launch order (lent) */
  int n_items;
  const char *out;              /* the results DB */
  const char *plan_id;          /* recorded with keyed runs; NULL: none */
  int city_given;               /* the user named the city */
  int jobs;                     /* runs at a time; 0: the machine's cores */
  const char *version;          /* ridesim's version, in each run's row */
  int progress_ms;              /* the progress hook's timer period; 0: none */
  int cells;                    /* record each run's unserved_cells */
  int resume;                   /* skip keys completed in the DB, drop the others' rows */
  int results;                  /* what each run keeps: SIM_RESULTS_* (0: full) */
  run_sweep_hooks hooks;
} run_sweep_opts;

/* Where a sweep stands (run_sweep_state_get). */
typedef struct {
  int n_runs;          /* runs to do (those skipped by resume excluded) */
  int skipped;         /* already completed in the DB */
  int dropped;         /* incomplete runs of an earlier sweep, deleted to be run again */
  int done;            /* finished: written, or failed */
  int running;         /* on a worker and not yet finished */
  int jobs;            /* at a time */
  double frac;         /* of the simulated work done (finished runs count whole) */
  double elapsed_s;    /* wall seconds since the first launch */
  int stopped;         /* a signal came */
  int failed;          /* a run, or a write, failed */
} run_sweep_state;

/* A sweep of the options (copied; the items must outlive it). Only
 * memory: RS_ENOMEM. */
int run_sweep_new(const run_sweep_opts *o, run_sweep **out, rs_err *e);
void run_sweep_free(run_sweep *s);

/* Checks every run's policy names, loading nothing. */
int run_sweep_check(const run_sweep *s, rs_err *e);

/* Opens the results DB (o.out), skips what resume finds done, loads the
 * first input and runs every run, returning when all are written or, after
 * a failure or a signal, when those running are. 0 then (run_sweep_state
 * says what failed); an error when it could not start (the DB, another
 * plan's DB, the first input, libuv). */
int run_sweep_exec(run_sweep *s, rs_err *e);

void run_sweep_state_get(const run_sweep *s, run_sweep_state *st);
/* The first run's input (city, horizon, orders): valid in the started hook
 * only (inputs are freed once their runs are written). */
const run_input *run_sweep_input(const run_sweep *s);
/* The ids of the runs launched, lowest and highest; 0 and 0 when none. */
void run_sweep_run_ids(const run_sweep *s, int64_t *min, int64_t *max);
/* Whether item i was skipped as already completed (resume). */
int run_sweep_skipped(const run_sweep *s, int i);

/* The identity of a scenario's input (see "Inputs"): equal for runs that
 * share their trips. buf of at least RUN_SWEEP_INPUT_ID bytes. */
#define RUN_SWEEP_INPUT_ID (2 * SIM_PATH_MAX + 3 * SIM_PATH_MAX / 2)
void run_sweep_input_id(const sim_scenario *sc, char *buf, size_t n);

#endif

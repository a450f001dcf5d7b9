/*
 * lifecycle: the one lifecycle of a run, from its scenario to its row in the
 * results DB.
 *
 *   load     the trips of the scenario's day and horizon (run_input_load),
 *            unless the caller lends them (compare shares one input)
 *   build    policies, value model and engine (run_ctx_new)
 *   begin    the results DB opened (or lent), the run's row inserted and
 *            committed as 'running', with the effective scenario; a run
 *            whose orders come a day at a time (run_ctx.streamed) gets
 *            an order stream (sim/results.h), so that its ended orders
 *            leave the engine and their rows are written as they go (on
 *            a worker, or watched by a viewer, it gets none: its orders
 *            stay, memory grows with its horizon)
 *   drive    the engine run to its horizon: on a libuv loop of its own
 *            (sim/runloop.h: speed, progress, on_wait for policies that
 *            answer later, SIGINT/SIGTERM stop it), or, on a worker thread,
 *            stepped in slices with no loop and no signals, a stop hook
 *            polled between slices
 *   finish   SIGINT and SIGTERM held (not on a worker) while the KPIs are
 *            taken and the results written with the final status
 *            ('completed', 'interrupted', 'failed', or the caller's own);
 *            then the run's value table saved when asked (--value-out)
 *
 * run_life_exec does all of it in that order, calling the hooks between the
 * steps; that is how `ridesim run` and `ridesim evaluate` run and how the
 * fault injection of tests/test_faults.c runs. The compare scheduler
 * (run/compare.h) calls the steps itself, begin and finish on its main
 * thread and build and drive on a worker. A failed start (load, build,
 * begin) leaves no row, or a row that stays 'running' when a hook fails
 * after begin; once driven, a run always ends written with a final status,
 * unless that write itself fails (the row then stays 'running').
 *
 * Hooks let a caller stand between the steps: evaluate's agent bridge sets
 * the engine's models and opens its log once the run is built, replaces the
 * policies with the bridge once the row has its id, starts the agent on the
 * loop, answers the engine's waits (on_wait), names the status of a run
 * whose agent died, and stops the agent before the KPIs are taken.
 *
 * Ownership: a run_life owns what it loaded, built, opened and made (input,
 * run_ctx, results handle, loop) until run_life_close; what the options lend
 * (scenario, input, results handle) must outlive it. The outcome fields are
 * read after run_life_exec or run_life_finish.
 */
#ifndef RUN_LIFECYCLE_H
#define RUN_LIFECYCLE_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/setup.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/runloop.h"
#include "sim/scenario.h"

typedef struct run_life run_life;

/* Hooks, each optional; arg is passed to every one. */
typedef struct {
  void *arg;
  /* The run is built (l->ctx), its row not yet begun: engine models, logs,
   * the labels and scenario the row records. An error ends the run here,
   * with nothing written. */
  int (*built)(void *arg, run_life *l, rs_err *e);
  /* The row is committed (l->run_id): the policies may be replaced (the
   * engine holds &l->ctx->dp and &l->ctx->rp). An error ends the run here;
   * its row stays 'running'. */
  int (*begun)(void *arg, run_life *l, rs_err *e);
  /* The loop exists and has not run: start what answers on it. An error
   * ends the run at its start (l->started stays 0): it is closed at once,
   * written with status(), and the error is the run's. */
  int (*start)(void *arg, run_life *l, sim_loop *loop, rs_err *e);
  /* sim_loop_opts' on_wait (loop only) and progress (after every slice). */
  void (*on_wait)(void *arg, sim_loop *loop, sim_engine *s);
  void (*progress)(void *arg, int64_t now, int64_t from, int64_t to);
  /* Worker only: polled between slices; non-zero stops the run there
   * (interrupted). */
  int (*stop)(void *arg);
  /* The status of a run that failed or could not start; NULL: 'failed'. */
  const char *(*status)(void *arg, const run_life *l);
  /* The drive is over (signals held), before the KPIs: stop what ran
   * beside the engine, flush logs. */
  void (*ended)(void *arg, run_life *l);
} run_life_hooks;

typedef struct {
  const sim_scenario *sc;        /* the run's scenario (copied) */
  const run_input *in;           /* its trips, lent; NULL: loaded from sc */
  int city_given;                /* that load: the user named the city */
  sim_results *res;              /* the results DB, lent; NULL: sc->out opened */
  const char *version;           /* ridesim's version, in the run's row */
  const char *dispatch_label;    /* the row's dispatch; NULL: the policy's name */
  const char *reposition_label;  /* the row's reposition; NULL: likewise */
  int check;                     /* check the engine's invariants every tick */
  int cells;                     /* record the run's unserved_cells */
  int worker;                    /* driven on a worker thread: no loop, no signals */
  const char *value_out;         /* save the v1d3 value table here; NULL or "": no */
  const char *key;               /* a sweep's stable id of the run, recorded with its
                                    row (sim_results_begin_run_key); NULL: none */
  int key_index;                 /* its place in the sweep's plan */
  int keep;                      /* what the results keep: SIM_RESULTS_* (0: full) */
  run_life_hooks hooks;
  /* A watcher beside the run (a viewer, view/): its start, progress and
   * ended are called after hooks' own at the same points, on the run's
   * loop only (not on a worker); its other hooks are not called. All NULL:
   * none, and the drive is exactly as without. */
  run_life_hooks tap;
} run_life_opts;

struct run_life {
  run_life_opts o;        /* as given (hooks may change labels) */
  sim_scenario sc;        /* the effective scenario: day and horizon fixed */
  run_input own_in;       /* the trips when loaded here */
  const run_input *in;    /* the trips: o.in or &own_in */
  run_ctx *ctx;           /* the run (owned) */
  sim_results *res;       /* the results DB: o.res or opened here (owned) */
  sim_results_stream *stream; /* where a streamed run's ended orders go
                             (ctx->streamed, not on a worker; owned), NULL */
  int own_res;            /* res was opened here */
  int64_t run_id;         /* its row; 0 until begun */
  sim_loop *loop;         /* while driven on a loop */
  /* the outcome */
  int driven;             /* the drive happened (the engine is closed) */
  int started;            /* the drive began (the start hook passed) */
  int rc;                 /* the drive's error, 0 */
  rs_err err;             /* its message */
  int interrupted;        /* a signal, or the stop hook, ended it early */
  double wall_s;          /* wall seconds of the drive */
  sim_kpis k;             /* the KPIs, taken by the finish */
  const char *status;     /* the final status, set by the finish */
  int written;            /* the final write succeeded */
  int late_signal;        /* SIGINT or SIGTERM came while the results were written */
};

/* Sets l up for the options; nothing is loaded or opened yet. */
void run_life_init(run_life *l, const run_life_opts *o);

/* The steps, in this order; each returns 0 or an error with nothing of its
 * own left behind (run_life_close frees what earlier steps made). begin
 * opens o.res when none was lent; drive never fails: its outcome is in rc,
 * err, interrupted, started. finish returns, in this order of precedence,
 * the error of the write (written 0), the drive's error (written 1), or
 * that of the value table's save; 0 when all went well. */
int run_life_load(run_life *l, rs_err *e);
int run_life_build(run_life *l, rs_err *e);
int run_life_begin(run_life *l, rs_err *e);
void run_life_drive(run_life *l);
int run_life_finish(run_life *l, rs_err *e);

/* load, build, built, begin, begun, drive, finish: the whole run. 0, or
 * the first error (finish's precedence); written says whether the run's
 * final row is in the DB. */
int run_life_exec(run_life *l, rs_err *e);

/* The simulated time the run reached (its horizon unless stopped early). */
int64_t run_life_now(const run_life *l);

/* Frees what the run owns. l may be closed at any step. */
void run_life_close(run_life *l);

#endif

/*
 * runloop: drives an engine with libuv.
 *
 * Fast mode (speed 0): a uv_idle handle processes the engine in bounded
 * slices (slice_events events each), so between slices the loop still
 * serves signals and I/O; there is no sleeping and no spinning without work.
 * Paced mode (speed X > 0): a repeating uv_timer advances simulated time to
 * X times the wall time elapsed since the start (time spent waiting for a
 * policy's answer does not count); a viewer may change X or pause it
 * (sim_loop_pace), which re-anchors the pace where simulated time stands.
 *
 * Waiting. When the engine waits for a policy that answers later (an
 * external agent), stepping stops and on_wait is called; the answerer,
 * itself driven by this loop (sim_loop_uv), fills the decision in and calls
 * sim_loop_resume, or sim_loop_abort when it cannot answer at all.
 *
 * SIGINT and SIGTERM (uv_signal) stop the run at the next slice: the engine
 * is closed at the time reached and *interrupted is set, so the caller can
 * write everything so far with status 'interrupted'.
 */
#ifndef SIM_RUNLOOP_H
#define SIM_RUNLOOP_H

#include <stdint.h>
#include <uv.h>

#include "sim/engine.h"
#include "base/rs_error.h"

#define SIM_SLICE_EVENTS 65536   /* events per slice in fast mode */
#define SIM_PACE_PERIOD_MS 20    /* paced mode timer period */
#define SIM_PACE_MAX 1e6         /* the fastest pace a run may be set to */

typedef struct sim_loop sim_loop;

typedef struct {
  double speed;          /* 0 = as fast as possible */
  int64_t slice_events;  /* 0 = SIM_SLICE_EVENTS */
  /* Optional: after each slice (simulated time reached). */
  void (*progress)(void *arg, int64_t now, int64_t from, int64_t to);
  void *progress_arg;
  /* Optional: the engine waits for an answer (sim_engine_pending). */
  void (*on_wait)(void *arg, sim_loop *l, sim_engine *s);
  void *wait_arg;
} sim_loop_opts;

/* A loop around an engine (borrowed). RS_EIO when libuv cannot start. */
int sim_loop_new(sim_engine *s, const sim_loop_opts *o, sim_loop **out, rs_err *e);
/* The libuv loop, for handles of the caller's (an agent's child process). */
uv_loop_t *sim_loop_uv(sim_loop *l);
/* Runs the engine to its horizon, a signal, an error or an abort. Returns 0
 * (the engine is closed either way; *interrupted says whether a signal
 * ended it) or a negative error (engine, libuv, or the abort's code).
 * *wall_s receives the wall seconds spent. Handles of the caller's still
 * open on the loop are the caller's to close (after this returns, the
 * caller may run the loop again to finish closing them). */
int sim_loop_run(sim_loop *l, int *interrupted, double *wall_s, rs_err *e);
/* Paced runs (speed > 0 at sim_loop_new) only: a new speed (0 < speed <=
 * SIM_PACE_MAX) and whether to pause, from now on; simulated time goes on
 * from where it stands. 0, or RS_EINVAL (a fast run, a bad speed) with
 * nothing changed. A viewer's controls (view/). */
int sim_loop_pace(sim_loop *l, double speed, int paused);
double sim_loop_speed(const sim_loop *l);
int sim_loop_paused(const sim_loop *l);
/* The pending decision is filled in: apply it and go on. */
void sim_loop_resume(sim_loop *l);
/* Ends the run now with an error (e.g. the agent died); the engine is
 * closed at the current time. */
void sim_loop_abort(sim_loop *l, int code, const char *msg);
/* Frees the loop; its own handles are closed. */
void sim_loop_free(sim_loop *l);

/* new + run + free in one call, for runs without answerers. */
int sim_loop_run_engine(sim_engine *s, const sim_loop_opts *o, int *interrupted,
                        double *wall_s, rs_err *e);

#endif

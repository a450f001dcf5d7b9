/*
 * runloop: drives an engine with libuv.
 *
 * Fast mode (speed 0): a uv_idle handle processes the engine in bounded
 * slices (slice_events events each), so between slices the loop still
 * serves signals and I/O; there is no sleeping and no spinning without work.
 * Paced mode (speed X > 0): a repeating uv_timer advances simulated time to
 * X times the wall time elapsed since the start.
 *
 * SIGINT and SIGTERM (uv_signal) stop the run at the next slice: the engine
 * is closed at the time reached and *interrupted is set, so the caller can
 * write everything so far with status 'interrupted'.
 */
#ifndef SIM_RUNLOOP_H
#define SIM_RUNLOOP_H

#include <stdint.h>

#include "sim/engine.h"
#include "sim/rs_error.h"

#define SIM_SLICE_EVENTS 65536   /* events per slice in fast mode */
#define SIM_PACE_PERIOD_MS 20    /* paced mode timer period */

typedef struct {
  double speed;          /* 0 = as fast as possible */
  int64_t slice_events;  /* 0 = SIM_SLICE_EVENTS */
  /* Optional progress callback after each slice (simulated time reached). */
  void (*progress)(void *arg, int64_t now, int64_t from, int64_t to);
  void *progress_arg;
} sim_loop_opts;

/* Runs the engine to its horizon or until a signal. Returns 0 (the engine
 * is closed either way; *interrupted says which) or a negative error from
 * the engine or libuv. *wall_s receives the wall seconds spent. */
int sim_loop_run(sim_engine *s, const sim_loop_opts *o, int *interrupted,
                 double *wall_s, rs_err *e);

#endif

/*
 * replay: a stored run played again (`ridesim view`, `ridesim export`).
 *
 * The engine is deterministic, so a run is repeated from its row alone:
 * the effective scenario (with its seed) stored in runs.scenario, its trips
 * loaded again from the same store (or the synthetic city generated again),
 * the same policies built. Nothing of the trajectories is stored; nothing
 * is written to the results DB. A run driven by an external agent cannot be
 * repeated (its decisions are not stored) and is refused; a run whose
 * policies read a value table needs that file where it was.
 *
 * view_replay_exec serves the replay on a loop of its own (view/view.h) and
 * drives it: paced at `speed` simulated seconds per wall second (0: as
 * fast as possible), paused, resumed, re-paced, and sought: a seek forward
 * runs the engine fast to the time; a seek backwards (or after the end)
 * builds the run again and runs it fast to the time ("re-run to the
 * time"), so every picture is the engine's own state, never an
 * interpolation of stored data. It serves until SIGINT or SIGTERM (or, with
 * exit_at_end, until the horizon is reached and the last frame is out).
 */
#ifndef VIEW_REPLAY_H
#define VIEW_REPLAY_H

#include <stdint.h>

#include "base/rs_error.h"
#include "run/setup.h"
#include "sim/scenario.h"
#include "view/view.h"

/* A stored run, loaded to be run again. */
typedef struct {
  int64_t run_id;         /* its row */
  sim_scenario sc;        /* its effective scenario */
  run_input in;           /* its trips, loaded again */
  int64_t t_from, t_to;   /* its horizon, as the row records it */
  char label[320];        /* policies, seed: for the page */
} view_stored;

/* Loads run_id of the results DB db (0: its last finished run), completed
 * or interrupted. RS_ENOENT (no DB, no such finished run), RS_EINVAL (an
 * agent's run), or the errors of loading its scenario and trips. */
int view_stored_load(const char *db, int64_t run_id, view_stored *st, rs_err *e);
void view_stored_free(view_stored *st);

typedef struct {
  view_addr addr;         /* where to serve */
  double speed;           /* initial pace; 0: as fast as possible */
  int exit_at_end;        /* end at the horizon instead of serving on */
  int paused;             /* start paused */
  /* Optional: told the page's address once listening. */
  void (*on_listen)(void *arg, const char *url);
  void *arg;
} view_replay_opts;

/* Serves the replay of st (loaded) until a signal or, with exit_at_end,
 * the horizon. 0, or an error (the address, the engine); *interrupted says
 * whether a signal ended it. */
int view_replay_exec(view_stored *st, const view_replay_opts *o, int *interrupted, rs_err *e);

#endif

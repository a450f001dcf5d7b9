/*
 * runview: a viewer beside a run's lifecycle (`ridesim run --serve`,
 * `ridesim evaluate --serve`), as the lifecycle's tap (run/lifecycle.h).
 *
 *   start     the viewer listens on the run's loop (an address in use ends
 *             the run at its start, closed with nothing simulated)
 *   progress  after every slice: a frame when a client is ready
 *   ended     the last frame and the end event; the server closes
 *
 * Pace: a paced run (--speed X > 0) takes the page's pause, resume and
 * speed (sim_loop_pace, "speed 0" is refused: a paced run stays paced); a
 * fast run (--speed 0) takes none, so the viewer never paces it.
 *
 * Ownership: the caller's view_run must outlive the run's drive and
 * finish; it owns nothing once the run is finished (the server frees
 * itself).
 */
#ifndef VIEW_RUNVIEW_H
#define VIEW_RUNVIEW_H

#include "run/lifecycle.h"
#include "view/view.h"

typedef struct {
  view_addr addr;                /* where to listen */
  /* Optional: told the page's address once listening (the CLI prints it). */
  void (*on_listen)(void *arg, const char *url);
  void *arg;
  /* the state while the run goes */
  view *v;                       /* the viewer, NULL before start and after ended */
  run_life *life;                /* the run */
  sim_loop *loop;                /* its loop */
  char label[160];               /* policies and seed */
  /* measured, for the benchmark: read after the run */
  int64_t sent, dropped;         /* frames sent to clients, lost for busy ones */
  double build_s;                /* wall seconds spent building frames */
} view_run;

/* The tap that serves the run (set r->addr and on_listen first). */
run_life_hooks view_run_hooks(view_run *r);

#endif

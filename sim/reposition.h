/*
 * reposition: the engine's repositioning rounds (part of the engine; see
 * engine_int.h).
 *
 * Every repo_tick_s the engine asks the repositioning policy where to send
 * the drivers that have idled long enough; a driver sent to another cell
 * drives to its centre (DISP_REPOSITION) and is idle there on arrival. A
 * policy may answer later (an external agent): the round then waits for
 * sim_engine_resume.
 */
#ifndef SIM_REPOSITION_H
#define SIM_REPOSITION_H

#include <stdint.h>

#include "base/rs_error.h"
#include "dispatch/policy.h"
#include "sim/engine.h"

/* What repositioning keeps between rounds; the buffers hold a driver each. */
typedef struct {
  disp_repo round;      /* the current round, as the policy sees it */
  int32_t *eligible;    /* the round's eligible drivers */
  int32_t *dest;        /* per eligible driver: the cell the policy chose, -1 */
  int64_t *hold;        /* per driver: not eligible to reposition before */
  int dispatchable;     /* repositioning drivers stay matchable */
} sim_repo_state;

/* Allocates the buffers for the engine's drivers. Returns 0 or RS_ENOMEM
 * (sim__repo_free releases what was allocated). */
int sim__repo_init(sim_engine *s);
void sim__repo_free(sim_engine *s);
/* A round (the SIM_EV_REPO_TICK event): returns 0, DISP_PENDING when the
 * policy answers later, or a negative error. */
int sim__repo_round(sim_engine *s, rs_err *e);
/* Applies a pending round's answer and schedules the next round. */
int sim__repo_resume(sim_engine *s, rs_err *e);
/* Driver d reaches its repositioning cell (SIM_EV_REPO_ARRIVE, current). */
void sim__repo_arrive(sim_engine *s, int32_t d);

#endif

/*
 * reposition: repositioning rounds, from the choice of eligible drivers to
 * their arrival; see reposition.h.
 *
 * Eligibility. At a round, a driver is eligible when it is idle, has been
 * idle for at least repo_idle_s, and is not on hold: a driver the policy
 * told to stay (no cell, an invalid one, or its own) is not asked again for
 * another repo_idle_s. Drivers are listed in index order, so the policy
 * sees the same list for the same state. A policy marked `inert` (stay) is
 * not asked at all.
 *
 * Applying. Destinations are read from the round's dest_cell after the
 * policy answered (at once or, for an agent, at sim_engine_resume). A
 * driver that stopped being idle meanwhile is skipped, as is every pair the
 * engine can no longer carry out; a destination out of the service area
 * (the round's in_service flags, the engine's) counts as "stay". A driver sent elsewhere starts a move to
 * the cell's centre now: the travel model's drive gives its arrival, and
 * the move's metres count as empty driving when it arrives. If it is
 * matched on the way (repositioning drivers that stay dispatchable) or its
 * shift ends, the engine cuts the move where the driver has got to (see
 * engine.c's match and fleet.c).
 *
 * Costs: a round is O(drivers) for eligibility plus the policy; a move is
 * one drive and one event. The buffers are allocated once per run.
 *
 * Ownership: sim_repo_state's buffers are this file's (sim__repo_init /
 * sim__repo_free); the round's view borrows the engine's drivers and grid.
 */
#include "sim/reposition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/engine_int.h"

int sim__repo_init(sim_engine *s) {
  size_t nd = (size_t)s->n_drivers;
  sim_repo_state *r = &s->repo;
  r->eligible = malloc(nd * sizeof *r->eligible);
  r->hold = calloc(nd, sizeof *r->hold);
  r->dest = malloc(nd * sizeof *r->dest);
  r->dispatchable = s->sc.repo_dispatchable;
  return r->eligible && r->hold && r->dest ? 0 : RS_ENOMEM;
}

void sim__repo_free(sim_engine *s) {
  free(s->repo.eligible);
  free(s->repo.dest);
  free(s->repo.hold);
}

/* Moves the eligible drivers the policy sent somewhere (s->repo.round). */
static int apply_round(sim_engine *s, rs_err *e) {
  sim_repo_state *rs = &s->repo;
  disp_repo *r = &rs->round;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t d = rs->eligible[i], c = rs->dest[i];
    if (s->drivers[d].state != DISP_IDLE) continue;
    if (c < 0 || c >= s->grid.n_cells || c == s->drivers[d].cell || !s->in_service[c]) {
      /* told to stay: not asked again for another idle threshold */
      rs->hold[d] = s->now + s->sc.repo_idle_s;
      continue;
    }
    disp_driver *dv = &s->drivers[d];
    const city_loc from = disp_driver_loc(dv), to = sim__cell_loc(s, c);
    city_leg leg;
    sim__drive(s, &from, &to, &leg);
    sim__set_state(s, d, DISP_REPOSITION);
    sim_dstate *ds = &s->dstate[d];
    ds->flat = dv->lat;
    ds->flng = dv->lng;
    ds->tlat = to.lat;
    ds->tlng = to.lng;
    ds->tcell = c;
    memcpy(ds->tu, s->cell_u[c], sizeof ds->tu);
    ds->move_m = leg.metres;
    ds->t_depart = s->now;
    ds->t_arrive = s->now + (int64_t)ceil(leg.secs);
    int rc = sim__push(s, ds->t_arrive, SIM_EV_REPO_ARRIVE, d, ds->epoch, e);
    if (rc) return rc;
  }
  return 0;
}

static int finish_round(sim_engine *s, rs_err *e) {
  if (s->now + s->sc.repo_tick_s < s->end)
    return sim__push(s, s->now + s->sc.repo_tick_s, SIM_EV_REPO_TICK, -1, 0, e);
  return 0;
}

int sim__repo_round(sim_engine *s, rs_err *e) {
  if (s->rp->inert) return finish_round(s, e);
  sim_repo_state *rs = &s->repo;
  int32_t n = 0;
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->drivers[d].state == DISP_IDLE &&
        s->now - s->drivers[d].idle_since >= s->sc.repo_idle_s && s->now >= rs->hold[d])
      rs->eligible[n++] = d;
  disp_repo *r = &rs->round;
  memset(r, 0, sizeof *r);
  if (n > 0) {
    r->now = s->now;
    r->city = s->city;
    r->travel = s->tm;
    r->grid = &s->grid;
    r->drivers = s->drivers;
    r->n_eligible = n;
    r->eligible = rs->eligible;
    r->in_service = s->in_service;
    r->rng = &s->rng_repo;
    r->dest_cell = rs->dest;
    for (int32_t i = 0; i < n; i++) rs->dest[i] = -1;
    int rc = s->rp->reposition(s->rp->ctx, r, e);
    if (rc == DISP_PENDING) {
      s->pending = SIM_PENDING_REPOSITION;
      return DISP_PENDING;
    }
    if (rc) return rc;
    if ((rc = apply_round(s, e)) != 0) return rc;
  }
  return finish_round(s, e);
}

int sim__repo_resume(sim_engine *s, rs_err *e) {
  int rc = apply_round(s, e);
  return rc ? rc : finish_round(s, e);
}

void sim__repo_arrive(sim_engine *s, int32_t d) {
  sim_dstate *ds = &s->dstate[d];
  if (sim__in_horizon(s)) ds->empty_m += ds->move_m;
  sim__place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, sim__move_end_node(s, d));
  sim__set_state(s, d, DISP_IDLE);
}

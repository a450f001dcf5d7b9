/*
 * fleet: where the engine's drivers start and when they work (part of the
 * engine; see engine_int.h).
 *
 * Placement puts every driver at a pickup of the first 30 minutes (demand)
 * or at the centre of a cell that sees demand (uniform); shifts bring each
 * driver online and offline once, at random times, or keep the whole fleet
 * online for the horizon.
 */
#ifndef SIM_FLEET_H
#define SIM_FLEET_H

#include <stdint.h>

#include "base/rs_error.h"
#include "sim/engine.h"

/* Places every driver (the orders must be prepared; pts: the points of
 * placement "history", engine.h). Returns 0, RS_ENOMEM,
 * or RS_EINVAL when a driver would stand outside the grid. */
int sim__fleet_place(sim_engine *s, const city_loc *pts, size_t n_pts, rs_err *e);
/* Starts every driver's first spell at the simulation's start: offline, then
 * idle now or at its shift's start (whose events it queues). Returns 0 or
 * RS_ENOMEM. */
int sim__fleet_start(sim_engine *s, rs_err *e);
/* Driver d's shift starts (SIM_EV_ONLINE) or ends (SIM_EV_OFFLINE). */
void sim__fleet_online(sim_engine *s, int32_t d);
void sim__fleet_offline(sim_engine *s, int32_t d);

#endif

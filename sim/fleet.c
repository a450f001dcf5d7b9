/*
 * fleet: placing the fleet and running its shifts; see fleet.h.
 *
 * Placement (scenario `placement`). "history" (the default) uses only
 * what a platform knows before the simulation starts: each driver stands
 * at one of the caller's points (sim_engine_new_placed), drawn uniformly;
 * run/setup.c gathers them from before the start (the dropoffs of the
 * trips requested in the hour before it, where the drivers that served
 * them are free; else the pickups at that time of day on the store's other
 * days; else the service area uniformly), so the density by cell is the
 * data's and the place within a cell a real trip end. Without points it
 * stands the fleet at the centres of cells drawn uniformly over the
 * service area's (city.h). No order of the run is read: a fleet placed so cannot sit on the
 * horizon's pickups (test_engine's look-ahead test checks that changing
 * the orders after a time changes nothing before it).
 * "demand" (the placement of earlier versions, kept to reproduce their
 * results): each driver stands at the pickup of an order drawn uniformly
 * from those requested in the first 30 minutes of the simulation (all
 * orders when there are none). That is look-ahead: on the 2016-02-01
 * morning with 3,000 drivers the first 5 minutes' mean pickup distance is
 * a few metres. "uniform": at the centre of a cell drawn uniformly from
 * the cells where some order of the run is picked up (their set, not their
 * times, is read). With no orders at all "demand" and "uniform" stand the
 * fleet at the city's centre. Draws come from the fleet stream
 * (PCG_STREAM_FLEET), one per driver in index order.
 *
 * Shifts (scenario `shift_hours`). A shift of zero, or as long as the
 * warm-up and horizon or longer, keeps every driver online throughout.
 * Otherwise each driver's shift starts at a time drawn uniformly (shift
 * stream, one draw per driver in index order) so that it lies within the
 * warm-up and the horizon. Shift
 * events carry no epoch: they are not tied to a plan, and check the
 * driver's state instead. A shift that ends during a pickup or a trip ends
 * when the trip does (offline_after, honoured by the dropoff and by a
 * rider's cancellation); one that ends during a repositioning move cuts it
 * where the driver has got to.
 *
 * Invariants: every driver stands in a cell of the grid (placement fails
 * otherwise); at the simulation's start every driver is offline since
 * `start` (from - the warm-up) with no order, before its first spell
 * begins.
 *
 * Costs: O(drivers) draws and, for uniform placement, O(orders + cells).
 * (History placement reads its points only, O(drivers).)
 * The only allocation is uniform placement's scratch, freed before return.
 */
#include "sim/fleet.h"

#include <stdlib.h>
#include <string.h>

#include "sim/engine_int.h"

/* Places the fleet: at pickups of the first 30 minutes, or uniformly over
 * the cells that see demand. */
static int place_from_orders(sim_engine *s, rs_err *e) {
  size_t n_early = 0;
  while (n_early < s->n_orders && s->orders[n_early].t_request < s->from + 1800)
    n_early++;
  if (n_early == 0) n_early = s->n_orders;
  int32_t *cells = NULL;
  int32_t n_cells = 0;
  if (strcmp(s->sc.placement, "uniform") == 0) {
    char *seen = calloc((size_t)s->grid.n_cells, 1);
    cells = malloc((size_t)s->grid.n_cells * sizeof *cells);
    if (seen == NULL || cells == NULL) {
      free(seen);
      free(cells);
      return rs_err_set(e, RS_ENOMEM, "fleet: out of memory");
    }
    for (size_t i = 0; i < s->n_orders; i++)
      if (s->orders[i].pcell >= 0) seen[s->orders[i].pcell] = 1;
    for (int32_t c = 0; c < s->grid.n_cells; c++)
      if (seen[c]) cells[n_cells++] = c;
    free(seen);
  }
  for (int32_t d = 0; d < s->n_drivers; d++) {
    double lat, lng;
    int32_t c;
    if (n_cells > 0) {
      c = cells[pcg32_bounded(&s->rng_fleet, (uint32_t)n_cells)];
      city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &lat, &lng);
    } else {
      const disp_order *o = &s->orders[pcg32_bounded(&s->rng_fleet, (uint32_t)n_early)];
      lat = o->plat;
      lng = o->plng;
      c = o->pcell;
    }
    sim__place(s, d, lat, lng, c, -1);
  }
  free(cells);
  return 0;
}

/* Places the fleet at the points known before the start, or without any at
 * the centres of cells drawn uniformly over the service area's cells.
 * Returns 0 or RS_ENOMEM. */
static int place_from_history(sim_engine *s, const city_loc *pts, size_t n_pts, rs_err *e) {
  int32_t *cells = NULL, n_cells = 0;
  if (n_pts == 0) {
    cells = malloc((size_t)s->grid.n_cells * sizeof *cells);
    if (cells == NULL) return rs_err_set(e, RS_ENOMEM, "fleet: out of memory");
    for (int32_t c = 0; c < s->grid.n_cells; c++)
      if (s->in_service[c]) cells[n_cells++] = c;
    if (n_cells == 0)
      for (int32_t c = 0; c < s->grid.n_cells; c++) cells[n_cells++] = c;
  }
  for (int32_t d = 0; d < s->n_drivers; d++) {
    if (n_pts > 0) {
      const city_loc *p = &pts[pcg32_bounded(&s->rng_fleet, (uint32_t)n_pts)];
      sim__place(s, d, p->lat, p->lng, -1, p->node);
    } else {
      int32_t c = cells[pcg32_bounded(&s->rng_fleet, (uint32_t)n_cells)];
      double lat, lng;
      city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &lat, &lng);
      sim__place(s, d, lat, lng, c, -1);
    }
  }
  free(cells);
  return 0;
}

int sim__fleet_place(sim_engine *s, const city_loc *pts, size_t n_pts, rs_err *e) {
  if (strcmp(s->sc.placement, "history") == 0) {
    if (n_pts > UINT32_MAX) n_pts = UINT32_MAX; /* pcg32_bounded's range */
    int rc = place_from_history(s, pts, n_pts, e);
    if (rc) return rc;
  } else if (s->n_orders == 0) {
    /* a fleet needs somewhere to stand: the city centre */
    const city_def *city = s->city;
    double lat = (city->min_lat + city->max_lat) / 2, lng = (city->min_lng + city->max_lng) / 2;
    for (int32_t d = 0; d < s->n_drivers; d++) sim__place(s, d, lat, lng, -1, -1);
  } else {
    int rc = place_from_orders(s, e);
    if (rc) return rc;
  }
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->drivers[d].cell < 0)
      return rs_err_set(e, RS_EINVAL, "engine: driver %d placed outside the grid", d);
  return 0;
}

int sim__fleet_start(sim_engine *s, rs_err *e) {
  /* the simulated span before the drain: the warm-up and the horizon */
  int64_t horizon = s->to - s->start;
  int64_t shift = (int64_t)(s->sc.shift_hours * 3600.0);
  s->n_state[DISP_OFFLINE] = s->n_drivers;
  for (int32_t d = 0; d < s->n_drivers; d++) {
    s->dstate[d].since = s->start;
    s->dstate[d].order = -1;
    s->drivers[d].state = DISP_OFFLINE;
    if (shift <= 0 || shift >= horizon) {
      sim__set_state(s, d, DISP_IDLE);
      continue;
    }
    int64_t start = s->start + (int64_t)pcg32_bounded(&s->rng_shift,
                                                       (uint32_t)(horizon - shift + 1));
    /* Shift events are not tied to a plan: they carry no epoch. */
    int rc = sim__push(s, start, SIM_EV_ONLINE, d, 0, e);
    if (rc == 0) rc = sim__push(s, start + shift, SIM_EV_OFFLINE, d, 0, e);
    if (rc) return rc;
  }
  return 0;
}

void sim__fleet_online(sim_engine *s, int32_t d) {
  if (s->drivers[d].state == DISP_OFFLINE) sim__set_state(s, d, DISP_IDLE);
}

void sim__fleet_offline(sim_engine *s, int32_t d) {
  int32_t st = s->drivers[d].state;
  if (st == DISP_PICKUP || st == DISP_OCCUPIED) {
    s->dstate[d].offline_after = 1;
    return;
  }
  if (st == DISP_REPOSITION) {
    city_loc at;
    double driven;
    sim__position_now(s, d, &at, &driven);
    sim__place(s, d, at.lat, at.lng, -1, at.node);
  }
  if (st != DISP_OFFLINE) sim__set_state(s, d, DISP_OFFLINE);
}

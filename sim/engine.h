/*
 * engine: the discrete-event simulator of one run.
 *
 * It replays orders (from a trip store or the synthetic city) against a
 * fleet, asks a dispatch policy and a repositioning policy what to do, and
 * accounts for every order and every driver. Time is integer seconds in the
 * city's local epoch. The engine never reads a clock, a file or a socket: it
 * is stepped by sim/runloop.c (libuv) or by tests, a bounded slice at a time.
 *
 * Horizon, warm-up and drain. The run is judged on the horizon [from, to)
 * and the orders requested in it. A warm-up (scenario warmup_s) simulates
 * [from - warmup_s, from) first, with its orders, so that the fleet enters
 * the horizon busy and spread as it would be: those orders move drivers
 * but are none of the run's records, KPIs or incomes. After `to` a drain
 * (scenario drain_s) goes on until every order of the horizon has ended
 * (SIM_DRAIN_ALL: it always does, within its patience, pickup and trip),
 * or for at most drain_s seconds (0: no drain); dispatch goes on through
 * it, no order arrives.
 *
 * Events and their order at equal times: order requests stream from the
 * sorted order array and, at equal times, come before every queued event;
 * queued events pop by (time, push sequence) (queue.h). So at time t: new
 * requests, then the events scheduled for t in the order they were
 * scheduled. Dispatch ticks fall at start + k * tick_s (start = from -
 * warmup_s); repositioning rounds at start + k * repo_tick_s.
 *
 * Order life: WAITING -> MATCHED -> ONBOARD -> COMPLETED, or WAITING ->
 * EXPIRED (not matched within its patience), or MATCHED -> CANCELLED (the
 * rider gives up, with probability by pickup distance). Orders still
 * WAITING, MATCHED or ONBOARD when the run closes (a drain's cap, no
 * drain, a stop) end OPEN. Income counts only completed orders.
 *
 * Driver life: OFFLINE / IDLE / PICKUP / OCCUPIED / REPOSITION, each spell
 * timed. A driver's accounts are the horizon's: its five time totals are
 * the seconds of [from, to) it spent in each state (they add up to to -
 * from exactly; the warm-up's and the drain's time is in none); its income
 * and trips are the fares and count of the horizon's orders it completed,
 * the drain's completions included (so the drivers' incomes add up to J);
 * its occupied metres those of the same trips; its empty metres those
 * driven to the pickups of the horizon's orders, and on idle and
 * repositioning moves that ended in the horizon.
 *
 * Service area: the engine sends drivers only to cells in service
 * (city_def_service_cells). A repositioning policy sees the flags in its
 * round (disp_repo.in_service) and a destination out of service is taken as
 * "stay"; the idle random walk stays put when its draw points out of service.
 *
 * Randomness (pcg32.h, one stream per purpose from the run seed): fleet
 * placement, shifts, idle moves, the policies' own. Whether a rider cancels
 * is decided by a per-order uniform drawn from the cancellation stream at
 * position 2 x the order's trip id (pcg32_advance; a double takes two
 * draws), so the same rider makes the same choice under every policy and
 * whatever else the store holds: common random numbers.
 *
 * Orders in and out. The engine takes its orders from a source (source.h)
 * a chunk at a time: the first chunks when it is created (until the
 * placement has what it reads: the first 30 minutes' pickups for
 * "demand", every order for "uniform", none for "history"), the next one
 * whenever its clock has requested every order it holds, between two
 * events. sim_engine_new hands it the whole array as one chunk. Ended
 * orders leave when a sink is set (sim_engine_set_order_sink): when the
 * engine pulls a chunk and at least half of the orders it holds are an
 * ended prefix (completed, cancelled or expired, and none of them in a
 * match report still to come), it hands the horizon's ones to the sink in
 * index order, adds them to its KPI tally (kpi.h: the KPIs come out the
 * same bits), and drops them, renumbering every order index it keeps (the
 * drivers', the waiting index's, the queued events'). So a run holds the
 * orders from the oldest one still in flight to the end of the latest
 * chunk: memory bounded by the live state and a chunk, not by the horizon.
 * An order still in flight holds back the drop of every order after it
 * (an order waits at most the patience, 86,400 s). Without a sink nothing
 * is dropped and the arrays hold every order, as the viewer and the C API
 * need.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "city_data/city.h"
#include "city_data/travel.h"
#include "city_data/tripstore.h"
#include "dispatch/policy.h"
#include "base/rs_error.h"
#include "sim/kpi.h"
#include "sim/scenario.h"
#include "sim/source.h"

enum {
  SIM_ORDER_WAITING = 0,
  SIM_ORDER_MATCHED,
  SIM_ORDER_ONBOARD,
  SIM_ORDER_COMPLETED,
  SIM_ORDER_CANCELLED,
  SIM_ORDER_EXPIRED,
  SIM_ORDER_OPEN,
  SIM_ORDER_N_STATES
};

/* What the engine records of an order (also what the results DB stores):
 * one cache line (the engine allocates its array 64-byte aligned, so an
 * arrival or a dropoff touches one line of it). */
typedef struct {
  int32_t status;     /* SIM_ORDER_* */
  int32_t driver;     /* matched driver, -1 */
  int64_t t_match;    /* -1 when never matched */
  int64_t t_pickup;   /* -1 when never picked up */
  int64_t t_dropoff;  /* -1 when not completed */
  int64_t t_final;    /* when it reached its final state */
  double pickup_m;    /* pickup distance at the match (city_travel_pickup_m:
                         road metres on a road network, else great-circle
                         metres), NAN when unmatched */
  double eta_s;       /* pickup time (the travel model's), NAN when unmatched */
  int64_t reserved;   /* unused: pads the record to 64 bytes */
} sim_order_rec;
_Static_assert(sizeof(sim_order_rec) == 64, "an order record is one cache line");

typedef struct {
  double income;                  /* fares of completed trips */
  int64_t time_s[DISP_N_STATES];  /* seconds in each state */
  int32_t trips;                  /* completed trips */
  double empty_m;                 /* metres driven without a rider */
  double occupied_m;              /* metres driven with a rider */
} sim_driver_rec;

/* sim_window (one kpi_series window) and sim_kpis (the run's KPIs, one
 * field per line of the KPI catalogue) are sim/kpi.h's. */

typedef struct sim_engine sim_engine;

/* Creates the engine for a run in the city of travel model tm, whose
 * drives it simulates (city_data/travel.h). Takes ownership of `trips`
 * (freed once the engine has taken them in, or by sim_engine_free; also on
 * failure). The trips must be sorted by
 * (request time, id) and lie within the warm-up and the horizon
 * [t_from - sc->warmup_s, t_to) (absolute local time): RS_EINVAL
 * otherwise. The fleet is sc->drivers, or the
 * city's default when that is -1; anything below 1 is RS_EINVAL. The travel
 * model and the policies are borrowed and must outlive the engine. */
int sim_engine_new(const sim_scenario *sc, const city_travel *tm,
                   city_trip *trips, size_t n_trips, int64_t t_from,
                   int64_t t_to, disp_policy *dp, disp_repolicy *rp,
                   sim_engine **out, rs_err *e);
/* The same with the points the platform knew of before the simulation's
 * start, where placement "history" stands the fleet (fleet.c): a driver at
 * each of n_pts points drawn uniformly (run/setup.c gathers them: the
 * dropoffs of the hour before, else other days' pickups at that time of
 * day, else none: the service area). pts is read during the call only;
 * NULL or none: "history" stands the fleet uniformly over the service
 * area's cells. */
int sim_engine_new_placed(const sim_scenario *sc, const city_travel *tm,
                          city_trip *trips, size_t n_trips, int64_t t_from,
                          int64_t t_to, const city_loc *pts, size_t n_pts,
                          disp_policy *dp, disp_repolicy *rp,
                          sim_engine **out, rs_err *e);
/* The same with the orders from a source (see "Orders in and out"), owned
 * (closed by sim_engine_free, also on failure). A chunk out of (request
 * time, id) order, outside the warm-up and the horizon, or with cells not
 * of the city's grid is RS_EINVAL, from here for the first chunks, from
 * sim_engine_step for the later ones. */
int sim_engine_new_source(const sim_scenario *sc, const city_travel *tm,
                          sim_order_source src, int64_t t_from, int64_t t_to,
                          const city_loc *pts, size_t n_pts, disp_policy *dp,
                          disp_repolicy *rp, sim_engine **out, rs_err *e);
void sim_engine_free(sim_engine *s);

enum {
  SIM_STEP_MORE = 0,     /* events remain before the limit */
  SIM_STEP_DONE = 1,     /* the horizon is reached and the run closed */
  SIM_STEP_WAIT = 2,     /* a policy answers later: see sim_engine_resume */
};
enum { SIM_PENDING_DISPATCH = 1, SIM_PENDING_REPOSITION = 2 };

/* Processes events with time < t_limit (capped at the drain's end), at
 * most max_events of them. Returns SIM_STEP_DONE when the run is over (the
 * horizon reached and drained; the run is then closed: open orders and
 * spells are accounted), SIM_STEP_MORE,
 * SIM_STEP_WAIT while a policy's answer is pending (simulated time stands
 * still), or a negative error. */
int sim_engine_step(sim_engine *s, int64_t t_limit, int64_t max_events,
                    rs_err *e);

/* Policies that answer later (an external agent): their dispatch or
 * reposition callback returns DISP_PENDING. The engine then waits; the
 * decision is the tick (or round) below, whose out / n_out (or dest_cell)
 * the answerer fills before calling sim_engine_resume, which applies it
 * (pairs no longer possible are ignored, as always) and goes on from where
 * the decision was taken: the end of a batch tick, the arrival of an order
 * (an immediate policy's decision), or the next row of an immediate
 * policy's tick, whose next decision may wait in turn (sim_engine_resume
 * then returns 0 with sim_engine_pending set again). */
int sim_engine_pending(const sim_engine *s);  /* 0 or SIM_PENDING_* */
disp_tick *sim_engine_pending_tick(sim_engine *s);
disp_repo *sim_engine_pending_repo(sim_engine *s);
int sim_engine_resume(sim_engine *s, rs_err *e);
/* Closes the run at the current time (an interrupted run): orders still in
 * progress become OPEN, spells are accounted up to now. */
void sim_engine_close_early(sim_engine *s);

int64_t sim_engine_now(const sim_engine *s);
int64_t sim_engine_from(const sim_engine *s);
int64_t sim_engine_to(const sim_engine *s);
/* The simulation's start (from - the warm-up); the seconds of the horizon
 * simulated so far (to - from once it is over); the seconds simulated past
 * `to` (the drain, so far). */
int64_t sim_engine_start(const sim_engine *s);
int64_t sim_engine_horizon_s(const sim_engine *s);
int64_t sim_engine_drain_s(const sim_engine *s);
int64_t sim_engine_events(const sim_engine *s);
int sim_engine_done(const sim_engine *s);

/* Where the horizon's ended orders go when the engine drops them (see
 * "Orders in and out"): orders() is given n of them in index order, the
 * orders and their final records (valid during the call only), each
 * horizon order once; a warm-up's orders are dropped unseen. A negative
 * return ends the step that dropped them with that error. */
typedef struct {
  void *ctx;
  int (*orders)(void *ctx, const disp_order *o, const sim_order_rec *r, size_t n, rs_err *e);
} sim_order_sink;
/* Sets the sink and, with it, the dropping of ended orders; set before the
 * first step. */
void sim_engine_set_order_sink(sim_engine *s, sim_order_sink k);
/* The horizon's orders handed to the sink (and no longer held): the
 * arrays below begin with the horizon's order sim_engine_n_handed. 0 without
 * a sink. */
size_t sim_engine_n_handed(const sim_engine *s);
/* Orders the per-order arrays have room for: the most held at once,
 * rounded up (it never shrinks). */
size_t sim_engine_order_capacity(const sim_engine *s);

/* Read access for results and tests. sim_engine_n_orders counts the run's
 * orders: those requested in the horizon (a warm-up's are not the run's)
 * that the source has given so far (all of them once the run is over);
 * sim_engine_n_requested those requested so far: all of them once the
 * horizon is reached, fewer in an interrupted run, whose later orders were
 * never requested and are not part of its records or KPIs. Requested
 * orders come first in the arrays (index order). sim_engine_orders and
 * sim_engine_order_recs hold the horizon's orders from sim_engine_n_handed
 * on (all of them without a sink): entry i is order n_handed + i, for i <
 * n_requested - n_handed requested ones. The policies see every order the
 * engine holds, the warm-up's first: their order indices
 * (disp_tick.row_order) are these arrays' plus sim_engine_n_warmup (the
 * warm-up's orders still held), and sim_engine_order_rec reads the record
 * of one, warm-up or not. The engine keeps drivers'
 * accounts in its own per-driver state: sim_engine_driver_recs copies them
 * out at each call, a snapshot of the run so far. sim_engine_windows gives
 * the kpi_series windows that began before the current time: every window
 * of a finished run, those reached in an interrupted one. */
size_t sim_engine_n_orders(const sim_engine *s);
size_t sim_engine_n_requested(const sim_engine *s);
const disp_order *sim_engine_orders(const sim_engine *s);
const sim_order_rec *sim_engine_order_recs(const sim_engine *s);
/* Per order by the policies' index (disp_tick.row_order: the warm-up's
 * orders first, as sim_engine_order_rec): the metres its trip drives with the rider (the travel
 * model's, or the data's when it has them). */
const double *sim_engine_trip_m(const sim_engine *s);
size_t sim_engine_n_warmup(const sim_engine *s);
/* The record of the engine's order o (a policy's index), NULL when there
 * is none. */
const sim_order_rec *sim_engine_order_rec(const sim_engine *s, int32_t o);
int32_t sim_engine_n_drivers(const sim_engine *s);
const sim_driver_rec *sim_engine_driver_recs(const sim_engine *s);
const sim_window *sim_engine_windows(const sim_engine *s, size_t *n);
const disp_solve_stat *sim_engine_solve_stats(const sim_engine *s, int32_t *n);

/* A driver as a viewer draws it (view/, the kepler export): its state,
 * the order it serves, and its current move. Read-only, O(1); the engine
 * is unchanged. Not moving (offline or idle): from and to are where it
 * stands and t_depart = t_arrive = the time it got there. Pickup, trip and
 * repositioning: the move from (lat, lng) at t_depart to (tlat, tlng) at
 * t_arrive (the travel model's times; the path between is the travel
 * model's). */
typedef struct {
  int32_t state;          /* DISP_* */
  int32_t order;          /* order index of a pickup or trip, -1 */
  double lat, lng;        /* where it stands, or where its move began */
  double tlat, tlng;      /* where its move ends (= lat, lng when not moving) */
  int64_t t_depart;       /* when the move began (or the spell, when still) */
  int64_t t_arrive;       /* when it ends (= t_depart when not moving) */
} sim_driver_view;
const disp_driver *sim_engine_drivers(const sim_engine *s);
void sim_engine_driver_view(const sim_engine *s, int32_t d, sim_driver_view *v);
/* Drivers in each state now (DISP_N_STATES counts). */
const int32_t *sim_engine_state_counts(const sim_engine *s);

/* Computes the KPIs (valid after the run is closed). */
void sim_engine_kpis(const sim_engine *s, sim_kpis *k);

/* Checks the engine's invariants: queue order, idle index, waiting-order
 * index, every order in a consistent state, no driver holding two trips,
 * time accounting. 0 when all hold; otherwise a message in e. Enabled per tick by
 * sim_engine_set_check(s, 1). */
int sim_engine_check(const sim_engine *s, rs_err *e);
void sim_engine_set_check(sim_engine *s, int on);

/* Registers an observer called at the end of every dispatch tick with the
 * pairs matched since the previous report (value learning). */
void sim_engine_set_observer(sim_engine *s, disp_observer ob);

/* Idle movement from a model of the caller's (the KDD Cup's hour x cell
 * transition table). Every idle_step_s of an idle spell, next() is given the
 * driver's position and a uniform u in [0, 1) from the idle stream; it
 * returns 0 with a destination point (the driver lands there at the end of
 * the step, matchable throughout from where it was) or -1 to stay. Set
 * before the first step; replaces the scenario's idle model. */
typedef struct {
  void *ctx;
  int (*next)(void *ctx, int64_t now, int32_t driver, double lat, double lng, double u,
              double *dlat, double *dlng);
} sim_idle_mover;
void sim_engine_set_idle_mover(sim_engine *s, sim_idle_mover m);

/* Rider cancellation from a model of the caller's (per-order probabilities,
 * the KDD Cup's cancel file): p() gives the probability that the rider of
 * order o cancels at a pickup distance, or a negative value for "not known
 * here" (the scenario's table then applies). The per-order uniform drawn
 * for common random numbers is unchanged. */
typedef struct {
  void *ctx;
  double (*p)(void *ctx, const disp_order *o, double pickup_m);
} sim_cancel_model;
void sim_engine_set_cancel_model(sim_engine *s, sim_cancel_model m);

#endif

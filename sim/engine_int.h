/*
 * engine_int: the engine's private state, shared by the files that make up
 * the engine (engine.c, fleet.c, reposition.c, kpi.c) and by no one else:
 * tools/ and tests/ use engine.h. The waiting-order index (waiting.h) is a
 * module of its own that the engine embeds; it does not see this struct.
 *
 * The engine is one struct (sim_engine) that every part reads; each part
 * owns the fields it allocates and writes (see the comments below, and
 * each file's opening essay). Helpers that several files need on hot paths
 * (a driver's change of state, its placement, pushing an event) are static
 * inline here, so that no part pays a call across files for them; the
 * functions one file offers the others are declared in its own header
 * (waiting.h, fleet.h, reposition.h, kpi.h) or below, and are named with a
 * double underscore (sim__), as libuv names its internal helpers.
 *
 * Layout. Orders live in parallel arrays indexed by order index: the
 * policies' read-only view (disp_order), the engine's record (sim_order_rec)
 * and the engine's per-order extras (trip distance, dropoff unit vector,
 * cancel uniform); the waiting-order index (waiting.h) keeps its own
 * per-order arrays. Drivers likewise: disp_driver and the private
 * per-driver state in `dstate`, which holds the driver's accounts (copied
 * out to sim_driver_rec on demand) and a copy of the current trip. The
 * large arrays come from rs_mem (huge pages). Idle drivers are in the cell
 * index (dispatch/candidates.h) exactly while their state is IDLE (or
 * repositioning, when repositioning drivers are dispatchable).
 *
 * Stale events. A driver's `epoch` grows at each change of state; events
 * about a driver's plan (arrival, dropoff, idle move, repositioning arrival)
 * carry the epoch they were scheduled under and are dropped when it moved
 * on. Order events check the order's status instead; shift events check the
 * driver's state.
 */
#ifndef SIM_ENGINE_INT_H
#define SIM_ENGINE_INT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_vec.h"
#include "dispatch/candidates.h"
#include "sim/engine.h"
#include "sim/kpi.h"
#include "sim/queue.h"
#include "sim/reposition.h"
#include "sim/waiting.h"

#define SIM_BATCH 32    /* queued events of one second taken out together */

enum {
  SIM_EV_EXPIRE = 1,   /* who = order */
  SIM_EV_CANCEL,       /* who = order */
  SIM_EV_ARRIVE,       /* who = driver: reaches the pickup */
  SIM_EV_DROPOFF,      /* who = driver */
  SIM_EV_IDLE_MOVE,    /* who = driver */
  SIM_EV_REPO_ARRIVE,  /* who = driver */
  SIM_EV_ONLINE,       /* who = driver */
  SIM_EV_OFFLINE,      /* who = driver */
  SIM_EV_TICK,         /* dispatch tick */
  SIM_EV_REPO_TICK,    /* repositioning round */
};

/* Where a dispatch decision is taken (engine.c), which is where the engine
 * goes on when its policy answers later. */
enum {
  SIM__AT_TICK = 0,   /* a batch tick: the tick ends */
  SIM__AT_REQUEST,    /* an immediate decision as an order arrives */
  SIM__AT_STREAM,     /* an immediate tick's streams (immediate_tick) */
  SIM__AT_CHUNK,      /* an immediate tick's chunks of rows */
};

/* An immediate tick's walk over its rows in chunks (engine.c's chunks_run):
 * rows[at, n_rows) of the waiting index's rows are still to decide. */
typedef struct {
  int32_t at;         /* the next row to decide */
  int32_t n_rows;     /* rows of the walk (fewer once fresh rows are dropped) */
  int fresh_left;     /* fresh drivers may remain: fresh rows are kept */
} sim_chunk_walk;

/* A driver's private state and accounts, three cache lines laid out by
 * use: the first holds what every event about the driver reads, the second
 * its accounts (every change of state writes them; with the first it is all
 * a dropoff needs), the third the move and the trip an arrival reads (with
 * the dropoff's unit vector, from the order's `du`). The accounts are
 * copied out to `drec` (sim_driver_rec) on demand (sim__sync_drec); spell
 * times are whole seconds, which an int32_t holds for any horizon the
 * engine accepts. */
typedef struct {
  _Alignas(64) uint32_t epoch; /* grows at each change of plan */
  int32_t order;       /* current order, -1 */
  int32_t tcell;       /* cell of the move's end */
  int32_t offline_after; /* the shift ended during a trip */
  int64_t since;       /* start of the current state spell */
  double tlat, tlng;   /* where the current move ends */
  double tu[3];        /* ... as a unit vector */
  /* second line: the current trip's pay and length (copied at the match
   * while the order's records are in cache), then the accounts */
  double fare, trip_m;
  double income, empty_m, occupied_m;
  int32_t trips;
  int32_t time_s[DISP_N_STATES];
  /* third line */
  double flat, flng;   /* where the move started */
  int64_t t_depart;    /* when it started */
  int64_t t_arrive;    /* when it ends */
  double move_m;       /* road metres of the move (pickup or repositioning) */
  double dlat, dlng;   /* the trip's end */
  int32_t duration_s;  /* the trip's time, pickup to dropoff */
  int32_t dcell;
} sim_dstate;
_Static_assert(sizeof(sim_dstate) == 192, "sim_dstate is three cache lines");

struct sim_engine {
  sim_scenario sc;          /* the run's options */
  const city_def *city;
  const city_travel *tm;    /* how drives are timed (borrowed) */
  int nodes;                /* the travel model has nodes: places carry them */
  int32_t *cell_node;       /* per cell: its centre's node (when nodes) */
  double (*cell_u)[3];      /* per cell: its centre as a unit vector */
  uint8_t *in_service;      /* per cell: in the city's service area (city.h);
                               repositioning and idle moves go nowhere else */
  city_grid grid;
  int64_t from, to, now;    /* horizon [from, to) and clock */
  int64_t start;            /* the simulation's start: from - the warm-up */
  int64_t end;              /* the latest close: to + the drain's cap
                               (INT64_MAX: until the horizon's orders end) */
  int64_t events;           /* events handled */
  int done;                 /* closed */
  int check;                /* check invariants every tick */
  int oom;                  /* an event or an index entry found no memory */
  int idle_walk;            /* the scenario's idle model is random-walk */
  int keep_rows;            /* the candidate index keeps rows' searches
                               between ticks (a batch policy that is not
                               maximal: candidates.h, kept rows) */
  sim_event batch[SIM_BATCH]; /* queued events of the current second */
  int32_t batch_n, batch_at;  /* ... taken out, and handled */

  /* Orders (engine.h, "Orders in and out"): the per-order arrays hold
   * the orders from `base` on (of every order the source gave, warm-up
   * first), position i being order base + i; an order's index everywhere
   * in the engine and its policies is its position. */
  sim_order_source src;     /* where orders come from (owned) */
  int src_done;             /* the source has no more */
  int64_t last_t, last_id;  /* the last order taken in: the next follows it */
  disp_order *orders;       /* policies' view */
  sim_order_rec *orec;
  double *cancel_u;         /* per-order uniform for the cancel decision */
  double *trip_m;           /* per order: road metres pickup to dropoff */
  double (*du)[3];          /* per order: dropoff as a unit vector */
  size_t n_orders;          /* orders held: positions [0, n_orders) */
  size_t cap_orders;        /* room of the per-order arrays (never shrinks) */
  size_t base;              /* orders dropped before position 0 */
  size_t n_warm;            /* orders of the warm-up taken in (counted from
                               the first: an order is the warm-up's when
                               base + its position < n_warm) */
  size_t n_live;            /* orders of the horizon that have not ended */
  size_t cursor;            /* next order to arrive (a position) */
  sim_order_sink sink;      /* told of the ended orders dropped (may be unset:
                               then none is dropped) */
  sim_tally tally;          /* the KPI tally of the horizon's orders dropped */
  uint8_t *modelled;        /* per order: bit 0 trip time, bit 1 fare modelled */

  disp_driver *drivers;
  int32_t n_state[DISP_N_STATES]; /* drivers in each state */
  sim_driver_rec *drec;
  sim_dstate *dstate;
  int32_t n_drivers;

  sim_queue q;
  disp_index *idx;
  disp_policy *dp;
  disp_repolicy *rp;
  pcg32 rng_policy, rng_repo, rng_idle, rng_fleet, rng_shift;

  sim_waiting w;            /* the waiting orders (waiting.c) */
  int32_t decision_k;       /* candidates per row of the current decision */
  /* Drivers that entered the idle index (or moved in it) since the last
   * tick: they may reach exhausted orders (waiting.h). */
  int32_t *fresh;           /* in the order they came, repeats allowed */
  int32_t n_fresh;
  size_t cap_fresh;
  int32_t *fresh_idle;      /* the tick's distinct fresh drivers still idle */
  int32_t n_fresh_idle;
  uint32_t *drv_stamp;      /* per driver: the round it was last listed fresh */
  uint32_t fresh_round;     /* the current round, never 0 */
  int32_t *ring;            /* k-ring scratch: cells within max_ring */
  int32_t max_ring;         /* rings of cells that cover the radius */
  int32_t one_row[1];       /* the row of an immediate decision */
  disp_assign *assign;      /* tick output buffer */
  disp_tick tick;           /* the current dispatch decision */
  int pending;              /* SIM_PENDING_*: a policy answers later */
  int pending_at;           /* SIM__AT_*: where that dispatch decision was
                               taken, so where sim_engine_resume goes on */
  sim_chunk_walk chunk;     /* an immediate tick's walk over its chunks */
  size_t cap_assign;
  sim_repo_state repo;      /* repositioning rounds (reposition.c) */

  disp_observer observer;   /* told of every tick's matches (may be unset) */
  sim_idle_mover mover;     /* idle movement model (may be unset) */
  sim_cancel_model cancel;  /* per-order cancellation model (may be unset) */
  disp_assign *rep_pairs;   /* matches since the last report */
  double *rep_eta;
  int32_t n_rep;
  size_t cap_rep;

  sim_series series;        /* kpi_series (kpi.h) */
};

/* ------------------------------------------------ helpers shared by files */

/* Whether order o was requested in the horizon (else in the warm-up): the
 * orders whose outcomes the run's records, KPIs and incomes count. */
static inline int sim__counted(const sim_engine *s, int32_t o) {
  return s->base + (size_t)o >= s->n_warm;
}

/* Whether the clock is in the horizon [from, to): moves that serve no
 * order (idle, repositioning) count as empty driving when they end there. */
static inline int sim__in_horizon(const sim_engine *s) {
  return s->now >= s->from && s->now < s->to;
}

/* The seconds of [a, b) that lie in the horizon: what a driver's spell
 * adds to its time accounts. */
static inline int32_t sim__horizon_part(const sim_engine *s, int64_t a, int64_t b) {
  if (a < s->from) a = s->from;
  if (b > s->to) b = s->to;
  return b > a ? (int32_t)(b - a) : 0;
}

/* A counted order reached its final state (completed, cancelled,
 * expired). */
static inline void sim__order_ended(sim_engine *s, int32_t o) {
  if (sim__counted(s, o)) s->n_live--;
}

/* The drive from a to b leaving now. */
static inline void sim__drive(const sim_engine *s, const city_loc *a, const city_loc *b,
                              city_leg *leg) {
  city_travel_leg(s->tm, a, b, s->now, leg);
}

/* The centre of cell c as a drive's end. */
static inline city_loc sim__cell_loc(const sim_engine *s, int32_t c) {
  city_loc l;
  city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &l.lat, &l.lng);
  l.node = s->nodes ? s->cell_node[c] : -1;
  return l;
}

static inline int32_t sim__cell_of(const sim_engine *s, double lat, double lng) {
  return city_grid_point_index(&s->grid, lat, lng);
}

/* Whether drivers in a state are in the idle index (matchable). */
static inline int sim__indexed(const sim_engine *s, int32_t st) {
  return st == DISP_IDLE || (st == DISP_REPOSITION && s->repo.dispatchable);
}

/* Remembers that driver d entered the idle index (or moved in it). */
static inline void sim__note_fresh(sim_engine *s, int32_t d) {
  if (rs_vec_grow(s->fresh, s->cap_fresh, (size_t)s->n_fresh + 1)) {
    s->oom = 1;
    return;
  }
  s->fresh[s->n_fresh++] = d;
}

/* Moves driver d into a new state, closing the spell of the old one. */
static inline void sim__set_state(sim_engine *s, int32_t d, int32_t st) {
  disp_driver *dv = &s->drivers[d];
  sim_dstate *ds = &s->dstate[d];
  ds->time_s[dv->state] += sim__horizon_part(s, ds->since, s->now);
  ds->since = s->now;
  if (sim__indexed(s, dv->state)) disp_index_remove(s->idx, d);
  s->n_state[dv->state]--;
  s->n_state[st]++;
  dv->state = st;
  ds->epoch++;
  if (sim__indexed(s, st)) {
    s->oom |= disp_index_add(s->idx, d, dv->cell, dv->u) != 0;
    sim__note_fresh(s, d);
  }
  if (st == DISP_IDLE) {
    dv->idle_since = s->now;
    if (s->idle_walk || s->mover.next != NULL)
      s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, SIM_EV_IDLE_MOVE, d,
                               ds->epoch) != 0;
  }
}

/* Puts driver d at a point, in cell `cell` (-1: found from the point) and
 * at node `node` (-1: snapped, when the travel model has nodes). */
static inline void sim__place(sim_engine *s, int32_t d, double lat, double lng, int32_t cell,
                              int32_t node) {
  disp_driver *dv = &s->drivers[d];
  dv->lat = lat;
  dv->lng = lng;
  rs_unit_vector(lat, lng, dv->u);
  dv->cell = cell >= 0 ? cell : sim__cell_of(s, lat, lng);
  dv->node = !s->nodes ? -1 : node >= 0 ? node : city_travel_snap(s->tm, lat, lng);
}

/* The same at a point whose unit vector (rs_unit_vector), cell and node
 * are known. */
static inline void sim__place_at(sim_engine *s, int32_t d, double lat, double lng, int32_t cell,
                                 const double u[3], int32_t node) {
  disp_driver *dv = &s->drivers[d];
  dv->lat = lat;
  dv->lng = lng;
  dv->u[0] = u[0];
  dv->u[1] = u[1];
  dv->u[2] = u[2];
  dv->cell = cell >= 0 ? cell : sim__cell_of(s, lat, lng);
  dv->node = node;
}

/* The node where driver d's current move ends (-1 without nodes): the
 * order's pickup or dropoff, or the repositioning cell's centre. */
static inline int32_t sim__move_end_node(const sim_engine *s, int32_t d) {
  if (!s->nodes) return -1;
  const sim_dstate *ds = &s->dstate[d];
  switch (s->drivers[d].state) {
  case DISP_PICKUP: return s->orders[ds->order].pnode;
  case DISP_OCCUPIED: return s->orders[ds->order].dnode;
  case DISP_REPOSITION: return s->cell_node[ds->tcell];
  default: return -1;
  }
}

/* Where driver d is along its current move at time now (the travel
 * model's answer), and the road metres driven since the move began. The
 * driver's record still holds the move's start. */
static inline void sim__position_now(const sim_engine *s, int32_t d, city_loc *at,
                                     double *driven_m) {
  const sim_dstate *ds = &s->dstate[d];
  city_loc a = {ds->flat, ds->flng, s->drivers[d].node};
  city_loc b = {ds->tlat, ds->tlng, sim__move_end_node(s, d)};
  city_travel_position(s->tm, &a, &b, ds->t_depart, ds->t_arrive, s->now, at, driven_m);
}

/* Queues an event; RS_ENOMEM with a message in e. */
static inline int sim__push(sim_engine *s, int64_t t, int32_t type, int32_t who, uint32_t epoch,
                            rs_err *e) {
  if (sim_queue_push(&s->q, t, type, who, epoch) != 0)
    return rs_err_set(e, RS_ENOMEM, "event queue: out of memory");
  return 0;
}

/* Copies the drivers' accounts out of their private state (engine.c). */
void sim__sync_drec(const sim_engine *s);
/* Feeds orders [i0, i1) (positions) to a KPI tally, in index order
 * (kpi.c). */
void sim__tally_orders(sim_tally *t, const sim_engine *s, size_t i0, size_t i1);

#endif

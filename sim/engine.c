/*
 * engine: the event loop of one run, its state machines and its accounting;
 * see engine.h for the rules.
 *
 * Layout. Orders live in parallel arrays indexed by order index: the
 * policies' read-only view (disp_order), the engine's record (sim_order_rec)
 * and the engine's per-order extras (trip distance, dropoff unit vector,
 * cancel uniform, waiting-list node); drivers likewise: disp_driver and the
 * private per-driver state in `dstate`, which holds the driver's accounts
 * (copied out to sim_driver_rec on demand) and a copy of the current trip.
 * The large arrays come from rs_mem (huge pages). Waiting orders are kept
 * in request order twice: in `waiting` (compacted when dead entries
 * outnumber live ones) and in per-cell lists
 * (`wnode`, unlinked when an order stops waiting). Idle drivers are in the
 * cell index (dispatch/candidates.h) exactly while their state is IDLE (or
 * repositioning, when repositioning drivers are dispatchable).
 *
 * Stale events. A driver's `epoch` grows at each change of state; events
 * about a driver's plan (arrival, dropoff, idle move, repositioning arrival)
 * carry the epoch they were scheduled under and are dropped when it moved
 * on. Order events check the order's status instead; shift events check the
 * driver's state.
 *
 * Costs. An event is O(1) for the queue (sim/queue.h) plus its handler;
 * the queued events of one second are handled as a batch whose records are
 * prefetched together (fill_batch), and a request prefetches the searches
 * of the next few requests. A dispatch tick of a batch policy costs the
 * candidate search over its rows (the waiting orders not known to be
 * out of reach) and the policy; a tick of an immediate policy costs the
 * orders near the drivers that came free since the last tick
 * (immediate_tick). Nothing is allocated per event; tick buffers grow to
 * the largest tick and are reused.
 */
#include "sim/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "dispatch/candidates.h"
#include "dispatch/rings.h"
#include "base/pcg32.h"
#include "sim/queue.h"
#include "base/rs_mem.h"

#define DECIDE_CHUNK 64 /* rows per decision when a tick is decided in chunks */
#define SIM_BATCH 32    /* queued events of one second taken out together */
#define REQ_AHEAD 8     /* requests ahead whose search is prefetched */

enum {
  EV_EXPIRE = 1,   /* who = order */
  EV_CANCEL,       /* who = order */
  EV_ARRIVE,       /* who = driver: reaches the pickup */
  EV_DROPOFF,      /* who = driver */
  EV_IDLE_MOVE,    /* who = driver */
  EV_REPO_ARRIVE,  /* who = driver */
  EV_ONLINE,       /* who = driver */
  EV_OFFLINE,      /* who = driver */
  EV_TICK,         /* dispatch tick */
  EV_REPO_TICK,    /* repositioning round */
};

/* An order in its pickup cell's waiting list, with the pickup beside the
 * links: a tick's order streams read both together. */
typedef struct {
  double pu[3];        /* the order's pickup as a unit vector */
  int32_t next, prev;  /* neighbours in the cell's list, -1 at the ends */
} sim_wait_node;

/* A driver's private state and accounts, three cache lines laid out by
 * use: the first holds what every event about the driver reads, the second
 * its accounts (every change of state writes them; with the first it is all
 * a dropoff needs), the third the move and the trip an arrival reads (with
 * the dropoff's unit vector, from the order's `du`). The accounts are
 * copied out to `drec` (sim_driver_rec) on demand (sync_drec); spell times
 * are whole seconds, which an int32_t holds for any horizon the engine
 * accepts. */
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
  city_grid grid;
  int64_t from, to, now;    /* horizon and clock */
  int64_t events;           /* events handled */
  int done;                 /* closed */
  int check;                /* check invariants every tick */
  int oom;                  /* an event or an index entry found no memory */
  int idle_walk;            /* the scenario's idle model is random-walk */
  sim_event batch[SIM_BATCH]; /* queued events of the current second */
  int32_t batch_n, batch_at;  /* ... taken out, and handled */

  city_trip *trips;         /* the source trips (owned) */
  disp_order *orders;       /* policies' view */
  sim_order_rec *orec;
  double *cancel_u;         /* per-order uniform for the cancel decision */
  double *trip_m;           /* per order: road metres pickup to dropoff */
  double (*du)[3];          /* per order: dropoff as a unit vector */
  size_t n_orders;
  size_t cursor;            /* next order to arrive */
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

  int32_t *waiting;         /* waiting orders in request order (lazy) */
  int32_t *rows;            /* the waiting orders a tick reconsiders */
  int32_t n_waiting, cap_waiting;
  /* Skipping orders that cannot have gained a candidate (policies that are
   * `maximal`): an order left unmatched with fewer than top_k candidates
   * had every idle driver within the radius taken, so it is `exhausted`
   * until a driver becomes idle (or moves) within reach of its cell. */
  uint8_t *exhausted;       /* per order */
  /* the waiting lists' ends are kept per padded cell (dispatch/rings.h),
   * so that a walk over a driver's rings reads them with no bounds checks */
  disp_rings walk;          /* out to max_ring */
  int32_t *cell_head;       /* per padded cell: its oldest waiting order, -1 */
  int32_t *cell_tail;       /* per padded cell: its newest waiting order, -1 */
  sim_wait_node *wnode;     /* per order: its cell list links and pickup */
  uint8_t *live;            /* per order: 1 while waiting (a dense copy of
                               the status for the tick's order streams) */
  int32_t st_width;         /* per-slot room: the cells of a k-ring */
  int32_t *st_pos;          /* per slot x st_width: its stream's list positions */
  int32_t *st_n;            /* per slot: positions in its stream */
  int32_t *st_head;         /* per slot: its next order, -1 */
  int32_t *st_heap;         /* slots by st_head */
  int32_t st_cap;           /* slots allocated */
  double (*cell_u)[3];      /* per cell: its centre as a unit vector */
  double reach2;            /* squared unit chord of the radius (widened) */
  double cell_reach2;       /* ... of the radius plus a cell's circumradius */
  int64_t n_wait_live;      /* requested orders still waiting */
  int64_t n_open;           /* ... of which not exhausted */
  int32_t decision_k;       /* candidates per row of the current decision */
  uint32_t *cell_stamp;     /* per cell: the last tick a fresh driver reached */
  uint32_t tick_id;
  int32_t *fresh;           /* drivers added to the idle index since the tick */
  int32_t n_fresh, cap_fresh;
  int32_t *fresh_idle;      /* the tick's distinct fresh drivers still idle */
  int32_t n_fresh_idle;
  uint32_t *drv_stamp;      /* per driver: the tick it was last listed fresh */
  uint8_t *row_fresh;       /* per row: candidates from fresh_idle alone */
  int32_t *ring;            /* k-ring scratch: cells within max_ring */
  int32_t max_ring;
  int32_t one_row[1];       /* the row of an immediate decision */
  disp_assign *assign;      /* tick output buffer */
  disp_tick tick;           /* the current dispatch decision */
  disp_repo repo;           /* the current repositioning round */
  int pending;              /* SIM_PENDING_*: a policy answers later */
  int32_t cap_assign;
  int32_t *eligible;        /* repositioning round buffers */
  int repo_dispatchable;    /* repositioning drivers stay matchable */
  int32_t *dest;

  disp_observer observer;   /* told of every tick's matches (may be unset) */
  sim_idle_mover mover;     /* idle movement model (may be unset) */
  sim_cancel_model cancel;  /* per-order cancellation model (may be unset) */
  disp_assign *rep_pairs;   /* matches since the last report */
  double *rep_eta;
  int32_t n_rep, cap_rep;
  int64_t *repo_hold;       /* per driver: not eligible to reposition before */

  sim_window *win;          /* kpi_series */
  size_t n_win;
};

/* ---------------------------------------------------------------- helpers */

static sim_window *window_at(sim_engine *s, int64_t t) {
  int64_t i = (t - s->from) / SIM_SERIES_WINDOW_S;
  if (i < 0) i = 0;
  if ((size_t)i >= s->n_win) i = (int64_t)s->n_win - 1;
  return &s->win[i];
}

/* The drive from a to b leaving now. */
static void drive(const sim_engine *s, const city_loc *a, const city_loc *b, city_leg *leg) {
  city_travel_leg(s->tm, a, b, s->now, leg);
}

/* The centre of cell c as a drive's end. */
static city_loc cell_loc(const sim_engine *s, int32_t c) {
  city_loc l;
  city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &l.lat, &l.lng);
  l.node = s->nodes ? s->cell_node[c] : -1;
  return l;
}


static int32_t cell_of(const sim_engine *s, double lat, double lng) {
  return city_grid_point_index(&s->grid, lat, lng);
}

static void note_fresh(sim_engine *s, int32_t d);
static void leave_waiting(sim_engine *s, int32_t o);

/* Whether drivers in a state are in the idle index (matchable). */
static int indexed(const sim_engine *s, int32_t st) {
  return st == DISP_IDLE || (st == DISP_REPOSITION && s->repo_dispatchable);
}

/* Moves driver d into a new state, closing the spell of the old one. */
static void set_state(sim_engine *s, int32_t d, int32_t st) {
  disp_driver *dv = &s->drivers[d];
  sim_dstate *ds = &s->dstate[d];
  ds->time_s[dv->state] += (int32_t)(s->now - ds->since);
  ds->since = s->now;
  if (indexed(s, dv->state)) disp_index_remove(s->idx, d);
  s->n_state[dv->state]--;
  s->n_state[st]++;
  dv->state = st;
  ds->epoch++;
  if (indexed(s, st)) {
    s->oom |= disp_index_add(s->idx, d, dv->cell, dv->u) != 0;
    note_fresh(s, d);
  }
  if (st == DISP_IDLE) {
    dv->idle_since = s->now;
    if (s->idle_walk || s->mover.next != NULL)
      s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, EV_IDLE_MOVE, d,
                               ds->epoch) != 0;
  }
}

/* Puts driver d at a point, in cell `cell` (-1: found from the point) and
 * at node `node` (-1: snapped, when the travel model has nodes). */
static void place(sim_engine *s, int32_t d, double lat, double lng, int32_t cell, int32_t node) {
  disp_driver *dv = &s->drivers[d];
  dv->lat = lat;
  dv->lng = lng;
  rs_unit_vector(lat, lng, dv->u);
  dv->cell = cell >= 0 ? cell : cell_of(s, lat, lng);
  dv->node = !s->nodes ? -1 : node >= 0 ? node : city_travel_snap(s->tm, lat, lng);
}

/* The same at a point whose unit vector (rs_unit_vector), cell and node
 * are known. */
static void place_at(sim_engine *s, int32_t d, double lat, double lng, int32_t cell,
                     const double u[3], int32_t node) {
  disp_driver *dv = &s->drivers[d];
  dv->lat = lat;
  dv->lng = lng;
  dv->u[0] = u[0];
  dv->u[1] = u[1];
  dv->u[2] = u[2];
  dv->cell = cell >= 0 ? cell : cell_of(s, lat, lng);
  dv->node = node;
}

/* Copies the drivers' accounts out of their private state. */
static void sync_drec(const sim_engine *s) {
  for (int32_t d = 0; d < s->n_drivers; d++) {
    const sim_dstate *ds = &s->dstate[d];
    sim_driver_rec *r = &s->drec[d];
    r->income = ds->income;
    for (int k = 0; k < DISP_N_STATES; k++) r->time_s[k] = ds->time_s[k];
    r->trips = ds->trips;
    r->empty_m = ds->empty_m;
    r->occupied_m = ds->occupied_m;
  }
}

/* Remembers that driver d entered the idle index (or moved in it). */
static void note_fresh(sim_engine *s, int32_t d) {
  if (s->n_fresh == s->cap_fresh) {
    int32_t c = s->cap_fresh ? s->cap_fresh * 2 : 1024;
    int32_t *a = realloc(s->fresh, (size_t)c * sizeof *a);
    if (a == NULL) {
      s->oom = 1;
      return;
    }
    s->fresh = a;
    s->cap_fresh = c;
  }
  s->fresh[s->n_fresh++] = d;
}

/* The node where driver d's current move ends (-1 without nodes): the
 * order's pickup or dropoff, or the repositioning cell's centre. */
static int32_t move_end_node(const sim_engine *s, int32_t d) {
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
static void position_now(const sim_engine *s, int32_t d, city_loc *at, double *driven_m) {
  const sim_dstate *ds = &s->dstate[d];
  city_loc a = {ds->flat, ds->flng, s->drivers[d].node};
  city_loc b = {ds->tlat, ds->tlng, move_end_node(s, d)};
  city_travel_position(s->tm, &a, &b, ds->t_depart, ds->t_arrive, s->now, at, driven_m);
}

static int push(sim_engine *s, int64_t t, int32_t type, int32_t who, uint32_t epoch,
                rs_err *e) {
  if (sim_queue_push(&s->q, t, type, who, epoch) != 0)
    return rs_err_set(e, RS_ENOMEM, "event queue: out of memory");
  return 0;
}

/* ------------------------------------------------------------- decisions */

/* Matches order o to idle driver d now. Returns 0, or 1 when the pair is no
 * longer possible (taken or not idle) and was ignored. */
static int match(sim_engine *s, int32_t o, int32_t d, rs_err *e) {
  if (o < 0 || (size_t)o >= s->cursor || d < 0 || d >= s->n_drivers) return 1;
  sim_order_rec *r = &s->orec[o];
  disp_driver *dv = &s->drivers[d];
  if (r->status != SIM_ORDER_WAITING || !disp_index_contains(s->idx, d)) return 1;
  if (dv->state == DISP_REPOSITION) {
    /* matched on the way: it turns from where it has got to */
    city_loc at;
    double driven;
    position_now(s, d, &at, &driven);
    s->dstate[d].empty_m += driven;
    place(s, d, at.lat, at.lng, -1, at.node);
  }
  const disp_order *od = &s->orders[o];
  /* the distance and the drive the candidate graph gave (the same chord
   * and the same call: the same bits) */
  double dist = rs_chord2_m(rs_chord2(dv->u, od->pu), s->city->earth_radius_m);
  const city_loc from = disp_driver_loc(dv), to = disp_order_pickup(od);
  city_leg leg;
  city_travel_pickup(s->tm, &from, &to, dist, s->now, &leg);
  double eta = leg.secs;
  leave_waiting(s, o);
  r->status = SIM_ORDER_MATCHED;
  r->driver = d;
  r->t_match = s->now;
  r->pickup_m = dist;
  r->eta_s = eta;
  sim_window *w = window_at(s, s->now);
  w->matched++;
  w->wait_sum_s += (double)(s->now - od->t_request);
  w->pickup_m_sum += dist;

  set_state(s, d, DISP_PICKUP);
  sim_dstate *ds = &s->dstate[d];
  ds->order = o;
  ds->flat = dv->lat;
  ds->flng = dv->lng;
  ds->tlat = od->plat;
  ds->tlng = od->plng;
  ds->tcell = od->pcell;
  memcpy(ds->tu, od->pu, sizeof ds->tu);
  ds->t_depart = s->now;
  ds->t_arrive = s->now + (int64_t)ceil(eta);
  ds->move_m = leg.metres;
  ds->dlat = od->dlat;
  ds->dlng = od->dlng;
  ds->dcell = od->dcell;
  ds->duration_s = od->duration_s;
  ds->fare = od->fare;
  ds->trip_m = s->trip_m[o];
  if (s->observer.observe != NULL) {
    if (s->n_rep == s->cap_rep) {
      int32_t c = s->cap_rep ? s->cap_rep * 2 : 256;
      disp_assign *a = realloc(s->rep_pairs, (size_t)c * sizeof *a);
      if (a == NULL) return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
      s->rep_pairs = a;
      double *t = realloc(s->rep_eta, (size_t)c * sizeof *t);
      if (t == NULL) return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
      s->rep_eta = t;
      s->cap_rep = c;
    }
    s->rep_pairs[s->n_rep].order = o;
    s->rep_pairs[s->n_rep].driver = d;
    s->rep_eta[s->n_rep++] = eta;
  }
  double p = s->cancel.p != NULL ? s->cancel.p(s->cancel.ctx, od, dist) : -1.0;
  if (p < 0) p = sim_scenario_cancel_p(&s->sc, dist);
  if (s->cancel_u[o] < p) {
    int64_t delay = s->sc.cancel_delay_s;
    if (delay > ds->t_arrive - s->now) delay = ds->t_arrive - s->now;
    return push(s, s->now + delay, EV_CANCEL, o, ds->epoch, e);
  }
  return push(s, ds->t_arrive, EV_ARRIVE, d, ds->epoch, e);
}

static int grow_assign(sim_engine *s, int32_t n, rs_err *e) {
  if (n <= s->cap_assign) return 0;
  int32_t c = s->cap_assign ? s->cap_assign : 256;
  while (c < n) c *= 2;
  disp_assign *a = realloc(s->assign, (size_t)c * sizeof *a);
  if (a == NULL) return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
  s->assign = a;
  s->cap_assign = c;
  return 0;
}

/* Marks rows whose every candidate is taken (see `exhausted`). */
static void mark_exhausted(sim_engine *s, const int32_t *rows, int32_t n_rows,
                           const int32_t *row_ptr, const uint8_t *capped) {
  if (!s->dp->maximal) return;
  for (int32_t i = 0; i < n_rows; i++) {
    int32_t o = rows[i];
    uint8_t v = row_ptr == NULL || (row_ptr[i + 1] - row_ptr[i] < s->decision_k &&
                                    !(capped != NULL && capped[i]));
    if (s->orec[o].status == SIM_ORDER_WAITING) s->n_open += (int64_t)s->exhausted[o] - v;
    s->exhausted[o] = v;
  }
}

/* Order o leaves the waiting state (matched or expired). */
static void leave_waiting(sim_engine *s, int32_t o) {
  s->n_wait_live--;
  s->live[o] = 0;
  if (!s->exhausted[o]) s->n_open--;
  int32_t c = s->orders[o].pcell;
  if (c < 0) return;
  c = s->walk.padded[c];
  sim_wait_node *w = &s->wnode[o];
  if (w->prev >= 0) s->wnode[w->prev].next = w->next;
  else s->cell_head[c] = w->next;
  if (w->next >= 0) s->wnode[w->next].prev = w->prev;
  else s->cell_tail[c] = w->prev;
}

/* Applies the pairs the policy wrote into s->tick. */
static int apply_tick(sim_engine *s, rs_err *e) {
  disp_tick *t = &s->tick;
  if (t->n_out > t->n_rows) t->n_out = t->n_rows;
  if (t->n_out < 0) t->n_out = 0;
  for (int32_t i = 0; i < t->n_out; i++) {
    int rc = match(s, t->out[i].order, t->out[i].driver, e);
    if (rc < 0) return rc;
  }
  mark_exhausted(s, t->row_order, t->n_rows, t->row_ptr, t->row_capped);
  return 0;
}

/* One dispatch decision over `rows` waiting orders; rows with fresh set
 * (NULL: none) search only the tick's fresh idle drivers. Returns
 * DISP_PENDING when the policy answers later (allowed only when
 * allow_pending: at ticks, not for immediate decisions). */
static int decide(sim_engine *s, const int32_t *rows, int32_t n_rows, const uint8_t *fresh,
                  int allow_pending, rs_err *e) {
  if (n_rows == 0) return 0;
  /* A one-order decision needs only the candidates the policy looks at. */
  s->decision_k = s->sc.top_k;
  if (n_rows == 1 && s->dp->one_row_k > 0 && s->dp->one_row_k < s->decision_k)
    s->decision_k = s->dp->one_row_k;
  if (disp_index_size(s->idx) == 0) {
    mark_exhausted(s, rows, n_rows, NULL, NULL);
    return 0;
  }
  int rc = grow_assign(s, n_rows, e);
  if (rc) return rc;
  disp_tick *tick = &s->tick;
  memset(tick, 0, sizeof *tick);
  tick->now = s->now;
  tick->city = s->city;
  tick->travel = s->tm;
  tick->grid = &s->grid;
  tick->orders = s->orders;
  tick->drivers = s->drivers;
  tick->n_drivers = s->n_drivers;
  tick->rng = &s->rng_policy;
  tick->out = s->assign;
  rc = disp_index_candidates(s->idx, s->orders, s->drivers, rows, n_rows, fresh,
                             s->fresh_idle, s->n_fresh_idle, s->sc.radius_m, s->decision_k,
                             s->dp->driver_top_k, s->now, tick, e);
  if (rc) return rc;
  if (tick->row_ptr[n_rows] == 0) {
    mark_exhausted(s, rows, n_rows, tick->row_ptr, tick->row_capped);
    return 0;
  }
#if defined(__GNUC__)
  if (n_rows == 1) {
    /* a one-order decision usually takes its nearest candidate: the
     * records match() reads and writes, asked for while the policy runs */
    int32_t d = tick->edge_driver[0];
    __builtin_prefetch(&s->drivers[d]);
    for (int line = 0; line < 3; line++)
      __builtin_prefetch((const char *)&s->dstate[d] + 64 * line, 1);
  }
#endif
  rc = s->dp->dispatch(s->dp->ctx, tick, e);
  if (rc == DISP_PENDING) {
    if (!allow_pending)
      return rs_err_set(e, RS_EINVAL, "dispatch policy '%s' answered later to an immediate "
                                      "decision", s->dp->name);
    s->pending = SIM_PENDING_DISPATCH;
    return DISP_PENDING;
  }
  if (rc) return rc;
  return apply_tick(s, e);
}

/* The rest of a dispatch tick, once its decision is applied. */
static int finish_tick(sim_engine *s, rs_err *e) {
  int rc = 0;
  sim_window *w = window_at(s, s->now);
  w->ticks++;
  w->idle_samples += disp_index_size(s->idx);
  w->busy_samples += s->n_state[DISP_PICKUP] + s->n_state[DISP_OCCUPIED];
  if (s->observer.observe != NULL) {
    disp_report rep = {s->now, s->sc.tick_s, s->orders, s->drivers, s->n_drivers,
                       s->rep_pairs, s->rep_eta, s->n_rep};
    s->observer.observe(s->observer.ctx, &rep);
    s->n_rep = 0;
  }
  if (s->now + s->sc.tick_s < s->to)
    rc = push(s, s->now + s->sc.tick_s, EV_TICK, -1, 0, e);
  if (rc == 0 && s->check) rc = sim_engine_check(s, e);
  return rc;
}

/* Lists the tick's fresh drivers still idle (each once) in fresh_idle and,
 * when stamp_cells, stamps the cells within reach of each: exhausted orders
 * there get another look. */
static void collect_fresh(sim_engine *s, int stamp_cells) {
  if (++s->tick_id == 0) {
    memset(s->cell_stamp, 0, (size_t)s->grid.n_cells * sizeof *s->cell_stamp);
    memset(s->drv_stamp, 0, (size_t)s->n_drivers * sizeof *s->drv_stamp);
    s->tick_id = 1;
  }
  s->n_fresh_idle = 0;
  for (int32_t i = 0; i < s->n_fresh; i++) {
    int32_t d = s->fresh[i];
    if (!disp_index_contains(s->idx, d) || s->drv_stamp[d] == s->tick_id) continue;
    s->drv_stamp[d] = s->tick_id;
    s->fresh_idle[s->n_fresh_idle++] = d;
#if defined(__GNUC__)
    /* a fresh driver is likely matched this tick */
    __builtin_prefetch(&s->dstate[d]);
    __builtin_prefetch((const char *)&s->dstate[d] + 64);
#endif
    if (!stamp_cells) continue;
    int32_t nc = disp_index_ring_cells(s->idx, s->sc.radius_m, s->drivers[d].cell, s->ring);
    for (int32_t k = 0; k < nc; k++) s->cell_stamp[s->ring[k]] = s->tick_id;
    s->oom |= nc < 0;
  }
  s->n_fresh = 0;
}

static int any_fresh_left(const sim_engine *s) {
  for (int32_t f = 0; f < s->n_fresh_idle; f++)
    if (disp_index_contains(s->idx, s->fresh_idle[f])) return 1;
  return 0;
}

/* Decides rows s->rows[0, n_rows) of an immediate policy in chunks, the
 * drivers one chunk takes gone before the next, which gives the same pairs
 * as one decision over every row. Rows marked fresh are skipped once no
 * fresh driver is left. */
static int decide_chunks(sim_engine *s, int32_t n_rows, rs_err *e) {
  int fresh_left = 1;
  for (int32_t at = 0; at < n_rows;) {
    if (fresh_left && !any_fresh_left(s)) {
      /* the fresh rows still ahead can take nobody: drop them */
      fresh_left = 0;
      int32_t k = at;
      for (int32_t i = at; i < n_rows; i++) {
        if (s->row_fresh[i]) continue;
        s->rows[k] = s->rows[i];
        s->row_fresh[k++] = 0;
      }
      n_rows = k;
      if (at == n_rows) break;
    }
    int32_t m = n_rows - at < DECIDE_CHUNK ? n_rows - at : DECIDE_CHUNK;
    int rc = decide(s, s->rows + at, m, s->row_fresh + at, 0, e);
    if (rc) return rc;
    at += m;
  }
  return 0;
}

/* Restores min-heap order of h[0, n) below i, keyed by the values
 * themselves (order indices, i.e. request order). */
static void pos_sift(int32_t *h, int32_t n, int32_t i) {
  int32_t v = h[i];
  for (;;) {
    int32_t k = 2 * i + 1;
    if (k >= n) break;
    if (k + 1 < n && h[k + 1] < h[k]) k++;
    if (h[k] >= v) break;
    h[i] = h[k];
    i = k;
  }
  h[i] = v;
}

/* Restores the order of the slot heap st_heap[0, n) (by st_head, then slot)
 * below i. */
static void slot_sift(sim_engine *s, int32_t n, int32_t i) {
  int32_t *h = s->st_heap;
  const int32_t *key = s->st_head;
  int32_t v = h[i];
  for (;;) {
    int32_t k = 2 * i + 1;
    if (k >= n) break;
    if (k + 1 < n && (key[h[k + 1]] < key[h[k]] || (key[h[k + 1]] == key[h[k]] && h[k + 1] < h[k])))
      k++;
    if (key[h[k]] > key[v] || (key[h[k]] == key[v] && h[k] > v)) break;
    h[i] = h[k];
    i = k;
  }
  h[i] = v;
}

/* Moves slot f's stream to its next waiting order within the radius of the
 * slot's driver (st_head, -1 when none is left). The stream merges the
 * sorted waiting lists of the cells near the driver: each heap entry is a
 * position in one list, stepped past before the order there is decided
 * (deciding unlinks an order, never the successor it points to; an order
 * unlinked under a position is skipped by its status). */
static void stream_next(sim_engine *s, int32_t f) {
  int32_t *h = s->st_pos + (size_t)f * (size_t)s->st_width;
  int32_t n = s->st_n[f];
  const double *u = s->drivers[s->fresh_idle[f]].u;
  int32_t head = -1;
  while (n > 0 && head < 0) {
    int32_t o = h[0];
    const sim_wait_node *w = &s->wnode[o];
    if (w->next >= 0) h[0] = w->next;
    else h[0] = h[--n];
    if (n > 1) pos_sift(h, n, 0);
    if (s->live[o] && rs_chord2(u, w->pu) <= s->reach2) head = o;
  }
#if defined(__GNUC__)
  /* a head is likely matched this tick: what match() reads of it */
  if (head >= 0) {
    __builtin_prefetch(&s->orders[head]);
    __builtin_prefetch((const char *)&s->orders[head] + 64);
    __builtin_prefetch(&s->orec[head]);
    __builtin_prefetch(&s->du[head]);
    __builtin_prefetch(&s->trip_m[head]);
    __builtin_prefetch(&s->cancel_u[head]);
  }
#endif
  s->st_n[f] = n;
  s->st_head[f] = head;
}

static int grow_streams(sim_engine *s, int32_t n, rs_err *e) {
  if (n <= s->st_cap) return 0;
  int32_t c = s->st_cap ? s->st_cap : 64;
  while (c < n) c *= 2;
  int32_t *pos = realloc(s->st_pos, (size_t)c * (size_t)s->st_width * sizeof *pos);
  if (pos == NULL) return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
  s->st_pos = pos;
  int32_t **arr[3] = {&s->st_n, &s->st_head, &s->st_heap};
  for (int i = 0; i < 3; i++) {
    int32_t *a = realloc(*arr[i], (size_t)c * sizeof *a);
    if (a == NULL) return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
    *arr[i] = a;
  }
  s->st_cap = c;
  return 0;
}

/* A tick of an immediate, maximal policy, which decides row by row in
 * request order. An exhausted order can only take a fresh driver, so only
 * the orders waiting in cells within reach of one are rows, searching the
 * fresh drivers alone; non-exhausted orders (n_open, rare: an immediate
 * policy leaves few) are rows throughout. With none of those, the rows come
 * from the per-cell waiting lists around the fresh drivers, so a tick costs
 * what changed, not the queue of waiting orders. */
static int immediate_tick(sim_engine *s, rs_err *e) {
  int32_t n_rows = 0;
  if (s->n_wait_live == 0) {
    /* nobody waits: the drivers that came free have nothing to take */
    s->n_fresh = 0;
  } else if (s->n_open == 0) {
    /* Every waiting order is exhausted: it can take only a fresh driver
     * within the radius. Each fresh driver gets a stream of the waiting
     * orders within its radius, oldest first (a slot); the oldest head
     * over all slots is the next row, decided alone, which gives the same
     * pairs as walking every waiting order in request order. A driver no
     * order can reach is dropped at once; a slot whose driver is taken is
     * dropped when it surfaces; the tick ends when no slot is left, having
     * looked at the orders near the fresh drivers and no others. */
    collect_fresh(s, 0);
    if (grow_streams(s, s->n_fresh_idle, e)) return RS_ENOMEM;
    int32_t n_slots = 0;
    for (int32_t i = 0; i < s->n_fresh_idle; i++) {
      int32_t d = s->fresh_idle[i], f = n_slots;
      const double *u = s->drivers[d].u;
      int32_t *h = s->st_pos + (size_t)f * (size_t)s->st_width, n = 0;
      const int32_t *step = disp_rings_steps(&s->walk, s->drivers[d].cell);
      int32_t pc0 = s->walk.padded[s->drivers[d].cell];
      for (int32_t k = 0; k < s->walk.n_steps; k++) {
        int32_t pc = pc0 + step[k], head = s->cell_head[pc];
        /* only cells that can hold a point within the radius */
        if (head >= 0 && rs_chord2(u, s->cell_u[s->walk.dense[pc]]) <= s->cell_reach2) {
#if defined(__GNUC__)
          __builtin_prefetch(&s->wnode[head]); /* stream_next reads it */
#endif
          h[n++] = head;
        }
      }
      for (int32_t k = n / 2 - 1; k >= 0; k--) pos_sift(h, n, k);
      s->fresh_idle[f] = d;
      s->st_n[f] = n;
      stream_next(s, f);
      if (s->st_head[f] >= 0) s->st_heap[n_slots++] = f;
    }
    s->n_fresh_idle = n_slots;
    int32_t n_heap = n_slots;
    for (int32_t k = n_heap / 2 - 1; k >= 0; k--) slot_sift(s, n_heap, k);
    while (n_heap > 0) {
      int32_t f = s->st_heap[0];
      if (!disp_index_contains(s->idx, s->fresh_idle[f])) {
        s->st_heap[0] = s->st_heap[--n_heap];
        if (n_heap > 1) slot_sift(s, n_heap, 0);
        continue;
      }
      int32_t o = s->st_head[f];
      s->rows[0] = o;
      s->row_fresh[0] = 1;
      int rc = decide(s, s->rows, 1, s->row_fresh, 0, e);
      if (rc) return rc;
      /* every slot headed by o moves on (o is decided) */
      while (n_heap > 0 && s->st_head[s->st_heap[0]] == o) {
        f = s->st_heap[0];
        if (disp_index_contains(s->idx, s->fresh_idle[f])) stream_next(s, f);
        else s->st_head[f] = -1;
        if (s->st_head[f] < 0) s->st_heap[0] = s->st_heap[--n_heap];
        if (n_heap > 1) slot_sift(s, n_heap, 0);
      }
    }
  } else {
    collect_fresh(s, 1);
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_waiting; i++) {
      int32_t o = s->waiting[i];
      if (!s->live[o]) continue;
      s->waiting[n++] = o;
      int32_t c = s->orders[o].pcell;
      if (!s->exhausted[o]) {
        s->row_fresh[n_rows] = 0;
        s->rows[n_rows++] = o;
      } else if (c >= 0 && s->cell_stamp[c] == s->tick_id) {
        s->row_fresh[n_rows] = 1;
        s->rows[n_rows++] = o;
      }
    }
    s->n_waiting = n;
  }
  int rc = n_rows > 0 ? decide_chunks(s, n_rows, e) : 0;
  if (rc) return rc;
  /* The waiting list (used when orders stay open) drops the entries of
   * orders matched or expired once they outnumber the live ones. */
  if (s->n_waiting > 2 * s->n_wait_live + 1024) {
    int32_t n = 0;
    for (int32_t j = 0; j < s->n_waiting; j++)
      if (s->live[s->waiting[j]]) s->waiting[n++] = s->waiting[j];
    s->n_waiting = n;
  }
  return finish_tick(s, e);
}

static int on_tick(sim_engine *s, rs_err *e) {
  if (s->dp->immediate && s->dp->maximal) return immediate_tick(s, e);
  collect_fresh(s, 1);
  /* Compact the waiting list (request order kept) and pick the rows. */
  int32_t n = 0, n_rows = 0;
  for (int32_t i = 0; i < s->n_waiting; i++) {
    int32_t o = s->waiting[i];
    if (!s->live[o]) continue;
    s->waiting[n++] = o;
    int32_t c = s->orders[o].pcell;
    if (!s->exhausted[o] || c < 0) {
      s->row_fresh[n_rows] = 0;
      s->rows[n_rows++] = o;
    } else if (s->cell_stamp[c] == s->tick_id) {
      s->row_fresh[n_rows] = 1;
      s->rows[n_rows++] = o;
    }
  }
  s->n_waiting = n;
  int rc = decide(s, s->rows, n_rows, s->row_fresh, 1, e);
  if (rc) return rc; /* an error, or DISP_PENDING */
  return finish_tick(s, e);
}

/* Moves the eligible drivers the policy sent somewhere (s->repo). */
static int apply_repo(sim_engine *s, rs_err *e) {
  disp_repo *r = &s->repo;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t d = s->eligible[i], c = s->dest[i];
    if (s->drivers[d].state != DISP_IDLE) continue;
    if (c < 0 || c >= s->grid.n_cells || c == s->drivers[d].cell) {
      /* told to stay: not asked again for another idle threshold */
      s->repo_hold[d] = s->now + s->sc.repo_idle_s;
      continue;
    }
    disp_driver *dv = &s->drivers[d];
    const city_loc from = disp_driver_loc(dv), to = cell_loc(s, c);
    city_leg leg;
    drive(s, &from, &to, &leg);
    set_state(s, d, DISP_REPOSITION);
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
    int rc = push(s, ds->t_arrive, EV_REPO_ARRIVE, d, ds->epoch, e);
    if (rc) return rc;
  }
  return 0;
}

static int finish_repo_tick(sim_engine *s, rs_err *e) {
  if (s->now + s->sc.repo_tick_s < s->to)
    return push(s, s->now + s->sc.repo_tick_s, EV_REPO_TICK, -1, 0, e);
  return 0;
}

static int on_repo_tick(sim_engine *s, rs_err *e) {
  if (s->rp->inert) return finish_repo_tick(s, e);
  int32_t n = 0;
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->drivers[d].state == DISP_IDLE &&
        s->now - s->drivers[d].idle_since >= s->sc.repo_idle_s && s->now >= s->repo_hold[d])
      s->eligible[n++] = d;
  disp_repo *r = &s->repo;
  memset(r, 0, sizeof *r);
  if (n > 0) {
    r->now = s->now;
    r->city = s->city;
    r->travel = s->tm;
    r->grid = &s->grid;
    r->drivers = s->drivers;
    r->n_eligible = n;
    r->eligible = s->eligible;
    r->rng = &s->rng_repo;
    r->dest_cell = s->dest;
    for (int32_t i = 0; i < n; i++) s->dest[i] = -1;
    int rc = s->rp->reposition(s->rp->ctx, r, e);
    if (rc == DISP_PENDING) {
      s->pending = SIM_PENDING_REPOSITION;
      return DISP_PENDING;
    }
    if (rc) return rc;
    if ((rc = apply_repo(s, e)) != 0) return rc;
  }
  return finish_repo_tick(s, e);
}

/* --------------------------------------------------------------- handlers */

static int on_request(sim_engine *s, int32_t o, rs_err *e) {
  sim_window *w = window_at(s, s->now);
  w->requests++;
  if (s->n_waiting == s->cap_waiting) {
    int32_t c = s->cap_waiting ? s->cap_waiting * 2 : 1024;
    int32_t *a = realloc(s->waiting, (size_t)c * sizeof *a);
    if (a == NULL) return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
    s->waiting = a;
    a = realloc(s->rows, (size_t)c * sizeof *a);
    if (a == NULL) return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
    s->rows = a;
    uint8_t *f = realloc(s->row_fresh, (size_t)c);
    if (f == NULL) return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
    s->row_fresh = f;
    s->cap_waiting = c;
  }
  s->waiting[s->n_waiting++] = o;
  s->n_wait_live++;
  s->live[o] = 1;
  s->n_open++; /* not exhausted until a decision says so */
  int32_t c = s->orders[o].pcell;
  if (c >= 0) { /* orders arrive in index order: each cell list stays sorted */
    c = s->walk.padded[c];
    sim_wait_node *wn = &s->wnode[o];
    memcpy(wn->pu, s->orders[o].pu, sizeof wn->pu);
    wn->next = -1;
    wn->prev = s->cell_tail[c];
    if (s->cell_tail[c] >= 0) s->wnode[s->cell_tail[c]].next = o;
    else s->cell_head[c] = o;
    s->cell_tail[c] = o;
  }
  int64_t expire;
  if (s->sc.patience_s > 0) {
    expire = s->now + s->sc.patience_s;
  } else {
    /* Lost unless matched at the first tick at or after its request. */
    int64_t k = (s->now - s->from + s->sc.tick_s - 1) / s->sc.tick_s;
    expire = s->from + k * s->sc.tick_s;
  }
  int rc = push(s, expire, EV_EXPIRE, o, 0, e);
  if (rc == 0 && s->dp->immediate) {
    s->one_row[0] = o;
    rc = decide(s, s->one_row, 1, NULL, 0, e);
  }
  return rc;
}

static void on_expire(sim_engine *s, int32_t o) {
  if (!s->live[o]) return; /* matched (live: waiting, see leave_waiting) */
  sim_order_rec *r = &s->orec[o];
  leave_waiting(s, o);
  r->status = SIM_ORDER_EXPIRED;
  r->t_final = s->now;
  window_at(s, s->now)->expired++;
}

static void on_cancel(sim_engine *s, int32_t o, uint32_t epoch) {
  sim_order_rec *r = &s->orec[o];
  if (r->status != SIM_ORDER_MATCHED) return;
  int32_t d = r->driver;
  if (s->dstate[d].epoch != epoch) return;
  city_loc at;
  double driven;
  position_now(s, d, &at, &driven);
  s->dstate[d].empty_m += driven;
  place(s, d, at.lat, at.lng, -1, at.node);
  r->status = SIM_ORDER_CANCELLED;
  r->t_final = s->now;
  s->dstate[d].order = -1;
  window_at(s, s->now)->cancelled++;
  if (s->dstate[d].offline_after) {
    s->dstate[d].offline_after = 0;
    set_state(s, d, DISP_OFFLINE);
  } else {
    set_state(s, d, DISP_IDLE);
  }
}

static int on_arrive(sim_engine *s, int32_t d, rs_err *e) {
  sim_dstate *ds = &s->dstate[d];
  sim_order_rec *r = &s->orec[ds->order];
  s->dstate[d].empty_m += ds->move_m;
  place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, move_end_node(s, d));
  r->status = SIM_ORDER_ONBOARD;
  r->t_pickup = s->now;
  set_state(s, d, DISP_OCCUPIED);
  ds->flat = ds->tlat;
  ds->flng = ds->tlng;
  ds->tlat = ds->dlat;
  ds->tlng = ds->dlng;
  ds->tcell = ds->dcell;
  memcpy(ds->tu, s->du[ds->order], sizeof ds->tu);
  ds->t_depart = s->now;
  ds->t_arrive = s->now + ds->duration_s;
  return push(s, ds->t_arrive, EV_DROPOFF, d, ds->epoch, e);
}

static void on_dropoff(sim_engine *s, int32_t d) {
  sim_dstate *ds = &s->dstate[d];
  sim_order_rec *r = &s->orec[ds->order];
  s->dstate[d].occupied_m += ds->trip_m;
  place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, move_end_node(s, d));
  r->status = SIM_ORDER_COMPLETED;
  r->t_dropoff = s->now;
  r->t_final = s->now;
  s->dstate[d].income += ds->fare;
  s->dstate[d].trips++;
  sim_window *w = window_at(s, s->now);
  w->completed++;
  w->income += ds->fare;
  ds->order = -1;
  if (ds->offline_after) {
    ds->offline_after = 0;
    set_state(s, d, DISP_OFFLINE);
  } else {
    set_state(s, d, DISP_IDLE);
  }
}

/* An idle step under the caller's idle model: land where it says. */
static void idle_move_model(sim_engine *s, int32_t d) {
  disp_driver *dv = &s->drivers[d];
  double lat, lng;
  double u = pcg32_double(&s->rng_idle);
  if (s->mover.next(s->mover.ctx, s->now, d, dv->lat, dv->lng, u, &lat, &lng) == 0) {
    int32_t c = cell_of(s, lat, lng);
    if (c >= 0 && (lat != dv->lat || lng != dv->lng)) {
      const city_loc from = disp_driver_loc(dv);
      city_loc to = {lat, lng, s->nodes ? city_travel_snap(s->tm, lat, lng) : -1};
      city_leg leg;
      drive(s, &from, &to, &leg);
      s->dstate[d].empty_m += leg.metres;
      disp_index_remove(s->idx, d);
      place(s, d, lat, lng, c, to.node);
      s->oom |= disp_index_add(s->idx, d, c, dv->u) != 0;
      note_fresh(s, d);
    }
  }
  s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, EV_IDLE_MOVE, d,
                           s->dstate[d].epoch) != 0;
}

static void on_idle_move(sim_engine *s, int32_t d) {
  if (s->mover.next != NULL) {
    idle_move_model(s, d);
    return;
  }
  disp_driver *dv = &s->drivers[d];
  city_hex h = city_grid_hex(&s->grid, dv->cell), nb[6];
  city_hex_neighbors(h, nb);
  int32_t pick = (int32_t)pcg32_bounded(&s->rng_idle, 7); /* 6 = stay */
  int32_t c = pick < 6 ? city_grid_index(&s->grid, nb[pick]) : -1;
  if (c >= 0) {
    const city_loc from = disp_driver_loc(dv), to = cell_loc(s, c);
    city_leg leg;
    drive(s, &from, &to, &leg);
    s->dstate[d].empty_m += leg.metres;
    disp_index_remove(s->idx, d);
    place(s, d, to.lat, to.lng, c, to.node);
    s->oom |= disp_index_add(s->idx, d, c, dv->u) != 0;
    note_fresh(s, d);
  }
  s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, EV_IDLE_MOVE, d,
                           s->dstate[d].epoch) != 0;
}

static void on_repo_arrive(sim_engine *s, int32_t d) {
  sim_dstate *ds = &s->dstate[d];
  s->dstate[d].empty_m += ds->move_m;
  place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, move_end_node(s, d));
  set_state(s, d, DISP_IDLE);
}

static void on_offline(sim_engine *s, int32_t d) {
  int32_t st = s->drivers[d].state;
  if (st == DISP_PICKUP || st == DISP_OCCUPIED) {
    s->dstate[d].offline_after = 1;
    return;
  }
  if (st == DISP_REPOSITION) {
    city_loc at;
    double driven;
    position_now(s, d, &at, &driven);
    place(s, d, at.lat, at.lng, -1, at.node);
  }
  if (st != DISP_OFFLINE) set_state(s, d, DISP_OFFLINE);
}

static int handle(sim_engine *s, const sim_event *ev, rs_err *e) {
  int32_t who = ev->who;
  switch (ev->type) {
  case EV_EXPIRE: on_expire(s, who); return 0;
  case EV_CANCEL: on_cancel(s, who, ev->epoch); return 0;
  case EV_TICK: return on_tick(s, e);
  case EV_REPO_TICK: return on_repo_tick(s, e);
  case EV_ONLINE:
    if (s->drivers[who].state == DISP_OFFLINE) set_state(s, who, DISP_IDLE);
    return 0;
  case EV_OFFLINE: on_offline(s, who); return 0;
  default: break;
  }
  if (s->dstate[who].epoch != ev->epoch) return 0; /* the plan changed */
  switch (ev->type) {
  case EV_ARRIVE: return on_arrive(s, who, e);
  case EV_DROPOFF: on_dropoff(s, who); return 0;
  case EV_IDLE_MOVE:
    if (s->drivers[who].state == DISP_IDLE) on_idle_move(s, who);
    return 0;
  case EV_REPO_ARRIVE: on_repo_arrive(s, who); return 0;
  default: return rs_err_set(e, RS_EINVAL, "engine: unknown event type %d", ev->type);
  }
}

/* Moves the queued events of second t (at most SIM_BATCH of them, in
 * queue order) into the batch and asks for the records each will read: its
 * driver's, or its order's. Handling them in that order is handling them
 * straight from the queue (every order request of second t came first, and
 * events a handler pushes for t queue behind them), but their cache misses,
 * the bound on an event's cost once a day's orders outgrow the cache, now
 * overlap. */
static void fill_batch(sim_engine *s, int64_t t) {
  int32_t n = 0;
  for (const sim_event *top; n < SIM_BATCH && (top = sim_queue_peek(&s->q)) != NULL && top->t == t;)
    sim_queue_pop(&s->q, &s->batch[n++]);
  s->batch_n = n;
  s->batch_at = 0;
#if defined(__GNUC__)
  for (int32_t i = 0; i < n; i++) {
    int32_t who = s->batch[i].who;
    switch (s->batch[i].type) {
    case EV_EXPIRE:
      __builtin_prefetch(&s->live[who]);
      break;
    case EV_CANCEL:
      __builtin_prefetch(&s->orec[who]);
      break;
    case EV_ARRIVE: /* reads all three lines of its state (sim_dstate) */
      __builtin_prefetch((const char *)&s->dstate[who] + 128);
      /* fall through */
    case EV_DROPOFF:
    case EV_IDLE_MOVE:
    case EV_REPO_ARRIVE:
    case EV_ONLINE:
    case EV_OFFLINE:
      __builtin_prefetch(&s->dstate[who]);
      __builtin_prefetch((const char *)&s->dstate[who] + 64);
      __builtin_prefetch(&s->drivers[who]);
      break;
    default:
      break;
    }
  }
  /* then the order records an arrival or a dropoff reads and writes, found
   * through the driver records asked for above (which arrive together), and
   * those of the orders that do expire */
  for (int32_t i = 0; i < n; i++) {
    int32_t type = s->batch[i].type;
    if (type == EV_EXPIRE && s->live[s->batch[i].who]) {
      /* an order that does expire: what leave_waiting and on_expire write */
      int32_t o = s->batch[i].who;
      __builtin_prefetch(&s->orec[o]);
      __builtin_prefetch(&s->wnode[o]);
      __builtin_prefetch(&s->orders[o].pcell);
      continue;
    }
    if (type != EV_ARRIVE && type != EV_DROPOFF) continue;
    const sim_dstate *ds = &s->dstate[s->batch[i].who];
    /* a dropoff files the driver in the idle index at the trip's end */
    if (type == EV_DROPOFF && !ds->offline_after) disp_index_prefetch_add(s->idx, ds->tcell);
    int32_t o = ds->order;
    if (o < 0) continue;
    __builtin_prefetch(&s->orec[o]);
    if (type == EV_ARRIVE) __builtin_prefetch(&s->du[o]);
  }
#endif
}

/* Order o, still in flight at the close (waiting, matched or on board),
 * ends open; its waiting flag drops with it. */
static void open_at_close(sim_engine *s, int32_t o) {
  sim_order_rec *r = &s->orec[o];
  if (r->status != SIM_ORDER_WAITING && r->status != SIM_ORDER_MATCHED &&
      r->status != SIM_ORDER_ONBOARD)
    return;
  r->status = SIM_ORDER_OPEN;
  r->t_final = -1;
  s->live[o] = 0;
}

/* Closes every spell and order at the current time. */
static void close_run(sim_engine *s) {
  if (s->done) return;
  for (int32_t d = 0; d < s->n_drivers; d++) {
    s->dstate[d].time_s[s->drivers[d].state] += (int32_t)(s->now - s->dstate[d].since);
    s->dstate[d].since = s->now;
  }
  /* The orders still in flight are the waiting ones (all in `waiting`)
   * and those a driver holds: found without walking every order. Orders
   * past the cursor were never requested (an interrupted run): they stay
   * out of the run's records (sim_engine_n_orders). */
  for (int32_t i = 0; i < s->n_waiting; i++) {
    int32_t o = s->waiting[i];
    if (s->live[o]) open_at_close(s, o);
  }
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->dstate[d].order >= 0) open_at_close(s, s->dstate[d].order);
  s->done = 1;
}

int sim_engine_step(sim_engine *s, int64_t t_limit, int64_t max_events, rs_err *e) {
  if (s->done) return 1;
  if (s->pending) return SIM_STEP_WAIT;
  if (t_limit > s->to) t_limit = s->to;
  for (int64_t k = 0; k < max_events; k++) {
    /* the next event: the batch's, else an order request or the queue's
     * earliest, requests first at equal times */
    int batched = s->batch_at < s->batch_n;
    int64_t tr = INT64_MAX, te = INT64_MAX, t;
    if (batched) {
      t = s->batch[s->batch_at].t;
    } else {
      tr = s->cursor < s->n_orders ? s->orders[s->cursor].t_request : INT64_MAX;
      const sim_event *top = sim_queue_peek(&s->q);
      te = top ? top->t : INT64_MAX;
      t = tr <= te ? tr : te;
    }
    if (t >= s->to) {
      s->now = s->to;
      close_run(s);
      return 1;
    }
    if (t >= t_limit) {
      if (t_limit > s->now) s->now = t_limit;
      return 0;
    }
    s->now = t;
    s->events++;
    int rc;
    if (!batched && tr <= te) {
      /* the searches of the next requests: their pickup cells' records,
       * then the entries of the nearer one, and its waiting list's end */
      if (s->cursor + REQ_AHEAD < s->n_orders)
        disp_index_prefetch_cell(s->idx, s->orders[s->cursor + REQ_AHEAD].pcell);
      if (s->cursor + REQ_AHEAD / 2 < s->n_orders) {
        int32_t c = s->orders[s->cursor + REQ_AHEAD / 2].pcell;
        disp_index_prefetch_entries(s->idx, c);
#if defined(__GNUC__)
        /* the cell's newest waiting order, whose link the request sets */
        int32_t tail = c >= 0 ? s->cell_tail[s->walk.padded[c]] : -1;
        if (tail >= 0) __builtin_prefetch(&s->wnode[tail], 1);
#endif
      }
      rc = on_request(s, (int32_t)s->cursor++, e);
    } else {
      if (!batched) fill_batch(s, t);
      sim_event ev = s->batch[s->batch_at++];
      rc = handle(s, &ev, e);
    }
    if (rc == DISP_PENDING) return SIM_STEP_WAIT;
    if (rc) return rc;
    if (s->oom) return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
  }
  return 0;
}

void sim_engine_close_early(sim_engine *s) {
  s->pending = 0;
  close_run(s);
}

int sim_engine_pending(const sim_engine *s) { return s->pending; }
disp_tick *sim_engine_pending_tick(sim_engine *s) {
  return s->pending == SIM_PENDING_DISPATCH ? &s->tick : NULL;
}
disp_repo *sim_engine_pending_repo(sim_engine *s) {
  return s->pending == SIM_PENDING_REPOSITION ? &s->repo : NULL;
}

int sim_engine_resume(sim_engine *s, rs_err *e) {
  int kind = s->pending;
  s->pending = 0;
  if (kind == SIM_PENDING_DISPATCH) {
    int rc = apply_tick(s, e);
    return rc ? rc : finish_tick(s, e);
  }
  if (kind == SIM_PENDING_REPOSITION) {
    int rc = apply_repo(s, e);
    return rc ? rc : finish_repo_tick(s, e);
  }
  return 0;
}

/* ------------------------------------------------------------ creation */

/* Fills the policy view of each order: cells, trip time and fare, with the
 * travel model wherever the data is silent. */
static void prepare_orders(sim_engine *s) {
  for (size_t i = 0; i < s->n_orders; i++) {
    const city_trip *t = &s->trips[i];
    disp_order *o = &s->orders[i];
    o->id = t->id;
    o->t_request = t->t_request;
    o->plat = t->plat;
    o->plng = t->plng;
    o->dlat = t->dlat;
    o->dlng = t->dlng;
    o->source_id = t->source_id;
    rs_unit_vector(o->plat, o->plng, o->pu);
    o->pcell = t->pcell >= 0 ? t->pcell : cell_of(s, t->plat, t->plng);
    o->dcell = t->dcell >= 0 ? t->dcell : cell_of(s, t->dlat, t->dlng);
    o->pnode = s->nodes ? city_travel_snap(s->tm, o->plat, o->plng) : -1;
    o->dnode = s->nodes ? city_travel_snap(s->tm, o->dlat, o->dlng) : -1;
    const city_loc pu = disp_order_pickup(o), dr = disp_order_dropoff(o);
    city_trip_model m;
    city_travel_trip(s->tm, &pu, &dr, t->t_request, t->t_dropoff, t->fare, t->distance_m, &m);
    o->duration_s = m.duration_s;
    /* the metres driven with the rider: the model's drive (a recorded
     * distance sets the fare and the time, not the route) */
    city_leg trip;
    city_travel_leg(s->tm, &pu, &dr, t->t_request, &trip);
    s->trip_m[i] = trip.metres;
    rs_unit_vector(o->dlat, o->dlng, s->du[i]);
    o->fare = m.fare;
    s->modelled[i] = (uint8_t)((m.modelled_duration ? 1 : 0) | (m.modelled_fare ? 2 : 0));
    sim_order_rec *r = &s->orec[i];
    r->status = SIM_ORDER_WAITING;
    r->driver = -1;
    r->t_match = r->t_pickup = r->t_dropoff = r->t_final = -1;
    r->pickup_m = NAN;
    r->eta_s = NAN;
    r->reserved = 0;
  }
  /* Per-order cancel uniforms: the cancellation stream at 2i, so rider i
   * decides the same way whatever the policy did before. */
  pcg32 base;
  pcg32_stream(&base, s->sc.seed, PCG_STREAM_CANCEL);
  for (size_t i = 0; i < s->n_orders; i++) {
    pcg32 r = base;
    pcg32_advance(&r, 2 * (uint64_t)s->orders[i].id);
    s->cancel_u[i] = pcg32_double(&r);
  }
}

/* Places the fleet: at pickups of the first 30 minutes, or uniformly over
 * the cells that see demand. */
static int place_fleet(sim_engine *s, rs_err *e) {
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
    place(s, d, lat, lng, c, -1);
  }
  free(cells);
  return 0;
}

static int start_fleet(sim_engine *s, rs_err *e) {
  int64_t horizon = s->to - s->from;
  int64_t shift = (int64_t)(s->sc.shift_hours * 3600.0);
  s->n_state[DISP_OFFLINE] = s->n_drivers;
  for (int32_t d = 0; d < s->n_drivers; d++) {
    s->dstate[d].since = s->from;
    s->dstate[d].order = -1;
    s->drivers[d].state = DISP_OFFLINE;
    if (shift <= 0 || shift >= horizon) {
      set_state(s, d, DISP_IDLE);
      continue;
    }
    int64_t start = s->from + (int64_t)pcg32_bounded(&s->rng_shift,
                                                      (uint32_t)(horizon - shift + 1));
    /* Shift events are not tied to a plan: they carry no epoch. */
    int rc = push(s, start, EV_ONLINE, d, 0, e);
    if (rc == 0) rc = push(s, start + shift, EV_OFFLINE, d, 0, e);
    if (rc) return rc;
  }
  return 0;
}

int sim_engine_new(const sim_scenario *sc, const city_travel *tm, city_trip *trips,
                   size_t n_trips, int64_t t_from, int64_t t_to, disp_policy *dp,
                   disp_repolicy *rp, sim_engine **out, rs_err *e) {
  *out = NULL;
  const city_def *city = tm->city;
  if (t_to <= t_from || t_to - t_from > INT32_MAX) {
    free(trips);
    return rs_err_set(e, RS_EINVAL, t_to <= t_from ? "engine: empty horizon"
                                                   : "engine: horizon longer than 2^31 s");
  }
  int32_t n_drivers = sc->drivers == -1 ? city->default_fleet : sc->drivers;
  if (n_drivers <= 0) {
    free(trips);
    return rs_err_set(e, RS_EINVAL, "engine: the fleet must have at least one driver");
  }
  for (size_t i = 0; i < n_trips; i++) {
    if (trips[i].t_request < t_from || trips[i].t_request >= t_to ||
        (i > 0 && (trips[i].t_request < trips[i - 1].t_request ||
                   (trips[i].t_request == trips[i - 1].t_request && trips[i].id <= trips[i - 1].id)))) {
      int64_t t = trips[i].t_request, id = trips[i].id;
      free(trips);
      return rs_err_set(e, RS_EINVAL,
                        "engine: trip %lld (request %lld) is outside the horizon [%lld, %lld) or "
                        "out of (request time, id) order",
                        (long long)id, (long long)t, (long long)t_from, (long long)t_to);
    }
  }
  if (n_trips > (size_t)INT32_MAX) {
    free(trips);
    return rs_err_set(e, RS_EINVAL, "engine: too many orders (%zu)", n_trips);
  }
  sim_engine *s = calloc(1, sizeof *s);
  if (s == NULL) {
    free(trips);
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
  }
  s->sc = *sc;
  s->idle_walk = strcmp(sc->idle_model, "random-walk") == 0;
  s->city = city;
  s->tm = tm;
  s->nodes = tm->ops->nodes;
  s->trips = trips;
  s->n_orders = n_trips;
  s->from = t_from;
  s->to = t_to;
  s->now = t_from;
  s->dp = dp;
  s->rp = rp;
  s->n_drivers = n_drivers;
  sim_queue_init(&s->q);
  int rc = city_def_grid(city, &s->grid, e);
  if (rc) {
    sim_engine_free(s);
    return rc;
  }
  size_t no = n_trips ? n_trips : 1, nd = (size_t)n_drivers;
  /* the arrays read at random while a run is in flight (rs_mem.h) */
  s->orders = rs_mem_array(no, sizeof *s->orders, 0, 0);
  s->orec = rs_mem_array(no, sizeof *s->orec, 64, 0);
  s->cancel_u = rs_mem_array(no, sizeof *s->cancel_u, 0, 0);
  s->trip_m = rs_mem_array(no, sizeof *s->trip_m, 0, 0);
  s->du = rs_mem_array(no, sizeof *s->du, 0, 0);
  s->wnode = rs_mem_array(no, sizeof *s->wnode, 0, 0);
  s->live = rs_mem_array(no, 1, 0, 1);
  s->modelled = malloc(no);
  s->drivers = rs_mem_array(nd, sizeof *s->drivers, 64, 1);
  s->drec = rs_mem_array(nd, sizeof *s->drec, 0, 1);
  s->dstate = rs_mem_array(nd, sizeof *s->dstate, _Alignof(sim_dstate), 1);
  s->eligible = malloc(nd * sizeof *s->eligible);
  s->repo_hold = calloc(nd, sizeof *s->repo_hold);
  s->repo_dispatchable = sc->repo_dispatchable;
  s->dest = malloc(nd * sizeof *s->dest);
  s->n_win = (size_t)((t_to - t_from + SIM_SERIES_WINDOW_S - 1) / SIM_SERIES_WINDOW_S);
  s->win = calloc(s->n_win, sizeof *s->win);
  s->idx = disp_index_new(tm, &s->grid, n_drivers);
  if (s->nodes) s->cell_node = malloc((size_t)s->grid.n_cells * sizeof *s->cell_node);
  s->exhausted = calloc(no, sizeof *s->exhausted);
  s->cell_stamp = calloc((size_t)s->grid.n_cells, sizeof *s->cell_stamp);
  s->cell_u = malloc((size_t)s->grid.n_cells * sizeof *s->cell_u);
  s->drv_stamp = calloc(nd, sizeof *s->drv_stamp);
  s->fresh_idle = malloc(nd * sizeof *s->fresh_idle);
  if (s->idx) {
    s->max_ring = disp_index_max_ring(s->idx, sc->radius_m);
    s->ring = malloc((size_t)city_hex_kring_size(s->max_ring) * sizeof *s->ring);
    s->st_width = city_hex_kring_size(s->max_ring);
    if (disp_rings_init(&s->walk, &s->grid, s->max_ring) == 0) {
      s->cell_head = malloc((size_t)s->walk.n_padded * sizeof *s->cell_head);
      s->cell_tail = malloc((size_t)s->walk.n_padded * sizeof *s->cell_tail);
    }
  }
  if (!s->cell_u || (s->nodes && !s->cell_node) || !s->cell_head || !s->cell_tail || !s->wnode || !s->live || !s->repo_hold ||
      !s->exhausted || !s->cell_stamp || !s->drv_stamp || !s->fresh_idle || !s->ring || !s->orders ||
      !s->orec || !s->cancel_u || !s->trip_m || !s->du || !s->modelled || !s->drivers || !s->drec ||
      !s->dstate || !s->eligible || !s->dest || !s->win || !s->idx) {
    sim_engine_free(s);
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory for %zu orders and %d drivers",
                      n_trips, n_drivers);
  }
  for (int32_t c = 0; c < s->walk.n_padded; c++) s->cell_head[c] = s->cell_tail[c] = -1;
  for (int32_t c = 0; c < s->grid.n_cells; c++) {
    double lat, lng;
    city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &lat, &lng);
    rs_unit_vector(lat, lng, s->cell_u[c]);
    if (s->nodes) s->cell_node[c] = city_travel_snap(tm, lat, lng);
  }
  /* Squared chords of the radius and of the radius plus a cell's reach
   * beyond its centre (the edge, widened for the projection's distortion,
   * below 0.3 % over a city), both widened against rounding: they only
   * ever admit more, the candidate search decides. */
  s->reach2 = rs_m_to_chord2(sc->radius_m, city->earth_radius_m) * (1 + 1e-8);
  s->cell_reach2 = rs_m_to_chord2(sc->radius_m + 1.01 * s->grid.edge_m, city->earth_radius_m) *
                   (1 + 1e-8);
  for (size_t w = 0; w < s->n_win; w++)
    s->win[w].t_start = t_from + (int64_t)w * SIM_SERIES_WINDOW_S;
  pcg32_stream(&s->rng_policy, sc->seed, PCG_STREAM_POLICY);
  pcg32_stream(&s->rng_repo, sc->seed, PCG_STREAM_REPOSITION);
  pcg32_stream(&s->rng_idle, sc->seed, PCG_STREAM_IDLE);
  pcg32_stream(&s->rng_fleet, sc->seed, PCG_STREAM_FLEET);
  pcg32_stream(&s->rng_shift, sc->seed, PCG_STREAM_SHIFTS);
  prepare_orders(s);
  if (s->n_orders == 0) {
    /* a fleet needs somewhere to stand: the city centre */
    double lat = (city->min_lat + city->max_lat) / 2, lng = (city->min_lng + city->max_lng) / 2;
    for (int32_t d = 0; d < n_drivers; d++) place(s, d, lat, lng, -1, -1);
  } else if ((rc = place_fleet(s, e)) != 0) {
    sim_engine_free(s);
    return rc;
  }
  for (int32_t d = 0; d < n_drivers; d++) {
    if (s->drivers[d].cell < 0) {
      sim_engine_free(s);
      return rs_err_set(e, RS_EINVAL, "engine: driver %d placed outside the grid", d);
    }
  }
  if ((rc = start_fleet(s, e)) != 0 ||
      (rc = push(s, t_from, EV_TICK, -1, 0, e)) != 0 ||
      (rc = push(s, t_from + sc->repo_tick_s, EV_REPO_TICK, -1, 0, e)) != 0) {
    sim_engine_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void sim_engine_free(sim_engine *s) {
  if (s == NULL) return;
  free(s->trips);
  free(s->orders);
  free(s->orec);
  free(s->cancel_u);
  free(s->trip_m);
  free(s->du);
  free(s->modelled);
  free(s->drivers);
  free(s->drec);
  free(s->dstate);
  free(s->eligible);
  free(s->dest);
  free(s->repo_hold);
  free(s->rep_pairs);
  free(s->rep_eta);
  free(s->win);
  free(s->waiting);
  free(s->rows);
  free(s->exhausted);
  free(s->cell_stamp);
  free(s->cell_head);
  free(s->cell_tail);
  disp_rings_free(&s->walk);
  free(s->wnode);
  free(s->live);
  free(s->st_pos);
  free(s->st_n);
  free(s->st_head);
  free(s->st_heap);
  free(s->cell_u);
  free(s->cell_node);
  free(s->fresh);
  free(s->fresh_idle);
  free(s->drv_stamp);
  free(s->row_fresh);
  free(s->ring);
  free(s->assign);
  disp_index_free(s->idx);
  sim_queue_close(&s->q);
  free(s);
}

/* ------------------------------------------------------------- accessors */

int64_t sim_engine_now(const sim_engine *s) { return s->now; }
int64_t sim_engine_from(const sim_engine *s) { return s->from; }
int64_t sim_engine_to(const sim_engine *s) { return s->to; }
int64_t sim_engine_events(const sim_engine *s) { return s->events; }
int sim_engine_done(const sim_engine *s) { return s->done; }
size_t sim_engine_n_orders(const sim_engine *s) { return s->n_orders; }
size_t sim_engine_n_requested(const sim_engine *s) { return s->cursor; }
const disp_order *sim_engine_orders(const sim_engine *s) { return s->orders; }
const sim_order_rec *sim_engine_order_recs(const sim_engine *s) { return s->orec; }
int32_t sim_engine_n_drivers(const sim_engine *s) { return s->n_drivers; }
const sim_driver_rec *sim_engine_driver_recs(const sim_engine *s) {
  sync_drec(s);
  return s->drec;
}
void sim_engine_set_check(sim_engine *s, int on) { s->check = on; }
void sim_engine_set_observer(sim_engine *s, disp_observer ob) { s->observer = ob; }
void sim_engine_set_cancel_model(sim_engine *s, sim_cancel_model m) { s->cancel = m; }

void sim_engine_set_idle_mover(sim_engine *s, sim_idle_mover m) {
  s->mover = m;
  /* drivers already idle start drifting from now */
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->drivers[d].state == DISP_IDLE && !s->idle_walk)
      s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, EV_IDLE_MOVE, d,
                               s->dstate[d].epoch) != 0;
}

const sim_window *sim_engine_windows(const sim_engine *s, size_t *n) {
  /* the windows simulated: all of them once the horizon is reached */
  size_t k = s->n_win;
  while (k > 0 && s->win[k - 1].t_start >= s->now) k--;
  *n = k;
  return s->win;
}

const disp_solve_stat *sim_engine_solve_stats(const sim_engine *s, int32_t *n) {
  *n = 0;
  if (s->dp->solve_stats == NULL) return NULL;
  return s->dp->solve_stats(s->dp->ctx, n);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double p) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(p * (double)n);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

void sim_engine_kpis(const sim_engine *s, sim_kpis *k) {
  memset(k, 0, sizeof *k);
  size_t n_orders = s->cursor; /* the orders requested so far */
  k->orders = (int64_t)n_orders;
  k->drivers = s->n_drivers;
  k->events = s->events;
  k->horizon_s = (double)(s->now - s->from); /* short of to - from when interrupted */
  for (size_t i = 0; i < n_orders; i++) {
    k->modelled_duration += s->modelled[i] & 1;
    k->modelled_fare += (s->modelled[i] >> 1) & 1;
  }
  double *waits = malloc((n_orders ? n_orders : 1) * sizeof *waits);
  size_t nw = 0;
  double wait_sum = 0, pick_sum = 0, eta_sum = 0;
  for (size_t i = 0; i < n_orders; i++) {
    const sim_order_rec *r = &s->orec[i];
    switch (r->status) {
    case SIM_ORDER_COMPLETED: k->completed++; break;
    case SIM_ORDER_CANCELLED: k->cancelled++; break;
    case SIM_ORDER_EXPIRED: k->expired++; break;
    default: k->open++; break;
    }
    if (r->t_match >= 0) {
      k->matched++;
      double w = (double)(r->t_match - s->orders[i].t_request);
      wait_sum += w;
      if (waits) waits[nw++] = w;
      pick_sum += r->pickup_m;
      eta_sum += r->eta_s;
    }
  }
  if (k->orders > 0) {
    k->answer_rate = (double)k->matched / (double)k->orders;
    k->completion_rate = (double)k->completed / (double)k->orders;
  }
  if (k->matched > 0) {
    k->cancel_rate = (double)k->cancelled / (double)k->matched;
    k->wait_mean_s = wait_sum / (double)k->matched;
    k->pickup_m_mean = pick_sum / (double)k->matched;
    k->eta_s_mean = eta_sum / (double)k->matched;
  }
  if (waits) {
    qsort(waits, nw, sizeof *waits, cmp_double);
    k->wait_p95_s = percentile(waits, nw, 0.95);
    free(waits);
  }
  double online_total = 0, busy_total = 0, g_sum = 0, empty = 0;
  int64_t g_n = 0;
  sync_drec(s);
  for (int32_t d = 0; d < s->n_drivers; d++) {
    const sim_driver_rec *r = &s->drec[d];
    k->income += r->income;
    double online = k->horizon_s - (double)r->time_s[DISP_OFFLINE];
    online_total += online;
    busy_total += (double)(r->time_s[DISP_PICKUP] + r->time_s[DISP_OCCUPIED]);
    empty += r->empty_m;
    if (online > 0) {
      g_sum += r->income / (online / 3600.0);
      g_n++;
    }
  }
  k->income_per_hour = g_n ? g_sum / (double)g_n : 0;
  k->utilisation = online_total > 0 ? busy_total / online_total : 0;
  k->empty_km = empty / 1000.0;
  int32_t ns = 0;
  const disp_solve_stat *st = sim_engine_solve_stats(s, &ns);
  if (st != NULL && ns > 0) {
    double *us = malloc((size_t)ns * sizeof *us);
    double so = 0, sd = 0, se = 0;
    for (int32_t i = 0; i < ns; i++) {
      if (us) us[i] = st[i].solve_us;
      so += st[i].orders;
      sd += st[i].drivers;
      se += st[i].edges;
    }
    k->solve_ticks = ns;
    k->tick_orders_mean = so / ns;
    k->tick_drivers_mean = sd / ns;
    k->tick_edges_mean = se / ns;
    if (us) {
      qsort(us, (size_t)ns, sizeof *us, cmp_double);
      k->solve_p50_us = percentile(us, (size_t)ns, 0.50);
      k->solve_p99_us = percentile(us, (size_t)ns, 0.99);
      k->solve_max_us = us[ns - 1];
      free(us);
    }
  }
}

/* ------------------------------------------------------------ invariants */

int sim_engine_check(const sim_engine *s, rs_err *e) {
  if (sim_queue_check(&s->q) != 0)
    return rs_err_set(e, RS_EINVAL, "invariant: event queue out of heap order at t=%lld",
                      (long long)s->now);
  if (disp_index_check(s->idx, s->drivers) != 0)
    return rs_err_set(e, RS_EINVAL, "invariant: idle index disagrees with driver states at t=%lld",
                      (long long)s->now);
  /* Each busy driver holds exactly the order that names it. */
  for (int32_t d = 0; d < s->n_drivers; d++) {
    int32_t st = s->drivers[d].state, o = s->dstate[d].order;
    int busy = st == DISP_PICKUP || st == DISP_OCCUPIED;
    if (busy != (o >= 0))
      return rs_err_set(e, RS_EINVAL, "invariant: driver %d in state %d holds order %d", d, st, o);
    if (busy && s->orec[o].driver != d)
      return rs_err_set(e, RS_EINVAL, "invariant: driver %d holds order %d assigned to %d", d, o,
                        s->orec[o].driver);
    int64_t sum = 0;
    for (int k = 0; k < DISP_N_STATES; k++) sum += s->dstate[d].time_s[k];
    if (sum + (s->now - s->dstate[d].since) != s->now - s->from)
      return rs_err_set(e, RS_EINVAL, "invariant: driver %d time accounting off at t=%lld", d,
                        (long long)s->now);
  }
  for (size_t i = 0; i < s->n_orders; i++) {
    const sim_order_rec *r = &s->orec[i];
    int32_t st = r->status;
    if (i >= s->cursor && st != SIM_ORDER_WAITING)
      return rs_err_set(e, RS_EINVAL, "invariant: order %zu decided before it arrived", i);
    if (st == SIM_ORDER_MATCHED || st == SIM_ORDER_ONBOARD) {
      int32_t d = r->driver;
      if (d < 0 || s->dstate[d].order != (int32_t)i)
        return rs_err_set(e, RS_EINVAL, "invariant: order %zu in progress without its driver", i);
    }
    if (st == SIM_ORDER_COMPLETED && (r->t_dropoff < 0 || r->t_pickup < r->t_match))
      return rs_err_set(e, RS_EINVAL, "invariant: completed order %zu has bad times", i);
  }
  return 0;
}

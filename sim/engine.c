/*
 * engine: the event loop of one run and its state machines; see engine.h
 * for the rules, engine_int.h for the state the engine's files share.
 *
 * Job. Take events in order (order requests from the sorted order arrays,
 * filled from the order source a chunk at a time and emptied of ended
 * orders when a sink is set, as engine.h's "Orders in and out" says;
 * everything else from the queue), move orders and drivers through their
 * states, and run the dispatch tick: pick the orders to decide, ask the
 * policy, apply its pairs (match). The rest of the engine lives beside it,
 * one concept per file: the waiting orders (waiting.c), the fleet's
 * placement and shifts (fleet.c), repositioning rounds (reposition.c) and
 * the KPI accounting (kpi.c).
 *
 * Invariants (sim_engine_check): the queue is in heap order; the idle index
 * holds exactly the matchable drivers; a busy driver holds exactly the one
 * order that names it; each driver's spells add up to the time run; no
 * order is decided before it arrives; the waiting-order index agrees with
 * the orders' states (sim_waiting_check).
 *
 * Dispatch ticks. A batch policy decides every waiting order worth another
 * look at once (on_tick). An immediate policy decides each order as it
 * arrives, and at ticks those a driver that came free may now reach
 * (immediate_tick): when every waiting order is exhausted, only the orders
 * near the fresh drivers, through the waiting index's streams, so a tick
 * costs what changed, not the queue of waiting orders.
 *
 * Costs. An event is O(1) for the queue (sim/queue.h) plus its handler;
 * the queued events of one second are handled as a batch whose records are
 * prefetched together (fill_batch), and a request prefetches the searches
 * of the next few requests. A dispatch tick of a batch policy costs the
 * candidate search over its rows (the waiting orders not known to be
 * out of reach) and the policy; a tick of an immediate policy costs the
 * orders near the drivers that came free since the last tick. Nothing is
 * allocated per event; tick buffers grow to the largest tick and are
 * reused.
 *
 * Ownership. The engine owns its order source, its arrays and every part's state
 * (freed by sim_engine_free through each part's own free); the travel
 * model and the policies are borrowed.
 */
#include "sim/engine.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_mem.h"
#include "base/rs_vec.h"
#include "dispatch/candidates.h"
#include "sim/engine_int.h"
#include "sim/fleet.h"
#include "sim/kpi.h"
#include "sim/queue.h"
#include "sim/reposition.h"
#include "sim/waiting.h"

#define DECIDE_CHUNK 64 /* rows per decision when a tick is decided in chunks */
#define REQ_AHEAD 8     /* requests ahead whose search is prefetched */

/* ---------------------------------------------------------------- helpers */

/* Orders in and out (below, before creation) */
static int orders_drop(sim_engine *s, rs_err *e);
static int orders_pull(sim_engine *s, rs_err *e);

void sim__sync_drec(const sim_engine *s) {
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

/* What match() reads of order o: asked for when o is likely matched soon. */
static inline void prefetch_order(const sim_engine *s, int32_t o) {
#if defined(__GNUC__)
  __builtin_prefetch(&s->orders[o]);
  __builtin_prefetch((const char *)&s->orders[o] + 64);
  __builtin_prefetch(&s->orec[o]);
  __builtin_prefetch(&s->du[o]);
  __builtin_prefetch(&s->trip_m[o]);
  __builtin_prefetch(&s->cancel_u[o]);
#else
  (void)s;
  (void)o;
#endif
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
    sim__position_now(s, d, &at, &driven);
    if (sim__in_horizon(s)) s->dstate[d].empty_m += driven;
    sim__place(s, d, at.lat, at.lng, -1, at.node);
  }
  const disp_order *od = &s->orders[o];
  /* the distance and the drive the candidate graph gave (the same chord,
   * the same call and the same rule: the same bits) */
  double gc = rs_chord2_m(rs_chord2(dv->u, od->pu), s->city->earth_radius_m);
  const city_loc from = disp_driver_loc(dv), to = disp_order_pickup(od);
  city_leg leg;
  city_travel_pickup(s->tm, &from, &to, gc, s->now, &leg);
  double eta = leg.secs, dist = city_travel_pickup_m(s->tm, gc, &leg);
  sim_waiting_leave(&s->w, o);
  r->status = SIM_ORDER_MATCHED;
  r->driver = d;
  r->t_match = s->now;
  r->pickup_m = dist;
  r->eta_s = eta;
  sim_series_match(&s->series, od->t_request, (double)(s->now - od->t_request), dist);

  sim__set_state(s, d, DISP_PICKUP);
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
    size_t c1 = s->cap_rep, c2 = s->cap_rep, need = (size_t)s->n_rep + 1;
    if (rs_vec_grow(s->rep_pairs, c1, need) || rs_vec_grow(s->rep_eta, c2, need))
      return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
    s->cap_rep = c1;
    s->rep_pairs[s->n_rep].order = o;
    s->rep_pairs[s->n_rep].driver = d;
    s->rep_eta[s->n_rep++] = eta;
  }
  double p = s->cancel.p != NULL ? s->cancel.p(s->cancel.ctx, od, dist) : -1.0;
  if (p < 0) p = sim_scenario_cancel_p(&s->sc, dist);
  if (s->cancel_u[o] < p) {
    int64_t delay = s->sc.cancel_delay_s;
    if (delay > ds->t_arrive - s->now) delay = ds->t_arrive - s->now;
    return sim__push(s, s->now + delay, SIM_EV_CANCEL, o, ds->epoch, e);
  }
  return sim__push(s, ds->t_arrive, SIM_EV_ARRIVE, d, ds->epoch, e);
}

/* Marks the rows of a decision whose every candidate is taken: exhausted
 * (waiting.h), under a maximal policy. A row is exhausted when it had no
 * candidate at all (row_ptr NULL: nobody idle) or fewer than it asked for
 * and its list was not cut short by the drivers' own limit (capped). */
static void mark_exhausted(sim_engine *s, const int32_t *rows, int32_t n_rows,
                           const int32_t *row_ptr, const uint8_t *capped) {
  if (!s->dp->maximal) return;
  for (int32_t i = 0; i < n_rows; i++) {
    uint8_t v = row_ptr == NULL || (row_ptr[i + 1] - row_ptr[i] < s->decision_k &&
                                    !(capped != NULL && capped[i]));
    sim_waiting_set_exhausted(&s->w, rows[i], v);
  }
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
 * (NULL: none) search only the tick's fresh idle drivers. `from` says where
 * the decision is taken (SIM__AT_*), which is where sim_engine_resume goes
 * on when the policy answers later: then it returns DISP_PENDING. */
static int decide(sim_engine *s, const int32_t *rows, int32_t n_rows, const uint8_t *fresh,
                  int from, rs_err *e) {
  if (n_rows == 0) return 0;
  /* A one-order decision needs only the candidates the policy looks at. */
  s->decision_k = s->sc.top_k;
  if (n_rows == 1 && s->dp->one_row_k > 0 && s->dp->one_row_k < s->decision_k)
    s->decision_k = s->dp->one_row_k;
  if (disp_index_size(s->idx) == 0) {
    mark_exhausted(s, rows, n_rows, NULL, NULL);
    return 0;
  }
  if (rs_vec_grow(s->assign, s->cap_assign, (size_t)n_rows))
    return rs_err_set(e, RS_ENOMEM, "dispatch: out of memory");
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
  int rc = disp_index_candidates(s->idx, s->orders, s->drivers, rows, n_rows, fresh,
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
    s->pending = SIM_PENDING_DISPATCH;
    s->pending_at = from;
    return DISP_PENDING;
  }
  if (rc) return rc;
  return apply_tick(s, e);
}

/* The rest of a dispatch tick, once its decision is applied. */
static int finish_tick(sim_engine *s, rs_err *e) {
  int rc = 0;
  sim_series_tick(&s->series, s->now, disp_index_size(s->idx),
                  s->n_state[DISP_PICKUP] + s->n_state[DISP_OCCUPIED]);
  if (s->observer.observe != NULL) {
    disp_report rep = {s->now, s->sc.tick_s, s->orders, s->drivers, s->n_drivers,
                       s->rep_pairs, s->rep_eta, s->n_rep};
    s->observer.observe(s->observer.ctx, &rep);
    s->n_rep = 0;
  }
  if (s->now + s->sc.tick_s < s->end)
    rc = sim__push(s, s->now + s->sc.tick_s, SIM_EV_TICK, -1, 0, e);
  if (rc == 0 && s->check) rc = sim_engine_check(s, e);
  return rc;
}

/* Lists the tick's fresh drivers still idle (each once) in fresh_idle and,
 * when stamp_cells, wakes the cells within reach of each: exhausted orders
 * there get another look (waiting.h). */
static void collect_fresh(sim_engine *s, int stamp_cells) {
  if (++s->fresh_round == 0) {
    memset(s->drv_stamp, 0, (size_t)s->n_drivers * sizeof *s->drv_stamp);
    s->fresh_round = 1;
  }
  sim_waiting_wake_begin(&s->w);
  s->n_fresh_idle = 0;
  for (int32_t i = 0; i < s->n_fresh; i++) {
    int32_t d = s->fresh[i];
    if (!disp_index_contains(s->idx, d) || s->drv_stamp[d] == s->fresh_round) continue;
    s->drv_stamp[d] = s->fresh_round;
    s->fresh_idle[s->n_fresh_idle++] = d;
#if defined(__GNUC__)
    /* a fresh driver is likely matched this tick */
    __builtin_prefetch(&s->dstate[d]);
    __builtin_prefetch((const char *)&s->dstate[d] + 64);
#endif
    if (!stamp_cells) continue;
    int32_t nc = disp_index_ring_cells(s->idx, s->sc.radius_m, s->drivers[d].cell, s->ring);
    sim_waiting_wake(&s->w, s->ring, nc);
    s->oom |= nc < 0;
  }
  s->n_fresh = 0;
}

static int any_fresh_left(const sim_engine *s) {
  for (int32_t f = 0; f < s->n_fresh_idle; f++)
    if (disp_index_contains(s->idx, s->fresh_idle[f])) return 1;
  return 0;
}

/* Decides rows w.rows[0, n_rows) of an immediate policy in chunks, the
 * drivers one chunk takes gone before the next, which gives the same pairs
 * as one decision over every row. Rows marked fresh are skipped once no
 * fresh driver is left. The walk's place is kept in s->chunk, so that a
 * policy answering a chunk later resumes it (chunks_run). */
static int chunks_run(sim_engine *s, rs_err *e) {
  sim_chunk_walk *c = &s->chunk;
  while (c->at < c->n_rows) {
    if (c->fresh_left && !any_fresh_left(s)) {
      /* the fresh rows still ahead can take nobody: drop them */
      c->fresh_left = 0;
      int32_t k = c->at;
      for (int32_t i = c->at; i < c->n_rows; i++) {
        if (s->w.row_fresh[i]) continue;
        s->w.rows[k] = s->w.rows[i];
        s->w.row_fresh[k++] = 0;
      }
      c->n_rows = k;
      if (c->at == c->n_rows) break;
    }
    int32_t m = c->n_rows - c->at < DECIDE_CHUNK ? c->n_rows - c->at : DECIDE_CHUNK;
    int32_t at = c->at;
    c->at += m; /* decided (or being decided, when the answer comes later) */
    int rc = decide(s, s->w.rows + at, m, s->w.row_fresh + at, SIM__AT_CHUNK, e);
    if (rc) return rc;
  }
  return 0;
}

static int decide_chunks(sim_engine *s, int32_t n_rows, rs_err *e) {
  s->chunk.at = 0;
  s->chunk.n_rows = n_rows;
  s->chunk.fresh_left = 1;
  return chunks_run(s, e);
}

/* Every stream slot headed by order o (just decided) moves on. */
static void streams_pass(sim_engine *s, int32_t o) {
  sim_waiting *w = &s->w;
  int32_t next, d = -1;
  while ((next = sim_waiting_streams_top(w, &d)) == o) {
    if (!disp_index_contains(s->idx, d)) {
      sim_waiting_streams_drop(w);
    } else if ((next = sim_waiting_streams_advance(w)) >= 0) {
      prefetch_order(s, next);
    }
  }
}

/* Decides the streams' heads one by one, oldest first, until no slot is
 * left (see immediate_tick). A policy answering a head later resumes the
 * walk here, after streams_pass of that head. */
static int streams_run(sim_engine *s, rs_err *e) {
  sim_waiting *w = &s->w;
  int32_t o, d;
  while ((o = sim_waiting_streams_top(w, &d)) >= 0) {
    if (!disp_index_contains(s->idx, d)) {
      sim_waiting_streams_drop(w);
      continue;
    }
    w->rows[0] = o;
    w->row_fresh[0] = 1;
    int rc = decide(s, w->rows, 1, w->row_fresh, SIM__AT_STREAM, e);
    if (rc) return rc;
    streams_pass(s, o);
  }
  return 0;
}

/* The end of an immediate policy's tick, once its rows are decided. */
static int immediate_tick_end(sim_engine *s, rs_err *e) {
  /* The waiting list (used when orders stay open) drops the entries of
   * orders matched or expired once they outnumber the live ones. */
  sim_waiting_trim(&s->w);
  return finish_tick(s, e);
}

/* A tick of an immediate, maximal policy, which decides row by row in
 * request order. An exhausted order can only take a fresh driver, so only
 * the orders waiting in cells within reach of one are rows, searching the
 * fresh drivers alone; non-exhausted orders (n_open, rare: an immediate
 * policy leaves few) are rows throughout. With none of those, the rows come
 * from the waiting index's streams around the fresh drivers, so a tick
 * costs what changed, not the queue of waiting orders. */
static int immediate_tick(sim_engine *s, rs_err *e) {
  sim_waiting *w = &s->w;
  int32_t n_rows = 0;
  if (w->n_live == 0) {
    /* nobody waits: the drivers that came free have nothing to take */
    s->n_fresh = 0;
  } else if (w->n_open == 0) {
    /* Every waiting order is exhausted: it can take only a fresh driver
     * within the radius. Each fresh driver gets a stream of the waiting
     * orders within its radius, oldest first (a slot); the oldest head
     * over all slots is the next row, decided alone, which gives the same
     * pairs as walking every waiting order in request order. A driver no
     * order can reach is dropped at once; a slot whose driver is taken is
     * dropped when it surfaces; the tick ends when no slot is left, having
     * looked at the orders near the fresh drivers and no others. */
    collect_fresh(s, 0);
    if (sim_waiting_streams_begin(w, s->n_fresh_idle, e)) return RS_ENOMEM;
    int32_t n_slots = 0;
    for (int32_t i = 0; i < s->n_fresh_idle; i++) {
      int32_t d = s->fresh_idle[i];
      int32_t head = sim_waiting_stream_add(w, d, s->drivers[d].cell, s->drivers[d].u);
      if (head < 0) continue;
      prefetch_order(s, head); /* a head is likely matched this tick */
      s->fresh_idle[n_slots++] = d;
    }
    s->n_fresh_idle = n_slots;
    sim_waiting_streams_start(w);
    int rc = streams_run(s, e);
    if (rc) return rc; /* an error, or DISP_PENDING */
  } else {
    collect_fresh(s, 1);
    n_rows = sim_waiting_rows(w, 0);
  }
  int rc = n_rows > 0 ? decide_chunks(s, n_rows, e) : 0;
  if (rc) return rc; /* an error, or DISP_PENDING */
  return immediate_tick_end(s, e);
}

static int on_tick(sim_engine *s, rs_err *e) {
  if (s->dp->immediate && s->dp->maximal) return immediate_tick(s, e);
  collect_fresh(s, 1);
  /* Compact the waiting list (request order kept) and pick the rows. */
  int32_t n_rows = sim_waiting_rows(&s->w, 1);
  int rc = decide(s, s->w.rows, n_rows, s->w.row_fresh, SIM__AT_TICK, e);
  if (rc) return rc; /* an error, or DISP_PENDING */
  return finish_tick(s, e);
}

/* --------------------------------------------------------------- handlers */

static int on_request(sim_engine *s, int32_t o, rs_err *e) {
  sim_series_request(&s->series, s->orders[o].t_request);
  int rc = sim_waiting_add(&s->w, o, e);
  if (rc) return rc;
  int64_t expire;
  if (s->sc.patience_s > 0) {
    expire = s->now + s->sc.patience_s;
  } else {
    /* Lost unless matched at the first tick at or after its request. */
    int64_t k = (s->now - s->start + s->sc.tick_s - 1) / s->sc.tick_s;
    expire = s->start + k * s->sc.tick_s;
  }
  rc = sim__push(s, expire, SIM_EV_EXPIRE, o, 0, e);
  if (rc == 0 && s->dp->immediate) {
    s->one_row[0] = o;
    rc = decide(s, s->one_row, 1, NULL, SIM__AT_REQUEST, e);
  }
  return rc;
}

static void on_expire(sim_engine *s, int32_t o) {
  if (!sim_waiting_live(&s->w, o)) return; /* matched */
  sim_order_rec *r = &s->orec[o];
  sim_waiting_leave(&s->w, o);
  r->status = SIM_ORDER_EXPIRED;
  r->t_final = s->now;
  sim__order_ended(s, o);
  sim_series_expire(&s->series, s->orders[o].t_request);
}

static void on_cancel(sim_engine *s, int32_t o, uint32_t epoch) {
  sim_order_rec *r = &s->orec[o];
  if (r->status != SIM_ORDER_MATCHED) return;
  int32_t d = r->driver;
  if (s->dstate[d].epoch != epoch) return;
  city_loc at;
  double driven;
  sim__position_now(s, d, &at, &driven);
  if (sim__counted(s, o)) s->dstate[d].empty_m += driven;
  sim__place(s, d, at.lat, at.lng, -1, at.node);
  r->status = SIM_ORDER_CANCELLED;
  r->t_final = s->now;
  sim__order_ended(s, o);
  s->dstate[d].order = -1;
  sim_series_cancel(&s->series, s->orders[o].t_request);
  if (s->dstate[d].offline_after) {
    s->dstate[d].offline_after = 0;
    sim__set_state(s, d, DISP_OFFLINE);
  } else {
    sim__set_state(s, d, DISP_IDLE);
  }
}

static int on_arrive(sim_engine *s, int32_t d, rs_err *e) {
  sim_dstate *ds = &s->dstate[d];
  sim_order_rec *r = &s->orec[ds->order];
  if (sim__counted(s, ds->order)) ds->empty_m += ds->move_m;
  sim__place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, sim__move_end_node(s, d));
  r->status = SIM_ORDER_ONBOARD;
  r->t_pickup = s->now;
  sim__set_state(s, d, DISP_OCCUPIED);
  ds->flat = ds->tlat;
  ds->flng = ds->tlng;
  ds->tlat = ds->dlat;
  ds->tlng = ds->dlng;
  ds->tcell = ds->dcell;
  memcpy(ds->tu, s->du[ds->order], sizeof ds->tu);
  ds->t_depart = s->now;
  ds->t_arrive = s->now + ds->duration_s;
  return sim__push(s, ds->t_arrive, SIM_EV_DROPOFF, d, ds->epoch, e);
}

static void on_dropoff(sim_engine *s, int32_t d) {
  sim_dstate *ds = &s->dstate[d];
  sim_order_rec *r = &s->orec[ds->order];
  sim__place_at(s, d, ds->tlat, ds->tlng, ds->tcell, ds->tu, sim__move_end_node(s, d));
  r->status = SIM_ORDER_COMPLETED;
  r->t_dropoff = s->now;
  r->t_final = s->now;
  if (sim__counted(s, ds->order)) {
    /* a warm-up order's trip pays nobody's account: it is not the run's */
    ds->occupied_m += ds->trip_m;
    ds->income += ds->fare;
    ds->trips++;
  }
  sim__order_ended(s, ds->order);
  sim_series_complete(&s->series, s->orders[ds->order].t_request, ds->fare);
  ds->order = -1;
  if (ds->offline_after) {
    ds->offline_after = 0;
    sim__set_state(s, d, DISP_OFFLINE);
  } else {
    sim__set_state(s, d, DISP_IDLE);
  }
}

/* An idle step under the caller's idle model: land where it says. */
static void idle_move_model(sim_engine *s, int32_t d) {
  disp_driver *dv = &s->drivers[d];
  double lat, lng;
  double u = pcg32_double(&s->rng_idle);
  if (s->mover.next(s->mover.ctx, s->now, d, dv->lat, dv->lng, u, &lat, &lng) == 0) {
    int32_t c = sim__cell_of(s, lat, lng);
    if (c >= 0 && (lat != dv->lat || lng != dv->lng)) {
      const city_loc from = disp_driver_loc(dv);
      city_loc to = {lat, lng, s->nodes ? city_travel_snap(s->tm, lat, lng) : -1};
      city_leg leg;
      sim__drive(s, &from, &to, &leg);
      if (sim__in_horizon(s)) s->dstate[d].empty_m += leg.metres;
      disp_index_remove(s->idx, d);
      sim__place(s, d, lat, lng, c, to.node);
      s->oom |= disp_index_add(s->idx, d, c, dv->u) != 0;
      sim__note_fresh(s, d);
    }
  }
  s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, SIM_EV_IDLE_MOVE, d,
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
  if (c >= 0 && !s->in_service[c]) c = -1; /* the area's edge reflects: stay */
  if (c >= 0) {
    const city_loc from = disp_driver_loc(dv), to = sim__cell_loc(s, c);
    city_leg leg;
    sim__drive(s, &from, &to, &leg);
    if (sim__in_horizon(s)) s->dstate[d].empty_m += leg.metres;
    disp_index_remove(s->idx, d);
    sim__place(s, d, to.lat, to.lng, c, to.node);
    s->oom |= disp_index_add(s->idx, d, c, dv->u) != 0;
    sim__note_fresh(s, d);
  }
  s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, SIM_EV_IDLE_MOVE, d,
                           s->dstate[d].epoch) != 0;
}

static int handle(sim_engine *s, const sim_event *ev, rs_err *e) {
  int32_t who = ev->who;
  switch (ev->type) {
  /* an order event whose order was dropped (who -1: see orders_drop)
   * would have found it ended, and done nothing */
  case SIM_EV_EXPIRE: if (who >= 0) on_expire(s, who); return 0;
  case SIM_EV_CANCEL: if (who >= 0) on_cancel(s, who, ev->epoch); return 0;
  case SIM_EV_TICK: return on_tick(s, e);
  case SIM_EV_REPO_TICK: return sim__repo_round(s, e);
  case SIM_EV_ONLINE: sim__fleet_online(s, who); return 0;
  case SIM_EV_OFFLINE: sim__fleet_offline(s, who); return 0;
  default: break;
  }
  if (s->dstate[who].epoch != ev->epoch) return 0; /* the plan changed */
  switch (ev->type) {
  case SIM_EV_ARRIVE: return on_arrive(s, who, e);
  case SIM_EV_DROPOFF: on_dropoff(s, who); return 0;
  case SIM_EV_IDLE_MOVE:
    if (s->drivers[who].state == DISP_IDLE) on_idle_move(s, who);
    return 0;
  case SIM_EV_REPO_ARRIVE: sim__repo_arrive(s, who); return 0;
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
    case SIM_EV_EXPIRE:
      if (who >= 0) __builtin_prefetch(&s->w.live[who]);
      break;
    case SIM_EV_CANCEL:
      if (who >= 0) __builtin_prefetch(&s->orec[who]);
      break;
    case SIM_EV_ARRIVE: /* reads all three lines of its state (sim_dstate) */
      __builtin_prefetch((const char *)&s->dstate[who] + 128);
      /* fall through */
    case SIM_EV_DROPOFF:
    case SIM_EV_IDLE_MOVE:
    case SIM_EV_REPO_ARRIVE:
    case SIM_EV_ONLINE:
    case SIM_EV_OFFLINE:
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
    if (type == SIM_EV_EXPIRE && s->batch[i].who >= 0 && s->w.live[s->batch[i].who]) {
      /* an order that does expire: what sim_waiting_leave and on_expire
       * write */
      int32_t o = s->batch[i].who;
      __builtin_prefetch(&s->orec[o]);
      __builtin_prefetch(&s->w.node[o]);
      __builtin_prefetch(&s->orders[o].pcell);
      continue;
    }
    if (type != SIM_EV_ARRIVE && type != SIM_EV_DROPOFF) continue;
    const sim_dstate *ds = &s->dstate[s->batch[i].who];
    /* a dropoff files the driver in the idle index at the trip's end */
    if (type == SIM_EV_DROPOFF && !ds->offline_after) disp_index_prefetch_add(s->idx, ds->tcell);
    int32_t o = ds->order;
    if (o < 0) continue;
    __builtin_prefetch(&s->orec[o]);
    if (type == SIM_EV_ARRIVE) __builtin_prefetch(&s->du[o]);
  }
#endif
}

/* Order o, still in flight at the close (waiting, matched or on board),
 * ends open. */
static void open_at_close(sim_engine *s, int32_t o) {
  sim_order_rec *r = &s->orec[o];
  if (r->status != SIM_ORDER_WAITING && r->status != SIM_ORDER_MATCHED &&
      r->status != SIM_ORDER_ONBOARD)
    return;
  r->status = SIM_ORDER_OPEN;
  r->t_final = -1;
}

/* Closes every spell and order at the current time. */
static void close_run(sim_engine *s) {
  if (s->done) return;
  for (int32_t d = 0; d < s->n_drivers; d++) {
    s->dstate[d].time_s[s->drivers[d].state] += sim__horizon_part(s, s->dstate[d].since, s->now);
    s->dstate[d].since = s->now;
  }
  /* The orders still in flight are the waiting ones (all in the waiting
   * index's list, which they leave) and those a driver holds: found
   * without walking every order. Orders past the cursor were never
   * requested (an interrupted run): they stay out of the run's records
   * (sim_engine_n_orders). */
  for (int32_t i = 0; i < s->w.n_list; i++) {
    int32_t o = s->w.list[i];
    if (!sim_waiting_live(&s->w, o)) continue;
    sim_waiting_leave(&s->w, o);
    open_at_close(s, o);
  }
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->dstate[d].order >= 0) open_at_close(s, s->dstate[d].order);
  s->done = 1;
}

int sim_engine_step(sim_engine *s, int64_t t_limit, int64_t max_events, rs_err *e) {
  if (s->done) return 1;
  if (s->pending) return SIM_STEP_WAIT;
  if (t_limit > s->end) t_limit = s->end;
  for (int64_t k = 0; k < max_events; k++) {
    /* the next event: the batch's, else an order request or the queue's
     * earliest, requests first at equal times */
    int batched = s->batch_at < s->batch_n;
    int64_t tr = INT64_MAX, te = INT64_MAX, t;
    if (batched) {
      t = s->batch[s->batch_at].t;
    } else {
      if (s->cursor == s->n_orders && !s->src_done) {
        /* every order held is requested: drop the ended ones, take in
         * the next chunk (between events, nothing pending) */
        int rc = orders_drop(s, e);
        if (rc == 0) rc = orders_pull(s, e);
        if (rc) return rc;
      }
      tr = s->cursor < s->n_orders ? s->orders[s->cursor].t_request : INT64_MAX;
      const sim_event *top = sim_queue_peek(&s->q);
      te = top ? top->t : INT64_MAX;
      t = tr <= te ? tr : te;
    }
    if (t >= s->to && s->n_live == 0) {
      /* the horizon is over and its every order has ended: the drain (if
       * any) ends with the last of them */
      if (s->now < s->to) s->now = s->to;
      close_run(s);
      return 1;
    }
    if (t >= s->end) {
      s->now = s->end;
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
        int32_t tail = c >= 0 ? s->w.cell_tail[s->w.walk.padded[c]] : -1;
        if (tail >= 0) __builtin_prefetch(&s->w.node[tail], 1);
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
  return s->pending == SIM_PENDING_REPOSITION ? &s->repo.round : NULL;
}

int sim_engine_resume(sim_engine *s, rs_err *e) {
  int kind = s->pending;
  s->pending = 0;
  if (kind == SIM_PENDING_DISPATCH) {
    int rc = apply_tick(s, e);
    if (rc) return rc;
    /* go on from where the decision was taken, as decide() would have */
    switch (s->pending_at) {
    case SIM__AT_REQUEST:
      return 0;
    case SIM__AT_STREAM:
      streams_pass(s, s->tick.row_order[0]);
      rc = streams_run(s, e);
      break;
    case SIM__AT_CHUNK:
      rc = chunks_run(s, e);
      break;
    default: /* SIM__AT_TICK */
      return finish_tick(s, e);
    }
    if (rc == DISP_PENDING) return 0; /* the next decision waits in turn */
    return rc ? rc : immediate_tick_end(s, e);
  }
  if (kind == SIM_PENDING_REPOSITION) return sim__repo_resume(s, e);
  return 0;
}

/* ------------------------------------------------------- orders in and out */

/* Moves *p (n_used elements of `size` bytes) into a new array of cap
 * elements aligned to `align` (rs_mem_array). 0, or -1 with *p unchanged. */
static int regrow(void **p, size_t n_used, size_t cap, size_t size, size_t align) {
  void *q = rs_mem_array(cap, size, align, 0);
  if (q == NULL) return -1;
  if (n_used > 0) memcpy(q, *p, n_used * size);
  free(*p);
  *p = q;
  return 0;
}

/* Room for `need` orders in every per-order array (the waiting index's
 * too). Returns 0, or RS_ENOMEM with the arrays as they were (some may have
 * grown). */
static int orders_reserve(sim_engine *s, size_t need, rs_err *e) {
  if (need <= s->cap_orders && s->orders != NULL) return 0;
  size_t cap = s->cap_orders ? s->cap_orders : 1;
  while (cap < need) cap *= 2;
  size_t n = s->n_orders;
  int failed = regrow((void **)&s->orders, n, cap, sizeof *s->orders, 0);
  s->w.orders = s->orders; /* the waiting index reads the orders where they are */
  if (failed || regrow((void **)&s->orec, n, cap, sizeof *s->orec, 64) ||
      regrow((void **)&s->cancel_u, n, cap, sizeof *s->cancel_u, 0) ||
      regrow((void **)&s->trip_m, n, cap, sizeof *s->trip_m, 0) ||
      regrow((void **)&s->du, n, cap, sizeof *s->du, 0) ||
      regrow((void **)&s->modelled, n, cap, sizeof *s->modelled, 0) ||
      sim_waiting_reserve(&s->w, s->orders, cap) != 0)
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory for %zu orders", need);
  s->cap_orders = cap;
  return 0;
}

/* Takes in trips [0, n) of the source after the orders held: checked
 * (order, span, cells), then the policy view of each (cells, trip time and
 * fare, with the travel model wherever the data is silent), its record and
 * its cancel uniform. Returns 0, or RS_EINVAL / RS_ENOMEM with nothing
 * taken in. */
static int orders_append(sim_engine *s, const city_trip *trips, size_t n, rs_err *e) {
  int64_t lt = s->last_t, lid = s->last_id;
  int any = s->base + s->n_orders > 0;
  for (size_t i = 0; i < n; i++) {
    const city_trip *t = &trips[i];
    if (t->t_request < s->start || t->t_request >= s->to ||
        (any && (t->t_request < lt || (t->t_request == lt && t->id <= lid))))
      return rs_err_set(e, RS_EINVAL,
                        "engine: trip %lld (request %lld) is outside the warm-up and horizon "
                        "[%lld, %lld) or out of (request time, id) order",
                        (long long)t->id, (long long)t->t_request, (long long)s->start,
                        (long long)s->to);
    /* Cells index the grid's arrays: one from a store of another grid
     * would read and write past them. -1 is "unknown" (derived below). */
    if (t->pcell < -1 || t->pcell >= s->grid.n_cells || t->dcell < -1 ||
        t->dcell >= s->grid.n_cells)
      return rs_err_set(e, RS_EINVAL,
                        "engine: trip %lld has cells %d, %d: not cells of city '%s''s grid (%d "
                        "cells)",
                        (long long)t->id, (int)t->pcell, (int)t->dcell, s->city->name,
                        (int)s->grid.n_cells);
    lt = t->t_request;
    lid = t->id;
    any = 1;
  }
  if (n > (size_t)INT32_MAX - s->n_orders)
    return rs_err_set(e, RS_EINVAL, "engine: too many orders (%zu) held at once",
                      s->n_orders + n);
  int rc = orders_reserve(s, s->n_orders + n, e);
  if (rc) return rc;
  pcg32 base;
  pcg32_stream(&base, s->sc.seed, PCG_STREAM_CANCEL);
  for (size_t k = 0; k < n; k++) {
    const city_trip *t = &trips[k];
    size_t i = s->n_orders + k;
    disp_order *o = &s->orders[i];
    o->id = t->id;
    o->t_request = t->t_request;
    o->plat = t->plat;
    o->plng = t->plng;
    o->dlat = t->dlat;
    o->dlng = t->dlng;
    o->source_id = t->source_id;
    rs_unit_vector(o->plat, o->plng, o->pu);
    o->pcell = t->pcell >= 0 ? t->pcell : sim__cell_of(s, t->plat, t->plng);
    o->dcell = t->dcell >= 0 ? t->dcell : sim__cell_of(s, t->dlat, t->dlng);
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
    /* Per-order cancel uniforms: the cancellation stream at 2 x the trip
     * id, so rider i decides the same way whatever the policy did before. */
    pcg32 u = base;
    pcg32_advance(&u, 2 * (uint64_t)o->id);
    s->cancel_u[i] = pcg32_double(&u);
    if (t->t_request < s->from) s->n_warm++;
    else s->n_live++;
  }
  s->n_orders += n;
  s->w.n_orders = s->n_orders;
  if (s->keep_rows && s->idx != NULL && s->n_orders > 0 &&
      disp_index_keep_rows(s->idx, (int32_t)s->n_orders) != 0)
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory for %zu orders' kept searches",
                      s->n_orders);
  if (n > 0) {
    s->last_t = lt;
    s->last_id = lid;
  }
  return 0;
}

/* Renumbering of the queued order events after a drop of k orders: an
 * event about a dropped order (an expiry of an order long matched) names
 * none (-1), and its handler does nothing, as it would have done. */
typedef struct {
  int32_t k;
} renumber_ctx;

static void renumber_event(void *ctx, sim_event *ev) {
  int32_t k = ((const renumber_ctx *)ctx)->k;
  if (ev->type != SIM_EV_EXPIRE && ev->type != SIM_EV_CANCEL) return;
  ev->who = ev->who >= k ? ev->who - k : -1;
}

static int ended(int32_t status) {
  return status == SIM_ORDER_COMPLETED || status == SIM_ORDER_CANCELLED ||
         status == SIM_ORDER_EXPIRED;
}

/* Drops the ended prefix of the orders held when it is at least half of
 * them (see engine.h, "Orders in and out"): the horizon's ones go to the
 * sink and the tally, and every order index kept moves down. Called
 * between events, with nothing pending and no batch open. Returns 0 or the
 * sink's error (nothing dropped then). */
static int orders_drop(sim_engine *s, rs_err *e) {
  if (s->sink.orders == NULL) return 0;
  size_t k = 0;
  while (k < s->cursor && ended(s->orec[k].status)) k++;
  /* the matches not yet reported to the observer name their orders */
  for (int32_t i = 0; i < s->n_rep; i++)
    if ((size_t)s->rep_pairs[i].order < k) k = (size_t)s->rep_pairs[i].order;
  if (k == 0 || k < s->n_orders / 2) return 0;
  size_t h0 = s->n_warm > s->base ? s->n_warm - s->base : 0;
  if (h0 > k) h0 = k;
  if (k > h0) {
    int rc = s->sink.orders(s->sink.ctx, s->orders + h0, s->orec + h0, k - h0, e);
    if (rc) return rc;
    sim__tally_orders(&s->tally, s, h0, k);
  }
  size_t m = s->n_orders - k;
  memmove(s->orders, s->orders + k, m * sizeof *s->orders);
  memmove(s->orec, s->orec + k, m * sizeof *s->orec);
  memmove(s->cancel_u, s->cancel_u + k, m * sizeof *s->cancel_u);
  memmove(s->trip_m, s->trip_m + k, m * sizeof *s->trip_m);
  memmove(s->du, s->du + k, m * sizeof *s->du);
  memmove(s->modelled, s->modelled + k, m * sizeof *s->modelled);
  sim_waiting_drop(&s->w, k);
  int32_t k32 = (int32_t)k;
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->dstate[d].order >= 0) {
      assert(s->dstate[d].order >= k32); /* an order in progress has not ended */
      s->dstate[d].order -= k32;
    }
  for (int32_t i = 0; i < s->n_rep; i++) s->rep_pairs[i].order -= k32;
  renumber_ctx rn = {k32};
  sim_queue_each(&s->q, renumber_event, &rn);
  s->base += k;
  s->n_orders = m;
  s->cursor -= k;
  /* the kept searches name orders by their old indices */
  if (s->keep_rows && s->idx != NULL) disp_index_keep_rows_forget(s->idx);
  return 0;
}

/* Takes in the source's next chunk (none when it has no more: src_done).
 * Returns 0 or an error. */
static int orders_pull(sim_engine *s, rs_err *e) {
  if (!s->src_done) {
    const city_trip *t = NULL;
    size_t n = 0;
    int rc = s->src.next(s->src.ctx, &t, &n, e);
    if (rc) return rc;
    if (n == 0) {
      s->src_done = 1;
      sim_order_source_close(&s->src);
      return 0;
    }
    return orders_append(s, t, n, e);
  }
  return 0;
}

/* Takes in chunks until the last order held is requested at t or later, or
 * the source has no more. */
static int orders_until(sim_engine *s, int64_t t, rs_err *e) {
  while (!s->src_done && (s->n_orders == 0 || s->orders[s->n_orders - 1].t_request < t)) {
    int rc = orders_pull(s, e);
    if (rc) return rc;
  }
  return 0;
}

/* The orders the placement reads before the run starts (fleet.c): for
 * "demand", the pickups of the first 30 minutes (every order when there
 * is none then); for "uniform", every order; for "history", none. */
static int orders_for_placement(sim_engine *s, rs_err *e) {
  const char *pl = s->sc.placement;
  if (strcmp(pl, "history") == 0) return orders_until(s, INT64_MIN, e);
  if (strcmp(pl, "uniform") == 0) return orders_until(s, INT64_MAX, e);
  int rc = orders_until(s, s->from + 1800, e);
  if (rc == 0 && s->n_orders > 0 && s->orders[0].t_request >= s->from + 1800)
    rc = orders_until(s, INT64_MAX, e);
  return rc;
}

/* ------------------------------------------------------------ creation */

int sim_engine_new(const sim_scenario *sc, const city_travel *tm, city_trip *trips,
                   size_t n_trips, int64_t t_from, int64_t t_to, disp_policy *dp,
                   disp_repolicy *rp, sim_engine **out, rs_err *e) {
  return sim_engine_new_placed(sc, tm, trips, n_trips, t_from, t_to, NULL, 0, dp, rp, out, e);
}

int sim_engine_new_placed(const sim_scenario *sc, const city_travel *tm, city_trip *trips,
                          size_t n_trips, int64_t t_from, int64_t t_to, const city_loc *pts,
                          size_t n_pts, disp_policy *dp, disp_repolicy *rp, sim_engine **out,
                          rs_err *e) {
  *out = NULL;
  sim_order_source src;
  int rc = sim_order_source_array(trips, n_trips, 0, &src, e);
  if (rc) return rc;
  return sim_engine_new_source(sc, tm, src, t_from, t_to, pts, n_pts, dp, rp, out, e);
}

int sim_engine_new_source(const sim_scenario *sc, const city_travel *tm, sim_order_source src,
                          int64_t t_from, int64_t t_to, const city_loc *pts, size_t n_pts,
                          disp_policy *dp, disp_repolicy *rp, sim_engine **out, rs_err *e) {
  *out = NULL;
  const city_def *city = tm->city;
  if (t_to <= t_from || t_to - t_from > INT32_MAX) {
    sim_order_source_close(&src);
    return rs_err_set(e, RS_EINVAL, t_to <= t_from ? "engine: empty horizon"
                                                   : "engine: horizon longer than 2^31 s");
  }
  if (sc->warmup_s < 0 || sc->warmup_s > SIM_WARMUP_MAX_S || sc->drain_s < -1) {
    sim_order_source_close(&src);
    return rs_err_set(e, RS_EINVAL, "engine: a warm-up of 0 to %d s and a drain of -1 or more "
                                    "seconds", SIM_WARMUP_MAX_S);
  }
  int64_t t_start = t_from - sc->warmup_s; /* the warm-up's orders count from here */
  int32_t n_drivers = sc->drivers == -1 ? city->default_fleet : sc->drivers;
  if (n_drivers <= 0) {
    sim_order_source_close(&src);
    return rs_err_set(e, RS_EINVAL, "engine: the fleet must have at least one driver");
  }
  sim_engine *s = calloc(1, sizeof *s);
  if (s == NULL) {
    sim_order_source_close(&src);
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
  }
  s->src = src;
  s->sc = *sc;
  s->idle_walk = strcmp(sc->idle_model, "random-walk") == 0;
  s->city = city;
  s->tm = tm;
  s->nodes = tm->ops->nodes;
  s->from = t_from;
  s->to = t_to;
  s->start = t_start;
  s->end = sc->drain_s < 0 ? INT64_MAX : t_to + sc->drain_s;
  s->now = s->start;
  s->dp = dp;
  /* A batch policy that is not maximal decides every waiting order at
   * every tick, and leaves many waiting: their searches are kept between
   * ticks (candidates.h: kept rows; the same graph), for the orders held. */
  s->keep_rows = !dp->immediate && !dp->maximal;
  s->rp = rp;
  s->n_drivers = n_drivers;
  sim_queue_init(&s->q);
  int rc = city_def_grid(city, &s->grid, e);
  if (rc) {
    sim_engine_free(s);
    return rc;
  }
  size_t nd = (size_t)n_drivers;
  s->drivers = rs_mem_array(nd, sizeof *s->drivers, 64, 1);
  s->drec = rs_mem_array(nd, sizeof *s->drec, 0, 1);
  s->dstate = rs_mem_array(nd, sizeof *s->dstate, _Alignof(sim_dstate), 1);
  int parts_failed = sim__repo_init(s) != 0;
  parts_failed |= sim_series_init(&s->series, t_from, t_to) != 0;
  s->idx = disp_index_new(tm, &s->grid, n_drivers);
  if (s->nodes) s->cell_node = malloc((size_t)s->grid.n_cells * sizeof *s->cell_node);
  s->cell_u = malloc((size_t)s->grid.n_cells * sizeof *s->cell_u);
  s->in_service = malloc((size_t)s->grid.n_cells);
  s->drv_stamp = calloc(nd, sizeof *s->drv_stamp);
  s->fresh_idle = malloc(nd * sizeof *s->fresh_idle);
  if (s->idx) {
    s->max_ring = disp_index_max_ring(s->idx, sc->radius_m);
    s->ring = malloc((size_t)city_hex_kring_size(s->max_ring) * sizeof *s->ring);
    parts_failed |= sim_waiting_init(&s->w, &s->grid, s->max_ring, sc->radius_m,
                                     city->earth_radius_m, (const double(*)[3])s->cell_u) != 0;
  }
  if (parts_failed || !s->cell_u || !s->in_service || (s->nodes && !s->cell_node) ||
      !s->drv_stamp || !s->fresh_idle || !s->ring || !s->drivers || !s->drec || !s->dstate ||
      !s->idx) {
    sim_engine_free(s);
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory for %d drivers", n_drivers);
  }
  for (int32_t c = 0; c < s->grid.n_cells; c++) {
    double lat, lng;
    city_grid_center(&s->grid, city_grid_hex(&s->grid, c), &lat, &lng);
    rs_unit_vector(lat, lng, s->cell_u[c]);
    if (s->nodes) s->cell_node[c] = city_travel_snap(tm, lat, lng);
  }
  city_def_service_cells(city, &s->grid, s->in_service);
  pcg32_stream(&s->rng_policy, sc->seed, PCG_STREAM_POLICY);
  pcg32_stream(&s->rng_repo, sc->seed, PCG_STREAM_REPOSITION);
  pcg32_stream(&s->rng_idle, sc->seed, PCG_STREAM_IDLE);
  pcg32_stream(&s->rng_fleet, sc->seed, PCG_STREAM_FLEET);
  pcg32_stream(&s->rng_shift, sc->seed, PCG_STREAM_SHIFTS);
  if ((rc = orders_reserve(s, 1, e)) != 0 || (rc = orders_pull(s, e)) != 0 ||
      (rc = orders_for_placement(s, e)) != 0 || (rc = sim__fleet_place(s, pts, n_pts, e)) != 0 ||
      (rc = sim__fleet_start(s, e)) != 0 ||
      (rc = sim__push(s, s->start, SIM_EV_TICK, -1, 0, e)) != 0 ||
      (rc = sim__push(s, s->start + sc->repo_tick_s, SIM_EV_REPO_TICK, -1, 0, e)) != 0) {
    sim_engine_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void sim_engine_free(sim_engine *s) {
  if (s == NULL) return;
  sim_order_source_close(&s->src);
  sim_tally_free(&s->tally);
  free(s->orders);
  free(s->orec);
  free(s->cancel_u);
  free(s->trip_m);
  free(s->du);
  free(s->modelled);
  free(s->drivers);
  free(s->drec);
  free(s->dstate);
  sim__repo_free(s);
  free(s->rep_pairs);
  free(s->rep_eta);
  sim_series_free(&s->series);
  sim_waiting_free(&s->w);
  free(s->cell_u);
  free(s->in_service);
  free(s->cell_node);
  free(s->fresh);
  free(s->fresh_idle);
  free(s->drv_stamp);
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
int64_t sim_engine_start(const sim_engine *s) { return s->start; }
int64_t sim_engine_horizon_s(const sim_engine *s) { return sim__horizon_part(s, s->from, s->now); }
int64_t sim_engine_drain_s(const sim_engine *s) { return s->now > s->to ? s->now - s->to : 0; }
int64_t sim_engine_events(const sim_engine *s) { return s->events; }
int sim_engine_done(const sim_engine *s) { return s->done; }
/* The position of the horizon's first order held (the warm-up's held come
 * before it). */
static size_t held_warm(const sim_engine *s) {
  return s->n_warm > s->base ? s->n_warm - s->base : 0;
}
size_t sim_engine_n_orders(const sim_engine *s) { return s->base + s->n_orders - s->n_warm; }
size_t sim_engine_n_requested(const sim_engine *s) {
  return s->base + s->cursor > s->n_warm ? s->base + s->cursor - s->n_warm : 0;
}
size_t sim_engine_n_handed(const sim_engine *s) {
  return s->base > s->n_warm ? s->base - s->n_warm : 0;
}
size_t sim_engine_order_capacity(const sim_engine *s) { return s->cap_orders; }
void sim_engine_set_order_sink(sim_engine *s, sim_order_sink k) { s->sink = k; }
const disp_order *sim_engine_orders(const sim_engine *s) { return s->orders + held_warm(s); }
const sim_order_rec *sim_engine_order_recs(const sim_engine *s) {
  return s->orec + held_warm(s);
}
size_t sim_engine_n_warmup(const sim_engine *s) { return held_warm(s); }
const sim_order_rec *sim_engine_order_rec(const sim_engine *s, int32_t o) {
  return o >= 0 && (size_t)o < s->n_orders ? &s->orec[o] : NULL;
}
const double *sim_engine_trip_m(const sim_engine *s) { return s->trip_m; }
int32_t sim_engine_n_drivers(const sim_engine *s) { return s->n_drivers; }
const sim_driver_rec *sim_engine_driver_recs(const sim_engine *s) {
  sim__sync_drec(s);
  return s->drec;
}
const disp_driver *sim_engine_drivers(const sim_engine *s) { return s->drivers; }
const int32_t *sim_engine_state_counts(const sim_engine *s) { return s->n_state; }

void sim_engine_driver_view(const sim_engine *s, int32_t d, sim_driver_view *v) {
  const disp_driver *dv = &s->drivers[d];
  const sim_dstate *ds = &s->dstate[d];
  v->state = dv->state;
  int moving = dv->state == DISP_PICKUP || dv->state == DISP_OCCUPIED ||
               dv->state == DISP_REPOSITION;
  v->order = dv->state == DISP_PICKUP || dv->state == DISP_OCCUPIED ? ds->order : -1;
  if (moving) {
    v->lat = ds->flat;
    v->lng = ds->flng;
    v->tlat = ds->tlat;
    v->tlng = ds->tlng;
    v->t_depart = ds->t_depart;
    v->t_arrive = ds->t_arrive;
  } else {
    v->lat = v->tlat = dv->lat;
    v->lng = v->tlng = dv->lng;
    v->t_depart = v->t_arrive = ds->since;
  }
}
void sim_engine_set_check(sim_engine *s, int on) { s->check = on; }
void sim_engine_set_observer(sim_engine *s, disp_observer ob) { s->observer = ob; }
void sim_engine_set_cancel_model(sim_engine *s, sim_cancel_model m) { s->cancel = m; }

void sim_engine_set_idle_mover(sim_engine *s, sim_idle_mover m) {
  s->mover = m;
  /* drivers already idle start drifting from now */
  for (int32_t d = 0; d < s->n_drivers; d++)
    if (s->drivers[d].state == DISP_IDLE && !s->idle_walk)
      s->oom |= sim_queue_push(&s->q, s->now + s->sc.idle_step_s, SIM_EV_IDLE_MOVE, d,
                               s->dstate[d].epoch) != 0;
}

const disp_solve_stat *sim_engine_solve_stats(const sim_engine *s, int32_t *n) {
  *n = 0;
  if (s->dp->solve_stats == NULL) return NULL;
  return s->dp->solve_stats(s->dp->ctx, n);
}

/* ------------------------------------------------------------ invariants */

int sim_engine_check(const sim_engine *s, rs_err *e) {
  if (sim_queue_check(&s->q) != 0)
    return rs_err_set(e, RS_EINVAL, "invariant: event queue out of heap order at t=%lld",
                      (long long)s->now);
  if (disp_index_check(s->idx, s->drivers) != 0)
    return rs_err_set(e, RS_EINVAL, "invariant: idle index disagrees with driver states at t=%lld",
                      (long long)s->now);
  if (sim_waiting_check(&s->w, e) != 0) return RS_EINVAL;
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
    if (sum + sim__horizon_part(s, s->dstate[d].since, s->now) !=
        sim__horizon_part(s, s->from, s->now))
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

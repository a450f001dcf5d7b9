/*
 * waiting: the engine's index of the orders waiting for a driver.
 *
 * A requested order waits until it is matched or expires. A dispatch tick
 * must find the waiting orders worth another look without walking all of
 * them when few can have changed, so they are kept three ways:
 *
 *   in request order   `list`, for the ticks that reconsider every order
 *                      (dead entries stay until a walk compacts them);
 *   per pickup cell    a doubly linked list per cell, also in request
 *                      order, for the orders near a given point;
 *   per order          `live` (waiting now) and `exhausted` (see below).
 *
 * Exhausted orders. Under a policy that is `maximal`, an order left
 * unmatched with fewer candidates than it asked for had every idle driver
 * within the radius taken: it is exhausted, and only a driver that becomes
 * idle (or moves) within reach of its cell can change that. The engine
 * marks orders (sim_waiting_set_exhausted) and, at each tick, wakes the
 * cells within reach of such fresh drivers (sim_waiting_wake_*);
 * sim_waiting_rows then picks the orders to reconsider. n_open counts the
 * waiting orders not exhausted.
 *
 * Streams. A tick at which every waiting order is exhausted looks only at
 * the orders near the fresh drivers: each driver gets a slot, a stream of
 * the waiting orders within its reach in request order, merged from the
 * cell lists around it by a heap of list positions; a second heap orders
 * the slots by their heads, so the oldest head over all slots is next
 * (sim_waiting_streams_*). See waiting.c for how a stream survives the
 * orders decided while it is open.
 *
 * Ownership: the index owns its arrays and the ring walk; the orders and
 * the cells' unit vectors are borrowed from the engine and must outlive
 * it. Order indices are those of the engine's order array; orders are
 * added in index order.
 */
#ifndef SIM_WAITING_H
#define SIM_WAITING_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/hexgrid.h"
#include "dispatch/policy.h"
#include "dispatch/rings.h"

/* An order in its pickup cell's list, with the pickup beside the links: a
 * stream reads both together. */
typedef struct {
  double pu[3];        /* the order's pickup as a unit vector */
  int32_t next, prev;  /* neighbours in the cell's list, -1 at the ends */
} sim_wait_node;

/* Invariants (sim_waiting_check): list is strictly increasing and holds
 * every live order; n_live counts the live orders and n_open those not
 * exhausted; the cell lists hold exactly the live orders with a pickup
 * cell, each in its cell's list, in increasing order, linked both ways;
 * margin cells of the walk hold nothing. */
typedef struct {
  const disp_order *orders;   /* borrowed: pcell and pu of each order */
  size_t n_orders;            /* orders held (the engine's count) */
  size_t cap_orders;          /* room of the per-order arrays */
  /* request order */
  int32_t *list;              /* waiting orders, oldest first (lazy) */
  int32_t n_list;             /* entries */
  size_t cap_list;            /* room (also of rows and row_fresh) */
  int32_t *rows;              /* sim_waiting_rows' output: orders ... */
  uint8_t *row_fresh;         /* ... and per row: only fresh drivers can take it */
  /* per order */
  uint8_t *live;              /* 1 while waiting (a dense copy of the status) */
  uint8_t *exhausted;         /* see above */
  int64_t n_live;             /* requested orders still waiting */
  int64_t n_open;             /* ... of which not exhausted */
  /* per cell: the lists' ends are kept per padded cell (dispatch/rings.h),
   * so that a walk over a point's rings reads them with no bounds checks */
  disp_rings walk;            /* out to the radius's rings (owned) */
  int32_t *cell_head;         /* per padded cell: its oldest waiting order, -1 */
  int32_t *cell_tail;         /* per padded cell: its newest waiting order, -1 */
  sim_wait_node *node;        /* per order: its cell list links and pickup */
  const double (*cell_u)[3];  /* borrowed: per cell, its centre as a unit vector */
  double reach2;              /* squared unit chord of the radius (widened) */
  double cell_reach2;         /* ... of the radius plus a cell's circumradius */
  /* woken cells */
  int32_t n_cells;            /* cells of the grid */
  uint32_t *cell_stamp;       /* per cell: the last wake round that reached it */
  uint32_t wake;              /* the current wake round, never 0 */
  /* streams: slot f's list positions are st_pos[f * st_width, + st_n[f]) */
  int32_t st_width;           /* per-slot room: the cells of a walk */
  int32_t *st_pos;            /* per slot: a min-heap of list positions */
  int32_t *st_n;              /* per slot: positions in its heap */
  int32_t *st_head;           /* per slot: its next order, -1 */
  int32_t *st_who;            /* per slot: the caller's id (a driver) */
  const double **st_u;        /* per slot: its point as a unit vector (borrowed) */
  int32_t *st_heap;           /* slots by (st_head, slot) */
  size_t st_cap;              /* slots allocated */
  size_t st_pos_cap;          /* entries of st_pos allocated */
  int32_t n_slots;            /* slots opened since streams_begin */
  size_t n_heap;              /* slots in st_heap */
} sim_waiting;

/* Sets up an empty index for no orders yet (sim_waiting_reserve makes
 * room) in grid g, whose streams reach radius_m (a sphere of
 * earth_radius_m) through `rings` rings of cells (enough to cover the
 * radius: disp_index_max_ring). cell_u holds each cell's centre as a unit
 * vector. Returns 0, or RS_ENOMEM (also for a grid too large to pad), in
 * which case sim_waiting_free releases what was allocated. */
int sim_waiting_init(sim_waiting *w, const city_grid *g, int32_t rings, double radius_m,
                     double earth_radius_m, const double (*cell_u)[3]);
void sim_waiting_free(sim_waiting *w);

/* The engine's orders are now at `orders`, with room for cap of them:
 * the per-order arrays grow to cap (n_orders of them kept, the rest
 * zero). Returns 0, or RS_ENOMEM with the arrays as they were (orders is
 * taken either way: the engine's old array is gone). */
int sim_waiting_reserve(sim_waiting *w, const disp_order *orders, size_t cap);
/* The engine dropped its orders [0, k), none of them waiting: order o
 * (o >= k) is now o - k, in every list, link and flag; n_orders drops by
 * k. O(held orders + list + padded cells). Not while streams are open. */
void sim_waiting_drop(sim_waiting *w, size_t k);

/* Order o (greater than every order added before) starts waiting, not
 * exhausted. Returns 0, or RS_ENOMEM with a message in e, in which case the
 * index is unchanged. */
int sim_waiting_add(sim_waiting *w, int32_t o, rs_err *e);
/* Order o (waiting) stops waiting: matched, expired or open at the close. */
void sim_waiting_leave(sim_waiting *w, int32_t o);

static inline int sim_waiting_live(const sim_waiting *w, int32_t o) { return w->live[o]; }

/* Marks order o exhausted (v = 1) or not (v = 0); n_open follows while o
 * waits. */
static inline void sim_waiting_set_exhausted(sim_waiting *w, int32_t o, uint8_t v) {
  if (w->live[o]) w->n_open += (int64_t)w->exhausted[o] - v;
  w->exhausted[o] = v;
}

/* A new wake round: no cell is woken. */
void sim_waiting_wake_begin(sim_waiting *w);
/* Wakes cells[0, n) for the current round. */
static inline void sim_waiting_wake(sim_waiting *w, const int32_t *cells, int32_t n) {
  for (int32_t k = 0; k < n; k++) w->cell_stamp[cells[k]] = w->wake;
}

/* Compacts `list` (dead entries dropped, request order kept) and picks the
 * orders a tick reconsiders into rows[0, n) (returned), oldest first: every
 * order not exhausted (row_fresh 0), and every exhausted order in a woken
 * cell (row_fresh 1). An exhausted order without a pickup cell is a row
 * (row_fresh 0) when cellless_rows, else left out. */
int32_t sim_waiting_rows(sim_waiting *w, int cellless_rows);
/* Drops the dead entries of `list` once they outnumber the live ones (a
 * walk that does not go through sim_waiting_rows leaves them). */
void sim_waiting_trim(sim_waiting *w);

/* Streams. A round of them: streams_begin(n) makes room for n slots;
 * stream_add opens a slot per point; streams_start orders the slots; then
 * streams_top names the slot whose head is oldest (ties: the slot opened
 * first), which the caller decides and moves on with streams_advance (the
 * head is consumed: the slot moves to its next order) or drops with
 * streams_drop (its point is no longer of interest). Only the order at a
 * top may leave the index while streams are open. */
int sim_waiting_streams_begin(sim_waiting *w, int32_t n, rs_err *e);
/* Opens a slot for caller id `who` at the point whose cell is `cell` and
 * unit vector `u` (which must stay valid and unchanged while the slot
 * lives). Returns the slot's head, the oldest waiting order within the
 * radius of u, or -1 when there is none, in which case no slot is kept. */
int32_t sim_waiting_stream_add(sim_waiting *w, int32_t who, int32_t cell, const double u[3]);
void sim_waiting_streams_start(sim_waiting *w);
/* The top slot's head order (and *who its id), or -1 when no slot is
 * left. */
static inline int32_t sim_waiting_streams_top(const sim_waiting *w, int32_t *who) {
  if (w->n_heap == 0) return -1;
  int32_t f = w->st_heap[0];
  *who = w->st_who[f];
  return w->st_head[f];
}
/* Moves the top slot past its head. Returns its next head, or -1 when it
 * has none (the slot is then dropped). */
int32_t sim_waiting_streams_advance(sim_waiting *w);
/* Drops the top slot. */
void sim_waiting_streams_drop(sim_waiting *w);

/* Walks the invariants above. 0 when all hold; otherwise RS_EINVAL with a
 * message in e. O(orders + cells). */
int sim_waiting_check(const sim_waiting *w, rs_err *e);

#endif

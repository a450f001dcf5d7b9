/*
 * waiting: the waiting orders in request order, per pickup cell, and as
 * streams around points; see waiting.h.
 *
 * Job. Answer, cheaply, the engine's three questions about waiting orders:
 * which ones does a tick reconsider (sim_waiting_rows: the list walk), which
 * ones lie near a driver that just came free, oldest first (the streams),
 * and is anything left to reconsider at all (n_live, n_open).
 *
 * Cell lists. Orders are added in index order, which is request order, and
 * appended to their pickup cell's list, so every list stays sorted without
 * a comparison. Leaving unlinks an order in O(1); its own links are left as
 * they were, which a stream relies on (below).
 *
 * Streams. A slot's stream merges the sorted lists of the cells around its
 * point that can hold a point within the radius (those whose centre is
 * within the radius plus a cell's reach), by a binary heap of list
 * positions keyed by the order index itself. Stepping the stream pops the
 * smallest position, pushes its successor in the same list, and stops at
 * the first order that is live and within the radius. A position is
 * stepped past before the order there is decided, so deciding the head
 * (the only order that may leave while streams are open) never unlinks a
 * position a heap still holds: every position in a slot's heap is after
 * its head, and the head decided is the oldest of all heads. The slots are
 * merged by a second binary heap ordered by (head, slot), a total order:
 * the sequence of tops does not depend on either heap's shape.
 *
 * The radius tests use squared unit chords widened against rounding: they
 * only ever admit more orders, and the candidate search decides.
 *
 * Costs. add and leave O(1); rows O(list); trim O(list) when it compacts;
 * opening a slot O(cells of the walk), stepping it O(log cells) per order
 * passed; the slot heap O(log slots) per top. Arrays grow by doubling and
 * never shrink; nothing is allocated in the steady state.
 *
 * Alternatives not taken: a k-d tree or buckets of waiting orders rebuilt
 * per tick (the cell lists are already a grid, kept up to date at O(1) per
 * change); one merged walk over every woken cell's list instead of a slot
 * per driver (it would visit orders no fresh driver can reach, and could
 * not end early once every fresh driver is taken).
 */
#include "sim/waiting.h"

#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/rs_heap.h"
#include "base/rs_mem.h"
#include "base/rs_vec.h"

/* list positions, keyed by the order index they name */
#define POS_LESS(x, y) (*(x) < *(y))
RS_HEAP_DEFINE(pos_heap, int32_t, 2, POS_LESS, RS_HEAP_NO_MOVE)
/* slots, keyed by (their head, the slot): ctx is st_head */
#define SLOT_LESS(x, y) (ctx[*(x)] < ctx[*(y)] || (ctx[*(x)] == ctx[*(y)] && *(x) < *(y)))
RS_HEAP_DEFINE_CTX(slot_heap, int32_t, 2, const int32_t *, SLOT_LESS, RS_HEAP_NO_MOVE)

int sim_waiting_init(sim_waiting *w, const city_grid *g, int32_t rings, double radius_m,
                     double earth_radius_m, const double (*cell_u)[3]) {
  memset(w, 0, sizeof *w);
  w->cell_u = cell_u;
  w->n_cells = g->n_cells;
  w->cell_stamp = calloc((size_t)g->n_cells, sizeof *w->cell_stamp);
  w->st_width = city_hex_kring_size(rings);
  if (disp_rings_init(&w->walk, g, rings) == 0) {
    w->cell_head = malloc((size_t)w->walk.n_padded * sizeof *w->cell_head);
    w->cell_tail = malloc((size_t)w->walk.n_padded * sizeof *w->cell_tail);
  }
  if (!w->cell_stamp || !w->cell_head || !w->cell_tail) return RS_ENOMEM;
  for (int32_t c = 0; c < w->walk.n_padded; c++) w->cell_head[c] = w->cell_tail[c] = -1;
  w->wake = 1;
  /* Squared chords of the radius and of the radius plus a cell's reach
   * beyond its centre (the edge, widened for the projection's distortion,
   * below 0.3 % over a city), both widened against rounding: they only
   * ever admit more, the candidate search decides. */
  w->reach2 = rs_m_to_chord2(radius_m, earth_radius_m) * (1 + 1e-8);
  w->cell_reach2 = rs_m_to_chord2(radius_m + 1.01 * g->edge_m, earth_radius_m) * (1 + 1e-8);
  return 0;
}

void sim_waiting_free(sim_waiting *w) {
  free(w->list);
  free(w->rows);
  free(w->row_fresh);
  free(w->live);
  free(w->exhausted);
  disp_rings_free(&w->walk);
  free(w->cell_head);
  free(w->cell_tail);
  free(w->node);
  free(w->cell_stamp);
  free(w->st_pos);
  free(w->st_n);
  free(w->st_head);
  free(w->st_who);
  free(w->st_u);
  free(w->st_heap);
  memset(w, 0, sizeof *w);
}

/* ------------------------------------------------------ the engine's orders */

int sim_waiting_reserve(sim_waiting *w, const disp_order *orders, size_t cap) {
  w->orders = orders;
  if (cap <= w->cap_orders) return 0;
  sim_wait_node *node = rs_mem_array(cap, sizeof *node, 0, 0);
  uint8_t *live = rs_mem_array(cap, 1, 0, 1);
  uint8_t *ex = calloc(cap, 1);
  if (node == NULL || live == NULL || ex == NULL) {
    free(node);
    free(live);
    free(ex);
    return RS_ENOMEM;
  }
  if (w->n_orders > 0) {
    memcpy(node, w->node, w->n_orders * sizeof *node);
    memcpy(live, w->live, w->n_orders);
    memcpy(ex, w->exhausted, w->n_orders);
  }
  free(w->node);
  free(w->live);
  free(w->exhausted);
  w->node = node;
  w->live = live;
  w->exhausted = ex;
  w->cap_orders = cap;
  return 0;
}

void sim_waiting_drop(sim_waiting *w, size_t k) {
  if (k == 0) return;
  size_t m = w->n_orders - k;
  int32_t k32 = (int32_t)k;
  memmove(w->node, w->node + k, m * sizeof *w->node);
  memmove(w->live, w->live + k, m);
  memmove(w->exhausted, w->exhausted + k, m);
  memset(w->live + m, 0, k);
  memset(w->exhausted + m, 0, k);
  /* links of orders no longer waiting are stale (never read between
   * ticks): they move too, to -1 where they named a dropped order */
  for (size_t i = 0; i < m; i++) {
    sim_wait_node *n = &w->node[i];
    n->next = n->next >= k32 ? n->next - k32 : -1;
    n->prev = n->prev >= k32 ? n->prev - k32 : -1;
  }
  for (int32_t c = 0; c < w->walk.n_padded; c++) {
    if (w->cell_head[c] >= 0) w->cell_head[c] -= k32;
    if (w->cell_tail[c] >= 0) w->cell_tail[c] -= k32;
  }
  int32_t n = 0;
  for (int32_t i = 0; i < w->n_list; i++)
    if (w->list[i] >= k32) w->list[n++] = w->list[i] - k32;
  w->n_list = n;
  w->n_orders = m;
}

/* ---------------------------------------------------------- add and leave */

int sim_waiting_add(sim_waiting *w, int32_t o, rs_err *e) {
  if ((size_t)w->n_list == w->cap_list) {
    /* list, rows and row_fresh grow together; a failure leaves the grown
     * ones grown (harmless) and cap_list true */
    size_t c1 = w->cap_list, c2 = w->cap_list, c3 = w->cap_list, need = (size_t)w->n_list + 1;
    if (rs_vec_grow(w->list, c1, need) || rs_vec_grow(w->rows, c2, need) ||
        rs_vec_grow(w->row_fresh, c3, need))
      return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
    w->cap_list = c1;
  }
  w->list[w->n_list++] = o;
  w->n_live++;
  w->live[o] = 1;
  w->n_open++; /* not exhausted until a decision says so */
  int32_t c = w->orders[o].pcell;
  if (c >= 0) { /* orders arrive in index order: each cell list stays sorted */
    c = w->walk.padded[c];
    sim_wait_node *wn = &w->node[o];
    memcpy(wn->pu, w->orders[o].pu, sizeof wn->pu);
    wn->next = -1;
    wn->prev = w->cell_tail[c];
    if (w->cell_tail[c] >= 0) w->node[w->cell_tail[c]].next = o;
    else w->cell_head[c] = o;
    w->cell_tail[c] = o;
  }
  return 0;
}

void sim_waiting_leave(sim_waiting *w, int32_t o) {
  w->n_live--;
  w->live[o] = 0;
  if (!w->exhausted[o]) w->n_open--;
  int32_t c = w->orders[o].pcell;
  if (c < 0) return;
  c = w->walk.padded[c];
  sim_wait_node *n = &w->node[o];
  if (n->prev >= 0) w->node[n->prev].next = n->next;
  else w->cell_head[c] = n->next;
  if (n->next >= 0) w->node[n->next].prev = n->prev;
  else w->cell_tail[c] = n->prev;
}

/* ------------------------------------------------------------- list walks */

void sim_waiting_wake_begin(sim_waiting *w) {
  if (++w->wake == 0) {
    memset(w->cell_stamp, 0, (size_t)w->n_cells * sizeof *w->cell_stamp);
    w->wake = 1;
  }
}

int32_t sim_waiting_rows(sim_waiting *w, int cellless_rows) {
  int32_t n = 0, n_rows = 0;
  for (int32_t i = 0; i < w->n_list; i++) {
    int32_t o = w->list[i];
    if (!w->live[o]) continue;
    w->list[n++] = o;
    int32_t c = w->orders[o].pcell;
    if (!w->exhausted[o] || (c < 0 && cellless_rows)) {
      w->row_fresh[n_rows] = 0;
      w->rows[n_rows++] = o;
    } else if (c >= 0 && w->cell_stamp[c] == w->wake) {
      w->row_fresh[n_rows] = 1;
      w->rows[n_rows++] = o;
    }
  }
  w->n_list = n;
  return n_rows;
}

void sim_waiting_trim(sim_waiting *w) {
  if (w->n_list <= 2 * w->n_live + 1024) return;
  int32_t n = 0;
  for (int32_t j = 0; j < w->n_list; j++)
    if (w->live[w->list[j]]) w->list[n++] = w->list[j];
  w->n_list = n;
}

/* ---------------------------------------------------------------- streams */

int sim_waiting_streams_begin(sim_waiting *w, int32_t n, rs_err *e) {
  w->n_slots = 0;
  w->n_heap = 0;
  size_t need = (size_t)n, c[5] = {w->st_cap, w->st_cap, w->st_cap, w->st_cap, w->st_cap};
  if (rs_vec_grow(w->st_pos, w->st_pos_cap, need * (size_t)w->st_width) ||
      rs_vec_grow(w->st_n, c[0], need) || rs_vec_grow(w->st_head, c[1], need) ||
      rs_vec_grow(w->st_who, c[2], need) || rs_vec_grow(w->st_heap, c[3], need) ||
      rs_vec_grow(w->st_u, c[4], need))
    return rs_err_set(e, RS_ENOMEM, "engine: out of memory");
  w->st_cap = c[0];
  return 0;
}

/* Moves slot f's stream to its next live order within the radius of its
 * point (st_head, -1 when none is left). */
static void stream_next(sim_waiting *w, int32_t f) {
  int32_t *h = w->st_pos + (size_t)f * (size_t)w->st_width;
  size_t n = (size_t)w->st_n[f];
  const double *u = w->st_u[f];
  int32_t head = -1;
  while (n > 0 && head < 0) {
    int32_t o = h[0];
    const sim_wait_node *wn = &w->node[o];
    if (wn->next >= 0) {
      h[0] = wn->next;
      pos_heap_down(h, n, 0);
    } else {
      pos_heap_pop(h, &n);
    }
    if (w->live[o] && rs_chord2(u, wn->pu) <= w->reach2) head = o;
  }
  w->st_n[f] = (int32_t)n;
  w->st_head[f] = head;
}

int32_t sim_waiting_stream_add(sim_waiting *w, int32_t who, int32_t cell, const double u[3]) {
  int32_t f = w->n_slots;
  int32_t *h = w->st_pos + (size_t)f * (size_t)w->st_width, n = 0;
  const int32_t *step = disp_rings_steps(&w->walk, cell);
  int32_t pc0 = w->walk.padded[cell];
  for (int32_t k = 0; k < w->walk.n_steps; k++) {
    int32_t pc = pc0 + step[k], head = w->cell_head[pc];
    /* only cells that can hold a point within the radius */
    if (head >= 0 && rs_chord2(u, w->cell_u[w->walk.dense[pc]]) <= w->cell_reach2) {
#if defined(__GNUC__)
      __builtin_prefetch(&w->node[head]); /* stream_next reads it */
#endif
      h[n++] = head;
    }
  }
  pos_heap_heapify(h, (size_t)n);
  w->st_who[f] = who;
  w->st_u[f] = u;
  w->st_n[f] = n;
  stream_next(w, f);
  if (w->st_head[f] < 0) return -1;
  w->st_heap[w->n_slots++] = f;
  return w->st_head[f];
}

void sim_waiting_streams_start(sim_waiting *w) {
  w->n_heap = (size_t)w->n_slots;
  slot_heap_heapify(w->st_head, w->st_heap, w->n_heap);
}

int32_t sim_waiting_streams_advance(sim_waiting *w) {
  int32_t f = w->st_heap[0];
  stream_next(w, f);
  if (w->st_head[f] < 0) slot_heap_pop(w->st_head, w->st_heap, &w->n_heap);
  else slot_heap_down(w->st_head, w->st_heap, w->n_heap, 0);
  return w->st_head[f];
}

void sim_waiting_streams_drop(sim_waiting *w) {
  w->st_head[w->st_heap[0]] = -1;
  slot_heap_pop(w->st_head, w->st_heap, &w->n_heap);
}

/* ------------------------------------------------------------- invariants */

int sim_waiting_check(const sim_waiting *w, rs_err *e) {
  int64_t live = 0, open = 0, linked = 0;
  for (size_t o = 0; o < w->n_orders; o++) {
    if (w->live[o] > 1 || w->exhausted[o] > 1)
      return rs_err_set(e, RS_EINVAL, "waiting: order %zu has a flag that is not 0 or 1", o);
    live += w->live[o];
    open += w->live[o] && !w->exhausted[o];
    linked += w->live[o] && w->orders[o].pcell >= 0;
  }
  if (live != w->n_live || open != w->n_open)
    return rs_err_set(e, RS_EINVAL,
                      "waiting: %lld orders live and %lld open, counted %lld and %lld",
                      (long long)live, (long long)open, (long long)w->n_live,
                      (long long)w->n_open);
  int64_t listed = 0;
  for (int32_t i = 0; i < w->n_list; i++) {
    int32_t o = w->list[i];
    if (o < 0 || (size_t)o >= w->n_orders || (i > 0 && o <= w->list[i - 1]))
      return rs_err_set(e, RS_EINVAL, "waiting: the request-order list is out of order at %d", i);
    listed += w->live[o];
  }
  if (listed != live)
    return rs_err_set(e, RS_EINVAL, "waiting: %lld live orders, %lld in the request-order list",
                      (long long)live, (long long)listed);
  int64_t walked = 0;
  for (int32_t pc = 0; pc < w->walk.n_padded; pc++) {
    int32_t last = -1, dense = w->walk.dense[pc];
    for (int32_t o = w->cell_head[pc]; o >= 0; last = o, o = w->node[o].next) {
      if ((size_t)o >= w->n_orders || ++walked > linked)
        return rs_err_set(e, RS_EINVAL, "waiting: cell list %d runs astray", pc);
      if (!w->live[o] || dense < 0 || w->orders[o].pcell != dense)
        return rs_err_set(e, RS_EINVAL, "waiting: order %d is in the list of cell %d", o, dense);
      if (w->node[o].prev != last || (last >= 0 && o <= last))
        return rs_err_set(e, RS_EINVAL, "waiting: cell %d's list is mislinked at order %d", dense,
                          o);
      if (memcmp(w->node[o].pu, w->orders[o].pu, sizeof w->node[o].pu) != 0)
        return rs_err_set(e, RS_EINVAL, "waiting: order %d's pickup differs in its cell list", o);
    }
    if (w->cell_tail[pc] != last)
      return rs_err_set(e, RS_EINVAL, "waiting: cell %d's list ends at %d, its tail says %d",
                        dense, last, w->cell_tail[pc]);
  }
  if (walked != linked)
    return rs_err_set(e, RS_EINVAL, "waiting: %lld orders in cell lists, %lld live with a cell",
                      (long long)walked, (long long)linked);
  return 0;
}

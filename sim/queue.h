/*
 * queue: the engine's event queue, ordered by (time, sequence number).
 *
 * Every push takes the next value of a counter as its sequence number, so
 * events at the same simulated time pop in the order they were pushed (first
 * in, first out), and an event pushed while handling time t at time t pops
 * after every event already queued for t. Ties therefore never depend on
 * memory layout or heap shape: the rule libuv's timer heap follows with
 * (deadline, start_id).
 *
 * Layout: the near future, the SIM_QUEUE_WINDOW seconds from the window
 * start (the time of the last pop, or of the first push into an empty
 * window), is a ring of one-second buckets, each a first-in-first-out list
 * of event nodes: pushing and popping there is O(1) (plus a bitmap scan
 * for the next non-empty second). Every other event (farther ahead, or
 * pushed behind the window) waits in a 4-ary min-heap. A pop takes the
 * smaller of the first bucket's head and the heap's top, so the order is
 * exactly (time, sequence) whichever store an event sits in.
 *
 * Costs: push and pop O(1) in the window, O(log n) in the heap; peek O(1).
 * Arrays grow by doubling and never shrink; in the steady state nothing is
 * allocated.
 */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define SIM_QUEUE_WINDOW 16384 /* seconds of buckets (a power of two): 4.5 h */

typedef struct {
  int64_t t;       /* simulated time, seconds (local epoch) */
  uint64_t seq;    /* push order, breaks ties */
  int32_t type;    /* event kind (sim/engine.c's enum) */
  int32_t who;     /* order or driver index */
  uint32_t epoch;  /* the driver's epoch when pushed: stale events are dropped */
} sim_event;

typedef struct {
  /* the window: buckets of nodes */
  sim_event *node;   /* node pool */
  int32_t *link;     /* per node: the next in its bucket, or in the free list */
  int32_t n_nodes;   /* nodes allocated */
  size_t cap_nodes;  /* room of node and link (n_nodes) */
  int32_t free_node; /* head of the free list, -1 */
  int32_t *head, *tail; /* per bucket: first and last node, -1 when empty */
  uint64_t *bits;    /* per bucket: set when non-empty */
  int64_t ws;        /* window start: buckets hold times [ws, ws + WINDOW) */
  size_t n_near;     /* events in buckets */
  /* everything else */
  sim_event *a;      /* 4-ary heap, a[0] is its minimum */
  size_t n_far;      /* events in the heap */
  size_t cap;        /* heap slots allocated */
  size_t n;          /* events queued: n_near + n_far */
  int32_t top;       /* the earliest event: a node, or -1 for a[0] */
  uint64_t next_seq; /* sequence number of the next push */
} sim_queue;

void sim_queue_init(sim_queue *q);
void sim_queue_close(sim_queue *q);
/* Queues an event (ev->seq is assigned). Returns 0 or RS_ENOMEM, in which
 * case the queue is unchanged. */
int sim_queue_push(sim_queue *q, int64_t t, int32_t type, int32_t who,
                   uint32_t epoch);
/* The earliest event, or NULL when empty; valid until the next push or
 * pop. */
static inline const sim_event *sim_queue_peek(const sim_queue *q) {
  if (q->n == 0) return NULL;
  return q->top >= 0 ? &q->node[q->top] : &q->a[0];
}
/* Removes the earliest event into *out. Returns 0, or -1 when empty. */
int sim_queue_pop(sim_queue *q, sim_event *out);
/* Calls fn on every queued event, in no particular order, so that it may
 * change the event's `who` (the engine renumbers the orders it keeps when
 * it drops those that ended: engine.c, compaction). fn must not change t,
 * seq or type, which place the event in the queue. */
void sim_queue_each(sim_queue *q, void (*fn)(void *ctx, sim_event *ev), void *ctx);
/* Walks both stores: bucket lists in sequence order and within the
 * window, the bitmap, the counts, the heap property, and the cached
 * earliest event; 0 when all hold. For tests and --check-invariants. */
int sim_queue_check(const sim_queue *q);

#endif

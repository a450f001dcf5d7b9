/*
 * queue: the engine's event queue, a 4-ary min-heap ordered by
 * (time, sequence number).
 *
 * Every push takes the next value of a counter as its sequence number, so
 * events at the same simulated time pop in the order they were pushed (first
 * in, first out), and an event pushed while handling time t at time t pops
 * after every event already queued for t. Ties therefore never depend on
 * memory layout or heap shape: the rule libuv's timer heap follows with
 * (deadline, start_id).
 *
 * Costs: push and pop O(log n), peek O(1). The array grows by doubling and
 * never shrinks; in the steady state nothing is allocated.
 */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t t;       /* simulated time, seconds (local epoch) */
  uint64_t seq;    /* push order, breaks ties */
  int32_t type;    /* event kind (sim/engine.c's enum) */
  int32_t who;     /* order or driver index */
  uint32_t epoch;  /* the driver's epoch when pushed: stale events are dropped */
} sim_event;

typedef struct {
  sim_event *a;    /* heap array, a[0] is the minimum */
  size_t n;        /* events queued */
  size_t cap;      /* allocated slots */
  uint64_t next_seq; /* sequence number of the next push */
} sim_queue;

void sim_queue_init(sim_queue *q);
void sim_queue_close(sim_queue *q);
/* Queues an event (ev->seq is assigned). Returns 0 or RS_ENOMEM, in which
 * case the queue is unchanged. */
int sim_queue_push(sim_queue *q, int64_t t, int32_t type, int32_t who,
                   uint32_t epoch);
/* The earliest event, or NULL when empty. */
static inline const sim_event *sim_queue_peek(const sim_queue *q) {
  return q->n ? &q->a[0] : NULL;
}
/* Removes the earliest event into *out. Returns 0, or -1 when empty. */
int sim_queue_pop(sim_queue *q, sim_event *out);
/* Walks the heap property; 0 when it holds. For tests and
 * --check-invariants. */
int sim_queue_check(const sim_queue *q);

#endif

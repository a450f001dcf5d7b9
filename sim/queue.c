/*
 * queue: 4-ary min-heap of events keyed by (t, seq); see queue.h.
 *
 * An implicit 4-ary heap: a[i]'s children are a[4i+1] .. a[4i+4], its
 * parent a[(i-1)/4]. Against a binary heap it halves the depth a pop walks
 * down, and the four children of a node sit in two cache lines.
 * Rejected: a calendar queue (faster for huge, evenly spread queues, but its
 * tuning depends on the event-time distribution and the engine's queue stays
 * at a few thousand events since order requests stream from the trip array).
 */
#include "sim/queue.h"

#include <stdlib.h>

#include "sim/rs_error.h"

static inline int ev_less(const sim_event *x, const sim_event *y) {
  return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

void sim_queue_init(sim_queue *q) {
  q->a = NULL;
  q->n = 0;
  q->cap = 0;
  q->next_seq = 0;
}

void sim_queue_close(sim_queue *q) {
  free(q->a);
  sim_queue_init(q);
}

int sim_queue_push(sim_queue *q, int64_t t, int32_t type, int32_t who,
                   uint32_t epoch) {
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 1024;
    sim_event *a = realloc(q->a, cap * sizeof *a);
    if (a == NULL) return RS_ENOMEM;
    q->a = a;
    q->cap = cap;
  }
  sim_event ev = {t, q->next_seq++, type, who, epoch};
  size_t i = q->n++;
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!ev_less(&ev, &q->a[parent])) break;
    q->a[i] = q->a[parent];
    i = parent;
  }
  q->a[i] = ev;
  return 0;
}

int sim_queue_pop(sim_queue *q, sim_event *out) {
  if (q->n == 0) return -1;
  *out = q->a[0];
  sim_event last = q->a[--q->n];
  size_t i = 0, n = q->n;
  for (;;) {
    size_t first = 4 * i + 1, c = first;
    if (first >= n) break;
    size_t end = first + 4 < n ? first + 4 : n;
    for (size_t k = first + 1; k < end; k++)
      if (ev_less(&q->a[k], &q->a[c])) c = k;
    if (!ev_less(&q->a[c], &last)) break;
    q->a[i] = q->a[c];
    i = c;
  }
  if (n > 0) q->a[i] = last;
  return 0;
}

int sim_queue_check(const sim_queue *q) {
  for (size_t i = 1; i < q->n; i++)
    if (ev_less(&q->a[i], &q->a[(i - 1) / 4])) return -1;
  return 0;
}

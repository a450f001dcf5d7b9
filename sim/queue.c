/*
 * queue: one-second buckets for the near future and a 4-ary heap for the
 * rest, ordered by (t, seq); see queue.h.
 *
 * Window. Buckets hold exactly the events with ws <= t < ws + WINDOW, at
 * index t mod WINDOW, so a bucket holds one time and its list, appended at
 * push, is in sequence order. The window start moves to each popped time
 * (every queued event is at or after it, so nothing leaves the window) and,
 * while the buckets are empty, to the time of the next push. An event
 * outside the window goes to the heap and stays there until popped: the pop
 * compares the heap's top with the first bucket's head, which is why no
 * event ever needs to move between the stores.
 *
 * Cached top. `top` names the earliest event (a node, or -1 for the heap's
 * top), updated by every push (one comparison) and pop (a scan of the
 * bitmap from the window start for the first non-empty second, then one
 * comparison), so peek is O(1) and const.
 *
 * Heap: an implicit 4-ary heap (base/rs_heap.h), a[i]'s children a[4i+1]
 * .. a[4i+4], its parent a[(i-1)/4]: half the depth of a binary heap, and
 * the four children of a node sit in two cache lines.
 *
 * Rejected: a heap alone (O(log n) per event, with unpredictable branches,
 * for the commonest operation of the engine); a
 * classic calendar queue with a tuned bucket width (its speed depends on
 * the event-time distribution; integer seconds make width 1 exact).
 */
#include "sim/queue.h"

#include <stdlib.h>
#include <string.h>

#include "base/rs_error.h"
#include "base/rs_heap.h"
#include "base/rs_vec.h"

#define W ((int64_t)SIM_QUEUE_WINDOW)
#define WORDS (SIM_QUEUE_WINDOW / 64)

static inline int ev_less(const sim_event *x, const sim_event *y) {
  return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static inline unsigned ctz64(uint64_t m) { /* m != 0 */
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(m);
#else
  unsigned n = 0;
  while (!(m & 1)) m >>= 1, n++;
  return n;
#endif
}

static inline size_t bucket_of(int64_t t) { return (size_t)((uint64_t)t & (uint64_t)(W - 1)); }

void sim_queue_init(sim_queue *q) {
  memset(q, 0, sizeof *q);
  q->free_node = -1;
  q->top = -1;
}

void sim_queue_close(sim_queue *q) {
  free(q->node);
  free(q->link);
  free(q->head);
  free(q->tail);
  free(q->bits);
  free(q->a);
  sim_queue_init(q);
}

static int buckets_alloc(sim_queue *q) {
  if (q->bits != NULL) return 0;
  int32_t *h = malloc((size_t)W * sizeof *h), *t = malloc((size_t)W * sizeof *t);
  uint64_t *b = calloc(WORDS, sizeof *b);
  if (h == NULL || t == NULL || b == NULL) {
    free(h);
    free(t);
    free(b);
    return RS_ENOMEM;
  }
  for (int64_t i = 0; i < W; i++) h[i] = t[i] = -1;
  q->head = h;
  q->tail = t;
  q->bits = b;
  return 0;
}

/* A free node, or -1 when out of memory. */
static int32_t node_alloc(sim_queue *q) {
  if (q->free_node < 0) {
    if (q->n_nodes > INT32_MAX / 2) return -1;
    size_t c1 = q->cap_nodes, c2 = q->cap_nodes, need = (size_t)q->n_nodes + 1;
    if (rs_vec_grow(q->node, c1, need) || rs_vec_grow(q->link, c2, need)) return -1;
    q->cap_nodes = c1;
    int32_t c = (int32_t)c1;
    for (int32_t k = c - 1; k >= q->n_nodes; k--) {
      q->link[k] = q->free_node;
      q->free_node = k;
    }
    q->n_nodes = c;
  }
  int32_t k = q->free_node;
  q->free_node = q->link[k];
  return k;
}

RS_HEAP_DEFINE(ev_heap, sim_event, 4, ev_less, RS_HEAP_NO_MOVE)

static int heap_push(sim_queue *q, const sim_event *ev) {
  if (rs_vec_grow(q->a, q->cap, q->n_far + 1)) return RS_ENOMEM;
  ev_heap_push(q->a, &q->n_far, *ev);
  return 0;
}

/* The head of the first non-empty bucket from the window start, or -1. */
static int32_t near_min(const sim_queue *q) {
  if (q->n_near == 0) return -1;
  size_t b = bucket_of(q->ws), w = b / 64;
  uint64_t m = q->bits[w] & (~(uint64_t)0 << (b % 64));
  /* WORDS + 1 words: the last is the first again, for the bits below b
   * (the latest seconds of the window) */
  for (size_t k = 0; k <= WORDS; k++) {
    if (m != 0) return q->head[w * 64 + (size_t)ctz64(m)];
    w = (w + 1) % WORDS;
    m = q->bits[w];
  }
  return -1; /* not reached: n_near > 0 */
}

int sim_queue_push(sim_queue *q, int64_t t, int32_t type, int32_t who,
                   uint32_t epoch) {
  sim_event ev = {t, q->next_seq, type, who, epoch};
  if (buckets_alloc(q) != 0) return RS_ENOMEM;
  if (q->n_near == 0 && (t < q->ws || t - q->ws >= W)) q->ws = t;
  if (t >= q->ws && t - q->ws < W) {
    int32_t k = node_alloc(q);
    if (k < 0) return RS_ENOMEM;
    q->node[k] = ev;
    q->link[k] = -1;
    size_t b = bucket_of(t);
    if (q->tail[b] >= 0) {
      q->link[q->tail[b]] = k;
    } else {
      q->head[b] = k;
      q->bits[b / 64] |= (uint64_t)1 << (b % 64);
    }
    q->tail[b] = k;
    /* a new minimum: its bucket was empty (equal times have lower seq) */
    if (q->n == 0 || ev_less(&ev, sim_queue_peek(q))) q->top = k;
    q->n_near++;
  } else {
    if (heap_push(q, &ev) != 0) return RS_ENOMEM;
    if (q->n == 0 || (q->top >= 0 && ev_less(&ev, &q->node[q->top]))) q->top = -1;
  }
  q->n++;
  q->next_seq++;
  return 0;
}

int sim_queue_pop(sim_queue *q, sim_event *out) {
  if (q->n == 0) return -1;
  if (q->top >= 0) {
    int32_t k = q->top; /* the head of its bucket */
    *out = q->node[k];
    size_t b = bucket_of(out->t);
    q->head[b] = q->link[k];
    if (q->head[b] < 0) {
      q->tail[b] = -1;
      q->bits[b / 64] &= ~((uint64_t)1 << (b % 64));
    }
    q->link[k] = q->free_node;
    q->free_node = k;
    q->n_near--;
  } else {
    *out = q->a[0];
    ev_heap_pop(q->a, &q->n_far);
  }
  q->n--;
  if (out->t > q->ws) q->ws = out->t;
  int32_t k = near_min(q);
  q->top = k >= 0 && !(q->n_far > 0 && ev_less(&q->a[0], &q->node[k])) ? k : -1;
#if defined(__GNUC__)
  /* the new top and the event after it, usually in the same second: their
   * nodes are then in cache by the time they are peeked */
  if (k >= 0) {
    __builtin_prefetch(&q->node[k]);
    if (q->link[k] >= 0) __builtin_prefetch(&q->node[q->link[k]]);
  }
#endif
  return 0;
}

void sim_queue_each(sim_queue *q, void (*fn)(void *ctx, sim_event *ev), void *ctx) {
  for (size_t i = 0; i < q->n_far; i++) fn(ctx, &q->a[i]);
  for (int64_t b = 0; q->bits != NULL && b < W; b++)
    if ((q->bits[b / 64] >> (b % 64)) & 1)
      for (int32_t k = q->head[b]; k >= 0; k = q->link[k]) fn(ctx, &q->node[k]);
}

int sim_queue_check(const sim_queue *q) {
  if (q->n != q->n_near + q->n_far) return -1;
  for (size_t i = 1; i < q->n_far; i++)
    if (ev_less(&q->a[i], &q->a[(i - 1) / 4])) return -1;
  const sim_event *min = q->n_far > 0 ? &q->a[0] : NULL;
  size_t near = 0;
  for (int64_t b = 0; q->bits != NULL && b < W; b++) {
    int32_t k = q->head[b], last = -1;
    int set = (q->bits[b / 64] >> (b % 64)) & 1;
    if (set != (k >= 0)) return -1;
    for (; k >= 0; last = k, k = q->link[k]) {
      if (k >= q->n_nodes || ++near > q->n_near) return -1; /* stray or a cycle */
      const sim_event *ev = &q->node[k];
      if ((int64_t)bucket_of(ev->t) != b || ev->t < q->ws || ev->t - q->ws >= W) return -1;
      if (last >= 0 && !ev_less(&q->node[last], ev)) return -1;
      if (min == NULL || ev_less(ev, min)) min = ev;
    }
    if (q->tail[b] != last) return -1;
  }
  if (near != q->n_near) return -1;
  if (q->n > 0 && sim_queue_peek(q) != min) return -1;
  return 0;
}

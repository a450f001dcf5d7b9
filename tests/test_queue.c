/*
 * Tests of sim/queue: the queue against a naive reference on random pushes
 * and pops with many equal times, with time ranges inside the bucket window,
 * several windows wide, and pushes behind the last pop, so that both stores
 * and their merge are exercised (the reference pops the minimum of
 * (time, push order) by a linear scan, and a push-all-then-pop-all run is
 * compared with a stable sort by time); first in, first out at equal times;
 * an event pushed while handling time t for time t pops after every event
 * already queued for t; sim_queue_check on good and broken queues; growth
 * past the first allocation; and pops from an empty queue.
 *
 * Random sequences come from PCG32 with the loop index as seed, so a failure
 * names a reproducible seed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "sim/queue.h"
#include "tests/testutil.h"

#define PROP_SEEDS 64      /* random sequences per property */
#define PROP_OPS 4000      /* operations per sequence */
#define GROWTH_EVENTS 200000

/* ---- the naive reference: an unordered array, minimum by linear scan ---- */

typedef struct {
  int64_t t;
  uint64_t order;    /* push order, counted by the reference itself */
  int32_t type, who;
  uint32_t epoch;
} ref_event;

typedef struct {
  ref_event *a;
  size_t n, cap;
  uint64_t pushed;
} ref_queue;

static void ref_push(ref_queue *r, int64_t t, int32_t type, int32_t who, uint32_t epoch) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 256;
    r->a = realloc(r->a, r->cap * sizeof *r->a);
    ck_assert_ptr_nonnull(r->a);
  }
  ref_event ev = {t, r->pushed++, type, who, epoch};
  r->a[r->n++] = ev;
}

static int ref_pop(ref_queue *r, ref_event *out) {
  if (r->n == 0) return -1;
  size_t best = 0;
  for (size_t i = 1; i < r->n; i++)
    if (r->a[i].t < r->a[best].t ||
        (r->a[i].t == r->a[best].t && r->a[i].order < r->a[best].order))
      best = i;
  *out = r->a[best];
  r->a[best] = r->a[--r->n];
  return 0;
}

static void assert_same(const sim_event *ev, const ref_event *rv, uint64_t seq0,
                        int seed, int op) {
  ck_assert_msg(ev->t == rv->t && ev->seq == seq0 + rv->order && ev->type == rv->type &&
                    ev->who == rv->who && ev->epoch == rv->epoch,
                "seed %d op %d: queue popped (t=%lld seq=%llu who=%d), reference "
                "(t=%lld order=%llu who=%d)",
                seed, op, (long long)ev->t, (unsigned long long)ev->seq, ev->who,
                (long long)rv->t, (unsigned long long)rv->order, rv->who);
}

/* ---- init / close ---- */

START_TEST(init_close) {
  sim_queue q;
  sim_queue_init(&q);
  ck_assert_uint_eq(q.n, 0);
  ck_assert_ptr_null(sim_queue_peek(&q));
  ck_assert_int_eq(sim_queue_check(&q), 0);
  for (int i = 0; i < 10; i++) ck_assert_int_eq(sim_queue_push(&q, 10 - i, 1, i, 0), 0);
  sim_queue_close(&q);
  /* A closed queue is an empty one and can be used again. */
  ck_assert_uint_eq(q.n, 0);
  ck_assert_ptr_null(q.a);
  ck_assert_ptr_null(sim_queue_peek(&q));
  ck_assert_int_eq(sim_queue_push(&q, 5, 2, 7, 3), 0);
  ck_assert_int_eq(sim_queue_peek(&q)->who, 7);
  sim_queue_close(&q);
  sim_queue_close(&q); /* twice is harmless */
}
END_TEST

/* ---- push / pop against the reference ---- */

/* Random pushes and pops, times drawn from a narrow range so that most
 * events tie with others; the queue must pop exactly what the reference
 * pops, and keep its heap property throughout. */
START_TEST(push_pop_vs_reference) {
  pcg32 rng;
  pcg32_seed(&rng, (uint64_t)_i, 77);
  sim_queue q;
  sim_queue_init(&q);
  ref_queue r = {0};
  /* The width of the time range changes per seed: 1 (all equal) to 64
   * for the first half of the seeds, up to three bucket windows for the
   * rest; every fourth seed also pushes behind the last pop. */
  uint32_t width = _i < PROP_SEEDS / 2 ? 1 + (uint32_t)_i % 64
                                       : 1 + (uint32_t)_i * (3 * SIM_QUEUE_WINDOW / PROP_SEEDS);
  int back = _i % 4 == 3;
  int64_t base = 1000;
  for (int op = 0; op < PROP_OPS; op++) {
    uint32_t x = pcg32_bounded(&rng, 10);
    if (x < 6 || q.n == 0) {
      int64_t t = base + (int64_t)pcg32_bounded(&rng, width);
      if (back && pcg32_bounded(&rng, 8) == 0) t = base - 1 - (int64_t)pcg32_bounded(&rng, width);
      int32_t type = (int32_t)pcg32_bounded(&rng, 10);
      int32_t who = (int32_t)pcg32_next(&rng);
      uint32_t epoch = pcg32_next(&rng);
      ck_assert_int_eq(sim_queue_push(&q, t, type, who, epoch), 0);
      ref_push(&r, t, type, who, epoch);
    } else {
      /* The engine's clock only moves forward: after a pop at t, later
       * pushes are at t or after (but for the seeds that push behind).
       * Check both the peek and the pop. */
      const sim_event *top = sim_queue_peek(&q);
      sim_event ev;
      ref_event rv;
      ck_assert_ptr_nonnull(top);
      sim_event peeked = *top;
      ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
      ck_assert_int_eq(ref_pop(&r, &rv), 0);
      ck_assert_mem_eq(&peeked, &ev, sizeof ev);
      assert_same(&ev, &rv, 0, _i, op);
      if (pcg32_bounded(&rng, 2)) base = ev.t;
    }
    ck_assert_uint_eq(q.n, r.n);
    if (op % 97 == 0) ck_assert_int_eq(sim_queue_check(&q), 0);
  }
  /* Drain. */
  sim_event ev;
  ref_event rv;
  int op = PROP_OPS;
  while (ref_pop(&r, &rv) == 0) {
    ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
    assert_same(&ev, &rv, 0, _i, op++);
  }
  ck_assert_int_eq(sim_queue_pop(&q, &ev), -1);
  free(r.a);
  sim_queue_close(&q);
}
END_TEST

typedef struct {
  int64_t t;
  size_t idx;   /* push order */
} sort_key;

static int cmp_key(const void *a, const void *b) {
  const sort_key *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Push everything, then pop everything: the pop order is the stable sort of
 * the pushes by time. */
START_TEST(pop_order_is_stable_sort) {
  pcg32 rng;
  pcg32_seed(&rng, (uint64_t)_i, 78);
  size_t n = 1 + pcg32_bounded(&rng, 5000);
  uint32_t width = 1 + pcg32_bounded(&rng, 20);
  sort_key *k = malloc(n * sizeof *k);
  ck_assert_ptr_nonnull(k);
  sim_queue q;
  sim_queue_init(&q);
  for (size_t i = 0; i < n; i++) {
    k[i].t = -50 + (int64_t)pcg32_bounded(&rng, width); /* negative times too */
    k[i].idx = i;
    ck_assert_int_eq(sim_queue_push(&q, k[i].t, 0, (int32_t)i, 0), 0);
  }
  ck_assert_int_eq(sim_queue_check(&q), 0);
  qsort(k, n, sizeof *k, cmp_key);
  for (size_t i = 0; i < n; i++) {
    sim_event ev;
    ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
    ck_assert_int_eq(ev.t, k[i].t);
    ck_assert_int_eq(ev.who, (int32_t)k[i].idx);
    ck_assert_uint_eq(ev.seq, k[i].idx);
  }
  ck_assert_uint_eq(q.n, 0);
  free(k);
  sim_queue_close(&q);
}
END_TEST

/* ---- the rules at equal times ---- */

START_TEST(fifo_at_equal_times) {
  sim_queue q;
  sim_queue_init(&q);
  /* Interleave three times so the heap shape is not trivially sorted. */
  for (int32_t i = 0; i < 300; i++)
    ck_assert_int_eq(sim_queue_push(&q, 100 + (i % 3) * 10, 0, i, 0), 0);
  for (int64_t t = 100; t <= 120; t += 10) {
    int32_t last = -1;
    for (int i = 0; i < 100; i++) {
      sim_event ev;
      ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
      ck_assert_int_eq(ev.t, t);
      ck_assert_int_gt(ev.who, last);
      ck_assert_int_eq(ev.who % 3, (int32_t)((t - 100) / 10));
      last = ev.who;
    }
  }
  ck_assert_ptr_null(sim_queue_peek(&q));
  sim_queue_close(&q);
}
END_TEST

/* An event scheduled while handling time t, for time t, runs after every
 * event already queued for t and before anything later. */
START_TEST(push_during_t_pops_after_queued) {
  sim_queue q;
  sim_queue_init(&q);
  enum { A = 1, B, C, D, E, F };
  sim_queue_push(&q, 5, 0, A, 0);
  sim_queue_push(&q, 6, 0, C, 0);
  sim_queue_push(&q, 5, 0, B, 0);
  sim_event ev;
  ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
  ck_assert_int_eq(ev.who, A);
  /* handling A at t = 5 schedules D at 5 and E at 6 */
  sim_queue_push(&q, 5, 0, D, 0);
  sim_queue_push(&q, 6, 0, E, 0);
  ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
  ck_assert_int_eq(ev.who, B);
  /* handling B schedules F at 5: after D */
  sim_queue_push(&q, 5, 0, F, 0);
  const int32_t want[] = {D, F, C, E};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
    ck_assert_int_eq(ev.who, want[i]);
  }
  ck_assert_int_eq(sim_queue_pop(&q, &ev), -1);
  sim_queue_close(&q);
}
END_TEST

/* Sequence numbers come from one counter: consecutive pushes take
 * consecutive numbers, whatever their times, and pops never reuse them. */
START_TEST(seq_numbers) {
  sim_queue q;
  sim_queue_init(&q);
  for (int32_t i = 0; i < 50; i++) sim_queue_push(&q, 50 - i, 0, i, 0);
  sim_event ev;
  for (int i = 0; i < 20; i++) sim_queue_pop(&q, &ev);
  sim_queue_push(&q, 0, 0, 1000, 0);
  ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
  ck_assert_int_eq(ev.who, 1000);
  ck_assert_uint_eq(ev.seq, 50);
  ck_assert_uint_eq(q.next_seq, 51);
  sim_queue_close(&q);
}
END_TEST

/* ---- sim_queue_check ---- */

START_TEST(check_detects_broken_queue) {
  sim_queue q;
  sim_queue_init(&q);
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* the first push opens the window at 0; the others fall beyond it, in
   * the heap, and then a few inside it, in the buckets */
  sim_queue_push(&q, 0, 0, -1, 0);
  for (int32_t i = 0; i < 100; i++) sim_queue_push(&q, SIM_QUEUE_WINDOW + i % 7, 0, i, 0);
  for (int32_t i = 0; i < 10; i++) sim_queue_push(&q, 5 + i % 3, 0, 100 + i, 0);
  ck_assert_uint_eq(q.n_far, 100);
  ck_assert_uint_eq(q.n_near, 11);
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* A heap child earlier than its parent. */
  sim_event saved = q.a[q.n_far - 1];
  q.a[q.n_far - 1].t = SIM_QUEUE_WINDOW - 1;
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.a[q.n_far - 1] = saved;
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* Two events of one bucket out of sequence order. */
  int32_t h = q.head[5], h2 = q.link[h];
  ck_assert_int_ge(h2, 0);
  uint64_t sq = q.node[h].seq;
  q.node[h].seq = q.node[h2].seq;
  q.node[h2].seq = sq;
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.node[h2].seq = q.node[h].seq;
  q.node[h].seq = sq;
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* A bucket event at a time outside the window (same bucket index). */
  q.node[h].t += SIM_QUEUE_WINDOW;
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.node[h].t -= SIM_QUEUE_WINDOW;
  /* A non-empty bucket whose bit is clear. */
  q.bits[0] &= ~((uint64_t)1 << 5);
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.bits[0] |= (uint64_t)1 << 5;
  /* A cached top that is not the earliest. */
  int32_t top = q.top;
  q.top = h;
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.top = top;
  /* Counts that disagree. */
  q.n_near--;
  ck_assert_int_ne(sim_queue_check(&q), 0);
  q.n_near++;
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* After every pop the queue still checks, and pops stay in order. */
  sim_event ev, prev;
  int first = 1;
  while (q.n > 0) {
    sim_queue_pop(&q, &ev);
    ck_assert_int_eq(sim_queue_check(&q), 0);
    ck_assert(first || ev.t > prev.t || (ev.t == prev.t && ev.seq > prev.seq));
    prev = ev;
    first = 0;
  }
  sim_queue_close(&q);
}
END_TEST

/* ---- growth ---- */

START_TEST(growth) {
  sim_queue q;
  sim_queue_init(&q);
  pcg32 rng;
  pcg32_seed(&rng, 5, 5);
  /* times over six windows: about a sixth in the buckets, the rest in
   * the heap */
  size_t last_cap = 0;
  int grew = 0;
  for (int32_t i = 0; i < GROWTH_EVENTS; i++) {
    if (sim_queue_push(&q, (int64_t)pcg32_bounded(&rng, 6 * SIM_QUEUE_WINDOW), 0, i, 0) != 0)
      ck_abort_msg("push %d failed", i);
    if (q.cap != last_cap) {
      ck_assert_uint_ge(q.cap, q.n_far);
      if (last_cap) ck_assert_uint_eq(q.cap, 2 * last_cap);
      last_cap = q.cap;
      grew++;
    }
  }
  ck_assert_int_gt(grew, 5);
  ck_assert_int_gt((int64_t)q.n_near, GROWTH_EVENTS / 10);
  ck_assert_int_gt(q.n_nodes, (int32_t)q.n_near - 1);
  ck_assert_int_eq(sim_queue_check(&q), 0);
  /* Popping never shrinks the arrays; the same pushes again reallocate
   * nothing. */
  sim_event ev, prev = {0};
  for (int i = 0; i < GROWTH_EVENTS; i++) {
    if (sim_queue_pop(&q, &ev) != 0) ck_abort_msg("pop %d failed", i);
    if (i > 0 && !(ev.t > prev.t || (ev.t == prev.t && ev.seq > prev.seq)))
      ck_abort_msg("pop %d out of order", i);
    prev = ev;
  }
  ck_assert_uint_eq(q.cap, last_cap);
  sim_event *a = q.a, *node = q.node;
  int32_t n_nodes = q.n_nodes;
  pcg32_seed(&rng, 5, 5);
  for (int32_t i = 0; i < GROWTH_EVENTS; i++)
    sim_queue_push(&q, (int64_t)pcg32_bounded(&rng, 6 * SIM_QUEUE_WINDOW), 0, i, 0);
  ck_assert_ptr_eq(q.a, a);
  ck_assert_ptr_eq(q.node, node);
  ck_assert_uint_eq(q.cap, last_cap);
  ck_assert_int_eq(q.n_nodes, n_nodes);
  ck_assert_int_eq(sim_queue_check(&q), 0);
  sim_queue_close(&q);
}
END_TEST

/* ---- empty ---- */

START_TEST(empty_pop) {
  sim_queue q;
  sim_queue_init(&q);
  sim_event ev;
  memset(&ev, 0xab, sizeof ev);
  sim_event before = ev;
  ck_assert_int_eq(sim_queue_pop(&q, &ev), -1);
  ck_assert_mem_eq(&ev, &before, sizeof ev); /* untouched */
  ck_assert_ptr_null(sim_queue_peek(&q));
  sim_queue_push(&q, 1, 2, 3, 4);
  ck_assert_int_eq(sim_queue_pop(&q, &ev), 0);
  ck_assert_int_eq(ev.t, 1);
  ck_assert_int_eq(ev.type, 2);
  ck_assert_int_eq(ev.who, 3);
  ck_assert_uint_eq(ev.epoch, 4);
  /* Drained: empty again. */
  ck_assert_int_eq(sim_queue_pop(&q, &ev), -1);
  ck_assert_ptr_null(sim_queue_peek(&q));
  ck_assert_int_eq(sim_queue_check(&q), 0);
  sim_queue_close(&q);
}
END_TEST

static Suite *queue_suite(void) {
  Suite *s = suite_create("queue");
  TCase *tc = tcase_create("init_close");
  tcase_add_test(tc, init_close);
  suite_add_tcase(s, tc);
  tc = tcase_create("push_pop");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, push_pop_vs_reference, 0, PROP_SEEDS);
  tcase_add_loop_test(tc, pop_order_is_stable_sort, 0, PROP_SEEDS);
  tcase_add_test(tc, fifo_at_equal_times);
  tcase_add_test(tc, push_during_t_pops_after_queued);
  tcase_add_test(tc, seq_numbers);
  suite_add_tcase(s, tc);
  tc = tcase_create("check");
  tcase_add_test(tc, check_detects_broken_queue);
  suite_add_tcase(s, tc);
  tc = tcase_create("growth");
  tcase_set_timeout(tc, 120); /* sanitizer builds are several times slower */
  tcase_add_test(tc, growth);
  suite_add_tcase(s, tc);
  tc = tcase_create("empty");
  tcase_add_test(tc, empty_pop);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(queue_suite()); }

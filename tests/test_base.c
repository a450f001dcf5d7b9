/*
 * Tests of base/: the heap against a sorted reference on random operations
 * (every arity the project uses, with and without position tracking, with
 * the order and the positions inside or outside the elements), the
 * grow-vector helper, and the local-time helpers against the C library's
 * gmtime/timegm (local-epoch seconds are UTC-like arithmetic).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pcg32.h"
#include "base/rs_error.h"
#include "base/rs_heap.h"
#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ heap */

typedef struct {
  int64_t key;
  int32_t id;   /* tie-break, and the slot of pos[] */
} item;

static size_t pos[4096];
#define ITEM_LESS(x, y) ((x)->key < (y)->key || ((x)->key == (y)->key && (x)->id < (y)->id))
#define ITEM_MOVED(x, i) (pos[(x)->id] = (i))
RS_HEAP_DEFINE(h2, item, 2, ITEM_LESS, RS_HEAP_NO_MOVE)
RS_HEAP_DEFINE(h4, item, 4, ITEM_LESS, RS_HEAP_NO_MOVE)
RS_HEAP_DEFINE(h4p, item, 4, ITEM_LESS, ITEM_MOVED)

/* Random pushes and pops against a sorted array: pops come out in exactly
 * the reference's order. */
#define HEAP_PROPERTY(NAME)                                                      \
  static void prop_##NAME(uint64_t seed) {                                       \
    pcg32 r;                                                                     \
    pcg32_stream(&r, seed, 9);                                                   \
    item a[4096], ref[4096];                                                     \
    size_t n = 0, nr = 0;                                                        \
    int32_t next_id = 0;                                                         \
    for (int step = 0; step < 20000; step++) {                                   \
      if (n < 4000 && (n == 0 || pcg32_bounded(&r, 3) != 0)) {                   \
        item v = {(int64_t)pcg32_bounded(&r, 50), next_id++ % 4096};             \
        NAME##_push(a, &n, v);                                                   \
        size_t at_ = nr;                                                         \
        while (at_ > 0 && ITEM_LESS(&v, &ref[at_ - 1])) at_--;                   \
        memmove(ref + at_ + 1, ref + at_, (nr - at_) * sizeof *ref);             \
        ref[at_] = v;                                                            \
        nr++;                                                                    \
      } else {                                                                   \
        ck_assert_int_eq(a[0].key, ref[0].key);                                  \
        ck_assert_int_eq(a[0].id, ref[0].id);                                    \
        NAME##_pop(a, &n);                                                       \
        memmove(ref, ref + 1, --nr * sizeof *ref);                               \
      }                                                                          \
      ck_assert_uint_eq(n, nr);                                                  \
    }                                                                            \
  }

HEAP_PROPERTY(h2)
HEAP_PROPERTY(h4)

START_TEST(heap_binary) { prop_h2((uint64_t)_i + 1); }
END_TEST

START_TEST(heap_quaternary) { prop_h4((uint64_t)_i + 1); }
END_TEST

START_TEST(heap_heapify_and_remove) {
  pcg32 r;
  pcg32_stream(&r, (uint64_t)_i + 1, 11);
  item a[1000];
  size_t n = 1000;
  for (size_t i = 0; i < n; i++) a[i] = (item){(int64_t)pcg32_bounded(&r, 100), (int32_t)i};
  h4p_heapify(a, n);
  for (size_t i = 0; i < n; i++) pos[a[i].id] = i;
  /* positions are tracked through removals of arbitrary elements and
   * decreases of keys */
  for (int k = 0; k < 400; k++) {
    size_t i = pcg32_bounded(&r, (uint32_t)n);
    if (k % 2) {
      h4p_remove(a, &n, i);
    } else {
      a[i].key -= (int64_t)pcg32_bounded(&r, 30);
      h4p_up(a, i);
    }
    for (size_t j = 0; j < n; j++) {
      ck_assert_uint_eq(pos[a[j].id], j);
      if (j > 0) ck_assert(!ITEM_LESS(&a[j], &a[(j - 1) / 4]));
    }
  }
}
END_TEST

/* The context form: elements are ids into a key array, positions kept in
 * the context (as a decrease-key heap over records keeps them), checked
 * against a naive reference (a scan of the present ids for the minimum) on
 * random pushes, decreases, pops and removals. Its loops call Check only
 * on a failure: a passing ck_assert is recorded, a write per call. */
typedef struct {
  int64_t key[512];
  size_t pos[512];   /* heap index of a present id */
  int present[512];
} id_ctx;

#define ID_LESS(x, y) (ctx->key[*(x)] < ctx->key[*(y)] || \
                       (ctx->key[*(x)] == ctx->key[*(y)] && *(x) < *(y)))
#define ID_MOVED(x, i) (ctx->pos[*(x)] = (i))
RS_HEAP_DEFINE_CTX(id2, int32_t, 2, id_ctx *, ID_LESS, ID_MOVED)
RS_HEAP_DEFINE_CTX(id4, int32_t, 4, id_ctx *, ID_LESS, ID_MOVED)

#define ID_PROPERTY(NAME, D)                                                     \
  static void prop_##NAME(uint64_t seed) {                                       \
    pcg32 r;                                                                     \
    pcg32_stream(&r, seed, 13);                                                  \
    static id_ctx c;                                                             \
    id_ctx *ctx = &c;                                                            \
    memset(ctx, 0, sizeof *ctx);                                                 \
    int32_t a[512];                                                              \
    size_t n = 0;                                                                \
    for (int step = 0; step < 20000; step++) {                                   \
      int32_t id = (int32_t)pcg32_bounded(&r, 512);                              \
      uint32_t op = pcg32_bounded(&r, 4);                                        \
      if (op == 0 && !ctx->present[id]) {                                        \
        ctx->key[id] = (int64_t)pcg32_bounded(&r, 100);                          \
        ctx->present[id] = 1;                                                    \
        NAME##_push(ctx, a, &n, id);                                             \
      } else if (op == 1 && ctx->present[id]) {                                  \
        ctx->key[id] -= (int64_t)pcg32_bounded(&r, 20);                          \
        NAME##_up(ctx, a, ctx->pos[id]);                                         \
      } else if (op == 2 && ctx->present[id]) {                                  \
        ctx->present[id] = 0;                                                    \
        NAME##_remove(ctx, a, &n, ctx->pos[id]);                                 \
      } else if (op == 3 && n > 0) {                                             \
        int32_t best = -1;                                                       \
        for (int32_t k = 0; k < 512; k++)                                        \
          if (ctx->present[k] && (best < 0 || ID_LESS(&k, &best))) best = k;     \
        if (a[0] != best) ck_abort_msg("top %d, want %d", a[0], best);                                            \
        ctx->present[best] = 0;                                                  \
        NAME##_pop(ctx, a, &n);                                                  \
      }                                                                          \
      size_t count = 0;                                                          \
      for (int32_t k = 0; k < 512; k++) count += (size_t)ctx->present[k];        \
      if (n != count) ck_abort_msg("%zu in the heap, %zu present", n, count);                                               \
      for (size_t j = 0; j < n; j++) {                                           \
        if (!ctx->present[a[j]]) ck_abort_msg("%d is absent", a[j]);                                           \
        if (ctx->pos[a[j]] != j) ck_abort_msg("%d at %zu, kept %zu", a[j], j, ctx->pos[a[j]]);                                    \
        if (j > 0 && ID_LESS(&a[j], &a[(j - 1) / (D)])) ck_abort_msg("order at %zu", j);                \
      }                                                                          \
    }                                                                            \
  }

ID_PROPERTY(id2, 2)
ID_PROPERTY(id4, 4)

START_TEST(heap_context) {
  prop_id2((uint64_t)_i + 1);
  prop_id4((uint64_t)_i + 1);
}
END_TEST

/* ------------------------------------------------------------------- vec */

START_TEST(vec_grows_and_keeps) {
  int32_t *v = NULL;
  size_t cap = 0;
  for (int32_t i = 0; i < 100000; i++) {
    ck_assert_int_eq(rs_vec_grow(v, cap, (size_t)i + 1), 0);
    ck_assert_uint_ge(cap, (size_t)i + 1);
    v[i] = i;
  }
  for (int32_t i = 0; i < 100000; i++) ck_assert_int_eq(v[i], i);
  /* a size that cannot be allocated fails and changes nothing */
  int32_t *before = v;
  size_t cap0 = cap;
  ck_assert_int_eq(rs_vec_grow(v, cap, SIZE_MAX / 2), RS_ENOMEM);
  ck_assert_ptr_eq(v, before);
  ck_assert_uint_eq(cap, cap0);
  /* a need within the capacity is free */
  ck_assert_int_eq(rs_vec_grow(v, cap, 5), 0);
  ck_assert_ptr_eq(v, before);
  free(v);
}
END_TEST

/* ------------------------------------------------------------------ time */

START_TEST(time_against_libc) {
  pcg32 r;
  pcg32_stream(&r, 5, 5);
  for (int k = 0; k < 200000; k++) {
    /* 1900 .. 2100, negative times included */
    int64_t t = (int64_t)pcg32_bounded(&r, 0xFFFFFFFFu) * 2 - 2208988800LL;
    time_t tt = (time_t)t;
    struct tm tm;
    ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
    ck_assert_int_eq(rs_time_tod(t), tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    ck_assert_int_eq(rs_time_hour(t), tm.tm_hour);
    ck_assert_int_eq(rs_time_weekday(t), (tm.tm_wday + 6) % 7);
    ck_assert_int_eq(rs_time_day(t), t - rs_time_tod(t));
    char a[32], b[32];
    rs_time_format(t, a, sizeof a);
    strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
    ck_assert_str_eq(a, b);
    int64_t y;
    int m, d;
    rs_time_civil_from_days(rs_time_day(t) / RS_DAY_S, &y, &m, &d);
    ck_assert_int_eq(rs_time_days_from_civil(y, m, d) * RS_DAY_S, rs_time_day(t));
  }
}
END_TEST

START_TEST(time_parse) {
  int64_t v = -7;
  ck_assert_int_eq(rs_time_parse_day("2016-02-01", &v), 0);
  ck_assert_int_eq(v, 1454284800);
  ck_assert_int_eq(rs_time_parse_day("2016-02-29", &v), 0);
  ck_assert_int_eq(rs_time_parse_day("1970-01-01", &v), 0);
  ck_assert_int_eq(v, 0);
  const char *bad[] = {"2015-02-29", "2016-02-30", "2016-13-01", "1969-12-31", "2016-02-01x",
                       "2016-2", "", "10000-01-01", NULL};
  for (int i = 0; bad[i]; i++) {
    v = -7;
    ck_assert_msg(rs_time_parse_day(bad[i], &v) == -1 && v == -7, "%s", bad[i]);
  }
  ck_assert_int_eq(rs_time_parse_tod("08:30", &v), 0);
  ck_assert_int_eq(v, 8 * 3600 + 1800);
  ck_assert_int_eq(rs_time_parse_tod("24:00", &v), 0);
  ck_assert_int_eq(v, 86400);
  ck_assert_int_eq(rs_time_parse_tod("07:05:09", &v), 0);
  ck_assert_int_eq(v, 7 * 3600 + 5 * 60 + 9);
  const char *badt[] = {"24:01", "7:60", "12:00:60", "12", "12:00x", NULL};
  for (int i = 0; badt[i]; i++) ck_assert_msg(rs_time_parse_tod(badt[i], &v) == -1, "%s", badt[i]);
  /* every day of 1970 .. 2100 against timegm */
  for (int64_t day = 0; day < 48000; day++) {
    char s[16];
    rs_time_format_day(day * RS_DAY_S, s, sizeof s);
    ck_assert_int_eq(rs_time_parse_day(s, &v), 0);
    ck_assert_int_eq(v, day * RS_DAY_S);
  }
}
END_TEST

/* Every time of day 00:00 .. 24:00 against a reference that counts hours
 * and minutes off by subtraction, and read back. */
START_TEST(time_format_tod) {
  for (int64_t tod = 0; tod <= RS_DAY_S; tod++) {
    int64_t r = tod, h = 0, m = 0;
    while (r >= 3600) r -= 3600, h++;
    while (r >= 60) r -= 60, m++;
    char want[16], got[16];
    if (r == 0) snprintf(want, sizeof want, "%02d:%02d", (int)h, (int)m);
    else snprintf(want, sizeof want, "%02d:%02d:%02d", (int)h, (int)m, (int)r);
    rs_time_format_tod(tod, got, sizeof got);
    ck_assert_str_eq(got, want);
    int64_t back = -1;
    ck_assert_int_eq(rs_time_parse_tod(got, &back), 0);
    ck_assert_int_eq(back, tod);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("base");
  TCase *tc = tcase_create("heap");
  tcase_add_loop_test(tc, heap_binary, 0, 5);
  tcase_add_loop_test(tc, heap_quaternary, 0, 5);
  tcase_add_loop_test(tc, heap_heapify_and_remove, 0, 5);
  tcase_add_loop_test(tc, heap_context, 0, 5);
  suite_add_tcase(s, tc);
  tc = tcase_create("vec");
  tcase_add_test(tc, vec_grows_and_keeps);
  suite_add_tcase(s, tc);
  tc = tcase_create("time");
  tcase_add_test(tc, time_against_libc);
  tcase_add_test(tc, time_parse);
  tcase_add_test(tc, time_format_tod);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

/*
 * Tests of run/plan: the cross product against a naive count of the axes'
 * combinations, keys that do not depend on the plan's order or shape (a
 * shuffled plan and the same runs as an explicit list have the same keys
 * and id), groups, shards that share out the plan, and refused plans.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "run/plan.h"

static const char *const POL[] = {"fcfs-nearest", "random", "batch-distance"};

/* A random plan's axes: its values, written in a random order when shuffle. */
typedef struct {
  int n_pol, pol[3];
  int n_drv, drv[4];
  int n_seed, seed[5];
} axes;

static void pick(pcg32 *g, axes *a) {
  a->n_pol = 1 + (int)pcg32_bounded(g, 3);
  for (int i = 0; i < a->n_pol; i++) a->pol[i] = i;
  a->n_drv = 1 + (int)pcg32_bounded(g, 4);
  for (int i = 0; i < a->n_drv; i++) a->drv[i] = 50 + 10 * i;
  a->n_seed = 1 + (int)pcg32_bounded(g, 5);
  for (int i = 0; i < a->n_seed; i++) a->seed[i] = 1 + 3 * i;
}

static void shuffle(pcg32 *g, int *v, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)pcg32_bounded(g, (uint32_t)i + 1);
    int t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

static void json_of(const axes *a, char *buf, size_t n, int scenario_last) {
  char pol[256] = "", drv[256] = "", seed[256] = "";
  for (int i = 0; i < a->n_pol; i++)
    snprintf(pol + strlen(pol), sizeof pol - strlen(pol), "%s\"%s\"", i ? "," : "", POL[a->pol[i]]);
  for (int i = 0; i < a->n_drv; i++)
    snprintf(drv + strlen(drv), sizeof drv - strlen(drv), "%s%d", i ? "," : "", a->drv[i]);
  for (int i = 0; i < a->n_seed; i++)
    snprintf(seed + strlen(seed), sizeof seed - strlen(seed), "%s%d", i ? "," : "", a->seed[i]);
  const char *sc = "\"scenario\": {\"synthetic_orders\": 500, \"from\": \"07:00\", \"to\": \"08:00\"}";
  snprintf(buf, n, "{%s%s \"axes\": {\"seeds\": [%s], \"dispatch\": [%s], \"drivers\": [%s]}%s%s}",
           scenario_last ? "" : sc, scenario_last ? "" : ",", seed, pol, drv,
           scenario_last ? ", " : "", scenario_last ? sc : "");
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* The plan's keys, sorted, into keys[n][RUN_PLAN_KEY]. */
static char (*sorted_keys(const run_plan *p))[RUN_PLAN_KEY] {
  char(*k)[RUN_PLAN_KEY] = malloc((size_t)p->n_runs * sizeof *k);
  ck_assert_ptr_nonnull(k);
  for (int i = 0; i < p->n_runs; i++) memcpy(k[i], p->runs[i].key, RUN_PLAN_KEY);
  qsort(k, (size_t)p->n_runs, sizeof *k, cmp_str);
  return k;
}

START_TEST(test_cross_product) {
  pcg32 g;
  pcg32_seed(&g, (uint64_t)_i + 1, 7);
  axes a;
  pick(&g, &a);
  char json[2048];
  json_of(&a, json, sizeof json, 0);
  run_plan p;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_plan_parse(&p, json, "test", &e) == 0, "%s", e.msg);
  /* one run per combination, each combination once: the naive count */
  ck_assert_int_eq(p.n_runs, a.n_pol * a.n_drv * a.n_seed);
  for (int x = 0; x < a.n_pol; x++)
    for (int d = 0; d < a.n_drv; d++)
      for (int s = 0; s < a.n_seed; s++) {
        int n = 0;
        for (int i = 0; i < p.n_runs; i++)
          n += strcmp(p.runs[i].sc.dispatch, POL[a.pol[x]]) == 0 &&
               p.runs[i].sc.drivers == a.drv[d] && p.runs[i].sc.seed == (uint64_t)a.seed[s];
        ck_assert_int_eq(n, 1);
      }
  /* seeds turn fastest, then dispatch, then drivers */
  if (p.n_runs > 1 && a.n_seed > 1) ck_assert(p.runs[0].sc.seed != p.runs[1].sc.seed);
  /* groups: one per fleet size; keys distinct */
  ck_assert_int_eq(p.n_groups, a.n_drv);
  char(*k)[RUN_PLAN_KEY] = sorted_keys(&p);
  for (int i = 1; i < p.n_runs; i++) ck_assert_str_ne(k[i - 1], k[i]);
  /* the same plan written in another order: the same keys and id */
  shuffle(&g, a.pol, a.n_pol);
  shuffle(&g, a.drv, a.n_drv);
  shuffle(&g, a.seed, a.n_seed);
  json_of(&a, json, sizeof json, 1);
  run_plan q;
  ck_assert_msg(run_plan_parse(&q, json, "test", &e) == 0, "%s", e.msg);
  ck_assert_int_eq(q.n_runs, p.n_runs);
  ck_assert_str_eq(q.id, p.id);
  char(*kq)[RUN_PLAN_KEY] = sorted_keys(&q);
  for (int i = 0; i < p.n_runs; i++) ck_assert_str_eq(k[i], kq[i]);
  /* the same runs as an explicit list: the same keys and id */
  size_t cap = 256 + (size_t)p.n_runs * 128, len = 0;
  char *list = malloc(cap);
  ck_assert_ptr_nonnull(list);
  len += (size_t)snprintf(list + len, cap - len,
                          "{\"scenario\": {\"synthetic_orders\": 500, \"from\": \"07:00\","
                          " \"to\": \"08:00\"}, \"runs\": [");
  for (int i = p.n_runs - 1; i >= 0; i--)
    len += (size_t)snprintf(list + len, cap - len,
                            "{\"dispatch\": \"%s\", \"drivers\": %d, \"seed\": %llu}%s",
                            p.runs[i].sc.dispatch, p.runs[i].sc.drivers,
                            (unsigned long long)p.runs[i].sc.seed, i ? "," : "");
  snprintf(list + len, cap - len, "]}");
  run_plan r;
  ck_assert_msg(run_plan_parse(&r, list, "test", &e) == 0, "%s", e.msg);
  ck_assert_str_eq(r.id, p.id);
  ck_assert_int_eq(r.n_groups, p.n_groups);
  free(list);
  free(k);
  free(kq);
  run_plan_free(&p);
  run_plan_free(&q);
  run_plan_free(&r);
}
END_TEST

/* Every run in exactly one shard, the shares within one run of each other. */
START_TEST(test_shards) {
  for (int n = 1; n <= 9; n++)
    for (int runs = 0; runs <= 40; runs++) {
      int size[9] = {0};
      for (int i = 0; i < runs; i++) {
        int in = 0;
        for (int k = 0; k < n; k++)
          if (run_plan_in_shard(i, k, n)) {
            in++;
            size[k]++;
          }
        ck_assert_int_eq(in, 1);
      }
      for (int k = 0; k < n; k++) ck_assert(size[k] == runs / n || size[k] == runs / n + 1);
    }
}
END_TEST

/* A variant axis and a baseline; seed ranges. */
START_TEST(test_variants_baseline) {
  const char *json =
      "{\"scenario\": {\"synthetic_orders\": 500},"
      " \"axes\": {\"variants\": {\"base\": {}, \"patient\": {\"patience_s\": 900}},"
      "  \"dispatch\": [\"fcfs-nearest\", \"random\"], \"seeds\": \"1-3,7\"},"
      " \"baseline\": \"random/stay\"}";
  run_plan p;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_plan_parse(&p, json, "test", &e) == 0, "%s", e.msg);
  ck_assert_int_eq(p.n_runs, 2 * 2 * 4);
  ck_assert_int_eq(p.n_groups, 2);
  ck_assert_str_eq(p.groups[1], "variant=patient");
  ck_assert_int_eq(p.runs[p.n_runs - 1].sc.patience_s, 900);
  ck_assert_int_eq((int)p.runs[3].sc.seed, 7);
  ck_assert_str_eq(p.base_dispatch, "random");
  ck_assert_str_eq(p.base_reposition, "stay");
  run_plan_free(&p);
}
END_TEST

START_TEST(test_refused) {
  static const char *const BAD[] = {
      "[]",
      "{\"nope\": 1}",
      "{\"axes\": {\"dispatch\": []}}",
      "{\"axes\": {\"colour\": [1]}}",
      "{\"axes\": {\"seeds\": \"5-1\"}}",
      "{\"axes\": {\"drivers\": [0]}}",
      "{\"axes\": {\"seeds\": [1, 1]}}",
      "{\"axes\": {}, \"runs\": [{}]}",
      "{\"runs\": []}",
      "{\"runs\": [{\"seed\": 2}, {\"seed\": 2}]}",
      "{\"axes\": {\"dispatch\": [\"fcfs-nearest\"]}, \"baseline\": \"random\"}",
      "{\"scenario\": {\"tick_s\": -1}}",
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    run_plan p;
    rs_err e;
    rs_err_clear(&e);
    ck_assert_msg(run_plan_parse(&p, BAD[i], "test", &e) != 0, "accepted: %s", BAD[i]);
    ck_assert_msg(e.msg[0] != '\0', "no message: %s", BAD[i]);
    ck_assert_ptr_null(p.runs);
  }
}
END_TEST

static Suite *plan_suite(void) {
  Suite *s = suite_create("plan");
  TCase *tc = tcase_create("run_plan_parse");
  tcase_add_loop_test(tc, test_cross_product, 0, 40);
  tcase_add_test(tc, test_variants_baseline);
  tcase_add_test(tc, test_refused);
  suite_add_tcase(s, tc);
  tc = tcase_create("run_plan_in_shard");
  tcase_add_test(tc, test_shards);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(plan_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * Tests of the sweep's results across DBs (sim/results.h: merge, absorb,
 * resume) against naive references: a plan's runs scattered at random over
 * shard DBs (some runs in two shards, some left 'running' as a killed
 * process leaves them) merge into a DB that holds exactly the union of the
 * completed keys, each once, with the rows each key has in a sweep of the
 * whole plan, ids in plan order; merging again changes nothing; DBs of
 * another plan are refused with the output unchanged; an image of a run's
 * DB absorbed adds that run once.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pcg32.h"
#include "run/plan.h"
#include "run/sweep.h"
#include "sim/results.h"

#define PLAN_JSON                                                                        \
  "{\"scenario\": {\"synthetic_orders\": 3000, \"drivers\": 60, \"from\": \"07:00\","     \
  " \"to\": \"08:00\"}, \"axes\": {\"dispatch\": [\"fcfs-nearest\", \"batch-distance\"]," \
  " \"seeds\": \"1-4\"}}"

static char dir[256];

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", dir, name);
}

/* Runs the plan's runs whose flag is set into db. */
static void sweep_into(const run_plan *p, const char *db, const int *take) {
  run_sweep_item *it = calloc((size_t)p->n_runs, sizeof *it);
  ck_assert_ptr_nonnull(it);
  int n = 0;
  for (int i = 0; i < p->n_runs; i++) {
    if (!take[i]) continue;
    it[n].sc = p->runs[i].sc;
    it[n].key = p->runs[i].key;
    it[n].index = i;
    it[n].label = p->runs[i].label;
    n++;
  }
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.items = it;
  o.n_items = n;
  o.out = db;
  o.plan_id = p->id;
  o.jobs = 2;
  o.version = "test";
  o.cells = 1;
  o.resume = 1;
  run_sweep *s;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_sweep_new(&o, &s, &e) == 0, "%s", e.msg);
  ck_assert_msg(run_sweep_exec(s, &e) == 0, "%s", e.msg);
  run_sweep_state st;
  run_sweep_state_get(s, &st);
  ck_assert(!st.failed);
  run_sweep_free(s);
  free(it);
}

/* One integer of a query. */
static long long q1(const char *db, const char *sql) {
  sqlite3 *h;
  ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
  long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

/* Orders rows of key in db (-1: not completed there). */
static long long key_orders(const char *db, const char *key) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT CASE WHEN count(*) = 1 THEN (SELECT count(*) FROM orders WHERE run_id = max(id))"
           " ELSE -count(*) END FROM runs JOIN sweep_runs ON run_id = id"
           " WHERE run_key = '%s' AND status = 'completed'",
           key);
  long long v = q1(db, sql);
  return v == 0 ? -1 : v;
}

/* A key's run begun and never finished (a killed process). */
static void leave_running(const char *db, const run_plan_run *r) {
  sim_results *res;
  rs_err e;
  rs_err_clear(&e);
  ck_assert(sim_results_open(db, &res, &e) == 0);
  int64_t id;
  ck_assert(sim_results_begin_run_key(res, r->key, r->index, "{}", r->sc.seed, "test",
                                      r->sc.dispatch, r->sc.reposition, 0, 3600, &id, &e) == 0);
  sim_results_close(res);
}

static run_plan plan;
static long long whole_orders[64]; /* per plan run, in a sweep of the whole plan */

static void setup(void) {
  snprintf(dir, sizeof dir, "%s/ridesim-merge-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_plan_parse(&plan, PLAN_JSON, "test", &e) == 0, "%s", e.msg);
  int all[64];
  for (int i = 0; i < plan.n_runs; i++) all[i] = 1;
  char db[512];
  path_of(db, sizeof db, "whole.db");
  sweep_into(&plan, db, all);
  for (int i = 0; i < plan.n_runs; i++) {
    whole_orders[i] = key_orders(db, plan.runs[i].key);
    ck_assert(whole_orders[i] > 0);
  }
}

static void teardown(void) {
  run_plan_free(&plan);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_merge_union) {
  pcg32 g;
  pcg32_seed(&g, (uint64_t)_i + 11, 3);
  enum { K = 3 };
  int in_shard[K][64];
  int done[64] = {0}; /* the naive reference: completed in some shard */
  int n_src = 0;      /* completed runs in the shards, duplicates counted */
  int n_running = 0;  /* runs left 'running' in them */
  const char *srcs[K];
  char paths[K][512];
  for (int k = 0; k < K; k++) {
    for (int i = 0; i < plan.n_runs; i++) in_shard[k][i] = pcg32_bounded(&g, 3) == 0;
    snprintf(paths[k], sizeof paths[k], "%s/s%d-%d.db", dir, _i, k);
    srcs[k] = paths[k];
    sweep_into(&plan, paths[k], in_shard[k]);
    for (int i = 0; i < plan.n_runs; i++) {
      done[i] |= in_shard[k][i];
      n_src += in_shard[k][i];
    }
    /* a run left running in this shard, not completed anywhere else */
    int r = (int)pcg32_bounded(&g, (uint32_t)plan.n_runs);
    if (!in_shard[k][r]) {
      leave_running(paths[k], &plan.runs[r]);
      n_running++;
    }
  }
  char out[512];
  snprintf(out, sizeof out, "%s/m%d.db", dir, _i);
  sim_results_merge_stats st;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(sim_results_merge(out, srcs, K, &st, &e) == 0, "%s", e.msg);
  int n_done = 0;
  for (int i = 0; i < plan.n_runs; i++) {
    n_done += done[i];
    ck_assert_int_eq(key_orders(out, plan.runs[i].key), done[i] ? whole_orders[i] : -1);
  }
  ck_assert_int_eq(st.added, n_done);
  ck_assert_int_eq(st.present, n_src - n_done);
  ck_assert_int_eq(st.incomplete, n_running);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM runs"), n_done);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM runs WHERE status != 'completed'"), 0);
  /* ids in plan order */
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM sweep_runs a JOIN sweep_runs b"
                           " ON a.run_id < b.run_id WHERE a.plan_index > b.plan_index"), 0);
  long long rows = q1(out, "SELECT count(*) FROM orders");
  /* again: nothing added */
  ck_assert_msg(sim_results_merge(out, srcs, K, &st, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(st.added, 0);
  ck_assert_int_eq(st.present, n_src);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM orders"), rows);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM runs"), n_done);
}
END_TEST

/* Another plan's DB: refused, the output unchanged and no temporary left. */
START_TEST(test_merge_refuses) {
  run_plan other;
  rs_err e;
  rs_err_clear(&e);
  ck_assert(run_plan_parse(&other,
                           "{\"scenario\": {\"synthetic_orders\": 3000, \"drivers\": 60,"
                           " \"from\": \"07:00\", \"to\": \"08:00\"}, \"axes\": {\"seeds\": [9]}}",
                           "test", &e) == 0);
  char a[512], b[512], out[512], tmp[600];
  path_of(a, sizeof a, "ra.db");
  path_of(b, sizeof b, "rb.db");
  path_of(out, sizeof out, "rout.db");
  int one[64] = {1};
  sweep_into(&plan, a, one);
  sweep_into(&other, b, one);
  const char *srcs[] = {a};
  sim_results_merge_stats st;
  ck_assert(sim_results_merge(out, srcs, 1, &st, &e) == 0);
  long long before = q1(out, "SELECT count(*) FROM runs");
  const char *both[] = {a, b};
  ck_assert_int_eq(sim_results_merge(out, both, 2, &st, &e), RS_EINVAL);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM runs"), before);
  snprintf(tmp, sizeof tmp, "%s.merging", out);
  ck_assert_int_ne(access(tmp, F_OK), 0);
  run_plan_free(&other);
}
END_TEST

/* A run's DB image absorbed: the run added once. */
START_TEST(test_absorb) {
  char a[512], out[512];
  path_of(a, sizeof a, "ia.db");
  path_of(out, sizeof out, "iout.db");
  int one[64] = {0};
  one[3] = 1;
  sweep_into(&plan, a, one);
  sim_results *src, *dst;
  rs_err e;
  rs_err_clear(&e);
  ck_assert(sim_results_open(a, &src, &e) == 0);
  ck_assert(sim_results_open(out, &dst, &e) == 0);
  unsigned char *img;
  size_t n;
  ck_assert(sim_results_image(src, &img, &n, &e) == 0);
  int64_t id;
  ck_assert_msg(sim_results_absorb(dst, img, n, &id, &e) == 0, "%s", e.msg);
  ck_assert(id > 0);
  ck_assert_msg(sim_results_absorb(dst, img, n, &id, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(id, 0);
  sim_results_image_free(img);
  sim_results_close(src);
  sim_results_close(dst);
  ck_assert_int_eq(key_orders(out, plan.runs[3].key), whole_orders[3]);
  ck_assert_int_eq(q1(out, "SELECT count(*) FROM runs"), 1);
}
END_TEST

static Suite *merge_suite(void) {
  Suite *s = suite_create("merge");
  TCase *tc = tcase_create("sim_results_merge");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_merge_union, 0, 6);
  tcase_add_test(tc, test_merge_refuses);
  suite_add_tcase(s, tc);
  tc = tcase_create("sim_results_absorb");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_absorb);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(merge_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

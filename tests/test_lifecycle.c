/*
 * test_lifecycle: the one lifecycle of a run (run/lifecycle.h).
 *
 * A small synthetic run through run_life_exec against the same run built
 * and stepped by hand (run_ctx_new, sim_engine_step to the horizon): the
 * same KPIs, on a loop and on a worker alike. Then each way a run ends: the
 * hooks called in their order and the status written; a hook failing
 * before the row (no DB at all), after the row (the row stays 'running'),
 * or at the start (the run closed at once, written with the hook's status);
 * a worker stopped by its stop hook ('interrupted'); SIGINT on the loop
 * ('interrupted'); SIGTERM while the results are written (held, then
 * reported as a late signal, the results whole); per-cell rows only when
 * asked; the value table saved when asked.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/v1d3.h"
#include "run/lifecycle.h"
#include "run/setup.h"
#include "sim/results.h"
#include "tests/testutil.h"
#include "value/vstore.h"

static char tmpdir[512];

static void small_scenario(sim_scenario *sc, const char *out, const char *dispatch) {
  sim_scenario_defaults(sc);
  sc->synthetic_orders = 3000;
  sc->drivers = 60;
  sc->from_s = 7 * 3600;
  sc->to_s = 9 * 3600;
  snprintf(sc->dispatch, sizeof sc->dispatch, "%s", dispatch);
  snprintf(sc->out, sizeof sc->out, "%s", out);
}

static void db_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
  unlink(buf);
}

/* The KPIs of the run built and stepped by hand. */
static void reference_kpis(const sim_scenario *sc0, sim_kpis *k) {
  sim_scenario sc = *sc0;
  run_input in;
  run_ctx *r;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_input_load(&sc, 0, &in, &e) == 0, "%s", e.msg);
  ck_assert_msg(run_ctx_new(&sc, &in, &r, &e) == 0, "%s", e.msg);
  int rc;
  while ((rc = sim_engine_step(r->eng, INT64_MAX, 1 << 16, &e)) == SIM_STEP_MORE) {
  }
  ck_assert_int_eq(rc, SIM_STEP_DONE);
  sim_engine_kpis(r->eng, k);
  run_ctx_free(r);
  run_input_free(&in);
}

static void assert_same_kpis(const sim_kpis *a, const sim_kpis *b) {
  ck_assert_int_eq(a->orders, b->orders);
  ck_assert_int_eq(a->matched, b->matched);
  ck_assert_int_eq(a->completed, b->completed);
  ck_assert_int_eq(a->cancelled, b->cancelled);
  ck_assert_int_eq(a->expired, b->expired);
  ck_assert_int_eq(a->open, b->open);
  ck_assert_int_eq(a->events, b->events);
  ck_assert(a->income == b->income);
  ck_assert(a->empty_km == b->empty_km);
  ck_assert(a->wait_mean_s == b->wait_mean_s);
}

/* The runs of a DB: how many, and the status of the one with this id. */
typedef struct {
  int64_t id;
  char status[32];
  int n;
} row_seen;

static int see_run(void *arg, const sim_results_run *run, rs_err *e) {
  (void)e;
  row_seen *s = arg;
  s->n++;
  if (run->id == s->id) snprintf(s->status, sizeof s->status, "%s", run->status);
  return 0;
}

/* The status of run id in the DB at path, "" when it is not finished. */
static void status_of(const char *path, int64_t id, char *out, size_t n) {
  sim_results *r;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(sim_results_open_read(path, &r, &e) == 0, "%s", e.msg);
  row_seen s = {id, "", 0};
  ck_assert_int_eq(sim_results_read_runs(r, 1, 0, 0, see_run, &s, &e), 0);
  snprintf(out, n, "%s", s.status);
  sim_results_close(r);
}

static int count_cells(void *arg, const sim_results_cell *c, rs_err *e) {
  (void)c;
  (void)e;
  (*(int *)arg)++;
  return 0;
}

/* ---- hooks that record what happened ------------------------------------- */

typedef struct {
  char order[64];          /* the hooks called, one letter each */
  int fail_at;             /* this hook ('b'uilt, be'g'un, 's'tart) fails */
  int progress_calls;
  int64_t last_now;
  int stop_after;          /* the stop hook says stop at this poll (worker) */
  int polls;
  int raise_in_progress;   /* raise SIGINT at the first progress (loop) */
  int raise_in_ended;      /* raise SIGTERM while the results are written */
} spy;

static void note(spy *s, char c) {
  size_t n = strlen(s->order);
  if (n + 1 < sizeof s->order) {
    s->order[n] = c;
    s->order[n + 1] = '\0';
  }
}

static int h_built(void *arg, run_life *l, rs_err *e) {
  spy *s = arg;
  note(s, 'b');
  ck_assert_ptr_nonnull(l->ctx);
  ck_assert_int_eq(l->run_id, 0);
  return s->fail_at == 'b' ? rs_err_set(e, RS_EINVAL, "built refused") : 0;
}

static int h_begun(void *arg, run_life *l, rs_err *e) {
  spy *s = arg;
  note(s, 'g');
  ck_assert_int_gt(l->run_id, 0);
  return s->fail_at == 'g' ? rs_err_set(e, RS_EAGENT, "begun refused") : 0;
}

static int h_start(void *arg, run_life *l, sim_loop *loop, rs_err *e) {
  (void)l;
  spy *s = arg;
  note(s, 's');
  ck_assert_ptr_nonnull(loop);
  return s->fail_at == 's' ? rs_err_set(e, RS_EAGENT, "start refused") : 0;
}

static void h_progress(void *arg, int64_t now, int64_t from, int64_t to) {
  spy *s = arg;
  ck_assert_int_ge(now, s->last_now);
  /* from the horizon's start (no warm-up here), past its end in the drain */
  ck_assert(now >= from && from < to);
  s->last_now = now;
  if (s->progress_calls++ == 0 && s->raise_in_progress) raise(SIGINT);
}

static int h_stop(void *arg) {
  spy *s = arg;
  return s->stop_after > 0 && ++s->polls >= s->stop_after;
}

static const char *h_status(void *arg, const run_life *l) {
  spy *s = arg;
  note(s, 'x');
  return l->started ? NULL : "spy-start-failed";
}

static void h_ended(void *arg, run_life *l) {
  spy *s = arg;
  note(s, 'e');
  ck_assert_int_eq(l->driven, 1);
  if (s->raise_in_ended) raise(SIGTERM);
}

static run_life_hooks spy_hooks(spy *s) {
  return (run_life_hooks){s, h_built, h_begun, h_start, NULL, h_progress, h_stop, h_status,
                          h_ended};
}

/* ---- the whole run ---------------------------------------------------------- */

START_TEST(test_exec_loop_and_worker) {
  char path[600];
  db_path(path, sizeof path, "exec.db");
  sim_scenario sc;
  small_scenario(&sc, path, "batch-distance");
  sim_kpis want;
  reference_kpis(&sc, &want);
  for (int worker = 0; worker <= 1; worker++) {
    spy s;
    memset(&s, 0, sizeof s);
    run_life_opts o;
    memset(&o, 0, sizeof o);
    o.sc = &sc;
    o.version = "test";
    o.worker = worker;
    o.hooks = spy_hooks(&s);
    run_life l;
    run_life_init(&l, &o);
    rs_err e;
    rs_err_clear(&e);
    ck_assert_msg(run_life_exec(&l, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(s.order, worker ? "bge" : "bgse"); /* no start on a worker; no status */
    ck_assert_int_eq(l.written, 1);
    ck_assert_int_eq(l.started, 1);
    ck_assert_int_eq(l.interrupted, 0);
    ck_assert_int_eq(l.late_signal, 0);
    ck_assert_str_eq(l.status, "completed");
    ck_assert_int_gt(s.progress_calls, 0);
    /* the last progress is the run's end: past the horizon, at the drain's */
    ck_assert_int_eq(s.last_now, run_life_now(&l));
    ck_assert_int_ge(run_life_now(&l), l.in->to);
    ck_assert_int_eq(run_life_now(&l), l.in->to + sim_engine_drain_s(l.ctx->eng));
    assert_same_kpis(&l.k, &want);
    char st[32];
    status_of(path, l.run_id, st, sizeof st);
    ck_assert_str_eq(st, "completed");
    int cells = 0;
    sim_results *r;
    ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
    ck_assert_int_eq(sim_results_read_cells(r, l.run_id, count_cells, &cells, &e), 0);
    ck_assert_int_eq(cells, 0); /* not asked for */
    sim_results_close(r);
    run_life_close(&l);
  }
}
END_TEST

/* ---- failures, at each step ---------------------------------------------- */

START_TEST(test_built_fails) {
  char path[600];
  db_path(path, sizeof path, "built.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  spy s;
  memset(&s, 0, sizeof s);
  s.fail_at = 'b';
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(run_life_exec(&l, &e), RS_EINVAL);
  ck_assert_str_eq(e.msg, "built refused");
  ck_assert_str_eq(s.order, "b");
  ck_assert_int_eq(l.written, 0);
  ck_assert_int_ne(access(path, F_OK), 0); /* no results DB at all */
  run_life_close(&l);
}
END_TEST

START_TEST(test_begun_fails) {
  char path[600];
  db_path(path, sizeof path, "begun.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  spy s;
  memset(&s, 0, sizeof s);
  s.fail_at = 'g';
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(run_life_exec(&l, &e), RS_EAGENT);
  ck_assert_str_eq(s.order, "bg");
  ck_assert_int_eq(l.written, 0);
  ck_assert_int_eq(l.driven, 0);
  int64_t id = l.run_id;
  run_life_close(&l);
  /* the row stays 'running': no finished run */
  char st[32];
  status_of(path, id, st, sizeof st);
  ck_assert_str_eq(st, "");
}
END_TEST

START_TEST(test_start_fails) {
  char path[600];
  db_path(path, sizeof path, "start.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  spy s;
  memset(&s, 0, sizeof s);
  s.fail_at = 's';
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(run_life_exec(&l, &e), RS_EAGENT);
  ck_assert_str_eq(e.msg, "start refused");
  ck_assert_str_eq(s.order, "bgsex");
  ck_assert_int_eq(l.written, 1);
  ck_assert_int_eq(l.started, 0);
  ck_assert_int_eq(l.rc, RS_EAGENT);
  ck_assert_str_eq(l.status, "spy-start-failed");
  ck_assert_int_eq(run_life_now(&l), l.in->from); /* closed where it stood */
  ck_assert_int_eq(l.k.orders, 0);
  ck_assert_int_eq(s.progress_calls, 0);
  char st[32];
  status_of(path, l.run_id, st, sizeof st);
  ck_assert_str_eq(st, ""); /* neither completed nor interrupted */
  run_life_close(&l);
}
END_TEST

/* ---- runs stopped early -------------------------------------------------- */

START_TEST(test_worker_stop) {
  char path[600];
  db_path(path, sizeof path, "stop.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  sc.synthetic_orders = 100000; /* a whole day: many slices of events */
  sc.from_s = 0;
  sc.to_s = 86400;
  spy s;
  memset(&s, 0, sizeof s);
  s.stop_after = 2;
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.worker = 1;
  o.cells = 1;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_life_exec(&l, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(l.interrupted, 1);
  ck_assert_str_eq(l.status, "interrupted");
  ck_assert_int_lt(run_life_now(&l), l.in->to);
  ck_assert_int_eq(s.progress_calls, 1);
  char st[32];
  status_of(path, l.run_id, st, sizeof st);
  ck_assert_str_eq(st, "interrupted");
  /* asked for: the cells of the orders requested so far */
  int cells = 0;
  sim_results *r;
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
  ck_assert_int_eq(sim_results_read_cells(r, l.run_id, count_cells, &cells, &e), 0);
  ck_assert_int_gt(cells, 0);
  sim_results_close(r);
  run_life_close(&l);
}
END_TEST

START_TEST(test_sigint_on_loop) {
  char path[600];
  db_path(path, sizeof path, "sigint.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  sc.synthetic_orders = 100000;
  sc.from_s = 0;
  sc.to_s = 86400;
  spy s;
  memset(&s, 0, sizeof s);
  s.raise_in_progress = 1;
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_life_exec(&l, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(l.interrupted, 1);
  ck_assert_int_eq(l.late_signal, 0);
  ck_assert_str_eq(l.status, "interrupted");
  ck_assert_int_lt(run_life_now(&l), l.in->to);
  run_life_close(&l);
}
END_TEST

/* SIGTERM while the results are written would kill the process; held, it
 * is only reported, and the run is whole. */
START_TEST(test_signal_while_writing) {
  char path[600];
  db_path(path, sizeof path, "late.db");
  sim_scenario sc;
  small_scenario(&sc, path, "fcfs-nearest");
  spy s;
  memset(&s, 0, sizeof s);
  s.raise_in_ended = 1;
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.hooks = spy_hooks(&s);
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_life_exec(&l, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(l.late_signal, 1);
  ck_assert_int_eq(l.interrupted, 0);
  ck_assert_str_eq(l.status, "completed");
  char st[32];
  status_of(path, l.run_id, st, sizeof st);
  ck_assert_str_eq(st, "completed");
  run_life_close(&l);
}
END_TEST

/* ---- what the run leaves besides its row --------------------------------- */

START_TEST(test_value_out) {
  char path[600], vpath[600];
  db_path(path, sizeof path, "v.db");
  db_path(vpath, sizeof vpath, "vtable.db");
  sim_scenario sc;
  small_scenario(&sc, path, "v1d3");
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.value_out = vpath;
  run_life l;
  run_life_init(&l, &o);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_msg(run_life_exec(&l, &e) == 0, "%s", e.msg);
  city_grid g;
  ck_assert_int_eq(city_def_grid(&l.in->city, &g, &e), 0);
  val_table *t = NULL;
  val_meta m;
  ck_assert_msg(val_store_load(vpath, &l.in->city, &g, &t, &m, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(m.rows, (int64_t)l.in->n);
  val_table_free(t);
  run_life_close(&l);
}
END_TEST

static void setup(void) { ck_assert_ptr_nonnull(test_tmpdir(tmpdir, sizeof tmpdir)); }

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *lifecycle_suite(void) {
  Suite *s = suite_create("lifecycle");
  struct {
    const char *name;
    const TTest *t;
  } cases[] = {
      {"exec", test_exec_loop_and_worker}, {"built_fails", test_built_fails},
      {"begun_fails", test_begun_fails},   {"start_fails", test_start_fails},
      {"worker_stop", test_worker_stop},   {"sigint", test_sigint_on_loop},
      {"late_signal", test_signal_while_writing}, {"value_out", test_value_out},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cases[i].t);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) { return test_run_suite(lifecycle_suite()); }

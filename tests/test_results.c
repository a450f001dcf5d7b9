/*
 * test_results: the results DB read back through its own readers
 * (sim/results.h), against the engine that wrote it.
 *
 * Runs of the synthetic city are written, then every reader is checked
 * against the engine's arrays read directly: the runs and their filters,
 * every kpi_series window, the multiset of pickup distances and its
 * maximum, and the per-cell demand against a naive count that locates each
 * order's pickup point in the grid itself (not through the engine's cell).
 * Then the schema's versions: a DB of schema 1 (no unserved_cells) reads
 * with no cells and is left untouched by reading, and gains the table and
 * version 2 when opened for writing; the read-only open refuses missing and
 * foreign files and creates nothing.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/synth.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/scenario.h"
#include "tests/testutil.h"

static char tmpdir[512];

/* ---- a finished run ------------------------------------------------------ */

#define N_ORDERS 6000
#define FLEET 200

typedef struct {
  city_def city;
  city_travel tm;     /* the city's travel model (its city is `city`) */
  city_grid grid;
  sim_scenario sc;
  disp_policy dp;
  disp_repolicy rp;
  sim_engine *s;
  sim_kpis k;
} run_t;

/* A run of the synthetic city from 06:00 to 09:00 with this seed, to the
 * horizon, or closed early at stop_s seconds after 06:00 when stop_s > 0. */
static void run_new(run_t *x, uint64_t seed, int64_t stop_s) {
  rs_err e;
  rs_err_clear(&e);
  memset(x, 0, sizeof *x);
  sim_scenario_defaults(&x->sc);
  x->sc.seed = seed;
  x->sc.drivers = FLEET;
  x->sc.synthetic_orders = N_ORDERS;
  x->sc.day = CITY_SYNTH_DEFAULT_DAY;
  x->sc.from_s = 6 * 3600;
  x->sc.to_s = 9 * 3600;
  ck_assert_int_eq(city_def_builtin("synthetic", &x->city, &e), 0);
  ck_assert_int_eq(city_def_grid(&x->city, &x->grid, &e), 0);
  city_travel_gc(&x->city, &x->tm);
  city_synth_opts o = {seed, N_ORDERS, CITY_SYNTH_DEFAULT_DAY};
  city_trip *all;
  size_t n_all, n = 0;
  ck_assert_msg(city_synth_generate(&x->city, &o, &all, &n_all, &e) == 0, "%s", e.msg);
  int64_t from = x->sc.day + x->sc.from_s, to = x->sc.day + x->sc.to_s;
  for (size_t i = 0; i < n_all; i++)
    if (all[i].t_request >= from && all[i].t_request < to) all[n++] = all[i];
  disp_options dopt = {x->sc.radius_m, x->sc.top_k, x->sc.driver_top_k};
  ck_assert_int_eq(disp_policy_new("fcfs-nearest", &dopt, &x->dp, &e), 0);
  ck_assert_int_eq(disp_repolicy_new("stay", &dopt, &x->rp, &e), 0);
  ck_assert_msg(sim_engine_new(&x->sc, &x->tm, all, n, from, to, &x->dp, &x->rp, &x->s, &e) == 0,
                "%s", e.msg);
  int64_t limit = stop_s > 0 ? from + stop_s : INT64_MAX;
  int rc;
  while ((rc = sim_engine_step(x->s, limit, 1 << 20, &e)) == SIM_STEP_MORE &&
         sim_engine_now(x->s) < limit) {
  }
  ck_assert_int_ge(rc, 0);
  if (!sim_engine_done(x->s)) sim_engine_close_early(x->s);
  sim_engine_kpis(x->s, &x->k);
}

static void run_free(run_t *x) {
  sim_engine_free(x->s);
  disp_policy_destroy(&x->dp);
  disp_repolicy_destroy(&x->rp);
  city_travel_free(&x->tm);
}

/* Writes the run: begin, then finish with status and (cells) its grid. */
static int64_t write_run(sim_results *res, run_t *x, const char *status, double wall, int cells) {
  rs_err e;
  rs_err_clear(&e);
  char *scen = sim_scenario_to_json(&x->sc);
  ck_assert_ptr_nonnull(scen);
  int64_t id;
  ck_assert_msg(sim_results_begin_run(res, scen, x->sc.seed, "test", "fcfs-nearest", "stay",
                                      sim_engine_from(x->s), sim_engine_to(x->s), &id, &e) == 0,
                "%s", e.msg);
  if (status != NULL)
    ck_assert_msg(sim_results_finish_run(res, id, x->s, &x->k, status, wall,
                                         cells ? &x->grid : NULL, &e) == 0,
                  "%s", e.msg);
  free(scen);
  return id;
}

static void db_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
  unlink(buf);
}

/* ---- sim_results_read_runs ----------------------------------------------- */

#define MAX_ROWS 16

typedef struct {
  int n;
  sim_results_run r[MAX_ROWS];
  char *kpis[MAX_ROWS], *scen[MAX_ROWS], *status[MAX_ROWS];
  int stop_after;       /* return RS_EINTR at this row (1-based), 0 never */
} runs_got;

static int got_run(void *arg, const sim_results_run *run, rs_err *e) {
  runs_got *g = arg;
  ck_assert_int_lt(g->n, MAX_ROWS);
  g->r[g->n] = *run;
  g->kpis[g->n] = strdup(run->kpis ? run->kpis : "");
  g->scen[g->n] = strdup(run->scenario ? run->scenario : "");
  g->status[g->n] = strdup(run->status);
  g->n++;
  if (g->n == g->stop_after) return rs_err_set(e, RS_EINTR, "stopped at row %d", g->n);
  return 0;
}

static void runs_got_free(runs_got *g) {
  for (int i = 0; i < g->n; i++) {
    free(g->kpis[i]);
    free(g->scen[i]);
    free(g->status[i]);
  }
  memset(g, 0, sizeof *g);
}

START_TEST(test_read_runs) {
  char path[600];
  db_path(path, sizeof path, "runs.db");
  rs_err e;
  rs_err_clear(&e);
  run_t a, b, c;
  run_new(&a, 1, 0);
  run_new(&b, 2, 0);
  run_new(&c, 3, 3600);
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t ia = write_run(w, &a, "completed", 0.25, 0);
  int64_t ib = write_run(w, &b, "completed", 0.5, 1);
  int64_t ic = write_run(w, &c, "interrupted", 0.125, 0);
  int64_t id = write_run(w, &a, NULL, 0, 0); /* begun, never finished */
  ck_assert_int_lt(ia, ib);
  ck_assert_int_lt(ib, ic);
  ck_assert_int_lt(ic, id);
  sim_results_close(w);

  sim_results *r;
  ck_assert_msg(sim_results_open_read(path, &r, &e) == 0, "%s", e.msg);
  runs_got g;
  memset(&g, 0, sizeof g);
  ck_assert_int_eq(sim_results_read_runs(r, 0, 0, 0, got_run, &g, &e), 0);
  ck_assert_int_eq(g.n, 2);
  run_t *want[2] = {&a, &b};
  double walls[2] = {0.25, 0.5};
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(g.r[i].id, i == 0 ? ia : ib);
    ck_assert_uint_eq(g.r[i].seed, want[i]->sc.seed);
    ck_assert_str_eq(g.status[i], "completed");
    ck_assert(g.r[i].wall_s == walls[i]);
    ck_assert_int_eq(g.r[i].t_from, sim_engine_from(want[i]->s));
    ck_assert_int_eq(g.r[i].t_to, sim_engine_to(want[i]->s));
    char *kj = sim_kpis_to_json(&want[i]->k, 0);
    char *sj = sim_scenario_to_json(&want[i]->sc);
    ck_assert_str_eq(g.kpis[i], kj);
    ck_assert_str_eq(g.scen[i], sj);
    free(kj);
    free(sj);
  }
  runs_got_free(&g);
  /* with the interrupted ones; the 'running' row never */
  ck_assert_int_eq(sim_results_read_runs(r, 1, 0, 0, got_run, &g, &e), 0);
  ck_assert_int_eq(g.n, 3);
  ck_assert_int_eq(g.r[2].id, ic);
  ck_assert_str_eq(g.status[2], "interrupted");
  runs_got_free(&g);
  /* an id range */
  ck_assert_int_eq(sim_results_read_runs(r, 1, ib, id, got_run, &g, &e), 0);
  ck_assert_int_eq(g.n, 2);
  ck_assert_int_eq(g.r[0].id, ib);
  ck_assert_int_eq(g.r[1].id, ic);
  runs_got_free(&g);
  /* the callback's error ends the read and is returned */
  g.stop_after = 1;
  rs_err_clear(&e);
  ck_assert_int_eq(sim_results_read_runs(r, 1, 0, 0, got_run, &g, &e), RS_EINTR);
  ck_assert_int_eq(g.n, 1);
  ck_assert_str_eq(e.msg, "stopped at row 1");
  runs_got_free(&g);
  sim_results_close(r);
  run_free(&a);
  run_free(&b);
  run_free(&c);
}
END_TEST

/* ---- sim_results_read_series ----------------------------------------------- */

typedef struct {
  int n;
  sim_results_window w[64];
} series_got;

static int got_window(void *arg, const sim_results_window *w, rs_err *e) {
  (void)e;
  series_got *g = arg;
  ck_assert_int_lt(g->n, 64);
  g->w[g->n++] = *w;
  return 0;
}

/* Equal, NaN equal to NaN. */
static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

START_TEST(test_read_series) {
  char path[600];
  db_path(path, sizeof path, "series.db");
  rs_err e;
  rs_err_clear(&e);
  run_t a, c;
  run_new(&a, 4, 0);
  run_new(&c, 5, 5000); /* interrupted: the windows it reached */
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t ids[2] = {write_run(w, &a, "completed", 1, 0), write_run(w, &c, "interrupted", 1, 0)};
  run_t *runs[2] = {&a, &c};
  for (int k = 0; k < 2; k++) {
    series_got g;
    g.n = 0;
    /* the writer's handle reads too */
    ck_assert_int_eq(sim_results_read_series(w, ids[k], got_window, &g, &e), 0);
    size_t n;
    const sim_window *sw = sim_engine_windows(runs[k]->s, &n);
    ck_assert_int_eq(g.n, (int)n);
    ck_assert_int_gt(g.n, 0);
    for (size_t i = 0; i < n; i++) {
      const sim_results_window *x = &g.w[i];
      ck_assert_int_eq(x->t_start, sw[i].t_start);
      ck_assert_int_eq(x->requests, sw[i].requests);
      ck_assert_int_eq(x->matched, sw[i].matched);
      ck_assert_int_eq(x->completed, sw[i].completed);
      ck_assert_int_eq(x->cancelled, sw[i].cancelled);
      ck_assert_int_eq(x->expired, sw[i].expired);
      ck_assert(x->income == sw[i].income);
      ck_assert(same(x->wait_mean_s, sw[i].matched ? sw[i].wait_sum_s / sw[i].matched : NAN));
      ck_assert(same(x->pickup_m_mean, sw[i].matched ? sw[i].pickup_m_sum / sw[i].matched : NAN));
      ck_assert(same(x->idle_drivers_mean,
                     sw[i].ticks ? (double)sw[i].idle_samples / sw[i].ticks : NAN));
      ck_assert(same(x->busy_drivers_mean,
                     sw[i].ticks ? (double)sw[i].busy_samples / sw[i].ticks : NAN));
      if (i > 0) ck_assert_int_gt(x->t_start, g.w[i - 1].t_start);
    }
  }
  /* a run of no windows reads none */
  series_got g;
  g.n = 0;
  ck_assert_int_eq(sim_results_read_series(w, 999, got_window, &g, &e), 0);
  ck_assert_int_eq(g.n, 0);
  sim_results_close(w);
  run_free(&a);
  run_free(&c);
}
END_TEST

/* ---- sim_results_pickup_max, sim_results_read_pickups ---------------------- */

typedef struct {
  size_t n, cap;
  double *v;
} doubles;

static int got_pickup(void *arg, double m, rs_err *e) {
  (void)e;
  doubles *d = arg;
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 256;
    d->v = realloc(d->v, d->cap * sizeof *d->v);
    ck_assert_ptr_nonnull(d->v);
  }
  d->v[d->n++] = m;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

START_TEST(test_read_pickups) {
  char path[600];
  db_path(path, sizeof path, "pickups.db");
  rs_err e;
  rs_err_clear(&e);
  run_t a;
  run_new(&a, 6, 0);
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t id = write_run(w, &a, "completed", 1, 0);
  sim_results_close(w);
  sim_results *r;
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
  doubles got = {0, 0, NULL}, want = {0, 0, NULL};
  ck_assert_int_eq(sim_results_read_pickups(r, id, got_pickup, &got, &e), 0);
  const sim_order_rec *rec = sim_engine_order_recs(a.s);
  double mx = -INFINITY;
  for (size_t i = 0; i < sim_engine_n_requested(a.s); i++)
    if (isfinite(rec[i].pickup_m)) {
      got_pickup(&want, rec[i].pickup_m, &e);
      if (rec[i].pickup_m > mx) mx = rec[i].pickup_m;
    }
  ck_assert_uint_gt(want.n, 100);
  ck_assert_uint_eq(got.n, want.n);
  qsort(got.v, got.n, sizeof *got.v, cmp_double);
  qsort(want.v, want.n, sizeof *want.v, cmp_double);
  for (size_t i = 0; i < got.n; i++) ck_assert(got.v[i] == want.v[i]);
  double m;
  ck_assert_int_eq(sim_results_pickup_max(r, id, &m, &e), 0);
  ck_assert(m == mx);
  ck_assert_int_eq(sim_results_pickup_max(r, id + 1, &m, &e), 0);
  ck_assert(isnan(m));
  free(got.v);
  free(want.v);
  sim_results_close(r);
  run_free(&a);
}
END_TEST

/* ---- unserved cells: written by finish_run, read by read_cells -------------- */

typedef struct {
  int n;
  sim_results_cell *c;
} cells_got;

static int got_cell(void *arg, const sim_results_cell *c, rs_err *e) {
  (void)e;
  cells_got *g = arg;
  g->c[g->n++] = *c;
  return 0;
}

START_TEST(test_cells) {
  char path[600];
  db_path(path, sizeof path, "cells.db");
  rs_err e;
  rs_err_clear(&e);
  run_t a, c;
  run_new(&a, 7, 0);
  run_new(&c, 8, 4000);
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t none = write_run(w, &a, "completed", 1, 0);
  int64_t ids[2] = {write_run(w, &a, "completed", 1, 1), write_run(w, &c, "interrupted", 1, 1)};
  sim_results_close(w);
  sim_results *r;
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
  run_t *runs[2] = {&a, &c};
  int32_t nc = a.grid.n_cells;
  int64_t *req = calloc((size_t)nc, sizeof *req), *lost = calloc((size_t)nc, sizeof *lost);
  cells_got g = {0, calloc((size_t)nc, sizeof *g.c)};
  ck_assert(req && lost && g.c);
  for (int k = 0; k < 2; k++) {
    /* the naive count: each requested order's pickup point located anew */
    memset(req, 0, (size_t)nc * sizeof *req);
    memset(lost, 0, (size_t)nc * sizeof *lost);
    const disp_order *o = sim_engine_orders(runs[k]->s);
    const sim_order_rec *rec = sim_engine_order_recs(runs[k]->s);
    size_t n = sim_engine_n_requested(runs[k]->s);
    int64_t in_grid = 0;
    for (size_t i = 0; i < n; i++) {
      int32_t cell = city_grid_point_index(&runs[k]->grid, o[i].plat, o[i].plng);
      if (cell < 0) continue;
      in_grid++;
      req[cell]++;
      lost[cell] += rec[i].status == SIM_ORDER_EXPIRED || rec[i].status == SIM_ORDER_CANCELLED;
    }
    g.n = 0;
    ck_assert_int_eq(sim_results_read_cells(r, ids[k], got_cell, &g, &e), 0);
    int64_t sum = 0, sum_lost = 0;
    int32_t with_req = 0;
    for (int32_t cell = 0; cell < nc; cell++) with_req += req[cell] > 0;
    ck_assert_int_eq(g.n, with_req);
    for (int i = 0; i < g.n; i++) {
      const sim_results_cell *x = &g.c[i];
      if (i > 0) ck_assert_int_gt(x->cell, g.c[i - 1].cell);
      ck_assert_int_eq(x->requests, req[x->cell]);
      ck_assert_int_eq(x->unserved, lost[x->cell]);
      city_hex h = city_grid_hex(&runs[k]->grid, x->cell);
      ck_assert_int_eq(x->q, h.q);
      ck_assert_int_eq(x->r, h.r);
      double lat, lng;
      city_grid_center(&runs[k]->grid, h, &lat, &lng);
      ck_assert(x->lat == lat && x->lng == lng);
      ck_assert(x->edge_m == runs[k]->grid.edge_m);
      sum += x->requests;
      sum_lost += x->unserved;
    }
    ck_assert_int_eq(sum, in_grid);
    ck_assert_int_eq(sum_lost, runs[k]->k.expired + runs[k]->k.cancelled);
  }
  /* a run written without cells has none */
  g.n = 0;
  ck_assert_int_eq(sim_results_read_cells(r, none, got_cell, &g, &e), 0);
  ck_assert_int_eq(g.n, 0);
  free(req);
  free(lost);
  free(g.c);
  sim_results_close(r);
  run_free(&a);
  run_free(&c);
}
END_TEST

/* ---- versions and the read-only open ------------------------------------- */

static void exec_sql(const char *path, const char *sql) {
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   SQLITE_OK);
  char *msg = NULL;
  ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg ? msg : "");
  sqlite3_close(db);
}

static int64_t q_i64(const char *path, const char *sql) {
  sqlite3 *db;
  sqlite3_stmt *st;
  int64_t v = -1;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

START_TEST(test_schema_versions) {
  char path[600];
  db_path(path, sizeof path, "v1.db");
  rs_err e;
  rs_err_clear(&e);
  run_t a;
  run_new(&a, 9, 0);
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t id = write_run(w, &a, "completed", 1, 1);
  sim_results_close(w);
  ck_assert_int_eq(q_i64(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
                   SIM_RESULTS_SCHEMA);
  /* the run's warm-up and drain are recorded: none and the drain's length */
  ck_assert_int_eq(q_i64(path, "SELECT warmup_s FROM runs"), 0);
  ck_assert_int_ge(q_i64(path, "SELECT drain_s FROM runs"), 0);
  /* made a schema 1 file, as written before unserved_cells was the schema's
   * (and before runs had warmup_s and drain_s) */
  exec_sql(path, "PRAGMA journal_mode=DELETE; DROP TABLE unserved_cells;"
                 " ALTER TABLE runs DROP COLUMN warmup_s; ALTER TABLE runs DROP COLUMN drain_s;"
                 " UPDATE meta SET value = '1' WHERE key = 'schema_version';");
  sim_results *r;
  ck_assert_msg(sim_results_open_read(path, &r, &e) == 0, "%s", e.msg);
  runs_got rg;
  memset(&rg, 0, sizeof rg);
  ck_assert_int_eq(sim_results_read_runs(r, 0, 0, 0, got_run, &rg, &e), 0);
  ck_assert_int_eq(rg.n, 1);
  runs_got_free(&rg);
  cells_got g = {0, NULL};
  ck_assert_int_eq(sim_results_read_cells(r, id, got_cell, &g, &e), 0);
  ck_assert_int_eq(g.n, 0);
  sim_results_close(r);
  /* reading changed nothing */
  ck_assert_int_eq(q_i64(path, "SELECT count(*) FROM sqlite_master WHERE name = 'unserved_cells'"),
                   0);
  ck_assert_int_eq(q_i64(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 1);
  /* opened for writing: the table and the version arrive, the runs stay */
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  int64_t id2 = write_run(w, &a, "completed", 1, 1);
  sim_results_close(w);
  ck_assert_int_eq(q_i64(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
                   SIM_RESULTS_SCHEMA);
  ck_assert_int_eq(q_i64(path, "SELECT count(*) FROM runs WHERE status = 'completed'"), 2);
  /* the old run's warm-up and drain are not known; the new one's are */
  ck_assert_int_eq(q_i64(path, "SELECT count(*) FROM runs WHERE warmup_s IS NULL"), 1);
  ck_assert_int_eq(q_i64(path, "SELECT count(*) FROM runs WHERE drain_s IS NOT NULL"), 1);
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
  g.c = calloc((size_t)a.grid.n_cells, sizeof *g.c);
  ck_assert_int_eq(sim_results_read_cells(r, id2, got_cell, &g, &e), 0);
  ck_assert_int_gt(g.n, 0);
  free(g.c);
  sim_results_close(r);
  run_free(&a);
}
END_TEST

START_TEST(test_open_read) {
  char path[600];
  rs_err e;
  sim_results *r = (sim_results *)1;
  /* missing: refused, and not created */
  db_path(path, sizeof path, "missing.db");
  rs_err_clear(&e);
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), RS_ENOENT);
  ck_assert_ptr_null(r);
  ck_assert_int_ne(access(path, F_OK), 0);
  ck_assert_ptr_nonnull(strstr(e.msg, "no such file"));
  /* not SQLite */
  db_path(path, sizeof path, "text.db");
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("this is not a database, not even close to one, but it is long enough\n", f);
  fclose(f);
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "not a ridesim results database"));
  /* SQLite of something else */
  db_path(path, sizeof path, "other.db");
  exec_sql(path, "CREATE TABLE meta(key TEXT, value TEXT); INSERT INTO meta VALUES('app', 'x');");
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), RS_EFORMAT);
  /* an empty results DB opens and holds no runs */
  db_path(path, sizeof path, "empty.db");
  sim_results *w;
  ck_assert_int_eq(sim_results_open(path, &w, &e), 0);
  sim_results_close(w);
  ck_assert_int_eq(sim_results_open_read(path, &r, &e), 0);
  runs_got g;
  memset(&g, 0, sizeof g);
  ck_assert_int_eq(sim_results_read_runs(r, 1, 0, 0, got_run, &g, &e), 0);
  ck_assert_int_eq(g.n, 0);
  sim_results_close(r);
}
END_TEST

static void setup(void) { ck_assert_ptr_nonnull(test_tmpdir(tmpdir, sizeof tmpdir)); }

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *results_suite(void) {
  Suite *s = suite_create("results");
  struct {
    const char *name;
    const TTest *t;
  } cases[] = {
      {"read_runs", test_read_runs},     {"read_series", test_read_series},
      {"read_pickups", test_read_pickups}, {"cells", test_cells},
      {"schema_versions", test_schema_versions}, {"open_read", test_open_read},
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

int main(void) { return test_run_suite(results_suite()); }

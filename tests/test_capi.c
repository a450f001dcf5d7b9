/*
 * Tests of the C API (capi/ridesim.h), through the shared library, on the
 * synthetic city.
 *
 * Reference runs are made with the run library (run/setup.h: the same
 * scenario, the built-in policy answering at once), and an environment
 * answering every decision itself must give exactly the same orders'
 * outcomes and KPIs: scores of minus the pickup distance through the
 * exact matcher against batch-distance, the nearest free candidate per
 * order (in row order) against fcfs-nearest. Then the arrays of each
 * decision against what they must say, every kind of faulty answer
 * (refused, the decision left pending, a good answer accepted after),
 * the promise of maximal answers, seeding, two environments interleaved,
 * repositioning rounds, baselines and the lifecycle's wrong states.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "capi/ridesim.h"
#include "run/setup.h"
#include "sim/engine.h"
#include "sim/scenario.h"

#define SYN_BATCH \
  "{\"dispatch\": \"batch-distance\", \"from\": \"07:00\", \"to\": \"08:00\", \"drivers\": 1500}"
#define SYN_FCFS \
  "{\"dispatch\": \"fcfs-nearest\", \"from\": \"07:00\", \"to\": \"08:00\", \"drivers\": 1200}"

/* ------------------------------------------------------------- helpers */

static ridesim_env *env_open(const char *scenario, const char *options) {
  ridesim_env *env = NULL;
  char err[512];
  int rc = ridesim_env_new(scenario, options, &env, err, sizeof err);
  ck_assert_msg(rc == 0, "ridesim_env_new: %s", err);
  ck_assert_ptr_nonnull(env);
  return env;
}

static ridesim_array arr(const ridesim_env *env, int id) {
  ridesim_array a;
  ck_assert_int_eq(ridesim_env_array(env, id, &a), 0);
  return a;
}

#define AT(a, T, i) (*(const T *)((const char *)(a).data + (i) * (a).stride))

/* The reference: the scenario's own policy answering at once. */
typedef struct {
  run_input in;
  run_ctx *ctx;
  sim_kpis k;
} ref_run;

static void ref_open(ref_run *r, const char *scenario, uint64_t seed) {
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  rs_err e = {0};
  ck_assert_msg(sim_scenario_parse(&sc, scenario, "test", &e) == 0, "%s", e.msg);
  sc.seed = seed;
  ck_assert_msg(run_input_load(&sc, 0, &r->in, &e) == 0, "%s", e.msg);
  ck_assert_msg(run_ctx_new(&sc, &r->in, &r->ctx, &e) == 0, "%s", e.msg);
  int rc;
  while ((rc = sim_engine_step(r->ctx->eng, INT64_MAX, 65536, &e)) == 0) continue;
  ck_assert_msg(rc == SIM_STEP_DONE, "%s", e.msg);
  sim_engine_kpis(r->ctx->eng, &r->k);
}

static void ref_close(ref_run *r) {
  run_ctx_free(r->ctx);
  run_input_free(&r->in);
}

/* The episode's orders against the reference's, every field. */
static void assert_same_orders(const ridesim_env *env, const ref_run *r) {
  const sim_engine *s = r->ctx->eng;
  const sim_order_rec *rec = sim_engine_order_recs(s);
  ridesim_array st = arr(env, RIDESIM_A_ORDER_STATUS), dr = arr(env, RIDESIM_A_ORDER_DRIVER),
                tm = arr(env, RIDESIM_A_ORDER_T_MATCH), tp = arr(env, RIDESIM_A_ORDER_T_PICKUP),
                td = arr(env, RIDESIM_A_ORDER_T_DROPOFF), tf = arr(env, RIDESIM_A_ORDER_T_FINAL),
                pm = arr(env, RIDESIM_A_ORDER_PICKUP_M);
  ck_assert_int_eq(st.n, (int64_t)sim_engine_n_orders(s));
  for (int64_t i = 0; i < st.n; i++) {
    ck_assert_msg(AT(st, int32_t, i) == rec[i].status && AT(dr, int32_t, i) == rec[i].driver &&
                      AT(tm, int64_t, i) == rec[i].t_match &&
                      AT(tp, int64_t, i) == rec[i].t_pickup &&
                      AT(td, int64_t, i) == rec[i].t_dropoff &&
                      AT(tf, int64_t, i) == rec[i].t_final,
                  "order %lld differs", (long long)i);
    double a = AT(pm, double, i), b = rec[i].pickup_m;
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
  }
}

static double kpi(ridesim_env *env, const char *name) {
  int n = ridesim_kpi_count();
  double v[64];
  ck_assert_int_le(n, 64);
  ck_assert_msg(ridesim_env_kpis(env, v, n) == 0, "%s", ridesim_env_error(env));
  for (int i = 0; i < n; i++)
    if (strcmp(ridesim_kpi_name(i), name) == 0) return v[i];
  ck_abort_msg("no KPI %s", name);
  return NAN;
}

/* Answers every decision of an episode with minus the pickup distance. */
static int64_t run_scores(ridesim_env *env, int mode) {
  int64_t steps = 0;
  int k;
  double *sc = NULL;
  size_t cap = 0;
  /* a decision may be pending already */
  while ((k = ridesim_env_state(env)->decision == RIDESIM_DISPATCH ? RIDESIM_DISPATCH
                                                                    : ridesim_env_advance(env)) ==
         RIDESIM_DISPATCH) {
    ridesim_array d = arr(env, RIDESIM_A_EDGE_DIST);
    if ((size_t)d.n > cap) {
      cap = (size_t)d.n * 2;
      sc = realloc(sc, cap * sizeof *sc);
      ck_assert_ptr_nonnull(sc);
    }
    for (int64_t i = 0; i < d.n; i++) sc[i] = -AT(d, double, i);
    ck_assert_msg(ridesim_env_answer_scores(env, sc, d.n, mode) == 0, "%s",
                  ridesim_env_error(env));
    steps++;
  }
  free(sc);
  ck_assert_msg(k == RIDESIM_DONE, "advance: %d %s", k, ridesim_env_error(env));
  return steps;
}

/* The nearest free candidate of each row, in row order. */
static void nearest_free(ridesim_env *env, int32_t *choice) {
  ridesim_array rp = arr(env, RIDESIM_A_ROW_PTR), ed = arr(env, RIDESIM_A_EDGE_DRIVER);
  const ridesim_state *st = ridesim_env_state(env);
  static uint8_t used[1 << 16];
  memset(used, 0, (size_t)st->n_drivers);
  for (int32_t r = 0; r < st->n_rows; r++) {
    choice[r] = -1;
    for (int32_t k = AT(rp, int32_t, r); k < AT(rp, int32_t, r + 1); k++) {
      int32_t d = AT(ed, int32_t, k);
      if (used[d]) continue;
      used[d] = 1;
      choice[r] = k - AT(rp, int32_t, r);
      break;
    }
  }
}

/* ------------------------------------------------------------ versions */

START_TEST(versions_and_codes) {
  ck_assert_int_eq(ridesim_abi_version(), RIDESIM_ABI_VERSION);
  ck_assert_str_ne(ridesim_version(), "");
  ck_assert_str_eq(ridesim_status_name(RIDESIM_EINVAL), "RIDESIM_EINVAL");
  ck_assert_str_eq(ridesim_status_name(RIDESIM_ESTATE), "RIDESIM_ESTATE");
  ck_assert_str_eq(ridesim_strerror(RIDESIM_OK), "success");
  ck_assert_str_eq(ridesim_status_name(12345), "RIDESIM_UNKNOWN");
  ck_assert_int_eq(ridesim_array_count(), RIDESIM_A_COUNT);
  for (int i = 0; i < ridesim_array_count(); i++) {
    const char *name;
    int32_t type, per;
    ck_assert_int_eq(ridesim_array_info(i, &name, &type, &per), 0);
    ck_assert(type >= RIDESIM_I32 && type <= RIDESIM_U8);
    ck_assert(per >= RIDESIM_PER_ROW && per <= RIDESIM_PER_CELL);
    for (int j = 0; j < i; j++) {
      const char *other;
      ridesim_array_info(j, &other, NULL, NULL);
      ck_assert_str_ne(name, other);
    }
  }
  ck_assert_int_eq(ridesim_array_info(-1, NULL, NULL, NULL), RIDESIM_EINVAL);
  ck_assert_int_eq(ridesim_array_info(RIDESIM_A_COUNT, NULL, NULL, NULL), RIDESIM_EINVAL);
  ck_assert_int_gt(ridesim_kpi_count(), 10);
  ck_assert_ptr_null(ridesim_kpi_name(-1));
  ck_assert_ptr_null(ridesim_kpi_name(ridesim_kpi_count()));
  int j = -1, g = -1;
  for (int i = 0; i < ridesim_kpi_count(); i++) {
    if (strcmp(ridesim_kpi_key(i), "total_driver_income") == 0) j = i;
    if (strcmp(ridesim_kpi_key(i), "income_per_online_hour") == 0) g = i;
  }
  ck_assert_str_eq(ridesim_kpi_name(j), "income");
  ck_assert_str_eq(ridesim_kpi_name(g), "income_per_hour");
  ck_assert_int_eq(ridesim_kpi_direction(j), 1);
}
END_TEST

/* ------------------------------------------------------------ creation */

START_TEST(bad_creation) {
  static const struct {
    const char *scenario, *options, *want;
  } cases[] = {
      {"{", NULL, "scenario"},
      {"{\"nonsense\": 1}", NULL, "nonsense"},
      {"{\"dispatch\": \"nope\"}", NULL, "nope"},
      {"{\"trips\": \"/nonexistent/trips.db\"}", NULL, "/nonexistent/trips.db"},
      {NULL, "[1]", "options"},
      {NULL, "{\"control\": \"everything\"}", "control"},
      {NULL, "{\"like\": \"stay\"}", "stay"},
      {NULL, "{\"maximal\": 1}", "maximal"},
      {NULL, "{\"repo_radius_m\": -5}", "repo_radius_m"},
      {NULL, "{\"colour\": \"red\"}", "colour"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ridesim_env *env = (ridesim_env *)&cases; /* must be overwritten */
    char err[512] = "";
    int rc = ridesim_env_new(cases[i].scenario, cases[i].options, &env, err, sizeof err);
    ck_assert_msg(rc < 0, "case %zu accepted", i);
    ck_assert_ptr_null(env);
    ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: '%s' does not name '%s'", i,
                  err, cases[i].want);
  }
  ck_assert_int_eq(ridesim_env_new(NULL, NULL, NULL, NULL, 0), RIDESIM_EINVAL);
  /* a tiny error buffer is still terminated */
  char small[8];
  ridesim_env *env;
  ck_assert_int_lt(ridesim_env_new("{", NULL, &env, small, sizeof small), 0);
  ck_assert_uint_eq(strlen(small), sizeof small - 1);
  ridesim_env_free(NULL);
}
END_TEST

START_TEST(wrong_states) {
  ridesim_env *env = env_open(SYN_BATCH, NULL);
  const ridesim_state *st = ridesim_env_state(env);
  ck_assert_int_eq(st->decision, RIDESIM_IDLE);
  double x = 0;
  int32_t i = 0;
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_ESTATE);
  ck_assert_ptr_nonnull(strstr(ridesim_env_error(env), "reset"));
  ck_assert_int_eq(ridesim_env_answer_scores(env, &x, 1, 0), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_answer_pairs(env, &i, &i, 1), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_answer_choices(env, &i, 1), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_answer_dests(env, &i, 1), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_kpis(env, &x, 1), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_driver_income(env, &x, 1), RIDESIM_ESTATE);
  ck_assert_str_eq(ridesim_env_scenario(env), "");
  /* arrays before an episode are empty, but the cells */
  ck_assert_int_eq(arr(env, RIDESIM_A_EDGE_DIST).n, 0);
  ck_assert_int_eq(arr(env, RIDESIM_A_ORDER_FARE).n, 0);
  ck_assert_int_gt(arr(env, RIDESIM_A_CELL_LAT).n, 100);
  ridesim_array a;
  ck_assert_int_eq(ridesim_env_array(env, RIDESIM_A_COUNT, &a), RIDESIM_EINVAL);
  ck_assert_int_eq(ridesim_env_reset(env, 0, 0), 0);
  ck_assert_ptr_nonnull(strstr(ridesim_env_scenario(env), "batch-distance"));
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DISPATCH);
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_ESTATE);
  ck_assert_ptr_nonnull(strstr(ridesim_env_error(env), "waits"));
  ck_assert_int_eq(ridesim_env_answer_dests(env, &i, 1), RIDESIM_ESTATE);
  ck_assert_int_eq(ridesim_env_kpis(env, &x, 1), RIDESIM_ESTATE);
  run_scores(env, RIDESIM_SERVE_FIRST);
  ck_assert_int_eq(st->decision, RIDESIM_DONE);
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DONE);
  ck_assert_int_eq(ridesim_env_answer_scores(env, &x, 1, 0), RIDESIM_ESTATE);
  ck_assert_ptr_nonnull(strstr(ridesim_env_error(env), "done"));
  ck_assert_int_eq(ridesim_env_kpis(env, &x, 1), RIDESIM_EINVAL);
  ridesim_env_free(env);
}
END_TEST

/* ---------------------------------------------------------- equivalence */

START_TEST(scores_equal_batch_distance) {
  ref_run ref;
  ref_open(&ref, SYN_BATCH, 3);
  ridesim_env *env = env_open(SYN_BATCH, NULL);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 3), 0);
  int64_t steps = run_scores(env, RIDESIM_SERVE_FIRST);
  ck_assert_int_gt(steps, 1000);
  assert_same_orders(env, &ref);
  ck_assert(kpi(env, "income") == ref.k.income);
  ck_assert(kpi(env, "income_per_hour") == ref.k.income_per_hour);
  ck_assert(kpi(env, "solve_ticks") == (double)ref.k.solve_ticks);
  /* the running total is J, up to the order of the additions */
  const ridesim_state *st = ridesim_env_state(env);
  ck_assert_double_eq_tol(st->income, ref.k.income, 1e-6 * ref.k.income);
  ck_assert_int_eq(st->completed, ref.k.completed);
  ck_assert_int_eq(st->matched, ref.k.matched);
  ck_assert_int_eq(st->decisions, steps);
  /* driver incomes add up to J */
  double inc[2000], sum = 0;
  ck_assert_int_eq(ridesim_env_driver_income(env, inc, st->n_drivers), 0);
  ck_assert_int_eq(ridesim_env_driver_income(env, inc, st->n_drivers + 1), RIDESIM_EINVAL);
  for (int32_t d = 0; d < st->n_drivers; d++) sum += inc[d];
  ck_assert_double_eq_tol(sum, ref.k.income, 1e-6 * ref.k.income);
  ridesim_env_free(env);
  ref_close(&ref);
}
END_TEST

START_TEST(choices_equal_fcfs_nearest) {
  ref_run ref;
  ref_open(&ref, SYN_FCFS, 5);
  ridesim_env *env = env_open(SYN_FCFS, NULL);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 5), 0);
  int k;
  int64_t steps = 0, multi = 0;
  int32_t choice[4096];
  while ((k = ridesim_env_advance(env)) == RIDESIM_DISPATCH) {
    const ridesim_state *st = ridesim_env_state(env);
    ck_assert_int_le(st->n_rows, 4096);
    multi += st->n_rows > 1;
    nearest_free(env, choice);
    ck_assert_msg(ridesim_env_answer_choices(env, choice, st->n_rows) == 0, "%s",
                  ridesim_env_error(env));
    steps++;
  }
  ck_assert_int_eq(k, RIDESIM_DONE);
  ck_assert_int_gt(steps, 1000);
  assert_same_orders(env, &ref);
  ck_assert(kpi(env, "income") == ref.k.income);
  ck_assert(kpi(env, "wait_mean_s") == ref.k.wait_mean_s);
  ridesim_env_free(env);
  ref_close(&ref);
}
END_TEST

/* ---------------------------------------------------------------- arrays */

START_TEST(decision_arrays) {
  ridesim_env *env = env_open(SYN_BATCH, NULL);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 1), 0);
  const ridesim_state *st = ridesim_env_state(env);
  ck_assert_int_eq(st->n_drivers, 1500);
  ck_assert_int_gt(st->n_orders, 1000);
  ck_assert_int_eq(st->to - st->from, 3600);
  int64_t gen = st->generation, decisions = 0, edges = 0;
  double radius = 2000, er = 6371008.8;
  while (ridesim_env_advance(env) == RIDESIM_DISPATCH && decisions < 400) {
    decisions++;
    ridesim_array ro = arr(env, RIDESIM_A_ROW_ORDER), rp = arr(env, RIDESIM_A_ROW_PTR),
                  ws = arr(env, RIDESIM_A_ROW_WAIT_S), pl = arr(env, RIDESIM_A_ROW_PLAT),
                  pg = arr(env, RIDESIM_A_ROW_PLNG), fa = arr(env, RIDESIM_A_ROW_FARE),
                  pc = arr(env, RIDESIM_A_ROW_PCELL), er_ = arr(env, RIDESIM_A_EDGE_ROW),
                  ed = arr(env, RIDESIM_A_EDGE_DRIVER), di = arr(env, RIDESIM_A_EDGE_DIST),
                  et = arr(env, RIDESIM_A_EDGE_ETA), ec = arr(env, RIDESIM_A_EDGE_DRIVER_CELL),
                  of = arr(env, RIDESIM_A_ORDER_FARE), ot = arr(env, RIDESIM_A_ORDER_T_REQUEST),
                  op = arr(env, RIDESIM_A_ORDER_PLAT), oc = arr(env, RIDESIM_A_ORDER_PCELL),
                  os = arr(env, RIDESIM_A_ORDER_STATUS), dl = arr(env, RIDESIM_A_DRIVER_LAT),
                  dg = arr(env, RIDESIM_A_DRIVER_LNG), dc = arr(env, RIDESIM_A_DRIVER_CELL),
                  ds = arr(env, RIDESIM_A_DRIVER_STATE);
    ck_assert_int_eq(ro.n, st->n_rows);
    ck_assert_int_eq(rp.n, st->n_rows + 1);
    ck_assert_int_eq(ed.n, st->n_edges);
    ck_assert_int_le(ed.n, ed.cap);
    ck_assert_int_eq(of.n, st->n_orders);
    ck_assert_int_eq(dl.n, st->n_drivers);
    ck_assert_int_eq(AT(rp, int32_t, 0), 0);
    ck_assert_int_eq(AT(rp, int32_t, st->n_rows), st->n_edges);
    for (int32_t r = 0; r < st->n_rows; r++) {
      int32_t o = AT(ro, int32_t, r);
      ck_assert(r == 0 || o > AT(ro, int32_t, r - 1));
      ck_assert_int_eq(AT(os, int32_t, o), 0); /* waiting */
      ck_assert_int_eq(AT(ws, int64_t, r), st->now - AT(ot, int64_t, o));
      ck_assert(AT(pl, double, r) == AT(op, double, o));
      ck_assert(AT(fa, double, r) == AT(of, double, o));
      ck_assert_int_eq(AT(pc, int32_t, r), AT(oc, int32_t, o));
      int32_t lo = AT(rp, int32_t, r), hi = AT(rp, int32_t, r + 1);
      ck_assert_int_le(hi - lo, st->top_k);
      for (int32_t k = lo; k < hi; k++) {
        int32_t d = AT(ed, int32_t, k);
        ck_assert_int_eq(AT(er_, int32_t, k), r);
        ck_assert_int_eq(AT(ds, int32_t, d), 1); /* idle */
        ck_assert_int_eq(AT(ec, int32_t, k), AT(dc, int32_t, d));
        double m = rs_geo_haversine_r(AT(dl, double, d), AT(dg, double, d), AT(pl, double, r),
                                      AT(pg, double, r), er);
        ck_assert_double_eq_tol(AT(di, double, k), m, 1e-3 * (1 + m));
        ck_assert(AT(di, double, k) <= radius + 1e-6);
        ck_assert(AT(et, double, k) >= 0);
        ck_assert(k == lo || AT(di, double, k) >= AT(di, double, k - 1));
      }
    }
    edges += st->n_edges;
    /* a pending decision's arrays stay put until answered */
    ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_ESTATE);
    ck_assert_int_eq(arr(env, RIDESIM_A_EDGE_DIST).n, st->n_edges);
    int32_t choice[4096];
    nearest_free(env, choice);
    ck_assert_msg(ridesim_env_answer_choices(env, choice, st->n_rows) == 0, "%s",
                  ridesim_env_error(env));
    /* answered: the decision's arrays are empty, the tables are not */
    ck_assert_int_eq(arr(env, RIDESIM_A_EDGE_DIST).n, 0);
    ck_assert_int_eq(arr(env, RIDESIM_A_ROW_PTR).n, 0);
    ck_assert_int_eq(arr(env, RIDESIM_A_ORDER_FARE).n, st->n_orders);
  }
  ck_assert_int_gt(edges, 1000);
  ck_assert_int_gt(st->generation, gen);
  gen = st->generation;
  ck_assert_int_eq(ridesim_env_reset(env, 0, 0), 0);
  ck_assert_int_gt(st->generation, gen);
  ck_assert_int_eq(st->episode, 2);
  ck_assert_int_eq(st->seed, 2);
  ck_assert_int_eq(st->decision, RIDESIM_IDLE);
  ridesim_env_free(env);
}
END_TEST

/* --------------------------------------------------------- bad answers */

static void expect_refused(ridesim_env *env, int rc, const char *want) {
  ck_assert_int_eq(rc, RIDESIM_EINVAL);
  ck_assert_msg(strstr(ridesim_env_error(env), want) != NULL, "'%s' does not say '%s'",
                ridesim_env_error(env), want);
  ck_assert_int_eq(ridesim_env_state(env)->decision, RIDESIM_DISPATCH);
}

START_TEST(bad_dispatch_answers) {
  ridesim_env *env = env_open(SYN_BATCH, "{\"maximal\": false}");
  ck_assert_int_eq(ridesim_env_reset(env, 1, 1), 0);
  const ridesim_state *st = ridesim_env_state(env);
  /* a decision with two rows sharing a driver */
  int found = 0;
  int32_t o0 = -1, o1 = -1, shared = -1, other = -1;
  for (int i = 0; i < 5000 && !found; i++) {
    ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DISPATCH);
    ridesim_array ro = arr(env, RIDESIM_A_ROW_ORDER), rp = arr(env, RIDESIM_A_ROW_PTR),
                  ed = arr(env, RIDESIM_A_EDGE_DRIVER);
    for (int32_t r = 1; r < st->n_rows && !found; r++)
      for (int32_t k = AT(rp, int32_t, r); k < AT(rp, int32_t, r + 1) && !found; k++)
        for (int32_t j = AT(rp, int32_t, 0); j < AT(rp, int32_t, 1); j++)
          if (AT(ed, int32_t, j) == AT(ed, int32_t, k) && AT(rp, int32_t, 1) > 1) {
            found = 1;
            o0 = AT(ro, int32_t, 0);
            o1 = AT(ro, int32_t, r);
            shared = AT(ed, int32_t, k);
            other = AT(ed, int32_t, j == AT(rp, int32_t, 0) ? j + 1 : AT(rp, int32_t, 0));
          }
    if (!found) ck_assert_int_eq(ridesim_env_answer_pairs(env, NULL, NULL, 0), 0);
  }
  ck_assert(found);
  int64_t now = st->now, decisions = st->decisions;
  /* pairs: every fault of evaluate's validation */
  int32_t o[2], d[2];
  o[0] = st->n_orders + 3, d[0] = shared;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 1), "unknown-order");
  o[0] = -1;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 1), "unknown-order");
  o[0] = o0, d[0] = st->n_drivers;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 1), "unknown-driver");
  /* a driver of the fleet that no row was offered */
  ridesim_array ed = arr(env, RIDESIM_A_EDGE_DRIVER);
  int32_t stranger = 0;
  for (int again = 1; again;) {
    again = 0;
    for (int64_t k = 0; k < ed.n; k++)
      if (AT(ed, int32_t, k) == stranger) {
        stranger++;
        again = 1;
      }
  }
  d[0] = stranger;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 1), "unknown-driver");
  /* a candidate of another row only */
  ridesim_array rp = arr(env, RIDESIM_A_ROW_PTR);
  int32_t foreign = -1;
  for (int32_t k = AT(rp, int32_t, 1); k < st->n_edges && foreign < 0; k++) {
    int32_t x = AT(ed, int32_t, k), mine = 0;
    for (int32_t j = 0; j < AT(rp, int32_t, 1); j++) mine |= AT(ed, int32_t, j) == x;
    if (!mine) foreign = x;
  }
  if (foreign >= 0) {
    d[0] = foreign;
    expect_refused(env, ridesim_env_answer_pairs(env, o, d, 1), "not-offered");
  }
  o[0] = o0, d[0] = shared, o[1] = o0, d[1] = other;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 2), "duplicate-order");
  o[1] = o1, d[1] = shared;
  expect_refused(env, ridesim_env_answer_pairs(env, o, d, 2), "duplicate-driver");
  ck_assert_int_eq(ridesim_env_answer_pairs(env, o, d, -1), RIDESIM_EINVAL);
  /* choices */
  int32_t ch[4096];
  for (int32_t r = 0; r < st->n_rows; r++) ch[r] = -1;
  expect_refused(env, ridesim_env_answer_choices(env, ch, st->n_rows + 1), "choices");
  ch[0] = st->top_k + 1;
  expect_refused(env, ridesim_env_answer_choices(env, ch, st->n_rows), "row 0");
  ch[0] = -2;
  expect_refused(env, ridesim_env_answer_choices(env, ch, st->n_rows), "row 0");
  /* scores */
  double sc[65536];
  ck_assert_int_le(st->n_edges, 65536);
  for (int32_t k = 0; k < st->n_edges; k++) sc[k] = 1.0;
  expect_refused(env, ridesim_env_answer_scores(env, sc, st->n_edges - 1, 0), "scores");
  expect_refused(env, ridesim_env_answer_scores(env, sc, st->n_edges, 7), "mode");
  sc[st->n_edges - 1] = NAN;
  expect_refused(env, ridesim_env_answer_scores(env, sc, st->n_edges, 0), "NaN");
  sc[st->n_edges - 1] = INFINITY;
  expect_refused(env, ridesim_env_answer_scores(env, sc, st->n_edges, 1), "infinite");
  sc[st->n_edges - 1] = 1e300; /* beyond the solver's exact range */
  ck_assert_int_lt(ridesim_env_answer_scores(env, sc, st->n_edges, 0), 0);
  ck_assert_int_eq(st->decision, RIDESIM_DISPATCH);
  /* nothing moved; then a good answer stands */
  ck_assert_int_eq(st->now, now);
  ck_assert_int_eq(st->decisions, decisions);
  o[0] = o0, d[0] = shared;
  ck_assert_msg(ridesim_env_answer_pairs(env, o, d, 1) == 0, "%s", ridesim_env_error(env));
  ck_assert_int_eq(st->last_matched, 1);
  ridesim_array osr = arr(env, RIDESIM_A_ORDER_DRIVER);
  ck_assert_int_eq(AT(osr, int32_t, o0), shared);
  ridesim_env_free(env);
}
END_TEST

/* The promise: no order left unmatched with a free candidate. */
START_TEST(maximal_promise) {
  ridesim_env *env = env_open(SYN_BATCH, NULL);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 1), 0);
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DISPATCH);
  expect_refused(env, ridesim_env_answer_pairs(env, NULL, NULL, 0), "maximal");
  const ridesim_state *st = ridesim_env_state(env);
  /* pure maximum weight with every score negative takes nothing */
  double sc[65536];
  for (int32_t k = 0; k < st->n_edges; k++) sc[k] = -1.0;
  expect_refused(env, ridesim_env_answer_scores(env, sc, st->n_edges, RIDESIM_MAX_WEIGHT),
                 "maximal");
  ck_assert_int_eq(ridesim_env_answer_scores(env, sc, st->n_edges, RIDESIM_SERVE_FIRST), 0);
  ck_assert_int_gt(st->last_matched, 0);
  ridesim_env_free(env);
  /* lifted: an empty answer stands, and the orders come back */
  env = env_open(SYN_BATCH, "{\"maximal\": false}");
  st = ridesim_env_state(env);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 1), 0);
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DISPATCH);
  int32_t first = AT(arr(env, RIDESIM_A_ROW_ORDER), int32_t, 0);
  ck_assert_int_eq(ridesim_env_answer_pairs(env, NULL, NULL, 0), 0);
  ck_assert_int_eq(st->last_matched, 0);
  ck_assert_int_eq(ridesim_env_advance(env), RIDESIM_DISPATCH);
  ck_assert_int_eq(AT(arr(env, RIDESIM_A_ROW_ORDER), int32_t, 0), first);
  for (int32_t k = 0; k < st->n_edges; k++) sc[k] = -1.0;
  ck_assert_int_eq(ridesim_env_answer_scores(env, sc, st->n_edges, RIDESIM_MAX_WEIGHT), 0);
  ck_assert_int_eq(st->last_matched, 0);
  ridesim_env_free(env);
}
END_TEST

/* -------------------------------------------------------------- seeding */

static void order_drivers(ridesim_env *env, int32_t *out, int32_t n) {
  ridesim_array a = arr(env, RIDESIM_A_ORDER_DRIVER);
  ck_assert_int_eq(a.n, n);
  for (int32_t i = 0; i < n; i++) out[i] = AT(a, int32_t, i);
}

START_TEST(seeding) {
  const char *sc = "{\"dispatch\": \"batch-distance\", \"trips\": null, \"from\": \"07:00\", "
                   "\"to\": \"07:30\", \"drivers\": 800}";
  ridesim_env *env = env_open(sc, NULL);
  const ridesim_state *st = ridesim_env_state(env);
  static int32_t a[20000], b[20000];
  ck_assert_int_eq(ridesim_env_reset(env, 1, 11), 0);
  run_scores(env, 0);
  int32_t n = st->n_orders;
  double ja = st->income;
  order_drivers(env, a, n);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 12), 0);
  run_scores(env, 0);
  ck_assert(st->income != ja);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 11), 0);
  run_scores(env, 0);
  ck_assert_int_eq(st->n_orders, n);
  order_drivers(env, b, n);
  ck_assert(memcmp(a, b, (size_t)n * sizeof *a) == 0);
  ck_assert(st->income == ja);
  /* no seed: the scenario's first, then one more each episode */
  ridesim_env_free(env);
  env = env_open(sc, NULL);
  st = ridesim_env_state(env);
  ck_assert_int_eq(ridesim_env_reset(env, 0, 0), 0);
  ck_assert_int_eq(st->seed, 1);
  ck_assert_int_eq(ridesim_env_reset(env, 0, 0), 0);
  ck_assert_int_eq(st->seed, 2);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 11), 0);
  ck_assert_int_eq(ridesim_env_reset(env, 0, 0), 0);
  ck_assert_int_eq(st->seed, 12);
  ridesim_env_free(env);
}
END_TEST

/* Two environments stepped in turn give what each gives alone. */
START_TEST(interleaved) {
  ridesim_env *x = env_open(SYN_BATCH, NULL), *y = env_open(SYN_FCFS, NULL);
  ck_assert_int_eq(ridesim_env_reset(x, 1, 4), 0);
  ck_assert_int_eq(ridesim_env_reset(y, 1, 4), 0);
  int kx = RIDESIM_IDLE, ky = RIDESIM_IDLE;
  double sc[65536];
  int32_t ch[4096];
  while (kx != RIDESIM_DONE || ky != RIDESIM_DONE) {
    if (kx != RIDESIM_DONE && (kx = ridesim_env_advance(x)) == RIDESIM_DISPATCH) {
      ridesim_array d = arr(x, RIDESIM_A_EDGE_DIST);
      for (int64_t i = 0; i < d.n; i++) sc[i] = -AT(d, double, i);
      ck_assert_int_eq(ridesim_env_answer_scores(x, sc, d.n, 0), 0);
    }
    if (ky != RIDESIM_DONE && (ky = ridesim_env_advance(y)) == RIDESIM_DISPATCH) {
      nearest_free(y, ch);
      ck_assert_int_eq(ridesim_env_answer_choices(y, ch, ridesim_env_state(y)->n_rows), 0);
    }
    ck_assert(kx >= 0 && ky >= 0);
  }
  ref_run rx, ry;
  ref_open(&rx, SYN_BATCH, 4);
  ref_open(&ry, SYN_FCFS, 4);
  assert_same_orders(x, &rx);
  assert_same_orders(y, &ry);
  ref_close(&rx);
  ref_close(&ry);
  ridesim_env_free(x);
  ridesim_env_free(y);
}
END_TEST

/* --------------------------------------------------------- repositioning */

START_TEST(repositioning_rounds) {
  const char *sc = "{\"dispatch\": \"batch-distance\", \"from\": \"07:00\", \"to\": \"08:30\", "
                   "\"drivers\": 2500, \"repo_idle_s\": 120}";
  ridesim_env *env = env_open(sc, "{\"control\": \"reposition\", \"repo_radius_m\": 2500}");
  const ridesim_state *st = ridesim_env_state(env);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 2), 0);
  int k, rounds = 0, moved = 0;
  static int32_t dest[8192];
  while ((k = ridesim_env_advance(env)) == RIDESIM_REPOSITION) {
    rounds++;
    ridesim_array el = arr(env, RIDESIM_A_ELIG_DRIVER), ep = arr(env, RIDESIM_A_ELIG_PTR),
                  ec = arr(env, RIDESIM_A_ELIG_CELL), rc = arr(env, RIDESIM_A_REACH_CELL),
                  rd = arr(env, RIDESIM_A_REACH_DIST), re = arr(env, RIDESIM_A_REACH_ETA),
                  ds = arr(env, RIDESIM_A_DRIVER_STATE), dc = arr(env, RIDESIM_A_DRIVER_CELL),
                  is = arr(env, RIDESIM_A_ELIG_IDLE_S);
    ck_assert_int_eq(el.n, st->n_eligible);
    ck_assert_int_eq(ep.n, st->n_eligible + 1);
    ck_assert_int_eq(rc.n, st->n_reach);
    ck_assert_int_le(st->n_eligible, 8192);
    ck_assert_int_eq(AT(ep, int32_t, st->n_eligible), st->n_reach);
    for (int32_t i = 0; i < st->n_eligible; i++) {
      int32_t d = AT(el, int32_t, i), lo = AT(ep, int32_t, i), hi = AT(ep, int32_t, i + 1);
      ck_assert_int_eq(AT(ds, int32_t, d), 1);
      ck_assert_int_eq(AT(ec, int32_t, i), AT(dc, int32_t, d));
      ck_assert_int_ge(AT(is, int64_t, i), 120);
      ck_assert_int_gt(hi - lo, 1);
      ck_assert_int_eq(AT(rc, int32_t, lo), AT(ec, int32_t, i)); /* its own cell first */
      ck_assert(AT(rd, double, lo) == 0 && AT(re, double, lo) == 0);
      for (int32_t j = lo + 1; j < hi; j++) {
        ck_assert(AT(rd, double, j) > 0 && AT(rd, double, j) <= 2500);
        ck_assert(AT(re, double, j) > 0);
      }
      /* every other driver to its farthest cell, the rest stay */
      dest[i] = i % 2 ? AT(rc, int32_t, hi - 1) : -1;
      moved += i % 2;
    }
    /* faults: another driver's cell far away, too few */
    if (st->n_eligible > 0) {
      int32_t keep = dest[0];
      dest[0] = st->n_cells + 5;
      ck_assert_int_eq(ridesim_env_answer_dests(env, dest, st->n_eligible), RIDESIM_EINVAL);
      ck_assert_ptr_nonnull(strstr(ridesim_env_error(env), "reachable"));
      ck_assert_int_eq(ridesim_env_answer_dests(env, dest, st->n_eligible - 1), RIDESIM_EINVAL);
      ck_assert_int_eq(st->decision, RIDESIM_REPOSITION);
      dest[0] = keep;
    }
    /* a baseline's destinations are reachable cells (random-walk's
     * neighbouring cells are within 2,500 m of a driver in its cell) */
    static int32_t base[8192];
    ck_assert_msg(ridesim_env_baseline_dests(env, "random-walk", base, st->n_eligible) == 0, "%s",
                  ridesim_env_error(env));
    for (int32_t i = 0; i < st->n_eligible; i++) {
      int32_t lo = AT(ep, int32_t, i), hi = AT(ep, int32_t, i + 1), ok = base[i] == -1;
      for (int32_t j = lo; j < hi; j++) ok |= AT(rc, int32_t, j) == base[i];
      ck_assert(ok);
    }
    ck_assert_int_eq(ridesim_env_baseline_dests(env, "batch-distance", base, st->n_eligible),
                     RIDESIM_EINVAL);
    ck_assert_int_eq(ridesim_env_answer_dests(env, dest, st->n_eligible), 0);
  }
  ck_assert_int_eq(k, RIDESIM_DONE);
  ck_assert_int_gt(rounds, 10);
  ck_assert_int_gt(moved, 100);
  ck_assert(kpi(env, "income") > 0);
  ridesim_env_free(env);
}
END_TEST

/* ------------------------------------------------------------- baselines */

/* A baseline's pairs are those of the same policy answering the same
 * decision, and asking changes nothing of the episode. */
START_TEST(baselines) {
  ridesim_env *env = env_open(SYN_BATCH, NULL);
  const ridesim_state *st = ridesim_env_state(env);
  ck_assert_int_eq(ridesim_env_reset(env, 1, 3), 0);
  static int32_t bo[4096], bd[4096], ro[4096], rd_[4096], fo[4096], fd[4096];
  double sc[65536];
  int64_t steps = 0;
  int k;
  while ((k = ridesim_env_advance(env)) == RIDESIM_DISPATCH) {
    int64_t n = 0, nr = 0, nf = 0;
    ck_assert_msg(ridesim_env_baseline_pairs(env, "batch-distance", bo, bd, 4096, &n) == 0, "%s",
                  ridesim_env_error(env));
    ck_assert_int_eq(ridesim_env_baseline_pairs(env, "random", ro, rd_, 4096, &nr), 0);
    ck_assert_int_eq(ridesim_env_baseline_pairs(env, "fcfs-nearest", fo, fd, 4096, &nf), 0);
    ck_assert_int_le(nr, st->n_rows);
    if (steps == 0) {
      int64_t tiny;
      ck_assert_int_eq(ridesim_env_baseline_pairs(env, "nope", bo, bd, 4096, &tiny),
                       RIDESIM_EINVAL);
      ck_assert_int_eq(ridesim_env_baseline_pairs(env, "stay", bo, bd, 4096, &tiny),
                       RIDESIM_EINVAL);
      if (n > 0)
        ck_assert_int_eq(ridesim_env_baseline_pairs(env, "batch-distance", bo, bd, 0, &tiny),
                         RIDESIM_ERANGE);
      ck_assert_int_eq(ridesim_env_baseline_pairs(env, "batch-distance", bo, bd, 4096, &n), 0);
    }
    /* the baseline's pairs are an answer the environment accepts, and the
     * minus-distance scores give the same pairs */
    ridesim_array d = arr(env, RIDESIM_A_EDGE_DIST);
    for (int64_t i = 0; i < d.n; i++) sc[i] = -AT(d, double, i);
    ck_assert_int_eq(ridesim_env_answer_scores(env, sc, d.n, 0), 0);
    ck_assert_int_eq(st->last_matched, n);
    ridesim_array od = arr(env, RIDESIM_A_ORDER_DRIVER);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(AT(od, int32_t, bo[i]), bd[i]);
    steps++;
  }
  ck_assert_int_eq(k, RIDESIM_DONE);
  /* asking baselines (random ones included) changed nothing */
  ref_run ref;
  ref_open(&ref, SYN_BATCH, 3);
  assert_same_orders(env, &ref);
  ref_close(&ref);
  ridesim_env_free(env);
}
END_TEST

/* ----------------------------------------------------------------- suite */

static Suite *capi_suite(void) {
  Suite *s = suite_create("capi");
  TCase *tc = tcase_create("api");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, versions_and_codes);
  tcase_add_test(tc, bad_creation);
  tcase_add_test(tc, wrong_states);
  tcase_add_test(tc, decision_arrays);
  tcase_add_test(tc, bad_dispatch_answers);
  tcase_add_test(tc, maximal_promise);
  suite_add_tcase(s, tc);
  tc = tcase_create("equivalence");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, scores_equal_batch_distance);
  tcase_add_test(tc, choices_equal_fcfs_nearest);
  tcase_add_test(tc, seeding);
  tcase_add_test(tc, interleaved);
  tcase_add_test(tc, baselines);
  suite_add_tcase(s, tc);
  tc = tcase_create("reposition");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, repositioning_rounds);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(capi_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

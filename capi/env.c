/*
 * env: an environment's life (creation from JSON, episodes, closing), the
 * advance to the next decision, the arrays that show a decision, and the
 * KPIs; see ridesim.h for the contract and env_int.h for the state.
 *
 * Creation parses the scenario (sim/scenario.h, the CLI's own parser) and
 * the options, loads the input (run/setup.h: the trip store's day and
 * horizon, or the synthetic city; the travel model), builds the city's
 * grid and cell tables, and builds the policy named by "like" once to
 * read the shape of its decisions (immediate, maximal, per-driver cap,
 * one-row cap), then keeps it as a baseline.
 *
 * An episode is a run_ctx (run/setup.h: policies through the registry, the
 * engine) on the loaded input, with the scenario's seed replaced; the
 * synthetic city's trips depend on the seed, so its input is generated
 * again when the seed changes. The policies the caller controls are then
 * swapped for stand-ins that answer later (the engine holds pointers to
 * the run_ctx's dp and rp, as run/agentrun.c relies on too); the built
 * ones are kept aside (own_dp, own_rp) and serve as the scenario's
 * baselines, still observed by their model.
 *
 * Advance steps the engine in slices until it waits or is done. At a
 * dispatch decision it copies the rows (request order) and gathers the
 * per-row and per-edge features into the environment's buffers, and
 * stamps the offered orders and drivers for the answer's checks; the
 * candidate graph itself is read in the engine's buffers (their pointers
 * tracked for the generation). At a repositioning round it lists each
 * eligible driver's reachable cells: its own cell, then those of the
 * k-ring out to repo_radius_m whose centre is within it (great-circle, as
 * v1d3's repositioning measures reach), timed by the travel model.
 *
 * Costs: creation loads the input once; a reset copies the trips and
 * builds the engine (O(orders + drivers)); a dispatch decision costs the
 * engine's candidate search plus O(rows + edges) here; a repositioning
 * round O(eligible x cells within reach) legs of the travel model. The
 * running totals of the state (J so far) sum the kpi_series windows
 * reached, O(windows) per stop.
 */
#include "capi/env_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/rs_geo.h"
#include "base/rs_vec.h"
#include "dispatch/v1d3.h"
#include "sim/engine.h"
#include "sim/kpi.h"

#ifndef RIDESIM_VERSION
#define RIDESIM_VERSION "unknown"
#endif

#define ENV_SLICE 65536 /* events per sim_engine_step call */

/* The API's codes are rs_error's: a message set with an rs code returns
 * the same number to the caller. */
#define ENV_X_(name, val, msg) \
  _Static_assert((int)RIDESIM_E##name == (int)RS_E##name, "RIDESIM_E" #name);
RS_ERRNO_MAP(ENV_X_)
#undef ENV_X_

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ versions */

int ridesim_abi_version(void) { return RIDESIM_ABI_VERSION; }
const char *ridesim_version(void) { return RIDESIM_VERSION; }

const char *ridesim_strerror(int code) {
  switch (code) {
#define ENV_X_(name, val, msg) \
  case val:                    \
    return msg;
    RIDESIM_STATUS_MAP(ENV_X_)
#undef ENV_X_
  default:
    return "unknown status";
  }
}

const char *ridesim_status_name(int code) {
  switch (code) {
#define ENV_X_(name, val, msg) \
  case val:                    \
    return "RIDESIM_" #name;
    RIDESIM_STATUS_MAP(ENV_X_)
#undef ENV_X_
  default:
    return "RIDESIM_UNKNOWN";
  }
}

/* ------------------------------------------------------------- options */

static int parse_options(ridesim_env *env, const char *json, rs_err *e) {
  env->control = ENV_CONTROL_DISPATCH;
  env->maximal = -1; /* like's promise */
  env->repo_radius_m = DISP_V1D3_REPO_RADIUS_M;
  if (json == NULL || json[0] == '\0') return 0;
  cJSON *root = cJSON_Parse(json);
  if (root == NULL || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return rs_err_set(e, RS_EFORMAT, "options: not a JSON object");
  }
  int rc = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, root) {
    const char *k = it->string;
    if (strcmp(k, "control") == 0) {
      const char *v = cJSON_IsString(it) ? it->valuestring : "";
      if (strcmp(v, "dispatch") == 0) env->control = ENV_CONTROL_DISPATCH;
      else if (strcmp(v, "reposition") == 0) env->control = ENV_CONTROL_REPOSITION;
      else if (strcmp(v, "both") == 0)
        env->control = ENV_CONTROL_DISPATCH | ENV_CONTROL_REPOSITION;
      else {
        rc = rs_err_set(e, RS_EFORMAT,
                        "options: control must be \"dispatch\", \"reposition\" or \"both\"");
        break;
      }
    } else if (strcmp(k, "like") == 0) {
      if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof env->like) {
        rc = rs_err_set(e, RS_EFORMAT, "options: like must be a dispatch policy's name");
        break;
      }
      snprintf(env->like, sizeof env->like, "%s", it->valuestring);
    } else if (strcmp(k, "maximal") == 0) {
      if (!cJSON_IsBool(it)) {
        rc = rs_err_set(e, RS_EFORMAT, "options: maximal must be true or false");
        break;
      }
      env->maximal = cJSON_IsTrue(it);
    } else if (strcmp(k, "repo_radius_m") == 0) {
      if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble <= 100000)) {
        rc = rs_err_set(e, RS_EFORMAT, "options: repo_radius_m must be a number of metres "
                                       "in (0, 100000]");
        break;
      }
      env->repo_radius_m = it->valuedouble;
    } else if (strcmp(k, "check") == 0) {
      if (!cJSON_IsBool(it)) {
        rc = rs_err_set(e, RS_EFORMAT, "options: check must be true or false");
        break;
      }
      env->check = cJSON_IsTrue(it);
    } else {
      rc = rs_err_set(e, RS_EFORMAT,
                      "options: unknown key '%.60s' (known: control, like, maximal, "
                      "repo_radius_m, check)",
                      k);
      break;
    }
  }
  cJSON_Delete(root);
  return rc;
}

/* Whether the scenario text names its city (else the store's is used). */
static int names_city(const sim_scenario *sc) { return strcmp(sc->city, "synthetic") != 0; }

/* --------------------------------------------------------------- input */

/* The cell tables of the city's grid. */
static int build_cells(ridesim_env *env, rs_err *e) {
  int32_t n = env->grid.n_cells;
  env->cell_lat = malloc((size_t)(n ? n : 1) * sizeof *env->cell_lat);
  env->cell_lng = malloc((size_t)(n ? n : 1) * sizeof *env->cell_lng);
  env->cell_node = malloc((size_t)(n ? n : 1) * sizeof *env->cell_node);
  if (!env->cell_lat || !env->cell_lng || !env->cell_node)
    return rs_err_set(e, RS_ENOMEM, "environment: out of memory for %d cells", (int)n);
  for (int32_t c = 0; c < n; c++) {
    city_grid_center(&env->grid, city_grid_hex(&env->grid, c), &env->cell_lat[c],
                     &env->cell_lng[c]);
    env->cell_node[c] = city_travel_snap(&env->in.travel, env->cell_lat[c], env->cell_lng[c]);
  }
  double e1 = env->grid.edge_m * 1.5;
  env->ring_k = (int32_t)ceil(env->repo_radius_m / e1) + 1;
  env->ring = malloc((size_t)city_hex_kring_size(env->ring_k) * sizeof *env->ring);
  if (env->ring == NULL) return rs_err_set(e, RS_ENOMEM, "environment: out of memory");
  return 0;
}

/* Loads the input for seed (the synthetic city's trips depend on it). */
static int load_input(ridesim_env *env, uint64_t seed, rs_err *e) {
  if (env->have_in) {
    run_input_free(&env->in);
    env->have_in = 0;
  }
  env->sc = env->sc0;
  env->sc.seed = seed;
  int rc = run_input_load(&env->sc, env->city_given, &env->in, e);
  if (rc) return rc;
  env->have_in = 1;
  /* The environment lends the engine's order arrays out (ridesim_array):
   * a horizon whose orders come a day at a time would move them under the
   * caller's feet. */
  if (env->in.synth_days > 1)
    return rs_err_set(e, RS_EINVAL, "environment: a synthetic horizon of several days "
                                    "(horizon_days %d) is not supported: run one day at a time",
                      env->in.synth_days);
  return 0;
}

static double scenario_cancel_p(const void *ctx, double m) {
  return sim_scenario_cancel_p(ctx, m);
}

/* Reads the shape of `like`'s decisions by building it (kept as a baseline). */
static int read_shape(ridesim_env *env, rs_err *e) {
  if (env->like[0] == '\0') snprintf(env->like, sizeof env->like, "%s", env->sc0.dispatch);
  const disp_registry_entry *ent;
  int rc = disp_registry_lookup(env->like, DISP_REG_DISPATCH, &ent, e);
  if (rc) return rc;
  env_baseline *b = &env->base[0];
  snprintf(b->name, sizeof b->name, "%s", env->like);
  b->kind = DISP_REG_DISPATCH;
  if ((rc = disp_registry_build(env->like, "stay", &env->build, &b->models, &b->dp, &b->rp, e)) !=
      0)
    return rc;
  env->n_base = 1;
  env->shape = b->dp;
  if (env->maximal < 0) env->maximal = b->dp.maximal;
  return 0;
}

int ridesim_env_new(const char *scenario_json, const char *options_json, ridesim_env **out,
                    char *err, size_t err_size) {
  rs_err e;
  rs_err_clear(&e);
  if (out == NULL) {
    if (err && err_size) snprintf(err, err_size, "ridesim_env_new: out is NULL");
    return RIDESIM_EINVAL;
  }
  *out = NULL;
  ridesim_env *env = calloc(1, sizeof *env);
  int rc = 0;
  if (env == NULL) {
    rc = rs_err_set(&e, RS_ENOMEM, "environment: out of memory");
    goto fail;
  }
  sim_scenario_defaults(&env->sc0);
  if (scenario_json != NULL && scenario_json[0] != '\0' &&
      (rc = sim_scenario_parse(&env->sc0, scenario_json, "scenario", &e)) != 0)
    goto fail;
  if ((rc = sim_scenario_validate(&env->sc0, &e)) != 0) goto fail;
  if ((rc = run_check_policies(&env->sc0, &e)) != 0) goto fail;
  if ((rc = parse_options(env, options_json, &e)) != 0) goto fail;
  env->city_given = names_city(&env->sc0);
  if ((rc = load_input(env, env->sc0.seed, &e)) != 0) goto fail;
  if ((rc = city_def_grid(&env->in.city, &env->grid, &e)) != 0) goto fail;
  if ((rc = build_cells(env, &e)) != 0) goto fail;
  env->dopt.radius_m = env->sc0.radius_m;
  env->dopt.top_k = env->sc0.top_k;
  env->dopt.driver_top_k = env->sc0.driver_top_k;
  disp_build b = {&env->dopt, &env->sc0.policies, &env->in.travel, &env->grid,
                  scenario_cancel_p, &env->sc0};
  env->build = b;
  if ((rc = read_shape(env, &e)) != 0) goto fail;
  env->st.decision = RIDESIM_IDLE;
  env->st.control = env->control;
  env->st.n_cells = env->grid.n_cells;
  env->st.top_k = env->sc0.top_k;
  env->st.max_reach = city_hex_kring_size(env->ring_k);
  env->st.seed = env->sc0.seed;
  *out = env;
  return 0;
fail:
  if (err && err_size) snprintf(err, err_size, "%s", e.msg);
  ridesim_env_free(env);
  return rc ? rc : RIDESIM_EINVAL;
}

/* ------------------------------------------------------------- episodes */

static void episode_free(ridesim_env *env) {
  if (env->ctx != NULL) {
    /* the stand-ins own nothing; the built policies the engine no longer
     * holds go back to the run_ctx to be freed with it */
    if (env->own_dp.dispatch != NULL) env->ctx->dp = env->own_dp;
    if (env->own_rp.reposition != NULL) env->ctx->rp = env->own_rp;
    run_ctx_free(env->ctx);
    env->ctx = NULL;
  }
  memset(&env->own_dp, 0, sizeof env->own_dp);
  memset(&env->own_rp, 0, sizeof env->own_rp);
  for (int i = 0; i < 2; i++) {
    disp_batch_free(env->batch[i]);
    env->batch[i] = NULL;
  }
  free(env->scenario_json);
  env->scenario_json = NULL;
}

void ridesim_env_free(ridesim_env *env) {
  if (env == NULL) return;
  episode_free(env);
  env__baselines_free(env);
  if (env->have_in) run_input_free(&env->in);
  free(env->cell_lat);
  free(env->cell_lng);
  free(env->cell_node);
  free(env->ring);
  free(env->order_stamp);
  free(env->order_used);
  free(env->row_of);
  free(env->drv_stamp);
  free(env->drv_used);
  free(env->row_order);
  free(env->row_pcell);
  free(env->row_dcell);
  free(env->row_duration_s);
  free(env->row_wait_s);
  free(env->row_plat);
  free(env->row_plng);
  free(env->row_dlat);
  free(env->row_dlng);
  free(env->row_fare);
  free(env->row_trip_m);
  free(env->edge_row);
  free(env->edge_driver_cell);
  free(env->elig_ptr);
  free(env->elig_cell);
  free(env->elig_idle_s);
  free(env->reach_cell);
  free(env->reach_dist);
  free(env->reach_eta);
  free(env->base_out);
  free(env);
}

const char *ridesim_env_error(const ridesim_env *env) { return env ? env->err.msg : ""; }
const ridesim_state *ridesim_env_state(const ridesim_env *env) { return env ? &env->st : NULL; }
const char *ridesim_env_scenario(const ridesim_env *env) {
  return env && env->scenario_json ? env->scenario_json : "";
}

/* The stand-ins: every decision waits for the caller. */
static int ext_dispatch(void *ctx, disp_tick *t, rs_err *e) {
  (void)ctx;
  (void)t;
  (void)e;
  return DISP_PENDING;
}

static int ext_reposition(void *ctx, disp_repo *r, rs_err *e) {
  (void)ctx;
  (void)r;
  (void)e;
  return DISP_PENDING;
}

static const disp_solve_stat *ext_solve_stats(void *ctx, int32_t *n) {
  ridesim_env *env = ctx;
  *n = 0;
  /* the solver that answered (scores of one mode per episode is the use) */
  for (int i = 0; i < 2; i++) {
    if (env->batch[i] == NULL) continue;
    const disp_solve_stat *s = disp_batch_stats(env->batch[i], n);
    if (*n > 0) return s;
  }
  return NULL;
}

/* Per-order and per-driver stamp arrays for the episode's sizes. */
static int grow_stamps(ridesim_env *env, size_t n_orders, size_t n_drivers, rs_err *e) {
  if (n_orders > env->cap_orders) {
    uint32_t *a = calloc(n_orders, sizeof *a), *b = calloc(n_orders, sizeof *b);
    int32_t *r = malloc(n_orders * sizeof *r);
    if (!a || !b || !r) {
      free(a);
      free(b);
      free(r);
      return rs_err_set(e, RS_ENOMEM, "environment: out of memory for %zu orders", n_orders);
    }
    free(env->order_stamp);
    free(env->order_used);
    free(env->row_of);
    env->order_stamp = a;
    env->order_used = b;
    env->row_of = r;
    env->cap_orders = n_orders;
  }
  if (n_drivers > env->cap_drivers) {
    uint32_t *a = calloc(n_drivers, sizeof *a), *b = calloc(n_drivers, sizeof *b);
    if (!a || !b) {
      free(a);
      free(b);
      return rs_err_set(e, RS_ENOMEM, "environment: out of memory for %zu drivers", n_drivers);
    }
    free(env->drv_stamp);
    free(env->drv_used);
    env->drv_stamp = a;
    env->drv_used = b;
    env->cap_drivers = n_drivers;
  }
  return 0;
}

int ridesim_env_reset(ridesim_env *env, int use_seed, uint64_t seed) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  if (!use_seed) seed = env->st.episode == 0 ? env->sc0.seed : env->st.seed + 1;
  episode_free(env);
  env->st.decision = RIDESIM_IDLE;
  env->st.generation++;
  int rc = 0;
  /* the synthetic city's trips are drawn from the seed */
  if (env->sc0.trips[0] == '\0' && seed != env->sc.seed &&
      (rc = load_input(env, seed, e)) != 0)
    goto fail;
  sim_scenario sc = env->sc;
  sc.seed = seed;
  if ((rc = run_ctx_new(&sc, &env->in, &env->ctx, e)) != 0) goto fail;
  run_ctx *r = env->ctx;
  if (env->control & ENV_CONTROL_DISPATCH) {
    env->own_dp = r->dp;
    disp_policy p;
    memset(&p, 0, sizeof p);
    p.name = "external";
    p.immediate = env->shape.immediate;
    p.maximal = env->maximal;
    p.driver_top_k = env->shape.driver_top_k;
    p.one_row_k = env->shape.one_row_k;
    p.ctx = env;
    p.dispatch = ext_dispatch;
    p.solve_stats = ext_solve_stats;
    r->dp = p;
    env->batch[RIDESIM_SERVE_FIRST] = disp_batch_new(env__score, env, 1);
    env->batch[RIDESIM_MAX_WEIGHT] = disp_batch_new(env__score, env, 0);
    if (!env->batch[0] || !env->batch[1]) {
      rc = rs_err_set(e, RS_ENOMEM, "environment: out of memory");
      goto fail;
    }
  }
  if (env->control & ENV_CONTROL_REPOSITION) {
    env->own_rp = r->rp;
    disp_repolicy p;
    memset(&p, 0, sizeof p);
    p.name = "external";
    p.ctx = env;
    p.reposition = ext_reposition;
    r->rp = p;
  }
  if (env->check) sim_engine_set_check(r->eng, 1);
  sim_engine *s = r->eng;
  if ((rc = grow_stamps(env, sim_engine_n_orders(s) + sim_engine_n_warmup(s),
                              (size_t)sim_engine_n_drivers(s), e)) != 0)
    goto fail;
  env->scenario_json = sim_scenario_to_json(&r->sc);
  if (env->scenario_json == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "environment: out of memory");
    goto fail;
  }
  ridesim_state *st = &env->st;
  st->n_rows = st->n_edges = st->n_eligible = st->n_reach = 0;
  st->n_orders = (int32_t)sim_engine_n_orders(s);
  st->n_drivers = sim_engine_n_drivers(s);
  st->now = sim_engine_now(s);
  st->from = sim_engine_from(s);
  st->to = sim_engine_to(s);
  st->episode++;
  st->seed = seed;
  st->decisions = 0;
  st->completed = st->matched = st->last_matched = 0;
  st->income = st->matched_fare = st->last_fare = 0;
  env->wall0_ns = now_ns();
  env->wall_s = 0;
  return 0;
fail:
  episode_free(env);
  return rc;
}

/* ------------------------------------------------------------- advance */

/* Notes where an engine buffer of a decision is: a move, or more elements
 * than known readable there, changes the generation. */
static void track(ridesim_env *env, env_track *t, const void *p, int64_t n) {
  if (p == t->p && n <= t->span) return;
  if (p != t->p) t->span = 0;
  t->p = p;
  if (n > t->span) t->span = n;
  env->st.generation++;
}

/* Grows the gathered dispatch buffers; a move changes the generation. */
static int grow_rows(ridesim_env *env, size_t rows, size_t edges, rs_err *e) {
  if (rows > env->cap_rows) {
    size_t cap0 = env->cap_rows, need = rows, c = cap0;
/* each array grows from the same capacity cap0 to the same c (rs_vec.h) */
#define G(a)                                                                         \
  do {                                                                               \
    size_t c_ = cap0;                                                                \
    if (rs_vec_grow(env->a, c_, need))                                               \
      return rs_err_set(e, RS_ENOMEM, "environment: out of memory");                 \
    c = c_;                                                                          \
  } while (0)
    G(row_order);
    G(row_pcell);
    G(row_dcell);
    G(row_duration_s);
    G(row_wait_s);
    G(row_plat);
    G(row_plng);
    G(row_dlat);
    G(row_dlng);
    G(row_fare);
    G(row_trip_m);
    env->cap_rows = c;
    env->st.generation++;
  }
  if (edges > env->cap_edges) {
    size_t cap0 = env->cap_edges, need = edges, c = cap0;
    G(edge_row);
    G(edge_driver_cell);
    env->cap_edges = c;
    env->st.generation++;
  }
  return 0;
}

static int grow_repo(ridesim_env *env, size_t elig, size_t reach, rs_err *e) {
  if (elig + 1 > env->cap_elig) {
    size_t cap0 = env->cap_elig, need = elig + 1, c = cap0;
    G(elig_ptr);
    G(elig_cell);
    G(elig_idle_s);
    env->cap_elig = c;
    env->st.generation++;
  }
  if (reach > env->cap_reach) {
    size_t cap0 = env->cap_reach, need = reach, c = cap0;
    G(reach_cell);
    G(reach_dist);
    G(reach_eta);
    env->cap_reach = c;
    env->st.generation++;
  }
#undef G
  return 0;
}

/* A dispatch decision: rows copied, features gathered, offers stamped. */
static int gather_dispatch(ridesim_env *env, const disp_tick *t, rs_err *e) {
  sim_engine *s = env__eng(env);
  int32_t nr = t->n_rows, ne = t->row_ptr[nr];
  int rc = grow_rows(env, (size_t)nr, (size_t)ne, e);
  if (rc) return rc;
  if (++env->stamp == 0) {
    memset(env->order_stamp, 0, env->cap_orders * sizeof *env->order_stamp);
    memset(env->drv_stamp, 0, env->cap_drivers * sizeof *env->drv_stamp);
    env->stamp = 1;
  }
  const double *trip_m = sim_engine_trip_m(s);
  for (int32_t i = 0; i < nr; i++) {
    int32_t o = t->row_order[i];
    const disp_order *od = &t->orders[o];
    env->row_order[i] = o;
    env->row_wait_s[i] = t->now - od->t_request;
    env->row_plat[i] = od->plat;
    env->row_plng[i] = od->plng;
    env->row_dlat[i] = od->dlat;
    env->row_dlng[i] = od->dlng;
    env->row_pcell[i] = od->pcell;
    env->row_dcell[i] = od->dcell;
    env->row_fare[i] = od->fare;
    env->row_trip_m[i] = trip_m[o];
    env->row_duration_s[i] = od->duration_s;
    env->order_stamp[o] = env->stamp;
    env->row_of[o] = i;
    for (int32_t k = t->row_ptr[i]; k < t->row_ptr[i + 1]; k++) {
      int32_t d = t->edge_driver[k];
      env->edge_row[k] = i;
      env->edge_driver_cell[k] = t->drivers[d].cell;
      env->drv_stamp[d] = env->stamp;
    }
  }
  track(env, &env->t_row_ptr, t->row_ptr, nr + 1);
  track(env, &env->t_row_capped, t->row_capped, nr);
  track(env, &env->t_edge_driver, t->edge_driver, ne);
  track(env, &env->t_edge_dist, t->edge_dist, ne);
  track(env, &env->t_edge_eta, t->edge_eta, ne);
  env->st.n_rows = nr;
  env->st.n_edges = ne;
  return 0;
}

/* A repositioning round: each eligible driver's reachable cells. */
static int gather_repo(ridesim_env *env, const disp_repo *r, rs_err *e) {
  const city_grid *g = &env->grid;
  const city_travel *tm = &env->in.travel;
  int32_t nk = city_hex_kring_size(env->ring_k);
  size_t n_reach = 0;
  int rc = grow_repo(env, (size_t)r->n_eligible, (size_t)nk, e);
  if (rc) return rc;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    const disp_driver *dv = &r->drivers[r->eligible[i]];
    env->elig_ptr[i] = (int32_t)n_reach;
    env->elig_cell[i] = dv->cell;
    env->elig_idle_s[i] = r->now - dv->idle_since;
    if ((rc = grow_repo(env, (size_t)r->n_eligible, n_reach + (size_t)nk, e)) != 0) return rc;
    const city_loc from = disp_driver_loc(dv);
    int32_t n = city_hex_kring(city_grid_hex(g, dv->cell), env->ring_k, env->ring);
    for (int32_t k = 0; k < n && k < nk; k++) {
      int32_t c = city_grid_index(g, env->ring[k]);
      if (c < 0) continue;
      double dist = 0, eta = 0;
      if (k > 0) {
        dist = rs_geo_haversine_r(dv->lat, dv->lng, env->cell_lat[c], env->cell_lng[c],
                                  env->in.city.earth_radius_m);
        if (dist > env->repo_radius_m) continue;
        city_loc to = {env->cell_lat[c], env->cell_lng[c], env->cell_node[c]};
        city_leg leg;
        city_travel_leg(tm, &from, &to, r->now, &leg);
        eta = leg.secs;
      }
      env->reach_cell[n_reach] = c;
      env->reach_dist[n_reach] = dist;
      env->reach_eta[n_reach] = eta;
      n_reach++;
    }
  }
  env->elig_ptr[r->n_eligible] = (int32_t)n_reach;
  env->st.n_eligible = r->n_eligible;
  env->st.n_reach = (int32_t)n_reach;
  return 0;
}

/* The running totals of the state from the kpi_series windows. */
static void update_totals(ridesim_env *env) {
  sim_engine *s = env__eng(env);
  size_t n;
  const sim_window *w = sim_engine_windows(s, &n);
  double income = 0, mfare = env->st.matched_fare;
  int64_t completed = 0, matched = 0;
  for (size_t i = 0; i < n; i++) {
    income += w[i].income;
    completed += w[i].completed;
    matched += w[i].matched;
  }
  env->st.income = income;
  env->st.completed = completed;
  env->st.matched = matched;
  env->st.matched_fare = mfare;
  env->st.now = sim_engine_now(s);
}

int ridesim_env_advance(ridesim_env *env) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  sim_engine *s = env__eng(env);
  if (s == NULL)
    return rs_err_set(e, RIDESIM_ESTATE, "advance: no episode (reset the environment first)");
  if (env->st.decision == RIDESIM_DISPATCH || env->st.decision == RIDESIM_REPOSITION)
    return rs_err_set(e, RIDESIM_ESTATE, "advance: a %s decision waits for its answer",
                      env->st.decision == RIDESIM_DISPATCH ? "dispatch" : "repositioning");
  if (env->st.decision == RIDESIM_DONE) return RIDESIM_DONE;
  for (;;) {
    int rc = sim_engine_step(s, INT64_MAX, ENV_SLICE, e);
    if (rc < 0) {
      sim_engine_close_early(s);
      env->st.decision = RIDESIM_DONE;
      env->wall_s = (double)(now_ns() - env->wall0_ns) / 1e9;
      update_totals(env);
      return rc;
    }
    if (rc == SIM_STEP_DONE) {
      env->st.decision = RIDESIM_DONE;
      env->wall_s = (double)(now_ns() - env->wall0_ns) / 1e9;
      update_totals(env);
      return RIDESIM_DONE;
    }
    if (rc != SIM_STEP_WAIT) continue;
    int kind = sim_engine_pending(s);
    if (kind == SIM_PENDING_DISPATCH) {
      if ((rc = gather_dispatch(env, sim_engine_pending_tick(s), e)) != 0) return rc;
      env->st.decision = RIDESIM_DISPATCH;
    } else {
      if ((rc = gather_repo(env, sim_engine_pending_repo(s), e)) != 0) return rc;
      env->st.decision = RIDESIM_REPOSITION;
    }
    update_totals(env);
    return env->st.decision;
  }
}

/* -------------------------------------------------------------- arrays */

typedef struct {
  const char *name;
  int32_t type, per;
} array_info;

static const array_info ARRAYS[] = {
#define ENV_X_(id, name, type, per, what) {name, RIDESIM_##type, RIDESIM_PER_##per},
    RIDESIM_ARRAY_LIST(ENV_X_)
#undef ENV_X_
};
_Static_assert(sizeof ARRAYS / sizeof ARRAYS[0] == RIDESIM_A_COUNT, "one line per array");

int ridesim_array_count(void) { return RIDESIM_A_COUNT; }

int ridesim_array_info(int id, const char **name, int32_t *type, int32_t *per) {
  if (id < 0 || id >= RIDESIM_A_COUNT) return RIDESIM_EINVAL;
  if (name) *name = ARRAYS[id].name;
  if (type) *type = ARRAYS[id].type;
  if (per) *per = ARRAYS[id].per;
  return 0;
}

static int64_t type_size(int32_t type) {
  switch (type) {
  case RIDESIM_I32: return 4;
  case RIDESIM_I64: return 8;
  case RIDESIM_F64: return 8;
  default: return 1;
  }
}

/* The count an array follows, now. */
static int64_t count_of(const ridesim_env *env, int32_t per) {
  const ridesim_state *st = &env->st;
  int disp = st->decision == RIDESIM_DISPATCH, repo = st->decision == RIDESIM_REPOSITION;
  switch (per) {
  case RIDESIM_PER_ROW: return disp ? st->n_rows : 0;
  case RIDESIM_PER_ROW1: return disp ? st->n_rows + 1 : 0;
  case RIDESIM_PER_EDGE: return disp ? st->n_edges : 0;
  case RIDESIM_PER_ELIGIBLE: return repo ? st->n_eligible : 0;
  case RIDESIM_PER_ELIGIBLE1: return repo ? st->n_eligible + 1 : 0;
  case RIDESIM_PER_REACH: return repo ? st->n_reach : 0;
  case RIDESIM_PER_ORDER: return env->ctx ? st->n_orders : 0;
  case RIDESIM_PER_DRIVER: return env->ctx ? st->n_drivers : 0;
  case RIDESIM_PER_CELL: return st->n_cells;
  default: return 0;
  }
}

int ridesim_env_array(const ridesim_env *env, int id, ridesim_array *out) {
  if (env == NULL || out == NULL || id < 0 || id >= RIDESIM_A_COUNT) return RIDESIM_EINVAL;
  const array_info *ai = &ARRAYS[id];
  memset(out, 0, sizeof *out);
  out->type = ai->type;
  out->per = ai->per;
  out->stride = type_size(ai->type);
  sim_engine *s = env__eng(env);
  const void *p = NULL;
  int64_t cap = 0;
  const disp_order *od = s ? sim_engine_orders(s) : NULL;
  const sim_order_rec *orec = s ? sim_engine_order_recs(s) : NULL;
  int64_t n_orders = s ? (int64_t)sim_engine_n_orders(s) : 0;
  int64_t n_drivers = s ? sim_engine_n_drivers(s) : 0;
  int64_t rows = (int64_t)env->cap_rows, edges = (int64_t)env->cap_edges;
  int64_t elig = (int64_t)env->cap_elig, reach = (int64_t)env->cap_reach;
#define ORD(field) (p = od ? (const void *)&od->field : NULL, cap = n_orders, \
                    out->stride = (int64_t)sizeof *od)
#define REC(field) (p = orec ? (const void *)&orec->field : NULL, cap = n_orders, \
                    out->stride = (int64_t)sizeof *orec)
  switch (id) {
  case RIDESIM_A_ROW_ORDER: p = env->row_order; cap = rows; break;
  case RIDESIM_A_ROW_PTR: p = env->t_row_ptr.p; cap = env->t_row_ptr.span; break;
  case RIDESIM_A_ROW_CAPPED: p = env->t_row_capped.p; cap = env->t_row_capped.span; break;
  case RIDESIM_A_ROW_WAIT_S: p = env->row_wait_s; cap = rows; break;
  case RIDESIM_A_ROW_PLAT: p = env->row_plat; cap = rows; break;
  case RIDESIM_A_ROW_PLNG: p = env->row_plng; cap = rows; break;
  case RIDESIM_A_ROW_DLAT: p = env->row_dlat; cap = rows; break;
  case RIDESIM_A_ROW_DLNG: p = env->row_dlng; cap = rows; break;
  case RIDESIM_A_ROW_PCELL: p = env->row_pcell; cap = rows; break;
  case RIDESIM_A_ROW_DCELL: p = env->row_dcell; cap = rows; break;
  case RIDESIM_A_ROW_FARE: p = env->row_fare; cap = rows; break;
  case RIDESIM_A_ROW_TRIP_M: p = env->row_trip_m; cap = rows; break;
  case RIDESIM_A_ROW_DURATION_S: p = env->row_duration_s; cap = rows; break;
  case RIDESIM_A_EDGE_ROW: p = env->edge_row; cap = edges; break;
  case RIDESIM_A_EDGE_DRIVER: p = env->t_edge_driver.p; cap = env->t_edge_driver.span; break;
  case RIDESIM_A_EDGE_DIST: p = env->t_edge_dist.p; cap = env->t_edge_dist.span; break;
  case RIDESIM_A_EDGE_ETA: p = env->t_edge_eta.p; cap = env->t_edge_eta.span; break;
  case RIDESIM_A_EDGE_DRIVER_CELL: p = env->edge_driver_cell; cap = edges; break;
  case RIDESIM_A_ELIG_DRIVER:
    /* the engine's own list, room for every driver */
    p = env->st.decision == RIDESIM_REPOSITION ? sim_engine_pending_repo(s)->eligible : NULL;
    cap = p ? n_drivers : 0;
    break;
  case RIDESIM_A_ELIG_PTR: p = env->elig_ptr; cap = elig; break;
  case RIDESIM_A_ELIG_CELL: p = env->elig_cell; cap = elig; break;
  case RIDESIM_A_ELIG_IDLE_S: p = env->elig_idle_s; cap = elig; break;
  case RIDESIM_A_REACH_CELL: p = env->reach_cell; cap = reach; break;
  case RIDESIM_A_REACH_DIST: p = env->reach_dist; cap = reach; break;
  case RIDESIM_A_REACH_ETA: p = env->reach_eta; cap = reach; break;
  case RIDESIM_A_ORDER_ID: ORD(id); break;
  case RIDESIM_A_ORDER_T_REQUEST: ORD(t_request); break;
  case RIDESIM_A_ORDER_PLAT: ORD(plat); break;
  case RIDESIM_A_ORDER_PLNG: ORD(plng); break;
  case RIDESIM_A_ORDER_DLAT: ORD(dlat); break;
  case RIDESIM_A_ORDER_DLNG: ORD(dlng); break;
  case RIDESIM_A_ORDER_PCELL: ORD(pcell); break;
  case RIDESIM_A_ORDER_DCELL: ORD(dcell); break;
  case RIDESIM_A_ORDER_FARE: ORD(fare); break;
  case RIDESIM_A_ORDER_DURATION_S: ORD(duration_s); break;
  case RIDESIM_A_ORDER_TRIP_M: p = s ? sim_engine_trip_m(s) + sim_engine_n_warmup(s) : NULL; cap = n_orders; break;
  case RIDESIM_A_ORDER_STATUS: REC(status); break;
  case RIDESIM_A_ORDER_DRIVER: REC(driver); break;
  case RIDESIM_A_ORDER_T_MATCH: REC(t_match); break;
  case RIDESIM_A_ORDER_T_PICKUP: REC(t_pickup); break;
  case RIDESIM_A_ORDER_T_DROPOFF: REC(t_dropoff); break;
  case RIDESIM_A_ORDER_T_FINAL: REC(t_final); break;
  case RIDESIM_A_ORDER_PICKUP_M: REC(pickup_m); break;
  case RIDESIM_A_ORDER_ETA_S: REC(eta_s); break;
  default: {
    /* the drivers' records (the engine's), and the cells' centres */
    const disp_driver *d = s ? sim_engine_drivers(s) : NULL;
    out->stride = (int64_t)sizeof *d;
    cap = d ? n_drivers : 0;
    switch (id) {
    case RIDESIM_A_DRIVER_LAT: p = d ? (const void *)&d->lat : NULL; break;
    case RIDESIM_A_DRIVER_LNG: p = d ? (const void *)&d->lng : NULL; break;
    case RIDESIM_A_DRIVER_CELL: p = d ? (const void *)&d->cell : NULL; break;
    case RIDESIM_A_DRIVER_STATE: p = d ? (const void *)&d->state : NULL; break;
    case RIDESIM_A_DRIVER_IDLE_SINCE: p = d ? (const void *)&d->idle_since : NULL; break;
    case RIDESIM_A_CELL_LAT: p = env->cell_lat; cap = env->grid.n_cells; out->stride = 8; break;
    case RIDESIM_A_CELL_LNG: p = env->cell_lng; cap = env->grid.n_cells; out->stride = 8; break;
    default: break;
    }
  }
  }
#undef ORD
#undef REC
  out->data = p;
  out->cap = p ? cap : 0;
  out->n = p ? count_of(env, ai->per) : 0;
  if (out->n > out->cap) out->n = out->cap;
  return 0;
}

/* ---------------------------------------------------------------- KPIs */

int ridesim_kpi_count(void) { return SIM_KPI_N; }
const char *ridesim_kpi_name(int i) {
  const sim_kpi_def *d = sim_kpi_def_of(i);
  return d ? d->field : NULL;
}
const char *ridesim_kpi_key(int i) {
  const sim_kpi_def *d = sim_kpi_def_of(i);
  return d ? d->key : NULL;
}
const char *ridesim_kpi_label(int i) {
  const sim_kpi_def *d = sim_kpi_def_of(i);
  return d ? d->label : NULL;
}
const char *ridesim_kpi_unit(int i) {
  const sim_kpi_def *d = sim_kpi_def_of(i);
  return d ? d->unit : NULL;
}
int ridesim_kpi_direction(int i) {
  const sim_kpi_def *d = sim_kpi_def_of(i);
  return d ? d->dir : 0;
}

int ridesim_env_kpis(ridesim_env *env, double *out, int n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  sim_engine *s = env__eng(env);
  if (s == NULL || env->st.decision != RIDESIM_DONE)
    return rs_err_set(e, RIDESIM_ESTATE, "kpis: the episode is not done");
  if (out == NULL || n != SIM_KPI_N)
    return rs_err_set(e, RIDESIM_EINVAL, "kpis: give room for %d values, not %d", SIM_KPI_N, n);
  sim_kpis k;
  sim_engine_kpis(s, &k);
  for (int i = 0; i < SIM_KPI_N; i++) {
    const sim_kpi_def *d = sim_kpi_def_of(i);
    out[i] = d->src == SIM_KPI_SRC_RUN || sim_kpi_in_json(&k, i)
                 ? sim_kpi_value(&k, env->wall_s, i)
                 : NAN;
  }
  return 0;
}

int ridesim_env_driver_income(ridesim_env *env, double *out, int64_t n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  sim_engine *s = env__eng(env);
  if (s == NULL) return rs_err_set(e, RIDESIM_ESTATE, "driver_income: no episode");
  if (out == NULL || n != sim_engine_n_drivers(s))
    return rs_err_set(e, RIDESIM_EINVAL, "driver_income: give room for %d drivers, not %lld",
                      (int)sim_engine_n_drivers(s), (long long)n);
  const sim_driver_rec *r = sim_engine_driver_recs(s);
  for (int64_t d = 0; d < n; d++) out[d] = r[d].income;
  return 0;
}

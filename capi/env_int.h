/*
 * env_int: the environment's private state, shared by the files of the C
 * API (env.c: life, advance, arrays, KPIs; answer.c: answers and
 * baselines) and by no one else: callers see capi/ridesim.h.
 *
 * An environment owns what every episode shares (the scenario as given,
 * the loaded input, the city's grid and cell tables, the baselines it
 * built, its buffers) and the current episode (a run_ctx, whose engine
 * borrows the policies standing in for the caller). Buffers grow to the
 * largest decision and are reused across decisions and episodes.
 *
 * The stand-in policies answer every decision with DISP_PENDING: the
 * engine then waits (sim_engine_step returns SIM_STEP_WAIT) with the
 * decision in sim_engine_pending_tick / _repo until an answer is written
 * into it and sim_engine_resume applies it.
 */
#ifndef CAPI_ENV_INT_H
#define CAPI_ENV_INT_H

#include <stdint.h>

#include "base/pcg32.h"
#include "base/rs_error.h"
#include "capi/ridesim.h"
#include "city_data/hexgrid.h"
#include "dispatch/batch.h"
#include "dispatch/policy.h"
#include "dispatch/registry.h"
#include "run/setup.h"
#include "sim/scenario.h"

#define ENV_BASELINES_MAX 8 /* built-in policies kept for baseline answers */

enum { ENV_CONTROL_DISPATCH = 1, ENV_CONTROL_REPOSITION = 2 };

/* Where a decision array of the engine's lives: tracked so that a moved
 * or larger buffer changes the state's generation. */
typedef struct {
  const void *p;      /* its pointer at the latest decision */
  int64_t span;       /* elements known readable there */
} env_track;

/* A built-in policy kept for baseline answers, with its model. */
typedef struct {
  char name[SIM_NAME_MAX];
  unsigned kind;      /* DISP_REG_DISPATCH or DISP_REG_REPOSITION */
  disp_models models; /* its model, when it has one (owned) */
  disp_policy dp;     /* built (owned); for a repositioning baseline, a
                         stand-in dispatch built beside it */
  disp_repolicy rp;   /* likewise */
} env_baseline;

struct ridesim_env {
  /* what every episode shares */
  sim_scenario sc0;         /* the scenario as given */
  int city_given;           /* it names its city (else the store's) */
  sim_scenario sc;          /* the effective scenario of the loaded input */
  run_input in;             /* trips and travel model (owned) */
  int have_in;              /* in is loaded */
  city_grid grid;           /* the city's grid */
  double *cell_lat, *cell_lng; /* per cell: its centre */
  int32_t *cell_node;       /* per cell: its centre's travel node, -1 */
  disp_options dopt;        /* the candidate options of the scenario */
  disp_build build;         /* what baselines are built with */

  /* options */
  int control;              /* ENV_CONTROL_* bits */
  char like[SIM_NAME_MAX];  /* the policy whose shape dispatch decisions take */
  int maximal;              /* answers must serve every order they can */
  double repo_radius_m;     /* reach of a repositioning move */
  int check;                /* the engine checks its invariants at every tick */
  disp_policy shape;        /* like's flags (immediate, maximal, caps) */

  /* the episode */
  run_ctx *ctx;             /* owned; NULL before the first reset */
  disp_policy own_dp;       /* the episode's built policy the stand-in
                               replaced (owned), or zeroed */
  disp_repolicy own_rp;     /* likewise */
  disp_batch *batch[2];     /* RIDESIM_SERVE_FIRST, RIDESIM_MAX_WEIGHT:
                               the episode's solvers (owned) */
  const double *scores;     /* the scores being solved (borrowed for the call) */
  int64_t wall0_ns;         /* when the episode began */
  double wall_s;            /* its wall seconds, once done */
  char *scenario_json;      /* the episode's effective scenario (owned) */

  /* decisions */
  ridesim_state st;
  uint32_t stamp;           /* the current decision's stamp */
  uint32_t used;            /* the current answer's stamp */
  uint32_t *order_stamp;    /* per order: the decision that offered it */
  uint32_t *order_used;     /* per order: the answer that used it */
  int32_t *row_of;          /* per order: its row when offered */
  uint32_t *drv_stamp;      /* per driver: the decision that offered it */
  uint32_t *drv_used;       /* per driver: the answer that used it */
  size_t cap_orders, cap_drivers; /* of the per-order and per-driver arrays */
  /* gathered dispatch arrays (cap_rows, cap_edges elements) */
  int32_t *row_order, *row_pcell, *row_dcell, *row_duration_s;
  int64_t *row_wait_s;
  double *row_plat, *row_plng, *row_dlat, *row_dlng, *row_fare, *row_trip_m;
  int32_t *edge_row, *edge_driver_cell;
  size_t cap_rows, cap_edges;
  env_track t_row_ptr, t_row_capped, t_edge_driver, t_edge_dist, t_edge_eta;
  /* gathered repositioning arrays (cap_elig, cap_reach elements) */
  int32_t *elig_ptr, *elig_cell;
  int64_t *elig_idle_s;
  int32_t *reach_cell;
  double *reach_dist, *reach_eta;
  size_t cap_elig, cap_reach;
  city_hex *ring;           /* k-ring scratch of ring_k rings */
  int32_t ring_k;
  /* baselines */
  env_baseline base[ENV_BASELINES_MAX];
  int n_base;
  disp_assign *base_out;    /* a baseline's pairs (cap_base_out) */
  size_t cap_base_out;

  rs_err err;               /* the last failed call's message */
};

/* The episode's engine, NULL before the first reset. */
static inline sim_engine *env__eng(const ridesim_env *env) {
  return env->ctx != NULL ? env->ctx->eng : NULL;
}

/* Sets the decision to none pending (after an answer). answer.c */
void env__no_decision(ridesim_env *env);
/* Frees the baselines. answer.c */
void env__baselines_free(ridesim_env *env);
/* The batch solvers' weight: the caller's score of edge k. answer.c */
double env__score(void *wctx, const disp_tick *t, int32_t row, int32_t k);

#endif

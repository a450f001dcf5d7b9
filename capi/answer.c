/*
 * answer: the caller's answers to a pending decision, validated before
 * anything is applied, and the built-in policies' answers to the same
 * decision (baselines); see ridesim.h.
 *
 * Every answer becomes the pairs of the engine's decision (disp_tick's
 * out) or its destinations (disp_repo's dest_cell), then sim_engine_resume
 * applies them. Checks come first: a failed answer leaves n_out at 0 and
 * the decision pending, so another answer may follow.
 *
 *   scores   n = n_edges, every score finite; solved by the batch solver
 *            of dispatch/batch.h with the caller's scores as weights (the
 *            same solver, column numbering and cardinality constant as
 *            batch-distance and v1d3: scores of minus the distance give
 *            batch-distance's pairs exactly);
 *   pairs    the faults of `ridesim evaluate` (sim/agent_proto.c), in its
 *            order: unknown-order (not a row of the decision),
 *            unknown-driver (not a candidate of any row), not-offered (not
 *            a candidate of that order), duplicate-order, duplicate-driver;
 *   choices  per row a position in the row or -1; a driver twice is a
 *            fault;
 *   dests    per eligible driver one of its reachable cells, or -1.
 *
 * When the environment promises maximal answers, pairs, choices and
 * pure-weight scores are checked for it too: no row left unmatched while
 * one of its candidates is free.
 *
 * Offers and uses are stamped per decision and per answer (one uint32 per
 * order and per driver, compared with a counter) so that nothing is
 * cleared per decision. Costs: O(n + edges of the rows named) for pairs,
 * O(edges) for the maximal check, the solver for scores.
 *
 * Baselines are built through the registry with the scenario's options and
 * kept (at most ENV_BASELINES_MAX). A baseline answers a copy of the
 * decision into buffers of its own, drawing from a copy of the episode's
 * random stream, so asking one changes nothing of the episode.
 */
#include "capi/env_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"
#include "sim/engine.h"

double env__score(void *wctx, const disp_tick *t, int32_t row, int32_t k) {
  (void)t;
  (void)row;
  const ridesim_env *env = wctx;
  return env->scores[k];
}

void env__no_decision(ridesim_env *env) {
  env->st.decision = RIDESIM_IDLE;
  env->st.n_rows = env->st.n_edges = 0;
  env->st.n_eligible = env->st.n_reach = 0;
}

/* The pending dispatch decision, or NULL with RIDESIM_ESTATE in e. */
static disp_tick *pending_tick(ridesim_env *env, const char *what) {
  if (env->st.decision != RIDESIM_DISPATCH) {
    rs_err_set(&env->err, RIDESIM_ESTATE, "%s: no dispatch decision is pending (%s)", what,
               env->ctx == NULL                         ? "reset the environment first"
               : env->st.decision == RIDESIM_DONE       ? "the episode is done"
               : env->st.decision == RIDESIM_REPOSITION ? "a repositioning round is"
                                                        : "advance first");
    return NULL;
  }
  return sim_engine_pending_tick(env__eng(env));
}

/* A new answer's stamp. */
static void begin_answer(ridesim_env *env) {
  if (++env->used == 0) {
    memset(env->order_used, 0, env->cap_orders * sizeof *env->order_used);
    memset(env->drv_used, 0, env->cap_drivers * sizeof *env->drv_used);
    env->used = 1;
  }
}

/* Under the promise, a row left unmatched must have no free candidate.
 * The drivers of t->out are stamped used (begin_answer before). */
static int check_maximal(ridesim_env *env, disp_tick *t, rs_err *e) {
  if (!env->maximal) return 0;
  for (int32_t i = 0; i < t->n_out; i++) {
    env->order_used[t->out[i].order] = env->used;
    env->drv_used[t->out[i].driver] = env->used;
  }
  for (int32_t r = 0; r < t->n_rows; r++) {
    if (env->order_used[t->row_order[r]] == env->used) continue;
    for (int32_t k = t->row_ptr[r]; k < t->row_ptr[r + 1]; k++)
      if (env->drv_used[t->edge_driver[k]] != env->used)
        return rs_err_set(e, RIDESIM_EINVAL,
                          "the answer leaves order %d (row %d) unmatched while its candidate "
                          "driver %d is free: this environment promises maximal answers "
                          "(option maximal: false lifts the promise)",
                          (int)t->row_order[r], (int)r, (int)t->edge_driver[k]);
  }
  return 0;
}

/* Applies the pairs in t->out and goes on; an answer refused (rc, the
 * refusal's code, not 0) leaves the tick pending with no pair taken. */
static int apply(ridesim_env *env, disp_tick *t, int rc) {
  if (rc) {
    t->n_out = 0;
    return rc;
  }
  double fare = 0;
  for (int32_t i = 0; i < t->n_out; i++) fare += t->orders[t->out[i].order].fare;
  env->st.last_matched = t->n_out;
  env->st.last_fare = fare;
  env->st.matched_fare += fare;
  env->st.decisions++;
  env__no_decision(env);
  rc = sim_engine_resume(env__eng(env), &env->err);
  if (rc) {
    sim_engine_close_early(env__eng(env));
    env->st.decision = RIDESIM_DONE;
  }
  return rc;
}

int ridesim_env_answer_scores(ridesim_env *env, const double *scores, int64_t n, int mode) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  disp_tick *t = pending_tick(env, "scores");
  if (t == NULL) return RIDESIM_ESTATE;
  int32_t ne = t->row_ptr[t->n_rows];
  if (mode != RIDESIM_SERVE_FIRST && mode != RIDESIM_MAX_WEIGHT)
    return rs_err_set(e, RIDESIM_EINVAL, "scores: unknown mode %d (0: serve first, 1: maximum "
                                         "weight)", mode);
  if (n != ne || (scores == NULL && n > 0))
    return rs_err_set(e, RIDESIM_EINVAL, "scores: %lld scores for %d candidate edges",
                      (long long)n, (int)ne);
  for (int32_t k = 0; k < ne; k++)
    if (!isfinite(scores[k]))
      return rs_err_set(e, RIDESIM_EINVAL, "scores: edge %d's score is %s", (int)k,
                        isnan(scores[k]) ? "NaN" : "infinite");
  env->scores = scores;
  t->n_out = 0;
  int rc = disp_batch_dispatch(env->batch[mode], t, e);
  env->scores = NULL;
  if (rc == 0 && mode == RIDESIM_MAX_WEIGHT) {
    begin_answer(env);
    rc = check_maximal(env, t, e);
  }
  return apply(env, t, rc);
}

int ridesim_env_answer_pairs(ridesim_env *env, const int32_t *order, const int32_t *driver,
                             int64_t n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  disp_tick *t = pending_tick(env, "pairs");
  if (t == NULL) return RIDESIM_ESTATE;
  if (n < 0 || (n > 0 && (order == NULL || driver == NULL)))
    return rs_err_set(e, RIDESIM_EINVAL, "pairs: no arrays for %lld pairs", (long long)n);
  int32_t n_orders = env->st.n_orders, n_drivers = env->st.n_drivers;
  begin_answer(env);
  t->n_out = 0;
  int rc = 0;
  for (int64_t i = 0; i < n && rc == 0; i++) {
    int32_t o = order[i], d = driver[i];
    if (o < 0 || o >= n_orders || env->order_stamp[o] != env->stamp) {
      rc = rs_err_set(e, RIDESIM_EINVAL, "pair %lld: unknown-order: order %d is not offered",
                      (long long)i, (int)o);
      break;
    }
    if (d < 0 || d >= n_drivers || env->drv_stamp[d] != env->stamp) {
      rc = rs_err_set(e, RIDESIM_EINVAL, "pair %lld: unknown-driver: driver %d is not offered",
                      (long long)i, (int)d);
      break;
    }
    int32_t r = env->row_of[o], k = t->row_ptr[r], hi = t->row_ptr[r + 1];
    while (k < hi && t->edge_driver[k] != d) k++;
    if (k == hi) {
      rc = rs_err_set(e, RIDESIM_EINVAL,
                      "pair %lld: not-offered: driver %d is not a candidate of order %d",
                      (long long)i, (int)d, (int)o);
      break;
    }
    if (env->order_used[o] == env->used) {
      rc = rs_err_set(e, RIDESIM_EINVAL, "pair %lld: duplicate-order: order %d assigned again",
                      (long long)i, (int)o);
      break;
    }
    if (env->drv_used[d] == env->used) {
      rc = rs_err_set(e, RIDESIM_EINVAL, "pair %lld: duplicate-driver: driver %d assigned again",
                      (long long)i, (int)d);
      break;
    }
    env->order_used[o] = env->used;
    env->drv_used[d] = env->used;
    t->out[t->n_out].order = o;
    t->out[t->n_out].driver = d;
    t->n_out++;
  }
  if (rc == 0) rc = check_maximal(env, t, e);
  return apply(env, t, rc);
}

int ridesim_env_answer_choices(ridesim_env *env, const int32_t *choice, int64_t n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  disp_tick *t = pending_tick(env, "choices");
  if (t == NULL) return RIDESIM_ESTATE;
  if (n != t->n_rows || (choice == NULL && n > 0))
    return rs_err_set(e, RIDESIM_EINVAL, "choices: %lld choices for %d rows", (long long)n,
                      (int)t->n_rows);
  begin_answer(env);
  t->n_out = 0;
  int rc = 0;
  for (int32_t r = 0; r < t->n_rows && rc == 0; r++) {
    int32_t c = choice[r], deg = t->row_ptr[r + 1] - t->row_ptr[r];
    if (c == -1) continue;
    if (c < 0 || c >= deg) {
      rc = rs_err_set(e, RIDESIM_EINVAL,
                      "choices: row %d chooses candidate %d of %d (-1 for none)", (int)r, (int)c,
                      (int)deg);
      break;
    }
    int32_t d = t->edge_driver[t->row_ptr[r] + c];
    if (env->drv_used[d] == env->used) {
      rc = rs_err_set(e, RIDESIM_EINVAL,
                      "choices: row %d: duplicate-driver: driver %d is chosen twice", (int)r,
                      (int)d);
      break;
    }
    env->drv_used[d] = env->used;
    t->out[t->n_out].order = t->row_order[r];
    t->out[t->n_out].driver = d;
    t->n_out++;
  }
  if (rc == 0) rc = check_maximal(env, t, e);
  return apply(env, t, rc);
}

int ridesim_env_answer_dests(ridesim_env *env, const int32_t *cell, int64_t n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  if (env->st.decision != RIDESIM_REPOSITION)
    return rs_err_set(e, RIDESIM_ESTATE, "dests: no repositioning round is pending");
  disp_repo *r = sim_engine_pending_repo(env__eng(env));
  if (n != r->n_eligible || (cell == NULL && n > 0))
    return rs_err_set(e, RIDESIM_EINVAL, "dests: %lld destinations for %d eligible drivers",
                      (long long)n, (int)r->n_eligible);
  for (int32_t i = 0; i < r->n_eligible; i++) {
    int32_t c = cell[i];
    if (c == -1) continue;
    int32_t k = env->elig_ptr[i], hi = env->elig_ptr[i + 1];
    while (k < hi && env->reach_cell[k] != c) k++;
    if (k == hi)
      return rs_err_set(e, RIDESIM_EINVAL,
                        "dests: driver %d (eligible %d): cell %d is not one of its %d reachable "
                        "cells",
                        (int)r->eligible[i], (int)i, (int)c, (int)(hi - env->elig_ptr[i]));
  }
  for (int32_t i = 0; i < r->n_eligible; i++) r->dest_cell[i] = cell[i];
  env->st.decisions++;
  env__no_decision(env);
  int rc = sim_engine_resume(env__eng(env), e);
  if (rc) {
    sim_engine_close_early(env__eng(env));
    env->st.decision = RIDESIM_DONE;
  }
  return rc;
}

/* ------------------------------------------------------------ baselines */

void env__baselines_free(ridesim_env *env) {
  for (int i = 0; i < env->n_base; i++) {
    env_baseline *b = &env->base[i];
    disp_policy_destroy(&b->dp);
    disp_repolicy_destroy(&b->rp);
    disp_models_free(&b->models);
  }
  env->n_base = 0;
}

/* The policy answering as `name` of a kind: the episode's own when the
 * scenario names it, else a kept or new baseline. */
static int baseline_of(ridesim_env *env, const char *name, unsigned kind, disp_policy **dp,
                       disp_repolicy **rp, rs_err *e) {
  const disp_registry_entry *ent;
  int rc = disp_registry_lookup(name, kind, &ent, e);
  if (rc) return rc;
  if (kind == DISP_REG_DISPATCH && (env->control & ENV_CONTROL_DISPATCH) &&
      strcmp(name, env->ctx->sc.dispatch) == 0 && env->own_dp.dispatch != NULL) {
    *dp = &env->own_dp;
    return 0;
  }
  if (kind == DISP_REG_REPOSITION && (env->control & ENV_CONTROL_REPOSITION) &&
      strcmp(name, env->ctx->sc.reposition) == 0 && env->own_rp.reposition != NULL) {
    *rp = &env->own_rp;
    return 0;
  }
  for (int i = 0; i < env->n_base; i++) {
    env_baseline *b = &env->base[i];
    if (b->kind == kind && strcmp(b->name, name) == 0) {
      *dp = &b->dp;
      *rp = &b->rp;
      return 0;
    }
  }
  if (env->n_base == ENV_BASELINES_MAX)
    return rs_err_set(e, RIDESIM_EINVAL, "baseline: at most %d baselines per environment",
                      ENV_BASELINES_MAX);
  env_baseline *b = &env->base[env->n_base];
  memset(b, 0, sizeof *b);
  snprintf(b->name, sizeof b->name, "%s", name);
  b->kind = kind;
  const char *dn = kind == DISP_REG_DISPATCH ? name : "fcfs-nearest";
  const char *rn = kind == DISP_REG_REPOSITION ? name : "stay";
  if ((rc = disp_registry_build(dn, rn, &env->build, &b->models, &b->dp, &b->rp, e)) != 0)
    return rc;
  env->n_base++;
  *dp = &b->dp;
  *rp = &b->rp;
  return 0;
}

int ridesim_env_baseline_pairs(ridesim_env *env, const char *policy, int32_t *order,
                               int32_t *driver, int64_t cap, int64_t *n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  if (n) *n = 0;
  disp_tick *t = pending_tick(env, "baseline");
  if (t == NULL) return RIDESIM_ESTATE;
  if (policy == NULL || n == NULL || (cap > 0 && (order == NULL || driver == NULL)))
    return rs_err_set(e, RIDESIM_EINVAL, "baseline: a policy name and output arrays are needed");
  disp_policy *dp = NULL;
  disp_repolicy *rp = NULL;
  int rc = baseline_of(env, policy, DISP_REG_DISPATCH, &dp, &rp, e);
  if (rc) return rc;
  if (rs_vec_grow(env->base_out, env->cap_base_out, (size_t)t->n_rows + 1))
    return rs_err_set(e, RIDESIM_ENOMEM, "baseline: out of memory");
  disp_tick bt = *t;
  pcg32 rng = *t->rng;
  bt.rng = &rng;
  bt.out = env->base_out;
  bt.n_out = 0;
  rc = dp->dispatch(dp->ctx, &bt, e);
  if (rc == DISP_PENDING)
    return rs_err_set(e, RIDESIM_EINVAL, "baseline: policy '%s' answers later", policy);
  if (rc) return rc;
  if (bt.n_out > cap)
    return rs_err_set(e, RIDESIM_ERANGE, "baseline: %d pairs, room for %lld", (int)bt.n_out,
                      (long long)cap);
  for (int32_t i = 0; i < bt.n_out; i++) {
    order[i] = bt.out[i].order;
    driver[i] = bt.out[i].driver;
  }
  *n = bt.n_out;
  return 0;
}

int ridesim_env_baseline_dests(ridesim_env *env, const char *policy, int32_t *cell, int64_t n) {
  if (env == NULL) return RIDESIM_EINVAL;
  rs_err *e = &env->err;
  rs_err_clear(e);
  if (env->st.decision != RIDESIM_REPOSITION)
    return rs_err_set(e, RIDESIM_ESTATE, "baseline: no repositioning round is pending");
  disp_repo *r = sim_engine_pending_repo(env__eng(env));
  if (policy == NULL || n != r->n_eligible || (cell == NULL && n > 0))
    return rs_err_set(e, RIDESIM_EINVAL, "baseline: a policy name and room for %d destinations",
                      (int)r->n_eligible);
  disp_policy *dp = NULL;
  disp_repolicy *rp = NULL;
  int rc = baseline_of(env, policy, DISP_REG_REPOSITION, &dp, &rp, e);
  if (rc) return rc;
  disp_repo br = *r;
  pcg32 rng = *r->rng;
  br.rng = &rng;
  br.dest_cell = cell;
  for (int32_t i = 0; i < r->n_eligible; i++) cell[i] = -1;
  if (rp->inert) return 0;
  rc = rp->reposition(rp->ctx, &br, e);
  if (rc == DISP_PENDING)
    return rs_err_set(e, RIDESIM_EINVAL, "baseline: policy '%s' answers later", policy);
  return rc;
}

/*
 * agentrun: the agent bridge in the hooks of a run's lifecycle; see
 * agentrun.h.
 *
 * Hooks, in the order the lifecycle calls them:
 *   built   the KDD models into the engine, the fault log opened, the labels
 *           and (external agent) the policies the row records
 *   begun   the bridge made with the run's id; it takes the place of the
 *           run's policies in the run_ctx, whose dp and rp the engine holds
 *           by address: for builtin the run's own policies stand behind it
 *           (inner_dp, inner_rp), for an external agent the stand-ins are
 *           destroyed
 *   start   the agent spawned and its init handshake done on the loop
 *   on_wait the engine waits for a decision: the bridge asks the agent
 *   status  'agent-init-failed', 'agent-died' or (NULL) 'failed'
 *   ended   the agent stopped (its handles closed on the loop), the log
 *           flushed
 * run_agent_close hands the run_ctx back its own policies (builtin) or
 * nothing (external) before the run is freed.
 */
#include "run/agentrun.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/rs_time.h"

#define BUILTIN_LABEL "builtin:"

/* Idle drift by the hour x cell transition table: from the KDD cell nearest
 * the driver to the centre of a cell drawn from that cell's row. */
static int kdd_idle_next(void *ctx, int64_t now, int32_t driver, double lat, double lng,
                         double u, double *dlat, double *dlng) {
  (void)driver;
  const run_agent_kdd *km = ctx;
  int32_t from = city_kdd_grid_nearest(km->grid, lat, lng);
  int32_t to = city_kdd_idle_sample(km->idle, rs_time_hour(now), from, u);
  if (to == from) return -1;
  const city_kdd_cell *c = city_kdd_grid_cell(km->grid, to);
  *dlat = c->lat;
  *dlng = c->lng;
  return 0;
}

/* The order's own cancel probabilities, by its source id (order_id). */
static double kdd_cancel_p(void *ctx, const disp_order *o, double pickup_m) {
  const run_agent_kdd *km = ctx;
  double p;
  if (o->source_id >= 0 && city_kdd_cancel_p(km->cancel, o->source_id, pickup_m, &p)) return p;
  return -1.0;
}

/* Whether two paths name one file: the same inode when both exist, else
 * the same canonical directory and name. */
static int same_file(const char *a, const char *b) {
  if (a == NULL || b == NULL || *a == '\0' || *b == '\0') return 0;
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
  snprintf(da, sizeof da, "%s", a);
  snprintf(db, sizeof db, "%s", b);
  char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
  if (realpath(dirname(da), ra) == NULL || realpath(dirname(db), rb) == NULL) return 0;
  return strcmp(ra, rb) == 0 && strcmp(na ? na + 1 : a, nb ? nb + 1 : b) == 0;
}

static int on_built(void *arg, run_life *l, rs_err *e) {
  run_agent_run *x = arg;
  sim_engine *eng = l->ctx->eng;
  if (x->o.kdd_idle != NULL) {
    sim_idle_mover mv = {&x->kdd, kdd_idle_next};
    sim_engine_set_idle_mover(eng, mv);
  }
  if (x->o.kdd_cancel != NULL) {
    sim_cancel_model cm = {&x->kdd, kdd_cancel_p};
    sim_engine_set_cancel_model(eng, cm);
  }
  if (x->o.kdd_grid != NULL) {
    /* another city's table would put every driver in the one cell nearest
     * to it, silently */
    const city_def *c = &l->in->city;
    int32_t n = city_kdd_grid_size(x->o.kdd_grid), inside = 0;
    for (int32_t i = 0; i < n; i++) {
      const city_kdd_cell *k = city_kdd_grid_cell(x->o.kdd_grid, i);
      inside += city_def_contains(c, k->lat, k->lng);
    }
    if (inside == 0)
      return rs_err_set(e, RS_EINVAL, "--kdd-grid: none of its %d cells lies in the box of city '%s':"
                        " it is the grid of another city", (int)n, c->name);
  }
  if (x->o.log_path) snprintf(x->log_path, sizeof x->log_path, "%s", x->o.log_path);
  else snprintf(x->log_path, sizeof x->log_path, "%s.agent.jsonl", l->sc.out);
  if (same_file(x->log_path, l->sc.out) || same_file(x->log_path, l->sc.trips))
    return rs_err_set(e, RS_EINVAL, "--agent-log %s: that is the %s, not a log", x->log_path,
                      same_file(x->log_path, l->sc.out) ? "results DB (--out)" : "trip store (--trips)");
  x->log = fopen(x->log_path, "a");
  if (x->log == NULL)
    return rs_err_set(e, RS_EIO, "%s: cannot open the agent log for writing", x->log_path);
  if (x->o.command == NULL) {
    snprintf(x->label, sizeof x->label, BUILTIN_LABEL "%s", l->sc.dispatch);
  } else {
    snprintf(x->label, sizeof x->label, "agent:%.150s", x->o.command);
    /* what the run's row records: the decisions are the agent's */
    snprintf(l->sc.dispatch, sizeof l->sc.dispatch, "agent");
    snprintf(l->sc.reposition, sizeof l->sc.reposition, "agent");
    l->o.reposition_label = "agent";
  }
  l->o.dispatch_label = x->label;
  return 0;
}

static int on_begun(void *arg, run_life *l, rs_err *e) {
  run_agent_run *x = arg;
  run_ctx *r = l->ctx;
  sim_agent_opts ao;
  memset(&ao, 0, sizeof ao);
  ao.command = x->o.command;
  ao.fallback = x->o.fallback;
  ao.timeout_s = x->o.timeout_s;
  ao.init_timeout_s = x->o.init_timeout_s;
  ao.late_limit_s = x->o.late_limit_s;
  ao.city = &l->in->city;
  ao.grid = &r->grid;
  ao.kdd = x->o.kdd_grid;
  ao.tick_s = l->sc.tick_s;
  ao.t_from = l->in->from;
  ao.log = x->log;
  ao.run_id = l->run_id;
  x->inner_dp = r->dp;
  x->inner_rp = r->rp;
  if (x->o.command == NULL) {
    ao.builtin = &x->inner_dp;
    ao.builtin_repo = &x->inner_rp;
  }
  int rc = sim_agent_new(&ao, &x->ag, e);
  if (rc != 0) return rc;
  if (x->o.command != NULL) {
    disp_policy_destroy(&x->inner_dp);
    disp_repolicy_destroy(&x->inner_rp);
  }
  r->dp = sim_agent_policy(x->ag);
  r->rp = sim_agent_repolicy(x->ag);
  x->swapped = 1;
  return 0;
}

static int on_start(void *arg, run_life *l, sim_loop *loop, rs_err *e) {
  (void)l;
  run_agent_run *x = arg;
  x->start_tried = 1;
  if (x->o.command != NULL && x->o.starting != NULL)
    x->o.starting(x->o.starting_arg, x->o.init_timeout_s > 0 ? x->o.init_timeout_s
                                                             : SIM_AGENT_INIT_TIMEOUT_DEFAULT_S);
  return sim_agent_start(x->ag, loop, e);
}

static void on_wait(void *arg, sim_loop *loop, sim_engine *s) {
  run_agent_run *x = arg;
  sim_agent_on_wait(x->ag, loop, s);
}

static const char *on_status(void *arg, const run_life *l) {
  const run_agent_run *x = arg;
  if (!l->started) return x->start_tried ? "agent-init-failed" : NULL;
  return sim_agent_stats_get(x->ag)->died ? "agent-died" : NULL;
}

static void on_ended(void *arg, run_life *l) {
  (void)l;
  run_agent_run *x = arg;
  sim_agent_stop(x->ag);
  errno = 0;
  if (x->log != NULL && (fflush(x->log) != 0 || ferror(x->log)))
    x->log_errno = errno ? errno : EIO;
}

int run_agent_exec(run_agent_run *x, const run_agent_opts *o, rs_err *e) {
  memset(x, 0, sizeof *x);
  x->o = *o;
  x->kdd = (run_agent_kdd){o->kdd_grid, o->kdd_idle, o->kdd_cancel};
  run_life_opts lo;
  memset(&lo, 0, sizeof lo);
  lo.sc = o->sc;
  lo.city_given = o->city_given;
  lo.version = o->version;
  lo.check = o->check;
  lo.hooks = (run_life_hooks){x, on_built, on_begun, on_start, on_wait, NULL, NULL, on_status,
                              on_ended};
  lo.tap = o->tap;
  run_life_init(&x->life, &lo);
  int rc = run_life_exec(&x->life, e);
  if (rc == 0 && x->log_errno != 0)
    rc = rs_err_set(e, RS_EIO, "%s: the agent log could not be written whole (%s): its fault"
                    " lines are incomplete (the counts above are not)",
                    x->log_path, strerror(x->log_errno));
  return rc;
}

const sim_agent_stats *run_agent_stats(const run_agent_run *x) {
  return x->ag != NULL ? sim_agent_stats_get(x->ag) : NULL;
}

void run_agent_close(run_agent_run *x) {
  sim_agent_stop(x->ag);
  if (x->swapped) {
    /* hand run_ctx back what it owns (builtin) or nothing (external) */
    run_ctx *r = x->life.ctx;
    if (x->o.command == NULL) {
      r->dp = x->inner_dp;
      r->rp = x->inner_rp;
    } else {
      memset(&r->dp, 0, sizeof r->dp);
      memset(&r->rp, 0, sizeof r->rp);
    }
    x->swapped = 0;
  }
  run_life_close(&x->life);
  sim_agent_free(x->ag);
  x->ag = NULL;
  if (x->log) fclose(x->log);
  x->log = NULL;
}

int run_agent_load_kdd(const char *grid, const char *idle, const char *cancel,
                       city_kdd_grid **kg, city_kdd_idle **ki, city_kdd_cancel **kc, rs_err *e) {
  int rc;
  if (grid && (rc = city_kdd_grid_load(grid, kg, e)) != 0) return rc;
  if (idle) {
    if (*kg == NULL)
      return rs_err_set(e, RS_EINVAL, "--kdd-idle needs --kdd-grid (its cells are the table's ids)");
    if ((rc = city_kdd_idle_load(idle, *kg, ki, e)) != 0) return rc;
  }
  if (cancel && (rc = city_kdd_cancel_load(cancel, kc, e)) != 0) return rc;
  return 0;
}

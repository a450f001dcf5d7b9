/*
 * lifecycle: a run from its scenario to its row; see lifecycle.h.
 *
 * Signals. On its own loop the run takes SIGINT and SIGTERM (uv_signal) and
 * ends 'interrupted' at the next slice; when the loop stops it hands them
 * back to their default action, which would kill the process in the middle
 * of the results write and leave the run 'running'. So the finish holds
 * them (run_signals) from the end of the drive, before the loop is freed,
 * to the end of the write, and reports any that came (late_signal: the
 * command exits 130 with its results kept). A worker never touches signals:
 * its scheduler's loop takes them and asks the worker to stop (the stop
 * hook).
 *
 * Errors. The drive's error and the write's are kept apart (err and the
 * finish's e), so that a caller can say both; the write's wins the return
 * value, since without it nothing of the run is in the DB.
 *
 * Rejected: one callback per step with the caller composing the steps
 * everywhere. run and evaluate would each write the sequence again, which
 * is what this module replaces; the hooks are the few points where they
 * differ.
 */
#include "run/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value/vstore.h"

void run_life_init(run_life *l, const run_life_opts *o) {
  memset(l, 0, sizeof *l);
  l->o = *o;
  l->sc = *o->sc;
  l->in = o->in;
  l->res = o->res;
}

int run_life_load(run_life *l, rs_err *e) {
  if (l->in != NULL) return 0;
  int rc = run_input_load(&l->sc, l->o.city_given, &l->own_in, e);
  if (rc == 0) l->in = &l->own_in;
  return rc;
}

int run_life_build(run_life *l, rs_err *e) {
  if (l->ctx != NULL) return 0;
  int rc = run_ctx_new(&l->sc, l->in, &l->ctx, e);
  if (rc == 0) sim_engine_set_check(l->ctx->eng, l->o.check);
  return rc;
}

int run_life_begin(run_life *l, rs_err *e) {
  int rc;
  if (l->res == NULL) {
    if ((rc = sim_results_open(l->sc.out, &l->res, e)) != 0) return rc;
    l->own_res = 1;
  }
  /* the effective scenario: the day and horizon now fixed */
  char *scen = sim_scenario_to_json(&l->sc);
  if (scen == NULL) return rs_err_set(e, RS_ENOMEM, "run: out of memory");
  const char *dn = l->o.dispatch_label, *rn = l->o.reposition_label;
  if (dn == NULL) dn = l->ctx != NULL ? l->ctx->dp.name : l->sc.dispatch;
  if (rn == NULL) rn = l->ctx != NULL ? l->ctx->rp.name : l->sc.reposition;
  const char *ver = l->o.version ? l->o.version : "unknown";
  if (l->o.key != NULL)
    rc = sim_results_begin_run_key(l->res, l->o.key, l->o.key_index, scen, l->sc.seed, ver, dn,
                                   rn, l->in->from, l->in->to, &l->run_id, e);
  else
    rc = sim_results_begin_run(l->res, scen, l->sc.seed, ver, dn, rn, l->in->from, l->in->to,
                               &l->run_id, e);
  free(scen);
  /* a viewer (the tap) reads every order of the run: they stay */
  int watched = l->o.tap.start != NULL || l->o.tap.progress != NULL || l->o.tap.ended != NULL;
  if (rc == 0 && l->ctx != NULL && l->ctx->streamed && !l->o.worker && !watched) {
    rc = sim_results_stream_new(l->res, l->run_id, l->o.keep, l->o.cells ? &l->ctx->grid : NULL,
                                &l->stream, e);
    if (rc == 0) sim_engine_set_order_sink(l->ctx->eng, sim_results_stream_sink(l->stream));
  }
  return rc;
}

/* The worker's drive: slices of SIM_SLICE_EVENTS events until the horizon,
 * an error or the stop hook. */
static void drive_slices(run_life *l) {
  const run_life_hooks *h = &l->o.hooks;
  sim_engine *eng = l->ctx->eng;
  uint64_t t0 = uv_hrtime();
  l->started = 1;
  for (;;) {
    if (h->stop != NULL && h->stop(h->arg)) {
      sim_engine_close_early(eng);
      l->interrupted = 1;
      break;
    }
    int st = sim_engine_step(eng, INT64_MAX, SIM_SLICE_EVENTS, &l->err);
    if (h->progress != NULL)
      h->progress(h->arg, sim_engine_now(eng), sim_engine_from(eng), sim_engine_to(eng));
    if (st == SIM_STEP_DONE) break;
    if (st < 0) {
      l->rc = st;
      sim_engine_close_early(eng);
      break;
    }
    if (st == SIM_STEP_WAIT) {
      /* Only policies that answer later (an external agent, driven by a
       * libuv loop) wait; a worker has no loop to wait on. */
      l->rc = rs_err_set(&l->err, RS_EINVAL,
                         "policy '%s' answers asynchronously; compare runs only "
                         "policies that answer at once", l->sc.dispatch);
      sim_engine_close_early(eng);
      break;
    }
  }
  l->wall_s = (double)(uv_hrtime() - t0) / 1e9;
}

/* progress when a tap watches too: the hooks' own, then the tap's. */
static void progress_both(void *arg, int64_t now, int64_t from, int64_t to) {
  run_life *l = arg;
  if (l->o.hooks.progress != NULL) l->o.hooks.progress(l->o.hooks.arg, now, from, to);
  l->o.tap.progress(l->o.tap.arg, now, from, to);
}

/* The drive on a loop of the run's own: a run that cannot get a loop, or
 * whose start hook (or the tap's) fails, is closed where it stands (its
 * start). */
static void drive_loop(run_life *l) {
  const run_life_hooks *h = &l->o.hooks, *t = &l->o.tap;
  sim_engine *eng = l->ctx->eng;
  sim_loop_opts lo = {l->sc.speed, 0, h->progress, h->arg, h->on_wait, h->arg};
  if (t->progress != NULL) {
    lo.progress = progress_both;
    lo.progress_arg = l;
  }
  if ((l->rc = sim_loop_new(eng, &lo, &l->loop, &l->err)) != 0 ||
      (h->start != NULL && (l->rc = h->start(h->arg, l, l->loop, &l->err)) != 0) ||
      (t->start != NULL && (l->rc = t->start(t->arg, l, l->loop, &l->err)) != 0)) {
    sim_engine_close_early(eng);
    return;
  }
  l->started = 1;
  l->rc = sim_loop_run(l->loop, &l->interrupted, &l->wall_s, &l->err);
}

void run_life_drive(run_life *l) {
  rs_err_clear(&l->err);
  if (l->o.worker) drive_slices(l);
  else drive_loop(l);
  l->driven = 1;
}

/* The value table of the run's policies' model (v1d3's, learned in the
 * run), to o.value_out. */
static int save_value(run_life *l, rs_err *e) {
  val_meta m;
  memset(&m, 0, sizeof m);
  snprintf(m.city, sizeof m.city, "%s", l->in->city.name);
  m.rows = (int64_t)l->in->n;
  return val_store_save(l->o.value_out, disp_models_table(&l->ctx->models), &l->in->city, &m,
                        e);
}

int run_life_finish(run_life *l, rs_err *e) {
  if (!l->driven) return rs_err_set(e, RS_EINVAL, "run: finished before it was driven");
  const run_life_hooks *h = &l->o.hooks;
  run_signals held;
  if (!l->o.worker) run_signals_hold(&held); /* until the results are written */
  if (h->ended != NULL) h->ended(h->arg, l);
  if (!l->o.worker && l->o.tap.ended != NULL) l->o.tap.ended(l->o.tap.arg, l);
  sim_loop_free(l->loop);
  l->loop = NULL;
  sim_engine *eng = l->ctx->eng;
  sim_engine_kpis(eng, &l->k);
  const char *st = NULL;
  if ((l->rc != 0 || !l->started) && h->status != NULL) st = h->status(h->arg, l);
  if (st == NULL) st = l->rc != 0 ? "failed" : l->interrupted ? "interrupted" : "completed";
  l->status = st;
  int rc = sim_results_finish_run_stream(l->res, l->run_id, eng, &l->k, st, l->wall_s,
                                         l->o.cells ? &l->ctx->grid : NULL, l->o.keep, l->stream,
                                         e);
  l->written = rc == 0;
  if (!l->o.worker) l->late_signal = run_signals_release(&held);
  if (rc != 0) return rc;
  if (l->rc != 0) {
    if (e != NULL) *e = l->err;
    return l->rc;
  }
  if (disp_models_table(&l->ctx->models) != NULL && l->o.value_out != NULL &&
      l->o.value_out[0] != '\0')
    return save_value(l, e);
  return 0;
}

int run_life_exec(run_life *l, rs_err *e) {
  const run_life_hooks *h = &l->o.hooks;
  int rc;
  if ((rc = run_life_load(l, e)) != 0 || (rc = run_life_build(l, e)) != 0 ||
      (h->built != NULL && (rc = h->built(h->arg, l, e)) != 0) ||
      (rc = run_life_begin(l, e)) != 0 ||
      (h->begun != NULL && (rc = h->begun(h->arg, l, e)) != 0))
    return rc;
  run_life_drive(l);
  return run_life_finish(l, e);
}

int64_t run_life_now(const run_life *l) {
  return l->ctx != NULL ? sim_engine_now(l->ctx->eng) : l->in != NULL ? l->in->from : 0;
}

void run_life_close(run_life *l) {
  sim_loop_free(l->loop);
  l->loop = NULL;
  run_ctx_free(l->ctx);
  l->ctx = NULL;
  sim_results_stream_free(l->stream);
  l->stream = NULL;
  if (l->own_res) sim_results_close(l->res);
  l->res = NULL;
  l->own_res = 0;
  run_input_free(&l->own_in);
  l->in = NULL;
}

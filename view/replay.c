/*
 * replay: a stored run played again; see replay.h.
 *
 * Driving. One uv_timer (every SIM_PACE_PERIOD_MS) paces the engine:
 * simulated time = base_sim + (wall ms since base_ms) x speed / 1000, the
 * base moved wherever the pace changes (pause, resume, speed, the end of a
 * seek), as sim/runloop.c paces a run. One uv_idle runs it as fast as
 * possible in slices of SIM_SLICE_EVENTS events: at speed 0, and during a
 * seek up to the seek's time. Between slices the loop serves the viewer's
 * clients and signals, so a seek across a day never stalls the page.
 *
 * The run is a run_ctx (run/setup.h) built from the stored scenario and
 * the loaded trips; a seek backwards frees it and builds it again (the
 * same bits: the engine is deterministic) and the view is pointed at the
 * new engine before anything else runs.
 */
#include "view/replay.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/travel_net.h"
#include "sim/results.h"
#include "sim/runloop.h"

/* ---------------------------------------------------------- the stored run */

typedef struct {
  int64_t want;           /* the run asked for, 0: the last */
  int found;              /* a row matched */
  char *scenario;         /* its scenario JSON (owned) */
  char dispatch[96], reposition[96];
  uint64_t seed;
  int64_t id, t_from, t_to;
} find_ctx;

static int on_run(void *arg, const sim_results_run *run, rs_err *e) {
  find_ctx *f = arg;
  (void)e;
  if (f->want != 0 && run->id != f->want) return 0;
  free(f->scenario);
  f->scenario = run->scenario != NULL ? strdup(run->scenario) : NULL;
  snprintf(f->dispatch, sizeof f->dispatch, "%s", run->dispatch);
  snprintf(f->reposition, sizeof f->reposition, "%s", run->reposition);
  f->seed = run->seed;
  f->id = run->id;
  f->t_from = run->t_from;
  f->t_to = run->t_to;
  f->found = 1;
  return 0;
}

int view_stored_load(const char *db, int64_t run_id, view_stored *st, rs_err *e) {
  memset(st, 0, sizeof *st);
  sim_results *r;
  int rc = sim_results_open_read(db, &r, e);
  if (rc != 0) return rc;
  find_ctx f;
  memset(&f, 0, sizeof f);
  f.want = run_id;
  rc = sim_results_read_runs(r, 1, run_id, run_id, on_run, &f, e);
  sim_results_close(r);
  if (rc != 0) goto out;
  if (!f.found) {
    rc = run_id ? rs_err_set(e, RS_ENOENT, "%s: no finished run %lld", db, (long long)run_id)
                : rs_err_set(e, RS_ENOENT, "%s: no finished run", db);
    goto out;
  }
  if (strncmp(f.dispatch, "agent:", 6) == 0) {
    rc = rs_err_set(e, RS_EINVAL,
                    "%s: run %lld was driven by an external agent (%s), whose decisions are "
                    "not stored: it cannot be replayed",
                    db, (long long)f.id, f.dispatch);
    goto out;
  }
  if (f.scenario == NULL) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: run %lld has no scenario", db, (long long)f.id);
    goto out;
  }
  sim_scenario_defaults(&st->sc);
  char origin[64];
  snprintf(origin, sizeof origin, "run %lld's scenario", (long long)f.id);
  if ((rc = sim_scenario_parse(&st->sc, f.scenario, origin, e)) != 0) goto out;
  st->sc.seed = f.seed;
  st->run_id = f.id;
  st->t_from = f.t_from;
  st->t_to = f.t_to;
  snprintf(st->label, sizeof st->label, "replay of run %lld: %s / %s, seed %llu",
           (long long)f.id, f.dispatch, f.reposition, (unsigned long long)f.seed);
  if ((rc = run_check_policies(&st->sc, e)) != 0) goto out;
  rc = run_input_load(&st->sc, 1, &st->in, e);
  if (rc == 0 && (st->in.from != f.t_from || st->in.to != f.t_to))
    rc = rs_err_set(e, RS_EINVAL, "%s: run %lld's trips load over another horizon than stored",
                    db, (long long)f.id);
out:
  free(f.scenario);
  if (rc != 0) view_stored_free(st);
  return rc;
}

void view_stored_free(view_stored *st) {
  run_input_free(&st->in);
  memset(&st->in, 0, sizeof st->in);
}

/* ---------------------------------------------------------- the replay */

typedef struct {
  view_stored *st;          /* the run (borrowed) */
  run_ctx *ctx;             /* its engine, rebuilt by a seek backwards */
  uv_loop_t loop;
  uv_timer_t timer;         /* paced steps */
  uv_idle_t idle;           /* fast steps and seeks */
  uv_signal_t sigint, sigterm;
  view *v;                  /* the viewer */
  double speed;             /* simulated s per wall s; 0: as fast as possible */
  int paused;
  int64_t base_sim;         /* pace anchor: simulated time ... */
  uint64_t base_ms;         /* ... at this loop time */
  int64_t seek_to;          /* a seek's time, -1: none */
  int ended;                /* the horizon is reached */
  int stop;                 /* a signal came */
  int exit_at_end;
  int rc;                   /* an engine error */
  rs_err err;
} replay;

static void stop_all(replay *p) {
  uv_timer_stop(&p->timer);
  uv_idle_stop(&p->idle);
}

static void finish(replay *p, const char *why) {
  stop_all(p);
  uv_signal_stop(&p->sigint);
  uv_signal_stop(&p->sigterm);
  if (p->v != NULL) view_close(p->v, why);
  p->v = NULL;
}

static void anchor(replay *p) {
  uv_update_time(&p->loop);
  p->base_ms = uv_now(&p->loop);
  p->base_sim = sim_engine_now(p->ctx->eng);
}

static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *h);

/* Starts whichever handle the state needs. */
static void schedule(replay *p) {
  stop_all(p);
  if (p->stop || p->rc) return;
  if (p->seek_to >= 0) {
    uv_idle_start(&p->idle, on_idle);
  } else if (!p->ended && !p->paused) {
    anchor(p);
    if (p->speed > 0) uv_timer_start(&p->timer, on_timer, 0, SIM_PACE_PERIOD_MS);
    else uv_idle_start(&p->idle, on_idle);
  }
}

/* One slice up to t_limit; handles the end and errors. */
static void slice(replay *p, int64_t t_limit) {
  int st = sim_engine_step(p->ctx->eng, t_limit, SIM_SLICE_EVENTS, &p->err);
  if (st < 0 || st == SIM_STEP_WAIT) {
    if (st == SIM_STEP_WAIT)
      rs_err_set(&p->err, RS_EINVAL, "replay: a policy that answers later cannot be replayed");
    p->rc = st < 0 ? st : RS_EINVAL;
    finish(p, "failed");
    uv_stop(&p->loop);
    return;
  }
  if (st == SIM_STEP_DONE) {
    p->ended = 1;
    p->seek_to = -1;
    stop_all(p);
    if (p->exit_at_end) {
      finish(p, "completed");
      uv_stop(&p->loop);
      return;
    }
    view_flush(p->v);
  }
}

static void on_timer(uv_timer_t *t) {
  replay *p = t->data;
  if (p->paused || p->ended) return;
  double elapsed_s = (double)(uv_now(&p->loop) - p->base_ms) / 1000.0;
  int64_t target = p->base_sim + (int64_t)(elapsed_s * p->speed);
  slice(p, target + 1);
  if (p->v != NULL) view_tick(p->v);
}

static void on_idle(uv_idle_t *h) {
  replay *p = h->data;
  if (p->seek_to >= 0) {
    slice(p, p->seek_to);
    if (p->v == NULL) return;
    if (!p->ended && sim_engine_now(p->ctx->eng) >= p->seek_to) {
      p->seek_to = -1;
      schedule(p);
      view_flush(p->v);
      return;
    }
  } else {
    slice(p, INT64_MAX);
  }
  if (p->v != NULL) view_tick(p->v);
}

static void on_signal(uv_signal_t *h, int signum) {
  replay *p = h->data;
  (void)signum;
  p->stop = 1;
  finish(p, "interrupted");
  uv_stop(&p->loop);
}

static void pace(void *arg, view_pace *vp) {
  replay *p = arg;
  vp->speed = p->speed;
  vp->can_pace = 1;
  vp->can_seek = 1;
  vp->mode = p->ended             ? "ended"
             : p->seek_to >= 0    ? "seeking"
             : p->paused          ? "paused"
             : p->speed > 0       ? "paced"
                                  : "fast";
}

/* Builds the run again (a seek backwards). */
static int rebuild(replay *p) {
  run_ctx *ctx;
  if (run_ctx_new(&p->st->sc, &p->st->in, &ctx, &p->err) != 0) return -1;
  view_set_engine(p->v, ctx->eng, disp_models_table(&ctx->models));
  run_ctx_free(p->ctx);
  p->ctx = ctx;
  p->ended = 0;
  return 0;
}

static int control(void *arg, const char *cmd, double x) {
  replay *p = arg;
  if (strcmp(cmd, "pause") == 0) {
    p->paused = 1;
  } else if (strcmp(cmd, "resume") == 0) {
    p->paused = 0;
  } else if (strcmp(cmd, "speed") == 0) {
    if (!(x >= 0) || x > SIM_PACE_MAX) return 400;
    p->speed = x;
  } else if (strcmp(cmd, "seek") == 0) {
    int64_t from = sim_engine_from(p->ctx->eng), to = sim_engine_to(p->ctx->eng);
    if (!(x >= 0) || x > (double)(to - from)) return 400;
    int64_t t = from + (int64_t)x;
    if ((t < sim_engine_now(p->ctx->eng) || p->ended) && rebuild(p) != 0) return 400;
    p->seek_to = t;
  } else {
    return 409;
  }
  schedule(p);
  return 0;
}

static void announce(replay *p, const view_replay_opts *o) {
  if (o->on_listen == NULL) return;
  char url[128];
  int v6 = strchr(o->addr.host, ':') != NULL;
  snprintf(url, sizeof url, "http://%s%s%s:%d/", v6 ? "[" : "", o->addr.host, v6 ? "]" : "",
           view_port(p->v));
  o->on_listen(o->arg, url);
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

int view_replay_exec(view_stored *st, const view_replay_opts *o, int *interrupted, rs_err *e) {
  *interrupted = 0;
  replay p;
  memset(&p, 0, sizeof p);
  p.st = st;
  p.speed = o->speed;
  p.paused = o->paused;
  p.seek_to = -1;
  p.exit_at_end = o->exit_at_end;
  int rc = run_ctx_new(&st->sc, &st->in, &p.ctx, e);
  if (rc != 0) return rc;
  if (uv_loop_init(&p.loop) != 0) {
    run_ctx_free(p.ctx);
    return rs_err_set(e, RS_EIO, "replay: cannot start libuv");
  }
  uv_timer_init(&p.loop, &p.timer);
  uv_idle_init(&p.loop, &p.idle);
  uv_signal_init(&p.loop, &p.sigint);
  uv_signal_init(&p.loop, &p.sigterm);
  p.timer.data = p.idle.data = p.sigint.data = p.sigterm.data = &p;
  view_src src = {&st->in.city, &p.ctx->grid, city_travel_net_network(&st->in.travel),
                  p.ctx->eng, disp_models_table(&p.ctx->models), st->label};
  view_ctl ctl = {&p, pace, control};
  rc = view_open(&p.loop, &o->addr, &src, &ctl, &p.v, e);
  if (rc == 0) {
    announce(&p, o);
    uv_signal_start(&p.sigint, on_signal, SIGINT);
    uv_signal_start(&p.sigterm, on_signal, SIGTERM);
    schedule(&p);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    finish(&p, "ended");
  }
  /* the viewer's server closes itself (its last writes, then its
   * handles); then our own handles, then the loop */
  uv_run(&p.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&p.timer, NULL);
  uv_close((uv_handle_t *)&p.idle, NULL);
  uv_close((uv_handle_t *)&p.sigint, NULL);
  uv_close((uv_handle_t *)&p.sigterm, NULL);
  uv_run(&p.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&p.loop) != 0) {
    uv_walk(&p.loop, close_any, NULL);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
  }
  run_ctx_free(p.ctx);
  *interrupted = p.stop;
  if (rc != 0) return rc;
  if (p.rc != 0) {
    if (e != NULL) *e = p.err;
    return p.rc;
  }
  return 0;
}

/*
 * runloop: the libuv loop around an engine; see runloop.h.
 *
 * Handles: one uv_idle (fast) or uv_timer (paced) that steps the engine,
 * two uv_signal. When the run ends for any reason they are stopped; they are
 * closed by sim_loop_free, which runs the loop until their close callbacks
 * have fired so that uv_loop_close succeeds.
 */
#include "sim/runloop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_loop {
  sim_engine *s;
  sim_loop_opts o;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  uint64_t t0_ms;       /* paced mode: the loop time of base_sim, shifted by waits */
  int64_t base_sim;     /* paced mode: the simulated time at t0_ms (the start,
                           or where a change of pace or a pause left it) */
  int64_t target;       /* paced mode: the last limit stepped to, minus 1 */
  int paused;           /* paced mode: a viewer paused it (sim_loop_pace) */
  uint64_t wait_ms;     /* loop time the current wait began */
  int waiting;          /* the engine waits for an answer */
  int stop;             /* a signal arrived */
  int finished;         /* the engine reached its horizon or failed */
  int rc;               /* the run's error */
  rs_err err;           /* its message */
};

static void finish(sim_loop *l) {
  if (l->finished) return;
  l->finished = 1;
  uv_idle_stop(&l->idle);
  uv_timer_stop(&l->timer);
  uv_signal_stop(&l->sigint);
  uv_signal_stop(&l->sigterm);
}

static void step(sim_loop *l, int64_t t_limit) {
  if (l->finished || l->waiting) return;
  if (l->stop) {
    sim_engine_close_early(l->s);
    finish(l);
    return;
  }
  int rc = sim_engine_step(l->s, t_limit, l->o.slice_events, &l->err);
  if (l->o.progress)
    l->o.progress(l->o.progress_arg, sim_engine_now(l->s), sim_engine_from(l->s),
                  sim_engine_to(l->s));
  if (rc < 0) {
    l->rc = rc;
    sim_engine_close_early(l->s);
    finish(l);
  } else if (rc == SIM_STEP_DONE) {
    finish(l);
  } else if (rc == SIM_STEP_WAIT) {
    l->waiting = 1;
    l->wait_ms = uv_now(&l->loop);
    uv_idle_stop(&l->idle);
    if (l->o.on_wait == NULL) {
      sim_loop_abort(l, RS_EINVAL, "a policy answered later but nobody answers for it");
      return;
    }
    l->o.on_wait(l->o.wait_arg, l, l->s);
  }
}

static void on_idle(uv_idle_t *h) {
  sim_loop *l = h->data;
  step(l, INT64_MAX);
}

static void on_timer(uv_timer_t *h) {
  sim_loop *l = h->data;
  if (l->waiting || l->paused) return;
  double elapsed_s = (double)(uv_now(&l->loop) - l->t0_ms) / 1000.0;
  int64_t target = l->base_sim + (int64_t)(elapsed_s * l->o.speed);
  l->target = target;
  step(l, target + 1);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  sim_loop *l = h->data;
  l->stop = 1;
  if (l->waiting || l->o.speed > 0) {
    /* nothing else will step soon: end now */
    sim_engine_close_early(l->s);
    finish(l);
  }
}

void sim_loop_resume(sim_loop *l) {
  if (!l->waiting || l->finished) return;
  l->waiting = 0;
  l->t0_ms += uv_now(&l->loop) - l->wait_ms;
  int rc = sim_engine_resume(l->s, &l->err);
  if (rc < 0) {
    l->rc = rc;
    sim_engine_close_early(l->s);
    finish(l);
    return;
  }
  if (l->o.speed <= 0) uv_idle_start(&l->idle, on_idle);
}

void sim_loop_abort(sim_loop *l, int code, const char *msg) {
  if (l->finished) return;
  l->waiting = 0;
  l->rc = code < 0 ? code : RS_EINVAL;
  rs_err_set(&l->err, l->rc, "%s", msg);
  sim_engine_close_early(l->s);
  finish(l);
}

int sim_loop_new(sim_engine *s, const sim_loop_opts *o, sim_loop **out, rs_err *e) {
  *out = NULL;
  sim_loop *l = calloc(1, sizeof *l);
  if (l == NULL) return rs_err_set(e, RS_ENOMEM, "event loop: out of memory");
  l->s = s;
  l->o = *o;
  if (l->o.slice_events <= 0) l->o.slice_events = SIM_SLICE_EVENTS;
  int rc = uv_loop_init(&l->loop);
  if (rc) {
    free(l);
    return rs_err_set(e, RS_EIO, "event loop: %s", uv_strerror(rc));
  }
  uv_idle_init(&l->loop, &l->idle);
  uv_timer_init(&l->loop, &l->timer);
  uv_signal_init(&l->loop, &l->sigint);
  uv_signal_init(&l->loop, &l->sigterm);
  l->idle.data = l->timer.data = l->sigint.data = l->sigterm.data = l;
  *out = l;
  return 0;
}

uv_loop_t *sim_loop_uv(sim_loop *l) { return &l->loop; }

int sim_loop_pace(sim_loop *l, double speed, int paused) {
  if (l->o.speed <= 0) return RS_EINVAL;
  if (!(speed > 0) || speed > SIM_PACE_MAX) return RS_EINVAL;
  uv_update_time(&l->loop);
  /* simulated time goes on from where the last step left it */
  l->base_sim = l->target;
  l->t0_ms = uv_now(&l->loop);
  if (l->waiting) l->wait_ms = l->t0_ms;
  l->o.speed = speed;
  l->paused = paused != 0;
  return 0;
}

double sim_loop_speed(const sim_loop *l) { return l->o.speed; }
int sim_loop_paused(const sim_loop *l) { return l->paused; }

int sim_loop_run(sim_loop *l, int *interrupted, double *wall_s, rs_err *e) {
  *interrupted = 0;
  uv_update_time(&l->loop);
  uint64_t start_ns = uv_hrtime();
  l->t0_ms = uv_now(&l->loop);
  l->base_sim = l->target = sim_engine_start(l->s);
  int rc;
  if ((rc = uv_signal_start(&l->sigint, on_signal, SIGINT)) == 0 &&
      (rc = uv_signal_start(&l->sigterm, on_signal, SIGTERM)) == 0) {
    if (l->o.speed > 0)
      rc = uv_timer_start(&l->timer, on_timer, 0, SIM_PACE_PERIOD_MS);
    else
      rc = uv_idle_start(&l->idle, on_idle);
  }
  if (rc == 0) {
    /* Run until the engine is finished; the caller's handles (an agent's
     * pipes) may keep the loop alive past that, so stop it then. */
    while (!l->finished && uv_run(&l->loop, UV_RUN_ONCE)) {
    }
    if (!l->finished) {
      /* nothing left to wait on: the answerer vanished without a word */
      sim_loop_abort(l, RS_EAGENT, "the event loop ran dry while the engine waited");
    }
  }
  finish(l);
  *wall_s = (double)(uv_hrtime() - start_ns) / 1e9;
  if (rc) return rs_err_set(e, RS_EIO, "event loop: %s", uv_strerror(rc));
  if (l->rc) {
    if (e) *e = l->err;
    return l->rc;
  }
  *interrupted = l->stop;
  return 0;
}

static void on_close(uv_handle_t *h) { (void)h; }

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void sim_loop_free(sim_loop *l) {
  if (l == NULL) return;
  finish(l);
  uv_close((uv_handle_t *)&l->idle, on_close);
  uv_close((uv_handle_t *)&l->timer, on_close);
  uv_close((uv_handle_t *)&l->sigint, on_close);
  uv_close((uv_handle_t *)&l->sigterm, on_close);
  uv_run(&l->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&l->loop) != 0) {
    /* a caller left a handle open: close what remains, then the loop */
    uv_walk(&l->loop, close_any, NULL);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    uv_loop_close(&l->loop);
  }
  free(l);
}

int sim_loop_run_engine(sim_engine *s, const sim_loop_opts *o, int *interrupted, double *wall_s,
                        rs_err *e) {
  sim_loop *l;
  int rc = sim_loop_new(s, o, &l, e);
  if (rc) return rc;
  rc = sim_loop_run(l, interrupted, wall_s, e);
  sim_loop_free(l);
  return rc;
}

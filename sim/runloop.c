/*
 * runloop: the libuv loop around an engine; see runloop.h.
 *
 * Handles: one uv_idle (fast) or uv_timer (paced) that steps the engine,
 * two uv_signal. When the run ends for any reason every handle is stopped
 * and closed, and the loop is run once more so the close callbacks fire and
 * uv_loop_close succeeds: nothing is left registered.
 */
#include "sim/runloop.h"

#include <signal.h>
#include <string.h>
#include <uv.h>

typedef struct {
  sim_engine *s;
  sim_loop_opts o;
  uv_loop_t loop;
  uv_idle_t idle;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  uint64_t t0_ms;       /* loop time at the start (paced mode) */
  int stop;             /* a signal arrived */
  int finished;         /* the engine reached its horizon or failed */
  int rc;               /* engine error */
  rs_err *e;
} loop_ctx;

static void finish(loop_ctx *c) {
  if (c->finished) return;
  c->finished = 1;
  uv_idle_stop(&c->idle);
  uv_timer_stop(&c->timer);
  uv_signal_stop(&c->sigint);
  uv_signal_stop(&c->sigterm);
}

static void step(loop_ctx *c, int64_t t_limit) {
  if (c->stop) {
    sim_engine_close_early(c->s);
    finish(c);
    return;
  }
  int rc = sim_engine_step(c->s, t_limit, c->o.slice_events, c->e);
  if (c->o.progress)
    c->o.progress(c->o.progress_arg, sim_engine_now(c->s), sim_engine_from(c->s),
                  sim_engine_to(c->s));
  if (rc < 0) {
    c->rc = rc;
    sim_engine_close_early(c->s);
    finish(c);
  } else if (rc == 1) {
    finish(c);
  }
}

static void on_idle(uv_idle_t *h) {
  loop_ctx *c = h->data;
  step(c, INT64_MAX);
}

static void on_timer(uv_timer_t *h) {
  loop_ctx *c = h->data;
  double elapsed_s = (double)(uv_now(&c->loop) - c->t0_ms) / 1000.0;
  int64_t target = sim_engine_from(c->s) + (int64_t)(elapsed_s * c->o.speed);
  step(c, target + 1);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  loop_ctx *c = h->data;
  c->stop = 1;
  /* In paced mode the timer may be far away: act now. */
  if (c->o.speed > 0) step(c, sim_engine_now(c->s));
}

static void on_close(uv_handle_t *h) { (void)h; }

int sim_loop_run(sim_engine *s, const sim_loop_opts *o, int *interrupted, double *wall_s,
                 rs_err *e) {
  loop_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.o = *o;
  c.e = e;
  if (c.o.slice_events <= 0) c.o.slice_events = SIM_SLICE_EVENTS;
  *interrupted = 0;
  int rc = uv_loop_init(&c.loop);
  if (rc) return rs_err_set(e, RS_EIO, "event loop: %s", uv_strerror(rc));
  uv_idle_init(&c.loop, &c.idle);
  uv_timer_init(&c.loop, &c.timer);
  uv_signal_init(&c.loop, &c.sigint);
  uv_signal_init(&c.loop, &c.sigterm);
  c.idle.data = c.timer.data = c.sigint.data = c.sigterm.data = &c;
  uv_update_time(&c.loop);
  uint64_t start_ns = uv_hrtime();
  c.t0_ms = uv_now(&c.loop);
  if ((rc = uv_signal_start(&c.sigint, on_signal, SIGINT)) == 0 &&
      (rc = uv_signal_start(&c.sigterm, on_signal, SIGTERM)) == 0) {
    if (o->speed > 0)
      rc = uv_timer_start(&c.timer, on_timer, 0, SIM_PACE_PERIOD_MS);
    else
      rc = uv_idle_start(&c.idle, on_idle);
  }
  if (rc == 0) uv_run(&c.loop, UV_RUN_DEFAULT);
  finish(&c);
  uv_close((uv_handle_t *)&c.idle, on_close);
  uv_close((uv_handle_t *)&c.timer, on_close);
  uv_close((uv_handle_t *)&c.sigint, on_close);
  uv_close((uv_handle_t *)&c.sigterm, on_close);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  uv_loop_close(&c.loop);
  *wall_s = (double)(uv_hrtime() - start_ns) / 1e9;
  if (rc) return rs_err_set(e, RS_EIO, "event loop: %s", uv_strerror(rc));
  if (c.rc) return c.rc;
  *interrupted = c.stop;
  return 0;
}

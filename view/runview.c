/*
 * runview: the viewer as a run's tap; see runview.h.
 */
#include "view/runview.h"

#include <stdio.h>
#include <string.h>

#include "city_data/travel_net.h"

static void pace(void *arg, view_pace *p) {
  view_run *r = arg;
  double speed = r->loop != NULL ? sim_loop_speed(r->loop) : 0;
  p->speed = speed;
  p->can_pace = speed > 0;
  p->can_seek = 0;
  p->mode = speed <= 0 ? "fast" : sim_loop_paused(r->loop) ? "paused" : "paced";
}

static int control(void *arg, const char *cmd, double x) {
  view_run *r = arg;
  if (r->loop == NULL || sim_loop_speed(r->loop) <= 0) return 409;
  double speed = sim_loop_speed(r->loop);
  int paused = sim_loop_paused(r->loop);
  if (strcmp(cmd, "pause") == 0) paused = 1;
  else if (strcmp(cmd, "resume") == 0) paused = 0;
  else if (strcmp(cmd, "speed") == 0) {
    if (!(x > 0) || x > SIM_PACE_MAX) return x == 0 ? 409 : 400;
    speed = x;
  } else {
    return 409; /* seek: a live run cannot go back */
  }
  return sim_loop_pace(r->loop, speed, paused) == 0 ? 0 : 400;
}

static int on_start(void *arg, run_life *l, sim_loop *loop, rs_err *e) {
  view_run *r = arg;
  r->life = l;
  r->loop = loop;
  snprintf(r->label, sizeof r->label, "%s / %s, seed %llu, %d drivers", l->ctx->dp.name,
           l->ctx->rp.name, (unsigned long long)l->sc.seed,
           (int)sim_engine_n_drivers(l->ctx->eng));
  view_src src = {&l->in->city, &l->ctx->grid, city_travel_net_network(&l->in->travel),
                  l->ctx->eng, disp_models_table(&l->ctx->models), r->label};
  view_ctl ctl = {r, pace, control};
  int rc = view_open(sim_loop_uv(loop), &r->addr, &src, &ctl, &r->v, e);
  if (rc != 0) return rc;
  if (r->on_listen != NULL) {
    char url[128];
    int v6 = strchr(r->addr.host, ':') != NULL;
    snprintf(url, sizeof url, "http://%s%s%s:%d/", v6 ? "[" : "", r->addr.host, v6 ? "]" : "",
             view_port(r->v));
    r->on_listen(r->arg, url);
  }
  return 0;
}

static void on_progress(void *arg, int64_t now, int64_t from, int64_t to) {
  view_run *r = arg;
  if (r->v != NULL) view_tick(r->v);
}

static void on_ended(void *arg, run_life *l) {
  view_run *r = arg;
  if (r->v == NULL) return;
  r->sent = view_frames_sent(r->v);
  r->dropped = view_frames_dropped(r->v);
  r->build_s = view_build_s(r->v);
  view_close(r->v, l->rc != 0 ? "failed" : l->interrupted ? "interrupted" : "completed");
  r->v = NULL;
  r->loop = NULL;
}

run_life_hooks view_run_hooks(view_run *r) {
  run_life_hooks h;
  memset(&h, 0, sizeof h);
  h.arg = r;
  h.start = on_start;
  h.progress = on_progress;
  h.ended = on_ended;
  return h;
}

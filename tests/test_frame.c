/*
 * Tests of view/frame (what the viewer streams) and the engine's driver
 * views it reads (sim_engine_driver_view, sim_engine_state_counts), against
 * naive references over the engine's own records.
 *
 * Synthetic mornings under several policies (v1d3 included, so that the
 * value layer is made; random-walk repositioning with matchable moves, so
 * that repositioning lines appear) are stepped to random times; at each,
 * the views agree with the engine's drivers and orders (state, the order a
 * busy driver holds and that order's driver, a move's times around now),
 * and a frame parsed back with cJSON holds: every online driver once with
 * its state, placed on its move's straight line; the per-state counts; the
 * waiting orders (a full scan of the requested orders); the matches since
 * the previous frame (orders whose match time lies in between); the KPIs
 * counted from the order records; the heat layers counted per cell; and the
 * hello's windows. Seeds come from the loop index.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "run/setup.h"
#include "tests/testutil.h"
#include "view/frame.h"

#define N_CASES 8

static const char *const DISPATCH[] = {"fcfs-nearest", "batch-distance", "v1d3", "random"};
static const char *const REPO[] = {"stay", "random-walk", "v1d3", "random-walk"};

static int64_t gxi(const view_frames *f, double lng) { return llround((lng - f->ox) * 1e5); }
static int64_t gyi(const view_frames *f, double lat) { return llround((lat - f->oy) * 1e5); }

static cJSON *parse_event(const view_frames *f, const char *name) {
  char head[64];
  snprintf(head, sizeof head, "event: %s\ndata: ", name);
  ck_assert(strncmp(f->buf, head, strlen(head)) == 0);
  ck_assert(f->len > 2 && f->buf[f->len - 1] == '\n' && f->buf[f->len - 2] == '\n');
  cJSON *j = cJSON_Parse(f->buf + strlen(head));
  ck_assert_ptr_nonnull(j);
  return j;
}

static int64_t num(const cJSON *o, const char *k) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
  ck_assert_msg(cJSON_IsNumber(x), "%s", k);
  return (int64_t)llround(x->valuedouble);
}

static const cJSON *arr(const cJSON *o, const char *k) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
  ck_assert_msg(cJSON_IsArray(x), "%s", k);
  return x;
}

/* The engine's driver views against its drivers and orders. */
static void check_views(const sim_engine *s) {
  int32_t nd = sim_engine_n_drivers(s), counts[DISP_N_STATES] = {0};
  const disp_driver *dv = sim_engine_drivers(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  int64_t now = sim_engine_now(s);
  for (int32_t d = 0; d < nd; d++) {
    sim_driver_view v;
    sim_engine_driver_view(s, d, &v);
    ck_assert_int_eq(v.state, dv[d].state);
    counts[v.state]++;
    int busy = v.state == DISP_PICKUP || v.state == DISP_OCCUPIED;
    ck_assert_int_eq(busy, v.order >= 0);
    if (busy) {
      ck_assert_int_eq(rec[v.order].driver, d);
      ck_assert_int_eq(rec[v.order].status,
                       v.state == DISP_PICKUP ? SIM_ORDER_MATCHED : SIM_ORDER_ONBOARD);
    }
    ck_assert(v.t_depart <= now);
    if (busy || v.state == DISP_REPOSITION) {
      ck_assert(v.t_arrive >= v.t_depart);
      ck_assert(v.t_arrive >= now - 1);
    } else {
      ck_assert(v.t_arrive == v.t_depart && v.lat == v.tlat && v.lng == v.tlng);
      ck_assert(v.lat == dv[d].lat && v.lng == dv[d].lng);
    }
  }
  const int32_t *n = sim_engine_state_counts(s);
  for (int k = 0; k < DISP_N_STATES; k++) ck_assert_int_eq(n[k], counts[k]);
}

/* A frame against the records; t_prev: the previous frame's time. */
static void check_frame(view_frames *f, const sim_engine *s, const city_grid *g,
                        const val_table *vt, int64_t t_prev) {
  view_pace p = {"paced", 60, 1, 0};
  ck_assert_int_eq(view_frames_build(f, s, g, vt, &p, 1), 0);
  cJSON *j = parse_event(f, "frame");
  int64_t now = sim_engine_now(s);
  ck_assert_int_eq(num(j, "t"), now);
  /* drivers: every online one, once, in index order, on its move's line */
  const cJSON *d = arr(j, "d");
  int32_t nd = sim_engine_n_drivers(s), k = 0;
  for (int32_t i = 0; i < nd; i++) {
    sim_driver_view v;
    sim_engine_driver_view(s, i, &v);
    if (v.state == DISP_OFFLINE) continue;
    double lat = v.lat, lng = v.lng;
    if (v.t_arrive > v.t_depart) {
      double a = fmin(1, fmax(0, (double)(now - v.t_depart) / (double)(v.t_arrive - v.t_depart)));
      lat += (v.tlat - v.lat) * a;
      lng += (v.tlng - v.lng) * a;
    }
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(d, 3 * k)->valuedouble, gxi(f, lng));
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(d, 3 * k + 1)->valuedouble, gyi(f, lat));
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(d, 3 * k + 2)->valuedouble, v.state);
    k++;
  }
  ck_assert_int_eq(cJSON_GetArraySize(d), 3 * k);
  const cJSON *n = arr(j, "n");
  const int32_t *ns = sim_engine_state_counts(s);
  for (int i = 0; i < DISP_N_STATES; i++)
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(n, i)->valuedouble, ns[i]);
  ck_assert_int_eq(cJSON_GetArraySize(arr(j, "r")), 4 * ns[DISP_REPOSITION]);
  /* orders: waiting ones and matches since the previous frame, by a full
   * scan; KPIs from the records */
  const disp_order *od = sim_engine_orders(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  size_t nr = sim_engine_n_requested(s);
  int64_t waiting = 0, matches = 0, matched = 0, completed = 0, expired = 0, cancelled = 0;
  double income = 0;
  int32_t nc = g->n_cells;
  double *un = calloc((size_t)nc, sizeof *un), *idle = calloc((size_t)nc, sizeof *idle);
  ck_assert(un && idle);
  const cJSON *o = arr(j, "o");
  for (size_t i = 0; i < nr; i++) {
    const sim_order_rec *r = &rec[i];
    if (r->status == SIM_ORDER_WAITING) {
      ck_assert_int_eq((int64_t)cJSON_GetArrayItem(o, (int)(2 * waiting))->valuedouble,
                       gxi(f, od[i].plng));
      waiting++;
    }
    if (r->t_match > t_prev && r->t_match <= now) matches++;
    matched += r->t_match >= 0;
    completed += r->status == SIM_ORDER_COMPLETED;
    expired += r->status == SIM_ORDER_EXPIRED;
    cancelled += r->status == SIM_ORDER_CANCELLED;
    if (r->status == SIM_ORDER_COMPLETED) income += od[i].fare;
    int32_t c = od[i].pcell;
    if (c >= 0 && c < nc &&
        (r->status == SIM_ORDER_WAITING ||
         ((r->status == SIM_ORDER_EXPIRED || r->status == SIM_ORDER_CANCELLED) &&
          r->t_final > now - VIEW_UNSERVED_S)))
      un[c]++;
  }
  ck_assert_int_eq(cJSON_GetArraySize(o), 2 * waiting);
  ck_assert_int_eq(cJSON_GetArraySize(arr(j, "m")), 4 * matches);
  const cJSON *kp = cJSON_GetObjectItemCaseSensitive(j, "k");
  ck_assert_int_eq(num(kp, "orders"), (int64_t)nr);
  ck_assert_int_eq(num(kp, "matched"), matched);
  ck_assert_int_eq(num(kp, "completed"), completed);
  ck_assert_int_eq(num(kp, "expired"), expired);
  ck_assert_int_eq(num(kp, "cancelled"), cancelled);
  ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(kp, "income")->valuedouble - income) < 0.01);
  /* heat */
  const disp_driver *dv = sim_engine_drivers(s);
  for (int32_t i = 0; i < nd; i++)
    if (dv[i].state == DISP_IDLE && dv[i].cell >= 0) idle[dv[i].cell]++;
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "heat");
  const cJSON *hu = arr(h, "unserved"), *hi = arr(h, "idle");
  ck_assert_int_eq(cJSON_GetArraySize(hu), nc);
  for (int32_t c = 0; c < nc; c++) {
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(hu, c)->valuedouble, (int64_t)un[c]);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(hi, c)->valuedouble, (int64_t)idle[c]);
  }
  const cJSON *hv = cJSON_GetObjectItemCaseSensitive(h, "value");
  ck_assert_int_eq(hv != NULL, vt != NULL);
  if (vt != NULL) {
    ck_assert_int_eq(cJSON_GetArraySize(hv), nc);
    for (int32_t c = 0; c < nc; c += 7) {
      const cJSON *x = cJSON_GetArrayItem(hv, c);
      double want = val_table_get(vt, c, now);
      if (isfinite(want)) ck_assert(fabs(x->valuedouble - want) <= 0.0051);
    }
  }
  free(un);
  free(idle);
  cJSON_Delete(j);
}

START_TEST(frames_against_records) {
  int c = _i;
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  sc.synthetic_orders = 20000;
  sc.drivers = 300;
  sc.from_s = 6 * 3600;
  sc.to_s = 9 * 3600;
  sc.seed = (uint64_t)c + 1;
  sc.repo_dispatchable = c % 2;
  sc.patience_s = c % 3 == 0 ? 120 : SIM_PATIENCE_DEFAULT_S;
  snprintf(sc.dispatch, sizeof sc.dispatch, "%s", DISPATCH[c % 4]);
  snprintf(sc.reposition, sizeof sc.reposition, "%s", REPO[c % 4]);
  rs_err e;
  run_input in;
  ck_assert_msg(run_input_load(&sc, 0, &in, &e) == 0, "%s", e.msg);
  run_ctx *ctx;
  ck_assert_msg(run_ctx_new(&sc, &in, &ctx, &e) == 0, "%s", e.msg);
  view_frames f;
  ck_assert_int_eq(view_frames_init(&f, &in.city, &ctx->grid, &e), 0);
  sim_engine *s = ctx->eng;
  view_frames_reset(&f, s);
  const val_table *vt = disp_models_table(&ctx->models);
  pcg32 g;
  pcg32_seed(&g, (uint64_t)c, 3);
  int64_t t_prev = sim_engine_from(s) - 1;
  int done = 0, frames = 0;
  while (!done) {
    int64_t step = 1 + (int64_t)pcg32_bounded(&g, 600);
    int st = sim_engine_step(s, sim_engine_now(s) + step, INT64_MAX, &e);
    ck_assert_int_ge(st, 0);
    done = st == SIM_STEP_DONE;
    if (!done) check_views(s);
    check_frame(&f, s, &ctx->grid, vt, t_prev);
    t_prev = sim_engine_now(s);
    frames++;
  }
  ck_assert_int_gt(frames, 10);
  /* the hello: every window reached, in order */
  view_pace p = {"ended", 0, 0, 0};
  ck_assert_int_eq(view_frames_hello(&f, s, &p), 0);
  cJSON *j = parse_event(&f, "hello");
  size_t nw;
  const sim_window *w = sim_engine_windows(s, &nw);
  const cJSON *ws = arr(j, "w");
  ck_assert_int_eq(cJSON_GetArraySize(ws), (int)nw);
  for (size_t i = 0; i < nw; i++) {
    const cJSON *x = cJSON_GetArrayItem(ws, (int)i);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(x, 0)->valuedouble, (int64_t)i);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(x, 1)->valuedouble, w[i].requests);
    ck_assert_int_eq((int64_t)cJSON_GetArrayItem(x, 2)->valuedouble, w[i].matched);
  }
  cJSON_Delete(j);
  /* the scene: a polygon per cell */
  ck_assert_int_eq(view_frames_scene(&f, &in.city, &ctx->grid, NULL, s, vt != NULL, "t\"x"), 0);
  j = cJSON_Parse(f.buf);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(cJSON_GetArraySize(arr(j, "cells")), 12 * ctx->grid.n_cells);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "label")->valuestring, "t\"x");
  cJSON_Delete(j);
  view_frames_free(&f);
  run_ctx_free(ctx);
  run_input_free(&in);
}
END_TEST

static Suite *frame_suite(void) {
  Suite *s = suite_create("frame");
  TCase *tc = tcase_create("build");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, frames_against_records, 0, N_CASES);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(frame_suite()); }

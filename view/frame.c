/*
 * frame: the viewer's scene, hello and frame texts; see frame.h.
 *
 * Text is appended to one growing buffer with hand-written integer
 * formatting (a frame of 3,000 drivers is about 10,000 integers; snprintf
 * for each would cost several times the rest of the frame). Doubles, a
 * few dozen per frame, go through snprintf.
 */
#include "view/frame.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"
#include "dispatch/policy.h"
#include "sim/kpi.h"

static const char *const STATE_NAMES[DISP_N_STATES] = {"offline", "idle", "pickup", "occupied",
                                                       "reposition"};

/* Room for `more` bytes and a NUL; -1 (and oom noted) when out of memory. */
static int reserve(view_frames *f, size_t more) {
  if (rs_vec_grow(f->buf, f->cap, f->len + more + 1) == 0) return 0;
  f->oom = 1;
  return -1;
}

static void put(view_frames *f, const char *s, size_t n) {
  if (reserve(f, n) != 0) return;
  memcpy(f->buf + f->len, s, n);
  f->len += n;
  f->buf[f->len] = '\0';
}

static void puts_(view_frames *f, const char *s) { put(f, s, strlen(s)); }

static void putf(view_frames *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void putf(view_frames *f, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    put(f, tmp, (size_t)n);
    return;
  }
  if (reserve(f, (size_t)n) != 0) return;
  va_start(ap, fmt);
  vsnprintf(f->buf + f->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  f->len += (size_t)n;
}

/* An integer and a separator. */
static void put_int(view_frames *f, int64_t v, char sep) {
  if (reserve(f, 24) != 0) return;
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  char *p = f->buf + f->len;
  if (v < 0) *p++ = '-';
  while (n) *p++ = tmp[--n];
  if (sep) *p++ = sep;
  f->len = (size_t)(p - f->buf);
  f->buf[f->len] = '\0';
}

/* A finite number, or null. */
static void put_num(view_frames *f, double v, int dec) {
  if (!isfinite(v)) puts_(f, "null");
  else putf(f, "%.*f", dec, v);
}

/* A JSON string (the few texts here are ASCII names; anything else is
 * escaped). */
static void put_str(view_frames *f, const char *s) {
  puts_(f, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') putf(f, "\\%c", c);
    else if (c < 0x20) putf(f, "\\u%04x", c);
    else put(f, s, 1);
  }
  puts_(f, "\"");
}

/* Drops a trailing comma (an array or object just ended). */
static void unc(view_frames *f) {
  if (f->len > 0 && f->buf[f->len - 1] == ',') f->buf[--f->len] = '\0';
}

static int64_t gx(const view_frames *f, double lng) { return llround((lng - f->ox) * 1e5); }
static int64_t gy(const view_frames *f, double lat) { return llround((lat - f->oy) * 1e5); }

int view_frames_init(view_frames *f, const city_def *city, const city_grid *g, rs_err *e) {
  memset(f, 0, sizeof *f);
  f->ox = city->min_lng;
  f->oy = city->min_lat;
  f->n_cells = g->n_cells;
  f->heat = calloc((size_t)g->n_cells * 3 + 1, sizeof *f->heat);
  if (f->heat == NULL || reserve(f, 65536) != 0) {
    view_frames_free(f);
    return rs_err_set(e, RS_ENOMEM, "viewer: out of memory");
  }
  f->len = 0;
  f->buf[0] = '\0';
  return 0;
}

void view_frames_free(view_frames *f) {
  free(f->buf);
  free(f->heat);
  memset(f, 0, sizeof *f);
}

void view_frames_reset(view_frames *f, const sim_engine *s) {
  f->lo = 0;
  f->t_last = sim_engine_from(s) - 1;
}

static void begin(view_frames *f, const char *event) {
  f->len = 0;
  f->oom = 0;
  if (f->buf) f->buf[0] = '\0';
  if (event != NULL) putf(f, "event: %s\ndata: ", event);
}

static int end(view_frames *f, const char *event) {
  if (event != NULL) puts_(f, "\n\n");
  return f->oom ? RS_ENOMEM : 0;
}

int view_frames_scene(view_frames *f, const city_def *city, const city_grid *g,
                      const city_net *net, const sim_engine *s, int has_value,
                      const char *label) {
  begin(f, NULL);
  puts_(f, "{\"city\":");
  put_str(f, city->name);
  puts_(f, ",\"label\":");
  put_str(f, label ? label : "");
  putf(f, ",\"origin\":[%.6f,%.6f],\"bbox\":[%.6f,%.6f,%.6f,%.6f]", f->ox, f->oy, city->min_lng,
       city->min_lat, city->max_lng, city->max_lat);
  putf(f, ",\"from\":%lld,\"to\":%lld,\"utc_offset_min\":%d,\"drivers\":%d,\"orders\":%zu",
       (long long)sim_engine_from(s), (long long)sim_engine_to(s), (int)city->utc_offset_min,
       (int)sim_engine_n_drivers(s), sim_engine_n_orders(s));
  putf(f, ",\"has_value\":%s,\"states\":[", has_value ? "true" : "false");
  for (int k = 0; k < DISP_N_STATES; k++) {
    put_str(f, STATE_NAMES[k]);
    puts_(f, ",");
  }
  unc(f);
  /* cells: 6 vertices each, in frame units (x, y integers) */
  puts_(f, "],\"cells\":[");
  for (int32_t c = 0; c < g->n_cells; c++) {
    double lat[6], lng[6];
    city_grid_polygon(g, city_grid_hex(g, c), lat, lng);
    for (int k = 0; k < 6; k++) {
      put_int(f, gx(f, lng[k]), ',');
      put_int(f, gy(f, lat[k]), ',');
    }
  }
  unc(f);
  puts_(f, "],\"roads\":[");
  if (net != NULL) {
    /* each two-way street once: a link whose reverse exists is kept from
     * its lower-numbered end */
    for (int32_t v = 0; v < net->n_nodes; v++) {
      for (int32_t k = net->first[v]; k < net->first[v + 1]; k++) {
        int32_t w = net->head[k];
        if (w < v) {
          int back = 0;
          for (int32_t j = net->first[w]; j < net->first[w + 1]; j++)
            if (net->head[j] == v) back = 1;
          if (back) continue;
        }
        put_int(f, gx(f, net->lng[v]), ',');
        put_int(f, gy(f, net->lat[v]), ',');
        put_int(f, gx(f, net->lng[w]), ',');
        put_int(f, gy(f, net->lat[w]), ',');
      }
    }
  }
  unc(f);
  puts_(f, "]}");
  return end(f, NULL);
}

static void put_window(view_frames *f, size_t i, const sim_window *w) {
  puts_(f, "[");
  put_int(f, (int64_t)i, ',');
  put_int(f, w->requests, ',');
  put_int(f, w->matched, ',');
  put_int(f, w->completed, ',');
  put_num(f, w->wait_sum_s, 1);
  puts_(f, ",");
  put_num(f, w->income, 2);
  puts_(f, "],");
}

static void put_pace(view_frames *f, const view_pace *p) {
  puts_(f, "\"mode\":");
  put_str(f, p->mode);
  puts_(f, ",\"speed\":");
  put_num(f, p->speed, 3);
  putf(f, ",\"can_pace\":%s,\"can_seek\":%s,", p->can_pace ? "true" : "false",
       p->can_seek ? "true" : "false");
}

int view_frames_hello(view_frames *f, const sim_engine *s, const view_pace *p) {
  begin(f, "hello");
  puts_(f, "{");
  put_pace(f, p);
  putf(f, "\"t\":%lld,\"window_s\":%d,\"w\":[", (long long)sim_engine_now(s),
       SIM_SERIES_WINDOW_S);
  size_t n;
  const sim_window *w = sim_engine_windows(s, &n);
  for (size_t i = 0; i < n; i++) put_window(f, i, &w[i]);
  unc(f);
  puts_(f, "]}");
  return end(f, "hello");
}

/* The heat layers: unserved demand (orders lost in the last
 * VIEW_UNSERVED_S plus those waiting), idle supply, and V(cell, now). */
static void put_heat(view_frames *f, const sim_engine *s, const val_table *vt) {
  int32_t nc = f->n_cells;
  double *un = f->heat, *idle = f->heat + nc, *v = f->heat + 2 * (size_t)nc;
  memset(f->heat, 0, sizeof *f->heat * (size_t)nc * 3);
  int64_t now = sim_engine_now(s);
  const disp_order *od = sim_engine_orders(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  size_t nr = sim_engine_n_requested(s);
  for (size_t i = 0; i < nr; i++) {
    int32_t st = rec[i].status, c = od[i].pcell;
    if (c < 0 || c >= nc) continue;
    if (st == SIM_ORDER_WAITING ||
        ((st == SIM_ORDER_EXPIRED || st == SIM_ORDER_CANCELLED) &&
         rec[i].t_final > now - VIEW_UNSERVED_S))
      un[c] += 1;
  }
  const disp_driver *dv = sim_engine_drivers(s);
  for (int32_t d = 0; d < sim_engine_n_drivers(s); d++)
    if (dv[d].state == DISP_IDLE && dv[d].cell >= 0 && dv[d].cell < nc) idle[dv[d].cell] += 1;
  puts_(f, ",\"heat\":{\"unserved\":[");
  for (int32_t c = 0; c < nc; c++) put_int(f, (int64_t)un[c], ',');
  unc(f);
  puts_(f, "],\"idle\":[");
  for (int32_t c = 0; c < nc; c++) put_int(f, (int64_t)idle[c], ',');
  unc(f);
  puts_(f, "]");
  if (vt != NULL && val_table_n_cells(vt) == nc) {
    puts_(f, ",\"value\":[");
    for (int32_t c = 0; c < nc; c++) {
      v[c] = val_table_get(vt, c, now);
      put_num(f, v[c], 2);
      puts_(f, ",");
    }
    unc(f);
    puts_(f, "]");
  }
  puts_(f, "}");
}

int view_frames_build(view_frames *f, const sim_engine *s, const city_grid *g,
                      const val_table *vt, const view_pace *p, int heat) {
  (void)g;
  begin(f, "frame");
  int64_t now = sim_engine_now(s);
  puts_(f, "{");
  put_pace(f, p);
  putf(f, "\"t\":%lld,\"n\":[", (long long)now);
  const int32_t *ns = sim_engine_state_counts(s);
  for (int k = 0; k < DISP_N_STATES; k++) put_int(f, ns[k], ',');
  unc(f);
  /* drivers on the road: x, y, state; repositioning moves as lines */
  puts_(f, "],\"d\":[");
  int32_t nd = sim_engine_n_drivers(s);
  sim_driver_view v;
  for (int32_t d = 0; d < nd; d++) {
    sim_engine_driver_view(s, d, &v);
    if (v.state == DISP_OFFLINE) continue;
    double lat = v.lat, lng = v.lng;
    if (v.t_arrive > v.t_depart) {
      double a = (double)(now - v.t_depart) / (double)(v.t_arrive - v.t_depart);
      if (a < 0) a = 0;
      if (a > 1) a = 1;
      lat += (v.tlat - v.lat) * a;
      lng += (v.tlng - v.lng) * a;
    }
    put_int(f, gx(f, lng), ',');
    put_int(f, gy(f, lat), ',');
    put_int(f, v.state, ',');
  }
  unc(f);
  puts_(f, "],\"r\":[");
  const disp_driver *dv = sim_engine_drivers(s);
  for (int32_t d = 0; d < nd; d++) {
    if (dv[d].state != DISP_REPOSITION) continue;
    sim_engine_driver_view(s, d, &v);
    put_int(f, gx(f, v.lng), ',');
    put_int(f, gy(f, v.lat), ',');
    put_int(f, gx(f, v.tlng), ',');
    put_int(f, gy(f, v.tlat), ',');
  }
  unc(f);
  /* waiting orders, and the matches since the previous frame (orders that
   * were waiting then: at or after its cursor) */
  const disp_order *od = sim_engine_orders(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  size_t nr = sim_engine_n_requested(s), lo_prev = f->lo;
  while (f->lo < nr && rec[f->lo].status != SIM_ORDER_WAITING) f->lo++;
  puts_(f, "],\"o\":[");
  for (size_t i = f->lo; i < nr; i++) {
    if (rec[i].status != SIM_ORDER_WAITING) continue;
    put_int(f, gx(f, od[i].plng), ',');
    put_int(f, gy(f, od[i].plat), ',');
  }
  unc(f);
  puts_(f, "],\"m\":[");
  for (size_t i = lo_prev; i < nr; i++) {
    const sim_order_rec *r = &rec[i];
    if (r->t_match <= f->t_last || r->t_match > now || r->driver < 0) continue;
    /* the driver's move began at the match while it still drives to it */
    sim_engine_driver_view(s, r->driver, &v);
    double flat = od[i].plat, flng = od[i].plng;
    if (v.order == (int32_t)i && v.state == DISP_PICKUP) {
      flat = v.lat;
      flng = v.lng;
    }
    put_int(f, gx(f, flng), ',');
    put_int(f, gy(f, flat), ',');
    put_int(f, gx(f, od[i].plng), ',');
    put_int(f, gy(f, od[i].plat), ',');
  }
  unc(f);
  /* the KPIs so far, from the windows reached */
  size_t nw;
  const sim_window *w = sim_engine_windows(s, &nw);
  double req = 0, mat = 0, comp = 0, canc = 0, exp_ = 0, inc = 0, wait = 0, pick = 0;
  for (size_t i = 0; i < nw; i++) {
    req += w[i].requests;
    mat += w[i].matched;
    comp += w[i].completed;
    canc += w[i].cancelled;
    exp_ += w[i].expired;
    inc += w[i].income;
    wait += w[i].wait_sum_s;
    pick += w[i].pickup_m_sum;
  }
  int32_t online = nd - ns[DISP_OFFLINE];
  puts_(f, "],\"k\":{\"orders\":");
  put_int(f, (int64_t)req, ',');
  puts_(f, "\"matched\":");
  put_int(f, (int64_t)mat, ',');
  puts_(f, "\"completed\":");
  put_int(f, (int64_t)comp, ',');
  puts_(f, "\"cancelled\":");
  put_int(f, (int64_t)canc, ',');
  puts_(f, "\"expired\":");
  put_int(f, (int64_t)exp_, ',');
  puts_(f, "\"answer_rate\":");
  put_num(f, req > 0 ? mat / req : 0, 4);
  puts_(f, ",\"wait_mean_s\":");
  put_num(f, mat > 0 ? wait / mat : 0, 1);
  puts_(f, ",\"pickup_mean_m\":");
  put_num(f, mat > 0 ? pick / mat : 0, 1);
  puts_(f, ",\"income\":");
  put_num(f, inc, 2);
  puts_(f, ",\"utilisation\":");
  put_num(f, online > 0 ? (double)(ns[DISP_PICKUP] + ns[DISP_OCCUPIED]) / online : 0, 4);
  puts_(f, "},\"s\":[");
  for (size_t i = nw > 2 ? nw - 2 : 0; i < nw; i++) put_window(f, i, &w[i]);
  unc(f);
  puts_(f, "]");
  if (heat) put_heat(f, s, vt);
  puts_(f, "}");
  f->t_last = now;
  return end(f, "frame");
}

int view_frames_end(view_frames *f, const sim_engine *s, const char *why) {
  begin(f, "end");
  putf(f, "{\"t\":%lld,\"why\":", (long long)sim_engine_now(s));
  put_str(f, why);
  puts_(f, "}");
  return end(f, "end");
}

/*
 * kepler: kepler.gl trip and order layers of a stored run; see kepler.h.
 *
 * Each driver keeps its open spell: its key (state, order, start) and the
 * vertices so far (a small growing array, reused from spell to spell), so
 * memory is O(drivers + the longest spell's idle moves); features are
 * written as their spells close, never held.
 */
#include "view/kepler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/rs_vec.h"
#include "sim/results.h"

static const char *const STATE_NAMES[DISP_N_STATES] = {"offline", "idle", "pickup", "occupied",
                                                       "reposition"};

typedef struct {
  double lng, lat;
  int64_t t;
} vtx;

typedef struct {
  int32_t state, order;   /* the spell's key ... */
  int64_t t0;             /* ... and its start */
  double lat, lng;        /* the driver's last seen position (idle moves) */
  vtx *v;                 /* the spell's vertices */
  int32_t n;
  size_t cap;
} spell;

typedef struct {
  FILE *f;
  int64_t utc;            /* local - utc: seconds to subtract */
  const disp_order *od;
  view_kepler_stats *stats;
  int first;              /* no feature written yet */
  int oom;
} writer;

static int add(spell *s, double lat, double lng, int64_t t) {
  if (rs_vec_grow(s->v, s->cap, (size_t)s->n + 1)) return -1;
  s->v[s->n++] = (vtx){lng, lat, t};
  return 0;
}

/* Writes driver d's spell, ending at (lat, lng, t1), and empties it. */
static void close_spell(writer *w, int32_t d, spell *s, double lat, double lng, int64_t t1) {
  if (s->state != DISP_OFFLINE && s->n > 0) {
    if (add(s, lat, lng, t1) != 0) w->oom = 1;
    fprintf(w->f, "%s\n{\"type\":\"Feature\",\"properties\":{\"driver\":%d,\"state\":\"%s\",",
            w->first ? "" : ",", (int)d, STATE_NAMES[s->state]);
    if (s->order >= 0) fprintf(w->f, "\"order\":%lld,", (long long)w->od[s->order].id);
    else fprintf(w->f, "\"order\":null,");
    fprintf(w->f, "\"t0\":%lld,\"t1\":%lld},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
            (long long)(s->t0 - w->utc), (long long)(t1 - w->utc));
    for (int32_t i = 0; i < s->n; i++)
      fprintf(w->f, "%s[%.6f,%.6f,0,%lld]", i ? "," : "", s->v[i].lng, s->v[i].lat,
              (long long)(s->v[i].t - w->utc));
    fprintf(w->f, "]}}");
    w->first = 0;
    w->stats->features++;
    w->stats->vertices += s->n;
    if (s->state == DISP_OCCUPIED) w->stats->occupied++;
  }
  s->n = 0;
}

static void open_spell(writer *w, spell *s, const sim_driver_view *v) {
  s->state = v->state;
  s->order = v->order;
  s->t0 = v->t_depart;
  s->lat = v->lat;
  s->lng = v->lng;
  s->n = 0;
  if (add(s, v->lat, v->lng, v->t_depart) != 0) w->oom = 1;
}

static int trips(const view_stored *st, run_ctx *ctx, FILE *f, view_kepler_stats *stats,
                 rs_err *e) {
  sim_engine *eng = ctx->eng;
  int32_t nd = sim_engine_n_drivers(eng);
  spell *sp = calloc((size_t)nd, sizeof *sp);
  if (sp == NULL) return rs_err_set(e, RS_ENOMEM, "export: out of memory");
  writer w = {f, (int64_t)st->in.city.utc_offset_min * 60, sim_engine_orders(eng), stats, 1, 0};
  sim_driver_view v;
  for (int32_t d = 0; d < nd; d++) {
    sim_engine_driver_view(eng, d, &v);
    open_spell(&w, &sp[d], &v);
  }
  fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[");
  /* the whole simulated time: a warm-up's moves and the drain's trips too
   * (the drain's end is where the run closes) */
  int64_t from = sim_engine_start(eng);
  int rc = 0;
  for (int64_t t = from + 1; !sim_engine_done(eng) && rc == 0; t++) {
    int64_t ev = sim_engine_events(eng);
    int stp = sim_engine_step(eng, t, INT64_MAX, e);
    if (stp < 0) rc = stp;
    else if (stp == SIM_STEP_WAIT)
      rc = rs_err_set(e, RS_EINVAL, "export: a policy that answers later cannot be replayed");
    if (rc != 0 || sim_engine_events(eng) == ev) continue;
    /* a run of several synthetic days takes its orders in a day at a time:
     * the arrays may have moved */
    w.od = sim_engine_orders(eng);
    int64_t tau = t - 1; /* every event of this step happened at tau */
    for (int32_t d = 0; d < nd; d++) {
      spell *s = &sp[d];
      sim_engine_driver_view(eng, d, &v);
      /* (the close of the run restarts every still spell's clock at the
       * horizon: no new spell there) */
      if (v.state != s->state || v.order != s->order ||
          (v.t_depart != s->t0 && !sim_engine_done(eng))) {
        close_spell(&w, d, s, v.lat, v.lng, v.t_depart);
        open_spell(&w, s, &v);
      } else if (v.state == DISP_IDLE && (v.lat != s->lat || v.lng != s->lng)) {
        /* an idle move: left at tau from the last place, there at tau */
        if (add(s, s->lat, s->lng, tau) != 0 || add(s, v.lat, v.lng, tau) != 0) w.oom = 1;
        s->lat = v.lat;
        s->lng = v.lng;
      }
    }
    if (stp == SIM_STEP_DONE) break;
  }
  if (rc == 0) {
    /* the spells open at the horizon end there, where each driver is */
    int64_t end = sim_engine_now(eng);
    for (int32_t d = 0; d < nd; d++) {
      sim_engine_driver_view(eng, d, &v);
      double lat = v.lat, lng = v.lng;
      if (v.t_arrive > v.t_depart) {
        double a = (double)(end - v.t_depart) / (double)(v.t_arrive - v.t_depart);
        a = a < 0 ? 0 : a > 1 ? 1 : a;
        lat += (v.tlat - v.lat) * a;
        lng += (v.tlng - v.lng) * a;
      }
      close_spell(&w, d, &sp[d], lat, lng, end);
    }
    fprintf(f, "\n]}\n");
  }
  for (int32_t d = 0; d < nd; d++) free(sp[d].v);
  free(sp);
  if (rc == 0 && w.oom) rc = rs_err_set(e, RS_ENOMEM, "export: out of memory");
  return rc;
}

static void opt_time(FILE *f, const char *key, int64_t t, int64_t utc) {
  if (t >= 0) fprintf(f, ",\"%s\":%lld", key, (long long)(t - utc));
}

static void orders(const view_stored *st, const sim_engine *eng, FILE *f,
                   view_kepler_stats *stats) {
  int64_t utc = (int64_t)st->in.city.utc_offset_min * 60;
  const disp_order *od = sim_engine_orders(eng);
  const sim_order_rec *rec = sim_engine_order_recs(eng);
  size_t n = sim_engine_n_requested(eng);
  fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[");
  for (size_t i = 0; i < n; i++) {
    const sim_order_rec *r = &rec[i];
    fprintf(f, "%s\n{\"type\":\"Feature\",\"properties\":{\"id\":%lld,\"status\":\"%s\"",
            i ? "," : "", (long long)od[i].id, sim_order_status_name(r->status));
    opt_time(f, "t_request", od[i].t_request, utc);
    opt_time(f, "t_match", r->t_match, utc);
    opt_time(f, "t_pickup", r->t_pickup, utc);
    opt_time(f, "t_dropoff", r->t_dropoff, utc);
    if (r->t_match >= 0) fprintf(f, ",\"wait_s\":%lld", (long long)(r->t_match - od[i].t_request));
    fprintf(f, ",\"fare\":%.2f,\"dropoff\":[%.6f,%.6f]},", od[i].fare, od[i].dlng, od[i].dlat);
    fprintf(f, "\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]}}", od[i].plng,
            od[i].plat);
    stats->orders++;
  }
  fprintf(f, "\n]}\n");
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t cap, rs_err *e) {
  snprintf(path, cap, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f == NULL) rs_err_set(e, RS_EIO, "export: cannot write %s: %s", path, strerror(errno));
  return f;
}

static int close_out(FILE *f, const char *path, int rc, rs_err *e) {
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  if (rc == 0 && bad) rc = rs_err_set(e, RS_EIO, "export: cannot write %s", path);
  return rc;
}

int view_kepler_export(const view_stored *st, const char *dir, view_kepler_stats *out,
                       rs_err *e) {
  memset(out, 0, sizeof *out);
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return rs_err_set(e, RS_EIO, "export: cannot make %s: %s", dir, strerror(errno));
  run_ctx *ctx;
  int rc = run_ctx_new(&st->sc, &st->in, &ctx, e);
  if (rc != 0) return rc;
  char path[4200];
  FILE *f = open_out(dir, "trips.geojson", path, sizeof path, e);
  if (f == NULL) rc = RS_EIO;
  if (rc == 0) rc = close_out(f, path, trips(st, ctx, f, out, e), e);
  if (rc == 0 && (f = open_out(dir, "orders.geojson", path, sizeof path, e)) == NULL) rc = RS_EIO;
  if (rc == 0) {
    orders(st, ctx->eng, f, out);
    rc = close_out(f, path, 0, e);
  }
  run_ctx_free(ctx);
  return rc;
}

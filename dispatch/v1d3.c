/*
 * v1d3: the value model, its learner and its two policies; see v1d3.h.
 *
 * Costs per tick: the learner touches every driver once (O(drivers)) and
 * does one table update each; dispatch adds two table reads and a pow() per
 * candidate edge; repositioning reads one value per reachable cell of each
 * eligible driver. Idle steps all share one discount (gamma^tick), computed
 * once per tick size.
 */
#include "dispatch/v1d3.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "dispatch/batch.h"
#include "dispatch/candidates.h"
#include "value/softmax.h"

#define DISC_MAX 14400   /* seconds of tabulated discount: 4 hours */
#define PC_MAX 20001     /* metres of tabulated cancellation probability */

struct disp_v1d3 {
  const city_def *city;
  const city_travel *tm;    /* travel times to repositioning targets */
  const city_grid *grid;
  disp_v1d3_opts o;
  val_table *online;        /* learnt table (NULL in offline mode) */
  val_table *offline;       /* trained on history (NULL in online mode) */
  const val_table *v;       /* the table policies read */
  int64_t next_blend;       /* simulated time of the next ensemble blend */
  int64_t td_steps, blends;
  int32_t idle_tick_s;      /* tick size of the cached idle discount */
  double idle_discount;     /* gamma^(tick / period) */
  disp_batch *batch;        /* dispatch: the shared batch solver path */
  double *disc;             /* gamma^(dt / period) for dt = 0 .. DISC_MAX-1 s */
  double *pcancel;          /* p_cancel at whole metres 0 .. PC_MAX-1 */
  /* per-tick caches of the dispatch weights */
  double *vdrv;             /* V(driver's cell, now) */
  int64_t *vdrv_at;         /* the tick time vdrv[d] was computed for, or -1 */
  int32_t n_vdrv;           /* drivers vdrv and vdrv_at cover */
  size_t cap_vdrv;          /* their allocated entries */
  int64_t tick_tod;         /* the tick's time of day, seconds */
  int32_t dtype_today, dtype_tomorrow; /* day types of the tick's day and the next */
  int32_t last_row;         /* V(dropoff, t') of the last edge's row ... */
  int64_t last_key;         /* ... for this (day type, slot) key */
  double last_v;
  int32_t r_row;            /* the row whose ride reward r_ride holds */
  double r_ride;            /* its fare spread over its ride (no wait) */
  /* repositioning scratch */
  city_hex *ring;
  int32_t ring_k;
  int32_t *cand;
  double *score, *scratch;
  double *cand_dt;          /* drive seconds to each candidate */
  int32_t *cell_node;       /* per cell: its centre's travel node (models
                               with nodes only, else NULL) */
};

void disp_v1d3_defaults(disp_v1d3_opts *o) {
  memset(o, 0, sizeof *o);
  o->mode = DISP_V1D3_ONLINE;
  val_config_defaults(&o->cfg);
  o->lr = VAL_LR_DEFAULT;
  o->ensemble_w = DISP_V1D3_ENSEMBLE_W;
  o->ensemble_period_s = DISP_V1D3_ENSEMBLE_PERIOD_S;
  o->tau = DISP_V1D3_TAU;
  o->repo_radius_m = DISP_V1D3_REPO_RADIUS_M;
  o->serve_first = 1;
  o->driver_top_k = DISP_DRIVER_TOP_K_DEFAULT;
  o->learn_free = 1;
  o->repo_min_gain = DISP_V1D3_REPO_MIN_GAIN;
}

/* gamma^(dt / period), tabulated for whole seconds. */
static double discount(const disp_v1d3 *m, const val_config *c, int64_t dt) {
  return dt >= 0 && dt < DISC_MAX ? m->disc[dt] : val_discount(c, (double)dt);
}

static const char *const MODE_NAMES[] = {"online", "offline", "ensemble"};

int disp_v1d3_mode_parse(const char *s, int32_t *mode) {
  for (int32_t i = 0; i < 3; i++)
    if (strcmp(s, MODE_NAMES[i]) == 0) {
      *mode = i;
      return 0;
    }
  return -1;
}

const char *disp_v1d3_mode_name(int32_t mode) {
  return mode >= 0 && mode < 3 ? MODE_NAMES[mode] : "unknown";
}

/* ----------------------------------------------------------------- learner */

static void observe(void *ctx, const disp_report *r) {
  disp_v1d3 *m = ctx;
  if (m->online == NULL) return;
  val_table *t = m->online;
  const val_config *c = val_table_config(t);
  double lr = m->o.lr;
  int learn_free = m->o.learn_free;
  for (int32_t i = 0; i < r->n_matched; i++) {
    int32_t d = r->matched[i].driver;
    const disp_order *o = &r->orders[r->matched[i].order];
    int64_t wait = (int64_t)ceil(r->matched_eta[i]);
    int64_t t1 = r->now + wait + o->duration_s;
    double rg = val_trip_reward(c, o->fare, (double)wait, (double)o->duration_s);
    int32_t cell = r->drivers[d].cell;
    val_table_td_r(t, cell, r->now, o->dcell, t1, rg, lr);
    if (learn_free) val_table_free_td_r(t, cell, r->now, o->dcell, t1, rg, lr);
    m->td_steps++;
  }
  if (r->tick_s != m->idle_tick_s) {
    m->idle_tick_s = r->tick_s;
    m->idle_discount = val_discount(c, (double)r->tick_s);
  }
  int64_t t1 = r->now + r->tick_s;
  for (int32_t d = 0; d < r->n_drivers; d++) {
    if (r->drivers[d].state != DISP_IDLE) continue;
    int32_t cell = r->drivers[d].cell;
    double target = m->idle_discount * val_table_get(t, cell, t1);
    val_table_update(t, cell, r->now, target, lr);
    if (learn_free)
      val_table_free_update(t, cell, r->now, m->idle_discount * val_table_free_get(t, cell, t1),
                            lr);
    m->td_steps++;
  }
  if ((m->o.mode == DISP_V1D3_ENSEMBLE || m->o.flatten) && r->now >= m->next_blend) {
    if (m->next_blend > 0) {
      if (m->o.mode == DISP_V1D3_ENSEMBLE) {
        val_table_blend(t, m->offline, m->o.ensemble_w, NULL);
        m->blends++;
      }
      if (m->o.flatten) val_table_flatten(t);
    }
    int64_t p = m->o.ensemble_period_s;
    m->next_blend = (r->now / p + 1) * p;
  }
}

disp_observer disp_v1d3_observer(disp_v1d3 *m) {
  disp_observer ob = {m, observe};
  return ob;
}

/* ---------------------------------------------------------------- dispatch */

static double p_cancel(const disp_v1d3 *m, double d) {
  if (m->o.p_cancel == NULL) return 0.0;
  if (d >= 0 && d < PC_MAX - 1) {
    int32_t i = (int32_t)d;
    double f = d - i;
    return m->pcancel[i] + f * (m->pcancel[i + 1] - m->pcancel[i]);
  }
  return m->o.p_cancel(m->o.p_cancel_ctx, d);
}

/* The edge score. V(driver's cell, now) is cached per driver and tick, and
 * V(dropoff, t') per row while t' stays in one slot: the edges of a row
 * differ only in their pickup time. */
static double v1d3_weight(void *wctx, const disp_tick *t, int32_t row, int32_t k) {
  disp_v1d3 *m = wctx;
  const disp_order *o = &t->orders[t->row_order[row]];
  int32_t d = t->edge_driver[k];
  const val_config *c = val_table_config(m->v);
  int64_t dt = (int64_t)ceil(t->edge_eta[k]) + o->duration_s;
  int64_t t1 = t->now + dt;
  /* (day type, slot) of t1 without divisions by the day: dt < a day */
  int64_t tod = m->tick_tod + dt;
  int64_t key = tod < RS_DAY_S ? (int64_t)m->dtype_today * 100000 + tod / c->slot_s
                              : (int64_t)m->dtype_tomorrow * 100000 + (tod - RS_DAY_S) / c->slot_s;
  if (dt >= RS_DAY_S) key = -1 - t1; /* beyond tomorrow: a key of its own */
  if (row != m->last_row || key != m->last_key) {
    m->last_row = row;
    m->last_key = key;
    m->last_v = val_table_get(m->v, o->dcell, t1);
  }
  double v0;
  if (d < m->n_vdrv && m->vdrv_at[d] == t->now) {
    v0 = m->vdrv[d];
  } else {
    v0 = val_table_get(m->v, t->drivers[d].cell, t->now);
    if (d < m->n_vdrv) {
      m->vdrv[d] = v0;
      m->vdrv_at[d] = t->now;
    }
  }
  if (row != m->r_row) {
    m->r_row = row;
    m->r_ride = val_trip_reward(c, o->fare, 0.0, (double)o->duration_s);
  }
  /* the fare spread over the ride, after the pickup drive; continuous
   * discounting throughout (vtable.h) */
  int64_t wait = dt - o->duration_s;
  double adv = discount(m, c, wait) * m->r_ride + discount(m, c, dt) * m->last_v - v0;
  return (1.0 - p_cancel(m, t->edge_dist[k])) * adv;
}

static int v1d3_dispatch_cb(void *ctx, disp_tick *t, rs_err *e) {
  disp_v1d3 *m = ctx;
  if (t->n_drivers > m->n_vdrv) {
    size_t c1 = m->cap_vdrv, c2 = m->cap_vdrv;
    if (rs_vec_grow(m->vdrv, c1, (size_t)t->n_drivers) ||
        rs_vec_grow(m->vdrv_at, c2, (size_t)t->n_drivers))
      return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
    m->cap_vdrv = c1;
    for (int32_t i = m->n_vdrv; i < t->n_drivers; i++) m->vdrv_at[i] = -1;
    m->n_vdrv = t->n_drivers;
  }
  /* the table may have learnt since the last tick: drop the caches */
  for (int32_t i = 0; i < m->n_vdrv; i++) m->vdrv_at[i] = -1;
  m->last_row = -1;
  m->r_row = -1;
  m->tick_tod = rs_time_tod(t->now);
  m->dtype_today = val_table_daytype(m->v, t->now);
  m->dtype_tomorrow = val_table_daytype(m->v, t->now + RS_DAY_S);
  return disp_batch_dispatch(m->batch, t, e);
}

static const disp_solve_stat *v1d3_stats_cb(void *ctx, int32_t *n) {
  disp_v1d3 *m = ctx;
  return disp_batch_stats(m->batch, n);
}

int disp_v1d3_dispatch(disp_v1d3 *m, disp_policy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  if (m->batch == NULL) {
    m->batch = disp_batch_new(v1d3_weight, m, m->o.serve_first);
    if (m->batch == NULL) return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
  }
  p->name = "v1d3";
  p->ctx = m;
  p->dispatch = v1d3_dispatch_cb;
  p->solve_stats = v1d3_stats_cb;
  /* Pure V1D3 leaves orders whose edges all score <= 0 unserved, with
   * candidates free: not maximal. */
  p->maximal = m->o.serve_first;
  p->driver_top_k = m->o.driver_top_k;
  return 0;
}

/* ------------------------------------------------------------ reposition */

/* One eligible driver's choice. Candidates: its own cell (stay, scored
 * V(cell, now): the value of waiting there, matches included) and every
 * cell within the reach whose gamma^(dt / P) V(k, t + dt) beats staying by
 * more than repo_min_gain (moving forgoes the matches of the drive: a
 * moving driver is not matchable unless the engine says so, and its value
 * only starts at arrival). None: stay without a draw. Else V1D3's softmax
 * over the candidates, staying included. Returns the cell or -1 (stay);
 * *dt_out gets the drive's seconds. */
static int32_t repo_choose(disp_v1d3 *m, const disp_repo *r, const disp_driver *dv,
                           double *dt_out) {
  const city_grid *g = r->grid;
  const val_config *c = val_table_config(m->v);
  const city_loc from = disp_driver_loc(dv);
  int32_t nk = city_hex_kring_size(m->ring_k);
  int32_t n = city_hex_kring(city_grid_hex(g, dv->cell), m->ring_k, m->ring);
  double stay = val_table_get(m->v, dv->cell, r->now);
  m->cand[0] = dv->cell;
  m->score[0] = stay;
  m->cand_dt[0] = 0;
  int32_t nc = 1;
  for (int32_t k = 1; k < n && k < nk; k++) {
    int32_t cell = city_grid_index(g, m->ring[k]);
    if (cell < 0) continue;
    /* never out of the service area (its own cell, staying, always is a choice) */
    if (r->in_service != NULL && !r->in_service[cell]) continue;
    city_loc to;
    city_grid_center(g, m->ring[k], &to.lat, &to.lng);
    /* reach: great-circle, as the candidate radius */
    double dist = rs_geo_haversine_r(dv->lat, dv->lng, to.lat, to.lng, m->city->earth_radius_m);
    if (dist > m->o.repo_radius_m) continue;
    to.node = m->cell_node != NULL ? m->cell_node[cell] : -1;
    city_leg leg;
    city_travel_leg(m->tm, &from, &to, r->now, &leg);
    double dt = leg.secs;
    double sc = val_discount(c, dt) * val_table_get(m->v, cell, r->now + (int64_t)ceil(dt));
    if (!(sc - stay > m->o.repo_min_gain)) continue;
    m->cand[nc] = cell;
    m->score[nc] = sc;
    m->cand_dt[nc] = dt;
    nc++;
  }
  *dt_out = 0;
  if (nc == 1) return -1;
  int32_t pick = val_softmax_sample(m->score, nc, m->o.tau, r->rng, m->scratch);
  if (pick <= 0) return -1;
  *dt_out = m->cand_dt[pick];
  return m->cand[pick];
}

static int v1d3_reposition_cb(void *ctx, disp_repo *r, rs_err *e) {
  disp_v1d3 *m = ctx;
  (void)e;
  for (int32_t i = 0; i < r->n_eligible; i++) {
    const disp_driver *dv = &r->drivers[r->eligible[i]];
    double dt;
    int32_t to = repo_choose(m, r, dv, &dt);
    r->dest_cell[i] = to;
    if (to >= 0 && m->online != NULL && m->o.lr > 0) {
      /* the move is a transition of the policy being learnt: no reward,
       * the drive's discount, the destination's value on arrival */
      int64_t t1 = r->now + (int64_t)ceil(dt);
      val_table *t = m->online;
      double g = val_discount(val_table_config(t), (double)(t1 - r->now));
      val_table_update(t, dv->cell, r->now, g * val_table_get(t, to, t1), m->o.lr);
      if (m->o.learn_free)
        val_table_free_update(t, dv->cell, r->now, g * val_table_free_get(t, to, t1), m->o.lr);
      m->td_steps++;
    }
  }
  return 0;
}

int disp_v1d3_reposition(disp_v1d3 *m, disp_repolicy *p, rs_err *e) {
  memset(p, 0, sizeof *p);
  if (m->ring == NULL) {
    double e1 = m->grid->edge_m * 1.5;
    m->ring_k = (int32_t)ceil(m->o.repo_radius_m / e1) + 1;
    int32_t nk = city_hex_kring_size(m->ring_k);
    m->ring = malloc((size_t)nk * sizeof *m->ring);
    m->cand = malloc((size_t)nk * sizeof *m->cand);
    m->score = malloc((size_t)nk * sizeof *m->score);
    m->cand_dt = malloc((size_t)nk * sizeof *m->cand_dt);
    m->scratch = malloc((size_t)nk * sizeof *m->scratch);
    if (!m->ring || !m->cand || !m->score || !m->cand_dt || !m->scratch)
      return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
  }
  p->name = "v1d3";
  p->ctx = m;
  p->reposition = v1d3_reposition_cb;
  return 0;
}

/* ------------------------------------------------------------------ model */

int disp_v1d3_new(const city_travel *tm, const city_grid *g, const disp_v1d3_opts *o,
                  val_table *offline, disp_v1d3 **out, rs_err *e) {
  const city_def *city = tm->city;
  *out = NULL;
  if (o->mode != DISP_V1D3_ONLINE && offline == NULL) {
    return rs_err_set(e, RS_EINVAL, "v1d3: the %s mode needs an offline value table",
                      disp_v1d3_mode_name(o->mode));
  }
  if (!(o->ensemble_w >= 0 && o->ensemble_w <= 1) || o->ensemble_period_s <= 0 || o->lr < 0 ||
      !(o->repo_min_gain >= 0)) {
    val_table_free(offline);
    return rs_err_set(e, RS_EINVAL, "v1d3: ensemble weight must be in [0, 1], period and "
                                    "learning rate positive, the repositioning gain >= 0");
  }
  disp_v1d3 *m = calloc(1, sizeof *m);
  if (m == NULL) {
    val_table_free(offline);
    return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
  }
  m->city = city;
  m->tm = tm;
  m->grid = g;
  m->o = *o;
  if (offline != NULL && o->flatten) val_table_flatten(offline);
  if (o->mode == DISP_V1D3_ONLINE) {
    /* a table given to the online mode is its starting point (warm start) */
    if (offline != NULL) {
      m->online = offline;
    } else {
      int rc = val_table_new(g, &o->cfg, &m->online, e);
      if (rc) {
        free(m);
        return rc;
      }
    }
  } else {
    m->offline = offline;
    if (o->mode == DISP_V1D3_ENSEMBLE) {
      m->online = val_table_clone(offline);
      if (m->online == NULL) {
        disp_v1d3_free(m);
        return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
      }
    }
  }
  m->v = m->online != NULL ? m->online : m->offline;
  if (tm->ops->nodes) {
    m->cell_node = malloc((size_t)g->n_cells * sizeof *m->cell_node);
    if (m->cell_node == NULL) {
      disp_v1d3_free(m);
      return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
    }
    for (int32_t c = 0; c < g->n_cells; c++) {
      double lat, lng;
      city_grid_center(g, city_grid_hex(g, c), &lat, &lng);
      m->cell_node[c] = city_travel_snap(tm, lat, lng);
    }
  }
  m->disc = malloc(DISC_MAX * sizeof *m->disc);
  m->pcancel = malloc(PC_MAX * sizeof *m->pcancel);
  if (m->disc == NULL || m->pcancel == NULL) {
    disp_v1d3_free(m);
    return rs_err_set(e, RS_ENOMEM, "v1d3: out of memory");
  }
  const val_config *c = val_table_config(m->v);
  for (int32_t i = 0; i < DISC_MAX; i++) m->disc[i] = val_discount(c, (double)i);
  for (int32_t i = 0; i < PC_MAX; i++)
    m->pcancel[i] = o->p_cancel ? o->p_cancel(o->p_cancel_ctx, (double)i) : 0.0;
  m->last_row = -1;
  m->r_row = -1;
  *out = m;
  return 0;
}

void disp_v1d3_free(disp_v1d3 *m) {
  if (m == NULL) return;
  val_table_free(m->online);
  val_table_free(m->offline);
  disp_batch_free(m->batch);
  free(m->disc);
  free(m->pcancel);
  free(m->vdrv);
  free(m->vdrv_at);
  free(m->ring);
  free(m->cand);
  free(m->score);
  free(m->cand_dt);
  free(m->scratch);
  free(m->cell_node);
  free(m);
}

const val_table *disp_v1d3_table(const disp_v1d3 *m) { return m->v; }

void disp_v1d3_counts(const disp_v1d3 *m, int64_t *td_steps, int64_t *blends) {
  if (td_steps) *td_steps = m->td_steps;
  if (blends) *blends = m->blends;
}

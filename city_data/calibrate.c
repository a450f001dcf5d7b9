/*
 * calibrate: ratio-of-sums fits of hourly speeds and speed factors; see
 * calibrate.h for the method, the fallbacks and the bounds.
 *
 * One engine serves both backends: a "knob" sets the model's value of every
 * (day type, hour) cell from a multiplier k of the cell's starting value
 * (the great-circle speeds live in the city the model borrows; the network
 * factors in the model, through city_travel_net_set_factors), and
 * fit_groups runs the ratio of sums over groups of cells that share one
 * multiplier: each own hour alone, a day type's hours together, or every
 * hour together. Trips are snapped once, before the first step.
 *
 * Rejected: fitting the hours one after the other (24 passes over the
 * trips per step instead of one), and least squares on the times (it
 * matches no mean, and long trips would weigh quadratically).
 */
#include "city_data/calibrate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "city_data/roadnet_ch.h"
#include "city_data/travel_net.h"

#define K_MIN 1e-6 /* multipliers are kept in [K_MIN, K_MAX]: far beyond any bound of */
#define K_MAX 1e6  /* the values, so that a clamped hour's k cannot run away */

static const char *const source_text[CITY_CALIB_N_SOURCES] = {
#define X(name, text) text,
    CITY_CALIB_SOURCES(X)
#undef X
};

const char *city_calib_source_text(city_calib_source s) {
  return s >= 0 && s < CITY_CALIB_N_SOURCES ? source_text[s] : "?";
}

void city_calib_defaults(city_calib_opts *o) {
  o->min_trips = CITY_CALIB_MIN_TRIPS;
  o->max_steps = CITY_CALIB_MAX_STEPS;
  o->tol = CITY_CALIB_TOL;
  o->day_types = 0;
  o->field = 1;
  o->field_prior = CITY_CALIB_FIELD_PRIOR;
}

/* A trip as the fit sees it. */
typedef struct {
  city_loc a, b;      /* its ends, snapped */
  int64_t t;          /* request time */
  double rec;         /* recorded seconds */
  int8_t d, h;        /* its cell: day type (0 with one profile), local hour */
} ctrip;

typedef struct {
  city_travel *tm;
  city_def *city;     /* great circle: the speeds live here (tm's city) */
  int network;
  int day_types;
  double start[2][24];
  double lo, hi;      /* bounds of a value */
} knob;

/* The value of cell (d, h) under multiplier kk, within the bounds; *held
 * (may be NULL) says whether a bound held it. */
static double value_of(const knob *kb, int d, int h, double kk, int *held) {
  double v = kb->network ? kb->start[d][h] * kk : kb->start[d][h] / kk;
  int c = 0;
  if (v < kb->lo) v = kb->lo, c = 1;
  if (v > kb->hi) v = kb->hi, c = 1;
  if (held != NULL) *held = c;
  return v;
}

/* Sets the model's values from k[cell day type][hour]. */
static int knob_apply(knob *kb, double k[2][24], rs_err *e) {
  if (!kb->network) {
    for (int h = 0; h < 24; h++) kb->city->speed_mps[h] = value_of(kb, 0, h, k[0][h], NULL);
    return 0;
  }
  double f[2][24];
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++)
      f[d][h] = value_of(kb, d, h, k[kb->day_types == 2 ? d : 0][h], NULL);
  return city_travel_net_set_factors(kb->tm, f, e);
}

static double model_secs(const knob *kb, const ctrip *c) {
  city_leg leg;
  kb->tm->ops->leg(kb->tm->ctx, &c->a, &c->b, c->t, 0.0, &leg);
  return leg.secs;
}

/* The ratio of sums over groups of cells: group[d][h] is the cell's group
 * (-1: none), trips of cells in no group are ignored. k[d][h] of every
 * grouped cell receives its group's multiplier; the model is left set to
 * k (ungrouped cells at 1). Returns the steps taken. */
static int fit_groups(knob *kb, const ctrip *tr, size_t n, int group[2][24], int n_groups,
                      const city_calib_opts *o, double k[2][24], int32_t *steps, rs_err *e) {
  double kg[2 * 24 + 1], rs[2 * 24 + 1], ms[2 * 24 + 1];
  for (int g = 0; g < n_groups; g++) kg[g] = 1.0, rs[g] = 0;
  for (size_t i = 0; i < n; i++) {
    int g = group[tr[i].d][tr[i].h];
    if (g >= 0) rs[g] += tr[i].rec;
  }
  int32_t step = 0;
  for (;;) {
    double kk[2][24];
    for (int d = 0; d < 2; d++)
      for (int h = 0; h < 24; h++) kk[d][h] = group[d][h] >= 0 ? kg[group[d][h]] : 1.0;
    int rc = knob_apply(kb, kk, e);
    if (rc) return rc;
    if (step == o->max_steps) {
      memcpy(k, kk, sizeof kk);
      break;
    }
    step++;
    for (int g = 0; g < n_groups; g++) ms[g] = 0;
    for (size_t i = 0; i < n; i++) {
      int g = group[tr[i].d][tr[i].h];
      if (g >= 0) ms[g] += model_secs(kb, &tr[i]);
    }
    double dev = 0;
    for (int g = 0; g < n_groups; g++) {
      if (!(ms[g] > 0 && rs[g] > 0)) continue;
      double r = rs[g] / ms[g];
      if (fabs(r - 1) > dev) dev = fabs(r - 1);
      kg[g] *= r;
      if (kg[g] < K_MIN) kg[g] = K_MIN;
      if (kg[g] > K_MAX) kg[g] = K_MAX;
    }
    if (dev <= o->tol) {
      memcpy(k, kk, sizeof kk); /* the step's k already matched: keep it */
      break;
    }
  }
  if (steps != NULL) *steps = step;
  return 0;
}

/* The whole fit on the knob: own hours, fallbacks, the final values. */
static int fit(knob *kb, const city_rec_set *set, const city_calib_opts *o, city_calib_fit *out,
               rs_err *e) {
  if (set->n == 0)
    return rs_err_set(e, RS_EEMPTY, "calibration: no recorded trips to fit on (recorded "
                      "trips need a dropoff time; see how many were left out and why)");
  ctrip *tr = malloc(set->n * sizeof *tr);
  if (tr == NULL)
    return rs_err_set(e, RS_ENOMEM, "calibration: out of memory for %zu trips", set->n);
  memset(out, 0, sizeof *out);
  out->network = kb->network;
  out->day_types = kb->day_types;
  out->n_trips = (int64_t)set->n;
  memcpy(out->start, kb->start, sizeof kb->start);
  int64_t cnt[2][24] = {{0}}, per_dt[2] = {0, 0};
  for (size_t i = 0; i < set->n; i++) {
    const city_trip *t = &set->trips[i];
    city_travel_loc(kb->tm, t->plat, t->plng, &tr[i].a);
    city_travel_loc(kb->tm, t->dlat, t->dlng, &tr[i].b);
    tr[i].t = t->t_request;
    tr[i].rec = city_rec_secs(t);
    tr[i].d = (int8_t)(kb->day_types == 2 ? rs_time_weekend(t->t_request) : 0);
    tr[i].h = (int8_t)rs_time_hour(t->t_request);
    cnt[tr[i].d][tr[i].h]++;
    per_dt[tr[i].d]++;
  }
  int nd = kb->day_types, rc = 0;
  /* 1. every hour with enough trips on its own */
  int group[2][24], ng = 0;
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) group[d][h] = d < nd && cnt[d][h] >= o->min_trips ? ng++ : -1;
  double k_own[2][24];
  if ((rc = fit_groups(kb, tr, set->n, group, ng, o, k_own, &out->steps, e)) != 0) goto done;
  /* 2. each day type's hours together; 3. every hour together */
  double k_dt[2][24], k_all[2][24];
  int dgroup[2][24], agroup[2][24];
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) {
      dgroup[d][h] = nd == 2 && per_dt[d] >= o->min_trips ? d : -1;
      agroup[d][h] = (int64_t)set->n >= o->min_trips ? 0 : -1;
    }
  if (nd == 2 && (rc = fit_groups(kb, tr, set->n, dgroup, 2, o, k_dt, NULL, e)) != 0) goto done;
  if ((rc = fit_groups(kb, tr, set->n, agroup, 1, o, k_all, NULL, e)) != 0) goto done;
  double k[2][24];
  for (int d = 0; d < nd; d++)
    for (int h = 0; h < 24; h++) {
      int lo = group[d][(h + 23) % 24] >= 0, hi = group[d][(h + 1) % 24] >= 0;
      city_calib_source s;
      if (group[d][h] >= 0) s = CITY_CALIB_OWN, k[d][h] = k_own[d][h];
      else if (lo || hi) {
        s = CITY_CALIB_NEIGHBOURS;
        k[d][h] = ((lo ? k_own[d][(h + 23) % 24] : 0) + (hi ? k_own[d][(h + 1) % 24] : 0)) /
                  (lo + hi);
      } else if (dgroup[d][h] >= 0) s = CITY_CALIB_DAYTYPE, k[d][h] = k_dt[d][h];
      else if (agroup[d][h] >= 0) s = CITY_CALIB_ALL, k[d][h] = k_all[d][h];
      else s = CITY_CALIB_START, k[d][h] = 1.0;
      out->source[d][h] = s;
    }
  if (nd == 1) memcpy(k[1], k[0], sizeof k[0]);
  if ((rc = knob_apply(kb, k, e)) != 0) goto done;
  /* the values as set, and the hours' means under them */
  double msum[2][24] = {{0}}, rsum[2][24] = {{0}};
  for (size_t i = 0; i < set->n; i++) {
    msum[tr[i].d][tr[i].h] += model_secs(kb, &tr[i]);
    rsum[tr[i].d][tr[i].h] += tr[i].rec;
  }
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) {
      int dd = nd == 2 ? d : 0;
      out->value[d][h] = value_of(kb, d, h, k[dd][h], &out->clamped[d][h]);
      out->k[d][h] = kb->network ? out->value[d][h] / kb->start[d][h]
                                 : kb->start[d][h] / out->value[d][h];
      out->n[d][h] = cnt[dd][h];
      out->source[d][h] = out->source[dd][h];
      if (cnt[dd][h] > 0) {
        out->rec_s[d][h] = rsum[dd][h] / (double)cnt[dd][h];
        out->mod_s[d][h] = msum[dd][h] / (double)cnt[dd][h];
      }
      if (d < nd && out->source[d][h] == CITY_CALIB_OWN && !out->clamped[d][h]) {
        double dev = fabs(rsum[d][h] / msum[d][h] - 1);
        if (dev > out->max_dev) out->max_dev = dev;
      }
    }
done:
  free(tr);
  return rc;
}


/* --- cell factors ------------------------------------------------------- */

/* The field fit's data: one sparse row per trip, F_iz (driving time before
 * factors, by grid cell), its fixed part a_i, recorded r_i and group. */
typedef struct {
  size_t n;             /* trips */
  size_t *start;        /* n + 1: row i is [start[i], start[i+1]) */
  int32_t *col;         /* per entry: its cell's column */
  double *val;          /* per entry: F_iz */
  size_t nnz, cap;
  double *a;            /* per trip: fixed seconds (access legs) */
  double *b;            /* per trip: driving time in cells left out of the fit (k 1) */
  double *r;            /* per trip: recorded seconds */
  int32_t *g;           /* per trip: its group of the hourly scale */
  int32_t n_groups;
  int32_t *cell;        /* per column: its dense grid index, ascending */
  int32_t ncols;
  /* while a row is built: */
  int32_t *tmp_cell;    /* dense indices of the row's entries so far */
  double *tmp_val;
  size_t tmp_n, tmp_cap;
  double scale;         /* multiplies a visit's weight (the stretch's time) */
  city_grid tmp_grid;   /* the grid the rows' cells belong to */
} frows;

static void frows_free(frows *f) {
  free(f->start);
  free(f->col);
  free(f->val);
  free(f->a);
  free(f->b);
  free(f->r);
  free(f->g);
  free(f->cell);
  free(f->tmp_cell);
  free(f->tmp_val);
  memset(f, 0, sizeof *f);
}

static int frows_init(frows *f, size_t n) {
  memset(f, 0, sizeof *f);
  f->n = n;
  size_t m = n ? n : 1;
  f->start = calloc(m + 1, sizeof *f->start);
  f->a = calloc(m, sizeof *f->a);
  f->b = calloc(m, sizeof *f->b);
  f->r = calloc(m, sizeof *f->r);
  f->g = calloc(m, sizeof *f->g);
  return f->start && f->a && f->b && f->r && f->g ? 0 : -1;
}

/* A visit of field.h's points: time scale x w in the cell (off the grid:
 * left out, k 1). */
static void row_visit(void *ctx, int32_t cell, double w) {
  frows *f = ctx;
  if (f->tmp_cap == (size_t)-1) return;
  size_t c1 = f->tmp_cap, c2 = f->tmp_cap;
  if (rs_vec_grow(f->tmp_cell, c1, f->tmp_n + 1) || rs_vec_grow(f->tmp_val, c2, f->tmp_n + 1)) {
    f->tmp_cap = (size_t)-1; /* out of memory: reported at the row's end */
    return;
  }
  f->tmp_cap = c1;
  f->tmp_cell[f->tmp_n] = cell;
  f->tmp_val[f->tmp_n++] = f->scale * w;
}

typedef struct {
  int32_t cell;
  double v;
} cell_val;

static int cv_cmp(const void *pa, const void *pb) {
  const cell_val *a = pa, *b = pb;
  return (a->cell > b->cell) - (a->cell < b->cell);
}

/* Closes trip i's row: its entries merged by cell (columns hold dense
 * indices until frows_columns). -1 when out of memory. */
static int row_end(frows *f, size_t i) {
  if (f->tmp_cap == (size_t)-1) return -1;
  size_t k = f->tmp_n;
  cell_val *cv = malloc((k ? k : 1) * sizeof *cv);
  if (cv == NULL) return -1;
  for (size_t j = 0; j < k; j++) cv[j] = (cell_val){f->tmp_cell[j], f->tmp_val[j]};
  qsort(cv, k, sizeof *cv, cv_cmp);
  for (size_t j = 0; j < k; j++) {
    if (cv[j].cell < 0) {
      f->b[i] += cv[j].v;
      continue;
    }
    if (f->nnz > f->start[i] && f->col[f->nnz - 1] == cv[j].cell) {
      f->val[f->nnz - 1] += cv[j].v;
      continue;
    }
    size_t c1 = f->cap, c2 = f->cap;
    if (rs_vec_grow(f->col, c1, f->nnz + 1) || rs_vec_grow(f->val, c2, f->nnz + 1)) {
      free(cv);
      return -1;
    }
    f->cap = c1;
    f->col[f->nnz] = cv[j].cell;
    f->val[f->nnz++] = cv[j].v;
  }
  free(cv);
  f->start[i + 1] = f->nnz;
  f->tmp_n = 0;
  return 0;
}

static int i32_cmp(const void *pa, const void *pb) {
  int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
  return (a > b) - (a < b);
}

/* Most time first, ties by cell index. */
static int by_time_desc(const void *pa, const void *pb) {
  const cell_val *a = pa, *b = pb;
  if (a->v != b->v) return a->v < b->v ? 1 : -1;
  return (a->cell > b->cell) - (a->cell < b->cell);
}

/* Turns the rows' dense indices into columns: the cells, ascending; past
 * CITY_FIELD_MAX_CELLS only those with the most driving time are kept,
 * the others' time moving to b (k 1). -1 when out of memory. */
static int frows_columns(frows *f) {
  int32_t *all = malloc((f->nnz ? f->nnz : 1) * sizeof *all);
  if (all == NULL) return -1;
  memcpy(all, f->col, f->nnz * sizeof *all);
  qsort(all, f->nnz, sizeof *all, i32_cmp);
  int32_t nu = 0;
  for (size_t j = 0; j < f->nnz; j++)
    if (nu == 0 || all[nu - 1] != all[j]) all[nu++] = all[j];
  if (nu > CITY_FIELD_MAX_CELLS) {
    /* keep the cells with the most time (ties by index) */
    cell_val *tot = calloc((size_t)nu, sizeof *tot);
    if (tot == NULL) {
      free(all);
      return -1;
    }
    for (int32_t c = 0; c < nu; c++) tot[c].cell = all[c];
    for (size_t j = 0; j < f->nnz; j++) {
      int32_t *p = bsearch(&f->col[j], all, (size_t)nu, sizeof *all, i32_cmp);
      tot[p - all].v += f->val[j];
    }
    qsort(tot, (size_t)nu, sizeof *tot, by_time_desc);
    for (int32_t c = 0; c < CITY_FIELD_MAX_CELLS; c++) all[c] = tot[c].cell;
    free(tot);
    nu = CITY_FIELD_MAX_CELLS;
    qsort(all, (size_t)nu, sizeof *all, i32_cmp);
  }
  /* rewrite the rows, moving dropped cells' time to b */
  size_t w = 0;
  for (size_t i = 0; i < f->n; i++) {
    size_t s0 = f->start[i], s1 = f->start[i + 1];
    f->start[i] = w;
    for (size_t j = s0; j < s1; j++) {
      int32_t *p = bsearch(&f->col[j], all, (size_t)nu, sizeof *all, i32_cmp);
      if (p == NULL) {
        f->b[i] += f->val[j];
        continue;
      }
      f->col[w] = (int32_t)(p - all);
      f->val[w++] = f->val[j];
    }
  }
  f->start[f->n] = w;
  f->nnz = w;
  f->cell = all;
  f->ncols = nu;
  return 0;
}

/* Solves H x = y for symmetric positive definite H (n x n, row-major;
 * overwritten by its Cholesky factor). -1 when H is not positive definite. */
static int cholesky_solve(double *H, double *y, int32_t n) {
  for (int32_t j = 0; j < n; j++) {
    double d = H[(size_t)j * n + j];
    for (int32_t k = 0; k < j; k++) d -= H[(size_t)j * n + k] * H[(size_t)j * n + k];
    if (!(d > 0)) return -1;
    d = sqrt(d);
    H[(size_t)j * n + j] = d;
    for (int32_t i = j + 1; i < n; i++) {
      double v = H[(size_t)i * n + j];
      for (int32_t k = 0; k < j; k++) v -= H[(size_t)i * n + k] * H[(size_t)j * n + k];
      H[(size_t)i * n + j] = v / d;
    }
  }
  for (int32_t i = 0; i < n; i++) { /* L z = y */
    double v = y[i];
    for (int32_t k = 0; k < i; k++) v -= H[(size_t)i * n + k] * y[k];
    y[i] = v / H[(size_t)i * n + i];
  }
  for (int32_t i = n - 1; i >= 0; i--) { /* L^T x = z */
    double v = y[i];
    for (int32_t k = i + 1; k < n; k++) v -= H[(size_t)k * n + i] * y[k];
    y[i] = v / H[(size_t)i * n + i];
  }
  return 0;
}

static double clamp_k(double k) {
  return k < CITY_FIELD_K_MIN ? CITY_FIELD_K_MIN : k > CITY_FIELD_K_MAX ? CITY_FIELD_K_MAX : k;
}

/* The alternating fit of calibrate.h on rows f: k (ncols, in: the start,
 * out: the fit). Fills the fit's field statistics. */
static int field_solve(const frows *f, double prior, double *k, city_calib_fit *out, rs_err *e) {
  int32_t nc = f->ncols, ng = f->n_groups;
  size_t sc = (size_t)(nc > 0 ? nc : 1);
  double *H = malloc(sc * sc * sizeof *H), *y = malloc(sc * sizeof *y);
  double *tz = calloc(sc, sizeof *tz), *s = malloc((size_t)(ng > 0 ? ng : 1) * sizeof *s);
  double *num = malloc((size_t)(ng > 0 ? ng : 1) * sizeof *num);
  double *den = malloc((size_t)(ng > 0 ? ng : 1) * sizeof *den);
  int rc = 0;
  if (!H || !y || !tz || !s || !num || !den) {
    rc = rs_err_set(e, RS_ENOMEM, "calibration: out of memory for %d cell factors", (int)nc);
    goto done;
  }
  for (size_t j = 0; j < f->nnz; j++) tz[f->col[j]] += f->val[j];
  for (int32_t gi = 0; gi < ng; gi++) s[gi] = 1.0;
  int32_t it = 0;
  double moved = 0;
  while (it < CITY_CALIB_FIELD_ITERS) {
    it++;
    /* 1. the hourly scales */
    for (int32_t gi = 0; gi < ng; gi++) num[gi] = den[gi] = 0;
    for (size_t i = 0; i < f->n; i++) {
      double d = f->b[i];
      for (size_t j = f->start[i]; j < f->start[i + 1]; j++) d += k[f->col[j]] * f->val[j];
      num[f->g[i]] += f->r[i] - f->a[i];
      den[f->g[i]] += d;
    }
    for (int32_t gi = 0; gi < ng; gi++)
      if (num[gi] > 0 && den[gi] > 0) s[gi] = num[gi] / den[gi];
    /* 2. the factors: (sum_i w x x^T + prior I) k = sum_i w x y + prior */
    memset(H, 0, sc * sc * sizeof *H);
    for (int32_t c = 0; c < nc; c++) H[(size_t)c * sc + c] = prior, y[c] = prior;
    for (size_t i = 0; i < f->n; i++) {
      double sg = s[f->g[i]], w = 1.0 / (f->r[i] * f->r[i]);
      double yi = f->r[i] - f->a[i] - sg * f->b[i];
      for (size_t j = f->start[i]; j < f->start[i + 1]; j++) {
        double xj = sg * f->val[j];
        y[f->col[j]] += w * xj * yi;
        for (size_t l = f->start[i]; l < f->start[i + 1]; l++)
          H[(size_t)f->col[j] * sc + f->col[l]] += w * xj * sg * f->val[l];
      }
    }
    if (cholesky_solve(H, y, nc) != 0) {
      rc = rs_err_set(e, RS_EINVAL, "calibration: the cell factors' system is singular");
      goto done;
    }
    /* 3. mean 1 over the driving time, within bounds */
    double sk = 0, st = 0;
    for (int32_t c = 0; c < nc; c++) {
      y[c] = clamp_k(y[c]);
      sk += y[c] * tz[c];
      st += tz[c];
    }
    moved = 0;
    for (int32_t c = 0; c < nc; c++) {
      double v = clamp_k(sk > 0 ? y[c] * st / sk : y[c]);
      if (fabs(v - k[c]) > moved) moved = fabs(v - k[c]);
      k[c] = v;
    }
    if (moved <= CITY_CALIB_FIELD_TOL) break;
  }
  out->field_iters = it;
  out->field_moved = moved;
done:
  free(H);
  free(y);
  free(tz);
  free(s);
  free(num);
  free(den);
  return rc;
}

/* Sets the groups of the hourly scales: (day type, hour) cells with
 * min_trips trips each their own, every other trip one more group. */
static void field_groups(frows *f, const city_rec_set *set, int day_types, int32_t min_trips) {
  int64_t cnt[2][24] = {{0}};
  int32_t id[2][24];
  for (size_t i = 0; i < set->n; i++) {
    int64_t t = set->trips[i].t_request;
    cnt[day_types == 2 ? rs_time_weekend(t) : 0][rs_time_hour(t)]++;
  }
  int32_t ng = 0;
  for (int d = 0; d < 2; d++)
    for (int h = 0; h < 24; h++) id[d][h] = cnt[d][h] >= min_trips ? ng++ : -1;
  int32_t rest = ng++;
  for (size_t i = 0; i < set->n; i++) {
    int64_t t = set->trips[i].t_request;
    int32_t g = id[day_types == 2 ? rs_time_weekend(t) : 0][rs_time_hour(t)];
    f->g[i] = g >= 0 ? g : rest;
  }
  f->n_groups = ng;
}

/* The fitted factors into field out (on city's grid) and the fit's
 * statistics. */
static int field_store(const city_def *city, const frows *f, const double *k, city_field *out,
                       city_calib_fit *fit, rs_err *e) {
  int rc = city_def_set_field(city, out, f->cell, k, f->ncols, e);
  if (rc) return rc;
  fit->field_cells = out->n;
  city_field_range(out, &fit->field_lo, &fit->field_hi);
  return 0;
}

/* The great-circle rows: each trip's metres (detour x great circle) along
 * its line, in units of seconds at 1 m/s (the scale is 1 / speed). */
static int gc_rows(const city_def *city, const city_rec_set *set, frows *f) {
  for (size_t i = 0; i < set->n; i++) {
    const city_trip *t = &set->trips[i];
    double gc = rs_geo_haversine_r(t->plat, t->plng, t->dlat, t->dlng, city->earth_radius_m);
    f->r[i] = city_rec_secs(t);
    f->scale = gc * city->detour_factor;
    city_field_points(&f->tmp_grid, t->plat, t->plng, t->dlat, t->dlng, gc, row_visit, f);
    if (row_end(f, i) != 0) return -1;
  }
  return 0;
}

/* The network rows walk each trip's fastest route on the model's network. */
typedef struct {
  frows *f;
  const city_net *base, *net;
} route_walk;

static int route_visit(void *ctx, int32_t link) {
  route_walk *w = ctx;
  const city_net *n = w->net;
  /* the link's tail: the last v with first[v] <= link */
  int32_t lo = 0, hi = n->n_nodes - 1;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo + 1) / 2;
    if (n->first[mid] <= link) lo = mid;
    else hi = mid - 1;
  }
  int32_t v = n->head[link];
  w->f->scale = w->base->time_s[link]; /* free flow: the retimed network keeps the links */
  city_field_points(&w->f->tmp_grid, n->lat[lo], n->lng[lo], n->lat[v], n->lng[v],
                    n->length_m[link], row_visit, w->f);
  return 0;
}


static int net_rows(const city_travel *tm, const city_rec_set *set, frows *f) {
  const city_net_hubs *hubs = city_travel_net_hubs(tm);
  route_walk w = {f, city_travel_net_base(tm), city_travel_net_network(tm)};
  for (size_t i = 0; i < set->n; i++) {
    const city_trip *t = &set->trips[i];
    city_loc a, b;
    city_travel_loc(tm, t->plat, t->plng, &a);
    city_travel_loc(tm, t->dlat, t->dlng, &b);
    f->a[i] = (city_travel_net_access_m(tm, &a) + city_travel_net_access_m(tm, &b)) /
              city_def_speed(tm->city, t->t_request);
    f->r[i] = city_rec_secs(t);
    city_net_hubs_walk(hubs, a.node, b.node, route_visit, &w);
    if (row_end(f, i) != 0) return -1;
  }
  return 0;
}

/* One fit of cell factors: rows built by `build` (gc_rows or net_rows)
 * for the trips, solved, stored into out on city's grid. */
static int field_fit(const city_def *city, const city_travel *tm, const city_rec_set *set,
                     int day_types, const city_calib_opts *o, city_field *out,
                     city_calib_fit *fit, rs_err *e) {
  frows f;
  double *k = NULL;
  int rc = 0;
  if (frows_init(&f, set->n) != 0) goto oom;
  memset(&f.tmp_grid, 0, sizeof f.tmp_grid);
  if ((rc = city_def_grid(city, &f.tmp_grid, e)) != 0) goto done;
  if ((tm != NULL ? net_rows(tm, set, &f) : gc_rows(city, set, &f)) != 0) goto oom;
  if (frows_columns(&f) != 0) goto oom;
  field_groups(&f, set, day_types, o->min_trips);
  k = malloc((size_t)(f.ncols > 0 ? f.ncols : 1) * sizeof *k);
  if (k == NULL) goto oom;
  for (int32_t c = 0; c < f.ncols; c++) k[c] = 1.0;
  double prior = o->field_prior > 0 ? o->field_prior : CITY_CALIB_FIELD_PRIOR;
  if ((rc = field_solve(&f, prior, k, fit, e)) != 0) goto done;
  rc = field_store(city, &f, k, out, fit, e);
  goto done;
oom:
  rc = rs_err_set(e, RS_ENOMEM, "calibration: out of memory fitting cell factors");
done:
  free(k);
  frows_free(&f);
  return rc;
}

/* The field statistics of ff into the hourly fit's out (fit() clears it). */
static void field_stats_copy(city_calib_fit *out, const city_calib_fit *ff) {
  out->field_cells = ff->field_cells;
  out->field_lo = ff->field_cells ? ff->field_lo : 1.0;
  out->field_hi = ff->field_cells ? ff->field_hi : 1.0;
  out->field_iters = ff->field_iters;
  out->field_moved = ff->field_moved;
}

int city_calib_speeds(city_def *city, const city_rec_set *set, const city_calib_opts *o,
                      city_calib_fit *out, rs_err *e) {
  city_calib_opts dflt;
  if (o == NULL) city_calib_defaults(&dflt), o = &dflt;
  city_travel tm;
  city_field *before = malloc(sizeof *before), *field = malloc(sizeof *field);
  if (before == NULL || field == NULL) {
    free(before);
    free(field);
    return rs_err_set(e, RS_ENOMEM, "calibration: out of memory");
  }
  *before = city->cell_field;
  city_calib_fit ff;
  memset(&ff, 0, sizeof ff);
  int rc = 0;
  if (set->n == 0) {
    rc = rs_err_set(e, RS_EEMPTY, "calibration: no recorded trips to fit on (recorded "
                    "trips need a dropoff time; see how many were left out and why)");
    goto done;
  }
  if (o->field) {
    /* the fit's grid: the city's own */
    if ((rc = field_fit(city, NULL, set, 1, o, field, &ff, e)) != 0) goto done;
    city->cell_field = *field;
  } else {
    city->cell_field.n = 0;
  }
  city_travel_gc(city, &tm); /* with or without cell factors, as the city now says */
  knob kb = {&tm, city, 0, 1, {{0}}, CITY_SPEED_MIN_MPS, CITY_SPEED_MAX_MPS};
  for (int d = 0; d < 2; d++) memcpy(kb.start[d], city->speed_mps, sizeof city->speed_mps);
  rc = fit(&kb, set, o, out, e);
  if (rc) memcpy(city->speed_mps, kb.start[0], sizeof city->speed_mps);
  else field_stats_copy(out, &ff);
done:
  if (rc) city->cell_field = *before;
  free(before);
  free(field);
  return rc;
}

int city_calib_network(city_travel *tm, const city_rec_set *set, const city_calib_opts *o,
                       city_calib_fit *out, city_def *city, rs_err *e) {
  city_calib_opts dflt;
  if (o == NULL) city_calib_defaults(&dflt), o = &dflt;
  knob kb = {tm, NULL, 1, 1, {{0}}, CITY_CALIB_FACTOR_MIN, CITY_NET_FACTOR_MAX};
  if (city_travel_net_factors(tm, kb.start) < 0)
    return rs_err_set(e, RS_EINVAL, "calibration: the travel model is not a road network's");
  int both = set->n_daytype[0] >= o->min_trips && set->n_daytype[1] >= o->min_trips;
  kb.day_types = o->day_types == 1 || o->day_types == 2 ? o->day_types : both ? 2 : 1;
  double before[2][24];
  memcpy(before, kb.start, sizeof before);
  if (kb.day_types == 1) memcpy(kb.start[1], kb.start[0], sizeof kb.start[0]);
  city_field *field = malloc(sizeof *field);
  if (field == NULL) return rs_err_set(e, RS_ENOMEM, "calibration: out of memory");
  field->n = 0;
  city_calib_fit ff;
  memset(&ff, 0, sizeof ff);
  int rc = 0;
  if (set->n == 0) {
    rc = rs_err_set(e, RS_EEMPTY, "calibration: no recorded trips to fit on (recorded "
                    "trips need a dropoff time; see how many were left out and why)");
    goto done;
  }
  /* cell factors first, each round on the routes of the last; the hourly
   * factors then fit the model that drives them */
  for (int round = 0; o->field && round < CITY_CALIB_FIELD_ROUNDS; round++) {
    /* only the last round's network is the one runs will drive: cached */
    int last = round == CITY_CALIB_FIELD_ROUNDS - 1;
    if ((rc = field_fit(tm->city, tm, set, kb.day_types, o, field, &ff, e)) != 0 ||
        (rc = city_travel_net_set_field(tm, field, last, e)) != 0)
      goto done;
  }
  if (!o->field && city_travel_net_field(tm)->n > 0 &&
      (rc = city_travel_net_set_field(tm, NULL, 1, e)) != 0)
    goto done;
  if ((rc = fit(&kb, set, o, out, e)) != 0) {
    city_travel_net_set_factors(tm, before, NULL);
    goto done;
  }
  field_stats_copy(out, &ff);
  if (city != NULL) {
    memcpy(city->net_factors, out->value, sizeof out->value);
    city->net_have_factors = 1;
    city->net_factors_hash = city_travel_net_base(tm)->hash;
    city->net_field = *city_travel_net_field(tm);
  }
done:
  free(field);
  return rc;
}

int city_calib_open_network(city_def *city, const char *path, const city_net_model_opts *o,
                            city_travel *out, int *dropped, rs_err *e) {
  memset(out, 0, sizeof *out);
  *dropped = 0;
  city_net *net;
  int rc = city_net_load(path, &net, e);
  if (rc) return rc;
  if (city->net_have_factors && city->net_factors_hash != 0 &&
      city->net_factors_hash != net->hash) {
    city->net_have_factors = 0;
    city->net_factors_hash = 0;
    city->net_field.n = 0;
    *dropped = 1;
  }
  city_net_model_opts mo;
  if (o != NULL) mo = *o;
  else city_net_model_defaults(&mo);
  mo.no_field = 1; /* the fit starts from free flow */
  return city_travel_net(city, net, &mo, out, e);
}

int city_calib_save(const city_def *city, const char *path, rs_err *e) {
  cJSON *root = cJSON_CreateObject();
  char *text = NULL;
  if (root == NULL || city_def_to_json(city, root) != 0 || (text = cJSON_Print(root)) == NULL) {
    cJSON_Delete(root);
    return rs_err_set(e, RS_ENOMEM, "%s: out of memory writing the city", path);
  }
  cJSON_Delete(root);
  /* a temporary name beside the file, renamed into place */
  size_t len = strlen(path) + 16;
  char *tmp = malloc(len);
  int rc = 0;
  if (tmp == NULL) {
    free(text);
    return rs_err_set(e, RS_ENOMEM, "%s: out of memory writing the city", path);
  }
  snprintf(tmp, len, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    rc = rs_err_set(e, RS_EIO, "%s: %s", tmp, strerror(errno));
  } else {
    int bad = fputs(text, f) == EOF || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    if (bad) rc = rs_err_set(e, RS_EIO, "%s: write error", tmp);
    else if (rename(tmp, path) != 0) rc = rs_err_set(e, RS_EIO, "%s: %s", path, strerror(errno));
    if (rc) remove(tmp);
  }
  free(tmp);
  free(text);
  return rc;
}

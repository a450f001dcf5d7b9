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

#include "base/rs_time.h"
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

int city_calib_speeds(city_def *city, const city_rec_set *set, const city_calib_opts *o,
                      city_calib_fit *out, rs_err *e) {
  city_calib_opts dflt;
  if (o == NULL) city_calib_defaults(&dflt), o = &dflt;
  city_travel tm;
  city_travel_gc(city, &tm);
  knob kb = {&tm, city, 0, 1, {{0}}, CITY_SPEED_MIN_MPS, CITY_SPEED_MAX_MPS};
  for (int d = 0; d < 2; d++) memcpy(kb.start[d], city->speed_mps, sizeof city->speed_mps);
  int rc = fit(&kb, set, o, out, e);
  if (rc) memcpy(city->speed_mps, kb.start[0], sizeof city->speed_mps);
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
  int rc = fit(&kb, set, o, out, e);
  if (rc) {
    city_travel_net_set_factors(tm, before, NULL);
    return rc;
  }
  if (city != NULL) {
    memcpy(city->net_factors, out->value, sizeof out->value);
    city->net_have_factors = 1;
    city->net_factors_hash = city_travel_net_network(tm)->hash;
  }
  return 0;
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
    *dropped = 1;
  }
  return city_travel_net(city, net, o, out, e);
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

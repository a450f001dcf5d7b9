/*
 * validate: the statistics of a model against the record; see validate.h.
 *
 * Every trip is driven once; its modelled and recorded values are kept in
 * one array, and each group's statistics are one pass over its members
 * (sums in trip order, so a report is the same bits on every run) plus a
 * sort of their percentage errors for the median.
 */
#include "city_data/validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"

static const double band_edges[CITY_VALID_BANDS - 2] = CITY_VALID_BAND_EDGES_M;
static const char *const band_names[CITY_VALID_BANDS] = {"<1 km",  "1-2 km", "2-4 km",
                                                          "4-8 km", ">=8 km", "no distance"};
static const char *const quantity_names[CITY_VALID_N] = {"duration", "distance", "fare"};

int city_valid_band(double metres) {
  if (!(metres >= 0)) return CITY_VALID_BANDS - 1;
  int b = 0;
  while (b < CITY_VALID_BANDS - 2 && metres >= band_edges[b]) b++;
  return b;
}

const char *city_valid_band_name(int band) {
  return band >= 0 && band < CITY_VALID_BANDS ? band_names[band] : "?";
}

const char *city_valid_quantity_name(int q) {
  return q >= 0 && q < CITY_VALID_N ? quantity_names[q] : "?";
}

void city_valid_model(const city_travel *tm, const city_trip *t, double out[CITY_VALID_N]) {
  city_loc a, b;
  city_leg leg;
  city_travel_loc(tm, t->plat, t->plng, &a);
  city_travel_loc(tm, t->dlat, t->dlng, &b);
  city_travel_leg(tm, &a, &b, t->t_request, &leg);
  out[CITY_VALID_DURATION] = leg.secs;
  out[CITY_VALID_DISTANCE] = leg.metres;
  out[CITY_VALID_FARE] = city_travel_fare(tm, &leg, t->t_request);
}

void city_valid_recorded(const city_trip *t, double out[CITY_VALID_N]) {
  out[CITY_VALID_DURATION] = t->t_dropoff >= 0 ? (double)(t->t_dropoff - t->t_request) : NAN;
  out[CITY_VALID_DISTANCE] = isfinite(t->distance_m) ? t->distance_m : NAN;
  out[CITY_VALID_FARE] = isfinite(t->fare) && t->fare > 0 ? t->fare : NAN;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The statistics of quantity q over the trips i with in(i). */
typedef struct {
  const double (*mod)[CITY_VALID_N];
  const double (*rec)[CITY_VALID_N];
  const int8_t *hour, *band;
  size_t n;
  double *ape;        /* scratch, n */
} rows;

static void stat_of(const rows *r, int q, int by_hour, int key, city_valid_stat *s) {
  memset(s, 0, sizeof *s);
  double sm = 0, sr = 0, sabs = 0, sape = 0;
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (by_hour == 1 && r->hour[i] != key) continue;
    if (by_hour == 0 && r->band[i] != key) continue;
    double m = r->mod[i][q], v = r->rec[i][q];
    if (!(v > 0) || !isfinite(m)) continue;
    sm += m;
    sr += v;
    sabs += fabs(m - v);
    r->ape[k] = 100.0 * fabs(m - v) / v;
    sape += r->ape[k];
    k++;
  }
  s->n = (int64_t)k;
  if (k == 0) return;
  s->rec_mean = sr / (double)k;
  s->mod_mean = sm / (double)k;
  s->bias_pct = 100.0 * (sm - sr) / sr;
  s->mae = sabs / (double)k;
  s->mape = sape / (double)k;
  qsort(r->ape, k, sizeof *r->ape, cmp_double);
  s->mdape = k % 2 ? r->ape[k / 2] : 0.5 * (r->ape[k / 2 - 1] + r->ape[k / 2]);
}

int city_valid_run(const city_travel *tm, const city_rec_set *set, city_valid_report *out,
                   rs_err *e) {
  memset(out, 0, sizeof *out);
  size_t n = set->n, m = n ? n : 1;
  double(*mod)[CITY_VALID_N] = malloc(m * sizeof *mod);
  double(*rec)[CITY_VALID_N] = malloc(m * sizeof *rec);
  int8_t *hour = malloc(m), *band = malloc(m);
  double *ape = malloc(m * sizeof *ape);
  int rc = 0;
  if (mod == NULL || rec == NULL || hour == NULL || band == NULL || ape == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "validation: out of memory for %zu trips", n);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const city_trip *t = &set->trips[i];
    city_valid_model(tm, t, mod[i]);
    city_valid_recorded(t, rec[i]);
    hour[i] = (int8_t)rs_time_hour(t->t_request);
    band[i] = (int8_t)city_valid_band(t->distance_m);
  }
  rows r = {(const double(*)[CITY_VALID_N])mod, (const double(*)[CITY_VALID_N])rec, hour, band,
            n, ape};
  for (int q = 0; q < CITY_VALID_N; q++) {
    for (int h = 0; h < 24; h++) stat_of(&r, q, 1, h, &out->hour[h][q]);
    for (int b = 0; b < CITY_VALID_BANDS; b++) stat_of(&r, q, 0, b, &out->band[b][q]);
    stat_of(&r, q, -1, 0, &out->all[q]);
  }
done:
  free(mod);
  free(rec);
  free(hour);
  free(band);
  free(ape);
  return rc;
}

/*
 * synth: one seeded day of synthetic demand (see synth.h).
 *
 * The model, all in the city's local projection (metres, origin at the box
 * centre):
 * - When: a 24-value weekday curve (relative orders per hour) with a morning
 *   peak at 08-09 h, an evening peak at 18-19 h and a trough at 03-05 h about
 *   twelve times lower. Each order draws its hour from the curve and its
 *   second uniformly inside the hour. Counting the draws per second of the
 *   day (86,400 counters) and emitting second by second sorts them in O(n)
 *   with no comparison sort, so ids 1..n follow (t_request, id) order.
 * - Where from: a mixture of hotspots placed at fixed fractions of the box
 *   (so any city definition works), each a circular Gaussian, plus a uniform
 *   background. Each hotspot's weight is base + am * morning(h) + pm *
 *   evening(h) + nt * night(h), with Gaussian bumps in the hour of day:
 *   homes send riders out in the morning, offices in the evening, downtown
 *   at night.
 * - How far: a log-normal (median CITY_SYNTH_MEDIAN_M, shape
 *   CITY_SYNTH_SIGMA), kept within [CITY_SYNTH_MIN_M, CITY_SYNTH_MAX_M]; the
 *   2016 Manhattan TLC trips have a median close to 2.5 km.
 * - Where to: with probability CITY_SYNTH_BIAS the heading points at a
 *   hotspot drawn with destination weights (the origin weights with morning
 *   and evening swapped, so commutes go both ways) plus Gaussian noise;
 *   otherwise it is uniform. A destination beyond the box is mirrored back
 *   in, which keeps the trip's length, then clamped for rounding.
 * Dropoff time, fare and distance are left unknown (-1, NAN, NAN).
 *
 * Determinism: every draw comes from one PCG32 stream (run seed,
 * PCG_STREAM_DEMAND) in a fixed order: first all n request seconds, then for
 * each order in emission order its origin, length and heading. The day only
 * shifts the times.
 *
 * Cost: O(n + 86,400) time, one array of n trips (owned by the caller) and a
 * temporary 86,400-counter table; 400,000 orders take tens of milliseconds.
 */
#include "city_data/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/pcg32.h"

#define SYNTH_PI 3.14159265358979323846
#define CITY_SYNTH_MEDIAN_M 2500.0 /* median trip, great-circle metres */
#define CITY_SYNTH_SIGMA 0.65      /* log-normal shape: mean ~3.1 km */
#define CITY_SYNTH_MIN_M 200.0     /* shorter rides are walked */
#define CITY_SYNTH_MAX_M 20000.0   /* cap of the log-normal's long tail */
#define CITY_SYNTH_BIAS 0.7        /* share of trips heading to a hotspot */
#define CITY_SYNTH_HEADING_SD 0.5  /* radians of noise on that heading */
#define CITY_SYNTH_MAX_ORDERS 50000000 /* ~4 GB of trips: a typo, not a day */

/* Relative orders per local hour on a weekday. */
static const double synth_hour_curve[24] = {
    0.9, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.6, 3.6, 3.3, 2.4, 2.2,
    2.3, 2.2, 2.2, 2.4, 2.9, 3.4, 3.8, 3.5, 2.8, 2.3, 1.8, 1.3};

typedef struct {
  double fx, fy;    /* position as fractions of the box, west/south = 0 */
  double sigma_m;   /* spread; <= 0 means uniform over the box */
  double base;      /* weight at any hour */
  double am, pm, nt;/* extra origin weight at the morning / evening peak and
                       at night */
} synth_spot;

static const synth_spot synth_spots[] = {
    {0.50, 0.50, 1200.0, 1.0, 0.5, 0.8, 1.2},  /* downtown */
    {0.62, 0.60, 900.0, 0.6, 0.2, 1.6, 0.0},   /* business district */
    {0.42, 0.55, 350.0, 0.4, 0.6, 0.6, 0.1},   /* central station */
    {0.88, 0.14, 500.0, 0.3, 0.1, 0.2, 0.2},   /* airport-like far spot */
    {0.22, 0.76, 2500.0, 0.5, 1.6, 0.2, 0.3},  /* residential north-west */
    {0.72, 0.25, 2500.0, 0.5, 1.4, 0.2, 0.2},  /* residential south-east */
    {0.50, 0.50, 0.0, 0.6, 0.0, 0.0, 0.0},     /* background, uniform */
};
#define SYNTH_NSPOTS ((int)(sizeof synth_spots / sizeof synth_spots[0]))

/* Gaussian bump of width w hours around c on the 24 h circle. */
static double hour_bump(double h, double c, double w) {
  double d = fabs(h - c);
  if (d > 12.0) d = 24.0 - d;
  return exp(-0.5 * d * d / (w * w));
}

typedef struct {
  double cum_o[24][SYNTH_NSPOTS]; /* cumulative origin weights by hour */
  double cum_d[24][SYNTH_NSPOTS]; /* cumulative destination weights */
  double sx[SYNTH_NSPOTS], sy[SYNTH_NSPOTS]; /* spot centres, metres */
  double xmin, xmax, ymin, ymax;  /* box in the projection */
} synth_model;

static void model_init(synth_model *m, const city_grid *g,
                       const city_def *c) {
  rs_proj_forward(&g->proj, c->min_lat, c->min_lng, &m->xmin, &m->ymin);
  rs_proj_forward(&g->proj, c->max_lat, c->max_lng, &m->xmax, &m->ymax);
  for (int i = 0; i < SYNTH_NSPOTS; i++) {
    m->sx[i] = m->xmin + synth_spots[i].fx * (m->xmax - m->xmin);
    m->sy[i] = m->ymin + synth_spots[i].fy * (m->ymax - m->ymin);
  }
  for (int h = 0; h < 24; h++) {
    double mid = h + 0.5;
    double am = hour_bump(mid, 8.5, 1.5), pm = hour_bump(mid, 18.5, 1.5);
    double nt = hour_bump(mid, 23.5, 2.5);
    double so = 0, sd = 0;
    for (int i = 0; i < SYNTH_NSPOTS; i++) {
      const synth_spot *s = &synth_spots[i];
      so += s->base + s->am * am + s->pm * pm + s->nt * nt;
      sd += s->base + s->pm * am + s->am * pm + s->nt * nt;
      m->cum_o[h][i] = so;
      m->cum_d[h][i] = sd;
    }
  }
}

static int pick(const double *cum, pcg32 *rng) {
  double u = pcg32_double(rng) * cum[SYNTH_NSPOTS - 1];
  for (int i = 0; i < SYNTH_NSPOTS - 1; i++)
    if (u < cum[i]) return i;
  return SYNTH_NSPOTS - 1;
}

/* Standard normal by Box-Muller (one of the pair; simpler than caching the
 * other and the cost is negligible here). */
static double normal(pcg32 *rng) {
  double u1 = pcg32_double(rng), u2 = pcg32_double(rng);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * SYNTH_PI * u2);
}

static double clampd(double v, double lo, double hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Folds v back into [lo, hi] as a mirror would, then clamps. */
static double mirror(double v, double lo, double hi) {
  if (v > hi) v = 2.0 * hi - v;
  if (v < lo) v = 2.0 * lo - v;
  return clampd(v, lo, hi);
}

static void spot_point(const synth_model *m, int i, pcg32 *rng, double *x,
                       double *y) {
  const synth_spot *s = &synth_spots[i];
  if (s->sigma_m <= 0.0) {
    *x = m->xmin + pcg32_double(rng) * (m->xmax - m->xmin);
    *y = m->ymin + pcg32_double(rng) * (m->ymax - m->ymin);
  } else {
    *x = clampd(m->sx[i] + s->sigma_m * normal(rng), m->xmin, m->xmax);
    *y = clampd(m->sy[i] + s->sigma_m * normal(rng), m->ymin, m->ymax);
  }
}

/* Projection coordinates to a point inside the box and its cell. */
static void to_point(const city_grid *g, const city_def *c, double x,
                     double y, double *lat, double *lng, int32_t *cell) {
  rs_proj_inverse(&g->proj, x, y, lat, lng);
  *lat = clampd(*lat, c->min_lat, c->max_lat);
  *lng = clampd(*lng, c->min_lng, c->max_lng);
  *cell = city_grid_point_index(g, *lat, *lng);
}

static void make_trip(const synth_model *m, const city_grid *g,
                      const city_def *c, int hour, pcg32 *rng, city_trip *t) {
  double ox, oy;
  spot_point(m, pick(m->cum_o[hour], rng), rng, &ox, &oy);
  double len = CITY_SYNTH_MEDIAN_M * exp(CITY_SYNTH_SIGMA * normal(rng));
  len = clampd(len, CITY_SYNTH_MIN_M, CITY_SYNTH_MAX_M);
  double heading;
  if (pcg32_double(rng) < CITY_SYNTH_BIAS) {
    int j = pick(m->cum_d[hour], rng);
    double tx, ty;
    spot_point(m, j, rng, &tx, &ty);
    heading = atan2(ty - oy, tx - ox) + CITY_SYNTH_HEADING_SD * normal(rng);
  } else {
    heading = 2.0 * SYNTH_PI * pcg32_double(rng);
  }
  double dx = mirror(ox + len * cos(heading), m->xmin, m->xmax);
  double dy = mirror(oy + len * sin(heading), m->ymin, m->ymax);
  to_point(g, c, ox, oy, &t->plat, &t->plng, &t->pcell);
  to_point(g, c, dx, dy, &t->dlat, &t->dlng, &t->dcell);
  t->t_dropoff = -1;
  t->fare = NAN;
  t->distance_m = NAN;
  t->source_id = -1;
}

int city_synth_generate(const city_def *city, const city_synth_opts *o,
                        city_trip **out, size_t *n, rs_err *e) {
  if (city == NULL || o == NULL || out == NULL || n == NULL)
    return rs_err_set(e, RS_EINVAL, "synth: missing city or options");
  if (o->n_orders == 0 || o->n_orders > CITY_SYNTH_MAX_ORDERS)
    return rs_err_set(e, RS_EINVAL, "synth: orders: %zu is not in 1..%d",
                      o->n_orders, CITY_SYNTH_MAX_ORDERS);
  city_grid g;
  int rc = city_def_grid(city, &g, e);
  if (rc != 0) return rc;

  city_trip *trips = malloc(o->n_orders * sizeof *trips);
  uint32_t *per_sec = calloc(86400, sizeof *per_sec);
  synth_model *m = malloc(sizeof *m);
  if (trips == NULL || per_sec == NULL || m == NULL) {
    free(trips);
    free(per_sec);
    free(m);
    return rs_err_set(e, RS_ENOMEM, "synth: out of memory for %zu orders",
                      o->n_orders);
  }
  model_init(m, &g, city);

  pcg32 rng;
  pcg32_stream(&rng, o->seed, PCG_STREAM_DEMAND);
  double cum[24], acc = 0;
  for (int h = 0; h < 24; h++) cum[h] = acc += synth_hour_curve[h];
  for (size_t i = 0; i < o->n_orders; i++) {
    double u = pcg32_double(&rng) * acc;
    int h = 0;
    while (h < 23 && u >= cum[h]) h++;
    per_sec[h * 3600 + (int)pcg32_bounded(&rng, 3600)]++;
  }

  size_t k = 0;
  for (int s = 0; s < 86400; s++)
    for (uint32_t j = 0; j < per_sec[s]; j++, k++) {
      city_trip *t = &trips[k];
      t->id = (int64_t)k + 1;
      t->t_request = o->day + s;
      make_trip(m, &g, city, s / 3600, &rng, t);
    }
  free(per_sec);
  free(m);
  *out = trips;
  *n = k;
  return 0;
}

int city_synth_to_store(city_store *st, const city_def *city,
                        const city_synth_opts *o, rs_err *e) {
  city_trip *trips = NULL;
  size_t n = 0;
  int rc = city_synth_generate(city, o, &trips, &n, e);
  if (rc != 0) return rc;
  char source[64];
  snprintf(source, sizeof source, "synthetic:%llu",
           (unsigned long long)o->seed);
  rc = city_store_import_begin(st, source, "synthetic", e);
  if (rc == 0) {
    for (size_t i = 0; rc == 0 && i < n; i++)
      rc = city_store_import_trip(st, &trips[i], (int64_t)i + 1, e);
    if (rc == 0) rc = city_store_import_commit(st, (int64_t)n, 0, e);
    /* A failed commit may leave the transaction open: roll it back too. */
    if (rc != 0) city_store_import_abort(st);
  }
  free(trips);
  return rc;
}

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
 * A city with a service area (area.h) gets its demand inside it. The spots
 * are laid over the bounds of the area's first polygon (its main one:
 * Manhattan island, not the airports) and a spot that falls outside moves
 * to the nearest cell centre inside the area. Origins are drawn by
 * rejection: a spot's Gaussian is redrawn until it lands inside (its centre
 * after SYNTH_TRIES misses); the uniform background picks a cell in service
 * and a point of its hexagon until one is inside. A destination outside
 * the area gets a new heading for the same length (so lengths keep their
 * distribution where the area's shape allows), a new length every
 * SYNTH_HEADINGS headings, and after SYNTH_TRIES a uniform point of the
 * area. The last fallback of all is a vertex of the area, on its boundary
 * and so inside: every trip starts and ends in the area, whatever its
 * shape. Without an area the box is the area, as the mirror keeps it.
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
#define SYNTH_TRIES 256    /* draws of a point inside the service area before
                              the fallback (a spot's centre, a vertex) */
#define SYNTH_HEADINGS 16  /* headings tried per length for an end inside it */

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
  const city_def *city;
  const city_grid *grid;
  int has_area;                   /* the city has a service area polygon */
  int32_t *cells;                 /* with an area: the cells in service */
  int32_t n_cells;                /* ... how many */
  double ax, ay;                  /* with an area: a point of it (a vertex) */
} synth_model;

/* Whether a point of the projection is in the service area. */
static int served(const synth_model *m, double x, double y) {
  double lat, lng;
  rs_proj_inverse(&m->grid->proj, x, y, &lat, &lng);
  return city_def_serves(m->city, lat, lng);
}

/* The spots' frame with an area: the bounds of its first polygon, the main
 * one by the format's convention (Manhattan island, not its airports). */
static void area_frame(const synth_model *m, double *x0, double *y0, double *x1, double *y1) {
  const city_area *a = &m->city->area;
  *x0 = *y0 = INFINITY;
  *x1 = *y1 = -INFINITY;
  for (int32_t r = 0; r < a->n_rings && a->ring_polygon[r] == 0; r++)
    for (int32_t i = a->ring_start[r]; i < a->ring_start[r + 1]; i++) {
      double lat, lng, x, y;
      city_area_point(a, i, &lat, &lng);
      rs_proj_forward(&m->grid->proj, lat, lng, &x, &y);
      *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
    }
}

/* Moves a point of the projection into the service area: to the nearest
 * centre of a cell in service that lies inside it, else to a vertex of the
 * area (on its boundary, hence inside). */
static void snap_inside(const synth_model *m, double *x, double *y) {
  if (served(m, *x, *y)) return;
  double best = INFINITY, bx = m->ax, by = m->ay;
  for (int32_t k = 0; k < m->n_cells; k++) {
    double lat, lng, cx, cy;
    city_grid_center(m->grid, city_grid_hex(m->grid, m->cells[k]), &lat, &lng);
    if (!city_def_serves(m->city, lat, lng)) continue;
    rs_proj_forward(&m->grid->proj, lat, lng, &cx, &cy);
    double d2 = (cx - *x) * (cx - *x) + (cy - *y) * (cy - *y);
    if (d2 < best) best = d2, bx = cx, by = cy;
  }
  *x = bx;
  *y = by;
}

/* Lays the spots; with a service area also lists its cells (RS_ENOMEM). */
static int model_init(synth_model *m, const city_grid *g, const city_def *c, rs_err *e) {
  rs_proj_forward(&g->proj, c->min_lat, c->min_lng, &m->xmin, &m->ymin);
  rs_proj_forward(&g->proj, c->max_lat, c->max_lng, &m->xmax, &m->ymax);
  m->city = c;
  m->grid = g;
  m->has_area = c->area.n_rings > 0;
  m->cells = NULL;
  m->n_cells = 0;
  double fx0 = m->xmin, fy0 = m->ymin, fx1 = m->xmax, fy1 = m->ymax;
  if (m->has_area) {
    uint8_t *flags = malloc((size_t)g->n_cells);
    m->cells = malloc((size_t)g->n_cells * sizeof *m->cells);
    if (flags == NULL || m->cells == NULL) {
      free(flags);
      free(m->cells);
      m->cells = NULL;
      return rs_err_set(e, RS_ENOMEM, "synth: out of memory for %d cells", g->n_cells);
    }
    city_def_service_cells(c, g, flags);
    for (int32_t k = 0; k < g->n_cells; k++)
      if (flags[k]) m->cells[m->n_cells++] = k;
    free(flags);
    double lat, lng;
    city_area_point(&c->area, 0, &lat, &lng);
    rs_proj_forward(&g->proj, lat, lng, &m->ax, &m->ay);
    area_frame(m, &fx0, &fy0, &fx1, &fy1);
  }
  for (int i = 0; i < SYNTH_NSPOTS; i++) {
    m->sx[i] = fx0 + synth_spots[i].fx * (fx1 - fx0);
    m->sy[i] = fy0 + synth_spots[i].fy * (fy1 - fy0);
    if (m->has_area) snap_inside(m, &m->sx[i], &m->sy[i]);
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
  return 0;
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

/* A uniform point of the service area: a uniform cell in service (cells
 * have equal areas), a uniform point of its hexagon's box, kept when it is
 * in the cell and in the area. The area lies in the union of its cells, so
 * the kept points are uniform over it. After SYNTH_TRIES misses (an area
 * that fills little of its cells), a vertex of the area. */
static void area_uniform(const synth_model *m, pcg32 *rng, double *x, double *y) {
  const double hw = 0.8660254037844386 * m->grid->edge_m, hh = m->grid->edge_m;
  for (int t = 0; t < SYNTH_TRIES; t++) {
    int32_t c = m->cells[pcg32_bounded(rng, (uint32_t)m->n_cells)];
    double lat, lng, cx, cy;
    city_grid_center(m->grid, city_grid_hex(m->grid, c), &lat, &lng);
    rs_proj_forward(&m->grid->proj, lat, lng, &cx, &cy);
    double px = cx + (2 * pcg32_double(rng) - 1) * hw, py = cy + (2 * pcg32_double(rng) - 1) * hh;
    rs_proj_inverse(&m->grid->proj, px, py, &lat, &lng);
    if (city_grid_point_index(m->grid, lat, lng) == c && city_def_serves(m->city, lat, lng)) {
      *x = px;
      *y = py;
      return;
    }
  }
  *x = m->ax;
  *y = m->ay;
}

/* A point of spot i (of the area when `inside`: an origin, not a heading's
 * aim). */
static void spot_point(const synth_model *m, int i, int inside, pcg32 *rng, double *x,
                       double *y) {
  const synth_spot *s = &synth_spots[i];
  if (m->has_area && !inside && s->sigma_m > 0.0) {
    *x = m->sx[i] + s->sigma_m * normal(rng);
    *y = m->sy[i] + s->sigma_m * normal(rng);
  } else if (m->has_area) {
    /* inside the area: uniform over it, or the spot's Gaussian redrawn
     * until it lands inside (the centre itself is inside) */
    if (s->sigma_m <= 0.0) {
      area_uniform(m, rng, x, y);
      return;
    }
    for (int t = 0; t < SYNTH_TRIES; t++) {
      *x = m->sx[i] + s->sigma_m * normal(rng);
      *y = m->sy[i] + s->sigma_m * normal(rng);
      if (served(m, *x, *y)) return;
    }
    *x = m->sx[i];
    *y = m->sy[i];
  } else if (s->sigma_m <= 0.0) {
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

/* A trip's length, metres. */
static double trip_length(pcg32 *rng) {
  double len = CITY_SYNTH_MEDIAN_M * exp(CITY_SYNTH_SIGMA * normal(rng));
  return clampd(len, CITY_SYNTH_MIN_M, CITY_SYNTH_MAX_M);
}

/* A trip's heading from (ox, oy), radians. */
static double trip_heading(const synth_model *m, int hour, double ox, double oy, pcg32 *rng) {
  if (pcg32_double(rng) < CITY_SYNTH_BIAS) {
    int j = pick(m->cum_d[hour], rng);
    double tx, ty;
    spot_point(m, j, 0, rng, &tx, &ty);
    return atan2(ty - oy, tx - ox) + CITY_SYNTH_HEADING_SD * normal(rng);
  }
  return 2.0 * SYNTH_PI * pcg32_double(rng);
}

static void make_trip(const synth_model *m, const city_grid *g,
                      const city_def *c, int hour, pcg32 *rng, city_trip *t) {
  double ox, oy;
  spot_point(m, pick(m->cum_o[hour], rng), 1, rng, &ox, &oy);
  double len = trip_length(rng);
  double heading = trip_heading(m, hour, ox, oy, rng);
  double dx, dy;
  if (!m->has_area) {
    dx = mirror(ox + len * cos(heading), m->xmin, m->xmax);
    dy = mirror(oy + len * sin(heading), m->ymin, m->ymax);
  } else {
    /* The end must be in the area: new headings for the same length first
     * (so that the lengths keep their distribution where the area allows
     * it), a new length every SYNTH_HEADINGS tries, and after SYNTH_TRIES
     * a uniform point of the area. */
    int tries = 0;
    for (;;) {
      dx = ox + len * cos(heading);
      dy = oy + len * sin(heading);
      if (served(m, dx, dy)) break;
      if (++tries == SYNTH_TRIES) {
        area_uniform(m, rng, &dx, &dy);
        break;
      }
      if (tries % SYNTH_HEADINGS == 0) len = trip_length(rng);
      heading = trip_heading(m, hour, ox, oy, rng);
    }
  }
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
  if (trips == NULL || per_sec == NULL || m == NULL ||
      (rc = model_init(m, &g, city, e)) != 0) {
    free(trips);
    free(per_sec);
    free(m);
    return rc != 0 ? rc : rs_err_set(e, RS_ENOMEM, "synth: out of memory for %zu orders",
                                     o->n_orders);
  }

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
  free(m->cells);
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

/*
 * synth: one seeded day of synthetic demand (see synth.h).
 *
 * The model, all in the city's local projection (metres, origin at the box
 * centre), is a table of places and a table of trip purposes:
 * - Places (synth_places): a downtown, a business district, a central
 *   station, an airport, three residential districts (circular Gaussians
 *   laid at fixed fractions of the box, so any city definition works) and
 *   a uniform background. Each holds some amount of four roles: homes,
 *   work, play and gateways.
 * - Purposes (synth_purposes): commuting (home -> work), an evening out
 *   (home -> play), errands (within one place: homes, work and play mixed)
 *   and travel (anywhere -> a gateway). Each has an out leg and the
 *   way back, with the same number of trips over the day, each leg's trips
 *   spread over the hours as a Gaussian bump around its busiest hour (8:18
 *   and 18:00 for commuting, 20:00 and 23:36 for an evening out, midday for
 *   errands and travel), a floor spread evenly, and a `reverse` share timed
 *   as the other leg (people commuting against the flow).
 * - When: the hour weights are the sum of the legs'. Each order draws its
 *   hour from them and its second uniformly inside the hour: a morning peak
 *   at 08-09 h, an evening peak at 17-19 h, a midday plateau and a trough
 *   at 03-04 h about ten times lower than the evening peak. Counting the draws per second of the
 *   day (86,400 counters) and emitting second by second sorts them in O(n)
 *   with no comparison sort, so ids 1..n follow (t_request, id) order.
 * - Where: an order of hour h draws a leg by the legs' weights at h, then
 *   its two ends: each a point of a place drawn by its weight in the leg's
 *   role (errands: both ends of one place, so that they stay local and cost
 *   few draws). Ends closer than CITY_SYNTH_MIN_M are walked: both are
 *   drawn again. A pair r metres apart is kept with probability exp(-r / decay),
 *   else both ends are drawn again; each purpose's decay is fitted to the
 *   city (fit_decays: on SYNTH_FIT_PAIRS pairs, by bisection) so that its
 *   trips have the purpose's median length. The median over all trips is
 *   close to 2.5 km, that of the 2016 Manhattan TLC trips, on the synthetic
 *   city and on Manhattan alike.
 * Why pairs and legs. The rule that keeps the city in balance: a leg's
 *   pairs and its way back's are drawn the same way, mirror images of each
 *   other, so over the day every place receives as many dropoffs as it
 *   sends pickups, and errands and travel are balanced at every hour.
 *   Rejected: the generator this replaced drew an origin from hourly
 *   hotspot weights and sent the rider a log-normal length in the
 *   direction of a hotspot, which smeared the dropoffs around each hotspot
 *   while its pickups stayed concentrated: of 100,000 trips, the central
 *   4 km square sent 34,000 pickups and received 21,000 dropoffs, the
 *   airport's square 8,300 and 3,800, and the squares around them gained
 *   what they lost. A fleet that stays where its last rider left it drained
 *   out of the centre: with 1,600 drivers idle in the outskirts, 2,200
 *   orders an hour expired downtown in the evening peak.
 * Dropoff time, fare and distance are left unknown (-1, NAN, NAN).
 *
 * A city with a service area (area.h) gets its demand inside it. The places
 * are laid over the bounds of the area's first polygon (its main one:
 * Manhattan island, not the airports) and a place whose centre falls
 * outside moves to the nearest cell centre inside the area. Points are
 * drawn by rejection: a place's Gaussian is redrawn until it lands inside
 * (its centre after SYNTH_TRIES misses); the uniform background picks a
 * cell in service and a point of its hexagon until one is inside, and a
 * vertex of the area (on its boundary, so inside) is its last fallback.
 * Every trip therefore starts and ends in the area, whatever its shape.
 * Without an area the box is the area: Gaussians are folded back into it at
 * its edges.
 *
 * Determinism: every draw comes from one PCG32 stream (run seed,
 * PCG_STREAM_DEMAND) in a fixed order: the fitting pairs, all n request
 * seconds, then for each order in emission order its leg and its pairs.
 * The day only shifts the times.
 *
 * Cost: O(n + 86,400) time (3.6 pairs of ends drawn per order on the
 * synthetic city), one array of n trips (owned by the caller) and a
 * temporary 86,400-counter table; 400,000 orders take about 0.35 s of CPU
 * (-O2). Rejected: pairs of errands from any place to any place, which drew
 * eleven pairs per errand for its distance decay, twice the time.
 */
#include "city_data/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_geo.h"
#include "base/pcg32.h"

#define CITY_SYNTH_MIN_M 200.0     /* shorter rides are walked */
#define CITY_SYNTH_MAX_ORDERS 50000000 /* ~4 GB of trips: a typo, not a day */
#define SYNTH_TRIES 64     /* draws of a point inside the service area, or of
                              a pair of ends, before the fallback */
#define SYNTH_FIT_PAIRS 2000 /* pairs drawn per purpose to fit its decay */

/* What a place holds, the roles a trip's ends take. ROLE_ANY is a mix of
 * homes, work and play (errands go from anywhere to anywhere). */
enum { ROLE_HOME = 0, ROLE_WORK, ROLE_PLAY, ROLE_GATE, SYNTH_NROLES, ROLE_ANY = SYNTH_NROLES };

typedef struct {
  double fx, fy;       /* centre, fractions of the frame (west/south = 0) */
  double sigma_m;      /* spread of a circular Gaussian; <= 0: uniform */
  double role[SYNTH_NROLES]; /* how much home, work, play and gateway it holds */
} synth_place;

static const synth_place synth_places[] = {
    /*                          home  work  play  gate */
    {0.50, 0.50, 1200.0, {0.8, 3.0, 3.0, 0.0}},   /* downtown */
    {0.60, 0.58, 900.0, {0.2, 2.5, 0.6, 0.0}},    /* business district */
    {0.44, 0.54, 300.0, {0.0, 0.0, 0.0, 1.0}},    /* central station */
    {0.80, 0.22, 500.0, {0.0, 0.0, 0.0, 0.5}},    /* airport */
    {0.32, 0.68, 2000.0, {3.0, 0.3, 0.3, 0.0}},   /* homes, north-west */
    {0.66, 0.34, 2000.0, {3.0, 0.3, 0.3, 0.0}},   /* homes, south-east */
    {0.70, 0.70, 1800.0, {2.0, 0.3, 0.3, 0.0}},   /* homes, north-east */
    {0.50, 0.50, 0.0, {1.2, 0.4, 0.4, 0.0}},      /* everywhere else */
};
#define SYNTH_NPLACES ((int)(sizeof synth_places / sizeof synth_places[0]))

/* A trip purpose: an out leg from one role to another and the way back, the
 * same number of trips each way over the day. */
typedef struct {
  int from, to;        /* ROLE_* of the out leg's origin and destination */
  double share;        /* of the day's trips, both legs together */
  double out_h, back_h;/* the legs' busiest hours (centre of a bump) */
  double width_h;      /* the bumps' spread, hours */
  double floor;        /* share of each leg spread evenly over the day */
  double reverse;      /* share of each leg timed as the other leg (people
                          going the other way at the same hour) */
  int same_place;      /* both ends in one place (its roles as from's) */
  double median_m;     /* median trip length, great-circle metres: a pair of
                          ends r apart is kept with probability
                          exp(-r / decay), decay fitted to the city */
} synth_purpose;

static const synth_purpose synth_purposes[] = {
    /* from      to      share out_h back_h width floor reverse same median */
    {ROLE_HOME, ROLE_WORK, 0.30, 8.3, 18.0, 1.3, 0.05, 0.35, 0, 3600.0},  /* commute */
    {ROLE_HOME, ROLE_PLAY, 0.14, 20.0, 23.6, 1.7, 0.05, 0.35, 0, 3000.0}, /* an evening out */
    {ROLE_ANY, ROLE_ANY, 0.46, 13.5, 13.5, 3.5, 0.15, 0.0, 1, 1700.0},    /* errands */
    {ROLE_ANY, ROLE_GATE, 0.10, 13.0, 13.0, 4.0, 0.20, 0.0, 0, 6000.0},   /* travel */
};
#define SYNTH_NPURPOSES ((int)(sizeof synth_purposes / sizeof synth_purposes[0]))
#define SYNTH_NLEGS (2 * SYNTH_NPURPOSES)

/* Gaussian bump of width w hours around c on the 24 h circle. */
static double hour_bump(double h, double c, double w) {
  double d = fabs(h - c);
  if (d > 12.0) d = 24.0 - d;
  return exp(-0.5 * d * d / (w * w));
}

typedef struct {
  double hour_w[24];               /* orders per hour, relative */
  double cum_leg[24][SYNTH_NLEGS]; /* cumulative leg weights by hour; leg
                                      2p is purpose p's out leg, 2p+1 its
                                      way back */
  double cum_place[SYNTH_NROLES + 1][SYNTH_NPLACES]; /* per role */
  double sx[SYNTH_NPLACES], sy[SYNTH_NPLACES]; /* place centres, metres */
  double decay[SYNTH_NPURPOSES];   /* fitted distance decay, metres (inf:
                                      none, the places are close enough) */
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

/* The places' frame with an area: the bounds of its first polygon, the
 * main one by the format's convention (Manhattan island, not its
 * airports). */
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

/* Each leg's hourly weight: its bump (the share of the leg not in the
 * floor) plus the floor spread evenly, summing to the leg's share. */
static void lay_hours(synth_model *m) {
  double w[24][SYNTH_NLEGS];
  for (int l = 0; l < SYNTH_NLEGS; l++) {
    const synth_purpose *p = &synth_purposes[l / 2];
    double c = l % 2 ? p->back_h : p->out_h, o = l % 2 ? p->out_h : p->back_h, sum = 0;
    for (int h = 0; h < 24; h++)
      sum += w[h][l] = (1 - p->reverse) * hour_bump(h + 0.5, c, p->width_h) +
                       p->reverse * hour_bump(h + 0.5, o, p->width_h);
    for (int h = 0; h < 24; h++)
      w[h][l] = 0.5 * p->share * ((1 - p->floor) * w[h][l] / sum + p->floor / 24.0);
  }
  for (int h = 0; h < 24; h++) {
    double acc = 0;
    for (int l = 0; l < SYNTH_NLEGS; l++) m->cum_leg[h][l] = acc += w[h][l];
    m->hour_w[h] = acc;
  }
}

/* Lays the places and the weights; with a service area also lists its
 * cells (RS_ENOMEM). */
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
  for (int i = 0; i < SYNTH_NPLACES; i++) {
    m->sx[i] = fx0 + synth_places[i].fx * (fx1 - fx0);
    m->sy[i] = fy0 + synth_places[i].fy * (fy1 - fy0);
    if (m->has_area) snap_inside(m, &m->sx[i], &m->sy[i]);
  }
  for (int r = 0; r <= SYNTH_NROLES; r++) {
    double acc = 0;
    for (int i = 0; i < SYNTH_NPLACES; i++) {
      const double *w = synth_places[i].role;
      acc += r < SYNTH_NROLES ? w[r] : w[ROLE_HOME] + w[ROLE_WORK] + w[ROLE_PLAY];
      m->cum_place[r][i] = acc;
    }
  }
  lay_hours(m);
  return 0;
}

static int pick(const double *cum, int n, pcg32 *rng) {
  double u = pcg32_double(rng) * cum[n - 1];
  for (int i = 0; i < n - 1; i++)
    if (u < cum[i]) return i;
  return n - 1;
}

/* Two independent standard normals by Box-Muller: the two coordinates of a
 * point of a circular Gaussian. */
static void normal2(pcg32 *rng, double *z1, double *z2) {
  double u1 = pcg32_double(rng), u2 = pcg32_double(rng);
  double r = sqrt(-2.0 * log(1.0 - u1)), a = 2.0 * 3.14159265358979323846 * u2;
  *z1 = r * cos(a);
  *z2 = r * sin(a);
}

static double clampd(double v, double lo, double hi) {
  return v < lo ? lo : v > hi ? hi : v;
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

/* A point of place i, inside the service area (or the box). */
static void place_point(const synth_model *m, int i, pcg32 *rng, double *x, double *y) {
  const synth_place *s = &synth_places[i];
  if (m->has_area) {
    /* uniform over the area, or the place's Gaussian redrawn until it
     * lands inside (its centre itself is inside) */
    if (s->sigma_m <= 0.0) {
      area_uniform(m, rng, x, y);
      return;
    }
    for (int t = 0; t < SYNTH_TRIES; t++) {
      double z1, z2;
      normal2(rng, &z1, &z2);
      *x = m->sx[i] + s->sigma_m * z1;
      *y = m->sy[i] + s->sigma_m * z2;
      if (served(m, *x, *y)) return;
    }
    *x = m->sx[i];
    *y = m->sy[i];
  } else if (s->sigma_m <= 0.0) {
    *x = m->xmin + pcg32_double(rng) * (m->xmax - m->xmin);
    *y = m->ymin + pcg32_double(rng) * (m->ymax - m->ymin);
  } else {
    /* folded back into the box at its edges, as a mirror would */
    double z1, z2;
    normal2(rng, &z1, &z2);
    double v[2] = {m->sx[i] + s->sigma_m * z1, m->sy[i] + s->sigma_m * z2};
    double lo[2] = {m->xmin, m->ymin}, hi[2] = {m->xmax, m->ymax};
    for (int k = 0; k < 2; k++) {
      if (v[k] > hi[k]) v[k] = 2.0 * hi[k] - v[k];
      if (v[k] < lo[k]) v[k] = 2.0 * lo[k] - v[k];
      v[k] = clampd(v[k], lo[k], hi[k]);
    }
    *x = v[0];
    *y = v[1];
  }
}

/* Two ends of purpose p's leg from role ro to role rd, at least
 * CITY_SYNTH_MIN_M apart (the last pair after SYNTH_TRIES): each end a
 * point of a place drawn by its weight in its role, or both of one place
 * when the purpose stays in one. Returns their distance. */
static double draw_pair(const synth_model *m, const synth_purpose *p, int ro, int rd, pcg32 *rng,
                        double *ox, double *oy, double *dx, double *dy) {
  double r = 0;
  for (int t = 0; t < SYNTH_TRIES; t++) {
    int i = pick(m->cum_place[ro], SYNTH_NPLACES, rng);
    place_point(m, i, rng, ox, oy);
    place_point(m, p->same_place ? i : pick(m->cum_place[rd], SYNTH_NPLACES, rng), rng, dx, dy);
    r = sqrt((*dx - *ox) * (*dx - *ox) + (*dy - *oy) * (*dy - *oy));
    if (r >= CITY_SYNTH_MIN_M) break;
  }
  return r;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of sorted distances r[0..n) weighted by exp(-r / decay). */
static double weighted_median(const double *r, int n, double decay) {
  double total = 0, acc = 0;
  for (int i = 0; i < n; i++) total += exp(-(r[i] - r[0]) / decay);
  for (int i = 0; i < n; i++)
    if ((acc += exp(-(r[i] - r[0]) / decay)) >= 0.5 * total) return r[i];
  return r[n - 1];
}

/* Fits each purpose's decay to the city: SYNTH_FIT_PAIRS pairs of its out
 * leg's ends (the way back's are the same pairs reversed), and the decay
 * whose weighted median is the purpose's median, by bisection on its
 * logarithm. When the places lie closer than that, no decay. r is scratch
 * of SYNTH_FIT_PAIRS. */
static void fit_decays(synth_model *m, pcg32 *rng, double *r) {
  for (int p = 0; p < SYNTH_NPURPOSES; p++) {
    const synth_purpose *u = &synth_purposes[p];
    int i, short_pairs = 0;
    for (i = 0; i < SYNTH_FIT_PAIRS; i++) {
      double ox, oy, dx, dy;
      r[i] = draw_pair(m, u, u->from, u->to, rng, &ox, &oy, &dx, &dy);
      /* an area too small for rides: no decay, and no time lost on it */
      if ((short_pairs += r[i] < CITY_SYNTH_MIN_M) > SYNTH_FIT_PAIRS / 20) break;
    }
    if (i < SYNTH_FIT_PAIRS) {
      m->decay[p] = INFINITY;
      continue;
    }
    qsort(r, SYNTH_FIT_PAIRS, sizeof *r, cmp_double);
    if (r[SYNTH_FIT_PAIRS / 2] <= u->median_m) {
      m->decay[p] = INFINITY;
      continue;
    }
    double lo = log(10.0), hi = log(1e7); /* decay in [10 m, 10,000 km] */
    for (int it = 0; it < 60; it++) {
      double mid = 0.5 * (lo + hi);
      if (weighted_median(r, SYNTH_FIT_PAIRS, exp(mid)) < u->median_m) lo = mid;
      else hi = mid;
    }
    m->decay[p] = exp(0.5 * (lo + hi));
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

/* One trip requested in `hour`: a leg, then its two ends, each a point of
 * a place of the leg's role, the pair kept with the purpose's distance
 * decay (both ends drawn again otherwise, so that a leg's pairs and its way
 * back's are mirror images: balanced flows). Ends closer than
 * CITY_SYNTH_MIN_M are walked, never ridden. After SYNTH_TRIES pairs the
 * last one is taken. */
static void make_trip(const synth_model *m, const city_grid *g,
                      const city_def *c, int hour, pcg32 *rng, city_trip *t) {
  int leg = pick(m->cum_leg[hour], SYNTH_NLEGS, rng);
  const synth_purpose *p = &synth_purposes[leg / 2];
  int ro = leg % 2 ? p->to : p->from, rd = leg % 2 ? p->from : p->to;
  double ox = 0, oy = 0, dx = 0, dy = 0;
  for (int tries = 0; tries < SYNTH_TRIES; tries++) {
    double r = draw_pair(m, p, ro, rd, rng, &ox, &oy, &dx, &dy);
    /* (an area too small for a ride's length takes what it got) */
    if (r < CITY_SYNTH_MIN_M || pcg32_double(rng) < exp(-r / m->decay[leg / 2])) break;
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
  double *scratch = malloc(SYNTH_FIT_PAIRS * sizeof *scratch);
  if (scratch == NULL) {
    free(trips);
    free(per_sec);
    free(m->cells);
    free(m);
    return rs_err_set(e, RS_ENOMEM, "synth: out of memory");
  }
  fit_decays(m, &rng, scratch);
  free(scratch);
  double cum[24], acc = 0;
  for (int h = 0; h < 24; h++) cum[h] = acc += m->hour_w[h];
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

/*
 * travel_gc: the great-circle travel model.
 *
 * A drive covers the great-circle distance times the city's detour factor
 * (road metres per straight metre: 1.3 for Manhattan) at the city's mean
 * taxi speed for the local hour it leaves in:
 *
 *   metres = gc x detour,   secs = metres / speed(hour of t) x k,
 *
 * where k is 1, or with the city's cell_factors (field.h) the mean factor
 * along the straight line between the ends: drives through slow places take
 * longer than their length says. Without cell factors the time grows with
 * the distance (gc_monotone); with them it does not, and the candidate
 * search stops at reach_m = secs x speed / (detour x the smallest factor).
 *
 * Distances: a pickup uses the great-circle distance the candidate search
 * measured from unit vectors (chords, exact to about 1e-12 relative), so
 * the time the engine simulates is the one the policy saw, bit for bit;
 * every other drive measures by haversine. A driver part-way along a drive
 * is at the linear interpolation of its ends in latitude and longitude by
 * the fraction of the time elapsed (over a few kilometres, within metres of
 * the great circle), having driven the detour factor times the great-circle
 * distance from the start (with cell factors the pace varies along the
 * line; the position still moves evenly in time: an approximation within
 * one drive, which changes no drive's total).
 *
 * It has no nodes (snap answers -1) and no state: the context is the city.
 * Every function is O(1), except that cell factors cost one lookup per
 * grid edge of the line (field.h).
 */
#include <math.h>

#include "base/rs_geo.h"
#include "city_data/field.h"
#include "city_data/travel.h"

static int32_t gc_snap(void *ctx, double lat, double lng) {
  (void)ctx;
  (void)lat;
  (void)lng;
  return -1;
}

static void gc_leg(void *ctx, const city_loc *a, const city_loc *b, int64_t t, double known_m,
                   city_leg *out) {
  const city_def *c = ctx;
  double m = known_m > 0 ? known_m
                         : rs_geo_haversine_r(a->lat, a->lng, b->lat, b->lng, c->earth_radius_m) *
                               c->detour_factor;
  out->metres = m;
  out->secs = m / city_def_speed(c, t);
}

static void gc_pickup(void *ctx, const city_loc *drv, const city_loc *pu, double gc_m, int64_t t,
                      city_leg *out) {
  const city_def *c = ctx;
  (void)drv;
  (void)pu;
  out->metres = gc_m * c->detour_factor;
  out->secs = out->metres / city_def_speed(c, t);
}

/* The cell-factor variants: the mean factor along the line a -> b, whose
 * great-circle length is gc_m. */
static double line_k(const city_def *c, const city_loc *a, const city_loc *b, double gc_m) {
  return city_field_line(&c->cell_field, a->lat, a->lng, b->lat, b->lng, gc_m, NULL, NULL);
}

static void gcf_leg(void *ctx, const city_loc *a, const city_loc *b, int64_t t, double known_m,
                    city_leg *out) {
  const city_def *c = ctx;
  double gc = rs_geo_haversine_r(a->lat, a->lng, b->lat, b->lng, c->earth_radius_m);
  out->metres = known_m > 0 ? known_m : gc * c->detour_factor;
  out->secs = out->metres / city_def_speed(c, t) * line_k(c, a, b, gc);
}

static void gcf_pickup(void *ctx, const city_loc *drv, const city_loc *pu, double gc_m,
                       int64_t t, city_leg *out) {
  const city_def *c = ctx;
  out->metres = gc_m * c->detour_factor;
  out->secs = out->metres / city_def_speed(c, t) * line_k(c, drv, pu, gc_m);
}

static double gcf_reach_m(void *ctx, double secs, int64_t t) {
  const city_def *c = ctx;
  double lo, hi;
  city_field_range(&c->cell_field, &lo, &hi);
  return secs * city_def_speed(c, t) / (c->detour_factor * lo) * 1.000001;
}

static void gc_position(void *ctx, const city_loc *a, const city_loc *b, int64_t t0, int64_t t1,
                        int64_t t, city_loc *at, double *driven_m) {
  const city_def *c = ctx;
  double span = (double)(t1 - t0);
  double f = span > 0 ? (double)(t - t0) / span : 1.0;
  if (f < 0) f = 0;
  if (f > 1) f = 1;
  at->lat = a->lat + f * (b->lat - a->lat);
  at->lng = a->lng + f * (b->lng - a->lng);
  at->node = -1;
  *driven_m = rs_geo_haversine_r(a->lat, a->lng, at->lat, at->lng, c->earth_radius_m) *
              c->detour_factor;
}

static double gc_reach_m(void *ctx, double secs, int64_t t) {
  const city_def *c = ctx;
  return secs * city_def_speed(c, t) / c->detour_factor;
}

static const city_travel_ops gc_ops = {
    .name = "great-circle",
    .nodes = 0,
    .gc_monotone = 1,
    .road_pickup_m = 0,
    .snap = gc_snap,
    .leg = gc_leg,
    .pickup = gc_pickup,
    .position = gc_position,
    .reach_m = gc_reach_m,
    .free = NULL,
};

static const city_travel_ops gcf_ops = {
    .name = "great-circle",
    .nodes = 0,
    .gc_monotone = 0,
    .snap = gc_snap,
    .leg = gcf_leg,
    .pickup = gcf_pickup,
    .position = gc_position,
    .reach_m = gcf_reach_m,
    .free = NULL,
};

void city_travel_gc(const city_def *city, city_travel *out) {
  out->ops = city->cell_field.n > 0 ? &gcf_ops : &gc_ops;
  out->ctx = (void *)city; /* read only: the ops take it back as const */
  out->city = city;
}

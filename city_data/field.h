/*
 * field: a travel model's cell factors, the place part of its trip times.
 *
 * A travel model times a drive from free-flow or mean speeds scaled by a
 * factor of the hour it leaves in (city.h: speed_mps_by_hour,
 * network_factors). Traffic is not the same everywhere at one hour: on the
 * raw TLC heads, the share of a trip's driving time spent in Midtown alone
 * explains more of the trips' spread about the hourly fit than the trip's
 * length does (docs/network.md, "What shapes trip times"). A field adds the
 * place part: a time factor k per cell of the city's hexagonal grid
 * (hexgrid.h), 1 where the field says nothing. Trip times are then
 * separable in place and hour, as speed maps are usually factored:
 *
 *   secs = (hourly scale of t) x sum over the drive's stretches of
 *          (free-flow or mean-speed seconds of the stretch) x k(its cell).
 *
 * A stretch is a straight segment (a road link, or the great-circle line of
 * a drive without a network): its factor is the mean of k at N points
 * spread evenly along it, N = ceil(length / edge of the grid), at least 1
 * (the midpoint rule: a segment crossing three cells takes about each one's
 * factor for the part it drives there). city_field_line computes it, and
 * calibration (calibrate.h) visits the same points to fit k, so what is
 * fitted is what the models drive.
 *
 * A field holds at most CITY_FIELD_MAX_CELLS cells, sorted by the grid's
 * dense index, with the grid they index (the city's, set with them): a
 * lookup is O(1) for the cell of a point plus a binary search, and a field
 * is a plain value (a city_def is copied by value).
 */
#ifndef CITY_FIELD_H
#define CITY_FIELD_H

#include <stdint.h>

#include "city_data/hexgrid.h"

#define CITY_FIELD_MAX_CELLS 1024 /* cells of one field: Manhattan's network and trips
                                     touch about 170 of its 600 m cells */
#define CITY_FIELD_K_MIN 0.25     /* factors lie in [K_MIN, K_MAX]: a place 4 times */
#define CITY_FIELD_K_MAX 4.0      /* faster or slower than the city's mean is a fit gone wrong */

typedef struct {
  int32_t n;                          /* cells with a factor; 0: no field (all 1) */
  int32_t cell[CITY_FIELD_MAX_CELLS]; /* their dense grid indices, strictly ascending */
  double k[CITY_FIELD_MAX_CELLS];     /* their time factors, in [K_MIN, K_MAX] */
  city_grid grid;                     /* the grid the indices belong to (the city's) */
} city_field;

/* The factor of the cell holding a point: 1 outside the field. */
double city_field_at(const city_field *f, double lat, double lng);

/* Visits the N points of the straight segment (lat1, lng1) - (lat2, lng2)
 * of length_m metres (N as above), calling visit(ctx, dense cell index or
 * -1 off the grid, 1 / N) for each when visit is not NULL, and returns the
 * mean factor at them (1 for an empty field, without visiting). */
double city_field_line(const city_field *f, double lat1, double lng1, double lat2, double lng2,
                       double length_m, void (*visit)(void *ctx, int32_t cell, double w),
                       void *ctx);
/* The same points, visited whatever the field holds (calibration). */
void city_field_points(const city_grid *g, double lat1, double lng1, double lat2, double lng2,
                       double length_m, void (*visit)(void *ctx, int32_t cell, double w),
                       void *ctx);

/* The smallest and largest factor any point can have: the field's own and
 * 1, the factor of every place outside it. */
void city_field_range(const city_field *f, double *lo, double *hi);

/* 0 when the invariants hold (n in range, cells ascending and on the grid,
 * factors in range), else -1. */
int city_field_check(const city_field *f);

#endif

/*
 * area: a city's service area (a multipolygon of [lng, lat] rings) and the
 * grid cells that serve it.
 *
 * A city's bounding box must hold every point its trips touch (airports,
 * suburbs where recorded trips end), so it is often far larger than the
 * place a ride-hailing service covers: the manhattan box is 46 x 97 km of
 * water, New Jersey and Long Island around a 3 km-wide island. The service
 * area says where the service is: synthetic demand is drawn inside it,
 * drivers are not repositioned out of it, and maps draw its cells only.
 *
 * The shape is a GeoJSON MultiPolygon's coordinates: polygons, each a list
 * of rings, the first ring of a polygon its outer boundary and the others
 * its holes; each ring a list of [lng, lat] positions, closed (last point
 * equal to the first) or not (then closed implicitly). A point is in the
 * area by the even-odd rule over every ring, boundary included: so holes
 * cut out of their polygon, and polygons that overlap cancel where they
 * overlap (do not overlap them). Rings are not checked for
 * self-intersection; the even-odd rule gives any figure a meaning.
 *
 * Exact predicates. Coordinates are kept as integers of 1e-6 degree (about
 * 0.1 m; CITY_AREA_UNIT_DEG), so every orientation test is an exact 64-bit
 * integer cross product (coordinate differences stay below 3.6e8 units and
 * their products below 6.5e16): a point on an edge or a vertex is on the
 * boundary, hence inside, with no rounding to decide it, and two adjacent
 * polygons leave no gap between them. Points tested are rounded to the same
 * units first.
 *
 * Cells. A cell is in service when its closed hexagon meets the closed area
 * (any part of it, not just its centre): then every point of the area lies
 * in a cell that is in service, so demand drawn inside the area is never in
 * a cell that the maps leave out. Rejected: "the centre is inside", which
 * on a 3 km-wide island with ~1 km cells drops a third of the shore cells,
 * where much of the demand is; the price of the rule chosen is that a shore
 * cell's centre may lie a few hundred metres off the shore (drivers sent to
 * the cell park at its centre, as the travel model places them).
 *
 * Storage is fixed-size (CITY_AREA_MAX_POINTS, CITY_AREA_MAX_RINGS) so that
 * a city_def stays a plain value that callers copy and never free. A
 * service area is a coarse outline: simplify a survey-grade boundary first.
 * Rejected: a heap-allocated polygon, which would give every city_def an
 * owner and a free in every folder that holds one.
 *
 * Costs: a point test is O(points of the area), after an O(1) bounds check;
 * laying the cell flags is O(cells within the area's bounds x points), about
 * a millisecond for Manhattan's ~60 points. A grid of edge buckets would make
 * both sublinear; no city needs it yet.
 */
#ifndef CITY_AREA_H
#define CITY_AREA_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/hexgrid.h"

#define CITY_AREA_MAX_POINTS 2048 /* every ring's points, closing ones not kept */
#define CITY_AREA_MAX_RINGS 64
#define CITY_AREA_UNIT_DEG 1e-6   /* the integer unit of coordinates, degrees */

/* Invariants (city_area_check): 0 <= n_rings <= CITY_AREA_MAX_RINGS;
 * ring_start is increasing with ring_start[0] = 0 and
 * ring_start[n_rings] = n_points; every ring has >= 3 points, not all on one
 * line; ring_polygon is non-decreasing from 0 in steps of at most 1, and
 * n_polygons = ring_polygon[n_rings - 1] + 1 (0 when there are no rings);
 * the bounds hold every point. */
typedef struct {
  int32_t n_polygons;   /* 0: no service area drawn (the city's box serves) */
  int32_t n_rings;      /* rings over all polygons */
  int32_t n_points;     /* points over all rings, closing points not kept */
  int32_t ring_start[CITY_AREA_MAX_RINGS + 1]; /* ring i: points
                           ring_start[i] .. ring_start[i + 1] - 1 */
  int32_t ring_polygon[CITY_AREA_MAX_RINGS];   /* polygon of each ring; a
                           polygon's first ring is its outer boundary */
  int32_t lat[CITY_AREA_MAX_POINTS];  /* latitude, CITY_AREA_UNIT_DEG units */
  int32_t lng[CITY_AREA_MAX_POINTS];  /* longitude, same units */
  int32_t min_lat, min_lng, max_lat, max_lng; /* bounds of every point */
} city_area;

/* Why a ring was refused by city_area_add_ring. */
typedef enum {
  CITY_AREA_OK = 0,
  CITY_AREA_FEW_POINTS,  /* fewer than 3 distinct points */
  CITY_AREA_FLAT,        /* every point on one line: no area */
  CITY_AREA_FULL,        /* more than CITY_AREA_MAX_POINTS or _RINGS */
  CITY_AREA_BAD_POINT,   /* a coordinate that is not a finite degree */
  CITY_AREA_BAD_POLYGON  /* the polygon index is not the last one or the next */
} city_area_why;

/* The empty area (no polygons). */
void city_area_clear(city_area *a);

/* Appends a ring of n points (degrees; a last point equal to the first, at
 * CITY_AREA_UNIT_DEG, is the closing point and dropped) to polygon
 * `polygon`, which must be the current last polygon (a hole) or the next
 * one (a new outer ring). Returns CITY_AREA_OK or the reason, in which case
 * the area is unchanged. */
city_area_why city_area_add_ring(city_area *a, int32_t polygon, const double *lat,
                                 const double *lng, int32_t n);
/* A sentence for a refusal ("needs at least 3 distinct points"). */
const char *city_area_why_text(city_area_why why);

/* Ring i's points in degrees as stored (closing point not repeated). */
int32_t city_area_ring_size(const city_area *a, int32_t ring);
void city_area_point(const city_area *a, int32_t index, double *lat, double *lng);

/* Whether a point is in the area (even-odd over every ring, boundary
 * included). The empty area contains nothing; NaN is never inside. */
int city_area_contains(const city_area *a, double lat, double lng);

/* Whether the closed hexagon of cell h of grid g meets the area. */
int city_area_meets_cell(const city_area *a, const city_grid *g, city_hex h);

/* flags[c] = 1 for every cell c of g (g->n_cells of them) that meets the
 * area, else 0; returns how many meet it. */
int32_t city_area_cells(const city_area *a, const city_grid *g, uint8_t *flags);

/* Walks the invariants; 0 or RS_EINVAL with the first broken one in e. */
int city_area_check(const city_area *a, rs_err *e);

#endif

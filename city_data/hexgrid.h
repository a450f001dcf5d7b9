/*
 * hexgrid: a hexagonal grid over a city's bounding box.
 *
 * Pointy-top hexagons of a given edge length (centre to vertex, = edge) laid
 * in the city's local projection (base/rs_geo.h) with axial coordinates (q, r); the
 * cube coordinate s = -q - r is implied. Neighbouring centres are sqrt(3) x
 * edge apart. See Red Blob Games' "Hexagonal Grids" for the algebra.
 *
 * The grid covers the box with a rectangle of "odd-r" offset coordinates
 * (col, row), one cell of margin on every side. Each covered cell has a dense
 * index 0 .. n_cells-1 (row-major from the south-west), used to index arrays;
 * index and axial coordinates are stable for a given box and edge, so they
 * are the cell ids stored in trip stores and value tables. Points outside the
 * covered rectangle have no index (-1).
 *
 * Costs: point -> cell, cell -> index, index -> cell are O(1); a k-ring is
 * O(k^2) with no allocation (the caller's buffer, sized by
 * city_hex_kring_size()).
 */
#ifndef CITY_HEXGRID_H
#define CITY_HEXGRID_H

#include <stdint.h>
#include "base/rs_geo.h"

#define CITY_HEX_EDGE_DEFAULT_M 600.0  /* close to the KDD Cup's ~1 km2 cells */

typedef struct {
  int32_t q, r; /* axial coordinates */
} city_hex;

typedef struct {
  rs_proj proj;    /* local projection about the box centre */
  double edge_m;     /* hexagon edge (= circumradius), metres */
  int32_t col0, row0;/* offset coordinates of dense index 0 */
  int32_t ncols, nrows; /* covered rectangle */
  int32_t n_cells;   /* ncols * nrows */
} city_grid;

/* Lays a grid over [min_lat, max_lat] x [min_lng, max_lng] with the given edge
 * and sphere radius. Returns 0, or RS_EINVAL (grid unchanged) when the box is
 * empty or inverted, the edge is not positive, or the grid would exceed
 * 2^24 cells. */
int city_grid_init(city_grid *g, double min_lat, double min_lng,
                   double max_lat, double max_lng, double edge_m,
                   double radius_m);

/* The cell containing a point (exact hex rounding in cube coordinates). */
city_hex city_grid_cell(const city_grid *g, double lat, double lng);
/* Dense index of a cell, or -1 when it lies outside the covered rectangle. */
int32_t city_grid_index(const city_grid *g, city_hex h);
/* Dense index of the cell containing a point, or -1. */
int32_t city_grid_point_index(const city_grid *g, double lat, double lng);
/* The cell of a dense index (0 <= idx < n_cells). */
city_hex city_grid_hex(const city_grid *g, int32_t idx);
/* Centre of a cell, degrees. */
void city_grid_center(const city_grid *g, city_hex h, double *lat, double *lng);
/* The six vertices of a cell, counter-clockwise from the east-north-east one. */
void city_grid_polygon(const city_grid *g, city_hex h, double lat[6],
                       double lng[6]);

/* Grid distance (number of steps between cells). */
int32_t city_hex_distance(city_hex a, city_hex b);
/* The six neighbours, counter-clockwise from east. */
void city_hex_neighbors(city_hex h, city_hex out[6]);
/* Number of cells within distance k: 3k(k+1)+1 (1, 7, 19, 37, ...). */
int32_t city_hex_kring_size(int32_t k);
/* Writes the cells within distance k of h into out (which holds
 * city_hex_kring_size(k)), centre first, then ring 1, ring 2, ... each ring
 * in a fixed order. Returns the count written. */
int32_t city_hex_kring(city_hex h, int32_t k, city_hex *out);

#endif

/*
 * hexgrid: pointy-top hexagons in a city's local projection (see hexgrid.h).
 *
 * Geometry, with x east and y north in metres and s the edge: the centre of
 * axial cell (q, r) is x = sqrt(3) s (q + r/2), y = 3/2 s r. So r grows to
 * the north and the six axial directions, counter-clockwise from east, are
 * (+1,0) E, (0,+1) NE, (-1,+1) NW, (-1,0) W, (0,-1) SW, (+1,-1) SE.
 * Point -> cell inverts that matrix and rounds in cube coordinates (round
 * each of q, r, s and fix the one with the largest rounding error), which is
 * exact: it returns the cell whose centre is nearest.
 *
 * Dense indices: offset coordinates "odd-r" (col = q + (r - (r & 1)) / 2,
 * row = r: odd rows sit half a cell to the east). The covered rectangle is
 * rows row0 .. row0+nrows-1 (south to north) by cols col0 .. col0+ncols-1
 * (west to east); index = (row - row0) * ncols + (col - col0). The rectangle
 * is computed from bounds on how far a cell reaches beyond its centre
 * (s north/south, sqrt(3)/2 s east/west, plus the half-cell shift of odd
 * rows), so every point of the box has an index, then widened by one cell on
 * every side so that every box cell's neighbours have one too.
 *
 * Invariants: ncols, nrows >= 1; n_cells = ncols * nrows <= 2^24; the grid
 * owns no memory. Everything is O(1) except the k-ring, O(k^2), which writes
 * into the caller's buffer.
 */
#include "city_data/hexgrid.h"

#include <math.h>

#include "base/rs_error.h"

#define HEX_SQRT3 1.7320508075688772
#define HEX_MAX_CELLS (1 << 24)

/* Axial directions, counter-clockwise from east (see the design comment). */
static const city_hex hex_dirs[6] = {{1, 0}, {0, 1}, {-1, 1},
                                     {-1, 0}, {0, -1}, {1, -1}};

int city_grid_init(city_grid *g, double min_lat, double min_lng,
                   double max_lat, double max_lng, double edge_m,
                   double radius_m) {
  if (!(min_lat < max_lat) || !(min_lng < max_lng) || min_lat < -90.0 ||
      max_lat > 90.0 || min_lng < -180.0 || max_lng > 180.0)
    return RS_EINVAL;
  if (!(edge_m > 0.0) || !isfinite(edge_m) || !(radius_m > 0.0) ||
      !isfinite(radius_m))
    return RS_EINVAL;
  rs_proj proj;
  rs_proj_init(&proj, 0.5 * (min_lat + max_lat), 0.5 * (min_lng + max_lng),
                 radius_m);
  /* The projection is a scaling of (lat, lng): the box stays a rectangle. */
  double xmin, ymin, xmax, ymax;
  rs_proj_forward(&proj, min_lat, min_lng, &xmin, &ymin);
  rs_proj_forward(&proj, max_lat, max_lng, &xmax, &ymax);
  double w = HEX_SQRT3 * edge_m, h = 1.5 * edge_m;
  /* A point at y lies in a row whose centre is within edge_m of y. */
  double rlo = floor((ymin - edge_m) / h), rhi = ceil((ymax + edge_m) / h);
  /* A point at x lies in a column whose centre (shifted by up to w/2 on odd
   * rows) is within w/2 of x: col in [x/w - 1, x/w + 1/2]. */
  double clo = floor(xmin / w - 1.0), chi = ceil(xmax / w + 0.5);
  double nrows = rhi - rlo + 3.0, ncols = chi - clo + 3.0; /* + margin */
  if (!(nrows * ncols <= (double)HEX_MAX_CELLS)) return RS_EINVAL;
  g->proj = proj;
  g->edge_m = edge_m;
  g->row0 = (int32_t)rlo - 1;
  g->col0 = (int32_t)clo - 1;
  g->nrows = (int32_t)nrows;
  g->ncols = (int32_t)ncols;
  g->n_cells = g->nrows * g->ncols;
  return 0;
}

static city_hex hex_round(double fq, double fr) {
  double fs = -fq - fr;
  double q = nearbyint(fq), r = nearbyint(fr), s = nearbyint(fs);
  double dq = fabs(q - fq), dr = fabs(r - fr), ds = fabs(s - fs);
  if (dq > dr && dq > ds)
    q = -r - s;
  else if (dr > ds)
    r = -q - s;
  city_hex hx = {(int32_t)q, (int32_t)r};
  return hx;
}

city_hex city_grid_cell(const city_grid *g, double lat, double lng) {
  double x, y;
  rs_proj_forward(&g->proj, lat, lng, &x, &y);
  double fq = (HEX_SQRT3 / 3.0 * x - y / 3.0) / g->edge_m;
  double fr = (2.0 / 3.0 * y) / g->edge_m;
  return hex_round(fq, fr);
}

int32_t city_grid_index(const city_grid *g, city_hex h) {
  int32_t row = h.r;
  int32_t col = h.q + (h.r - (h.r & 1)) / 2;
  int32_t dr = row - g->row0, dc = col - g->col0;
  if (dr < 0 || dr >= g->nrows || dc < 0 || dc >= g->ncols) return -1;
  return dr * g->ncols + dc;
}

int32_t city_grid_point_index(const city_grid *g, double lat, double lng) {
  if (!isfinite(lat) || !isfinite(lng)) return -1;
  /* Far-away points would overflow the int32 rounding: refuse them early. */
  double x, y;
  rs_proj_forward(&g->proj, lat, lng, &x, &y);
  double lim = 2.0 * g->edge_m * (g->nrows + g->ncols);
  if (fabs(x) > lim || fabs(y) > lim) return -1;
  return city_grid_index(g, city_grid_cell(g, lat, lng));
}

city_hex city_grid_hex(const city_grid *g, int32_t idx) {
  int32_t row = g->row0 + idx / g->ncols;
  int32_t col = g->col0 + idx % g->ncols;
  city_hex h = {col - (row - (row & 1)) / 2, row};
  return h;
}

static void hex_center_xy(const city_grid *g, city_hex h, double *x,
                          double *y) {
  *x = HEX_SQRT3 * g->edge_m * (h.q + 0.5 * h.r);
  *y = 1.5 * g->edge_m * h.r;
}

void city_grid_center(const city_grid *g, city_hex h, double *lat,
                      double *lng) {
  double x, y;
  hex_center_xy(g, h, &x, &y);
  rs_proj_inverse(&g->proj, x, y, lat, lng);
}

void city_grid_polygon(const city_grid *g, city_hex h, double lat[6],
                       double lng[6]) {
  /* Pointy-top vertices sit at 30 + 60 i degrees from the centre. */
  static const double vx[6] = {HEX_SQRT3 / 2, 0.0, -HEX_SQRT3 / 2,
                               -HEX_SQRT3 / 2, 0.0, HEX_SQRT3 / 2};
  static const double vy[6] = {0.5, 1.0, 0.5, -0.5, -1.0, -0.5};
  double cx, cy;
  hex_center_xy(g, h, &cx, &cy);
  for (int i = 0; i < 6; i++)
    rs_proj_inverse(&g->proj, cx + g->edge_m * vx[i], cy + g->edge_m * vy[i],
                      &lat[i], &lng[i]);
}

int32_t city_hex_distance(city_hex a, city_hex b) {
  int32_t dq = a.q - b.q, dr = a.r - b.r, ds = -dq - dr;
  if (dq < 0) dq = -dq;
  if (dr < 0) dr = -dr;
  if (ds < 0) ds = -ds;
  return (dq + dr + ds) / 2;
}

void city_hex_neighbors(city_hex h, city_hex out[6]) {
  for (int i = 0; i < 6; i++) {
    out[i].q = h.q + hex_dirs[i].q;
    out[i].r = h.r + hex_dirs[i].r;
  }
}

int32_t city_hex_kring_size(int32_t k) {
  if (k < 0) return 0;
  return 3 * k * (k + 1) + 1;
}

int32_t city_hex_kring(city_hex h, int32_t k, city_hex *out) {
  if (k < 0) return 0;
  int32_t n = 0;
  out[n++] = h;
  /* Ring j starts j steps south-west of the centre and walks its six sides,
   * j steps each, east, north-east, ... (counter-clockwise). */
  for (int32_t j = 1; j <= k; j++) {
    city_hex c = {h.q + j * hex_dirs[4].q, h.r + j * hex_dirs[4].r};
    for (int side = 0; side < 6; side++)
      for (int32_t step = 0; step < j; step++) {
        out[n++] = c;
        c.q += hex_dirs[side].q;
        c.r += hex_dirs[side].r;
      }
  }
  return n;
}

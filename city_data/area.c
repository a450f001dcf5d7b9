/*
 * area: the service area's geometry (see area.h for the model).
 *
 * Coordinates are integers of CITY_AREA_UNIT_DEG with x = longitude and
 * y = latitude. The projection of hexgrid.h is a scaling of (lat, lng), so a
 * straight edge in degrees is a straight edge in the grid's metres and the
 * tests below may run in degrees.
 *
 * Point in area: the even-odd crossing rule with a ray to the east. An edge
 * a -> b counts when it straddles the point's latitude half-open
 * ((a.y > p.y) != (b.y > p.y)), so a vertex on the ray is counted once, and
 * it crosses the ray east of p exactly when p is left of an upward edge or
 * right of a downward one: the sign of an integer cross product, with no
 * division and no rounding. A point on an edge (cross product 0 inside the
 * edge's box) is on the boundary and inside, whatever the crossings say.
 *
 * Cell meets area: the closed hexagon and the closed area share a point iff
 * a hexagon vertex is in the area, or an area vertex is in the hexagon, or
 * an area edge meets a hexagon edge (two closed segments, exact). One shape
 * inside the other is caught by the first two, crossing boundaries by the
 * third.
 *
 * Nothing here allocates; everything is a pure function of its arguments.
 */
#include "city_data/area.h"

#include <math.h>
#include <string.h>

/* A point in integer units. */
typedef struct {
  int64_t x, y; /* longitude, latitude: CITY_AREA_UNIT_DEG units */
} area_pt;

/* Degrees to units; 0 when the value is not a finite degree in range. */
static int to_unit(double deg, double lim, int32_t *out) {
  if (!isfinite(deg) || deg < -lim || deg > lim) return 0;
  *out = (int32_t)llround(deg / CITY_AREA_UNIT_DEG);
  return 1;
}

static int to_pt(double lat, double lng, area_pt *p) {
  int32_t y, x;
  if (!to_unit(lat, 90.0, &y) || !to_unit(lng, 180.0, &x)) return 0;
  p->x = x;
  p->y = y;
  return 1;
}

static area_pt pt_at(const city_area *a, int32_t i) {
  area_pt p = {a->lng[i], a->lat[i]};
  return p;
}

/* Twice the signed area of (a, b, c): > 0 when c is left of a -> b. Exact:
 * the differences are below 3.6e8 units, their products below 6.5e16. */
static int64_t orient(area_pt a, area_pt b, area_pt c) {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Whether c, known to lie on the line through a and b, is within the segment. */
static int in_box(area_pt a, area_pt b, area_pt c) {
  return c.x >= min64(a.x, b.x) && c.x <= max64(a.x, b.x) && c.y >= min64(a.y, b.y) &&
         c.y <= max64(a.y, b.y);
}

static int sign(int64_t v) { return (v > 0) - (v < 0); }

/* Whether the closed segments ab and cd share a point. */
static int segments_meet(area_pt a, area_pt b, area_pt c, area_pt d) {
  int o1 = sign(orient(a, b, c)), o2 = sign(orient(a, b, d));
  int o3 = sign(orient(c, d, a)), o4 = sign(orient(c, d, b));
  if (o1 * o2 < 0 && o3 * o4 < 0) return 1;
  return (o1 == 0 && in_box(a, b, c)) || (o2 == 0 && in_box(a, b, d)) ||
         (o3 == 0 && in_box(c, d, a)) || (o4 == 0 && in_box(c, d, b));
}

void city_area_clear(city_area *a) { memset(a, 0, sizeof *a); }

const char *city_area_why_text(city_area_why why) {
  switch (why) {
  case CITY_AREA_OK: return "ok";
  case CITY_AREA_FEW_POINTS: return "needs at least 3 distinct points";
  case CITY_AREA_FLAT: return "has no area (every point lies on one line)";
  case CITY_AREA_FULL:
    return "the service area is too detailed (at most 2048 points in 64 rings: simplify it)";
  case CITY_AREA_BAD_POINT: return "a coordinate is not a finite latitude or longitude";
  case CITY_AREA_BAD_POLYGON: return "a ring must belong to the last polygon or start the next";
  }
  return "?";
}

city_area_why city_area_add_ring(city_area *a, int32_t polygon, const double *lat,
                                 const double *lng, int32_t n) {
  if (polygon < 0 || (polygon != a->n_polygons && polygon != a->n_polygons - 1))
    return CITY_AREA_BAD_POLYGON;
  if (n < 3) return CITY_AREA_FEW_POINTS;
  area_pt first, last;
  if (!to_pt(lat[0], lng[0], &first) || !to_pt(lat[n - 1], lng[n - 1], &last))
    return CITY_AREA_BAD_POINT;
  int32_t m = n - (first.x == last.x && first.y == last.y); /* without the closing point */
  if (a->n_rings >= CITY_AREA_MAX_RINGS || m > CITY_AREA_MAX_POINTS - a->n_points)
    return CITY_AREA_FULL;
  /* Convert into the free tail; nothing counts until the ring passes. */
  int32_t at = a->n_points;
  city_area_why why = CITY_AREA_OK;
  for (int32_t i = 0; i < m && why == CITY_AREA_OK; i++) {
    area_pt p;
    if (!to_pt(lat[i], lng[i], &p)) why = CITY_AREA_BAD_POINT;
    else {
      a->lat[at + i] = (int32_t)p.y;
      a->lng[at + i] = (int32_t)p.x;
    }
  }
  /* Three distinct points not on one line: the first point, the first one
   * apart from it, and the first one off their line. O(m). */
  if (why == CITY_AREA_OK) {
    area_pt p0 = pt_at(a, at), p1 = p0;
    int32_t i = 1;
    while (i < m && a->lat[at + i] == p0.y && a->lng[at + i] == p0.x) i++;
    if (i == m) why = CITY_AREA_FEW_POINTS;
    else {
      p1 = pt_at(a, at + i);
      int third = 0, off_line = 0;
      for (int32_t k = i + 1; k < m && !off_line; k++) {
        area_pt q = pt_at(a, at + k);
        if (orient(p0, p1, q) != 0) off_line = 1;
        else if (!(q.x == p0.x && q.y == p0.y) && !(q.x == p1.x && q.y == p1.y)) third = 1;
      }
      if (!off_line) why = third ? CITY_AREA_FLAT : CITY_AREA_FEW_POINTS;
    }
  }
  if (why != CITY_AREA_OK) {
    memset(a->lat + at, 0, (size_t)m * sizeof *a->lat);
    memset(a->lng + at, 0, (size_t)m * sizeof *a->lng);
    return why;
  }
  for (int32_t i = at; i < at + m; i++) {
    if (a->n_points == 0 && i == at) {
      a->min_lat = a->max_lat = a->lat[i];
      a->min_lng = a->max_lng = a->lng[i];
    }
    if (a->lat[i] < a->min_lat) a->min_lat = a->lat[i];
    if (a->lat[i] > a->max_lat) a->max_lat = a->lat[i];
    if (a->lng[i] < a->min_lng) a->min_lng = a->lng[i];
    if (a->lng[i] > a->max_lng) a->max_lng = a->lng[i];
  }
  a->ring_polygon[a->n_rings] = polygon;
  a->n_rings++;
  a->ring_start[a->n_rings] = at + m;
  a->n_points = at + m;
  a->n_polygons = polygon + 1;
  return CITY_AREA_OK;
}

int32_t city_area_ring_size(const city_area *a, int32_t ring) {
  return a->ring_start[ring + 1] - a->ring_start[ring];
}

void city_area_point(const city_area *a, int32_t index, double *lat, double *lng) {
  *lat = a->lat[index] * CITY_AREA_UNIT_DEG;
  *lng = a->lng[index] * CITY_AREA_UNIT_DEG;
}

static int contains_pt(const city_area *a, area_pt p) {
  if (a->n_rings == 0 || p.x < a->min_lng || p.x > a->max_lng || p.y < a->min_lat ||
      p.y > a->max_lat)
    return 0;
  int inside = 0;
  for (int32_t r = 0; r < a->n_rings; r++) {
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    area_pt u = pt_at(a, t - 1);
    for (int32_t i = s; i < t; i++) {
      area_pt v = pt_at(a, i);
      if ((u.y > p.y) != (v.y > p.y)) {
        int64_t o = orient(u, v, p);
        if (o == 0) return 1; /* on the edge, which straddles p's latitude */
        if ((o > 0) == (v.y > u.y)) inside ^= 1;
      } else if (u.y == p.y && v.y == p.y && in_box(u, v, p)) {
        return 1; /* on a horizontal edge */
      } else if ((u.x == p.x && u.y == p.y) || (v.x == p.x && v.y == p.y)) {
        return 1; /* on a vertex (the top end of a straddling edge) */
      }
      u = v;
    }
  }
  return inside;
}

int city_area_contains(const city_area *a, double lat, double lng) {
  area_pt p;
  if (!to_pt(lat, lng, &p)) return 0;
  return contains_pt(a, p);
}

int city_area_meets_cell(const city_area *a, const city_grid *g, city_hex h) {
  if (a->n_rings == 0) return 0;
  double hl[6], hg[6];
  city_grid_polygon(g, h, hl, hg);
  area_pt v[6];
  int64_t x0 = INT64_MAX, x1 = INT64_MIN, y0 = INT64_MAX, y1 = INT64_MIN;
  for (int i = 0; i < 6; i++) {
    if (!to_pt(hl[i], hg[i], &v[i])) return 0;
    x0 = min64(x0, v[i].x);
    x1 = max64(x1, v[i].x);
    y0 = min64(y0, v[i].y);
    y1 = max64(y1, v[i].y);
  }
  if (x1 < a->min_lng || x0 > a->max_lng || y1 < a->min_lat || y0 > a->max_lat) return 0;
  for (int i = 0; i < 6; i++)
    if (contains_pt(a, v[i])) return 1;
  /* The hexagon is convex and counter-clockwise (hexgrid.h); rounding to
   * units moves its vertices by 0.05 m, which cannot fold a cell of any
   * sane edge. The sign is taken from the hexagon itself all the same. */
  int turn = sign(orient(v[0], v[2], v[4]));
  for (int32_t r = 0; r < a->n_rings; r++) {
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    area_pt u = pt_at(a, t - 1);
    for (int32_t i = s; i < t; i++) {
      area_pt w = pt_at(a, i);
      /* the edge u -> w against the hexagon's box, then its vertex w and
       * its six edges */
      if (!(max64(u.x, w.x) < x0 || min64(u.x, w.x) > x1 || max64(u.y, w.y) < y0 ||
            min64(u.y, w.y) > y1)) {
        int in = 1;
        for (int k = 0; k < 6 && in; k++) in = sign(orient(v[k], v[(k + 1) % 6], w)) * turn >= 0;
        if (in) return 1;
        for (int k = 0; k < 6; k++)
          if (segments_meet(u, w, v[k], v[(k + 1) % 6])) return 1;
      }
      u = w;
    }
  }
  return 0;
}

int32_t city_area_cells(const city_area *a, const city_grid *g, uint8_t *flags) {
  int32_t n = 0;
  for (int32_t c = 0; c < g->n_cells; c++) {
    flags[c] = (uint8_t)city_area_meets_cell(a, g, city_grid_hex(g, c));
    n += flags[c];
  }
  return n;
}

int city_area_check(const city_area *a, rs_err *e) {
  if (a->n_rings < 0 || a->n_rings > CITY_AREA_MAX_RINGS)
    return rs_err_set(e, RS_EINVAL, "area: %d rings", a->n_rings);
  if (a->ring_start[0] != 0 || a->ring_start[a->n_rings] != a->n_points ||
      a->n_points > CITY_AREA_MAX_POINTS)
    return rs_err_set(e, RS_EINVAL, "area: ring starts do not add up to %d points",
                      a->n_points);
  if (a->n_polygons != (a->n_rings ? a->ring_polygon[a->n_rings - 1] + 1 : 0))
    return rs_err_set(e, RS_EINVAL, "area: %d polygons for the rings' last index",
                      a->n_polygons);
  for (int32_t r = 0; r < a->n_rings; r++) {
    if (a->ring_start[r + 1] - a->ring_start[r] < 3)
      return rs_err_set(e, RS_EINVAL, "area: ring %d has fewer than 3 points", r);
    int32_t prev = r ? a->ring_polygon[r - 1] : -1;
    if (a->ring_polygon[r] != prev && a->ring_polygon[r] != prev + 1)
      return rs_err_set(e, RS_EINVAL, "area: ring %d's polygon %d after %d", r,
                        a->ring_polygon[r], prev);
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    int flat = 1;
    for (int32_t i = s + 2; i < t && flat; i++)
      for (int32_t j = s + 1; j < i && flat; j++)
        flat = orient(pt_at(a, s), pt_at(a, j), pt_at(a, i)) == 0;
    if (flat) return rs_err_set(e, RS_EINVAL, "area: ring %d has no area", r);
  }
  for (int32_t i = 0; i < a->n_points; i++)
    if (a->lat[i] < a->min_lat || a->lat[i] > a->max_lat || a->lng[i] < a->min_lng ||
        a->lng[i] > a->max_lng)
      return rs_err_set(e, RS_EINVAL, "area: point %d is outside the bounds", i);
  return 0;
}

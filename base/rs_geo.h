/*
 * rs_geo: the sphere: great-circle distance, unit vectors and chords, and a
 * local metric projection. Every folder measures with these.
 *
 * Distances are metres. The haversine formula on a sphere is accurate to
 * about 0.5 % against the ellipsoid, far below the noise of taxi GPS; the
 * radius is a parameter because the KDD Cup 2020 sample used 6,378,137 m
 * (the WGS84 equatorial radius) where ridesim defaults to the IUGG mean
 * radius 6,371,008.8 m.
 *
 * The projection is equirectangular about a reference point (a city's box
 * centre): x = R (lng - lng0) cos(lat0), y = R (lat - lat0), in metres. Over a
 * city (tens of km) its distortion is below 0.3 %, and it is exactly
 * invertible, which the hexagonal grid needs.
 *
 * Unit vectors and chords: a point as a unit vector turns great-circle
 * distance into a straight chord, d = 2R asin(c / 2), with no trigonometry
 * per pair; the candidate search ranks by squared chord and converts only
 * what it keeps.
 */
#ifndef RS_GEO_H
#define RS_GEO_H

#include <math.h>

#define RS_EARTH_RADIUS_M 6371008.8       /* IUGG mean radius */
#define RS_EARTH_RADIUS_KDD_M 6378137.0   /* KDD Cup 2020 sample */

/* Great-circle distance in metres on a sphere of the given radius. */
double rs_geo_haversine_r(double lat1, double lng1, double lat2, double lng2,
                            double radius_m);
/* Same with RS_EARTH_RADIUS_M. */
double rs_geo_haversine(double lat1, double lng1, double lat2, double lng2);

typedef struct {
  double lat0, lng0;  /* reference point, degrees */
  double radius_m;    /* sphere radius */
  double kx, ky;      /* metres per degree of lng and of lat at lat0 */
} rs_proj;

/* Projection about (lat0, lng0). */
void rs_proj_init(rs_proj *p, double lat0, double lng0, double radius_m);
void rs_proj_forward(const rs_proj *p, double lat, double lng,
                       double *x, double *y);
void rs_proj_inverse(const rs_proj *p, double x, double y,
                       double *lat, double *lng);

/* The unit vector of a point on the sphere. Chord lengths between unit
 * vectors give great-circle distances, d = 2R asin(c / 2), to about 1e-12
 * relative, with no trigonometry per pair: the candidate search ranks by
 * squared chord and converts only what it keeps. */
static inline void rs_unit_vector(double lat, double lng, double u[3]) {
  const double k = 3.14159265358979323846 / 180.0;
  double cl = cos(lat * k);
  u[0] = cl * cos(lng * k);
  u[1] = cl * sin(lng * k);
  u[2] = sin(lat * k);
}

/* The squared chord between two unit vectors: monotonic in great-circle
 * distance, and the key every nearest-first ranking uses. */
static inline double rs_chord2(const double a[3], const double b[3]) {
  double x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
  return x * x + y * y + z * z;
}

/* The squared chord of a great-circle distance m on a sphere of radius r,
 * and back (rs_chord2_m). */
static inline double rs_m_to_chord2(double m, double r) {
  double c = 2.0 * sin(m / (2.0 * r));
  return c * c;
}

/* The great-circle distance on a sphere of radius r between two unit
 * vectors whose squared chord is c2: 2 r asin(c / 2). */
static inline double rs_chord2_m(double c2, double r) {
  double h = sqrt(c2) / 2.0;
  /* Below h = 1e-3 (12.7 km on the Earth) asin's series to h^5 is exact in
   * double precision: the next term, 5h^7/112, is 1e-19 of h there. */
  if (h < 1e-3) {
    double h2 = h * h;
    return 2.0 * r * h * (1.0 + h2 * (1.0 / 6.0 + h2 * (3.0 / 40.0)));
  }
  if (h > 1.0) h = 1.0;
  return 2.0 * r * asin(h);
}

#endif

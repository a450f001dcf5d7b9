/*
 * geo: great-circle distance and a local metric projection.
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
 */
#ifndef CITY_GEO_H
#define CITY_GEO_H

#define CITY_EARTH_RADIUS_M 6371008.8       /* IUGG mean radius */
#define CITY_EARTH_RADIUS_KDD_M 6378137.0   /* KDD Cup 2020 sample */

/* Great-circle distance in metres on a sphere of the given radius. */
double city_geo_haversine_r(double lat1, double lng1, double lat2, double lng2,
                            double radius_m);
/* Same with CITY_EARTH_RADIUS_M. */
double city_geo_haversine(double lat1, double lng1, double lat2, double lng2);

typedef struct {
  double lat0, lng0;  /* reference point, degrees */
  double radius_m;    /* sphere radius */
  double kx, ky;      /* metres per degree of lng and of lat at lat0 */
} city_proj;

/* Projection about (lat0, lng0). */
void city_proj_init(city_proj *p, double lat0, double lng0, double radius_m);
void city_proj_forward(const city_proj *p, double lat, double lng,
                       double *x, double *y);
void city_proj_inverse(const city_proj *p, double x, double y,
                       double *lat, double *lng);

#endif

/*
 * rs_geo: great-circle distance and the equirectangular local projection (see
 * rs_geo.h for the formulas and their accuracy).
 *
 * Haversine is used rather than the spherical law of cosines because it
 * keeps full precision for the short distances (tens of metres) that
 * dominate dispatch; the argument of asin is clamped to 1 so that rounding on
 * near-antipodal points cannot produce NaN. Everything here is pure
 * arithmetic: no allocation, no state, O(1) per call.
 */
#include "base/rs_geo.h"

#include <math.h>

#define GEO_DEG2RAD (3.14159265358979323846 / 180.0)

double rs_geo_haversine_r(double lat1, double lng1, double lat2, double lng2,
                            double radius_m) {
  double phi1 = lat1 * GEO_DEG2RAD, phi2 = lat2 * GEO_DEG2RAD;
  double sdphi = sin((phi2 - phi1) * 0.5);
  double sdlam = sin((lng2 - lng1) * GEO_DEG2RAD * 0.5);
  double a = sdphi * sdphi + cos(phi1) * cos(phi2) * sdlam * sdlam;
  double s = sqrt(a);
  if (s > 1.0) s = 1.0;
  return 2.0 * radius_m * asin(s);
}

double rs_geo_haversine(double lat1, double lng1, double lat2, double lng2) {
  return rs_geo_haversine_r(lat1, lng1, lat2, lng2, RS_EARTH_RADIUS_M);
}

void rs_proj_init(rs_proj *p, double lat0, double lng0, double radius_m) {
  p->lat0 = lat0;
  p->lng0 = lng0;
  p->radius_m = radius_m;
  p->ky = radius_m * GEO_DEG2RAD;
  p->kx = p->ky * cos(lat0 * GEO_DEG2RAD);
}

void rs_proj_forward(const rs_proj *p, double lat, double lng, double *x,
                       double *y) {
  *x = p->kx * (lng - p->lng0);
  *y = p->ky * (lat - p->lat0);
}

void rs_proj_inverse(const rs_proj *p, double x, double y, double *lat,
                       double *lng) {
  *lat = p->lat0 + y / p->ky;
  *lng = p->lng0 + x / p->kx;
}

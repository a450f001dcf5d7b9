/*
 * travel: what every backend shares (travel.h): places, fares and the trip
 * model of a record.
 */
#include "city_data/travel.h"

#include <math.h>

void city_travel_free(city_travel *tm) {
  if (tm->ops != NULL && tm->ops->free != NULL) tm->ops->free(tm->ctx);
  tm->ops = NULL;
  tm->ctx = NULL;
}

void city_travel_loc(const city_travel *tm, double lat, double lng, city_loc *out) {
  out->lat = lat;
  out->lng = lng;
  out->node = city_travel_snap(tm, lat, lng);
}

double city_travel_fare(const city_travel *tm, const city_leg *leg, int64_t t) {
  return city_def_fare(tm->city, leg->metres, leg->secs, t);
}

void city_travel_trip(const city_travel *tm, const city_loc *pickup, const city_loc *dropoff,
                      int64_t t_request, int64_t t_dropoff, double fare, double distance_m,
                      city_trip_model *out) {
  city_leg leg;
  tm->ops->leg(tm->ctx, pickup, dropoff, t_request,
               isfinite(distance_m) && distance_m > 0 ? distance_m : 0.0, &leg);
  double secs;
  out->modelled_duration = 0;
  out->modelled_fare = 0;
  if (t_dropoff >= 0 && t_dropoff > t_request) {
    secs = (double)(t_dropoff - t_request);
  } else {
    secs = leg.secs;
    out->modelled_duration = 1;
  }
  if (secs < 1) secs = 1;
  /* a trip lasts at most CITY_TRIP_MAX_S, whatever the record says */
  if (!(secs <= CITY_TRIP_MAX_S)) secs = CITY_TRIP_MAX_S;
  out->road_m = leg.metres;
  out->duration_s = (int32_t)ceil(secs);
  if (isfinite(fare)) {
    out->fare = fare;
  } else {
    city_leg paid = {secs, leg.metres};
    out->fare = city_travel_fare(tm, &paid, t_request);
    out->modelled_fare = 1;
  }
}

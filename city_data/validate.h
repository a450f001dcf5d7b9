/*
 * validate: how far a travel model's world is from the recorded one.
 *
 * For every recorded trip (recorded.h) the model drives from its pickup to
 * its dropoff leaving at its request time, without being told the
 * recorded distance, and the fare rule (city.h) charges that drive: the
 * trip as a replay without records would model it. Three quantities are
 * compared with the record where it has them:
 *   duration  modelled seconds against dropoff - request;
 *   distance  modelled road metres against the taximeter's (TLC miles,
 *             converted by the importer); trips with a recorded distance;
 *   fare      the fare rule on the modelled drive against the recorded
 *             fare (the TLC's fare_amount plus its surcharges); trips with a
 *             recorded fare above 0.
 * Statistics of a group of trips, with m the modelled and r the recorded
 * value of each:
 *   n        trips;
 *   bias     100 sum(m - r) / sum(r), %: the mean signed error as a share of
 *            the mean recorded value (0 in an hour the ratio of sums fitted,
 *            on the trips it was fitted on);
 *   mae      mean |m - r|, in the quantity's unit;
 *   mape     mean |m - r| / r, %;
 *   mdape    the median of |m - r| / r, % (the mean of the two middle values
 *            for an even n).
 * Groups: the local hour of the request, the band of the recorded distance
 * (CITY_VALID_BAND_EDGES_M: < 1, 1-2, 2-4, 4-8, >= 8 km, and a last band of
 * trips without a recorded distance) and all trips.
 *
 * Costs: one drive per trip, then a sort of each group's percentage errors
 * for its median: O(n log n). Nothing is retained.
 */
#ifndef CITY_VALIDATE_H
#define CITY_VALIDATE_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/recorded.h"
#include "city_data/travel.h"

enum { CITY_VALID_DURATION = 0, CITY_VALID_DISTANCE, CITY_VALID_FARE, CITY_VALID_N };

#define CITY_VALID_BANDS 6 /* five distance bands and "no recorded distance" */
#define CITY_VALID_BAND_EDGES_M {1000.0, 2000.0, 4000.0, 8000.0}

typedef struct {
  int64_t n;          /* trips */
  double rec_mean;    /* mean recorded value */
  double mod_mean;    /* mean modelled value */
  double bias_pct;    /* 100 sum(m - r) / sum(r) */
  double mae;         /* mean |m - r| */
  double mape;        /* mean |m - r| / r, % */
  double mdape;       /* median |m - r| / r, % */
} city_valid_stat;

typedef struct {
  city_valid_stat hour[24][CITY_VALID_N];            /* by local hour of request */
  city_valid_stat band[CITY_VALID_BANDS][CITY_VALID_N]; /* by recorded distance */
  city_valid_stat all[CITY_VALID_N];
} city_valid_report;

/* The modelled drive of one trip: seconds, metres and fare. */
void city_valid_model(const city_travel *tm, const city_trip *t, double out[CITY_VALID_N]);
/* The recorded values of a trip, NAN where it has none (a fare of 0 is none). */
void city_valid_recorded(const city_trip *t, double out[CITY_VALID_N]);
/* The band of a recorded distance (NAN: the last band). */
int city_valid_band(double metres);
/* "<1 km", "1-2 km", ..., "no distance". */
const char *city_valid_band_name(int band);
/* "duration", "distance", "fare". */
const char *city_valid_quantity_name(int q);

/* Measures the model on the recorded trips. RS_ENOMEM. */
int city_valid_run(const city_travel *tm, const city_rec_set *set, city_valid_report *out,
                   rs_err *e);

#endif

/*
 * synth: the built-in synthetic city's demand, so that every command works
 * with no downloaded data.
 *
 * A seeded generator of one day of trips for a city definition (normally the
 * embedded `synthetic` city): a handful of hotspots (a downtown, a business
 * district, a station, an airport-like far spot, residential areas) whose
 * pull changes through the day, a two-peak weekday demand curve (morning and
 * evening rush), and trip lengths drawn from a log-normal close to city taxi
 * trips (median about 2.5 km). Dropoff times and fares are left unknown
 * (-1, NAN) so the engine's travel model fills them, as for the NYC data.
 * Every pickup and dropoff lies in the city's service area (city.h), so
 * `ridesim synth --city manhattan` gives Manhattan trips, not trips in the
 * water or in New Jersey.
 *
 * Same city, seed, day and size: the same trips, bit for bit (PCG32 stream
 * PCG_STREAM_DEMAND).
 */
#ifndef CITY_SYNTH_H
#define CITY_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "city_data/city.h"
#include "city_data/tripstore.h"
#include "base/rs_error.h"

#define CITY_SYNTH_DEFAULT_ORDERS 100000
#define CITY_SYNTH_DEFAULT_DAY 1454284800 /* 2016-02-01 00:00 local, a Monday */

typedef struct {
  uint64_t seed;
  size_t n_orders;   /* orders over the whole day */
  int64_t day;       /* local-epoch midnight of the day */
} city_synth_opts;

/* Generates the day's trips sorted by (t_request, id), ids 1..n, in a new
 * array the caller frees. Cells are filled from the city's grid. */
int city_synth_generate(const city_def *city, const city_synth_opts *o,
                        city_trip **out, size_t *n, rs_err *e);

/* Generates and writes them to a store as one import (format "synthetic"). */
int city_synth_to_store(city_store *st, const city_def *city,
                        const city_synth_opts *o, rs_err *e);

#endif

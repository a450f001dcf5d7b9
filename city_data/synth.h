/*
 * synth: the built-in synthetic city's demand, so that every command works
 * with no downloaded data.
 *
 * A seeded generator of one day of trips for a city definition (normally the
 * embedded `synthetic` city): places (a downtown, a business district, a
 * station, an airport, residential districts, a background) and trip
 * purposes between them (commuting, an evening out, errands, travel), each
 * with its way back, which make a two-peak weekday (morning and evening
 * rush) with trip lengths close to city taxi trips (median about 2.5 km).
 * Dropoff times and fares are left unknown (-1, NAN) so the engine's travel
 * model fills them, as for the NYC data. Every pickup and dropoff lies in
 * the city's service area (city.h), so `ridesim synth --city manhattan`
 * gives Manhattan trips, not trips in the water or in New Jersey.
 *
 * What the synthetic city is calibrated to look like, on the default day
 * (100,000 orders, seed 1) with its default fleet (2,200 drivers online all
 * day, city_data/cities/synthetic.json), fcfs-nearest and stay:
 * - demand: about 6,700 orders in the 08-09 h rush, 7,900 at 17-18 h,
 *   5,100-5,800 an hour at midday and 730 at 03-04 h; a third of the
 *   pickups within 2 km of downtown; trips of median 2.5 km great-circle
 *   (3.2 km of road) and 8 minutes (mean 10) at the hour's speed.
 * - balance: over the day every part of the city receives as many riders as
 *   it sends (a purpose's way back mirrors it), so a fleet that stays where
 *   riders leave it is not drained out of the busy places; the morning
 *   piles drivers up downtown, and the evening takes them home.
 * - the fleet: sized so that the evening peak nearly saturates it (about
 *   2,100 of 2,200 drivers busy at 18-19 h) and the day's utilisation is
 *   about 35 % (quiet nights); about 0.1 % of the orders expire, a few an
 *   hour, most of them far out of town where drivers are sparse; the mean
 *   wait to match is a few seconds, the waiting done at the rush hours; and
 *   no hour has many expired orders beside many idle drivers (test_cli_run
 *   checks this). With 3,000 drivers the same day has 0.09 % expired and
 *   25 % utilisation, 1,250 drivers idle at the evening peak.
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

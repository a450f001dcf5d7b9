/*
 * source: where a run's orders come from, a chunk at a time.
 *
 * The engine does not need a horizon's orders at once: it pulls the next
 * chunk from its source when its clock has requested every order it holds
 * (engine.h, "Orders in and out"), so that a month of orders never has to
 * sit in memory. A source hands out trips in (request time, id) order,
 * each chunk after the one before, until it says there are no more.
 *
 * Two sources are here: an array held whole (sim_order_source_array, what
 * sim_engine_new takes), handed out in chunks of a given size, and the
 * synthetic city day by day (sim_order_source_synth), which generates each
 * day when the engine reaches it. Others (a trip store read by time range)
 * can be written against the same three fields.
 *
 * Ownership: the engine owns its source and closes it (close, which frees
 * ctx) when it is freed, also when its creation fails. A chunk's trips
 * belong to the source and stay valid until the next call of next().
 */
#ifndef SIM_SOURCE_H
#define SIM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/tripstore.h"

typedef struct {
  void *ctx;
  /* The next chunk: *trips points at *n trips, in (request time, id) order
   * after every trip handed out before. *n = 0: no more (and every later
   * call says so too). Returns 0 or a negative rs_code with a message in
   * e. */
  int (*next)(void *ctx, const city_trip **trips, size_t *n, rs_err *e);
  /* Frees ctx and what it holds; NULL when there is nothing to free. */
  void (*close)(void *ctx);
} sim_order_source;

/* Closes src (when it has a close) and empties it. */
void sim_order_source_close(sim_order_source *src);

/* The n trips of an array (taken over: freed when the source closes or
 * runs dry, also when this call fails), `chunk` at a time (0: all at
 * once). Returns 0 or RS_ENOMEM. */
int sim_order_source_array(city_trip *trips, size_t n, size_t chunk, sim_order_source *out,
                           rs_err *e);

/* The synthetic city's demand over days: day k (0 from `day`) is
 * city_synth_generate's day of n_per_day orders for seed
 * sim_order_source_synth_seed(seed, k), with ids k * n_per_day + 1 and
 * up, kept when requested in [t0, t1). Day 0 comes from `first` (taken
 * over, freed like the array's: the caller's copy of day 0 already
 * generated and cut to [t0, t1), or NULL to generate it too), then one
 * day at a time as the engine asks. The city must outlive the source.
 * Returns 0 or RS_ENOMEM. */
int sim_order_source_synth(const city_def *city, uint64_t seed, size_t n_per_day, int64_t day,
                           int32_t days, int64_t t0, int64_t t1, city_trip *first,
                           size_t n_first, sim_order_source *out, rs_err *e);
/* The seed of the synthetic city's day k of a run of seed `seed`: the
 * seed itself for day 0 (a one-day run is the day it always was), a mix
 * of it and k after. */
uint64_t sim_order_source_synth_seed(uint64_t seed, int32_t k);

#endif

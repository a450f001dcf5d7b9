/*
 * recorded: the recorded trips a travel model is measured on.
 *
 * Calibration (calibrate.h) and validation (validate.h) compare a travel
 * model's drive between a trip's two ends, leaving at its request time,
 * with what the trip recorded: its duration (dropoff - request), its
 * taximeter distance and its fare. A trip of a store counts only when its
 * record says something about driving; it is left out, with the first
 * reason that applies, when it
 *   - has no dropoff time (nothing to compare a duration with);
 *   - lasted less than CITY_REC_MIN_S: a meter started and stopped at the
 *     kerb (the raw TLC files hold such records of 2 to 59 s, most with no
 *     distance);
 *   - lasted more than CITY_REC_MAX_S: a meter left running (the raw TLC
 *     files hold records of 23 to 24 hours for trips of a few km);
 *   - has a recorded distance of 0: a meter that counted no distance (a
 *     record without a distance at all is kept);
 *   - with a road network, has an end farther than CITY_NET_SNAP_LIMIT_M
 *     from every node (off the network: its drive would be mostly access
 *     leg, which says nothing about the network's streets).
 * With a network every model is measured on the trips kept for it, so that
 * two models compare on the same trips.
 *
 * Costs: selection O(n log nodes) (one snap per end with a network).
 * Ownership: a set owns its copies of the kept trips.
 */
#ifndef CITY_RECORDED_H
#define CITY_RECORDED_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/roadnet.h"
#include "city_data/tripstore.h"

#define CITY_REC_MIN_S 60    /* shorter records are meters started and stopped at the kerb
                                (the shared TLC mornings' source kept 60 s and more too) */
#define CITY_REC_MAX_S 10800 /* 3 h: longer records are meters left running; an airport
                                trip in traffic takes up to 2 h */

/* Why a trip is left out: name, text. */
#define CITY_REC_REASONS(X)                                        \
  X(NO_DROPOFF, "no dropoff time")                                 \
  X(SHORT, "shorter than 60 s")                                    \
  X(LONG, "longer than 3 h")                                       \
  X(NO_DISTANCE, "a recorded distance of 0")                       \
  X(OFF_NETWORK, "an end over 500 m from the network")

typedef enum {
  CITY_REC_KEPT = 0,
#define X(name, text) CITY_REC_##name,
  CITY_REC_REASONS(X)
#undef X
  CITY_REC_N_WHY
} city_rec_why;

typedef struct {
  city_trip *trips;              /* the kept trips (copies), in the input's order; owned */
  size_t n;                      /* kept */
  int64_t n_read;                /* trips examined */
  int64_t left_out[CITY_REC_N_WHY]; /* by reason ([CITY_REC_KEPT] unused, 0) */
  int64_t n_daytype[2];          /* kept trips requested on weekdays, on weekends */
  int network;                   /* selected for a network (OFF_NETWORK applied) */
} city_rec_set;

/* The reason's text ("no dropoff time"; "kept" for CITY_REC_KEPT). */
const char *city_rec_why_text(city_rec_why w);
/* The verdict on one trip; net NULL: no network test. */
city_rec_why city_rec_check(const city_trip *t, const city_net *net);

/* Selects the trips that count (net NULL: without a network). RS_ENOMEM,
 * with out empty. */
int city_rec_select(const city_trip *trips, size_t n, const city_net *net, city_rec_set *out,
                    rs_err *e);
void city_rec_free(city_rec_set *s);

/* A kept trip's recorded duration, seconds. */
static inline double city_rec_secs(const city_trip *t) {
  return (double)(t->t_dropoff - t->t_request);
}

/* Every trip of a store, with its city: city_name (a built-in name or a
 * JSON file; NULL: the city the store names) is resolved into *city, which
 * must be the store's (same name; the store checks its grid). The trips
 * are a new array the caller frees. RS_ENOENT / RS_EFORMAT (not a store),
 * RS_EINVAL (a store of another city, or of none), RS_EMPTY (no trips). */
int city_rec_load(const char *db, const char *city_name, city_def *city, city_trip **trips,
                  size_t *n, rs_err *e);

#endif

/*
 * kepler: a stored run's trajectories as kepler.gl layers (`ridesim export
 * --format kepler`), made by running the run again (view/replay.h).
 *
 * DIR/trips.geojson: a FeatureCollection of LineStrings, one per spell of
 * a driver (idle, pickup, occupied, repositioning; offline spells are not
 * drawn), each vertex [lng, lat, 0, t] with t in Unix seconds (kepler.gl's
 * trip layer animates them), properties driver, state, order (the trip's
 * id, or null), t0 and t1. A spell's first vertex is where and when it
 * began, its last where and when it ended; an idle driver's moves add a
 * pair of vertices (left, arrived) at the move's time. A move is drawn
 * straight from its start to its end, as the live viewer draws it.
 *
 * DIR/orders.geojson: a FeatureCollection of Points, one per order
 * requested in the run (the results DB's orders, in order), at its pickup,
 * with properties id, status, t_request (and t_match, t_pickup, t_dropoff
 * when they happened, Unix seconds), wait_s, fare, dropoff [lng, lat].
 *
 * How: the engine is stepped one simulated second at a time (every event
 * time is a whole second) and, after a second with events, every driver's
 * view (sim/engine.h) is compared with its previous one: a new state,
 * order or move start closes the spell. Times come from the engine's own
 * records (a move's departure, a spell's start), not from the stepping.
 * A spell that begins and ends within one second (a pickup of zero time)
 * leaves no feature; a trip lasts at least a second, so every trip is one
 * occupied feature. Cost: O(seconds + drivers x seconds with events).
 */
#ifndef VIEW_KEPLER_H
#define VIEW_KEPLER_H

#include <stdint.h>

#include "base/rs_error.h"
#include "view/replay.h"

typedef struct {
  int64_t features;      /* trip features written */
  int64_t vertices;      /* their vertices */
  int64_t occupied;      /* of the features, occupied spells (trips) */
  int64_t orders;        /* order points written */
} view_kepler_stats;

/* Writes the two files into dir (created when missing). RS_EIO naming the
 * file, RS_ENOMEM, or the run's errors. */
int view_kepler_export(const view_stored *st, const char *dir, view_kepler_stats *out,
                       rs_err *e);

#endif

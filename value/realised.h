/*
 * realised: what drivers actually earned from the states of a value table,
 * to hold a table against a run (`ridesim value info VALUE.db --against
 * RESULTS.db`).
 *
 * What is compared, exactly. The states are the moments drivers became
 * idle at a dropoff: driver d idle in the trip's dropoff cell at its dropoff
 * time t. The realised value of that state is the driver's discounted
 * future income in the run,
 *   G = sum over d's later completed trips j of
 *       gamma^((pickup_j - t) / P) x fare_j spread over its ride
 *       (val_trip_reward(fare_j, pickup_j - t, dropoff_j - pickup_j)),
 * with the table's gamma and period: the quantity V(cell, t) estimates for
 * the policy that ran. The table's side is V(dropoff cell, t) as the
 * policies read it (fallbacks included). Trips still running at the run's
 * end, and everything after it, count for nothing: late states are
 * truncated by the horizon, which a table for a continuing world is not.
 * Fleet starts and repositioning arrivals are not states here (the results
 * do not record where a driver was then).
 *
 * By hour of the day: the number of states, the means of G and of V, and,
 * over the cells with at least VAL_REALISED_MIN_CELL states in that hour,
 * the standard deviation across cells of each side's cell means and their
 * correlation: whether the table ranks places as the run paid them.
 */
#ifndef VAL_REALISED_H
#define VAL_REALISED_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "value/vtable.h"

#define VAL_REALISED_MIN_CELL 20

/* A completed trip of a run. */
typedef struct {
  int32_t driver;
  int64_t t_pickup, t_dropoff;  /* local epoch */
  int32_t dcell;                /* dropoff cell, -1 off the grid */
  double fare;
} val_done_trip;

/* One hour of the comparison. */
typedef struct {
  int64_t n;                    /* states */
  double real_mean, table_mean; /* means of G and of V over them */
  int32_t cells;                /* cells with enough states */
  double real_sd, table_sd;     /* across those cells, of the cell means */
  double corr;                  /* correlation of the cell means (NAN: < 3 cells) */
} val_realised_hour;

/* Compares t with the run's trips, sorted by (driver, t_pickup). out has 24
 * hours. RS_EINVAL when the trips are not sorted; RS_ENOMEM. */
int val_realised_by_hour(const val_table *t, const val_done_trip *x, size_t n,
                         val_realised_hour out[24], rs_err *e);

#endif

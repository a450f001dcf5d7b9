/*
 * train: offline policy evaluation of the value table on historical trips
 * (Xu et al., KDD 2018, "Large-Scale Order Dispatch in On-Demand Ride-Hailing
 * Platforms: A Learning and Planning Approach").
 *
 * Every trip is a transition from (pickup cell, request time) to (dropoff
 * cell, dropoff time) earning its fare. Transitions are processed backward
 * in time, each one moving its start state to the running mean of its
 * targets:  V(s) += (1 / N(s)) [R_gamma + gamma^dt V(s') - V(s)],  N(s)
 * counting the state's transitions in the current pass. A pass therefore
 * sets every visited state to the mean target of its transitions, reading
 * later states as already updated; passes repeat until the largest change of
 * a pass falls below the tolerance (trips shorter than a slot make a state
 * depend on states of its own slot, which one pass cannot settle).
 *
 * Trip times and fares come from the data where present and from the city's
 * travel model otherwise (city_travel_trip), exactly as the engine
 * replays them, so offline and online values measure the same income.
 */
#ifndef VAL_TRAIN_H
#define VAL_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "city_data/city.h"
#include "city_data/travel.h"
#include "city_data/tripstore.h"
#include "base/rs_error.h"
#include "value/vtable.h"

#define VAL_TRAIN_PASSES_DEFAULT 300 /* about 0.9 per pass: 60 -> 1e-6 in ~170 */
#define VAL_TRAIN_TOL_DEFAULT 1e-6   /* money units: well below a cent */

typedef struct {
  int32_t max_passes;
  double tol;                  /* stop when a pass changes no value more */
  /* Called after each pass (may be NULL). */
  void (*on_pass)(void *arg, int32_t pass, double max_change, double mean_change);
  void *arg;
} val_train_opts;

typedef struct {
  int32_t passes;              /* passes run */
  double last_max_change;
  int64_t transitions;         /* trips used */
  int64_t skipped;             /* trips whose pickup lies off the grid */
} val_train_report;

void val_train_defaults(val_train_opts *o);

/* Trains t (whose grid is that of the travel model's city) on the trips,
 * in any order (they are sorted internally). The table's previous values are the starting point.
 * A pass's change is measured, state by state, against what the table
 * answered for the state before the pass touched it. RS_EEMPTY, with the
 * table unchanged, when no trip starts on the grid. */
int val_train(val_table *t, const city_travel *travel, const city_trip *trips, size_t n,
              const val_train_opts *o, val_train_report *rep, rs_err *e);

#endif

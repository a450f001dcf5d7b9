/*
 * train: offline policy evaluation of the value table on historical trips
 * (Xu et al., KDD 2018, "Large-Scale Order Dispatch in On-Demand Ride-Hailing
 * Platforms: A Learning and Planning Approach").
 *
 * Every trip is a transition from (pickup cell, request time) to (dropoff
 * cell, dropoff time) earning its fare, spread over the ride and discounted
 * in continuous time (vtable.h). A state's value is the mean target of its
 * transitions,  V(s) = (1 / N(s)) sum_i [R_gamma,i + gamma^(dt_i / P) V(s'_i)],
 * shrunk towards a prior by k pseudo-transitions (prior_trips: sparse states
 * lean on the prior, busy ones on their data),
 * a linear system solved exactly (to the tolerance) rather than swept:
 *
 *   - the time-free layer U first (unless cut_at_end): the same equations
 *     with states (day type, cell), solved by Gauss-Seidel sweeps; it is the
 *     value of every state the data never visits, past the data's last slot
 *     included, so a trip that ends after the window keeps its future;
 *   - then V slot by slot, latest first: a trip reads later slots, already
 *     final, or its own slot, whose states form a small system (trips
 *     shorter than a slot, same-slot loops) solved by Gauss-Seidel with each
 *     state's own loops (s' = s) taken out exactly. One pass is exact when
 *     no trip ends in an earlier slot than it started (a window that does
 *     not wrap round midnight); otherwise passes repeat until none changes a
 *     value by the tolerance.
 *
 * Idle time: history has trips only, so the values are the income of a
 * driver who always finds the next rider where the last one left: above what
 * a fleet earns. A simulated replay adds idle steps (`ridesim train
 * --online`, the online learner; docs in README "Value function").
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

#define VAL_TRAIN_PASSES_DEFAULT 20   /* one is exact without wrap-round */
#define VAL_TRAIN_SWEEPS_DEFAULT 5000 /* per slot (and for the layer): a bound, not a cost */
#define VAL_TRAIN_TOL_DEFAULT 1e-6    /* money units: well below a cent */
#define VAL_TRAIN_PRIOR_TRIPS_DEFAULT 5.0 /* pseudo-trips of the prior per state
                                          (a slot of a busy cell has hundreds
                                          over five days; a state with one
                                          zero-length trip back into itself
                                          would otherwise be worth R / (1 -
                                          gamma^(1 s / P)), thousands) */

typedef struct {
  int32_t max_passes;
  int32_t max_sweeps;          /* Gauss-Seidel sweeps per slot and layer */
  double tol;                  /* stop when a sweep / pass changes no value more */
  int cut_at_end;              /* 1: no time-free layer; a state the data never
                                  visits reads the older fallback (0 past the
                                  data's end): the episode ends with the data */
  double prior_trips;          /* k: each state's mean target counts its prior
                                  as k more transitions, V(s) = (sum of
                                  targets + k prior) / (N + k); the prior of V
                                  is U(cell), that of U the mean of U over
                                  cells (no prior, k unused, when cut_at_end) */
  /* Called after each pass (may be NULL). */
  void (*on_pass)(void *arg, int32_t pass, double max_change, double mean_change);
  void *arg;
} val_train_opts;

typedef struct {
  int32_t passes;              /* passes run */
  double last_max_change;      /* of the last pass */
  int64_t sweeps;              /* Gauss-Seidel sweeps of V over all slots and passes */
  int32_t max_slot_sweeps;     /* the most any one slot took in one pass */
  int32_t free_sweeps;         /* sweeps of the time-free layer */
  int64_t transitions;         /* trips used */
  int64_t skipped;             /* trips whose pickup lies off the grid */
} val_train_report;

/* A transition as the solver takes it. */
typedef struct {
  int64_t id;                  /* a stable id: ties in the solver's order */
  int64_t t0, t1;              /* start and end, local epoch seconds (t1 > t0) */
  int32_t cell0, cell1;        /* cells; cell1 -1 ends the episode */
  double r_gamma;              /* reward discounted to t0 (val_trip_reward) */
} val_transition;

void val_train_defaults(val_train_opts *o);

/* Trains t (whose grid is that of the travel model's city) on the trips,
 * in any order. The table's previous values are the starting point of the
 * iterations, and the fallback of what the trips do not visit. A pass's
 * change is measured, state by state, against what the table answered for
 * the state before the pass. RS_EEMPTY, with the table unchanged, when no
 * trip starts on the grid. */
int val_train(val_table *t, const city_travel *travel, const city_trip *trips, size_t n,
              const val_train_opts *o, val_train_report *rep, rs_err *e);

/* The same on transitions built by the caller (cells on t's grid; a start
 * off it is skipped and counted). */
int val_train_transitions(val_table *t, const val_transition *x, size_t n,
                          const val_train_opts *o, val_train_report *rep, rs_err *e);

#endif

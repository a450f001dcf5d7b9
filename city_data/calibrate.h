/*
 * calibrate: fitting a travel model's hourly speeds to recorded trips.
 *
 * The method is COMSET's (GIS Cup 2020): the mean modelled trip time of an
 * hour must equal the mean recorded time of the trips that start in it.
 * Each hour's parameter is multiplied by the ratio of sums
 *
 *   k <- k x sum(recorded seconds) / sum(modelled seconds)
 *
 * over that hour's trips (recorded.h says which trips count), where k
 * scales the model's time: the great-circle model's speed of the hour is
 * divided by it, the road network's speed factor multiplied. The
 * great-circle time is proportional to 1 / speed, so one step is exact; the
 * network's time is an affine function of its factor (the access legs are
 * driven at the city's speed), so the step is repeated until every hour's
 * ratio is within `tol` of 1 (it converges geometrically, at the rate of
 * the access legs' share of the time: a few steps). A model's time at t
 * depends only on the parameter of t's hour (and day type), so the hours
 * are fitted independently and all at once.
 *
 * Hours with fewer than min_trips trips (30 by default: below that the
 * mean of a handful of trips is mostly noise) are not fitted on their own;
 * in this order they take
 *   1. the mean multiplier k of their neighbouring hours (h - 1, h + 1, the
 *      same day type) that were fitted on their own;
 *   2. else the day type's overall multiplier: one k for all the hours of
 *      the day type, fitted by the same ratio of sums on all its trips (when
 *      it has min_trips);
 *   3. else the overall multiplier, fitted on every trip (when there are
 *      min_trips);
 *   4. else k = 1: the starting value is kept.
 * A multiplier applies to the hour's own starting value, so an hour far
 * from any data keeps its starting place in the daily profile (Manhattan's
 * faster night, say) scaled by what the data says overall.
 *
 * Day types: the great-circle model has one speed per hour for every day
 * (a city's speed_mps_by_hour). The network model has factors per hour and
 * day type (weekday, weekend): they are fitted per day type when each has
 * min_trips trips (day_types 0, automatic), else one profile serves both
 * (starting from the weekday factors).
 *
 * Values are kept within what a city definition loads (speeds in
 * [CITY_SPEED_MIN_MPS, CITY_SPEED_MAX_MPS], factors in (0,
 * CITY_NET_FACTOR_MAX]); an hour held at a bound is marked clamped.
 *
 * Cell factors (field.h; `field`, on by default). Before the hourly fit,
 * each model's place factors k (one per grid cell its trips drive through)
 * are fitted with its hourly scales s (1 / speed, or the network factor)
 * by alternating, from k = 1:
 *   1. each group's s by the ratio of sums, with k held (groups: the day
 *      type's hours with min_trips trips, and one group of every other
 *      trip);
 *   2. k by least squares on the relative errors, with s held:
 *        min  sum_i ((m_i - r_i) / r_i)^2 + prior x sum_z (k_z - 1)^2,
 *        m_i = a_i + s_g(i) x sum_z k_z F_iz,
 *      where F_iz is trip i's driving time in cell z before factors (the
 *      network: free-flow seconds of its fastest route's links, spread
 *      over the points field.h visits along each link; the great circle:
 *      the drive's metres spread along its line), a_i its access legs
 *      (network; 0 otherwise) and r_i its recorded time; a sparse system
 *      of one row per trip, solved densely (Cholesky) in the cells;
 *   3. k scaled so that its mean weighted by the trips' driving time is 1
 *      (the hourly scales keep the level), each k kept in
 *      [CITY_FIELD_K_MIN, CITY_FIELD_K_MAX];
 * until no k moves by more than CITY_CALIB_FIELD_TOL (or
 * CITY_CALIB_FIELD_ITERS passes). The prior (CITY_CALIB_FIELD_PRIOR) pulls
 * a cell with little driving in it toward 1: a cell moves half-way to
 * what its own trips say when about `prior` trips drive their whole time
 * in it. Relative errors weigh every trip alike, short or long, as the
 * validation's percentage errors do. On a network the routes depend on
 * the factors: the fit is repeated CITY_CALIB_FIELD_ROUNDS times, the
 * later rounds on the fastest routes of the network retimed by the
 * previous round's factors. Then the hourly fit above runs on the model
 * with its factors, so that each hour's mean is matched exactly.
 *
 * Rejected, measured on the raw TLC heads (docs/network.md, "What shapes
 * trip times"): a fixed time per trip (an intercept c in c + f t: least
 * squares on relative errors puts it between -18 and +19 s in the busiest
 * hours), a factor for the network's fast links (it cuts the long trips'
 * bias, but routes move onto those links and the distances and fares get
 * worse), time per link or per turn (no better than the hour's factor
 * alone).
 *
 * Costs: one drive per trip per step (a table read or a hub-label merge);
 * the cell factors one route walk per trip and round, and one Cholesky
 * factorisation (cells^3 / 6) per pass. Nothing is retained: the fit is
 * returned by value.
 */
#ifndef CITY_CALIBRATE_H
#define CITY_CALIBRATE_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/recorded.h"
#include "city_data/travel.h"
#include "city_data/travel_net.h"

#define CITY_CALIB_MIN_TRIPS 30  /* an hour's own fit needs this many trips */
#define CITY_CALIB_MAX_STEPS 200 /* ratio-of-sums steps at most */
#define CITY_CALIB_TOL 1e-9      /* |sum recorded / sum modelled - 1| to stop at */
#define CITY_CALIB_FIELD_PRIOR 30.0 /* trips' worth of driving that move a cell's factor
                                       half-way from 1 to its own fit: the least held-out
                                       duration MAPE of 1, 3, 10, 30, 100, 300 on the raw
                                       TLC heads (calibrated on 2015-01 + 2016-01,
                                       validated on 2016-02 + 2016-03; docs/network.md) */
#define CITY_CALIB_FIELD_ITERS 100  /* alternating passes at most */
#define CITY_CALIB_FIELD_TOL 1e-6   /* stop when no cell factor moves more */
#define CITY_CALIB_FIELD_ROUNDS 2   /* network: fits, each on the routes of the last */
#define CITY_CALIB_FACTOR_MIN 0.01 /* network factors below: links 100 times faster
                                      than free flow, a fit gone wrong */

/* Where an hour's value came from. */
#define CITY_CALIB_SOURCES(X)                                         \
  X(OWN, "own")                                                       \
  X(NEIGHBOURS, "neighbours")                                         \
  X(DAYTYPE, "day type")                                              \
  X(ALL, "all trips")                                                 \
  X(START, "start")

typedef enum {
#define X(name, text) CITY_CALIB_##name,
  CITY_CALIB_SOURCES(X)
#undef X
  CITY_CALIB_N_SOURCES
} city_calib_source;

typedef struct {
  int32_t min_trips;  /* an hour's own fit needs this many trips */
  int32_t max_steps;  /* ratio-of-sums steps at most */
  double tol;         /* stop when every ratio is within tol of 1 */
  int day_types;      /* network: 0 automatic, 1 one profile, 2 weekday and weekend */
  int field;          /* also fit cell factors (default 1); 0 clears the model's */
  double field_prior; /* CITY_CALIB_FIELD_PRIOR unless changed (> 0) */
} city_calib_opts;

void city_calib_defaults(city_calib_opts *o);

/* A fit: [day type][local hour]; with one day type, [1] is a copy of [0]. */
typedef struct {
  int network;                /* the network's factors (else the city's speeds) */
  int day_types;              /* 1 or 2 */
  double start[2][24];        /* speeds (m/s) or factors before */
  double value[2][24];        /* ... after */
  double k[2][24];            /* the time multiplier: value / start (network),
                                 start / value (speeds) */
  int64_t n[2][24];           /* trips of the hour */
  double rec_s[2][24];        /* their mean recorded duration, s (0: none) */
  double mod_s[2][24];        /* their mean modelled duration after the fit, s */
  city_calib_source source[2][24];
  int clamped[2][24];         /* held at a bound */
  int32_t steps;              /* steps of the hourly fit */
  double max_dev;             /* the largest |ratio - 1| of an own, unclamped hour after
                                 the fit */
  int64_t n_trips;            /* trips fitted on */
  int32_t field_cells;        /* cell factors fitted (0: none) */
  double field_lo, field_hi;  /* their smallest and largest */
  int32_t field_iters;        /* alternating passes of the last round */
  double field_moved;         /* the largest change of a factor in its last pass */
} city_calib_fit;

const char *city_calib_source_text(city_calib_source s);

/* Fits the great-circle model's speeds of `city` (speed_mps_by_hour,
 * changed in place) and, with o->field, its cell_factors (else cleared) to
 * the recorded trips. RS_EEMPTY (city unchanged) when the set is empty. */
int city_calib_speeds(city_def *city, const city_rec_set *set, const city_calib_opts *o,
                      city_calib_fit *fit, rs_err *e);

/* Fits a road-network model's factors (city_travel_net_set_factors) and,
 * with o->field, its cell factors (city_travel_net_set_field; else the
 * model drives free flow) to the recorded trips, which should be selected
 * for its network. city, when not NULL, receives them as its
 * network_factors (and their cells), with the content hash of the network
 * as loaded. RS_EINVAL (not a network model), RS_EEMPTY; the city is
 * unchanged then, and so is the model unless the failure came after its
 * cell factors were set (then it drives them). */
int city_calib_network(city_travel *tm, const city_rec_set *set, const city_calib_opts *o,
                       city_calib_fit *fit, city_def *city, rs_err *e);

/* Opens the network model of a city for calibration: as
 * city_travel_net_open (o NULL: the defaults), except that it drives free
 * flow whatever cell factors the city has (no_field), and that
 * network_factors of the city fitted to another network are dropped from
 * *city, with their cells (the fit starts from the derived factors),
 * instead of refused. *dropped says whether they were. */
int city_calib_open_network(city_def *city, const char *path, const city_net_model_opts *o,
                            city_travel *out, int *dropped, rs_err *e);

/* Writes a city definition (city_def_to_json: it loads back identical) to
 * path, through a temporary file beside it renamed into place: a reader
 * never sees half a file, and a failed write leaves path as it was.
 * RS_EIO, RS_ENOMEM. */
int city_calib_save(const city_def *city, const char *path, rs_err *e);

#endif

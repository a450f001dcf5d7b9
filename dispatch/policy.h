/*
 * policy: the two small interfaces through which the engine asks what to do.
 * The registry (registry.h) finds a policy by name and builds it.
 *
 * Dispatch. At every dispatch tick (and, for policies that say `immediate`,
 * as each order arrives) the engine hands the policy a disp_tick: the waiting
 * orders and, for each, its candidate idle drivers within the radius, nearest
 * first (candidates.h builds it). The policy writes (order, driver) pairs into
 * the tick's assignment buffer. The engine applies them in the order given
 * and ignores a pair whose order or driver is already taken, so a faulty
 * policy cannot break its invariants.
 *
 * Repositioning. At every repositioning round the engine hands the policy
 * the drivers idle for at least the threshold; the policy writes a
 * destination for those it moves (the others stay). Destinations are cells
 * in service (disp_repo.in_service); the engine treats any other as "stay".
 *
 * A policy is a struct of function pointers plus a context pointer; it owns
 * the context and frees it in destroy(). dispatch/ knows nothing of libuv or
 * of the engine's internals: it sees the world only through these structs.
 */
#ifndef DISP_POLICY_H
#define DISP_POLICY_H

#include <stdint.h>

#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/travel.h"
#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_error.h"

/* An order as policies see it (read-only, fixed for the run). */
typedef struct {
  int64_t id;         /* trip id from the store */
  int64_t source_id;  /* the source's own id (KDD Cup order_id), -1 when none */
  int64_t t_request;  /* local-epoch seconds */
  double plat, plng;  /* pickup */
  double dlat, dlng;  /* dropoff */
  double pu[3];       /* pickup as a unit vector (rs_unit_vector) */
  int32_t pcell, dcell; /* grid indices (-1 outside the grid) */
  double fare;        /* what the driver earns on completion */
  int32_t duration_s; /* trip time from pickup to dropoff */
  int32_t pnode, dnode; /* the travel model's nodes of both ends (-1: none) */
} disp_order;

/* Driver states. */
enum {
  DISP_OFFLINE = 0,
  DISP_IDLE,
  DISP_PICKUP,       /* driving to a matched rider */
  DISP_OCCUPIED,     /* carrying a rider */
  DISP_REPOSITION,   /* driving to a repositioning destination */
  DISP_N_STATES
};

/* A driver as policies see it: one cache line (the engine allocates its
 * array 64-byte aligned, so no record straddles two lines). */
typedef struct {
  double lat, lng;    /* position at the last event */
  double u[3];        /* the same as a unit vector (rs_unit_vector) */
  int32_t cell;       /* grid index of (lat, lng) */
  int32_t state;      /* DISP_* */
  int64_t idle_since; /* when the current idle spell began */
  int32_t node;       /* the travel model's node of (lat, lng), -1: none */
  int32_t reserved;   /* unused: pads the record to 64 bytes */
} disp_driver;
_Static_assert(sizeof(disp_driver) == 64, "a driver record is one cache line");

/* Where a driver is, an order's pickup and its dropoff, as the ends of a
 * drive (city_data/travel.h). */
static inline city_loc disp_driver_loc(const disp_driver *d) {
  city_loc l = {d->lat, d->lng, d->node};
  return l;
}
static inline city_loc disp_order_pickup(const disp_order *o) {
  city_loc l = {o->plat, o->plng, o->pnode};
  return l;
}
static inline city_loc disp_order_dropoff(const disp_order *o) {
  city_loc l = {o->dlat, o->dlng, o->dnode};
  return l;
}

typedef struct {
  int32_t order;      /* order index */
  int32_t driver;     /* driver index */
} disp_assign;

/* One dispatch decision: waiting orders and their candidate graph (CSR). */
typedef struct {
  int64_t now;
  const city_def *city;
  const city_travel *travel;  /* how drives are timed (city_data/travel.h) */
  const city_grid *grid;
  const disp_order *orders;   /* all orders of the run, by index */
  const disp_driver *drivers; /* all drivers, by index */
  int32_t n_drivers;
  int32_t n_rows;             /* waiting orders in this decision */
  const int32_t *row_order;   /* order index of each row, request order */
  const int32_t *row_ptr;     /* n_rows + 1 offsets into the edge arrays */
  const int32_t *edge_driver; /* candidate driver, nearest first per row */
  const double *edge_dist;    /* pickup distance, metres (city_travel_pickup_m:
                                 road metres on a road network, else
                                 great-circle metres) */
  const double *edge_eta;     /* pickup time, seconds (the travel model's) */
  const uint8_t *row_capped;  /* per row: lost edges to the per-driver cap */
  double radius_m;            /* the candidate radius */
  pcg32 *rng;                 /* the policy's own stream */
  disp_assign *out;           /* room for n_rows pairs */
  int32_t n_out;              /* pairs written */
} disp_tick;

typedef struct {
  int64_t now;
  const city_def *city;
  const city_travel *travel;  /* how drives are timed */
  const city_grid *grid;
  const disp_driver *drivers;
  int32_t n_eligible;
  const int32_t *eligible;    /* drivers idle for at least the threshold */
  const uint8_t *in_service;  /* per cell of grid: 1 when in the city's
                                 service area (city_def_service_cells), the
                                 only cells a driver may be sent to; NULL:
                                 every cell */
  pcg32 *rng;
  int32_t *dest_cell;         /* per eligible driver: destination or -1 (stay) */
} disp_repo;

/* Returned by a dispatch or reposition callback that will answer later
 * (sim/engine.h: sim_engine_resume). */
#define DISP_PENDING 1

typedef struct disp_policy {
  const char *name;
  int immediate;  /* also called for each order as it arrives */
  int maximal;    /* leaves no order unmatched while one of its candidates
                     is free; lets the engine skip orders that cannot have
                     gained a candidate since their last decision */
  int32_t driver_top_k; /* > 0: each driver is offered only its nearest
                     driver_top_k waiting orders of a tick (candidates.h) */
  int32_t one_row_k; /* > 0: a decision over one order looks at no more
                     than its one_row_k nearest candidates, so the engine
                     searches only that many (fcfs-nearest: 1) */
  void *ctx;
  int (*dispatch)(void *ctx, disp_tick *tick, rs_err *e);
  /* Optional (NULL when none): the per-tick solver statistics so far. */
  const struct disp_solve_stat *(*solve_stats)(void *ctx, int32_t *n);
  void (*destroy)(void *ctx);
} disp_policy;

typedef struct disp_repolicy {
  const char *name;
  int inert;      /* moves nobody, ever: the engine skips its rounds */
  void *ctx;
  int (*reposition)(void *ctx, disp_repo *r, rs_err *e);
  void (*destroy)(void *ctx);
} disp_repolicy;

/* What the engine reports after each dispatch tick to an observer (the
 * value learner): the pairs matched at this tick with their pickup times,
 * and every driver (those idle at the end of the tick idled through it). */
typedef struct {
  int64_t now;
  int32_t tick_s;             /* time until the next tick */
  const disp_order *orders;
  const disp_driver *drivers;
  int32_t n_drivers;
  const disp_assign *matched; /* pairs matched at this tick */
  const double *matched_eta;  /* their pickup times, seconds */
  int32_t n_matched;
} disp_report;

typedef struct {
  void *ctx;
  void (*observe)(void *ctx, const disp_report *r);
} disp_observer;

/* Solver statistics a batch policy keeps (per tick, appended by the policy). */
typedef struct disp_solve_stat {
  int64_t t;          /* tick time */
  int32_t orders, drivers, edges; /* graph size */
  double solve_us;    /* solver wall time, microseconds */
} disp_solve_stat;

/* Options the policies take (from the scenario). */
typedef struct {
  double radius_m;
  int32_t top_k;         /* candidate drivers per order */
  int32_t driver_top_k;  /* batch policies: candidate orders per driver */
} disp_options;

/* A policy that needs no model of the city, by name, with every option of
 * the registry at its default (dispatch/registry.h builds them all, with
 * the scenario's options): RS_EINVAL naming the known ones, or saying that
 * the policy needs a model. o may be NULL (no driver_top_k). */
int disp_policy_new(const char *name, const disp_options *o, disp_policy *p,
                    rs_err *e);
void disp_policy_destroy(disp_policy *p);
int disp_repolicy_new(const char *name, const disp_options *o,
                      disp_repolicy *p, rs_err *e);
void disp_repolicy_destroy(disp_repolicy *p);

/* The built-in policies of policies.c, as the registry builds them.
 * greedy: fcfs-nearest (random 0) or random (1); batch-distance offers
 * each driver its driver_top_k nearest orders (0: all). RS_ENOMEM. */
int disp_greedy_new(int random, disp_policy *p, rs_err *e);
int disp_batch_distance_new(int32_t driver_top_k, disp_policy *p, rs_err *e);
void disp_stay_new(disp_repolicy *p);
void disp_random_walk_new(disp_repolicy *p);

#endif

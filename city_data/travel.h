/*
 * travel: how a city's taxis move, behind one interface.
 *
 * Everything in ridesim that needs to know how long a drive takes, how many
 * metres it covers, where a driver is part-way along it, or what a trip
 * pays asks a city_travel: the engine (pickups, trips, repositioning, idle
 * moves, a driver's position when a move is cut short), the candidate graph
 * (pickup times of candidate pairs), v1d3 (travel times to repositioning
 * targets) and offline training (trip times and fares). So the match a
 * policy saw in the candidate graph and the drive the engine simulates come
 * from the same call with the same inputs, and a new way of moving is one
 * backend, chosen once when a run is set up.
 *
 * A backend is a struct of function pointers plus a context (as Redis's ae
 * event loop picks ae_epoll.c or ae_kqueue.c behind its aeApi* calls):
 *
 *   travel_gc.c   great-circle distance x the city's detour factor, at the
 *                 city's mean speed for the hour of departure (times the
 *                 mean of its cell factors along the line, field.h);
 *   travel_net.c  shortest drives on a road network (roadnet.h), free-flow
 *                 times scaled by per-hour factors (and, link by link, by
 *                 the city's cell factors for the network).
 *
 * Places. A drive goes between two city_loc: a point and the backend's node
 * for it (city_travel_snap; -1 where a backend has no nodes). Callers snap
 * a point once (an order's ends, a cell's centre) and carry the node.
 *
 * Determinism: every function is pure (same inputs, same bits); none
 * allocates or fails after city_travel_new.
 */
#ifndef CITY_TRAVEL_H
#define CITY_TRAVEL_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"

/* A point on the map, as drives start and end. */
typedef struct {
  double lat, lng;    /* degrees */
  int32_t node;       /* the backend's node, -1 when it has none */
} city_loc;

/* A drive. */
typedef struct {
  double secs;        /* driving time, seconds */
  double metres;      /* road metres driven */
} city_leg;

typedef struct city_travel_ops {
  const char *name;   /* "great-circle", ... */
  int nodes;          /* places have nodes (snap answers >= 0) */
  /* Ranking candidates by great-circle distance ranks them by pickup time
   * (the time grows with the distance): the candidate search then keeps its
   * nearest-first order without asking for times first. */
  int gc_monotone;
  /* A pickup's distance (city_travel_pickup_m) is the drive's road metres;
   * 0: the great-circle metres the candidate search measured. */
  int road_pickup_m;
  /* The backend's node for a point, -1 when it has none. */
  int32_t (*snap)(void *ctx, double lat, double lng);
  /* The drive from a to b leaving at t. known_m > 0 is a recorded length of
   * this drive (a taximeter's): the drive is then that long, and its time
   * is the backend's for that length. */
  void (*leg)(void *ctx, const city_loc *a, const city_loc *b, int64_t t, double known_m,
              city_leg *out);
  /* The pickup drive of a candidate pair whose great-circle distance gc_m
   * (metres) the candidate search has measured: the drive from drv to pu
   * leaving at t. */
  void (*pickup)(void *ctx, const city_loc *drv, const city_loc *pu, double gc_m, int64_t t,
                 city_leg *out);
  /* Where a driver is at time t (t0 <= t <= t1) on the drive from a to b
   * that left at t0 and arrives at t1, and the road metres driven so far. */
  void (*position)(void *ctx, const city_loc *a, const city_loc *b, int64_t t0, int64_t t1,
                   int64_t t, city_loc *at, double *driven_m);
  /* The farthest great-circle distance (metres) a pickup drive leaving at
   * t can cover in secs: no pickup whose ends lie farther apart takes secs
   * or less. The candidate search of a model that is not gc_monotone stops
   * looking there. Optional (NULL: it times every driver within the
   * radius). */
  double (*reach_m)(void *ctx, double secs, int64_t t);
  /* Optional (NULL: none): a cache hint that a pickup drive from `from` to
   * `to` is about to be asked for; it changes nothing else. */
  void (*prefetch)(void *ctx, const city_loc *from, const city_loc *to);
  void (*free)(void *ctx);
} city_travel_ops;

/* A city's travel model: a backend and the city it serves (borrowed). */
typedef struct {
  const city_travel_ops *ops;
  void *ctx;
  const city_def *city;
} city_travel;

/* The great-circle model of a city (travel_gc.c). The city is borrowed and
 * must outlive the model. Never fails. */
void city_travel_gc(const city_def *city, city_travel *out);
/* The road-network model: city_data/travel_net.h. */
/* Releases a model's context (a no-op for the great-circle model). */
void city_travel_free(city_travel *tm);

/* A point as a drive's end: the point and its node. */
void city_travel_loc(const city_travel *tm, double lat, double lng, city_loc *out);

static inline int32_t city_travel_snap(const city_travel *tm, double lat, double lng) {
  return tm->ops->snap(tm->ctx, lat, lng);
}
static inline void city_travel_leg(const city_travel *tm, const city_loc *a, const city_loc *b,
                                   int64_t t, city_leg *out) {
  tm->ops->leg(tm->ctx, a, b, t, 0.0, out);
}
static inline void city_travel_pickup(const city_travel *tm, const city_loc *drv,
                                      const city_loc *pu, double gc_m, int64_t t,
                                      city_leg *out) {
  tm->ops->pickup(tm->ctx, drv, pu, gc_m, t, out);
}
/* The distance of a pickup whose drive is leg and whose ends lie gc_m
 * apart on the great circle: what the candidate graph's edge_dist, an
 * order's pickup_m, the cancellation model and distance-weighted policies
 * measure a pickup by. One rule for every caller: a model that follows
 * roads (road_pickup_m) measures the road metres it drives; the
 * great-circle model keeps the great-circle metres (as the KDD Cup 2020
 * order_driver_distance is), of which its road metres are a fixed multiple
 * (the detour factor), so either ranks its pickups alike. */
static inline double city_travel_pickup_m(const city_travel *tm, double gc_m,
                                          const city_leg *leg) {
  return tm->ops->road_pickup_m ? leg->metres : gc_m;
}
static inline double city_travel_reach_m(const city_travel *tm, double secs, int64_t t) {
  return tm->ops->reach_m(tm->ctx, secs, t);
}
static inline void city_travel_position(const city_travel *tm, const city_loc *a,
                                        const city_loc *b, int64_t t0, int64_t t1, int64_t t,
                                        city_loc *at, double *driven_m) {
  tm->ops->position(tm->ctx, a, b, t0, t1, t, at, driven_m);
}

/* What a trip pays under the city's fare rule, for a drive of leg. */
double city_travel_fare(const city_travel *tm, const city_leg *leg, int64_t t);

/* The travel model applied to one trip record, the same for replay and for
 * offline training. Road distance: the recorded distance when known, else
 * the model's. Trip time: recorded dropoff - request when known and
 * positive, else the model's for the road distance (at least 1 s, at most
 * CITY_TRIP_MAX_S, rounded up). Fare: recorded when known, else the fare
 * rule's. The flags say which were modelled. */
typedef struct {
  double road_m;
  int32_t duration_s;
  double fare;
  int modelled_duration;
  int modelled_fare;
} city_trip_model;

void city_travel_trip(const city_travel *tm, const city_loc *pickup, const city_loc *dropoff,
                      int64_t t_request, int64_t t_dropoff, double fare, double distance_m,
                      city_trip_model *out);

#endif

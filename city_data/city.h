/*
 * city: a city definition (JSON, read with cJSON) and the grid it implies.
 *
 * A definition names the city, bounds it, and says how its taxis move and
 * charge: speed by hour of day, a fare rule, a road detour factor, its UTC
 * offset and a default fleet size. Two definitions ship embedded in the
 * binary (city_data/cities/manhattan.json and synthetic.json); any other is a
 * file with the same fields:
 *
 *   { "name": "manhattan",
 *     "bbox": { "min_lat": 40.68, "min_lng": -74.03,
 *               "max_lat": 40.89, "max_lng": -73.90 },
 *     "hex_edge_m": 600, "utc_offset_minutes": -300,
 *     "speed_mps_by_hour": [24 numbers],
 *     "detour_factor": 1.3,
 *     "fare": { "base": 2.5, "per_km": 1.553, "per_minute": 0.0,
 *               "per_minute_slow": 0.5, "moving_mps": 8.0,
 *               "minimum": 2.5, "surcharge": 0.8,
 *               "night": {"from": "20:00", "to": "06:00", "amount": 0.5},
 *               "peak": {"from": "16:00", "to": "20:00",
 *                        "weekdays_only": true, "amount": 1.0} },
 *     (per_minute_slow, moving_mps, surcharge, night and peak optional)
 *     "default_fleet": 3000,
 *     "earth_radius_m": 6371008.8,       (optional)
 *     "network_factors": {"weekday": [24 numbers], "weekend": [24 numbers],
 *                         "network_hash": "6cf0bd1ee07c8913",
 *                         "cells": [[cell, factor], ...]},  (optional)
 *     "cell_factors": [[cell, factor], ...],                (optional)
 *     "service_area": [ [ [[-74.02, 40.70], [-73.97, 40.71], ...] ] ] }
 *                                         (optional; area.h)
 *
 * network_factors are the road-network model's speed factors (free-flow
 * link times are multiplied by the factor of the hour and day type a drive
 * leaves in; docs/network.md), as `ridesim calibrate --network` fits them:
 * a run on a network uses them unless its scenario gives its own. 24
 * numbers alone serve every day. network_hash (optional) names the content
 * hash of the network they were fitted to (`ridesim network info` prints
 * it): a model of another network refuses them, since factors fitted to one
 * network's free-flow times mean nothing on another's.
 *
 * service_area is a GeoJSON MultiPolygon's coordinates: polygons, each a
 * list of rings (the first its outer boundary, the others holes), each ring
 * [lng, lat] positions inside the bbox, closed or not, with at least 3
 * distinct points not all on one line. Without it the whole box serves.
 * Two keys that `ridesim city --json` prints beside the definition are read
 * back and not used: "source" (a string: where the definition came from)
 * and "grid" (the grid the definition implies, checked against it so that a
 * file never shows a grid it does not have).
 *
 * Times in ridesim are the city's local wall-clock time, counted in seconds
 * since 1970-01-01 00:00 local ("local epoch"); utc_offset_minutes converts
 * sources that give UTC unix seconds (KDD Cup files).
 */
#ifndef CITY_CITY_H
#define CITY_CITY_H

#include <stdint.h>
#include "city_data/area.h"
#include "city_data/field.h"
#include "city_data/hexgrid.h"
#include "base/rs_error.h"

struct cJSON;

#define CITY_NAME_MAX 64
#define CITY_DETOUR_DEFAULT 1.3 /* Manhattan road / great-circle ratio */
#define CITY_TRIP_MAX_S 86400   /* no taxi trip lasts a day: longer records are
                                   refused by the importers, clamped here */
#define CITY_SPEED_MAX_MPS 60.0 /* above any road vehicle's mean speed */
#define CITY_SPEED_MIN_MPS 0.5  /* walking pace: a slower mean is a typo */
#define CITY_NET_FACTOR_MAX 100.0 /* network factors lie in (0, 100]: a link
                                     100 times slower than free flow is
                                     standing traffic (scenario.c agrees) */

/* A surcharge for trips that start in a window of the day. */
typedef struct {
  int32_t from_s, to_s; /* seconds after midnight; to < from wraps past
                           midnight; from == to: none */
  int weekdays_only;    /* Monday to Friday only */
  double amount;
} city_surcharge;

/* A taximeter (TLC 2016: $2.50 flag drop, $0.50 per 1/5 mile while moving,
 * or per 60 s while slower than 12 mph or stopped; $0.50 MTA tax and $0.30
 * improvement surcharge; $0.50 20:00-06:00; $1.00 weekdays 16:00-20:00).
 * The meter charges distance while the cab moves and time while it crawls
 * or stands. A drive of `metres` in `secs` is taken as moving at
 * moving_mps for metres / moving_mps seconds and crawling the rest:
 *   metered = base + per_km km + per_minute min
 *             + per_minute_slow max(0, secs - metres / moving_mps) / 60,
 *   fare = max(metered, minimum) + surcharge + the surcharges of the
 *          windows the trip starts in.
 * moving_mps 0 charges no slow time. */
typedef struct {
  double base;        /* flag drop, money units */
  double per_km;      /* per km of road distance */
  double per_minute;  /* per minute of trip time, always */
  double per_minute_slow; /* per minute of slow time */
  double moving_mps;  /* the speed of the moving part (0: no slow time) */
  double minimum;     /* lower bound of the metered part */
  double surcharge;   /* added to every trip (taxes, fixed surcharges) */
  city_surcharge night, peak; /* time-of-day surcharges */
} city_fare_rule;

typedef struct {
  char name[CITY_NAME_MAX];
  double min_lat, min_lng, max_lat, max_lng; /* bounding box, degrees */
  double hex_edge_m;             /* grid edge, metres */
  int32_t utc_offset_min;        /* local = UTC + offset */
  double speed_mps[24];          /* mean taxi speed by local hour, m/s */
  double detour_factor;          /* road distance / great-circle distance */
  city_fare_rule fare;
  int32_t default_fleet;         /* drivers when the run does not say */
  double earth_radius_m;         /* sphere for distances */
  int net_have_factors;          /* network_factors given */
  double net_factors[2][24];     /* [weekday 0 / weekend 1][local hour] */
  uint64_t net_factors_hash;     /* the network they were fitted to; 0: any */
  city_area area;                /* service area (area.h); no polygons: the
                                    whole box serves */
  city_field net_field;          /* the network's cell factors (n 0: none); only
                                    with net_have_factors */
  city_field cell_field;         /* the great-circle model's cell factors (n 0: none) */
} city_def;

/* Parses a definition from JSON text. `origin` names the source in errors.
 * Every field is checked (type, range, 24 positive speeds); returns 0 or
 * RS_EFORMAT with the offending field named. def is unchanged on failure. */
int city_def_parse(const char *json, const char *origin, city_def *def,
                   rs_err *e);
/* Reads a definition file. RS_ENOENT / RS_EIO / RS_EFORMAT on failure. */
int city_def_load_file(const char *path, city_def *def, rs_err *e);
/* An embedded definition by name ("manhattan", "synthetic"); RS_EINVAL
 * naming the known cities when there is none. */
int city_def_builtin(const char *name, city_def *def, rs_err *e);
/* Builtin name, else a path to a JSON file. */
int city_def_resolve(const char *name_or_path, city_def *def, rs_err *e);
/* Names of the embedded cities, NULL-terminated. */
const char *const *city_def_builtin_names(void);

/* The city's hexagonal grid. */
int city_def_grid(const city_def *def, city_grid *g, rs_err *e);
/* Whether a point lies inside the bounding box. */
int city_def_contains(const city_def *def, double lat, double lng);
/* Whether a point lies in the service area (the box when there is none). */
int city_def_serves(const city_def *def, double lat, double lng);
/* flags[c] = 1 for every cell c of the city's grid g (g->n_cells) that is in
 * service: its hexagon meets the service area, or the box when there is
 * none (area.h); returns how many are. */
int32_t city_def_service_cells(const city_def *def, const city_grid *g, uint8_t *flags);
/* Adds the definition's fields to a JSON object, in the format
 * city_def_parse reads back to an identical city_def. 0, or RS_ENOMEM with
 * some fields added. */
int city_def_to_json(const city_def *def, struct cJSON *obj);
/* Sets a field from n (dense cell index, factor) pairs in any order, on
 * the city's grid: RS_EINVAL (field unchanged) for more than
 * CITY_FIELD_MAX_CELLS pairs, an index off the grid, a repeated index or a
 * factor outside [CITY_FIELD_K_MIN, CITY_FIELD_K_MAX]. n 0 clears it. */
int city_def_set_field(const city_def *def, city_field *f, const int32_t *cell, const double *k,
                       int32_t n, rs_err *e);
/* Speed (m/s) at a local time (local-epoch seconds). */
double city_def_speed(const city_def *def, int64_t t_local);
/* Fare of a trip of road distance road_m (metres) and duration (seconds)
 * that starts at local time t (city_fare_rule). */
double city_def_fare(const city_def *def, double road_m, double seconds, int64_t t_local);
/* The slow seconds the meter charges by time in such a trip. */
double city_def_fare_slow_s(const city_def *def, double road_m, double seconds);

#endif

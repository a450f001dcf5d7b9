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
 *     "earth_radius_m": 6371008.8 }      (optional)
 *
 * Times in ridesim are the city's local wall-clock time, counted in seconds
 * since 1970-01-01 00:00 local ("local epoch"); utc_offset_minutes converts
 * sources that give UTC unix seconds (KDD Cup files).
 */
#ifndef CITY_CITY_H
#define CITY_CITY_H

#include <stdint.h>
#include "city_data/hexgrid.h"
#include "base/rs_error.h"

#define CITY_NAME_MAX 64
#define CITY_DETOUR_DEFAULT 1.3 /* Manhattan road / great-circle ratio */
#define CITY_TRIP_MAX_S 86400   /* no taxi trip lasts a day: longer records are
                                   refused by the importers, clamped here */

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
/* Speed (m/s) at a local time (local-epoch seconds). */
double city_def_speed(const city_def *def, int64_t t_local);
/* Fare of a trip of road distance road_m (metres) and duration (seconds)
 * that starts at local time t (city_fare_rule). */
double city_def_fare(const city_def *def, double road_m, double seconds, int64_t t_local);
/* The slow seconds the meter charges by time in such a trip. */
double city_def_fare_slow_s(const city_def *def, double road_m, double seconds);

#endif

/*
 * scenario: every option of a run, in one struct, read from and printed as
 * JSON (cJSON). Command-line flags override a scenario file's fields; the
 * effective scenario is stored with each run in the results DB, so a run can
 * be repeated from its row alone.
 *
 * The options of each policy are the registry's (dispatch/registry.h): the
 * scenario keeps their values without knowing any policy, reads them from
 * "policies": {"NAME": {"KEY": value}} (and from the flat keys that older
 * files used, the registry's aliases), checks them against each policy's
 * schema and prints every registered policy's options.
 *
 * Units: seconds, metres, probabilities. Times of day are seconds after
 * local midnight; `day` is the local-epoch midnight (-1: the trip store's
 * first day).
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdint.h>

#include "base/rs_error.h"
#include "dispatch/registry.h"

#define SIM_PATH_MAX 1024
#define SIM_NAME_MAX 64
#define SIM_CANCEL_POINTS_MAX 32
#define SIM_SEED_MAX 9223372036854775807ull /* 2^63 - 1: a results DB keeps seeds as
                                              SQLite's signed 64-bit integers */

#define SIM_DAYS_MAX 366               /* a horizon of up to a year of days */
#define SIM_PATIENCE_DEFAULT_S 600     /* riders wait 10 min for a match */
#define SIM_TICK_DEFAULT_S 2           /* KDD Cup 2020 dispatch window */
#define SIM_REPO_TICK_DEFAULT_S 60
#define SIM_REPO_IDLE_DEFAULT_S 300    /* KDD Cup: eligible after 5 min idle */
#define SIM_IDLE_STEP_DEFAULT_S 300
#define SIM_SERIES_WINDOW_S 300        /* kpi_series: 5-minute windows */
#define SIM_WARMUP_MAX_S 86400         /* a warm-up of at most a day */
#define SIM_DRAIN_ALL (-1)             /* drain until the horizon's orders end */

typedef struct {
  char city[SIM_PATH_MAX];      /* builtin name or JSON file */
  char trips[SIM_PATH_MAX];     /* trip store; "" = synthetic city */
  int64_t synthetic_orders;     /* synthetic demand size (whole day) */
  int64_t day;                  /* local-epoch midnight, -1 = first in store */
  int64_t from_s, to_s;         /* horizon within the day; -1 = trip span */
  int32_t days;                 /* days of the horizon (1 to SIM_DAYS_MAX): from
                                   `from` on the day to `to` on the last day */
  int32_t warmup_s;             /* simulated before `from`: its orders move
                                   the fleet but are not the run's (0: none) */
  int64_t drain_s;              /* simulated past `to` so that the orders
                                   requested before it end: SIM_DRAIN_ALL
                                   until the last has, 0 not at all (they
                                   end open), N at most N seconds */
  int32_t drivers;              /* fleet size; -1 = the city's default */
  char dispatch[SIM_NAME_MAX];
  char reposition[SIM_NAME_MAX];
  uint64_t seed;
  char out[SIM_PATH_MAX];       /* results DB */
  double speed;                 /* 0 = as fast as possible; X = X times real time */
  int32_t tick_s;               /* dispatch period */
  int32_t patience_s;           /* 0 = lost if not matched in its window */
  int32_t n_cancel;             /* points of the cancellation table */
  double cancel_m[SIM_CANCEL_POINTS_MAX];  /* pickup distances, ascending */
  double cancel_p[SIM_CANCEL_POINTS_MAX];  /* probability at each distance */
  int32_t cancel_delay_s;       /* when after the match a rider cancels */
  char idle_model[SIM_NAME_MAX];/* "stay" or "random-walk" */
  int32_t idle_step_s;          /* period of an idle driver's moves */
  int32_t repo_tick_s;          /* repositioning round period */
  int32_t repo_idle_s;          /* idle time before a driver is eligible */
  double radius_m;              /* candidate radius */
  int32_t top_k;                /* candidates per order */
  int32_t driver_top_k;         /* batch policies: candidate orders per driver */
  char placement[SIM_NAME_MAX]; /* "history" (what is known before the
                                   start, fleet.c), "demand" (first 30 min
                                   pickups: look-ahead) or "uniform" */
  double shift_hours;           /* 0 = whole fleet online all horizon */
  int repo_dispatchable;        /* repositioning drivers stay matchable */
  disp_optvals policies;        /* every registered policy's options, JSON
                                   object "policies": {"NAME": {...}}, laid
                                   out and checked by dispatch/registry.h
                                   (older files: v1d3's as "value": {...}) */
  /* the road network (docs/network.md): "" = the great-circle model */
  char network[SIM_PATH_MAX];   /* OSMnx node-link JSON or GraphML file */
  int network_have_factors;     /* factors below given (else derived) */
  double network_factors[2][24];/* [weekday, weekend][local hour]: free-flow
                                   link times x factor */
} sim_scenario;

/* The defaults: synthetic city, its default fleet, fcfs-nearest, stay,
 * seed 1, KDD Cup cancellation means. */
void sim_scenario_defaults(sim_scenario *s);

/* Overlays the fields present in a JSON text onto s. Unknown keys and wrong
 * types are errors naming the key (RS_EFORMAT); s is unchanged on failure. */
int sim_scenario_parse(sim_scenario *s, const char *json, const char *origin,
                       rs_err *e);
int sim_scenario_load(sim_scenario *s, const char *path, rs_err *e);

/* Checks ranges and consistency (positive tick, ascending cancel table ...). */
int sim_scenario_validate(const sim_scenario *s, rs_err *e);
/* Sets warmup_s (drain 0) or drain_s (drain 1) from text minutes (whole
 * seconds; the drain also "all"), as --warmup and --drain give them.
 * Returns 0 or RS_EINVAL (s unchanged). */
int sim_scenario_set_minutes(sim_scenario *s, int drain, const char *text, rs_err *e);

/* The scenario as pretty JSON, in a new string the caller frees; NULL when
 * out of memory. */
char *sim_scenario_to_json(const sim_scenario *s);

/* "YYYY-MM-DD" (a day that exists, 1970-9999) -> local-epoch seconds of its
 * midnight; "HH:MM" or "HH:MM:SS" (00:00 .. 24:00) -> seconds after
 * midnight. 0, or -1 with *out unchanged. The one parser of both, for
 * scenario files and command lines alike. */
int sim_scenario_parse_day(const char *str, int64_t *out);
int sim_scenario_parse_tod(const char *str, int64_t *out);

/* Cancellation probability at a pickup distance: linear between table
 * points, flat outside. */
double sim_scenario_cancel_p(const sim_scenario *s, double pickup_m);

#endif

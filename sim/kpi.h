/*
 * kpi: what a run is judged by, counted in one place, and the catalogue
 * of the KPIs.
 *
 * Two kinds of figures. The kpi_series (sim_window below) follows, per
 * SIM_SERIES_WINDOW_S window of the horizon, the orders requested in it:
 * how many were requested, and of those how many were matched, completed,
 * cancelled and expired, whenever that happened (a later window, or the
 * drain past the horizon's end), the fares of those completed and the
 * waits to match and pickup distances of those matched; so a window's
 * matched orders never outnumber its requests. It also samples the idle
 * and busy drivers at the dispatch ticks that fall in it. The engine
 * reports each event as it happens through the sim_series_* calls below,
 * which are all the arithmetic the series has. The run's KPIs (sim_kpis
 * below) are computed at the end from the order and driver records (kpi.c:
 * sim_engine_kpis), with the per-tick solver statistics of batch policies.
 *
 * Invariants: window i starts at from + i * SIM_SERIES_WINDOW_S and the
 * windows cover the horizon; an order's events are counted in the window
 * holding its request time, a tick in the window holding the tick; times
 * outside the horizon (a warm-up before it, a drain after it) are in no
 * window, and are not counted.
 *
 * Costs: a report is a division and an add; the KPIs are O(orders +
 * drivers) plus two sorts (waits, solve times).
 *
 * Ownership: the series owns its windows (sim_series_free).
 *
 * The catalogue (SIM_KPI_LIST below): one X-macro line per KPI gives everything every place needs: the field
 * of sim_kpis, the key of the results' runs.kpis and of --json, the label
 * of the terminal tables, the unit, the display scale and decimals, the
 * direction (higher is better, lower is better, or neither), the
 * definition (numerator and denominator in words), and where the KPI is
 * shown: its row in `ridesim run`'s table and in `ridesim evaluate`'s, its
 * column in a comparison (compare's table, CSV and JSON, and the report's
 * KPI table) and its bar chart in the report. The field name is also the
 * KPI's name in a comparison's CSV and JSON ("kpi": "wait_mean_s").
 *
 * From the list: the sim_kpis struct below, the SIM_KPI_* ids, the table
 * of sim_kpi_defs (kpi.c), sim_kpis_to_json (sim/results.c), the
 * terminal tables (tools/kpiout.c), a comparison's columns and the
 * report's bars (run/report.c). Adding a KPI is one line here plus where
 * it is counted (sim_engine_kpis in kpi.c).
 *
 * Columns of X(ID, src, ctype, field, key, label, unit, scale, dec, cdec,
 * dir, run, eval, cmp, bar, definition):
 *   ID      the enum suffix: SIM_KPI_ID
 *   src     ENGINE: counted by the engine (sim_engine_kpis), always in
 *           runs.kpis; SOLVER: likewise, but only when a batch policy
 *           solved ticks (solve_ticks > 0); RUN: measured around the engine
 *           by whoever drove it (the wall time), not a sim_kpis field and
 *           not in runs.kpis (the results keep it in runs.wall_seconds)
 *   ctype   int64_t or double
 *   field   the sim_kpis field; a comparison's name of the KPI
 *   key     the JSON key
 *   label   for people: terminal tables, compare's table, the report
 *   unit    shown after the value: "%" right after it, any other unit
 *           after a space, "" none
 *   scale   display value = value x scale (100 for rates shown in %)
 *   dec     decimals in the terminal tables of run and evaluate
 *   cdec    decimals in a comparison's table and the report
 *   dir     1 higher is better, -1 lower is better, 0 neither
 *   run, eval, cmp, bar   the KPI's place in run's table, evaluate's
 *           table, a comparison's columns and the report's bar charts: each
 *           view shows its KPIs by ascending place, 0 where it does not show
 *           one. Places go in steps of 10, so that a new KPI slots in
 *           between two without renumbering the others.
 *   definition   numerator and denominator in words
 *
 * A KPI over an empty denominator (no orders, no matches, nobody online)
 * is 0. Threads: everything here is constant.
 */
#ifndef SIM_KPI_H
#define SIM_KPI_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "sim/scenario.h"

/* One kpi_series window: the orders requested in it, and the ticks that
 * fell in it. */
typedef struct {
  int64_t t_start;
  int32_t requests;           /* orders requested in the window */
  int32_t matched, completed, cancelled, expired; /* of those, whenever */
  double income;              /* fares of those completed */
  double wait_sum_s;          /* waits to match of those matched */
  double pickup_m_sum;        /* pickup distances of those matched */
  int32_t idle_samples;       /* idle drivers summed over the window's ticks */
  int32_t busy_samples;       /* pickup + occupied drivers, summed likewise */
  int32_t ticks;              /* dispatch ticks in the window */
} sim_window;

/* X(ID, src, ctype, field, key,
 *   label, unit, scale, dec, cdec, dir, run, eval, cmp, bar,
 *   definition) */
#define SIM_KPI_LIST(X)                                                                              \
  X(ORDERS, ENGINE, int64_t, orders, "orders",                                                       \
    "orders", "", 1, 0, 0, 0, 10, 10, 0, 0,                                                          \
    "orders requested in the horizon [from, to) (up to the stop when stopped early); a "             \
    "warm-up's orders are not counted")                                                              \
  X(MATCHED, ENGINE, int64_t, matched, "matched",                                                    \
    "matched", "", 1, 0, 0, 1, 0, 0, 0, 0,                                                           \
    "orders matched to a driver")                                                                    \
  X(COMPLETED, ENGINE, int64_t, completed, "completed",                                              \
    "completed", "", 1, 0, 0, 1, 0, 20, 0, 0,                                                        \
    "orders whose trip ended at the dropoff")                                                        \
  X(CANCELLED, ENGINE, int64_t, cancelled, "cancelled",                                              \
    "cancelled", "", 1, 0, 0, -1, 0, 0, 0, 0,                                                        \
    "matched orders whose rider cancelled before the pickup")                                        \
  X(EXPIRED, ENGINE, int64_t, expired, "expired",                                                    \
    "expired", "", 1, 0, 0, -1, 50, 60, 0, 0,                                                        \
    "orders not matched within their patience")                                                      \
  X(OPEN, ENGINE, int64_t, open, "open",                                                             \
    "open at the end", "", 1, 0, 0, 0, 60, 70, 0, 0,                                                 \
    "orders neither completed, cancelled nor expired when the run ended (after a capped "            \
    "drain, without a drain, or stopped early)")                                                     \
  X(ANSWER_RATE, ENGINE, double, answer_rate, "answer_rate",                                         \
    "answer rate", "%", 100, 2, 2, 1, 20, 30, 10, 20,                                                \
    "matched orders / orders")                                                                       \
  X(COMPLETION_RATE, ENGINE, double, completion_rate, "completion_rate",                             \
    "completion rate", "%", 100, 2, 2, 1, 30, 40, 20, 60,                                            \
    "completed orders / orders")                                                                     \
  X(CANCELLATION_RATE, ENGINE, double, cancellation_rate, "cancellation_rate",                       \
    "cancellation rate", "%", 100, 2, 2, -1, 40, 50, 30, 0,                                          \
    "cancelled orders / matched orders")                                                             \
  X(WAIT_MEAN, ENGINE, double, wait_mean_s, "wait_to_match_mean_s",                                  \
    "wait to match, mean", "s", 1, 1, 1, -1, 70, 80, 40, 40,                                         \
    "sum over matched orders of (match time - request time) / matched orders")                       \
  X(WAIT_P95, ENGINE, double, wait_p95_s, "wait_to_match_p95_s",                                     \
    "wait to match, p95", "s", 1, 1, 1, -1, 80, 0, 0, 0,                                             \
    "95th percentile (nearest rank) of (match time - request time) over matched orders")             \
  X(PICKUP_WAIT_MEAN, ENGINE, double, pickup_wait_mean_s, "wait_to_pickup_mean_s",                   \
    "wait to pickup, mean", "s", 1, 1, 1, -1, 82, 85, 45, 45,                                        \
    "sum over picked-up orders of (pickup time - request time) / picked-up orders")                  \
  X(PICKUP_WAIT_P50, ENGINE, double, pickup_wait_p50_s, "wait_to_pickup_p50_s",                      \
    "wait to pickup, p50", "s", 1, 1, 1, -1, 84, 0, 0, 0,                                            \
    "median (nearest rank) of (pickup time - request time) over picked-up orders")                   \
  X(PICKUP_WAIT_P90, ENGINE, double, pickup_wait_p90_s, "wait_to_pickup_p90_s",                      \
    "wait to pickup, p90", "s", 1, 1, 1, -1, 86, 0, 47, 0,                                           \
    "90th percentile (nearest rank) of (pickup time - request time) over picked-up orders")          \
  X(PICKUP_MEAN, ENGINE, double, pickup_m_mean, "pickup_distance_mean_m",                            \
    "pickup distance, mean", "m", 1, 1, 1, -1, 90, 90, 50, 50,                                       \
    "sum of pickup distances at the match (road metres on a road network, else great-circle) "      \
    "/ matched orders")                                                                              \
  X(ETA_MEAN, ENGINE, double, eta_s_mean, "pickup_eta_mean_s",                                       \
    "pickup ETA, mean", "s", 1, 1, 1, -1, 100, 100, 0, 0,                                            \
    "sum of pickup times (the travel model's) at the match / matched orders")                        \
  X(INCOME, ENGINE, double, income, "total_driver_income",                                           \
    "total driver income (J)", "", 1, 2, 2, 1, 110, 0, 60, 10,                                       \
    "sum of the fares of the horizon's completed orders, the drain's completions included "          \
    "(the KDD Cup's J)")                                                                             \
  X(INCOME_PER_HOUR, ENGINE, double, income_per_hour, "income_per_online_hour",                      \
    "income per online hour (G)", "", 1, 2, 3, 1, 120, 0, 70, 30,                                    \
    "sum over drivers online in the horizon of (income / online hours in the horizon) / those "      \
    "drivers (the KDD Cup's G)")                                                                     \
  X(UTILISATION, ENGINE, double, utilisation, "utilisation",                                         \
    "utilisation", "%", 100, 2, 2, 0, 130, 110, 80, 0,                                               \
    "seconds of the horizon in pickup or occupied / online seconds of the horizon, over all "        \
    "drivers")                                                                                       \
  X(EMPTY_KM, ENGINE, double, empty_km, "empty_km",                                                  \
    "empty distance", "km", 1, 1, 1, -1, 140, 120, 90, 0,                                            \
    "kilometres driven without a rider, all drivers: to the pickups of the horizon's orders, "       \
    "and repositioning and idle moves that ended in the horizon")                                    \
  X(DRIVERS, ENGINE, int64_t, drivers, "drivers",                                                    \
    "drivers", "", 1, 0, 0, 0, 0, 0, 0, 0,                                                           \
    "drivers in the fleet")                                                                          \
  X(EVENTS, ENGINE, int64_t, events, "events",                                                       \
    "events", "", 1, 0, 0, 0, 160, 130, 0, 0,                                                        \
    "simulation events processed")                                                                   \
  X(HORIZON, ENGINE, double, horizon_s, "horizon_s",                                                 \
    "simulated time", "s", 1, 0, 0, 0, 0, 0, 0, 0,                                                   \
    "simulated seconds of the horizon: to - from, less when stopped early (warm-up and drain "       \
    "not included)")                                                                                 \
  X(MODELLED_DURATION, ENGINE, int64_t, modelled_duration, "modelled_trip_durations",                \
    "modelled trip durations", "", 1, 0, 0, 0, 0, 0, 0, 0,                                           \
    "orders whose trip time came from the travel model (the data has none)")                         \
  X(MODELLED_FARE, ENGINE, int64_t, modelled_fare, "modelled_fares",                                 \
    "modelled fares", "", 1, 0, 0, 0, 0, 0, 0, 0,                                                    \
    "orders whose fare came from the city's fare rule (the data has none)")                          \
  X(SOLVE_TICKS, SOLVER, int64_t, solve_ticks, "solver_ticks",                                       \
    "solver ticks", "", 1, 0, 0, 0, 150, 0, 0, 0,                                                    \
    "dispatch ticks of the horizon the batch policy solved")                                         \
  X(TICK_ORDERS, SOLVER, double, tick_orders_mean, "solver_orders_mean",                             \
    "orders per solved tick", "", 1, 1, 1, 0, 0, 0, 0, 0,                                            \
    "sum of waiting orders over solved ticks / solved ticks")                                        \
  X(TICK_DRIVERS, SOLVER, double, tick_drivers_mean, "solver_drivers_mean",                          \
    "drivers per solved tick", "", 1, 1, 1, 0, 0, 0, 0, 0,                                           \
    "sum of candidate drivers over solved ticks / solved ticks")                                     \
  X(TICK_EDGES, SOLVER, double, tick_edges_mean, "solver_edges_mean",                                \
    "edges per solved tick", "", 1, 1, 1, 0, 0, 0, 0, 0,                                             \
    "sum of candidate pairs over solved ticks / solved ticks")                                       \
  X(SOLVE_P50, SOLVER, double, solve_p50_us, "solve_p50_us",                                         \
    "solve time, p50", "us", 1, 1, 1, -1, 0, 0, 0, 0,                                                \
    "median wall time of the matching solver over solved ticks, microseconds")                       \
  X(SOLVE_P99, SOLVER, double, solve_p99_us, "solve_p99_us",                                         \
    "solve time, p99", "us", 1, 1, 1, -1, 0, 0, 0, 0,                                                \
    "99th percentile of the solver's wall time over solved ticks, microseconds")                     \
  X(SOLVE_MAX, SOLVER, double, solve_max_us, "solve_max_us",                                         \
    "solve time, max", "us", 1, 1, 1, -1, 0, 0, 0, 0,                                                \
    "longest wall time of the solver over solved ticks, microseconds")                               \
  X(WALL, RUN, double, wall_seconds, "wall_seconds",                                                 \
    "wall time", "s", 1, 3, 3, -1, 170, 140, 100, 0,                                                 \
    "wall-clock seconds the run's drive took")

/* The ids, in list order. */
enum {
#define SIM_KPI_ID_(ID, ...) SIM_KPI_##ID,
  SIM_KPI_LIST(SIM_KPI_ID_)
#undef SIM_KPI_ID_
  SIM_KPI_N
};

/* Where a KPI comes from (the list's src column). */
enum { SIM_KPI_SRC_ENGINE = 0, SIM_KPI_SRC_SOLVER, SIM_KPI_SRC_RUN };

/* The places a KPI is shown (the list's run, eval, cmp and bar columns). */
enum {
  SIM_KPI_VIEW_RUN = 0,   /* `ridesim run`'s table */
  SIM_KPI_VIEW_EVAL,      /* `ridesim evaluate`'s table */
  SIM_KPI_VIEW_COMPARE,   /* a comparison's columns, and the report's KPI table */
  SIM_KPI_VIEW_BARS,      /* the report's bar charts */
  SIM_KPI_N_VIEWS
};

/* How many KPIs each view shows, as constants (array sizes). */
enum {
#define SIM_KPI_COUNT_(ID, src, ctype, field, key, label, unit, scale, dec, cdec, dir, run, eval, \
                       cmp, bar, def)                                                             \
  +((cmp) > 0)
  SIM_KPI_N_COMPARE = 0 SIM_KPI_LIST(SIM_KPI_COUNT_),
#undef SIM_KPI_COUNT_
};

/* The KPIs of a run (sim_engine_kpis): one field per ENGINE and SOLVER line
 * of the list, in its order, meaning what its definition says; SOLVER
 * fields are 0 when no batch policy solved ticks. */
#define SIM_KPI_FIELD_ENGINE(ctype, field) ctype field;
#define SIM_KPI_FIELD_SOLVER(ctype, field) ctype field;
#define SIM_KPI_FIELD_RUN(ctype, field)
typedef struct {
#define SIM_KPI_FIELD_(ID, src, ctype, field, ...) SIM_KPI_FIELD_##src(ctype, field)
  SIM_KPI_LIST(SIM_KPI_FIELD_)
#undef SIM_KPI_FIELD_
} sim_kpis;

/* One line of the list. */
typedef struct {
  const char *field;      /* the sim_kpis field; a comparison's KPI name */
  const char *key;        /* the JSON key (runs.kpis, --json) */
  const char *label;      /* for people */
  const char *unit;       /* "%", "s", "m", "km", "us" or "" */
  const char *definition; /* numerator and denominator in words */
  double scale;           /* display value = value x scale */
  int dec;                /* decimals in run's and evaluate's tables */
  int cdec;               /* decimals in a comparison and the report */
  int dir;                /* 1 higher is better, -1 lower, 0 neither */
  int src;                /* SIM_KPI_SRC_* */
  int is_int;             /* an int64_t field (printed as an integer) */
  int pos[SIM_KPI_N_VIEWS]; /* place in each view (ascending); 0: absent */
} sim_kpi_def;

/* The line of KPI id (SIM_KPI_*), NULL when out of range. */
const sim_kpi_def *sim_kpi_def_of(int id);
/* The value of KPI id in k, as a double (counts convert exactly below
 * 2^53); wall_s stands for the RUN KPI (the wall time). NAN for a bad id. */
double sim_kpi_value(const sim_kpis *k, double wall_s, int id);
/* Whether KPI id belongs in runs.kpis for k: every ENGINE KPI, the SOLVER
 * ones when k->solve_ticks > 0, never a RUN one. */
int sim_kpi_in_json(const sim_kpis *k, int id);
/* The views: how many KPIs a view shows, the id at index i (0-based, in
 * the view's order; -1 when none), and the index of id in it (-1). */
int sim_kpi_view_n(int view);
int sim_kpi_view_id(int view, int i);
int sim_kpi_view_index(int view, int id);
/* Walks the list: unique fields and keys, no place taken twice in a view,
 * known units, a label, definition and format for each, a bar only for a
 * KPI a comparison has. 0 or RS_EINVAL naming the fault. */
int sim_kpi_check(rs_err *e);


typedef struct {
  sim_window *win;  /* the windows, oldest first (owned) */
  size_t n;         /* windows covering the horizon */
  int64_t from;     /* start of the first window: the horizon's start */
} sim_series;

/* The empty windows of the horizon [from, to). Returns 0 or RS_ENOMEM (the
 * series is then empty). */
int sim_series_init(sim_series *ks, int64_t from, int64_t to);
void sim_series_free(sim_series *ks);

/* The windows that began before `now`: all of them once the horizon is
 * reached, those reached in an interrupted run. */
const sim_window *sim_series_reached(const sim_series *ks, int64_t now, size_t *n);

/* The window holding t, NULL when t lies outside the horizon. */
static inline sim_window *sim_series_at(sim_series *ks, int64_t t) {
  if (t < ks->from) return NULL;
  uint64_t i = (uint64_t)(t - ks->from) / SIM_SERIES_WINDOW_S;
  return i < ks->n ? &ks->win[i] : NULL;
}

/* Each report names the request time of its order (t_request): the
 * order's window is that of its request, whenever the event happens. */

/* An order is requested at t_request. */
static inline void sim_series_request(sim_series *ks, int64_t t_request) {
  sim_window *w = sim_series_at(ks, t_request);
  if (w) w->requests++;
}
/* An order is matched after waiting wait_s, its driver pickup_m away. */
static inline void sim_series_match(sim_series *ks, int64_t t_request, double wait_s,
                                    double pickup_m) {
  sim_window *w = sim_series_at(ks, t_request);
  if (!w) return;
  w->matched++;
  w->wait_sum_s += wait_s;
  w->pickup_m_sum += pickup_m;
}
/* An order expires, unmatched. */
static inline void sim_series_expire(sim_series *ks, int64_t t_request) {
  sim_window *w = sim_series_at(ks, t_request);
  if (w) w->expired++;
}
/* A matched rider cancels. */
static inline void sim_series_cancel(sim_series *ks, int64_t t_request) {
  sim_window *w = sim_series_at(ks, t_request);
  if (w) w->cancelled++;
}
/* An order's trip, paying `fare`, ends. */
static inline void sim_series_complete(sim_series *ks, int64_t t_request, double fare) {
  sim_window *w = sim_series_at(ks, t_request);
  if (!w) return;
  w->completed++;
  w->income += fare;
}
/* A dispatch tick at t saw `idle` matchable and `busy` (pickup or
 * occupied) drivers. */
static inline void sim_series_tick(sim_series *ks, int64_t t, int32_t idle, int32_t busy) {
  sim_window *w = sim_series_at(ks, t);
  if (!w) return;
  w->ticks++;
  w->idle_samples += idle;
  w->busy_samples += busy;
}

/* ------------------------------------------------------------- the tally
 *
 * The order half of the KPIs, as running figures: sim_engine_kpis feeds
 * it every order of the horizon requested so far, in index order, and the
 * engine feeds it the orders it drops while running (engine.h, "Ended
 * orders") in the same order, so the sums come out the same bits either
 * way. Waits are whole seconds, so their percentiles come from counts per
 * second (a wait of SIM_TALLY_DENSE_S or more, or one that is not a whole
 * non-negative second, is kept as it is and sorted at the end): the
 * nearest-rank value over counts is the one a sorted copy gives, in memory
 * that does not grow with the orders. */
#define SIM_TALLY_DENSE_S 1048576 /* waits counted per second below this (12 days) */

/* Waits of orders, for their percentiles. */
typedef struct {
  int64_t *count;       /* per whole second below SIM_TALLY_DENSE_S */
  size_t cap;           /* seconds counted (grows to the largest wait) */
  double *other;        /* waits not counted per second, unsorted */
  size_t n_other, cap_other;
  int64_t n;            /* waits in all */
} sim_waits;

typedef struct {
  int64_t orders, matched, completed, cancelled, expired, open, picked;
  int64_t modelled_duration, modelled_fare;
  double wait_sum, pick_sum, eta_sum, pwait_sum; /* in feeding order */
  sim_waits waits;      /* to match, of those matched */
  sim_waits pwaits;     /* to pickup, of those picked up */
  int oom;              /* a wait found no memory: the percentiles are 0 */
} sim_tally;

void sim_tally_free(sim_tally *t);
/* A copy of a (dst is overwritten, its memory its own); on no memory the
 * copy has oom set. */
void sim_tally_copy(sim_tally *dst, const sim_tally *a);
/* One order: its final status (SIM_ORDER_*; anything not completed,
 * cancelled or expired counts as open), its times (-1 when never), its
 * pickup metres and pickup time (read when matched), and its modelled
 * bits (bit 0 trip time, bit 1 fare). */
void sim_tally_order(sim_tally *t, int32_t status, int64_t t_request, int64_t t_match,
                     int64_t t_pickup, double pickup_m, double eta_s, uint8_t modelled);
/* The nearest-rank p-percentile of the waits (0 when none). */
double sim_waits_percentile(const sim_waits *w, double p);

#endif

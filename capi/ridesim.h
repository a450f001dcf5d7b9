/*
 * ridesim.h: the C API of libridesim, a small stable interface to drive
 * ridesim's engine in process, one decision at a time, from another
 * language (the Python package python/ridesim is built on it) or from C.
 *
 * An environment (ridesim_env, opaque) holds one city, its trips and a
 * scenario, and runs episodes of it. A caller:
 *
 *   ridesim_env_new      from the scenario's JSON (what `ridesim run
 *                        --print-scenario` prints: trip store or
 *                        synthetic city, policies, fleet, seed, horizon)
 *                        and the environment's options (JSON, below)
 *   ridesim_env_reset    starts an episode, with a seed or the next one
 *   ridesim_env_advance  runs the simulation to the next decision the
 *                        caller controls (a dispatch decision, or a
 *                        repositioning round) or to the horizon
 *   ridesim_env_array    reads the decision (the candidate graph in CSR
 *                        form, per-order and per-driver features) as
 *                        pointers into the environment's buffers
 *   ridesim_env_answer_* answers it: scores per candidate edge solved by
 *                        the exact matcher, explicit pairs, one choice
 *                        per order, or destinations per driver
 *   ridesim_env_kpis     reads the KPIs of the catalogue once the episode
 *                        is done (J and G among them)
 *   ridesim_env_free     closes it
 *
 * Decisions. A dispatch decision is the engine's own (dispatch/policy.h's
 * disp_tick): the waiting orders it reconsiders (rows, in request order)
 * and for each its candidate idle drivers within the radius, nearest
 * first (edges). When and which orders are offered follows a built-in
 * policy's shape, the option "like": batch-distance (the default when the
 * scenario names no other) decides every waiting order at each tick;
 * fcfs-nearest decides each order as it arrives, then at each tick the
 * orders a driver that came free can reach. A repositioning round offers
 * the drivers idle long enough (the scenario's repo_idle_s) with the cells
 * each may move to: its own cell first (staying), then every cell of the
 * grid whose centre lies within the option repo_radius_m.
 *
 * Answers are validated before anything is applied: a faulty answer
 * returns RIDESIM_EINVAL with a message naming the first fault, and the
 * decision stays pending, unchanged, for another answer. The checks of
 * pairs are those `ridesim evaluate` applies to an agent's reply (unknown
 * order, unknown driver, not a candidate, an order or a driver twice),
 * enforced strictly: evaluate drops a faulty item, this API refuses the
 * answer.
 *
 * The promise of maximal answers. A built-in policy that serves every
 * order it can (batch-distance, fcfs-nearest) lets the engine skip orders
 * whose candidates were all taken until a driver frees near them. An
 * environment shaped like such a policy makes the same promise by default
 * (option "maximal"), and then refuses an answer that leaves an order
 * unmatched while one of its candidates is free. Scores answered with
 * RIDESIM_SERVE_FIRST always keep it; with "maximal": false the engine
 * reconsiders every waiting order at every tick instead.
 *
 * Arrays. Each array has an id (RIDESIM_A_*), a name, an element type and
 * a length that follows one of the counts of ridesim_state (rows, edges,
 * eligible drivers, reachable cells, orders, drivers, cells). A pointer
 * returned by ridesim_env_array stays valid, and its first `cap` elements
 * readable, until the state's `generation` changes (a reset, or a buffer
 * that grew); the values are those of the current decision until the next
 * advance. Per-order and per-driver arrays are strided views of the
 * engine's own records (the stride is given); the others are contiguous.
 *
 * Errors: every function that can fail returns 0 (or a non-negative
 * result) or a negative RIDESIM_E* code, and leaves a one-line message in
 * ridesim_env_error (creation writes it into the caller's buffer). Nothing
 * prints, nothing aborts, nothing exits.
 *
 * Threads: there is no global state; environments are independent and
 * may be used from different threads at once, each by one thread at a
 * time.
 *
 * Options (JSON object, every key optional; NULL or "" for none):
 *   "control":        "dispatch" (default), "reposition" or "both": the
 *                     decisions the caller answers; the scenario's
 *                     policies make the others
 *   "like":           the dispatch policy whose shape the dispatch
 *                     decisions take (default: the scenario's dispatch)
 *   "maximal":        true or false (default: like's promise)
 *   "repo_radius_m":  reach of a repositioning move (default 3000)
 *   "check":          check the engine's invariants after every tick
 *
 * ABI: RIDESIM_ABI_VERSION changes whenever a declaration below changes
 * incompatibly; ridesim_abi_version() is the library's.
 */
#ifndef RIDESIM_H
#define RIDESIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RIDESIM_ABI_VERSION 1

/* Status codes: X(NAME, value, meaning). The first ten are ridesim's own
 * error vocabulary (base/rs_error.h), with the same values. */
#define RIDESIM_STATUS_MAP(X)                                                        \
  X(OK, 0, "success")                                                                \
  X(ENOMEM, -1, "out of memory")                                                     \
  X(EIO, -2, "input/output error")                                                   \
  X(EINVAL, -3, "invalid argument")                                                  \
  X(ENOENT, -4, "no such file")                                                      \
  X(EDB, -5, "database error")                                                       \
  X(EFORMAT, -6, "malformed input")                                                  \
  X(EINTR, -7, "interrupted")                                                        \
  X(EEMPTY, -8, "nothing to do")                                                     \
  X(ERANGE, -9, "value out of range")                                                \
  X(EAGENT, -10, "agent error")                                                      \
  X(ESTATE, -20, "not in this state (no decision pending, one pending, or closed)")

enum {
#define RIDESIM_X_(name, val, msg) RIDESIM_##name = val,
  RIDESIM_STATUS_MAP(RIDESIM_X_)
#undef RIDESIM_X_
};

/* What ridesim_env_advance stopped at (ridesim_state.decision). */
enum {
  RIDESIM_DONE = 0,        /* the horizon: the episode is over */
  RIDESIM_DISPATCH = 1,    /* a dispatch decision waits for an answer */
  RIDESIM_REPOSITION = 2,  /* a repositioning round waits for an answer */
  RIDESIM_IDLE = 3,        /* reset, not yet advanced */
};

/* How scores are solved (ridesim_env_answer_scores). */
enum {
  RIDESIM_SERVE_FIRST = 0, /* as many orders as possible, then the largest
                              total score (batch-distance, v1d3) */
  RIDESIM_MAX_WEIGHT = 1,  /* the largest total score; an edge scoring <= 0
                              is never taken */
};

/* Element types of arrays. */
enum { RIDESIM_I32 = 1, RIDESIM_I64 = 2, RIDESIM_F64 = 3, RIDESIM_U8 = 4 };

/* What an array's length follows. */
enum {
  RIDESIM_PER_ROW = 1,       /* n_rows */
  RIDESIM_PER_ROW1 = 2,      /* n_rows + 1 (CSR offsets) */
  RIDESIM_PER_EDGE = 3,      /* n_edges */
  RIDESIM_PER_ELIGIBLE = 4,  /* n_eligible */
  RIDESIM_PER_ELIGIBLE1 = 5, /* n_eligible + 1 (CSR offsets) */
  RIDESIM_PER_REACH = 6,     /* n_reach */
  RIDESIM_PER_ORDER = 7,     /* n_orders */
  RIDESIM_PER_DRIVER = 8,    /* n_drivers */
  RIDESIM_PER_CELL = 9,      /* n_cells */
};

/* The arrays: X(ID, name, type, per, meaning). Times are seconds of the
 * city's local epoch, distances metres, money the data's unit. Order,
 * driver and cell values are indices (0-based) into the per-order,
 * per-driver and per-cell arrays; -1 means none. */
#define RIDESIM_ARRAY_LIST(X)                                                               \
  X(ROW_ORDER, "row_order", I32, ROW, "the order of each row")                              \
  X(ROW_PTR, "row_ptr", I32, ROW1, "row i's edges are [row_ptr[i], row_ptr[i + 1])")        \
  X(ROW_CAPPED, "row_capped", U8, ROW, "1: the row lost edges to the per-driver cap")       \
  X(ROW_WAIT_S, "row_wait_s", I64, ROW, "seconds the order has waited")                     \
  X(ROW_PLAT, "row_plat", F64, ROW, "pickup latitude")                                      \
  X(ROW_PLNG, "row_plng", F64, ROW, "pickup longitude")                                     \
  X(ROW_DLAT, "row_dlat", F64, ROW, "dropoff latitude")                                     \
  X(ROW_DLNG, "row_dlng", F64, ROW, "dropoff longitude")                                    \
  X(ROW_PCELL, "row_pcell", I32, ROW, "pickup cell")                                        \
  X(ROW_DCELL, "row_dcell", I32, ROW, "dropoff cell")                                       \
  X(ROW_FARE, "row_fare", F64, ROW, "what the driver earns on completion")                  \
  X(ROW_TRIP_M, "row_trip_m", F64, ROW, "metres of the trip with the rider")                \
  X(ROW_DURATION_S, "row_duration_s", I32, ROW, "seconds of the trip with the rider")       \
  X(EDGE_ROW, "edge_row", I32, EDGE, "the row of each edge")                                \
  X(EDGE_DRIVER, "edge_driver", I32, EDGE, "the candidate driver")                          \
  X(EDGE_DIST, "edge_dist", F64, EDGE, "great-circle pickup distance")                      \
  X(EDGE_ETA, "edge_eta", F64, EDGE, "pickup time (the travel model's), seconds")           \
  X(EDGE_DRIVER_CELL, "edge_driver_cell", I32, EDGE, "the driver's cell")                   \
  X(ELIG_DRIVER, "elig_driver", I32, ELIGIBLE, "each driver eligible to reposition")        \
  X(ELIG_PTR, "elig_ptr", I32, ELIGIBLE1, "its reachable cells: [elig_ptr[i], elig_ptr[i + 1])") \
  X(ELIG_CELL, "elig_cell", I32, ELIGIBLE, "its cell")                                      \
  X(ELIG_IDLE_S, "elig_idle_s", I64, ELIGIBLE, "seconds it has been idle")                  \
  X(REACH_CELL, "reach_cell", I32, REACH, "a reachable cell (each driver's own first)")     \
  X(REACH_DIST, "reach_dist", F64, REACH, "great-circle metres to its centre")              \
  X(REACH_ETA, "reach_eta", F64, REACH, "seconds to drive there (the travel model's)")      \
  X(ORDER_ID, "order_id", I64, ORDER, "trip id of the store")                               \
  X(ORDER_T_REQUEST, "order_t_request", I64, ORDER, "request time")                         \
  X(ORDER_PLAT, "order_plat", F64, ORDER, "pickup latitude")                                \
  X(ORDER_PLNG, "order_plng", F64, ORDER, "pickup longitude")                               \
  X(ORDER_DLAT, "order_dlat", F64, ORDER, "dropoff latitude")                               \
  X(ORDER_DLNG, "order_dlng", F64, ORDER, "dropoff longitude")                              \
  X(ORDER_PCELL, "order_pcell", I32, ORDER, "pickup cell")                                  \
  X(ORDER_DCELL, "order_dcell", I32, ORDER, "dropoff cell")                                 \
  X(ORDER_FARE, "order_fare", F64, ORDER, "what the driver earns on completion")            \
  X(ORDER_DURATION_S, "order_duration_s", I32, ORDER, "seconds of the trip with the rider") \
  X(ORDER_TRIP_M, "order_trip_m", F64, ORDER, "metres of the trip with the rider")          \
  X(ORDER_STATUS, "order_status", I32, ORDER,                                               \
    "0 waiting, 1 matched, 2 on board, 3 completed, 4 cancelled, 5 expired, 6 open")        \
  X(ORDER_DRIVER, "order_driver", I32, ORDER, "the matched driver")                         \
  X(ORDER_T_MATCH, "order_t_match", I64, ORDER, "match time, -1")                           \
  X(ORDER_T_PICKUP, "order_t_pickup", I64, ORDER, "pickup time, -1")                        \
  X(ORDER_T_DROPOFF, "order_t_dropoff", I64, ORDER, "dropoff time, -1")                     \
  X(ORDER_T_FINAL, "order_t_final", I64, ORDER, "when it reached its final state")          \
  X(ORDER_PICKUP_M, "order_pickup_m", F64, ORDER, "pickup distance at the match, NaN")      \
  X(ORDER_ETA_S, "order_eta_s", F64, ORDER, "pickup time at the match, NaN")                \
  X(DRIVER_LAT, "driver_lat", F64, DRIVER, "latitude at its last event")                    \
  X(DRIVER_LNG, "driver_lng", F64, DRIVER, "longitude at its last event")                   \
  X(DRIVER_CELL, "driver_cell", I32, DRIVER, "cell at its last event")                      \
  X(DRIVER_STATE, "driver_state", I32, DRIVER,                                              \
    "0 offline, 1 idle, 2 to a pickup, 3 with a rider, 4 repositioning")                    \
  X(DRIVER_IDLE_SINCE, "driver_idle_since", I64, DRIVER, "when its idle spell began")      \
  X(CELL_LAT, "cell_lat", F64, CELL, "latitude of the cell's centre")                       \
  X(CELL_LNG, "cell_lng", F64, CELL, "longitude of the cell's centre")

enum {
#define RIDESIM_X_(id, name, type, per, what) RIDESIM_A_##id,
  RIDESIM_ARRAY_LIST(RIDESIM_X_)
#undef RIDESIM_X_
  RIDESIM_A_COUNT
};

/* One array of the environment (ridesim_env_array). */
typedef struct {
  const void *data;  /* its first element */
  int64_t n;         /* elements now (the count it follows) */
  int64_t cap;       /* elements readable from data until the generation changes */
  int64_t stride;    /* bytes from one element to the next */
  int32_t type;      /* RIDESIM_I32 ... */
  int32_t per;       /* RIDESIM_PER_* */
} ridesim_array;

/* Where an environment stands; updated in place by reset, advance and the
 * answers, so a caller may keep the pointer ridesim_env_state returns. */
typedef struct {
  int32_t decision;     /* RIDESIM_DONE, _DISPATCH, _REPOSITION or _IDLE */
  int32_t control;      /* bit 1: dispatch, bit 2: repositioning answered here */
  int32_t n_rows;       /* dispatch: waiting orders in the decision */
  int32_t n_edges;      /* dispatch: candidate pairs */
  int32_t n_eligible;   /* repositioning: drivers that may move */
  int32_t n_reach;      /* repositioning: their reachable cells, all together */
  int32_t n_orders;     /* orders of the episode */
  int32_t n_drivers;    /* drivers of the fleet */
  int32_t n_cells;      /* cells of the city's grid */
  int32_t top_k;        /* most candidates of a row (the scenario's) */
  int32_t max_reach;    /* most reachable cells of a repositioning move */
  int32_t reserved;     /* unused (keeps what follows 8-byte aligned) */
  int64_t now;          /* simulated time */
  int64_t from, to;     /* the horizon */
  int64_t generation;   /* changes whenever array pointers may have moved */
  int64_t episode;      /* episodes begun, the current one included */
  uint64_t seed;        /* the current episode's seed */
  int64_t decisions;    /* decisions answered in the episode */
  int64_t completed;    /* orders completed so far */
  double income;        /* their fares: J so far */
  int64_t matched;      /* orders matched so far */
  double matched_fare;  /* their fares */
  int64_t last_matched; /* pairs the last dispatch answer matched */
  double last_fare;     /* their fares */
} ridesim_state;

typedef struct ridesim_env ridesim_env;

/* The library's ABI (RIDESIM_ABI_VERSION when built) and version. */
int ridesim_abi_version(void);
const char *ridesim_version(void);
/* The meaning of a status code, and its name ("RIDESIM_EINVAL"). */
const char *ridesim_strerror(int code);
const char *ridesim_status_name(int code);

/* Creates an environment: loads the city, the trips and the travel model,
 * builds nothing else yet. scenario_json: the scenario (NULL or "": the
 * defaults, the synthetic city). On failure *out is NULL and the message
 * is in err (err_size bytes, always terminated; err may be NULL). */
int ridesim_env_new(const char *scenario_json, const char *options_json, ridesim_env **out,
                    char *err, size_t err_size);
/* Frees everything (NULL is allowed); every pointer into it dies. */
void ridesim_env_free(ridesim_env *env);
/* The message of the last failed call on env ("" when none). */
const char *ridesim_env_error(const ridesim_env *env);
/* Where env stands (valid until ridesim_env_free). */
const ridesim_state *ridesim_env_state(const ridesim_env *env);
/* The effective scenario of the current episode as JSON (day and horizon
 * fixed; the seed the episode's), owned by env. */
const char *ridesim_env_scenario(const ridesim_env *env);

/* Starts an episode (the previous one is dropped): with `seed` when
 * use_seed, else the scenario's seed for the first episode and the
 * previous one's plus 1 after. The same seed gives the same episode for
 * the same answers. */
int ridesim_env_reset(ridesim_env *env, int use_seed, uint64_t seed);
/* Runs to the next decision the caller answers, or to the horizon.
 * Returns RIDESIM_DISPATCH, RIDESIM_REPOSITION or RIDESIM_DONE (again if
 * already done), or a negative code (the episode is then closed where it
 * stood). RIDESIM_ESTATE while a decision waits for its answer. */
int ridesim_env_advance(ridesim_env *env);

/* The arrays: their number, and for an id its name, type and count. */
int ridesim_array_count(void);
int ridesim_array_info(int id, const char **name, int32_t *type, int32_t *per);
/* The array id of env now. RIDESIM_EINVAL for an unknown id; before the
 * first reset, and for a decision not pending, the array is empty. */
int ridesim_env_array(const ridesim_env *env, int id, ridesim_array *out);

/* Answers the pending dispatch decision, then the caller advances.
 *   scores:   one finite score per edge (n = n_edges), solved exactly
 *             (mode RIDESIM_SERVE_FIRST or RIDESIM_MAX_WEIGHT);
 *   pairs:    (order, driver) index pairs, each a candidate edge, no order
 *             or driver twice;
 *   choices:  per row (n = n_rows), the position of the chosen candidate in
 *             the row (0: the nearest) or -1 for none; no driver twice.
 * RIDESIM_ESTATE when no dispatch decision is pending. */
int ridesim_env_answer_scores(ridesim_env *env, const double *scores, int64_t n, int mode);
int ridesim_env_answer_pairs(ridesim_env *env, const int32_t *order, const int32_t *driver,
                             int64_t n);
int ridesim_env_answer_choices(ridesim_env *env, const int32_t *choice, int64_t n);
/* Answers the pending repositioning round: per eligible driver (n =
 * n_eligible), one of its reachable cells, or -1 (stay). Staying (also
 * by naming its own cell) keeps a driver from being asked again for
 * another repo_idle_s. */
int ridesim_env_answer_dests(ridesim_env *env, const int32_t *cell, int64_t n);

/* What a built-in policy of the registry would answer to the pending
 * decision, from the same inputs, without applying it or drawing from the
 * episode's random streams (it draws from a copy). The policy is built
 * with the scenario's options once per environment (its online learning,
 * if any, sees only the decisions it is asked), except the scenario's own
 * policy of that kind, which is the episode's. Dispatch: up to cap pairs
 * into order and driver, their number in *n. Repositioning: a cell or -1
 * per eligible driver (n = n_eligible). */
int ridesim_env_baseline_pairs(ridesim_env *env, const char *policy, int32_t *order,
                               int32_t *driver, int64_t cap, int64_t *n);
int ridesim_env_baseline_dests(ridesim_env *env, const char *policy, int32_t *cell, int64_t n);

/* Every driver's income so far (n = n_drivers), into out. */
int ridesim_env_driver_income(ridesim_env *env, double *out, int64_t n);

/* The KPI catalogue (sim/kpi.h): how many, and KPI i's field name
 * ("income"), JSON key ("total_driver_income"), label, unit and direction
 * (1 higher is better, -1 lower, 0 neither). NULL / 0 out of range. */
int ridesim_kpi_count(void);
const char *ridesim_kpi_name(int i);
const char *ridesim_kpi_key(int i);
const char *ridesim_kpi_label(int i);
const char *ridesim_kpi_unit(int i);
int ridesim_kpi_direction(int i);
/* The episode's KPIs in catalogue order (n = ridesim_kpi_count()), once it
 * is done; NaN for a solver KPI without solved ticks. J is "income", G
 * "income_per_hour". RIDESIM_ESTATE before the horizon. */
int ridesim_env_kpis(ridesim_env *env, double *out, int n);

#ifdef __cplusplus
}
#endif

#endif

/*
 * agent_proto: the agent protocol of docs/agent-protocol.md as data, with
 * no process and no I/O: what the bridge (agent.h) sends and what it makes
 * of a reply.
 *
 *   - the fault vocabulary (SIM_AGENT_FAULTS: the enum, its names and what
 *     each means) and the fault log, one JSON line per fault;
 *   - the observations: the KDD Cup 2020 dispatch_observ built from a
 *     disp_tick (one record per candidate pair, with unix times and the
 *     weekday) and repo_observ from a disp_repo (grid ids: the KDD table's
 *     when a grid is given, else the engine's cell index), and their JSON
 *     request lines;
 *   - the replies: parsing a line, checking its envelope ({ok, result}),
 *     and validating its items into accepted (order, driver) pairs or
 *     destinations. Every fault is counted and logged; a faulty item is
 *     dropped and the rest of the reply stands.
 *
 * A round goes: sim_agent_proto_dispatch_observ (or _repo_observ) for a
 * decision, sim_agent_proto_write_dispatch (_repo) for its request line,
 * then, for the reply, sim_agent_proto_parse, sim_agent_proto_envelope and
 * sim_agent_proto_dispatch_items (_repo_items), which write into the same
 * decision's out (dest_cell), and sim_agent_proto_end_reply. A reply is
 * validated against the latest observation only: each observation starts
 * a new request stamp, and what an older one offered is forgotten.
 *
 * Everything runs in the caller's thread and returns at once; the time a
 * log line carries is the simulated time of the latest observation. The
 * process, its pipes, time limits, the fallback and the built-in policies
 * are agent.c's.
 *
 * The fault vocabulary keeps its sim_agent_ names: it is the bridge's
 * public vocabulary (the CLI prints it); the rest is sim_agent_proto_.
 *
 * Ownership: a sim_agent_proto borrows the city, grids and log file of its
 * options and the decisions it is handed; it owns its records and
 * validation state, which grow to the largest decision and are reused
 * (sim_agent_proto_close frees them). A sim_agent_proto_buf is the
 * caller's, as is a parsed reply (sim_agent_proto_reply_free).
 */
#ifndef SIM_AGENT_PROTO_H
#define SIM_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/kddcup.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"

#define SIM_AGENT_LOG_ITEMS_MAX 20 /* item faults logged per reply (all counted) */

/* Faults of a reply, each counted. X(ENUM, name, what) */
#define SIM_AGENT_FAULTS(X)                                                        \
  X(NOT_JSON, "not-json", "the reply line is not JSON")                            \
  X(BAD_REPLY, "bad-reply", "the reply is not {\"ok\": true, \"result\": [...]}")   \
  X(EXCEPTION, "exception", "the agent raised an exception (ok false)")            \
  X(TOO_LONG, "too-long", "the reply line exceeds the size limit")                 \
  X(TIMEOUT, "timeout", "no reply within the time limit")                        \
  X(LATE, "late", "a reply after its timeout, discarded")                          \
  X(WRONG_TYPE, "wrong-type", "an item is not an object with the right field types") \
  X(UNKNOWN_ORDER, "unknown-order", "an order_id not offered in that request")     \
  X(UNKNOWN_DRIVER, "unknown-driver", "a driver_id not offered in that request")   \
  X(NOT_OFFERED, "not-offered", "an (order, driver) pair that was not a candidate") \
  X(DUP_ORDER, "duplicate-order", "an order used twice (the later pair dropped)")  \
  X(DUP_DRIVER, "duplicate-driver", "a driver used twice (the later item dropped)") \
  X(BAD_DEST, "bad-destination", "a destination that is not a grid_id of the city") \
  X(DIED, "died", "the agent exited, closed its output, stopped reading or hung")

typedef enum {
#define X(n, s, w) SIM_AGENT_F_##n,
  SIM_AGENT_FAULTS(X)
#undef X
  SIM_AGENT_N_FAULTS
} sim_agent_fault;

/* The fault's name in the log ("not-json"), or "unknown". */
const char *sim_agent_fault_name(int f);
/* What the fault means, one line, or "unknown". */
const char *sim_agent_fault_what(int f);

/* Request kinds; requests are numbered 0 (init), 1, 2, ... over all kinds. */
enum { SIM_AGENT_REQ_INIT = 0, SIM_AGENT_REQ_DISPATCH, SIM_AGENT_REQ_REPOSITION, SIM_AGENT_N_REQ };
/* The competition's error name for faults of a request kind
 * ("InitAgentError", "DispatchAgentError", "RepositionAgentError"). */
const char *sim_agent_error_name(int req_kind);

typedef struct {
  const city_def *city;       /* the run's city (UTC offset, sphere) */
  const city_grid *grid;      /* the engine's grid */
  const city_kdd_grid *kdd;   /* when set, grid_id values are this table's ids */
  int32_t tick_s;             /* the dispatch period (for tick numbers in the log) */
  int64_t t_from;             /* the run's start, local epoch */
  FILE *log;                  /* fault log, one JSON line each; NULL = none */
  int64_t run_id;             /* written into each log line */
  size_t line_max;            /* the reply size limit, named by a too-long fault */
} sim_agent_proto_opts;

/* One dispatch_observ record: the protocol's fields, plus the order index
 * the ids map back to (never sent). */
typedef struct {
  int64_t order_id;         /* the order's trip id */
  int32_t driver_id;        /* the driver's index */
  int32_t order;            /* order index of the decision (not sent) */
  double dist;              /* order_driver_distance, metres, KDD sphere */
  double slng, slat;        /* order_start_location */
  double flng, flat;        /* order_finish_location */
  double dlng, dlat;        /* driver_location */
  int64_t ts;               /* timestamp, unix seconds */
  int64_t finish_ts;        /* order_finish_timestamp, unix seconds */
  int32_t dow;              /* day_of_week, Monday 0 */
  double reward;            /* reward_units */
  double eta;               /* pick_up_eta, seconds */
} sim_agent_proto_rec;

/* What the protocol counted over its life. */
typedef struct {
  int64_t faults[SIM_AGENT_N_FAULTS];  /* by fault */
  int64_t faults_by_kind[SIM_AGENT_N_REQ]; /* all faults by request kind */
  int64_t candidates;         /* dispatch_observ records built */
  int64_t pairs_accepted;     /* (order, driver) pairs that stood */
  int64_t pairs_dropped;      /* dispatch items dropped for a fault */
  int64_t moves_accepted;     /* reposition destinations that stood */
} sim_agent_proto_counts;

/* A request line being written: data[0 .. len) (no NUL). */
typedef struct {
  char *data;
  size_t len, cap;            /* bytes written, allocated (rs_vec) */
} sim_agent_proto_buf;

struct cJSON;
struct sim_agent_proto_drv;
struct sim_agent_proto_drvtext;
struct sim_agent_proto_idrow;

/* A parsed reply line. */
typedef struct {
  struct cJSON *root;         /* the parsed line; NULL when not JSON or too long */
  const struct cJSON *result; /* set by sim_agent_proto_envelope: the result list */
  int too_long;               /* the line was over the size limit (not kept) */
  int has_tick;               /* the reply carries an integer "tick" */
  int64_t tick;               /* that number */
} sim_agent_proto_reply;

/* The protocol's state. Callers read o, r_ratio, now, counts and the
 * records (obs, n_obs); the rest is the validation's own. */
typedef struct {
  sim_agent_proto_opts o;     /* as given */
  double r_ratio;             /* the city's sphere radius / the KDD sphere's
                                 (sim_agent_proto_dist_ratio) */
  int64_t now;                /* simulated time of the latest observation (t_from before) */
  sim_agent_proto_counts counts;
  sim_agent_proto_rec *obs;   /* the latest dispatch_observ, in request order */
  size_t n_obs, cap_obs;

  /* validation: per-request stamps, so that nothing is cleared per request */
  uint32_t stamp;             /* the latest observation's stamp (never 0 once begun) */
  struct sim_agent_proto_drv *drv; /* per driver: stamps and position */
  size_t cap_drv;             /* drivers covered (all initialised) */
  struct sim_agent_proto_drvtext *drvtext; /* per driver: its text in the latest request */
  size_t cap_drvtext;         /* drivers covered (all initialised) */
  uint32_t *row_used;         /* per row of the decision: stamp when used */
  size_t cap_rows;            /* rows covered (all initialised) */
  struct sim_agent_proto_idrow *ids; /* offered orders sorted by id */
  size_t n_ids, cap_ids;
  sim_agent_proto_buf ofields;/* the current order's fields, formatted once */
  int item_logs;              /* item faults logged for the current reply */
  int64_t item_suppressed;    /* and those past the cap, counted only */
} sim_agent_proto;

/* Sets up p (nothing allocated yet). RS_EINVAL without a city and grid. */
int sim_agent_proto_init(sim_agent_proto *p, const sim_agent_proto_opts *o, rs_err *e);
/* Frees what p owns. */
void sim_agent_proto_close(sim_agent_proto *p);

/* Counts a fault of a request of `kind` numbered `seq` and writes its log
 * line (run_id, request, type, tick, time, timestamp, error, fault,
 * detail). An item fault (`item` nonzero) past SIM_AGENT_LOG_ITEMS_MAX in
 * the current reply is counted only. */
void sim_agent_proto_fault(sim_agent_proto *p, int kind, int64_t seq, int fault, int item,
                           const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
/* Ends a reply: one "suppressed" log line when item faults went unlogged,
 * and the per-reply cap starts again. */
void sim_agent_proto_end_reply(sim_agent_proto *p, int kind, int64_t seq);

/* Builds dispatch_observ from a decision's candidate graph: every edge of
 * every row, rows in request order, candidates in row order; rows without
 * a candidate are not offered. Starts a new request. 0, or RS_ENOMEM with
 * nothing offered. */
int sim_agent_proto_dispatch_observ(sim_agent_proto *p, const disp_tick *t);
/* Writes the request line of the latest dispatch_observ, numbered seq,
 * into b (replacing its content). 0, or RS_ENOMEM. */
int sim_agent_proto_write_dispatch(sim_agent_proto *p, sim_agent_proto_buf *b, int64_t seq);

/* Offers a repositioning round's eligible drivers. Starts a new request.
 * 0, or RS_ENOMEM with nothing offered. */
int sim_agent_proto_repo_observ(sim_agent_proto *p, const disp_repo *r);
/* Writes the round's repo_observ request line, numbered seq, into b. 0, or
 * RS_ENOMEM. */
int sim_agent_proto_write_repo(sim_agent_proto *p, sim_agent_proto_buf *b, const disp_repo *r,
                               int64_t seq);

/* Writes the init request line (request 0) into b. 0, or RS_ENOMEM. */
int sim_agent_proto_write_init(sim_agent_proto_buf *b);

/* The grid_id of a point in engine cell `cell`: with a KDD grid the id of
 * the cell whose centre is nearest, else the cell index in decimal.
 * Truncated to fit buf (CITY_KDD_ID_MAX + 16 always fits). */
void sim_agent_proto_grid_id(const sim_agent_proto *p, double lat, double lng, int32_t cell,
                             char *buf, size_t n);

/* Parses a reply line of len bytes (line NULL: the line passed the size
 * limit and was not kept). Never fails: r->root is NULL when the line is
 * not JSON (or out of memory). */
void sim_agent_proto_parse(sim_agent_proto_reply *r, const char *line, size_t len);
/* Frees a parsed reply. */
void sim_agent_proto_reply_free(sim_agent_proto_reply *r);

/* Checks the envelope of a reply to request seq of `kind`: {"ok": true,
 * "result": [...]} ({"ok": true} for init). 0 (r->result set, NULL for
 * init), or -1 when the reply fails entirely: too-long, not-json,
 * bad-reply or exception, counted and logged. */
int sim_agent_proto_envelope(sim_agent_proto *p, int kind, int64_t seq, sim_agent_proto_reply *r);
/* The message of a failed init reply: "ERROR: MESSAGE" from the reply's
 * error and message fields, with defaults for those missing. */
void sim_agent_proto_init_error(const sim_agent_proto_reply *r, char *buf, size_t n);

/* Validates the items of a dispatch reply whose envelope stood against the
 * latest dispatch_observ (which must be of t) and appends the pairs that
 * stand to t->out, in reply order. Returns the pairs accepted. */
int32_t sim_agent_proto_dispatch_items(sim_agent_proto *p, disp_tick *t, int64_t seq,
                                       const sim_agent_proto_reply *r);
/* Validates the items of a reposition reply against the latest round
 * (which must be r) and writes the destinations that stand into
 * r->dest_cell. Returns the moves accepted. */
int32_t sim_agent_proto_repo_items(sim_agent_proto *p, disp_repo *r, int64_t seq,
                                   const sim_agent_proto_reply *rp);

/* Checks one (order_id, driver_id) pair against the latest dispatch_observ
 * (of t): unknown-order, unknown-driver, not-offered, duplicate-order,
 * duplicate-driver, in that order. 1 when it stands (appended to t->out),
 * 0 when dropped (the fault counted and logged). */
int sim_agent_proto_accept_pair(sim_agent_proto *p, disp_tick *t, int64_t seq, int64_t order_id,
                                int64_t driver_id);
/* Checks one (driver_id, destination) item against the latest round (r):
 * unknown-driver, duplicate-driver, bad-destination. 1 when it stands (the
 * cell written into r->dest_cell), 0 when dropped. */
int sim_agent_proto_accept_move(sim_agent_proto *p, disp_repo *r, int64_t seq, int64_t driver_id,
                                const char *dest);

/* What the engine's pickup distances (disp_tick.edge_dist) are divided by
 * to give order_driver_distance: great-circle metres move onto the KDD
 * sphere (r_ratio); a road network's road metres are sent as they are
 * (city_data/travel.h: city_travel_pickup_m). */
static inline double sim_agent_proto_dist_ratio(const sim_agent_proto *p,
                                                const city_travel *tm) {
  return tm != NULL && tm->ops->road_pickup_m ? 1.0 : p->r_ratio;
}

#endif

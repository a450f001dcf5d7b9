/*
 * agent: the bridge to an external dispatch and repositioning agent in the
 * style of the KDD Cup 2020 RL track (docs/agent-protocol.md).
 *
 * The agent is a child process spoken to in JSON lines over pipes, on the
 * run's libuv loop (runloop.h): one request per dispatch tick carrying the
 * competition's dispatch_observ (every candidate pair of the engine's
 * candidate graph), one per repositioning round carrying repo_observ, and an
 * init handshake first. To the engine the bridge is a dispatch policy and a
 * repositioning policy that answer later: their callbacks build the
 * observation and return DISP_PENDING; the loop's on_wait hook
 * (sim_agent_on_wait) sends the request and arms the per-call timer; the
 * reply handler validates the answer, fills the pending decision and calls
 * sim_loop_resume. The simulator never blocks on the agent.
 *
 * The protocol itself (the fault vocabulary and log, the observations and
 * their request lines, reply parsing and validation) is agent_proto.h's, a
 * module without I/O that this header includes; the bridge is the process
 * around it: the child, its pipes, the time limits, the fallback, and the
 * built-in policies.
 *
 * The same bridge can stand a built-in policy behind the observations
 * (`builtin:NAME`): the policy then sees a decision rebuilt from exactly the
 * candidate records the protocol would send, answers in-process, and its
 * answer goes through the same validation, so an external agent and a
 * built-in one are compared on identical inputs.
 *
 * Validation. Every reply is checked; each fault is counted, written to the
 * log (one JSON line each: request number, simulated time, the competition's
 * error name and what was wrong) and summarised by the caller. A faulty item
 * is dropped and the rest of the reply stands; a reply that fails entirely
 * (not JSON, not {ok, result}, an exception in the agent, too long, or too
 * late) leaves the decision to the fallback policy (none: nobody is matched,
 * everybody stays). A reply arriving after its timeout is discarded when it
 * comes, recognised by its request number.
 *
 * A late agent. Requests go out one at a time, and a request goes out only
 * once the agent has answered every earlier one: after a timeout the next
 * request waits (simulated time stands still) for the late reply, so every
 * request reaches an agent that is free and gets its whole time limit. An
 * agent that stalls once therefore loses one tick to the fallback, the same
 * tick in every run, never the ticks the simulation would have raced
 * through meanwhile. A reply that has not come late_limit_s after its time
 * limit makes the agent hung: it counts as died.
 *
 * An agent that exits, closes its output, stops reading its input (a broken
 * pipe: SIGPIPE is held blocked on the loop's thread while the bridge runs)
 * or hangs ends the run through sim_loop_abort (RS_EAGENT), with everything
 * so far kept by the caller. The agent runs in a process group of its own
 * (its shell and whatever the shell starts), and stopping it ends the whole
 * group, so nothing it forked outlives the run.
 *
 * Ownership: the bridge borrows the policies, grids, log file and loop it is
 * given; it owns the child process, its pipes and timers (closed by
 * sim_agent_stop), its protocol state and its buffers, which grow to the
 * largest tick and are reused.
 */
#ifndef SIM_AGENT_H
#define SIM_AGENT_H

#include <stdint.h>
#include <stdio.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/kddcup.h"
#include "dispatch/policy.h"
#include "sim/agent_proto.h"
#include "sim/engine.h"
#include "sim/runloop.h"

#define SIM_AGENT_TIMEOUT_DEFAULT_S 2.0       /* per call, wall time */
/* Loading a model takes longer, and the competition set no short limit on
 * it: the KDD Cup 2020 winner's solution took 46-107 s to start beside other
 * work on a 2-core machine. */
#define SIM_AGENT_INIT_TIMEOUT_DEFAULT_S 600.0
/* How long past its time limit a reply is awaited before the next request
 * goes out; beyond it the agent is hung (counted as died). */
#define SIM_AGENT_LATE_LIMIT_DEFAULT_S 120.0
#define SIM_AGENT_LINE_MAX_DEFAULT (64u << 20) /* longest reply line, bytes */

typedef struct {
  const char *command;        /* external agent: run as /bin/sh -c COMMAND */
  disp_policy *builtin;       /* else: a built-in dispatch policy behind the observations */
  disp_repolicy *builtin_repo;/* and its repositioning policy (both borrowed) */
  disp_policy *fallback;      /* acts when a dispatch reply fails entirely; NULL = none */
  double timeout_s;           /* per call (0: SIM_AGENT_TIMEOUT_DEFAULT_S) */
  double init_timeout_s;      /* the init handshake (0: the default) */
  double late_limit_s;        /* a late reply is awaited this long (0: the default) */
  size_t line_max;            /* 0: SIM_AGENT_LINE_MAX_DEFAULT */
  const city_def *city;       /* the run's city (UTC offset, sphere) */
  const city_grid *grid;      /* the engine's grid */
  const city_kdd_grid *kdd;   /* when set, grid_id values are this table's ids */
  int32_t tick_s;             /* the dispatch period (for tick numbers in the log) */
  int64_t t_from;             /* the run's start, local epoch */
  FILE *log;                  /* fault log, one JSON line each; NULL = none */
  int64_t run_id;             /* written into each log line */
} sim_agent_opts;

/* What the bridge measured (sim_agent_stats). Times are wall nanoseconds. */
typedef struct {
  int64_t requests[SIM_AGENT_N_REQ]; /* by SIM_AGENT_REQ_* */
  int64_t replies_ok;         /* replies that parsed and had a result list */
  int64_t replies_failed;     /* replies that failed entirely (incl. timeouts) */
  int64_t fallback_ticks;     /* ticks the fallback decided */
  int64_t faults[SIM_AGENT_N_FAULTS];
  int64_t faults_by_kind[SIM_AGENT_N_REQ]; /* all faults by request kind */
  int64_t candidates;         /* dispatch_observ records sent */
  int64_t pairs_accepted, pairs_dropped;
  int64_t moves_accepted;     /* reposition destinations applied */
  int64_t bytes_out, bytes_in;
  int64_t build_ns;           /* building observations */
  int64_t serialize_ns;       /* writing them as JSON */
  int64_t parse_ns;           /* parsing replies */
  int64_t validate_ns;        /* checking and applying replies */
  int64_t roundtrip_ns;       /* request written -> reply handled, summed */
  int64_t builtin_ns;         /* a built-in policy deciding */
  int64_t fallback_ns;        /* the fallback deciding */
  int exited;                 /* the child exited */
  int64_t exit_status;        /* its exit status */
  int term_signal;            /* or the signal that ended it */
  int died;                   /* it exited (or closed its output) during the run */
  int init_failed;            /* the init handshake failed */
} sim_agent_stats;

typedef struct sim_agent sim_agent;

/* Creates the bridge (nothing started yet). RS_EINVAL when neither or both
 * of command and builtin are given, RS_ENOMEM. */
int sim_agent_new(const sim_agent_opts *o, sim_agent **out, rs_err *e);
/* Frees the bridge; sim_agent_stop must have run if it was started. */
void sim_agent_free(sim_agent *a);

/* The dispatch and repositioning policies to hand the engine (their
 * contexts are the bridge, which they do not own: destroy is NULL). */
disp_policy sim_agent_policy(sim_agent *a);
disp_repolicy sim_agent_repolicy(sim_agent *a);

/* Spawns the agent on the loop's libuv loop and performs the init
 * handshake, running the loop until the reply (or the init timeout). To be
 * called before sim_loop_run. RS_EAGENT (the reason in e, the fault logged
 * as InitAgentError) when the agent cannot start, fails its init, dies or
 * stays silent. A no-op for a built-in policy. */
int sim_agent_start(sim_agent *a, sim_loop *l, rs_err *e);
/* The runloop's on_wait hook: wait_arg is the bridge. */
void sim_agent_on_wait(void *arg, sim_loop *l, sim_engine *s);
/* Ends the child (closes its input, then kills it after a grace period)
 * and closes every handle of the bridge, running the loop until done. */
void sim_agent_stop(sim_agent *a);

const sim_agent_stats *sim_agent_stats_get(const sim_agent *a);

#endif

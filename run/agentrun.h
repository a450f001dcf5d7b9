/*
 * agentrun: one run whose decisions come from an agent (`ridesim
 * evaluate`), as the KDD Cup 2020 RL track ran its agents: the lifecycle of
 * every run (run/lifecycle.h) with the agent bridge (sim/agent.h) plugged
 * into its hooks.
 *
 * The agent is an external command spoken to in JSON lines, or a built-in
 * dispatch policy standing behind the very same observations (builtin), so
 * that the two are compared on identical inputs. The run is built as any
 * other from its scenario; for an external agent the scenario's policies
 * are stand-ins, dropped once the bridge takes their place, and the run's
 * row records "agent" as its policies, and "agent:COMMAND" or
 * "builtin:NAME" as its dispatch. The KDD Cup side files, when given,
 * become the engine's idle movement (the hour x cell transition table) and
 * cancellation model (per-order probabilities). Every fault of the agent
 * goes to a log of JSON lines (default OUT.agent.jsonl, appended to).
 *
 * Status of the run's row: 'completed', 'interrupted', 'agent-died' (the
 * agent exited or closed its output during the run: everything up to that
 * moment is kept), 'agent-init-failed' (it never got going) or 'failed'.
 *
 * Ownership: the options lend the scenario, fallback policy and KDD tables,
 * which must outlive the run; run_agent_close frees the rest.
 */
#ifndef RUN_AGENTRUN_H
#define RUN_AGENTRUN_H

#include <stdio.h>

#include "base/rs_error.h"
#include "city_data/kddcup.h"
#include "dispatch/policy.h"
#include "run/lifecycle.h"
#include "sim/agent.h"
#include "sim/scenario.h"

#define RUN_AGENT_LABEL_MAX (SIM_NAME_MAX + 160)

typedef struct {
  const sim_scenario *sc;        /* the run's scenario: for builtin, its dispatch names the policy */
  int city_given;                /* the user named the city */
  const char *command;           /* the external agent, or NULL for builtin */
  disp_policy *fallback;         /* decides a tick whose reply failed entirely; NULL none */
  double timeout_s;              /* per call */
  double init_timeout_s;         /* the init handshake */
  const city_kdd_grid *kdd_grid; /* grid_id values of the protocol; NULL none */
  const city_kdd_idle *kdd_idle; /* idle movement (needs kdd_grid); NULL none */
  const city_kdd_cancel *kdd_cancel; /* per-order cancel probabilities; NULL none */
  const char *log_path;          /* the fault log; NULL: OUT.agent.jsonl. Never the
                                    results DB or the trip store (RS_EINVAL) */
  int check;                     /* check the engine's invariants every tick */
  const char *version;           /* ridesim's version, in the run's row */
  double late_limit_s;           /* a late reply is awaited this long (0: sim/agent.h's default) */
  void (*starting)(void *arg, double init_timeout_s); /* called as an external agent is
                                    started, before its init handshake; NULL none */
  void *starting_arg;            /* its argument */
  run_life_hooks tap;             /* a watcher beside the run (lifecycle.h) */
} run_agent_opts;

/* The KDD Cup side files as engine models (the contexts of its hooks). */
typedef struct {
  const city_kdd_grid *grid;      /* the hexagon grid table */
  const city_kdd_idle *idle;      /* hour x cell transitions, or NULL */
  const city_kdd_cancel *cancel;  /* per-order cancel probabilities, or NULL */
} run_agent_kdd;

typedef struct {
  run_agent_opts o;               /* as given */
  run_life life;                  /* the run: its outcome, KPIs, row, input */
  run_agent_kdd kdd;              /* the engine's models */
  sim_agent *ag;                  /* the bridge, once the row has its id */
  FILE *log;                      /* the fault log */
  char log_path[SIM_PATH_MAX + 16];
  char label[RUN_AGENT_LABEL_MAX]; /* agent:COMMAND or builtin:NAME */
  disp_policy inner_dp;           /* the run's own policies while the bridge */
  disp_repolicy inner_rp;         /* stands in their place */
  int swapped;                    /* the bridge stands in the run's policies */
  int log_errno;                  /* writing the fault log failed (errno), 0: it did not */
  int start_tried;                /* the agent's start was attempted */
} run_agent_run;

/* Runs it. 0, or the error of the first step that failed (lifecycle.h's
 * precedence): x->life.written says whether the run's row has its final
 * status, and then x->life holds the outcome and run_agent_stats the
 * bridge's. A fault log that could not be written whole (a full disk) is
 * RS_EIO after a run that went well otherwise. x must be closed either
 * way. */
int run_agent_exec(run_agent_run *x, const run_agent_opts *o, rs_err *e);

/* What the bridge measured; NULL when it was never made. */
const sim_agent_stats *run_agent_stats(const run_agent_run *x);

void run_agent_close(run_agent_run *x);

/* Loads the KDD Cup side files that are named (NULL: not loaded) into *kg,
 * *ki and *kc, which start NULL: the grid table, the idle transitions (which
 * need the grid: their cells are its ids) and the cancel probabilities.
 * 0, or the error of the first file that failed; the tables loaded before
 * it stay in place (for the caller to report their skipped lines and free). */
int run_agent_load_kdd(const char *grid, const char *idle, const char *cancel,
                       city_kdd_grid **kg, city_kdd_idle **ki, city_kdd_cancel **kc, rs_err *e);

#endif

/*
 * ridesim evaluate: one run in which the dispatch and repositioning
 * decisions come from an agent in the style of the KDD Cup 2020 RL track,
 * scored as the competition scored it.
 *
 * The agent is an external command spoken to in JSON lines (sim/agent.h,
 * docs/agent-protocol.md), or `builtin:NAME`: a built-in dispatch policy
 * standing behind the very same observations, so that the two are compared
 * on identical inputs. The run itself is assembled as `ridesim run`
 * assembles it (run/setup.h), with the same options; the run's
 * policies are then replaced by the bridge. Results go to the same results
 * DB; every fault of the agent goes to a log of JSON lines (--agent-log,
 * default OUT.agent.jsonl) and is summarised on stderr.
 *
 * Status of the run's row: 'completed', 'interrupted', 'agent-died' (the
 * agent exited or closed its output during the run: everything up to that
 * moment is kept), 'agent-init-failed' (it never got going) or 'failed'.
 *
 * Scores: J, the total reward of completed orders (the competition takes
 * the mean over its days; one run is one day), and G, the mean over the
 * drivers of their income per online hour.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/kddcup.h"
#include "city_data/tripstore.h"
#include "dispatch/policy.h"
#include "sim/agent.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/runloop.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "tools/runopts.h"
#include "run/setup.h"

#define EVAL_USAGE                                                                     \
  "ridesim evaluate --agent 'COMMAND ...' | --agent builtin:NAME [--agent-timeout S]\n" \
  "                 [--fallback NAME] [--kdd-grid FILE] [--kdd-idle FILE] [--kdd-cancel FILE]\n" \
  "                 [--agent-log FILE] [--verbose] [run options as ridesim run]"

#define BUILTIN_PREFIX "builtin:"

static void eval_help(void) {
  printf("usage: %s\n\n", EVAL_USAGE);
  printf(
      "Runs a day with an agent deciding dispatch (every 2 s, over the candidate pairs)\n"
      "and repositioning, and prints the KDD Cup 2020 scores with the usual KPIs.\n\n"
      "agent:\n"
      "  --agent COMMAND       an external agent, run with /bin/sh -c COMMAND and spoken to\n"
      "                        in JSON lines on its stdin/stdout (docs/agent-protocol.md);\n"
      "                        e.g. 'python3 tools/kddcup_agent.py SUBMISSION_DIR'\n"
      "  --agent builtin:NAME  a built-in dispatch policy (fcfs-nearest, random,\n"
      "                        batch-distance, v1d3) behind the same observations; the\n"
      "                        repositioning policy is --reposition's\n"
      "  --agent-timeout S     wall-time limit per call (default 2)\n"
      "  --agent-init-timeout S  limit of the init handshake (default 60)\n"
      "  --fallback NAME       dispatch policy that decides a tick whose reply failed\n"
      "                        entirely (default none: nobody is matched)\n"
      "  --agent-log FILE      fault log, one JSON line per fault (default OUT.agent.jsonl)\n"
      "  --verbose             print the bridge's own time (building, serialising,\n"
      "                        parsing, validating) at the end\n"
      "  --days D1,D2,...      evaluate each local day in turn (a fresh agent each day)\n"
      "                        and print the competition's scores as means over the days\n"
      "KDD Cup files:\n"
      "  --kdd-grid FILE       hexagon grid table: grid_id values of the protocol are its ids\n"
      "  --kdd-idle FILE       idle transition table (hour, origin, dest, prob): every\n"
      "                        idle step a driver drifts to a cell drawn from its row\n"
      "  --kdd-cancel FILE     per-order cancel probabilities (order_id, p200..p2000),\n"
      "                        matched to the trips' source ids (the order file's\n"
      "                        order_id); other orders use the scenario's table\n"
      "output:\n"
      "  --out DB              results database (default ./ridesim-results.db)\n"
      "  --json                print the scores and KPIs as JSON\n"
      "  --check-invariants    check the engine's invariants at every tick\n"
      "  --print-scenario      print the effective scenario as JSON and exit\n"
      "  --help                this text\n"
      "run options (--dispatch names the built-in policy of builtin:, else ignored):\n");
  runopts_help(RUNOPTS_ALL);
  printf(
      "\nExit status: 0 done, 1 failure (also when the agent died or failed its init:\n"
      "the run's results so far are kept), 2 usage, 130 interrupted.\n");
}

enum {
  OPT_JSON = 256, OPT_CHECK, OPT_PRINT, OPT_HELP, OPT_AGENT, OPT_AGENT_TIMEOUT,
  OPT_AGENT_INIT_TIMEOUT, OPT_FALLBACK, OPT_KDD_GRID, OPT_KDD_IDLE, OPT_KDD_CANCEL,
  OPT_AGENT_LOG, OPT_VERBOSE
};

/* The command's own options; the scenario's come from runopts. */
static const struct option EVAL_OWN[] = {
  {"json", no_argument, NULL, OPT_JSON},
  {"check-invariants", no_argument, NULL, OPT_CHECK},
  {"print-scenario", no_argument, NULL, OPT_PRINT},
  {"help", no_argument, NULL, OPT_HELP},
  {"agent", required_argument, NULL, OPT_AGENT},
  {"agent-timeout", required_argument, NULL, OPT_AGENT_TIMEOUT},
  {"agent-init-timeout", required_argument, NULL, OPT_AGENT_INIT_TIMEOUT},
  {"fallback", required_argument, NULL, OPT_FALLBACK},
  {"kdd-grid", required_argument, NULL, OPT_KDD_GRID},
  {"kdd-idle", required_argument, NULL, OPT_KDD_IDLE},
  {"kdd-cancel", required_argument, NULL, OPT_KDD_CANCEL},
  {"agent-log", required_argument, NULL, OPT_AGENT_LOG},
  {"verbose", no_argument, NULL, OPT_VERBOSE},
  {NULL, 0, NULL, 0},
};

typedef struct {
  sim_scenario sc;
  int city_given;   /* --city or the scenario named one */
  int json, check, print;
  const char *agent;            /* --agent: a command, or builtin:NAME */
  double timeout_s, init_timeout_s;
  const char *fallback;         /* --fallback NAME, NULL = none */
  const char *kdd_grid, *kdd_idle, *kdd_cancel;
  const char *log_path;         /* --agent-log */
  int verbose;
} eval_args;

#define BAD(...) cli_usage_error("evaluate", EVAL_USAGE, __VA_ARGS__)

static int parse_args(int argc, char **argv, eval_args *a) {
  sim_scenario_defaults(&a->sc);
  a->timeout_s = SIM_AGENT_TIMEOUT_DEFAULT_S;
  a->init_timeout_s = SIM_AGENT_INIT_TIMEOUT_DEFAULT_S;
  rs_err e;
  rs_err_clear(&e);
  struct option table[RUNOPTS_MAX];
  runopts_table(RUNOPTS_ALL, EVAL_OWN, table);
  runopts_ctx rc = {"evaluate", EVAL_USAGE, OPT_HELP, 0};
  int pass1 = runopts_scenarios(&rc, argc, argv, table, &a->sc);
  if (pass1 == -1) {
    eval_help();
    return -1;
  }
  if (pass1 != 0) return 1;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", table, NULL)) != -1) {
    double dv;
    int r = runopts_apply(&rc, c, optarg, &a->sc);
    if (r == 2) return 2;
    if (r == 1) continue;
    switch (c) {
    case OPT_JSON: a->json = 1; break;
    case OPT_CHECK: a->check = 1; break;
    case OPT_PRINT: a->print = 1; break;
    case OPT_AGENT: a->agent = optarg; break;
    case OPT_AGENT_TIMEOUT:
      if (cli_parse_double(optarg, &dv) || dv <= 0 || dv > 3600)
        return BAD("--agent-timeout: expected seconds (0-3600], got '%s'", optarg);
      a->timeout_s = dv;
      break;
    case OPT_AGENT_INIT_TIMEOUT:
      if (cli_parse_double(optarg, &dv) || dv <= 0 || dv > 86400)
        return BAD("--agent-init-timeout: expected seconds, got '%s'", optarg);
      a->init_timeout_s = dv;
      break;
    case OPT_FALLBACK: a->fallback = strcmp(optarg, "none") == 0 ? NULL : optarg; break;
    case OPT_KDD_GRID: a->kdd_grid = optarg; break;
    case OPT_KDD_IDLE: a->kdd_idle = optarg; break;
    case OPT_KDD_CANCEL: a->kdd_cancel = optarg; break;
    case OPT_AGENT_LOG: a->log_path = optarg; break;
    case OPT_VERBOSE: a->verbose = 1; break;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  a->city_given = rc.city_given;
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (a->agent == NULL) return BAD("--agent is required: a command, or builtin:NAME");
  if (a->agent[0] == '\0') return BAD("--agent: empty command");
  if (sim_scenario_validate(&a->sc, &e) != 0) {
    cli_error("evaluate", "%s", e.msg);
    return 2;
  }
  return 0;
}

static void print_skips(const char *path, const city_kdd_skips *sk) {
  int64_t shown = sk->n < CITY_KDD_SKIPS_MAX ? sk->n : CITY_KDD_SKIPS_MAX;
  for (int64_t i = 0; i < shown; i++)
    cli_error("evaluate", "warning: %s:%lld: skipped: %s", path, (long long)sk->first[i].line,
              sk->first[i].reason);
  if (sk->n > shown)
    cli_error("evaluate", "warning: %s: %lld more lines skipped", path, (long long)(sk->n - shown));
}

/* stop: the simulated time the run ended, before `to` when it ended early */
static void print_scores(const sim_kpis *k, const eval_args *a, const city_def *city,
                         int64_t from, int64_t to, int64_t stop, double wall,
                         const char *agent_label) {
  char t0[32], t1[32];
  cli_format_time(from, t0, sizeof t0);
  cli_format_time(to, t1, sizeof t1);
  printf("ridesim evaluate: %s, %s to %s, %lld drivers, agent %s, seed %llu\n", city->name, t0,
         t1, (long long)k->drivers, agent_label, (unsigned long long)a->sc.seed);
  printf("  %-28s %14.2f\n", "dispatch score J", k->income);
  printf("  %-28s %14.4f\n", "reposition score G", k->income_per_hour);
  printf("  %-28s %14lld\n", "orders", (long long)k->orders);
  printf("  %-28s %14lld\n", "completed", (long long)k->completed);
  printf("  %-28s %13.2f%%\n", "answer rate", 100 * k->answer_rate);
  printf("  %-28s %13.2f%%\n", "completion rate", 100 * k->completion_rate);
  printf("  %-28s %13.2f%%\n", "cancellation rate", 100 * k->cancel_rate);
  printf("  %-28s %14lld\n", "expired", (long long)k->expired);
  printf("  %-28s %14lld\n", stop < to ? "open at the stop" : "open at horizon",
         (long long)k->open);
  printf("  %-28s %12.1f s\n", "wait to match, mean", k->wait_mean_s);
  printf("  %-28s %12.1f m\n", "pickup distance, mean", k->pickup_m_mean);
  printf("  %-28s %12.1f s\n", "pickup ETA, mean", k->eta_s_mean);
  printf("  %-28s %13.2f%%\n", "utilisation", 100 * k->utilisation);
  printf("  %-28s %11.1f km\n", "empty distance", k->empty_km);
  printf("  %-28s %14lld\n", "events", (long long)k->events);
  printf("  %-28s %12.3f s\n", "wall time", wall);
}

/* The fault summary (stderr): counts by fault with the competition's names. */
static void print_faults(const sim_agent_stats *st, const char *log_path) {
  int64_t total = 0;
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) total += st->faults[f];
  fprintf(stderr, "ridesim evaluate: agent: %lld dispatch and %lld reposition requests, "
                  "%lld replies failed entirely, %lld ticks decided by the fallback, "
                  "%lld pairs accepted, %lld dropped\n",
          (long long)st->requests[SIM_AGENT_REQ_DISPATCH],
          (long long)st->requests[SIM_AGENT_REQ_REPOSITION], (long long)st->replies_failed,
          (long long)st->fallback_ticks, (long long)st->pairs_accepted,
          (long long)st->pairs_dropped);
  if (total == 0) return;
  fprintf(stderr, "ridesim evaluate: agent faults: InitAgentError %lld, DispatchAgentError %lld, "
                  "RepositionAgentError %lld (log: %s)\n",
          (long long)st->faults_by_kind[SIM_AGENT_REQ_INIT],
          (long long)st->faults_by_kind[SIM_AGENT_REQ_DISPATCH],
          (long long)st->faults_by_kind[SIM_AGENT_REQ_REPOSITION], log_path);
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++)
    if (st->faults[f] > 0)
      fprintf(stderr, "  %-18s %8lld  %s\n", sim_agent_fault_name(f), (long long)st->faults[f],
              sim_agent_fault_what(f));
}

static void print_timing(const sim_agent_stats *st, double wall) {
  double own = (double)(st->build_ns + st->serialize_ns + st->parse_ns + st->validate_ns) / 1e9;
  int64_t calls = st->requests[SIM_AGENT_REQ_DISPATCH] + st->requests[SIM_AGENT_REQ_REPOSITION];
  printf("agent bridge timing (wall):\n");
  printf("  %-28s %14lld\n", "requests", (long long)calls);
  printf("  %-28s %14lld\n", "candidate records sent", (long long)st->candidates);
  printf("  %-28s %11.1f MB\n", "bytes out", (double)st->bytes_out / 1e6);
  printf("  %-28s %11.1f MB\n", "bytes in", (double)st->bytes_in / 1e6);
  printf("  %-28s %12.3f s\n", "building observations", (double)st->build_ns / 1e9);
  printf("  %-28s %12.3f s\n", "serialising", (double)st->serialize_ns / 1e9);
  printf("  %-28s %12.3f s\n", "parsing replies", (double)st->parse_ns / 1e9);
  printf("  %-28s %12.3f s\n", "validating, applying", (double)st->validate_ns / 1e9);
  printf("  %-28s %12.3f s  (%.1f%% of the run's wall time)\n", "bridge's own time", own,
         wall > 0 ? 100 * own / wall : 0);
  printf("  %-28s %12.3f s\n", "round trips (agent side)", (double)st->roundtrip_ns / 1e9);
  if (st->builtin_ns > 0)
    printf("  %-28s %12.3f s\n", "built-in policy deciding", (double)st->builtin_ns / 1e9);
  if (st->fallback_ns > 0)
    printf("  %-28s %12.3f s\n", "fallback deciding", (double)st->fallback_ns / 1e9);
  if (calls > 0 && st->roundtrip_ns > 0)
    printf("  %-28s %14.0f\n", "round trips per second",
           (double)calls / ((double)st->roundtrip_ns / 1e9));
}

/* The KDD Cup side files as engine models. */
typedef struct {
  const city_kdd_grid *grid;
  const city_kdd_idle *idle;
  const city_kdd_cancel *cancel;
} kdd_models;

/* Idle drift by the hour x cell transition table: from the KDD cell nearest
 * the driver to the centre of a cell drawn from that cell's row. */
static int kdd_idle_next(void *ctx, int64_t now, int32_t driver, double lat, double lng,
                         double u, double *dlat, double *dlng) {
  (void)driver;
  const kdd_models *km = ctx;
  int64_t tod = now % 86400;
  if (tod < 0) tod += 86400;
  int32_t from = city_kdd_grid_nearest(km->grid, lat, lng);
  int32_t to = city_kdd_idle_sample(km->idle, (int)(tod / 3600), from, u);
  if (to == from) return -1;
  const city_kdd_cell *c = city_kdd_grid_cell(km->grid, to);
  *dlat = c->lat;
  *dlng = c->lng;
  return 0;
}

/* The order's own cancel probabilities, by its source id (order_id). */
static double kdd_cancel_p(void *ctx, const disp_order *o, double pickup_m) {
  const kdd_models *km = ctx;
  double p;
  if (o->source_id >= 0 && city_kdd_cancel_p(km->cancel, o->source_id, pickup_m, &p)) return p;
  return -1.0;
}

/* The scores of one day's run, for the mean over days. */
typedef struct {
  double j, g;   /* total reward of completed orders; income per online hour */
  int done;      /* the run reached its horizon */
} day_score;

static int evaluate_one(int argc, char **argv, day_score *score) {
  eval_args a;
  memset(&a, 0, sizeof a);
  int prc = parse_args(argc, argv, &a);
  if (prc == -1) return 0;
  if (prc != 0) return prc;
  rs_err e;
  rs_err_clear(&e);
  int builtin = strncmp(a.agent, BUILTIN_PREFIX, strlen(BUILTIN_PREFIX)) == 0;
  const char *bname = builtin ? a.agent + strlen(BUILTIN_PREFIX) : NULL;
  if (builtin) {
    if (strlen(bname) >= sizeof a.sc.dispatch) return BAD("--agent: policy name too long");
    snprintf(a.sc.dispatch, sizeof a.sc.dispatch, "%s", bname);
  } else {
    /* stand-ins, replaced by the bridge once the run is built */
    snprintf(a.sc.dispatch, sizeof a.sc.dispatch, "batch-distance");
    snprintf(a.sc.reposition, sizeof a.sc.reposition, "stay");
  }
  if (a.fallback && strcmp(a.fallback, "v1d3") == 0)
    return BAD("--fallback: v1d3 needs a value model; use fcfs-nearest, random or batch-distance");
  if (a.print) return runopts_print_scenario(&a.sc);
  if (run_check_policies(&a.sc, &e) != 0) {
    cli_error("evaluate", "%s", e.msg);
    return 2;
  }
  int status = 1;
  run_input in;
  run_ctx *r = NULL;
  sim_results *res = NULL;
  sim_agent *ag = NULL;
  sim_loop *loop = NULL;
  city_kdd_grid *kg = NULL;
  city_kdd_idle *ki = NULL;
  city_kdd_cancel *kc = NULL;
  disp_policy fb, inner_dp;
  disp_repolicy inner_rp;
  int have_fb = 0, swapped = 0;
  FILE *log = NULL;
  char *scen = NULL;
  char log_path[SIM_PATH_MAX + 16];
  char label[SIM_NAME_MAX + 160];
  memset(&in, 0, sizeof in);
  memset(&fb, 0, sizeof fb);
  if (a.fallback) {
    disp_options dopt = {a.sc.radius_m, a.sc.top_k, a.sc.driver_top_k};
    if (disp_policy_new(a.fallback, &dopt, &fb, &e) != 0) {
      cli_error("evaluate", "--fallback: %s", e.msg);
      return 2;
    }
    have_fb = 1;
  }
  if (a.kdd_grid) {
    if (city_kdd_grid_load(a.kdd_grid, &kg, &e) != 0) goto fail;
    print_skips(a.kdd_grid, city_kdd_grid_skips(kg));
  }
  if (a.kdd_idle) {
    if (kg == NULL) {
      rs_err_set(&e, RS_EINVAL, "--kdd-idle needs --kdd-grid (its cells are the table's ids)");
      goto fail;
    }
    if (city_kdd_idle_load(a.kdd_idle, kg, &ki, &e) != 0) goto fail;
    print_skips(a.kdd_idle, city_kdd_idle_skips(ki));
    cli_error("evaluate", "%s: %lld transitions drive idle movement",
              a.kdd_idle, (long long)city_kdd_idle_rows(ki));
  }
  if (a.kdd_cancel) {
    if (city_kdd_cancel_load(a.kdd_cancel, &kc, &e) != 0) goto fail;
    print_skips(a.kdd_cancel, city_kdd_cancel_skips(kc));
    cli_error("evaluate", "%s: %lld orders' cancel probabilities apply",
              a.kdd_cancel, (long long)city_kdd_cancel_rows(kc));
  }
  if (run_input_load(&a.sc, a.city_given, &in, &e) != 0) goto fail;
  if (run_ctx_new(&a.sc, &in, &r, &e) != 0) goto fail;
  sim_engine *eng = r->eng;
  sim_engine_set_check(eng, a.check);
  kdd_models km = {kg, ki, kc};
  if (ki != NULL) {
    sim_idle_mover mv = {&km, kdd_idle_next};
    sim_engine_set_idle_mover(eng, mv);
  }
  if (kc != NULL) {
    sim_cancel_model cm = {&km, kdd_cancel_p};
    sim_engine_set_cancel_model(eng, cm);
  }
  if (a.log_path) snprintf(log_path, sizeof log_path, "%s", a.log_path);
  else snprintf(log_path, sizeof log_path, "%s.agent.jsonl", a.sc.out);
  log = fopen(log_path, "a");
  if (log == NULL) {
    rs_err_set(&e, RS_EIO, "%s: cannot open the agent log for writing", log_path);
    goto fail;
  }
  if (builtin) {
    snprintf(label, sizeof label, "builtin:%s", a.sc.dispatch);
  } else {
    snprintf(label, sizeof label, "agent:%.150s", a.agent);
    /* what the run's row records: the decisions are the agent's */
    snprintf(a.sc.dispatch, sizeof a.sc.dispatch, "agent");
    snprintf(a.sc.reposition, sizeof a.sc.reposition, "agent");
  }
  if (sim_results_open(a.sc.out, &res, &e) != 0) goto fail;
  scen = sim_scenario_to_json(&a.sc);
  int64_t run_id;
  if (scen == NULL ||
      sim_results_begin_run(res, scen, a.sc.seed, RIDESIM_VERSION, label,
                            builtin ? r->rp.name : "agent", in.from, in.to, &run_id, &e) != 0)
    goto fail;
  sim_agent_opts ao;
  memset(&ao, 0, sizeof ao);
  ao.command = builtin ? NULL : a.agent;
  ao.fallback = have_fb ? &fb : NULL;
  ao.timeout_s = a.timeout_s;
  ao.init_timeout_s = a.init_timeout_s;
  ao.city = &in.city;
  ao.grid = &r->grid;
  ao.kdd = kg;
  ao.tick_s = a.sc.tick_s;
  ao.t_from = in.from;
  ao.log = log;
  ao.run_id = run_id;
  /* The run's own policies: kept behind the bridge (builtin) or dropped
   * (external: they were stand-ins). The engine holds &r->dp and &r->rp,
   * so replacing their contents hands it the bridge. */
  inner_dp = r->dp;
  inner_rp = r->rp;
  if (builtin) {
    ao.builtin = &inner_dp;
    ao.builtin_repo = &inner_rp;
  }
  if (sim_agent_new(&ao, &ag, &e) != 0) goto fail;
  if (!builtin) {
    disp_policy_destroy(&inner_dp);
    disp_repolicy_destroy(&inner_rp);
  }
  r->dp = sim_agent_policy(ag);
  r->rp = sim_agent_repolicy(ag);
  swapped = 1;
  sim_loop_opts lo = {a.sc.speed, 0, NULL, NULL, sim_agent_on_wait, ag};
  if (sim_loop_new(eng, &lo, &loop, &e) != 0) goto fail;
  int interrupted = 0;
  double wall = 0;
  int rc = sim_agent_start(ag, loop, &e);
  run_signals held;
  const char *st;
  if (rc != 0) {
    sim_engine_close_early(eng);
    st = "agent-init-failed";
  } else {
    rc = sim_loop_run(loop, &interrupted, &wall, &e);
    const sim_agent_stats *ast = sim_agent_stats_get(ag);
    st = rc == 0 ? (interrupted ? "interrupted" : "completed")
                 : (ast->died ? "agent-died" : "failed");
  }
  run_signals_hold(&held); /* until the results are written */
  sim_agent_stop(ag);
  fflush(log);
  sim_kpis k;
  sim_engine_kpis(eng, &k);
  rs_err we;
  rs_err_clear(&we);
  int wrote = sim_results_finish_run(res, run_id, eng, &k, st, wall, NULL, &we);
  int late_signal = run_signals_release(&held);
  if (wrote != 0) {
    cli_error("evaluate", "%s", we.msg);
    goto fail_quiet;
  }
  const sim_agent_stats *ast = sim_agent_stats_get(ag);
  if (score != NULL) {
    score->j = k.income;
    score->g = k.income_per_hour;
    score->done = rc == 0 && !interrupted;
  }
  if (a.json) {
    char *j = sim_kpis_to_json(&k, 1);
    if (j) printf("%s\n", j);
    free(j);
  } else {
    print_scores(&k, &a, &in.city, in.from, in.to, sim_engine_now(eng), wall, label);
    printf("  results: %s (run %lld, %s)\n", a.sc.out, (long long)run_id, st);
  }
  if (a.verbose) print_timing(ast, wall);
  print_faults(ast, log_path);
  if (rc != 0) {
    cli_error("evaluate", "%s", e.msg);
    if (ast->exited && (strcmp(st, "agent-died") == 0 || strcmp(st, "agent-init-failed") == 0)) {
      if (ast->term_signal)
        cli_error("evaluate", "the agent was killed by signal %d", ast->term_signal);
      else
        cli_error("evaluate", "the agent exited with status %lld", (long long)ast->exit_status);
    }
    cli_error("evaluate", "run %lld ended with status %s at simulated %lld s of %lld; results kept",
              (long long)run_id, st, (long long)(sim_engine_now(eng) - in.from),
              (long long)(in.to - in.from));
    status = 1;
    goto done;
  }
  status = interrupted || late_signal ? 130 : 0;
  if (late_signal && !interrupted)
    cli_error("evaluate", "stopped by a signal after the run had ended; its results (%s) kept", st);
  if (interrupted)
    cli_error("evaluate", "interrupted at simulated %lld s of %lld; results kept",
              (long long)(sim_engine_now(eng) - in.from), (long long)(in.to - in.from));
  goto done;
fail:
  cli_error("evaluate", "%s", e.msg);
fail_quiet:
  status = 1;
done:
  if (ag) sim_agent_stop(ag);
  sim_loop_free(loop);
  if (swapped) {
    /* hand run_ctx back what it owns (builtin) or nothing (external) */
    if (builtin) {
      r->dp = inner_dp;
      r->rp = inner_rp;
    } else {
      memset(&r->dp, 0, sizeof r->dp);
      memset(&r->rp, 0, sizeof r->rp);
    }
  }
  sim_agent_free(ag);
  if (have_fb) disp_policy_destroy(&fb);
  if (log) fclose(log);
  free(scen);
  sim_results_close(res);
  run_ctx_free(r);
  run_input_free(&in);
  city_kdd_grid_free(kg);
  city_kdd_idle_free(ki);
  city_kdd_cancel_free(kc);
  return status;
}

/* Finds --days LIST (or --days=LIST); its index in argv, or -1. */
static int find_days(int argc, char **argv, const char **list, int *width) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
      *list = argv[i + 1];
      *width = 2;
      return i;
    }
    if (strncmp(argv[i], "--days=", 7) == 0) {
      *list = argv[i] + 7;
      *width = 1;
      return i;
    }
  }
  return -1;
}

/* `evaluate --days D1,D2,...`: one run per day, then the competition's
 * scores: J and G as means over the days. */
int cmd_evaluate(int argc, char **argv) {
  const char *list = NULL;
  int width = 0, at = find_days(argc, argv, &list, &width);
  if (at < 0) return evaluate_one(argc, argv, NULL);
  enum { MAX_DAYS = 366 };
  char days[MAX_DAYS][16];
  int n = 0;
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    int64_t t;
    char d[16];
    if (len == 0 || len >= sizeof d || n == MAX_DAYS)
      return BAD("--days: expected YYYY-MM-DD[,YYYY-MM-DD...] (at most %d), got '%s'", MAX_DAYS,
                 list);
    memcpy(d, p, len);
    d[len] = '\0';
    if (cli_parse_day(d, &t) != 0) return BAD("--days: '%s' is not a day YYYY-MM-DD", d);
    snprintf(days[n++], sizeof days[0], "%s", d);
    p += len;
    if (*p == ',') p++;
  }
  char **av = malloc((size_t)(argc + 2) * sizeof *av);
  if (av == NULL) {
    cli_error("evaluate", "out of memory");
    return 1;
  }
  int ac = 0;
  for (int i = 0; i < argc; i++)
    if (i < at || i >= at + width) av[ac++] = argv[i];
  av[ac] = "--day";
  av[ac + 2] = NULL;
  double sj = 0, sg = 0;
  int status = 0;
  day_score sc[MAX_DAYS];
  for (int i = 0; i < n; i++) {
    av[ac + 1] = days[i];
    memset(&sc[i], 0, sizeof sc[i]);
    status = evaluate_one(ac + 2, av, &sc[i]);
    if (status != 0 || !sc[i].done) {
      if (status == 0) status = 1;
      cli_error("evaluate", "%s did not complete: no mean over the days", days[i]);
      break;
    }
    sj += sc[i].j;
    sg += sc[i].g;
  }
  if (status == 0) {
    printf("ridesim evaluate: %d days\n", n);
    for (int i = 0; i < n; i++)
      printf("  %s   J %14.2f   G %10.4f\n", days[i], sc[i].j, sc[i].g);
    printf("  %-30s %14.2f\n", "dispatch score J (mean)", sj / n);
    printf("  %-30s %14.4f\n", "reposition score G (mean)", sg / n);
  }
  free(av);
  return status;
}

/*
 * ridesim evaluate: one run in which the dispatch and repositioning
 * decisions come from an agent in the style of the KDD Cup 2020 RL track,
 * scored as the competition scored it.
 *
 * The agent is an external command spoken to in JSON lines (sim/agent.h,
 * docs/agent-protocol.md), or `builtin:NAME`: a built-in dispatch policy
 * standing behind the very same observations, so that the two are compared
 * on identical inputs. The run is the lifecycle of every run with the
 * agent bridge in its hooks (run/agentrun.h), with the options of `ridesim
 * run`. Results go to the same results DB; every fault of the agent goes to
 * a log of JSON lines (--agent-log, default OUT.agent.jsonl) and is
 * summarised on stderr (tools/evalout.h prints the end of a run).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/kddcup.h"
#include "dispatch/policy.h"
#include "dispatch/registry.h"
#include "run/agentrun.h"
#include "run/setup.h"
#include "sim/agent.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "tools/evalout.h"
#include "tools/runopts.h"
#include "tools/serveopt.h"

#define EVAL_USAGE                                                                     \
  "ridesim evaluate --agent 'COMMAND ...' | --agent builtin:NAME [--agent-timeout S]\n" \
  "                 [--fallback NAME] [--kdd-grid FILE] [--kdd-idle FILE] [--kdd-cancel FILE]\n" \
  "                 [--agent-log FILE] [--verbose] [--serve [ADDR:]PORT] [run options]"

#define BUILTIN_PREFIX "builtin:"

static void eval_help(void) {
  printf("usage: %s\n\n", EVAL_USAGE);
  printf(
      "Runs a day with an agent deciding dispatch (every 2 s, over the candidate pairs)\n"
      "and repositioning, and prints the KDD Cup 2020 scores with the usual KPIs.\n\n"
      "agent:\n"
      "  --agent COMMAND       an external agent, run with /bin/sh -c COMMAND and spoken to\n"
      "                        in JSON lines on its stdin/stdout (docs/agent-protocol.md);\n"
      "                        e.g. 'python3 tools/kddcup_agent.py SUBMISSION_DIR'\n");
  char names[256], text[512];
  disp_registry_names(DISP_REG_DISPATCH, 0, ", ", names, sizeof names);
  snprintf(text, sizeof text, "a built-in dispatch policy (%s) behind the same observations; "
           "the repositioning policy is --reposition's", names);
  runopts_help_line("--agent builtin:NAME", text);
  printf(
      "  --agent-timeout S     wall-time limit per call (default 2)\n"
      "  --agent-init-timeout S  limit of the init handshake (default 600: loading a\n"
      "                        model on a busy machine takes minutes)\n"
      "  --agent-late-limit S  after a timeout, the next request waits for the late\n"
      "                        reply, at most S s more (default 120); longer: the\n"
      "                        agent hangs and the run ends as agent-died\n");
  disp_registry_names(DISP_REG_DISPATCH, DISP_REG_NEEDS_MODEL, ", ", names, sizeof names);
  snprintf(text, sizeof text, "dispatch policy (%s) that decides a tick whose reply failed "
           "entirely (default none: nobody is matched)", names);
  runopts_help_line("--fallback NAME", text);
  printf(
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
      "  --help                this text\n" SERVEOPT_HELP
      "run options (--dispatch names the built-in policy of builtin:, else ignored):\n");
  runopts_help(RUNOPTS_ALL);
  printf(
      "\nExit status: 0 done, 1 failure (also when the agent died or failed its init:\n"
      "the run's results so far are kept), 2 usage, 130 interrupted.\n");
}

enum {
  OPT_JSON = 256, OPT_CHECK, OPT_PRINT, OPT_HELP, OPT_AGENT, OPT_AGENT_TIMEOUT,
  OPT_AGENT_INIT_TIMEOUT, OPT_FALLBACK, OPT_KDD_GRID, OPT_KDD_IDLE, OPT_KDD_CANCEL,
  OPT_AGENT_LOG, OPT_VERBOSE, OPT_AGENT_LATE_LIMIT, OPT_SERVE
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
  {"agent-late-limit", required_argument, NULL, OPT_AGENT_LATE_LIMIT},
  {"fallback", required_argument, NULL, OPT_FALLBACK},
  {"kdd-grid", required_argument, NULL, OPT_KDD_GRID},
  {"kdd-idle", required_argument, NULL, OPT_KDD_IDLE},
  {"kdd-cancel", required_argument, NULL, OPT_KDD_CANCEL},
  {"agent-log", required_argument, NULL, OPT_AGENT_LOG},
  {"verbose", no_argument, NULL, OPT_VERBOSE},
  {"serve", required_argument, NULL, OPT_SERVE},
  {NULL, 0, NULL, 0},
};

typedef struct {
  sim_scenario sc;
  int city_given;   /* --city or the scenario named one */
  int json, check, print;
  const char *agent;            /* --agent: a command, or builtin:NAME */
  double timeout_s, init_timeout_s, late_limit_s;
  const char *fallback;         /* --fallback NAME, NULL = none */
  const char *kdd_grid, *kdd_idle, *kdd_cancel;
  const char *log_path;         /* --agent-log */
  int verbose;
  int serve;                    /* --serve given */
  view_run view;                /* ... where, and the viewer while the run goes */
} eval_args;

#define BAD(...) cli_usage_error("evaluate", EVAL_USAGE, __VA_ARGS__)

static int parse_args(int argc, char **argv, eval_args *a) {
  sim_scenario_defaults(&a->sc);
  a->timeout_s = SIM_AGENT_TIMEOUT_DEFAULT_S;
  a->init_timeout_s = SIM_AGENT_INIT_TIMEOUT_DEFAULT_S;
  a->late_limit_s = SIM_AGENT_LATE_LIMIT_DEFAULT_S;
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
  if (pass1 != 0) return pass1; /* 2: a scenario file that does not read */
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
    case OPT_AGENT_LATE_LIMIT:
      if (cli_parse_double(optarg, &dv) || dv <= 0 || dv > 86400)
        return BAD("--agent-late-limit: expected seconds (0-86400], got '%s'", optarg);
      a->late_limit_s = dv;
      break;
    case OPT_FALLBACK: a->fallback = strcmp(optarg, "none") == 0 ? NULL : optarg; break;
    case OPT_KDD_GRID: a->kdd_grid = optarg; break;
    case OPT_KDD_IDLE: a->kdd_idle = optarg; break;
    case OPT_KDD_CANCEL: a->kdd_cancel = optarg; break;
    case OPT_AGENT_LOG: a->log_path = optarg; break;
    case OPT_VERBOSE: a->verbose = 1; break;
    case OPT_SERVE:
      if (serveopt_parse("evaluate", EVAL_USAGE, optarg, &a->view) != 0) return 2;
      a->serve = 1;
      break;
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

/* The scores of one day's run, for the mean over days. */
typedef struct {
  double j, g;   /* total reward of completed orders; income per online hour */
  int done;      /* the run reached its horizon */
} day_score;

/* Loads the KDD Cup side files, printing what each loaded one skipped. */
static int load_kdd(const eval_args *a, city_kdd_grid **kg, city_kdd_idle **ki,
                    city_kdd_cancel **kc, rs_err *e) {
  int rc = run_agent_load_kdd(a->kdd_grid, a->kdd_idle, a->kdd_cancel, kg, ki, kc, e);
  if (*kg) print_skips(a->kdd_grid, city_kdd_grid_skips(*kg));
  if (*ki) {
    print_skips(a->kdd_idle, city_kdd_idle_skips(*ki));
    cli_error("evaluate", "%s: %lld transitions drive idle movement", a->kdd_idle,
              (long long)city_kdd_idle_rows(*ki));
  }
  if (*kc) {
    print_skips(a->kdd_cancel, city_kdd_cancel_skips(*kc));
    cli_error("evaluate", "%s: %lld orders' cancel probabilities apply", a->kdd_cancel,
              (long long)city_kdd_cancel_rows(*kc));
  }
  return rc;
}

/* Says that the bridge now waits for the agent to load (a model can take
 * minutes). */
static void say_starting(void *arg, double limit_s) {
  (void)arg;
  cli_error("evaluate", "starting the agent; waiting up to %.0f s for its init reply"
            " (--agent-init-timeout)", limit_s);
}

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
  const disp_registry_entry *fent = a.fallback ? disp_registry_find(a.fallback) : NULL;
  if (fent != NULL && (fent->needs & DISP_REG_NEEDS_MODEL)) {
    char names[256];
    disp_registry_names(DISP_REG_DISPATCH, DISP_REG_NEEDS_MODEL, ", ", names, sizeof names);
    return BAD("--fallback: %s needs a model of the city; use %s", a.fallback, names);
  }
  if (a.print) return runopts_print_scenario(&a.sc);
  if (run_check_policies(&a.sc, &e) != 0) {
    cli_error("evaluate", "%s", e.msg);
    return 2;
  }
  if (a.serve && serveopt_check("evaluate", &a.view) != 0) return 1;
  disp_policy fb;
  memset(&fb, 0, sizeof fb);
  if (a.fallback) {
    disp_options dopt = {a.sc.radius_m, a.sc.top_k, a.sc.driver_top_k};
    if (disp_policy_new(a.fallback, &dopt, &fb, &e) != 0) {
      cli_error("evaluate", "--fallback: %s", e.msg);
      return 2;
    }
  }
  city_kdd_grid *kg = NULL;
  city_kdd_idle *ki = NULL;
  city_kdd_cancel *kc = NULL;
  run_agent_run x;
  memset(&x, 0, sizeof x);
  int status = 1;
  if (load_kdd(&a, &kg, &ki, &kc, &e) != 0) {
    cli_error("evaluate", "%s", e.msg);
  } else {
    run_agent_opts o = {&a.sc, a.city_given, builtin ? NULL : a.agent,
                        a.fallback ? &fb : NULL, a.timeout_s, a.init_timeout_s, kg, ki, kc,
                        a.log_path, a.check, RIDESIM_VERSION, a.late_limit_s, say_starting,
                        NULL, {0}};
    if (a.serve) o.tap = view_run_hooks(&a.view);
    int rc = run_agent_exec(&x, &o, &e);
    if (!x.life.written) {
      cli_error("evaluate", "%s", e.msg);
    } else {
      if (score != NULL) {
        score->j = x.life.k.income;
        score->g = x.life.k.income_per_hour;
        score->done = x.life.rc == 0 && !x.life.interrupted;
      }
      status = evalout_run(&x, a.sc.seed, a.json, a.verbose, &e, rc);
    }
  }
  run_agent_close(&x);
  if (a.fallback) disp_policy_destroy(&fb);
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

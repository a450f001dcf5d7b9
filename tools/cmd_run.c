/*
 * ridesim run: one run of the engine, end to end.
 *
 * Options are layered: defaults, then the --scenario file, then flags. The
 * trips come from a trip store (--trips) or the synthetic city (default).
 * Everything that can be wrong with the input (policy names, the day, the
 * fleet, the stores) is checked before the results DB gets a run row, so a
 * failed start never leaves a run behind; once started, a run always ends
 * with its row 'completed' or 'interrupted' (or, if the process is killed,
 * 'running', which readers treat as incomplete). The run itself is the
 * lifecycle of every run (run/lifecycle.h); this file parses and prints.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/travel_net.h"
#include "run/lifecycle.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "tools/kpiout.h"
#include "tools/runopts.h"
#include "tools/serveopt.h"

#define RUN_USAGE                                                                  \
  "ridesim run [--trips DB | --synthetic] [--day YYYY-MM-DD] [--from HH:MM --to HH:MM]\n" \
  "            [--drivers N] [--dispatch NAME] [--reposition NAME] [--seed S]\n"   \
  "            [--scenario FILE.json] [--out DB] [--results full|orders|summary]\n"       \
  "            [--json] [--speed X] [--print-scenario] [--serve [ADDR:]PORT]"

static void run_help(void) {
  printf("usage: %s\n\n", RUN_USAGE);
  printf("Replays a day of trips against a fleet, asking a dispatch and a repositioning\n"
         "policy what to do, and prints the KPIs. With no options: the synthetic city.\n\n");
  runopts_help(RUNOPTS_ALL);
  printf("run:\n"
         "  --out DB              results database (default ./ridesim-results.db)\n"
         "  --results KEEP        what the DB keeps of the run: full (default), orders (all\n"
         "                        but the solver's ticks), summary (KPIs, series, cells)\n"
         "  --value-out FILE      save the run's value table at the end (v1d3)\n"
         "  --json                print the KPIs as JSON instead of a table\n"
         "  --check-invariants    check the engine's invariants at every tick\n"
         "  --print-scenario      print the effective scenario as JSON and exit\n"
         SERVEOPT_HELP
         "  --help                this text\n\n"
         "SIGINT or SIGTERM stops the run, keeps everything so far (status interrupted)\n"
         "and exits with 130.\n");
}

enum { OPT_JSON = 256, OPT_CHECK, OPT_PRINT, OPT_HELP, OPT_VOUT, OPT_SERVE, OPT_RESULTS };

static const struct option RUN_OWN[] = {
  {"json", no_argument, NULL, OPT_JSON},
  {"check-invariants", no_argument, NULL, OPT_CHECK},
  {"print-scenario", no_argument, NULL, OPT_PRINT},
  {"help", no_argument, NULL, OPT_HELP},
  {"value-out", required_argument, NULL, OPT_VOUT},
  {"serve", required_argument, NULL, OPT_SERVE},
  {"results", required_argument, NULL, OPT_RESULTS},
  {NULL, 0, NULL, 0},
};

typedef struct {
  sim_scenario sc;
  int city_given;   /* --city or the scenario named one */
  int json, check, print;
  int keep;         /* what the results keep: SIM_RESULTS_* (--results) */
  char value_out[SIM_PATH_MAX]; /* save the run's value table here */
  int serve;        /* --serve given */
  view_run view;    /* ... where, and the viewer while the run goes */
} run_args;

#define BAD(...) cli_usage_error("run", RUN_USAGE, __VA_ARGS__)

static int parse_args(int argc, char **argv, run_args *a) {
  sim_scenario_defaults(&a->sc);
  struct option table[RUNOPTS_MAX];
  runopts_table(RUNOPTS_ALL, RUN_OWN, table);
  runopts_ctx rc = {"run", RUN_USAGE, OPT_HELP, 0};
  int pass1 = runopts_scenarios(&rc, argc, argv, table, &a->sc);
  if (pass1 == -1) {
    run_help();
    return -1;
  }
  if (pass1 != 0) return pass1; /* 2: a scenario file that does not read */
  optind = 1;
  int c;
  char why[4200];
  while ((c = getopt_long(argc, argv, "", table, NULL)) != -1) {
    int r = runopts_apply(&rc, c, optarg, &a->sc);
    if (r == 2) return 2;
    if (r == 1) continue;
    switch (c) {
    case OPT_JSON: a->json = 1; break;
    case OPT_CHECK: a->check = 1; break;
    case OPT_PRINT: a->print = 1; break;
    case OPT_RESULTS:
      if (sim_results_keep_parse(optarg, &a->keep) != 0)
        return BAD("--results: expected full, orders or summary, got '%s'", optarg);
      break;
    case OPT_VOUT:
      if (strlen(optarg) >= sizeof a->value_out) return BAD("--value-out: path too long");
      /* checked now: a run of hours must not end in a table that cannot be saved */
      if (cli_check_output(optarg, why, sizeof why) != 0) return BAD("--value-out: %s", why);
      snprintf(a->value_out, sizeof a->value_out, "%s", optarg);
      break;
    case OPT_SERVE:
      if (serveopt_parse("run", RUN_USAGE, optarg, &a->view) != 0) return 2;
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
  rs_err e;
  rs_err_clear(&e);
  if (sim_scenario_validate(&a->sc, &e) != 0) {
    cli_error("run", "%s", e.msg);
    return 2;
  }
  return 0;
}

/* After "solver ticks": the batch solver's per-tick figures, three to a
 * line. */
static void solver_lines(void *arg, int id, const sim_kpis *k) {
  (void)arg;
  if (id != SIM_KPI_SOLVE_TICKS) return;
  printf("  %-28s %5.1f / %.1f / %.1f\n", "per tick orders/drivers/edges", k->tick_orders_mean,
         k->tick_drivers_mean, k->tick_edges_mean);
  printf("  %-28s %7.1f / %.1f / %.1f us\n", "solve time p50 / p99 / max", k->solve_p50_us,
         k->solve_p99_us, k->solve_max_us);
}

/* stop: the simulated time the run ended (past `to` after a drain);
 * stopped: it was interrupted */
static void print_table(const sim_kpis *k, const sim_scenario *sc, const city_def *city,
                        int64_t from, int64_t to, int64_t stop, int stopped, double wall) {
  char a[32], b[32];
  cli_format_time(from, a, sizeof a);
  cli_format_time(to, b, sizeof b);
  printf("ridesim run: %s, %s to %s, %lld drivers, dispatch %s, reposition %s, seed %llu\n",
         city->name, a, b, (long long)k->drivers, sc->dispatch, sc->reposition,
         (unsigned long long)sc->seed);
  /* a v1d3 run's value function: which mode, and which offline table */
  const disp_registry_entry *v1 = disp_registry_find("v1d3");
  if (v1 != NULL && (strcmp(sc->dispatch, "v1d3") == 0 || strcmp(sc->reposition, "v1d3") == 0)) {
    const char *mode = disp_optvals_str(&sc->policies, v1, disp_registry_opt(v1, "mode"));
    const char *table = disp_optvals_str(&sc->policies, v1, disp_registry_opt(v1, "table"));
    int online = mode == NULL || strcmp(mode, "online") == 0;
    printf("  value: %s%s%s\n", mode ? mode : "online", online ? "" : ", table ",
           online ? "" : table ? table : "(none)");
  }
  if (sc->warmup_s > 0) {
    cli_format_time(from - sc->warmup_s, a, sizeof a);
    printf("  warm-up from %s (%d min; its orders not counted)\n", a, sc->warmup_s / 60);
  }
  if (stop > to) {
    cli_format_time(stop, b, sizeof b);
    printf("  drain to %s (%lld s past the horizon: %s)\n", b, (long long)(stop - to),
           k->open > 0 ? "its cap, some orders still open" : "the horizon's last order ended");
  }
  kpiout_opts o = {SIM_KPI_VIEW_RUN, wall, stopped, solver_lines, NULL};
  kpiout_table(k, &o);
  printf("  %-28s %13.0fx\n", "speed-up over real time", wall > 0 ? k->horizon_s / wall : 0);
  if (k->modelled_duration > 0 || k->modelled_fare > 0)
    printf("  modelled from the travel model: %lld trip durations, %lld fares "
           "(the data has none)\n",
           (long long)k->modelled_duration, (long long)k->modelled_fare);
}

int cmd_run(int argc, char **argv) {
  run_args a;
  memset(&a, 0, sizeof a);
  int prc = parse_args(argc, argv, &a);
  if (prc == -1) return 0;
  if (prc != 0) return prc;
  rs_err e;
  rs_err_clear(&e);
  if (a.print) return runopts_print_scenario(&a.sc);
  if (run_check_policies(&a.sc, &e) != 0) {
    cli_error("run", "%s", e.msg);
    return 2;
  }
  if (a.serve && serveopt_check("run", &a.view) != 0) return 1;
  run_life_opts o;
  memset(&o, 0, sizeof o);
  if (a.serve) o.tap = view_run_hooks(&a.view);
  o.sc = &a.sc;
  o.city_given = a.city_given;
  o.version = RIDESIM_VERSION;
  o.check = a.check;
  o.value_out = a.value_out;
  o.keep = a.keep;
  run_life l;
  run_life_init(&l, &o);
  int status = 1;
  if (run_life_exec(&l, &e) != 0) {
    cli_error("run", "%s", e.msg);
  } else {
    const run_input *in = l.in;
    if (a.json) {
      char *j = sim_kpis_to_json(&l.k, 1);
      if (j) printf("%s\n", j);
      free(j);
    } else {
      print_table(&l.k, &l.sc, &in->city, in->from, in->to, run_life_now(&l), l.interrupted,
                  l.wall_s);
      if (in->start_source != NULL)
        printf("  fleet start: %s (%zu points)\n", in->start_source, in->n_start);
      const city_net *net = city_travel_net_network(&in->travel);
      if (net != NULL)
        printf("  road network: %s (%d nodes; %lld dropped outside its largest component, %lld "
               "links of implausible speed retimed); %lld of %lld trip ends off it (over %.0f m "
               "from a node)\n",
               l.sc.network, (int)net->n_nodes, (long long)net->st.dropped_nodes,
               (long long)net->st.implausible, (long long)in->offnet, 2 * (long long)in->n,
               CITY_NET_SNAP_LIMIT_M);
      printf("  results: %s (run %lld, %s)\n", l.sc.out, (long long)l.run_id, l.status);
    }
    if (a.serve)
      fprintf(stderr, "ridesim run: live view: %lld frames sent, %lld dropped for busy clients, "
              "%.3f s building them\n", (long long)a.view.sent, (long long)a.view.dropped,
              a.view.build_s);
    status = l.interrupted || l.late_signal ? 130 : 0;
    if (l.late_signal && !l.interrupted)
      cli_error("run", "stopped by a signal after the run had ended; its results (%s) kept",
                l.status);
    if (l.interrupted)
      cli_error("run", "interrupted at simulated %lld s of %lld; results kept",
                (long long)(run_life_now(&l) - in->from), (long long)(in->to - in->from));
  }
  run_life_close(&l);
  return status;
}

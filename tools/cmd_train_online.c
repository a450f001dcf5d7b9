/*
 * ridesim train --online --trips DB --days D1[,D2...] --out VALUE.db
 *               [--runs RESULTS.db] [run options: --drivers, --network,
 *               --reposition, --seed, --lr, --value-table ...]
 *
 * Learns a value table the way a platform would: the simulator drives a
 * fleet through each historical day in turn with the v1d3 policies and
 * their online learner (dispatch/v1d3.h), every day warm-started from the
 * table the day before left (the first from --value-table, or from
 * nothing). Unlike the backward programme of `ridesim train`, the learner
 * sees idle time: a driver waits before its next order, how long depending
 * on the cell and the time, and only a replay with a fleet has such
 * trajectories. Each day's run is a row of the results DB (--runs, default
 * VALUE.db's name with "-runs.db"), and the table is saved after every day
 * (one transaction each: VALUE.db always holds a whole table).
 *
 * Argument parsing and printing only: the runs are the run library's
 * (run/lifecycle.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/registry.h"
#include "dispatch/v1d3.h"
#include "run/lifecycle.h"
#include "tools/cli.h"
#include "tools/runopts.h"
#include "value/vstore.h"

#define TRAIN_ONLINE_USAGE                                                          \
  "ridesim train --online --trips DB --days D1[,D2...] --out VALUE.db [--runs DB]\n" \
  "              [run options]"
#define TRAIN_ONLINE_MAX_DAYS 90

enum { OPT_ONLINE = 300, OPT_DAYS, OPT_VOUT, OPT_RUNS, OPT_HELP };

static const struct option OWN[] = {
    {"online", no_argument, NULL, OPT_ONLINE},
    {"days", required_argument, NULL, OPT_DAYS},
    {"value-out", required_argument, NULL, OPT_VOUT},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void help(void) {
  printf("usage: %s\n\n"
         "Learns a value table online: the simulator drives a fleet through each day\n"
         "in turn with the v1d3 policies, learning as it goes (trips and idle time),\n"
         "each day starting from the table the day before left.\n\n"
         "  --days LIST           the days, in the order they are learnt\n"
         "  --out VALUE.db        the table, saved after every day (--value-out too)\n"
         "  --runs DB             results DB of the runs (default VALUE-runs.db)\n"
         "  --value-table FILE    the first day's starting point (default: nothing)\n"
         "  --dispatch, --reposition   default v1d3 and stay; one must be v1d3\n\n",
         TRAIN_ONLINE_USAGE);
  runopts_help(RUNOPTS_ALL);
}

#define BAD(...) cli_usage_error("train --online", TRAIN_ONLINE_USAGE, __VA_ARGS__)

int cmd_train_online(int argc, char **argv) {
  const char *cmd = "train --online";
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  snprintf(sc.dispatch, sizeof sc.dispatch, "v1d3");
  struct option table[RUNOPTS_MAX];
  runopts_table(RUNOPTS_ALL, OWN, table);
  runopts_ctx rc = {cmd, TRAIN_ONLINE_USAGE, OPT_HELP, 0};
  int pass1 = runopts_scenarios(&rc, argc, argv, table, &sc);
  if (pass1 == -1) {
    help();
    return 0;
  }
  if (pass1 != 0) return 1;
  /* --out is the shared results DB option: here it names the table */
  char out[SIM_PATH_MAX] = "", runs[SIM_PATH_MAX] = "", days_arg[TRAIN_ONLINE_MAX_DAYS * 12] = "";
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", table, NULL)) != -1) {
    if (c == RUNOPT_OUT || c == OPT_VOUT) {
      snprintf(out, sizeof out, "%s", optarg);
      continue;
    }
    int r = runopts_apply(&rc, c, optarg, &sc);
    if (r == 2) return 2;
    if (r == 1) continue;
    switch (c) {
    case OPT_ONLINE: break;
    case OPT_DAYS:
      if (strlen(optarg) >= sizeof days_arg) return BAD("--days: too many days");
      snprintf(days_arg, sizeof days_arg, "%s", optarg);
      break;
    case OPT_RUNS: snprintf(runs, sizeof runs, "%s", optarg); break;
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (out[0] == '\0') return BAD("--out VALUE.db is required");
  if (days_arg[0] == '\0') return BAD("--days is required");
  if (sc.trips[0] == '\0') return BAD("--trips DB is required");
  if (strcmp(sc.dispatch, "v1d3") != 0 && strcmp(sc.reposition, "v1d3") != 0)
    return BAD("a v1d3 policy must drive the fleet (--dispatch or --reposition v1d3)");
  const disp_registry_entry *v1d3 = disp_registry_find("v1d3");
  const disp_opt_spec *mode = disp_registry_opt(v1d3, "mode");
  const disp_opt_spec *table_opt = disp_registry_opt(v1d3, "table");
  if ((int32_t)disp_optvals_num(&sc.policies, v1d3, mode) == DISP_V1D3_OFFLINE)
    return BAD("--value-mode offline learns nothing");
  if (runs[0] == '\0') {
    size_t n = strlen(out);
    if (n > 3 && strcmp(out + n - 3, ".db") == 0) n -= 3;
    snprintf(runs, sizeof runs, "%.*s-runs.db", (int)n, out);
  }
  snprintf(sc.out, sizeof sc.out, "%s", runs);

  int64_t days[TRAIN_ONLINE_MAX_DAYS];
  size_t n_days = 0;
  char buf[sizeof days_arg], *save = NULL;
  snprintf(buf, sizeof buf, "%s", days_arg);
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (n_days == TRAIN_ONLINE_MAX_DAYS) return BAD("--days: at most %d", TRAIN_ONLINE_MAX_DAYS);
    if (sim_scenario_parse_day(tok, &days[n_days]) != 0)
      return BAD("--days: '%s' is not a date YYYY-MM-DD", tok);
    n_days++;
  }
  rs_err e;
  rs_err_clear(&e);
  if (sim_scenario_validate(&sc, &e) != 0 || run_check_policies(&sc, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 2;
  }
  printf("learning online through %zu day%s (%d drivers, dispatch %s, reposition %s), table"
         " %s, runs %s\n",
         n_days, n_days == 1 ? "" : "s", sc.drivers, sc.dispatch, sc.reposition, out, runs);
  for (size_t i = 0; i < n_days; i++) {
    sim_scenario day = sc;
    day.day = days[i];
    if (i > 0 &&
        disp_optvals_set_str(&day.policies, v1d3, table_opt, out, "--value-table", &e) != 0) {
      cli_error(cmd, "%s", e.msg);
      return 2;
    }
    run_life_opts o;
    memset(&o, 0, sizeof o);
    o.sc = &day;
    o.city_given = rc.city_given;
    o.version = RIDESIM_VERSION;
    o.value_out = out;
    run_life l;
    run_life_init(&l, &o);
    int rcode = run_life_exec(&l, &e);
    if (rcode != 0 || l.interrupted) {
      if (rcode != 0) cli_error(cmd, "%s", e.msg);
      else cli_error(cmd, "interrupted; %s holds the table of the days before", out);
      run_life_close(&l);
      return l.interrupted ? 130 : 1;
    }
    const val_table *t = disp_models_table(&l.ctx->models);
    double mean, max_abs;
    int64_t n_seen;
    val_table_stats(t, &mean, &max_abs, &n_seen);
    char d[32];
    cli_format_time(days[i], d, sizeof d);
    printf("%.10s: income %.2f, answer rate %.2f%%, table mean %.2f over %lld states (run %lld)\n",
           d, l.k.income, 100 * l.k.answer_rate, mean, (long long)n_seen, (long long)l.run_id);
    fflush(stdout);
    run_life_close(&l);
  }
  printf("saved          %s\n", out);
  return 0;
}

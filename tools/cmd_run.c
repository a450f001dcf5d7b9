/*
 * ridesim run: one run of the engine, end to end.
 *
 * Options are layered: defaults, then the --scenario file, then flags. The
 * trips come from a trip store (--trips) or the synthetic city (default).
 * Everything that can be wrong with the input (policy names, the day, the
 * fleet, the stores) is checked before the results DB gets a run row, so a
 * failed start never leaves a run behind; once started, a run always ends
 * with its row 'completed' or 'interrupted' (or, if the process is killed,
 * 'running', which readers treat as incomplete).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/tripstore.h"
#include "dispatch/policy.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/runloop.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "tools/runsetup.h"
#include "value/vstore.h"

#define RUN_USAGE                                                                  \
  "ridesim run [--trips DB | --synthetic] [--day YYYY-MM-DD] [--from HH:MM --to HH:MM]\n" \
  "            [--drivers N] [--dispatch NAME] [--reposition NAME] [--seed S]\n"   \
  "            [--scenario FILE.json] [--out DB] [--json] [--speed X] [--print-scenario]"

static void run_help(void) {
  printf("usage: %s\n\n", RUN_USAGE);
  printf(
      "Replays a day of trips against a fleet, asking a dispatch and a repositioning\n"
      "policy what to do, and prints the KPIs. With no options: the synthetic city.\n\n"
      "  --trips DB            trip store to replay (see 'ridesim import')\n"
      "  --synthetic           the built-in synthetic city (default)\n"
      "  --orders N            synthetic demand over the whole day (default 100000)\n"
      "  --city NAME|FILE      city definition (default: the trip store's, or synthetic)\n"
      "  --day YYYY-MM-DD      day to replay (default: the store's first day)\n"
      "  --from HH:MM --to HH:MM  horizon within the day (default: the day's trip span)\n"
      "  --drivers N           fleet size (default: the city's)\n"
      "  --dispatch NAME       fcfs-nearest | random | batch-distance | v1d3 (default fcfs-nearest)\n"
      "  --reposition NAME     stay | random-walk | v1d3 (default stay)\n"
      "  --seed S              run seed: fleet, cancellations, idle moves, policies (default 1)\n"
      "  --patience S          seconds an order waits for a match; 0 = lost after its tick\n"
      "  --tick S              dispatch period in seconds (default 2)\n"
      "  --radius M            candidate radius in metres (default 2000)\n"
      "  --top-k K             candidates per order (default 32)\n"
      "  --driver-top-k M      batch policies offer each driver its M nearest waiting\n"
      "                        orders (default 3; 0: all within the radius)\n"
      "  --idle-model NAME     stay | random-walk: how idle drivers drift (default stay)\n"
      "  --placement NAME      demand | uniform: initial fleet positions (default demand)\n"
      "  --shift-hours H       drivers work H-hour shifts (default 0: all online throughout)\n"
      "  --repo-dispatchable   repositioning drivers can be matched on the way\n"
      "value model (v1d3 policies):\n"
      "  --value-mode M        online (learn from scratch) | offline (a trained table,\n"
      "                        frozen) | ensemble (learn, blend with the trained table\n"
      "                        every --ensemble-minutes); default online\n"
      "  --value-table FILE    trained table from 'ridesim train' (offline, ensemble)\n"
      "  --value-out FILE      save the run's table at the end\n"
      "  --lr X                online TD learning rate (default 0.025)\n"
      "  --gamma X             discount per 10 minutes (default 0.9)\n"
      "  --ensemble-w W        online weight in a blend (default 0.2)\n"
      "  --ensemble-minutes M  blend period (default 60)\n"
      "  --tau T               repositioning softmax temperature (default 1)\n"
      "  --pure-v1d3           dispatch by V1D3's weights alone, leaving orders whose\n"
      "                        every edge scores <= 0 (default: serve as many orders as\n"
      "                        possible, then maximise the value)\n"
      "  --scenario FILE       JSON scenario with any of these options; flags override it\n"
      "  --out DB              results database (default ./ridesim-results.db)\n"
      "  --json                print the KPIs as JSON instead of a table\n"
      "  --speed X             run at X times real time (default: as fast as possible)\n"
      "  --check-invariants    check the engine's invariants at every tick\n"
      "  --print-scenario      print the effective scenario as JSON and exit\n"
      "  --help                this text\n\n"
      "SIGINT or SIGTERM stops the run, keeps everything so far (status interrupted)\n"
      "and exits with 130.\n");
}

enum {
  OPT_TRIPS = 256, OPT_SYNTH, OPT_ORDERS, OPT_CITY, OPT_DAY, OPT_FROM, OPT_TO,
  OPT_DRIVERS, OPT_DISPATCH, OPT_REPO, OPT_SEED, OPT_PATIENCE, OPT_TICK, OPT_RADIUS,
  OPT_TOPK, OPT_IDLE, OPT_PLACEMENT, OPT_SHIFT, OPT_SCENARIO, OPT_OUT, OPT_JSON,
  OPT_SPEED, OPT_CHECK, OPT_PRINT, OPT_HELP, OPT_REPO_DISP, OPT_VMODE, OPT_VTABLE,
  OPT_VOUT, OPT_LR, OPT_GAMMA, OPT_ENS_W, OPT_ENS_MIN, OPT_TAU, OPT_PURE, OPT_DTOPK
};

static const struct option RUN_OPTS[] = {
  {"trips", required_argument, NULL, OPT_TRIPS},
  {"synthetic", no_argument, NULL, OPT_SYNTH},
  {"orders", required_argument, NULL, OPT_ORDERS},
  {"city", required_argument, NULL, OPT_CITY},
  {"day", required_argument, NULL, OPT_DAY},
  {"from", required_argument, NULL, OPT_FROM},
  {"to", required_argument, NULL, OPT_TO},
  {"drivers", required_argument, NULL, OPT_DRIVERS},
  {"dispatch", required_argument, NULL, OPT_DISPATCH},
  {"reposition", required_argument, NULL, OPT_REPO},
  {"seed", required_argument, NULL, OPT_SEED},
  {"patience", required_argument, NULL, OPT_PATIENCE},
  {"tick", required_argument, NULL, OPT_TICK},
  {"radius", required_argument, NULL, OPT_RADIUS},
  {"top-k", required_argument, NULL, OPT_TOPK},
  {"idle-model", required_argument, NULL, OPT_IDLE},
  {"placement", required_argument, NULL, OPT_PLACEMENT},
  {"shift-hours", required_argument, NULL, OPT_SHIFT},
  {"scenario", required_argument, NULL, OPT_SCENARIO},
  {"out", required_argument, NULL, OPT_OUT},
  {"json", no_argument, NULL, OPT_JSON},
  {"speed", required_argument, NULL, OPT_SPEED},
  {"check-invariants", no_argument, NULL, OPT_CHECK},
  {"print-scenario", no_argument, NULL, OPT_PRINT},
  {"help", no_argument, NULL, OPT_HELP},
  {"repo-dispatchable", no_argument, NULL, OPT_REPO_DISP},
  {"value-mode", required_argument, NULL, OPT_VMODE},
  {"value-table", required_argument, NULL, OPT_VTABLE},
  {"value-out", required_argument, NULL, OPT_VOUT},
  {"lr", required_argument, NULL, OPT_LR},
  {"gamma", required_argument, NULL, OPT_GAMMA},
  {"ensemble-w", required_argument, NULL, OPT_ENS_W},
  {"ensemble-minutes", required_argument, NULL, OPT_ENS_MIN},
  {"tau", required_argument, NULL, OPT_TAU},
  {"pure-v1d3", no_argument, NULL, OPT_PURE},
  {"driver-top-k", required_argument, NULL, OPT_DTOPK},
  {NULL, 0, NULL, 0},
};

typedef struct {
  sim_scenario sc;
  int city_given;   /* --city or the scenario named one */
  int json, check, print;
  char value_out[SIM_PATH_MAX]; /* save the run's value table here */
} run_args;

static int set_str(char *dst, size_t n, const char *v) {
  if (strlen(v) >= n) return -1;
  snprintf(dst, n, "%s", v);
  return 0;
}

#define BAD(...) cli_usage_error("run", RUN_USAGE, __VA_ARGS__)

static int parse_args(int argc, char **argv, run_args *a) {
  sim_scenario_defaults(&a->sc);
  rs_err e;
  rs_err_clear(&e);
  /* Pass 1: the scenario file, so flags can override it. */
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", RUN_OPTS, NULL)) != -1) {
    if (c == OPT_HELP) {
      run_help();
      return -1;
    }
    if (c == OPT_SCENARIO) {
      if (sim_scenario_load(&a->sc, optarg, &e) != 0) {
        cli_error("run", "%s", e.msg);
        return 1;
      }
      if (strcmp(a->sc.city, "synthetic") != 0) a->city_given = 1;
    }
  }
  optind = 1;
  while ((c = getopt_long(argc, argv, "", RUN_OPTS, NULL)) != -1) {
    int64_t iv;
    uint64_t uv;
    double dv;
    sim_scenario *s = &a->sc;
    switch (c) {
    case OPT_TRIPS:
      if (set_str(s->trips, sizeof s->trips, optarg)) return BAD("--trips: path too long");
      break;
    case OPT_SYNTH: s->trips[0] = '\0'; break;
    case OPT_ORDERS:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 100000000)
        return BAD("--orders: expected a count from 1 to 100000000, got '%s'", optarg);
      s->synthetic_orders = iv;
      break;
    case OPT_CITY:
      if (set_str(s->city, sizeof s->city, optarg)) return BAD("--city: too long");
      a->city_given = 1;
      break;
    case OPT_DAY:
      if (cli_parse_day(optarg, &s->day)) return BAD("--day: expected YYYY-MM-DD, got '%s'", optarg);
      break;
    case OPT_FROM:
      if (cli_parse_hhmm(optarg, &s->from_s)) return BAD("--from: expected HH:MM, got '%s'", optarg);
      break;
    case OPT_TO:
      if (cli_parse_hhmm(optarg, &s->to_s)) return BAD("--to: expected HH:MM, got '%s'", optarg);
      break;
    case OPT_DRIVERS:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 10000000)
        return BAD("--drivers: expected a fleet size of at least 1, got '%s'", optarg);
      s->drivers = (int32_t)iv;
      break;
    case OPT_DISPATCH:
      if (set_str(s->dispatch, sizeof s->dispatch, optarg)) return BAD("--dispatch: too long");
      break;
    case OPT_REPO:
      if (set_str(s->reposition, sizeof s->reposition, optarg)) return BAD("--reposition: too long");
      break;
    case OPT_SEED:
      if (cli_parse_u64(optarg, &uv)) return BAD("--seed: expected a non-negative integer, got '%s'", optarg);
      s->seed = uv;
      break;
    case OPT_PATIENCE:
      if (cli_parse_i64(optarg, &iv) || iv < 0 || iv > 86400)
        return BAD("--patience: expected seconds (0-86400), got '%s'", optarg);
      s->patience_s = (int32_t)iv;
      break;
    case OPT_TICK:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 3600)
        return BAD("--tick: expected seconds (1-3600), got '%s'", optarg);
      s->tick_s = (int32_t)iv;
      break;
    case OPT_RADIUS:
      if (cli_parse_double(optarg, &dv) || dv <= 0) return BAD("--radius: expected metres, got '%s'", optarg);
      s->radius_m = dv;
      break;
    case OPT_TOPK:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 10000) return BAD("--top-k: expected 1-10000, got '%s'", optarg);
      s->top_k = (int32_t)iv;
      break;
    case OPT_IDLE:
      if (set_str(s->idle_model, sizeof s->idle_model, optarg)) return BAD("--idle-model: too long");
      break;
    case OPT_PLACEMENT:
      if (set_str(s->placement, sizeof s->placement, optarg)) return BAD("--placement: too long");
      break;
    case OPT_SHIFT:
      if (cli_parse_double(optarg, &dv) || dv < 0 || dv > 24) return BAD("--shift-hours: expected 0-24, got '%s'", optarg);
      s->shift_hours = dv;
      break;
    case OPT_SCENARIO: break;
    case OPT_OUT:
      if (set_str(s->out, sizeof s->out, optarg)) return BAD("--out: path too long");
      break;
    case OPT_JSON: a->json = 1; break;
    case OPT_SPEED:
      if (cli_parse_double(optarg, &dv) || dv < 0) return BAD("--speed: expected a factor >= 0, got '%s'", optarg);
      s->speed = dv;
      break;
    case OPT_CHECK: a->check = 1; break;
    case OPT_REPO_DISP: s->repo_dispatchable = 1; break;
    case OPT_PURE: s->value_serve_first = 0; break;
    case OPT_DTOPK:
      if (cli_parse_i64(optarg, &iv) || iv < 0 || iv > 10000) return BAD("--driver-top-k: expected 0-10000, got '%s'", optarg);
      s->driver_top_k = (int32_t)iv;
      break;
    case OPT_VMODE:
      if (set_str(s->value_mode, sizeof s->value_mode, optarg)) return BAD("--value-mode: too long");
      break;
    case OPT_VTABLE:
      if (set_str(s->value_table, sizeof s->value_table, optarg)) return BAD("--value-table: path too long");
      break;
    case OPT_VOUT:
      if (set_str(a->value_out, sizeof a->value_out, optarg)) return BAD("--value-out: path too long");
      break;
    case OPT_LR:
      if (cli_parse_double(optarg, &dv) || dv < 0 || dv > 1) return BAD("--lr: expected 0-1, got '%s'", optarg);
      s->value_lr = dv;
      break;
    case OPT_GAMMA:
      if (cli_parse_double(optarg, &dv) || dv <= 0 || dv > 1) return BAD("--gamma: expected (0, 1], got '%s'", optarg);
      s->value_gamma = dv;
      break;
    case OPT_ENS_W:
      if (cli_parse_double(optarg, &dv) || dv < 0 || dv > 1) return BAD("--ensemble-w: expected 0-1, got '%s'", optarg);
      s->ensemble_w = dv;
      break;
    case OPT_ENS_MIN:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 10080) return BAD("--ensemble-minutes: expected 1-10080, got '%s'", optarg);
      s->ensemble_period_s = (int32_t)(iv * 60);
      break;
    case OPT_TAU:
      if (cli_parse_double(optarg, &dv) || dv < 0) return BAD("--tau: expected a temperature >= 0, got '%s'", optarg);
      s->tau = dv;
      break;
    case OPT_PRINT: a->print = 1; break;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (sim_scenario_validate(&a->sc, &e) != 0) {
    cli_error("run", "%s", e.msg);
    return 2;
  }
  return 0;
}

static void print_table(const sim_kpis *k, const sim_scenario *sc, const city_def *city,
                        int64_t from, int64_t to, double wall) {
  char a[32], b[32];
  cli_format_time(from, a, sizeof a);
  cli_format_time(to, b, sizeof b);
  printf("ridesim run: %s, %s to %s, %lld drivers, dispatch %s, reposition %s, seed %llu\n",
         city->name, a, b, (long long)k->drivers, sc->dispatch, sc->reposition,
         (unsigned long long)sc->seed);
  printf("  %-28s %14lld\n", "orders", (long long)k->orders);
  printf("  %-28s %13.2f%%\n", "answer rate", 100 * k->answer_rate);
  printf("  %-28s %13.2f%%\n", "completion rate", 100 * k->completion_rate);
  printf("  %-28s %13.2f%%\n", "cancellation rate", 100 * k->cancel_rate);
  printf("  %-28s %14lld\n", "expired", (long long)k->expired);
  printf("  %-28s %14lld\n", "open at horizon", (long long)k->open);
  printf("  %-28s %12.1f s\n", "wait to match, mean", k->wait_mean_s);
  printf("  %-28s %12.1f s\n", "wait to match, p95", k->wait_p95_s);
  printf("  %-28s %12.1f m\n", "pickup distance, mean", k->pickup_m_mean);
  printf("  %-28s %12.1f s\n", "pickup ETA, mean", k->eta_s_mean);
  printf("  %-28s %14.2f\n", "total driver income (J)", k->income);
  printf("  %-28s %14.2f\n", "income per online hour (G)", k->income_per_hour);
  printf("  %-28s %13.2f%%\n", "utilisation", 100 * k->utilisation);
  printf("  %-28s %11.1f km\n", "empty distance", k->empty_km);
  if (k->solve_ticks > 0) {
    printf("  %-28s %14lld\n", "solver ticks", (long long)k->solve_ticks);
    printf("  %-28s %5.1f / %.1f / %.1f\n", "per tick orders/drivers/edges",
           k->tick_orders_mean, k->tick_drivers_mean, k->tick_edges_mean);
    printf("  %-28s %7.1f / %.1f / %.1f us\n", "solve time p50 / p99 / max", k->solve_p50_us,
           k->solve_p99_us, k->solve_max_us);
  }
  printf("  %-28s %14lld\n", "events", (long long)k->events);
  printf("  %-28s %12.3f s\n", "wall time", wall);
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
  if (a.print) {
    char *j = sim_scenario_to_json(&a.sc);
    if (j == NULL) return 1;
    printf("%s\n", j);
    free(j);
    return 0;
  }
  if (run_check_policies(&a.sc, &e) != 0) {
    cli_error("run", "%s", e.msg);
    return 2;
  }
  int status = 1;
  run_input in;
  run_ctx *r = NULL;
  sim_results *res = NULL;
  char *scen = NULL;
  memset(&in, 0, sizeof in);
  if (run_input_load(&a.sc, a.city_given, &in, &e) != 0) goto fail;
  if (run_ctx_new(&a.sc, &in, &r, &e) != 0) goto fail;
  sim_engine *eng = r->eng;
  sim_engine_set_check(eng, a.check);
  if (sim_results_open(a.sc.out, &res, &e) != 0) goto fail;
  /* Record the effective scenario: the day and horizon now fixed. */
  scen = sim_scenario_to_json(&a.sc);
  int64_t run_id;
  if (scen == NULL ||
      sim_results_begin_run(res, scen, a.sc.seed, RIDESIM_VERSION, r->dp.name, r->rp.name,
                            in.from, in.to, &run_id, &e) != 0)
    goto fail;
  sim_loop_opts lo = {a.sc.speed, 0, NULL, NULL, NULL, NULL};
  int interrupted = 0;
  double wall = 0;
  int rc = sim_loop_run_engine(eng, &lo, &interrupted, &wall, &e);
  sim_kpis k;
  sim_engine_kpis(eng, &k);
  rs_err we;
  rs_err_clear(&we);
  const char *st = rc != 0 ? "failed" : interrupted ? "interrupted" : "completed";
  if (sim_results_finish_run(res, run_id, eng, &k, st, wall, &we) != 0) {
    cli_error("run", "%s", we.msg);
    goto fail_quiet;
  }
  if (rc != 0) goto fail;
  if (r->vm != NULL && a.value_out[0] != '\0') {
    val_meta vmeta;
    memset(&vmeta, 0, sizeof vmeta);
    snprintf(vmeta.city, sizeof vmeta.city, "%s", in.city.name);
    vmeta.rows = (int64_t)in.n;
    if (val_store_save(a.value_out, disp_v1d3_table(r->vm), &in.city, &vmeta, &e) != 0)
      goto fail;
  }
  if (a.json) {
    char *j = sim_kpis_to_json(&k, 1);
    if (j) printf("%s\n", j);
    free(j);
  } else {
    print_table(&k, &a.sc, &in.city, in.from, in.to, wall);
    printf("  results: %s (run %lld, %s)\n", a.sc.out, (long long)run_id, st);
  }
  status = interrupted ? 130 : 0;
  if (interrupted)
    cli_error("run", "interrupted at simulated %lld s of %lld; results kept",
              (long long)(sim_engine_now(eng) - in.from), (long long)(in.to - in.from));
  goto done;
fail:
  cli_error("run", "%s", e.msg);
fail_quiet:
  status = 1;
done:
  free(scen);
  sim_results_close(res);
  run_ctx_free(r);
  run_input_free(&in);
  return status;
}

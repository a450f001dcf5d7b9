/*
 * runopts: the shared scenario options; see runopts.h.
 */
#include "tools/runopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

static const struct option SHARED[] = {
  {"trips", required_argument, NULL, RUNOPT_TRIPS},
  {"synthetic", no_argument, NULL, RUNOPT_SYNTH},
  {"orders", required_argument, NULL, RUNOPT_ORDERS},
  {"city", required_argument, NULL, RUNOPT_CITY},
  {"day", required_argument, NULL, RUNOPT_DAY},
  {"from", required_argument, NULL, RUNOPT_FROM},
  {"to", required_argument, NULL, RUNOPT_TO},
  {"drivers", required_argument, NULL, RUNOPT_DRIVERS},
  {"dispatch", required_argument, NULL, RUNOPT_DISPATCH},
  {"reposition", required_argument, NULL, RUNOPT_REPO},
  {"seed", required_argument, NULL, RUNOPT_SEED},
  {"patience", required_argument, NULL, RUNOPT_PATIENCE},
  {"tick", required_argument, NULL, RUNOPT_TICK},
  {"radius", required_argument, NULL, RUNOPT_RADIUS},
  {"top-k", required_argument, NULL, RUNOPT_TOPK},
  {"driver-top-k", required_argument, NULL, RUNOPT_DTOPK},
  {"idle-model", required_argument, NULL, RUNOPT_IDLE},
  {"placement", required_argument, NULL, RUNOPT_PLACEMENT},
  {"shift-hours", required_argument, NULL, RUNOPT_SHIFT},
  {"scenario", required_argument, NULL, RUNOPT_SCENARIO},
  {"out", required_argument, NULL, RUNOPT_OUT},
  {"speed", required_argument, NULL, RUNOPT_SPEED},
  {"repo-dispatchable", no_argument, NULL, RUNOPT_REPO_DISP},
  {"value-mode", required_argument, NULL, RUNOPT_VMODE},
  {"value-table", required_argument, NULL, RUNOPT_VTABLE},
  {"lr", required_argument, NULL, RUNOPT_LR},
  {"gamma", required_argument, NULL, RUNOPT_GAMMA},
  {"ensemble-w", required_argument, NULL, RUNOPT_ENS_W},
  {"ensemble-minutes", required_argument, NULL, RUNOPT_ENS_MIN},
  {"tau", required_argument, NULL, RUNOPT_TAU},
  {"pure-v1d3", no_argument, NULL, RUNOPT_PURE},
  {"network", required_argument, NULL, RUNOPT_NETWORK},
};

static int excluded(int flags, int code) {
  return (flags & RUNOPTS_NO_POLICIES) &&
         (code == RUNOPT_DISPATCH || code == RUNOPT_REPO || code == RUNOPT_SEED);
}

void runopts_table(int flags, const struct option *extra, struct option *out) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof SHARED / sizeof SHARED[0]; i++)
    if (!excluded(flags, SHARED[i].val)) out[n++] = SHARED[i];
  for (size_t i = 0; extra != NULL && extra[i].name != NULL && n < RUNOPTS_MAX - 1; i++)
    out[n++] = extra[i];
  memset(&out[n], 0, sizeof out[n]);
}

int runopts_scenarios(runopts_ctx *c, int argc, char **argv, const struct option *table,
                      sim_scenario *s) {
  rs_err e;
  rs_err_clear(&e);
  opterr = 0;
  optind = 1;
  int opt;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0) return -1;
  while ((opt = getopt_long(argc, argv, "", table, NULL)) != -1) {
    if (opt == c->help_opt) return -1;
    if (opt != RUNOPT_SCENARIO) continue;
    if (sim_scenario_load(s, optarg, &e) != 0) {
      cli_error(c->cmd, "%s", e.msg);
      return 1;
    }
    if (strcmp(s->city, "synthetic") != 0) c->city_given = 1;
  }
  return 0;
}

static int set_str(char *dst, size_t n, const char *v) {
  if (strlen(v) >= n) return -1;
  snprintf(dst, n, "%s", v);
  return 0;
}

#define BAD(...) cli_usage_error(c->cmd, c->usage, __VA_ARGS__)

int runopts_apply(runopts_ctx *c, int opt, const char *arg, sim_scenario *s) {
  int64_t iv;
  uint64_t uv;
  double dv;
  switch (opt) {
  case RUNOPT_TRIPS:
    if (set_str(s->trips, sizeof s->trips, arg)) return BAD("--trips: path too long");
    return 1;
  case RUNOPT_SYNTH: s->trips[0] = '\0'; return 1;
  case RUNOPT_ORDERS:
    if (cli_parse_i64(arg, &iv) || iv < 1 || iv > 100000000)
      return BAD("--orders: expected a count from 1 to 100000000, got '%s'", arg);
    s->synthetic_orders = iv;
    return 1;
  case RUNOPT_CITY:
    if (set_str(s->city, sizeof s->city, arg)) return BAD("--city: too long");
    c->city_given = 1;
    return 1;
  case RUNOPT_DAY:
    if (cli_parse_day(arg, &s->day)) return BAD("--day: expected YYYY-MM-DD, got '%s'", arg);
    return 1;
  case RUNOPT_FROM:
    if (cli_parse_hhmm(arg, &s->from_s)) return BAD("--from: expected HH:MM, got '%s'", arg);
    return 1;
  case RUNOPT_TO:
    if (cli_parse_hhmm(arg, &s->to_s)) return BAD("--to: expected HH:MM, got '%s'", arg);
    return 1;
  case RUNOPT_DRIVERS:
    if (cli_parse_i64(arg, &iv) || iv < 1 || iv > 10000000)
      return BAD("--drivers: expected a fleet size of at least 1, got '%s'", arg);
    s->drivers = (int32_t)iv;
    return 1;
  case RUNOPT_DISPATCH:
    if (set_str(s->dispatch, sizeof s->dispatch, arg)) return BAD("--dispatch: too long");
    return 1;
  case RUNOPT_REPO:
    if (set_str(s->reposition, sizeof s->reposition, arg)) return BAD("--reposition: too long");
    return 1;
  case RUNOPT_SEED:
    if (cli_parse_u64(arg, &uv)) return BAD("--seed: expected a non-negative integer, got '%s'", arg);
    s->seed = uv;
    return 1;
  case RUNOPT_PATIENCE:
    if (cli_parse_i64(arg, &iv) || iv < 0 || iv > 86400)
      return BAD("--patience: expected seconds (0-86400), got '%s'", arg);
    s->patience_s = (int32_t)iv;
    return 1;
  case RUNOPT_TICK:
    if (cli_parse_i64(arg, &iv) || iv < 1 || iv > 3600)
      return BAD("--tick: expected seconds (1-3600), got '%s'", arg);
    s->tick_s = (int32_t)iv;
    return 1;
  case RUNOPT_RADIUS:
    if (cli_parse_double(arg, &dv) || dv < 1 || dv > 1e6)
      return BAD("--radius: expected metres (1-1e6), got '%s'", arg);
    s->radius_m = dv;
    return 1;
  case RUNOPT_TOPK:
    if (cli_parse_i64(arg, &iv) || iv < 1 || iv > 10000)
      return BAD("--top-k: expected 1-10000, got '%s'", arg);
    s->top_k = (int32_t)iv;
    return 1;
  case RUNOPT_DTOPK:
    if (cli_parse_i64(arg, &iv) || iv < 0 || iv > 10000)
      return BAD("--driver-top-k: expected 0-10000, got '%s'", arg);
    s->driver_top_k = (int32_t)iv;
    return 1;
  case RUNOPT_IDLE:
    if (set_str(s->idle_model, sizeof s->idle_model, arg)) return BAD("--idle-model: too long");
    return 1;
  case RUNOPT_PLACEMENT:
    if (set_str(s->placement, sizeof s->placement, arg)) return BAD("--placement: too long");
    return 1;
  case RUNOPT_SHIFT:
    if (cli_parse_double(arg, &dv) || dv < 0 || dv > 24)
      return BAD("--shift-hours: expected 0-24, got '%s'", arg);
    s->shift_hours = dv;
    return 1;
  case RUNOPT_SCENARIO: return 1; /* read in pass 1 */
  case RUNOPT_OUT:
    if (set_str(s->out, sizeof s->out, arg)) return BAD("--out: path too long");
    return 1;
  case RUNOPT_SPEED:
    if (cli_parse_double(arg, &dv) || dv < 0 || dv > 1e9)
      return BAD("--speed: expected a factor from 0 to 1e9, got '%s'", arg);
    s->speed = dv;
    return 1;
  case RUNOPT_REPO_DISP: s->repo_dispatchable = 1; return 1;
  case RUNOPT_VMODE:
    if (set_str(s->value_mode, sizeof s->value_mode, arg)) return BAD("--value-mode: too long");
    return 1;
  case RUNOPT_VTABLE:
    if (set_str(s->value_table, sizeof s->value_table, arg))
      return BAD("--value-table: path too long");
    return 1;
  case RUNOPT_LR:
    if (cli_parse_double(arg, &dv) || dv < 0 || dv > 1) return BAD("--lr: expected 0-1, got '%s'", arg);
    s->value_lr = dv;
    return 1;
  case RUNOPT_GAMMA:
    if (cli_parse_double(arg, &dv) || dv <= 0 || dv > 1)
      return BAD("--gamma: expected (0, 1], got '%s'", arg);
    s->value_gamma = dv;
    return 1;
  case RUNOPT_ENS_W:
    if (cli_parse_double(arg, &dv) || dv < 0 || dv > 1)
      return BAD("--ensemble-w: expected 0-1, got '%s'", arg);
    s->ensemble_w = dv;
    return 1;
  case RUNOPT_ENS_MIN:
    if (cli_parse_i64(arg, &iv) || iv < 1 || iv > 10080)
      return BAD("--ensemble-minutes: expected 1-10080, got '%s'", arg);
    s->ensemble_period_s = (int32_t)(iv * 60);
    return 1;
  case RUNOPT_TAU:
    if (cli_parse_double(arg, &dv) || dv < 0) return BAD("--tau: expected a temperature >= 0, got '%s'", arg);
    s->tau = dv;
    return 1;
  case RUNOPT_PURE: s->value_serve_first = 0; return 1;
  case RUNOPT_NETWORK:
    if (set_str(s->network, sizeof s->network, arg)) return BAD("--network: path too long");
    return 1;
  default: return 0;
  }
}

int runopts_print_scenario(const sim_scenario *s) {
  char *j = sim_scenario_to_json(s);
  if (j == NULL) return 1;
  printf("%s\n", j);
  free(j);
  return 0;
}

void runopts_help(int flags) {
  printf(
      "  --trips DB            trip store to replay (see 'ridesim import')\n"
      "  --synthetic           the built-in synthetic city (default)\n"
      "  --orders N            synthetic demand over the whole day (default 100000)\n"
      "  --city NAME|FILE      city definition (default: the trip store's, or synthetic)\n"
      "  --day YYYY-MM-DD      day to replay (default: the store's first day)\n"
      "  --from HH:MM --to HH:MM  horizon within the day (default: the day's trip span)\n"
      "  --drivers N           fleet size (default: the city's)\n"
      "  --network FILE        drive on this road network (OSMnx JSON or GraphML;\n"
      "                        docs/network.md) instead of the great-circle model\n");
  if (!(flags & RUNOPTS_NO_POLICIES))
    printf(
        "  --dispatch NAME       fcfs-nearest | random | batch-distance | v1d3 (default fcfs-nearest)\n"
        "  --reposition NAME     stay | random-walk | v1d3 (default stay)\n"
        "  --seed S              run seed: fleet, cancellations, idle moves, policies (default 1)\n");
  printf(
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
      "  --scenario FILE       JSON scenario with any of these options; flags override it\n"

      "  --speed X             run at X times real time (default: as fast as possible)\n"
      "value model (v1d3 policies):\n"
      "  --value-mode M        online (learn from scratch) | offline (a trained table,\n"
      "                        frozen) | ensemble (learn, blend with the trained table\n"
      "                        every --ensemble-minutes); default online\n"
      "  --value-table FILE    trained table from 'ridesim train' (offline, ensemble)\n"
      "  --lr X                online TD learning rate (default 0.025)\n"
      "  --gamma X             discount per 10 minutes (default 0.9)\n"
      "  --ensemble-w W        online weight in a blend (default 0.2)\n"
      "  --ensemble-minutes M  blend period (default 60)\n"
      "  --tau T               repositioning softmax temperature (default 1)\n"
      "  --pure-v1d3           dispatch by V1D3's weights alone, leaving orders whose\n"
      "                        every edge scores <= 0 (default: serve as many orders as\n"
      "                        possible, then maximise the value)\n");
}

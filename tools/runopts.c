/*
 * runopts: the shared scenario options; see runopts.h.
 */
#include "tools/runopts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/tripstore.h"
#include "dispatch/registry.h"
#include "tools/cli.h"

static const struct option SHARED[] = {
  {"trips", required_argument, NULL, RUNOPT_TRIPS},
  {"synthetic", no_argument, NULL, RUNOPT_SYNTH},
  {"orders", required_argument, NULL, RUNOPT_ORDERS},
  {"city", required_argument, NULL, RUNOPT_CITY},
  {"day", required_argument, NULL, RUNOPT_DAY},
  {"from", required_argument, NULL, RUNOPT_FROM},
  {"to", required_argument, NULL, RUNOPT_TO},
  {"horizon-days", required_argument, NULL, RUNOPT_DAYS},
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
  {"network", required_argument, NULL, RUNOPT_NETWORK},
  {"warmup", required_argument, NULL, RUNOPT_WARMUP},
  {"drain", required_argument, NULL, RUNOPT_DRAIN},
};

static int excluded(int flags, int code) {
  return (flags & RUNOPTS_NO_POLICIES) &&
         (code == RUNOPT_DISPATCH || code == RUNOPT_REPO || code == RUNOPT_SEED);
}

void runopts_table(int flags, const struct option *extra, struct option *out) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof SHARED / sizeof SHARED[0]; i++)
    if (!excluded(flags, SHARED[i].val)) out[n++] = SHARED[i];
  for (int32_t i = 0; i < disp_registry_n_opts() && n < RUNOPTS_MAX - 1; i++) {
    const disp_opt_spec *o = disp_registry_opt_at(i, NULL);
    if (o->flag == NULL) continue;
    out[n].name = o->flag;
    out[n].has_arg = o->metavar != NULL ? required_argument : no_argument;
    out[n].flag = NULL;
    out[n].val = RUNOPT_POLICY_OPT + (int)i;
    n++;
  }
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
      return 2; /* as a scenario that reads but does not validate */
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

/* An integer flag from lo to hi into *dst (what: the range, in its error). */
static int int_flag(const runopts_ctx *c, const char *flag, const char *arg, int64_t lo,
                    int64_t hi, const char *what, int32_t *dst) {
  int64_t v;
  if (cli_parse_i64(arg, &v) || v < lo || v > hi)
    return BAD("%s: expected %s, got '%s'", flag, what, arg);
  *dst = (int32_t)v;
  return 1;
}

static double flag_scale(const disp_opt_spec *o) { return o->flag_scale > 0 ? o->flag_scale : 1; }

/* What a flag's value must be, in the flag's own unit. */
static void flag_expect(const disp_opt_spec *o, char *buf, size_t size) {
  double k = flag_scale(o);
  if (k == 1 || (o->type != DISP_OPT_NUMBER && o->type != DISP_OPT_INTEGER))
    disp_opt_expect(o, buf, size);
  else if (o->type == DISP_OPT_INTEGER)
    snprintf(buf, size, "an integer from %g to %g", ceil(o->lo / k), floor(o->hi / k));
  else
    snprintf(buf, size, "a number from %g to %g", o->lo / k, o->hi / k);
}

/* A policy option's flag: its value parsed by the option's type, scaled to
 * the option's unit, and set through the registry's checks. */
static int apply_policy_opt(runopts_ctx *c, int32_t i, const char *arg, sim_scenario *s) {
  const disp_registry_entry *ent;
  const disp_opt_spec *o = disp_registry_opt_at(i, &ent);
  char name[80], want[160];
  snprintf(name, sizeof name, "--%s", o->flag);
  rs_err e;
  rs_err_clear(&e);
  int64_t iv;
  double dv;
  int rc;
  if (o->metavar == NULL) /* a switch */
    return disp_optvals_set_num(&s->policies, ent, o, o->flag_sets, name, &e) ? BAD("%s", e.msg)
                                                                                : 1;
  switch (o->type) {
  case DISP_OPT_NUMBER:
    rc = cli_parse_double(arg, &dv) ||
         disp_optvals_set_num(&s->policies, ent, o, dv * flag_scale(o), name, &e);
    break;
  case DISP_OPT_INTEGER:
    rc = cli_parse_i64(arg, &iv) ||
         disp_optvals_set_num(&s->policies, ent, o, (double)iv * flag_scale(o), name, &e);
    break;
  case DISP_OPT_BOOL:
    rc = (strcmp(arg, "true") != 0 && strcmp(arg, "false") != 0) ||
         disp_optvals_set_num(&s->policies, ent, o, strcmp(arg, "true") == 0, name, &e);
    break;
  default:
    if (strlen(arg) >= DISP_OPT_STR_SIZE) return BAD("%s: too long", name);
    rc = disp_optvals_set_str(&s->policies, ent, o, arg, name, &e);
    break;
  }
  if (rc == 0) return 1;
  flag_expect(o, want, sizeof want);
  return BAD("%s: expected %s, got '%s'", name, want, arg);
}

int runopts_apply(runopts_ctx *c, int opt, const char *arg, sim_scenario *s) {
  int64_t iv;
  uint64_t uv;
  double dv;
  switch (opt) {
  case RUNOPT_TRIPS:
    /* an empty path would quietly mean the synthetic city */
    if (*arg == '\0') return BAD("--trips: empty file name (--synthetic for the synthetic city)");
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
  case RUNOPT_DAYS:
    return int_flag(c, "--horizon-days", arg, 1, SIM_DAYS_MAX, "days (1-366)", &s->days);
  case RUNOPT_DRIVERS:
    return int_flag(c, "--drivers", arg, 1, 10000000, "a fleet size from 1 to 10000000",
                    &s->drivers);
  case RUNOPT_DISPATCH:
    if (set_str(s->dispatch, sizeof s->dispatch, arg)) return BAD("--dispatch: too long");
    return 1;
  case RUNOPT_REPO:
    if (set_str(s->reposition, sizeof s->reposition, arg)) return BAD("--reposition: too long");
    return 1;
  case RUNOPT_SEED:
    if (cli_parse_u64(arg, &uv) || uv > SIM_SEED_MAX)
      return BAD("--seed: expected an integer from 0 to 9223372036854775807 (2^63 - 1), got '%s'", arg);
    s->seed = uv;
    return 1;
  case RUNOPT_PATIENCE:
    return int_flag(c, "--patience", arg, 0, 86400, "seconds (0-86400)", &s->patience_s);
  case RUNOPT_TICK: return int_flag(c, "--tick", arg, 1, 3600, "seconds (1-3600)", &s->tick_s);
  case RUNOPT_RADIUS:
    if (cli_parse_double(arg, &dv) || dv < 1 || dv > 1e6)
      return BAD("--radius: expected metres (1-1e6), got '%s'", arg);
    s->radius_m = dv;
    return 1;
  case RUNOPT_TOPK: return int_flag(c, "--top-k", arg, 1, 10000, "1-10000", &s->top_k);
  case RUNOPT_DTOPK:
    return int_flag(c, "--driver-top-k", arg, 0, 10000, "0-10000", &s->driver_top_k);
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
    if (*arg == '\0') return BAD("--out: empty file name");
    if (set_str(s->out, sizeof s->out, arg)) return BAD("--out: path too long");
    return 1;
  case RUNOPT_SPEED:
    if (cli_parse_double(arg, &dv) || dv < 0 || dv > 1e9)
      return BAD("--speed: expected a factor from 0 to 1e9, got '%s'", arg);
    s->speed = dv;
    return 1;
  case RUNOPT_REPO_DISP: s->repo_dispatchable = 1; return 1;
  case RUNOPT_NETWORK:
    if (set_str(s->network, sizeof s->network, arg)) return BAD("--network: path too long");
    return 1;
  case RUNOPT_WARMUP:
  case RUNOPT_DRAIN: {
    rs_err e;
    return sim_scenario_set_minutes(s, opt == RUNOPT_DRAIN, arg, &e) ? BAD("%s", e.msg) : 1;
  }
  default:
    if (opt >= RUNOPT_POLICY_OPT && opt < RUNOPT_POLICY_OPT + disp_registry_n_opts())
      return apply_policy_opt(c, opt - RUNOPT_POLICY_OPT, arg, s);
    return 0;
  }
}

int runopts_print_scenario(const sim_scenario *s) {
  /* what runs: a trip store's own city, unless one was named */
  sim_scenario shown = *s;
  if (s->trips[0] != '\0' && strcmp(s->city, "synthetic") == 0) {
    city_store *st = NULL;
    rs_err e;
    if (city_store_open(s->trips, CITY_STORE_READ, NULL, &st, &e) == 0 && city_store_city(st)[0])
      snprintf(shown.city, sizeof shown.city, "%s", city_store_city(st));
    city_store_close(st);
  }
  s = &shown;
  char *j = sim_scenario_to_json(s);
  if (j == NULL) return 1;
  printf("%s\n", j);
  free(j);
  return 0;
}

#define HELP_COL 22   /* "  --flag METAVAR" padded to this, then the text */
#define HELP_WIDTH 88 /* lines wrap before this column */

void runopts_help_line(const char *left, const char *text) {
  int col = printf("  %-*s", HELP_COL, left);
  if (col > HELP_COL + 2) {
    printf("\n%*s", HELP_COL + 2, "");
    col = HELP_COL + 2;
  }
  const char *p = text;
  while (*p) {
    size_t w = strcspn(p, " ");
    if (col > HELP_COL + 2 && col + 1 + (int)w > HELP_WIDTH) {
      printf("\n%*s", HELP_COL + 2, "");
      col = HELP_COL + 2;
    } else if (col > HELP_COL + 2) {
      putchar(' ');
      col++;
    }
    printf("%.*s", (int)w, p);
    col += (int)w;
    p += w;
    while (*p == ' ') p++;
  }
  putchar('\n');
}

/* An option's value as the help shows it, in the flag's unit when by_flag. */
static void format_value(const disp_optvals *v, const disp_registry_entry *ent,
                         const disp_opt_spec *o, int by_flag, char *buf, size_t size) {
  const char *str = disp_optvals_str(v, ent, o);
  double x = disp_optvals_num(v, ent, o);
  switch (o->type) {
  case DISP_OPT_NUMBER:
  case DISP_OPT_INTEGER: snprintf(buf, size, "%g", by_flag ? x / flag_scale(o) : x); break;
  case DISP_OPT_BOOL: snprintf(buf, size, "%s", x != 0 ? "true" : "false"); break;
  default: snprintf(buf, size, "%s", str != NULL ? str : "none"); break;
  }
}

/* The metavar of an option that has no flag, by its type. */
static const char *key_metavar(const disp_opt_spec *o) {
  switch (o->type) {
  case DISP_OPT_NUMBER: return "X";
  case DISP_OPT_INTEGER: return "N";
  case DISP_OPT_BOOL: return "true|false";
  case DISP_OPT_PATH: return "FILE";
  default: return "TEXT";
  }
}

/* The registry's policies, one line each, and each one's options. */
static void help_policies(const sim_scenario *d) {
  char left[96], text[512], val[64];
  printf("policies (in a scenario, their options in \"policies\": {\"NAME\": {...}}):\n");
  for (int32_t i = 0; i < disp_registry_count(); i++) {
    const disp_registry_entry *ent = disp_registry_at(i);
    const char *kind = ent->kind == (DISP_REG_DISPATCH | DISP_REG_REPOSITION)
                           ? "dispatch and repositioning"
                           : ent->kind == DISP_REG_DISPATCH ? "dispatch" : "repositioning";
    snprintf(text, sizeof text, "%s: %s%s%s", kind, ent->help, ent->reads ? "; reads " : "",
             ent->reads ? ent->reads : "");
    runopts_help_line(ent->name, text);
  }
  for (int32_t i = 0; i < disp_registry_count(); i++) {
    const disp_registry_entry *ent = disp_registry_at(i);
    if (ent->n_opts == 0) continue;
    printf("%s options (flags, or \"policies\": {\"%s\": {\"KEY\": ...}}):\n", ent->name,
           ent->name);
    for (int32_t k = 0; k < ent->n_opts; k++) {
      const disp_opt_spec *o = &ent->opts[k];
      if (o->flag != NULL && o->metavar == NULL) {
        snprintf(left, sizeof left, "--%s", o->flag);
        format_value(&d->policies, ent, o, 0, val, sizeof val);
        snprintf(text, sizeof text, "sets \"%s\" to %s. %s (default %s)", o->key,
                 o->flag_sets ? "true" : "false", o->help, val);
      } else {
        if (o->flag != NULL) snprintf(left, sizeof left, "--%s %s", o->flag, o->metavar);
        else snprintf(left, sizeof left, "\"%s\": %s", o->key, key_metavar(o));
        format_value(&d->policies, ent, o, o->flag != NULL, val, sizeof val);
        snprintf(text, sizeof text, "%s (default %s)", o->help, val);
      }
      runopts_help_line(left, text);
    }
  }
}

void runopts_help(int flags) {
  sim_scenario d;
  sim_scenario_defaults(&d);
  char names[256], text[400];
  printf(
      "  --trips DB            trip store to replay (see 'ridesim import')\n"
      "  --synthetic           the built-in synthetic city (default)\n"
      "  --orders N            synthetic demand over the whole day (default 100000)\n"
      "  --city NAME|FILE      city definition (default: the trip store's, or synthetic)\n"
      "  --day YYYY-MM-DD      day to replay (default: the store's first day)\n"
      "  --from HH:MM --to HH:MM  horizon within the day (default: the day's trip span)\n"
      "  --horizon-days N      one run over N days: --from on --day to --to on the Nth\n"
      "                        day (default 1); the synthetic city draws each day anew\n"
      "  --warmup MIN          simulate MIN minutes before --from, orders not counted (0)\n"
      "  --drain MIN|all       after --to, follow the horizon's orders to their end: all\n"
      "                        (default), for at most MIN minutes, or 0: not at all\n"
      "  --drivers N           fleet size (default: the city's)\n"
      "  --network FILE        drive on this road network (OSMnx JSON or GraphML;\n"
      "                        docs/network.md) instead of the great-circle model\n");
  if (!(flags & RUNOPTS_NO_POLICIES)) {
    disp_registry_names(DISP_REG_DISPATCH, 0, " | ", names, sizeof names);
    snprintf(text, sizeof text, "%s (default %s)", names, d.dispatch);
    runopts_help_line("--dispatch NAME", text);
    disp_registry_names(DISP_REG_REPOSITION, 0, " | ", names, sizeof names);
    snprintf(text, sizeof text, "%s (default %s)", names, d.reposition);
    runopts_help_line("--reposition NAME", text);
    printf("  --seed S              run seed: fleet, cancellations, idle moves, policies (default 1)\n");
  }
  printf(
      "  --patience S          seconds an order waits for a match; 0 = lost after its tick\n"
      "  --tick S              dispatch period in seconds (default 2)\n"
      "  --radius M            candidate radius in metres (default 2000)\n"
      "  --top-k K             candidates per order (default 32)\n"
      "  --driver-top-k M      batch policies offer each driver its M nearest waiting\n"
      "                        orders (default 3; 0: all within the radius)\n"
      "  --idle-model NAME     stay | random-walk: how idle drivers drift (default stay)\n"
      "  --placement NAME      history (default: known before the start) | demand (the\n"
      "                        first 30 min's pickups: look-ahead) | uniform\n"
      "  --shift-hours H       drivers work H-hour shifts (default 0: all online throughout)\n"
      "  --repo-dispatchable   repositioning drivers can be matched on the way\n"
      "  --scenario FILE       JSON scenario with any of these options; flags override it\n"
      "  --speed X             run at X times real time (default: as fast as possible)\n");
  help_policies(&d);
}

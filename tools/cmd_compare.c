/*
 * ridesim compare: every (dispatch, reposition, seed) combination of a
 * scenario, run in parallel, summarised with confidence intervals.
 *
 * The comparison itself (common random numbers, the runs on libuv's thread
 * pool, their ids, SIGINT and SIGTERM) is the scheduler's, run/compare.h;
 * this file parses the command line, names the baseline, and has
 * tools/compareout.h print the progress and the outcome. On a signal the
 * command prints what completed and exits 130.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/registry.h"
#include "run/compare.h"
#include "run/report.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "tools/compareout.h"
#include "tools/runopts.h"

#define CMP_USAGE                                                                        \
  "ridesim compare --policies A,B,... [--reposition X,Y] [--seeds 1-5 | --seeds 1,3,7]\n" \
  "               [--baseline A] [--jobs N] [--csv | --json] [--report DIR] [--out DB]\n" \
  "               [run options: --trips DB | --synthetic, --day, --from, --to, --drivers ...]"

#define CMP_DEFAULT_OUT "ridesim-compare.db"
#define CMP_MAX_SEEDS 1000
#define CMP_MAX_POLICIES 32
#define CMP_PROGRESS_TTY_MS 200   /* progress bar redraw period on a terminal */

static void compare_help(void) {
  printf("usage: %s\n\n", CMP_USAGE);
  printf(
      "Runs every combination of dispatch policy, repositioning policy and seed on the\n"
      "same demand and fleet (common random numbers), in parallel, and prints each KPI's\n"
      "mean with its 95 %% confidence interval over seeds (Student t), and the paired\n"
      "difference against the baseline with its 95 %% interval.\n\n");
  sim_scenario d;
  sim_scenario_defaults(&d);
  char names[256], text[400];
  disp_registry_names(DISP_REG_DISPATCH, 0, ", ", names, sizeof names);
  snprintf(text, sizeof text, "dispatch policies to compare (required): %s", names);
  runopts_help_line("--policies A,B,...", text);
  disp_registry_names(DISP_REG_REPOSITION, 0, ", ", names, sizeof names);
  snprintf(text, sizeof text, "repositioning policies: %s (default %s)", names, d.reposition);
  runopts_help_line("--reposition X,Y,...", text);
  printf(
      "  --seeds LIST          seeds: ranges and lists, e.g. 1-5 or 1,3,7 (default 1-5)\n"
      "  --baseline A[/X]      the combination others are compared with (default: the\n"
      "                        first policy with the first repositioning policy)\n"
      "  --jobs N              runs at a time (default: the machine's cores)\n"
      "  --csv                 print one CSV row per combination and KPI\n"
      "  --json                print the same as JSON\n"
      "  --report DIR          also write the HTML report DIR/index.html\n"
      "  --out DB              results database (default ./" CMP_DEFAULT_OUT ")\n"
      "  --help                this text\n"
      "run options, as for 'ridesim run' (every run shares them):\n");
  runopts_help(RUNOPTS_NO_POLICIES);
  printf("\nKPIs (CSV and JSON name, what it is):\n");
  for (int i = 0; i < RUN_REPORT_N_KPIS; i++) {
    const sim_kpi_def *kd = run_report_kpi(i);
    snprintf(text, sizeof text, "%s: %s", kd->label, kd->definition);
    runopts_help_line(kd->field, text);
  }
  printf("SIGINT stops launching runs; running ones are stored as interrupted and the\n"
         "command exits with 130.\n");
}

enum {
  OPT_POLICIES = 256, OPT_REPO_LIST, OPT_SEEDS, OPT_BASELINE, OPT_JOBS, OPT_CSV, OPT_JSON,
  OPT_REPORT, OPT_HELP
};

/* The command's own options; the scenario's come from runopts. */
static const struct option CMP_OWN[] = {
  {"policies", required_argument, NULL, OPT_POLICIES},
  {"reposition", required_argument, NULL, OPT_REPO_LIST},
  {"seeds", required_argument, NULL, OPT_SEEDS},
  {"baseline", required_argument, NULL, OPT_BASELINE},
  {"jobs", required_argument, NULL, OPT_JOBS},
  {"csv", no_argument, NULL, OPT_CSV},
  {"json", no_argument, NULL, OPT_JSON},
  {"report", required_argument, NULL, OPT_REPORT},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

typedef struct {
  sim_scenario sc;      /* the shared scenario (policies and seed set per run) */
  int city_given;
  char pol[CMP_MAX_POLICIES][SIM_NAME_MAX];  /* dispatch policies */
  int n_pol;
  char repo[CMP_MAX_POLICIES][SIM_NAME_MAX]; /* reposition policies */
  int n_repo;
  uint64_t *seeds;      /* owned */
  int n_seeds;
  char baseline[2 * SIM_NAME_MAX + 2];
  int jobs;             /* 0 = the machine's cores */
  int csv, json;
  char report_dir[SIM_PATH_MAX];
} cmp_args;

#define BAD(...) cli_usage_error("compare", CMP_USAGE, __VA_ARGS__)

static int set_str(char *dst, size_t n, const char *v) {
  if (strlen(v) >= n) return -1;
  snprintf(dst, n, "%s", v);
  return 0;
}

/* "a,b,c" into names; no empty or repeated name. 0 or -1 (msg set). */
static int parse_names(const char *s, char names[][SIM_NAME_MAX], int *n, char *msg,
                       size_t msg_size) {
  *n = 0;
  const char *p = s;
  for (;;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == 0) {
      snprintf(msg, msg_size, "empty name in '%s'", s);
      return -1;
    }
    if (len >= SIM_NAME_MAX || *n >= CMP_MAX_POLICIES) {
      snprintf(msg, msg_size, "too long or too many names in '%s'", s);
      return -1;
    }
    memcpy(names[*n], p, len);
    names[*n][len] = '\0';
    for (int i = 0; i < *n; i++)
      if (strcmp(names[i], names[*n]) == 0) {
        snprintf(msg, msg_size, "'%s' is named twice", names[i]);
        return -1;
      }
    (*n)++;
    if (c == NULL) return 0;
    p = c + 1;
  }
}

/* "1-5", "1,3,7", "1-3,10": ascending order of writing, no repeats. */
static int parse_seeds(const char *s, uint64_t **out, int *n) {
  uint64_t *a = malloc(CMP_MAX_SEEDS * sizeof *a);
  if (a == NULL) return -1;
  int k = 0;
  char buf[64];
  const char *p = s;
  for (;;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == 0 || len >= sizeof buf) goto bad;
    memcpy(buf, p, len);
    buf[len] = '\0';
    uint64_t lo, hi;
    char *dash = strchr(buf, '-');
    if (dash) {
      *dash = '\0';
      if (cli_parse_u64(buf, &lo) || cli_parse_u64(dash + 1, &hi) || hi < lo) goto bad;
    } else {
      if (cli_parse_u64(buf, &lo)) goto bad;
      hi = lo;
    }
    if (hi > SIM_SEED_MAX) goto bad;
    for (uint64_t v = lo;; v++) {
      if (k >= CMP_MAX_SEEDS) goto bad;
      for (int i = 0; i < k; i++)
        if (a[i] == v) goto bad;
      a[k++] = v;
      if (v == hi) break;
    }
    if (c == NULL) break;
    p = c + 1;
  }
  *out = a;
  *n = k;
  return 0;
bad:
  free(a);
  return -1;
}

static int parse_args(int argc, char **argv, cmp_args *a) {
  sim_scenario_defaults(&a->sc);
  snprintf(a->sc.out, sizeof a->sc.out, "%s", CMP_DEFAULT_OUT);
  rs_err e;
  rs_err_clear(&e);
  char msg[256];
  struct option table[RUNOPTS_MAX];
  runopts_table(RUNOPTS_NO_POLICIES, CMP_OWN, table);
  runopts_ctx rc = {"compare", CMP_USAGE, OPT_HELP, 0};
  int pass1 = runopts_scenarios(&rc, argc, argv, table, &a->sc);
  if (pass1 == -1) {
    compare_help();
    return -1;
  }
  if (pass1 != 0) return pass1; /* 2: a scenario file that does not read */
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", table, NULL)) != -1) {
    int64_t iv;
    int r = runopts_apply(&rc, c, optarg, &a->sc);
    if (r == 2) return 2;
    if (r == 1) continue;
    switch (c) {
    case OPT_POLICIES:
      if (parse_names(optarg, a->pol, &a->n_pol, msg, sizeof msg)) return BAD("--policies: %s", msg);
      break;
    case OPT_REPO_LIST:
      if (parse_names(optarg, a->repo, &a->n_repo, msg, sizeof msg)) return BAD("--reposition: %s", msg);
      break;
    case OPT_SEEDS:
      free(a->seeds);
      a->seeds = NULL;
      if (parse_seeds(optarg, &a->seeds, &a->n_seeds))
        return BAD("--seeds: expected ranges or a list of distinct seeds (at most %d), "
                   "e.g. 1-5 or 1,3,7, got '%s'", CMP_MAX_SEEDS, optarg);
      break;
    case OPT_BASELINE:
      if (set_str(a->baseline, sizeof a->baseline, optarg)) return BAD("--baseline: too long");
      break;
    case OPT_JOBS:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 1024)
        return BAD("--jobs: expected 1-1024, got '%s'", optarg);
      a->jobs = (int)iv;
      break;
    case OPT_CSV: a->csv = 1; break;
    case OPT_JSON: a->json = 1; break;
    case OPT_REPORT:
      if (set_str(a->report_dir, sizeof a->report_dir, optarg)) return BAD("--report: path too long");
      break;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  a->city_given = rc.city_given;
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (a->n_pol == 0) return BAD("--policies is required (e.g. --policies fcfs-nearest,batch-distance)");
  if (a->csv && a->json) return BAD("--csv and --json exclude each other");
  if (a->n_repo == 0) {
    snprintf(a->repo[0], SIM_NAME_MAX, "%s", a->sc.reposition);
    a->n_repo = 1;
  }
  if (a->seeds == NULL) {
    if (parse_seeds("1-5", &a->seeds, &a->n_seeds)) return 1;
  }
  if (sim_scenario_validate(&a->sc, &e) != 0) {
    cli_error("compare", "%s", e.msg);
    return 2;
  }
  return 0;
}

/* ------------------------------------------------------------ the command */

/* The baseline combination: "A" (with the first reposition policy) or
 * "A/X". -1 when it names no combination. */
static int find_baseline(const cmp_args *a, const run_compare *c) {
  if (a->baseline[0] == '\0') return 0;
  char d[2 * SIM_NAME_MAX + 2];
  snprintf(d, sizeof d, "%s", a->baseline);
  char *slash = strchr(d, '/');
  const char *x = slash ? slash + 1 : a->repo[0];
  if (slash) *slash = '\0';
  for (int i = 0; i < run_compare_n_combos(c); i++)
    if (strcmp(run_compare_dispatch(c, i), d) == 0 && strcmp(run_compare_reposition(c, i), x) == 0)
      return i;
  return -1;
}

/* The comparison's outcome printed: the table, CSV or JSON, the report,
 * and how it ended. The exit status. */
static int finish(const cmp_args *a, const run_compare *c, int base) {
  run_compare_state s;
  run_compare_state_get(c, &s);
  int64_t id_min, id_max;
  run_compare_run_ids(c, &id_min, &id_max);
  int failed = s.failed;
  rs_err e;
  rs_err_clear(&e);
  if (!failed) {
    compareout o;
    compareout_of_compare(&o, c, a->seeds, a->n_seeds, a->n_repo, base, a->sc.out);
    if (a->json) {
      if (compareout_json(&o) != 0) failed = 1;
    } else if (a->csv) {
      compareout_csv(&o);
    } else {
      compareout_table(&o);
      printf("results: %s (runs %lld-%lld)\n", a->sc.out, (long long)id_min, (long long)id_max);
    }
    fflush(stdout);
  }
  if (s.stopped && a->report_dir[0] != '\0') {
    cli_error("compare", "report skipped: the comparison was interrupted ('ridesim report %s "
              "--runs all --run-ids %lld-%lld --out DIR' draws what was kept)",
              a->sc.out, (long long)id_min, (long long)id_max);
  } else if (!failed && a->report_dir[0] != '\0' && id_min > 0) {
    run_report_opts ro = {0, id_min, id_max, NULL, RIDESIM_VERSION};
    int shown = 0;
    if (run_report_write(a->sc.out, a->report_dir, &ro, &shown, &e) != 0) {
      cli_error("compare", "report: %s", e.msg);
      failed = 1;
    } else {
      fprintf(stderr, "compare: report of %d runs in %s/index.html\n", shown, a->report_dir);
    }
  }
  if (s.stopped) {
    cli_error("compare", "interrupted: %d of %d runs done; results kept in %s", s.done,
              s.n_runs, a->sc.out);
    return 130;
  }
  return failed ? 1 : 0;
}

int cmd_compare(int argc, char **argv) {
  cmp_args a;
  memset(&a, 0, sizeof a);
  int prc = parse_args(argc, argv, &a);
  if (prc != 0) {
    free(a.seeds);
    return prc == -1 ? 0 : prc;
  }
  rs_err e;
  rs_err_clear(&e);
  compareout_term term = {isatty(STDERR_FILENO), 0};
  run_compare_opts o = {&a.sc, a.city_given, (const char(*)[SIM_NAME_MAX])a.pol, a.n_pol,
                        (const char(*)[SIM_NAME_MAX])a.repo, a.n_repo, a.seeds, a.n_seeds,
                        a.jobs, RIDESIM_VERSION, term.tty ? CMP_PROGRESS_TTY_MS : 0,
                        {&term, compareout_started, compareout_progress, compareout_error,
                         compareout_signal}};
  run_compare *c = NULL;
  int status = 1, base;
  if (run_compare_new(&o, &c, &e) != 0) {
    cli_error("compare", "%s", e.msg);
  } else if ((base = find_baseline(&a, c)) < 0) {
    status = BAD("--baseline '%s' is not one of the compared combinations", a.baseline);
  } else if (run_compare_check(c, &e) != 0) {
    cli_error("compare", "%s", e.msg);
    status = 2;
  } else if (run_compare_exec(c, &e) != 0) {
    cli_error("compare", "%s", e.msg);
  } else {
    compareout_done(&term, c);
    status = finish(&a, c, base);
  }
  run_compare_free(c);
  free(a.seeds);
  return status;
}

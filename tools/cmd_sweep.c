/*
 * ridesim sweep: the runs of a plan (run/plan.h) on this machine's cores,
 * a shard of them (a job array's task), or spread over MPI ranks; then,
 * for a whole plan, compare's tables of every group read back from the
 * results DB (tools/sweepout.c over run/sweepstat.h), so that a resumed,
 * merged or MPI-written DB prints the same tables as a local one.
 *
 * Running a plan against a DB that holds some of its runs runs the others
 * only (resume); a DB that holds them all runs nothing and prints the
 * tables. docs/sweeps.md is the user's guide.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/plan.h"
#include "run/sweep.h"
#include "run/sweepmpi.h"
#include "sim/results.h"
#include "tools/cli.h"
#include "tools/compareout.h"
#include "tools/sweepout.h"

#define SWEEP_USAGE                                                                    \
  "ridesim sweep PLAN.json [--out DB] [--jobs N] [--shard K/N] [--dry-run]\n"          \
  "              [--results full|orders|summary] [--csv | --json]"

#define SWEEP_DEFAULT_OUT "ridesim-sweep.db"
#define SWEEP_PROGRESS_TTY_MS 200

static void sweep_help(void) {
  printf("usage: %s\n\n", SWEEP_USAGE);
  printf(
      "Runs every run of a plan (the cross product of its axes: trip stores, days,\n"
      "variants, fleet sizes, dispatch and repositioning policies, seeds; or its\n"
      "explicit list) in parallel, into one results DB, then prints for each group of\n"
      "runs (those differing only in policies, seed and day) each KPI's mean with its\n"
      "95 %% interval and the difference against the baseline paired by seed and day.\n"
      "Runs already completed in the DB are not run again (resume). docs/sweeps.md\n"
      "describes plans, job arrays and MPI.\n\n"
      "  --out DB          results database (default ./" SWEEP_DEFAULT_OUT ";\n"
      "                    with a shard, ./ridesim-sweep.K-of-N.db)\n"
      "  --jobs N          runs at a time (default: the machine's cores)\n"
      "  --shard K/N       run the K-th of N shares of the plan (K from 0); default\n"
      "                    from SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) and\n"
      "                    SLURM_ARRAY_TASK_COUNT when set. Merge the shards' DBs\n"
      "                    with 'ridesim merge'.\n"
      "  --dry-run         list the runs (index, key, label) and run nothing\n"
      "  --results WHAT    what each run keeps: full (default: orders, drivers, KPI\n"
      "                    series, solver ticks, cells), orders (all but the solver\n"
      "                    ticks), summary (the run's KPIs, KPI series and cells)\n"
      "  --csv             print the tables as CSV (a group column first)\n"
      "  --json            print them as JSON\n"
      "  --help            this text\n"
      "Under mpirun (a build with -Dmpi=enabled) rank 0 hands out the runs as ranks\n"
      "free up and writes the one DB; every rank runs runs. SIGINT stops launching\n"
      "runs; running ones are stored as interrupted and run again by the next sweep\n"
      "of the plan.\n");
}

enum { OPT_OUT = 256, OPT_JOBS, OPT_SHARD, OPT_DRY, OPT_RESULTS, OPT_CSV, OPT_JSON, OPT_HELP };

static const struct option SWEEP_OPTS[] = {
  {"out", required_argument, NULL, OPT_OUT},
  {"jobs", required_argument, NULL, OPT_JOBS},
  {"shard", required_argument, NULL, OPT_SHARD},
  {"dry-run", no_argument, NULL, OPT_DRY},
  {"results", required_argument, NULL, OPT_RESULTS},
  {"csv", no_argument, NULL, OPT_CSV},
  {"json", no_argument, NULL, OPT_JSON},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

#define BAD(...) cli_usage_error("sweep", SWEEP_USAGE, __VA_ARGS__)

typedef struct {
  const char *plan_path;
  char out[SIM_PATH_MAX];
  int jobs;
  int shard_k, shard_n;   /* 0 and 1: the whole plan */
  int dry, csv, json;
  int results;            /* SIM_RESULTS_* */
} sweep_args;

/* "K/N" with 0 <= K < N. */
static int parse_shard(const char *s, int *k, int *n) {
  int64_t a, b;
  char buf[64];
  const char *slash = strchr(s, '/');
  if (slash == NULL || (size_t)(slash - s) >= sizeof buf) return -1;
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  if (cli_parse_i64(buf, &a) || cli_parse_i64(slash + 1, &b) || b < 1 || b > 1000000 || a < 0 ||
      a >= b)
    return -1;
  *k = (int)a;
  *n = (int)b;
  return 0;
}

/* The shard of a Slurm job array's task, when the variables say one. */
static int slurm_shard(int *k, int *n) {
  const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
  const char *min = getenv("SLURM_ARRAY_TASK_MIN");
  int64_t i, c, m = 0;
  if (id == NULL || cnt == NULL || cli_parse_i64(id, &i) || cli_parse_i64(cnt, &c)) return -1;
  if (min != NULL && cli_parse_i64(min, &m)) return -1;
  if (c < 1 || i - m < 0 || i - m >= c) return -1;
  *k = (int)(i - m);
  *n = (int)c;
  return 0;
}

static int parse_args(int argc, char **argv, sweep_args *a) {
  memset(a, 0, sizeof *a);
  a->shard_n = 1;
  int shard_given = 0;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", SWEEP_OPTS, NULL)) != -1) {
    int64_t iv;
    switch (c) {
    case OPT_OUT:
      if (strlen(optarg) >= sizeof a->out) return BAD("--out: path too long");
      snprintf(a->out, sizeof a->out, "%s", optarg);
      break;
    case OPT_JOBS:
      if (cli_parse_i64(optarg, &iv) || iv < 1 || iv > 1024)
        return BAD("--jobs: expected 1-1024, got '%s'", optarg);
      a->jobs = (int)iv;
      break;
    case OPT_SHARD:
      if (parse_shard(optarg, &a->shard_k, &a->shard_n))
        return BAD("--shard: expected K/N with 0 <= K < N, got '%s'", optarg);
      shard_given = 1;
      break;
    case OPT_DRY: a->dry = 1; break;
    case OPT_RESULTS:
      if (sim_results_keep_parse(optarg, &a->results) != 0)
        return BAD("--results: expected full, orders or summary, got '%s'", optarg);
      break;
    case OPT_CSV: a->csv = 1; break;
    case OPT_JSON: a->json = 1; break;
    case OPT_HELP: sweep_help(); return -1;
    case '?':
    default:
      if (optopt) return BAD("option '%s' needs a value", argv[optind - 1]);
      return BAD("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return BAD("a plan is required (ridesim sweep PLAN.json)");
  a->plan_path = argv[optind++];
  if (optind < argc) return BAD("unexpected argument '%s'", argv[optind]);
  if (a->csv && a->json) return BAD("--csv and --json exclude each other");
  if (!shard_given && slurm_shard(&a->shard_k, &a->shard_n) != 0) {
    a->shard_k = 0;
    a->shard_n = 1;
  }
  if (a->out[0] == '\0') {
    if (a->shard_n > 1)
      snprintf(a->out, sizeof a->out, "ridesim-sweep.%d-of-%d.db", a->shard_k, a->shard_n);
    else
      snprintf(a->out, sizeof a->out, "%s", SWEEP_DEFAULT_OUT);
  }
  return 0;
}

/* ------------------------------------------------------------ progress */

/* The bar (compareout_bar) at the sweep's state. */
static void draw(compareout_term *t, const run_sweep *s, int final) {
  run_sweep_state st;
  run_sweep_state_get(s, &st);
  compareout_bar(t, "sweep", st.frac, st.elapsed_s, st.done, st.n_runs, st.running, final);
}

static void on_progress(void *arg, const run_sweep *s) { draw(arg, s, 0); }

/* What resume found left incomplete by an earlier sweep. */
static void dropped(const run_sweep_state *st) {
  if (st->dropped > 0)
    fprintf(stderr, "sweep: %d run%s left incomplete by an earlier sweep (killed, interrupted or "
            "failed) run again\n", st->dropped, st->dropped == 1 ? "" : "s");
}

static void on_started(void *arg, const run_sweep *s) {
  (void)arg;
  run_sweep_state st;
  run_sweep_state_get(s, &st);
  fprintf(stderr, "sweep: %d runs to do (%d already completed), %d at a time\n", st.n_runs,
          st.skipped, st.jobs);
  dropped(&st);
}

static void on_error(void *arg, const char *msg) {
  compareout_term *t = arg;
  if (t->shown) fputc('\n', stderr);
  t->shown = 0;
  cli_error("sweep", "%s", msg);
}

static void on_signal(void *arg, int signum) {
  compareout_term *t = arg;
  if (t->shown) fputc('\n', stderr);
  t->shown = 0;
  cli_error("sweep", "%s: stopping; running runs are kept as interrupted",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ------------------------------------------------------------ the command */

static void dry_run(const sweep_args *a, const run_plan *p) {
  int n = 0;
  for (int i = 0; i < p->n_runs; i++) n += run_plan_in_shard(i, a->shard_k, a->shard_n);
  printf("plan %s: %d runs in %d group%s", p->id, p->n_runs, p->n_groups,
         p->n_groups == 1 ? "" : "s");
  if (a->shard_n > 1) printf(", shard %d/%d: %d runs", a->shard_k, a->shard_n, n);
  printf(", baseline %s/%s\n", p->base_dispatch, p->base_reposition);
  for (int i = 0; i < p->n_runs; i++)
    if (run_plan_in_shard(i, a->shard_k, a->shard_n))
      printf("%6d  %s  %s\n", i, p->runs[i].key, p->runs[i].label);
}

int cmd_sweep(int argc, char **argv) {
  sweep_args a;
  int prc = parse_args(argc, argv, &a);
  if (prc != 0) return prc == -1 ? 0 : prc;
  run_plan p;
  rs_err e;
  rs_err_clear(&e);
  if (run_plan_load(&p, a.plan_path, &e) != 0) {
    cli_error("sweep", "%s", e.msg);
    return 2;
  }
  if (a.dry) {
    dry_run(&a, &p);
    run_plan_free(&p);
    return 0;
  }
  /* the shard's runs */
  run_sweep_item *items = calloc((size_t)p.n_runs, sizeof *items);
  if (items == NULL) {
    cli_error("sweep", "out of memory");
    run_plan_free(&p);
    return 1;
  }
  int n = 0;
  for (int i = 0; i < p.n_runs; i++) {
    if (!run_plan_in_shard(i, a.shard_k, a.shard_n)) continue;
    items[n].sc = p.runs[i].sc;
    items[n].key = p.runs[i].key;
    items[n].index = i;
    items[n].label = p.runs[i].label;
    n++;
  }
  compareout_term term = {isatty(STDERR_FILENO), 0};
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.items = items;
  o.n_items = n;
  o.out = a.out;
  o.plan_id = p.id;
  o.city_given = p.city_given;
  o.jobs = a.jobs;
  o.version = RIDESIM_VERSION;
  o.progress_ms = term.tty ? SWEEP_PROGRESS_TTY_MS : 0;
  o.cells = 1;
  o.resume = 1;
  o.results = a.results;
  o.hooks = (run_sweep_hooks){&term, on_started, on_progress, NULL, on_error, on_signal};
  int status = 1, rank0 = 1;
  run_sweep *s = NULL;
  run_sweep_state st;
  memset(&st, 0, sizeof st);
  if (run_sweep_new(&o, &s, &e) != 0) {
    cli_error("sweep", "%s", e.msg);
  } else if (run_sweep_check(s, &e) != 0) {
    cli_error("sweep", "%s", e.msg);
    status = 2;
  } else if (run_sweepmpi_active()) {
    if (run_sweepmpi_exec(&o, &rank0, &st, &e) != 0) cli_error("sweep", "%s", e.msg);
    else status = 0;
    if (rank0 && status == 0) {
      dropped(&st);
      fprintf(stderr, "sweep: %d runs over %d ranks (%d already completed)\n", st.done, st.jobs,
              st.skipped);
    }
  } else if (run_sweep_exec(s, &e) != 0) {
    cli_error("sweep", "%s", e.msg);
  } else {
    run_sweep_state_get(s, &st);
    if (term.tty && st.n_runs > 0) draw(&term, s, 1);
    if (st.n_runs == 0)
      fprintf(stderr, "sweep: nothing to run: the %d runs are completed in %s\n", st.skipped,
              a.out);
    status = 0;
  }
  run_sweep_free(s);
  free(items);
  if (status == 0 && rank0) {
    if (st.stopped) {
      cli_error("sweep", "interrupted: %d of %d runs done; results kept in %s (run the plan "
                "again to finish it)", st.done, st.n_runs, a.out);
      status = 130;
    } else if (st.failed) {
      cli_error("sweep", "some runs failed; results kept in %s", a.out);
      status = 1;
    } else if (a.shard_n > 1) {
      fprintf(stderr, "sweep: shard %d/%d: %d runs done, %d already completed, in %s\n",
              a.shard_k, a.shard_n, st.done, st.skipped, a.out);
    } else {
      status = sweepout_tables(&p, a.out, a.csv, a.json);
    }
  }
  run_plan_free(&p);
  return status;
}

/*
 * ridesim compare: every (dispatch, reposition, seed) combination of a
 * scenario, run in parallel, summarised with confidence intervals.
 *
 * Common random numbers. All runs of a seed share the riders: the same
 * trips (one run_input, loaded once and shared read-only by every run that
 * uses it), the same fleet placement and the same cancellation draws (the
 * engine's per-purpose PCG32 streams come from the seed). Policies are then
 * compared on the per-seed differences, which cancels the variance they
 * share. A trip store gives one run_input for all seeds. The synthetic city
 * draws its demand from the run seed (run/setup.c), so there is one run_input
 * per seed: each run's stored scenario then reproduces it alone with
 * `ridesim run --scenario`, and pairing by seed still compares policies on
 * identical riders.
 *
 * Threads. Runs execute on libuv's thread pool (uv_queue_work), at most
 * --jobs at a time. The main thread owns the loop, SQLite and the terminal:
 * it inserts a run's row ('running') when launching it, and its after_work
 * callback writes the results, frees the run and launches the next. A
 * worker builds its run_ctx (pure memory work, see run/setup.h) and steps the
 * engine in slices of SIM_SLICE_EVENTS events; the only state it shares is
 * read-only (the run_input, the scenario) or atomic (the stop flag, its own
 * simulated-time progress). Scenarios whose value model reads a table file
 * build their run_ctx on the main thread instead, so that SQLite is never
 * touched from a worker.
 *
 * Run ids are assigned at launch, in combination order (policy, reposition,
 * seed), so a DB's ids do not depend on which run finished first.
 *
 * SIGINT / SIGTERM: no new run is launched; running ones stop at their next
 * slice (sim_engine_close_early) and are stored 'interrupted'; the command
 * prints what completed and exits 130.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "sim/engine.h"
#include "sim/results.h"
#include "sim/runloop.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "run/report.h"
#include "tools/runopts.h"
#include "run/setup.h"
#include "run/stats.h"

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
      "difference against the baseline with its 95 %% interval.\n\n"
      "  --policies A,B,...    dispatch policies to compare (required)\n"
      "  --reposition X,Y,...  repositioning policies (default stay)\n"
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
  printf("\n"
      "KPIs: answer rate, completion rate, cancellation rate, wait to match, pickup\n"
      "distance, total driver income (J), income per online hour (G), utilisation,\n"
      "empty km, wall seconds. SIGINT stops launching runs; running ones are stored\n"
      "as interrupted and the command exits with 130.\n");
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
  if (pass1 != 0) return 1;
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

/* ------------------------------------------------------------------ runs */

typedef struct compare compare;

/* One run: a (policy, reposition, seed) combination. Fields below `req`
 * are written by the worker and read by after_work (libuv orders the two),
 * except `now`, which the progress timer reads while the worker runs. */
typedef struct {
  uv_work_t req;
  compare *cmp;
  int combo;              /* dispatch x reposition index */
  int seed_i;             /* index into the seeds */
  sim_scenario sc;        /* this run's scenario */
  const run_input *in;    /* shared, read-only */
  run_ctx *ctx;           /* built by the worker, or at launch (value table) */
  int64_t run_id;
  _Atomic int64_t now;    /* simulated time reached (progress) */
  int running;            /* launched and not yet written (main thread) */
  /* worker results */
  int rc;
  rs_err err;
  int interrupted;
  double wall_s;
  sim_kpis k;
} cmp_run;

struct compare {
  cmp_args *a;
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  uv_timer_t timer;
  atomic_int stop;        /* set by a signal: runs stop at their next slice */
  run_input *inputs;      /* one per seed (synthetic) or one shared */
  int n_inputs;
  cmp_run *runs;          /* n_combo x n_seeds, combination order */
  int n_runs;
  int next;               /* next run to launch */
  int in_flight, done;
  int jobs;
  sim_results *res;
  int failed;             /* a run or a write failed: stop, exit 1 */
  int tty;
  uint64_t t_start_ns;
  int64_t horizon_s;      /* simulated seconds of one run */
  int64_t run_id_min, run_id_max;
  double *val;            /* [combo][kpi][seed]: NaN until the run completes */
  int progress_shown;     /* a progress bar is on the terminal line */
};

static int n_combos(const compare *c) { return c->a->n_pol * c->a->n_repo; }

static double *val_at(compare *c, int combo, int kpi) {
  return c->val + ((size_t)combo * RUN_REPORT_N_KPIS + (size_t)kpi) * (size_t)c->a->n_seeds;
}

static const char *combo_dispatch(const compare *c, int combo) {
  return c->a->pol[combo / c->a->n_repo];
}
static const char *combo_repo(const compare *c, int combo) {
  return c->a->repo[combo % c->a->n_repo];
}

/* "fcfs-nearest" when one repositioning policy, else "fcfs-nearest/stay". */
static void combo_name(const compare *c, int combo, char *buf, size_t n) {
  if (c->a->n_repo == 1) snprintf(buf, n, "%s", combo_dispatch(c, combo));
  else snprintf(buf, n, "%s/%s", combo_dispatch(c, combo), combo_repo(c, combo));
}

/* Whether building this run reads a value table file (SQLite). */
static int needs_table(const sim_scenario *sc) {
  int v1d3 = strcmp(sc->dispatch, "v1d3") == 0 || strcmp(sc->reposition, "v1d3") == 0;
  return v1d3 && strcmp(sc->value_mode, "online") != 0;
}

/* Worker thread: build, then step to the horizon or the stop flag. */
static void work_cb(uv_work_t *req) {
  cmp_run *r = req->data;
  rs_err_clear(&r->err);
  if (r->ctx == NULL && (r->rc = run_ctx_new(&r->sc, r->in, &r->ctx, &r->err)) != 0) return;
  sim_engine *eng = r->ctx->eng;
  uint64_t t0 = uv_hrtime();
  for (;;) {
    if (atomic_load(&r->cmp->stop)) {
      sim_engine_close_early(eng);
      r->interrupted = 1;
      break;
    }
    int st = sim_engine_step(eng, INT64_MAX, SIM_SLICE_EVENTS, &r->err);
    atomic_store(&r->now, sim_engine_now(eng));
    if (st == SIM_STEP_DONE) break;
    if (st < 0) {
      r->rc = st;
      sim_engine_close_early(eng);
      break;
    }
    if (st == SIM_STEP_WAIT) {
      /* Only policies that answer later (an external agent, driven by a
       * libuv loop) wait; compare has no loop in its workers. */
      r->rc = rs_err_set(&r->err, RS_EINVAL,
                         "policy '%s' answers asynchronously; compare runs only "
                         "policies that answer at once", r->sc.dispatch);
      sim_engine_close_early(eng);
      break;
    }
  }
  r->wall_s = (double)(uv_hrtime() - t0) / 1e9;
  sim_engine_kpis(eng, &r->k);
}

static void progress_draw(compare *c, int final);
static void launch(compare *c);

static void after_work_cb(uv_work_t *req, int status) {
  cmp_run *r = req->data;
  compare *c = r->cmp;
  rs_err e;
  rs_err_clear(&e);
  char name[2 * SIM_NAME_MAX + 2];
  combo_name(c, r->combo, name, sizeof name);
  if (status != 0 && r->rc == 0)
    r->rc = rs_err_set(&r->err, RS_EINTR, "run cancelled: %s", uv_strerror(status));
  if (r->ctx == NULL) {
    /* Never built: the row says 'failed' with no results. */
    cli_error("compare", "%s seed %llu: %s", name, (unsigned long long)r->sc.seed, r->err.msg);
    c->failed = 1;
  } else {
    const char *st = r->rc != 0 ? "failed" : r->interrupted ? "interrupted" : "completed";
    if (sim_results_finish_run(c->res, r->run_id, r->ctx->eng, &r->k, st, r->wall_s,
                               &r->ctx->grid, &e) != 0) {
      cli_error("compare", "%s", e.msg);
      c->failed = 1;
    }
    if (r->rc != 0) {
      cli_error("compare", "%s seed %llu: %s", name, (unsigned long long)r->sc.seed, r->err.msg);
      c->failed = 1;
    } else if (!r->interrupted) {
      for (int i = 0; i < RUN_REPORT_N_KPIS; i++)
        val_at(c, r->combo, i)[r->seed_i] = run_report_kpi_value(&r->k, r->wall_s, i);
    }
  }
  run_ctx_free(r->ctx);
  r->ctx = NULL;
  r->running = 0;
  c->in_flight--;
  c->done++;
  progress_draw(c, 0);
  launch(c);
}

/* Starts runs until --jobs are in flight. A run's row is committed
 * ('running') here, on the main thread, before its worker starts. */
static void launch(compare *c) {
  while (!c->failed && !atomic_load(&c->stop) && c->next < c->n_runs &&
         c->in_flight < c->jobs) {
    cmp_run *r = &c->runs[c->next++];
    rs_err e;
    rs_err_clear(&e);
    char *scen = sim_scenario_to_json(&r->sc);
    if (scen == NULL) {
      cli_error("compare", "out of memory");
      c->failed = 1;
      return;
    }
    int rc = sim_results_begin_run(c->res, scen, r->sc.seed, RIDESIM_VERSION, r->sc.dispatch,
                                   r->sc.reposition, r->in->from, r->in->to, &r->run_id, &e);
    free(scen);
    if (rc == 0 && needs_table(&r->sc)) rc = run_ctx_new(&r->sc, r->in, &r->ctx, &e);
    if (rc != 0) {
      cli_error("compare", "%s", e.msg);
      c->failed = 1;
      return;
    }
    if (c->run_id_min == 0) c->run_id_min = r->run_id;
    c->run_id_max = r->run_id;
    atomic_store(&r->now, r->in->from);
    r->running = 1;
    r->req.data = r;
    if ((rc = uv_queue_work(&c->loop, &r->req, work_cb, after_work_cb)) != 0) {
      cli_error("compare", "cannot start a worker: %s", uv_strerror(rc));
      run_ctx_free(r->ctx);
      r->ctx = NULL;
      r->running = 0;
      c->failed = 1;
      return;
    }
    c->in_flight++;
  }
  if (c->in_flight == 0) {
    /* Nothing left to wait for: let the loop end. */
    uv_close((uv_handle_t *)&c->timer, NULL);
    uv_close((uv_handle_t *)&c->sigint, NULL);
    uv_close((uv_handle_t *)&c->sigterm, NULL);
  }
}

/* ------------------------------------------------------------- progress */

/* Fraction of the simulated work done: finished runs count whole. */
static double progress_frac(compare *c) {
  if (c->n_runs == 0 || c->horizon_s <= 0) return 1;
  double sim = (double)c->done * (double)c->horizon_s;
  for (int i = 0; i < c->n_runs; i++) {
    cmp_run *r = &c->runs[i];
    if (r->running) {
      int64_t now = atomic_load(&r->now);
      sim += (double)(now - r->in->from);
    }
  }
  return sim / ((double)c->n_runs * (double)c->horizon_s);
}

static void format_eta(double s, char *buf, size_t n) {
  if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
  else if (s < 100) snprintf(buf, n, "%.0f s", s);
  else if (s < 6000) snprintf(buf, n, "%.0f min %02.0f s", floor(s / 60), fmod(s, 60));
  else snprintf(buf, n, "%.1f h", s / 3600);
}

/* A terminal gets a bar redrawn in place; anything else a line per run. */
static void progress_draw(compare *c, int final) {
  double el = (double)(uv_hrtime() - c->t_start_ns) / 1e9;
  double f = progress_frac(c);
  char eta[32];
  format_eta(f > 0 ? el * (1 - f) / f : NAN, eta, sizeof eta);
  if (!c->tty) {
    if (final) return;
    fprintf(stderr, "compare: %d/%d runs done, ETA %s\n", c->done, c->n_runs, eta);
    return;
  }
  enum { WIDTH = 30 };
  char bar[WIDTH + 1];
  int fill = (int)(f * WIDTH + 0.5);
  for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  fprintf(stderr, "\rcompare [%s] %3.0f%%  %d/%d runs, %d running, ETA %-12s", bar, 100 * f,
          c->done, c->n_runs, c->in_flight, final ? "0 s" : eta);
  c->progress_shown = 1;
  if (final) {
    fputc('\n', stderr);
    c->progress_shown = 0;
  }
  fflush(stderr);
}

static void timer_cb(uv_timer_t *t) { progress_draw(t->data, 0); }

static void signal_cb(uv_signal_t *h, int signum) {
  compare *c = h->data;
  if (!atomic_load(&c->stop)) {
    if (c->progress_shown) fputc('\n', stderr);
    c->progress_shown = 0;
    cli_error("compare", "%s: stopping; running runs are kept as interrupted",
              signum == SIGINT ? "SIGINT" : "SIGTERM");
  }
  atomic_store(&c->stop, 1);
}

/* --------------------------------------------------------------- output */

typedef struct {
  run_stat s;          /* over seeds */
  run_stat d;          /* paired difference against the baseline */
  double rel;         /* d.mean in % of the baseline mean */
  int is_base;
} cmp_cell;

static void stat_cell(compare *c, int combo, int base, int kpi, cmp_cell *out) {
  const double *v = val_at(c, combo, kpi);
  size_t n = (size_t)c->a->n_seeds;
  run_stat_of(v, n, &out->s);
  out->is_base = combo == base;
  run_stat b;
  run_stat_of(val_at(c, base, kpi), n, &b);
  run_stat_paired(val_at(c, base, kpi), v, n, &out->d);
  out->rel = run_stat_rel_pct(out->d.mean, b.mean);
}

static void fmt_num(char *buf, size_t n, double v, int dec, int sign) {
  if (!isfinite(v)) snprintf(buf, n, "n/a");
  else snprintf(buf, n, sign ? "%+.*f" : "%.*f", dec, v);
}

static void print_table(compare *c, int base) {
  const cmp_args *a = c->a;
  char bname[2 * SIM_NAME_MAX + 2];
  combo_name(c, base, bname, sizeof bname);
  int w = 12;
  for (int i = 0; i < n_combos(c); i++) {
    char nm[2 * SIM_NAME_MAX + 2];
    combo_name(c, i, nm, sizeof nm);
    if ((int)strlen(nm) > w) w = (int)strlen(nm);
  }
  printf("%-*s %14s %27s %14s %27s %9s\n", w + 2, "KPI / policy", "mean", "95% CI",
         "vs baseline", "95% CI", "rel");
  for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
    const run_report_kpi *kd = &run_report_kpis[k];
    if (kd->unit[0]) printf("%s (%s)\n", kd->label, kd->unit);
    else printf("%s\n", kd->label);
    for (int i = 0; i < n_combos(c); i++) {
      cmp_cell cc;
      stat_cell(c, i, base, k, &cc);
      char nm[2 * SIM_NAME_MAX + 2], m[32], lo[32], hi[32], ci[80];
      combo_name(c, i, nm, sizeof nm);
      double sc = kd->scale;
      fmt_num(m, sizeof m, cc.s.mean * sc, kd->decimals, 0);
      fmt_num(lo, sizeof lo, cc.s.lo * sc, kd->decimals, 0);
      fmt_num(hi, sizeof hi, cc.s.hi * sc, kd->decimals, 0);
      snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
      printf("  %-*s %14s %27s", w, nm, m, ci);
      if (cc.is_base) {
        printf(" %14s\n", "(baseline)");
        continue;
      }
      char dm[32], rel[32];
      fmt_num(dm, sizeof dm, cc.d.mean * sc, kd->decimals, 1);
      fmt_num(lo, sizeof lo, cc.d.lo * sc, kd->decimals, 1);
      fmt_num(hi, sizeof hi, cc.d.hi * sc, kd->decimals, 1);
      snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
      if (isfinite(cc.rel)) snprintf(rel, sizeof rel, "%+.1f%%", cc.rel);
      else snprintf(rel, sizeof rel, "n/a");
      printf(" %14s %27s %9s\n", dm, ci, rel);
    }
  }
  printf("rates in %%, differences of rates in percentage points; intervals: Student t over\n"
         "%d seeds, differences paired by seed against %s\n", a->n_seeds, bname);
}

static void csv_num(double v) {
  if (isfinite(v)) printf(",%.10g", v);
  else printf(",");
}

static void print_csv(compare *c, int base) {
  char bname[2 * SIM_NAME_MAX + 2];
  snprintf(bname, sizeof bname, "%s/%s", combo_dispatch(c, base), combo_repo(c, base));
  printf("dispatch,reposition,kpi,n,mean,sd,ci_low,ci_high,baseline,diff_n,diff_mean,"
         "diff_ci_low,diff_ci_high,diff_rel_pct\n");
  for (int i = 0; i < n_combos(c); i++)
    for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
      cmp_cell cc;
      stat_cell(c, i, base, k, &cc);
      printf("%s,%s,%s,%zu", combo_dispatch(c, i), combo_repo(c, i), run_report_kpis[k].key,
             cc.s.n);
      csv_num(cc.s.mean);
      csv_num(cc.s.sd);
      csv_num(cc.s.lo);
      csv_num(cc.s.hi);
      printf(",%s", bname);
      if (cc.is_base) {
        printf(",,,,,\n");
        continue;
      }
      printf(",%zu", cc.d.n);
      csv_num(cc.d.mean);
      csv_num(cc.d.lo);
      csv_num(cc.d.hi);
      csv_num(cc.rel);
      printf("\n");
    }
}

static cJSON *json_num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static int print_json(compare *c, int base) {
  cJSON *root = cJSON_CreateObject();
  cJSON *seeds = cJSON_AddArrayToObject(root, "seeds");
  for (int i = 0; i < c->a->n_seeds; i++)
    cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)c->a->seeds[i]));
  cJSON *b = cJSON_AddObjectToObject(root, "baseline");
  cJSON_AddStringToObject(b, "dispatch", combo_dispatch(c, base));
  cJSON_AddStringToObject(b, "reposition", combo_repo(c, base));
  cJSON_AddStringToObject(root, "results", c->a->sc.out);
  cJSON_AddNumberToObject(root, "run_id_min", (double)c->run_id_min);
  cJSON_AddNumberToObject(root, "run_id_max", (double)c->run_id_max);
  cJSON *rows = cJSON_AddArrayToObject(root, "rows");
  for (int i = 0; i < n_combos(c); i++)
    for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
      cmp_cell cc;
      stat_cell(c, i, base, k, &cc);
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "dispatch", combo_dispatch(c, i));
      cJSON_AddStringToObject(o, "reposition", combo_repo(c, i));
      cJSON_AddStringToObject(o, "kpi", run_report_kpis[k].key);
      cJSON_AddNumberToObject(o, "n", (double)cc.s.n);
      cJSON_AddItemToObject(o, "mean", json_num(cc.s.mean));
      cJSON_AddItemToObject(o, "sd", json_num(cc.s.sd));
      cJSON_AddItemToObject(o, "ci_low", json_num(cc.s.lo));
      cJSON_AddItemToObject(o, "ci_high", json_num(cc.s.hi));
      if (cc.is_base) {
        cJSON_AddNullToObject(o, "diff");
      } else {
        cJSON *d = cJSON_AddObjectToObject(o, "diff");
        cJSON_AddNumberToObject(d, "n", (double)cc.d.n);
        cJSON_AddItemToObject(d, "mean", json_num(cc.d.mean));
        cJSON_AddItemToObject(d, "ci_low", json_num(cc.d.lo));
        cJSON_AddItemToObject(d, "ci_high", json_num(cc.d.hi));
        cJSON_AddItemToObject(d, "rel_pct", json_num(cc.rel));
      }
      cJSON_AddItemToArray(rows, o);
    }
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  if (s == NULL) return -1;
  printf("%s\n", s);
  free(s);
  return 0;
}

/* ------------------------------------------------------------ the command */

/* The baseline combination: "A" (with the first reposition policy) or
 * "A/X". -1 when it names no combination. */
static int find_baseline(const compare *c) {
  const cmp_args *a = c->a;
  if (a->baseline[0] == '\0') return 0;
  char d[2 * SIM_NAME_MAX + 2];
  snprintf(d, sizeof d, "%s", a->baseline);
  char *slash = strchr(d, '/');
  const char *x = slash ? slash + 1 : a->repo[0];
  if (slash) *slash = '\0';
  for (int i = 0; i < n_combos(c); i++)
    if (strcmp(combo_dispatch(c, i), d) == 0 && strcmp(combo_repo(c, i), x) == 0) return i;
  return -1;
}

/* Sets UV_THREADPOOL_SIZE to at least the jobs before libuv's pool starts
 * (it reads the variable once, at its first use). */
static void size_threadpool(int jobs) {
  const char *cur = getenv("UV_THREADPOOL_SIZE");
  if (cur != NULL && atoi(cur) >= jobs) return;
  char buf[16];
  snprintf(buf, sizeof buf, "%d", jobs);
  setenv("UV_THREADPOOL_SIZE", buf, 1);
}

int cmd_compare(int argc, char **argv) {
  cmp_args a;
  memset(&a, 0, sizeof a);
  int prc = parse_args(argc, argv, &a);
  if (prc != 0) {
    free(a.seeds);
    return prc == -1 ? 0 : prc;
  }
  compare c;
  memset(&c, 0, sizeof c);
  c.a = &a;
  int status = 1;
  rs_err e;
  rs_err_clear(&e);
  int base = find_baseline(&c);
  if (base < 0) {
    free(a.seeds);
    return BAD("--baseline '%s' is not one of the compared combinations", a.baseline);
  }
  /* Every policy name is checked before anything is loaded or written. */
  for (int i = 0; i < n_combos(&c); i++) {
    sim_scenario sc = a.sc;
    snprintf(sc.dispatch, sizeof sc.dispatch, "%s", combo_dispatch(&c, i));
    snprintf(sc.reposition, sizeof sc.reposition, "%s", combo_repo(&c, i));
    if (run_check_policies(&sc, &e) != 0) {
      cli_error("compare", "%s", e.msg);
      free(a.seeds);
      return 2;
    }
  }
  int synthetic = a.sc.trips[0] == '\0';
  c.n_inputs = synthetic ? a.n_seeds : 1;
  c.inputs = calloc((size_t)c.n_inputs, sizeof *c.inputs);
  c.n_runs = n_combos(&c) * a.n_seeds;
  c.runs = calloc((size_t)c.n_runs, sizeof *c.runs);
  c.val = malloc((size_t)n_combos(&c) * RUN_REPORT_N_KPIS * (size_t)a.n_seeds * sizeof *c.val);
  if (c.inputs == NULL || c.runs == NULL || c.val == NULL) {
    cli_error("compare", "out of memory");
    goto out;
  }
  for (size_t i = 0; i < (size_t)n_combos(&c) * RUN_REPORT_N_KPIS * (size_t)a.n_seeds; i++)
    c.val[i] = NAN;
  sim_scenario shared = a.sc;   /* day and horizon fixed by the first load */
  for (int i = 0; i < c.n_inputs; i++) {
    sim_scenario sc = a.sc;
    if (synthetic) sc.seed = a.seeds[i];
    if (run_input_load(&sc, a.city_given, &c.inputs[i], &e) != 0) {
      cli_error("compare", "%s", e.msg);
      c.n_inputs = i;
      goto out;
    }
    if (i == 0) shared = sc;
  }
  c.horizon_s = c.inputs[0].to - c.inputs[0].from;
  for (int i = 0; i < c.n_runs; i++) {
    cmp_run *r = &c.runs[i];
    r->cmp = &c;
    r->combo = i / a.n_seeds;
    r->seed_i = i % a.n_seeds;
    r->sc = shared;
    r->sc.seed = a.seeds[r->seed_i];
    snprintf(r->sc.dispatch, sizeof r->sc.dispatch, "%s", combo_dispatch(&c, r->combo));
    snprintf(r->sc.reposition, sizeof r->sc.reposition, "%s", combo_repo(&c, r->combo));
    r->in = &c.inputs[synthetic ? r->seed_i : 0];
  }
  if (sim_results_open(a.sc.out, &c.res, &e) != 0) {
    cli_error("compare", "%s", e.msg);
    goto out;
  }
  c.jobs = a.jobs > 0 ? a.jobs : (int)uv_available_parallelism();
  if (c.jobs < 1) c.jobs = 1;
  if (c.jobs > c.n_runs) c.jobs = c.n_runs;
  size_threadpool(c.jobs);
  c.tty = isatty(STDERR_FILENO);
  int rc;
  if ((rc = uv_loop_init(&c.loop)) != 0) {
    cli_error("compare", "cannot start libuv: %s", uv_strerror(rc));
    goto out;
  }
  uv_signal_init(&c.loop, &c.sigint);
  uv_signal_init(&c.loop, &c.sigterm);
  uv_timer_init(&c.loop, &c.timer);
  c.sigint.data = c.sigterm.data = c.timer.data = &c;
  uv_signal_start(&c.sigint, signal_cb, SIGINT);
  uv_signal_start(&c.sigterm, signal_cb, SIGTERM);
  if (c.tty) uv_timer_start(&c.timer, timer_cb, CMP_PROGRESS_TTY_MS, CMP_PROGRESS_TTY_MS);
  {
    char from[32], to[32];
    cli_format_time(c.inputs[0].from, from, sizeof from);
    cli_format_time(c.inputs[0].to, to, sizeof to);
    fprintf(stderr, "compare: %s, %s to %s, %zu orders, %d combinations x %d seeds = %d runs, "
            "%d at a time\n", c.inputs[0].city.name, from, to, c.inputs[0].n, n_combos(&c),
            a.n_seeds, c.n_runs, c.jobs);
  }
  c.t_start_ns = uv_hrtime();
  launch(&c);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  if (c.tty) progress_draw(&c, 1);
  uv_loop_close(&c.loop);

  int stopped = atomic_load(&c.stop);
  if (!c.failed) {
    if (a.json) {
      if (print_json(&c, base) != 0) c.failed = 1;
    } else if (a.csv) {
      print_csv(&c, base);
    } else {
      print_table(&c, base);
      printf("results: %s (runs %lld-%lld)\n", a.sc.out, (long long)c.run_id_min,
             (long long)c.run_id_max);
    }
    fflush(stdout);
  }
  if (stopped && a.report_dir[0] != '\0') {
    cli_error("compare", "report skipped: the comparison was interrupted ('ridesim report %s "
              "--runs all --run-ids %lld-%lld --out DIR' draws what was kept)",
              a.sc.out, (long long)c.run_id_min, (long long)c.run_id_max);
  } else if (!c.failed && a.report_dir[0] != '\0' && c.run_id_min > 0) {
    run_report_opts ro = {0, c.run_id_min, c.run_id_max, NULL, RIDESIM_VERSION};
    int shown = 0;
    if (run_report_write(a.sc.out, a.report_dir, &ro, &shown, &e) != 0) {
      cli_error("compare", "report: %s", e.msg);
      c.failed = 1;
    } else {
      fprintf(stderr, "compare: report of %d runs in %s/index.html\n", shown, a.report_dir);
    }
  }
  if (stopped) {
    cli_error("compare", "interrupted: %d of %d runs done; results kept in %s", c.done, c.n_runs,
              a.sc.out);
    status = 130;
  } else {
    status = c.failed ? 1 : 0;
  }
out:
  sim_results_close(c.res);
  for (int i = 0; i < c.n_inputs; i++) run_input_free(&c.inputs[i]);
  free(c.inputs);
  free(c.runs);
  free(c.val);
  free(a.seeds);
  return status;
}

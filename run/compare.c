/*
 * compare: the scheduler of a comparison; see compare.h.
 *
 * Threads. Runs execute on libuv's thread pool (uv_queue_work), at most
 * jobs at a time. The calling thread owns the loop and SQLite: launch()
 * begins a run's row there, the worker builds the run (pure memory work,
 * see run/setup.h) and drives it in slices (run_life_drive as a worker),
 * and after_work_cb, back on the calling thread, writes the results, frees
 * the run and launches the next. What a worker shares is read-only (the
 * run_input, the scenario) or atomic (the stop flag, its own simulated-time
 * progress); libuv orders the worker's writes to its run before
 * after_work_cb reads them.
 *
 * Values. val holds [combo][kpi][seed], NaN until the run completes, so a
 * failed or interrupted run drops out of the statistics instead of
 * counting as zero.
 */
#include "run/compare.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "run/lifecycle.h"
#include "run/report.h"
#include "sim/results.h"

/* One run: a (policy, reposition, seed) combination. */
typedef struct {
  uv_work_t req;
  run_compare *cmp;
  int combo;              /* dispatch x reposition index */
  int seed_i;             /* index into the seeds */
  sim_scenario sc;        /* this run's scenario */
  const run_input *in;    /* shared, read-only */
  run_life life;          /* from launch to its write */
  _Atomic int64_t now;    /* simulated time reached (progress) */
  int running;            /* launched and not yet written (calling thread) */
  int rc;                 /* the worker's build failed: its error */
  rs_err err;
} cmp_run;

struct run_compare {
  run_compare_opts o;     /* as given */
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  uv_timer_t timer;
  atomic_int stop;        /* set by a signal: runs stop at their next slice */
  run_input *inputs;      /* one per seed (synthetic) or one shared */
  int n_inputs;           /* loaded so far */
  cmp_run *runs;          /* n_combos x n_seeds, combination order */
  int n_runs;
  int next;               /* next run to launch */
  int in_flight, done;
  int jobs;
  sim_results *res;
  int failed;             /* a run or a write failed: no more launches */
  uint64_t t_start_ns;    /* the first launch */
  int64_t horizon_s;      /* simulated seconds of one run */
  int64_t run_id_min, run_id_max;
  double *val;            /* [combo][kpi][seed] */
};

int run_compare_n_combos(const run_compare *c) { return c->o.n_dispatch * c->o.n_reposition; }

const char *run_compare_dispatch(const run_compare *c, int combo) {
  return c->o.dispatch[combo / c->o.n_reposition];
}

const char *run_compare_reposition(const run_compare *c, int combo) {
  return c->o.reposition[combo % c->o.n_reposition];
}

static double *val_at(const run_compare *c, int combo, int kpi) {
  return c->val + ((size_t)combo * RUN_REPORT_N_KPIS + (size_t)kpi) * (size_t)c->o.n_seeds;
}

const double *run_compare_values(const run_compare *c, int combo, int kpi) {
  return val_at(c, combo, kpi);
}

void run_compare_run_ids(const run_compare *c, int64_t *min, int64_t *max) {
  *min = c->run_id_min;
  *max = c->run_id_max;
}

const run_input *run_compare_input(const run_compare *c) {
  return c->n_inputs > 0 ? &c->inputs[0] : NULL;
}

/* An error for the caller to show: one line through the error hook. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void say(run_compare *c, const char *fmt, ...) {
  if (c->o.hooks.error == NULL) return;
  char msg[sizeof ((rs_err *)0)->msg + 2 * SIM_NAME_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->o.hooks.error(c->o.hooks.arg, msg);
}

int run_compare_new(const run_compare_opts *o, run_compare **out, rs_err *e) {
  *out = NULL;
  run_compare *c = calloc(1, sizeof *c);
  if (c == NULL) return rs_err_set(e, RS_ENOMEM, "out of memory");
  c->o = *o;
  int synthetic = o->sc->trips[0] == '\0';
  size_t n_val = (size_t)run_compare_n_combos(c) * RUN_REPORT_N_KPIS * (size_t)o->n_seeds;
  c->n_runs = run_compare_n_combos(c) * o->n_seeds;
  c->inputs = calloc((size_t)(synthetic ? o->n_seeds : 1), sizeof *c->inputs);
  c->runs = calloc((size_t)c->n_runs, sizeof *c->runs);
  c->val = malloc(n_val * sizeof *c->val);
  if (c->inputs == NULL || c->runs == NULL || c->val == NULL) {
    run_compare_free(c);
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_val; i++) c->val[i] = NAN;
  *out = c;
  return 0;
}

void run_compare_free(run_compare *c) {
  if (c == NULL) return;
  for (int i = 0; i < c->n_runs && c->runs != NULL; i++) run_life_close(&c->runs[i].life);
  sim_results_close(c->res);
  for (int i = 0; i < c->n_inputs; i++) run_input_free(&c->inputs[i]);
  free(c->inputs);
  free(c->runs);
  free(c->val);
  free(c);
}

/* Every policy name is checked before anything is loaded or written. */
int run_compare_check(const run_compare *c, rs_err *e) {
  for (int i = 0; i < run_compare_n_combos(c); i++) {
    sim_scenario sc = *c->o.sc;
    snprintf(sc.dispatch, sizeof sc.dispatch, "%s", run_compare_dispatch(c, i));
    snprintf(sc.reposition, sizeof sc.reposition, "%s", run_compare_reposition(c, i));
    int rc = run_check_policies(&sc, e);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------- workers */

static int worker_stop(void *arg) {
  cmp_run *r = arg;
  return atomic_load(&r->cmp->stop);
}

static void worker_progress(void *arg, int64_t now, int64_t from, int64_t to) {
  (void)from;
  (void)to;
  cmp_run *r = arg;
  atomic_store(&r->now, now);
}

/* Worker thread: build (unless built at launch), then drive to the horizon
 * or the stop flag. */
static void work_cb(uv_work_t *req) {
  cmp_run *r = req->data;
  rs_err_clear(&r->err);
  if ((r->rc = run_life_build(&r->life, &r->err)) != 0) return;
  run_life_drive(&r->life);
}

static void launch(run_compare *c);

static void progress(run_compare *c) {
  if (c->o.hooks.progress != NULL) c->o.hooks.progress(c->o.hooks.arg, c);
}

/* Back on the calling thread: the run's results written (with its cells),
 * its values kept when it completed, the next run launched. */
static void after_work_cb(uv_work_t *req, int status) {
  cmp_run *r = req->data;
  run_compare *c = r->cmp;
  rs_err e;
  rs_err_clear(&e);
  char name[2 * SIM_NAME_MAX + 2];
  if (c->o.n_reposition == 1) snprintf(name, sizeof name, "%s", run_compare_dispatch(c, r->combo));
  else
    snprintf(name, sizeof name, "%s/%s", run_compare_dispatch(c, r->combo),
             run_compare_reposition(c, r->combo));
  if (status != 0 && r->rc == 0)
    r->rc = rs_err_set(&r->err, RS_EINTR, "run cancelled: %s", uv_strerror(status));
  if (r->rc != 0 || !r->life.driven) {
    /* never built (or never run): the row stays 'running', with no results */
    say(c, "%s seed %llu: %s", name, (unsigned long long)r->sc.seed, r->err.msg);
    c->failed = 1;
  } else {
    run_life *l = &r->life;
    run_life_finish(l, &e);
    if (!l->written) {
      say(c, "%s", e.msg);
      c->failed = 1;
    }
    if (l->rc != 0) {
      say(c, "%s seed %llu: %s", name, (unsigned long long)r->sc.seed, l->err.msg);
      c->failed = 1;
    } else if (!l->interrupted) {
      for (int i = 0; i < RUN_REPORT_N_KPIS; i++)
        val_at(c, r->combo, i)[r->seed_i] = run_report_kpi_value(&l->k, l->wall_s, i);
    }
  }
  run_life_close(&r->life);
  r->running = 0;
  c->in_flight--;
  c->done++;
  progress(c);
  launch(c);
}

/* Whether building this run reads a value table file (SQLite). */
static int needs_table(const sim_scenario *sc) { return run_reads_file(sc) != NULL; }

/* Starts runs until jobs are in flight. A run's row is committed
 * ('running') here, on the calling thread, before its worker starts. */
static void launch(run_compare *c) {
  while (!c->failed && !atomic_load(&c->stop) && c->next < c->n_runs &&
         c->in_flight < c->jobs) {
    cmp_run *r = &c->runs[c->next++];
    rs_err e;
    rs_err_clear(&e);
    run_life_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.sc = &r->sc;
    lo.in = r->in;
    lo.res = c->res;
    lo.version = c->o.version;
    lo.cells = 1;
    lo.worker = 1;
    lo.hooks.arg = r;
    lo.hooks.progress = worker_progress;
    lo.hooks.stop = worker_stop;
    run_life_init(&r->life, &lo);
    int rc = run_life_begin(&r->life, &e);
    if (rc == 0 && needs_table(&r->sc)) rc = run_life_build(&r->life, &e);
    if (rc != 0) {
      say(c, "%s", e.msg);
      run_life_close(&r->life);
      c->failed = 1;
      return;
    }
    if (c->run_id_min == 0) c->run_id_min = r->life.run_id;
    c->run_id_max = r->life.run_id;
    atomic_store(&r->now, r->in->from);
    r->running = 1;
    r->req.data = r;
    if ((rc = uv_queue_work(&c->loop, &r->req, work_cb, after_work_cb)) != 0) {
      say(c, "cannot start a worker: %s", uv_strerror(rc));
      run_life_close(&r->life);
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

/* ------------------------------------------------------------ the loop */

void run_compare_state_get(const run_compare *c, run_compare_state *s) {
  s->n_runs = c->n_runs;
  s->done = c->done;
  s->running = c->in_flight;
  s->jobs = c->jobs;
  s->stopped = atomic_load(&c->stop);
  s->failed = c->failed;
  s->elapsed_s = c->t_start_ns ? (double)(uv_hrtime() - c->t_start_ns) / 1e9 : 0;
  /* the simulated work done: finished runs count whole */
  if (c->n_runs == 0 || c->horizon_s <= 0) {
    s->frac = 1;
    return;
  }
  double sim = (double)c->done * (double)c->horizon_s;
  for (int i = 0; i < c->n_runs; i++) {
    const cmp_run *r = &c->runs[i];
    if (r->running) {
      int64_t now = atomic_load(&r->now);
      sim += (double)(now - r->in->from);
    }
  }
  s->frac = sim / ((double)c->n_runs * (double)c->horizon_s);
}

static void timer_cb(uv_timer_t *t) { progress(t->data); }

static void signal_cb(uv_signal_t *h, int signum) {
  run_compare *c = h->data;
  if (!atomic_load(&c->stop) && c->o.hooks.signal != NULL)
    c->o.hooks.signal(c->o.hooks.arg, signum);
  atomic_store(&c->stop, 1);
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

/* The inputs (one per seed for the synthetic city, else one) and the runs'
 * scenarios: the shared one with the day and horizon the first load fixed,
 * each with its policies and seed. */
static int load(run_compare *c, rs_err *e) {
  const run_compare_opts *o = &c->o;
  int synthetic = o->sc->trips[0] == '\0';
  int n = synthetic ? o->n_seeds : 1;
  sim_scenario shared = *o->sc;
  for (int i = 0; i < n; i++) {
    sim_scenario sc = *o->sc;
    if (synthetic) sc.seed = o->seeds[i];
    int rc = run_input_load(&sc, o->city_given, &c->inputs[i], e);
    if (rc != 0) return rc;
    c->n_inputs = i + 1;
    if (i == 0) shared = sc;
  }
  c->horizon_s = c->inputs[0].to - c->inputs[0].from;
  for (int i = 0; i < c->n_runs; i++) {
    cmp_run *r = &c->runs[i];
    r->cmp = c;
    r->combo = i / o->n_seeds;
    r->seed_i = i % o->n_seeds;
    r->sc = shared;
    r->sc.seed = o->seeds[r->seed_i];
    snprintf(r->sc.dispatch, sizeof r->sc.dispatch, "%s", run_compare_dispatch(c, r->combo));
    snprintf(r->sc.reposition, sizeof r->sc.reposition, "%s",
             run_compare_reposition(c, r->combo));
    r->in = &c->inputs[synthetic ? r->seed_i : 0];
  }
  return 0;
}

int run_compare_exec(run_compare *c, rs_err *e) {
  int rc;
  if ((rc = load(c, e)) != 0 || (rc = sim_results_open(c->o.sc->out, &c->res, e)) != 0)
    return rc;
  c->jobs = c->o.jobs > 0 ? c->o.jobs : (int)uv_available_parallelism();
  if (c->jobs < 1) c->jobs = 1;
  if (c->jobs > c->n_runs) c->jobs = c->n_runs;
  size_threadpool(c->jobs);
  if ((rc = uv_loop_init(&c->loop)) != 0)
    return rs_err_set(e, RS_EIO, "cannot start libuv: %s", uv_strerror(rc));
  uv_signal_init(&c->loop, &c->sigint);
  uv_signal_init(&c->loop, &c->sigterm);
  uv_timer_init(&c->loop, &c->timer);
  c->sigint.data = c->sigterm.data = c->timer.data = c;
  uv_signal_start(&c->sigint, signal_cb, SIGINT);
  uv_signal_start(&c->sigterm, signal_cb, SIGTERM);
  if (c->o.progress_ms > 0)
    uv_timer_start(&c->timer, timer_cb, (uint64_t)c->o.progress_ms, (uint64_t)c->o.progress_ms);
  if (c->o.hooks.started != NULL) c->o.hooks.started(c->o.hooks.arg, c);
  c->t_start_ns = uv_hrtime();
  launch(c);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  uv_loop_close(&c->loop);
  return 0;
}

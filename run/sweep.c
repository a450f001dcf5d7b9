/*
 * sweep: the scheduler of many runs; see sweep.h.
 *
 * Threads. Runs execute on libuv's thread pool (uv_queue_work) of jobs
 * threads, at most jobs at a time. Up to twice jobs runs (and input loads)
 * are queued, so a worker that finishes takes the next queued run at once
 * instead of waiting for the calling thread to write its results and
 * launch another (on a busy calling thread those hand-offs left workers
 * idle: 1.71x on 2 cores where the CPU time allows 2.05x). The calling thread owns the loop and SQLite: launch()
 * loads the run's input when it is the first of it, begins the run's row,
 * the worker builds the run (pure memory work, see run/setup.h) and drives
 * it in slices (run_life_drive as a worker), and after_work_cb, back on the
 * calling thread, writes the results, frees the run (and its input when it
 * was the input's last run) and launches the next. What a worker shares is
 * read-only (the run_input, the scenario) or atomic (the stop flag, its own
 * simulated-time progress); libuv orders the worker's writes to its run
 * before after_work_cb reads them.
 *
 * Inputs are found at _new by their identity (run_sweep_input_id): a linear
 * search over those seen, O(runs x inputs) string compares once, which a
 * sweep of thousands of runs over tens of inputs does in microseconds.
 * Rejected: a hash table, for no measurable gain at these sizes.
 */
#include "run/sweep.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "run/lifecycle.h"
#include "sim/results.h"

/* One run. */
typedef struct {
  uv_work_t req;
  run_sweep *sw;
  int item;               /* index into the items */
  sim_scenario sc;        /* this run's scenario: the day and horizon fixed */
  int input;              /* index into the inputs */
  run_life life;          /* from launch to its write */
  _Atomic int64_t now;    /* simulated time reached (progress) */
  int running;            /* launched and not yet written (calling thread) */
  atomic_int started;     /* its worker took it (queued until then) */
  int skipped;            /* completed in the DB already (resume) */
  int rc;                 /* the worker's build failed: its error */
  rs_err err;
} sw_run;

/* One input, shared by the runs of the same trips. */
typedef struct {
  uv_work_t req;          /* its load on a worker */
  run_sweep *sw;
  char id[RUN_SWEEP_INPUT_ID]; /* run_sweep_input_id */
  int first;              /* the first item that uses it */
  run_input in;           /* loaded while loaded != 0 */
  int loaded;
  int loading;            /* its load is on a worker (calling thread's view) */
  int rc;                 /* the worker's load failed: its error */
  rs_err err;
  sim_scenario fixed;     /* the first run's scenario after the load: day, horizon, city */
  int users;              /* runs not yet written that use it */
} sw_input;

struct run_sweep {
  run_sweep_opts o;       /* as given */
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  uv_timer_t timer;
  atomic_int stop;        /* set by a signal: runs stop at their next slice */
  sw_input *inputs;
  int n_inputs;
  sw_run *runs;           /* one per item */
  int next;               /* next item to consider */
  int n_todo;             /* items not skipped */
  int skipped;
  int dropped;            /* incomplete runs of an earlier sweep deleted by resume */
  int in_flight, done;    /* launched (queued or running) and not yet written; written */
  int loading;            /* inputs being loaded on workers */
  int jobs;
  sim_results *res;
  int failed;             /* a run or a write failed: no more launches */
  uint64_t t_start_ns;    /* the first launch */
  int64_t run_id_min, run_id_max;
  const run_input *first_in; /* for the started hook */
};

void run_sweep_input_id(const sim_scenario *sc, char *buf, size_t n) {
  int synthetic = sc->trips[0] == '\0';
  /* the fields run_input_load reads; the factors matter only when given */
  int len = snprintf(buf, n, "%s|%s|%lld|%lld|%lld|%lld|%s|%d|%llu", sc->city, sc->trips,
                     synthetic ? (long long)sc->synthetic_orders : 0LL, (long long)sc->day,
                     (long long)sc->from_s, (long long)sc->to_s, sc->network,
                     sc->network_have_factors,
                     synthetic ? (unsigned long long)sc->seed : 0ULL);
  if (sc->network_have_factors)
    for (int w = 0; w < 2; w++)
      for (int h = 0; h < 24 && len > 0 && (size_t)len < n; h++)
        len += snprintf(buf + len, n - (size_t)len, "|%a", sc->network_factors[w][h]);
}

const run_input *run_sweep_input(const run_sweep *s) { return s->first_in; }

void run_sweep_run_ids(const run_sweep *s, int64_t *min, int64_t *max) {
  *min = s->run_id_min;
  *max = s->run_id_max;
}

int run_sweep_skipped(const run_sweep *s, int i) { return s->runs[i].skipped; }

/* An error for the caller to show: one line through the error hook. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void say(run_sweep *s, const char *fmt, ...) {
  if (s->o.hooks.error == NULL) return;
  char msg[sizeof ((rs_err *)0)->msg + 4 * SIM_NAME_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->o.hooks.error(s->o.hooks.arg, msg);
}

int run_sweep_new(const run_sweep_opts *o, run_sweep **out, rs_err *e) {
  *out = NULL;
  run_sweep *s = calloc(1, sizeof *s);
  if (s == NULL) return rs_err_set(e, RS_ENOMEM, "out of memory");
  s->o = *o;
  int n = o->n_items;
  s->runs = calloc((size_t)(n > 0 ? n : 1), sizeof *s->runs);
  s->inputs = calloc((size_t)(n > 0 ? n : 1), sizeof *s->inputs);
  if (s->runs == NULL || s->inputs == NULL) {
    run_sweep_free(s);
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  }
  char id[RUN_SWEEP_INPUT_ID];
  for (int i = 0; i < n; i++) {
    sw_run *r = &s->runs[i];
    r->sw = s;
    r->item = i;
    r->sc = o->items[i].sc;
    run_sweep_input_id(&r->sc, id, sizeof id);
    int k = 0;
    while (k < s->n_inputs && strcmp(s->inputs[k].id, id) != 0) k++;
    if (k == s->n_inputs) {
      snprintf(s->inputs[k].id, sizeof s->inputs[k].id, "%s", id);
      s->inputs[k].first = i;
      s->n_inputs++;
    }
    r->input = k;
    s->inputs[k].users++;
  }
  s->n_todo = n;
  *out = s;
  return 0;
}

void run_sweep_free(run_sweep *s) {
  if (s == NULL) return;
  for (int i = 0; i < s->o.n_items && s->runs != NULL; i++) run_life_close(&s->runs[i].life);
  sim_results_close(s->res);
  for (int i = 0; i < s->n_inputs; i++)
    if (s->inputs[i].loaded) run_input_free(&s->inputs[i].in);
  free(s->inputs);
  free(s->runs);
  free(s);
}

/* Every policy name is checked before anything is loaded or written. */
int run_sweep_check(const run_sweep *s, rs_err *e) {
  for (int i = 0; i < s->o.n_items; i++) {
    int rc = run_check_policies(&s->o.items[i].sc, e);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------- inputs */

/* Loads input k on the calling thread (the first, before the loop runs),
 * fixing the day and horizon its first run's scenario resolves to. */
static int input_load(run_sweep *s, int k, rs_err *e) {
  sw_input *in = &s->inputs[k];
  if (in->loaded) return 0;
  in->fixed = s->runs[in->first].sc;
  int rc = run_input_load(&in->fixed, s->o.city_given, &in->in, e);
  if (rc == 0) in->loaded = 1;
  return rc;
}

/* One of input k's runs is written: the input goes with its last. */
static void input_release(run_sweep *s, int k) {
  sw_input *in = &s->inputs[k];
  if (--in->users == 0 && in->loaded) {
    run_input_free(&in->in);
    in->loaded = 0;
  }
}

/* The run's scenario with what the load of its input fixed. */
static void fix_scenario(sw_run *r, const sim_scenario *fixed) {
  r->sc.day = fixed->day;
  r->sc.from_s = fixed->from_s;
  r->sc.to_s = fixed->to_s;
  snprintf(r->sc.city, sizeof r->sc.city, "%s", fixed->city);
}

/* ------------------------------------------------------------- workers */

static int worker_stop(void *arg) {
  sw_run *r = arg;
  return atomic_load(&r->sw->stop);
}

static void worker_progress(void *arg, int64_t now, int64_t from, int64_t to) {
  sw_run *r = arg;
  /* the horizon's part done: a warm-up has done none of it, a drain all */
  atomic_store(&r->now, now < from ? from : now > to ? to : now);
}

/* Worker thread: build (unless built at launch), then drive to the horizon
 * or the stop flag. */
static void work_cb(uv_work_t *req) {
  sw_run *r = req->data;
  atomic_store(&r->started, 1);
  rs_err_clear(&r->err);
  if ((r->rc = run_life_build(&r->life, &r->err)) != 0) return;
  run_life_drive(&r->life);
}

static void launch(run_sweep *s);

static void progress(run_sweep *s) {
  if (s->o.hooks.progress != NULL) s->o.hooks.progress(s->o.hooks.arg, s);
}

static const char *label_of(const run_sweep *s, const sw_run *r) {
  const char *l = s->o.items[r->item].label;
  return l != NULL ? l : r->sc.dispatch;
}

/* Back on the calling thread: the run's results written (with its cells),
 * its KPIs handed to the finished hook when it completed, the next run
 * launched. */
static void after_work_cb(uv_work_t *req, int status) {
  sw_run *r = req->data;
  run_sweep *s = r->sw;
  rs_err e;
  rs_err_clear(&e);
  if (status != 0 && r->rc == 0)
    r->rc = rs_err_set(&r->err, RS_EINTR, "run cancelled: %s", uv_strerror(status));
  if (r->rc != 0 || !r->life.driven) {
    /* never built (or never run): the row stays 'running', with no results */
    say(s, "%s seed %llu: %s", label_of(s, r), (unsigned long long)r->sc.seed, r->err.msg);
    s->failed = 1;
  } else {
    run_life *l = &r->life;
    run_life_finish(l, &e);
    if (!l->written) {
      say(s, "%s", e.msg);
      s->failed = 1;
    }
    if (l->rc != 0) {
      say(s, "%s seed %llu: %s", label_of(s, r), (unsigned long long)r->sc.seed, l->err.msg);
      s->failed = 1;
    } else if (!l->interrupted && s->o.hooks.finished != NULL) {
      s->o.hooks.finished(s->o.hooks.arg, r->item, &l->k, l->wall_s);
    }
  }
  run_life_close(&r->life);
  input_release(s, r->input);
  r->running = 0;
  s->in_flight--;
  s->done++;
  progress(s);
  launch(s);
}

/* Whether building this run reads a value table file (SQLite). */
static int needs_table(const sim_scenario *sc) { return run_reads_file(sc) != NULL; }

/* Worker thread: an input's load (its own connection to a trip store). */
static void load_cb(uv_work_t *req) {
  sw_input *in = req->data;
  rs_err_clear(&in->err);
  in->rc = run_input_load(&in->fixed, in->sw->o.city_given, &in->in, &in->err);
}

/* Back on the calling thread: the input is there (or its runs fail), and
 * the runs waiting for it launch. */
static void after_load_cb(uv_work_t *req, int status) {
  sw_input *in = req->data;
  run_sweep *s = in->sw;
  in->loading = 0;
  s->loading--;
  if (status != 0 && in->rc == 0) {
    if (in->in.trips != NULL || in->in.travel.ops != NULL) run_input_free(&in->in);
    in->rc = rs_err_set(&in->err, RS_EINTR, "load cancelled: %s", uv_strerror(status));
  }
  if (in->rc == 0) {
    in->loaded = 1;
    if (in->users == 0) { /* nobody left to use it (a failure stopped the sweep) */
      run_input_free(&in->in);
      in->loaded = 0;
    }
  } else {
    const sw_run *r = &s->runs[in->first];
    say(s, "%s seed %llu: %s", label_of(s, r), (unsigned long long)r->sc.seed, in->err.msg);
    s->failed = 1;
  }
  launch(s);
}

/* Starts loading input k on a worker, unless it is loaded or loading. */
static void start_load(run_sweep *s, int k) {
  sw_input *in = &s->inputs[k];
  if (in->loaded || in->loading || in->rc != 0) return;
  in->sw = s;
  in->fixed = s->runs[in->first].sc;
  in->req.data = in;
  int rc = uv_queue_work(&s->loop, &in->req, load_cb, after_load_cb);
  if (rc != 0) {
    say(s, "cannot start a worker: %s", uv_strerror(rc));
    s->failed = 1;
    return;
  }
  in->loading = 1;
  s->loading++;
}

/* The inputs of the runs to come, loaded ahead on free workers, at most
 * SWEEP_PREFETCH runs ahead: a sweep whose runs are short is not held up
 * by loads on the calling thread. */
#define SWEEP_PREFETCH 64
/* Runs and loads queued on the pool at most: its threads' work and as much
 * again waiting (see "Threads" above). */
#define SWEEP_QUEUED(s) (2 * (s)->jobs)
static void prefetch(run_sweep *s) {
  for (int k = s->next; k < s->o.n_items && k < s->next + SWEEP_PREFETCH; k++) {
    if (s->failed || atomic_load(&s->stop) || s->in_flight + s->loading >= SWEEP_QUEUED(s)) return;
    const sw_run *r = &s->runs[k];
    if (!r->skipped) start_load(s, r->input);
  }
}

/* Starts runs until jobs are in flight, in list order; a run whose input
 * is not loaded yet has its load started and the launches wait for it. A
 * run's row is committed ('running') here, on the calling thread, before
 * its worker starts. */
static void launch(run_sweep *s) {
  while (!s->failed && !atomic_load(&s->stop) && s->next < s->o.n_items &&
         s->in_flight < SWEEP_QUEUED(s)) {
    sw_run *r = &s->runs[s->next++];
    if (r->skipped) continue;
    const run_sweep_item *it = &s->o.items[r->item];
    rs_err e;
    rs_err_clear(&e);
    if (!s->inputs[r->input].loaded) {
      /* runs begin in list order: wait for this one's input */
      s->next--;
      start_load(s, r->input);
      break;
    }
    int rc;
    fix_scenario(r, &s->inputs[r->input].fixed);
    run_life_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.sc = &r->sc;
    lo.in = &s->inputs[r->input].in;
    lo.res = s->res;
    lo.version = s->o.version;
    lo.cells = s->o.cells;
    lo.worker = 1;
    lo.key = it->key;
    lo.key_index = it->index;
    lo.keep = s->o.results;
    lo.hooks.arg = r;
    lo.hooks.progress = worker_progress;
    lo.hooks.stop = worker_stop;
    run_life_init(&r->life, &lo);
    rc = run_life_begin(&r->life, &e);
    if (rc == 0 && needs_table(&r->sc)) rc = run_life_build(&r->life, &e);
    if (rc != 0) {
      say(s, "%s", e.msg);
      run_life_close(&r->life);
      input_release(s, r->input);
      s->done++;
      s->failed = 1;
      break;
    }
    if (s->run_id_min == 0) s->run_id_min = r->life.run_id;
    s->run_id_max = r->life.run_id;
    atomic_store(&r->now, r->life.in->from);
    r->running = 1;
    r->req.data = r;
    if ((rc = uv_queue_work(&s->loop, &r->req, work_cb, after_work_cb)) != 0) {
      say(s, "cannot start a worker: %s", uv_strerror(rc));
      run_life_close(&r->life);
      input_release(s, r->input);
      r->running = 0;
      s->done++;
      s->failed = 1;
      break;
    }
    s->in_flight++;
  }
  prefetch(s);
  if (s->in_flight == 0 && s->loading == 0) {
    /* Nothing left to wait for: let the loop end. */
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
  }
}

/* ------------------------------------------------------------ the loop */

void run_sweep_state_get(const run_sweep *s, run_sweep_state *st) {
  st->n_runs = s->n_todo;
  st->skipped = s->skipped;
  st->dropped = s->dropped;
  st->done = s->done;
  st->running = 0;
  for (int i = 0; i < s->o.n_items; i++)
    st->running += s->runs[i].running && atomic_load(&s->runs[i].started);
  st->jobs = s->jobs;
  st->stopped = atomic_load(&s->stop);
  st->failed = s->failed;
  st->elapsed_s = s->t_start_ns ? (double)(uv_hrtime() - s->t_start_ns) / 1e9 : 0;
  /* the simulated work done: finished runs count whole, running ones by
   * the share of their horizon reached */
  if (s->n_todo == 0) {
    st->frac = 1;
    return;
  }
  double work = (double)s->done;
  for (int i = 0; i < s->o.n_items; i++) {
    const sw_run *r = &s->runs[i];
    if (!r->running) continue;
    const run_input *in = r->life.in;
    if (in == NULL || in->to <= in->from) continue;
    int64_t now = atomic_load(&r->now);
    work += (double)(now - in->from) / (double)(in->to - in->from);
  }
  st->frac = work / (double)s->n_todo;
}

static void timer_cb(uv_timer_t *t) { progress(t->data); }

static void signal_cb(uv_signal_t *h, int signum) {
  run_sweep *s = h->data;
  if (!atomic_load(&s->stop) && s->o.hooks.signal != NULL)
    s->o.hooks.signal(s->o.hooks.arg, signum);
  atomic_store(&s->stop, 1);
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

typedef struct {
  run_sweep *s;
  int marked;
} done_ctx;

/* A key completed in the DB: its items are skipped. */
static int mark_done(void *arg, const char *key, rs_err *e) {
  (void)e;
  done_ctx *d = arg;
  run_sweep *s = d->s;
  for (int i = 0; i < s->o.n_items; i++) {
    const char *k = s->o.items[i].key;
    if (k != NULL && !s->runs[i].skipped && strcmp(k, key) == 0) {
      s->runs[i].skipped = 1;
      d->marked++;
    }
  }
  return 0;
}

/* The plan's claim on the DB and, with resume, what is done already. */
static int resume(run_sweep *s, rs_err *e) {
  int rc;
  if (s->o.plan_id == NULL) return 0;
  if ((rc = sim_results_sweep_claim(s->res, s->o.plan_id, e)) != 0) return rc;
  if (!s->o.resume) return 0;
  if ((rc = sim_results_sweep_drop_incomplete(s->res, &s->dropped, e)) != 0) return rc;
  done_ctx d = {s, 0};
  if ((rc = sim_results_sweep_completed(s->res, mark_done, &d, e)) != 0) return rc;
  s->skipped = d.marked;
  s->n_todo = s->o.n_items - d.marked;
  for (int i = 0; i < s->o.n_items; i++)
    if (s->runs[i].skipped) s->inputs[s->runs[i].input].users--;
  return 0;
}

int run_sweep_exec(run_sweep *s, rs_err *e) {
  int rc;
  if ((rc = sim_results_open(s->o.out, &s->res, e)) != 0 || (rc = resume(s, e)) != 0) return rc;
  /* the first run's input, for the started hook (and to fail early) */
  int first = 0;
  while (first < s->o.n_items && s->runs[first].skipped) first++;
  if (first < s->o.n_items) {
    if ((rc = input_load(s, s->runs[first].input, e)) != 0) return rc;
    s->first_in = &s->inputs[s->runs[first].input].in;
  }
  s->jobs = s->o.jobs > 0 ? s->o.jobs : (int)uv_available_parallelism();
  if (s->jobs < 1) s->jobs = 1;
  if (s->jobs > s->n_todo) s->jobs = s->n_todo > 0 ? s->n_todo : 1;
  size_threadpool(s->jobs);
  if ((rc = uv_loop_init(&s->loop)) != 0)
    return rs_err_set(e, RS_EIO, "cannot start libuv: %s", uv_strerror(rc));
  uv_signal_init(&s->loop, &s->sigint);
  uv_signal_init(&s->loop, &s->sigterm);
  uv_timer_init(&s->loop, &s->timer);
  s->sigint.data = s->sigterm.data = s->timer.data = s;
  uv_signal_start(&s->sigint, signal_cb, SIGINT);
  uv_signal_start(&s->sigterm, signal_cb, SIGTERM);
  if (s->o.progress_ms > 0)
    uv_timer_start(&s->timer, timer_cb, (uint64_t)s->o.progress_ms, (uint64_t)s->o.progress_ms);
  if (s->o.hooks.started != NULL && s->first_in != NULL) s->o.hooks.started(s->o.hooks.arg, s);
  s->t_start_ns = uv_hrtime();
  launch(s);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
  s->first_in = NULL;
  return 0;
}

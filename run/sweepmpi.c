/*
 * sweepmpi: a sweep over MPI ranks; see sweepmpi.h.
 *
 * Messages (MPI_COMM_WORLD), rank r > 0 to rank 0 and back:
 *   r -> 0  TAG_WANT   (no data)       r is free
 *   0 -> r  TAG_RUN    int item        run it; -1: nothing left, stop
 *   r -> 0  TAG_IMAGE  bytes           the run's results DB image
 *   r -> 0  TAG_ERROR  text            the run failed (its message)
 * A rank sends TAG_WANT at its start and again as soon as a run comes, before
 * running it: the answer (its next run) waits in its inbox when the run
 * ends, so it goes on at once, and the image goes out while the next run
 * runs. Messages of one sender arrive in order, so rank 0 knows which run
 * an image is: the older of the two it gave.
 *
 * Rank 0's own runs go through its compute thread, which takes items from
 * the same queue and leaves its image (or error) in a one-slot mailbox the
 * main thread empties: only the main thread calls MPI (MPI_THREAD_FUNNELED)
 * and touches the results DB.
 *
 * Inputs: each rank keeps the last input it loaded and reuses it while the
 * runs it is given share it. Rank 0 hands a rank that asks another run of
 * the input it holds while one is left, else the next run in plan order:
 * runs that share an input but lie apart in the plan (a policy axis over
 * the seeds of the synthetic city: seed k's runs are n/2 items apart) are
 * loaded once, as in a local sweep, not once per run.
 */
#include "run/sweepmpi.h"

#include <stdlib.h>
#include <string.h>

#ifndef RS_HAVE_MPI

int run_sweepmpi_active(void) { return 0; }

int run_sweepmpi_exec(const run_sweep_opts *o, int *rank0, run_sweep_state *st, rs_err *e) {
  (void)o;
  (void)st;
  *rank0 = 1;
  return rs_err_set(e, RS_EINVAL, "this ridesim was built without MPI (meson -Dmpi=enabled)");
}

#else

#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "run/lifecycle.h"
#include "sim/results.h"

enum { TAG_WANT = 1, TAG_RUN, TAG_IMAGE, TAG_ERROR };
#define POLL_NS 1000000L /* 1 ms between polls of a wait */
#define MPI_IMAGE_MAX 0x7fffffff

int run_sweepmpi_active(void) {
  const char *v[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    const char *s = getenv(v[i]);
    if (s != NULL && atoi(s) > 1) return 1;
  }
  return 0;
}

static void nap(void) {
  struct timespec ts = {0, POLL_NS};
  nanosleep(&ts, NULL);
}

/* Waits for a request by polling. */
static void wait_req(MPI_Request *rq, MPI_Status *status) {
  int done = 0;
  MPI_Test(rq, &done, status);
  while (!done) {
    nap();
    MPI_Test(rq, &done, status);
  }
}

/* ------------------------------------------------------------ one run */

/* The input a rank keeps. */
typedef struct {
  char id[RUN_SWEEP_INPUT_ID];
  sim_scenario fixed;     /* the scenario its load fixed */
  run_input in;
  int loaded;
} in_cache;

/* Runs item i into an in-memory results DB and makes its image; or an
 * error with its message. */
static int run_item(const run_sweep_opts *o, int i, in_cache *c, unsigned char **img,
                    size_t *n, rs_err *e) {
  *img = NULL;
  *n = 0;
  const run_sweep_item *it = &o->items[i];
  sim_scenario sc = it->sc;
  char id[RUN_SWEEP_INPUT_ID];
  run_sweep_input_id(&sc, id, sizeof id);
  int rc;
  if (!c->loaded || strcmp(c->id, id) != 0) {
    if (c->loaded) run_input_free(&c->in);
    c->loaded = 0;
    c->fixed = sc;
    if ((rc = run_input_load(&c->fixed, o->city_given, &c->in, e)) != 0) return rc;
    snprintf(c->id, sizeof c->id, "%s", id);
    c->loaded = 1;
  }
  sc.day = c->fixed.day;
  sc.from_s = c->fixed.from_s;
  sc.to_s = c->fixed.to_s;
  snprintf(sc.city, sizeof sc.city, "%s", c->fixed.city);
  sim_results *mem = NULL;
  if ((rc = sim_results_open(":memory:", &mem, e)) != 0) return rc;
  run_life_opts lo;
  memset(&lo, 0, sizeof lo);
  lo.sc = &sc;
  lo.in = &c->in;
  lo.res = mem;
  lo.version = o->version;
  lo.cells = o->cells;
  lo.worker = 1;
  lo.key = it->key;
  lo.key_index = it->index;
  lo.keep = o->results;
  run_life l;
  run_life_init(&l, &lo);
  rc = run_life_exec(&l, e);
  if (rc == 0 && (l.status == NULL || strcmp(l.status, "completed") != 0))
    rc = rs_err_set(e, RS_EINTR, "ended %s", l.status ? l.status : "unwritten");
  run_life_close(&l);
  if (rc == 0) rc = sim_results_image(mem, img, n, e);
  if (rc == 0 && *n > MPI_IMAGE_MAX) {
    sim_results_image_free(*img);
    *img = NULL;
    rc = rs_err_set(e, RS_ENOMEM, "a run's results exceed 2 GB: use --results summary");
  }
  sim_results_close(mem);
  return rc;
}

/* ------------------------------------------------------------ rank 0 */

typedef struct {
  const run_sweep_opts *o;
  int *todo;              /* items to hand out, in plan order */
  int n_todo, next;       /* next: the first of todo perhaps not handed out (under mu) */
  /* inputs: the runs to do grouped by input (run_sweep_input_id), each
   * group in plan order; all under mu */
  int *group;             /* per item: its group, -1 when not to do */
  int *g_items;           /* the items of group g: g_items[g_start[g] ..] */
  int *g_start, *g_head;  /* per group: its first, and its first perhaps not handed out */
  int *g_end;
  char *taken;            /* per item: handed out */
  int *last;              /* per rank: the group of its last run, -1 */
  pthread_mutex_t mu;
  /* the compute thread's mailbox (under mu) */
  int box_full;           /* a result waits */
  int box_rc;             /* its error, 0 */
  unsigned char *box_img; /* its image */
  size_t box_n;
  char box_msg[sizeof ((rs_err *)0)->msg + 256];
  int thread_done;        /* the compute thread ended */
} mpi_rank0;

/* The next item for rank r: another of the input it holds, else the next in
 * plan order; -1 when none is left. */
static int take(mpi_rank0 *z, int r) {
  pthread_mutex_lock(&z->mu);
  int i = -1, g = z->last[r];
  if (g >= 0) {
    while (z->g_head[g] < z->g_end[g] && z->taken[z->g_items[z->g_head[g]]]) z->g_head[g]++;
    if (z->g_head[g] < z->g_end[g]) i = z->g_items[z->g_head[g]];
  }
  if (i < 0) {
    while (z->next < z->n_todo && z->taken[z->todo[z->next]]) z->next++;
    if (z->next < z->n_todo) i = z->todo[z->next];
  }
  if (i >= 0) {
    z->taken[i] = 1;
    z->last[r] = z->group[i];
  }
  pthread_mutex_unlock(&z->mu);
  return i;
}

typedef struct {
  int item;
  char *id; /* its input's identity (run_sweep_input_id) */
} item_input;

static int cmp_item_input(const void *a, const void *b) {
  const item_input *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c != 0 ? c : (x->item > y->item) - (x->item < y->item);
}

/* Groups the runs to do by their input (z->todo set): 0, or RS_ENOMEM. */
static int group_inputs(mpi_rank0 *z, int size, rs_err *e) {
  size_t n = (size_t)z->n_todo + 1, items = (size_t)z->o->n_items + 1;
  item_input *ii = malloc(n * sizeof *ii);
  z->group = malloc(items * sizeof *z->group);
  z->taken = calloc(items, 1);
  z->g_items = malloc(n * sizeof *z->g_items);
  z->g_start = malloc(n * sizeof *z->g_start);
  z->g_head = malloc(n * sizeof *z->g_head);
  z->g_end = malloc(n * sizeof *z->g_end);
  z->last = malloc((size_t)size * sizeof *z->last);
  if (ii == NULL || z->group == NULL || z->taken == NULL || z->g_items == NULL ||
      z->g_start == NULL || z->g_head == NULL || z->g_end == NULL || z->last == NULL) {
    free(ii);
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  }
  char *id = malloc(RUN_SWEEP_INPUT_ID);
  int rc = id == NULL ? RS_ENOMEM : 0;
  for (int k = 0; k < z->n_todo; k++) {
    ii[k].item = z->todo[k];
    ii[k].id = NULL;
    if (rc == 0) {
      run_sweep_input_id(&z->o->items[z->todo[k]].sc, id, RUN_SWEEP_INPUT_ID);
      if ((ii[k].id = strdup(id)) == NULL) rc = RS_ENOMEM;
    }
  }
  free(id);
  if (rc != 0) {
    for (int k = 0; k < z->n_todo; k++) free(ii[k].id);
    free(ii);
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  }
  qsort(ii, (size_t)z->n_todo, sizeof *ii, cmp_item_input);
  for (int i = 0; i < z->o->n_items; i++) z->group[i] = -1;
  int g = -1;
  for (int k = 0; k < z->n_todo; k++) {
    if (k == 0 || strcmp(ii[k].id, ii[k - 1].id) != 0) {
      if (g >= 0) z->g_end[g] = k;
      g++;
      z->g_start[g] = z->g_head[g] = k;
    }
    z->g_items[k] = ii[k].item;
    z->group[ii[k].item] = g;
  }
  if (g >= 0) z->g_end[g] = z->n_todo;
  for (int r = 0; r < size; r++) z->last[r] = -1;
  for (int k = 0; k < z->n_todo; k++) free(ii[k].id);
  free(ii);
  return 0;
}

static void mpi_rank0_free(mpi_rank0 *z) {
  free(z->todo);
  free(z->group);
  free(z->taken);
  free(z->g_items);
  free(z->g_start);
  free(z->g_head);
  free(z->g_end);
  free(z->last);
}

static void *compute(void *arg) {
  mpi_rank0 *z = arg;
  in_cache cache;
  memset(&cache, 0, sizeof cache);
  for (;;) {
    int i = take(z, 0);
    if (i < 0) break;
    unsigned char *img;
    size_t n;
    rs_err e;
    rs_err_clear(&e);
    int rc = run_item(z->o, i, &cache, &img, &n, &e);
    /* wait for an empty mailbox */
    for (;;) {
      pthread_mutex_lock(&z->mu);
      if (!z->box_full) break;
      pthread_mutex_unlock(&z->mu);
      nap();
    }
    z->box_full = 1;
    z->box_rc = rc;
    z->box_img = img;
    z->box_n = n;
    const char *l = z->o->items[i].label;
    snprintf(z->box_msg, sizeof z->box_msg, "%s: %s", l ? l : "run", e.msg);
    pthread_mutex_unlock(&z->mu);
  }
  if (cache.loaded) run_input_free(&cache.in);
  pthread_mutex_lock(&z->mu);
  z->thread_done = 1;
  pthread_mutex_unlock(&z->mu);
  return NULL;
}

static void report(const run_sweep_opts *o, const char *msg) {
  if (o->hooks.error != NULL) o->hooks.error(o->hooks.arg, msg);
}

typedef struct {
  const run_sweep_opts *o;
  char *skip;
  int marked;
} skip_ctx;

static int mark(void *arg, const char *key, rs_err *e) {
  (void)e;
  skip_ctx *s = arg;
  for (int i = 0; i < s->o->n_items; i++)
    if (!s->skip[i] && s->o->items[i].key != NULL && strcmp(s->o->items[i].key, key) == 0) {
      s->skip[i] = 1;
      s->marked++;
    }
  return 0;
}

/* The 'running' row that stands for item i while a rank runs it (0 when it
 * cannot be written: the run then only goes unseen until its results). */
static int64_t hold(const run_sweep_opts *o, sim_results *res, int i) {
  const run_sweep_item *it = &o->items[i];
  char *scen = sim_scenario_to_json(&it->sc);
  int64_t id = 0;
  rs_err e;
  rs_err_clear(&e);
  if (scen != NULL && sim_results_begin_run_key(res, it->key ? it->key : "", it->index, scen,
                                                it->sc.seed, o->version ? o->version : "unknown",
                                                it->sc.dispatch, it->sc.reposition, 0, 0, &id,
                                                &e) != 0) {
    report(o, e.msg);
    id = 0;
  }
  free(scen);
  return id;
}

/* The stand-in row of a run whose results (or error) came. */
static void release(const run_sweep_opts *o, sim_results *res, int64_t id) {
  rs_err e;
  rs_err_clear(&e);
  if (id != 0 && sim_results_drop_run(res, id, &e) != 0) report(o, e.msg);
}

/* A result in: merged into the DB (image) or reported (error). */
static void absorb(const run_sweep_opts *o, sim_results *res, int rc, const unsigned char *img,
                   size_t n, const char *msg, run_sweep_state *st) {
  rs_err e;
  rs_err_clear(&e);
  st->done++;
  if (rc != 0) {
    report(o, msg);
    st->failed = 1;
  } else if (sim_results_absorb(res, img, n, NULL, &e) != 0) {
    report(o, e.msg);
    st->failed = 1;
  }
}

static int rank0_exec(const run_sweep_opts *o, int size, run_sweep_state *st, rs_err *e) {
  sim_results *res = NULL;
  mpi_rank0 z;
  memset(&z, 0, sizeof z);
  z.o = o;
  char *skip = calloc((size_t)o->n_items + 1, 1);
  z.todo = malloc(((size_t)o->n_items + 1) * sizeof *z.todo);
  int rc = skip == NULL || z.todo == NULL ? rs_err_set(e, RS_ENOMEM, "out of memory") : 0;
  if (rc == 0) rc = sim_results_open(o->out, &res, e);
  if (rc == 0 && o->plan_id != NULL) rc = sim_results_sweep_claim(res, o->plan_id, e);
  skip_ctx sk = {o, skip, 0};
  if (rc == 0 && o->resume) rc = sim_results_sweep_drop_incomplete(res, &st->dropped, e);
  if (rc == 0 && o->resume) rc = sim_results_sweep_completed(res, mark, &sk, e);
  if (rc == 0) {
    for (int i = 0; i < o->n_items; i++)
      if (!skip[i]) z.todo[z.n_todo++] = i;
    rc = group_inputs(&z, size, e);
  }
  if (rc != 0) {
    /* tell the others to stop */
    int stop = -1;
    for (int r = 1; r < size; r++) MPI_Send(&stop, 1, MPI_INT, r, TAG_RUN, MPI_COMM_WORLD);
    sim_results_close(res);
    free(skip);
    mpi_rank0_free(&z);
    return rc;
  }
  st->n_runs = z.n_todo;
  st->skipped = sk.marked;
  st->jobs = size;
  pthread_mutex_init(&z.mu, NULL);
  pthread_t th;
  int have_thread = pthread_create(&th, NULL, compute, &z) == 0;
  if (!have_thread) z.thread_done = 1;
  /* each rank's run in flight shows in the DB as a 'running' row until its
   * results arrive: a rank that dies leaves its run visibly incomplete */
  int64_t *held = calloc((size_t)size, sizeof *held);
  int *queued = malloc((size_t)size * sizeof *queued); /* per rank: its next run, -1 */
  if (queued != NULL)
    for (int r = 0; r < size; r++) queued[r] = -1;
  if (held == NULL || queued == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "out of memory");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  int active = size - 1; /* ranks not yet told to stop */
  int busy = 0;          /* ranks running a run */
  while (active > 0 || busy > 0 || !z.thread_done || z.box_full) {
    int did = 0, flag = 0;
    MPI_Status ms;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ms);
    if (flag) {
      did = 1;
      int src = ms.MPI_SOURCE, count = 0;
      if (ms.MPI_TAG == TAG_WANT) {
        MPI_Recv(NULL, 0, MPI_BYTE, src, TAG_WANT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int i = take(&z, src);
        /* the run it is running holds a row; the next gets one when it starts */
        if (i >= 0 && held[src] == 0) held[src] = hold(o, res, i);
        else if (i >= 0) queued[src] = i;
        MPI_Send(&i, 1, MPI_INT, src, TAG_RUN, MPI_COMM_WORLD);
        if (i < 0) active--;
        else busy++;
      } else {
        MPI_Get_count(&ms, MPI_BYTE, &count);
        unsigned char *buf = malloc((size_t)count + 1);
        if (buf == NULL) {
          rc = rs_err_set(e, RS_ENOMEM, "out of memory for a run's results");
          MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Recv(buf, count, MPI_BYTE, src, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        buf[count] = '\0';
        busy--;
        if (ms.MPI_TAG == TAG_IMAGE) absorb(o, res, 0, buf, (size_t)count, NULL, st);
        else absorb(o, res, 1, NULL, 0, (const char *)buf, st);
        free(buf);
        release(o, res, held[src]);
        held[src] = queued[src] >= 0 ? hold(o, res, queued[src]) : 0;
        queued[src] = -1;
      }
    }
    pthread_mutex_lock(&z.mu);
    if (z.box_full) {
      did = 1;
      absorb(o, res, z.box_rc, z.box_img, z.box_n, z.box_msg, st);
      sim_results_image_free(z.box_img);
      z.box_img = NULL;
      z.box_full = 0;
    }
    pthread_mutex_unlock(&z.mu);
    if (!did) nap();
  }
  if (have_thread) pthread_join(th, NULL);
  pthread_mutex_destroy(&z.mu);
  free(held);
  free(queued);
  sim_results_close(res);
  free(skip);
  mpi_rank0_free(&z);
  return 0;
}

/* ------------------------------------------------------------ ranks > 0 */

/* A result on its way to rank 0: its buffer lives until the send completes. */
typedef struct {
  MPI_Request rq;
  int active;
  unsigned char *img; /* an image (freed by sim_results_image_free) */
  char msg[sizeof ((rs_err *)0)->msg + 300]; /* or an error's message */
} outgoing;

static void outgoing_finish(outgoing *out) {
  if (!out->active) return;
  wait_req(&out->rq, MPI_STATUS_IGNORE);
  sim_results_image_free(out->img);
  out->img = NULL;
  out->active = 0;
}

static void worker(const run_sweep_opts *o) {
  in_cache cache;
  memset(&cache, 0, sizeof cache);
  outgoing *out = calloc(1, sizeof *out);
  if (out == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Request rq;
  int i = -1;
  MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_WANT, MPI_COMM_WORLD);
  MPI_Irecv(&i, 1, MPI_INT, 0, TAG_RUN, MPI_COMM_WORLD, &rq);
  wait_req(&rq, MPI_STATUS_IGNORE);
  while (i >= 0 && i < o->n_items) {
    int next = -1;
    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_WANT, MPI_COMM_WORLD);
    MPI_Irecv(&next, 1, MPI_INT, 0, TAG_RUN, MPI_COMM_WORLD, &rq);
    unsigned char *img;
    size_t n;
    rs_err e;
    rs_err_clear(&e);
    int rc = run_item(o, i, &cache, &img, &n, &e);
    outgoing_finish(out);
    if (rc == 0) {
      out->img = img;
      MPI_Isend(img, (int)n, MPI_BYTE, 0, TAG_IMAGE, MPI_COMM_WORLD, &out->rq);
    } else {
      const char *l = o->items[i].label;
      int len = snprintf(out->msg, sizeof out->msg, "%s: %s", l ? l : "run", e.msg);
      if (len < 0 || (size_t)len >= sizeof out->msg) len = (int)sizeof out->msg - 1;
      MPI_Isend(out->msg, len, MPI_BYTE, 0, TAG_ERROR, MPI_COMM_WORLD, &out->rq);
    }
    out->active = 1;
    wait_req(&rq, MPI_STATUS_IGNORE);
    i = next;
  }
  outgoing_finish(out);
  free(out);
  if (cache.loaded) run_input_free(&cache.in);
}

int run_sweepmpi_exec(const run_sweep_opts *o, int *rank0, run_sweep_state *st, rs_err *e) {
  memset(st, 0, sizeof *st);
  int provided = 0, rank = 0, size = 1;
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return rs_err_set(e, RS_EIO, "cannot start MPI");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  *rank0 = rank == 0;
  int rc = 0;
  if (rank == 0) rc = rank0_exec(o, size, st, e);
  else worker(o);
  MPI_Finalize();
  return rc;
}

#endif

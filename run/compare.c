/*
 * compare: the comparison of policies over seeds, a sweep of its
 * combinations; see compare.h.
 *
 * The runs are run/sweep.h's: this file lays out the (combination, seed)
 * runs in the order compare.h states, hands them to a sweep and keeps each
 * completed run's KPIs.
 *
 * Values. val holds [combo][kpi][seed], NaN until the run completes, so a
 * failed or interrupted run drops out of the statistics instead of
 * counting as zero.
 */
#include "run/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/report.h"
#include "run/sweep.h"

struct run_compare {
  run_compare_opts o;     /* as given */
  run_sweep_item *items;  /* n_combos x n_seeds, combination order */
  char (*labels)[2 * SIM_NAME_MAX + 2]; /* each run's combination, for messages */
  int n_runs;
  run_sweep *sw;
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
  run_sweep_run_ids(c->sw, min, max);
}

const run_input *run_compare_input(const run_compare *c) { return run_sweep_input(c->sw); }

void run_compare_state_get(const run_compare *c, run_compare_state *s) {
  run_sweep_state_get(c->sw, s);
}

/* The sweep's hooks, handed on with the comparison. */
static void on_started(void *arg, const run_sweep *s) {
  (void)s;
  run_compare *c = arg;
  if (c->o.hooks.started != NULL) c->o.hooks.started(c->o.hooks.arg, c);
}

static void on_progress(void *arg, const run_sweep *s) {
  (void)s;
  run_compare *c = arg;
  if (c->o.hooks.progress != NULL) c->o.hooks.progress(c->o.hooks.arg, c);
}

static void on_error(void *arg, const char *msg) {
  run_compare *c = arg;
  if (c->o.hooks.error != NULL) c->o.hooks.error(c->o.hooks.arg, msg);
}

static void on_signal(void *arg, int signum) {
  run_compare *c = arg;
  if (c->o.hooks.signal != NULL) c->o.hooks.signal(c->o.hooks.arg, signum);
}

/* Run j is combination j / n_seeds with seed j % n_seeds. */
static void on_finished(void *arg, int j, const sim_kpis *k, double wall_s) {
  run_compare *c = arg;
  for (int i = 0; i < RUN_REPORT_N_KPIS; i++)
    val_at(c, j / c->o.n_seeds, i)[j % c->o.n_seeds] = run_report_kpi_value(k, wall_s, i);
}

int run_compare_new(const run_compare_opts *o, run_compare **out, rs_err *e) {
  *out = NULL;
  run_compare *c = calloc(1, sizeof *c);
  if (c == NULL) return rs_err_set(e, RS_ENOMEM, "out of memory");
  c->o = *o;
  size_t n_val = (size_t)run_compare_n_combos(c) * RUN_REPORT_N_KPIS * (size_t)o->n_seeds;
  c->n_runs = run_compare_n_combos(c) * o->n_seeds;
  c->items = calloc((size_t)(c->n_runs > 0 ? c->n_runs : 1), sizeof *c->items);
  c->labels = calloc((size_t)(c->n_runs > 0 ? c->n_runs : 1), sizeof *c->labels);
  c->val = malloc((n_val ? n_val : 1) * sizeof *c->val);
  if (c->items == NULL || c->labels == NULL || c->val == NULL) {
    run_compare_free(c);
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_val; i++) c->val[i] = NAN;
  for (int j = 0; j < c->n_runs; j++) {
    int combo = j / o->n_seeds;
    run_sweep_item *it = &c->items[j];
    it->sc = *o->sc;
    it->sc.seed = o->seeds[j % o->n_seeds];
    snprintf(it->sc.dispatch, sizeof it->sc.dispatch, "%s", run_compare_dispatch(c, combo));
    snprintf(it->sc.reposition, sizeof it->sc.reposition, "%s",
             run_compare_reposition(c, combo));
    if (o->n_reposition == 1) snprintf(c->labels[j], sizeof c->labels[j], "%s", it->sc.dispatch);
    else
      snprintf(c->labels[j], sizeof c->labels[j], "%s/%s", it->sc.dispatch, it->sc.reposition);
    it->label = c->labels[j];
    it->index = j;
  }
  run_sweep_opts so;
  memset(&so, 0, sizeof so);
  so.items = c->items;
  so.n_items = c->n_runs;
  so.out = o->sc->out;
  so.city_given = o->city_given;
  so.jobs = o->jobs;
  so.version = o->version;
  so.progress_ms = o->progress_ms;
  so.cells = 1;
  so.hooks = (run_sweep_hooks){c, on_started, on_progress, on_finished, on_error, on_signal};
  int rc = run_sweep_new(&so, &c->sw, e);
  if (rc != 0) {
    run_compare_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void run_compare_free(run_compare *c) {
  if (c == NULL) return;
  run_sweep_free(c->sw);
  free(c->items);
  free(c->labels);
  free(c->val);
  free(c);
}

/* Every policy name is checked before anything is loaded or written. */
int run_compare_check(const run_compare *c, rs_err *e) { return run_sweep_check(c->sw, e); }

int run_compare_exec(run_compare *c, rs_err *e) { return run_sweep_exec(c->sw, e); }

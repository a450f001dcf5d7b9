/*
 * sweepstat: a sweep's statistics read back from its DB; see sweepstat.h.
 *
 * Layout. Each group lists its combinations in the order of their first
 * run in the plan, and its pairs likewise; values are [combo][kpi][pair].
 * The plan's runs are found by key through one sorted index (O(log n) per
 * DB row).
 */
#include "run/sweepstat.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/report.h"
#include "sim/results.h"

typedef struct {
  char label[RUN_PLAN_LABEL];  /* the plan's */
  int *combo_run;         /* a run of each combination (its names) */
  int n_combos;
  int *pair_run;          /* a run of each pair (its label) */
  int n_pairs;
  int n_repo;             /* distinct repositioning policies */
  int base;               /* the baseline combination, -1 */
  double *val;            /* [combo][kpi][pair] */
} sw_group;

struct run_sweep_stats {
  const run_plan *p;
  sw_group *g;
  int n_groups;
  int *run_combo, *run_pair; /* per plan run */
  const run_plan_run **by_key; /* plan runs sorted by key */
  int completed;
  int64_t id_min, id_max;
};

static int cmp_by_key(const void *a, const void *b) {
  return strcmp((*(const run_plan_run *const *)a)->key, (*(const run_plan_run *const *)b)->key);
}

void run_sweep_stats_free(run_sweep_stats *s) {
  if (s == NULL) return;
  for (int g = 0; g < s->n_groups; g++) {
    free(s->g[g].combo_run);
    free(s->g[g].pair_run);
    free(s->g[g].val);
  }
  free(s->g);
  free(s->run_combo);
  free(s->run_pair);
  free(s->by_key);
  free(s);
}

static double *val_at(const sw_group *g, int combo, int kpi) {
  return g->val + ((size_t)combo * RUN_REPORT_N_KPIS + (size_t)kpi) * (size_t)g->n_pairs;
}

/* Lays out the groups' combinations and pairs. */
static int layout(run_sweep_stats *s, rs_err *e) {
  const run_plan *p = s->p;
  s->n_groups = p->n_groups;
  s->g = calloc((size_t)p->n_groups, sizeof *s->g);
  s->run_combo = malloc((size_t)p->n_runs * sizeof *s->run_combo);
  s->run_pair = malloc((size_t)p->n_runs * sizeof *s->run_pair);
  s->by_key = malloc((size_t)p->n_runs * sizeof *s->by_key);
  if (s->g == NULL || s->run_combo == NULL || s->run_pair == NULL || s->by_key == NULL)
    return rs_err_set(e, RS_ENOMEM, "sweep: out of memory");
  for (int g = 0; g < p->n_groups; g++) {
    snprintf(s->g[g].label, sizeof s->g[g].label, "%s", p->groups[g]);
    s->g[g].combo_run = malloc((size_t)p->n_runs * sizeof(int));
    s->g[g].pair_run = malloc((size_t)p->n_runs * sizeof(int));
    s->g[g].base = -1;
    if (s->g[g].combo_run == NULL || s->g[g].pair_run == NULL)
      return rs_err_set(e, RS_ENOMEM, "sweep: out of memory");
  }
  for (int i = 0; i < p->n_runs; i++) {
    const run_plan_run *r = &p->runs[i];
    sw_group *g = &s->g[r->group];
    int c = 0;
    while (c < g->n_combos &&
           (strcmp(p->runs[g->combo_run[c]].sc.dispatch, r->sc.dispatch) != 0 ||
            strcmp(p->runs[g->combo_run[c]].sc.reposition, r->sc.reposition) != 0))
      c++;
    if (c == g->n_combos) {
      g->combo_run[g->n_combos++] = i;
      if (strcmp(r->sc.dispatch, p->base_dispatch) == 0 &&
          strcmp(r->sc.reposition, p->base_reposition) == 0)
        g->base = c;
      int seen = 0;
      for (int k = 0; k < c; k++)
        seen |= strcmp(p->runs[g->combo_run[k]].sc.reposition, r->sc.reposition) == 0;
      if (!seen) g->n_repo++;
    }
    int q = 0;
    while (q < g->n_pairs && strcmp(p->runs[g->pair_run[q]].pair, r->pair) != 0) q++;
    if (q == g->n_pairs) g->pair_run[g->n_pairs++] = i;
    s->run_combo[i] = c;
    s->run_pair[i] = q;
    s->by_key[i] = r;
  }
  for (int g = 0; g < p->n_groups; g++) {
    sw_group *gr = &s->g[g];
    size_t n = (size_t)gr->n_combos * RUN_REPORT_N_KPIS * (size_t)gr->n_pairs;
    gr->val = malloc((n ? n : 1) * sizeof *gr->val);
    if (gr->val == NULL) return rs_err_set(e, RS_ENOMEM, "sweep: out of memory");
    for (size_t k = 0; k < n; k++) gr->val[k] = NAN;
  }
  qsort(s->by_key, (size_t)p->n_runs, sizeof *s->by_key, cmp_by_key);
  return 0;
}

/* One completed run of the DB: its KPIs into its plan run's place. */
static int add_row(void *arg, const sim_results_sweep_run *row, rs_err *e) {
  run_sweep_stats *s = arg;
  const run_plan *p = s->p;
  size_t lo = 0, hi = (size_t)p->n_runs;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(s->by_key[mid]->key, row->key) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo == (size_t)p->n_runs || strcmp(s->by_key[lo]->key, row->key) != 0) return 0;
  int i = s->by_key[lo]->index;
  sw_group *g = &s->g[p->runs[i].group];
  cJSON *k = row->kpis ? cJSON_Parse(row->kpis) : NULL;
  if (k == NULL) return rs_err_set(e, RS_EFORMAT, "run %lld: unreadable KPIs", (long long)row->id);
  int first = isnan(val_at(g, s->run_combo[i], 0)[s->run_pair[i]]);
  for (int x = 0; x < RUN_REPORT_N_KPIS; x++) {
    double v;
    if (run_report_kpi(x)->src == SIM_KPI_SRC_RUN) {
      v = row->wall_s;
    } else {
      cJSON *it = cJSON_GetObjectItemCaseSensitive(k, run_report_kpi(x)->key);
      v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
    }
    val_at(g, s->run_combo[i], x)[s->run_pair[i]] = v;
  }
  cJSON_Delete(k);
  if (first) s->completed++;
  if (s->id_min == 0 || row->id < s->id_min) s->id_min = row->id;
  if (row->id > s->id_max) s->id_max = row->id;
  return 0;
}

int run_sweep_stats_read(const run_plan *p, const char *db_path, run_sweep_stats **out,
                         rs_err *e) {
  *out = NULL;
  run_sweep_stats *s = calloc(1, sizeof *s);
  if (s == NULL) return rs_err_set(e, RS_ENOMEM, "sweep: out of memory");
  s->p = p;
  sim_results *db = NULL;
  char plan[64];
  int rc = layout(s, e);
  if (rc == 0) rc = sim_results_open_read(db_path, &db, e);
  if (rc == 0) rc = sim_results_sweep_plan(db, plan, sizeof plan, e);
  if (rc == 0 && plan[0] != '\0' && strcmp(plan, p->id) != 0)
    rc = rs_err_set(e, RS_EINVAL, "%s holds the runs of plan %s, not of this plan (%s)", db_path,
                    plan, p->id);
  if (rc == 0) rc = sim_results_sweep_read(db, add_row, s, e);
  sim_results_close(db);
  if (rc != 0) {
    run_sweep_stats_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int run_sweep_stats_completed(const run_sweep_stats *s) { return s->completed; }

void run_sweep_stats_ids(const run_sweep_stats *s, int64_t *min, int64_t *max) {
  *min = s->id_min;
  *max = s->id_max;
}

int run_sweep_stats_n_groups(const run_sweep_stats *s) { return s->n_groups; }
const char *run_sweep_stats_group(const run_sweep_stats *s, int g) { return s->g[g].label; }
int run_sweep_stats_n_combos(const run_sweep_stats *s, int g) { return s->g[g].n_combos; }

const char *run_sweep_stats_dispatch(const run_sweep_stats *s, int g, int combo) {
  return s->p->runs[s->g[g].combo_run[combo]].sc.dispatch;
}

const char *run_sweep_stats_reposition(const run_sweep_stats *s, int g, int combo) {
  return s->p->runs[s->g[g].combo_run[combo]].sc.reposition;
}

int run_sweep_stats_base(const run_sweep_stats *s, int g) { return s->g[g].base; }
int run_sweep_stats_n_reposition(const run_sweep_stats *s, int g) { return s->g[g].n_repo; }
int run_sweep_stats_n_pairs(const run_sweep_stats *s, int g) { return s->g[g].n_pairs; }

const char *run_sweep_stats_pair(const run_sweep_stats *s, int g, int i) {
  return s->p->runs[s->g[g].pair_run[i]].pair;
}

const double *run_sweep_stats_values(const run_sweep_stats *s, int g, int combo, int kpi) {
  return val_at(&s->g[g], combo, kpi);
}

/*
 * report: the comparison page; see report.h.
 *
 * The page is built in one pass over a read-only handle on the results DB
 * (sim_results_open_read; every query is results.c's): the runs (their
 * KPIs as JSON in runs.kpis), grouped by policy combination in the order of
 * their first run; then per group the 5-minute series, the pickup distances
 * and the unserved cells, each averaged over the group's runs (seeds).
 * Memory is O(groups x (windows + bins + cells)); the orders are streamed,
 * never held.
 *
 * Drawing goes through the chart kit (run/svg.h); this file decides what is
 * drawn: which KPIs get bars, the series through the day, the histogram's
 * bins, the maps. Text from the DB (policy names, paths) is escaped.
 *
 * The page goes to index.html.tmp and is renamed into place at the end, so
 * a failed write never leaves a truncated index.html.
 */
#include "run/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "city_data/city.h"
#include "run/stats.h"
#include "run/svg.h"
#include "sim/results.h"
#include "sim/scenario.h"
#include "value/vstore.h"

/* ---------------------------------------------------------------- KPIs */

const sim_kpi_def *run_report_kpi(int i) {
  return sim_kpi_def_of(sim_kpi_view_id(SIM_KPI_VIEW_COMPARE, i));
}

double run_report_kpi_value(const sim_kpis *k, double wall_s, int i) {
  return sim_kpi_value(k, wall_s, sim_kpi_view_id(SIM_KPI_VIEW_COMPARE, i));
}

/* --------------------------------------------------------- the runs read */

#define RP_WINDOW_S SIM_SERIES_WINDOW_S
#define RP_MAX_BINS 60          /* pickup histogram bins */
#define RP_MAX_WINDOWS 2016     /* a week of 5-minute windows */

typedef struct {
  int64_t id;
  uint64_t seed;
  int64_t t_from, t_to;
  double kpi[RUN_REPORT_N_KPIS];
  double orders, drivers;
  int group;
  char *key;        /* the experiment: scenario without seed, policies, out */
  char *scenario;   /* as stored */
} rp_run;

typedef struct {
  char dispatch[SIM_NAME_MAX], repo[SIM_NAME_MAX];
  char name[2 * SIM_NAME_MAX + 2];
  int n;                       /* runs */
  double *vals;                /* [kpi][run]: KPI values of its runs, by seed order */
  uint64_t *seeds;             /* of its runs */
  int64_t *run_ids;
  /* through the day, per window: sums over runs and counts */
  double *ar_sum, *inc_sum;
  int32_t *ar_n, *inc_n;
  /* pickup distance histogram: matched orders per bin, all runs pooled */
  double bins[RP_MAX_BINS];
  double bins_total;
} rp_group;

typedef struct {
  int32_t cell, q, r;
  double lat, lng, edge_m;
  double *unserved;            /* per group: sum over its runs */
  double *requests;
  int seen;
} rp_cell;

typedef struct {
  sim_results *db;             /* read-only */
  const char *path;
  rp_run *runs;
  int n_runs;
  size_t runs_cap;             /* runs allocated */
  rp_group *groups;
  int n_groups;
  int64_t t_from, t_to;
  int n_windows;
  double bin_w;                /* pickup histogram bin width, metres */
  int n_bins;
  rp_cell *cells;              /* indexed by cell id; seen marks presence */
  int32_t n_cells;             /* array length (max cell id + 1) */
  size_t cells_cap;            /* cells allocated */
  int has_cells;               /* the side table exists and has rows */
} rp_data;

/* The experiment key of a scenario: its JSON without the fields that vary
 * inside a comparison. NULL on a malformed scenario. */
static char *experiment_key(const char *scenario) {
  cJSON *j = cJSON_Parse(scenario);
  if (j == NULL) return NULL;
  cJSON_DeleteItemFromObject(j, "seed");
  cJSON_DeleteItemFromObject(j, "dispatch");
  cJSON_DeleteItemFromObject(j, "reposition");
  cJSON_DeleteItemFromObject(j, "out");
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return s;
}

static void rp_free(rp_data *d) {
  for (int i = 0; i < d->n_runs; i++) {
    free(d->runs[i].key);
    free(d->runs[i].scenario);
  }
  free(d->runs);
  for (int g = 0; g < d->n_groups; g++) {
    rp_group *G = &d->groups[g];
    free(G->vals);
    free(G->seeds);
    free(G->run_ids);
    free(G->ar_sum);
    free(G->inc_sum);
    free(G->ar_n);
    free(G->inc_n);
  }
  free(d->groups);
  for (int32_t c = 0; c < d->n_cells; c++) {
    free(d->cells[c].unserved);
    free(d->cells[c].requests);
  }
  free(d->cells);
  sim_results_close(d->db);
}

/* One run read: its KPIs from runs.kpis (wall time from its column), its
 * scenario and experiment key. */
static int add_run(void *arg, const sim_results_run *row, rs_err *e) {
  rp_data *d = arg;
  if (rs_vec_grow(d->runs, d->runs_cap, (size_t)d->n_runs + 1))
    return rs_err_set(e, RS_ENOMEM, "report: out of memory");
  rp_run *r = &d->runs[d->n_runs];
  memset(r, 0, sizeof *r);
  r->id = row->id;
  r->seed = row->seed;
  r->t_from = row->t_from;
  r->t_to = row->t_to;
  const char *sj = row->scenario;
  r->scenario = strdup(sj ? sj : "{}");
  r->key = experiment_key(sj ? sj : "{}");
  if (r->scenario == NULL || r->key == NULL) {
    free(r->scenario);
    free(r->key);
    return rs_err_set(e, RS_EFORMAT, "%s: run %lld: unreadable scenario", d->path,
                      (long long)r->id);
  }
  d->n_runs++;
  cJSON *k = row->kpis ? cJSON_Parse(row->kpis) : NULL;
  for (int i = 0; i < RUN_REPORT_N_KPIS; i++) {
    if (run_report_kpi(i)->src == SIM_KPI_SRC_RUN) { /* the wall time */
      r->kpi[i] = row->wall_s;
      continue;
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(k, run_report_kpi(i)->key);
    r->kpi[i] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  }
  cJSON *v = cJSON_GetObjectItemCaseSensitive(k, "orders");
  r->orders = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  v = cJSON_GetObjectItemCaseSensitive(k, "drivers");
  r->drivers = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  cJSON_Delete(k);
  return 0;
}

static int load_runs(rp_data *d, const run_report_opts *o, rs_err *e) {
  int rc = sim_results_read_runs(d->db, o->all_runs, o->run_min, o->run_max, add_run, d, e);
  if (rc != 0) return rc;
  if (d->n_runs == 0) return 0;
  /* Without a range: only the experiment of the most recent run. */
  if (o->run_min == 0) {
    const char *key = d->runs[d->n_runs - 1].key;
    int k = 0;
    for (int i = 0; i < d->n_runs; i++) {
      if (strcmp(d->runs[i].key, key) == 0) {
        d->runs[k++] = d->runs[i];
      } else {
        free(d->runs[i].key);
        free(d->runs[i].scenario);
      }
    }
    d->n_runs = k;
  }
  return 0;
}

/* Policy names of a run, from its scenario (the runs row has them too, but
 * this keeps one source). */
static void run_policies(const rp_run *r, char *dn, char *rn) {
  cJSON *j = cJSON_Parse(r->scenario);
  cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "dispatch");
  cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "reposition");
  snprintf(dn, SIM_NAME_MAX, "%s", cJSON_IsString(a) ? a->valuestring : "?");
  snprintf(rn, SIM_NAME_MAX, "%s", cJSON_IsString(b) ? b->valuestring : "?");
  cJSON_Delete(j);
}

/* A comparison repeated into the same DB repeats (policies, seed): only the
 * latest run of each counts, so no seed weighs twice. */
static int drop_repeats(rp_data *d, rs_err *e) {
  char (*names)[2 * SIM_NAME_MAX + 2] = malloc((size_t)d->n_runs * sizeof *names);
  if (names == NULL) return rs_err_set(e, RS_ENOMEM, "report: out of memory");
  for (int i = 0; i < d->n_runs; i++) {
    char dn[SIM_NAME_MAX], rn[SIM_NAME_MAX];
    run_policies(&d->runs[i], dn, rn);
    snprintf(names[i], sizeof names[i], "%s/%s", dn, rn);
  }
  int k = 0;
  for (int i = 0; i < d->n_runs; i++) {
    int later = 0;
    for (int j = i + 1; j < d->n_runs && !later; j++)
      later = d->runs[j].seed == d->runs[i].seed && strcmp(names[j], names[i]) == 0;
    if (later) {
      free(d->runs[i].key);
      free(d->runs[i].scenario);
    } else {
      d->runs[k++] = d->runs[i];
    }
  }
  d->n_runs = k;
  free(names);
  return 0;
}

static int make_groups(rp_data *d, rs_err *e) {
  int rc = drop_repeats(d, e);
  if (rc) return rc;
  d->groups = calloc((size_t)d->n_runs, sizeof *d->groups);
  if (d->groups == NULL) return rs_err_set(e, RS_ENOMEM, "report: out of memory");
  for (int i = 0; i < d->n_runs; i++) {
    char dn[SIM_NAME_MAX], rn[SIM_NAME_MAX];
    run_policies(&d->runs[i], dn, rn);
    int g;
    for (g = 0; g < d->n_groups; g++)
      if (strcmp(d->groups[g].dispatch, dn) == 0 && strcmp(d->groups[g].repo, rn) == 0) break;
    if (g == d->n_groups) {
      snprintf(d->groups[g].dispatch, SIM_NAME_MAX, "%s", dn);
      snprintf(d->groups[g].repo, SIM_NAME_MAX, "%s", rn);
      d->n_groups++;
    }
    d->runs[i].group = g;
    d->groups[g].n++;
  }
  int multi_repo = 0;
  for (int g = 1; g < d->n_groups; g++)
    if (strcmp(d->groups[g].repo, d->groups[0].repo) != 0) multi_repo = 1;
  d->t_from = d->runs[0].t_from;
  d->t_to = d->runs[0].t_to;
  int64_t span = d->t_to - d->t_from;
  d->n_windows = (int)((span + RP_WINDOW_S - 1) / RP_WINDOW_S);
  if (d->n_windows < 1) d->n_windows = 1;
  if (d->n_windows > RP_MAX_WINDOWS) d->n_windows = RP_MAX_WINDOWS;
  for (int g = 0; g < d->n_groups; g++) {
    rp_group *G = &d->groups[g];
    if (multi_repo) snprintf(G->name, sizeof G->name, "%s/%s", G->dispatch, G->repo);
    else snprintf(G->name, sizeof G->name, "%s", G->dispatch);
    G->vals = malloc((size_t)RUN_REPORT_N_KPIS * (size_t)G->n * sizeof *G->vals);
    G->seeds = malloc((size_t)G->n * sizeof *G->seeds);
    G->run_ids = malloc((size_t)G->n * sizeof *G->run_ids);
    G->ar_sum = calloc((size_t)d->n_windows, sizeof *G->ar_sum);
    G->inc_sum = calloc((size_t)d->n_windows, sizeof *G->inc_sum);
    G->ar_n = calloc((size_t)d->n_windows, sizeof *G->ar_n);
    G->inc_n = calloc((size_t)d->n_windows, sizeof *G->inc_n);
    if (!G->vals || !G->seeds || !G->run_ids || !G->ar_sum || !G->inc_sum || !G->ar_n ||
        !G->inc_n)
      return rs_err_set(e, RS_ENOMEM, "report: out of memory");
    G->n = 0;
  }
  for (int i = 0; i < d->n_runs; i++) {
    rp_group *G = &d->groups[d->runs[i].group];
    G->seeds[G->n] = d->runs[i].seed;
    G->run_ids[G->n] = d->runs[i].id;
    G->n++;
  }
  /* KPI values per group, ordered as its runs (ascending id) */
  for (int g = 0; g < d->n_groups; g++) {
    rp_group *G = &d->groups[g];
    int j = 0;
    for (int i = 0; i < d->n_runs; i++) {
      if (d->runs[i].group != g) continue;
      for (int k = 0; k < RUN_REPORT_N_KPIS; k++) G->vals[(size_t)k * (size_t)G->n + (size_t)j] = d->runs[i].kpi[k];
      j++;
    }
  }
  return 0;
}

/* What a per-run reader adds to: the report, and the run's group. */
typedef struct {
  rp_data *d;
  int g;
} rp_into;

static int add_window(void *arg, const sim_results_window *w, rs_err *e) {
  (void)e;
  const rp_into *in = arg;
  rp_data *d = in->d;
  rp_group *G = &d->groups[in->g];
  int64_t i = (w->t_start - d->t_from) / RP_WINDOW_S;
  if (i < 0 || i >= d->n_windows) return 0;
  if (w->requests > 0) {
    G->ar_sum[i] += (double)w->matched / (double)w->requests;
    G->ar_n[i]++;
  }
  G->inc_sum[i] += w->income;
  G->inc_n[i]++;
  return 0;
}

static int load_series(rp_data *d, rs_err *e) {
  for (int i = 0; i < d->n_runs; i++) {
    rp_into in = {d, d->runs[i].group};
    int rc = sim_results_read_series(d->db, d->runs[i].id, add_window, &in, e);
    if (rc != 0) return rc;
  }
  return 0;
}

static int add_pickup(void *arg, double m, rs_err *e) {
  (void)e;
  const rp_into *in = arg;
  rp_data *d = in->d;
  rp_group *G = &d->groups[in->g];
  int b = (int)floor(m / d->bin_w);
  if (b < 0) b = 0;
  if (b >= d->n_bins) b = d->n_bins - 1;
  G->bins[b]++;
  G->bins_total++;
  return 0;
}

/* The histogram's bins: a nice width giving about 40 bins up to the
 * largest pickup distance of any run, at most RP_MAX_BINS of them. */
static int load_pickups(rp_data *d, rs_err *e) {
  double mx = 0;
  int rc;
  for (int i = 0; i < d->n_runs; i++) {
    double v;
    if ((rc = sim_results_pickup_max(d->db, d->runs[i].id, &v, e)) != 0) return rc;
    if (v > mx) mx = v;
  }
  d->bin_w = run_svg_nice_step(mx, 40);
  d->n_bins = (int)floor(mx / d->bin_w) + 1;
  if (d->n_bins > RP_MAX_BINS) d->n_bins = RP_MAX_BINS;
  for (int i = 0; i < d->n_runs; i++) {
    rp_into in = {d, d->runs[i].group};
    if ((rc = sim_results_read_pickups(d->db, d->runs[i].id, add_pickup, &in, e)) != 0) return rc;
  }
  return 0;
}

static int add_cell(void *arg, const sim_results_cell *row, rs_err *e) {
  const rp_into *in = arg;
  rp_data *d = in->d;
  int32_t c = row->cell;
  if (c < 0 || c >= (1 << 24)) return 0;
  if (c >= d->n_cells) {
    int32_t n = c + 1 > 2 * d->n_cells ? c + 1 : 2 * d->n_cells;
    if (rs_vec_grow(d->cells, d->cells_cap, (size_t)n))
      return rs_err_set(e, RS_ENOMEM, "report: out of memory");
    memset(d->cells + d->n_cells, 0, (size_t)(n - d->n_cells) * sizeof *d->cells);
    d->n_cells = n;
  }
  rp_cell *x = &d->cells[c];
  if (!x->seen) {
    x->unserved = calloc((size_t)d->n_groups, sizeof *x->unserved);
    x->requests = calloc((size_t)d->n_groups, sizeof *x->requests);
    if (x->unserved == NULL || x->requests == NULL)
      return rs_err_set(e, RS_ENOMEM, "report: out of memory");
    x->seen = 1;
    x->cell = c;
    x->q = row->q;
    x->r = row->r;
    x->lat = row->lat;
    x->lng = row->lng;
    x->edge_m = row->edge_m;
  }
  x->requests[in->g] += (double)row->requests;
  x->unserved[in->g] += (double)row->unserved;
  d->has_cells = 1;
  return 0;
}

/* Runs without cells (written by `ridesim run`, or by a DB of schema 1)
 * add none; the page says so. */
static int load_cells(rp_data *d, rs_err *e) {
  for (int i = 0; i < d->n_runs; i++) {
    rp_into in = {d, d->runs[i].group};
    int rc = sim_results_read_cells(d->db, d->runs[i].id, add_cell, &in, e);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------- drawing */

/* One bar per group with its 95 % interval whisker (at most 64 groups). */
static void bar_chart(FILE *f, const rp_data *d, int kpi) {
  const sim_kpi_def *k = run_report_kpi(kpi);
  char title[128];
  snprintf(title, sizeof title, "%s%s%s%s", k->label, k->unit[0] ? " (" : "", k->unit,
           k->unit[0] ? ")" : "");
  run_svg_bar bars[64];
  int n = d->n_groups < 64 ? d->n_groups : 64;
  for (int g = 0; g < n; g++) {
    const rp_group *G = &d->groups[g];
    run_stat s;
    run_stat_of(G->vals + (size_t)kpi * (size_t)G->n, (size_t)G->n, &s);
    bars[g] = (run_svg_bar){G->name, run_svg_series_colour(g), s.mean, s.half, s.lo, s.hi};
  }
  run_svg_bars(f, title, bars, n, k->scale, k->cdec);
}

/* Per-group lines of sum[w] / n[w] over the windows (gaps where n = 0):
 * which 0, the answer rate; 1, the income. */
static int line_chart(FILE *f, const rp_data *d, const char *title, int which, double scale) {
  run_svg_series *s = calloc((size_t)d->n_groups, sizeof *s);
  double *v = malloc((size_t)d->n_groups * (size_t)d->n_windows * sizeof *v);
  if (s == NULL || v == NULL) {
    free(s);
    free(v);
    return -1;
  }
  for (int g = 0; g < d->n_groups; g++) {
    const rp_group *G = &d->groups[g];
    double *vg = v + (size_t)g * (size_t)d->n_windows;
    for (int w = 0; w < d->n_windows; w++) {
      int n = which ? G->inc_n[w] : G->ar_n[w];
      vg[w] = n ? (which ? G->inc_sum[w] : G->ar_sum[w]) / n * scale : NAN;
    }
    s[g] = (run_svg_series){run_svg_series_colour(g), vg};
  }
  run_svg_time_lines(f, title, s, d->n_groups, d->n_windows, d->t_from, d->t_to, RP_WINDOW_S);
  free(s);
  free(v);
  return 0;
}

/* Pickup distance: share of matched orders per bin, a step line per group
 * (none for a group without matched orders). */
static int histogram(FILE *f, const rp_data *d) {
  run_svg_series *s = calloc((size_t)d->n_groups, sizeof *s);
  double *v = malloc((size_t)d->n_groups * (size_t)d->n_bins * sizeof *v);
  if (s == NULL || v == NULL) {
    free(s);
    free(v);
    return -1;
  }
  for (int g = 0; g < d->n_groups; g++) {
    const rp_group *G = &d->groups[g];
    double *vg = v + (size_t)g * (size_t)d->n_bins;
    for (int b = 0; b < d->n_bins; b++) vg[b] = G->bins_total > 0 ? 100 * G->bins[b] / G->bins_total : 0;
    s[g] = (run_svg_series){run_svg_series_colour(g), G->bins_total > 0 ? vg : NULL};
  }
  run_svg_steps(f, "pickup distance of matched orders (share per bin, %)", "pickup distance (m)",
                s, d->n_groups, d->n_bins, d->bin_w);
  free(s);
  free(v);
  return 0;
}

/* The runs' city, named by the first run's scenario, and its grid. */
static int runs_city(const rp_data *d, city_def *city, city_grid *grid, rs_err *e) {
  cJSON *j = cJSON_Parse(d->runs[0].scenario);
  cJSON *cn = cJSON_GetObjectItemCaseSensitive(j, "city");
  char city_name[SIM_PATH_MAX];
  snprintf(city_name, sizeof city_name, "%s", cJSON_IsString(cn) ? cn->valuestring : "synthetic");
  cJSON_Delete(j);
  int rc = city_def_resolve(city_name, city, e);
  if (rc == 0) rc = city_def_grid(city, grid, e);
  return rc;
}

/* The cells in service of the runs' city (city_def_service_cells), as
 * flags over its grid (the caller frees them), for the unserved maps; NULL
 * when the city no longer resolves (a moved city file) or its grid is not
 * the cells' (another edge), and then every cell is drawn. */
static uint8_t *cells_in_service(const rp_data *d, int32_t *n_flags) {
  city_def city;
  city_grid grid;
  rs_err e;
  rs_err_clear(&e);
  if (runs_city(d, &city, &grid, &e) != 0) return NULL;
  for (int32_t c = 0; c < d->n_cells; c++)
    if (d->cells[c].seen && (c >= grid.n_cells || d->cells[c].edge_m != grid.edge_m)) return NULL;
  /* d->cells may be longer than the grid (it grows by doubling) */
  int32_t n = d->n_cells > grid.n_cells ? d->n_cells : grid.n_cells;
  uint8_t *in = calloc((size_t)n, 1);
  if (in == NULL) return NULL;
  city_def_service_cells(&city, &grid, in);
  *n_flags = n;
  return in;
}

/* Small multiples: one map per group, mean unserved orders per cell, over
 * the cells in service (those with requests; the caption says what the
 * cells out of service held). */
static void unserved_maps(FILE *f, const rp_data *d) {
  int32_t n_flags = 0;
  uint8_t *in = cells_in_service(d, &n_flags);
  int n = 0, n_out = 0;
  for (int32_t c = 0; c < d->n_cells; c++) {
    int drawn = d->cells[c].seen && (in == NULL || in[c]);
    n += drawn;
    n_out += d->cells[c].seen && !drawn;
  }
  double *lat = malloc((size_t)n * sizeof *lat), *lng = malloc((size_t)n * sizeof *lng);
  if (lat == NULL || lng == NULL) {
    free(lat);
    free(lng);
    free(in);
    fprintf(f, "<p>(out of memory drawing the map)</p>\n");
    return;
  }
  int j = 0;
  double edge = 0, vmax = 0;
  for (int32_t c = 0; c < d->n_cells; c++) {
    const rp_cell *x = &d->cells[c];
    if (!x->seen || (in != NULL && !in[c])) continue;
    lat[j] = x->lat;
    lng[j] = x->lng;
    j++;
    edge = x->edge_m;
    for (int g = 0; g < d->n_groups; g++) {
      double v = x->unserved[g] / d->groups[g].n;
      if (v > vmax) vmax = v;
    }
  }
  run_svg_map m;
  int w = d->n_groups <= 2 ? 420 : d->n_groups <= 3 ? 300 : 240;
  run_svg_map_fit(&m, lat, lng, n, edge, w);
  free(lat);
  free(lng);
  fprintf(f, "<div class=\"maps\">\n");
  for (int g = 0; g < d->n_groups; g++) {
    char title[64 + sizeof d->groups[g].name];
    snprintf(title, sizeof title, "unserved orders per cell, %s", d->groups[g].name);
    fprintf(f, "<figure>");
    run_svg_map_open(f, &m, title, 1);
    double total = 0, req = 0, out_total = 0, out_req = 0;
    for (int32_t c = 0; c < d->n_cells; c++) {
      const rp_cell *x = &d->cells[c];
      if (!x->seen) continue;
      double v = x->unserved[g] / d->groups[g].n;
      total += v;
      req += x->requests[g] / d->groups[g].n;
      if (in != NULL && !in[c]) {
        out_total += v;
        out_req += x->requests[g] / d->groups[g].n;
        continue;
      }
      char col[8], tip[160];
      run_svg_colour_at(run_svg_ylorrd, vmax > 0 ? v / vmax : 0, col);
      snprintf(tip, sizeof tip, "cell %d (q %d, r %d): %.1f unserved of %.1f requests", x->cell,
               x->q, x->r, v, x->requests[g] / d->groups[g].n);
      run_svg_map_hex(f, &m, x->lat, x->lng, x->edge_m, col, tip);
    }
    fprintf(f, "</svg><figcaption><span class=\"sw\" style=\"background:%s\"></span>",
            run_svg_series_colour(g));
    run_svg_esc(f, d->groups[g].name);
    fprintf(f, ": %.0f unserved of %.0f requests (%.2f%%)", total, req,
            req > 0 ? 100 * total / req : 0);
    if (n_out > 0)
      fprintf(f, "; %d cells out of the service area not drawn (%.0f unserved of %.0f requests)",
              n_out, out_total, out_req);
    fprintf(f, "</figcaption></figure>\n");
  }
  fprintf(f, "</div>\n");
  free(in);
  run_svg_legend(f, run_svg_ylorrd, 0, vmax, "unserved orders per cell (expired + cancelled, mean over seeds)", 1);
}

/* The value table's V per cell in service, averaged over the slots of the
 * horizon. */
static int value_map(FILE *f, const rp_data *d, const char *path, rs_err *e) {
  city_def city;
  city_grid grid;
  val_table *t = NULL;
  val_meta meta;
  int rc;
  if ((rc = runs_city(d, &city, &grid, e)) != 0 ||
      (rc = val_store_load(path, &city, &grid, &t, &meta, e)) != 0)
    return rc;
  int32_t n = grid.n_cells;
  double *v = malloc((size_t)n * sizeof *v), *lat = malloc((size_t)n * sizeof *lat),
         *lng = malloc((size_t)n * sizeof *lng);
  int32_t *idx = malloc((size_t)n * sizeof *idx);
  uint8_t *in = malloc((size_t)n);
  if (!v || !lat || !lng || !idx || !in) {
    rc = rs_err_set(e, RS_ENOMEM, "report: out of memory");
    goto out;
  }
  int32_t slot_s = val_table_config(t)->slot_s;
  int k = 0;
  double vmin = INFINITY, vmax = -INFINITY;
  city_def_service_cells(&city, &grid, in);
  for (int32_t c = 0; c < n; c++) {
    if (!in[c]) continue;
    city_hex h = city_grid_hex(&grid, c);
    double la, ln;
    city_grid_center(&grid, h, &la, &ln);
    double s = 0;
    int m = 0;
    for (int64_t tt = d->t_from; tt < d->t_to; tt += slot_s, m++) s += val_table_get(t, c, tt);
    v[k] = m ? s / m : 0;
    lat[k] = la;
    lng[k] = ln;
    idx[k] = c;
    if (v[k] < vmin) vmin = v[k];
    if (v[k] > vmax) vmax = v[k];
    k++;
  }
  if (k == 0) goto out;
  run_svg_map mf;
  run_svg_map_fit(&mf, lat, lng, k, grid.edge_m, 420);
  fprintf(f, "<div class=\"maps\"><figure>");
  run_svg_map_open(f, &mf, "value per cell", 0);
  for (int i = 0; i < k; i++) {
    char col[8], tip[96];
    run_svg_colour_at(run_svg_viridis, vmax > vmin ? (v[i] - vmin) / (vmax - vmin) : 0, col);
    snprintf(tip, sizeof tip, "cell %d: V = %.2f", idx[i], v[i]);
    run_svg_map_hex(f, &mf, lat[i], lng[i], grid.edge_m, col, tip);
  }
  fprintf(f, "</svg><figcaption>");
  run_svg_esc(f, path);
  fprintf(f, " (city %s, %lld training rows; the %d cells in service)</figcaption></figure></div>\n",
          meta.city, (long long)meta.rows, k);
  run_svg_legend(f, run_svg_viridis, vmin, vmax, "V: expected discounted income of an idle driver, mean over the horizon's slots", 2);
out:
  free(v);
  free(lat);
  free(lng);
  free(idx);
  free(in);
  val_table_free(t);
  return rc;
}

/* ------------------------------------------------------------- the page */

static const char *CSS =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#222;max-width:1360px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid "
    "#ddd;padding-bottom:3px}"
    ".meta{color:#555;margin:2px 0}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "td,th{padding:3px 9px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}"
    "th{background:#f6f6f6;font-weight:600}td:first-child,th:first-child{text-align:left}"
    ".ci{color:#777;font-size:12px}.dp{color:#1a7f37}.dn{color:#c62828}"
    ".charts{display:flex;flex-wrap:wrap;gap:10px}"
    ".maps{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}"
    "figure{margin:0}figcaption{font-size:13px;color:#333;margin-top:3px}"
    ".sw{display:inline-block;width:12px;height:12px;margin:0 5px 0 12px;vertical-align:-1px;"
    "border-radius:2px}.sw:first-child{margin-left:0}"
    "svg{background:#fff;border:1px solid #e4e4e4;border-radius:4px}"
    "svg text{font:11px system-ui,sans-serif;fill:#333}svg text.t{font-size:13px;font-weight:600}"
    "svg text.v{fill:#555}"
    "svg .g{stroke:#eee}svg .ax{stroke:#999}svg .wh{stroke:#222;stroke-width:1.5;fill:none}"
    "svg .ln{fill:none;stroke-width:2}"
    "footer{margin-top:30px;color:#888;font-size:12px}";

static void legend_row(FILE *f, const rp_data *d) {
  fprintf(f, "<p class=\"meta\">");
  for (int g = 0; g < d->n_groups; g++) {
    fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>", run_svg_series_colour(g));
    run_svg_esc(f, d->groups[g].name);
    fprintf(f, " (%d run%s)", d->groups[g].n, d->groups[g].n == 1 ? "" : "s");
  }
  fprintf(f, "</p>\n");
}

static void kpi_table(FILE *f, const rp_data *d) {
  fprintf(f, "<table><tr><th>KPI</th>");
  for (int g = 0; g < d->n_groups; g++) {
    fprintf(f, "<th><span class=\"sw\" style=\"background:%s\"></span>", run_svg_series_colour(g));
    run_svg_esc(f, d->groups[g].name);
    fprintf(f, "</th>");
  }
  fprintf(f, "</tr>\n");
  const rp_group *B = &d->groups[0];
  for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
    const sim_kpi_def *kd = run_report_kpi(k);
    fprintf(f, "<tr><td>");
    run_svg_esc(f, kd->label);
    if (kd->unit[0]) fprintf(f, " (%s)", kd->unit);
    fprintf(f, "</td>");
    for (int g = 0; g < d->n_groups; g++) {
      const rp_group *G = &d->groups[g];
      run_stat s;
      run_stat_of(G->vals + (size_t)k * (size_t)G->n, (size_t)G->n, &s);
      fprintf(f, "<td>");
      if (isfinite(s.mean)) fprintf(f, "%.*f", kd->cdec, s.mean * kd->scale);
      else fprintf(f, "n/a");
      if (isfinite(s.half)) fprintf(f, " <span class=\"ci\">&#177; %.*f</span>", kd->cdec, s.half * kd->scale);
      /* paired difference with the baseline when the seeds line up */
      if (g > 0 && G->n == B->n && memcmp(G->seeds, B->seeds, (size_t)G->n * sizeof *G->seeds) == 0) {
        run_stat dd;
        run_stat_paired(B->vals + (size_t)k * (size_t)B->n, G->vals + (size_t)k * (size_t)G->n,
                       (size_t)G->n, &dd);
        if (isfinite(dd.mean)) {
          int signif = isfinite(dd.lo) && (dd.lo > 0 || dd.hi < 0);
          const char *cls = !signif || kd->dir == 0 ? "ci"
                            : (dd.mean > 0) == (kd->dir > 0) ? "dp" : "dn";
          fprintf(f, "<br><span class=\"%s\">&#916; %+.*f", cls, kd->cdec, dd.mean * kd->scale);
          if (isfinite(dd.half)) fprintf(f, " &#177; %.*f", kd->cdec, dd.half * kd->scale);
          fprintf(f, "</span>");
        }
      }
      fprintf(f, "</td>");
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</table>\n<p class=\"meta\">Mean over seeds &#177; half-width of the 95 %% "
             "Student t interval; &#916;: paired difference with ");
  run_svg_esc(f, B->name);
  fprintf(f, " over the same seeds (green: significantly better, red: significantly worse).</p>\n");
}

static int write_page(FILE *f, rp_data *d, const run_report_opts *o, rs_err *e) {
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width\">"
             "<title>ridesim report</title><style>%s</style></head><body>\n",
          CSS);
  /* What was compared, from the first run's scenario. */
  cJSON *j = cJSON_Parse(d->runs[0].scenario);
  cJSON *city = cJSON_GetObjectItemCaseSensitive(j, "city");
  cJSON *trips = cJSON_GetObjectItemCaseSensitive(j, "trips");
  char a[32], b[32];
  const char *c_ = cJSON_IsString(city) ? city->valuestring : "?";
  const char *tr = cJSON_IsString(trips) && trips->valuestring[0] ? trips->valuestring : "synthetic demand";
  fprintf(f, "<h1>ridesim: policy comparison</h1>\n<p class=\"meta\">");
  run_svg_esc(f, c_);
  fprintf(f, ", ");
  run_svg_esc(f, tr);
  rs_time_format(d->t_from, a, sizeof a);
  rs_time_format(d->t_to, b, sizeof b);
  a[16] = b[16] = '\0'; /* to the minute */
  fprintf(f, ", %s to %s, %.0f orders, %.0f drivers; %d runs from ", a, b + 11,
          d->runs[0].orders, d->runs[0].drivers, d->n_runs);
  run_svg_esc(f, d->path);
  fprintf(f, " (runs %lld-%lld%s)</p>\n", (long long)d->runs[0].id,
          (long long)d->runs[d->n_runs - 1].id, o->all_runs ? ", interrupted included" : "");
  cJSON_Delete(j);
  legend_row(f, d);

  fprintf(f, "<h2>KPIs</h2>\n");
  kpi_table(f, d);

  fprintf(f, "<h2>KPIs with 95 %% intervals</h2>\n<div class=\"charts\">\n");
  for (int i = 0; i < sim_kpi_view_n(SIM_KPI_VIEW_BARS); i++) { /* the catalogue's bars */
    int id = sim_kpi_view_id(SIM_KPI_VIEW_BARS, i);
    bar_chart(f, d, sim_kpi_view_index(SIM_KPI_VIEW_COMPARE, id));
  }
  fprintf(f, "</div>\n");

  fprintf(f, "<h2>Through the day</h2>\n<div class=\"charts\">\n");
  if (line_chart(f, d, "answer rate per 5-minute window (% matched of requested, mean over seeds)",
                 0, 100) != 0 ||
      line_chart(f, d, "driver income per 5-minute window (mean over seeds)", 1, 1) != 0)
    return rs_err_set(e, RS_ENOMEM, "report: out of memory");
  fprintf(f, "</div>\n");
  legend_row(f, d);

  fprintf(f, "<h2>Pickup distance</h2>\n");
  if (histogram(f, d) != 0) return rs_err_set(e, RS_ENOMEM, "report: out of memory");
  legend_row(f, d);

  fprintf(f, "<h2>Unserved demand</h2>\n");
  if (d->has_cells)
    unserved_maps(f, d);
  else
    fprintf(f, "<p>No per-cell data for these runs (the unserved_cells table is written by "
               "<code>ridesim compare</code>).</p>\n");

  int rc = 0;
  if (o->value_path != NULL) {
    fprintf(f, "<h2>Value table</h2>\n");
    rc = value_map(f, d, o->value_path, e);
  }
  fprintf(f, "<footer>ridesim %s &#183; self-contained page: inline CSS and SVG, no scripts"
             "</footer>\n</body></html>\n",
          o->version != NULL ? o->version : "unknown");
  return rc;
}

static int mkdir_p(const char *dir) {
  char buf[SIM_PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

int run_report_write(const char *db_path, const char *out_dir, const run_report_opts *o,
                     int *n_runs, rs_err *e) {
  rp_data d;
  memset(&d, 0, sizeof d);
  d.path = db_path;
  if (n_runs) *n_runs = 0;
  int rc = sim_results_open_read(db_path, &d.db, e);
  if (rc != 0) return rc;
  if ((rc = load_runs(&d, o, e)) != 0) goto out;
  if (d.n_runs == 0) {
    rc = rs_err_set(e, RS_EEMPTY, "%s: no %sruns to report", db_path,
                    o->all_runs ? "completed or interrupted " : "completed ");
    goto out;
  }
  if ((rc = make_groups(&d, e)) != 0 || (rc = load_series(&d, e)) != 0 ||
      (rc = load_pickups(&d, e)) != 0 || (rc = load_cells(&d, e)) != 0)
    goto out;
  if (mkdir_p(out_dir) != 0) {
    rc = rs_err_set(e, RS_EIO, "%s: cannot create the directory: %s", out_dir, strerror(errno));
    goto out;
  }
  char tmp[SIM_PATH_MAX + 32], fin[SIM_PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s/index.html.tmp", out_dir);
  snprintf(fin, sizeof fin, "%s/index.html", out_dir);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    rc = rs_err_set(e, RS_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    goto out;
  }
  rc = write_page(f, &d, o, e);
  int werr = ferror(f);
  if (fclose(f) != 0 || werr) {
    if (rc == 0) rc = rs_err_set(e, RS_EIO, "%s: write failed", tmp);
  }
  if (rc != 0 || rename(tmp, fin) != 0) {
    if (rc == 0) rc = rs_err_set(e, RS_EIO, "%s: cannot rename into place: %s", fin, strerror(errno));
    remove(tmp);
    goto out;
  }
  if (n_runs) *n_runs = d.n_runs;
out:
  rp_free(&d);
  return rc;
}

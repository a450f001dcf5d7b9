/*
 * report: the comparison page and its unserved-cells side table; see
 * report.h.
 *
 * The page is built in one pass over a read-only connection: the runs
 * (their KPIs as JSON in runs.kpis), grouped by policy combination in the
 * order of their first run; then per group the 5-minute series, the pickup
 * distances and the unserved cells, each averaged over the group's runs
 * (seeds). Memory is O(groups x (windows + bins + cells)); the orders are
 * streamed, never held.
 *
 * Drawing. Every chart is a fixed-size inline SVG drawn through a few
 * helpers: a plot box mapping data to pixels, "nice" axis ticks (steps of
 * 1, 2 or 5 x 10^k), bars with interval whiskers, polylines, a sequential
 * colour scale and its legend. The maps project cell centres with the local
 * equirectangular projection (base/rs_geo.h) about the drawn cells'
 * centre, the projection the hex grid itself is laid in, so the grid's
 * pointy-top hexagons stay regular hexagons on the page and are drawn from
 * their centre and edge. Text from the DB (policy names, paths) is escaped.
 *
 * The page goes to index.html.tmp and is renamed into place at the end, so
 * a failed write never leaves a truncated index.html.
 */
#include "tools/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "city_data/city.h"
#include "base/rs_geo.h"
#include "sim/scenario.h"
#include "tools/cli.h"
#include "run/stats.h"
#include "value/vstore.h"

#ifndef RIDESIM_VERSION
#define RIDESIM_VERSION "unknown"
#endif

/* ---------------------------------------------------------------- KPIs */

const report_kpi report_kpis[REPORT_N_KPIS] = {
  {"answer_rate", "answer_rate", "answer rate", "%", 100, 2, 1},
  {"completion_rate", "completion_rate", "completion rate", "%", 100, 2, 1},
  {"cancellation_rate", "cancellation_rate", "cancellation rate", "%", 100, 2, -1},
  {"wait_mean_s", "wait_to_match_mean_s", "wait to match, mean", "s", 1, 1, -1},
  {"pickup_m_mean", "pickup_distance_mean_m", "pickup distance, mean", "m", 1, 1, -1},
  {"income", "total_driver_income", "total driver income (J)", "", 1, 2, 1},
  {"income_per_hour", "income_per_online_hour", "income per online hour (G)", "", 1, 3, 1},
  {"utilisation", "utilisation", "utilisation", "%", 100, 2, 0},
  {"empty_km", "empty_km", "empty distance", "km", 1, 1, -1},
  {"wall_seconds", NULL, "wall time", "s", 1, 3, -1},
};

double report_kpi_value(const sim_kpis *k, double wall_s, int i) {
  switch (i) {
  case REPORT_KPI_ANSWER: return k->answer_rate;
  case REPORT_KPI_COMPLETION: return k->completion_rate;
  case REPORT_KPI_CANCEL: return k->cancel_rate;
  case REPORT_KPI_WAIT: return k->wait_mean_s;
  case REPORT_KPI_PICKUP: return k->pickup_m_mean;
  case REPORT_KPI_INCOME: return k->income;
  case REPORT_KPI_G: return k->income_per_hour;
  case REPORT_KPI_UTIL: return k->utilisation;
  case REPORT_KPI_EMPTY_KM: return k->empty_km;
  case REPORT_KPI_WALL: return wall_s;
  default: return NAN;
  }
}

/* --------------------------------------------------------- the runs read */

#define RP_WINDOW_S SIM_SERIES_WINDOW_S
#define RP_MAX_BINS 60          /* pickup histogram bins */
#define RP_MAX_WINDOWS 2016     /* a week of 5-minute windows */

typedef struct {
  int64_t id;
  uint64_t seed;
  int64_t t_from, t_to;
  double kpi[REPORT_N_KPIS];
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
  sqlite3 *db;
  const char *path;
  rp_run *runs;
  int n_runs;
  rp_group *groups;
  int n_groups;
  int64_t t_from, t_to;
  int n_windows;
  double bin_w;                /* pickup histogram bin width, metres */
  int n_bins;
  rp_cell *cells;              /* indexed by cell id; seen marks presence */
  int32_t n_cells;             /* array length (max cell id + 1) */
  int has_cells;               /* the side table exists and has rows */
} rp_data;

static int rp_db_fail(rp_data *d, rs_err *e, const char *what) {
  return rs_err_set(e, RS_EDB, "%s: %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

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
  if (d->db) sqlite3_close(d->db);
}

static int load_runs(rp_data *d, const report_opts *o, rs_err *e) {
  sqlite3_stmt *st;
  const char *sql =
      "SELECT id, seed, NULL, NULL, status, wall_seconds, kpis, scenario, t_from, t_to"
      " FROM runs WHERE kpis IS NOT NULL AND (status = 'completed' OR (?1 AND status = "
      "'interrupted')) AND (?2 = 0 OR id BETWEEN ?2 AND ?3) ORDER BY id";
  if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
    return rp_db_fail(d, e, "not a ridesim results database (no runs table)");
  sqlite3_bind_int(st, 1, o->all_runs);
  sqlite3_bind_int64(st, 2, o->run_min);
  sqlite3_bind_int64(st, 3, o->run_max);
  int cap = 0, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (d->n_runs == cap) {
      cap = cap ? 2 * cap : 16;
      rp_run *n = realloc(d->runs, (size_t)cap * sizeof *n);
      if (n == NULL) {
        sqlite3_finalize(st);
        return rs_err_set(e, RS_ENOMEM, "report: out of memory");
      }
      d->runs = n;
    }
    rp_run *r = &d->runs[d->n_runs];
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->seed = (uint64_t)sqlite3_column_int64(st, 1);
    r->t_from = sqlite3_column_int64(st, 8);
    r->t_to = sqlite3_column_int64(st, 9);
    const char *kj = (const char *)sqlite3_column_text(st, 6);
    const char *sj = (const char *)sqlite3_column_text(st, 7);
    r->scenario = strdup(sj ? sj : "{}");
    r->key = experiment_key(sj ? sj : "{}");
    if (r->scenario == NULL || r->key == NULL) {
      free(r->scenario);
      free(r->key);
      sqlite3_finalize(st);
      return rs_err_set(e, RS_EFORMAT, "%s: run %lld: unreadable scenario", d->path,
                        (long long)r->id);
    }
    d->n_runs++;
    cJSON *k = kj ? cJSON_Parse(kj) : NULL;
    for (int i = 0; i < REPORT_N_KPIS; i++) {
      if (report_kpis[i].json == NULL) {
        r->kpi[i] = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        continue;
      }
      cJSON *v = cJSON_GetObjectItemCaseSensitive(k, report_kpis[i].json);
      r->kpi[i] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(k, "orders");
    r->orders = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    v = cJSON_GetObjectItemCaseSensitive(k, "drivers");
    r->drivers = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(k);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rp_db_fail(d, e, "cannot read runs");
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
    G->vals = malloc((size_t)REPORT_N_KPIS * (size_t)G->n * sizeof *G->vals);
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
      for (int k = 0; k < REPORT_N_KPIS; k++) G->vals[(size_t)k * (size_t)G->n + (size_t)j] = d->runs[i].kpi[k];
      j++;
    }
  }
  return 0;
}

static int load_series(rp_data *d, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT t_start, requests, matched, income FROM kpi_series"
                         " WHERE run_id = ? ORDER BY t_start",
                         -1, &st, NULL) != SQLITE_OK)
    return rp_db_fail(d, e, "cannot read kpi_series");
  for (int i = 0; i < d->n_runs; i++) {
    rp_group *G = &d->groups[d->runs[i].group];
    sqlite3_bind_int64(st, 1, d->runs[i].id);
    while (sqlite3_step(st) == SQLITE_ROW) {
      int64_t w = (sqlite3_column_int64(st, 0) - d->t_from) / RP_WINDOW_S;
      if (w < 0 || w >= d->n_windows) continue;
      int64_t req = sqlite3_column_int64(st, 1), m = sqlite3_column_int64(st, 2);
      if (req > 0) {
        G->ar_sum[w] += (double)m / (double)req;
        G->ar_n[w]++;
      }
      G->inc_sum[w] += sqlite3_column_double(st, 3);
      G->inc_n[w]++;
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

/* A step of 1, 2 or 5 x 10^k giving about `n` steps over `range`. */
static double nice_step(double range, int n) {
  if (!(range > 0) || !isfinite(range)) return 1;
  double raw = range / n, mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static int load_pickups(rp_data *d, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db, "SELECT max(pickup_m) FROM orders WHERE run_id = ?", -1, &st,
                         NULL) != SQLITE_OK)
    return rp_db_fail(d, e, "cannot read orders");
  double mx = 0;
  for (int i = 0; i < d->n_runs; i++) {
    sqlite3_bind_int64(st, 1, d->runs[i].id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
      double v = sqlite3_column_double(st, 0);
      if (v > mx) mx = v;
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  d->bin_w = nice_step(mx, 40);
  d->n_bins = (int)floor(mx / d->bin_w) + 1;
  if (d->n_bins > RP_MAX_BINS) d->n_bins = RP_MAX_BINS;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT pickup_m FROM orders WHERE run_id = ? AND pickup_m IS NOT NULL",
                         -1, &st, NULL) != SQLITE_OK)
    return rp_db_fail(d, e, "cannot read orders");
  for (int i = 0; i < d->n_runs; i++) {
    rp_group *G = &d->groups[d->runs[i].group];
    sqlite3_bind_int64(st, 1, d->runs[i].id);
    while (sqlite3_step(st) == SQLITE_ROW) {
      int b = (int)floor(sqlite3_column_double(st, 0) / d->bin_w);
      if (b < 0) b = 0;
      if (b >= d->n_bins) b = d->n_bins - 1;
      G->bins[b]++;
      G->bins_total++;
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

static int load_cells(rp_data *d, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT cell, q, r, lat, lng, edge_m, requests, unserved"
                         " FROM unserved_cells WHERE run_id = ?",
                         -1, &st, NULL) != SQLITE_OK)
    return 0; /* no side table: runs of `ridesim run`; the page says so */
  for (int i = 0; i < d->n_runs; i++) {
    int g = d->runs[i].group;
    sqlite3_bind_int64(st, 1, d->runs[i].id);
    while (sqlite3_step(st) == SQLITE_ROW) {
      int32_t c = sqlite3_column_int(st, 0);
      if (c < 0 || c >= (1 << 24)) continue;
      if (c >= d->n_cells) {
        int32_t n = c + 1 > 2 * d->n_cells ? c + 1 : 2 * d->n_cells;
        rp_cell *nc = realloc(d->cells, (size_t)n * sizeof *nc);
        if (nc == NULL) {
          sqlite3_finalize(st);
          return rs_err_set(e, RS_ENOMEM, "report: out of memory");
        }
        memset(nc + d->n_cells, 0, (size_t)(n - d->n_cells) * sizeof *nc);
        d->cells = nc;
        d->n_cells = n;
      }
      rp_cell *x = &d->cells[c];
      if (!x->seen) {
        x->unserved = calloc((size_t)d->n_groups, sizeof *x->unserved);
        x->requests = calloc((size_t)d->n_groups, sizeof *x->requests);
        if (x->unserved == NULL || x->requests == NULL) {
          sqlite3_finalize(st);
          return rs_err_set(e, RS_ENOMEM, "report: out of memory");
        }
        x->seen = 1;
        x->cell = c;
        x->q = sqlite3_column_int(st, 1);
        x->r = sqlite3_column_int(st, 2);
        x->lat = sqlite3_column_double(st, 3);
        x->lng = sqlite3_column_double(st, 4);
        x->edge_m = sqlite3_column_double(st, 5);
      }
      x->requests[g] += sqlite3_column_double(st, 6);
      x->unserved[g] += sqlite3_column_double(st, 7);
      d->has_cells = 1;
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

/* ------------------------------------------------------------- drawing */

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])

static const char *group_colour(int g) { return PALETTE[(size_t)g % N_PALETTE]; }

/* Sequential scales as colour stops, interpolated in RGB. */
static const unsigned char YLORRD[5][3] = {
  {255, 255, 204}, {254, 217, 118}, {253, 141, 60}, {227, 26, 28}, {128, 0, 38}};
static const unsigned char VIRIDIS[5][3] = {
  {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};

static void colour_at(const unsigned char stops[5][3], double t, char out[8]) {
  if (!isfinite(t)) t = 0;
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  double x = t * 4;
  int i = x >= 4 ? 3 : (int)x;
  double f = x - i;
  int rgb[3];
  for (int k = 0; k < 3; k++)
    rgb[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
  snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* Text into HTML (and SVG): &, <, >, " escaped. */
static void esc(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A plot area and its data ranges. */
typedef struct {
  double x, y, w, h;      /* pixels: left, top, width, height */
  double x0, x1, y0, y1;  /* data range */
} plot;

static double px(const plot *p, double v) { return p->x + (v - p->x0) / (p->x1 - p->x0) * p->w; }
static double py(const plot *p, double v) { return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h; }

static void svg_open(FILE *f, int w, int h, const char *title) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" role=\"img\"><title>", w, h, w, h);
  esc(f, title);
  fprintf(f, "</title>\n<text class=\"t\" x=\"%d\" y=\"18\">", 8);
  esc(f, title);
  fprintf(f, "</text>\n");
}

static void fmt_tick(char *buf, size_t n, double v, double step) {
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (dec > 6) dec = 6;
  if (fabs(v) >= 1e6 && step >= 1e5) snprintf(buf, n, "%.*fM", step >= 1e6 ? 0 : 1, v / 1e6);
  else if (fabs(v) >= 1e4 && step >= 1e3) snprintf(buf, n, "%.*fk", step >= 1e4 ? 0 : 1, v / 1e3);
  else snprintf(buf, n, "%.*f", dec, v);
}

/* Horizontal grid lines and labels on the left; the y range is widened to
 * whole steps. */
static void axis_y(FILE *f, plot *p, int n_ticks) {
  double step = nice_step(p->y1 - p->y0, n_ticks);
  p->y0 = floor(p->y0 / step) * step;
  p->y1 = ceil(p->y1 / step - 1e-9) * step;
  if (p->y1 <= p->y0) p->y1 = p->y0 + step;
  for (double v = p->y0; v <= p->y1 + step / 2; v += step) {
    char lab[32];
    fmt_tick(lab, sizeof lab, v, step);
    double y = py(p, v);
    fprintf(f, "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            p->x, y, p->x + p->w, y, p->x - 4, y + 4, lab);
  }
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x, p->y,
          p->x, p->y + p->h);
}

/* Ticks every hour (or more) along a time axis, labelled HH:MM. */
static void axis_x_time(FILE *f, const plot *p, int64_t day0) {
  double span = p->x1 - p->x0;
  double step = span > 12 * 3600 ? 7200 : span > 3 * 3600 ? 3600 : 1800;
  double first = ceil(p->x0 / step) * step;
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x,
          p->y + p->h, p->x + p->w, p->y + p->h);
  for (double v = first; v <= p->x1 + 1; v += step) {
    int64_t tod = ((int64_t)v - day0) % 86400;
    if (tod < 0) tod += 86400;
    double x = px(p, v);
    fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%02d:%02d</text>\n",
            x, p->y + p->h, x, p->y + p->h + 4, x, p->y + p->h + 16, (int)(tod / 3600),
            (int)(tod % 3600 / 60));
  }
}

/* Ticks along a linear x axis. */
static void axis_x(FILE *f, const plot *p, int n_ticks, const char *label) {
  double step = nice_step(p->x1 - p->x0, n_ticks);
  fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->x,
          p->y + p->h, p->x + p->w, p->y + p->h);
  for (double v = ceil(p->x0 / step) * step; v <= p->x1 + step / 1000; v += step) {
    char lab[32];
    fmt_tick(lab, sizeof lab, v, step);
    double x = px(p, v);
    fprintf(f, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            x, p->y + p->h, x, p->y + p->h + 4, x, p->y + p->h + 16, lab);
  }
  fprintf(f, "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p->x + p->w / 2,
          p->y + p->h + 32);
  esc(f, label);
  fprintf(f, "</text>\n");
}

/* One bar per group with its 95 % interval whisker. */
static void bar_chart(FILE *f, const rp_data *d, int kpi) {
  const report_kpi *k = &report_kpis[kpi];
  enum { W = 430, H = 270 };
  char title[128];
  snprintf(title, sizeof title, "%s%s%s%s", k->label, k->unit[0] ? " (" : "", k->unit,
           k->unit[0] ? ")" : "");
  svg_open(f, W, H, title);
  plot p = {62, 34, W - 80, H - 34 - 46, 0, (double)d->n_groups, 0, 0};
  run_stat s[64];
  int n = d->n_groups < 64 ? d->n_groups : 64;
  double top = 0;
  for (int g = 0; g < n; g++) {
    const rp_group *G = &d->groups[g];
    run_stat_of(G->vals + (size_t)kpi * (size_t)G->n, (size_t)G->n, &s[g]);
    double hi = isfinite(s[g].hi) ? s[g].hi : s[g].mean;
    if (isfinite(hi) && hi * k->scale > top) top = hi * k->scale;
  }
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  double slot = p.w / n, bw = slot * 0.6;
  for (int g = 0; g < n; g++) {
    double m = s[g].mean * k->scale;
    double cx = p.x + slot * (g + 0.5);
    if (isfinite(m)) {
      fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                 "<title>",
              cx - bw / 2, py(&p, m), bw, py(&p, p.y0) - py(&p, m), group_colour(g));
      esc(f, d->groups[g].name);
      fprintf(f, ": %.*f", k->decimals, m);
      if (isfinite(s[g].half)) fprintf(f, " &#177; %.*f", k->decimals, s[g].half * k->scale);
      fprintf(f, "</title></rect>\n");
    }
    if (isfinite(s[g].half)) {
      double ylo = py(&p, s[g].lo * k->scale), yhi = py(&p, s[g].hi * k->scale);
      fprintf(f, "<path class=\"wh\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\"/>\n", cx,
              ylo, yhi, cx - bw / 5, ylo, cx + bw / 5, cx - bw / 5, yhi, cx + bw / 5);
    }
    fprintf(f, "<text class=\"a\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", cx,
            p.y + p.h + 15);
    esc(f, d->groups[g].name);
    fprintf(f, "</text>\n");
    if (isfinite(m))
      fprintf(f, "<text class=\"v\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
              cx, p.y + p.h + 30, k->decimals, m);
  }
  fprintf(f, "</svg>\n");
}

/* Per-group lines of sum[w] / n[w] over the windows (gaps where n = 0). */
static void line_chart(FILE *f, const rp_data *d, const char *title, int which, double scale) {
  enum { W = 640, H = 290 };
  svg_open(f, W, H, title);
  plot p = {70, 34, W - 90, H - 34 - 40, (double)d->t_from, (double)d->t_to, 0, 0};
  double top = 0;
  for (int g = 0; g < d->n_groups; g++) {
    const rp_group *G = &d->groups[g];
    for (int w = 0; w < d->n_windows; w++) {
      int n = which ? G->inc_n[w] : G->ar_n[w];
      double v = n ? (which ? G->inc_sum[w] : G->ar_sum[w]) / n * scale : 0;
      if (v > top) top = v;
    }
  }
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  int64_t day0 = d->t_from - ((d->t_from % 86400) + 86400) % 86400;
  axis_x_time(f, &p, day0);
  for (int g = 0; g < d->n_groups; g++) {
    const rp_group *G = &d->groups[g];
    int open = 0;
    for (int w = 0; w < d->n_windows; w++) {
      int n = which ? G->inc_n[w] : G->ar_n[w];
      if (n == 0) {
        if (open) fprintf(f, "\"/>\n");
        open = 0;
        continue;
      }
      double v = (which ? G->inc_sum[w] : G->ar_sum[w]) / n * scale;
      double t = (double)d->t_from + (w + 0.5) * RP_WINDOW_S;
      if (!open)
        fprintf(f, "<polyline class=\"ln\" stroke=\"%s\" points=\"", group_colour(g));
      fprintf(f, "%.1f,%.1f ", px(&p, t), py(&p, v));
      open = 1;
    }
    if (open) fprintf(f, "\"/>\n");
  }
  fprintf(f, "</svg>\n");
}

/* Pickup distance: share of matched orders per bin, a step line per group. */
static void histogram(FILE *f, const rp_data *d) {
  enum { W = 640, H = 300 };
  svg_open(f, W, H, "pickup distance of matched orders (share per bin, %)");
  plot p = {70, 34, W - 90, H - 34 - 50, 0, d->bin_w * d->n_bins, 0, 0};
  double top = 0;
  for (int g = 0; g < d->n_groups; g++)
    for (int b = 0; b < d->n_bins; b++) {
      const rp_group *G = &d->groups[g];
      double v = G->bins_total > 0 ? 100 * G->bins[b] / G->bins_total : 0;
      if (v > top) top = v;
    }
  p.y1 = top > 0 ? top * 1.05 : 1;
  axis_y(f, &p, 5);
  axis_x(f, &p, 10, "pickup distance (m)");
  for (int g = 0; g < d->n_groups; g++) {
    const rp_group *G = &d->groups[g];
    if (G->bins_total <= 0) continue;
    fprintf(f, "<polyline class=\"ln\" stroke=\"%s\" points=\"", group_colour(g));
    for (int b = 0; b < d->n_bins; b++) {
      double v = 100 * G->bins[b] / G->bins_total;
      fprintf(f, "%.1f,%.1f %.1f,%.1f ", px(&p, b * d->bin_w), py(&p, v),
              px(&p, (b + 1) * d->bin_w), py(&p, v));
    }
    fprintf(f, "\"/>\n");
  }
  fprintf(f, "</svg>\n");
}

/* A horizontal colour legend from 0 to vmax. */
static void colour_legend(FILE *f, const unsigned char stops[5][3], double vmin, double vmax,
                          const char *label, int id) {
  enum { W = 360, H = 52 };
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          W, H, W, H);
  esc(f, label);
  fprintf(f, "</title><defs><linearGradient id=\"lg%d\">", id);
  for (int i = 0; i <= 10; i++) {
    char c[8];
    colour_at(stops, i / 10.0, c);
    fprintf(f, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", i * 10, c);
  }
  fprintf(f, "</linearGradient></defs>\n<rect x=\"10\" y=\"6\" width=\"%d\" height=\"14\" "
             "fill=\"url(#lg%d)\" stroke=\"#999\"/>\n",
          W - 20, id);
  char a[32], b[32];
  double step = nice_step(vmax - vmin, 4);
  fmt_tick(a, sizeof a, vmin, step);
  fmt_tick(b, sizeof b, vmax, step);
  fprintf(f, "<text class=\"a\" x=\"10\" y=\"34\">%s</text><text class=\"a\" x=\"%d\" y=\"34\" "
             "text-anchor=\"end\">%s</text><text class=\"a\" x=\"%d\" y=\"48\" "
             "text-anchor=\"middle\">",
          a, W - 10, b, W / 2);
  esc(f, label);
  fprintf(f, "</text></svg>\n");
}

/* Fits cells (centres in degrees, edge in metres) into a box of width w:
 * sets the projection, the scale (px per metre), the offsets and the box
 * height. */
typedef struct {
  rs_proj pr;
  double k;          /* pixels per metre */
  double xmin, ymax; /* projected extent, metres */
  double pad;        /* pixels */
  int w, h;
} map_fit;

static void map_fit_init(map_fit *m, const double *lat, const double *lng, int n, double edge_m,
                         int w) {
  double a = 90, b = -90, c = 180, dd = -180;
  for (int i = 0; i < n; i++) {
    if (lat[i] < a) a = lat[i];
    if (lat[i] > b) b = lat[i];
    if (lng[i] < c) c = lng[i];
    if (lng[i] > dd) dd = lng[i];
  }
  rs_proj_init(&m->pr, (a + b) / 2, (c + dd) / 2, RS_EARTH_RADIUS_M);
  double x0, y0, x1, y1;
  rs_proj_forward(&m->pr, a, c, &x0, &y0);
  rs_proj_forward(&m->pr, b, dd, &x1, &y1);
  m->pad = 6;
  m->xmin = x0 - edge_m;
  m->ymax = y1 + edge_m;
  double span_x = (x1 - x0) + 2 * edge_m, span_y = (y1 - y0) + 2 * edge_m;
  m->k = (w - 2 * m->pad) / (span_x > 0 ? span_x : 1);
  m->w = w;
  m->h = (int)ceil(span_y * m->k + 2 * m->pad);
  if (m->h > 3 * w) { /* keep very tall cities on the page */
    m->k = (3 * w - 2 * m->pad) / span_y;
    m->h = 3 * w;
  }
}

static void map_hex(FILE *f, const map_fit *m, double lat, double lng, double edge_m,
                    const char *fill, const char *tip) {
  double x, y;
  rs_proj_forward(&m->pr, lat, lng, &x, &y);
  double cx = m->pad + (x - m->xmin) * m->k, cy = m->pad + (m->ymax - y) * m->k;
  double r = edge_m * m->k;
  fprintf(f, "<path fill=\"%s\" d=\"", fill);
  for (int i = 0; i < 6; i++) {
    double ang = (30.0 + 60.0 * i) * 3.14159265358979323846 / 180;
    fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', cx + r * cos(ang), cy - r * sin(ang));
  }
  fprintf(f, "Z\"><title>");
  esc(f, tip);
  fprintf(f, "</title></path>\n");
}

/* Small multiples: one map per group, mean unserved orders per cell. */
static void unserved_maps(FILE *f, const rp_data *d) {
  int n = 0;
  for (int32_t c = 0; c < d->n_cells; c++) n += d->cells[c].seen;
  double *lat = malloc((size_t)n * sizeof *lat), *lng = malloc((size_t)n * sizeof *lng);
  if (lat == NULL || lng == NULL) {
    free(lat);
    free(lng);
    fprintf(f, "<p>(out of memory drawing the map)</p>\n");
    return;
  }
  int j = 0;
  double edge = 0, vmax = 0;
  for (int32_t c = 0; c < d->n_cells; c++) {
    const rp_cell *x = &d->cells[c];
    if (!x->seen) continue;
    lat[j] = x->lat;
    lng[j] = x->lng;
    j++;
    edge = x->edge_m;
    for (int g = 0; g < d->n_groups; g++) {
      double v = x->unserved[g] / d->groups[g].n;
      if (v > vmax) vmax = v;
    }
  }
  map_fit m;
  int w = d->n_groups <= 2 ? 420 : d->n_groups <= 3 ? 300 : 240;
  map_fit_init(&m, lat, lng, n, edge, w);
  free(lat);
  free(lng);
  fprintf(f, "<div class=\"maps\">\n");
  for (int g = 0; g < d->n_groups; g++) {
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>unserved orders per cell, ",
            m.w, m.h, m.w, m.h);
    esc(f, d->groups[g].name);
    fprintf(f, "</title><rect width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>\n", m.w, m.h);
    double total = 0, req = 0;
    for (int32_t c = 0; c < d->n_cells; c++) {
      const rp_cell *x = &d->cells[c];
      if (!x->seen) continue;
      double v = x->unserved[g] / d->groups[g].n;
      total += v;
      req += x->requests[g] / d->groups[g].n;
      char col[8], tip[160];
      colour_at(YLORRD, vmax > 0 ? v / vmax : 0, col);
      snprintf(tip, sizeof tip, "cell %d (q %d, r %d): %.1f unserved of %.1f requests", x->cell,
               x->q, x->r, v, x->requests[g] / d->groups[g].n);
      map_hex(f, &m, x->lat, x->lng, x->edge_m, col, tip);
    }
    fprintf(f, "</svg><figcaption><span class=\"sw\" style=\"background:%s\"></span>",
            group_colour(g));
    esc(f, d->groups[g].name);
    fprintf(f, ": %.0f unserved of %.0f requests (%.2f%%)</figcaption></figure>\n", total, req,
            req > 0 ? 100 * total / req : 0);
  }
  fprintf(f, "</div>\n");
  colour_legend(f, YLORRD, 0, vmax, "unserved orders per cell (expired + cancelled, mean over seeds)", 1);
}

/* The value table's V per cell, averaged over the slots of the horizon. */
static int value_map(FILE *f, const rp_data *d, const char *path, rs_err *e) {
  cJSON *j = cJSON_Parse(d->runs[0].scenario);
  cJSON *cn = cJSON_GetObjectItemCaseSensitive(j, "city");
  char city_name[SIM_PATH_MAX];
  snprintf(city_name, sizeof city_name, "%s", cJSON_IsString(cn) ? cn->valuestring : "synthetic");
  cJSON_Delete(j);
  city_def city;
  city_grid grid;
  val_table *t = NULL;
  val_meta meta;
  int rc;
  if ((rc = city_def_resolve(city_name, &city, e)) != 0 || (rc = city_def_grid(&city, &grid, e)) != 0 ||
      (rc = val_store_load(path, &city, &grid, &t, &meta, e)) != 0)
    return rc;
  int32_t n = grid.n_cells;
  double *v = malloc((size_t)n * sizeof *v), *lat = malloc((size_t)n * sizeof *lat),
         *lng = malloc((size_t)n * sizeof *lng);
  int32_t *idx = malloc((size_t)n * sizeof *idx);
  if (!v || !lat || !lng || !idx) {
    rc = rs_err_set(e, RS_ENOMEM, "report: out of memory");
    goto out;
  }
  int32_t slot_s = val_table_config(t)->slot_s;
  int k = 0;
  double vmin = INFINITY, vmax = -INFINITY;
  for (int32_t c = 0; c < n; c++) {
    city_hex h = city_grid_hex(&grid, c);
    double la, ln;
    city_grid_center(&grid, h, &la, &ln);
    if (!city_def_contains(&city, la, ln)) continue;
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
  map_fit mf;
  map_fit_init(&mf, lat, lng, k, grid.edge_m, 420);
  fprintf(f, "<div class=\"maps\"><figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>value per cell</title>\n",
          mf.w, mf.h, mf.w, mf.h);
  for (int i = 0; i < k; i++) {
    char col[8], tip[96];
    colour_at(VIRIDIS, vmax > vmin ? (v[i] - vmin) / (vmax - vmin) : 0, col);
    snprintf(tip, sizeof tip, "cell %d: V = %.2f", idx[i], v[i]);
    map_hex(f, &mf, lat[i], lng[i], grid.edge_m, col, tip);
  }
  fprintf(f, "</svg><figcaption>");
  esc(f, path);
  fprintf(f, " (city %s, %lld training rows)</figcaption></figure></div>\n", meta.city,
          (long long)meta.rows);
  colour_legend(f, VIRIDIS, vmin, vmax, "V: expected discounted income of an idle driver, mean over the horizon's slots", 2);
out:
  free(v);
  free(lat);
  free(lng);
  free(idx);
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
    fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>", group_colour(g));
    esc(f, d->groups[g].name);
    fprintf(f, " (%d run%s)", d->groups[g].n, d->groups[g].n == 1 ? "" : "s");
  }
  fprintf(f, "</p>\n");
}

static void kpi_table(FILE *f, const rp_data *d) {
  fprintf(f, "<table><tr><th>KPI</th>");
  for (int g = 0; g < d->n_groups; g++) {
    fprintf(f, "<th><span class=\"sw\" style=\"background:%s\"></span>", group_colour(g));
    esc(f, d->groups[g].name);
    fprintf(f, "</th>");
  }
  fprintf(f, "</tr>\n");
  const rp_group *B = &d->groups[0];
  for (int k = 0; k < REPORT_N_KPIS; k++) {
    const report_kpi *kd = &report_kpis[k];
    fprintf(f, "<tr><td>");
    esc(f, kd->label);
    if (kd->unit[0]) fprintf(f, " (%s)", kd->unit);
    fprintf(f, "</td>");
    for (int g = 0; g < d->n_groups; g++) {
      const rp_group *G = &d->groups[g];
      run_stat s;
      run_stat_of(G->vals + (size_t)k * (size_t)G->n, (size_t)G->n, &s);
      fprintf(f, "<td>");
      if (isfinite(s.mean)) fprintf(f, "%.*f", kd->decimals, s.mean * kd->scale);
      else fprintf(f, "n/a");
      if (isfinite(s.half)) fprintf(f, " <span class=\"ci\">&#177; %.*f</span>", kd->decimals, s.half * kd->scale);
      /* paired difference with the baseline when the seeds line up */
      if (g > 0 && G->n == B->n && memcmp(G->seeds, B->seeds, (size_t)G->n * sizeof *G->seeds) == 0) {
        run_stat dd;
        run_stat_paired(B->vals + (size_t)k * (size_t)B->n, G->vals + (size_t)k * (size_t)G->n,
                       (size_t)G->n, &dd);
        if (isfinite(dd.mean)) {
          int signif = isfinite(dd.lo) && (dd.lo > 0 || dd.hi < 0);
          const char *cls = !signif || kd->higher_better == 0 ? "ci"
                            : (dd.mean > 0) == (kd->higher_better > 0) ? "dp" : "dn";
          fprintf(f, "<br><span class=\"%s\">&#916; %+.*f", cls, kd->decimals, dd.mean * kd->scale);
          if (isfinite(dd.half)) fprintf(f, " &#177; %.*f", kd->decimals, dd.half * kd->scale);
          fprintf(f, "</span>");
        }
      }
      fprintf(f, "</td>");
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</table>\n<p class=\"meta\">Mean over seeds &#177; half-width of the 95 %% "
             "Student t interval; &#916;: paired difference with ");
  esc(f, B->name);
  fprintf(f, " over the same seeds (green: significantly better, red: significantly worse).</p>\n");
}

static int write_page(FILE *f, rp_data *d, const report_opts *o, rs_err *e) {
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
  esc(f, c_);
  fprintf(f, ", ");
  esc(f, tr);
  cli_format_time(d->t_from, a, sizeof a);
  cli_format_time(d->t_to, b, sizeof b);
  a[16] = b[16] = '\0'; /* to the minute */
  fprintf(f, ", %s to %s, %.0f orders, %.0f drivers; %d runs from ", a, b + 11,
          d->runs[0].orders, d->runs[0].drivers, d->n_runs);
  esc(f, d->path);
  fprintf(f, " (runs %lld-%lld%s)</p>\n", (long long)d->runs[0].id,
          (long long)d->runs[d->n_runs - 1].id, o->all_runs ? ", interrupted included" : "");
  cJSON_Delete(j);
  legend_row(f, d);

  fprintf(f, "<h2>KPIs</h2>\n");
  kpi_table(f, d);

  fprintf(f, "<h2>KPIs with 95 %% intervals</h2>\n<div class=\"charts\">\n");
  static const int BARS[] = {REPORT_KPI_INCOME, REPORT_KPI_ANSWER, REPORT_KPI_G, REPORT_KPI_WAIT,
                             REPORT_KPI_PICKUP, REPORT_KPI_COMPLETION};
  for (size_t i = 0; i < sizeof BARS / sizeof BARS[0]; i++) bar_chart(f, d, BARS[i]);
  fprintf(f, "</div>\n");

  fprintf(f, "<h2>Through the day</h2>\n<div class=\"charts\">\n");
  line_chart(f, d, "answer rate per 5-minute window (% matched of requested, mean over seeds)", 0, 100);
  line_chart(f, d, "driver income per 5-minute window (mean over seeds)", 1, 1);
  fprintf(f, "</div>\n");
  legend_row(f, d);

  fprintf(f, "<h2>Pickup distance</h2>\n");
  histogram(f, d);
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
          RIDESIM_VERSION);
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

int report_write(const char *db_path, const char *out_dir, const report_opts *o, int *n_runs,
                 rs_err *e) {
  rp_data d;
  memset(&d, 0, sizeof d);
  d.path = db_path;
  if (n_runs) *n_runs = 0;
  struct stat sb;
  if (stat(db_path, &sb) != 0) return rs_err_set(e, RS_ENOENT, "%s: no such file", db_path);
  if (sqlite3_open_v2(db_path, &d.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    int rc = rs_err_set(e, RS_EDB, "%s: cannot open: %s", db_path,
                        d.db ? sqlite3_errmsg(d.db) : "out of memory");
    rp_free(&d);
    return rc;
  }
  sqlite3_busy_timeout(d.db, 5000);
  int rc = 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d.db, "SELECT value FROM meta WHERE key = 'app'", -1, &st, NULL) !=
      SQLITE_OK) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: not a ridesim results database", db_path);
    goto out;
  }
  int ours = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
             strcmp((const char *)sqlite3_column_text(st, 0), "ridesim-results") == 0;
  sqlite3_finalize(st);
  if (!ours) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: not a ridesim results database", db_path);
    goto out;
  }
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

/*
 * compareout: what `ridesim compare` prints; see compareout.h.
 */
#include "tools/compareout.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/report.h"
#include "run/stats.h"
#include "sim/scenario.h"
#include "tools/cli.h"

/* "fcfs-nearest" when one repositioning policy, else "fcfs-nearest/stay". */
static void combo_name(const compareout *o, int combo, char *buf, size_t n) {
  if (o->n_reposition == 1) snprintf(buf, n, "%s", o->dispatch(o->src, combo));
  else snprintf(buf, n, "%s/%s", o->dispatch(o->src, combo), o->reposition(o->src, combo));
}

static const char *cmp_dispatch(const void *src, int combo) {
  return run_compare_dispatch(src, combo);
}
static const char *cmp_reposition(const void *src, int combo) {
  return run_compare_reposition(src, combo);
}
static const double *cmp_values(const void *src, int combo, int kpi) {
  return run_compare_values(src, combo, kpi);
}

void compareout_of_compare(compareout *o, const run_compare *c, const uint64_t *seeds,
                           int n_seeds, int n_reposition, int base, const char *results) {
  memset(o, 0, sizeof *o);
  o->src = c;
  o->n_combos = run_compare_n_combos(c);
  o->dispatch = cmp_dispatch;
  o->reposition = cmp_reposition;
  o->values = cmp_values;
  o->n = n_seeds;
  o->seeds = seeds;
  o->over = "seeds";
  o->by = "seed";
  o->n_reposition = n_reposition;
  o->base = base;
  o->results = results;
  run_compare_run_ids(c, &o->id_min, &o->id_max);
}

/* ---------------------------------------------------------- while it runs */

static void format_eta(double s, char *buf, size_t n) {
  if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
  else if (s < 100) snprintf(buf, n, "%.0f s", s);
  else if (s < 6000) snprintf(buf, n, "%.0f min %02.0f s", floor(s / 60), fmod(s, 60));
  else snprintf(buf, n, "%.1f h", s / 3600);
}

void compareout_bar(compareout_term *t, const char *cmd, double frac, double elapsed_s,
                    int done, int n_runs, int running, int final) {
  char eta[32];
  format_eta(frac > 0 ? elapsed_s * (1 - frac) / frac : NAN, eta, sizeof eta);
  if (!t->tty) {
    if (!final) fprintf(stderr, "%s: %d/%d runs done, ETA %s\n", cmd, done, n_runs, eta);
    return;
  }
  enum { WIDTH = 30 };
  char bar[WIDTH + 1];
  int fill = (int)(frac * WIDTH + 0.5);
  for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  fprintf(stderr, "\r%s [%s] %3.0f%%  %d/%d runs, %d running, ETA %-12s", cmd, bar, 100 * frac,
          done, n_runs, running, final ? "0 s" : eta);
  t->shown = 1;
  if (final) {
    fputc('\n', stderr);
    t->shown = 0;
  }
  fflush(stderr);
}

static void progress_draw(compareout_term *t, const run_compare *c, int final) {
  run_compare_state s;
  run_compare_state_get(c, &s);
  compareout_bar(t, "compare", s.frac, s.elapsed_s, s.done, s.n_runs, s.running, final);
}

void compareout_progress(void *arg, const run_compare *c) { progress_draw(arg, c, 0); }

void compareout_done(compareout_term *t, const run_compare *c) {
  if (t->tty) progress_draw(t, c, 1);
}

void compareout_started(void *arg, const run_compare *c) {
  (void)arg;
  const run_input *in = run_compare_input(c);
  run_compare_state s;
  run_compare_state_get(c, &s);
  int n_combos = run_compare_n_combos(c);
  char from[32], to[32];
  cli_format_time(in->from, from, sizeof from);
  cli_format_time(in->to, to, sizeof to);
  fprintf(stderr, "compare: %s, %s to %s, %zu orders, %d combinations x %d seeds = %d runs, "
          "%d at a time\n", in->city.name, from, to, in->n, n_combos, s.n_runs / n_combos,
          s.n_runs, s.jobs);
}

void compareout_error(void *arg, const char *msg) {
  (void)arg;
  cli_error("compare", "%s", msg);
}

void compareout_signal(void *arg, int signum) {
  compareout_term *t = arg;
  if (t->shown) fputc('\n', stderr);
  t->shown = 0;
  cli_error("compare", "%s: stopping; running runs are kept as interrupted",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ------------------------------------------------------------- at the end */

typedef struct {
  run_stat s;          /* over seeds */
  run_stat d;          /* paired difference against the baseline */
  double rel;         /* d.mean in % of the baseline mean */
  int is_base;
} cmp_cell;

static void stat_cell(const compareout *o, int combo, int kpi, cmp_cell *out) {
  const double *v = o->values(o->src, combo, kpi);
  const double *bv = o->values(o->src, o->base, kpi);
  size_t n = (size_t)o->n;
  run_stat_of(v, n, &out->s);
  out->is_base = combo == o->base;
  run_stat b;
  run_stat_of(bv, n, &b);
  run_stat_paired(bv, v, n, &out->d);
  out->rel = run_stat_rel_pct(out->d.mean, b.mean);
}

static void fmt_num(char *buf, size_t n, double v, int dec, int sign) {
  if (!isfinite(v)) snprintf(buf, n, "n/a");
  else snprintf(buf, n, sign ? "%+.*f" : "%.*f", dec, v);
}

void compareout_table(const compareout *o) {
  char bname[2 * SIM_NAME_MAX + 2];
  combo_name(o, o->base, bname, sizeof bname);
  int w = 12;
  for (int i = 0; i < o->n_combos; i++) {
    char nm[2 * SIM_NAME_MAX + 2];
    combo_name(o, i, nm, sizeof nm);
    if ((int)strlen(nm) > w) w = (int)strlen(nm);
  }
  printf("%-*s %14s %27s %14s %27s %9s\n", w + 2, "KPI / policy", "mean", "95% CI",
         "vs baseline", "95% CI", "rel");
  for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
    const sim_kpi_def *kd = run_report_kpi(k);
    if (kd->unit[0]) printf("%s (%s)\n", kd->label, kd->unit);
    else printf("%s\n", kd->label);
    for (int i = 0; i < o->n_combos; i++) {
      cmp_cell cc;
      stat_cell(o, i, k, &cc);
      char nm[2 * SIM_NAME_MAX + 2], m[32], lo[32], hi[32], ci[80];
      combo_name(o, i, nm, sizeof nm);
      double sc = kd->scale;
      fmt_num(m, sizeof m, cc.s.mean * sc, kd->cdec, 0);
      fmt_num(lo, sizeof lo, cc.s.lo * sc, kd->cdec, 0);
      fmt_num(hi, sizeof hi, cc.s.hi * sc, kd->cdec, 0);
      snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
      printf("  %-*s %14s %27s", w, nm, m, ci);
      if (cc.is_base) {
        printf(" %14s\n", "(baseline)");
        continue;
      }
      char dm[32], rel[32];
      fmt_num(dm, sizeof dm, cc.d.mean * sc, kd->cdec, 1);
      fmt_num(lo, sizeof lo, cc.d.lo * sc, kd->cdec, 1);
      fmt_num(hi, sizeof hi, cc.d.hi * sc, kd->cdec, 1);
      snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
      if (isfinite(cc.rel)) snprintf(rel, sizeof rel, "%+.1f%%", cc.rel);
      else snprintf(rel, sizeof rel, "n/a");
      printf(" %14s %27s %9s\n", dm, ci, rel);
    }
  }
  printf("rates in %%, differences of rates in percentage points; intervals: Student t over\n"
         "%d %s, differences paired by %s against %s\n", o->n, o->over, o->by, bname);
}

static void csv_num(double v) {
  if (isfinite(v)) printf(",%.10g", v);
  else printf(",");
}

void compareout_csv(const compareout *o) {
  char bname[2 * SIM_NAME_MAX + 2];
  snprintf(bname, sizeof bname, "%s/%s", o->dispatch(o->src, o->base),
           o->reposition(o->src, o->base));
  if (!o->no_header)
    printf("%sdispatch,reposition,kpi,n,mean,sd,ci_low,ci_high,baseline,diff_n,diff_mean,"
           "diff_ci_low,diff_ci_high,diff_rel_pct\n", o->group != NULL ? "group," : "");
  for (int i = 0; i < o->n_combos; i++)
    for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
      cmp_cell cc;
      stat_cell(o, i, k, &cc);
      if (o->group != NULL) printf("%s,", o->group);
      printf("%s,%s,%s,%zu", o->dispatch(o->src, i), o->reposition(o->src, i),
             run_report_kpi(k)->field, cc.s.n);
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

cJSON *compareout_json_object(const compareout *o) {
  int64_t id_min = o->id_min, id_max = o->id_max;
  cJSON *root = cJSON_CreateObject();
  if (o->seeds != NULL) {
    cJSON *seeds = cJSON_AddArrayToObject(root, "seeds");
    for (int i = 0; i < o->n; i++)
      cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)o->seeds[i]));
  } else {
    cJSON *pairs = cJSON_AddArrayToObject(root, "pairs");
    for (int i = 0; i < o->n; i++)
      cJSON_AddItemToArray(pairs, cJSON_CreateString(o->pair(o->src, i)));
  }
  cJSON *b = cJSON_AddObjectToObject(root, "baseline");
  cJSON_AddStringToObject(b, "dispatch", o->dispatch(o->src, o->base));
  cJSON_AddStringToObject(b, "reposition", o->reposition(o->src, o->base));
  cJSON_AddStringToObject(root, "results", o->results);
  cJSON_AddNumberToObject(root, "run_id_min", (double)id_min);
  cJSON_AddNumberToObject(root, "run_id_max", (double)id_max);
  cJSON *rows = cJSON_AddArrayToObject(root, "rows");
  for (int i = 0; i < o->n_combos; i++)
    for (int k = 0; k < RUN_REPORT_N_KPIS; k++) {
      cmp_cell cc;
      stat_cell(o, i, k, &cc);
      cJSON *r = cJSON_CreateObject();
      cJSON_AddStringToObject(r, "dispatch", o->dispatch(o->src, i));
      cJSON_AddStringToObject(r, "reposition", o->reposition(o->src, i));
      cJSON_AddStringToObject(r, "kpi", run_report_kpi(k)->field);
      cJSON_AddNumberToObject(r, "n", (double)cc.s.n);
      cJSON_AddItemToObject(r, "mean", json_num(cc.s.mean));
      cJSON_AddItemToObject(r, "sd", json_num(cc.s.sd));
      cJSON_AddItemToObject(r, "ci_low", json_num(cc.s.lo));
      cJSON_AddItemToObject(r, "ci_high", json_num(cc.s.hi));
      if (cc.is_base) {
        cJSON_AddNullToObject(r, "diff");
      } else {
        cJSON *d = cJSON_AddObjectToObject(r, "diff");
        cJSON_AddNumberToObject(d, "n", (double)cc.d.n);
        cJSON_AddItemToObject(d, "mean", json_num(cc.d.mean));
        cJSON_AddItemToObject(d, "ci_low", json_num(cc.d.lo));
        cJSON_AddItemToObject(d, "ci_high", json_num(cc.d.hi));
        cJSON_AddItemToObject(d, "rel_pct", json_num(cc.rel));
      }
      cJSON_AddItemToArray(rows, r);
    }
  return root;
}

int compareout_json(const compareout *o) {
  cJSON *root = compareout_json_object(o);
  char *s = root != NULL ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (s == NULL) return -1;
  printf("%s\n", s);
  free(s);
  return 0;
}


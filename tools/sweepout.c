/*
 * sweepout: a sweep's tables, compare's tables of every group of a plan
 * read back from the results DB (run/sweepstat.h), as a table, CSV or JSON
 * (tools/compareout.h prints each group). Printing only: the statistics
 * come from run/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "run/plan.h"
#include "run/sweepstat.h"
#include "tools/cli.h"
#include "tools/compareout.h"
#include "tools/sweepout.h"

typedef struct {
  const run_sweep_stats *s;
  int g;
} group_src;

static const char *g_dispatch(const void *src, int combo) {
  const group_src *x = src;
  return run_sweep_stats_dispatch(x->s, x->g, combo);
}
static const char *g_reposition(const void *src, int combo) {
  const group_src *x = src;
  return run_sweep_stats_reposition(x->s, x->g, combo);
}
static const double *g_values(const void *src, int combo, int kpi) {
  const group_src *x = src;
  return run_sweep_stats_values(x->s, x->g, combo, kpi);
}
static const char *g_pair(const void *src, int i) {
  const group_src *x = src;
  return run_sweep_stats_pair(x->s, x->g, i);
}

int sweepout_tables(const run_plan *p, const char *out, int csv, int json) {
  run_sweep_stats *s;
  rs_err e;
  rs_err_clear(&e);
  if (run_sweep_stats_read(p, out, &s, &e) != 0) {
    cli_error("sweep", "%s", e.msg);
    return 1;
  }
  int64_t id_min, id_max;
  run_sweep_stats_ids(s, &id_min, &id_max);
  cJSON *root = json ? cJSON_CreateObject() : NULL, *groups = NULL;
  if (root != NULL) {
    cJSON_AddStringToObject(root, "plan", p->id);
    cJSON_AddStringToObject(root, "results", out);
    cJSON_AddNumberToObject(root, "runs", p->n_runs);
    cJSON_AddNumberToObject(root, "completed", run_sweep_stats_completed(s));
    groups = cJSON_AddArrayToObject(root, "groups");
  }
  int status = 0, printed = 0;
  for (int g = 0; g < run_sweep_stats_n_groups(s); g++) {
    int base = run_sweep_stats_base(s, g);
    const char *label = run_sweep_stats_group(s, g);
    if (base < 0) {
      cli_error("sweep", "group '%s' has no run of the baseline: no table", label);
      continue;
    }
    group_src src = {s, g};
    int np = run_sweep_stats_n_pairs(s, g);
    compareout o;
    memset(&o, 0, sizeof o);
    o.src = &src;
    o.n_combos = run_sweep_stats_n_combos(s, g);
    o.dispatch = g_dispatch;
    o.reposition = g_reposition;
    o.values = g_values;
    o.pair = g_pair;
    o.n = np;
    int days = strchr(run_sweep_stats_pair(s, g, 0), ',') != NULL;
    o.over = days ? "(seed, day) pairs" : "seeds";
    o.by = days ? "seed and day" : "seed";
    o.n_reposition = run_sweep_stats_n_reposition(s, g);
    o.base = base;
    o.results = out;
    o.id_min = id_min;
    o.id_max = id_max;
    if (csv) {
      o.group = label;
      o.no_header = printed > 0;
      compareout_csv(&o);
    } else if (json) {
      cJSON *j = compareout_json_object(&o);
      if (j == NULL) status = 1;
      else {
        cJSON_AddStringToObject(j, "group", label);
        cJSON_AddItemToArray(groups, j);
      }
    } else {
      if (label[0] != '\0') printf("%s== %s\n", printed ? "\n" : "", label);
      compareout_table(&o);
    }
    printed++;
  }
  if (root != NULL) {
    char *txt = cJSON_Print(root);
    if (txt == NULL) status = 1;
    else printf("%s\n", txt);
    free(txt);
    cJSON_Delete(root);
  } else if (!csv) {
    printf("results: %s (%d of %d runs completed, ids %lld-%lld)\n", out,
           run_sweep_stats_completed(s), p->n_runs, (long long)id_min, (long long)id_max);
  }
  fflush(stdout);
  run_sweep_stats_free(s);
  return status;
}

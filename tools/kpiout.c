/*
 * kpiout: the KPI tables of run and evaluate; see kpiout.h.
 */
#include "tools/kpiout.h"

#include <stdio.h>
#include <string.h>

#define LABEL_W 28 /* label column */
#define VALUE_W 14 /* value and unit, right-aligned */

void kpiout_line(const char *label, double value, int is_int, int dec, const char *unit) {
  /* "%" follows the number, any other unit a space */
  char suffix[8];
  snprintf(suffix, sizeof suffix, "%s%s", unit[0] != '\0' && strcmp(unit, "%") != 0 ? " " : "",
           unit);
  int w = VALUE_W - (int)strlen(suffix);
  if (is_int) printf("  %-*s %*lld%s\n", LABEL_W, label, w, (long long)value, suffix);
  else printf("  %-*s %*.*f%s\n", LABEL_W, label, w, dec, value, suffix);
}

void kpiout_table(const sim_kpis *k, const kpiout_opts *o) {
  for (int i = 0; i < sim_kpi_view_n(o->view); i++) {
    int id = sim_kpi_view_id(o->view, i);
    const sim_kpi_def *d = sim_kpi_def_of(id);
    if (d->src == SIM_KPI_SRC_SOLVER && k->solve_ticks <= 0) continue;
    const char *label = id == SIM_KPI_OPEN && o->stopped ? "open at the stop" : d->label;
    kpiout_line(label, d->scale * sim_kpi_value(k, o->wall_s, id), d->is_int, d->dec, d->unit);
    if (o->after != NULL) o->after(o->arg, id, k);
  }
}

/*
 * kpiout: the KPI tables that `ridesim run` and `ridesim evaluate` print,
 * made from the catalogue (sim/kpi.h): one line per KPI of the view,
 * in the view's order, "  LABEL  VALUE UNIT" with the label in 28 columns
 * and the value and its unit right-aligned in 14.
 */
#ifndef TOOLS_KPIOUT_H
#define TOOLS_KPIOUT_H

#include "sim/kpi.h"

typedef struct {
  int view;          /* SIM_KPI_VIEW_RUN or SIM_KPI_VIEW_EVAL */
  double wall_s;     /* the run's wall time (the RUN KPI) */
  int stopped;       /* the run ended before its horizon: "open at the stop" */
  /* Called after each line, NULL: none; a command prints lines of its own
   * there (run: the solver's per-tick figures after "solver ticks"). */
  void (*after)(void *arg, int id, const sim_kpis *k);
  void *arg;
} kpiout_opts;

/* Prints the lines of o->view; SOLVER KPIs only when k->solve_ticks > 0. */
void kpiout_table(const sim_kpis *k, const kpiout_opts *o);

/* Prints one line "  LABEL  VALUE UNIT" as the tables do. */
void kpiout_line(const char *label, double value, int is_int, int dec, const char *unit);

#endif

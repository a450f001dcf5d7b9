/*
 * compareout: what `ridesim compare` prints: the progress on stderr while
 * the comparison runs (a bar redrawn in place on a terminal, a line per
 * finished run otherwise), its failures and signals as they come, and the
 * comparison at the end: each KPI's mean over seeds with its 95 % interval
 * and the paired difference against the baseline (run/stats.h), as a
 * table, CSV or JSON.
 */
#ifndef TOOLS_COMPAREOUT_H
#define TOOLS_COMPAREOUT_H

#include <stdint.h>

#include "run/compare.h"

/* ---------------------------------------------------------- while it runs */

/* The terminal's state: the hooks' arg. */
typedef struct {
  int tty;       /* stderr is a terminal: a bar redrawn in place */
  int shown;     /* a bar is on the terminal line */
} compareout_term;

/* The progress of `cmd` (compare, sweep) on stderr: on a terminal a bar
 * redrawn in place (`final`: at its last state, then a new line), else a
 * line per call (none when final). frac is the share done, elapsed_s the
 * seconds so far (the ETA comes from both). */
void compareout_bar(compareout_term *t, const char *cmd, double frac, double elapsed_s,
                    int done, int n_runs, int running, int final);
/* run_compare_hooks: started, progress, error, signal (arg: the term). */
void compareout_started(void *arg, const run_compare *c);
void compareout_progress(void *arg, const run_compare *c);
void compareout_error(void *arg, const char *msg);
void compareout_signal(void *arg, int signum);
/* The bar's last draw, at 100 % or where it stopped (terminal only). */
void compareout_done(compareout_term *t, const run_compare *c);

/* ------------------------------------------------------------- at the end */

/* What is printed: the KPI values of each combination, n of them (one per
 * seed, or per (seed, day) pair of a sweep's group), from a comparison or a
 * sweep's DB through the accessors. */
typedef struct {
  const void *src;                                       /* the accessors' argument */
  int n_combos;
  const char *(*dispatch)(const void *src, int combo);
  const char *(*reposition)(const void *src, int combo);
  const double *(*values)(const void *src, int combo, int kpi); /* n of them */
  int n;                   /* values per combination */
  const uint64_t *seeds;   /* JSON's "seeds" (a comparison); NULL: "pairs" below */
  const char *(*pair)(const void *src, int i);           /* JSON's "pairs" (a sweep) */
  const char *over;        /* the table's footer: intervals over n <over> */
  const char *by;          /* ... differences paired by <by> */
  int n_reposition;        /* names carry "/reposition" when more than one */
  int base;                /* the baseline combination */
  const char *results;     /* the results DB's path */
  int64_t id_min, id_max;  /* the runs' ids in it */
  const char *group;       /* a sweep's group: CSV rows start with it; NULL: none */
  int no_header;           /* CSV: leave the header out (a later group) */
} compareout;

/* The output of a comparison (its accessors). */
void compareout_of_compare(compareout *o, const run_compare *c, const uint64_t *seeds,
                           int n_seeds, int n_reposition, int base, const char *results);

void compareout_table(const compareout *o);
void compareout_csv(const compareout *o);
/* 0, or -1 when the JSON cannot be made (out of memory). */
int compareout_json(const compareout *o);
/* The same as a cJSON object (the caller deletes it); NULL: out of memory. */
struct cJSON;
struct cJSON *compareout_json_object(const compareout *o);

#endif

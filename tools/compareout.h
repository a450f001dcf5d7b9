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

/* run_compare_hooks: started, progress, error, signal (arg: the term). */
void compareout_started(void *arg, const run_compare *c);
void compareout_progress(void *arg, const run_compare *c);
void compareout_error(void *arg, const char *msg);
void compareout_signal(void *arg, int signum);
/* The bar's last draw, at 100 % or where it stopped (terminal only). */
void compareout_done(compareout_term *t, const run_compare *c);

/* ------------------------------------------------------------- at the end */

typedef struct {
  const run_compare *cmp;  /* run */
  const uint64_t *seeds;   /* the seeds, in order */
  int n_seeds;
  int n_reposition;        /* names carry "/reposition" when more than one */
  int base;                /* the baseline combination */
  const char *results;     /* the results DB's path */
} compareout;

void compareout_table(const compareout *o);
void compareout_csv(const compareout *o);
/* 0, or -1 when the JSON cannot be made (out of memory). */
int compareout_json(const compareout *o);

#endif

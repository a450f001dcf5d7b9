/*
 * stats: the small statistics of a policy comparison.
 *
 * A comparison runs each policy on the same seeds (common random numbers),
 * so each KPI has one value per (policy, seed). For a policy we report the
 * mean over seeds with a two-sided 95 % Student t interval (n - 1 degrees
 * of freedom); against a baseline policy, the paired difference: the mean
 * and t interval of the per-seed differences, which removes the variance the
 * two policies share through their common riders and fleet. With one seed
 * there is no spread to estimate and the interval is NaN (shown as "n/a").
 *
 * Everything here is pure arithmetic on caller arrays: no allocation, no
 * state, safe from any thread.
 */
#ifndef RUN_STATS_H
#define RUN_STATS_H

#include <stddef.h>

#define RUN_STAT_CONF 0.95   /* the confidence level of every interval */

/* The mean, and a summary with its 95 % interval. */
typedef struct {
  size_t n;        /* values used (finite ones) */
  double mean;     /* NaN when n = 0 */
  double sd;       /* sample standard deviation (n - 1); NaN when n < 2 */
  double half;     /* half-width of the 95 % interval; NaN when n < 2 */
  double lo, hi;   /* mean -+ half (NaN when n < 2) */
} run_stat;

/* The 0.975 quantile of Student's t with df degrees of freedom (the factor
 * of a two-sided 95 % interval): exact to 6 decimals from a table for df
 * 1..30, the Cornish-Fisher expansion about the normal quantile beyond
 * (error < 1e-5 at df 31, shrinking as df^-4), 1.959964 for df = inf
 * (pass 0 for the normal value). NaN for df < 0. */
double run_stat_t975(long df);

/* Summary of the finite values among a[0..n). */
void run_stat_of(const double *a, size_t n, run_stat *out);

/* The paired difference b[i] - a[i] over the i where both are finite. */
void run_stat_paired(const double *a, const double *b, size_t n, run_stat *out);

/* 100 * diff / abs(base), NaN when base is 0 or not finite. */
double run_stat_rel_pct(double diff, double base);

#endif

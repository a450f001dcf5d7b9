/*
 * stats: means, Student t intervals and paired differences; see stats.h.
 *
 * The t quantile. A table of t_{0.975, df} for df 1..30 (six decimals, the
 * usual printed table, checked against numerical integration of the t
 * density). Beyond 30 the plain normal value 1.96 would understate the
 * interval by 1 % at df 40, so we use the Cornish-Fisher expansion of the t
 * quantile about the normal one (Abramowitz and Stegun 26.7.5, terms to
 * df^-4): its error is below 1e-7 at df 31 and falls from there. Seeds
 * beyond 30 are rare in a comparison; the expansion costs nothing.
 *
 * Summation is plain left to right: a comparison has a handful of seeds.
 */
#include "run/stats.h"

#include <math.h>

#define Z975 1.959963984540054 /* the normal 0.975 quantile */

static const double T975[30] = {
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
  2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
  2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
  2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
};

double run_stat_t975(long df) {
  if (df < 0) return NAN;
  if (df == 0) return Z975;
  if (df <= 30) return T975[df - 1];
  double z = Z975, v = (double)df;
  double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v) +
         (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v * v * v * v);
}

/* The summary of the finite values of a[i] (or b[i] - a[i] when b). */
static void summarise(const double *a, const double *b, size_t n, run_stat *out) {
  size_t k = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    double x = b ? b[i] - a[i] : a[i];
    if (isfinite(x)) {
      sum += x;
      k++;
    }
  }
  out->n = k;
  out->mean = k ? sum / (double)k : NAN;
  out->sd = out->half = out->lo = out->hi = NAN;
  if (k < 2) return;
  double ss = 0;
  for (size_t i = 0; i < n; i++) {
    double x = b ? b[i] - a[i] : a[i];
    if (isfinite(x)) ss += (x - out->mean) * (x - out->mean);
  }
  out->sd = sqrt(ss / (double)(k - 1));
  out->half = run_stat_t975((long)(k - 1)) * out->sd / sqrt((double)k);
  out->lo = out->mean - out->half;
  out->hi = out->mean + out->half;
}

void run_stat_of(const double *a, size_t n, run_stat *out) { summarise(a, NULL, n, out); }

void run_stat_paired(const double *a, const double *b, size_t n, run_stat *out) {
  summarise(a, b, n, out);
}

double run_stat_rel_pct(double diff, double base) {
  if (!isfinite(base) || base == 0 || !isfinite(diff)) return NAN;
  return 100 * diff / fabs(base);
}

/*
 * softmax: see softmax.h.
 */
#include "value/softmax.h"

#include <math.h>

void val_softmax_probs(const double *score, int32_t n, double tau, double *prob) {
  if (n < 1) return;
  int32_t best = 0;
  for (int32_t i = 1; i < n; i++)
    if (score[i] > score[best]) best = i;
  if (!(tau > 0)) {
    for (int32_t i = 0; i < n; i++) prob[i] = i == best ? 1.0 : 0.0;
    return;
  }
  double sum = 0;
  for (int32_t i = 0; i < n; i++) {
    prob[i] = exp((score[i] - score[best]) / tau);
    sum += prob[i];
  }
  for (int32_t i = 0; i < n; i++) prob[i] /= sum;
}

int32_t val_softmax_sample(const double *score, int32_t n, double tau, pcg32 *rng,
                           double *scratch) {
  if (n < 1) return -1;
  val_softmax_probs(score, n, tau, scratch);
  double u = pcg32_double(rng), acc = 0;
  for (int32_t i = 0; i < n; i++) {
    acc += scratch[i];
    if (u < acc) return i;
  }
  /* rounding left u above the last partial sum: the last non-zero index */
  for (int32_t i = n - 1; i >= 0; i--)
    if (scratch[i] > 0) return i;
  return n - 1;
}

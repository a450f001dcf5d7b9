/*
 * softmax: sampling an index with probability proportional to
 * exp(score / tau), V1D3's repositioning rule.
 *
 * Scores are shifted by their maximum before exponentiation, so large
 * values never overflow; tau <= 0 picks the arg max (first on ties). One
 * uniform draw from the caller's PCG32 stream per sample.
 */
#ifndef VAL_SOFTMAX_H
#define VAL_SOFTMAX_H

#include <stdint.h>

#include "base/pcg32.h"

/* Fills prob[0..n) with the softmax probabilities (n >= 1). */
void val_softmax_probs(const double *score, int32_t n, double tau, double *prob);
/* Samples an index; scratch holds n doubles. Returns -1 when n < 1. */
int32_t val_softmax_sample(const double *score, int32_t n, double tau, pcg32 *rng,
                           double *scratch);

#endif

/*
 * pcg32: see pcg32.h. Constants are those of the reference implementation
 * (pcg_basic.c): multiplier 6364136223846793005, XSH-RR output.
 */
#include "base/pcg32.h"

#define PCG32_MULT 6364136223846793005ULL

static void pcg32_step(pcg32 *rng) {
  rng->state = rng->state * PCG32_MULT + rng->inc;
}

void pcg32_seed(pcg32 *rng, uint64_t initstate, uint64_t initseq) {
  rng->state = 0U;
  rng->inc = (initseq << 1u) | 1u;
  pcg32_step(rng);
  rng->state += initstate;
  pcg32_step(rng);
}

void pcg32_stream(pcg32 *rng, uint64_t run_seed, uint64_t purpose) {
  pcg32_seed(rng, run_seed, purpose);
}

uint32_t pcg32_next(pcg32 *rng) {
  uint64_t old = rng->state;
  pcg32_step(rng);
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t pcg32_bounded(pcg32 *rng, uint32_t bound) {
  if (bound == 0) return 0;
  /* 2^32 mod bound: draws below it would make low values more likely. */
  uint32_t threshold = (uint32_t)(-bound) % bound;
  for (;;) {
    uint32_t r = pcg32_next(rng);
    if (r >= threshold) return r % bound;
  }
}

double pcg32_double(pcg32 *rng) {
  uint64_t hi = pcg32_next(rng) >> 5; /* 27 bits */
  uint64_t lo = pcg32_next(rng) >> 6; /* 26 bits */
  return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

void pcg32_advance(pcg32 *rng, uint64_t delta) {
  uint64_t cur_mult = PCG32_MULT, cur_plus = rng->inc;
  uint64_t acc_mult = 1u, acc_plus = 0u;
  while (delta > 0) {
    if (delta & 1u) {
      acc_mult *= cur_mult;
      acc_plus = acc_plus * cur_mult + cur_plus;
    }
    cur_plus = (cur_mult + 1u) * cur_plus;
    cur_mult *= cur_mult;
    delta >>= 1u;
  }
  rng->state = acc_mult * rng->state + acc_plus;
}

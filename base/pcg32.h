/*
 * pcg32: the PCG XSH-RR 64/32 generator (O'Neill, "PCG: A Family of Simple
 * Fast Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014), written from the published algorithm.
 *
 * State is a 64-bit LCG; the output permutes the old state with an xorshift
 * and a random rotation. The increment (always odd) selects one of 2^63
 * independent streams, which is how ridesim gives every purpose of a run its
 * own stream: pcg32_stream(&rng, run_seed, PCG_STREAM_CANCEL) and so on. Two
 * runs with the same seed then draw the same riders' cancellations whatever
 * the dispatch policy consumed from its own stream (common random numbers).
 *
 * Every random draw in ridesim comes from here. There is no global state.
 */
#ifndef RS_PCG32_H
#define RS_PCG32_H

#include <stdint.h>

typedef struct {
  uint64_t state; /* LCG state */
  uint64_t inc;   /* stream selector, always odd */
} pcg32;

/* One stream per purpose. Values are part of the results' reproducibility:
 * never renumber them. */
enum {
  PCG_STREAM_DEMAND = 1,    /* synthetic demand */
  PCG_STREAM_FLEET = 2,     /* fleet placement */
  PCG_STREAM_CANCEL = 3,    /* rider cancellations */
  PCG_STREAM_IDLE = 4,      /* idle movement */
  PCG_STREAM_POLICY = 5,    /* dispatch policy's own draws */
  PCG_STREAM_REPOSITION = 6,/* repositioning policy's own draws */
  PCG_STREAM_SHIFTS = 7,    /* driver shift model */
};

/* Seeds with initial state and stream id, exactly as pcg32_srandom_r. */
void pcg32_seed(pcg32 *rng, uint64_t initstate, uint64_t initseq);

/* The stream for one purpose of a run. Same as pcg32_seed(rng, seed, purpose). */
void pcg32_stream(pcg32 *rng, uint64_t run_seed, uint64_t purpose);

/* Next 32 uniformly distributed bits. */
uint32_t pcg32_next(pcg32 *rng);

/* Uniform in [0, bound) without modulo bias (rejection below -bound % bound).
 * bound 0 returns 0. */
uint32_t pcg32_bounded(pcg32 *rng, uint32_t bound);

/* Uniform double in [0, 1) with 53 random bits (two draws). */
double pcg32_double(pcg32 *rng);

/* Jumps the generator delta steps ahead (delta may "wrap" to go backwards) in
 * O(log delta), by the LCG's closed-form power (Brown, "Random Number
 * Generation with Arbitrary Stride", 1994). */
void pcg32_advance(pcg32 *rng, uint64_t delta);

#endif

/*
 * batch: batch dispatch through the exact matching solver.
 *
 * At a tick, the candidate graph (rows = waiting orders, columns = the idle
 * drivers that are candidates of at least one order, numbered in order of
 * first appearance) is weighted by a policy's weight function and solved
 * exactly (match.h). batch-distance scores an edge by minus its pickup
 * distance, serving as many orders as possible first; value-based policies
 * supply their own scores and reuse everything else. One disp_batch per
 * policy: its buffers grow to the largest tick and are reused, and it keeps
 * the per-tick solver statistics of the run.
 */
#ifndef DISP_BATCH_H
#define DISP_BATCH_H

#include <stdint.h>

#include "dispatch/policy.h"

/* The score of edge k (row `row`) of a tick. */
typedef double (*disp_weight_fn)(void *wctx, const disp_tick *t, int32_t row,
                                 int32_t k);

typedef struct disp_batch disp_batch;

/* score NULL: minus the pickup distance (batch-distance).
 *
 * cardinality_first = 0: the score is the edge's weight, and an edge scoring
 * <= 0 is never taken (the matching maximises the total score).
 * cardinality_first = 1: the weight is C + score with C = 2 S (m + 1) + 1,
 * S the largest |score| of the tick and m = min(rows, columns); then any
 * matching with one more pair outweighs every difference of scores, so the
 * matching serves as many orders as possible and, among those matchings,
 * maximises the total score. Such a policy is `maximal` (policy.h).
 * NULL when out of memory. */
disp_batch *disp_batch_new(disp_weight_fn score, void *wctx, int cardinality_first);
void disp_batch_free(disp_batch *b);
/* Solves the tick and writes its pairs into t->out. */
int disp_batch_dispatch(disp_batch *b, disp_tick *t, rs_err *e);
/* Statistics of every solved tick so far. */
const disp_solve_stat *disp_batch_stats(const disp_batch *b, int32_t *n);

#endif

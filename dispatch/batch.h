/*
 * batch: batch dispatch through the exact matching solver.
 *
 * At a tick, the candidate graph (rows = waiting orders, columns = the idle
 * drivers that are candidates of at least one order, numbered in order of
 * first appearance) is weighted by a policy's weight function and solved
 * exactly (match.h). batch-distance uses C - distance; value-based policies
 * supply their own weights and reuse everything else. One disp_batch per
 * policy: its buffers grow to the largest tick and are reused, and it keeps
 * the per-tick solver statistics of the run.
 */
#ifndef DISP_BATCH_H
#define DISP_BATCH_H

#include <stdint.h>

#include "dispatch/policy.h"

/* The weight of edge k (row `row`) of a tick; <= 0 means never match. */
typedef double (*disp_weight_fn)(void *wctx, const disp_tick *t, int32_t row,
                                 int32_t k);

typedef struct disp_batch disp_batch;

/* weight NULL: batch-distance's C - distance. NULL when out of memory. */
disp_batch *disp_batch_new(disp_weight_fn weight, void *wctx);
void disp_batch_free(disp_batch *b);
/* Solves the tick and writes its pairs into t->out. */
int disp_batch_dispatch(disp_batch *b, disp_tick *t, rs_err *e);
/* Statistics of every solved tick so far. */
const disp_solve_stat *disp_batch_stats(const disp_batch *b, int32_t *n);

#endif

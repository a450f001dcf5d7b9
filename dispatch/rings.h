/*
 * rings: the k-ring of any cell as fixed steps in a padded copy of the grid.
 *
 * The grid's dense rectangle (city_data/hexgrid.h) is surrounded by a margin
 * of `rings` cells on every side; in that padded rectangle the i-th cell of
 * a cell's k-ring (city_hex_kring order: ring 0, then ring 1, ...) is a
 * fixed index step away, one table of steps per row parity (odd rows sit
 * half a cell east). A walk over the rings then needs no bounds checks:
 * margin cells are simply never occupied. Callers keep per-cell flags or
 * counts in padded order (padded[] maps a dense cell there, dense[] back).
 *
 * Costs: setting up is O(padded cells + ring cells); a walk is one add and
 * one load per ring cell.
 */
#ifndef DISP_RINGS_H
#define DISP_RINGS_H

#include <stddef.h>
#include <stdint.h>

#include "city_data/hexgrid.h"

typedef struct {
  int32_t rings;      /* rings walked, and the margin */
  int32_t ncols, row0;/* the dense grid's row length and first row */
  int32_t width;      /* padded row length: ncols + 2 rings */
  int32_t n_padded;   /* padded cells */
  int32_t n_steps;    /* city_hex_kring_size(rings) */
  int32_t *padded;    /* per dense cell: its padded index */
  int32_t *dense;     /* per padded index: its dense cell, -1 in the margin */
  int32_t *step;      /* [parity * n_steps + i]: padded step to ring cell i */
} disp_rings;

/* Sets up the walk for `rings` >= 0 rings. Returns 0, RS_EINVAL (negative
 * rings, or a padded grid past 2^31 cells) or RS_ENOMEM. */
int disp_rings_init(disp_rings *w, const city_grid *g, int32_t rings);
void disp_rings_free(disp_rings *w);

/* The steps of a dense cell's ring walk (its row's parity's table). */
static inline const int32_t *disp_rings_steps(const disp_rings *w, int32_t cell) {
  return w->step + (size_t)((w->row0 + cell / w->ncols) & 1) * (size_t)w->n_steps;
}

#endif

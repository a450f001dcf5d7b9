/*
 * rings: the k-ring of any cell as fixed steps in a padded grid; see
 * rings.h.
 */
#include "dispatch/rings.h"

#include <stdlib.h>

#include "base/rs_error.h"

int disp_rings_init(disp_rings *w, const city_grid *g, int32_t rings) {
  w->padded = w->dense = w->step = NULL;
  if (rings < 0 || rings > (INT32_MAX - g->ncols) / 2 || rings > (INT32_MAX - g->nrows) / 2)
    return RS_EINVAL;
  int64_t width = g->ncols + 2 * (int64_t)rings, height = g->nrows + 2 * (int64_t)rings;
  if (width * height > INT32_MAX) return RS_EINVAL;
  w->rings = rings;
  w->ncols = g->ncols;
  w->row0 = g->row0;
  w->width = (int32_t)width;
  w->n_padded = (int32_t)(width * height);
  w->n_steps = city_hex_kring_size(rings);
  w->padded = malloc((size_t)(g->n_cells > 0 ? g->n_cells : 1) * sizeof *w->padded);
  w->dense = malloc((size_t)w->n_padded * sizeof *w->dense);
  w->step = malloc(2 * (size_t)w->n_steps * sizeof *w->step);
  city_hex *ring = malloc((size_t)w->n_steps * sizeof *ring);
  if (!w->padded || !w->dense || !w->step || !ring) {
    free(ring);
    disp_rings_free(w);
    return RS_ENOMEM;
  }
  for (int32_t i = 0; i < w->n_padded; i++) w->dense[i] = -1;
  for (int32_t c = 0; c < g->n_cells; c++) {
    int32_t row = c / g->ncols, col = c - row * g->ncols;
    int32_t p = (row + rings) * w->width + col + rings;
    w->padded[c] = p;
    w->dense[p] = c;
  }
  /* Offset rows are absolute (row0 + row), so a centre's parity is that of
   * its absolute row; a ring cell's steps come from a centre at axial
   * (0, parity), converted to odd-r offsets. */
  for (int32_t parity = 0; parity < 2; parity++) {
    city_hex h0 = {0, parity};
    city_hex_kring(h0, rings, ring);
    for (int32_t i = 0; i < w->n_steps; i++) {
      int32_t drow = ring[i].r - parity;
      int32_t dcol = ring[i].q + (ring[i].r - (ring[i].r & 1)) / 2;
      w->step[parity * w->n_steps + i] = drow * w->width + dcol;
    }
  }
  free(ring);
  return 0;
}

void disp_rings_free(disp_rings *w) {
  free(w->padded);
  free(w->dense);
  free(w->step);
  w->padded = w->dense = w->step = NULL;
}

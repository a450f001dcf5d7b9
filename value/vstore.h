/*
 * vstore: value tables saved to and loaded from SQLite.
 *
 * Schema (version VAL_STORE_SCHEMA):
 *   meta(key TEXT PRIMARY KEY, value TEXT): app = ridesim-value,
 *     schema_version, city, hex_edge_m, n_cells, slot_s, day_types, gamma,
 *     gamma_period_s, days (comma-separated YYYY-MM-DD), rows (trips used),
 *     passes, created (UTC ISO time)
 *   vvalues(dtype INTEGER, slot INTEGER, cell INTEGER, v REAL, n INTEGER,
 *           PRIMARY KEY(dtype, slot, cell))   -- seen states only
 *   vfree(dtype INTEGER, cell INTEGER, v REAL, n INTEGER,
 *         PRIMARY KEY(dtype, cell))   -- the time-free layer's seen cells
 *                                        (vtable.h); since schema 2
 * Files of schema 1 (no vfree) still load, with an empty layer.
 * A save replaces the file's table in one transaction: a reader sees the old
 * table or the new one, never a mix. Loading checks that the file was made
 * for the same city and grid (edge and cell count) as the caller's.
 */
#ifndef VAL_VSTORE_H
#define VAL_VSTORE_H

#include <stdint.h>

#include "city_data/city.h"
#include "base/rs_error.h"
#include "value/vtable.h"

#define VAL_STORE_SCHEMA 2

typedef struct {
  char city[64];
  char days[1024];     /* days used in training, "" when unknown */
  int64_t rows;        /* trips used */
  int32_t passes;
  char created[32];    /* filled on save, read on load */
} val_meta;

int val_store_save(const char *path, const val_table *t, const city_def *city,
                   const val_meta *m, rs_err *e);
/* Loads into a new table over g (the caller's grid for `city`). With city
 * NULL only the metadata is read into m and checked; g is unused and *out
 * is set to NULL. */
int val_store_load(const char *path, const city_def *city, const city_grid *g,
                   val_table **out, val_meta *m, rs_err *e);

#endif

/*
 * kddcup: readers for the KDD Cup 2020 RL track's side files, so that
 * KDD-style agents can be evaluated on the competition's own geography and
 * rules.
 *
 *   hexagon grid table   grid_id, lng1, lat1, ..., lng6, lat6 (no header;
 *                        8,518 cells of about 1 km2 over Chengdu)
 *   idle transitions     hour, origin_grid, dest_grid, prob (no header):
 *                        where an idle driver drifts, per hour of day
 *   cancel probabilities order_id, p200, p400, ..., p2000 (no header): the
 *                        chance that the rider of that order cancels when the
 *                        pickup is 200 m, 400 m, ... away
 *
 * Every reader skips a malformed line and remembers its line number and the
 * reason (city_kdd_skips), so the caller can warn about each; a file with no
 * valid line at all, or that cannot be opened, is an error. Nothing here
 * prints.
 *
 * The grid is a lookup structure: cell id <-> dense index (ids sorted, found
 * by binary search), centres and polygons, and point -> nearest cell centre
 * through a coarse lat/lng bucket grid (CITY_KDD_BUCKET_DEG), searched in
 * growing square rings until no unvisited bucket can hold a closer centre.
 * With ~8,500 cells of ~1 km2 in buckets of ~1 km, a lookup visits a few
 * dozen centres instead of all of them.
 */
#ifndef CITY_KDDCUP_H
#define CITY_KDDCUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"

#define CITY_KDD_ID_MAX 40          /* longest grid id kept (the table's are 16 hex digits) */
#define CITY_KDD_BUCKET_DEG 0.01    /* bucket side, about 1 km: one cell per bucket */
#define CITY_KDD_CANCEL_POINTS 10   /* p200 .. p2000 */
#define CITY_KDD_CANCEL_STEP_M 200.0
#define CITY_KDD_SKIPS_MAX 100      /* skipped lines remembered (all are counted) */

/* A line a reader skipped. */
typedef struct {
  int64_t line;          /* 1-based line number in the file */
  char reason[120];      /* what was wrong */
} city_kdd_skip;

/* Skipped-line bookkeeping shared by the readers. */
typedef struct {
  int64_t n;                           /* lines skipped */
  city_kdd_skip first[CITY_KDD_SKIPS_MAX]; /* the first ones */
} city_kdd_skips;

/* ------------------------------------------------------------ hexagon grid */

typedef struct {
  char id[CITY_KDD_ID_MAX];  /* the table's grid_id */
  double lat, lng;           /* centre: mean of the six vertices */
  double vlat[6], vlng[6];   /* the polygon, in the file's order */
} city_kdd_cell;

typedef struct city_kdd_grid city_kdd_grid;

/* Reads a grid table. Duplicate ids keep the first and skip the later line.
 * RS_ENOENT / RS_EIO when unreadable, RS_EFORMAT when no line is valid,
 * RS_ENOMEM. *out is NULL on failure. */
int city_kdd_grid_load(const char *path, city_kdd_grid **out, rs_err *e);
void city_kdd_grid_free(city_kdd_grid *g);

int32_t city_kdd_grid_size(const city_kdd_grid *g);
/* Cell by dense index (0 .. size-1, ordered by id). */
const city_kdd_cell *city_kdd_grid_cell(const city_kdd_grid *g, int32_t i);
/* Dense index of an id, or -1. */
int32_t city_kdd_grid_find(const city_kdd_grid *g, const char *id);
/* Dense index of the cell whose centre is nearest to the point (always a
 * cell: the grid is never empty). */
int32_t city_kdd_grid_nearest(const city_kdd_grid *g, double lat, double lng);
/* The lines skipped while reading. */
const city_kdd_skips *city_kdd_grid_skips(const city_kdd_grid *g);

/* ------------------------------------------------------- idle transitions */

typedef struct city_kdd_idle city_kdd_idle;

/* Reads an idle transition table against a grid: rows naming a cell the
 * grid lacks, an hour outside 0-23 or a probability outside [0, 1] are
 * skipped. Per (hour, origin) the probabilities are normalised to sum to 1
 * when sampling. Errors as city_kdd_grid_load. */
int city_kdd_idle_load(const char *path, const city_kdd_grid *g, city_kdd_idle **out,
                       rs_err *e);
void city_kdd_idle_free(city_kdd_idle *t);
/* The destination cell for an idle driver in `origin` at local hour `hour`
 * given a uniform u in [0, 1): inverse CDF over the row's destinations in
 * file order. Returns origin when the table has no row for (hour, origin). */
int32_t city_kdd_idle_sample(const city_kdd_idle *t, int hour, int32_t origin, double u);
/* Rows kept. */
int64_t city_kdd_idle_rows(const city_kdd_idle *t);
const city_kdd_skips *city_kdd_idle_skips(const city_kdd_idle *t);

/* ------------------------------------------------- cancel probabilities */

typedef struct city_kdd_cancel city_kdd_cancel;

/* Reads a per-order cancel table. Rows with a probability outside [0, 1] or
 * a wrong column count are skipped; a repeated order_id keeps the first. */
int city_kdd_cancel_load(const char *path, city_kdd_cancel **out, rs_err *e);
void city_kdd_cancel_free(city_kdd_cancel *t);
/* The cancel probability of an order at a pickup distance: linear between
 * the 200 m points, flat below 200 m and beyond 2,000 m. Returns 1 and sets
 * *p when the order is in the table, 0 otherwise (*p unchanged). */
int city_kdd_cancel_p(const city_kdd_cancel *t, int64_t order_id, double pickup_m,
                      double *p);
int64_t city_kdd_cancel_rows(const city_kdd_cancel *t);
const city_kdd_skips *city_kdd_cancel_skips(const city_kdd_cancel *t);

#endif

/*
 * candidates: idle drivers indexed by hex cell, and the candidate graph of a
 * dispatch decision.
 *
 * The index keeps, for every grid cell, an array of the idle drivers in it
 * with their positions (a scan reads memory front to back): add and remove
 * are O(1) (a removed entry is replaced by the cell's last), and a cell's
 * array grows only past the most drivers it has held, so the steady state
 * allocates nothing.
 * An order's candidates are the idle drivers within radius R of its pickup,
 * found by walking the k-rings around the pickup cell outwards and stopping
 * once no farther ring can hold a driver nearer than the K-th found (or than
 * R); they are kept nearest first, ties by driver index, at most K per order.
 * A driver may be a candidate of several orders: the policy resolves that.
 *
 * The search measures great-circle metres (the city's sphere): the radius
 * is a great-circle pre-filter. The pickup time of each edge kept is the
 * travel model's (city_data/travel.h: city_travel_pickup), the one the
 * engine simulates when the pair is matched, and so is its distance
 * (city_travel_pickup_m: road metres on a road network, great-circle
 * metres with the great-circle model). With a model whose times grow with
 * the great-circle distance (gc_monotone), nearest first is fastest first.
 * Buffers grow to the largest decision seen and are then reused.
 */
#ifndef DISP_CANDIDATES_H
#define DISP_CANDIDATES_H

#include <stdint.h>

#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"
#include "base/rs_error.h"

#define DISP_RADIUS_DEFAULT_M 2000.0 /* KDD Cup 2020 sample: all within ~2 km */
#define DISP_TOP_K_DEFAULT 32        /* winners used 11; 32 leaves the solver room */
/* Batch policies offer each driver its 3 nearest waiting orders. In a busy
 * tick a driver is within reach of hundreds of orders; a value-based score
 * would then reach far for the order its (noisy) table likes best and pay
 * in pickup time (measured on the shared NYC mornings: longer pickups, less
 * income). Near orders only, the value picks among them. */
#define DISP_DRIVER_TOP_K_DEFAULT 3

typedef struct disp_index disp_index;

/* An empty index over a grid for n_drivers drivers, timing edges with a
 * travel model (borrowed, as is the grid); NULL on no memory. */
disp_index *disp_index_new(const city_travel *tm, const city_grid *grid, int32_t n_drivers);
void disp_index_free(disp_index *x);
/* Puts driver d into cell `cell` (0 <= cell < n_cells: the engine keeps
 * every driver on the grid) at unit-vector position u, which must be the
 * driver's u while it stays indexed (searches read the exact position from
 * the drivers they are given); a driver already indexed moves.
 * Returns 0, or RS_ENOMEM (d is then out of the index). */
int disp_index_add(disp_index *x, int32_t d, int32_t cell, const double u[3]);
/* Takes driver d out (no-op when absent). */
void disp_index_remove(disp_index *x, int32_t d);
int disp_index_contains(const disp_index *x, int32_t d);
int32_t disp_index_size(const disp_index *x);

/* Builds the candidate graph for n_rows orders (row_order) into the tick's
 * CSR arrays (tick->row_ptr, edge_*), which stay valid until the next build.
 * Fills tick->n_rows, row_order, radius_m, row_capped. RS_ENOMEM on failure.
 *
 * Rows with fresh_only[row] set (fresh_only may be NULL) take their
 * candidates from the `fresh` drivers alone (distinct; those no longer in
 * the index are skipped) instead of the ring search: the engine's shortcut for orders whose every
 * other candidate is known to be taken. The result is the same graph.
 *
 * driver_top_k > 0 then keeps, for each driver, only its driver_top_k
 * nearest rows (ties by row), and marks the rows that lost an edge so. */
int disp_index_candidates(disp_index *x, const disp_order *orders,
                          const disp_driver *drivers, const int32_t *row_order,
                          int32_t n_rows, const uint8_t *fresh_only,
                          const int32_t *fresh, int32_t n_fresh,
                          double radius_m, int32_t top_k, int32_t driver_top_k,
                          int64_t now, disp_tick *tick, rs_err *e);

/* Turns on kept rows for orders 0 .. n_orders - 1 (when on: makes room
 * for orders up to n_orders - 1, a no-op when there is): each
 * row's search is kept between builds and brought up to date with the
 * drivers added since, instead of searched again (candidates.c, "kept
 * rows"), for a caller whose orders stay rows of build after build (a
 * policy that leaves orders waiting). The graph is the same, bit for bit;
 * a row whose order was missing from a build is searched afresh. Row
 * indices passed to disp_index_candidates must then be below n_orders.
 * Returns 0, or RS_ENOMEM (kept rows stay off). */
int disp_index_keep_rows(disp_index *x, int32_t n_orders);
/* Forgets every kept search (kept rows stay on; each row is searched
 * afresh at its next build): for a caller whose order indices changed. */
void disp_index_keep_rows_forget(disp_index *x);

/* The farthest ring the search visits for a radius: cells beyond it hold
 * no point within radius_m of a point of the centre cell. At most the
 * grid's diameter in rings: from any cell, that ring reaches every cell. */
int32_t disp_index_max_ring(const disp_index *x, double radius_m);

/* Writes the dense indices of the cells on the grid within
 * disp_index_max_ring(radius_m) rings of `cell` (0 <= cell < n_cells),
 * ring by ring, into out, which holds city_hex_kring_size of that ring.
 * Returns the count, or -1 when out of memory. */
int32_t disp_index_ring_cells(disp_index *x, double radius_m, int32_t cell, int32_t *out);

/* Walks the cells; 0 when every listed driver is in the cell it says, at
 * the position it has (drivers may be NULL: not checked), and counts
 * agree. For tests and --check-invariants. */
int disp_index_check(const disp_index *x, const disp_driver *drivers);

/* Cache hints for a search about to start at `cell` (0 <= cell < n_cells,
 * else ignored): the cell's record, then, once that has arrived, the first
 * lines of its entries a scan reads first. They change nothing else. */
void disp_index_prefetch_cell(const disp_index *x, int32_t cell);
void disp_index_prefetch_entries(const disp_index *x, int32_t cell);
/* The same for an add about to file a driver in `cell`: where its entry
 * will be written. */
void disp_index_prefetch_add(const disp_index *x, int32_t cell);

#endif

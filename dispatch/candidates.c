/*
 * candidates: the idle-driver index and the candidate graph; see
 * candidates.h.
 *
 * Search. Around an order's pickup cell the rings k = 0, 1, 2, ... are
 * visited in turn. A point in a ring-k cell is at least 1.5 k e - 2 e from
 * the pickup (e the edge: centres of cells k steps apart are at least
 * 1.5 k e apart, and each point lies within e of its centre), scaled by
 * LB_SLACK for the projection's distortion. The walk stops at the first ring
 * whose bound exceeds the radius, or the K-th nearest distance found so far.
 * The kept candidates are ranked by great-circle distance (ties by driver
 * index), so the graph does not depend on list order. Distances come from
 * chords between unit vectors (disp_unit_vector): the ranking key is the
 * squared chord, and only the kept candidates are converted to metres.
 */
#include "dispatch/candidates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "city_data/geo.h"
#include "dispatch/rings.h"

#define LB_SLACK 0.99 /* projection distortion over a city is below 0.3 % */

/* A cell: its drivers and its centre, in one record (one line of the
 * cell table for an add, a remove, or a search's look at the cell). The
 * drivers' positions are stored by component, x[i], y[i], z[i] the unit
 * vector of driver d[i], so that a scan computes several distances per
 * instruction; the four arrays share one allocation of cap slots. */
typedef struct {
  double *x, *y, *z;   /* positions as unit vectors, by component */
  int32_t *d;          /* driver indices, in no particular order */
  int32_t count, cap;  /* entries in use, allocated */
  double u[3];         /* its centre as a unit vector */
} idx_cell;

/* Where a driver is filed: its cell (-1 when not indexed) and entry. */
typedef struct {
  int32_t cell, slot;
} idx_at;

struct disp_index {
  const city_def *city;
  const city_grid *grid;
  int32_t n_drivers;
  int32_t n_cells;
  int32_t size;        /* drivers in the index */
  idx_cell *cells;     /* per cell: its drivers */
  idx_at *at;          /* per driver: where it is filed */
  /* candidate graph buffers, grown to the largest decision */
  int32_t *row_ptr;    /* n_rows + 1 */
  int32_t rows_cap;
  int32_t *edge_driver;
  double *edge_dist;
  double *edge_eta;
  int32_t edges_cap;
  /* the last radius searched: its squared chord (widened) and max ring */
  double lim_radius, lim2;
  int32_t lim_ring;
  /* the ring walk out to the last radius's max ring (occupied NULL
   * before the first search), and per padded cell whether it holds
   * drivers: a search steps through the flags with no bounds checks */
  disp_rings walk;
  uint8_t *occupied;
  /* per-driver cap: each driver's best rows this tick */
  uint8_t *capped;     /* per row: lost an edge to the cap */
  int32_t cap_capped;
  uint32_t *cap_stamp; /* per driver: the build that last touched it */
  uint32_t cap_cur;
  int32_t *cap_n;      /* per driver: rows kept so far (valid when stamped) */
  int32_t *cap_row;    /* per driver x M: kept rows, nearest first */
  double *cap_dist;    /* per driver x M: their distances */
  int32_t cap_m;       /* M the two arrays above were sized for */
  /* per-order scratch: the best K found so far */
  int32_t *best_d;
  double *best_m;
  int32_t best_cap;
};

disp_index *disp_index_new(const city_def *city, const city_grid *grid,
                           int32_t n_drivers) {
  disp_index *x = calloc(1, sizeof *x);
  if (x == NULL) return NULL;
  x->city = city;
  x->grid = grid;
  x->n_drivers = n_drivers;
  x->n_cells = grid->n_cells;
  x->lim_radius = -1;
  size_t nc = (size_t)grid->n_cells, nd = (size_t)(n_drivers > 0 ? n_drivers : 1);
  x->cells = calloc(nc, sizeof *x->cells);
  x->at = malloc(nd * sizeof *x->at);
  if (!x->cells || !x->at) {
    disp_index_free(x);
    return NULL;
  }
  for (int32_t c = 0; c < grid->n_cells; c++) {
    double lat, lng;
    city_grid_center(grid, city_grid_hex(grid, c), &lat, &lng);
    disp_unit_vector(lat, lng, x->cells[c].u);
  }
  for (size_t i = 0; i < nd; i++) x->at[i].cell = x->at[i].slot = -1;
  return x;
}

void disp_index_free(disp_index *x) {
  if (x == NULL) return;
  if (x->cells != NULL)
    for (int32_t c = 0; c < x->n_cells; c++) free(x->cells[c].x);
  free(x->cells);
  free(x->at);
  free(x->row_ptr);
  free(x->edge_driver);
  free(x->edge_dist);
  free(x->edge_eta);
  free(x->best_d);
  free(x->best_m);
  disp_rings_free(&x->walk);
  free(x->occupied);
  free(x->capped);
  free(x->cap_stamp);
  free(x->cap_n);
  free(x->cap_row);
  free(x->cap_dist);
  free(x);
}

/* Doubles a cell's room (at least 4 slots), keeping its entries. */
static int grow_cell(idx_cell *ce) {
  int32_t c = ce->cap ? 2 * ce->cap : 4;
  size_t n = (size_t)c;
  double *a = malloc(n * (3 * sizeof(double) + sizeof(int32_t)));
  if (a == NULL) return RS_ENOMEM;
  size_t k = (size_t)ce->count;
  if (k > 0) {
    memcpy(a, ce->x, k * sizeof *a);
    memcpy(a + n, ce->y, k * sizeof *a);
    memcpy(a + 2 * n, ce->z, k * sizeof *a);
    memcpy(a + 3 * n, ce->d, k * sizeof *ce->d);
  }
  free(ce->x);
  ce->x = a;
  ce->y = a + n;
  ce->z = a + 2 * n;
  ce->d = (int32_t *)(void *)(a + 3 * n);
  ce->cap = c;
  return 0;
}

int disp_index_add(disp_index *x, int32_t d, int32_t cell, const double u[3]) {
  if (d < 0 || d >= x->n_drivers || cell < 0 || cell >= x->n_cells) return 0;
  if (x->at[d].cell >= 0) disp_index_remove(x, d);
  idx_cell *ce = &x->cells[cell];
  int32_t n = ce->count;
  if (n == ce->cap && grow_cell(ce) != 0) return RS_ENOMEM;
  ce->x[n] = u[0];
  ce->y[n] = u[1];
  ce->z[n] = u[2];
  ce->d[n] = d;
  x->at[d].cell = cell;
  x->at[d].slot = n;
  ce->count = n + 1;
  x->size++;
  if (n == 0 && x->occupied != NULL) x->occupied[x->walk.padded[cell]] = 1;
  return 0;
}

void disp_index_remove(disp_index *x, int32_t d) {
  if (d < 0 || d >= x->n_drivers) return;
  int32_t c = x->at[d].cell;
  if (c < 0) return;
  /* the cell's last entry takes d's place */
  idx_cell *ce = &x->cells[c];
  int32_t i = x->at[d].slot, last = --ce->count;
  if (i != last) {
    ce->x[i] = ce->x[last];
    ce->y[i] = ce->y[last];
    ce->z[i] = ce->z[last];
    ce->d[i] = ce->d[last];
    x->at[ce->d[i]].slot = i;
  }
  x->at[d].cell = x->at[d].slot = -1;
  x->size--;
  if (last == 0 && x->occupied != NULL) x->occupied[x->walk.padded[c]] = 0;
}

int disp_index_contains(const disp_index *x, int32_t d) {
  return d >= 0 && d < x->n_drivers && x->at[d].cell >= 0;
}

int32_t disp_index_size(const disp_index *x) { return x->size; }

static int grow_i32(int32_t **p, int32_t *cap, int32_t need) {
  if (need <= *cap) return 0;
  int32_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  int32_t *q = realloc(*p, (size_t)c * sizeof *q);
  if (q == NULL) return RS_ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

static int grow_edges(disp_index *x, int32_t need) {
  if (need <= x->edges_cap) return 0;
  int32_t c = x->edges_cap ? x->edges_cap : 1024;
  while (c < need) c *= 2;
  int32_t *d = realloc(x->edge_driver, (size_t)c * sizeof *d);
  if (d == NULL) return RS_ENOMEM;
  x->edge_driver = d;
  double *m = realloc(x->edge_dist, (size_t)c * sizeof *m);
  if (m == NULL) return RS_ENOMEM;
  x->edge_dist = m;
  double *t = realloc(x->edge_eta, (size_t)c * sizeof *t);
  if (t == NULL) return RS_ENOMEM;
  x->edge_eta = t;
  x->edges_cap = c;
  return 0;
}

static int grow_best(disp_index *x, int32_t k) {
  if (k <= x->best_cap) return 0;
  int32_t *d = realloc(x->best_d, (size_t)k * sizeof *d);
  if (d == NULL) return RS_ENOMEM;
  x->best_d = d;
  double *m = realloc(x->best_m, (size_t)k * sizeof *m);
  if (m == NULL) return RS_ENOMEM;
  x->best_m = m;
  x->best_cap = k;
  return 0;
}

static int grow_capped(disp_index *x, int32_t n) {
  if (n <= x->cap_capped) return 0;
  int32_t c = x->cap_capped ? x->cap_capped : 256;
  while (c < n) c *= 2;
  uint8_t *p = realloc(x->capped, (size_t)c);
  if (p == NULL) return RS_ENOMEM;
  x->capped = p;
  x->cap_capped = c;
  return 0;
}

/* Keeps each driver's m nearest rows of the built graph (ties by row: rows
 * are visited in order and a later row never displaces an equal one),
 * compacting the CSR arrays in place and flagging rows that lost edges. */
static int cap_drivers(disp_index *x, int32_t n_rows, int32_t m) {
  if (m != x->cap_m) {
    size_t nd = (size_t)x->n_drivers, mm = (size_t)m;
    free(x->cap_row);
    free(x->cap_dist);
    x->cap_row = malloc(nd * mm * sizeof *x->cap_row);
    x->cap_dist = malloc(nd * mm * sizeof *x->cap_dist);
    if (x->cap_stamp == NULL) {
      x->cap_stamp = calloc(nd, sizeof *x->cap_stamp);
      x->cap_n = malloc(nd * sizeof *x->cap_n);
    }
    if (!x->cap_row || !x->cap_dist || !x->cap_stamp || !x->cap_n) {
      x->cap_m = 0;
      return RS_ENOMEM;
    }
    x->cap_m = m;
  }
  if (++x->cap_cur == 0) {
    memset(x->cap_stamp, 0, (size_t)x->n_drivers * sizeof *x->cap_stamp);
    x->cap_cur = 1;
  }
  /* pass 1: each driver's m nearest rows */
  for (int32_t row = 0; row < n_rows; row++)
    for (int32_t k = x->row_ptr[row]; k < x->row_ptr[row + 1]; k++) {
      int32_t d = x->edge_driver[k];
      double dist = x->edge_dist[k];
      if (x->cap_stamp[d] != x->cap_cur) {
        x->cap_stamp[d] = x->cap_cur;
        x->cap_n[d] = 0;
      }
      int32_t *rr = x->cap_row + (size_t)d * (size_t)m;
      double *dd = x->cap_dist + (size_t)d * (size_t)m;
      int32_t n = x->cap_n[d], i;
      if (n == m) {
        if (dist >= dd[m - 1]) continue;
        i = m - 1;
      } else {
        i = n;
        x->cap_n[d] = n + 1;
      }
      while (i > 0 && dd[i - 1] > dist) {
        dd[i] = dd[i - 1];
        rr[i] = rr[i - 1];
        i--;
      }
      dd[i] = dist;
      rr[i] = row;
    }
  /* pass 2: keep an edge when its row is among its driver's kept rows */
  int32_t out = 0;
  for (int32_t row = 0; row < n_rows; row++) {
    int32_t lo = x->row_ptr[row], hi = x->row_ptr[row + 1];
    x->row_ptr[row] = out;
    for (int32_t k = lo; k < hi; k++) {
      int32_t d = x->edge_driver[k];
      const int32_t *rr = x->cap_row + (size_t)d * (size_t)m;
      int keep = 0;
      for (int32_t i = 0; i < x->cap_n[d]; i++) keep |= rr[i] == row;
      if (!keep) {
        x->capped[row] = 1;
        continue;
      }
      x->edge_driver[out] = d;
      x->edge_dist[out] = x->edge_dist[k];
      x->edge_eta[out] = x->edge_eta[k];
      out++;
    }
  }
  x->row_ptr[n_rows] = out;
  return 0;
}

/* Tabulates the k-ring's steps for both row parities. */
/* Sets up the ring walk for k rings and its occupancy flags. */
static int build_walk(disp_index *x, int32_t k) {
  disp_rings_free(&x->walk);
  free(x->occupied);
  x->occupied = NULL;
  if (disp_rings_init(&x->walk, x->grid, k) != 0) return RS_ENOMEM;
  x->occupied = calloc((size_t)x->walk.n_padded, 1);
  if (x->occupied == NULL) {
    disp_rings_free(&x->walk);
    return RS_ENOMEM;
  }
  for (int32_t c = 0; c < x->n_cells; c++)
    x->occupied[x->walk.padded[c]] = x->cells[c].count > 0;
  return 0;
}

/* Squared unit chord of a great-circle distance, and back. */
static double m_to_chord2(double m, double r) {
  double c = 2.0 * sin(m / (2.0 * r));
  return c * c;
}

static double chord_to_m(double c2, double r) {
  double h = sqrt(c2) / 2.0;
  /* Below h = 1e-3 (12.7 km on the Earth) asin's series to h^5 is exact in
   * double precision: the next term, 5h^7/112, is 1e-19 of h there. */
  if (h < 1e-3) {
    double h2 = h * h;
    return 2.0 * r * h * (1.0 + h2 * (1.0 / 6.0 + h2 * (3.0 / 40.0)));
  }
  if (h > 1.0) h = 1.0;
  return 2.0 * r * asin(h);
}

/* Inserts (driver, key) into the sorted best list of at most k entries. */
static void best_insert(int32_t *bd, double *bm, int32_t *n, int32_t k,
                        int32_t d, double m) {
  int32_t i = *n;
  if (i == k) {
    if (m > bm[k - 1] || (m == bm[k - 1] && d > bd[k - 1])) return;
    i = k - 1;
  } else {
    (*n)++;
  }
  while (i > 0 && (bm[i - 1] > m || (bm[i - 1] == m && bd[i - 1] > d))) {
    bm[i] = bm[i - 1];
    bd[i] = bd[i - 1];
    i--;
  }
  bm[i] = m;
  bd[i] = d;
}

/* The squared chord between two unit vectors (unit sphere). */
static inline double chord2(const double u[3], const double p[3]) {
  double a = u[0] - p[0], b = u[1] - p[1], c = u[2] - p[2];
  return a * a + b * b + c * c;
}

/* Squared chords from p to entries [at, at + m) of a cell into c2[0, m),
 * and their minimum (INFINITY when m = 0). Each lane computes what chord2
 * does, in the same order, so the values are the same bits either way. */
static double chord2_block(const idx_cell *ce, int32_t at, int32_t m, const double p[3],
                           double *c2) {
  const double *xs = ce->x + at, *ys = ce->y + at, *zs = ce->z + at;
  double lo = INFINITY;
  int32_t i = 0;
#if defined(__SSE2__)
  __m128d px = _mm_set1_pd(p[0]), py = _mm_set1_pd(p[1]), pz = _mm_set1_pd(p[2]);
  __m128d vlo = _mm_set1_pd(INFINITY);
  for (; i + 2 <= m; i += 2) {
    __m128d a = _mm_sub_pd(_mm_loadu_pd(xs + i), px);
    __m128d b = _mm_sub_pd(_mm_loadu_pd(ys + i), py);
    __m128d c = _mm_sub_pd(_mm_loadu_pd(zs + i), pz);
    __m128d v = _mm_add_pd(_mm_add_pd(_mm_mul_pd(a, a), _mm_mul_pd(b, b)), _mm_mul_pd(c, c));
    _mm_storeu_pd(c2 + i, v);
    vlo = _mm_min_pd(v, vlo);
  }
  double two[2];
  _mm_storeu_pd(two, vlo);
  lo = two[0] < two[1] ? two[0] : two[1];
#endif
  for (; i < m; i++) {
    double a = xs[i] - p[0], b = ys[i] - p[1], c = zs[i] - p[2];
    c2[i] = a * a + b * b + c * c;
    lo = c2[i] < lo ? c2[i] : lo;
  }
  return lo;
}

/* Scans one cell's idle drivers into the best list, keyed by squared chord
 * (monotonic in great-circle distance), in blocks of 64. */
static void scan_cell(const disp_index *x, int32_t cell, const double p[3], double lim2,
                      int32_t *bd, double *bm, int32_t *nb, int32_t k) {
  const idx_cell *ce = &x->cells[cell];
  int32_t n = ce->count;
  double c2[64];
  for (int32_t at = 0; at < n; at += 64) {
    int32_t m = n - at < 64 ? n - at : 64;
    double lo = chord2_block(ce, at, m, p, c2);
    /* nothing in the block can enter the list */
    if (!(lo <= lim2) || (*nb == k && lo > bm[k - 1])) continue;
    const int32_t *ds = ce->d + at;
    if (k == 1) {
      /* The nearest alone (fcfs-nearest's one-order decisions): the lowest
       * driver index at the block's minimum, the same as inserting each in
       * turn. */
      int32_t d = INT32_MAX;
      for (int32_t i = 0; i < m; i++)
        if (c2[i] == lo && ds[i] < d) d = ds[i];
      best_insert(bd, bm, nb, 1, d, lo);
      continue;
    }
    for (int32_t i = 0; i < m; i++)
      if (c2[i] <= lim2) best_insert(bd, bm, nb, k, ds[i], c2[i]);
  }
}

/* Scans a list of drivers (the fresh ones) into the best list; drivers no
 * longer in the index (matched since the list was made) are skipped. */
static void scan_list(const disp_index *x, const disp_driver *drivers, const int32_t *list,
                      int32_t n, const double p[3], double lim2, int32_t *bd, double *bm,
                      int32_t *nb, int32_t k) {
  for (int32_t i = 0; i < n; i++) {
    if (x->at[list[i]].cell < 0) continue;
    double c2 = chord2(drivers[list[i]].u, p);
    if (c2 <= lim2) best_insert(bd, bm, nb, k, list[i], c2);
  }
}

int disp_index_candidates(disp_index *x, const disp_order *orders,
                          const disp_driver *drivers, const int32_t *row_order,
                          int32_t n_rows, const uint8_t *fresh_only,
                          const int32_t *fresh, int32_t n_fresh,
                          double radius_m, int32_t top_k, int32_t driver_top_k,
                          int64_t now, disp_tick *tick, rs_err *e) {
  if (top_k < 1) top_k = 1;
  if (grow_i32(&x->row_ptr, &x->rows_cap, n_rows + 1) || grow_best(x, top_k))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  const city_grid *g = x->grid;
  double edge = g->edge_m;
  double speed = city_def_speed(x->city, now);
  double detour = x->city->detour_factor;
  double r = x->city->earth_radius_m;
  /* squared chord of the radius, widened by 1e-9 so that rounding never
   * drops a driver at exactly the radius */
  if (radius_m != x->lim_radius) {
    x->lim_radius = radius_m;
    x->lim2 = m_to_chord2(radius_m, r) * (1 + 1e-9);
    x->lim_ring = disp_index_max_ring(x, radius_m);
  }
  double lim2 = x->lim2;
  double reach = edge / LB_SLACK;
  int32_t max_ring = x->lim_ring;
  if ((x->occupied == NULL || max_ring != x->walk.rings) && build_walk(x, max_ring))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  const uint8_t *occupied = x->occupied;
  const int32_t *dense = x->walk.dense;
  int32_t n_edges = 0;
  x->row_ptr[0] = 0;
  for (int32_t row = 0; row < n_rows; row++) {
    const disp_order *o = &orders[row_order[row]];
    int32_t c0 = o->pcell >= 0 ? o->pcell : city_grid_point_index(g, o->plat, o->plng);
    const double *p = o->pu;
    int32_t nb = 0;
    const int32_t *ring = NULL;
    int32_t pc0 = 0;
    if (c0 >= 0) {
      ring = disp_rings_steps(&x->walk, c0);
      pc0 = x->walk.padded[c0];
    }
    if (fresh_only != NULL && fresh_only[row]) {
      scan_list(x, drivers, fresh, n_fresh, p, lim2, x->best_d, x->best_m, &nb, top_k);
      ring = NULL;
    }
    /* lim_m: no driver farther than this can enter the list */
    double lim_m = nb == top_k ? chord_to_m(x->best_m[top_k - 1], r) : radius_m;
    for (int32_t k = 0; ring != NULL && k <= max_ring; k++) {
      double lb = (1.5 * k * edge - 2.0 * edge) * LB_SLACK;
      if (lb > lim_m) break;
      /* ring k holds entries [kring_size(k-1), kring_size(k)) */
      int32_t lo = k == 0 ? 0 : 3 * k * (k - 1) + 1, hi = 3 * k * (k + 1) + 1;
      for (int32_t i = lo; i < hi; i++) {
        int32_t pc = pc0 + ring[i];
        if (!occupied[pc]) continue;
        int32_t c = dense[pc];
        /* with the list full, skip a cell whose every point is beyond
         * lim_m: its centre's distance less its reach (the edge, widened
         * as above) */
        if (k > 0 && nb == top_k && chord_to_m(chord2(x->cells[c].u, p), r) - reach > lim_m)
          continue;
        scan_cell(x, c, p, lim2, x->best_d, x->best_m, &nb, top_k);
        if (nb == top_k) lim_m = chord_to_m(x->best_m[top_k - 1], r);
      }
    }
    if (grow_edges(x, n_edges + nb))
      return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
    for (int32_t i = 0; i < nb; i++) {
      double m = chord_to_m(x->best_m[i], r);
      x->edge_driver[n_edges] = x->best_d[i];
      x->edge_dist[n_edges] = m;
      x->edge_eta[n_edges] = m * detour / speed;
      n_edges++;
    }
    x->row_ptr[row + 1] = n_edges;
  }
  if (grow_capped(x, n_rows))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  memset(x->capped, 0, (size_t)n_rows);
  if (driver_top_k > 0 && cap_drivers(x, n_rows, driver_top_k) != 0)
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  tick->row_capped = x->capped;
  tick->n_rows = n_rows;
  tick->row_order = row_order;
  tick->row_ptr = x->row_ptr;
  tick->edge_driver = x->edge_driver;
  tick->edge_dist = x->edge_dist;
  tick->edge_eta = x->edge_eta;
  tick->radius_m = radius_m;
  return 0;
}

int32_t disp_index_ring_cells(disp_index *x, double radius_m, int32_t cell, int32_t *out) {
  int32_t k = disp_index_max_ring(x, radius_m);
  if ((x->occupied == NULL || k != x->walk.rings) && build_walk(x, k)) return -1;
  const int32_t *ring = disp_rings_steps(&x->walk, cell);
  int32_t pc0 = x->walk.padded[cell], n = 0;
  for (int32_t i = 0; i < x->walk.n_steps; i++) {
    int32_t c = x->walk.dense[pc0 + ring[i]];
    if (c >= 0) out[n++] = c;
  }
  return n;
}

int32_t disp_index_max_ring(const disp_index *x, double radius_m) {
  double edge = x->grid->edge_m;
  /* the last k with 1.5 k e - 2 e <= R / LB_SLACK */
  return (int32_t)floor((radius_m / LB_SLACK + 2.0 * edge) / (1.5 * edge));
}

int disp_index_check(const disp_index *x, const disp_driver *drivers) {
  int32_t total = 0;
  for (int32_t c = 0; c < x->n_cells; c++) {
    const idx_cell *ce = &x->cells[c];
    if (ce->count < 0 || ce->count > ce->cap) return -1;
    for (int32_t i = 0; i < ce->count; i++) {
      int32_t d = ce->d[i];
      if (d < 0 || d >= x->n_drivers || x->at[d].cell != c || x->at[d].slot != i) return -1;
      double u[3] = {ce->x[i], ce->y[i], ce->z[i]};
      if (drivers != NULL && (drivers[d].cell != c || (drivers[d].state != DISP_IDLE &&
                                                         drivers[d].state != DISP_REPOSITION) ||
                              memcmp(u, drivers[d].u, sizeof u) != 0))
        return -1;
    }
    total += ce->count;
  }
  int32_t listed = 0;
  for (int32_t d = 0; d < x->n_drivers; d++) listed += x->at[d].cell >= 0;
  return total == x->size && listed == x->size ? 0 : -1;
}

/*
 * candidates: the idle-driver index and the candidate graph; see
 * candidates.h.
 *
 * Search. Around an order's pickup cell the rings k = 0, 1, 2, ... are
 * visited in turn. A point in a ring-k cell is at least 1.5 k e - 2 e from
 * the pickup (e the edge: centres of cells k steps apart are at least
 * 1.5 k e apart, and each point lies within e of its centre), scaled by
 * LB_SLACK for the projection's distortion. The walk stops at the first ring
 * whose bound exceeds the radius, or the K-th nearest distance found so far;
 * within a ring, a cell is skipped when its centre is farther than that
 * distance plus the cell's reach (the farthest any of its entries has been
 * from its centre). The kept candidates are ranked by great-circle distance
 * (ties by driver index), so the graph does not depend on list order.
 * Distances come from chords between unit vectors (rs_unit_vector): the
 * ranking key is the squared chord, and only the kept candidates are
 * converted to metres.
 *
 * Two precisions. Each entry holds its offset from the cell's centre
 * rounded to float. A scan of a cell of SMALL_CELL or more entries first
 * computes every entry's squared chord from those offsets, four per
 * instruction, with a proven error bound (see approx_err); the exact
 * squared chord (from the driver's double unit vector, as the ranking
 * defines it) is computed only for entries the bound cannot rule out.
 * Smaller cells are computed exactly. The result is the same, bit for bit,
 * as scanning every entry exactly.
 */
#include "dispatch/candidates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "base/rs_geo.h"
#include "base/rs_vec.h"
#include "dispatch/rings.h"

#define LB_SLACK 0.99 /* projection distortion over a city is below 0.3 % */
#define SMALL_CELL 4  /* cells with fewer entries are scanned exactly */
#define ETA_BATCH 16  /* drivers timed together when ranking by pickup time */
/* A kept list holds K + KEEP_SLACK drivers, so that it survives that many
 * of its drivers leaving before its order must be searched again. */
#define KEEP_SLACK 32

/* A cell: its drivers and its centre, in one record (one line of the
 * cell table for an add, a remove, or a search's look at the cell). The
 * drivers' offsets from the centre, rounded to float, are stored by
 * component, for several distances per instruction: f[i], f[cap + i],
 * f[2 cap + i] that of driver d[i]. The exact position is the driver's own
 * unit vector (disp_driver.u, equal to the u it was filed with), read only
 * for the few entries the float pass cannot rule out (and every entry of a
 * cell smaller than SMALL_CELL). The two arrays share
 * one allocation of cap slots. */
typedef struct {
  float *f;            /* offsets from the centre, by component */
  int32_t *d;          /* driver indices, in no particular order */
  int32_t count, cap;  /* entries in use, allocated */
  float reach;         /* no entry filed here was farther from the centre
                          (unit-sphere chord, rounded up); never shrinks */
  double u[3];         /* its centre as a unit vector */
} idx_cell;
_Static_assert(sizeof(idx_cell) <= 64, "a cell record fits a cache line");

/* An entry of a kept list: a driver, and the add it was listed after. */
typedef struct {
  int32_t d;   /* driver index */
  uint32_t ep; /* its add_n when listed: live while the driver is still
                  indexed and add_n has not moved (not removed since) */
  double c2;   /* exact squared chord to the order's pickup: the key */
  double m;    /* the same as great-circle metres (rs_chord2_m) */
} kept_entry;

/* Where a driver is filed: its cell (-1 when not indexed) and entry. */
typedef struct {
  int32_t cell, slot;
} idx_at;

struct disp_index {
  const city_def *city;
  const city_travel *tm;    /* pickup times of the edges kept */
  const city_grid *grid;
  int32_t n_drivers;
  int32_t n_cells;
  int32_t size;        /* drivers in the index */
  idx_cell *cells;     /* per cell: its drivers */
  idx_at *at;          /* per driver: where it is filed */
  /* candidate graph buffers, grown to the largest decision */
  int32_t *row_ptr;    /* n_rows + 1 */
  size_t rows_cap;
  int32_t *edge_driver;
  double *edge_dist;
  double *edge_eta;
  size_t edges_cap;   /* of each of the three edge arrays */
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
  size_t cap_capped;
  uint32_t *cap_stamp; /* per driver: the build that last touched it */
  uint32_t cap_cur;
  int32_t *cap_n;      /* per driver: rows kept so far (valid when stamped) */
  int32_t *cap_row;    /* per driver x M: kept rows, nearest first */
  double *cap_dist;    /* per driver x M: their distances */
  int32_t cap_m;       /* M the two arrays above were sized for */
  /* per-order scratch: the best K found so far */
  int32_t *best_d;
  double *best_m;
  double *best_g;      /* ranking by pickup time: the entries' pickup distances */
  size_t best_cap;     /* of each of the three best arrays */
  /* kept rows (disp_index_keep_rows; kp_slot NULL: off), see above */
  int32_t n_orders;    /* entries of kp_slot */
  int32_t *kp_slot;    /* per order: its kept list's slot, -1 */
  uint32_t *add_n;     /* per driver: how often it was added (wraps) */
  int32_t *log_d;      /* drivers added since the last build ... */
  uint32_t *log_ep;    /* ... and their add_n then */
  int32_t n_log;
  size_t cap_log;
  int log_over;        /* the log was dropped: every kept list goes */
  double kp_lim2;      /* the squared chord and ... */
  int32_t kp_k;        /* ... K the kept lists were made for */
  int32_t kp_m;        /* entries a list keeps: kp_k + KEEP_SLACK */
  kept_entry *kp_e;    /* per slot x (kp_m + 1): its list, by (c2, driver) */
  size_t cap_kp_e;
  int32_t *kp_n;       /* per slot: entries */
  double *kp_t2;       /* per slot: its bound's squared chord (INFINITY: */
  int32_t *kp_td;      /* the list is complete) and driver */
  int32_t *kp_owner;   /* per slot: its order, -1 when free */
  uint32_t *kp_seen;   /* per slot: the last build that had its order */
  size_t cap_kp;       /* slots allocated (each per-slot array) */
  int32_t n_kp;        /* slots handed out so far (free ones included) */
  int32_t *kp_free;    /* free slots, a stack */
  int32_t n_kp_free;
  uint32_t build;      /* builds that used kept lists, never 0 */
  uint32_t *pend_stamp;/* per padded cell: the build of its pending list */
  int32_t *pend_head;  /* per padded cell: its first pending entry, -1 */
  int32_t n_pend_cells;/* padded cells of the two arrays above */
  int32_t *pend_d;     /* pending entries: a driver added since the last */
  int32_t *pend_next;  /* build whose reach covers the cell, and the next */
  size_t cap_pend;
};

disp_index *disp_index_new(const city_travel *tm, const city_grid *grid, int32_t n_drivers) {
  disp_index *x = calloc(1, sizeof *x);
  if (x == NULL) return NULL;
  x->city = tm->city;
  x->tm = tm;
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
    rs_unit_vector(lat, lng, x->cells[c].u);
  }
  for (size_t i = 0; i < nd; i++) x->at[i].cell = x->at[i].slot = -1;
  return x;
}

void disp_index_free(disp_index *x) {
  if (x == NULL) return;
  if (x->cells != NULL)
    for (int32_t c = 0; c < x->n_cells; c++) free(x->cells[c].f);
  free(x->cells);
  free(x->at);
  free(x->row_ptr);
  free(x->edge_driver);
  free(x->edge_dist);
  free(x->edge_eta);
  free(x->best_d);
  free(x->best_m);
  free(x->best_g);
  disp_rings_free(&x->walk);
  free(x->occupied);
  free(x->capped);
  free(x->cap_stamp);
  free(x->cap_n);
  free(x->cap_row);
  free(x->cap_dist);
  free(x->kp_slot);
  free(x->add_n);
  free(x->log_d);
  free(x->log_ep);
  free(x->kp_e);
  free(x->kp_n);
  free(x->kp_t2);
  free(x->kp_td);
  free(x->kp_owner);
  free(x->kp_seen);
  free(x->kp_free);
  free(x->pend_stamp);
  free(x->pend_head);
  free(x->pend_d);
  free(x->pend_next);
  free(x);
}

/* Doubles a cell's room (at least 4 slots), keeping its entries. */
static int grow_cell(idx_cell *ce) {
  int32_t c = ce->cap ? 2 * ce->cap : 4;
  size_t n = (size_t)c;
  float *f = malloc(n * (3 * sizeof(float) + sizeof(int32_t)));
  if (f == NULL) return RS_ENOMEM;
  int32_t *d = (int32_t *)(void *)(f + 3 * n);
  size_t k = (size_t)ce->count, old = (size_t)ce->cap;
  for (size_t j = 0; j < 3 && k > 0; j++) memcpy(f + j * n, ce->f + j * old, k * sizeof *f);
  if (k > 0) memcpy(d, ce->d, k * sizeof *d);
  free(ce->f);
  ce->f = f;
  ce->d = d;
  ce->cap = c;
  return 0;
}

/* Logs the add of driver d for the kept lists. A log that cannot grow, or
 * outgrows the fleet (no build for a long time), is dropped, and with it
 * every kept list at the next build: never wrong, only slower. */
static void log_add(disp_index *x, int32_t d) {
  x->add_n[d]++;
  if (x->log_over) return;
  size_t c1 = x->cap_log, c2 = x->cap_log, need = (size_t)x->n_log + 1;
  if (need > 2 * (size_t)x->n_drivers + 64 || rs_vec_grow(x->log_d, c1, need) ||
      rs_vec_grow(x->log_ep, c2, need)) {
    x->log_over = 1;
    x->n_log = 0;
    return;
  }
  x->cap_log = c1;
  x->log_d[x->n_log] = d;
  x->log_ep[x->n_log++] = x->add_n[d];
}

int disp_index_add(disp_index *x, int32_t d, int32_t cell, const double u[3]) {
  if (d < 0 || d >= x->n_drivers || cell < 0 || cell >= x->n_cells) return 0;
  if (x->at[d].cell >= 0) disp_index_remove(x, d);
  idx_cell *ce = &x->cells[cell];
  int32_t n = ce->count;
  if (n == ce->cap && grow_cell(ce) != 0) return RS_ENOMEM;
  size_t cap = (size_t)ce->cap;
  double o2 = 0;
  for (size_t j = 0; j < 3; j++) {
    double o = u[j] - ce->u[j];
    ce->f[j * cap + (size_t)n] = (float)o;
    o2 += o * o;
  }
  if (o2 > (double)ce->reach * (double)ce->reach) {
    /* rounded up: the reach bounds the exact offset */
    float r = (float)sqrt(o2);
    while ((double)r * (double)r < o2) r = nextafterf(r, INFINITY);
    ce->reach = nextafterf(r, INFINITY);
  }
  ce->d[n] = d;
  x->at[d].cell = cell;
  x->at[d].slot = n;
  ce->count = n + 1;
  x->size++;
  if (n == 0 && x->occupied != NULL) x->occupied[x->walk.padded[cell]] = 1;
  if (x->kp_slot != NULL) log_add(x, d);
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
    size_t cap = (size_t)ce->cap;
    for (size_t j = 0; j < 3; j++) {
      ce->f[j * cap + (size_t)i] = ce->f[j * cap + (size_t)last];
    }
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

/* Makes room for `need` edges in the three edge arrays. */
static int grow_edges(disp_index *x, int32_t need) {
  size_t c1 = x->edges_cap, c2 = x->edges_cap, c3 = x->edges_cap;
  if (rs_vec_grow(x->edge_driver, c1, (size_t)need) || rs_vec_grow(x->edge_dist, c2, (size_t)need) ||
      rs_vec_grow(x->edge_eta, c3, (size_t)need))
    return RS_ENOMEM;
  x->edges_cap = c1;
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
  /* pass 1: each driver's m nearest rows (fastest, when distance does not
   * rank pickup times) */
  const double *key = x->tm->ops->gc_monotone ? x->edge_dist : x->edge_eta;
  for (int32_t row = 0; row < n_rows; row++)
    for (int32_t k = x->row_ptr[row]; k < x->row_ptr[row + 1]; k++) {
      int32_t d = x->edge_driver[k];
      double dist = key[k];
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

/* Approximate squared chords from the point at offset g from the cell's
 * centre to entries [at, at + m), from the float offsets, into c2[0, m);
 * returns their minimum (INFINITY when m = 0). */
static float approx_block(const idx_cell *ce, int32_t at, int32_t m, const float g[3],
                          float *c2) {
  const float *fx = ce->f + at, *fy = fx + ce->cap, *fz = fy + ce->cap;
  float lo = INFINITY;
  int32_t i = 0;
#if defined(__SSE2__)
  __m128 gx = _mm_set1_ps(g[0]), gy = _mm_set1_ps(g[1]), gz = _mm_set1_ps(g[2]);
  __m128 vlo = _mm_set1_ps(INFINITY);
  for (; i + 4 <= m; i += 4) {
    __m128 a = _mm_sub_ps(gx, _mm_loadu_ps(fx + i));
    __m128 b = _mm_sub_ps(gy, _mm_loadu_ps(fy + i));
    __m128 c = _mm_sub_ps(gz, _mm_loadu_ps(fz + i));
    __m128 v = _mm_add_ps(_mm_add_ps(_mm_mul_ps(a, a), _mm_mul_ps(b, b)), _mm_mul_ps(c, c));
    _mm_storeu_ps(c2 + i, v);
    vlo = _mm_min_ps(vlo, v);
  }
  float four[4];
  _mm_storeu_ps(four, vlo);
  for (int j = 0; j < 4; j++) lo = four[j] < lo ? four[j] : lo;
#endif
  for (; i < m; i++) {
    float a = g[0] - fx[i], b = g[1] - fy[i], c = g[2] - fz[i];
    c2[i] = a * a + b * b + c * c;
    lo = c2[i] < lo ? c2[i] : lo;
  }
  return lo;
}

/* The bound on |approximate - exact squared chord| for a point whose
 * offset from the cell's centre has largest component gm, and entries
 * within `reach` of the centre. Every component of an entry's difference
 * to the point is at most M = gm + reach; rounding the two offsets and
 * their difference to float (unit roundoff u = 2^-24) errs by at most
 * 3 u M per component, which moves the sum of three squares by at most
 * 18 u M^2; the float squares and sums err by at most 9 u M^2 more; the
 * exact (double) computation errs by 2^-50 M^2. In all under 28 u M^2:
 * 2^-17 M^2 = 128 u M^2 leaves room, and the absolute term covers
 * squares that fall below float's normal range. */
static double approx_err(double gm, float reach) {
  double m = gm + (double)reach;
  return 0x1p-17 * m * m + 1e-40;
}

/* The index of the lowest set bit of m (m != 0). */
static inline int lowest_bit(unsigned m) {
#if defined(__GNUC__)
  return __builtin_ctz(m);
#else
  int n = 0;
  while (!(m & 1u)) m >>= 1, n++;
  return n;
#endif
}

/* The smallest float not below v (v >= 0, finite). */
static float float_above(double v) {
  float f = (float)v;
  if ((double)f < v) { /* the next float up: a positive float's bits count up */
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    b++;
    memcpy(&f, &b, sizeof f);
  }
  return f;
}

/* Scans one cell's idle drivers into the best list, keyed by exact squared
 * chord (monotonic in great-circle distance; from the driver's own unit
 * vector). In a cell of SMALL_CELL or more entries, the float pass first
 * picks, in blocks of 64, the entries whose exact chord can enter the list;
 * smaller cells are computed exactly throughout. */
static void scan_cell(const disp_index *x, const disp_driver *drivers, int32_t cell,
                      const double p[3], double lim2, int32_t *bd, double *bm, int32_t *nb,
                      int32_t k) {
  const idx_cell *ce = &x->cells[cell];
  int32_t n = ce->count;
  if (n < SMALL_CELL) {
    for (int32_t i = 0; i < n; i++) {
      double v = rs_chord2(drivers[ce->d[i]].u, p);
      if (v <= lim2) best_insert(bd, bm, nb, k, ce->d[i], v);
    }
    return;
  }
  double g0 = p[0] - ce->u[0], g1 = p[1] - ce->u[1], g2 = p[2] - ce->u[2];
  double gm = fabs(g0);
  if (fabs(g1) > gm) gm = fabs(g1);
  if (fabs(g2) > gm) gm = fabs(g2);
  double err = approx_err(gm, ce->reach);
  float g[3] = {(float)g0, (float)g1, (float)g2};
  float c2[64];
  for (int32_t at = 0; at < n; at += 64) {
    int32_t m = n - at < 64 ? n - at : 64;
    double lo = approx_block(ce, at, m, g, c2);
    /* t: an entry must come within it to enter the list */
    double t = *nb == k && bm[k - 1] < lim2 ? bm[k - 1] : lim2;
    if (lo - err > t) continue; /* nothing in the block can enter */
    const int32_t *ds = ce->d + at;
    /* The entries to compute exactly: those within err of t and, with
     * k = 1, within 2 err of the approximate minimum (the exact minimum is
     * among them: it is at most lo + err exactly, so at most lo + 2 err
     * approximately). best_insert keeps the nearest, ties by index. */
    float cut = float_above(k == 1 && lo + 2 * err < t + err ? lo + 2 * err : t + err);
    int32_t i = 0;
    for (; i < m; i += 4) {
      int mask;
#if defined(__SSE2__)
      if (i + 4 <= m) {
        mask = _mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(c2 + i), _mm_set1_ps(cut)));
      } else
#endif
      {
        mask = 0;
        for (int j = 0; j < 4 && i + j < m; j++) mask |= (c2[i + j] <= cut) << j;
      }
      for (; mask != 0; mask &= mask - 1) {
        int32_t j = i + lowest_bit((unsigned)mask);
        /* the list's bar only drops as entries go in */
        double tnow = *nb == k && bm[k - 1] < lim2 ? bm[k - 1] : lim2;
        if ((double)c2[j] - err > tnow) continue;
        double v = rs_chord2(drivers[ds[j]].u, p);
        if (v <= lim2) best_insert(bd, bm, nb, k, ds[j], v);
      }
    }
  }
}

/* Scans a list of drivers (the fresh ones) into the best list; drivers no
 * longer in the index (matched since the list was made) are skipped. */
static void scan_list(const disp_index *x, const disp_driver *drivers, const int32_t *list,
                      int32_t n, const double p[3], double lim2, int32_t *bd, double *bm,
                      int32_t *nb, int32_t k) {
  for (int32_t i = 0; i < n; i++) {
    if (x->at[list[i]].cell < 0) continue;
    double c2 = rs_chord2(drivers[list[i]].u, p);
    if (c2 <= lim2) best_insert(bd, bm, nb, k, list[i], c2);
  }
}

/* A full list's last squared chord b as metres and as a chord. */
static void list_limits(double b, double r, double *lim_m, double *lim_c) {
  *lim_m = rs_chord2_m(b, r);
  *lim_c = sqrt(b);
}

/* ------------------------------------------------ ranking by pickup time
 *
 * With a travel model whose times do not grow with the great-circle
 * distance (a road network), an order's candidates are the top_k idle
 * drivers within the radius by (pickup time, driver index), exactly. The
 * search walks the rings as above but computes the pickup time of every
 * driver it meets within the cut; once the list is full, the cut shrinks
 * to the model's reach for the K-th time (city_travel_reach_m: no driver
 * farther than that can be as fast), and the ring walk stops at it. A
 * driver left out lay beyond a cut at least as wide as the last one, so
 * it is slower than every kept driver: the graph is the same whatever the
 * order of the walk, and the engine's match calls the same pickup function
 * with the same inputs. */
typedef struct {
  const disp_index *x;
  const disp_driver *drivers;
  const double *p;      /* the pickup as a unit vector */
  city_loc pu;
  int64_t now;
  int32_t k;            /* list size */
  int32_t nb;           /* entries in the list */
  double radius_m;
  double cut2;          /* squared chord: drivers beyond are not looked at */
  double cut_m;         /* the cut in metres */
  /* drivers within the cut waiting to be timed: their pickup drives are
   * asked for together, after a cache hint for each (a city table's reads
   * miss the cache: hinted together, the misses overlap) */
  int32_t pend_d[ETA_BATCH];
  double pend_c2[ETA_BATCH];
  int32_t n_pend;
} eta_search;

/* Inserts (eta, driver) with its metres into the sorted best list. */
static void eta_insert(disp_index *x, eta_search *s, int32_t d, double eta, double m) {
  int32_t *bd = x->best_d;
  double *be = x->best_m, *bg = x->best_g;
  int32_t i = s->nb, k = s->k;
  if (i == k) {
    if (eta > be[k - 1] || (eta == be[k - 1] && d > bd[k - 1])) return;
    i = k - 1;
  } else {
    s->nb++;
  }
  while (i > 0 && (be[i - 1] > eta || (be[i - 1] == eta && bd[i - 1] > d))) {
    be[i] = be[i - 1];
    bd[i] = bd[i - 1];
    bg[i] = bg[i - 1];
    i--;
  }
  be[i] = eta;
  bd[i] = d;
  bg[i] = m;
  if (s->nb == k && x->tm->ops->reach_m != NULL) {
    double r = city_travel_reach_m(x->tm, be[k - 1], s->now);
    if (r < s->cut_m) {
      s->cut_m = r;
      double c2 = rs_m_to_chord2(r, x->city->earth_radius_m) * (1 + 1e-9);
      if (c2 < s->cut2) s->cut2 = c2;
    }
  }
}

/* Times the pending drivers still within the cut (it may have shrunk
 * since they were queued), in queue order. */
static void eta_flush(disp_index *x, eta_search *s) {
  const city_travel *tm = x->tm;
  if (tm->ops->prefetch != NULL)
    for (int32_t i = 0; i < s->n_pend; i++) {
      const city_loc dl = disp_driver_loc(&s->drivers[s->pend_d[i]]);
      tm->ops->prefetch(tm->ctx, &dl, &s->pu);
    }
  for (int32_t i = 0; i < s->n_pend; i++) {
    double c2 = s->pend_c2[i];
    if (c2 > s->cut2) continue;
    int32_t d = s->pend_d[i];
    double m = rs_chord2_m(c2, x->city->earth_radius_m);
    const city_loc dl = disp_driver_loc(&s->drivers[d]);
    city_leg leg;
    city_travel_pickup(tm, &dl, &s->pu, m, s->now, &leg);
    eta_insert(x, s, d, leg.secs, city_travel_pickup_m(tm, m, &leg));
  }
  s->n_pend = 0;
}

/* Queues driver d for timing when it lies within the cut. */
static void eta_consider(disp_index *x, eta_search *s, int32_t d) {
  double c2 = rs_chord2(s->drivers[d].u, s->p);
  if (c2 > s->cut2) return;
  s->pend_d[s->n_pend] = d;
  s->pend_c2[s->n_pend] = c2;
  if (++s->n_pend == ETA_BATCH) eta_flush(x, s);
}

/* One row's candidates ranked by pickup time into best_d/best_m (times)/
 * best_g (pickup distances, city_travel_pickup_m); returns the count. */
static int32_t eta_row(disp_index *x, const disp_driver *drivers, const disp_order *o,
                       int32_t c0, int fresh_only, const int32_t *fresh, int32_t n_fresh,
                       double radius_m, int32_t top_k, int64_t now) {
  eta_search s; /* set field by field: the queue needs no clearing */
  s.x = x;
  s.drivers = drivers;
  s.p = o->pu;
  s.pu = disp_order_pickup(o);
  s.now = now;
  s.k = top_k;
  s.nb = 0;
  s.radius_m = radius_m;
  s.cut2 = x->lim2;
  s.cut_m = radius_m;
  s.n_pend = 0;
  if (fresh_only) {
    for (int32_t i = 0; i < n_fresh; i++)
      if (x->at[fresh[i]].cell >= 0) eta_consider(x, &s, fresh[i]);
    eta_flush(x, &s);
    return s.nb;
  }
  if (c0 < 0) return 0;
  const int32_t *ring = disp_rings_steps(&x->walk, c0);
  int32_t pc0 = x->walk.padded[c0];
  double edge = x->grid->edge_m;
  for (int32_t k = 0; k <= x->lim_ring; k++) {
    eta_flush(x, &s); /* the ring's bound is tested against an up-to-date cut */
    if ((1.5 * k * edge - 2.0 * edge) * LB_SLACK > s.cut_m) break;
    int32_t lo = k == 0 ? 0 : 3 * k * (k - 1) + 1, hi = 3 * k * (k + 1) + 1;
    for (int32_t i = lo; i < hi; i++) {
      int32_t pc = pc0 + ring[i];
      if (!x->occupied[pc]) continue;
      int32_t c = x->walk.dense[pc];
      const idx_cell *ce = &x->cells[c];
      /* skip a cell whose every entry lies beyond the cut (triangle
       * inequality on chords, rounding covered as above) */
      double t = sqrt(s.cut2) + (double)ce->reach;
      if (k > 0 && rs_chord2(ce->u, o->pu) > t * t * (1 + 1e-12)) continue;
      for (int32_t j = 0; j < ce->count; j++) eta_consider(x, &s, ce->d[j]);
    }
  }
  eta_flush(x, &s);
  return s.nb;
}

/* One row's top k idle drivers within lim2 of pickup p (cell c0, -1:
 * none) by the ring walk, into best_d/best_m (squared chords); returns
 * the count. */
static int32_t ring_row(disp_index *x, const disp_driver *drivers, const double *p, int32_t c0,
                        double lim2, double radius_m, int32_t top_k) {
  if (c0 < 0) return 0;
  const int32_t *ring = disp_rings_steps(&x->walk, c0);
  const uint8_t *occupied = x->occupied;
  const int32_t *dense = x->walk.dense;
  int32_t pc0 = x->walk.padded[c0], nb = 0;
  double edge = x->grid->edge_m, r = x->city->earth_radius_m;
  /* lim_m: no driver farther than this can enter the list; with the list
   * full, lim_c is the same as a chord */
  double lim_m = radius_m, lim_c = 0;
  for (int32_t k = 0; k <= x->lim_ring; k++) {
    double lb = (1.5 * k * edge - 2.0 * edge) * LB_SLACK;
    if (lb > lim_m) break;
    /* ring k holds entries [kring_size(k-1), kring_size(k)) */
    int32_t lo = k == 0 ? 0 : 3 * k * (k - 1) + 1, hi = 3 * k * (k + 1) + 1;
    for (int32_t i = lo; i < hi; i++) {
      int32_t pc = pc0 + ring[i];
      if (!occupied[pc]) continue;
      int32_t c = dense[pc];
      /* with the list full, skip a cell whose centre is farther than
       * lim_c plus its reach: by the triangle inequality (chords are
       * straight lines) every entry is then beyond lim_c. The factor
       * covers the rounding of both sides (a few units of 1e-16). */
      if (k > 0 && nb == top_k) {
        double t = lim_c + (double)x->cells[c].reach;
        if (rs_chord2(x->cells[c].u, p) > t * t * (1 + 1e-12)) continue;
      }
      scan_cell(x, drivers, c, p, lim2, x->best_d, x->best_m, &nb, top_k);
      if (nb == top_k) list_limits(x->best_m[top_k - 1], r, &lim_m, &lim_c);
    }
  }
  return nb;
}

/* ------------------------------------------------------------ kept rows
 *
 * Under a policy that leaves orders waiting, every waiting order is a row
 * of every build, and its search would find the same drivers tick after
 * tick. With kept rows on, each row's search is kept between builds as a
 * list L of at most M = K + KEEP_SLACK entries in (squared chord, driver)
 * order, and a bound B (a key, or "complete"), under the invariant: every
 * driver now indexed within the radius whose key is at most B is in L
 * (complete: every one). L may also hold dead entries: drivers removed
 * (matched, gone offline) or moved since, told apart by their add count.
 *
 *   a driver added   (idle, or moved) is logged; the next build offers
 *                    it to the kept rows whose pickup cell it can reach,
 *                    and a row takes it when its key is at most B; a list
 *                    over M entries drops its dead ones, then its last,
 *                    and B becomes the key of its new last entry;
 *   a driver removed is left in the lists, dead;
 *   a build          reads the first K live entries of a row's list: by
 *                    the invariant they are the K nearest indexed drivers
 *                    within the radius (any driver not listed is beyond
 *                    B, hence beyond them), ties by index as the search's.
 *                    A list with fewer than K live entries that is not
 *                    complete is searched again (the ring walk for M).
 *
 * A row keeps its list only while its order is a row of every build: a
 * slot whose order was missing from a build (matched, expired, or a
 * fresh-only row) is freed at its end, since it missed that build's adds.
 * A change of radius or K, or a dropped log, frees every slot. The result
 * is the graph the ring walk gives, bit for bit (the same keys, computed
 * by the same rs_chord2 from the same unit vectors).
 *
 * Cost per build: O(adds x the cells within reach + the kept rows that
 * adds reach + K per row), with a full search only for new rows and lists
 * that ran dry. */

int disp_index_keep_rows(disp_index *x, int32_t n_orders) {
  if (n_orders <= 0) return 0;
  if (x->kp_slot != NULL) {
    /* on: room for more orders, their lists empty */
    if (n_orders <= x->n_orders) return 0;
    int32_t *slot = realloc(x->kp_slot, (size_t)n_orders * sizeof *slot);
    if (slot == NULL) return RS_ENOMEM;
    for (int32_t o = x->n_orders; o < n_orders; o++) slot[o] = -1;
    x->kp_slot = slot;
    x->n_orders = n_orders;
    return 0;
  }
  int32_t *slot = malloc((size_t)n_orders * sizeof *slot);
  uint32_t *add_n = calloc((size_t)(x->n_drivers > 0 ? x->n_drivers : 1), sizeof *add_n);
  if (slot == NULL || add_n == NULL) {
    free(slot);
    free(add_n);
    return RS_ENOMEM;
  }
  for (int32_t o = 0; o < n_orders; o++) slot[o] = -1;
  x->kp_slot = slot;
  x->add_n = add_n;
  x->n_orders = n_orders;
  x->kp_k = -1; /* the first build sets the lists' parameters */
  return 0;
}

/* Frees every slot. */
static void kept_clear(disp_index *x) {
  for (int32_t s = 0; s < x->n_kp; s++)
    if (x->kp_owner[s] >= 0) x->kp_slot[x->kp_owner[s]] = -1;
  x->n_kp = 0;
  x->n_kp_free = 0;
}

void disp_index_keep_rows_forget(disp_index *x) {
  if (x->kp_slot != NULL) kept_clear(x);
}

/* A slot for order o (its list empty), or -1 when out of memory. */
static int32_t kept_alloc(disp_index *x, int32_t o) {
  int32_t s;
  if (x->n_kp_free > 0) {
    s = x->kp_free[--x->n_kp_free];
  } else {
    size_t need = (size_t)x->n_kp + 1, c = x->cap_kp, w = (size_t)x->kp_m + 1;
    if (need > c) {
      size_t c1 = c, c2 = c, c3 = c, c4 = c, c5 = c, c6 = c, ce = x->cap_kp_e;
      if (rs_vec_grow(x->kp_n, c1, need) || rs_vec_grow(x->kp_t2, c2, need) ||
          rs_vec_grow(x->kp_td, c3, need) || rs_vec_grow(x->kp_owner, c4, need) ||
          rs_vec_grow(x->kp_seen, c5, need) || rs_vec_grow(x->kp_free, c6, need) ||
          rs_vec_grow(x->kp_e, ce, c1 * w))
        return -1;
      x->cap_kp = c1;
      x->cap_kp_e = ce;
    }
    if ((size_t)(x->n_kp + 1) * w > x->cap_kp_e) { /* M grew since the entries did */
      size_t ce = x->cap_kp_e;
      if (rs_vec_grow(x->kp_e, ce, x->cap_kp * w)) return -1;
      x->cap_kp_e = ce;
    }
    s = x->n_kp++;
  }
  x->kp_n[s] = 0;
  x->kp_owner[s] = o;
  x->kp_slot[o] = s;
  return s;
}

/* Fills slot s from the search just made (nb entries of best_d/best_m
 * for K = M). */
static void kept_fill(disp_index *x, int32_t s, int32_t nb) {
  kept_entry *e = x->kp_e + (size_t)s * (size_t)(x->kp_m + 1);
  double r = x->city->earth_radius_m;
  for (int32_t i = 0; i < nb; i++) {
    int32_t d = x->best_d[i];
    e[i].d = d;
    e[i].ep = x->add_n[d];
    e[i].c2 = x->best_m[i];
    e[i].m = rs_chord2_m(x->best_m[i], r);
  }
  x->kp_n[s] = nb;
  if (nb == x->kp_m) {
    x->kp_t2[s] = x->best_m[nb - 1];
    x->kp_td[s] = x->best_d[nb - 1];
  } else {
    x->kp_t2[s] = INFINITY;
    x->kp_td[s] = 0;
  }
}

static inline int kept_live(const disp_index *x, const kept_entry *k) {
  return x->at[k->d].cell >= 0 && x->add_n[k->d] == k->ep;
}

/* Drops slot s's dead entries; returns the count left. */
static int32_t kept_compact(disp_index *x, kept_entry *e, int32_t n) {
  int32_t j = 0;
  for (int32_t i = 0; i < n; i++)
    if (kept_live(x, &e[i])) e[j++] = e[i];
  return j;
}

/* Offers driver d at squared chord c2 (within the radius) to slot s. */
static void kept_offer(disp_index *x, int32_t s, int32_t d, double c2) {
  double t2 = x->kp_t2[s];
  if (c2 > t2 || (c2 == t2 && d > x->kp_td[s])) return; /* beyond the bound */
  kept_entry *e = x->kp_e + (size_t)s * (size_t)(x->kp_m + 1);
  int32_t i = x->kp_n[s];
  while (i > 0 && (e[i - 1].c2 > c2 || (e[i - 1].c2 == c2 && e[i - 1].d > d))) {
    e[i] = e[i - 1];
    i--;
  }
  e[i].d = d;
  e[i].ep = x->add_n[d];
  e[i].c2 = c2;
  e[i].m = rs_chord2_m(c2, x->city->earth_radius_m);
  int32_t n = x->kp_n[s] + 1;
  if (n > x->kp_m) {
    n = kept_compact(x, e, n);
    if (n > x->kp_m) { /* full of live entries: the last goes, B comes in */
      n = x->kp_m;
      x->kp_t2[s] = e[n - 1].c2;
      x->kp_td[s] = e[n - 1].d;
    }
  }
  x->kp_n[s] = n;
}

/* Starts a build with kept rows: parameters checked (a change frees every
 * slot), the log turned into per-cell pending lists (each live added
 * driver filed in every cell within its reach). 0 or RS_ENOMEM. */
static int kept_begin(disp_index *x, double lim2, int32_t top_k) {
  if (lim2 != x->kp_lim2 || top_k != x->kp_k || x->log_over) {
    kept_clear(x);
    x->kp_lim2 = lim2;
    x->kp_k = top_k;
    x->kp_m = top_k + KEEP_SLACK;
    x->log_over = 0;
    x->n_log = 0;
  }
  if (++x->build == 0) { /* wrapped: no stamp may look current */
    if (x->pend_stamp != NULL) memset(x->pend_stamp, 0, (size_t)x->n_pend_cells * sizeof *x->pend_stamp);
    for (int32_t s = 0; s < x->n_kp; s++) x->kp_seen[s] = 0;
    x->build = 1;
  }
  if (x->n_pend_cells != x->walk.n_padded) {
    free(x->pend_stamp);
    free(x->pend_head);
    x->pend_stamp = calloc((size_t)x->walk.n_padded, sizeof *x->pend_stamp);
    x->pend_head = malloc((size_t)x->walk.n_padded * sizeof *x->pend_head);
    x->n_pend_cells = x->pend_stamp && x->pend_head ? x->walk.n_padded : 0;
    if (x->n_pend_cells == 0) return RS_ENOMEM;
  }
  size_t n_pend = 0;
  const int32_t steps = x->walk.n_steps;
  for (int32_t i = 0; i < x->n_log; i++) {
    int32_t d = x->log_d[i];
    if (x->at[d].cell < 0 || x->add_n[d] != x->log_ep[i]) continue; /* gone, or logged again */
    int32_t c = x->at[d].cell;
    const int32_t *ring = disp_rings_steps(&x->walk, c);
    int32_t pc0 = x->walk.padded[c];
    size_t c1 = x->cap_pend, c2 = x->cap_pend;
    if (rs_vec_grow(x->pend_d, c1, n_pend + (size_t)steps) ||
        rs_vec_grow(x->pend_next, c2, n_pend + (size_t)steps))
      return RS_ENOMEM;
    x->cap_pend = c1;
    for (int32_t j = 0; j < steps; j++) {
      int32_t pc = pc0 + ring[j];
      if (x->walk.dense[pc] < 0) continue; /* the margin holds no pickup */
      if (x->pend_stamp[pc] != x->build) {
        x->pend_stamp[pc] = x->build;
        x->pend_head[pc] = -1;
      }
      x->pend_d[n_pend] = d;
      x->pend_next[n_pend] = x->pend_head[pc];
      x->pend_head[pc] = (int32_t)n_pend++;
    }
  }
  x->n_log = 0;
  return 0;
}

/* A kept row's candidates: its list brought up to date (the drivers added
 * since, a search when it ran dry, a new slot for a new order), its first
 * K live entries pointed to by *out. Returns the count, or -1 when out of
 * memory. */
static int32_t kept_row(disp_index *x, const disp_driver *drivers, int32_t o, const double *p,
                        int32_t c0, double radius_m, const kept_entry **out) {
  int32_t s = x->kp_slot[o], k = x->kp_k;
  if (s < 0) {
    if ((s = kept_alloc(x, o)) < 0) return -1;
    kept_fill(x, s, ring_row(x, drivers, p, c0, x->kp_lim2, radius_m, x->kp_m));
  } else if (x->kp_seen[s] != x->build) { /* (a row listed twice takes its adds once) */
    int32_t pc = x->walk.padded[c0];
    if (x->pend_stamp[pc] == x->build)
      for (int32_t i = x->pend_head[pc]; i >= 0; i = x->pend_next[i]) {
        int32_t d = x->pend_d[i];
        double c2 = rs_chord2(drivers[d].u, p);
        if (c2 <= x->kp_lim2) kept_offer(x, s, d, c2);
      }
  }
  x->kp_seen[s] = x->build;
  kept_entry *e = x->kp_e + (size_t)s * (size_t)(x->kp_m + 1);
  int32_t n = x->kp_n[s], i = 0, j = 0;
  for (; i < n && j < k; i++)
    if (kept_live(x, &e[i])) e[j++] = e[i];
  if (i != j) {
    memmove(e + j, e + i, (size_t)(n - i) * sizeof *e);
    x->kp_n[s] = n -= i - j;
  }
  if (j < k && x->kp_t2[s] != INFINITY) { /* ran dry: search again */
    kept_fill(x, s, ring_row(x, drivers, p, c0, x->kp_lim2, radius_m, x->kp_m));
    j = x->kp_n[s] < k ? x->kp_n[s] : k;
  }
  *out = e;
  return j;
}

/* Ends a build with kept rows: the slots whose order was not a row go. */
static void kept_end(disp_index *x) {
  for (int32_t s = 0; s < x->n_kp; s++) {
    int32_t o = x->kp_owner[s];
    if (o < 0 || x->kp_seen[s] == x->build) continue;
    x->kp_slot[o] = -1;
    x->kp_owner[s] = -1;
    x->kp_free[x->n_kp_free++] = s;
  }
}

/* Writes edge n (driver d at great-circle metres m from pickup pu); with
 * `defer` the pickup time waits for the per-driver cap (timed_edges). */
static inline void put_edge(disp_index *x, int32_t n, int32_t d, double m,
                            const disp_driver *drivers, const city_loc *pu, int64_t now,
                            int defer) {
  x->edge_driver[n] = d;
  if (defer) {
    x->edge_dist[n] = m;
    x->edge_eta[n] = 0;
    return;
  }
  const city_loc dl = disp_driver_loc(&drivers[d]);
  city_leg leg;
  city_travel_pickup(x->tm, &dl, pu, m, now, &leg);
  x->edge_dist[n] = city_travel_pickup_m(x->tm, m, &leg);
  x->edge_eta[n] = leg.secs;
}

/* Times the edges of a deferred build (put_edge): the same call on the
 * same inputs as an edge timed when found. */
static void timed_edges(disp_index *x, const disp_order *orders, const disp_driver *drivers,
                        const int32_t *row_order, int32_t n_rows, int64_t now) {
  for (int32_t row = 0; row < n_rows; row++) {
    const city_loc pu = disp_order_pickup(&orders[row_order[row]]);
    for (int32_t k = x->row_ptr[row]; k < x->row_ptr[row + 1]; k++) {
      const city_loc dl = disp_driver_loc(&drivers[x->edge_driver[k]]);
      city_leg leg;
      city_travel_pickup(x->tm, &dl, &pu, x->edge_dist[k], now, &leg);
      x->edge_eta[k] = leg.secs;
    }
  }
}

int disp_index_candidates(disp_index *x, const disp_order *orders,
                          const disp_driver *drivers, const int32_t *row_order,
                          int32_t n_rows, const uint8_t *fresh_only,
                          const int32_t *fresh, int32_t n_fresh,
                          double radius_m, int32_t top_k, int32_t driver_top_k,
                          int64_t now, disp_tick *tick, rs_err *e) {
  if (top_k < 1) top_k = 1;
  int by_eta = !x->tm->ops->gc_monotone;
  int keep = x->kp_slot != NULL && !by_eta;
  size_t k1 = x->best_cap, k2 = x->best_cap, k3 = x->best_cap;
  size_t kk = (size_t)top_k + (keep ? KEEP_SLACK : 0);
  if (rs_vec_grow(x->row_ptr, x->rows_cap, (size_t)n_rows + 1) ||
      rs_vec_grow(x->best_d, k1, kk) || rs_vec_grow(x->best_m, k2, kk) ||
      rs_vec_grow(x->best_g, k3, kk))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  x->best_cap = k1;
  const city_grid *g = x->grid;
  double r = x->city->earth_radius_m;
  /* squared chord of the radius, widened by 1e-9 so that rounding never
   * drops a driver at exactly the radius */
  if (radius_m != x->lim_radius) {
    x->lim_radius = radius_m;
    x->lim2 = rs_m_to_chord2(radius_m, r) * (1 + 1e-9);
    x->lim_ring = disp_index_max_ring(x, radius_m);
  }
  double lim2 = x->lim2;
  int32_t max_ring = x->lim_ring;
  if ((x->occupied == NULL || max_ring != x->walk.rings) && build_walk(x, max_ring))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  if (keep && kept_begin(x, lim2, top_k) != 0) {
    kept_clear(x);
    x->log_over = 1;
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  }
  int32_t n_edges = 0;
  x->row_ptr[0] = 0;
  for (int32_t row = 0; by_eta && row < n_rows; row++) {
    const disp_order *o = &orders[row_order[row]];
    int32_t c0 = o->pcell >= 0 ? o->pcell : city_grid_point_index(g, o->plat, o->plng);
    int32_t nb = eta_row(x, drivers, o, c0, fresh_only != NULL && fresh_only[row], fresh,
                         n_fresh, radius_m, top_k, now);
    if (grow_edges(x, n_edges + nb))
      return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
    for (int32_t i = 0; i < nb; i++) {
      x->edge_driver[n_edges] = x->best_d[i];
      x->edge_dist[n_edges] = x->best_g[i];
      x->edge_eta[n_edges] = x->best_m[i];
      n_edges++;
    }
    x->row_ptr[row + 1] = n_edges;
  }
  /* Great-circle pickups (the cap's key is the distance): the pickup time
   * of an edge waits until the cap has kept it. */
  int defer = !by_eta && !x->tm->ops->road_pickup_m;
  for (int32_t row = 0; !by_eta && row < n_rows; row++) {
    const disp_order *o = &orders[row_order[row]];
    int32_t c0 = o->pcell >= 0 ? o->pcell : city_grid_point_index(g, o->plat, o->plng);
    const double *p = o->pu;
    const city_loc pu = disp_order_pickup(o);
    int is_fresh = fresh_only != NULL && fresh_only[row];
    if (keep && !is_fresh && c0 >= 0) {
      const kept_entry *ke;
      int32_t nb = kept_row(x, drivers, row_order[row], p, c0, radius_m, &ke);
      if (nb < 0 || grow_edges(x, n_edges + nb)) {
        kept_clear(x);
        return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
      }
      for (int32_t i = 0; i < nb; i++)
        put_edge(x, n_edges++, ke[i].d, ke[i].m, drivers, &pu, now, defer);
      x->row_ptr[row + 1] = n_edges;
      continue;
    }
    int32_t nb = 0;
    if (is_fresh) {
      scan_list(x, drivers, fresh, n_fresh, p, lim2, x->best_d, x->best_m, &nb, top_k);
    } else {
      nb = ring_row(x, drivers, p, c0, lim2, radius_m, top_k);
    }
    if (grow_edges(x, n_edges + nb))
      return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
    for (int32_t i = 0; i < nb; i++)
      put_edge(x, n_edges++, x->best_d[i], rs_chord2_m(x->best_m[i], r), drivers, &pu, now,
               defer);
    x->row_ptr[row + 1] = n_edges;
  }
  if (keep) kept_end(x);
  if (rs_vec_grow(x->capped, x->cap_capped, (size_t)n_rows))
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  memset(x->capped, 0, (size_t)n_rows);
  if (driver_top_k > 0 && cap_drivers(x, n_rows, driver_top_k) != 0)
    return rs_err_set(e, RS_ENOMEM, "candidate graph: out of memory");
  if (defer) timed_edges(x, orders, drivers, row_order, n_rows, now);
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

/* The largest hex distance between two cells of the grid: the rectangle's
 * farthest cells are corners (the distance is a norm of the axial offset,
 * and offset rows shift axial columns by at most half a row). */
static int32_t grid_diameter(const city_grid *g) {
  if (g->n_cells <= 0) return 0;
  const int32_t last = g->n_cells - 1, rows = g->nrows, cols = g->ncols;
  const city_hex a = city_grid_hex(g, 0), b = city_grid_hex(g, cols - 1);
  const city_hex c = city_grid_hex(g, (rows - 1) * cols), d = city_grid_hex(g, last);
  int32_t m = city_hex_distance(a, d), n = city_hex_distance(b, c);
  return m > n ? m : n;
}

int32_t disp_index_max_ring(const disp_index *x, double radius_m) {
  double edge = x->grid->edge_m;
  /* the last k with 1.5 k e - 2 e <= R / LB_SLACK, but never past the
   * grid: a ring beyond its diameter holds no cell of it, and a radius of
   * 1,000 km would otherwise make rings (and the padded grid the walks
   * step through) thousands of cells wide */
  double k = floor((radius_m / LB_SLACK + 2.0 * edge) / (1.5 * edge));
  int32_t dia = grid_diameter(x->grid);
  return k > (double)dia ? dia : (int32_t)k;
}

int disp_index_check(const disp_index *x, const disp_driver *drivers) {
  int32_t total = 0;
  for (int32_t c = 0; c < x->n_cells; c++) {
    const idx_cell *ce = &x->cells[c];
    if (ce->count < 0 || ce->count > ce->cap) return -1;
    for (int32_t i = 0; i < ce->count; i++) {
      int32_t d = ce->d[i];
      if (d < 0 || d >= x->n_drivers || x->at[d].cell != c || x->at[d].slot != i) return -1;
      if (drivers == NULL) continue;
      const disp_driver *dv = &drivers[d];
      if (dv->cell != c || (dv->state != DISP_IDLE && dv->state != DISP_REPOSITION)) return -1;
      /* the float offsets and the reach agree with the driver's position */
      size_t cap = (size_t)ce->cap, k = (size_t)i;
      double o2 = 0;
      for (int j = 0; j < 3; j++) {
        double o = dv->u[j] - ce->u[j];
        if (ce->f[(size_t)j * cap + k] != (float)o) return -1;
        o2 += o * o;
      }
      if (!(sqrt(o2) <= (double)ce->reach)) return -1;
    }
    total += ce->count;
  }
  int32_t listed = 0;
  for (int32_t d = 0; d < x->n_drivers; d++) listed += x->at[d].cell >= 0;
  return total == x->size && listed == x->size ? 0 : -1;
}

/* A cache hint (none where the compiler has no builtin for it). */
#if defined(__GNUC__)
#define PREFETCH(p, rw) __builtin_prefetch((p), (rw))
#else
#define PREFETCH(p, rw) ((void)(p), (void)(rw))
#endif

void disp_index_prefetch_cell(const disp_index *x, int32_t cell) {
  if (cell >= 0 && cell < x->n_cells) PREFETCH(&x->cells[cell], 0);
}

void disp_index_prefetch_entries(const disp_index *x, int32_t cell) {
  if (cell < 0 || cell >= x->n_cells) return;
  const idx_cell *ce = &x->cells[cell];
  if (ce->count == 0) return;
  /* the float offsets by component (16 entries a line), and the indices */
  for (int32_t j = 0; j < 3; j++) {
    const float *f = ce->f + (size_t)j * (size_t)ce->cap;
    for (int32_t i = 0; i < ce->count && i < 32; i += 16) PREFETCH(f + i, 0);
  }
  PREFETCH(ce->d, 0);
}

void disp_index_prefetch_add(const disp_index *x, int32_t cell) {
  if (cell < 0 || cell >= x->n_cells) return;
  const idx_cell *ce = &x->cells[cell];
  if (ce->count >= ce->cap) return; /* it grows: nothing to ask for yet */
  size_t cap = (size_t)ce->cap, n = (size_t)ce->count;
  for (size_t j = 0; j < 3; j++) PREFETCH(ce->f + j * cap + n, 1);
  PREFETCH(ce->d + n, 1);
}

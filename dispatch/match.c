/*
 * match: maximum-weight bipartite matching, not necessarily perfect, by
 * successive shortest augmenting paths (the sparse Jonker-Volgenant family).
 *
 * Model. Minimise the cost c = -w over matchings. Keep only edges with w > 0
 * (others can never help). The smaller side becomes the rows (the input is
 * transposed into a reused buffer when n_cols < n_rows), so there are k rows
 * and m >= k columns. Every row i also owns a private "stay unmatched" column
 * of cost 0, never stored: the problem becomes an assignment in which every
 * row is assigned exactly once and every real column at most once.
 *
 * Duals. A potential v[j] <= 0 per column; a row's potential is implicit:
 * u[i] = cost[i] - v[col[i]] for a matched row, 0 for a row left unmatched.
 * Invariants between searches (the certificate disp_match_check walks):
 *   - reduced costs c(i,j) - u[i] - v[j] >= 0 on every kept edge of a row that
 *     has been processed, and = 0 on its matched edge;
 *   - u[i] <= 0 (the private column's reduced cost is -u[i] >= 0);
 *   - a free column has v = 0. This is why Jonker-Volgenant's usual column
 *     reduction is wrong here: it lowers v of columns that may end up free,
 *     and a free column with v < 0 would price "leave it empty" wrongly.
 *     The private columns are never settled before a search ends, so their
 *     potentials stay 0 and need no storage.
 * The invariants imply that for any matching M', cost(M') >= cost(M) (sum the
 * dual constraints over M'; the dropped u and v are <= 0 and the matched
 * ones sum to cost(M)).
 *
 * Start: every v = 0, then two passes of Jonker-Volgenant's augmenting row
 * reduction in which each row's private column is one more candidate whose
 * potential never moves (see init_start for why that keeps the invariants).
 * On the dispatch-like benchmark it matches about 90 % of the rows, leaving
 * a tenth of them to the searches.
 *
 * Search from a free row r: Dijkstra over columns on reduced costs, a
 * column's distance being the reduced path length to it. Settling a matched
 * column j moves on to its row i = owner[j], whose arcs are relaxed with
 * offset d[j] - u[i], and whose private column is reached at d[j] - u[i].
 * Terminals (free real columns and private columns) are never expanded, so
 * only the best terminal seen so far is kept, as a scalar, and never enters
 * the heap (a 4-ary heap of the matched columns reached). The search stops
 * as soon as the heap's minimum is not below the best terminal: that
 * terminal's distance delta is then final. Potentials of the settled
 * columns move by d[j] - delta (< 0); nothing else is touched, which is why
 * the cost of a search is proportional to the region it explores, not to
 * the graph.
 *
 * Sorted heads. As every v <= 0, an edge's cost bounds its reduced value
 * c - v[j] from below, so in a row whose edges come heaviest first a scan
 * (of the start or of a search) can stop at the first edge whose bound
 * cannot beat what the scan already has; on dispatch-like rows a few of the
 * heaviest edges decide and most of a row is never read. A row that arrives
 * in order is used as it is. Any other row is scanned in full once and then
 * given a sorted head of its MATCH_HEAD heaviest edges, the rest behind it
 * unsorted but no heavier (row_head): sorting whole rows would cost a small
 * dispatch graph, whose rows are mostly scanned once or twice, more than
 * the whole solve.
 *
 * Memory. A search's cost is dominated by the first touch of each row it
 * scans, somewhere in an edge array of several MB; the row of the column on
 * top of the heap is nearly always the next one scanned, so its edges are
 * prefetched while the current row is scanned.
 *
 * Cost: O(E) for the set-up, O(d * MATCH_HEAD) at most for the head of a
 * row of d edges, then one search per row the start did not match, each
 * O(E' log V') on the explored part. Memory: O(E + n_rows + n_cols), owned
 * by the workspace, grown on demand and never shrunk.
 *
 * Rejected: a dense O(n^3) Hungarian method (the instances are sparse, 50
 * edges per row); auction and cost-scaling (need integral costs or an epsilon
 * schedule, and are not exact for doubles); a heap holding the terminals
 * (thousands of useless insertions per search on dispatch-like graphs);
 * sorting whole rows (see above; scans rarely pass a head); re-sorting the
 * rows by c - v after the start (a tighter bound, but the re-sort costs
 * more than the scans it saves); 8-byte edges with a float lower bound of
 * the cost (no faster once rows are prefetched).
 */
#include "dispatch/match.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_heap.h"
#include "base/rs_vec.h"

/* One kept edge of the internal problem: column and cost (-w < 0). */
typedef struct {
  double c;   /* cost = -weight, always < 0 */
  int32_t j;  /* column */
} match_edge;

/* What a search keeps per column, in one 24-byte record so that an arc that
 * passes the first tests touches one cache line. The potentials sit apart
 * in a dense array: most arcs are rejected on their cost or on v alone (the
 * offer is not below the best terminal) and that array is small enough to
 * stay in cache. */
typedef struct {
  double d;        /* distance in the search stamp names */
  uint32_t stamp;  /* search id that last touched d/pos/pred */
  int32_t pos;     /* heap position, -1 absent, -2 settled */
  int32_t owner;   /* matched row or -1 */
  int32_t pred;    /* edge index of the best arc into the column */
} match_col;

/* A heap entry: key cached beside the column for cache-friendly sifting. */
typedef struct {
  double d;   /* tentative distance of col */
  int32_t j;  /* column */
} heap_item;

struct disp_match {
  /* capacities (grow-only) */
  size_t cap_rows;         /* entries of the per-row arrays */
  size_t cap_cols;         /* entries of the per-column arrays */
  size_t cap_edges;        /* entries of edges */
  /* internal problem of the last solve */
  int32_t k;               /* internal rows (smaller side) */
  int32_t n;               /* internal columns */
  int32_t transposed;      /* internal rows are the input's columns */
  double wmax;             /* largest kept weight (0 when none) */
  int exact;               /* all kept weights integral and <= EXACT_MAX */
  int solved;              /* a solve has completed */
  int32_t *ptr;            /* k + 1 offsets into edges */
  int32_t *head_end;       /* end of each row's sorted head (see row_head) */
  match_edge *edges;       /* kept edges, grouped by internal row */
  int32_t *count;          /* per input column counts when transposing */
  /* matching, per row */
  int32_t *col;            /* matched column or -1 */
  double *cost;            /* cost of the matched edge (duplicates differ) */
  int32_t *queue;          /* free rows during the start */
  /* per column */
  double *v;               /* potential, <= 0, exactly 0 while free */
  match_col *cs;           /* owner and search state */
  int32_t *settled;        /* columns settled in the current search */
  heap_item *heap;         /* 4-ary min-heap on d */
  uint32_t search_id;      /* current search, never 0 after a reset */
  disp_match_stats stats;  /* of the last solve */
};

disp_match *disp_match_new(void) {
  disp_match *m = calloc(1, sizeof *m);
  return m;
}

void disp_match_free(disp_match *m) {
  if (m == NULL) return;
  free(m->ptr);
  free(m->head_end);
  free(m->edges);
  free(m->count);
  free(m->col);
  free(m->cost);
  free(m->queue);
  free(m->cs);
  free(m->v);
  free(m->settled);
  free(m->heap);
  free(m);
}

void disp_match_last_stats(const disp_match *m, disp_match_stats *out) {
  *out = m->stats;
}

/* Makes room for k rows, n columns and ne edges. Each buffer is grown on its
 * own; after a failure the grown ones stay grown, which is harmless, and the
 * recorded capacities stay true. */
static int reserve(disp_match *m, int32_t rows, int32_t cols, int64_t ne) {
  size_t nr = (size_t)rows + 1, r[6], nc = (size_t)cols + 1, c[4];
  for (int i = 0; i < 6; i++) r[i] = m->cap_rows;
  for (int i = 0; i < 4; i++) c[i] = m->cap_cols;
  if (rs_vec_grow(m->ptr, r[0], nr) || rs_vec_grow(m->head_end, r[1], nr) ||
      rs_vec_grow(m->col, r[2], nr) || rs_vec_grow(m->cost, r[3], nr) ||
      rs_vec_grow(m->count, r[4], nr) || rs_vec_grow(m->queue, r[5], nr))
    return -1;
  m->cap_rows = r[0];
  if (rs_vec_grow(m->cs, c[0], nc) || rs_vec_grow(m->v, c[1], nc) ||
      rs_vec_grow(m->settled, c[2], nc) || rs_vec_grow(m->heap, c[3], nc))
    return -1;
  m->cap_cols = c[0];
  /* The edge array exists even for an instance without edges: the rows'
   * walks form m->edges + ptr[i], and an offset from a null pointer is
   * undefined even when it is zero. */
  if (rs_vec_grow(m->edges, m->cap_edges, ne > 0 ? (size_t)ne : 1)) return -1;
  return 0;
}

/* A hint to load the cache line at p; nothing on compilers without one. */
#if defined(__GNUC__) || defined(__clang__)
#define MATCH_PREFETCH(p) __builtin_prefetch(p)
#else
#define MATCH_PREFETCH(p) ((void)(p))
#endif

/* Edges of the next row prefetched by a search, one hint per 64-byte cache
 * line: the first 16 lines. */
#define MATCH_PREFETCH_EDGES 64
#define MATCH_LINE_EDGES ((int32_t)(64 / sizeof(match_edge)))

/* ---- 4-ary min-heap on d; cs[].pos tracks positions ----
 *
 * Four children per node: half the depth of a binary heap, so a sift-up
 * (one per relaxation that improves a column) moves fewer entries, and the
 * four children a sift-down compares share one or two cache lines. An
 * instance of base/rs_heap.h whose MOVED hook writes each column's position
 * (decrease-key finds its entry there). Ties in d are left to the heap's
 * shape, as every search takes its minimum by d alone. */

#define MATCH_HEAP_LESS(x, y) ((x)->d < (y)->d)
#define MATCH_HEAP_MOVED(x, i) (ctx->cs[(x)->j].pos = (int32_t)(i))
RS_HEAP_DEFINE_CTX(mheap, heap_item, 4, disp_match *, MATCH_HEAP_LESS, MATCH_HEAP_MOVED)

/* Puts column it.j at distance it.d: a new entry at h = the heap's size
 * (which the caller has counted), or a decrease of the entry at h. */
static inline void heap_up(disp_match *m, int32_t h, heap_item it) {
  m->heap[h] = it;
  mheap_up(m, m->heap, (size_t)h);
}

static inline heap_item heap_pop(disp_match *m, int32_t *size) {
  heap_item top = m->heap[0];
  size_t n = (size_t)*size;
  mheap_pop(m, m->heap, &n);
  *size = (int32_t)n;
  return top;
}

/* ---- set-up: validation and the internal CSR ---- */

/* The order of a row's edges: by cost, heaviest first. Equal costs may come
 * in any order: the bounds only need the costs not to decrease. */
static inline int edge_before(match_edge a, match_edge b) { return a.c < b.c; }

/* Length of the sorted head a row gets when it does not arrive in order. On
 * the benchmark's random rows a search scans 7 edges of a row on average;
 * a longer head costs more to select than it saves. */
#define MATCH_HEAD 12

/* Whether a[0..d) is in order; stops at the first pair that is not. */
static int in_order(const match_edge *a, int32_t d) {
  for (int32_t q = 1; q < d; q++)
    if (edge_before(a[q], a[q - 1])) return 0;
  return 1;
}

/* Puts row a[0..d) into head-sorted form and returns the head's length h:
 * a[0..h) is in order and no later edge is before a[h - 1]. The MATCH_HEAD
 * heaviest edges are selected into the head by insertion: O(d * MATCH_HEAD)
 * at worst and close to one comparison per edge in practice, a fraction of
 * a full sort, and a scan rarely gets past the heaviest edges (when it
 * does, it reads the tail in full). */
static int32_t sort_head(match_edge *a, int32_t d) {
  int32_t h = d < MATCH_HEAD ? d : MATCH_HEAD, q;
  for (q = 1; q < h; q++) {
    match_edge x = a[q];
    int32_t t = q;
    while (t > 0 && edge_before(x, a[t - 1])) {
      a[t] = a[t - 1];
      t--;
    }
    a[t] = x;
  }
  /* The head's last edge only gets heavier, and each edge it evicts goes
   * to the tail, so every tail edge ends up not before the final one. */
  for (q = h; q < d; q++) {
    if (!edge_before(a[q], a[h - 1])) continue;
    match_edge x = a[q];
    a[q] = a[h - 1];
    int32_t t = h - 1;
    while (t > 0 && edge_before(x, a[t - 1])) {
      a[t] = a[t - 1];
      t--;
    }
    a[t] = x;
  }
  return h;
}

/* Called before each scan of row i; returns the end of its sorted head (an
 * edge index), up to which a scan may stop early. head_end[i] says:
 *   > ptr[i]   the head ends there (ptr[i + 1]: the row arrived in order);
 *   = ptr[i]   not in order, scanned once;
 *   < ptr[i]   not in order, never scanned.
 * A row out of order is scanned in full once and given its head before its
 * second scan: many rows of a small dispatch graph are scanned once, and
 * for them the head would cost more than it saves. Moving the row's edges
 * then is safe: a row is scanned at most once per search (and the start
 * uses the edge indices of a scan at once), so no recorded edge index
 * points into it. */
static inline int32_t row_head(disp_match *m, int32_t i) {
  int32_t b = m->ptr[i], h = m->head_end[i];
  if (h > b) return h;
  if (h < b) {
    m->head_end[i] = b;
    return b;
  }
  h = b + sort_head(m->edges + b, m->ptr[i + 1] - b);
  m->head_end[i] = h;
  return h;
}

static int validate(int32_t n_rows, int32_t n_cols, const int32_t *row_ptr,
                    const int32_t *col_idx, const double *w, int64_t *n_pos,
                    rs_err *e) {
  if (n_rows < 0 || n_cols < 0)
    return rs_err_set(e, RS_EINVAL, "match: negative size %d x %d", (int)n_rows,
                      (int)n_cols);
  if (n_rows == 0) {
    *n_pos = 0;
    return 0;
  }
  if (row_ptr == NULL) return rs_err_set(e, RS_EINVAL, "match: row_ptr is NULL");
  if (row_ptr[0] < 0) return rs_err_set(e, RS_EINVAL, "match: row_ptr[0] < 0");
  if (row_ptr[n_rows] > row_ptr[0] && (col_idx == NULL || w == NULL))
    return rs_err_set(e, RS_EINVAL, "match: edges without col_idx or w");
  /* Offsets first: the edge arrays hold row_ptr[n_rows] entries, and only
   * monotone offsets keep every read below that. */
  for (int32_t i = 0; i < n_rows; i++)
    if (row_ptr[i + 1] < row_ptr[i])
      return rs_err_set(e, RS_EINVAL, "match: row_ptr decreases at row %d", (int)i);
  int64_t pos = 0;
  for (int32_t i = 0; i < n_rows; i++) {
    for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
      if (col_idx[p] < 0 || col_idx[p] >= n_cols)
        return rs_err_set(e, RS_EINVAL,
                          "match: row %d: column %d out of range [0, %d)",
                          (int)i, (int)col_idx[p], (int)n_cols);
      if (!isfinite(w[p]))
        return rs_err_set(e, RS_EINVAL, "match: row %d: non-finite weight", (int)i);
      /* Beyond 2^50 a total of many weights can overflow or lose the
       * exactness the header promises. */
      if (fabs(w[p]) > DISP_MATCH_EXACT_MAX)
        return rs_err_set(e, RS_ERANGE, "match: row %d: weight %g beyond +-2^50", (int)i, w[p]);
      pos += w[p] > 0;
    }
  }
  *n_pos = pos;
  return 0;
}

/* Whether x, |x| <= DISP_MATCH_EXACT_MAX (validate checked), is an integer:
 * the conversion truncates toward zero and is defined in that range; unlike
 * floor() it needs no library call on baseline x86-64. */
static inline int is_integral(double x) { return x == (double)(int64_t)x; }

/* Fills ptr/edges with the positive edges, rows = the smaller side, and
 * head_end with each row's state (see row_head). */
static void build(disp_match *m, int32_t n_rows, int32_t n_cols,
                  const int32_t *row_ptr, const int32_t *col_idx,
                  const double *w) {
  double wmax = 0;
  int exact = 1;
  if (!m->transposed) {
    int64_t q = 0;
    for (int32_t i = 0; i < n_rows; i++) {
      m->ptr[i] = (int32_t)q;
      for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
        double x = w[p];
        if (x <= 0) continue;
        m->edges[q].c = -x;
        m->edges[q].j = col_idx[p];
        q++;
        if (x > wmax) wmax = x;
      }
    }
    m->ptr[n_rows] = (int32_t)q;
  } else {
    /* Counting sort by input column: internal row j collects the input
     * edges (i, j) in increasing i, so the result is deterministic. */
    int32_t *cnt = m->count;
    memset(cnt, 0, ((size_t)n_cols + 1) * sizeof *cnt);
    for (int32_t i = 0; i < n_rows; i++)
      for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++)
        if (w[p] > 0) cnt[col_idx[p] + 1]++;
    for (int32_t j = 0; j < n_cols; j++) cnt[j + 1] += cnt[j];
    memcpy(m->ptr, cnt, ((size_t)n_cols + 1) * sizeof *cnt);
    for (int32_t i = 0; i < n_rows; i++)
      for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
        double x = w[p];
        if (x <= 0) continue;
        int32_t q = cnt[col_idx[p]]++;
        m->edges[q].c = -x;
        m->edges[q].j = i;
        if (x > wmax) wmax = x;
      }
  }
  for (int32_t i = 0; i < m->k; i++)
    m->head_end[i] = in_order(m->edges + m->ptr[i], m->ptr[i + 1] - m->ptr[i])
                         ? m->ptr[i + 1]
                         : m->ptr[i] - 1;
  for (int64_t q = 0; q < m->ptr[m->k]; q++) {
    if (!is_integral(-m->edges[q].c)) {
      exact = 0;
      break;
    }
  }
  m->wmax = wmax;
  m->exact = exact;
}

/* ---- the solver ---- */

/* The start may spend at most this many row steps per row before handing
 * the remaining free rows to the searches. Each step lowers one potential by
 * the gap between a row's two best offers, so it is an auction round; on
 * doubles the gaps can be tiny and the rounds many. Jonker and Volgenant run
 * two passes; steps beyond a few per row no longer pay for themselves. */
#define MATCH_START_PASSES 2
#define MATCH_START_STEPS_PER_ROW 8

/* Start: all potentials 0, then Jonker-Volgenant's augmenting row reduction
 * with each row's private column as one more candidate of value 0 whose
 * potential never moves.
 *
 * For a free row i let h(j) = c(i,j) - v[j]; let the best be u1 at j1 and
 * the second best u2 (the private column counts, with h = 0, and wins ties).
 *  - j1 private (every h >= 0): i stays unmatched for good, with u[i] = 0
 *    and all its reduced costs >= 0; no search will ever reach it again.
 *  - else i takes j1 and v[j1] drops by u2 - u1, so that u[i] = u2 <= 0 and
 *    every reduced cost of i is >= 0 with the taken edge tight. Lowering a
 *    potential only raises other rows' reduced costs; a displaced owner
 *    becomes free (free rows carry no constraint) and is processed next.
 *    On a tie (u1 == u2) with j1 taken, i takes j2 instead, unchanged.
 * Columns only ever lose potential when they become matched, and a matched
 * column stays matched (the searches re-assign, never free, a column), so a
 * free column keeps v = 0. */
static void init_start(disp_match *m) {
  int32_t k = m->k;
  match_col *cs = m->cs;
  double *v = m->v;
  const match_edge *E = m->edges;
  for (int32_t j = 0; j < m->n; j++) {
    v[j] = 0;
    cs[j].owner = -1;
    cs[j].stamp = 0;
  }
  m->search_id = 0;
  int32_t *fr = m->queue, nfree = 0;
  for (int32_t i = 0; i < k; i++) {
    m->col[i] = -1;
    m->cost[i] = 0;
    if (m->ptr[i + 1] > m->ptr[i]) fr[nfree++] = i;
  }
  int64_t budget = (int64_t)MATCH_START_STEPS_PER_ROW * k;
  for (int pass = 0; pass < MATCH_START_PASSES && nfree > 0 && budget > 0; pass++) {
    int32_t q = 0, prev = nfree, nnext = 0;
    while (q < prev && budget-- > 0) {
      int32_t i = fr[q++];
      double u1 = 0, u2 = INFINITY;
      int32_t j1 = -1, j2 = -1, p1 = -1, p2 = -1;
      const int32_t head = row_head(m, i);
      for (int32_t p = m->ptr[i]; p < m->ptr[i + 1]; p++) {
        /* h >= c as v <= 0: such an edge cannot beat the second best, and
         * within the sorted head no later edge can either. */
        if (E[p].c >= u2) {
          if (p < head) break;
          continue;
        }
        double h = E[p].c - v[E[p].j];
        if (h < u1) {
          u2 = u1;
          j2 = j1;
          p2 = p1;
          u1 = h;
          j1 = E[p].j;
          p1 = p;
        } else if (h < u2) {
          u2 = h;
          j2 = E[p].j;
          p2 = p;
        }
      }
      if (j1 < 0) continue; /* unmatched for good */
      int32_t i0 = cs[j1].owner;
      if (u1 < u2) {
        v[j1] -= u2 - u1;
      } else if (i0 >= 0) {
        /* tie: u2 == u1 < 0, so j2 is a real column */
        j1 = j2;
        p1 = p2;
        i0 = cs[j1].owner;
      }
      cs[j1].owner = i;
      m->col[i] = j1;
      m->cost[i] = E[p1].c;
      if (i0 >= 0) {
        m->col[i0] = -1;
        m->cost[i0] = 0;
        if (u1 < u2)
          fr[--q] = i0;       /* q > 0: i was just taken from there */
        else
          fr[nnext++] = i0;   /* nnext < q: that part is consumed */
      }
    }
    /* rows the budget cut off stay free for the searches */
    while (q < prev) fr[nnext++] = fr[q++];
    nfree = nnext;
  }
  int32_t matched = 0;
  for (int32_t i = 0; i < k; i++) matched += m->col[i] >= 0;
  m->stats.n_start = matched;
}

/* Offers column j the distance dj along edge p. Free columns only compete
 * for the best terminal; matched ones go to the heap. */
static inline void relax(disp_match *m, match_col *cj, int32_t j, double dj,
                         int32_t p, int32_t *hsize, double *best_d,
                         int32_t *best_col) {
  uint32_t id = m->search_id;
  if (cj->stamp != id) {
    cj->stamp = id;
    cj->pos = -1;
  } else if (dj >= cj->d || cj->pos == -2) {
    return;
  }
  cj->d = dj;
  cj->pred = p;
  if (cj->owner < 0) {
    if (dj < *best_d) {
      *best_d = dj;
      *best_col = j;
    }
    return;
  }
  heap_item it = {dj, j};
  int32_t h = cj->pos;
  if (h < 0) h = (*hsize)++;
  heap_up(m, h, it);
}

/* Relaxes the arcs of row i reached at offset base = d[j] - u[i] (0 for the
 * free row a search starts from): column k is offered base + c - v[k].
 * An offer not below the best terminal can never be settled, so it is
 * dropped. As v <= 0, t = base + c bounds the offer from below, also in
 * floating point (t - v[k] adds a non-negative number and rounding is
 * monotone), and such an arc is skipped without reading v. Within the
 * row's sorted head t only grows, and the tail's costs are not below the
 * head's last: once t reaches the best terminal in the head, no later offer
 * can beat it and the scan stops. Returns the number of arcs looked at. */
static inline int32_t scan_row(disp_match *m, int32_t i, double base,
                               int32_t *hsize, double *best_d,
                               int32_t *best_col) {
  const match_edge *E = m->edges;
  const double *v = m->v;
  const int32_t head = row_head(m, i), begin = m->ptr[i], end = m->ptr[i + 1];
  int32_t p = begin;
  for (; p < end; p++) {
    double t = base + E[p].c;
    if (t >= *best_d) {
      if (p < head) break;
      continue;
    }
    int32_t k = E[p].j;
    double dk = t - v[k];
    if (dk < *best_d) relax(m, &m->cs[k], k, dk, p, hsize, best_d, best_col);
  }
  return p - begin;
}

/* The row edge p belongs to: the last i with ptr[i] <= p (rows without
 * edges share their offset with the next row, hence "last"). */
static int32_t edge_row(const disp_match *m, int32_t p) {
  int32_t lo = 0, hi = m->k; /* ptr[lo] <= p < ptr[hi] */
  while (hi - lo > 1) {
    int32_t mid = lo + (hi - lo) / 2;
    if (m->ptr[mid] <= p)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* One augmentation from free row r: Dijkstra until the nearest terminal is
 * settled, then the dual update and the flip along the path. */
static void search(disp_match *m, int32_t r) {
  match_col *cs = m->cs;
  const double *v = m->v;
  const match_edge *E = m->edges;
  if (++m->search_id == 0) {
    for (int32_t j = 0; j < m->n; j++) cs[j].stamp = 0;
    m->search_id = 1;
  }
  int32_t hsize = 0, nset = 0;
  /* The best terminal: a free column (best_col >= 0) or, when best_col < 0,
   * the private column of row best_row. r's own is at distance 0. */
  double best_d = 0;
  int32_t best_col = -1, best_row = r;
  int64_t relaxed = 0;

  relaxed += scan_row(m, r, 0, &hsize, &best_d, &best_col);

  while (hsize > 0 && m->heap[0].d < best_d) {
    heap_item top = heap_pop(m, &hsize);
    int32_t j = top.j;
    cs[j].pos = -2;
    /* The new minimum is the likeliest next row to scan (nine times in ten
     * on the benchmarks): start loading its edges now, as rows sit at random
     * places in an array of several MB and the scan of the current row
     * hides most of the latency. */
    if (hsize > 0) {
      int32_t o = cs[m->heap[0].j].owner;
      int32_t b = m->ptr[o], e = m->ptr[o + 1];
      if (e - b > MATCH_PREFETCH_EDGES) e = b + MATCH_PREFETCH_EDGES;
      for (int32_t q = b; q < e; q += MATCH_LINE_EDGES) MATCH_PREFETCH(&E[q]);
    }
    m->settled[nset++] = j;
    int32_t i = cs[j].owner;
    double base = top.d - (m->cost[i] - v[j]); /* d[j] - u[i] */
    if (base < best_d) { /* row i's private column */
      best_d = base;
      best_col = -1;
      best_row = i;
    }
    relaxed += scan_row(m, i, base, &hsize, &best_d, &best_col);
  }

  /* Dual update of the settled columns only: all have d < best_d. */
  for (int32_t s = 0; s < nset; s++) {
    int32_t j = m->settled[s];
    m->v[j] += cs[j].d - best_d;
  }

  /* Flip the path. A private-column terminal frees the column row best_row
   * held (unless it is r itself, which simply stays unmatched); that column
   * is on the path and is re-assigned at once, so no column becomes free. */
  int32_t j = best_col;
  if (j < 0) {
    int32_t i = best_row;
    if (i == r) goto done;
    j = m->col[i];
    m->col[i] = -1;
    m->cost[i] = 0;
  }
  for (;;) {
    int32_t p = cs[j].pred;
    int32_t i = p < m->ptr[r + 1] && p >= m->ptr[r] ? r : edge_row(m, p);
    int32_t next = m->col[i];
    cs[j].owner = i;
    m->col[i] = j;
    m->cost[i] = E[p].c;
    if (i == r) break;
    j = next;
  }
done:
  m->stats.n_searches++;
  m->stats.n_settled += nset;
  m->stats.n_relaxed += relaxed;
}

int disp_match_solve(disp_match *m, int32_t n_rows, int32_t n_cols,
                     const int32_t *row_ptr, const int32_t *col_idx,
                     const double *w, int32_t *row_to_col, double *total,
                     rs_err *e) {
  int64_t n_pos = 0;
  int rc = validate(n_rows, n_cols, row_ptr, col_idx, w, &n_pos, e);
  if (rc != 0) return rc;
  int transposed = n_cols < n_rows;
  int32_t k = transposed ? n_cols : n_rows;
  int32_t n = transposed ? n_rows : n_cols;
  /* count[] is indexed by input column when transposing: k + 1 entries. */
  if (reserve(m, k, n, n_pos) != 0)
    return rs_err_set(e, RS_ENOMEM, "match: out of memory for %d x %d, %lld edges",
                      (int)n_rows, (int)n_cols, (long long)n_pos);

  m->solved = 0;
  m->k = k;
  m->n = n;
  m->transposed = transposed;
  memset(&m->stats, 0, sizeof m->stats);
  build(m, n_rows, n_cols, row_ptr, col_idx, w);
  init_start(m);
  for (int32_t i = 0; i < k; i++)
    if (m->col[i] < 0 && m->ptr[i + 1] > m->ptr[i]) search(m, i);

  /* Results in input orientation; the total by Neumaier summation so that
   * doubles lose nothing to the order of addition. */
  for (int32_t i = 0; i < n_rows; i++) row_to_col[i] = -1;
  double sum = 0, comp = 0;
  int32_t matched = 0;
  for (int32_t i = 0; i < k; i++) {
    if (m->col[i] < 0) continue;
    matched++;
    if (transposed)
      row_to_col[m->col[i]] = i;
    else
      row_to_col[i] = m->col[i];
    double x = -m->cost[i];
    double t = sum + x;
    comp += fabs(sum) >= fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  *total = sum + comp;
  m->stats.n_rows = k;
  m->stats.n_cols = n;
  m->stats.transposed = transposed;
  m->stats.n_matched = matched;
  m->stats.n_edges = n_pos;
  m->solved = 1;
  return 0;
}

/* ---- checks ---- */

int disp_match_check(const disp_match *m, double *max_violation, rs_err *e) {
  if (max_violation) *max_violation = 0;
  if (!m->solved) return 0;
  int32_t k = m->k, n = m->n;
  double tol = m->exact ? 0 : DISP_MATCH_REL_TOL * (double)k * m->wmax;
  double worst = 0;
#define VIOLATION(x)              \
  do {                            \
    if ((x) > worst) worst = (x); \
  } while (0)
  for (int32_t j = 0; j < n; j++) {
    int32_t i = m->cs[j].owner;
    if (i < -1 || i >= k || (i >= 0 && m->col[i] != j))
      return rs_err_set(e, RS_EINVAL, "match check: column %d owner %d inconsistent",
                        (int)j, (int)i);
    if (i < 0 && m->v[j] != 0)
      return rs_err_set(e, RS_EINVAL, "match check: free column %d has potential %g",
                        (int)j, m->v[j]);
    VIOLATION(m->v[j]);
  }
  for (int32_t i = 0; i < k; i++) {
    int32_t j = m->col[i];
    double u = 0;
    if (j >= 0) {
      if (j >= n || m->cs[j].owner != i)
        return rs_err_set(e, RS_EINVAL, "match check: row %d column %d inconsistent",
                          (int)i, (int)j);
      u = m->cost[i] - m->v[j];
      VIOLATION(u); /* u <= 0: the private column's reduced cost */
      int found = 0;
      for (int32_t p = m->ptr[i]; p < m->ptr[i + 1]; p++)
        found |= m->edges[p].j == j && m->edges[p].c == m->cost[i];
      if (!found)
        return rs_err_set(e, RS_EINVAL, "match check: row %d matched to non-edge %d",
                          (int)i, (int)j);
    }
    for (int32_t p = m->ptr[i]; p < m->ptr[i + 1]; p++) {
      double red = m->edges[p].c - u - m->v[m->edges[p].j];
      VIOLATION(-red);
    }
  }
#undef VIOLATION
  if (max_violation) *max_violation = worst;
  if (worst > tol)
    return rs_err_set(e, RS_EINVAL,
                      "match check: dual violation %g above tolerance %g", worst, tol);
  return 0;
}

int disp_match_verify(int32_t n_rows, int32_t n_cols, const int32_t *row_ptr,
                      const int32_t *col_idx, const double *w,
                      const int32_t *row_to_col, double total, rs_err *e) {
  double sum = 0, comp = 0, mag = 0;
  /* One mark per column finds a column used twice. Verification is for
   * tests and tools, not the hot path, so it may allocate. */
  unsigned char *used = calloc((size_t)n_cols + 1, 1);
  if (used == NULL) return rs_err_set(e, RS_ENOMEM, "match verify: out of memory");
  int rc = 0;
  for (int32_t i = 0; i < n_rows && rc == 0; i++) {
    int32_t j = row_to_col[i];
    if (j == -1) continue;
    if (j < 0 || j >= n_cols) {
      rc = rs_err_set(e, RS_EINVAL, "match verify: row %d: column %d out of range",
                      (int)i, (int)j);
      break;
    }
    if (used[j]) {
      rc = rs_err_set(e, RS_EINVAL, "match verify: column %d used twice", (int)j);
      break;
    }
    used[j] = 1;
    double best = -INFINITY;
    for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++)
      if (col_idx[p] == j && w[p] > best) best = w[p];
    if (!(best > 0)) {
      rc = rs_err_set(e, RS_EINVAL,
                      "match verify: row %d: (%d, %d) is not an edge of positive weight",
                      (int)i, (int)i, (int)j);
      break;
    }
    double t = sum + best;
    comp += fabs(sum) >= fabs(best) ? (sum - t) + best : (best - t) + sum;
    sum = t;
    mag += best;
  }
  free(used);
  if (rc != 0) return rc;
  sum += comp;
  if (fabs(sum - total) > 1e-9 * (mag > 1 ? mag : 1))
    return rs_err_set(e, RS_EINVAL, "match verify: total %.17g but pairs sum to %.17g",
                      total, sum);
  return 0;
}

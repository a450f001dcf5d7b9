/*
 * roadnet_ch: building the contraction hierarchy and its hub labels, and
 * answering queries; see roadnet_ch.h.
 *
 * The graph while contracting: per node, the edges to and from nodes not
 * yet contracted (growable arrays), with at most one edge per ordered pair
 * (a shortcut that meets an existing edge keeps the lighter). When v is
 * contracted its remaining edges are final: edges out of v go up (every
 * node left is ranked above v), edges into v come down.
 *
 * Priority of v: shortcuts its contraction would add, minus the edges it
 * removes, plus its contracted neighbours and its level (one above the
 * highest contracted neighbour): the usual terms, which keep the hierarchy
 * shallow and even. The queue is lazy: a popped node whose recomputed
 * priority exceeds the next one's goes back. Witness searches are plain
 * Dijkstras over the remaining graph avoiding v, bounded by the heaviest
 * path through v and by WITNESS_SETTLE settled nodes (SIM_SETTLE while
 * only estimating the priority); a search cut short adds a shortcut that
 * may not be needed, never loses one.
 *
 * Labels: top rank first; a node's candidate entries go into a dense
 * array by hub rank (least weight, ties by the lower `via`), are sorted
 * by hub, and each is checked against the hub's own backward (forward)
 * label: kept only when no shared hub gives a shorter distance.
 *
 * Rejected: labels straight from CH searches per node (the same entries,
 * but a Dijkstra per node instead of a merge); many-to-many buckets (fast
 * for batches, not for the single pairs the simulator asks).
 */
#include "city_data/roadnet_ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rs_heap.h"
#include "base/rs_mem.h"
#include "base/rs_vec.h"
#include "city_data/roadnet_cache.h"

#define WITNESS_SETTLE 500 /* nodes a contraction's witness search may settle */
#define SIM_SETTLE 60      /* ... and a priority estimate's */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------ dynamic graph */

typedef struct {
  city_ch_edge *a;
  int32_t n;
  size_t cap;
} elist;

static int elist_put(elist *l, int32_t node, int32_t mid, uint64_t w) {
  for (int32_t i = 0; i < l->n; i++)
    if (l->a[i].node == node) {
      if (w < l->a[i].w) {
        l->a[i].w = w;
        l->a[i].mid = mid;
      }
      return 0;
    }
  if (rs_vec_grow(l->a, l->cap, (size_t)l->n + 1)) return RS_ENOMEM;
  l->a[l->n++] = (city_ch_edge){node, mid, w};
  return 0;
}

static void elist_del(elist *l, int32_t node) {
  for (int32_t i = 0; i < l->n; i++)
    if (l->a[i].node == node) {
      l->a[i] = l->a[--l->n];
      return;
    }
}

typedef struct {
  uint64_t k;
  int32_t v;
} hq_item;
#define HQ_LESS(a, b) ((a)->k < (b)->k || ((a)->k == (b)->k && (a)->v < (b)->v))
RS_HEAP_DEFINE(hq_heap, hq_item, 4, HQ_LESS, RS_HEAP_NO_MOVE)

typedef struct {
  int32_t n;
  elist *out, *in;
  uint8_t *done;         /* contracted */
  int32_t *deleted;      /* per node: contracted neighbours */
  int32_t *level;
  /* witness search scratch */
  uint64_t *dist;
  int32_t *touched;
  int32_t n_touched;
  hq_item *heap;
  size_t heap_cap;
} cgraph;

/* Dijkstra from u over the remaining graph without v, up to weight
 * `bound` and `settle` settled nodes; distances in g->dist (reset by the
 * next call). */
static int witness(cgraph *g, int32_t u, int32_t v, uint64_t bound, int settle) {
  for (int32_t i = 0; i < g->n_touched; i++) g->dist[g->touched[i]] = UINT64_MAX;
  g->n_touched = 0;
  size_t hn = 0;
  g->dist[u] = 0;
  g->touched[g->n_touched++] = u;
  if (rs_vec_grow(g->heap, g->heap_cap, 1)) return RS_ENOMEM;
  hq_heap_push(g->heap, &hn, (hq_item){0, u});
  int settled = 0;
  while (hn > 0 && settled < settle) {
    hq_item it = g->heap[0];
    hq_heap_pop(g->heap, &hn);
    if (it.k != g->dist[it.v]) continue;
    if (it.k > bound) break;
    settled++;
    const elist *l = &g->out[it.v];
    if (rs_vec_grow(g->heap, g->heap_cap, hn + (size_t)l->n)) return RS_ENOMEM;
    for (int32_t i = 0; i < l->n; i++) {
      int32_t x = l->a[i].node;
      if (x == v) continue;
      uint64_t d = it.k + l->a[i].w;
      if (d > bound) continue;
      if (g->dist[x] == UINT64_MAX) g->touched[g->n_touched++] = x;
      if (d < g->dist[x]) {
        g->dist[x] = d;
        hq_heap_push(g->heap, &hn, (hq_item){d, x});
      }
    }
  }
  return 0;
}

/* Contracts v (add = 1) or counts the shortcuts it would add (add = 0):
 * returns the count, or a negative code. */
static int64_t contract(cgraph *g, int32_t v, int add) {
  elist *in = &g->in[v], *out = &g->out[v];
  int64_t count = 0;
  uint64_t max_out = 0;
  for (int32_t j = 0; j < out->n; j++)
    if (out->a[j].w > max_out) max_out = out->a[j].w;
  for (int32_t i = 0; i < in->n; i++) {
    int32_t u = in->a[i].node;
    uint64_t wu = in->a[i].w;
    int rc = witness(g, u, v, wu + max_out, add ? WITNESS_SETTLE : SIM_SETTLE);
    if (rc) return rc;
    for (int32_t j = 0; j < out->n; j++) {
      int32_t x = out->a[j].node;
      if (x == u) continue;
      uint64_t w = wu + out->a[j].w;
      if (g->dist[x] <= w) continue;
      count++;
      if (!add) continue;
      if (elist_put(&g->out[u], x, v, w) || elist_put(&g->in[x], u, v, w)) return RS_ENOMEM;
    }
  }
  return count;
}

/* v's priority into *p; 0 or RS_ENOMEM. */
static int priority(cgraph *g, int32_t v, int64_t *p) {
  int64_t sc = contract(g, v, 0);
  if (sc < 0) return (int)sc;
  *p = 2 * (sc - g->in[v].n - g->out[v].n) + g->deleted[v] + g->level[v];
  return 0;
}

/* A priority as a heap key: shifted to unsigned (priorities are far
 * above -PRIO_OFF: at least -2 x the largest degree). */
#define PRIO_OFF ((int64_t)1 << 40)
static uint64_t prio_key(int64_t p) { return (uint64_t)(p + PRIO_OFF); }

static int ecmp(const void *pa, const void *pb) {
  const city_ch_edge *a = pa, *b = pb;
  return a->node < b->node ? -1 : a->node > b->node;
}

/* Contracts every node; fills rank, node_of, up, down. */
static int build_ch(city_net_hubs *h) {
  const city_net *net = h->net;
  int32_t n = net->n_nodes;
  cgraph g;
  memset(&g, 0, sizeof g);
  g.n = n;
  g.out = calloc((size_t)n, sizeof *g.out);
  g.in = calloc((size_t)n, sizeof *g.in);
  g.done = calloc((size_t)n, 1);
  g.deleted = calloc((size_t)n, sizeof *g.deleted);
  g.level = calloc((size_t)n, sizeof *g.level);
  g.dist = malloc((size_t)n * sizeof *g.dist);
  g.touched = malloc((size_t)n * sizeof *g.touched);
  int64_t *prio = malloc((size_t)n * sizeof *prio);
  hq_item *q = malloc((size_t)n * 4 * sizeof *q + sizeof *q);
  elist *up = calloc((size_t)n, sizeof *up), *down = calloc((size_t)n, sizeof *down);
  int rc = RS_ENOMEM;
  size_t qcap = (size_t)n * 4 + 1, qn = 0;
  if (!g.out || !g.in || !g.done || !g.deleted || !g.level || !g.dist || !g.touched || !prio ||
      !q || !up || !down)
    goto out;
  for (int32_t v = 0; v < n; v++) g.dist[v] = UINT64_MAX;
  for (int32_t v = 0; v < n; v++)
    for (int32_t i = net->first[v]; i < net->first[v + 1]; i++)
      if (elist_put(&g.out[v], net->head[i], -1, net->w[i]) ||
          elist_put(&g.in[net->head[i]], v, -1, net->w[i]))
        goto out;
  for (int32_t v = 0; v < n; v++) {
    if (priority(&g, v, &prio[v])) goto out;
    hq_heap_push(q, &qn, (hq_item){prio_key(prio[v]), v});
  }
  int32_t r = 0;
  while (qn > 0) {
    hq_item it = q[0];
    hq_heap_pop(q, &qn);
    int32_t v = it.v;
    if (g.done[v] || it.k != prio_key(prio[v])) continue;
    int64_t p;
    if (priority(&g, v, &p)) goto out;
    if (p > prio[v]) {
      /* worse than when queued: back in, unless still the least */
      prio[v] = p;
      if (qn > 0 && prio_key(p) > q[0].k) {
        hq_heap_push(q, &qn, (hq_item){prio_key(p), v});
        continue;
      }
    }
    /* contract v: its edges are final */
    int64_t sc = contract(&g, v, 1);
    if (sc < 0) goto out;
    h->shortcuts += sc;
    h->rank[v] = r;
    h->node_of[r] = v;
    r++;
    g.done[v] = 1;
    for (int32_t j = 0; j < g.out[v].n; j++) {
      const city_ch_edge *ed = &g.out[v].a[j];
      if (elist_put(&up[v], ed->node, ed->mid, ed->w)) goto out;
      elist_del(&g.in[ed->node], v);
    }
    for (int32_t i = 0; i < g.in[v].n; i++) {
      const city_ch_edge *ed = &g.in[v].a[i];
      if (elist_put(&down[v], ed->node, ed->mid, ed->w)) goto out;
      elist_del(&g.out[ed->node], v);
    }
    /* neighbours: one more contracted neighbour, a level above v */
    for (int side = 0; side < 2; side++) {
      const elist *l = side ? &g.in[v] : &g.out[v];
      for (int32_t i = 0; i < l->n; i++) {
        int32_t x = l->a[i].node;
        g.deleted[x]++;
        if (g.level[x] < g.level[v] + 1) g.level[x] = g.level[v] + 1;
        int64_t px;
        if (priority(&g, x, &px)) goto out;
        if (px != prio[x]) {
          prio[x] = px;
          if (rs_vec_grow(q, qcap, qn + 1)) goto out;
          hq_heap_push(q, &qn, (hq_item){prio_key(px), x});
        }
      }
    }
    free(g.out[v].a);
    free(g.in[v].a);
    g.out[v] = (elist){0};
    g.in[v] = (elist){0};
  }
  /* the final CSR arrays, edges sorted by node */
  int64_t nu = 0, nd = 0;
  for (int32_t v = 0; v < n; v++) {
    nu += up[v].n;
    nd += down[v].n;
  }
  h->up_first = malloc(((size_t)n + 1) * sizeof *h->up_first);
  h->down_first = malloc(((size_t)n + 1) * sizeof *h->down_first);
  h->up = malloc((size_t)(nu + 1) * sizeof *h->up);
  h->down = malloc((size_t)(nd + 1) * sizeof *h->down);
  if (!h->up_first || !h->down_first || !h->up || !h->down) goto out;
  int32_t ku = 0, kd = 0;
  for (int32_t v = 0; v < n; v++) {
    h->up_first[v] = ku;
    h->down_first[v] = kd;
    if (up[v].n > 1) qsort(up[v].a, (size_t)up[v].n, sizeof *up[v].a, ecmp);
    if (down[v].n > 1) qsort(down[v].a, (size_t)down[v].n, sizeof *down[v].a, ecmp);
    if (up[v].n) memcpy(h->up + ku, up[v].a, (size_t)up[v].n * sizeof *h->up);
    if (down[v].n) memcpy(h->down + kd, down[v].a, (size_t)down[v].n * sizeof *h->down);
    ku += up[v].n;
    kd += down[v].n;
  }
  h->up_first[n] = ku;
  h->down_first[n] = kd;
  h->bytes += ((size_t)2 * ((size_t)n + 1)) * sizeof(int32_t) +
              (size_t)(ku + kd) * sizeof(city_ch_edge) + (size_t)2 * (size_t)n * sizeof(int32_t);
  rc = 0;
out:
  if (g.out)
    for (int32_t v = 0; v < n; v++) free(g.out[v].a);
  if (g.in)
    for (int32_t v = 0; v < n; v++) free(g.in[v].a);
  if (up)
    for (int32_t v = 0; v < n; v++) free(up[v].a);
  if (down)
    for (int32_t v = 0; v < n; v++) free(down[v].a);
  free(g.out);
  free(g.in);
  free(g.done);
  free(g.deleted);
  free(g.level);
  free(g.dist);
  free(g.touched);
  free(g.heap);
  free(prio);
  free(q);
  free(up);
  free(down);
  return rc;
}

/* ------------------------------------------------------------ labels */

/* A label under construction: its own allocation per node until the
 * labels are packed. */
typedef struct {
  uint32_t *hub;
  uint64_t *w;
  int32_t *via;
  int32_t n;          /* entries, without the sentinel */
} tlabel;

static int u32cmp(const void *pa, const void *pb) {
  uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  return a < b ? -1 : a > b;
}

/* The least df + db over the hubs two sorted, sentinel-closed labels share. */
static uint64_t merge_min(const uint32_t *hf, const uint64_t *wf, const uint32_t *hb,
                          const uint64_t *wb) {
  uint64_t best = UINT64_MAX;
  size_t i = 0, j = 0;
  /* the steps are computed, not branched on: the only branch (a shared
   * hub) is rare and predictable */
  for (;;) {
    uint32_t a = hf[i], b = hb[j];
    if (a == b) {
      if (a == UINT32_MAX) break;
      uint64_t d = wf[i] + wb[j];
      best = d < best ? d : best;
    }
    i += a <= b;
    j += b <= a;
  }
  return best;
}

/* Builds v's label of one direction (fwd: from up edges, checked against
 * the backward labels) into lab[v]. best/bvia are rank-indexed scratch
 * (UINT64_MAX / any); list has room for n ranks. */
static int make_label(const city_net_hubs *h, int32_t v, int fwd, tlabel *lab, const tlabel *other,
                      uint64_t *best, int32_t *bvia, uint32_t *list) {
  const int32_t *first = fwd ? h->up_first : h->down_first;
  const city_ch_edge *ed = fwd ? h->up : h->down;
  int32_t n_list = 0;
  uint32_t rv = (uint32_t)h->rank[v];
  best[rv] = 0;
  bvia[rv] = -1;
  list[n_list++] = rv;
  for (int32_t k = first[v]; k < first[v + 1]; k++) {
    int32_t x = ed[k].node;
    const tlabel *lx = &lab[x];
    for (int32_t i = 0; i < lx->n; i++) {
      uint32_t hub = lx->hub[i];
      uint64_t d = lx->w[i] + ed[k].w;
      if (best[hub] == UINT64_MAX) {
        list[n_list++] = hub;
        best[hub] = d;
        bvia[hub] = x;
      } else if (d < best[hub] || (d == best[hub] && x < bvia[hub])) {
        best[hub] = d;
        bvia[hub] = x;
      }
    }
  }
  qsort(list, (size_t)n_list, sizeof *list, u32cmp);
  tlabel *L = &lab[v];
  L->hub = malloc(((size_t)n_list + 1) * sizeof *L->hub);
  L->w = malloc(((size_t)n_list + 1) * sizeof *L->w);
  L->via = malloc(((size_t)n_list + 1) * sizeof *L->via);
  if (!L->hub || !L->w || !L->via) return RS_ENOMEM;
  for (int32_t i = 0; i < n_list; i++) {
    L->hub[i] = list[i];
    L->w[i] = best[list[i]];
    L->via[i] = bvia[list[i]];
    best[list[i]] = UINT64_MAX;
  }
  L->hub[n_list] = UINT32_MAX;
  L->w[n_list] = 0;
  L->via[n_list] = -1;
  /* prune: an entry is kept when it is the true distance to its hub,
   * measured over the whole label (list[i] then says keep) */
  for (int32_t i = 0; i < n_list; i++) {
    int32_t hn = h->node_of[L->hub[i]];
    uint64_t d = 0;
    if (hn != v) {
      const tlabel *o = &other[hn];
      d = fwd ? merge_min(L->hub, L->w, o->hub, o->w) : merge_min(o->hub, o->w, L->hub, L->w);
    }
    list[i] = d >= L->w[i];
  }
  int32_t k = 0;
  for (int32_t i = 0; i < n_list; i++) {
    if (!list[i]) continue;
    L->hub[k] = L->hub[i];
    L->w[k] = L->w[i];
    L->via[k] = L->via[i];
    k++;
  }
  L->hub[k] = UINT32_MAX;
  L->w[k] = 0;
  L->via[k] = -1;
  L->n = k;
  return 0;
}

static int build_labels(city_net_hubs *h) {
  int32_t n = h->n;
  tlabel *lf = calloc((size_t)n, sizeof *lf), *lb = calloc((size_t)n, sizeof *lb);
  uint64_t *best = malloc((size_t)n * sizeof *best);
  int32_t *bvia = malloc((size_t)n * sizeof *bvia);
  uint32_t *list = malloc((size_t)n * sizeof *list);
  int rc = RS_ENOMEM;
  if (!lf || !lb || !best || !bvia || !list) goto out;
  for (int32_t i = 0; i < n; i++) best[i] = UINT64_MAX;
  for (int32_t r = n - 1; r >= 0; r--) {
    int32_t v = h->node_of[r];
    if (make_label(h, v, 1, lf, lb, best, bvia, list) ||
        make_label(h, v, 0, lb, lf, best, bvia, list))
      goto out;
  }
  /* pack */
  int64_t tf = 0, tb = 0;
  for (int32_t v = 0; v < n; v++) {
    tf += lf[v].n + 1;
    tb += lb[v].n + 1;
  }
  h->lf_first = malloc(((size_t)n + 1) * sizeof *h->lf_first);
  h->lb_first = malloc(((size_t)n + 1) * sizeof *h->lb_first);
  /* block words: hubs (sentinel included) in ceil(c / 2) words, weights in c */
  int64_t wf = 0, wb = 0;
  for (int32_t v = 0; v < n; v++) {
    int64_t cf = lf[v].n + 1, cb = lb[v].n + 1;
    wf += (cf + 1) / 2 + cf;
    wb += (cb + 1) / 2 + cb;
  }
  h->lf_off = malloc(((size_t)n + 1) * sizeof *h->lf_off);
  h->lb_off = malloc(((size_t)n + 1) * sizeof *h->lb_off);
  h->lf_blk = rs_mem_array((size_t)wf, sizeof *h->lf_blk, 0, 1);
  h->lb_blk = rs_mem_array((size_t)wb, sizeof *h->lb_blk, 0, 1);
  h->lf_via = malloc((size_t)tf * sizeof *h->lf_via);
  h->lb_via = malloc((size_t)tb * sizeof *h->lb_via);
  if (!h->lf_first || !h->lb_first || !h->lf_off || !h->lb_off || !h->lf_blk || !h->lb_blk ||
      !h->lf_via || !h->lb_via)
    goto out;
  int64_t kf = 0, kb = 0, of = 0, ob = 0;
  for (int32_t v = 0; v < n; v++) {
    size_t cf = (size_t)lf[v].n + 1, cb = (size_t)lb[v].n + 1;
    h->lf_first[v] = kf;
    h->lb_first[v] = kb;
    h->lf_off[v] = of;
    h->lb_off[v] = ob;
    memcpy(h->lf_blk + of, lf[v].hub, cf * sizeof *lf[v].hub);
    memcpy(h->lf_blk + of + (cf + 1) / 2, lf[v].w, cf * sizeof *lf[v].w);
    memcpy(h->lf_via + kf, lf[v].via, cf * sizeof *h->lf_via);
    memcpy(h->lb_blk + ob, lb[v].hub, cb * sizeof *lb[v].hub);
    memcpy(h->lb_blk + ob + (cb + 1) / 2, lb[v].w, cb * sizeof *lb[v].w);
    memcpy(h->lb_via + kb, lb[v].via, cb * sizeof *h->lb_via);
    kf += (int64_t)cf;
    kb += (int64_t)cb;
    of += (int64_t)((cf + 1) / 2 + cf);
    ob += (int64_t)((cb + 1) / 2 + cb);
  }
  h->lf_off[n] = of;
  h->lb_off[n] = ob;
  h->lf_first[n] = kf;
  h->lb_first[n] = kb;
  h->label_entries = tf + tb - 2 * (int64_t)n;
  h->bytes += (size_t)(wf + wb) * sizeof(uint64_t) + (size_t)(tf + tb) * sizeof(int32_t) +
              4 * ((size_t)n + 1) * sizeof(int64_t);
  rc = 0;
out:
  for (int32_t v = 0; lf && v < n; v++) {
    free(lf[v].hub);
    free(lf[v].w);
    free(lf[v].via);
  }
  for (int32_t v = 0; lb && v < n; v++) {
    free(lb[v].hub);
    free(lb[v].w);
    free(lb[v].via);
  }
  free(lf);
  free(lb);
  free(best);
  free(bvia);
  free(list);
  return rc;
}

int city_net_hubs_build(const city_net *net, int threads, city_net_hubs **out, rs_err *e) {
  (void)threads;
  *out = NULL;
  city_net_hubs *h = calloc(1, sizeof *h);
  if (h == NULL) return rs_err_set(e, RS_ENOMEM, "hub labels: out of memory");
  h->net = net;
  h->n = net->n_nodes;
  h->rank = malloc((size_t)h->n * sizeof *h->rank);
  h->node_of = malloc((size_t)h->n * sizeof *h->node_of);
  double t0 = now_s();
  if (!h->rank || !h->node_of || build_ch(h) != 0) {
    city_net_hubs_free(h);
    return rs_err_set(e, RS_ENOMEM, "contraction hierarchy: out of memory");
  }
  double t1 = now_s();
  h->ch_s = t1 - t0;
  if (build_labels(h) != 0) {
    city_net_hubs_free(h);
    return rs_err_set(e, RS_ENOMEM, "hub labels: out of memory");
  }
  h->labels_s = now_s() - t1;
  *out = h;
  return 0;
}

void city_net_hubs_free(city_net_hubs *h) {
  if (h == NULL) return;
  free(h->rank);
  free(h->node_of);
  free(h->up_first);
  free(h->up);
  free(h->down_first);
  free(h->down);
  free(h->lf_first);
  free(h->lb_first);
  free(h->lf_off);
  free(h->lb_off);
  free(h->lf_blk);
  free(h->lb_blk);
  free(h->lf_via);
  free(h->lb_via);
  free(h);
}

/* ------------------------------------------------------------ cache */

#define HUBS_KIND 0x68756231u /* "hub1" */
#define HUBS_BLOBS 15

/* The arrays of h as cache blobs (pointers to h's own fields). */
static void hubs_blobs(city_net_hubs *h, int64_t *params, city_net_blob *b, void ***slot) {
  size_t n = (size_t)h->n, n1 = n + 1;
  size_t nu = h->up_first ? (size_t)h->up_first[n] : 0, nd = h->down_first ? (size_t)h->down_first[n] : 0;
  size_t tf = h->lf_first ? (size_t)h->lf_first[n] : 0, tb = h->lb_first ? (size_t)h->lb_first[n] : 0;
  size_t wf = h->lf_off ? (size_t)h->lf_off[n] : 0, wb = h->lb_off ? (size_t)h->lb_off[n] : 0;
  void **s[HUBS_BLOBS] = {NULL,
                          (void **)&h->rank, (void **)&h->node_of, (void **)&h->up_first,
                          (void **)&h->up, (void **)&h->down_first, (void **)&h->down,
                          (void **)&h->lf_first, (void **)&h->lb_first, (void **)&h->lf_off,
                          (void **)&h->lb_off, (void **)&h->lf_blk, (void **)&h->lb_blk,
                          (void **)&h->lf_via, (void **)&h->lb_via};
  size_t bytes[HUBS_BLOBS] = {4 * sizeof(int64_t), n * 4, n * 4, n1 * 4, nu * sizeof(city_ch_edge),
                              n1 * 4, nd * sizeof(city_ch_edge), n1 * 8, n1 * 8, n1 * 8, n1 * 8,
                              wf * 8, wb * 8, tf * 4, tb * 4};
  params[0] = h->n;
  params[1] = h->shortcuts;
  params[2] = h->label_entries;
  params[3] = (int64_t)h->bytes;
  b[0].p = params;
  b[0].bytes = bytes[0];
  for (int i = 1; i < HUBS_BLOBS; i++) {
    b[i].p = *s[i];
    b[i].bytes = bytes[i];
  }
  if (slot != NULL)
    for (int i = 0; i < HUBS_BLOBS; i++) slot[i] = s[i];
}

/* Adopts arrays read from the cache into a new h; NULL when their sizes do
 * not fit net (a file written for something else). */
static city_net_hubs *hubs_adopt(const city_net *net, city_net_blob *b) {
  city_net_hubs *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  h->net = net;
  h->n = net->n_nodes;
  const int64_t *params = b[0].p;
  void **slot[HUBS_BLOBS];
  int64_t dummy[4];
  city_net_blob want[HUBS_BLOBS];
  hubs_blobs(h, dummy, want, slot);
  int ok = b[0].bytes == want[0].bytes && params[0] == net->n_nodes;
  /* the arrays of fixed size first: the offsets among them are read next */
  static const int fixed[8] = {1, 2, 3, 5, 7, 8, 9, 10};
  for (int i = 0; i < 8 && ok; i++) ok = b[fixed[i]].bytes == want[fixed[i]].bytes;
  for (int i = 1; i < HUBS_BLOBS; i++) *slot[i] = b[i].p;
  /* sizes that depend on offsets, checked once the offsets are in place */
  if (ok) {
    hubs_blobs(h, dummy, want, NULL);
    for (int i = 1; i < HUBS_BLOBS && ok; i++) ok = b[i].bytes == want[i].bytes;
  }
  if (!ok) {
    for (int i = 1; i < HUBS_BLOBS; i++) *slot[i] = NULL;
    free(h);
    return NULL;
  }
  h->shortcuts = params[1];
  h->label_entries = params[2];
  h->bytes = (size_t)params[3];
  h->from_cache = 1;
  free(b[0].p);
  return h;
}

int city_net_hubs_open(const city_net *net, const char *cache_dir, int threads,
                       city_net_hubs **out, rs_err *e) {
  *out = NULL;
  char path[1024], why[160] = "";
  int use = !(cache_dir != NULL && cache_dir[0] == '\0') &&
            city_net_cache_path(net->hash, "hub", cache_dir, path, sizeof path) == 0;
  if (use) {
    double t0 = now_s();
    city_net_blob b[HUBS_BLOBS];
    if (city_net_cache_read(path, net->hash, HUBS_KIND, HUBS_BLOBS, b, why, sizeof why) == 0) {
      city_net_hubs *h = hubs_adopt(net, b);
      if (h != NULL) {
        snprintf(h->status, sizeof h->status, "read from the cache %s in %.2f s", path,
                 now_s() - t0);
        *out = h;
        return 0;
      }
      for (int i = 0; i < HUBS_BLOBS; i++) free(b[i].p);
      snprintf(why, sizeof why, "another network's");
    }
  }
  city_net_hubs *h;
  int rc = city_net_hubs_build(net, threads, &h, e);
  if (rc) return rc;
  int k = snprintf(h->status, sizeof h->status, "built in %.2f s", h->ch_s + h->labels_s);
  if (!use) {
    snprintf(h->status + k, sizeof h->status - (size_t)k, "; not cached");
  } else {
    char werr[200] = "";
    int64_t params[4];
    city_net_blob b[HUBS_BLOBS];
    hubs_blobs(h, params, b, NULL);
    if (city_net_cache_write(path, net->hash, HUBS_KIND, HUBS_BLOBS, b, werr, sizeof werr) == 0)
      snprintf(h->status + k, sizeof h->status - (size_t)k, "%s%s%s; cached at %s",
               why[0] ? " (the cache file was " : "", why, why[0] ? ")" : "", path);
    else
      snprintf(h->status + k, sizeof h->status - (size_t)k, "; %s", werr);
  }
  *out = h;
  return 0;
}

/* ------------------------------------------------------------ queries */

/* A label's parts: its hubs, its weights, its entries (sentinel included;
 * a block of W words holds floor(2 W / 3) of them). */
typedef struct {
  const uint32_t *hub;
  const uint64_t *w;
  int64_t n;
} label;

static inline label label_of(const uint64_t *blk, const int64_t *off, int32_t v) {
  int64_t o = off[v], n = 2 * (off[v + 1] - o) / 3;
  label l = {(const uint32_t *)(const void *)(blk + o), blk + o + (n + 1) / 2, n};
  return l;
}

uint64_t city_net_hubs_query(const city_net_hubs *h, int32_t a, int32_t b) {
  label f = label_of(h->lf_blk, h->lf_off, a), g = label_of(h->lb_blk, h->lb_off, b);
  return merge_min(f.hub, f.w, g.hub, g.w);
}

/* The index of hub x in a label, -1 when absent. */
static int64_t find_hub(label l, uint32_t x) {
  int64_t lo = 0, hi = l.n - 1; /* the sentinel is never searched for */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (l.hub[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return l.hub[lo] == x ? lo : -1;
}

typedef struct {
  const city_net_hubs *h;
  int (*visit)(void *ctx, int32_t link);
  void *ctx;
  int stop;
} walker;

/* Emits the original links of hierarchy edge u -> w. */
static void emit_edge(walker *k, int32_t u, int32_t w) {
  if (k->stop) return;
  const city_net_hubs *h = k->h;
  const city_ch_edge *ed = NULL;
  if (h->rank[u] < h->rank[w]) {
    for (int32_t i = h->up_first[u]; i < h->up_first[u + 1] && ed == NULL; i++)
      if (h->up[i].node == w) ed = &h->up[i];
  } else {
    for (int32_t i = h->down_first[w]; i < h->down_first[w + 1] && ed == NULL; i++)
      if (h->down[i].node == u) ed = &h->down[i];
  }
  if (ed == NULL) { /* cannot happen: labels come from these edges */
    k->stop = 1;
    return;
  }
  if (ed->mid >= 0) {
    emit_edge(k, u, ed->mid);
    emit_edge(k, ed->mid, w);
    return;
  }
  const city_net *net = h->net;
  int32_t link = -1;
  for (int32_t i = net->first[u]; i < net->first[u + 1] && link < 0; i++)
    if (net->head[i] == w) link = i;
  if (link < 0 || k->visit(k->ctx, link)) k->stop = 1;
}

/* The backward chain hub -> b, in driving order. */
static void walk_down(walker *k, uint32_t hub, int32_t b) {
  const city_net_hubs *h = k->h;
  if ((uint32_t)h->rank[b] == hub || k->stop) return;
  int64_t i = find_hub(label_of(h->lb_blk, h->lb_off, b), hub);
  if (i < 0 || h->lb_via[h->lb_first[b] + i] < 0) {
    k->stop = 1;
    return;
  }
  int32_t y = h->lb_via[h->lb_first[b] + i];
  walk_down(k, hub, y);
  emit_edge(k, y, b);
}

uint64_t city_net_hubs_walk(const city_net_hubs *h, int32_t a, int32_t b,
                            int (*visit)(void *ctx, int32_t link), void *ctx) {
  label f = label_of(h->lf_blk, h->lf_off, a), g = label_of(h->lb_blk, h->lb_off, b);
  const uint32_t *hf = f.hub, *hb = g.hub;
  const uint64_t *wf = f.w, *wb = g.w;
  uint64_t best = UINT64_MAX;
  uint32_t hub = UINT32_MAX;
  for (size_t i = 0, j = 0;;) {
    if (hf[i] == hb[j]) {
      if (hf[i] == UINT32_MAX) break;
      if (wf[i] + wb[j] < best) {
        best = wf[i] + wb[j];
        hub = hf[i];
      }
      i++;
      j++;
    } else if (hf[i] < hb[j]) {
      i++;
    } else {
      j++;
    }
  }
  if (hub == UINT32_MAX || a == b) return a == b ? 0 : best;
  walker k = {h, visit, ctx, 0};
  /* up from a to the hub */
  int32_t x = a;
  while ((uint32_t)h->rank[x] != hub && !k.stop) {
    int64_t i = find_hub(label_of(h->lf_blk, h->lf_off, x), hub);
    if (i < 0 || h->lf_via[h->lf_first[x] + i] < 0) break;
    int32_t y = h->lf_via[h->lf_first[x] + i];
    emit_edge(&k, x, y);
    x = y;
  }
  walk_down(&k, hub, b);
  return best;
}

int city_net_hubs_check(const city_net_hubs *h) {
  int32_t n = h->n;
  uint8_t *seen = calloc((size_t)n, 1);
  if (seen == NULL) return -1;
  int bad = 0;
  for (int32_t v = 0; v < n && !bad; v++) {
    int32_t r = h->rank[v];
    if (r < 0 || r >= n || seen[r] || h->node_of[r] != v) bad = 1;
    else seen[r] = 1;
  }
  for (int32_t v = 0; v < n && !bad; v++) {
    for (int32_t i = h->up_first[v]; i < h->up_first[v + 1]; i++)
      if (h->rank[h->up[i].node] <= h->rank[v]) bad = 1;
    for (int32_t i = h->down_first[v]; i < h->down_first[v + 1]; i++)
      if (h->rank[h->down[i].node] <= h->rank[v]) bad = 1;
    for (int side = 0; side < 2; side++) {
      const int64_t *first = side ? h->lb_first : h->lf_first;
      label l = side ? label_of(h->lb_blk, h->lb_off, v) : label_of(h->lf_blk, h->lf_off, v);
      if (l.n != first[v + 1] - first[v] || l.n < 1 || l.hub[l.n - 1] != UINT32_MAX) {
        bad = 1;
        break;
      }
      for (int64_t i = 1; i < l.n && !bad; i++)
        if (l.hub[i] <= l.hub[i - 1]) bad = 1;
      /* a node is its own hub, and every hub ranks at or above it */
      if (find_hub(l, (uint32_t)h->rank[v]) < 0 || l.hub[0] < (uint32_t)h->rank[v]) bad = 1;
    }
  }
  free(seen);
  return bad ? -1 : 0;
}

/*
 * roadnet: building a network from what a loader read, snapping, the
 * reference Dijkstra and synthetic grids; see roadnet.h.
 *
 * Build, in order: check the raw arrays; time every link (travel_time, else
 * length / speed) and measure the median speed of the plausible ones; time
 * the implausible ones at that median; drop self loops; pick the weight
 * units; sort the links by (tail, head, weight) and keep the first of each
 * (tail, head) run (the fastest parallel link); keep the largest strongly
 * connected component (iterative Tarjan: no recursion, so a 10^6-node
 * chain cannot blow the stack; the largest component, ties by the lowest
 * node index in it) and number its nodes along a Hilbert curve over their
 * extent (ties by file order: nearby nodes get nearby ids, which keeps the
 * table reads of one pickup's nearby drivers in few cache lines); lay out the
 * CSR arrays, the reverse graph, the unit vectors, the content hash and
 * the kd-tree. Cost O(m log m) for the sort, O(n + m) otherwise, and
 * O(n log^2 n) for the kd-tree.
 *
 * The kd-tree is implicit: the nodes of a range [lo, hi) are split at its
 * middle position on the axis of largest spread (ties by node index), the
 * middle node being the split, which also keeps the range's bounding box.
 * A query descends to the point's side first and visits a range only when
 * its box (and, for the far side, the split plane) is no farther than the
 * best found (<=: a tie with a lower index can lie there), so the answer
 * is the exact nearest node by chord, the same as a linear scan. The boxes
 * matter for points far from the network (a city's grid reaches past it):
 * split planes alone would let such a query visit most of the tree.
 */
#include "city_data/roadnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_heap.h"

#define KD_LEAF 8 /* ranges of at most this many nodes are scanned, not split */

/* ------------------------------------------------------------ clean-up */

void city_net_free(city_net *net) {
  if (net == NULL) return;
  free(net->lat);
  free(net->lng);
  free(net->u);
  free(net->first);
  free(net->head);
  free(net->length_m);
  free(net->time_s);
  free(net->w);
  free(net->rfirst);
  free(net->rtail);
  free(net->rw);
  free(net->kd);
  free(net->kd_axis);
  free(net->kd_box);
  free(net);
}

void city_net_raw_free(city_net_raw *raw) {
  free(raw->lat);
  free(raw->lng);
  free(raw->src);
  free(raw->dst);
  free(raw->length_m);
  free(raw->time_s);
  free(raw->speed_kmh);
  memset(raw, 0, sizeof *raw);
}

double city_net_gc_m(const city_net *net, int32_t a, int32_t b) {
  return rs_chord2_m(rs_chord2(net->u[a], net->u[b]), RS_EARTH_RADIUS_M);
}

/* ------------------------------------------------------------ build */

/* A link while building: its ends, its weight and its file index. */
typedef struct {
  int32_t src, dst;
  uint64_t w;
  int64_t at;         /* index in the raw arrays */
} bl_link;

static int link_cmp(const void *pa, const void *pb) {
  const bl_link *a = pa, *b = pb;
  if (a->src != b->src) return a->src < b->src ? -1 : 1;
  if (a->dst != b->dst) return a->dst < b->dst ? -1 : 1;
  if (a->w != b->w) return a->w < b->w ? -1 : 1;
  return a->at < b->at ? -1 : a->at > b->at;
}

static int dbl_cmp(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? -1 : a > b;
}

/* The finest unit among steps (ascending) in which 2 n max / unit fits in
 * 32 bits; 0 when none does. */
static double pick_unit(const double *steps, int n_steps, double max, int64_t n) {
  for (int i = 0; i < n_steps; i++) {
    double units = ceil(max / steps[i]) + 1.0;
    if (2.0 * (double)n * units < 4294967295.0) return steps[i];
  }
  return 0;
}

/* Tarjan's strongly connected components over a CSR graph, iteratively.
 * comp[v] receives v's component id (0..). Returns the count, or -1 when
 * out of memory. */
static int32_t tarjan(int32_t n, const int32_t *first, const int32_t *head, int32_t *comp) {
  int32_t *index = malloc((size_t)n * sizeof *index);
  int32_t *low = malloc((size_t)n * sizeof *low);
  int32_t *stack = malloc((size_t)n * sizeof *stack);
  int32_t *call = malloc((size_t)n * sizeof *call); /* DFS path: nodes */
  int32_t *next = malloc((size_t)n * sizeof *next); /* per node: next link to look at */
  uint8_t *on = calloc((size_t)n, 1);
  int32_t n_comp = -1;
  if (!index || !low || !stack || !call || !next || !on) goto out;
  for (int32_t v = 0; v < n; v++) index[v] = -1;
  int32_t counter = 0, sp = 0;
  n_comp = 0;
  for (int32_t root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    int32_t depth = 0;
    call[depth++] = root;
    index[root] = low[root] = counter++;
    next[root] = first[root];
    stack[sp++] = root;
    on[root] = 1;
    while (depth > 0) {
      int32_t v = call[depth - 1];
      if (next[v] < first[v + 1]) {
        int32_t w = head[next[v]++];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          next[w] = first[w];
          stack[sp++] = w;
          on[w] = 1;
          call[depth++] = w;
        } else if (on[w] && index[w] < low[v]) {
          low[v] = index[w];
        }
        continue;
      }
      /* v is done: a root pops its component */
      if (low[v] == index[v]) {
        int32_t w;
        do {
          w = stack[--sp];
          on[w] = 0;
          comp[w] = n_comp;
        } while (w != v);
        n_comp++;
      }
      depth--;
      if (depth > 0) {
        int32_t p = call[depth - 1];
        if (low[v] < low[p]) low[p] = low[v];
      }
    }
  }
out:
  free(index);
  free(low);
  free(stack);
  free(call);
  free(next);
  free(on);
  return n_comp;
}

static uint64_t hash_mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}

static uint64_t hash_dbl(uint64_t h, double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return hash_mix(h, b);
}

/* kd-tree construction: sorts positions [lo, hi) of net->kd on the axis of
 * largest spread, records it at the middle, recurses on both halves. */
typedef struct {
  double key;
  int32_t v;
} kd_item;

static int kd_cmp(const void *pa, const void *pb) {
  const kd_item *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return a->v < b->v ? -1 : a->v > b->v;
}

static void kd_build(city_net *net, kd_item *tmp, int32_t lo, int32_t hi) {
  if (hi - lo <= 0) return;
  int32_t mid = lo + (hi - lo) / 2;
  double mn[3] = {INFINITY, INFINITY, INFINITY}, mx[3] = {-INFINITY, -INFINITY, -INFINITY};
  for (int32_t i = lo; i < hi; i++)
    for (int k = 0; k < 3; k++) {
      double c = net->u[net->kd[i]][k];
      if (c < mn[k]) mn[k] = c;
      if (c > mx[k]) mx[k] = c;
    }
  int axis = 0;
  for (int k = 1; k < 3; k++)
    if (mx[k] - mn[k] > mx[axis] - mn[axis]) axis = k;
  if (hi - lo <= KD_LEAF) {
    /* a leaf: scanned whole, in index order */
    for (int32_t i = lo; i < hi; i++) tmp[i - lo].v = net->kd[i];
    for (int32_t i = lo + 1; i < hi; i++)
      for (int32_t j = i; j > lo && net->kd[j - 1] > net->kd[j]; j--) {
        int32_t t = net->kd[j];
        net->kd[j] = net->kd[j - 1];
        net->kd[j - 1] = t;
      }
    for (int k = 0; k < 3; k++) {
      net->kd_box[mid][k] = mn[k];
      net->kd_box[mid][3 + k] = mx[k];
    }
    net->kd_axis[mid] = (uint8_t)axis;
    return;
  }
  {
    for (int32_t i = lo; i < hi; i++) {
      tmp[i - lo].key = net->u[net->kd[i]][axis];
      tmp[i - lo].v = net->kd[i];
    }
    qsort(tmp, (size_t)(hi - lo), sizeof *tmp, kd_cmp);
    for (int32_t i = lo; i < hi; i++) net->kd[i] = tmp[i - lo].v;
  }
  net->kd_axis[mid] = (uint8_t)axis;
  for (int k = 0; k < 3; k++) {
    net->kd_box[mid][k] = mn[k];
    net->kd_box[mid][3 + k] = mx[k];
  }
  kd_build(net, tmp, lo, mid);
  kd_build(net, tmp, mid + 1, hi);
}

static int bad_link(rs_err *e, const char *origin, int64_t i, const char *field,
                    const char *what) {
  return rs_err_set(e, RS_EFORMAT, "%s: links[%lld]: %s: %s", origin, (long long)i, field, what);
}

/* Times every raw link into secs (seconds) and measures the plausible
 * ones' median speed. */
static int time_links(const city_net_raw *raw, const char *origin, double *secs,
                      city_net_stats *st, rs_err *e) {
  int64_t m = raw->n_links;
  double *spd = malloc((size_t)(m > 0 ? m : 1) * sizeof *spd);
  if (spd == NULL) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
  int64_t n_ok = 0;
  for (int64_t i = 0; i < m; i++) {
    double len = raw->length_m[i];
    double t = raw->time_s ? raw->time_s[i] : NAN;
    double v = raw->speed_kmh ? raw->speed_kmh[i] : NAN;
    if (!isnan(t) && !(isfinite(t) && t > 0)) {
      free(spd);
      return bad_link(e, origin, i, "travel_time", "not a positive number");
    }
    if (isnan(t)) {
      if (isnan(v)) {
        free(spd);
        return bad_link(e, origin, i, "travel_time",
                        "missing, and no speed to derive it from (OSMnx: add_edge_speeds, "
                        "add_edge_travel_times)");
      }
      if (!(isfinite(v) && v > 0)) {
        free(spd);
        return bad_link(e, origin, i, "speed", "not a positive number");
      }
      t = len / (v / 3.6);
      st->filled_times++;
    }
    secs[i] = t;
    double kmh = len / t * 3.6;
    if (kmh <= CITY_NET_SPEED_MAX_KMH && kmh >= CITY_NET_SPEED_MIN_KMH) spd[n_ok++] = kmh;
  }
  double median = 0;
  if (n_ok > 0) {
    qsort(spd, (size_t)n_ok, sizeof *spd, dbl_cmp);
    median = n_ok % 2 ? spd[n_ok / 2] : 0.5 * (spd[n_ok / 2 - 1] + spd[n_ok / 2]);
  }
  free(spd);
  st->median_kmh = median;
  st->implausible_first = -1;
  for (int64_t i = 0; i < m; i++) {
    double kmh = raw->length_m[i] / secs[i] * 3.6;
    if (kmh <= CITY_NET_SPEED_MAX_KMH && kmh >= CITY_NET_SPEED_MIN_KMH) continue;
    if (median <= 0)
      return rs_err_set(e, RS_EFORMAT, "%s: no link has a plausible speed (%g-%g km/h)", origin,
                        CITY_NET_SPEED_MIN_KMH, CITY_NET_SPEED_MAX_KMH);
    if (st->implausible == 0) st->implausible_first = i;
    if (kmh > st->implausible_max_kmh) st->implausible_max_kmh = kmh;
    st->implausible++;
    secs[i] = raw->length_m[i] / (median / 3.6);
  }
  return 0;
}

static int check_raw(const city_net_raw *raw, const char *origin, rs_err *e) {
  if (raw->n_nodes <= 0) return rs_err_set(e, RS_EEMPTY, "%s: no nodes", origin);
  for (int32_t v = 0; v < raw->n_nodes; v++) {
    if (!(isfinite(raw->lat[v]) && fabs(raw->lat[v]) <= 90.0))
      return rs_err_set(e, RS_EFORMAT, "%s: nodes[%d]: y: not a latitude", origin, (int)v);
    if (!(isfinite(raw->lng[v]) && fabs(raw->lng[v]) <= 180.0))
      return rs_err_set(e, RS_EFORMAT, "%s: nodes[%d]: x: not a longitude", origin, (int)v);
  }
  if (raw->n_links > INT32_MAX - 1)
    return rs_err_set(e, RS_ERANGE, "%s: more than %d links", origin, INT32_MAX - 1);
  for (int64_t i = 0; i < raw->n_links; i++) {
    if (raw->src[i] < 0 || raw->src[i] >= raw->n_nodes)
      return bad_link(e, origin, i, "source", "not a node");
    if (raw->dst[i] < 0 || raw->dst[i] >= raw->n_nodes)
      return bad_link(e, origin, i, "target", "not a node");
    if (!(isfinite(raw->length_m[i]) && raw->length_m[i] > 0))
      return bad_link(e, origin, i, "length", "not a positive number");
  }
  return 0;
}

/* The content hash of a laid-out network: nodes, links and units. */
static uint64_t content_hash(const city_net *net) {
  int32_t n = net->n_nodes, m = net->n_links;
  uint64_t h = hash_mix(0x726f61646e657431ull, (uint64_t)n);
  h = hash_mix(h, (uint64_t)m);
  h = hash_dbl(h, net->t_unit_s);
  h = hash_dbl(h, net->m_unit_m);
  for (int32_t v = 0; v < n; v++) {
    h = hash_dbl(h, net->lat[v]);
    h = hash_dbl(h, net->lng[v]);
    h = hash_mix(h, (uint64_t)net->first[v + 1]);
  }
  for (int32_t i = 0; i < m; i++) {
    h = hash_mix(h, (uint64_t)net->head[i]);
    h = hash_mix(h, net->w[i]);
  }
  return h;
}

/* Lays out the network's arrays from the kept links (sorted by src, dst;
 * node ids already renumbered) and the kept nodes. */
static int lay_out(city_net *net, const city_net_raw *raw, const int32_t *old_of, int32_t n,
                   const bl_link *lk, int32_t m, const double *secs) {
  size_t sn = (size_t)n, sm = (size_t)(m > 0 ? m : 1);
  net->n_nodes = n;
  net->n_links = m;
  net->lat = malloc(sn * sizeof *net->lat);
  net->lng = malloc(sn * sizeof *net->lng);
  net->u = malloc(sn * sizeof *net->u);
  net->first = calloc(sn + 1, sizeof *net->first);
  net->head = malloc(sm * sizeof *net->head);
  net->length_m = malloc(sm * sizeof *net->length_m);
  net->time_s = malloc(sm * sizeof *net->time_s);
  net->w = malloc(sm * sizeof *net->w);
  net->rfirst = calloc(sn + 1, sizeof *net->rfirst);
  net->rtail = malloc(sm * sizeof *net->rtail);
  net->rw = malloc(sm * sizeof *net->rw);
  net->kd = malloc(sn * sizeof *net->kd);
  net->kd_axis = malloc(sn);
  net->kd_box = malloc(sn * sizeof *net->kd_box);
  kd_item *tmp = malloc(sn * sizeof *tmp);
  if (!net->lat || !net->lng || !net->u || !net->first || !net->head || !net->length_m ||
      !net->time_s || !net->w || !net->rfirst || !net->rtail || !net->rw || !net->kd ||
      !net->kd_axis || !net->kd_box || !tmp) {
    free(tmp);
    return RS_ENOMEM;
  }
  net->min_lat = net->min_lng = INFINITY;
  net->max_lat = net->max_lng = -INFINITY;
  for (int32_t v = 0; v < n; v++) {
    net->lat[v] = raw->lat[old_of[v]];
    net->lng[v] = raw->lng[old_of[v]];
    rs_unit_vector(net->lat[v], net->lng[v], net->u[v]);
    if (net->lat[v] < net->min_lat) net->min_lat = net->lat[v];
    if (net->lat[v] > net->max_lat) net->max_lat = net->lat[v];
    if (net->lng[v] < net->min_lng) net->min_lng = net->lng[v];
    if (net->lng[v] > net->max_lng) net->max_lng = net->lng[v];
  }
  for (int32_t i = 0; i < m; i++) {
    net->first[lk[i].src + 1]++;
    net->rfirst[lk[i].dst + 1]++;
  }
  for (int32_t v = 0; v < n; v++) {
    net->first[v + 1] += net->first[v];
    net->rfirst[v + 1] += net->rfirst[v];
  }
  /* the reverse graph is filled in forward-link order, so each node's
   * in-links come sorted by tail */
  int32_t *fill = malloc(sn * sizeof *fill);
  if (fill == NULL) {
    free(tmp);
    return RS_ENOMEM;
  }
  memcpy(fill, net->rfirst, sn * sizeof *fill);
  net->max_geo_mps = 0;
  for (int32_t i = 0; i < m; i++) {
    net->head[i] = lk[i].dst;
    net->length_m[i] = raw->length_m[lk[i].at];
    net->time_s[i] = secs[lk[i].at];
    net->w[i] = lk[i].w;
    int32_t r = fill[lk[i].dst]++;
    net->rtail[r] = lk[i].src;
    net->rw[r] = lk[i].w;
    /* the packed time is what searches add: measure speed against it */
    double t = city_net_secs(net, lk[i].w);
    double v = city_net_gc_m(net, lk[i].src, lk[i].dst) / t;
    if (v > net->max_geo_mps) net->max_geo_mps = v;
  }
  free(fill);
  net->hash = content_hash(net);
  for (int32_t v = 0; v < n; v++) net->kd[v] = v;
  kd_build(net, tmp, 0, n);
  free(tmp);
  return 0;
}

/* The index of cell (x, y) along a Hilbert curve over 2^16 x 2^16 cells. */
static uint64_t hilbert_index(uint32_t x, uint32_t y) {
  const uint32_t side = 1u << 16;
  uint64_t d = 0;
  for (uint32_t s = side / 2; s > 0; s /= 2) {
    uint32_t rx = (x & s) > 0, ry = (y & s) > 0;
    d += (uint64_t)s * s * ((3u * rx) ^ ry);
    if (ry == 0) { /* rotate the quadrant */
      if (rx == 1) {
        x = side - 1 - x;
        y = side - 1 - y;
      }
      uint32_t t = x;
      x = y;
      y = t;
    }
  }
  return d;
}

typedef struct {
  uint64_t key;
  int32_t v;
} hl_item;

static int hl_cmp(const void *pa, const void *pb) {
  const hl_item *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return a->v < b->v ? -1 : a->v > b->v;
}

/* Orders the n kept nodes (raw indices in ids) along a Hilbert curve over
 * their extent, ties by raw index: nodes near each other get near ids, so
 * the table cells of the drivers near one pickup share cache lines. */
static int hilbert_order(const city_net_raw *raw, int32_t *ids, int32_t n) {
  hl_item *it = malloc((size_t)(n > 0 ? n : 1) * sizeof *it);
  if (it == NULL) return RS_ENOMEM;
  double lo_y = INFINITY, hi_y = -INFINITY, lo_x = INFINITY, hi_x = -INFINITY;
  for (int32_t i = 0; i < n; i++) {
    double y = raw->lat[ids[i]], x = raw->lng[ids[i]];
    lo_y = y < lo_y ? y : lo_y;
    hi_y = y > hi_y ? y : hi_y;
    lo_x = x < lo_x ? x : lo_x;
    hi_x = x > hi_x ? x : hi_x;
  }
  double span = hi_y - lo_y > hi_x - lo_x ? hi_y - lo_y : hi_x - lo_x;
  double k = span > 0 ? 65535.0 / span : 0;
  for (int32_t i = 0; i < n; i++) {
    uint32_t x = (uint32_t)((raw->lng[ids[i]] - lo_x) * k);
    uint32_t y = (uint32_t)((raw->lat[ids[i]] - lo_y) * k);
    it[i].key = hilbert_index(x > 65535 ? 65535 : x, y > 65535 ? 65535 : y);
    it[i].v = ids[i];
  }
  qsort(it, (size_t)n, sizeof *it, hl_cmp);
  for (int32_t i = 0; i < n; i++) ids[i] = it[i].v;
  free(it);
  return 0;
}

int city_net_build(const city_net_raw *raw, const char *origin, city_net **out, rs_err *e) {
  *out = NULL;
  int rc = check_raw(raw, origin, e);
  if (rc) return rc;
  city_net *net = calloc(1, sizeof *net);
  int64_t m0 = raw->n_links;
  double *secs = malloc((size_t)(m0 > 0 ? m0 : 1) * sizeof *secs);
  bl_link *lk = malloc((size_t)(m0 > 0 ? m0 : 1) * sizeof *lk);
  int32_t *comp = malloc((size_t)raw->n_nodes * sizeof *comp);
  int32_t *new_of = malloc((size_t)raw->n_nodes * sizeof *new_of);
  int32_t *old_of = malloc((size_t)raw->n_nodes * sizeof *old_of);
  int32_t *first = calloc((size_t)raw->n_nodes + 1, sizeof *first);
  int32_t *head = malloc((size_t)(m0 > 0 ? m0 : 1) * sizeof *head);
  int64_t *size = NULL;
  int32_t *lowest = NULL;
  if (!net || !secs || !lk || !comp || !new_of || !old_of || !first || !head) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
    goto fail;
  }
  net->st.nodes_read = raw->n_nodes;
  net->st.links_read = m0;
  if ((rc = time_links(raw, origin, secs, &net->st, e)) != 0) goto fail;
  /* units */
  double max_t = 0, max_m = 0;
  for (int64_t i = 0; i < m0; i++) {
    if (secs[i] > max_t) max_t = secs[i];
    if (raw->length_m[i] > max_m) max_m = raw->length_m[i];
  }
  static const double t_steps[] = {0.001, 0.01, 0.1, 1.0, 10.0};
  static const double m_steps[] = {0.01, 0.1, 1.0, 10.0, 100.0};
  net->t_unit_s = pick_unit(t_steps, 5, max_t, raw->n_nodes);
  net->m_unit_m = pick_unit(m_steps, 5, max_m, raw->n_nodes);
  if (net->t_unit_s == 0 || net->m_unit_m == 0) {
    rc = rs_err_set(e, RS_ERANGE, "%s: %d nodes with links up to %.0f s and %.0f m: too large "
                    "for 32-bit path sums", origin, (int)raw->n_nodes, max_t, max_m);
    goto fail;
  }
  int64_t m = 0;
  for (int64_t i = 0; i < m0; i++) {
    if (raw->src[i] == raw->dst[i]) {
      net->st.self_loops++;
      continue;
    }
    uint64_t tu = (uint64_t)llround(secs[i] / net->t_unit_s);
    uint64_t mu = (uint64_t)llround(raw->length_m[i] / net->m_unit_m);
    if (tu == 0) tu = 1;
    if (mu == 0) mu = 1;
    lk[m].src = raw->src[i];
    lk[m].dst = raw->dst[i];
    lk[m].w = tu << 32 | mu;
    lk[m].at = i;
    m++;
  }
  qsort(lk, (size_t)m, sizeof *lk, link_cmp);
  int64_t k = 0;
  for (int64_t i = 0; i < m; i++) {
    if (k > 0 && lk[k - 1].src == lk[i].src && lk[k - 1].dst == lk[i].dst) {
      net->st.parallel++;
      continue;
    }
    lk[k++] = lk[i];
  }
  m = k;
  /* components */
  for (int64_t i = 0; i < m; i++) first[lk[i].src + 1]++;
  for (int32_t v = 0; v < raw->n_nodes; v++) first[v + 1] += first[v];
  for (int64_t i = 0; i < m; i++) head[i] = lk[i].dst; /* sorted by src: CSR order */
  int32_t nc = tarjan(raw->n_nodes, first, head, comp);
  if (nc < 0) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
    goto fail;
  }
  net->st.components = nc;
  size = calloc((size_t)nc, sizeof *size);
  lowest = malloc((size_t)nc * sizeof *lowest);
  if (!size || !lowest) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
    goto fail;
  }
  for (int32_t c = 0; c < nc; c++) lowest[c] = INT32_MAX;
  for (int32_t v = 0; v < raw->n_nodes; v++) {
    size[comp[v]]++;
    if (v < lowest[comp[v]]) lowest[comp[v]] = v;
  }
  int32_t best = 0;
  for (int32_t c = 1; c < nc; c++)
    if (size[c] > size[best] || (size[c] == size[best] && lowest[c] < lowest[best])) best = c;
  int32_t n = 0;
  for (int32_t v = 0; v < raw->n_nodes; v++) {
    new_of[v] = -1;
    if (comp[v] == best) old_of[n++] = v;
  }
  if (hilbert_order(raw, old_of, n) != 0) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
    goto fail;
  }
  for (int32_t i = 0; i < n; i++) new_of[old_of[i]] = i;
  k = 0;
  for (int64_t i = 0; i < m; i++) {
    int32_t a = new_of[lk[i].src], b = new_of[lk[i].dst];
    if (a < 0 || b < 0) continue;
    lk[k] = lk[i];
    lk[k].src = a;
    lk[k].dst = b;
    k++;
  }
  qsort(lk, (size_t)k, sizeof *lk, link_cmp); /* by the new ids */
  net->st.dropped_nodes = raw->n_nodes - n;
  net->st.dropped_links = m - k;
  if (k == 0) {
    rc = rs_err_set(e, RS_EEMPTY, "%s: no two nodes reach each other: no network left", origin);
    goto fail;
  }
  if ((rc = lay_out(net, raw, old_of, n, lk, (int32_t)k, secs)) != 0) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
    goto fail;
  }
  *out = net;
  net = NULL;
fail:
  city_net_free(net);
  free(secs);
  free(lk);
  free(comp);
  free(new_of);
  free(old_of);
  free(first);
  free(head);
  free(size);
  free(lowest);
  return rc;
}

/* ------------------------------------------------------------ retiming */

/* Copies n elements of size sz, NULL when out of memory. */
static void *dup_array(const void *src, size_t n, size_t sz) {
  void *p = malloc(n > 0 ? n * sz : 1);
  if (p != NULL && n > 0) memcpy(p, src, n * sz);
  return p;
}

int city_net_retime(const city_net *net, const double *factor, city_net **out, rs_err *e) {
  *out = NULL;
  size_t sn = (size_t)net->n_nodes, sm = (size_t)net->n_links;
  double max_t = 0, max_m = 0;
  for (size_t i = 0; i < sm; i++) {
    if (!(isfinite(factor[i]) && factor[i] > 0))
      return rs_err_set(e, RS_EINVAL, "retiming a network: link %zu: factor %g is not a "
                        "positive number", i, factor[i]);
    if (net->time_s[i] * factor[i] > max_t) max_t = net->time_s[i] * factor[i];
    if (net->length_m[i] > max_m) max_m = net->length_m[i];
  }
  static const double t_steps[] = {0.001, 0.01, 0.1, 1.0, 10.0};
  double t_unit = pick_unit(t_steps, 5, max_t, net->n_nodes);
  if (t_unit == 0)
    return rs_err_set(e, RS_ERANGE, "retiming a network: links up to %.0f s are too slow for "
                      "32-bit path sums", max_t);
  city_net *r = calloc(1, sizeof *r);
  if (r == NULL) return rs_err_set(e, RS_ENOMEM, "retiming a network: out of memory");
  *r = *net;
  r->lat = dup_array(net->lat, sn, sizeof *r->lat);
  r->lng = dup_array(net->lng, sn, sizeof *r->lng);
  r->u = dup_array(net->u, sn, sizeof *r->u);
  r->first = dup_array(net->first, sn + 1, sizeof *r->first);
  r->head = dup_array(net->head, sm, sizeof *r->head);
  r->length_m = dup_array(net->length_m, sm, sizeof *r->length_m);
  r->time_s = malloc(sm > 0 ? sm * sizeof *r->time_s : 1);
  r->w = malloc(sm > 0 ? sm * sizeof *r->w : 1);
  r->rfirst = dup_array(net->rfirst, sn + 1, sizeof *r->rfirst);
  r->rtail = dup_array(net->rtail, sm, sizeof *r->rtail);
  r->rw = malloc(sm > 0 ? sm * sizeof *r->rw : 1);
  r->kd = dup_array(net->kd, sn, sizeof *r->kd);
  r->kd_axis = dup_array(net->kd_axis, sn, sizeof *r->kd_axis);
  r->kd_box = dup_array(net->kd_box, sn, sizeof *r->kd_box);
  int32_t *fill = malloc(sn > 0 ? sn * sizeof *fill : 1);
  if (!r->lat || !r->lng || !r->u || !r->first || !r->head || !r->length_m || !r->time_s ||
      !r->w || !r->rfirst || !r->rtail || !r->rw || !r->kd || !r->kd_axis || !r->kd_box ||
      !fill) {
    free(fill);
    city_net_free(r);
    return rs_err_set(e, RS_ENOMEM, "retiming a network: out of memory");
  }
  r->t_unit_s = t_unit;
  r->max_geo_mps = 0;
  memcpy(fill, r->rfirst, sn * sizeof *fill);
  for (int32_t v = 0; v < r->n_nodes; v++)
    for (int32_t i = r->first[v]; i < r->first[v + 1]; i++) {
      r->time_s[i] = net->time_s[i] * factor[i];
      uint64_t tu = (uint64_t)llround(r->time_s[i] / t_unit);
      if (tu == 0) tu = 1;
      r->w[i] = tu << 32 | (net->w[i] & 0xffffffffu);
      /* the reverse graph in forward-link order, as lay_out fills it */
      r->rw[fill[r->head[i]]++] = r->w[i];
      double g = city_net_gc_m(r, v, r->head[i]) / city_net_secs(r, r->w[i]);
      if (g > r->max_geo_mps) r->max_geo_mps = g;
    }
  free(fill);
  r->hash = content_hash(r);
  *out = r;
  return 0;
}

/* ------------------------------------------------------------ snapping */

/* The squared distance from q to a box (0 inside). */
static double box_d2(const double q[3], const double *box) {
  double s = 0;
  for (int k = 0; k < 3; k++) {
    double d = q[k] < box[k] ? box[k] - q[k] : q[k] > box[3 + k] ? q[k] - box[3 + k] : 0;
    s += d * d;
  }
  return s;
}

static void kd_near(const city_net *net, const double q[3], int32_t lo, int32_t hi,
                    double *best, int32_t *bi) {
  while (hi > lo) {
    int32_t mid = lo + (hi - lo) / 2;
    /* no point of the range can be nearer than its box (<=: a tie with a
     * lower index may lie on it) */
    if (box_d2(q, net->kd_box[mid]) > *best) return;
    if (hi - lo <= KD_LEAF) {
      for (int32_t i = lo; i < hi; i++) {
        int32_t p = net->kd[i];
        double d = rs_chord2(q, net->u[p]);
        if (d < *best || (d == *best && p < *bi)) {
          *best = d;
          *bi = p;
        }
      }
      return;
    }
    int32_t p = net->kd[mid];
    double d = rs_chord2(q, net->u[p]);
    if (d < *best || (d == *best && p < *bi)) {
      *best = d;
      *bi = p;
    }
    int axis = net->kd_axis[mid];
    double diff = q[axis] - net->u[p][axis];
    int32_t nlo, nhi, flo, fhi; /* near side, far side */
    if (diff < 0) {
      nlo = lo, nhi = mid, flo = mid + 1, fhi = hi;
    } else {
      nlo = mid + 1, nhi = hi, flo = lo, fhi = mid;
    }
    kd_near(net, q, nlo, nhi, best, bi);
    if (diff * diff > *best) return;
    lo = flo; /* the far side, as a loop: one recursion per level */
    hi = fhi;
  }
}

int32_t city_net_snap(const city_net *net, double lat, double lng, double *dist_m) {
  double q[3];
  rs_unit_vector(lat, lng, q);
  double best = INFINITY;
  int32_t bi = INT32_MAX;
  kd_near(net, q, 0, net->n_nodes, &best, &bi);
  if (dist_m != NULL) *dist_m = rs_chord2_m(best, RS_EARTH_RADIUS_M);
  return bi;
}

/* ------------------------------------------------------------ Dijkstra */

typedef struct {
  uint64_t k;
  int32_t v;
} dj_item;
#define DJ_LESS(a, b) ((a)->k < (b)->k || ((a)->k == (b)->k && (a)->v < (b)->v))
RS_HEAP_DEFINE(dj_heap, dj_item, 4, DJ_LESS, RS_HEAP_NO_MOVE)

int city_net_dijkstra(const city_net *net, int32_t src, int reverse, uint64_t *dist,
                      int32_t *pred) {
  int32_t n = net->n_nodes;
  dj_item *h = malloc(((size_t)net->n_links + 2) * sizeof *h);
  if (h == NULL) return RS_ENOMEM;
  const int32_t *first = reverse ? net->rfirst : net->first;
  const int32_t *adj = reverse ? net->rtail : net->head;
  const uint64_t *w = reverse ? net->rw : net->w;
  for (int32_t v = 0; v < n; v++) dist[v] = UINT64_MAX;
  if (pred != NULL)
    for (int32_t v = 0; v < n; v++) pred[v] = -1;
  size_t hn = 0;
  dist[src] = 0;
  dj_heap_push(h, &hn, (dj_item){0, src});
  while (hn > 0) {
    dj_item it = h[0];
    dj_heap_pop(h, &hn);
    if (it.k != dist[it.v]) continue;
    for (int32_t i = first[it.v]; i < first[it.v + 1]; i++) {
      int32_t x = adj[i];
      uint64_t d = it.k + w[i];
      if (d < dist[x]) {
        dist[x] = d;
        if (pred != NULL) pred[x] = i;
        dj_heap_push(h, &hn, (dj_item){d, x});
      }
    }
  }
  free(h);
  return 0;
}

/* ------------------------------------------------------------ checks */

int city_net_check(const city_net *net) {
  int32_t n = net->n_nodes, m = net->n_links;
  if (n <= 0 || net->first[0] != 0 || net->first[n] != m || net->rfirst[0] != 0 ||
      net->rfirst[n] != m)
    return -1;
  for (int32_t v = 0; v < n; v++) {
    if (net->first[v + 1] < net->first[v] || net->rfirst[v + 1] < net->rfirst[v]) return -1;
    for (int32_t i = net->first[v]; i < net->first[v + 1]; i++) {
      if (net->head[i] < 0 || net->head[i] >= n || net->head[i] == v) return -1;
      if (i > net->first[v] && net->head[i - 1] >= net->head[i]) return -1;
      if ((net->w[i] >> 32) == 0 || (net->w[i] & 0xffffffffu) == 0) return -1;
      /* the reverse graph holds the same link */
      int found = 0;
      int32_t x = net->head[i];
      for (int32_t r = net->rfirst[x]; r < net->rfirst[x + 1]; r++)
        found |= net->rtail[r] == v && net->rw[r] == net->w[i];
      if (!found) return -1;
    }
  }
  uint64_t *d = malloc((size_t)n * sizeof *d);
  if (d == NULL) return -1;
  int ok = 0;
  for (int rev = 0; rev < 2 && ok == 0; rev++) {
    if (city_net_dijkstra(net, 0, rev, d, NULL) != 0) ok = -1;
    for (int32_t v = 0; v < n && ok == 0; v++)
      if (d[v] == UINT64_MAX) ok = -1;
  }
  free(d);
  return ok;
}

/* ------------------------------------------------------------ grids */

void city_net_grid_defaults(city_net_grid_opts *o) {
  o->cols = o->rows = 64;
  o->spacing_m = 100.0;
  o->lat0 = 40.0;
  o->lng0 = -100.0;
  o->base_kmh = 30.0;
  o->arterial_every = 8;
  o->jitter = 0.2;
  o->seed = 1;
}

int city_net_grid(const city_net_grid_opts *o, city_net_raw *raw, rs_err *e) {
  memset(raw, 0, sizeof *raw);
  if (o->cols < 2 || o->rows < 2 || (int64_t)o->cols * o->rows > (INT32_MAX / 8))
    return rs_err_set(e, RS_EINVAL, "grid: %d x %d nodes: need 2..%d per side", (int)o->cols,
                      (int)o->rows, (int)46340);
  if (!(o->spacing_m > 0) || !(o->base_kmh > 0) || !(o->jitter >= 0 && o->jitter < 1))
    return rs_err_set(e, RS_EINVAL, "grid: spacing, speed must be positive, jitter in [0, 1)");
  int64_t n = (int64_t)o->cols * o->rows;
  int64_t m = 2 * ((int64_t)(o->cols - 1) * o->rows + (int64_t)o->cols * (o->rows - 1));
  raw->n_nodes = (int32_t)n;
  raw->n_links = m;
  raw->lat = malloc((size_t)n * sizeof *raw->lat);
  raw->lng = malloc((size_t)n * sizeof *raw->lng);
  raw->src = malloc((size_t)m * sizeof *raw->src);
  raw->dst = malloc((size_t)m * sizeof *raw->dst);
  raw->length_m = malloc((size_t)m * sizeof *raw->length_m);
  raw->time_s = malloc((size_t)m * sizeof *raw->time_s);
  if (!raw->lat || !raw->lng || !raw->src || !raw->dst || !raw->length_m || !raw->time_s) {
    city_net_raw_free(raw);
    return rs_err_set(e, RS_ENOMEM, "grid: out of memory");
  }
  const double deg = 180.0 / 3.14159265358979323846 / RS_EARTH_RADIUS_M;
  double dlat = o->spacing_m * deg;
  double dlng = o->spacing_m * deg / cos(o->lat0 * 3.14159265358979323846 / 180.0);
  for (int32_t r = 0; r < o->rows; r++)
    for (int32_t c = 0; c < o->cols; c++) {
      int64_t v = (int64_t)r * o->cols + c;
      raw->lat[v] = o->lat0 + (r - o->rows / 2) * dlat;
      raw->lng[v] = o->lng0 + (c - o->cols / 2) * dlng;
    }
  pcg32 rng;
  pcg32_seed(&rng, o->seed, 0x6772696475ull);
  int64_t k = 0;
  for (int32_t r = 0; r < o->rows; r++)
    for (int32_t c = 0; c < o->cols; c++) {
      int32_t v = (int32_t)((int64_t)r * o->cols + c);
      /* east (along row r) and north (along column c) neighbours */
      for (int dir = 0; dir < 2; dir++) {
        int32_t rr = r + (dir == 1), cc = c + (dir == 0);
        if (rr >= o->rows || cc >= o->cols) continue;
        int32_t x = (int32_t)((int64_t)rr * o->cols + cc);
        int arterial = o->arterial_every > 0 &&
                       (dir == 0 ? r % o->arterial_every == 0 : c % o->arterial_every == 0);
        double len = rs_geo_haversine(raw->lat[v], raw->lng[v], raw->lat[x], raw->lng[x]);
        for (int way = 0; way < 2; way++) {
          double kmh = o->base_kmh * (arterial ? 2.0 : 1.0) *
                       (1.0 + o->jitter * (2.0 * pcg32_double(&rng) - 1.0));
          raw->src[k] = way ? x : v;
          raw->dst[k] = way ? v : x;
          raw->length_m[k] = len;
          raw->time_s[k] = len / (kmh / 3.6);
          k++;
        }
      }
    }
  return 0;
}

/* ------------------------------------------------------------ writers */

int city_net_write_json(const city_net_raw *raw, const char *path, rs_err *e) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return rs_err_set(e, RS_EIO, "%s: cannot create", path);
  fprintf(f, "{\"directed\": true, \"multigraph\": true, \"graph\": {\"crs\": \"epsg:4326\"},\n"
             " \"nodes\": [");
  for (int32_t v = 0; v < raw->n_nodes; v++)
    fprintf(f, "%s\n  {\"y\": %.17g, \"x\": %.17g, \"id\": %d}", v ? "," : "", raw->lat[v],
            raw->lng[v], (int)v);
  fprintf(f, "],\n \"links\": [");
  for (int64_t i = 0; i < raw->n_links; i++) {
    fprintf(f, "%s\n  {\"source\": %d, \"target\": %d, \"key\": 0, \"length\": %.17g",
            i ? "," : "", (int)raw->src[i], (int)raw->dst[i], raw->length_m[i]);
    if (raw->time_s != NULL && !isnan(raw->time_s[i]))
      fprintf(f, ", \"travel_time\": %.17g", raw->time_s[i]);
    if (raw->speed_kmh != NULL && !isnan(raw->speed_kmh[i]))
      fprintf(f, ", \"speed_kph\": %.17g", raw->speed_kmh[i]);
    fputc('}', f);
  }
  fprintf(f, "]}\n");
  if (ferror(f) | (fclose(f) != 0)) return rs_err_set(e, RS_EIO, "%s: write failed", path);
  return 0;
}

int city_net_write_graphml(const city_net_raw *raw, const char *path, rs_err *e) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return rs_err_set(e, RS_EIO, "%s: cannot create", path);
  fprintf(f,
          "<?xml version='1.0' encoding='utf-8'?>\n"
          "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
          "  <key id=\"d3\" for=\"edge\" attr.name=\"travel_time\" attr.type=\"double\" />\n"
          "  <key id=\"d2\" for=\"edge\" attr.name=\"speed_kph\" attr.type=\"double\" />\n"
          "  <key id=\"d1\" for=\"edge\" attr.name=\"length\" attr.type=\"double\" />\n"
          "  <key id=\"d5\" for=\"node\" attr.name=\"x\" attr.type=\"double\" />\n"
          "  <key id=\"d4\" for=\"node\" attr.name=\"y\" attr.type=\"double\" />\n"
          "  <key id=\"d0\" for=\"graph\" attr.name=\"crs\" attr.type=\"string\" />\n"
          "  <graph edgedefault=\"directed\">\n"
          "    <data key=\"d0\">epsg:4326</data>\n");
  for (int32_t v = 0; v < raw->n_nodes; v++)
    fprintf(f,
            "    <node id=\"%d\">\n      <data key=\"d4\">%.17g</data>\n"
            "      <data key=\"d5\">%.17g</data>\n    </node>\n",
            (int)v, raw->lat[v], raw->lng[v]);
  for (int64_t i = 0; i < raw->n_links; i++) {
    fprintf(f, "    <edge source=\"%d\" target=\"%d\" id=\"0\">\n", (int)raw->src[i],
            (int)raw->dst[i]);
    fprintf(f, "      <data key=\"d1\">%.17g</data>\n", raw->length_m[i]);
    if (raw->speed_kmh != NULL && !isnan(raw->speed_kmh[i]))
      fprintf(f, "      <data key=\"d2\">%.17g</data>\n", raw->speed_kmh[i]);
    if (raw->time_s != NULL && !isnan(raw->time_s[i]))
      fprintf(f, "      <data key=\"d3\">%.17g</data>\n", raw->time_s[i]);
    fprintf(f, "    </edge>\n");
  }
  fprintf(f, "  </graph>\n</graphml>\n");
  if (ferror(f) | (fclose(f) != 0)) return rs_err_set(e, RS_EIO, "%s: write failed", path);
  return 0;
}

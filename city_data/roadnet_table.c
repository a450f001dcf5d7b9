/*
 * roadnet_table: building, reading and writing the all-pairs table; see
 * roadnet_table.h.
 *
 * Threads: city_data/ uses plain POSIX threads (libuv is the engine's and
 * the tools'); each worker owns its Dijkstra scratch and writes only the
 * rows it took, so no row is shared and no lock is needed.
 */
#include "city_data/roadnet_table.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/rs_heap.h"
#include "base/rs_mem.h"
#include "city_data/roadnet_cache.h"

#define TABLE_THREADS_MAX 8
#define TABLE_KIND 0x74626c31u /* "tbl1" */


static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------ Dijkstra */

typedef struct {
  uint64_t k;
  int32_t v;
} tb_item;
#define TB_LESS(a, b) ((a)->k < (b)->k || ((a)->k == (b)->k && (a)->v < (b)->v))
RS_HEAP_DEFINE(tb_heap, tb_item, 4, TB_LESS, RS_HEAP_NO_MOVE)

/* Distances to src over the reverse graph (reverse) or from it. */
static void search(const city_net *net, int32_t src, int reverse, uint64_t *dist, tb_item *h) {
  const int32_t *first = reverse ? net->rfirst : net->first;
  const int32_t *adj = reverse ? net->rtail : net->head;
  const uint64_t *w = reverse ? net->rw : net->w;
  for (int32_t v = 0; v < net->n_nodes; v++) dist[v] = UINT64_MAX;
  size_t hn = 0;
  dist[src] = 0;
  tb_heap_push(h, &hn, (tb_item){0, src});
  while (hn > 0) {
    tb_item it = h[0];
    tb_heap_pop(h, &hn);
    if (it.k != dist[it.v]) continue;
    for (int32_t i = first[it.v]; i < first[it.v + 1]; i++) {
      uint64_t d = it.k + w[i];
      int32_t x = adj[i];
      if (d < dist[x]) {
        dist[x] = d;
        tb_heap_push(h, &hn, (tb_item){d, x});
      }
    }
  }
}

/* The hierarchy in rank space for the sweeps: per rank, the edges coming
 * down into it (from higher ranks) and its upward edges, as (rank, weight). */
typedef struct {
  int32_t n;
  int32_t *in_first, *up_first;  /* n + 1 */
  int32_t *in_rank, *up_rank;
  uint64_t *in_w, *up_w;
} sweep_graph;

static void sweep_free(sweep_graph *g) {
  free(g->in_first);
  free(g->up_first);
  free(g->in_rank);
  free(g->up_rank);
  free(g->in_w);
  free(g->up_w);
}

static int sweep_make(const city_net_hubs *h, sweep_graph *g) {
  memset(g, 0, sizeof *g);
  int32_t n = h->n;
  g->n = n;
  size_t mi = (size_t)h->down_first[n], mu = (size_t)h->up_first[n];
  g->in_first = malloc(((size_t)n + 1) * sizeof *g->in_first);
  g->up_first = malloc(((size_t)n + 1) * sizeof *g->up_first);
  g->in_rank = malloc((mi + 1) * sizeof *g->in_rank);
  g->up_rank = malloc((mu + 1) * sizeof *g->up_rank);
  g->in_w = malloc((mi + 1) * sizeof *g->in_w);
  g->up_w = malloc((mu + 1) * sizeof *g->up_w);
  if (!g->in_first || !g->up_first || !g->in_rank || !g->up_rank || !g->in_w || !g->up_w) {
    sweep_free(g);
    return RS_ENOMEM;
  }
  int32_t ki = 0, ku = 0;
  for (int32_t r = 0; r < n; r++) {
    int32_t v = h->node_of[r];
    g->in_first[r] = ki;
    g->up_first[r] = ku;
    for (int32_t i = h->down_first[v]; i < h->down_first[v + 1]; i++) {
      g->in_rank[ki] = h->rank[h->down[i].node];
      g->in_w[ki++] = h->down[i].w;
    }
    for (int32_t i = h->up_first[v]; i < h->up_first[v + 1]; i++) {
      g->up_rank[ku] = h->rank[h->up[i].node];
      g->up_w[ku++] = h->up[i].w;
    }
  }
  g->in_first[n] = ki;
  g->up_first[n] = ku;
  return 0;
}

/* Distances from every rank to rank rb, into d (by rank). */
static void sweep(const sweep_graph *g, int32_t rb, uint64_t *d) {
  int32_t n = g->n;
  for (int32_t r = 0; r < n; r++) d[r] = UINT64_MAX;
  d[rb] = 0;
  /* up from rb: each node above, by the edges coming down into the nodes
   * below it, in ascending rank (a node's value is final when reached) */
  for (int32_t r = rb; r < n; r++) {
    uint64_t dr = d[r];
    if (dr == UINT64_MAX) continue;
    for (int32_t i = g->in_first[r]; i < g->in_first[r + 1]; i++) {
      uint64_t x = dr + g->in_w[i];
      int32_t s = g->in_rank[i];
      if (x < d[s]) d[s] = x;
    }
  }
  /* down: every node by its upward edges, in descending rank */
  for (int32_t r = n - 1; r >= 0; r--) {
    uint64_t best = d[r];
    for (int32_t i = g->up_first[r]; i < g->up_first[r + 1]; i++) {
      uint64_t y = d[g->up_rank[i]];
      if (y != UINT64_MAX && y + g->up_w[i] < best) best = y + g->up_w[i];
    }
    d[r] = best;
  }
}

typedef struct {
  const city_net *net;
  const city_net_hubs *hubs; /* NULL: Dijkstras */
  const sweep_graph *sg;
  city_net_table *t;
  atomic_int next;      /* the next row to take */
  atomic_int failed;    /* a worker found no memory */
} build_job;

static void *worker(void *arg) {
  build_job *j = arg;
  const city_net *net = j->net;
  int32_t n = net->n_nodes;
  uint64_t *dist = malloc((size_t)n * sizeof *dist);
  tb_item *h = malloc(((size_t)net->n_links + 2) * sizeof *h);
  if (dist == NULL || h == NULL) {
    atomic_store(&j->failed, 1);
  } else {
    double kt = net->t_unit_s / j->t->q_t, km = net->m_unit_m / j->t->q_m;
    for (;;) {
      int b = atomic_fetch_add(&j->next, 1);
      if (b >= n || atomic_load(&j->failed)) break;
      const int32_t *rank = NULL;
      if (j->sg != NULL) {
        sweep(j->sg, j->hubs->rank[b], dist);
        rank = j->hubs->rank;
      } else {
        search(net, b, 1, dist, h);
      }
      uint32_t *row = j->t->cell + (size_t)b * (size_t)n;
      for (int32_t a = 0; a < n; a++) {
        uint64_t d = rank != NULL ? dist[rank[a]] : dist[a];
        row[a] = city_net_table_round(d >> 32, kt) << 16 | city_net_table_round(d & 0xffffffffu, km);
      }
    }
  }
  free(dist);
  free(h);
  return NULL;
}

/* The finest step (1, 2, 5 x 10^k from `lo`) holding max in 16 bits. */
static double pick_q(double lo, double max) {
  static const double mant[3] = {1, 2, 5};
  for (double p = lo;; p *= 10)
    for (int i = 0; i < 3; i++)
      if (max / (p * mant[i]) <= 65000.0) return p * mant[i];
}

int city_net_table_build(const city_net *net, const city_net_hubs *hubs, int threads,
                         city_net_table **out, rs_err *e) {
  *out = NULL;
  double t0 = now_s();
  int32_t n = net->n_nodes;
  city_net_table *t = calloc(1, sizeof *t);
  uint64_t *d = malloc((size_t)n * sizeof *d);
  tb_item *h = malloc(((size_t)net->n_links + 2) * sizeof *h);
  if (t == NULL || d == NULL || h == NULL) {
    free(t);
    free(d);
    free(h);
    return rs_err_set(e, RS_ENOMEM, "road network table: out of memory");
  }
  /* an upper bound of every drive: through node 0 */
  uint64_t to0 = 0, from0 = 0;
  search(net, 0, 1, d, h);
  for (int32_t v = 0; v < n; v++)
    if (d[v] >> 32 > to0) to0 = d[v] >> 32;
  search(net, 0, 0, d, h);
  for (int32_t v = 0; v < n; v++)
    if (d[v] >> 32 > from0) from0 = d[v] >> 32;
  free(d);
  free(h);
  double max_s = (double)(to0 + from0) * net->t_unit_s;
  double vmax = 0; /* the fastest link: no drive has more metres per second */
  for (int32_t i = 0; i < net->n_links; i++) {
    double v = city_net_metres(net, net->w[i]) / city_net_secs(net, net->w[i]);
    if (v > vmax) vmax = v;
  }
  t->n = n;
  t->q_t = pick_q(0.1, max_s);
  t->q_m = pick_q(1.0, max_s * vmax);
  t->cell = rs_mem_array(city_net_table_bytes(n), 1, 0, 0); /* huge pages: read at random */
  if (t->cell == NULL) {
    free(t);
    return rs_err_set(e, RS_ENOMEM, "road network table: out of memory for %zu MB",
                      city_net_table_bytes(n) >> 20);
  }
  if (threads <= 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    threads = c > 0 ? (int)c : 1;
  }
  if (threads > TABLE_THREADS_MAX) threads = TABLE_THREADS_MAX;
  sweep_graph sg;
  if (hubs != NULL && sweep_make(hubs, &sg) != 0) {
    city_net_table_free(t);
    return rs_err_set(e, RS_ENOMEM, "road network table: out of memory");
  }
  build_job j;
  j.net = net;
  j.hubs = hubs;
  j.sg = hubs != NULL ? &sg : NULL;
  j.t = t;
  atomic_init(&j.next, 0);
  atomic_init(&j.failed, 0);
  pthread_t tid[TABLE_THREADS_MAX];
  int started = 0;
  for (int i = 1; i < threads; i++) {
    if (pthread_create(&tid[started], NULL, worker, &j) != 0) break;
    started++;
  }
  worker(&j); /* this thread works too */
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  if (hubs != NULL) sweep_free(&sg);
  if (atomic_load(&j.failed)) {
    city_net_table_free(t);
    return rs_err_set(e, RS_ENOMEM, "road network table: out of memory");
  }
  t->build_s = now_s() - t0;
  snprintf(t->status, sizeof t->status, "built in %.2f s on %d thread%s%s", t->build_s,
           started + 1, started ? "s" : "", hubs != NULL ? " from the hierarchy" : "");
  *out = t;
  return 0;
}

void city_net_table_free(city_net_table *t) {
  if (t == NULL) return;
  free(t->cell);
  free(t);
}

/* ------------------------------------------------------------ cache */

int city_net_table_cache_path(const city_net *net, const char *dir, char *buf, size_t size) {
  return city_net_cache_path(net->hash, "tbl", dir, buf, size);
}

int city_net_table_open(const city_net *net, const city_net_table_opts *o,
                        city_net_table **out, rs_err *e) {
  *out = NULL;
  const char *dir = o != NULL ? o->cache_dir : NULL;
  int threads = o != NULL ? o->threads : 0;
  char path[1024], why[160] = "";
  int use_cache = !(dir != NULL && dir[0] == '\0');
  if (use_cache && city_net_table_cache_path(net, dir, path, sizeof path) != 0) use_cache = 0;
  if (use_cache) {
    double t0 = now_s();
    city_net_blob b[2];
    if (city_net_cache_read(path, net->hash, TABLE_KIND, 2, b, why, sizeof why) == 0) {
      const double *q = b[0].p;
      city_net_table *t = calloc(1, sizeof *t);
      if (b[0].bytes == 3 * sizeof(double) && q[0] == (double)net->n_nodes &&
          b[1].bytes == city_net_table_bytes(net->n_nodes) && t != NULL) {
        t->n = net->n_nodes;
        t->q_t = q[1];
        t->q_m = q[2];
        t->cell = b[1].p;
        t->from_cache = 1;
        t->build_s = now_s() - t0;
        snprintf(t->status, sizeof t->status, "read from the cache %s in %.2f s", path,
                 t->build_s);
        free(b[0].p);
        *out = t;
        return 0;
      }
      snprintf(why, sizeof why, "%s", t == NULL ? "out of memory reading it" : "another network's");
      free(t);
      free(b[0].p);
      free(b[1].p);
    }
  }
  city_net_table *t;
  int rc = city_net_table_build(net, o != NULL ? o->hubs : NULL, threads, &t, e);
  if (rc) return rc;
  size_t k = strlen(t->status);
  if (!use_cache) {
    snprintf(t->status + k, sizeof t->status - k, "; not cached");
  } else {
    char werr[200] = "";
    double q[3] = {(double)t->n, t->q_t, t->q_m};
    city_net_blob b[2] = {{q, sizeof q}, {t->cell, city_net_table_bytes(t->n)}};
    if (city_net_cache_write(path, net->hash, TABLE_KIND, 2, b, werr, sizeof werr) == 0)
      snprintf(t->status + k, sizeof t->status - k, "%s%s%s; cached at %s",
               why[0] ? " (the cache file was " : "", why, why[0] ? ")" : "", path);
    else
      snprintf(t->status + k, sizeof t->status - k, "; %s", werr);
  }
  *out = t;
  return 0;
}

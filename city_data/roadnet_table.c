/*
 * roadnet_table: building, reading and writing the all-pairs table; see
 * roadnet_table.h.
 *
 * Threads: city_data/ uses plain POSIX threads (libuv is the engine's and
 * the tools'); each worker owns its Dijkstra scratch and writes only the
 * rows it took, so no row is shared and no lock is needed.
 */
#include "city_data/roadnet_table.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/rs_heap.h"

#define TABLE_THREADS_MAX 8
static const char table_magic[8] = {'R', 'S', 'N', 'E', 'T', 'T', 'B', '\n'};

typedef struct {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;
  uint64_t net_hash;
  uint32_t n;
  uint32_t reserved;
  double q_t, q_m;
  uint64_t payload_bytes;
  uint64_t payload_sum;
  uint64_t header_sum;  /* of every field above */
} table_header;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A checksum of n bytes (n a multiple of 8): four multiply-xor lanes, so
 * it runs at memory speed. */
static uint64_t sum_words(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h[4] = {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull,
                   0x082efa98ec4e6c89ull};
  size_t w = n / 8, i = 0;
  for (; i + 4 <= w; i += 4)
    for (int k = 0; k < 4; k++) {
      uint64_t v;
      memcpy(&v, b + 8 * (i + (size_t)k), 8);
      h[k] = (h[k] ^ v) * 0x9fb21c651e98df25ull;
      h[k] ^= h[k] >> 29;
    }
  for (; i < w; i++) {
    uint64_t v;
    memcpy(&v, b + 8 * i, 8);
    h[0] = (h[0] ^ v) * 0x9fb21c651e98df25ull;
    h[0] ^= h[0] >> 29;
  }
  uint64_t r = (uint64_t)n;
  for (int k = 0; k < 4; k++) r = (r ^ h[k]) * 0xff51afd7ed558ccdull, r ^= r >> 32;
  return r;
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

typedef struct {
  const city_net *net;
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
      search(net, b, 1, dist, h);
      uint32_t *row = j->t->cell + (size_t)b * (size_t)n;
      for (int32_t a = 0; a < n; a++) {
        uint64_t d = dist[a];
        long long ts = llround((double)(d >> 32) * kt);
        long long ms = llround((double)(d & 0xffffffffu) * km);
        if (ts > 0xffff) ts = 0xffff; /* cannot happen: the units hold the bound */
        if (ms > 0xffff) ms = 0xffff;
        row[a] = (uint32_t)ts << 16 | (uint32_t)ms;
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

int city_net_table_build(const city_net *net, int threads, city_net_table **out, rs_err *e) {
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
  t->cell = malloc(city_net_table_bytes(n));
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
  build_job j;
  j.net = net;
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
  if (atomic_load(&j.failed)) {
    city_net_table_free(t);
    return rs_err_set(e, RS_ENOMEM, "road network table: out of memory");
  }
  t->build_s = now_s() - t0;
  snprintf(t->status, sizeof t->status, "built in %.2f s on %d thread%s", t->build_s,
           started + 1, started ? "s" : "");
  *out = t;
  return 0;
}

void city_net_table_free(city_net_table *t) {
  if (t == NULL) return;
  free(t->cell);
  free(t);
}

/* ------------------------------------------------------------ cache */

static int default_dir(char *buf, size_t size) {
  const char *x = getenv("XDG_CACHE_HOME");
  int k;
  if (x != NULL && x[0] == '/') {
    k = snprintf(buf, size, "%s/ridesim", x);
  } else {
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') return -1;
    k = snprintf(buf, size, "%s/.cache/ridesim", home);
  }
  return k > 0 && (size_t)k < size ? 0 : -1;
}

int city_net_table_cache_path(const city_net *net, const char *dir, char *buf, size_t size) {
  char d[1024];
  if (dir == NULL) {
    if (default_dir(d, sizeof d) != 0) return -1;
    dir = d;
  }
  int k = snprintf(buf, size, "%s/net-%016llx.v%d.tbl", dir, (unsigned long long)net->hash,
                   CITY_NET_TABLE_VERSION);
  return k > 0 && (size_t)k < size ? 0 : -1;
}

/* mkdir -p for the directory part of path. */
static int make_dirs(const char *path) {
  char tmp[1100];
  int k = snprintf(tmp, sizeof tmp, "%s", path);
  if (k <= 0 || (size_t)k >= sizeof tmp) return -1;
  char *slash = strrchr(tmp, '/');
  if (slash == NULL) return 0;
  *slash = '\0';
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int read_full(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t k = read(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static int write_full(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads a valid cache file into a new table; NULL with why set otherwise
 * (why[0] == '\0': no file). */
static city_net_table *cache_read(const city_net *net, const char *path, char *why,
                                  size_t why_size) {
  why[0] = '\0';
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  table_header hd;
  city_net_table *t = NULL;
  size_t want = city_net_table_bytes(net->n_nodes);
  struct stat sb;
  if (fstat(fd, &sb) != 0 || read_full(fd, &hd, sizeof hd) != 0) {
    snprintf(why, why_size, "truncated");
    goto out;
  }
  if (memcmp(hd.magic, table_magic, 8) != 0) {
    snprintf(why, why_size, "not a table file");
    goto out;
  }
  if (hd.header_sum != sum_words(&hd, offsetof(table_header, header_sum))) {
    snprintf(why, why_size, "corrupt header");
    goto out;
  }
  if (hd.version != CITY_NET_TABLE_VERSION || hd.header_bytes != sizeof hd) {
    snprintf(why, why_size, "format version %u, not %d", hd.version, CITY_NET_TABLE_VERSION);
    goto out;
  }
  if (hd.net_hash != net->hash || hd.n != (uint32_t)net->n_nodes || hd.payload_bytes != want) {
    snprintf(why, why_size, "another network's table");
    goto out;
  }
  if ((uint64_t)sb.st_size != sizeof hd + want) {
    snprintf(why, why_size, "truncated");
    goto out;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL || (t->cell = malloc(want)) == NULL) {
    snprintf(why, why_size, "out of memory reading it");
    goto fail;
  }
  if (read_full(fd, t->cell, want) != 0) {
    snprintf(why, why_size, "truncated");
    goto fail;
  }
  if (sum_words(t->cell, want) != hd.payload_sum) {
    snprintf(why, why_size, "corrupt (checksum)");
    goto fail;
  }
  t->n = net->n_nodes;
  t->q_t = hd.q_t;
  t->q_m = hd.q_m;
  t->from_cache = 1;
  goto out;
fail:
  city_net_table_free(t);
  t = NULL;
out:
  close(fd);
  return t;
}

/* Writes t to path atomically; 0 or -1 with why set. */
static int cache_write(const city_net *net, const city_net_table *t, const char *path,
                       char *why, size_t why_size) {
  if (make_dirs(path) != 0) {
    snprintf(why, why_size, "cannot create the cache directory: %s", strerror(errno));
    return -1;
  }
  /* a name of this process and this moment: O_EXCL refuses a clash */
  char tmp[1200];
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%llx", path, (long)getpid(),
             (unsigned long long)(now_s() * 1e9) + (unsigned long long)attempt);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  }
  if (fd < 0) {
    snprintf(why, why_size, "cannot write the cache: %s", strerror(errno));
    return -1;
  }
  table_header hd;
  memset(&hd, 0, sizeof hd);
  memcpy(hd.magic, table_magic, 8);
  hd.version = CITY_NET_TABLE_VERSION;
  hd.header_bytes = sizeof hd;
  hd.net_hash = net->hash;
  hd.n = (uint32_t)t->n;
  hd.q_t = t->q_t;
  hd.q_m = t->q_m;
  hd.payload_bytes = city_net_table_bytes(t->n);
  hd.payload_sum = sum_words(t->cell, hd.payload_bytes);
  hd.header_sum = sum_words(&hd, offsetof(table_header, header_sum));
  int bad = write_full(fd, &hd, sizeof hd) != 0 || write_full(fd, t->cell, hd.payload_bytes) != 0;
  bad |= close(fd) != 0;
  if (bad || rename(tmp, path) != 0) {
    snprintf(why, why_size, "cannot write the cache: %s", strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

int city_net_table_open(const city_net *net, const city_net_table_opts *o,
                        city_net_table **out, rs_err *e) {
  *out = NULL;
  const char *dir = o != NULL ? o->cache_dir : NULL;
  int threads = o != NULL ? o->threads : 0;
  char path[1100], why[160] = "";
  int use_cache = !(dir != NULL && dir[0] == '\0');
  if (use_cache && city_net_table_cache_path(net, dir, path, sizeof path) != 0) use_cache = 0;
  if (use_cache) {
    double t0 = now_s();
    city_net_table *t = cache_read(net, path, why, sizeof why);
    if (t != NULL) {
      t->build_s = now_s() - t0;
      snprintf(t->status, sizeof t->status, "read from the cache %s in %.2f s", path, t->build_s);
      *out = t;
      return 0;
    }
  }
  city_net_table *t;
  int rc = city_net_table_build(net, threads, &t, e);
  if (rc) return rc;
  size_t k = strlen(t->status);
  if (!use_cache) {
    snprintf(t->status + k, sizeof t->status - k, "; not cached");
  } else {
    char werr[200] = "";
    if (cache_write(net, t, path, werr, sizeof werr) == 0)
      snprintf(t->status + k, sizeof t->status - k, "%s%s%s; cached at %s",
               why[0] ? " (the cache file was " : "", why, why[0] ? ")" : "", path);
    else
      snprintf(t->status + k, sizeof t->status - k, "; %s", werr);
  }
  *out = t;
  return 0;
}

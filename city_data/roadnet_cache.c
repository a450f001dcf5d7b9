/*
 * roadnet_cache: the cache files of derived arrays; see roadnet_cache.h.
 */
#include "city_data/roadnet_cache.h"

#include "base/rs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char cache_magic[8] = {'R', 'S', 'N', 'E', 'T', 'C', '1', '\n'};

typedef struct {
  char magic[8];
  uint32_t version;
  uint32_t kind;
  uint64_t net_hash;
  uint32_t n_blobs;
  uint32_t header_bytes;
  uint64_t bytes[CITY_NET_CACHE_BLOBS_MAX];
  uint64_t sums[CITY_NET_CACHE_BLOBS_MAX];
  uint64_t header_sum;  /* of every field above */
} cache_header;

uint64_t city_net_cache_sum(const void *p, size_t n) {
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
  if (n % 8) { /* the last bytes, zero-padded */
    uint64_t v = 0;
    memcpy(&v, b + 8 * w, n % 8);
    h[1] = (h[1] ^ v) * 0x9fb21c651e98df25ull;
    h[1] ^= h[1] >> 29;
  }
  uint64_t r = (uint64_t)n;
  for (int k = 0; k < 4; k++) r = (r ^ h[k]) * 0xff51afd7ed558ccdull, r ^= r >> 32;
  return r;
}

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

int city_net_cache_path(uint64_t hash, const char *kind, const char *dir, char *buf,
                        size_t size) {
  char d[1024];
  if (dir == NULL) {
    if (default_dir(d, sizeof d) != 0) return -1;
    dir = d;
  }
  int k = snprintf(buf, size, "%s/net-%016llx.v%d.%s", dir, (unsigned long long)hash,
                   CITY_NET_CACHE_VERSION, kind);
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

int city_net_cache_read(const char *path, uint64_t hash, uint32_t kind, int n,
                        city_net_blob *b, char *why, size_t why_size) {
  why[0] = '\0';
  for (int i = 0; i < n; i++) b[i].p = NULL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  cache_header hd;
  struct stat sb;
  int ok = -1;
  if (fstat(fd, &sb) != 0 || read_full(fd, &hd, sizeof hd) != 0) {
    snprintf(why, why_size, "truncated");
    goto out;
  }
  if (memcmp(hd.magic, cache_magic, 8) != 0) {
    snprintf(why, why_size, "not a ridesim cache file");
    goto out;
  }
  if (hd.header_sum != city_net_cache_sum(&hd, offsetof(cache_header, header_sum))) {
    snprintf(why, why_size, "corrupt header");
    goto out;
  }
  if (hd.version != CITY_NET_CACHE_VERSION || hd.header_bytes != sizeof hd) {
    snprintf(why, why_size, "format version %u, not %d", hd.version, CITY_NET_CACHE_VERSION);
    goto out;
  }
  if (hd.net_hash != hash || hd.kind != kind || hd.n_blobs != (uint32_t)n) {
    snprintf(why, why_size, "another network's");
    goto out;
  }
  uint64_t total = sizeof hd;
  for (int i = 0; i < n; i++) total += hd.bytes[i];
  if ((uint64_t)sb.st_size != total) {
    snprintf(why, why_size, "truncated");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    b[i].bytes = (size_t)hd.bytes[i];
    /* huge pages for the large ones: the table is read at random */
    b[i].p = rs_mem_array(b[i].bytes ? b[i].bytes : 1, 1, 0, 0);
    if (b[i].p == NULL) {
      snprintf(why, why_size, "out of memory reading it");
      goto out;
    }
    if (read_full(fd, b[i].p, b[i].bytes) != 0) {
      snprintf(why, why_size, "truncated");
      goto out;
    }
    if (city_net_cache_sum(b[i].p, b[i].bytes) != hd.sums[i]) {
      snprintf(why, why_size, "corrupt (checksum)");
      goto out;
    }
  }
  ok = 0;
out:
  close(fd);
  if (ok != 0)
    for (int i = 0; i < n; i++) {
      free(b[i].p);
      b[i].p = NULL;
    }
  return ok;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int city_net_cache_write(const char *path, uint64_t hash, uint32_t kind, int n,
                         const city_net_blob *b, char *why, size_t why_size) {
  if (n > CITY_NET_CACHE_BLOBS_MAX) {
    snprintf(why, why_size, "too many arrays to cache");
    return -1;
  }
  if (make_dirs(path) != 0) {
    snprintf(why, why_size, "cannot create the cache directory: %s", strerror(errno));
    return -1;
  }
  /* a name of this process and this moment: O_EXCL refuses a clash */
  char tmp[1200];
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%llx", path, (long)getpid(),
             (unsigned long long)now_ns() + (unsigned long long)attempt);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  }
  if (fd < 0) {
    snprintf(why, why_size, "cannot write the cache: %s", strerror(errno));
    return -1;
  }
  cache_header hd;
  memset(&hd, 0, sizeof hd);
  memcpy(hd.magic, cache_magic, 8);
  hd.version = CITY_NET_CACHE_VERSION;
  hd.kind = kind;
  hd.net_hash = hash;
  hd.n_blobs = (uint32_t)n;
  hd.header_bytes = sizeof hd;
  for (int i = 0; i < n; i++) {
    hd.bytes[i] = b[i].bytes;
    hd.sums[i] = city_net_cache_sum(b[i].p, b[i].bytes);
  }
  hd.header_sum = city_net_cache_sum(&hd, offsetof(cache_header, header_sum));
  int bad = write_full(fd, &hd, sizeof hd) != 0;
  for (int i = 0; i < n && !bad; i++) bad = write_full(fd, b[i].p, b[i].bytes) != 0;
  bad |= close(fd) != 0;
  if (bad || rename(tmp, path) != 0) {
    snprintf(why, why_size, "cannot write the cache: %s", strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

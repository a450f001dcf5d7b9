/*
 * roadnet_table: the all-pairs table of a city-sized road network, built in
 * parallel and cached on disk.
 *
 * For every ordered pair of nodes (a, b) the table holds the fastest
 * free-flow drive from a to b (roadnet.h: fastest, then shortest) as one
 * uint32: its time in units of q_t seconds above its length in units of
 * q_m metres, both rounded to nearest (city_net_table_round). The layout is to-major (all drives
 * into b are contiguous): the candidate search asks for many drivers'
 * drives into one pickup, which then read one row. A Manhattan network
 * (4,197 nodes) takes 70 MB.
 *
 * Building computes one row per node on `threads` POSIX threads (rows
 * handed out by an atomic counter; each row is the same whichever thread
 * computes it): with the network's contraction hierarchy, by two linear
 * sweeps in rank order (PHAST, Delling et al. 2011: up from the destination
 * over the edges that come down into it, then down over every node's
 * upward edges), else by a Dijkstra over the reverse graph. Both give the
 * exact distances, so the same table. The units are the finest of 0.1, 0.2,
 * 0.5, 1, 2 ... seconds and 1, 2, 5 ... metres that hold an upper bound of
 * the longest drive (via node 0, two Dijkstras) in 16 bits.
 *
 * The cache (roadnet_cache.h): a file named by the network's content hash
 * holding the units and the table. A file that fails any check is rebuilt
 * and replaced; a cache that cannot be written is reported in the status
 * and otherwise ignored.
 */
#ifndef CITY_ROADNET_TABLE_H
#define CITY_ROADNET_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/roadnet.h"
#include "city_data/roadnet_ch.h"

typedef struct {
  int32_t n;            /* nodes */
  uint32_t *cell;       /* n x n: cell[b * n + a] = drive a -> b */
  double q_t;           /* seconds per time unit */
  double q_m;           /* metres per length unit */
  int from_cache;       /* read from the cache file */
  double build_s;       /* wall seconds to build or read it */
  char status[1536];     /* one line: how it was obtained */
} city_net_table;

typedef struct {
  const char *cache_dir; /* NULL: the default; "": no cache */
  int threads;           /* 0: the online CPUs, at most 8 */
  const city_net_hubs *hubs; /* the network's hierarchy (NULL: Dijkstras) */
} city_net_table_opts;

/* Bytes of a table of n nodes. */
static inline size_t city_net_table_bytes(int32_t n) {
  return (size_t)n * (size_t)n * sizeof(uint32_t);
}

/* The table of net: read from the cache when a valid file is there, else
 * built (and written to the cache). RS_ENOMEM; cache trouble is never an
 * error (see status). */
int city_net_table_open(const city_net *net, const city_net_table_opts *o,
                        city_net_table **out, rs_err *e);
/* Builds the table without any cache; hubs may be NULL. */
int city_net_table_build(const city_net *net, const city_net_hubs *hubs, int threads,
                         city_net_table **out, rs_err *e);
void city_net_table_free(city_net_table *t);

/* The cache file's path for net under dir (NULL: the default directory)
 * into buf; -1 when there is no directory to use (no HOME) or it does not
 * fit. */
int city_net_table_cache_path(const city_net *net, const char *dir, char *buf, size_t size);

/* A weight half of `units` (of a network unit) in table units, k = the
 * network unit / the table unit: rounded half up. The one rounding of
 * every cell. */
static inline uint32_t city_net_table_round(uint64_t units, double k) {
  double v = (double)units * k + 0.5;
  return v < 65535.0 ? (uint32_t)v : 65535u;
}

/* The drive from a to b: seconds and metres. */
static inline uint32_t city_net_table_cell(const city_net_table *t, int32_t a, int32_t b) {
  return t->cell[(size_t)b * (size_t)t->n + (size_t)a];
}
static inline double city_net_table_secs(const city_net_table *t, uint32_t c) {
  return (double)(c >> 16) * t->q_t;
}
static inline double city_net_table_metres(const city_net_table *t, uint32_t c) {
  return (double)(c & 0xffffu) * t->q_m;
}

#endif

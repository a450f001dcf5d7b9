/*
 * roadnet_ch: contraction hierarchies and hub labels over a road network,
 * for shortest drives on networks too large for an all-pairs table, and
 * for the links of any drive (a driver's position part-way along it).
 *
 * Contraction (Geisberger et al. 2008): nodes are removed one by one in
 * order of a priority (edge difference plus contracted neighbours, updated
 * lazily), and when a removed node v lay on the only shortest path u -> v
 * -> w among the nodes left, a shortcut u -> w of the same weight (and
 * middle node v) keeps the distance; a bounded witness search looks for
 * another path first. Weights are the network's packed (time, length)
 * integers (roadnet.h), so every distance is exact.
 *
 * Hub labels (Abraham et al. 2011) from the hierarchy: each node's forward
 * label is its upward search space with distances, its backward label the
 * same over reversed links; the distance a -> b is the least df + db over
 * the hubs the two labels share, a merge of two sorted arrays. Labels are
 * built top-down (a node's label is its upward neighbours' labels shifted
 * by the link), and an entry whose distance is not the true one (the
 * labels of higher nodes, already pruned, prove it shorter) is dropped.
 * Every entry kept is exact, so its `via` neighbour's label holds the same
 * hub: that is how a drive's links are walked without any search.
 *
 * Costs: see `ridesim network bench` and docs/network.md for measured
 * preprocessing times, label sizes and queries per second. A query is
 * O(|Lf(a)| + |Lb(b)|), allocates nothing and only reads, so any number of
 * threads may share one city_net_hubs.
 */
#ifndef CITY_ROADNET_CH_H
#define CITY_ROADNET_CH_H

#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/roadnet.h"

/* A hierarchy edge: to `node`, of weight w, a shortcut over `mid` (-1: an
 * original link). */
typedef struct {
  int32_t node;
  int32_t mid;
  uint64_t w;
} city_ch_edge;

typedef struct {
  const city_net *net;      /* borrowed */
  int32_t n;
  int32_t *rank;            /* per node: its contraction order */
  int32_t *node_of;         /* per rank: the node */
  /* the hierarchy: upward edges by node (to higher ranks), and the edges
   * coming down into each node from higher ranks (source in .node) */
  int32_t *up_first;        /* n + 1 */
  city_ch_edge *up;
  int32_t *down_first;      /* n + 1 */
  city_ch_edge *down;
  int64_t shortcuts;        /* shortcuts added */
  /* Labels: hubs as ranks, sorted ascending, each label closed by a
   * UINT32_MAX sentinel. A node's label is one block of words at
   * l?_off[v]: its hubs (uint32, sentinel included), padded to a word, then
   * their weights (uint64), so a query reads two offsets and two
   * contiguous blocks. Entry i of v's label also has index l?_first[v] + i
   * in the per-entry array l?_via. */
  int64_t *lf_first, *lb_first; /* n + 1 entry offsets (sentinels counted) */
  int64_t *lf_off, *lb_off;     /* n + 1 block offsets, in words */
  uint64_t *lf_blk, *lb_blk;    /* the blocks */
  int32_t *lf_via, *lb_via; /* the upward neighbour the entry came through, -1 */
  double ch_s, labels_s;    /* wall seconds of the two steps (0: read) */
  int64_t label_entries;    /* forward + backward, without sentinels */
  size_t bytes;             /* memory held */
  int from_cache;           /* read from the cache file */
  char status[1536];        /* one line: how it was obtained */
} city_net_hubs;

/* Builds the hierarchy and the labels of net (borrowed: it must outlive
 * the result). threads > 1 builds labels of one level in parallel.
 * RS_ENOMEM. */
int city_net_hubs_build(const city_net *net, int threads, city_net_hubs **out, rs_err *e);
void city_net_hubs_free(city_net_hubs *h);
/* The same, read from the cache (roadnet_cache.h) when a valid file is
 * there, else built and written to it; cache_dir NULL: the default, "":
 * no cache. Cache trouble is never an error (see status). */
int city_net_hubs_open(const city_net *net, const char *cache_dir, int threads,
                       city_net_hubs **out, rs_err *e);

/* The shortest drive a -> b as a packed weight (roadnet.h). */
uint64_t city_net_hubs_query(const city_net_hubs *h, int32_t a, int32_t b);

/* Walks the links of the shortest drive a -> b in order, calling
 * visit(ctx, link) with each forward link index of net until it returns
 * nonzero. Returns the weight of the drive. */
uint64_t city_net_hubs_walk(const city_net_hubs *h, int32_t a, int32_t b,
                            int (*visit)(void *ctx, int32_t link), void *ctx);

/* 0 when the hierarchy and labels are consistent: ranks a permutation,
 * upward edges going up, sentinels, hubs ascending. For tests. */
int city_net_hubs_check(const city_net_hubs *h);

#endif

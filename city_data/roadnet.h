/*
 * roadnet: a directed road network in CSR form, its loaders, snapping and
 * shortest paths.
 *
 * A network is nodes (latitude, longitude) and directed links (length in
 * metres, free-flow travel time in seconds), read from the two formats
 * researchers have (roadnet_load.c):
 *
 *   - NetworkX node-link JSON as OSMnx graphs are saved with
 *     nx.node_link_data: {"nodes": [{"id", "x" (lng), "y" (lat)}, ...],
 *     "links" (or "edges"): [{"source", "target", "length",
 *     "travel_time"?, "speed_kph"? or "speed_kmph"?, ...}, ...]};
 *   - GraphML as ox.save_graphml writes it: <key> declarations naming the
 *     data of nodes (x, y) and edges (length, travel_time, speed_kph), then
 *     <node id="..."> and <edge source="..." target="..."> elements.
 *
 * Building (city_net_build) cleans what was read: self loops are dropped;
 * of parallel links (a multigraph's keys) the fastest is kept; a link
 * without travel_time is timed at length / speed; a link whose speed is
 * implausible (above CITY_NET_SPEED_MAX_KMH or below
 * CITY_NET_SPEED_MIN_KMH) is reported and timed at the network's median
 * speed instead; then only the largest strongly connected component is
 * kept (iterative Tarjan), so every node reaches every other, its nodes
 * numbered along a Hilbert curve (nearby nodes, nearby ids). What was
 * changed is counted in city_net_stats.
 *
 * Weights. Each link's time and length are rounded to integer units and
 * packed into one uint64, time above length:
 *
 *   w = (time / t_unit) << 32 | (length / m_unit),
 *
 * so adding weights adds both, and comparing them compares time, then
 * length: every shortest-path search here finds the fastest path and, among
 * equally fast ones, the shortest, exactly (integers: no rounding order),
 * and all of them (Dijkstra, the table, contraction hierarchies) agree to
 * the bit. The units are the finest of a few steps (1 ms and 1 cm for
 * city networks) for which the sum of two simple paths cannot carry out of
 * its 32 bits.
 *
 * Snapping: a kd-tree over the nodes' unit vectors answers the nearest
 * node of a point exactly (great-circle nearest, ties by node index) in
 * O(log n) expected.
 *
 * Ownership: a city_net owns every array it points to; city_net_free
 * releases them. A built network is read-only and may be shared between
 * threads.
 */
#ifndef CITY_ROADNET_H
#define CITY_ROADNET_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"

#define CITY_NET_SPEED_MAX_KMH 130.0 /* above any urban road's free flow (motorway limits
                                        in most countries); a faster link is a data error */
#define CITY_NET_SPEED_MIN_KMH 1.0   /* slower than walking: a data error */
#define CITY_NET_SNAP_LIMIT_M 500.0  /* a point farther from every node is off the network */
#define CITY_NET_FILE_MAX ((size_t)1 << 31) /* network files larger than 2 GiB are refused */

/* What loading and building found. */
typedef struct {
  int64_t nodes_read, links_read; /* in the file */
  int64_t self_loops;             /* links from a node to itself: dropped */
  int64_t parallel;               /* parallel links merged into the fastest */
  int64_t filled_times;           /* links timed at length / speed (no travel_time) */
  int64_t implausible;            /* links of implausible speed, timed at the median */
  double implausible_max_kmh;     /* the fastest of them, km/h (0 when none) */
  int64_t implausible_first;      /* the file's index of the first of them, -1 */
  double median_kmh;              /* median speed of the plausible links read */
  int64_t dropped_nodes, dropped_links; /* outside the largest SCC */
  int64_t components;             /* strongly connected components found */
} city_net_stats;

/* A network. Node and link arrays are indexed 0..n-1 (nodes in Hilbert
 * order, not the file's); links are grouped by tail node (CSR) and sorted
 * by head within a node. */
typedef struct {
  int32_t n_nodes;
  int32_t n_links;
  double *lat, *lng;        /* per node, degrees */
  double (*u)[3];           /* per node: unit vector (rs_unit_vector) */
  int32_t *first;           /* n_nodes + 1: node v's links are [first[v], first[v+1]) */
  int32_t *head;            /* per link: its target node */
  double *length_m;         /* per link: metres */
  double *time_s;           /* per link: free-flow seconds */
  uint64_t *w;              /* per link: packed weight (see above) */
  /* the reverse graph: links into each node */
  int32_t *rfirst;          /* n_nodes + 1 */
  int32_t *rtail;           /* per reverse link: its source node */
  uint64_t *rw;             /* per reverse link: its packed weight */
  double t_unit_s;          /* seconds per unit of a weight's time half */
  double m_unit_m;          /* metres per unit of its length half */
  double max_geo_mps;       /* the largest great-circle metres per second of any
                               link: no path covers ground faster */
  double min_lat, min_lng, max_lat, max_lng; /* extent of the nodes */
  city_net_stats st;
  uint64_t hash;            /* content hash of nodes, links and units */
  int32_t *kd;              /* snapping: node indices in kd-tree order */
  uint8_t *kd_axis;         /* per kd position: its split axis (0-2) */
  double (*kd_box)[6];      /* per kd position: its range's box (min xyz, max xyz) */
} city_net;

/* What a loader hands to city_net_build: nodes and links as read.
 * time_s and speed_kmh may be NAN (missing); a link needs one of them. */
typedef struct {
  int32_t n_nodes;
  double *lat, *lng;
  int64_t n_links;
  int32_t *src, *dst;       /* node indices */
  double *length_m, *time_s, *speed_kmh;
} city_net_raw;

/* Builds a network from raw nodes and links (borrowed; checked: finite
 * coordinates in range, positive finite lengths, a time or a speed per
 * link). origin names the source in errors ("net.json: links[17]:
 * length: not a positive number"). RS_EFORMAT on bad input, RS_EEMPTY when
 * no link survives, RS_ENOMEM. *out is NULL on failure. */
int city_net_build(const city_net_raw *raw, const char *origin, city_net **out, rs_err *e);
void city_net_free(city_net *net);

/* A copy of net whose link i takes factor[i] (> 0) times its time: the
 * same nodes, links, numbering, lengths and kd-tree, weights repacked (the
 * time unit chosen again for the new times), a new content hash; stats are
 * the original's (what was read). RS_EINVAL (a factor not positive and
 * finite), RS_ERANGE (times too long to pack), RS_ENOMEM; *out NULL then. */
int city_net_retime(const city_net *net, const double *factor, city_net **out, rs_err *e);

/* Loads a network file: GraphML when its first non-blank byte is '<',
 * else node-link JSON. Errors name the file, and the line (GraphML) or the
 * element (JSON). */
int city_net_load(const char *path, city_net **out, rs_err *e);
int city_net_parse_json(const char *text, size_t len, const char *origin, city_net_raw *raw,
                        rs_err *e);
int city_net_parse_graphml(const char *text, size_t len, const char *origin, city_net_raw *raw,
                           rs_err *e);
void city_net_raw_free(city_net_raw *raw);

/* The nearest node of a point (great circle, ties by the lower index) and
 * its distance in metres (dist_m may be NULL). Never fails. */
int32_t city_net_snap(const city_net *net, double lat, double lng, double *dist_m);

/* A weight's halves in seconds and metres. */
static inline double city_net_secs(const city_net *net, uint64_t w) {
  return (double)(w >> 32) * net->t_unit_s;
}
static inline double city_net_metres(const city_net *net, uint64_t w) {
  return (double)(w & 0xffffffffu) * net->m_unit_m;
}

/* A plain Dijkstra from src over the forward graph (reverse != 0: over the
 * reverse graph, giving distances *to* src) into dist (n_nodes; UINT64_MAX
 * where unreached) and, when pred is not NULL, each node's last link
 * (forward link index; -1 at src and where unreached). The reference every
 * faster structure is tested against. RS_ENOMEM (dist then undefined). */
int city_net_dijkstra(const city_net *net, int32_t src, int reverse, uint64_t *dist,
                      int32_t *pred);

/* 0 when the network's invariants hold: CSR offsets, heads in range and
 * sorted per node, reverse graph the transpose, positive weights, every
 * node reaching and reached from node 0. For tests. */
int city_net_check(const city_net *net);

/* The great-circle distance (metres) between two nodes. */
double city_net_gc_m(const city_net *net, int32_t a, int32_t b);

/* Synthetic grid networks for benchmarks and tests: cols x rows nodes
 * spaced spacing_m apart around (lat0, lng0), two-way links between
 * neighbours; every arterial_every-th street (0: none) is twice as fast as
 * the others (base_kmh), and each link's speed is jittered by up to
 * +-jitter (a fraction) from the PCG32 stream of seed. */
typedef struct {
  int32_t cols, rows;
  double spacing_m;
  double lat0, lng0;
  double base_kmh;
  int32_t arterial_every;
  double jitter;
  uint64_t seed;
} city_net_grid_opts;
void city_net_grid_defaults(city_net_grid_opts *o);
int city_net_grid(const city_net_grid_opts *o, city_net_raw *raw, rs_err *e);

/* Writes a network as node-link JSON or GraphML (OSMnx's layout, the
 * subset city_net_load reads back): for tests and `ridesim network synth`. */
int city_net_write_json(const city_net_raw *raw, const char *path, rs_err *e);
int city_net_write_graphml(const city_net_raw *raw, const char *path, rs_err *e);

#endif

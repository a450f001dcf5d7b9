/*
 * test_roadnet: road networks (city_data/roadnet*.h) against naive
 * references on random graphs: strongly connected components against
 * reachability, snapping against a linear scan, the all-pairs table and the
 * hub labels against a plain Dijkstra (and a drive's links walked against
 * its weight); the cache's corrupt, truncated and foreign files; the
 * loaders' messages on bad input; the GraphML file of tests/data; and, with
 * RIDESIM_DATA, the shared Manhattan network, read as JSON and as GraphML
 * written from it.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "city_data/roadnet.h"
#include "city_data/roadnet_cache.h"
#include "city_data/roadnet_ch.h"
#include "city_data/roadnet_table.h"
#include "tests/testutil.h"

#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif

/* A random network: n nodes in a 3 km box, m links between random pairs
 * (some parallel, some loops), lengths at least the straight line, speeds
 * 10-80 km/h, some links with a speed and no time. */
static void random_raw(pcg32 *r, int32_t n, int64_t m, city_net_raw *raw) {
  memset(raw, 0, sizeof *raw);
  raw->n_nodes = n;
  raw->n_links = m;
  raw->lat = malloc((size_t)n * sizeof *raw->lat);
  raw->lng = malloc((size_t)n * sizeof *raw->lng);
  raw->src = malloc((size_t)m * sizeof *raw->src);
  raw->dst = malloc((size_t)m * sizeof *raw->dst);
  raw->length_m = malloc((size_t)m * sizeof *raw->length_m);
  raw->time_s = malloc((size_t)m * sizeof *raw->time_s);
  raw->speed_kmh = malloc((size_t)m * sizeof *raw->speed_kmh);
  for (int32_t v = 0; v < n; v++) {
    raw->lat[v] = 40.0 + 0.027 * pcg32_double(r);
    raw->lng[v] = -100.0 + 0.035 * pcg32_double(r);
  }
  for (int64_t i = 0; i < m; i++) {
    int32_t a = (int32_t)pcg32_bounded(r, (uint32_t)n), b = (int32_t)pcg32_bounded(r, (uint32_t)n);
    if (pcg32_bounded(r, 20) == 0 && i > 0) { /* a parallel link */
      a = raw->src[i - 1];
      b = raw->dst[i - 1];
    }
    raw->src[i] = a;
    raw->dst[i] = b;
    double gc = rs_geo_haversine(raw->lat[a], raw->lng[a], raw->lat[b], raw->lng[b]);
    raw->length_m[i] = gc * (1.0 + 0.3 * pcg32_double(r)) + 1.0;
    double kmh = 10 + 70 * pcg32_double(r);
    /* a few equal times make ties the metres must break */
    if (pcg32_bounded(r, 4) == 0) kmh = 36;
    raw->speed_kmh[i] = kmh;
    raw->time_s[i] = pcg32_bounded(r, 5) == 0 ? NAN : raw->length_m[i] / (kmh / 3.6);
  }
}

static city_net *random_net(uint64_t seed, int32_t n, int64_t m) {
  pcg32 r;
  pcg32_seed(&r, seed, 3);
  city_net_raw raw;
  random_raw(&r, n, m, &raw);
  city_net *net;
  rs_err e;
  ck_assert_msg(city_net_build(&raw, "random", &net, &e) == 0, "%s", e.msg);
  city_net_raw_free(&raw);
  ck_assert_int_eq(city_net_check(net), 0);
  return net;
}

/* ------------------------------------------------------------ SCC */

static int pair_cmp(const void *pa, const void *pb) {
  const double *a = pa, *b = pb;
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1];
}

START_TEST(scc_against_reachability) {
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i + 100, 5);
  int32_t n = 5 + (int32_t)pcg32_bounded(&r, 60);
  int64_t m = n + (int64_t)pcg32_bounded(&r, (uint32_t)(2 * n));
  city_net_raw raw;
  random_raw(&r, n, m, &raw);
  /* naive: reachability by repeated relaxation */
  uint8_t *reach = calloc((size_t)n * (size_t)n, 1);
  for (int32_t v = 0; v < n; v++) reach[(size_t)v * n + v] = 1;
  for (int64_t i = 0; i < m; i++) reach[(size_t)raw.src[i] * n + raw.dst[i]] = 1;
  for (int32_t k = 0; k < n; k++)
    for (int32_t a = 0; a < n; a++)
      if (reach[(size_t)a * n + k])
        for (int32_t b = 0; b < n; b++)
          if (reach[(size_t)k * n + b]) reach[(size_t)a * n + b] = 1;
  /* the largest class of mutual reachability, ties by its lowest node */
  int32_t best = -1, best_n = 0;
  for (int32_t v = 0; v < n; v++) {
    int32_t c = 0, lowest = v;
    for (int32_t u = 0; u < n; u++)
      if (reach[(size_t)v * n + u] && reach[(size_t)u * n + v]) {
        c++;
        if (u < lowest) lowest = u;
      }
    if (lowest == v && c > best_n) {
      best_n = c;
      best = v;
    }
  }
  int has_link = 0; /* a class of one node keeps no link */
  for (int64_t i = 0; i < m; i++) {
    int32_t a = raw.src[i], b = raw.dst[i];
    if (a != b && reach[(size_t)best * n + a] && reach[(size_t)a * n + best] &&
        reach[(size_t)best * n + b] && reach[(size_t)b * n + best])
      has_link = 1;
  }
  city_net *net;
  rs_err e;
  int rc = city_net_build(&raw, "random", &net, &e);
  if (!has_link) {
    ck_assert_int_eq(rc, RS_EEMPTY);
  } else {
    ck_assert_msg(rc == 0, "%s", e.msg);
    ck_assert_int_eq(net->n_nodes, best_n);
    ck_assert_int_eq(net->st.dropped_nodes, n - best_n);
    /* the kept nodes (renumbered: compared as sets of places) */
    double *want = malloc((size_t)best_n * 2 * sizeof *want);
    double *got = malloc((size_t)best_n * 2 * sizeof *got);
    int32_t k = 0;
    for (int32_t v = 0; v < n; v++)
      if (reach[(size_t)best * n + v] && reach[(size_t)v * n + best]) {
        want[2 * k] = raw.lat[v];
        want[2 * k + 1] = raw.lng[v];
        k++;
      }
    for (int32_t v = 0; v < best_n; v++) {
      got[2 * v] = net->lat[v];
      got[2 * v + 1] = net->lng[v];
    }
    qsort(want, (size_t)best_n, 2 * sizeof *want, pair_cmp);
    qsort(got, (size_t)best_n, 2 * sizeof *got, pair_cmp);
    ck_assert_int_eq(memcmp(want, got, (size_t)best_n * 2 * sizeof *want), 0);
    free(want);
    free(got);
    ck_assert_int_eq(city_net_check(net), 0);
    city_net_free(net);
  }
  free(reach);
  city_net_raw_free(&raw);
}
END_TEST

/* ------------------------------------------------------------ snapping */

START_TEST(snap_against_scan) {
  city_net *net = random_net((uint64_t)_i + 7, 300, 1500);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 9);
  for (int q = 0; q < 2000; q++) {
    double lat, lng;
    if (q % 10 == 0 && q > 0) { /* exactly on a node: ties resolve to the lower index */
      int32_t v = (int32_t)pcg32_bounded(&r, (uint32_t)net->n_nodes);
      lat = net->lat[v];
      lng = net->lng[v];
    } else { /* around and beyond the network */
      lat = 39.98 + 0.07 * pcg32_double(&r);
      lng = -100.03 + 0.09 * pcg32_double(&r);
    }
    double u[3];
    rs_unit_vector(lat, lng, u);
    double best = INFINITY;
    int32_t bi = -1;
    for (int32_t v = 0; v < net->n_nodes; v++) {
      double d = rs_chord2(u, net->u[v]);
      if (d < best) {
        best = d;
        bi = v;
      }
    }
    double dm;
    ck_assert_int_eq(city_net_snap(net, lat, lng, &dm), bi);
    ck_assert(fabs(dm - rs_chord2_m(best, RS_EARTH_RADIUS_M)) < 1e-9);
  }
  city_net_free(net);
}
END_TEST

/* ------------------------------------------------------------ distances */

START_TEST(table_against_dijkstra) {
  /* odd rounds sweep the hierarchy, even ones run Dijkstras */
  city_net *net = random_net((uint64_t)_i / 2 + 21, 150, 600);
  city_net_table *t;
  rs_err e;
  city_net_hubs *h = NULL;
  if (_i % 2) ck_assert_int_eq(city_net_hubs_build(net, 1, &h, &e), 0);
  ck_assert_int_eq(city_net_table_build(net, h, 2, &t, &e), 0);
  uint64_t *d = malloc((size_t)net->n_nodes * sizeof *d);
  for (int32_t a = 0; a < net->n_nodes; a++) {
    ck_assert_int_eq(city_net_dijkstra(net, a, 0, d, NULL), 0);
    for (int32_t b = 0; b < net->n_nodes; b++) {
      ck_assert(d[b] != UINT64_MAX);
      uint32_t c = city_net_table_cell(t, a, b);
      /* rounded to nearest: within half a unit of the exact drive */
      double es = city_net_secs(net, d[b]), em = city_net_metres(net, d[b]);
      ck_assert(fabs(city_net_table_secs(t, c) - es) <= 0.5 * t->q_t * (1 + 1e-9));
      ck_assert(fabs(city_net_table_metres(t, c) - em) <= 0.5 * t->q_m * (1 + 1e-9));
      ck_assert_int_eq(c >> 16, city_net_table_round(d[b] >> 32, net->t_unit_s / t->q_t));
      ck_assert_int_eq(c & 0xffff, city_net_table_round(d[b] & 0xffffffffu, net->m_unit_m / t->q_m));
    }
  }
  free(d);
  city_net_table_free(t);
  city_net_hubs_free(h);
  city_net_free(net);
}
END_TEST

/* A walk's visitor: checks the links join up and adds their weights. */
typedef struct {
  const city_net *net;
  int32_t at;       /* the node reached so far */
  uint64_t w;
  int broken;
} walk_check;

static int on_link(void *ctx, int32_t link) {
  walk_check *k = ctx;
  const city_net *net = k->net;
  if (link < net->first[k->at] || link >= net->first[k->at + 1]) k->broken = 1;
  k->w += net->w[link];
  k->at = net->head[link];
  return 0;
}

START_TEST(hubs_against_dijkstra) {
  city_net *net = random_net((uint64_t)_i + 40, 120 + 20 * _i, 500 + 90 * _i);
  city_net_hubs *h;
  rs_err e;
  ck_assert_int_eq(city_net_hubs_build(net, 1, &h, &e), 0);
  ck_assert_int_eq(city_net_hubs_check(h), 0);
  uint64_t *d = malloc((size_t)net->n_nodes * sizeof *d);
  for (int32_t a = 0; a < net->n_nodes; a++) {
    ck_assert_int_eq(city_net_dijkstra(net, a, 0, d, NULL), 0);
    for (int32_t b = 0; b < net->n_nodes; b++) {
      ck_assert_msg(city_net_hubs_query(h, a, b) == d[b], "%d -> %d", (int)a, (int)b);
      if ((a + b) % 7) continue;
      walk_check k = {net, a, 0, 0};
      ck_assert(city_net_hubs_walk(h, a, b, on_link, &k) == d[b]);
      ck_assert(!k.broken);
      ck_assert_int_eq(k.at, b);
      ck_assert(k.w == d[b]);
    }
  }
  free(d);
  city_net_hubs_free(h);
  city_net_free(net);
}
END_TEST

START_TEST(grid_ties) {
  /* no jitter: a grid of equal links, where countless paths tie on time
   * and the metres and the exact integers decide */
  city_net_grid_opts o;
  city_net_grid_defaults(&o);
  o.cols = 17;
  o.rows = 13;
  o.jitter = 0;
  o.arterial_every = 4;
  city_net_raw raw;
  rs_err e;
  ck_assert_int_eq(city_net_grid(&o, &raw, &e), 0);
  ck_assert_int_eq(raw.n_nodes, 17 * 13);
  ck_assert_int_eq(raw.n_links, 2 * (16 * 13 + 17 * 12));
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  city_net_raw_free(&raw);
  city_net_hubs *h;
  ck_assert_int_eq(city_net_hubs_build(net, 1, &h, &e), 0);
  uint64_t *d = malloc((size_t)net->n_nodes * sizeof *d);
  for (int32_t a = 0; a < net->n_nodes; a += 3) {
    city_net_dijkstra(net, a, 0, d, NULL);
    for (int32_t b = 0; b < net->n_nodes; b++) ck_assert(city_net_hubs_query(h, a, b) == d[b]);
  }
  free(d);
  city_net_hubs_free(h);
  city_net_free(net);
}
END_TEST

/* ------------------------------------------------------------ cache */

static void flip_byte(const char *path, long at) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  if (at < 0) {
    fseek(f, 0, SEEK_END);
    at += ftell(f);
  }
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x5a, f);
  fclose(f);
}

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  ck_assert(a && b);
  char buf[65536];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, k, b);
  fclose(a);
  fclose(b);
}

START_TEST(cache_files) {
  char dir[256];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  char cdir[300];
  snprintf(cdir, sizeof cdir, "%s/cache/sub", dir); /* created on the first write */
  city_net *net = random_net(77, 120, 500), *other = random_net(78, 110, 450);
  city_net_table_opts o = {cdir, 2, NULL};
  city_net_table *t0, *t;
  rs_err e;
  ck_assert_int_eq(city_net_table_open(net, &o, &t0, &e), 0);
  ck_assert_int_eq(t0->from_cache, 0);
  ck_assert_ptr_nonnull(strstr(t0->status, "cached at"));
  ck_assert_int_eq(city_net_table_open(net, &o, &t, &e), 0);
  ck_assert_int_eq(t->from_cache, 1);
  ck_assert(t->q_t == t0->q_t && t->q_m == t0->q_m);
  ck_assert_int_eq(memcmp(t->cell, t0->cell, city_net_table_bytes(net->n_nodes)), 0);
  city_net_table_free(t);
  char path[1100], opath[1100];
  ck_assert_int_eq(city_net_table_cache_path(net, cdir, path, sizeof path), 0);
  /* a corrupt payload, a corrupt header, a truncated file, another
   * network's file under this one's name: each detected and rebuilt */
  const char *expect[4] = {"corrupt (checksum)", "corrupt header", "truncated",
                           "another network's"};
  for (int k = 0; k < 4; k++) {
    if (k == 0) flip_byte(path, -5);
    if (k == 1) flip_byte(path, 20);
    if (k == 2) ck_assert_int_eq(truncate(path, 1000), 0);
    if (k == 3) {
      city_net_table *u;
      ck_assert_int_eq(city_net_table_open(other, &o, &u, &e), 0);
      city_net_table_free(u);
      ck_assert_int_eq(city_net_table_cache_path(other, cdir, opath, sizeof opath), 0);
      copy_file(opath, path);
    }
    ck_assert_int_eq(city_net_table_open(net, &o, &t, &e), 0);
    ck_assert_int_eq(t->from_cache, 0);
    ck_assert_msg(strstr(t->status, expect[k]) != NULL, "%s", t->status);
    ck_assert_int_eq(memcmp(t->cell, t0->cell, city_net_table_bytes(net->n_nodes)), 0);
    city_net_table_free(t);
    /* and the rewritten file is good again */
    ck_assert_int_eq(city_net_table_open(net, &o, &t, &e), 0);
    ck_assert_int_eq(t->from_cache, 1);
    city_net_table_free(t);
  }
  /* no temporary file is left behind */
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", cdir);
  FILE *p = popen(cmd, "r");
  int n_tmp = -1;
  ck_assert_int_eq(fscanf(p, "%d", &n_tmp), 1);
  pclose(p);
  ck_assert_int_eq(n_tmp, 0);
  /* hub labels: the same answers from the cache */
  city_net_hubs *h0, *h;
  ck_assert_int_eq(city_net_hubs_open(net, cdir, 1, &h0, &e), 0);
  ck_assert_int_eq(h0->from_cache, 0);
  ck_assert_int_eq(city_net_hubs_open(net, cdir, 1, &h, &e), 0);
  ck_assert_int_eq(h->from_cache, 1);
  ck_assert_int_eq(city_net_hubs_check(h), 0);
  for (int32_t a = 0; a < net->n_nodes; a++)
    for (int32_t b = 0; b < net->n_nodes; b++)
      ck_assert(city_net_hubs_query(h, a, b) == city_net_hubs_query(h0, a, b));
  city_net_hubs_free(h);
  ck_assert_int_eq(city_net_cache_path(net->hash, "hub", cdir, path, sizeof path), 0);
  flip_byte(path, -3);
  ck_assert_int_eq(city_net_hubs_open(net, cdir, 1, &h, &e), 0);
  ck_assert_int_eq(h->from_cache, 0);
  ck_assert_ptr_nonnull(strstr(h->status, "corrupt"));
  city_net_hubs_free(h);
  city_net_hubs_free(h0);
  /* no cache at all */
  o.cache_dir = "";
  ck_assert_int_eq(city_net_table_open(net, &o, &t, &e), 0);
  ck_assert_ptr_nonnull(strstr(t->status, "not cached"));
  city_net_table_free(t);
  city_net_table_free(t0);
  city_net_free(net);
  city_net_free(other);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ------------------------------------------------------------ loaders */

static void json_fails(const char *text, const char *msg) {
  city_net_raw raw;
  rs_err e;
  rs_err_clear(&e);
  int rc = city_net_parse_json(text, strlen(text), "net.json", &raw, &e);
  ck_assert_int_eq(rc, RS_EFORMAT);
  ck_assert_msg(strcmp(e.msg, msg) == 0, "got '%s', want '%s'", e.msg, msg);
}

START_TEST(json_errors) {
  const char *n2 = "{\"nodes\": [{\"id\": 1, \"x\": -100, \"y\": 40}, "
                   "{\"id\": \"b\", \"x\": -100.01, \"y\": 40.01}], ";
  char buf[512];
  snprintf(buf, sizeof buf, "%s\"links\": [{\"source\": 1, \"target\": \"b\", \"length\": 10, "
           "\"travel_time\": 1}, {\"source\": 1, \"target\": \"b\", \"length\": -3, "
           "\"travel_time\": 1}]}", n2);
  json_fails(buf, "net.json: links[1]: length: not a positive number");
  snprintf(buf, sizeof buf, "%s\"links\": [{\"source\": 1, \"target\": 9, \"length\": 10, "
           "\"travel_time\": 1}]}", n2);
  json_fails(buf, "net.json: links[0]: target: '9' is not a node");
  snprintf(buf, sizeof buf, "%s\"links\": [{\"source\": 1, \"target\": \"b\", \"length\": 10, "
           "\"travel_time\": \"fast\"}]}", n2);
  json_fails(buf, "net.json: links[0]: travel_time: not a positive number");
  snprintf(buf, sizeof buf, "%s\"links\": [{\"source\": 1, \"target\": \"b\"}]}", n2);
  json_fails(buf, "net.json: links[0]: length: missing");
  json_fails("{\"nodes\": [{\"id\": 1, \"x\": -100, \"y\": 40}, {\"id\": 1, \"x\": 0, \"y\": 0}],"
             " \"links\": []}",
             "net.json: nodes[1]: id 1: repeats an earlier node");
  json_fails("{\"nodes\": [{\"id\": 1, \"x\": -100, \"y\": 95}], \"links\": []}",
             "net.json: nodes[0] (id 1): y: missing or not a latitude");
  json_fails("{\"nodes\": []}",
             "net.json: not a node-link graph (needs \"nodes\" and \"links\" or \"edges\" arrays)");
  json_fails("{\"nodes\": [\n\n{]", "net.json:3: not valid JSON");
  /* a link with neither time nor speed is refused when built */
  snprintf(buf, sizeof buf, "%s\"edges\": [{\"source\": 1, \"target\": \"b\", \"length\": 10}]}",
           n2);
  city_net_raw raw;
  rs_err e;
  ck_assert_int_eq(city_net_parse_json(buf, strlen(buf), "net.json", &raw, &e), 0);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "net.json", &net, &e), RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "net.json: links[0]: travel_time: missing"));
  city_net_raw_free(&raw);
  /* "directed": false gives both directions: a two-node network */
  snprintf(buf, sizeof buf, "{\"directed\": false, %s\"links\": [{\"source\": 1, \"target\": "
           "\"b\", \"length\": 1500, \"speed_kph\": 30}]}", n2 + 1);
  ck_assert_int_eq(city_net_parse_json(buf, strlen(buf), "net.json", &raw, &e), 0);
  ck_assert_int_eq(city_net_build(&raw, "net.json", &net, &e), 0);
  ck_assert_int_eq(net->n_nodes, 2);
  ck_assert_int_eq(net->n_links, 2);
  ck_assert_int_eq(net->st.filled_times, 2);
  ck_assert(fabs(net->time_s[0] - 180.0) < 1e-9);
  city_net_free(net);
  city_net_raw_free(&raw);
}
END_TEST

static void graphml_fails(const char *body, const char *msg) {
  char text[2048];
  snprintf(text, sizeof text,
           "<?xml version='1.0'?>\n<graphml>\n"
           "<key id=\"x\" for=\"node\" attr.name=\"x\"/><key id=\"y\" for=\"node\" attr.name=\"y\"/>\n"
           "<key id=\"l\" for=\"edge\" attr.name=\"length\"/>"
           "<key id=\"t\" for=\"edge\" attr.name=\"travel_time\"/>\n"
           "<graph edgedefault=\"directed\">\n"
           "<node id=\"a\"><data key=\"x\">-100</data><data key=\"y\">40</data></node>\n"
           "%s\n</graph></graphml>\n",
           body);
  city_net_raw raw;
  rs_err e;
  rs_err_clear(&e);
  int rc = city_net_parse_graphml(text, strlen(text), "net.graphml", &raw, &e);
  ck_assert_int_eq(rc, RS_EFORMAT);
  ck_assert_msg(strcmp(e.msg, msg) == 0, "got '%s', want '%s'", e.msg, msg);
}

START_TEST(graphml_errors) {
  /* line 7 is the first line of the body */
  graphml_fails("<edge source=\"x\" target=\"a\"><data key=\"l\">5</data>"
                "<data key=\"t\">1</data></edge>",
                "net.graphml:7: edge: source 'x' is not a node");
  graphml_fails("<node id='b'>\n<data key=\"y\">40</data></node>",
                "net.graphml:7: node 'b': x: missing or not a longitude");
  graphml_fails("<edge source=\"a\" target=\"a\">\n  <data key=\"l\">five</data></edge>",
                "net.graphml:8: length: 'five' is not a number");
  graphml_fails("<edge source=\"a\" target=\"a\"><data key=\"t\">1</data></edge>",
                "net.graphml:7: edge: length: missing");
  graphml_fails("<edge source=\"a\" target=\"a\"><data key=\"zz\">1</data></edge>",
                "net.graphml:7: data: key 'zz' is not declared by a <key>");
  graphml_fails("<node id=\"a\"/>", "net.graphml:7: node: id 'a' repeats an earlier node");
  graphml_fails("<!-- never closed", "net.graphml:7: a comment that never ends");
  graphml_fails("<edge source=a target=\"a\"/>",
                "net.graphml:7: <edge>: attribute 'source' is not quoted");
  graphml_fails("<edge source=\"a&nbsp;\" target=\"a\"/>",
                "net.graphml:7: unknown entity '&nbsp;'");
  city_net_raw raw;
  rs_err e;
  const char *nog = "<?xml version='1.0'?><svg></svg>";
  ck_assert_int_eq(city_net_parse_graphml(nog, strlen(nog), "x.graphml", &raw, &e), RS_EFORMAT);
  ck_assert_str_eq(e.msg, "x.graphml:1: <svg>: not a GraphML file (no <graphml> element)");
}
END_TEST

START_TEST(graphml_small_file) {
  city_net *net;
  rs_err e;
  ck_assert_msg(city_net_load(TESTS_DIR "/data/net_small.graphml", &net, &e) == 0, "%s", e.msg);
  const city_net_stats *st = &net->st;
  ck_assert_int_eq(st->nodes_read, 5);
  ck_assert_int_eq(st->links_read, 8);
  ck_assert_int_eq(st->self_loops, 1);
  ck_assert_int_eq(st->parallel, 1);
  ck_assert_int_eq(st->filled_times, 1);
  ck_assert_int_eq(st->dropped_nodes, 1); /* node 5: a dead end */
  ck_assert_int_eq(st->dropped_links, 1);
  ck_assert_int_eq(net->n_nodes, 4);
  ck_assert_int_eq(net->n_links, 5);
  /* the file's nodes 1-3 by their places (the CDATA and spaced values
   * read as numbers) */
  int32_t id[4] = {-1, -1, -1, -1};
  for (int32_t v = 0; v < net->n_nodes; v++) {
    if (net->lat[v] == 40.0 && net->lng[v] == -100.0) id[1] = v;
    if (net->lat[v] == 40.0 && net->lng[v] == -99.99) id[2] = v;
    if (net->lat[v] == 40.01 && net->lng[v] == -99.99) id[3] = v;
  }
  ck_assert(id[1] >= 0 && id[2] >= 0 && id[3] >= 0);
  /* 1 -> 2: the faster of the parallel pair (76.8 s); 2 -> 3 timed from
   * its speed: 1111.9 m at 50 km/h */
  int32_t l12 = -1, l23 = -1;
  for (int32_t i = net->first[id[1]]; i < net->first[id[1] + 1]; i++)
    if (net->head[i] == id[2]) l12 = i;
  for (int32_t i = net->first[id[2]]; i < net->first[id[2] + 1]; i++)
    if (net->head[i] == id[3]) l23 = i;
  ck_assert(l12 >= 0 && l23 >= 0);
  ck_assert(fabs(net->time_s[l12] - 76.8) < 1e-12);
  ck_assert(fabs(net->time_s[l23] - 1111.9 / (50 / 3.6)) < 1e-9);
  ck_assert_int_eq(city_net_check(net), 0);
  /* its JSON twin builds the same network */
  city_net_raw raw;
  const char *json =
      "{\"nodes\": [{\"id\": 1, \"y\": 40.0, \"x\": -100.0}, {\"id\": 2, \"y\": 40.0, \"x\": -99.99},"
      " {\"id\": 3, \"y\": 40.01, \"x\": -99.99}, {\"id\": 4, \"y\": 40.01, \"x\": -100.0},"
      " {\"id\": 5, \"y\": 40.02, \"x\": -100.0}], \"links\": ["
      "{\"source\": 1, \"target\": 2, \"length\": 853.5, \"travel_time\": 76.8},"
      "{\"source\": 1, \"target\": 2, \"length\": 900.0, \"travel_time\": 108.0},"
      "{\"source\": 2, \"target\": 3, \"length\": 1111.9, \"speed_kph\": 50.0},"
      "{\"source\": 3, \"target\": 4, \"length\": 853.5, \"travel_time\": 76.8},"
      "{\"source\": 4, \"target\": 1, \"length\": 1111.9, \"travel_time\": 100.0},"
      "{\"source\": 2, \"target\": 1, \"length\": 853.5, \"travel_time\": 61.4},"
      "{\"source\": 3, \"target\": 3, \"length\": 40.0, \"travel_time\": 4.0},"
      "{\"source\": 4, \"target\": 5, \"length\": 1111.9, \"travel_time\": 100.0}]}";
  ck_assert_int_eq(city_net_parse_json(json, strlen(json), "twin.json", &raw, &e), 0);
  city_net *twin;
  ck_assert_int_eq(city_net_build(&raw, "twin.json", &twin, &e), 0);
  ck_assert(twin->hash == net->hash);
  city_net_raw_free(&raw);
  city_net_free(twin);
  city_net_free(net);
}
END_TEST

START_TEST(writers_round_trip) {
  city_net_grid_opts o;
  city_net_grid_defaults(&o);
  o.cols = 9;
  o.rows = 7;
  city_net_raw raw;
  rs_err e;
  ck_assert_int_eq(city_net_grid(&o, &raw, &e), 0);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  char dir[256], pj[300], pg[300];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(pj, sizeof pj, "%s/g.json", dir);
  snprintf(pg, sizeof pg, "%s/g.graphml", dir);
  ck_assert_int_eq(city_net_write_json(&raw, pj, &e), 0);
  ck_assert_int_eq(city_net_write_graphml(&raw, pg, &e), 0);
  city_net *a, *b;
  ck_assert_msg(city_net_load(pj, &a, &e) == 0, "%s", e.msg);
  ck_assert_msg(city_net_load(pg, &b, &e) == 0, "%s", e.msg);
  ck_assert(a->hash == net->hash && b->hash == net->hash);
  city_net_free(a);
  city_net_free(b);
  city_net_free(net);
  city_net_raw_free(&raw);
  unlink(pj);
  unlink(pg);
  rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------ real data */

START_TEST(manhattan) {
  char path[1024];
  if (test_data_path(path, sizeof path, "nyc-hive-2014-12-21/manhattan_network.json") == NULL)
    return;
  city_net *net;
  rs_err e;
  ck_assert_msg(city_net_load(path, &net, &e) == 0, "%s", e.msg);
  const city_net_stats *st = &net->st;
  /* the facts of ../shared/city_data/README.md */
  ck_assert_int_eq(st->nodes_read, 4197);
  ck_assert_int_eq(st->links_read, 7534);
  ck_assert_int_eq(st->components, 1);
  ck_assert_int_eq(st->dropped_nodes, 0);
  ck_assert_int_eq(st->parallel, 5);
  ck_assert_int_eq(net->n_links, 7529);
  ck_assert_int_eq(st->implausible, 1); /* the 251 km/h link */
  ck_assert(st->implausible_max_kmh > 240 && st->implausible_max_kmh < 260);
  ck_assert(fabs(st->median_kmh - 40.1) < 0.2);
  ck_assert(net->min_lng > -74.02 && net->max_lng < -73.91);
  ck_assert_int_eq(city_net_check(net), 0);
  /* the same network as OSMnx's GraphML: written from the JSON, read back */
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  ck_assert_int_eq(fread(text, 1, (size_t)size, f), size);
  fclose(f);
  city_net_raw raw;
  ck_assert_int_eq(city_net_parse_json(text, (size_t)size, "m.json", &raw, &e), 0);
  free(text);
  char dir[256], pg[300];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(pg, sizeof pg, "%s/manhattan.graphml", dir);
  ck_assert_int_eq(city_net_write_graphml(&raw, pg, &e), 0);
  city_net_raw_free(&raw);
  city_net *g;
  ck_assert_msg(city_net_load(pg, &g, &e) == 0, "%s", e.msg);
  ck_assert(g->hash == net->hash);
  /* hub labels on the real network against Dijkstra from a few nodes */
  city_net_hubs *h;
  ck_assert_int_eq(city_net_hubs_build(g, 1, &h, &e), 0);
  uint64_t *d = malloc((size_t)g->n_nodes * sizeof *d);
  for (int32_t a = 0; a < g->n_nodes; a += 401) {
    city_net_dijkstra(g, a, 0, d, NULL);
    for (int32_t b = 0; b < g->n_nodes; b++) ck_assert(city_net_hubs_query(h, a, b) == d[b]);
  }
  free(d);
  city_net_hubs_free(h);
  city_net_free(g);
  city_net_free(net);
  unlink(pg);
  rmdir(dir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("roadnet");
  TCase *tc = tcase_create("build");
  tcase_add_loop_test(tc, scc_against_reachability, 0, 60);
  suite_add_tcase(s, tc);
  tc = tcase_create("snap");
  tcase_add_loop_test(tc, snap_against_scan, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("table");
  tcase_add_loop_test(tc, table_against_dijkstra, 0, 6);
  suite_add_tcase(s, tc);
  tc = tcase_create("hubs");
  tcase_add_loop_test(tc, hubs_against_dijkstra, 0, 6);
  tcase_add_test(tc, grid_ties);
  suite_add_tcase(s, tc);
  tc = tcase_create("cache");
  tcase_add_test(tc, cache_files);
  suite_add_tcase(s, tc);
  tc = tcase_create("load");
  tcase_add_test(tc, json_errors);
  tcase_add_test(tc, graphml_errors);
  tcase_add_test(tc, graphml_small_file);
  tcase_add_test(tc, writers_round_trip);
  tcase_add_test(tc, manhattan);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

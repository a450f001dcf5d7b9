/*
 * ridesim network: road networks (docs/network.md).
 *
 *   network info FILE [--cache-dir DIR] [--trips DB]
 *       what a network file holds once cleaned (nodes, links, what was
 *       dropped or fixed, extent, speeds), and the state of its all-pairs
 *       table and hub labels (read from the cache, or built and cached);
 *       with --trips, how many trip ends of a store lie off the network.
 *   network synth --grid COLSxROWS --out FILE [options]
 *       a synthetic grid network, as node-link JSON or GraphML (by the
 *       file's extension), for benchmarks and tests.
 *   network bench (FILE | --grid COLSxROWS) [--queries N] [--cache-dir DIR]
 *       the hub labels' cost and speed (cmd_network_bench.c).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "city_data/roadnet.h"
#include "city_data/roadnet_ch.h"
#include "city_data/roadnet_table.h"
#include "city_data/travel_net.h"
#include "city_data/tripstore.h"
#include "tools/cli.h"
#include "tools/cmd_network.h"

#define USAGE NETWORK_USAGE

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int dcmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int cmd_network_parse_grid(const char *s, city_net_grid_opts *o) {
  char *x;
  long c = strtol(s, &x, 10);
  if (x == s || (*x != 'x' && *x != 'X')) return -1;
  char *end;
  long r = strtol(x + 1, &end, 10);
  if (end == x + 1 || *end != '\0' || c < 2 || r < 2 || c > 46340 || r > 46340) return -1;
  o->cols = (int32_t)c;
  o->rows = (int32_t)r;
  return 0;
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

static void print_info(const char *path, const city_net *net) {
  const city_net_stats *st = &net->st;
  printf("road network %s\n", path);
  printf("  read                     %lld nodes, %lld links\n", (long long)st->nodes_read,
         (long long)st->links_read);
  printf("  kept                     %d nodes, %d links (largest strongly connected "
         "component of %lld)\n",
         (int)net->n_nodes, (int)net->n_links, (long long)st->components);
  printf("  dropped                  %lld nodes, %lld links outside it; %lld self loops; "
         "%lld parallel links merged into the fastest\n",
         (long long)st->dropped_nodes, (long long)st->dropped_links, (long long)st->self_loops,
         (long long)st->parallel);
  printf("  travel times             %lld links timed at length / speed (no travel_time)\n",
         (long long)st->filled_times);
  if (st->implausible > 0)
    printf("  implausible speeds       %lld links outside %g-%g km/h (fastest %.0f km/h, first: "
           "links[%lld]), timed at the median %.1f km/h instead\n",
           (long long)st->implausible, CITY_NET_SPEED_MIN_KMH, CITY_NET_SPEED_MAX_KMH,
           st->implausible_max_kmh, (long long)st->implausible_first, st->median_kmh);
  else
    printf("  implausible speeds       none (all within %g-%g km/h)\n", CITY_NET_SPEED_MIN_KMH,
           CITY_NET_SPEED_MAX_KMH);
  printf("  extent                   lat %.5f .. %.5f, lng %.5f .. %.5f\n", net->min_lat,
         net->max_lat, net->min_lng, net->max_lng);
  double *kmh = malloc((size_t)net->n_links * sizeof *kmh);
  double total = 0, longest = 0;
  for (int32_t i = 0; i < net->n_links; i++) {
    double m = city_net_metres(net, net->w[i]);
    total += m;
    if (m > longest) longest = m;
    if (kmh) kmh[i] = m / city_net_secs(net, net->w[i]) * 3.6;
  }
  printf("  length                   %.0f km, mean link %.0f m, longest %.0f m\n", total / 1000,
         total / net->n_links, longest);
  if (kmh != NULL) {
    qsort(kmh, (size_t)net->n_links, sizeof *kmh, dcmp);
    size_t m = (size_t)net->n_links;
    printf("  free-flow speed, km/h    min %.1f, p10 %.1f, median %.1f, p90 %.1f, max %.1f\n",
           kmh[0], kmh[m / 10], kmh[m / 2], kmh[m * 9 / 10], kmh[m - 1]);
    free(kmh);
  }
  printf("  weights                  %g s and %g m units; content hash %016llx\n", net->t_unit_s,
         net->m_unit_m, (unsigned long long)net->hash);
}

static int do_info(int argc, char **argv) {
  const char *cmd = "network info", *cache = NULL, *trips = NULL;
  static const struct option opts[] = {{"cache-dir", required_argument, NULL, 'c'},
                                       {"trips", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'c') cache = optarg;
    else if (c == 't') trips = optarg;
    else if (c == 'h') {
      printf("usage: %s\n", USAGE);
      return 0;
    } else
      return cli_usage_error(cmd, USAGE, "unknown option");
  }
  if (optind != argc - 1) return cli_usage_error(cmd, USAGE, "expected one network file");
  const char *path = argv[optind];
  rs_err e;
  rs_err_clear(&e);
  city_net *net;
  double t0 = now_s();
  if (city_net_load(path, &net, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  double t_load = now_s() - t0;
  print_info(path, net);
  printf("  loaded in                %.3f s\n", t_load);
  int status = 0;
  city_net_hubs *h = NULL;
  city_net_table *t = NULL;
  if (city_net_hubs_open(net, cache, 0, &h, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    status = 1;
    goto out;
  }
  printf("  hub labels               %.1f entries per label, %lld shortcuts, %.1f MB: %s\n",
         (double)h->label_entries / (2.0 * net->n_nodes), (long long)h->shortcuts,
         (double)h->bytes / 1048576.0, h->status);
  if (net->n_nodes <= CITY_NET_TABLE_MAX_NODES) {
    city_net_table_opts to = {cache, 0, h};
    if (city_net_table_open(net, &to, &t, &e) != 0) {
      cli_error(cmd, "%s", e.msg);
      status = 1;
      goto out;
    }
    printf("  all-pairs table          %.0f MB, %g s and %g m units: %s\n",
           (double)city_net_table_bytes(net->n_nodes) / 1048576.0, t->q_t, t->q_m, t->status);
  } else {
    printf("  all-pairs table          none: more than %d nodes (hub labels answer drives)\n",
           CITY_NET_TABLE_MAX_NODES);
  }
  if (trips != NULL) {
    city_store *st;
    if (city_store_open(trips, CITY_STORE_READ, NULL, &st, &e) != 0) {
      cli_error(cmd, "%s", e.msg);
      status = 1;
      goto out;
    }
    city_trip *tr = NULL;
    size_t n = 0;
    int rc = city_store_load(st, INT64_MIN / 2, INT64_MAX / 2, &tr, &n, &e);
    city_store_close(st);
    if (rc != 0) {
      cli_error(cmd, "%s", e.msg);
      status = 1;
      goto out;
    }
    int64_t off = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < 2; k++) {
        double d;
        city_net_snap(net, k ? tr[i].dlat : tr[i].plat, k ? tr[i].dlng : tr[i].plng, &d);
        off += d > CITY_NET_SNAP_LIMIT_M;
        if (d > worst) worst = d;
      }
    printf("  trips %-18s %lld of %lld trip ends off the network (over %.0f m from a node; "
           "farthest %.0f m)\n",
           trips, (long long)off, 2 * (long long)n, CITY_NET_SNAP_LIMIT_M, worst);
    free(tr);
  }
out:
  city_net_table_free(t);
  city_net_hubs_free(h);
  city_net_free(net);
  return status;
}

static int do_synth(int argc, char **argv) {
  const char *cmd = "network synth", *out = NULL;
  city_net_grid_opts o;
  city_net_grid_defaults(&o);
  int have_grid = 0;
  static const struct option opts[] = {
      {"grid", required_argument, NULL, 'g'},    {"out", required_argument, NULL, 'o'},
      {"spacing", required_argument, NULL, 's'}, {"lat", required_argument, NULL, 'y'},
      {"lng", required_argument, NULL, 'x'},     {"speed", required_argument, NULL, 'v'},
      {"arterial", required_argument, NULL, 'a'}, {"jitter", required_argument, NULL, 'j'},
      {"seed", required_argument, NULL, 'r'},    {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    double d;
    int64_t i;
    uint64_t u;
    switch (c) {
    case 'g':
      if (cmd_network_parse_grid(optarg, &o)) return cli_usage_error(cmd, USAGE, "--grid: expected COLSxROWS (2..46340 each)");
      have_grid = 1;
      break;
    case 'o': out = optarg; break;
    case 's':
      if (cli_parse_double(optarg, &d) || !(d > 0 && d <= 1e5)) return cli_usage_error(cmd, USAGE, "--spacing: metres > 0");
      o.spacing_m = d;
      break;
    case 'y':
      if (cli_parse_double(optarg, &d) || !(fabs(d) <= 80)) return cli_usage_error(cmd, USAGE, "--lat: degrees within 80");
      o.lat0 = d;
      break;
    case 'x':
      if (cli_parse_double(optarg, &d) || !(fabs(d) <= 180)) return cli_usage_error(cmd, USAGE, "--lng: degrees within 180");
      o.lng0 = d;
      break;
    case 'v':
      if (cli_parse_double(optarg, &d) || !(d >= 2 && d <= 60)) return cli_usage_error(cmd, USAGE, "--speed: km/h in 2..60");
      o.base_kmh = d;
      break;
    case 'a':
      if (cli_parse_i64(optarg, &i) || i < 0 || i > 100000) return cli_usage_error(cmd, USAGE, "--arterial: a count >= 0");
      o.arterial_every = (int32_t)i;
      break;
    case 'j':
      if (cli_parse_double(optarg, &d) || !(d >= 0 && d < 0.5)) return cli_usage_error(cmd, USAGE, "--jitter: a fraction in [0, 0.5)");
      o.jitter = d;
      break;
    case 'r':
      if (cli_parse_u64(optarg, &u)) return cli_usage_error(cmd, USAGE, "--seed: a non-negative integer");
      o.seed = u;
      break;
    case 'h': printf("usage: %s\n", USAGE); return 0;
    default: return cli_usage_error(cmd, USAGE, "unknown option");
    }
  }
  if (!have_grid || out == NULL || optind != argc)
    return cli_usage_error(cmd, USAGE, "--grid and --out are required");
  rs_err e;
  rs_err_clear(&e);
  city_net_raw raw;
  if (city_net_grid(&o, &raw, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  int rc = ends_with(out, ".graphml") ? city_net_write_graphml(&raw, out, &e)
                                      : city_net_write_json(&raw, out, &e);
  if (rc == 0)
    printf("%s: %d x %d grid, %d nodes, %lld links\n", out, (int)o.cols, (int)o.rows,
           (int)raw.n_nodes, (long long)raw.n_links);
  else
    cli_error(cmd, "%s", e.msg);
  city_net_raw_free(&raw);
  return rc ? 1 : 0;
}

int cmd_network(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("usage: %s\n", USAGE);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "info") == 0) return do_info(argc - 1, argv + 1);
  if (strcmp(argv[1], "synth") == 0) return do_synth(argc - 1, argv + 1);
  if (strcmp(argv[1], "bench") == 0) return cmd_network_bench(argc - 1, argv + 1);
  return cli_usage_error("network", USAGE, "unknown subcommand '%s'", argv[1]);
}

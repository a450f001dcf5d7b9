/*
 * ridesim network bench (FILE | --grid COLSxROWS) [--queries N] [--cache-dir DIR]:
 * preprocessing time and memory of the hub labels, and point-to-point
 * queries per second on one core (and of the table where there is one).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pcg32.h"
#include "city_data/roadnet_ch.h"
#include "city_data/roadnet_table.h"
#include "city_data/travel_net.h"
#include "tools/cli.h"
#include "tools/cmd_network.h"

#define USAGE NETWORK_USAGE

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of this thread: on a shared machine, a rate per CPU second
 * is what one core does, whatever else runs. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The process's peak resident set, kB (0 when unknown). */
static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  char line[256];
  long kb = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

int cmd_network_bench(int argc, char **argv) {
  const char *cmd = "network bench", *cache = "";
  city_net_grid_opts o;
  city_net_grid_defaults(&o);
  int have_grid = 0;
  int64_t queries = 2000000;
  static const struct option opts[] = {{"grid", required_argument, NULL, 'g'},
                                       {"queries", required_argument, NULL, 'q'},
                                       {"cache-dir", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'g') {
      if (cmd_network_parse_grid(optarg, &o)) return cli_usage_error(cmd, USAGE, "--grid: expected COLSxROWS");
      have_grid = 1;
    } else if (c == 'q') {
      if (cli_parse_i64(optarg, &queries) || queries < 1 || queries > 1000000000)
        return cli_usage_error(cmd, USAGE, "--queries: a count from 1");
    } else if (c == 'c') {
      cache = optarg;
    } else if (c == 'h') {
      printf("usage: %s\n", USAGE);
      return 0;
    } else {
      return cli_usage_error(cmd, USAGE, "unknown option");
    }
  }
  if (have_grid == (optind < argc) || optind + (have_grid ? 0 : 1) != argc)
    return cli_usage_error(cmd, USAGE, "expected a network file or --grid");
  rs_err e;
  rs_err_clear(&e);
  city_net *net;
  double t0 = now_s();
  if (have_grid) {
    city_net_raw raw;
    if (city_net_grid(&o, &raw, &e) != 0) {
      cli_error(cmd, "%s", e.msg);
      return 1;
    }
    int rc = city_net_build(&raw, "grid", &net, &e);
    city_net_raw_free(&raw);
    if (rc) {
      cli_error(cmd, "%s", e.msg);
      return 1;
    }
  } else if (city_net_load(argv[optind], &net, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    return 1;
  }
  double t_load = now_s() - t0;
  long rss0 = peak_rss_kb();
  city_net_hubs *h;
  if (city_net_hubs_open(net, cache, 1, &h, &e) != 0) {
    cli_error(cmd, "%s", e.msg);
    city_net_free(net);
    return 1;
  }
  printf("network: %d nodes, %d links (built in %.2f s)\n", (int)net->n_nodes, (int)net->n_links,
         t_load);
  if (h->from_cache)
    printf("hub labels: %s\n", h->status);
  else
    printf("contraction: %.2f s, %lld shortcuts; labels: %.2f s (wall, one thread)\n", h->ch_s,
           (long long)h->shortcuts, h->labels_s);
  printf("labels: %.1f entries per label (forward and backward), %.1f MB; peak RSS %.1f MB "
         "(%.1f MB before preprocessing)\n",
         (double)h->label_entries / (2.0 * net->n_nodes), (double)h->bytes / 1048576.0,
         peak_rss_kb() / 1024.0, rss0 / 1024.0);
  /* random pairs, drawn before timing */
  int32_t *qa = malloc((size_t)queries * sizeof *qa), *qb = malloc((size_t)queries * sizeof *qb);
  if (qa == NULL || qb == NULL) {
    free(qa);
    free(qb);
    city_net_hubs_free(h);
    city_net_free(net);
    cli_error(cmd, "out of memory for %lld queries", (long long)queries);
    return 1;
  }
  pcg32 rng;
  pcg32_seed(&rng, 42, 7);
  for (int64_t i = 0; i < queries; i++) {
    qa[i] = (int32_t)pcg32_bounded(&rng, (uint32_t)net->n_nodes);
    qb[i] = (int32_t)pcg32_bounded(&rng, (uint32_t)net->n_nodes);
  }
  uint64_t acc = 0;
  t0 = now_s();
  double c0 = cpu_s();
  for (int64_t i = 0; i < queries; i++) acc += city_net_hubs_query(h, qa[i], qb[i]) >> 32;
  double dt = now_s() - t0, dc = cpu_s() - c0;
  printf("hub-label queries: %lld in %.3f s wall, %.3f s CPU = %.2f M/s on one core "
         "(%.2f M/s of wall time; checksum %llu)\n",
         (long long)queries, dt, dc, (double)queries / dc / 1e6, (double)queries / dt / 1e6,
         (unsigned long long)acc);
  if (net->n_nodes <= CITY_NET_TABLE_MAX_NODES) {
    city_net_table *t;
    city_net_table_opts to = {cache, 0, h};
    if (city_net_table_open(net, &to, &t, &e) == 0) {
      acc = 0;
      c0 = cpu_s();
      for (int64_t i = 0; i < queries; i++) acc += city_net_table_cell(t, qa[i], qb[i]) >> 16;
      dc = cpu_s() - c0;
      printf("table: %s\ntable queries: %lld in %.3f s CPU = %.2f M/s (checksum %llu)\n",
             t->status, (long long)queries, dc, (double)queries / dc / 1e6,
             (unsigned long long)acc);
      city_net_table_free(t);
    }
  }
  free(qa);
  free(qb);
  city_net_hubs_free(h);
  city_net_free(net);
  return 0;
}

/*
 * fuzz_roadnet: road network files (city_data/roadnet) on arbitrary bytes:
 * GraphML when the first non-blank byte is '<', else node-link JSON.
 *
 * A loader either fills the raw arrays or fails with a one-line message;
 * city_net_build either builds a network whose invariants hold
 * (city_net_check) or fails the same way. A small network built is also
 * snapped to at its nodes (each is its own nearest node, or one at the same
 * place) and its hub labels answer like Dijkstra from node 0, and its drives
 * are walked link by link to the right weight.
 *
 * Links city_data/ and base/; see tools/fuzz.sh.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/roadnet.h"
#include "city_data/roadnet_ch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

static int add_link(void *ctx, int32_t link) {
  uint64_t *acc = ctx;
  (void)link;
  acc[1]++;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  size_t i = 0;
  while (i < size && isspace((unsigned char)text[i])) i++;
  city_net_raw raw;
  rs_err e;
  rs_err_clear(&e);
  int rc = i < size && text[i] == '<' ? city_net_parse_graphml(text, size, "fuzz", &raw, &e)
                                      : city_net_parse_json(text, size, "fuzz", &raw, &e);
  free(text);
  if (rc != 0) {
    FUZZ_CHECK(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
    return 0;
  }
  city_net *net = NULL;
  rc = city_net_build(&raw, "fuzz", &net, &e);
  city_net_raw_free(&raw);
  if (rc != 0) {
    FUZZ_CHECK(net == NULL && e.msg[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(city_net_check(net) == 0);
  for (int32_t v = 0; v < net->n_nodes; v++) {
    double d;
    int32_t s = city_net_snap(net, net->lat[v], net->lng[v], &d);
    FUZZ_CHECK(s >= 0 && s <= v && d < 1e-6);
  }
  if (net->n_nodes <= 300) {
    city_net_hubs *h;
    if (city_net_hubs_build(net, 1, &h, &e) == 0) {
      FUZZ_CHECK(city_net_hubs_check(h) == 0);
      uint64_t *dist = malloc((size_t)net->n_nodes * sizeof *dist);
      if (dist != NULL && city_net_dijkstra(net, 0, 0, dist, NULL) == 0)
        for (int32_t b = 0; b < net->n_nodes; b++) {
          FUZZ_CHECK(city_net_hubs_query(h, 0, b) == dist[b]);
          uint64_t acc[2] = {0, 0};
          FUZZ_CHECK(city_net_hubs_walk(h, 0, b, add_link, acc) == dist[b]);
          FUZZ_CHECK(b == 0 || acc[1] > 0);
        }
      free(dist);
      city_net_hubs_free(h);
    }
  }
  city_net_free(net);
  return 0;
}

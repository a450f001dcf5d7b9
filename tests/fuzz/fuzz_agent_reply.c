/*
 * fuzz_agent_reply: the agent protocol's reply side (sim/agent_proto.h) on
 * arbitrary bytes.
 *
 * The bytes are one reply, given in turn to the init handshake, to a fixed
 * small dispatch tick (four orders, one of them without candidates, six
 * drivers, six candidate pairs) and to a fixed repositioning round (three
 * eligible drivers), each observed afresh. For every input:
 *   - the envelope either stands or fails with exactly one fault counted
 *     (and then no pair and no move is taken);
 *   - every item of a list that stood is either accepted or dropped with
 *     exactly one fault;
 *   - the accepted pairs are candidate pairs of the tick, no order and no
 *     driver twice, at most one per row;
 *   - the destinations written are engine cells, only for eligible
 *     drivers;
 *   - every line of the fault log parses as a JSON object naming its fault.
 *
 * Links the whole sim library (its protocol needs no process); see
 * tools/fuzz.sh.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_error.h"
#include "sim/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define N_ORDERS 4
#define N_DRIVERS 6
#define N_EDGES 6

/* The fixed world (see tests/test_agent_proto.c for the same shape):
 *   row 0: order 2 (id 7)    candidates drivers 1, 3
 *   row 1: order 0 (id 101)  none
 *   row 2: order 3 (id 300)  candidates drivers 0, 1, 4
 *   row 3: order 1 (id 55)   candidate driver 3
 * and a repositioning round of drivers 3, 0, 4. */
typedef struct {
  city_def city;
  city_grid grid;
  disp_order orders[N_ORDERS];
  disp_driver drivers[N_DRIVERS];
  int32_t row_order[N_ORDERS], row_ptr[N_ORDERS + 1], edge_driver[N_EDGES];
  double edge_dist[N_EDGES], edge_eta[N_EDGES];
  int32_t eligible[3];
} world;

static const world *the_world(void) {
  static world w;
  static int ready;
  if (ready) return &w;
  rs_err e;
  rs_err_clear(&e);
  FUZZ_CHECK(city_def_builtin("synthetic", &w.city, &e) == 0);
  w.city.utc_offset_min = -300;
  FUZZ_CHECK(city_def_grid(&w.city, &w.grid, &e) == 0);
  static const int64_t IDS[N_ORDERS] = {101, 55, 7, 300};
  static const int32_t ROW_ORDER[N_ORDERS] = {2, 0, 3, 1};
  static const int32_t ROW_PTR[N_ORDERS + 1] = {0, 2, 2, 5, 6};
  static const int32_t EDGE_DRIVER[N_EDGES] = {1, 3, 0, 1, 4, 3};
  for (int i = 0; i < N_ORDERS; i++) {
    w.orders[i].id = IDS[i];
    w.orders[i].t_request = 1454313600 - 30 * i;
    w.orders[i].plat = 39.95 + 0.01 * i;
    w.orders[i].plng = -100.0 + 0.01 * i;
    w.orders[i].dlat = 40.05 - 0.01 * i;
    w.orders[i].dlng = -99.95;
    w.orders[i].fare = 5 + i;
    w.orders[i].duration_s = 600;
    w.orders[i].pnode = w.orders[i].dnode = -1;
    w.row_order[i] = ROW_ORDER[i];
  }
  memcpy(w.row_ptr, ROW_PTR, sizeof ROW_PTR);
  for (int k = 0; k < N_EDGES; k++) {
    w.edge_driver[k] = EDGE_DRIVER[k];
    w.edge_dist[k] = 100.0 * (k + 1);
    w.edge_eta[k] = 20.0 * (k + 1);
  }
  for (int d = 0; d < N_DRIVERS; d++) {
    w.drivers[d].lat = 39.96 + 0.015 * d;
    w.drivers[d].lng = -100.05 + 0.02 * d;
    w.drivers[d].cell = city_grid_point_index(&w.grid, w.drivers[d].lat, w.drivers[d].lng);
    w.drivers[d].state = DISP_IDLE;
    w.drivers[d].node = -1;
  }
  w.eligible[0] = 3;
  w.eligible[1] = 0;
  w.eligible[2] = 4;
  ready = 1;
  return &w;
}

static int64_t sum_faults(const sim_agent_proto *p) {
  int64_t n = 0;
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) n += p->counts.faults[f];
  return n;
}

/* The number of items of a result list that stood. */
static int64_t n_items(const sim_agent_proto_reply *r) {
  return r->result ? cJSON_GetArraySize(r->result) : 0;
}

static void dispatch_round(sim_agent_proto *p, const world *w, const char *line, size_t len) {
  disp_assign out[N_ORDERS];
  disp_tick t;
  memset(&t, 0, sizeof t);
  t.now = 1454313600 + 8 * 3600;
  t.city = &w->city;
  t.grid = &w->grid;
  t.orders = w->orders;
  t.drivers = w->drivers;
  t.n_drivers = N_DRIVERS;
  t.n_rows = N_ORDERS;
  t.row_order = w->row_order;
  t.row_ptr = w->row_ptr;
  t.edge_driver = w->edge_driver;
  t.edge_dist = w->edge_dist;
  t.edge_eta = w->edge_eta;
  t.out = out;
  FUZZ_CHECK(sim_agent_proto_dispatch_observ(p, &t) == 0);
  FUZZ_CHECK(p->n_obs == N_EDGES);
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, line, len);
  int64_t f0 = sum_faults(p), acc0 = p->counts.pairs_accepted, drop0 = p->counts.pairs_dropped;
  int rc = sim_agent_proto_envelope(p, SIM_AGENT_REQ_DISPATCH, 1, &r);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if (rc) {
    FUZZ_CHECK(r.result == NULL && sum_faults(p) == f0 + 1);
  } else {
    FUZZ_CHECK(cJSON_IsArray(r.result) && sum_faults(p) == f0);
    t.n_out = 0;
    int32_t acc = sim_agent_proto_dispatch_items(p, &t, 1, &r);
    FUZZ_CHECK(acc == t.n_out && t.n_out >= 0 && t.n_out <= t.n_rows);
    FUZZ_CHECK(p->counts.pairs_accepted - acc0 == acc);
    FUZZ_CHECK(p->counts.pairs_dropped - drop0 == n_items(&r) - acc);
    FUZZ_CHECK(sum_faults(p) - f0 == n_items(&r) - acc);
    int order_used[N_ORDERS] = {0}, driver_used[N_DRIVERS] = {0};
    for (int32_t i = 0; i < t.n_out; i++) {
      int32_t o = out[i].order, d = out[i].driver;
      FUZZ_CHECK(o >= 0 && o < N_ORDERS && d >= 0 && d < N_DRIVERS);
      FUZZ_CHECK(!order_used[o] && !driver_used[d]);
      order_used[o] = driver_used[d] = 1;
      int32_t row = 0;
      while (w->row_order[row] != o) row++;
      int cand = 0;
      for (int32_t k = w->row_ptr[row]; k < w->row_ptr[row + 1]; k++) cand |= w->edge_driver[k] == d;
      FUZZ_CHECK(cand);
    }
  }
  sim_agent_proto_end_reply(p, SIM_AGENT_REQ_DISPATCH, 1);
  sim_agent_proto_reply_free(&r);
}

static void repo_round(sim_agent_proto *p, const world *w, const char *line, size_t len) {
  int32_t dest[3] = {-1, -1, -1};
  disp_repo r;
  memset(&r, 0, sizeof r);
  r.now = 1454313600 + 8 * 3600 + 60;
  r.city = &w->city;
  r.grid = &w->grid;
  r.drivers = w->drivers;
  r.n_eligible = 3;
  r.eligible = w->eligible;
  r.dest_cell = dest;
  FUZZ_CHECK(sim_agent_proto_repo_observ(p, &r) == 0);
  sim_agent_proto_reply rp;
  sim_agent_proto_parse(&rp, line, len);
  int64_t f0 = sum_faults(p), m0 = p->counts.moves_accepted;
  int rc = sim_agent_proto_envelope(p, SIM_AGENT_REQ_REPOSITION, 2, &rp);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if (rc) {
    FUZZ_CHECK(rp.result == NULL && sum_faults(p) == f0 + 1);
  } else {
    int32_t acc = sim_agent_proto_repo_items(p, &r, 2, &rp);
    int32_t moved = 0;
    for (int i = 0; i < 3; i++) {
      FUZZ_CHECK(dest[i] >= -1 && dest[i] < w->grid.n_cells);
      moved += dest[i] >= 0;
    }
    FUZZ_CHECK(acc == moved && p->counts.moves_accepted - m0 == acc);
    FUZZ_CHECK(sum_faults(p) - f0 == n_items(&rp) - acc);
  }
  sim_agent_proto_end_reply(p, SIM_AGENT_REQ_REPOSITION, 2);
  sim_agent_proto_reply_free(&rp);
}

static void init_round(sim_agent_proto *p, const char *line, size_t len) {
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, line, len);
  int64_t f0 = sum_faults(p);
  int rc = sim_agent_proto_envelope(p, SIM_AGENT_REQ_INIT, 0, &r);
  FUZZ_CHECK(r.result == NULL);
  FUZZ_CHECK(sum_faults(p) == f0 + (rc != 0));
  if (rc) {
    char m[500];
    sim_agent_proto_init_error(&r, m, sizeof m);
    FUZZ_CHECK(strlen(m) > 0);
  }
  sim_agent_proto_reply_free(&r);
}

/* Every log line is a JSON object with a string "fault". */
static void check_log(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    FUZZ_CHECK(nl != NULL);
    cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
    FUZZ_CHECK(cJSON_IsObject(j));
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "fault")));
    cJSON_Delete(j);
    p = nl + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 16)) return 0;
  const world *w = the_world();
  char *logbuf = NULL;
  size_t loglen = 0;
  FILE *log = open_memstream(&logbuf, &loglen);
  if (log == NULL) return 0;
  sim_agent_proto p;
  sim_agent_proto_opts o = {&w->city, &w->grid, NULL, 2, 1454313600, log, 1, 1 << 16};
  rs_err e;
  rs_err_clear(&e);
  FUZZ_CHECK(sim_agent_proto_init(&p, &o, &e) == 0);
  const char *line = (const char *)data;
  init_round(&p, line, size);
  dispatch_round(&p, w, line, size);
  repo_round(&p, w, line, size);
  int64_t by_kind = 0;
  for (int k = 0; k < SIM_AGENT_N_REQ; k++) by_kind += p.counts.faults_by_kind[k];
  FUZZ_CHECK(by_kind == sum_faults(&p));
  sim_agent_proto_close(&p);
  fclose(log);
  check_log(logbuf, loglen);
  free(logbuf);
  return 0;
}

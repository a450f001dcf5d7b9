/*
 * test_agent_proto: the agent protocol (sim/agent_proto.h) without a
 * process: observations of a hand-built tick and repositioning round (every
 * field, the order of the records, grid ids with and without a KDD grid),
 * their request lines, each fault from a crafted reply with its log line,
 * partial replies, the per-reply cap on logged item faults, and a property
 * test: random replies made of offered and unoffered pairs are accepted
 * exactly as a naive reference accepts them (only offered pairs, the first
 * use of each order and each driver wins), over many requests in a row and
 * across the wrap of the request stamp.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "sim/agent_proto.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------ fixture */

#define N_ORDERS 4
#define N_DRIVERS 6
#define N_EDGES 6
#define TICK_S 2
#define UTC_OFFSET_MIN (-300)

/* The hand-built world: a Monday, 2016-02-01 08:00:10 local, 10 s after
 * the run's start (log tick 5). Rows in request order:
 *   row 0: order 2 (id 7)    candidates drivers 1, 3
 *   row 1: order 0 (id 101)  no candidate: not offered
 *   row 2: order 3 (id 300)  candidates drivers 0, 1, 4
 *   row 3: order 1 (id 55)   candidate driver 3
 * Drivers 2 and 5 are offered nowhere. */
typedef struct {
  city_def city;
  city_grid grid;
  disp_order orders[N_ORDERS];
  disp_driver drivers[N_DRIVERS];
  int32_t row_order[N_ORDERS], row_ptr[N_ORDERS + 1], edge_driver[N_EDGES];
  double edge_dist[N_EDGES], edge_eta[N_EDGES];
  disp_assign out[N_ORDERS];
  disp_tick t;
  int32_t eligible[3];
  int32_t dest[3];
  disp_repo r;
  int64_t t_from;
  FILE *log;
  sim_agent_proto p;
} fixture;

static fixture F;

static const int64_t ORDER_IDS[N_ORDERS] = {101, 55, 7, 300};
static const int32_t ROW_ORDER[N_ORDERS] = {2, 0, 3, 1};
static const int32_t ROW_PTR[N_ORDERS + 1] = {0, 2, 2, 5, 6};
static const int32_t EDGE_DRIVER[N_EDGES] = {1, 3, 0, 1, 4, 3};
static const double EDGE_DIST[N_EDGES] = {120.5, 800.25, 50, 300, 1999.75, 10};
static const double EDGE_ETA[N_EDGES] = {30.5, 200, 12.25, 75, 500.125, 2.5};

static int64_t monday_8am(void) { return rs_time_days_from_civil(2016, 2, 1) * RS_DAY_S + 8 * 3600; }

/* Sets up the world; radius is the city's sphere. */
static void fixture_setup_radius(double radius) {
  memset(&F, 0, sizeof F);
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_def_builtin("synthetic", &F.city, &e), 0);
  F.city.utc_offset_min = UTC_OFFSET_MIN;
  F.city.earth_radius_m = radius;
  ck_assert_int_eq(city_def_grid(&F.city, &F.grid, &e), 0);
  F.t_from = monday_8am();
  int64_t now = F.t_from + 10;
  for (int i = 0; i < N_ORDERS; i++) {
    disp_order *o = &F.orders[i];
    o->id = ORDER_IDS[i];
    o->source_id = -1;
    o->t_request = now - 30 * (i + 1);
    o->plat = 39.95 + 0.01 * i;
    o->plng = -100.0 + 0.0123456789 * i;
    o->dlat = 40.05 - 0.01 * i;
    o->dlng = -99.95 + 0.001 * i;
    o->fare = 5.0 + 2.5 * i;
    o->duration_s = 300 + 60 * i;
    o->pnode = o->dnode = -1;
  }
  for (int d = 0; d < N_DRIVERS; d++) {
    disp_driver *dv = &F.drivers[d];
    dv->lat = 39.96 + 0.015 * d;
    dv->lng = -100.05 + 0.02 * d;
    dv->cell = city_grid_point_index(&F.grid, dv->lat, dv->lng);
    dv->state = DISP_IDLE;
    dv->node = -1;
  }
  memcpy(F.row_order, ROW_ORDER, sizeof ROW_ORDER);
  memcpy(F.row_ptr, ROW_PTR, sizeof ROW_PTR);
  memcpy(F.edge_driver, EDGE_DRIVER, sizeof EDGE_DRIVER);
  memcpy(F.edge_dist, EDGE_DIST, sizeof EDGE_DIST);
  memcpy(F.edge_eta, EDGE_ETA, sizeof EDGE_ETA);
  disp_tick *t = &F.t;
  t->now = now;
  t->city = &F.city;
  t->grid = &F.grid;
  t->orders = F.orders;
  t->drivers = F.drivers;
  t->n_drivers = N_DRIVERS;
  t->n_rows = N_ORDERS;
  t->row_order = F.row_order;
  t->row_ptr = F.row_ptr;
  t->edge_driver = F.edge_driver;
  t->edge_dist = F.edge_dist;
  t->edge_eta = F.edge_eta;
  t->out = F.out;
  /* the repositioning round, a minute later: drivers 3, 0, 4 */
  F.eligible[0] = 3;
  F.eligible[1] = 0;
  F.eligible[2] = 4;
  disp_repo *r = &F.r;
  r->now = now + 60;
  r->city = &F.city;
  r->grid = &F.grid;
  r->drivers = F.drivers;
  r->n_eligible = 3;
  r->eligible = F.eligible;
  r->dest_cell = F.dest;
  for (int i = 0; i < 3; i++) F.dest[i] = -1;
  F.log = tmpfile();
  ck_assert_ptr_nonnull(F.log);
  sim_agent_proto_opts o = {&F.city, &F.grid, NULL, TICK_S, F.t_from, F.log, 42, 1000};
  ck_assert_int_eq(sim_agent_proto_init(&F.p, &o, &e), 0);
}

static void fixture_setup(void) { fixture_setup_radius(RS_EARTH_RADIUS_M); }

static void fixture_teardown(void) {
  sim_agent_proto_close(&F.p);
  if (F.log) fclose(F.log);
  F.log = NULL;
}

/* Everything written to the log so far (malloc'd). */
static char *log_text(void) {
  fflush(F.log);
  long n = ftell(F.log);
  ck_assert_int_ge(n, 0);
  char *s = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(s);
  rewind(F.log);
  size_t got = fread(s, 1, (size_t)n, F.log);
  ck_assert_uint_eq(got, (size_t)n);
  s[n] = '\0';
  fseek(F.log, 0, SEEK_END);
  return s;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* The log's line i (0-based), parsed. */
static cJSON *log_line(int i) {
  char *s = log_text();
  char *p = s;
  for (int k = 0; k < i; k++) {
    p = strchr(p, '\n');
    ck_assert_ptr_nonnull(p);
    p++;
  }
  char *nl = strchr(p, '\n');
  ck_assert_ptr_nonnull(nl);
  cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
  free(s);
  ck_assert_ptr_nonnull(j);
  return j;
}

static const char *jstr(const cJSON *j, const char *k) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
  ck_assert_msg(cJSON_IsString(x), "field %s is not a string", k);
  return x->valuestring;
}
static double jnum(const cJSON *j, const char *k) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
  ck_assert_msg(cJSON_IsNumber(x), "field %s is not a number", k);
  return x->valuedouble;
}

/* Checks the log's line i: a fault of that kind, request, fault name and a
 * detail containing `detail`, at the protocol's latest time. */
static void check_log_line(int i, int kind, int64_t seq, int fault, const char *detail) {
  cJSON *j = log_line(i);
  ck_assert_int_eq((int64_t)jnum(j, "run_id"), 42);
  ck_assert_int_eq((int64_t)jnum(j, "request"), seq);
  static const char *const TYPES[] = {"init", "dispatch", "reposition"};
  ck_assert_str_eq(jstr(j, "type"), TYPES[kind]);
  ck_assert_int_eq((int64_t)jnum(j, "tick"), (F.p.now - F.t_from) / TICK_S);
  char when[40];
  rs_time_format(F.p.now, when, sizeof when);
  ck_assert_str_eq(jstr(j, "time"), when);
  ck_assert_int_eq((int64_t)jnum(j, "timestamp"), F.p.now - UTC_OFFSET_MIN * 60);
  ck_assert_str_eq(jstr(j, "error"), sim_agent_error_name(kind));
  ck_assert_str_eq(jstr(j, "fault"), sim_agent_fault_name(fault));
  ck_assert_msg(strstr(jstr(j, "detail"), detail) != NULL, "detail '%s' lacks '%s'",
                jstr(j, "detail"), detail);
  cJSON_Delete(j);
}

static int64_t total_faults(void) {
  int64_t n = 0;
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) n += F.p.counts.faults[f];
  return n;
}

/* A dispatch reply through the protocol: parse, envelope, items, end.
 * Returns the envelope's status. */
static int dispatch_reply(int64_t seq, const char *line) {
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, line, strlen(line));
  int rc = sim_agent_proto_envelope(&F.p, SIM_AGENT_REQ_DISPATCH, seq, &r);
  F.t.n_out = 0;
  if (rc == 0) sim_agent_proto_dispatch_items(&F.p, &F.t, seq, &r);
  sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_DISPATCH, seq);
  sim_agent_proto_reply_free(&r);
  return rc;
}

static int repo_reply(int64_t seq, const char *line) {
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, line, strlen(line));
  int rc = sim_agent_proto_envelope(&F.p, SIM_AGENT_REQ_REPOSITION, seq, &r);
  if (rc == 0) sim_agent_proto_repo_items(&F.p, &F.r, seq, &r);
  sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_REPOSITION, seq);
  sim_agent_proto_reply_free(&r);
  return rc;
}

static void observe_tick(void) { ck_assert_int_eq(sim_agent_proto_dispatch_observ(&F.p, &F.t), 0); }
static void observe_repo(void) { ck_assert_int_eq(sim_agent_proto_repo_observ(&F.p, &F.r), 0); }

/* A small KDD grid table: cells around three points inside the synthetic
 * city and one far outside it. Returns the loaded grid. */
static city_kdd_grid *kdd_grid(void) {
  static const struct {
    const char *id;
    double lat, lng;
  } C[] = {{"aaa", 39.96, -100.05}, {"bbb", 40.0, -99.95}, {"ccc", 40.05, -100.0},
           {"far", 45.0, -90.0}};
  char dir[256], path[512];
  ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/grid.csv", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
    fprintf(f, "%s", C[i].id);
    for (int k = 0; k < 6; k++) {
      double a = k * M_PI / 3;
      fprintf(f, ",%.6f,%.6f", C[i].lng + 0.004 * cos(a), C[i].lat + 0.004 * sin(a));
    }
    fprintf(f, "\n");
  }
  fclose(f);
  city_kdd_grid *g;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_grid_load(path, &g, &e), 0);
  remove(path);
  remove(dir);
  return g;
}

/* Re-initialises the protocol with a KDD grid. */
static void use_kdd(const city_kdd_grid *g) {
  sim_agent_proto_close(&F.p);
  sim_agent_proto_opts o = {&F.city, &F.grid, g, TICK_S, F.t_from, F.log, 42, 1000};
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(sim_agent_proto_init(&F.p, &o, &e), 0);
}

/* ------------------------------------------------------- vocabulary */

START_TEST(test_fault_names) {
  for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) {
    ck_assert_str_ne(sim_agent_fault_name(f), "unknown");
    ck_assert_str_ne(sim_agent_fault_what(f), "unknown");
    for (int g = 0; g < f; g++) ck_assert_str_ne(sim_agent_fault_name(f), sim_agent_fault_name(g));
  }
  ck_assert_str_eq(sim_agent_fault_name(SIM_AGENT_F_NOT_JSON), "not-json");
  ck_assert_str_eq(sim_agent_fault_name(SIM_AGENT_F_DUP_ORDER), "duplicate-order");
  ck_assert_str_eq(sim_agent_fault_name(SIM_AGENT_F_BAD_DEST), "bad-destination");
  ck_assert_str_eq(sim_agent_fault_name(-1), "unknown");
  ck_assert_str_eq(sim_agent_fault_name(SIM_AGENT_N_FAULTS), "unknown");
  ck_assert_str_eq(sim_agent_fault_what(SIM_AGENT_N_FAULTS), "unknown");
}
END_TEST

START_TEST(test_fault_what) {
  ck_assert_str_eq(sim_agent_fault_what(SIM_AGENT_F_NOT_OFFERED),
                   "an (order, driver) pair that was not a candidate");
  ck_assert_str_eq(sim_agent_fault_what(-1), "unknown");
}
END_TEST

START_TEST(test_error_name) {
  ck_assert_str_eq(sim_agent_error_name(SIM_AGENT_REQ_INIT), "InitAgentError");
  ck_assert_str_eq(sim_agent_error_name(SIM_AGENT_REQ_DISPATCH), "DispatchAgentError");
  ck_assert_str_eq(sim_agent_error_name(SIM_AGENT_REQ_REPOSITION), "RepositionAgentError");
}
END_TEST

/* ------------------------------------------------------ init / close */

START_TEST(test_init) {
  ck_assert_double_eq(F.p.r_ratio, RS_EARTH_RADIUS_M / RS_EARTH_RADIUS_KDD_M);
  ck_assert_int_eq(F.p.now, F.t_from);
  ck_assert_uint_eq(F.p.n_obs, 0);
  ck_assert_int_eq(total_faults(), 0);
  /* no city: refused, p untouched */
  sim_agent_proto q;
  memset(&q, 0x5a, sizeof q);
  sim_agent_proto_opts o = {NULL, &F.grid, NULL, TICK_S, 0, NULL, 0, 0};
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(sim_agent_proto_init(&q, &o, &e), RS_EINVAL);
  ck_assert_str_ne(e.msg, "");
  ck_assert_int_eq(((unsigned char *)&q)[0], 0x5a);
  o.city = &F.city;
  o.grid = NULL;
  ck_assert_int_eq(sim_agent_proto_init(&q, &o, &e), RS_EINVAL);
}
END_TEST

START_TEST(test_close) {
  observe_tick();
  sim_agent_proto_close(&F.p);
  ck_assert_ptr_null(F.p.obs);
  ck_assert_uint_eq(F.p.n_obs, 0);
  sim_agent_proto_close(&F.p); /* twice: harmless */
  sim_agent_proto_close(NULL);
}
END_TEST

/* ------------------------------------------------------ dispatch_observ */

START_TEST(test_dispatch_observ) {
  observe_tick();
  const sim_agent_proto *p = &F.p;
  ck_assert_uint_eq(p->n_obs, N_EDGES);
  ck_assert_int_eq(p->counts.candidates, N_EDGES);
  ck_assert_int_eq(p->now, F.t.now);
  /* rows in request order, the row without candidates left out,
   * candidates in row order */
  static const int64_t WANT_ORDER_ID[N_EDGES] = {7, 7, 300, 300, 300, 55};
  static const int32_t WANT_ORDER[N_EDGES] = {2, 2, 3, 3, 3, 1};
  double ratio = F.city.earth_radius_m / RS_EARTH_RADIUS_KDD_M;
  int64_t ts = F.t.now - UTC_OFFSET_MIN * 60;
  ck_assert_int_eq(ts, monday_8am() + 10 + 5 * 3600);
  for (int i = 0; i < N_EDGES; i++) {
    const sim_agent_proto_rec *x = &p->obs[i];
    const disp_order *o = &F.orders[WANT_ORDER[i]];
    const disp_driver *d = &F.drivers[EDGE_DRIVER[i]];
    ck_assert_int_eq(x->order_id, WANT_ORDER_ID[i]);
    ck_assert_int_eq(x->order, WANT_ORDER[i]);
    ck_assert_int_eq(x->driver_id, EDGE_DRIVER[i]);
    ck_assert_double_eq(x->dist, EDGE_DIST[i] / ratio);
    ck_assert_double_eq(x->slng, o->plng);
    ck_assert_double_eq(x->slat, o->plat);
    ck_assert_double_eq(x->flng, o->dlng);
    ck_assert_double_eq(x->flat, o->dlat);
    ck_assert_double_eq(x->dlng, d->lng);
    ck_assert_double_eq(x->dlat, d->lat);
    ck_assert_int_eq(x->ts, ts);
    ck_assert_int_eq(x->finish_ts, o->t_request + o->duration_s - UTC_OFFSET_MIN * 60);
    ck_assert_int_eq(x->dow, 0); /* Monday */
    ck_assert_double_eq(x->reward, o->fare);
    ck_assert_double_eq(x->eta, EDGE_ETA[i]);
  }
  /* a Sunday just before midnight, and an hour later a Monday */
  F.t.now = rs_time_days_from_civil(2016, 2, 7) * RS_DAY_S + RS_DAY_S - 1;
  observe_tick();
  ck_assert_int_eq(p->obs[0].dow, 6);
  ck_assert_int_eq(p->obs[0].ts, F.t.now + 5 * 3600);
  F.t.now += 3600;
  observe_tick();
  ck_assert_int_eq(p->obs[0].dow, 0);
  ck_assert_int_eq(p->counts.candidates, 3 * N_EDGES);
  /* a tick with no candidate at all: no record */
  int32_t empty_ptr[N_ORDERS + 1] = {0, 0, 0, 0, 0};
  F.t.row_ptr = empty_ptr;
  observe_tick();
  ck_assert_uint_eq(p->n_obs, 0);
}
END_TEST

/* ------------------------------------------------------ write_dispatch */

/* The record of `rec` in the parsed observ matches the protocol's fields,
 * each to the precision written (9 decimals for degrees and fares, 6 for
 * metres and seconds). */
static void check_json_record(const cJSON *j, const sim_agent_proto_rec *x) {
  ck_assert_int_eq(cJSON_GetArraySize(j), 11);
  ck_assert_int_eq((int64_t)jnum(j, "driver_id"), x->driver_id);
  ck_assert_int_eq((int64_t)jnum(j, "order_id"), x->order_id);
  ck_assert_double_eq_tol(jnum(j, "order_driver_distance"), x->dist, 5.1e-7);
  ck_assert_double_eq_tol(jnum(j, "pick_up_eta"), x->eta, 5.1e-7);
  ck_assert_int_eq((int64_t)jnum(j, "timestamp"), x->ts);
  ck_assert_int_eq((int64_t)jnum(j, "order_finish_timestamp"), x->finish_ts);
  ck_assert_int_eq((int64_t)jnum(j, "day_of_week"), x->dow);
  ck_assert_double_eq_tol(jnum(j, "reward_units"), x->reward, 5.1e-10);
  static const char *const PTS[] = {"driver_location", "order_start_location",
                                    "order_finish_location"};
  const double want[3][2] = {{x->dlng, x->dlat}, {x->slng, x->slat}, {x->flng, x->flat}};
  for (int k = 0; k < 3; k++) {
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(j, PTS[k]);
    ck_assert(cJSON_IsArray(pt));
    ck_assert_int_eq(cJSON_GetArraySize(pt), 2);
    ck_assert_double_eq_tol(cJSON_GetArrayItem(pt, 0)->valuedouble, want[k][0], 5.1e-10);
    ck_assert_double_eq_tol(cJSON_GetArrayItem(pt, 1)->valuedouble, want[k][1], 5.1e-10);
  }
}

START_TEST(test_write_dispatch) {
  observe_tick();
  sim_agent_proto_buf b = {NULL, 0, 0};
  ck_assert_int_eq(sim_agent_proto_write_dispatch(&F.p, &b, 17), 0);
  ck_assert_uint_gt(b.len, 0);
  ck_assert_int_eq(b.data[b.len - 1], '\n');
  ck_assert_ptr_eq(memchr(b.data, '\n', b.len), b.data + b.len - 1);
  cJSON *j = cJSON_ParseWithLength(b.data, b.len - 1);
  ck_assert_ptr_nonnull(j);
  ck_assert_str_eq(jstr(j, "type"), "dispatch");
  ck_assert_int_eq((int64_t)jnum(j, "tick"), 17);
  const cJSON *obs = cJSON_GetObjectItemCaseSensitive(j, "observ");
  ck_assert(cJSON_IsArray(obs));
  ck_assert_int_eq(cJSON_GetArraySize(obs), N_EDGES);
  for (int i = 0; i < N_EDGES; i++) check_json_record(cJSON_GetArrayItem(obs, i), &F.p.obs[i]);
  cJSON_Delete(j);
  /* the same buffer again: replaced, not appended */
  size_t len = b.len;
  ck_assert_int_eq(sim_agent_proto_write_dispatch(&F.p, &b, 17), 0);
  ck_assert_uint_eq(b.len, len);
  /* no candidate: an empty list */
  int32_t empty_ptr[N_ORDERS + 1] = {0, 0, 0, 0, 0};
  F.t.row_ptr = empty_ptr;
  observe_tick();
  ck_assert_int_eq(sim_agent_proto_write_dispatch(&F.p, &b, 18), 0);
  ck_assert_int_eq((int)b.len, (int)strlen("{\"type\":\"dispatch\",\"tick\":18,\"observ\":[]}\n"));
  ck_assert_int_eq(memcmp(b.data, "{\"type\":\"dispatch\",\"tick\":18,\"observ\":[]}\n", b.len), 0);
  free(b.data);
}
END_TEST

/* How numbers are written: exact decimals on the KDD sphere (ratio 1),
 * trailing zeros trimmed with one kept, large values in %.17g, NaN as null. */
START_TEST(test_write_dispatch_numbers) {
  fixture_teardown();
  fixture_setup_radius(RS_EARTH_RADIUS_KDD_M);
  F.orders[2].fare = 12.5;
  F.orders[2].plng = -100.0;
  F.orders[2].plat = 39.123456789;
  F.orders[3].fare = 1e10;
  F.orders[1].fare = 0;
  F.edge_eta[5] = NAN;
  F.drivers[1].lng = -99.5;
  F.drivers[1].lat = 40.0000000004; /* rounds to 40.0 */
  observe_tick();
  sim_agent_proto_buf b = {NULL, 0, 0};
  ck_assert_int_eq(sim_agent_proto_write_dispatch(&F.p, &b, 3), 0);
  char *s = malloc(b.len + 1);
  memcpy(s, b.data, b.len);
  s[b.len] = '\0';
  static const char *const WANT[] = {
      "{\"type\":\"dispatch\",\"tick\":3,\"observ\":[{\"driver_id\":1,"
      "\"driver_location\":[-99.5,40.0],\"order_driver_distance\":120.5,\"pick_up_eta\":30.5,"
      "\"order_id\":7,\"order_start_location\":[-100.0,39.123456789],",
      "\"reward_units\":12.5}",
      "\"order_driver_distance\":1999.75,\"pick_up_eta\":500.125,",
      "\"order_driver_distance\":50.0,\"pick_up_eta\":12.25,",
      "\"reward_units\":10000000000}",
      "\"order_driver_distance\":10.0,\"pick_up_eta\":null,\"order_id\":55,",
      "\"reward_units\":0.0}]}\n",
  };
  for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++)
    ck_assert_msg(strstr(s, WANT[i]) != NULL, "'%s' not in %s", WANT[i], s);
  ck_assert_str_eq(s + strlen(s) - strlen(WANT[6]), WANT[6]);
  free(s);
  free(b.data);
}
END_TEST

/* ------------------------------------------------------ repo_observ */

START_TEST(test_repo_observ) {
  observe_repo();
  ck_assert_int_eq(F.p.now, F.r.now);
  /* the eligible drivers are offered, in their order; the others are not */
  ck_assert_int_eq(repo_reply(9, "{\"ok\":true,\"result\":[{\"driver_id\":4,\"destination\":\"7\"},"
                                 "{\"driver_id\":3,\"destination\":\"8\"},"
                                 "{\"driver_id\":1,\"destination\":\"9\"},"
                                 "{\"driver_id\":0,\"destination\":\"10\"}]}"),
                   0);
  ck_assert_int_eq(F.dest[0], 8);
  ck_assert_int_eq(F.dest[1], 10);
  ck_assert_int_eq(F.dest[2], 7);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_DRIVER], 1);
  ck_assert_int_eq(F.p.counts.moves_accepted, 3);
  /* a new round forgets the old one's offers and uses */
  F.eligible[0] = 5;
  F.r.n_eligible = 1;
  observe_repo();
  F.dest[0] = -1;
  ck_assert_int_eq(repo_reply(10, "{\"ok\":true,\"result\":[{\"driver_id\":3,\"destination\":\"1\"},"
                                  "{\"driver_id\":5,\"destination\":\"2\"}]}"),
                   0);
  ck_assert_int_eq(F.dest[0], 2);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_DRIVER], 2);
  /* after a repositioning round, a dispatch offer stands on its own */
  observe_tick();
  ck_assert_int_eq(dispatch_reply(11, "{\"ok\":true,\"result\":[{\"order_id\":300,\"driver_id\":4}]}"),
                   0);
  ck_assert_int_eq(F.t.n_out, 1);
}
END_TEST

/* ------------------------------------------------------ write_repo */

START_TEST(test_write_repo) {
  observe_repo();
  sim_agent_proto_buf b = {NULL, 0, 0};
  ck_assert_int_eq(sim_agent_proto_write_repo(&F.p, &b, &F.r, 9), 0);
  char want[512];
  snprintf(want, sizeof want,
           "{\"type\":\"reposition\",\"tick\":9,\"observ\":{\"timestamp\":%" PRId64
           ",\"driver_info\":[{\"driver_id\":3,\"grid_id\":\"%d\"},{\"driver_id\":0,\"grid_id\":"
           "\"%d\"},{\"driver_id\":4,\"grid_id\":\"%d\"}],\"day_of_week\":0}}\n",
           F.r.now + 5 * 3600, F.drivers[3].cell, F.drivers[0].cell, F.drivers[4].cell);
  ck_assert_uint_eq(b.len, strlen(want));
  ck_assert_int_eq(memcmp(b.data, want, b.len), 0);
  ck_assert_int_ge(F.drivers[3].cell, 0);
  /* with a KDD grid: the nearest cell's id (drivers 0 and 3 sit by aaa
   * and bbb; driver 4 is nearest to bbb too) */
  city_kdd_grid *g = kdd_grid();
  use_kdd(g);
  observe_repo();
  ck_assert_int_eq(sim_agent_proto_write_repo(&F.p, &b, &F.r, 10), 0);
  snprintf(want, sizeof want,
           "{\"type\":\"reposition\",\"tick\":10,\"observ\":{\"timestamp\":%" PRId64
           ",\"driver_info\":[{\"driver_id\":3,\"grid_id\":\"bbb\"},{\"driver_id\":0,\"grid_id\":"
           "\"aaa\"},{\"driver_id\":4,\"grid_id\":\"bbb\"}],\"day_of_week\":0}}\n",
           F.r.now + 5 * 3600);
  ck_assert_uint_eq(b.len, strlen(want));
  ck_assert_int_eq(memcmp(b.data, want, b.len), 0);
  /* nobody eligible */
  F.r.n_eligible = 0;
  observe_repo();
  ck_assert_int_eq(sim_agent_proto_write_repo(&F.p, &b, &F.r, 11), 0);
  ck_assert(strstr(b.data, "\"driver_info\":[],\"day_of_week\":0}}\n") != NULL);
  sim_agent_proto_close(&F.p);
  city_kdd_grid_free(g);
  free(b.data);
}
END_TEST

/* ------------------------------------------------------ write_init */

START_TEST(test_write_init) {
  sim_agent_proto_buf b = {NULL, 0, 0};
  ck_assert_int_eq(sim_agent_proto_write_init(&b), 0);
  const char *want = "{\"type\":\"init\",\"tick\":0}\n";
  ck_assert_uint_eq(b.len, strlen(want));
  ck_assert_int_eq(memcmp(b.data, want, b.len), 0);
  free(b.data);
}
END_TEST

/* ------------------------------------------------------ grid_id */

START_TEST(test_grid_id) {
  char buf[CITY_KDD_ID_MAX + 16];
  sim_agent_proto_grid_id(&F.p, 40.0, -100.0, 1234, buf, sizeof buf);
  ck_assert_str_eq(buf, "1234");
  sim_agent_proto_grid_id(&F.p, 40.0, -100.0, -1, buf, sizeof buf);
  ck_assert_str_eq(buf, "-1");
  char small[3];
  sim_agent_proto_grid_id(&F.p, 40.0, -100.0, 1234, small, sizeof small);
  ck_assert_str_eq(small, "12");
  city_kdd_grid *g = kdd_grid();
  use_kdd(g);
  sim_agent_proto_grid_id(&F.p, 40.049, -100.001, 5, buf, sizeof buf);
  ck_assert_str_eq(buf, "ccc");
  sim_agent_proto_grid_id(&F.p, 44.0, -91.0, 5, buf, sizeof buf);
  ck_assert_str_eq(buf, "far");
  sim_agent_proto_close(&F.p);
  city_kdd_grid_free(g);
}
END_TEST

/* ------------------------------------------------------ fault */

START_TEST(test_fault) {
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_INIT, 0, SIM_AGENT_F_TIMEOUT, 0, "no reply within %d s",
                        60);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_TIMEOUT], 1);
  ck_assert_int_eq(F.p.counts.faults_by_kind[SIM_AGENT_REQ_INIT], 1);
  check_log_line(0, SIM_AGENT_REQ_INIT, 0, SIM_AGENT_F_TIMEOUT, "no reply within 60 s");
  observe_tick();
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 12, SIM_AGENT_F_LATE, 0, "late \"quoted\"");
  check_log_line(1, SIM_AGENT_REQ_DISPATCH, 12, SIM_AGENT_F_LATE, "late \"quoted\"");
  cJSON *j = log_line(1);
  ck_assert_int_eq((int64_t)jnum(j, "tick"), 5);
  ck_assert_str_eq(jstr(j, "time"), "2016-02-01 08:00:10");
  ck_assert_int_eq((int64_t)jnum(j, "timestamp"), 1454331610);
  cJSON_Delete(j);
  /* item faults are capped per reply; the others are not */
  for (int i = 0; i < SIM_AGENT_LOG_ITEMS_MAX + 3; i++)
    sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 12, SIM_AGENT_F_WRONG_TYPE, 1, "item %d", i);
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 12, SIM_AGENT_F_LATE, 0, "not an item");
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_WRONG_TYPE], SIM_AGENT_LOG_ITEMS_MAX + 3);
  ck_assert_int_eq(F.p.counts.faults_by_kind[SIM_AGENT_REQ_DISPATCH], SIM_AGENT_LOG_ITEMS_MAX + 5);
  char *s = log_text();
  ck_assert_int_eq(count_lines(s), 2 + SIM_AGENT_LOG_ITEMS_MAX + 1);
  free(s);
  /* no log: counted all the same */
  F.p.o.log = NULL;
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_REPOSITION, 13, SIM_AGENT_F_BAD_DEST, 1, "x");
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_BAD_DEST], 1);
  ck_assert_int_eq(F.p.counts.faults_by_kind[SIM_AGENT_REQ_REPOSITION], 1);
}
END_TEST

/* ------------------------------------------------------ end_reply */

START_TEST(test_end_reply) {
  observe_tick();
  /* nothing suppressed: no line */
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 4, SIM_AGENT_F_WRONG_TYPE, 1, "one");
  sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_DISPATCH, 4);
  char *s = log_text();
  ck_assert_int_eq(count_lines(s), 1);
  free(s);
  /* 7 past the cap: one summary line, then the cap starts again */
  for (int i = 0; i < SIM_AGENT_LOG_ITEMS_MAX + 7; i++)
    sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 5, SIM_AGENT_F_WRONG_TYPE, 1, "i%d", i);
  sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_DISPATCH, 5);
  s = log_text();
  ck_assert_int_eq(count_lines(s), 1 + SIM_AGENT_LOG_ITEMS_MAX + 1);
  free(s);
  cJSON *j = log_line(1 + SIM_AGENT_LOG_ITEMS_MAX);
  ck_assert_str_eq(jstr(j, "fault"), "suppressed");
  ck_assert_str_eq(jstr(j, "error"), "DispatchAgentError");
  ck_assert_str_eq(jstr(j, "type"), "dispatch");
  ck_assert_int_eq((int64_t)jnum(j, "request"), 5);
  ck_assert_int_eq((int64_t)jnum(j, "run_id"), 42);
  ck_assert_str_eq(jstr(j, "time"), "2016-02-01 08:00:10");
  ck_assert_str_eq(jstr(j, "detail"), "7 more item faults in this reply (counted, not logged)");
  cJSON_Delete(j);
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 6, SIM_AGENT_F_WRONG_TYPE, 1, "again");
  s = log_text();
  ck_assert_int_eq(count_lines(s), 1 + SIM_AGENT_LOG_ITEMS_MAX + 2);
  free(s);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_WRONG_TYPE], SIM_AGENT_LOG_ITEMS_MAX + 9);
}
END_TEST

/* ------------------------------------------------------ parse */

START_TEST(test_parse) {
  sim_agent_proto_reply r;
  const char *l = "{\"ok\":true,\"tick\":5,\"result\":[]}";
  sim_agent_proto_parse(&r, l, strlen(l));
  ck_assert_ptr_nonnull(r.root);
  ck_assert_int_eq(r.has_tick, 1);
  ck_assert_int_eq(r.tick, 5);
  ck_assert_int_eq(r.too_long, 0);
  sim_agent_proto_reply_free(&r);
  ck_assert_ptr_null(r.root);
  /* only the first len bytes count */
  sim_agent_proto_parse(&r, l, 10);
  ck_assert_ptr_null(r.root);
  sim_agent_proto_reply_free(&r);
  static const char *const NO_TICK[] = {"{\"tick\":5.5}", "{\"tick\":\"5\"}", "{\"tick\":true}",
                                        "[5]", "5", "{}", "{\"Tick\":5}", "not json"};
  for (size_t i = 0; i < sizeof NO_TICK / sizeof NO_TICK[0]; i++) {
    sim_agent_proto_parse(&r, NO_TICK[i], strlen(NO_TICK[i]));
    ck_assert_msg(!r.has_tick, "%s", NO_TICK[i]);
    sim_agent_proto_reply_free(&r);
  }
  l = "{\"tick\":-3}";
  sim_agent_proto_parse(&r, l, strlen(l));
  ck_assert(r.has_tick && r.tick == -3);
  sim_agent_proto_reply_free(&r);
  sim_agent_proto_parse(&r, NULL, 0);
  ck_assert_int_eq(r.too_long, 1);
  ck_assert_ptr_null(r.root);
  sim_agent_proto_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------ reply_free */

START_TEST(test_reply_free) {
  sim_agent_proto_reply r;
  const char *l = "{\"ok\":true,\"result\":[{\"order_id\":1,\"driver_id\":2}]}";
  sim_agent_proto_parse(&r, l, strlen(l));
  ck_assert_int_eq(sim_agent_proto_envelope(&F.p, SIM_AGENT_REQ_DISPATCH, 1, &r), 0);
  sim_agent_proto_reply_free(&r);
  ck_assert_ptr_null(r.root);
  ck_assert_ptr_null(r.result);
  sim_agent_proto_reply_free(&r); /* a freed reply frees nothing again */
}
END_TEST

/* ------------------------------------------------------ envelope */

/* One reply that fails entirely with fault f (and detail). */
static void check_fails(int kind, const char *line, int f, const char *detail) {
  int64_t before = F.p.counts.faults[f], all = total_faults();
  char *s = log_text();
  int n = count_lines(s);
  free(s);
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, line, line ? strlen(line) : 0);
  ck_assert_msg(sim_agent_proto_envelope(&F.p, kind, 8, &r) == -1, "%s passed", line);
  ck_assert_ptr_null(r.result);
  sim_agent_proto_reply_free(&r);
  ck_assert_int_eq(F.p.counts.faults[f], before + 1);
  ck_assert_int_eq(total_faults(), all + 1);
  check_log_line(n, kind, 8, f, detail);
}

START_TEST(test_envelope) {
  observe_tick();
  const int D = SIM_AGENT_REQ_DISPATCH, R = SIM_AGENT_REQ_REPOSITION, I = SIM_AGENT_REQ_INIT;
  check_fails(D, "this is not json", SIM_AGENT_F_NOT_JSON, "reply is not JSON");
  check_fails(D, "", SIM_AGENT_F_NOT_JSON, "not JSON");
  check_fails(D, "{\"ok\":true,\"result\":[]", SIM_AGENT_F_NOT_JSON, "not JSON");
  check_fails(D, NULL, SIM_AGENT_F_TOO_LONG, "reply line longer than 1000 bytes");
  check_fails(D, "[1,2]", SIM_AGENT_F_BAD_REPLY, "not an object with a boolean \"ok\"");
  check_fails(D, "{\"ok\":1,\"result\":[]}", SIM_AGENT_F_BAD_REPLY, "boolean \"ok\"");
  check_fails(D, "{\"result\":[]}", SIM_AGENT_F_BAD_REPLY, "boolean \"ok\"");
  check_fails(D, "{\"ok\":true}", SIM_AGENT_F_BAD_REPLY, "\"result\" is not a list");
  check_fails(D, "{\"ok\":true,\"result\":{\"not\":\"a list\"}}", SIM_AGENT_F_BAD_REPLY,
              "\"result\" is not a list");
  check_fails(D, "{\"ok\":false,\"error\":\"DispatchAgentError\",\"message\":\"ValueError: x\"}",
              SIM_AGENT_F_EXCEPTION, "DispatchAgentError: ValueError: x");
  check_fails(R, "{\"ok\":false}", SIM_AGENT_F_EXCEPTION, "RepositionAgentError: (no message)");
  check_fails(I, "{\"ok\":false,\"message\":\"no model\"}", SIM_AGENT_F_EXCEPTION,
              "InitAgentError: no model");
  check_fails(D, "{\"ok\":false,\"result\":[]}", SIM_AGENT_F_EXCEPTION, "(no message)");
  /* what stands */
  sim_agent_proto_reply r;
  const char *l = "{\"ok\":true,\"result\":[1]}";
  sim_agent_proto_parse(&r, l, strlen(l));
  ck_assert_int_eq(sim_agent_proto_envelope(&F.p, D, 8, &r), 0);
  ck_assert(cJSON_IsArray(r.result));
  sim_agent_proto_reply_free(&r);
  l = "{\"ok\":true,\"tick\":0}";
  sim_agent_proto_parse(&r, l, strlen(l));
  ck_assert_int_eq(sim_agent_proto_envelope(&F.p, I, 0, &r), 0);
  ck_assert_ptr_null(r.result);
  sim_agent_proto_reply_free(&r);
  ck_assert_int_eq(F.p.counts.faults_by_kind[D], 11);
  ck_assert_int_eq(F.p.counts.faults_by_kind[R], 1);
  ck_assert_int_eq(F.p.counts.faults_by_kind[I], 1);
}
END_TEST

/* ------------------------------------------------------ init_error */

START_TEST(test_init_error) {
  static const struct {
    const char *line, *want;
  } C[] = {
      {"{\"ok\":false,\"error\":\"InitAgentError\",\"message\":\"model missing\"}",
       "InitAgentError: model missing"},
      {"{\"ok\":false,\"error\":\"RuntimeError\"}",
       "RuntimeError: the init reply is not {\"ok\": true}"},
      {"{\"ok\":false,\"message\":5}", "InitAgentError: the init reply is not {\"ok\": true}"},
      {"[]", "InitAgentError: the init reply is not {\"ok\": true}"},
      {"garbage", "InitAgentError: the init reply is not {\"ok\": true}"},
      {NULL, "InitAgentError: the init reply is not {\"ok\": true}"},
  };
  for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
    sim_agent_proto_reply r;
    sim_agent_proto_parse(&r, C[i].line, C[i].line ? strlen(C[i].line) : 0);
    char m[500];
    sim_agent_proto_init_error(&r, m, sizeof m);
    ck_assert_str_eq(m, C[i].want);
    sim_agent_proto_reply_free(&r);
  }
}
END_TEST

/* ------------------------------------------------------ dispatch_items */

/* The pairs of the latest reply, as "order_id:driver_id ..." */
static void check_out(const char *want) {
  char got[256] = "";
  for (int32_t i = 0; i < F.t.n_out; i++) {
    char one[40];
    snprintf(one, sizeof one, "%s%" PRId64 ":%d", i ? " " : "", F.orders[F.out[i].order].id,
             F.out[i].driver);
    strcat(got, one);
  }
  ck_assert_str_eq(got, want);
}

START_TEST(test_dispatch_items) {
  observe_tick();
  const int D = SIM_AGENT_REQ_DISPATCH;
  /* each item fault on its own */
  static const struct {
    const char *item;
    int fault;
    const char *detail;
  } C[] = {
      {"5", SIM_AGENT_F_WRONG_TYPE, "item 0: expected {\"order_id\": int, \"driver_id\": int}"},
      {"{\"order_id\":\"7\",\"driver_id\":1}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"order_id\":7.5,\"driver_id\":1}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"order_id\":7,\"driver_id\":true}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"order_id\":7}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"order_id\":1e300,\"driver_id\":1}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"order_id\":101,\"driver_id\":1}", SIM_AGENT_F_UNKNOWN_ORDER, "order_id 101 was not offered"},
      {"{\"order_id\":-12345,\"driver_id\":1}", SIM_AGENT_F_UNKNOWN_ORDER, "order_id -12345"},
      {"{\"order_id\":7,\"driver_id\":2}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id 2 was not offered"},
      {"{\"order_id\":7,\"driver_id\":6}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id 6"},
      {"{\"order_id\":7,\"driver_id\":-1}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id -1"},
      {"{\"order_id\":7,\"driver_id\":1000000000}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id 1000000000"},
      {"{\"order_id\":7,\"driver_id\":0}", SIM_AGENT_F_NOT_OFFERED,
       "pair (order_id 7, driver_id 0) is not a candidate"},
      {"{\"order_id\":55,\"driver_id\":4}", SIM_AGENT_F_NOT_OFFERED, "order_id 55, driver_id 4"},
  };
  for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
    char line[200];
    snprintf(line, sizeof line, "{\"ok\":true,\"result\":[%s]}", C[i].item);
    char *s = log_text();
    int n = count_lines(s);
    free(s);
    int64_t before = F.p.counts.faults[C[i].fault];
    ck_assert_int_eq(dispatch_reply(20 + (int64_t)i, line), 0);
    ck_assert_int_eq(F.t.n_out, 0);
    ck_assert_int_eq(F.p.counts.faults[C[i].fault], before + 1);
    check_log_line(n, D, 20 + (int64_t)i, C[i].fault, C[i].detail);
  }
  ck_assert_int_eq(F.p.counts.pairs_dropped, (int64_t)(sizeof C / sizeof C[0]));
  ck_assert_int_eq(F.p.counts.pairs_accepted, 0);
  /* duplicates: the first use stands */
  ck_assert_int_eq(dispatch_reply(40, "{\"ok\":true,\"result\":[{\"order_id\":7,\"driver_id\":1},"
                                      "{\"order_id\":7,\"driver_id\":3},"
                                      "{\"order_id\":300,\"driver_id\":1}]}"),
                   0);
  check_out("7:1");
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_ORDER], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_DRIVER], 1);
  char *s = log_text();
  int n = count_lines(s);
  free(s);
  check_log_line(n - 2, D, 40, SIM_AGENT_F_DUP_ORDER, "order_id 7 assigned again (to driver_id 3): dropped");
  check_log_line(n - 1, D, 40, SIM_AGENT_F_DUP_DRIVER, "driver_id 1 assigned again (to order_id 300): dropped");
  /* a new observation starts afresh */
  observe_tick();
  ck_assert_int_eq(dispatch_reply(41, "{\"ok\":true,\"result\":[{\"order_id\":7,\"driver_id\":1}]}"), 0);
  check_out("7:1");
  /* an empty result is no fault */
  int64_t all = total_faults();
  observe_tick();
  ck_assert_int_eq(dispatch_reply(42, "{\"ok\":true,\"result\":[]}"), 0);
  ck_assert_int_eq(F.t.n_out, 0);
  ck_assert_int_eq(total_faults(), all);
}
END_TEST

/* A partial reply: the faulty items are dropped, the good ones stand in
 * reply order, and a fault does not use its order or driver. */
START_TEST(test_dispatch_items_partial) {
  observe_tick();
  const char *line =
      "{\"ok\":true,\"tick\":3,\"result\":["
      "{\"order_id\":55,\"driver_id\":1},"    /* not offered */
      "{\"order_id\":300,\"driver_id\":4},"   /* stands */
      "\"junk\","                             /* wrong type */
      "{\"order_id\":101,\"driver_id\":3},"   /* unknown order */
      "{\"order_id\":55,\"driver_id\":3},"    /* stands: the faults above used nothing */
      "{\"order_id\":7,\"driver_id\":3},"     /* duplicate driver */
      "{\"order_id\":7,\"driver_id\":1,\"extra\":[1,2]}" /* stands: extra fields ignored */
      "]}";
  ck_assert_int_eq(dispatch_reply(3, line), 0);
  check_out("300:4 55:3 7:1");
  ck_assert_int_eq(F.out[0].order, 3);
  ck_assert_int_eq(F.out[1].order, 1);
  ck_assert_int_eq(F.out[2].order, 2);
  ck_assert_int_eq(F.p.counts.pairs_accepted, 3);
  ck_assert_int_eq(F.p.counts.pairs_dropped, 4);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_NOT_OFFERED], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_WRONG_TYPE], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_ORDER], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_DRIVER], 1);
  ck_assert_int_eq(total_faults(), 4);
  char *s = log_text();
  ck_assert_int_eq(count_lines(s), 4);
  ck_assert_ptr_nonnull(strstr(s, "item 2: expected"));
  free(s);
}
END_TEST

/* The per-reply cap: 30 faulty items are all counted, 20 logged, one line
 * says how many more; the next reply logs again. */
START_TEST(test_dispatch_items_cap) {
  observe_tick();
  char line[4096] = "{\"ok\":true,\"result\":[{\"order_id\":7,\"driver_id\":1}";
  for (int i = 0; i < 30; i++) strcat(line, ",{\"order_id\":7,\"driver_id\":3}");
  strcat(line, "]}");
  ck_assert_int_eq(dispatch_reply(6, line), 0);
  check_out("7:1");
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_ORDER], 30);
  char *s = log_text();
  ck_assert_int_eq(count_lines(s), SIM_AGENT_LOG_ITEMS_MAX + 1);
  free(s);
  cJSON *j = log_line(SIM_AGENT_LOG_ITEMS_MAX);
  ck_assert_str_eq(jstr(j, "fault"), "suppressed");
  ck_assert_str_eq(jstr(j, "detail"), "10 more item faults in this reply (counted, not logged)");
  cJSON_Delete(j);
  observe_tick();
  ck_assert_int_eq(dispatch_reply(7, "{\"ok\":true,\"result\":[5,6]}"), 0);
  s = log_text();
  ck_assert_int_eq(count_lines(s), SIM_AGENT_LOG_ITEMS_MAX + 3);
  free(s);
  /* a failed reply's fault is not an item: logged past the cap too */
  observe_tick();
  char items[4096] = "{\"ok\":true,\"result\":[";
  for (int i = 0; i < 25; i++) strcat(items, i ? ",0" : "0");
  strcat(items, "]}");
  sim_agent_proto_reply r;
  sim_agent_proto_parse(&r, items, strlen(items));
  ck_assert_int_eq(sim_agent_proto_envelope(&F.p, SIM_AGENT_REQ_DISPATCH, 8, &r), 0);
  sim_agent_proto_dispatch_items(&F.p, &F.t, 8, &r);
  sim_agent_proto_fault(&F.p, SIM_AGENT_REQ_DISPATCH, 8, SIM_AGENT_F_LATE, 0, "late one");
  sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_DISPATCH, 8);
  sim_agent_proto_reply_free(&r);
  s = log_text();
  ck_assert_int_eq(count_lines(s), SIM_AGENT_LOG_ITEMS_MAX + 3 + SIM_AGENT_LOG_ITEMS_MAX + 2);
  ck_assert_ptr_nonnull(strstr(s, "late one"));
  ck_assert_ptr_nonnull(strstr(s, "\"detail\":\"5 more item faults"));
  free(s);
}
END_TEST

/* ------------------------------------------------------ repo_items */

START_TEST(test_repo_items) {
  const int R = SIM_AGENT_REQ_REPOSITION;
  observe_repo();
  int32_t n_cells = F.grid.n_cells;
  static const struct {
    const char *item;
    int fault;
    const char *detail;
  } C[] = {
      {"7", SIM_AGENT_F_WRONG_TYPE,
       "item 0: expected {\"driver_id\": int, \"destination\": grid_id string}"},
      {"{\"driver_id\":3,\"destination\":17}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"driver_id\":\"3\",\"destination\":\"17\"}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"destination\":\"17\"}", SIM_AGENT_F_WRONG_TYPE, "item 0"},
      {"{\"driver_id\":1,\"destination\":\"17\"}", SIM_AGENT_F_UNKNOWN_DRIVER,
       "driver_id 1 was not offered"},
      {"{\"driver_id\":-1,\"destination\":\"0\"}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id -1"},
      {"{\"driver_id\":99999,\"destination\":\"0\"}", SIM_AGENT_F_UNKNOWN_DRIVER, "driver_id 99999"},
      {"{\"driver_id\":3,\"destination\":\"no-such-cell\"}", SIM_AGENT_F_BAD_DEST,
       "destination 'no-such-cell' of driver_id 3 is not a grid_id of the city"},
      {"{\"driver_id\":3,\"destination\":\"\"}", SIM_AGENT_F_BAD_DEST, "destination ''"},
      {"{\"driver_id\":3,\"destination\":\"-1\"}", SIM_AGENT_F_BAD_DEST, "destination '-1'"},
      {"{\"driver_id\":3,\"destination\":\"12x\"}", SIM_AGENT_F_BAD_DEST, "destination '12x'"},
      {"{\"driver_id\":3,\"destination\":\" 12\"}", SIM_AGENT_F_BAD_DEST, "destination ' 12'"},
      {"{\"driver_id\":3,\"destination\":\"99999999999999999999\"}", SIM_AGENT_F_BAD_DEST,
       "destination '99999999999999999999'"},
  };
  for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
    char line[200];
    snprintf(line, sizeof line, "{\"ok\":true,\"result\":[%s]}", C[i].item);
    char *s = log_text();
    int n = count_lines(s);
    free(s);
    int64_t before = F.p.counts.faults[C[i].fault];
    ck_assert_int_eq(repo_reply(30 + (int64_t)i, line), 0);
    ck_assert_int_eq(F.p.counts.faults[C[i].fault], before + 1);
    check_log_line(n, R, 30 + (int64_t)i, C[i].fault, C[i].detail);
    for (int k = 0; k < 3; k++) ck_assert_int_eq(F.dest[k], -1);
  }
  /* the last cell is a grid id, one past it is not; a driver moved twice
   * keeps its first destination; one whose destination was bad may still
   * be moved */
  char line[300];
  snprintf(line, sizeof line,
           "{\"ok\":true,\"result\":[{\"driver_id\":4,\"destination\":\"%d\"},"
           "{\"driver_id\":0,\"destination\":\"%d\"},{\"driver_id\":4,\"destination\":\"0\"},"
           "{\"driver_id\":0,\"destination\":\"0\"}]}",
           n_cells - 1, n_cells);
  ck_assert_int_eq(repo_reply(50, line), 0);
  ck_assert_int_eq(F.dest[0], -1);
  ck_assert_int_eq(F.dest[1], 0);
  ck_assert_int_eq(F.dest[2], n_cells - 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_DRIVER], 1);
  char *s = log_text();
  ck_assert_ptr_nonnull(strstr(s, "driver_id 4 moved twice: dropped"));
  free(s);
  ck_assert_int_eq(F.p.counts.moves_accepted, 2);
}
END_TEST

/* Destinations as KDD grid ids: an id of the table maps to the engine cell
 * holding its centre; an unknown id, or a cell outside the city, is bad. */
START_TEST(test_repo_items_kdd) {
  city_kdd_grid *g = kdd_grid();
  use_kdd(g);
  observe_repo();
  ck_assert_int_eq(repo_reply(5, "{\"ok\":true,\"result\":[{\"driver_id\":3,\"destination\":\"bbb\"},"
                                 "{\"driver_id\":0,\"destination\":\"far\"},"
                                 "{\"driver_id\":4,\"destination\":\"17\"}]}"),
                   0);
  const city_kdd_cell *c = city_kdd_grid_cell(g, city_kdd_grid_find(g, "bbb"));
  ck_assert_int_eq(F.dest[0], city_grid_point_index(&F.grid, c->lat, c->lng));
  ck_assert_int_ge(F.dest[0], 0);
  ck_assert_int_eq(F.dest[1], -1);
  ck_assert_int_eq(F.dest[2], -1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_BAD_DEST], 2);
  sim_agent_proto_close(&F.p);
  city_kdd_grid_free(g);
}
END_TEST

/* ------------------------------------------------------ accept_pair / move */

START_TEST(test_accept_pair) {
  observe_tick();
  F.t.n_out = 0;
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 300, 0), 1);
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 300, 1), 0); /* order used */
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 7, 0), 0);   /* not a candidate */
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 7, 1), 1);
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 55, 5), 0);  /* unknown driver */
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 55, 3), 1);
  check_out("300:0 7:1 55:3");
  ck_assert_int_eq(F.p.counts.pairs_accepted, 3);
  ck_assert_int_eq(F.p.counts.pairs_dropped, 3);
  /* unknown-order is checked before unknown-driver */
  ck_assert_int_eq(sim_agent_proto_accept_pair(&F.p, &F.t, 1, 101, 5), 0);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_ORDER], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_DRIVER], 1);
}
END_TEST

START_TEST(test_accept_move) {
  observe_repo();
  ck_assert_int_eq(sim_agent_proto_accept_move(&F.p, &F.r, 2, 4, "12"), 1);
  ck_assert_int_eq(F.dest[2], 12);
  ck_assert_int_eq(sim_agent_proto_accept_move(&F.p, &F.r, 2, 4, "13"), 0);
  ck_assert_int_eq(F.dest[2], 12);
  ck_assert_int_eq(sim_agent_proto_accept_move(&F.p, &F.r, 2, 2, "13"), 0);
  ck_assert_int_eq(sim_agent_proto_accept_move(&F.p, &F.r, 2, 3, "x"), 0);
  ck_assert_int_eq(sim_agent_proto_accept_move(&F.p, &F.r, 2, 3, "0"), 1);
  ck_assert_int_eq(F.dest[0], 0);
  ck_assert_int_eq(F.p.counts.moves_accepted, 2);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_DUP_DRIVER], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_UNKNOWN_DRIVER], 1);
  ck_assert_int_eq(F.p.counts.faults[SIM_AGENT_F_BAD_DEST], 1);
}
END_TEST

/* ------------------------------------------------------ property */

#define P_DRIVERS_MAX 40
#define P_ORDERS_MAX 30
#define P_EDGES_MAX (P_ORDERS_MAX * P_DRIVERS_MAX)

/* A random tick: some rows without candidates, candidates distinct within
 * a row, order ids distinct and in no particular order. */
typedef struct {
  disp_order orders[P_ORDERS_MAX];
  disp_driver drivers[P_DRIVERS_MAX];
  int32_t row_order[P_ORDERS_MAX], row_ptr[P_ORDERS_MAX + 1], edge_driver[P_EDGES_MAX];
  double edge_dist[P_EDGES_MAX], edge_eta[P_EDGES_MAX];
  disp_assign out[P_ORDERS_MAX];
  disp_tick t;
} rand_tick;

static void make_rand_tick(rand_tick *x, pcg32 *g) {
  memset(x, 0, sizeof *x);
  int32_t nd = 1 + (int32_t)pcg32_bounded(g, P_DRIVERS_MAX);
  int32_t no = 1 + (int32_t)pcg32_bounded(g, P_ORDERS_MAX);
  for (int32_t d = 0; d < nd; d++) {
    x->drivers[d].lat = 39.95 + 0.1 * pcg32_double(g);
    x->drivers[d].lng = -100.05 + 0.1 * pcg32_double(g);
    x->drivers[d].node = -1;
  }
  for (int32_t o = 0; o < no; o++) {
    x->orders[o].id = 1000 + 7 * (int64_t)o * (o % 2 ? -1 : 1); /* distinct, unsorted */
    x->orders[o].t_request = F.t.now - 60;
    x->orders[o].duration_s = 600;
    x->orders[o].fare = 10;
    x->orders[o].pnode = x->orders[o].dnode = -1;
    x->row_order[o] = o;
  }
  for (int32_t i = no - 1; i > 0; i--) { /* rows in a random order */
    int32_t j = (int32_t)pcg32_bounded(g, (uint32_t)i + 1), s = x->row_order[i];
    x->row_order[i] = x->row_order[j];
    x->row_order[j] = s;
  }
  int32_t ne = 0;
  for (int32_t r = 0; r < no; r++) {
    x->row_ptr[r] = ne;
    if (pcg32_bounded(g, 5) == 0) continue; /* no candidate */
    for (int32_t d = 0; d < nd; d++)
      if (pcg32_bounded(g, 3) == 0) {
        x->edge_driver[ne] = d;
        x->edge_dist[ne] = 2000 * pcg32_double(g);
        x->edge_eta[ne++] = 300 * pcg32_double(g);
      }
  }
  x->row_ptr[no] = ne;
  disp_tick *t = &x->t;
  t->now = F.t.now;
  t->city = &F.city;
  t->grid = &F.grid;
  t->orders = x->orders;
  t->drivers = x->drivers;
  t->n_drivers = nd;
  t->n_rows = no;
  t->row_order = x->row_order;
  t->row_ptr = x->row_ptr;
  t->edge_driver = x->edge_driver;
  t->edge_dist = x->edge_dist;
  t->edge_eta = x->edge_eta;
  t->out = x->out;
}

/* The naive reference: is (order id, driver) a candidate pair of t? */
static int ref_row_of(const disp_tick *t, int64_t oid) {
  for (int32_t r = 0; r < t->n_rows; r++)
    if (t->orders[t->row_order[r]].id == oid && t->row_ptr[r] < t->row_ptr[r + 1]) return r;
  return -1;
}
static int ref_offered_driver(const disp_tick *t, int64_t d) {
  for (int32_t k = 0; k < t->row_ptr[t->n_rows]; k++)
    if (t->edge_driver[k] == d) return 1;
  return 0;
}
static int ref_pair(const disp_tick *t, int32_t r, int64_t d) {
  for (int32_t k = t->row_ptr[r]; k < t->row_ptr[r + 1]; k++)
    if (t->edge_driver[k] == d) return 1;
  return 0;
}

START_TEST(test_property_random_replies) {
  pcg32 g;
  pcg32_seed(&g, 0x5eed0000u + (uint64_t)_i, 77);
  static rand_tick x;
  F.p.o.log = NULL;
  for (int req = 0; req < 8; req++) {
    /* every tenth seed wraps the request stamp after its first request:
     * the marks that request left (stamp 1) must not count as offers or
     * uses of the request after the wrap (stamp 1 again) */
    if (_i % 10 == 0 && req == 1) F.p.stamp = UINT32_MAX;
    make_rand_tick(&x, &g);
    disp_tick *t = &x.t;
    ck_assert_int_eq(sim_agent_proto_dispatch_observ(&F.p, t), 0);
    /* the reply: offered pairs, unoffered pairs of offered ids, unknown
     * orders (including rows without candidates), unknown drivers,
     * repeats, and the odd wrong type */
    int32_t n_items = (int32_t)pcg32_bounded(&g, 40);
    int64_t it_o[64], it_d[64];
    int it_bad[64];
    char *line = malloc(64 * 64 + 64);
    ck_assert_ptr_nonnull(line);
    size_t len = (size_t)sprintf(line, "{\"ok\":true,\"result\":[");
    int32_t ne = t->row_ptr[t->n_rows];
    for (int32_t i = 0; i < n_items; i++) {
      uint32_t kind = pcg32_bounded(&g, 10);
      it_bad[i] = 0;
      if (kind < 5 && ne > 0) { /* an offered pair */
        int32_t k = (int32_t)pcg32_bounded(&g, (uint32_t)ne), r = 0;
        while (t->row_ptr[r + 1] <= k) r++;
        it_o[i] = t->orders[t->row_order[r]].id;
        it_d[i] = t->edge_driver[k];
      } else if (kind < 8) { /* any order of the tick with any driver */
        it_o[i] = t->orders[pcg32_bounded(&g, (uint32_t)t->n_rows)].id;
        it_d[i] = (int64_t)pcg32_bounded(&g, (uint32_t)t->n_drivers + 2) - 1;
      } else if (kind < 9) { /* an order id never seen */
        it_o[i] = 5 + (int64_t)pcg32_bounded(&g, 3);
        it_d[i] = (int64_t)pcg32_bounded(&g, (uint32_t)t->n_drivers);
      } else {
        it_bad[i] = 1;
        it_o[i] = it_d[i] = 0;
      }
      if (it_bad[i])
        len += (size_t)sprintf(line + len, "%s{\"order_id\":\"x\"}", i ? "," : "");
      else
        len += (size_t)sprintf(line + len, "%s{\"order_id\":%" PRId64 ",\"driver_id\":%" PRId64 "}",
                               i ? "," : "", it_o[i], it_d[i]);
    }
    len += (size_t)sprintf(line + len, "]}");
    int64_t before[SIM_AGENT_N_FAULTS];
    memcpy(before, F.p.counts.faults, sizeof before);
    int64_t acc0 = F.p.counts.pairs_accepted, drop0 = F.p.counts.pairs_dropped;
    sim_agent_proto_reply r;
    sim_agent_proto_parse(&r, line, len);
    ck_assert_int_eq(sim_agent_proto_envelope(&F.p, SIM_AGENT_REQ_DISPATCH, req, &r), 0);
    t->n_out = 0;
    int32_t acc = sim_agent_proto_dispatch_items(&F.p, t, req, &r);
    sim_agent_proto_end_reply(&F.p, SIM_AGENT_REQ_DISPATCH, req);
    sim_agent_proto_reply_free(&r);
    /* the reference */
    disp_assign want[P_ORDERS_MAX];
    int32_t n_want = 0;
    int64_t want_f[SIM_AGENT_N_FAULTS] = {0};
    int row_used[P_ORDERS_MAX] = {0}, drv_used[P_DRIVERS_MAX] = {0};
    for (int32_t i = 0; i < n_items; i++) {
      if (it_bad[i]) {
        want_f[SIM_AGENT_F_WRONG_TYPE]++;
        continue;
      }
      int32_t row = ref_row_of(t, it_o[i]);
      int64_t d = it_d[i];
      if (row < 0) want_f[SIM_AGENT_F_UNKNOWN_ORDER]++;
      else if (d < 0 || d >= t->n_drivers || !ref_offered_driver(t, d))
        want_f[SIM_AGENT_F_UNKNOWN_DRIVER]++;
      else if (!ref_pair(t, row, d)) want_f[SIM_AGENT_F_NOT_OFFERED]++;
      else if (row_used[row]) want_f[SIM_AGENT_F_DUP_ORDER]++;
      else if (drv_used[d]) want_f[SIM_AGENT_F_DUP_DRIVER]++;
      else {
        row_used[row] = drv_used[d] = 1;
        want[n_want].order = t->row_order[row];
        want[n_want++].driver = (int32_t)d;
      }
    }
    ck_assert_int_eq(acc, n_want);
    ck_assert_int_eq(t->n_out, n_want);
    for (int32_t i = 0; i < n_want; i++) {
      ck_assert_int_eq(t->out[i].order, want[i].order);
      ck_assert_int_eq(t->out[i].driver, want[i].driver);
    }
    int64_t dropped = 0;
    for (int f = 0; f < SIM_AGENT_N_FAULTS; f++) {
      ck_assert_msg(F.p.counts.faults[f] - before[f] == want_f[f], "fault %s: %" PRId64 " != %" PRId64,
                    sim_agent_fault_name(f), F.p.counts.faults[f] - before[f], want_f[f]);
      dropped += want_f[f];
    }
    ck_assert_int_eq(F.p.counts.pairs_accepted - acc0, n_want);
    ck_assert_int_eq(F.p.counts.pairs_dropped - drop0, dropped);
    free(line);
  }
  ck_assert_uint_ne(F.p.stamp, 0);
}
END_TEST

/* ------------------------------------------------------------ suite */

static TCase *tcase(Suite *s, const char *name, const TTest *test) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
  tcase_add_test(tc, test);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *agent_proto_suite(void) {
  Suite *s = suite_create("agent_proto");
  tcase(s, "fault_name", test_fault_names);
  tcase(s, "fault_what", test_fault_what);
  tcase(s, "error_name", test_error_name);
  tcase(s, "init", test_init);
  tcase(s, "close", test_close);
  tcase(s, "fault", test_fault);
  tcase(s, "end_reply", test_end_reply);
  tcase(s, "dispatch_observ", test_dispatch_observ);
  TCase *tc = tcase(s, "write_dispatch", test_write_dispatch);
  tcase_add_test(tc, test_write_dispatch_numbers);
  tcase(s, "repo_observ", test_repo_observ);
  tcase(s, "write_repo", test_write_repo);
  tcase(s, "write_init", test_write_init);
  tcase(s, "grid_id", test_grid_id);
  tcase(s, "parse", test_parse);
  tcase(s, "reply_free", test_reply_free);
  tcase(s, "envelope", test_envelope);
  tcase(s, "init_error", test_init_error);
  tc = tcase(s, "dispatch_items", test_dispatch_items);
  tcase_add_test(tc, test_dispatch_items_partial);
  tcase_add_test(tc, test_dispatch_items_cap);
  tc = tcase(s, "repo_items", test_repo_items);
  tcase_add_test(tc, test_repo_items_kdd);
  tcase(s, "accept_pair", test_accept_pair);
  tcase(s, "accept_move", test_accept_move);
  tc = tcase_create("property");
  tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
  tcase_add_loop_test(tc, test_property_random_replies, 0, 200);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(agent_proto_suite()); }

/*
 * test_field: cell factors (city_data/field.h), as a city carries them
 * (city.h: cell_factors, network_factors.cells) and as both travel models
 * drive them.
 *
 * The field against a naive reference: the points of a segment found by
 * stepping along it and looking each one's factor up by a linear scan; a
 * city's fields written and read back to the same bits, bad ones refused
 * with the field named. The great-circle model: every drive is the naive
 * line mean times the plain drive, the pickup the leg's, and the reach
 * bound holds on random pairs. The network: city_net_retime against a
 * network built from raw links whose times were multiplied by hand (the
 * same fastest drives), and the model of a city with network cells equal
 * to a Dijkstra over the retimed links plus the access legs; the factors'
 * network hash is the loaded network's; a scenario's factors drive free
 * flow; clearing the cells gives back the free-flow model's bits.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "city_data/city.h"
#include "city_data/field.h"
#include "city_data/travel.h"
#include "city_data/travel_net.h"
#include "tests/testutil.h"

/* A synthetic city with a field of n random cells around its centre. */
static void city_with_field(city_def *c, city_field *f, int n, pcg32 *r) {
  rs_err e;
  ck_assert_int_eq(city_def_builtin("synthetic", c, &e), 0);
  city_grid g;
  ck_assert_int_eq(city_def_grid(c, &g, &e), 0);
  int32_t cell[64];
  double k[64];
  int32_t centre = city_grid_point_index(&g, 0.5 * (c->min_lat + c->max_lat),
                                         0.5 * (c->min_lng + c->max_lng));
  ck_assert(n <= 64 && centre >= 0);
  for (int i = 0; i < n; i++) {
    int dup;
    do { /* cells within a few rows of the centre, no repeats */
      cell[i] = centre + (int32_t)pcg32_bounded(r, 9) - 4 +
                g.ncols * ((int32_t)pcg32_bounded(r, 9) - 4);
      dup = 0;
      for (int j = 0; j < i; j++) dup |= cell[j] == cell[i];
    } while (dup);
    k[i] = 0.5 + 1.5 * pcg32_double(r);
  }
  ck_assert_msg(city_def_set_field(c, f, cell, k, n, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(city_field_check(f), 0);
}

/* The naive factor of a point: a linear scan of the cells. */
static double naive_at(const city_field *f, double lat, double lng) {
  int32_t idx = city_grid_point_index(&f->grid, lat, lng);
  for (int32_t i = 0; i < f->n; i++)
    if (f->cell[i] == idx) return f->k[i];
  return 1.0;
}

/* The naive mean along a segment: N = ceil(len / edge) midpoints. */
static double naive_line(const city_field *f, double la1, double lo1, double la2, double lo2,
                         double len) {
  int n = len > f->grid.edge_m ? (int)ceil(len / f->grid.edge_m) : 1;
  double s = 0;
  for (int j = 0; j < n; j++) {
    double fr = (j + 0.5) / n;
    s += naive_at(f, la1 + fr * (la2 - la1), lo1 + fr * (lo2 - lo1));
  }
  return s / n;
}

typedef struct {
  int visits;
  double w;
} tally;

static void count_visit(void *ctx, int32_t cell, double w) {
  tally *t = ctx;
  (void)cell;
  t->visits++;
  t->w += w;
}

START_TEST(line_against_naive) {
  pcg32 r;
  pcg32_seed(&r, 21, (uint64_t)_i);
  city_def c;
  city_field f;
  city_with_field(&c, &f, 40, &r);
  double lo, hi;
  city_field_range(&f, &lo, &hi);
  for (int q = 0; q < 5000; q++) {
    double la1 = 39.98 + 0.04 * pcg32_double(&r), lo1 = -100.05 + 0.1 * pcg32_double(&r);
    double la2 = 39.98 + 0.04 * pcg32_double(&r), lo2 = -100.05 + 0.1 * pcg32_double(&r);
    double len = rs_geo_haversine_r(la1, lo1, la2, lo2, c.earth_radius_m);
    tally t = {0, 0};
    double k = city_field_line(&f, la1, lo1, la2, lo2, len, count_visit, &t);
    ck_assert(k == naive_line(&f, la1, lo1, la2, lo2, len) || fabs(k / naive_line(&f, la1, lo1,
                                                                   la2, lo2, len) - 1) < 1e-12);
    ck_assert(k >= lo && k <= hi);
    ck_assert_int_eq(t.visits, len > f.grid.edge_m ? (int)ceil(len / f.grid.edge_m) : 1);
    ck_assert(fabs(t.w - 1) < 1e-9);
    ck_assert(city_field_at(&f, la1, lo1) == naive_at(&f, la1, lo1));
  }
  /* an empty field: 1, nothing visited */
  city_field none = f;
  none.n = 0;
  tally t = {0, 0};
  ck_assert(city_field_line(&none, 40, -100, 40.01, -100, 1100, count_visit, &t) == 1.0);
  ck_assert_int_eq(t.visits, 0);
  city_field_range(&none, &lo, &hi);
  ck_assert(lo == 1.0 && hi == 1.0);
}
END_TEST

START_TEST(set_and_json) {
  pcg32 r;
  pcg32_seed(&r, 8, 1);
  city_def c;
  city_field f;
  rs_err e;
  city_with_field(&c, &f, 30, &r);
  c.cell_field = f;
  city_with_field(&c, &f, 12, &r); /* a second draw: another field on the same grid */
  c.net_field = f;
  c.net_have_factors = 1;
  for (int h = 0; h < 24; h++) c.net_factors[0][h] = c.net_factors[1][h] = 2.0 + h / 7.0;
  c.net_factors_hash = 0x1234567890abcdefull;
  /* written and read back to the same bits */
  cJSON *o = cJSON_CreateObject();
  ck_assert_int_eq(city_def_to_json(&c, o), 0);
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  city_def back;
  ck_assert_msg(city_def_parse(text, "t", &back, &e) == 0, "%s", e.msg);
  free(text);
  ck_assert(memcmp(&back, &c, sizeof c) == 0);
  /* set: sorted, checked */
  int32_t cell[3] = {40, 7, 19};
  double k[3] = {1.5, 0.5, 2.0};
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, 3, &e), 0);
  ck_assert(f.n == 3 && f.cell[0] == 7 && f.k[0] == 0.5 && f.cell[2] == 40 && f.k[2] == 1.5);
  city_field before = f;
  cell[1] = 40;
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, 3, &e), RS_EINVAL);
  ck_assert_msg(strstr(e.msg, "twice") != NULL, "%s", e.msg);
  cell[1] = -1;
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, 3, &e), RS_EINVAL);
  cell[1] = 7;
  k[1] = 5.0;
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, 3, &e), RS_EINVAL);
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, CITY_FIELD_MAX_CELLS + 1, &e), RS_EINVAL);
  ck_assert(memcmp(&f, &before, sizeof f) == 0);
  ck_assert_int_eq(city_def_set_field(&c, &f, cell, k, 0, &e), 0);
  ck_assert_int_eq(f.n, 0);
  /* parse errors name the field */
  const char *bad[] = {
      "\"cell_factors\": 3", "cell_factors: not an array of [cell, factor] pairs",
      "\"cell_factors\": [[1, 1], [2]]", "cell_factors[1]: not a [cell index, factor] pair",
      "\"cell_factors\": [[1.5, 1]]", "cell_factors[0]: not a [cell index, factor] pair",
      "\"cell_factors\": [[1, 1], [1, 2]]", "cell_factors: cell 1 appears twice",
      "\"cell_factors\": [[1, 0.1]]", "cell_factors: cell 1: factor 0.1 is not in [0.25, 4]",
      "\"cell_factors\": [[99999999, 1]]", "is not on the city's grid",
      "\"network_factors\": {\"weekday\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
      " \"weekend\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], \"cells\": [[0, 9]]}",
      "network_factors.cells: cell 0: factor 9",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i += 2) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"name\": \"x\", \"bbox\": {\"min_lat\": 40, \"min_lng\": -74, \"max_lat\": 40.1,"
             " \"max_lng\": -73.9}, \"hex_edge_m\": 600, \"utc_offset_minutes\": 0,"
             " \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5],"
             " \"detour_factor\": 1.3, \"fare\": {\"base\": 1, \"per_km\": 1, \"per_minute\": 0,"
             " \"minimum\": 1}, \"default_fleet\": 10, %s}",
             bad[i]);
    ck_assert_int_eq(city_def_parse(json, "t", &back, &e), RS_EFORMAT);
    ck_assert_msg(strstr(e.msg, bad[i + 1]) != NULL, "%s / %s", e.msg, bad[i + 1]);
  }
}
END_TEST

/* 2026-12-07 is a Monday. */
static int64_t monday(int h) {
  return rs_time_days_from_civil(2026, 12, 7) * 86400 + h * 3600;
}

START_TEST(gc_model) {
  pcg32 r;
  pcg32_seed(&r, 5, (uint64_t)_i);
  city_def c, plain;
  city_field f;
  city_with_field(&c, &f, 50, &r);
  plain = c;
  c.cell_field = f;
  city_travel tm, tp;
  city_travel_gc(&c, &tm);
  city_travel_gc(&plain, &tp);
  ck_assert(!tm.ops->gc_monotone && tp.ops->gc_monotone);
  for (int q = 0; q < 5000; q++) {
    city_loc a, b;
    city_travel_loc(&tm, 39.98 + 0.04 * pcg32_double(&r), -100.05 + 0.1 * pcg32_double(&r), &a);
    city_travel_loc(&tm, 39.98 + 0.04 * pcg32_double(&r), -100.05 + 0.1 * pcg32_double(&r), &b);
    int64_t t = monday((int)pcg32_bounded(&r, 24));
    city_leg l, lp, pu;
    city_travel_leg(&tm, &a, &b, t, &l);
    city_travel_leg(&tp, &a, &b, t, &lp);
    double gc = rs_geo_haversine_r(a.lat, a.lng, b.lat, b.lng, c.earth_radius_m);
    double k = naive_line(&f, a.lat, a.lng, b.lat, b.lng, gc);
    ck_assert(l.metres == lp.metres);
    ck_assert_msg(fabs(l.secs / (lp.secs * k) - 1) < 1e-12, "%g vs %g x %g", l.secs, lp.secs, k);
    city_travel_pickup(&tm, &a, &b, gc, t, &pu);
    ck_assert(pu.secs == l.secs && pu.metres == l.metres);
    ck_assert(city_travel_reach_m(&tm, l.secs, t) >= gc);
  }
}
END_TEST

/* The synthetic city's 40 x 40 grid network (100 m blocks), raw. */
static void grid_raw(const city_def *c, city_net_raw *raw) {
  rs_err e;
  city_net_grid_opts g;
  city_net_grid_defaults(&g);
  g.cols = g.rows = 40;
  g.lat0 = 0.5 * (c->min_lat + c->max_lat);
  g.lng0 = 0.5 * (c->min_lng + c->max_lng);
  g.seed = 3;
  ck_assert_int_eq(city_net_grid(&g, raw, &e), 0);
}

/* The mean factor of the link u -> v of net, as the model takes it. */
static double link_k(const city_field *f, const city_net *net, int32_t u, int32_t i) {
  int32_t v = net->head[i];
  return naive_line(f, net->lat[u], net->lng[u], net->lat[v], net->lng[v], net->length_m[i]);
}

START_TEST(retime) {
  rs_err e;
  pcg32 r;
  pcg32_seed(&r, 77, 2);
  city_def c;
  ck_assert_int_eq(city_def_builtin("synthetic", &c, &e), 0);
  city_net_raw raw;
  grid_raw(&c, &raw);
  city_net *net, *rt, *one;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  double *k = malloc((size_t)net->n_links * sizeof *k);
  for (int32_t i = 0; i < net->n_links; i++) k[i] = 1.0;
  /* factors of 1: the same network, to the bit */
  ck_assert_int_eq(city_net_retime(net, k, &one, &e), 0);
  ck_assert(one->hash == net->hash && one->t_unit_s == net->t_unit_s);
  ck_assert(memcmp(one->w, net->w, (size_t)net->n_links * sizeof *net->w) == 0);
  ck_assert(memcmp(one->rw, net->rw, (size_t)net->n_links * sizeof *net->rw) == 0);
  city_net_free(one);
  /* random factors: the fastest drives of a network whose raw link times
   * were multiplied by hand */
  /* (speeds stay plausible: the build would retime a link above 130 km/h) */
  for (int32_t i = 0; i < net->n_links; i++) k[i] = 0.8 + 2.5 * pcg32_double(&r);
  ck_assert_int_eq(city_net_retime(net, k, &rt, &e), 0);
  ck_assert_int_eq(city_net_check(rt), 0);
  ck_assert(rt->hash != net->hash && rt->n_nodes == net->n_nodes);
  city_net_raw r2 = raw;
  r2.time_s = malloc((size_t)raw.n_links * sizeof *r2.time_s);
  /* the raw link of each network link: same nodes by place */
  for (int64_t j = 0; j < raw.n_links; j++) r2.time_s[j] = NAN;
  for (int32_t u = 0; u < net->n_nodes; u++)
    for (int32_t i = net->first[u]; i < net->first[u + 1]; i++)
      for (int64_t j = 0; j < raw.n_links; j++)
        if (raw.lat[raw.src[j]] == net->lat[u] && raw.lng[raw.src[j]] == net->lng[u] &&
            raw.lat[raw.dst[j]] == net->lat[net->head[i]] &&
            raw.lng[raw.dst[j]] == net->lng[net->head[i]])
          r2.time_s[j] = net->time_s[i] * k[i];
  r2.speed_kmh = NULL;
  city_net *hand;
  ck_assert_int_eq(city_net_build(&r2, "hand", &hand, &e), 0);
  ck_assert_int_eq(hand->n_nodes, net->n_nodes);
  for (int32_t v = 0; v < net->n_nodes; v++)
    ck_assert(hand->lat[v] == net->lat[v] && hand->lng[v] == net->lng[v]);
  ck_assert(hand->t_unit_s == rt->t_unit_s);
  uint64_t *d1 = malloc((size_t)net->n_nodes * sizeof *d1);
  uint64_t *d2 = malloc((size_t)net->n_nodes * sizeof *d2);
  for (int s = 0; s < 5; s++) {
    int32_t src = (int32_t)pcg32_bounded(&r, (uint32_t)net->n_nodes);
    ck_assert_int_eq(city_net_dijkstra(rt, src, 0, d1, NULL), 0);
    ck_assert_int_eq(city_net_dijkstra(hand, src, 0, d2, NULL), 0);
    for (int32_t v = 0; v < net->n_nodes; v++) ck_assert(d1[v] >> 32 == d2[v] >> 32);
  }
  free(d1);
  free(d2);
  free(r2.time_s);
  city_net_free(hand);
  city_net_free(rt);
  /* a factor that is no number */
  k[3] = NAN;
  ck_assert_int_eq(city_net_retime(net, k, &rt, &e), RS_EINVAL);
  ck_assert_ptr_null(rt);
  free(k);
  city_net_free(net);
  city_net_raw_free(&raw);
}
END_TEST

START_TEST(net_model) {
  rs_err e;
  pcg32 r;
  pcg32_seed(&r, 9, 9);
  city_def c;
  city_field f;
  city_with_field(&c, &f, 30, &r);
  city_net_raw raw;
  grid_raw(&c, &raw);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  uint64_t hash = net->hash;
  c.net_have_factors = 1;
  for (int h = 0; h < 24; h++) c.net_factors[0][h] = c.net_factors[1][h] = 2.0 + 0.05 * h;
  c.net_factors_hash = hash;
  c.net_field = f;
  city_net_model_opts o;
  city_net_model_defaults(&o);
  o.cache_dir = "";
  city_travel tm, free_tm;
  ck_assert_msg(city_travel_net(&c, net, &o, &tm, &e) == 0, "%s", e.msg);
  ck_assert(city_travel_net_base(&tm)->hash == hash);
  ck_assert(city_travel_net_network(&tm)->hash != hash);
  ck_assert_int_eq(city_travel_net_field(&tm)->n, f.n);
  o.no_field = 1;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  ck_assert_int_eq(city_travel_net(&c, net, &o, &free_tm, &e), 0);
  ck_assert_int_eq(city_travel_net_field(&free_tm)->n, 0);
  ck_assert(city_travel_net_network(&free_tm)->hash == hash);
  /* drives: Dijkstra over links timed free flow x their factor, plus the
   * access legs */
  const city_net *base = city_travel_net_base(&tm), *rt = city_travel_net_network(&tm);
  for (int32_t u = 0; u < base->n_nodes; u++)
    for (int32_t i = base->first[u]; i < base->first[u + 1]; i++)
      ck_assert(fabs(rt->time_s[i] / (base->time_s[i] * link_k(&f, base, u, i)) - 1) < 1e-12);
  uint64_t *d = malloc((size_t)rt->n_nodes * sizeof *d);
  for (int q = 0; q < 300; q++) {
    city_loc a, b;
    double pad = 0.001;
    city_travel_loc(&tm, base->min_lat - pad + (base->max_lat - base->min_lat) * pcg32_double(&r),
                    base->min_lng - pad + (base->max_lng - base->min_lng) * pcg32_double(&r), &a);
    city_travel_loc(&tm, base->min_lat - pad + (base->max_lat - base->min_lat) * pcg32_double(&r),
                    base->min_lng - pad + (base->max_lng - base->min_lng) * pcg32_double(&r), &b);
    int64_t t = monday((int)pcg32_bounded(&r, 24));
    ck_assert_int_eq(city_net_dijkstra(rt, a.node, 0, d, NULL), 0);
    double v = city_def_speed(&c, t), fh = c.net_factors[0][rs_time_hour(t)];
    double acc = city_travel_net_access_m(&tm, &a) + city_travel_net_access_m(&tm, &b);
    city_leg l;
    city_travel_leg(&tm, &a, &b, t, &l);
    double want = acc / v + city_net_secs(rt, d[b.node]) * fh;
    /* the table rounds a drive to its unit */
    ck_assert_msg(fabs(l.secs - want) <= 0.5 * city_travel_net_table(&tm)->q_t * fh + 1e-9,
                  "%g vs %g", l.secs, want);
    ck_assert(fabs(l.metres - (acc + city_net_metres(rt, d[b.node]))) <=
              city_travel_net_table(&tm)->q_m + 1e-9);
  }
  free(d);
  /* cleared: the free-flow model's bits; set again: the first model's */
  city_field cleared = f;
  cleared.n = 0;
  ck_assert_int_eq(city_travel_net_set_field(&tm, &cleared, 1, &e), 0);
  ck_assert(city_travel_net_network(&tm)->hash == hash);
  for (int q = 0; q < 200; q++) {
    city_loc a, b;
    city_travel_loc(&tm, base->min_lat + 0.01 * pcg32_double(&r),
                    base->min_lng + 0.01 * pcg32_double(&r), &a);
    city_travel_loc(&tm, base->min_lat + 0.02 * pcg32_double(&r),
                    base->min_lng + 0.02 * pcg32_double(&r), &b);
    city_leg l1, l2;
    city_travel_leg(&tm, &a, &b, monday(8), &l1);
    city_travel_leg(&free_tm, &a, &b, monday(8), &l2);
    ck_assert(l1.secs == l2.secs && l1.metres == l2.metres);
  }
  city_field bad = f;
  bad.k[0] = 99;
  ck_assert_int_eq(city_travel_net_set_field(&tm, &bad, 1, &e), RS_EINVAL);
  city_travel gc;
  city_travel_gc(&c, &gc);
  ck_assert_int_eq(city_travel_net_set_field(&gc, &f, 1, &e), RS_EINVAL);
  ck_assert_ptr_null(city_travel_net_base(&gc));
  city_travel_free(&free_tm);
  /* a scenario's factors: free flow, whatever cells the city has */
  city_net_model_defaults(&o);
  o.cache_dir = "";
  o.have_factors = 1;
  for (int h = 0; h < 24; h++) o.factors[0][h] = o.factors[1][h] = 3.0;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  ck_assert_int_eq(city_travel_net(&c, net, &o, &free_tm, &e), 0);
  ck_assert_int_eq(city_travel_net_field(&free_tm)->n, 0);
  city_travel_free(&free_tm);
  city_travel_free(&tm);
  city_net_raw_free(&raw);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("field");
  TCase *tc = tcase_create("field");
  tcase_add_loop_test(tc, line_against_naive, 0, 3);
  tcase_add_test(tc, set_and_json);
  suite_add_tcase(s, tc);
  tc = tcase_create("models");
  tcase_add_loop_test(tc, gc_model, 0, 2);
  tcase_add_test(tc, retime);
  tcase_add_test(tc, net_model);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

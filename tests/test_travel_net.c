/*
 * test_travel_net: the road-network travel model (city_data/travel_net.h)
 * and the candidate graph it ranks (dispatch/candidates.h).
 *
 * On synthetic grid networks around the synthetic city: drives equal the
 * access legs plus the network drive (table and hub labels agree within the
 * table's rounding), a recorded length keeps the drive's pace, factors
 * apply by hour and day type, positions run from a drive's start to its
 * end along real links with the metres growing, the reach bound holds on
 * random pairs, and the candidate graph equals a brute-force ranking of
 * every driver within the radius by (pickup time, driver), its distances
 * the drives' road metres.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pcg32.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"
#include "city_data/travel_net.h"
#include "dispatch/candidates.h"
#include "tests/testutil.h"

/* A synthetic city and a 40 x 40 grid network (100 m blocks) over its
 * centre, modelled with the table (table = 1) or hub labels (0). */
typedef struct {
  city_def city;
  city_travel tm;
} model;

static void model_make(model *m, int table, int jitter_seed, const city_net_model_opts *given) {
  rs_err e;
  ck_assert_int_eq(city_def_builtin("synthetic", &m->city, &e), 0);
  city_net_grid_opts g;
  city_net_grid_defaults(&g);
  g.cols = g.rows = 40;
  g.lat0 = 0.5 * (m->city.min_lat + m->city.max_lat);
  g.lng0 = 0.5 * (m->city.min_lng + m->city.max_lng);
  g.seed = (uint64_t)jitter_seed;
  city_net_raw raw;
  ck_assert_int_eq(city_net_grid(&g, &raw, &e), 0);
  city_net *net;
  ck_assert_int_eq(city_net_build(&raw, "grid", &net, &e), 0);
  city_net_raw_free(&raw);
  city_net_model_opts o;
  if (given != NULL) o = *given;
  else city_net_model_defaults(&o);
  o.cache_dir = "";
  o.table = table ? CITY_NET_TABLE_ALWAYS : CITY_NET_TABLE_NEVER;
  ck_assert_msg(city_travel_net(&m->city, net, &o, &m->tm, &e) == 0, "%s", e.msg);
}

/* A random point over the network and a little beyond its edge. */
static void random_point(const city_net *net, pcg32 *r, double *lat, double *lng) {
  double pad = 0.002;
  *lat = net->min_lat - pad + (net->max_lat - net->min_lat + 2 * pad) * pcg32_double(r);
  *lng = net->min_lng - pad + (net->max_lng - net->min_lng + 2 * pad) * pcg32_double(r);
}

/* 2026-12-07 is a Monday: its 09:00, and the Saturday's. */
static int64_t monday_9(void) {
  return rs_time_days_from_civil(2026, 12, 7) * 86400 + 9 * 3600;
}

START_TEST(drives) {
  model mt, mh;
  model_make(&mt, 1, 5, NULL);
  model_make(&mh, 0, 5, NULL);
  const city_net *net = city_travel_net_network(&mt.tm);
  const city_net_table *tab = city_travel_net_table(&mt.tm);
  ck_assert_ptr_nonnull(tab);
  ck_assert_ptr_null(city_travel_net_table(&mh.tm));
  ck_assert(!mt.tm.ops->gc_monotone && mt.tm.ops->nodes);
  int64_t t = monday_9();
  double f = city_travel_net_factor(&mt.tm, t), v = city_def_speed(&mt.city, t);
  /* default factor: the median link at the city's speed */
  ck_assert(fabs(f - net->st.median_kmh / 3.6 / v) < 1e-12);
  pcg32 r;
  pcg32_seed(&r, 1, 1);
  for (int q = 0; q < 3000; q++) {
    city_loc a, b;
    double la, lo;
    random_point(net, &r, &la, &lo);
    city_travel_loc(&mt.tm, la, lo, &a);
    random_point(net, &r, &la, &lo);
    city_travel_loc(&mt.tm, la, lo, &b);
    double da, db;
    ck_assert_int_eq(a.node, city_net_snap(net, a.lat, a.lng, &da));
    ck_assert_int_eq(b.node, city_net_snap(net, b.lat, b.lng, &db));
    city_leg lt, lh, lp;
    city_travel_leg(&mt.tm, &a, &b, t, &lt);
    city_travel_leg(&mh.tm, &a, &b, t, &lh);
    city_travel_pickup(&mt.tm, &a, &b, 123.0, t, &lp);
    ck_assert(lp.secs == lt.secs && lp.metres == lt.metres);
    /* the parts: access legs (straight metres within a metre of the great
     * circle's) plus the network drive */
    uint32_t c = city_net_table_cell(tab, a.node, b.node);
    double acc = lt.metres - city_net_table_metres(tab, c);
    ck_assert(fabs(acc - (da + db)) < 0.05 + 1e-3 * (da + db));
    ck_assert(fabs(lt.secs - (acc / v + city_net_table_secs(tab, c) * f)) < 1e-6);
    /* table and labels agree within the table's rounding */
    ck_assert(fabs(lt.secs - lh.secs) <= 0.5 * tab->q_t * f + 1e-9);
    ck_assert(fabs(lt.metres - lh.metres) <= 0.5 * tab->q_m + 1e-9);
    /* a recorded length keeps the drive's pace */
    city_leg lk;
    mt.tm.ops->leg(mt.tm.ctx, &a, &b, t, 2 * lt.metres + 10, &lk);
    ck_assert(lk.metres == 2 * lt.metres + 10);
    if (lt.metres > 0) ck_assert(fabs(lk.secs / lk.metres - lt.secs / lt.metres) < 1e-12);
  }
  city_travel_free(&mt.tm);
  city_travel_free(&mh.tm);
}
END_TEST

START_TEST(factors) {
  city_net_model_opts o;
  city_net_model_defaults(&o);
  o.have_factors = 1;
  for (int h = 0; h < 24; h++) {
    o.factors[0][h] = 1.0 + h / 10.0;
    o.factors[1][h] = 2.0 + h / 10.0;
  }
  model m;
  model_make(&m, 1, 2, &o);
  int64_t mon = monday_9(), sat = mon + 5 * 86400;
  ck_assert(city_travel_net_factor(&m.tm, mon) == 1.9);
  ck_assert(city_travel_net_factor(&m.tm, sat) == 2.9);
  ck_assert(city_travel_net_factor(&m.tm, sat + 3 * 3600 + 59) == 3.2);
  /* node to node, the drive is the free-flow one times the factor */
  const city_net *net = city_travel_net_network(&m.tm);
  const city_net_table *tab = city_travel_net_table(&m.tm);
  city_loc a = {net->lat[10], net->lng[10], 10}, b = {net->lat[1500], net->lng[1500], 1500};
  city_leg l1, l2;
  city_travel_leg(&m.tm, &a, &b, mon, &l1);
  city_travel_leg(&m.tm, &a, &b, sat, &l2);
  double ff = city_net_table_secs(tab, city_net_table_cell(tab, 10, 1500));
  ck_assert(fabs(l1.secs - 1.9 * ff) < 1e-9 && fabs(l2.secs - 2.9 * ff) < 1e-9);
  city_travel_free(&m.tm);
  /* a bad factor is refused */
  o.factors[1][5] = 0;
  city_def city;
  rs_err e;
  ck_assert_int_eq(city_def_builtin("synthetic", &city, &e), 0);
  city_net_grid_opts g;
  city_net_grid_defaults(&g);
  g.cols = g.rows = 5;
  city_net_raw raw;
  city_net_grid(&g, &raw, &e);
  city_net *net2;
  ck_assert_int_eq(city_net_build(&raw, "g", &net2, &e), 0);
  city_net_raw_free(&raw);
  city_travel tm;
  o.cache_dir = "";
  ck_assert_int_eq(city_travel_net(&city, net2, &o, &tm, &e), RS_EINVAL);
  ck_assert_str_eq(e.msg, "road network: speed factor of weekend hour 5: 0 is not a positive number");
}
END_TEST

START_TEST(positions) {
  model m;
  model_make(&m, _i % 2, 3 + _i, NULL);
  const city_net *net = city_travel_net_network(&m.tm);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 2);
  int64_t t0 = monday_9();
  for (int q = 0; q < 300; q++) {
    city_loc a, b;
    double la, lo;
    random_point(net, &r, &la, &lo);
    city_travel_loc(&m.tm, la, lo, &a);
    random_point(net, &r, &la, &lo);
    city_travel_loc(&m.tm, la, lo, &b);
    city_leg leg;
    city_travel_leg(&m.tm, &a, &b, t0, &leg);
    int64_t t1 = t0 + (int64_t)ceil(leg.secs);
    city_loc at;
    double driven, last = -1;
    city_travel_position(&m.tm, &a, &b, t0, t1, t0, &at, &driven);
    ck_assert(at.lat == a.lat && at.lng == a.lng && driven == 0);
    for (int64_t t = t0; t <= t1; t += 1 + (t1 - t0) / 25) {
      city_travel_position(&m.tm, &a, &b, t0, t1, t, &at, &driven);
      ck_assert(driven >= last - 1e-9);
      ck_assert(driven <= leg.metres + 1.0);
      ck_assert(at.node >= 0 && at.node < net->n_nodes);
      /* its next node lies within the metres left (or, on the last
       * stretch, is the one it left for b) */
      double to_node = rs_geo_haversine(at.lat, at.lng, net->lat[at.node], net->lng[at.node]);
      double bm = rs_geo_haversine(b.lat, b.lng, net->lat[b.node], net->lng[b.node]);
      ck_assert(to_node <= leg.metres - driven + bm + 2.0 + 0.01 * leg.metres);
      last = driven;
    }
    city_travel_position(&m.tm, &a, &b, t0, t1, t1, &at, &driven);
    ck_assert(fabs(at.lat - b.lat) < 1e-12 && fabs(at.lng - b.lng) < 1e-12);
    ck_assert(fabs(driven - leg.metres) < 0.5 + 1e-6 * leg.metres); /* table rounding */
  }
  city_travel_free(&m.tm);
}
END_TEST

START_TEST(reach_bound) {
  model m;
  model_make(&m, _i, 9, NULL);
  const city_net *net = city_travel_net_network(&m.tm);
  pcg32 r;
  pcg32_seed(&r, 4, 4);
  for (int q = 0; q < 20000; q++) {
    city_loc a, b;
    double la, lo;
    random_point(net, &r, &la, &lo);
    city_travel_loc(&m.tm, la, lo, &a);
    random_point(net, &r, &la, &lo);
    city_travel_loc(&m.tm, la, lo, &b);
    int64_t t = monday_9() + (int64_t)pcg32_bounded(&r, 7 * 86400);
    city_leg l;
    city_travel_pickup(&m.tm, &a, &b, 0, t, &l);
    double gc = rs_geo_haversine_r(a.lat, a.lng, b.lat, b.lng, m.city.earth_radius_m);
    ck_assert_msg(city_travel_reach_m(&m.tm, l.secs, t) >= gc, "%g s cover %g m, reach %g",
                  l.secs, gc, city_travel_reach_m(&m.tm, l.secs, t));
  }
  city_travel_free(&m.tm);
}
END_TEST

/* ------------------------------------------------------------ candidates */

typedef struct {
  int32_t d;
  double eta;
  double m; /* road metres of the pickup drive */
} cand;

static int cand_cmp(const void *pa, const void *pb) {
  const cand *a = pa, *b = pb;
  if (a->eta != b->eta) return a->eta < b->eta ? -1 : 1;
  return a->d < b->d ? -1 : a->d > b->d;
}

START_TEST(candidates_by_eta) {
  model m;
  model_make(&m, 1, 6, NULL);
  const city_net *net = city_travel_net_network(&m.tm);
  city_grid grid;
  rs_err e;
  ck_assert_int_eq(city_def_grid(&m.city, &grid, &e), 0);
  pcg32 r;
  pcg32_seed(&r, (uint64_t)_i, 8);
  int32_t nd = 400, no = 60;
  disp_driver *dr = calloc((size_t)nd, sizeof *dr);
  disp_order *od = calloc((size_t)no, sizeof *od);
  disp_index *x = disp_index_new(&m.tm, &grid, nd);
  for (int32_t d = 0; d < nd; d++) {
    double la, lo;
    random_point(net, &r, &la, &lo);
    dr[d].lat = la;
    dr[d].lng = lo;
    rs_unit_vector(la, lo, dr[d].u);
    dr[d].cell = city_grid_point_index(&grid, la, lo);
    dr[d].node = city_travel_snap(&m.tm, la, lo);
    dr[d].state = DISP_IDLE;
    /* several drivers on one node: ties on time the index breaks */
    if (d % 9 == 1) {
      dr[d] = dr[d - 1];
    }
    ck_assert_int_eq(disp_index_add(x, d, dr[d].cell, dr[d].u), 0);
  }
  int32_t *rows = malloc((size_t)no * sizeof *rows);
  uint8_t *fresh_only = calloc((size_t)no, 1);
  int32_t fresh[50];
  for (int i = 0; i < 50; i++) fresh[i] = 7 * i + (int32_t)pcg32_bounded(&r, 7); /* distinct */
  for (int32_t o = 0; o < no; o++) {
    double la, lo;
    random_point(net, &r, &la, &lo);
    od[o].plat = la;
    od[o].plng = lo;
    rs_unit_vector(la, lo, od[o].pu);
    od[o].pcell = city_grid_point_index(&grid, la, lo);
    od[o].pnode = city_travel_snap(&m.tm, la, lo);
    rows[o] = o;
    fresh_only[o] = o % 4 == 3;
  }
  int64_t now = monday_9();
  static const int32_t ks[] = {1, 3, 32};
  static const double radii[] = {800, 2000};
  cand *all = malloc((size_t)nd * sizeof *all);
  for (size_t ki = 0; ki < 3; ki++)
    for (size_t ri = 0; ri < 2; ri++) {
      disp_tick tick;
      memset(&tick, 0, sizeof tick);
      int32_t k = ks[ki];
      double radius = radii[ri];
      ck_assert_int_eq(disp_index_candidates(x, od, dr, rows, no, fresh_only, fresh, 50, radius,
                                             k, 0, now, &tick, &e),
                       0);
      for (int32_t o = 0; o < no; o++) {
        /* brute force: every driver within the radius (the fresh ones for
         * a fresh-only row), by (pickup time, index) */
        int32_t n = 0;
        const city_loc pu = disp_order_pickup(&od[o]);
        for (int32_t d = 0; d < nd; d++) {
          if (fresh_only[o]) {
            int in = 0;
            for (int i = 0; i < 50; i++) in |= fresh[i] == d;
            if (!in) continue;
          }
          double c2 = rs_chord2(dr[d].u, od[o].pu);
          if (c2 > rs_m_to_chord2(radius, m.city.earth_radius_m) * (1 + 1e-9)) continue;
          const city_loc dl = disp_driver_loc(&dr[d]);
          city_leg l;
          city_travel_pickup(&m.tm, &dl, &pu, 0, now, &l);
          all[n].d = d;
          all[n].eta = l.secs;
          all[n].m = l.metres;
          n++;
        }
        qsort(all, (size_t)n, sizeof *all, cand_cmp);
        int32_t want = n < k ? n : k;
        int32_t lo = tick.row_ptr[o], hi = tick.row_ptr[o + 1];
        ck_assert_int_eq(hi - lo, want);
        for (int32_t i = 0; i < want; i++) {
          ck_assert_int_eq(tick.edge_driver[lo + i], all[i].d);
          ck_assert(tick.edge_eta[lo + i] == all[i].eta);
          /* the edge's distance is the pickup drive's road metres
           * (city_travel_pickup_m), not its great-circle metres */
          ck_assert(tick.edge_dist[lo + i] == all[i].m);
          double gc = rs_chord2_m(rs_chord2(dr[all[i].d].u, od[o].pu), m.city.earth_radius_m);
          ck_assert(tick.edge_dist[lo + i] >= gc - 1e-6);
        }
      }
    }
  free(all);
  free(rows);
  free(fresh_only);
  disp_index_free(x);
  free(dr);
  free(od);
  city_travel_free(&m.tm);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("travel_net");
  TCase *tc = tcase_create("leg");
  tcase_add_test(tc, drives);
  tcase_add_test(tc, factors);
  suite_add_tcase(s, tc);
  tc = tcase_create("position");
  tcase_add_loop_test(tc, positions, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("reach");
  tcase_add_loop_test(tc, reach_bound, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("candidates");
  tcase_add_loop_test(tc, candidates_by_eta, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }

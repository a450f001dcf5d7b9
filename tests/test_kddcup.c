/*
 * test_kddcup: the KDD Cup 2020 side-file readers (city_data/kddcup.h), on
 * the shared grid table and on crafted bad files. The nearest-cell lookup
 * is compared with a brute-force scan over random points.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data/kddcup.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  if (tmpdir[0] == '\0') ck_assert_ptr_nonnull(test_tmpdir(tmpdir, sizeof tmpdir));
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* A tiny grid: three hexagon-ish cells around (30.0, 104.0). */
static const char *GRID3 =
    "aaa,104.001,30.000,104.0005,30.001,103.9995,30.001,103.999,30.000,103.9995,29.999,104.0005,29.999\n"
    "bbb,104.011,30.000,104.0105,30.001,104.0095,30.001,104.009,30.000,104.0095,29.999,104.0105,29.999\n"
    "ccc,104.001,30.010,104.0005,30.011,103.9995,30.011,103.999,30.010,103.9995,30.009,104.0005,30.009\n";

static city_kdd_grid *load_grid3(void) {
  city_kdd_grid *g;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_grid_load(write_file("grid3.csv", GRID3), &g, &e), 0);
  return g;
}

/* ---------------------------------------------------------- grid_load */

START_TEST(grid_shared_table) {
  char path[1024];
  if (test_data_path(path, sizeof path, "kddcup2020/hexagon_grid_table.csv") == NULL) return;
  city_kdd_grid *g;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_grid_load(path, &g, &e), 0);
  ck_assert_int_eq(city_kdd_grid_size(g), 8518);
  const city_kdd_skips *sk = city_kdd_grid_skips(g);
  ck_assert_int_eq(sk->n, 1);
  ck_assert_int_eq(sk->first[0].line, 4184);
  ck_assert_ptr_nonnull(strstr(sk->first[0].reason, "expected 13 fields"));
  int32_t i = city_kdd_grid_find(g, "c151c79af5585f6a");
  ck_assert_int_ge(i, 0);
  const city_kdd_cell *c = city_kdd_grid_cell(g, i);
  ck_assert_double_eq_tol(c->vlng[0], 104.46545, 1e-9);
  ck_assert_double_eq_tol(c->vlat[5], 30.87316, 1e-9);
  /* the centre is the vertices' mean and the cell is nearest to it */
  ck_assert_double_eq_tol(c->lat, (30.87166 + 30.87584 + 30.88151 + 30.88301 + 30.87883 + 30.87316) / 6,
                          1e-9);
  ck_assert_int_eq(city_kdd_grid_nearest(g, c->lat, c->lng), i);
  /* the malformed line's id is not a cell */
  ck_assert_int_eq(city_kdd_grid_find(g, "2ea23975700ec852"), -1);
  /* the ids of the official repositioning sample are cells */
  ck_assert_int_ge(city_kdd_grid_find(g, "8f2a0ba14e0965b7"), 0);
  ck_assert_int_ge(city_kdd_grid_find(g, "d8ce6475afb7dcf6"), 0);
  city_kdd_grid_free(g);
}
END_TEST

START_TEST(grid_bad_files) {
  city_kdd_grid *g = NULL;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_grid_load("/nonexistent/grid.csv", &g, &e), RS_ENOENT);
  ck_assert_ptr_null(g);
  ck_assert_int_eq(city_kdd_grid_load(write_file("empty.csv", ""), &g, &e), RS_EFORMAT);
  ck_assert_int_eq(city_kdd_grid_load(write_file("junk.csv", "not,a,grid\n\x01\x02\x03\n"), &g, &e),
                   RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "no valid grid line"));
  /* good lines survive bad ones; each bad one is named with its line */
  char text[4096];
  snprintf(text, sizeof text,
           "%s"
           "ddd,104.0,30.0,x,30.0,104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0\n"
           "\n"
           "eee,104.0,30.0\n"
           "aaa,1,1,1,1,1,1,1,1,1,1,1,1\n"
           "fff,104.0,95.0,104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0\n"
           ",104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0,104.0,30.0\n"
           "ggg,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n",
           GRID3);
  ck_assert_int_eq(city_kdd_grid_load(write_file("mixed.csv", text), &g, &e), 0);
  ck_assert_int_eq(city_kdd_grid_size(g), 3);
  const city_kdd_skips *sk = city_kdd_grid_skips(g);
  ck_assert_int_eq(sk->n, 6);
  int64_t lines[6];
  for (int i = 0; i < 6; i++) lines[i] = sk->first[i].line;
  /* reading order first (4, 6, 8, 9, 10), then the duplicate found when sorting (7) */
  ck_assert_int_eq(lines[0], 4);
  ck_assert_ptr_nonnull(strstr(sk->first[0].reason, "vertex 2"));
  ck_assert_int_eq(lines[1], 6);
  ck_assert_int_eq(lines[2], 8);
  ck_assert_ptr_nonnull(strstr(sk->first[2].reason, "out of range"));
  ck_assert_int_eq(lines[3], 9);
  ck_assert_int_eq(lines[4], 10);
  ck_assert_int_eq(lines[5], 7);
  ck_assert_ptr_nonnull(strstr(sk->first[5].reason, "duplicate grid_id aaa"));
  /* the first 'aaa' was kept */
  ck_assert_double_eq_tol(city_kdd_grid_cell(g, city_kdd_grid_find(g, "aaa"))->lat, 30.0, 1e-6);
  city_kdd_grid_free(g);
}
END_TEST

/* ---------------------------------------------------- find / nearest */

START_TEST(grid_find) {
  city_kdd_grid *g = load_grid3();
  ck_assert_int_eq(city_kdd_grid_find(g, "aaa"), 0);
  ck_assert_int_eq(city_kdd_grid_find(g, "bbb"), 1);
  ck_assert_int_eq(city_kdd_grid_find(g, "ccc"), 2);
  ck_assert_int_eq(city_kdd_grid_find(g, "abc"), -1);
  ck_assert_int_eq(city_kdd_grid_find(g, ""), -1);
  ck_assert_ptr_null(city_kdd_grid_cell(g, 3));
  ck_assert_ptr_null(city_kdd_grid_cell(g, -1));
  city_kdd_grid_free(g);
}
END_TEST

START_TEST(grid_nearest_small) {
  city_kdd_grid *g = load_grid3();
  ck_assert_int_eq(city_kdd_grid_nearest(g, 30.0, 104.0), 0);
  ck_assert_int_eq(city_kdd_grid_nearest(g, 30.0, 104.009), 1);
  ck_assert_int_eq(city_kdd_grid_nearest(g, 30.009, 104.0), 2);
  /* far outside: still the nearest */
  ck_assert_int_eq(city_kdd_grid_nearest(g, 40.7, -74.0), 2); /* ccc lies north of aaa */
  ck_assert_int_eq(city_kdd_grid_nearest(g, 31.0, 104.0), 2);
  ck_assert_int_eq(city_kdd_grid_nearest(g, 30.0, 110.0), 1);
  city_kdd_grid_free(g);
}
END_TEST

/* Against a brute-force scan, on the shared table, over random points in
 * and around the city. */
START_TEST(grid_nearest_vs_brute) {
  char path[1024];
  if (test_data_path(path, sizeof path, "kddcup2020/hexagon_grid_table.csv") == NULL) return;
  city_kdd_grid *g;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_grid_load(path, &g, &e), 0);
  int32_t n = city_kdd_grid_size(g);
  double lo_lat = 90, hi_lat = -90, lo_lng = 180, hi_lng = -180;
  for (int32_t i = 0; i < n; i++) {
    const city_kdd_cell *c = city_kdd_grid_cell(g, i);
    lo_lat = fmin(lo_lat, c->lat);
    hi_lat = fmax(hi_lat, c->lat);
    lo_lng = fmin(lo_lng, c->lng);
    hi_lng = fmax(hi_lng, c->lng);
  }
  double cl = cos((lo_lat + hi_lat) / 2 * 3.14159265358979323846 / 180.0);
  pcg32 rng;
  pcg32_stream(&rng, 42, 1);
  for (int it = 0; it < 1000; it++) {
    double lat = lo_lat - 0.1 + pcg32_double(&rng) * (hi_lat - lo_lat + 0.2);
    double lng = lo_lng - 0.1 + pcg32_double(&rng) * (hi_lng - lo_lng + 0.2);
    int32_t best = -1;
    double bd = INFINITY;
    for (int32_t i = 0; i < n; i++) {
      const city_kdd_cell *c = city_kdd_grid_cell(g, i);
      double dx = (c->lng - lng) * cl, dy = c->lat - lat, d = dx * dx + dy * dy;
      if (d < bd) {
        bd = d;
        best = i;
      }
    }
    ck_assert_int_eq(city_kdd_grid_nearest(g, lat, lng), best);
  }
  city_kdd_grid_free(g);
}
END_TEST

/* -------------------------------------------------------- idle table */

START_TEST(idle_load_and_sample) {
  city_kdd_grid *g = load_grid3();
  const char *p = write_file("idle.csv",
                             "8,aaa,bbb,0.25\n"
                             "8,aaa,ccc,0.75\n"
                             "8,bbb,bbb,1\n"
                             "24,aaa,bbb,0.5\n"          /* hour out of range */
                             "9,zzz,aaa,0.5\n"           /* unknown origin */
                             "9,aaa,zzz,0.5\n"           /* unknown dest */
                             "9,aaa,bbb,1.5\n"           /* prob out of range */
                             "9,aaa,bbb\n"               /* too few fields */
                             "x,aaa,bbb,0.5\n");         /* hour not a number */
  city_kdd_idle *t;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_idle_load(p, g, &t, &e), 0);
  ck_assert_int_eq(city_kdd_idle_rows(t), 3);
  const city_kdd_skips *sk = city_kdd_idle_skips(t);
  ck_assert_int_eq(sk->n, 6);
  ck_assert_int_eq(sk->first[0].line, 4);
  ck_assert_ptr_nonnull(strstr(sk->first[1].reason, "origin_grid zzz"));
  ck_assert_ptr_nonnull(strstr(sk->first[2].reason, "dest_grid zzz"));
  ck_assert_int_eq(sk->first[5].line, 9);
  int32_t a = city_kdd_grid_find(g, "aaa"), b = city_kdd_grid_find(g, "bbb"),
          c = city_kdd_grid_find(g, "ccc");
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, a, 0.0), b);
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, a, 0.2499), b);
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, a, 0.25), c);
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, a, 0.999999), c);
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, b, 0.5), b);
  /* no row: stay */
  ck_assert_int_eq(city_kdd_idle_sample(t, 9, a, 0.5), a);
  ck_assert_int_eq(city_kdd_idle_sample(t, 8, c, 0.5), c);
  ck_assert_int_eq(city_kdd_idle_sample(t, 30, a, 0.5), a);
  /* frequencies follow the probabilities */
  pcg32 rng;
  pcg32_stream(&rng, 3, 3);
  int hits = 0;
  for (int i = 0; i < 20000; i++) hits += city_kdd_idle_sample(t, 8, a, pcg32_double(&rng)) == c;
  ck_assert_int_gt(hits, 14700);
  ck_assert_int_lt(hits, 15300);
  city_kdd_idle_free(t);
  ck_assert_int_eq(city_kdd_idle_load(write_file("idle_bad.csv", "1,2\n"), g, &t, &e), RS_EFORMAT);
  ck_assert_int_eq(city_kdd_idle_load("/nonexistent/idle.csv", g, &t, &e), RS_ENOENT);
  city_kdd_grid_free(g);
}
END_TEST

/* ------------------------------------------------------ cancel table */

START_TEST(cancel_load_and_interpolate) {
  const char *p = write_file(
      "cancel.csv",
      "17,0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08,0.09,0.10\n"
      "5,0,0,0,0,0,0,0,0,0,1\n"
      "17,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5\n"   /* duplicate: the first kept */
      "6,0.1,0.2\n"                                     /* too few fields */
      "7,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.1\n"     /* p2000 > 1 */
      "8.5,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1\n"     /* id not an integer */
      "9,0.1,0.2,0.3,nan,0.5,0.6,0.7,0.8,0.9,1\n");     /* not a number */
  city_kdd_cancel *t;
  rs_err e;
  rs_err_clear(&e);
  ck_assert_int_eq(city_kdd_cancel_load(p, &t, &e), 0);
  ck_assert_int_eq(city_kdd_cancel_rows(t), 2);
  const city_kdd_skips *sk = city_kdd_cancel_skips(t);
  ck_assert_int_eq(sk->n, 5);
  ck_assert_int_eq(sk->first[0].line, 4);
  ck_assert_ptr_nonnull(strstr(sk->first[1].reason, "p2000"));
  ck_assert_int_eq(sk->first[4].line, 3);
  ck_assert_ptr_nonnull(strstr(sk->first[4].reason, "duplicate order_id 17"));
  double q = -1;
  ck_assert_int_eq(city_kdd_cancel_p(t, 17, 200, &q), 1);
  ck_assert_double_eq_tol(q, 0.01, 1e-12);
  ck_assert_int_eq(city_kdd_cancel_p(t, 17, 50, &q), 1);
  ck_assert_double_eq_tol(q, 0.01, 1e-12);
  ck_assert_int_eq(city_kdd_cancel_p(t, 17, 300, &q), 1);
  ck_assert_double_eq_tol(q, 0.015, 1e-12);
  ck_assert_int_eq(city_kdd_cancel_p(t, 17, 2000, &q), 1);
  ck_assert_double_eq_tol(q, 0.10, 1e-12);
  ck_assert_int_eq(city_kdd_cancel_p(t, 17, 5000, &q), 1);
  ck_assert_double_eq_tol(q, 0.10, 1e-12);
  ck_assert_int_eq(city_kdd_cancel_p(t, 5, 1900, &q), 1);
  ck_assert_double_eq_tol(q, 0.5, 1e-12);
  q = -1;
  ck_assert_int_eq(city_kdd_cancel_p(t, 6, 500, &q), 0);
  ck_assert(q == -1);
  city_kdd_cancel_free(t);
  ck_assert_int_eq(city_kdd_cancel_load(write_file("c_empty.csv", "\n\n"), &t, &e), RS_EFORMAT);
  ck_assert_int_eq(city_kdd_cancel_load("/nonexistent/c.csv", &t, &e), RS_ENOENT);
}
END_TEST

static Suite *kddcup_suite(void) {
  Suite *s = suite_create("kddcup");
  TCase *tc = tcase_create("grid_load");
  tcase_add_test(tc, grid_shared_table);
  tcase_add_test(tc, grid_bad_files);
  suite_add_tcase(s, tc);
  tc = tcase_create("grid_find");
  tcase_add_test(tc, grid_find);
  suite_add_tcase(s, tc);
  tc = tcase_create("grid_nearest");
  tcase_add_test(tc, grid_nearest_small);
  tcase_add_test(tc, grid_nearest_vs_brute);
  suite_add_tcase(s, tc);
  tc = tcase_create("idle");
  tcase_add_test(tc, idle_load_and_sample);
  suite_add_tcase(s, tc);
  tc = tcase_create("cancel");
  tcase_add_test(tc, cancel_load_and_interpolate);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  test_data_dir(); /* fails early when the data is required and missing */
  return test_run_suite(kddcup_suite());
}

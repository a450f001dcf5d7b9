/*
 * Tests of city_data/tripstore: write and load round trip with (t_request,
 * id) order and unknown fields, aborted imports leave the store unchanged,
 * foreign and other-city files are refused, summary and days (days and
 * spans against a scan and a brute force on random times), error paths,
 * and the load speed of a 60,000-trip day.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "city_data/city.h"
#include "city_data/tripstore.h"
#include "base/pcg32.h"
#include "tests/testutil.h"

/* A city of its own, so that the tests do not follow edits of the shipped
 * definitions. */
#define CITY_JSON(NAME, EDGE)                                               \
  "{\"name\": \"" NAME "\", \"bbox\": {\"min_lat\": 40.695, \"min_lng\":"   \
  " -74.025, \"max_lat\": 40.882, \"max_lng\": -73.905}, \"hex_edge_m\": "  \
  #EDGE ", \"utc_offset_minutes\": -300, \"speed_mps_by_hour\": [5,5,5,5,"  \
  "5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5], \"detour_factor\": 1.3,"       \
  " \"fare\": {\"base\": 2.5, \"per_km\": 1.5, \"per_minute\": 0,"          \
  " \"minimum\": 2.5}, \"default_fleet\": 100}"

static city_def test_city(const char *json) {
  city_def d;
  rs_err e = {0};
  ck_assert_msg(city_def_parse(json, "test", &d, &e) == 0, "%s", e.msg);
  return d;
}

static char dir[256];

static const char *tmp_path(char *buf, size_t size, const char *name) {
  if (dir[0] == '\0') ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(buf, size, "%s/%s", dir, name);
  return buf;
}

static city_trip make_trip(int64_t t, double k) {
  city_trip tr = {.t_request = t, .plat = 40.75 + k * 1e-4,
                  .plng = -73.98 - k * 1e-4, .dlat = 40.76, .dlng = -73.97,
                  .t_dropoff = t + 600, .fare = 10.5, .distance_m = 2000,
                  .pcell = 7, .dcell = 9};
  return tr;
}

START_TEST(test_round_trip_order) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  char path[512];
  tmp_path(path, sizeof path, "round.db");
  unlink(path);
  city_store *st;
  rs_err e = {0};
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  ck_assert_str_eq(city_store_city(st), "testcity");
  ck_assert_int_eq(city_store_import_begin(st, "mem", "csv", &e), 0);
  /* 1,000 trips in random order of time, many sharing a second; every
   * third has no dropoff time, fare or distance. 173 of them is not a
   * multiple of the insert batch. */
  pcg32 r;
  pcg32_seed(&r, 7, 1);
  enum { N = 1173 };
  int64_t t0 = 1454313600; /* 2016-02-01 08:00 local */
  for (int k = 0; k < N; k++) {
    city_trip t = make_trip(t0 + pcg32_bounded(&r, 300), k);
    if (k % 3 == 0) {
      t.t_dropoff = -1;
      t.fare = NAN;
      t.distance_m = NAN;
    }
    ck_assert_int_eq(city_store_import_trip(st, &t, k + 2, &e), 0);
  }
  ck_assert_int_eq(city_store_import_reject(st, 5000, "pickup outside the city box", &e), 0);
  ck_assert_int_eq(city_store_import_commit(st, N, 1, &e), 0);

  city_trip *a;
  size_t n;
  ck_assert_int_eq(city_store_load(st, t0, t0 + 300, &a, &n, &e), 0);
  ck_assert_uint_eq(n, N);
  for (size_t k = 0; k < n; k++) {
    if (k > 0) {
      ck_assert(a[k - 1].t_request < a[k].t_request ||
                (a[k - 1].t_request == a[k].t_request && a[k - 1].id < a[k].id));
    }
    /* id - 1 is the insertion rank, which is how make_trip was called. */
    int64_t rank = a[k].id - 1;
    ck_assert_double_eq_tol(a[k].plat, 40.75 + (double)rank * 1e-4, 1e-12);
    if (rank % 3 == 0) {
      ck_assert_int_eq(a[k].t_dropoff, -1);
      ck_assert(isnan(a[k].fare) && isnan(a[k].distance_m));
    } else {
      ck_assert_int_eq(a[k].t_dropoff, a[k].t_request + 600);
      ck_assert_double_eq(a[k].fare, 10.5);
      ck_assert_double_eq(a[k].distance_m, 2000);
    }
    ck_assert_int_eq(a[k].pcell, 7);
    ck_assert_int_eq(a[k].dcell, 9);
  }
  free(a);
  /* A sub-range is exactly the trips inside it. */
  ck_assert_int_eq(city_store_load(st, t0 + 100, t0 + 101, &a, &n, &e), 0);
  for (size_t k = 0; k < n; k++) ck_assert_int_eq(a[k].t_request, t0 + 100);
  ck_assert_uint_gt(n, 0);
  free(a);
  ck_assert_int_eq(city_store_load(st, t0 + 300, t0 + 900, &a, &n, &e), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(a);
  city_store_close(st);
}
END_TEST

START_TEST(test_abort_leaves_store) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  char path[512];
  tmp_path(path, sizeof path, "abort.db");
  unlink(path);
  city_store *st;
  rs_err e = {0};
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  ck_assert_int_eq(city_store_import_begin(st, "a", "csv", &e), 0);
  for (int k = 0; k < 120; k++) {
    city_trip t = make_trip(86400 + k, k);
    ck_assert_int_eq(city_store_import_trip(st, &t, k, &e), 0);
  }
  ck_assert_int_eq(city_store_import_commit(st, 120, 0, &e), 0);
  city_store_summary before, after;
  ck_assert_int_eq(city_store_summarize(st, &before, &e), 0);

  ck_assert_int_eq(city_store_import_begin(st, "b", "csv", &e), 0);
  for (int k = 0; k < 500; k++) {
    city_trip t = make_trip(5 * 86400 + k, k);
    ck_assert_int_eq(city_store_import_trip(st, &t, k, &e), 0);
    ck_assert_int_eq(city_store_import_reject(st, k, "x", &e), 0);
  }
  city_store_import_abort(st);
  ck_assert_int_eq(city_store_summarize(st, &after, &e), 0);
  ck_assert_mem_eq(&before, &after, sizeof before);
  /* A second begin while one is open is refused; close rolls back. */
  ck_assert_int_eq(city_store_import_begin(st, "c", "csv", &e), 0);
  ck_assert_int_eq(city_store_import_begin(st, "d", "csv", &e), RS_EINVAL);
  city_trip t = make_trip(9 * 86400, 1);
  ck_assert_int_eq(city_store_import_trip(st, &t, 1, &e), 0);
  city_store_close(st);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), 0);
  ck_assert_int_eq(city_store_summarize(st, &after, &e), 0);
  ck_assert_mem_eq(&before, &after, sizeof before);
  /* Read-only stores refuse imports. */
  ck_assert_int_eq(city_store_import_begin(st, "e", "csv", &e), RS_EINVAL);
  city_store_close(st);
}
END_TEST

START_TEST(test_foreign_and_other_city) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  city_def other = test_city(CITY_JSON("othercity", 600));
  city_def coarse = test_city(CITY_JSON("testcity", 900));
  char path[512], msg[600];
  city_store *st = NULL;
  rs_err e = {0};

  /* Not SQLite at all. */
  tmp_path(path, sizeof path, "notes.txt");
  FILE *fp = fopen(path, "w");
  fputs("pickup_datetime,pickup_lat\nthis is not a database\n", fp);
  fclose(fp);
  snprintf(msg, sizeof msg, "%s: not a ridesim trip store", path);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), RS_EFORMAT);
  ck_assert_str_eq(e.msg, msg);
  ck_assert_ptr_null(st);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), RS_EFORMAT);
  ck_assert_str_eq(e.msg, msg);

  /* SQLite, but another schema. */
  tmp_path(path, sizeof path, "other.sqlite");
  unlink(path);
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(a, b)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  snprintf(msg, sizeof msg, "%s: not a ridesim trip store", path);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), RS_EFORMAT);
  ck_assert_str_eq(e.msg, msg);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), RS_EFORMAT);

  /* A store of another city, or of the same city on another grid. */
  tmp_path(path, sizeof path, "city.db");
  unlink(path);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  city_store_close(st);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &other, &st, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "'testcity', not 'othercity'"));
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, &other, &st, &e), RS_EINVAL);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &coarse, &st, &e), RS_EINVAL);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), 0);
  ck_assert_str_eq(city_store_city(st), "testcity");
  city_store_close(st);

  /* Missing and unwritable. */
  ck_assert_int_eq(city_store_open("/nonexistent-ridesim/x.db", CITY_STORE_READ,
                                   NULL, &st, &e), RS_ENOENT);
  int rc = city_store_open("/nonexistent-ridesim/x.db", CITY_STORE_WRITE, &city,
                           &st, &e);
  ck_assert(rc == RS_EIO || rc == RS_EDB);
  ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent-ridesim/x.db"));
  ck_assert_ptr_null(strchr(e.msg, '\n'));
}
END_TEST

/* A store carries its grid: a city of the same name and edge but another
 * box is refused; a cell beyond the grid is refused when written and when
 * read back (a row edited by hand); a kept definition comes back as the
 * store's city; schema 2 stores are read with their cells dropped, and a
 * newer schema is named as newer. */
START_TEST(test_grid_identity) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  city_def smaller = city;
  smaller.max_lat -= 0.05;
  char path[512], cityfile[512];
  city_store *st = NULL;
  rs_err e = {0};
  city_grid g;
  ck_assert_int_eq(city_def_grid(&city, &g, &e), 0);
  tmp_path(path, sizeof path, "grid.db");
  unlink(path);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  ck_assert_int_eq(city_store_import_begin(st, "a", "csv", &e), 0);
  city_trip t = {0, 100, 40.75, -73.98, 40.76, -73.97, -1, NAN, NAN, 3, g.n_cells - 1, -1};
  ck_assert_int_eq(city_store_import_trip(st, &t, 1, &e), 0);
  t.t_request = 200;
  t.dcell = g.n_cells;
  ck_assert_int_eq(city_store_import_trip(st, &t, 2, &e), RS_EINVAL);
  t.dcell = 5;
  ck_assert_int_eq(city_store_import_trip(st, &t, 3, &e), 0);
  ck_assert_int_eq(city_store_import_commit(st, 2, 0, &e), 0);
  ck_assert_int_eq(city_store_check_city(st, &city, &e), 0);
  ck_assert_int_eq(city_store_check_city(st, &smaller, &e), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(e.msg, "another grid"));
  city_def back;
  ck_assert_int_eq(city_store_city_def(st, &back, &e), RS_EINVAL); /* not built in, not kept */
  tmp_path(cityfile, sizeof cityfile, "testcity.json");
  FILE *f = fopen(cityfile, "w");
  fputs(CITY_JSON("testcity", 600), f);
  fclose(f);
  ck_assert_int_eq(city_store_keep_city_file(st, cityfile, &e), 0);
  city_store_close(st);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, &smaller, &st, &e), RS_EINVAL);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &smaller, &st, &e), RS_EINVAL);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), 0);
  ck_assert_int_eq(city_store_city_def(st, &back, &e), 0);
  ck_assert_str_eq(back.name, "testcity");
  ck_assert(back.max_lat == city.max_lat && back.hex_edge_m == city.hex_edge_m);
  city_trip *a;
  size_t n;
  ck_assert_int_eq(city_store_load(st, 0, 1000, &a, &n, &e), 0);
  ck_assert_int_eq((int)n, 2);
  ck_assert_int_eq(a[0].pcell, 3);
  ck_assert_int_eq(a[0].dcell, g.n_cells - 1);
  free(a);
  city_store_close(st);

  /* a row edited by hand */
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "UPDATE trips SET pickup_cell = 2000000000 WHERE id = 2",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), 0);
  ck_assert_int_eq(city_store_load(st, 0, 1000, &a, &n, &e), RS_EFORMAT);
  ck_assert_ptr_null(a);
  ck_assert_ptr_nonnull(strstr(e.msg, "trip 2: pickup cell 2000000000"));
  city_store_close(st);

  /* schema 2 (no grid): read, cells dropped; not written to */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "UPDATE store SET value = '2' WHERE key = 'schema_version';"
                                " DELETE FROM store WHERE key IN ('grid', 'city_definition')",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), RS_EFORMAT);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), 0);
  ck_assert_int_eq(city_store_load(st, 0, 1000, &a, &n, &e), 0);
  ck_assert_int_eq((int)n, 2);
  ck_assert(a[0].pcell == -1 && a[0].dcell == -1 && a[1].pcell == -1);
  free(a);
  city_store_close(st);

  /* a newer schema is named as such, not as something to import again */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "UPDATE store SET value = '99' WHERE key = 'schema_version'",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, NULL, &st, &e), RS_EFORMAT);
  ck_assert_ptr_nonnull(strstr(e.msg, "newer ridesim"));
  ck_assert_ptr_null(strstr(e.msg, "import the data again"));
  unlink(path);
  unlink(cityfile);
}
END_TEST

START_TEST(test_summary_days) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  char path[512];
  tmp_path(path, sizeof path, "days.db");
  unlink(path);
  city_store *st;
  rs_err e = {0};
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  city_store_summary s;
  ck_assert_int_eq(city_store_summarize(st, &s, &e), 0);
  ck_assert_int_eq(s.n_trips, 0);
  int64_t *days;
  size_t nd;
  ck_assert_int_eq(city_store_days(st, &days, &nd, &e), 0);
  ck_assert_uint_eq(nd, 0);
  free(days);

  int64_t d1 = 16832 * 86400LL, d2 = 16838 * 86400LL; /* 2016-02-01, -07 */
  ck_assert_int_eq(city_store_import_begin(st, "a", "csv", &e), 0);
  int64_t times[] = {d2 + 86399, d1 + 3600, d1 + 28800, d2, d1};
  for (int k = 0; k < 5; k++) {
    city_trip t = make_trip(times[k], k);
    ck_assert_int_eq(city_store_import_trip(st, &t, k + 2, &e), 0);
  }
  ck_assert_int_eq(city_store_import_reject(st, 9, "r", &e), 0);
  ck_assert_int_eq(city_store_import_commit(st, 5, 1, &e), 0);
  ck_assert_int_eq(city_store_import_begin(st, "b", "csv", &e), 0);
  ck_assert_int_eq(city_store_import_commit(st, 0, 0, &e), 0);

  ck_assert_int_eq(city_store_summarize(st, &s, &e), 0);
  ck_assert_int_eq(s.n_trips, 5);
  ck_assert_int_eq(s.t_first, d1);
  ck_assert_int_eq(s.t_last, d2 + 86399);
  ck_assert_int_eq(s.n_imports, 2);
  ck_assert_int_eq(s.n_rejects, 1);
  ck_assert_int_eq(s.n_days, 2);
  ck_assert_int_eq(city_store_days(st, &days, &nd, &e), 0);
  ck_assert_uint_eq(nd, 2);
  ck_assert_int_eq(days[0], d1);
  ck_assert_int_eq(days[1], d2);
  free(days);
  city_store_close(st);
}
END_TEST

/* city_store_days (index seeks) against the SQL of one scan of every
 * trip, and city_store_span against a brute-force search, on random
 * request times around midnights, before 1970 too. */
START_TEST(test_days_span_property) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  char path[512];
  tmp_path(path, sizeof path, "days-prop.db");
  pcg32 rng;
  pcg32_seed(&rng, 20260206, 7);
  for (int round = 0; round < 20; round++) {
    unlink(path);
    city_store *st;
    rs_err e = {0};
    ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
    ck_assert_int_eq(city_store_import_begin(st, "a", "csv", &e), 0);
    enum { N = 200 };
    int64_t times[N];
    int n = (int)pcg32_bounded(&rng, N + 1);
    for (int k = 0; k < n; k++) {
      /* days -3 .. 3 around 1970 and 2016-02-01, often a second off midnight */
      int64_t base = pcg32_bounded(&rng, 2) ? 16832 * 86400LL : 0;
      int64_t day = (int64_t)pcg32_bounded(&rng, 7) - 3;
      int64_t sec = pcg32_bounded(&rng, 3) == 0 ? (int64_t)pcg32_bounded(&rng, 3) - 1
                                                : (int64_t)pcg32_bounded(&rng, 86400);
      times[k] = base + day * 86400 + sec;
      city_trip t = make_trip(times[k], k % 50);
      ck_assert_int_eq(city_store_import_trip(st, &t, k + 2, &e), 0);
    }
    ck_assert_int_eq(city_store_import_commit(st, n, 0, &e), 0);
    int64_t *days;
    size_t nd;
    ck_assert_int_eq(city_store_days(st, &days, &nd, &e), 0);
    city_store_close(st);

    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT DISTINCT t_request - ((t_request % 86400) + 86400)"
                                        " % 86400 AS d FROM trips ORDER BY d",
                                        -1, &q, NULL),
                     SQLITE_OK);
    size_t k = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      ck_assert_uint_lt(k, nd);
      ck_assert_int_eq(days[k], sqlite3_column_int64(q, 0));
      k++;
    }
    ck_assert_uint_eq(k, nd);
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(days);

    ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, &city, &st, &e), 0);
    for (int r = 0; r < 50; r++) {
      int64_t a = (pcg32_bounded(&rng, 2) ? 16832 * 86400LL : 0) +
                  ((int64_t)pcg32_bounded(&rng, 8 * 86400) - 4 * 86400);
      int64_t b = a + (int64_t)pcg32_bounded(&rng, 2 * 86400);
      int64_t lo = 0, hi = 0, first = -7, last = -7;
      int want = 0, found = -1;
      for (int j = 0; j < n; j++)
        if (times[j] >= a && times[j] < b) {
          if (!want || times[j] < lo) lo = times[j];
          if (!want || times[j] > hi) hi = times[j];
          want = 1;
        }
      ck_assert_int_eq(city_store_span(st, a, b, &first, &last, &found, &e), 0);
      ck_assert_int_eq(found, want);
      if (want) {
        ck_assert_int_eq(first, lo);
        ck_assert_int_eq(last, hi);
      }
    }
    city_store_close(st);
  }
  unlink(path);
}
END_TEST

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A day of 60,000 trips loads in well under 50 ms on a normal build; the
 * bound here is loose so that sanitizer builds and busy machines pass. */
START_TEST(test_load_speed) {
  city_def city = test_city(CITY_JSON("testcity", 600));
  char path[512];
  tmp_path(path, sizeof path, "speed.db");
  unlink(path);
  city_store *st;
  rs_err e = {0};
  ck_assert_int_eq(city_store_open(path, CITY_STORE_WRITE, &city, &st, &e), 0);
  ck_assert_int_eq(city_store_import_begin(st, "a", "csv", &e), 0);
  enum { N = 60000 };
  int64_t t0 = 16832 * 86400LL + 8 * 3600;
  for (int k = 0; k < N; k++) {
    city_trip t = make_trip(t0 + k / 4, k % 100);
    ck_assert_int_eq(city_store_import_trip(st, &t, k + 2, &e), 0);
  }
  ck_assert_int_eq(city_store_import_commit(st, N, 0, &e), 0);
  city_store_close(st);
  ck_assert_int_eq(city_store_open(path, CITY_STORE_READ, &city, &st, &e), 0);
  city_trip *a;
  size_t n;
  double t = now_s();
  ck_assert_int_eq(city_store_load(st, t0, t0 + 86400, &a, &n, &e), 0);
  t = now_s() - t;
  ck_assert_uint_eq(n, N);
  fprintf(stderr, "city_store_load: %d trips in %.1f ms\n", N, t * 1e3);
  ck_assert_double_lt(t, 0.5);
  free(a);
  city_store_close(st);
}
END_TEST

static Suite *tripstore_suite(void) {
  Suite *s = suite_create("tripstore");
  TCase *tc = tcase_create("city_store_load");
  tcase_add_test(tc, test_round_trip_order);
  tcase_add_test(tc, test_load_speed);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_store_import_abort");
  tcase_add_test(tc, test_abort_leaves_store);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_store_open");
  tcase_add_test(tc, test_foreign_and_other_city);
  tcase_add_test(tc, test_grid_identity);
  tcase_add_test(tc, test_days_span_property);
  suite_add_tcase(s, tc);
  tc = tcase_create("city_store_summarize");
  tcase_add_test(tc, test_summary_days);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(tripstore_suite()); }

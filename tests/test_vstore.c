/*
 * Tests of value/vstore: a save/load round trip is bit-identical (values,
 * counts, configuration, metadata); a save replaces the previous table and,
 * when it fails, leaves the old file exactly as it was; tables made for
 * another city, grid edge or cell count are refused, as are damaged
 * metadata and rows, with the field named; foreign SQLite files, non-SQLite
 * files and missing files are refused with their own codes.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/tripstore.h"
#include "base/pcg32.h"
#include "tests/testutil.h"
#include "value/vstore.h"

/* A city of its own. NAME, EDGE and the north edge vary per test. */
#define CITY_JSON(NAME, EDGE, MAXLAT)                                          \
  "{\"name\": \"" NAME "\", \"bbox\": {\"min_lat\": 40.74, \"min_lng\": -74.00," \
  " \"max_lat\": " #MAXLAT ", \"max_lng\": -73.974}, \"hex_edge_m\": " #EDGE ","  \
  " \"utc_offset_minutes\": 0, \"speed_mps_by_hour\": [5,5,5,5,5,5,5,5,5,5,5,5," \
  "5,5,5,5,5,5,5,5,5,5,5,5], \"detour_factor\": 1.3, \"fare\": {\"base\": 2.5,"  \
  " \"per_km\": 1.5, \"per_minute\": 0, \"minimum\": 2.5}, \"default_fleet\": 10}"

static city_def city;
static city_grid grid;
static char dir[256];

static void setup(void) {
  rs_err e = {0};
  ck_assert_msg(city_def_parse(CITY_JSON("vscity", 600, 40.76), "test", &city, &e) == 0,
                "%s", e.msg);
  ck_assert_msg(city_def_grid(&city, &grid, &e) == 0, "%s", e.msg);
}

static const char *tmp_path(char *buf, size_t size, const char *name) {
  if (dir[0] == '\0') ck_assert_ptr_nonnull(test_tmpdir(dir, sizeof dir));
  snprintf(buf, size, "%s/%s", dir, name);
  return buf;
}

/* A table with n_seen random states: values of every magnitude and sign,
 * counts up to 2^32 - 1. */
static val_table *random_table(uint64_t seed, int32_t slot_s, int32_t day_types, double gamma,
                               int n_seen) {
  val_config c = {slot_s, day_types, gamma, 300};
  val_table *t = NULL;
  rs_err e = {0};
  ck_assert_msg(val_table_new(&grid, &c, &t, &e) == 0, "%s", e.msg);
  pcg32 rng;
  pcg32_seed(&rng, seed, 9);
  int32_t ns = val_table_n_slots(t);
  static const double special[] = {1e9, -1e-300, 4.9e-324, 0.1, 1.0 / 3, -12345.678901234567,
                                   0.0};
  for (int i = 0; i < n_seen; i++) {
    int32_t d = (int32_t)pcg32_bounded(&rng, (uint32_t)day_types);
    int32_t s = (int32_t)pcg32_bounded(&rng, (uint32_t)ns);
    int32_t k = (int32_t)pcg32_bounded(&rng, (uint32_t)grid.n_cells);
    double v = i < 7 ? special[i] : (pcg32_double(&rng) - 0.3) * pow(10, pcg32_bounded(&rng, 9));
    uint32_t n = i == 0 ? UINT32_MAX : 1 + pcg32_bounded(&rng, 1000);
    val_table_set(t, d, s, k, v, n);
    /* the time-free layer: a cell in about every fifth */
    if (i % 5 == 0)
      val_table_free_set(t, d, k, v * 0.5 + 1, i == 0 ? UINT32_MAX : 1 + pcg32_bounded(&rng, 99));
  }
  return t;
}

/* Value bits and counts of every state equal. */
static void assert_same(const val_table *a, const val_table *b) {
  const val_config *ca = val_table_config(a), *cb = val_table_config(b);
  ck_assert_int_eq(ca->slot_s, cb->slot_s);
  ck_assert_int_eq(ca->day_types, cb->day_types);
  ck_assert(memcmp(&ca->gamma, &cb->gamma, sizeof ca->gamma) == 0);
  ck_assert_int_eq(ca->gamma_period_s, cb->gamma_period_s);
  ck_assert_int_eq(val_table_n_cells(a), val_table_n_cells(b));
  int32_t ns = val_table_n_slots(a);
  ck_assert_int_eq(ns, val_table_n_slots(b));
  for (int32_t d = 0; d < ca->day_types; d++)
    for (int32_t s = 0; s < ns; s++)
      for (int32_t k = 0; k < val_table_n_cells(a); k++) {
        ck_assert_uint_eq(val_table_count(a, d, s, k), val_table_count(b, d, s, k));
        if (val_table_count(a, d, s, k) == 0) continue;
        double va = val_table_raw(a, d, s, k), vb = val_table_raw(b, d, s, k);
        ck_assert_msg(memcmp(&va, &vb, sizeof va) == 0, "(%d, %d, %d): %a vs %a", d, s, k, va,
                      vb);
      }
  /* the time-free layer, cell by cell */
  for (int32_t d = 0; d < ca->day_types; d++) {
    ck_assert_int_eq(val_table_free_seen(a, d), val_table_free_seen(b, d));
    for (int32_t k = 0; k < val_table_n_cells(a); k++) {
      ck_assert_uint_eq(val_table_free_count(a, d, k), val_table_free_count(b, d, k));
      if (val_table_free_count(a, d, k) == 0) continue;
      double va = val_table_free_raw(a, d, k), vb = val_table_free_raw(b, d, k);
      ck_assert_msg(memcmp(&va, &vb, sizeof va) == 0, "layer (%d, %d): %a vs %a", d, k, va, vb);
    }
  }
}

/* The whole file, for before/after comparisons. */
static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)len + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void sql(const char *path, const char *stmt) {
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  char *err = NULL;
  ck_assert_msg(sqlite3_exec(db, stmt, NULL, NULL, &err) == SQLITE_OK, "%s", err);
  sqlite3_close(db);
}

/* --- val_store_save / val_store_load: round trip ---------------------------- */

START_TEST(test_round_trip) {
  char path[512];
  tmp_path(path, sizeof path, "round.db");
  unlink(path);
  val_table *t = random_table(1 + (uint64_t)_i, _i ? 900 : 600, _i ? 2 : 1, 0.85 + _i * 0.01,
                              3000);
  val_meta m = {.rows = 123456789012LL, .passes = 17};
  snprintf(m.city, sizeof m.city, "ignored: the city's name is written");
  snprintf(m.days, sizeof m.days, "2016-02-01,2016-02-06");
  rs_err e = {0};
  ck_assert_msg(val_store_save(path, t, &city, &m, &e) == 0, "%s", e.msg);
  val_table *u = NULL;
  val_meta back;
  memset(&back, 0x55, sizeof back);
  ck_assert_msg(val_store_load(path, &city, &grid, &u, &back, &e) == 0, "%s", e.msg);
  ck_assert_ptr_nonnull(u);
  ck_assert_ptr_eq(val_table_grid(u), &grid);
  assert_same(t, u);
  ck_assert_str_eq(back.city, "vscity");
  ck_assert_str_eq(back.days, "2016-02-01,2016-02-06");
  ck_assert_int_eq(back.rows, 123456789012LL);
  ck_assert_int_eq(back.passes, 17);
  ck_assert_int_eq((int)strlen(back.created), 20); /* 2016-02-01T08:00:00Z */
  ck_assert_int_eq(back.created[10], 'T');
  /* Statistics, and so the seen states, agree too. */
  double ma, mb, xa, xb;
  int64_t na, nb;
  val_table_stats(t, &ma, &xa, &na);
  val_table_stats(u, &mb, &xb, &nb);
  ck_assert_int_eq(na, nb);
  ck_assert(memcmp(&xa, &xb, sizeof xa) == 0);
  /* Metadata only: city == NULL reads the meta and loads no table. */
  val_meta peek;
  val_table *none = (val_table *)&peek;
  ck_assert_int_eq(val_store_load(path, NULL, NULL, &none, &peek, &e), 0);
  ck_assert_ptr_null(none);
  ck_assert_str_eq(peek.city, "vscity");
  ck_assert_int_eq(peek.passes, 17);
  /* NULL meta is fine for both. */
  val_table_free(u);
  ck_assert_int_eq(val_store_save(path, t, &city, NULL, &e), 0);
  ck_assert_int_eq(val_store_load(path, &city, &grid, &u, NULL, &e), 0);
  assert_same(t, u);
  val_table_free(u);
  val_table_free(t);
}
END_TEST

/* -0.0 comes back as +0.0: SQLite keeps integral REALs as integers. */
START_TEST(test_negative_zero) {
  char path[512];
  tmp_path(path, sizeof path, "negzero.db");
  unlink(path);
  val_table *t = random_table(5, 600, 1, 0.9, 0);
  val_table_set(t, 0, 1, 2, -0.0, 1);
  ck_assert_int_eq(val_store_save(path, t, &city, NULL, NULL), 0);
  val_table *u = NULL;
  ck_assert_int_eq(val_store_load(path, &city, &grid, &u, NULL, NULL), 0);
  ck_assert_double_eq(val_table_raw(u, 0, 1, 2), 0.0);
  ck_assert_uint_eq(val_table_count(u, 0, 1, 2), 1);
  val_table_free(u);
  val_table_free(t);
}
END_TEST

/* --- val_store_save: replacing, and failing without damage ------------------ */

START_TEST(test_save_replaces) {
  char path[512];
  tmp_path(path, sizeof path, "replace.db");
  unlink(path);
  val_table *a = random_table(11, 600, 2, 0.9, 500), *b = random_table(12, 1800, 1, 0.7, 40);
  val_meta ma = {.rows = 1, .passes = 1}, mb = {.rows = 2, .passes = 2};
  snprintf(ma.days, sizeof ma.days, "2016-02-01");
  ck_assert_int_eq(val_store_save(path, a, &city, &ma, NULL), 0);
  ck_assert_int_eq(val_store_save(path, b, &city, &mb, NULL), 0);
  val_table *u = NULL;
  val_meta back;
  ck_assert_int_eq(val_store_load(path, &city, &grid, &u, &back, NULL), 0);
  assert_same(b, u);
  int64_t n_b, n_u;
  val_table_stats(b, NULL, NULL, &n_b);
  val_table_stats(u, NULL, NULL, &n_u);
  ck_assert_int_eq(n_b, n_u); /* none of a's states is left */
  ck_assert_str_eq(back.days, "");
  ck_assert_int_eq(back.passes, 2);
  val_table_free(u);
  val_table_free(a);
  val_table_free(b);
}
END_TEST

START_TEST(test_save_failure_keeps_old) {
  char path[512], sub[512], missing[512];
  tmp_path(path, sizeof path, "keep.db");
  unlink(path);
  val_table *a = random_table(21, 600, 1, 0.9, 300);
  rs_err e = {0};
  ck_assert_int_eq(val_store_save(path, a, &city, NULL, &e), 0);
  size_t n0, n1;
  char *before = slurp(path, &n0);

  /* A failure in the middle of the transaction (a value SQLite cannot
   * store, found after the old rows were deleted): rolled back. */
  val_table *bad = random_table(22, 600, 1, 0.9, 200);
  val_table_set(bad, 0, 143, grid.n_cells - 1, NAN, 1);
  ck_assert_int_eq(val_store_save(path, bad, &city, NULL, &e), RS_EINVAL);
  ck_assert_msg(strstr(e.msg, "not a number") != NULL, "%s", e.msg);
  char *after = slurp(path, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert(memcmp(before, after, n0) == 0);
  free(after);
  val_table *u = NULL;
  ck_assert_int_eq(val_store_load(path, &city, &grid, &u, NULL, &e), 0);
  assert_same(a, u);
  val_table_free(u);

  /* A table of another grid: refused before the file is touched. */
  city_def other;
  ck_assert_int_eq(city_def_parse(CITY_JSON("vscity", 600, 40.80), "t", &other, NULL), 0);
  ck_assert_int_eq(val_store_save(path, bad, &other, NULL, &e), RS_EINVAL);
  after = slurp(path, &n1);
  ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
  free(after);

  /* A path that is a directory, or in a directory that does not exist. */
  tmp_path(sub, sizeof sub, "adir");
  mkdir(sub, 0755);
  ck_assert_int_eq(val_store_save(sub, a, &city, NULL, &e), RS_EIO);
  struct stat st;
  ck_assert_int_eq(stat(sub, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));
  tmp_path(missing, sizeof missing, "no/such/dir/v.db");
  ck_assert_int_eq(val_store_save(missing, a, &city, NULL, &e), RS_EIO);
  ck_assert_msg(strstr(e.msg, missing) != NULL, "%s", e.msg);

  /* A read-only directory (permissions do not bind root). */
  if (geteuid() != 0) {
    char ro[512], rofile[600];
    tmp_path(ro, sizeof ro, "ro");
    mkdir(ro, 0755);
    snprintf(rofile, sizeof rofile, "%s/v.db", ro);
    ck_assert_int_eq(val_store_save(rofile, a, &city, NULL, &e), 0);
    char *b0 = slurp(rofile, &n0);
    chmod(ro, 0555);
    chmod(rofile, 0444);
    ck_assert_int_ne(val_store_save(rofile, bad, &city, NULL, &e), 0);
    char *b1 = slurp(rofile, &n1);
    ck_assert(n0 == n1 && memcmp(b0, b1, n0) == 0);
    chmod(rofile, 0644);
    chmod(ro, 0755);
    free(b0);
    free(b1);
  }

  /* A failed save to a new file leaves no file behind. */
  char fresh[512];
  tmp_path(fresh, sizeof fresh, "fresh.db");
  unlink(fresh);
  ck_assert_int_eq(val_store_save(fresh, bad, &city, NULL, &e), RS_EINVAL);
  ck_assert_int_ne(access(fresh, F_OK), 0);
  free(before);
  val_table_free(bad);
  val_table_free(a);
}
END_TEST

/* Saving over something that is not a value table is refused, and the file
 * is left as it was. */
START_TEST(test_save_refuses_foreign) {
  char text[512], foreign[512], store[512];
  val_table *a = random_table(31, 600, 1, 0.9, 10);
  rs_err e = {0};
  size_t n0, n1;

  tmp_path(text, sizeof text, "notes.txt");
  write_file(text, "these are somebody's notes, not a database, and long enough to tell\n");
  char *b0 = slurp(text, &n0);
  ck_assert_int_eq(val_store_save(text, a, &city, NULL, &e), RS_EFORMAT);
  ck_assert_msg(strstr(e.msg, "not a ridesim value table") != NULL, "%s", e.msg);
  char *b1 = slurp(text, &n1);
  ck_assert(n0 == n1 && memcmp(b0, b1, n0) == 0);
  free(b0);
  free(b1);

  tmp_path(foreign, sizeof foreign, "foreign.db");
  unlink(foreign);
  sql(foreign, "CREATE TABLE people(name TEXT); INSERT INTO people VALUES('ada');");
  b0 = slurp(foreign, &n0);
  ck_assert_int_eq(val_store_save(foreign, a, &city, NULL, &e), RS_EFORMAT);
  b1 = slurp(foreign, &n1);
  ck_assert(n0 == n1 && memcmp(b0, b1, n0) == 0);
  free(b0);
  free(b1);

  /* A trip store is someone else's database too. */
  tmp_path(store, sizeof store, "trips.db");
  unlink(store);
  city_store *st = NULL;
  ck_assert_int_eq(city_store_open(store, CITY_STORE_WRITE, &city, &st, &e), 0);
  city_store_close(st);
  ck_assert_int_eq(val_store_save(store, a, &city, NULL, &e), RS_EFORMAT);
  ck_assert_int_eq(city_store_open(store, CITY_STORE_READ, &city, &st, &e), 0);
  city_store_close(st);
  val_table_free(a);
}
END_TEST

/* --- val_store_load: refusals ---------------------------------------------- */

/* Loads path and expects code with `field` in the message. */
static void expect_refusal(const char *path, const city_def *c, const city_grid *g, int code,
                           const char *field) {
  val_table *u = (val_table *)&u;
  val_meta m;
  rs_err e = {0};
  ck_assert_int_eq(val_store_load(path, c, g, &u, &m, &e), code);
  ck_assert_ptr_null(u);
  ck_assert_int_eq(e.code, code);
  ck_assert_msg(strstr(e.msg, path) != NULL, "no file name in '%s'", e.msg);
  ck_assert_msg(strstr(e.msg, field) != NULL, "'%s' not in '%s'", field, e.msg);
  ck_assert_ptr_null(strchr(e.msg, '\n'));
}

START_TEST(test_load_mismatch) {
  char path[512];
  tmp_path(path, sizeof path, "mismatch.db");
  unlink(path);
  val_table *a = random_table(41, 600, 1, 0.9, 50);
  ck_assert_int_eq(val_store_save(path, a, &city, NULL, NULL), 0);

  city_def named, edge, wide;
  city_grid gn, ge, gw;
  ck_assert_int_eq(city_def_parse(CITY_JSON("elsewhere", 600, 40.76), "t", &named, NULL), 0);
  ck_assert_int_eq(city_def_parse(CITY_JSON("vscity", 500, 40.76), "t", &edge, NULL), 0);
  ck_assert_int_eq(city_def_parse(CITY_JSON("vscity", 600, 40.80), "t", &wide, NULL), 0);
  ck_assert_int_eq(city_def_grid(&named, &gn, NULL), 0);
  ck_assert_int_eq(city_def_grid(&edge, &ge, NULL), 0);
  ck_assert_int_eq(city_def_grid(&wide, &gw, NULL), 0);
  ck_assert_int_ne(gw.n_cells, grid.n_cells);
  expect_refusal(path, &named, &gn, RS_EINVAL, "city");
  expect_refusal(path, &edge, &ge, RS_EINVAL, "hex_edge_m");
  expect_refusal(path, &wide, &gw, RS_EINVAL, "n_cells");
  /* The right city with a grid that is not its own. */
  expect_refusal(path, &city, &gw, RS_EINVAL, "n_cells");
  val_table_free(a);
}
END_TEST

/* Damaged metadata and rows, one field at a time. */
START_TEST(test_load_damaged) {
  static const struct {
    const char *stmt, *field;
    int code;
  } cases[] = {
      {"UPDATE meta SET value = '7' WHERE key = 'slot_s'", "slot_s", RS_EFORMAT},
      {"UPDATE meta SET value = 'ten' WHERE key = 'slot_s'", "slot_s", RS_EFORMAT},
      {"DELETE FROM meta WHERE key = 'slot_s'", "slot_s", RS_EFORMAT},
      {"UPDATE meta SET value = '3' WHERE key = 'day_types'", "day_types", RS_EFORMAT},
      {"UPDATE meta SET value = '1.5' WHERE key = 'gamma'", "gamma", RS_EFORMAT},
      {"UPDATE meta SET value = '3' WHERE key = 'schema_version'", "schema_version",
       RS_EFORMAT},
      {"UPDATE vfree SET cell = -1 WHERE rowid = (SELECT min(rowid) FROM vfree)", "vfree: cell",
       RS_EFORMAT},
      {"UPDATE vfree SET n = 0 WHERE rowid = (SELECT min(rowid) FROM vfree)", "vfree: n",
       RS_EFORMAT},
      {"DROP TABLE vfree", "time-free", RS_EDB},
      {"UPDATE meta SET value = 'other-app' WHERE key = 'app'", "not a ridesim value table",
       RS_EFORMAT},
      {"DELETE FROM meta WHERE key = 'n_cells'", "n_cells", RS_EFORMAT},
      {"UPDATE vvalues SET slot = 144 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "slot",
       RS_EFORMAT},
      {"UPDATE vvalues SET cell = -1 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "cell",
       RS_EFORMAT},
      {"UPDATE vvalues SET dtype = 1 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "dtype",
       RS_EFORMAT},
      {"UPDATE vvalues SET n = 0 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "n out",
       RS_EFORMAT},
      {"UPDATE vvalues SET v = NULL WHERE rowid = (SELECT min(rowid) FROM vvalues)", "v out",
       RS_EFORMAT},
      /* values no run could use: refused at load, the table named */
      {"UPDATE vvalues SET v = 9e999 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "v out",
       RS_EFORMAT},
      {"UPDATE vvalues SET v = -9e999 WHERE rowid = (SELECT max(rowid) FROM vvalues)", "v out",
       RS_EFORMAT},
      {"UPDATE vvalues SET v = 1e308 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "v out",
       RS_EFORMAT},
      {"UPDATE vvalues SET v = -1e308 WHERE rowid = (SELECT min(rowid) FROM vvalues)", "v out",
       RS_EFORMAT},
      {"DROP TABLE vvalues", "not a ridesim value table", RS_EFORMAT},
  };
  val_table *a = random_table(51, 600, 1, 0.9, 50);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[512], name[32];
    snprintf(name, sizeof name, "damaged%zu.db", i);
    tmp_path(path, sizeof path, name);
    unlink(path);
    ck_assert_int_eq(val_store_save(path, a, &city, NULL, NULL), 0);
    sql(path, cases[i].stmt);
    expect_refusal(path, &city, &grid, cases[i].code, cases[i].field);
  }
  val_table_free(a);
}
END_TEST

START_TEST(test_load_foreign) {
  char text[512], foreign[512], empty[512], store[512], missing[512];
  tmp_path(text, sizeof text, "plain.txt");
  write_file(text, "cell,value\n1,2.5\n this is a CSV file and not a database at all\n");
  expect_refusal(text, &city, &grid, RS_EFORMAT, "not a ridesim value table");
  tmp_path(foreign, sizeof foreign, "other.db");
  unlink(foreign);
  sql(foreign, "CREATE TABLE meta(key TEXT, value TEXT); INSERT INTO meta VALUES('a','b');");
  expect_refusal(foreign, &city, &grid, RS_EFORMAT, "not a ridesim value table");
  expect_refusal(foreign, NULL, NULL, RS_EFORMAT, "not a ridesim value table");
  tmp_path(empty, sizeof empty, "empty.db");
  write_file(empty, "");
  expect_refusal(empty, &city, &grid, RS_EFORMAT, "not a ridesim value table");
  tmp_path(store, sizeof store, "store.db");
  unlink(store);
  city_store *st = NULL;
  ck_assert_int_eq(city_store_open(store, CITY_STORE_WRITE, &city, &st, NULL), 0);
  city_store_close(st);
  expect_refusal(store, &city, &grid, RS_EFORMAT, "not a ridesim value table");
  tmp_path(missing, sizeof missing, "missing.db");
  unlink(missing);
  expect_refusal(missing, &city, &grid, RS_ENOENT, "no such");
  ck_assert_int_ne(access(missing, F_OK), 0); /* loading creates nothing */
}
END_TEST

static Suite *vstore_suite(void) {
  Suite *s = suite_create("vstore");
  TCase *tc = tcase_create("val_store_save");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_loop_test(tc, test_round_trip, 0, 2);
  tcase_add_test(tc, test_negative_zero);
  tcase_add_test(tc, test_save_replaces);
  tcase_add_test(tc, test_save_failure_keeps_old);
  tcase_add_test(tc, test_save_refuses_foreign);
  suite_add_tcase(s, tc);
  tc = tcase_create("val_store_load");
  tcase_add_unchecked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_load_mismatch);
  tcase_add_test(tc, test_load_damaged);
  tcase_add_test(tc, test_load_foreign);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(vstore_suite()); }

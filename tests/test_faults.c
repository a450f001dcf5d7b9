/*
 * test_faults: fault injection into whole runs, imports and results writing.
 *
 * Allocation failures (the project's own). This program is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, so every allocation made
 * by the project's static libraries goes through __wrap_* below, which can
 * fail the k-th one. For k = 1, 2, ... until a run meets no failure, a short
 * run of the synthetic city through the one lifecycle of a run
 * (run/lifecycle.h: trips generated, policies and engine built, the run's
 * row begun, run to the horizon through the libuv loop, KPIs, results to a
 * fresh DB) must end with an error code and a one-line message, or succeed
 * with exactly the KPIs of the undisturbed run; the results DB of a failed
 * run never holds a 'completed' run. Leaks are caught by LeakSanitizer in the sanitizer build
 * (the fault paths free what they opened, or LSan fails the test).
 * Allocations inside shared libraries (SQLite, cJSON, libuv, libc's strdup)
 * do not pass through the wrap: SQLite's are failed separately below.
 *
 * SQLite's own allocator: in a child process (SQLite can only change its
 * allocator before sqlite3_initialize), SQLITE_CONFIG_MALLOC installs an
 * allocator failing its k-th call; a trip store import and a results write
 * run for each k. Each ends cleanly or with an error; the store and the
 * results DB stay intact (integrity_check ok, earlier rows untouched, no run
 * 'completed' unless its finish succeeded), and after sqlite3_shutdown no
 * SQLite memory is left (no connection or statement leaked on an error
 * path).
 *
 * I/O failures through a VFS shim registered as the default
 * (tests/faults/vfs_shim.c): every xWrite (SQLITE_FULL) or xSync
 * (SQLITE_IOERR_FSYNC) after the first n fails, for n = 0, 1, ... until an
 * import / a results write completes untouched. Then: read-only files
 * (opened read-only by the shim, since root ignores chmod), a database
 * locked by another connection's BEGIN EXCLUSIVE (the writer gives up after
 * its busy timeout), and corrupt files (random bytes, truncated header,
 * garbage pages). Every outcome is printed as one "fault: ..." line; those
 * lines are the matrix of docs/reliability.md.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "city_data/city.h"
#include "city_data/import.h"
#include "city_data/tripstore.h"
#include "sim/engine.h"
#include "sim/results.h"
#include "sim/scenario.h"
#include "tests/faults/vfs_shim.h"
#include "tests/testutil.h"
#include "run/lifecycle.h"
#include "run/setup.h"

/* ---- the allocation seam ------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static int alloc_armed;       /* count (and maybe fail) allocations */
static long alloc_count;      /* allocations seen while armed */
static long alloc_fail_at;    /* fail this one (1-based); 0 never */
static long alloc_failed;     /* failures injected */

static int alloc_fails_now(void) {
  if (!alloc_armed) return 0;
  if (++alloc_count == alloc_fail_at) {
    alloc_failed++;
    return 1;
  }
  return 0;
}
void *__wrap_malloc(size_t n) { return alloc_fails_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) {
  return alloc_fails_now() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
  return alloc_fails_now() ? NULL : __real_realloc(p, n);
}

/* ---- files and raw SQLite helpers --------------------------------------- */

static char tmp[512];

static const char *in_tmp(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmp, name);
  return buf;
}

static void rm_db(const char *path) {
  char b[700]; /* the callers' paths hold at most 600 bytes */
  unlink(path);
  snprintf(b, sizeof b, "%s-journal", path);
  unlink(b);
  snprintf(b, sizeof b, "%s-wal", path);
  unlink(b);
  snprintf(b, sizeof b, "%s-shm", path);
  unlink(b);
}

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  int rc = a && b ? 0 : -1;
  char buf[65536];
  size_t n;
  while (rc == 0 && (n = fread(buf, 1, sizeof buf, a)) > 0)
    if (fwrite(buf, 1, n, b) != n) rc = -1;
  if (a) fclose(a);
  if (b && fclose(b) != 0) rc = -1;
  return rc;
}

/* A fresh copy of a closed database (no journal or WAL beside it). */
static void restore_db(const char *pristine, const char *work) {
  rm_db(work);
  ck_assert_int_eq(copy_file(pristine, work), 0);
}

/* One integer from a query on a raw connection (read-write, so that a hot
 * journal left by a failed write is rolled back as any later user would);
 * -1 on any error. */
static int64_t q_i64(const char *db, const char *sql) {
  sqlite3 *c = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(c, 2000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(c);
  return v;
}

static int integrity_ok(const char *db) {
  sqlite3 *c = NULL;
  int ok = 0;
  if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char *t = sqlite3_column_text(st, 0);
      ok = t != NULL && strcmp((const char *)t, "ok") == 0;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(c);
  return ok;
}

static void assert_one_line(const rs_err *e) {
  ck_assert_msg(e->msg[0] != '\0', "an error without a message");
  ck_assert_msg(strchr(e->msg, '\n') == NULL, "a message of several lines: %s", e->msg);
}

/* Prints each distinct outcome of a fault family once (the matrix). */
#define SEEN_MAX 64
static char seen[SEEN_MAX][160];
static int n_seen;
static void report(const char *family, const char *what) {
  char line[160];
  snprintf(line, sizeof line, "%s | %s", family, what);
  /* Numbers vary with k (line numbers, counts): compare without digits. */
  char key[160];
  size_t j = 0;
  for (size_t i = 0; line[i] && j + 1 < sizeof key; i++)
    if (line[i] < '0' || line[i] > '9') key[j++] = line[i];
  key[j] = '\0';
  for (int i = 0; i < n_seen; i++)
    if (strcmp(seen[i], key) == 0) return;
  if (n_seen < SEEN_MAX) snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
  printf("fault: %s\n", line);
  fflush(stdout);
}

/* ---- a small run ---------------------------------------------------------- */

#define SMALL_ORDERS 2000  /* over the day: about 200 in the horizon */
#define SMALL_DRIVERS 40

static void small_scenario(sim_scenario *sc, const char *out, const char *dispatch) {
  sim_scenario_defaults(sc);
  sc->synthetic_orders = SMALL_ORDERS;
  sc->drivers = SMALL_DRIVERS;
  sc->from_s = 7 * 3600;
  sc->to_s = 9 * 3600;
  snprintf(sc->dispatch, sizeof sc->dispatch, "%s", dispatch);
  snprintf(sc->out, sizeof sc->out, "%s", out);
}

/* The KPIs a run must reproduce exactly (not the solver's wall times). */
static int same_kpis(const sim_kpis *a, const sim_kpis *b) {
  return a->orders == b->orders && a->matched == b->matched && a->completed == b->completed &&
         a->cancelled == b->cancelled && a->expired == b->expired && a->open == b->open &&
         a->income == b->income && a->events == b->events && a->drivers == b->drivers &&
         a->empty_km == b->empty_km && a->solve_ticks == b->solve_ticks;
}

/* A whole run as `ridesim run` does it (run/lifecycle.h); 0 or the first
 * error (message in e). finished: the results were written. */
static int run_small(const char *db, const char *dispatch, sim_kpis *k, int *finished,
                     rs_err *e) {
  sim_scenario sc;
  small_scenario(&sc, db, dispatch);
  run_life_opts o;
  memset(&o, 0, sizeof o);
  o.sc = &sc;
  o.version = "test";
  run_life l;
  run_life_init(&l, &o);
  int rc = run_life_exec(&l, e);
  *finished = l.written;
  *k = l.k;
  run_life_close(&l);
  return rc;
}

static void alloc_walk(const char *dispatch) {
  char db[600];
  in_tmp(db, sizeof db, "alloc.db");
  rs_err e;
  sim_kpis base, k;
  int finished;
  rm_db(db);
  alloc_count = 0;
  alloc_fail_at = 0;
  alloc_armed = 1;
  int rc = run_small(db, dispatch, &base, &finished, &e);
  alloc_armed = 0;
  ck_assert_msg(rc == 0, "undisturbed run: %s", e.msg);
  long n_alloc = alloc_count;
  ck_assert_int_gt(n_alloc, 0);
  long n_nomem = 0, n_other = 0, n_graceful = 0;
  for (long kk = 1;; kk++) {
    rm_db(db);
    rs_err_clear(&e);
    alloc_count = 0;
    alloc_failed = 0;
    alloc_fail_at = kk;
    alloc_armed = 1;
    rc = run_small(db, dispatch, &k, &finished, &e);
    alloc_armed = 0;
    int64_t completed = access(db, F_OK) == 0
                            ? q_i64(db, "SELECT count(*) FROM runs WHERE status='completed'")
                            : 0;
    if (alloc_failed == 0) {
      /* Past the last allocation: the run is the undisturbed one. */
      ck_assert_msg(rc == 0, "k=%ld: no failure injected, yet: %s", kk, e.msg);
      ck_assert(same_kpis(&k, &base));
      ck_assert_int_eq(completed, 1);
      break;
    }
    ck_assert_msg(kk <= n_alloc + 1, "k=%ld: more allocations than the undisturbed run's %ld",
                  kk, n_alloc);
    if (rc != 0) {
      assert_one_line(&e);
      ck_assert_msg(completed <= 0, "k=%ld: failed run (%s) left a 'completed' run", kk,
                    e.msg);
      if (rc == RS_ENOMEM) n_nomem++;
      else n_other++;
      char what[160];
      snprintf(what, sizeof what, "%s: %.120s", rs_err_name(rc), e.msg);
      report(dispatch, what);
    } else {
      /* The failure was absorbed: the result must not change. */
      ck_assert_msg(same_kpis(&k, &base), "k=%ld: failure absorbed but the KPIs differ", kk);
      n_graceful++;
    }
  }
  rm_db(db);
  printf("fault: alloc %s | %ld allocations; %ld failed with RS_ENOMEM, %ld with another "
         "code, %ld absorbed with identical KPIs\n",
         dispatch, n_alloc, n_nomem, n_other, n_graceful);
}

START_TEST(test_alloc_fcfs) { alloc_walk("fcfs-nearest"); }
END_TEST

START_TEST(test_alloc_batch) { alloc_walk("batch-distance"); }
END_TEST

/* ---- trip store and results fixtures -------------------------------------- */

static city_def manhattan;

/* A small TLC-like CSV of n rows (minutes apart), one junk row. */
static void write_csv(const char *path, int n, int hour) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "pickup_datetime,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon\n");
  for (int i = 0; i < n; i++)
    fprintf(f, "2016-02-01 %02d:%02d:%02d,%.5f,%.5f,%.5f,%.5f\n", hour, i / 60 % 60, i % 60,
            40.75 + 0.00001 * i, -73.98, 40.72, -74.0 + 0.00001 * i);
  fprintf(f, "2016-02-01 %02d:00:00,0,0,0,0\n", hour);
  ck_assert_int_eq(fclose(f), 0);
}

/* A store holding one import of `rows` trips (previous content). */
static void make_store(const char *path, const char *csv, int rows) {
  rm_db(path);
  write_csv(csv, rows, 8);
  rs_err e;
  city_store *st = NULL;
  ck_assert_msg(city_store_open(path, CITY_STORE_WRITE, &manhattan, &st, &e) == 0, "%s", e.msg);
  city_import_opts o = {CITY_FMT_CSV, NULL, 0, 0};
  city_import_stats s;
  ck_assert_msg(city_import_file(st, &manhattan, csv, &o, &s, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(s.accepted, rows);
  city_store_close(st);
}

/* Imports csv into the store at path; 0 or the error. */
static int import_into(const char *path, const char *csv, rs_err *e) {
  city_store *st = NULL;
  int rc = city_store_open(path, CITY_STORE_WRITE, &manhattan, &st, e);
  if (rc) return rc;
  city_import_opts o = {CITY_FMT_CSV, NULL, 0, 0};
  city_import_stats s;
  rc = city_import_file(st, &manhattan, csv, &o, &s, e);
  city_store_close(st);
  return rc;
}

#define BASE_ROWS 50
#define NEW_ROWS 400

/* After any import attempt: intact, and either as before or with the new
 * import whole. */
static void check_store(const char *path, int import_ok, const char *ctx) {
  ck_assert_msg(integrity_ok(path), "%s: integrity_check failed", ctx);
  int64_t trips = q_i64(path, "SELECT count(*) FROM trips");
  int64_t imports = q_i64(path, "SELECT count(*) FROM imports");
  int64_t first = q_i64(path, "SELECT count(*) FROM trips WHERE import_id ="
                              " (SELECT min(id) FROM imports)");
  ck_assert_msg(first == BASE_ROWS, "%s: previous rows damaged (%lld)", ctx, (long long)first);
  if (import_ok) {
    ck_assert_msg(trips == BASE_ROWS + NEW_ROWS && imports == 2, "%s: %lld trips", ctx,
                  (long long)trips);
  } else {
    ck_assert_msg(trips == BASE_ROWS && imports == 1,
                  "%s: failed import left %lld trips, %lld imports", ctx, (long long)trips,
                  (long long)imports);
  }
  /* And the project still reads it. */
  rs_err e;
  city_store *st = NULL;
  ck_assert_msg(city_store_open(path, CITY_STORE_READ, NULL, &st, &e) == 0, "%s: %s", ctx,
                e.msg);
  city_trip *t = NULL;
  size_t n = 0;
  ck_assert_msg(city_store_load(st, INT64_MIN, INT64_MAX, &t, &n, &e) == 0, "%s", e.msg);
  ck_assert_int_eq((int64_t)n, trips);
  free(t);
  city_store_close(st);
}

/* A finished engine of the small scenario, for results writing. */
typedef struct {
  run_input in;
  run_ctx *r;
  sim_kpis k;
  sim_scenario sc;
} small_engine;

static void small_engine_new(small_engine *s) {
  rs_err e;
  small_scenario(&s->sc, "unused.db", "fcfs-nearest");
  ck_assert_msg(run_input_load(&s->sc, 0, &s->in, &e) == 0, "%s", e.msg);
  ck_assert_msg(run_ctx_new(&s->sc, &s->in, &s->r, &e) == 0, "%s", e.msg);
  int rc;
  while ((rc = sim_engine_step(s->r->eng, INT64_MAX, 1 << 20, &e)) == SIM_STEP_MORE) {
  }
  ck_assert_int_eq(rc, SIM_STEP_DONE);
  sim_engine_kpis(s->r->eng, &s->k);
}

static void small_engine_free(small_engine *s) {
  run_ctx_free(s->r);
  run_input_free(&s->in);
}

/* One results write; 0 or the error. *finished: finish_run succeeded. */
static int write_results(const char *db, small_engine *s, int *finished, rs_err *e) {
  sim_results *res = NULL;
  *finished = 0;
  int rc = sim_results_open(db, &res, e);
  int64_t id = 0;
  if (rc == 0)
    rc = sim_results_begin_run(res, "{}", 1, "test", "fcfs-nearest", "stay",
                               sim_engine_from(s->r->eng), sim_engine_to(s->r->eng), &id, e);
  if (rc == 0) {
    rc = sim_results_finish_run(res, id, s->r->eng, &s->k, "completed", 0.5, NULL, e);
    *finished = rc == 0;
  }
  sim_results_close(res);
  return rc;
}

/* A results DB is consistent: run 1 (written before the faults) whole, and
 * every 'completed' run with all its orders, drivers and kpi_series. */
static void check_results(const char *db, int64_t max_completed, const char *ctx) {
  ck_assert_msg(integrity_ok(db), "%s: integrity_check failed", ctx);
  int64_t bad = q_i64(db, "SELECT count(*) FROM runs r WHERE status='completed' AND ("
                          " (SELECT count(*) FROM orders o WHERE o.run_id=r.id) != r.orders OR"
                          " (SELECT count(*) FROM drivers d WHERE d.run_id=r.id) != r.drivers OR"
                          " (SELECT count(*) FROM kpi_series k WHERE k.run_id=r.id) = 0)");
  ck_assert_msg(bad == 0, "%s: %lld completed runs without all their rows", ctx,
                (long long)bad);
  int64_t done = q_i64(db, "SELECT count(*) FROM runs WHERE status='completed'");
  ck_assert_msg(done >= 1 && done <= max_completed, "%s: %lld completed runs (at most %lld)",
                ctx, (long long)done, (long long)max_completed);
  ck_assert_int_eq(q_i64(db, "SELECT status='completed' FROM runs WHERE id=1"), 1);
}

static void make_results(const char *path, small_engine *s) {
  rm_db(path);
  rs_err e;
  int finished;
  ck_assert_msg(write_results(path, s, &finished, &e) == 0, "%s", e.msg);
}

/* ---- SQLite's allocator --------------------------------------------------- */

static sqlite3_mem_methods sq_default;
static long sq_count, sq_fail_at, sq_failed, sq_live;
static int sq_armed;

static int sq_fails_now(void) {
  if (!sq_armed) return 0;
  if (++sq_count == sq_fail_at) {
    sq_failed++;
    return 1;
  }
  return 0;
}
static void *sq_malloc(int n) {
  if (sq_fails_now()) return NULL;
  void *p = sq_default.xMalloc(n);
  if (p) sq_live++;
  return p;
}
static void sq_free(void *p) {
  if (p) sq_live--;
  sq_default.xFree(p);
}
static void *sq_realloc(void *p, int n) {
  if (sq_fails_now()) return NULL;
  return sq_default.xRealloc(p, n);
}
static int sq_size(void *p) { return sq_default.xSize(p); }
static int sq_roundup(int n) { return sq_default.xRoundup(n); }
static int sq_init(void *a) { return sq_default.xInit(a); }
static void sq_shutdown(void *a) { sq_default.xShutdown(a); }

/* The child's walk over k; returns the exit status for the parent. */
static int sqlite_malloc_child(void) {
  /* With CK_FORK=no an earlier test may have started SQLite already. */
  sqlite3_shutdown();
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_default) != SQLITE_OK) return 10;
  sqlite3_mem_methods m = {sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup,
                           sq_init, sq_shutdown, NULL};
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK) return 11;
  if (sqlite3_initialize() != SQLITE_OK) return 12;

  char store[600], pristine[600], csv0[600], csv[600], res[600], res0[600];
  in_tmp(store, sizeof store, "sqm-store.db");
  in_tmp(pristine, sizeof pristine, "sqm-store0.db");
  in_tmp(csv0, sizeof csv0, "sqm-base.csv");
  in_tmp(csv, sizeof csv, "sqm-new.csv");
  in_tmp(res, sizeof res, "sqm-results.db");
  in_tmp(res0, sizeof res0, "sqm-results0.db");
  make_store(pristine, csv0, BASE_ROWS);
  write_csv(csv, NEW_ROWS, 9);
  small_engine s;
  small_engine_new(&s);
  make_results(res0, &s);

  /* Count the allocations of an undisturbed attempt, then walk k. A walk
   * over every k of thousands costs minutes; beyond the first 600, k is
   * sampled at 400 points spread over the rest. */
  rs_err e;
  int finished;
  restore_db(pristine, store);
  restore_db(res0, res);
  sq_count = 0;
  sq_fail_at = 0;
  sq_armed = 1;
  int rc = import_into(store, csv, &e);
  if (rc == 0) rc = write_results(res, &s, &finished, &e);
  sq_armed = 0;
  if (rc != 0) {
    fprintf(stderr, "undisturbed: %s\n", e.msg);
    return 13;
  }
  long total = sq_count;
  long n_fail = 0, n_ok = 0;
  for (long kk = 1; kk <= total + 1;) {
    restore_db(pristine, store);
    restore_db(res0, res);
    rs_err_clear(&e);
    sq_count = 0;
    sq_failed = 0;
    sq_fail_at = kk;
    sq_armed = 1;
    int irc = import_into(store, csv, &e);
    if (irc != 0) {
      assert_one_line(&e);
      char what[160];
      snprintf(what, sizeof what, "import %s: %.120s", rs_err_name(irc), e.msg);
      report("sqlite malloc", what);
    }
    rs_err_clear(&e);
    int wrc = write_results(res, &s, &finished, &e);
    if (wrc != 0) {
      assert_one_line(&e);
      char what[160];
      snprintf(what, sizeof what, "results %s: %.120s", rs_err_name(wrc), e.msg);
      report("sqlite malloc", what);
    }
    sq_armed = 0;
    char ctx[64];
    snprintf(ctx, sizeof ctx, "sqlite malloc k=%ld", kk);
    check_store(store, irc == 0, ctx);
    check_results(res, finished ? 2 : 1, ctx);
    if (irc || wrc) n_fail++;
    else n_ok++;
    kk += kk < 600 ? 1 : (total - 600) / 400 + 1;
  }
  small_engine_free(&s);
  /* Every connection and statement closed: SQLite holds nothing. */
  if (sqlite3_shutdown() != SQLITE_OK) return 14;
  printf("fault: sqlite malloc | %ld allocations per attempt; %ld attempts failed cleanly, "
         "%ld absorbed; %ld blocks left after shutdown\n",
         total, n_fail, n_ok, sq_live);
  fflush(stdout);
  return sq_live == 0 ? 0 : 15;
}

START_TEST(test_sqlite_malloc) {
  fflush(stdout);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int rc = sqlite_malloc_child();
    fflush(stdout);
    _exit(rc);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status), "the child died (signal %d)",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ck_assert_msg(WEXITSTATUS(status) == 0, "the child failed with %d", WEXITSTATUS(status));
}
END_TEST

/* ---- I/O failures through the VFS shim ------------------------------------ */

static void io_walk_store(int kind, const char *name) {
  char store[600], pristine[600], csv0[600], csv[600];
  in_tmp(store, sizeof store, "io-store.db");
  in_tmp(pristine, sizeof pristine, "io-store0.db");
  in_tmp(csv0, sizeof csv0, "io-base.csv");
  in_tmp(csv, sizeof csv, "io-new.csv");
  make_store(pristine, csv0, BASE_ROWS);
  write_csv(csv, NEW_ROWS, 9);
  long fails = 0;
  for (int64_t n = 0;; n++) {
    restore_db(pristine, store);
    rs_err e;
    rs_err_clear(&e);
    vfs_shim_fail(kind, n);
    int rc = import_into(store, csv, &e);
    int64_t failed = vfs_shim_failed();
    vfs_shim_fail(SHIM_FAIL_NONE, 0);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "%s after %lld", name, (long long)n);
    if (rc != 0) {
      assert_one_line(&e);
      char what[160];
      snprintf(what, sizeof what, "import %s: %.120s", rs_err_name(rc), e.msg);
      report(name, what);
      fails++;
    } else {
      ck_assert_msg(failed == 0 || n > 0, "%s: import succeeded through a failure", ctx);
    }
    check_store(store, rc == 0, ctx);
    if (failed == 0) break;
    ck_assert_msg(n < 100000, "%s: no end", ctx);
  }
  printf("fault: %s | trip store import: %ld failing points, each a clean error, store intact\n",
         name, fails);
}

static void io_walk_results(int kind, const char *name) {
  char db[600], pristine[600];
  in_tmp(db, sizeof db, "io-results.db");
  in_tmp(pristine, sizeof pristine, "io-results0.db");
  small_engine s;
  small_engine_new(&s);
  make_results(pristine, &s);
  long fails = 0;
  for (int64_t n = 0;; n++) {
    restore_db(pristine, db);
    rs_err e;
    rs_err_clear(&e);
    int finished;
    vfs_shim_fail(kind, n);
    int rc = write_results(db, &s, &finished, &e);
    int64_t failed = vfs_shim_failed();
    vfs_shim_fail(SHIM_FAIL_NONE, 0);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "%s after %lld", name, (long long)n);
    if (rc != 0) {
      assert_one_line(&e);
      char what[160];
      snprintf(what, sizeof what, "results %s: %.120s", rs_err_name(rc), e.msg);
      report(name, what);
      fails++;
    }
    check_results(db, finished ? 2 : 1, ctx);
    if (failed == 0) break;
    ck_assert_msg(n < 100000, "%s: no end", ctx);
  }
  small_engine_free(&s);
  printf("fault: %s | results write: %ld failing points, each a clean error, no false "
         "'completed'\n",
         name, fails);
}

START_TEST(test_io_write_store) { io_walk_store(SHIM_FAIL_WRITE, "xWrite SQLITE_FULL"); }
END_TEST
START_TEST(test_io_sync_store) { io_walk_store(SHIM_FAIL_SYNC, "xSync SQLITE_IOERR_FSYNC"); }
END_TEST
START_TEST(test_io_write_results) { io_walk_results(SHIM_FAIL_WRITE, "xWrite SQLITE_FULL"); }
END_TEST
START_TEST(test_io_sync_results) {
  io_walk_results(SHIM_FAIL_SYNC, "xSync SQLITE_IOERR_FSYNC");
}
END_TEST

/* ---- read-only, locked and corrupt files ---------------------------------- */

static int64_t file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

START_TEST(test_readonly) {
  char store[600], csv0[600], csv[600], res[600], fresh[600];
  in_tmp(store, sizeof store, "ro-store.db");
  in_tmp(csv0, sizeof csv0, "ro-base.csv");
  in_tmp(csv, sizeof csv, "ro-new.csv");
  in_tmp(res, sizeof res, "ro-results.db");
  in_tmp(fresh, sizeof fresh, "ro-fresh.db");
  make_store(store, csv0, BASE_ROWS);
  write_csv(csv, NEW_ROWS, 9);
  small_engine s;
  small_engine_new(&s);
  make_results(res, &s);
  int64_t store_size = file_size(store);
  rm_db(fresh);

  vfs_shim_readonly(1);
  rs_err e;
  rs_err_clear(&e);
  int rc = import_into(store, csv, &e);
  ck_assert_int_ne(rc, 0);
  assert_one_line(&e);
  report("read-only file", e.msg);
  /* Reading still works. */
  city_store *st = NULL;
  ck_assert_msg(city_store_open(store, CITY_STORE_READ, NULL, &st, &e) == 0, "%s", e.msg);
  city_store_close(st);
  int finished;
  rs_err_clear(&e);
  rc = write_results(res, &s, &finished, &e);
  ck_assert_int_ne(rc, 0);
  assert_one_line(&e);
  report("read-only file", e.msg);
  rs_err_clear(&e);
  rc = write_results(fresh, &s, &finished, &e);
  ck_assert_int_ne(rc, 0);
  assert_one_line(&e);
  report("read-only directory (new results DB)", e.msg);
  vfs_shim_readonly(0);

  ck_assert_int_eq(file_size(store), store_size);
  check_store(store, 0, "read-only");
  check_results(res, 1, "read-only");
  small_engine_free(&s);
}
END_TEST

/* Holds BEGIN EXCLUSIVE on db from another connection. */
static sqlite3 *lock_db(const char *db) {
  sqlite3 *c = NULL;
  ck_assert_int_eq(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(c, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  return c;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

START_TEST(test_locked) {
  char store[600], csv0[600], csv[600], res[600];
  in_tmp(store, sizeof store, "lk-store.db");
  in_tmp(csv0, sizeof csv0, "lk-base.csv");
  in_tmp(csv, sizeof csv, "lk-new.csv");
  in_tmp(res, sizeof res, "lk-results.db");
  make_store(store, csv0, BASE_ROWS);
  write_csv(csv, NEW_ROWS, 9);
  small_engine s;
  small_engine_new(&s);
  make_results(res, &s);

  /* Both writers are tried before anything is asserted, so that one
   * report covers both. */
  sqlite3 *holder = lock_db(store);
  rs_err es;
  rs_err_clear(&es);
  double t0 = now_s();
  int rc_store = import_into(store, csv, &es);
  double wait_store = now_s() - t0;
  sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(holder);
  char what[200];
  snprintf(what, sizeof what, "%s after %.1f s: %.120s", rs_err_name(rc_store), wait_store,
           es.msg);
  report("trip store locked (BEGIN EXCLUSIVE)", what);

  holder = lock_db(res);
  rs_err er;
  rs_err_clear(&er);
  int finished;
  t0 = now_s();
  int rc_res = write_results(res, &s, &finished, &er);
  double wait_res = now_s() - t0;
  sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(holder);
  snprintf(what, sizeof what, "%s after %.1f s: %.120s", rs_err_name(rc_res), wait_res, er.msg);
  report("results DB locked (BEGIN EXCLUSIVE)", what);

  check_store(store, 0, "locked");
  check_results(res, 1, "locked");
  ck_assert_int_ne(rc_store, 0);
  assert_one_line(&es);
  ck_assert_int_ne(rc_res, 0);
  assert_one_line(&er);
  ck_assert_msg(wait_store >= 1.0 && wait_store < 30.0, "store gave up after %.1f s", wait_store);
  ck_assert_msg(wait_res >= 1.0 && wait_res < 30.0, "results gave up after %.1f s", wait_res);
  /* The message must say what is wrong: a lock, not a foreign file. */
  ck_assert_msg(strstr(es.msg, "locked") != NULL || strstr(es.msg, "busy") != NULL,
                "a locked store is reported as: %s", es.msg);
  ck_assert_msg(strstr(er.msg, "locked") != NULL || strstr(er.msg, "busy") != NULL,
                "a locked results DB is reported as: %s", er.msg);
  small_engine_free(&s);
}
END_TEST

/* Writes n pseudo-random bytes (fixed seed) at offset off of a file. */
static void scribble(const char *path, int64_t off, size_t n, int truncate_first) {
  int fd = open(path, O_WRONLY | O_CREAT | (truncate_first ? O_TRUNC : 0), 0644);
  ck_assert_int_ge(fd, 0);
  uint32_t x = 2463534242u;
  unsigned char buf[4096];
  while (n > 0) {
    size_t m = n < sizeof buf ? n : sizeof buf;
    for (size_t i = 0; i < m; i++) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      buf[i] = (unsigned char)x;
    }
    ck_assert_int_eq(pwrite(fd, buf, m, (off_t)off), (ssize_t)m);
    off += (int64_t)m;
    n -= m;
  }
  close(fd);
}

/* Every way the project opens a database, on one damaged file: no crash,
 * and each failure a one-line message. */
static void try_all(const char *path, const char *label, const char *csv) {
  rs_err e;
  char what[200];
  city_store *st = NULL;
  rs_err_clear(&e);
  int rc = city_store_open(path, CITY_STORE_READ, NULL, &st, &e);
  if (rc == 0) {
    city_trip *t = NULL;
    size_t n = 0;
    rc = city_store_load(st, INT64_MIN, INT64_MAX, &t, &n, &e);
    free(t);
    city_store_summary sum;
    if (rc == 0) rc = city_store_summarize(st, &sum, &e);
    city_store_close(st);
  }
  if (rc) assert_one_line(&e);
  snprintf(what, sizeof what, "store read: %s %.120s", rc ? rs_err_name(rc) : "ok",
           rc ? e.msg : "");
  report(label, what);
  rs_err_clear(&e);
  rc = import_into(path, csv, &e);
  if (rc) assert_one_line(&e);
  snprintf(what, sizeof what, "import: %s %.120s", rc ? rs_err_name(rc) : "ok", rc ? e.msg : "");
  report(label, what);
  sim_results *r = NULL;
  rs_err_clear(&e);
  rc = sim_results_open(path, &r, &e);
  sim_results_close(r);
  if (rc) assert_one_line(&e);
  snprintf(what, sizeof what, "results open: %s %.120s", rc ? rs_err_name(rc) : "ok",
           rc ? e.msg : "");
  report(label, what);
}

START_TEST(test_corrupt) {
  char path[600], csv0[600], csv[600];
  in_tmp(path, sizeof path, "bad.db");
  in_tmp(csv0, sizeof csv0, "bad-base.csv");
  in_tmp(csv, sizeof csv, "bad-new.csv");
  write_csv(csv, 20, 9);

  /* Random bytes: refused, and left as they were. */
  rm_db(path);
  scribble(path, 0, 8192, 1);
  try_all(path, "random bytes (8 KiB)", csv);
  ck_assert_int_eq(file_size(path), 8192);

  /* A SQLite header cut short. */
  make_store(path, csv0, BASE_ROWS);
  ck_assert_int_eq(truncate(path, 60), 0);
  try_all(path, "store truncated to 60 bytes", csv);

  /* The first page only. */
  make_store(path, csv0, BASE_ROWS);
  ck_assert_int_eq(truncate(path, 4096), 0);
  try_all(path, "store truncated to its first page", csv);

  /* Garbage over the second and later pages. */
  make_store(path, csv0, 2000);
  scribble(path, 4096, 8192, 0);
  try_all(path, "store with garbage pages", csv);

  /* A results DB with a damaged header page. */
  small_engine s;
  small_engine_new(&s);
  make_results(path, &s);
  scribble(path, 100, 200, 0);
  try_all(path, "results DB with a damaged first page", csv);
  small_engine_free(&s);
  rm_db(path);
}
END_TEST

static void setup(void) {
  ck_assert_ptr_nonnull(test_tmpdir(tmp, sizeof tmp));
  rs_err e;
  ck_assert_int_eq(city_def_builtin("manhattan", &manhattan, &e), 0);
}

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
}

static void setup_shim(void) {
  setup();
  ck_assert_int_eq(vfs_shim_install(), SQLITE_OK);
}

static Suite *faults_suite(void) {
  Suite *s = suite_create("faults");
  TCase *tc = tcase_create("alloc");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, test_alloc_fcfs);
  tcase_add_test(tc, test_alloc_batch);
  suite_add_tcase(s, tc);

  tc = tcase_create("sqlite_malloc");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, test_sqlite_malloc);
  suite_add_tcase(s, tc);

  tc = tcase_create("io");
  tcase_add_checked_fixture(tc, setup_shim, teardown);
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, test_io_write_store);
  tcase_add_test(tc, test_io_sync_store);
  tcase_add_test(tc, test_io_write_results);
  tcase_add_test(tc, test_io_sync_results);
  tcase_add_test(tc, test_readonly);
  suite_add_tcase(s, tc);

  tc = tcase_create("files");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_locked);
  tcase_add_test(tc, test_corrupt);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(faults_suite()); }

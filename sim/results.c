/*
 * results: the results database, written and read; see results.h.
 *
 * Speed: rows go through prepared statements (orders 64 rows a statement),
 * inside one transaction, with synchronous=NORMAL in WAL mode: durable at each commit
 * point that matters (the 'running' row, the final transaction), without an
 * fsync per row. 60,000 orders write in well under 100 ms.
 *
 * Reading: each reader prepares its statement, steps it through the
 * caller's callback and finalises it; a report reads a few dozen runs, so
 * statements are not kept between calls. The reading connection of
 * sim_results_open_read is read-only and creates nothing, so a report never
 * changes the DB it reads (nor its schema version).
 */
#include "sim/results.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/rs_vec.h"

#define RESULTS_BUSY_MS 5000 /* wait this long for another writer to finish */

#define STR_(x) #x
#define STR(x) STR_(x)

struct sim_results {
  sqlite3 *db;          /* the connection (read-only from sim_results_open_read) */
  char path[1024];      /* as given, for messages */
};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started TEXT, scenario TEXT,"
    " seed INTEGER, version TEXT, status TEXT, wall_seconds REAL, events INTEGER,"
    " dispatch TEXT, reposition TEXT, t_from INTEGER, t_to INTEGER, orders INTEGER,"
    " drivers INTEGER, kpis TEXT, warmup_s INTEGER, drain_s INTEGER);"
    "CREATE TABLE IF NOT EXISTS orders(run_id INTEGER, order_id INTEGER, status TEXT,"
    " t_request INTEGER, t_match INTEGER, t_pickup INTEGER, t_dropoff INTEGER,"
    " driver INTEGER, pickup_m REAL, eta_s REAL, fare REAL,"
    " PRIMARY KEY(run_id, order_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS drivers(run_id INTEGER, driver INTEGER, income REAL,"
    " online_s INTEGER, idle_s INTEGER, pickup_s INTEGER, occupied_s INTEGER,"
    " reposition_s INTEGER, offline_s INTEGER, trips INTEGER, empty_m REAL,"
    " occupied_m REAL, PRIMARY KEY(run_id, driver)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS kpi_series(run_id INTEGER, t_start INTEGER,"
    " requests INTEGER, matched INTEGER, completed INTEGER, cancelled INTEGER,"
    " expired INTEGER, income REAL, wait_mean_s REAL, pickup_m_mean REAL,"
    " idle_drivers_mean REAL, busy_drivers_mean REAL,"
    " PRIMARY KEY(run_id, t_start)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS solver_ticks(run_id INTEGER, t INTEGER, orders INTEGER,"
    " drivers INTEGER, edges INTEGER, solve_us REAL);"
    "CREATE TABLE IF NOT EXISTS unserved_cells(run_id INTEGER, cell INTEGER,"
    " q INTEGER, r INTEGER, lat REAL, lng REAL, edge_m REAL, requests INTEGER,"
    " unserved INTEGER, PRIMARY KEY(run_id, cell)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sweep_runs(run_id INTEGER PRIMARY KEY, run_key TEXT NOT NULL,"
    " plan_index INTEGER);"
    "CREATE INDEX IF NOT EXISTS sweep_runs_key ON sweep_runs(run_key);"
    "INSERT OR IGNORE INTO meta VALUES('app', 'ridesim-results');"
    "INSERT OR IGNORE INTO meta VALUES('schema_version', '" STR(SIM_RESULTS_SCHEMA) "');"
    /* an older file has just gained unserved_cells (1) or sweep_runs (2);
     * a schema 3 file's runs gain warmup_s and drain_s (add_run_columns) */
    "UPDATE meta SET value = '" STR(SIM_RESULTS_SCHEMA) "' WHERE key = 'schema_version'"
    " AND CAST(value AS INTEGER) < " STR(SIM_RESULTS_SCHEMA) ";";

static int db_fail(sim_results *r, rs_err *e, const char *what) {
  return rs_err_set(e, RS_EDB, "%s: %s: %s", r->path, what, sqlite3_errmsg(r->db));
}

/* The columns schema 3 added to runs, added to a runs table of an older
 * file (whose rows keep NULL there: a run of before had no warm-up and
 * no drain, which NULL says as "not recorded"). */
static int add_run_columns(sim_results *r, char **msg) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "SELECT warmup_s, drain_s FROM runs LIMIT 0", -1, &st, NULL) ==
      SQLITE_OK) {
    sqlite3_finalize(st);
    return SQLITE_OK;
  }
  return sqlite3_exec(r->db, "ALTER TABLE runs ADD COLUMN warmup_s INTEGER;"
                             " ALTER TABLE runs ADD COLUMN drain_s INTEGER;",
                      NULL, NULL, msg);
}

const char *sim_order_status_name(int32_t st) {
  switch (st) {
  case SIM_ORDER_WAITING: return "waiting";
  case SIM_ORDER_MATCHED: return "matched";
  case SIM_ORDER_ONBOARD: return "onboard";
  case SIM_ORDER_COMPLETED: return "completed";
  case SIM_ORDER_CANCELLED: return "cancelled";
  case SIM_ORDER_EXPIRED: return "expired";
  case SIM_ORDER_OPEN: return "open";
  default: return "unknown";
  }
}

/* A results DB holds our meta row; an empty file or a new DB is fine. */
static int check_foreign(sim_results *r, rs_err *e) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(r->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOTADB)
      return rs_err_set(e, RS_EFORMAT, "%s: not a SQLite database", r->path);
    return db_fail(r, e, "cannot read");
  }
  rc = sqlite3_step(st);
  int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) {
    int code = sqlite3_errcode(r->db);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      return rs_err_set(e, RS_EFORMAT, "%s: not a SQLite database (or a damaged one)", r->path);
    if (code == SQLITE_NOMEM) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", r->path);
    return db_fail(r, e, "cannot read");
  }
  if (n == 0) return 0;
  rc = sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = 'app'", -1, &st, NULL);
  int ours = 0;
  if (rc != SQLITE_OK && sqlite3_errcode(r->db) != SQLITE_ERROR) {
    /* not "no such table": locked, out of memory, damaged */
    int code = sqlite3_errcode(r->db);
    if (code == SQLITE_NOMEM) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", r->path);
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
      return rs_err_set(e, RS_EFORMAT, "%s: a damaged database", r->path);
    return db_fail(r, e, "cannot read");
  }
  if (rc == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char *v = sqlite3_column_text(st, 0);
      ours = v != NULL && strcmp((const char *)v, "ridesim-results") == 0;
    }
    sqlite3_finalize(st);
  }
  if (!ours)
    return rs_err_set(e, RS_EFORMAT, "%s: exists and is not a ridesim results database",
                      r->path);
  return 0;
}

int sim_results_open(const char *path, sim_results **out, rs_err *e) {
  *out = NULL;
  sim_results *r = calloc(1, sizeof *r);
  if (r == NULL) return rs_err_set(e, RS_ENOMEM, "results: out of memory");
  snprintf(r->path, sizeof r->path, "%s", path);
  int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot open for writing: %s", path,
                    r->db ? sqlite3_errmsg(r->db) : "out of memory");
    sim_results_close(r);
    return rc;
  }
  sqlite3_busy_timeout(r->db, RESULTS_BUSY_MS);
  if ((rc = check_foreign(r, e)) != 0) {
    sim_results_close(r);
    return rc;
  }
  char *msg = NULL;
  if (sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA cache_size=-65536;", NULL, NULL,
                   &msg) != SQLITE_OK ||
      sqlite3_exec(r->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK ||
      add_run_columns(r, &msg) != SQLITE_OK) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot write: %s", path, msg ? msg : sqlite3_errmsg(r->db));
    sqlite3_free(msg);
    sim_results_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

int sim_results_open_read(const char *path, sim_results **out, rs_err *e) {
  *out = NULL;
  struct stat sb;
  if (stat(path, &sb) != 0) return rs_err_set(e, RS_ENOENT, "%s: no such file", path);
  sim_results *r = calloc(1, sizeof *r);
  if (r == NULL) return rs_err_set(e, RS_ENOMEM, "results: out of memory");
  snprintf(r->path, sizeof r->path, "%s", path);
  int rc;
  if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot open: %s", path,
                    r->db ? sqlite3_errmsg(r->db) : "out of memory");
    sim_results_close(r);
    return rc;
  }
  sqlite3_busy_timeout(r->db, RESULTS_BUSY_MS);
  sqlite3_stmt *st;
  int ours = 0;
  if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = 'app'", -1, &st, NULL) ==
      SQLITE_OK) {
    ours = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
           strcmp((const char *)sqlite3_column_text(st, 0), "ridesim-results") == 0;
    sqlite3_finalize(st);
  }
  if (!ours) {
    sim_results_close(r);
    return rs_err_set(e, RS_EFORMAT, "%s: not a ridesim results database", path);
  }
  *out = r;
  return 0;
}

void sim_results_close(sim_results *r) {
  if (r == NULL) return;
  sqlite3_close(r->db);
  free(r);
}

/* Inserts the run's row; with a key, its sweep_runs row too, in the same
 * transaction. */
static int begin_run(sim_results *r, const char *key, int plan_index, const char *scenario_json,
                     uint64_t seed, const char *version, const char *dispatch,
                     const char *reposition, int64_t t_from, int64_t t_to, int64_t *run_id,
                     rs_err *e);

int sim_results_begin_run(sim_results *r, const char *scenario_json, uint64_t seed,
                          const char *version, const char *dispatch,
                          const char *reposition, int64_t t_from, int64_t t_to,
                          int64_t *run_id, rs_err *e) {
  return begin_run(r, NULL, 0, scenario_json, seed, version, dispatch, reposition, t_from, t_to,
                   run_id, e);
}

int sim_results_begin_run_key(sim_results *r, const char *key, int plan_index,
                              const char *scenario_json, uint64_t seed, const char *version,
                              const char *dispatch, const char *reposition, int64_t t_from,
                              int64_t t_to, int64_t *run_id, rs_err *e) {
  if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot record the run");
  int rc = begin_run(r, key, plan_index, scenario_json, seed, version, dispatch, reposition,
                     t_from, t_to, run_id, e);
  if (rc == 0 && sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(r, e, "cannot record the run");
  if (rc != 0) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int begin_run(sim_results *r, const char *key, int plan_index, const char *scenario_json,
                     uint64_t seed, const char *version, const char *dispatch,
                     const char *reposition, int64_t t_from, int64_t t_to, int64_t *run_id,
                     rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db,
                         "INSERT INTO runs(started, scenario, seed, version, status, dispatch,"
                         " reposition, t_from, t_to) VALUES(?,?,?,?,'running',?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot record the run");
  char started[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
  sqlite3_bind_text(st, 1, started, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, scenario_json, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)seed);
  sqlite3_bind_text(st, 4, version, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, dispatch, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, reposition, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, t_from);
  sqlite3_bind_int64(st, 8, t_to);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return db_fail(r, e, "cannot record the run");
  *run_id = sqlite3_last_insert_rowid(r->db);
  if (key == NULL) return 0;
  if (sqlite3_prepare_v2(r->db, "INSERT INTO sweep_runs VALUES(?,?,?)", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(r, e, "cannot record the run's key");
  sqlite3_bind_int64(st, 1, *run_id);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, plan_index);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(r, e, "cannot record the run's key");
}

static void bind_opt_i64(sqlite3_stmt *st, int i, int64_t v) {
  if (v < 0) sqlite3_bind_null(st, i);
  else sqlite3_bind_int64(st, i, v);
}

static void bind_opt_double(sqlite3_stmt *st, int i, double v) {
  if (isfinite(v)) sqlite3_bind_double(st, i, v);
  else sqlite3_bind_null(st, i);
}

#define ORDER_COLS 11
#define ORDER_BATCH 64 /* rows per INSERT: one statement step for many rows */

/* Binds order i as the k-th row of statement st. */
static void bind_order(sqlite3_stmt *st, int k, int64_t run, const disp_order *o,
                       const sim_order_rec *rec) {
  int c = k * ORDER_COLS;
  sqlite3_bind_int64(st, c + 1, run);
  sqlite3_bind_int64(st, c + 2, o->id);
  sqlite3_bind_text(st, c + 3, sim_order_status_name(rec->status), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, c + 4, o->t_request);
  bind_opt_i64(st, c + 5, rec->t_match);
  bind_opt_i64(st, c + 6, rec->t_pickup);
  bind_opt_i64(st, c + 7, rec->t_dropoff);
  bind_opt_i64(st, c + 8, rec->driver);
  bind_opt_double(st, c + 9, rec->pickup_m);
  bind_opt_double(st, c + 10, rec->eta_s);
  sqlite3_bind_double(st, c + 11, o->fare);
}

/* Writes n order rows, the INSERTs prepared here; with `batches`, the
 * rows committed SIM_RESULTS_BATCH_ROWS at a time (see results.h, "Large
 * runs"), counted from *written (rows written before, carried over). Inside
 * a transaction the caller began. */
static int write_order_rows(sim_results *r, int64_t run, const disp_order *o,
                            const sim_order_rec *rec, size_t n, int batches, size_t *written,
                            rs_err *e) {
  char sql[64 + ORDER_BATCH * (2 * ORDER_COLS + 2)];
  int len = snprintf(sql, sizeof sql, "INSERT INTO orders VALUES");
  for (int k = 0; k < ORDER_BATCH; k++)
    len += snprintf(sql + len, sizeof sql - (size_t)len, "%s(?,?,?,?,?,?,?,?,?,?,?)",
                    k ? "," : "");
  sqlite3_stmt *batch, *one;
  if (sqlite3_prepare_v2(r->db, sql, -1, &batch, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot write orders");
  if (sqlite3_prepare_v2(r->db, "INSERT INTO orders VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &one,
                         NULL) != SQLITE_OK) {
    sqlite3_finalize(batch);
    return db_fail(r, e, "cannot write orders");
  }
  size_t i = 0;
  int rc = 0;
  for (; rc == 0 && i + ORDER_BATCH <= n; i += ORDER_BATCH) {
    for (int k = 0; k < ORDER_BATCH; k++) bind_order(batch, k, run, &o[i + k], &rec[i + k]);
    if (sqlite3_step(batch) != SQLITE_DONE) rc = db_fail(r, e, "cannot write orders");
    sqlite3_reset(batch);
    *written += ORDER_BATCH;
    /* a large run: its rows committed a bounded batch at a time, the run
     * still 'running' (see results.h, "Large runs") */
    if (rc == 0 && batches && *written % SIM_RESULTS_BATCH_ROWS == 0 &&
        sqlite3_exec(r->db, "COMMIT; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
      rc = db_fail(r, e, "cannot commit a batch of orders");
  }
  for (; rc == 0 && i < n; i++) {
    bind_order(one, 0, run, &o[i], &rec[i]);
    if (sqlite3_step(one) != SQLITE_DONE) rc = db_fail(r, e, "cannot write orders");
    sqlite3_reset(one);
    ++*written;
  }
  sqlite3_finalize(batch);
  sqlite3_finalize(one);
  return rc;
}

/* The orders the engine still holds: all of the run's without an order
 * stream, those it did not hand on with one. */
static int write_orders(sim_results *r, int64_t run, const sim_engine *s, rs_err *e) {
  size_t handed = sim_engine_n_handed(s);
  size_t n = sim_engine_n_requested(s) - handed; /* an interrupted run: those requested */
  size_t written = 0;
  return write_order_rows(r, run, sim_engine_orders(s), sim_engine_order_recs(s), n,
                          n + handed > SIM_RESULTS_BATCH_ROWS, &written, e);
}

/* ---------------------------------------------------------- order streams */

struct sim_results_stream {
  sim_results *r;       /* borrowed */
  int64_t run;          /* the run's id */
  int rows;             /* write the orders' rows (keep full or orders) */
  int32_t n_cells;      /* cells of the grid counted (0: none) */
  int64_t *req;         /* per cell: the orders handed on requested there */
  int64_t *lost;        /* ... and of those, expired or cancelled */
  size_t written;       /* rows written */
};

/* The sink: the rows of the orders handed on in their own transaction,
 * committed while the run is 'running' (results.h, "Large runs"). */
static int stream_orders(void *ctx, const disp_order *o, const sim_order_rec *rec, size_t n,
                         rs_err *e) {
  sim_results_stream *w = ctx;
  for (size_t i = 0; i < n && w->n_cells > 0; i++) {
    int32_t c = o[i].pcell;
    if (c < 0 || c >= w->n_cells) continue;
    w->req[c]++;
    if (rec[i].status == SIM_ORDER_EXPIRED || rec[i].status == SIM_ORDER_CANCELLED) w->lost[c]++;
  }
  if (!w->rows || n == 0) return 0;
  sim_results *r = w->r;
  if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot write orders");
  int rc = write_order_rows(r, w->run, o, rec, n, 1, &w->written, e);
  if (rc == 0 && sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(r, e, "cannot commit orders");
  if (rc != 0) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int sim_results_stream_new(sim_results *r, int64_t run_id, int keep, const city_grid *cells,
                           sim_results_stream **out, rs_err *e) {
  *out = NULL;
  sim_results_stream *w = calloc(1, sizeof *w);
  if (w == NULL) return rs_err_set(e, RS_ENOMEM, "results: out of memory");
  w->r = r;
  w->run = run_id;
  w->rows = keep <= SIM_RESULTS_ORDERS;
  if (cells != NULL) {
    w->n_cells = cells->n_cells;
    w->req = calloc((size_t)cells->n_cells + 1, sizeof *w->req);
    w->lost = calloc((size_t)cells->n_cells + 1, sizeof *w->lost);
    if (w->req == NULL || w->lost == NULL) {
      sim_results_stream_free(w);
      return rs_err_set(e, RS_ENOMEM, "results: out of memory for the cells of %d",
                        cells->n_cells);
    }
  }
  *out = w;
  return 0;
}

sim_order_sink sim_results_stream_sink(sim_results_stream *w) {
  return (sim_order_sink){w, stream_orders};
}

void sim_results_stream_free(sim_results_stream *w) {
  if (w == NULL) return;
  free(w->req);
  free(w->lost);
  free(w);
}

static int write_drivers(sim_results *r, int64_t run, const sim_engine *s, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "INSERT INTO drivers VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                         &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot write drivers");
  const sim_driver_rec *d = sim_engine_driver_recs(s);
  int32_t n = sim_engine_n_drivers(s);
  int64_t horizon = sim_engine_horizon_s(s); /* the horizon's time simulated */
  for (int32_t i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, i);
    sqlite3_bind_double(st, 3, d[i].income);
    sqlite3_bind_int64(st, 4, horizon - d[i].time_s[DISP_OFFLINE]);
    sqlite3_bind_int64(st, 5, d[i].time_s[DISP_IDLE]);
    sqlite3_bind_int64(st, 6, d[i].time_s[DISP_PICKUP]);
    sqlite3_bind_int64(st, 7, d[i].time_s[DISP_OCCUPIED]);
    sqlite3_bind_int64(st, 8, d[i].time_s[DISP_REPOSITION]);
    sqlite3_bind_int64(st, 9, d[i].time_s[DISP_OFFLINE]);
    sqlite3_bind_int64(st, 10, d[i].trips);
    sqlite3_bind_double(st, 11, d[i].empty_m);
    sqlite3_bind_double(st, 12, d[i].occupied_m);
    if (sqlite3_step(st) != SQLITE_DONE) {
      sqlite3_finalize(st);
      return db_fail(r, e, "cannot write drivers");
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

static int write_series(sim_results *r, int64_t run, const sim_engine *s, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "INSERT INTO kpi_series VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                         &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot write kpi_series");
  size_t n;
  const sim_window *w = sim_engine_windows(s, &n);
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, w[i].t_start);
    sqlite3_bind_int(st, 3, w[i].requests);
    sqlite3_bind_int(st, 4, w[i].matched);
    sqlite3_bind_int(st, 5, w[i].completed);
    sqlite3_bind_int(st, 6, w[i].cancelled);
    sqlite3_bind_int(st, 7, w[i].expired);
    sqlite3_bind_double(st, 8, w[i].income);
    bind_opt_double(st, 9, w[i].matched ? w[i].wait_sum_s / w[i].matched : NAN);
    bind_opt_double(st, 10, w[i].matched ? w[i].pickup_m_sum / w[i].matched : NAN);
    bind_opt_double(st, 11, w[i].ticks ? (double)w[i].idle_samples / w[i].ticks : NAN);
    bind_opt_double(st, 12, w[i].ticks ? (double)w[i].busy_samples / w[i].ticks : NAN);
    if (sqlite3_step(st) != SQLITE_DONE) {
      sqlite3_finalize(st);
      return db_fail(r, e, "cannot write kpi_series");
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

static int write_solver(sim_results *r, int64_t run, const sim_engine *s, rs_err *e) {
  int32_t n;
  const disp_solve_stat *t = sim_engine_solve_stats(s, &n);
  if (t == NULL || n == 0) return 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "INSERT INTO solver_ticks VALUES(?,?,?,?,?,?)", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot write solver_ticks");
  for (int32_t i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, t[i].t);
    sqlite3_bind_int(st, 3, t[i].orders);
    sqlite3_bind_int(st, 4, t[i].drivers);
    sqlite3_bind_int(st, 5, t[i].edges);
    sqlite3_bind_double(st, 6, t[i].solve_us);
    if (sqlite3_step(st) != SQLITE_DONE) {
      sqlite3_finalize(st);
      return db_fail(r, e, "cannot write solver_ticks");
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return 0;
}

/* The run's demand per cell of its grid (see results.h, "Unserved
 * cells"): the requested orders counted by pickup cell, written for the
 * cells with requests, by ascending cell. Orders outside the grid are
 * skipped. */
static int write_cells(sim_results *r, int64_t run, const sim_engine *s, const city_grid *g,
                       const sim_results_stream *w, rs_err *e) {
  int64_t *req = calloc((size_t)g->n_cells + 1, sizeof *req);
  int64_t *lost = calloc((size_t)g->n_cells + 1, sizeof *lost);
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (req == NULL || lost == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "results: out of memory for the cells of %d", g->n_cells);
    goto out;
  }
  /* the orders handed on (counted as they went), then those held */
  if (w != NULL && w->n_cells == g->n_cells) {
    memcpy(req, w->req, (size_t)g->n_cells * sizeof *req);
    memcpy(lost, w->lost, (size_t)g->n_cells * sizeof *lost);
  }
  const disp_order *o = sim_engine_orders(s);
  const sim_order_rec *rec = sim_engine_order_recs(s);
  size_t n = sim_engine_n_requested(s) - sim_engine_n_handed(s);
  for (size_t i = 0; i < n; i++) {
    int32_t c = o[i].pcell;
    if (c < 0 || c >= g->n_cells) continue;
    req[c]++;
    if (rec[i].status == SIM_ORDER_EXPIRED || rec[i].status == SIM_ORDER_CANCELLED) lost[c]++;
  }
  if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO unserved_cells VALUES(?,?,?,?,?,?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = db_fail(r, e, "cannot write unserved_cells");
    goto out;
  }
  for (int32_t c = 0; c < g->n_cells && rc == 0; c++) {
    if (req[c] == 0) continue;
    city_hex h = city_grid_hex(g, c);
    double lat, lng;
    city_grid_center(g, h, &lat, &lng);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int(st, 2, c);
    sqlite3_bind_int(st, 3, h.q);
    sqlite3_bind_int(st, 4, h.r);
    sqlite3_bind_double(st, 5, lat);
    sqlite3_bind_double(st, 6, lng);
    sqlite3_bind_double(st, 7, g->edge_m);
    sqlite3_bind_int64(st, 8, req[c]);
    sqlite3_bind_int64(st, 9, lost[c]);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(r, e, "cannot write unserved_cells");
    sqlite3_reset(st);
  }
out:
  sqlite3_finalize(st);
  free(req);
  free(lost);
  return rc;
}

int sim_results_keep_parse(const char *name, int *keep) {
  if (strcmp(name, "full") == 0) *keep = SIM_RESULTS_FULL;
  else if (strcmp(name, "orders") == 0) *keep = SIM_RESULTS_ORDERS;
  else if (strcmp(name, "summary") == 0) *keep = SIM_RESULTS_SUMMARY;
  else return -1;
  return 0;
}

int sim_results_finish_run(sim_results *r, int64_t run, const sim_engine *s,
                           const sim_kpis *k, const char *status, double wall_s,
                           const city_grid *cells, rs_err *e) {
  return sim_results_finish_run_keep(r, run, s, k, status, wall_s, cells, SIM_RESULTS_FULL, e);
}

int sim_results_finish_run_keep(sim_results *r, int64_t run, const sim_engine *s,
                                const sim_kpis *k, const char *status, double wall_s,
                                const city_grid *cells, int keep, rs_err *e) {
  return sim_results_finish_run_stream(r, run, s, k, status, wall_s, cells, keep, NULL, e);
}

int sim_results_finish_run_stream(sim_results *r, int64_t run, const sim_engine *s,
                                  const sim_kpis *k, const char *status, double wall_s,
                                  const city_grid *cells, int keep, const sim_results_stream *w,
                                  rs_err *e) {
  if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot start writing results");
  int rc = keep <= SIM_RESULTS_ORDERS ? write_orders(r, run, s, e) : 0;
  if (!rc && keep <= SIM_RESULTS_ORDERS) rc = write_drivers(r, run, s, e);
  if (!rc) rc = write_series(r, run, s, e);
  if (!rc && keep == SIM_RESULTS_FULL) rc = write_solver(r, run, s, e);
  if (!rc && cells != NULL) rc = write_cells(r, run, s, cells, w, e);
  if (!rc) {
    char *kj = sim_kpis_to_json(k, 0);
    sqlite3_stmt *st;
    if (kj == NULL) {
      rc = rs_err_set(e, RS_ENOMEM, "results: out of memory");
    } else if (sqlite3_prepare_v2(r->db,
                                  "UPDATE runs SET status=?, wall_seconds=?, events=?,"
                                  " orders=?, drivers=?, kpis=?, warmup_s=?, drain_s=?"
                                  " WHERE id=?",
                                  -1, &st, NULL) != SQLITE_OK) {
      rc = db_fail(r, e, "cannot finish the run");
    } else {
      sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
      sqlite3_bind_double(st, 2, wall_s);
      sqlite3_bind_int64(st, 3, k->events);
      sqlite3_bind_int64(st, 4, k->orders);
      sqlite3_bind_int64(st, 5, k->drivers);
      sqlite3_bind_text(st, 6, kj, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 7, sim_engine_from(s) - sim_engine_start(s));
      sqlite3_bind_int64(st, 8, sim_engine_drain_s(s));
      sqlite3_bind_int64(st, 9, run);
      if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(r, e, "cannot finish the run");
      sqlite3_finalize(st);
    }
    free(kj);
  }
  if (rc) {
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    rc = db_fail(r, e, "cannot commit results");
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return 0;
}

char *sim_kpis_to_json(const sim_kpis *k, int pretty) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  /* every KPI of the catalogue that belongs in runs.kpis, in its order */
  for (int id = 0; id < SIM_KPI_N; id++)
    if (sim_kpi_in_json(k, id))
      cJSON_AddNumberToObject(o, sim_kpi_def_of(id)->key, sim_kpi_value(k, 0, id));
  char *txt = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return txt;
}

/* ------------------------------------------------------------- reading */

static double col_opt_double(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Steps st through fn until done; RS_EDB naming `what` when SQLite fails,
 * fn's code when it stops the read. st is finalised. */
typedef int (*row_fn)(void *ctx, sqlite3_stmt *st, rs_err *e);
static int read_rows(sim_results *r, sqlite3_stmt *st, row_fn fn, void *ctx, const char *what,
                     rs_err *e) {
  int rc, src;
  for (;;) {
    src = sqlite3_step(st);
    if (src != SQLITE_ROW) break;
    if ((rc = fn(ctx, st, e)) != 0) {
      sqlite3_finalize(st);
      return rc;
    }
  }
  rc = src == SQLITE_DONE ? 0 : db_fail(r, e, what);
  sqlite3_finalize(st);
  return rc;
}

typedef struct {
  int (*fn)(void *arg, const sim_results_run *run, rs_err *e);
  void *arg;
} runs_ctx;

static int run_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const runs_ctx *c = ctx;
  sim_results_run run;
  run.id = sqlite3_column_int64(st, 0);
  run.seed = (uint64_t)sqlite3_column_int64(st, 1);
  run.status = (const char *)sqlite3_column_text(st, 2);
  run.wall_s = col_opt_double(st, 3);
  run.kpis = (const char *)sqlite3_column_text(st, 4);
  run.scenario = (const char *)sqlite3_column_text(st, 5);
  run.t_from = sqlite3_column_int64(st, 6);
  run.t_to = sqlite3_column_int64(st, 7);
  run.dispatch = (const char *)sqlite3_column_text(st, 8);
  run.reposition = (const char *)sqlite3_column_text(st, 9);
  if (run.status == NULL) run.status = "";
  if (run.dispatch == NULL) run.dispatch = "";
  if (run.reposition == NULL) run.reposition = "";
  return c->fn(c->arg, &run, e);
}

int sim_results_read_runs(sim_results *r, int with_interrupted, int64_t id_min,
                          int64_t id_max,
                          int (*fn)(void *arg, const sim_results_run *run, rs_err *e),
                          void *arg, rs_err *e) {
  sqlite3_stmt *st;
  const char *sql =
      "SELECT id, seed, status, wall_seconds, kpis, scenario, t_from, t_to, dispatch, reposition"
      " FROM runs WHERE kpis IS NOT NULL AND (status = 'completed' OR (?1 AND status = "
      "'interrupted')) AND (?2 = 0 OR id BETWEEN ?2 AND ?3) ORDER BY id";
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "not a ridesim results database (no runs table)");
  sqlite3_bind_int(st, 1, with_interrupted != 0);
  sqlite3_bind_int64(st, 2, id_min);
  sqlite3_bind_int64(st, 3, id_max);
  runs_ctx c = {fn, arg};
  return read_rows(r, st, run_row, &c, "cannot read runs", e);
}

typedef struct {
  int (*fn)(void *arg, const sim_results_window *w, rs_err *e);
  void *arg;
} series_ctx;

static int series_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const series_ctx *c = ctx;
  sim_results_window w;
  w.t_start = sqlite3_column_int64(st, 0);
  w.requests = sqlite3_column_int64(st, 1);
  w.matched = sqlite3_column_int64(st, 2);
  w.completed = sqlite3_column_int64(st, 3);
  w.cancelled = sqlite3_column_int64(st, 4);
  w.expired = sqlite3_column_int64(st, 5);
  w.income = sqlite3_column_double(st, 6);
  w.wait_mean_s = col_opt_double(st, 7);
  w.pickup_m_mean = col_opt_double(st, 8);
  w.idle_drivers_mean = col_opt_double(st, 9);
  w.busy_drivers_mean = col_opt_double(st, 10);
  return c->fn(c->arg, &w, e);
}

int sim_results_read_series(sim_results *r, int64_t run_id,
                            int (*fn)(void *arg, const sim_results_window *w, rs_err *e),
                            void *arg, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db,
                         "SELECT t_start, requests, matched, completed, cancelled, expired,"
                         " income, wait_mean_s, pickup_m_mean, idle_drivers_mean,"
                         " busy_drivers_mean FROM kpi_series WHERE run_id = ? ORDER BY t_start",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read kpi_series");
  sqlite3_bind_int64(st, 1, run_id);
  series_ctx c = {fn, arg};
  return read_rows(r, st, series_row, &c, "cannot read kpi_series", e);
}

int sim_results_pickup_max(sim_results *r, int64_t run_id, double *max_m, rs_err *e) {
  *max_m = NAN;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "SELECT max(pickup_m) FROM orders WHERE run_id = ?", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read orders");
  sqlite3_bind_int64(st, 1, run_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *max_m = col_opt_double(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(r, e, "cannot read orders");
}

typedef struct {
  int (*fn)(void *arg, double pickup_m, rs_err *e);
  void *arg;
} pickups_ctx;

static int pickup_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const pickups_ctx *c = ctx;
  return c->fn(c->arg, sqlite3_column_double(st, 0), e);
}

int sim_results_read_pickups(sim_results *r, int64_t run_id,
                             int (*fn)(void *arg, double pickup_m, rs_err *e), void *arg,
                             rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db,
                         "SELECT pickup_m FROM orders WHERE run_id = ? AND pickup_m IS NOT NULL"
                         " ORDER BY order_id",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read orders");
  sqlite3_bind_int64(st, 1, run_id);
  pickups_ctx c = {fn, arg};
  return read_rows(r, st, pickup_row, &c, "cannot read orders", e);
}

typedef struct {
  int (*fn)(void *arg, const sim_results_trip *t, rs_err *e);
  void *arg;
} trips_ctx;

static int trip_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const trips_ctx *c = ctx;
  sim_results_trip x;
  x.order_id = sqlite3_column_int64(st, 0);
  x.driver = sqlite3_column_int(st, 1);
  x.t_pickup = sqlite3_column_int64(st, 2);
  x.t_dropoff = sqlite3_column_int64(st, 3);
  x.fare = sqlite3_column_double(st, 4);
  return c->fn(c->arg, &x, e);
}

int sim_results_read_trips(sim_results *r, int64_t run_id,
                           int (*fn)(void *arg, const sim_results_trip *t, rs_err *e),
                           void *arg, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db,
                         "SELECT order_id, driver, t_pickup, t_dropoff, fare FROM orders"
                         " WHERE run_id = ? AND status = 'completed' AND driver IS NOT NULL"
                         " AND t_pickup IS NOT NULL AND t_dropoff IS NOT NULL"
                         " ORDER BY driver, t_pickup, order_id",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read orders");
  sqlite3_bind_int64(st, 1, run_id);
  trips_ctx c = {fn, arg};
  return read_rows(r, st, trip_row, &c, "cannot read orders", e);
}

typedef struct {
  int (*fn)(void *arg, const sim_results_cell *c, rs_err *e);
  void *arg;
} cells_ctx;

static int cell_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const cells_ctx *c = ctx;
  sim_results_cell x;
  x.cell = sqlite3_column_int(st, 0);
  x.q = sqlite3_column_int(st, 1);
  x.r = sqlite3_column_int(st, 2);
  x.lat = sqlite3_column_double(st, 3);
  x.lng = sqlite3_column_double(st, 4);
  x.edge_m = sqlite3_column_double(st, 5);
  x.requests = sqlite3_column_int64(st, 6);
  x.unserved = sqlite3_column_int64(st, 7);
  return c->fn(c->arg, &x, e);
}

int sim_results_read_cells(sim_results *r, int64_t run_id,
                           int (*fn)(void *arg, const sim_results_cell *c, rs_err *e),
                           void *arg, rs_err *e) {
  sqlite3_stmt *st;
  /* schema 1: no table, no rows */
  if (sqlite3_prepare_v2(r->db,
                         "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                         " AND name = 'unserved_cells'",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read unserved_cells");
  int rc = sqlite3_step(st);
  int64_t has = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return db_fail(r, e, "cannot read unserved_cells");
  if (has == 0) return 0;
  if (sqlite3_prepare_v2(r->db,
                         "SELECT cell, q, r, lat, lng, edge_m, requests, unserved"
                         " FROM unserved_cells WHERE run_id = ? ORDER BY cell",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read unserved_cells");
  sqlite3_bind_int64(st, 1, run_id);
  cells_ctx c = {fn, arg};
  return read_rows(r, st, cell_row, &c, "cannot read unserved_cells", e);
}

/* ------------------------------------------------------------- sweeps */

/* One text value of a query with at most one int64 parameter, into buf
 * ("" when no row). */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n) {
  sqlite3_stmt *st;
  buf[0] = '\0';
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int sim_results_sweep_plan(sim_results *r, char *buf, size_t n, rs_err *e) {
  if (query_text(r->db, "SELECT value FROM meta WHERE key = 'sweep_plan'", buf, n) != 0)
    return db_fail(r, e, "cannot read the sweep's plan");
  return 0;
}

int sim_results_sweep_claim(sim_results *r, const char *plan_id, rs_err *e) {
  char have[128];
  if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot claim the DB for the plan");
  int rc = sim_results_sweep_plan(r, have, sizeof have, e);
  if (rc == 0 && have[0] != '\0' && strcmp(have, plan_id) != 0)
    rc = rs_err_set(e, RS_EINVAL,
                    "%s holds the runs of another plan (%s, not %s): give the sweep another --out",
                    r->path, have, plan_id);
  if (rc == 0 && have[0] == '\0') {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "INSERT INTO meta VALUES('sweep_plan', ?)", -1, &st, NULL) !=
        SQLITE_OK)
      rc = db_fail(r, e, "cannot claim the DB for the plan");
    else {
      sqlite3_bind_text(st, 1, plan_id, -1, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(r, e, "cannot claim the DB for the plan");
      sqlite3_finalize(st);
    }
  }
  if (rc == 0 && sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(r, e, "cannot claim the DB for the plan");
  if (rc != 0) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* The tables with a run's rows, by the column naming the run. */
static const char *const RUN_TABLES[] = {"orders", "drivers", "kpi_series", "solver_ticks",
                                         "unserved_cells", "sweep_runs"};
#define N_RUN_TABLES (sizeof RUN_TABLES / sizeof RUN_TABLES[0])

/* Deletes the runs that `select` (SQL giving run ids) names, with every
 * row of theirs, in one transaction; *n (may be NULL) gets their count. */
static int drop_runs(sim_results *r, const char *select, sqlite3_int64 id, int *n, rs_err *e) {
  char sql[512];
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (n != NULL) *n = 0;
  if (sqlite3_exec(r->db,
                   "BEGIN IMMEDIATE;"
                   " CREATE TEMP TABLE IF NOT EXISTS sweep_drop(id INTEGER PRIMARY KEY);"
                   " DELETE FROM sweep_drop;",
                   NULL, NULL, NULL) != SQLITE_OK) {
    rc = db_fail(r, e, "cannot drop runs");
    goto out;
  }
  snprintf(sql, sizeof sql, "INSERT INTO temp.sweep_drop %s", select);
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
    rc = db_fail(r, e, "cannot drop runs");
    goto out;
  }
  if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, id);
  if (sqlite3_step(st) != SQLITE_DONE) {
    rc = db_fail(r, e, "cannot drop runs");
    goto out;
  }
  if (n != NULL) *n = sqlite3_changes(r->db);
  for (size_t i = 0; i <= N_RUN_TABLES && rc == 0; i++) {
    if (i < N_RUN_TABLES)
      snprintf(sql, sizeof sql, "DELETE FROM %s WHERE run_id IN (SELECT id FROM temp.sweep_drop)",
               RUN_TABLES[i]);
    else
      snprintf(sql, sizeof sql, "DELETE FROM runs WHERE id IN (SELECT id FROM temp.sweep_drop)");
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
      rc = db_fail(r, e, "cannot drop runs");
  }
  if (rc == 0 && sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(r, e, "cannot drop runs");
out:
  sqlite3_finalize(st);
  if (rc != 0) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int sim_results_sweep_drop_incomplete(sim_results *r, int *n, rs_err *e) {
  return drop_runs(r,
                   "SELECT s.run_id FROM sweep_runs s LEFT JOIN runs ON runs.id = s.run_id"
                   " WHERE runs.id IS NULL OR runs.status IS NOT 'completed' OR runs.kpis IS NULL",
                   0, n, e);
}

int sim_results_drop_run(sim_results *r, int64_t run_id, rs_err *e) {
  return drop_runs(r, "SELECT ?1", run_id, NULL, e);
}

#define SWEEP_DONE_SQL                                                                    \
  " FROM sweep_runs s JOIN runs ON runs.id = s.run_id"                                     \
  " WHERE runs.status = 'completed' AND runs.kpis IS NOT NULL ORDER BY runs.id"

typedef struct {
  int (*fn)(void *arg, const char *key, rs_err *e);
  void *arg;
} keys_ctx;

static int key_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const keys_ctx *c = ctx;
  const char *k = (const char *)sqlite3_column_text(st, 0);
  return c->fn(c->arg, k != NULL ? k : "", e);
}

int sim_results_sweep_completed(sim_results *r,
                                int (*fn)(void *arg, const char *key, rs_err *e), void *arg,
                                rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "SELECT s.run_key" SWEEP_DONE_SQL, -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read sweep_runs");
  keys_ctx c = {fn, arg};
  return read_rows(r, st, key_row, &c, "cannot read sweep_runs", e);
}

typedef struct {
  int (*fn)(void *arg, const sim_results_sweep_run *run, rs_err *e);
  void *arg;
} sweep_ctx;

static int sweep_row(void *ctx, sqlite3_stmt *st, rs_err *e) {
  const sweep_ctx *c = ctx;
  sim_results_sweep_run run;
  run.id = sqlite3_column_int64(st, 0);
  run.key = (const char *)sqlite3_column_text(st, 1);
  run.plan_index = sqlite3_column_int(st, 2);
  run.kpis = (const char *)sqlite3_column_text(st, 3);
  run.wall_s = col_opt_double(st, 4);
  if (run.key == NULL) run.key = "";
  return c->fn(c->arg, &run, e);
}

int sim_results_sweep_read(sim_results *r,
                           int (*fn)(void *arg, const sim_results_sweep_run *run, rs_err *e),
                           void *arg, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db,
                         "SELECT runs.id, s.run_key, s.plan_index, runs.kpis, runs.wall_seconds"
                         SWEEP_DONE_SQL,
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot read sweep_runs");
  sweep_ctx c = {fn, arg};
  return read_rows(r, st, sweep_row, &c, "cannot read sweep_runs", e);
}

/* ------------------------------------------------------------- merging */

/* A run of a source to copy. */
typedef struct {
  int src;                /* index of its source */
  int64_t old_id;         /* its id there */
  int64_t new_id;         /* its id in out; 0: skipped */
  int plan_index;
  char key[40];           /* its plan key */
} merge_run;

/* A source DB's schema version and plan, checked against the merge's. */
static int merge_check(sqlite3 *db, const char *path, char *plan, size_t n, rs_err *e) {
  char ver[32];
  if (query_text(db, "SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof ver) !=
          0 ||
      query_text(db, "SELECT value FROM meta WHERE key = 'sweep_plan'", plan, n) != 0)
    return rs_err_set(e, RS_EDB, "%s: cannot read its meta: %s", path, sqlite3_errmsg(db));
  if (atoi(ver) != SIM_RESULTS_SCHEMA)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: results schema %s, not %d: open it with this ridesim first "
                      "(`ridesim sweep` on it upgrades it)",
                      path, ver[0] ? ver : "?", SIM_RESULTS_SCHEMA);
  return 0;
}

static int cmp_merge_run(const void *a, const void *b) {
  const merge_run *x = a, *y = b;
  if (x->plan_index != y->plan_index) return x->plan_index < y->plan_index ? -1 : 1;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  return x->old_id < y->old_id ? -1 : x->old_id > y->old_id;
}

static int cmp_merge_key(const void *a, const void *b) {
  const merge_run *const *x = a, *const *y = b;
  int c = strcmp((*x)->key, (*y)->key);
  if (c != 0) return c;
  return *x < *y ? -1 : *x > *y; /* the earlier in plan order first */
}

/* "INSERT INTO main.T(c...) SELECT ?1, c... FROM src.T WHERE idcol = ?2":
 * main's columns (the schemas are equal), the run's column replaced by the
 * new id. */
static int copy_sql(sqlite3 *db, const char *table, const char *idcol, char *sql, size_t n) {
  char pragma[128], cols[2048] = "", sel[2048] = "";
  snprintf(pragma, sizeof pragma, "PRAGMA main.table_info(%s)", table);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) != SQLITE_OK) return -1;
  size_t lc = 0, ls = 0;
  int first = 1;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *c = (const char *)sqlite3_column_text(st, 1);
    if (c == NULL) continue;
    lc += (size_t)snprintf(cols + lc, sizeof cols - lc, "%s%s", first ? "" : ",", c);
    ls += (size_t)snprintf(sel + ls, sizeof sel - ls, "%s%s", first ? "" : ",",
                           strcmp(c, idcol) == 0 ? "?1" : c);
    first = 0;
    if (lc >= sizeof cols || ls >= sizeof sel) break;
  }
  sqlite3_finalize(st);
  if (first || lc >= sizeof cols || ls >= sizeof sel) return -1;
  int len = snprintf(sql, n, "INSERT INTO main.%s(%s) SELECT %s FROM src.%s WHERE %s = ?2",
                     table, cols, sel, table, idcol);
  return len > 0 && (size_t)len < n ? 0 : -1;
}

/* Copies the runs of source k (attached as src) in one transaction. */
static int merge_copy(sim_results *out, const merge_run *runs, size_t n, int k, rs_err *e) {
  enum { N_T = N_RUN_TABLES + 1 };
  sqlite3_stmt *st[N_T];
  memset(st, 0, sizeof st);
  char sql[6000];
  int rc = 0;
  for (int t = 0; t < N_T && rc == 0; t++) {
    const char *table = t == 0 ? "runs" : RUN_TABLES[t - 1];
    if (copy_sql(out->db, table, t == 0 ? "id" : "run_id", sql, sizeof sql) != 0 ||
        sqlite3_prepare_v2(out->db, sql, -1, &st[t], NULL) != SQLITE_OK)
      rc = db_fail(out, e, "cannot merge");
  }
  if (rc == 0 && sqlite3_exec(out->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(out, e, "cannot merge");
  int began = rc == 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (runs[i].src != k || runs[i].new_id == 0) continue;
    for (int t = 0; t < N_T && rc == 0; t++) {
      sqlite3_bind_int64(st[t], 1, runs[i].new_id);
      sqlite3_bind_int64(st[t], 2, runs[i].old_id);
      if (sqlite3_step(st[t]) != SQLITE_DONE) rc = db_fail(out, e, "cannot merge");
      sqlite3_reset(st[t]);
    }
  }
  if (began) {
    if (rc == 0 && sqlite3_exec(out->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
      rc = db_fail(out, e, "cannot merge");
    if (rc != 0) sqlite3_exec(out->db, "ROLLBACK", NULL, NULL, NULL);
  }
  for (int t = 0; t < N_T; t++) sqlite3_finalize(st[t]);
  return rc;
}

static int attach(sim_results *out, const char *path, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(out->db, "ATTACH DATABASE ? AS src", -1, &st, NULL) != SQLITE_OK)
    return db_fail(out, e, "cannot attach a source");
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return rs_err_set(e, RS_EDB, "%s: cannot attach: %s", path, sqlite3_errmsg(out->db));
  return 0;
}

static void detach(sim_results *out) { sqlite3_exec(out->db, "DETACH DATABASE src", NULL, NULL, NULL); }

/* The completed runs of source k (attached as src) appended to *runs; its
 * incomplete ones counted. */
static int merge_list(sim_results *out, int k, merge_run **runs, size_t *n, size_t *cap,
                      sim_results_merge_stats *stats, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(out->db,
                         "SELECT r.id, s.run_key, s.plan_index,"
                         " r.status = 'completed' AND r.kpis IS NOT NULL"
                         " FROM src.sweep_runs s JOIN src.runs r ON r.id = s.run_id ORDER BY r.id",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(out, e, "cannot read a source's runs");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!sqlite3_column_int(st, 3)) {
      stats->incomplete++;
      continue;
    }
    if (rs_vec_grow(*runs, *cap, *n + 1)) {
      sqlite3_finalize(st);
      return rs_err_set(e, RS_ENOMEM, "merge: out of memory");
    }
    merge_run *m = &(*runs)[(*n)++];
    m->src = k;
    m->old_id = sqlite3_column_int64(st, 0);
    m->new_id = 0;
    m->plan_index = sqlite3_column_int(st, 2);
    const char *key = (const char *)sqlite3_column_text(st, 1);
    snprintf(m->key, sizeof m->key, "%s", key ? key : "");
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(out, e, "cannot read a source's runs");
}

/* Copies out's current content into tmp (the SQLite backup API), checking
 * it first; out's connection checkpoints its WAL as it closes. */
static int merge_seed(const char *out, const char *tmp, char *plan, size_t n, rs_err *e) {
  sqlite3 *src = NULL, *dst = NULL;
  int rc = 0;
  if (sqlite3_open_v2(out, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot open: %s", out, src ? sqlite3_errmsg(src) : "no memory");
    goto done;
  }
  sqlite3_busy_timeout(src, RESULTS_BUSY_MS);
  if ((rc = merge_check(src, out, plan, n, e)) != 0) goto done;
  if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot create: %s", tmp, dst ? sqlite3_errmsg(dst) : "no memory");
    goto done;
  }
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == NULL) {
    rc = rs_err_set(e, RS_EDB, "%s: cannot copy: %s", out, sqlite3_errmsg(dst));
    goto done;
  }
  int s = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (s != SQLITE_DONE) rc = rs_err_set(e, RS_EDB, "%s: cannot copy: %s", out, sqlite3_errstr(s));
done:
  sqlite3_close(dst);
  sqlite3_close(src);
  return rc;
}

static void remove_db(const char *path) {
  remove(path);
  size_t n = strlen(path) + 8;
  char *p = malloc(n);
  if (p == NULL) return;
  memcpy(p, path, n - 8);
  memcpy(p + n - 8, "-wal", 5);
  remove(p);
  memcpy(p + n - 8, "-shm", 5);
  remove(p);
  free(p);
}

int sim_results_merge(const char *out, const char *const *srcs, int n_srcs,
                      sim_results_merge_stats *stats, rs_err *e) {
  memset(stats, 0, sizeof *stats);
  char tmp[1100], plan[128] = "", p[128];
  snprintf(tmp, sizeof tmp, "%s.merging", out);
  remove_db(tmp);
  struct stat sb;
  int rc = 0;
  if (stat(out, &sb) == 0) {
    sim_results *chk;
    if ((rc = sim_results_open_read(out, &chk, e)) != 0) return rc;
    sim_results_close(chk);
    if ((rc = merge_seed(out, tmp, plan, sizeof plan, e)) != 0) {
      remove_db(tmp);
      return rc;
    }
  }
  /* every source: ours, this schema, the same plan */
  for (int k = 0; k < n_srcs; k++) {
    sim_results *s;
    if ((rc = sim_results_open_read(srcs[k], &s, e)) != 0) return rc;
    rc = merge_check(s->db, srcs[k], p, sizeof p, e);
    sim_results_close(s);
    if (rc == 0 && p[0] == '\0')
      rc = rs_err_set(e, RS_EINVAL, "%s: not a sweep's DB (no plan recorded)", srcs[k]);
    if (rc == 0 && plan[0] != '\0' && strcmp(plan, p) != 0)
      rc = rs_err_set(e, RS_EINVAL, "%s holds the runs of plan %s, %s those of plan %s",
                      srcs[k], p, k == 0 ? out : srcs[0], plan);
    if (rc != 0) {
      remove_db(tmp);
      return rc;
    }
    snprintf(plan, sizeof plan, "%s", p);
  }
  sim_results *o = NULL;
  merge_run *runs = NULL, **by_key = NULL;
  size_t n = 0, cap = 0;
  if ((rc = sim_results_open(tmp, &o, e)) != 0) goto out;
  if (plan[0] != '\0' && (rc = sim_results_sweep_claim(o, plan, e)) != 0) goto out;
  for (int k = 0; k < n_srcs && rc == 0; k++) {
    if ((rc = attach(o, srcs[k], e)) != 0) break;
    rc = merge_list(o, k, &runs, &n, &cap, stats, e);
    detach(o);
  }
  if (rc != 0) goto out;
  stats->sources = n_srcs;
  /* by plan order; each key once, the first in that order, none that out
   * has completed already */
  qsort(runs, n, sizeof *runs, cmp_merge_run);
  by_key = malloc((n ? n : 1) * sizeof *by_key);
  if (by_key == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "merge: out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) by_key[i] = &runs[i];
  qsort(by_key, n, sizeof *by_key, cmp_merge_key);
  for (size_t i = 0; i < n; i++) by_key[i]->new_id = 1;
  for (size_t i = 1; i < n; i++)
    if (strcmp(by_key[i]->key, by_key[i - 1]->key) == 0) by_key[i]->new_id = 0;
  /* the keys out has: one read, looked up by binary search */
  {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db, "SELECT s.run_key" SWEEP_DONE_SQL, -1, &st, NULL) != SQLITE_OK) {
      rc = db_fail(o, e, "cannot read sweep_runs");
      goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *key = (const char *)sqlite3_column_text(st, 0);
      if (key == NULL) continue;
      size_t lo = 0, hi = n;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(by_key[mid]->key, key) < 0) lo = mid + 1;
        else hi = mid;
      }
      for (; lo < n && strcmp(by_key[lo]->key, key) == 0; lo++) by_key[lo]->new_id = 0;
    }
    sqlite3_finalize(st);
  }
  int64_t next = 1;
  {
    char buf[32];
    if (query_text(o->db, "SELECT max(id) FROM runs", buf, sizeof buf) != 0) {
      rc = db_fail(o, e, "cannot read runs");
      goto out;
    }
    next = atoll(buf) + 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (runs[i].new_id == 0) {
      stats->present++;
      continue;
    }
    runs[i].new_id = next++;
    stats->added++;
  }
  for (int k = 0; k < n_srcs && rc == 0; k++) {
    if ((rc = attach(o, srcs[k], e)) != 0) break;
    rc = merge_copy(o, runs, n, k, e);
    detach(o);
  }
out:
  sim_results_close(o);
  free(by_key);
  free(runs);
  if (rc == 0 && rename(tmp, out) != 0)
    rc = rs_err_set(e, RS_EIO, "%s: cannot rename %s over it", out, tmp);
  if (rc != 0) remove_db(tmp);
  return rc;
}

/* ------------------------------------------------------- images of a DB */

int sim_results_image(sim_results *r, unsigned char **img, size_t *n, rs_err *e) {
  sqlite3_int64 sz = 0;
  *img = sqlite3_serialize(r->db, "main", &sz, 0);
  *n = (size_t)sz;
  if (*img == NULL) return rs_err_set(e, RS_ENOMEM, "%s: cannot serialise the results", r->path);
  return 0;
}

void sim_results_image_free(unsigned char *img) { sqlite3_free(img); }

/* Whether out has key completed already. */
static int key_completed(sim_results *out, const char *key, int *yes, rs_err *e) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(out->db,
                         "SELECT 1 FROM main.sweep_runs s JOIN main.runs r ON r.id = s.run_id"
                         " WHERE s.run_key = ? AND r.status = 'completed' AND r.kpis IS NOT NULL",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(out, e, "cannot read sweep_runs");
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(out, e, "cannot read sweep_runs");
  *yes = rc == SQLITE_ROW;
  return 0;
}

int sim_results_absorb(sim_results *r, const unsigned char *img, size_t n, int64_t *run_id,
                       rs_err *e) {
  if (run_id != NULL) *run_id = 0;
  if (sqlite3_exec(r->db, "ATTACH DATABASE ':memory:' AS src", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(r, e, "cannot attach a run's results");
  unsigned char *copy = sqlite3_malloc64(n);
  int rc = 0;
  if (copy == NULL) rc = rs_err_set(e, RS_ENOMEM, "results: out of memory");
  else {
    memcpy(copy, img, n);
    /* an image of a WAL file reads as a rollback-journal one: a DB in
     * memory has no WAL (file format bytes 18 and 19: 2 is WAL, 1 legacy) */
    if (n >= 20 && copy[18] == 2 && copy[19] == 2) copy[18] = copy[19] = 1;
    if (sqlite3_deserialize(r->db, "src", copy, (sqlite3_int64)n, (sqlite3_int64)n,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) !=
        SQLITE_OK)
      rc = rs_err_set(e, RS_EFORMAT, "%s: a run's results are not a results DB", r->path);
  }
  char ver[32];
  if (rc == 0 && (query_text(r->db, "SELECT value FROM src.meta WHERE key = 'schema_version'",
                             ver, sizeof ver) != 0 ||
                  atoi(ver) != SIM_RESULTS_SCHEMA))
    rc = rs_err_set(e, RS_EFORMAT, "%s: a run's results of another schema (%s)", r->path, ver);
  merge_run *runs = NULL;
  size_t nr = 0, cap = 0;
  sim_results_merge_stats stats;
  memset(&stats, 0, sizeof stats);
  if (rc == 0) rc = merge_list(r, 0, &runs, &nr, &cap, &stats, e);
  char buf[32];
  if (rc == 0 && query_text(r->db, "SELECT max(id) FROM main.runs", buf, sizeof buf) != 0)
    rc = db_fail(r, e, "cannot read runs");
  int64_t next = atoll(buf) + 1;
  for (size_t i = 0; i < nr && rc == 0; i++) {
    int yes = 0;
    for (size_t j = 0; j < i; j++) yes |= strcmp(runs[j].key, runs[i].key) == 0;
    if (!yes) rc = key_completed(r, runs[i].key, &yes, e);
    runs[i].new_id = yes ? 0 : next++;
    if (!yes && run_id != NULL) *run_id = runs[i].new_id;
  }
  if (rc == 0) rc = merge_copy(r, runs, nr, 0, e);
  free(runs);
  detach(r);
  return rc;
}

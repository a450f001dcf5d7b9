/*
 * vstore: value tables in SQLite (schema and rules in vstore.h).
 *
 * Saving: one BEGIN IMMEDIATE ... COMMIT transaction creates the tables when
 * missing, empties them, and writes the metadata and every seen state with
 * prepared statements. Any failure rolls back, so the file keeps its previous
 * table; SQLite's rollback journal (journal_mode=DELETE, synchronous=FULL)
 * extends that to crashes and power loss. A save never overwrites a file
 * that is something else: a non-SQLite file or an SQLite database without
 * our app stamp (a trip store, say) is refused with RS_EFORMAT. When the
 * file did not exist and the save fails, the empty file SQLite created is
 * removed again.
 *
 * Exactness: values are bound with sqlite3_bind_double and SQLite's REAL is
 * an IEEE double, so a round trip returns the same bits; the one exception is
 * -0.0, which SQLite stores as the integer 0 (a REAL column keeps integral
 * values as integers) and returns as +0.0, equal as a number. gamma and the
 * edge are written as text with 17 significant digits, which round-trips
 * every double. NaN cannot be stored (SQLite turns it into NULL): a table
 * holding one is refused.
 *
 * Loading: opens read-only, checks in this order app, schema_version, city,
 * hex_edge_m, n_cells, slot_s, day_types, gamma, gamma_period_s, then reads
 * the rows, each checked against the table's shape. Every refusal is one
 * line naming the file and the field. With city == NULL only the metadata
 * is read (into m) and checked for being a value table: how a tool finds
 * the city a file was made for before it builds that city's grid.
 *
 * Costs: save O(states) to scan plus O(seen) rows; load O(seen rows).
 * Nothing is kept open between calls.
 */
#include "base/rs_sqlite.h"
#include "value/vstore.h"

/* The largest |V| a table may hold: a value is the money a driver expects
 * to earn from a cell onwards, so a billion units is already absurd, and
 * infinities or 1e308 would turn every sum over them into inf or NaN (the
 * matching solver then refuses a run's weights without naming the table). */
#define VSTORE_V_MAX 1e9

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VSTORE_APP "ridesim-value"
#define VSTORE_BUSY_MS 5000 /* wait this long for another writer */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS vvalues(dtype INTEGER, slot INTEGER,"
    " cell INTEGER, v REAL, n INTEGER, PRIMARY KEY(dtype, slot, cell));"
    "CREATE TABLE IF NOT EXISTS vfree(dtype INTEGER, cell INTEGER, v REAL,"
    " n INTEGER, PRIMARY KEY(dtype, cell));";

static int db_fail(sqlite3 *db, const char *path, rs_err *e, int rc, const char *what) {
  if (rs_sqlite_code(rc) == RS_EFORMAT)
    return rs_err_set(e, RS_EFORMAT, "%s: not a ridesim value table (%s)", path,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return rs_err_set(e, rs_sqlite_code(rc), "%s: %s: %s", path, what,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int not_a_table(const char *path, rs_err *e) {
  return rs_err_set(e, RS_EFORMAT, "%s: not a ridesim value table", path);
}

/* Opens path; RS_EFORMAT when it is not SQLite. Counts its tables (all of
 * them in *n_objects, ours in *n_ours). */
static int open_db(const char *path, int writable, sqlite3 **out, int64_t *n_objects,
                   int64_t *n_ours, rs_err *e) {
  sqlite3 *db = NULL;
  int flags = (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    rc = db ? rs_err_set(e, rs_sqlite_code(rc) == RS_EFORMAT ? RS_EFORMAT : RS_EIO,
                         "%s: cannot open: %s", path, sqlite3_errmsg(db))
            : rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    sqlite3_close(db);
    return rc;
  }
  sqlite3_busy_timeout(db, VSTORE_BUSY_MS);
  sqlite3_stmt *s = NULL;
  rc = sqlite3_prepare_v2(db,
                          "SELECT count(*), coalesce(sum(type = 'table' AND name IN"
                          " ('meta', 'vvalues')), 0) FROM sqlite_master",
                          -1, &s, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *n_objects = sqlite3_column_int64(s, 0);
    *n_ours = sqlite3_column_int64(s, 1);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) {
    /* A file that is not SQLite fails here with SQLITE_NOTADB. */
    rc = rs_sqlite_code(rc) == RS_EFORMAT || rs_sqlite_code(rc) == RS_EDB
             ? not_a_table(path, e)
             : db_fail(db, path, e, rc, "cannot read");
    sqlite3_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

/* --- metadata ---------------------------------------------------------------- */

/* Every key of the meta table, as read. */
typedef struct {
  char app[32];
  long schema;
  char city[CITY_NAME_MAX];
  char edge[64];
  char n_cells[32];
  char slot_s[32];
  char day_types[32];
  char gamma[64];
  char gamma_period_s[32];
  char days[1024];
  char rows[32];
  char passes[32];
  char created[32];
  int have;             /* bit per key present, in the order above */
} raw_meta;

enum { K_APP, K_SCHEMA, K_CITY, K_EDGE, K_CELLS, K_SLOT, K_DTYPES, K_GAMMA, K_PERIOD,
       K_DAYS, K_ROWS, K_PASSES, K_CREATED, K_COUNT };
static const char *const meta_keys[K_COUNT] = {
    "app", "schema_version", "city", "hex_edge_m", "n_cells", "slot_s", "day_types",
    "gamma", "gamma_period_s", "days", "rows", "passes", "created"};

static int read_meta(sqlite3 *db, const char *path, raw_meta *rm, rs_err *e) {
  memset(rm, 0, sizeof *rm);
  rm->schema = -1;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &s, NULL);
  if (rc != SQLITE_OK) return not_a_table(path, e);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(s, 0);
    const char *v = (const char *)sqlite3_column_text(s, 1);
    if (k == NULL || v == NULL) continue;
    char *dst[K_COUNT] = {rm->app, NULL, rm->city, rm->edge, rm->n_cells, rm->slot_s,
                          rm->day_types, rm->gamma, rm->gamma_period_s, rm->days,
                          rm->rows, rm->passes, rm->created};
    size_t size[K_COUNT] = {sizeof rm->app, 0, sizeof rm->city, sizeof rm->edge,
                            sizeof rm->n_cells, sizeof rm->slot_s, sizeof rm->day_types,
                            sizeof rm->gamma, sizeof rm->gamma_period_s, sizeof rm->days,
                            sizeof rm->rows, sizeof rm->passes, sizeof rm->created};
    for (int i = 0; i < K_COUNT; i++) {
      if (strcmp(k, meta_keys[i]) != 0) continue;
      rm->have |= 1 << i;
      if (i == K_SCHEMA) {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        rm->schema = errno || *end || end == v ? -2 : x;
      } else {
        snprintf(dst[i], size[i], "%s", v);
      }
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return db_fail(db, path, e, rc, "cannot read meta");
  if (!(rm->have & (1 << K_APP)) || strcmp(rm->app, VSTORE_APP) != 0) return not_a_table(path, e);
  if (rm->schema < 1 || rm->schema > VAL_STORE_SCHEMA)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: schema_version %s, this ridesim reads value tables of version 1"
                      " to %d", path, rm->schema == -1 ? "missing" : "unreadable or different",
                      VAL_STORE_SCHEMA);
  return 0;
}

/* Parses a whole-string integer meta field; RS_EFORMAT naming it. */
static int meta_i64(const raw_meta *rm, int key, const char *text, const char *path,
                    int64_t *out, rs_err *e) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!(rm->have & (1 << key)) || errno || end == text || *end)
    return rs_err_set(e, RS_EFORMAT, "%s: %s: %s", path, meta_keys[key],
                      (rm->have & (1 << key)) ? "not an integer" : "missing");
  *out = (int64_t)v;
  return 0;
}

static int meta_double(const raw_meta *rm, int key, const char *text, const char *path,
                       double *out, rs_err *e) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (!(rm->have & (1 << key)) || errno || end == text || *end || !isfinite(v))
    return rs_err_set(e, RS_EFORMAT, "%s: %s: %s", path, meta_keys[key],
                      (rm->have & (1 << key)) ? "not a number" : "missing");
  *out = v;
  return 0;
}

static void fill_meta(const raw_meta *rm, val_meta *m) {
  memset(m, 0, sizeof *m);
  snprintf(m->city, sizeof m->city, "%s", rm->city);
  snprintf(m->days, sizeof m->days, "%s", rm->days);
  snprintf(m->created, sizeof m->created, "%s", rm->created);
  m->rows = strtoll(rm->rows, NULL, 10);
  m->passes = (int32_t)strtol(rm->passes, NULL, 10);
}

/* --- saving ------------------------------------------------------------------ */

static int exec(sqlite3 *db, const char *path, const char *sql, const char *what, rs_err *e) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : db_fail(db, path, e, rc, what);
}

static int put_meta(sqlite3 *db, sqlite3_stmt *s, const char *path, const char *key,
                    const char *value, rs_err *e) {
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  return rc == SQLITE_DONE ? 0 : db_fail(db, path, e, rc, "cannot write meta");
}

/* Writes meta and rows inside the caller's transaction. */
static int write_all(sqlite3 *db, const char *path, const val_table *t, const city_def *city,
                     const val_meta *m, rs_err *e) {
  int rc = exec(db, path, "DELETE FROM meta; DELETE FROM vvalues; DELETE FROM vfree;",
                "cannot clear", e);
  if (rc) return rc;
  sqlite3_stmt *sm = NULL, *sv = NULL, *sf = NULL;
  int src = sqlite3_prepare_v2(db, "INSERT INTO meta(key, value) VALUES(?, ?)", -1, &sm, NULL);
  if (src == SQLITE_OK)
    src = sqlite3_prepare_v2(db, "INSERT INTO vvalues(dtype, slot, cell, v, n)"
                             " VALUES(?, ?, ?, ?, ?)", -1, &sv, NULL);
  if (src == SQLITE_OK)
    src = sqlite3_prepare_v2(db, "INSERT INTO vfree(dtype, cell, v, n) VALUES(?, ?, ?, ?)", -1,
                             &sf, NULL);
  if (src != SQLITE_OK) {
    rc = db_fail(db, path, e, src, "cannot prepare");
    goto done;
  }
  const val_config *c = val_table_config(t);
  char buf[K_COUNT][64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char created[32];
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  snprintf(buf[K_SCHEMA], 64, "%d", VAL_STORE_SCHEMA);
  snprintf(buf[K_EDGE], 64, "%.17g", city->hex_edge_m);
  snprintf(buf[K_CELLS], 64, "%d", (int)val_table_n_cells(t));
  snprintf(buf[K_SLOT], 64, "%d", (int)c->slot_s);
  snprintf(buf[K_DTYPES], 64, "%d", (int)c->day_types);
  snprintf(buf[K_GAMMA], 64, "%.17g", c->gamma);
  snprintf(buf[K_PERIOD], 64, "%d", (int)c->gamma_period_s);
  snprintf(buf[K_ROWS], 64, "%lld", m ? (long long)m->rows : 0LL);
  snprintf(buf[K_PASSES], 64, "%d", m ? (int)m->passes : 0);
  const char *val[K_COUNT] = {VSTORE_APP, buf[K_SCHEMA], city->name, buf[K_EDGE],
                              buf[K_CELLS], buf[K_SLOT], buf[K_DTYPES], buf[K_GAMMA],
                              buf[K_PERIOD], m ? m->days : "", buf[K_ROWS],
                              buf[K_PASSES], created};
  for (int i = 0; rc == 0 && i < K_COUNT; i++) rc = put_meta(db, sm, path, meta_keys[i], val[i], e);

  int32_t nd = c->day_types, ns = val_table_n_slots(t), nc = val_table_n_cells(t);
  for (int32_t d = 0; rc == 0 && d < nd; d++)
    for (int32_t s = 0; rc == 0 && s < ns; s++)
      for (int32_t k = 0; rc == 0 && k < nc; k++) {
        uint32_t n = val_table_count(t, d, s, k);
        if (n == 0) continue;
        double v = val_table_raw(t, d, s, k);
        if (isnan(v)) {
          rc = rs_err_set(e, RS_EINVAL,
                          "%s: value of day type %d, slot %d, cell %d is not a number;"
                          " nothing saved", path, d, s, k);
          break;
        }
        sqlite3_reset(sv);
        sqlite3_bind_int(sv, 1, d);
        sqlite3_bind_int(sv, 2, s);
        sqlite3_bind_int(sv, 3, k);
        sqlite3_bind_double(sv, 4, v);
        sqlite3_bind_int64(sv, 5, (sqlite3_int64)n);
        int step = sqlite3_step(sv);
        if (step != SQLITE_DONE) rc = db_fail(db, path, e, step, "cannot write values");
      }
  for (int32_t d = 0; rc == 0 && d < nd; d++)
    for (int32_t k = 0; rc == 0 && k < nc; k++) {
      uint32_t n = val_table_free_count(t, d, k);
      if (n == 0) continue;
      double v = val_table_free_raw(t, d, k);
      if (isnan(v)) {
        rc = rs_err_set(e, RS_EINVAL,
                        "%s: time-free value of day type %d, cell %d is not a number;"
                        " nothing saved", path, d, k);
        break;
      }
      sqlite3_reset(sf);
      sqlite3_bind_int(sf, 1, d);
      sqlite3_bind_int(sf, 2, k);
      sqlite3_bind_double(sf, 3, v);
      sqlite3_bind_int64(sf, 4, (sqlite3_int64)n);
      int step = sqlite3_step(sf);
      if (step != SQLITE_DONE) rc = db_fail(db, path, e, step, "cannot write values");
    }
done:
  sqlite3_finalize(sm);
  sqlite3_finalize(sv);
  sqlite3_finalize(sf);
  return rc;
}

int val_store_save(const char *path, const val_table *t, const city_def *city,
                   const val_meta *m, rs_err *e) {
  if (path == NULL || *path == '\0')
    return rs_err_set(e, RS_EINVAL, "value table: no file name given");
  city_grid g;
  int rc = city_def_grid(city, &g, e);
  if (rc) return rc;
  if (g.n_cells != val_table_n_cells(t))
    return rs_err_set(e, RS_EINVAL,
                      "%s: the table has %d cells but city '%s' has %d; nothing saved", path,
                      val_table_n_cells(t), city->name, g.n_cells);
  int existed = access(path, F_OK) == 0;
  sqlite3 *db = NULL;
  int64_t n_objects = 0, n_ours = 0;
  rc = open_db(path, 1, &db, &n_objects, &n_ours, e);
  if (rc == RS_EFORMAT)
    rs_err_set(e, RS_EFORMAT, "%s: exists and is not a ridesim value table; not overwritten",
               path);
  if (rc) goto out;
  if (sqlite3_db_readonly(db, "main") == 1) {
    rc = rs_err_set(e, RS_EIO, "%s: not writable", path);
    goto out;
  }
  if (n_objects > 0) {
    /* Only ever replace a value table, never someone else's database. */
    raw_meta rm;
    if (n_ours != 2 || (rc = read_meta(db, path, &rm, e)) != 0) {
      if (rc == 0) rc = not_a_table(path, e);
      if (rc == RS_EFORMAT)
        rs_err_set(e, RS_EFORMAT, "%s: exists and is not a ridesim value table; not"
                                  " overwritten", path);
      goto out;
    }
  }
  rc = exec(db, path, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;",
            "cannot set pragmas", e);
  if (rc == 0) rc = exec(db, path, "BEGIN IMMEDIATE", "cannot start writing", e);
  if (rc) goto out;
  rc = exec(db, path, schema_sql, "cannot create tables", e);
  if (rc == 0) rc = write_all(db, path, t, city, m, e);
  if (rc == 0) rc = exec(db, path, "COMMIT", "cannot commit", e);
  if (rc) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
  sqlite3_close(db);
  if (rc && !existed) {
    /* Do not leave behind the empty file SQLite created for us. */
    char j[4096];
    snprintf(j, sizeof j, "%s-journal", path);
    unlink(j);
    unlink(path);
  }
  return rc;
}

/* --- loading ----------------------------------------------------------------- */

int val_store_load(const char *path, const city_def *city, const city_grid *g,
                   val_table **out, val_meta *m, rs_err *e) {
  if (out != NULL) *out = NULL;
  if (path == NULL || *path == '\0')
    return rs_err_set(e, RS_EINVAL, "value table: no file name given");
  if (access(path, F_OK) != 0) return rs_err_set(e, RS_ENOENT, "%s: no such value table", path);
  sqlite3 *db = NULL;
  int64_t n_objects = 0, n_ours = 0;
  val_table *t = NULL;
  sqlite3_stmt *s = NULL;
  raw_meta rm;
  int rc = open_db(path, 0, &db, &n_objects, &n_ours, e);
  if (rc) return rc;
  if (n_ours != 2) {
    rc = not_a_table(path, e);
    goto done;
  }
  rc = read_meta(db, path, &rm, e);
  if (rc) goto done;
  if (city == NULL) {
    /* Metadata only. */
    if (m != NULL) fill_meta(&rm, m);
    goto done;
  }

  if (strcmp(rm.city, city->name) != 0) {
    rc = rs_err_set(e, RS_EINVAL, "%s: city: the table is for '%s', not '%s'", path,
                    rm.city, city->name);
    goto done;
  }
  double edge = 0, gamma = 0;
  int64_t n_cells = 0, slot_s = 0, day_types = 0, period = 0;
  if ((rc = meta_double(&rm, K_EDGE, rm.edge, path, &edge, e)) != 0) goto done;
  if (edge != city->hex_edge_m) {
    rc = rs_err_set(e, RS_EINVAL, "%s: hex_edge_m: the table's cells have a %g m edge, city"
                                  " '%s' has %g m", path, edge, city->name, city->hex_edge_m);
    goto done;
  }
  if ((rc = meta_i64(&rm, K_CELLS, rm.n_cells, path, &n_cells, e)) != 0) goto done;
  if (n_cells != g->n_cells) {
    rc = rs_err_set(e, RS_EINVAL, "%s: n_cells: the table has %lld cells, the grid of city"
                                  " '%s' has %d", path, (long long)n_cells, city->name,
                    g->n_cells);
    goto done;
  }
  if ((rc = meta_i64(&rm, K_SLOT, rm.slot_s, path, &slot_s, e)) != 0) goto done;
  if (slot_s <= 0 || 86400 % slot_s != 0) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: slot_s: %lld s does not divide the day", path,
                    (long long)slot_s);
    goto done;
  }
  if ((rc = meta_i64(&rm, K_DTYPES, rm.day_types, path, &day_types, e)) != 0) goto done;
  if (day_types != 1 && day_types != 2) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: day_types: %lld, not 1 or 2", path,
                    (long long)day_types);
    goto done;
  }
  if ((rc = meta_double(&rm, K_GAMMA, rm.gamma, path, &gamma, e)) != 0) goto done;
  if ((rc = meta_i64(&rm, K_PERIOD, rm.gamma_period_s, path, &period, e)) != 0) goto done;
  if (!(gamma > 0 && gamma <= 1) || period <= 0 || period > INT32_MAX) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: gamma: %g per %lld s is not in (0, 1] per positive"
                                   " period", path, gamma, (long long)period);
    goto done;
  }
  val_config c = {(int32_t)slot_s, (int32_t)day_types, gamma, (int32_t)period};
  rc = val_table_new(g, &c, &t, e);
  if (rc) goto done;

  int32_t ns = val_table_n_slots(t);
  int step = sqlite3_prepare_v2(db, "SELECT dtype, slot, cell, v, n FROM vvalues"
                                " ORDER BY dtype, slot, cell", -1, &s, NULL);
  if (step != SQLITE_OK) {
    rc = db_fail(db, path, e, step, "cannot read values");
    goto done;
  }
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t d = sqlite3_column_int64(s, 0), sl = sqlite3_column_int64(s, 1),
            k = sqlite3_column_int64(s, 2), n = sqlite3_column_int64(s, 4);
    int vt = sqlite3_column_type(s, 3);
    const char *bad = NULL;
    if (d < 0 || d >= day_types) bad = "dtype";
    else if (sl < 0 || sl >= ns) bad = "slot";
    else if (k < 0 || k >= n_cells) bad = "cell";
    else if (vt != SQLITE_FLOAT && vt != SQLITE_INTEGER) bad = "v";
    else if (!(fabs(sqlite3_column_double(s, 3)) <= VSTORE_V_MAX)) bad = "v"; /* also NaN */
    else if (n <= 0 || n > (int64_t)UINT32_MAX) bad = "n";
    if (bad != NULL) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: vvalues: %s out of range in row (dtype %lld,"
                                     " slot %lld, cell %lld)", path, bad, (long long)d,
                      (long long)sl, (long long)k);
      goto done;
    }
    val_table_set(t, (int32_t)d, (int32_t)sl, (int32_t)k, sqlite3_column_double(s, 3),
                  (uint32_t)n);
  }
  if (step != SQLITE_DONE) {
    rc = db_fail(db, path, e, step, "cannot read values");
    goto done;
  }
  if (rm.schema >= 2) {
    sqlite3_finalize(s);
    s = NULL;
    step = sqlite3_prepare_v2(db, "SELECT dtype, cell, v, n FROM vfree ORDER BY dtype, cell", -1,
                              &s, NULL);
    if (step != SQLITE_OK) {
      rc = db_fail(db, path, e, step, "cannot read time-free values");
      goto done;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
      int64_t d = sqlite3_column_int64(s, 0), k = sqlite3_column_int64(s, 1),
              n = sqlite3_column_int64(s, 3);
      int vt = sqlite3_column_type(s, 2);
      const char *bad = NULL;
      if (d < 0 || d >= day_types) bad = "dtype";
      else if (k < 0 || k >= n_cells) bad = "cell";
      else if (vt != SQLITE_FLOAT && vt != SQLITE_INTEGER) bad = "v";
      else if (n <= 0 || n > (int64_t)UINT32_MAX) bad = "n";
      if (bad != NULL) {
        rc = rs_err_set(e, RS_EFORMAT, "%s: vfree: %s out of range in row (dtype %lld,"
                                       " cell %lld)", path, bad, (long long)d, (long long)k);
        goto done;
      }
      val_table_free_set(t, (int32_t)d, (int32_t)k, sqlite3_column_double(s, 2), (uint32_t)n);
    }
    if (step != SQLITE_DONE) {
      rc = db_fail(db, path, e, step, "cannot read time-free values");
      goto done;
    }
  }
  if (m != NULL) fill_meta(&rm, m);
  if (out != NULL) {
    val_table_resum(t);
    *out = t;
    t = NULL;
  }
done:
  sqlite3_finalize(s);
  sqlite3_close(db);
  val_table_free(t);
  return rc;
}

/*
 * tripstore: the SQLite trip store (schema and rules in tripstore.h).
 *
 * Job: keep imported trips, one city per file, and hand time ranges of them
 * to replays in (t_request, id) order.
 *
 * Writing: an import is one BEGIN IMMEDIATE ... COMMIT transaction. Its
 * imports row is inserted first (so trips and rejects can name its id) and
 * updated with the counts at commit; any failure rolls the whole import
 * back, so the store never holds half an import. Accepted trips are
 * buffered and inserted STORE_BATCH at a time by one multi-row INSERT, the
 * rest one by one at commit; the prepared statements live as long as the
 * handle. A trip's id is its rank in the store's insertion order.
 *
 * PRAGMAs: journal_mode=DELETE with synchronous=FULL, cache_size 64 MiB,
 * temp_store=MEMORY. A bulk import is one transaction, so the number of
 * fsyncs per import is a constant handful whatever the synchronous level:
 * NORMAL would save microseconds per import, and in rollback-journal mode it
 * is the one setting SQLite documents as able to corrupt on power loss. WAL
 * would write every page twice for a bulk load (log, then checkpoint),
 * leaves -wal/-shm files beside the store and cannot be opened read-only
 * from a read-only directory. The large page cache keeps a whole import's
 * dirty pages in memory until commit. The t_request index stays in place
 * during imports: trip files come sorted by time, so its inserts land at the
 * right edge of the b-tree and cost little more than the table's.
 *
 * Reading: city_store_load is one query walking the t_request index, whose
 * entries are ordered by (t_request, rowid) = (t_request, id): no sort
 * step, one row fetch per trip, and the array grows by doubling (no count
 * query first: on the index it costs a third of the load itself). A
 * covering index would save the row fetches at twice the storage; a walk
 * of the table over the id span of the range measured no faster once that
 * span had to be found. The days with trips and a range's first and last
 * requests (city_store_days, city_store_span) are index seeks too: one
 * per day, two per range, never a scan of the trips.
 *
 * Ownership: the handle owns its sqlite3 connection and statements;
 * city_store_close finalizes them (rolling back an import left open).
 */
#include "base/rs_sqlite.h"
#include "base/rs_time.h"
#include "base/rs_vec.h"
#include "city_data/tripstore.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_CACHE_KIB 65536 /* page cache for bulk loads, KiB */
#define STORE_BUSY_MS 5000    /* wait this long for another writer */
/* Trips per multi-row INSERT: one statement execution per 50 rows costs
 * far less than 50 executions (cursor open, halt and close dominate a
 * one-row insert); 50 x 12 parameters stays below the historical 999-variable
 * limit. */
#define STORE_BATCH 50
#define TRIP_COLS 13

struct city_store {
  sqlite3 *db;              /* the connection */
  char *path;               /* file name, for messages */
  char city[CITY_NAME_MAX]; /* stamped city, "" when none yet */
  double hex_edge_m;        /* stamped grid edge, 0 when none yet */
  long schema;              /* the file's schema version */
  int have_grid;            /* the grid below is recorded (schema 3) */
  double grid_box[4];       /* its box: min_lat, min_lng, max_lat, max_lng */
  int32_t grid_cells;       /* and its cell count (the edge is hex_edge_m) */
  char *city_json;          /* the kept city definition, or NULL */
  int writable;             /* opened with CITY_STORE_WRITE */
  int in_import;            /* an import transaction is open */
  int64_t import_id;        /* its imports row */
  sqlite3_stmt *ins_trip;   /* one row, prepared on the first import */
  sqlite3_stmt *ins_batch;  /* STORE_BATCH rows in one statement */
  sqlite3_stmt *ins_reject;
  city_trip batch[STORE_BATCH]; /* accepted trips not yet inserted */
  int64_t batch_line[STORE_BATCH]; /* their source lines */
  int n_batch;              /* trips in batch[] */
};

static const char schema_sql[] =
    "CREATE TABLE store(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE trips(id INTEGER PRIMARY KEY, t_request INTEGER NOT NULL,"
    " pickup_lat REAL, pickup_lng REAL, dropoff_lat REAL, dropoff_lng REAL,"
    " t_dropoff INTEGER NULL, fare REAL NULL, distance_m REAL NULL,"
    " pickup_cell INTEGER, dropoff_cell INTEGER, import_id INTEGER,"
    " source_line INTEGER, source_id INTEGER NULL);"
    "CREATE INDEX trips_t_request ON trips(t_request);"
    "CREATE TABLE imports(id INTEGER PRIMARY KEY, source_file TEXT,"
    " format TEXT, city TEXT, import_time TEXT, rows_accepted INTEGER,"
    " rows_rejected INTEGER, schema_version INTEGER, source_hash TEXT,"
    " source_bytes INTEGER);"
    "CREATE TABLE rejects(import_id INTEGER, source_line INTEGER,"
    " reason TEXT);";

static int db_fail(city_store *st, rs_err *e, int rc, const char *what) {
  return rs_err_set(e, rs_sqlite_code(rc), "%s: %s: %s", st->path, what,
                    sqlite3_errmsg(st->db));
}

static int not_a_store(city_store *st, rs_err *e) {
  return rs_err_set(e, RS_EFORMAT, "%s: not a ridesim trip store", st->path);
}

/* Runs one statement with no result rows. */
static int exec(city_store *st, const char *sql, const char *what, rs_err *e) {
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : db_fail(st, e, rc, what);
}

/* Reads one integer from a query with no parameters. */
static int query_i64(city_store *st, const char *sql, int64_t *out, rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    *out = 0;
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) db_fail(st, e, rc, "query");
  sqlite3_finalize(s);
  return rc == SQLITE_OK ? 0 : e && e->code ? e->code : RS_EDB;
}

static int set_key(city_store *st, const char *key, const char *value,
                   rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "INSERT OR REPLACE INTO store(key, value) VALUES(?, ?)", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? 0 : db_fail(st, e, rc, "cannot write store table");
}

/* Stamps the store with a city and its grid (inside the caller's
 * transaction). */
static int stamp_city(city_store *st, const city_def *city, rs_err *e) {
  city_grid g;
  int rc = city_def_grid(city, &g, e);
  if (rc) return rc;
  char edge[64], grid[256];
  snprintf(edge, sizeof edge, "%.17g", city->hex_edge_m);
  snprintf(grid, sizeof grid, "%.17g,%.17g,%.17g,%.17g,%.17g,%d", city->min_lat, city->min_lng,
           city->max_lat, city->max_lng, city->hex_edge_m, (int)g.n_cells);
  rc = set_key(st, "city", city->name, e);
  if (rc == 0) rc = set_key(st, "hex_edge_m", edge, e);
  if (rc == 0) rc = set_key(st, "grid", grid, e);
  if (rc == 0) {
    snprintf(st->city, sizeof st->city, "%s", city->name);
    st->hex_edge_m = city->hex_edge_m;
    st->have_grid = 1;
    st->grid_box[0] = city->min_lat;
    st->grid_box[1] = city->min_lng;
    st->grid_box[2] = city->max_lat;
    st->grid_box[3] = city->max_lng;
    st->grid_cells = g.n_cells;
  }
  return rc;
}

/* Reads the "grid" key; 0, or -1 when it is not six numbers. */
static int parse_grid(city_store *st, const char *v) {
  double b[5];
  int cells, used = 0;
  if (sscanf(v, "%lf,%lf,%lf,%lf,%lf,%d%n", &b[0], &b[1], &b[2], &b[3], &b[4], &cells, &used) != 6 ||
      v[used] != '\0' || cells <= 0)
    return -1;
  memcpy(st->grid_box, b, sizeof st->grid_box);
  st->grid_cells = cells;
  st->have_grid = 1;
  return 0;
}

static int create_schema(city_store *st, const city_def *city, rs_err *e) {
  int rc = exec(st, "BEGIN IMMEDIATE", "cannot create trip store", e);
  if (rc) return rc;
  rc = exec(st, schema_sql, "cannot create trip store", e);
  if (rc == 0) {
    char v[16];
    snprintf(v, sizeof v, "%d", CITY_STORE_SCHEMA);
    rc = set_key(st, "schema_version", v, e);
  }
  if (rc == 0 && city != NULL) rc = stamp_city(st, city, e);
  if (rc == 0) rc = exec(st, "COMMIT", "cannot create trip store", e);
  if (rc) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Reads the store table; RS_EFORMAT when the file is not a trip store. */
static int read_meta(city_store *st, rs_err *e) {
  int64_t n_tables = 0;
  int rc = query_i64(st,
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
      " ('store', 'trips', 'imports', 'rejects')", &n_tables, NULL);
  if (rc || n_tables != 4) return not_a_store(st, e);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(st->db, "SELECT key, value FROM store", -1, &s,
                         NULL) != SQLITE_OK)
    return not_a_store(st, e);
  long version = -1;
  int step, bad_grid = 0;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(s, 0);
    const char *v = (const char *)sqlite3_column_text(s, 1);
    if (k == NULL || v == NULL) continue;
    if (strcmp(k, "schema_version") == 0) version = strtol(v, NULL, 10);
    else if (strcmp(k, "city") == 0) snprintf(st->city, sizeof st->city, "%s", v);
    else if (strcmp(k, "hex_edge_m") == 0) st->hex_edge_m = strtod(v, NULL);
    else if (strcmp(k, "grid") == 0 && parse_grid(st, v) != 0) bad_grid = 1;
    else if (strcmp(k, "city_definition") == 0 && st->city_json == NULL &&
             (st->city_json = strdup(v)) == NULL)
      step = SQLITE_NOMEM;
    if (step == SQLITE_NOMEM) break;
  }
  sqlite3_finalize(s);
  if (step == SQLITE_NOMEM) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", st->path);
  if (step != SQLITE_DONE) return db_fail(st, e, step, "cannot read store table");
  if (version < 0) return not_a_store(st, e);
  st->schema = version;
  if (version > CITY_STORE_SCHEMA)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: trip store of schema version %ld, written by a newer ridesim (this one"
                      " reads versions %d to %d): use that ridesim",
                      st->path, version, CITY_STORE_SCHEMA_OLDEST, CITY_STORE_SCHEMA);
  if (version < CITY_STORE_SCHEMA_OLDEST)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: trip store of schema version %ld, too old for this ridesim (it reads"
                      " versions %d to %d): import the data again",
                      st->path, version, CITY_STORE_SCHEMA_OLDEST, CITY_STORE_SCHEMA);
  if (version < CITY_STORE_SCHEMA && st->writable)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: trip store of schema version %ld, which this ridesim reads but does not"
                      " add to (it writes version %d): import into a new store",
                      st->path, version, CITY_STORE_SCHEMA);
  if (bad_grid || (version >= 3 && st->city[0] != '\0' && !st->have_grid))
    return rs_err_set(e, RS_EFORMAT, "%s: the trip store's grid record is missing or damaged",
                      st->path);
  return 0;
}

int city_store_open(const char *path, int mode, const city_def *city,
                    city_store **out, rs_err *e) {
  *out = NULL;
  if (path == NULL || *path == '\0')
    return rs_err_set(e, RS_EINVAL, "trip store: no file name given");
  if (mode == CITY_STORE_READ && access(path, F_OK) != 0)
    return rs_err_set(e, RS_ENOENT, "%s: no such trip store", path);
  /* A device or a directory is no store: SQLite would open /dev/null, then
   * leave a /dev/null-journal beside it. (":memory:" does not exist.) */
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return rs_err_set(e, RS_EINVAL, "%s: not a regular file", path);
  city_store *st = calloc(1, sizeof *st);
  if (st == NULL) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
  st->path = strdup(path);
  if (st->path == NULL) {
    free(st);
    return rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
  }
  st->writable = mode == CITY_STORE_WRITE;
  /* NOMUTEX: a handle is used by one thread at a time, so SQLite's
   * per-call locking is pure cost. */
  int flags = (st->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                            : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
  if (rc != SQLITE_OK) {
    rc = st->db ? rs_err_set(e, rs_sqlite_code(rc), "%s: cannot open: %s", path,
                             sqlite3_errmsg(st->db))
                : rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    city_store_close(st);
    return rc;
  }
  sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
  if (st->writable && sqlite3_db_readonly(st->db, "main") == 1) {
    rs_err_set(e, RS_EIO, "%s: trip store is not writable", path);
    city_store_close(st);
    return RS_EIO;
  }
  /* A file that is not SQLite fails here with SQLITE_NOTADB; a store held
   * by another writer, or no memory, is not a format problem. */
  int64_t n_objects = 0;
  rc = query_i64(st, "SELECT count(*) FROM sqlite_master", &n_objects, NULL);
  if (rc) {
    int code = sqlite3_errcode(st->db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      rc = rs_err_set(e, RS_EDB, "%s: the trip store is locked by another process", path);
    else if (code == SQLITE_NOMEM)
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      rc = not_a_store(st, e);
    else
      rc = rs_err_set(e, RS_EDB, "%s: cannot read: %s", path, sqlite3_errmsg(st->db));
  } else if (n_objects == 0) {
    rc = st->writable ? create_schema(st, city, e) : not_a_store(st, e);
  } else {
    rc = read_meta(st, e);
  }
  if (rc == 0 && city != NULL) {
    if (st->city[0] == '\0') {
      if (st->writable) {
        rc = exec(st, "BEGIN IMMEDIATE", "cannot stamp city", e);
        if (rc == 0) rc = stamp_city(st, city, e);
        if (rc == 0) rc = exec(st, "COMMIT", "cannot stamp city", e);
        if (rc) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      }
    } else {
      rc = city_store_check_city(st, city, e);
    }
  }
  if (rc == 0 && st->writable) {
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
             " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d;",
             STORE_CACHE_KIB);
    rc = exec(st, pragmas, "cannot set pragmas", e);
  }
  if (rc) {
    city_store_close(st);
    return rc;
  }
  *out = st;
  return 0;
}

void city_store_close(city_store *st) {
  if (st == NULL) return;
  if (st->in_import) city_store_import_abort(st);
  sqlite3_finalize(st->ins_trip);
  sqlite3_finalize(st->ins_batch);
  sqlite3_finalize(st->ins_reject);
  sqlite3_close(st->db);
  free(st->city_json);
  free(st->path);
  free(st);
}

const char *city_store_city(const city_store *st) { return st->city; }

int city_store_check_city(const city_store *st, const city_def *city, rs_err *e) {
  if (strcmp(st->city, city->name) != 0)
    return rs_err_set(e, RS_EINVAL, "%s: trip store of city '%s', not '%s'", st->path, st->city,
                      city->name);
  if (!st->have_grid) {
    if (fabs(st->hex_edge_m - city->hex_edge_m) > 1e-9)
      return rs_err_set(e, RS_EINVAL,
                        "%s: trip store cells use a %g m hex edge, city '%s' now has %g m;"
                        " re-import into a new store",
                        st->path, st->hex_edge_m, city->name, city->hex_edge_m);
    return 0;
  }
  city_grid g;
  int rc = city_def_grid(city, &g, e);
  if (rc) return rc;
  const double *b = st->grid_box;
  if (b[0] != city->min_lat || b[1] != city->min_lng || b[2] != city->max_lat ||
      b[3] != city->max_lng || st->hex_edge_m != city->hex_edge_m || st->grid_cells != g.n_cells)
    return rs_err_set(e, RS_EINVAL,
                      "%s: trip store imported on another grid than the one of city '%s' (store: box"
                      " %.6g,%.6g..%.6g,%.6g, %g m hexes, %d cells; city: box %.6g,%.6g..%.6g,%.6g,"
                      " %g m hexes, %d cells): run it with the city it was imported with, or"
                      " import the trips again with this one",
                      st->path, city->name, b[0], b[1], b[2], b[3], st->hex_edge_m,
                      (int)st->grid_cells, city->min_lat, city->min_lng, city->max_lat,
                      city->max_lng, city->hex_edge_m, (int)g.n_cells);
  return 0;
}

int city_store_city_def(const city_store *st, city_def *def, rs_err *e) {
  city_def d;
  int rc;
  if (st->city[0] == '\0')
    return rs_err_set(e, RS_EINVAL, "%s: the trip store names no city", st->path);
  if (st->city_json != NULL) {
    char origin[300];
    snprintf(origin, sizeof origin, "%s (the city kept in the trip store)", st->path);
    rc = city_def_parse(st->city_json, origin, &d, e);
  } else {
    rc = city_def_builtin(st->city, &d, NULL);
    if (rc)
      return rs_err_set(e, RS_EINVAL,
                        "%s: trip store of city '%s', which is not built in and whose definition"
                        " the store does not keep: name its file with --city FILE",
                        st->path, st->city);
  }
  if (rc == 0) rc = city_store_check_city(st, &d, e);
  if (rc == 0) *def = d;
  return rc;
}

#define CITY_FILE_MAX (1 << 20) /* a city definition is a few KiB */

int city_store_keep_city_file(city_store *st, const char *path, rs_err *e) {
  if (!st->writable)
    return rs_err_set(e, RS_EINVAL, "%s: trip store opened read-only", st->path);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rs_err_set(e, errno == ENOENT ? RS_ENOENT : RS_EIO, "%s: cannot open: %s", path,
                      strerror(errno));
  char *text = malloc(CITY_FILE_MAX + 1);
  size_t n = text ? fread(text, 1, CITY_FILE_MAX + 1, f) : 0;
  int failed = text == NULL ? RS_ENOMEM : ferror(f) ? RS_EIO : n > CITY_FILE_MAX ? RS_EFORMAT : 0;
  fclose(f);
  if (failed) {
    free(text);
    return rs_err_set(e, failed, failed == RS_ENOMEM ? "%s: out of memory"
                                 : failed == RS_EIO  ? "%s: cannot read"
                                                     : "%s: larger than 1 MiB: not a city definition",
                      path);
  }
  text[n] = '\0';
  city_def d;
  int rc = city_def_parse(text, path, &d, e);
  if (rc == 0) rc = city_store_check_city(st, &d, e);
  if (rc == 0 && (st->city_json == NULL || strcmp(st->city_json, text) != 0)) {
    rc = exec(st, "BEGIN IMMEDIATE", "cannot keep the city definition", e);
    if (rc == 0) rc = set_key(st, "city_definition", text, e);
    if (rc == 0) rc = exec(st, "COMMIT", "cannot keep the city definition", e);
    if (rc) {
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
      free(st->city_json);
      st->city_json = text;
      text = NULL;
    }
  }
  free(text);
  return rc;
}

/* Whether a cell read from or written to the store fits its grid (-1:
 * unknown). */
static int cell_ok(const city_store *st, int32_t c) {
  return c >= -1 && (!st->have_grid || c < st->grid_cells);
}

/* --- writing ---------------------------------------------------------------- */

int city_store_import_begin(city_store *st, const char *source,
                            const char *format, rs_err *e) {
  if (!st->writable)
    return rs_err_set(e, RS_EINVAL, "%s: trip store opened read-only", st->path);
  if (st->in_import)
    return rs_err_set(e, RS_EINVAL, "%s: an import is already open", st->path);
  int rc;
  if (st->ins_trip == NULL) {
    rc = sqlite3_prepare_v2(st->db,
        "INSERT INTO trips(t_request, pickup_lat, pickup_lng, dropoff_lat,"
        " dropoff_lng, t_dropoff, fare, distance_m, pickup_cell, dropoff_cell,"
        " import_id, source_line, source_id) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
        -1, &st->ins_trip, NULL);
    if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot prepare insert");
    char sql[64 + STORE_BATCH * (4 * TRIP_COLS + 4)];
    int len = snprintf(sql, sizeof sql,
        "INSERT INTO trips(t_request, pickup_lat, pickup_lng, dropoff_lat,"
        " dropoff_lng, t_dropoff, fare, distance_m, pickup_cell, dropoff_cell,"
        " import_id, source_line, source_id) VALUES");
    for (int r = 0; r < STORE_BATCH; r++)
      len += snprintf(sql + len, sizeof sql - (size_t)len, "%s(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      r ? "," : "");
    rc = sqlite3_prepare_v2(st->db, sql, -1, &st->ins_batch, NULL);
    if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot prepare insert");
    rc = sqlite3_prepare_v2(st->db,
        "INSERT INTO rejects(import_id, source_line, reason) VALUES(?,?,?)",
        -1, &st->ins_reject, NULL);
    if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot prepare insert");
  }
  rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot start import");
  st->in_import = 1;

  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  sqlite3_stmt *s = NULL;
  rc = sqlite3_prepare_v2(st->db,
      "INSERT INTO imports(source_file, format, city, import_time,"
      " rows_accepted, rows_rejected, schema_version)"
      " VALUES(?, ?, ?, ?, 0, 0, ?)", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, format ? format : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, st->city, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, when, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, CITY_STORE_SCHEMA);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    int code = db_fail(st, e, rc, "cannot record import");
    city_store_import_abort(st);
    return code;
  }
  st->import_id = sqlite3_last_insert_rowid(st->db);
  return 0;
}

int city_store_import_source(city_store *st, const char *hash, int64_t bytes,
                             int64_t *earlier, rs_err *e) {
  *earlier = 0;
  if (!st->in_import)
    return rs_err_set(e, RS_EINVAL, "%s: no import open", st->path);
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT id FROM imports WHERE source_hash = ?1 AND source_bytes = ?2 AND id <> ?3"
      " AND rows_accepted > 0 ORDER BY id LIMIT 1", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, bytes);
    sqlite3_bind_int64(s, 3, st->import_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *earlier = sqlite3_column_int64(s, 0);
    if (rc == SQLITE_ROW) rc = SQLITE_DONE;
  }
  sqlite3_finalize(s);
  s = NULL;
  if (rc == SQLITE_DONE)
    rc = sqlite3_prepare_v2(st->db,
        "UPDATE imports SET source_hash = ?1, source_bytes = ?2 WHERE id = ?3", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, bytes);
    sqlite3_bind_int64(s, 3, st->import_id);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? 0 : db_fail(st, e, rc, "cannot record the import's source");
}

/* Binds trip t with its line as the k-th row (0-based) of statement s. */
static void bind_trip(city_store *st, sqlite3_stmt *s, int k,
                      const city_trip *t, int64_t line) {
  int o = k * TRIP_COLS;
  sqlite3_bind_int64(s, o + 1, t->t_request);
  sqlite3_bind_double(s, o + 2, t->plat);
  sqlite3_bind_double(s, o + 3, t->plng);
  sqlite3_bind_double(s, o + 4, t->dlat);
  sqlite3_bind_double(s, o + 5, t->dlng);
  if (t->t_dropoff >= 0) sqlite3_bind_int64(s, o + 6, t->t_dropoff);
  else sqlite3_bind_null(s, o + 6);
  if (!isnan(t->fare)) sqlite3_bind_double(s, o + 7, t->fare);
  else sqlite3_bind_null(s, o + 7);
  if (!isnan(t->distance_m)) sqlite3_bind_double(s, o + 8, t->distance_m);
  else sqlite3_bind_null(s, o + 8);
  sqlite3_bind_int(s, o + 9, t->pcell);
  sqlite3_bind_int(s, o + 10, t->dcell);
  sqlite3_bind_int64(s, o + 11, st->import_id);
  sqlite3_bind_int64(s, o + 12, line);
  if (t->source_id >= 0) sqlite3_bind_int64(s, o + 13, t->source_id);
  else sqlite3_bind_null(s, o + 13);
}

/* Inserts the buffered trips, in order (so ids follow the file). */
static int flush_batch(city_store *st, rs_err *e) {
  int rc = SQLITE_DONE;
  if (st->n_batch == STORE_BATCH) {
    for (int k = 0; k < STORE_BATCH; k++)
      bind_trip(st, st->ins_batch, k, &st->batch[k], st->batch_line[k]);
    rc = sqlite3_step(st->ins_batch);
    sqlite3_reset(st->ins_batch);
  } else {
    for (int k = 0; k < st->n_batch && rc == SQLITE_DONE; k++) {
      bind_trip(st, st->ins_trip, 0, &st->batch[k], st->batch_line[k]);
      rc = sqlite3_step(st->ins_trip);
      sqlite3_reset(st->ins_trip);
    }
  }
  st->n_batch = 0;
  return rc == SQLITE_DONE ? 0 : db_fail(st, e, rc, "cannot insert trips");
}

int city_store_import_trip(city_store *st, const city_trip *t, int64_t line,
                           rs_err *e) {
  if (!st->in_import)
    return rs_err_set(e, RS_EINVAL, "%s: no import open", st->path);
  if (!cell_ok(st, t->pcell) || !cell_ok(st, t->dcell))
    return rs_err_set(e, RS_EINVAL, "%s: line %lld: cells %d, %d are not cells of the store's grid"
                      " (%d cells)", st->path, (long long)line, (int)t->pcell, (int)t->dcell,
                      (int)st->grid_cells);
  st->batch[st->n_batch] = *t;
  st->batch_line[st->n_batch] = line;
  if (++st->n_batch == STORE_BATCH) return flush_batch(st, e);
  return 0;
}

int city_store_import_reject(city_store *st, int64_t line, const char *reason,
                             rs_err *e) {
  if (!st->in_import)
    return rs_err_set(e, RS_EINVAL, "%s: no import open", st->path);
  sqlite3_stmt *s = st->ins_reject;
  sqlite3_bind_int64(s, 1, st->import_id);
  sqlite3_bind_int64(s, 2, line);
  sqlite3_bind_text(s, 3, reason ? reason : "", -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? 0 : db_fail(st, e, rc, "cannot insert reject");
}

int city_store_import_commit(city_store *st, int64_t accepted,
                             int64_t rejected, rs_err *e) {
  if (!st->in_import)
    return rs_err_set(e, RS_EINVAL, "%s: no import open", st->path);
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "UPDATE imports SET rows_accepted = ?, rows_rejected = ? WHERE id = ?",
      -1, &s, NULL);
  if (rc == SQLITE_OK && st->n_batch > 0 && flush_batch(st, e)) {
    sqlite3_finalize(s);
    city_store_import_abort(st);
    return e && e->code ? e->code : RS_EDB;
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, accepted);
    sqlite3_bind_int64(s, 2, rejected);
    sqlite3_bind_int64(s, 3, st->import_id);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    int code = db_fail(st, e, rc, "cannot record import counts");
    city_store_import_abort(st);
    return code;
  }
  rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    int code = db_fail(st, e, rc, "cannot commit import");
    city_store_import_abort(st);
    return code;
  }
  st->in_import = 0;
  return 0;
}

void city_store_import_abort(city_store *st) {
  if (st == NULL || !st->in_import) return;
  st->n_batch = 0;
  if (st->ins_trip) sqlite3_reset(st->ins_trip);
  if (st->ins_batch) sqlite3_reset(st->ins_batch);
  if (st->ins_reject) sqlite3_reset(st->ins_reject);
  /* Harmless when SQLite already rolled back on its own (SQLITE_FULL). */
  if (!sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  st->in_import = 0;
}

/* --- reading ---------------------------------------------------------------- */

int city_store_load(city_store *st, int64_t from, int64_t to,
                    city_trip **out, size_t *n, rs_err *e) {
  *out = NULL;
  *n = 0;
  if (to <= from) return 0;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT id, t_request, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,"
      " t_dropoff, fare, distance_m, pickup_cell, dropoff_cell, source_id FROM trips"
      " WHERE t_request >= ?1 AND t_request < ?2 ORDER BY t_request, id",
      -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot read trips");
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, to);
  city_trip *a = NULL;
  size_t k = 0, cap = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (rs_vec_grow(a, cap, k + 1)) {
      free(a);
      sqlite3_finalize(s);
      return rs_err_set(e, RS_ENOMEM, "%s: out of memory for %zu trips",
                        st->path, k + 1);
    }
    city_trip *t = &a[k++];
    t->id = sqlite3_column_int64(s, 0);
    t->t_request = sqlite3_column_int64(s, 1);
    t->plat = sqlite3_column_double(s, 2);
    t->plng = sqlite3_column_double(s, 3);
    t->dlat = sqlite3_column_double(s, 4);
    t->dlng = sqlite3_column_double(s, 5);
    t->t_dropoff = sqlite3_column_type(s, 6) == SQLITE_NULL
                       ? -1 : sqlite3_column_int64(s, 6);
    t->fare = sqlite3_column_type(s, 7) == SQLITE_NULL
                  ? NAN : sqlite3_column_double(s, 7);
    t->distance_m = sqlite3_column_type(s, 8) == SQLITE_NULL
                        ? NAN : sqlite3_column_double(s, 8);
    int64_t pc = sqlite3_column_int64(s, 9), dc = sqlite3_column_int64(s, 10);
    t->source_id = sqlite3_column_type(s, 11) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 11);
    if (!st->have_grid) {
      t->pcell = t->dcell = -1; /* a grid not recorded: the reader derives them */
    } else if (pc < -1 || pc >= st->grid_cells || dc < -1 || dc >= st->grid_cells) {
      rc = rs_err_set(e, RS_EFORMAT,
                      "%s: trip %lld: %s cell %lld is not a cell of the store's grid (%d cells):"
                      " the file was edited or damaged",
                      st->path, (long long)t->id, pc < -1 || pc >= st->grid_cells ? "pickup" : "dropoff",
                      (long long)(pc < -1 || pc >= st->grid_cells ? pc : dc), (int)st->grid_cells);
      sqlite3_finalize(s);
      free(a);
      return rc;
    } else {
      t->pcell = (int32_t)pc;
      t->dcell = (int32_t)dc;
    }
  }
  if (rc != SQLITE_DONE) {
    int code = db_fail(st, e, rc, "cannot read trips");
    sqlite3_finalize(s);
    free(a);
    return code;
  }
  sqlite3_finalize(s);
  *out = a;
  *n = k;
  return 0;
}

/* Local midnight of a local-epoch time, floored for times before 1970. */
#define DAY_OF_SQL "(t_request - ((t_request % 86400) + 86400) % 86400)"

int city_store_summarize(city_store *st, city_store_summary *s, rs_err *e) {
  memset(s, 0, sizeof *s);
  int rc = query_i64(st, "SELECT count(*) FROM trips", &s->n_trips, e);
  if (rc == 0)
    rc = query_i64(st, "SELECT coalesce(min(t_request), 0) FROM trips",
                   &s->t_first, e);
  if (rc == 0)
    rc = query_i64(st, "SELECT coalesce(max(t_request), 0) FROM trips",
                   &s->t_last, e);
  if (rc == 0) rc = query_i64(st, "SELECT count(*) FROM imports", &s->n_imports, e);
  if (rc == 0) rc = query_i64(st, "SELECT count(*) FROM rejects", &s->n_rejects, e);
  if (rc == 0)
    rc = query_i64(st, "SELECT count(DISTINCT " DAY_OF_SQL ") FROM trips",
                   &s->n_days, e);
  return rc;
}

/* The earliest (desc 0) or latest (desc 1) request time in [from, to), by
 * the index on t_request: *found 0 when there is none. */
static int edge_time(city_store *st, int64_t from, int64_t to, int desc, int64_t *t,
                     int *found, rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
                              desc ? "SELECT t_request FROM trips WHERE t_request >= ?1 AND"
                                     " t_request < ?2 ORDER BY t_request DESC LIMIT 1"
                                   : "SELECT t_request FROM trips WHERE t_request >= ?1 AND"
                                     " t_request < ?2 ORDER BY t_request LIMIT 1",
                              -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot read trips");
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, to);
  *found = 0;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *t = sqlite3_column_int64(s, 0);
    *found = 1;
    rc = SQLITE_DONE;
  }
  int code = rc == SQLITE_DONE ? 0 : db_fail(st, e, rc, "cannot read trips");
  sqlite3_finalize(s);
  return code;
}

int city_store_span(city_store *st, int64_t from, int64_t to, int64_t *first, int64_t *last,
                    int *found, rs_err *e) {
  int rc = edge_time(st, from, to, 0, first, found, e);
  if (rc == 0 && *found) rc = edge_time(st, from, to, 1, last, found, e);
  return rc;
}

int city_store_days(city_store *st, int64_t **days, size_t *n, rs_err *e) {
  /* one index seek per day (the first request at or after the next
   * midnight), not a scan of every trip */
  *days = NULL;
  *n = 0;
  size_t cap = 0, k = 0;
  int64_t *a = NULL, t = 0, at = INT64_MIN;
  int found = 0, rc;
  while ((rc = edge_time(st, at, INT64_MAX, 0, &t, &found, e)) == 0 && found) {
    if (rs_vec_grow(a, cap, k + 1)) {
      free(a);
      return rs_err_set(e, RS_ENOMEM, "%s: out of memory", st->path);
    }
    int64_t d = rs_time_day(t); /* as DAY_OF_SQL */
    a[k++] = d;
    if (d > INT64_MAX - RS_DAY_S) break;
    at = d + RS_DAY_S;
  }
  if (rc != 0) {
    free(a);
    return rc;
  }
  *days = a;
  *n = k;
  return 0;
}

/* --- listings ------------------------------------------------------------- */

int city_store_each_import(city_store *st, city_store_import_fn fn, void *ctx,
                           rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT id, source_file, format, city, import_time, rows_accepted,"
      " rows_rejected FROM imports ORDER BY id", -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot list imports");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *src = (const char *)sqlite3_column_text(s, 1);
    const char *fmt = (const char *)sqlite3_column_text(s, 2);
    const char *city = (const char *)sqlite3_column_text(s, 3);
    const char *when = (const char *)sqlite3_column_text(s, 4);
    if (fn(ctx, sqlite3_column_int64(s, 0), src ? src : "", fmt ? fmt : "",
           city ? city : "", when ? when : "", sqlite3_column_int64(s, 5),
           sqlite3_column_int64(s, 6)))
      break;
  }
  int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  int code = ok ? 0 : db_fail(st, e, rc, "cannot list imports");
  sqlite3_finalize(s);
  return code;
}

int city_store_each_reject(city_store *st, int64_t import_id, int64_t limit,
                           city_store_reject_fn fn, void *ctx, rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT source_line, reason FROM rejects WHERE import_id ="
      " (CASE WHEN ?1 > 0 THEN ?1 ELSE (SELECT max(id) FROM imports) END)"
      " ORDER BY source_line LIMIT ?2", -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot list rejects");
  sqlite3_bind_int64(s, 1, import_id);
  sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *why = (const char *)sqlite3_column_text(s, 1);
    if (fn(ctx, sqlite3_column_int64(s, 0), why ? why : "")) break;
  }
  int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  int code = ok ? 0 : db_fail(st, e, rc, "cannot list rejects");
  sqlite3_finalize(s);
  return code;
}

int city_store_each_reason(city_store *st, city_store_count_fn fn, void *ctx,
                           rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT reason, count(*) AS n FROM rejects GROUP BY reason"
      " ORDER BY n DESC, reason", -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot count rejects");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *why = (const char *)sqlite3_column_text(s, 0);
    if (fn(ctx, why ? why : "", 0, sqlite3_column_int64(s, 1))) break;
  }
  int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  int code = ok ? 0 : db_fail(st, e, rc, "cannot count rejects");
  sqlite3_finalize(s);
  return code;
}

int city_store_each_day(city_store *st, city_store_count_fn fn, void *ctx,
                        rs_err *e) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db,
      "SELECT " DAY_OF_SQL " AS d, count(*) FROM trips GROUP BY d ORDER BY d",
      -1, &s, NULL);
  if (rc != SQLITE_OK) return db_fail(st, e, rc, "cannot count days");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (fn(ctx, NULL, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)))
      break;
  int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  int code = ok ? 0 : db_fail(st, e, rc, "cannot count days");
  sqlite3_finalize(s);
  return code;
}

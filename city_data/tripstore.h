/*
 * tripstore: the SQLite trip store every replay reads.
 *
 * One file, schema version CITY_STORE_SCHEMA:
 *   store(key TEXT PRIMARY KEY, value TEXT)   city, schema_version, hex_edge_m,
 *         grid ("min_lat,min_lng,max_lat,max_lng,hex_edge_m,n_cells": the
 *         grid the cells index), city_definition (the city's JSON when it
 *         came from a file, so that a run needs no --city again)
 *   trips(id INTEGER PRIMARY KEY, t_request INTEGER NOT NULL,
 *         pickup_lat REAL, pickup_lng REAL, dropoff_lat REAL, dropoff_lng REAL,
 *         t_dropoff INTEGER NULL, fare REAL NULL, distance_m REAL NULL,
 *         pickup_cell INTEGER, dropoff_cell INTEGER, import_id INTEGER,
 *         source_line INTEGER, source_id INTEGER NULL) + index on t_request
 *   imports(id INTEGER PRIMARY KEY, source_file, format, city, import_time,
 *           rows_accepted, rows_rejected, schema_version,
 *           source_hash, source_bytes)                       ("metadata")
 *   rejects(import_id, source_line, reason)
 * Times are local-epoch seconds (city.h). A store belongs to one city and
 * one grid: its cells are that grid's indices, and opening it for a city of
 * another name or another grid (box, edge or cell count) fails. Cells read
 * back are checked against the stored grid's cell count; a store of schema
 * 2 (no grid recorded) is still read, its cells dropped (-1: the reader
 * derives them from the coordinates).
 *
 * Writing happens in one transaction per import with prepared statements:
 * an import either lands whole (trips, its imports row, its rejects) or not
 * at all, so a store is never left half-written.
 */
#ifndef CITY_TRIPSTORE_H
#define CITY_TRIPSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "city_data/city.h"
#include "base/rs_error.h"

#define CITY_STORE_SCHEMA 3 /* 2: trips.source_id; 3: the grid, the city's
                               definition, imports.source_hash */
#define CITY_STORE_SCHEMA_OLDEST 2 /* the oldest still read */

typedef struct {
  int64_t id;          /* stable trip id (row id in the store) */
  int64_t t_request;   /* local-epoch seconds */
  double plat, plng;   /* pickup */
  double dlat, dlng;   /* dropoff */
  int64_t t_dropoff;   /* local-epoch seconds, or -1 when unknown */
  double fare;         /* money units, or NAN when unknown */
  double distance_m;   /* recorded trip distance, or NAN when unknown */
  int32_t pcell, dcell;/* dense grid indices of pickup and dropoff (-1:
                          unknown, derived from the coordinates) */
  int64_t source_id;   /* the source's own integer id (KDD Cup order_id), -1 when none */
} city_trip;

typedef struct city_store city_store;

enum {
  CITY_STORE_READ = 0,   /* must exist and be a trip store */
  CITY_STORE_WRITE = 1,  /* created when missing */
};

/* Opens (or creates) a store. With CITY_STORE_WRITE and a city, a new store
 * is stamped with the city and its grid; an existing store of another city
 * or grid is refused (RS_EINVAL, city_store_check_city). A file that is not
 * a trip store, or of a schema this ridesim does not read: RS_EFORMAT; a
 * store of schema 2 opens for reading only. */
int city_store_open(const char *path, int mode, const city_def *city,
                    city_store **out, rs_err *e);
void city_store_close(city_store *st);

/* The city name the store was stamped with ("" when none yet). */
const char *city_store_city(const city_store *st);

/* 0 when trips of this store can run in `city`: same name and, when the
 * store records its grid, the same grid (box, edge, cell count). Else
 * RS_EINVAL naming both. */
int city_store_check_city(const city_store *st, const city_def *city, rs_err *e);

/* The city the store was imported with: the definition it keeps (a city
 * that came from a file), else the built-in city of its name; checked with
 * city_store_check_city. RS_EINVAL when neither fits (a file city imported
 * by an older ridesim: name the file with --city). def is unchanged on
 * failure. */
int city_store_city_def(const city_store *st, city_def *def, rs_err *e);

/* Keeps the definition text of the store's city (JSON as city_def_parse
 * reads it), read from the file `path` and checked to be the stamped city
 * with the stamped grid. RS_ENOENT / RS_EIO / RS_EFORMAT / RS_EINVAL. */
int city_store_keep_city_file(city_store *st, const char *path, rs_err *e);

/* --- writing: one import = one transaction ------------------------------ */
/* Starts an import of `source` in `format`; RS_EDB on failure. */
int city_store_import_begin(city_store *st, const char *source,
                            const char *format, rs_err *e);
/* Records the content hash (hex) and size of the open import's source, and
 * says whether an earlier import had the same (*earlier its id, else 0). */
int city_store_import_source(city_store *st, const char *hash, int64_t bytes,
                             int64_t *earlier, rs_err *e);
/* Adds an accepted trip (t->id is ignored: the store assigns it) or a reject.
 * Its cells must be -1 or cells of the store's grid (RS_EINVAL). */
int city_store_import_trip(city_store *st, const city_trip *t, int64_t line,
                           rs_err *e);
int city_store_import_reject(city_store *st, int64_t line, const char *reason,
                             rs_err *e);
/* Writes the imports row with its counts and commits. */
int city_store_import_commit(city_store *st, int64_t accepted,
                             int64_t rejected, rs_err *e);
/* Rolls the open import back; the store is as before import_begin. */
void city_store_import_abort(city_store *st);

/* --- reading ------------------------------------------------------------- */
/* Trips with from <= t_request < to, ordered by (t_request, id), in a new
 * array the caller frees with free(). A stored cell outside the store's
 * grid (an edited or damaged file) fails the load with RS_EFORMAT naming
 * the trip; *out is then NULL. */
int city_store_load(city_store *st, int64_t from, int64_t to,
                    city_trip **out, size_t *n, rs_err *e);

typedef struct {
  int64_t n_trips;
  int64_t t_first, t_last;   /* request time range (local epoch) */
  int64_t n_imports;
  int64_t n_rejects;
  int64_t n_days;            /* distinct local days with trips */
} city_store_summary;

int city_store_summarize(city_store *st, city_store_summary *s, rs_err *e);

/* --- listings ----------------------------------------------------------- */
/* Listings (for `ridesim trips` and `ridesim import`) of the imports and
 * rejects tables, which the summary only counts. A callback returning
 * non-zero stops the walk. */
typedef int (*city_store_import_fn)(void *ctx, int64_t id, const char *source,
                                    const char *format, const char *city,
                                    const char *import_time, int64_t accepted,
                                    int64_t rejected);
typedef int (*city_store_reject_fn)(void *ctx, int64_t line,
                                    const char *reason);
typedef int (*city_store_count_fn)(void *ctx, const char *key, int64_t day,
                                   int64_t count);
/* Calls fn for every import in id order. */
int city_store_each_import(city_store *st, city_store_import_fn fn, void *ctx,
                           rs_err *e);
/* Calls fn for the first `limit` rejects of an import (0: the latest one) by
 * line. */
int city_store_each_reject(city_store *st, int64_t import_id, int64_t limit,
                           city_store_reject_fn fn, void *ctx, rs_err *e);
/* Calls fn(reason, 0, count) for each reject reason, most frequent first. */
int city_store_each_reason(city_store *st, city_store_count_fn fn, void *ctx,
                           rs_err *e);
/* Calls fn(NULL, day, count) for each local day with trips, ascending. */
int city_store_each_day(city_store *st, city_store_count_fn fn, void *ctx,
                        rs_err *e);

/* Distinct local days (local-epoch seconds of midnight) with trips, ascending,
 * in a new array the caller frees. */
int city_store_days(city_store *st, int64_t **days, size_t *n, rs_err *e);
/* The earliest and latest request times in [from, to) (*found 1), or none
 * (*found 0): index seeks, without reading the trips. */
int city_store_span(city_store *st, int64_t from, int64_t to, int64_t *first, int64_t *last,
                    int *found, rs_err *e);

#endif

/*
 * import: trip records from CSV files into a trip store (tripstore.h).
 *
 * Formats:
 *   tlc     NYC TLC raw yellow CSV. The header is detected among the variants
 *           that carry coordinates (2009-2016): tpep_pickup_datetime /
 *           pickup_longitude ..., Trip_Pickup_DateTime / Start_Lon ...,
 *           pickup_datetime / pickup_longitude ....
 *   csv     any CSV with a header, read through a column map
 *           ("t_request=pickup_datetime,plat=pickup_lat,..."; optional
 *           t_dropoff, fare, distance_m, distance_mi, source_id).
 *   kddcup  the KDD Cup 2020 order file: 8 columns, no header, unix seconds
 *           (order_id, start_ts, stop_ts, pickup_lng, pickup_lat,
 *           dropoff_lng, dropoff_lat, reward_units); order_id is kept as
 *           the trip's source_id, which per-order side files refer to.
 *
 * Bad rows are rejected with their line number and reason, counted, and never
 * stop an import. A file that is not CSV at all (binary, no header), a
 * missing file or an unwritable store stops it with one line of error, and
 * the store is left as it was (the import is one transaction).
 */
#ifndef CITY_IMPORT_H
#define CITY_IMPORT_H

#include <stdint.h>
#include "city_data/city.h"
#include "city_data/tripstore.h"
#include "base/rs_error.h"

typedef enum {
  CITY_FMT_AUTO = 0,   /* tlc when the header is a TLC one, else csv */
  CITY_FMT_TLC,
  CITY_FMT_CSV,
  CITY_FMT_KDDCUP,
} city_format;

typedef struct {
  city_format format;
  const char *column_map;  /* for csv: "field=column,..." (NULL: guess) */
  double max_speed_mps;    /* reject rows faster than this (default 60) */
  int again;               /* import a file whose bytes an earlier import
                              of the store already holds (else RS_EINVAL) */
} city_import_opts;

typedef struct {
  int64_t lines;      /* data lines read (header excluded) */
  int64_t accepted;
  int64_t rejected;
  double seconds;     /* wall time of the import */
} city_import_stats;

/* Parses "tlc", "csv", "kddcup", "auto". RS_EINVAL otherwise. */
int city_format_parse(const char *s, city_format *f, rs_err *e);
const char *city_format_name(city_format f);

/* Imports one file into st (opened for writing, stamped with city). A file
 * with the same bytes as an earlier import of the store is refused
 * (RS_EINVAL: its trips would count twice) unless opts->again. */
int city_import_file(city_store *st, const city_def *city, const char *path,
                     const city_import_opts *opts, city_import_stats *stats,
                     rs_err *e);

#endif

/*
 * import: trip CSV files into a trip store (formats in import.h).
 *
 * Job: read one file with csvread, bind its columns to the trip fields,
 * check every row and either insert it or record why not, all inside one
 * store transaction, so a failed import leaves the store as it was.
 *
 * Columns: every format becomes a binding from the trip fields (request
 * time, the four coordinates, and optionally dropoff time, fare and a
 * distance in metres or miles) to column indices. TLC headers are matched
 * against the known variants with coordinates; a generic CSV takes the
 * caller's column map or guesses from common names; KDD Cup files have
 * fixed positions. Header names compare case-insensitively, trimmed.
 *
 * Rows are rejected, with their line and one categorical reason (so
 * rejects group well), for: a malformed record (csvread's reason), a wrong
 * field count, an empty required field (an empty optional one means
 * unknown), an unparsable field, invalid UTF-8 in a used field,
 * a time before 1970, zero coordinates, a point outside the city box or
 * grid, a dropoff before the pickup, a negative distance or fare, and
 * impossible motion where both times exist: faster than max_speed_mps by
 * the recorded distance or by the great-circle distance (a lower bound of
 * any road distance), any distance at all in zero seconds, or a trip that
 * takes neither time nor distance.
 *
 * Times: "YYYY-MM-DD HH:MM[:SS[.fff]]" (or 'T' between date and time) is a
 * local wall-clock time, turned into local-epoch seconds with civil-calendar
 * arithmetic (rs_time_days_from_civil; no mktime, no TZ): fractions of a
 * second are dropped. A bare integer is unix seconds (UTC, as in KDD Cup
 * files) and is shifted by the city's utc_offset_min.
 *
 * Numbers: a short decimal is converted exactly with one division by a power
 * of ten when its digits fit in 2^53 (Clinger's fast path); anything else
 * goes to strtod. Both give the correctly rounded double.
 *
 * Files: an empty file has no header and is an error; a header-only file is
 * a valid import of zero rows. A file whose first record is not a CSV header
 * (binary data, NUL bytes, invalid UTF-8, unknown columns) is refused before
 * any write.
 *
 * Costs: O(bytes) parsing plus one prepared INSERT per row; no allocation
 * per row. Ownership: the store stays the caller's; the FILE and the reader
 * are opened and closed here.
 */
#include "city_data/import.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "city_data/csvread.h"
#include "base/rs_geo.h"
#include "base/rs_time.h"

#define IMPORT_MAX_SPEED_MPS 60.0   /* above any taxi's mean speed */
#define MILE_M 1609.344             /* international mile */
#define IMPORT_MAX_RECORD (1 << 20) /* longer lines are rejected */
/* No taxi ride costs a hundred thousand money units (dollars, yuan or the
 * KDD Cup's reward units): a larger fare is a broken record, and 1e308
 * would make a run's income a 309-digit number. */
#define IMPORT_MAX_FARE 1e5
#define NAME_MAX_LEN 64
#define TLC_EXTRAS 4                /* surcharge columns of a TLC file */

/* Trip fields a binding maps to columns. */
enum {
  F_TREQ = 0, F_PLAT, F_PLNG, F_DLAT, F_DLNG, /* required */
  F_TDROP, F_FARE, F_DIST_M, F_DIST_MI,       /* optional */
  F_SRCID,                                    /* the source's own id */
  F_COUNT,
  F_REQUIRED = F_DLNG + 1,
};

/* Keys of a column map, by field. */
static const char *const field_keys[F_COUNT] = {
  "t_request", "plat", "plng", "dlat", "dlng",
  "t_dropoff", "fare", "distance_m", "distance_mi", "source_id",
};

typedef struct {
  int col[F_COUNT];                 /* column index, -1 when absent */
  char name[F_COUNT][NAME_MAX_LEN]; /* column names, for reasons */
  int n_cols;                       /* fields a row must have */
  const char *label;                /* format name for the imports row */
  int extra[TLC_EXTRAS];            /* TLC: surcharge columns added to the
                                       fare (-1 when absent) */
} binding;

/* TLC yellow/green header variants that carry coordinates, in field order
 * treq, plat, plng, dlat, dlng, tdrop, fare, dist_mi. */
static const char *const tlc_variants[][8] = {
  /* 2015-2016 yellow (tpep_), RatecodeID or RateCodeID */
  {"tpep_pickup_datetime", "pickup_latitude", "pickup_longitude",
   "dropoff_latitude", "dropoff_longitude", "tpep_dropoff_datetime",
   "fare_amount", "trip_distance"},
  /* 2009 yellow */
  {"Trip_Pickup_DateTime", "Start_Lat", "Start_Lon", "End_Lat", "End_Lon",
   "Trip_Dropoff_DateTime", "Fare_Amt", "Trip_Distance"},
  /* 2010-2014 yellow */
  {"pickup_datetime", "pickup_latitude", "pickup_longitude",
   "dropoff_latitude", "dropoff_longitude", "dropoff_datetime",
   "fare_amount", "trip_distance"},
  /* 2013-2016 green (lpep_) */
  {"lpep_pickup_datetime", "Pickup_latitude", "Pickup_longitude",
   "Dropoff_latitude", "Dropoff_longitude", "Lpep_dropoff_datetime",
   "Fare_amount", "Trip_distance"},
};
static const int tlc_fields[8] = {F_TREQ, F_PLAT, F_PLNG, F_DLAT, F_DLNG,
                                  F_TDROP, F_FARE, F_DIST_MI};
/* The TLC's surcharges, added to the metered fare where a file has them, so
 * that a recorded fare is what the rider paid for the ride (the meter, the
 * time-of-day extras, the MTA tax and the improvement surcharge; tips and
 * tolls left out): the same total as the fare rule of city.h models.
 * 2009 files call the extra "surcharge". */
static const char *const tlc_extras[TLC_EXTRAS] = {"extra", "mta_tax", "improvement_surcharge",
                                                   "surcharge"};

/* Names a generic CSV's columns are guessed from, NULL-terminated. */
static const char *const guess_treq[] = {"t_request", "pickup_datetime",
  "tpep_pickup_datetime", "lpep_pickup_datetime", "trip_pickup_datetime",
  "pickup_time", "request_time", "departure_time", "start_time", "start_ts",
  NULL};
static const char *const guess_plat[] = {"plat", "pickup_lat",
  "pickup_latitude", "o_lat", "origin_lat", "start_lat", NULL};
static const char *const guess_plng[] = {"plng", "pickup_lng", "pickup_lon",
  "pickup_longitude", "o_lng", "o_lon", "origin_lng", "origin_lon",
  "start_lng", "start_lon", NULL};
static const char *const guess_dlat[] = {"dlat", "dropoff_lat",
  "dropoff_latitude", "d_lat", "dest_lat", "end_lat", NULL};
static const char *const guess_dlng[] = {"dlng", "dropoff_lng", "dropoff_lon",
  "dropoff_longitude", "d_lng", "d_lon", "dest_lng", "dest_lon", "end_lng",
  "end_lon", NULL};
static const char *const guess_tdrop[] = {"t_dropoff", "dropoff_datetime",
  "tpep_dropoff_datetime", "lpep_dropoff_datetime", "dropoff_time",
  "end_time", "stop_ts", NULL};
static const char *const guess_fare[] = {"fare", "fare_amount", NULL};
static const char *const guess_dist_m[] = {"distance_m", NULL};
static const char *const guess_dist_mi[] = {"distance_mi", "trip_distance",
  NULL};
/* A source id is never guessed: it must be mapped (or is the KDD order_id). */
static const char *const guess_srcid[] = {NULL};
static const char *const *const guesses[F_COUNT] = {
  guess_treq, guess_plat, guess_plng, guess_dlat, guess_dlng,
  guess_tdrop, guess_fare, guess_dist_m, guess_dist_mi, guess_srcid,
};

/* KDD Cup 2020 order file columns. */
enum { KDD_COLS = 8 };
static const char *const kdd_names[KDD_COLS] = {
  "order_id", "start_ts", "stop_ts", "pickup_lng", "pickup_lat",
  "dropoff_lng", "dropoff_lat", "reward_units"};

int city_format_parse(const char *s, city_format *f, rs_err *e) {
  static const char *const names[] = {"auto", "tlc", "csv", "kddcup"};
  for (int i = 0; i < 4; i++)
    if (s != NULL && strcmp(s, names[i]) == 0) {
      *f = (city_format)i;
      return 0;
    }
  return rs_err_set(e, RS_EINVAL, "format '%s': expected auto, tlc, csv or kddcup",
                    s ? s : "");
}

const char *city_format_name(city_format f) {
  switch (f) {
  case CITY_FMT_AUTO: return "auto";
  case CITY_FMT_TLC: return "tlc";
  case CITY_FMT_CSV: return "csv";
  case CITY_FMT_KDDCUP: return "kddcup";
  }
  return "unknown";
}

/* --- parsing of cells ------------------------------------------------------ */

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

/* Reads exactly n digits at s. */
static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9) return -1;
    v = v * 10 + (int)d;
  }
  *out = v;
  return 0;
}

/* Parses a time cell into local-epoch seconds. 0 or -1. */
static int parse_time(const char *s, size_t n, int32_t utc_offset_min,
                      int64_t *out) {
  while (n > 0 && s[n - 1] == ' ') n--;
  while (n > 0 && *s == ' ') s++, n--;
  if (n == 0) return -1;
  if (n >= 16 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') &&
      s[13] == ':') {
    int y, mo, d, h, mi, sec = 0;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi))
      return -1;
    size_t i = 16;
    if (i < n && s[i] == ':') {
      if (n < 19 || digits(s + 17, 2, &sec)) return -1;
      i = 19;
      if (i < n && s[i] == '.') {
        i++;
        size_t f0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == f0) return -1;
      }
    }
    if (i != n) return -1;
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
      return -1;
    *out = rs_time_days_from_civil(y, mo, d) * RS_DAY_S + h * 3600 + mi * 60 + sec;
    return 0;
  }
  /* Unix seconds: at most 11 digits keeps far from overflow. */
  if (n > 11) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned dgt = (unsigned)(unsigned char)s[i] - '0';
    if (dgt > 9) return -1;
    v = v * 10 + dgt;
  }
  *out = v + (int64_t)utc_offset_min * 60;
  return 0;
}

/* Parses a decimal cell (the field is NUL-terminated). 0 or -1. */
static int parse_number(const char *s, size_t n, double *out) {
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                 1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                 1e18, 1e19, 1e20, 1e21, 1e22};
  while (n > 0 && s[n - 1] == ' ') n--;
  while (n > 0 && *s == ' ') s++, n--;
  if (n == 0) return -1;
  size_t i = 0;
  int neg = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i++;
  }
  uint64_t m = 0;
  int nd = 0, frac = -1, exact = 1;
  for (; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d <= 9) {
      if (nd >= 19) exact = 0;
      else m = m * 10 + d;
      nd++;
      if (frac >= 0) frac++;
    } else if (s[i] == '.' && frac < 0) {
      frac = 0;
    } else {
      break;
    }
  }
  if (nd == 0) return -1;
  if (i == n) {
    int k = frac < 0 ? 0 : frac;
    if (exact && m <= (UINT64_C(1) << 53) && k <= 22) {
      double v = (double)m / pow10[k];
      *out = neg ? -v : v;
      return 0;
    }
  } else if (s[i] != 'e' && s[i] != 'E') {
    return -1;
  }
  /* Exponent or too many digits: strtod on the trimmed text. */
  char tmp[64];
  if (n >= sizeof tmp) return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (*end != '\0' || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

/* --- binding columns ------------------------------------------------------- */

/* Header name k, trimmed of blanks, into buf (cut to size - 1 bytes). */
static void trimmed(const city_csv *c, int k, char *buf, size_t size) {
  const char *s = c->fields[k];
  size_t n = c->lens[k];
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
  if (n >= size) n = size - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
}

static int find_col(const city_csv *c, const char *name) {
  char h[NAME_MAX_LEN];
  for (int k = 0; k < c->n_fields; k++) {
    trimmed(c, k, h, sizeof h);
    if (strcasecmp(h, name) == 0) return k;
  }
  return -1;
}

static void bind_col(binding *b, const city_csv *c, int field, int col) {
  b->col[field] = col;
  if (col >= 0) trimmed(c, col, b->name[field], sizeof b->name[field]);
}

static void binding_clear(binding *b) {
  memset(b, 0, sizeof *b);
  for (int f = 0; f < F_COUNT; f++) b->col[f] = -1;
  for (int k = 0; k < TLC_EXTRAS; k++) b->extra[k] = -1;
}

/* Binds a TLC variant; 0 when one matches. */
static int bind_tlc(binding *b, const city_csv *c) {
  size_t nv = sizeof tlc_variants / sizeof tlc_variants[0];
  for (size_t v = 0; v < nv; v++) {
    binding_clear(b);
    int ok = 1;
    for (int j = 0; j < 8 && ok; j++) {
      int col = find_col(c, tlc_variants[v][j]);
      if (col < 0) ok = 0;
      else bind_col(b, c, tlc_fields[j], col);
    }
    if (ok) {
      b->n_cols = c->n_fields;
      b->label = "tlc";
      for (int k = 0; k < TLC_EXTRAS; k++) b->extra[k] = find_col(c, tlc_extras[k]);
      return 0;
    }
  }
  binding_clear(b);
  return -1;
}

/* Binds from "field=column,..."; RS_EINVAL / RS_EFORMAT with a message. */
static int bind_map(binding *b, const city_csv *c, const char *map,
                    const char *path, rs_err *e) {
  binding_clear(b);
  const char *p = map;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (eq == NULL || eq == p || eq + 1 == p + len)
      return rs_err_set(e, RS_EINVAL, "column map: '%.*s' is not field=COLUMN",
                        (int)len, p);
    size_t klen = (size_t)(eq - p);
    int field = -1;
    for (int f = 0; f < F_COUNT; f++)
      if (strlen(field_keys[f]) == klen && strncmp(field_keys[f], p, klen) == 0)
        field = f;
    if (field < 0)
      return rs_err_set(e, RS_EINVAL,
                        "column map: unknown field '%.*s' (known: t_request, plat,"
                        " plng, dlat, dlng, t_dropoff, fare, distance_m,"
                        " distance_mi, source_id)", (int)klen, p);
    if (b->col[field] >= 0)
      return rs_err_set(e, RS_EINVAL, "column map: %s is given twice", field_keys[field]);
    char col[NAME_MAX_LEN];
    size_t clen = len - klen - 1;
    if (clen >= sizeof col) clen = sizeof col - 1;
    memcpy(col, eq + 1, clen);
    col[clen] = '\0';
    int k = find_col(c, col);
    if (k < 0)
      return rs_err_set(e, RS_EFORMAT, "%s:%lld: column '%s' (for %s) is not in"
                        " the header", path, (long long)c->line, col,
                        field_keys[field]);
    bind_col(b, c, field, k);
    p += len;
    if (*p == ',') p++;
  }
  for (int f = 0; f < F_REQUIRED; f++)
    if (b->col[f] < 0)
      return rs_err_set(e, RS_EINVAL, "column map: %s is missing (required:"
                        " t_request, plat, plng, dlat, dlng)", field_keys[f]);
  b->n_cols = c->n_fields;
  b->label = "csv";
  return 0;
}

/* Guesses a generic binding from common names; 0 when all required fields
 * were found, else the first missing field. */
static int bind_guess(binding *b, const city_csv *c, int *missing) {
  binding_clear(b);
  for (int f = 0; f < F_COUNT; f++)
    for (const char *const *g = guesses[f]; *g && b->col[f] < 0; g++)
      bind_col(b, c, f, find_col(c, *g));
  /* A distance in metres wins over one in miles. */
  if (b->col[F_DIST_M] >= 0) b->col[F_DIST_MI] = -1;
  for (int f = 0; f < F_REQUIRED; f++)
    if (b->col[f] < 0) {
      *missing = f;
      return -1;
    }
  b->n_cols = c->n_fields;
  b->label = "csv";
  return 0;
}

static void bind_kdd(binding *b) {
  static const int pos[F_COUNT] = {1, 4, 3, 6, 5, 2, 7, -1, -1, 0};
  binding_clear(b);
  for (int f = 0; f < F_COUNT; f++) {
    b->col[f] = pos[f];
    if (pos[f] >= 0)
      snprintf(b->name[f], sizeof b->name[f], "%s", kdd_names[pos[f]]);
  }
  b->n_cols = KDD_COLS;
  b->label = "kddcup";
}

/* --- rows ------------------------------------------------------------------ */

typedef struct {
  const city_def *city;
  const city_grid *grid;
  double max_speed;   /* m/s */
  char why[160];      /* reason of the last rejected row */
} row_ctx;

static const char *reason(row_ctx *x, const char *fmt, const char *name) {
  snprintf(x->why, sizeof x->why, fmt, name);
  return x->why;
}

/* A used cell's text problem, or NULL. */
static const char *cell_text(row_ctx *x, const city_csv *c, int col,
                             const char *name) {
  if (c->lens[col] == 0) return reason(x, "%s: empty", name);
  if (c->high && !city_csv_utf8_valid(c->fields[col], c->lens[col]))
    return reason(x, "%s: invalid UTF-8", name);
  return NULL;
}

static const char *get_number(row_ctx *x, const city_csv *c, const binding *b,
                              int f, double *v) {
  int col = b->col[f];
  const char *bad = cell_text(x, c, col, b->name[f]);
  if (bad) return bad;
  if (parse_number(c->fields[col], c->lens[col], v))
    return reason(x, "%s: not a number", b->name[f]);
  return NULL;
}

static const char *get_time(row_ctx *x, const city_csv *c, const binding *b,
                            int f, int64_t *t) {
  int col = b->col[f];
  const char *bad = cell_text(x, c, col, b->name[f]);
  if (bad) return bad;
  if (parse_time(c->fields[col], c->lens[col], x->city->utc_offset_min, t))
    return reason(x, "%s: not a date-time", b->name[f]);
  if (*t < 0) return reason(x, "%s: before 1970", b->name[f]);
  return NULL;
}

/* Whether an optional field is bound and its cell not empty. */
static int present(const city_csv *c, const binding *b, int f) {
  return b->col[f] >= 0 && c->lens[b->col[f]] > 0;
}

/* Turns a record into a trip, or returns why not. */
static const char *parse_row(row_ctx *x, const city_csv *c, const binding *b,
                             city_trip *t) {
  if (c->n_fields != b->n_cols) {
    snprintf(x->why, sizeof x->why, "expected %d fields, got %d", b->n_cols,
             c->n_fields);
    return x->why;
  }
  const char *bad;
  if ((bad = get_time(x, c, b, F_TREQ, &t->t_request))) return bad;
  if ((bad = get_number(x, c, b, F_PLAT, &t->plat))) return bad;
  if ((bad = get_number(x, c, b, F_PLNG, &t->plng))) return bad;
  if ((bad = get_number(x, c, b, F_DLAT, &t->dlat))) return bad;
  if ((bad = get_number(x, c, b, F_DLNG, &t->dlng))) return bad;
  t->t_dropoff = -1;
  t->fare = NAN;
  t->distance_m = NAN;
  t->source_id = -1;
  if (present(c, b, F_SRCID)) {
    /* An integer id (KDD Cup order_id) is kept for per-order side files;
     * other ids (text) link to nothing and are not an error. */
    double v;
    int col = b->col[F_SRCID];
    if (parse_number(c->fields[col], c->lens[col], &v) == 0 && v == floor(v) && v >= 0 &&
        v <= 9007199254740992.0)
      t->source_id = (int64_t)v;
    else if (strcmp(b->label, "kddcup") == 0)
      /* the side files (--kdd-cancel) find an order by this id */
      return "order_id is not a non-negative integer";
  }
  /* An empty optional cell means unknown. */
  if (present(c, b, F_TDROP) &&
      (bad = get_time(x, c, b, F_TDROP, &t->t_dropoff)))
    return bad;
  if (present(c, b, F_FARE) && (bad = get_number(x, c, b, F_FARE, &t->fare)))
    return bad;
  for (int k = 0; k < TLC_EXTRAS && isfinite(t->fare); k++) {
    /* a surcharge cell that is empty or unreadable adds nothing */
    double v;
    int col = b->extra[k];
    if (col >= 0 && parse_number(c->fields[col], c->lens[col], &v) == 0 && isfinite(v) && v > 0 &&
        v < 1e4)
      t->fare += v;
  }
  if (present(c, b, F_DIST_M) &&
      (bad = get_number(x, c, b, F_DIST_M, &t->distance_m)))
    return bad;
  if (present(c, b, F_DIST_MI)) {
    if ((bad = get_number(x, c, b, F_DIST_MI, &t->distance_m))) return bad;
    t->distance_m *= MILE_M;
  }
  if (t->plat == 0.0 || t->plng == 0.0) return "pickup coordinates are zero";
  if (t->dlat == 0.0 || t->dlng == 0.0) return "dropoff coordinates are zero";
  if (!city_def_contains(x->city, t->plat, t->plng))
    return "pickup outside the city box";
  if (!city_def_contains(x->city, t->dlat, t->dlng))
    return "dropoff outside the city box";
  if (t->fare < 0) return "negative fare";
  if (t->fare > IMPORT_MAX_FARE) return "implausible fare (over 100000)";
  if (t->distance_m < 0) return "negative distance";
  if (t->t_dropoff >= 0) {
    if (t->t_dropoff < t->t_request) return "dropoff before pickup";
    if (t->t_dropoff - t->t_request > CITY_TRIP_MAX_S) return "trip longer than a day";
    double dur = (double)(t->t_dropoff - t->t_request);
    double gc = rs_geo_haversine_r(t->plat, t->plng, t->dlat, t->dlng,
                                     x->city->earth_radius_m);
    double d = isnan(t->distance_m) || t->distance_m < gc ? gc : t->distance_m;
    if (dur == 0) {
      if (d > 0) return "absurd speed: nonzero distance in zero time";
      return "zero-length trip: no time, no distance";
    }
    if (d > x->max_speed * dur) {
      snprintf(x->why, sizeof x->why, "absurd speed: over %g m/s",
               x->max_speed);
      return x->why;
    }
  }
  t->pcell = city_grid_point_index(x->grid, t->plat, t->plng);
  t->dcell = city_grid_point_index(x->grid, t->dlat, t->dlng);
  if (t->pcell < 0) return "pickup outside the city grid";
  if (t->dcell < 0) return "dropoff outside the city grid";
  return NULL;
}

/* --- the import ------------------------------------------------------------ */

/* Binds the header (the record in c) for format f. */
static int bind_header(binding *b, const city_csv *c, city_format f,
                       const char *map, const char *path, rs_err *e) {
  for (int k = 0; k < c->n_fields; k++)
    if (c->high && !city_csv_utf8_valid(c->fields[k], c->lens[k]))
      return rs_err_set(e, RS_EFORMAT, "%s:%lld: header is not UTF-8 text,"
                        " not a trip CSV", path, (long long)c->line);
  /* a name twice: which column holds the field would be a guess */
  for (int k = 0; k < c->n_fields; k++)
    for (int j = 0; j < k; j++)
      if (c->lens[k] == c->lens[j] && c->lens[k] > 0 &&
          memcmp(c->fields[k], c->fields[j], c->lens[k]) == 0)
        return rs_err_set(e, RS_EFORMAT, "%s:%lld: column '%.*s' appears twice in the header"
                          " (columns %d and %d)", path, (long long)c->line, (int)c->lens[k],
                          c->fields[k], j + 1, k + 1);
  if (f == CITY_FMT_TLC || (f == CITY_FMT_AUTO && map == NULL)) {
    if (bind_tlc(b, c) == 0) return 0;
    if (f == CITY_FMT_TLC) {
      if (find_col(c, "PULocationID") >= 0)
        return rs_err_set(e, RS_EFORMAT, "%s:%lld: TLC file with taxi zone ids,"
                          " not coordinates (TLC files after mid-2016):"
                          " nothing to import", path, (long long)c->line);
      return rs_err_set(e, RS_EFORMAT, "%s:%lld: not a TLC header with"
                        " coordinates (expected e.g. tpep_pickup_datetime,"
                        " pickup_longitude, pickup_latitude, ...)", path,
                        (long long)c->line);
    }
  }
  if (map != NULL) return bind_map(b, c, map, path, e);
  int missing = 0;
  if (bind_guess(b, c, &missing) == 0) return 0;
  return rs_err_set(e, RS_EFORMAT, "%s:%lld: no recognisable header: no column"
                    " for %s; name the columns with a map (--map t_request=COL,"
                    "plat=COL,plng=COL,dlat=COL,dlng=COL)", path,
                    (long long)c->line, field_keys[missing]);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The file's bytes as a 64-bit FNV-1a hash in hex, and its size: what
 * tells a file imported twice. 0, or -1 on a read error. */
static int file_hash(FILE *fp, char hex[17], int64_t *bytes) {
  uint64_t h = 14695981039346656037ull;
  unsigned char buf[65536];
  size_t n;
  int64_t total = 0;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ull;
    total += (int64_t)n;
  }
  if (ferror(fp)) return -1;
  snprintf(hex, 17, "%016llx", (unsigned long long)h);
  *bytes = total;
  rewind(fp);
  return 0;
}

int city_import_file(city_store *st, const city_def *city, const char *path,
                     const city_import_opts *opts, city_import_stats *stats,
                     rs_err *e) {
  city_import_stats local;
  if (stats == NULL) stats = &local;
  memset(stats, 0, sizeof *stats);
  double t0 = now_seconds();
  city_format fmt = opts ? opts->format : CITY_FMT_AUTO;
  const char *map = opts && opts->column_map && *opts->column_map
                        ? opts->column_map : NULL;
  row_ctx x = {.city = city, .max_speed = IMPORT_MAX_SPEED_MPS};
  if (opts && opts->max_speed_mps > 0) x.max_speed = opts->max_speed_mps;

  city_grid grid;
  int rc = city_def_grid(city, &grid, e);
  if (rc) return rc;
  x.grid = &grid;

  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    if (errno == ENOENT) return rs_err_set(e, RS_ENOENT, "%s: no such file", path);
    return rs_err_set(e, RS_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  char hash[17];
  int64_t bytes;
  if (file_hash(fp, hash, &bytes) != 0) {
    fclose(fp);
    return rs_err_set(e, RS_EIO, "%s: cannot read: %s", path, strerror(errno));
  }
  city_csv c;
  city_csv_init(&c, fp, IMPORT_MAX_RECORD, 0);
  binding b;
  int status;
  if (fmt == CITY_FMT_KDDCUP) {
    bind_kdd(&b);
  } else {
    status = city_csv_next(&c);
    if (status == CITY_CSV_EOF) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: empty file (no header)", path);
    } else if (status == CITY_CSV_BAD) {
      rc = rs_err_set(e, RS_EFORMAT, "%s:%lld: not a CSV header (%s)", path,
                      (long long)c.line, c.why);
    } else if (status < 0) {
      rc = rs_err_set(e, status == CITY_CSV_NOMEM ? RS_ENOMEM : RS_EIO,
                      "%s: cannot read: %s", path, strerror(errno));
    } else {
      rc = bind_header(&b, &c, fmt, map, path, e);
    }
    if (rc) goto done;
  }

  rc = city_store_import_begin(st, path, b.label, e);
  if (rc) goto done;
  int64_t earlier = 0;
  rc = city_store_import_source(st, hash, bytes, &earlier, e);
  if (rc == 0 && earlier > 0 && !(opts && opts->again))
    rc = rs_err_set(e, RS_EINVAL,
                    "%s: the store already holds these bytes (import %lld): importing them again"
                    " would count every trip twice (--again does it all the same)",
                    path, (long long)earlier);
  if (rc) {
    city_store_import_abort(st);
    goto done;
  }
  int first = 1;
  for (;;) {
    status = city_csv_next(&c);
    if (status == CITY_CSV_EOF) break;
    if (status < 0) {
      rc = rs_err_set(e, status == CITY_CSV_NOMEM ? RS_ENOMEM : RS_EIO,
                      "%s:%lld: cannot read: %s", path, (long long)c.next_line,
                      strerror(errno));
      break;
    }
    if (first && fmt == CITY_FMT_KDDCUP && status == CITY_CSV_BAD) {
      rc = rs_err_set(e, RS_EFORMAT, "%s:%lld: not a CSV file (%s)", path,
                      (long long)c.line, c.why);
      break;
    }
    first = 0;
    stats->lines++;
    const char *why = c.why;
    city_trip t;
    if (status == CITY_CSV_OK) why = parse_row(&x, &c, &b, &t);
    if (why == NULL) {
      rc = city_store_import_trip(st, &t, c.line, e);
      stats->accepted++;
    } else {
      rc = city_store_import_reject(st, c.line, why, e);
      stats->rejected++;
    }
    if (rc) break;
  }
  if (rc == 0) rc = city_store_import_commit(st, stats->accepted,
                                             stats->rejected, e);
  else city_store_import_abort(st);

done:
  city_csv_free(&c);
  fclose(fp);
  stats->seconds = now_seconds() - t0;
  return rc;
}

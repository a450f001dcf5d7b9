/*
 * city: parsing and checking city definitions (see city.h for the format).
 *
 * Parsing is strict: every required field must be present with the right
 * type and a sane range, unknown keys are refused (a misspelt
 * "detour_facter" would otherwise silently fall back to nothing), and the
 * grid the definition implies is laid once to prove it fits in
 * 2^24 cells. The result is written to the caller's city_def only when all
 * checks pass, so a failed parse leaves it unchanged. Errors name the origin
 * (a file path or "builtin:NAME") and the field: "x.json: bbox.min_lat:
 * missing".
 *
 * The shipped definitions' numbers and where they come from:
 * - manhattan: bbox 40.06..40.93 N, -74.20..-73.65 E covers the borough
 *   polygon (40.6998..40.8776, -74.0193..-73.9104) and every point of the
 *   shared NYC data: all 2016-02 TLC pickups and dropoffs, and the HIVE
 *   sample, whose dropoffs reach the airports, the outer boroughs and New
 *   Jersey (40.080..40.917, -74.185..-73.661). Manhattan trips end there, so
 *   the box is metro-sized; its 600 m grid has about 5,650 cells, of which
 *   demand touches a few hundred.
 *   Service area: a hand-drawn outline of Manhattan island (47 points,
 *   counter-clockwise from the Battery: up the East River past the bridges,
 *   Corlears Hook, the UN and Carl Schurz Park, along the Harlem River past
 *   its bridges to the Ship Canal and Spuyten Duyvil, then down the Hudson
 *   past Inwood Hill Park, the George Washington Bridge, the Boat Basin,
 *   the Javits Center, Chelsea Piers, Pier 40 and Battery Park City), drawn
 *   about a pier's length out into the rivers so the shore avenues are
 *   inside; plus a polygon around each of JFK and LaGuardia, where many
 *   trips end. Roosevelt and Randall's Islands are left out. Checked in
 *   test_city against the shared data: 99.98 % of the TLC mornings'
 *   pickups and dropoffs fall inside it, and it holds 99 % of the borough
 *   outline of the HIVE sample (which is 93 % of it). About 140 cells are
 *   in service.
 *   Speeds by hour: 4.1-4.6 m/s (9-10 mph) on weekday days, the figure
 *   usually quoted for Manhattan yellow cabs around 2016, rising to
 *   6.6-7.2 m/s (15-16 mph) in the small hours. Fare: the 2016 TLC
 *   meter, $2.50 flag drop plus $0.50 per 1/5 mile ($2.50 / 1.609344 km =
 *   $1.553 per km) while the cab moves faster than 12 mph, or per 60 s while
 *   it is slower or stopped (city.h's two-phase meter: moving at
 *   moving_mps, crawling the rest of the time); plus the $0.50 MTA tax and
 *   the $0.30 improvement surcharge on every trip, $0.50 from 20:00 to
 *   06:00 and $1.00 from 16:00 to 20:00 on weekdays. Tips and tolls are left
 *   out. moving_mps = 8 m/s (18 mph) is the fit to the recorded trips of the
 *   raw TLC heads of 2015-01 and 2016-01..03 (standard rate, 7,745 trips):
 *   with their recorded distances and times the meter model's fare has a
 *   median absolute error of 4.9 % (5.9 % at 16 mph, 5.8 % at 20 mph, 10 %
 *   at 12 mph).
 * - synthetic: a made-up 20 km x 20 km city on the Great Plains (centre
 *   40.0 N, 100.0 W, where nothing real could be mistaken for it), with
 *   faster roads than Manhattan and a distance-plus-time fare; its box is
 *   its service area. Its default fleet, 2,200 drivers, is sized to the
 *   default synthetic day (city_data/synth.h).
 *
 * Costs: parsing is linear in the text; the other functions are O(1).
 * Ownership: nothing is retained; cJSON trees are freed before returning.
 */
#include "city_data/city.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"

/* Defined by the build-generated cities_embedded.c (embed_cities.py). */
extern const char *const city_embedded_names[];
extern const char *const city_embedded_json[];

#define CITY_FILE_MAX (1 << 20) /* a definition is a few hundred bytes */
#define CITY_FLEET_MAX 10000000

static const char *const city_keys[] = {
    "name", "bbox", "hex_edge_m", "utc_offset_minutes", "speed_mps_by_hour",
    "detour_factor", "fare", "default_fleet", "earth_radius_m", "network_factors", "cell_factors",
    "service_area", "source", "grid", NULL};
static const char *const grid_keys[] = {"n_cells", "rows", "cols", "edge_m", "row0", "col0",
                                        "center_lat", "center_lng", "cells_in_service",
                                        "cells", NULL};
static const char *const bbox_keys[] = {"min_lat", "min_lng", "max_lat",
                                        "max_lng", NULL};
static const char *const fare_keys[] = {"base", "per_km", "per_minute", "per_minute_slow",
                                        "moving_mps", "minimum", "surcharge", "night",
                                        "peak", NULL};
static const char *const window_keys[] = {"from", "to", "weekdays_only", "amount", NULL};
static const char *const factor_keys[] = {"weekday", "weekend", "network_hash", "cells", NULL};

static int bad(rs_err *e, const char *origin, const char *field,
               const char *what) {
  return rs_err_set(e, RS_EFORMAT, "%s: %s: %s", origin, field, what);
}

/* Refuses keys of obj that are not in allowed. */
static int check_keys(const cJSON *obj, const char *const *allowed,
                      const char *origin, const char *prefix, rs_err *e) {
  for (const cJSON *it = obj->child; it != NULL; it = it->next) {
    int known = 0;
    for (size_t i = 0; allowed[i] != NULL && !known; i++)
      known = it->string != NULL && strcmp(it->string, allowed[i]) == 0;
    if (!known)
      return rs_err_set(e, RS_EFORMAT, "%s: %s%s: unknown field", origin,
                        prefix, it->string ? it->string : "?");
  }
  return 0;
}

/* A finite number field in [lo, hi]. */
static int get_number(const cJSON *obj, const char *key, const char *field,
                      double lo, double hi, const char *origin, double *out,
                      rs_err *e) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (it == NULL) return bad(e, origin, field, "missing");
  if (!cJSON_IsNumber(it)) return bad(e, origin, field, "not a number");
  double v = it->valuedouble;
  if (!isfinite(v) || v < lo || v > hi)
    return rs_err_set(e, RS_EFORMAT, "%s: %s: %g is out of range [%g, %g]",
                      origin, field, v, lo, hi);
  *out = v;
  return 0;
}

/* An integer field in [lo, hi]. */
static int get_int(const cJSON *obj, const char *key, double lo, double hi,
                   const char *origin, int32_t *out, rs_err *e) {
  double v = 0;
  int rc = get_number(obj, key, key, lo, hi, origin, &v, e);
  if (rc != 0) return rc;
  if (v != floor(v)) return bad(e, origin, key, "not an integer");
  *out = (int32_t)v;
  return 0;
}

/* An optional number: 0 when absent. */
static int get_optional(const cJSON *obj, const char *key, const char *field, double lo,
                        double hi, const char *origin, double *out, rs_err *e) {
  *out = 0;
  if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL) return 0;
  return get_number(obj, key, field, lo, hi, origin, out, e);
}

/* An optional time-of-day surcharge {"from": "HH:MM", "to": "HH:MM",
 * "weekdays_only": bool, "amount": N}; none when absent. */
static int get_window(const cJSON *fare, const char *key, const char *origin,
                      city_surcharge *out, rs_err *e) {
  memset(out, 0, sizeof *out);
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(fare, key);
  if (w == NULL) return 0;
  char field[64];
  snprintf(field, sizeof field, "fare.%s", key);
  if (!cJSON_IsObject(w)) return bad(e, origin, field, "not an object");
  snprintf(field, sizeof field, "fare.%s.", key);
  int rc = check_keys(w, window_keys, origin, field, e);
  if (rc != 0) return rc;
  const char *ends[2] = {"from", "to"};
  int32_t *dst[2] = {&out->from_s, &out->to_s};
  for (int i = 0; i < 2; i++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(w, ends[i]);
    int64_t v;
    snprintf(field, sizeof field, "fare.%s.%s", key, ends[i]);
    if (it == NULL) return bad(e, origin, field, "missing");
    if (!cJSON_IsString(it) || rs_time_parse_tod(it->valuestring, &v) != 0 || v >= RS_DAY_S)
      return bad(e, origin, field, "not a time of day \"HH:MM\" before 24:00");
    *dst[i] = (int32_t)v;
  }
  const cJSON *wd = cJSON_GetObjectItemCaseSensitive(w, "weekdays_only");
  if (wd != NULL && !cJSON_IsBool(wd)) {
    snprintf(field, sizeof field, "fare.%s.weekdays_only", key);
    return bad(e, origin, field, "not true or false");
  }
  out->weekdays_only = wd != NULL && cJSON_IsTrue(wd);
  snprintf(field, sizeof field, "fare.%s.amount", key);
  return get_number(w, "amount", field, 0, 1e6, origin, &out->amount, e);
}

static const cJSON *get_object(const cJSON *obj, const char *key,
                               const char *origin, rs_err *e) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (it == NULL) {
    bad(e, origin, key, "missing");
    return NULL;
  }
  if (!cJSON_IsObject(it)) {
    bad(e, origin, key, "not an object");
    return NULL;
  }
  return it;
}

/* Line and column of a position in text, for syntax errors. */
static void text_position(const char *text, const char *at, int *line,
                          int *col) {
  *line = 1;
  *col = 1;
  for (const char *p = text; p < at && *p; p++) {
    if (*p == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

/* 24 network factors in (0, CITY_NET_FACTOR_MAX] from the array a. */
static int get_factors(const cJSON *a, const char *field, const char *origin, double *f,
                       rs_err *e) {
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 24)
    return bad(e, origin, field, "not an array of 24 numbers (one per local hour)");
  int h = 0;
  for (const cJSON *it = a->child; it != NULL; it = it->next, h++) {
    if (!cJSON_IsNumber(it) || !(it->valuedouble > 0 && it->valuedouble <= CITY_NET_FACTOR_MAX))
      return rs_err_set(e, RS_EFORMAT, "%s: %s[%d]: needs a number in (0, %g]", origin, field,
                        h, CITY_NET_FACTOR_MAX);
    f[h] = it->valuedouble;
  }
  return 0;
}

/* Reads one ring of [lng, lat] positions into lat / lng (room for n). */
static int read_ring(const cJSON *ring, const city_def *d, const char *field,
                     const char *origin, double *lat, double *lng, rs_err *e) {
  int32_t i = 0;
  for (const cJSON *p = ring->child; p != NULL; p = p->next, i++) {
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(p->child) ||
        !cJSON_IsNumber(p->child->next) || !isfinite(p->child->valuedouble) ||
        !isfinite(p->child->next->valuedouble))
      return rs_err_set(e, RS_EFORMAT, "%s: %s[%d]: not a position [lng, lat] of two numbers",
                        origin, field, i);
    lng[i] = p->child->valuedouble;
    lat[i] = p->child->next->valuedouble;
    if (lat[i] < d->min_lat || lat[i] > d->max_lat || lng[i] < d->min_lng ||
        lng[i] > d->max_lng)
      return rs_err_set(e, RS_EFORMAT,
                        "%s: %s[%d]: [%.7g, %.7g] is outside the bbox (lng %.7g .. %.7g, "
                        "lat %.7g .. %.7g)",
                        origin, field, i, lng[i], lat[i], d->min_lng, d->max_lng, d->min_lat,
                        d->max_lat);
  }
  return 0;
}

/* --- cell factors (field.h) ---------------------------------------------- */

typedef struct {
  int32_t cell;
  double k;
} field_pair;

static int pair_cmp(const void *pa, const void *pb) {
  const field_pair *a = pa, *b = pb;
  return (a->cell > b->cell) - (a->cell < b->cell);
}

/* Sorts and checks n pairs into f (on the city's grid); the message names
 * `what`. f is unchanged on failure. */
static int field_from_pairs(const city_def *d, field_pair *p, int32_t n, const char *what,
                            city_field *f, rs_err *e) {
  city_grid g;
  memset(&g, 0, sizeof g); /* the field keeps a copy: no stray padding bytes */
  if (city_def_grid(d, &g, e) != 0) return RS_EINVAL;
  if (n < 0 || n > CITY_FIELD_MAX_CELLS)
    return rs_err_set(e, RS_EINVAL, "%s: %d cells, at most %d", what, (int)n,
                      CITY_FIELD_MAX_CELLS);
  for (int32_t i = 0; i < n; i++) {
    if (p[i].cell < 0 || p[i].cell >= g.n_cells)
      return rs_err_set(e, RS_EINVAL, "%s: cell %d is not on the city's grid (0 .. %d)", what,
                        (int)p[i].cell, (int)g.n_cells - 1);
    if (!(p[i].k >= CITY_FIELD_K_MIN && p[i].k <= CITY_FIELD_K_MAX))
      return rs_err_set(e, RS_EINVAL, "%s: cell %d: factor %g is not in [%g, %g]", what,
                        (int)p[i].cell, p[i].k, CITY_FIELD_K_MIN, CITY_FIELD_K_MAX);
  }
  qsort(p, (size_t)n, sizeof *p, pair_cmp);
  for (int32_t i = 1; i < n; i++)
    if (p[i].cell == p[i - 1].cell)
      return rs_err_set(e, RS_EINVAL, "%s: cell %d appears twice", what, (int)p[i].cell);
  memset(f, 0, sizeof *f); /* unused entries 0: equal fields are equal bytes */
  f->n = n;
  for (int32_t i = 0; i < n; i++) {
    f->cell[i] = p[i].cell;
    f->k[i] = p[i].k;
  }
  f->grid = g;
  return 0;
}

int city_def_set_field(const city_def *def, city_field *f, const int32_t *cell, const double *k,
                       int32_t n, rs_err *e) {
  if (n < 0 || n > CITY_FIELD_MAX_CELLS)
    return rs_err_set(e, RS_EINVAL, "cell factors: %d cells, at most %d", (int)n,
                      CITY_FIELD_MAX_CELLS);
  field_pair *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  if (p == NULL) return rs_err_set(e, RS_ENOMEM, "cell factors: out of memory");
  for (int32_t i = 0; i < n; i++) p[i] = (field_pair){cell[i], k[i]};
  int rc = field_from_pairs(def, p, n, "cell factors", f, e);
  free(p);
  return rc;
}

/* A field from the JSON array a of [cell, factor] pairs. */
static int parse_field(const cJSON *a, const char *field, const char *origin, const city_def *d,
                       city_field *f, rs_err *e) {
  if (!cJSON_IsArray(a))
    return bad(e, origin, field, "not an array of [cell, factor] pairs");
  int n = cJSON_GetArraySize(a);
  if (n > CITY_FIELD_MAX_CELLS)
    return rs_err_set(e, RS_EFORMAT, "%s: %s: %d cells, at most %d", origin, field, n,
                      CITY_FIELD_MAX_CELLS);
  field_pair *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  if (p == NULL) return rs_err_set(e, RS_ENOMEM, "%s: out of memory", origin);
  int i = 0, rc = 0;
  for (const cJSON *it = a->child; it != NULL; it = it->next, i++) {
    const cJSON *c = cJSON_GetArrayItem(it, 0), *k = cJSON_GetArrayItem(it, 1);
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsNumber(c) ||
        !cJSON_IsNumber(k) || c->valuedouble != floor(c->valuedouble) ||
        !(fabs(c->valuedouble) < 1e9)) {
      rc = rs_err_set(e, RS_EFORMAT, "%s: %s[%d]: not a [cell index, factor] pair", origin,
                      field, i);
      break;
    }
    p[i] = (field_pair){(int32_t)c->valuedouble, k->valuedouble};
  }
  if (rc == 0) {
    char what[160];
    snprintf(what, sizeof what, "%s: %s", origin, field);
    rc = field_from_pairs(d, p, n, what, f, e);
    if (rc == RS_EINVAL) rc = RS_EFORMAT;
  }
  free(p);
  return rc;
}

/* The optional network_factors (city.h): 24 numbers, or {"weekday",
 * "weekend"[, "network_hash"]}. */
static int parse_net_factors(const cJSON *root, const char *origin, city_def *d, rs_err *e) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "network_factors");
  int rc;
  if (it == NULL) return 0;
  if (cJSON_IsArray(it)) {
    if ((rc = get_factors(it, "network_factors", origin, d->net_factors[0], e)) != 0) return rc;
    memcpy(d->net_factors[1], d->net_factors[0], sizeof d->net_factors[0]);
    d->net_have_factors = 1;
    return 0;
  }
  if (!cJSON_IsObject(it))
    return bad(e, origin, "network_factors",
               "not 24 numbers nor {\"weekday\": [24], \"weekend\": [24]}");
  if ((rc = check_keys(it, factor_keys, origin, "network_factors.", e)) != 0) return rc;
  const cJSON *wd = cJSON_GetObjectItemCaseSensitive(it, "weekday");
  const cJSON *we = cJSON_GetObjectItemCaseSensitive(it, "weekend");
  if (wd == NULL) return bad(e, origin, "network_factors.weekday", "missing");
  if (we == NULL) return bad(e, origin, "network_factors.weekend", "missing");
  if ((rc = get_factors(wd, "network_factors.weekday", origin, d->net_factors[0], e)) != 0 ||
      (rc = get_factors(we, "network_factors.weekend", origin, d->net_factors[1], e)) != 0)
    return rc;
  const cJSON *hash = cJSON_GetObjectItemCaseSensitive(it, "network_hash");
  if (hash != NULL) {
    char *end = NULL;
    const char *s = cJSON_IsString(hash) ? hash->valuestring : "";
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (strlen(s) != 16 || *end != '\0' || errno != 0 || v == 0)
      return bad(e, origin, "network_factors.network_hash",
                 "not a network's content hash (16 hex digits, as `ridesim network info` "
                 "prints it)");
    d->net_factors_hash = (uint64_t)v;
  }
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(it, "cells");
  if (cells != NULL &&
      (rc = parse_field(cells, "network_factors.cells", origin, d, &d->net_field, e)) != 0)
    return rc;
  d->net_have_factors = 1;
  return 0;
}

/* The optional service area (city.h, area.h), after the bbox. */
static int parse_area(const cJSON *root, const char *origin, city_def *d, rs_err *e) {
  city_area_clear(&d->area);
  const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "service_area");
  if (sa == NULL) return 0;
  if (!cJSON_IsArray(sa) || cJSON_GetArraySize(sa) == 0)
    return bad(e, origin, "service_area",
               "not a list of polygons (a GeoJSON MultiPolygon's coordinates: "
               "[[[[lng, lat], ...], ...], ...])");
  char field[96];
  int32_t ip = 0;
  for (const cJSON *poly = sa->child; poly != NULL; poly = poly->next, ip++) {
    snprintf(field, sizeof field, "service_area[%d]", ip);
    if (!cJSON_IsArray(poly) || cJSON_GetArraySize(poly) == 0)
      return bad(e, origin, field, "not a polygon (a list of rings, the outer one first)");
    int32_t ir = 0;
    for (const cJSON *ring = poly->child; ring != NULL; ring = ring->next, ir++) {
      snprintf(field, sizeof field, "service_area[%d][%d]", ip, ir);
      if (!cJSON_IsArray(ring))
        return bad(e, origin, field, "not a ring (a list of [lng, lat] positions)");
      int n = cJSON_GetArraySize(ring);
      if (n > CITY_AREA_MAX_POINTS + 1)
        return bad(e, origin, field, city_area_why_text(CITY_AREA_FULL));
      if (n < 3) return bad(e, origin, field, city_area_why_text(CITY_AREA_FEW_POINTS));
      double *lat = malloc(2 * (size_t)n * sizeof *lat);
      if (lat == NULL)
        return rs_err_set(e, RS_ENOMEM, "%s: %s: out of memory", origin, field);
      double *lng = lat + n;
      int rc = read_ring(ring, d, field, origin, lat, lng, e);
      if (rc == 0) {
        city_area_why why = city_area_add_ring(&d->area, ip, lat, lng, n);
        if (why != CITY_AREA_OK) rc = bad(e, origin, field, city_area_why_text(why));
      }
      free(lat);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

/* A printed grid read back must be the definition's own (city.h); d is
 * complete but for this check. */
static int check_grid(const cJSON *root, const city_def *d, const city_grid *g,
                      const char *origin, rs_err *e) {
  const cJSON *grid = cJSON_GetObjectItemCaseSensitive(root, "grid");
  if (grid == NULL) return 0;
  if (!cJSON_IsObject(grid)) return bad(e, origin, "grid", "not an object");
  int rc = check_keys(grid, grid_keys, origin, "grid.", e);
  if (rc != 0) return rc;
  double want[9] = {g->n_cells, g->nrows, g->ncols,     g->edge_m,   g->row0,
                    g->col0,    g->proj.lat0, g->proj.lng0, -1};
  if (cJSON_GetObjectItemCaseSensitive(grid, "cells_in_service") != NULL) {
    uint8_t *flags = malloc((size_t)g->n_cells);
    if (flags == NULL)
      return rs_err_set(e, RS_ENOMEM, "%s: grid: out of memory for %d cells", origin,
                        g->n_cells);
    want[8] = city_def_service_cells(d, g, flags);
    free(flags);
  }
  for (int i = 0; i < 9; i++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(grid, grid_keys[i]);
    /* cJSON prints 15 digits: the real-valued fields agree to 1e-12 */
    if (it != NULL &&
        (!cJSON_IsNumber(it) || !(fabs(it->valuedouble - want[i]) <= 1e-12 * fabs(want[i]))))
      return rs_err_set(e, RS_EFORMAT,
                        "%s: grid.%s: is not the %.17g that bbox and hex_edge_m imply (the "
                        "grid is derived: delete it or correct it)",
                        origin, grid_keys[i], want[i]);
  }
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(grid, "cells");
  if (cells != NULL && (!cJSON_IsArray(cells) || cJSON_GetArraySize(cells) != g->n_cells))
    return rs_err_set(e, RS_EFORMAT, "%s: grid.cells: is not a list of the grid's %d cells",
                      origin, g->n_cells);
  return 0;
}

static int parse_tree(const cJSON *root, const char *origin, city_def *d,
                      rs_err *e) {
  int rc;
  if (!cJSON_IsObject(root))
    return rs_err_set(e, RS_EFORMAT, "%s: not a JSON object", origin);
  /* Unknown keys first: a misspelt key would otherwise be reported as the
   * correctly spelt field being missing, which hides the typo. */
  if ((rc = check_keys(root, city_keys, origin, "", e)) != 0) return rc;

  const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
  if (name == NULL) return bad(e, origin, "name", "missing");
  if (!cJSON_IsString(name)) return bad(e, origin, "name", "not a string");
  size_t len = strlen(name->valuestring);
  if (len == 0 || len >= CITY_NAME_MAX)
    return rs_err_set(e, RS_EFORMAT, "%s: name: must be 1 to %d characters",
                      origin, CITY_NAME_MAX - 1);
  memcpy(d->name, name->valuestring, len + 1);

  const cJSON *bbox = get_object(root, "bbox", origin, e);
  if (bbox == NULL) return RS_EFORMAT;
  if ((rc = check_keys(bbox, bbox_keys, origin, "bbox.", e)) != 0) return rc;
  if ((rc = get_number(bbox, "min_lat", "bbox.min_lat", -90, 90, origin,
                       &d->min_lat, e)) != 0 ||
      (rc = get_number(bbox, "min_lng", "bbox.min_lng", -180, 180, origin,
                       &d->min_lng, e)) != 0 ||
      (rc = get_number(bbox, "max_lat", "bbox.max_lat", -90, 90, origin,
                       &d->max_lat, e)) != 0 ||
      (rc = get_number(bbox, "max_lng", "bbox.max_lng", -180, 180, origin,
                       &d->max_lng, e)) != 0)
    return rc;
  if (!(d->min_lat < d->max_lat))
    return bad(e, origin, "bbox", "min_lat must be below max_lat");
  if (!(d->min_lng < d->max_lng))
    return bad(e, origin, "bbox", "min_lng must be below max_lng");

  if ((rc = get_number(root, "hex_edge_m", "hex_edge_m", 1.0, 1e6, origin,
                       &d->hex_edge_m, e)) != 0)
    return rc;
  /* Real offsets run from UTC-12:00 to UTC+14:00. */
  if ((rc = get_int(root, "utc_offset_minutes", -720, 840, origin,
                    &d->utc_offset_min, e)) != 0)
    return rc;

  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(root, "speed_mps_by_hour");
  if (sp == NULL) return bad(e, origin, "speed_mps_by_hour", "missing");
  if (!cJSON_IsArray(sp))
    return bad(e, origin, "speed_mps_by_hour", "not an array");
  int nsp = cJSON_GetArraySize(sp);
  if (nsp != 24)
    return rs_err_set(e, RS_EFORMAT,
                      "%s: speed_mps_by_hour: has %d numbers, needs 24 (one "
                      "per local hour)",
                      origin, nsp);
  int h = 0;
  for (const cJSON *it = sp->child; it != NULL; it = it->next, h++) {
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
        !(it->valuedouble >= CITY_SPEED_MIN_MPS) || it->valuedouble > CITY_SPEED_MAX_MPS)
      return rs_err_set(e, RS_EFORMAT,
                        "%s: speed_mps_by_hour[%d]: needs a number in [%g, %g]",
                        origin, h, CITY_SPEED_MIN_MPS, CITY_SPEED_MAX_MPS);
    d->speed_mps[h] = it->valuedouble;
  }

  if ((rc = get_number(root, "detour_factor", "detour_factor", 1.0, 5.0,
                       origin, &d->detour_factor, e)) != 0)
    return rc;

  const cJSON *fare = get_object(root, "fare", origin, e);
  if (fare == NULL) return RS_EFORMAT;
  if ((rc = check_keys(fare, fare_keys, origin, "fare.", e)) != 0) return rc;
  if ((rc = get_number(fare, "base", "fare.base", 0, 1e6, origin,
                       &d->fare.base, e)) != 0 ||
      (rc = get_number(fare, "per_km", "fare.per_km", 0, 1e6, origin,
                       &d->fare.per_km, e)) != 0 ||
      (rc = get_number(fare, "per_minute", "fare.per_minute", 0, 1e6, origin,
                       &d->fare.per_minute, e)) != 0 ||
      (rc = get_number(fare, "minimum", "fare.minimum", 0, 1e6, origin,
                       &d->fare.minimum, e)) != 0 ||
      (rc = get_optional(fare, "per_minute_slow", "fare.per_minute_slow", 0, 1e6, origin,
                         &d->fare.per_minute_slow, e)) != 0 ||
      (rc = get_optional(fare, "moving_mps", "fare.moving_mps", 0, CITY_SPEED_MAX_MPS, origin,
                         &d->fare.moving_mps, e)) != 0 ||
      (rc = get_optional(fare, "surcharge", "fare.surcharge", 0, 1e6, origin,
                         &d->fare.surcharge, e)) != 0 ||
      (rc = get_window(fare, "night", origin, &d->fare.night, e)) != 0 ||
      (rc = get_window(fare, "peak", origin, &d->fare.peak, e)) != 0)
    return rc;
  if (d->fare.per_minute_slow > 0 && d->fare.moving_mps <= 0)
    return bad(e, origin, "fare.moving_mps", "needed (> 0) with per_minute_slow");

  if ((rc = get_int(root, "default_fleet", 1, CITY_FLEET_MAX, origin,
                    &d->default_fleet, e)) != 0)
    return rc;

  d->earth_radius_m = RS_EARTH_RADIUS_M;
  if (cJSON_GetObjectItemCaseSensitive(root, "earth_radius_m") != NULL &&
      (rc = get_number(root, "earth_radius_m", "earth_radius_m", 6.3e6, 6.4e6,
                       origin, &d->earth_radius_m, e)) != 0)
    return rc;

  city_grid g;
  memset(&g, 0, sizeof g); /* the fields keep a copy: no stray padding bytes */
  if (city_grid_init(&g, d->min_lat, d->min_lng, d->max_lat, d->max_lng,
                     d->hex_edge_m, d->earth_radius_m) != 0)
    return bad(e, origin, "hex_edge_m",
               "too small for the bbox (the grid would exceed 2^24 cells)");
  d->cell_field.grid = d->net_field.grid = g; /* empty fields on the city's grid */
  if ((rc = parse_net_factors(root, origin, d, e)) != 0) return rc;
  const cJSON *cf = cJSON_GetObjectItemCaseSensitive(root, "cell_factors");
  if (cf != NULL && (rc = parse_field(cf, "cell_factors", origin, d, &d->cell_field, e)) != 0)
    return rc;
  if ((rc = parse_area(root, origin, d, e)) != 0) return rc;
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "source");
  if (src != NULL && !cJSON_IsString(src)) return bad(e, origin, "source", "not a string");
  return check_grid(root, d, &g, origin, e);
}

int city_def_parse(const char *json, const char *origin, city_def *def,
                   rs_err *e) {
  if (origin == NULL) origin = "city definition";
  if (json == NULL || def == NULL)
    return rs_err_set(e, RS_EINVAL, "%s: no text to parse", origin);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  if (root == NULL) {
    int line, col;
    text_position(json, end != NULL ? end : json, &line, &col);
    return rs_err_set(e, RS_EFORMAT, "%s:%d:%d: not valid JSON", origin, line,
                      col);
  }
  city_def d;
  memset(&d, 0, sizeof d);
  int rc = parse_tree(root, origin, &d, e);
  cJSON_Delete(root);
  if (rc == 0) *def = d;
  return rc;
}

int city_def_load_file(const char *path, city_def *def, rs_err *e) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    int err = errno;
    return rs_err_set(e, err == ENOENT ? RS_ENOENT : RS_EIO, "%s: %s", path,
                      strerror(err));
  }
  char *buf = malloc(CITY_FILE_MAX + 1);
  if (buf == NULL) {
    fclose(f);
    return rs_err_set(e, RS_ENOMEM, "%s: out of memory reading the file", path);
  }
  size_t n = fread(buf, 1, CITY_FILE_MAX + 1, f);
  int rerr = ferror(f);
  fclose(f);
  int rc;
  if (rerr)
    rc = rs_err_set(e, RS_EIO, "%s: read error", path);
  else if (n > CITY_FILE_MAX)
    rc = rs_err_set(e, RS_EFORMAT, "%s: larger than %d bytes: not a city "
                    "definition", path, CITY_FILE_MAX);
  else if (memchr(buf, '\0', n) != NULL)
    rc = rs_err_set(e, RS_EFORMAT, "%s: binary data: not a city definition",
                    path);
  else {
    buf[n] = '\0';
    rc = city_def_parse(buf, path, def, e);
  }
  free(buf);
  return rc;
}

const char *const *city_def_builtin_names(void) { return city_embedded_names; }

/* "manhattan, synthetic" into buf. */
static void builtin_list(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; city_embedded_names[i] != NULL && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                     city_embedded_names[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}

int city_def_builtin(const char *name, city_def *def, rs_err *e) {
  for (size_t i = 0; name != NULL && city_embedded_names[i] != NULL; i++)
    if (strcmp(name, city_embedded_names[i]) == 0) {
      char origin[CITY_NAME_MAX + 16];
      snprintf(origin, sizeof origin, "builtin:%s", name);
      return city_def_parse(city_embedded_json[i], origin, def, e);
    }
  char known[256];
  builtin_list(known, sizeof known);
  return rs_err_set(e, RS_EINVAL, "no built-in city '%s' (known: %s)",
                    name ? name : "(null)", known);
}

int city_def_resolve(const char *name_or_path, city_def *def, rs_err *e) {
  if (name_or_path == NULL || *name_or_path == '\0')
    return rs_err_set(e, RS_EINVAL, "city: empty name");
  for (size_t i = 0; city_embedded_names[i] != NULL; i++)
    if (strcmp(name_or_path, city_embedded_names[i]) == 0)
      return city_def_builtin(name_or_path, def, e);
  int rc = city_def_load_file(name_or_path, def, e);
  /* A bare word that is neither a built-in nor a file is most likely a
   * misspelt city name: say which names exist. */
  if (rc == RS_ENOENT && strchr(name_or_path, '/') == NULL &&
      strstr(name_or_path, ".json") == NULL) {
    char known[256];
    builtin_list(known, sizeof known);
    return rs_err_set(e, RS_EINVAL,
                      "unknown city '%s': not a built-in city (%s) nor a file",
                      name_or_path, known);
  }
  return rc;
}

int city_def_grid(const city_def *def, city_grid *g, rs_err *e) {
  if (city_grid_init(g, def->min_lat, def->min_lng, def->max_lat, def->max_lng,
                     def->hex_edge_m, def->earth_radius_m) != 0)
    return rs_err_set(e, RS_EINVAL,
                      "city %s: bbox and hex_edge_m do not make a grid (empty "
                      "box, edge <= 0 or more than 2^24 cells)",
                      def->name);
  return 0;
}

int city_def_contains(const city_def *def, double lat, double lng) {
  return lat >= def->min_lat && lat <= def->max_lat && lng >= def->min_lng &&
         lng <= def->max_lng;
}

int city_def_serves(const city_def *def, double lat, double lng) {
  if (def->area.n_rings == 0) return city_def_contains(def, lat, lng);
  return city_area_contains(&def->area, lat, lng);
}

int32_t city_def_service_cells(const city_def *def, const city_grid *g, uint8_t *flags) {
  if (def->area.n_rings > 0) return city_area_cells(&def->area, g, flags);
  /* No polygon: the box is the area, as one ring (17 KB of stack). */
  city_area box;
  city_area_clear(&box);
  const double lat[4] = {def->min_lat, def->min_lat, def->max_lat, def->max_lat};
  const double lng[4] = {def->min_lng, def->max_lng, def->max_lng, def->min_lng};
  if (city_area_add_ring(&box, 0, lat, lng, 4) != CITY_AREA_OK) {
    /* A box thinner than the area's unit (0.1 m) has no ring: every cell
     * serves, as before there were service areas. */
    memset(flags, 1, (size_t)g->n_cells);
    return g->n_cells;
  }
  return city_area_cells(&box, g, flags);
}

double city_def_speed(const city_def *def, int64_t t_local) {
  return def->speed_mps[rs_time_hour(t_local)];
}

double city_def_fare_slow_s(const city_def *def, double road_m, double seconds) {
  const city_fare_rule *f = &def->fare;
  if (f->moving_mps <= 0) return 0;
  double slow = seconds - road_m / f->moving_mps;
  return slow > 0 ? slow : 0;
}

/* Whether a trip starting at local time t pays a window's surcharge. */
static int in_window(const city_surcharge *w, int64_t t) {
  if (w->from_s == w->to_s) return 0;
  if (w->weekdays_only && rs_time_weekend(t)) return 0;
  int32_t tod = rs_time_tod(t);
  return w->from_s < w->to_s ? tod >= w->from_s && tod < w->to_s
                             : tod >= w->from_s || tod < w->to_s;
}

double city_def_fare(const city_def *def, double road_m, double seconds, int64_t t_local) {
  const city_fare_rule *f = &def->fare;
  double v = f->base + f->per_km * road_m / 1000.0 +
             f->per_minute * seconds / 60.0;
  if (f->per_minute_slow > 0)
    v += f->per_minute_slow * city_def_fare_slow_s(def, road_m, seconds) / 60.0;
  if (v < f->minimum) v = f->minimum;
  v += f->surcharge;
  if (in_window(&f->night, t_local)) v += f->night.amount;
  if (in_window(&f->peak, t_local)) v += f->peak.amount;
  return v;
}

/* A number as the shortest text that reads back to the same double (15,
 * 16 or 17 significant digits): cJSON's own printing keeps 15 digits when
 * they read back "close enough", which loses the last bits of a fitted
 * speed. */
static cJSON *exact_number(double v) {
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return cJSON_CreateRaw(buf);
}

static int add_number(cJSON *obj, const char *key, double v) {
  cJSON *it = exact_number(v);
  if (it != NULL && cJSON_AddItemToObject(obj, key, it)) return 1;
  cJSON_Delete(it);
  return 0;
}

/* Adds an array of n numbers to obj under key. */
static int add_numbers(cJSON *obj, const char *key, const double *v, int n) {
  cJSON *a = cJSON_CreateArray();
  int ok = a != NULL;
  for (int i = 0; ok && i < n; i++) {
    cJSON *it = exact_number(v[i]);
    ok = it != NULL && cJSON_AddItemToArray(a, it);
    if (!ok) cJSON_Delete(it);
  }
  if (ok && cJSON_AddItemToObject(obj, key, a)) return 1;
  cJSON_Delete(a);
  return 0;
}

/* Appends [pos[0], pos[1]] to the array a, numbers exact; 0 when out of
 * memory (a unchanged). */
static int add_position(cJSON *a, const double pos[2]) {
  cJSON *p = cJSON_CreateArray();
  int ok = p != NULL;
  for (int i = 0; ok && i < 2; i++) {
    cJSON *it = exact_number(pos[i]);
    ok = it != NULL && cJSON_AddItemToArray(p, it);
    if (!ok) cJSON_Delete(it);
  }
  if (ok && cJSON_AddItemToArray(a, p)) return 1;
  cJSON_Delete(p);
  return 0;
}

/* The service area as a GeoJSON MultiPolygon's coordinates, rings closed. */
static cJSON *area_json(const city_area *a) {
  cJSON *polys = cJSON_CreateArray();
  cJSON *poly = NULL;
  for (int32_t r = 0; polys != NULL && r < a->n_rings; r++) {
    if (r == 0 || a->ring_polygon[r] != a->ring_polygon[r - 1]) {
      poly = cJSON_CreateArray();
      if (poly == NULL || !cJSON_AddItemToArray(polys, poly)) goto oom;
    }
    cJSON *ring = cJSON_CreateArray();
    if (ring == NULL || !cJSON_AddItemToArray(poly, ring)) goto oom;
    int32_t s = a->ring_start[r], t = a->ring_start[r + 1];
    for (int32_t i = s; i <= t; i++) {
      double lat, lng;
      city_area_point(a, i < t ? i : s, &lat, &lng);
      double pos[2] = {lng, lat};
      if (!add_position(ring, pos)) goto oom;
    }
  }
  return polys;
oom:
  cJSON_Delete(polys);
  return NULL;
}

/* Adds a field to obj under key as [cell, factor] pairs. */
static int add_field(cJSON *obj, const char *key, const city_field *f) {
  cJSON *a = cJSON_CreateArray();
  int ok = a != NULL;
  for (int32_t i = 0; ok && i < f->n; i++) {
    double pair[2] = {f->cell[i], f->k[i]};
    cJSON *p = cJSON_CreateArray();
    ok = p != NULL && cJSON_AddItemToArray(a, p);
    if (!ok) cJSON_Delete(p);
    for (int j = 0; ok && j < 2; j++) {
      cJSON *it = exact_number(pair[j]);
      ok = it != NULL && cJSON_AddItemToArray(p, it);
      if (!ok) cJSON_Delete(it);
    }
  }
  if (ok && cJSON_AddItemToObject(obj, key, a)) return 1;
  cJSON_Delete(a);
  return 0;
}

/* Every number is written exactly (exact_number): the text reads back to
 * the same bits. */
int city_def_to_json(const city_def *d, cJSON *root) {
  int ok = cJSON_AddStringToObject(root, "name", d->name) != NULL;
  cJSON *bbox = ok ? cJSON_AddObjectToObject(root, "bbox") : NULL;
  ok = ok && bbox != NULL && add_number(bbox, "min_lat", d->min_lat) &&
       add_number(bbox, "min_lng", d->min_lng) && add_number(bbox, "max_lat", d->max_lat) &&
       add_number(bbox, "max_lng", d->max_lng);
  ok = ok && add_number(root, "hex_edge_m", d->hex_edge_m) &&
       add_number(root, "utc_offset_minutes", d->utc_offset_min) &&
       add_numbers(root, "speed_mps_by_hour", d->speed_mps, 24) &&
       add_number(root, "detour_factor", d->detour_factor);
  const city_fare_rule *f = &d->fare;
  cJSON *fare = ok ? cJSON_AddObjectToObject(root, "fare") : NULL;
  ok = ok && fare != NULL && add_number(fare, "base", f->base) &&
       add_number(fare, "per_km", f->per_km) && add_number(fare, "per_minute", f->per_minute) &&
       add_number(fare, "minimum", f->minimum);
  /* Optional fields read as 0 when absent: written whenever not 0. */
  if (ok && f->per_minute_slow != 0) ok = add_number(fare, "per_minute_slow", f->per_minute_slow);
  if (ok && f->moving_mps != 0) ok = add_number(fare, "moving_mps", f->moving_mps);
  if (ok && f->surcharge != 0) ok = add_number(fare, "surcharge", f->surcharge);
  for (int i = 0; ok && i < 2; i++) {
    const city_surcharge *w = i == 0 ? &f->night : &f->peak;
    if (w->from_s == 0 && w->to_s == 0 && !w->weekdays_only && w->amount == 0) continue;
    cJSON *o = cJSON_AddObjectToObject(fare, i == 0 ? "night" : "peak");
    char from[16], to[16];
    rs_time_format_tod(w->from_s, from, sizeof from);
    rs_time_format_tod(w->to_s, to, sizeof to);
    ok = o != NULL && cJSON_AddStringToObject(o, "from", from) != NULL &&
         cJSON_AddStringToObject(o, "to", to) != NULL &&
         (!w->weekdays_only || cJSON_AddTrueToObject(o, "weekdays_only") != NULL) &&
         add_number(o, "amount", w->amount);
  }
  ok = ok && add_number(root, "default_fleet", d->default_fleet) &&
       add_number(root, "earth_radius_m", d->earth_radius_m);
  if (ok && d->net_have_factors) {
    cJSON *nf = cJSON_AddObjectToObject(root, "network_factors");
    ok = nf != NULL && add_numbers(nf, "weekday", d->net_factors[0], 24) &&
         add_numbers(nf, "weekend", d->net_factors[1], 24);
    if (ok && d->net_factors_hash != 0) {
      char hex[24];
      snprintf(hex, sizeof hex, "%016llx", (unsigned long long)d->net_factors_hash);
      ok = cJSON_AddStringToObject(nf, "network_hash", hex) != NULL;
    }
    if (ok && d->net_field.n > 0) ok = add_field(nf, "cells", &d->net_field);
  }
  if (ok && d->cell_field.n > 0) ok = add_field(root, "cell_factors", &d->cell_field);
  if (ok && d->area.n_rings > 0) {
    cJSON *a = area_json(&d->area);
    ok = a != NULL && cJSON_AddItemToObject(root, "service_area", a);
    if (!ok) cJSON_Delete(a);
  }
  return ok ? 0 : RS_ENOMEM;
}

/*
 * kddcup: readers for the KDD Cup 2020 grid, idle-transition and cancel
 * files; see kddcup.h.
 *
 * All three files are small CSVs without quoting, so lines are split on
 * commas directly (csvread.h's hostile-input machinery is not needed: a bad
 * line is skipped with its reason, whatever it holds). Numbers are parsed
 * strictly: the whole field, finite.
 *
 * Costs: loading is O(n log n) (sorting by id); id lookups O(log n);
 * nearest-cell lookups visit the buckets of a few rings around the point;
 * idle sampling walks one (hour, origin) row; cancel lookups O(log n).
 */
#include "city_data/kddcup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_vec.h"

#define MAX_FIELDS 16

/* ------------------------------------------------------------ line reading */

typedef struct {
  FILE *f;
  char *line;
  size_t cap;
  int64_t lineno;
  char *field[MAX_FIELDS];
  int n_fields;   /* fields of the current line; MAX_FIELDS + 1 when more */
} reader;

static int reader_open(reader *r, const char *path, rs_err *e) {
  memset(r, 0, sizeof *r);
  r->f = fopen(path, "r");
  if (r->f == NULL)
    return rs_err_set(e, errno == ENOENT ? RS_ENOENT : RS_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

static void reader_close(reader *r) {
  if (r->f) fclose(r->f);
  free(r->line);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* Reads the next line and splits it. 1 on a line, 0 at the end. Blank
 * lines come back with n_fields 0. */
static int reader_next(reader *r) {
  ssize_t n = getline(&r->line, &r->cap, r->f);
  if (n < 0) return 0;
  r->lineno++;
  char *s = trim(r->line);
  r->n_fields = 0;
  if (*s == '\0') return 1;
  for (;;) {
    char *c = strchr(s, ',');
    if (c) *c = '\0';
    if (r->n_fields == MAX_FIELDS) {
      r->n_fields = MAX_FIELDS + 1;
      return 1;
    }
    r->field[r->n_fields++] = trim(s);
    if (c == NULL) break;
    s = c + 1;
  }
  return 1;
}

static int parse_num(const char *s, double *v) {
  if (*s == '\0') return -1;
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (*end != '\0' || errno == ERANGE || !isfinite(x)) return -1;
  *v = x;
  return 0;
}

static void skip(city_kdd_skips *sk, int64_t line, const char *reason) {
  if (sk->n < CITY_KDD_SKIPS_MAX) {
    sk->first[sk->n].line = line;
    snprintf(sk->first[sk->n].reason, sizeof sk->first[sk->n].reason, "%s", reason);
  }
  sk->n++;
}

/* ------------------------------------------------------------ hexagon grid */

typedef struct {
  city_kdd_cell c;
  int64_t line;
} cell_line;

struct city_kdd_grid {
  city_kdd_cell *cells;   /* sorted by id */
  int32_t n;
  double min_lat, min_lng;/* bucket grid origin */
  int32_t nbx, nby;       /* buckets along lng and lat */
  double coslat;          /* lng scale of the equirectangular metric */
  int32_t *b_start;       /* nbx * nby + 1 offsets into b_cells */
  int32_t *b_cells;       /* cell indices bucket by bucket */
  city_kdd_skips skips;
};

static int cmp_cell_line(const void *a, const void *b) {
  const cell_line *x = a, *y = b;
  int c = strcmp(x->c.id, y->c.id);
  if (c) return c;
  return (x->line > y->line) - (x->line < y->line);
}

static int32_t bucket_x(const city_kdd_grid *g, double lng) {
  double v = floor((lng - g->min_lng) / CITY_KDD_BUCKET_DEG);
  if (v < 0) return 0;
  if (v >= g->nbx) return g->nbx - 1;
  return (int32_t)v;
}

static int32_t bucket_y(const city_kdd_grid *g, double lat) {
  double v = floor((lat - g->min_lat) / CITY_KDD_BUCKET_DEG);
  if (v < 0) return 0;
  if (v >= g->nby) return g->nby - 1;
  return (int32_t)v;
}

static int build_buckets(city_kdd_grid *g) {
  double max_lat = -INFINITY, max_lng = -INFINITY;
  g->min_lat = INFINITY;
  g->min_lng = INFINITY;
  for (int32_t i = 0; i < g->n; i++) {
    const city_kdd_cell *c = &g->cells[i];
    if (c->lat < g->min_lat) g->min_lat = c->lat;
    if (c->lng < g->min_lng) g->min_lng = c->lng;
    if (c->lat > max_lat) max_lat = c->lat;
    if (c->lng > max_lng) max_lng = c->lng;
  }
  g->nbx = (int32_t)floor((max_lng - g->min_lng) / CITY_KDD_BUCKET_DEG) + 1;
  g->nby = (int32_t)floor((max_lat - g->min_lat) / CITY_KDD_BUCKET_DEG) + 1;
  if ((int64_t)g->nbx * g->nby > 16 * 1024 * 1024) return RS_ERANGE;
  g->coslat = cos((g->min_lat + max_lat) / 2 * 3.14159265358979323846 / 180.0);
  size_t nb = (size_t)g->nbx * (size_t)g->nby;
  g->b_start = calloc(nb + 1, sizeof *g->b_start);
  g->b_cells = malloc((size_t)g->n * sizeof *g->b_cells);
  if (g->b_start == NULL || g->b_cells == NULL) return RS_ENOMEM;
  for (int32_t i = 0; i < g->n; i++) {
    size_t b = (size_t)bucket_y(g, g->cells[i].lat) * (size_t)g->nbx +
               (size_t)bucket_x(g, g->cells[i].lng);
    g->b_start[b + 1]++;
  }
  for (size_t b = 0; b < nb; b++) g->b_start[b + 1] += g->b_start[b];
  int32_t *fill = malloc(nb * sizeof *fill);
  if (fill == NULL) return RS_ENOMEM;
  memcpy(fill, g->b_start, nb * sizeof *fill);
  for (int32_t i = 0; i < g->n; i++) {
    size_t b = (size_t)bucket_y(g, g->cells[i].lat) * (size_t)g->nbx +
               (size_t)bucket_x(g, g->cells[i].lng);
    g->b_cells[fill[b]++] = i;
  }
  free(fill);
  return 0;
}

int city_kdd_grid_load(const char *path, city_kdd_grid **out, rs_err *e) {
  *out = NULL;
  reader r;
  int rc = reader_open(&r, path, e);
  if (rc) return rc;
  city_kdd_grid *g = calloc(1, sizeof *g);
  cell_line *tmp = NULL;
  size_t n = 0, cap = 0;
  if (g == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  while (reader_next(&r)) {
    char why[120];
    if (r.n_fields == 0) continue;
    if (r.n_fields != 13) {
      snprintf(why, sizeof why, "expected 13 fields (grid_id and 6 lng,lat pairs), got %d%s",
               r.n_fields > MAX_FIELDS ? MAX_FIELDS : r.n_fields,
               r.n_fields > MAX_FIELDS ? " or more" : "");
      skip(&g->skips, r.lineno, why);
      continue;
    }
    size_t idlen = strlen(r.field[0]);
    if (idlen == 0 || idlen >= CITY_KDD_ID_MAX) {
      skip(&g->skips, r.lineno, idlen == 0 ? "empty grid_id" : "grid_id too long");
      continue;
    }
    cell_line cl;
    memset(&cl, 0, sizeof cl);
    memcpy(cl.c.id, r.field[0], idlen + 1);
    int bad = 0;
    double slat = 0, slng = 0;
    for (int k = 0; k < 6 && !bad; k++) {
      double lng, lat;
      if (parse_num(r.field[1 + 2 * k], &lng) || parse_num(r.field[2 + 2 * k], &lat)) {
        snprintf(why, sizeof why, "vertex %d: not a number", k + 1);
        bad = 1;
      } else if (lat < -90 || lat > 90 || lng < -180 || lng > 180) {
        snprintf(why, sizeof why, "vertex %d: coordinates out of range", k + 1);
        bad = 1;
      } else {
        cl.c.vlat[k] = lat;
        cl.c.vlng[k] = lng;
        slat += lat;
        slng += lng;
      }
    }
    if (bad) {
      skip(&g->skips, r.lineno, why);
      continue;
    }
    cl.c.lat = slat / 6;
    cl.c.lng = slng / 6;
    cl.line = r.lineno;
    if (rs_vec_grow(tmp, cap, n + 1)) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
      goto fail;
    }
    tmp[n++] = cl;
  }
  if (ferror(r.f)) {
    rc = rs_err_set(e, RS_EIO, "%s: read error", path);
    goto fail;
  }
  if (n == 0) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: no valid grid line (%lld skipped)", path,
                    (long long)g->skips.n);
    goto fail;
  }
  if (n > INT32_MAX / 2) {
    rc = rs_err_set(e, RS_ERANGE, "%s: too many cells", path);
    goto fail;
  }
  qsort(tmp, n, sizeof *tmp, cmp_cell_line);
  g->cells = malloc(n * sizeof *g->cells);
  if (g->cells == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (g->n > 0 && strcmp(g->cells[g->n - 1].id, tmp[i].c.id) == 0) {
      char why[120];
      snprintf(why, sizeof why, "duplicate grid_id %.40s (kept the first)", tmp[i].c.id);
      skip(&g->skips, tmp[i].line, why);
      continue;
    }
    g->cells[g->n++] = tmp[i].c;
  }
  free(tmp);
  tmp = NULL;
  if ((rc = build_buckets(g)) != 0) {
    rc = rs_err_set(e, rc, "%s: %s", path,
                    rc == RS_ENOMEM ? "out of memory" : "cells spread over too wide an area");
    goto fail;
  }
  reader_close(&r);
  *out = g;
  return 0;
fail:
  free(tmp);
  reader_close(&r);
  city_kdd_grid_free(g);
  return rc;
}

void city_kdd_grid_free(city_kdd_grid *g) {
  if (g == NULL) return;
  free(g->cells);
  free(g->b_start);
  free(g->b_cells);
  free(g);
}

int32_t city_kdd_grid_size(const city_kdd_grid *g) { return g->n; }

const city_kdd_cell *city_kdd_grid_cell(const city_kdd_grid *g, int32_t i) {
  return i >= 0 && i < g->n ? &g->cells[i] : NULL;
}

int32_t city_kdd_grid_find(const city_kdd_grid *g, const char *id) {
  int32_t lo = 0, hi = g->n - 1;
  while (lo <= hi) {
    int32_t mid = lo + (hi - lo) / 2;
    int c = strcmp(g->cells[mid].id, id);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

const city_kdd_skips *city_kdd_grid_skips(const city_kdd_grid *g) { return &g->skips; }

/* Nearest centre in the equirectangular metric about the grid's mean
 * latitude (over a city its ranking agrees with great-circle distance except
 * at near-ties of a few centimetres). Ties go to the lower index. */
int32_t city_kdd_grid_nearest(const city_kdd_grid *g, double lat, double lng) {
  int32_t cx = bucket_x(g, lng), cy = bucket_y(g, lat);
  int32_t best = -1;
  double best_d2 = INFINITY;
  double side = CITY_KDD_BUCKET_DEG * (g->coslat < 1 ? g->coslat : 1);
  int32_t rmax = g->nbx > g->nby ? g->nbx : g->nby;
  for (int32_t r = 0; r <= rmax; r++) {
    /* Every bucket of ring r is at least (r - 1) sides away (see the
     * reasoning in the header): stop once that exceeds the best. */
    if (best >= 0 && r >= 1) {
      double lb = (double)(r - 1) * side;
      if (lb * lb > best_d2) break;
    }
    for (int32_t by = cy - r; by <= cy + r; by++) {
      if (by < 0 || by >= g->nby) continue;
      int edge_row = by == cy - r || by == cy + r;
      for (int32_t bx = cx - r; bx <= cx + r; bx += edge_row ? 1 : 2 * r) {
        if (bx >= 0 && bx < g->nbx) {
          size_t b = (size_t)by * (size_t)g->nbx + (size_t)bx;
          for (int32_t k = g->b_start[b]; k < g->b_start[b + 1]; k++) {
            int32_t i = g->b_cells[k];
            double dx = (g->cells[i].lng - lng) * g->coslat, dy = g->cells[i].lat - lat;
            double d2 = dx * dx + dy * dy;
            if (d2 < best_d2 || (d2 == best_d2 && i < best)) {
              best_d2 = d2;
              best = i;
            }
          }
        }
        if (r == 0) break;
      }
    }
  }
  return best;
}

/* ------------------------------------------------------- idle transitions */

typedef struct {
  int32_t key;     /* hour * n_cells + origin */
  int32_t dest;
  double p;
  int64_t line;
} idle_row;

struct city_kdd_idle {
  int32_t n_cells;
  int64_t *start;   /* 24 * n_cells + 1 offsets into rows */
  idle_row *rows;   /* sorted by (key, line) */
  int64_t n;
  city_kdd_skips skips;
};

static int cmp_idle(const void *a, const void *b) {
  const idle_row *x = a, *y = b;
  if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
  return (x->line > y->line) - (x->line < y->line);
}

int city_kdd_idle_load(const char *path, const city_kdd_grid *g, city_kdd_idle **out,
                       rs_err *e) {
  *out = NULL;
  reader r;
  int rc = reader_open(&r, path, e);
  if (rc) return rc;
  city_kdd_idle *t = calloc(1, sizeof *t);
  size_t cap = 0;
  if (t == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  t->n_cells = g->n;
  while (reader_next(&r)) {
    char why[120];
    if (r.n_fields == 0) continue;
    double h, p;
    if (r.n_fields != 4) {
      snprintf(why, sizeof why, "expected 4 fields (hour, origin_grid, dest_grid, prob), got %d",
               r.n_fields > MAX_FIELDS ? MAX_FIELDS : r.n_fields);
      skip(&t->skips, r.lineno, why);
      continue;
    }
    if (parse_num(r.field[0], &h) || h != floor(h) || h < 0 || h > 23) {
      skip(&t->skips, r.lineno, "hour: expected an integer 0-23");
      continue;
    }
    if (parse_num(r.field[3], &p) || p < 0 || p > 1) {
      skip(&t->skips, r.lineno, "prob: expected a number in [0, 1]");
      continue;
    }
    int32_t o = city_kdd_grid_find(g, r.field[1]), d = city_kdd_grid_find(g, r.field[2]);
    if (o < 0 || d < 0) {
      snprintf(why, sizeof why, "%s_grid %.40s: not in the grid table", o < 0 ? "origin" : "dest",
               o < 0 ? r.field[1] : r.field[2]);
      skip(&t->skips, r.lineno, why);
      continue;
    }
    if (rs_vec_grow(t->rows, cap, (size_t)t->n + 1)) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
      goto fail;
    }
    idle_row *ir = &t->rows[t->n++];
    ir->key = (int32_t)h * g->n + o;
    ir->dest = d;
    ir->p = p;
    ir->line = r.lineno;
  }
  if (ferror(r.f)) {
    rc = rs_err_set(e, RS_EIO, "%s: read error", path);
    goto fail;
  }
  if (t->n == 0) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: no valid transition line (%lld skipped)", path,
                    (long long)t->skips.n);
    goto fail;
  }
  qsort(t->rows, (size_t)t->n, sizeof *t->rows, cmp_idle);
  size_t nk = (size_t)24 * (size_t)g->n;
  t->start = calloc(nk + 1, sizeof *t->start);
  if (t->start == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  for (int64_t i = 0; i < t->n; i++) t->start[t->rows[i].key + 1]++;
  for (size_t k = 0; k < nk; k++) t->start[k + 1] += t->start[k];
  reader_close(&r);
  *out = t;
  return 0;
fail:
  reader_close(&r);
  city_kdd_idle_free(t);
  return rc;
}

void city_kdd_idle_free(city_kdd_idle *t) {
  if (t == NULL) return;
  free(t->start);
  free(t->rows);
  free(t);
}

int32_t city_kdd_idle_sample(const city_kdd_idle *t, int hour, int32_t origin, double u) {
  if (hour < 0 || hour > 23 || origin < 0 || origin >= t->n_cells) return origin;
  size_t k = (size_t)hour * (size_t)t->n_cells + (size_t)origin;
  int64_t lo = t->start[k], hi = t->start[k + 1];
  double sum = 0;
  for (int64_t i = lo; i < hi; i++) sum += t->rows[i].p;
  if (hi == lo || sum <= 0) return origin;
  double x = u * sum, acc = 0;
  for (int64_t i = lo; i < hi; i++) {
    acc += t->rows[i].p;
    if (x < acc) return t->rows[i].dest;
  }
  /* rounding left x at the very top: the last destination with weight */
  for (int64_t i = hi - 1; i >= lo; i--)
    if (t->rows[i].p > 0) return t->rows[i].dest;
  return origin;
}

int64_t city_kdd_idle_rows(const city_kdd_idle *t) { return t->n; }
const city_kdd_skips *city_kdd_idle_skips(const city_kdd_idle *t) { return &t->skips; }

/* ------------------------------------------------- cancel probabilities */

typedef struct {
  int64_t order_id;
  double p[CITY_KDD_CANCEL_POINTS];
  int64_t line;
} cancel_row;

struct city_kdd_cancel {
  cancel_row *rows;   /* sorted by order_id, unique */
  int64_t n;
  city_kdd_skips skips;
};

static int cmp_cancel(const void *a, const void *b) {
  const cancel_row *x = a, *y = b;
  if (x->order_id != y->order_id) return (x->order_id > y->order_id) - (x->order_id < y->order_id);
  return (x->line > y->line) - (x->line < y->line);
}

int city_kdd_cancel_load(const char *path, city_kdd_cancel **out, rs_err *e) {
  *out = NULL;
  reader r;
  int rc = reader_open(&r, path, e);
  if (rc) return rc;
  city_kdd_cancel *t = calloc(1, sizeof *t);
  size_t cap = 0;
  if (t == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  while (reader_next(&r)) {
    char why[120];
    if (r.n_fields == 0) continue;
    if (r.n_fields != 1 + CITY_KDD_CANCEL_POINTS) {
      snprintf(why, sizeof why, "expected 11 fields (order_id, p200 .. p2000), got %d",
               r.n_fields > MAX_FIELDS ? MAX_FIELDS : r.n_fields);
      skip(&t->skips, r.lineno, why);
      continue;
    }
    cancel_row cr;
    double id;
    if (parse_num(r.field[0], &id) || id != floor(id) || fabs(id) > 9e15) {
      skip(&t->skips, r.lineno, "order_id: expected an integer");
      continue;
    }
    cr.order_id = (int64_t)id;
    cr.line = r.lineno;
    int bad = 0;
    for (int k = 0; k < CITY_KDD_CANCEL_POINTS && !bad; k++) {
      if (parse_num(r.field[1 + k], &cr.p[k]) || cr.p[k] < 0 || cr.p[k] > 1) {
        snprintf(why, sizeof why, "p%d: expected a probability in [0, 1]", 200 * (k + 1));
        bad = 1;
      }
    }
    if (bad) {
      skip(&t->skips, r.lineno, why);
      continue;
    }
    if (rs_vec_grow(t->rows, cap, (size_t)t->n + 1)) {
      rc = rs_err_set(e, RS_ENOMEM, "%s: out of memory", path);
      goto fail;
    }
    t->rows[t->n++] = cr;
  }
  if (ferror(r.f)) {
    rc = rs_err_set(e, RS_EIO, "%s: read error", path);
    goto fail;
  }
  if (t->n == 0) {
    rc = rs_err_set(e, RS_EFORMAT, "%s: no valid cancel line (%lld skipped)", path,
                    (long long)t->skips.n);
    goto fail;
  }
  qsort(t->rows, (size_t)t->n, sizeof *t->rows, cmp_cancel);
  int64_t k = 0;
  for (int64_t i = 0; i < t->n; i++) {
    if (k > 0 && t->rows[k - 1].order_id == t->rows[i].order_id) {
      char why[120];
      snprintf(why, sizeof why, "duplicate order_id %lld (kept the first)",
               (long long)t->rows[i].order_id);
      skip(&t->skips, t->rows[i].line, why);
      continue;
    }
    t->rows[k++] = t->rows[i];
  }
  t->n = k;
  reader_close(&r);
  *out = t;
  return 0;
fail:
  reader_close(&r);
  city_kdd_cancel_free(t);
  return rc;
}

void city_kdd_cancel_free(city_kdd_cancel *t) {
  if (t == NULL) return;
  free(t->rows);
  free(t);
}

int city_kdd_cancel_p(const city_kdd_cancel *t, int64_t order_id, double pickup_m, double *p) {
  int64_t lo = 0, hi = t->n - 1;
  while (lo <= hi) {
    int64_t mid = lo + (hi - lo) / 2;
    const cancel_row *r = &t->rows[mid];
    if (r->order_id == order_id) {
      double x = pickup_m / CITY_KDD_CANCEL_STEP_M - 1; /* 0 at 200 m, 9 at 2,000 m */
      if (!(x > 0)) {
        *p = r->p[0];
      } else if (x >= CITY_KDD_CANCEL_POINTS - 1) {
        *p = r->p[CITY_KDD_CANCEL_POINTS - 1];
      } else {
        int i = (int)x;
        double f = x - i;
        *p = r->p[i] + f * (r->p[i + 1] - r->p[i]);
      }
      return 1;
    }
    if (r->order_id < order_id) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

int64_t city_kdd_cancel_rows(const city_kdd_cancel *t) { return t->n; }
const city_kdd_skips *city_kdd_cancel_skips(const city_kdd_cancel *t) { return &t->skips; }

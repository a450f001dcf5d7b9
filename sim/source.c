/*
 * source: a run's orders, a chunk at a time; see source.h.
 *
 * The array source hands out slices of its array and frees it once the
 * engine has taken the last slice: the engine copies what it needs of each
 * trip (engine.c, orders_append), so a run does not keep its input twice.
 *
 * The synthetic source generates one day at a time (about 0.35 s of CPU
 * and 88 bytes an order for a day of 400,000 orders: synth.h), renumbers
 * its ids after those of the days before, so that (request time, id)
 * ascends over the whole run and every rider keeps a cancellation draw of
 * its own (engine.h, common random numbers), and drops the trips outside
 * [t0, t1). It holds one day's trips at a time.
 */
#include "sim/source.h"

#include <stdlib.h>

#include "base/rs_time.h"
#include "city_data/synth.h"

void sim_order_source_close(sim_order_source *src) {
  if (src->close != NULL) src->close(src->ctx);
  src->ctx = NULL;
  src->next = NULL;
  src->close = NULL;
}

/* ------------------------------------------------------------------ array */

typedef struct {
  city_trip *t;       /* the trips (owned; NULL once handed out) */
  size_t n;           /* trips */
  size_t at;          /* the next to hand out */
  size_t chunk;       /* per call */
} array_src;

static int array_next(void *ctx, const city_trip **trips, size_t *n, rs_err *e) {
  (void)e;
  array_src *a = ctx;
  if (a->at >= a->n) {
    /* every slice was taken (and copied): the array is not needed */
    free(a->t);
    a->t = NULL;
    *trips = NULL;
    *n = 0;
    return 0;
  }
  size_t k = a->n - a->at;
  if (a->chunk > 0 && k > a->chunk) k = a->chunk;
  *trips = a->t + a->at;
  *n = k;
  a->at += k;
  return 0;
}

static void array_close(void *ctx) {
  array_src *a = ctx;
  if (a == NULL) return;
  free(a->t);
  free(a);
}

int sim_order_source_array(city_trip *trips, size_t n, size_t chunk, sim_order_source *out,
                           rs_err *e) {
  array_src *a = calloc(1, sizeof *a);
  if (a == NULL) {
    free(trips);
    return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
  }
  a->t = trips;
  a->n = n;
  a->chunk = chunk;
  out->ctx = a;
  out->next = array_next;
  out->close = array_close;
  return 0;
}

/* -------------------------------------------------------------- synthetic */

typedef struct {
  const city_def *city; /* borrowed */
  uint64_t seed;
  size_t n_per_day;
  int64_t day;          /* midnight of day 0 */
  int32_t days;         /* days to generate */
  int32_t k;            /* the next day */
  int64_t t0, t1;       /* trips kept: requested in [t0, t1) */
  city_trip *t;         /* the current day's trips (owned) */
  size_t n_first;       /* day 0's trips as the caller gave them (in t) */
} synth_src;

uint64_t sim_order_source_synth_seed(uint64_t seed, int32_t k) {
  if (k == 0) return seed;
  /* splitmix64's finaliser of (seed, k): days of one seed far apart */
  uint64_t z = seed + (uint64_t)k * 0x9e3779b97f4a7c15ULL + 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int synth_next(void *ctx, const city_trip **trips, size_t *n, rs_err *e) {
  synth_src *g = ctx;
  *trips = NULL;
  *n = 0;
  if (g->k == 0 && g->t != NULL) {
    /* day 0 as the caller gave it */
    g->k = 1;
    *trips = g->t;
    *n = g->n_first;
    if (*n > 0) return 0;
  }
  free(g->t);
  g->t = NULL;
  while (g->k < g->days && *n == 0) {
    int32_t k = g->k++;
    int64_t d = g->day + (int64_t)k * RS_DAY_S;
    if (d >= g->t1) {
      g->k = g->days;
      break;
    }
    if (d + RS_DAY_S <= g->t0) continue;
    city_synth_opts o = {sim_order_source_synth_seed(g->seed, k), g->n_per_day, d};
    size_t m = 0;
    int rc = city_synth_generate(g->city, &o, &g->t, &m, e);
    if (rc != 0) return rc;
    size_t kept = 0;
    for (size_t i = 0; i < m; i++) {
      if (g->t[i].t_request < g->t0 || g->t[i].t_request >= g->t1) continue;
      g->t[kept] = g->t[i];
      g->t[kept++].id += (int64_t)k * (int64_t)g->n_per_day;
    }
    *trips = g->t;
    *n = kept;
  }
  return 0;
}

static void synth_close(void *ctx) {
  synth_src *g = ctx;
  if (g == NULL) return;
  free(g->t);
  free(g);
}

int sim_order_source_synth(const city_def *city, uint64_t seed, size_t n_per_day, int64_t day,
                           int32_t days, int64_t t0, int64_t t1, city_trip *first,
                           size_t n_first, sim_order_source *out, rs_err *e) {
  synth_src *g = calloc(1, sizeof *g);
  if (g == NULL) {
    free(first);
    return rs_err_set(e, RS_ENOMEM, "orders: out of memory");
  }
  *g = (synth_src){city, seed, n_per_day, day, days, 0, t0, t1, first, n_first};
  out->ctx = g;
  out->next = synth_next;
  out->close = synth_close;
  return 0;
}

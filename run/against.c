/*
 * against: a value table held against a stored run; see against.h.
 */
#include "run/against.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/rs_vec.h"
#include "city_data/tripstore.h"
#include "sim/results.h"

typedef struct {
  val_done_trip *x;
  int64_t *ids;          /* each trip's order id, to find its dropoff */
  size_t n, cap;
} trip_buf;

static int take_trip(void *arg, const sim_results_trip *t, rs_err *e) {
  trip_buf *b = arg;
  size_t c1 = b->cap, c2 = b->cap;
  if (rs_vec_grow(b->x, c1, b->n + 1) || rs_vec_grow(b->ids, c2, b->n + 1))
    return rs_err_set(e, RS_ENOMEM, "out of memory");
  b->cap = c1;
  /* the cell once the store is read */
  b->ids[b->n] = t->order_id;
  b->x[b->n++] = (val_done_trip){t->driver, t->t_pickup, t->t_dropoff, -1, t->fare};
  return 0;
}

typedef struct {
  int64_t want;          /* run id asked for (0: the last) */
  int64_t id, from, to;
  char trips[SIM_PATH_MAX];
  int found;
} run_pick;

static int pick_run(void *arg, const sim_results_run *run, rs_err *e) {
  run_pick *p = arg;
  if (p->want != 0 && run->id != p->want) return 0;
  sim_scenario sc;
  sim_scenario_defaults(&sc);
  if (run->scenario == NULL || sim_scenario_parse(&sc, run->scenario, "run", e) != 0)
    return rs_err_set(e, RS_EFORMAT, "run %lld: its scenario cannot be read", (long long)run->id);
  p->id = run->id;
  p->from = run->t_from;
  p->to = run->t_to;
  snprintf(p->trips, sizeof p->trips, "%s", sc.trips);
  p->found = 1;
  return 0;
}

static int cmp_id(const void *a, const void *b) {
  int64_t x = ((const city_trip *)a)->id, y = ((const city_trip *)b)->id;
  return (x > y) - (x < y);
}

int run_value_against(const val_table *t, const city_def *city, const char *results,
                      int64_t run_id, run_against *out, rs_err *e) {
  sim_results *r = NULL;
  city_store *st = NULL;
  city_trip *trips = NULL;
  size_t n_trips = 0;
  trip_buf b = {0};
  run_pick p = {.want = run_id};
  int rc;
  if ((rc = sim_results_open_read(results, &r, e)) != 0 ||
      (rc = sim_results_read_runs(r, 1, 0, 0, pick_run, &p, e)) != 0)
    goto done;
  if (!p.found) {
    rc = rs_err_set(e, RS_EINVAL, "%s: no finished run%s", results,
                    run_id ? " of that id" : "");
    goto done;
  }
  if (p.trips[0] == '\0') {
    rc = rs_err_set(e, RS_EINVAL,
                    "%s: run %lld replayed the synthetic city; its dropoffs are not stored",
                    results, (long long)p.id);
    goto done;
  }
  if ((rc = sim_results_read_trips(r, p.id, take_trip, &b, e)) != 0 ||
      (rc = city_store_open(p.trips, CITY_STORE_READ, city, &st, e)) != 0 ||
      (rc = city_store_load(st, p.from, p.to, &trips, &n_trips, e)) != 0)
    goto done;
  qsort(trips, n_trips, sizeof *trips, cmp_id);
  const city_grid *g = val_table_grid(t);
  for (size_t i = 0; i < b.n; i++) {
    city_trip key = {.id = b.ids[i]};
    const city_trip *hit = bsearch(&key, trips, n_trips, sizeof *trips, cmp_id);
    int32_t cell = -1;
    if (hit != NULL) {
      cell = hit->dcell >= 0 && hit->dcell < g->n_cells ? hit->dcell
             : isfinite(hit->dlat) ? city_grid_point_index(g, hit->dlat, hit->dlng)
                                   : -1;
    }
    b.x[i].dcell = cell;
  }
  if ((rc = val_realised_by_hour(t, b.x, b.n, out->hour, e)) != 0) goto done;
  out->run = p.id;
  out->n_trips = b.n;
  snprintf(out->trips, sizeof out->trips, "%s", p.trips);
done:
  free(b.x);
  free(b.ids);
  free(trips);
  city_store_close(st);
  sim_results_close(r);
  return rc;
}

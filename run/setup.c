/*
 * setup: scenario -> trips, policies and their models (dispatch/registry.h),
 * engine; see setup.h.
 */
#include "run/setup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rs_time.h"
#include "city_data/synth.h"
#include "city_data/travel_net.h"

static double scenario_cancel_p(const void *ctx, double m) {
  return sim_scenario_cancel_p(ctx, m);
}

#define HISTORY_RECENT_S 3600 /* dropoffs of the trips requested this long before
                                 the start */
#define HISTORY_SLOT_S 1800   /* other days' pickups: this long from the start's
                                 time of day (as "demand" took 30 minutes) */
#define HISTORY_PREV_SEED 0x9e3779b97f4a7c15ULL /* the synthetic day before: its
                                 seed is the run's mixed with this */

/* Appends the dropoff (dropoff != 0) or pickup points of the trips with
 * t0 <= t_request < t1 to *pts. Returns 0 or RS_ENOMEM. */
static int add_points(const city_trip *t, size_t n_t, int64_t t0, int64_t t1, int dropoff,
                      city_loc **pts, size_t *n, rs_err *e) {
  size_t k = 0;
  for (size_t i = 0; i < n_t; i++) k += t[i].t_request >= t0 && t[i].t_request < t1;
  if (k == 0) return 0;
  city_loc *p = realloc(*pts, (*n + k) * sizeof *p);
  if (p == NULL) return rs_err_set(e, RS_ENOMEM, "run: out of memory for the fleet's start");
  *pts = p;
  for (size_t i = 0; i < n_t; i++)
    if (t[i].t_request >= t0 && t[i].t_request < t1)
      p[(*n)++] = (city_loc){dropoff ? t[i].dlat : t[i].plat, dropoff ? t[i].dlng : t[i].plng, -1};
  return 0;
}

/* The points of placement "history" (sim/fleet.c): what a platform knows at
 * the simulation's start `start`, and nothing of the run's own orders.
 * First the dropoffs of the trips requested in the hour before it (the
 * store's, or the synthetic city's: its day, and the day before drawn from
 * a seed of its own when the hour reaches into it), where the drivers that
 * served them are free; else the pickups at that time of day (HISTORY_SLOT_S from it) on
 * the store's other days, its historical density (import several days
 * into one store to have it); else none, and the engine draws the service
 * area's cells uniformly; a city without a service area (whose box may
 * reach far past its streets) falls back on "demand" (s->placement is set
 * so, the run says it). `all` is the synthetic day (st NULL). Sets
 * in->start_source to what was used. Returns 0 or an error (*pts then freed). */
static int history_points(sim_scenario *s, const city_def *city, city_store *st,
                          const city_trip *all, size_t n_all, int64_t start, run_input *in,
                          rs_err *e) {
  int rc = 0;
  int64_t tod = start - s->day;
  city_trip *t = NULL;
  size_t nt = 0;
  if (st == NULL) {
    rc = add_points(all, n_all, start - HISTORY_RECENT_S, start, 1, &in->start_pts,
                    &in->n_start, e);
    if (rc == 0 && start - HISTORY_RECENT_S < s->day) {
      /* The hour before reaches into the day before: the synthetic city's
       * day before, drawn from a seed of its own (never the run's orders). */
      city_synth_opts prev = {s->seed ^ HISTORY_PREV_SEED, (size_t)s->synthetic_orders,
                              s->day - RS_DAY_S};
      city_trip *p = NULL;
      size_t np = 0;
      if ((rc = city_synth_generate(city, &prev, &p, &np, e)) == 0)
        rc = add_points(p, np, start - HISTORY_RECENT_S, start, 1, &in->start_pts,
                        &in->n_start, e);
      free(p);
    }
  } else if ((rc = city_store_load(st, start - HISTORY_RECENT_S, start, &t, &nt, e)) == 0) {
    rc = add_points(t, nt, start - HISTORY_RECENT_S, start, 1, &in->start_pts, &in->n_start, e);
    free(t);
  }
  if (rc == 0 && in->n_start > 0) {
    in->start_source = "the dropoffs of the hour before the start";
    return 0;
  }
  if (rc == 0 && st != NULL) {
    int64_t *days = NULL;
    size_t nd = 0;
    rc = city_store_days(st, &days, &nd, e);
    for (size_t i = 0; rc == 0 && i < nd; i++) {
      if (days[i] == s->day) continue;
      int64_t t0 = days[i] + tod;
      t = NULL;
      if ((rc = city_store_load(st, t0, t0 + HISTORY_SLOT_S, &t, &nt, e)) == 0)
        rc = add_points(t, nt, t0, t0 + HISTORY_SLOT_S, 0, &in->start_pts, &in->n_start, e);
      free(t);
    }
    free(days);
    if (rc == 0 && in->n_start > 0) {
      in->start_source = "the pickups at that time of day on the store's other days";
      return 0;
    }
  }
  if (rc == 0 && city->area.n_polygons > 0) {
    /* no points: the engine draws cells of the service area */
    in->start_source = "uniform over the service area (no trips before the start, no other days)";
  } else if (rc == 0) {
    /* Nothing known and no area to spread over (a box reaches far past the
     * streets): the first 30 minutes' pickups, said as such. */
    snprintf(s->placement, sizeof s->placement, "demand");
    in->start_source = "the first 30 minutes' pickups (\"demand\": look-ahead; no trips before "
                       "the start, no other days, no service area)";
  }
  if (rc != 0) {
    free(in->start_pts);
    in->start_pts = NULL;
    in->n_start = 0;
  }
  return rc;
}

/* Loads the run's trips and fixes day and horizon; with placement
 * "history", also the fleet's start points (history_points). */
static int load_trips(sim_scenario *s, int city_given, city_def *city, run_input *in,
                      rs_err *e) {
  city_trip **trips = &in->trips;
  size_t *n = &in->n;
  int64_t *t_from = &in->from, *t_to = &in->to;
  int history = strcmp(s->placement, "history") == 0;
  int rc;
  if (s->trips[0] == '\0') {
    if ((rc = city_def_resolve(s->city, city, e)) != 0) return rc;
    city_synth_opts o = {s->seed, (size_t)s->synthetic_orders,
                         s->day >= 0 ? s->day : CITY_SYNTH_DEFAULT_DAY};
    if (s->day < 0) s->day = o.day;
    city_trip *all;
    size_t n_all;
    if ((rc = city_synth_generate(city, &o, &all, &n_all, e)) != 0) return rc;
    int64_t last = s->day + (int64_t)(s->days - 1) * RS_DAY_S; /* the last day */
    int64_t from = s->day + (s->from_s >= 0 ? s->from_s : 0);
    int64_t to = last + (s->to_s >= 0 ? s->to_s : RS_DAY_S);
    if (to <= from) {
      free(all);
      return rs_err_set(e, RS_EINVAL, "scenario: 'to' must be after 'from'");
    }
    if (s->days > 1) {
      /* the later days come day by day to each run (run_ctx_new) */
      in->synth_days = s->days;
      in->synth_seed = s->seed;
      in->synth_per_day = (size_t)s->synthetic_orders;
      in->synth_day = s->day;
      in->synth_t0 = from - s->warmup_s;
    }
    if (history && (rc = history_points(s, city, NULL, all, n_all, from - s->warmup_s, in, e)) != 0) {
      free(all);
      return rc;
    }
    size_t k = 0;
    for (size_t i = 0; i < n_all; i++)
      if (all[i].t_request >= from - s->warmup_s && all[i].t_request < to) all[k++] = all[i];
    /* keep only the horizon's: a sweep holds an input until its last run */
    city_trip *fit = realloc(all, (k ? k : 1) * sizeof *all);
    if (fit != NULL) all = fit;
    *trips = all;
    *n = k;
    *t_from = from;
    *t_to = to;
    s->from_s = from - s->day;
    s->to_s = to - last;
    return 0;
  }
  city_store *st;
  if ((rc = city_store_open(s->trips, CITY_STORE_READ, NULL, &st, e)) != 0) return rc;
  /* the city the trips were imported with (the one the store keeps, or
   * the built-in of its name), or the one given if its grid is the same */
  if (city_given) {
    if ((rc = city_def_resolve(s->city, city, e)) == 0) rc = city_store_check_city(st, city, e);
  } else if ((rc = city_store_city_def(st, city, e)) == 0) {
    snprintf(s->city, sizeof s->city, "%s", city->name);
  }
  if (rc) goto out;
  if (s->day < 0) {
    int64_t *days;
    size_t nd;
    if ((rc = city_store_days(st, &days, &nd, e)) != 0) goto out;
    if (nd == 0) {
      free(days);
      rc = rs_err_set(e, RS_EEMPTY, "%s: the trip store holds no trips", s->trips);
      goto out;
    }
    s->day = days[0];
    free(days);
  }
  int64_t last_day = s->day + (int64_t)(s->days - 1) * RS_DAY_S; /* the last day */
  int64_t from = s->day + (s->from_s >= 0 ? s->from_s : 0);
  int64_t to = last_day + (s->to_s >= 0 ? s->to_s : RS_DAY_S);
  if (to <= from) {
    rc = rs_err_set(e, RS_EINVAL, "scenario: 'to' must be after 'from'");
    goto out;
  }
  /* the horizon's first and last requests (index seeks): an empty horizon
   * is refused, an open end rounded to the hours of its trips */
  int64_t first = 0, last = 0;
  int found = 0;
  if ((rc = city_store_span(st, from, to, &first, &last, &found, e)) != 0) goto out;
  if (!found) {
    char day[32];
    rs_time_format_day(s->day, day, sizeof day);
    rc = rs_err_set(e, RS_EEMPTY, "%s: no trips on %s between %02d:%02d and %02d:%02d",
                    s->trips, day, (int)((from - s->day) / 3600), (int)((from - s->day) % 3600 / 60),
                    (int)((to - s->day) / 3600), (int)((to - s->day) % 3600 / 60));
    goto out;
  }
  if (s->from_s < 0) from = first / 3600 * 3600;
  if (s->to_s < 0 && s->days == 1) to = (last / 3600 + 1) * 3600;
  /* with the warm-up's orders: those requested in the warm-up before
   * `from`, which the engine replays but does not count (several days of a
   * store are loaded whole: the store is not read by time range as the run
   * goes) */
  if ((rc = city_store_load(st, from - (s->warmup_s > 0 ? s->warmup_s : 0), to, trips, n, e)) != 0)
    goto out;
  if (history && (rc = history_points(s, city, st, NULL, 0, from - s->warmup_s, in, e)) != 0) {
    free(*trips);
    *trips = NULL;
    *n = 0;
    goto out;
  }
  *t_from = from;
  *t_to = to;
  s->from_s = from - s->day;
  s->to_s = to - last_day;
out:
  city_store_close(st);
  return rc;
}


int run_input_load(sim_scenario *sc, int city_given, run_input *in, rs_err *e) {
  memset(in, 0, sizeof *in);
  int rc = load_trips(sc, city_given, &in->city, in, e);
  if (rc == 0 && sc->network[0] == '\0') city_travel_gc(&in->city, &in->travel);
  if (rc == 0 && sc->network[0] != '\0') {
    city_net_model_opts o;
    city_net_model_defaults(&o);
    o.have_factors = sc->network_have_factors;
    memcpy(o.factors, sc->network_factors, sizeof o.factors);
    rc = city_travel_net_open(&in->city, sc->network, &o, &in->travel, e);
    if (rc == 0) in->offnet = city_travel_net_offnet(&in->travel, in->trips, in->n);
    else run_input_free(in);
  }
  return rc;
}

void run_input_free(run_input *in) {
  if (in->travel.ops != NULL) city_travel_free(&in->travel);
  free(in->trips);
  in->trips = NULL;
  in->n = 0;
  free(in->start_pts);
  in->start_pts = NULL;
  in->n_start = 0;
}

void run_signals_hold(run_signals *h) {
  sigemptyset(&h->set);
  sigaddset(&h->set, SIGINT);
  sigaddset(&h->set, SIGTERM);
  sigprocmask(SIG_BLOCK, &h->set, &h->old);
}

int run_signals_release(run_signals *h) {
  int came = 0;
  sigset_t pending;
  if (sigpending(&pending) == 0 &&
      (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1)) {
    const struct timespec now = {0, 0};
    while (sigtimedwait(&h->set, NULL, &now) > 0) came = 1;
  }
  sigprocmask(SIG_SETMASK, &h->old, NULL);
  return came;
}

int run_check_policies(const sim_scenario *sc, rs_err *e) {
  const disp_registry_entry *ent;
  int rc = disp_registry_lookup(sc->dispatch, DISP_REG_DISPATCH, &ent, e);
  if (rc == 0) rc = disp_registry_lookup(sc->reposition, DISP_REG_REPOSITION, &ent, e);
  return rc;
}

const char *run_reads_file(const sim_scenario *sc) {
  const char *f = disp_registry_reads_file(disp_registry_find(sc->dispatch), &sc->policies);
  return f != NULL ? f : disp_registry_reads_file(disp_registry_find(sc->reposition),
                                                  &sc->policies);
}

int run_ctx_new(const sim_scenario *sc, const run_input *in, run_ctx **out, rs_err *e) {
  *out = NULL;
  run_ctx *r = calloc(1, sizeof *r);
  if (r == NULL) return rs_err_set(e, RS_ENOMEM, "run: out of memory");
  r->sc = *sc;
  int rc = 0;
  disp_options dopt = {sc->radius_m, sc->top_k, sc->driver_top_k};
  if ((rc = city_def_grid(&in->city, &r->grid, e)) != 0) goto fail;
  disp_build b = {&dopt, &r->sc.policies, &in->travel, &r->grid, scenario_cancel_p, &r->sc};
  if ((rc = disp_registry_build(sc->dispatch, sc->reposition, &b, &r->models, &r->dp, &r->rp,
                                e)) != 0)
    goto fail;
  city_trip *copy = malloc((in->n ? in->n : 1) * sizeof *copy);
  if (copy == NULL) {
    rc = rs_err_set(e, RS_ENOMEM, "run: out of memory for %zu trips", in->n);
    goto fail;
  }
  if (in->n) memcpy(copy, in->trips, in->n * sizeof *copy);
  sim_order_source src;
  if (in->synth_days > 1) {
    /* day 0 from the input, the later days drawn as the engine gets there */
    rc = sim_order_source_synth(&in->city, in->synth_seed, in->synth_per_day, in->synth_day,
                                in->synth_days, in->synth_t0, in->to, copy, in->n, &src, e);
    r->streamed = 1;
  } else {
    rc = sim_order_source_array(copy, in->n, 0, &src, e);
  }
  if (rc != 0 ||
      (rc = sim_engine_new_source(&r->sc, &in->travel, src, in->from, in->to, in->start_pts,
                                  in->n_start, &r->dp, &r->rp, &r->eng, e)) != 0)
    goto fail;
  disp_observer ob = disp_models_observer(&r->models);
  if (ob.observe != NULL) sim_engine_set_observer(r->eng, ob);
  *out = r;
  return 0;
fail:
  run_ctx_free(r);
  return rc;
}

void run_ctx_free(run_ctx *r) {
  if (r == NULL) return;
  sim_engine_free(r->eng);
  disp_policy_destroy(&r->dp);
  disp_repolicy_destroy(&r->rp);
  disp_models_free(&r->models);
  free(r);
}

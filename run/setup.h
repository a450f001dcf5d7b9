/*
 * setup: assembling runs from a scenario, shared by `run`, `compare` and
 * `evaluate` (through run/lifecycle.h and run/compare.h).
 *
 * A run_input is what every run of a scenario shares: the city and the trips
 * of the day and horizon (loaded once from a trip store, or generated for the
 * synthetic city). A run_ctx is one run: its own copy of the trips, its
 * policies (and value model), and its engine. Building a run_ctx does not
 * touch libuv or any file, so runs can be built and stepped on worker
 * threads; each is fully independent of the others.
 *
 * Policy names meet their constructors in the registry
 * (dispatch/registry.h): a run's policies, their models and the model's
 * observer are built from the scenario's names and "policies" options by
 * disp_registry_build. sim/ knows no particular policy.
 */
#ifndef RUN_SETUP_H
#define RUN_SETUP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "city_data/city.h"
#include "city_data/travel.h"
#include "city_data/tripstore.h"
#include "dispatch/policy.h"
#include "dispatch/registry.h"
#include "sim/engine.h"
#include "base/rs_error.h"
#include "sim/scenario.h"

typedef struct {
  city_def city;      /* the scenario's city, resolved */
  city_travel travel; /* the city's travel model (its city is `city`: a
                         run_input is not moved once loaded) */
  city_trip *trips;   /* sorted by (t_request, id); owned */
  size_t n;           /* trips in the horizon */
  int64_t from, to;   /* horizon, absolute local time */
  int64_t offnet;     /* trip ends off the road network (0 without one) */
  city_loc *start_pts; /* placement "history": where the fleet may start,
                          known before the start (sim/fleet.c); owned */
  size_t n_start;
  const char *start_source; /* what they are (static text), NULL when the
                               placement is another */
  /* A synthetic horizon of several days: `trips` holds its first day only,
   * and each run draws the later ones as its engine reaches them
   * (sim_order_source_synth), so memory holds a day of them, not the
   * horizon's. */
  int synth_days;     /* days of the horizon (0: trips holds it all) */
  uint64_t synth_seed; /* the scenario's seed (day 0's) */
  size_t synth_per_day; /* orders a day */
  int64_t synth_day;  /* midnight of the first day */
  int64_t synth_t0;   /* the first order kept: the warm-up's start */
} run_input;

/* Loads the scenario's trips and its travel model (the road network of
 * sc->network, else the great-circle model). Fixes sc->day (first day of the store when
 * unset) and sc->from_s / sc->to_s (the day's trip span rounded out to
 * hours when unset, the whole day for the synthetic city). city_given: the
 * user named the city (else the store's is used). Errors: a missing or
 * foreign store, a store of another city, no trips in the horizon. */
int run_input_load(sim_scenario *sc, int city_given, run_input *in, rs_err *e);
void run_input_free(run_input *in);

typedef struct {
  sim_scenario sc;      /* this run's scenario (its seed, its policies) */
  city_grid grid;       /* the city's hex grid (the engine's too) */
  disp_policy dp;       /* dispatch policy, owned; the engine borrows it */
  disp_repolicy rp;     /* repositioning policy, owned; the engine borrows it */
  disp_models models;   /* the policies' models (v1d3's value model),
                           owned; the policies borrow them */
  sim_engine *eng;      /* owned */
  int streamed;         /* its orders come a day at a time (in->synth_days):
                           the caller should give the engine an order sink,
                           so that ended orders leave (engine.h) */
} run_ctx;

/* SIGINT and SIGTERM held while a finished run's results are written. The
 * run loop takes them while it runs (uv_signal) and hands them back to
 * their default action when it ends; a signal after that would cut the
 * results write short and leave the run 'running'. Hold them from the
 * loop's end to the write's end; release takes any that came and returns
 * 1 then (a command exits 130), else 0. */
typedef struct {
  sigset_t set;         /* SIGINT and SIGTERM */
  sigset_t old;         /* the mask before the hold, restored by release */
} run_signals;
void run_signals_hold(run_signals *h);
int run_signals_release(run_signals *h);

/* Checks the policy names of a scenario without building anything. */
int run_check_policies(const sim_scenario *sc, rs_err *e);
/* The file (a value table) building the scenario's policies reads, NULL
 * when none. */
const char *run_reads_file(const sim_scenario *sc);

/* Builds one run on a copy of in's trips. The input must outlive it. */
int run_ctx_new(const sim_scenario *sc, const run_input *in, run_ctx **out, rs_err *e);
void run_ctx_free(run_ctx *r);

#endif

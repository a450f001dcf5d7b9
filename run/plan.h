/*
 * plan: a sweep's plan, read from JSON: the axes of a study (days, seeds,
 * dispatch and repositioning policies, fleet sizes, trip stores, named
 * scenario variants) over a base scenario, and the baseline the statistics
 * compare with. Its runs are the cross product of the axes, or an explicit
 * list of scenario overrides. docs/sweeps.md is the user's guide.
 *
 *   {"scenario": {...} or "base.json",
 *    "axes": {"trips": [...], "days": ["2016-02-01", ...], "variants":
 *             {"NAME": {overrides}, ...}, "drivers": [...], "dispatch": [...],
 *             "reposition": [...], "seeds": [1, 2] or "1-5"},
 *    "runs": [{overrides}, ...],           (instead of "axes")
 *    "baseline": "DISPATCH[/REPOSITION]"}
 *
 * Order. The cross product runs in this nesting, outermost first: trips,
 * days, variants, drivers, dispatch, reposition, seeds (a comparison's
 * order within each cell). The order gives the run ids of a local sweep and
 * the share of each shard; nothing else depends on it.
 *
 * Keys. A run's key is a 64-bit FNV-1a hash of its scenario as JSON
 * (sim_scenario_to_json, with the output path left out), in 16 hex
 * digits: the same scenario has the same key whatever the plan's order or
 * shape, so a DB's completed runs are recognised by any plan that holds
 * them (resume, merge). The plan's id hashes its runs' sorted keys: two
 * plans with the same runs have the same id. A key names a scenario as
 * this ridesim prints it; a version that adds an option changes the keys.
 *
 * Statistics. Runs fall in groups: those whose scenarios differ only in
 * their policies, seed and day (everything else equal: fleet, variant,
 * trips). Within a group each (dispatch, reposition) is compared over its
 * (seed, day) pairs, differences paired with the baseline's same pair.
 *
 * Shards. Run i (in plan order) belongs to shard i mod N: shards of K in
 * 0..N-1 share out the plan with no run twice.
 */
#ifndef RUN_PLAN_H
#define RUN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "sim/scenario.h"

#define RUN_PLAN_KEY 17          /* 16 hex digits and the NUL */
#define RUN_PLAN_LABEL 256       /* a group's or a run's label */
#define RUN_PLAN_MAX_RUNS 1000000

/* One run of the plan. */
typedef struct {
  sim_scenario sc;               /* its whole scenario (out: the plan's default) */
  char key[RUN_PLAN_KEY];        /* its stable id */
  int index;                     /* its place in the plan */
  int group;                     /* index into the plan's groups */
  char pair[64];                 /* "seed 3, 2016-02-01": the statistics' pairing */
  char label[RUN_PLAN_LABEL];    /* "fcfs-nearest/stay seed 3 2016-02-01 drivers=500" */
} run_plan_run;

typedef struct {
  run_plan_run *runs;            /* owned */
  int n_runs;
  char (*groups)[RUN_PLAN_LABEL];/* each group's label ("" when only one); owned */
  char (*group_keys)[RUN_PLAN_KEY]; /* each group's key: its scenarios' key with the
                                     policies, seed and day left out; owned */
  int n_groups;
  char id[RUN_PLAN_KEY];         /* the plan's id */
  char base_dispatch[SIM_NAME_MAX];   /* the baseline combination */
  char base_reposition[SIM_NAME_MAX];
  int city_given;                /* the base scenario names its city */
} run_plan;

/* Reads a plan from a JSON text (origin names it in messages) or a file.
 * Unknown keys, empty axes, a baseline that is none of the runs' policies,
 * two runs of the same scenario: RS_EFORMAT / RS_EINVAL naming the key. p
 * is left empty on failure. */
int run_plan_parse(run_plan *p, const char *json, const char *origin, rs_err *e);
int run_plan_load(run_plan *p, const char *path, rs_err *e);
void run_plan_free(run_plan *p);

/* The key of a scenario (its JSON without the output path). */
void run_plan_key(const sim_scenario *sc, char key[RUN_PLAN_KEY]);

/* Whether run i belongs to shard k of n (n >= 1, 0 <= k < n). */
static inline int run_plan_in_shard(int i, int k, int n) { return i % n == k; }

#endif

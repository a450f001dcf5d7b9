/*
 * against: a value table held against a stored run (ridesim value info
 * --against RESULTS.db). The run's completed orders come from the results
 * DB (sim/results.h), each one's dropoff cell from the trip store its
 * scenario names (city_data/tripstore.h), and value/realised.h compares,
 * hour by hour, what drivers idle at those dropoffs went on to earn with
 * what the table says of the state. This file gathers; the comparison is
 * value/realised.c's and the printing tools/cmd_value.c's.
 */
#ifndef RUN_AGAINST_H
#define RUN_AGAINST_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_error.h"
#include "city_data/city.h"
#include "sim/scenario.h"
#include "value/realised.h"
#include "value/vtable.h"

typedef struct {
  int64_t run;                   /* the run compared */
  size_t n_trips;                /* its completed trips */
  char trips[SIM_PATH_MAX];      /* the trip store it replayed */
  val_realised_hour hour[24];    /* by local hour (value/realised.h) */
} run_against;

/* Compares table t with run `run_id` of the results DB `results` (0: the
 * last finished run), on `city` (the table's). Returns 0, or RS_EINVAL when
 * the DB has no such finished run or the run replayed the synthetic city
 * (its dropoffs are not stored), or the error of reading the DB or the
 * trip store, with a one-line message naming the file in e. */
int run_value_against(const val_table *t, const city_def *city, const char *results,
                      int64_t run_id, run_against *out, rs_err *e);

#endif

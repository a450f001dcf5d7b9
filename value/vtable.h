/*
 * vtable: the spatiotemporal value table V[day type][slot][cell] of V1D3
 * (Tang et al., KDD 2021) in the tabular form of Xu et al. (KDD 2018).
 *
 * A cell is a dense index of the city's hexagonal grid; a slot is a bucket
 * of the time of day (default 10 minutes, 144 slots); day types are one
 * (every day alike) or two (weekday, weekend). Values are the expected
 * discounted income of a driver who is idle in that cell at that time, in
 * the data's money unit, with discount gamma per `gamma_period_s` seconds
 * (default 0.9 per 10 minutes).
 *
 * Unseen states. Every (day type, slot, cell) counts its updates. A value
 * read from a state never updated falls back to the mean of the updated
 * neighbouring cells (ring 1) in the same slot, else to the mean of every
 * updated cell of that slot, else 0 (nothing at all is known of that time of
 * day): never a silent zero where the table knows better.
 *
 * Costs: get O(1) for seen states, O(6) for the fallback; an update O(1).
 * The table owns its arrays; no allocation after val_table_new.
 */
#ifndef VAL_VTABLE_H
#define VAL_VTABLE_H

#include <stdint.h>

#include "city_data/hexgrid.h"
#include "base/rs_error.h"

#define VAL_SLOT_DEFAULT_S 600      /* 10-minute slots (Xu et al.; V1D3) */
#define VAL_GAMMA_DEFAULT 0.9       /* per gamma period (KDD Cup winners) */
#define VAL_GAMMA_PERIOD_DEFAULT_S 600
#define VAL_LR_DEFAULT 0.025        /* online TD step (KDD Cup winners) */

typedef struct {
  int32_t slot_s;         /* slot length, divides 86400 */
  int32_t day_types;      /* 1: all days alike; 2: weekday / weekend */
  double gamma;           /* discount per gamma_period_s */
  int32_t gamma_period_s;
} val_config;

typedef struct val_table val_table;

void val_config_defaults(val_config *c);

/* A zero table over a grid (borrowed: it must outlive the table). RS_EINVAL
 * for a slot that does not divide the day or bad gamma; RS_ENOMEM. */
int val_table_new(const city_grid *g, const val_config *c, val_table **out,
                  rs_err *e);
void val_table_free(val_table *t);
/* A deep copy (same grid). NULL on no memory. */
val_table *val_table_clone(const val_table *t);

const val_config *val_table_config(const val_table *t);
const city_grid *val_table_grid(const val_table *t);
int32_t val_table_n_slots(const val_table *t);     /* per day type */
int32_t val_table_n_cells(const val_table *t);

/* The state index of (cell, local time): day type and slot from t. */
int32_t val_table_slot(const val_table *t, int64_t t_local);
int32_t val_table_daytype(const val_table *t, int64_t t_local);

/* V at (cell, t), with the fallback for unseen states; 0 for cell < 0. */
double val_table_get(const val_table *t, int32_t cell, int64_t t_local);
/* Raw access by (day type, slot, cell): value and update count. */
double val_table_raw(const val_table *t, int32_t dtype, int32_t slot, int32_t cell);
uint32_t val_table_count(const val_table *t, int32_t dtype, int32_t slot, int32_t cell);
void val_table_set(val_table *t, int32_t dtype, int32_t slot, int32_t cell, double v,
                   uint32_t count);

/* gamma^(dt / gamma_period): the discount over dt seconds (idle steps). */
double val_discount(const val_config *c, double dt_s);
/* The discount over a trip of dt seconds: a trip lasts at least one gamma
 * period, as its spread reward counts at least one step. Without that floor
 * a near-instant trip back into its own state (same cell, same slot: the
 * data has zero-length trips) would make V = R + ~1 V, which has no finite
 * solution. */
double val_trip_discount(const val_config *c, double dt_s);
/* The fare spread over a trip of dt seconds (Xu et al., V1D3):
 * R_gamma = sum_{k<T} gamma^k R / T, T = max(1, round(dt / gamma_period)). */
double val_spread_reward(const val_config *c, double reward, double dt_s);

/* One TD(0) step for a trip (cell0, t0) -> (cell1, t1) earning reward:
 * V0 += lr (R_gamma + val_trip_discount(dt) V1 - V0), V1 read with the
 * fallback. cell1 < 0 means the episode ends (V1 = 0). An unseen start
 * state starts from its fallback value. Returns the TD error. */
double val_table_td(val_table *t, int32_t cell0, int64_t t0, int32_t cell1,
                    int64_t t1, double reward, double lr);

/* One step of V(cell, t) towards a target computed by the caller:
 * V += lr (target - V), the unseen state's fallback as its start. Returns
 * the error target - V. */
double val_table_update(val_table *t, int32_t cell, int64_t t_local, double target,
                        double lr);

/* online <- w online + (1 - w) offline, state by state; counts become the
 * larger of the two. RS_EINVAL when the tables' shapes differ. */
int val_table_blend(val_table *online, const val_table *offline, double w,
                    rs_err *e);

/* Recomputes the per-slot sums behind the global fallback from scratch.
 * Writes keep them up to date incrementally, which drifts by rounding; bulk
 * producers (training, loading, blending) call this so that a table reads
 * the same whether it was just trained or loaded from a file. */
void val_table_resum(val_table *t);

/* Sum, max |v| and number of seen states: for summaries and tests. */
void val_table_stats(const val_table *t, double *mean_seen, double *max_abs,
                     int64_t *n_seen);

#endif

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
 * Discounting is in continuous time: a step of dt seconds, idle or on a
 * trip, is discounted by gamma^(dt / gamma_period_s), whatever its length (a
 * 3-minute trip by 0.9^0.3, not by a whole period), and a fare is earned
 * evenly over its ride (val_trip_reward).
 *
 * The time-free layer. Beside V the table holds U[day type][cell]: the value
 * of a cell whatever the time of day, learnt from the same transitions as
 * if time did not matter (the stationary values of the KDD Cup 2020
 * winners). It is the prior of the time table: a state of V never updated
 * reads U(cell), so a learner bootstrapping from a later slot it has not
 * reached yet reads a driver's long-run income there, not 0, and a trip that
 * ends past the data's last slot keeps its future.
 *
 * Unseen states. Every (day type, slot, cell) counts its updates, and so
 * does every cell of the layer. A state of V never updated reads the layer
 * when the layer has learnt anything for its day type; U of a cell never
 * updated reads the mean of its updated neighbouring cells (ring 1), else
 * the mean of every updated cell. A table whose layer is empty (a file of
 * schema 1, or training with the episode cut at the data's end) keeps the
 * older chain for V: the mean of the updated neighbours in the same slot,
 * else the mean of every updated cell of that slot, else 0.
 *
 * Costs: get O(1) for seen states, O(6) for a fallback; an update O(1).
 * The table owns its arrays, the layer's included; no allocation after
 * val_table_new.
 */
#ifndef VAL_VTABLE_H
#define VAL_VTABLE_H

#include <stdint.h>

#include "city_data/hexgrid.h"
#include "base/rs_error.h"

#define VAL_SLOT_DEFAULT_S 600      /* 10-minute slots (Xu et al.; V1D3) */
#define VAL_GAMMA_DEFAULT 0.9       /* per gamma period (KDD Cup winners) */
#define VAL_GAMMA_PERIOD_DEFAULT_S 600
#define VAL_LR_DEFAULT 0.25         /* online TD step: a state sees 24-40 trips a morning, and
                                       at 0.025 (the KDD Cup winners') moved half-way in a day
                                       (docs/v1d3.md, "The online learning rate") */

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

/* gamma^(dt / gamma_period): the discount over dt seconds, trips and idle
 * steps alike (continuous time). */
double val_discount(const val_config *c, double dt_s);
/* A fare earned evenly over a ride of ride_s seconds that starts wait_s
 * seconds from now (the pickup drive earns nothing), discounted to now in
 * continuous time:
 *   R_gamma = gamma^(wait / P) R (1 - gamma^(ride / P)) / ((ride / P) ln(1 / gamma)),
 * the mean of R gamma^(t / P) over the ride (Xu et al. and V1D3 spread the
 * fare over whole periods; this is their limit as the period shrinks). R
 * itself for gamma 1 or a ride of 0 s. */
double val_trip_reward(const val_config *c, double reward, double wait_s, double ride_s);
/* val_trip_reward with no wait: the fare spread over dt seconds from now. */
double val_spread_reward(const val_config *c, double reward, double dt_s);

/* One TD(0) step for a trip (cell0, t0) -> (cell1, t1) earning reward over
 * the whole of it: V0 += lr (val_spread_reward(dt) + gamma^(dt / P) V1 -
 * V0), V1 read with the fallback. cell1 < 0 means the episode ends (V1 =
 * 0). An unseen start state starts from its fallback value. Returns the TD
 * error. */
double val_table_td(val_table *t, int32_t cell0, int64_t t0, int32_t cell1,
                    int64_t t1, double reward, double lr);
/* The same with the reward already discounted to t0 (r_gamma, e.g.
 * val_trip_reward of a fare after a pickup drive). */
double val_table_td_r(val_table *t, int32_t cell0, int64_t t0, int32_t cell1,
                      int64_t t1, double r_gamma, double lr);

/* One step of V(cell, t) towards a target computed by the caller:
 * V += lr (target - V), the unseen state's fallback as its start. Returns
 * the error target - V. */
double val_table_update(val_table *t, int32_t cell, int64_t t_local, double target,
                        double lr);

/* online <- w online + (1 - w) offline, state by state (the time-free
 * layers too); counts become the larger of the two. RS_EINVAL when the
 * tables' shapes differ. */
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

/* The ablation of space: every state of a (day type, slot) with any seen
 * state becomes the mean of that slot's seen states (its unseen states are
 * counted seen once, so that they read the slot's mean and not the prior),
 * and every seen cell of the time-free layer the mean of the layer's seen
 * cells of its day type. What the table says about time is kept; what it
 * says about places is gone: every cell reads the same value at any time. */
void val_table_flatten(val_table *t);

/* ------------------------------------------------ the time-free layer U */

/* U at (cell, day type of t), with the layer's fallback; 0 for cell < 0 or
 * an empty layer. */
double val_table_free_get(const val_table *t, int32_t cell, int64_t t_local);
double val_table_free_raw(const val_table *t, int32_t dtype, int32_t cell);
uint32_t val_table_free_count(const val_table *t, int32_t dtype, int32_t cell);
void val_table_free_set(val_table *t, int32_t dtype, int32_t cell, double v, uint32_t count);
/* Updated cells of the layer for a day type (0: the layer is empty there and
 * V keeps the older fallback chain). */
int32_t val_table_free_seen(const val_table *t, int32_t dtype);
/* The mean of the layer's updated cells of a day type (0 when none). */
double val_table_free_mean(const val_table *t, int32_t dtype);
/* One step of U(cell) towards target: U += lr (target - U), the cell's
 * fallback as its start. Returns the error. */
double val_table_free_update(val_table *t, int32_t cell, int64_t t_local, double target,
                             double lr);
/* A TD(0) step of U for a transition (cell0, t0) -> (cell1, t1) with the
 * reward discounted to t0: target r_gamma + gamma^(dt / P) U(cell1). */
double val_table_free_td_r(val_table *t, int32_t cell0, int64_t t0, int32_t cell1,
                           int64_t t1, double r_gamma, double lr);

#endif

/*
 * vtable: the value table; see vtable.h.
 *
 * Layout: v[((dtype * n_slots) + slot) * n_cells + cell] with a parallel
 * count array, plus per (day type, slot) the sum of seen values and the
 * number of seen cells, kept up to date by every write so that the global
 * fallback is O(1). The time-free layer is the same shape with one slot:
 * fv[dtype * n_cells + cell], fn its counts, free_sum / free_seen per day
 * type.
 *
 * Numerics of the spread reward: (1 - gamma^x) / (x ln(1 / gamma)) is
 * computed as expm1(y) / y with y = x ln(gamma) <= 0, which keeps full
 * precision for short rides where 1 - gamma^x would cancel; |y| below 1e-8
 * takes the series 1 + y / 2 (its error is below y^2 / 6, under 1e-16).
 */
#include "value/vtable.h"

#include "base/rs_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct val_table {
  const city_grid *grid;
  val_config cfg;
  int32_t n_slots;     /* slots per day */
  int32_t n_cells;
  double *v;           /* values */
  uint32_t *n;         /* updates per state */
  double *slot_sum;    /* per (dtype, slot): sum of seen values */
  int32_t *slot_seen;  /* per (dtype, slot): seen cells */
  double *fv;          /* time-free layer U[dtype][cell] */
  uint32_t *fn;        /* its updates per cell */
  double *free_sum;    /* per dtype: sum of the layer's seen values */
  int32_t *free_seen;  /* per dtype: the layer's seen cells */
};

void val_config_defaults(val_config *c) {
  c->slot_s = VAL_SLOT_DEFAULT_S;
  c->day_types = 1;
  c->gamma = VAL_GAMMA_DEFAULT;
  c->gamma_period_s = VAL_GAMMA_PERIOD_DEFAULT_S;
}

int val_table_new(const city_grid *g, const val_config *c, val_table **out, rs_err *e) {
  *out = NULL;
  if (c->slot_s <= 0 || RS_DAY_S % c->slot_s != 0)
    return rs_err_set(e, RS_EINVAL, "value table: slot of %d s does not divide the day",
                      c->slot_s);
  if (c->day_types != 1 && c->day_types != 2)
    return rs_err_set(e, RS_EINVAL, "value table: day types must be 1 or 2, not %d",
                      c->day_types);
  if (!(c->gamma > 0 && c->gamma <= 1) || c->gamma_period_s <= 0)
    return rs_err_set(e, RS_EINVAL, "value table: gamma must be in (0, 1] per positive period");
  val_table *t = calloc(1, sizeof *t);
  if (t == NULL) return rs_err_set(e, RS_ENOMEM, "value table: out of memory");
  t->grid = g;
  t->cfg = *c;
  t->n_slots = RS_DAY_S / c->slot_s;
  t->n_cells = g->n_cells;
  size_t states = (size_t)c->day_types * (size_t)t->n_slots * (size_t)t->n_cells;
  size_t slots = (size_t)c->day_types * (size_t)t->n_slots;
  t->v = calloc(states, sizeof *t->v);
  t->n = calloc(states, sizeof *t->n);
  t->slot_sum = calloc(slots, sizeof *t->slot_sum);
  t->slot_seen = calloc(slots, sizeof *t->slot_seen);
  size_t fstates = (size_t)c->day_types * (size_t)t->n_cells;
  t->fv = calloc(fstates, sizeof *t->fv);
  t->fn = calloc(fstates, sizeof *t->fn);
  t->free_sum = calloc((size_t)c->day_types, sizeof *t->free_sum);
  t->free_seen = calloc((size_t)c->day_types, sizeof *t->free_seen);
  if (!t->v || !t->n || !t->slot_sum || !t->slot_seen || !t->fv || !t->fn || !t->free_sum ||
      !t->free_seen) {
    val_table_free(t);
    return rs_err_set(e, RS_ENOMEM, "value table: out of memory for %zu states", states);
  }
  *out = t;
  return 0;
}

void val_table_free(val_table *t) {
  if (t == NULL) return;
  free(t->v);
  free(t->n);
  free(t->slot_sum);
  free(t->slot_seen);
  free(t->fv);
  free(t->fn);
  free(t->free_sum);
  free(t->free_seen);
  free(t);
}

val_table *val_table_clone(const val_table *t) {
  val_table *c;
  if (val_table_new(t->grid, &t->cfg, &c, NULL) != 0) return NULL;
  size_t states = (size_t)t->cfg.day_types * (size_t)t->n_slots * (size_t)t->n_cells;
  size_t slots = (size_t)t->cfg.day_types * (size_t)t->n_slots;
  memcpy(c->v, t->v, states * sizeof *c->v);
  memcpy(c->n, t->n, states * sizeof *c->n);
  memcpy(c->slot_sum, t->slot_sum, slots * sizeof *c->slot_sum);
  memcpy(c->slot_seen, t->slot_seen, slots * sizeof *c->slot_seen);
  size_t fstates = (size_t)t->cfg.day_types * (size_t)t->n_cells;
  memcpy(c->fv, t->fv, fstates * sizeof *c->fv);
  memcpy(c->fn, t->fn, fstates * sizeof *c->fn);
  memcpy(c->free_sum, t->free_sum, (size_t)t->cfg.day_types * sizeof *c->free_sum);
  memcpy(c->free_seen, t->free_seen, (size_t)t->cfg.day_types * sizeof *c->free_seen);
  return c;
}

const val_config *val_table_config(const val_table *t) { return &t->cfg; }
const city_grid *val_table_grid(const val_table *t) { return t->grid; }
int32_t val_table_n_slots(const val_table *t) { return t->n_slots; }
int32_t val_table_n_cells(const val_table *t) { return t->n_cells; }

int32_t val_table_slot(const val_table *t, int64_t tl) {
  return rs_time_tod(tl) / t->cfg.slot_s;
}

int32_t val_table_daytype(const val_table *t, int64_t tl) {
  if (t->cfg.day_types == 1) return 0;
  return rs_time_weekend(tl);
}

static inline size_t at(const val_table *t, int32_t dtype, int32_t slot, int32_t cell) {
  return ((size_t)dtype * (size_t)t->n_slots + (size_t)slot) * (size_t)t->n_cells + (size_t)cell;
}

double val_table_raw(const val_table *t, int32_t dtype, int32_t slot, int32_t cell) {
  return t->v[at(t, dtype, slot, cell)];
}

uint32_t val_table_count(const val_table *t, int32_t dtype, int32_t slot, int32_t cell) {
  return t->n[at(t, dtype, slot, cell)];
}

/* Stores value v seen count times at vals[i] / counts[i], keeping the sum
 * and the number of seen entries of its group (a slot, or the time-free
 * layer of a day type) right. */
static void put(double *vals, uint32_t *counts, size_t i, double v, uint32_t count, double *sum,
                int32_t *seen) {
  if (counts[i] > 0) {
    *sum -= vals[i];
    (*seen)--;
  }
  vals[i] = v;
  counts[i] = count;
  if (count > 0) {
    *sum += v;
    (*seen)++;
  }
}

/* Writes a value, keeping the per-slot sums of seen values right. */
static void write(val_table *t, int32_t dtype, int32_t slot, int32_t cell, double v,
                  uint32_t count) {
  size_t s = (size_t)dtype * (size_t)t->n_slots + (size_t)slot;
  put(t->v, t->n, at(t, dtype, slot, cell), v, count, &t->slot_sum[s], &t->slot_seen[s]);
}

void val_table_set(val_table *t, int32_t dtype, int32_t slot, int32_t cell, double v,
                   uint32_t count) {
  write(t, dtype, slot, cell, v, count);
}

/* Axial directions of the six neighbours. */
static const int32_t DQ[6] = {1, 1, 0, -1, -1, 0};
static const int32_t DR[6] = {0, -1, -1, 0, 1, 1};

static double free_state(const val_table *t, int32_t dtype, int32_t cell);

static double get_state(const val_table *t, int32_t dtype, int32_t slot, int32_t cell) {
  size_t i = at(t, dtype, slot, cell);
  if (t->n[i] > 0) return t->v[i];
  if (t->free_seen[dtype] > 0) return free_state(t, dtype, cell);
  city_hex h = city_grid_hex(t->grid, cell);
  double sum = 0;
  int n = 0;
  for (int k = 0; k < 6; k++) {
    city_hex nb = {h.q + DQ[k], h.r + DR[k]};
    int32_t c = city_grid_index(t->grid, nb);
    if (c < 0) continue;
    size_t j = at(t, dtype, slot, c);
    if (t->n[j] > 0) {
      sum += t->v[j];
      n++;
    }
  }
  if (n > 0) return sum / n;
  size_t s = (size_t)dtype * (size_t)t->n_slots + (size_t)slot;
  return t->slot_seen[s] > 0 ? t->slot_sum[s] / t->slot_seen[s] : 0.0;
}

double val_table_get(const val_table *t, int32_t cell, int64_t tl) {
  if (cell < 0 || cell >= t->n_cells) return 0.0;
  return get_state(t, val_table_daytype(t, tl), val_table_slot(t, tl), cell);
}

double val_discount(const val_config *c, double dt_s) {
  return pow(c->gamma, dt_s / c->gamma_period_s);
}

double val_trip_reward(const val_config *c, double reward, double wait_s, double ride_s) {
  double w = wait_s > 0 ? val_discount(c, wait_s) : 1.0;
  if (c->gamma == 1.0 || !(ride_s > 0)) return w * reward;
  double y = ride_s / c->gamma_period_s * log(c->gamma); /* < 0 */
  double mean = fabs(y) < 1e-8 ? 1.0 + 0.5 * y : expm1(y) / y;
  return w * reward * mean;
}

double val_spread_reward(const val_config *c, double reward, double dt_s) {
  return val_trip_reward(c, reward, 0.0, dt_s);
}

double val_table_td_r(val_table *t, int32_t cell0, int64_t t0, int32_t cell1, int64_t t1,
                      double r_gamma, double lr) {
  if (cell0 < 0 || cell0 >= t->n_cells) return 0.0;
  double target = r_gamma + val_discount(&t->cfg, (double)(t1 - t0)) * val_table_get(t, cell1, t1);
  return val_table_update(t, cell0, t0, target, lr);
}

double val_table_td(val_table *t, int32_t cell0, int64_t t0, int32_t cell1, int64_t t1,
                    double reward, double lr) {
  return val_table_td_r(t, cell0, t0, cell1, t1,
                        val_spread_reward(&t->cfg, reward, (double)(t1 - t0)), lr);
}

double val_table_update(val_table *t, int32_t cell0, int64_t t0, double target, double lr) {
  if (cell0 < 0 || cell0 >= t->n_cells) return 0.0;
  int32_t d0 = val_table_daytype(t, t0), s0 = val_table_slot(t, t0);
  size_t i = at(t, d0, s0, cell0);
  double v0 = t->n[i] > 0 ? t->v[i] : get_state(t, d0, s0, cell0);
  double delta = target - v0;
  uint32_t n = t->n[i] < UINT32_MAX ? t->n[i] + 1 : t->n[i];
  write(t, d0, s0, cell0, v0 + lr * delta, n);
  return delta;
}

int val_table_blend(val_table *on, const val_table *off, double w, rs_err *e) {
  if (on->n_cells != off->n_cells || on->n_slots != off->n_slots ||
      on->cfg.day_types != off->cfg.day_types)
    return rs_err_set(e, RS_EINVAL, "value tables differ in shape (%d x %d x %d vs %d x %d x %d)",
                      on->cfg.day_types, on->n_slots, on->n_cells, off->cfg.day_types,
                      off->n_slots, off->n_cells);
  for (int32_t d = 0; d < on->cfg.day_types; d++)
    for (int32_t s = 0; s < on->n_slots; s++)
      for (int32_t c = 0; c < on->n_cells; c++) {
        size_t i = at(on, d, s, c);
        if (on->n[i] == 0 && off->n[i] == 0) continue;
        /* An unseen side contributes its fallback value, not a zero. */
        double a = on->n[i] > 0 ? on->v[i] : get_state(on, d, s, c);
        double b = off->n[i] > 0 ? off->v[i] : get_state(off, d, s, c);
        uint32_t n = on->n[i] > off->n[i] ? on->n[i] : off->n[i];
        write(on, d, s, c, w * a + (1.0 - w) * b, n);
      }
  for (int32_t d = 0; d < on->cfg.day_types; d++)
    for (int32_t c = 0; c < on->n_cells; c++) {
      size_t i = (size_t)d * (size_t)on->n_cells + (size_t)c;
      if (on->fn[i] == 0 && off->fn[i] == 0) continue;
      double a = on->fn[i] > 0 ? on->fv[i] : free_state(on, d, c);
      double b = off->fn[i] > 0 ? off->fv[i] : free_state(off, d, c);
      on->fv[i] = w * a + (1.0 - w) * b;
      on->fn[i] = on->fn[i] > off->fn[i] ? on->fn[i] : off->fn[i];
    }
  val_table_resum(on);
  return 0;
}

void val_table_resum(val_table *t) {
  size_t slots = (size_t)t->cfg.day_types * (size_t)t->n_slots;
  for (size_t s = 0; s < slots; s++) {
    double sum = 0;
    int32_t seen = 0;
    for (int32_t c = 0; c < t->n_cells; c++) {
      size_t i = s * (size_t)t->n_cells + (size_t)c;
      if (t->n[i] > 0) {
        sum += t->v[i];
        seen++;
      }
    }
    t->slot_sum[s] = sum;
    t->slot_seen[s] = seen;
  }
  for (int32_t d = 0; d < t->cfg.day_types; d++) {
    double sum = 0;
    int32_t seen = 0;
    for (int32_t c = 0; c < t->n_cells; c++) {
      size_t i = (size_t)d * (size_t)t->n_cells + (size_t)c;
      if (t->fn[i] > 0) {
        sum += t->fv[i];
        seen++;
      }
    }
    t->free_sum[d] = sum;
    t->free_seen[d] = seen;
  }
}

void val_table_stats(const val_table *t, double *mean_seen, double *max_abs, int64_t *n_seen) {
  size_t states = (size_t)t->cfg.day_types * (size_t)t->n_slots * (size_t)t->n_cells;
  double sum = 0, mx = 0;
  int64_t n = 0;
  for (size_t i = 0; i < states; i++) {
    if (t->n[i] == 0) continue;
    sum += t->v[i];
    if (fabs(t->v[i]) > mx) mx = fabs(t->v[i]);
    n++;
  }
  if (mean_seen) *mean_seen = n ? sum / (double)n : 0;
  if (max_abs) *max_abs = mx;
  if (n_seen) *n_seen = n;
}

void val_table_flatten(val_table *t) {
  val_table_resum(t);
  size_t slots = (size_t)t->cfg.day_types * (size_t)t->n_slots;
  for (size_t s = 0; s < slots; s++) {
    if (t->slot_seen[s] == 0) continue;
    double mean = t->slot_sum[s] / t->slot_seen[s];
    /* unseen states too: left unseen they would read the layer, not the
     * slot, and which cells were seen would still tell places apart */
    for (int32_t c = 0; c < t->n_cells; c++) {
      size_t i = s * (size_t)t->n_cells + (size_t)c;
      t->v[i] = mean;
      if (t->n[i] == 0) t->n[i] = 1;
    }
  }
  for (int32_t d = 0; d < t->cfg.day_types; d++) {
    if (t->free_seen[d] == 0) continue;
    double mean = t->free_sum[d] / t->free_seen[d];
    for (int32_t c = 0; c < t->n_cells; c++) {
      size_t i = (size_t)d * (size_t)t->n_cells + (size_t)c;
      if (t->fn[i] > 0) t->fv[i] = mean;
    }
  }
  val_table_resum(t);
}

/* --------------------------------------------------------- time-free layer */

static double free_state(const val_table *t, int32_t dtype, int32_t cell) {
  size_t base = (size_t)dtype * (size_t)t->n_cells;
  if (t->fn[base + (size_t)cell] > 0) return t->fv[base + (size_t)cell];
  city_hex h = city_grid_hex(t->grid, cell);
  double sum = 0;
  int n = 0;
  for (int k = 0; k < 6; k++) {
    city_hex nb = {h.q + DQ[k], h.r + DR[k]};
    int32_t c = city_grid_index(t->grid, nb);
    if (c < 0 || t->fn[base + (size_t)c] == 0) continue;
    sum += t->fv[base + (size_t)c];
    n++;
  }
  if (n > 0) return sum / n;
  return t->free_seen[dtype] > 0 ? t->free_sum[dtype] / t->free_seen[dtype] : 0.0;
}

double val_table_free_get(const val_table *t, int32_t cell, int64_t tl) {
  if (cell < 0 || cell >= t->n_cells) return 0.0;
  return free_state(t, val_table_daytype(t, tl), cell);
}

double val_table_free_raw(const val_table *t, int32_t dtype, int32_t cell) {
  return t->fv[(size_t)dtype * (size_t)t->n_cells + (size_t)cell];
}

uint32_t val_table_free_count(const val_table *t, int32_t dtype, int32_t cell) {
  return t->fn[(size_t)dtype * (size_t)t->n_cells + (size_t)cell];
}

int32_t val_table_free_seen(const val_table *t, int32_t dtype) { return t->free_seen[dtype]; }

double val_table_free_mean(const val_table *t, int32_t dtype) {
  return t->free_seen[dtype] > 0 ? t->free_sum[dtype] / t->free_seen[dtype] : 0.0;
}

void val_table_free_set(val_table *t, int32_t dtype, int32_t cell, double v, uint32_t count) {
  put(t->fv, t->fn, (size_t)dtype * (size_t)t->n_cells + (size_t)cell, v, count,
      &t->free_sum[dtype], &t->free_seen[dtype]);
}

double val_table_free_update(val_table *t, int32_t cell, int64_t tl, double target, double lr) {
  if (cell < 0 || cell >= t->n_cells) return 0.0;
  int32_t d = val_table_daytype(t, tl);
  size_t i = (size_t)d * (size_t)t->n_cells + (size_t)cell;
  double u = t->fn[i] > 0 ? t->fv[i] : free_state(t, d, cell);
  double delta = target - u;
  uint32_t n = t->fn[i] < UINT32_MAX ? t->fn[i] + 1 : t->fn[i];
  val_table_free_set(t, d, cell, u + lr * delta, n);
  return delta;
}

double val_table_free_td_r(val_table *t, int32_t cell0, int64_t t0, int32_t cell1, int64_t t1,
                           double r_gamma, double lr) {
  if (cell0 < 0 || cell0 >= t->n_cells) return 0.0;
  double target =
      r_gamma + val_discount(&t->cfg, (double)(t1 - t0)) * val_table_free_get(t, cell1, t1);
  return val_table_free_update(t, cell0, t0, target, lr);
}

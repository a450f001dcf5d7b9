/*
 * v1d3: value-based dispatch and repositioning driven by one spatiotemporal
 * value table (V1D3: Tang et al., "Value Function is All You Need: A Unified
 * Learning Framework for Ride Hailing Platforms", KDD 2021).
 *
 * Discounting is continuous (vtable.h): gamma^(dt / P) for any dt, and a
 * fare is earned evenly over its ride, after the pickup drive:
 * R_gamma = val_trip_reward(fare, pickup, ride).
 *
 * One disp_v1d3 model per run holds the table and is shared by:
 *   - the learner (an engine observer): after each dispatch tick, one TD(0)
 *     step for every dispatched driver towards R_gamma + gamma^(dt / P)
 *     V(dropoff cell, t + dt) (dt = pickup + ride) and for every idle driver
 *     towards gamma^(tick / P) V(its cell, t + tick); a repositioning move
 *     the model orders is a step towards gamma^(drive / P) V(target, arrival).
 *     The time-free layer U (vtable.h) learns from the same transitions and
 *     is the prior of every state V has not updated yet, so bootstrapping
 *     from a later slot reads a long-run value, not 0. Every
 *     `ensemble_period_s` of simulated time the ensemble mode blends the
 *     table with the offline one, V <- w V + (1 - w) V_offline;
 *   - the `v1d3` dispatch policy: the batch solver (batch.h) with edge score
 *     (1 - p_cancel(d)) (R_gamma + gamma^(dt / P) V(dropoff, t + dt) -
 *     V(driver's cell, t)). With serve_first (the default) the matching
 *     serves as many orders as possible and maximises the total score among
 *     those; without it the score is the weight and an edge scoring <= 0 is
 *     not served now (V1D3 as published);
 *   - the `v1d3` repositioning policy: an eligible driver (idle for the
 *     engine's threshold) weighs staying, V(cell, t), against every cell k
 *     in service (disp_repo.in_service) within the reachable radius, gamma^(dt / P) V(k, t + dt) with dt the
 *     travel model's drive to k's centre: the drive earns nothing and, as a
 *     moving driver is not matchable, forgoes the matches waiting would have
 *     brought (which V(cell, t) counts). Cells that beat staying by no more
 *     than repo_min_gain are dropped; if none is left the driver stays;
 *     otherwise it draws among the rest and staying with probability
 *     proportional to exp(score / tau) (V1D3's softmax).
 *
 * Modes: online (learns; from an empty table, or warm-started from a given
 * one: the table of an earlier day's run or of `ridesim train`), offline
 * (the given table, frozen), ensemble (starts from the given table, learns,
 * and is blended back every period).
 *
 * The flatten ablation replaces every slot of the tables the policies read
 * by its mean over cells (val_table_flatten): a loaded table once, a learnt
 * one at every period. A gain that survives it is not spatial.
 */
#ifndef DISP_V1D3_H
#define DISP_V1D3_H

#include <stdint.h>

#include "city_data/city.h"
#include "city_data/hexgrid.h"
#include "city_data/travel.h"
#include "dispatch/policy.h"
#include "base/rs_error.h"
#include "value/vtable.h"

enum { DISP_V1D3_ONLINE = 0, DISP_V1D3_OFFLINE, DISP_V1D3_ENSEMBLE };

#define DISP_V1D3_ENSEMBLE_PERIOD_S 3600  /* V1D3: hourly */
#define DISP_V1D3_ENSEMBLE_W 0.2
#define DISP_V1D3_TAU 1.0
#define DISP_V1D3_REPO_RADIUS_M 3000.0
#define DISP_V1D3_REPO_MIN_GAIN 0.5  /* money units a move must gain over
                                        staying (tuned on the public mornings) */

typedef struct {
  int32_t mode;               /* DISP_V1D3_* */
  val_config cfg;             /* slot, day types, gamma (online table) */
  double lr;                  /* online TD step */
  double ensemble_w;          /* weight of the online table in a blend */
  int64_t ensemble_period_s;
  double tau;                 /* repositioning softmax temperature */
  double repo_radius_m;       /* reachable radius for repositioning */
  int32_t driver_top_k;       /* dispatch: candidate orders per driver */
  int serve_first;            /* dispatch: serve as many orders as possible,
                                 then maximise the value (batch.h's
                                 cardinality first); 0: pure V1D3 weights */
  int learn_free;             /* learn the time-free layer beside V (the
                                 prior of states not updated yet) */
  int flatten;                /* ablation: tables flat over cells */
  double repo_min_gain;       /* a move must beat staying by more */
  /* rider cancellation probability by pickup distance (the engine's) */
  double (*p_cancel)(const void *ctx, double pickup_m);
  const void *p_cancel_ctx;
} disp_v1d3_opts;

typedef struct disp_v1d3 disp_v1d3;

void disp_v1d3_defaults(disp_v1d3_opts *o);
/* Parses "online", "offline", "ensemble". */
int disp_v1d3_mode_parse(const char *s, int32_t *mode);
const char *disp_v1d3_mode_name(int32_t mode);

/* A model over a city's grid, timing repositioning drives with the city's
 * travel model (both borrowed). `table` (taken, also on failure; may be
 * NULL) is required by the offline and ensemble modes, and warm-starts the
 * online mode. A given table's configuration (slot, gamma, day types) is
 * used rather than o->cfg. */
int disp_v1d3_new(const city_travel *tm, const city_grid *g, const disp_v1d3_opts *o,
                  val_table *offline, disp_v1d3 **out, rs_err *e);
void disp_v1d3_free(disp_v1d3 *m);

/* The learner, as an engine observer (a no-op in offline mode). */
disp_observer disp_v1d3_observer(disp_v1d3 *m);
/* The policies, which borrow the model. */
int disp_v1d3_dispatch(disp_v1d3 *m, disp_policy *p, rs_err *e);
int disp_v1d3_reposition(disp_v1d3 *m, disp_repolicy *p, rs_err *e);

/* The table the policies read (the online one, or the offline one). */
const val_table *disp_v1d3_table(const disp_v1d3 *m);
/* Counters: TD steps taken, blends done. */
void disp_v1d3_counts(const disp_v1d3 *m, int64_t *td_steps, int64_t *blends);

#endif

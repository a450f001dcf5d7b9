/*
 * realised: the run's realised values against a table; see realised.h.
 *
 * One backward sweep per driver: S_j, the income of trips j, j+1, ...
 * discounted to pickup_j, is spread_j + gamma^((pickup_{j+1} - pickup_j) /
 * P) S_{j+1}, and the state after trip i is worth G_i = gamma^((pickup_{i+1}
 * - dropoff_i) / P) S_{i+1} (0 after a driver's last trip). O(n) plus
 * per-(hour, cell) sums in arrays of 24 x cells.
 */
#include "value/realised.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"

int val_realised_by_hour(const val_table *t, const val_done_trip *x, size_t n,
                         val_realised_hour out[24], rs_err *e) {
  memset(out, 0, 24 * sizeof *out);
  const val_config *c = val_table_config(t);
  int32_t nc = val_table_n_cells(t);
  size_t cells = 24 * (size_t)nc;
  double *sr = calloc(cells, sizeof *sr), *sv = calloc(cells, sizeof *sv);
  int64_t *cnt = calloc(cells, sizeof *cnt);
  if (!sr || !sv || !cnt) {
    free(sr);
    free(sv);
    free(cnt);
    return rs_err_set(e, RS_ENOMEM, "realised values: out of memory");
  }
  double hr[24] = {0}, hv[24] = {0};
  for (size_t i = 1; i < n; i++)
    if (x[i].driver < x[i - 1].driver ||
        (x[i].driver == x[i - 1].driver && x[i].t_pickup < x[i - 1].t_pickup)) {
      free(sr);
      free(sv);
      free(cnt);
      return rs_err_set(e, RS_EINVAL, "realised values: trips not sorted by driver and time");
    }
  for (size_t end = n; end > 0;) {
    size_t first = end - 1;
    while (first > 0 && x[first - 1].driver == x[end - 1].driver) first--;
    double s_next = 0; /* S of the trip after the current one */
    for (size_t j = end; j-- > first;) {
      const val_done_trip *y = &x[j];
      double g = 0;
      if (j + 1 < end)
        g = val_discount(c, (double)(x[j + 1].t_pickup - y->t_dropoff)) * s_next;
      if (y->dcell >= 0 && y->dcell < nc) {
        int32_t h = rs_time_hour(y->t_dropoff);
        double v = val_table_get(t, y->dcell, y->t_dropoff);
        size_t k = (size_t)h * (size_t)nc + (size_t)y->dcell;
        sr[k] += g;
        sv[k] += v;
        cnt[k]++;
        hr[h] += g;
        hv[h] += v;
        out[h].n++;
      }
      double spread = val_trip_reward(c, y->fare, 0, (double)(y->t_dropoff - y->t_pickup));
      s_next = spread + (j + 1 < end ? val_discount(c, (double)(x[j + 1].t_pickup - y->t_pickup)) *
                                           s_next
                                     : 0.0);
    }
    end = first;
  }
  for (int32_t h = 0; h < 24; h++) {
    val_realised_hour *o = &out[h];
    o->corr = NAN;
    o->real_sd = o->table_sd = NAN;
    if (o->n == 0) continue;
    o->real_mean = hr[h] / (double)o->n;
    o->table_mean = hv[h] / (double)o->n;
    double mr = 0, mv = 0;
    int32_t m = 0;
    for (int32_t k = 0; k < nc; k++) {
      size_t i = (size_t)h * (size_t)nc + (size_t)k;
      if (cnt[i] < VAL_REALISED_MIN_CELL) continue;
      mr += sr[i] / (double)cnt[i];
      mv += sv[i] / (double)cnt[i];
      m++;
    }
    o->cells = m;
    if (m < 2) continue;
    mr /= m;
    mv /= m;
    double vr = 0, vv = 0, cov = 0;
    for (int32_t k = 0; k < nc; k++) {
      size_t i = (size_t)h * (size_t)nc + (size_t)k;
      if (cnt[i] < VAL_REALISED_MIN_CELL) continue;
      double a = sr[i] / (double)cnt[i] - mr, b = sv[i] / (double)cnt[i] - mv;
      vr += a * a;
      vv += b * b;
      cov += a * b;
    }
    o->real_sd = sqrt(vr / (m - 1));
    o->table_sd = sqrt(vv / (m - 1));
    if (m >= 3 && vr > 0 && vv > 0) o->corr = cov / sqrt(vr * vv);
  }
  free(sr);
  free(sv);
  free(cnt);
  return 0;
}

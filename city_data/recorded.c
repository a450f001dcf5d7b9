/*
 * recorded: selecting the recorded trips a travel model is measured on;
 * see recorded.h for the rules and their reasons.
 */
#include "city_data/recorded.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_time.h"

static const char *const why_text[CITY_REC_N_WHY] = {
    "kept",
#define X(name, text) text,
    CITY_REC_REASONS(X)
#undef X
};

const char *city_rec_why_text(city_rec_why w) {
  return w >= 0 && w < CITY_REC_N_WHY ? why_text[w] : "?";
}

city_rec_why city_rec_check(const city_trip *t, const city_net *net) {
  if (t->t_dropoff < 0) return CITY_REC_NO_DROPOFF;
  int64_t secs = t->t_dropoff - t->t_request;
  if (secs < CITY_REC_MIN_S) return CITY_REC_SHORT;
  if (secs > CITY_REC_MAX_S) return CITY_REC_LONG;
  if (t->distance_m == 0) return CITY_REC_NO_DISTANCE;
  if (net != NULL) {
    double d;
    city_net_snap(net, t->plat, t->plng, &d);
    if (d > CITY_NET_SNAP_LIMIT_M) return CITY_REC_OFF_NETWORK;
    city_net_snap(net, t->dlat, t->dlng, &d);
    if (d > CITY_NET_SNAP_LIMIT_M) return CITY_REC_OFF_NETWORK;
  }
  return CITY_REC_KEPT;
}

int city_rec_select(const city_trip *trips, size_t n, const city_net *net, city_rec_set *out,
                    rs_err *e) {
  memset(out, 0, sizeof *out);
  out->network = net != NULL;
  out->trips = malloc((n ? n : 1) * sizeof *out->trips);
  if (out->trips == NULL)
    return rs_err_set(e, RS_ENOMEM, "recorded trips: out of memory for %zu trips", n);
  for (size_t i = 0; i < n; i++) {
    city_rec_why w = city_rec_check(&trips[i], net);
    if (w != CITY_REC_KEPT) {
      out->left_out[w]++;
      continue;
    }
    out->n_daytype[rs_time_weekend(trips[i].t_request)]++;
    out->trips[out->n++] = trips[i];
  }
  out->n_read = (int64_t)n;
  return 0;
}

void city_rec_free(city_rec_set *s) {
  free(s->trips);
  memset(s, 0, sizeof *s);
}

int city_rec_load(const char *db, const char *city_name, city_def *city, city_trip **trips,
                  size_t *n, rs_err *e) {
  *trips = NULL;
  *n = 0;
  city_store *st = NULL;
  char store_city[CITY_NAME_MAX];
  int rc = city_store_open(db, CITY_STORE_READ, NULL, &st, e);
  if (rc) return rc;
  snprintf(store_city, sizeof store_city, "%s", city_store_city(st));
  city_store_close(st);
  st = NULL;
  if (store_city[0] == '\0')
    return rs_err_set(e, RS_EINVAL, "%s: the trip store names no city (nothing imported yet?)",
                      db);
  if ((rc = city_def_resolve(city_name != NULL ? city_name : store_city, city, e)) != 0)
    return rc;
  /* opening with the city checks its name and grid against the store's */
  if ((rc = city_store_open(db, CITY_STORE_READ, city, &st, e)) != 0) return rc;
  rc = city_store_load(st, INT64_MIN, INT64_MAX, trips, n, e);
  city_store_close(st);
  if (rc == 0 && *n == 0) {
    free(*trips);
    *trips = NULL;
    rc = rs_err_set(e, RS_EEMPTY, "%s: the trip store holds no trips", db);
  }
  return rc;
}

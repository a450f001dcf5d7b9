/*
 * calibout: the selection of recorded trips as text and JSON; see
 * calibout.h.
 */
#include "tools/calibout.h"

#include "city_data/travel_net.h"

const char *calibout_factor_source(int source) {
  switch (source) {
  case CITY_NET_FACTORS_DERIVED: return "derived (the median link at the city's speed)";
  case CITY_NET_FACTORS_CITY: return "the city's network_factors";
  case CITY_NET_FACTORS_GIVEN: return "given";
  default: return "?";
  }
}

void calibout_selection(FILE *out, const char *db, const city_def *city, const city_rec_set *set) {
  fprintf(out, "trips        %lld in %s (city %s): %zu used (%lld weekday, %lld weekend)\n",
          (long long)set->n_read, db, city->name, set->n, (long long)set->n_daytype[0],
          (long long)set->n_daytype[1]);
  int64_t left = set->n_read - (int64_t)set->n;
  fprintf(out, "left out     %lld%s\n", (long long)left, left ? ":" : "");
  for (int w = 1; w < CITY_REC_N_WHY; w++)
    if (set->left_out[w] > 0)
      fprintf(out, "  %8lld   %s\n", (long long)set->left_out[w],
              city_rec_why_text((city_rec_why)w));
  if (set->network)
    fprintf(out, "             (with a network every model is measured on the trips whose ends "
                 "lie on it)\n");
}

cJSON *calibout_selection_json(const char *db, const city_def *city, const city_rec_set *set) {
  cJSON *o = cJSON_CreateObject();
  cJSON *lo = o ? cJSON_AddObjectToObject(o, "left_out") : NULL;
  int ok = lo != NULL && cJSON_AddStringToObject(o, "store", db) != NULL &&
           cJSON_AddStringToObject(o, "city", city->name) != NULL &&
           cJSON_AddNumberToObject(o, "read", (double)set->n_read) != NULL &&
           cJSON_AddNumberToObject(o, "used", (double)set->n) != NULL &&
           cJSON_AddNumberToObject(o, "weekday", (double)set->n_daytype[0]) != NULL &&
           cJSON_AddNumberToObject(o, "weekend", (double)set->n_daytype[1]) != NULL &&
           cJSON_AddBoolToObject(o, "on_network_only", set->network) != NULL;
  for (int w = 1; ok && w < CITY_REC_N_WHY; w++)
    ok = cJSON_AddNumberToObject(lo, city_rec_why_text((city_rec_why)w),
                                 (double)set->left_out[w]) != NULL;
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

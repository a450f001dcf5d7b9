/*
 * calibout: the output `ridesim calibrate` and `ridesim validate` share:
 * which trips of a store were used and which were left out, and why
 * (city_data/recorded.h), as text and as JSON.
 */
#ifndef TOOLS_CALIBOUT_H
#define TOOLS_CALIBOUT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "city_data/city.h"
#include "city_data/recorded.h"

/* "derived", "city", "scenario"/"given" for CITY_NET_FACTORS_*. */
const char *calibout_factor_source(int source);

/* Lines: the trips read and used (per day type), and each reason that left
 * trips out, with its count. */
void calibout_selection(FILE *out, const char *db, const city_def *city, const city_rec_set *set);

/* The same as an object {"store", "city", "read", "used", "weekday",
 * "weekend", "left_out": {reason: count}}; NULL when out of memory. */
cJSON *calibout_selection_json(const char *db, const city_def *city, const city_rec_set *set);

#endif

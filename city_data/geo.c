/* geo: see geo.h */
#include "city_data/geo.h"
typedef int rs_placeholder_geo;

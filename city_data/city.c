/* city: see city.h */
#include "city_data/city.h"
typedef int rs_placeholder_city;

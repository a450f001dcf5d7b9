/* tripstore: see tripstore.h */
#include "city_data/tripstore.h"
typedef int rs_placeholder_tripstore;

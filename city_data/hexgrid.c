/* hexgrid: see hexgrid.h */
#include "city_data/hexgrid.h"
typedef int rs_placeholder_hexgrid;

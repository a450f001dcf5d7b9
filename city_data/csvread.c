/* csvread: see csvread.h */
#include "city_data/csvread.h"
typedef int rs_placeholder_csvread;

/* import: see import.h */
#include "city_data/import.h"
typedef int rs_placeholder_import;

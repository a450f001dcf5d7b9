/* synth: see synth.h */
#include "city_data/synth.h"
typedef int rs_placeholder_synth;

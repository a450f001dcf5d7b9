#include "dispatch/match.h"
typedef int rs_placeholder_match;

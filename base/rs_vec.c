/* rs_vec: see rs_vec.h. */
#include "base/rs_vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_error.h"

int rs_vec_grow_(void *parr, size_t *cap, size_t need, size_t elem) {
  size_t c = *cap ? *cap : RS_VEC_MIN;
  while (c < need) {
    if (c > SIZE_MAX / 2) return RS_ENOMEM;
    c *= 2;
  }
  if (elem != 0 && c > SIZE_MAX / elem) return RS_ENOMEM;
  void *old;
  memcpy(&old, parr, sizeof old); /* the caller's T *, whatever T is */
  void *p = realloc(old, c * elem);
  if (p == NULL) return RS_ENOMEM;
  memcpy(parr, &p, sizeof p);
  *cap = c;
  return 0;
}

/* rs_mem: see rs_mem.h. */
#include "base/rs_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

void *rs_mem_array(size_t n, size_t size, size_t align, int zero) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  size_t bytes = n * size;
  if (bytes == 0) bytes = 1;
  if (align < sizeof(void *)) align = sizeof(void *);
  int huge = bytes >= 2 * HUGE_PAGE;
  void *p = NULL;
  if (posix_memalign(&p, huge ? HUGE_PAGE : align, bytes) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  /* advice only: without huge pages the array works the same */
  if (huge) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  if (zero) memset(p, 0, bytes);
  return p;
}

/*
 * rs_mem: memory for large arrays read at random.
 *
 * The engine's per-order and per-driver arrays are read in no particular
 * order once a day's orders are in flight: past a few megabytes, most reads
 * of 4 KiB pages miss the TLB as well as the cache. rs_mem_array aligns such
 * arrays to 2 MiB and, where the system offers it (Linux's madvise
 * MADV_HUGEPAGE, with transparent huge pages in "madvise" mode, Debian's
 * default), asks for huge pages, which cover them with a few hundred TLB
 * entries. Smaller arrays are ordinary aligned allocations.
 *
 * Memory from rs_mem_array is released with free().
 */
#ifndef RS_MEM_H
#define RS_MEM_H

#include <stddef.h>

/* n elements of `size` bytes, aligned to `align` (a power of two, at most
 * 4096; 0 for the default), zeroed when `zero`. NULL on overflow or when
 * out of memory. */
void *rs_mem_array(size_t n, size_t size, size_t align, int zero);

#endif

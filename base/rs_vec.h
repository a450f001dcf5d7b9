/*
 * rs_vec: the one way ridesim grows an array (after Lua's luaM_growvector).
 *
 *   if (rs_vec_grow(x->items, x->cap, n + 1)) return RS_ENOMEM;
 *
 * makes room for at least `need` elements in the array `arr` whose
 * allocated size is the size_t lvalue `cap`: the capacity doubles (from
 * RS_VEC_MIN) until it holds `need`, so appending n items costs O(n)
 * amortised. It returns 0, or RS_ENOMEM (no memory, or a size that would
 * overflow) with `arr` and `cap` unchanged: a failed grow loses nothing.
 * New slots are not initialised. Arrays grow and never shrink: the steady
 * state allocates nothing. Memory is released with free().
 *
 * The new capacity depends only on `cap` and `need`, so parallel arrays
 * that share one capacity grow each from a copy of it and store it once
 * all have grown:
 *
 *   size_t c1 = x->cap, c2 = x->cap;
 *   if (rs_vec_grow(x->a, c1, n + 1) || rs_vec_grow(x->b, c2, n + 1)) return RS_ENOMEM;
 *   x->cap = c1;
 *
 * (when b fails, a is larger than the recorded capacity, which is harmless).
 *
 * Not arrays in this sense, and so grown by their own code: an open-
 * addressing table's rehash (the network loader's id map) and a block of
 * strided columns that is repacked when it grows (the candidate index's
 * cells).
 */
#ifndef RS_VEC_H
#define RS_VEC_H

#include <stddef.h>

#define RS_VEC_MIN 16

/* The implementation behind rs_vec_grow: *(T **)parr is the array. */
int rs_vec_grow_(void *parr, size_t *cap, size_t need, size_t elem);

#define rs_vec_grow(arr, cap, need)                                                  \
  ((size_t)(need) <= (cap) ? 0 : rs_vec_grow_(&(arr), &(cap), (size_t)(need), sizeof *(arr)))

#endif

/*
 * rs_heap: the one implicit d-ary min-heap of ridesim, instantiated per use
 * as libuv's heap-inl.h serves every timer.
 *
 *   RS_HEAP_DEFINE(name, T, D, LESS, MOVED)
 *   RS_HEAP_DEFINE_CTX(name, T, D, C, LESS, MOVED)
 *
 * define static inline functions over an array of T whose element 0 is the
 * minimum by LESS(const T *x, const T *y) (a strict weak order; make it
 * total, e.g. (time, sequence), and the heap's pops never depend on its
 * shape). D is the arity: 2 for a binary heap, 4 for half the depth and the
 * children of a node in one or two cache lines. MOVED(T *x, size_t i) is
 * called whenever an element lands at index i (a heap that supports
 * decrease-key keeps positions with it; others pass RS_HEAP_NO_MOVE). The
 * caller owns the array and its growth (rs_vec.h):
 *
 *   name_up(a, i)          restores the order after a[i] decreased (or was
 *                          appended at i = n - 1);
 *   name_down(a, n, i)     ... after a[i] increased;
 *   name_heapify(a, n)     orders a[0, n) in O(n);
 *   name_push(a, &n, v)    appends v (room for n + 1 is the caller's);
 *   name_pop(a, &n)        removes a[0] (n > 0);
 *   name_remove(a, &n, i)  removes a[i].
 *
 * The _CTX form is for a heap whose order or positions live outside its
 * elements (elements that are indices into a key array; positions kept in
 * the records the elements name): every function takes a first argument
 * `ctx` of type C, and LESS and MOVED may use the name `ctx` (the macros
 * expand inside the functions, where it is that parameter):
 *
 *   #define SLOT_LESS(x, y) (ctx[*(x)] < ctx[*(y)] || ...)
 *   RS_HEAP_DEFINE_CTX(slots, int32_t, 2, const int32_t *, SLOT_LESS, RS_HEAP_NO_MOVE)
 *   slots_pop(key, a, &n);
 *
 * Costs: push and decrease O(log_D n), pop O(D log_D n), peek a[0]. The
 * functions are static inline and take the comparison as a macro, so an
 * instance compiles to the loops a hand-written heap would have: no
 * indirect calls, no element copies beyond the hole being moved. An
 * instance rarely needs every function: they are marked RS_HEAP_MAYBE_UNUSED,
 * so the ones it leaves out do not warn (clang's -Wunused-function warns
 * about unused static inline functions of a .c file; gcc does not).
 */
#ifndef RS_HEAP_H
#define RS_HEAP_H

#include <stddef.h>

#define RS_HEAP_NO_MOVE(x, i) ((void)0)

#if defined(__GNUC__) || defined(__clang__)
#define RS_HEAP_MAYBE_UNUSED __attribute__((unused))
#else
#define RS_HEAP_MAYBE_UNUSED
#endif

#define RS_HEAP_DEFINE_CTX(name, T, D, C, LESS, MOVED)                                 \
  RS_HEAP_MAYBE_UNUSED static inline void name##_up(C ctx, T *a, size_t i) {           \
    (void)ctx;                                                                         \
    T v_ = a[i];                                                                       \
    while (i > 0) {                                                                    \
      size_t p_ = (i - 1) / (D);                                                       \
      if (!(LESS(&v_, &a[p_]))) break;                                                 \
      a[i] = a[p_];                                                                    \
      MOVED(&a[i], i);                                                                 \
      i = p_;                                                                          \
    }                                                                                  \
    a[i] = v_;                                                                         \
    MOVED(&a[i], i);                                                                   \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_down(C ctx, T *a, size_t n,           \
                                                      size_t i) {                      \
    (void)ctx;                                                                         \
    T v_ = a[i];                                                                       \
    for (;;) {                                                                         \
      size_t c_ = (D) * i + 1, m_ = c_;                                                \
      if (c_ + (D) <= n) {                                                             \
        /* all D children: a loop of constant length, unrolled */                      \
        for (size_t k_ = 1; k_ < (D); k_++)                                            \
          if (LESS(&a[c_ + k_], &a[m_])) m_ = c_ + k_;                                 \
      } else {                                                                         \
        if (c_ >= n) break;                                                            \
        for (size_t k_ = c_ + 1; k_ < n; k_++)                                         \
          if (LESS(&a[k_], &a[m_])) m_ = k_;                                           \
      }                                                                                \
      if (!(LESS(&a[m_], &v_))) break;                                                 \
      a[i] = a[m_];                                                                    \
      MOVED(&a[i], i);                                                                 \
      i = m_;                                                                          \
    }                                                                                  \
    a[i] = v_;                                                                         \
    MOVED(&a[i], i);                                                                   \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_heapify(C ctx, T *a, size_t n) {      \
    if (n < 2) return;                                                                 \
    for (size_t i_ = (n - 2) / (D) + 1; i_-- > 0;) name##_down(ctx, a, n, i_);        \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_push(C ctx, T *a, size_t *n, T v) {   \
    a[*n] = v;                                                                         \
    name##_up(ctx, a, (*n)++);                                                         \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_pop(C ctx, T *a, size_t *n) {         \
    if (--*n > 0) {                                                                    \
      a[0] = a[*n];                                                                    \
      name##_down(ctx, a, *n, 0);                                                      \
    }                                                                                  \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_remove(C ctx, T *a, size_t *n,        \
                                                        size_t i) {                    \
    if (i == --*n) return;                                                             \
    a[i] = a[*n];                                                                      \
    if (i > 0 && LESS(&a[i], &a[(i - 1) / (D)])) name##_up(ctx, a, i);                \
    else name##_down(ctx, a, *n, i);                                                   \
  }

/* The context-free form: the _CTX functions with a null context, behind
 * names without it. */
#define RS_HEAP_DEFINE(name, T, D, LESS, MOVED)                                        \
  RS_HEAP_DEFINE_CTX(name##_ctx_, T, D, const void *, LESS, MOVED)                     \
  RS_HEAP_MAYBE_UNUSED static inline void name##_up(T *a, size_t i) {                  \
    name##_ctx__up(NULL, a, i);                                                        \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_down(T *a, size_t n, size_t i) {      \
    name##_ctx__down(NULL, a, n, i);                                                   \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_heapify(T *a, size_t n) {             \
    name##_ctx__heapify(NULL, a, n);                                                   \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_push(T *a, size_t *n, T v) {          \
    name##_ctx__push(NULL, a, n, v);                                                   \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_pop(T *a, size_t *n) {                \
    name##_ctx__pop(NULL, a, n);                                                       \
  }                                                                                    \
  RS_HEAP_MAYBE_UNUSED static inline void name##_remove(T *a, size_t *n, size_t i) {   \
    name##_ctx__remove(NULL, a, n, i);                                                 \
  }

#endif

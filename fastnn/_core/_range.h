/* The least and greatest value of a float array and whether it holds a NaN,
   in one pass: the check every conversion of training data makes.

   The vector variant (SSE2, part of every x86-64 CPU) keeps four vectors of
   running minima and maxima; NaN compares false with everything, so min and
   max skip it and an unordered compare catches it.  Infinities are ordinary
   values to min and max.  It runs at every instruction-set level above
   "generic" (_simd.h), the plain C loop at "generic" and where SSE2 is
   missing.  Written once (FASTNN_RANGE) for float (SSE's _ps) and double
   (_pd). */
#ifndef FASTNN_RANGE_H
#define FASTNN_RANGE_H

#include <stddef.h>

#include "_simd.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__SSE2__)
/* Four vectors of LANES values at a time, then the vectors' lanes into lo and hi. */
#define FASTNN_RANGE_SSE2(T, V, S, LANES)                                                \
    if (n >= 4 * LANES && fastnn_simd_isa() != FASTNN_SIMD_GENERIC) {                   \
        V l0 = _mm_set1_##S(lo), l1 = l0, l2 = l0, l3 = l0;                             \
        V h0 = l0, h1 = l0, h2 = l0, h3 = l0;                                           \
        V u = _mm_setzero_##S();                                                        \
        T l[LANES], h[LANES];                                                           \
        for (; i + 4 * LANES <= n; i += 4 * LANES) {                                    \
            V x0 = _mm_loadu_##S(a + i), x1 = _mm_loadu_##S(a + i + LANES);             \
            V x2 = _mm_loadu_##S(a + i + 2 * LANES), x3 = _mm_loadu_##S(a + i + 3 * LANES); \
            l0 = _mm_min_##S(x0, l0); l1 = _mm_min_##S(x1, l1);                         \
            l2 = _mm_min_##S(x2, l2); l3 = _mm_min_##S(x3, l3);                         \
            h0 = _mm_max_##S(x0, h0); h1 = _mm_max_##S(x1, h1);                         \
            h2 = _mm_max_##S(x2, h2); h3 = _mm_max_##S(x3, h3);                         \
            u = _mm_or_##S(u, _mm_or_##S(_mm_cmpunord_##S(x0, x1),                      \
                                         _mm_cmpunord_##S(x2, x3)));                    \
        }                                                                               \
        _mm_storeu_##S(l, _mm_min_##S(_mm_min_##S(l0, l1), _mm_min_##S(l2, l3)));       \
        _mm_storeu_##S(h, _mm_max_##S(_mm_max_##S(h0, h1), _mm_max_##S(h2, h3)));       \
        for (int k = 0; k < LANES; k++) {                                               \
            if (l[k] < lo) lo = l[k];                                                   \
            if (h[k] > hi) hi = h[k];                                                   \
        }                                                                               \
        nan = _mm_movemask_##S(u) != 0;                                                 \
    }
#else
#define FASTNN_RANGE_SSE2(T, V, S, LANES)
#endif

#define FASTNN_RANGE(T, SFX, V, S, LANES)                                               \
static void fastnn_range_##SFX(const T* a, ptrdiff_t n, double* lo_out, double* hi_out, \
                               int* nan_out)                                            \
{                                                                                       \
    ptrdiff_t i = 0;                                                                    \
    T lo = a[0], hi = a[0];                                                             \
    int nan = 0;                                                                        \
    FASTNN_RANGE_SSE2(T, V, S, LANES)                                                   \
    for (; i < n; i++) {                                                                \
        T x = a[i];                                                                     \
        if (x < lo) lo = x;                                                             \
        if (x > hi) hi = x;                                                             \
        if (x != x) nan = 1;                                                            \
    }                                                                                   \
    *lo_out = lo;                                                                       \
    *hi_out = hi;                                                                       \
    *nan_out = nan || (a[0] != a[0]);                                                   \
}

FASTNN_RANGE(float, f, __m128, ps, 4)
FASTNN_RANGE(double, d, __m128d, pd, 2)

#undef FASTNN_RANGE
#undef FASTNN_RANGE_SSE2
#endif

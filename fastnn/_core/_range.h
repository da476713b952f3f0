/* The least and greatest value of a float array and whether it holds a NaN,
   in one pass: the check every conversion of training data makes.

   SSE2 (part of every x86-64 CPU, so no run-time choice is needed) keeps
   four vectors of running minima and maxima; NaN compares false with
   everything, so min and max skip it and an unordered compare catches it.
   Infinities are ordinary values to min and max.  Elsewhere, plain C. */
#ifndef FASTNN_RANGE_H
#define FASTNN_RANGE_H

#include <stddef.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FASTNN_RANGE_SCALAR(T)                                                  \
    for (; i < n; i++) {                                                        \
        T x = a[i];                                                             \
        if (x < lo) lo = x;                                                     \
        if (x > hi) hi = x;                                                     \
        if (x != x) nan = 1;                                                    \
    }

static void fastnn_range_f(const float* a, ptrdiff_t n, double* lo_out, double* hi_out,
                           int* nan_out)
{
    ptrdiff_t i = 0;
    float lo = a[0], hi = a[0];
    int nan = 0;
#if defined(__SSE2__)
    if (n >= 16) {
        __m128 l0 = _mm_set1_ps(lo), l1 = l0, l2 = l0, l3 = l0;
        __m128 h0 = l0, h1 = l0, h2 = l0, h3 = l0;
        __m128 u = _mm_setzero_ps();
        for (; i + 16 <= n; i += 16) {
            __m128 x0 = _mm_loadu_ps(a + i), x1 = _mm_loadu_ps(a + i + 4);
            __m128 x2 = _mm_loadu_ps(a + i + 8), x3 = _mm_loadu_ps(a + i + 12);
            l0 = _mm_min_ps(x0, l0); l1 = _mm_min_ps(x1, l1);
            l2 = _mm_min_ps(x2, l2); l3 = _mm_min_ps(x3, l3);
            h0 = _mm_max_ps(x0, h0); h1 = _mm_max_ps(x1, h1);
            h2 = _mm_max_ps(x2, h2); h3 = _mm_max_ps(x3, h3);
            u = _mm_or_ps(u, _mm_or_ps(_mm_cmpunord_ps(x0, x1), _mm_cmpunord_ps(x2, x3)));
        }
        float l[4], h[4];
        _mm_storeu_ps(l, _mm_min_ps(_mm_min_ps(l0, l1), _mm_min_ps(l2, l3)));
        _mm_storeu_ps(h, _mm_max_ps(_mm_max_ps(h0, h1), _mm_max_ps(h2, h3)));
        for (int k = 0; k < 4; k++) {
            if (l[k] < lo) lo = l[k];
            if (h[k] > hi) hi = h[k];
        }
        nan = _mm_movemask_ps(u) != 0;
    }
#endif
    FASTNN_RANGE_SCALAR(float)
    *lo_out = lo;
    *hi_out = hi;
    *nan_out = nan || (a[0] != a[0]);
}

static void fastnn_range_d(const double* a, ptrdiff_t n, double* lo_out, double* hi_out,
                           int* nan_out)
{
    ptrdiff_t i = 0;
    double lo = a[0], hi = a[0];
    int nan = 0;
#if defined(__SSE2__)
    if (n >= 8) {
        __m128d l0 = _mm_set1_pd(lo), l1 = l0, l2 = l0, l3 = l0;
        __m128d h0 = l0, h1 = l0, h2 = l0, h3 = l0;
        __m128d u = _mm_setzero_pd();
        for (; i + 8 <= n; i += 8) {
            __m128d x0 = _mm_loadu_pd(a + i), x1 = _mm_loadu_pd(a + i + 2);
            __m128d x2 = _mm_loadu_pd(a + i + 4), x3 = _mm_loadu_pd(a + i + 6);
            l0 = _mm_min_pd(x0, l0); l1 = _mm_min_pd(x1, l1);
            l2 = _mm_min_pd(x2, l2); l3 = _mm_min_pd(x3, l3);
            h0 = _mm_max_pd(x0, h0); h1 = _mm_max_pd(x1, h1);
            h2 = _mm_max_pd(x2, h2); h3 = _mm_max_pd(x3, h3);
            u = _mm_or_pd(u, _mm_or_pd(_mm_cmpunord_pd(x0, x1), _mm_cmpunord_pd(x2, x3)));
        }
        double l[2], h[2];
        _mm_storeu_pd(l, _mm_min_pd(_mm_min_pd(l0, l1), _mm_min_pd(l2, l3)));
        _mm_storeu_pd(h, _mm_max_pd(_mm_max_pd(h0, h1), _mm_max_pd(h2, h3)));
        for (int k = 0; k < 2; k++) {
            if (l[k] < lo) lo = l[k];
            if (h[k] > hi) hi = h[k];
        }
        nan = _mm_movemask_pd(u) != 0;
    }
#endif
    FASTNN_RANGE_SCALAR(double)
    *lo_out = lo;
    *hi_out = hi;
    *nan_out = nan || (a[0] != a[0]);
}

#undef FASTNN_RANGE_SCALAR
#endif

/* float32 inputs to float64, exactly.  Compiled for baseline x86-64 (SSE2,
   2 floats per instruction), this loop is slower than the memcpy of float64
   rows it replaces; so with gcc and glibc it is also compiled for AVX2 and
   AVX-512, and the loader picks the best the CPU runs (an ifunc: no -march
   flag, the module stays portable). */
#ifndef FASTNN_CONVERT_H
#define FASTNN_CONVERT_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(FASTNN_PORTABLE)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void fastnn_float_to_double(double* dst, const float* src, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++)
        dst[j] = (double)src[j];
}

/* Ask for the n bytes at p to be brought towards the cache, without waiting:
   the next mini-batch's rows, scattered over X, are fetched from memory
   while this one computes (no hardware prefetcher can guess a shuffle). */
static inline void fastnn_prefetch(const void* p, ptrdiff_t n) {
#if defined(__GNUC__) || defined(__clang__)
    const char* c = (const char*)p;
    for (ptrdiff_t j = 0; j < n; j += 64)
        __builtin_prefetch(c + j, 0, 2);
#else
    (void)p; (void)n;
#endif
}

#endif

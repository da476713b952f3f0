/* float32 inputs to float64, exactly.  Compiled for baseline x86-64 (SSE2,
   2 floats per instruction), this loop is slower than the memcpy of float64
   rows it replaces; so it is also compiled for AVX2 and AVX-512 (function
   attributes: no -march flag, the module stays portable), and runs the
   variant of the process's instruction-set level (_simd.h). */
#ifndef FASTNN_CONVERT_H
#define FASTNN_CONVERT_H
#include <stddef.h>

#include "_simd.h"

#define FASTNN_FLOAT_TO_DOUBLE(SFX, ATTR)                                               \
static ATTR void fastnn_float_to_double_##SFX(double* dst, const float* src, ptrdiff_t n) \
{                                                                                       \
    for (ptrdiff_t j = 0; j < n; j++)                                                   \
        dst[j] = (double)src[j];                                                        \
}

FASTNN_FLOAT_TO_DOUBLE(generic, )
#if FASTNN_X86_SIMD
FASTNN_FLOAT_TO_DOUBLE(avx2, __attribute__((target("avx2"))))
FASTNN_FLOAT_TO_DOUBLE(avx512, __attribute__((target("avx512f"))))
#endif
#undef FASTNN_FLOAT_TO_DOUBLE

static inline void fastnn_float_to_double(double* dst, const float* src, ptrdiff_t n)
{
#if FASTNN_X86_SIMD
    int isa = fastnn_simd_isa();
    if (isa == FASTNN_SIMD_AVX512)
        fastnn_float_to_double_avx512(dst, src, n);
    else if (isa == FASTNN_SIMD_AVX2)
        fastnn_float_to_double_avx2(dst, src, n);
    else
#endif
        fastnn_float_to_double_generic(dst, src, n);
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

/* Small-matrix products for fastnn's kernels, chosen at run time for the CPU.

   A mini-batch makes one dimension of most of a network's products small
   (m = 10 rows), and BLAS libraries serve such shapes unevenly: OpenBLAS runs
   them 2.5x slower under OPENBLAS_CORETYPE=Haswell than with its AVX-512
   kernels, and past about a million multiply-adds it packs both operands on
   every call, which for a 10-row operand costs more than the product.  Here
   are three row-major products for those shapes, each written once
   (_smallmm_body.h) and compiled for AVX-512F, for AVX2 with FMA and in
   portable C, for float and double:

     nt:  C[M,N] = alpha * A[M,K] B[N,K]^T + beta * C   (small M; dot products)
     nn:  C[M,N] = alpha * A[M,K] B[K,N]   + beta * C   (small M; outer products)
     tn:  C[M,N] = alpha * A[K,M]^T B[K,N] + beta * C   (small K; outer products)

   beta = 0 never reads C.  No alignment is assumed.  The variant that runs
   is the process's one choice of instruction set (_simd.h: fastnn_simd);
   at level "blas" no product is routed here, every one goes to BLAS.  The
   vector code is compiled
   with function attributes, so the module itself needs no -mavx flags and
   runs on any x86-64; other compilers and CPUs get the portable C only. */
#ifndef FASTNN_SMALLMM_H
#define FASTNN_SMALLMM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "_simd.h"

/* The routing rule: the small dimension (the mini-batch) at most this. */
#define FASTNN_SMALL_DIM 32

#define FASTNN_CAT_(a, b) a##_##b
#define FASTNN_CAT(a, b) FASTNN_CAT_(a, b)

#if FASTNN_X86_SIMD
#include <immintrin.h>
#endif

/* ---- portable C: one lane ---------------------------------------------- */
#define V T
#define VW 1
#define VZERO ((T)0)
#define VSET1(x) ((T)(x))
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VLOADM(p, n) (*(p))
#define VSTOREM(p, v, n) (*(p) = (v))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMUL(a, b) ((a) * (b))
#define VREDUCE(v) (v)
#define SFMA(a, b, c) ((a) * (b) + (c))
#define ATTR
#define DOT_MR 4
#define DOT_NR 4
#define OUT_MR 4
#define OUT_NV 4
#define T float
#define FN(name) FASTNN_CAT(fastnn_##name, generic_f)
#include "_smallmm_body.h"
#undef T
#undef FN
#define T double
#define FN(name) FASTNN_CAT(fastnn_##name, generic_d)
#include "_smallmm_body.h"
#include "_smallmm_undef.h"
#undef ATTR
#undef DOT_MR
#undef DOT_NR
#undef OUT_MR
#undef OUT_NV

#if FASTNN_X86_SIMD
/* ---- AVX2 with FMA: 16 registers of 256 bits ----------------------------- */
#define ATTR __attribute__((target("avx2,fma")))
/* nt's block: 5 rows of A by 2 of B, 10 accumulators of the 16 registers, so
   a mini-batch of 10 is two whole blocks.  Against 3 by 4 (a 10-row product
   is then blocks of 3, 3, 3 and 1): 0.77-0.97x its time for m = 10 and 14 in
   float64 and 10 to 24 in float32, H = 30 to 1,000, on an AMD EPYC (Zen 2
   class); the same bits, as every element is summed alike in any block. */
#define DOT_MR 5
#define DOT_NR 2
#define OUT_MR 6
#define OUT_NV 2

static inline __attribute__((always_inline)) ATTR __m256i fastnn_mask8_avx2(int n)
{   /* lanes 0..n-1 of eight 32-bit lanes set */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline __attribute__((always_inline)) ATTR __m256i fastnn_mask4_avx2(int n)
{   /* lanes 0..n-1 of four 64-bit lanes set */
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
static inline __attribute__((always_inline)) ATTR float fastnn_reduce_avx2_f(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline __attribute__((always_inline)) ATTR double fastnn_reduce_avx2_d(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

#define T float
#define V __m256
#define VW 8
#define VZERO _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VLOADM(p, n) _mm256_maskload_ps(p, fastnn_mask8_avx2(n))
#define VSTOREM(p, v, n) _mm256_maskstore_ps(p, fastnn_mask8_avx2(n), v)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VREDUCE(v) fastnn_reduce_avx2_f(v)
#define SFMA(a, b, c) __builtin_fmaf(a, b, c)
#define FN(name) FASTNN_CAT(fastnn_##name, avx2_f)
#include "_smallmm_body.h"
#include "_smallmm_undef.h"

#define T double
#define V __m256d
#define VW 4
#define VZERO _mm256_setzero_pd()
#define VSET1(x) _mm256_set1_pd(x)
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd(p, v)
#define VLOADM(p, n) _mm256_maskload_pd(p, fastnn_mask4_avx2(n))
#define VSTOREM(p, v, n) _mm256_maskstore_pd(p, fastnn_mask4_avx2(n), v)
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm256_mul_pd(a, b)
#define VREDUCE(v) fastnn_reduce_avx2_d(v)
#define SFMA(a, b, c) __builtin_fma(a, b, c)
#define FN(name) FASTNN_CAT(fastnn_##name, avx2_d)
#include "_smallmm_body.h"
#include "_smallmm_undef.h"
#undef ATTR
#undef DOT_MR
#undef DOT_NR
#undef OUT_MR
#undef OUT_NV

/* ---- AVX-512F: 32 registers of 512 bits ---------------------------------- */
#define ATTR __attribute__((target("avx512f")))
#define DOT_MR 5
#define DOT_NR 5
#define OUT_MR 12
#define OUT_NV 2

#define T float
#define V __m512
#define VW 16
#define VZERO _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VLOADM(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define VSTOREM(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VREDUCE(v) _mm512_reduce_add_ps(v)
#define SFMA(a, b, c) __builtin_fmaf(a, b, c)
#define FN(name) FASTNN_CAT(fastnn_##name, avx512_f)
#include "_smallmm_body.h"
#include "_smallmm_undef.h"

#define T double
#define V __m512d
#define VW 8
#define VZERO _mm512_setzero_pd()
#define VSET1(x) _mm512_set1_pd(x)
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, v) _mm512_storeu_pd(p, v)
#define VLOADM(p, n) _mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1), p)
#define VSTOREM(p, v, n) _mm512_mask_storeu_pd(p, (__mmask8)((1u << (n)) - 1), v)
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm512_mul_pd(a, b)
#define VREDUCE(v) _mm512_reduce_add_pd(v)
#define SFMA(a, b, c) __builtin_fma(a, b, c)
#define FN(name) FASTNN_CAT(fastnn_##name, avx512_d)
#include "_smallmm_body.h"
#include "_smallmm_undef.h"
#undef ATTR
#undef DOT_MR
#undef DOT_NR
#undef OUT_MR
#undef OUT_NV
#endif  /* FASTNN_X86_SIMD */

/* The most rows of A that nt takes in variant ``level`` for elements of
   ``elsize`` bytes.  Past it OpenBLAS's packed kernels win: with AVX2 on an
   AMD EPYC (Zen 2 class, 32 KB L1), its float64 product of m rows by 784
   inputs by 30 to 1,000 neurons took 0.71-0.97x our time at m = 16 and
   0.62x at m = 32, and its float32 one 0.84-0.98x at m = 28 and 32, while
   ours was faster below (1.1-1.8x at m <= 14 in float64, 1.1-1.4x at m <= 24
   in float32); training [784, 100, 10] in float64 at mini-batch 16 and 32
   took 0.73-0.88x main's time with this limit.  The AVX-512 variant (32
   registers) keeps nt to FASTNN_SMALL_DIM, as measured on the machine of
   its tuning.  nn, whose small side is a broadcast, keeps it everywhere;
   tn has its own limit (fastnn_smallmm_tn_depth). */
static inline int fastnn_smallmm_nt_rows(int level, int elsize)
{
    if (level == FASTNN_SIMD_AVX2)
        return elsize == 8 ? 14 : 24;
    return FASTNN_SMALL_DIM;
}

/* The longest sum (K, the small side) that tn takes in variant ``level``
   for elements of ``elsize`` bytes.  tn is the weight gradient, a sum over
   the mini-batch.  With AVX2 in float32 ours stays ahead of OpenBLAS past
   FASTNN_SMALL_DIM: the product of 100 x K by K x 784 alone ran at 73-78
   GFLOP/s against OpenBLAS's 46-62 at K = 64, and 69-74 against 49-66 at K =
   128, on an AMD EPYC (Zen 2 class) whose big float32 gemm runs at 76; a
   float32 epoch of [784, 100, 10] or [784, 1000, 10] at mini-batch 48 and 64
   took 0.91-0.98x the time with BLAS's (medians of 4 alternating rounds),
   while at 128 the larger network lost (1.03-1.18x).  In float64 OpenBLAS
   is as fast at K = 32 and faster from 64, so there, and in the other
   variants, tn keeps to FASTNN_SMALL_DIM. */
static inline int fastnn_smallmm_tn_depth(int level, int elsize)
{
    if (level == FASTNN_SIMD_AVX2 && elsize == 4)
        return 64;
    return FASTNN_SMALL_DIM;
}

/* Which product serves row-major op(A)[M,K] op(B)[K,N] in variant ``level``
   for elements of ``elsize`` bytes: 0 for BLAS (always, at level "blas"),
   else 1 (nt), 2 (nn) or 3 (tn). */
static inline int fastnn_smallmm_route(int level, int elsize, int trans_a, int trans_b, int M,
                                       int N, int K)
{
    if (level == FASTNN_SIMD_BLAS || M <= 0 || N <= 0 || K <= 0)
        return 0;
    /* nt makes each element a dot product over K: short dots (a first
       convolution's 25 taps over 2,304 positions) run better as BLAS's outer
       products (measured 1.3-2x).  The rule looks at M and K only, never at
       N: a layer's neurons are split among threads and into fused blocks,
       and every part must take the same kernel, or results would depend on
       the split. */
    if (!trans_a && trans_b && M <= fastnn_smallmm_nt_rows(level, elsize)
            && K >= FASTNN_SMALL_DIM)
        return 1;
    if (!trans_a && !trans_b && M <= FASTNN_SMALL_DIM)
        return 2;
    if (trans_a && !trans_b && K <= fastnn_smallmm_tn_depth(level, elsize))
        return 3;
    return 0;
}

/* One variant's three products, by route. */
#define FASTNN_SMALLMM_RUN(variant)                                                           \
    do {                                                                                      \
        if (route == 1)                                                                       \
            fastnn_gemm_nt_##variant(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);           \
        else if (route == 2)                                                                  \
            fastnn_gemm_outer_##variant(M, N, K, alpha, A, lda, 1, B, ldb, beta, C, ldc);     \
        else                                                                                  \
            fastnn_gemm_outer_##variant(M, N, K, alpha, A, 1, lda, B, ldb, beta, C, ldc);     \
    } while (0)

/* For one element type T (suffix S: f or d), two entry points; each returns 1
   when the product was done, 0 when the shape is not one of ours and the
   caller should use BLAS:
   fastnn_smallmm_S_with: through variant ``level`` (the kernel tests name it);
   fastnn_smallmm_S: through the process's level (fastnn_simd).
   Both compute row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C. */
#define FASTNN_SMALLMM_ENTRIES(T, S)                                                          \
static int fastnn_smallmm_##S##_with(int level, int trans_a, int trans_b, int M, int N,       \
                                     int K, T alpha, const T* A, int lda, const T* B,         \
                                     int ldb, T beta, T* C, int ldc)                          \
{                                                                                             \
    int route = fastnn_smallmm_route(level, (int)sizeof(T), trans_a, trans_b, M, N, K);      \
    if (route == 0)                                                                           \
        return 0;                                                                             \
    FASTNN_SMALLMM_PICK(S)                                                                    \
    return 1;                                                                                 \
}                                                                                             \
                                                                                              \
static inline int fastnn_smallmm_##S(int trans_a, int trans_b, int M, int N, int K, T alpha,  \
                                     const T* A, int lda, const T* B, int ldb, T beta,        \
                                     T* C, int ldc)                                           \
{                                                                                             \
    return fastnn_smallmm_##S##_with(fastnn_simd(), trans_a, trans_b, M, N, K, alpha, A, lda, \
                                     B, ldb, beta, C, ldc);                                   \
}

/* The variant named by ``level``, for element suffix S. */
#if FASTNN_X86_SIMD
#define FASTNN_SMALLMM_PICK(S)                                                                \
    if (level == FASTNN_SIMD_AVX512)                                                          \
        FASTNN_SMALLMM_RUN(avx512_##S);                                                       \
    else if (level == FASTNN_SIMD_AVX2)                                                       \
        FASTNN_SMALLMM_RUN(avx2_##S);                                                         \
    else                                                                                      \
        FASTNN_SMALLMM_RUN(generic_##S);
#else
#define FASTNN_SMALLMM_PICK(S) FASTNN_SMALLMM_RUN(generic_##S);
#endif

FASTNN_SMALLMM_ENTRIES(float, f)
FASTNN_SMALLMM_ENTRIES(double, d)

#undef FASTNN_SMALLMM_ENTRIES
#undef FASTNN_SMALLMM_PICK
#undef FASTNN_SMALLMM_RUN

#endif

/* The optimizers' elementwise loops (_optim.pxd: sgd_step and adam_step
   hold the scalars and call these), written once as macros over the element
   type and compiled twice on x86-64: for the baseline (SSE2) and with
   target("avx2"), which works on twice the elements per instruction.

   Neither variant may fuse a multiply and an add: the AVX2 target leaves FMA
   out on purpose, and contraction is switched off for these loops alone
   (FASTNN_STEP_NO_CONTRACT below), so that flags such as -march=native or a
   target with FMA in its baseline (aarch64) fuse nothing either.  So every
   variant rounds every operation as the numpy reference steps do
   (fastnn.optimizers), and the level in force (_simd.h: fastnn_simd_isa,
   AVX-512 included) changes no result.

   Each loop is its own, with the optimizer's case (momentum, Nesterov,
   regularized, decoupled decay) fixed outside it, so that no test sits inside
   a loop and the compiler vectorizes every one. */
#ifndef FASTNN_STEPS_H
#define FASTNN_STEPS_H

#include <stddef.h>
#include <float.h>
#include <math.h>

#include "_simd.h"

#if defined(__GNUC__) || defined(__clang__)
#define FASTNN_STEP_RESTRICT __restrict__
#else
#define FASTNN_STEP_RESTRICT
#endif

/* a*b + c is never contracted to one fused multiply-add in the loops: GCC
   takes it for the functions between the push and pop of options below,
   clang at the head of each function body */
#if defined(__clang__)
#define FASTNN_STEP_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define FASTNN_STEP_NO_CONTRACT
#endif

/* x, or 0 where |x| is below the smallest normal number TINY: state that
   decays each step on a parameter whose gradient is mostly zero would
   otherwise sink into the subnormal range, where arithmetic runs many times
   slower.  A select, so it vectorizes; NaN fails both tests and stays. */
#define FASTNN_NORMAL_OR_ZERO(T, x, TINY) (((x) < (TINY) && (x) > -(TINY)) ? (T)0 : (x))
/* sgn(x) without a branch, sgn(0) = 0 */
#define FASTNN_SIGN(T, x) ((T)((x) > 0) - (T)((x) < 0))

/* SGD with momentum mu (velocities v) or without (v NULL): the step is
   d = -s g - decay w - l1 sgn(w); with momentum v <- mu v + d, then
   w <- w + v, or w <- w + (mu v + d) with Nesterov.  Plain SGD (no momentum,
   no L1) shrinks w by keep = 1 - decay instead. */
#define FASTNN_SGD_LOOPS(T, TINY, SFX)                                                         \
FASTNN_STEP_TARGET static void fastnn_sgd_##SFX(ptrdiff_t n, T* FASTNN_STEP_RESTRICT w,        \
        const T* FASTNN_STEP_RESTRICT g, T* FASTNN_STEP_RESTRICT v, T s, T mu, T decay, T l1,   \
        T keep, int plain, int regularize, int nesterov)                                       \
{                                                                                              \
    FASTNN_STEP_NO_CONTRACT                                                                    \
    ptrdiff_t i;                                                                               \
    T d;                                                                                       \
    if (plain) {                                                                               \
        if (regularize)                                                                        \
            for (i = 0; i < n; i++) w[i] = keep * w[i] - s * g[i];                             \
        else                                                                                   \
            for (i = 0; i < n; i++) w[i] = w[i] - s * g[i];                                    \
    } else if (regularize && v != NULL && nesterov) {                                          \
        for (i = 0; i < n; i++) {                                                              \
            d = -s * g[i] - decay * w[i] - l1 * FASTNN_SIGN(T, w[i]);                          \
            v[i] = FASTNN_NORMAL_OR_ZERO(T, mu * v[i] + d, TINY);                              \
            w[i] = w[i] + (mu * v[i] + d);                                                     \
        }                                                                                      \
    } else if (regularize && v != NULL) {                                                      \
        for (i = 0; i < n; i++) {                                                              \
            d = -s * g[i] - decay * w[i] - l1 * FASTNN_SIGN(T, w[i]);                          \
            v[i] = FASTNN_NORMAL_OR_ZERO(T, mu * v[i] + d, TINY);                              \
            w[i] = w[i] + v[i];                                                                \
        }                                                                                      \
    } else if (regularize) {                                                                   \
        for (i = 0; i < n; i++) {                                                              \
            d = -s * g[i] - decay * w[i] - l1 * FASTNN_SIGN(T, w[i]);                          \
            w[i] = w[i] + d;                                                                   \
        }                                                                                      \
    } else if (v != NULL && nesterov) {                                                        \
        for (i = 0; i < n; i++) {                                                              \
            d = -s * g[i];                                                                     \
            v[i] = FASTNN_NORMAL_OR_ZERO(T, mu * v[i] + d, TINY);                              \
            w[i] = w[i] + (mu * v[i] + d);                                                     \
        }                                                                                      \
    } else if (v != NULL) {                                                                    \
        for (i = 0; i < n; i++) {                                                              \
            d = -s * g[i];                                                                     \
            v[i] = FASTNN_NORMAL_OR_ZERO(T, mu * v[i] + d, TINY);                              \
            w[i] = w[i] + v[i];                                                                \
        }                                                                                      \
    } else {                                                                                   \
        for (i = 0; i < n; i++) w[i] = w[i] + -s * g[i];                                       \
    }                                                                                          \
}

/* One Adam loop, its case (REG: the coupled terms l2 w + l1 sgn(w) join the
   gradient; DECAY: AdamW's decoupled shrink by keep) fixed by the caller:
   g~ = s g (+ l2 w + l1 sgn w); m1 <- b1 m1 + c1 g~; m2 <- b2 m2 + c2 g~^2;
   w <- w - a m1 / (r sqrt(m2) + eps). */
#define FASTNN_ADAM_LOOP(T, TINY, SQRT, REG, DECAY)                                            \
    for (i = 0; i < n; i++) {                                                                  \
        T gi = g[i] * s;                                                                       \
        if (REG) gi = gi + l2 * w[i] + l1 * FASTNN_SIGN(T, w[i]);                              \
        if (DECAY) w[i] = w[i] * keep;                                                         \
        m1[i] = FASTNN_NORMAL_OR_ZERO(T, b1 * m1[i] + c1 * gi, TINY);                          \
        m2[i] = FASTNN_NORMAL_OR_ZERO(T, b2 * m2[i] + c2 * (gi * gi), TINY);                   \
        w[i] = w[i] - (a * m1[i]) / (r * SQRT(m2[i]) + eps);                                   \
    }

#define FASTNN_ADAM_LOOPS(T, TINY, SQRT, SFX)                                                  \
FASTNN_STEP_TARGET static void fastnn_adam_##SFX(ptrdiff_t n, T* FASTNN_STEP_RESTRICT w,       \
        const T* FASTNN_STEP_RESTRICT g, T* FASTNN_STEP_RESTRICT m1,                           \
        T* FASTNN_STEP_RESTRICT m2, T s, T l2, T l1, T keep, T b1, T c1, T b2, T c2, T a, T r, \
        T eps, int regularize, int decay)                                                      \
{                                                                                              \
    FASTNN_STEP_NO_CONTRACT                                                                    \
    ptrdiff_t i;                                                                               \
    if (regularize && decay) { FASTNN_ADAM_LOOP(T, TINY, SQRT, 1, 1) }                         \
    else if (regularize) { FASTNN_ADAM_LOOP(T, TINY, SQRT, 1, 0) }                             \
    else if (decay) { FASTNN_ADAM_LOOP(T, TINY, SQRT, 0, 1) }                                  \
    else { FASTNN_ADAM_LOOP(T, TINY, SQRT, 0, 0) }                                             \
}

#define FASTNN_STEP_VARIANT(SFX)                                                               \
    FASTNN_SGD_LOOPS(float, FLT_MIN, f_##SFX)                                                  \
    FASTNN_SGD_LOOPS(double, DBL_MIN, d_##SFX)                                                 \
    FASTNN_ADAM_LOOPS(float, FLT_MIN, sqrtf, f_##SFX)                                          \
    FASTNN_ADAM_LOOPS(double, DBL_MIN, sqrt, d_##SFX)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
#if FASTNN_X86_SIMD
/* "avx2" alone: no "fma", so that nothing is contracted (see above) */
#define FASTNN_STEP_TARGET __attribute__((target("avx2")))
FASTNN_STEP_VARIANT(avx2)
#undef FASTNN_STEP_TARGET
#endif
#define FASTNN_STEP_TARGET
FASTNN_STEP_VARIANT(generic)
#undef FASTNN_STEP_TARGET
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* The loops _optim.pxd calls: the AVX2 variant wherever the process's level
   is AVX2 or above (fastnn_simd_isa), else the baseline. */
#if FASTNN_X86_SIMD
#define FASTNN_STEP_PICK(NAME, S, ARGS)                                                        \
    do {                                                                                       \
        if (fastnn_simd_isa() >= FASTNN_SIMD_AVX2) NAME##_##S##_avx2 ARGS;                     \
        else NAME##_##S##_generic ARGS;                                                        \
    } while (0)
#else
#define FASTNN_STEP_PICK(NAME, S, ARGS) NAME##_##S##_generic ARGS
#endif

#define FASTNN_STEP_DISPATCH(T, S)                                                             \
static inline void fastnn_sgd_##S(ptrdiff_t n, T* w, const T* g, T* v, T s, T mu, T decay,    \
                                  T l1, T keep, int plain, int regularize, int nesterov) {     \
    FASTNN_STEP_PICK(fastnn_sgd, S, (n, w, g, v, s, mu, decay, l1, keep, plain, regularize,    \
                                     nesterov));                                               \
}                                                                                              \
static inline void fastnn_adam_##S(ptrdiff_t n, T* w, const T* g, T* m1, T* m2, T s, T l2,    \
        T l1, T keep, T b1, T c1, T b2, T c2, T a, T r, T eps, int regularize, int decay) {    \
    FASTNN_STEP_PICK(fastnn_adam, S, (n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, r,  \
                                      eps, regularize, decay));                                \
}

FASTNN_STEP_DISPATCH(float, f)
FASTNN_STEP_DISPATCH(double, d)

#endif

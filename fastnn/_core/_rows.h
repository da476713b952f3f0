/* A dense layer of a small mini-batch, one row of its weights at a time.

   network3's dense layers hold w as (n_in, n_out): row k of w is everything
   input k feeds.  With a mini-batch of ten, a product such as x w is too
   short for a gemm to run well, and most of x is zero: dropout zeroes half
   of each layer's inputs and ReLU about half of the rest.  So these kernels
   walk the rows of w, and for row k touch only the examples whose input k
   is not zero:

     forward   z[i, :] += x[i, k] w[k, :]           (x[i, k] != 0)
     backward  dx[i, k] = w[k, :] . dz[i, :]        (where dx is needed)
               g[k, :]  = sum_i x[i, k] dz[i, :]    (x[i, k] != 0)
               w[k, :]  = keep w[k, :] - s g[k, :]  (plain SGD, fused)

   The backward pass reads each row once for the input error, the gradient
   and the step together, where three products read the whole matrix.  A
   zero input adds nothing (0 * w = 0 for the finite weights the network
   checks), so skipping it changes no sum; the order of the additions is
   fixed by the row and example numbers alone, so results do not depend on
   how a run was cut into calls.

   Each kernel is written once, as a macro over the element type.  Vectors
   are GCC's vector extension; on x86-64 each kernel is compiled three times
   with function attributes (AVX-512F, AVX2+FMA, baseline SSE2), and runs in
   the variant of the process's one instruction-set level (_simd.h:
   fastnn_simd_isa, from the CPU or FASTNN_SIMD), so the default build stays
   portable and one setting picks every kernel's instruction set. */
#ifndef FASTNN_ROWS_H
#define FASTNN_ROWS_H

#include <string.h>
#include <stddef.h>

#include "_smallmm.h"

/* FASTNN_CLONES: the instruction set of the variant being compiled (set below, before each
   instantiation).  The helpers are inlined into each variant, so they are compiled for its
   instruction set (a helper left out of line would be compiled for the baseline only). */
#if defined(__GNUC__)
#define FASTNN_INLINE static inline __attribute__((always_inline))
#else
#define FASTNN_INLINE static inline
#endif

typedef float fastnn_vf __attribute__((vector_size(64)));    /* 16 floats */
typedef double fastnn_vd __attribute__((vector_size(64)));   /* 8 doubles */
typedef float fastnn_vf4 __attribute__((vector_size(16)));   /* the short tails of axpys */
typedef double fastnn_vd2 __attribute__((vector_size(16)));

/* One row of the backward pass in a single sweep over w[k, :], for plain SGD when the
   examples that need dx are those with a nonzero input (below a ReLU): the c examples
   idx[0..c), up to four at a time, each sweep adding to their dots (with the old w) and
   to the gradient; the last sweep steps w.  More than four examples keep the gradient
   between sweeps in g. */
#define FASTNN_FUSED_SWEEP(T, V, L, CNT)                                                       \
    do {                                                                                       \
        V acc[4] = {{0}}, vk, vs, zero = {0};                                                  \
        const T* d[4];                                                                         \
        T a[4], tail[4] = {0, 0, 0, 0};                                                        \
        Py_ssize_t j = 0;                                                                      \
        for (int u = 0; u < CNT; u++) {                                                        \
            d[u] = dz + (Py_ssize_t)idx[t0 + u] * n;                                           \
            a[u] = val[t0 + u];                                                                \
        }                                                                                      \
        for (int l = 0; l < L; l++) { vk[l] = keep; vs[l] = s; }                               \
        for (; j + L <= n; j += L) {                                                           \
            V wv, gv, dv;                                                                      \
            memcpy(&wv, wk + j, sizeof(V));                                                    \
            if (first) gv = zero; else memcpy(&gv, g + j, sizeof(V));                          \
            for (int u = 0; u < CNT; u++) {                                                    \
                memcpy(&dv, d[u] + j, sizeof(V));                                              \
                acc[u] += wv * dv;                                                             \
                gv += a[u] * dv;                                                               \
            }                                                                                  \
            if (last) {                                                                        \
                wv = vk * wv - vs * gv;                                                        \
                memcpy(wk + j, &wv, sizeof(V));                                                \
            } else {                                                                           \
                memcpy(g + j, &gv, sizeof(V));                                                 \
            }                                                                                  \
        }                                                                                      \
        for (; j < n; j++) {                                                                   \
            T gj = first ? 0 : g[j];                                                           \
            T wj = wk[j];                                                                      \
            for (int u = 0; u < CNT; u++) {                                                    \
                tail[u] += wj * d[u][j];                                                       \
                gj += a[u] * d[u][j];                                                          \
            }                                                                                  \
            if (last) wk[j] = keep * wj - s * gj; else g[j] = gj;                              \
        }                                                                                      \
        if (dxk != NULL) {                                                                     \
            for (int u = 0; u < CNT; u++) {                                                    \
                T sum = 0;                                                                     \
                for (int l = 0; l < L; l++) sum += acc[u][l];                                  \
                dxk[(Py_ssize_t)idx[t0 + u] * ldx] = sum + tail[u];                            \
            }                                                                                  \
        }                                                                                      \
    } while (0)

#define FASTNN_ROWS(T, V, L, VS, LS, SFX)                                                            \
FASTNN_INLINE void fastnn_row_fused_##SFX(Py_ssize_t n, T* wk, const T* dz, const int* idx,    \
        const T* val, int c, T* dxk, Py_ssize_t ldx, T* g, T keep, T s) {                      \
    if (c == 0) {                                                                              \
        for (Py_ssize_t j = 0; j < n; j++) wk[j] = keep * wk[j] - s * (T)0;                    \
        return;                                                                                \
    }                                                                                          \
    for (int t0 = 0; t0 < c; t0 += 4) {                                                        \
        int first = t0 == 0, last = t0 + 4 >= c;                                               \
        switch (c - t0) {                                                                      \
        case 1: FASTNN_FUSED_SWEEP(T, V, L, 1); break;                                         \
        case 2: FASTNN_FUSED_SWEEP(T, V, L, 2); break;                                         \
        case 3: FASTNN_FUSED_SWEEP(T, V, L, 3); break;                                         \
        default: FASTNN_FUSED_SWEEP(T, V, L, 4); break;                                        \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
/* y[:n] += a * x[:n] */                                                                       \
FASTNN_INLINE void fastnn_axpy_##SFX(Py_ssize_t n, T a, const T* __restrict x,                \
                                     T* __restrict y) {                                        \
    Py_ssize_t j = 0;                                                                          \
    V va;                                                                                      \
    for (int l = 0; l < L; l++) va[l] = a;                                                     \
    for (; j + L <= n; j += L) {                                                               \
        V vx, vy;                                                                              \
        memcpy(&vx, x + j, sizeof(V));                                                         \
        memcpy(&vy, y + j, sizeof(V));                                                         \
        vy += va * vx;                                                                         \
        memcpy(y + j, &vy, sizeof(V));                                                         \
    }                                                                                          \
    for (; j + LS <= n; j += LS) {   /* short rows (K = 25 for a 5x5 filter on one map) */     \
        VS vx, vy, vs;                                                                         \
        for (int l = 0; l < LS; l++) vs[l] = a;                                                \
        memcpy(&vx, x + j, sizeof(VS));                                                        \
        memcpy(&vy, y + j, sizeof(VS));                                                        \
        vy += vs * vx;                                                                         \
        memcpy(y + j, &vy, sizeof(VS));                                                        \
    }                                                                                          \
    for (; j < n; j++) y[j] += a * x[j];                                                       \
}                                                                                              \
/* x[:n] . y[:n], in L lanes added in a fixed order */                                         \
FASTNN_INLINE T fastnn_dot_##SFX(Py_ssize_t n, const T* __restrict x, const T* __restrict y) { \
    Py_ssize_t j = 0;                                                                          \
    V acc = {0};                                                                               \
    T s = 0;                                                                                   \
    for (; j + L <= n; j += L) {                                                               \
        V vx, vy;                                                                              \
        memcpy(&vx, x + j, sizeof(V));                                                         \
        memcpy(&vy, y + j, sizeof(V));                                                         \
        acc += vx * vy;                                                                        \
    }                                                                                          \
    for (int l = 0; l < L; l++) s += acc[l];                                                   \
    for (; j < n; j++) s += x[j] * y[j];                                                       \
    return s;                                                                                  \
}                                                                                              \
/* The examples whose input k is not zero: their numbers and inputs. */                        \
FASTNN_INLINE int fastnn_nonzero_##SFX(int m, const T* xk, Py_ssize_t ldx, int* idx, T* val) { \
    int c = 0;                                                                                 \
    for (int i = 0; i < m; i++) {                                                              \
        T v = xk[i * ldx];                                                                     \
        idx[c] = i;                                                                            \
        val[c] = v;                                                                            \
        c += v != 0;                                                                           \
    }                                                                                          \
    return c;                                                                                  \
}                                                                                              \
/* Rows k0 .. k1-1 of the forward pass: z (m, n) = x[:, k0:k1] w[k0:k1, :], with x of row      \
   stride ldx and w of row length n; z is overwritten. */                                      \
FASTNN_CLONES static void fastnn_rows_forward_##SFX(int m, Py_ssize_t n, int k0, int k1,       \
        const T* x, Py_ssize_t ldx, const T* w, T* z, int* idx, T* val) {                      \
    memset(z, 0, (size_t)m * n * sizeof(T));                                                   \
    for (int k = k0; k < k1; k++) {                                                            \
        int c = fastnn_nonzero_##SFX(m, x + k, ldx, idx, val);                                 \
        const T* wk = w + (Py_ssize_t)k * n;                                                   \
        for (int t = 0; t < c; t++)                                                            \
            fastnn_axpy_##SFX(n, val[t], wk, z + (Py_ssize_t)idx[t] * n);                     \
    }                                                                                          \
}                                                                                              \
/* Rows k0 .. k1-1 of the backward pass, dz (m, n) known.  When dx is not NULL,                \
   dx[i, k] = w[k, :] . dz[i, :] for the examples that need it (every one; with mask, those    \
   whose mask is 1; with nonzero_only, those whose input x[i, k] is not zero: below a ReLU     \
   only they pass a gradient on) and 0 for the others.  g[k, :] (row stride ldg; ldg = 0       \
   reuses one row) = sum_i x[i, k] dz[i, :], then, when plain, w[k, :] = keep w - s g.         \
   The rows are walked from the last to the first: the forward pass walked them the other     \
   way, so the rows it read last are still in cache.  Each row is independent of the others: \
   the order changes no result. */                                                             \
FASTNN_CLONES static void fastnn_rows_backward_##SFX(int m, Py_ssize_t n, int k0, int k1,      \
        const T* x, Py_ssize_t ldx, const unsigned char* mask, int nonzero_only, T* w,         \
        const T* dz, T* dx, T* g, Py_ssize_t ldg, int plain, T keep, T s, int* idx, T* val) {  \
    int fused = plain && ldg == 0 && (dx == NULL || nonzero_only);                             \
    for (int k = k1 - 1; k >= k0; k--) {                                                       \
        T* wk = w + (Py_ssize_t)k * n;                                                         \
        T* gk = g + (Py_ssize_t)(k - k0) * ldg;                                                \
        int c = fastnn_nonzero_##SFX(m, x + k, ldx, idx, val);                                 \
        if (fused) {                                                                           \
            if (dx != NULL)                                                                    \
                for (int i = 0; i < m; i++) dx[(Py_ssize_t)i * ldx + k] = 0;                   \
            fastnn_row_fused_##SFX(n, wk, dz, idx, val, c, dx == NULL ? NULL : dx + k, ldx,    \
                                   gk, keep, s);                                               \
            continue;                                                                          \
        }                                                                                      \
        if (dx != NULL) {                                                                      \
            for (int i = 0; i < m; i++) {                                                      \
                Py_ssize_t at = (Py_ssize_t)i * ldx + k;                                       \
                int need = nonzero_only ? x[at] != 0 : (mask == NULL || mask[at]);             \
                dx[at] = need ? fastnn_dot_##SFX(n, wk, dz + (Py_ssize_t)i * n) : 0;           \
            }                                                                                  \
        }                                                                                      \
        memset(gk, 0, n * sizeof(T));                                                          \
        for (int t = 0; t < c; t++)                                                            \
            fastnn_axpy_##SFX(n, val[t], dz + (Py_ssize_t)idx[t] * n, gk);                    \
        if (plain) {                                                                           \
            Py_ssize_t j = 0;                                                                  \
            V vk, vs;                                                                          \
            for (int l = 0; l < L; l++) { vk[l] = keep; vs[l] = s; }                           \
            for (; j + L <= n; j += L) {                                                       \
                V vw, vg;                                                                      \
                memcpy(&vw, wk + j, sizeof(V));                                                \
                memcpy(&vg, gk + j, sizeof(V));                                                \
                vw = vk * vw - vs * vg;                                                        \
                memcpy(wk + j, &vw, sizeof(V));                                                \
            }                                                                                  \
            for (; j < n; j++) wk[j] = keep * wk[j] - s * gk[j];                               \
        }                                                                                      \
    }                                                                                          \
}


/* Convolution, with the im2col matrix stored one row per output position ("im2row"):
   row p = i*OW + j holds the K = C*KH*KW inputs that position sees, x[c, i+u, j+v] at
   k = c*KH*KW + KH*KW-1 - (u*KW + v) (read backwards within each channel: the filter flip
   of a true convolution, so the book's filters multiply it as they are stored).  The
   weight gradient then needs, for each pooled unit, only the row of the position that won
   its window:

     gw[f, :] += dz[f, q] * row[argmax[f, q], :]       (dz[f, q] != 0)

   a quarter of the positions for 2x2 pooling, fewer where ReLU or dropout zeroed dz, each
   a contiguous axpy of K. */
/* One example's im2row, for a filter width KW_ known to the compiler when it is a literal: */\
/* the runs are then straight-line copies (runtime-length runs of 5 cost twice as much). */   \
#define FASTNN_IM2ROW_BODY(T, KW_)                                                             \
    do {                                                                                       \
        const int kw_ = (KW_), kk = KH * kw_;                                                  \
        Py_ssize_t K = (Py_ssize_t)C * kk;                                                     \
        for (int i = 0; i < OH; i++)                                                           \
            for (int j = 0; j < OW; j++) {                                                     \
                T* row = rows + ((Py_ssize_t)i * OW + j) * K;                                  \
                for (int c = 0; c < C; c++)                                                    \
                    for (int u = 0; u < KH; u++) {                                             \
                        const T* src = x + ((Py_ssize_t)c * H + i + u) * W + j;                \
                        T* dst = row + c * kk + kk - 1 - u * kw_;                              \
                        for (int v = 0; v < kw_; v++) dst[-v] = src[v];                        \
                    }                                                                          \
            }                                                                                  \
    } while (0)

#define FASTNN_CONV(T, SFX)                                                                    \
FASTNN_CLONES static void fastnn_im2row_##SFX(const T* x, T* rows, int C, int H, int W,       \
                                             int KH, int KW, int OH, int OW) {                                              \
    switch (KW) {                                                                              \
    case 5: FASTNN_IM2ROW_BODY(T, 5); break;                                                   \
    case 3: FASTNN_IM2ROW_BODY(T, 3); break;                                                   \
    default: FASTNN_IM2ROW_BODY(T, KW); break;                                                 \
    }                                                                                          \
}                                                                                              \
FASTNN_CLONES static void fastnn_conv_wgrad_##SFX(int F, int Q, Py_ssize_t K, const T* dz,     \
        const int* argmax, const T* rows, T* gw) {                                             \
    for (int f = 0; f < F; f++)                                                                \
        for (int q = 0; q < Q; q++) {                                                          \
            T d = dz[(Py_ssize_t)f * Q + q];                                                   \
            if (d != 0)                                                                        \
                fastnn_axpy_##SFX(K, d, rows + (Py_ssize_t)argmax[(Py_ssize_t)f * Q + q] * K,  \
                                  gw + (Py_ssize_t)f * K);                                     \
        }                                                                                      \
}                                                                                              \
/* The input error the same way: each pooled unit's dz[f, q] goes back through filter f to \
   the K inputs of its winning position, drows[p, :] += dz[f, q] * w[f, :] (an axpy of K),  \
   and then the rows of the positions that received any go back onto the pixels they were  \
   read from (the adjoint of im2row; ``dx`` zeroed by the caller).  ``touched`` (P ints)   \
   marks those positions, so the others are neither zeroed nor read. */                     \
FASTNN_CLONES static void fastnn_conv_dinput_##SFX(int F, int Q, Py_ssize_t K, const T* dz,    \
        const int* argmax, const T* w, T* drows, int* touched, T* dx, int C, int H, int W,     \
        int KH, int KW, int OH, int OW) {                                                      \
    int kk = KH * KW, P = OH * OW;                                                             \
    memset(touched, 0, (size_t)P * sizeof(int));                                               \
    for (int f = 0; f < F; f++)                                                                \
        for (int q = 0; q < Q; q++) {                                                          \
            T d = dz[(Py_ssize_t)f * Q + q];                                                   \
            int p;                                                                             \
            if (d == 0) continue;                                                              \
            p = argmax[(Py_ssize_t)f * Q + q];                                                 \
            if (!touched[p]) {                                                                 \
                memset(drows + (Py_ssize_t)p * K, 0, K * sizeof(T));                           \
                touched[p] = 1;                                                                \
            }                                                                                  \
            fastnn_axpy_##SFX(K, d, w + (Py_ssize_t)f * K, drows + (Py_ssize_t)p * K);         \
        }                                                                                      \
    for (int p = 0; p < P; p++) {                                                              \
        int i = p / OW, j = p - (p / OW) * OW;                                                 \
        const T* row = drows + (Py_ssize_t)p * K;                                              \
        if (!touched[p]) continue;                                                             \
        for (int c = 0; c < C; c++)                                                            \
            for (int u = 0; u < KH; u++) {                                                     \
                T* dst = dx + ((Py_ssize_t)c * H + i + u) * W + j;                             \
                const T* src = row + c * kk + kk - 1 - u * KW;                                 \
                for (int v = 0; v < KW; v++) dst[v] += src[-v];                                \
            }                                                                                  \
    }                                                                                          \
}

/* Every kernel in each variant: _avx512 and _avx2 where the compiler targets x86, and
   _generic (baseline) everywhere. */
#define FASTNN_VARIANT(SFX)                                                                    \
    FASTNN_ROWS(float, fastnn_vf, 16, fastnn_vf4, 4, f_##SFX)                                  \
    FASTNN_ROWS(double, fastnn_vd, 8, fastnn_vd2, 2, d_##SFX)                                  \
    FASTNN_CONV(float, f_##SFX)                                                                \
    FASTNN_CONV(double, d_##SFX)

/* What the CPU check in _simd.h (fastnn_simd_best) asks of the AVX-512 and AVX2
   variants: with FMA and AVX-512VL the short vectors of the tails are fused too (avx512f
   alone measured 5% slower on the dropout network). */
#define FASTNN_AVX512_TARGET "avx512f,avx512vl,avx512bw,avx512dq,avx512cd,fma"
#define FASTNN_AVX2_TARGET "avx2,fma"
#if FASTNN_X86_SIMD
#define FASTNN_CLONES __attribute__((target(FASTNN_AVX512_TARGET)))
FASTNN_VARIANT(avx512)
#undef FASTNN_CLONES
#define FASTNN_CLONES __attribute__((target(FASTNN_AVX2_TARGET)))
FASTNN_VARIANT(avx2)
#undef FASTNN_CLONES
#endif
#define FASTNN_CLONES
FASTNN_VARIANT(generic)
#undef FASTNN_CLONES

/* The kernels _conv calls: each runs the variant fastnn_simd_isa() names. */
#if FASTNN_X86_SIMD
#define FASTNN_PICK(NAME, S, ARGS)                                                             \
    do {                                                                                       \
        int isa_ = fastnn_simd_isa();                                                          \
        if (isa_ == FASTNN_SIMD_AVX512) NAME##_##S##_avx512 ARGS;                              \
        else if (isa_ == FASTNN_SIMD_AVX2) NAME##_##S##_avx2 ARGS;                             \
        else NAME##_##S##_generic ARGS;                                                        \
    } while (0)
#else
#define FASTNN_PICK(NAME, S, ARGS) NAME##_##S##_generic ARGS
#endif

#define FASTNN_DISPATCH(T, S)                                                                  \
static void fastnn_rows_forward_##S(int m, Py_ssize_t n, int k0, int k1, const T* x,          \
        Py_ssize_t ldx, const T* w, T* z, int* idx, T* val) {                                  \
    FASTNN_PICK(fastnn_rows_forward, S, (m, n, k0, k1, x, ldx, w, z, idx, val));             \
}                                                                                              \
static void fastnn_rows_backward_##S(int m, Py_ssize_t n, int k0, int k1, const T* x,         \
        Py_ssize_t ldx, const unsigned char* mask, int nonzero_only, T* w, const T* dz, T* dx, \
        T* g, Py_ssize_t ldg, int plain, T keep, T s, int* idx, T* val) {                      \
    FASTNN_PICK(fastnn_rows_backward, S, (m, n, k0, k1, x, ldx, mask, nonzero_only, w, dz, dx, \
                                          g, ldg, plain, keep, s, idx, val));                  \
}                                                                                              \
static void fastnn_im2row_##S(const T* x, T* rows, int C, int H, int W, int KH, int KW,       \
                              int OH, int OW) {                                                \
    FASTNN_PICK(fastnn_im2row, S, (x, rows, C, H, W, KH, KW, OH, OW));                        \
}                                                                                              \
static void fastnn_conv_wgrad_##S(int F, int Q, Py_ssize_t K, const T* dz, const int* argmax, \
                                  const T* rows, T* gw) {                                      \
    FASTNN_PICK(fastnn_conv_wgrad, S, (F, Q, K, dz, argmax, rows, gw));                       \
}                                                                                              \
static void fastnn_conv_dinput_##S(int F, int Q, Py_ssize_t K, const T* dz, const int* argmax,\
        const T* w, T* drows, int* touched, T* dx, int C, int H, int W, int KH, int KW,        \
        int OH, int OW) {                                                                      \
    FASTNN_PICK(fastnn_conv_dinput, S, (F, Q, K, dz, argmax, w, drows, touched, dx, C, H, W,   \
                                        KH, KW, OH, OW));                                      \
}

FASTNN_DISPATCH(float, f)
FASTNN_DISPATCH(double, d)

#endif

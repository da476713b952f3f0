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
   (AVX-512, AVX2+FMA, baseline SSE2) and the loader picks the one this CPU
   runs (target_clones), so the default build stays portable. */
#ifndef FASTNN_ROWS_H
#define FASTNN_ROWS_H

#include <string.h>
#include <stddef.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define FASTNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef FASTNN_CLONES
#define FASTNN_CLONES
#endif

typedef float fastnn_vf __attribute__((vector_size(64)));    /* 16 floats */
typedef double fastnn_vd __attribute__((vector_size(64)));   /* 8 doubles */

#define FASTNN_ROWS(T, V, L, SFX)                                                              \
/* y[:n] += a * x[:n] */                                                                       \
static inline void fastnn_axpy_##SFX(Py_ssize_t n, T a, const T* __restrict x,                \
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
    for (; j < n; j++) y[j] += a * x[j];                                                       \
}                                                                                              \
/* x[:n] . y[:n], in L lanes added in a fixed order */                                         \
static inline T fastnn_dot_##SFX(Py_ssize_t n, const T* __restrict x, const T* __restrict y) { \
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
static inline int fastnn_nonzero_##SFX(int m, const T* xk, Py_ssize_t ldx, int* idx, T* val) { \
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
   reuses one row) = sum_i x[i, k] dz[i, :], then, when plain, w[k, :] = keep w - s g. */      \
FASTNN_CLONES static void fastnn_rows_backward_##SFX(int m, Py_ssize_t n, int k0, int k1,      \
        const T* x, Py_ssize_t ldx, const unsigned char* mask, int nonzero_only, T* w,         \
        const T* dz, T* dx, T* g, Py_ssize_t ldg, int plain, T keep, T s, int* idx, T* val) {  \
    for (int k = k0; k < k1; k++) {                                                            \
        T* wk = w + (Py_ssize_t)k * n;                                                         \
        T* gk = g + (Py_ssize_t)(k - k0) * ldg;                                                \
        int c = fastnn_nonzero_##SFX(m, x + k, ldx, idx, val);                                 \
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

FASTNN_ROWS(float, fastnn_vf, 16, f)
FASTNN_ROWS(double, fastnn_vd, 8, d)

#endif

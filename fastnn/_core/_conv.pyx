# cython: language_level=3
"""Compiled kernels for chapter 6 (network3): convolution, max-pooling, the
fully connected and softmax layers, their backward passes and the SGD step.

The twin of ``fastnn.reference3``: same layouts, same arithmetic, tested
against it tensor by tensor.  One ``Net`` object describes a network3 layer
stack and owns every buffer a training step needs, allocated once; a call to
``Net.train`` then runs a run of mini-batches without the GIL.

Layout per example (one row of the flat mini-batch):

* a ConvPoolLayer's input is ``(C, H, W)`` and its output ``(F, QH, QW)``,
  Theano's ``(channels, rows, columns)`` order, so a following fully connected
  layer sees the same flattening as network3;
* im2row builds, for each example, the matrix ``rows[p, k]`` (one row per
  output position ``p = i*OW + j``, K = C*kh*kw columns; the examples of a
  mini-batch follow each other, so one GEMM convolves many) with column
  ``k = c*kh*kw + kh*kw-1 - (u*kw+v)`` holding ``x[c, i+u, j+v]``: read
  *backwards* within each channel, so multiplying by the filters stored as
  the book stores them computes Theano's true (flipped) convolution, and the
  weight gradient comes out in the book's layout.  Backward, only the
  pooling winners whose dC/dz is not zero pass a gradient on: the weight
  gradient adds their rows, the input error adds their filters (``_rows.h``).

Parallelism (OpenMP, when built with it): ``ng`` = the thread count (at
most the batch size) parts share each step.  Conv layers split the
mini-batch into ``ng`` groups of consecutive examples, each convolving its
own examples forward and backward and leaving partial weight gradients,
which the threads add in group order and step after a barrier.  Dense layers
split the rows of their weights instead (see "Dense layers in training"):
every part works on the whole mini-batch, a barrier between phases.  The
result depends on ``ng`` only, not on whether OpenMP is present or how
threads are scheduled: a run is reproducible for a given thread count.  The
barrier spins briefly and then yields, which keeps two threads efficient on
a machine whose cores are also busy with other work.

BLAS is called from inside the parallel region: the caller must limit BLAS to
one thread while training (``fastnn.network3`` does, with threadpoolctl).
"""
import numbers

import numpy as np
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport parallel
from libc.string cimport memset, memcpy
from cpython.mem cimport PyMem_Malloc, PyMem_Free

from fastnn._core import _steps
from fastnn._core._blas cimport gemm
from fastnn._core._layers cimport (ACT_LINEAR, ACT_RELU, Activation, act_known, activate,
                                   activate_row, fc_forward, fc_weight_step, make_activation,
                                   times_act_prime, softmax_row)
from fastnn._core._optim cimport Step, make_step, param_step, step_begin
from fastnn._core._simd cimport fastnn_simd_share, level_ref
from fastnn._core._threads cimport (INT_LIMIT, Team, fastnn_bar_t, fastnn_num_threads,
                                    fastnn_thread_num, sync, team_join)

cnp.import_array()

# this module's kernels follow the process's one instruction-set level
fastnn_simd_share(level_ref())

cdef extern from "_rows.h":
    void fastnn_rows_forward_f(int m, Py_ssize_t n, int k0, int k1, const float* x, Py_ssize_t ldx,
                               const float* w, float* z, int* idx, float* val) nogil
    void fastnn_rows_forward_d(int m, Py_ssize_t n, int k0, int k1, const double* x,
                               Py_ssize_t ldx, const double* w, double* z, int* idx,
                               double* val) nogil
    void fastnn_rows_backward_f(int m, Py_ssize_t n, int k0, int k1, const float* x,
                                Py_ssize_t ldx, const unsigned char* mask, int nonzero_only,
                                float* w, const float* dz, float* dx, float* g, Py_ssize_t ldg,
                                int plain, float keep, float s, int* idx, float* val) nogil
    void fastnn_rows_backward_d(int m, Py_ssize_t n, int k0, int k1, const double* x,
                                Py_ssize_t ldx, const unsigned char* mask, int nonzero_only,
                                double* w, const double* dz, double* dx, double* g,
                                Py_ssize_t ldg, int plain, double keep, double s, int* idx,
                                double* val) nogil
    void fastnn_im2row_f(const float* x, float* rows, int C, int H, int W, int KH, int KW, int OH,
                         int OW) nogil
    void fastnn_im2row_d(const double* x, double* rows, int C, int H, int W, int KH, int KW,
                         int OH, int OW) nogil
    void fastnn_conv_wgrad_f(int F, int Q, Py_ssize_t K, const float* dz, const int* argmax,
                             const float* rows, float* gw) nogil
    void fastnn_conv_wgrad_d(int F, int Q, Py_ssize_t K, const double* dz, const int* argmax,
                             const double* rows, double* gw) nogil
    void fastnn_conv_dinput_f(int F, int Q, Py_ssize_t K, const float* dz, const int* argmax,
                              const float* w, float* drows, int* touched, float* dx, int C, int H,
                              int W, int KH, int KW, int OH, int OW) nogil
    void fastnn_conv_dinput_d(int F, int Q, Py_ssize_t K, const double* dz, const int* argmax,
                              const double* w, double* drows, int* touched, double* dx, int C,
                              int H, int W, int KH, int KW, int OH, int OW) nogil

cdef extern from *:
    """
    #include <string.h>
    /* 2x2 max-pooling of one feature map with selects (no branches: on
       real data the comparisons are unpredictable): z = max + bias, am =
       the position of the first maximum in row-major window order. */
    #define FASTNN_POOL2X2(NAME, T) \
    static inline void NAME(const T* __restrict crow, int OW, int QH, int QW, T bias, \
                            T* __restrict z, int* __restrict am) { \
        for (int qi = 0; qi < QH; qi++) { \
            const T* r0 = crow + 2 * qi * OW; \
            const T* r1 = r0 + OW; \
            for (int qj = 0; qj < QW; qj++) { \
                T a0 = r0[2*qj], a1 = r0[2*qj+1], a2 = r1[2*qj], a3 = r1[2*qj+1]; \
                int i01 = a1 > a0, i23 = a3 > a2; \
                T m01 = i01 ? a1 : a0, m23 = i23 ? a3 : a2; \
                int take = m23 > m01; \
                int p0 = 2 * qi * OW + 2 * qj; \
                am[qi * QW + qj] = p0 + i01 + take * (OW + i23 - i01); \
                z[qi * QW + qj] = (m23 > m01 ? m23 : m01) + bias; \
            } \
        } \
    }
    FASTNN_POOL2X2(fastnn_pool2x2_f, float)
    FASTNN_POOL2X2(fastnn_pool2x2_d, double)
    /* Short adds for the reduction of the groups' partial gradients; the
       restrict pointers let them vectorize without aliasing checks. */
    static inline void fastnn_add_f(float* __restrict d, const float* __restrict s, Py_ssize_t n) {
        for (Py_ssize_t j = 0; j < n; j++) d[j] += s[j];
    }
    static inline void fastnn_add_d(double* __restrict d, const double* __restrict s, Py_ssize_t n) {
        for (Py_ssize_t j = 0; j < n; j++) d[j] += s[j];
    }
    """
    void fastnn_add_f(float* dst, const float* src, Py_ssize_t n) nogil
    void fastnn_add_d(double* dst, const double* src, Py_ssize_t n) nogil
    void fastnn_pool2x2_f(const float* crow, int OW, int QH, int QW, float bias, float* z, int* am) nogil
    void fastnn_pool2x2_d(const double* crow, int OW, int QH, int QW, double bias, double* z,
                          int* am) nogil

cdef enum:
    KIND_CONV = 0
    KIND_FC = 1
    KIND_SOFTMAX = 2



cdef struct Layer:
    int kind
    Activation act
    int in_size, out_size
    # convolution and pooling geometry
    int C, H, W, F, KH, KW, OH, OW, PH, PW, QH, QW, K, P, Q
    int chunk            # examples per convolution GEMM (so its buffers stay in cache)
    # dense geometry: in_size x out_size weights
    double keep          # 1 - p_dropout
    int has_mask
    void* w
    void* b
    void* act_buf        # (m, out_size) activations
    void* dact_buf       # (m, out_size) dC/d(activation); dC/dz for the softmax
    void* col            # conv: (ng, chunk * P * K) im2row rows of a group's chunk of examples
    void* conv           # conv: (ng, F * chunk * P) raw convolution
    void* dcol           # conv: (ng, P * K) one example's input error, by rows
    void* xd             # dense: (m, in_size) the dropped-out input
    void* gw             # conv: (ng, F*K) partials; dense: (in_size, out_size)
    void* gb             # conv: (ng, F) partials; dense: (out_size,)
    void* grad_w         # the mini-batch gradient, kept for inspection
    void* grad_b
    void* sw0            # the optimizer's state arrays for w and b (NULL
    void* sb0            # where it keeps fewer: _optim.param_step)
    void* sw1
    void* sb1
    int keep_grad        # store the dense layers' summed gradient in grad_w (tests)
    int* argmax          # conv: (m, F*Q), the winning conv position of each pooled unit
    int* touched         # conv: (ng, P), the positions the input error reached
    void* zpart          # dense: (ng, m, out_size) each part's share of z
    void* rowbuf         # dense: (ng, out_size + m) a part's gradient row and nonzero inputs
    int* rowidx          # dense: (ng, m) the examples of a part's nonzero inputs
    const unsigned char* mask   # dense: (count, m, in_size) for the current run


# ---------------------------------------------------------------------------
# Convolution + pooling, for a group of consecutive examples
# ---------------------------------------------------------------------------

cdef inline floating* state_at(void* base, Py_ssize_t offset, floating tag) noexcept nogil:
    """``base + offset`` as the layer's dtype (``tag``'s type), or NULL when
    the optimizer keeps no such state array."""
    if base == NULL:
        return NULL
    return <floating*>base + offset


cdef inline void add_run(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    """dst[:n] += src[:n]."""
    if floating is float:
        fastnn_add_f(dst, src, n)
    else:
        fastnn_add_d(dst, src, n)


cdef inline void pool2x2(const floating* crow, int OW, int QH, int QW, floating bias,
                         Activation act, floating* a, int* am) noexcept nogil:
    """2x2 max-pooling of one feature map (the first maximum, row-major,
    winning ties), bias and activation."""
    if floating is float:
        fastnn_pool2x2_f(crow, OW, QH, QW, bias, a, am)
    else:
        fastnn_pool2x2_d(crow, OW, QH, QW, bias, a, am)
    if act.code != ACT_LINEAR:
        activate_row(act, QH * QW, a, <const floating*>NULL)


cdef void pool_example(Layer* L, const floating* conv, Py_ssize_t ld, floating* a,
                       int* am) noexcept nogil:
    """Max-pool one example's convolution (F rows of stride ``ld``), add the
    bias and activate into ``a``; the winners' positions into ``am``."""
    cdef int f, qi, qj, u, v, pos, best_pos
    cdef floating best, val
    cdef const floating* crow
    cdef const floating* b = <const floating*>L.b
    for f in range(L.F):
        crow = conv + f * ld
        if L.PH == 2 and L.PW == 2:
            pool2x2(crow, L.OW, L.QH, L.QW, b[f], L.act, a + f * L.Q, am + f * L.Q)
            continue
        for qi in range(L.QH):
            for qj in range(L.QW):
                best_pos = (qi * L.PH) * L.OW + qj * L.PW
                best = crow[best_pos]
                for u in range(L.PH):
                    for v in range(L.PW):
                        pos = (qi * L.PH + u) * L.OW + qj * L.PW + v
                        val = crow[pos]
                        # select without a branch: random data mispredicts it half the time
                        best_pos = pos if val > best else best_pos
                        best = val if val > best else best
                am[f * L.Q + qi * L.QW + qj] = best_pos
                a[f * L.Q + qi * L.QW + qj] = activate(L.act, best + b[f])


cdef void conv_forward_group(Layer* L, const floating* inp, int e0, int e1, int g) noexcept nogil:
    """Convolve, pool, add the bias and activate examples ``e0 .. e1-1``,
    ``L.chunk`` examples per GEMM (the convolution's output buffer stays in
    cache), their im2row matrices (P rows of K per example, see ``_rows.h``)
    built in group ``g``'s buffer, which stays in cache too."""
    cdef int e, c0, c1
    cdef Py_ssize_t ld = <Py_ssize_t>L.chunk * L.P
    cdef Py_ssize_t pk = <Py_ssize_t>L.P * L.K
    cdef floating* rows = <floating*>L.col + g * pk * L.chunk
    cdef floating* conv = <floating*>L.conv + g * L.F * ld
    c0 = e0
    while c0 < e1:
        c1 = c0 + L.chunk if c0 + L.chunk < e1 else e1
        for e in range(c0, c1):
            if floating is float:
                fastnn_im2row_f(inp + <Py_ssize_t>e * L.in_size, rows + (e - c0) * pk, L.C, L.H, L.W,
                                L.KH, L.KW, L.OH, L.OW)
            else:
                fastnn_im2row_d(inp + <Py_ssize_t>e * L.in_size, rows + (e - c0) * pk, L.C, L.H, L.W,
                                L.KH, L.KW, L.OH, L.OW)
        # conv[f, (e, p)] = sum_k w[f, k] * rows[(e, p), k]
        gemm(False, True, L.F, (c1 - c0) * L.P, L.K, <floating>1.0, <floating*>L.w, L.K,
             rows, L.K, <floating>0.0, conv, <int>ld)
        for e in range(c0, c1):
            pool_example(L, conv + <Py_ssize_t>(e - c0) * L.P, ld,
                         <floating*>L.act_buf + <Py_ssize_t>e * L.out_size,
                         L.argmax + <Py_ssize_t>e * L.F * L.Q)
        c0 = c1


cdef void conv_backward_group(Layer* L, const floating* inp, floating* dinp, int e0, int e1,
                              int g) noexcept nogil:
    """Backward pass of examples ``e0 .. e1-1`` (whose input was ``inp``):
    this group's partial weight and bias gradients into row ``g`` of
    ``L.gw``/``L.gb`` (the weights' layout), and, when ``dinp`` is not NULL,
    dC/d(input) for each example into ``dinp``.  Only the pooling winners
    with a nonzero dC/dz pass anything back: both come from them alone
    (``_rows.h``), the weight gradient from the example's im2row rows, built
    again here (in a buffer that stays in cache: keeping every example's
    from the forward pass cost more, in cache misses, than building them)."""
    cdef int e, f, q, i
    cdef Py_ssize_t pk = <Py_ssize_t>L.P * L.K
    cdef floating* rows = <floating*>L.col + g * pk * L.chunk
    cdef floating* drows = <floating*>L.dcol + g * pk
    cdef int* touched = L.touched + <Py_ssize_t>g * L.P
    cdef floating* gw = <floating*>L.gw + <Py_ssize_t>g * L.F * L.K
    cdef floating* gb = <floating*>L.gb + <Py_ssize_t>g * L.F
    cdef floating* a
    cdef floating* da
    cdef floating* dx
    cdef int* am
    memset(gb, 0, L.F * sizeof(floating))
    memset(gw, 0, <size_t>L.F * L.K * sizeof(floating))
    for e in range(e0, e1):
        a = <floating*>L.act_buf + <Py_ssize_t>e * L.out_size
        da = <floating*>L.dact_buf + <Py_ssize_t>e * L.out_size
        am = L.argmax + <Py_ssize_t>e * L.F * L.Q
        if L.act.code != ACT_LINEAR:
            times_act_prime(L.act, L.F * L.Q, da, a)        # dC/dz, in place
        for f in range(L.F):
            for q in range(L.Q):
                gb[f] += da[f * L.Q + q]
        # gw[f, :] += dz[f, q] * rows[argmax[f, q], :]
        if floating is float:
            fastnn_im2row_f(inp + <Py_ssize_t>e * L.in_size, rows, L.C, L.H, L.W, L.KH, L.KW, L.OH,
                            L.OW)
            fastnn_conv_wgrad_f(L.F, L.Q, L.K, da, am, rows, gw)
        else:
            fastnn_im2row_d(inp + <Py_ssize_t>e * L.in_size, rows, L.C, L.H, L.W, L.KH, L.KW, L.OH,
                            L.OW)
            fastnn_conv_wgrad_d(L.F, L.Q, L.K, da, am, rows, gw)
        if dinp == NULL:
            continue
        dx = dinp + <Py_ssize_t>e * L.in_size
        memset(dx, 0, L.in_size * sizeof(floating))
        if floating is float:
            fastnn_conv_dinput_f(L.F, L.Q, L.K, da, am, <const float*>L.w, drows, touched, dx,
                                 L.C, L.H, L.W, L.KH, L.KW, L.OH, L.OW)
        else:
            fastnn_conv_dinput_d(L.F, L.Q, L.K, da, am, <const double*>L.w, drows, touched, dx,
                                 L.C, L.H, L.W, L.KH, L.KW, L.OH, L.OW)


# ---------------------------------------------------------------------------
# Dense layers, for a group of consecutive examples (rows e0 .. e1-1)
# ---------------------------------------------------------------------------

cdef void dense_forward_group(Layer* L, const floating* inp, int e0, int e1) noexcept nogil:
    """Evaluation: z = (1 - p_dropout) * input @ w + b (network3's rule for a
    layer that drops out in training) and, for a FullyConnectedLayer, the
    activation, into act_buf for rows e0 .. e1-1.  (Training goes through
    the row split: ``dense_partial_forward``.)"""
    cdef Py_ssize_t n_out = L.out_size
    if e1 <= e0:
        return
    # the softmax layer's act is linear here: softmax_group normalises the rows
    fc_forward(e1 - e0, L.in_size, 0, L.out_size, inp + <Py_ssize_t>e0 * L.in_size, L.in_size,
               <floating*>L.w, False, L.out_size, <const floating*>L.b, <floating>L.keep, L.act,
               <floating*>L.act_buf + e0 * n_out, L.out_size)


cdef double softmax_group(Layer* L, int e0, int e1, int m, const long long* y,
                          const floating* tag) noexcept nogil:
    """In place on rows e0 .. e1-1: act_buf holds z on entry and softmax(z)
    on exit.  With labels ``y`` (the mini-batch's), also returns the rows'
    summed cost -log a[y], computed as logsumexp(z) - z[y] so that it stays
    finite when a[y] underflows, and leaves dC/dz = (a - e_y)/m in dact_buf."""
    cdef int i, j, n = L.out_size
    cdef floating* z
    cdef floating* d
    cdef double zy = 0, lse
    cdef floating inv_m = (<floating>1) / m
    cdef double cost = 0
    for i in range(e0, e1):
        z = <floating*>L.act_buf + i * n
        if y != NULL:
            zy = z[y[i]]
        lse = softmax_row(n, z)
        if y != NULL:
            cost += lse - zy
            d = <floating*>L.dact_buf + i * n
            for j in range(n):
                d[j] = z[j] * inv_m
            d[y[i]] -= inv_m
    return cost


# ---------------------------------------------------------------------------
# Dense layers in training: the whole mini-batch, split by rows of w
# ---------------------------------------------------------------------------
#
# In training each dense layer is shared out by *rows of w* (the layer's
# inputs): part p of ng owns rows K_p = [n_in*p/ng, n_in*(p+1)/ng), and the
# same split of a layer's outputs, J_p, owns its biases and its columns of
# the activations.  The rows of a layer's w are then read and written by one
# part only, in the forward pass and in the backward pass, and every part
# works on all the examples: with a mini-batch of ten, splitting the
# examples instead would leave two products of five rows, each streaming the
# whole matrix.  Forward, each part sums its rows' share of z; after a
# barrier, part p adds the ng shares of its columns J_p in part order (so
# the result depends on ng only), adds the bias, activates and drops out
# the next layer's inputs in those columns, which are that layer's rows
# K_p: the next layer's part p goes on without a barrier.  Backward, with
# dC/dz known, part p computes the input error of its rows (complete: a row
# of w holds all of an input's weights) and steps them.
#
# With a mini-batch of at most ROW_KERNEL_MAX_BATCH the rows are walked one
# at a time, skipping zero inputs (``_rows.h``); larger mini-batches use
# gemm on the same split, and so do layers with fewer than
# ROW_KERNEL_MIN_OUTPUTS outputs (the softmax's ten: rows that short leave
# the row kernels' vectors empty, and the whole product is tiny).

cdef enum:
    ROW_KERNEL_MAX_BATCH = 16
    ROW_KERNEL_MIN_OUTPUTS = 32


cdef inline bint row_kernels(Layer* L, int m) noexcept nogil:
    return m <= ROW_KERNEL_MAX_BATCH and L.out_size >= ROW_KERNEL_MIN_OUTPUTS


cdef inline Py_ssize_t part_lo(Py_ssize_t n, int p, int ng) noexcept nogil:
    return n * p // ng


cdef void dense_input_rows(Layer* L, const floating* inp, int e0, int e1, int k,
                           int m) noexcept nogil:
    """xd rows e0 .. e1-1 = the input rows, times dropout mask ``k`` of the
    run: for a dense layer whose input comes from a conv layer or the data,
    which are computed by examples."""
    cdef Py_ssize_t i, lo = <Py_ssize_t>e0 * L.in_size, hi = <Py_ssize_t>e1 * L.in_size
    cdef floating* xd = <floating*>L.xd
    cdef const unsigned char* mask
    if hi <= lo:
        return
    if L.has_mask:
        mask = L.mask + <Py_ssize_t>k * m * L.in_size
        for i in range(lo, hi):
            xd[i] = inp[i] if mask[i] else 0
    else:
        memcpy(xd + lo, inp + lo, (hi - lo) * sizeof(floating))


cdef void dense_partial_forward(Layer* L, int p, int ng, int m, floating tag) noexcept nogil:
    """Part p's share of z: zpart[p] = xd[:, K_p] @ w[K_p, :] (``tag``'s type
    is the network's dtype, its value unused)."""
    cdef Py_ssize_t n_in = L.in_size, n_out = L.out_size
    cdef int k0 = <int>part_lo(n_in, p, ng), k1 = <int>part_lo(n_in, p + 1, ng)
    cdef floating* zp = <floating*>L.zpart + <Py_ssize_t>p * m * n_out
    cdef floating* val = <floating*>L.rowbuf + <Py_ssize_t>p * (n_out + m) + n_out
    cdef int* idx = L.rowidx + <Py_ssize_t>p * m
    if row_kernels(L, m):
        if floating is float:
            fastnn_rows_forward_f(m, n_out, k0, k1, <const float*>L.xd, n_in, <const float*>L.w,
                                  zp, idx, val)
        else:
            fastnn_rows_forward_d(m, n_out, k0, k1, <const double*>L.xd, n_in, <const double*>L.w,
                                  zp, idx, val)
    elif k1 > k0:
        gemm(False, False, m, L.out_size, k1 - k0, <floating>1, <floating*>L.xd + k0, L.in_size,
             <floating*>L.w + <Py_ssize_t>k0 * n_out, L.out_size, <floating>0, zp, L.out_size)
    else:
        memset(zp, 0, <size_t>m * n_out * sizeof(floating))


cdef inline floating sum_parts(const floating* zpart, Py_ssize_t stride, int ng,
                               Py_ssize_t at) noexcept nogil:
    """The ng parts' shares of one entry of z, added in part order."""
    cdef int q
    cdef floating s = zpart[at]
    for q in range(1, ng):
        s = s + zpart[q * stride + at]
    return s


cdef void fc_finish_forward(Layer* L, Layer* nxt, int p, int ng, int m, int k,
                            floating tag) noexcept nogil:
    """Columns J_p of a FullyConnectedLayer: z = the parts' shares + b, the
    activation into act_buf, and, when the next layer is dense, its input
    (times its dropout mask ``k``) in the same columns."""
    cdef Py_ssize_t n_out = L.out_size, stride = <Py_ssize_t>m * n_out
    cdef Py_ssize_t j0 = part_lo(n_out, p, ng), j1 = part_lo(n_out, p + 1, ng), i, j
    cdef const floating* zpart = <const floating*>L.zpart
    cdef const floating* b = <const floating*>L.b
    cdef floating* a = <floating*>L.act_buf
    cdef floating* xd = NULL
    cdef const unsigned char* mask = NULL
    cdef floating v
    if nxt != NULL and nxt.kind != KIND_CONV:
        xd = <floating*>nxt.xd
        if nxt.has_mask:
            mask = nxt.mask + <Py_ssize_t>k * m * nxt.in_size
    for i in range(m):
        for j in range(j0, j1):
            v = activate(L.act, sum_parts(zpart, stride, ng, i * n_out + j) + b[j])
            a[i * n_out + j] = v
            if xd != NULL:
                if mask != NULL:
                    xd[i * n_out + j] = v if mask[i * n_out + j] else 0
                else:
                    xd[i * n_out + j] = v


cdef double softmax_finish_forward(Layer* L, int e0, int e1, int m, const long long* y, int ng,
                                   floating tag) noexcept nogil:
    """Rows e0 .. e1-1 of the SoftmaxLayer: z = the parts' shares + b, then
    ``softmax_group`` (the outputs, the cost, dC/dz)."""
    cdef Py_ssize_t n_out = L.out_size, stride = <Py_ssize_t>m * n_out, i, j
    cdef const floating* zpart = <const floating*>L.zpart
    cdef const floating* b = <const floating*>L.b
    cdef floating* z = <floating*>L.act_buf
    for i in range(e0, e1):
        for j in range(n_out):
            z[i * n_out + j] = sum_parts(zpart, stride, ng, i * n_out + j) + b[j]
    return softmax_group(L, e0, e1, m, y, z)


cdef void dense_backward_part(Layer* L, Layer* below, floating* dinp, int p, int ng, int m, int k,
                              const Step* st) noexcept nogil:
    """Part p of a dense layer's backward pass, dC/dz (dact_buf) known for
    the whole mini-batch: the step of the biases J_p; for rows K_p of w, the
    input error dinp[:, K_p] (when ``dinp`` is not NULL; times the dropout
    mask, and times the activation's derivative when ``below`` is a
    FullyConnectedLayer, so that its dact_buf holds its dC/dz) and the step."""
    cdef Py_ssize_t n_in = L.in_size, n_out = L.out_size, i, j
    cdef int k0 = <int>part_lo(n_in, p, ng), k1 = <int>part_lo(n_in, p + 1, ng)
    cdef Py_ssize_t j0 = part_lo(n_out, p, ng), j1 = part_lo(n_out, p + 1, ng)
    cdef const floating* dz = <const floating*>L.dact_buf
    cdef floating* gb = <floating*>L.grad_b
    cdef floating* g
    cdef floating* val = <floating*>L.rowbuf + <Py_ssize_t>p * (n_out + m) + n_out
    cdef int* idx = L.rowidx + <Py_ssize_t>p * m
    cdef const unsigned char* mask = NULL
    cdef Py_ssize_t ldg = 0
    cdef bint nonzero_only
    cdef floating s
    cdef const floating* a
    # the biases J_p: dC/db = the column sums of dz
    for j in range(j0, j1):
        s = 0
        for i in range(m):
            s = s + dz[i * n_out + j]
        gb[j] = s
    param_step(j1 - j0, <floating*>L.b + j0, gb + j0, state_at(L.sb0, j0, <floating>0),
               state_at(L.sb1, j0, <floating>0), st, False)
    if k1 <= k0:
        return
    if L.has_mask:
        mask = L.mask + <Py_ssize_t>k * m * n_in
    if row_kernels(L, m):
        # below a ReLU (whose outputs are >= 0), an input that is zero passes
        # no gradient on: its input error is not needed
        nonzero_only = below != NULL and below.act.code == ACT_RELU
        if L.keep_grad or not st.plain:
            g = <floating*>L.grad_w + <Py_ssize_t>k0 * n_out
            ldg = n_out
        else:
            g = <floating*>L.rowbuf + <Py_ssize_t>p * (n_out + m)
        if floating is float:
            fastnn_rows_backward_f(m, n_out, k0, k1, <const float*>L.xd, n_in, mask, nonzero_only,
                                   <float*>L.w, dz, dinp, g, ldg, st.plain, <float>(1 - st.decay),
                                   <float>st.s, idx, val)
        else:
            fastnn_rows_backward_d(m, n_out, k0, k1, <const double*>L.xd, n_in, mask, nonzero_only,
                                   <double*>L.w, dz, dinp, g, ldg, st.plain, <double>(1 - st.decay),
                                   <double>st.s, idx, val)
        if not st.plain:
            param_step((k1 - k0) * n_out, <floating*>L.w + k0 * n_out, g,
                       state_at(L.sw0, k0 * n_out, <floating>0),
                       state_at(L.sw1, k0 * n_out, <floating>0), st, True)
    else:
        if dinp != NULL:
            gemm(False, True, m, k1 - k0, L.out_size, <floating>1, dz, L.out_size,
                 <floating*>L.w + <Py_ssize_t>k0 * n_out, L.out_size, <floating>0, dinp + k0,
                 L.in_size)
            if mask != NULL:
                for i in range(m):
                    for j in range(k0, k1):
                        if not mask[i * n_in + j]:
                            dinp[i * n_in + j] = 0
        dense_update_rows(L, m, k0, k1, st, <floating>0)
    if dinp != NULL and below != NULL and below.kind == KIND_FC:
        a = <const floating*>below.act_buf
        for i in range(m):
            times_act_prime(below.act, k1 - k0, dinp + i * n_in + k0, a + i * n_in + k0)


cdef void dense_update_rows(Layer* L, int m, Py_ssize_t r0, Py_ssize_t r1, const Step* st,
                            floating tag) noexcept nogil:
    """Update rows r0 .. r1-1 of a dense layer's weights (n_in, n_out) with
    the gradient of the whole mini-batch, dC/dw = xd.T @ dz (a mean over the
    mini-batch already: ``st.s`` is eta).

    A wide layer's weights do not fit in cache, so plain SGD is one GEMM
    that reads and writes them once (``_layers.fc_weight_step``).  With
    ``keep_grad`` (tests) the gradient is stored first and the step made
    from it.  (``tag``'s type is the layer's dtype; its value is unused.)"""
    cdef floating* w = <floating*>L.w + r0 * L.out_size
    cdef floating* gsum = <floating*>L.grad_w + r0 * L.out_size
    cdef floating* s0 = state_at(L.sw0, r0 * L.out_size, tag)
    cdef floating* s1 = state_at(L.sw1, r0 * L.out_size, tag)
    if r1 <= r0:
        return
    if L.keep_grad:
        gemm(True, False, <int>(r1 - r0), L.out_size, m, <floating>1.0, <floating*>L.xd + r0,
             L.in_size, <floating*>L.dact_buf, L.out_size, <floating>0.0, gsum, L.out_size)
        param_step((r1 - r0) * L.out_size, w, gsum, s0, s1, st, True)
    else:
        fc_weight_step(<int>(r1 - r0), L.out_size, m, <floating*>L.xd + r0, L.in_size,
                       <floating*>L.dact_buf, L.out_size, w, gsum, s0, s1, st)


# ---------------------------------------------------------------------------
# Reduction of the groups' partial gradients, and the update
# ---------------------------------------------------------------------------

cdef void reduce_update(floating* w, floating* gsum, const floating* parts, void* s0, void* s1,
                        Py_ssize_t n, int ngroups, Py_ssize_t lo, Py_ssize_t hi, const Step* st,
                        bint regularize) noexcept nogil:
    """On [lo, hi): gsum = the groups' partials added in group order, then
    the optimizer's step (``s0``, ``s1``: the state arrays, or NULL).  The order of the
    additions depends on the group count only, so a run is reproducible for
    a given thread count."""
    cdef int t
    if hi <= lo:
        return
    memcpy(gsum + lo, parts + lo, (hi - lo) * sizeof(floating))
    for t in range(1, ngroups):
        add_run(gsum + lo, parts + t * n + lo, hi - lo)
    param_step(hi - lo, w + lo, gsum + lo, state_at(s0, lo, <floating>0), state_at(s1, lo, <floating>0), st,
               regularize)


# ---------------------------------------------------------------------------
# A run of steps, in one parallel region
# ---------------------------------------------------------------------------
#
# Each step: every group runs the forward and the backward pass of its own
# examples through all the layers (no barrier: a group only reads its own
# rows and the weights), leaving partial gradients; one barrier; every
# thread reduces and applies its share of every layer's update; one barrier.

cdef void forward_group(Layer* L, int nl, const floating* xb, int e0, int e1,
                        int g) noexcept nogil:
    """Evaluation-mode forward pass of examples e0 .. e1-1 of a mini-batch."""
    cdef int l
    cdef const floating* inp = xb
    for l in range(nl):
        if L[l].kind == KIND_CONV:
            conv_forward_group(&L[l], inp, e0, e1, g)
        else:
            dense_forward_group(&L[l], inp, e0, e1)
            if L[l].kind == KIND_SOFTMAX:
                softmax_group(&L[l], e0, e1, 1, NULL, xb)
        inp = <floating*>L[l].act_buf


cdef void conv_update_share(Layer* L, int nl, int ng, Team* T, const Step* st,
                            floating tag) noexcept nogil:
    """This thread's share of every conv layer's reduction and update (the
    dense layers stepped their rows in their backward pass; ``tag``'s type
    is the network's dtype, its value unused)."""
    cdef int l
    cdef Py_ssize_t n, nb
    for l in range(nl):
        if L[l].kind != KIND_CONV:
            continue
        n = <Py_ssize_t>L[l].F * L[l].K
        nb = L[l].F
        reduce_update(<floating*>L[l].w, <floating*>L[l].grad_w, <floating*>L[l].gw,
                      L[l].sw0, L[l].sw1, n, ng, n * T.tid // T.nthreads,
                      n * (T.tid + 1) // T.nthreads,
                      st, True)
        reduce_update(<floating*>L[l].b, <floating*>L[l].grad_b, <floating*>L[l].gb,
                      L[l].sb0, L[l].sb1, nb, ng, nb * T.tid // T.nthreads,
                      nb * (T.tid + 1) // T.nthreads, st, False)


cdef void train_step(Layer* L, int nl, const floating* xb, const long long* yb, int m, int k,
                     int ng, const Step* st, double* costs, Team* T) noexcept nogil:
    """One SGD step on the mini-batch ``xb`` (number ``k`` of the run), run by
    every thread of the team.  Conv layers work by groups of examples, dense
    layers by parts of their rows (see above); a barrier stands wherever the
    next phase reads what other threads wrote."""
    cdef int l, it, p, e0, e1
    cdef bint any_conv = False
    cdef const floating* inp = xb
    cdef floating* dinp
    cdef Layer* below
    cdef Py_ssize_t i, lo, hi
    # forward
    for l in range(nl):
        if L[l].kind == KIND_CONV:
            any_conv = True
            if l > 0 and L[l - 1].kind != KIND_CONV:
                sync(T)
            for it in range(ng):
                p = T.tid + it * T.nthreads
                if p >= ng:
                    break
                conv_forward_group(&L[l], inp, m * p // ng, m * (p + 1) // ng, p)
        else:
            if l == 0 or L[l - 1].kind == KIND_CONV:
                for it in range(ng):
                    p = T.tid + it * T.nthreads
                    if p >= ng:
                        break
                    dense_input_rows(&L[l], inp, m * p // ng, m * (p + 1) // ng, k, m)
                sync(T)
            for it in range(ng):
                p = T.tid + it * T.nthreads
                if p >= ng:
                    break
                dense_partial_forward(&L[l], p, ng, m, <floating>0)
            sync(T)
            for it in range(ng):
                p = T.tid + it * T.nthreads
                if p >= ng:
                    break
                if L[l].kind == KIND_SOFTMAX:
                    costs[p] += softmax_finish_forward(&L[l], m * p // ng, m * (p + 1) // ng, m, yb,
                                                       ng, <floating>0)
                else:
                    fc_finish_forward(&L[l], &L[l + 1] if l + 1 < nl else NULL, p, ng, m, k,
                                      <floating>0)
            if L[l].kind == KIND_SOFTMAX:
                sync(T)
        inp = <floating*>L[l].act_buf
    # backward
    for l in range(nl - 1, -1, -1):
        below = &L[l - 1] if l > 0 else NULL
        dinp = <floating*>below.dact_buf if l > 0 else NULL
        if L[l].kind == KIND_CONV:
            inp = <const floating*>below.act_buf if l > 0 else xb
            for it in range(ng):
                p = T.tid + it * T.nthreads
                if p >= ng:
                    break
                e0, e1 = m * p // ng, m * (p + 1) // ng
                conv_backward_group(&L[l], inp, dinp, e0, e1, p)
                if below != NULL and below.kind == KIND_FC:
                    lo, hi = <Py_ssize_t>e0 * below.out_size, <Py_ssize_t>e1 * below.out_size
                    times_act_prime(below.act, hi - lo, dinp + lo, <floating*>below.act_buf + lo)
            if below != NULL and below.kind != KIND_CONV:
                sync(T)
        else:
            for it in range(ng):
                p = T.tid + it * T.nthreads
                if p >= ng:
                    break
                dense_backward_part(&L[l], below, dinp, p, ng, m, k, st)
            sync(T)
    if any_conv:
        sync(T)
        conv_update_share(L, nl, ng, T, st, <floating>0)
        sync(T)


cdef void train_thread(Layer* L, int nl, const floating* x, const long long* y, int m,
                       int first, int count, int ng, const Step* st,
                       double* costs, fastnn_bar_t* bar) noexcept nogil:
    """What each thread of the region runs: every step of the run, in step
    with the others."""
    cdef Team T
    cdef int k
    cdef Py_ssize_t bi
    cdef Step stk = st[0]       # this thread's copy: step_begin counts the steps
    team_join(&T, bar)
    for k in range(count):
        bi = first + k
        step_begin(&stk, 1)     # the gradient is the mini-batch's mean already
        train_step(L, nl, x + bi * m * L[0].in_size, y + bi * m, m, k, ng, &stk, costs, &T)


cdef double train_run_t(Layer* L, int nl, const floating* x, const long long* y, int m,
                        int first, int count, int nthreads, int ng, const Step* st,
                        double* costs) noexcept nogil:
    """Run mini-batches ``first .. first+count-1`` in one parallel region;
    returns the summed cost (the groups' sums added in group order)."""
    cdef fastnn_bar_t bar
    cdef double cost = 0
    cdef int g
    bar.count = 0
    bar.sense = 0
    for g in range(ng):
        costs[g] = 0
    if nthreads <= 1:
        # no parallel region at all: one thread must not touch OpenMP's pool
        # (a forked child may hold a broken one)
        train_thread(L, nl, x, y, m, first, count, ng, st, costs, &bar)
    else:
        with parallel(num_threads=nthreads):
            train_thread(L, nl, x, y, m, first, count, ng, st, costs, &bar)
    for g in range(ng):
        cost += costs[g]
    return cost


cdef void predict_thread(Layer* L, int nl, const floating* x, int m, int nbatches, int ng,
                         long long* labels, floating* out) noexcept nogil:
    """Each thread runs its groups' rows of every mini-batch: no barriers."""
    cdef int k, i, j, best, g, it, e0, e1, tid, nth
    cdef Py_ssize_t bi
    cdef Layer* last = &L[nl - 1]
    cdef floating* a
    tid = fastnn_thread_num()
    nth = fastnn_num_threads()
    for it in range(ng):
        g = tid + it * nth
        if g >= ng:
            break
        e0 = m * g // ng
        e1 = m * (g + 1) // ng
        for k in range(nbatches):
            bi = k
            forward_group(L, nl, x + bi * m * L[0].in_size, e0, e1, g)
            for i in range(e0, e1):
                a = <floating*>last.act_buf + i * last.out_size
                if out != NULL:
                    memcpy(out + (bi * m + i) * last.out_size, a, last.out_size * sizeof(floating))
                best = 0
                for j in range(1, last.out_size):
                    if a[j] > a[best]:
                        best = j
                labels[bi * m + i] = best


cdef void predict_run(Layer* L, int nl, const floating* x, int m, int nbatches, int nthreads,
                      int ng, long long* labels, floating* out) noexcept nogil:
    """One thread runs without a parallel region: OpenMP is not touched at
    all, which keeps a process forked from a threaded one safe."""
    if nthreads <= 1:
        predict_thread(L, nl, x, m, nbatches, ng, labels, out)
        return
    with parallel(num_threads=nthreads):
        predict_thread(L, nl, x, m, nbatches, ng, labels, out)


# ---------------------------------------------------------------------------
# The Python-visible network
# ---------------------------------------------------------------------------

cdef Py_ssize_t _n_weights(Layer* L) noexcept:
    if L.kind == KIND_CONV:
        return <Py_ssize_t>L.F * L.K
    return <Py_ssize_t>L.in_size * L.out_size


cdef Py_ssize_t _n_biases(Layer* L) noexcept:
    return L.F if L.kind == KIND_CONV else L.out_size


# ---------------------------------------------------------------------------
# The plan, checked before anything is allocated
# ---------------------------------------------------------------------------
#
# The sizes of every layer and buffer are planned in Python
# (``fastnn._conv_plan``), which refuses, naming the layer, a network whose
# buffers a C int cannot index or the machine cannot hold.  This module only
# checks that the plan it is given fits the specs: the geometry's integer
# identities, each buffer exactly as large as the kernels index it, and no
# count past INT_LIMIT.  A plan that fails is a programming error, not a
# user's: the messages say what disagrees, not how to fix the network.

_KIND_CODES = {"conv": KIND_CONV, "fc": KIND_FC, "softmax": KIND_SOFTMAX}
_INT_BUFFERS = ("argmax", "rowidx", "touched")   # C ints; the other buffers hold the network's dtype


def _check_spec(l, spec, dtype):
    """What the kernels read from layer ``l``'s spec beside its sizes: a
    known kind and activation code, a finite parameter, writable
    C-contiguous ``w`` and ``b`` of the network's dtype."""
    kind = spec.get("kind")
    if kind not in _KIND_CODES:
        raise ValueError("layer {}: unknown kind {!r}".format(l, kind))
    act, act_param = spec.get("act", ACT_LINEAR), spec.get("act_param", 0.0)
    if isinstance(act, bool) or not isinstance(act, numbers.Integral) or not 0 <= act <= 255 \
            or not act_known(act):
        raise ValueError("layer {}: unknown activation code {!r}".format(l, act))
    if isinstance(act_param, bool) or not isinstance(act_param, numbers.Real) \
            or not np.isfinite(act_param):
        raise ValueError("layer {}: the activation's parameter must be a finite number, "
                         "not {!r}".format(l, act_param))
    for name in ("w", "b"):
        arr = spec[name]
        if not (isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.flags.c_contiguous
                and arr.flags.writeable):
            raise TypeError("layer {} {}: expected a writable C-contiguous {} array".format(
                l, name, dtype))


def _needed(kind, g, m, ng):
    """The values each buffer of a layer of geometry ``g`` must hold: what
    the kernels index, with the same products they use."""
    out = g["out_size"]
    need = dict(act_buf=m * out, dact_buf=m * out)
    if kind == "conv":
        need.update(col=ng * g["K"] * g["chunk"] * g["P"], conv=ng * g["F"] * g["chunk"] * g["P"],
                    dcol=ng * g["K"] * g["P"], touched=ng * g["P"], gw=ng * g["F"] * g["K"],
                    gb=ng * g["F"], grad_w=g["F"] * g["K"], grad_b=g["F"], argmax=m * g["F"] * g["Q"])
    else:
        n_in = g["in_size"]
        need.update(xd=m * n_in, gw=1, gb=1, zpart=ng * m * out, rowbuf=ng * (out + m),
                    rowidx=ng * m, grad_w=n_in * out, grad_b=out)
    return need


def _check_plan(l, spec, layer, m, ng, nthreads):
    """ValueError unless ``layer`` (the plan of layer ``l``) fits ``spec``."""
    def bad(what):
        return ValueError("layer {}: the memory plan does not fit the layer: {}".format(l, what))
    if layer["kind"] != spec["kind"]:
        raise bad("kind")
    g = layer["geometry"]
    w, b = spec["w"], spec["b"]
    if layer["kind"] == "conv":
        if tuple(spec["image_shape"][1:]) != (g["C"], g["H"], g["W"]) or \
                tuple(spec["filter_shape"]) != (g["F"], g["C"], g["KH"], g["KW"]) or \
                tuple(spec["poolsize"]) != (g["PH"], g["PW"]):
            raise bad("shapes")
        if min(g["C"], g["H"], g["W"], g["F"], g["KH"], g["KW"], g["PH"], g["PW"]) < 1 or \
                g["OH"] != g["H"] - g["KH"] + 1 or g["OW"] != g["W"] - g["KW"] + 1 or \
                g["QH"] != g["OH"] // g["PH"] or g["QW"] != g["OW"] // g["PW"] or \
                min(g["QH"], g["QW"]) < 1 or g["K"] != g["C"] * g["KH"] * g["KW"] or \
                g["P"] != g["OH"] * g["OW"] or g["Q"] != g["QH"] * g["QW"] or \
                g["in_size"] != g["C"] * g["H"] * g["W"] or g["out_size"] != g["F"] * g["Q"] or \
                not 1 <= g["chunk"] <= m:
            raise bad("geometry")
        if w.shape != (g["F"], g["C"], g["KH"], g["KW"]) or b.shape != (g["F"],):
            raise bad("w or b")
    elif w.shape != (g["in_size"], g["out_size"]) or b.shape != (g["out_size"],):
        raise bad("w or b")
    need = _needed(layer["kind"], g, m, ng)
    if set(layer["buffers"]) != set(need):
        raise bad("buffers {}".format(sorted(set(layer["buffers"]) ^ set(need))))
    for name, n in need.items():
        have = 1
        for d in layer["buffers"][name][1]:
            have *= int(d)
        if have != n:
            raise bad("buffer {} holds {} values, the kernels index {}".format(name, have, n))
    if max(list(need.values()) + [g["in_size"], g["out_size"], w.size, m * ng,
                                  g["in_size"] * nthreads]) > INT_LIMIT:
        raise bad("a count passes 2**31-1")


cdef class Net:
    """A network3 layer stack as the kernels see it, with all its buffers.

    ``specs`` is a list of dicts, one per layer, made by ``fastnn.network3``:
    ``kind`` ("conv", "fc", "softmax"), ``act`` and ``act_param`` (the
    activation's code in ``fastnn.activations``' registry and its
    parameter; linear when absent), ``w`` and
    ``b`` (C-contiguous arrays of the network's dtype, updated in place),
    ``p_dropout``, and for a conv layer ``image_shape``, ``filter_shape`` and
    ``poolsize``.  ``plan`` is ``fastnn._conv_plan.plan``'s for those specs:
    every size and buffer, already checked against what a C int indexes and
    the machine's memory.  The caller validates everything first; this class
    only rechecks, cheaply, what would make the kernels read or write out of
    bounds: that the plan fits the specs.
    """
    cdef Layer* layers
    cdef int nl, m, ng, nthreads
    cdef public bint keep_gradients   # keep every layer's gradient for last_gradients()
    cdef object costs     # (ng,) float64: each group's summed cost
    cdef object dtype
    cdef list keep        # the arrays the Layer structs point into
    cdef object step_keep # the velocities the Layer structs point into

    def __cinit__(self):
        self.layers = NULL

    def __dealloc__(self):
        if self.layers != NULL:
            PyMem_Free(self.layers)
            self.layers = NULL

    def __init__(self, specs, plan):
        cdef int l
        cdef Layer* L
        m, ng, nthreads, dtype = plan["m"], plan["ng"], plan["nthreads"], np.dtype(plan["dtype"])
        for name, value in (("mini_batch_size", m), ("num_threads", nthreads)):
            if not 1 <= value <= INT_LIMIT:
                raise ValueError("{} must be at least 1 and at most 2**31-1, not {}".format(name, value))
        if ng != min(nthreads, m):
            raise ValueError("the memory plan's thread groups do not fit its threads")
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError("dtype must be float32 or float64")
        self.dtype = dtype
        self.m = m
        self.nthreads = nthreads
        self.ng = ng
        self.nl = len(specs)
        if self.nl < 1 or specs[self.nl - 1]["kind"] != "softmax":
            raise ValueError("the last layer must be a SoftmaxLayer")
        plans = plan["layers"]
        if len(plans) != self.nl:
            raise ValueError("the memory plan has {} layers, the network {}".format(
                len(plans), self.nl))
        for l, spec in enumerate(specs):
            _check_spec(l, spec, dtype)
            _check_plan(l, spec, plans[l], self.m, self.ng, self.nthreads)
        for l in range(1, self.nl):
            if plans[l]["geometry"]["in_size"] != plans[l - 1]["geometry"]["out_size"]:
                raise ValueError("layer {} takes {} inputs but the layer before gives {}".format(
                    l, plans[l]["geometry"]["in_size"], plans[l - 1]["geometry"]["out_size"]))
        self.costs = np.zeros(self.ng, dtype=np.float64)
        self.layers = <Layer*>PyMem_Malloc(self.nl * sizeof(Layer))
        if self.layers == NULL:
            raise MemoryError()
        memset(self.layers, 0, self.nl * sizeof(Layer))
        self.keep = []
        for l, (spec, plan_l) in enumerate(zip(specs, plans)):
            L = &self.layers[l]
            g = plan_l["geometry"]
            L.kind = _KIND_CODES[spec["kind"]]
            L.act = make_activation(ACT_LINEAR, 0.0) if L.kind == KIND_SOFTMAX else \
                make_activation(spec.get("act", ACT_LINEAR), spec.get("act_param", 0.0))
            L.keep = 1.0 - float(spec.get("p_dropout", 0.0))
            L.has_mask = spec.get("p_dropout", 0.0) > 0
            L.in_size, L.out_size = g["in_size"], g["out_size"]
            if L.kind == KIND_CONV:
                L.C, L.H, L.W, L.F = g["C"], g["H"], g["W"], g["F"]
                L.KH, L.KW, L.OH, L.OW = g["KH"], g["KW"], g["OH"], g["OW"]
                L.PH, L.PW, L.QH, L.QW = g["PH"], g["PW"], g["QH"], g["QW"]
                L.K, L.P, L.Q = g["K"], g["P"], g["Q"]
                L.chunk = g["chunk"]
                am = np.zeros(plan_l["buffers"]["argmax"][1], dtype=np.intc)
                self.keep.append(am)
                L.argmax = <int*>cnp.PyArray_DATA(am)
            arrays = {}
            for name, (what, shape) in plan_l["buffers"].items():
                if name in ("rowidx", "touched"):
                    arrays[name] = np.zeros(shape, dtype=np.intc)
                    self.keep.append(arrays[name])
                elif name != "argmax":
                    arrays[name] = np.zeros(shape, dtype=dtype)
                    self.keep.append(arrays[name])
            w, b = spec["w"], spec["b"]
            self.keep.extend([w, b])
            L.w = cnp.PyArray_DATA(w)
            L.b = cnp.PyArray_DATA(b)
            L.act_buf = cnp.PyArray_DATA(arrays["act_buf"])
            L.dact_buf = cnp.PyArray_DATA(arrays["dact_buf"])
            L.gw = cnp.PyArray_DATA(arrays["gw"])
            L.gb = cnp.PyArray_DATA(arrays["gb"])
            L.grad_w = cnp.PyArray_DATA(arrays["grad_w"])
            L.grad_b = cnp.PyArray_DATA(arrays["grad_b"])
            if L.kind == KIND_CONV:
                L.touched = <int*>cnp.PyArray_DATA(arrays["touched"])
                L.col = cnp.PyArray_DATA(arrays["col"])
                L.conv = cnp.PyArray_DATA(arrays["conv"])
                L.dcol = cnp.PyArray_DATA(arrays["dcol"])
            else:
                L.xd = cnp.PyArray_DATA(arrays["xd"])
                L.zpart = cnp.PyArray_DATA(arrays["zpart"])
                L.rowbuf = cnp.PyArray_DATA(arrays["rowbuf"])
                L.rowidx = <int*>cnp.PyArray_DATA(arrays["rowidx"])

    @property
    def in_size(self):
        return self.layers[0].in_size

    @property
    def out_size(self):
        return self.layers[self.nl - 1].out_size

    def _check_x(self, x, int nbatches):
        if not (isinstance(x, np.ndarray) and x.dtype == self.dtype and x.flags.c_contiguous
                and x.ndim == 2 and x.shape[1] == self.layers[0].in_size):
            raise TypeError("x must be a C-contiguous ({}, {}) {} array".format(
                "n", self.layers[0].in_size, self.dtype))
        if nbatches < 0 or <Py_ssize_t>nbatches * self.m > x.shape[0]:
            raise ValueError("x holds fewer than the requested mini-batches")

    def train(self, x, y, masks, int first, int count, step):
        """Run mini-batches ``first .. first+count-1`` of ``x``/``y`` in order,
        updating the weights (and the optimizer's state) in place by
        ``step``'s rule (``fastnn.optimizers.Step``: ``eta``, ``n`` =
        num_training_batches, ``l2`` = lmbda, ``l1``, the ``optimizer``, its
        ``state``, one tuple of arrays per layer, and ``t``, advanced by
        ``count``; the gradient is the mini-batch's mean, so SGD's step is
        ``eta`` times it); ``masks[l]`` is None or a uint8 array (count, m,
        n_in) for each layer that drops out.  Returns the summed cost (without
        the regularization terms)."""
        cdef Step st
        cdef int l
        cdef double cost = 0
        cdef Layer* L
        cdef const long long* yp
        cdef Py_ssize_t i
        cdef long long nout
        cdef void* xp
        cdef double* cp
        self._check_x(x, first + count)
        if not (isinstance(y, np.ndarray) and y.dtype == np.int64 and y.flags.c_contiguous
                and y.ndim == 1 and y.shape[0] >= <Py_ssize_t>(first + count) * self.m):
            raise TypeError("y must be a C-contiguous int64 array covering the mini-batches")
        if first < 0 or count < 0:
            raise ValueError("first and count must be non-negative")
        if len(masks) != self.nl:
            raise ValueError("one mask (or None) per layer")
        for l in range(self.nl):
            L = &self.layers[l]
            mk = masks[l]
            if L.has_mask:
                if not (isinstance(mk, np.ndarray) and mk.dtype == np.uint8 and mk.flags.c_contiguous
                        and mk.shape == (count, self.m, L.in_size)):
                    raise TypeError("layer {}: dropout mask must be a C-contiguous uint8 array of "
                                    "shape {}".format(l, (count, self.m, L.in_size)))
                L.mask = <const unsigned char*>cnp.PyArray_DATA(mk)
            elif mk is not None:
                raise ValueError("layer {} has no dropout but was given a mask".format(l))
        st = self._step(step)
        if count == 0:
            return 0.0
        for l in range(self.nl):
            self.layers[l].keep_grad = self.keep_gradients
        yp = <const long long*>cnp.PyArray_DATA(y)
        nout = self.layers[self.nl - 1].out_size
        for i in range(<Py_ssize_t>first * self.m, <Py_ssize_t>(first + count) * self.m):
            if yp[i] < 0 or yp[i] >= nout:
                raise ValueError("label {} at row {} is out of range".format(yp[i], i))
        xp = cnp.PyArray_DATA(x)
        cp = <double*>cnp.PyArray_DATA(self.costs)
        if self.dtype == np.float32:
            with nogil:
                cost = train_run_t(self.layers, self.nl, <const float*>xp, yp, self.m, first, count,
                                   self.nthreads, self.ng, &st, cp)
        else:
            with nogil:
                cost = train_run_t(self.layers, self.nl, <const double*>xp, yp, self.m, first, count,
                                   self.nthreads, self.ng, &st, cp)
        for l in range(self.nl):
            self.layers[l].mask = NULL
        if hasattr(step, "t"):
            step.t = int(step.t) + count      # the kernels counted them in step_begin
        return cost

    cdef Step _step(self, step) except *:
        """Check ``step`` and point the layers at its state arrays."""
        cdef int l
        cdef Layer* L
        shapes = [(_n_weights(&self.layers[l]), _n_biases(&self.layers[l]))
                  for l in range(self.nl)]
        settings, state = _steps.read(step, shapes, self.dtype)
        for l in range(self.nl):
            L = &self.layers[l]
            L.sw0 = L.sb0 = L.sw1 = L.sb1 = NULL
            if state is None:
                continue
            sw0, sb0, sw1, sb1 = state[l]
            L.sw0 = cnp.PyArray_DATA(sw0)
            L.sb0 = cnp.PyArray_DATA(sb0)
            if sw1 is not None:
                L.sw1 = cnp.PyArray_DATA(sw1)
                L.sb1 = cnp.PyArray_DATA(sb1)
        self.step_keep = state
        return make_step(settings)

    def predict(self, x, int nbatches, bint return_output=False):
        """Evaluation-mode labels for the first ``nbatches*m`` rows of ``x``
        (and the softmax outputs, when asked)."""
        cdef long long* lp
        cdef void* op = NULL
        cdef void* xp
        self._check_x(x, nbatches)
        n = <Py_ssize_t>nbatches * self.m
        labels = np.zeros(n, dtype=np.int64)
        out = np.zeros((n, self.out_size), dtype=self.dtype) if return_output else None
        lp = <long long*>cnp.PyArray_DATA(labels)
        if return_output:
            op = cnp.PyArray_DATA(out)
        xp = cnp.PyArray_DATA(x)
        if self.dtype == np.float32:
            with nogil:
                predict_run(self.layers, self.nl, <const float*>xp, self.m, nbatches, self.nthreads, self.ng, lp,
                            <float*>op)
        else:
            with nogil:
                predict_run(self.layers, self.nl, <const double*>xp, self.m, nbatches, self.nthreads, self.ng, lp,
                            <double*>op)
        return (labels, out) if return_output else labels

    def last_gradients(self):
        """Copies of each layer's ``(dC/dw, dC/db)`` from the last training
        step (mean over the mini-batch, before the L2 term), w in the book's
        shape: for tests, which compare them with the reference.  The dense
        layers' weight gradients are only kept when ``keep_gradients`` was
        set before training (storing them costs a pass over memory)."""
        if not self.keep_gradients:
            raise RuntimeError("set keep_gradients = True before train() to inspect gradients")
        cdef int l
        cdef Layer* L
        cdef Py_ssize_t nw
        grads = []
        itemsize = self.dtype.itemsize
        for l in range(self.nl):
            L = &self.layers[l]
            if L.kind == KIND_CONV:
                shape_w = (L.F, L.C, L.KH, L.KW)
                nb = L.F
            else:
                shape_w = (L.in_size, L.out_size)
                nb = L.out_size
            gw = np.empty(shape_w, dtype=self.dtype)
            gb = np.empty(nb, dtype=self.dtype)
            memcpy(cnp.PyArray_DATA(gw), L.grad_w, gw.size * itemsize)
            memcpy(cnp.PyArray_DATA(gb), L.grad_b, gb.size * itemsize)
            grads.append((gw, gb))
        return grads

    def last_activations(self):
        """Copies of each layer's (m, out_size) activations from the last
        forward pass (the softmax's are its outputs)."""
        cdef int l
        out = []
        for l in range(self.nl):
            a = np.empty((self.m, self.layers[l].out_size), dtype=self.dtype)
            memcpy(cnp.PyArray_DATA(a), self.layers[l].act_buf, a.size * self.dtype.itemsize)
            out.append(a)
        return out

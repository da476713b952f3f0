# cython: language_level=3
"""Compiled twins of ``fastnn.reference``: fully connected networks.

Every ``def`` here has the reference's name, arguments and return values and
does the same arithmetic, written once for float32 and float64 with Cython's
fused ``floating`` type, from the layer pieces in ``_layers.pxd`` (which
network3's kernels share).  The layout is the reference's: one example per
*row*, ``weights[l]`` C-contiguous ``(n_l, n_{l-1})``, ``biases[l]`` 1-D
``(n_l,)`` (updated in place, so views into the book's ``(n_l, 1)`` columns
see the change).

Two small objects describe the work (the kernels read their attributes and
import nothing from the Python layer):

* ``spec``: ``activation`` (hidden layers), ``output`` and ``cost``, integer
  codes (``fastnn.activations``' registry, ``fastnn.costs.CODES``), and
  ``activation_param``, the hidden activation's parameter (a float; leaky
  ReLU's slope); None means the book's sigmoid network with the quadratic
  cost;
* ``step`` (``fastnn.optimizers.Step``): ``eta``, ``n`` (the training set
  size), ``l2``, ``l1``, the ``optimizer`` and its ``state`` (None, or one
  tuple of arrays per layer, shaped like the weights and biases, owned by
  the caller) and ``t``, the steps taken, which ``train`` advances.

The ``def`` functions check their arguments once, cheaply, and then run the
whole computation in ``cdef ... noexcept nogil`` kernels: the checks are what
stands between a wrong argument and a segfault, since bounds checking is off.

A mini-batch step follows the book's backpropagation equations:

* forward:  ``Z = A_prev W^T + b`` (one gemm), ``A = act(Z)`` (softmax on
  whole rows for a softmax output);
* (BP1) output error: quadratic cost ``(a-y) * a(1-a)``; cross-entropy with
  sigmoid outputs, log-likelihood with softmax outputs, squared error with
  linear outputs and Poisson with exponential outputs ``a-y``;
* (BP2) ``delta_prev = (delta W) * act'(a_prev)``, with the *old* ``W``;
* (BP3) ``nabla_b = delta`` summed over the rows (in row order, as numpy);
* (BP4) ``nabla_w = delta^T A_prev``; plain SGD fuses it with the step into
  one gemm, ``W = (1 - eta*lmbda/n) W - (eta/m) delta^T A_prev``; the other
  optimizers take the gradient and step from it (``_optim.param_step``).

Threads (``train``'s ``num_threads``, OpenMP when the module is built with
it): the first layer, whose ``n_1 x n_0`` weights hold nearly all of the
work, is split by neurons (rows of ``W_0``) across the threads, which also
share the gathering of each mini-batch; the layers above it run on thread 0
between two barriers.  A split costs two barriers per mini-batch, so it is
made only where the first layer's share of the work is large
(``threads_for``): a first layer of at least ``THREADS_MIN_WEIGHTS``
weights, and either a mini-batch of at least ``THREADS_MIN_BATCH`` rows or
at least ``THREADS_MIN_NEURONS`` neurons; other networks train on one
thread whatever is asked.  Every element of a product is computed by the
same kernel whatever part of the neurons a thread holds (the routing rule
of ``_smallmm.h`` never looks at the number of neurons), so with our
small-matrix kernels (mini-batches of at most 32 and a first layer of at
least 32 inputs) results are bit for bit one thread's.  Through BLAS
(larger mini-batches, fewer inputs, ``FASTNN_SIMD=blas``) they are so when
BLAS computes each element of a part of a gemm as it does in the whole,
which OpenBLAS, picking its kernels by size, does not always do (float32
on every machine measured, float64 too with 0.3.30's AVX-512 kernels): a few
weights then differ from one thread's in the last bit (the tests bound
it).  Threads pay only on cores that nothing else is using.  With more
than one thread, keep BLAS itself to one thread (threadpoolctl;
``fastnn.trainer.run`` does).

When our kernels make both of the first layer's products, its step is
fused with the next mini-batch's forward pass (``first_layer_step_forward``), which streams its
weights once per step instead of twice, with the same arithmetic.

Inputs: a float64 network also takes ``X`` in float32 (MNIST's pixels are
float32, and exactly so).  Every row of ``X`` is converted to float64 as it
is gathered (or, in ``feedforward``, chunk by chunk) before any arithmetic,
and the conversion is exact: the results are bit for bit those for
``X.astype(float64)``.  ``Y``, the weights and the biases always have the
network's dtype; a float32 network takes float32 ``X`` only.
"""
import numbers

import numpy as np
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport parallel
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport log
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from . import _steps
from ._blas cimport fastnn_smallmm_route, gemm
from ._layers cimport (ACT_EXP, ACT_LINEAR, ACT_SIGMOID, ACT_SOFTMAX, COST_CROSS_ENTROPY,
                       COST_LOG_LIKELIHOOD, COST_POISSON, COST_QUADRATIC, COST_SQUARED_ERROR,
                       Activation, act_known, act_name, make_activation,
                       times_act_prime, fc_forward, fc_input_error, fc_weight_step, softmax_rows)
from ._optim cimport Step, make_step, param_step, step_begin
from ._simd cimport fastnn_simd, fastnn_simd_share, level_ref
from ._threads cimport FASTNN_HAVE_OPENMP, INT_LIMIT, Team, fastnn_bar_t, sync, team_join

cnp.import_array()

# this module's kernels follow the process's one instruction-set level
fastnn_simd_share(level_ref())

cdef extern from "_convert.h":
    void fastnn_float_to_double(double* dst, const float* src, Py_ssize_t n) noexcept nogil
    void fastnn_prefetch(const void* p, Py_ssize_t n) noexcept nogil

#: True when the compiled kernels were built with OpenMP (else ``num_threads``
#: > 1 runs on one thread, with the same results); ``_conv`` is built alike.
OPENMP = bool(FASTNN_HAVE_OPENMP)

cdef enum:
    # rows feedforward pushes through the network at a time: 32, the most
    # rows the small-matrix nt kernel takes (FASTNN_SMALL_DIM; its AVX2
    # variant takes fewer and leaves 32 to BLAS, which is faster there), and a
    # chunk of 784 inputs converted to float64 (200 KB) stays in L2; 1.3-1.5x
    # faster than 256 rows through BLAS for [784, H, 10], H = 30 to 300, either
    # dtype, on the AVX-512 machine where it was measured
    CHUNK = 32
    # the first layer's neurons stepped and then fed forward at a time
    # (first_layer_step_forward): 60 rows of 784 float64 weights, 376 KB,
    # stay in a 1 MB L2 cache beside the two mini-batches' inputs
    FUSE_ROWS = 60
    # train splits the first layer across threads (threads_for) when it has
    # at least THREADS_MIN_WEIGHTS weights and the mini-batch has at least
    # THREADS_MIN_BATCH rows or the layer THREADS_MIN_NEURONS neurons: below
    # that, a mini-batch's share of the layer is too short for the barriers
    THREADS_MIN_WEIGHTS = 16384
    THREADS_MIN_BATCH = 32
    THREADS_MIN_NEURONS = 512

ctypedef cnp.npy_intp intp

# the dtype of the inputs X: the network's own, or float32 for a float64 network
ctypedef fused xfloating:
    float
    double


# Whether train may fuse the first layer's step with the next forward pass
# (train_worker); a switch for the tests and benchmarks, which compare the two.
cdef bint _fuse_first_layer = True


def _set_fuse(bint on):
    """Allow (the default) or forbid fusing the first layer's step with the
    next mini-batch's forward pass; returns the previous setting."""
    global _fuse_first_layer
    previous = _fuse_first_layer
    _fuse_first_layer = on
    return previous


# Whether train splits every network with a layer above the first, large or
# small; a switch for the tests, which check the split on small networks.
cdef bint _split_always = False


def _set_split_always(bint on):
    """Split the first layer across the threads asked for whatever its size
    (tests), or only where that pays (the default); returns the previous
    setting."""
    global _split_always
    previous = _split_always
    _split_always = on
    return previous


cdef void _one_step(floating[::1] w, const floating[::1] g, tuple state, dict settings, int m,
                    bint regularize):
    cdef floating[::1] s0, s1
    cdef floating* p0 = NULL
    cdef floating* p1 = NULL
    if state is not None and state[0] is not None:
        s0 = state[0]
        p0 = &s0[0]
    if state is not None and state[2] is not None:
        s1 = state[2]
        p1 = &s1[0]
    cdef Step st = make_step(settings)
    step_begin(&st, m)
    param_step(w.shape[0], &w[0], &g[0], p0, p1, &st, regularize)


def _param_step(w, g, step, int m, bint regularize):
    """One step of ``step``'s optimizer on the array ``w`` alone (tests), as
    the kernels step each parameter array: ``_optim.step_begin`` for a
    mini-batch of ``m``, then ``param_step`` from the gradient ``g``.
    ``w`` and ``g``: 1-D, C-contiguous, one float dtype, at least one
    element; ``step.state``: a list of one layer's tuple, as a one-layer
    network holds it, its weight entries (0 and 2) shaped like ``w`` and its
    bias entries of one element (unused).
    Updates ``w``, the state and ``step.t``."""
    for name, a in (("w", w), ("g", g)):
        if not (isinstance(a, np.ndarray) and a.ndim == 1 and a.size >= 1
                and a.dtype in (np.float32, np.float64) and a.flags.c_contiguous):
            raise TypeError("{} must be a non-empty 1-D C-contiguous float array".format(name))
    if g.dtype != w.dtype or g.shape != w.shape or not w.flags.writeable:
        raise TypeError("g must match w, and w be writable")
    settings, state = _steps.read(step, [(w.shape, (1,))], w.dtype)
    layer = None if state is None else state[0]
    if w.dtype == np.float32:
        _one_step[float](w, g, layer, settings, m, regularize)
    else:
        _one_step[double](w, g, layer, settings, m, regularize)
    step.t += 1


cdef int split_threads(int L, int n0, int n1, int mini_batch_size, int asked) noexcept nogil:
    """How many threads ``train`` splits the first layer across when
    ``asked`` are wanted (see the module docstring): 1 unless the network
    has a layer above the first and the first is large enough, else
    ``asked``, at most one per neuron."""
    if asked <= 1 or L < 2:
        return 1
    if not _split_always and (<long long>n0 * n1 < THREADS_MIN_WEIGHTS or
                              (mini_batch_size < THREADS_MIN_BATCH and n1 < THREADS_MIN_NEURONS)):
        return 1
    return min(asked, n1)


def threads_for(sizes, mini_batch_size, num_threads):
    """The number of threads ``train`` uses for a network of layer sizes
    ``sizes`` (input first) at ``mini_batch_size`` when ``num_threads`` are
    asked for (one when the module was built without OpenMP)."""
    sizes = [_positive_int(s, "sizes[{}]".format(i)) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError("sizes must have at least two layers, got {!r}".format(sizes))
    if not FASTNN_HAVE_OPENMP:
        return 1
    return split_threads(len(sizes) - 1, sizes[0], sizes[1],
                         _positive_int(mini_batch_size, "mini_batch_size"),
                         _positive_int(num_threads, "num_threads"))


# ---------------------------------------------------------------------------
# nogil kernels
# ---------------------------------------------------------------------------

cdef inline void copy_row(floating* dst, const xfloating* src, Py_ssize_t n) noexcept nogil:
    """``dst[:n] = src[:n]``, converting float32 inputs to a float64 network's
    dtype (exactly) on the way."""
    cdef Py_ssize_t j
    if floating is double and xfloating is float:
        fastnn_float_to_double(dst, src, n)
    elif sizeof(xfloating) == sizeof(floating):
        memcpy(dst, src, n * sizeof(floating))
    else:                       # float64 inputs to a float32 network: not used
        for j in range(n):
            dst[j] = <floating>src[j]


cdef struct Work:
    # the network: L layers, sizes[0..L], weights and biases, activations
    int L
    int* sizes
    void** W
    void** B
    Activation act, out_act
    int cost
    # buffers for up to m_max rows: acts[l] (l = 1..L) and deltas[l]
    # (l = 0..L-1) are m_max by sizes[l] and sizes[l+1]; two gathered input
    # buffers (alternate mini-batches use alternate ones) and the targets
    void** acts
    void** deltas
    void* Xb[2]
    void* Yb
    # the optimizer: its settings (step_begin sets each mini-batch's
    # scalars), the caller's state arrays for the weights (SW0, SW1) and
    # biases (SB0, SB1), NULL where the optimizer keeps fewer, and, unless
    # plain, a gradient buffer per layer
    Step st
    void** SW0
    void** SB0
    void** SW1
    void** SB1
    void** G
    fastnn_bar_t bar
    # the end of the run (prefetching stops there), and whether the first
    # layer's step is fused with the next forward pass (train_run)
    intp stop
    bint fuse
    bint fuse_allowed
    # scikit-learn's bookkeeping (train's losses= and sample_weight=): how
    # to measure a mini-batch's loss (LOSS_*), where to write it (NULL: not
    # asked for; entry i is the run's i-th mini-batch, the run starting at
    # position start), the rows' weights (NULL: each weighs 1) and the
    # step's own alpha, which weights rescale per mini-batch; the order
    # (NULL: in place), to find a row's weight
    int loss_kind
    double* losses
    const double* sw
    double alpha
    intp start
    int mbs
    const intp* order


cdef inline Activation layer_act(Work* wk, int l) noexcept nogil:
    return wk.out_act if l == wk.L - 1 else wk.act


cdef void layer_forward(Work* wk, int l, int m, int j0, int j1, const floating* a_prev,
                        floating* a) noexcept nogil:
    """Neurons ``j0..j1-1`` of layer ``l`` for ``m`` rows; a softmax layer is
    always computed whole, by one thread."""
    cdef int n_in = wk.sizes[l], n_out = wk.sizes[l + 1]
    cdef Activation act = layer_act(wk, l)
    fc_forward(m, n_in, j0, j1, a_prev, n_in, (<floating**>wk.W)[l], True, n_in,
               (<floating**>wk.B)[l], 1, act, a, n_out)
    if act.code == ACT_SOFTMAX:
        softmax_rows(m, n_out, a, n_out)


cdef void forward(Work* wk, const floating* A0, int m) noexcept nogil:
    """Feed ``m`` rows ``A0`` through every layer into ``acts[1..L]``."""
    cdef int l
    cdef const floating* a_prev = A0
    cdef floating** acts = <floating**>wk.acts
    for l in range(wk.L):
        layer_forward(wk, l, m, 0, wk.sizes[l + 1], a_prev, acts[l + 1])
        a_prev = acts[l + 1]


cdef void output_error(int cost, const floating* a, const floating* y,
                       floating* delta, Py_ssize_t size) noexcept nogil:
    """(BP1) The output layer's error: quadratic cost (sigmoid outputs)
    ``(a-y) * a(1-a)``; cross-entropy (sigmoid), log-likelihood (softmax),
    squared error (linear) and Poisson (exponential) ``a-y``, the
    activation's derivative having cancelled."""
    cdef Py_ssize_t i
    cdef floating one = 1     # a literal 1 would make the float32 path compute in double
    if cost == COST_QUADRATIC:
        for i in range(size):
            delta[i] = (a[i] - y[i]) * (a[i] * (one - a[i]))
    else:
        for i in range(size):
            delta[i] = a[i] - y[i]


cdef void hidden_error(int m, int n_out, int n_in, const floating* delta,
                       const floating* w, const floating* a_prev, Activation act,
                       floating* delta_prev) noexcept nogil:
    """(BP2) ``delta_prev = (delta W) * act'(a_prev)``: the error one layer
    down, ``m`` by ``n_in``, from ``delta`` (``m`` by ``n_out``) and ``W``."""
    fc_input_error(m, n_in, n_out, delta, w, True, delta_prev)
    times_act_prime(act, <Py_ssize_t>m * n_in, delta_prev, a_prev)


cdef void column_sums(int m, int n, const floating* delta, Py_ssize_t ld,
                      floating* out) noexcept nogil:
    """(BP3) ``out = delta.sum(axis=0)`` for an ``m`` by ``n`` ``delta`` whose
    rows lie ``ld`` elements apart, adding the rows in order ``0..m-1`` as
    numpy does."""
    cdef int i, j
    for j in range(n):
        out[j] = delta[j]
    for i in range(1, m):
        delta += ld
        for j in range(n):
            out[j] += delta[j]


cdef enum:
    BIAS_BLOCK = 64     # biases stepped per optimizer call (layer_step)


cdef void layer_step(Work* wk, int l, int m, int j0, int j1, const floating* delta,
                     const floating* a_prev, const Step* st) noexcept nogil:
    """(BP3), (BP4) and the optimizer's step for neurons ``j0..j1-1`` of
    layer ``l``; ``delta`` is ``m`` by ``n_out``."""
    cdef int n_in = wk.sizes[l], n_out = wk.sizes[l + 1]
    cdef Py_ssize_t row0 = <Py_ssize_t>j0 * n_in
    cdef floating* b = (<floating**>wk.B)[l]
    cdef floating* g = NULL         # the gradient buffer and state arrays, when used
    cdef floating* sw0 = NULL
    cdef floating* sw1 = NULL
    cdef floating* sb0 = NULL
    cdef floating* sb1 = NULL
    if j1 <= j0:
        return
    if wk.G != NULL:
        g = (<floating**>wk.G)[l] + row0
    if wk.SW0 != NULL:
        sw0 = (<floating**>wk.SW0)[l] + row0
        sb0 = (<floating**>wk.SB0)[l] + j0
    if wk.SW1 != NULL:
        sw1 = (<floating**>wk.SW1)[l] + row0
        sb1 = (<floating**>wk.SB1)[l] + j0
    fc_weight_step(j1 - j0, n_in, m, delta + j0, n_out, a_prev, n_in,
                   (<floating**>wk.W)[l] + row0, g, sw0, sw1, st)
    # the biases' gradients (column sums of a block of neurons), then one step of the block
    cdef floating sums[BIAS_BLOCK]
    cdef int k, k0 = j0
    while k0 < j1:
        k = min(<int>BIAS_BLOCK, j1 - k0)
        column_sums(m, k, delta + k0, n_out, sums)
        param_step(k, b + k0, sums, NULL if sb0 == NULL else sb0 + (k0 - j0),
                   NULL if sb1 == NULL else sb1 + (k0 - j0), st, False)
        k0 += k


cdef enum:
    # the losses train can record, scikit-learn's by its names (``LOSS_KINDS``)
    LOSS_NONE = 0
    LOSS_LOG = 1            # softmax outputs: log_loss
    LOSS_BINARY_LOG = 2     # sigmoid outputs: binary_log_loss (binary and multilabel)
    LOSS_SQUARED = 3        # linear outputs: squared_error
    LOSS_POISSON = 4        # exponential outputs: poisson

# (output activation code, cost code) -> the loss train records for it
LOSS_KINDS = {(ACT_SOFTMAX, COST_LOG_LIKELIHOOD): LOSS_LOG,
              (ACT_SIGMOID, COST_CROSS_ENTROPY): LOSS_BINARY_LOG,
              (ACT_LINEAR, COST_SQUARED_ERROR): LOSS_SQUARED,
              (ACT_EXP, COST_POISSON): LOSS_POISSON}


cdef inline double xlogy(double x, double y) noexcept nogil:
    """``x ln y``, 0 where ``x`` is 0 (whatever ``y``), as scipy's xlogy."""
    return 0.0 if x == 0 else x * log(y)


cdef inline double row_weight(const double* sw, const intp* order, intp k, int i) noexcept nogil:
    """The weight of the ``i``-th row of the mini-batch at position ``k``."""
    if sw == NULL:
        return 1.0
    return sw[order[k + i]] if order != NULL else sw[k + i]


cdef double batch_weight(const double* sw, const intp* order, intp k, int m) noexcept nogil:
    """The summed weight of the ``m`` rows at position ``k`` (``m`` without weights)."""
    cdef int i
    cdef double total = 0
    if sw == NULL:
        return m
    for i in range(m):
        total += row_weight(sw, order, k, i)
    return total


cdef double weights_square_norm(Work* wk, const floating* dtype_of) noexcept nogil:
    """The sum of every weight's square (not the biases'), in double
    (``dtype_of``: any pointer of the network's dtype, which it names)."""
    cdef int l
    cdef Py_ssize_t i, n
    cdef double total = 0
    # four running sums: one sum would wait on each addition before the next
    # (this runs once per mini-batch, over every weight)
    cdef double s0, s1, s2, s3
    cdef const floating* w
    for l in range(wk.L):
        w = (<floating**>wk.W)[l]
        n = <Py_ssize_t>wk.sizes[l] * wk.sizes[l + 1]
        s0 = s1 = s2 = s3 = 0
        i = 0
        while i + 4 <= n:
            s0 += <double>w[i] * w[i]
            s1 += <double>w[i + 1] * w[i + 1]
            s2 += <double>w[i + 2] * w[i + 2]
            s3 += <double>w[i + 3] * w[i + 3]
            i += 4
        while i < n:
            s0 += <double>w[i] * w[i]
            i += 1
        total += (s0 + s1) + (s2 + s3)
    return total


cdef double row_loss(int kind, int n, const floating* a, const floating* y) noexcept nogil:
    """One row's loss, scikit-learn's: the log losses clip the outputs to
    ``[eps, 1-eps]`` (eps of the dtype) first; squared_error is half the mean
    over the outputs, poisson ``y ln(y/a) - y + a`` summed over them."""
    cdef int j
    cdef double total = 0
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating one = 1, p
    for j in range(n):
        if kind == LOSS_SQUARED:
            total += (<double>y[j] - a[j]) * (<double>y[j] - a[j])
        elif kind == LOSS_POISSON:
            total += xlogy(y[j], y[j] / a[j]) - y[j] + a[j]
        else:
            p = min(max(a[j], eps), one - eps)
            total -= xlogy(y[j], p)
            if kind == LOSS_BINARY_LOG:
                total -= xlogy(one - y[j], one - p)
    if kind == LOSS_SQUARED:
        total = 0.5 * total / n
    return total


cdef double minibatch_loss(Work* wk, const floating* a, const floating* y, intp k, int m,
                           double sw_sum) noexcept nogil:
    """The loss of the ``m`` rows at position ``k`` with outputs ``a`` and
    targets ``y``, as scikit-learn's ``_backprop`` reports it: the rows'
    (weighted) mean loss plus ``alpha/2`` times the weights' squared norm,
    divided by the rows' summed weight."""
    cdef int i, n = wk.sizes[wk.L]
    cdef double total = 0
    for i in range(m):
        total += row_weight(wk.sw, wk.order, k, i) * row_loss(
            wk.loss_kind, n, a + <Py_ssize_t>i * n, y + <Py_ssize_t>i * n)
    return total / sw_sum + 0.5 * wk.alpha * weights_square_norm(wk, a) / sw_sum


cdef void weigh_rows(Work* wk, floating* delta, intp k, int m, double scale) noexcept nogil:
    """Multiply each row of the output error by its weight times ``scale``."""
    cdef int i, j, n = wk.sizes[wk.L]
    cdef floating f
    for i in range(m):
        f = <floating>(row_weight(wk.sw, wk.order, k, i) * scale)
        for j in range(n):
            delta[<Py_ssize_t>i * n + j] *= f


cdef void upper_layers(Work* wk, const floating* Yb, int m, const Step* st, intp k) noexcept nogil:
    """Thread 0's part of a step: forward through layers 1..L-1, (BP1), and
    backwards (BP2)-(BP4) down to the first layer's error ``deltas[0]``, each
    layer's error computed from the old ``W`` before the layer steps."""
    cdef int l, L = wk.L
    cdef int* sizes = wk.sizes
    cdef floating** W = <floating**>wk.W
    cdef floating** acts = <floating**>wk.acts
    cdef floating** deltas = <floating**>wk.deltas
    cdef double sw_sum = batch_weight(wk.sw, wk.order, k, m)
    for l in range(1, L):
        layer_forward(wk, l, m, 0, sizes[l + 1], acts[l], acts[l + 1])
    if wk.losses != NULL:       # before any layer steps: the weights the outputs came from
        wk.losses[(k - wk.start) // wk.mbs] = minibatch_loss(wk, acts[L], Yb, k, m, sw_sum)
    output_error(wk.cost, acts[L], Yb, deltas[L - 1], <Py_ssize_t>m * sizes[L])
    if wk.sw != NULL:
        # the steps divide the summed gradient by m: scaled by w_i m / sum(w),
        # it becomes scikit-learn's weighted mean
        weigh_rows(wk, deltas[L - 1], k, m, m / sw_sum)
    for l in range(L - 1, 0, -1):
        hidden_error(m, sizes[l + 1], sizes[l], deltas[l], W[l], acts[l], wk.act, deltas[l - 1])
        layer_step(wk, l, m, 0, sizes[l + 1], deltas[l], acts[l], st)


cdef inline const floating* gather(Work* wk, Team* T, const xfloating* X, const floating* Y,
                                   const intp* order, intp k, int m, int parity,
                                   const floating** Yb) noexcept nogil:
    """Mini-batch ``k .. k+m-1``: its inputs (this thread's share of the rows,
    gathered and converted into input buffer ``parity`` when they need it)
    and, from thread 0, its targets; returns the inputs and sets ``*Yb``.
    Every thread also sends for the rows it will gather next time."""
    cdef int i, nL = wk.sizes[wk.L], n0 = wk.sizes[0]
    cdef int i0 = <int>((<long long>m * T.tid) // T.nthreads)
    cdef int i1 = <int>((<long long>m * (T.tid + 1)) // T.nthreads)
    cdef intp row
    cdef floating* buf
    cdef const floating* Xb
    if order != NULL or sizeof(xfloating) != sizeof(floating):
        buf = <floating*>wk.Xb[parity]
        for i in range(i0, i1):
            row = order[k + i] if order != NULL else k + i
            copy_row(buf + <Py_ssize_t>i * n0, X + row * n0, n0)
        Xb = buf
    else:
        Xb = <const floating*>X + k * n0        # X has the network's dtype
    if order != NULL:
        if T.tid == 0:
            for i in range(m):
                memcpy(<floating*>wk.Yb + <Py_ssize_t>i * nL, Y + order[k + i] * nL,
                       nL * sizeof(floating))
        Yb[0] = <floating*>wk.Yb
        # the rows this thread gathers next, on their way while it computes
        for i in range(i0, i1):
            if k + m + i < wk.stop:
                fastnn_prefetch(X + order[k + m + i] * n0, n0 * sizeof(xfloating))
    else:
        Yb[0] = Y + k * nL
    return Xb


cdef void first_layer_step_forward(Work* wk, int m, int j0, int j1, const floating* D0,
                                   const floating* Xb, const Step* st, int m_next,
                                   const floating* Xn) noexcept nogil:
    """The first layer's step for this mini-batch (``layer_step``) and the
    next mini-batch's forward through it (``layer_forward``), ``FUSE_ROWS``
    neurons at a time: each block of ``W``'s rows is used by the forward
    pass while the step has just left it in cache, so ``W`` is streamed once
    per mini-batch instead of twice.  Only with our small-matrix kernels,
    which compute every element the same way whatever block it falls in: the
    results are bit for bit those of the step and the forward apart."""
    cdef int j = j0, jb
    cdef floating* A1 = (<floating**>wk.acts)[1]
    while j < j1:
        jb = min(j + FUSE_ROWS, j1)
        layer_step(wk, 0, m, j, jb, D0, Xb, st)
        layer_forward(wk, 0, m_next, j, jb, Xn, A1)
        j = jb


cdef void train_worker(Work* wk, const xfloating* X, const floating* Y,
                       const intp* order, intp start, intp stop, int mini_batch_size) noexcept nogil:
    """What every thread runs: the mini-batches of positions ``start ..
    stop-1``, in step with the others.

    The mini-batches are consecutive runs of ``order`` (the last possibly
    shorter), each gathered into a contiguous buffer; with ``order`` NULL they
    are consecutive runs of rows of ``X`` and ``Y``, used in place (``X``'s
    rows are gathered all the same when they need converting).  Thread
    ``t`` of ``T`` owns the first layer's neurons ``n_1*t/T .. n_1*(t+1)/T``.

    Each mini-batch: the first layer's forward pass (this thread's neurons),
    then thread 0 runs the layers above and backwards down to the first
    layer's error, then the first layer's step (this thread's neurons).
    With ``wk.fuse``, the next mini-batch is gathered before that step and
    its forward pass is made with the step (``first_layer_step_forward``).
    """
    cdef Team T
    team_join(&T, &wk.bar)
    cdef int n1 = wk.sizes[1]
    cdef int j0 = <int>((<long long>n1 * T.tid) // T.nthreads)
    cdef int j1 = <int>((<long long>n1 * (T.tid + 1)) // T.nthreads)
    cdef floating* A1 = (<floating**>wk.acts)[1]
    cdef floating* D0 = (<floating**>wk.deltas)[0]
    cdef Step st = wk.st
    cdef const floating* Xb
    cdef const floating* Xn
    cdef const floating* Yb
    cdef const floating* Yn
    cdef intp k = start, nxt
    cdef int m, m_next, parity = 0
    cdef bint ready = False         # the forward pass of mini-batch k is done
    while k < stop:
        m = <int>min(<intp>mini_batch_size, stop - k)
        if wk.sw != NULL:
            # scikit-learn divides alpha's term by the summed weight, the step by m
            st.alpha = wk.alpha * m / batch_weight(wk.sw, wk.order, k, m)
        step_begin(&st, m)
        if not ready:
            Xb = gather(wk, &T, X, Y, order, k, m, parity, &Yb)
            parity ^= 1
            sync(&T)
            # forward through the first layer: this thread's neurons
            layer_forward(wk, 0, m, j0, j1, Xb, A1)
        sync(&T)
        # the layers above, and the first layer's error deltas[0]
        if T.tid == 0:
            upper_layers(wk, Yb, m, &st, k)
        nxt = k + m
        ready = wk.fuse and nxt < stop
        if ready:
            # the next mini-batch, into the other buffer (thread 0 gathers
            # the targets after it is done with this mini-batch's)
            m_next = <int>min(<intp>mini_batch_size, stop - nxt)
            Xn = gather(wk, &T, X, Y, order, nxt, m_next, parity, &Yn)
            parity ^= 1
        sync(&T)
        # the first layer's step: this thread's neurons (with the next
        # forward pass, fused).  Without fusing, no barrier before the next
        # gather: it fills the other input buffer.
        if ready:
            first_layer_step_forward(wk, m, j0, j1, D0, Xb, &st, m_next, Xn)
            Xb = Xn
            Yb = Yn
        else:
            layer_step(wk, 0, m, j0, j1, D0, Xb, &st)
        k = nxt


cdef void train_run(Work* wk, const xfloating* X, const floating* Y, const intp* order,
                    intp start, intp stop, int mini_batch_size, int num_threads) noexcept nogil:
    """Train on the mini-batches of positions ``start .. stop-1``, in one
    parallel region (none at all with one thread)."""
    cdef int level = fastnn_simd(), size = sizeof(floating)
    wk.bar.count = 0
    wk.bar.sense = 0
    wk.stop = stop
    wk.start = start
    wk.mbs = mini_batch_size
    wk.order = order
    # Fuse the first layer's step with the next forward pass only when our
    # small-matrix kernels make both products (see first_layer_step_forward),
    # and the first layer is not the (perhaps softmax) output layer.
    wk.fuse = (wk.L >= 2 and wk.fuse_allowed
               and fastnn_smallmm_route(level, size, False, True, mini_batch_size, FUSE_ROWS,
                                        wk.sizes[0]) != 0
               and fastnn_smallmm_route(level, size, True, False, FUSE_ROWS, wk.sizes[0],
                                        mini_batch_size) != 0)
    if num_threads <= 1:
        train_worker(wk, X, Y, order, start, stop, mini_batch_size)
        return
    with parallel(num_threads=num_threads):
        train_worker(wk, X, Y, order, start, stop, mini_batch_size)


cdef void feedforward_kernel(Work* wk, const xfloating* X, intp n_rows, floating* Xb,
                             floating* out) noexcept nogil:
    """The output activations for every row of ``X``, ``CHUNK`` rows at a time;
    the last layer of each chunk is copied into ``out``.  Inputs that need
    converting are converted a chunk at a time into ``Xb``."""
    cdef intp r = 0
    cdef int m
    cdef int n0 = wk.sizes[0]
    cdef int nL = wk.sizes[wk.L]
    cdef const floating* A0
    while r < n_rows:
        m = <int>min(<intp>CHUNK, n_rows - r)
        if sizeof(xfloating) != sizeof(floating):
            copy_row(Xb, X + r * n0, <Py_ssize_t>m * n0)
            A0 = Xb
        else:
            A0 = <const floating*>X + r * n0    # X has the network's dtype
        forward(wk, A0, m)
        memcpy(out + r * nL, (<floating**>wk.acts)[wk.L], <Py_ssize_t>m * nL * sizeof(floating))
        r += m


cdef void backprop_kernel(Work* wk, const floating* X, const floating* Y, int m,
                          floating** nabla_w, floating** nabla_b,
                          double* loss) noexcept nogil:
    """The reference's ``backprop``: (BP1)-(BP4) summed over the ``m`` rows,
    into ``nabla_w[l]`` and ``nabla_b[l]``.  With ``loss`` (not NULL),
    ``loss_gradient``'s instead: scikit-learn's loss into ``*loss``, and
    its gradient, the rows' weighted mean plus ``alpha/sum(w)`` times the
    weights."""
    cdef int l, n_in, n_out, L = wk.L
    cdef int* sizes = wk.sizes
    cdef floating** acts = <floating**>wk.acts
    cdef floating** deltas = <floating**>wk.deltas
    cdef double sw_sum = 0
    cdef Py_ssize_t i
    cdef floating decay
    acts[0] = <floating*>X
    forward(wk, X, m)
    output_error(wk.cost, acts[L], Y, deltas[L - 1], <Py_ssize_t>m * sizes[L])    # (BP1)
    if loss != NULL:
        sw_sum = batch_weight(wk.sw, NULL, 0, m)
        loss[0] = minibatch_loss(wk, acts[L], Y, 0, m, sw_sum)
        weigh_rows(wk, deltas[L - 1], 0, m, 1.0 / sw_sum)
    for l in range(L - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        column_sums(m, n_out, deltas[l], n_out, nabla_b[l])                           # (BP3)
        gemm(True, False, n_out, n_in, m, 1.0, deltas[l], n_out, acts[l], n_in,
             0.0, nabla_w[l], n_in)                                             # (BP4)
        if loss != NULL and wk.alpha != 0:
            decay = <floating>(wk.alpha / sw_sum)
            for i in range(<Py_ssize_t>n_out * n_in):
                nabla_w[l][i] += decay * (<floating**>wk.W)[l][i]
        if l > 0:
            hidden_error(m, n_out, n_in, deltas[l], (<floating**>wk.W)[l], acts[l], wk.act,
                         deltas[l - 1])                                         # (BP2)


# ---------------------------------------------------------------------------
# Argument checks (once per call, with the GIL) and work buffers
# ---------------------------------------------------------------------------

cdef _float_dtype(arr, str name):
    """The array's dtype, if float32 or float64, else a TypeError naming it."""
    if not isinstance(arr, np.ndarray):
        raise TypeError("{} must be a numpy array, not {}".format(name, type(arr).__name__))
    if arr.dtype != np.float32 and arr.dtype != np.float64:
        raise TypeError("{} has dtype {}; the compiled kernels take float32 or float64"
                        .format(name, arr.dtype))
    return arr.dtype


cdef _check_array(arr, str name, int ndim, dtype, bint writeable=False, bint blas=False):
    _float_dtype(arr, name)
    if arr.dtype != dtype:
        raise TypeError("{} has dtype {} but weights[0] has dtype {}: every array must "
                        "have one dtype".format(name, arr.dtype, dtype))
    if arr.ndim != ndim:
        raise ValueError("{} must be {}-D, got shape {}".format(name, ndim, arr.shape))
    if not arr.flags.c_contiguous:
        raise ValueError("{} must be C-contiguous (use np.ascontiguousarray)".format(name))
    if writeable and not arr.flags.writeable:
        raise ValueError("{} is read-only but is updated in place".format(name))
    if blas and arr.size > INT_LIMIT:
        raise ValueError("{} has {} elements, more than BLAS's 32-bit indices allow"
                         .format(name, arr.size))


cdef enum:
    # bytes: a cache line, and an AVX-512 vector
    ALIGN = 64


cdef inline char* aligned(char* p) noexcept:
    """``p`` rounded up to a multiple of ``ALIGN``."""
    return <char*>((<size_t>p + (ALIGN - 1)) & ~(<size_t>(ALIGN - 1)))


_OUTPUT_COST = {(ACT_SIGMOID, COST_QUADRATIC), (ACT_SIGMOID, COST_CROSS_ENTROPY),
                (ACT_SOFTMAX, COST_LOG_LIKELIHOOD), (ACT_LINEAR, COST_SQUARED_ERROR),
                (ACT_EXP, COST_POISSON)}


cdef class _Net:
    """The checked network, and work space for up to ``m`` rows at a time.

    Holds pointers to every layer's weights and biases and one block of
    buffers, allocated once per call and freed with the object: ``acts[l]``
    (``m`` by ``sizes[l]``, l = 1..L), ``deltas[l]`` (``m`` by
    ``sizes[l+1]``, l = 0..L-1), and with ``gather`` two ``m`` by
    ``sizes[0]`` input buffers and room for a copy of ``weights[0]``, both
    aligned to ``ALIGN`` bytes, an ``m`` by ``sizes[L]`` target buffer, and
    for optimizers other than plain SGD a gradient buffer per layer; with
    ``convert`` alone, one input buffer (for inputs to convert).
    """
    cdef Work wk
    cdef object dtype
    cdef list keep        # the arrays the pointers point into
    cdef void* block
    cdef void* w0_copy    # with gather: room for an aligned copy of weights[0]

    def __cinit__(self, weights, biases, spec, bint writeable):
        cdef int l, L
        if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
            raise TypeError("weights and biases must be lists of arrays")
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError("weights and biases must be non-empty lists of one length, "
                             "got {} and {}".format(len(weights), len(biases)))
        L = self.wk.L = len(weights)
        self.dtype = _float_dtype(weights[0], "weights[0]")
        self.keep = list(weights) + list(biases)
        self.wk.sizes = <int*>malloc((L + 1) * sizeof(int))
        # nine tables of L + 1 pointers in one block: W, B, acts, deltas,
        # then SW0, SB0, SW1, SB1 (set_step) and G (allocate)
        self.wk.W = <void**>malloc(9 * (L + 1) * sizeof(void*))
        if self.wk.sizes == NULL or self.wk.W == NULL:
            raise MemoryError()
        self.wk.B = self.wk.W + (L + 1)
        self.wk.acts = self.wk.B + (L + 1)
        self.wk.deltas = self.wk.acts + (L + 1)
        self.wk.SW0 = self.wk.SB0 = self.wk.SW1 = self.wk.SB1 = self.wk.G = NULL
        self.wk.loss_kind = LOSS_NONE
        self.wk.losses = NULL
        self.wk.sw = NULL
        self.wk.alpha = 0
        self.wk.order = NULL
        self.wk.start = 0
        self.wk.mbs = 1
        for l in range(L):
            _check_array(weights[l], "weights[{}]".format(l), 2, self.dtype, writeable, True)
            _check_array(biases[l], "biases[{}]".format(l), 1, self.dtype, writeable)
            w = weights[l]
            b = biases[l]
            if w.shape[0] == 0 or w.shape[1] == 0:
                raise ValueError("weights[{}] has an empty shape {}".format(l, w.shape))
            if l == 0:
                self.wk.sizes[0] = w.shape[1]
            elif w.shape[1] != self.wk.sizes[l]:
                raise ValueError("weights[{}] has shape {} but layer {} has {} neurons "
                                 "(weights[{}] is {})".format(l, w.shape, l, self.wk.sizes[l],
                                                              l - 1, weights[l - 1].shape))
            if b.shape[0] != w.shape[0]:
                raise ValueError("biases[{}] has shape {} but weights[{}] has shape {}"
                                 .format(l, b.shape, l, w.shape))
            self.wk.sizes[l + 1] = w.shape[0]
            self.wk.W[l] = cnp.PyArray_DATA(<cnp.ndarray>w)
            self.wk.B[l] = cnp.PyArray_DATA(<cnp.ndarray>b)
        if spec is None:
            self.wk.act = self.wk.out_act = make_activation(ACT_SIGMOID, 0.0)
            self.wk.cost = COST_QUADRATIC
        else:
            self.wk.act = make_activation(_code(spec, "activation"),
                                          _parameter(spec, "activation_param"))
            self.wk.out_act = make_activation(_code(spec, "output"), 0.0)
            self.wk.cost = _code(spec, "cost")
            if not act_known(self.wk.act.code):
                raise ValueError("spec.activation: unknown activation code {}".format(
                    self.wk.act.code))
            if self.wk.cost >= 0 and (self.wk.out_act.code, self.wk.cost) not in _OUTPUT_COST:
                raise ValueError("spec: output code {} with cost code {} is not a combination the "
                                 "kernels implement".format(self.wk.out_act.code, self.wk.cost))

    def __dealloc__(self):
        free(self.block)
        free(self.wk.sizes)
        free(self.wk.W)

    cdef allocate(self, intp m, bint gather, bint convert=False, bint gradients=False):
        """The work space for ``m`` rows at a time, in one block."""
        cdef int l, L = self.wk.L
        cdef int* sizes = self.wk.sizes
        cdef Py_ssize_t item = self.dtype.itemsize, total = 0
        cdef char* p
        for l in range(1, L + 1):
            if m * sizes[l] > INT_LIMIT:
                raise ValueError("{} rows at a time is too many for BLAS".format(m))
            total += 2 * m * sizes[l]
        if gather:
            if m * sizes[0] > INT_LIMIT:
                raise ValueError("{} rows at a time is too many for BLAS".format(m))
            total += 2 * m * sizes[0] + sizes[0] * sizes[1] + m * sizes[L]
        elif convert:
            total += m * sizes[0]
        if gradients:
            for l in range(L):
                total += <Py_ssize_t>sizes[l] * sizes[l + 1]
        self.block = malloc(max(total, 1) * item + 3 * ALIGN)
        if self.block == NULL:
            raise MemoryError("could not allocate {} bytes of work space".format(total * item))
        p = <char*>self.block
        self.wk.acts[0] = NULL
        for l in range(1, L + 1):
            self.wk.acts[l] = p
            p += m * sizes[l] * item
            self.wk.deltas[l - 1] = p
            p += m * sizes[l] * item
        if gradients:
            self.wk.G = self.wk.W + 8 * (L + 1)     # after the state tables, not over them
            for l in range(L):
                self.wk.G[l] = p
                p += <Py_ssize_t>sizes[l] * sizes[l + 1] * item
        self.wk.Xb[0] = self.wk.Xb[1] = self.wk.Yb = self.w0_copy = NULL
        if gather:
            p = aligned(p)
            self.wk.Xb[0] = p
            p = aligned(p + m * sizes[0] * item)
            self.wk.Xb[1] = p
            p = aligned(p + m * sizes[0] * item)
            self.w0_copy = p
            p += sizes[0] * sizes[1] * item
            self.wk.Yb = p
        elif convert:
            self.wk.Xb[0] = self.wk.Xb[1] = aligned(p)

    cdef check_X(self, X):
        """``X`` has the network's dtype, or float32 for a float64 network."""
        _float_dtype(X, "X")
        if self.dtype == np.float64 and X.dtype == np.float32:
            _check_array(X, "X", 2, X.dtype)
        else:
            _check_array(X, "X", 2, self.dtype)
        if X.shape[1] != self.wk.sizes[0]:
            raise ValueError("X has shape {} but weights[0] has shape ({}, {}): X needs "
                             "{} columns".format(X.shape, self.wk.sizes[1], self.wk.sizes[0],
                                                 self.wk.sizes[0]))

    cdef check_XY(self, X, Y):
        self.check_X(X)
        _check_array(Y, "Y", 2, self.dtype)
        if Y.shape[0] != X.shape[0] or Y.shape[1] != self.wk.sizes[self.wk.L]:
            raise ValueError("Y has shape {} but should be ({}, {}): a row per row of X "
                             "and a column per output neuron"
                             .format(Y.shape, X.shape[0], self.wk.sizes[self.wk.L]))

    cdef set_step(self, step, weights, biases):
        """Check and store the optimizer's step and point at its state
        arrays; returns True unless it is plain SGD (which needs no gradient
        buffers)."""
        cdef int l, L = self.wk.L
        settings, state = _steps.read(
            step, [(w.shape, b.shape) for w, b in zip(weights, biases)], self.dtype)
        self.wk.st = make_step(settings)
        if state is not None:
            self.wk.SW0 = self.wk.W + 4 * (L + 1)
            self.wk.SB0 = self.wk.SW0 + (L + 1)
            self.wk.SW1 = self.wk.SB0 + (L + 1)
            self.wk.SB1 = self.wk.SW1 + (L + 1)
            for l in range(L):
                sw0, sb0, sw1, sb1 = state[l]
                self.keep.extend([sw0, sb0])
                self.wk.SW0[l] = cnp.PyArray_DATA(<cnp.ndarray>sw0)
                self.wk.SB0[l] = cnp.PyArray_DATA(<cnp.ndarray>sb0)
                if sw1 is not None:
                    self.keep.extend([sw1, sb1])
                    self.wk.SW1[l] = cnp.PyArray_DATA(<cnp.ndarray>sw1)
                    self.wk.SB1[l] = cnp.PyArray_DATA(<cnp.ndarray>sb1)
            if state[0][2] is None:
                self.wk.SW1 = self.wk.SB1 = NULL
        return not self.wk.st.plain


    cdef set_losses(self, losses, intp batches):
        """Record each mini-batch's loss into ``losses`` (float64, at least
        ``batches`` long), scikit-learn's loss of the network's output layer
        and cost."""
        kind = LOSS_KINDS.get((self.wk.out_act.code, self.wk.cost))
        if kind is None:
            raise ValueError("losses: the kernels record scikit-learn's losses for softmax outputs "
                             "with the log-likelihood, sigmoid outputs with the cross-entropy, "
                             "linear outputs with SquaredErrorCost and exponential outputs with "
                             "PoissonCost only")
        _check_array(losses, "losses", 1, np.float64, True)
        if losses.shape[0] < batches:
            raise ValueError("losses has {} entries but the call trains {} mini-batches"
                             .format(losses.shape[0], batches))
        self.keep.append(losses)
        self.wk.loss_kind = kind
        self.wk.losses = <double*>cnp.PyArray_DATA(<cnp.ndarray>losses)

    cdef set_sample_weight(self, sample_weight, intp n_rows):
        """Weigh row ``i`` of ``X`` by ``sample_weight[i]`` (float64, finite, >= 0)."""
        _check_array(sample_weight, "sample_weight", 1, np.float64)
        if sample_weight.shape[0] != n_rows:
            raise ValueError("sample_weight has {} entries but X has {} rows".format(
                sample_weight.shape[0], n_rows))
        if not (np.isfinite(sample_weight).all() and (sample_weight >= 0).all()):
            raise ValueError("sample_weight must be finite and >= 0")
        self.keep.append(sample_weight)
        self.wk.sw = <const double*>cnp.PyArray_DATA(<cnp.ndarray>sample_weight)


cdef int _code(spec, str name) except -2:
    value = getattr(spec, name, None)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError("spec.{} must be an integer code, not {!r}".format(name, value))
    if not -1 <= value <= 16:
        raise ValueError("spec.{}: unknown code {}".format(name, value))
    return <int>value


def activation_codes():
    """``{name: code}`` of every elementwise activation the kernels implement
    (the lines of ``_activations.h``), for checking against the registry."""
    return {act_name(code).decode(): code for code in range(256) if act_known(code)}


cdef double _parameter(spec, str name) except? -1.0:
    """The activation's parameter: a finite real (0 when the spec has none);
    the registry checks the range each activation allows."""
    value = getattr(spec, name, 0.0)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("spec.{} must be a real number, not {!r}".format(name, value))
    if not np.isfinite(value):
        raise ValueError("spec.{} must be finite, not {!r}".format(name, value))
    return <double>value


cdef _check_cost(_Net net):
    if net.wk.cost < 0:
        raise ValueError("the compiled kernels implement the quadratic, cross-entropy, "
                         "log-likelihood, squared-error and Poisson costs only; for another cost "
                         "pass backend='numpy'")


cdef int _positive_int(x, str name) except -1:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError("{} must be an integer, not {!r}".format(name, x))
    if x < 1:
        raise ValueError("{} must be >= 1, got {}".format(name, x))
    return <int>min(x, INT_LIMIT)


# ---------------------------------------------------------------------------
# Python-visible twins of fastnn.reference
# ---------------------------------------------------------------------------

def feedforward(weights, biases, X, spec=None):
    """Return the output layer's activations for every row of ``X``, a new
    ``(len(X), sizes[-1])`` array of the network's dtype."""
    cdef _Net net = _Net(weights, biases, spec, False)
    net.check_X(X)
    cdef intp n_rows = X.shape[0]
    out = np.empty((n_rows, net.wk.sizes[net.wk.L]), dtype=net.dtype)
    if n_rows == 0:
        return out
    cdef bint convert = X.dtype != net.dtype
    net.allocate(min(n_rows, <intp>CHUNK), False, convert)
    cdef void* x = cnp.PyArray_DATA(<cnp.ndarray>X)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    if net.dtype == np.float32:
        with nogil:
            feedforward_kernel(&net.wk, <float*>x, n_rows, <float*>NULL, <float*>o)
    elif convert:
        with nogil:
            feedforward_kernel(&net.wk, <float*>x, n_rows, <double*>net.wk.Xb[0], <double*>o)
    else:
        with nogil:
            feedforward_kernel(&net.wk, <double*>x, n_rows, <double*>NULL, <double*>o)
    return out


def backprop(weights, biases, X, Y, spec=None):
    """Return ``(nabla_b, nabla_w)``, the gradient of the cost summed over the
    rows of ``X``: new arrays shaped like ``biases`` and ``weights``."""
    cdef _Net net = _Net(weights, biases, spec, False)
    net.check_XY(X, Y)
    _check_cost(net)
    return _backprop(net, weights, biases, X, Y, False)[1:]


def loss_gradient(weights, biases, X, Y, spec, alpha=0.0, sample_weight=None):
    """Return ``(loss, nabla_b, nabla_w)`` over all the rows of ``X`` as
    scikit-learn's MLP defines them (what L-BFGS minimizes): the rows'
    weighted mean loss (``train``'s ``losses``) plus ``alpha/2`` times the
    weights' squared norm divided by the summed weight, and its gradient."""
    cdef _Net net = _Net(weights, biases, spec, False)
    net.check_XY(X, Y)
    _check_cost(net)
    net.set_losses(np.empty(1), 1)
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError("alpha must be a real number, not {!r}".format(alpha))
    if not 0 <= alpha < np.inf:
        raise ValueError("alpha must be finite and >= 0, got {}".format(alpha))
    net.wk.alpha = alpha
    if sample_weight is not None:
        net.set_sample_weight(sample_weight, X.shape[0])
    if X.shape[0] == 0:
        raise ValueError("X has no rows: the loss is a mean over them")
    return _backprop(net, weights, biases, X, Y, True)


cdef _backprop(_Net net, weights, biases, X, Y, bint with_loss):
    cdef intp m = X.shape[0]
    cdef int l, L = net.wk.L
    nabla_b = [np.zeros(net.wk.sizes[l + 1], dtype=net.dtype) for l in range(L)]
    nabla_w = [np.zeros((net.wk.sizes[l + 1], net.wk.sizes[l]), dtype=net.dtype)
               for l in range(L)]
    cdef double loss = 0
    cdef double* loss_p = &loss if with_loss else NULL
    if m == 0:
        return loss, nabla_b, nabla_w
    if m > INT_LIMIT:
        raise ValueError("{} rows at once is too many for BLAS".format(m))
    X = X.astype(net.dtype, copy=False)       # float32 inputs: one (exact) copy
    net.allocate(m, False)
    cdef void** nw = <void**>malloc(2 * L * sizeof(void*))
    if nw == NULL:
        raise MemoryError()
    cdef void** nb = nw + L
    cdef void* x = cnp.PyArray_DATA(<cnp.ndarray>X)
    cdef void* y = cnp.PyArray_DATA(<cnp.ndarray>Y)
    try:
        for l in range(L):
            nw[l] = cnp.PyArray_DATA(<cnp.ndarray>nabla_w[l])
            nb[l] = cnp.PyArray_DATA(<cnp.ndarray>nabla_b[l])
        if net.dtype == np.float32:
            with nogil:
                backprop_kernel(&net.wk, <float*>x, <float*>y, <int>m, <float**>nw, <float**>nb,
                                loss_p)
        else:
            with nogil:
                backprop_kernel(&net.wk, <double*>x, <double*>y, <int>m, <double**>nw,
                                <double**>nb, loss_p)
    finally:
        free(nw)
    return loss, nabla_b, nabla_w


cdef _train(_Net net, X, Y, cnp.ndarray order, intp start, intp stop, int mini_batch_size,
            int num_threads):
    """Run ``train_run`` without the GIL on the checked arguments."""
    cdef void* x = cnp.PyArray_DATA(<cnp.ndarray>X)
    cdef void* y = cnp.PyArray_DATA(<cnp.ndarray>Y)
    cdef intp* o = NULL if order is None else <intp*>cnp.PyArray_DATA(order)
    if net.dtype == np.float32:
        with nogil:
            train_run(&net.wk, <float*>x, <float*>y, o, start, stop, mini_batch_size, num_threads)
    elif X.dtype == np.float32:
        with nogil:
            train_run(&net.wk, <float*>x, <double*>y, o, start, stop, mini_batch_size, num_threads)
    else:
        with nogil:
            train_run(&net.wk, <double*>x, <double*>y, o, start, stop, mini_batch_size, num_threads)


def train(weights, biases, X, Y, order, mini_batch_size, spec, step, first=0, count=None, *,
          num_threads=1, losses=None, sample_weight=None):
    """Mini-batch SGD in place, without the GIL: mini-batches ``first ..
    first+count-1`` (``count`` None: to the end) of the epoch.

    The mini-batches are consecutive runs of ``mini_batch_size`` entries of
    ``order``, the rows of ``X`` this epoch visits, in that order (the last
    run may be shorter, as in the book); ``order`` None visits the rows in
    their order.  ``num_threads`` > 1 splits the first layer's neurons across
    OpenMP threads where that pays (``threads_for``, and the module
    docstring).

    ``losses`` (a float64 array, or None) receives the loss of each
    mini-batch trained, scikit-learn's (``loss_gradient``'s on that
    mini-batch, from the forward pass its step makes): entry ``i`` for the
    call's ``i``-th.  ``sample_weight`` (float64, one per row of ``X``, or
    None) weighs each row's error, the step taking the weighted mean, with
    the step's ``alpha`` divided by the mini-batch's summed weight.
    """
    cdef _Net net = _Net(weights, biases, spec, True)
    net.check_XY(X, Y)
    _check_cost(net)
    cdef bint gradients = net.set_step(step, weights, biases)
    cdef int mbs = _positive_int(mini_batch_size, "mini_batch_size")
    cdef int threads = _positive_int(num_threads, "num_threads")
    cdef intp n_rows = X.shape[0]
    cdef cnp.ndarray order_ = None
    if order is not None:
        order_arr = np.asarray(order)
        if order_arr.ndim == 1 and order_arr.size == 0:
            return                                  # an empty epoch, as in the reference
        if order_arr.ndim != 1 or order_arr.dtype.kind not in "iu":
            raise ValueError("order must be a 1-D array of integers, got dtype {} and shape {}"
                             .format(order_arr.dtype, order_arr.shape))
        if order_arr.min() < 0 or order_arr.max() >= n_rows:
            raise ValueError("order has values in [{}, {}] but X has {} rows: every value "
                             "must be in [0, {})".format(order_arr.min(), order_arr.max(),
                                                         n_rows, n_rows))
        order_ = np.ascontiguousarray(order_arr, dtype=np.intp)
    cdef intp n_order = n_rows if order_ is None else order_.shape[0]
    if isinstance(first, bool) or not isinstance(first, numbers.Integral) or first < 0:
        raise ValueError("first must be a whole number >= 0, got {!r}".format(first))
    if count is not None and (isinstance(count, bool) or not isinstance(count, numbers.Integral)
                              or count < 0):
        raise ValueError("count must be None or a whole number >= 0, got {!r}".format(count))
    cdef intp start = min(<intp>first * mbs, n_order) if first < n_order else n_order
    cdef intp stop = n_order
    if count is not None and <intp>count < (n_order - start + mbs - 1) // mbs:
        stop = start + <intp>count * mbs
    if stop <= start:
        return
    cdef intp steps = (stop - start + mbs - 1) // mbs
    net.wk.alpha = net.wk.st.alpha
    if losses is not None:
        net.set_losses(losses, steps)
    if sample_weight is not None:
        net.set_sample_weight(sample_weight, n_rows)
    # decided on the mini-batch size asked for, never on the run's length, so
    # that how the caller cuts an epoch into calls never changes the split
    threads = split_threads(net.wk.L, net.wk.sizes[0], net.wk.sizes[1], mbs, threads)
    mbs = <int>min(<intp>mbs, stop - start)
    net.allocate(mbs, True, False, gradients)
    net.wk.fuse_allowed = _fuse_first_layer
    # The first layer's two gemms (forward, and the step) hold most of the
    # work, on weights[0] and the gathered rows.  Rows that start off a
    # cache-line boundary (numpy aligns large arrays to 16 bytes only) make
    # every 64-byte vector load straddle two lines: OpenBLAS's AVX-512 kernels
    # for these shapes (m = 10, 784, 30) then run at half the speed (forward)
    # or three quarters (step) of what they reach on aligned rows.  So the
    # gathered rows are aligned (allocate), and a run of more than one
    # mini-batch trains an aligned copy of weights[0], copied back at the
    # end: the same arithmetic (with OpenBLAS, bit for bit the same result).
    cdef void* w0 = net.wk.W[0]
    cdef size_t w0_bytes = <size_t>net.wk.sizes[0] * net.wk.sizes[1] * net.dtype.itemsize
    if (<size_t>w0) % ALIGN != 0 and stop - start > mbs:
        memcpy(net.w0_copy, w0, w0_bytes)
        net.wk.W[0] = net.w0_copy
    try:
        _train(net, X, Y, order_, start, stop, mbs, threads)
        if hasattr(step, "t"):
            step.t = int(step.t) + steps    # the kernels counted them in step_begin
    finally:
        if net.wk.W[0] != w0:
            memcpy(w0, net.w0_copy, w0_bytes)
            net.wk.W[0] = w0

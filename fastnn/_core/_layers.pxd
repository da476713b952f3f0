# cython: language_level=3
"""The pieces every fastnn network is built from, written once for float32
and float64 and shared by ``_dense`` (chapters 1-5) and ``_conv`` (chapter 6).

* the activation description (code and parameter) and the activations with
  their derivatives, from ``_activations.h``;
* the fully connected layer: forward, the error one layer down, and the
  weight step (plain SGD fused into one gemm, the other optimizers from the
  gradient, a tile at a time, with ``_optim.param_step``).

The codes are the ones ``fastnn.activations`` and ``fastnn.costs`` hand
down: the kernels take integers (an activation also its parameter, as a
double) and import nothing from the Python layer.

Layouts: activations are one example per row.  A fully connected layer's
weights are either ``(n_out, n_in)``, the book's chapter 1-3 layout
(``w_t`` set: ``z = a W^T + b``), or ``(n_in, n_out)``, network3's
(``z = a w + b``).
"""
from cython cimport floating
from libc.math cimport exp, expf, log, tanh, tanhf

from fastnn._core._blas cimport fastnn_smallmm_route, gemm
from fastnn._core._optim cimport Step, param_step
from fastnn._core._simd cimport fastnn_simd

cdef extern from "_activations.h":
    # An activation as the kernels are told it: its code (the registry's,
    # fastnn.activations) and its one parameter (leaky ReLU's slope; 0 for
    # those without one).  The arithmetic of each is one line of
    # _activations.h, which also picks the loop for the code once per call.
    ctypedef struct Activation "fastnn_activation":
        int code
        double p
    enum:
        ACT_SIGMOID "FASTNN_ACT_sigmoid"
        ACT_RELU "FASTNN_ACT_relu"
        ACT_LINEAR "FASTNN_ACT_linear"
        ACT_EXP "FASTNN_ACT_exp"
        ACT_SOFTMAX "FASTNN_ACT_SOFTMAX"
    bint act_known "fastnn_act_known"(int code) noexcept nogil
    const char* act_name "fastnn_act_name"(int code) noexcept nogil
    float fastnn_act_f(Activation act, float z) noexcept nogil
    double fastnn_act_d(Activation act, double z) noexcept nogil
    float fastnn_act_prime_f(Activation act, float a) noexcept nogil
    double fastnn_act_prime_d(Activation act, double a) noexcept nogil
    void fastnn_act_bias_f(Activation act, Py_ssize_t n, float* out, const float* b) noexcept nogil
    void fastnn_act_bias_d(Activation act, Py_ssize_t n, double* out, const double* b) noexcept nogil
    void fastnn_act_prime_times_f(Activation act, Py_ssize_t n, float* d, const float* a) noexcept nogil
    void fastnn_act_prime_times_d(Activation act, Py_ssize_t n, double* d,
                                  const double* a) noexcept nogil


cdef enum:
    # cost codes (fastnn.costs.CODES)
    COST_QUADRATIC = 0
    COST_CROSS_ENTROPY = 1
    COST_LOG_LIKELIHOOD = 2
    # scikit-learn's regression losses: linear outputs, exponential outputs
    COST_SQUARED_ERROR = 3
    COST_POISSON = 4


cdef inline Activation make_activation(int code, double p) noexcept nogil:
    cdef Activation act
    act.code = code
    act.p = p
    return act


cdef inline floating activate(Activation act, floating z) noexcept nogil:
    """One neuron's activation of its weighted input ``z`` (not softmax,
    which needs the whole row: ``softmax_rows``)."""
    if floating is float:
        return fastnn_act_f(act, z)
    else:
        return fastnn_act_d(act, z)


cdef inline floating act_prime(Activation act, floating a) noexcept nogil:
    """The activation's derivative, from its output ``a`` (sigmoid a(1-a),
    tanh 1-a^2, ReLU [a > 0], ...: _activations.h)."""
    if floating is float:
        return fastnn_act_prime_f(act, a)
    else:
        return fastnn_act_prime_d(act, a)


cdef inline void activate_row(Activation act, Py_ssize_t n, floating* out,
                              const floating* b) noexcept nogil:
    """``out[j] = act(out[j] + b[j])`` for ``j < n`` (``b`` NULL: no bias),
    the loop chosen once for the activation."""
    if floating is float:
        fastnn_act_bias_f(act, n, out, b)
    else:
        fastnn_act_bias_d(act, n, out, b)


cdef inline void times_act_prime(Activation act, Py_ssize_t n, floating* d,
                                 const floating* a) noexcept nogil:
    """``d[i] = d[i] * act'(a[i])`` for ``i < n``, from the outputs ``a``."""
    if floating is float:
        fastnn_act_prime_times_f(act, n, d, a)
    else:
        fastnn_act_prime_times_d(act, n, d, a)


cdef inline double softmax_row(int n, floating* z) noexcept nogil:
    """Softmax of one row in place, shifted by the row's maximum first so
    that ``exp`` cannot overflow; returns the row's log-sum-exp,
    ``max + log(sum(exp(z - max)))`` (in double), for the log-likelihood."""
    cdef int j
    cdef floating zmax = z[0], s = 0
    for j in range(1, n):
        if z[j] > zmax:
            zmax = z[j]
    for j in range(n):
        if floating is float:
            z[j] = expf(z[j] - zmax)
        else:
            z[j] = exp(z[j] - zmax)
        s += z[j]
    for j in range(n):
        z[j] = z[j] / s
    return <double>zmax + log(<double>s)


cdef inline void softmax_rows(int m, int n, floating* z, int ld) noexcept nogil:
    """Row-wise softmax in place (``softmax_row`` on each of ``m`` rows)."""
    cdef int i
    for i in range(m):
        softmax_row(n, z)
        z += ld


cdef inline void fc_forward(int m, int n_in, int j0, int j1, const floating* x, int ldx,
                            const floating* w, bint w_t, int ldw, const floating* b,
                            floating alpha, Activation act, floating* out, int ldo) noexcept nogil:
    """Neurons ``j0 .. j1-1`` of a fully connected layer for ``m`` rows:
    ``out[:, j] = act(alpha * (x w)[:, j] + b[j])`` (``out`` points at column
    0).  ``w`` is ``(n_out, n_in)`` with ``w_t``, else ``(n_in, n_out)``;
    ``ldw`` is its row stride.  Softmax is applied by the caller, over whole
    rows, after this (here it counts as linear)."""
    cdef int i, j
    if j1 <= j0:
        return
    if w_t:
        gemm(False, True, m, j1 - j0, n_in, alpha, x, ldx, w + <Py_ssize_t>j0 * ldw, ldw,
             <floating>0, out + j0, ldo)
    else:
        gemm(False, False, m, j1 - j0, n_in, alpha, x, ldx, w + j0, ldw, <floating>0,
             out + j0, ldo)
    if act.code == ACT_SOFTMAX:
        act.code = ACT_LINEAR
    for i in range(m):
        activate_row(act, j1 - j0, out + j0, b + j0)
        out += ldo


cdef inline void fc_input_error(int m, int n_in, int n_out, const floating* dz,
                                const floating* w, bint w_t, floating* dx) noexcept nogil:
    """(BP2) without the activation's derivative: ``dx = dz W`` (``dz`` is
    ``m`` by ``n_out``, ``dx`` ``m`` by ``n_in``), for either layout."""
    if w_t:
        gemm(False, False, m, n_in, n_out, <floating>1, dz, n_out, w, n_in, <floating>0, dx, n_in)
    else:
        gemm(False, True, m, n_in, n_out, <floating>1, dz, n_out, w, n_out, <floating>0, dx, n_in)


cdef enum:
    # about the bytes of weight gradient fc_weight_step computes and steps at
    # a time: the tile, and the weights and state it touches, stay in L2
    # between the product and the step
    STEP_TILE_BYTES = 98304
    # a tile's rows are a multiple of this: 12 is a multiple of the rows the
    # outer-product kernels make at once (_smallmm.h: OUT_MR, 6 or 12), so no
    # tile ends in a short block
    STEP_TILE_ROWS = 12


cdef inline void fc_weight_step(int rows, int cols, int m, const floating* A, int lda,
                                const floating* D, int ldd, floating* w, floating* g,
                                floating* s0, floating* s1, const Step* st) noexcept nogil:
    """(BP4) and the step for ``rows`` rows of a weight matrix whose rows are
    ``cols`` long: its gradient is ``A^T D`` summed over the ``m`` examples
    (``A`` is ``m`` by ``rows``, ``D`` is ``m`` by ``cols``).

    Plain SGD is one gemm that reads and writes the weights once, ``w <-
    (1 - decay) w - s A^T D``; the other optimizers need the gradient itself,
    written to ``g`` (room for the rows of ``w``; what it holds afterwards is
    scratch) and stepped (``s0``, ``s1``: the rows' optimizer state, as
    ``_optim.param_step``).

    When our small-matrix kernels make the product, it is made a tile of
    rows (about ``STEP_TILE_BYTES``) at a time into the start of ``g``, each tile stepped
    while it is in cache: one pass over the weights and the state instead of
    a product writing the whole gradient and a step reading it back.  Those
    kernels compute each element the same way whatever rows a call covers
    (``_smallmm_body.h``), so the results are bit for bit the untiled ones.
    Through BLAS (larger mini-batches, ``FASTNN_SIMD=blas``), whose kernels
    may depend on the shape, the product is made whole."""
    cdef int r, rb, tile
    cdef Py_ssize_t at
    if st.plain:
        gemm(True, False, rows, cols, m, <floating>(-st.s), A, lda, D, ldd,
             <floating>(1 - st.decay), w, cols)
        return
    if fastnn_smallmm_route(fastnn_simd(), sizeof(floating), True, False, rows, cols, m) == 0:
        gemm(True, False, rows, cols, m, <floating>1, A, lda, D, ldd, <floating>0, g, cols)
        param_step(<Py_ssize_t>rows * cols, w, g, s0, s1, st, True)
        return
    tile = STEP_TILE_BYTES // (cols * <int>sizeof(floating))
    tile = max(STEP_TILE_ROWS, tile - tile % STEP_TILE_ROWS)
    r = 0
    while r < rows:
        rb = min(tile, rows - r)
        at = <Py_ssize_t>r * cols
        gemm(True, False, rb, cols, m, <floating>1, A + r, lda, D, ldd, <floating>0, g, cols)
        param_step(<Py_ssize_t>rb * cols, w + at, g, NULL if s0 == NULL else s0 + at,
                   NULL if s1 == NULL else s1 + at, st, True)
        r += rb

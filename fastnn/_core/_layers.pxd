# cython: language_level=3
"""The pieces every fastnn network is built from, written once for float32
and float64 and shared by ``_dense`` (chapters 1-5) and ``_conv`` (chapter 6).

* activation codes and the activations with their derivatives;
* the fully connected layer: forward, the error one layer down, and the
  weight step (plain SGD fused into one gemm, the other optimizers from the
  gradient, with ``_optim.param_step``).

The codes are the ones ``fastnn.activations`` and ``fastnn.costs`` hand
down: the kernels take integers and import nothing from the Python layer.

Layouts: activations are one example per row.  A fully connected layer's
weights are either ``(n_out, n_in)``, the book's chapter 1-3 layout
(``w_t`` set: ``z = a W^T + b``), or ``(n_in, n_out)``, network3's
(``z = a w + b``).
"""
from cython cimport floating
from libc.math cimport exp, expf, log, tanh, tanhf

from fastnn._core._blas cimport gemm
from fastnn._core._optim cimport Step, param_step

cdef enum:
    # activation codes (fastnn.activations.CODES)
    ACT_SIGMOID = 0
    ACT_TANH = 1
    ACT_RELU = 2
    ACT_LINEAR = 3
    ACT_SOFTMAX = 4
    # cost codes (fastnn.costs.CODES)
    COST_QUADRATIC = 0
    COST_CROSS_ENTROPY = 1
    COST_LOG_LIKELIHOOD = 2


cdef inline floating activate(int act, floating z) noexcept nogil:
    """One neuron's activation of its weighted input ``z`` (not softmax,
    which needs the whole row: ``softmax_rows``)."""
    cdef floating one = 1          # a literal 1.0 would make float32 compute in double
    if act == ACT_SIGMOID:
        if floating is float:
            return one / (one + expf(-z))
        else:
            return one / (one + exp(-z))
    elif act == ACT_TANH:
        if floating is float:
            return tanhf(z)
        else:
            return tanh(z)
    elif act == ACT_RELU:
        return z if z > 0 else 0
    return z


cdef inline floating act_prime(int act, floating a) noexcept nogil:
    """The activation's derivative, from its output ``a``: sigmoid a(1-a),
    tanh 1-a^2, ReLU [a > 0] (0 at 0), linear 1."""
    cdef floating one = 1
    if act == ACT_SIGMOID:
        return a * (one - a)
    elif act == ACT_TANH:
        return one - a * a
    elif act == ACT_RELU:
        return one if a > 0 else 0
    return one


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
                            floating alpha, int act, floating* out, int ldo) noexcept nogil:
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
    for i in range(m):
        if act == ACT_SIGMOID or act == ACT_TANH or act == ACT_RELU:
            for j in range(j0, j1):
                out[j] = activate(act, out[j] + b[j])
        else:
            for j in range(j0, j1):
                out[j] = out[j] + b[j]
        out += ldo


cdef inline void fc_input_error(int m, int n_in, int n_out, const floating* dz,
                                const floating* w, bint w_t, floating* dx) noexcept nogil:
    """(BP2) without the activation's derivative: ``dx = dz W`` (``dz`` is
    ``m`` by ``n_out``, ``dx`` ``m`` by ``n_in``), for either layout."""
    if w_t:
        gemm(False, False, m, n_in, n_out, <floating>1, dz, n_out, w, n_in, <floating>0, dx, n_in)
    else:
        gemm(False, True, m, n_in, n_out, <floating>1, dz, n_out, w, n_out, <floating>0, dx, n_in)


cdef inline void fc_weight_step(int rows, int cols, int m, const floating* A, int lda,
                                const floating* D, int ldd, floating* w, floating* g,
                                floating* s0, floating* s1, const Step* st) noexcept nogil:
    """(BP4) and the step for ``rows`` rows of a weight matrix whose rows are
    ``cols`` long: its gradient is ``A^T D`` summed over the ``m`` examples
    (``A`` is ``m`` by ``rows``, ``D`` is ``m`` by ``cols``).

    Plain SGD is one gemm that reads and writes the weights once, ``w <-
    (1 - decay) w - s A^T D``; the other optimizers need the gradient itself,
    written to ``g`` (same shape as the rows of ``w``) and then stepped
    (``s0``, ``s1``: the rows' optimizer state, as ``_optim.param_step``)."""
    if st.plain:
        gemm(True, False, rows, cols, m, <floating>(-st.s), A, lda, D, ldd,
             <floating>(1 - st.decay), w, cols)
        return
    gemm(True, False, rows, cols, m, <floating>1, A, lda, D, ldd, <floating>0, g, cols)
    param_step(<Py_ssize_t>rows * cols, w, g, s0, s1, st, True)

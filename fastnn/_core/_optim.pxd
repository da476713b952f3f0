# cython: language_level=3
"""The optimizers' elementwise steps, written once for float32 and float64
and shared by ``_dense`` and ``_conv``: the C twins of
``fastnn.optimizers`` (``begin`` and ``reference_step`` of each optimizer),
operation for operation, so that both backends agree.

A kernel makes one ``Step`` from the checked settings (``make_step``, from
``_steps.read``, which also checks the state arrays), calls ``step_begin`` once per mini-batch (it sets the
mini-batch's scalars and counts the step) and ``param_step`` on every
parameter array of the network, with that array's state arrays.

The elementwise loops themselves are C, in ``_steps.h`` (compiled for the
baseline and for AVX2, rounding alike).  Adding an optimizer: its code and
fields here (read in ``make_step``), its case in ``step_begin`` and
``param_step``, its loop in ``_steps.h``, and its Python class in
``fastnn/optimizers.py``; nothing else.
"""
from cython cimport floating
from libc.math cimport pow, sqrt

cdef enum:
    # optimizer codes (fastnn.optimizers: SGD.code, Adam.code), and how many
    OPT_SGD = 0
    OPT_ADAM = 1
    OPT_COUNT = 2


cdef struct Step:
    # the settings, in double (each kernel casts them to its dtype once)
    int kind
    double eta, n, l2, l1, alpha
    double momentum
    bint nesterov
    double beta1, beta2, eps, weight_decay
    bint folded             # Adam: scikit-learn's form
    double t                # steps taken so far
    bint plain              # SGD without momentum and L1: fused into the gemm
    # this mini-batch's scalars (step_begin).  SGD: the step is
    # d = -s G - decay w - l1 sgn(w) (plain: w <- (1 - decay) w - s G);
    # Adam: g = s G + l2 w + l1 sgn(w), the step size a and the correction r
    # of sqrt(m2).
    double s, decay
    double a, r, keep


cdef inline Step make_step(dict s) except *:
    """The Step of the checked settings ``s`` (``_steps.read``: the common
    ones and the optimizer's ``kernel_scalars``; what an optimizer does not
    set is 0).  Refuses an optimizer code this module does not know."""
    cdef Step st
    st.kind = s["kind"]
    if not 0 <= st.kind < OPT_COUNT:
        raise ValueError("the compiled kernels know no optimizer with code {}".format(st.kind))
    st.eta, st.n, st.t = s["eta"], s["n"], s["t"]
    st.l2, st.l1, st.alpha = s["l2"], s["l1"], s["alpha"]
    st.momentum, st.nesterov = s.get("momentum", 0.0), s.get("nesterov", False)
    st.beta1, st.beta2 = s.get("beta1", 0.0), s.get("beta2", 0.0)
    st.eps, st.weight_decay = s.get("eps", 1.0), s.get("weight_decay", 0.0)
    st.folded = s.get("folded", False)
    st.plain = st.kind == OPT_SGD and st.momentum == 0 and st.l1 == 0
    st.s = st.decay = st.a = st.r = st.keep = 0
    return st


cdef inline void step_begin(Step* st, int m) noexcept nogil:
    """The scalars of the next step, on a mini-batch of ``m`` examples
    (network3 passes 1: its gradient is a mean already); counts the step."""
    cdef double bc1, bc2
    st.t += 1
    if st.kind == OPT_ADAM:
        bc1 = 1 - pow(st.beta1, st.t)
        bc2 = 1 - pow(st.beta2, st.t)
        if st.folded:
            st.a = st.eta * sqrt(bc2) / bc1
            st.r = 1.0
        else:
            st.a = st.eta / bc1
            st.r = 1.0 / sqrt(bc2)
        st.s = 1.0 / m
        st.decay = st.l2 / st.n + st.alpha / m
        st.keep = 1 - st.eta * st.weight_decay
    else:
        st.s = st.eta / m
        st.decay = st.eta * (st.l2 / st.n + st.alpha / m)


cdef extern from "_steps.h" nogil:
    # the loops, in C: a baseline and an AVX2 variant, picked by the level
    # in force, rounding alike (see the header)
    void fastnn_sgd_f(Py_ssize_t n, float* w, const float* g, float* v, float s, float mu,
                      float decay, float l1, float keep, int plain, int regularize,
                      int nesterov)
    void fastnn_sgd_d(Py_ssize_t n, double* w, const double* g, double* v, double s,
                      double mu, double decay, double l1, double keep, int plain,
                      int regularize, int nesterov)
    void fastnn_adam_f(Py_ssize_t n, float* w, const float* g, float* m1, float* m2, float s,
                       float l2, float l1, float keep, float b1, float c1, float b2, float c2,
                       float a, float r, float eps, int regularize, int decay)
    void fastnn_adam_d(Py_ssize_t n, double* w, const double* g, double* m1, double* m2,
                       double s, double l2, double l1, double keep, double b1, double c1,
                       double b2, double c2, double a, double r, double eps, int regularize,
                       int decay)


cdef inline void sgd_step(Py_ssize_t n, floating* w, const floating* g, floating* v,
                          const Step* st, bint regularize) noexcept nogil:
    """SGD (see the module docstring of ``fastnn.optimizers``); ``v``: the
    velocities, NULL without momentum.  Each scalar is rounded to the dtype
    here, once."""
    cdef double l1_step = st.eta * (st.l1 / st.n)
    cdef floating s = <floating>st.s, mu = <floating>st.momentum
    cdef floating decay = <floating>st.decay, l1 = <floating>l1_step
    cdef floating keep = <floating>(1 - st.decay)
    # without L2 or L1 the regularized loop would only add zeros, at half
    # again the cost of the step (the reference skips them alike)
    regularize = regularize and (st.decay != 0 or l1_step != 0)
    if floating is float:
        fastnn_sgd_f(n, w, g, v, s, mu, decay, l1, keep, st.plain, regularize, st.nesterov)
    else:
        fastnn_sgd_d(n, w, g, v, s, mu, decay, l1, keep, st.plain, regularize, st.nesterov)


cdef inline void adam_step(Py_ssize_t n, floating* w, const floating* g, floating* m1,
                           floating* m2, const Step* st, bint regularize) noexcept nogil:
    """Adam and AdamW (see ``fastnn.optimizers``): ``m1``/``m2`` are the
    running averages of the gradient and of its square."""
    cdef floating s = <floating>st.s, l2 = <floating>st.decay
    cdef floating l1 = <floating>(st.l1 / st.n), keep = <floating>st.keep
    cdef floating b1 = <floating>st.beta1, c1 = <floating>(1 - st.beta1)
    cdef floating b2 = <floating>st.beta2, c2 = <floating>(1 - st.beta2)
    cdef floating a = <floating>st.a, r = <floating>st.r, eps = <floating>st.eps
    cdef bint decay = regularize and st.weight_decay != 0
    regularize = regularize and (st.decay != 0 or st.l1 != 0)
    if floating is float:
        fastnn_adam_f(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, r, eps, regularize,
                      decay)
    else:
        fastnn_adam_d(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, r, eps, regularize,
                      decay)


cdef inline void param_step(Py_ssize_t n, floating* w, const floating* g, floating* s0,
                            floating* s1, const Step* st, bint regularize) noexcept nogil:
    """The optimizer's step on ``n`` parameters from their summed gradient
    ``g``; ``s0``, ``s1``: their state arrays (NULL where the optimizer keeps
    fewer).  Biases pass ``regularize`` false."""
    if st.kind == OPT_ADAM:
        adam_step(n, w, g, s0, s1, st, regularize)
    else:
        sgd_step(n, w, g, s0, st, regularize)

# cython: language_level=3
"""The optimizers' elementwise steps, written once for float32 and float64
and shared by ``_dense`` and ``_conv``: the C twins of
``fastnn.optimizers`` (``begin`` and ``reference_step`` of each optimizer),
operation for operation, so that both backends agree.

A kernel makes one ``Step`` from the checked settings (``make_step``, from
``_steps.read``, which also checks the state arrays), calls ``step_begin`` once per mini-batch (it sets the
mini-batch's scalars and counts the step) and ``param_step`` on every
parameter array of the network, with that array's state arrays.

Adding an optimizer: its code and fields here (read in ``make_step``), its
case in ``step_begin`` and ``param_step``, and its Python class in
``fastnn/optimizers.py``; nothing else.
"""
from cython cimport floating
from libc.float cimport DBL_MIN, FLT_MIN
from libc.math cimport fabs, fabsf, pow, sqrt, sqrtf

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
    # Adam: g = s G + l2 w + l1 sgn(w), and the step size a and correction d.
    double s, decay
    double a, d, keep


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
    st.s = st.decay = st.a = st.d = st.keep = 0
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
            st.d = 1.0
        else:
            st.a = st.eta / bc1
            st.d = sqrt(bc2)
        st.s = 1.0 / m
        st.decay = st.l2 / st.n + st.alpha / m
        st.keep = 1 - st.eta * st.weight_decay
    else:
        st.s = st.eta / m
        st.decay = st.eta * (st.l2 / st.n + st.alpha / m)


cdef inline floating normal_or_zero(floating x) noexcept nogil:
    """``x``, or 0 where it is subnormal.  A state that decays by a factor
    each step (a velocity, Adam's moments) on a parameter whose gradient is
    mostly zero (rare pixels, dead ReLU units) would otherwise sink into
    the subnormal range and stay there, and arithmetic on subnormals runs
    many times slower.  Written as a select, which the compiler vectorizes
    (a NaN fails the test and stays NaN)."""
    if floating is float:
        return 0 if fabsf(x) < FLT_MIN else x
    else:
        return 0 if fabs(x) < DBL_MIN else x


cdef inline floating sign_of(floating x) noexcept nogil:
    # sgn(x) without a branch (sgn(0) = 0): a branch on each weight's sign
    # is a coin toss for the predictor
    return <floating>(x > 0) - <floating>(x < 0)


cdef inline void sgd_step(Py_ssize_t n, floating* w, const floating* g, floating* v,
                          const Step* st, bint regularize) noexcept nogil:
    """SGD (see the module docstring of ``fastnn.optimizers``); ``v``: the
    velocities, NULL without momentum.  One loop per case, so that no test
    sits inside a loop."""
    cdef Py_ssize_t i
    cdef floating s = <floating>st.s, mu = <floating>st.momentum
    cdef floating decay = <floating>st.decay, l1 = <floating>(st.eta * (st.l1 / st.n))
    cdef floating keep = <floating>(1 - st.decay)
    cdef floating d
    if st.plain:
        if regularize:
            for i in range(n):
                w[i] = keep * w[i] - s * g[i]
        else:
            for i in range(n):
                w[i] = w[i] - s * g[i]
        return
    if regularize and v != NULL and st.nesterov:
        for i in range(n):
            d = -s * g[i] - decay * w[i] - l1 * sign_of(w[i])
            v[i] = normal_or_zero(mu * v[i] + d)
            w[i] = w[i] + (mu * v[i] + d)
    elif regularize and v != NULL:
        for i in range(n):
            d = -s * g[i] - decay * w[i] - l1 * sign_of(w[i])
            v[i] = normal_or_zero(mu * v[i] + d)
            w[i] = w[i] + v[i]
    elif regularize:
        for i in range(n):
            d = -s * g[i] - decay * w[i] - l1 * sign_of(w[i])
            w[i] = w[i] + d
    elif v != NULL and st.nesterov:
        for i in range(n):
            d = -s * g[i]
            v[i] = normal_or_zero(mu * v[i] + d)
            w[i] = w[i] + (mu * v[i] + d)
    elif v != NULL:
        for i in range(n):
            d = -s * g[i]
            v[i] = normal_or_zero(mu * v[i] + d)
            w[i] = w[i] + v[i]
    else:
        for i in range(n):
            w[i] = w[i] + -s * g[i]


cdef inline void adam_loop(Py_ssize_t n, floating* w, const floating* g, floating* m1,
                           floating* m2, floating s, floating l2, floating l1, floating keep,
                           floating b1, floating c1, floating b2, floating c2, floating a,
                           floating d, floating eps, bint regularize, bint decay) noexcept nogil:
    """Adam's loop (``adam_step``); each call passes ``regularize`` and
    ``decay`` as constants, so that the compiler makes one loop per case
    with no test inside it, and vectorizes it."""
    cdef Py_ssize_t i
    cdef floating gi, root
    for i in range(n):
        gi = g[i] * s
        if regularize:
            gi = gi + l2 * w[i] + l1 * sign_of(w[i])
        if decay:
            w[i] = w[i] * keep
        m1[i] = normal_or_zero(b1 * m1[i] + c1 * gi)
        m2[i] = normal_or_zero(b2 * m2[i] + c2 * (gi * gi))
        if floating is float:
            root = sqrtf(m2[i])
        else:
            root = sqrt(m2[i])
        w[i] = w[i] - (a * m1[i]) / (root / d + eps)


cdef inline void adam_step(Py_ssize_t n, floating* w, const floating* g, floating* m1,
                           floating* m2, const Step* st, bint regularize) noexcept nogil:
    """Adam and AdamW (see ``fastnn.optimizers``): ``m1``/``m2`` are the
    running averages of the gradient and of its square."""
    cdef floating s = <floating>st.s, l2 = <floating>st.decay
    cdef floating l1 = <floating>(st.l1 / st.n), keep = <floating>st.keep
    cdef floating b1 = <floating>st.beta1, c1 = <floating>(1 - st.beta1)
    cdef floating b2 = <floating>st.beta2, c2 = <floating>(1 - st.beta2)
    cdef floating a = <floating>st.a, d = <floating>st.d, eps = <floating>st.eps
    cdef bint decay = regularize and st.weight_decay != 0
    regularize = regularize and (st.decay != 0 or st.l1 != 0)
    if regularize and decay:
        adam_loop(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, d, eps, True, True)
    elif regularize:
        adam_loop(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, d, eps, True, False)
    elif decay:
        adam_loop(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, d, eps, False, True)
    else:
        adam_loop(n, w, g, m1, m2, s, l2, l1, keep, b1, c1, b2, c2, a, d, eps, False, False)


cdef inline void param_step(Py_ssize_t n, floating* w, const floating* g, floating* s0,
                            floating* s1, const Step* st, bint regularize) noexcept nogil:
    """The optimizer's step on ``n`` parameters from their summed gradient
    ``g``; ``s0``, ``s1``: their state arrays (NULL where the optimizer keeps
    fewer).  Biases pass ``regularize`` false."""
    if st.kind == OPT_ADAM:
        adam_step(n, w, g, s0, s1, st, regularize)
    else:
        sgd_step(n, w, g, s0, st, regularize)

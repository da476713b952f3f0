"""Reading an optimizer step for the kernels, once for both kernel modules.

A step is any object with the attributes of ``fastnn.optimizers.Step``
(``eta``, ``n``, ``l2``, ``l1``, ``alpha``, ``optimizer``, ``t``,
``state``; an object without ``optimizer`` is SGD with its ``momentum`` and
``velocities``).  The Python layer checks them already; the kernels check
again, cheaply, because they can be called directly and a bad scalar or a
state array of the wrong size must never reach C.
"""
import math
import numbers

import numpy as np


def finite(x, name):
    """``x`` as a float, or a ValueError naming it (bools are not numbers here)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) \
            or not math.isfinite(float(x)):
        raise ValueError("{} must be a finite number, got {!r}".format(name, x))
    return float(x)


def _in_unit(x, name):
    x = finite(x, name)
    if not 0 <= x < 1:
        raise ValueError("{} must be in [0, 1), got {!r}".format(name, x))
    return x


def read(step, shapes, dtype):
    """The checked settings of ``step`` and its state arrays.

    ``shapes`` has one ``(weights, biases)`` pair per layer, each a shape
    (tuple) or a number of elements, which the state arrays must match.
    Returns ``(settings, state)``: ``settings`` is the dict ``_optim.make_step``
    reads (the common settings, then the optimizer's ``kernel_scalars``, every
    value a finite float or a bool); ``state`` is None or one tuple per layer
    of ``MAX_STATE`` arrays or None: ``(w_0, b_0, w_1, b_1)``.
    """
    settings = {}
    for name, default in (("eta", None), ("n", None), ("l2", 0.0), ("l1", 0.0), ("alpha", 0.0)):
        settings[name] = finite(getattr(step, name, default), name)
    if settings["n"] < 1:
        raise ValueError("n (the training set size) must be >= 1, got {!r}".format(settings["n"]))
    for name in ("l2", "l1", "alpha"):
        if settings[name] < 0:
            raise ValueError("{} must be >= 0, got {!r}".format(name, settings[name]))
    t = getattr(step, "t", 0)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral) or not 0 <= t < 2**53:
        raise ValueError("t (the steps taken) must be a whole number >= 0, got {!r}".format(t))
    settings["t"] = float(t)
    optimizer = getattr(step, "optimizer", None)
    if optimizer is None:       # chapter 3's step: SGD with ``momentum`` and ``velocities``
        mu = _in_unit(getattr(step, "momentum", 0.0), "momentum")
        code, scalars, k = 0, {"momentum": mu}, 1 if mu > 0 else 0
        state = getattr(step, "velocities", None)
    else:
        code, scalars, k = optimizer.code, optimizer.kernel_scalars(), optimizer.n_state()
        state = getattr(step, "state", None)
    if isinstance(code, bool) or not isinstance(code, numbers.Integral):
        raise ValueError("the optimizer's kernel code must be an integer, not {!r}".format(code))
    settings["kind"] = int(code)
    for name, value in scalars.items():
        settings[name] = value if isinstance(value, (bool, np.bool_)) else finite(value, name)
    if k == 0:
        return settings, None
    if not isinstance(state, (list, tuple)) or len(state) != len(shapes):
        raise ValueError("this optimizer needs its state: one tuple of {} arrays per layer "
                         "(Step.for_parameters makes them)".format(2 * k))
    checked = []
    for l, (arrays, (w_shape, b_shape)) in enumerate(zip(state, shapes)):
        if not isinstance(arrays, (list, tuple)) or len(arrays) != 2 * k or 2 * k > MAX_STATE:
            raise ValueError("state[{}] must hold {} arrays".format(l, 2 * k))
        for i, a in enumerate(arrays):
            expected = w_shape if i % 2 == 0 else b_shape
            if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
                    and a.flags.writeable):
                raise TypeError("state[{}][{}] must be a writable C-contiguous {} array".format(
                    l, i, np.dtype(dtype).name))
            if (a.shape if isinstance(expected, tuple) else a.size) != expected:
                raise ValueError("state[{}][{}] has shape {}; the {} of layer {} are {}".format(
                    l, i, a.shape, "weights" if i % 2 == 0 else "biases", l, expected))
        checked.append(tuple(arrays) + (None,) * (MAX_STATE - len(arrays)))
    return settings, checked


#: The state arrays a layer's parameters may have: two per parameter array.
MAX_STATE = 4

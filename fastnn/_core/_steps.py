"""Reading an optimizer step for the kernels, once for both kernel modules.

A step is any object with the attributes of ``fastnn.optimizers.Step``
(``eta``, ``n``, ``l2``, ``l1``, ``momentum``, ``velocities``).  The Python
layer checks them already; the kernels check again, cheaply, because they
can be called directly and a bad scalar must never reach C.
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


def scalars(step, layers):
    """``(eta, n, l2, l1, momentum, velocities)`` of ``step``, checked;
    ``velocities`` is None without momentum, else one ``(vw, vb)`` pair for
    each of the ``layers`` layers (their arrays are checked by the caller,
    which knows their layout)."""
    eta = finite(getattr(step, "eta", None), "eta")
    n = finite(getattr(step, "n", None), "n")
    l2 = finite(getattr(step, "l2", 0.0), "l2")
    l1 = finite(getattr(step, "l1", 0.0), "l1")
    mu = finite(getattr(step, "momentum", 0.0), "momentum")
    if n < 1:
        raise ValueError("n (the training set size) must be >= 1, got {!r}".format(n))
    if l2 < 0 or l1 < 0:
        raise ValueError("l2 and l1 must be >= 0, got {!r} and {!r}".format(l2, l1))
    if not 0 <= mu < 1:
        raise ValueError("momentum must be in [0, 1), got {!r}".format(mu))
    if mu == 0:
        return eta, n, l2, l1, mu, None
    velocities = getattr(step, "velocities", None)
    if not isinstance(velocities, (list, tuple)) or len(velocities) != layers:
        raise ValueError("momentum needs velocities: one (vw, vb) pair per layer")
    return eta, n, l2, l1, mu, velocities

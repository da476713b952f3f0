"""Neuron activations, and their derivatives, for every fastnn network.

``sigmoid`` and ``sigmoid_prime`` are the book's chapter 1 pair (the drop-in
modules export them under those names).  The rest are what chapters 3 and 6
try next: ``tanh``, ``relu`` and ``linear`` hidden neurons, and a
``softmax`` output layer.  Each has an integer code, ``CODES``, which is all
the compiled kernels are told (``fastnn/_core/_layers.pxd`` has the same
table).

Derivatives are written in terms of the activation's *output* ``a``, which
is what a forward pass keeps: sigmoid' = a(1-a), tanh' = 1-a^2,
ReLU' = [a > 0] (0 at exactly 0), linear' = 1.
"""
import numpy as np

#: The kernels' code for each activation (see _layers.pxd).
CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "linear": 3, "softmax": 4}
#: Activations a hidden layer may have, and those an output layer may have.
HIDDEN = ("sigmoid", "tanh", "relu", "linear")
OUTPUTS = ("sigmoid", "softmax")


def sigmoid(z):
    """1/(1+e^-z), elementwise.

    For very negative ``z`` the exponential overflows to inf and the result is
    the correct limit 0.0; numpy's overflow warning says nothing useful here.
    """
    with np.errstate(over="ignore"):
        return 1.0/(1.0+np.exp(-z))


def sigmoid_prime(z):
    """The sigmoid's derivative at ``z``, sigma(z)(1 - sigma(z))."""
    return sigmoid(z)*(1-sigmoid(z))


def tanh(z):
    return np.tanh(z)


def relu(z):
    """max(0, z), elementwise, in ``z``'s dtype."""
    z = np.asarray(z)
    return np.maximum(z, z.dtype.type(0))


def linear(z):
    return z


def softmax(z):
    """Softmax of each row, shifted by the row's maximum so ``exp`` cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


FUNCTIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "linear": linear,
             "softmax": softmax}


def prime_from_output(name, a):
    """The derivative of activation ``name`` where it output ``a``."""
    if name == "sigmoid":
        return a*(1-a)
    if name == "tanh":
        return 1-a*a
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "linear":
        return np.ones_like(a)
    raise ValueError("no elementwise derivative for activation {!r}".format(name))


def check(name, allowed, argument):
    """``name`` if it is one of ``allowed``, else a ValueError naming ``argument``."""
    if not isinstance(name, str) or name not in allowed:
        raise ValueError("{} must be one of {}, not {!r}".format(
            argument, ", ".join(repr(a) for a in allowed), name))
    return name

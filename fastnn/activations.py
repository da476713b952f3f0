"""Neuron activations, and their derivatives, for every fastnn network.

``sigmoid`` and ``sigmoid_prime`` are the book's chapter 1 pair (the drop-in
modules export them under those names).  The rest are what chapters 3 and 6
try next: ``tanh``, ``relu`` and ``linear`` hidden neurons, and a
``softmax`` output layer; and two more, ``leaky_relu`` (which the book
mentions) and ``elu``.

Each activation is one row of the registry, ``REGISTRY``: its name, the code
the compiled kernels know it by (the same line of
``fastnn/_core/_activations.h`` holds its C arithmetic), its value, its
derivative, and its parameters with their defaults and checks.  Every
caller looks activations up here: ``MLP(activation=...)``,
``trainer.Spec``, the numpy references, network3's ``activation_fn``, the
CLI's choices and the saved files.

An activation is passed around as an ``Activation``: a row with its
parameter values.  A name gives the defaults; ``get`` sets others::

    MLP([784, 100, 10], activation="leaky_relu")                   # slope 0.01
    MLP([784, 100, 10], activation=activations.get("leaky_relu", slope=0.2))

Derivatives are written in terms of the activation's *output* ``a``, which
is what a forward pass keeps: sigmoid' = a(1-a), tanh' = 1-a^2,
ReLU' = [a > 0] (0 at exactly 0), linear' = 1, leaky ReLU' = 1 where a > 0,
else the slope, ELU' = 1 where a > 0, else a + alpha.
"""
import math
import numbers

import numpy as np


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


def leaky_relu(z, slope=0.01):
    """z where z > 0, else ``slope * z``, in ``z``'s dtype (the slope is
    rounded to it first, as the kernels do).

    ``slope`` (default 0.01) must be finite and >= 0: the derivative, 1 where
    the output a > 0 and ``slope`` elsewhere, is computed from the output,
    and a negative slope would make a > 0 for z < 0 (0 gives ReLU)."""
    z = np.asarray(z)
    return np.where(z > 0, z, z.dtype.type(slope) * z)


def elu(z, alpha=1.0):
    """z where z > 0, else ``alpha * (e^z - 1)``, in ``z``'s dtype; ``alpha``
    (default 1.0) finite and >= 0, as leaky ReLU's slope."""
    z = np.asarray(z)
    return np.where(z > 0, z, z.dtype.type(alpha) * np.expm1(np.minimum(z, 0)))


def softmax(z):
    """Softmax of each row, shifted by the row's maximum so ``exp`` cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def exp(z):
    """The exponential: an output layer predicting a positive rate (Poisson
    regression, scikit-learn's ``loss='poisson'``)."""
    return np.exp(z)


def _ones(a):
    return np.ones_like(a)


def _step(a, below):
    """1 where ``a > 0``, else ``below``, in ``a``'s dtype."""
    return np.where(a > 0, a.dtype.type(1), a.dtype.type(below))


# -- the registry --------------------------------------------------------------

def _sign_keeping(value):
    """The check of a parameter that scales the negative side (leaky ReLU's
    slope): the derivative is read from the output, and which side z was on
    from the output's sign, which a negative value would flip."""
    if not value >= 0:
        return "must be >= 0 (the derivative is read from the output's sign, which a " \
               "negative value would flip)"
    return None


class Parameter(object):
    """One parameter of an activation: its name, default, and a check of a
    finite value (a message saying what is wrong, or None)."""

    def __init__(self, name, default, check=None):
        self.name, self.default, self.check = name, float(default), check


class Row(object):
    """One activation: ``value(z, **params)``, ``prime(a, **params)`` (the
    derivative from the output ``a``; None for softmax, which the kernels
    treat as a whole row with its cost), the kernels' ``code``, its
    ``params`` (at most one: the kernels take one double), and where it
    may stand (``hidden``, ``output``)."""

    def __init__(self, name, code, value, prime, params=(), hidden=True, output=False):
        assert len(params) <= 1, "the kernels take one parameter per activation"
        self.name, self.code, self.value, self.prime = name, code, value, prime
        self.params, self.hidden, self.output = tuple(params), hidden, output


#: Every activation, by name.  A new one is a row here and a line in
#: fastnn/_core/_activations.h with the same code.
REGISTRY = {row.name: row for row in [
    Row("sigmoid", 0, sigmoid, lambda a: a*(1-a), output=True),
    Row("tanh", 1, tanh, lambda a: 1-a*a),
    Row("relu", 2, relu, lambda a: _step(a, 0)),
    Row("linear", 3, linear, _ones, output=True),
    Row("softmax", 4, softmax, None, hidden=False, output=True),
    Row("leaky_relu", 5, leaky_relu, lambda a, slope: _step(a, slope),
        params=[Parameter("slope", 0.01, _sign_keeping)]),
    Row("elu", 6, elu, lambda a, alpha: np.where(a > 0, a.dtype.type(1), a + a.dtype.type(alpha)),
        params=[Parameter("alpha", 1.0, _sign_keeping)]),
    Row("exp", 7, exp, lambda a: a, hidden=False, output=True),
]}

#: Activations a hidden layer may have, and those an output layer may have.
HIDDEN = tuple(name for name, row in REGISTRY.items() if row.hidden)
OUTPUTS = tuple(name for name, row in REGISTRY.items() if row.output)
#: The kernels' code for each activation (_core/_activations.h).
CODES = {name: row.code for name, row in REGISTRY.items()}


class Activation(object):
    """An activation with its parameter values: a registry row, callable on
    weighted inputs, with ``prime(a)`` its derivative from the output ``a``.

    Make one with ``get(name, **params)``; network3 layers take one as
    ``activation_fn``, and ``MLP``, ``trainer.Spec`` and the CLI wherever
    they take a name.  Two are equal when name and values are.
    """

    __slots__ = ("row", "params")

    def __init__(self, row, params):
        self.row = row
        self.params = tuple(params)       # ((name, value), ...) in the row's order

    @property
    def name(self):
        return self.row.name

    __name__ = property(lambda self: self.row.name)

    @property
    def code(self):
        return self.row.code

    @property
    def param(self):
        """The one number the kernels take with the code (0.0 without one)."""
        return self.params[0][1] if self.params else 0.0

    def __call__(self, z):
        return self.row.value(z, **dict(self.params))

    def prime(self, a):
        if self.row.prime is None:
            raise ValueError("no elementwise derivative for activation {!r}".format(self.name))
        return self.row.prime(a, **dict(self.params))

    def __eq__(self, other):
        return isinstance(other, Activation) and (self.name, self.params) == (other.name, other.params)

    def __hash__(self):
        return hash((self.name, self.params))

    def __str__(self):
        if not self.params:
            return self.name
        return "{}({})".format(self.name, ", ".join("{}={!r}".format(k, v) for k, v in self.params))

    def __repr__(self):
        return "activations.get({!r}{})".format(
            self.name, "".join(", {}={!r}".format(k, v) for k, v in self.params))

    def __reduce__(self):
        # pickled by name and values (the row holds functions), and checked again on loading
        return _make, (self.name, dict(self.params))

    def to_dict(self):
        """The parameters as saved files record them: ``{"slope": 0.01}``."""
        return dict(self.params)


def get(activation, **params):
    """The ``Activation`` called ``activation`` (a registry name, or an
    ``Activation`` whose values ``params`` replace), with ``params``
    given and the row's defaults for the rest.  Unknown names and
    parameters, and values the row refuses, raise ValueError; a value that is
    not a finite real number, TypeError or ValueError naming it."""
    if isinstance(activation, Activation):
        params = dict(activation.params, **params)
        activation = activation.name
    if not isinstance(activation, str) or activation not in REGISTRY:
        raise ValueError("unknown activation {!r}; the activations are {}".format(
            activation, ", ".join(repr(a) for a in REGISTRY)))
    row = REGISTRY[activation]
    known = {p.name for p in row.params}
    for name in params:
        if name not in known:
            raise ValueError("activation {!r} has no parameter {!r}{}".format(
                activation, name, "; its parameters are " + ", ".join(sorted(known)) if known
                else " (it has none)"))
    values = []
    for p in row.params:
        value = params.get(p.name, p.default)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError("{} {}: must be a real number, not {!r}".format(activation, p.name, value))
        value = float(value)
        problem = "must be finite" if not math.isfinite(value) else p.check and p.check(value)
        if problem:
            raise ValueError("{} {} {}, not {!r}".format(activation, p.name, problem, value))
        values.append((p.name, value))
    return Activation(row, values)


def _make(name, params):
    return get(name, **params)


def check(activation, allowed, argument):
    """``activation`` (a name or an ``Activation``) as an ``Activation`` if it
    is one of ``allowed`` (names), else a ValueError naming ``argument``."""
    name = activation.name if isinstance(activation, Activation) else activation
    if not isinstance(name, str) or name not in allowed:
        raise ValueError("{} must be one of {}, not {!r}".format(
            argument, ", ".join(repr(a) for a in allowed), activation))
    try:
        return get(activation)
    except (TypeError, ValueError) as exc:
        raise type(exc)("{}: {}".format(argument, exc)) from None


def prime_from_output(name, a):
    """The derivative of activation ``name`` (default parameters) where it output ``a``."""
    return get(name).prime(a)

"""Cost functions, as small classes with ``fn`` and ``delta`` (book, chapter 3).

``fn(a, y)`` is the cost of output ``a`` against desired output ``y``;
``delta(z, a, y)`` is the error of the output layer, dC/dz.  Both work on a
single column, as in the book, and equally on a whole mini-batch stored one
example per row, which is how fastnn's kernels see the data.

A new cost plugs in here.  The numpy backend calls ``fn`` and ``delta``
directly, so any class with those two static methods trains with
``backend="numpy"``.  The compiled backend has the costs below built in; handed
another, ``MLP`` says so, and the drop-in ``network2`` runs the book's
per-example path through the class's ``fn`` and ``delta`` (with a warning).
"""
import numpy as np

from .activations import sigmoid_prime


class QuadraticCost(object):
    """Half the squared distance between the output and its target (the
    cost of chapters 1 and 2)."""

    @staticmethod
    def fn(a, y):
        """0.5 * ||a - y||^2.  For a block of examples ``np.linalg.norm``
        takes every entry (the Frobenius norm), so the result is the sum of
        the examples' costs."""
        return 0.5*np.linalg.norm(a-y)**2

    @staticmethod
    def delta(z, a, y):
        """dC/dz at a sigmoid output layer: ``a - y`` times the sigmoid's
        slope at the weighted input ``z``."""
        return (a-y) * sigmoid_prime(z)


class CrossEntropyCost(object):
    """-sum(y ln a + (1-y) ln(1-a)) over the output neurons (chapter 3):
    with sigmoid outputs its gradient does not shrink as they saturate."""

    @staticmethod
    def fn(a, y):
        """The cross-entropy of outputs ``a`` against targets ``y``, summed
        over every entry given.

        An output that has saturated onto its target (``a == y`` at 0 or 1)
        makes one of the two terms 0 * log(0), which numpy evaluates as nan;
        ``np.nan_to_num`` turns that into 0, the term's limit.  (An output
        saturated onto the wrong value gives inf, which it turns into the
        largest float.)
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.sum(np.nan_to_num(-y*np.log(a)-(1-y)*np.log(1-a)))

    @staticmethod
    def delta(z, a, y):
        """dC/dz at a sigmoid output layer: ``a - y``, since the cost's
        derivative in ``a`` has the sigmoid's slope a(1-a) as denominator and
        the two cancel.  ``z`` is unused, taken so that every cost's
        ``delta`` is called alike."""
        return (a-y)


class LogLikelihoodCost(object):
    """The log-likelihood cost of a softmax output layer (chapter 3): for a
    one-hot ``y``, -ln of the output the right class gets."""

    @staticmethod
    def fn(a, y):
        """-sum(y * ln a), summed over every example given; ``nan_to_num``
        turns the 0 * ln 0 of the other classes into 0."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.sum(np.nan_to_num(-y*np.log(a)))

    @staticmethod
    def delta(z, a, y):
        """dC/dz for softmax outputs: ``a - y`` (the softmax's Jacobian and
        the logarithm's derivative cancel, as chapter 3 shows)."""
        return (a-y)


class SquaredErrorCost(object):
    """Half the squared distance, at a linear output layer: the cost of
    regression (scikit-learn's ``loss='squared_error'``).  Its value is
    QuadraticCost's; its ``delta`` lacks the sigmoid's slope, since the
    output neurons are linear."""

    @staticmethod
    def fn(a, y):
        """0.5 * ||a - y||^2, summed over every entry given."""
        return 0.5*np.sum((a-y)**2)

    @staticmethod
    def delta(z, a, y):
        """dC/dz at a linear output layer: ``a - y``."""
        return (a-y)


class PoissonCost(object):
    """The Poisson deviance's half, at an exponential output layer
    (scikit-learn's ``loss='poisson'``): ``a - y ln a`` per entry, plus
    ``y ln y - y``, which does not depend on the network."""

    @staticmethod
    def fn(a, y):
        """sum(y ln(y/a) - y + a) over every entry given (0 ln 0 = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ylog = np.where(y > 0, y*np.log(np.where(y > 0, y, 1)/a), 0.0)
        return np.sum(ylog - y + a)

    @staticmethod
    def delta(z, a, y):
        """dC/dz at an exponential output layer: ``a - y`` (the derivative
        of ``a - y ln a`` in ``a``, 1 - y/a, times the slope ``a``)."""
        return (a-y)


#: Costs the compiled kernels implement, by the code they know them by
#: (``fastnn/_core/_layers.pxd`` has the same table).
CODES = {QuadraticCost: 0, CrossEntropyCost: 1, LogLikelihoodCost: 2, SquaredErrorCost: 3,
         PoissonCost: 4}
#: The cost classes by the name saved files use.
CLASSES = {"QuadraticCost": QuadraticCost, "CrossEntropyCost": CrossEntropyCost,
           "LogLikelihoodCost": LogLikelihoodCost, "SquaredErrorCost": SquaredErrorCost,
           "PoissonCost": PoissonCost}
#: Names the array API accepts for ``cost=``.
BY_NAME = dict(CLASSES, quadratic=QuadraticCost, cross_entropy=CrossEntropyCost,
               log_likelihood=LogLikelihoodCost, squared_error=SquaredErrorCost,
               poisson=PoissonCost)


def cost_class(cost):
    """Accept a cost class, an instance of one (the book's scripts pass both)
    or a name, and return the class."""
    if isinstance(cost, str):
        try:
            return BY_NAME[cost]
        except KeyError:
            raise ValueError("unknown cost {!r}; expected one of {}".format(
                cost, ", ".join(sorted(BY_NAME)))) from None
    cls = cost if isinstance(cost, type) else type(cost)
    if not (callable(getattr(cls, "fn", None)) and callable(getattr(cls, "delta", None))):
        raise TypeError("a cost needs static methods fn(a, y) and delta(z, a, y); "
                        "got {!r}".format(cost))
    return cls


def kernel_code(cost):
    """The compiled kernels' code for ``cost``, or a ValueError saying to use
    the numpy backend for a cost they do not implement."""
    try:
        return CODES[cost]
    except KeyError:
        raise ValueError(
            "the compiled backend implements QuadraticCost, CrossEntropyCost, "
            "LogLikelihoodCost, SquaredErrorCost and PoissonCost only; "
            "to train with {} pass backend='numpy' (or call "
            "fastnn.set_backend('numpy'))".format(getattr(cost, "__name__", cost))) from None

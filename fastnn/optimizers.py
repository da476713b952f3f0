"""How a mini-batch's gradient changes the parameters: plain SGD, momentum,
L2 and L1 regularization, and learning-rate schedules.

The state of an optimizer lives here, in Python, as lightfm keeps its
accumulators: a ``Step`` holds the learning rate, the regularization
strengths and, for momentum, one velocity array per parameter array.  The
kernels (both backends) are handed the ``Step`` and update the parameters
and velocities in place, by the rules below, written once in numpy
(``apply``) and once in C (``_core/_layers.pxd: param_step``).

With ``G`` the gradient summed over a mini-batch of ``m`` examples, ``n`` the
size of the training set (network3: its number of mini-batches, its
gradient being a mean already, ``m = 1``):

* plain SGD (the book's, chapters 1-3): ``w <- (1 - eta*l2/n) w - (eta/m) G``;
  with ``l2 = 0`` this is chapter 1's rule;
* otherwise, the step ``d = -(eta/m) G - (eta*l2/n) w - (eta*l1/n) sgn(w)``
  (chapter 3's L1 term, with sgn(0) = 0), and then with momentum ``mu``,
  ``v <- mu v + d``, ``w <- w + v`` (chapter 3's ``v -> mu v - eta grad C``),
  or without it ``w <- w + d``.

Biases take the same step without the two regularization terms.
"""
import numbers

import numpy as np

from ._validation import check_eta, check_real


class Step(object):
    """One SGD step's settings and the optimizer's state.

    ``eta`` is the learning rate (set each epoch by the trainer), ``n`` the
    training set's size, ``l2``/``l1`` the regularization strengths,
    ``momentum`` the coefficient mu in [0, 1).  ``velocities`` is None, or
    one ``(vw, vb)`` pair of arrays per layer, shaped like the parameters and
    starting at zero: ``Step.for_parameters`` makes them.
    """

    def __init__(self, eta, n, l2=0.0, l1=0.0, momentum=0.0, velocities=None):
        self.eta = eta
        self.n = n
        self.l2 = l2
        self.l1 = l1
        self.momentum = momentum
        self.velocities = velocities

    @classmethod
    def for_parameters(cls, parameters, n, l2=0.0, l1=0.0, momentum=0.0):
        """A Step for ``parameters``, a list of ``(w, b)`` pairs: with momentum,
        zero velocities for each."""
        l2 = check_nonnegative(l2, "l2")
        l1 = check_nonnegative(l1, "l1")
        momentum = check_momentum(momentum)
        velocities = None
        if momentum > 0:
            velocities = [(np.zeros_like(w), np.zeros_like(b)) for w, b in parameters]
        return cls(None, n, l2, l1, momentum, velocities)

    @property
    def plain(self):
        return self.momentum == 0 and self.l1 == 0

    def check_dtype(self, dtype, name="eta"):
        """Refuse a learning rate (the argument ``name``) whose step overflows
        ``dtype``: float32 turns 1e100 into inf."""
        largest = float(np.finfo(dtype).max)
        for what, value in ((name, self.eta), (name + "*l2/n", self.eta * (self.l2 / self.n)),
                            (name + "*l1/n", self.eta * (self.l1 / self.n))):
            if abs(value) > largest:
                raise ValueError("{} = {:g} does not fit in {} (largest {:g}): {} is far too "
                                 "large".format(what, value, np.dtype(dtype).name, largest, name))


def apply(w, g, v, step, m, regularize):
    """The step of ``w`` (in place) from its summed gradient ``g`` over ``m``
    examples; ``v`` is its velocity or None.  The numpy twin of
    ``_layers.param_step``, operation for operation."""
    eta, n = step.eta, step.n
    if step.plain:
        if regularize:
            w[...] = (1-eta*(step.l2/n))*w - (eta/m)*g
        else:
            w[...] = w - (eta/m)*g
        return
    if regularize:
        d = -(eta/m)*g - (eta*(step.l2/n))*w - (eta*(step.l1/n))*np.sign(w)
    else:
        d = -(eta/m)*g
    if v is not None:
        v[...] = step.momentum*v + d
        w[...] = w + v
    else:
        w[...] = w + d


def check_nonnegative(value, name):
    value = check_real(value, name)
    if value < 0:
        raise ValueError("{} must be >= 0, got {}".format(name, value))
    return value


def check_momentum(momentum):
    momentum = check_real(momentum, "momentum")
    if not 0 <= momentum < 1:
        raise ValueError("momentum must be in [0, 1), got {}".format(momentum))
    return momentum


# -- learning-rate schedules ---------------------------------------------------

class HalveOnPlateau(object):
    """Chapter 3's schedule: halve the learning rate each time the validation
    accuracy has not improved for ``patience`` epochs, and stop training once
    it has fallen to ``min_fraction`` of its start (1/128: seven halvings).

    Pass it as ``learning_rate``, with the starting rate:
    ``HalveOnPlateau(patience=10).starting_at(0.5)``, or give the start with
    ``eta=`` here.  Training with it needs validation data.
    """

    def __init__(self, patience=10, min_fraction=1/128, eta=None):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError("patience must be a whole number >= 1, not {!r}".format(patience))
        min_fraction = check_real(min_fraction, "min_fraction")
        if not 0 < min_fraction < 1:
            raise ValueError("min_fraction must be in (0, 1), not {}".format(min_fraction))
        self.patience = int(patience)
        self.min_fraction = min_fraction
        self.start = None if eta is None else check_learning_rate_value(eta, "eta")

    def starting_at(self, eta):
        return HalveOnPlateau(self.patience, self.min_fraction, eta)

    def __repr__(self):
        return "HalveOnPlateau(patience={}, min_fraction={!r}, eta={!r})".format(
            self.patience, self.min_fraction, self.start)


class Schedule(object):
    """The learning rate, epoch by epoch, from what the caller gave: a number,
    a callable ``epoch -> eta``, or a ``HalveOnPlateau``.  ``observe`` takes
    each epoch's validation accuracy and says whether the schedule ends
    training."""

    def __init__(self, learning_rate, name="learning_rate", default_start=None):
        self.name = name
        self.plateau = None
        self.fn = None
        if isinstance(learning_rate, HalveOnPlateau):
            self.plateau = learning_rate
            start = learning_rate.start if learning_rate.start is not None else default_start
            if start is None:
                raise ValueError("{}: HalveOnPlateau needs its starting rate, e.g. "
                                 "HalveOnPlateau(patience=10, eta=0.5)".format(name))
            self.eta = self.start = check_learning_rate_value(start, name)
            self.best = None
            self.since_best = 0
        elif callable(learning_rate):
            self.fn = learning_rate
            self.eta = self.at(0)
        else:
            self.eta = check_learning_rate_value(learning_rate, name)

    @property
    def needs_validation(self):
        return self.plateau is not None

    def at(self, epoch):
        """The learning rate of ``epoch``."""
        if self.fn is not None:
            try:
                value = self.fn(epoch)
            except Exception as exc:
                raise ValueError("{}({}) raised {}: {}".format(
                    self.name, epoch, type(exc).__name__, exc)) from exc
            return check_learning_rate_value(value, "{}({})".format(self.name, epoch))
        return self.eta

    def observe(self, accuracy):
        """After an epoch: returns True when the schedule stops training."""
        if self.plateau is None or accuracy is None:
            return False
        if self.best is None or accuracy > self.best:
            self.best, self.since_best = accuracy, 0
            return False
        self.since_best += 1
        if self.since_best >= self.plateau.patience:
            self.eta /= 2
            self.since_best = 0
        return self.eta <= self.start * self.plateau.min_fraction


def check_learning_rate_value(value, name):
    """A learning rate: a finite number >= 0 (``_validation.check_eta``)."""
    if isinstance(value, np.bool_):
        value = bool(value)
    return check_eta(value, name)

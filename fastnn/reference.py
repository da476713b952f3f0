"""The numpy reference kernels: the book's arithmetic, one mini-batch at a time.

This module is the oracle the compiled kernels in ``fastnn._core._dense`` are
tested against and the baseline the benchmarks measure them against.  It
follows the book's chapter 2 suggestion and holds a whole mini-batch as a
matrix, one example per *row*, so that ``Z = A @ W.T + b``.

Every function here has a twin with the same name and arguments in
``fastnn._core._dense``:

* ``weights`` is a list of C-contiguous arrays, layer ``l`` of shape
  ``(sizes[l], sizes[l-1])`` as in the book;
* ``biases`` is a list of 1-D arrays of shape ``(sizes[l],)`` (views of the
  book's ``(sizes[l], 1)`` columns, so updates land in the caller's arrays);
* ``X`` is ``(n, sizes[0])`` and ``Y`` is ``(n, sizes[-1])``, one row per
  example, all of one float dtype;
* ``spec`` (``fastnn.trainer.Spec``; None: sigmoid neurons, quadratic cost)
  names the activations and the cost; here the cost class's own ``delta``
  runs, so any class with ``fn`` and ``delta`` trains on this path;
* ``step`` (``fastnn.optimizers.Step``) holds the learning rate, the
  regularization, the optimizer and its state arrays.

Inputs are validated by the callers, once, before any kernel runs.
"""
import numpy as np

from . import activations, optimizers
from ._core import _steps
from .costs import QuadraticCost


class _SigmoidNet(object):
    hidden = out = activations.get("sigmoid")
    cost_class = QuadraticCost


def _layer_activations(spec, n_layers):
    """Each layer's ``activations.Activation``, and the cost class."""
    spec = spec or _SigmoidNet
    return [spec.hidden] * (n_layers - 1) + [spec.out], spec.cost_class


def feedforward(weights, biases, X, spec=None):
    """Return the output layer's activations for every row of ``X``."""
    acts, _ = _layer_activations(spec, len(weights))
    a = X
    for w, b, act in zip(weights, biases, acts):
        a = act(a @ w.T + b)
    return a


def backprop(weights, biases, X, Y, spec=None):
    """Return ``(nabla_b, nabla_w)``, the gradient of the cost summed over the
    rows of ``X``: lists shaped like ``biases`` and ``weights``."""
    acts, cost = _layer_activations(spec, len(weights))
    # feedforward, remembering every z and activation
    activation = X
    outputs = [X]
    zs = []
    for w, b, act in zip(weights, biases, acts):
        z = activation @ w.T + b
        zs.append(z)
        activation = act(z)
        outputs.append(activation)
    # backward pass: equations (BP1)-(BP4), a row per example
    nabla_b = [None] * len(weights)
    nabla_w = [None] * len(weights)
    delta = cost.delta(zs[-1], outputs[-1], Y)
    nabla_b[-1] = delta.sum(axis=0)
    nabla_w[-1] = delta.T @ outputs[-2]
    for l in range(2, len(weights) + 1):
        delta = (delta @ weights[-l+1]) * acts[-l].prime(outputs[-l])
        nabla_b[-l] = delta.sum(axis=0)
        nabla_w[-l] = delta.T @ outputs[-l-1]
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, X, Y, spec, step):
    """One step of the optimizer on the mini-batch ``X, Y``, in place (see
    ``fastnn.optimizers`` for the rules; plain SGD with L2 is network2's
    ``w -> (1 - eta*lmbda/n) w - (eta/m) nabla_w``)."""
    nabla_b, nabla_w = backprop(weights, biases, X, Y, spec)
    m = len(X)
    scalars = step.optimizer.begin(step, m)     # one step: Adam counts it here
    for l, (w, nw) in enumerate(zip(weights, nabla_w)):
        optimizers.apply(w, nw, optimizers.layer_state(step, l)[0], step, m, True, scalars)
    for l, (b, nb) in enumerate(zip(biases, nabla_b)):
        optimizers.apply(b, nb, optimizers.layer_state(step, l)[1], step, m, False, scalars)


def train(weights, biases, X, Y, order, mini_batch_size, spec, step, first=0, count=None,
          num_threads=None):
    """Mini-batch SGD in place: mini-batches ``first .. first+count-1``
    (``count`` None: to the end) of the epoch.

    ``order`` lists the rows of ``X`` in the order this epoch visits them
    (None: in their order); consecutive runs of ``mini_batch_size`` rows form
    the mini-batches (the last may be shorter, as in the book).
    ``num_threads`` is accepted for symmetry with the compiled twin.
    """
    # the kernels' own check of the optimizer's settings and state arrays
    _steps.read(step, [(w.shape, b.shape) for w, b in zip(weights, biases)], weights[0].dtype)
    rows = np.arange(len(X)) if order is None else np.asarray(order)
    starts = range(first * mini_batch_size, len(rows), mini_batch_size)
    if count is not None:
        starts = starts[:count]
    for k in starts:
        batch = rows[k:k+mini_batch_size]
        update_mini_batch(weights, biases, X[batch], Y[batch], spec, step)

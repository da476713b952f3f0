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
from .costs import (CrossEntropyCost, LogLikelihoodCost, PoissonCost, QuadraticCost,
                    SquaredErrorCost)


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
    return _backprop(weights, biases, X, Y, spec)[1:]


def _backprop(weights, biases, X, Y, spec, loss=None):
    """``backprop``, returning ``(loss, nabla_b, nabla_w)``.  ``loss`` None:
    the loss is 0 and the gradient ``backprop``'s.  Else ``loss`` is a
    function ``(outputs, deltas) -> (loss, deltas)``, called between the
    forward pass and (BP1)'s error and its answer used: the mini-batch's
    loss, and the output error the backward pass starts from."""
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
    value = 0.0
    if loss is not None:
        value, delta = loss(outputs[-1], delta)
    nabla_b[-1] = delta.sum(axis=0)
    nabla_w[-1] = delta.T @ outputs[-2]
    for l in range(2, len(weights) + 1):
        delta = (delta @ weights[-l+1]) * acts[-l].prime(outputs[-l])
        nabla_b[-l] = delta.sum(axis=0)
        nabla_w[-l] = delta.T @ outputs[-l-1]
    return value, nabla_b, nabla_w


# -- scikit-learn's losses ----------------------------------------------------------

#: The loss ``train`` records for each output layer and cost, by scikit-learn's names.
LOSS_KINDS = {("softmax", LogLikelihoodCost): "log_loss",
              ("sigmoid", CrossEntropyCost): "binary_log_loss",
              ("linear", SquaredErrorCost): "squared_error",
              ("exp", PoissonCost): "poisson"}


def loss_kind(spec):
    """scikit-learn's name of the loss of ``spec``'s output layer and cost,
    or a ValueError for one it has none for."""
    spec = spec or _SigmoidNet
    kind = LOSS_KINDS.get((spec.out.name, spec.cost_class))
    if kind is None:
        raise ValueError("losses: the kernels record scikit-learn's losses for softmax outputs "
                         "with the log-likelihood, sigmoid outputs with the cross-entropy, "
                         "linear outputs with SquaredErrorCost and exponential outputs with "
                         "PoissonCost only")
    return kind


def _xlogy(x, y):
    """``x ln y``, 0 where ``x`` is 0."""
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def row_losses(kind, a, y):
    """Each row's loss, scikit-learn's, in float64: the log losses clip the
    outputs to ``[eps, 1-eps]`` (eps of their dtype) first; squared_error
    is half the mean over the outputs; poisson ``y ln(y/a) - y + a`` summed."""
    if kind == "squared_error":
        d = y.astype(np.float64) - a
        return 0.5 * (d * d).mean(axis=1)
    if kind == "poisson":
        return (_xlogy(y.astype(np.float64), y / a) - y + a).sum(axis=1)
    eps = np.finfo(a.dtype).eps
    p = np.clip(a, eps, 1 - eps)
    terms = -_xlogy(y.astype(np.float64), p)
    if kind == "binary_log_loss":
        terms -= _xlogy((1 - y).astype(np.float64), 1 - p)
    return terms.sum(axis=1)


def minibatch_loss(kind, weights, a, y, alpha, sample_weight=None):
    """A mini-batch's loss as scikit-learn's MLP reports it: the rows'
    (weighted) mean loss, plus ``alpha/2`` times the weights' squared norm
    divided by the rows' summed weight.  Returns ``(loss, summed weight)``."""
    rows = row_losses(kind, a, y)
    if sample_weight is None:
        sw_sum = float(len(a))
        total = rows.sum()
    else:
        sw_sum = float(sample_weight.sum())
        total = (sample_weight * rows).sum()
    norm = sum(float(np.dot(w.ravel().astype(np.float64), w.ravel())) for w in weights)
    return total / sw_sum + 0.5 * alpha * norm / sw_sum, sw_sum


def loss_gradient(weights, biases, X, Y, spec, alpha=0.0, sample_weight=None):
    """Return ``(loss, nabla_b, nabla_w)`` over all the rows of ``X`` as
    scikit-learn's MLP defines them (what L-BFGS minimizes): the rows'
    weighted mean loss plus ``alpha/2`` times the weights' squared norm
    divided by the summed weight, and its gradient."""
    kind = loss_kind(spec)
    if len(X) == 0:
        raise ValueError("X has no rows: the loss is a mean over them")
    if alpha < 0:
        raise ValueError("alpha must be finite and >= 0, got {}".format(alpha))
    sw_sum = [None]

    def loss(a, delta):
        value, sw_sum[0] = minibatch_loss(kind, weights, a, Y, alpha, sample_weight)
        scale = 1.0 / sw_sum[0] if sample_weight is None else sample_weight[:, None] / sw_sum[0]
        return value, delta * np.asarray(scale, dtype=delta.dtype)

    value, nabla_b, nabla_w = _backprop(weights, biases, X, Y, spec, loss)
    decay = weights[0].dtype.type(alpha / sw_sum[0])
    nabla_w = [nw + decay * w for nw, w in zip(nabla_w, weights)]
    return value, nabla_b, nabla_w


def update_mini_batch(weights, biases, X, Y, spec, step, loss=None, sample_weight=None):
    """One step of the optimizer on the mini-batch ``X, Y``, in place (see
    ``fastnn.optimizers`` for the rules; plain SGD with L2 is network2's
    ``w -> (1 - eta*lmbda/n) w - (eta/m) nabla_w``).

    ``loss`` (scikit-learn's name of it, or None) asks for the mini-batch's
    loss, which is returned (else None).  ``sample_weight`` (the
    mini-batch's rows' weights) makes the step scikit-learn's weighted mean,
    its ``alpha`` term divided by their sum."""
    m = len(X)
    alpha = step.alpha
    sw_sum = float(m) if sample_weight is None else float(sample_weight.sum())
    record = None

    def weigh(a, delta):
        value = None
        if loss is not None:
            value = minibatch_loss(loss, weights, a, Y, alpha, sample_weight)[0]
        if sample_weight is not None:
            # the step divides by m: w_i m / sum(w) makes it the weighted mean
            delta = delta * (sample_weight * (m / sw_sum))[:, None].astype(delta.dtype)
        return value, delta

    record, nabla_b, nabla_w = _backprop(weights, biases, X, Y, spec, weigh)
    if sample_weight is not None:
        step.alpha = alpha * m / sw_sum     # the kernels' alpha/m becomes alpha/sum(w)
    try:
        _step(weights, biases, nabla_b, nabla_w, step, m)
    finally:
        step.alpha = alpha
    return record


def _step(weights, biases, nabla_b, nabla_w, step, m):
    """The optimizer's step on every layer from the summed gradient of ``m`` rows."""
    scalars = step.optimizer.begin(step, m)     # one step: Adam counts it here
    for l, (w, nw) in enumerate(zip(weights, nabla_w)):
        optimizers.apply(w, nw, optimizers.layer_state(step, l)[0], step, m, True, scalars)
    for l, (b, nb) in enumerate(zip(biases, nabla_b)):
        optimizers.apply(b, nb, optimizers.layer_state(step, l)[1], step, m, False, scalars)


def train(weights, biases, X, Y, order, mini_batch_size, spec, step, first=0, count=None,
          num_threads=None, *, losses=None, sample_weight=None):
    """Mini-batch SGD in place: mini-batches ``first .. first+count-1``
    (``count`` None: to the end) of the epoch.

    ``order`` lists the rows of ``X`` in the order this epoch visits them
    (None: in their order); consecutive runs of ``mini_batch_size`` rows form
    the mini-batches (the last may be shorter, as in the book).
    ``num_threads`` is accepted for symmetry with the compiled twin, and
    ``losses`` and ``sample_weight`` mean what they mean there.
    """
    # the kernels' own check of the optimizer's settings and state arrays
    _steps.read(step, [(w.shape, b.shape) for w, b in zip(weights, biases)], weights[0].dtype)
    rows = np.arange(len(X)) if order is None else np.asarray(order)
    starts = range(first * mini_batch_size, len(rows), mini_batch_size)
    if count is not None:
        starts = starts[:count]
    kind = None
    if losses is not None:
        kind = loss_kind(spec)
        if len(losses) < len(starts):
            raise ValueError("losses has {} entries but the call trains {} mini-batches"
                             .format(len(losses), len(starts)))
    if sample_weight is not None and len(sample_weight) != len(X):
        raise ValueError("sample_weight has {} entries but X has {} rows".format(
            len(sample_weight), len(X)))
    for i, k in enumerate(starts):
        batch = rows[k:k+mini_batch_size]
        value = update_mini_batch(weights, biases, X[batch], Y[batch], spec, step, kind,
                                  None if sample_weight is None else sample_weight[batch])
        if kind is not None:
            losses[i] = value

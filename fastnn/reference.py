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
* ``cost`` is a cost class from ``fastnn.costs`` (any class with ``fn`` and
  ``delta`` works here; the compiled twin knows the two built-in ones).

Inputs are validated by the callers, once, before any kernel runs.
"""
from .activations import sigmoid, sigmoid_prime


def feedforward(weights, biases, X):
    """Return the output layer's activations for every row of ``X``."""
    a = X
    for w, b in zip(weights, biases):
        a = sigmoid(a @ w.T + b)
    return a


def backprop(weights, biases, X, Y, cost):
    """Return ``(nabla_b, nabla_w)``, the gradient of the cost summed over the
    rows of ``X``: lists shaped like ``biases`` and ``weights``."""
    # feedforward, remembering every z and activation
    activation = X
    activations = [X]
    zs = []
    for w, b in zip(weights, biases):
        z = activation @ w.T + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    # backward pass: equations (BP1)-(BP4), a row per example
    nabla_b = [None] * len(weights)
    nabla_w = [None] * len(weights)
    delta = cost.delta(zs[-1], activations[-1], Y)
    nabla_b[-1] = delta.sum(axis=0)
    nabla_w[-1] = delta.T @ activations[-2]
    for l in range(2, len(weights) + 1):
        delta = (delta @ weights[-l+1]) * sigmoid_prime(zs[-l])
        nabla_b[-l] = delta.sum(axis=0)
        nabla_w[-l] = delta.T @ activations[-l-1]
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, X, Y, eta, lmbda, n, cost):
    """One step of gradient descent on the mini-batch ``X, Y``, in place.

    The weights decay as network2 applies L2 regularization,
    ``w -> (1 - eta*lmbda/n) w - (eta/m) nabla_w``; with ``lmbda = 0`` this
    is exactly network.py's update.
    """
    nabla_b, nabla_w = backprop(weights, biases, X, Y, cost)
    m = len(X)
    for w, nw in zip(weights, nabla_w):
        w[...] = (1-eta*(lmbda/n))*w - (eta/m)*nw
    for b, nb in zip(biases, nabla_b):
        b[...] = b - (eta/m)*nb


def sgd_epoch(weights, biases, X, Y, order, mini_batch_size, eta, lmbda, n, cost):
    """One epoch of mini-batch SGD, in place.

    ``order`` lists the rows of ``X`` in the order this epoch visits them;
    consecutive runs of ``mini_batch_size`` rows form the mini-batches (the
    last may be shorter, as in the book).
    """
    for k in range(0, len(order), mini_batch_size):
        batch = order[k:k+mini_batch_size]
        update_mini_batch(weights, biases, X[batch], Y[batch], eta, lmbda, n, cost)

"""The arithmetic of the book's chapter 1-3 networks, one example at a time.

This module is the yardstick the drop-in tests hold ``fastnn.network`` and
``fastnn.network2`` against, and the per-example baseline of
``benchmarks/bench_dense.py``.  It is written from the equations, not from
any program, and imports nothing from fastnn, so that a mistake shared by
fastnn's two backends cannot hide here too.

Notation: layer l (1 .. L) has weights W[l] (rows: its neurons; columns: the
previous layer's), biases b[l] (a column), weighted input z[l] = W[l] a[l-1]
+ b[l] and activation a[l] = s(z[l]), with s the logistic function and a[0]
the input column.  For one example (x, y):

* output error      e[L] = (a[L] - y) * s'(z[L])   (quadratic cost)
                    e[L] = a[L] - y                (cross-entropy cost)
* earlier layers    e[l] = (W[l+1]^T e[l+1]) * s'(z[l])
* gradients         dC/db[l] = e[l],  dC/dW[l] = e[l] a[l-1]^T

A step over a mini-batch of m examples, from a training set of n, with rate
eta and L2 strength lmbda:

    W[l] <- (1 - eta*lmbda/n) W[l] - (eta/m) * sum of dC/dW[l] over the batch
    b[l] <- b[l] - (eta/m) * sum of dC/db[l] over the batch

The gradients of a batch are summed one example after another, in the
batch's order: that order of additions is part of what is being pinned down.

Each piece a test may want to change is one method or one module name:
``output_error`` (e[L]) and ``example_cost`` (the cost of one output) for
another cost, ``gradients`` for another gradient, ``step`` to watch or alter
the update of each mini-batch, and the module functions ``logistic`` and
``logistic_slope``, looked up at every call, for another neuron.
"""
import random

import numpy as np

COSTS = ("quadratic", "cross-entropy")


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_slope(z):
    """s'(z) = s(z) (1 - s(z))."""
    s = logistic(z)
    return s * (1 - s)


def shuffle_in_place(items, rule="python3"):
    """Permute ``items`` in place with Python's ``random`` generator.

    ``"python3"`` is today's ``random.shuffle``.  ``"python2"`` is the rule
    Python 2.7 used, under which the book's figures were computed: walking i
    down from the last position to 1, swap position i with position
    ``int(random.random() * (i + 1))``.
    """
    if rule == "python3":
        random.shuffle(items)
    elif rule == "python2":
        for i in range(len(items) - 1, 0, -1):
            j = int(random.random() * (i + 1))
            items[i], items[j] = items[j], items[i]
    else:
        raise ValueError("unknown shuffle rule {!r}".format(rule))


class PerExampleNet(object):
    """A fully connected logistic network trained one example at a time.

    ``cost`` is ``"quadratic"`` or ``"cross-entropy"``.  ``init`` is
    ``"scaled"`` (each weight N(0, 1/fan-in), network2's default) or
    ``"unit"`` (N(0, 1), network.py's and network2's large initializer);
    biases are N(0, 1) either way.  The draws come from ``np.random`` in
    this order: every layer's biases as a (rows, 1) ``randn``, then every
    layer's weights as a (rows, columns) ``randn``.  ``weights`` and
    ``biases`` are plain lists of arrays and may be replaced from outside.
    """

    def __init__(self, sizes, cost="cross-entropy", init="scaled"):
        if cost not in COSTS:
            raise ValueError("cost must be one of {}".format(COSTS))
        if init not in ("scaled", "unit"):
            raise ValueError("init must be 'scaled' or 'unit'")
        self.sizes = list(sizes)
        self.cost = cost
        fan_in, fan_out = self.sizes[:-1], self.sizes[1:]
        self.biases = [np.random.randn(rows, 1) for rows in fan_out]
        self.weights = []
        for cols, rows in zip(fan_in, fan_out):
            w = np.random.randn(rows, cols)
            self.weights.append(w / np.sqrt(cols) if init == "scaled" else w)

    # -- one example ---------------------------------------------------------

    def output(self, x):
        """a[L] for the input column ``x``."""
        a = x
        for W, b in zip(self.weights, self.biases):
            a = logistic(np.dot(W, a) + b)
        return a

    def gradients(self, x, y):
        """(dC/db per layer, dC/dW per layer) for one example, by BP1-BP4."""
        zs, acts = [], [x]                    # z[1..L], a[0..L]
        for W, b in zip(self.weights, self.biases):
            zs.append(np.dot(W, acts[-1]) + b)
            acts.append(logistic(zs[-1]))
        layers = len(self.weights)
        grad_b, grad_W = [None] * layers, [None] * layers
        error = self.output_error(zs[-1], acts[-1], y)
        for l in range(layers - 1, -1, -1):   # l indexes weights/biases: layer l+1
            if l < layers - 1:
                error = np.dot(self.weights[l + 1].transpose(), error) * logistic_slope(zs[l])
            grad_b[l] = error
            grad_W[l] = np.dot(error, acts[l].transpose())
        return grad_b, grad_W

    def output_error(self, z, a, y):
        """e[L] for the output layer's weighted input ``z`` and activation
        ``a`` against the target ``y``, by the cost chosen."""
        if self.cost == "quadratic":
            return (a - y) * logistic_slope(z)
        return a - y

    def example_cost(self, a, y):
        """The cost of one output column ``a`` against the target column ``y``."""
        if self.cost == "quadratic":
            return 0.5 * np.linalg.norm(a - y) ** 2
        # 0 log 0 is taken as 0 (nan_to_num), as the saturated output calls for
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    # -- training --------------------------------------------------------------

    def step(self, batch, eta, lmbda, n):
        """One gradient step on the (x, y) pairs of ``batch``."""
        sum_b = [np.zeros(b.shape) for b in self.biases]
        sum_W = [np.zeros(W.shape) for W in self.weights]
        for x, y in batch:
            grad_b, grad_W = self.gradients(x, y)
            sum_b = [s + g for s, g in zip(sum_b, grad_b)]
            sum_W = [s + g for s, g in zip(sum_W, grad_W)]
        rate = eta / len(batch)
        shrink = 1 - eta * (lmbda / n)
        self.weights = [shrink * W - rate * s for W, s in zip(self.weights, sum_W)]
        self.biases = [b - rate * s for b, s in zip(self.biases, sum_b)]

    def train(self, pairs, epochs, batch_size, eta, lmbda=0.0, rule="python3"):
        """Each epoch: shuffle the caller's list ``pairs`` in place by
        ``rule``, then step on consecutive slices of ``batch_size`` pairs
        (the last one shorter when the list does not divide evenly)."""
        n = len(pairs)
        for _ in range(epochs):
            shuffle_in_place(pairs, rule)
            for start in range(0, n, batch_size):
                self.step(pairs[start:start + batch_size], eta, lmbda, n)

    # -- evaluation --------------------------------------------------------------

    def count_correct(self, pairs, one_hot_targets=False):
        """How many pairs the largest output classifies right.  Targets are
        digit labels, or one-hot columns with ``one_hot_targets``."""
        hits = 0
        for x, y in pairs:
            label = int(np.argmax(y)) if one_hot_targets else y
            hits += int(np.argmax(self.output(x)) == label)
        return hits

    def mean_cost(self, pairs, lmbda, labels=False):
        """The average example cost over ``pairs`` plus the L2 penalty
        lmbda/(2n) times the squared norms of all weights.  With ``labels``
        the targets are digits, turned into one-hot columns first."""
        n = len(pairs)
        total = 0.0
        for x, y in pairs:
            if labels:
                column = np.zeros((self.sizes[-1], 1))
                column[y] = 1.0
                y = column
            total += self.example_cost(self.output(x), y) / n
        penalty = sum(np.linalg.norm(W) ** 2 for W in self.weights)
        return total + 0.5 * (lmbda / n) * penalty

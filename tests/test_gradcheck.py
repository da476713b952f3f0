"""Backprop's gradient against central finite differences of the cost.

float64, a small net, a mini-batch of 4 examples.  The cost of the batch is
``cost.fn(feedforward(X), Y)`` (both costs sum over examples), which is what
``backprop`` differentiates.  Central differences with h = 1e-6 are accurate
to about h^2 ~ 1e-12 plus rounding ~1e-16/h ~ 1e-10, so the normwise relative
tolerance is 1e-6: a wrong sign, a missing sigmoid' or a transposed index is
off by O(1).
"""
import numpy as np
import pytest

from fastnn import reference, trainer
from fastnn.costs import CrossEntropyCost, QuadraticCost
from helpers import assert_close, central_difference

H = 1e-6
RTOL = 1e-6


def numerical_gradient(weights, biases, X, Y, cost):
    def total():
        return cost.fn(reference.feedforward(weights, biases, X), Y)
    grads = []
    for params in (biases, weights):
        layer_grads = []
        for p in params:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                g[idx] = central_difference(total, p, idx, H)
            layer_grads.append(g)
        grads.append(layer_grads)
    return grads


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("cost", [QuadraticCost, CrossEntropyCost], ids=lambda c: c.__name__)
def test_backprop_matches_finite_differences(backend, cost):
    rng = np.random.default_rng(21)
    sizes = [5, 4, 6, 3]
    weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y) for y in sizes[1:]]
    X = rng.random((4, sizes[0]))
    Y = np.zeros((4, sizes[-1]))
    Y[np.arange(4), rng.integers(sizes[-1], size=4)] = 1.0
    nabla_b, nabla_w = trainer.kernels(backend).backprop(weights, biases, X, Y, cost)
    num_b, num_w = numerical_gradient(weights, biases, X, Y, cost)
    for l in range(len(weights)):
        assert_close(nabla_b[l], num_b[l], "{} layer {} nabla_b".format(cost.__name__, l+1), rtol=RTOL)
        assert_close(nabla_w[l], num_w[l], "{} layer {} nabla_w".format(cost.__name__, l+1), rtol=RTOL)

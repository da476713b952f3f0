"""Backprop's gradient against central finite differences of the cost.

float64, a small net of three layers, a mini-batch of 4 examples, every
hidden activation with every output/cost pair, on both backends.  The cost of
the batch is ``cost.fn(feedforward(X), Y)`` (every cost sums over examples),
which is what ``backprop`` differentiates.  Central differences with h = 1e-6
are accurate to about h^2 ~ 1e-12 plus rounding ~1e-16/h ~ 1e-10, so the
normwise relative tolerance is 1e-6: a wrong sign, a missing derivative or a
transposed index is off by O(1).  The kink of ReLU and leaky ReLU is
avoided by checking that no weighted input lies within 1e-3 of zero (the
seed is chosen so).  Every hidden activation of the registry is checked, and
each of its parameters at its default and at another value; the derivative
of each activation alone is checked in test_activations.py.
"""
import numpy as np
import pytest

from fastnn import activations, reference, trainer
from fastnn.costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from helpers import assert_close, central_difference

H = 1e-6
RTOL = 1e-6
OUTPUTS = [("sigmoid", QuadraticCost), ("sigmoid", CrossEntropyCost),
           ("softmax", LogLikelihoodCost)]


def numerical_gradient(weights, biases, X, Y, spec):
    def total():
        return spec.cost_class.fn(reference.feedforward(weights, biases, X, spec), Y)
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
@pytest.mark.parametrize("output,cost", OUTPUTS, ids=lambda o: getattr(o, "__name__", o))
@pytest.mark.parametrize("activation", activations.HIDDEN + ("leaky_relu(slope=0.3)",))
def test_backprop_matches_finite_differences(backend, activation, output, cost):
    if activation == "leaky_relu(slope=0.3)":
        activation = activations.get("leaky_relu", slope=0.3)
    rng = np.random.default_rng(21)
    sizes = [5, 4, 6, 3]
    weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y) for y in sizes[1:]]
    X = rng.random((4, sizes[0]))
    Y = np.zeros((4, sizes[-1]))
    Y[np.arange(4), rng.integers(sizes[-1], size=4)] = 1.0
    spec = trainer.Spec(activation, output, cost)
    a = X
    for w, b in zip(weights[:-1], biases[:-1]):     # no weighted input at ReLU's kink
        z = a @ w.T + b
        assert np.min(np.abs(z)) > 1e-3
        a = spec.hidden(z)
    nabla_b, nabla_w = trainer.kernels(backend).backprop(weights, biases, X, Y, spec)
    num_b, num_w = numerical_gradient(weights, biases, X, Y, spec)
    for l in range(len(weights)):
        what = "{} {}/{} layer {}".format(activation, output, cost.__name__, l+1)
        assert_close(nabla_b[l], num_b[l], what + " nabla_b", rtol=RTOL)
        assert_close(nabla_w[l], num_w[l], what + " nabla_w", rtol=RTOL)

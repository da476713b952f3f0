"""The dense kernels' support for scikit-learn's MLPs: ``train``'s
``losses=`` and ``sample_weight=``, and ``loss_gradient`` (L-BFGS's full-batch
loss and gradient), in both backends, against each other and against
scikit-learn's own loss functions."""
import numpy as np
import pytest

import fastnn
from fastnn import costs, optimizers, reference, trainer
from fastnn._core import _dense
from helpers import assert_close

pytest.importorskip("sklearn")
from sklearn.neural_network import _base as sk_base  # noqa: E402

# output layer, cost, scikit-learn's loss for them
FORMS = [("softmax", "log_likelihood", "log_loss"),
         ("sigmoid", "cross_entropy", "binary_log_loss"),
         ("linear", "squared_error", "squared_error"),
         ("exp", "poisson", "poisson")]
OPTIMIZERS = {"adam": lambda: fastnn.Adam(form="sklearn"),
              "nesterov": lambda: fastnn.SGD(0.9, nesterov=True),
              "momentum": lambda: fastnn.SGD(0.9),
              "plain": lambda: fastnn.SGD(0.0)}
N, N_IN, N_HIDDEN = 53, 7, 6


def problem(output, n_out, seed, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.randn(N, N_IN).astype(dtype)
    if output == "softmax":
        Y = np.eye(n_out)[rng.randint(0, n_out, N)]
    elif output == "sigmoid":
        Y = (rng.rand(N, n_out) > 0.5) * 1.0
    else:
        Y = rng.rand(N, n_out) * 2
    W = [(rng.randn(N_HIDDEN, N_IN) * 0.3).astype(dtype),
         (rng.randn(n_out, N_HIDDEN) * 0.3).astype(dtype)]
    B = [(rng.randn(N_HIDDEN) * 0.1).astype(dtype), (rng.randn(n_out) * 0.1).astype(dtype)]
    return X, Y.astype(dtype), W, B, rng.rand(N) * 2


def one_epoch(kernels, W, B, X, Y, spec, optimizer, sw, batch=10):
    w = [a.copy() for a in W]
    b = [a.copy() for a in B]
    step = optimizers.Step.for_parameters(list(zip(w, b)), len(X), optimizer=optimizer,
                                          alpha=0.03)
    step.eta = 0.05
    losses = np.full(-(-len(X) // batch), np.nan)
    order = np.random.RandomState(7).permutation(len(X))
    kernels.train(w, b, X, Y, order, batch, spec, step, losses=losses, sample_weight=sw)
    return w, b, losses


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("output,cost,_", FORMS, ids=[f[0] for f in FORMS])
def test_backends_agree_on_an_epoch(output, cost, _, opt, weighted):
    X, Y, W, B, sw = problem(output, 3, 0)
    spec = trainer.Spec("tanh", output, cost)
    sw = sw if weighted else None
    w0, b0, l0 = one_epoch(reference, W, B, X, Y, spec, OPTIMIZERS[opt](), sw)
    w1, b1, l1 = one_epoch(_dense, W, B, X, Y, spec, OPTIMIZERS[opt](), sw)
    assert np.isfinite(l1).all()
    assert_close(l1, l0, "the mini-batch losses", rtol=1e-12)
    for l in range(2):
        assert_close(w1[l], w0[l], "layer {} weights".format(l), rtol=1e-10)
        assert_close(b1[l], b0[l], "layer {} biases".format(l), rtol=1e-10)


@pytest.mark.parametrize("kernels", [reference, _dense], ids=["numpy", "cython"])
@pytest.mark.parametrize("output,cost,loss", FORMS, ids=[f[0] for f in FORMS])
def test_first_loss_is_scikit_learns(kernels, output, cost, loss):
    """The first mini-batch's loss is scikit-learn's loss function on it,
    weighted, plus alpha/2 |W|^2 over the summed weight."""
    X, Y, W, B, sw = problem(output, 1 if output == "sigmoid" else 3, 1)
    spec = trainer.Spec("relu", output, cost)
    _, _, losses = one_epoch(kernels, W, B, X, Y, spec, OPTIMIZERS["plain"](), sw)
    order = np.random.RandomState(7).permutation(len(X))[:10]
    a = reference.feedforward(W, B, X[order], spec)
    expected = sk_base.LOSS_FUNCTIONS[loss](Y[order], a, sw[order]) + \
        0.5 * 0.03 * sum((w * w).sum() for w in W) / sw[order].sum()
    assert losses[0] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("output,cost,loss", FORMS, ids=[f[0] for f in FORMS])
def test_loss_gradient(output, cost, loss, weighted):
    """Both backends' full-batch loss and gradient agree, and the gradient
    is the loss's (central differences).  One linear output: scikit-learn's
    squared_error is the mean over the outputs but its error is ``a - y``,
    so with several outputs its gradient is the loss's times their number."""
    X, Y, W, B, sw = problem(output, 1 if output == "linear" else 2, 2)
    sw = sw if weighted else None
    spec = trainer.Spec("tanh", output, cost)
    value, nb, nw = _dense.loss_gradient(W, B, X, Y, spec, 0.1, sw)
    value0, nb0, nw0 = reference.loss_gradient(W, B, X, Y, spec, 0.1, sw)
    assert value == pytest.approx(value0, rel=1e-13)
    for l in range(2):
        assert_close(nw[l], nw0[l], "layer {} nabla_w".format(l), rtol=1e-12)
        assert_close(nb[l], nb0[l], "layer {} nabla_b".format(l), rtol=1e-12)
    h = 1e-6
    for l, i, j in [(0, 1, 2), (1, 0, 3)]:
        up = [w.copy() for w in W]
        down = [w.copy() for w in W]
        up[l][i, j] += h
        down[l][i, j] -= h
        slope = (_dense.loss_gradient(up, B, X, Y, spec, 0.1, sw)[0] -
                 _dense.loss_gradient(down, B, X, Y, spec, 0.1, sw)[0]) / (2 * h)
        assert nw[l][i, j] == pytest.approx(slope, rel=1e-6, abs=1e-9)


def test_float32_losses_agree():
    """float32 networks: the backends agree to float32's resolution."""
    X, Y, W, B, sw = problem("softmax", 3, 3, np.float32)
    spec = trainer.Spec("relu", "softmax", "log_likelihood")
    w0, _, l0 = one_epoch(reference, W, B, X, Y, spec, OPTIMIZERS["adam"](), sw)
    w1, _, l1 = one_epoch(_dense, W, B, X, Y, spec, OPTIMIZERS["adam"](), sw)
    assert_close(l1, l0, "float32 mini-batch losses", rtol=1e-5)
    assert_close(w1[0], w0[0], "float32 layer 0 weights", rtol=1e-5)


@pytest.mark.parametrize("kernels", [reference, _dense], ids=["numpy", "cython"])
def test_bad_arguments(kernels):
    X, Y, W, B, sw = problem("softmax", 3, 4)
    spec = trainer.Spec("relu", "softmax", "log_likelihood")
    step = optimizers.Step.for_parameters(list(zip(W, B)), N, alpha=0.1)
    step.eta = 0.1
    with pytest.raises(ValueError, match="losses has 2 entries"):
        kernels.train(W, B, X, Y, None, 10, spec, step, losses=np.zeros(2))
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        kernels.train(W, B, X, Y, None, 10, spec, step, sample_weight=np.ones(3))
    quadratic = trainer.Spec("relu", "sigmoid", "quadratic")
    with pytest.raises(ValueError, match="losses"):
        kernels.train(W, B, X, Y, None, 10, quadratic, step, losses=np.zeros(6))
    with pytest.raises(ValueError, match="no rows"):
        kernels.loss_gradient(W, B, X[:0], Y[:0], spec, 0.1)


def test_compiled_bad_arguments():
    X, Y, W, B, sw = problem("softmax", 3, 5)
    spec = trainer.Spec("relu", "softmax", "log_likelihood")
    step = optimizers.Step.for_parameters(list(zip(W, B)), N)
    step.eta = 0.1
    with pytest.raises(TypeError, match="losses"):
        _dense.train(W, B, X, Y, None, 10, spec, step, losses=np.zeros(6, np.float32))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        _dense.train(W, B, X, Y, None, 10, spec, step, sample_weight=-sw)
    with pytest.raises(ValueError, match="alpha"):
        _dense.loss_gradient(W, B, X, Y, spec, -1.0)


def test_specs_pair_outputs_and_costs():
    with pytest.raises(ValueError, match="output='linear' goes with cost=SquaredErrorCost"):
        trainer.Spec("relu", "linear", "quadratic")
    with pytest.raises(ValueError, match="output='exp' goes with cost=PoissonCost"):
        trainer.Spec("relu", "sigmoid", costs.PoissonCost)

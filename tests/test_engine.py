"""The one engine for fully connected networks: the kernels' activations,
costs and optimizers against the numpy reference, the training loop
(chunks, progress, divergence, schedules, early stopping) and the array API
on top of it.

Tolerances are normwise (``max|diff| <= rtol * max|reference|``, see
``helpers.assert_close``) unless said to be absolute.  Measured, then set
about 10x above the worst seen:

* one step (float64), every hidden activation x output/cost x optimizer
  (plain, momentum 0.9) x regularizer (none, L2, L1, L1+L2): a mini-batch
  of 10 and one of 3, weights, biases and velocities.  Worst 8.4e-16 over 5
  seeds.  Allowed: 1e-12.
* the same in float32: worst 8.7e-7 over 10 seeds (a few ulps of the
  largest entry; the kernels sum in another order than numpy's BLAS, and
  expf/tanhf differ from numpy's by an ulp).  Allowed: 1e-5.
* an epoch of 10,000 MNIST rows, [784, 30, 10], mini-batches of 10 (1000
  steps), float64: worst absolute difference 6.5e-14 over 3 seeds, on
  weights of magnitude up to ~3.5.  Allowed: 1e-8 absolute.  This holds
  for learning rates at which training is stable; at eta 0.05 with
  momentum 0.9 and tanh neurons the training dynamics are chaotic and
  amplify a one-ulp difference about twofold every 20 steps (measured:
  1e-16 after 50 steps, 1e-6 after 500), which no implementation can
  avoid.
* the same epoch in float32, without L1: worst absolute difference 3.1e-6
  over 4 seeds.  Allowed: 3e-5 absolute.  With L1 in float32 there is no
  elementwise bound worth stating: weights the L1 term holds near zero
  dither across it by ``eta*l1/n`` each step, and a one-ulp difference
  flips ``sgn(w)`` and so moves the weight by ``2*eta*l1/n`` (1e-4 at eta
  0.1, l1 5, n 10,000), which momentum then carries on (measured up to
  0.05 after 1000 steps).  float32 L1 is held to the one-step bound only.
"""
import json
import random

import numpy as np
import pytest

import fastnn
from fastnn import (MLP, HalveOnPlateau, TrainingDiverged, activations, network, network2,
                    reference, trainer)
from fastnn.optimizers import Schedule, Step
from fastnn._core import _dense
from helpers import assert_close, at_offset, make_data, make_net

ACTIVATIONS = list(activations.HIDDEN)
OUTPUTS = [("sigmoid", "quadratic"), ("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]
MOMENTA = [0.0, 0.9]
REGULARIZERS = [(0.0, 0.0), (5.0, 0.0), (0.0, 5.0), (5.0, 5.0)]      # (l2, l1)

RTOL_STEP = {np.float64: 1e-12, np.float32: 1e-5}
ATOL_MNIST_EPOCH = {np.float64: 1e-8, np.float32: 3e-5}

BACKENDS = {"compiled": _dense, "numpy": reference}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def copy_net(weights, biases):
    return [w.copy() for w in weights], [b.copy() for b in biases]


def new_step(weights, biases, n, eta, l2=0.0, l1=0.0, momentum=0.0):
    step = Step.for_parameters(list(zip(weights, biases)), n, l2=l2, l1=l1, momentum=momentum)
    step.eta = eta
    return step


def tensors(weights, biases, step):
    """(name, array) for every array training changes: weights, biases, velocities."""
    out = []
    for l, (w, b) in enumerate(zip(weights, biases)):
        out += [("layer {} weights".format(l), w), ("layer {} biases".format(l), b)]
    if step.velocities is not None:
        for l, (vw, vb) in enumerate(step.velocities):
            out += [("layer {} weight velocities".format(l), vw),
                    ("layer {} bias velocities".format(l), vb)]
    return out


def assert_trained_alike(a, b, what, rtol=None, atol=None):
    """``a``, ``b``: (weights, biases, step) after training on two paths."""
    ta, tb = tensors(*a), tensors(*b)
    assert [name for name, _ in ta] == [name for name, _ in tb]
    for (name, x), (_, y) in zip(ta, tb):
        assert_close(x, y, "{}: {}".format(what, name), rtol=rtol, atol=atol)


def assert_bitwise(a, b, what):
    ta, tb = tensors(*a), tensors(*b)
    assert [name for name, _ in ta] == [name for name, _ in tb]
    for (name, x), (_, y) in zip(ta, tb):
        assert x.dtype == y.dtype, "{}: {}: dtype {} vs {}".format(what, name, x.dtype, y.dtype)
        np.testing.assert_array_equal(x, y, err_msg="{}: {}".format(what, name))


def train_both(weights, biases, X, Y, order, mini_batch_size, spec, eta, l2=0.0, l1=0.0,
               momentum=0.0, n=None):
    """Train copies of the network with the compiled kernels and with numpy;
    returns the two (weights, biases, step)."""
    results = []
    for module in (_dense, reference):
        w, b = copy_net(weights, biases)
        step = new_step(w, b, n or len(X), eta, l2, l1, momentum)
        module.train(w, b, X, Y, order, mini_batch_size, spec, step)
        results.append((w, b, step))
    return results


def stable_eta(activation):
    """A learning rate at which each activation trains smoothly on [0, 1) inputs."""
    return 0.5 if activation in ("sigmoid", "tanh") else 0.05     # unbounded ones: smaller


def blobs(n=300, n_in=8, n_out=3, seed=0, noise=1.0, dtype=np.float64):
    """Classes as Gaussian blobs around their own centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_out, n_in)) * 3
    y = rng.integers(n_out, size=n)
    X = (centres[y] + noise * rng.standard_normal((n, n_in))).astype(dtype)
    return X, y


def snapshot(net):
    return [w.copy() for w in net.weights] + [b.copy() for b in net.biases]


def assert_unchanged(net, before):
    for a, b in zip(net.weights + net.biases, before):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# 1. Compiled against numpy: every activation, output/cost, optimizer, regularizer
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("l2,l1", REGULARIZERS, ids=["none", "l2", "l1", "l1+l2"])
@pytest.mark.parametrize("momentum", MOMENTA, ids=["plain", "momentum0.9"])
@pytest.mark.parametrize("output,cost", OUTPUTS, ids=lambda v: v)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_one_step_compiled_equals_reference(dtype, activation, output, cost, momentum, l2, l1):
    """Two hidden layers; a mini-batch of 10, then one of 3 (so momentum's
    step uses a velocity it made).  Weights, biases and velocities agree."""
    sizes = [9, 8, 7, 4]
    rng = np.random.default_rng(11)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 13, dtype, rng)
    spec = trainer.Spec(activation, output, cost)
    compiled, numpy_ = train_both(weights, biases, X, Y, rng.permutation(13), 10, spec,
                                  stable_eta(activation), l2, l1, momentum, n=100)
    assert_trained_alike(compiled, numpy_, "{} one step".format(spec), rtol=RTOL_STEP[dtype])
    assert (compiled[2].velocities is not None) == (momentum > 0)


# Each activation, each output/cost, momentum and L1 at least once, at a
# learning rate where the epoch trains smoothly.
MNIST_CASES = [
    # activation, output, cost, momentum, l2, l1, eta
    ("sigmoid", "sigmoid", "quadratic", 0.0, 0.0, 0.0, 3.0),
    ("tanh", "sigmoid", "cross_entropy", 0.9, 5.0, 0.0, 0.01),
    ("relu", "softmax", "log_likelihood", 0.9, 0.0, 5.0, 0.02),
    ("linear", "softmax", "log_likelihood", 0.0, 5.0, 5.0, 0.01),
    ("relu", "sigmoid", "cross_entropy", 0.0, 0.0, 5.0, 0.1),
    ("sigmoid", "softmax", "log_likelihood", 0.9, 5.0, 5.0, 0.1),
]
MNIST_CASES_FLOAT32 = [case for case in MNIST_CASES if case[5] == 0] + [
    ("relu", "softmax", "log_likelihood", 0.9, 5.0, 0.0, 0.02),
    ("linear", "softmax", "log_likelihood", 0.0, 5.0, 0.0, 0.01)]


def case_id(case):
    activation, output, cost, momentum, l2, l1, eta = case
    return "{}-{}-{}-mu{}-l2_{}-l1_{}".format(activation, output, cost, momentum, l2, l1)


@pytest.fixture(scope="module")
def mnist_10k(mnist_path):
    """The first 10,000 training images (float32, as loaded) and their labels."""
    from fastnn.datasets import load_mnist
    (X, y), _, _ = load_mnist(mnist_path)
    return X[:10000], y[:10000]


def mnist_epoch(mnist_10k, dtype, case):
    activation, output, cost, momentum, l2, l1, eta = case
    X, labels = mnist_10k
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(10, dtype=dtype)[labels]
    rng = np.random.default_rng(0)
    weights, biases = make_net([784, 30, 10], dtype, rng)
    return train_both(weights, biases, X, Y, rng.permutation(len(X)), 10,
                      trainer.Spec(activation, output, cost), eta, l2, l1, momentum)


@pytest.mark.slow
@pytest.mark.parametrize("case", MNIST_CASES, ids=case_id)
def test_mnist_epoch_float64(mnist_10k, case):
    compiled, numpy_ = mnist_epoch(mnist_10k, np.float64, case)
    assert_trained_alike(compiled, numpy_, "MNIST epoch " + case_id(case),
                         atol=ATOL_MNIST_EPOCH[np.float64])


@pytest.mark.slow
@pytest.mark.parametrize("case", MNIST_CASES_FLOAT32, ids=case_id)
def test_mnist_epoch_float32(mnist_10k, case):
    compiled, numpy_ = mnist_epoch(mnist_10k, np.float32, case)
    assert_trained_alike(compiled, numpy_, "MNIST epoch " + case_id(case),
                         atol=ATOL_MNIST_EPOCH[np.float32])


# ---------------------------------------------------------------------------
# 2. Momentum 0 and L1 0 are today's plain SGD, bit for bit
# ---------------------------------------------------------------------------

def pre_engine_sgd(weights, biases, X, Y, order, m, eta, lmbda, n, spec):
    """The arithmetic before the engine: network2's update_mini_batch on a
    matrix of rows, ``w = (1-eta*(lmbda/n))*w - (eta/m)*nabla_w``."""
    for k in range(0, len(order), m):
        batch = order[k:k+m]
        nabla_b, nabla_w = reference.backprop(weights, biases, X[batch], Y[batch], spec)
        mb = len(batch)
        for l in range(len(weights)):
            weights[l][...] = (1-eta*(lmbda/n))*weights[l] - (eta/mb)*nabla_w[l]
            biases[l][...] = biases[l] - (eta/mb)*nabla_b[l]


@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_momentum_0_and_l1_0_are_plain_sgd(lmbda):
    """numpy: bit for bit the pre-engine formula; compiled: bit for bit the
    compiled plain step (``Step(eta, n, l2)``, what the drop-ins use), and
    within float64's 1e-12 of the formula (its fused gemm rounds once less)."""
    sizes = [784, 30, 10]
    rng = np.random.default_rng(12)
    weights, biases = make_net(sizes, np.float64, rng)
    X, Y = make_data(sizes, 203, np.float64, rng)
    order = rng.permutation(203)
    spec = trainer.Spec("sigmoid", "sigmoid", "cross_entropy")

    expected_w, expected_b = copy_net(weights, biases)
    pre_engine_sgd(expected_w, expected_b, X, Y, order, 10, 0.5, lmbda, 203, spec)
    no_velocities = Step(0.5, 203, l2=lmbda)
    results = {}
    for name, module in BACKENDS.items():
        w, b = copy_net(weights, biases)
        step = new_step(w, b, 203, 0.5, l2=lmbda, l1=0.0, momentum=0.0)
        assert step.plain and step.velocities is None
        module.train(w, b, X, Y, order, 10, spec, step)
        results[name] = (w, b, step)
    assert_bitwise(results["numpy"], (expected_w, expected_b, no_velocities), "numpy vs formula")
    w, b = copy_net(weights, biases)
    _dense.train(w, b, X, Y, order, 10, spec, Step(0.5, 203, l2=lmbda))
    assert_bitwise(results["compiled"], (w, b, no_velocities), "compiled: for_parameters vs Step")
    assert_trained_alike(results["compiled"], (expected_w, expected_b, no_velocities),
                         "compiled vs formula", rtol=1e-12)


@pytest.mark.parametrize("module", ["network", "network2"])
def test_plain_step_equals_the_dropins(module):
    """Two epochs of the drop-in's SGD (its shuffles drawn from ``random``)
    and of ``_dense.train`` with ``Step.for_parameters(momentum=0.0,
    l1=0.0)`` on the same orders end on the same weights, bit for bit."""
    mod = {"network": network, "network2": network2}[module]
    sizes = [20, 12, 5]
    rng = np.random.default_rng(13)
    X, Y = make_data(sizes, 57, np.float64, rng)
    data = [(x.reshape(-1, 1), t.reshape(-1, 1)) for x, t in zip(X, Y)]
    np.random.seed(3)
    net = mod.Network(sizes, backend="cython")
    weights = [w.copy() for w in net.weights]
    biases = [b.reshape(-1).copy() for b in net.biases]
    if module == "network":
        eta, lmbda, spec = 3.0, 0.0, trainer.Spec("sigmoid", "sigmoid", "quadratic")
        args = ()
    else:
        eta, lmbda, spec = 0.5, 5.0, trainer.Spec("sigmoid", "sigmoid", "cross_entropy")
        args = (lmbda,)
    random.seed(4)
    net.SGD(list(data), 2, 10, eta, *args)

    random.seed(4)
    order = trainer.BookOrder(len(X))
    step = new_step(weights, biases, len(X), eta, l2=lmbda, l1=0.0, momentum=0.0)
    for _ in range(2):
        _dense.train(weights, biases, X, Y, order(), 10, spec, step)
    for l in range(len(weights)):
        np.testing.assert_array_equal(net.weights[l], weights[l], err_msg="layer %d weights" % l)
        np.testing.assert_array_equal(net.biases[l].reshape(-1), biases[l],
                                      err_msg="layer %d biases" % l)


# ---------------------------------------------------------------------------
# 3. Chunks of an epoch, and progress
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", [dict(l2=5.0), dict(l2=5.0, l1=2.0, momentum=0.9)],
                         ids=["plain", "momentum+l1"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend,offset", [("compiled", 0), ("compiled", 16), ("numpy", 0)],
                         ids=["compiled", "compiled-weights0-off-a-cache-line", "numpy"])
def test_epoch_in_chunks_equals_one_call(backend, offset, dtype, optimizer):
    """302 rows in mini-batches of 10 (30 and a last one of 2), in one call
    and in chunks of 1, 3, 7, 0, 12 and the rest (``count=None``).  A
    ``weights[0]`` off a cache line is trained through an aligned copy when
    a call has more than one mini-batch, and in place otherwise: the same
    arithmetic either way."""
    module = BACKENDS[backend]
    sizes = [784, 30, 10]
    rng = np.random.default_rng(14)
    weights, biases = make_net(sizes, dtype, rng)
    weights[0] = at_offset(weights[0], offset)
    X, Y = make_data(sizes, 302, dtype, rng)
    order = rng.permutation(302)
    spec = trainer.Spec("relu", "softmax", "log_likelihood")
    runs = []
    for chunks in ([None], [1, 3, 7, 0, 12, None]):
        w, b = copy_net(weights, biases)
        w[0] = at_offset(w[0], offset)
        step = new_step(w, b, 302, 0.05, **optimizer)
        first = 0
        for count in chunks:
            module.train(w, b, X, Y, order, 10, spec, step, first, count)
            first += count or 0
        runs.append((w, b, step))
    assert_bitwise(runs[0], runs[1], "{} one call vs chunks".format(backend))


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_run_reports_progress(backend, monkeypatch):
    """``trainer.sgd`` (``run`` on a ``DenseEngine``): each epoch's calls
    report the epoch's mini-batches as the total, increase, and end at
    (total, total); training equals one ``train`` call per epoch.  (Chunks
    of a few mini-batches: these epochs are far shorter than a chunk.)"""
    monkeypatch.setattr(trainer, "CHUNK_SECONDS", 1e-6)
    sizes = [784, 30, 10]
    rng = np.random.default_rng(15)
    weights, biases = make_net(sizes, np.float64, rng)
    X, Y = make_data(sizes, 1003, np.float64, rng)
    orders = [rng.permutation(1003) for _ in range(2)]
    spec = trainer.Spec("tanh", "sigmoid", "cross_entropy")
    calls, epochs = [], []
    w, b = copy_net(weights, biases)
    step = new_step(w, b, 1003, 0.1, l2=1.0, momentum=0.5)
    it = iter(orders)
    ran = trainer.sgd(BACKENDS[backend], w, b, X, Y, 2, 10, spec, step, lambda: next(it), 0.1,
                      after_epoch=lambda epoch, eta: epochs.append(len(calls)) or {},
                      on_progress=lambda done, total: calls.append((done, total)))
    assert ran.epochs_run == 2 and len(ran.records) == 2
    total = -(-1003 // 10)
    for epoch_calls in (calls[:epochs[0]], calls[epochs[0]:]):
        assert len(epoch_calls) > 1
        assert {t for _, t in epoch_calls} == {total}
        dones = [d for d, _ in epoch_calls]
        assert dones == sorted(set(dones)) and dones[0] >= 1
        assert epoch_calls[-1] == (total, total)
    expected_w, expected_b = copy_net(weights, biases)
    expected_step = new_step(expected_w, expected_b, 1003, 0.1, l2=1.0, momentum=0.5)
    for order in orders:
        BACKENDS[backend].train(expected_w, expected_b, X, Y, order, 10, spec, expected_step)
    assert_bitwise((w, b, step), (expected_w, expected_b, expected_step), "run vs train")


def test_run_carries_the_chunk_size_over_epochs(monkeypatch):
    """The first epoch starts with one mini-batch and grows its chunks; later
    epochs start at the size reached, so an epoch shorter than a chunk is one
    kernel call, and a chunk never grows more than fourfold a call.  (Chunks
    of 1000 s: no stall of a loaded machine makes one look long.)"""
    monkeypatch.setattr(trainer, "CHUNK_SECONDS", 1e3)
    sizes = [20, 10, 4]
    rng = np.random.default_rng(3)
    weights, biases = make_net(sizes, np.float64, rng)
    X, Y = make_data(sizes, 500, np.float64, rng)
    spec = trainer.Spec("tanh", "sigmoid", "cross_entropy")
    calls = []
    step = new_step(weights, biases, 500, 0.1)
    trainer.sgd(BACKENDS["compiled"], weights, biases, X, Y, 3, 10, spec, step, lambda: None, 0.1,
                on_progress=lambda done, total: calls.append(done))
    assert calls[:3] == [1, 5, 21]          # 1, then 4 and 16 more: growing fourfold
    assert calls[-2:] == [50, 50]           # the second and third epochs: one call each


def test_fit_reports_progress():
    X, y = blobs(n=2000)
    calls = []
    MLP([8, 10, 3], seed=1).fit(X, y, epochs=1, batch_size=10,
                                on_progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 1 and calls[-1] == (200, 200)
    assert all(t == 200 for _, t in calls)
    assert all(a < b for (a, _), (b, _) in zip(calls, calls[1:]))


# ---------------------------------------------------------------------------
# 5. Divergence
# ---------------------------------------------------------------------------

def test_mlp_divergence_names_the_epoch():
    """A linear hidden layer under a softmax: at eta 1e6 the activations and
    weights grow without bound until they overflow.  The message names the
    epoch it happened in: the one after the last recorded."""
    X, y = blobs()
    net = MLP([8, 6, 3], activation="linear", output="softmax", cost="log_likelihood", seed=1)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+") as info:
        net.fit(X, y, epochs=5, learning_rate=1e6)
    assert "epoch {}:".format(len(net.history)) in str(info.value)


def test_mlp_divergence_from_l2_decay_names_the_epoch():
    """eta*l2/n of 1e298 turns the weight decay ``1 - eta*l2/n`` into a
    factor that overflows the weights within two steps."""
    X, y = blobs()
    net = MLP([8, 6, 3], seed=1)
    with pytest.raises(TrainingDiverged, match=r"epoch 0\b"):
        net.fit(X, y, epochs=3, learning_rate=1e300, l2=5.0)


def book_data(X, Y):
    return [(x.reshape(-1, 1), t.reshape(-1, 1)) for x, t in zip(X, Y)]


def test_network2_divergence_names_the_epoch(capsys):
    X, y = blobs()
    np.random.seed(0)
    random.seed(0)
    net = network2.Network([8, 6, 3])
    with pytest.raises(TrainingDiverged, match=r"epoch 0\b"):
        net.SGD(book_data(X, np.eye(3)[y]), 3, 10, 1e300, lmbda=5.0)


def test_network_divergence_names_the_epoch(capsys):
    """The book's sigmoid network with the quadratic cost saturates instead
    of overflowing at any finite eta (tried up to 1.7e308: the sigmoid's
    derivative goes to 0 first), so here the targets are far out of the
    sigmoid's range as well: the output error (a-y)*a(1-a), times eta,
    overflows in the first mini-batch."""
    X, y = blobs()
    np.random.seed(0)
    random.seed(0)
    net = network.Network([8, 6, 3])
    with pytest.raises(TrainingDiverged, match=r"epoch 0\b"):
        net.SGD(book_data(X, 1e200 * np.eye(3)[y]), 3, 10, 1e200)


# ---------------------------------------------------------------------------
# 6. Learning
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist(mnist_path):
    from fastnn.datasets import load_mnist
    return load_mnist(mnist_path)


@pytest.mark.slow
def test_relu_softmax_momentum_reaches_97_5_percent(mnist):
    (X, y), (X_val, y_val), _ = mnist
    net = MLP([784, 100, 10], activation="relu", output="softmax", cost="log_likelihood",
              dtype=np.float32, seed=0)
    history = net.fit(X, y, epochs=30, batch_size=10, learning_rate=0.01, l2=5.0, momentum=0.9,
                      validation_data=(X_val, y_val),
                      on_epoch=lambda record: record["val_accuracy"] < 0.975)
    best = max(h["val_accuracy"] for h in history)
    assert best >= 0.975, "best validation accuracy {:.4f} in {} epochs".format(best, len(history))


@pytest.mark.parametrize("seed", range(5))
def test_chapter5_gradients_vanish_in_early_layers(mnist, seed):
    """Chapter 5: at initialization, the first hidden layer of
    [784, 30, 30, 30, 30, 10] learns far more slowly than the fourth."""
    (X, y), _, _ = mnist
    net = MLP([784, 30, 30, 30, 30, 10], seed=seed)
    norms = net.gradient_norms(X[:1000], y[:1000])
    assert len(norms) == 4 and all(n > 0 for n in norms)
    assert norms[3] >= 20 * norms[0], "gradient norms per hidden layer: {}".format(norms)


def test_fit_monitors_gradient_norms():
    X, y = blobs()
    net = MLP([8, 7, 6, 5, 4, 3], seed=2)
    history = net.fit(X, y, epochs=3, monitor_gradients=True)
    for entry in history:
        norms = entry["gradient_norms"]
        assert len(norms) == 4 and all(isinstance(v, float) and v >= 0 for v in norms)
    assert history[-1]["gradient_norms"] == net.gradient_norms(X[:1000], y[:1000])


# ---------------------------------------------------------------------------
# 7. Learning-rate schedules and early stopping
# ---------------------------------------------------------------------------

def test_halve_on_plateau_schedule():
    """patience 2: an improvement resets the count; every 2 epochs without
    one halve eta; training stops when eta reaches 1/128 of its start.  (A
    tie is an improvement, as for early stopping: see test_bookkeeping.)"""
    schedule = Schedule(HalveOnPlateau(patience=2, eta=1.0))
    accuracies = [0.5, 0.6, 0.55, 0.55, 0.7, 0.65] + [0.69] * 20
    etas, stopped_at = [], None
    for epoch, accuracy in enumerate(accuracies):
        etas.append(schedule.at(epoch))
        if schedule.observe(accuracy):
            stopped_at = epoch
            break
    # epochs 0, 1 improve; 2, 3 below: halve after 3; 4 improves; 5, 6 below:
    # halve after 6; then a halving every second epoch, the seventh (1/128)
    # after epoch 16 ending training
    assert etas == [1.0] * 4 + [0.5] * 3 + [1/4] * 2 + [1/8] * 2 + [1/16] * 2 + [1/32] * 2 + \
        [1/64] * 2
    assert stopped_at == 16 and schedule.eta == 1/128


def test_fit_with_halve_on_plateau_records_halving_eta(monkeypatch):
    """The validation accuracy (scripted) peaks at epoch 2 and then falls, so
    the rate halves every 2 epochs until it stops."""
    from fastnn import mlp
    script = iter([0.5, 0.6, 0.7] + [0.65 - 0.001 * k for k in range(100)])
    monkeypatch.setattr(mlp, "_accuracy_from", lambda outputs, Y: next(script))
    X, y = blobs(n=400, noise=0.5)
    net = MLP([8, 10, 3], seed=3)
    history = net.fit(X[:300], y[:300], epochs=60, learning_rate=HalveOnPlateau(patience=2, eta=0.5),
                      validation_data=(X[300:], y[300:]))
    etas = [h["eta"] for h in history]
    replay = Schedule(HalveOnPlateau(patience=2, eta=0.5))
    for epoch, h in enumerate(history):
        assert h["eta"] == replay.at(epoch)
        stop = replay.observe(h["val_accuracy"])
    assert stop and len(history) < 60
    assert etas[0] == 0.5 and etas[-1] == 0.5 / 64
    assert all(b in (a, a / 2) for a, b in zip(etas, etas[1:]))


def test_early_stopping_restores_the_best_weights():
    X, y = blobs(n=400, noise=2.5, seed=5)
    saved = []
    net = MLP([8, 10, 3], seed=4)
    history = net.fit(X[:300], y[:300], epochs=100, learning_rate=0.5,
                      validation_data=(X[300:], y[300:]), early_stopping=3, restore_best=True,
                      on_epoch=lambda record: saved.append(snapshot(net)))
    accuracies = [h["val_accuracy"] for h in history]
    best = int(np.argmax(accuracies))           # the first epoch reaching the best
    assert len(history) == best + 1 + 3 < 100
    assert_unchanged(net, saved[best])
    assert net.score(X[300:], y[300:]) == accuracies[best]


def test_early_stopping_without_restore_keeps_the_last_weights():
    X, y = blobs(n=400, noise=2.5, seed=5)
    saved = []
    net = MLP([8, 10, 3], seed=4)
    history = net.fit(X[:300], y[:300], epochs=100, learning_rate=0.5,
                      validation_data=(X[300:], y[300:]), early_stopping=3, restore_best=False,
                      on_epoch=lambda record: saved.append(snapshot(net)))
    assert len(history) < 100
    assert_unchanged(net, saved[-1])


def test_callable_learning_rate_is_recorded_per_epoch():
    X, y = blobs()
    history = MLP([8, 5, 3], seed=5).fit(X, y, epochs=4, learning_rate=lambda e: 0.5 / (1 + e))
    assert [h["eta"] for h in history] == [0.5, 0.25, 0.5 / 3, 0.125]


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_callable_learning_rate_bad_at_epoch_0(bad):
    X, y = blobs()
    net = MLP([8, 5, 3], seed=6)
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"learning_rate\(0\)"):
        net.fit(X, y, epochs=3, learning_rate=lambda e: bad)
    assert_unchanged(net, before)


@pytest.mark.parametrize("bad", [float("nan"), -1.0])
def test_callable_learning_rate_bad_at_a_later_epoch(bad):
    X, y = blobs()
    net = MLP([8, 5, 3], seed=7)
    with pytest.raises(ValueError, match=r"learning_rate\(2\)"):
        net.fit(X, y, epochs=5, learning_rate=lambda e: bad if e == 2 else 0.5)
    assert len(net.history) == 2


# ---------------------------------------------------------------------------
# 8. Bad input: a clear error naming the argument, before any training
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,match", [
    (dict(activation="softplus"), ValueError, "activation"),
    (dict(activation="softmax"), ValueError, "activation"),
    (dict(output="tanh"), ValueError, "output"),
    (dict(cost="hinge"), ValueError, "cost"),
    (dict(output="softmax", cost="cross_entropy"), ValueError, "softmax.*log_likelihood"),
    (dict(output="softmax"), ValueError, "softmax.*log_likelihood"),
    (dict(cost="log_likelihood"), ValueError, "log_likelihood.*softmax"),
    (dict(output="sigmoid", cost="log_likelihood"), ValueError, "log_likelihood.*softmax"),
], ids=["activation", "softmax-hidden", "output", "cost", "softmax+cross_entropy",
        "softmax-default-cost", "log_likelihood-default-output", "log_likelihood+sigmoid"])
def test_bad_network_description(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP([8, 5, 3], **kwargs)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(l1=-1.0), ValueError, "l1"),
    (dict(l2=-1.0), ValueError, "l2"),
    (dict(early_stopping=0), ValueError, "early_stopping"),
    (dict(learning_rate=lambda e: float("inf")), ValueError, "learning_rate"),
    (dict(learning_rate=-0.5), ValueError, "learning_rate"),
    (dict(learning_rate=HalveOnPlateau(patience=2)), ValueError, "learning_rate"),
], ids=["momentum-0.1", "momentum1", "l1", "l2", "early_stopping0", "schedule-inf",
        "negative-eta", "plateau-without-eta"])
def test_bad_fit_arguments_train_nothing(kwargs, error, match):
    X, y = blobs()
    net = MLP([8, 5, 3], seed=8)
    before = snapshot(net)
    with pytest.raises(error, match=match):
        net.fit(X[:200], y[:200], epochs=2, validation_data=(X[200:], y[200:]), **kwargs)
    assert_unchanged(net, before)
    assert net.history == []


def test_patience_0_is_refused():
    with pytest.raises(ValueError, match="patience"):
        HalveOnPlateau(patience=0, eta=0.5)


def test_plateau_and_early_stopping_need_validation_data():
    X, y = blobs()
    net = MLP([8, 5, 3], seed=9)
    before = snapshot(net)
    for kwargs in (dict(early_stopping=2), dict(learning_rate=HalveOnPlateau(patience=2, eta=0.5))):
        with pytest.raises(ValueError, match="validation_data"):
            net.fit(X, y, epochs=2, **kwargs)
    assert_unchanged(net, before)


# ---------------------------------------------------------------------------
# 9. Saving
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("activation,output,cost", [
    ("relu", "softmax", "log_likelihood"), ("tanh", "sigmoid", "quadratic"),
    ("linear", "softmax", "log_likelihood")])
def test_save_and_load_other_activations(tmp_path, activation, output, cost):
    X, y = blobs()
    net = MLP([8, 6, 3], activation=activation, output=output, cost=cost, seed=10)
    net.fit(X, y, epochs=1, learning_rate=0.05)
    path = str(tmp_path / "net.json")
    net.save(path)
    loaded = MLP.load(path)
    assert (loaded.activation, loaded.output, loaded.cost) == (net.activation, net.output, net.cost)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_book_format_file_loads_as_sigmoid(tmp_path):
    """A file as the book's network2.save writes it: no activation keys."""
    rng = np.random.default_rng(16)
    weights, biases = make_net([8, 6, 3], np.float64, rng)
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"sizes": [8, 6, 3], "weights": [w.tolist() for w in weights],
                                "biases": [b.reshape(-1, 1).tolist() for b in biases],
                                "cost": "CrossEntropyCost"}))
    net = MLP.load(str(path))
    assert (net.activation, net.output, net.cost) == ("sigmoid", "sigmoid", fastnn.CrossEntropyCost)
    X, _ = blobs()
    assert_close(net.predict_proba(X), reference.feedforward(weights, biases, X),
                 "book file outputs", rtol=1e-12)

"""network3 on the one engine: momentum and L1 on every layer kind, the same
on both backends; schedules, early stopping, progress, divergence and
Ctrl-C, as for the dense networks.

Tolerances as in test_network3.py: float64 1e-12 normwise after a run of
steps (measured: a few 1e-15), float32 1e-5.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import assert_close, fastnn_env

import fastnn
from fastnn import network3, reference3
from fastnn.network3 import ReLU, linear, sigmoid, tanh
from fastnn.optimizers import Step

from test_network3 import M, small_data, small_net

RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def trained_pair(act, dtype, **options):
    """The same network trained 2 epochs of 50 mini-batches on each backend."""
    x, y = small_data(M*50, seed=4, dtype=dtype)
    nets = {}
    for backend in ("numpy", "cython"):
        net = small_net(act, dtype, backend=backend, p_dropout=0.2)
        net.SGD((x, y), 2, M, 0.05, (x[:40], y[:40]), None, verbose=False, **options)
        nets[backend] = net
    return nets["cython"], nets["numpy"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("options", [dict(momentum=0.9), dict(l1=0.5), dict(momentum=0.5, l1=0.3, lmbda=0.4)],
                         ids=["momentum", "l1", "momentum+l1+l2"])
@pytest.mark.parametrize("act", [ReLU, sigmoid, tanh], ids=lambda a: a.__name__)
def test_optimizers_compiled_match_reference(act, options, dtype):
    """Every layer kind (two conv-pool, fully connected with dropout, softmax)."""
    compiled, reference = trained_pair(act, dtype, **options)
    for l, (a, b) in enumerate(zip(compiled.layers, reference.layers)):
        what = "layer {} ({}) with {}".format(l, type(a).__name__, options)
        assert_close(a.w, b.w, what + ": w", rtol=RTOL[dtype])
        assert_close(a.b, b.b, what + ": b", rtol=RTOL[dtype])


def test_plain_step_is_unchanged_by_a_zero_momentum_and_l1():
    """momentum=0 and l1=0 are the book's step, bit for bit."""
    x, y = small_data(M*20, seed=5)
    weights = []
    for options in ({}, dict(momentum=0.0, l1=0.0)):
        net = small_net(ReLU, np.float64, backend="cython", p_dropout=0.2)
        net.SGD((x, y), 2, M, 0.1, (x, y), None, lmbda=0.3, verbose=False, **options)
        weights.append([p.copy() for layer in net.layers for p in (layer.w, layer.b)])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_momentum_is_the_books_rule_on_one_step():
    """Two steps of the reference by hand: v = mu v - eta g, w = w + v."""
    x, y = small_data(M*2, seed=6)
    net = small_net(sigmoid, np.float64, backend="numpy")
    w0 = [layer.w.copy() for layer in net.layers]
    masks = [None] * len(net.layers)
    _, g1 = reference3.backprop(net.layers, x[:M], y[:M], masks)
    step = Step.for_parameters([(layer.w, layer.b) for layer in net.layers], 100, momentum=0.8)
    step.eta = 0.1
    reference3.update_mini_batch(net.layers, x[:M], y[:M], masks, step)
    for layer, w, (dw, _), (vw, _) in zip(net.layers, w0, g1, step.velocities):
        np.testing.assert_allclose(vw, -0.1 * dw.reshape(w.shape), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(layer.w, w + vw, rtol=1e-14, atol=1e-15)


def test_schedule_and_history_eta():
    x, y = small_data(M*10, seed=7)
    net = small_net(ReLU, np.float64, backend="cython")
    hist = net.SGD((x, y), 4, M, 0.1, (x, y), None, verbose=False,
                   learning_rate_schedule=lambda epoch: 0.1 / (epoch + 1))
    assert hist["eta"] == [0.1, 0.05, 0.1 / 3, 0.025]


def falling_accuracy(monkeypatch, net):
    """Validation accuracies 0.5, 0.49, 0.48, ...: never a new best after
    epoch 0 (a flat accuracy would be: a tie is a new best)."""
    epochs = iter(range(1000))
    monkeypatch.setattr(net, "_accuracy", lambda x, y, nb, knet: 0.5 - 0.01 * next(epochs))


def test_halve_on_plateau_starts_from_eta_and_stops(monkeypatch):
    x, y = small_data(M*10, seed=7)
    net = small_net(ReLU, np.float64, backend="cython")
    # the accuracy never improves after epoch 0, so the rate halves every
    # epoch and training stops at 1/128 of the start
    falling_accuracy(monkeypatch, net)
    hist = net.SGD((x, y), 50, M, 0.0 + 1e-300, (x, y), None, verbose=False,
                   learning_rate_schedule=fastnn.HalveOnPlateau(patience=1))
    assert len(hist["eta"]) == 8
    assert hist["eta"][0] == 1e-300 and hist["eta"][-1] == 1e-300 / 64


def test_early_stopping_stops_after_k_epochs_without_a_new_best(monkeypatch):
    x, y = small_data(M*10, seed=7)
    net = small_net(ReLU, np.float64, backend="cython")
    falling_accuracy(monkeypatch, net)
    hist = net.SGD((x, y), 50, M, 0.0, (x, y), None, verbose=False, early_stopping=3)
    assert len(hist["validation_accuracy"]) == 4     # the best is epoch 0; 3 more without a better one


def test_progress_reports_every_mini_batch_of_the_epoch():
    x, y = small_data(M*25, seed=8)
    net = small_net(ReLU, np.float64, backend="cython")
    calls = []
    net.SGD((x, y), 2, M, 0.1, (x, y), None, verbose=False,
            on_progress=lambda done, total: calls.append((done, total)))
    assert all(total == 25 for _, total in calls)
    ends = [i for i, (done, _) in enumerate(calls) if done == 25]
    assert len(ends) == 2
    first_epoch = [done for done, _ in calls[:ends[0] + 1]]
    assert first_epoch == sorted(first_epoch) and len(set(first_epoch)) == len(first_epoch)


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_divergence_raises_naming_the_epoch(backend):
    """Linear neurons and eta 1000: the weights grow without bound."""
    x, y = small_data(M*10, seed=9)
    net = small_net(linear, np.float64, backend=backend)
    with np.errstate(all="ignore"), \
            pytest.raises(fastnn.TrainingDiverged, match=r"epoch 0: layer \d \(\w+\) [wb] became"):
        net.SGD((x, y), 3, M, 1e3, (x, y), None, verbose=False)


def test_bad_options_are_refused_before_training():
    x, y = small_data(M*5, seed=10)
    net = small_net(ReLU, np.float64, backend="cython")
    before = [layer.w.copy() for layer in net.layers]
    for options, message in ((dict(momentum=1.0), "momentum must be in"),
                             (dict(momentum=-0.1), "momentum must be in"),
                             (dict(l1=-1.0), "l1 must be >= 0"),
                             (dict(early_stopping=0), "early_stopping must be at least 1"),
                             (dict(learning_rate_schedule=lambda e: float("nan")),
                              "learning_rate_schedule"),
                             (dict(learning_rate_schedule=lambda e: -1.0),
                              "learning_rate_schedule")):
        with pytest.raises(ValueError, match=message):
            net.SGD((x, y), 1, M, 0.1, (x, y), None, verbose=False, **options)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        net.SGD((x, y), 1, M, -0.1, (x, y), None, verbose=False)
    for layer, w in zip(net.layers, before):
        np.testing.assert_array_equal(layer.w, w)


def test_interrupt_in_process_leaves_a_usable_network():
    x, y = small_data(M*400, seed=11)
    net = small_net(ReLU, np.float64, backend="cython")

    def interrupt(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        net.SGD((x, y), 5, M, 0.05, (x, y), None, verbose=False, on_progress=interrupt)
    for layer in net.layers:
        assert np.all(np.isfinite(layer.w)) and np.all(np.isfinite(layer.b))
    hist = net.SGD((x, y), 1, M, 0.05, (x, y), None, verbose=False)     # trains on
    assert len(hist["validation_accuracy"]) == 1


CHILD = r"""
import sys, time
import numpy as np
from fastnn import network3
from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, ReLU
network3.set_num_threads(1)
m = 10
net = network3.Network([
    ConvPoolLayer(image_shape=(m, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                  activation_fn=ReLU),
    FullyConnectedLayer(n_in=20*12*12, n_out=100, activation_fn=ReLU),
    SoftmaxLayer(n_in=100, n_out=10)], m)
rng = np.random.default_rng(0)
x = rng.random((100000, 784), dtype=np.float32)
y = rng.integers(0, 10, 100000)
print("started", flush=True)
try:
    net.SGD((x, y), 1, m, 0.01, (x[:100], y[:100]), None, verbose=False)
except KeyboardInterrupt:
    ok = all(np.isfinite(l.w).all() for l in net.layers)
    print("interrupted", ok, flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


def test_ctrl_c_stops_a_long_epoch_within_two_seconds():
    """An epoch of 100,000 images (tens of seconds here): SIGINT two seconds
    in stops it, within two seconds, with finite weights."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=fastnn_env(), cwd=os.sep)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(2.0)
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        elapsed = time.perf_counter() - sent
    finally:
        child.kill()
    assert child.returncode == 3, (out, err)
    assert "interrupted True" in out
    assert elapsed < 2.0, "took {:.2f} s to stop".format(elapsed)


# ---------------------------------------------------------------------------
# Saturation without NaN, and learning rates too large for the dtype
# (the reliability issue's finding 5; dense networks too)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("eta", [1e3, 1e10, 1e100, 1e300])
def test_saturated_training_warns_on_mlp_and_network(eta):
    rng = np.random.default_rng(0)
    X, labels = rng.random((300, 20)), rng.integers(0, 3, 300)
    net = fastnn.MLP([20, 10, 3], cost="quadratic", seed=0)
    with pytest.warns(RuntimeWarning, match="every output neuron is saturated"):
        net.fit(X, labels, epochs=2, learning_rate=eta, validation_data=(X, labels))
    from fastnn import network
    data = [(x.reshape(-1, 1), np.eye(3)[k].reshape(-1, 1)) for x, k in zip(X, labels)]
    test = [(x.reshape(-1, 1), int(k)) for x, k in zip(X, labels)]
    np.random.seed(0)
    book_net = network.Network([20, 10, 3])
    with pytest.warns(RuntimeWarning, match="every output neuron is saturated"):
        book_net.SGD(data, 2, 10, eta, test_data=test)


def test_a_well_trained_network_does_not_warn(recwarn):
    rng = np.random.default_rng(1)
    centers = rng.random((3, 20)) * 4
    labels = rng.integers(0, 3, 300)
    X = centers[labels] + rng.standard_normal((300, 20)) * 0.3
    net = fastnn.MLP([20, 10, 3], seed=0)
    net.fit(X, labels, epochs=5, learning_rate=0.5, validation_data=(X, labels))
    assert net.history[-1]["val_accuracy"] > 0.9
    assert not [w for w in recwarn if "saturated" in str(w.message)]


def test_eta_too_large_for_float32_is_refused():
    rng = np.random.default_rng(0)
    X, labels = rng.random((30, 20)).astype(np.float32), rng.integers(0, 3, 30)
    net = fastnn.MLP([20, 10, 3], dtype=np.float32, seed=0)
    before = net.weights[0].copy()
    with pytest.raises(ValueError, match="learning_rate = 1e\\+100 does not fit in float32"):
        net.fit(X, labels, epochs=1, learning_rate=1e100)
    np.testing.assert_array_equal(net.weights[0], before)
    x, y = small_data(M*5, seed=10, dtype=np.float32)
    net3 = small_net(ReLU, np.float32, backend="cython")
    with pytest.raises(ValueError, match="does not fit in float32"):
        net3.SGD((x, y), 1, M, 1e50, (x, y), None, verbose=False)


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_network3_divergence_without_nan_warns_once(backend):
    """ReLU/softmax at eta 1e3 in float64: the cost grows to millions while the
    weights stay finite and the accuracy sits at chance.  One RuntimeWarning
    names the cost against that of guessing (ln 10); a sound run is silent."""
    import warnings
    from fastnn import network3
    rng = np.random.default_rng(0)
    x, y = rng.random((200, 784)), rng.integers(0, 10, 200)

    def net():
        return network3.Network([network3.FullyConnectedLayer(784, 30, activation_fn=network3.ReLU),
                                 network3.SoftmaxLayer(30, 10)], 10, dtype="float64",
                                backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net().SGD((x, y), 3, 10, 1e3, (x[:50], y[:50]), None, verbose=False)
    diverged = [w for w in caught if "training has diverged" in str(w.message)]
    assert len(diverged) == 1 and diverged[0].filename == __file__, [str(w.message) for w in caught]
    assert "times that of guessing every class equally (2.3)" in str(diverged[0].message)
    assert max(history["training_cost"]) > 230
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net().SGD((x, y), 2, 10, 0.01, (x[:50], y[:50]), None, verbose=False)
    assert not [w for w in caught if "diverged" in str(w.message)]

"""Threads for fully connected training, and the one thread setting.

The compiled kernels split a large first layer's neurons across threads
(``_dense.threads_for`` says when); two threads must leave the weights one
thread leaves, bit for bit where our kernels make the products and within a
bound where BLAS does.  ``MLP(num_threads=...)``, ``fastnn.set_num_threads``,
``FASTNN_NUM_THREADS`` and ``network3.set_num_threads`` are one setting.
"""
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import MLP, _config, network, network3, trainer
from fastnn._core import _dense, _gemm, _simd
from fastnn.optimizers import Step
from helpers import assert_close, fastnn_env

DTYPES = [np.float32, np.float64]
needs_openmp = pytest.mark.skipif(not _dense.OPENMP, reason="built without OpenMP")


@pytest.fixture(autouse=True)
def no_thread_setting(monkeypatch):
    """Each test starts with nothing set, in the process or the environment."""
    monkeypatch.delenv("FASTNN_NUM_THREADS", raising=False)
    saved = _config.thread_setting()
    _config.set_num_threads(None)
    yield
    _config.set_num_threads(saved)


def assert_same_bits(actual, expected, what):
    """Lists of weights then biases, equal bit for bit; a failure names the
    layer, the tensor, the first differing index and the largest difference."""
    L = len(actual) // 2
    for i, (a, e) in enumerate(zip(actual, expected)):
        name = "{} of layer {}".format("weights" if i < L else "biases", i % L + 1)
        diff = np.argwhere(a != e)
        assert diff.size == 0, "{}: {} differ at {} ({!r} vs {!r}), {} entries, largest {:.3g}".format(
            what, name, diff[0].tolist(), a[tuple(diff[0])], e[tuple(diff[0])], len(diff),
            float(np.max(np.abs(a.astype(np.float64) - e))))


def assert_blas_close(actual, expected, what):
    """Lists of weights then biases, each within 1e-12 of the weights' scale
    in float64 and 1e-6 in float32 of the expected (after the 15 steps of
    ``train_copies``; the differences seen are a few units in the last
    place): the bound for products made by BLAS, whose sums over a part of a
    product need not run in the whole's order.  A failure names the layer,
    the tensor, the worst index and its difference."""
    L = len(actual) // 2
    for i, (a, e) in enumerate(zip(actual, expected)):
        bound = (1e-12 if e.dtype == np.float64 else 1e-6) * max(1.0, float(np.max(np.abs(e))))
        assert_close(a, e, "{}: {} of layer {}".format(what, "weights" if i < L else "biases",
                                                        i % L + 1), atol=bound)


def train_copies(sizes, dtype, mini_batch_size, threads, rows=150, momentum=0.0, seed=3):
    """Train the same network on the same rows once per entry of ``threads``;
    returns each run's weights + biases."""
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype)
               for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y).astype(dtype) for y in sizes[1:]]
    X = rng.random((rows, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], rows)]
    order = rng.permutation(rows)
    spec = trainer.Spec("sigmoid", "sigmoid", "cross_entropy")
    runs = []
    for n in threads:
        w = [a.copy() for a in weights]
        b = [a.copy() for a in biases]
        step = Step.for_parameters(list(zip(w, b)), rows, l2=5.0, momentum=momentum)
        step.eta = 0.5
        with trainer.one_blas_thread():
            _dense.train(w, b, X, Y, order, mini_batch_size, spec, step, num_threads=n)
        runs.append(w + b)
    return runs


# -- when the kernels use threads ---------------------------------------------------

@needs_openmp
def test_threads_where_they_pay():
    """Wide layers, or mini-batches of 32 and more; narrow and small cases
    stay on one thread even when two are asked for."""
    assert _dense.threads_for([784, 1000, 10], 128, 2) == 2
    assert _dense.threads_for([784, 1000, 10], 10, 2) == 2       # wide: 1,000 neurons
    assert _dense.threads_for([784, 100, 10], 32, 2) == 2        # a mini-batch of 32
    assert _dense.threads_for([784, 100, 10], 10, 2) == 1        # narrow and small
    assert _dense.threads_for([784, 30, 10], 10, 2) == 1
    assert _dense.threads_for([20, 30, 10], 128, 2) == 1         # 600 weights: too little work
    assert _dense.threads_for([784, 1000], 128, 2) == 1          # the output layer alone
    assert _dense.threads_for([784, 1000, 10], 128, 1) == 1
    assert _dense.threads_for([784, 1000, 10], 128, 3) == 3


def test_threads_for_checks_its_arguments():
    with pytest.raises(ValueError, match="num_threads must be >= 1"):
        _dense.threads_for([784, 100, 10], 10, 0)
    with pytest.raises(ValueError, match="mini_batch_size must be >= 1"):
        _dense.threads_for([784, 100, 10], 0, 2)
    with pytest.raises(ValueError, match="at least two layers"):
        _dense.threads_for([784], 10, 2)


# -- two threads, the weights of one -------------------------------------------------

@needs_openmp
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("sizes,mini_batch_size,route", [
    ([40, 520, 10], 10, "ours"),          # wide; our small-matrix kernels make the products
    ([40, 520, 7, 10], 10, "ours"),       # and with a second hidden layer
    ([40, 600, 10], 40, "blas"),          # a mini-batch over 32: BLAS makes the first layer's
    ([20, 900, 10], 64, "blas"),          # fewer than 32 inputs: BLAS
], ids=["wide-ours", "deep-ours", "batch40-blas", "narrow-inputs-blas"])
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
def test_two_threads_give_one_threads_weights(dtype, sizes, mini_batch_size, route, momentum):
    """Bit for bit where our kernels make the products (each element is
    computed the same way whatever part of the neurons holds it).  Through
    BLAS, within ``assert_blas_close``'s bounds: OpenBLAS picks its kernels by
    size, so it may sum some elements of a part of a product otherwise than
    in the whole (in float32 on every machine measured; in float64 too with
    its AVX-512 "SkylakeX" kernels, seen on a Zen 4), and two threads then
    differ from one in the last bit of a few weights a step."""
    assert _dense.threads_for(sizes, mini_batch_size, 2) == 2, "the test must run two threads"
    if route == "ours" and _gemm.simd() != "blas":
        assert _gemm.route(False, True, mini_batch_size, sizes[1], sizes[0], dtype) == "nt"
    if route == "blas":
        assert _gemm.route(False, True, mini_batch_size, sizes[1], sizes[0], dtype) == "blas"
    one, two = train_copies(sizes, dtype, mini_batch_size, (1, 2), momentum=momentum)
    what = "2 threads vs 1, {} {} mini-batch {}".format(sizes, np.dtype(dtype).name,
                                                        mini_batch_size)
    if route == "ours" and _gemm.simd() != "blas":
        assert_same_bits(two, one, what)
    else:
        assert_blas_close(two, one, what)


@needs_openmp
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_two_threads_with_every_product_through_blas(dtype):
    """FASTNN_SIMD=blas (every product to BLAS), set for the whole process:
    as BLAS's route in the test above."""
    previous = _simd.set_simd("blas")
    try:
        one, two = train_copies([40, 520, 10], dtype, 10, (1, 2))
    finally:
        _simd.set_simd(previous)
    assert_blas_close(two, one, "2 threads vs 1, every product through BLAS")


# -- the one thread setting -----------------------------------------------------------

@pytest.fixture
def asked(monkeypatch):
    """The thread counts the dense kernels are asked for, call by call."""
    calls = []
    real_train = _dense.train

    def spy(*args, **kwargs):
        calls.append(kwargs.get("num_threads"))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(_dense, "train", spy)
    return calls


def test_one_thread_by_default_for_mlp_and_the_drop_ins(asked):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    MLP([6, 5, 3], seed=0).fit(X, y, epochs=1, batch_size=10)
    assert asked and set(asked) == {1}
    asked.clear()
    data = [(x.reshape(-1, 1), np.eye(3)[k].reshape(-1, 1)) for x, k in zip(X, y)]
    network.Network([6, 5, 3]).SGD(data, 1, 10, 0.5)
    assert asked and set(asked) == {1}


def test_mlp_num_threads_reaches_the_kernels(asked, monkeypatch):
    """MLP(num_threads=2), fastnn.set_num_threads(2), FASTNN_NUM_THREADS=2 and
    network3.set_num_threads(2) all ask the kernels for two threads; the
    network's own setting wins over the process's."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)

    def threads_asked(**kwargs):
        asked.clear()
        MLP([6, 5, 3], seed=0, **kwargs).fit(X, y, epochs=1, batch_size=10)
        assert asked
        return set(asked)

    assert threads_asked(num_threads=2) == {2}
    fastnn.set_num_threads(2)
    assert threads_asked() == {2}
    assert threads_asked(num_threads=1) == {1}
    fastnn.set_num_threads(None)
    network3.set_num_threads(2)
    assert threads_asked() == {2} and fastnn.get_num_threads() == 2
    network3.set_num_threads(None)
    monkeypatch.setenv("FASTNN_NUM_THREADS", "2")
    assert threads_asked() == {2}
    assert network3.get_num_threads() == 2


@needs_openmp
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_mlp_two_threads_trains_as_one(dtype):
    """Through the whole front end: the same weights, the same history."""
    rng = np.random.default_rng(1)
    X, y = rng.random((300, 48)).astype(dtype), rng.integers(0, 10, 300)
    nets = [MLP([48, 600, 10], dtype=dtype, seed=4, num_threads=n) for n in (1, 2)]
    for net in nets:
        net.fit(X, y, epochs=2, batch_size=32, learning_rate=0.5, validation_data=(X, y))
    assert _dense.threads_for(nets[1].sizes, 32, 2) == 2
    two, one = nets[1].weights + nets[1].biases, nets[0].weights + nets[0].biases
    if dtype == np.float32 and _gemm.route(False, True, 32, 600, 48, dtype) == "blas":
        # BLAS makes the first layer (FASTNN_SIMD=blas, or 32 rows past the AVX2 nt
        # kernel's 24): float32 OpenBLAS differs in the last bit (see above), and the
        # differences grow over two epochs of steps at learning rate 0.5
        for i, (a, e) in enumerate(zip(two, one)):
            assert np.allclose(a, e, rtol=1e-3, atol=1e-4), "parameter {}: {:.3g}".format(
                i, float(np.max(np.abs(a - e))))
        return
    assert_same_bits(two, one, "MLP, 2 threads vs 1")
    assert [h["val_accuracy"] for h in nets[1].history] == [h["val_accuracy"] for h in nets[0].history]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None.__class__])
def test_bad_thread_counts_name_the_argument(bad):
    with pytest.raises(ValueError, match="num_threads must be a whole number >= 1"):
        MLP([4, 3, 2], num_threads=bad)
    with pytest.raises(ValueError, match="num_threads must be a whole number >= 1"):
        fastnn.set_num_threads(bad)
    with pytest.raises(ValueError, match="num_threads must be a whole number >= 1"):
        network3.set_num_threads(bad)


@pytest.mark.parametrize("text", ["0", "two", "-3", "1.5"])
def test_bad_environment_variable_is_named(monkeypatch, text):
    monkeypatch.setenv("FASTNN_NUM_THREADS", text)
    with pytest.raises(ValueError, match="FASTNN_NUM_THREADS"):
        fastnn.get_num_threads()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="FASTNN_NUM_THREADS"):
        MLP([4, 3, 2], seed=0).fit(rng.random((10, 4)), np.arange(10) % 2, epochs=1)


def test_environment_variable_sets_the_default_in_a_fresh_process():
    code = ("import fastnn; from fastnn import network3, MLP;"
            "print(fastnn.get_num_threads(), network3.get_num_threads(), MLP([4, 2])._threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=fastnn_env(FASTNN_NUM_THREADS="3"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "3", "3"]

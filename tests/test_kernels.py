"""The compiled kernels (fastnn._core._dense) against the numpy reference.

Tensor by tensor, as llm.c checks its C against its PyTorch: the output of
``feedforward``, every layer's gradient from ``backprop``, the weights and
biases after one ``update_mini_batch``, after an ``sgd_epoch`` with a short
last mini-batch, and after a full epoch on MNIST.  A failure names the layer
(``layer l`` is ``weights[l]`` / ``biases[l]``), the tensor and the worst index.

Tolerances are normwise (``max|diff| <= rtol * max|reference|``).  float64 is
held to 1e-12 throughout.  float32 tolerances were measured (30 seeds, both
sizes, both costs, lmbda 0 and 5) and set about 10-20x above the worst seen:

* one forward pass, one gradient, one step: worst 5e-7, i.e. a few ulps
  (2**-23 = 1.2e-7) of the largest entry; the kernels sum in a different
  order than numpy's BLAS and exp differs by an ulp.  Allowed: 1e-5.
* an epoch of 43 steps on random data: each step's rounding differences are
  carried into the next step and amplified by the training dynamics; worst
  7e-5.  Allowed: 1e-3.
* a full MNIST epoch (5000 steps): worst absolute difference 3e-5 on weights
  of magnitude up to ~4 (float64 reaches ~3e-14).  Allowed: 3e-4 absolute.
"""
import numpy as np
import pytest

from fastnn import costs, reference, trainer
from fastnn.optimizers import Step
from fastnn._core import _dense, _gemm
from helpers import assert_close, at_offset

DTYPES = [np.float64, np.float32]
COSTS = [costs.QuadraticCost, costs.CrossEntropyCost]
SIZES = [[7, 5, 4, 3], [784, 30, 10], [6, 4]]

RTOL_STEP = {np.float64: 1e-12, np.float32: 1e-5}
RTOL_EPOCH = {np.float64: 1e-12, np.float32: 1e-3}
ATOL_MNIST = {np.float64: 1e-8, np.float32: 3e-4}


@pytest.fixture
def split_always():
    """Threads split every network's first layer, however small (train
    otherwise splits only where that pays): these tests check the split."""
    previous = _dense._set_split_always(True)
    yield
    _dense._set_split_always(previous)


def spec_of(cost):
    """The sigmoid network of chapters 1-3 with ``cost``, as the kernels take it."""
    return trainer.Spec("sigmoid", "sigmoid", cost)


def sgd_epoch(module, weights, biases, X, Y, order, mini_batch_size, eta, lmbda, n, cost, **kw):
    """An epoch of plain SGD with L2 (network2's step) through ``module.train``."""
    module.train(weights, biases, X, Y, order, mini_batch_size, spec_of(cost),
                 Step(eta, n, l2=lmbda), **kw)


def update_mini_batch(module, weights, biases, X, Y, eta, lmbda, n, cost, **kw):
    """One step on the whole of ``X``, in row order."""
    module.train(weights, biases, X, Y, None, len(X), spec_of(cost), Step(eta, n, l2=lmbda), **kw)


def make_net(sizes, dtype, rng):
    """Weights N(0, 1/fan-in) as network2 draws them, and biases N(0, 1) held
    as the book holds them, (n, 1) columns; returns the 1-D views the kernels
    take, whose updates land in the columns."""
    weights = [(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    columns = [rng.standard_normal((n, 1)).astype(dtype) for n in sizes[1:]]
    return weights, [c[:, 0] for c in columns]


def make_data(sizes, n, dtype, rng):
    X = rng.random((n, sizes[0])).astype(dtype)
    Y = rng.random((n, sizes[-1])).astype(dtype)
    return X, Y


def copy_net(weights, biases):
    return [w.copy() for w in weights], [b.copy() for b in biases]


def assert_net_close(weights, biases, ref_weights, ref_biases, what, rtol=None, atol=None):
    for l, (w, b, rw, rb) in enumerate(zip(weights, biases, ref_weights, ref_biases)):
        assert_close(w, rw, "{}: layer {} weights".format(what, l), rtol=rtol, atol=atol)
        assert_close(b, rb, "{}: layer {} biases".format(what, l), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# One pass, one gradient, one step
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_feedforward(dtype, sizes):
    rng = np.random.default_rng(1)
    weights, biases = make_net(sizes, dtype, rng)
    X, _ = make_data(sizes, 300, dtype, rng)        # several 32-row chunks and a shorter one
    out = _dense.feedforward(weights, biases, X)
    assert_close(out, reference.feedforward(weights, biases, X), "feedforward output",
                 rtol=RTOL_STEP[dtype])
    empty = _dense.feedforward(weights, biases, X[:0])
    assert empty.shape == (0, sizes[-1]) and empty.dtype == dtype


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("cost", COSTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_backprop(dtype, cost, sizes):
    rng = np.random.default_rng(2)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 37, dtype, rng)
    nabla_b, nabla_w = _dense.backprop(weights, biases, X, Y, spec_of(cost))
    ref_b, ref_w = reference.backprop(weights, biases, X, Y, spec_of(cost))
    assert len(nabla_b) == len(nabla_w) == len(weights)
    for l in range(len(weights)):
        assert_close(nabla_b[l], ref_b[l], "layer {} nabla_b".format(l), rtol=RTOL_STEP[dtype])
        assert_close(nabla_w[l], ref_w[l], "layer {} nabla_w".format(l), rtol=RTOL_STEP[dtype])


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
@pytest.mark.parametrize("cost", COSTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_update_mini_batch(dtype, cost, lmbda, sizes):
    rng = np.random.default_rng(3)
    weights, biases = make_net(sizes, dtype, rng)
    ref_weights, ref_biases = copy_net(weights, biases)
    X, Y = make_data(sizes, 10, dtype, rng)
    update_mini_batch(_dense, weights, biases, X, Y, 3.0, lmbda, 1000, cost)
    update_mini_batch(reference, ref_weights, ref_biases, X, Y, 3.0, lmbda, 1000, cost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "update_mini_batch",
                     rtol=RTOL_STEP[dtype])


def test_cost_instance_and_single_row():
    """The book's scripts pass cost instances; a 1-row batch is a batch."""
    rng = np.random.default_rng(4)
    weights, biases = make_net([5, 4, 2], np.float64, rng)
    ref_weights, ref_biases = copy_net(weights, biases)
    X, Y = make_data([5, 4, 2], 1, np.float64, rng)
    update_mini_batch(_dense, weights, biases, X, Y, 0.5, 1.0, 10, costs.CrossEntropyCost())
    update_mini_batch(reference, ref_weights, ref_biases, X, Y, 0.5, 1.0, 10,
                      costs.CrossEntropyCost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "one row", rtol=1e-12)


# ---------------------------------------------------------------------------
# An epoch
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[7, 5, 4, 3], [784, 30, 10]], ids=str)
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
@pytest.mark.parametrize("cost", COSTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_sgd_epoch(dtype, cost, lmbda, sizes):
    """300 rows in mini-batches of 7: 42 full ones and a last one of 6."""
    rng = np.random.default_rng(5)
    weights, biases = make_net(sizes, dtype, rng)
    ref_weights, ref_biases = copy_net(weights, biases)
    X, Y = make_data(sizes, 300, dtype, rng)
    order = rng.permutation(300)
    sgd_epoch(_dense, weights, biases, X, Y, order, 7, 0.5, lmbda, 300, cost)
    sgd_epoch(reference, ref_weights, ref_biases, X, Y, order, 7, 0.5, lmbda, 300, cost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "sgd_epoch",
                     rtol=RTOL_EPOCH[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_sgd_epoch_partial_order_and_threads(dtype, split_always):
    """``order`` may repeat or skip rows, and be an int32 list; with two
    threads (the first layer split by neurons) the result is the same: bit
    for bit with our small-matrix kernels (each element is computed the same
    way wherever the split falls), up to rounding through BLAS
    (FASTNN_SIMD=blas), which blocks the halves differently."""
    sizes = [784, 30, 10]
    rng = np.random.default_rng(6)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 200, dtype, rng)
    order = rng.integers(0, 200, size=123).astype(np.int32)
    results = []
    for num_threads in (1, 2):
        w, b = copy_net(weights, biases)
        sgd_epoch(_dense, w, b, X, Y, list(order), 10, 0.5, 5.0, 200,
                         costs.CrossEntropyCost, num_threads=num_threads)
        results.append((w, b))
    ref_weights, ref_biases = copy_net(weights, biases)
    sgd_epoch(reference, ref_weights, ref_biases, X, Y, order, 10, 0.5, 5.0, 200,
                        costs.CrossEntropyCost)
    for num_threads, (w, b) in zip((1, 2), results):
        assert_net_close(w, b, ref_weights, ref_biases, "{} thread(s)".format(num_threads),
                         rtol=RTOL_EPOCH[dtype])
    if _gemm.simd() != "blas":
        assert_parameters_equal(results[1][0] + results[1][1], results[0][0] + results[0][1],
                                "2 threads vs 1")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("optimizer", ["plain", "momentum", "l1"])
@pytest.mark.parametrize("sizes", [[784, 130, 10], [50, 7, 5, 3]], ids=str)
def test_fused_first_layer_is_bitwise_unfused(dtype, optimizer, sizes, split_always):
    """Fusing the first layer's step with the next mini-batch's forward pass
    (60 neurons at a time, so 130 makes a short last block) changes where
    the work is done, not the arithmetic: bit for bit the unfused epoch, with
    one thread and two, for every optimizer (the last mini-batch short)."""
    if _gemm.simd() == "blas":
        pytest.skip("FASTNN_SIMD=blas: no fusing")
    rng = np.random.default_rng(8)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 97, dtype, rng)
    order = rng.permutation(97)
    options = {"plain": dict(l2=5.0), "momentum": dict(l2=5.0, momentum=0.9),
               "l1": dict(l1=2.0)}[optimizer]
    runs = []
    for fuse, num_threads in [(False, 1), (True, 1), (True, 2)]:
        w, b = copy_net(weights, biases)
        step = Step.for_parameters(list(zip(w, b)), 97, **options)
        step.eta = 0.5
        previous = _dense._set_fuse(fuse)
        try:
            _dense.train(w, b, X, Y, order, 10, spec_of(costs.CrossEntropyCost), step,
                         num_threads=num_threads)
        finally:
            _dense._set_fuse(previous)
        runs.append(w + b)
    for what, run in zip(["fused", "fused, 2 threads"], runs[1:]):
        assert_parameters_equal(run, runs[0], what + " vs unfused")


@pytest.mark.parametrize("rows", [300, 7], ids=["many_batches", "one_batch"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_sgd_epoch_weights_alignment(dtype, rows):
    """sgd_epoch trains an aligned copy of a weights[0] that is off a cache
    line (numpy aligns to 16 bytes) and copies it back: the caller's arrays
    are updated in place, the results match the reference and do not depend
    on where weights[0] starts."""
    sizes = [784, 30, 10]
    rng = np.random.default_rng(8)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 300, dtype, rng)
    order = rng.permutation(300)[:rows]
    ref_weights, ref_biases = copy_net(weights, biases)
    sgd_epoch(reference, ref_weights, ref_biases, X, Y, order, 7, 0.5, 5.0, 300,
                        costs.CrossEntropyCost)
    results = []
    for offset in (0, 16, 8 if dtype == np.float64 else 4):
        w, b = copy_net(weights, biases)
        w[0] = at_offset(w[0], offset)
        address = w[0].ctypes.data
        sgd_epoch(_dense, w, b, X, Y, order, 7, 0.5, 5.0, 300, costs.CrossEntropyCost)
        assert w[0].ctypes.data == address
        assert_net_close(w, b, ref_weights, ref_biases, "weights[0] at offset {}".format(offset),
                         rtol=RTOL_EPOCH[dtype])
        results.append((offset, w, b))
    for offset, w, b in results[1:]:
        assert_net_close(w, b, results[0][1], results[0][2],
                         "weights[0] at offset {} vs 0".format(offset), rtol=RTOL_STEP[dtype])


@pytest.mark.slow
@pytest.mark.parametrize("cost,eta,lmbda", [(costs.QuadraticCost, 3.0, 0.0),
                                            (costs.CrossEntropyCost, 0.5, 5.0)],
                         ids=["quadratic", "cross_entropy"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_mnist_epoch(mnist_path, dtype, cost, eta, lmbda):
    """A whole epoch on the 50,000 training images, [784, 30, 10], mini-batches
    of 10: 5000 steps, each one's rounding differences carried into the next."""
    from fastnn.datasets import load_mnist
    (train_x, train_y), _, _ = load_mnist(mnist_path)
    X = train_x.astype(dtype)
    Y = np.zeros((len(train_y), 10), dtype=dtype)
    Y[np.arange(len(train_y)), train_y] = 1
    weights, biases = make_net([784, 30, 10], dtype, np.random.default_rng(0))
    ref_weights, ref_biases = copy_net(weights, biases)
    order = np.random.default_rng(1).permutation(len(X))
    sgd_epoch(_dense, weights, biases, X, Y, order, 10, eta, lmbda, len(X), cost)
    sgd_epoch(reference, ref_weights, ref_biases, X, Y, order, 10, eta, lmbda, len(X), cost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "MNIST epoch",
                     atol=ATOL_MNIST[dtype])


# ---------------------------------------------------------------------------
# float32 inputs to a float64 network
# ---------------------------------------------------------------------------
# MNIST's pixels are float32 (exactly pixel/256).  A float64 network takes
# them as they are: the compiled kernels convert each row as they gather it,
# numpy promotes ``float32 @ float64`` to float64; float32 -> float64 is
# exact, so every result must be bit for bit that of ``X.astype(float64)``.

KERNELS = [_dense, reference]
KERNEL_IDS = ["compiled", "numpy"]


def float32_inputs(sizes, n, rng):
    """(X32, X64, Y): float32 inputs, the same values in float64, float64 targets."""
    X, Y = make_data(sizes, n, np.float64, rng)
    X32 = X.astype(np.float32)
    return X32, X32.astype(np.float64), Y


def assert_parameters_equal(actual, expected, what):
    """Two lists of parameter arrays equal bit for bit; a failure names the
    parameter, its first differing index, both values there and the count."""
    for l, (a, e) in enumerate(zip(actual, expected)):
        diff = np.argwhere(a != e)
        assert diff.size == 0, "{}: parameter {} differs at {} ({} vs {}), {} entries".format(
            what, l, diff[0].tolist(), a[tuple(diff[0])], e[tuple(diff[0])], len(diff))


def assert_bitwise(actual, expected, what):
    assert actual.dtype == expected.dtype == np.float64, "{}: dtype {} vs {}".format(
        what, actual.dtype, expected.dtype)
    np.testing.assert_array_equal(actual, expected, err_msg=what)


def assert_nets_bitwise(weights, biases, ref_weights, ref_biases, what):
    for l, (w, b, rw, rb) in enumerate(zip(weights, biases, ref_weights, ref_biases)):
        assert_bitwise(w, rw, "{}: layer {} weights".format(what, l))
        assert_bitwise(b, rb, "{}: layer {} biases".format(what, l))


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("module", KERNELS, ids=KERNEL_IDS)
def test_float32_inputs_feedforward_and_backprop(module, sizes):
    rng = np.random.default_rng(20)
    weights, biases = make_net(sizes, np.float64, rng)
    X32, X64, Y = float32_inputs(sizes, 300, rng)   # several 32-row chunks and a shorter one
    assert_bitwise(module.feedforward(weights, biases, X32),
                   module.feedforward(weights, biases, X64), "feedforward output")
    for cost in COSTS:
        nb32, nw32 = module.backprop(weights, biases, X32[:37], Y[:37], spec_of(cost))
        nb64, nw64 = module.backprop(weights, biases, X64[:37], Y[:37], spec_of(cost))
        for l in range(len(weights)):
            assert_bitwise(nb32[l], nb64[l], "{}: layer {} nabla_b".format(cost.__name__, l))
            assert_bitwise(nw32[l], nw64[l], "{}: layer {} nabla_w".format(cost.__name__, l))


@pytest.mark.parametrize("sizes", [[7, 5, 4, 3], [784, 30, 10]], ids=str)
@pytest.mark.parametrize("cost", COSTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("module", KERNELS, ids=KERNEL_IDS)
def test_float32_inputs_update_and_epoch(module, cost, sizes):
    """One step, and an epoch of 300 rows in a shuffled order, mini-batches
    of 7 (the last one of 6), compiled with one and two threads."""
    rng = np.random.default_rng(21)
    weights, biases = make_net(sizes, np.float64, rng)
    X32, X64, Y = float32_inputs(sizes, 300, rng)
    order = rng.permutation(300)
    threads = [1, 2] if module is _dense else [None]
    for num_threads in threads:
        kwargs = {} if num_threads is None else {"num_threads": num_threads}
        results = []
        for X in (X32, X64):
            w, b = copy_net(weights, biases)
            update_mini_batch(module, w, b, X[:10], Y[:10], 3.0, 5.0, 300, cost, **kwargs)
            sgd_epoch(module, w, b, X, Y, order, 7, 0.5, 5.0, 300, cost, **kwargs)
            results.append((w, b))
        assert_nets_bitwise(results[0][0], results[0][1], results[1][0], results[1][1],
                            "{} thread(s), X float32 vs float64".format(num_threads or 1))


@pytest.mark.parametrize("sizes", [[7, 5, 4, 3], [784, 30, 10]], ids=str)
@pytest.mark.parametrize("cost", COSTS, ids=lambda c: c.__name__)
def test_float32_inputs_compiled_vs_reference(cost, sizes):
    """Compiled against numpy, both on float32 inputs: float64's 1e-12."""
    rng = np.random.default_rng(22)
    weights, biases = make_net(sizes, np.float64, rng)
    X32, _, Y = float32_inputs(sizes, 300, rng)
    assert_close(_dense.feedforward(weights, biases, X32),
                 reference.feedforward(weights, biases, X32), "feedforward output",
                 rtol=RTOL_STEP[np.float64])
    nabla_b, nabla_w = _dense.backprop(weights, biases, X32[:37], Y[:37], spec_of(cost))
    ref_b, ref_w = reference.backprop(weights, biases, X32[:37], Y[:37], spec_of(cost))
    for l in range(len(weights)):
        assert_close(nabla_b[l], ref_b[l], "layer {} nabla_b".format(l), rtol=RTOL_STEP[np.float64])
        assert_close(nabla_w[l], ref_w[l], "layer {} nabla_w".format(l), rtol=RTOL_STEP[np.float64])
    ref_weights, ref_biases = copy_net(weights, biases)
    update_mini_batch(_dense, weights, biases, X32[:10], Y[:10], 3.0, 5.0, 300, cost)
    update_mini_batch(reference, ref_weights, ref_biases, X32[:10], Y[:10], 3.0, 5.0, 300, cost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "update_mini_batch",
                     rtol=RTOL_STEP[np.float64])
    order = rng.permutation(300)
    sgd_epoch(_dense, weights, biases, X32, Y, order, 7, 0.5, 5.0, 300, cost)
    sgd_epoch(reference, ref_weights, ref_biases, X32, Y, order, 7, 0.5, 5.0, 300, cost)
    assert_net_close(weights, biases, ref_weights, ref_biases, "sgd_epoch",
                     rtol=RTOL_EPOCH[np.float64])


@pytest.mark.slow
def test_float32_inputs_mnist_epoch(mnist_path):
    """A whole MNIST epoch on the loader's float32 pixels ends on the weights
    of the same epoch on a float64 copy, bit for bit."""
    from fastnn.datasets import load_mnist
    (train_x, train_y), _, _ = load_mnist(mnist_path)
    X32 = np.ascontiguousarray(train_x, dtype=np.float32)
    Y = np.zeros((len(train_y), 10))
    Y[np.arange(len(train_y)), train_y] = 1
    weights, biases = make_net([784, 30, 10], np.float64, np.random.default_rng(0))
    order = np.random.default_rng(1).permutation(len(X32))
    results = []
    for X in (X32, X32.astype(np.float64)):
        w, b = copy_net(weights, biases)
        sgd_epoch(_dense, w, b, X, Y, order, 10, 0.5, 5.0, len(X), costs.CrossEntropyCost)
        results.append((w, b))
    assert_nets_bitwise(results[0][0], results[0][1], results[1][0], results[1][1],
                        "MNIST epoch, X float32 vs float64")


# ---------------------------------------------------------------------------
# Boundary guards: a wrong argument raises, naming the problem, never segfaults
# ---------------------------------------------------------------------------

@pytest.fixture
def net():
    rng = np.random.default_rng(7)
    weights, biases = make_net([6, 5, 3], np.float64, rng)
    X, Y = make_data([6, 5, 3], 20, np.float64, rng)
    return weights, biases, X, Y


def epoch(weights, biases, X, Y, order=None, mini_batch_size=4, eta=0.5, lmbda=0.0, n=20,
          cost=costs.QuadraticCost):
    if order is None:
        order = np.arange(len(X))
    sgd_epoch(_dense, weights, biases, X, Y, order, mini_batch_size, eta, lmbda, n, cost)


def test_guard_dtypes(net):
    weights, biases, X, Y = net
    # (float32 X with float64 weights is accepted: test_float32_inputs_*;
    # the mismatch still refused is float64 X for a float32 network)
    with pytest.raises(TypeError, match="X has dtype float64"):
        epoch([w.astype(np.float32) for w in weights], [b.astype(np.float32) for b in biases],
              X, Y.astype(np.float32))
    with pytest.raises(TypeError, match="Y has dtype float32"):
        _dense.backprop(weights, biases, X, Y.astype(np.float32), spec_of(costs.QuadraticCost))
    with pytest.raises(TypeError, match=r"biases\[1\] has dtype float32"):
        _dense.feedforward(weights, [biases[0], biases[1].astype(np.float32)], X)
    with pytest.raises(TypeError, match="X has dtype int64"):
        _dense.feedforward(weights, biases, X.astype(np.int64))
    with pytest.raises(TypeError, match=r"weights\[0\] has dtype float16"):
        _dense.feedforward([w.astype(np.float16) for w in weights], biases, X)
    with pytest.raises(TypeError, match="X must be a numpy array"):
        _dense.feedforward(weights, biases, X.tolist())


def test_guard_input_dtypes(net):
    """Only a float64 network takes float32 inputs: a float32 network refuses
    float64 X, and float16 X is refused by both."""
    weights, biases, X, Y = net
    weights32 = [w.astype(np.float32) for w in weights]
    biases32 = [b.astype(np.float32) for b in biases]
    with pytest.raises(TypeError, match="X has dtype float64 but weights.0. has dtype float32"):
        epoch(weights32, biases32, X, Y.astype(np.float32))
    with pytest.raises(TypeError, match="X has dtype float64 but weights.0. has dtype float32"):
        _dense.feedforward(weights32, biases32, X)
    with pytest.raises(TypeError, match="X has dtype float16"):
        _dense.feedforward(weights, biases, X.astype(np.float16))
    with pytest.raises(TypeError, match="Y has dtype float32"):
        epoch(weights, biases, X.astype(np.float32), Y.astype(np.float32))
    with pytest.raises(ValueError, match="X has shape .* needs 6 columns"):
        _dense.feedforward(weights, biases, X[:, :5].astype(np.float32))
    with pytest.raises(ValueError, match="X must be C-contiguous"):
        epoch(weights, biases, np.asfortranarray(X.astype(np.float32)), Y)


def test_guard_shapes(net):
    weights, biases, X, Y = net
    with pytest.raises(ValueError, match="X has shape .* needs 6 columns"):
        epoch(weights, biases, X[:, :5].copy(), Y)
    with pytest.raises(ValueError, match="Y has shape"):
        epoch(weights, biases, X, Y[:, :2].copy())
    with pytest.raises(ValueError, match="Y has shape"):
        epoch(weights, biases, X, Y[:10].copy())
    with pytest.raises(ValueError, match=r"weights\[1\] has shape"):
        epoch([weights[0], np.zeros((3, 4))], biases, X, Y)
    with pytest.raises(ValueError, match=r"biases\[0\] has shape"):
        epoch(weights, [np.zeros(4), biases[1]], X, Y)
    with pytest.raises(ValueError, match="X must be 2-D"):
        _dense.feedforward(weights, biases, X[0])
    with pytest.raises(ValueError, match="one length"):
        _dense.feedforward(weights, biases[:1], X)
    with pytest.raises(ValueError, match="one length"):
        _dense.feedforward([], [], X)


def test_guard_contiguity_and_writeable(net):
    weights, biases, X, Y = net
    with pytest.raises(ValueError, match="X must be C-contiguous"):
        epoch(weights, biases, np.asfortranarray(X), Y)
    with pytest.raises(ValueError, match=r"weights\[0\] must be C-contiguous"):
        _dense.feedforward([np.asfortranarray(weights[0]), weights[1]], biases, X)
    strided = np.zeros((5, 2))[:, 0]
    with pytest.raises(ValueError, match=r"biases\[0\] must be C-contiguous"):
        epoch(weights, [strided, biases[1]], X, Y)
    frozen = weights[1].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"weights\[1\] is read-only"):
        epoch([weights[0], frozen], biases, X, Y)
    _dense.feedforward([weights[0], frozen], biases, X)      # reading it is fine


def test_guard_order(net):
    weights, biases, X, Y = net
    before = [w.copy() for w in weights]
    for bad in ([0, 1, 20], [-1, 3], np.array([5, 2**40])):
        with pytest.raises(ValueError, match=r"order has values .* must be in \[0, 20\)"):
            epoch(weights, biases, X, Y, order=bad)
    with pytest.raises(ValueError, match="order must be a 1-D array of integers"):
        epoch(weights, biases, X, Y, order=np.arange(20.0))
    with pytest.raises(ValueError, match="order must be a 1-D array of integers"):
        epoch(weights, biases, X, Y, order=np.arange(20).reshape(4, 5))
    for w, w0 in zip(weights, before):                       # nothing ran
        np.testing.assert_array_equal(w, w0)
    epoch(weights, biases, X, Y, order=[])                   # an empty epoch does nothing
    for w, w0 in zip(weights, before):
        np.testing.assert_array_equal(w, w0)


def test_guard_scalars(net):
    weights, biases, X, Y = net
    with pytest.raises(ValueError, match="mini_batch_size must be >= 1"):
        epoch(weights, biases, X, Y, mini_batch_size=0)
    with pytest.raises(TypeError, match="mini_batch_size must be an integer"):
        epoch(weights, biases, X, Y, mini_batch_size=2.5)
    with pytest.raises(ValueError, match="n .* must be >= 1"):
        epoch(weights, biases, X, Y, n=0)
    with pytest.raises(ValueError, match="eta must be a finite number"):
        epoch(weights, biases, X, Y, eta=float("nan"))
    with pytest.raises(ValueError, match="l2 must be a finite number"):
        epoch(weights, biases, X, Y, lmbda=float("inf"))
    with pytest.raises(ValueError, match="mini_batch_size must be >= 1"):
        update_mini_batch(_dense, weights, biases, X[:0], Y[:0], 0.5, 0.0, 1, costs.QuadraticCost)
    with pytest.raises(ValueError, match="num_threads must be >= 1"):
        sgd_epoch(_dense, weights, biases, X, Y, np.arange(20), 4, 0.5, 0.0, 20,
                  costs.QuadraticCost, num_threads=0)


def test_guard_cost(net):
    weights, biases, X, Y = net

    class LogCost:
        @staticmethod
        def fn(a, y):
            return 0.0

        @staticmethod
        def delta(z, a, y):
            return a - y

    with pytest.raises(ValueError, match="implement the quadratic, cross-entropy, log-likelihood, squared-error and Poisson costs only"):
        epoch(weights, biases, X, Y, cost=LogCost)
    with pytest.raises(ValueError, match="implement the quadratic, cross-entropy, log-likelihood, squared-error and Poisson costs only"):
        _dense.backprop(weights, biases, X, Y, spec_of(LogCost))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("sizes", [[20, 300, 10], [31, 140, 10], [32, 140, 10]], ids=str)
def test_narrow_inputs_wide_layer_same_in_chunks_and_threads(dtype, sizes, split_always):
    """Which kernel makes a product must not depend on how a layer's neurons
    are split (threads, fused blocks) or on where a call starts: with fewer
    than 32 inputs and more than 128 neurons the forward product once went
    to BLAS when whole and to our kernel in blocks, so a first mini-batch
    and a later one summed differently.  One call and two calls: bit for bit
    the same.  Three threads: bit for bit when our kernels make the first
    layer's forward product (32 inputs or more), else within rounding (BLAS
    blocks a part of a product its own way)."""
    rng = np.random.default_rng(11)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 60, dtype, rng)
    order = rng.permutation(60)
    spec = spec_of(costs.CrossEntropyCost)
    runs = {}
    for what, calls, num_threads in [("one call", [(0, None)], 1),
                                     ("two calls", [(0, 2), (2, None)], 1),
                                     ("three threads", [(0, None)], 3)]:
        w, b = copy_net(weights, biases)
        step = Step(0.5, 60, l2=5.0)
        for first, count in calls:
            _dense.train(w, b, X, Y, order, 10, spec, step, first, count, num_threads=num_threads)
        runs[what] = w + b
    ours = _gemm.simd() != "blas" and _gemm.route(False, True, 10, 100, sizes[0], dtype) == "nt"
    if not ours:
        assert_net_close(runs["three threads"][:2], runs["three threads"][2:],
                         runs["one call"][:2], runs["one call"][2:], "three threads",
                         rtol=RTOL_EPOCH[dtype])
    for what in ("two calls", "three threads") if ours else ("two calls",):
        assert_parameters_equal(runs[what], runs["one call"], what + " vs one call")

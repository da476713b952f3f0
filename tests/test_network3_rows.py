"""network3's training kernels for the book's dropout network: the dense
layers walked row by row of w, skipping zero inputs (``_core/_rows.h``), and
the conv layers' gradients taken from the pooling winners only.

Each test trains the compiled path and the numpy reference (``reference3``)
with the same dropout masks and compares every parameter, for the paths the
kernels choose between: a mini-batch of ten (row kernels, rows with more
than four nonzero inputs in several sweeps) or of twenty (gemm), ReLU below
(one fused sweep a row) or not, plain SGD or momentum with L1, 1 or 2
threads.  Then the same run in one call and in chunks must agree bit for bit.
"""
import numpy as np
import pytest

from helpers import assert_close

from fastnn import network3, trainer
from fastnn.optimizers import Step
from fastnn.network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer,
                             sigmoid)

RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def dropout_layers(m, act=ReLU, p=0.5, seed=2):
    """The book's best network in small: two conv-pool layers (the second
    with K = 4*3*3 = 36 inputs per position), two fully connected layers and
    the softmax, each dense layer dropping its inputs out with ``p``."""
    np.random.seed(seed)
    layers = [ConvPoolLayer(image_shape=(m, 1, 14, 14), filter_shape=(4, 1, 3, 3), poolsize=(2, 2),
                            activation_fn=act),
              ConvPoolLayer(image_shape=(m, 4, 6, 6), filter_shape=(6, 4, 3, 3), poolsize=(2, 2),
                            activation_fn=act),
              FullyConnectedLayer(n_in=6*2*2, n_out=40, activation_fn=act, p_dropout=p),
              FullyConnectedLayer(n_in=40, n_out=37, activation_fn=act, p_dropout=p),
              SoftmaxLayer(n_in=37, n_out=10, p_dropout=p)]
    layers[-1].w = np.random.normal(scale=0.3, size=layers[-1].w.shape)
    return layers


def dense_first_layers(m, act=ReLU, p=0.5, seed=3):
    """Dense layers only: the first takes the data (dropped out) itself."""
    np.random.seed(seed)
    return [FullyConnectedLayer(n_in=196, n_out=50, activation_fn=act, p_dropout=p),
            FullyConnectedLayer(n_in=50, n_out=33, activation_fn=act, p_dropout=p),
            SoftmaxLayer(n_in=33, n_out=10, p_dropout=p)]


def data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 196)).astype(dtype), rng.integers(0, 10, n)


def train_both(make, m, dtype, threads, steps=100, **options):
    """Train the compiled path and the reference for ``steps`` mini-batches
    (one epoch) from the same start with the same masks; returns both nets."""
    x, y = data(m * steps, dtype)
    nets = {}
    for backend in ("numpy", "cython"):
        network3.set_num_threads(threads)
        try:
            net = Network(make(m), m, dtype=dtype, backend=backend, seed=5)
            net.SGD((x, y), 1, m, 0.05, (x[:m], y[:m]), None, verbose=False, **options)
        finally:
            network3.set_num_threads(None)
        nets[backend] = net
    return nets


def assert_same_parameters(nets, rtol, what):
    for l, (a, b) in enumerate(zip(nets["cython"].layers, nets["numpy"].layers)):
        name = "{}: layer {} ({})".format(what, l, type(a).__name__)
        assert_close(a.w, b.w, name + " w", rtol=rtol)
        assert_close(a.b, b.b, name + " b", rtol=rtol)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m", [10, 20], ids=["m10-rows", "m20-gemm"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("p", [0.5, 0.0], ids=["dropout", "no-dropout"])
def test_dropout_network_matches_reference(p, dtype, m, threads):
    nets = train_both(lambda m: dropout_layers(m, p=p), m, dtype, threads, lmbda=0.1)
    assert_same_parameters(nets, RTOL[dtype], "p={} m={} threads={}".format(p, m, threads))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("options", [dict(lmbda=0.1), dict(lmbda=0.1, momentum=0.9, l1=0.01)],
                         ids=["plain", "momentum+l1"])
@pytest.mark.parametrize("act", [ReLU, sigmoid], ids=lambda a: a.__name__)
def test_every_sweep_kind_matches_reference(act, options, threads):
    """ReLU with plain SGD takes the fused sweep; sigmoid (every input error
    needed where the mask keeps it) and momentum take the separate one."""
    nets = train_both(lambda m: dropout_layers(m, act=act), 10, np.float64, threads, **options)
    assert_same_parameters(nets, RTOL[np.float64], "{} {}".format(act.__name__, options))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m", [10, 20], ids=["m10-rows", "m20-gemm"])
def test_dense_first_layer_matches_reference(m, threads):
    nets = train_both(dense_first_layers, m, np.float64, threads, lmbda=0.1)
    assert_same_parameters(nets, RTOL[np.float64], "dense first, m={}".format(m))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("make", [dropout_layers, dense_first_layers], ids=["conv", "dense-first"])
def test_chunks_equal_one_call(make, threads):
    """The run in one kernel call and in chunks of 3, 0, 4 and 3 mini-batches,
    with the same masks: the same weights, bit for bit."""
    m, count = 10, 10
    x, y = data(m * count, np.float32, seed=1)
    runs = []
    for chunks in ([count], [3, 0, 4, 3]):
        net = Network(make(m), m, dtype=np.float32, seed=5)
        masks = net._draw_masks(count)
        step = Step.for_parameters([(layer.w, layer.b) for layer in net.layers], count, 0.1)
        step.eta = 0.05
        network3.set_num_threads(threads)
        try:
            knet = net._kernel_net()
            first = 0
            with trainer.one_blas_thread():
                for c in chunks:
                    knet.train(x, y.astype(np.int64),
                               [None if mk is None else np.ascontiguousarray(mk[first:first + c])
                                for mk in masks], first, c, step)
                    first += c
        finally:
            network3.set_num_threads(None)
        runs.append([p.copy() for layer in net.layers for p in (layer.w, layer.b)])
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


def _variants():
    from fastnn._core import _gemm
    return [v for v in _gemm.available() if v != "blas"]


@pytest.fixture(params=_variants())
def variant(request):
    """Each instruction set this CPU runs, forced for every kernel."""
    from fastnn._core import _simd
    previous = _simd.set_simd(request.param)
    yield request.param
    _simd.set_simd(previous)


@pytest.mark.parametrize("act,options", [(ReLU, dict(lmbda=0.1)),
                                         (sigmoid, dict(lmbda=0.1, momentum=0.9, l1=0.01))],
                         ids=["relu-fused", "sigmoid-momentum-l1"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_every_instruction_set_matches_reference(variant, act, options, dtype):
    """The row and convolution kernels are compiled for AVX-512, AVX2 and the
    baseline; each this CPU runs, forced, against the reference, with
    dropout, one thread and two (both sweep kinds)."""
    for threads in (1, 2):
        nets = train_both(lambda m: dropout_layers(m, act=act), 10, dtype, threads, steps=30,
                          **options)
        assert_same_parameters(nets, RTOL[dtype], "{} {} {} threads={}".format(
            variant, act.__name__, options, threads))

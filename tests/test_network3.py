"""network3 (chapter 6): gradients, compiled vs reference, dropout, bad input.

The learning test on MNIST is in test_network3_mnist.py.
"""
import numpy as np
import pytest

from helpers import assert_close, central_difference

from fastnn import activations, network3, reference3, trainer
from fastnn.optimizers import Step
from fastnn.network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer,
                             linear, sigmoid, tanh)

# Every hidden activation of the registry: the book's function where network3
# has one, else the registry's ``Activation`` (leaky ReLU, ...).
_BOOK = {name: fn for fn, name in reference3.BOOK.items()}
ACTIVATIONS = [_BOOK.get(name) or activations.get(name) for name in activations.HIDDEN]
M = 4   # mini-batch size of the small test networks


def small_layers(act, p_dropout=0.0, seed=1, m=M):
    """Two conv-pool layers, a fully connected layer and a softmax: every
    kind of layer, each with an input gradient to pass back."""
    np.random.seed(seed)
    layers = [ConvPoolLayer(image_shape=(m, 1, 12, 12), filter_shape=(3, 1, 3, 3), poolsize=(2, 2),
                            activation_fn=act),
              ConvPoolLayer(image_shape=(m, 3, 5, 5), filter_shape=(4, 3, 2, 2), poolsize=(2, 2),
                            activation_fn=act),
              FullyConnectedLayer(n_in=4*2*2, n_out=7, activation_fn=act, p_dropout=p_dropout),
              SoftmaxLayer(n_in=7, n_out=5, p_dropout=p_dropout)]
    # network3 starts the softmax at zero; random weights make its gradient checks non-trivial
    layers[-1].w = np.random.normal(size=layers[-1].w.shape).astype(np.float32)
    layers[-1].b = np.random.normal(size=layers[-1].b.shape).astype(np.float32)
    return layers


def small_data(n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.random((n, 144)).astype(dtype), rng.integers(0, 5, n)


def small_net(act=ReLU, dtype=np.float64, backend="numpy", p_dropout=0.0, seed=1, dropout_seed=3):
    return Network(small_layers(act, p_dropout, seed), M, dtype=dtype, backend=backend,
                   seed=dropout_seed)


def masks_for(net, rng):
    return [None if layer.p_dropout == 0 else
            (rng.random((M, layer.n_in)) >= layer.p_dropout).astype(np.uint8)
            for layer in net.layers]


def compiled_gradients(net, x, y, masks):
    """The compiled kernels' gradients for one mini-batch (a step with eta 0)."""
    knet = net._kernel_net()
    knet.keep_gradients = True
    kmasks = [None if mk is None else mk[None].copy() for mk in masks]
    with trainer.one_blas_thread():
        cost = knet.train(np.ascontiguousarray(x, dtype=net.dtype), y.astype(np.int64), kmasks,
                          0, 1, Step(0.0, 1))
    return cost / len(y), knet.last_gradients(), knet.last_activations()


def reference_cost(net, x, y, masks):
    fmasks = [None if mk is None else mk.astype(net.dtype) for mk in masks]
    cost, _ = reference3.backprop(net.layers, x, y, fmasks)
    return cost


# ---------------------------------------------------------------------------
# The reference's building blocks against first principles
# ---------------------------------------------------------------------------

def test_conv_forward_is_a_true_convolution():
    """Theano's conv2d flips the filter: check against the definition."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 6, 7))
    w = rng.normal(size=(4, 3, 3, 2))
    out = reference3.conv_forward(x, w)
    want = np.zeros((2, 4, 4, 6))
    for n in range(2):
        for f in range(4):
            for i in range(4):
                for j in range(6):
                    for c in range(3):
                        for u in range(3):
                            for v in range(2):
                                want[n, f, i, j] += x[n, c, i+u, j+v] * w[f, c, 2-u, 1-v]
    assert_close(out, want, "conv_forward", rtol=1e-13)


def test_max_pool_drops_the_border_and_picks_the_first_maximum():
    x = np.arange(2*5*5, dtype=np.float64).reshape(1, 2, 5, 5)
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = 100.0          # a tie: the first one wins
    pooled, argmax = reference3.pool_forward(x, (2, 2))
    assert pooled.shape == (1, 2, 2, 2)            # the fifth row and column are left out
    assert pooled[0, 0, 0, 0] == 100.0 and argmax[0, 0, 0, 0] == 0
    assert pooled[0, 1, 1, 1] == x[0, 1, 3, 3]


def _fd_check(f, x, grad, what, eps=1e-6, rtol=1e-6, n=12, seed=0):
    """Central differences of scalar ``f`` at ``n`` random entries of ``x``."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, size=min(n, flat.size), replace=False)
    num = np.array([central_difference(f, flat, i, eps) for i in idx])
    assert_close(grad.reshape(-1)[idx], num, what, rtol=rtol, atol=None)


def test_conv_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))
    w = rng.normal(size=(4, 3, 3, 3))
    r = rng.normal(size=(2, 4, 5, 4))
    dw, dx = reference3.conv_backward(x, w, r)
    f = lambda: float(np.sum(reference3.conv_forward(x, w) * r))
    _fd_check(f, w, dw, "conv dw")
    _fd_check(f, x, dx, "conv dx")


# ---------------------------------------------------------------------------
# Finite-difference checks of every layer's backward pass, every activation,
# on both backends (float64)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "cython"])
@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: a.__name__)
def test_gradients_against_finite_differences(backend, act):
    net = small_net(act, np.float64, p_dropout=0.25)
    x, y = small_data(M, seed=2)
    masks = masks_for(net, np.random.default_rng(5))
    if backend == "numpy":
        fmasks = [None if mk is None else mk.astype(np.float64) for mk in masks]
        _, grads = reference3.backprop(net.layers, x, y, fmasks)
    else:
        _, grads, _ = compiled_gradients(net, x, y, masks)
    f = lambda: reference_cost(net, x, y, masks)
    for l, layer in enumerate(net.layers):
        dw, db = grads[l]
        _fd_check(f, layer.w, dw, "{} layer {} ({}) dC/dw".format(backend, l, type(layer).__name__),
                  seed=l)
        _fd_check(f, layer.b, db, "{} layer {} ({}) dC/db".format(backend, l, type(layer).__name__),
                  seed=l)


# ---------------------------------------------------------------------------
# Compiled vs reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: a.__name__)
def test_one_mini_batch_compiled_matches_reference_float64(act, threads):
    network3.set_num_threads(threads)
    try:
        net = small_net(act, np.float64, p_dropout=0.3)
        x, y = small_data(M, seed=3)
        masks = masks_for(net, np.random.default_rng(7))
        fmasks = [None if mk is None else mk.astype(np.float64) for mk in masks]
        cost_ref, grads_ref = reference3.backprop(net.layers, x, y, fmasks)
        acts_ref = []
        a = x
        for layer, mk in zip(net.layers, fmasks):
            if layer.is_conv:
                a, _ = reference3.convpool_forward(layer, a)
            else:
                a, _ = reference3.dense_forward(layer, a, mk, training=True)
            acts_ref.append(a)
        cost, grads, acts = compiled_gradients(net, x, y, masks)
    finally:
        network3.set_num_threads(None)
    assert abs(cost - cost_ref) <= 1e-12 * abs(cost_ref)
    for l in range(len(net.layers)):
        name = "layer {} ({})".format(l, type(net.layers[l]).__name__)
        assert_close(acts[l], acts_ref[l], name + " activations", rtol=1e-12)
        assert_close(grads[l][0], grads_ref[l][0].reshape(grads[l][0].shape), name + " dC/dw", rtol=1e-12)
        assert_close(grads[l][1], grads_ref[l][1], name + " dC/db", rtol=1e-12)


# After many steps the two paths drift apart only by rounding, amplified by
# training: measured <= 3e-15 (float64) and <= 1.3e-6 (float32) after 300
# steps, normwise, for every activation.
MANY_STEPS_RTOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("act", [ReLU, sigmoid], ids=lambda a: a.__name__)
def test_many_steps_compiled_matches_reference(act, dtype):
    x, y = small_data(M*100, seed=4, dtype=dtype)
    nets = {}
    for backend in ("numpy", "cython"):
        net = small_net(act, dtype, backend=backend, p_dropout=0.2)
        net.SGD((x, y), 3, M, 0.1, (x[:40], y[:40]), None, lmbda=0.5, verbose=False)
        nets[backend] = net
    for l, (a, b) in enumerate(zip(nets["cython"].layers, nets["numpy"].layers)):
        assert_close(a.w, b.w, "layer {} w after 300 steps".format(l), rtol=MANY_STEPS_RTOL[dtype])
        assert_close(a.b, b.b, "layer {} b after 300 steps".format(l), rtol=MANY_STEPS_RTOL[dtype])


def test_float32_one_mini_batch_within_stated_tolerance():
    net64 = small_net(sigmoid, np.float64, p_dropout=0.3)
    net32 = small_net(sigmoid, np.float32, p_dropout=0.3)
    x, y = small_data(M, seed=3)
    masks = masks_for(net64, np.random.default_rng(7))
    _, g64, _ = compiled_gradients(net64, x, y, masks)
    _, g32, _ = compiled_gradients(net32, x.astype(np.float32), y, masks)
    for l, ((w64, b64), (w32, b32)) in enumerate(zip(g64, g32)):
        assert_close(w32.astype(np.float64), w64, "layer {} dC/dw float32".format(l), rtol=1e-4)
        assert_close(b32.astype(np.float64), b64, "layer {} dC/db float32".format(l), rtol=1e-4)


def test_same_thread_count_is_bitwise_reproducible_and_counts_agree():
    x, y = small_data(M*50, seed=6, dtype=np.float32)
    ws = {}
    for threads in (1, 2, 2):
        network3.set_num_threads(threads)
        try:
            net = small_net(ReLU, np.float32, backend="cython", p_dropout=0.5)
            net.SGD((x, y), 2, M, 0.1, (x, y), None, verbose=False)
        finally:
            network3.set_num_threads(None)
        ws.setdefault(threads, []).append([l.w.copy() for l in net.layers])
    for a, b in zip(*ws[2]):
        assert np.array_equal(a, b)
    for a, b in zip(ws[1][0], ws[2][0]):
        assert_close(a, b, "1 vs 2 threads", rtol=1e-4)


def test_predict_and_feedforward_agree_across_backends():
    net = small_net(tanh, np.float64, p_dropout=0.4)
    x, _ = small_data(10)                      # not a multiple of M: padded internally
    out_ref = net.feedforward(x)
    net.backend = "cython"
    out = net.feedforward(x)
    assert out.shape == (10, 5)
    assert_close(out, out_ref, "evaluation-mode softmax output", rtol=1e-12)
    assert np.array_equal(net.predict(x), np.argmax(out_ref, axis=1))


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------

def test_dropout_masks_have_the_right_expectation():
    net = Network([FullyConnectedLayer(50, 20, p_dropout=0.3), SoftmaxLayer(20, 10, p_dropout=0.6)],
                  10, seed=11)
    masks = net._draw_masks(400)
    assert masks[0].shape == (400, 10, 50) and masks[0].dtype == np.uint8
    assert abs(masks[0].mean() - 0.7) < 0.01
    assert abs(masks[1].mean() - 0.4) < 0.01
    # the training-mode output of a layer averages to its evaluation-mode output
    layer = net.layers[0]
    x = np.random.default_rng(0).random((1, 50)).astype(np.float32)
    z_train = np.mean([(x * mk) @ layer.w for mk in masks[0].reshape(-1, 50)], axis=0)
    z_eval = (1 - layer.p_dropout) * (x @ layer.w)
    assert_close(z_train, z_eval, "dropout expectation", rtol=0.05)


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_dropout_same_seed_same_result(backend):
    x, y = small_data(M*20, seed=8)
    results = []
    for dropout_seed in (3, 3, 4):
        net = small_net(ReLU, np.float64, backend=backend, p_dropout=0.5, dropout_seed=dropout_seed)
        net.SGD((x, y), 1, M, 0.1, (x, y), None, verbose=False)
        results.append(net.layers[2].w.copy())
    assert np.array_equal(results[0], results[1])
    assert not np.array_equal(results[0], results[2])


# ---------------------------------------------------------------------------
# The book's API and behaviour
# ---------------------------------------------------------------------------

def test_initialisation_draws_like_network3():
    np.random.seed(12)
    layers = [ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28)),
              FullyConnectedLayer(n_in=20*12*12, n_out=100), SoftmaxLayer(n_in=100, n_out=10)]
    np.random.seed(12)
    w0 = np.random.normal(0, np.sqrt(1.0/(20*25/4)), (20, 1, 5, 5)).astype(np.float32)
    b0 = np.random.normal(0, 1.0, (20,)).astype(np.float32)
    w1 = np.random.normal(0, np.sqrt(1.0/100), (2880, 100)).astype(np.float32)
    assert np.array_equal(layers[0].w, w0) and np.array_equal(layers[0].b, b0)
    assert np.array_equal(layers[1].w, w1)
    assert layers[0].w.dtype == np.float32
    assert not layers[2].w.any() and not layers[2].b.any()
    net = Network(layers, 10)
    assert net.dtype == np.float32 and len(net.params) == 6


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_sgd_prints_network3_lines_and_returns_figures(backend, capsys):
    x, y = small_data(M*10, seed=9)
    net = small_net(sigmoid, np.float64, backend=backend)
    hist = net.SGD((x, y), 2, M, 0.1, (x[:20], y[:20]), (x[20:], y[20:]), lmbda=0.1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training mini-batch number 0"
    assert out[1].startswith("Epoch 0: validation accuracy ")
    assert "This is the best validation accuracy to date." in out
    assert any(line.startswith("The corresponding test accuracy is ") for line in out)
    assert out[-3] == "Finished training network."
    assert out[-2].startswith("Best validation accuracy of ") and out[-2].endswith("obtained at iteration {}".format(
        hist["best_iteration"]))
    assert out[-1].startswith("Corresponding test accuracy of ")
    assert len(hist["validation_accuracy"]) == 2 and len(hist["training_cost"]) == 2
    assert hist["test_accuracy"][0] is not None
    assert hist["best_iteration"] in (9, 19)


def test_backends_print_the_same_figures():
    x, y = small_data(M*10, seed=9)
    figures = []
    for backend in ("numpy", "cython"):
        net = small_net(sigmoid, np.float64, backend=backend)
        figures.append(net.SGD((x, y), 2, M, 0.5, (x, y), (x, y), verbose=False))
    assert figures[0]["validation_accuracy"] == figures[1]["validation_accuracy"]
    assert np.allclose(figures[0]["training_cost"], figures[1]["training_cost"], rtol=1e-12)


def test_backend_defaults_to_the_process_setting(monkeypatch):
    from fastnn import _config
    net = small_net(backend=None)
    monkeypatch.setitem(_config._settings, "backend", "numpy")
    assert net._backend() == "numpy"
    monkeypatch.setitem(_config._settings, "backend", "cython")
    assert net._backend() == "cython"


def test_tail_left_out_with_a_warning():
    x, y = small_data(M*5 + 3, seed=10)
    net = small_net(backend="cython")
    with pytest.warns(UserWarning, match="left out"):
        net.SGD((x, y), 1, M, 0.1, (x[:M*2], y[:M*2]), None, verbose=False)


# ---------------------------------------------------------------------------
# Bad input: a clear error before training starts
# ---------------------------------------------------------------------------

def test_fc_n_in_that_does_not_chain():
    layers = [ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28)),
              FullyConnectedLayer(n_in=20*13*13, n_out=100), SoftmaxLayer(n_in=100, n_out=10)]
    with pytest.raises(ValueError, match="takes 3380 inputs.*gives 2880"):
        Network(layers, 10)
    with pytest.raises(ValueError, match="takes 50 inputs"):
        Network([FullyConnectedLayer(784, 30), SoftmaxLayer(50, 10)], 10)


def test_image_shape_batch_that_disagrees_with_mini_batch_size():
    layers = [ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28)),
              SoftmaxLayer(n_in=20*12*12, n_out=10)]
    with pytest.raises(ValueError, match="mini_batch_size is 20"):
        Network(layers, 20)


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="input feature maps"):
        ConvPoolLayer(filter_shape=(20, 3, 5, 5), image_shape=(10, 1, 28, 28))
    with pytest.raises(ValueError, match="larger than"):
        ConvPoolLayer(filter_shape=(20, 1, 30, 5), image_shape=(10, 1, 28, 28))
    for p in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="p_dropout"):
            FullyConnectedLayer(10, 10, p_dropout=p)
        with pytest.raises(ValueError, match="p_dropout"):
            SoftmaxLayer(10, 10, p_dropout=p)
    with pytest.raises(TypeError, match="activation_fn"):
        FullyConnectedLayer(10, 10, activation_fn=np.exp)
    with pytest.raises(ValueError, match="SoftmaxLayer"):
        Network([FullyConnectedLayer(10, 10)], 10)


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_bad_data_is_refused_before_training(backend):
    net = small_net(backend=backend)
    w_before = [l.w.copy() for l in net.layers]
    x, y = small_data(M*5)
    val = (x[:M], y[:M])
    with pytest.raises(ValueError, match="fewer than one mini-batch"):
        net.SGD((x[:M-1], y[:M-1]), 1, M, 0.1, val, None, verbose=False)
    bad = x.copy()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.SGD((bad, y), 1, M, 0.1, val, None, verbose=False)
    with pytest.raises(ValueError, match="NaN"):
        net.SGD((x, y), 1, M, 0.1, (bad, y), None, verbose=False)
    yb = y.copy()
    yb[3] = 5
    with pytest.raises(ValueError, match=r"training_data labels\[3\] = 5 is out of range"):
        net.SGD((x, yb), 1, M, 0.1, val, None, verbose=False)
    with pytest.raises(ValueError, match="examples have 100 values"):
        net.SGD((x[:, :100], y), 1, M, 0.1, val, None, verbose=False)
    with pytest.raises(ValueError, match="mini_batch_size"):
        net.SGD((x, y), 1, M+1, 0.1, val, None, verbose=False)
    with pytest.raises(ValueError, match="eta"):
        net.SGD((x, y), 1, M, float("inf"), val, None, verbose=False)
    for a, b in zip(w_before, net.layers):
        assert np.array_equal(a, b.w)


def test_set_num_threads_validates():
    with pytest.raises(ValueError):
        network3.set_num_threads(0)
    network3.set_num_threads(3)
    assert network3.get_num_threads() == 3
    network3.set_num_threads(None)
    assert network3.get_num_threads() >= 1


@pytest.mark.parametrize("first", [((3, 1, 2, 2), (3, 3)), ((3, 1, 3, 3), (2, 2))],
                         ids=["pool3x3", "pool2x2-border"])
def test_unusual_shapes_compiled_matches_reference(first):
    """Pooling windows that do not tile the map (a border left out), 3x3
    pooling, and a conv layer after a fully connected one (network3 reshapes
    whatever comes in): the kernels' general paths."""
    filter_shape, poolsize = first
    np.random.seed(4)
    conv1 = ConvPoolLayer(image_shape=(M, 1, 11, 11), filter_shape=filter_shape, poolsize=poolsize,
                          activation_fn=tanh)
    n1 = conv1.n_out_units
    layers = [conv1,
              FullyConnectedLayer(n_in=n1, n_out=50, activation_fn=sigmoid, p_dropout=0.2),
              ConvPoolLayer(image_shape=(M, 2, 5, 5), filter_shape=(3, 2, 2, 2), poolsize=(2, 2),
                            activation_fn=ReLU),
              SoftmaxLayer(n_in=12, n_out=5)]
    layers[-1].w = np.random.normal(size=layers[-1].w.shape)
    net = Network(layers, M, dtype=np.float64, backend="cython")
    rng = np.random.default_rng(0)
    x, y = rng.random((M, 121)), rng.integers(0, 5, M)
    masks = masks_for(net, rng)
    cost_ref, grads_ref = reference3.backprop(
        net.layers, x, y, [None if mk is None else mk.astype(np.float64) for mk in masks])
    cost, grads, _ = compiled_gradients(net, x, y, masks)
    assert abs(cost - cost_ref) <= 1e-12 * abs(cost_ref)
    for l in range(len(layers)):
        assert_close(grads[l][0], grads_ref[l][0].reshape(grads[l][0].shape),
                     "layer {} dC/dw".format(l), rtol=1e-12)
        assert_close(grads[l][1], grads_ref[l][1], "layer {} dC/db".format(l), rtol=1e-12)
    x2 = rng.random((3*M, 121))
    out = net.feedforward(x2)
    net.backend = "numpy"
    assert_close(out, net.feedforward(x2), "evaluation output", rtol=1e-12)


@pytest.mark.parametrize("m,threads", [(1, 2), (3, 2), (5, 4)])
def test_more_threads_than_fit_the_batch(m, threads):
    """Groups of uneven size, and more threads asked for than the batch has
    examples (capped at the batch size): the same result as the reference."""
    x, y = small_data(m*6, seed=12)
    nets = {}
    for backend in ("numpy", "cython"):
        np.random.seed(2)
        layers = [ConvPoolLayer(image_shape=(m, 1, 12, 12), filter_shape=(2, 1, 3, 3), poolsize=(2, 2),
                                activation_fn=ReLU),
                  FullyConnectedLayer(n_in=50, n_out=9, p_dropout=0.3), SoftmaxLayer(n_in=9, n_out=5)]
        nets[backend] = Network(layers, m, dtype=np.float64, backend=backend, seed=1)
    network3.set_num_threads(threads)
    try:
        for net in nets.values():
            net.SGD((x, y), 2, m, 0.2, (x, y), None, lmbda=0.3, verbose=False)
    finally:
        network3.set_num_threads(None)
    for l, (a, b) in enumerate(zip(nets["cython"].layers, nets["numpy"].layers)):
        assert_close(a.w, b.w, "layer {} w".format(l), rtol=1e-12)
        assert_close(a.b, b.b, "layer {} b".format(l), rtol=1e-12)

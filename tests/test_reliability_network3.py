"""network3 reliability: findings of the reliability issue, one reproducer each.

A reproducer that used to kill the process (a heap overflow, SIGFPE, a
child hung after fork) runs in a child Python, so that a crash or a hang is
a test failure here and not the end of the run.
"""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import assert_close, fastnn_env

from fastnn import activations, reference3

from fastnn.network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer,
                             linear, sigmoid, tanh)

M = 4
BACKENDS = ["numpy", "cython"]
FUZZ_EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", 50))

# A tiny network3 net for the child processes: one conv-pool layer and a softmax.
TINY = """
import numpy as np
from fastnn import network3
from fastnn.network3 import ConvPoolLayer, Network, SoftmaxLayer

def tiny_net():
    np.random.seed(0)
    net = Network([ConvPoolLayer(image_shape=(4, 1, 8, 8), filter_shape=(2, 1, 3, 3)),
                   SoftmaxLayer(n_in=2*3*3, n_out=3)], 4, backend="cython")
    net.layers[-1].w[...] = np.random.normal(size=net.layers[-1].w.shape)
    return net

def tiny_data():
    rng = np.random.default_rng(0)
    return rng.random((16, 64)).astype(np.float32), rng.integers(0, 3, 16)

def train_tiny(_=None):
    net = tiny_net()
    data = tiny_data()
    net.SGD(data, 2, 4, 0.5, data, None, verbose=False)
    return network3.get_num_threads(), [layer.w.copy() for layer in net.layers]
"""


def run_child(code, timeout=120):
    """Run ``code`` in a fresh Python that imports this fastnn; a hang past
    ``timeout`` seconds fails the test."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=fastnn_env(),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("the child process did not finish within {} s".format(timeout))


def assert_child_ok(result):
    assert result.returncode == 0, "child exited with {} (a negative code is a signal)\n{}\n{}".format(
        result.returncode, result.stdout, result.stderr)


def small_net(backend="cython", dtype=np.float32, seed=1):
    np.random.seed(seed)
    layers = [ConvPoolLayer(image_shape=(M, 1, 12, 12), filter_shape=(3, 1, 3, 3), poolsize=(2, 2),
                            activation_fn=ReLU),
              FullyConnectedLayer(n_in=3*5*5, n_out=7, p_dropout=0.25),
              SoftmaxLayer(n_in=7, n_out=5)]
    layers[-1].w = np.random.normal(size=layers[-1].w.shape)
    return Network(layers, M, dtype=dtype, backend=backend)


# ---------------------------------------------------------------------------
# 1. Sizes that overflowed C ints: refused before anything is allocated
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("image,filt", [(512, 256), (1000, 70)])
def test_conv_layer_too_large_for_the_kernels_is_refused(image, filt):
    """The im2col buffer of these layers holds more than 2**31-1 values: its
    size wrapped in C (a heap overflow for 512/256, a negative numpy
    dimension for 1000/70).  Now: a MemoryError naming the layer and bytes."""
    result = run_child("""
        import numpy as np
        from fastnn.network3 import ConvPoolLayer, Network, SoftmaxLayer
        h, k = {}, {}
        q = (h - k + 1) // 2
        net = Network([ConvPoolLayer(image_shape=(1, 1, h, h), filter_shape=(1, 1, k, k),
                                     poolsize=(2, 2)),
                       SoftmaxLayer(n_in=q*q, n_out=2)], 1, backend="cython")
        try:
            net.feedforward(np.zeros((1, h*h), np.float32))
        except MemoryError as exc:
            print("MemoryError:", exc)
        """.format(image, filt))
    assert_child_ok(result)
    message = result.stdout
    assert "MemoryError: layer 0 (ConvPoolLayer)" in message, message
    assert "im2col buffer" in message and "2**31-1" in message, message
    assert re.search(r"\d+\.\d GB = [\d,]+ bytes", message), message


def test_network_larger_than_memory_is_refused(monkeypatch):
    """Buffers that C can index but the machine cannot hold: a MemoryError
    naming the largest layer and the bytes, not an allocation that fails (or
    succeeds and swaps) part-way."""
    from fastnn import _conv_plan
    net = small_net()
    x = np.zeros((M, 144), np.float32)
    monkeypatch.setattr(_conv_plan, "physical_memory", lambda: 10**4)
    with pytest.raises(MemoryError, match=r"work buffers would need [\d.]+ KB = [\d,]+ bytes, more "
                                          r"than this machine's [\d.]+ KB = [\d,]+ bytes of memory; layer 0 "
                                          r"\(ConvPoolLayer\) needs"):
        net.feedforward(x)
    monkeypatch.setattr(_conv_plan, "physical_memory", lambda: None)   # unknown: no limit
    assert net.feedforward(x).shape == (M, 5)


def test_buffer_sizes_are_python_integers():
    """The size plan itself: products past 2**31 are exact (Python ints, no
    wrap-around), and so are the int products the threads split work with."""
    from fastnn import _conv_plan
    f32 = np.dtype(np.float32)
    w = np.zeros((1, 1, 256, 256), np.float32)
    spec = dict(kind="conv", act=activations.CODES["linear"], w=w, b=np.zeros(1, np.float32),
                image_shape=(1, 1, 512, 512), filter_shape=(1, 1, 256, 256), poolsize=(2, 2))
    with pytest.raises(MemoryError, match="im2col buffer would hold 4,328,587,264 values"):
        _conv_plan.plan_layer(0, spec, 1, 1, 1, f32)
    spec = dict(kind="fc", act=activations.CODES["linear"], w=np.zeros((1, 1), np.float32), b=np.zeros(1, np.float32))
    plan = _conv_plan.plan_layer(0, spec, 2**20, 2, 2, f32)
    assert plan["buffers"]["xd"][1] == (2**20, 1)
    # m*ng, the mini-batch split between two threads, passes 2**31-1
    with pytest.raises(MemoryError, match="split of the mini-batch would hold 2,147,483,650 values"):
        _conv_plan.plan_layer(0, spec, 2**30 + 1, 2, 2, f32)


def _tampered(plan, change):
    import copy
    plan = copy.deepcopy(plan)
    change(plan)
    return plan


@pytest.mark.parametrize("change,words", [
    (lambda p: p["layers"][0]["geometry"].update(chunk=M + 1), "layer 0: the memory plan does not fit the layer: geometry"),
    (lambda p: p["layers"][0]["geometry"].update(P=7), "geometry"),
    (lambda p: p["layers"][0]["buffers"].update(col=("im2col", (1, 5))), "buffer col holds 5 values"),
    (lambda p: p["layers"][1]["buffers"].pop("zpart"), "buffers ['zpart']"),
    (lambda p: p["layers"][1]["geometry"].update(in_size=74), "layer 1: the memory plan does not fit the layer: w or b"),
    (lambda p: p["layers"][2].update(kind="fc"), "layer 2: the memory plan does not fit the layer: kind"),
    (lambda p: p["layers"].pop(), "the memory plan has 2 layers, the network 3"),
    (lambda p: p.update(ng=2), "thread groups"),
])
def test_kernels_refuse_a_plan_that_does_not_fit_the_layers(change, words):
    """The compiled module follows the plan made in Python, after checking
    (cheaply) that it fits the specs: a wrong plan is a ValueError, never a
    buffer too small for the kernels' indices."""
    from fastnn import _conv_plan
    from fastnn._core import _conv
    net = small_net()
    specs = net._specs()
    plan = _conv_plan.plan(specs, M, 1, net.dtype)
    _conv.Net(specs, plan)          # the plan as made fits
    with pytest.raises(ValueError) as info:
        _conv.Net(specs, _tampered(plan, change))
    assert words in str(info.value)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_mini_batch_beyond_a_c_int_is_refused(backend):
    """A mini-batch size past 2**31-1 is refused by name when the network is
    made, on both backends (the compiled kernels' indices are C ints)."""
    layers = [FullyConnectedLayer(n_in=3, n_out=2), SoftmaxLayer(n_in=2, n_out=2)]
    with pytest.raises(ValueError, match=r"mini_batch_size must be at most 2\*\*31-1"):
        Network(layers, 2**31, backend=backend)


# ---------------------------------------------------------------------------
# 2. os.fork() after threaded kernels
# ---------------------------------------------------------------------------

def test_fork_after_threaded_training_child_trains():
    """libgomp's thread pool does not survive fork: a child that trained with
    two threads waited forever.  The child now runs one thread and gets the
    same weights as a one-thread run in the parent."""
    result = run_child(TINY + """
import os, pickle, sys, time
network3.set_num_threads(2)
train_tiny()                                   # the parent's OpenMP pool now exists
network3.set_num_threads(1)
_, expected = train_tiny()
network3.set_num_threads(2)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    threads, weights = train_tiny()
    os.write(w, pickle.dumps((threads, weights)))
    os._exit(0)
os.close(w)
deadline = time.time() + 60
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    sys.exit("the forked child hung")
threads, weights = pickle.loads(os.read(r, 1 << 20))
assert os.waitstatus_to_exitcode(status) == 0, status
assert threads == 1, threads
for a, b in zip(weights, expected):
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
print("ok")
""")
    assert_child_ok(result)
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_pool_after_threaded_training(tmp_path, method):
    """A multiprocessing.Pool made after the parent trained with two threads:
    its workers must train (fork: with one thread, as the parent's
    one-thread run; spawn: a fresh process, any thread count)."""
    script = tmp_path / "pool_{}.py".format(method)
    script.write_text(TINY + """
import multiprocessing as mp

if __name__ == "__main__":
    network3.set_num_threads(2)
    train_tiny()
    network3.set_num_threads(1)
    _, expected = train_tiny()
    network3.set_num_threads(2)
    with mp.get_context("{method}").Pool(2) as pool:
        results = pool.map_async(train_tiny, range(2)).get(timeout=60)
    for threads, weights in results:
        if "{method}" == "fork":
            assert threads == 1, threads
        for a, b in zip(weights, expected):
            assert np.isfinite(a).all()
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print("ok")
""".format(method=method))
    try:
        result = subprocess.run([sys.executable, str(script)], env=fastnn_env(), capture_output=True,
                                text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the pool's workers did not finish within 120 s")
    assert_child_ok(result)
    assert result.stdout.strip() == "ok"


def test_thread_count_in_a_forked_child():
    """get_num_threads() is 1 in a forked child until it is set there; set
    there, it is honoured unless the parent had run the kernels with
    threads (then OpenMP cannot start threads again, and a warning says so)."""
    result = run_child(TINY + """
import os, warnings

def in_child(body):
    pid = os.fork()
    if pid == 0:
        try:
            body()
        except BaseException as exc:
            print("child failed:", repr(exc))
            os._exit(1)
        os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0

def fresh():
    assert network3.get_num_threads() == 1
    network3.set_num_threads(2)
    assert network3.get_num_threads() == 2

def after_pool():
    assert network3.get_num_threads() == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network3.set_num_threads(2)
    assert network3.get_num_threads() == 1
    assert any("forked" in str(w.message) for w in caught), caught
    train_tiny()

network3.set_num_threads(2)
in_child(fresh)          # no kernel has run with threads yet
train_tiny()
assert network3.get_num_threads() == 2
in_child(after_pool)
print("ok")
""")
    assert_child_ok(result)
    assert result.stdout.strip() == "ok"


# ---------------------------------------------------------------------------
# 3. Layers changed after construction
# ---------------------------------------------------------------------------

# (layer index, attribute, new value, the exception, text the message must hold)
MUTATIONS = [
    (0, "poolsize", "(0, 2)", ValueError, "poolsize"),
    (0, "poolsize", "(20, 20)", ValueError, "poolsize"),
    (0, "filter_shape", "(3, 1, 0, 3)", ValueError, "filter_shape"),
    (0, "filter_shape", "(3, 1, 3)", ValueError, "filter_shape"),
    (0, "image_shape", "(4, 2, 12, 12)", ValueError, "image_shape"),
    (0, "activation_fn", "'softplus'", TypeError, "activation_fn"),
    (0, "p_dropout", "0.5", ValueError, "p_dropout"),
    (1, "activation_fn", "max", TypeError, "activation_fn"),
    (1, "p_dropout", "float('nan')", ValueError, "p_dropout"),
    (1, "p_dropout", "1.5", ValueError, "p_dropout"),
    (2, "p_dropout", "-0.1", ValueError, "p_dropout"),
    (1, "n_in", "0", ValueError, "n_in"),
    (1, "n_in", "2.5", TypeError, "n_in"),
    (1, "n_out", "9", ValueError, "n_out"),
    (1, "w", "np.zeros((75, 3))", ValueError, "w has shape"),
    (1, "w", "np.full((75, 7), np.nan)", ValueError, "w holds NaN or inf"),
    (2, "b", "['a'] * 5", TypeError, "b must hold numbers"),
    (2, "b", "[[1.0], [2.0, 3.0]]", ValueError, "b is not a rectangular array"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer,attr,value,exc,text", MUTATIONS,
                         ids=["{}.{}={}".format(*m[:3]) for m in MUTATIONS])
def test_layer_changed_after_construction(backend, layer, attr, value, exc, text):
    """Each mutation is refused when assigned or when the network next runs,
    with an exception naming the attribute: never SIGFPE (a zero pool side
    divided by zero in C), a KeyError, or NaN outputs."""
    result = run_child("""
        import math
        import numpy as np
        from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer
        layers = [ConvPoolLayer(image_shape=(4, 1, 12, 12), filter_shape=(3, 1, 3, 3)),
                  FullyConnectedLayer(n_in=75, n_out=7), SoftmaxLayer(n_in=7, n_out=5)]
        net = Network(layers, 4, backend="{backend}")
        try:
            setattr(layers[{layer}], "{attr}", {value})
            out = net.feedforward(np.zeros((4, 144)))
            print("no error; outputs finite:", bool(np.isfinite(out).all()))
        except Exception as exc:
            print(type(exc).__name__ + ":", exc)
        """.format(backend=backend, layer=layer, attr=attr, value=value))
    assert_child_ok(result)
    assert result.stdout.startswith(exc.__name__ + ":"), result.stdout
    assert text in result.stdout, result.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_reassigned_parameters_are_converted_and_trained(backend):
    """w and b may be reassigned (the book's layers hold them as shared
    variables): a list, or float64 for a float32 net, is converted and put
    back on the layer, and training updates that array."""
    net = small_net(backend)
    fc = net.layers[1]
    fc.w = np.full((75, 7), 0.01).tolist()
    net.layers[2].b = np.zeros(5, np.float64)
    rng = np.random.default_rng(0)
    data = (rng.random((8, 144)).astype(np.float32), rng.integers(0, 5, 8))
    net.SGD(data, 1, M, 0.5, data, None, verbose=False)
    assert isinstance(fc.w, np.ndarray) and fc.w.dtype == np.float32 and fc.w.shape == (75, 7)
    assert not np.all(fc.w == np.float32(0.01)), "training did not update the layer's own w"
    assert net.layers[2].b.dtype == np.float32 and np.any(net.layers[2].b != 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_sizes_changed_after_the_network_was_built(backend):
    """A layer resized consistently with itself (n_in and w together) but no
    longer with its neighbour: the network's chain check catches it on
    every path, not only in __init__."""
    net = small_net(backend)
    fc = net.layers[1]
    fc.n_in = 50
    fc.w = np.zeros((50, 7), np.float32)
    x = np.zeros((M, 144), np.float32)
    data = (x, np.zeros(M, int))
    msg = r"layer 1 \(FullyConnectedLayer\) takes 50 inputs \(n_in\), but layer 0 \(ConvPoolLayer\) gives 75"
    for call in (lambda: net.feedforward(x), lambda: net.predict(x), lambda: net.accuracy(data),
                 lambda: net.SGD(data, 1, M, 0.1, data, None, verbose=False)):
        with pytest.raises(ValueError, match=msg):
            call()


# ---------------------------------------------------------------------------
# 4. NaN and inf input: one policy, the row and the column named
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_feedforward_and_predict_reject_non_finite_input(backend, value):
    net = small_net(backend)
    x = np.random.default_rng(0).random((6, 144))
    x[2, 17] = value
    msg = r"feedforward input holds NaN or inf \(first at example 2, feature 17\)"
    with pytest.raises(ValueError, match=msg):
        net.feedforward(x)
    with pytest.raises(ValueError, match=msg):
        net.predict(x)
    with pytest.raises(ValueError, match=r"data holds NaN or inf \(first at example 2, feature 17\)"):
        net.accuracy((x[:4], np.zeros(4, int)))


def test_check_finite_names_row_and_column():
    from fastnn._validation import check_finite
    a = np.zeros((700, 3, 4))
    a[600, 2, 1] = np.nan           # past the first chunk of rows; column 2*4+1 of the flat row
    with pytest.raises(ValueError, match=r"^X holds NaN or inf \(first at example 600, feature 9\)$"):
        check_finite(a, "X")
    with pytest.raises(ValueError, match=r"^y holds NaN or inf \(first at example 5\)$"):
        check_finite(np.where(np.arange(8) == 5, np.inf, 0.0), "y")


# ---------------------------------------------------------------------------
# 10. Ragged lists and empty input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_ragged_lists_are_named(backend):
    net = small_net(backend)
    ragged = [[0.0] * 144, [0.0] * 3]
    with pytest.raises(ValueError, match="feedforward input is not a rectangular array"):
        net.feedforward(ragged)
    with pytest.raises(ValueError, match="feedforward input is not a rectangular array"):
        net.predict(ragged)
    with pytest.raises(ValueError, match="data x is not a rectangular array"):
        net.accuracy((ragged, [0, 1]))
    good = [[0.0] * 144] * M
    with pytest.raises(ValueError, match="training_data y is not a rectangular array"):
        net.SGD((good, [[0], [1, 2], [0], [0]]), 1, M, 0.1, (good, [0] * M), None, verbose=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_rows_give_an_empty_answer(backend, dtype):
    net = small_net(backend, dtype)
    out = net.feedforward(np.zeros((0, 144)))
    assert out.shape == (0, 5) and out.dtype == dtype
    assert net.predict(np.zeros((0, 144))).shape == (0,)


# ---------------------------------------------------------------------------
# Property-based: random valid geometries agree on both backends; random
# invalid changes are refused, naming the attribute
# ---------------------------------------------------------------------------

ACTS = [linear, ReLU, sigmoid, tanh] + [activations.get(name) for name in activations.HIDDEN
                                        if name not in reference3.BOOK.values()]
TOL = {np.float32: 1e-5, np.float64: 1e-10}


@st.composite
def networks(draw):
    """A random small valid network3 net: 0-2 conv-pool layers, 0-1 fully
    connected, a softmax; returns (layers, mini_batch_size, dtype, x)."""
    m = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    np.random.seed(draw(st.integers(0, 2**31 - 1)))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n_in = c * h * w
    layers = []
    for _ in range(draw(st.integers(0, 2))):
        if h < 1 or w < 1:
            break
        kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
        ph, pw = draw(st.integers(1, h - kh + 1)), draw(st.integers(1, w - kw + 1))
        f = draw(st.integers(1, 3))
        layers.append(ConvPoolLayer(image_shape=(m, c, h, w), filter_shape=(f, c, kh, kw),
                                    poolsize=(ph, pw), activation_fn=draw(st.sampled_from(ACTS))))
        c, h, w = layers[-1].output_shape
        n_in = c * h * w
    if draw(st.booleans()):
        n_out = draw(st.integers(1, 6))
        layers.append(FullyConnectedLayer(n_in=n_in, n_out=n_out, activation_fn=draw(st.sampled_from(ACTS)),
                                          p_dropout=draw(st.floats(0.0, 0.9))))
        n_in = n_out
    layers.append(SoftmaxLayer(n_in=n_in, n_out=draw(st.integers(2, 5)),
                               p_dropout=draw(st.floats(0.0, 0.9))))
    layers[-1].w = np.random.normal(size=layers[-1].w.shape)
    rows = draw(st.integers(1, 2 * m + 1))
    x = np.random.uniform(-1, 1, size=(rows, layers[0].n_in))
    return layers, m, dtype, x


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_valid_networks_agree_on_both_backends(case):
    layers, m, dtype, x = case
    net = Network(layers, m, dtype=dtype, backend="numpy")
    expected = net.feedforward(x)
    net.backend = "cython"
    actual = net.feedforward(x)
    assert_close(actual, expected, "feedforward of {} layers, m={}, {}".format(
        [type(layer).__name__ for layer in layers], m, np.dtype(dtype).name), atol=TOL[dtype])
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-4)


BAD_VALUES = {
    "filter_shape": [(0, 1, 1, 1), (1, 1, 1), "3x3", (1.5, 1, 1, 1), (1, 1, -2, 1)],
    "image_shape": [(1, 1, 0, 5), (1, 1, 5), None, (1, 7, 5, 5)],
    "poolsize": [(0, 2), (2,), (2, -1), (2.0, 2), None, (50, 50)],
    "activation_fn": ["softplus", max, None, 3, [sigmoid]],
    "p_dropout": [float("nan"), float("inf"), 1.0, 1.5, -0.5, "0.1", None],
    "n_in": [0, -1, 2.5, "3", None, 10**6],
    "n_out": [0, -3, 1.5, None, 10**6],
    "w": ["junk", np.zeros((1, 1)), np.full((1, 1, 1, 1), np.nan)],
    "b": [["a"], np.zeros(17), [np.inf]],
}
CONV_ATTRS = ["filter_shape", "image_shape", "poolsize", "activation_fn", "p_dropout", "w", "b"]
DENSE_ATTRS = ["n_in", "n_out", "activation_fn", "p_dropout", "w", "b"]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.data())
def test_random_invalid_changes_are_refused(case, data):
    layers, m, dtype, x = case
    net = Network(layers, m, dtype=dtype, backend=data.draw(st.sampled_from(BACKENDS)))
    j = data.draw(st.integers(0, len(layers) - 1))
    layer = layers[j]
    attrs = CONV_ATTRS if layer.is_conv else DENSE_ATTRS
    if layer.is_softmax:
        attrs = [a for a in attrs if a != "activation_fn"]
    attr = data.draw(st.sampled_from(attrs))
    value = data.draw(st.sampled_from(BAD_VALUES[attr]))
    if attr == "p_dropout" and layer.is_conv:
        value = 0.5
    if attr == "w" and not layer.is_conv and isinstance(value, np.ndarray) and value.ndim == 4:
        value = np.full(layer.w.shape, np.nan)
    if attr == "w" and isinstance(value, np.ndarray) and value.shape == layer.w.shape \
            and np.isfinite(value).all():
        value = np.zeros((layer.w.shape[0] + 1,) + layer.w.shape[1:])   # (1, 1) fits a 1-by-1 layer
    with pytest.raises((ValueError, TypeError)) as info:
        setattr(layer, attr, value)
        net.feedforward(x)
    message = str(info.value)
    names = {"w": r"\bw\b", "b": r"\bb\b"}
    # an image_shape that no longer fits the filter is reported with filter_shape too
    assert re.search(names.get(attr, attr), message) or (
        attr == "image_shape" and "filter_shape" in message), (attr, value, message)

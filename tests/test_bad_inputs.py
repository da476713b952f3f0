"""Input checking at the boundary.

Every bad argument handed to the drop-ins (``fastnn.network``,
``fastnn.network2``) or to the array API (``fastnn.MLP``) must become a clear
Python exception that names the problem: never a crash, a hang or garbage.
Arrays of another float dtype or of another layout are converted, not refused.
Training that diverges stops with ``fastnn.TrainingDiverged`` naming the epoch.
Saved files that are truncated, inconsistent or name an unknown cost are refused.

Everything here runs on tiny random networks ([4, 3, 2]) and takes well under
a few seconds; MNIST is never loaded.
"""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import MLP, TrainingDiverged, _book, network, network2
from fastnn.costs import QuadraticCost
from helpers import fastnn_env

SIZES = [4, 3, 2]
N_IN, N_OUT = SIZES[0], SIZES[-1]
BACKENDS = ["cython", "numpy"]
BOOKS = ["network", "network2"]


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def restore_settings():
    """Every test leaves the process-wide backend and shuffle as it found them."""
    backend, shuffle = fastnn.get_backend(), fastnn.get_shuffle()
    yield
    fastnn.set_backend(backend)
    fastnn.set_shuffle(shuffle)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=BOOKS)
def book(request):
    return request.param


def rng(seed=0):
    return np.random.default_rng(seed)


def onehot(j, n=N_OUT):
    e = np.zeros((n, 1))
    e[j] = 1.0
    return e


def training_pairs(n=6, seed=0):
    """The book's training data: (x (4, 1), y one-hot (2, 1)) pairs."""
    r = rng(seed)
    return [(r.standard_normal((N_IN, 1)), onehot(int(r.integers(N_OUT)))) for _ in range(n)]


def eval_pairs(n=6, seed=1):
    """The book's test/evaluation data: (x (4, 1), integer label) pairs."""
    r = rng(seed)
    return [(r.standard_normal((N_IN, 1)), int(r.integers(N_OUT))) for _ in range(n)]


def arrays(n=8, seed=0):
    r = rng(seed)
    return r.standard_normal((n, N_IN)), r.integers(0, N_OUT, n)


def make_book(kind, backend, sizes=SIZES, cost=None):
    np.random.seed(0)
    if kind == "network":
        return network.Network(sizes, backend=backend)
    if cost is None:
        return network2.Network(sizes, backend=backend)
    return network2.Network(sizes, cost=cost, backend=backend)


def book_evaluate(net, data):
    """network.evaluate or network2.accuracy: the integer-label check."""
    if isinstance(net, network2.Network):
        return net.accuracy(data)
    return net.evaluate(data)


def book_sgd_evaluating(net, data, monitor="monitor_evaluation_accuracy"):
    """One epoch of SGD with ``data`` as network's test_data or network2's
    monitored evaluation_data."""
    if isinstance(net, network2.Network):
        return net.SGD(training_pairs(), 1, 2, 0.5, evaluation_data=data, **{monitor: True})
    return net.SGD(training_pairs(), 1, 2, 0.5, test_data=data)


def snapshot(net):
    return ([np.array(w, copy=True) for w in net.weights],
            [np.array(b, copy=True) for b in net.biases])


def assert_unchanged(net, snap):
    weights, biases = snap
    assert len(net.weights) == len(weights) and len(net.biases) == len(biases)
    for a, b in zip(net.weights, weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(net.biases, biases):
        np.testing.assert_array_equal(a, b)


def assert_same_params(net_a, net_b):
    for a, b in zip(net_a.weights + net_a.biases, net_b.weights + net_b.biases):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


class HalvedQuadraticCost(object):
    """A cost the compiled kernels do not implement: half the quadratic cost."""

    @staticmethod
    def fn(a, y):
        return 0.25*np.linalg.norm(a-y)**2

    @staticmethod
    def delta(z, a, y):
        return 0.5*QuadraticCost.delta(z, a, y)


# ---------------------------------------------------------------------------
# set_backend / set_shuffle / backend= arguments
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["torch", "", "cuda", None, 3, "numpy "])
def test_set_backend_rejects_unknown_names(name):
    before = fastnn.get_backend()
    with pytest.raises(ValueError, match="backend must be one of"):
        fastnn.set_backend(name)
    assert fastnn.get_backend() == before


@pytest.mark.parametrize("name", ["python4", "", "numpy", None, 2])
def test_set_shuffle_rejects_unknown_names(name):
    before = fastnn.get_shuffle()
    with pytest.raises(ValueError, match="shuffle must be one of"):
        fastnn.set_shuffle(name)
    assert fastnn.get_shuffle() == before


@pytest.mark.parametrize("name", ["NumPy", "CYTHON"])
def test_set_backend_is_case_insensitive(name):
    fastnn.set_backend(name)
    assert fastnn.get_backend() == name.lower()


@pytest.mark.parametrize("factory", [
    lambda: network.Network(SIZES, backend="gpu"),
    lambda: network2.Network(SIZES, backend="gpu"),
    lambda: MLP(SIZES, backend="gpu"),
], ids=["network", "network2", "MLP"])
def test_constructors_reject_unknown_backend(factory):
    with pytest.raises(ValueError, match="backend must be one of.*'gpu'"):
        factory()


def test_loaders_reject_unknown_backend(tmp_path):
    path = str(tmp_path / "net.json")
    MLP(SIZES, seed=0).save(path)
    with pytest.raises(ValueError, match="backend must be one of"):
        network2.load(path, backend="gpu")
    with pytest.raises(ValueError, match="backend must be one of"):
        MLP.load(path, backend="gpu")


@pytest.mark.parametrize("var, value", [("FASTNN_BACKEND", "torch"), ("FASTNN_SHUFFLE", "python4")])
def test_bad_environment_setting_names_the_variable(var, value, tmp_path):
    env = fastnn_env(**{var: value})
    proc = subprocess.run([sys.executable, "-c", "import fastnn"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and var in proc.stderr and value in proc.stderr


# ---------------------------------------------------------------------------
# layer sizes, cost, dtype, init
# ---------------------------------------------------------------------------

BAD_SIZES = [
    ([], ValueError, "at least an input and an output"),
    ([784], ValueError, "at least an input and an output"),
    ([4, 0, 2], ValueError, "at least one neuron"),
    ([4, 3, -2], ValueError, "at least one neuron"),
    ([4, 2.5, 2], TypeError, "not a whole number"),
    ([4, 3.0, 2], TypeError, "not a whole number"),
    ([4, True, 2], TypeError, "not a whole number"),
    ([4, "3", 2], TypeError, "not a whole number"),
    ([4, None, 2], TypeError, "not a whole number"),
    (None, TypeError, "sizes must be a list"),
    (7, TypeError, "sizes must be a list"),
]


@pytest.mark.parametrize("sizes, exc, msg", BAD_SIZES, ids=[repr(s[0]) for s in BAD_SIZES])
@pytest.mark.parametrize("factory", [network.Network, network2.Network, MLP],
                         ids=["network", "network2", "MLP"])
def test_bad_layer_sizes(factory, sizes, exc, msg):
    with pytest.raises(exc, match=msg):
        factory(sizes)


def test_numpy_integer_sizes_are_accepted():
    sizes = np.array(SIZES)
    assert network.Network(sizes).sizes == SIZES
    assert network2.Network(list(sizes)).sizes == SIZES
    assert MLP(sizes, seed=0).sizes == SIZES


@pytest.mark.parametrize("cost, exc, msg", [
    ("bogus", ValueError, "unknown cost 'bogus'"),
    (5, TypeError, "fn\\(a, y\\) and delta"),
    (object, TypeError, "fn\\(a, y\\) and delta"),
])
def test_bad_cost_at_construction(cost, exc, msg):
    with pytest.raises(exc, match=msg):
        network2.Network(SIZES, cost=cost)
    with pytest.raises(exc, match=msg):
        MLP(SIZES, cost=cost)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", "banana", "object"])
def test_mlp_bad_dtype(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        MLP(SIZES, dtype=dtype)


def test_mlp_bad_init():
    with pytest.raises(ValueError, match="init must be one of 'default', 'large', 'he'"):
        MLP(SIZES, init="xavier")


# ---------------------------------------------------------------------------
# a custom cost: the drop-ins' compiled backend takes the book path, numpy
# trains batched, MLP's compiled backend refuses clearly
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", [None, "cython"])
def test_custom_cost_network2_compiled_backend_takes_the_book_path(backend, monkeypatch):
    monkeypatch.setattr(_book, "_warned", set())    # each case sees its own first warning
    fastnn.set_backend("cython")
    net = make_book("network2", backend, cost=HalvedQuadraticCost())   # an instance, as the book passes
    batched = make_book("network2", "numpy", cost=HalvedQuadraticCost)
    with pytest.warns(fastnn.BookPathWarning, match="HalvedQuadraticCost"):
        net.SGD(training_pairs(), 1, 6, 0.5)
    batched.SGD(training_pairs(), 1, 6, 0.5)     # one mini-batch: the order does not matter
    for a, b in zip(net.weights + net.biases, batched.weights + batched.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_custom_cost_network2_numpy_backend_trains():
    net = make_book("network2", "numpy", cost=HalvedQuadraticCost)
    before = snapshot(net)
    net.SGD(training_pairs(), 2, 2, 0.5, lmbda=0.1, evaluation_data=eval_pairs(),
            monitor_evaluation_cost=True, monitor_training_cost=True)
    assert all(np.all(np.isfinite(w)) for w in net.weights + net.biases)
    assert not np.array_equal(net.weights[0], before[0][0])


def test_custom_cost_network2_numpy_via_set_backend_trains():
    fastnn.set_backend("numpy")
    net = make_book("network2", None, cost=HalvedQuadraticCost)
    net.SGD(training_pairs(), 1, 2, 0.5)
    assert all(np.all(np.isfinite(w)) for w in net.weights)


def test_custom_cost_mlp_compiled_backend_says_use_numpy():
    X, y = arrays()
    net = MLP(SIZES, cost=HalvedQuadraticCost, backend="cython", seed=0)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="backend='numpy'"):
        net.fit(X, y, epochs=1)
    assert_unchanged(net, snap)


def test_custom_cost_mlp_numpy_backend_trains():
    X, y = arrays()
    net = MLP(SIZES, cost=HalvedQuadraticCost, backend="numpy", seed=0)
    history = net.fit(X, y, epochs=2, batch_size=3, validation_data=(X, y))
    assert len(history) == 2 and np.isfinite(history[-1]["val_cost"])
    assert 0.0 <= net.score(X, y) <= 1.0


def test_custom_cost_saved_file_names_unknown_cost(tmp_path):
    path = str(tmp_path / "custom.json")
    MLP(SIZES, cost=HalvedQuadraticCost, backend="numpy", seed=0).save(path)
    with pytest.raises(ValueError, match="unknown cost 'HalvedQuadraticCost'"):
        MLP.load(path)
    with pytest.raises(ValueError, match="unknown cost 'HalvedQuadraticCost'"):
        network2.load(path)


# ---------------------------------------------------------------------------
# drop-ins: hyper-parameters (epochs, mini_batch_size, eta, lmbda, n)
# ---------------------------------------------------------------------------

BAD_HYPER = [
    # (epochs, mini_batch_size, eta, exception, message)
    (1, 0, 0.5, ValueError, "mini_batch_size must be at least 1"),
    (1, -3, 0.5, ValueError, "mini_batch_size must be at least 1"),
    (1, 2.5, 0.5, TypeError, "mini_batch_size must be a whole number"),
    (1, True, 0.5, TypeError, "mini_batch_size must be a whole number"),
    (1, "10", 0.5, TypeError, "mini_batch_size must be a whole number"),
    (1, None, 0.5, TypeError, "mini_batch_size must be a whole number"),
    (-1, 2, 0.5, ValueError, "epochs must be >= 0"),
    (1.5, 2, 0.5, TypeError, "epochs must be a whole number"),
    (1, 2, float("nan"), ValueError, "eta must be finite"),
    (1, 2, float("inf"), ValueError, "eta must be finite"),
    (1, 2, float("-inf"), ValueError, "eta must be finite"),
    (1, 2, np.float32("nan"), ValueError, "eta must be finite"),
    (1, 2, np.float64("inf"), ValueError, "eta must be finite"),
    (1, 2, "0.5", TypeError, "eta must be a real number"),
    (1, 2, None, TypeError, "eta must be a real number"),
    (1, 2, 1j, TypeError, "eta must be a real number"),
]


@pytest.mark.parametrize("epochs, mbs, eta, exc, msg", BAD_HYPER,
                         ids=["{}-{}-{}".format(*c[:3]) for c in BAD_HYPER])
def test_book_sgd_bad_hyperparameters(book, backend, epochs, mbs, eta, exc, msg):
    net = make_book(book, backend)
    data = training_pairs()
    order = [id(p) for p in data]
    snap = snapshot(net)
    with pytest.raises(exc, match=msg):
        net.SGD(data, epochs, mbs, eta)
    assert_unchanged(net, snap)
    assert [id(p) for p in data] == order, "a refused call must not shuffle the caller's list"


@pytest.mark.parametrize("lmbda", [float("nan"), float("inf"), -np.inf, np.float32("nan")])
def test_network2_sgd_non_finite_lmbda(backend, lmbda):
    net = make_book("network2", backend)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="lmbda must be finite"):
        net.SGD(training_pairs(), 1, 2, 0.5, lmbda=lmbda)
    assert_unchanged(net, snap)


def test_network2_sgd_lmbda_not_a_number(backend):
    net = make_book("network2", backend)
    with pytest.raises(TypeError, match="lmbda must be a real number"):
        net.SGD(training_pairs(), 1, 2, 0.5, lmbda="0.1")


@pytest.mark.parametrize("eta", [float("nan"), float("inf")])
def test_book_update_mini_batch_non_finite_eta(book, backend, eta):
    net = make_book(book, backend)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="eta must be finite"):
        if book == "network":
            net.update_mini_batch(training_pairs(), eta)
        else:
            net.update_mini_batch(training_pairs(), eta, 0.0, 6)
    assert_unchanged(net, snap)


@pytest.mark.parametrize("lmbda, n, exc, msg", [
    (float("nan"), 6, ValueError, "lmbda must be finite"),
    (float("inf"), 6, ValueError, "lmbda must be finite"),
    (0.0, 0, ValueError, "n must be at least 1"),
    (0.0, -6, ValueError, "n must be at least 1"),
    (0.0, 6.5, TypeError, "n must be a whole number"),
])
def test_network2_update_mini_batch_bad_lmbda_or_n(backend, lmbda, n, exc, msg):
    net = make_book("network2", backend)
    snap = snapshot(net)
    with pytest.raises(exc, match=msg):
        net.update_mini_batch(training_pairs(), 0.5, lmbda, n)
    assert_unchanged(net, snap)


@pytest.mark.parametrize("lmbda", [float("nan"), float("inf")])
def test_network2_total_cost_non_finite_lmbda(backend, lmbda):
    net = make_book("network2", backend)
    with pytest.raises(ValueError, match="lmbda must be finite"):
        net.total_cost(training_pairs(), lmbda)


def test_network2_monitor_evaluation_without_data(backend):
    net = make_book("network2", backend)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="need evaluation_data"):
        net.SGD(training_pairs(), 1, 2, 0.5, monitor_evaluation_accuracy=True)
    with pytest.raises(ValueError, match="need evaluation_data"):
        net.SGD(training_pairs(), 1, 2, 0.5, evaluation_data=[], monitor_evaluation_cost=True)
    assert_unchanged(net, snap)


def test_book_sgd_zero_epochs_and_huge_mini_batch_are_fine(book, backend):
    net = make_book(book, backend)
    snap = snapshot(net)
    net.SGD(training_pairs(), 0, 2, 0.5)
    assert_unchanged(net, snap)
    net.SGD(training_pairs(), 1, 10**6, 0.5)      # one mini-batch holding everything
    assert all(np.all(np.isfinite(w)) for w in net.weights)


# ---------------------------------------------------------------------------
# drop-ins: empty data, not a list of pairs
# ---------------------------------------------------------------------------

def test_book_sgd_empty_training_data(book, backend):
    net = make_book(book, backend)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="training_data is empty"):
        net.SGD([], 1, 2, 0.5)
    assert_unchanged(net, snap)


def test_book_evaluate_empty(book, backend):
    net = make_book(book, backend)
    with pytest.raises(ValueError, match="is empty"):
        book_evaluate(net, [])


def test_book_update_mini_batch_empty(book, backend):
    net = make_book(book, backend)
    snap = snapshot(net)
    with pytest.raises(ValueError, match="mini_batch is empty"):
        if book == "network":
            net.update_mini_batch([], 0.5)
        else:
            net.update_mini_batch([], 0.5, 0.0, 6)
    assert_unchanged(net, snap)


def test_network2_total_cost_empty(backend):
    net = make_book("network2", backend)
    with pytest.raises(ValueError, match="data is empty"):
        net.total_cost([], 0.0)
    with pytest.raises(ValueError, match="data is empty"):
        net.total_cost([], 0.0, convert=True)


def test_book_sgd_zip_object_says_wrap_in_list(book, backend):
    net = make_book(book, backend)
    xs, ys = zip(*training_pairs())
    with pytest.raises(TypeError, match="wrap a zip\\(\\) in list\\(\\)"):
        net.SGD(zip(xs, ys), 1, 2, 0.5)
    with pytest.raises(TypeError, match="list of \\(x, y\\) pairs"):
        book_evaluate(net, (p for p in eval_pairs()))


def test_book_sgd_ndarray_is_not_a_list_of_pairs(book, backend):
    net = make_book(book, backend)
    with pytest.raises(TypeError, match="list of \\(x, y\\) pairs.*ndarray"):
        net.SGD(np.zeros((6, 2)), 1, 2, 0.5)


@pytest.mark.parametrize("bad_item", [
    lambda x, y: (x, y, 0),
    lambda x, y: x,
    lambda x, y: (x,),
    lambda x, y: None,
], ids=["triple", "bare-x", "one-tuple", "None"])
def test_book_sgd_items_that_are_not_pairs(book, backend, bad_item):
    net = make_book(book, backend)
    data = training_pairs()
    data[3] = bad_item(*data[3])
    with pytest.raises(TypeError, match="training_data\\[3\\] is not an \\(x, y\\) pair"):
        net.SGD(data, 1, 2, 0.5)


# ---------------------------------------------------------------------------
# drop-ins: wrong shapes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x, y", [
    (np.zeros((5, 1)), onehot(0)),            # input of the wrong size
    (np.zeros((1, 4)), onehot(0)),            # a row instead of a column
    (np.zeros((4, 2)), onehot(0)),            # two columns
    (np.zeros((4, 1)), onehot(0, 3)),         # target of the wrong size
    (np.zeros((4, 1)), np.zeros((1, 2))),     # a row target
    (np.zeros((4, 1)), 1),                    # an integer label where a vector is needed
], ids=["x5", "x-row", "x-2cols", "y3", "y-row", "y-label"])
def test_book_sgd_wrong_shapes(book, backend, x, y):
    net = make_book(book, backend)
    snap = snapshot(net)
    data = training_pairs()
    data[2] = (x, y)
    with pytest.raises(ValueError, match="shape"):
        net.SGD(data, 1, 2, 0.5)
    assert_unchanged(net, snap)


def test_book_sgd_wrong_shape_names_the_item(book, backend):
    net = make_book(book, backend)
    data = training_pairs()
    data[4] = (np.zeros((5, 1)), data[4][1])
    with pytest.raises(ValueError, match="item 4 .*shape \\(5, 1\\).*\\(4, 1\\)"):
        net.SGD(data, 1, 2, 0.5)


def test_book_all_inputs_wrong_size(book, backend):
    net = make_book(book, backend)
    data = [(np.zeros((3, 1)), y) for _, y in training_pairs()]
    with pytest.raises(ValueError, match="shape .*\\(4, 1\\)"):
        net.SGD(data, 1, 2, 0.5)


def test_book_test_data_vector_label(book, backend):
    net = make_book(book, backend)
    snap = snapshot(net)
    bad = eval_pairs()
    bad[1] = (bad[1][0], onehot(1))        # training-format data passed as test data
    with pytest.raises(ValueError, match="label of shape \\(2, 1\\).*integer class label"):
        book_evaluate(net, bad)
    with pytest.raises(ValueError, match="integer class label"):
        book_sgd_evaluating(net, bad)
    assert_unchanged(net, snap)


def test_book_test_data_wrong_input_shape(book, backend):
    net = make_book(book, backend)
    bad = eval_pairs()
    bad[0] = (np.zeros((7, 1)), 0)
    with pytest.raises(ValueError, match="shape"):
        book_evaluate(net, bad)


@pytest.mark.parametrize("a", [np.zeros((5, 1)), np.zeros((3,)), np.zeros((4, 1, 1)),
                               np.float64(1.0), np.zeros((0, 1))],
                         ids=["5x1", "3", "4x1x1", "scalar", "0x1"])
def test_book_feedforward_wrong_shape(book, backend, a):
    net = make_book(book, backend)
    with pytest.raises(ValueError, match="feedforward expects an input of shape \\(4, 1\\)"):
        net.feedforward(a)


def test_book_backprop_wrong_shape(book, backend):
    net = make_book(book, backend)
    with pytest.raises(ValueError, match="shape"):
        net.backprop(np.zeros((5, 1)), onehot(0))
    with pytest.raises(ValueError, match="shape"):
        net.backprop(np.zeros((4, 1)), onehot(0, 4))


def test_network2_accuracy_convert_with_labels(backend):
    """convert=True expects vector targets: integer labels are a shape error."""
    net = make_book("network2", backend)
    with pytest.raises(ValueError, match="shape"):
        net.accuracy(eval_pairs(), convert=True)


def test_network2_total_cost_convert_false_with_labels(backend):
    net = make_book("network2", backend)
    with pytest.raises(ValueError, match="shape"):
        net.total_cost(eval_pairs(), 0.0, convert=False)


# -- parameters assigned from outside ---------------------------------------

@pytest.mark.parametrize("mutate, msg", [
    (lambda net: net.weights.__setitem__(0, np.zeros((4, 3))), "net.weights\\[0\\] has shape \\(4, 3\\)"),
    (lambda net: net.weights.__setitem__(1, np.zeros((2, 4))), "net.weights\\[1\\] has shape"),
    (lambda net: net.biases.__setitem__(0, np.zeros((4, 1))), "net.biases\\[0\\] has shape"),
    (lambda net: net.weights.pop(), "net.weights has 1 arrays"),
    (lambda net: net.biases.append(np.zeros((2, 1))), "net.biases has 3 arrays"),
], ids=["w0-transposed", "w1-wrong", "b0-wrong", "w-missing", "b-extra"])
def test_book_assigned_parameters_wrong_shape(book, backend, mutate, msg):
    net = make_book(book, backend)
    mutate(net)
    snap = snapshot(net)
    with pytest.raises(ValueError, match=msg):
        net.SGD(training_pairs(), 1, 2, 0.5)
    assert_unchanged(net, snap)
    with pytest.raises(ValueError, match=msg):
        net.feedforward(np.zeros((4, 1)))
    with pytest.raises(ValueError, match=msg):
        book_evaluate(net, eval_pairs())


@pytest.mark.parametrize("where", ["weights", "biases"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_book_assigned_parameters_non_finite(book, backend, where, value):
    net = make_book(book, backend)
    getattr(net, where)[1][0, 0] = value
    snap = snapshot(net)
    msg = "net.{}\\[1\\] holds NaN or inf".format(where)
    with pytest.raises(ValueError, match=msg):
        net.SGD(training_pairs(), 1, 2, 0.5)
    with pytest.raises(ValueError, match=msg):
        net.feedforward(np.zeros((4, 1)))
    with pytest.raises(ValueError, match=msg):
        book_evaluate(net, eval_pairs())
    with pytest.raises(ValueError, match=msg):
        net.backprop(*training_pairs()[0])
    assert_unchanged(net, snap)


def test_network2_save_refuses_non_finite_weights(tmp_path, backend):
    net = make_book("network2", backend)
    net.weights[0][1, 1] = np.nan
    path = tmp_path / "nan.json"
    with pytest.raises(ValueError, match="NaN"):
        net.save(str(path))
    assert not path.exists()
    assert os.listdir(str(tmp_path)) == []


# ---------------------------------------------------------------------------
# drop-ins: NaN / inf inputs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("part", ["x", "y"])
def test_book_sgd_non_finite_training_data(book, backend, value, part):
    net = make_book(book, backend)
    snap = snapshot(net)
    data = training_pairs()
    x, y = data[3]
    x, y = x.copy(), y.copy()
    (x if part == "x" else y)[1, 0] = value
    data[3] = (x, y)
    what = "inputs" if part == "x" else "targets"
    with pytest.raises(ValueError, match="training_data {} holds NaN or inf \\(first at example 3, feature 1\\)".format(what)):
        net.SGD(data, 1, 2, 0.5)
    assert_unchanged(net, snap)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_book_test_data_non_finite(book, backend, value):
    net = make_book(book, backend)
    snap = snapshot(net)
    data = eval_pairs()
    x = data[2][0].copy()
    x[0, 0] = value
    data[2] = (x, data[2][1])
    with pytest.raises(ValueError, match="NaN or inf"):
        book_evaluate(net, data)
    with pytest.raises(ValueError, match="NaN or inf"):
        book_sgd_evaluating(net, data, "monitor_evaluation_cost")
    assert_unchanged(net, snap)


def test_book_feedforward_backprop_update_non_finite(book, backend):
    net = make_book(book, backend)
    snap = snapshot(net)
    bad = np.zeros((4, 1))
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="feedforward input holds NaN"):
        net.feedforward(bad)
    with pytest.raises(ValueError, match="NaN"):
        net.backprop(bad, onehot(0))
    with pytest.raises(ValueError, match="mini_batch inputs holds NaN"):
        if book == "network":
            net.update_mini_batch([(bad, onehot(0))], 0.5)
        else:
            net.update_mini_batch([(bad, onehot(0))], 0.5, 0.0, 1)
    assert_unchanged(net, snap)


def test_network2_total_cost_non_finite(backend):
    net = make_book("network2", backend)
    data = training_pairs()
    data[0] = (data[0][0], np.array([[np.nan], [1.0]]))
    with pytest.raises(ValueError, match="data targets holds NaN"):
        net.total_cost(data, 0.0)


# ---------------------------------------------------------------------------
# drop-ins: labels out of range / not integers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("label", [2, -1, 10, np.uint8(255), np.int64(2**40)])
def test_book_labels_out_of_range(book, backend, label):
    net = make_book(book, backend)
    snap = snapshot(net)
    data = eval_pairs()
    data[4] = (data[4][0], label)
    with pytest.raises(ValueError, match="labels\\[4\\] = -?\\d+ is out of range.*2 classes"):
        book_evaluate(net, data)
    with pytest.raises(ValueError, match="out of range"):
        book_sgd_evaluating(net, data)
    assert_unchanged(net, snap)


def test_network2_total_cost_convert_label_out_of_range(backend):
    net = make_book("network2", backend)
    data = eval_pairs()
    data[0] = (data[0][0], 5)
    with pytest.raises(ValueError, match="out of range"):
        net.total_cost(data, 0.0, convert=True)


@pytest.mark.parametrize("label", [1.5, "1", None, float("nan")])
def test_book_labels_not_integers(book, backend, label):
    net = make_book(book, backend)
    data = eval_pairs()
    data[0] = (data[0][0], label)
    with pytest.raises(TypeError, match="must be integer class labels"):
        book_evaluate(net, data)


def test_book_integral_float_labels_are_accepted(book, backend):
    net = make_book(book, backend)
    data = eval_pairs()
    as_float = [(x, float(y)) for x, y in data]
    as_numpy = [(x, np.uint8(y)) for x, y in data]
    assert book_evaluate(net, as_float) == book_evaluate(net, data) == book_evaluate(net, as_numpy)


# ---------------------------------------------------------------------------
# drop-ins: data that is not numeric
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x", [
    np.array([["a"], ["b"], ["c"], ["d"]]),
    np.array([["1"], ["2"], ["3"], ["4"]]),
    np.array([[None]] * 4, dtype=object),
    np.zeros((4, 1), dtype=complex),
    "abcd",
    None,
], ids=["str", "numeric-str", "object", "complex", "python-str", "None"])
def test_book_sgd_non_numeric_inputs(book, backend, x):
    net = make_book(book, backend)
    snap = snapshot(net)
    data = training_pairs()
    data[1] = (x, data[1][1])
    with pytest.raises((TypeError, ValueError), match="number|numeric"):
        net.SGD(data, 1, 2, 0.5)
    assert_unchanged(net, snap)


def test_book_sgd_non_numeric_targets(book, backend):
    net = make_book(book, backend)
    data = training_pairs()
    data[0] = (data[0][0], np.array([["0"], ["1"]]))
    with pytest.raises((TypeError, ValueError), match="number|numeric"):
        net.SGD(data, 1, 2, 0.5)


@pytest.mark.parametrize("a", [
    np.array([["1"], ["2"], ["3"], ["4"]]),
    np.array([["a"], ["b"], ["c"], ["d"]]),
    np.array([[None]] * 4, dtype=object),
], ids=["numeric-str", "str", "object"])
def test_book_feedforward_non_numeric(book, backend, a):
    """Strings (even '1', '2', ...) are not data: the drop-ins' training path
    refuses them, feedforward must too, naming the input."""
    net = make_book(book, backend)
    with pytest.raises((TypeError, ValueError), match="feedforward.*(number|numeric)"):
        net.feedforward(a)


# ---------------------------------------------------------------------------
# drop-ins: other float dtypes and layouts are converted, not refused
# ---------------------------------------------------------------------------

def _train_book(book, backend, data):
    net = make_book(book, backend)
    random.seed(12345)
    net.SGD(data, 2, 2, 0.5)
    return net


def _variants():
    """Book data: float64 reference, float32, non-contiguous views, Fortran, int."""
    base = training_pairs(8)
    f32 = [(x.astype(np.float32), y.astype(np.float32)) for x, y in base]
    ref32 = [(x.astype(np.float64), y.astype(np.float64)) for x, y in f32]
    wide = [(np.repeat(x, 2, axis=0), np.repeat(y, 2, axis=0)) for x, y in base]
    strided = [(x[::2], y[::2]) for x, y in wide]          # (4, 1) views, stride 2
    mats = [np.ascontiguousarray(np.hstack([x, x, x])) for x, _ in base]
    cols = [(m[:, 1:2], y) for m, (_, y) in zip(mats, base)]   # a column of a C matrix
    ints = [(np.round(3*x).astype(np.int32), y.astype(np.int64)) for x, y in base]
    ref_ints = [(x.astype(np.float64), y.astype(np.float64)) for x, y in ints]
    flat = [(x.reshape(-1), y) for x, y in base]           # (4,) instead of (4, 1)
    return [("float32", f32, ref32), ("strided", strided, base), ("column-view", cols, base),
            ("int", ints, ref_ints), ("flat", flat, base)]


@pytest.mark.parametrize("name", [v[0] for v in _variants()])
def test_book_sgd_converts_dtype_and_layout(book, backend, name):
    _, data, reference = next(v for v in _variants() if v[0] == name)
    assert name == "flat" or all(x.dtype != np.float64 or not x.flags.c_contiguous for x, _ in data)
    a = _train_book(book, backend, list(data))
    b = _train_book(book, backend, list(reference))
    assert_same_params(a, b)


def test_book_assigned_float32_and_fortran_parameters_are_converted(book, backend):
    ref = make_book(book, backend)
    weights = [np.array(w) for w in ref.weights]
    other = make_book(book, backend)
    other.weights = [np.asfortranarray(weights[0].astype(np.float32)),
                     np.ascontiguousarray(np.repeat(weights[1], 2, axis=1))[:, ::2]]
    other.biases = [b.astype(np.float32) for b in ref.biases]
    ref.weights = [weights[0].astype(np.float32).astype(np.float64), weights[1]]
    ref.biases = [b.astype(np.float32).astype(np.float64) for b in ref.biases]
    x = np.asfortranarray(rng(3).standard_normal((4, 3)))
    np.testing.assert_array_equal(other.feedforward(x), ref.feedforward(np.ascontiguousarray(x)))
    assert book_evaluate(other, eval_pairs()) == book_evaluate(ref, eval_pairs())
    data = training_pairs()
    random.seed(7)
    other.SGD(list(data), 1, 2, 0.5)
    random.seed(7)
    ref.SGD(list(data), 1, 2, 0.5)
    assert_same_params(other, ref)


def test_book_feedforward_float32_and_views(book, backend):
    net = make_book(book, backend)
    x = rng(5).standard_normal((8, 1))
    expected = net.feedforward(np.ascontiguousarray(x[::2]))
    np.testing.assert_array_equal(net.feedforward(x[::2]), expected)
    x32 = x[::2].astype(np.float32)
    np.testing.assert_array_equal(net.feedforward(x32), net.feedforward(x32.astype(np.float64)))


# ---------------------------------------------------------------------------
# MLP: hyper-parameters
# ---------------------------------------------------------------------------

BAD_FIT_ARGS = [
    (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
    (dict(batch_size=-1), ValueError, "batch_size must be at least 1"),
    (dict(batch_size=2.0), TypeError, "batch_size must be a whole number"),
    (dict(batch_size=True), TypeError, "batch_size must be a whole number"),
    (dict(epochs=-2), ValueError, "epochs must be >= 0"),
    (dict(epochs="3"), TypeError, "epochs must be a whole number"),
    (dict(learning_rate=float("nan")), ValueError, "learning_rate must be finite"),
    (dict(learning_rate=float("inf")), ValueError, "learning_rate must be finite"),
    (dict(learning_rate=np.float32("-inf")), ValueError, "learning_rate must be finite"),
    (dict(learning_rate="fast"), TypeError, "learning_rate must be a real number"),
    (dict(l2=float("nan")), ValueError, "l2 must be finite"),
    (dict(l2=float("inf")), ValueError, "l2 must be finite"),
    (dict(l2=None), TypeError, "l2 must be a real number"),
]


@pytest.mark.parametrize("kwargs, exc, msg", BAD_FIT_ARGS, ids=[str(a[0]) for a in BAD_FIT_ARGS])
def test_mlp_fit_bad_hyperparameters(backend, kwargs, exc, msg):
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    snap = snapshot(net)
    args = dict(epochs=1, batch_size=2, learning_rate=0.5, l2=0.0)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        net.fit(X, y, **args)
    assert_unchanged(net, snap)


@pytest.mark.parametrize("l2", [float("nan"), float("inf")])
def test_mlp_cost_of_non_finite_l2(backend, l2):
    X, y = arrays()
    with pytest.raises(ValueError, match="l2 must be finite"):
        MLP(SIZES, backend=backend, seed=0).cost_of(X, y, l2=l2)


# ---------------------------------------------------------------------------
# MLP: shapes, sizes, empty data
# ---------------------------------------------------------------------------

def _mlp_calls(net, X, y):
    """Each public method that takes (X[, y]), as a callable."""
    return {
        "fit": lambda: net.fit(X, y, epochs=1, batch_size=2),
        "predict": lambda: net.predict(X),
        "predict_proba": lambda: net.predict_proba(X),
        "score": lambda: net.score(X, y),
        "cost_of": lambda: net.cost_of(X, y),
    }


MLP_METHODS = ["fit", "predict", "predict_proba", "score", "cost_of"]

BAD_X = [
    ("1-D", lambda X: X[0], ValueError, "X must be 2-D \\(examples, features\\), got shape \\(4,\\)"),
    ("3-D", lambda X: X[:, :, None], ValueError, "X must be 2-D"),
    ("scalar", lambda X: 3.0, ValueError, "X must be 2-D"),
    ("5 features", lambda X: np.hstack([X, X[:, :1]]), ValueError,
     "X has 5 features per example; the network's input layer has 4"),
    ("transposed", lambda X: X[:4].T.copy()[:, :3], ValueError, "features per example"),
    ("empty", lambda X: X[:0], ValueError, "X is empty"),
    ("empty-list", lambda X: [], ValueError, "X must be 2-D|X is empty"),
    ("NaN", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 9, np.nan, X), ValueError,
     "X holds NaN or inf \\(first at example 2, feature 1\\)"),
    ("inf", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 30, np.inf, X), ValueError,
     "X holds NaN or inf \\(first at example 7, feature 2\\)"),
    ("-inf-f32", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 0, -np.inf, X).astype(np.float32),
     ValueError, "X holds NaN or inf \\(first at example 0, feature 0\\)"),
    ("strings", lambda X: X.astype(str), TypeError, "X must be numeric"),
    ("numeric-strings", lambda X: np.round(X).astype(int).astype(str), TypeError, "X must be numeric"),
    ("object", lambda X: X.astype(object), TypeError, "X must be numeric"),
    ("None", lambda X: None, TypeError, "X must be numeric"),
    ("complex", lambda X: X.astype(complex), TypeError, "X must be numeric"),
    ("ragged", lambda X: [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], ValueError, "X is not a rectangular array"),
]


@pytest.mark.parametrize("name, make, exc, msg", BAD_X, ids=[b[0] for b in BAD_X])
@pytest.mark.parametrize("method", MLP_METHODS)
def test_mlp_bad_X(backend, method, name, make, exc, msg):
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    snap = snapshot(net)
    with pytest.raises(exc, match=msg):
        _mlp_calls(net, make(X), y)[method]()
    assert_unchanged(net, snap)


BAD_Y = [
    ("short", lambda y: y[:-1], ValueError, "one label per example, shape \\(8,\\), got \\(7,\\)"),
    ("long", lambda y: np.append(y, 0), ValueError, "shape \\(8,\\), got \\(9,\\)"),
    ("scalar", lambda y: 1, ValueError, "shape"),
    ("column", lambda y: y[:, None], ValueError, "labels of shape \\(8,\\) or targets of shape \\(8, 2\\)"),
    ("onehot-3", lambda y: np.eye(3)[y], ValueError, "targets of shape \\(8, 2\\), got \\(8, 3\\)"),
    ("3-D", lambda y: np.eye(2)[y][:, :, None], ValueError, "shape"),
    ("label 2", lambda y: np.where(np.arange(8) == 5, 2, y), ValueError,
     "y\\[5\\] = 2 is out of range: the output layer has 2 classes \\(0..1\\)"),
    ("label -1", lambda y: np.where(np.arange(8) == 0, -1, y), ValueError, "y\\[0\\] = -1 is out of range"),
    ("label 255 uint8", lambda y: np.where(np.arange(8) == 7, 255, y).astype(np.uint8), ValueError,
     "y\\[7\\] = 255 is out of range"),
    ("float label 1.5", lambda y: y + 0.5, TypeError, "integer class labels"),
    ("NaN label", lambda y: np.where(np.arange(8) == 3, np.nan, y), TypeError, "integer class labels"),
    ("string labels", lambda y: y.astype(str), TypeError, "integer class labels"),
    ("bool labels", lambda y: y.astype(bool), TypeError, "integer class labels"),
    ("NaN target", lambda y: np.where(np.arange(16).reshape(8, 2) == 6, np.nan, np.eye(2)[y]), ValueError,
     "y holds NaN or inf \\(first at example 3, feature 0\\)"),
    ("inf target", lambda y: np.where(np.arange(16).reshape(8, 2) == 15, np.inf, np.eye(2)[y]), ValueError,
     "y holds NaN or inf"),
    ("string targets", lambda y: np.eye(2)[y].astype(str), TypeError, "y must be numeric"),
]


@pytest.mark.parametrize("name, make, exc, msg", BAD_Y, ids=[b[0] for b in BAD_Y])
@pytest.mark.parametrize("method", ["fit", "score", "cost_of"])
def test_mlp_bad_y(backend, method, name, make, exc, msg):
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    snap = snapshot(net)
    with pytest.raises(exc, match=msg):
        _mlp_calls(net, X, make(y))[method]()
    assert_unchanged(net, snap)


def test_mlp_huge_float_label_is_reported_as_given(backend):
    """A float label far beyond the integer range is out of range: the message
    must show the label the caller passed, not the garbage of an overflowing cast."""
    X, y = arrays()
    y = y.astype(np.float64)
    y[1] = 1e20
    net = MLP(SIZES, backend=backend, seed=0)
    with pytest.raises(ValueError, match="y\\[1\\] = (1e\\+20|100000000000000000000)(\\.0)? is out of range"):
        net.score(X, y)


@pytest.mark.parametrize("name, validation, exc, msg", [
    ("X features", lambda X, y: (X[:, :3], y), ValueError, "validation X has 3 features"),
    ("X NaN", lambda X, y: (np.where(X > 1.0, np.nan, X), y), ValueError, "validation X holds NaN"),
    ("X empty", lambda X, y: (X[:0], y[:0]), ValueError, "validation X is empty"),
    ("y short", lambda X, y: (X, y[:3]), ValueError, "validation y must hold one label per example"),
    ("y out of range", lambda X, y: (X, y + 1), ValueError, "validation y\\[\\d+\\] = 2 is out of range"),
    ("y NaN target", lambda X, y: (X, np.full((len(X), 2), np.nan)), ValueError, "validation y holds NaN"),
    ("X strings", lambda X, y: (X.astype(str), y), TypeError, "validation X must be numeric"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_mlp_fit_bad_validation_data(backend, name, validation, exc, msg):
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    net.fit(X, y, epochs=1, batch_size=4)
    snap, history = snapshot(net), list(net.history)
    with pytest.raises(exc, match=msg):
        net.fit(X, y, epochs=1, batch_size=2, validation_data=validation(X, y))
    assert_unchanged(net, snap)
    assert net.history == history


@pytest.mark.parametrize("validation", [
    lambda X, y: (X,),
    lambda X, y: (X, y, y),
    lambda X, y: X,
], ids=["1-tuple", "3-tuple", "bare-X"])
def test_mlp_fit_validation_data_not_a_pair(backend, validation):
    """validation_data must be an (X_val, y_val) pair: anything else is a
    ValueError/TypeError that says so, not numpy's 'too many values to unpack'."""
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    snap = snapshot(net)
    with pytest.raises((TypeError, ValueError), match="validation_data"):
        net.fit(X, y, epochs=1, batch_size=2, validation_data=validation(X, y))
    assert_unchanged(net, snap)


# -- parameters assigned from outside ---------------------------------------

def _bad_params():
    return [
        ("w0 wrong shape", lambda net: net.weights.__setitem__(0, np.zeros((3, 5))), ValueError,
         "do not fit sizes|weights\\[0\\]"),
        ("b1 wrong shape", lambda net: net.biases.__setitem__(1, np.zeros(3)), ValueError,
         "do not fit sizes|biases\\[1\\]"),
        ("w NaN", lambda net: net.weights[1].__setitem__((0, 0), np.nan), ValueError,
         "weights\\[1\\] holds NaN"),
        ("b inf", lambda net: net.biases[0].__setitem__(2, np.inf), ValueError,
         "biases\\[0\\] holds NaN"),
        ("layer missing", lambda net: (net.weights.pop(), net.biases.pop()), ValueError,
         "weights|layers"),
        ("extra layer", lambda net: (net.weights.append(np.zeros((2, 2))), net.biases.append(np.zeros(2))),
         ValueError, "weights|layers"),
    ]


@pytest.mark.parametrize("name, mutate, exc, msg", _bad_params(), ids=[p[0] for p in _bad_params()])
@pytest.mark.parametrize("method", MLP_METHODS)
def test_mlp_assigned_parameters_checked(backend, method, name, mutate, exc, msg):
    """Weights and biases the user assigned are checked (shape, count, finite)
    before every kernel call: predict/score/cost_of must not return garbage."""
    X, y = arrays()
    net = MLP(SIZES, backend=backend, seed=0)
    mutate(net)
    with pytest.raises(exc, match=msg):
        _mlp_calls(net, X, y)[method]()


def test_mlp_save_refuses_non_finite_weights(tmp_path, backend):
    """A diverged/NaN network must not be written: MLP.load refuses such a file
    anyway (as network2.save refuses to write it)."""
    net = MLP(SIZES, backend=backend, seed=0)
    net.weights[0][0, 0] = np.nan
    path = tmp_path / "nan.json"
    with pytest.raises(ValueError, match="NaN"):
        net.save(str(path))
    assert not path.exists()


def test_mlp_save_refuses_weights_that_contradict_sizes(tmp_path, backend):
    net = MLP(SIZES, backend=backend, seed=0)
    net.weights[1] = np.zeros((2, 5))
    path = tmp_path / "bad.json"
    with pytest.raises(ValueError, match="do not fit sizes|shape"):
        net.save(str(path))
    assert not path.exists()


# ---------------------------------------------------------------------------
# MLP: other float dtypes and layouts are converted, not refused
# ---------------------------------------------------------------------------

def _fit(backend, X, y, dtype=np.float64, validation=None, **kw):
    net = MLP(SIZES, backend=backend, seed=3, dtype=dtype)
    net.fit(X, y, epochs=2, batch_size=3, learning_rate=0.5, l2=0.1,
            validation_data=validation, **kw)
    return net


def _x_variants():
    X, _ = arrays(10)
    big = rng(9).standard_normal((20, 4))
    wide = np.ascontiguousarray(np.hstack([X, X]))
    return {
        # name: (given, equivalent C-contiguous array of the given values)
        "float32": (X.astype(np.float32), X.astype(np.float32).astype(np.float64)),
        "fortran": (np.asfortranarray(X), X),
        "transposed-copy": (np.ascontiguousarray(X.T).T, X),
        "every-other-row": (big[::2], np.ascontiguousarray(big[::2])),
        "every-other-column": (wide[:, ::2], np.ascontiguousarray(wide[:, ::2])),
        "reversed": (X[::-1], np.ascontiguousarray(X[::-1])),
        "uint8": ((np.abs(X)*50).astype(np.uint8), (np.abs(X)*50).astype(np.uint8).astype(np.float64)),
        "int64": (np.round(X).astype(np.int64), np.round(X)),
        "float16": (X.astype(np.float16), X.astype(np.float16).astype(np.float64)),
        "list": (X.tolist(), X),
        "readonly": (np.frombuffer(X.tobytes(), dtype=np.float64).reshape(X.shape), X),
    }


@pytest.mark.parametrize("name", list(_x_variants()))
def test_mlp_fit_converts_X(backend, name):
    given, expected = _x_variants()[name]
    _, y = arrays(10)
    a = _fit(backend, given, y)
    b = _fit(backend, expected, y)
    assert_same_params(a, b)


@pytest.mark.parametrize("name", list(_x_variants()))
def test_mlp_predict_score_cost_convert_X(backend, name):
    given, expected = _x_variants()[name]
    _, y = arrays(10)
    net = MLP(SIZES, backend=backend, seed=4)
    np.testing.assert_array_equal(net.predict_proba(given), net.predict_proba(expected))
    np.testing.assert_array_equal(net.predict(given), net.predict(expected))
    assert net.score(given, y) == net.score(expected, y)
    assert net.cost_of(given, y, l2=0.5) == net.cost_of(expected, y, l2=0.5)


def test_mlp_float32_network_converts_float64_input(backend):
    X, y = arrays(10)
    a = _fit(backend, X, y, dtype=np.float32)
    b = _fit(backend, X.astype(np.float32), y, dtype=np.float32)
    assert_same_params(a, b)
    assert a.weights[0].dtype == np.float32
    np.testing.assert_array_equal(a.predict_proba(np.asfortranarray(X)), a.predict_proba(X.astype(np.float32)))


@pytest.mark.parametrize("name, convert", [
    ("int32", lambda y: y.astype(np.int32)),
    ("uint8", lambda y: y.astype(np.uint8)),
    ("integral floats", lambda y: y.astype(np.float64)),
    ("list", lambda y: y.tolist()),
    ("strided", lambda y: np.repeat(y, 2)[::2]),
    ("one-hot", lambda y: np.eye(2)[y]),
    ("one-hot float32 fortran", lambda y: np.asfortranarray(np.eye(2, dtype=np.float32)[y])),
    ("one-hot strided", lambda y: np.repeat(np.eye(2)[y], 2, axis=0)[::2]),
    ("one-hot int", lambda y: np.eye(2, dtype=np.int64)[y]),
])
def test_mlp_converts_y(backend, name, convert):
    X, y = arrays(10)
    a = _fit(backend, X, convert(y))
    b = _fit(backend, X, y)
    assert_same_params(a, b)
    assert a.score(X, convert(y)) == b.score(X, y)


def test_mlp_validation_data_converted(backend):
    X, y = arrays(10)
    Xv, yv = arrays(12, seed=5)
    a = _fit(backend, X, y, validation=(np.asfortranarray(Xv.astype(np.float32)), yv.astype(np.uint8)))
    b = _fit(backend, X, y, validation=(Xv.astype(np.float32).astype(np.float64), yv))
    assert_same_params(a, b)
    assert [(h["val_cost"], h["val_accuracy"]) for h in a.history] == \
        [(h["val_cost"], h["val_accuracy"]) for h in b.history]


def test_mlp_assigned_float32_fortran_parameters_converted(backend):
    """Parameters assigned in another dtype or layout are converted for every
    method, score and cost_of included (the compiled kernels need C order)."""
    X, y = arrays(10)
    ref = MLP(SIZES, backend=backend, seed=0)
    other = MLP(SIZES, backend=backend, seed=0)
    w32 = [w.astype(np.float32) for w in ref.weights]
    ref.weights = [w.astype(np.float64) for w in w32]
    other.weights = [np.asfortranarray(w32[0]), w32[1]]
    other.biases = [np.repeat(b, 2)[::2] for b in ref.biases]
    assert other.score(X, y) == ref.score(X, y)
    assert other.cost_of(X, y) == ref.cost_of(X, y)
    np.testing.assert_array_equal(other.predict_proba(X), ref.predict_proba(X))
    other.weights = [np.asfortranarray(w32[0]), w32[1]]
    ref.weights = [w.astype(np.float64) for w in w32]
    other.fit(X, y, epochs=1, batch_size=3)
    ref.fit(X, y, epochs=1, batch_size=3)
    assert_same_params(other, ref)


def test_mlp_C_contiguous_input_of_own_dtype_is_not_copied_but_kept_intact(backend):
    X, y = arrays(10)
    X_before = X.copy()
    net = MLP(SIZES, backend=backend, seed=0)
    net.fit(X, y, epochs=1, batch_size=3)
    np.testing.assert_array_equal(X, X_before)


# ---------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype, l2", [(np.float64, 4e100), (np.float32, 4e10)])
def test_mlp_divergence_names_the_epoch(backend, dtype, l2):
    """With n = batch_size = 4, each epoch multiplies the weights by
    1 - learning_rate*l2/n = -l2/4: finite for epochs 0, 1, 2, inf in epoch 3."""
    X, y = arrays(4)
    net = MLP(SIZES, backend=backend, seed=0, dtype=dtype)
    with pytest.raises(TrainingDiverged, match="diverged in epoch 3.*NaN or infinite.*eta"):
        net.fit(X, y, epochs=10, batch_size=4, learning_rate=1.0, l2=l2, validation_data=(X, y))
    assert len(net.history) == 3, "training must stop at the diverged epoch"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mlp_divergence_huge_eta(backend):
    """A huge input times a huge learning rate: the first step overflows
    (a single layer, so no saturated hidden layer hides the gradient)."""
    X, y = arrays(8)
    X[:, 0] = 1e10
    net = MLP([4, 2], backend=backend, seed=0)
    with pytest.raises(TrainingDiverged, match="training diverged in epoch 0"):
        net.fit(X, y, epochs=20, batch_size=1, learning_rate=1e300)
    assert net.history == []
    assert isinstance(TrainingDiverged("x"), ArithmeticError)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_network2_divergence_names_the_epoch(backend, capsys):
    net = make_book("network2", backend)
    data = training_pairs(4)
    with pytest.raises(TrainingDiverged, match="diverged in epoch 3"):
        net.SGD(data, 10, 4, 1.0, lmbda=4e100, monitor_training_cost=True)
    out = capsys.readouterr().out
    assert "Epoch 2 training complete" in out and "Epoch 3 training complete" not in out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_network_divergence_names_the_epoch(backend, capsys):
    """A [1, 1] chapter-1 network with a huge input and eta 1e300: the first
    step sends the weight to inf."""
    net = network.Network([1, 1], backend=backend)
    net.weights = [np.zeros((1, 1))]
    net.biases = [np.zeros((1, 1))]
    random.seed(0)
    with pytest.raises(TrainingDiverged, match="diverged in epoch 0"):
        net.SGD([(np.array([[1e10]]), np.array([[1.0]]))], 5, 1, 1e300)
    assert "Epoch 0" not in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_book_update_mini_batch_divergence(book, backend):
    net = make_book(book, backend, sizes=[1, 1])
    net.weights = [np.zeros((1, 1))]
    net.biases = [np.zeros((1, 1))]
    batch = [(np.array([[1e10]]), np.array([[1.0]]))]
    with pytest.raises(TrainingDiverged, match="diverged"):
        if book == "network":
            net.update_mini_batch(batch, 1e300)
        else:
            net.update_mini_batch(batch, 1e300, 0.0, 1)


# ---------------------------------------------------------------------------
# saved files
# ---------------------------------------------------------------------------

LOADERS = {"network2.load": network2.load, "MLP.load": MLP.load}


@pytest.fixture(params=list(LOADERS))
def loader(request):
    return LOADERS[request.param]


def _good_file_data():
    r = rng(11)
    return {"sizes": [4, 3, 2],
            "weights": [r.standard_normal((3, 4)).tolist(), r.standard_normal((2, 3)).tolist()],
            "biases": [r.standard_normal((3, 1)).tolist(), r.standard_normal((2, 1)).tolist()],
            "cost": "CrossEntropyCost"}


def _write(tmp_path, data, name="net.json"):
    path = tmp_path / name
    if isinstance(data, (bytes, bytearray)):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(json.dumps(data))    # json.dumps writes NaN / Infinity as given
    return str(path)


def test_good_file_loads(tmp_path, loader):
    data = _good_file_data()
    net = loader(_write(tmp_path, data))
    assert net.sizes == [4, 3, 2]
    np.testing.assert_array_equal(np.asarray(net.weights[1]), np.array(data["weights"][1]))


def test_save_load_round_trip_both_ways(tmp_path, backend):
    X, _ = arrays()
    m = MLP(SIZES, backend=backend, seed=0, cost="quadratic")
    m.save(str(tmp_path / "m.json"))
    n2 = network2.load(str(tmp_path / "m.json"), backend=backend)
    assert n2.cost is QuadraticCost
    np.testing.assert_allclose(n2.feedforward(X[0].reshape(4, 1)).ravel(), m.predict_proba(X[:1])[0])
    n2.save(str(tmp_path / "n2.json"))
    m2 = MLP.load(str(tmp_path / "n2.json"), backend=backend)
    np.testing.assert_array_equal(m2.predict_proba(X), m.predict_proba(X))


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_file(tmp_path, loader, keep):
    path = str(tmp_path / "full.json")
    MLP(SIZES, seed=0).save(path)
    text = open(path).read()
    cut = _write(tmp_path, text[:int(len(text)*keep)], "cut.json")
    with pytest.raises(ValueError, match="not a valid saved network.*truncated"):
        loader(cut)


def test_binary_garbage_file(tmp_path, loader):
    """A file that is not text at all (a gzip, a pickle) is not a saved network:
    say so, naming the file, rather than leak a bare UnicodeDecodeError."""
    path = _write(tmp_path, b"\x1f\x8b\x08\x00\xff\xfe\x80\x81binary", "net.pkl.gz")
    with pytest.raises(ValueError, match="net.pkl.gz.*not a valid saved network"):
        loader(path)


def test_missing_file(tmp_path, loader):
    with pytest.raises(FileNotFoundError):
        loader(str(tmp_path / "nope.json"))


def _mutated(mutate):
    data = _good_file_data()
    mutate(data)
    return data


def _set(path, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


BAD_FILES = [
    ("list", lambda d: None, [1, 2, 3], "expected a JSON object"),
    ("string", lambda d: None, "just text", "expected a JSON object"),
    ("no sizes", lambda d: d.pop("sizes"), None, "missing key\\(s\\) sizes"),
    ("no weights", lambda d: d.pop("weights"), None, "missing key\\(s\\) weights"),
    ("no biases", lambda d: d.pop("biases"), None, "missing key\\(s\\) biases"),
    ("no cost", lambda d: d.pop("cost"), None, "missing key\\(s\\) cost"),
    ("unknown cost", _set(["cost"], "MyOwnCost"), None, "unknown cost 'MyOwnCost'"),
    ("lowercase cost name", _set(["cost"], "cross_entropy"), None, "unknown cost 'cross_entropy'"),
    ("null cost", _set(["cost"], None), None, "unknown cost None"),
    ("numeric cost", _set(["cost"], 1), None, "unknown cost 1"),
    ("size zero", _set(["sizes"], [4, 0, 2]), None, "sizes: .*at least one neuron"),
    ("size float", _set(["sizes"], [4, 3.5, 2]), None, "sizes: .*whole number"),
    ("one size", _set(["sizes"], [4]), None, "sizes: .*at least an input and an output"),
    ("sizes not a list", _set(["sizes"], 4), None, "sizes: "),
    ("sizes disagree", _set(["sizes"], [4, 5, 2]), None, "weights\\[0\\] has shape \\(3, 4\\).*need \\(5, 4\\)"),
    ("transposed weights", _set(["weights", 0], np.zeros((4, 3)).tolist()), None,
     "weights\\[0\\] has shape \\(4, 3\\); sizes \\[4, 3, 2\\] need \\(3, 4\\)"),
    ("flat biases", _set(["biases", 1], [0.0, 0.0]), None, "biases\\[1\\] has shape \\(2,\\).*need \\(2, 1\\)"),
    ("too few weights", lambda d: d["weights"].pop(), None, "need 2 weights arrays, the file has 1"),
    ("too many biases", lambda d: d["biases"].append([[0.0]]), None, "need 2 biases arrays, the file has 3"),
    ("weights not a list", _set(["weights"], {"0": 1}), None, "need 2 weights arrays, the file has none"),
    ("NaN weight", _set(["weights", 1, 0, 2], float("nan")), None, "weights\\[1\\] holds NaN"),
    ("Infinity bias", _set(["biases", 0, 1, 0], float("inf")), None, "biases\\[0\\] holds NaN or infinite"),
    ("-Infinity weight", _set(["weights", 0, 2, 3], float("-inf")), None, "weights\\[0\\] holds NaN"),
    ("null weight", _set(["weights", 0, 0, 0], None), None, "weights\\[0\\] (holds NaN|is not .*numbers)"),
    ("ragged weights", _set(["weights", 0, 1], [1.0, 2.0]), None, "weights\\[0\\] is not a rectangular array"),
    ("text weight", _set(["weights", 1, 1, 1], "abc"), None, "weights\\[1\\] is not a rectangular array of numbers"),
    ("numeric-text weight", _set(["weights", 1, 1, 1], "0.5"), None, "weights\\[1\\] is not a rectangular array of numbers"),
    ("object weight", _set(["biases", 0, 0], {"a": 1}), None, "biases\\[0\\] is not a rectangular array of numbers"),
]


@pytest.mark.parametrize("name, mutate, replace, msg", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_saved_file(tmp_path, loader, name, mutate, replace, msg):
    data = replace if replace is not None else _mutated(mutate)
    path = _write(tmp_path, json.dumps(data))    # json.dumps writes NaN / Infinity literals
    with pytest.raises(ValueError, match="net.json' is not a valid saved network: .*" + msg):
        loader(path)


def test_nan_written_as_json_literal(tmp_path, loader):
    data = _good_file_data()
    data["weights"][0][0][0] = 12345.5
    text = json.dumps(data).replace("12345.5", "NaN")
    assert "NaN" in text
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match="weights\\[0\\] holds NaN"):
        loader(path)


@pytest.mark.parametrize("dtype", ["int32", "float16", "banana", 3])
def test_mlp_load_bad_dtype_in_file(tmp_path, dtype):
    data = _good_file_data()
    data["dtype"] = dtype
    with pytest.raises((TypeError, ValueError), match="dtype"):
        MLP.load(_write(tmp_path, data))


def test_mlp_load_dtype_float32_and_override(tmp_path, backend):
    data = _good_file_data()
    data["dtype"] = "float32"
    path = _write(tmp_path, data)
    assert MLP.load(path, backend=backend).weights[0].dtype == np.float32
    assert MLP.load(path, backend=backend, dtype=np.float64).weights[0].dtype == np.float64
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        MLP.load(path, dtype=np.int8)

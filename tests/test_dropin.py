"""The drop-in modules behave as the book's: same initial weights, same
mini-batch order, same caller-visible shuffling, same numbers, same printed
lines.  The yardstick is ``oracle``: the book's equations computed one
example at a time, written independently of fastnn."""
import json
import random
import re

import numpy as np
import pytest

import oracle
import fastnn
from fastnn import network, network2, trainer
from helpers import assert_close, fastnn_env, toy_data

BACKENDS = ["cython", "numpy"]


@pytest.fixture
def shuffle_style():
    yield
    fastnn.set_shuffle("python3")


def test_network_initial_weights_are_the_books():
    np.random.seed(12345678)
    net = network.Network([784, 30, 10])
    np.random.seed(12345678)
    book = oracle.PerExampleNet([784, 30, 10], cost="quadratic", init="unit")
    assert net.sizes == [784, 30, 10] and net.num_layers == 3
    for l in range(2):
        assert net.biases[l].shape == book.biases[l].shape
        assert net.weights[l].shape == book.weights[l].shape
        np.testing.assert_array_equal(net.biases[l], book.biases[l], err_msg="layer %d biases" % (l+1))
        np.testing.assert_array_equal(net.weights[l], book.weights[l], err_msg="layer %d weights" % (l+1))


def test_network2_initial_weights_are_the_books():
    np.random.seed(7)
    net = network2.Network([20, 7, 3])
    np.random.seed(7)
    book = oracle.PerExampleNet([20, 7, 3])
    for l in range(2):
        np.testing.assert_array_equal(net.biases[l], book.biases[l])
        np.testing.assert_array_equal(net.weights[l], book.weights[l])
    net.large_weight_initializer()
    assert np.std(net.weights[0]) > 0.5   # N(0,1), not N(0,1/20)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("style", ["python3", "python2"])
@pytest.mark.parametrize("module", ["network", "network2"])
def test_sgd_follows_the_books_order_and_numbers(backend, style, module, shuffle_style, capsys):
    """Seeded alike, SGD visits the pairs in the order random.shuffle gives,
    leaves the caller's list shuffled as the book's, consumes the generator
    alike, and ends on the book's weights (per-example vs batched sums:
    normwise relative 1e-10 after three epochs)."""
    fastnn.set_shuffle(style)
    rng = np.random.default_rng(3)
    data = toy_data(rng, 23, 6, 3)          # 23 = 4 full mini-batches of 5 and a short one
    book_data = list(data)
    sizes, epochs, m, eta = [6, 5, 3], 3, 5, 2.0
    lmbda = 0.0 if module == "network" else 1.5

    np.random.seed(11)
    random.seed(99)
    if module == "network":
        book = oracle.PerExampleNet(sizes, cost="quadratic", init="unit")
    else:
        book = oracle.PerExampleNet(sizes, cost="cross-entropy")
    book.train(book_data, epochs, m, eta, lmbda, rule=style)
    book_state = random.getstate()

    np.random.seed(11)
    random.seed(99)
    if module == "network":
        net = network.Network(sizes, backend=backend)
        net.SGD(data, epochs, m, eta)
    else:
        net = network2.Network(sizes, cost=network2.CrossEntropyCost, backend=backend)
        net.SGD(data, epochs, m, eta, lmbda=lmbda)
    assert random.getstate() == book_state, "the shuffle consumed random differently"
    assert [id(x) for x, _ in data] == [id(x) for x, _ in book_data], \
        "the caller's list is not shuffled as the book's"
    for l in range(2):
        assert_close(net.weights[l], book.weights[l], "layer %d weights" % (l+1), rtol=1e-10)
        assert_close(net.biases[l], book.biases[l], "layer %d biases" % (l+1), rtol=1e-10)
    out = capsys.readouterr().out
    if module == "network":
        assert out.splitlines() == ["Epoch %d complete" % j for j in range(epochs)]
    else:
        assert out.splitlines() == sum((["Epoch %d training complete" % j, ""] for j in range(epochs)), [])


def test_python2_shuffle_differs_from_python3_but_is_a_permutation():
    a = list(range(1000))
    b = list(range(1000))
    random.seed(5)
    trainer.python2_shuffle(a)
    random.seed(5)
    random.shuffle(b)
    assert sorted(a) == list(range(1000)) and a != b
    # the defining rule, checked by hand for a short list
    random.seed(5)
    draws = [random.random() for _ in range(4)]
    expected = list(range(5))
    for i, r in zip(range(4, 0, -1), draws):
        j = int(r * (i+1))
        expected[i], expected[j] = expected[j], expected[i]
    random.seed(5)
    c = list(range(5))
    trainer.python2_shuffle(c)
    assert c == expected


@pytest.mark.parametrize("variable,value,getter", [
    ("FASTNN_SHUFFLE", "python2", "get_shuffle"), ("FASTNN_BACKEND", "numpy", "get_backend")])
def test_settings_from_the_environment(variable, value, getter, tmp_path):
    """Programs that cannot be edited switch through the environment.
    (Run outside the source tree, so the installed package is imported.)"""
    import subprocess
    import sys
    env = fastnn_env(**{variable: value})
    code = "import fastnn; print(fastnn.{}())".format(getter)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=str(tmp_path))
    assert out.returncode == 0 and out.stdout.strip() == value, out.stderr
    env[variable] = "bogus"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=str(tmp_path))
    assert out.returncode != 0 and variable in out.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_network_sgd_prints_the_books_test_lines(backend, capsys):
    rng = np.random.default_rng(4)
    train, test = toy_data(rng, 40, 6, 3), toy_data(rng, 17, 6, 3, labels=True)
    np.random.seed(1)
    net = network.Network([6, 4, 3], backend=backend)
    net.SGD(train, 2, 10, 3.0, test_data=test)
    lines = capsys.readouterr().out.splitlines()
    assert [re.sub(r"\d+ /", "N /", l) for l in lines] == ["Epoch 0: N / 17", "Epoch 1: N / 17"]
    assert lines[-1] == "Epoch 1: {} / 17".format(net.evaluate(test))


@pytest.mark.parametrize("backend", BACKENDS)
def test_network2_monitors_match_the_book(backend, capsys):
    rng = np.random.default_rng(5)
    train, evaluation = toy_data(rng, 30, 6, 3), toy_data(rng, 12, 6, 3, labels=True)
    np.random.seed(2)
    net = network2.Network([6, 4, 3], cost=network2.QuadraticCost(), backend=backend)  # an instance, as the book's scripts pass
    results = net.SGD(train, 2, 7, 0.5, lmbda=0.3, evaluation_data=evaluation,
                      monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                      monitor_training_cost=True, monitor_training_accuracy=True)
    assert [len(r) for r in results] == [2, 2, 2, 2]
    book = oracle.PerExampleNet([6, 4, 3], cost="quadratic")
    book.weights, book.biases = net.weights, net.biases
    ev_cost, ev_acc, tr_cost, tr_acc = results
    assert ev_cost[-1] == pytest.approx(book.mean_cost(evaluation, 0.3, labels=True), rel=1e-12)
    assert tr_cost[-1] == pytest.approx(book.mean_cost(train, 0.3), rel=1e-12)
    assert ev_acc[-1] == book.count_correct(evaluation) == net.accuracy(evaluation)
    assert tr_acc[-1] == book.count_correct(train, one_hot_targets=True) == net.accuracy(train, convert=True)
    assert net.total_cost(train, 0.3) == pytest.approx(tr_cost[-1], rel=1e-12)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "Epoch 0 training complete",
        "Cost on training data: {}".format(tr_cost[0]),
        "Accuracy on training data: {} / 30".format(tr_acc[0]),
        "Cost on evaluation data: {}".format(ev_cost[0]),
        "Accuracy on evaluation data: {} / 12".format(ev_acc[0]),
        ""]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backprop_feedforward_update_match_the_book(backend):
    rng = np.random.default_rng(6)
    data = toy_data(rng, 8, 6, 3)
    np.random.seed(3)
    net = network2.Network([6, 5, 4, 3], backend=backend)
    book = oracle.PerExampleNet([6, 5, 4, 3])
    book.weights = [w.copy() for w in net.weights]
    book.biases = [b.copy() for b in net.biases]
    x, y = data[0]
    out = net.feedforward(x)
    assert out.shape == (3, 1)
    assert_close(out, book.output(x), "feedforward output", rtol=1e-14)
    nabla_b, nabla_w = net.backprop(x, y)
    book_b, book_w = book.gradients(x, y)
    for l in range(3):
        assert_close(nabla_b[l], book_b[l], "layer %d nabla_b" % (l+1), rtol=1e-13)
        assert_close(nabla_w[l], book_w[l], "layer %d nabla_w" % (l+1), rtol=1e-13)
    old = [w for w in net.weights]
    old_copy = [w.copy() for w in net.weights]
    net.update_mini_batch(data, 0.7, 2.0, 100)
    book.step(data, 0.7, 2.0, 100)
    for l in range(3):
        assert_close(net.weights[l], book.weights[l], "layer %d weights" % (l+1), rtol=1e-13)
        assert_close(net.biases[l], book.biases[l], "layer %d biases" % (l+1), rtol=1e-13)
        np.testing.assert_array_equal(old[l], old_copy[l], err_msg="training modified the caller's old array")


@pytest.mark.parametrize("backend", BACKENDS)
def test_assigning_weights_between_calls_takes_effect(backend):
    np.random.seed(0)
    net = network.Network([4, 3, 2], backend=backend)
    net.weights = [np.zeros((3, 4)), np.zeros((2, 3))]
    net.biases = [np.zeros((3, 1)), np.array([[100.0], [-100.0]])]
    out = net.feedforward(np.ones((4, 1)))
    np.testing.assert_allclose(out, [[1.0], [0.0]], atol=1e-12)
    assert net.evaluate([(np.ones((4, 1)), 0), (np.ones((4, 1)), 1)]) == 1
    assert net.cost_derivative(np.array([0.5]), np.array([1.0]))[0] == -0.5


def test_network2_save_load_round_trip(tmp_path):
    np.random.seed(8)
    net = network2.Network([5, 4, 3], cost=network2.QuadraticCost)
    path = tmp_path / "net.json"
    net.save(str(path))
    data = json.loads(path.read_text())
    assert set(data) == {"sizes", "weights", "biases", "cost"}
    assert data["cost"] == "QuadraticCost" and data["sizes"] == [5, 4, 3]
    loaded = network2.load(str(path))
    assert loaded.cost is network2.QuadraticCost and loaded.sizes == [5, 4, 3]
    for l in range(2):
        np.testing.assert_array_equal(loaded.weights[l], net.weights[l])
        np.testing.assert_array_equal(loaded.biases[l], net.biases[l])
    assert not list(tmp_path.glob(".fastnn-*")), "temporary file left behind"


def test_network2_loads_a_file_written_by_the_book(tmp_path):
    """Written as the book's save does: json.dump of lists, cost by class name."""
    rng = np.random.default_rng(9)
    sizes = [4, 3, 2]
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))]
    biases = [rng.standard_normal((3, 1)), rng.standard_normal((2, 1))]
    data = {"sizes": sizes, "weights": [w.tolist() for w in weights],
            "biases": [b.tolist() for b in biases], "cost": "CrossEntropyCost"}
    path = tmp_path / "book.json"
    with open(path, "w") as f:
        json.dump(data, f)
    net = network2.load(str(path))
    assert net.cost is network2.CrossEntropyCost
    x = rng.random((4, 1))
    book = oracle.PerExampleNet(sizes)
    book.weights, book.biases = weights, biases
    assert_close(net.feedforward(x), book.output(x), "output of the loaded network", rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_are_converted_once_per_sgd_call(backend, monkeypatch):
    """The book's lists become arrays once per SGD call, never per epoch or
    per mini-batch: with 4 epochs, training inputs, targets and the test
    data's inputs are stacked exactly once each."""
    from fastnn import _book
    calls = []
    real_stack = _book._stack

    def counting_stack(columns, width, name, expected):
        calls.append(name)
        return real_stack(columns, width, name, expected)

    monkeypatch.setattr(_book, "_stack", counting_stack)
    rng = np.random.default_rng(12)
    train, test = toy_data(rng, 50, 6, 3), toy_data(rng, 10, 6, 3, labels=True)
    net = network.Network([6, 4, 3], backend=backend)
    net.SGD(train, 4, 5, 1.0, test_data=test)
    assert sorted(calls) == ["test_data inputs", "training_data inputs", "training_data targets"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_network2_trains_on_float32_columns_as_on_float64(backend):
    """mnist_loader gives float32 (784, 1) columns: they are kept float32 (no
    float64 copy of the training set) and training ends on the weights of the
    same data as float64 columns, bit for bit (same seeds)."""
    from fastnn import _book
    rng = np.random.default_rng(13)
    data64 = toy_data(rng, 23, 6, 3)
    data32 = [(x.astype(np.float32), y) for x, y in data64]
    data64 = [(x.astype(np.float64), y) for x, y in data32]    # the same values
    evaluation = [(x, int(np.argmax(y))) for x, y in data32[:9]]
    net = network2.Network([6, 5, 3], backend=backend)
    X, Y = net._arrays(data32, "training_data", "vector")
    assert X.dtype == np.float32 and Y.dtype == np.float64
    results = []
    for data in (data32, data64):
        np.random.seed(14)
        random.seed(15)
        net = network2.Network([6, 5, 3], cost=network2.CrossEntropyCost, backend=backend)
        monitors = net.SGD(list(data), 3, 5, 0.5, lmbda=1.0, evaluation_data=evaluation,
                           monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                           monitor_training_cost=True, monitor_training_accuracy=True)
        net.update_mini_batch(data[:4], 0.5, 1.0, 23)
        results.append((net, monitors, net.backprop(*data[0]), net.accuracy(data, convert=True)))
    (a, ma, ga, acc_a), (b, mb, gb, acc_b) = results
    for l in range(2):
        np.testing.assert_array_equal(a.weights[l], b.weights[l], err_msg="layer %d weights" % (l+1))
        np.testing.assert_array_equal(a.biases[l], b.biases[l], err_msg="layer %d biases" % (l+1))
        np.testing.assert_array_equal(ga[0][l], gb[0][l], err_msg="layer %d nabla_b" % (l+1))
        np.testing.assert_array_equal(ga[1][l], gb[1][l], err_msg="layer %d nabla_w" % (l+1))
    assert ma == mb and acc_a == acc_b
    assert _book._stack([x for x, _ in data64], 6, "x", "(6, 1)").dtype == np.float64

"""network2 as readers of the book's code meet it: the Python 3 port's
``early_stopping_n``, files written by ``fastnn.MLP``, and the arguments
every backend must refuse alike."""
import random
import warnings

import numpy as np
import pytest

import oracle
from fastnn import MLP, network2
from helpers import assert_close, toy_data

BACKENDS = ["cython", "numpy", "book"]


class BookPathNetwork(network2.Network):
    """An override of a book method sends training down the per-example book path."""

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        super().update_mini_batch(mini_batch, eta, lmbda, n)


def make_network(sizes, backend):
    if backend == "book":
        return BookPathNetwork(sizes, backend="numpy")
    return network2.Network(sizes, backend=backend)


def port_sgd(book, training, epochs, batch, eta, lmbda, evaluation, watch, early_stopping_n):
    """The port's SGD loop, on the oracle: the book's epoch, then the port's
    early stopping on the accuracy measured last.  Returns the watched
    accuracies, one per epoch run."""
    best, unchanged, accuracies = 0, 0, []
    for _ in range(epochs):
        oracle.shuffle_in_place(training)
        for k in range(0, len(training), batch):
            book.step(training[k:k + batch], eta, lmbda, len(training))
        if watch == "evaluation":
            accuracy = book.count_correct(evaluation)
        else:
            accuracy = book.count_correct(training, one_hot_targets=True)
        accuracies.append(accuracy)
        if accuracy > best:
            best, unchanged = accuracy, 0
        else:
            unchanged += 1
        if unchanged == early_stopping_n:
            break
    return accuracies


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("watch", ["evaluation", "training"])
def test_early_stopping_n_stops_where_the_port_stops(backend, watch, capsys):
    rng = np.random.default_rng(11)
    training, evaluation = toy_data(rng, 40, 6, 3), toy_data(rng, 25, 6, 3, labels=True)
    random.seed(3)
    np.random.seed(4)
    net = make_network([6, 5, 3], backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the book path's one BookPathWarning
        results = net.SGD(list(training), 60, 8, 0.8, lmbda=0.1, evaluation_data=evaluation,
                          monitor_evaluation_accuracy=watch == "evaluation",
                          monitor_training_accuracy=watch == "training", early_stopping_n=3)
    random.seed(3)
    np.random.seed(4)
    book = oracle.PerExampleNet([6, 5, 3])
    want = port_sgd(book, list(training), 60, 8, 0.8, 0.1, evaluation, watch, 3)
    got = results[1] if watch == "evaluation" else results[3]
    assert 3 < len(want) < 60, "the case should stop early: {}".format(want)
    assert got == want
    assert [len(r) for r in results] == ([0, len(want), 0, 0] if watch == "evaluation"
                                         else [0, 0, 0, len(want)])
    for l, (w, b) in enumerate(zip(book.weights, book.biases)):
        assert_close(net.weights[l], w, "weights of layer {}".format(l + 1), rtol=1e-10, atol=1e-12)
        assert_close(net.biases[l], b, "biases of layer {}".format(l + 1), rtol=1e-10, atol=1e-12)
    assert capsys.readouterr().out.count("training complete") == len(want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_stopping_n_needs_an_accuracy_to_watch(backend):
    rng = np.random.default_rng(1)
    training = toy_data(rng, 10, 4, 2)
    net = make_network([4, 3, 2], backend)
    with pytest.raises(ValueError, match="early_stopping_n=2 .*monitor_evaluation_accuracy"):
        net.SGD(training, 5, 5, 0.5, monitor_training_cost=True, early_stopping_n=2)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="early_stopping_n"):
            net.SGD(training, 5, 5, 0.5, monitor_training_accuracy=True, early_stopping_n=bad)
    # 0, the port's default, is no early stopping: every epoch runs
    results = net.SGD(training, 4, 5, 0.5, monitor_training_accuracy=True, early_stopping_n=0)
    assert len(results[3]) == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_lmbda_is_refused_by_every_backend(backend):
    rng = np.random.default_rng(2)
    training = toy_data(rng, 10, 4, 2)
    net = make_network([4, 3, 2], backend)
    before = [w.copy() for w in net.weights]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="lmbda must be >= 0"):
            net.SGD(training, 1, 5, 0.5, lmbda=-3.0)
        with pytest.raises(ValueError, match="lmbda must be >= 0"):
            net.update_mini_batch(training[:5], 0.5, -3.0, len(training))
    for w, b in zip(net.weights, before):
        np.testing.assert_array_equal(w, b)


@pytest.mark.parametrize("activation,output,cost", [
    ("tanh", "sigmoid", "cross_entropy"), ("relu", "softmax", "log_likelihood"),
    ("sigmoid", "softmax", "log_likelihood")])
def test_network2_load_refuses_an_mlp_it_cannot_represent(tmp_path, activation, output, cost):
    path = str(tmp_path / "net.json")
    MLP([5, 4, 3], activation=activation, output=output, cost=cost, seed=0).save(path)
    named = activation if activation != "sigmoid" else output
    with pytest.raises(ValueError, match="{} (hidden|output) neurons.*MLP.load".format(named)):
        network2.load(path)
    assert MLP.load(path).activation == activation      # where the message sends the reader


@pytest.mark.parametrize("cost", ["cross_entropy", "quadratic"])
def test_network2_loads_a_sigmoid_mlp_as_it_is(tmp_path, cost):
    path = str(tmp_path / "net.json")
    mlp = MLP([5, 4, 3], cost=cost, seed=0)
    mlp.save(path)
    net = network2.load(path)
    x = np.random.default_rng(0).random((5, 7))
    np.testing.assert_allclose(net.feedforward(x).T, mlp.predict_proba(x.T), rtol=1e-12)
    assert network2.cost_class(net.cost) is mlp.cost


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_interrupted_sgd_keeps_the_finished_epochs_lists(backend, monkeypatch):
    """Ctrl-C in the fourth epoch's monitor (standing in for one mid-epoch):
    net.history holds the three finished epochs' figures."""
    def interrupting_print(*args, **kwargs):
        if args and args[0] == "Epoch 3 training complete":
            raise KeyboardInterrupt
    monkeypatch.setattr(network2, "print", interrupting_print, raising=False)
    rng = np.random.default_rng(3)
    training, evaluation = toy_data(rng, 20, 4, 2), toy_data(rng, 10, 4, 2, labels=True)
    np.random.seed(0)
    net = make_network([4, 3, 2], backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyboardInterrupt):
            net.SGD(training, 10, 5, 0.5, evaluation_data=evaluation,
                    monitor_evaluation_cost=True, monitor_evaluation_accuracy=True)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.history
    assert len(evaluation_cost) == len(evaluation_accuracy) == 3
    assert training_cost == [] and training_accuracy == []

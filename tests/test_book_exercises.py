"""The book's exercises on the drop-ins: a subclass that overrides one of the
book's methods, a cost class of the reader's own, or a rebound
``sigmoid``/``sigmoid_prime`` is followed, never silently ignored.

Each test checks three things: the reader's code is called (and how often),
one ``fastnn.BookPathWarning`` says so, and the numbers are the book's, from
``oracle.PerExampleNet`` changed the same way (an overridden method or a
rebound module function of the oracle's own).  On the book path the backend
does not matter; both are run.
"""
import random
import warnings

import numpy as np
import pytest

import fastnn
import oracle
from fastnn import _book, network, network2
from helpers import assert_close, toy_data

BACKENDS = ["cython", "numpy"]
SIZES = [6, 5, 3]
N, EPOCHS, M = 23, 3, 5        # 23 pairs: four mini-batches of 5 and one of 3
BATCHES = -(-N // M)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """The drop-ins warn once per process for each class and change; each
    test starts with none given yet."""
    monkeypatch.setattr(_book, "_warned", set())


@pytest.fixture
def shuffle_style():
    yield
    fastnn.set_shuffle("python3")


def book_path_warnings(recwarn):
    return [str(w.message) for w in recwarn.list if issubclass(w.category, fastnn.BookPathWarning)]


def training_data(seed=3):
    return toy_data(np.random.default_rng(seed), N, SIZES[0], SIZES[-1])


def make_dropin(net_class, backend, cost=None):
    """A drop-in network (of ``net_class``) seeded as ``make_oracle`` is."""
    np.random.seed(11)
    random.seed(99)
    if issubclass(net_class, network2.Network):
        return net_class(SIZES, cost=cost or network2.CrossEntropyCost, backend=backend)
    return net_class(SIZES, backend=backend)


def make_oracle(module, oracle_class=oracle.PerExampleNet, cost=None):
    """The oracle standing for ``module``'s network (network: quadratic cost,
    N(0, 1) weights; network2: cross-entropy unless ``cost`` says otherwise,
    scaled weights), with the same initial weights and random state as
    ``make_dropin``'s."""
    np.random.seed(11)
    random.seed(99)
    if module is network:
        return oracle_class(SIZES, cost=cost or "quadratic", init="unit")
    return oracle_class(SIZES, cost=cost or "cross-entropy")


def train_oracle(book, data, eta=2.0, lmbda=0.0, rule="python3"):
    book.train(data, EPOCHS, M, eta, lmbda, rule=rule)


def sgd(net, data, eta=2.0, lmbda=0.0, **kwargs):
    if isinstance(net, network2.Network):
        return net.SGD(data, EPOCHS, M, eta, lmbda=lmbda, **kwargs)
    assert lmbda == 0.0
    return net.SGD(data, EPOCHS, M, eta, **kwargs)


def assert_same_network(net, book, rtol=1e-13):
    for l in range(len(SIZES) - 1):
        assert_close(net.weights[l], book.weights[l], "layer %d weights" % (l+1), rtol=rtol)
        assert_close(net.biases[l], book.biases[l], "layer %d biases" % (l+1), rtol=rtol)


# -- nothing changed: the kernels, silently ---------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("module", [network, network2])
def test_plain_networks_stay_on_the_kernels_without_a_warning(backend, module, monkeypatch,
                                                               recwarn, capsys):
    def not_here(*args, **kwargs):
        raise AssertionError("a plain network took the book path")

    for name in ("_book_sgd", "_book_feedforward", "_book_backprop", "_book_update_mini_batch"):
        monkeypatch.setattr(_book.BookNetwork, name, not_here)
    data = training_data()
    labelled = [(x, int(np.argmax(y))) for x, y in data]
    net = make_dropin(module.Network, backend)
    assert net._customizations() == []
    if module is network:
        net.SGD(data, 2, M, 1.0, test_data=labelled)
        net.update_mini_batch(data[:4], 1.0)
        net.evaluate(labelled)
    else:
        net.SGD(data, 2, M, 1.0, lmbda=0.5, evaluation_data=labelled,
                monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                monitor_training_cost=True, monitor_training_accuracy=True)
        net.update_mini_batch(data[:4], 1.0, 0.5, N)
        net.accuracy(labelled)
        net.total_cost(data, 0.5)
    net.feedforward(data[0][0])
    net.backprop(*data[0])
    assert book_path_warnings(recwarn) == []


# -- network: cost_derivative, backprop, feedforward, evaluate ------------------

class DoubledCostDerivative(network.Network):
    """The exercise's kind of change: the quadratic cost doubled, through
    cost_derivative."""
    calls = 0

    def cost_derivative(self, output_activations, y):
        type(self).calls += 1
        return 2*(output_activations-y)


class DoubledOracle(oracle.PerExampleNet):
    """The same change in the oracle: twice its quadratic output error."""

    def output_error(self, z, a, y):
        return 2*(a - y) * oracle.logistic_slope(z)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cost_derivative_override_is_called_per_example(backend, recwarn, capsys):
    DoubledCostDerivative.calls = 0
    data, book_data = training_data(), training_data()
    test = [(x, int(np.argmax(y))) for x, y in training_data(seed=4)[:10]]
    net = make_dropin(DoubledCostDerivative, backend)
    net.SGD(data, EPOCHS, M, 2.0, test_data=test)
    assert DoubledCostDerivative.calls == EPOCHS * N
    book = make_oracle(network, DoubledOracle)
    train_oracle(book, book_data)
    assert_same_network(net, book)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == EPOCHS and lines[-1] == "Epoch {}: {} / 10".format(
        EPOCHS - 1, book.count_correct(test))
    [message] = book_path_warnings(recwarn)
    assert "cost_derivative is overridden by DoubledCostDerivative" in message
    assert "compiled kernels" in message and "slower" in message


class HalfGradient(object):
    """A backprop that calls the drop-in's and halves the gradient (a mixin,
    so both drop-ins get the same change; ``HalfOracle`` makes it in the
    oracle)."""
    calls = 0

    def backprop(self, x, y):
        HalfGradient.calls += 1
        nabla_b, nabla_w = super().backprop(x, y)
        return [0.5*g for g in nabla_b], [0.5*g for g in nabla_w]


class HalfNetwork(HalfGradient, network.Network):
    pass


class HalfNetwork2(HalfGradient, network2.Network):
    pass


class HalfOracle(oracle.PerExampleNet):
    """The oracle's per-example gradient, halved, counted with the drop-ins'."""

    def gradients(self, x, y):
        HalfGradient.calls += 1
        grad_b, grad_W = super().gradients(x, y)
        return [0.5*g for g in grad_b], [0.5*g for g in grad_W]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("module", [network, network2])
def test_backprop_override_halving_the_gradient_halves_eta(backend, module, recwarn, capsys):
    """A backprop returning half the gradient trains exactly as the oracle
    with the same override, and as the plain network (on the kernels) with
    half the learning rate (no L2 here, which eta would scale too)."""
    HalfGradient.calls = 0
    net = make_dropin(HalfNetwork if module is network else HalfNetwork2, backend)
    sgd(net, training_data(), eta=2.0)
    assert HalfGradient.calls == EPOCHS * N
    [message] = book_path_warnings(recwarn)
    assert "backprop is overridden by" in message

    HalfGradient.calls = 0
    book = make_oracle(module, HalfOracle)
    train_oracle(book, training_data())
    assert HalfGradient.calls == EPOCHS * N
    assert_same_network(net, book)

    plain = make_dropin(module.Network, backend)
    sgd(plain, training_data(), eta=1.0)
    assert_same_network(net, plain, rtol=1e-10)
    assert len(book_path_warnings(recwarn)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("module", [network, network2])
def test_feedforward_override_is_what_evaluation_uses(backend, module, recwarn, capsys):
    calls = []

    class Counted(module.Network):
        def feedforward(self, a):
            calls.append(1)
            return super().feedforward(a)

    test = [(x, int(np.argmax(y))) for x, y in training_data(seed=4)[:10]]
    net = make_dropin(Counted, backend)
    if module is network:
        net.SGD(training_data(), EPOCHS, M, 2.0, test_data=test)
        assert len(calls) == EPOCHS * len(test)     # backprop runs its own forward pass
        printed = int(capsys.readouterr().out.splitlines()[-1].split()[2])
    else:
        printed = net.SGD(training_data(), EPOCHS, M, 2.0, evaluation_data=test,
                          monitor_evaluation_accuracy=True)[1][-1]
        # the book's SGD asks for the evaluation accuracy twice per epoch
        assert len(calls) == EPOCHS * 2 * len(test)
    book = make_oracle(module)
    train_oracle(book, training_data())
    assert printed == book.count_correct(test)
    assert_same_network(net, book)
    assert_close(net.feedforward(test[0][0]), book.output(test[0][0]), "output", rtol=1e-14)
    [message] = book_path_warnings(recwarn)
    assert "feedforward is overridden by Counted" in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluate_override_is_what_sgd_prints(backend, recwarn, capsys):
    seen = []

    class Scored(network.Network):
        def evaluate(self, test_data):
            seen.append(test_data)
            return 7

    test = [(x, int(np.argmax(y))) for x, y in training_data(seed=4)[:10]]
    net = make_dropin(Scored, backend)
    net.SGD(training_data(), EPOCHS, M, 2.0, test_data=test)
    assert len(seen) == EPOCHS and all(t is test for t in seen)
    assert capsys.readouterr().out.splitlines() == [
        "Epoch {}: 7 / 10".format(j) for j in range(EPOCHS)]
    book = make_oracle(network)
    train_oracle(book, training_data())
    assert_same_network(net, book)
    assert len(book_path_warnings(recwarn)) == 1


# -- update_mini_batch: the book's slices, in the book's order -------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("module", [network, network2])
@pytest.mark.parametrize("style", ["python3", "python2"])
def test_update_mini_batch_override_gets_the_books_mini_batches(backend, module, style,
                                                                 shuffle_style, recwarn, capsys):
    fastnn.set_shuffle(style)
    seen, book_seen = [], []

    if module is network:
        class Recording(network.Network):
            def update_mini_batch(self, mini_batch, eta):
                seen.append(([id(x) for x, _ in mini_batch], eta))
                super().update_mini_batch(mini_batch, eta)
    else:
        class Recording(network2.Network):
            def update_mini_batch(self, mini_batch, eta, lmbda, n):
                seen.append(([id(x) for x, _ in mini_batch], eta, lmbda, n))
                super().update_mini_batch(mini_batch, eta, lmbda, n)

    class RecordingOracle(oracle.PerExampleNet):
        def step(self, batch, eta, lmbda, n):
            record = ([id(x) for x, _ in batch], eta)
            book_seen.append(record if module is network else record + (lmbda, n))
            super().step(batch, eta, lmbda, n)

    lmbda = 0.0 if module is network else 1.5
    data = training_data()
    book_data = list(data)
    net = make_dropin(Recording, backend)
    sgd(net, data, eta=2.0, lmbda=lmbda)
    state = random.getstate()
    book = make_oracle(module, RecordingOracle)
    train_oracle(book, book_data, 2.0, lmbda, rule=style)
    assert len(seen) == EPOCHS * BATCHES
    assert seen == book_seen
    assert random.getstate() == state, "the shuffle consumed random differently"
    assert [id(x) for x, _ in data] == [id(x) for x, _ in book_data], \
        "the caller's list is not shuffled as the book's"
    assert_same_network(net, book)
    [message] = book_path_warnings(recwarn)
    assert "update_mini_batch is overridden by" in message


# -- a rebound sigmoid -----------------------------------------------------------

def steep_sigmoid(z):
    steep_sigmoid.calls += 1
    return 1.0/(1.0+np.exp(-2*z))


def steep_sigmoid_prime(z):
    steep_sigmoid_prime.calls += 1
    s = 1.0/(1.0+np.exp(-2*z))
    return 2*s*(1-s)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("module, cost", [(network, None), (network2, "cross-entropy"),
                                          (network2, "quadratic")])
def test_rebinding_the_modules_sigmoid_changes_training_as_in_the_book(
        backend, module, cost, monkeypatch, recwarn, capsys):
    """A program that assigns ``network.sigmoid = ...`` (and sigmoid_prime)
    trains with them, as the book's module would; network2's quadratic cost
    takes the module's sigmoid_prime too, as the book's does."""
    monkeypatch.setattr(module, "sigmoid", steep_sigmoid)
    monkeypatch.setattr(module, "sigmoid_prime", steep_sigmoid_prime)
    monkeypatch.setattr(oracle, "logistic", steep_sigmoid)
    monkeypatch.setattr(oracle, "logistic_slope", steep_sigmoid_prime)
    steep_sigmoid.calls = steep_sigmoid_prime.calls = 0
    dropin_cost = {None: None, "cross-entropy": network2.CrossEntropyCost,
                   "quadratic": network2.QuadraticCost}[cost]
    net = make_dropin(module.Network, backend, dropin_cost)
    sgd(net, training_data(), eta=2.0, lmbda=0.0 if module is network else 1.5)
    # per example: one sigmoid per layer; sigmoid_prime for the hidden layer
    # and, with the quadratic cost, the output layer
    assert steep_sigmoid.calls == EPOCHS * N * (len(SIZES) - 1)
    primes = len(SIZES) - 1 if cost != "cross-entropy" else len(SIZES) - 2
    assert steep_sigmoid_prime.calls == EPOCHS * N * primes
    book = make_oracle(module, cost=cost)
    train_oracle(book, training_data(), 2.0, 0.0 if module is network else 1.5)
    assert_same_network(net, book)
    x = training_data(seed=4)[0][0]
    assert_close(net.feedforward(x), book.output(x), "output", rtol=1e-14)
    [message] = book_path_warnings(recwarn)
    name = module.__name__.rsplit(".", 1)[-1]
    assert "{}.sigmoid is rebound to steep_sigmoid".format(name) in message
    assert "{}.sigmoid_prime is rebound to steep_sigmoid_prime".format(name) in message


# -- network2: a cost of the reader's own, the monitors ---------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("instance", [False, True], ids=["class", "instance"])
def test_network2_cost_subclass_overriding_fn_and_delta(backend, instance, recwarn, capsys):
    """The compiled kernels lack the reader's cost: that backend takes the
    book path (per example, with the warning).  The numpy backend keeps its
    batched path, which already calls the class's fn and delta, once per
    mini-batch or data set, and warns of nothing."""
    calls = {"fn": 0, "delta": 0}

    class GentleQuadraticCost(network2.QuadraticCost):
        @staticmethod
        def fn(a, y):
            calls["fn"] += 1
            return 0.5*network2.QuadraticCost.fn(a, y)

        @staticmethod
        def delta(z, a, y):
            calls["delta"] += 1
            return 0.5*network2.QuadraticCost.delta(z, a, y)

    class GentleOracle(oracle.PerExampleNet):
        def example_cost(self, a, y):
            return 0.5*super().example_cost(a, y)

        def output_error(self, z, a, y):
            return 0.5*super().output_error(z, a, y)

    cost = GentleQuadraticCost() if instance else GentleQuadraticCost
    net = make_dropin(network2.Network, backend, cost)
    sgd(net, training_data(), eta=2.0, lmbda=1.5)
    book = make_oracle(network2, GentleOracle, cost="quadratic")
    train_oracle(book, training_data(), 2.0, 1.5)
    data = training_data(seed=4)
    assert net.total_cost(data, 1.5) == pytest.approx(book.mean_cost(data, 1.5), rel=1e-12)
    if backend == "cython":
        assert calls == {"delta": EPOCHS * N, "fn": len(data)}
        assert_same_network(net, book)
        [message] = book_path_warnings(recwarn)
        assert "the cost GentleQuadraticCost is not built into the compiled kernels" in message
    else:
        assert calls == {"delta": EPOCHS * BATCHES, "fn": 1}
        assert_same_network(net, book, rtol=1e-10)
        assert book_path_warnings(recwarn) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_network2_monitors_call_total_cost_and_accuracy_as_the_book(backend, recwarn, capsys):
    calls = []

    class Monitored(network2.Network):
        def total_cost(self, data, lmbda, convert=False):
            calls.append(("total_cost", len(data), lmbda, convert))
            return super().total_cost(data, lmbda, convert)

        def accuracy(self, data, convert=False):
            calls.append(("accuracy", len(data), convert))
            return super().accuracy(data, convert)

    evaluation = [(x, int(np.argmax(y))) for x, y in training_data(seed=4)[:10]]
    net = make_dropin(Monitored, backend)
    results = sgd(net, training_data(), eta=0.5, lmbda=0.3, evaluation_data=evaluation,
                  monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                  monitor_training_cost=True, monitor_training_accuracy=True)
    # the book's order; it asks for the evaluation accuracy twice, once to
    # keep and once to print
    assert calls == EPOCHS * [("total_cost", N, 0.3, False), ("accuracy", N, True),
                              ("total_cost", 10, 0.3, True), ("accuracy", 10, False),
                              ("accuracy", 10, False)]
    book_data = training_data()
    book = make_oracle(network2)
    train_oracle(book, book_data, 0.5, 0.3)
    assert_same_network(net, book)
    ev_cost, ev_acc, tr_cost, tr_acc = results
    assert [len(r) for r in results] == [EPOCHS] * 4
    assert ev_cost[-1] == pytest.approx(book.mean_cost(evaluation, 0.3, labels=True), rel=1e-13)
    assert tr_cost[-1] == pytest.approx(book.mean_cost(book_data, 0.3), rel=1e-13)
    assert ev_acc[-1] == book.count_correct(evaluation)
    assert tr_acc[-1] == book.count_correct(book_data, one_hot_targets=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-6:] == [
        "Epoch {} training complete".format(EPOCHS - 1),
        "Cost on training data: {}".format(tr_cost[-1]),
        "Accuracy on training data: {} / {}".format(tr_acc[-1], N),
        "Cost on evaluation data: {}".format(ev_cost[-1]),
        "Accuracy on evaluation data: {} / 10".format(ev_acc[-1]),
        ""]
    [message] = book_path_warnings(recwarn)
    assert "total_cost is overridden by" in message and "accuracy is overridden by" in message


# -- the warning, the backend, divergence ------------------------------------------

def test_a_method_replaced_on_the_instance_is_followed(recwarn, capsys):
    calls = []
    net = make_dropin(network.Network, "cython")

    def backprop(x, y):
        calls.append(1)
        return network.Network.backprop(net, x, y)

    net.backprop = backprop
    net.SGD(training_data(), EPOCHS, M, 2.0)
    assert len(calls) == EPOCHS * N
    book = make_oracle(network)
    train_oracle(book, training_data())
    assert_same_network(net, book)
    [message] = book_path_warnings(recwarn)
    assert "backprop is replaced on the instance" in message


def test_the_warning_comes_once_per_class_and_change(monkeypatch, recwarn, capsys):
    net = make_dropin(HalfNetwork, "cython")
    net.SGD(training_data(), 1, M, 1.0)
    net.SGD(training_data(), 1, M, 1.0)
    net.backprop(*training_data()[0])
    HalfNetwork([6, 3]).feedforward(np.ones((6, 1)))
    assert len(book_path_warnings(recwarn)) == 1

    class Other(HalfNetwork):
        pass

    Other(SIZES).SGD(training_data(), 1, M, 1.0)
    assert len(book_path_warnings(recwarn)) == 2
    monkeypatch.setattr(network, "sigmoid", lambda z: 1.0/(1.0+np.exp(-z)))
    net.SGD(training_data(), 1, M, 1.0)
    messages = book_path_warnings(recwarn)
    assert len(messages) == 3
    assert "network.sigmoid is rebound" in messages[-1] and "backprop" not in messages[-1]


def test_the_backend_does_not_matter_on_the_book_path(recwarn, capsys):
    nets = []
    for backend in BACKENDS:
        net = make_dropin(HalfNetwork2, backend)
        sgd(net, training_data(), eta=2.0, lmbda=1.5)
        nets.append(net)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        np.testing.assert_array_equal(a, b)
    assert len(book_path_warnings(recwarn)) == 1     # one class, one change


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_on_the_book_path_names_the_epoch(backend, capsys):
    class Spoiled(network.Network):
        calls = 0

        def update_mini_batch(self, mini_batch, eta):
            super().update_mini_batch(mini_batch, eta)
            Spoiled.calls += 1
            if Spoiled.calls == BATCHES + 2:      # the second epoch's second mini-batch
                self.weights[0][0, 0] = np.nan

    net = make_dropin(Spoiled, backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnn.BookPathWarning)
        with pytest.raises(fastnn.TrainingDiverged, match="epoch 1"):
            net.SGD(training_data(), EPOCHS, M, 2.0)
    assert Spoiled.calls == BATCHES + 2

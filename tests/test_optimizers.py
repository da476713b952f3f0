"""The optimizers (SGD with momentum and Nesterov, Adam in PyTorch's and
scikit-learn's forms, AdamW): the compiled steps against the numpy reference
steps, both against the formulas of the libraries they follow, exact resume,
and the errors for bad settings.

Tolerances: the two backends make the same elementwise operations in the same
order; they differ only where their matrix products round differently, so
after an epoch float64 agrees to 1e-10 (normwise) and float32 to 2e-4.
"""
import json

import numpy as np
import pytest

import fastnn
from fastnn import MLP, optimizers, reference, trainer
from fastnn._core import _dense
from fastnn.optimizers import SGD, Adam, AdamW, Step

from helpers import assert_close, make_data, make_net

#: every optimizer the kernels implement, in the forms the tests compare
OPTIMIZERS = {
    "sgd": SGD(),
    "momentum": SGD(momentum=0.9),
    "nesterov": SGD(momentum=0.9, nesterov=True),
    "adam": Adam(),
    "adam-sklearn": Adam(form="sklearn"),
    "adamw": AdamW(weight_decay=0.05),
}
RATES = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05, "adam": 1e-3, "adam-sklearn": 1e-3,
         "adamw": 1e-3}


def rate_of(optimizer):
    """A rate at which ``optimizer`` trains the small test networks smoothly."""
    return 0.05 if isinstance(optimizer, SGD) else 1e-3
TOL = {np.float64: 1e-10, np.float32: 2e-4}


def spec():
    return trainer.Spec("relu", "softmax", "log_likelihood")


def trained(module, optimizer, dtype, l2=0.0, l1=0.0, alpha=0.0, batch=10, epochs=1,
            sizes=(20, 16, 12, 5), rows=203):
    rng = np.random.default_rng(7)
    sizes = list(sizes)
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, rows, dtype, rng)
    step = Step.for_parameters(list(zip(weights, biases)), len(X), l2, l1, optimizer=optimizer,
                               alpha=alpha)
    for epoch in range(epochs):
        step.eta = rate_of(optimizer)
        order = np.random.default_rng(epoch).permutation(len(X))
        module.train(weights, biases, X, Y, order, batch, spec(), step)
    return weights, biases, step


def named_arrays(weights, biases, step):
    out = [("layer {} weights".format(l), w) for l, w in enumerate(weights)]
    out += [("layer {} biases".format(l), b) for l, b in enumerate(biases)]
    for l, layer in enumerate(step.state or []):
        out += [("layer {} state array {}".format(l, i), a) for i, a in enumerate(layer)]
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("regularization", [{}, {"l2": 5.0}, {"l2": 2.0, "l1": 1.0},
                                            {"alpha": 1e-2}])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_compiled_step_matches_reference(name, regularization, dtype):
    """Every optimizer, with and without the regularization terms: the
    compiled kernels and the numpy reference end an epoch (and a second
    one, on the state the first left) on the same weights, biases and
    state arrays, and count the same steps."""
    results = [trained(module, OPTIMIZERS[name], dtype, epochs=2, **regularization)
               for module in (_dense, reference)]
    (wc, bc, sc), (wr, br, sr) = results
    assert sc.t == sr.t == 2 * 21
    for (what, a), (_, b) in zip(named_arrays(wc, bc, sc), named_arrays(wr, br, sr)):
        assert_close(a, b, "{} {}: {}".format(name, regularization, what), rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [10, 32, 40])
@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamw"])
def test_wide_layers_step_in_tiles_like_the_reference(name, batch, dtype):
    """A first layer too large for one of the step's tiles
    (``_layers.fc_weight_step``: with 600 inputs a tile is 12 rows of
    float64 or 36 of float32, so its 37 neurons take four tiles or two, the
    last of one row): the compiled step still ends on the reference's weights and
    state, at mini-batches our small-matrix kernels make (10, 32) and one
    that BLAS makes whole (40)."""
    regularization = {"l2": 2.0, "l1": 1.0}
    results = [trained(module, OPTIMIZERS[name], dtype, batch=batch, sizes=(600, 37, 10),
                       rows=97, **regularization) for module in (_dense, reference)]
    (wc, bc, sc), (wr, br, sr) = results
    for (what, a), (_, b) in zip(named_arrays(wc, bc, sc), named_arrays(wr, br, sr)):
        assert_close(a, b, "{} at mini-batch {}: {}".format(name, batch, what), rtol=TOL[dtype])


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamw"])
def test_two_threads_match_one(name):
    """The dense kernels split the first layer across threads: same result."""
    one = trained(_dense, OPTIMIZERS[name], np.float64)
    rng = np.random.default_rng(7)
    sizes = [20, 16, 12, 5]
    weights, biases = make_net(sizes, np.float64, rng)
    X, Y = make_data(sizes, 203, np.float64, rng)
    step = Step.for_parameters(list(zip(weights, biases)), len(X), optimizer=OPTIMIZERS[name])
    step.eta = rate_of(OPTIMIZERS[name])
    _dense.train(weights, biases, X, Y, np.random.default_rng(0).permutation(len(X)), 10, spec(),
                 step, num_threads=2)
    for (what, a), (_, b) in zip(named_arrays(weights, biases, step), named_arrays(*one)):
        assert_close(a, b, "{}, 2 threads vs 1: {}".format(name, what), rtol=1e-12)


def test_plain_sgd_is_the_book_step():
    """SGD() with l2 is network2's ``w -> (1 - eta*lmbda/n) w - (eta/m) nabla_w``
    bit for bit: Step.for_parameters(optimizer=SGD()) and the drop-ins'
    Step(eta, n, l2) give the same weights."""
    a = trained(_dense, SGD(), np.float64, l2=5.0)
    rng = np.random.default_rng(7)
    sizes = [20, 16, 12, 5]
    weights, biases = make_net(sizes, np.float64, rng)
    X, Y = make_data(sizes, 203, np.float64, rng)
    step = Step(0.05, len(X), l2=5.0)
    _dense.train(weights, biases, X, Y, np.random.default_rng(0).permutation(len(X)), 10, spec(),
                 step)
    for x, y in zip(a[0] + a[1], weights + biases):
        np.testing.assert_array_equal(x, y)


# -- the formulas of the libraries each form follows ---------------------------------------

def _sklearn_optimizers():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import _stochastic_optimizers
    return _stochastic_optimizers


def _reference_steps(optimizer, params, grads_per_step, eta, m=1):
    """Our numpy step, applied to copies of ``params`` for each gradient list."""
    params = [p.copy() for p in params]
    step = Step(eta, 1, optimizer=optimizer,
                state=[tuple(np.zeros_like(p) for _ in range(optimizer.n_state()))
                       for p in params] if optimizer.n_state() else None)
    for grads in grads_per_step:
        k = optimizer.begin(step, m)
        for l, (p, g) in enumerate(zip(params, grads)):
            state = step.state[l] if step.state else ()
            optimizer.reference_step(p, g, state, step, k, False)
    return params


def _random_steps(rng, shapes, count):
    return [[rng.standard_normal(s) * 10.0 ** rng.integers(-6, 1) for s in shapes]
            for _ in range(count)]


def test_adam_sklearn_form_matches_scikit_learn():
    """``Adam(form="sklearn")`` is scikit-learn's AdamOptimizer step for step."""
    so = _sklearn_optimizers()
    rng = np.random.default_rng(3)
    shapes = [(6, 4), (4,)]
    params = [rng.standard_normal(s) for s in shapes]
    steps = _random_steps(rng, shapes, 25)
    ours = _reference_steps(Adam(betas=(0.8, 0.99), eps=1e-6, form="sklearn"), params, steps, 0.01)
    theirs = [p.copy() for p in params]
    opt = so.AdamOptimizer(theirs, learning_rate_init=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    for grads in steps:
        opt.update_params(theirs, grads)
    for l, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a, b, "parameter {} after 25 Adam steps, vs scikit-learn".format(l), atol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_forms_match_scikit_learn(nesterov):
    """SGD's momentum and Nesterov forms are scikit-learn's SGDOptimizer's."""
    so = _sklearn_optimizers()
    rng = np.random.default_rng(4)
    shapes = [(5, 3), (3,)]
    params = [rng.standard_normal(s) for s in shapes]
    steps = _random_steps(rng, shapes, 25)
    ours = _reference_steps(SGD(momentum=0.7, nesterov=nesterov), params, steps, 0.1)
    theirs = [p.copy() for p in params]
    opt = so.SGDOptimizer(theirs, learning_rate_init=0.1, momentum=0.7, nesterov=nesterov)
    for grads in steps:
        opt.update_params(theirs, grads)
    for l, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a, b, "parameter {} after 25 steps, nesterov={}, vs scikit-learn".format(
            l, nesterov), atol=1e-14)


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_adam_forms_match_torch_step_for_step(cls):
    """``Adam()``/``AdamW()`` are ``torch.optim.Adam``/``AdamW`` on the same
    gradients (AdamW's decay on the weights, the first parameter; torch is
    told to decay only that one)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(5)
    shapes = [(6, 4), (4,)]
    params = [rng.standard_normal(s) for s in shapes]
    steps = _random_steps(rng, shapes, 30)
    kwargs = {"weight_decay": 0.1} if cls is AdamW else {}
    ours = [p.copy() for p in params]
    opt = cls(betas=(0.85, 0.995), eps=1e-7, **kwargs)
    step = Step(0.01, 1, optimizer=opt, state=[tuple(np.zeros_like(p) for _ in range(2))
                                               for p in params])
    for grads in steps:
        k = opt.begin(step, 1)
        for l, (p, g) in enumerate(zip(ours, grads)):
            opt.reference_step(p, g, step.state[l], step, k, l == 0)
    tp = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    groups = [{"params": [tp[0]]}, {"params": [tp[1]], "weight_decay": 0.0}]
    topt = getattr(torch.optim, cls.__name__)(groups, lr=0.01, betas=(0.85, 0.995), eps=1e-7,
                                              **kwargs)
    for grads in steps:
        for p, g in zip(tp, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    for l, (a, b) in enumerate(zip(ours, tp)):
        assert_close(a, b.detach().numpy(), "parameter {} after 30 {} steps, vs PyTorch".format(
            l, cls.__name__), atol=1e-14)


def _mnist_rows(mnist_path, n):
    from fastnn.datasets import load_mnist
    (X, y), _, _ = load_mnist(mnist_path)
    return np.ascontiguousarray(X[:n], dtype=np.float64), y[:n]


def test_adam_matches_torch_on_mnist(mnist_path):
    """The issue's check: [784, 100, 10] ReLU/softmax, learning rate 1e-3,
    float64, one epoch of 5,000 MNIST rows at mini-batch 32, the same order
    from the same start: fastnn's compiled Adam ends within 1e-7 of
    ``torch.optim.Adam`` on every weight, and scikit-learn's form, 1e-2 away
    there, would not."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    X, y = _mnist_rows(mnist_path, 5000)
    order = np.random.default_rng(0).permutation(len(X))
    results = {}
    for form in ("torch", "sklearn"):
        net = MLP([784, 100, 10], activation="relu", output="softmax", cost="log_likelihood",
                  seed=1)
        start = ([w.copy() for w in net.weights], [b.copy() for b in net.biases])
        net.rng = _FixedOrder(order)
        net.fit(X, y, epochs=1, batch_size=32, optimizer=Adam(form=form))
        results[form] = net
    w0, b0 = start
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    model.double()
    with torch.no_grad():
        for layer, w, b in zip((model[0], model[2]), w0, b0):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    topt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, dtype=np.int64))
    for k in range(0, len(X), 32):
        rows = torch.from_numpy(order[k:k + 32])
        topt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt[rows]), yt[rows]).backward()
        topt.step()
    theirs = [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    ours = results["torch"]
    for what, a, b in zip(("weights[0]", "biases[0]", "weights[1]", "biases[1]"),
                          [ours.weights[0], ours.biases[0], ours.weights[1], ours.biases[1]],
                          theirs):
        assert_close(a, b.detach().numpy(), "Adam vs torch.optim.Adam, {}".format(what), atol=1e-7)
    apart = max(float(np.max(np.abs(a - b))) for a, b in zip(
        results["sklearn"].weights, results["torch"].weights))
    assert apart > 1e-4, "scikit-learn's form should differ from torch's here, by {}".format(apart)


class _FixedOrder(object):
    """Stands in for MLP's generator: every epoch visits ``order``."""

    def __init__(self, order):
        self.order = order

    def permutation(self, n):
        assert n == len(self.order)
        return self.order.copy()


@pytest.mark.slow
def test_adam_learns_mnist(mnist_path):
    """Adam at its default rate, mini-batch 32, float32, from He's
    initialization: at least 97.5% of the validation images within 10
    epochs.  (From the book's initialization, whose biases are N(0, 1), it
    reached 97.4-97.6% at epoch 10 over three seeds.)"""
    from fastnn.datasets import load_mnist
    (X, y), (X_val, y_val), _ = load_mnist(mnist_path)
    net = MLP([784, 100, 10], activation="relu", output="softmax", cost="log_likelihood",
              init="he", dtype="float32", seed=0)
    net.fit(X, y, epochs=10, batch_size=32, optimizer="adam", validation_data=(X_val, y_val),
            early_stopping=10)
    best = max(r["val_accuracy"] for r in net.history)
    assert best >= 0.975, "best validation accuracy {:.4f} in 10 epochs".format(best)


# -- exact resume ------------------------------------------------------------------------

def _small_problem():
    rng = np.random.default_rng(11)
    X = rng.random((150, 12))
    y = rng.integers(0, 4, size=150)
    return X, y


def _net():
    return MLP([12, 9, 4], activation="relu", output="softmax", cost="log_likelihood", seed=3)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_two_fits_are_one(name, tmp_path):
    """fit 2 epochs, then 2 more (directly, and through save and load) ends
    bit for bit where one 4-epoch fit ends, for every optimizer; the epochs
    and a callable learning rate go on counting and the history is appended."""
    X, y = _small_problem()
    rate = RATES[name]
    seen = []

    def learning_rate(epoch):
        seen.append(epoch)
        return rate / (1 + epoch)

    opt = OPTIMIZERS[name]
    whole = _net()
    whole.fit(X, y, epochs=4, batch_size=16, optimizer=opt, learning_rate=learning_rate, l2=0.5)
    assert seen[1:] == [0, 1, 2, 3]     # (the first call checks the rate before training)
    del seen[:]
    twice = _net()
    twice.fit(X, y, epochs=2, batch_size=16, optimizer=opt, learning_rate=learning_rate, l2=0.5)
    path = str(tmp_path / "net.json")
    twice.save(path)
    history = twice.fit(X, y, epochs=2, batch_size=16, optimizer=opt, learning_rate=learning_rate,
                        l2=0.5)
    assert seen == [0, 0, 1, 2, 2, 3]
    assert [r["epoch"] for r in history] == [0, 1, 2, 3] and twice.epochs_trained == 4
    loaded = MLP.load(path)
    assert loaded.epochs_trained == 2 and len(loaded.history) == 2
    loaded.fit(X, y, epochs=2, batch_size=16, optimizer=opt, learning_rate=learning_rate, l2=0.5)
    for net, how in ((twice, "2 + 2 epochs"), (loaded, "2 epochs, save, load, 2 epochs")):
        for l, (a, b) in enumerate(zip(net.weights + net.biases, whole.weights + whole.biases)):
            np.testing.assert_array_equal(a, b, err_msg="{}, {}: array {} differs from one 4-epoch "
                                          "fit".format(name, how, l))
        assert [r["eta"] for r in net.history] == [r["eta"] for r in whole.history]


def test_plateau_schedule_state_carries_over(tmp_path, monkeypatch):
    """A HalveOnPlateau schedule goes on from its halvings in the next fit.
    The validation accuracies are scripted to fall epoch by epoch (a flat
    accuracy is a new best each epoch, which never halves), the same
    sequence for the one fit and the fits in parts."""
    from fastnn import mlp
    X, y = _small_problem()
    measured = []

    def falling(outputs, Y):
        measured.append(None)
        return 0.9 - 0.01 * len(measured)
    monkeypatch.setattr(mlp, "_accuracy_from", falling)
    whole, parts = _net(), _net()
    plateau = fastnn.HalveOnPlateau(patience=1, eta=0.5)
    whole.fit(X, y, epochs=6, batch_size=16, learning_rate=plateau, validation_data=(X, y))
    measured.clear()
    parts.fit(X, y, epochs=3, batch_size=16, learning_rate=plateau, validation_data=(X, y))
    parts.save(str(tmp_path / "p.json"))
    loaded = MLP.load(str(tmp_path / "p.json"))
    loaded.fit(X, y, epochs=3, batch_size=16, learning_rate=plateau, validation_data=(X, y))
    etas = [r["eta"] for r in whole.history]
    assert len(set(etas)) > 1, "the schedule never halved: the test shows nothing"
    assert [r["eta"] for r in loaded.history] == etas[:len(loaded.history)]
    for a, b in zip(loaded.weights, whole.weights):
        np.testing.assert_array_equal(a, b)


def test_another_optimizer_starts_afresh():
    """Changing the optimizer between fits starts its state at zero."""
    X, y = _small_problem()
    net = _net()
    net.fit(X, y, epochs=1, batch_size=16, optimizer="adam")
    assert net._step.t == 10
    net.fit(X, y, epochs=1, batch_size=16, optimizer=SGD(momentum=0.5))
    assert net._step.t == 10 and isinstance(net._step.optimizer, SGD)


def test_old_files_still_load(tmp_path):
    """A file without the training state (the book's format) loads, and the
    next fit starts at epoch 0."""
    X, y = _small_problem()
    net = _net()
    path = tmp_path / "old.json"
    net.save(str(path))
    assert "training" not in json.loads(path.read_text())
    loaded = MLP.load(str(path))
    assert loaded.epochs_trained == 0
    loaded.fit(X, y, epochs=1, batch_size=16)
    assert loaded.history[0]["epoch"] == 0


@pytest.mark.parametrize("damage, message", [
    (lambda t: t["state"]["arrays"][0].pop(), "layer 0 has 3 arrays"),
    (lambda t: t["state"]["arrays"][0].__setitem__(0, [[1.0, 2.0]]), "has shape (1, 2)"),
    (lambda t: t["state"].__setitem__("t", -1), "not a saved optimizer state"),
    (lambda t: t.__setitem__("optimizer", {"name": "adam", "eps": -1}), "eps must be > 0"),
    (lambda t: t.__setitem__("optimizer", {"name": "rmsprop"}), "not a saved optimizer"),
    (lambda t: t.__setitem__("rng", {"bit_generator": "MT19937"}), "rng"),
    (lambda t: t.__setitem__("epochs", "two"), "epochs must be"),
])
def test_damaged_training_state_is_refused(tmp_path, damage, message):
    X, y = _small_problem()
    net = _net()
    net.fit(X, y, epochs=1, batch_size=16, optimizer="adam")
    path = tmp_path / "net.json"
    net.save(str(path))
    data = json.loads(path.read_text())
    damage(data["training"])
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="training state") as info:
        MLP.load(str(path))
    assert message in str(info.value)


# -- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda: optimizers.get("rmsprop"), ValueError, "optimizer must be one of"),
    (lambda: Adam(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\)"),
    (lambda: Adam(betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (lambda: Adam(betas=0.9), TypeError, "betas must be a pair"),
    (lambda: Adam(eps=0), ValueError, "eps must be > 0"),
    (lambda: Adam(eps=float("nan")), ValueError, "eps must be finite"),
    (lambda: AdamW(weight_decay=-0.1), ValueError, "weight_decay must be >= 0"),
    (lambda: Adam(form="keras"), ValueError, "form must be"),
    (lambda: SGD(momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (lambda: SGD(nesterov="yes"), TypeError, "nesterov must be True or False"),
    (lambda: optimizers.get(object()), TypeError, "optimizers of other libraries"),
    (lambda: optimizers.get(Adam(), momentum=0.9), ValueError, "momentum=0.9 goes with"),
])
def test_bad_settings_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_fit_refuses_momentum_with_an_optimizer_and_foreign_optimizers():
    X, y = _small_problem()
    net = _net()
    with pytest.raises(ValueError, match="momentum=0.5 goes with the default optimizer"):
        net.fit(X, y, epochs=1, optimizer="adam", momentum=0.5)
    with pytest.raises(TypeError, match="fastnn optimizer"):
        net.fit(X, y, epochs=1, optimizer=lambda params: None)
    with pytest.raises(ValueError, match="optimizer must be one of 'sgd', 'adam', 'adamw'"):
        net.fit(X, y, epochs=1, optimizer="Adagrad")


def test_default_learning_rate_is_the_optimizers():
    X, y = _small_problem()
    for name, rate in (("sgd", 0.5), ("adam", 1e-3), ("adamw", 1e-3)):
        net = _net()
        net.fit(X, y, epochs=1, batch_size=16, optimizer=name)
        assert net.history[0]["eta"] == rate


@pytest.mark.parametrize("module", [_dense, reference], ids=["compiled", "numpy"])
def test_kernels_refuse_state_of_the_wrong_shape(module):
    rng = np.random.default_rng(0)
    weights, biases = make_net([6, 4, 3], np.float64, rng)
    X, Y = make_data([6, 4, 3], 20, np.float64, rng)
    step = Step.for_parameters(list(zip(weights, biases)), 20, optimizer="adam")
    step.eta = 1e-3
    step.state[1] = (np.zeros((3, 3)),) + step.state[1][1:]
    with pytest.raises((ValueError, TypeError), match="state|shape|broadcast"):
        module.train(weights, biases, X, Y, None, 5, spec(), step)


# -- network3: every layer kind ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["nesterov", "adam", "adam-sklearn", "adamw"])
def test_network3_optimizers_compiled_match_reference(name, dtype):
    """Two conv-pool layers, a fully connected layer with dropout and the
    softmax, 2 epochs of 50 mini-batches, with L2: the two backends agree
    (float64 1e-12, float32 1e-5 normwise, as network3's other tests)."""
    from fastnn.network3 import ReLU
    from test_network3 import M, small_data, small_net
    x, y = small_data(M*50, seed=4, dtype=dtype)
    nets = {}
    for backend in ("numpy", "cython"):
        net = small_net(ReLU, dtype, backend=backend, p_dropout=0.2)
        net.SGD((x, y), 2, M, rate_of(OPTIMIZERS[name]), (x[:40], y[:40]), None, lmbda=0.4,
                verbose=False, optimizer=OPTIMIZERS[name])
        nets[backend] = net
    rtol = {np.float64: 1e-12, np.float32: 1e-5}[dtype]
    for l, (a, b) in enumerate(zip(nets["cython"].layers, nets["numpy"].layers)):
        what = "{}: layer {} ({})".format(name, l, type(a).__name__)
        assert_close(a.w, b.w, what + ": w", rtol=rtol)
        assert_close(a.b, b.b, what + ": b", rtol=rtol)
    moved = max(float(np.max(np.abs(a.w - b.w))) for a, b in zip(
        nets["cython"].layers, small_net(ReLU, dtype, backend="numpy", p_dropout=0.2).layers))
    assert moved > 1e-3, "training did not move the weights: the comparison shows nothing"


def test_network3_refuses_momentum_with_an_optimizer():
    from fastnn.network3 import ReLU
    from test_network3 import M, small_data, small_net
    x, y = small_data(M*2, seed=4)
    net = small_net(ReLU, np.float64, backend="cython")
    with pytest.raises(ValueError, match="momentum=0.9 goes with the default optimizer"):
        net.SGD((x, y), 1, M, 0.1, (x, y), None, verbose=False, momentum=0.9, optimizer="adam")


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_network3_goes_on_exactly(name):
    """network3: two SGD calls of one epoch, directly and through
    ``training_state`` saved as JSON into a new network holding the same
    weights, end bit for bit where one call of two epochs ends (dropout
    masks included)."""
    from fastnn.network3 import ReLU
    from test_network3 import M, small_data, small_net
    x, y = small_data(M*20, seed=4)
    opt, rate = OPTIMIZERS[name], rate_of(OPTIMIZERS[name])

    def train(net, epochs):
        net.SGD((x, y), epochs, M, rate, (x[:40], y[:40]), None, lmbda=0.4, verbose=False,
                optimizer=opt)

    whole, twice = (small_net(ReLU, np.float64, backend="cython", p_dropout=0.2) for _ in range(2))
    train(whole, 2)
    train(twice, 1)
    saved = json.loads(json.dumps(twice.training_state()))
    moved = small_net(ReLU, np.float64, backend="cython", p_dropout=0.2, seed=9, dropout_seed=99)
    for a, b in zip(moved.layers, twice.layers):
        a.w[...], a.b[...] = b.w, b.b
    moved.load_training_state(saved)
    train(twice, 1)
    train(moved, 1)
    for net, how in ((twice, "1 + 1 epochs"), (moved, "1 epoch, saved state, 1 epoch")):
        for l, (a, b) in enumerate(zip(net.layers, whole.layers)):
            np.testing.assert_array_equal(a.w, b.w, err_msg="{}, {}: layer {} w".format(name, how, l))
            np.testing.assert_array_equal(a.b, b.b, err_msg="{}, {}: layer {} b".format(name, how, l))
    bad = dict(saved, state=dict(saved["state"], arrays=saved["state"]["arrays"][:-1]))
    with pytest.raises(ValueError, match="layers of state"):
        moved.load_training_state(bad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("module", [_dense, reference], ids=["compiled", "numpy"])
@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam"])
def test_decaying_state_is_flushed_before_it_turns_subnormal(name, module, dtype):
    """Weights fed by an input that is always zero get no gradient: their
    state only decays.  Started just above the smallest normal number, it
    must end exactly zero (not stuck among the subnormals, where every step
    runs many times slower), while the state of the other weights is left
    alone; both backends alike."""
    rng = np.random.default_rng(2)
    sizes = [6, 5, 3]
    weights, biases = make_net(sizes, dtype, rng)
    X, Y = make_data(sizes, 40, dtype, rng)
    X[:, 0] = 0                                   # input 0 never fires
    step = Step.for_parameters(list(zip(weights, biases)), len(X), optimizer=OPTIMIZERS[name])
    step.eta = rate_of(OPTIMIZERS[name])
    tiny = np.finfo(dtype).tiny
    for a in step.state[0][0::2]:                 # the first layer's weight state arrays
        a[:, 0] = 1.005 * tiny                   # normal now; decays below tiny in 10 steps
    module.train(weights, biases, X, Y, None, 4, spec(), step)
    for i, a in enumerate(step.state[0][0::2]):
        column = a[:, 0]
        assert np.all(column == 0), "{}: state {} of the never-fed weights: {}".format(
            name, i, column)
        assert np.count_nonzero(a[:, 1:]) > a[:, 1:].size // 2, \
            "state {} of the weights that learn: {}".format(i, a[:, 1:])
        assert not np.any((a != 0) & (np.abs(a) < tiny)), "subnormal state left in array {}".format(i)

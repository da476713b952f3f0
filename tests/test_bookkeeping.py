"""The trainer's one set of books: best epoch (a tie is a new best, the later
epoch wins), patience (counting epochs since the best accuracy last rose: a
tie is no progress), early stopping and restoring the best epoch's weights,
the same through every front end.

Where a test needs validation accuracies it can predict, it scripts them (a
learning rate of 0 gives the same accuracy every epoch; elsewhere the
front end's accuracy function is replaced by a list).
"""
import subprocess
import sys

import numpy as np
import pytest

from helpers import fastnn_env

from fastnn import MLP, network2, trainer
from fastnn._best import best_index, improves
from fastnn.optimizers import HalveOnPlateau, Schedule

from test_network3 import M, small_data, small_net


# -- the rule and the tracker -------------------------------------------------------

def test_the_rule_counts_a_tie_as_a_new_best():
    assert improves(0.5, None) and improves(0.5, 0.5) and improves(0.6, 0.5)
    assert not improves(0.4, 0.5)
    assert best_index([0.2, 0.7, 0.5, 0.7, 0.1]) == 3        # the later of the tied maxima
    assert best_index([None, 0.3, None]) == 1 and best_index([]) is None


class ScriptedEngine(object):
    """An engine whose one parameter is the epoch number: restoring the best
    epoch's parameters shows which epoch was kept."""

    batches = 1

    def __init__(self):
        self.p = np.zeros(1)
        self.epoch = None

    def begin_epoch(self, epoch):
        self.epoch = epoch

    def train(self, first, count, eta):
        self.p[0] = self.epoch

    def parameters(self):
        return [self.p]

    def parameter_names(self):
        return ["p"]


def run_scripted(accuracies, **options):
    engine = ScriptedEngine()
    script = iter(accuracies)
    tracker = trainer.run(engine, len(accuracies), Schedule(0.1),
                          lambda epoch, eta: {"epoch": epoch, "eta": eta,
                                              "val_accuracy": next(script)}, **options)
    return engine, tracker


def test_tracker_tie_patience_and_restore():
    # epochs 1 and 2 tie for the best: 2 wins, but the tie does not reset
    # the patience count, which runs out after epoch 4
    script = [0.5, 0.7, 0.7, 0.6, 0.6, 0.9]
    engine, tracker = run_scripted(script, early_stopping=3, restore_best=True)
    assert tracker.best_epoch == 2 and tracker.best_accuracy == 0.7
    assert tracker.epochs_run == 5 and len(tracker.records) == 5     # stopped after epoch 4
    assert tracker.best_record is tracker.records[2]
    assert engine.p[0] == 2                                         # epoch 2's parameters
    # without restore_best the last epoch's stay; without patience all epochs run
    engine, tracker = run_scripted(script, early_stopping=3)
    assert engine.p[0] == 4
    engine, tracker = run_scripted(script)
    assert tracker.epochs_run == 6 and tracker.best_epoch == 5


def test_a_flat_accuracy_runs_out_of_patience():
    engine, tracker = run_scripted([0.5] * 8, early_stopping=2, restore_best=True)
    assert tracker.epochs_run == 3 and tracker.best_epoch == 2 and engine.p[0] == 2


def test_tracker_reports_each_record_once_with_its_verdict():
    seen = []
    run_scripted([0.3, 0.3, 0.2, 0.4], on_record=lambda e, r, new: seen.append((e, new)))
    assert seen == [(0, True), (1, True), (2, False), (3, True)]


def test_halve_on_plateau_counts_a_tie_as_no_progress():
    schedule = Schedule(HalveOnPlateau(patience=2, eta=1.0))
    for accuracy in (0.5, 0.5):
        assert not schedule.observe(accuracy)
    assert schedule.eta == 1.0
    schedule.observe(0.5)
    assert schedule.eta == 0.5                        # two epochs without a rise: halved
    schedule.observe(0.6)
    schedule.observe(0.4)
    assert schedule.eta == 0.5                        # a rise starts the count again
    schedule.observe(0.6)
    assert schedule.eta == 0.25


# -- MLP ----------------------------------------------------------------------------

def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) * 0.3 + np.eye(3, 4)[y]
    return X, y


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_mlp_flat_accuracy_runs_out_of_patience(backend):
    """Learning rate 0: every epoch ties the first.  A tie is no progress, so
    patience 2 stops after 1 + 2 epochs."""
    X, y = blobs()
    net = MLP([4, 5, 3], seed=0, backend=backend)
    history = net.fit(X, y, epochs=6, learning_rate=0.0, validation_data=(X, y), early_stopping=2)
    assert len({h["val_accuracy"] for h in history}) == 1
    assert len(history) == 3


def scripted_accuracy(monkeypatch, module, accuracies):
    script = iter(accuracies)
    monkeypatch.setattr(module, "_accuracy_from", lambda outputs, Y: next(script))


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_mlp_patience_and_restore_best(monkeypatch, backend):
    """Accuracies 0.5, 0.8, 0.8, 0.6, 0.7: the best is epoch 2 (the later of
    the tie), patience 3 (counted from the rise at epoch 1) stops after epoch
    4, and restore_best puts back epoch 2's weights, recorded as training went."""
    from fastnn import mlp
    X, y = blobs()
    scripted_accuracy(monkeypatch, mlp, [0.5, 0.8, 0.8, 0.6, 0.7, 0.9, 0.9, 0.9])
    snapshots = []
    net = MLP([4, 5, 3], seed=0, backend=backend)

    def snap(record):
        snapshots.append([w.copy() for w in net.weights])
    history = net.fit(X, y, epochs=8, learning_rate=0.5, validation_data=(X, y), early_stopping=3,
                      on_epoch=snap)
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4]
    for w, kept in zip(net.weights, snapshots[2]):
        np.testing.assert_array_equal(w, kept)
    assert not np.array_equal(snapshots[2][0], snapshots[4][0])
    assert not np.array_equal(snapshots[2][0], snapshots[1][0])    # the earlier of the tie


# -- network3 -----------------------------------------------------------------------

def scripted_network3(monkeypatch, net, validation, accuracies):
    """net._accuracy gives ``accuracies`` in turn for the validation data
    (recognised by its length) and 0.25 for the test data."""
    script = iter(accuracies)
    real = net._accuracy

    def fake(x, y, nb, knet):
        real(x, y, nb, knet)
        return next(script) if len(x) == len(validation[0]) else 0.25
    monkeypatch.setattr(net, "_accuracy", fake)


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_network3_tie_picks_the_later_epoch(backend, capsys):
    """Learning rate 0: every epoch ties; each is announced as the best, and
    the best iteration is the last epoch's (network3's own rule), while
    patience sees no progress and stops after 1 + 2 epochs."""
    x, y = small_data(M*5, seed=2)
    net = small_net(backend=backend)
    history = net.SGD((x, y), 5, M, 0.0, (x[:8], y[:8]), (x[:12], y[:12]), early_stopping=2)
    out = capsys.readouterr().out
    assert len(set(history["validation_accuracy"])) == 1 and len(history["eta"]) == 3
    assert out.count("This is the best validation accuracy to date.") == 3
    assert history["best_iteration"] == 5*3 - 1
    assert None not in history["test_accuracy"]


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_network3_patience_and_restore_best(monkeypatch, backend):
    x, y = small_data(M*5, seed=2)
    validation, test = (x[:8], y[:8]), (x[:12], y[:12])
    net = small_net(backend=backend)
    scripted_network3(monkeypatch, net, validation, [0.5, 0.8, 0.8, 0.6, 0.7, 0.9, 0.9])
    history = net.SGD((x, y), 7, M, 0.3, validation, test, early_stopping=3, restore_best=True,
                      verbose=False)
    assert history["validation_accuracy"] == [0.5, 0.8, 0.8, 0.6, 0.7]
    assert history["best_iteration"] == 5*3 - 1 and history["best_validation_accuracy"] == 0.8
    assert history["test_accuracy"] == [0.25, 0.25, 0.25, None, None]
    # the same network trained 3 epochs (to the end of epoch 2) holds the same weights
    again = small_net(backend=backend)
    again.SGD((x, y), 3, M, 0.3, validation, test, verbose=False)
    for l, (a, b) in enumerate(zip(net.layers, again.layers)):
        np.testing.assert_array_equal(a.w, b.w, err_msg="layer {} w".format(l))
        np.testing.assert_array_equal(a.b, b.b, err_msg="layer {} b".format(l))
    # without restore_best the last epoch's weights stay (network3's behaviour)
    last = small_net(backend=backend)
    scripted_network3(monkeypatch, last, validation, [0.5, 0.8, 0.8, 0.6, 0.7, 0.9, 0.9])
    last.SGD((x, y), 7, M, 0.3, validation, test, early_stopping=3, verbose=False)
    assert any(not np.array_equal(a.w, b.w) for a, b in zip(last.layers, net.layers))


# -- network2 (the Python 3 port's early_stopping_n) -------------------------------

def test_network2_port_stop_rule_counts_ties_as_no_improvement():
    """The port's documented stop condition: with every epoch tying the
    first (eta 0), early_stopping_n=2 stops after 1 + 2 epochs."""
    rng = np.random.default_rng(0)
    data = [(rng.random((4, 1)), np.eye(3)[[i % 3]].T) for i in range(12)]
    evaluation = [(x, int(np.argmax(t))) for x, t in data]
    net = network2.Network([4, 5, 3])
    _, accuracy, _, _ = net.SGD(data, 10, 4, 0.0, evaluation_data=evaluation,
                                monitor_evaluation_accuracy=True, early_stopping_n=2)
    assert len(accuracy) == 3 and len(set(accuracy)) == 1


# -- the CLI and the scikit-learn estimator -----------------------------------------

def test_cli_flat_accuracy_runs_out_of_patience(tmp_path):
    X, y = blobs()
    np.savez(tmp_path / "d.npz", X=X, y=y, X_val=X, y_val=y)
    out = subprocess.run([sys.executable, "-m", "fastnn.cli", "train", "--dataset",
                          str(tmp_path / "d.npz"), "--eta", "0", "--epochs", "5",
                          "--early-stopping", "2", "--quiet", "--out", str(tmp_path / "run")],
                         env=fastnn_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    from fastnn import history
    records = history.load(str(tmp_path / "run" / "history.json"))
    assert len(records) == 3 and len({r["val_accuracy"] for r in records}) == 1


def test_book_estimator_flat_accuracy_runs_out_of_patience():
    pytest.importorskip("sklearn")
    from fastnn.sklearn import BookMLPClassifier
    X, y = blobs(100)
    clf = BookMLPClassifier(hidden_layer_sizes=(5,), epochs=6, learning_rate=0.0,
                            early_stopping=2, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3


def test_network3_restore_best_must_be_a_flag():
    x, y = small_data(M*5, seed=2)
    with pytest.raises(TypeError, match="restore_best must be True or False"):
        small_net().SGD((x, y), 1, M, 0.1, (x, y), None, restore_best="yes", verbose=False)


def test_dask_search_reports_the_later_of_tied_epochs():
    pytest.importorskip("distributed")
    from fastnn import distributed
    X, y = blobs()
    row = distributed._train_run((X, y, X, y), dict(sizes=[4, 5, 3]),
                                 dict(epochs=4, learning_rate=0.0), seed=0)
    assert row["error"] is None, row["error"]
    assert row["best_epoch"] == 3 and row["best_val_accuracy"] == row["final_val_accuracy"]

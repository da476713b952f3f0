"""Histories saved and loaded in one call (JSON and CSV, all three shapes),
and progress bars: their totals, and that they change nothing."""
import io
import random

import numpy as np
import pytest

from fastnn import MLP, history, network2, progress


def small_data(n=105, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, rng.integers(0, classes, n)


@pytest.fixture(scope="module")
def mlp_history():
    X, y = small_data()
    net = MLP([6, 5, 4, 3], seed=0)
    return net.fit(X, y, epochs=3, batch_size=10, learning_rate=0.3, l2=0.5,
                   validation_data=(X[:20], y[:20]), monitor_training=True,
                   monitor_gradients=True)


@pytest.fixture(scope="module")
def network2_history():
    X, y = small_data()
    data = [(x.reshape(-1, 1), network2.vectorized_result(int(c))[:3]) for x, c in zip(X, y)]
    evaluation = [(x.reshape(-1, 1), int(c)) for x, c in zip(X[:20], y[:20])]
    random.seed(0)
    np.random.seed(0)
    net = network2.Network([6, 5, 3])
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        return net.SGD(data, 3, 10, 0.5, lmbda=0.1, evaluation_data=evaluation,
                       monitor_evaluation_accuracy=True, monitor_training_cost=True)


NETWORK3 = dict(validation_accuracy=[0.9, 0.95, 0.94], test_accuracy=[0.89, 0.94, None],
                training_cost=[1.0, 0.5, 0.4], eta=[0.1, 0.1, 0.05], best_validation_accuracy=0.95,
                best_iteration=9, test_accuracy_at_best=0.94)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_mlp_history_round_trip(tmp_path, mlp_history, suffix):
    path = tmp_path / ("h" + suffix)
    history.save(mlp_history, path)
    assert history.load(path) == mlp_history          # floats exactly, gradient norms included
    assert len(mlp_history[0]["gradient_norms"]) == 2


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_network2_history_round_trip(tmp_path, network2_history, suffix):
    path = tmp_path / ("h" + suffix)
    history.save(network2_history, path)
    loaded = history.load(path)
    assert isinstance(loaded, tuple) and loaded == tuple(network2_history)
    assert loaded[0] == [] and len(loaded[1]) == 3 and isinstance(loaded[1][0], int)


def test_network2_json_is_the_books_layout(tmp_path, network2_history):
    import json
    history.save(network2_history, tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text())
    assert isinstance(data, list) and len(data) == 4 and data[0] == []


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_network3_history_round_trip(tmp_path, suffix):
    history.save(NETWORK3, tmp_path / ("h" + suffix))
    assert history.load(tmp_path / ("h" + suffix)) == NETWORK3


def test_csv_has_a_row_per_epoch(mlp_history):
    lines = history.to_csv(mlp_history).splitlines()
    assert lines[0].startswith("# fastnn history: mlp")
    assert lines[1].split(",")[:3] == ["epoch", "eta", "seconds"]
    assert "gradient_norm_1" in lines[1] and "gradient_norm_2" in lines[1]
    assert len(lines) == 2 + 3


def test_bad_history_files(tmp_path):
    with pytest.raises(ValueError, match=".json or .csv"):
        history.save([], tmp_path / "h.txt")
    with pytest.raises(TypeError, match="not a training history"):
        history.save({"x": 1}, tmp_path / "h.json")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a history CSV"):
        history.load(tmp_path / "x.csv")
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        history.load(tmp_path / "x.json")


def test_curves_common_names(mlp_history, network2_history):
    assert set(history.curves(mlp_history)) == {"val_accuracy", "val_cost", "train_accuracy",
                                                "train_cost", "gradient_norms"}
    assert set(history.curves(network2_history)) == {"val_accuracy", "train_cost"}
    assert set(history.curves(NETWORK3)) == {"val_accuracy", "train_cost"}


# -- progress --------------------------------------------------------------------

def test_progress_bar_total_is_an_epochs_mini_batches():
    X, y = small_data(n=105)
    stream = io.StringIO()
    bars = progress.EpochBars(epochs=3, stream=stream, force=True)
    MLP([6, 5, 3], seed=0).fit(X, y, epochs=3, batch_size=10, on_progress=bars)
    assert bars.totals == [11, 11, 11]             # ceil(105 / 10) mini-batches each epoch
    text = stream.getvalue()
    assert "epoch 2 (3/3)" in text and "/11 [" in text


def test_progress_bar_changes_no_weight():
    X, y = small_data(n=300)
    plain = MLP([6, 5, 3], seed=1)
    plain.fit(X, y, epochs=2, batch_size=7, learning_rate=0.4)
    shown = MLP([6, 5, 3], seed=1)
    seen = []
    shown.fit(X, y, epochs=2, batch_size=7, learning_rate=0.4,
              on_progress=progress.combine(progress.EpochBars(stream=io.StringIO(), force=True),
                                           lambda done, total: seen.append((done, total))))
    for a, b in zip(plain.weights + plain.biases, shown.weights + shown.biases):
        assert np.array_equal(a, b)
    assert seen[-1] == (43, 43)                    # and the user's own callback still runs


def test_verbose_draws_bars_only_when_asked(monkeypatch, capsys):
    X, y = small_data()
    monkeypatch.setenv("FASTNN_PROGRESS", "1")
    MLP([6, 5, 3], seed=0).fit(X, y, epochs=1, verbose=True)
    err = capsys.readouterr().err
    assert "epoch 0 (1/1)" in err and "batch" in err
    monkeypatch.setenv("FASTNN_PROGRESS", "")      # stderr is not a terminal under pytest
    MLP([6, 5, 3], seed=0).fit(X, y, epochs=1, verbose=True)
    assert "batch" not in capsys.readouterr().err
    assert progress.attach(None, verbose=False) is None


def test_network3_verbose_draws_bars(monkeypatch, capsys):
    from fastnn import network3
    from fastnn.network3 import FullyConnectedLayer, Network, SoftmaxLayer
    monkeypatch.setenv("FASTNN_PROGRESS", "1")
    rng = np.random.default_rng(0)
    x = rng.random((100, 784)).astype(np.float32)
    y = rng.integers(0, 10, 100)
    np.random.seed(0)
    net = Network([FullyConnectedLayer(n_in=784, n_out=10), SoftmaxLayer(n_in=10, n_out=10)], 10)
    net.SGD((x, y), 1, 10, 0.1, (x, y), None)
    assert "epoch 0 (1/1)" in capsys.readouterr().err
    assert network3.size((x, y)) == 100


def test_load_refuses_what_is_not_a_history(tmp_path):
    """Hostile or damaged files: a ValueError naming the file, never an
    unbounded read, a RecursionError or a history of the wrong shape."""
    import os
    link = tmp_path / "endless.json"
    os.symlink("/dev/zero", str(link))
    cases = {
        "endless.json": None,                                   # read no further than MAX_BYTES
        "deep.json": "[" * 100000 + "]" * 100000,
        "binary.json": b"\xff\xfe\x00\x81garbage",
        "scalar.json": '{"validation_accuracy": 5, "best_validation_accuracy": 0.9, '
                       '"best_iteration": 3, "test_accuracy_at_best": null}',
        "no_best.json": '{"validation_accuracy": [0.9]}',
        "word.json": '[{"epoch": "zero"}]',
        "text_figure.json": '[{"epoch": 0, "val_accuracy": "high"}]',
        "network2_text.json": '[[], ["a"], [], []]',
        "bad_header.csv": "# fastnn history: mlp {not json\nepoch,val_accuracy\n0,0.5\n",
        "deep_header.csv": "# fastnn history: mlp " + "[" * 100000 + "\nepoch\n0\n",
        "cut.csv": "# fastnn history: mlp {}\nepoch,val_accuracy,val_cost\n0,0.5,1.0\n1,0.6\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        with pytest.raises(ValueError) as info:
            history.load(str(path))
        assert name in str(info.value), (name, str(info.value))
    with pytest.raises(ValueError, match="more than the"):
        history.load(str(link))
    with pytest.raises(ValueError, match="cut short"):
        history.load(str(tmp_path / "cut.csv"))


def test_plots_of_short_runs_and_of_network2_counts(tmp_path):
    """One epoch shows as a marked point on whole-number epochs; no cost
    monitored, no empty Cost panel; network2's training counts get their own
    axis; the legend sits below the panels, not over the lines."""
    pytest.importorskip("matplotlib")
    fig = history.draw([("one", [{"epoch": 0, "val_accuracy": 0.9}])])
    (acc,) = fig.axes
    line = acc.lines[0]
    assert line.get_marker() == "o" and line.get_markersize() >= 5
    lo, hi = acc.get_xlim()
    assert hi - lo >= 1 and all(float(t).is_integer() for t in acc.get_xticks() if lo <= t <= hi)
    assert fig.legends and acc.get_legend() is None
    three = [{"epoch": j, "val_accuracy": 0.8 + j / 100, "val_cost": 1.0 - j / 10} for j in range(3)]
    fig = history.draw([("three", three)])
    acc, cost = fig.axes
    lo, hi = acc.get_xlim()
    assert all(float(t).is_integer() for t in acc.get_xticks() if lo <= t <= hi)
    assert cost.get_title() == "Cost" and cost.lines
    fig = history.draw([("n2", ([], [9355, 9400], [], [46578, 47000]))])
    acc, counts = fig.axes
    assert [max(l.get_ydata()) for l in acc.lines] == [9400]
    assert [max(l.get_ydata()) for l in counts.lines] == [47000]
    assert "training" in counts.get_ylabel()
    history.plot([("one", [{"epoch": 0, "val_accuracy": 0.9}])], str(tmp_path / "one.png"))
    assert (tmp_path / "one.png").stat().st_size > 5000

"""fastnn.MLP, the array API: fit/predict/score/save/load on the same kernels."""
import json
import tracemalloc

import numpy as np
import pytest

from fastnn import MLP, network2
from helpers import assert_close


def blobs(n=300, n_in=8, n_out=3, seed=0, dtype=np.float64):
    """Separable classes: each class a Gaussian blob around its own centre."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_out, n_in)) * 3
    y = rng.integers(n_out, size=n)
    X = (centres[y] + rng.standard_normal((n, n_in))).astype(dtype)
    return X, y


def test_fit_learns_and_reports_history():
    X, y = blobs()
    net = MLP([8, 10, 3], seed=1)
    history = net.fit(X[:200], y[:200], epochs=5, batch_size=10, learning_rate=0.5,
                      validation_data=(X[200:], y[200:]), monitor_training=True)
    assert history is net.history and [h["epoch"] for h in history] == list(range(5))
    assert set(history[0]) == {"epoch", "eta", "seconds", "val_cost", "val_accuracy", "train_cost",
                               "train_accuracy"}
    assert history[-1]["val_accuracy"] >= 0.9
    assert history[-1]["train_cost"] < history[0]["train_cost"]
    assert net.score(X[200:], y[200:]) == history[-1]["val_accuracy"]
    assert net.predict(X[:5]).shape == (5,) and net.predict_proba(X[:5]).shape == (5, 3)


def test_one_hot_targets_equal_labels():
    X, y = blobs()
    Y = np.eye(3)[y]
    a, b = MLP([8, 5, 3], seed=2), MLP([8, 5, 3], seed=2)
    a.fit(X, y, epochs=2)
    b.fit(X, Y, epochs=2)
    for l in range(2):
        np.testing.assert_array_equal(a.weights[l], b.weights[l])


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
def test_backends_agree(dtype, rtol, cost):
    """Same seed, same data: the compiled and numpy backends end on the same
    weights (float64: normwise relative 1e-10 after 3 epochs; float32: 1e-4,
    a few hundred float32 roundings compounded over 90 steps)."""
    X, y = blobs(dtype=dtype)
    nets = {b: MLP([8, 6, 3], cost=cost, dtype=dtype, backend=b, seed=3) for b in ("cython", "numpy")}
    for net in nets.values():
        net.fit(X, y, epochs=3, batch_size=10, learning_rate=0.3, l2=1.0)
    for l in range(2):
        assert nets["cython"].weights[l].dtype == dtype
        assert_close(nets["cython"].weights[l], nets["numpy"].weights[l], "layer %d weights" % (l+1), rtol=rtol)
        assert_close(nets["cython"].biases[l], nets["numpy"].biases[l], "layer %d biases" % (l+1), rtol=rtol)


def test_seed_makes_runs_repeatable_and_shuffle_off_is_in_order():
    X, y = blobs()
    a, b = MLP([8, 5, 3], seed=4), MLP([8, 5, 3], seed=4)
    a.fit(X, y, epochs=2)
    b.fit(X, y, epochs=2)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    c = MLP([8, 5, 3], seed=4)
    c.fit(X, y, epochs=2, shuffle=False)
    assert not np.array_equal(a.weights[0], c.weights[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_and_book_compatibility(tmp_path, dtype):
    X, y = blobs(dtype=dtype)
    net = MLP([8, 5, 3], cost="quadratic", dtype=dtype, seed=5)
    net.fit(X, y, epochs=1)
    path = str(tmp_path / "mlp.json")
    net.save(path)
    assert json.load(open(path))["cost"] == "QuadraticCost"
    loaded = MLP.load(path)
    assert loaded.dtype == dtype and loaded.cost is net.cost
    for l in range(2):
        np.testing.assert_array_equal(loaded.weights[l], net.weights[l])
        np.testing.assert_array_equal(loaded.biases[l], net.biases[l])
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    book_net = network2.load(path)          # the book's loader reads it too
    assert_close(book_net.feedforward(X[0].reshape(-1, 1).astype(np.float64)).ravel(),
                 net.predict_proba(X[:1])[0].astype(np.float64), "network2 view of an MLP file",
                 rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_float64_fit_on_float32_input_equals_float64_input(backend):
    """A float64 network trains on float32 X as on X.astype(float64), bit for
    bit (the conversion is exact), and predicts alike."""
    X, y = blobs(dtype=np.float32)
    a = MLP([8, 6, 3], backend=backend, seed=7)
    b = MLP([8, 6, 3], backend=backend, seed=7)
    ha = a.fit(X[:200], y[:200], epochs=3, batch_size=7, l2=1.0, validation_data=(X[200:], y[200:]),
               monitor_training=True)
    hb = b.fit(X[:200].astype(np.float64), y[:200], epochs=3, batch_size=7, l2=1.0,
               validation_data=(X[200:].astype(np.float64), y[200:]), monitor_training=True)
    for l in range(2):
        assert a.weights[l].dtype == np.float64
        np.testing.assert_array_equal(a.weights[l], b.weights[l])
        np.testing.assert_array_equal(a.biases[l], b.biases[l])
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in ha] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in hb]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X.astype(np.float64)))
    assert a.score(X, y) == b.score(X.astype(np.float64), y)


@pytest.mark.parametrize("x_dtype", [np.float64, np.float32])
def test_fit_does_not_copy_a_contiguous_input(x_dtype):
    """A C-contiguous X is trained on in place when it has the network's
    dtype, or is float32 for a float64 network: the extra memory fit
    allocates is small next to X itself (31 MB float64, 16 MB float32)."""
    X, y = blobs(n=5000, n_in=784, n_out=10, dtype=x_dtype)
    assert X.flags.c_contiguous and X.nbytes > 15e6
    net = MLP([784, 30, 10], seed=6)
    tracemalloc.start()
    try:
        net.fit(X, y, epochs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2e6, "fit allocated {:.1f} MB".format(peak / 1e6)


def test_summary_lists_layers_parameters_and_settings(capsys):
    net = MLP([784, 30, 10], activation="relu", output="softmax", cost="log_likelihood",
              dtype="float32", backend="numpy", seed=0)
    net.summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "neurons", "inputs", "activation", "weights", "biases"]
    assert lines[1].split() == ["1", "30", "784", "relu", "23,520", "30"]
    assert lines[2].split() == ["2", "10", "30", "softmax", "300", "10"]
    total = sum(w.size + b.size for w, b in zip(net.weights, net.biases))
    assert lines[3].startswith("{:,} parameters".format(total))
    assert "LogLikelihoodCost" in lines[3] and "float32" in lines[3] and "backend numpy" in lines[3]
    assert "threads" not in lines[3]
    net.num_threads = 2             # read when the network has the setting
    net.summary()
    assert capsys.readouterr().out.splitlines()[-1].endswith("threads 2")


def test_validation_split_holds_out_the_last_rows():
    rng = np.random.default_rng(4)
    X = rng.random((50, 6))
    y = rng.integers(0, 3, 50)
    split = MLP([6, 5, 3], seed=2)
    got = split.fit(X, y, epochs=3, validation_split=0.2)
    given = MLP([6, 5, 3], seed=2)
    want = given.fit(X[:40], y[:40], epochs=3, validation_data=(X[40:], y[40:]))
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in got] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in want]
    for a, b in zip(split.weights + split.biases, given.weights + given.biases):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not both"):
        MLP([6, 5, 3]).fit(X, y, validation_split=0.2, validation_data=(X, y))
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="validation_split"):
            MLP([6, 5, 3]).fit(X, y, validation_split=bad)
    with pytest.raises(ValueError, match="validation_split=0.001 of 50 rows"):
        MLP([6, 5, 3]).fit(X, y, validation_split=0.001)
    with pytest.raises(TypeError, match="validation_split"):
        MLP([6, 5, 3]).fit(X, y, validation_split="0.2")

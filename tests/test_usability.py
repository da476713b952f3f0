"""Rough edges a new user met (issue 10, part 2): each test pins one fix."""
import os
import shutil
import warnings

import numpy as np
import pytest

from fastnn import datasets
from helpers import find_mnist


def test_tests_find_mnist_in_the_per_user_cache_without_fastnn_data(tmp_path, monkeypatch):
    """The README says FASTNN_DATA is needed only when the files are not in the
    per-user cache: the tests look there too, as the library does."""
    source = find_mnist()
    if source is None or not os.path.isdir(source):
        pytest.skip("no MNIST IDX folder to copy into a cache")
    cache = tmp_path / "fastnn" / "mnist"
    cache.mkdir(parents=True)
    for name in datasets.MNIST_FILES:
        shutil.copy(os.path.join(source, name), str(cache / name))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    assert find_mnist() == str(cache)


def test_readme_benchmark_commands_use_the_installed_fastnn(tmp_path):
    """From the repository root, after the README's install, the benchmark
    commands import the installed fastnn, never the unbuilt fastnn/ beside
    them (here: an unbuilt copy of the repository, the built fastnn on the path)."""
    import subprocess
    import sys
    from helpers import fastnn_env
    from test_packaging import _source_copy
    pytest_script = os.path.join(os.path.dirname(sys.executable), "pytest")
    if not os.path.exists(pytest_script):
        pytest.skip("no pytest script beside {}".format(sys.executable))
    src = _source_copy(tmp_path)
    env = fastnn_env(FASTNN_BENCH_QUICK="1", FASTNN_DATA=find_mnist() or "")
    for command in ([sys.executable, "benchmarks/chapter6.py", "--help"],
                    [sys.executable, "benchmarks/retrace_book.py", "--help"],
                    [pytest_script, "-q", "-p", "no:cacheprovider", "benchmarks/bench_memory.py"]):
        out = subprocess.run(command, cwd=str(src), env=env, capture_output=True, text=True)
        assert out.returncode == 0, "{} failed:\n{}{}".format(" ".join(command[1:]), out.stdout, out.stderr)


def _pixels(rng, n, dtype):
    return (rng.random((n, 6)) * 255).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_mlp_fit_warns_about_raw_pixel_values(dtype):
    from fastnn import MLP
    rng = np.random.default_rng(0)
    X, y = _pixels(rng, 30, dtype), rng.integers(0, 3, 30)
    with pytest.warns(UserWarning, match=r"X holds .* as large as .*Scale the inputs to \[0, 1\]"):
        MLP([6, 4, 3], seed=0).fit(X, y, epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MLP([6, 4, 3], seed=0).fit(X / 255.0, y, epochs=1)      # scaled: silent
        MLP([6, 4, 3], seed=0).fit((X > 100).astype(np.uint8), y, epochs=1)   # 0/1 integers: silent


@pytest.mark.parametrize("module", ["network", "network2"])
def test_dropin_sgd_warns_about_raw_pixel_values(module):
    from fastnn import network, network2
    rng = np.random.default_rng(1)
    X = _pixels(rng, 20, np.float64)
    data = [(x.reshape(6, 1), np.eye(3)[:, [k % 3]]) for k, x in enumerate(X)]
    net = (network if module == "network" else network2).Network([6, 4, 3])
    with pytest.warns(UserWarning, match=r"training_data inputs .*Scale the inputs to \[0, 1\]") as record:
        net.SGD(data, 1, 5, 0.5)
    assert record[0].filename == __file__, "the warning should point at the caller's SGD line"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.SGD([(x / 255.0, y) for x, y in data], 1, 5, 0.5)


def test_a_numpy_array_as_training_data_gets_the_right_hint():
    from fastnn import network2
    net = network2.Network([6, 4, 3])
    with pytest.raises(TypeError) as info:
        net.SGD(np.zeros((10, 6)), 1, 5, 0.5)
    message = str(info.value)
    assert "training_data" in message and "(x, y) pairs" in message and "fastnn.MLP" in message
    assert "zip" not in message


@pytest.mark.parametrize("front_end", ["network", "network2", "update_mini_batch", "MLP", "network3"])
def test_a_negative_learning_rate_is_refused(front_end):
    from fastnn import MLP, network, network2, network3
    rng = np.random.default_rng(2)
    data = [(rng.random((6, 1)), np.eye(3)[:, [k % 3]]) for k in range(10)]
    name = "learning_rate" if front_end == "MLP" else "eta"
    with pytest.raises(ValueError, match=r"{} must be >= 0, got -0.5".format(name)):
        if front_end == "network":
            network.Network([6, 4, 3]).SGD(data, 1, 5, -0.5)
        elif front_end == "network2":
            network2.Network([6, 4, 3]).SGD(data, 1, 5, -0.5)
        elif front_end == "update_mini_batch":
            network2.Network([6, 4, 3]).update_mini_batch(data, -0.5, 0.0, 10)
        elif front_end == "MLP":
            MLP([6, 4, 3]).fit(rng.random((10, 6)), np.arange(10) % 3, learning_rate=-0.5)
        else:
            net = network3.Network([network3.FullyConnectedLayer(6, 4),
                                    network3.SoftmaxLayer(4, 3)], 5)
            x = rng.random((10, 6)).astype(np.float32)
            net.SGD((x, np.arange(10) % 3), 1, 5, -0.5, (x, np.arange(10) % 3), (x, np.arange(10) % 3))


def test_the_demo_names_its_data_option_when_mnist_is_missing(tmp_path, capsys):
    from fastnn.__main__ import main
    with pytest.raises(SystemExit) as info:
        main(["--data", str(tmp_path / "nowhere"), "--epochs", "1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "--data" in err and str(tmp_path / "nowhere") in err and "path=" not in err


class MyCost(object):
    """A cost of the user's own: cross-entropy under another name."""

    @staticmethod
    def fn(a, y):
        return np.sum(np.nan_to_num(-y*np.log(a) - (1-y)*np.log(1-a)))

    @staticmethod
    def delta(z, a, y):
        return a - y


@pytest.mark.parametrize("front_end", ["network2", "MLP"])
def test_a_network_saved_with_the_users_own_cost_loads_with_cost_argument(front_end, tmp_path):
    from fastnn import MLP, network2
    path = str(tmp_path / "net.json")
    if front_end == "network2":
        net = network2.Network([5, 4, 3], cost=MyCost, backend="numpy")
        load = network2.load
    else:
        net = MLP([5, 4, 3], cost=MyCost, backend="numpy", seed=0)
        load = MLP.load
    net.save(path)
    with pytest.raises(ValueError, match=r"unknown cost 'MyCost'.*load\(\.\.\., cost=MyCost\)"):
        load(path, backend="numpy")
    loaded = load(path, backend="numpy", cost=MyCost)
    assert loaded.cost is MyCost
    for a, b in zip(loaded.weights, net.weights):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(3).random((5, 1))
    if front_end == "network2":
        np.testing.assert_array_equal(loaded.feedforward(x), net.feedforward(x))
    else:
        np.testing.assert_array_equal(loaded.predict_proba(x.T), net.predict_proba(x.T))

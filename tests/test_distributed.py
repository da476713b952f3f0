"""fastnn.distributed: searches and ensembles on Dask, checked against serial runs.

The runs are small (2,000 MNIST training rows, 1,000 validation rows, a few
epochs) so that the whole file, clusters included, takes well under a minute.
Every cluster here lives on localhost.
"""
import concurrent.futures
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

import distributed  # noqa: E402

from fastnn import MLP, network3  # noqa: E402
from fastnn.datasets import load_mnist  # noqa: E402
from fastnn.distributed import CONNECT_TIMEOUT, ensemble, run_seed, search, vote  # noqa: E402
from helpers import fastnn_env  # noqa: E402

# What differs between two runs of the same work: the clock.
TIMING = ("seconds",)


def comparable(rows):
    """Rows without their timings, history records included."""
    out = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in TIMING}
        row["history"] = [{k: v for k, v in r.items() if k not in TIMING} for r in row["history"]]
        out.append(row)
    return out


@pytest.fixture(scope="module")
def data(mnist_path):
    (X, y), (X_val, y_val), _ = load_mnist(mnist_path)
    return X[:2000], y[:2000], X_val[:1000], y_val[:1000]


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, shared by the tests of this file."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster:
        with distributed.Client(cluster, set_as_default=False, direct_to_workers=True) as c:
            c.wait_for_workers(2, timeout=60)
            yield c


GRID = {"learning_rate": [0.5, 3.0], "l2": [0.0, 2.0]}
BASE = {"sizes": [784, 16, 10], "epochs": 3, "batch_size": 10, "seed": 5}


@pytest.fixture(scope="module")
def serial_rows(data):
    X, y, X_val, y_val = data
    return search(GRID, X, y, (X_val, y_val), base=BASE, repeats=2, client="serial")


def test_serial_rows_hold_what_the_issue_lists(serial_rows):
    assert len(serial_rows) == 8
    for row in serial_rows:
        assert set(row) == {"learning_rate", "l2", "seed", "repeat", "best_val_accuracy",
                            "best_epoch", "final_val_accuracy", "seconds", "history", "error"}
        assert row["error"] is None and row["best_val_accuracy"] > 0.5
        assert row["seed"] == run_seed(5, {"learning_rate": row["learning_rate"], "l2": row["l2"]},
                                       row["repeat"])
        assert len(row["history"]) == 3 and row["final_val_accuracy"] == row["history"][-1]["val_accuracy"]
        assert row["best_val_accuracy"] == max(r["val_accuracy"] for r in row["history"])
    # the repeats differ (their own seeds), and the row is MLP's own result for that seed
    assert serial_rows[0]["final_val_accuracy"] != serial_rows[1]["final_val_accuracy"]


def test_a_row_is_what_mlp_gives_with_its_seed(data, serial_rows):
    X, y, X_val, y_val = data
    row = serial_rows[3]
    net = MLP([784, 16, 10], seed=row["seed"])
    history = net.fit(X, y, epochs=3, batch_size=10, learning_rate=row["learning_rate"], l2=row["l2"],
                      validation_data=(X_val, y_val))
    assert [r["val_accuracy"] for r in history] == [r["val_accuracy"] for r in row["history"]]


def test_local_cluster_gives_the_serial_rows(data, client, serial_rows):
    X, y, X_val, y_val = data
    rows = search(GRID, X, y, (X_val, y_val), base=BASE, repeats=2, client=client)
    assert comparable(rows) == comparable(serial_rows)
    # both workers took part
    assert len({w for w in client.scheduler_info()["workers"]}) == 2


def test_data_is_scattered_once_per_worker(data, client):
    """Eight tasks, two workers: each worker receives the data once; a task
    carries its parameters only (a few hundred bytes)."""
    X, y, X_val, y_val = data
    from fastnn import distributed as fd
    sent = []
    original = fd._Dask.scatter

    def counting(self, payload):
        sent.append(payload)
        return original(self, payload)

    fd._Dask.scatter = counting
    try:
        search({"l2": [0.0, 1.0, 2.0, 3.0]}, X, y, (X_val, y_val), base=dict(BASE, epochs=1),
               repeats=2, client=client)
    finally:
        fd._Dask.scatter = original
    assert len(sent) == 1
    init, fit = {"sizes": [784, 16, 10]}, {"epochs": 1, "batch_size": 10, "l2": 0.0}
    assert len(pickle.dumps((init, fit, 2**62))) < 1000


def test_a_failing_run_is_reported_in_its_row(data, client):
    X, y, X_val, y_val = data
    grid = {"learning_rate": [0.5, -1.0], "activation": ["sigmoid", "swish"]}
    for where in ("serial", client):
        rows = search(grid, X, y, (X_val, y_val), base=dict(BASE, epochs=1), client=where)
        assert len(rows) == 4
        good = [r for r in rows if r["learning_rate"] == 0.5 and r["activation"] == "sigmoid"]
        assert len(good) == 1 and good[0]["error"] is None and good[0]["best_val_accuracy"] > 0.5
        for row in rows:
            if row is good[0]:
                continue
            assert row["error"].startswith("ValueError: ") and row["best_val_accuracy"] is None
            assert row["history"] == [] and row["seconds"] >= 0
            # the constructor checks the activation before fit sees the learning rate
            assert ("activation" if row["activation"] == "swish" else "learning_rate") in row["error"]


def test_default_client_is_an_embedded_local_cluster(data, monkeypatch):
    """client=None, no FASTNN_SCHEDULER: a LocalCluster started and closed by the call."""
    monkeypatch.delenv("FASTNN_SCHEDULER", raising=False)
    X, y, X_val, y_val = data
    grid = {"learning_rate": [0.5, 3.0]}
    base = dict(BASE, epochs=1)
    rows = search(grid, X, y, (X_val, y_val), base=base)
    assert comparable(rows) == comparable(search(grid, X, y, (X_val, y_val), base=base, client="serial"))


# -- a cluster of separate processes, started with the dask command line -------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args, env, cwd):
    """The dask command line, run outside the source tree (``-m`` puts the
    working directory first on sys.path, where an unbuilt fastnn/ may lie)."""
    return subprocess.Popen([sys.executable, "-m", "dask"] + list(args), env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_cli_cluster_by_address_survives_a_killed_worker(data, tmp_path, monkeypatch):
    """`dask scheduler` and two `dask worker` processes on localhost; search
    finds the scheduler through FASTNN_SCHEDULER; one worker is killed with
    SIGKILL while the search runs; every row still arrives, equal to the
    serial rows."""
    X, y, X_val, y_val = data
    env = fastnn_env(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    port = _free_port()
    address = "tcp://127.0.0.1:{}".format(port)
    scheduler_file = str(tmp_path / "scheduler.json")
    started = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                     "--scheduler-file", scheduler_file, env=env, cwd=str(tmp_path))]
    grid = {"learning_rate": [0.5, 1.0, 2.0, 3.0], "l2": [0.0, 1.0]}
    base = dict(BASE, epochs=12)     # about a second per task: long enough to be caught running
    try:
        deadline = time.time() + 60
        while not os.path.exists(scheduler_file) and time.time() < deadline:
            time.sleep(0.1)
        assert json.load(open(scheduler_file))["address"] == address
        workers = [_dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--host", "127.0.0.1", "--local-directory", str(tmp_path), env=env,
                         cwd=str(tmp_path))
                   for _ in range(2)]
        started += workers
        with distributed.Client(address, timeout=30, set_as_default=False) as watcher:
            watcher.wait_for_workers(2, timeout=60)
            monkeypatch.setenv("FASTNN_SCHEDULER", address)
            result = {}

            def run():
                try:
                    result["rows"] = search(grid, X, y, (X_val, y_val), base=base)
                except BaseException as exc:   # handed to the main thread
                    result["error"] = exc

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            # kill one worker once both are training and none has finished everything
            deadline = time.time() + 60
            while time.time() < deadline:
                processing = watcher.processing()
                if sum(len(keys) > 0 for keys in processing.values()) == 2:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the workers never both started on the search's tasks")
            victim = workers[0]
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
            thread.join(timeout=120)
            assert not thread.is_alive(), "the search did not finish after a worker was killed"
            assert "error" not in result, result.get("error")
            assert len(watcher.scheduler_info()["workers"]) == 1
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    serial = search(grid, X, y, (X_val, y_val), base=base, client="serial")
    assert len(result["rows"]) == 8
    assert comparable(result["rows"]) == comparable(serial)


# -- a cluster that loses the scattered data (no processes killed) -------------------

class _FakeFuture(object):
    """A task or a scattered value on a _FakeCluster: a task that needs data the
    cluster has lost comes back cancelled, as the scheduler's do."""

    def __init__(self, cluster, key, fn=None, args=(), value=None):
        self.cluster, self.key, self.fn, self.args, self.value = cluster, key, fn, args, value
        self.status = "finished" if fn is None else "pending"

    def result(self):
        if self.fn is None:
            return self.value
        if any(a in self.cluster.lost for a in self.args if isinstance(a, _FakeFuture)):
            self.status = "cancelled"
            raise distributed.client.FutureCancelledError(self.key, "lost dependencies")
        self.status = "finished"
        self.cluster.finished += 1
        if self.cluster.finished in self.cluster.lose_after:
            self.cluster.lose_data()
        return self.fn(*[a.value if isinstance(a, _FakeFuture) else a for a in self.args])

    def release(self):
        self.cluster.released.append(self.key)


class _FakeCluster(object):
    """Just enough of a distributed.Client for fastnn.distributed._Dask.run: its
    scattered data are lost (every copy) once ``lose_after`` tasks have finished;
    ``tell_client`` says whether the future learns it or only the scheduler knows."""

    loop = None

    def __init__(self, lose_after=(), tell_client=True):
        self.lose_after, self.tell_client = set(lose_after), tell_client
        self.finished, self.scatters, self.submits = 0, [], []
        self.lost, self.released, self.cancelled = [], [], []

    def scatter(self, values, broadcast=False, hash=True):
        assert broadcast and not hash
        [value] = values
        future = _FakeFuture(self, "data-{}".format(len(self.scatters)), value=value)
        self.scatters.append(future)
        return [future]

    def lose_data(self):
        for future in self.scatters:
            if future not in self.lost:
                self.lost.append(future)
                if self.tell_client:
                    future.status = "lost"

    def who_has(self, futures):
        return {f.key: ([] if f in self.lost else ["tcp://127.0.0.1:1"]) for f in futures}

    def submit(self, fn, *args, pure=True, retries=0):
        future = _FakeFuture(self, "task-{}".format(len(self.submits)), fn, args)
        self.submits.append(future)
        return future

    def cancel(self, futures):
        self.cancelled.extend(futures)


class _FakeAsCompleted(object):
    """distributed.as_completed over _FakeFutures: in the order given, then the ones added."""

    def __init__(self, futures, loop=None):
        self.queue = list(futures)

    def __iter__(self):
        while self.queue:
            yield self.queue.pop(0)

    def add(self, future):
        self.queue.append(future)


def _label(data, name, seed):
    return "{}:{}:{}".format(name, seed, sum(data))


@pytest.mark.parametrize("tell_client", [True, False])
def test_data_the_cluster_lost_are_scattered_again(monkeypatch, tell_client):
    """Every copy of the scattered data lost (with a worker) after two tasks:
    the tasks still waiting come back cancelled; the data are scattered once
    more, those tasks resubmitted with the new future, and the results arrive in
    call order.  The scheduler is asked when the client was not told."""
    from fastnn import distributed as fd
    monkeypatch.setattr(fd.distributed, "as_completed", _FakeAsCompleted)
    cluster = _FakeCluster(lose_after=[2], tell_client=tell_client)
    runner = fd._Dask(cluster)
    shared = runner.scatter([1, 2, 3])
    calls = [(shared, "run", seed) for seed in range(5)]
    assert runner.run(_label, calls) == ["run:{}:6".format(seed) for seed in range(5)]
    assert len(cluster.scatters) == 2            # the data once more, not once per task
    assert len(cluster.submits) == 5 + 3         # the three cancelled tasks, again
    assert all(f.args[0] is cluster.scatters[1] for f in cluster.submits[5:])
    assert cluster.cancelled == []
    runner.release()
    assert cluster.released == ["data-0", "data-1"]


def test_data_lost_again_and_again_ends_in_the_cancellation(monkeypatch):
    """A cluster that loses the data after every task: after RETRIES scatters
    more, the cancellation is raised and every task is cancelled."""
    from fastnn import distributed as fd
    monkeypatch.setattr(fd.distributed, "as_completed", _FakeAsCompleted)
    cluster = _FakeCluster(lose_after=range(1, 100))
    runner = fd._Dask(cluster)
    shared = runner.scatter([1, 2, 3])
    with pytest.raises(concurrent.futures.CancelledError, match="lost dependencies"):
        runner.run(_label, [(shared, "run", seed) for seed in range(5)])
    assert len(cluster.scatters) == 1 + fd.RETRIES
    assert cluster.cancelled == cluster.submits


def test_a_cancelled_task_whose_data_are_there_is_retried_a_few_times(monkeypatch):
    """A task cancelled while its data are still on the cluster is resubmitted
    with the same data, RETRIES times, then its cancellation is raised."""
    from fastnn import distributed as fd
    monkeypatch.setattr(fd.distributed, "as_completed", _FakeAsCompleted)
    cluster = _FakeCluster()
    runner = fd._Dask(cluster)
    shared = runner.scatter([1, 2, 3])
    attempts = []

    def flaky(data, name, seed):
        if seed == 1:
            attempts.append(seed)
            raise concurrent.futures.CancelledError()
        return _label(data, name, seed)

    with pytest.raises(concurrent.futures.CancelledError):
        runner.run(flaky, [(shared, "run", seed) for seed in range(3)])
    assert len(attempts) == 1 + fd.RETRIES
    assert len(cluster.scatters) == 1


# -- ensembles -----------------------------------------------------------------------

def _network3_maker():
    """make_network for the ensembles: built inside a function, so that
    cloudpickle ships it by value to workers that cannot import this file."""
    def make(seed):
        return network3.Network([network3.FullyConnectedLayer(784, 30),
                                 network3.SoftmaxLayer(30, 10)], 10, seed=seed)
    return make


def test_network3_ensemble_votes_at_least_as_well_as_its_median_member(data, client):
    X, y, X_val, y_val = data
    members = ensemble(_network3_maker(), 5, (X, y), (X_val, y_val), seed=3, client=client,
                       epochs=2, eta=0.5)
    assert len(members) == 5 and all(isinstance(m, network3.Network) for m in members)
    accuracies = [float(np.mean(m.predict(X_val) == y_val)) for m in members]
    assert len(set(accuracies)) > 1, "the members should differ (their own seeds)"
    voted = float(np.mean(vote(members, X_val) == y_val))
    assert voted >= np.median(accuracies), (voted, accuracies)
    assert all(len(m.history["validation_accuracy"]) == 2 for m in members)
    # the same members as a serial run: same seeds, same weights
    again = ensemble(_network3_maker(), 5, (X, y), (X_val, y_val), seed=3, client="serial",
                     epochs=2, eta=0.5)
    for a, b in zip(members, again):
        for la, lb in zip(a.layers, b.layers):
            np.testing.assert_array_equal(la.w, lb.w)
            np.testing.assert_array_equal(la.b, lb.b)


def test_mlp_ensemble_and_vote(data, client):
    X, y, X_val, y_val = data

    def make(seed):
        return MLP([784, 16, 10], seed=seed)

    members = ensemble(make, 3, (X, y), (X_val, y_val), client=client, epochs=2, learning_rate=1.0)
    assert all(len(m.history) == 2 for m in members)
    voted = vote(members, X_val)
    assert voted.shape == y_val.shape and np.mean(voted == y_val) > 0.8
    # ties go to the smallest class: two networks, one predicting each
    agree = np.array([0, 1, 2])

    class Fixed(object):
        def __init__(self, labels):
            self.labels = labels

        def predict(self, X):
            return self.labels

    assert vote([Fixed(agree), Fixed(np.array([3, 1, 0]))], None).tolist() == [0, 1, 0]


# -- pickling: what travels to and from the workers ------------------------------------

def test_mlp_pickles_without_loss(data):
    X, y, X_val, _ = data
    net = MLP([784, 12, 10], activation="tanh", output="softmax", cost="log_likelihood",
              dtype="float32", seed=4)
    net.fit(X, y, epochs=1, learning_rate=0.1)
    copy = pickle.loads(pickle.dumps(net))
    for a, b in zip(copy.weights + copy.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype == np.float32
    assert copy.rng.bit_generator.state == net.rng.bit_generator.state
    assert repr(copy) == repr(net) and copy.history == net.history
    np.testing.assert_array_equal(copy.predict_proba(X_val), net.predict_proba(X_val))
    net.fit(X, y, epochs=1, learning_rate=0.1)       # and both train on identically
    copy.fit(X, y, epochs=1, learning_rate=0.1)
    np.testing.assert_array_equal(copy.predict_proba(X_val), net.predict_proba(X_val))


def test_network3_pickles_without_loss(data):
    X, y, X_val, y_val = data
    np.random.seed(0)
    net = network3.Network([
        network3.ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(4, 1, 5, 5), poolsize=(2, 2)),
        network3.FullyConnectedLayer(n_in=4*12*12, n_out=20, activation_fn=network3.ReLU, p_dropout=0.2),
        network3.SoftmaxLayer(n_in=20, n_out=10, p_dropout=0.1)], 10, seed=1)
    net.SGD((X[:500], y[:500]), 1, 10, 0.1, (X_val[:100], y_val[:100]), None, verbose=False)
    copy = pickle.loads(pickle.dumps(net))
    for a, b in zip(copy.layers, net.layers):
        assert type(a) is type(b) and a.activation_fn is b.activation_fn
        assert getattr(a, "p_dropout", 0) == getattr(b, "p_dropout", 0)
        np.testing.assert_array_equal(a.w, b.w)
        np.testing.assert_array_equal(a.b, b.b)
    assert copy.rng.bit_generator.state == net.rng.bit_generator.state
    np.testing.assert_array_equal(copy.feedforward(X_val[:100]), net.feedforward(X_val[:100]))
    # the dropout generator came along: one more epoch stays identical
    net.SGD((X[:500], y[:500]), 1, 10, 0.1, (X_val[:100], y_val[:100]), None, verbose=False)
    copy.SGD((X[:500], y[:500]), 1, 10, 0.1, (X_val[:100], y_val[:100]), None, verbose=False)
    for a, b in zip(copy.layers, net.layers):
        np.testing.assert_array_equal(a.w, b.w)


# -- scikit-learn's own search on Dask ---------------------------------------------------

def test_grid_search_cv_under_the_dask_joblib_backend(client):
    pytest.importorskip("sklearn")
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from fastnn.sklearn import BookMLPClassifier
    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"learning_rate": [0.2, 1.0], "l2": [0.0, 1.0]}
    local = GridSearchCV(BookMLPClassifier(epochs=3, random_state=0), grid, cv=3).fit(X, y)
    with joblib.parallel_backend("dask", client=client):
        on_dask = GridSearchCV(BookMLPClassifier(epochs=3, random_state=0), grid, cv=3, n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert on_dask.best_params_ == local.best_params_


# -- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("grid, base, match", [
    ({"learning_rat": [0.1]}, BASE, "'learning_rat', which is neither"),
    ({"l2": [0.0]}, {"sizes": [784, 10], "epoch": 3}, "'epoch'"),
    ({}, BASE, "empty"),
    ([], BASE, "non-empty"),
    ({"l2": []}, BASE, "holds no values"),
    ({"l2": [0.0]}, {"epochs": 1}, "sizes"),
    ({"l2": [0.0]}, dict(BASE, seed=-1), "seed"),
])
def test_bad_grids_fail_before_anything_runs(data, grid, base, match):
    X, y, X_val, y_val = data
    with pytest.raises(ValueError, match=match):
        search(grid, X, y, (X_val, y_val), base=base, client="serial")


def test_a_scheduler_that_does_not_answer_fails_within_the_timeout(data, monkeypatch):
    X, y, X_val, y_val = data
    address = "tcp://127.0.0.1:{}".format(_free_port())     # nothing listens there
    assert CONNECT_TIMEOUT <= 10
    monkeypatch.setenv("FASTNN_SCHEDULER", address)
    started = time.perf_counter()
    with pytest.raises(ConnectionError, match="no Dask scheduler answered at 'tcp://127.0.0.1:"):
        search({"l2": [0.0]}, X, y, (X_val, y_val), base=BASE, timeout=2)
    assert time.perf_counter() - started < 15
    with pytest.raises(TypeError, match="client must be"):
        search({"l2": [0.0]}, X, y, (X_val, y_val), base=BASE, client=42)


def test_a_script_without_the_main_guard_is_told_in_one_line(tmp_path):
    """Local workers import the script again: a search at its top level is
    refused before any worker starts, naming the line; under the guard (or
    in a function called from there) it is not."""
    import subprocess
    import sys
    from helpers import fastnn_env
    unguarded = tmp_path / "search_script.py"
    unguarded.write_text(
        "import numpy as np\n"
        "from fastnn import distributed\n"
        "X, y = np.random.rand(20, 4), np.arange(20) % 2\n"
        "rows = distributed.search({'learning_rate': [0.1]}, X, y, (X, y),\n"
        "                          base={'sizes': [4, 3, 2], 'epochs': 1})\n")
    env = fastnn_env()
    env.pop("FASTNN_SCHEDULER", None)
    out = subprocess.run([sys.executable, str(unguarded)], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(tmp_path))
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert "search_script.py, line 4" in last and 'if __name__ == "__main__":' in last, out.stderr
    assert len(out.stderr.splitlines()) < 15 and "bootstrapping" not in out.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        "from fastnn import distributed\n"
        "def main():\n"
        "    distributed._check_main_guard()\n"
        "    print('allowed')\n"
        "if __name__ == '__main__':\n"
        "    main()\n")
    out = subprocess.run([sys.executable, str(guarded)], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0 and out.stdout.strip() == "allowed", out.stderr


def test_a_search_shows_its_progress_and_dashboard(data, client, monkeypatch, capsys):
    """On a terminal (here forced by FASTNN_PROGRESS=1): the dashboard's
    address, then a bar over the finished runs."""
    X, y, X_val, y_val = data
    monkeypatch.setenv("FASTNN_PROGRESS", "1")
    search({"learning_rate": [0.5, 1.0, 2.0]}, X[:300], y[:300], (X_val[:100], y_val[:100]),
           base=dict(BASE, epochs=1), client=client)
    err = capsys.readouterr().err
    assert "Dask dashboard: http://127.0.0.1:" in err
    assert "runs: 100%" in err and "3/3" in err
    monkeypatch.setenv("FASTNN_PROGRESS", "0")
    search({"learning_rate": [0.5]}, X[:300], y[:300], (X_val[:100], y_val[:100]),
           base=dict(BASE, epochs=1), client=client)
    assert capsys.readouterr().err == ""

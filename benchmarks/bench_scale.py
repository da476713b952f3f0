"""Many networks: a search on a Dask LocalCluster against the same search
serially, what the cluster path costs per task, and fastnn's scikit-learn
estimator against scikit-learn's own MLPClassifier.

Run:  python benchmarks/bench_scale.py                 (all three parts)
      python benchmarks/bench_scale.py --only search overhead sklearn --epochs 5

Each part prints the machine's load average and how many cores two busy
threads actually got just before (``cores available``): the cluster needs
both cores to itself to approach a 2x speed-up, and on a shared machine it
does not always have them.

* search: 8 runs of [784, 30, 10] (learning_rate x l2 x 2 repeats), 5 epochs
  each on the 50,000 MNIST training images, validation on the 10,000, on a
  LocalCluster of 2 single-threaded worker processes (started before the
  clock starts; its start-up is reported apart) and serially in this
  process.  Rounds alternate serial and cluster; the best of each is kept.
* overhead: one task's round trip (submit a function that does nothing,
  wait for its result), a search of trivial runs (epochs=0 on 100 rows)
  per task, broadcasting MNIST to both workers, and starting and closing
  the embedded LocalCluster.
* sklearn: ``fastnn.sklearn.BookMLPClassifier`` against
  ``sklearn.neural_network.MLPClassifier(solver="sgd")``, same network
  (784 inputs, 30 sigmoid hidden, 10 softmax outputs, log-loss), mini-batch
  10, learning rate 0.5, L2 matched (the book's lambda 5 over n = 50,000 is
  scikit-learn's alpha = 5 * 10 / 50,000 per mini-batch), no momentum, the
  same epochs, float64 for both; seconds per epoch and validation/test
  accuracy.  scikit-learn runs twice: with its BLAS's default threads, and
  held to one thread as fastnn is.  fastnn's epoch includes the extra pass
  over the training set that gives ``loss_curve_``.
"""
import argparse
import logging
import os
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def load():
    from fastnn.datasets import load_mnist
    return load_mnist(os.environ.get("FASTNN_DATA") or os.path.join(HERE, "..", "..", "shared", "data", "mnist"))


def load_average():
    """The load averages, and how many cores two busy threads got just now
    (bench_network3's probe: 2.0 on an idle 2-core machine), the ceiling of
    any speed-up from two workers at that moment."""
    from bench_network3 import _cores_available
    return "load average {:.2f} {:.2f} {:.2f}, cores available {:.2f}".format(
        *os.getloadavg(), _cores_available())


def local_cluster():
    import distributed
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    return cluster, distributed.Client(cluster, set_as_default=False, direct_to_workers=True)


def _noop():
    return None


def figures(rows):
    """What must not change between a serial and a distributed search."""
    return [(r["seed"], r["best_val_accuracy"], r["best_epoch"], r["final_val_accuracy"],
             [h["val_accuracy"] for h in r["history"]]) for r in rows]


def bench_search(data, epochs, rounds):
    from fastnn.distributed import search
    (X, y), (X_val, y_val), _ = data
    grid = {"learning_rate": [0.5, 3.0], "l2": [0.0, 5.0]}
    base = {"sizes": [784, 30, 10], "epochs": epochs, "batch_size": 10, "seed": 0}
    print("search: 8 runs of [784, 30, 10], {} epochs, 50,000 rows; {}".format(epochs, load_average()))
    cluster, client = local_cluster()
    client.wait_for_workers(2)
    # workers import fastnn on their first task: not part of a search's cost
    search({"l2": [0.0, 1.0]}, X[:100], y[:100], (X_val[:100], y_val[:100]),
           base={"sizes": [784, 30, 10], "epochs": 0}, client=client)
    times = {"serial": [], "cluster": []}
    rows = {}
    try:
        for r in range(rounds):
            for mode, where in (("serial", "serial"), ("cluster", client)):
                before = load_average()
                started = time.perf_counter()
                rows[mode] = search(grid, X, y, (X_val, y_val), base=base, repeats=2, client=where)
                times[mode].append(time.perf_counter() - started)
                print("  round {} {:8s} {:6.2f} s  (before: {})".format(r, mode, times[mode][-1], before))
            assert figures(rows["serial"]) == figures(rows["cluster"]), \
                "round {}: the cluster's rows differ from the serial ones".format(r)
    finally:
        client.close()
        cluster.close()
    serial, on_cluster = min(times["serial"]), min(times["cluster"])
    task = {mode: statistics.median(r["seconds"] for r in rows[mode]) for mode in rows}
    print("  serial {:.2f} s, cluster {:.2f} s: {:.2f}x faster (best of {}); one run (median, last round) "
          "{:.2f} s serially, {:.2f} s on a worker; rows identical; best val accuracy {:.4f}".format(
              serial, on_cluster, serial / on_cluster, rounds, task["serial"], task["cluster"],
              max(r["best_val_accuracy"] for r in rows["serial"])))


def bench_overhead(data):
    from fastnn.distributed import search
    (X, y), (X_val, y_val), _ = data
    print("overhead; {}".format(load_average()))
    started = time.perf_counter()
    cluster, client = local_cluster()
    client.wait_for_workers(2)
    up = time.perf_counter() - started
    try:
        search({"l2": [0.0, 1.0]}, X[:100], y[:100], (X_val[:100], y_val[:100]),   # warm-up
               base={"sizes": [784, 30, 10], "epochs": 0}, client=client)
        trips = []
        for _ in range(30):
            started = time.perf_counter()
            client.submit(_noop, pure=False).result()
            trips.append(time.perf_counter() - started)
        n = 40
        small = (X[:100], y[:100], X_val[:100], y_val[:100])
        grid = {"l2": [float(i) for i in range(n)]}
        base = {"sizes": [784, 30, 10], "epochs": 0}
        started = time.perf_counter()
        search(grid, small[0], small[1], (small[2], small[3]), base=base, client=client)
        trivial = time.perf_counter() - started
        started = time.perf_counter()
        search(grid, small[0], small[1], (small[2], small[3]), base=base, client="serial")
        trivial_serial = time.perf_counter() - started
        payload = (X, y, X_val, y_val)
        started = time.perf_counter()
        [future] = client.scatter([payload], broadcast=True, hash=False)
        scatter = time.perf_counter() - started
        future.release()
    finally:
        started = time.perf_counter()
        client.close()
        cluster.close()
        down = time.perf_counter() - started
    mb = sum(a.nbytes for a in payload) / 1e6
    print("  one task's round trip (submit, run nothing, result): median {:.1f} ms, min {:.1f} ms".format(
        1e3 * statistics.median(trips), 1e3 * min(trips)))
    print("  search of {} trivial runs: {:.3f} s on 2 workers ({:.1f} ms per task of wall time, {:.1f} ms "
          "of worker time), {:.3f} s serially".format(n, trivial, 1e3 * trivial / n, 2e3 * trivial / n,
                                                       trivial_serial))
    print("  broadcasting MNIST ({:.0f} MB) to both workers: {:.2f} s".format(mb, scatter))
    print("  embedded LocalCluster of 2 workers: {:.2f} s to start, {:.2f} s to close".format(up, down))


def bench_sklearn(data, epochs):
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits
    from sklearn.neural_network import MLPClassifier as SkMLP
    from fastnn.sklearn import BookMLPClassifier
    (X, y), (X_val, y_val), (X_test, y_test) = data
    X, X_val, X_test = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, X_val, X_test))
    n, batch, eta, lmbda = len(X), 10, 0.5, 5.0
    ours = BookMLPClassifier(hidden_layer_sizes=(30,), activation="sigmoid", output="softmax", epochs=epochs,
                         batch_size=batch, learning_rate=eta, l2=lmbda, random_state=0)
    theirs = SkMLP(hidden_layer_sizes=(30,), activation="logistic", solver="sgd", batch_size=batch,
                   learning_rate_init=eta, learning_rate="constant", momentum=0.0, alpha=lmbda * batch / n,
                   max_iter=epochs, shuffle=True, tol=0.0, n_iter_no_change=epochs + 1, random_state=0)
    print("sklearn: [784, 30, 10], {} epochs, mini-batch {}, float64; {}".format(epochs, batch, load_average()))
    results = {}
    runs = (("fastnn.sklearn.BookMLPClassifier", ours, None),
            ("sklearn MLPClassifier(sgd)", theirs, None),
            ("sklearn MLPClassifier(sgd), 1 BLAS thread", clone(theirs), 1))
    for name, clf, blas in runs:
        before = load_average()
        with warnings.catch_warnings(), threadpool_limits(limits=blas):
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - started
        results[name] = (seconds / epochs, clf.score(X_val, y_val), clf.score(X_test, y_test))
        print("  {:42s} {:.3f} s per epoch  validation {:.4f}  test {:.4f}  (before: {})".format(
            name, *results[name], before))
    (a, va, ta), (b, vb, tb), (c, _, _) = results.values()
    print("  fastnn is {:.1f}x faster per epoch ({:.1f}x against one BLAS thread); accuracy {:+.4f} "
          "(validation), {:+.4f} (test)".format(b / a, c / a, va - vb, ta - tb))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["search", "overhead", "sklearn"],
                        default=["search", "overhead", "sklearn"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the search comparison")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_info
    blas = ", ".join("{} {} threads".format(i["internal_api"], i["num_threads"]) for i in threadpool_info())
    print("Python {}, {} cores, BLAS: {} (fastnn trains on one; scikit-learn uses the default); {}".format(
        sys.version.split()[0], os.cpu_count(), blas or "none loaded yet", load_average()))
    data = load()
    if "search" in args.only:
        bench_search(data, args.epochs, args.rounds)
    if "overhead" in args.only:
        bench_overhead(data)
    if "sklearn" in args.only:
        bench_sklearn(data, args.epochs)


if __name__ == "__main__":
    main()

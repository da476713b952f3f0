"""fastnn.sklearn against scikit-learn's own MLPs: the same estimator, the
same parameters, one thread each, in one run.

Cases (each in float64, and in float32 data, where scikit-learn also
computes in float32):

* ``defaults``: ``MLPClassifier()`` as it comes (adam, (100,) ReLU,
  mini-batches of 200) on 50,000 MNIST rows, 2 epochs;
* ``batch32``: the same at ``batch_size=32``;
* ``digits``: the defaults on ``load_digits`` (1,797 rows), 20 epochs,
  where scikit-learn's per-mini-batch Python dominates.

Each fit runs exactly ``max_iter`` epochs (``n_iter_no_change`` above it).
scikit-learn's BLAS is held to one thread (threadpoolctl), fastnn's kernels
get one.  ``test_fit`` is the pytest-benchmark form (a group per case, the
two implementations beside each other); ``python benchmarks/bench_sklearn.py``
prints the table the docs quote: the two fits interleaved round by round,
medians and their ratio, and the load average before and after.
``FASTNN_BENCH_QUICK=1``: 2,000 rows, 1 epoch, 1 round (CI checks it runs).

Run:  pytest benchmarks/bench_sklearn.py --benchmark-json=sklearn.json
"""
import os
import sys
import time
import warnings

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import QUICK  # noqa: E402

pytest.importorskip("sklearn")
pytest.importorskip("threadpoolctl")

ROWS = 2000 if QUICK else 50000
CASES = {"defaults": dict(max_iter=1 if QUICK else 2),
         "batch32": dict(max_iter=1 if QUICK else 2, batch_size=32),
         "digits": dict(max_iter=2 if QUICK else 20)}
DTYPES = ["float64", "float32"]
IMPLEMENTATIONS = ["sklearn", "fastnn"]
ROUNDS = 1 if QUICK else 5


def case_data(case, dtype, mnist=None):
    if case == "digits":
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X = X / 16
    else:
        X, y = mnist
        X, y = X[:ROWS], y[:ROWS]
    return np.ascontiguousarray(X, dtype=dtype), np.asarray(y)


def estimator(impl, case):
    params = dict(CASES[case], random_state=0, n_iter_no_change=10**6)
    if impl == "sklearn":
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier(**params)
    from fastnn.sklearn import MLPClassifier
    return MLPClassifier(num_threads=1, **params)


def fit_seconds(impl, case, X, y):
    """One fit's wall time, BLAS held to one thread."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits
    model = estimator(impl, case)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - started, model


def _mnist():
    from fastnn.datasets import load_mnist
    from helpers import find_mnist
    (X, y), _, _ = load_mnist(find_mnist())
    return X, y


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fit(benchmark, case, dtype, impl):
    X, y = case_data(case, dtype, None if case == "digits" else _mnist())
    benchmark.group = "MLPClassifier {} {}".format(case, dtype)
    benchmark.extra_info.update(case=case, dtype=dtype, rows=len(X), implementation=impl,
                                epochs=CASES[case]["max_iter"], threads=1,
                                load_average=os.getloadavg()[0])
    benchmark.pedantic(lambda: fit_seconds(impl, case, X, y), rounds=ROUNDS, iterations=1,
                       warmup_rounds=0)


def epoch_flops(X, n_classes, hidden=100):
    """The flops of one epoch of a one-hidden-layer network: per row, the
    forward products and the weight gradients of both layers, and the output
    layer's error sent back, ``(4*n_in + 6*n_out)*H``."""
    return len(X) * (4 * X.shape[1] + 6 * n_classes) * hidden


def table(rounds=ROUNDS):
    """Interleaved rounds of every case; returns the markdown table, with
    each epoch's FLOP limit (its flops at the one-thread big-gemm rate,
    measured in the same run) and fastnn's distance to it."""
    from bench_limits import gemm_rate
    mnist = _mnist()
    before = os.getloadavg()
    rates = {dtype: [] for dtype in DTYPES}
    lines = ["| case | dtype | rows | epochs | scikit-learn s/epoch | fastnn s/epoch | speed-up "
             "| FLOP limit s/epoch | fastnn / limit |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case in ("defaults", "batch32", "digits"):
        for dtype in DTYPES:
            X, y = case_data(case, dtype, mnist)
            times = {impl: [] for impl in IMPLEMENTATIONS}
            for _ in range(rounds):
                for impl in IMPLEMENTATIONS:
                    seconds, model = fit_seconds(impl, case, X, y)
                    times[impl].append(seconds / model.n_iter_)
                rates[dtype].append(gemm_rate(np.dtype(dtype)))
            sk, ours = (float(np.median(times[i])) for i in IMPLEMENTATIONS)
            limit = epoch_flops(X, len(np.unique(y))) / float(np.median(rates[dtype]))
            lines.append("| {} | {} | {} | {} | {:.4f} | {:.4f} | {:.2f}x | {:.4f} | {:.2f}x |"
                         .format(case, dtype, len(X), CASES[case]["max_iter"], sk, ours, sk / ours,
                                 limit, ours / limit))
            print(lines[-1], flush=True)
    after = os.getloadavg()
    lines.append("")
    lines.append("Medians of {} interleaved rounds; load average {:.2f} before, {:.2f} after "
                 "(1-minute), on {} cores; big-gemm rate {:.1f} GFLOP/s float64, {:.1f} "
                 "float32 (one thread).".format(
                     rounds, before[0], after[0], os.cpu_count(),
                     np.median(rates["float64"]) / 1e9, np.median(rates["float32"]) / 1e9))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    print(table())

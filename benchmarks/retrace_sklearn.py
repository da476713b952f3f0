"""How far fastnn.sklearn retraces scikit-learn's own MLPs: the docs' table.

Each row fits scikit-learn's estimator and fastnn's with the same data,
parameters and ``random_state`` in float64, on both of fastnn's backends,
and reports the largest relative difference of ``loss_curve_`` over the
epochs (for 'lbfgs', of the final ``loss_``), whether ``n_iter_`` and every
prediction agree::

    python benchmarks/retrace_sklearn.py            # markdown table on stdout
    python benchmarks/retrace_sklearn.py --quick    # the digits rows only (CI)

MNIST (a 2,000-row subset) is found as fastnn finds it (``$FASTNN_DATA``,
the per-user cache); ``tests/test_sklearn.py`` asserts the same agreement.
"""
import argparse
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

SGD = dict(solver="sgd", learning_rate_init=0.05)
ROWS = [
    ("digits", "MLPClassifier", "adam, lr 0.01", dict(solver="adam", learning_rate_init=0.01)),
    ("digits", "MLPClassifier", "adam, lr 0.05", dict(solver="adam", learning_rate_init=0.05)),
    ("digits", "MLPClassifier", "sgd Nesterov, constant", SGD),
    ("digits", "MLPClassifier", "sgd Nesterov, invscaling", dict(SGD, learning_rate="invscaling")),
    ("digits", "MLPClassifier", "sgd Nesterov, adaptive", dict(SGD, learning_rate="adaptive",
                                                               n_iter_no_change=2, tol=1e-2)),
    ("digits", "MLPClassifier", "sgd momentum, constant", dict(SGD, nesterovs_momentum=False)),
    ("digits", "MLPClassifier", "sgd momentum, invscaling",
     dict(SGD, nesterovs_momentum=False, learning_rate="invscaling")),
    ("digits", "MLPClassifier", "sgd momentum, adaptive",
     dict(SGD, nesterovs_momentum=False, learning_rate="adaptive", n_iter_no_change=2, tol=1e-2)),
    ("digits", "MLPClassifier", "adam, early stopping (n_iter_no_change=2)",
     dict(solver="adam", learning_rate_init=0.01, early_stopping=True, n_iter_no_change=2,
          max_iter=60)),
    ("digits", "MLPClassifier", "lbfgs, 50 iterations", dict(solver="lbfgs", max_iter=50)),
    ("mnist", "MLPClassifier", "defaults", dict()),
    ("diabetes", "MLPRegressor", "adam, squared_error", dict(solver="adam",
                                                             learning_rate_init=0.01)),
    ("diabetes", "MLPRegressor", "adam, poisson", dict(solver="adam", learning_rate_init=0.01,
                                                       loss="poisson")),
    ("diabetes", "MLPRegressor", "lbfgs, 50 iterations", dict(solver="lbfgs", max_iter=50)),
]


def dataset(name):
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.preprocessing import StandardScaler
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16, y
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return StandardScaler().fit_transform(X), y / 100
    from fastnn import datasets
    from helpers import find_mnist
    (X, y), _, _ = datasets.load_mnist(find_mnist())
    return np.asarray(X[:2000], dtype=np.float64), np.asarray(y[:2000])


def retrace(data, cls, params):
    from sklearn import neural_network as sk
    from sklearn.exceptions import ConvergenceWarning
    import fastnn.sklearn as fs
    X, y = data
    params = dict(dict(max_iter=10, random_state=0, hidden_layer_sizes=(30,)), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(sk, cls)(**params).fit(X, y)
        results = []
        for backend in ("cython", "numpy"):
            ours = getattr(fs, cls)(backend=backend, **params).fit(X, y)
            if params.get("solver") == "lbfgs":
                worst = abs(ours.loss_ / theirs.loss_ - 1)
            else:
                worst = float(np.max(np.abs(np.array(ours.loss_curve_) /
                                            np.array(theirs.loss_curve_) - 1)))
            if cls == "MLPClassifier":
                same = bool(np.all(ours.predict(X) == theirs.predict(X)))
            else:
                same = bool(np.allclose(ours.predict(X), theirs.predict(X), rtol=1e-6))
            results.append((worst, ours.n_iter_ == theirs.n_iter_, same))
    return theirs.n_iter_, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the digits rows only")
    args = parser.parse_args(argv)
    print("| data | estimator | solver | epochs | cython: max rel. diff | numpy: max rel. diff "
          "| same n_iter_ | same predictions |")
    print("|---|---|---|---:|---:|---:|---|---|")
    cache = {}
    for name, cls, label, params in ROWS:
        if args.quick and name != "digits":
            continue
        if name not in cache:
            cache[name] = dataset(name)
        n_iter, results = retrace(cache[name], cls, params)
        print("| {} | {} | {} | {} | {:.1e} | {:.1e} | {} | {} |".format(
            name, cls, label, n_iter, results[0][0], results[1][0],
            "yes" if all(r[1] for r in results) else "NO",
            "yes" if all(r[2] for r in results) else "NO"), flush=True)


if __name__ == "__main__":
    main()

"""fastnn.sklearn.BookMLPClassifier under scikit-learn's own checks and tools.

The data are scikit-learn's bundled 8x8 digits (1,797 images, no download),
small enough that every fit here takes a fraction of a second.
"""
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn import MLP  # noqa: E402
from fastnn.sklearn import BookMLPClassifier  # noqa: E402
from helpers import fastnn_env  # noqa: E402

# Two configurations through every estimator check: the defaults (softmax,
# float64) and the other branches (sigmoid outputs normalised into
# probabilities, float32, two hidden layers, early stopping on a held-out split).
CHECKED = [BookMLPClassifier(random_state=0),
           BookMLPClassifier(output="sigmoid", dtype="float32", hidden_layer_sizes=(20, 10),
                         early_stopping=5, random_state=1)]

FLOAT32_ORDER = ("asks predict_proba of rows taken in another order or subset to agree to "
                 "rtol 1e-7, finer than float32 resolves: BLAS sums a row's products in an "
                 "order that depends on where the row sits in the block (measured 1.2e-7)")


def expected_failed_checks(estimator):
    """The checks that cannot apply, with the reason, per configuration."""
    reasons = {"check_array_api_input": "fastnn computes with numpy arrays only; it takes no "
                                        "array-API namespace (the check also skips itself "
                                        "unless SCIPY_ARRAY_API=1)"}
    if estimator.dtype == "float32":
        reasons["check_methods_sample_order_invariance"] = FLOAT32_ORDER
        reasons["check_methods_subset_invariance"] = FLOAT32_ORDER
    return reasons


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_pipeline_after_scalers(digits):
    X_train, X_test, y_train, y_test = digits
    for scaler in (StandardScaler(), MinMaxScaler()):
        pipe = make_pipeline(scaler, BookMLPClassifier(epochs=15, learning_rate=0.5, random_state=0))
        score = pipe.fit(X_train, y_train).score(X_test, y_test)
        assert score > 0.93, (type(scaler).__name__, score)
        assert pipe[-1].n_features_in_ == 64 and list(pipe[-1].classes_) == list(range(10))


def test_grid_search(digits):
    X_train, X_test, y_train, y_test = digits
    grid = {"bookmlpclassifier__learning_rate": [0.1, 1.0], "bookmlpclassifier__hidden_layer_sizes": [(10,), (30,)]}
    search = GridSearchCV(make_pipeline(MinMaxScaler(), BookMLPClassifier(epochs=8, random_state=0)),
                          grid, cv=3)
    search.fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["bookmlpclassifier__learning_rate"] in (0.1, 1.0)
    assert search.best_score_ > 0.9
    assert search.score(X_test, y_test) > 0.9


def test_cross_val_score(digits):
    X_train, _, y_train, _ = digits
    scores = cross_val_score(make_pipeline(StandardScaler(), BookMLPClassifier(epochs=10, random_state=0)),
                             X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9, scores


def test_clone_is_an_unfitted_twin(digits):
    X_train, X_test, y_train, _ = digits
    clf = BookMLPClassifier(hidden_layer_sizes=(16,), epochs=3, l2=1.0, random_state=3).fit(X_train / 16, y_train)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_") and not hasattr(twin, "classes_")
    twin.fit(X_train / 16, y_train)
    np.testing.assert_array_equal(twin.predict_proba(X_test / 16), clf.predict_proba(X_test / 16))


def test_pickle_round_trip_with_string_labels(digits):
    X_train, X_test, y_train, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = BookMLPClassifier(epochs=3, random_state=0).fit(X_train / 16, names[y_train])
    copy = pickle.loads(pickle.dumps(clf))
    assert list(copy.classes_) == sorted(names)
    np.testing.assert_array_equal(copy.predict(X_test / 16), clf.predict(X_test / 16))
    np.testing.assert_array_equal(copy.predict_proba(X_test / 16), clf.predict_proba(X_test / 16))
    assert copy.history_ == clf.history_ and copy.loss_curve_ == clf.loss_curve_
    for a, b in zip(copy.network_.weights + copy.network_.biases, clf.network_.weights + clf.network_.biases):
        np.testing.assert_array_equal(a, b)
    assert copy.network_.rng.bit_generator.state == clf.network_.rng.bit_generator.state
    # training goes on identically from the copy: same generator, same weights
    copy.partial_fit(X_train / 16, names[y_train])
    clf.partial_fit(X_train / 16, names[y_train])
    np.testing.assert_array_equal(copy.predict_proba(X_test / 16), clf.predict_proba(X_test / 16))


def test_trains_exactly_as_mlp_with_the_same_seed(digits):
    """An int random_state is MLP's seed: same sizes, same draws, same weights."""
    X_train, _, y_train, _ = digits
    X = X_train / 16
    clf = BookMLPClassifier(hidden_layer_sizes=(12,), epochs=2, batch_size=20, learning_rate=0.3,
                        l2=2.0, random_state=7).fit(X, y_train)
    net = MLP([64, 12, 10], output="softmax", cost="log_likelihood", seed=7)
    net.fit(X, y_train, epochs=2, batch_size=20, learning_rate=0.3, l2=2.0)
    for a, b in zip(clf.network_.weights + clf.network_.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.loss_curve_[1] < clf.loss_curve_[0]


def test_momentum_trains_alike_on_both_backends(digits):
    X_train, _, y_train, _ = digits
    fitted = [BookMLPClassifier(hidden_layer_sizes=(12,), epochs=2, learning_rate=0.3, momentum=0.5,
                            backend=backend, random_state=2).fit(X_train / 16, y_train)
              for backend in ("numpy", "cython")]
    for a, b in zip(fitted[0].network_.weights, fitted[1].network_.weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_partial_fit_trains_one_epoch_at_a_time(digits):
    X_train, X_test, y_train, y_test = digits
    X = X_train / 16
    clf = BookMLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:5], y_train[:5])          # five rows need not show all ten classes
    clf = BookMLPClassifier(random_state=0)
    half = len(X) // 2
    clf.partial_fit(X[:half], y_train[:half], classes=np.arange(10))
    for _ in range(4):
        clf.partial_fit(X[half:], y_train[half:])
    assert clf.n_iter_ == 5 and [r["epoch"] for r in clf.history_] == [0, 1, 2, 3, 4]
    assert clf.score(X_test / 16, y_test) > 0.85
    with pytest.raises(ValueError, match="not among classes"):
        clf.partial_fit(X[:3], np.array([1, 2, 11]))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :10], y_train)


def test_early_stopping_holds_out_a_split(digits):
    X_train, _, y_train, _ = digits
    clf = BookMLPClassifier(epochs=200, early_stopping=3, validation_fraction=0.2, random_state=0)
    clf.fit(X_train / 16, y_train)
    assert clf.n_iter_ < 200
    assert all("val_accuracy" in r for r in clf.history_)
    assert clf.best_validation_score_ == max(r["val_accuracy"] for r in clf.history_)


@pytest.mark.parametrize("params, match", [
    ({"epochs": -1}, "epochs"),
    ({"hidden_layer_sizes": (0,)}, "neuron"),
    ({"activation": "swish"}, "activation"),
    ({"output": "softmax", "cost": "cross_entropy"}, "softmax"),
    ({"early_stopping": 0}, "early_stopping"),
    ({"early_stopping": 2, "validation_fraction": 1.5}, "validation_fraction"),
    ({"momentum": 1.0}, "momentum"),
])
def test_bad_parameters_fail_in_fit_not_in_init(params, match):
    clf = BookMLPClassifier(**params)                     # storing never fails
    assert clf.get_params()[next(iter(params))] == params[next(iter(params))]
    X = np.random.default_rng(0).random((20, 3))
    with pytest.raises((ValueError, TypeError), match=match):
        clf.fit(X, np.arange(20) % 2)


def test_one_class_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="at least 2 classes"):
        BookMLPClassifier().fit(np.ones((4, 2)), ["a"] * 4)


BLOCKED = "import sys; sys.modules.update({{m: None for m in {!r}}}); "


def test_import_fastnn_needs_no_extras_and_features_name_theirs(tmp_path):
    """With scikit-learn, dask and distributed made unimportable, fastnn still
    imports and trains; fastnn.sklearn and fastnn.distributed say which extra
    to install."""
    code = BLOCKED.format(["sklearn", "dask", "distributed"]) + (
        "import fastnn, numpy as np; fastnn.MLP([2, 2]).fit(np.ones((4, 2)), [0, 1, 0, 1], epochs=1)\n"
        "for name, extra in (('sklearn', 'sklearn'), ('distributed', 'distributed')):\n"
        "    try:\n"
        "        __import__('fastnn.' + name)\n"
        "    except ImportError as exc:\n"
        "        assert \"pip install 'fastnn[{}]'\".format(extra) in str(exc), exc\n"
        "    else:\n"
        "        raise SystemExit('fastnn.' + name + ' imported without its extra')\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], env=fastnn_env(), cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]

"""fastnn.sklearn.MLPClassifier and MLPRegressor retrace scikit-learn's.

With the same data, parameters and random_state in float64 they must give
scikit-learn's own ``loss_curve_`` to a relative 1e-9 at every epoch, the
same predictions, the same ``n_iter_`` and the same early-stopping epoch, on
both backends; 'lbfgs' its final ``loss_`` to 1e-6.  Learning rates are
0.05 or less, where scikit-learn's own curve moves by at most 4e-16 for a
1-ulp change of its start (at 1.0 Nesterov is chaotic from epoch 3).  Then
scikit-learn's estimator checks, its tools, and pickling.
"""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn.sklearn as fs  # noqa: E402
from helpers import require_mnist  # noqa: E402

BACKENDS = ["cython", "numpy"]
RTOL = 1e-9

SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "adam-0.05": dict(solver="adam", learning_rate_init=0.05),
    "nesterov-constant": dict(solver="sgd", learning_rate_init=0.05),
    "nesterov-invscaling": dict(solver="sgd", learning_rate_init=0.05, learning_rate="invscaling"),
    "nesterov-adaptive": dict(solver="sgd", learning_rate_init=0.05, learning_rate="adaptive",
                              n_iter_no_change=2, tol=1e-2),
    "momentum-constant": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    "momentum-invscaling": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False,
                                learning_rate="invscaling"),
    "momentum-adaptive": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False,
                              learning_rate="adaptive", n_iter_no_change=2, tol=1e-2),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def mnist_2000():
    from fastnn import datasets
    (X, y), _, _ = datasets.load_mnist(require_mnist())
    return np.asarray(X[:2000], dtype=np.float64), np.asarray(y[:2000])


def fit_both(cls, X, y, backend, sample_weight=None, **params):
    """scikit-learn's estimator and ours, fitted alike (warnings silenced:
    both warn alike when max_iter ends the run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(sk, cls)(**params).fit(X, y, sample_weight=sample_weight)
        ours = getattr(fs, cls)(backend=backend, **params).fit(X, y, sample_weight=sample_weight)
    return theirs, ours


def assert_retraced(theirs, ours, X):
    curve, expected = np.array(ours.loss_curve_), np.array(theirs.loss_curve_)
    assert len(curve) == len(expected), "n_iter_ {} against scikit-learn's {}".format(
        len(curve), len(expected))
    worst = np.abs(curve / expected - 1)
    assert worst.max() <= RTOL, "loss_curve_ departs at epoch {}: {!r} against {!r}".format(
        int(np.argmax(worst)) + 1, curve[np.argmax(worst)], expected[np.argmax(worst)])
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=RTOL)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    for l, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_)):
        assert a.shape == b.shape, "coefs_[{}] shape".format(l)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.abs(b).max(),
                                   err_msg="coefs_[{}]".format(l))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_classifier_retraces_on_digits(digits, solver, backend):
    X, y = digits
    theirs, ours = fit_both("MLPClassifier", X, y, backend, hidden_layer_sizes=(30,),
                            max_iter=10, random_state=0, **SOLVERS[solver])
    assert_retraced(theirs, ours, X)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adaptive_rate_acts(digits, backend):
    """'adaptive' divides the rate (and scikit-learn's stopping counts) at the same epochs."""
    X, y = digits
    theirs, ours = fit_both("MLPClassifier", X, y, backend, hidden_layer_sizes=(20,), max_iter=12,
                            random_state=1, solver="sgd", learning_rate="adaptive",
                            learning_rate_init=0.05, n_iter_no_change=2, tol=0.05)
    assert ours._fastnn_rate.value < 0.05        # it did act within the run
    assert_retraced(theirs, ours, X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", ["adam", "nesterov-constant"])
def test_early_stopping_at_the_same_epoch(digits, solver, backend):
    X, y = digits
    theirs, ours = fit_both("MLPClassifier", X, y, backend, hidden_layer_sizes=(30,),
                            max_iter=60, random_state=3, early_stopping=True, n_iter_no_change=2,
                            **SOLVERS[solver])
    assert theirs.n_iter_ < 60                  # it stopped early
    assert_retraced(theirs, ours, X)
    assert ours.validation_scores_ == theirs.validation_scores_
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_loss_stops_at_the_same_epoch(digits, backend):
    X, y = digits
    theirs, ours = fit_both("MLPClassifier", X, y, backend, hidden_layer_sizes=(15,),
                            max_iter=40, random_state=4, n_iter_no_change=2, tol=0.02,
                            solver="adam", learning_rate_init=0.01)
    assert theirs.n_iter_ < 40
    assert_retraced(theirs, ours, X)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=RTOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_classifier_retraces_on_mnist(mnist_2000, backend):
    X, y = mnist_2000
    theirs, ours = fit_both("MLPClassifier", X, y, backend, max_iter=10, random_state=0,
                            learning_rate_init=0.001)
    assert_retraced(theirs, ours, X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_weight_retraces(digits, backend):
    X, y = digits
    weights = np.random.RandomState(0).rand(len(y)) * 3
    theirs, ours = fit_both("MLPClassifier", X, y, backend, sample_weight=weights,
                            hidden_layer_sizes=(20,), max_iter=10, random_state=0,
                            solver="sgd", learning_rate_init=0.05, batch_size=64)
    assert_retraced(theirs, ours, X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_logistic_outputs_retrace(digits, kind, backend):
    X, y = digits
    Y = y % 2 if kind == "binary" else np.stack([y % 2, y > 4, y == 0], axis=1).astype(int)
    theirs, ours = fit_both("MLPClassifier", X, Y, backend, hidden_layer_sizes=(20, 10),
                            activation="tanh", max_iter=10, random_state=2,
                            learning_rate_init=0.01)
    assert ours.out_activation_ == "logistic"
    assert_retraced(theirs, ours, X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss,solver", [("squared_error", "adam"), ("squared_error", "sgd"),
                                         ("poisson", "adam")])
def test_regressor_retraces_on_diabetes(diabetes, loss, solver, backend):
    X, y = diabetes
    y = y / 100
    theirs, ours = fit_both("MLPRegressor", X, y, backend, loss=loss, solver=solver,
                            hidden_layer_sizes=(20,), activation="logistic", max_iter=10,
                            random_state=0, learning_rate_init=0.01 if solver == "adam" else 0.001)
    curve, expected = np.array(ours.loss_curve_), np.array(theirs.loss_curve_)
    assert np.abs(curve / expected - 1).max() <= RTOL
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
def test_lbfgs_final_loss(digits, diabetes, cls, backend):
    X, y = digits if cls == "MLPClassifier" else diabetes
    theirs, ours = fit_both(cls, X, y / (1 if cls == "MLPClassifier" else 100), backend,
                            solver="lbfgs", hidden_layer_sizes=(15,), max_iter=50,
                            random_state=0, alpha=1e-3)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("backend", BACKENDS)
def test_partial_fit_and_warm_start_retrace(digits, backend):
    X, y = digits
    params = dict(hidden_layer_sizes=(20,), random_state=0, solver="sgd", learning_rate_init=0.02)
    theirs = sk.MLPClassifier(**params)
    ours = fs.MLPClassifier(backend=backend, **params)
    for part in np.array_split(np.arange(len(y)), 3):
        theirs.partial_fit(X[part], y[part], classes=np.arange(10))
        ours.partial_fit(X[part], y[part], classes=np.arange(10))
    assert_retraced(theirs, ours, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(warm_start=True, max_iter=3).fit(X, y)
        ours.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert_retraced(theirs, ours, X)


def test_sparse_input_and_float32(digits):
    X, y = digits
    dense = fs.MLPClassifier(hidden_layer_sizes=(10,), max_iter=3, random_state=0)
    sparse = clone(dense)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        sparse.fit(scipy.sparse.csr_matrix(X), y)
        small = clone(dense).set_params(dtype="float32").fit(X, y)
    assert sparse.loss_curve_ == dense.loss_curve_
    np.testing.assert_array_equal(sparse.predict(scipy.sparse.csc_matrix(X)), dense.predict(X))
    assert small.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(small.loss_curve_, dense.loss_curve_, rtol=1e-4)


def test_scikit_learns_errors(digits):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="'solver'"):
        fs.MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'num_threads'"):
        fs.MLPClassifier(num_threads=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'backend'"):
        fs.MLPRegressor(backend="gpu").fit(X, y)
    with pytest.raises(NotFittedError):
        fs.MLPClassifier().predict(X)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        fs.MLPClassifier(hidden_layer_sizes=(5,), max_iter=2).fit(X, y)


@pytest.mark.parametrize("old,new", [("epochs", "max_iter"), ("l2", "alpha"),
                                     ("eta", "learning_rate_init")])
def test_book_keywords_name_their_counterpart(old, new):
    with pytest.raises(TypeError, match="{}= is {}=".format(old, new)):
        fs.MLPClassifier(**{old: 1})
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        fs.MLPRegressor(nope=1)


def test_pipeline_grid_search_and_clone(digits):
    X, y = digits
    searches = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for module in (sk, fs):
            model = module.MLPClassifier(max_iter=5, learning_rate_init=0.01, random_state=0)
            search = GridSearchCV(make_pipeline(StandardScaler(), model),
                                  {"mlpclassifier__hidden_layer_sizes": [(10,), (30,)]}, cv=3)
            searches.append(search.fit(X, y))
    theirs, ours = searches
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-12)
    assert ours.best_score_ > 0.85
    copy = clone(fs.MLPRegressor(loss="poisson", dtype="float32", l1=0.1))
    assert copy.get_params()["loss"] == "poisson" and copy.get_params()["l1"] == 0.1


def test_pickle_carries_a_version(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fs.MLPClassifier(hidden_layer_sizes=(10,), max_iter=2, random_state=0).fit(X, y)
    data = pickle.dumps(clf)
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert clf.__getstate__()["_fastnn_pickle"][0] == fs.PICKLE_FORMAT
    old = fs.PICKLE_FORMAT
    try:
        fs.PICKLE_FORMAT = old + 1          # as a later fastnn would read it
        with pytest.raises(pickle.UnpicklingError, match="pickle format 1.*reads format 2"):
            pickle.loads(data)
    finally:
        fs.PICKLE_FORMAT = old


@parametrize_with_checks([fs.MLPClassifier(max_iter=50), fs.MLPRegressor(max_iter=50)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_older_scikit_learn_is_refused(digits, monkeypatch):
    X, y = digits
    monkeypatch.setattr(fs, "SKLEARN_MINIMUM", (99, 0))
    with pytest.raises(ImportError, match="needs scikit-learn >= 99.0"):
        fs.MLPRegressor().fit(X, y)

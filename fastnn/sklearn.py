"""fastnn's networks as a scikit-learn classifier.

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastnn.sklearn import MLPClassifier
    >>> clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(30,), epochs=10))
    >>> clf.fit(X, y).score(X_test, y_test)

``MLPClassifier`` follows scikit-learn's estimator protocol, so
``GridSearchCV``, ``Pipeline``, ``cross_val_score`` and ``clone`` work with
it as with scikit-learn's own models.  Underneath each fit is one
``fastnn.MLP``: the same kernels and training loop as the rest of fastnn.
The input layer takes the data's features and the output layer has one
neuron per class; labels may be anything scikit-learn accepts as classes
(integers, strings, ...).

Needs the ``sklearn`` extra: ``pip install 'fastnn[sklearn]'``.
"""
import numbers

import numpy as np

from ._extras import require

require("sklearn", "sklearn", "fastnn.sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, check_random_state  # noqa: E402

from ._validation import check_real, check_sizes  # noqa: E402
from .mlp import MLP  # noqa: E402

try:
    from sklearn.utils.validation import validate_data
except ImportError:   # scikit-learn < 1.6 had it as a method
    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **check_params):
        return estimator._validate_data(X, y, reset=reset, **check_params)

__all__ = ["MLPClassifier"]

#: Patience (epochs without a better validation accuracy) of ``early_stopping=True``.
DEFAULT_PATIENCE = 10
_INPUT_DTYPES = (np.float64, np.float32)   # float32 data stays float32 (MLP reads it as it is)


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained by fastnn's mini-batch SGD.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (30,)
        Neurons of each hidden layer; ``()`` for none.  The input layer's
        size comes from ``X``, the output layer's from the number of classes.
    activation : "sigmoid" (default), "tanh", "relu", "linear", "leaky_relu" or "elu"
        The hidden neurons (any name of ``fastnn.activations.HIDDEN``, or an
        ``Activation`` with parameters: ``activations.get("leaky_relu", slope=0.2)``).
    output : "softmax" (default) or "sigmoid"
        The output neurons.  ``predict_proba`` returns softmax outputs as
        they are and sigmoid outputs divided by their sum, so that each row
        sums to one.
    cost : None, "log_likelihood", "cross_entropy", "quadratic" or a cost class
        None picks the one that goes with ``output``: the log-likelihood for
        softmax, the cross-entropy for sigmoid.
    epochs, batch_size, learning_rate, l2, l1, momentum
        As ``fastnn.MLP.fit``: ``l2`` is the book's lambda, ``learning_rate``
        its eta (a number, a callable ``epoch -> eta`` or a
        ``fastnn.HalveOnPlateau``).
    early_stopping : None (default), True or int
        Hold out ``validation_fraction`` of the training data (stratified)
        and stop after that many epochs (``True``: 10) without a better
        accuracy on it, keeping the best epoch's weights.
    validation_fraction : float in (0, 1), default 0.1
    dtype : "float64" (default) or "float32"
    backend : None, "cython" or "numpy"
    random_state : None, int or numpy RandomState
        Seeds the weights, the mini-batch order and the early-stopping split.
        An int ``s`` trains exactly as ``fastnn.MLP(..., seed=s)`` does.
    verbose : bool
        Print each epoch's record.

    Every parameter is stored as given and checked when ``fit`` runs.

    Attributes
    ----------
    classes_ : array of the class labels, sorted
    n_features_in_ : int
    network_ : the trained ``fastnn.MLP``
    history_ : list of dicts, one per epoch trained (``fastnn.MLP.fit``'s
        records, with ``train_cost``; ``val_accuracy`` under early stopping)
    loss_curve_ : list of float, the training cost after each epoch
        (including the regularization terms)
    n_iter_ : int, the epochs trained
    best_validation_score_ : float, the best accuracy on the held-out split
        (with ``early_stopping`` only)
    """

    def __init__(self, hidden_layer_sizes=(30,), activation="sigmoid", output="softmax", cost=None,
                 epochs=30, batch_size=10, learning_rate=0.5, l2=0.0, l1=0.0, momentum=0.0,
                 early_stopping=None, validation_fraction=0.1, dtype="float64", backend=None,
                 random_state=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.l1 = l1
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dtype = dtype
        self.backend = backend
        self.random_state = random_state
        self.verbose = verbose

    # -- training ------------------------------------------------------------

    def fit(self, X, y):
        """Train a new network on ``(X, y)`` for ``epochs`` epochs; return self."""
        X, y = validate_data(self, X, y, dtype=_INPUT_DTYPES)
        classes, labels = _unique(y, "y", return_inverse=True)    # before sklearn sorts them
        check_classification_targets(y)
        self._start(X.shape[1], classes)
        self._train(X, labels, self.epochs, self._patience())
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one more epoch on ``(X, y)``; return self.

        The first call (before any ``fit``) builds the network and needs
        ``classes``, every label that this and later calls may bring: the
        output layer has one neuron per class.  Early stopping does not apply
        here; the momentum's velocities carry over from call to call, as
        from epoch to epoch.
        """
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, dtype=_INPUT_DTYPES, reset=first)
        _unique(y, "y")
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes=, every label the "
                                 "calls will bring (the output layer has one neuron per class)")
            self._start(X.shape[1], _unique(classes, "classes"))
        elif classes is not None and not np.array_equal(_unique(classes, "classes"), self.classes_):
            raise ValueError("classes {} differ from those of the first call, {}".format(
                np.unique(classes), self.classes_))
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError("y holds labels not among classes {}: {}".format(
                self.classes_, np.unique(y[~known])))
        self._train(X, np.searchsorted(self.classes_, y), 1, None)
        return self

    def _start(self, n_features, classes):
        """A new, untrained network for ``n_features`` inputs and ``classes``."""
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs at least 2 classes to learn from; y holds 1 class "
                             "({!r})".format(classes[0] if len(classes) else None))
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
        sizes = check_sizes([n_features] + hidden + [len(classes)])
        cost = self.cost
        if cost is None:
            cost = "log_likelihood" if self.output == "softmax" else "cross_entropy"
        self._seed = self._draw_seed()
        self.network_ = MLP(sizes, activation=self.activation, output=self.output, cost=cost,
                            dtype=self.dtype, backend=self.backend, seed=self._seed)
        self.classes_ = classes
        self.history_ = []
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.__dict__.pop("best_validation_score_", None)   # from an earlier fit's early stopping

    def _draw_seed(self):
        """An int for ``MLP(seed=...)``: ``random_state`` itself when it is
        one, else a draw from scikit-learn's usual RandomState."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _patience(self):
        stop = self.early_stopping
        if stop is None or stop is False:
            return None
        if stop is True:
            return DEFAULT_PATIENCE
        if not isinstance(stop, numbers.Integral) or stop < 1:
            raise ValueError("early_stopping must be None, True or a patience >= 1 (epochs), "
                             "not {!r}".format(stop))
        return int(stop)

    def _train(self, X, labels, epochs, patience):
        validation = None
        if patience is not None:
            X, labels, validation = self._hold_out(X, labels)
        done = len(self.network_.history)
        records = self.network_.fit(
            X, labels, epochs=epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            l2=self.l2, l1=self.l1, momentum=self.momentum, validation_data=validation,
            early_stopping=patience, monitor_training=True, verbose=bool(self.verbose))[done:]
        self.history_.extend(dict(record) for record in records)   # numbered on by the network
        self.loss_curve_ = [record["train_cost"] for record in self.history_]
        self.n_iter_ = len(self.history_)
        if validation is not None and records:
            self.best_validation_score_ = max(r["val_accuracy"] for r in records)

    def _hold_out(self, X, labels):
        """Split off ``validation_fraction`` of the rows, stratified by class
        when every class has at least two rows, under the network's seed."""
        fraction = check_real(self.validation_fraction, "validation_fraction")
        if not 0 < fraction < 1:
            raise ValueError("validation_fraction must be in (0, 1), got {}".format(fraction))
        rng = np.random.default_rng([self._seed, 1])
        held = []
        counts = np.bincount(labels, minlength=len(self.classes_))
        groups = [np.flatnonzero(labels == c) for c in range(len(self.classes_))] \
            if counts.min() >= 2 else [np.arange(len(labels))]
        for rows in groups:
            take = min(len(rows) - 1, max(1, int(round(fraction * len(rows)))))
            held.append(rng.permutation(rows)[:take])
        held = np.sort(np.concatenate(held))
        if len(held) == 0 or len(held) == len(labels):
            raise ValueError("early_stopping needs more rows: {} cannot be split into training and "
                             "validation data".format(len(labels)))
        keep = np.ones(len(labels), dtype=bool)
        keep[held] = False
        return X[keep], labels[keep], (X[held], labels[held])

    # -- prediction ----------------------------------------------------------

    def predict_proba(self, X):
        """Each row's probability of each class (columns in ``classes_``' order)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_INPUT_DTYPES, reset=False)
        outputs = self.network_.predict_proba(X)
        if self.network_.output != "softmax":
            outputs = outputs / np.maximum(outputs.sum(axis=1, keepdims=True), np.finfo(outputs.dtype).tiny)
        return outputs

    def predict(self, X):
        """The most probable class of each row."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _unique(labels, name, return_inverse=False):
    """``np.unique`` of class labels, which sorts them: labels of types that
    cannot be ordered together (a None among strings, say) raise ValueError
    naming ``name`` instead of the TypeError of the sort."""
    try:
        return np.unique(labels, return_inverse=return_inverse)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in np.asarray(labels, dtype=object).ravel()})
        raise ValueError("{} mixes labels of types that cannot be sorted together ({}): give "
                         "every label the same type".format(name, ", ".join(kinds))) from None

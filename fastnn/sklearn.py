"""fastnn's networks as scikit-learn estimators.

``MLPClassifier`` and ``MLPRegressor`` are scikit-learn's
``sklearn.neural_network`` estimators of the same names, trained by
fastnn's kernels: change one import and keep the code.

    >>> from fastnn.sklearn import MLPClassifier     # was: from sklearn.neural_network
    >>> clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X, y)

They take scikit-learn's parameters with its names, defaults and checks,
have its fitted attributes and methods, and with the same data, parameters
and ``random_state`` (float64) retrace its training: the same initial
weights, shuffles and early-stopping split, drawn by its own utilities in
its order, the same losses, steps, schedules and stopping rules.  fastnn's
own settings come after scikit-learn's, as keywords: ``dtype``, ``l1``,
``backend`` and ``num_threads``.

``BookMLPClassifier`` is fastnn's first estimator, with the book's
parameters (``epochs``, ``l2``, ``learning_rate`` as eta, sigmoid hidden
neurons):

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastnn.sklearn import BookMLPClassifier
    >>> clf = make_pipeline(StandardScaler(), BookMLPClassifier(hidden_layer_sizes=(30,), epochs=10))
    >>> clf.fit(X, y).score(X_test, y_test)

``BookMLPClassifier`` follows scikit-learn's estimator protocol, so
``GridSearchCV``, ``Pipeline``, ``cross_val_score`` and ``clone`` work with
it as with scikit-learn's own models.  Underneath each fit is one
``fastnn.MLP``: the same kernels and training loop as the rest of fastnn.
The input layer takes the data's features and the output layer has one
neuron per class; labels may be anything scikit-learn accepts as classes
(integers, strings, ...).

Needs the ``sklearn`` extra: ``pip install 'fastnn[sklearn]'``.
"""
import inspect
import numbers
import pickle
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse

from ._extras import require

require("sklearn", "sklearn", "fastnn.sklearn")

from sklearn import neural_network as _sk  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, check_random_state  # noqa: E402

from . import _version, costs, optimizers, trainer  # noqa: E402
from ._validation import check_real, check_sizes  # noqa: E402
from .mlp import MLP  # noqa: E402
from .optimizers import Schedule  # noqa: E402

try:
    from sklearn.utils.validation import validate_data
except ImportError:   # scikit-learn < 1.6 had it as a method
    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **check_params):
        return estimator._validate_data(X, y, reset=reset, **check_params)

__all__ = ["MLPClassifier", "MLPRegressor", "BookMLPClassifier"]

#: Patience (epochs without a better validation accuracy) of ``early_stopping=True``.
DEFAULT_PATIENCE = 10
_INPUT_DTYPES = (np.float64, np.float32)   # float32 data stays float32 (MLP reads it as it is)


class BookMLPClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained by fastnn's mini-batch SGD, with the
    book's parameters (``MLPClassifier`` has scikit-learn's).

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
            raise ValueError("BookMLPClassifier needs at least 2 classes to learn from; y holds 1 class "
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


# -- scikit-learn's MLPClassifier and MLPRegressor, trained by fastnn ---------------

#: The oldest scikit-learn whose MLPs these follow: they replace its solvers
#: and call the methods around them (written against 1.9's).
SKLEARN_MINIMUM = (1, 9)

#: The version of the pickled form of ``MLPClassifier``/``MLPRegressor``:
#: a fastnn that reads another refuses it with a clear error.
PICKLE_FORMAT = 1

#: scikit-learn's names of the hidden activations, and fastnn's.
_HIDDEN = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: scikit-learn's output activations: fastnn's output layer and cost for each.
_OUTPUT = {"softmax": ("softmax", costs.LogLikelihoodCost),
           "logistic": ("sigmoid", costs.CrossEntropyCost),
           "identity": ("linear", costs.SquaredErrorCost),
           "exp": ("exp", costs.PoissonCost)}
#: The book-style keywords of BookMLPClassifier and fastnn.MLP, and what
#: scikit-learn calls them.
_OLD_KEYWORDS = {"epochs": "max_iter", "l2": "alpha", "lmbda": "alpha", "eta": "learning_rate_init",
                 "mini_batch_size": "batch_size", "seed": "random_state",
                 "output": "(none: the output layer follows the targets, out_activation_)",
                 "cost": "loss (MLPRegressor) or none (MLPClassifier: log_loss)"}


class _RefuseBookKeywords(type(_sk.MLPClassifier)):
    """Makes a book-style keyword (``epochs=``, ``l2=``, ...) a TypeError
    naming scikit-learn's counterpart, before ``__init__`` (whose signature
    scikit-learn reads, and which must take its parameters only) would
    refuse it without saying more."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        # what inspect.signature shows for the class: __init__'s, not __call__'s
        init = inspect.signature(cls.__init__)
        cls.__signature__ = init.replace(parameters=list(init.parameters.values())[1:])

    def __call__(cls, *args, **kwargs):
        for name in kwargs:
            if name in _OLD_KEYWORDS:
                raise TypeError("{}() takes scikit-learn's parameters: {}= is {}= here (the "
                                "book's parameters are BookMLPClassifier's)".format(
                                    cls.__name__, name, _OLD_KEYWORDS[name]))
        return super().__call__(*args, **kwargs)


class _Rate(object):
    """scikit-learn's learning rate for 'sgd' as it changes between epochs:
    'invscaling' recomputes it from ``t_`` at each epoch's end, 'adaptive'
    divides it by 5 when training stops improving.  Adam's stays at
    ``learning_rate_init`` (its step size folds in the bias corrections)."""

    def __init__(self, init, schedule, power_t, solver):
        self.init, self.value = float(init), float(init)
        self.schedule, self.power_t, self.solver = schedule, power_t, solver

    def epoch_ends(self, t):
        if self.solver == "sgd" and self.schedule == "invscaling":
            self.value = self.init / (t + 1) ** self.power_t

    def stops(self, message, verbose):
        """True to stop after ``n_iter_no_change`` epochs without improvement,
        False after dividing an 'adaptive' rate by 5."""
        if self.solver != "sgd" or self.schedule != "adaptive":
            if verbose:
                print(message + " Stopping.")
            return True
        if self.value <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.value /= 5.0
        if verbose:
            print(message + " Setting learning rate to %f" % self.value)
        return False


class _FastnnSolvers(object):
    """What fastnn changes in scikit-learn's MLPs: the solvers.  Everything
    else (parameters and their checks, the initial weights, the targets'
    encoding, prediction, scoring, the early-stopping score and its
    bookkeeping) is scikit-learn's own, inherited.

    The network's arrays are fastnn's: ``weights[l]`` is ``(n_out, n_in)``
    and C-contiguous, and ``coefs_[l]`` is its transpose, a view, so the
    kernels' steps show in ``coefs_`` at once."""

    _fastnn_parameter_constraints = {
        "dtype": [StrOptions({"float32", "float64"}), None],
        "l1": [Interval(Real, 0, None, closed="left")],
        "backend": [StrOptions({"cython", "numpy"}), None],
        "num_threads": [Interval(Integral, 1, None, closed="left")],
    }

    # -- the data -------------------------------------------------------------

    def _network_dtype(self, X):
        return np.dtype(self.dtype) if self.dtype is not None else X.dtype

    def _validate_input(self, X, y, incremental, reset):
        _check_sklearn_version(type(self).__name__)
        X, y = super()._validate_input(X, y, incremental, reset)
        if self.dtype is not None and X.dtype != np.dtype(self.dtype):
            X = X.astype(self.dtype)
        return X, y

    def _rows(self, X, dtype):
        """``X`` as the kernels take it: dense, C-contiguous rows of the
        network's dtype (a float64 network also reads float32 rows)."""
        if scipy.sparse.issparse(X):
            X = X.toarray()
        if X.dtype != dtype and not (dtype == np.float64 and X.dtype == np.float32):
            X = X.astype(dtype)
        return np.ascontiguousarray(X)

    def _spec(self):
        output, cost = _OUTPUT[self.out_activation_]
        return trainer.Spec(_HIDDEN[self.activation], output, cost)

    def _kernels(self):
        spec = self._spec()
        kernels = trainer.kernels(self.backend)
        if kernels is not trainer.kernels("numpy"):
            spec.check_compiled()
        return spec, kernels

    def _fastnn_weights(self):
        """The layers' weights in fastnn's layout, and the biases, as arrays
        the kernels update in place; ``coefs_`` and ``intercepts_`` become
        views of them."""
        weights, biases = [], []
        for l, (c, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            w = np.ascontiguousarray(c.T)           # no copy when coefs_[l] is one of ours
            b = np.ascontiguousarray(b)
            self.coefs_[l], self.intercepts_[l] = w.T, b
            weights.append(w)
            biases.append(b)
        return weights, biases

    # -- 'sgd' and 'adam' -----------------------------------------------------

    def _fit_stochastic(self, X, y, sample_weight, activations, deltas, coef_grads,
                        intercept_grads, layer_units, incremental):
        dtype = self.coefs_[0].dtype
        weights, biases = self._fastnn_weights()
        if not incremental or not hasattr(self, "_fastnn_step"):
            if self.solver == "sgd":
                optimizer = optimizers.SGD(self.momentum, nesterov=self.nesterovs_momentum)
            else:
                optimizer = optimizers.Adam((self.beta_1, self.beta_2), self.epsilon,
                                            form="sklearn")
            self._fastnn_step = optimizers.Step.for_parameters(
                list(zip(weights, biases)), X.shape[0], l1=self.l1, optimizer=optimizer,
                alpha=self.alpha)
            self._fastnn_rate = _Rate(self.learning_rate_init, self.learning_rate, self.power_t,
                                      self.solver)
        step, rate = self._fastnn_step, self._fastnn_rate

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        X_val = y_val = sw_val = None
        X_train, y_train, sw_train = X, y, sample_weight
        if early_stopping:
            # the split scikit-learn makes, from the same generator, in the same order
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            parts = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X_train, X_val, y_train, y_val = parts[:4]
            if sample_weight is not None:
                sw_train, sw_val = parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        spec, kernels = self._kernels()
        order = [np.arange(n_samples, dtype=np.intp)]

        def next_order():
            # scikit-learn shuffles its index array each epoch (composing the orders)
            # with sklearn.utils.shuffle, which permutes an arange with the generator's
            # shuffle and indexes by it: the same draws here, without that utility's
            # input checks (a millisecond an epoch, 12% of one on load_digits)
            if self.shuffle:
                perm = np.arange(n_samples)
                self._random_state.shuffle(perm)
                order[0] = order[0][perm]
            return order[0]

        engine = trainer.DenseEngine(kernels, weights, biases, self._rows(X_train, dtype),
                                     np.ascontiguousarray(y_train, dtype=dtype), batch_size, spec,
                                     step, next_order)
        engine.num_threads = self.num_threads
        engine.losses = np.zeros(engine.batches)
        sizes = np.full(engine.batches, float(batch_size))
        sizes[-1] = n_samples - batch_size * (engine.batches - 1)
        if sw_train is not None:
            engine.sample_weight = np.ascontiguousarray(sw_train, dtype=np.float64)
        self.n_iter_ = 0

        def after_epoch(epoch, eta):
            # scikit-learn's end of an epoch: its loss, its stopping rules
            self.n_iter_ += 1
            self.loss_ = float(np.dot(engine.losses, sizes)) / n_samples
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
            self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
            rate.epoch_ends(self.t_)
            if self._no_improvement_count > self.n_iter_no_change:
                if early_stopping:
                    message = ("Validation score did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                else:
                    message = ("Training loss did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                if rate.stops(message, self.verbose):
                    return False
                self._no_improvement_count = 0
            if incremental:
                return False
            if self.n_iter_ == self.max_iter:
                warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                              "optimization hasn't converged yet." % self.max_iter,
                              ConvergenceWarning)
            return None

        try:
            trainer.run(engine, self.max_iter, Schedule(lambda epoch: rate.value),
                        after_epoch=after_epoch)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        except trainer.TrainingDiverged as exc:
            raise ValueError("Solver produced non-finite parameter weights ({}). The input data "
                             "may contain large values and need to be preprocessed, or the "
                             "learning rate is too large.".format(exc)) from None
        if early_stopping:
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    # -- 'lbfgs' --------------------------------------------------------------

    def _fit_lbfgs(self, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads,
                   layer_units):
        dtype = self.coefs_[0].dtype
        spec, kernels = self._kernels()
        X = self._rows(X, dtype)
        if X.dtype != dtype:
            X = X.astype(dtype)
        Y = np.ascontiguousarray(y, dtype=dtype)
        sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, np.float64)
        shapes = [c.shape for c in self.coefs_]         # (n_in, n_out), scikit-learn's
        cuts = np.cumsum([0] + [a * b for a, b in shapes] + [b for _, b in shapes])
        L = len(shapes)

        def unpack(x):
            weights = [np.ascontiguousarray(x[cuts[l]:cuts[l + 1]].reshape(shapes[l]).T,
                                            dtype=dtype) for l in range(L)]
            biases = [np.ascontiguousarray(x[cuts[L + l]:cuts[L + l + 1]], dtype=dtype)
                      for l in range(L)]
            return weights, biases

        def loss_and_gradient(x):
            weights, biases = unpack(x)
            loss, nabla_b, nabla_w = kernels.loss_gradient(weights, biases, X, Y, spec,
                                                           self.alpha, sw)
            # packed as scikit-learn packs its parameters: coefs (n_in, n_out), then intercepts
            return loss, np.concatenate([nw.T.ravel() for nw in nabla_w] + nabla_b)

        start = np.concatenate([c.ravel() for c in self.coefs_] +
                               [b.ravel() for b in self.intercepts_])
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        with trainer.one_blas_thread():
            result = scipy.optimize.minimize(loss_and_gradient, start, method="L-BFGS-B",
                                             jac=True, options=options)
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = result.fun
        weights, biases = unpack(result.x)
        self.coefs_ = [w.T for w in weights]
        self.intercepts_ = biases

    # -- pickling across fastnn versions --------------------------------------

    def __getstate__(self):
        state = super().__getstate__()
        state["_fastnn_pickle"] = (PICKLE_FORMAT, _version.__version__)
        return state

    def __setstate__(self, state):
        fmt, version = state.pop("_fastnn_pickle", (None, "unknown"))
        if fmt != PICKLE_FORMAT:
            raise pickle.UnpicklingError(
                "this {} was pickled by fastnn {} (pickle format {}); fastnn {} reads format {} "
                "only: load it with that fastnn, or train it again".format(
                    type(self).__name__, version, fmt, _version.__version__, PICKLE_FORMAT))
        super().__setstate__(state)


def _check_sklearn_version(name):
    """An ImportError, before training, under a scikit-learn older than the
    one whose MLP internals these estimators follow."""
    import sklearn
    found = tuple(int(part) for part in sklearn.__version__.split(".")[:2] if part.isdigit())
    if found < SKLEARN_MINIMUM:
        raise ImportError("fastnn.sklearn.{} needs scikit-learn >= {}.{} (it trains scikit-learn's "
                          "own estimator, following that version's solvers); found {}: upgrade "
                          "scikit-learn, or use BookMLPClassifier".format(
                              name, SKLEARN_MINIMUM[0], SKLEARN_MINIMUM[1], sklearn.__version__))


def _check_optimize_result(solver, result, max_iter):
    """scikit-learn's reading of a scipy result: the iterations it took, and a
    ConvergenceWarning when it stopped without converging."""
    from sklearn.utils.optimize import _check_optimize_result as check
    return check(solver, result, max_iter)


class MLPClassifier(_FastnnSolvers, _sk.MLPClassifier, metaclass=_RefuseBookKeywords):
    """scikit-learn's ``sklearn.neural_network.MLPClassifier``, trained by fastnn.

    Every parameter before ``dtype`` is scikit-learn's, with its default and
    meaning (see its documentation); so are the fitted attributes
    (``classes_``, ``coefs_``, ``intercepts_``, ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
    ``t_``, ``n_iter_``, ``n_layers_``, ``n_outputs_``, ``out_activation_``,
    ``n_features_in_``, ``feature_names_in_``) and the methods.  fastnn's own:

    dtype : None (default), "float32" or "float64"
        The network's dtype; None: the data's, as scikit-learn (float32 data
        trains in float32, anything else in float64).
    l1 : float >= 0, default 0
        An L1 penalty as fastnn's other front ends apply it (``l1/n`` per
        step, ``n`` the training rows); not part of ``loss_``.
    backend : None, "cython" or "numpy"
        fastnn's kernels (None: the process's default).
    num_threads : int >= 1, default 1
        Threads the compiled kernels may split a mini-batch across.
    """

    _parameter_constraints = {**_sk.MLPClassifier._parameter_constraints,
                              **_FastnnSolvers._fastnn_parameter_constraints}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, l1=0.0, backend=None, num_threads=1):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)
        self.dtype = dtype
        self.l1 = l1
        self.backend = backend
        self.num_threads = num_threads


class MLPRegressor(_FastnnSolvers, _sk.MLPRegressor, metaclass=_RefuseBookKeywords):
    """scikit-learn's ``sklearn.neural_network.MLPRegressor``, trained by fastnn.

    Every parameter before ``dtype`` is scikit-learn's, with its default and
    meaning (``loss='squared_error'`` or ``'poisson'``), and so are the
    fitted attributes and methods; ``dtype``, ``l1``, ``backend`` and
    ``num_threads`` are fastnn's, as ``MLPClassifier``'s.
    """

    _parameter_constraints = {**_sk.MLPRegressor._parameter_constraints,
                              **_FastnnSolvers._fastnn_parameter_constraints}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, l1=0.0, backend=None, num_threads=1):
        super().__init__(
            loss=loss, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)
        self.dtype = dtype
        self.l1 = l1
        self.backend = backend
        self.num_threads = num_threads

"""fastnn's array API: the book's networks for people not following the book.

    >>> from fastnn import MLP
    >>> from fastnn.datasets import load_mnist
    >>> (X, y), (X_val, y_val), _ = load_mnist()
    >>> net = MLP([784, 30, 10], seed=0)
    >>> history = net.fit(X, y, epochs=10, batch_size=10, learning_rate=0.5,
    ...                   l2=5.0, validation_data=(X_val, y_val))
    >>> net.score(X_val, y_val)
    0.96...

Data is one example per row, as in scikit-learn and PyTorch: ``X`` is
``(n_samples, n_features)`` and ``y`` either integer class labels ``(n,)`` or
target vectors ``(n, n_outputs)``.  Training runs the same trainer and
kernels as the drop-in modules.  ``X`` that already is a C-contiguous array
of the network's dtype, or float32 for a float64 network, is used as it is,
never copied (the kernels convert float32 rows exactly as they read them).
"""
import time

import numpy as np

from . import _serialize, trainer
from ._config import check_backend
from ._validation import (as_array, as_float_matrix, check_dtype, check_epochs, check_labels,
                          check_positive_int, check_real, check_sizes, check_finite, one_hot)
from .costs import cost_class, kernel_code


class MLP(object):
    """A fully connected network of sigmoid neurons trained by mini-batch SGD.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first: ``[784, 30, 10]``.
    cost : ``"cross_entropy"`` (default), ``"quadratic"``, or a cost class
        with ``fn`` and ``delta`` (other classes need ``backend="numpy"``).
    init : ``"default"`` (weights N(0, 1/fan_in), the book's chapter 3) or
        ``"large"`` (N(0, 1), chapter 1).  Biases are N(0, 1).
    dtype : float32 or float64 (default).  float32 is about twice as fast.
    backend : ``"cython"`` or ``"numpy"``; ``None`` follows ``fastnn.set_backend``.
    seed : seed of the generator used for initialization and shuffling
        (``numpy.random.default_rng(seed)``); ``None`` draws a fresh one.

    Attributes
    ----------
    weights : list of arrays, layer ``l`` of shape ``(sizes[l], sizes[l-1])``
    biases : list of arrays of shape ``(sizes[l],)``
    history : list of dicts, one per epoch of the last ``fit``
    """

    def __init__(self, sizes, cost="cross_entropy", init="default", dtype=np.float64,
                 backend=None, seed=None):
        self.sizes = check_sizes(sizes)
        self.cost = cost_class(cost)
        if not isinstance(init, str) or init not in ("default", "large"):
            raise ValueError("init must be 'default' or 'large', not {!r}".format(init))
        self.init = init
        self.dtype = check_dtype(dtype)
        self.backend = None if backend is None else check_backend(backend)
        try:
            self.rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError("seed must be None or a whole number >= 0, not {!r}".format(seed)) from None
        self.biases = [self.rng.standard_normal(y).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [
            (self.rng.standard_normal((y, x)) / (np.sqrt(x) if init == "default" else 1.0)).astype(self.dtype)
            for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.history = []

    def __repr__(self):
        return "MLP(sizes={}, cost={}, dtype={}, backend={!r})".format(
            self.sizes, self.cost.__name__, np.dtype(self.dtype).name, self.backend)

    # -- training ------------------------------------------------------------

    def fit(self, X, y, epochs=30, batch_size=10, learning_rate=0.5, l2=0.0,
            validation_data=None, monitor_training=False, shuffle=True, verbose=False,
            on_epoch=None):
        """Train for ``epochs`` epochs of mini-batch SGD; return ``self.history``.

        ``l2`` is the book's regularization parameter lambda: each step
        scales the weights by ``1 - learning_rate*l2/n``.  Each epoch appends
        a dict to the history with ``epoch`` and ``seconds`` (training time);
        with ``validation_data=(X_val, y_val)`` also ``val_cost`` and
        ``val_accuracy``; with ``monitor_training`` also ``train_cost`` and
        ``train_accuracy`` (an extra pass over the training set).  The
        training order is reshuffled each epoch from the network's seeded
        generator unless ``shuffle=False``.  ``verbose`` prints each record;
        ``on_epoch(record)``, when given, is called with each one.
        """
        epochs = check_epochs(epochs)
        batch_size = check_positive_int(batch_size, "batch_size")
        eta = check_real(learning_rate, "learning_rate")
        lmbda = check_real(l2, "l2")
        kernels = self._kernels()
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        Y = self._targets(y, len(X), "y")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a pair (X_val, y_val), not {}".format(
                    type(validation_data).__name__))
            X_val, Y_val = validation_data
            X_val = as_float_matrix(X_val, self.sizes[0], self.dtype, "validation X", inputs=True)
            Y_val = self._targets(Y_val, len(X_val), "validation y")
        self._check_parameters()
        n = len(X)
        order = (lambda: self.rng.permutation(n)) if shuffle else (lambda: np.arange(n))
        self.history = []
        started = [time.perf_counter()]

        def record(epoch):
            entry = {"epoch": epoch, "seconds": time.perf_counter() - started[0]}
            if monitor_training:
                entry["train_cost"] = self._cost_of(kernels, X, Y, lmbda)
                entry["train_accuracy"] = self._accuracy_of(kernels, X, Y)
            if validation_data is not None:
                entry["val_cost"] = self._cost_of(kernels, X_val, Y_val, lmbda)
                entry["val_accuracy"] = self._accuracy_of(kernels, X_val, Y_val)
            self.history.append(entry)
            if on_epoch is not None:
                on_epoch(entry)
            if verbose:
                print("epoch {}/{}: {:.2f} s".format(epoch + 1, epochs, entry["seconds"]) + "".join(
                    "  {} {:.4f}".format(k, v) for k, v in entry.items() if k not in ("epoch", "seconds")))
            started[0] = time.perf_counter()

        trainer.sgd(kernels, self.weights, self.biases, X, Y, epochs, batch_size, eta, lmbda,
                    self.cost, order, record)
        return self.history

    # -- prediction ----------------------------------------------------------

    def predict_proba(self, X):
        """The output layer's activations, ``(n, sizes[-1])``."""
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        self._check_parameters()
        return self._kernels().feedforward(self.weights, self.biases, X)

    def predict(self, X):
        """The index of the most active output neuron for each row of ``X``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y):
        """The fraction of rows classified correctly (``y``: labels or one-hot)."""
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        self._check_parameters()
        return self._accuracy_of(self._kernels(), X, self._targets(y, len(X), "y"))

    def cost_of(self, X, y, l2=0.0):
        """The book's total cost on ``(X, y)``: mean cost plus the L2 term."""
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        self._check_parameters()
        return self._cost_of(self._kernels(), X, self._targets(y, len(X), "y"), check_real(l2, "l2"))

    # -- saving --------------------------------------------------------------

    def save(self, filename):
        """Write the network to ``filename`` atomically, in the book's JSON
        format (so ``fastnn.network2.load`` and the book's program read it)."""
        self._check_parameters()
        _serialize.save(filename, self.sizes, self.weights, self.biases, self.cost.__name__,
                        dtype=np.dtype(self.dtype).name)

    @classmethod
    def load(cls, filename, backend=None, dtype=None):
        """Read a network saved by ``MLP.save`` or by the book's ``network2``."""
        sizes, weights, biases, cost, data = _serialize.load(filename)
        if dtype is None:
            try:
                dtype = check_dtype(data.get("dtype", "float64"))
            except TypeError as exc:
                raise ValueError("{!r} is not a valid saved network: {}".format(str(filename), exc)) from None
        dtype = check_dtype(dtype)
        net = cls.__new__(cls)
        net.sizes, net.cost, net.init, net.dtype = sizes, cost, "default", dtype
        net.backend = None if backend is None else check_backend(backend)
        net.rng = np.random.default_rng()
        net.weights = [w.astype(dtype) for w in weights]
        net.biases = [b.reshape(-1).astype(dtype) for b in biases]
        net.history = []
        return net

    # -- helpers -------------------------------------------------------------

    def _kernels(self):
        kernels = trainer.kernels(self.backend)
        if kernels is not trainer.kernels("numpy"):
            kernel_code(self.cost)
        return kernels

    def _targets(self, y, n, name):
        """Labels become one-hot rows of the network's dtype; target rows are checked."""
        y = as_array(y, name)
        n_out = self.sizes[-1]
        if y.ndim == 1:
            return one_hot(check_labels(y, n, n_out, name), n_out, self.dtype)
        if y.shape != (n, n_out):
            raise ValueError("{} must be labels of shape ({},) or targets of shape ({}, {}), got {}".format(
                name, n, n, n_out, y.shape))
        if y.dtype.kind not in "biuf":
            raise TypeError("{} must be numeric, got {}".format(name, y.dtype))
        y = np.ascontiguousarray(y, dtype=self.dtype)
        check_finite(y, name)
        return y

    def _check_parameters(self):
        """Parameters assigned from outside must still fit: shape, dtype, layout, finite."""
        layers = len(self.sizes) - 1
        if len(self.weights) != layers or len(self.biases) != layers:
            raise ValueError("sizes {} need {} weights and biases arrays; the network has {} weights "
                             "and {} biases".format(self.sizes, layers, len(self.weights), len(self.biases)))
        for l, (w, b, x, yy) in enumerate(zip(self.weights, self.biases, self.sizes[:-1], self.sizes[1:])):
            if w.shape != (yy, x) or b.shape != (yy,):
                raise ValueError("layer {}: weights {} and biases {} do not fit sizes {}".format(
                    l + 1, w.shape, b.shape, self.sizes))
            self.weights[l] = np.ascontiguousarray(w, dtype=self.dtype)
            self.biases[l] = np.ascontiguousarray(b, dtype=self.dtype)
            check_finite(self.weights[l], "weights[{}]".format(l))
            check_finite(self.biases[l], "biases[{}]".format(l))

    def _cost_of(self, kernels, X, Y, lmbda):
        outputs = kernels.feedforward(self.weights, self.biases, X)
        total = self.cost.fn(outputs, Y) / len(X)
        total += 0.5 * (lmbda / len(X)) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return float(total)

    def _accuracy_of(self, kernels, X, Y):
        outputs = kernels.feedforward(self.weights, self.biases, X)
        return float(np.mean(np.argmax(outputs, axis=1) == np.argmax(Y, axis=1)))

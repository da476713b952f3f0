"""What the drop-in ``network`` and ``network2`` modules share.

The book keeps its data as Python lists of ``(x, y)`` column pairs and its
parameters as lists of arrays.  ``BookNetwork`` keeps those attributes
(``sizes``, ``num_layers``, ``weights``, ``biases``) exactly as the book does,
converts the lists to contiguous arrays once per call, and hands the arrays
to the kernels.  Assigning new arrays to ``weights`` or ``biases`` between
calls takes effect at the next call, as in the book.
"""
import numpy as np

from . import trainer
from ._config import check_backend
from ._validation import as_array, check_finite, check_labels, check_real, check_sizes


class BookNetwork(object):

    def __init__(self, sizes, backend=None):
        self.sizes = check_sizes(sizes)
        self.num_layers = len(self.sizes)
        self.backend = None if backend is None else check_backend(backend)

    # -- parameters ----------------------------------------------------------

    def _parameters(self, fresh):
        """Validated float64 copies of ``weights`` and ``biases`` for the kernels.

        With ``fresh`` the arrays are new (training updates them in place and
        they become ``self.weights``/``self.biases``: like the book, a call
        that trains leaves the caller's old arrays untouched).  Returns the
        weights and the biases as 1-D views of the (y, 1) columns.
        """
        for name in ("weights", "biases"):
            if len(getattr(self, name)) != self.num_layers - 1:
                raise ValueError("net.{} has {} arrays; a network of sizes {} needs {}".format(
                    name, len(getattr(self, name)), self.sizes, self.num_layers - 1))
        weights, biases = [], []
        for l, (w, b, x, y) in enumerate(zip(self.weights, self.biases, self.sizes[:-1], self.sizes[1:]), 1):
            w = np.array(w, dtype=np.float64, order="C", copy=True if fresh else None)
            b = np.array(b, dtype=np.float64, order="C", copy=True if fresh else None)
            if w.shape != (y, x):
                raise ValueError("net.weights[{}] has shape {}; sizes {} need ({}, {})".format(
                    l-1, w.shape, self.sizes, y, x))
            if b.shape not in ((y, 1), (y,)):
                raise ValueError("net.biases[{}] has shape {}; sizes {} need ({}, 1)".format(
                    l-1, b.shape, self.sizes, y))
            check_finite(w, "net.weights[{}]".format(l-1))
            check_finite(b, "net.biases[{}]".format(l-1))
            weights.append(w)
            biases.append(b.reshape(y, 1))
        if fresh:
            self.weights, self.biases = weights, biases
        return weights, [b.reshape(-1) for b in biases]

    def _kernels(self):
        return trainer.kernels(self.backend)

    # -- the book's lists, as arrays ------------------------------------------

    def _arrays(self, data, name, targets):
        """Convert a list of (x, y) pairs, once, into arrays for the kernels.

        Returns ``(X, Y)``: X is (n, sizes[0]), float32 when every x is
        float32 (as mnist_loader's are: the kernels convert each row exactly,
        as they use it, and no float64 copy is held), else float64.  With ``targets ==
        "vector"`` each y is a (sizes[-1], 1) vector and Y is (n, sizes[-1]);
        with ``"label"`` each y is an integer digit and Y is an (n,) array of
        them; with ``"argmax"`` each y is a vector and Y holds their argmax
        (the book's ``convert=True``).
        """
        xs, ys = _split_pairs(data, name)
        n_in, n_out = self.sizes[0], self.sizes[-1]
        X = _stack(xs, n_in, name + " inputs", "({}, 1)".format(n_in))
        check_finite(X, name + " inputs")
        if targets == "label":
            for i, y in enumerate(ys):
                if np.ndim(y) != 0:
                    raise ValueError("{}[{}] has a label of shape {}; expected an integer class "
                                     "label here".format(name, i, np.shape(y)))
            return X, check_labels(np.array(ys), len(ys), n_out, name + " labels")
        Y = _stack(ys, n_out, name + " targets", "({}, 1) (a vectorized result)".format(n_out))
        Y = Y.astype(np.float64, copy=False)        # targets have the network's dtype
        check_finite(Y, name + " targets")
        if targets == "argmax":
            return X, np.argmax(Y, axis=1)
        return X, Y

    # -- shared steps ------------------------------------------------------------

    def _feedforward(self, a):
        weights, biases = self._parameters(fresh=False)
        a = as_array(a, "feedforward input")
        if a.dtype.kind not in "biuf":
            raise TypeError("feedforward input must be numeric, got an array of {}".format(a.dtype))
        a = a.astype(np.float64, copy=False)
        if a.shape[:1] != (self.sizes[0],) or a.ndim > 2 or a.size == 0:
            raise ValueError("feedforward expects an input of shape ({}, 1), got {}".format(
                self.sizes[0], a.shape))
        X = np.ascontiguousarray(a.reshape(self.sizes[0], -1).T)
        check_finite(X, "feedforward input")
        out = self._kernels().feedforward(weights, biases, X)
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def _count_correct(self, X, labels, weights=None, biases=None):
        if weights is None:
            weights, biases = self._parameters(fresh=False)
        outputs = self._kernels().feedforward(weights, biases, X)
        return int(np.sum(np.argmax(outputs, axis=1) == labels))

    def _backprop(self, x, y, cost):
        weights, biases = self._parameters(fresh=False)
        X, Y = self._arrays([(x, y)], "backprop", "vector")
        nabla_b, nabla_w = self._kernels().backprop(weights, biases, X, Y, cost)
        return [nb.reshape(-1, 1) for nb in nabla_b], list(nabla_w)

    def _update_mini_batch(self, mini_batch, eta, lmbda, n, cost):
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        X, Y = self._arrays(mini_batch, "mini_batch", "vector")
        weights, biases = self._parameters(fresh=True)
        self._kernels().update_mini_batch(weights, biases, X, Y, eta, lmbda, n, cost)
        trainer.check_not_diverged(weights, biases, 0)


def given(data, name):
    """The book's ``if test_data:`` for optional data, with an error of ours
    for data whose truth is ambiguous (an array, say) rather than numpy's."""
    try:
        return bool(data)
    except (TypeError, ValueError):
        raise TypeError("{} must be a list of (x, y) pairs, not {}".format(name, type(data).__name__)) from None


def _split_pairs(data, name):
    """The xs and the ys of a non-empty sequence of (x, y) pairs."""
    if isinstance(data, np.ndarray) or not hasattr(data, "__len__"):
        raise TypeError("{} must be a list of (x, y) pairs, not {}; wrap a zip() in list()".format(
            name, type(data).__name__))
    if len(data) == 0:
        raise ValueError("{} is empty".format(name))
    xs, ys = [], []
    for i, pair in enumerate(data):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError("{}[{}] is not an (x, y) pair but {}".format(name, i, type(pair).__name__))
        xs.append(pair[0])
        ys.append(pair[1])
    return xs, ys


def _stack(columns, width, name, expected):
    """Stack columns (each (width, 1) or (width,)) into a C-contiguous (n, width)
    array: float32 if every column is float32, else float64."""
    try:
        arr = np.stack(columns)
        if arr.dtype.kind not in "biuf":
            raise TypeError(arr.dtype)
        if arr.dtype != np.float32:
            arr = arr.astype(np.float64, copy=False)
    except (ValueError, TypeError):
        for i, c in enumerate(columns):
            try:
                c = np.asarray(c)
            except ValueError:
                raise ValueError("{}: item {} is not a rectangular array; expected numbers of shape "
                                 "{}".format(name, i, expected)) from None
            shape = c.shape if c.dtype.kind not in "SU" else "a string"
            if shape not in ((width, 1), (width,)) or c.dtype.kind not in "biuf":
                raise ValueError("{}: item {} is {} of shape {}; expected numbers of shape {}".format(
                    name, i, type(columns[i]).__name__, shape, expected)) from None
        raise ValueError("{} are not numeric arrays of shape {}".format(name, expected)) from None
    if arr.shape[1:] not in ((width, 1), (width,)):
        raise ValueError("{}: items have shape {}; expected {}".format(name, arr.shape[1:], expected))
    return arr.reshape(len(columns), width)

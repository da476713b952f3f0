"""What the drop-in ``network`` and ``network2`` modules share.

The book keeps its data as Python lists of ``(x, y)`` column pairs and its
parameters as lists of arrays.  ``BookNetwork`` keeps those attributes
(``sizes``, ``num_layers``, ``weights``, ``biases``) exactly as the book does,
converts the lists to contiguous arrays once per call, and hands the arrays
to the kernels.  Assigning new arrays to ``weights`` or ``biases`` between
calls takes effect at the next call, as in the book.

The book's exercises change the network by subclassing it (a new
``backprop``, ``cost_derivative``, ``update_mini_batch``...), by handing it
a cost class of their own, or by rebinding the module's ``sigmoid`` and
``sigmoid_prime``.  The kernels know none of that, so when anything is
changed (``_customizations``) the drop-ins run *the book path* instead: the
book's own sequence of calls, example by example in numpy, through whatever
the reader wrote, with a ``BookPathWarning`` once saying why it is slower.
Any change moves every method of the network to that path, so evaluation
and training always agree on what the network computes.
"""
import sys
import warnings

import numpy as np

from . import activations, trainer
from ._config import check_backend, get_num_threads
from ._validation import (as_array, check_epochs, check_eta, check_finite, check_labels,
                          check_lmbda, check_positive_int, check_sizes, merge_ranges, value_range,
                          warn_if_off_scale, warn_if_unscaled)
from .optimizers import Step


class BookPathWarning(UserWarning):
    """A drop-in network runs the book's per-example Python code instead of
    the compiled kernels, because the program changed one of its methods,
    its cost or the module's sigmoid.  The results are the book's; training
    is many times slower."""


#: (class, reason) pairs already warned about: each is reported once per process.
_warned = set()


class BookNetwork(object):
    """What ``network.Network`` and ``network2.Network`` share.  Each of the
    two lists in ``_book_methods`` the methods a reader may override; the
    class that defines ``_book_methods`` is the drop-in, and its module holds
    the ``sigmoid`` and ``sigmoid_prime`` the book path calls."""

    _book_methods = ()

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

    def _spec(self):
        """The network's description for the kernels (sigmoid neurons; the cost
        is the module's)."""
        raise NotImplementedError

    # -- what the reader changed ------------------------------------------------

    def _dropin(self):
        """The drop-in class this network is (or derives from)."""
        for cls in type(self).__mro__:
            if "_book_methods" in vars(cls):
                return cls
        return BookNetwork

    def _module(self):
        """The drop-in's module, whose ``sigmoid``/``sigmoid_prime`` the book
        path calls (looked up at each call, so a rebinding takes effect)."""
        return sys.modules[self._dropin().__module__]

    def _customizations(self):
        """What the program changed that the kernels cannot follow, as phrases
        for the warning: overridden book methods (on the class or the
        instance), a rebound ``sigmoid``/``sigmoid_prime``, and (``_cost_change``)
        a cost the kernels do not implement."""
        dropin = self._dropin()
        cls = type(self)
        changed = []
        for name in dropin._book_methods:
            if name in vars(self):
                changed.append("{} is replaced on the instance".format(name))
            elif getattr(cls, name) is not getattr(dropin, name):
                changed.append("{} is overridden by {}".format(name, cls.__name__))
        module = self._module()
        for name in ("sigmoid", "sigmoid_prime"):
            current = getattr(module, name)
            if current is not getattr(activations, name):
                changed.append("{}.{} is rebound to {}".format(
                    module.__name__.rsplit(".", 1)[-1], name,
                    getattr(current, "__name__", repr(current))))
        cost = self._cost_change()
        if cost:
            changed.append(cost)
        return changed

    def _cost_change(self):
        return None

    def _book_mode(self):
        """True when the book path must run; warns once per class and change."""
        changed = self._customizations()
        new = [c for c in changed if (type(self), c) not in _warned]
        if new:
            _warned.update((type(self), c) for c in new)
            dropin = self._dropin()
            warnings.warn(
                "{} (a {}.{}): {}.  Training therefore leaves the compiled kernels for the "
                "book's per-example Python path, which calls your code where the book's SGD "
                "would and is much slower".format(type(self).__name__, dropin.__module__,
                                                  dropin.__name__, "; ".join(new)),
                BookPathWarning, stacklevel=3)
        return bool(changed)

    # -- the book path: one example at a time, through self's methods --------

    def _book_feedforward(self, a):
        sigmoid = self._module().sigmoid
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(np.dot(w, a)+b)
        return a

    def _book_backprop(self, x, y, output_error):
        """The gradient of one example's cost, BP1-BP4 on columns with the
        module's current sigmoid; ``output_error(z, a, y)`` is the output
        layer's delta (the drop-in decides whose code computes it)."""
        module = self._module()
        sigmoid, sigmoid_prime = module.sigmoid, module.sigmoid_prime
        # forward, keeping every weighted input z and activation
        activation = x
        outputs = [x]
        zs = []
        for w, b in zip(self.weights, self.biases):
            z = np.dot(w, activation)+b
            zs.append(z)
            activation = sigmoid(z)
            outputs.append(activation)
        # backward: the output layer's error, then each earlier layer's
        nabla_b = [None] * len(zs)
        nabla_w = [None] * len(zs)
        delta = output_error(zs[-1], outputs[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, outputs[-2].transpose())
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l+1].transpose(), delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, outputs[-l-1].transpose())
        return (nabla_b, nabla_w)

    def _book_update_mini_batch(self, mini_batch, eta, lmbda, n):
        """Sum ``self.backprop`` over the mini-batch and take one step, making
        new arrays as the book does (``lmbda = 0`` is chapter 1's rule)."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            one_b, one_w = self.backprop(x, y)
            nabla_b = [total+g for total, g in zip(nabla_b, one_b)]
            nabla_w = [total+g for total, g in zip(nabla_w, one_w)]
        m = len(mini_batch)
        self.weights = [(1-eta*(lmbda/n))*w-(eta/m)*g for w, g in zip(self.weights, nabla_w)]
        self.biases = [b-(eta/m)*g for b, g in zip(self.biases, nabla_b)]

    def _book_sgd(self, training_data, epochs, mini_batch_size, update, after_epoch):
        """The book's SGD loop: each epoch shuffle ``training_data`` in place
        (a list; another sequence is copied first), cut it into mini-batches,
        call ``update(mini_batch)`` on each (the drop-in calls
        ``self.update_mini_batch`` there), then ``after_epoch(j,
        training_data)``, which returns False to stop (as the trainer's
        does).  Raises TrainingDiverged, naming the epoch, as soon as a
        parameter stops being finite."""
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        _split_pairs(training_data, "training_data")
        if not isinstance(training_data, list):
            training_data = list(training_data)
        self._parameters(fresh=True)    # checked float64 arrays, as the book keeps them
        n = len(training_data)
        with trainer.one_blas_thread():
            for j in range(epochs):
                trainer.book_shuffle(training_data)
                for k in range(0, n, mini_batch_size):
                    update(training_data[k:k+mini_batch_size])
                    trainer.check_not_diverged(self.weights, self.biases, j)
                if after_epoch(j, training_data) is False:
                    break

    # -- the book's lists, as arrays ------------------------------------------

    def _arrays(self, data, name, targets, rows=False):
        """Convert a list of (x, y) pairs, once, into arrays for the kernels.

        Returns ``(X, Y)``: X is (n, sizes[0]), float32 when every x is
        float32 (as mnist_loader's are: the kernels convert each row exactly,
        as they use it, and no float64 copy is held), else float64.  With ``targets ==
        "vector"`` each y is a (sizes[-1], 1) vector and Y is (n, sizes[-1]);
        with ``"label"`` each y is an integer digit and Y is an (n,) array of
        them; with ``"argmax"`` each y is a vector and Y holds their argmax
        (the book's ``convert=True``).

        When the pairs are rows of arrays they already live in (as
        ``mnist_loader`` makes them), those arrays are used without a copy;
        with ``rows`` the result is ``(X, Y, rows)``, ``rows[i]`` the row of
        X and Y holding the list's entry ``i`` (None: row ``i``).
        """
        found = self._rows_in_place(data, name, targets)
        if found is not None:
            X, Y, where, bounds = found
            self._check_scale(name, bounds)
            identity = where is None or np.array_equal(where, np.arange(len(where)))
            if rows:
                return X, Y, None if identity else where
            return (X, Y) if identity else (X[where], Y[where])
        X, Y, bounds = self._stacked(data, name, targets)
        self._check_scale(name, bounds)
        return (X, Y, None) if rows else (X, Y)

    def _check_scale(self, name, bounds):
        """Remember the range of the training inputs; warn when test or
        evaluation inputs reach far beyond it (``warn_if_off_scale``).  The
        book's ``SGD`` converts its test data before its training data, so
        inputs met before any training are compared when training starts."""
        if name == "training_data":
            trained = merge_ranges(getattr(self, "_trained_range", None), bounds)
            self._trained_range = trained
            for other, seen in getattr(self, "_unchecked_ranges", ()):
                warn_if_off_scale(seen, trained, other)
            self._unchecked_ranges = []
        elif name in ("test_data", "evaluation_data", "data"):
            trained = getattr(self, "_trained_range", None)
            if trained is not None:
                warn_if_off_scale(bounds, trained, name + " inputs")
            else:
                self._unchecked_ranges = (getattr(self, "_unchecked_ranges", [])
                                          + [(name + " inputs", bounds)])[-4:]

    def _rows_in_place(self, data, name, targets):
        """``(X, Y, rows, bounds)`` read from the blocks the pairs live in (and
        the inputs' ``value_range``), checked as
        ``_stacked`` checks them, or None when they do not (then stack)."""
        if not isinstance(data, list) or targets == "argmax":
            return None
        from ._core import _pairs
        n_in, n_out = self.sizes[0], self.sizes[-1]
        if targets == "vector":
            found = _pairs.pair_rows(data, n_in, n_out)
            if found is None or found[0].dtype not in (np.float32, np.float64) \
                    or found[1].dtype != np.float64:
                return None
            X, Y, where = found
        else:
            found = _pairs.input_rows(data, n_in)
            if found is None or found[0].dtype not in (np.float32, np.float64):
                return None
            X, where = found
            labels = np.array([pair[1] for pair in data])
            if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
                return None
            if labels.min() < 0 or labels.max() >= n_out:
                return None
            # the labels come in the list's order: put them in X's row order
            Y = np.empty(len(labels), dtype=np.intp)
            Y[where] = labels
        bounds = value_range(X)
        if not (np.isfinite(bounds).all() and _all_finite(Y)):
            return None     # stacking finds the first bad example in the list's order
        warn_if_unscaled(X, name + " inputs", bounds)
        return X, Y, where, bounds

    def _stacked(self, data, name, targets):
        """``_arrays`` by stacking the columns into new arrays; also returns
        the inputs' range (``value_range``)."""
        xs, ys = _split_pairs(data, name)
        n_in, n_out = self.sizes[0], self.sizes[-1]
        X = _stack(xs, n_in, name + " inputs", "({}, 1)".format(n_in))
        check_finite(X, name + " inputs")
        bounds = warn_if_unscaled(X, name + " inputs")
        if targets == "label":
            for i, y in enumerate(ys):
                if np.ndim(y) != 0:
                    raise ValueError("{}[{}] has a label of shape {}; expected an integer class "
                                     "label here".format(name, i, np.shape(y)))
            return X, check_labels(np.array(ys), len(ys), n_out, name + " labels"), bounds
        Y = _stack(ys, n_out, name + " targets", "({}, 1) (a vectorized result)".format(n_out))
        Y = Y.astype(np.float64, copy=False)        # targets have the network's dtype
        check_finite(Y, name + " targets")
        if targets == "argmax":
            return X, np.argmax(Y, axis=1), bounds
        return X, Y, bounds

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
        out = self._kernels().feedforward(weights, biases, X, self._spec())
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def _count_correct(self, X, labels, weights=None, biases=None, epoch=None):
        """How many rows of ``X`` the network classifies as ``labels``; during
        training (``epoch`` given) also a warning if every output saturated."""
        if weights is None:
            weights, biases = self._parameters(fresh=False)
        outputs = self._kernels().feedforward(weights, biases, X, self._spec())
        if epoch is not None:
            trainer.warn_if_saturated(outputs, epoch, "test data")
        return int(np.sum(np.argmax(outputs, axis=1) == labels))

    def _backprop(self, x, y):
        weights, biases = self._parameters(fresh=False)
        X, Y = self._arrays([(x, y)], "backprop", "vector")
        nabla_b, nabla_w = self._kernels().backprop(weights, biases, X, Y, self._spec())
        return [nb.reshape(-1, 1) for nb in nabla_b], list(nabla_w)

    def _update_mini_batch(self, mini_batch, eta, lmbda, n):
        eta = check_eta(eta)
        lmbda = check_lmbda(lmbda)
        X, Y = self._arrays(mini_batch, "mini_batch", "vector")
        weights, biases = self._parameters(fresh=True)
        step = Step(eta, n, l2=lmbda)
        self._kernels().train(weights, biases, X, Y, None, len(X), self._spec(), step)
        trainer.check_not_diverged(weights, biases, 0)

    def _train(self, training_data, epochs, mini_batch_size, eta, lmbda, after_epoch):
        """The book's SGD on the kernels: ``after_epoch(j, weights, biases,
        training)`` reports each epoch (``training()`` gives the training
        inputs and targets as arrays, in the list's order); the caller's list
        ends shuffled as the book's would."""
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        eta = check_eta(eta)
        lmbda = check_lmbda(lmbda)
        X, Y, rows = self._arrays(training_data, "training_data", "vector", rows=True)
        weights, biases = self._parameters(fresh=True)
        spec = self._spec()
        kernels = self._kernels()
        if kernels is not trainer.kernels("numpy"):
            spec.check_compiled()
        order = trainer.BookOrder(len(rows) if rows is not None else len(X))
        # the list's positions, shuffled as the book shuffles its list, name
        # rows of the arrays through ``rows`` when the data stayed where it was
        next_order = order if rows is None else (lambda: rows[order()])
        in_list_order = []

        def training():
            if not in_list_order:
                in_list_order.append((X, Y) if rows is None else (X[rows], Y[rows]))
            return in_list_order[0]

        step = Step(eta, len(training_data), l2=lmbda)
        try:
            trainer.sgd(kernels, weights, biases, X, Y, epochs, mini_batch_size, spec, step,
                        next_order, eta, lambda j, _eta: after_epoch(j, weights, biases, training),
                        num_threads=get_num_threads(1))
        finally:
            order.apply_to(training_data)


def _all_finite(a):
    try:
        check_finite(a, "")
    except ValueError:
        return False
    return True


def given(data, name):
    """The book's ``if test_data:`` for optional data, with an error of ours
    for data whose truth is ambiguous (an array, say) rather than numpy's."""
    try:
        present = bool(data)
    except (TypeError, ValueError):
        present = None
    if present is None or (present and not hasattr(data, "__len__")):   # an array; a number
        raise TypeError("{} must be a list of (x, y) pairs, not {}".format(name, type(data).__name__))
    return present


def _split_pairs(data, name):
    """The xs and the ys of a non-empty sequence of (x, y) pairs."""
    if isinstance(data, np.ndarray) or not hasattr(data, "__len__"):
        if isinstance(data, np.ndarray):
            raise TypeError("{} must be a list of (x, y) pairs, x an (inputs, 1) column and y its "
                            "target, not a numpy ndarray; to train on arrays (one example "
                            "per row) use fastnn.MLP".format(name))
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

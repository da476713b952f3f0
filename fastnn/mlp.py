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

from . import _serialize, activations, optimizers, progress, trainer
from ._config import check_backend, check_num_threads, get_num_threads
from ._validation import (as_array, as_float_matrix, check_dtype, check_epochs, check_labels,
                          check_input_range, check_positive_int, check_real, check_sizes,
                          check_finite, merge_ranges, one_hot, value_range, warn_if_off_scale,
                          warn_if_unscaled)
from .optimizers import Schedule, Step


#: For each ``init``, what a standard normal draw is divided by to make a
#: weight of a layer with ``fan_in`` inputs (one over its standard deviation).
INITS = {"default": lambda fan_in: np.sqrt(fan_in),
         "large": lambda fan_in: 1.0,
         "he": lambda fan_in: np.sqrt(fan_in / 2)}


class MLP(object):
    """A fully connected network trained by mini-batch SGD.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first: ``[784, 30, 10]``; any depth.
    activation : ``"sigmoid"`` (default), ``"tanh"``, ``"relu"``,
        ``"linear"``, ``"leaky_relu"`` (slope 0.01) or ``"elu"`` (alpha 1.0):
        the hidden layers' neurons, any name in ``fastnn.activations.HIDDEN``.  Other
        parameter values come as an ``Activation``:
        ``activation=fastnn.activations.get("leaky_relu", slope=0.2)``.
    output : ``"sigmoid"`` (default) or ``"softmax"``: the output layer's.
    cost : ``"cross_entropy"`` (default), ``"quadratic"``,
        ``"log_likelihood"`` (goes with ``output="softmax"``, and softmax with
        it), or a cost class with ``fn`` and ``delta`` (other classes need
        ``backend="numpy"``).
    init : ``"default"`` (weights N(0, 1/fan_in), the book's chapter 3),
        ``"large"`` (N(0, 1), chapter 1), both with biases N(0, 1), or
        ``"he"`` (weights N(0, 2/fan_in) and biases 0, He et al.'s
        initialization for ReLU networks, which Adam trains best from).
    dtype : float32 or float64 (default).  float32 is about twice as fast.
    backend : ``"cython"`` or ``"numpy"``; ``None`` follows ``fastnn.set_backend``.
    seed : seed of the generator used for initialization and shuffling
        (``numpy.random.default_rng(seed)``); ``None`` draws a fresh one.
    num_threads : threads the compiled kernels may use while training, a
        whole number >= 1; ``None`` (default) follows ``fastnn.set_num_threads``
        or ``FASTNN_NUM_THREADS``, else one.  Threads are used where they pay:
        a first layer of at least 16,384 weights, with a mini-batch of 32 or
        more or at least 512 neurons (``fastnn._core._dense.threads_for``);
        the results are those of one thread (see the README).

    Attributes
    ----------
    weights : list of arrays, layer ``l`` of shape ``(sizes[l], sizes[l-1])``
    biases : list of arrays of shape ``(sizes[l],)``
    history : list of dicts, one per epoch trained, over every ``fit``
    epochs_trained : int
        Epochs trained so far; the next ``fit`` goes on from there (its
        epochs, its schedule and its optimizer's state continue, and
        ``save``/``load`` keep all of it).
    """

    num_threads = None      # networks made by load() and older pickles follow the process

    def __init__(self, sizes, activation="sigmoid", output="sigmoid", cost="cross_entropy",
                 init="default", dtype=np.float64, backend=None, seed=None, num_threads=None):
        self.sizes = check_sizes(sizes)
        self.num_threads = None if num_threads is None else check_num_threads(num_threads)
        self.spec = trainer.Spec(activation, output, cost)
        if not isinstance(init, str) or init not in INITS:
            raise ValueError("init must be one of {}, not {!r}".format(
                ", ".join(repr(k) for k in INITS), init))
        self.init = init
        self.input_range = None         # (least, greatest) input seen by fit
        self.dtype = check_dtype(dtype)
        self.backend = None if backend is None else check_backend(backend)
        try:
            self.rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError("seed must be None or a whole number >= 0, not {!r}".format(seed)) from None
        divisor = INITS[init]
        if init == "he":
            self.biases = [np.zeros(y, dtype=self.dtype) for y in self.sizes[1:]]
        else:
            self.biases = [self.rng.standard_normal(y).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [(self.rng.standard_normal((y, x)) / divisor(x)).astype(self.dtype)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.history = []
        self._reset_training()

    def _reset_training(self):
        """Forget how the network was trained: the next ``fit`` starts at epoch
        0 with a fresh optimizer state."""
        self.epochs_trained = 0
        self._step = None           # the optimizer and its state (optimizers.Step)
        self._schedule = None       # the plateau schedule's state, if any

    @property
    def cost(self):
        return self.spec.cost_class

    @property
    def activation(self):
        """The hidden layers' activation's name (its parameters: ``spec.hidden``)."""
        return self.spec.activation_name

    @property
    def output(self):
        return self.spec.output_name

    def summary(self, file=None):
        """Print a table of the network to ``file`` (default: standard
        output): each layer's neurons, inputs, activation and parameters,
        then the totals, the cost, the dtype, the backend that will run it
        and, when the network has a ``num_threads`` setting, its threads."""
        from ._config import get_backend
        rows = [("layer", "neurons", "inputs", "activation", "weights", "biases")]
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), 1):
            last = l == len(self.sizes) - 1
            rows.append((str(l), "{:,}".format(n_out), "{:,}".format(n_in),
                         self.output if last else self.activation,
                         "{:,}".format(n_in * n_out), "{:,}".format(n_out)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i in (0, 3) else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        total = sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        backend = self.backend or "{} (fastnn.set_backend's)".format(get_backend())
        threads = getattr(self, "num_threads", None)    # a setting not every version has
        lines.append("{:,} parameters, {} inputs; cost {}; dtype {}; backend {}{}".format(
            total, "{:,}".format(self.sizes[0]), self.cost.__name__, np.dtype(self.dtype).name,
            backend, "" if threads is None else "; threads {}".format(threads)))
        print("\n".join(lines), file=file)

    def __repr__(self):
        return "MLP(sizes={}, activation={!r}, output={!r}, cost={}, dtype={}, backend={!r})".format(
            self.sizes, str(self.spec.hidden), self.output, self.cost.__name__, np.dtype(self.dtype).name,
            self.backend)

    # -- training ------------------------------------------------------------

    def fit(self, X, y, epochs=30, batch_size=10, learning_rate=None, l2=0.0, l1=0.0,
            momentum=0.0, optimizer=None, validation_data=None, early_stopping=None,
            restore_best=True, monitor_training=False, monitor_gradients=False, shuffle=True,
            verbose=False, on_epoch=None, on_progress=None, validation_split=None):
        """Train for up to ``epochs`` more epochs; return ``self.history``.

        ``optimizer`` is ``"sgd"`` (the default: the book's mini-batch SGD),
        ``"adam"``, ``"adamw"``, or an object ``fastnn.SGD(momentum=...,
        nesterov=...)``, ``fastnn.Adam(betas=..., eps=...)``,
        ``fastnn.AdamW(..., weight_decay=...)``; ``momentum=mu`` (in [0, 1))
        is the shortcut for ``fastnn.SGD(momentum=mu)``, chapter 3's
        momentum, and goes only with the default optimizer.
        ``learning_rate`` is the step size of every optimizer (None: the
        optimizer's own default, 0.5 for SGD and 1e-3 for Adam and AdamW):
        a number, a callable ``epoch -> eta``, or
        ``fastnn.HalveOnPlateau(patience, eta=...)`` (halve it whenever the
        validation accuracy has not improved for ``patience`` epochs, stop at
        1/128 of the start).  ``l2`` is the book's lambda under every
        optimizer, a term ``(l2/n) w`` of the gradient (for plain SGD, each
        step scales the weights by ``1 - learning_rate*l2/n``); ``l1`` adds
        chapter 3's ``(l1/n) sgn(w)`` (see ``fastnn.optimizers``).
        ``early_stopping=k`` stops after ``k`` epochs in which the best
        validation accuracy has not risen (a flat accuracy runs out of
        patience too) and, with ``restore_best``, puts back the best epoch's
        weights; of epochs that tie the best, the later one is the best
        epoch (as network3 counts it).

        A second ``fit`` goes on where the first stopped: its epochs are
        numbered on from ``epochs_trained`` (a callable learning rate sees
        them), its records are appended to ``history``, and the optimizer's
        state (velocities, Adam's moments and step count) and a
        ``HalveOnPlateau`` schedule's state carry over when the optimizer
        and the schedule are the same.  Two fits of 2 epochs end exactly
        where one of 4 does; so do a fit, ``save``, ``load`` and a fit.

        Each epoch appends a dict to the history with ``epoch``, ``eta`` and
        ``seconds`` (training time); with ``validation_data=(X_val, y_val)``
        also ``val_cost`` and ``val_accuracy``; with ``monitor_training``
        also ``train_cost`` and ``train_accuracy`` (an extra pass over the
        training set); with ``monitor_gradients``, ``gradient_norms``: the
        norm of each hidden layer's mean bias gradient over the first 1,000
        training rows (chapter 5's speed of learning).  The order is
        reshuffled each epoch from the network's seeded generator unless
        ``shuffle=False``.  ``verbose`` prints each record and, on a terminal,
        draws a progress bar per epoch (``fastnn.progress``), numbering the
        epochs from 0 as the records' ``epoch`` does, with the count run so
        far: ``epoch 0 (1/30)`` is the first of 30; ``on_epoch(record)``
        is called with each one and may stop training by returning False or
        raising ``fastnn.StopTraining``; ``on_progress(done, total)`` is
        called with the mini-batches done in the epoch, several times a
        second.  ``validation_split`` (a fraction in (0, 1), instead of
        ``validation_data``) holds out the last rows of ``X`` and ``y``, in
        the order given, as the validation data and trains on the others.
        Ctrl-C stops training within about a second, leaving the
        weights of the last finished chunk of mini-batches.  A RuntimeWarning,
        once per call, says when the network gives every monitored example
        the same output (its output no longer depends on its input: accuracy
        at chance without any NaN).
        """
        epochs = check_epochs(epochs)
        batch_size = check_positive_int(batch_size, "batch_size")
        optimizer = optimizers.get(optimizer, momentum)
        if learning_rate is None:
            learning_rate = optimizer.default_learning_rate
        schedule = Schedule(learning_rate, first_epoch=self.epochs_trained)
        schedule.load_state(self._schedule)
        if early_stopping is not None:
            early_stopping = check_positive_int(early_stopping, "early_stopping")
        kernels = self._kernels()
        if validation_split is not None:
            X, y, validation_data = _split_off(X, y, validation_split, validation_data)
        bounds = warn_if_unscaled(X, "X", activation=self.activation)
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        Y = self._targets(y, len(X), "y")
        self.input_range = merge_ranges(self.input_range, bounds)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a pair (X_val, y_val), not {}".format(
                    type(validation_data).__name__))
            X_val, Y_val = validation_data
            X_val = self._inputs(X_val, "validation X")
            Y_val = self._targets(Y_val, len(X_val), "validation y")
        elif early_stopping is not None or schedule.needs_validation:
            raise ValueError("early_stopping and HalveOnPlateau watch the validation accuracy: "
                             "pass validation_data=(X_val, y_val)")
        self._check_parameters()
        n = len(X)
        step = self._step = optimizers.continue_step(
            self._step, list(zip(self.weights, self.biases)), n, l2, l1, optimizer)
        step.eta = schedule.eta
        step.check_dtype(self.dtype, "learning_rate")
        order = (lambda: self.rng.permutation(n)) if shuffle else (lambda: None)
        sample = slice(0, min(n, 1000))
        first_epoch = self.epochs_trained
        last_epoch = first_epoch + epochs
        started = [time.perf_counter()]
        warned = []         # the at-chance warning, once per call

        def record(epoch, eta):
            entry = {"epoch": epoch, "eta": eta, "seconds": time.perf_counter() - started[0]}
            if monitor_training:
                outputs = kernels.feedforward(self.weights, self.biases, X, self.spec)
                entry["train_cost"] = self._cost_from(outputs, Y, step.l2, step.l1)
                entry["train_accuracy"] = _accuracy_from(outputs, Y)
                trainer.warn_if_saturated(outputs, epoch, "training data")
                trainer.warn_if_one_answer(outputs, np.argmax(Y, axis=1), epoch, "training data",
                                           warned)
            elif validation_data is None:
                # nothing monitored: a sample of the training rows still shows
                # a network that diverged without a NaN (every output saturated,
                # or one answer for every input)
                outputs = kernels.feedforward(self.weights, self.biases, X[sample], self.spec)
                trainer.warn_if_saturated(outputs, epoch, "training data")
                trainer.warn_if_one_answer(outputs, np.argmax(Y[sample], axis=1), epoch,
                                           "training data", warned)
            if validation_data is not None:
                outputs = kernels.feedforward(self.weights, self.biases, X_val, self.spec)
                entry["val_cost"] = self._cost_from(outputs, Y_val, step.l2, step.l1)
                entry["val_accuracy"] = _accuracy_from(outputs, Y_val)
                trainer.warn_if_saturated(outputs, epoch, "validation data")
                trainer.warn_if_one_answer(outputs, np.argmax(Y_val, axis=1), epoch,
                                           "validation data", warned)
            if monitor_gradients:
                entry["gradient_norms"] = self._gradient_norms(kernels, X[sample], Y[sample])
            self.history.append(entry)
            self.epochs_trained = epoch + 1
            self._schedule = schedule.state_dict()
            if verbose:
                print("epoch {} ({}/{}): {:.2f} s".format(epoch, epoch + 1, last_epoch,
                                                         entry["seconds"]) + "".join(
                    "  {} {:.4f}".format(k, v) for k, v in entry.items()
                    if k not in ("epoch", "seconds", "gradient_norms")))
            keep_going = on_epoch(entry) if on_epoch is not None else None
            started[0] = time.perf_counter()
            return False if keep_going is False else entry

        on_progress = progress.attach(on_progress, verbose, epochs)   # a bar per epoch on a terminal
        trainer.sgd(kernels, self.weights, self.biases, X, Y, epochs, batch_size, self.spec, step,
                    order, schedule, record, on_progress, early_stopping,
                    restore_best and early_stopping is not None,
                    first_epoch, num_threads=self._threads())
        self._schedule = schedule.state_dict()
        return self.history

    def gradient_norms(self, X, y):
        """Chapter 5's speed of learning: for each hidden layer, the norm of
        the cost's gradient with respect to its biases, averaged over the rows
        of ``X`` (the book uses the first 1,000 training images)."""
        X = as_float_matrix(X, self.sizes[0], self.dtype, "X", inputs=True)
        self._check_parameters()
        return self._gradient_norms(self._kernels(), X, self._targets(y, len(X), "y"))

    def _gradient_norms(self, kernels, X, Y):
        nabla_b, _ = kernels.backprop(self.weights, self.biases, np.ascontiguousarray(X),
                                      np.ascontiguousarray(Y), self.spec)
        return [float(np.linalg.norm(nb / len(X))) for nb in nabla_b[:-1]]

    # -- prediction ----------------------------------------------------------

    def predict_proba(self, X):
        """The output layer's activations, ``(n, sizes[-1])``."""
        X = self._inputs(X)
        self._check_parameters()
        return self._kernels().feedforward(self.weights, self.biases, X, self.spec)

    def predict(self, X):
        """The index of the most active output neuron for each row of ``X``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y):
        """The fraction of rows classified correctly (``y``: labels or one-hot)."""
        X = self._inputs(X)
        self._check_parameters()
        outputs = self._kernels().feedforward(self.weights, self.biases, X, self.spec)
        return _accuracy_from(outputs, self._targets(y, len(X), "y"))

    def cost_of(self, X, y, l2=0.0, l1=0.0):
        """The book's total cost on ``(X, y)``: the mean cost plus the L2 term
        ``0.5*(l2/n)*sum(w**2)`` and the L1 term ``(l1/n)*sum(|w|)``."""
        X = self._inputs(X)
        self._check_parameters()
        outputs = self._kernels().feedforward(self.weights, self.biases, X, self.spec)
        return self._cost_from(outputs, self._targets(y, len(X), "y"), check_real(l2, "l2"),
                               check_real(l1, "l1"))

    # -- saving --------------------------------------------------------------

    def save(self, filename):
        """Write the network to ``filename`` atomically, in the book's JSON
        format (so ``fastnn.network2.load`` and the book's program read it
        when every neuron is sigmoid), with the dtype, the activations and,
        for an activation that has them, its parameters
        (``"activation_params": {"slope": 0.01}``).

        A trained network's file also keeps, under the key ``"training"``
        (which the book's ``load`` ignores), what a later ``fit`` needs to go
        on exactly: the epochs trained, the history, the optimizer and its
        state arrays, the schedule's state and the shuffling generator's."""
        self._check_parameters()
        extra = {}
        if self.spec.hidden.params:
            extra["activation_params"] = self.spec.hidden.to_dict()
        if self.input_range is not None:
            extra["input_range"] = list(self.input_range)
        if self.epochs_trained or self._step is not None:
            extra["training"] = dict(optimizers.training_state(self._step, self.rng),
                                     epochs=self.epochs_trained, history=self.history,
                                     schedule=self._schedule)
        _serialize.save(filename, self.sizes, self.weights, self.biases, self.cost.__name__,
                        dtype=np.dtype(self.dtype).name, activation=self.activation,
                        output=self.output, **extra)

    @classmethod
    def load(cls, filename, backend=None, dtype=None, cost=None):
        """Read a network saved by ``MLP.save`` or by the book's ``network2``;
        ``cost`` is the class to use for a file saved with a cost of your own.
        A file without ``activation_params`` (an older one) gets the
        activation's defaults."""
        sizes, weights, biases, cost, data = _serialize.load(filename, cost)
        if dtype is None:
            try:
                dtype = check_dtype(data.get("dtype", "float64"))
            except TypeError as exc:
                raise ValueError("{!r} is not a valid saved network: {}".format(str(filename), exc)) from None
        dtype = check_dtype(dtype)
        net = cls.__new__(cls)
        try:
            params = data.get("activation_params", {})
            if not isinstance(params, dict):
                raise ValueError("activation_params must be an object, not {!r}".format(params))
            hidden = activations.check(data.get("activation", "sigmoid"), activations.HIDDEN,
                                       "activation")
            net.spec = trainer.Spec(activations.get(hidden, **params),
                                    data.get("output", "sigmoid"), cost)
        except (TypeError, ValueError) as exc:
            raise ValueError("{!r} is not a valid saved network: {}".format(str(filename), exc)) from None
        try:
            net.input_range = check_input_range(data.get("input_range"), "input_range")
        except ValueError as exc:
            raise ValueError("{!r} is not a valid saved network: {}".format(str(filename), exc)) from None
        net.sizes, net.init, net.dtype = sizes, "default", dtype
        net.backend = None if backend is None else check_backend(backend)
        net.rng = np.random.default_rng()
        net.weights = [w.astype(dtype) for w in weights]
        net.biases = [b.reshape(-1).astype(dtype) for b in biases]
        net.history = []
        net._reset_training()
        if "training" in data:
            try:
                net._load_training(data["training"])
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError("{!r} is not a valid saved network: its training state: {}".format(
                    str(filename), exc)) from None
        return net

    def _load_training(self, saved):
        """Put back what ``save`` kept of the training (see there), checked."""
        step, rng = optimizers.load_training_state(saved, list(zip(self.weights, self.biases)))
        epochs = saved.get("epochs")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError("epochs must be a whole number >= 0, not {!r}".format(epochs))
        history = saved.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise ValueError("history must be a list of records")
        schedule = saved.get("schedule")
        if schedule is not None and not isinstance(schedule, dict):
            raise ValueError("schedule: expected an object or null")
        self.epochs_trained, self.history, self.rng = epochs, history, rng
        self._step, self._schedule = step, schedule

    # -- helpers -------------------------------------------------------------

    def _inputs(self, X, name="X"):
        """``X`` as the kernels read it, with a warning when it reaches far
        beyond the inputs ``fit`` saw (``input_range``): another scale."""
        X = as_float_matrix(X, self.sizes[0], self.dtype, name, inputs=True)
        if self.input_range is not None:
            warn_if_off_scale(value_range(X), self.input_range, name)
        return X

    def _threads(self):
        """The thread count to train with: ``num_threads``, else the process's."""
        return self.num_threads if self.num_threads is not None else get_num_threads(1)

    def _kernels(self):
        kernels = trainer.kernels(self.backend)
        if kernels is not trainer.kernels("numpy"):
            self.spec.check_compiled()
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

    def _cost_from(self, outputs, Y, l2, l1):
        n = len(Y)
        total = self.cost.fn(outputs, Y) / n
        if l2:
            total += 0.5 * (l2 / n) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        if l1:
            total += (l1 / n) * sum(np.abs(w).sum() for w in self.weights)
        return float(total)


def _split_off(X, y, fraction, validation_data):
    """``(X, y, (X_val, y_val))``: the last ``fraction`` of the rows held out."""
    if validation_data is not None:
        raise ValueError("give validation_data or validation_split, not both")
    fraction = check_real(fraction, "validation_split")
    if not 0 < fraction < 1:
        raise ValueError("validation_split must be a fraction between 0 and 1, not {}".format(
            fraction))
    X, y = as_array(X, "X"), as_array(y, "y")
    if X.ndim < 1 or y.ndim < 1 or len(X) != len(y):
        raise ValueError("validation_split needs X and y with one row per example, not shapes {} "
                         "and {}".format(X.shape, y.shape))
    held = int(round(len(X) * fraction))
    if not 0 < held < len(X):
        raise ValueError("validation_split={} of {} rows leaves {} for validation and {} for "
                         "training; both need at least one".format(fraction, len(X), held,
                                                                   len(X) - held))
    cut = len(X) - held
    return X[:cut], y[:cut], (X[cut:], y[cut:])


def _accuracy_from(outputs, Y):
    return float(np.mean(np.argmax(outputs, axis=1) == np.argmax(Y, axis=1)))

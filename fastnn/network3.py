"""network3.py
~~~~~~~~~~~~~~

A drop-in for the book's chapter 6 ``network3.py``, without Theano.

The book's programs keep working with one changed import::

    from fastnn import network3
    from fastnn.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
    from fastnn.network3 import ReLU
    training_data, validation_data, test_data = network3.load_data_shared()
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20*12*12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 60, mini_batch_size, 0.1, validation_data, test_data)

What is the same as the book's module: the layers and their arguments, the
initialisation (drawn from ``np.random.normal`` layer by layer, ``w`` then
``b``, so a program that calls ``np.random.seed`` first gets the book's
initial weights), a true convolution as Theano's ``conv2d`` computed it
(filters flipped), max-pooling with ``ignore_border=True``, the activation
applied after pooling and bias, dropout of a layer's *inputs* during training
and scaling by ``1 - p_dropout`` at evaluation, the log-likelihood cost plus
``0.5*lmbda*sum(w**2)/num_training_batches``, mini-batches taken in order
(network3 does not shuffle), the tail that does not fill a mini-batch left
out, and the printed lines.

What differs:

* the data are numpy arrays, not Theano shared variables;
  ``load_data_shared`` finds MNIST as :mod:`fastnn.mnist_loader` does, and
  ``load_data_shared(expanded=True)`` gives the 250,000-image expanded
  training set of the book's ``expand_mnist.py`` (see :mod:`fastnn.expand`);
* ``SGD`` returns the per-epoch figures (a dict, see :meth:`Network.SGD`);
* dtype: float32 by default, as network3 ran (``floatX``);
  ``Network(layers, mini_batch_size, dtype=np.float64)`` trains in double
  precision, or set ``network3.floatX = "float64"`` before creating layers;
* dropout masks come from a numpy ``Generator`` seeded by
  ``Network(..., seed=0)``: the same seed gives the same masks, on either
  backend;
* the compiled kernels (``backend="cython"``, the default) or the readable
  numpy reference (``backend="numpy"``, :mod:`fastnn.reference3`) do the
  work; ``set_num_threads(n)`` chooses how many threads the compiled path
  uses (default: all cores);
* subgradients at ties: max-pooling sends the gradient to the first maximum
  of a window (Theano sent it to every tied maximum) and ReLU'(0) = 0.
"""
import collections.abc
import numbers
import os
import warnings

import numpy as np

from . import reference3
from ._config import check_backend, get_backend
from .trainer import one_blas_thread
from .reference3 import linear, ReLU, sigmoid, tanh   # noqa: F401  (the book's names)

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer",
           "linear", "ReLU", "sigmoid", "tanh", "load_data_shared", "size",
           "dropout_layer", "set_num_threads", "get_num_threads", "floatX"]

#: dtype of newly created layers' parameters (network3's ``theano.config.floatX``).
floatX = "float32"

_ACT_NAMES = {linear: "linear", ReLU: "ReLU", sigmoid: "sigmoid", tanh: "tanh"}
_threads = {"n": None}


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

def set_num_threads(n=None):
    """Threads the compiled kernels use: a whole number >= 1, or None for
    the default (``FASTNN_NUM_THREADS``, else ``OMP_NUM_THREADS``, else every
    core this process may run on).  Honoured when fastnn was built with
    OpenMP; the results depend on ``n`` only, not on OpenMP being there."""
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError("num_threads must be a whole number >= 1 or None, not {!r}".format(n))
        n = int(n)
    _threads["n"] = n


def get_num_threads():
    """The thread count the compiled kernels will use (at most the
    mini-batch size: each thread works on its own examples)."""
    if _threads["n"] is not None:
        return _threads["n"]
    env = os.environ.get("FASTNN_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if env:
        try:
            return max(1, int(env.split(",")[0]))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))   # the cores this process may use
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def load_data_shared(filename=None, expanded=False, seed=0):
    """Return ``[(training_x, training_y), (validation_x, validation_y),
    (test_x, test_y)]``: float32 images of 784 pixels in [0, 1) and int64
    labels, as network3's shared variables held them.

    ``filename`` is a directory holding the MNIST files or a
    ``mnist.pkl.gz``; by default the data are found as
    :func:`fastnn.datasets.load_mnist` finds them.  With ``expanded=True``
    (or a ``filename`` naming ``mnist_expanded.pkl.gz`` that does not exist)
    the training set is the 250,000 images of the book's
    ``expand_mnist.py``, built once and cached (:mod:`fastnn.expand`).
    """
    from . import datasets
    path = filename
    if filename is not None and os.path.basename(os.fspath(filename)).startswith("mnist_expanded") \
            and not os.path.exists(filename):
        expanded, path = True, None
    tr, va, te = datasets.load_mnist(path)
    if expanded:
        from . import expand
        tr = expand.load_expanded(path, seed=seed)
    return [tr, va, te]


def size(data):
    """Return the size of the dataset ``data``."""
    try:
        return len(data[0])
    except (TypeError, IndexError, KeyError):
        raise TypeError("data must be a pair (x, y) of arrays, as load_data_shared returns, "
                        "not {}".format(type(data).__name__)) from None


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------

def _shape(value, n, name):
    try:
        t = tuple(value)
    except TypeError:
        raise TypeError("{} must be a tuple of {} whole numbers, not {!r}".format(name, n, value)) from None
    if len(t) != n or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                          for v in t):
        raise ValueError("{} must be {} whole numbers >= 1, not {!r}".format(name, n, value))
    return tuple(int(v) for v in t)


def _activation(fn):
    if isinstance(fn, collections.abc.Hashable) and fn in _ACT_NAMES:    # an array is not
        return fn
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
    for known in _ACT_NAMES:
        if name == known.__name__:
            return known
    raise TypeError("activation_fn must be one of network3.linear, ReLU, sigmoid, tanh "
                    "(or their names), not {!r}".format(fn))


def _p_dropout(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 <= p < 1.0):
        raise ValueError("p_dropout must be a number in [0, 1), not {!r}".format(p))
    return float(p)


class ConvPoolLayer(object):
    """Used to create a combination of a convolutional and a max-pooling
    layer.  A more sophisticated implementation would separate the two, but
    for our purposes we'll always use them together, and it simplifies the
    code, so it makes sense to combine them.
    """
    is_conv = True
    is_softmax = False
    p_dropout = 0.0

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        """`filter_shape` is a tuple of length 4, whose entries are the number
        of filters, the number of input feature maps, the filter height, and
        the filter width.

        `image_shape` is a tuple of length 4, whose entries are the
        mini-batch size, the number of input feature maps, the image
        height, and the image width.

        `poolsize` is a tuple of length 2, whose entries are the y and
        x pooling sizes.
        """
        self.filter_shape = _shape(filter_shape, 4, "filter_shape")
        self.image_shape = _shape(image_shape, 4, "image_shape")
        self.poolsize = _shape(poolsize, 2, "poolsize")
        self.activation_fn = _activation(activation_fn)
        f, c, kh, kw = self.filter_shape
        _, c_img, h, w = self.image_shape
        if c != c_img:
            raise ValueError("filter_shape {} has {} input feature maps but image_shape {} has {}".format(
                self.filter_shape, c, self.image_shape, c_img))
        if kh > h or kw > w:
            raise ValueError("filter {}x{} is larger than the {}x{} image".format(kh, kw, h, w))
        oh, ow = h - kh + 1, w - kw + 1
        if oh < self.poolsize[0] or ow < self.poolsize[1]:
            raise ValueError("poolsize {} is larger than the {}x{} convolution output".format(
                self.poolsize, oh, ow))
        self.output_shape = (f, oh // self.poolsize[0], ow // self.poolsize[1])
        self.n_in = c * h * w
        self.n_out_units = int(np.prod(self.output_shape))
        # initialize weights and biases, as network3 did
        n_out = (filter_shape[0]*np.prod(filter_shape[2:])/np.prod(poolsize))
        self.w = np.asarray(
            np.random.normal(loc=0, scale=np.sqrt(1.0/n_out), size=filter_shape), dtype=floatX)
        self.b = np.asarray(
            np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)), dtype=floatX)

    @property
    def params(self):
        return [self.w, self.b]

    def _spec(self):
        return dict(kind="conv", act=_ACT_NAMES[self.activation_fn], w=self.w, b=self.b,
                    image_shape=self.image_shape, filter_shape=self.filter_shape,
                    poolsize=self.poolsize, p_dropout=0.0)


class FullyConnectedLayer(object):

    is_conv = False
    is_softmax = False

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in = _shape((n_in,), 1, "n_in")[0]
        self.n_out = _shape((n_out,), 1, "n_out")[0]
        self.n_out_units = self.n_out
        self.activation_fn = _activation(activation_fn)
        self.p_dropout = _p_dropout(p_dropout)
        # Initialize weights and biases
        self.w = np.asarray(
            np.random.normal(loc=0.0, scale=np.sqrt(1.0/n_out), size=(n_in, n_out)), dtype=floatX)
        self.b = np.asarray(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)), dtype=floatX)

    @property
    def params(self):
        return [self.w, self.b]

    def _spec(self):
        return dict(kind="fc", act=_ACT_NAMES[self.activation_fn], w=self.w, b=self.b,
                    p_dropout=self.p_dropout)


class SoftmaxLayer(object):

    is_conv = False
    is_softmax = True
    activation_fn = None

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in = _shape((n_in,), 1, "n_in")[0]
        self.n_out = _shape((n_out,), 1, "n_out")[0]
        self.n_out_units = self.n_out
        self.p_dropout = _p_dropout(p_dropout)
        # Initialize weights and biases
        self.w = np.zeros((n_in, n_out), dtype=floatX)
        self.b = np.zeros((n_out,), dtype=floatX)

    @property
    def params(self):
        return [self.w, self.b]

    def _spec(self):
        return dict(kind="softmax", act="linear", w=self.w, b=self.b, p_dropout=self.p_dropout)


def dropout_layer(layer, p_dropout, rng=None):
    """``layer`` with each entry kept with probability ``1 - p_dropout`` and
    zeroed otherwise (network3's rule: no rescaling during training)."""
    rng = np.random.default_rng(rng)
    mask = rng.random(np.shape(layer)) < 1 - p_dropout
    return layer * mask.astype(np.asarray(layer).dtype)


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------

class Network(object):

    def __init__(self, layers, mini_batch_size, dtype=None, backend=None, seed=0):
        """Takes a list of `layers`, describing the network architecture, and
        a value for the `mini_batch_size` to be used during training by
        stochastic gradient descent.

        ``dtype`` (float32 or float64) converts every layer's parameters;
        by default they keep the dtype they were created with (``floatX``).
        ``backend`` is "cython", "numpy" or None (the process-wide
        ``fastnn.get_backend()``, read each time the network trains or
        predicts).  ``seed`` (an int or a numpy Generator) drives the
        dropout masks.
        """
        from ._validation import check_positive_int
        self.layers = list(layers)
        self.mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for j, layer in enumerate(self.layers):
            if not isinstance(layer, (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)):
                raise TypeError("layer {} is not a network3 layer: {!r}".format(j, layer))
        if not isinstance(self.layers[-1], SoftmaxLayer):
            raise ValueError("the last layer must be a SoftmaxLayer: its log-likelihood is the cost")
        for j, layer in enumerate(self.layers):
            if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != self.mini_batch_size:
                raise ValueError("layer {}: image_shape {} is for mini-batches of {}, but "
                                 "mini_batch_size is {}".format(j, layer.image_shape,
                                                                layer.image_shape[0],
                                                                self.mini_batch_size))
            if j > 0 and layer.n_in != self.layers[j-1].n_out_units:
                raise ValueError("layer {} ({}) takes {} inputs, but layer {} ({}) gives {}".format(
                    j, type(layer).__name__, layer.n_in, j-1, type(self.layers[j-1]).__name__,
                    self.layers[j-1].n_out_units))
        if dtype is None:
            dtypes = {layer.w.dtype for layer in self.layers} | {layer.b.dtype for layer in self.layers}
            if len(dtypes) != 1:
                raise TypeError("the layers' parameters mix dtypes {}; pass dtype=".format(sorted(map(str, dtypes))))
            dtype = dtypes.pop()
        from ._validation import check_dtype
        self.dtype = np.dtype(check_dtype(dtype))
        for layer in self.layers:
            layer.w = np.ascontiguousarray(layer.w, dtype=self.dtype)
            layer.b = np.ascontiguousarray(layer.b, dtype=self.dtype)
        self.backend = None if backend is None else check_backend(backend)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.n_in = self.layers[0].n_in

    @property
    def params(self):
        return [param for layer in self.layers for param in layer.params]

    # -- checks ---------------------------------------------------------------

    def _backend(self):
        return self.backend if self.backend is not None else get_backend()

    def _xy(self, data, name, need_batches=True):
        """Validate a data set ``(x, y)`` and return C-contiguous ``x`` of the
        network's dtype (one copy at most) and int64 ``y``, cut to whole
        mini-batches, and the number of mini-batches."""
        from ._validation import check_finite, check_labels
        try:
            x, y = data
        except (TypeError, ValueError):
            raise TypeError("{} must be a pair (x, y) of arrays, as load_data_shared "
                            "returns".format(name)) from None
        x = np.asarray(x)
        y = np.asarray(y)
        if x.ndim < 1 or y.ndim != 1 or len(x) != len(y):
            raise ValueError("{}: x has {} rows but y has shape {}".format(name, len(x) if x.ndim else 0, y.shape))
        if x.dtype.kind not in "fiub":
            raise TypeError("{}: x must hold numbers, not {}".format(name, x.dtype))
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.n_in:
            raise ValueError("{}: examples have {} values but the first layer takes {}".format(
                name, x.shape[1], self.n_in))
        m = self.mini_batch_size
        nb = len(x) // m
        if need_batches and nb == 0:
            raise ValueError("{} has {} examples, fewer than one mini-batch of {}".format(
                name, len(x), m))
        if len(x) % m:
            warnings.warn("{}: {} examples is not a multiple of the mini-batch size {}; the last {} "
                          "are left out, as network3 does".format(name, len(x), m, len(x) % m),
                          stacklevel=3)
        x = x[:nb*m]
        y = y[:nb*m]
        y = check_labels(y, len(y), self.layers[-1].n_out, name + " labels")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        check_finite(x, name)
        return x, np.ascontiguousarray(y, dtype=np.int64), nb

    def _kernel_net(self):
        from ._core import _conv
        return _conv.Net([layer._spec() for layer in self.layers], self.mini_batch_size,
                         self.dtype, min(get_num_threads(), self.mini_batch_size))

    def _draw_masks(self, count):
        """Dropout masks for ``count`` mini-batches: a uint8 0/1 array
        (count, m, n_in) per layer that drops out, None for the others."""
        masks = []
        for layer in self.layers:
            if layer.p_dropout > 0:
                keep = self.rng.random((count, self.mini_batch_size, layer.n_in), dtype=np.float32) \
                    >= layer.p_dropout
                masks.append(keep.view(np.uint8))
            else:
                masks.append(None)
        return masks

    # -- evaluation -----------------------------------------------------------

    def _predict_batches(self, x, nb, knet=None):
        if self._backend() == "numpy":
            return reference3.predict(self.layers, x[:nb*self.mini_batch_size], self.mini_batch_size)
        knet = knet or self._kernel_net()
        with one_blas_thread():
            return knet.predict(x, nb)

    def feedforward(self, x):
        """The softmax outputs (evaluation mode: dropout replaced by its
        1-p scaling) for the rows of ``x``; a tail that does not fill a
        mini-batch is padded, so every row gets an answer."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise TypeError("feedforward takes numbers, not {}".format(x.dtype))
        if x.size % self.n_in:
            raise ValueError("{} values do not make whole examples of {}".format(x.size, self.n_in))
        x = np.ascontiguousarray(x.reshape(-1, self.n_in), dtype=self.dtype)
        n, m = len(x), self.mini_batch_size
        nb = -(-n // m)
        if nb*m != n:
            x = np.concatenate([x, np.zeros((nb*m - n, self.n_in), dtype=self.dtype)])
        if self._backend() == "numpy":
            return reference3.feedforward(self.layers, x)[:n]
        with one_blas_thread():
            return self._kernel_net().predict(x, nb, True)[1][:n]

    def predict(self, x):
        """The digit the network picks for each row of ``x``."""
        return np.argmax(self.feedforward(x), axis=1)

    def accuracy(self, data):
        """Fraction of ``data = (x, y)`` classified correctly, over whole
        mini-batches as network3's ``validate_mb_accuracy`` counted."""
        x, y, nb = self._xy(data, "data")
        return float(np.mean(self._predict_batches(x, nb) == y))

    # -- training -------------------------------------------------------------

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0, verbose=True):
        """Train the network using mini-batch stochastic gradient descent.

        As network3: mini-batches in order, validation accuracy after each
        epoch, test accuracy whenever the validation accuracy is the best so
        far (ties count as new bests), the same printed lines (``verbose``
        turns them off).  Returns a dict of the per-epoch figures:
        ``validation_accuracy`` and ``test_accuracy`` (None in epochs that
        were not a new best) and ``training_cost`` (mean log-likelihood over
        the epoch's mini-batches, without the L2 term), plus
        ``best_validation_accuracy``, ``best_iteration`` and
        ``test_accuracy_at_best``.
        """
        from ._validation import check_epochs, check_positive_int, check_real
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        if mini_batch_size != self.mini_batch_size:
            raise ValueError("SGD's mini_batch_size {} differs from the network's {}".format(
                mini_batch_size, self.mini_batch_size))
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        training_x, training_y, num_training_batches = self._xy(training_data, "training_data")
        validation_x, validation_y, num_validation_batches = self._xy(validation_data, "validation_data")
        has_test = test_data is not None and size(test_data) > 0
        if has_test:
            test_x, test_y, num_test_batches = self._xy(test_data, "test_data")
        backend = check_backend(self._backend())
        knet = self._kernel_net() if backend == "cython" else None
        decay = lmbda / num_training_batches
        say = print if verbose else (lambda *a, **k: None)

        history = dict(validation_accuracy=[], test_accuracy=[], training_cost=[],
                       best_validation_accuracy=0.0, best_iteration=None, test_accuracy_at_best=None)
        best_validation_accuracy = 0.0
        best_iteration = None
        test_accuracy = None
        with one_blas_thread():
            for epoch in range(epochs):
                cost = 0.0
                minibatch_index = 0
                while minibatch_index < num_training_batches:
                    iteration = num_training_batches*epoch + minibatch_index
                    if iteration % 1000 == 0:
                        say("Training mini-batch number {0}".format(iteration))
                    # run up to the next printed line or the end of the epoch in one call
                    count = min(1000 - iteration % 1000, num_training_batches - minibatch_index)
                    masks = self._draw_masks(count)
                    if backend == "cython":
                        cost += knet.train(training_x, training_y, masks, minibatch_index, count,
                                           eta, decay)
                    else:
                        cost += self.mini_batch_size * reference3.sgd_batches(
                            self.layers, training_x, training_y, masks, minibatch_index, count,
                            self.mini_batch_size, eta, lmbda, num_training_batches)
                    minibatch_index += count
                iteration = num_training_batches*epoch + num_training_batches - 1
                if not np.isfinite(cost):
                    warnings.warn("epoch {}: the training cost is not finite; eta {} may be too "
                                  "large".format(epoch, eta), RuntimeWarning, stacklevel=2)
                history["training_cost"].append(cost / (num_training_batches*self.mini_batch_size))
                validation_accuracy = self._accuracy(validation_x, validation_y,
                                                     num_validation_batches, knet)
                history["validation_accuracy"].append(validation_accuracy)
                say("Epoch {0}: validation accuracy {1:.2%}".format(epoch, validation_accuracy))
                epoch_test = None
                if validation_accuracy >= best_validation_accuracy:
                    say("This is the best validation accuracy to date.")
                    best_validation_accuracy = validation_accuracy
                    best_iteration = iteration
                    if has_test:
                        test_accuracy = self._accuracy(test_x, test_y, num_test_batches, knet)
                        epoch_test = test_accuracy
                        say('The corresponding test accuracy is {0:.2%}'.format(test_accuracy))
                history["test_accuracy"].append(epoch_test)
        say("Finished training network.")
        say("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
            best_validation_accuracy, best_iteration))
        if has_test and test_accuracy is not None:
            say("Corresponding test accuracy of {0:.2%}".format(test_accuracy))
        history.update(best_validation_accuracy=best_validation_accuracy,
                       best_iteration=best_iteration, test_accuracy_at_best=test_accuracy)
        return history

    def _accuracy(self, x, y, nb, knet):
        if knet is None:
            labels = reference3.predict(self.layers, x, self.mini_batch_size)
        else:
            labels = knet.predict(x, nb)
        return float(np.mean(labels == y))

"""Drop-in for the book's chapter 6 module ``network3``, without Theano.

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
* ``Network.save(filename)`` and ``load(filename)`` keep a network, its
  weights and its training state in one ``.npz`` file (network3 had none);
* dtype: float32 by default, as network3 ran (``floatX``);
  ``Network(layers, mini_batch_size, dtype=np.float64)`` trains in double
  precision, or set ``network3.floatX = "float64"`` before creating layers;
* dropout masks come from a numpy ``Generator`` seeded by
  ``Network(..., seed=0)``: the same seed gives the same masks, on either
  backend;
* the compiled kernels (``backend="cython"``, the default) or the readable
  numpy reference (``backend="numpy"``, :mod:`fastnn.reference3`) do the
  work; ``set_num_threads(n)`` chooses how many threads the compiled path
  uses (default: all cores; one in a process made by ``os.fork()``, where
  OpenMP's threads do not carry over);
* subgradients at ties: max-pooling sends the gradient to the first maximum
  of a window (Theano sent it to every tied maximum) and ReLU'(0) = 0.
"""
import numbers
import warnings

import numpy as np

from . import _config, _conv_plan, _threads as _kernel_threads
from . import activations, optimizers, reference3, trainer
from ._config import check_backend, get_backend
from ._validation import (as_rectangular, check_dtype, check_epochs, check_finite, check_flag,
                          check_labels, check_layer_size, check_matrix_fits, check_p_dropout,
                          check_positive_int, check_shape, checked_attribute, layer_parameter)
from .optimizers import Schedule, check_learning_rate_value
from .reference3 import activation_spec, check_activation_fn
from .reference3 import linear, ReLU, sigmoid, tanh   # noqa: F401  (the book's names)
from .trainer import one_blas_thread

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer",
           "linear", "ReLU", "sigmoid", "tanh", "LeakyReLU", "load_data_shared", "load", "size",
           "dropout_layer", "set_num_threads", "get_num_threads", "floatX", "GPU"]

#: dtype of newly created layers' parameters (network3's ``theano.config.floatX``).
floatX = "float32"

#: network3 switched Theano to the GPU when this was True.  fastnn has CPU
#: kernels only: the name is kept so the book's programs run, and it is
#: always False (setting it changes nothing).
GPU = False

#: Leaky ReLU (slope 0.01), usable as any layer's ``activation_fn``; another
#: slope: ``activation_fn=fastnn.activations.get("leaky_relu", slope=0.2)``
#: (any hidden activation of ``fastnn.activations`` is accepted that way).
LeakyReLU = activations.get("leaky_relu")


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

def set_num_threads(n=None):
    """Threads the compiled kernels use: a whole number >= 1, or None for
    the default (``FASTNN_NUM_THREADS``, else ``OMP_NUM_THREADS``, else every
    core this process may run on).  Honoured when fastnn was built with
    OpenMP; the results depend on ``n`` only, not on OpenMP being there.

    This is the process's one thread setting (``fastnn._config``): ``MLP``
    follows it too.  It belongs to the process that makes it: a child made by
    ``os.fork()`` starts from one thread (see :mod:`fastnn._threads`)."""
    _config.set_num_threads(n)


def get_num_threads():
    """The thread count the compiled kernels will use (at most the
    mini-batch size: each thread works on its own examples).  In a forked
    child this is 1 until ``set_num_threads`` is called there, and stays 1
    if the parent had already run the kernels with threads."""
    return _config.get_num_threads(default=_config.all_cores)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def load_data_shared(filename=None, expanded=False, seed=0, cache_dir=None):
    """Return ``[(training_x, training_y), (validation_x, validation_y),
    (test_x, test_y)]``: float32 images of 784 pixels in [0, 1) and int64
    labels, as network3's shared variables held them.

    ``filename`` is a directory holding the MNIST files or a
    ``mnist.pkl.gz``; by default the data are found as
    :func:`fastnn.datasets.load_mnist` finds them.  A ``filename`` naming an
    existing ``mnist_expanded.pkl.gz``, as ``python -m fastnn.expand_mnist``
    writes it, is read as it is (:func:`fastnn.datasets.load_expanded_pickle`).
    With ``expanded=True`` (or a ``filename`` naming ``mnist_expanded.pkl.gz``
    that does not exist) the training set is the 250,000 images of the book's
    ``expand_mnist.py``, built once and cached (:mod:`fastnn.expand`) in
    ``cache_dir`` (default: the MNIST download cache); the call that builds
    it prints where the file went and its size.
    """
    from . import datasets
    return datasets.load_data_shared(filename, expanded, seed, cache_dir)


def load(filename, backend=None):
    """The network that ``Network.save`` (or ``fastnn train --preset ...
    --out``) wrote to ``filename``, an ``.npz`` file or the ``--out``
    folder holding ``network.npz``: its layers, weights and training state
    (``SGD`` goes on where the saved network stopped).  Nothing is
    unpickled; a damaged or foreign file raises ValueError naming the file
    and what is wrong, a missing one FileNotFoundError.  ``backend`` as for
    ``Network``."""
    from . import _network3_file
    return _network3_file.load(filename, backend)


def size(data):
    """The number of examples in a data set ``(x, y)``: ``len(x)``."""
    try:
        return len(data[0])
    except (TypeError, IndexError, KeyError):
        raise TypeError("data must be a pair (x, y) of arrays, as load_data_shared returns, "
                        "not {}".format(type(data).__name__)) from None


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------

class ConvPoolLayer(object):
    """A convolution and the max-pooling of its output, as one layer, the
    way network3 builds them: each filter is convolved (flipped, as Theano
    did) with every example's input maps, each ``poolsize`` window of the
    result keeps its maximum, and the bias and ``activation_fn`` come after
    the pooling.  No dropout."""
    is_conv = True
    is_softmax = False

    filter_shape = checked_attribute("filter_shape", lambda v: check_shape(v, 4, "filter_shape"))
    image_shape = checked_attribute("image_shape", lambda v: check_shape(v, 4, "image_shape"))
    poolsize = checked_attribute("poolsize", lambda v: check_shape(v, 2, "poolsize"))
    activation_fn = checked_attribute("activation_fn", check_activation_fn)

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        """The shapes, as tuples of whole numbers:

        * ``filter_shape``: (filters, input maps, rows, columns) of ``w``;
        * ``image_shape``: (mini-batch size, input maps, rows, columns) of
          the layer's input; the first entry must be the network's
          ``mini_batch_size``;
        * ``poolsize``: (rows, columns) of each pooling window.

        Each is checked whenever it is assigned, here or later; how they fit
        together is checked here and again before the network computes: the
        input maps must agree, the filter must fit in the image and the
        window in the convolution's output, else ValueError.

        ``w`` is then drawn from ``np.random.normal`` with standard
        deviation sqrt(1/n_out), where n_out = filters * rows * columns /
        window area, and ``b`` (one bias a filter) with standard deviation
        1, in that order, as ``floatX``.
        """
        self.filter_shape = filter_shape
        self.image_shape = image_shape
        self.poolsize = poolsize
        self.activation_fn = activation_fn
        self._geometry()
        # network3's draws in its order, so a seeded program starts alike
        filter_shape, poolsize = self.filter_shape, self.poolsize
        n_out = (filter_shape[0]*np.prod(filter_shape[2:])/np.prod(poolsize))
        self.w = np.asarray(
            np.random.normal(loc=0, scale=np.sqrt(1.0/n_out), size=filter_shape), dtype=floatX)
        self.b = np.asarray(
            np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)), dtype=floatX)

    @property
    def p_dropout(self):
        """Always 0: network3 has no dropout in convolutional layers."""
        return 0.0

    @p_dropout.setter
    def p_dropout(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != 0:
            raise ValueError("p_dropout of a ConvPoolLayer must be 0: network3 has no dropout "
                             "in convolutional layers, not {!r}".format(value))

    @property
    def output_shape(self):
        """(filters, pooled height, pooled width) of one example's output."""
        return self._geometry()

    def _geometry(self):
        """``output_shape``, after checking that filter_shape, image_shape and
        poolsize (each checked alone when assigned) fit together."""
        f, c, kh, kw = self.filter_shape
        _, c_img, h, w = self.image_shape
        if c != c_img:
            raise ValueError("filter_shape {} has {} input feature maps but image_shape {} has {}".format(
                self.filter_shape, c, self.image_shape, c_img))
        if kh > h or kw > w:
            raise ValueError("filter_shape {}: the {}x{} filter is larger than the {}x{} image of "
                             "image_shape".format(self.filter_shape, kh, kw, h, w))
        oh, ow = h - kh + 1, w - kw + 1
        if oh < self.poolsize[0] or ow < self.poolsize[1]:
            raise ValueError("poolsize {} is larger than the {}x{} convolution output".format(
                self.poolsize, oh, ow))
        return (f, oh // self.poolsize[0], ow // self.poolsize[1])

    @property
    def n_in(self):
        """Inputs per example: channels x height x width of image_shape."""
        _, c, h, w = self.image_shape
        return c * h * w

    @property
    def n_out_units(self):
        f, qh, qw = self.output_shape
        return f * qh * qw

    @property
    def params(self):
        return [self.w, self.b]

    def _spec(self, dtype):
        """The layer as the kernels read it, checked now (see ``_param``)."""
        self._geometry()
        return dict(kind="conv", **activation_spec(self.activation_fn),
                    w=layer_parameter(self, "w", self.filter_shape, dtype, "filter_shape"),
                    b=layer_parameter(self, "b", self.filter_shape[:1], dtype, "filter_shape"),
                    image_shape=self.image_shape, filter_shape=self.filter_shape,
                    poolsize=self.poolsize, p_dropout=0.0)


class _DenseLayer(object):
    """What FullyConnectedLayer and SoftmaxLayer share: (n_in, n_out)
    weights and dropout of the layer's inputs."""

    is_conv = False
    n_in = checked_attribute("n_in", lambda v: check_layer_size(v, "n_in"))
    n_out = checked_attribute("n_out", lambda v: check_layer_size(v, "n_out"))
    p_dropout = checked_attribute("p_dropout", check_p_dropout)

    @property
    def n_out_units(self):
        return self.n_out

    @property
    def params(self):
        return [self.w, self.b]

    def _spec(self, dtype):
        """The layer as the kernels read it, checked now (see ``_param``)."""
        return dict(kind="softmax" if self.is_softmax else "fc",
                    **activation_spec(linear if self.is_softmax else self.activation_fn),
                    w=layer_parameter(self, "w", (self.n_in, self.n_out), dtype, "(n_in, n_out)"),
                    b=layer_parameter(self, "b", (self.n_out,), dtype, "n_out"), p_dropout=self.p_dropout)


class FullyConnectedLayer(_DenseLayer):
    """``n_out`` neurons each seeing all ``n_in`` inputs: activation_fn(x w
    + b), with ``w`` of shape (n_in, n_out).  ``p_dropout`` drops the
    layer's inputs during training."""

    is_softmax = False
    activation_fn = checked_attribute("activation_fn", check_activation_fn)

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.activation_fn = activation_fn
        self.p_dropout = p_dropout
        check_matrix_fits(self.n_in, self.n_out, "FullyConnectedLayer(n_in={}, n_out={})".format(
            self.n_in, self.n_out), np.dtype(floatX).itemsize)
        # w ~ N(0, 1/n_out), then b ~ N(0, 1): network3's draws, in its order
        self.w = np.asarray(
            np.random.normal(loc=0.0, scale=np.sqrt(1.0/n_out), size=(n_in, n_out)), dtype=floatX)
        self.b = np.asarray(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)), dtype=floatX)


class SoftmaxLayer(_DenseLayer):
    """The output layer: softmax(x w + b) over ``n_out`` classes, trained on
    its log-likelihood.  ``p_dropout`` drops the layer's inputs during
    training."""

    is_softmax = True
    activation_fn = None

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.p_dropout = p_dropout
        check_matrix_fits(self.n_in, self.n_out, "SoftmaxLayer(n_in={}, n_out={})".format(
            self.n_in, self.n_out), np.dtype(floatX).itemsize)
        # zeros, as network3 starts this layer: nothing is drawn
        self.w = np.zeros((n_in, n_out), dtype=floatX)
        self.b = np.zeros((n_out,), dtype=floatX)


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
        """A network of ``layers`` in order (ConvPoolLayer and
        FullyConnectedLayer objects, ending in a SoftmaxLayer) that takes
        its examples ``mini_batch_size`` at a time, in training and in
        evaluation alike.  Each layer's ``n_in`` must match the outputs of
        the one before, else ValueError.

        ``dtype`` (float32 or float64) converts every layer's parameters;
        by default they keep the dtype they were created with (``floatX``).
        ``backend`` is "cython", "numpy" or None (the process-wide
        ``fastnn.get_backend()``, read each time the network trains or
        predicts).  ``seed`` (an int or a numpy Generator) drives the
        dropout masks.
        """
        self.layers = list(layers)
        self.mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        if self.mini_batch_size > 2**31 - 1:    # the kernels' indices, on either backend
            raise ValueError("mini_batch_size must be at most 2**31-1, not {}".format(mini_batch_size))
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for j, layer in enumerate(self.layers):
            if not isinstance(layer, (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)):
                raise TypeError("layer {} is not a network3 layer: {!r}".format(j, layer))
        if not isinstance(self.layers[-1], SoftmaxLayer):
            raise ValueError("the last layer must be a SoftmaxLayer: its log-likelihood is the cost")
        if dtype is None:
            dtypes = {p.dtype for layer in self.layers for p in (layer.w, layer.b)
                      if isinstance(p, np.ndarray)}
            if len(dtypes) > 1:
                raise TypeError("the layers' parameters mix dtypes {}; pass dtype=".format(sorted(map(str, dtypes))))
            dtype = dtypes.pop() if dtypes else floatX
        self.dtype = np.dtype(check_dtype(dtype))
        self.backend = None if backend is None else check_backend(backend)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._step = None   # the optimizer and its state, kept from one SGD call to the next
        self._specs()   # checks the layers fit together; converts w and b to dtype

    @property
    def n_in(self):
        """Inputs per example: those of the first layer."""
        return self.layers[0].n_in

    def _specs(self):
        """Every layer as the kernels read it (``_spec``), checked now rather
        than only in ``__init__``: layers may be changed after the network was
        built, and the kernels trust what they are given.  Both backends go
        through here before they run."""
        specs = []
        for j, layer in enumerate(self.layers):
            try:
                specs.append(layer._spec(self.dtype))
            except (TypeError, ValueError) as exc:
                raise type(exc)("layer {} ({}): {}".format(j, type(layer).__name__, exc)) from None
        for j, layer in enumerate(self.layers):
            if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != self.mini_batch_size:
                raise ValueError("layer {}: image_shape {} is for mini-batches of {}, but "
                                 "mini_batch_size is {}".format(j, layer.image_shape,
                                                                layer.image_shape[0],
                                                                self.mini_batch_size))
            if j > 0 and layer.n_in != self.layers[j-1].n_out_units:
                raise ValueError("layer {} ({}) takes {} inputs (n_in), but layer {} ({}) gives "
                                 "{}".format(j, type(layer).__name__, layer.n_in, j-1,
                                             type(self.layers[j-1]).__name__,
                                             self.layers[j-1].n_out_units))
        return specs

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
        try:
            x, y = data
        except (TypeError, ValueError):
            raise TypeError("{} must be a pair (x, y) of arrays, as load_data_shared "
                            "returns".format(name)) from None
        self._specs()
        x = as_rectangular(x, name + " x")
        y = as_rectangular(y, name + " y")
        if x.ndim < 1 or y.ndim != 1 or len(x) != len(y):
            raise ValueError("{}: x has {} rows but y has shape {}".format(name, len(x) if x.ndim else 0, y.shape))
        if x.dtype.kind not in "fiub":
            raise TypeError("{}: x must hold numbers, not {}".format(name, x.dtype))
        if len(x) == 0:
            raise ValueError("{} has no examples".format(name))
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
        return self._net_for(self._specs())

    def _net_for(self, specs):
        from ._core import _conv
        threads = _kernel_threads.effective_threads(min(get_num_threads(), self.mini_batch_size))
        return _conv.Net(specs, _conv_plan.plan(specs, self.mini_batch_size, threads, self.dtype))

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
        specs = self._specs()
        x = as_rectangular(x, "feedforward input")
        if x.dtype.kind not in "fiub":
            raise TypeError("feedforward takes numbers, not {}".format(x.dtype))
        if x.size % self.n_in:
            raise ValueError("{} values do not make whole examples of {}".format(x.size, self.n_in))
        x = np.ascontiguousarray(x.reshape(-1, self.n_in), dtype=self.dtype)
        check_finite(x, "feedforward input")
        n, m = len(x), self.mini_batch_size
        if n == 0:
            return np.zeros((0, self.layers[-1].n_out), dtype=self.dtype)
        if self._backend() == "numpy":
            return reference3.feedforward(self.layers, x)   # row by row: any count of rows
        knet = self._net_for(specs)   # before padding: it checks that the sizes fit the kernels
        nb = -(-n // m)
        if nb*m != n:
            x = np.concatenate([x, np.zeros((nb*m - n, self.n_in), dtype=self.dtype)])
        with one_blas_thread():
            return knet.predict(x, nb, True)[1][:n]

    def predict(self, x):
        """The digit the network picks for each row of ``x``."""
        return np.argmax(self.feedforward(x), axis=1)

    def accuracy(self, data):
        """Fraction of ``data = (x, y)`` classified correctly, over whole
        mini-batches as network3's ``validate_mb_accuracy`` counted."""
        x, y, nb = self._xy(data, "data")
        return float(np.mean(self._predict_batches(x, nb) == y))

    # -- training -------------------------------------------------------------

    def training_state(self):
        """What a later ``SGD`` call needs to go on exactly where the last one
        stopped, as JSON-ready data: the optimizer, its state arrays (the
        velocities, Adam's moments) and the dropout generator's state.  A
        call with the same optimizer goes on from that state by itself; this
        is for saving it (``fastnn train --out``) and putting it back
        (``load_training_state``) in another process."""
        return optimizers.training_state(self._step, self.rng)

    def save(self, filename):
        """Write the network to ``filename`` (an ``.npz``, written atomically):
        its layers, their weights and biases and ``training_state()``, so
        that ``load(filename)`` gives it back ready to go on training.  This
        is the ``network.npz`` that ``fastnn train --preset ... --out``
        writes (the format is described in ``fastnn._network3_file``)."""
        from . import _network3_file
        _network3_file.save(self, filename)

    def load_training_state(self, saved):
        """Put back ``training_state()``'s record, checked against this
        network's layers (ValueError naming what does not fit)."""
        self._step, self.rng = optimizers.load_training_state(
            saved, [(layer.w, layer.b) for layer in self.layers])

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0, momentum=0.0, l1=0.0,
            early_stopping=None, learning_rate_schedule=None, on_progress=None, verbose=True,
            optimizer=None, restore_best=False):
        """Train on ``training_data`` for ``epochs`` epochs with rate ``eta``
        and L2 strength ``lmbda``, scoring on ``validation_data`` and
        ``test_data`` (each an ``(x, y)`` pair of arrays, as
        ``load_data_shared`` gives; ``test_data`` may be None).

        As network3: mini-batches in order, validation accuracy after each
        epoch, test accuracy whenever the validation accuracy is the best so
        far (ties count as new bests), the same printed lines (``verbose``
        turns them off).  Returns a dict of the per-epoch figures:
        ``validation_accuracy``, ``test_accuracy`` (None in epochs that were
        not a new best), ``training_cost`` (mean log-likelihood over the
        epoch's mini-batches, without the regularization terms) and ``eta``,
        plus ``best_validation_accuracy``, ``best_iteration`` and
        ``test_accuracy_at_best``.

        Beyond the book: ``optimizer`` (``"sgd"``, ``"adam"``, ``"adamw"`` or
        ``fastnn.SGD``/``Adam``/``AdamW``; ``eta`` is its step size),
        ``momentum`` (mu in [0, 1), the shortcut for ``fastnn.SGD(momentum=mu)``)
        and ``l1`` (chapter 3's L1 term, ``l1/num_training_batches`` as
        ``lmbda`` is) on every layer, conv layers included
        (``fastnn.optimizers``); ``early_stopping=k``
        stops after ``k`` epochs without a new best validation accuracy (a
        tie is a new best, as above); ``restore_best=True`` puts the best
        epoch's weights back at the end (network3 kept the last ones);
        ``learning_rate_schedule`` is a callable ``epoch -> eta`` or
        ``fastnn.HalveOnPlateau(patience)`` (halving from ``eta``);
        ``on_progress(done, total)`` is called with the epoch's mini-batches
        done, several times a second.  Training runs on fastnn's one loop
        (``fastnn.trainer``): Ctrl-C stops it within about a second, and
        weights that become NaN or infinite raise ``fastnn.TrainingDiverged``
        naming the epoch.  The dict is also ``self.history`` from the start
        of the call, so after Ctrl-C (KeyboardInterrupt) or divergence it
        holds the epochs that finished.
        """
        epochs = check_epochs(epochs)
        mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size")
        if mini_batch_size != self.mini_batch_size:
            raise ValueError("SGD's mini_batch_size {} differs from the network's {}".format(
                mini_batch_size, self.mini_batch_size))
        eta = check_learning_rate_value(eta, "eta")
        schedule = Schedule(eta if learning_rate_schedule is None else learning_rate_schedule,
                            "learning_rate_schedule" if learning_rate_schedule is not None else "eta",
                            default_start=eta)
        if early_stopping is not None:
            early_stopping = check_positive_int(early_stopping, "early_stopping")
        restore_best = check_flag(restore_best, "restore_best")
        training_x, training_y, num_training_batches = self._xy(training_data, "training_data")
        validation_x, validation_y, num_validation_batches = self._xy(validation_data, "validation_data")
        has_test = test_data is not None and size(test_data) > 0
        if has_test:
            test_x, test_y, num_test_batches = self._xy(test_data, "test_data")
        self._test_x = test_x if has_test else None      # for test_mb_predictions
        backend = check_backend(self._backend())
        knet = self._kernel_net() if backend == "cython" else None
        step = self._step = optimizers.continue_step(
            self._step, [(layer.w, layer.b) for layer in self.layers], num_training_batches,
            lmbda, l1, optimizers.get(optimizer, momentum))
        step.eta = schedule.eta
        step.check_dtype(self.dtype)
        say = print if verbose else (lambda *a, **k: None)
        engine = _Engine(self, training_x, training_y, num_training_batches, knet, step, say)

        history = dict(validation_accuracy=[], test_accuracy=[], training_cost=[], eta=[],
                       best_validation_accuracy=0.0, best_iteration=None, test_accuracy_at_best=None)

        warned = []     # the diverged-cost warning, once per call

        def after_epoch(epoch, eta):
            validation_accuracy = self._accuracy(validation_x, validation_y,
                                                 num_validation_batches, knet)
            record = {"epoch": epoch, "eta": eta,
                      "iteration": num_training_batches*epoch + num_training_batches - 1,
                      "training_cost": engine.cost / (num_training_batches*self.mini_batch_size),
                      "val_accuracy": validation_accuracy, "test_accuracy": None}
            trainer.warn_if_cost_diverged(record["training_cost"], self.layers[-1].n_out, epoch,
                                          warned)
            _add_epoch(history, record)     # the epoch is finished: kept even after Ctrl-C
            say("Epoch {0}: validation accuracy {1:.2%}".format(epoch, validation_accuracy))
            return record

        def on_record(epoch, record, new_best):
            # the trainer decides what is a new best (a tie is); network3
            # reports it and scores the test data then
            if new_best:
                say("This is the best validation accuracy to date.")
                if has_test:
                    record["test_accuracy"] = history["test_accuracy"][-1] = \
                        self._accuracy(test_x, test_y, num_test_batches, knet)
                    say('The corresponding test accuracy is {0:.2%}'.format(record["test_accuracy"]))
                history.update(best_validation_accuracy=record["val_accuracy"],
                               best_iteration=record["iteration"],
                               test_accuracy_at_best=record["test_accuracy"])

        from . import progress   # a bar per epoch when verbose, on a terminal
        self.history = history     # filled epoch by epoch: after Ctrl-C it holds the finished ones
        trainer.run(engine, epochs, schedule, after_epoch,
                    progress.attach(on_progress, verbose, epochs), early_stopping, restore_best,
                    on_record=on_record)
        say("Finished training network.")
        say("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
            history["best_validation_accuracy"], history["best_iteration"]))
        if has_test and history["test_accuracy_at_best"] is not None:
            say("Corresponding test accuracy of {0:.2%}".format(history["test_accuracy_at_best"]))
        return history

    def test_mb_predictions(self, i):
        """The digits the network predicts for mini-batch ``i`` of the test
        data given to the latest ``SGD`` call: an int array of
        ``mini_batch_size`` labels, computed with the current weights.

        In network3 this was a Theano function that ``SGD`` built over its
        test data; here it is a method reading the test images that ``SGD``
        kept (no copy), so it needs an earlier ``SGD`` call with test data.
        """
        test_x = getattr(self, "_test_x", None)
        if test_x is None:
            raise RuntimeError("test_mb_predictions needs a previous SGD call given test_data")
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError("test_mb_predictions takes a mini-batch number, not {!r}".format(i))
        count = len(test_x) // self.mini_batch_size
        if not 0 <= i < count:
            raise IndexError("test_mb_predictions: mini-batch {} out of range: the test data "
                             "holds {} mini-batches (0..{})".format(i, count, count - 1))
        m = self.mini_batch_size
        return self.predict(test_x[i*m:(i+1)*m])

    def _accuracy(self, x, y, nb, knet):
        if knet is None:
            labels = reference3.predict(self.layers, x, self.mini_batch_size)
        else:
            labels = knet.predict(x, nb)
        return float(np.mean(labels == y))


def _add_epoch(history, record):
    """``SGD``'s return value, grown by one epoch's trainer record (the
    best-epoch figures follow when the trainer finds a new best)."""
    history["validation_accuracy"].append(record["val_accuracy"])
    history["test_accuracy"].append(record["test_accuracy"])
    history["training_cost"].append(record["training_cost"])
    history["eta"].append(record["eta"])


class _Engine(object):
    """A network3 network and its training data for ``trainer.run``:
    mini-batches in order, the book's "Training mini-batch number" line
    every 1,000 mini-batches, and the epoch's summed cost in ``cost``.

    Dropout masks are drawn a block at a time, one block per stretch of
    mini-batches between two printed lines (or the epoch's ends), whatever
    the trainer's chunks are: the same seed gives the same masks however the
    epoch was cut into kernel calls."""

    def __init__(self, net, x, y, batches, knet, step, say):
        self.net, self.x, self.y, self.batches = net, x, y, batches
        self.knet, self.step, self.say = knet, step, say
        self.epoch, self.cost = 0, 0.0
        self.block = None       # (first mini-batch, masks) of the current block

    def begin_epoch(self, epoch):
        self.epoch, self.cost, self.block = epoch, 0.0, None

    def train(self, first, count, eta):
        self.step.eta = eta
        net = self.net
        end = first + count
        while first < end:
            iteration = self.batches*self.epoch + first
            if iteration % 1000 == 0:
                self.say("Training mini-batch number {0}".format(iteration))
            block_start = max(0, first - iteration % 1000)
            block_end = min(first + 1000 - iteration % 1000, self.batches)
            if self.block is None or self.block[0] != block_start:
                self.block = (block_start, net._draw_masks(block_end - block_start))
            run = min(block_end, end) - first
            lo = first - block_start
            masks = [None if mk is None else mk[lo:lo + run] for mk in self.block[1]]
            if self.knet is not None:
                self.cost += self.knet.train(self.x, self.y, masks, first, run, self.step)
            else:
                self.cost += net.mini_batch_size * reference3.sgd_batches(
                    net.layers, self.x, self.y, masks, first, run, net.mini_batch_size, self.step)
            first += run

    def parameters(self):
        return [p for layer in self.net.layers for p in (layer.w, layer.b)]

    def parameter_names(self):
        return ["layer {} ({}) {}".format(l, type(layer).__name__, name)
                for l, layer in enumerate(self.net.layers) for name in ("w", "b")]

"""The numpy reference for chapter 6: every layer of network3, forward and back.

This module is the oracle the compiled kernels in ``fastnn._core._conv`` are
tested against, and the baseline the benchmarks measure them against.  It
does by hand what Theano's ``T.grad`` did for the book's ``network3.py``:
each layer has a ``forward`` that remembers what its backward pass needs and
a ``backward`` that turns the gradient of the cost with respect to its
output into the gradients of its parameters and of its input.

Conventions, shared with the compiled path:

* a mini-batch is an array with one example per *row*; a convolutional layer
  sees it as ``(m, channels, height, width)`` (Theano's layout), a fully
  connected or softmax layer as ``(m, n_in)``;
* ``ConvPoolLayer`` weights have the book's shape
  ``(filters, channels, kh, kw)`` and are used as Theano's ``conv2d`` used
  them: a *true* convolution, the filter flipped in both spatial axes;
* ``FullyConnectedLayer``/``SoftmaxLayer`` weights are ``(n_in, n_out)`` and
  ``z = a @ w + b``, as in network3;
* dropout masks are 0/1 arrays of the layer's *input* shape, drawn by the
  caller (network3 drops a layer's inputs, not its outputs), so the reference
  and the compiled kernels can be handed the same masks.

Two places where a subgradient has to be chosen (both have probability zero
with real-valued data, but can happen on exact zeros):

* max-pooling sends the gradient to the *first* maximum of each window, in
  row-major order, as PyTorch and cuDNN do (Theano sent it to every tied
  maximum);
* the derivative of ``ReLU`` at exactly 0 is taken as 0.
"""
import collections.abc

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import activations, optimizers
from .activations import sigmoid, softmax   # network3's sigmoid is chapter 1's


# ---------------------------------------------------------------------------
# Activation functions (the book's four; derivatives and the rest: fastnn.activations)
# ---------------------------------------------------------------------------

def linear(z):
    return activations.linear(z)


def ReLU(z):
    return activations.relu(z)


def tanh(z):
    return activations.tanh(z)


#: network3's four activation functions, the book's names, as registry rows
#: (``fastnn.activations``).  Any other activation comes as an ``Activation``.
BOOK = {linear: "linear", ReLU: "relu", sigmoid: "sigmoid", tanh: "tanh"}
#: The book's activations network3 offers.
ACTIVATIONS = tuple(BOOK)


def as_activation(activation_fn):
    """``activation_fn`` (one of the book's four functions, or a hidden
    ``fastnn.activations.Activation``) as an ``Activation``."""
    if isinstance(activation_fn, activations.Activation) and activation_fn.row.hidden:
        return activation_fn
    try:
        return activations.get(BOOK[activation_fn])
    except (KeyError, TypeError):
        raise TypeError("no derivative known for activation {!r}".format(activation_fn)) from None


def check_activation_fn(fn):
    """network3's ``activation_fn`` argument, checked: the book's four
    functions (or their names), or a hidden activation of
    ``fastnn.activations`` (an ``Activation``, or a registry name)."""
    if isinstance(fn, activations.Activation):
        return fn if fn.row.hidden else _bad_activation(fn)
    if isinstance(fn, collections.abc.Hashable) and fn in BOOK:    # an array is not
        return fn
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
    for known in BOOK:
        if name == known.__name__:
            return known
    if isinstance(fn, str) and fn in activations.HIDDEN:
        return activations.get(fn)
    return _bad_activation(fn)


def _bad_activation(fn):
    raise TypeError("activation_fn must be one of network3.linear, ReLU, sigmoid, tanh (or their "
                    "names), network3.LeakyReLU, or a hidden activation of fastnn.activations (an "
                    "Activation, or one of the names {}), not {!r}".format(
                        ", ".join(activations.HIDDEN), fn))


def activation_spec(activation_fn):
    """The kernels' description of ``activation_fn``: code and parameter."""
    act = as_activation(activation_fn)
    return dict(act=act.code, act_param=act.param)


def activation_prime(activation_fn, a):
    """The derivative of ``activation_fn`` written in terms of its output ``a``
    (what the forward pass keeps): see ``fastnn.activations``."""
    return as_activation(activation_fn).prime(a)


# ---------------------------------------------------------------------------
# Convolution and max-pooling
# ---------------------------------------------------------------------------

def conv_forward(x, w):
    """Theano's ``conv2d(x, w)`` in 'valid' mode: a true convolution,

        out[n, f, i, j] = sum_{c,u,v} x[n, c, i+u, j+v] * w[f, c, kh-1-u, kw-1-v]

    for ``x`` of shape (m, C, H, W) and ``w`` of shape (F, C, kh, kw); the
    output is (m, F, H-kh+1, W-kw+1)."""
    kh, kw = w.shape[2:]
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))   # (m, C, OH, OW, kh, kw)
    flipped = w[:, :, ::-1, ::-1]
    out = np.tensordot(windows, flipped, axes=([1, 4, 5], [1, 2, 3]))  # (m, OH, OW, F)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv_backward(x, w, dout, need_dx=True):
    """Gradients of ``conv_forward(x, w)`` given ``dout = dC/d out``:
    returns ``(dw, dx)`` (``dx`` is None unless ``need_dx``)."""
    kh, kw = w.shape[2:]
    oh, ow = dout.shape[2:]
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))
    dflipped = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, kh, kw)
    dw = np.ascontiguousarray(dflipped[:, :, ::-1, ::-1])
    if not need_dx:
        return dw, None
    flipped = w[:, :, ::-1, ::-1]
    dx = np.zeros_like(x)
    for u in range(kh):
        for v in range(kw):
            # every output (i, j) saw input (i+u, j+v) through flipped[:, :, u, v]
            contrib = np.tensordot(dout, flipped[:, :, u, v], axes=([1], [0]))  # (m, OH, OW, C)
            dx[:, :, u:u+oh, v:v+ow] += contrib.transpose(0, 3, 1, 2)
    return dw, dx


def pool_forward(conv_out, poolsize):
    """Max-pooling over non-overlapping ``poolsize`` windows, dropping the
    rows and columns that do not fill a window (Theano's
    ``ignore_border=True``).  Returns ``(pooled, argmax)``, ``argmax`` the
    index of the first maximum within each window (row-major)."""
    m, f, h, w = conv_out.shape
    ph, pw = poolsize
    hh, ww = h // ph, w // pw
    x = conv_out[:, :, :hh*ph, :ww*pw].reshape(m, f, hh, ph, ww, pw)
    windows = x.transpose(0, 1, 2, 4, 3, 5).reshape(m, f, hh, ww, ph*pw)
    argmax = windows.argmax(axis=4)
    pooled = np.take_along_axis(windows, argmax[..., None], axis=4)[..., 0]
    return pooled, argmax


def pool_backward(dpooled, argmax, conv_shape, poolsize):
    """Route each pooled gradient back to the window entry that won."""
    m, f, h, w = conv_shape
    ph, pw = poolsize
    hh, ww = dpooled.shape[2:]
    onehot = (np.arange(ph*pw) == argmax[..., None])
    dwindows = onehot * dpooled[..., None]                    # (m, f, hh, ww, ph*pw)
    dx = np.zeros(conv_shape, dtype=dpooled.dtype)
    dx[:, :, :hh*ph, :ww*pw] = (dwindows.reshape(m, f, hh, ww, ph, pw)
                                .transpose(0, 1, 2, 4, 3, 5).reshape(m, f, hh*ph, ww*pw))
    return dx


# ---------------------------------------------------------------------------
# Layers: forward (training and evaluation) and backward
# ---------------------------------------------------------------------------
#
# Each layer is described by a ``spec`` (the network3 layer object: it has
# ``w``, ``b``, ``activation_fn`` and the shapes) so this module needs no
# classes of its own.

def convpool_forward(layer, x):
    """Forward pass of a ConvPoolLayer on the flat mini-batch ``x``;
    returns ``(a, cache)``.  There is no dropout in convolutional layers."""
    m = x.shape[0]
    image = x.reshape((m,) + tuple(layer.image_shape[1:]))
    conv_out = conv_forward(image, layer.w)
    pooled, argmax = pool_forward(conv_out, layer.poolsize)
    a = layer.activation_fn(pooled + layer.b[None, :, None, None])
    return a.reshape(m, -1), (image, conv_out.shape, argmax, a)


def convpool_backward(layer, cache, da, need_dx=True):
    """Backward pass of a ConvPoolLayer: ``da`` is dC/d(output), flat.
    Returns ``(dw, db, dx)`` with ``dx`` flat (None unless ``need_dx``)."""
    image, conv_shape, argmax, a = cache
    dz = da.reshape(a.shape) * activation_prime(layer.activation_fn, a)
    db = dz.sum(axis=(0, 2, 3))
    dconv = pool_backward(dz, argmax, conv_shape, layer.poolsize)
    dw, dx = conv_backward(image, layer.w, dconv, need_dx)
    return dw, db, (dx.reshape(dx.shape[0], -1) if need_dx else None)


def dense_forward(layer, x, mask=None, training=False):
    """Forward pass of a FullyConnectedLayer or SoftmaxLayer.

    Training: the layer's inputs are multiplied by the 0/1 ``mask`` (when
    the layer drops out) and ``z = x @ w + b``.  Evaluation: no units are
    dropped and the weighted input is scaled by ``1 - p_dropout`` instead,
    network3's rule.  Returns ``(a, cache)``."""
    if training:
        xd = x if mask is None else x * mask
        z = xd @ layer.w + layer.b
    else:
        xd = x
        z = (1 - layer.p_dropout) * (x @ layer.w) + layer.b
    a = softmax(z) if layer.is_softmax else layer.activation_fn(z)
    return a, (xd, mask, z, a)


def dense_backward(layer, cache, dz_or_da, need_dx=True):
    """Backward pass of a dense layer.  For a FullyConnectedLayer the argument
    is dC/da; for the SoftmaxLayer it is already dC/dz (see
    ``log_likelihood_delta``).  Returns ``(dw, db, dx)``."""
    xd, mask, z, a = cache
    if layer.is_softmax:
        dz = dz_or_da
    else:
        dz = dz_or_da * activation_prime(layer.activation_fn, a)
    dw = xd.T @ dz
    db = dz.sum(axis=0)
    dx = None
    if need_dx:
        dx = dz @ layer.w.T
        if mask is not None:
            dx = dx * mask
    return dw, db, dx


def log_likelihood(z, a, y):
    """network3's cost, -mean(log a[y]), computed from ``z`` as
    logsumexp(z) - z[y] so that it stays finite when a[y] underflows."""
    zmax = z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def log_likelihood_delta(a, y):
    """dC/dz for the softmax output under the log-likelihood cost averaged
    over the mini-batch: (a - e_y)/m."""
    d = a.copy()
    d[np.arange(len(y)), y] -= 1
    return d / len(y)


# ---------------------------------------------------------------------------
# The network: forward, backprop, one step of SGD
# ---------------------------------------------------------------------------

def feedforward(layers, x):
    """Evaluation-mode output of the last layer for the rows of ``x``
    (dropout replaced by its 1-p scaling)."""
    a = x
    for layer in layers:
        if layer.is_conv:
            a, _ = convpool_forward(layer, a)
        else:
            a, _ = dense_forward(layer, a)
    return a


def backprop(layers, x, y, masks):
    """Gradients of the mini-batch's mean log-likelihood cost (no L2 term).

    ``masks[l]`` is the dropout mask of layer ``l``'s input, or None.
    Returns ``(cost, grads)`` with ``grads[l] = (dw, db)``."""
    caches = []
    a = x
    for layer, mask in zip(layers, masks):
        if layer.is_conv:
            a, cache = convpool_forward(layer, a)
        else:
            if mask is None and layer.p_dropout > 0:
                raise ValueError("layer with p_dropout > 0 needs a dropout mask in training")
            a, cache = dense_forward(layer, a, mask, training=True)
        caches.append(cache)
    z = caches[-1][2]
    cost = log_likelihood(z, a, y)
    delta = log_likelihood_delta(a, y)
    grads = [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        layer, cache = layers[l], caches[l]
        if layer.is_conv:
            dw, db, delta = convpool_backward(layer, cache, delta, need_dx=l > 0)
        else:
            dw, db, delta = dense_backward(layer, cache, delta, need_dx=l > 0)
        grads[l] = (dw, db)
    return cost, grads


def update_mini_batch(layers, x, y, masks, step):
    """One step of network3's SGD, in place on every layer's ``w`` and ``b``
    (and the optimizer state of ``step``), down the gradient of the mini-batch's
    mean cost plus ``0.5*lmbda*sum(w**2)/num_training_batches``: with plain
    SGD, ``w -> (1 - eta*lmbda/num_training_batches)*w - eta*dC/dw`` (the
    weight decay written as network2 writes it); ``step.n`` is
    num_training_batches and ``step.l2`` is lmbda (see
    ``fastnn.optimizers``).  Returns the mini-batch's cost (without the
    regularization terms)."""
    cost, grads = backprop(layers, x, y, masks)
    scalars = step.optimizer.begin(step, 1)     # one step, on a mean gradient
    for l, (layer, (dw, db)) in enumerate(zip(layers, grads)):
        w_state, b_state = optimizers.layer_state(step, l)
        optimizers.apply(layer.w, dw, w_state, step, 1, True, scalars)
        optimizers.apply(layer.b, db, b_state, step, 1, False, scalars)
    return cost


def sgd_batches(layers, x, y, masks, first, count, mini_batch_size, step):
    """Run mini-batches ``first .. first+count-1`` in order (network3 does not
    shuffle).  ``masks[l]`` is None or an array of shape
    ``(count, mini_batch_size, n_in)`` for the layers that drop out.
    Returns the summed cost of the mini-batches."""
    total = 0.0
    m = mini_batch_size
    for k in range(count):
        i = first + k
        batch_masks = [None if mk is None else mk[k].astype(x.dtype) for mk in masks]
        total += update_mini_batch(layers, x[i*m:(i+1)*m], y[i*m:(i+1)*m], batch_masks, step)
    return total


def predict(layers, x, mini_batch_size):
    """The network's digit for each row of ``x`` (evaluation mode)."""
    out = [np.argmax(feedforward(layers, x[i:i+mini_batch_size]), axis=1)
           for i in range(0, len(x), mini_batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

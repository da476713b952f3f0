"""The one mini-batch SGD loop, shared by both backends and every front end.

The loop itself is short: each epoch it asks for the order in which to visit
the training rows, hands the whole epoch to a kernel module (``sgd_epoch``),
checks that the weights are still finite, and reports the epoch.  Everything
random is drawn here in Python, never inside a kernel, so the numpy reference
and the compiled kernels see exactly the same mini-batches.

Kernel modules are ``fastnn.reference`` (numpy) and ``fastnn._core._dense``
(compiled); they expose the same functions with the same arguments.
"""
import random

import numpy as np

from . import _blaslimit
from ._config import check_backend, get_backend, get_shuffle


class TrainingDiverged(FloatingPointError):
    """The weights became NaN or infinite: training stopped.  The learning
    rate ``eta`` is almost always too large when this happens."""


def kernels(backend=None):
    """The kernel module for ``backend`` (``None``: the process-wide default)."""
    name = get_backend() if backend is None else check_backend(backend)
    if name == "numpy":
        from . import reference
        return reference
    from ._core import _dense
    return _dense


def sgd(kernel_module, weights, biases, X, Y, epochs, mini_batch_size, eta, lmbda, cost,
        next_order, after_epoch=None):
    """Train ``weights`` and ``biases`` in place for ``epochs`` epochs.

    ``X`` and ``Y`` are validated, C-contiguous arrays of the weights' dtype.
    ``next_order()`` returns the row order of the next epoch (an index array);
    ``after_epoch(epoch)`` runs after each one (monitoring, printing).
    Raises TrainingDiverged, naming the epoch, if the weights stop being finite.
    """
    n = len(X)
    with one_blas_thread():
        for epoch in range(epochs):
            order = next_order()
            kernel_module.sgd_epoch(weights, biases, X, Y, order, mini_batch_size, eta, lmbda, n, cost)
            check_not_diverged(weights, biases, epoch)
            if after_epoch is not None:
                after_epoch(epoch)


def one_blas_thread():
    """Keep BLAS to one thread while training.

    A mini-batch's matrix products are small: threads only add
    synchronisation, and on a busy machine a threaded BLAS waiting for a
    descheduled partner made an epoch of mini-batches of 100 some 25 times
    slower.  Applies to both backends, so their comparison is like for like.
    """
    return _blaslimit.one_blas_thread()


def check_not_diverged(weights, biases, epoch):
    for l, (w, b) in enumerate(zip(weights, biases), start=1):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise TrainingDiverged(
                "training diverged in epoch {}: the weights or biases of layer {} became NaN "
                "or infinite (is the learning rate eta too large?)".format(epoch, l))


# -- shuffling, as the book's programs do it -------------------------------------

def python2_shuffle(x, random=random.random):
    """Shuffle list ``x`` in place exactly as Python 2.7's ``random.shuffle`` did.

    Python 3 draws each swap position with ``_randbelow``; Python 2.7 drew
    ``j = int(random() * (i+1))``.  The same seed therefore gives another
    order today, and the book's published runs need this one.
    """
    for i in reversed(range(1, len(x))):
        j = int(random() * (i+1))
        x[i], x[j] = x[j], x[i]


def book_shuffle(x):
    """Shuffle list ``x`` in place the way the drop-ins are set to (``fastnn.set_shuffle``)."""
    if get_shuffle() == "python2":
        python2_shuffle(x)
    else:
        random.shuffle(x)


class BookOrder(object):
    """The epoch orders of the book's ``random.shuffle(training_data)``.

    The book shuffles its list of examples in place once per epoch.  A shuffle
    consumes the random generator the same way whatever the list holds, so
    shuffling a list of row numbers instead gives the same permutation, and
    the data, converted once to an array, never moves.  ``order`` composes the
    permutations: row ``order[i]`` of the array is what the book's list holds
    at position ``i``.  ``apply_to(data)`` leaves the caller's list shuffled
    as the book's would be.
    """

    def __init__(self, n):
        self.order = np.arange(n)

    def __call__(self):
        perm = list(range(len(self.order)))
        book_shuffle(perm)
        self.order = self.order[perm]
        return self.order

    def apply_to(self, data):
        if isinstance(data, list) and len(data) == len(self.order):
            data[:] = [data[i] for i in self.order]

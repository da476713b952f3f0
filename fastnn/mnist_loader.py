"""
mnist_loader
~~~~~~~~~~~~

A drop-in for the book's ``mnist_loader``, for Python 3.  The book's
programs can keep writing::

    import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()

with ``from fastnn import mnist_loader`` instead.  The data no longer has to
sit in ``../data/mnist.pkl.gz``: it is found (or downloaded once into a
per-user cache) by :mod:`fastnn.datasets`; pass ``path=`` or set
``FASTNN_DATA`` to use local files.

Two differences from the book's Python 2 code, both needed in Python 3:
``load_data_wrapper`` returns lists, not ``zip`` objects (a Python 3 zip is
an iterator, and ``len(test_data)`` or a second epoch over it would fail);
and nothing here depends on ``cPickle``.
"""
import numpy as np

from . import datasets


def load_data(path=None):
    """Return the MNIST data as a tuple containing the training data,
    the validation data, and the test data.

    The ``training_data`` is returned as a tuple with two entries.  The
    first entry contains the actual training images: a numpy ndarray of
    shape (50000, 784), float32, each row the 28 * 28 = 784 pixels of one
    image scaled to [0, 1).  The second entry is a numpy ndarray of 50,000
    int64 digit values (0...9) for the corresponding images.

    The ``validation_data`` and ``test_data`` are similar, except each
    contains only 10,000 images.

    This is a nice data format, but for use in neural networks it's helpful
    to modify the format of the ``training_data`` a little.  That's done in
    the wrapper function ``load_data_wrapper()``, see below.

    The arrays are fresh, writable copies, as the book's were; the shared,
    read-only arrays behind them come from ``fastnn.datasets.load_mnist``.
    """
    return tuple((images.copy(), labels.copy())
                 for images, labels in datasets.load_mnist(path))


def load_data_wrapper(path=None):
    """Return a tuple containing ``(training_data, validation_data,
    test_data)``.  Based on ``load_data``, but the format is more
    convenient for use in our implementation of neural networks.

    In particular, ``training_data`` is a list containing 50,000
    2-tuples ``(x, y)``.  ``x`` is a 784-dimensional numpy.ndarray
    (shape (784, 1), float32) containing the input image.  ``y`` is a
    10-dimensional numpy.ndarray (shape (10, 1), float64) representing the
    unit vector corresponding to the correct digit for ``x``.

    ``validation_data`` and ``test_data`` are lists containing 10,000
    2-tuples ``(x, y)``.  In each case, ``x`` is a 784-dimensional
    numpy.ndarray containing the input image, and ``y`` is the
    corresponding classification, i.e., the digit value (a numpy int64)
    corresponding to ``x``.

    Obviously, this means we're using slightly different formats for the
    training data and the validation / test data.  These formats turn out
    to be the most convenient for use in our neural network code: the
    training targets are what the cost is computed against, while for
    evaluation we only need to compare the network's ``argmax`` with the
    digit.

    Every ``x`` and every training ``y`` is its own writable array (a row of
    one freshly allocated block, so building 50,000 of them is one copy, not
    50,000 small allocations): a program that modifies an input in place
    changes that example only.
    """
    tr_d, va_d, te_d = datasets.load_mnist(path)
    training_inputs = _columns(tr_d[0])
    training_results = _vectorized_results(tr_d[1])
    training_data = list(zip(training_inputs, training_results))
    validation_data = list(zip(_columns(va_d[0]), va_d[1]))
    test_data = list(zip(_columns(te_d[0]), te_d[1]))
    return (training_data, validation_data, test_data)


def vectorized_result(j):
    """Return a 10-dimensional unit vector with a 1.0 in the jth
    position and zeroes elsewhere.  This is used to convert a digit
    (0...9) into a corresponding desired output from the neural
    network."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def _columns(images):
    """One (784, 1) column vector per image, as views of a single fresh copy."""
    return list(images.reshape(len(images), 784, 1).copy())


def _vectorized_results(labels):
    """``vectorized_result`` for every label at once, as views of one array."""
    e = np.zeros((len(labels), 10, 1))
    e[np.arange(len(labels)), labels, 0] = 1.0
    return list(e)

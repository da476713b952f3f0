"""fastnn's stand-in for the book's ``mnist_loader`` module.

A program written for the book changes one line, its import
(``from fastnn import mnist_loader``), and gets the same three data sets in
the same shapes.  What we do differently:

* Where the files come from: not a fixed ``../data/mnist.pkl.gz``, but
  whatever :func:`fastnn.datasets.load_mnist` finds: the folder given as
  ``path``, else ``$FASTNN_DATA``, else a per-user cache that is filled by a
  one-time download.  The four IDX files or the book's pickle both work.
* ``load_data_wrapper`` hands back lists.  Under Python 3 ``zip`` is a
  one-pass iterator, so a zip object would break ``len(test_data)`` and
  every epoch after the first.
* Inputs are float32 columns, as in the book's pickle; they are not widened
  to float64, which would double the memory of the training set.
"""

import numpy as np

from . import datasets


def load_data(path=None):
    """The three MNIST splits as ``(images, labels)`` array pairs.

    Returns ``(training, validation, test)``.  ``images`` is float32 of
    shape (count, 784), one flattened 28x28 picture per row with pixel
    values in [0, 1); ``labels`` holds the digits 0-9 as int64.  The counts
    are 50,000, 10,000 and 10,000: validation is the last 10,000 images of
    MNIST's official training set, test its official test set.

    Each call returns new arrays the caller may modify; the read-only
    originals are shared inside ``fastnn.datasets``.
    """
    return tuple((images.copy(), labels.copy())
                 for images, labels in datasets.load_mnist(path))


def load_data_wrapper(path=None):
    """The three splits as lists of ``(x, y)`` pairs, ready for ``SGD``.

    Every ``x`` is a float32 column of shape (784, 1).  The targets differ
    by split, as the drop-in networks expect: in ``training_data`` ``y`` is a
    (10, 1) float64 one-hot column (what the cost is measured against); in
    ``validation_data`` and ``test_data`` it is the digit itself, an int64
    (all that counting correct answers needs).  Lengths: 50,000, 10,000 and
    10,000.

    Each ``x`` and each training ``y`` can be modified without touching any
    other example: they are rows of one fresh block per split, which is one
    allocation instead of 50,000.
    """
    training, validation, test = datasets.load_mnist(path)
    return (list(zip(_columns(training[0]), _one_hot_columns(training[1]))),
            list(zip(_columns(validation[0]), validation[1])),
            list(zip(_columns(test[0]), test[1])))


def vectorized_result(j):
    """Digit ``j`` as a target column: a (10, 1) float64 array, 1.0 in row
    ``j`` and 0.0 elsewhere."""
    column = np.zeros((10, 1))
    column[j, 0] = 1.0
    return column


def _columns(images):
    """A list of (784, 1) views, one per image, into a single new copy."""
    return list(images.reshape(len(images), 784, 1).copy())


def _one_hot_columns(labels):
    """The ``vectorized_result`` of every label, built in one array and
    returned as a list of its (10, 1) views."""
    block = np.zeros((len(labels), 10, 1))
    block[np.arange(len(labels)), labels, 0] = 1.0
    return list(block)

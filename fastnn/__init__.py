"""fastnn: the networks of Michael Nielsen's *Neural Networks and Deep
Learning*, on compiled kernels.

* ``fastnn.network``, ``fastnn.network2``, ``fastnn.mnist_loader``: drop-in
  replacements for the book's modules (same API, same random draws, same
  printed lines), many times faster.
* ``fastnn.MLP``: the same networks behind an array API (``fit``,
  ``predict``, ``score``, ``save``/``load``), trained by the book's SGD or
  by ``fastnn.SGD`` (momentum, Nesterov), ``fastnn.Adam`` or ``fastnn.AdamW``.
* ``fastnn.set_backend("numpy")``: run the readable numpy reference path
  instead of the compiled kernels (``"cython"``, the default).
* ``fastnn.set_shuffle("python2")``: shuffle as Python 2.7 did, to retrace the
  book's published runs.
* ``fastnn.set_num_threads(n)`` (or ``FASTNN_NUM_THREADS``): the threads the
  compiled kernels may use (one by default; network3 takes every core).
* ``fastnn.network3``: the book's chapter 6 convolutional networks
  (``load_data_shared``, ``ConvPoolLayer``, ``FullyConnectedLayer``,
  ``SoftmaxLayer``); ``python -m fastnn.expand_mnist`` writes the expanded
  training set.
* ``fastnn.sklearn.MLPClassifier`` and ``MLPRegressor``: scikit-learn's
  estimators of those names, trained by fastnn (``BookMLPClassifier``: one
  with the book's parameters; needs scikit-learn); ``fastnn.distributed.search``: hyper-parameter searches on
  Dask (needs dask and distributed).
* ``fastnn.history``: training histories as JSON or CSV files, and plots.
* The ``fastnn`` command: ``fastnn demo``, ``fastnn train``, ``fastnn plot``,
  ``fastnn figures``, ``fastnn bench`` (``fastnn --help``).

Each module above is imported on first use as an attribute
(``import fastnn; fastnn.network3``), or by ``import fastnn.network3``.
"""
import importlib

from ._version import __version__
from ._book import BookPathWarning
from ._config import (get_backend, get_num_threads, get_shuffle, set_backend, set_num_threads,
                      set_shuffle)
from . import _core  # noqa: F401  (fails with instructions when the extension is not built)
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from .mlp import MLP
from .optimizers import SGD, Adam, AdamW, HalveOnPlateau
from .trainer import StopTraining, TrainingDiverged

__all__ = ["MLP", "SGD", "Adam", "AdamW", "QuadraticCost", "CrossEntropyCost",
           "LogLikelihoodCost", "HalveOnPlateau",
           "StopTraining", "TrainingDiverged", "BookPathWarning",
           "set_backend", "get_backend", "set_shuffle", "get_shuffle", "set_num_threads",
           "get_num_threads", "__version__"]

#: Submodules reached as attributes of the package, imported on first use
#: (scikit-learn and Dask only when their modules are asked for).
_SUBMODULES = ("network", "network2", "network3", "mnist_loader", "datasets", "expand", "history",
               "sklearn", "distributed", "reference", "reference3")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module 'fastnn' has no attribute {!r}".format(name))

"""Shared fixtures: where the MNIST files are."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist"))


def mnist_dir():
    """``FASTNN_DATA`` when set (CI sets it), else the shared copy beside the repo."""
    path = os.environ.get("FASTNN_DATA") or DEFAULT_MNIST
    if not os.path.exists(os.path.join(path, "train-images-idx3-ubyte.gz")) and \
            not os.path.exists(os.path.join(path, "mnist.pkl.gz")) and not path.endswith(".pkl.gz"):
        raise RuntimeError("MNIST test data not found in {!r}: set FASTNN_DATA to the "
                           "directory holding the four IDX .gz files".format(path))
    return path


@pytest.fixture(scope="session")
def mnist_path():
    return mnist_dir()

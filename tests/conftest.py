"""Shared fixtures: where the MNIST files are."""
import pytest

from helpers import find_mnist


@pytest.fixture(scope="session")
def mnist_path():
    path = find_mnist()
    if path is None:
        raise RuntimeError("MNIST test data not found: set FASTNN_DATA to the folder holding "
                           "the four IDX .gz files (or mnist.pkl.gz), or put them in the "
                           "per-user cache, fastnn.datasets.cache_dir()")
    return path

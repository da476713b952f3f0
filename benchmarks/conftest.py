"""Shared pieces of the benchmarks: MNIST arrays and the thread settings."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))   # oracle (per-example arithmetic), helpers.find_mnist


def blas_threads():
    """Threads each BLAS library in this process will use (threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "default")}
    return {"{}:{}".format(i["internal_api"], os.path.basename(i["filepath"])): i["num_threads"]
            for i in threadpool_info()}


@pytest.fixture(scope="session")
def mnist_arrays():
    from fastnn.datasets import load_mnist
    from helpers import find_mnist
    (X, y), _, _ = load_mnist(find_mnist())     # None: download into the per-user cache
    return X, y

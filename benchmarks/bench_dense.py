"""Seconds per training epoch over the 50,000 MNIST training images.

One group per configuration (sizes, dtype), mini-batch 10, with three
implementations side by side:

* ``per_example``: the book's arithmetic, one example at a time (tests/oracle.py),
  the baseline readers have today;
* ``numpy``: fastnn's reference path, a whole mini-batch as a matrix;
* ``cython``: fastnn's compiled kernels.

Run:  pytest benchmarks/bench_dense.py --benchmark-json=bench.json
      python benchmarks/speedup_table.py bench.json
"""

import numpy as np
import pytest

import oracle
from conftest import QUICK, blas_threads
from fastnn import CrossEntropyCost, trainer

CONFIGS = [([784, 30, 10], np.float64), ([784, 30, 10], np.float32),
           ([784, 100, 10], np.float64), ([784, 100, 10], np.float32)]
IMPLEMENTATIONS = ["per_example", "numpy", "cython"]
ROUNDS = {"per_example": 1, "numpy": 5, "cython": 15}
if QUICK:
    CONFIGS = CONFIGS[:2]
    ROUNDS = dict.fromkeys(ROUNDS, 1)
ETA, LMBDA, MINI_BATCH = 0.5, 5.0, 10


def initial_parameters(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype)
               for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y).astype(dtype) for y in sizes[1:]]
    return weights, biases


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("sizes,dtype", CONFIGS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_epoch(benchmark, mnist_arrays, sizes, dtype, impl):
    X, labels = mnist_arrays
    if QUICK:
        X, labels = X[:1000], labels[:1000]
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[labels]
    n = len(X)
    order = np.random.default_rng(1).permutation(n)
    benchmark.group = "epoch {} {}".format(sizes, np.dtype(dtype).name)
    benchmark.extra_info.update(sizes=str(sizes), dtype=np.dtype(dtype).name, n=n,
                                mini_batch=MINI_BATCH, implementation=impl,
                                blas_threads=str(blas_threads()), kernel_threads=1)

    if impl == "per_example":
        columns = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y)]

        def setup():
            net = oracle.PerExampleNet(sizes)
            weights, biases = initial_parameters(sizes, dtype)
            net.weights, net.biases = weights, [b.reshape(-1, 1) for b in biases]
            data = [columns[i] for i in order]
            return (net, data), {}

        def run(net, data):
            for k in range(0, n, MINI_BATCH):
                net.step(data[k:k+MINI_BATCH], ETA, LMBDA, n)
    else:
        kernels = trainer.kernels(impl)

        def setup():
            return initial_parameters(sizes, dtype), {}

        def run(weights, biases):
            with trainer.one_blas_thread():      # as fastnn's trainer runs it
                kernels.sgd_epoch(weights, biases, X, Y, order, MINI_BATCH, ETA, LMBDA, n,
                                  CrossEntropyCost)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS[impl], iterations=1, warmup_rounds=0)

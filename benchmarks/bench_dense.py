"""Seconds per training epoch over the 50,000 MNIST training images.

One group per configuration, mini-batch 10, with the implementations side
by side:

* ``per_example``: the book's arithmetic, one example at a time (tests/oracle.py),
  the baseline readers have today (plain rows only);
* ``numpy``: fastnn's reference path, a whole mini-batch as a matrix;
* ``cython``: fastnn's compiled kernels.

The plain rows are chapter 3's network: sigmoid neurons, cross-entropy,
L2 (``w -> (1 - eta*lmbda/n) w - (eta/m) nabla_w``), for two sizes and both
dtypes.  The engine's rows, [784, 100, 10] float64 beside the numpy
reference: ReLU hidden neurons with a softmax output and the log-likelihood
cost; momentum 0.9; L1 (with L2).

Run:  pytest benchmarks/bench_dense.py --benchmark-json=bench.json
      python benchmarks/speedup_table.py bench.json
"""

import numpy as np
import pytest

import oracle
from conftest import QUICK, blas_threads
from fastnn import trainer
from fastnn.optimizers import Step

PLAIN = dict(activation="sigmoid", output="sigmoid", cost="cross_entropy", eta=0.5, l2=5.0,
             l1=0.0, momentum=0.0)
#: The options of each configuration: the plain one and the engine's.
OPTIONS = {
    "plain": PLAIN,
    "relu+softmax": dict(PLAIN, activation="relu", output="softmax", cost="log_likelihood",
                         eta=0.05),
    "momentum": dict(PLAIN, eta=0.05, momentum=0.9),
    "l1": dict(PLAIN, l1=5.0),
}
CONFIGS = [([784, 30, 10], np.float64, "plain"), ([784, 30, 10], np.float32, "plain"),
           ([784, 100, 10], np.float64, "plain"), ([784, 100, 10], np.float32, "plain"),
           ([784, 100, 10], np.float64, "relu+softmax"),
           ([784, 100, 10], np.float64, "momentum"),
           ([784, 100, 10], np.float64, "l1")]
IMPLEMENTATIONS = ["per_example", "numpy", "cython"]
#: The book's per-example loop has only the plain network.
CASES = [(sizes, dtype, config, impl) for sizes, dtype, config in CONFIGS
         for impl in IMPLEMENTATIONS if impl != "per_example" or config == "plain"]
ROUNDS = {"per_example": 1, "numpy": 5, "cython": 15}
if QUICK:
    CASES = [case for case in CASES if case[0] == [784, 30, 10]] + \
        [case for case in CASES if case[2] != "plain" and case[3] != "per_example"][:2]
    ROUNDS = dict.fromkeys(ROUNDS, 1)
MINI_BATCH = 10


def initial_parameters(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype)
               for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y).astype(dtype) for y in sizes[1:]]
    return weights, biases


def config_id(value):
    return getattr(value, "__name__", str(value))


@pytest.mark.parametrize("sizes,dtype,config,impl", CASES, ids=config_id)
def test_epoch(benchmark, mnist_arrays, sizes, dtype, config, impl):
    options = OPTIONS[config]
    X, labels = mnist_arrays
    if QUICK:
        X, labels = X[:1000], labels[:1000]
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[labels]
    n = len(X)
    order = np.random.default_rng(1).permutation(n)
    benchmark.group = "epoch {} {} {}".format(sizes, np.dtype(dtype).name, config)
    benchmark.extra_info.update(sizes=str(sizes), dtype=np.dtype(dtype).name, n=n,
                                mini_batch=MINI_BATCH, implementation=impl, config=config,
                                options=str(options), blas_threads=str(blas_threads()),
                                kernel_threads=1)

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
                net.step(data[k:k+MINI_BATCH], options["eta"], options["l2"], n)
    else:
        kernels = trainer.kernels(impl)
        spec = trainer.Spec(options["activation"], options["output"], options["cost"])

        def setup():
            weights, biases = initial_parameters(sizes, dtype)
            step = Step.for_parameters(list(zip(weights, biases)), n, l2=options["l2"],
                                       l1=options["l1"], momentum=options["momentum"])
            step.eta = options["eta"]
            return (weights, biases, step), {}

        def run(weights, biases, step):
            with trainer.one_blas_thread():      # as fastnn's trainer runs it
                kernels.train(weights, biases, X, Y, order, MINI_BATCH, spec, step)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS[impl], iterations=1, warmup_rounds=0)

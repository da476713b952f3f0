"""Seconds per training epoch over the 50,000 MNIST training images.

One group per configuration, mini-batch 10, with the implementations side
by side:

* ``per_example``: the book's arithmetic, one example at a time (tests/oracle.py),
  the baseline readers have today (plain rows only);
* ``numpy``: fastnn's reference path, a whole mini-batch as a matrix;
* ``cython``: fastnn's compiled kernels;
* ``jax``: the same epoch written for JAX as one jit-compiled ``lax.scan``
  over the mini-batches, gradients by ``jax.grad``, XLA held to one core (plain
  rows only; skipped when JAX is not installed: ``pip install jax``).

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
from conftest import QUICK, blas_threads, import_jax, one_core
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
IMPLEMENTATIONS = ["per_example", "numpy", "cython", "jax"]
#: The book's per-example loop and the JAX version have only the plain network.
CASES = [(sizes, dtype, config, impl) for sizes, dtype, config in CONFIGS
         for impl in IMPLEMENTATIONS if impl not in ("per_example", "jax") or config == "plain"]
ROUNDS = {"per_example": 1, "numpy": 5, "cython": 15, "jax": 15}
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

    if impl == "jax":
        setup, run = _jax_epoch(sizes, dtype, options, X, Y, order)
    elif impl == "per_example":
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


def _jax_epoch(sizes, dtype, options, X, Y, order):
    """``(setup, run)`` for the epoch in JAX: the whole epoch is one compiled
    ``lax.scan`` whose carry is the parameters, each mini-batch gathered
    inside it.  The cost is cross-entropy on sigmoid outputs, written on the
    output layer's weighted input (``softplus(z) - y z``, the same gradient,
    ``a - y``); the step is the same L2 one."""
    jax = import_jax()
    jnp = jax.numpy
    n = len(X)
    eta, l2 = options["eta"], options["l2"]
    keep, rate = 1 - eta * l2 / n, eta / MINI_BATCH

    def cost(params, x, y):
        a = x
        for w, b in params[:-1]:
            a = jax.nn.sigmoid(a @ w.T + b)
        w, b = params[-1]
        z = a @ w.T + b
        return jnp.sum(jax.nn.softplus(z) - y * z)

    gradient = jax.grad(cost)

    def step(params, rows):
        grads = gradient(params, X_[rows], Y_[rows])
        return [(keep * w - rate * gw, b - rate * gb)
                for (w, b), (gw, gb) in zip(params, grads)], None

    X_, Y_ = jnp.asarray(X), jnp.asarray(Y)
    batches = jnp.asarray(order[:n - n % MINI_BATCH].reshape(-1, MINI_BATCH))
    epoch = jax.jit(lambda params: jax.lax.scan(step, params, batches)[0])

    checked = []

    def setup():
        weights, biases = initial_parameters(sizes, dtype)
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(weights, biases)]
        with one_core():
            trained = jax.block_until_ready(epoch(params))     # compile outside the timing
        if not checked:
            # the same epoch as fastnn's: compare with the numpy reference once
            step = Step(eta, n, l2=l2)
            with trainer.one_blas_thread():
                trainer.kernels("numpy").train(weights, biases, X, Y, order, MINI_BATCH,
                                               trainer.Spec("sigmoid", "sigmoid", "cross_entropy"),
                                               step)
            worst = max(float(np.max(np.abs(np.asarray(j) - f)))
                        for (jw, jb), w, b in zip(trained, weights, biases)
                        for j, f in ((jw, w), (jb, b)))
            # float32: rounding carried through 5,000 steps (measured 1.2e-3); a wrong
            # rate or cost would differ by tenths
            assert worst < (1e-8 if dtype == np.float64 else 1e-2), \
                "JAX's epoch differs from fastnn's by {:.3g}".format(worst)
            checked.append(worst)
        return (params,), {}

    def run(params):
        with one_core():
            jax.block_until_ready(epoch(params))

    return setup, run

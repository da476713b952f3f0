"""How close a dense epoch comes to what the machine can do, at every width.

Two kinds of rows, measured in one run:

* ``peak``: the machine's arithmetic limit on one core, the rate of a large
  square matrix product (2048 x 2048, where every BLAS runs near its best),
  for each library at hand: numpy's BLAS always, and PyTorch's and JAX's
  when installed (their kernels may use wider vector instructions than
  numpy's OpenBLAS is set to: ``OPENBLAS_CORETYPE``).  The best of them is
  the limit.
* ``width``: one compiled epoch of ``[784, H, 10]``, sigmoid neurons,
  cross-entropy and L2, mini-batch 10, one thread, for H from 30 to 1,000,
  float64 and float32, timed on the first 10,000 MNIST training images and
  scaled to 50,000.

``python benchmarks/limits_table.py bench.json`` prints, per row, the
seconds per epoch, the rate reached, the ratio to the limit (how many times
slower than the arithmetic alone), and the seconds per unit of work relative
to H = 30: a row that grows faster than the work shows a cliff.

Run:  pytest benchmarks/bench_limits.py --benchmark-json=limits.json
      python benchmarks/limits_table.py limits.json
"""
import os
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from conftest import QUICK, import_jax
from fastnn import trainer
from fastnn.optimizers import Step

WIDTHS = [30, 100] if QUICK else [30, 100, 150, 200, 300, 500, 1000]
DTYPES = [np.float64, np.float32]
MINI_BATCH = 10
ROWS = 500 if QUICK else 10000      # timed on these, scaled to an epoch of EPOCH_ROWS
EPOCH_ROWS = 50000
PEAK_N = 256 if QUICK else 2048
ROUNDS = 1 if QUICK else 5


def epoch_flops(sizes, rows=EPOCH_ROWS):
    """The matrix products of an epoch of plain SGD, in floating-point
    operations: per example, the forward product of every layer (2 n_in n_out),
    the fused weight step of every layer (2 n_in n_out) and the error passed
    down through every layer but the first (2 n_in n_out)."""
    per_example = 0
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        per_example += (4 if l == 0 else 6) * n_in * n_out
    return per_example * rows


def _gemm_rate(matmul, a, b, rounds):
    """Best-of-``rounds`` floating-point operations per second of ``matmul(a, b)``."""
    matmul(a, b)                                    # warm up (and compile, for JAX)
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        matmul(a, b)
        best = min(best, time.perf_counter() - t)
    n = a.shape[0]
    return 2.0 * n * n * n / best


def _peak_libraries():
    libraries = ["numpy"]
    for name in ("torch", "jax"):
        try:
            __import__(name)
        except ImportError:
            continue
        libraries.append(name)
    return libraries


@pytest.mark.benchmark(group="peak")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("library", _peak_libraries())
def test_peak(benchmark, library, dtype):
    """One core's rate on a large square product, per library."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((PEAK_N, PEAK_N)).astype(dtype)
    b = rng.standard_normal((PEAK_N, PEAK_N)).astype(dtype)
    if library == "numpy":
        def measure():
            with threadpool_limits(limits=1, user_api="blas"):
                return _gemm_rate(np.matmul, a, b, ROUNDS)
    elif library == "torch":
        import torch

        def measure():
            old = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return _gemm_rate(torch.matmul, torch.from_numpy(a), torch.from_numpy(b), ROUNDS)
            finally:
                torch.set_num_threads(old)
    else:
        jax = import_jax()
        product = jax.jit(lambda x, y: x @ y)

        def measure():
            # one XLA thread: conftest.import_jax
            return _gemm_rate(lambda x, y: product(x, y).block_until_ready(),
                              jax.numpy.asarray(a), jax.numpy.asarray(b), ROUNDS)
    out = {}
    benchmark.pedantic(lambda: out.setdefault("rate", measure()), rounds=1, iterations=1)
    benchmark.extra_info.update(kind="peak", library=library, dtype=np.dtype(dtype).name,
                                flops_per_second=out["rate"], n=PEAK_N,
                                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", ""))


@pytest.mark.benchmark(group="width")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("hidden", WIDTHS)
def test_width(benchmark, mnist_arrays, hidden, dtype):
    """Seconds per compiled epoch of [784, hidden, 10] (scaled from ROWS images)."""
    X, labels = mnist_arrays
    X = np.ascontiguousarray(X[:ROWS], dtype=dtype)
    Y = np.eye(10, dtype=dtype)[labels[:ROWS]]
    sizes = [784, hidden, 10]
    order = np.random.default_rng(1).permutation(ROWS)
    kernels = trainer.kernels("cython")
    spec = trainer.Spec("sigmoid", "sigmoid", "cross_entropy")

    def setup():
        rng = np.random.default_rng(0)
        weights = [(rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype)
                   for x, y in zip(sizes[:-1], sizes[1:])]
        biases = [rng.standard_normal(y).astype(dtype) for y in sizes[1:]]
        return (weights, biases, Step(0.5, EPOCH_ROWS, l2=5.0)), {}

    times = []

    def run(weights, biases, step):
        with trainer.one_blas_thread():
            t = time.perf_counter()
            kernels.train(weights, biases, X, Y, order, MINI_BATCH, spec, step)
            times.append(time.perf_counter() - t)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    scale = EPOCH_ROWS / ROWS
    benchmark.extra_info.update(kind="width", hidden=hidden, dtype=np.dtype(dtype).name,
                                sizes=str(sizes), mini_batch=MINI_BATCH, rows_timed=ROWS,
                                seconds_per_epoch=float(np.median(times[-ROUNDS:])) * scale,
                                flops_per_epoch=epoch_flops(sizes),
                                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", ""))

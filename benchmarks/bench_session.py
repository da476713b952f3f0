"""What a reader of chapter 1 waits for: the whole session, and each call's overhead.

* ``session``: the book's chapter 1 run through the drop-in, timed whole::

      net = network.Network([784, 30, 10])
      net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

  converting the 50,000 training and 10,000 test pairs, shuffling, training
  and evaluating after every epoch included (the printed lines go nowhere).
  Its ``extra_info`` also holds the session's FLOP limit: its arithmetic
  (``(4*784 + 60)*30`` flops a training pair, the forward products and the
  weight gradients of both layers and the error sent back to the hidden
  layer; ``(2*784 + 20)*30`` an evaluated pair) at the big-gemm rate of one
  float64 thread, measured in the same run.
  Beside it, the per-example arithmetic of the book's own loop
  (``tests/oracle.py``), timed on a subset (1,000 training pairs for one
  epoch, 1,000 test pairs) and scaled to the same session; its row's
  ``extra_info`` holds the scaled seconds and the ratio.
* ``overhead``: what a drop-in ``SGD`` call costs besides its epochs.  One-
  and five-epoch calls on the same network, alternating; an epoch is the
  difference of their medians over four, the overhead what is left of the
  one-epoch call, as a fraction of an epoch.

Run:  pytest benchmarks/bench_session.py --benchmark-json=session.json
      python benchmarks/session_table.py session.json
"""
import contextlib
import io
import random
import time

import numpy as np
import pytest

import oracle
from conftest import QUICK
from fastnn import mnist_loader, network

EPOCHS = 1 if QUICK else 30
TRAIN = 1000 if QUICK else 50000
TEST = 500 if QUICK else 10000
SUBSET = 200 if QUICK else 1000       # per-example pairs timed, then scaled
ROUNDS = 1 if QUICK else 3
OVERHEAD_ROUNDS = 2 if QUICK else 7


@pytest.fixture(scope="module")
def book_data():
    from helpers import find_mnist
    training, _, test = mnist_loader.load_data_wrapper(find_mnist())
    return list(training)[:TRAIN], list(test)[:TEST]


def _quiet(call, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return call(*args, **kwargs)


@pytest.mark.benchmark(group="chapter-1 session")
def test_session_dropin(benchmark, book_data):
    training, test = book_data

    def setup():
        random.seed(12345)
        np.random.seed(12345)
        return (network.Network([784, 30, 10]), list(training)), {}

    def run(net, data):
        _quiet(net.SGD, data, EPOCHS, 10, 3.0, test_data=test)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1)
    from bench_limits import gemm_rate
    rate = gemm_rate(np.float64)
    flops = EPOCHS * 30 * ((4 * 784 + 60) * len(training) + (2 * 784 + 20) * len(test))
    benchmark.extra_info.update(kind="session", implementation="drop-in", epochs=EPOCHS,
                                train=TRAIN, test=TEST, gemm_rate=rate, flop_limit=flops / rate)


@pytest.mark.benchmark(group="chapter-1 session")
def test_session_per_example(benchmark, book_data):
    training, test = book_data
    out = {}

    def run():
        np.random.seed(12345)
        net = oracle.PerExampleNet([784, 30, 10], cost="quadratic", init="unit")
        pairs = list(training[:SUBSET])
        t = time.perf_counter()
        net.train(pairs, 1, 10, 3.0)
        out["train"] = time.perf_counter() - t
        t = time.perf_counter()
        net.count_correct(test[:SUBSET])
        out["test"] = time.perf_counter() - t

    benchmark.pedantic(run, rounds=1, iterations=1)
    scaled = EPOCHS * (out["train"] * TRAIN / SUBSET + out["test"] * TEST / min(SUBSET, TEST))
    benchmark.extra_info.update(kind="session", implementation="per-example (scaled)",
                                epochs=EPOCHS, train=TRAIN, test=TEST, timed_pairs=SUBSET,
                                scaled_seconds=scaled)


@pytest.mark.benchmark(group="drop-in call overhead")
def test_call_overhead(benchmark, book_data):
    training, test = book_data
    random.seed(1)
    np.random.seed(1)
    net = network.Network([784, 30, 10])
    data = list(training)
    _quiet(net.SGD, data, 1, 10, 3.0, test_data=test)        # warm up
    times = {1: [], 5: []}

    def run():
        for epochs in (1, 5):
            t = time.perf_counter()
            _quiet(net.SGD, data, epochs, 10, 3.0, test_data=test)
            times[epochs].append(time.perf_counter() - t)

    benchmark.pedantic(run, rounds=OVERHEAD_ROUNDS, iterations=1)
    one, five = np.median(times[1]), np.median(times[5])
    epoch = (five - one) / 4
    benchmark.extra_info.update(kind="overhead", train=TRAIN, one_epoch_call=one, five_epoch_call=five,
                                epoch=epoch, overhead=one - epoch,
                                overhead_fraction=(one - epoch) / epoch)

"""Why a regenerated figure parts from the book's: measured, in lockstep.

    python benchmarks/figures_retrace.py --published ../shared/data/book-figures

multiple_eta's third run (eta 2.5) is the figure that parts from its first
epoch.  This script rebuilds the state the book's program was in when that
run began (seeded generators, the networks of eta 0.025 and 0.25 drawn, their
60 epochs of Python 2.7 shuffles applied to the shared list), then trains two
copies of the same initial network on the same mini-batches, side by side:

* the book's arithmetic one example at a time (``tests/oracle.py``, written
  from the equations: float64, gradients summed in the mini-batch's order);
* fastnn's drop-in (``fastnn.network2``: the mini-batch as one matrix, BLAS
  sums in another order).

It prints the largest weight difference between the two as the mini-batches
go by, and each epoch's training cost from both beside the published one.
The same is done at eta 0.25 (the second run) for comparison.  If the book's
loop lands on the published costs and fastnn's does not, the parting is
rounding order, and the growth of the difference says how strongly the
learning rate amplifies it.
"""
import argparse
import contextlib
import io
import json
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))    # oracle (fastnn: the installed one)

import oracle  # noqa: E402
from fastnn import mnist_loader, network2, trainer  # noqa: E402
from fastnn.figures import MULTIPLE_ETA, SEED  # noqa: E402


def state_before(run, training):
    """Seed as multiple_eta.py did and advance to the start of run ``run``
    (0, 1 or 2): each earlier run drew its network and shuffled the list 30 times."""
    random.seed(SEED)
    np.random.seed(SEED)
    for _ in range(run):
        oracle.PerExampleNet([784, 30, 10])
        for _ in range(30):
            trainer.python2_shuffle(training)


def lockstep(eta, training, epochs, published, report_every=500):
    book = oracle.PerExampleNet([784, 30, 10])
    ours = network2.Network([784, 30, 10])          # draws more; nothing after uses np.random
    ours.weights = [w.copy() for w in book.weights]
    ours.biases = [b.copy() for b in book.biases]
    n = len(training)
    print("eta {}: largest |weight difference| (book's loop vs fastnn) after k mini-batches".format(eta))
    k = 0
    for epoch in range(epochs):
        trainer.python2_shuffle(training)
        for start in range(0, n, 10):
            batch = training[start:start+10]
            book.step(batch, eta, 5.0, n)
            ours.update_mini_batch(batch, eta, 5.0, n)
            k += 1
            if k in (1, 10, 100) or k % report_every == 0:
                diff = max(float(np.max(np.abs(a - b))) for a, b in zip(book.weights, ours.weights))
                scale = max(float(np.max(np.abs(a))) for a in book.weights)
                print("  k = {:>6}: {:.3g} (weights up to {:.3g})".format(k, diff, scale), flush=True)
        cost_book = book.mean_cost(training, 5.0)
        with contextlib.redirect_stdout(io.StringIO()):
            cost_ours = ours.total_cost(training, 5.0)
        print("  epoch {}: training cost, book's loop {!r}, fastnn {!r}, published {!r}".format(
            epoch, cost_book, cost_ours, published[epoch]), flush=True)
        print("           book's loop - published = {:.3g}, fastnn - published = {:.3g}".format(
            cost_book - published[epoch], cost_ours - published[epoch]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                            "book-figures"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    with open(os.path.join(args.published, "multiple_eta.json")) as f:
        published = json.load(f)
    loaded, _, _ = mnist_loader.load_data_wrapper(args.data)
    with trainer.one_blas_thread():
        for run in (1, 2):
            training = list(loaded)
            state_before(run, training)
            lockstep(MULTIPLE_ETA[run], training, args.epochs, published[run][2])


if __name__ == "__main__":
    main()

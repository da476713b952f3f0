"""``fastnn-demo`` (or ``python -m fastnn``): train the book's chapter 1 network on MNIST.

[784, 30, 10] sigmoid neurons, quadratic cost, mini-batch 10, eta 3.0, as in
the book's first run.  Prints each epoch's test accuracy and seconds, then
times one epoch of the numpy reference path on the same network and says how
much faster the compiled kernels were.
"""
import sys
import time

import numpy as np

from . import MLP
from .datasets import load_mnist


def main(argv=None):
    """``fastnn-demo``: ``fastnn demo`` under its old name (errors as one line, exit status 2)."""
    from .cli import main as cli_main
    status = cli_main(["demo"] + list(sys.argv[1:] if argv is None else argv), prog="fastnn-demo")
    if status:
        raise SystemExit(status)
    return status


def add_arguments(parser):
    """The demo's options (``fastnn demo``)."""
    from .cli import positive_int
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--data", default=None,
                        help="folder holding the MNIST files (default: $FASTNN_DATA, else the "
                             "per-user cache, downloading them if needed)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--seed", type=int, default=0)


def run(args):
    """Train and report, from parsed options."""
    (X, y), _, (X_test, y_test) = load_mnist(args.data)
    X = np.ascontiguousarray(X, dtype=args.dtype)
    X_test = np.ascontiguousarray(X_test, dtype=args.dtype)
    print("Training the book's chapter 1 network [784, 30, 10] on {} MNIST images "
          "({}, mini-batch 10, eta 3.0)".format(len(X), args.dtype))

    def report(entry):
        print("Epoch {}: {} / {}  ({:.2f} s)".format(
            entry["epoch"], int(round(entry["val_accuracy"] * len(X_test))), len(X_test),
            entry["seconds"]), flush=True)

    net = MLP([784, 30, 10], cost="quadratic", init="large", dtype=args.dtype,
              backend="cython", seed=args.seed)
    history = net.fit(X, y, epochs=args.epochs, batch_size=10, learning_rate=3.0,
                      validation_data=(X_test, y_test), on_epoch=report)
    if not history:
        return
    compiled = float(np.median([h["seconds"] for h in history]))
    best = max(history, key=lambda h: h["val_accuracy"])
    print("Best: {:.2%} at epoch {}; compiled kernels: {:.3f} s per epoch (median)".format(
        best["val_accuracy"], best["epoch"], compiled))

    reference = MLP([784, 30, 10], cost="quadratic", init="large", dtype=args.dtype,
                    backend="numpy", seed=args.seed)
    start = time.perf_counter()
    reference.fit(X, y, epochs=1, batch_size=10, learning_rate=3.0)
    numpy_seconds = time.perf_counter() - start
    print("numpy reference path: {:.3f} s for one epoch; the compiled kernels were "
          "{:.1f}x faster".format(numpy_seconds, numpy_seconds / compiled))


if __name__ == "__main__":
    sys.exit(main())

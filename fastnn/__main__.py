"""``fastnn-demo`` (or ``python -m fastnn``): train the book's chapter 1 network on MNIST.

[784, 30, 10] sigmoid neurons, quadratic cost, mini-batch 10, eta 3.0, as in
the book's first run.  Prints each epoch's test accuracy and seconds, then
times one epoch of the numpy reference path on the same network and says how
much faster the compiled kernels were.  The demo itself is ``fastnn demo``
(:mod:`fastnn.cli`); this is its entry point under the older name.
"""
import sys

from .cli import main as cli_main


def main(argv=None):
    """``fastnn-demo``: ``fastnn demo`` under its old name (errors as one line, exit status 2)."""
    status = cli_main(["demo"] + list(sys.argv[1:] if argv is None else argv), prog="fastnn-demo")
    if status:
        raise SystemExit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())

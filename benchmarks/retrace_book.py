"""How far fastnn retraces the book's published network2 runs, epoch by epoch.

The book's repository ships the numbers behind several chapter 3 figures
(JSON files, see SOURCES.md beside them).  This script makes each seeded run
again with ``fastnn.network2``, shuffling as Python 2.7 did, and compares
every epoch's figures with the published ones::

    python benchmarks/retrace_book.py --figures /path/to/book-figures
    python benchmarks/retrace_book.py --quick     # two epochs per run (CI)
    python benchmarks/retrace_book.py --oracle-epochs 3 --chapter1-epochs 4

Accuracies are compared as integers.  A cost is counted as agreeing when it
is within a relative 1e-9 of the book's: fastnn adds a mini-batch's
gradients in another order than the book's one-example-at-a-time loop (and
sums the cost over the data set in another order), so even a run whose
weights match to the last few bits does not print the book's cost digit for
digit.  The table says, per run and figure, how many epochs agree and the
first epoch (counted from 0) where they part.  It then measures why runs part:
how much a one-ulp change of one bias moves the cost after one epoch at each
learning rate, and, with the options above, how the book's arithmetic run one
example at a time today (tests/oracle.py) compares with the published eta 2.5
run and with fastnn on chapter 1's network.

The folder of figure files is ``--figures``, else ``$FASTNN_BOOK_FIGURES``,
else ``shared/data/book-figures`` beside the repository.  MNIST is found as
fastnn finds it (``--data``, ``$FASTNN_DATA``, the per-user cache).
"""
import argparse
import contextlib
import io
import json
import os
import random
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIGURES = os.path.join(HERE, "..", "..", "shared", "data", "book-figures")
COST_RTOL = 1e-9
SEED = 12345678
MONITORS = ("evaluation cost", "evaluation accuracy", "training cost", "training accuracy")


def seed():
    random.seed(SEED)
    np.random.seed(SEED)


def sgd_quietly(net, *args, **kwargs):
    """network2's SGD with its per-epoch printing swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return net.SGD(*args, **kwargs)


def overfitting_run(network2, data, epochs, lmbda):
    """overfitting.json / regularized.json: 1,000 training images, large init, eta 0.5."""
    training, _, test = data
    seed()
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    return sgd_quietly(net, training[:1000], epochs, 10, 0.5, evaluation_data=test, lmbda=lmbda,
                       monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                       monitor_training_cost=True, monitor_training_accuracy=True)


def runs(network2, data):
    """(figure file, run label, function of the epoch count giving the run's monitor
    lists, the file's parts as (key, label) or None when the file is one run)."""
    training, validation, _ = data

    def weight_init(epochs):
        # one network, two runs on the same (by then shuffled) list
        training_list = list(training)
        seed()
        net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
        default = sgd_quietly(net, training_list, epochs, 10, 0.1, lmbda=5.0,
                              evaluation_data=validation, monitor_evaluation_accuracy=True)
        net.large_weight_initializer()
        large = sgd_quietly(net, training_list, epochs, 10, 0.1, lmbda=5.0,
                            evaluation_data=validation, monitor_evaluation_accuracy=True)
        return {"default_weight_initialization": default, "large_weight_initialization": large}

    def multiple_eta(epochs):
        # a new network per rate, the generators seeded once before the first
        training_list = list(training)
        seed()
        out = []
        for eta in (0.025, 0.25, 2.5):
            net = network2.Network([784, 30, 10])
            out.append(sgd_quietly(net, training_list, epochs, 10, eta, lmbda=5.0,
                                   evaluation_data=validation, monitor_training_cost=True))
        return out

    return [
        ("overfitting.json", "1,000 images, eta 0.5, lmbda 0",
         lambda epochs: overfitting_run(network2, data, epochs, 0.0), None),
        ("regularized.json", "1,000 images, eta 0.5, lmbda 0.1",
         lambda epochs: overfitting_run(network2, data, epochs, 0.1), None),
        ("weight_initialization_30.json", "eta 0.1, lmbda 5", weight_init,
         [("default_weight_initialization", "default init"),
          ("large_weight_initialization", "large init, continued")]),
        ("multiple_eta.json", "lmbda 5", multiple_eta,
         [(0, "eta 0.025"), (1, "eta 0.25"), (2, "eta 2.5")]),
    ]


def one_ulp_sensitivity(network2, training, eta):
    """Relative change of the training cost after one epoch at ``eta`` when a
    single bias starts one unit in the last place higher: how strongly the
    run amplifies a last-bit difference such as another summation order."""
    costs = []
    for nudge in (False, True):
        random.seed(1)
        np.random.seed(1)
        net = network2.Network([784, 30, 10])
        if nudge:
            net.biases[0][0, 0] = np.nextafter(net.biases[0][0, 0], np.inf)
        costs.append(sgd_quietly(net, list(training), 1, 10, eta, lmbda=5.0,
                                 evaluation_data=None, monitor_training_cost=True)[2][0])
    return abs(costs[1] - costs[0]) / costs[0]


def _oracle():
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import oracle
    return oracle


def chapter1_against_oracle(network, data, eta, epochs):
    """Chapter 1's network (quadratic cost, N(0, 1) init, mini-batch 10) trained
    by fastnn and by tests/oracle.py from the same seed and shuffles: per
    epoch, the largest normwise weight difference and both test scores.  The
    book published no numbers of these runs, so the oracle stands in for it."""
    oracle = _oracle()
    training, _, test = data
    pairs = [(x.astype(np.float64), y) for x, y in training]
    ours = list(training)
    seed()
    book_net = oracle.PerExampleNet([784, 30, 10], cost="quadratic", init="unit")
    seed()
    net = network.Network([784, 30, 10])
    state = random.getstate()
    for epoch in range(epochs):
        random.setstate(state)          # both shuffle from the same state
        book_net.train(pairs, 1, 10, eta, rule="python2")
        random.setstate(state)
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(ours, 1, 10, eta)
        state = random.getstate()
        diff = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
                   for a, b in zip(net.weights, book_net.weights))
        print("chapter 1, eta {}, epoch {}: weights differ by {:.1e} (normwise); test images "
              "right: fastnn {}, oracle {}".format(eta, epoch, diff, net.evaluate(test),
                                                    book_net.count_correct(test)), flush=True)


def oracle_first_epochs(data, book, epochs):
    """The eta = 2.5 run of multiple_eta.json, made by tests/oracle.py (the
    book's arithmetic one example at a time, today's numpy): its training
    cost in the first ``epochs`` epochs beside the book's."""
    oracle = _oracle()
    pairs = [(x.astype(np.float64), y) for x, y in data[0]]
    seed()
    for _ in range(2):          # the eta 0.025 and 0.25 runs: their draws and shuffles
        oracle.PerExampleNet([784, 30, 10])
        for _ in range(30):
            oracle.shuffle_in_place(pairs, "python2")
    net = oracle.PerExampleNet([784, 30, 10])
    for epoch in range(epochs):
        net.train(pairs, 1, 10, 2.5, 5.0, rule="python2")
        cost = net.mean_cost(pairs, 5.0)
        print("oracle, eta 2.5, epoch {}: training cost {!r}, the book's {!r} (relative "
              "difference {:.1e})".format(epoch, float(cost), book[2][2][epoch],
                                          abs(cost - book[2][2][epoch]) / book[2][2][epoch]))


def compare(ours, book, what):
    """For one monitor list: (epochs compared, epochs agreeing, first epoch that
    differs or None, how they differ there, worst relative difference among the
    agreeing epochs or None for accuracies)."""
    n = min(len(ours), len(book))
    worst = None if "accuracy" in what else 0.0
    for epoch in range(n):
        a, b = ours[epoch], book[epoch]
        if "accuracy" in what:
            if int(a) != int(b):
                return n, epoch, epoch, "{} vs {}".format(a, b), worst
        else:
            rel = abs(a - b) / abs(b) if b else abs(a)
            if rel > COST_RTOL:
                return n, epoch, epoch, "{:.1e}".format(rel), (worst if epoch else None)
            worst = max(worst, rel)
    return n, n, None, "-", worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", default=os.environ.get("FASTNN_BOOK_FIGURES", DEFAULT_FIGURES),
                        help="folder holding the book's figure JSON files")
    parser.add_argument("--data", default=None, help="folder holding the MNIST files")
    parser.add_argument("--quick", action="store_true",
                        help="two epochs per run, comparing only the first run of each file")
    parser.add_argument("--oracle-epochs", type=int, default=0,
                        help="also run multiple_eta's eta 2.5 run with tests/oracle.py for this "
                             "many epochs (a few seconds each)")
    parser.add_argument("--chapter1-epochs", type=int, default=0,
                        help="also train chapter 1's network at eta 3.0 and 0.3 with fastnn and "
                             "with tests/oracle.py for this many epochs, and compare them")
    parser.add_argument("--only", nargs="*", default=None, help="figure files to run")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.figures):
        parser.error("no book figures in {!r}: pass --figures".format(args.figures))

    import fastnn
    from fastnn import mnist_loader, network, network2
    fastnn.set_shuffle("python2")
    data = mnist_loader.load_data_wrapper(args.data)

    print("fastnn {} ({}), backend {}, shuffle {}".format(
        fastnn.__version__, os.path.dirname(fastnn.__file__), fastnn.get_backend(), fastnn.get_shuffle()))
    print("| figure file | run | monitor | epochs compared | epochs agreeing | parts at epoch |"
          " difference there (ours vs book's) | worst rel. difference while agreeing |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for filename, label, run, parts in runs(network2, data):
        if args.only and filename not in args.only:
            continue
        with open(os.path.join(args.figures, filename)) as f:
            book = json.load(f)
        first_key = parts[0][0] if parts else None
        book_lists = book if parts is None else book[first_key]
        epochs = len(next(l for l in book_lists if l))
        if args.quick:
            epochs = min(epochs, 2)
        start = time.perf_counter()
        ours = run(epochs)
        seconds = time.perf_counter() - start
        pieces = [(None, label)] if parts is None else [(key, label + ", " + name) for key, name in parts]
        if args.quick:
            # a later part starts from the generators' state after the earlier parts' full
            # runs, so a shortened run can only be compared in its first part
            pieces = pieces[:1]
        for key, name in pieces:
            our_lists = ours if key is None else ours[key]
            book_part = book if key is None else book[key]
            for what, mine, theirs in zip(MONITORS, our_lists, book_part):
                if not theirs:
                    continue
                n, agreeing, first, there, worst = compare(mine, theirs[:epochs], what)
                print("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                    filename, name, what, n, agreeing, "-" if first is None else first, there,
                    "equal" if "accuracy" in what and agreeing else
                    "-" if worst is None else "{:.1e}".format(worst)), flush=True)
        print("({}: {:.0f} s)".format(filename, seconds), file=sys.stderr, flush=True)

    print()
    for eta in (0.025, 0.25, 2.5):
        print("eta {}: one bias nudged by one ulp changes the training cost after one epoch "
              "by a relative {:.1e}".format(eta, one_ulp_sensitivity(network2, data[0], eta)))
    if args.oracle_epochs:
        with open(os.path.join(args.figures, "multiple_eta.json")) as f:
            oracle_first_epochs(data, json.load(f), args.oracle_epochs)
    for eta in (3.0, 0.3) if args.chapter1_epochs else ():
        chapter1_against_oracle(network, data, eta, args.chapter1_epochs)


if __name__ == "__main__":
    main()

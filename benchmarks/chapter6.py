"""Chapter 6's ladder of convolutional networks, run with fastnn.network3.

Each rung is the network the book trains in "Introducing convolutional
networks" and after, with the book's hyper-parameters, its result beside
ours (test accuracy at the epoch of best validation accuracy, as the book
reports it)::

    python benchmarks/chapter6.py                  # the book's epochs: hours
    python benchmarks/chapter6.py --epochs 1       # a quick pass: minutes
    python benchmarks/chapter6.py --only relu dropout --epochs 3
    python benchmarks/chapter6.py --epochs 1 --train-size 2000 --ensemble-size 2   # smoke test

The expanded training set (250,000 images) is built and cached on first use
(fastnn.expand).  ``--threads`` sets the compiled kernels' thread count;
``--seed`` seeds numpy's global generator before each network is built, so
the initial weights are reproducible (the book did not seed).
"""
import argparse
import time

import numpy as np

# the installed fastnn: the source tree's own fastnn/ is not built
from fastnn import network3
from fastnn.ladder import LADDER, MB  # the rungs, shared with `fastnn train --preset`
from fastnn.network3 import Network


def train(name, layers, epochs, eta, lmbda, data, verbose):
    net = Network(layers, MB)
    training, validation, test = data
    t = time.perf_counter()
    hist = net.SGD(training, epochs, MB, eta, validation, test, lmbda=lmbda, verbose=verbose)
    return net, hist, time.perf_counter() - t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every rung (default: the book's, 60 or 40)")
    parser.add_argument("--only", nargs="+", choices=list(LADDER), default=None,
                        help="run these rungs only")
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on the first N training images only (a smoke test)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="MNIST directory or mnist.pkl.gz")
    parser.add_argument("--verbose", action="store_true", help="print network3's training lines")
    args = parser.parse_args(argv)
    if args.threads:
        network3.set_num_threads(args.threads)

    plain = network3.load_data_shared(args.data)
    expanded = None
    rows = []
    print("{:<10} {:>8} {:>8} {:>7} {:>9}  {}".format("rung", "book", "fastnn", "epochs", "seconds",
                                                      "network"))
    for name in args.only or list(LADDER):
        desc, book, factory, epochs, eta, lmbda, use_expanded = LADDER[name]
        epochs = args.epochs if args.epochs is not None else epochs
        if use_expanded and expanded is None:
            expanded = network3.load_data_shared(args.data, expanded=True)
        data = expanded if use_expanded else plain
        if args.train_size is not None:
            data = [(data[0][0][:args.train_size], data[0][1][:args.train_size]), data[1], data[2]]
        if name == "ensemble":
            votes = []
            seconds = 0.0
            for k in range(args.ensemble_size):
                np.random.seed(args.seed + k)
                net, hist, s = train(name, LADDER["dropout"][2](), epochs, eta, lmbda, data, args.verbose)
                seconds += s
                votes.append(net.predict(data[2][0]))
            votes = np.array(votes)
            majority = np.array([np.bincount(v, minlength=10).argmax() for v in votes.T])
            ours = float(np.mean(majority == data[2][1]))
        else:
            np.random.seed(args.seed)
            net, hist, seconds = train(name, factory(), epochs, eta, lmbda, data, args.verbose)
            ours = hist["test_accuracy_at_best"]
        if name == "ensemble":
            desc = "majority vote of {} dropout networks (the book: five)".format(args.ensemble_size)
        rows.append((name, book, ours, epochs, seconds, desc))
        print("{:<10} {:>8.2%} {:>8.2%} {:>7} {:>9.1f}  {}".format(name, book, ours, epochs, seconds, desc),
              flush=True)
    print("threads: {}, dtype float32, mini-batch {}".format(network3.get_num_threads(), MB))
    return rows


if __name__ == "__main__":
    main()

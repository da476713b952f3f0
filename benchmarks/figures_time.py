"""Wall time of ``fastnn figures`` (all of chapters 3 and 5) against an
estimate of the book's figure programs, measured in the same run.

    python benchmarks/figures_time.py                 # full length: minutes
    python benchmarks/figures_time.py --quick         # the --quick figures: about a minute

The book's programs were not run (hours, and Python 2); instead fastnn counts,
per figure, the examples its runs push through each network (SGD steps,
monitor feedforwards, chapter 5's backprops), and the book's own per-example
arithmetic one example at a time (``tests/oracle.py``, written from the
equations) is
timed here on 1,000 examples of each network shape.  The estimate is the
counts times those per-example times: it leaves out the book's per-epoch
list shuffling and Python 2's slower interpreter, so the book was slower
still.  The load average is printed before and after: the machine is shared.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))   # oracle: the per-example arithmetic
# (the installed fastnn: the source tree's own fastnn/ is not built)

import oracle  # noqa: E402
from fastnn import figures, mnist_loader  # noqa: E402
from fastnn.trainer import one_blas_thread  # noqa: E402


def per_example_seconds(sizes, training, evaluation, n=2000, repeat=3):
    """The book's loop on ``n`` examples of ``sizes``: seconds per SGD step
    (mini-batch 10, L2), per feedforward (accuracy) and per backprop, each
    the best of ``repeat`` passes (the machine is shared)."""
    np.random.seed(0)
    net = oracle.PerExampleNet(list(sizes))
    data = list(training[:n])

    def best(f):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            f()
            times.append((time.perf_counter() - started) / n)
        return min(times)

    train = best(lambda: net.train(data, 1, 10, 0.1, lmbda=5.0))
    forward = best(lambda: net.count_correct(evaluation[:n]))
    backprop = best(lambda: [net.gradients(x, y) for x, y in data])
    return train, forward, backprop


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="figures made at once (fastnn figures --jobs)")
    parser.add_argument("--out", default=None, help="where the figures go (default: a temporary folder)")
    parser.add_argument("--data", default=None, help="MNIST folder (default: $FASTNN_DATA or the cache)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="fastnn-figures-")

    print("load average before: {:.2f} {:.2f} {:.2f} on {} cores".format(*os.getloadavg(),
                                                                        os.cpu_count()))
    import resource
    cpu0, started = time.process_time(), time.perf_counter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, seconds, work = figures.run(None, out, quick=args.quick, data=args.data, jobs=args.jobs,
                                   log=lambda line: print(line, flush=True))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print("fastnn figures{} --jobs {}: {:.1f} s wall, {:.1f} s CPU (with the workers'), into {}".format(
        " --quick" if args.quick else "", args.jobs, wall, cpu, out))

    training, validation, _ = mnist_loader.load_data_wrapper(args.data)
    shapes = sorted({s for w in work.values() for s in w.counts})
    timing = {}
    with one_blas_thread():
        for sizes in shapes:
            timing[sizes] = per_example_seconds(sizes, training, validation)
    print()
    print("The book's per-example loop, measured now (one BLAS thread):")
    for sizes, (t, f, b) in timing.items():
        print("  {}: {:.1f} us per SGD step, {:.1f} us per feedforward, {:.1f} us per backprop".format(
            list(sizes), t * 1e6, f * 1e6, b * 1e6))
    print()
    print("| figure | fastnn wall s | fastnn CPU s | book's code, estimated | vs wall | vs CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    total_book = 0.0
    for name, w in work.items():
        book = sum(c["train"] * timing[s][0] + c["forward"] * timing[s][1] + c["backprop"] * timing[s][2]
                   for s, c in w.counts.items())
        total_book += book
        print("| {} | {:.1f} | {:.1f} | {:.0f} s | {:.1f}x | {:.1f}x |".format(
            name, seconds[name], w.cpu_seconds, book, book / seconds[name], book / w.cpu_seconds))
    print("| **all** | **{:.1f}** | **{:.1f}** | **{:.0f} s ({:.2f} h)** | **{:.1f}x** | **{:.1f}x** |".format(
        wall, cpu, total_book, total_book / 3600, total_book / wall, total_book / cpu))


if __name__ == "__main__":
    main()

"""Two threads against one for fully connected training: seconds per epoch
and the ratio, with the machine's load beside each row.

``MLP([784, H, 10])`` (sigmoid, cross-entropy, L2), one epoch of ``--rows``
rows of MNIST's shape (random pixels k/256) per measurement, through the
whole front end (``MLP.fit``, the trainer's chunks, the kernels).  One and
two threads take turns, round after round, so that the machine's other load
falls on both alike; the medians are printed, and ``x`` is one thread's
median over two threads'.  ``kernel threads`` is what the kernels used
(``_dense.threads_for``: narrow and small cases stay on one thread);
``cores 1, 2`` the median CPU time over wall time of the one- and
two-thread epochs (2.0: both threads ran all the time; less: the machine's
other work took the cores, or the threads waited); ``max |w2 - w1|`` the
largest difference between the parameters two threads and one left after
the epoch (0: bit for bit).

When other work holds the cores (Linux gives each session's processes one
share of the machine, however many threads they run), two threads cannot
beat one on the clock.  ``busiest`` then says what they would do on two idle
cores: the two-thread epoch's CPU seconds of its busiest thread over the
one-thread epoch's CPU seconds (from /proc/self/task), so ``1 / busiest`` is
the speedup the split allows (a bound from below: a thread's seconds
include its waits at the barriers, which spin before they yield).

For scale, ``gemm`` rows time the first layer's forward product alone
(``m x 784`` by ``784 x H``) in OpenBLAS with one thread and with two, the
same way: what BLAS's own threads make of that product.

Run:  python benchmarks/bench_threads.py [--rounds 5] [--rows 10000]
      FASTNN_BENCH_QUICK=1 python benchmarks/bench_threads.py   (seconds: checks it runs)
(from the repository root after installing, or with the tree built in place
on PYTHONPATH).
"""
import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from conftest import QUICK

CASES = [([784, 1000, 10], 128), ([784, 1000, 10], 10),
         ([784, 100, 10], 10), ([784, 100, 10], 32), ([784, 100, 10], 128)]


def data(rows, dtype, rng):
    X = (rng.integers(0, 256, (rows, 784)) / 256).astype(dtype)
    return X, rng.integers(0, 10, rows)


def thread_cpu():
    """CPU seconds of each thread of this process, by thread id (Linux; else {})."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    try:
        for tid in os.listdir("/proc/self/task"):
            with open("/proc/self/task/{}/stat".format(tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / ticks    # utime + stime
    except OSError:
        return {}
    return out


def epoch(sizes, mini_batch_size, dtype, X, y, threads):
    """One epoch from the same start: (seconds, cores used, the busiest
    thread's CPU seconds, the weights and biases).  Cores used is the
    process's CPU time over the wall time: what the threads got of the
    machine while other work ran on it."""
    from fastnn import MLP
    net = MLP(sizes, dtype=dtype, seed=0, num_threads=threads)
    cpu, wall, per_thread = time.process_time(), time.perf_counter(), thread_cpu()
    net.fit(X, y, epochs=1, batch_size=mini_batch_size, learning_rate=0.1, l2=1.0)
    cores = (time.process_time() - cpu) / (time.perf_counter() - wall)
    after = thread_cpu()
    busiest = max([after[t] - per_thread.get(t, 0.0) for t in after] or [float("nan")])
    return net.history[0]["seconds"], cores, busiest, net.weights + net.biases


def gemm_seconds(m, H, dtype, threads, rng, repeat):
    a = rng.random((m, 784)).astype(dtype)
    w = rng.random((H, 784)).astype(dtype)
    out = np.empty((m, H), dtype)
    with threadpool_limits(threads, "blas"):
        np.matmul(a, w.T, out=out)
        start = time.perf_counter()
        for _ in range(repeat):
            np.matmul(a, w.T, out=out)
        return (time.perf_counter() - start) / repeat


def load():
    return "{:.1f}".format(os.getloadavg()[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=1 if QUICK else 5)
    p.add_argument("--rows", type=int, default=500 if QUICK else 10000)
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    a = p.parse_args()
    from fastnn._core import _dense
    if not _dense.OPENMP:
        print("fastnn was built without OpenMP: every row runs one thread")
    rng = np.random.default_rng(0)
    cases = CASES[:1] + CASES[3:4] if QUICK else CASES
    print("| layers | mini-batch | dtype | kernel threads | 1 thread (s) | 2 threads (s) | x "
          "| cores 1, 2 | busiest | max abs(w2 - w1) | load before, after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for sizes, mb in cases:
        for dtype in a.dtypes:
            X, y = data(a.rows, dtype, rng)
            before = load()
            times = {1: [], 2: []}
            cores, busiest, params = {1: [], 2: []}, {1: [], 2: []}, {}
            for _ in range(a.rounds):
                for threads in (1, 2):
                    seconds, used, most, params[threads] = epoch(sizes, mb, dtype, X, y, threads)
                    times[threads].append(seconds)
                    cores[threads].append(used)
                    busiest[threads].append(most)
            one, two = statistics.median(times[1]), statistics.median(times[2])
            diff = max(float(np.max(np.abs(p2 - p1))) for p1, p2 in zip(params[1], params[2]))
            # CPU seconds come in scheduler ticks: a run shorter than one reads 0
            one_cpu = statistics.median(busiest[1])
            share = statistics.median(busiest[2]) / one_cpu if one_cpu > 0 else float("nan")
            print("| {} | {} | {} | {} | {:.3f} | {:.3f} | {:.2f} | {:.2f}, {:.2f} | {:.2f} | {:.2g} "
                  "| {}, {} |".format(sizes, mb, dtype, _dense.threads_for(sizes, mb, 2), one, two,
                                      one / two, statistics.median(cores[1]),
                                      statistics.median(cores[2]), share, diff, before, load()),
                  flush=True)
    print()
    print("| gemm (m x 784 by 784 x H) | dtype | 1 thread (ms) | 2 threads (ms) | x | load |")
    print("|---|---|---|---|---|---|")
    for m, H in [(128, 1000)]:
        for dtype in a.dtypes:
            times = {1: [], 2: []}
            for _ in range(a.rounds):
                for threads in (1, 2):
                    times[threads].append(gemm_seconds(m, H, dtype, threads, rng,
                                                       5 if QUICK else 50))
            one, two = statistics.median(times[1]), statistics.median(times[2])
            print("| {} x {} | {} | {:.3f} | {:.3f} | {:.2f} | {} |".format(
                m, H, dtype, one * 1e3, two * 1e3, one / two, load()), flush=True)


if __name__ == "__main__":
    main()

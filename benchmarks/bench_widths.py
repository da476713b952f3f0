"""Seconds per dense epoch as the hidden layer widens, and how near the
machine's arithmetic they come.

``[784, H, 10]``, sigmoid + cross-entropy + L2 (chapter 3's plain network),
mini-batch 10, one thread, 50,000 rows of MNIST's shape (random pixels
k/256, the order shuffled once), for H in 30 .. 1000, float32 and float64.
Each row is measured under every *condition*, a child process per
measurement, the conditions taking turns round after round so that the
machine's other load falls on all of them alike; the medians are printed.

Conditions: fastnn's small-matrix kernels as chosen for this CPU
(``FASTNN_SIMD`` unset) or forced to BLAS (``FASTNN_SIMD=blas``, the products
as main ran them), each with OpenBLAS's core type left to OpenBLAS and set to
Haswell (``OPENBLAS_CORETYPE=Haswell``, as some machines' environments set
it).  ``--before PATH`` adds another build of fastnn (e.g. main's, built in
place in PATH) under both core types.

Two figures per row, for the targets:

* ``limit``: seconds the first layer's arithmetic alone needs at the
  machine's peak (4 flops per weight per example: the forward product and
  the step's), the peak being a large square gemm of OpenBLAS with its own
  core type, measured here; ``x limit`` is the epoch over that.
* ``/work``: seconds per epoch over those of H = 30, divided by the work's
  ratio: above 1, the time grows faster than the work (a cliff).

Run:  python benchmarks/bench_widths.py [--widths 30 100 ...] [--rounds 3]
                                         [--before /path/to/other/build]
(from the repository root after installing, or with the tree built in place on
PYTHONPATH: the children import the fastnn this script imports).
"""
import argparse
import json
import os
import statistics

from conftest import run_python


def fastnn_root():
    """The folder holding the fastnn this script imports (the installed one, or
    the built tree on PYTHONPATH): the children import the same."""
    import fastnn
    return os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))

CHILD = r"""
import json, sys, time
import numpy as np
from fastnn import trainer
from fastnn._core import _dense
from fastnn.optimizers import Step
H, dtype, epochs = int(sys.argv[1]), np.dtype(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
X = (rng.integers(0, 256, (50000, 784)) / 256).astype(dtype)
Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, 50000)]
order = rng.permutation(50000)
sizes = [784, H, 10]
w = [(rng.standard_normal((y, x)) / np.sqrt(x)).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:])]
b = [rng.standard_normal(y).astype(dtype) for y in sizes[1:]]
spec = trainer.Spec("sigmoid", "sigmoid", "cross_entropy")
step = Step.for_parameters(list(zip(w, b)), 50000, l2=5.0)
step.eta = 0.5
times = []
with trainer.one_blas_thread():
    for _ in range(epochs):
        t = time.perf_counter()
        _dense.train(w, b, X, Y, order, 10, spec, step)
        times.append(time.perf_counter() - t)
try:
    from fastnn._core import _gemm
    simd = _gemm.simd()
except ImportError:
    simd = "blas (no _gemm)"
print(json.dumps({"times": times, "simd": simd}))
"""

PEAK = r"""
import json, time
import numpy as np
from threadpoolctl import threadpool_limits
out = {}
with threadpool_limits(1):
    for dtype in ("float32", "float64"):
        n = 1536
        a = np.ones((n, n), dtype); c = np.empty((n, n), dtype)
        np.matmul(a, a, out=c)
        ts = []
        for _ in range(5):
            t = time.perf_counter(); np.matmul(a, a, out=c); ts.append(time.perf_counter() - t)
        out[dtype] = 2 * n ** 3 / min(ts)
print(json.dumps(out))
"""


def child_env(path, simd, coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.pop("FASTNN_SIMD", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    if simd:
        env["FASTNN_SIMD"] = simd
    env["PYTHONPATH"] = path
    return env


def run(code, env, *args):
    return json.loads(run_python(code, *args, env=env).stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--widths", type=int, nargs="+", default=[30, 100, 150, 200, 300, 500, 1000])
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2, help="epochs per child process")
    p.add_argument("--before", help="another fastnn build (a folder to put on PYTHONPATH)")
    p.add_argument("--json", help="write the raw times here")
    a = p.parse_args()

    root = fastnn_root()
    conditions = []         # (label, path, FASTNN_SIMD, OPENBLAS_CORETYPE)
    for coretype in (None, "Haswell"):
        ct = "Haswell" if coretype else "own"
        if a.before:
            conditions.append(("before/" + ct, a.before, None, coretype))
        conditions.append(("blas/" + ct, root, "blas", coretype))
        conditions.append(("ours/" + ct, root, None, coretype))

    peak = run(PEAK, child_env(root, None, None))
    print("load average {:.2f} {:.2f} {:.2f}; gemm peak (one thread, OpenBLAS's own core type): "
          "float32 {:.0f}, float64 {:.0f} GFLOP/s".format(*os.getloadavg(), peak["float32"] / 1e9,
                                                         peak["float64"] / 1e9), flush=True)
    times = {}
    simd = {}
    for dtype in a.dtypes:
        for H in a.widths:
            for r in range(a.rounds):
                for label, path, s, coretype in conditions:
                    out = run(CHILD, child_env(path, s, coretype), H, dtype, a.epochs)
                    times.setdefault((dtype, H, label), []).extend(out["times"])
                    simd[label] = out["simd"]
            row = {label: statistics.median(times[(dtype, H, label)]) for label, *_ in conditions}
            print("{} H={:5d} ".format(dtype, H) +
                  "  ".join("{} {:.3f}".format(k, v) for k, v in row.items()), flush=True)
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print("variants: " + ", ".join("{}: {}".format(k, v) for k, v in simd.items()))

    labels = [c[0] for c in conditions]
    print()
    print("| dtype | H | limit (s) | " + " | ".join(labels) + " | ours x limit | ours /work |")
    print("|---|---|---|" + "---|" * len(labels) + "---|---|")
    for dtype in a.dtypes:
        base = None
        for H in a.widths:
            med = {lab: statistics.median(times[(dtype, H, lab)]) for lab in labels}
            limit = 4 * 784 * H * 50000 / peak[dtype]
            ours = med["ours/own"]
            if base is None:
                base = (H, ours)
            grow = (ours / base[1]) / (H / base[0])
            print("| {} | {} | {:.3f} | ".format(dtype, H, limit) +
                  " | ".join("{:.3f}".format(med[lab]) for lab in labels) +
                  " | {:.2f} | {:.2f} |".format(ours / limit, grow))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peak": peak, "times": {"{} {} {}".format(*k): v for k, v in times.items()},
                       "simd": simd}, f, indent=1)


if __name__ == "__main__":
    main()
